//! What the load-test gate is told, read the same way on both paths (issue 17, section 4): the
//! `Custom::FargateLoadTestGate` resource's properties and the lifecycle hook's
//! `HookDetails.FargateAppLoadTest`. The macro builds both from one value
//! (`macro/src/gen/gate_settings.rs`); here one reader turns either into one [`GateSettings`],
//! and each path reads its own extras beside it (the resource: `Workers`, `Cluster`,
//! `ServiceName`, `TaskDefinitionArn`, `RoutingHeader`; the hook: `SliceSeconds`,
//! `CallBackDelay`, `StackId`, `Stages`).
//!
//! Numbers are JSON numbers or numeric strings: CloudFormation hands a custom resource every
//! property value as a string
//! (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-requests.html), and
//! the hook's details hold what the macro wrote (numbers, or a parameter's text).

use crate::load_test_gate::RunSpec;
use crate::ProviderError;
use fargate_loadtest::Thresholds;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::time::Duration;

/// The settings both carriers hold, and their defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct GateSettings {
    /// Where the load goes (the test route, for a hook).
    pub url: String,
    pub method: String,
    pub headers: BTreeMap<String, String>,
    /// The name presented (TLS SNI and `Host`) while connecting to `url`'s address.
    pub host: Option<String>,
    pub body: Option<String>,
    pub expected_status: u16,
    pub timeout_ms: u64,
    pub rate: Option<f64>,
    pub concurrency: Option<usize>,
    /// Seconds of measured load in all (at least 1).
    pub duration: u64,
    /// Seconds to wait for the expected status before measuring.
    pub warm_up: u64,
    /// The thresholds given, with the protective defaults where none is (errors at most 1%,
    /// 95% of the asked requests completed).
    pub thresholds: Thresholds,
    /// The App's VPC worker function that sends the load; absent: the provider itself.
    pub worker_function_arn: Option<String>,
}

/// The keys [`GateSettings::read`] takes.
pub const KEYS: &[&str] = &[
    "Url",
    "Method",
    "Headers",
    "Host",
    "Body",
    "ExpectedStatus",
    "TimeoutMs",
    "Rate",
    "Concurrency",
    "Duration",
    "WarmUp",
    "Thresholds",
    "WorkerFunctionArn",
];

pub const DEFAULT_METHOD: &str = "GET";
pub const DEFAULT_EXPECTED_STATUS: u16 = 200;
pub const DEFAULT_TIMEOUT_MS: u64 = 5000;
pub const DEFAULT_WARM_UP: u64 = 60;

/// One carrier's settings object, read key by key; errors name the key.
pub struct Fields<'a>(pub &'a Map<String, Value>);

impl Fields<'_> {
    /// A number or a numeric string; absent or null: `None`.
    pub fn num<T: std::str::FromStr>(&self, key: &'static str) -> Result<Option<T>, ProviderError> {
        let text = match self.0.get(key) {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::String(s)) => s.trim().to_string(),
            Some(Value::Number(n)) => n.to_string(),
            Some(other) => {
                return Err(ProviderError::bad(key, format!("{other} is not a number")));
            }
        };
        text.parse::<T>()
            .map(Some)
            .map_err(|_| ProviderError::bad(key, format!("'{text}' is not a number")))
    }

    /// A string (a number or boolean as its JSON text); absent, null or empty: `None`.
    pub fn text(&self, key: &'static str) -> Option<String> {
        match self.0.get(key)? {
            Value::Null => None,
            Value::String(s) if s.is_empty() => None,
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        }
    }

    /// Keys outside `known`, for a carrier that refuses them.
    pub fn unknown<'k>(&'k self, known: &[&[&str]]) -> Vec<&'k str> {
        self.0
            .keys()
            .map(String::as_str)
            .filter(|k| !known.iter().any(|set| set.contains(k)))
            .collect()
    }
}

/// `Thresholds`: numbers or numeric strings, `Thresholds.<Key>` in errors.
fn thresholds(v: Option<&Value>) -> Result<Thresholds, ProviderError> {
    let bad = |m: String| ProviderError::bad("Thresholds", m);
    let mut m = match v {
        None | Some(Value::Null) => return Ok(Thresholds::default().with_defaults()),
        Some(Value::Object(m)) => m.clone(),
        Some(other) => return Err(bad(format!("{other} is not an object"))),
    };
    for (k, v) in m.iter_mut() {
        let n: f64 = match v {
            Value::Number(_) | Value::Null => continue,
            Value::String(s) => s
                .trim()
                .parse()
                .map_err(|_| bad(format!("Thresholds.{k}: '{s}' is not a number")))?,
            other => return Err(bad(format!("Thresholds.{k}: {other} is not a number"))),
        };
        *v = serde_json::json!(n);
    }
    let t: Thresholds =
        serde_json::from_value(Value::Object(m)).map_err(|e| bad(format!("Thresholds: {e}")))?;
    Ok(t.with_defaults())
}

