//! Weighted failover: a listener (or rule) forwards by weight to a standby target group (a
//! Lambda function, or any target group) and to the app's target group. A CloudWatch alarm
//! drives it. On ALARM: scale the service to `StandbyCount`, wait until that many of its
//! targets are healthy, then move the weight to the app. On OK: move the weight back to the
//! standby, then scale the service down to its resting count.
//!
//! Every invocation (alarm event, periodic re-check, custom-resource Create/Update) reconciles
//! from the alarm's *current* state and the listener's *current* weights, so duplicate,
//! late or out-of-order events do no harm, and a wait cut short by the Lambda deadline is
//! picked up by the next re-check.

use crate::request::{Request, RequestType};
use crate::respond::{margin, Outcome};
use crate::{Clients, ProviderError};
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, ForwardActionConfig, TargetGroupTuple,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;
use tokio::time::Instant;

pub const RESOURCE_TYPE: &str = "Custom::FargateWeightedFailover";
/// Key of the EventBridge input the macro sets on the alarm and re-check rules.
pub const EVENT_KEY: &str = "FargateAppFailover";

#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    Listener(String),
    Rule(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub alarm: String,
    pub route: Route,
    pub app_tg: String,
    pub standby_tg: String,
    pub cluster: String,
    pub service: String,
    pub standby_count: i32,
    pub resting_count: i32,
    pub healthy_timeout: Duration,
}

fn field(v: &Value, name: &'static str) -> Option<String> {
    match v.get(name)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl Settings {
    pub fn from_value(v: &Value) -> Result<Settings, ProviderError> {
        let req = |n: &'static str| field(v, n).ok_or_else(|| ProviderError::bad(n, "required"));
        let int = |n: &'static str, d: i64| -> Result<i64, ProviderError> {
            field(v, n)
                .map(|s| {
                    s.parse::<i64>()
                        .map_err(|_| ProviderError::bad(n, format!("'{s}' is not a whole number")))
                })
                .unwrap_or(Ok(d))
        };
        let route = match (field(v, "ListenerArn"), field(v, "RuleArn")) {
            (_, Some(rule)) => Route::Rule(rule),
            (Some(l), None) => Route::Listener(l),
            (None, None) => {
                return Err(ProviderError::bad(
                    "ListenerArn",
                    "give ListenerArn or RuleArn",
                ))
            }
        };
        Ok(Settings {
            alarm: req("AlarmName")?,
            route,
            app_tg: req("TargetGroupArn")?,
            standby_tg: req("StandbyTargetGroupArn")?,
            cluster: req("Cluster")?,
            service: req("ServiceName")?,
            standby_count: int("StandbyCount", 1)?.clamp(1, 5000) as i32,
            resting_count: int("RestingCount", 0)?.clamp(0, 5000) as i32,
            healthy_timeout: Duration::from_secs(int("HealthyTimeout", 600)?.clamp(1, 3600) as u64),
        })
    }
}

/// What one reconciliation did, logged as one structured line and returned.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Decision {
    pub alarm_state: String,
    /// `app` (the ECS service takes the traffic), `standby`, or `waiting` (ALARM, but the
    /// service's targets are not healthy yet: weights unchanged until a later call).
    pub serving: String,
    pub app_weight: i32,
    pub standby_weight: i32,
    pub desired_count: Option<i32>,
    pub healthy_targets: Option<usize>,
    pub changed: bool,
    pub note: String,
}

#[derive(Debug, Clone)]
pub struct FailoverTiming {
    pub health_poll: Duration,
}

impl Default for FailoverTiming {
    fn default() -> Self {
        FailoverTiming {
            health_poll: Duration::from_secs(5),
        }
    }
}

async fn alarm_state(c: &Clients, alarm: &str) -> Result<String, ProviderError> {
    let out = c
        .cloudwatch
        .describe_alarms()
        .alarm_names(alarm)
        .send()
        .await
        .map_err(|e| ProviderError::sdk("DescribeAlarms", &e))?;
    let state = out
        .metric_alarms()
        .first()
        .and_then(|a| a.state_value())
        .map(|s| s.as_str().to_string())
        .or_else(|| {
            out.composite_alarms()
                .first()
                .and_then(|a| a.state_value())
                .map(|s| s.as_str().to_string())
        });
    state.ok_or_else(|| ProviderError::bad("AlarmName", format!("alarm {alarm} not found")))
}

