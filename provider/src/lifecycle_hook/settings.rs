//! The gate's settings in the hook's `HookDetails`, the contract with the macro.

use super::{DEFAULT_GATE_STAGE, SETTINGS_KEY};
use crate::ProviderError;
use fargate_loadtest::Thresholds;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// The gate's settings: `HookDetails.FargateAppLoadTest`, the contract with the macro.
/// Numbers may be JSON numbers or numeric strings (CloudFormation often stringifies).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct GateSettings {
    /// URL of the test route (the green revision only).
    pub url: String,
    #[serde(default = "get")]
    pub method: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Host header to send (a test route matched by host name behind the ALB's DNS name).
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default = "ok200", deserialize_with = "number")]
    pub expected_status: u16,
    #[serde(default = "five_s", deserialize_with = "number")]
    pub timeout_ms: u64,
    #[serde(default, deserialize_with = "opt_number")]
    pub rate: Option<f64>,
    #[serde(default, deserialize_with = "opt_number")]
    pub concurrency: Option<usize>,
    /// Seconds of measured load in all.
    #[serde(deserialize_with = "number")]
    pub duration: u64,
    /// Seconds to wait for the expected status before measuring.
    #[serde(default = "sixty", deserialize_with = "number")]
    pub warm_up: u64,
    #[serde(default, deserialize_with = "thresholds")]
    pub thresholds: Thresholds,
    /// Most seconds of load per invocation (the rest continues after IN_PROGRESS).
    #[serde(default, deserialize_with = "opt_number")]
    pub slice_seconds: Option<u64>,
    /// Seconds ECS waits between slices.
    #[serde(default = "five", deserialize_with = "number")]
    pub call_back_delay: u64,
    /// The stack the service belongs to (`Ref AWS::StackId`): while it rolls back, the
    /// deployment re-deploys the previous revision and the gate does not run.
    #[serde(default)]
    pub stack_id: Option<String>,
    /// Stages at which the gate runs.
    #[serde(default = "gate_stages")]
    pub stages: Vec<String>,
}

fn get() -> String {
    "GET".into()
}
fn ok200() -> u16 {
    200
}
fn five_s() -> u64 {
    5000
}
fn sixty() -> u64 {
    60
}
fn five() -> u64 {
    5
}
pub(super) fn gate_stages() -> Vec<String> {
    vec![DEFAULT_GATE_STAGE.into()]
}

fn number<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr + serde::de::DeserializeOwned,
{
    match Value::deserialize(d)? {
        Value::String(s) => s
            .trim()
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("'{s}' is not a number"))),
        v => T::deserialize(v).map_err(serde::de::Error::custom),
    }
}

/// `Thresholds` whose values are numbers or numeric strings (a parameter the macro could not
/// write bare), read with `number` like every other numeric setting.
fn thresholds<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Thresholds, D::Error> {
    let mut m = match Value::deserialize(d)? {
        Value::Null => return Ok(Thresholds::default()),
        Value::Object(m) => m,
        other => return Thresholds::deserialize(other).map_err(serde::de::Error::custom),
    };
    for (k, v) in m.iter_mut().filter(|(_, v)| v.is_string()) {
        let n: f64 = number(v.take()).map_err(|e: serde_json::Error| {
            serde::de::Error::custom(format!("Thresholds.{k}: {e}"))
        })?;
        *v = serde_json::json!(n);
    }
    Thresholds::deserialize(Value::Object(m)).map_err(serde::de::Error::custom)
}

fn opt_number<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr + serde::de::DeserializeOwned,
{
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(v) => number(v).map(Some).map_err(serde::de::Error::custom),
    }
}

impl GateSettings {
    /// Reads and checks the settings; errors name the property.
    pub fn from_hook_details(details: Option<&Value>) -> Result<GateSettings, ProviderError> {
        let raw = details.and_then(|d| d.get(SETTINGS_KEY)).ok_or_else(|| {
            ProviderError::bad(
                "HookDetails",
                format!("{SETTINGS_KEY} is missing: the hook has no load-test settings"),
            )
        })?;
        let mut s: GateSettings = serde_json::from_value(raw.clone())
            .map_err(|e| ProviderError::bad("HookDetails", format!("{SETTINGS_KEY}: {e}")))?;
        // No thresholds given still protects (errors at most 1%, 95% of the asked completed).
        s.thresholds = s.thresholds.with_defaults();
        if s.rate.is_none() && s.concurrency.is_none() {
            return Err(ProviderError::bad(
                "HookDetails",
                format!("{SETTINGS_KEY}: give Rate or Concurrency"),
            ));
        }
        if s.duration == 0 {
            return Err(ProviderError::bad(
                "HookDetails",
                format!("{SETTINGS_KEY}.Duration: must be at least 1 second"),
            ));
        }
        if s.slice_seconds == Some(0) {
            return Err(ProviderError::bad(
                "HookDetails",
                format!("{SETTINGS_KEY}.SliceSeconds: must be at least 1 second"),
            ));
        }
        Ok(s)
    }

    pub(super) fn spec(
        &self,
        slice: Duration,
        warm_up: Duration,
    ) -> crate::load_test_gate::RunSpec {
        let headers: Vec<(String, String)> = self
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        // `Host` is presented the gate's way (SNI and Host while connecting to `Url`'s address).
        crate::load_test_gate::RunSpec {
            url: self.url.clone(),
            method: self.method.clone(),
            headers,
            body: self.body.clone(),
            expected_status: self.expected_status,
            timeout_ms: self.timeout_ms,
            rate: self.rate,
            concurrency: self.concurrency,
            duration_ms: slice.as_millis() as u64,
            warm_up_ms: warm_up.as_millis() as u64,
            host: self.host.clone(),
        }
    }
}