impl GateSettings {
    /// Reads the common settings from either carrier's object.
    pub fn read(m: &Map<String, Value>) -> Result<GateSettings, ProviderError> {
        let f = Fields(m);
        let headers = match m.get("Headers") {
            None | Some(Value::Null) => BTreeMap::new(),
            Some(Value::Object(h)) => h
                .iter()
                .map(|(k, v)| {
                    let v = v
                        .as_str()
                        .map(String::from)
                        .unwrap_or_else(|| v.to_string());
                    (k.clone(), v)
                })
                .collect(),
            Some(other) => {
                return Err(ProviderError::bad(
                    "Headers",
                    format!("{other} is not an object of names and values"),
                ))
            }
        };
        let s = GateSettings {
            url: f
                .text("Url")
                .ok_or_else(|| ProviderError::bad("Url", "required"))?,
            method: f.text("Method").unwrap_or_else(|| DEFAULT_METHOD.into()),
            headers,
            host: f.text("Host"),
            body: f.text("Body"),
            expected_status: f.num("ExpectedStatus")?.unwrap_or(DEFAULT_EXPECTED_STATUS),
            timeout_ms: f.num("TimeoutMs")?.unwrap_or(DEFAULT_TIMEOUT_MS),
            rate: f.num("Rate")?,
            concurrency: f.num("Concurrency")?,
            duration: f
                .num("Duration")?
                .ok_or_else(|| ProviderError::bad("Duration", "required"))?,
            warm_up: f.num("WarmUp")?.unwrap_or(DEFAULT_WARM_UP),
            thresholds: thresholds(m.get("Thresholds"))?,
            worker_function_arn: f.text("WorkerFunctionArn"),
        };
        if s.rate.is_none() && s.concurrency.is_none() {
            return Err(ProviderError::bad("Rate", "give Rate or Concurrency"));
        }
        if s.duration == 0 {
            return Err(ProviderError::bad("Duration", "must be at least 1 second"));
        }
        // Seconds counted in milliseconds later: a number too large for that is refused here.
        for (key, secs) in [("Duration", s.duration), ("WarmUp", s.warm_up)] {
            if secs.checked_mul(1000).is_none() {
                return Err(ProviderError::bad(
                    key,
                    format!("{secs} seconds is too long"),
                ));
            }
        }
        Ok(s)
    }

    /// One run of `load` after `warm_up`, with `extra` headers after the user's.
    pub fn spec(&self, load: Duration, warm_up: Duration, extra: &[(String, String)]) -> RunSpec {
        let mut headers: Vec<(String, String)> = self
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        headers.extend(extra.iter().cloned());
        RunSpec {
            url: self.url.clone(),
            method: self.method.clone(),
            headers,
            body: self.body.clone(),
            expected_status: self.expected_status,
            timeout_ms: self.timeout_ms,
            rate: self.rate,
            concurrency: self.concurrency,
            duration_ms: load.as_millis() as u64,
            warm_up_ms: warm_up.as_millis() as u64,
            host: self.host.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// One table: what each input reads as (numbers and numeric strings alike, defaults, the
    /// protective thresholds), or the key the error names.
    #[test]
    fn numbers_strings_defaults_and_errors() {
        let base = json!({"Url": "http://x/", "Rate": 5, "Duration": 10});
        let with = |k: &str, v: Value| {
            let mut m = base.as_object().unwrap().clone();
            m.insert(k.into(), v);
            m
        };
        let read = |m: &Map<String, Value>| GateSettings::read(m);
        let a = read(&with("Rate", json!("5"))).unwrap();
        let b = read(base.as_object().unwrap()).unwrap();
        assert_eq!(a, b);
        assert_eq!(
            (
                b.method.as_str(),
                b.expected_status,
                b.timeout_ms,
                b.warm_up
            ),
            ("GET", 200, 5000, 60)
        );
        assert_eq!(b.thresholds, Thresholds::defaults());
        let t = read(&with(
            "Thresholds",
            json!({"P99Ms": "800", "MaxErrorRate": 0.02}),
        ))
        .unwrap();
        assert_eq!(
            (t.thresholds.p99_ms, t.thresholds.max_error_rate),
            (Some(800.0), Some(0.02))
        );
        for (key, value, names) in [
            ("Rate", json!("fast"), "'fast' is not a number"),
            ("Duration", json!(0), "Duration"),
            ("Duration", Value::Null, "Duration"),
            ("WarmUp", json!(u64::MAX.to_string()), "WarmUp"),
            ("Thresholds", json!({"P99Ms": "slow"}), "Thresholds.P99Ms"),
            ("Url", json!(""), "Url"),
            ("Headers", json!("x"), "Headers"),
        ] {
            let e = read(&with(key, value.clone())).unwrap_err().to_string();
            assert!(e.contains(names), "{key}={value}: {e}");
        }
        let mut none = base.as_object().unwrap().clone();
        none.remove("Rate");
        let e = read(&none).unwrap_err().to_string();
        assert!(e.contains("Rate or Concurrency"), "{e}");
    }
}
