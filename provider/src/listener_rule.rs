//! `Custom::FargateListenerRule`: a rule on a shared listener at a free priority (the slot
//! adapter for rules; the allocator is `slot.rs`).

use crate::request::{parse_range, Request};
use crate::respond::Outcome;
use crate::slot::{self, Attempt, Holder, Slot};
use crate::ProviderError;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, HostHeaderConditionConfig, PathPatternConditionConfig, RuleCondition, Tag,
};
use aws_sdk_elasticloadbalancingv2::Client;
use serde_json::Value;

pub const RESOURCE_TYPE: &str = "Custom::FargateListenerRule";

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
    slot::handle::<Props>(elb, req).await
}

fn holder_of(r: &aws_sdk_elasticloadbalancingv2::types::Rule) -> Option<Holder> {
    // The default rule has no numeric priority.
    Some(Holder {
        number: r.priority()?.parse::<u32>().ok()?,
        arn: r.rule_arn()?.to_string(),
        actions: r.actions().to_vec(),
    })
}

/// The listener's rules (the default rule excluded), following `NextMarker`.
pub async fn rules(elb: &Client, listener: &str) -> Result<Vec<Holder>, ProviderError> {
    let mut out = Vec::new();
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
        out.extend(page.rules().iter().filter_map(holder_of));
        match page.next_marker() {
            Some(m) if !m.is_empty() => marker = Some(m.to_string()),
            _ => return Ok(out),
        }
    }
}

impl Slot for Props {
    const NUMBER: &'static str = "priority";
    // CreateRule is not documented as idempotent: a taken priority is PriorityInUse.
    const CREATE_MAY_RETURN_EXISTING: bool = false;

    fn parse(req: &Request) -> Result<Self, ProviderError> {
        props(req)
    }
    fn same_claim(&self, req: &Request) -> bool {
        req.old_prop("ListenerArn").as_deref() == Some(self.listener.as_str())
            && req.old_prop("PriorityRange") == req.prop("PriorityRange")
    }
    fn range(&self) -> (u32, u32) {
        self.range
    }
    fn scope(&self) -> String {
        format!("listener {}", self.listener)
    }
    fn target_group(&self) -> &str {
        &self.target_group
    }
    async fn holders(&self, elb: &Client) -> Result<Vec<Holder>, ProviderError> {
        rules(elb, &self.listener).await
    }
    async fn holder(elb: &Client, arn: &str) -> Result<Option<Holder>, ProviderError> {
        let out = elb.describe_rules().rule_arns(arn).send().await;
        Ok(
            slot::unless_gone("DescribeRules", out, |e| e.is_rule_not_found_exception())?
                .and_then(|out| out.rules().iter().find_map(holder_of)),
        )
    }
    async fn create(&self, elb: &Client, priority: u32, tags: Vec<Tag>) -> Attempt<String> {
        let created = elb
            .create_rule()
            .listener_arn(&self.listener)
            .priority(priority as i32)
            .set_conditions(Some(self.conditions.clone()))
            .actions(slot::forward(&self.target_group))
            .set_tags(Some(tags))
            .send()
            .await;
        match created {
            Ok(out) => Attempt::Won(
                out.rules()
                    .first()
                    .and_then(|r| r.rule_arn())
                    .unwrap_or_default()
                    .to_string(),
            ),
            Err(e) => match e.as_service_error() {
                Some(se) if se.is_priority_in_use_exception() => Attempt::Taken,
                // The quota counts the rules of every listener of the ALB.
                Some(se) if se.is_too_many_rules_exception() => {
                    Attempt::Failed(ProviderError::Exhausted(format!(
                        "the load balancer of listener {} has reached its rule quota \
                         (TooManyRules; 100 rules per load balancer across all its listeners, \
                         default rules excluded, unless the account's quota was raised)",
                        self.listener
                    )))
                }
                _ => Attempt::Failed(ProviderError::sdk("CreateRule", &e)),
            },
        }
    }
    async fn modify(
        &self,
        elb: &Client,
        arn: &str,
        forward: Option<Action>,
    ) -> Result<bool, ProviderError> {
        let out = elb
            .modify_rule()
            .rule_arn(arn)
            .set_conditions(Some(self.conditions.clone()))
            .set_actions(forward.map(|a| vec![a]))
            .send()
            .await;
        Ok(slot::unless_gone("ModifyRule", out, |e| e.is_rule_not_found_exception())?.is_some())
    }
    async fn delete(elb: &Client, arn: &str) -> Result<(), ProviderError> {
        let out = elb.delete_rule().rule_arn(arn).send().await;
        slot::unless_gone("DeleteRule", out, |e| e.is_rule_not_found_exception()).map(|_| ())
    }
    async fn outcome(
        &self,
        _elb: &Client,
        arn: &str,
        priority: u32,
    ) -> Result<Outcome, ProviderError> {
        Ok(Outcome::new(arn)
            .with("Priority", priority.to_string())
            .with("RuleArn", arn))
    }
}