/// (app weight, standby weight) of the route's forward action.
async fn weights(c: &Clients, s: &Settings) -> Result<Option<(i32, i32)>, ProviderError> {
    let actions: Vec<Action> = match &s.route {
        Route::Listener(arn) => {
            let out = c
                .elb
                .describe_listeners()
                .listener_arns(arn)
                .send()
                .await
                .map_err(|e| ProviderError::sdk("DescribeListeners", &e))?;
            out.listeners()
                .first()
                .map(|l| l.default_actions().to_vec())
                .unwrap_or_default()
        }
        Route::Rule(arn) => {
            let out = c
                .elb
                .describe_rules()
                .rule_arns(arn)
                .send()
                .await
                .map_err(|e| ProviderError::sdk("DescribeRules", &e))?;
            out.rules()
                .first()
                .map(|r| r.actions().to_vec())
                .unwrap_or_default()
        }
    };
    let Some(forward) = actions
        .iter()
        .find(|a| a.r#type() == Some(&ActionTypeEnum::Forward))
    else {
        return Ok(None);
    };
    let weight_of = |tg: &str| -> i32 {
        match forward.forward_config() {
            Some(fc) => fc
                .target_groups()
                .iter()
                .find(|t| t.target_group_arn() == Some(tg))
                .map(|t| t.weight().unwrap_or(1))
                .unwrap_or(0),
            None => i32::from(forward.target_group_arn() == Some(tg)) * 100,
        }
    };
    Ok(Some((weight_of(&s.app_tg), weight_of(&s.standby_tg))))
}

async fn set_weights(
    c: &Clients,
    s: &Settings,
    app: i32,
    standby: i32,
) -> Result<(), ProviderError> {
    let action = Action::builder()
        .r#type(ActionTypeEnum::Forward)
        .forward_config(
            ForwardActionConfig::builder()
                .target_groups(
                    TargetGroupTuple::builder()
                        .target_group_arn(&s.app_tg)
                        .weight(app)
                        .build(),
                )
                .target_groups(
                    TargetGroupTuple::builder()
                        .target_group_arn(&s.standby_tg)
                        .weight(standby)
                        .build(),
                )
                .build(),
        )
        .build();
    match &s.route {
        Route::Listener(arn) => c
            .elb
            .modify_listener()
            .listener_arn(arn)
            .default_actions(action)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| ProviderError::sdk("ModifyListener", &e)),
        Route::Rule(arn) => c
            .elb
            .modify_rule()
            .rule_arn(arn)
            .actions(action)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| ProviderError::sdk("ModifyRule", &e)),
    }
}

async fn desired_count(c: &Clients, s: &Settings) -> Result<i32, ProviderError> {
    Ok(c.ecs_service(&s.cluster, &s.service).await?.desired_count())
}

async fn scale(c: &Clients, s: &Settings, count: i32) -> Result<(), ProviderError> {
    c.ecs
        .update_service()
        .cluster(&s.cluster)
        .service(&s.service)
        .desired_count(count)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| ProviderError::sdk("UpdateService", &e))
}

async fn healthy_targets(c: &Clients, tg: &str) -> Result<usize, ProviderError> {
    let out = c
        .elb
        .describe_target_health()
        .target_group_arn(tg)
        .send()
        .await
        .map_err(|e| ProviderError::sdk("DescribeTargetHealth", &e))?;
    Ok(out
        .target_health_descriptions()
        .iter()
        .filter(|d| {
            d.target_health()
                .and_then(|h| h.state())
                .map(|s| s.as_str())
                == Some("healthy")
        })
        .count())
}

