//! The ECS hook payload: what one invocation says about the deployment.

use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;

/// One ECS lifecycle-hook invocation, as the developer guide's "Lifecycle payloads" shows it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HookEvent {
    pub execution_id: String,
    pub lifecycle_stage: String,
    #[serde(default)]
    pub resource_arn: Option<String>,
    pub execution_details: ExecutionDetails,
    /// An object; CloudFormation takes `HookDetails` as "a JSON object as a string", so a string
    /// holding a JSON object is read as that object.
    #[serde(default, deserialize_with = "details_object")]
    pub hook_details: Option<Value>,
}

fn details_object<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::String(text)) => match serde_json::from_str::<Value>(&text) {
            Ok(v @ Value::Object(_)) => Some(v),
            _ => Some(Value::String(text)),
        },
        other => other,
    })
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionDetails {
    pub service_arn: String,
    pub target_service_revision_arn: String,
    #[serde(default)]
    pub test_traffic_weights: HashMap<String, f64>,
    #[serde(default)]
    pub production_traffic_weights: HashMap<String, f64>,
}

/// A hook invocation is recognised by the two fields every ECS hook payload has.
pub fn is_hook_event(event: &Value) -> bool {
    event.get("lifecycleStage").is_some() && event.get("executionDetails").is_some()
}

/// Is this invocation part of a rollback? The guide: ECS has no rollback stage; it re-invokes
/// the `TEST_TRAFFIC_SHIFT` and `PRODUCTION_TRAFFIC_SHIFT` hooks with the target (green)
/// revision at weight 0 and another at 100. (`PRE_PRODUCTION_TRAFFIC_SHIFT` shows the same
/// weights on the way forward, so only those two stages count.)
pub fn is_rollback(stage: &str, details: &ExecutionDetails) -> bool {
    let weights = match stage {
        "PRODUCTION_TRAFFIC_SHIFT" => &details.production_traffic_weights,
        "TEST_TRAFFIC_SHIFT" => &details.test_traffic_weights,
        _ => return false,
    };
    let green = &details.target_service_revision_arn;
    weights.get(green) == Some(&0.0) && weights.iter().any(|(k, v)| k != green && *v >= 100.0)
}

/// The record key: one run per target service revision and stage.
pub fn record_key(ev: &HookEvent) -> String {
    format!(
        "{}#{}",
        ev.execution_details.target_service_revision_arn, ev.lifecycle_stage
    )
}
