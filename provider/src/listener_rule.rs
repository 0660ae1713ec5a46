//! `Custom::FargateListenerRule`: a rule on a shared listener at a free priority. The claim is
//! atomic because ELBv2 refuses a second rule at a priority (`PriorityInUse`): a lost race moves
//! on to the next free priority.

use crate::claim::{Attempt, Claim};
use crate::request::{parse_range, Request, RequestType};
use crate::respond::Outcome;
use crate::ProviderError;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, HostHeaderConditionConfig, PathPatternConditionConfig, RuleCondition,
};
use aws_sdk_elasticloadbalancingv2::Client;
use serde_json::Value;
use std::collections::BTreeSet;

pub const RESOURCE_TYPE: &str = "Custom::FargateListenerRule";
/// ELBv2's quota of rules per load balancer (default rules excluded).
pub const MAX_RULES: usize = 100;

struct Props {
    listener: String,
    target_group: String,
    conditions: Vec<RuleCondition>,
    range: (u32, u32),
}

fn values(v: &Value, config: &str) -> Vec<String> {
    v.get(config)
        .and_then(|c| c.get("Values"))
        .or_else(|| v.get("Values"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

fn props(req: &Request) -> Result<Props, ProviderError> {
    let raw = req
        .properties
        .get("Conditions")
        .cloned()
        .unwrap_or(Value::Null);
    let raw = match raw {
        Value::String(s) => {
            serde_json::from_str(&s).map_err(|e| ProviderError::bad("Conditions", e.to_string()))?
        }
        other => other,
    };
    let mut conditions = Vec::new();
    for c in raw
        .as_array()
        .ok_or_else(|| ProviderError::bad("Conditions", "expected a list of rule conditions"))?
    {
        let field = c.get("Field").and_then(Value::as_str).unwrap_or_default();
        let cond = match field {
            "path-pattern" => RuleCondition::builder().field(field).path_pattern_config(
                PathPatternConditionConfig::builder()
                    .set_values(Some(values(c, "PathPatternConfig")))
                    .build(),
            ),
            "host-header" => RuleCondition::builder().field(field).host_header_config(
                HostHeaderConditionConfig::builder()
                    .set_values(Some(values(c, "HostHeaderConfig")))
                    .build(),
            ),
            other => {
                return Err(ProviderError::bad(
                    "Conditions",
                    format!("unsupported field '{other}' (path-pattern, host-header)"),
                ))
            }
        };
        conditions.push(cond.build());
    }
    if conditions.is_empty() {
        return Err(ProviderError::bad("Conditions", "at least one condition"));
    }
    Ok(Props {
        listener: req.required("ListenerArn")?,
        target_group: req.required("TargetGroupArn")?,
        conditions,
        range: parse_range(
            "PriorityRange",
            req.prop("PriorityRange").as_deref().unwrap_or("1-50000"),
            1,
            50000,
        )?,
    })
}

pub async fn handle(elb: &Client, req: &Request) -> Result<Outcome, ProviderError> {
    let existing = req
        .physical_resource_id
        .clone()
        .filter(|id| id.starts_with("arn:"));
    match (req.request_type, existing) {
        (RequestType::Delete, None) => Ok(Outcome::new(
            req.physical_resource_id.clone().unwrap_or_default(),
        )),
        (RequestType::Delete, Some(arn)) => delete(elb, &arn).await,
        (RequestType::Create, _) | (RequestType::Update, None) => create(elb, &props(req)?).await,
        (RequestType::Update, Some(arn)) => {
            let p = props(req)?;
            if req.old_prop("ListenerArn").as_deref() == Some(p.listener.as_str())
                && req.old_prop("PriorityRange") == req.prop("PriorityRange")
            {
                modify(elb, &arn, &p).await
            } else {
                create(elb, &p).await
            }
        }
    }
}

fn forward(target_group: &str) -> Action {
    Action::builder()
        .r#type(ActionTypeEnum::Forward)
        .target_group_arn(target_group)
        .build()
}

/// Priorities of the listener's rules (the default rule has none), following `NextMarker`.
pub async fn rule_priorities(elb: &Client, listener: &str) -> Result<BTreeSet<u32>, ProviderError> {
    let mut used = BTreeSet::new();
    let mut marker = None;
    loop {
        let page = elb
            .describe_rules()
            .listener_arn(listener)
            .page_size(400)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| ProviderError::sdk("DescribeRules", &e))?;
        for r in page.rules() {
            if let Some(p) = r.priority().and_then(|p| p.parse::<u32>().ok()) {
                used.insert(p);
            }
        }
        match page.next_marker() {
            Some(m) if !m.is_empty() => marker = Some(m.to_string()),
            _ => return Ok(used),
        }
    }
}

async fn create(elb: &Client, p: &Props) -> Result<Outcome, ProviderError> {
    let on = format!("listener {}", p.listener);
    let claim = Claim {
        what: "priority",
        on: &on,
        holders: "rules",
        range: p.range,
        quota: MAX_RULES,
    };
    let taken = rule_priorities(elb, &p.listener).await?;
    let refresh = || rule_priorities(elb, &p.listener);
    let create = |priority: u32, attempt: usize| async move {
        let created = elb
            .create_rule()
            .listener_arn(&p.listener)
            .priority(priority as i32)
            .set_conditions(Some(p.conditions.clone()))
            .actions(forward(&p.target_group))
            .send()
            .await;
        match created {
            Ok(out) => {
                let arn = out
                    .rules()
                    .first()
                    .and_then(|r| r.rule_arn())
                    .unwrap_or_default()
                    .to_string();
                tracing::info!(priority, attempt, rule = %arn, "claimed rule priority");
                Attempt::Won(
                    Outcome::new(arn.clone())
                        .with("Priority", priority.to_string())
                        .with("RuleArn", arn),
                )
            }
            Err(e) => match e.as_service_error() {
                Some(se) if se.is_priority_in_use_exception() => Attempt::Taken,
                Some(se) if se.is_too_many_rules_exception() => {
                    Attempt::Failed(ProviderError::Exhausted(format!(
                    "the load balancer of listener {} has reached its rule quota (TooManyRules)",
                    p.listener
                )))
                }
                _ => Attempt::Failed(ProviderError::sdk("CreateRule", &e)),
            },
        }
    };
    claim.lowest_free(taken, refresh, create).await
}

async fn modify(elb: &Client, arn: &str, p: &Props) -> Result<Outcome, ProviderError> {
    match elb
        .modify_rule()
        .rule_arn(arn)
        .set_conditions(Some(p.conditions.clone()))
        .actions(forward(&p.target_group))
        .send()
        .await
    {
        Ok(o) => {
            let priority = o
                .rules()
                .first()
                .and_then(|r| r.priority())
                .unwrap_or_default()
                .to_string();
            Ok(Outcome::new(arn)
                .with("Priority", priority)
                .with("RuleArn", arn))
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_rule_not_found_exception()) =>
        {
            create(elb, p).await
        }
        Err(e) => Err(ProviderError::sdk("ModifyRule", &e)),
    }
}

async fn delete(elb: &Client, arn: &str) -> Result<Outcome, ProviderError> {
    match elb.delete_rule().rule_arn(arn).send().await {
        Ok(_) => Ok(Outcome::new(arn)),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_rule_not_found_exception()) =>
        {
            Ok(Outcome::new(arn))
        }
        Err(e) => Err(ProviderError::sdk("DeleteRule", &e)),
    }
}