/// Brings weights and scale in line with the alarm. `treat_unknown_as_ok`: at Create, an alarm
/// with no data yet means the standby serves.
pub async fn reconcile(
    c: &Clients,
    s: &Settings,
    deadline: Instant,
    treat_unknown_as_ok: bool,
) -> Result<Decision, ProviderError> {
    let state = alarm_state(c, &s.alarm).await?;
    let (app_w, standby_w) = weights(c, s).await?.unwrap_or((0, 0));
    let mut d = Decision {
        alarm_state: state.clone(),
        serving: String::new(),
        app_weight: app_w,
        standby_weight: standby_w,
        desired_count: None,
        healthy_targets: None,
        changed: false,
        note: String::new(),
    };
    let effective = match state.as_str() {
        "ALARM" => "ALARM",
        "OK" => "OK",
        _ if treat_unknown_as_ok => "OK",
        // No data: leave things as they are.
        _ => {
            d.serving = if app_w > 0 { "app" } else { "standby" }.into();
            d.note = "alarm has insufficient data; nothing changed".into();
            return Ok(d);
        }
    };
    if effective == "OK" {
        if (app_w, standby_w) != (0, 100) {
            set_weights(c, s, 0, 100).await?;
            d.changed = true;
        }
        let desired = desired_count(c, s).await?;
        if desired > s.resting_count {
            scale(c, s, s.resting_count).await?;
            d.changed = true;
        }
        d.desired_count = Some(desired.min(s.resting_count));
        d.serving = "standby".into();
        d.app_weight = 0;
        d.standby_weight = 100;
        d.note = "standby serves; service at its resting count".into();
        return Ok(d);
    }
    // ALARM.
    if (app_w, standby_w) == (100, 0) {
        d.serving = "app".into();
        d.note = "already failed over".into();
        return Ok(d);
    }
    let desired = desired_count(c, s).await?;
    if desired < s.standby_count {
        scale(c, s, s.standby_count).await?;
        d.changed = true;
    }
    d.desired_count = Some(desired.max(s.standby_count));
    let wait_until = (Instant::now() + s.healthy_timeout).min(deadline);
    loop {
        let healthy = healthy_targets(c, &s.app_tg).await?;
        d.healthy_targets = Some(healthy);
        if healthy >= s.standby_count as usize {
            set_weights(c, s, 100, 0).await?;
            d.changed = true;
            d.serving = "app".into();
            d.app_weight = 100;
            d.standby_weight = 0;
            d.note = format!("{healthy} healthy targets; traffic moved to the service");
            return Ok(d);
        }
        if Instant::now() + c.failover_timing.health_poll >= wait_until {
            d.serving = "waiting".into();
            d.note = format!("{healthy} of {} targets healthy in time; weights unchanged, the next re-check continues", s.standby_count);
            return Ok(d);
        }
        tokio::time::sleep(c.failover_timing.health_poll).await;
    }
}

/// The time a reconciliation may take inside this call.
fn budget(deadline: Instant) -> Instant {
    deadline - margin(deadline.saturating_duration_since(Instant::now()))
}

/// An alarm-state event or a re-check.
pub async fn handle_event(c: &Clients, config: &Value, deadline: Instant) -> Value {
    let result = match Settings::from_value(config) {
        Ok(s) => reconcile(c, &s, budget(deadline), false).await,
        Err(e) => Err(e),
    };
    log_and_render(
        config
            .get("AlarmName")
            .and_then(Value::as_str)
            .unwrap_or(""),
        result,
    )
}

fn log_and_render(alarm: &str, result: Result<Decision, ProviderError>) -> Value {
    match result {
        Ok(d) => {
            tracing::info!(alarm, alarm_state = %d.alarm_state, serving = %d.serving, app_weight = d.app_weight, standby_weight = d.standby_weight,
                desired_count = ?d.desired_count, healthy_targets = ?d.healthy_targets, changed = d.changed, note = %d.note, "failover decision");
            serde_json::to_value(&d).expect("serialisable")
        }
        Err(e) => {
            tracing::error!(alarm, error = %e, "failover decision failed");
            serde_json::json!({ "Error": e.to_string() })
        }
    }
}

/// The custom resource: Create sets the initial weights, Update applies new settings, Delete
/// leaves all traffic on the standby (or nothing, when the listener is already gone).
pub async fn handle(
    c: &Clients,
    req: &Request,
    deadline: Instant,
) -> Result<Outcome, ProviderError> {
    let physical = req
        .physical_resource_id
        .clone()
        .unwrap_or_else(|| format!("{}-weighted-failover", req.logical_resource_id));
    if req.request_type == RequestType::Delete {
        let Ok(s) = Settings::from_value(&req.properties) else {
            return Ok(Outcome::new(physical));
        };
        return match set_weights(c, &s, 0, 100).await {
            Ok(()) => Ok(Outcome::new(physical)),
            Err(ProviderError::Aws { message, .. }) if message.contains("NotFound") => {
                Ok(Outcome::new(physical))
            }
            Err(e) => Err(e),
        };
    }
    let s = Settings::from_value(&req.properties)?;
    let d = reconcile(
        c,
        &s,
        budget(deadline),
        req.request_type == RequestType::Create,
    )
    .await?;
    let _ = log_and_render(&s.alarm, Ok(d.clone()));
    Ok(Outcome::new(physical)
        .with("Serving", d.serving)
        .with("AlarmState", d.alarm_state))
}
