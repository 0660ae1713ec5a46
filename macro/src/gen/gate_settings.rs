//! What the load-test gate is told, built once per App from one typed value and only
//! serialised by its two carriers: the `Custom::FargateLoadTestGate` resource's properties
//! (`gen/gates.rs`) and the lifecycle hook's `HookDetails.FargateAppLoadTest`
//! (`gen/deployment.rs`), the VPC worker function included. Building it twice is how `Host` once reached one carrier and not
//! the other (issue 17, section 4).
//!
//! `LoadTest.Path` is absolute, as `LoadBalancer.HealthCheck.Path` is: the gate requests
//! `scheme://host[:port]` + `Path`, never the rule's path prefix + `Path` (README, "LoadTest").

use super::alb::RoutingOut;
use crate::intrinsics::SubBuilder;
use crate::reader::Val;
use crate::spec::{gate_path, App, LoadModel};
use serde_json::{Map, Value};

/// The gate's settings, in the order both carriers write them.
#[derive(Debug, Clone, PartialEq)]
pub struct GateSettings {
    pub url: Value,
    /// The name presented (TLS SNI and `Host`) while connecting to `url`'s address.
    pub host: Option<Value>,
    pub method: Value,
    pub headers: Map<String, Value>,
    pub body: Option<Value>,
    pub expected_status: Value,
    pub timeout_ms: Value,
    /// `Rate` or `Concurrency`, with its value.
    pub model: (&'static str, Value),
    pub duration: Value,
    pub warm_up: Value,
    /// The thresholds given (none: the provider applies its protective defaults).
    pub thresholds: Vec<(&'static str, Value)>,
    /// The App's VPC worker function that sends the load (`LoadTest.From: vpc`, or an internal
    /// ALB); none: the provider function sends it.
    pub worker_function: Option<Value>,
}

/// Keys whose values are numbers: a carrier that writes JSON text writes them unquoted, also
/// when the value is a parameter (`"P99Ms":800`, not `"P99Ms":"800"`).
pub const NUMERIC_KEYS: &[&str] = &[
    "ExpectedStatus",
    "TimeoutMs",
    "Rate",
    "Concurrency",
    "Duration",
    "WarmUp",
    "P50Ms",
    "P90Ms",
    "P99Ms",
    "MaxErrorRate",
    "MinRps",
];

impl GateSettings {
    /// The App's gate settings; `None` without `LoadTest`, or when its URL cannot be known
    /// (validation refuses that case).
    pub fn of(app: &App, routing: &RoutingOut) -> Option<GateSettings> {
        let lt = app.load_test.as_ref()?;
        let url = match (&lt.url, &routing.origin) {
            (Some(u), _) => u.json(),
            (None, Some(origin)) => SubBuilder::new()
                .value("Url", origin)
                .value("Path", &gate_path(lt, app.load_balancer.as_ref()).json())
                .build(),
            (None, None) => return None,
        };
        let t = &lt.thresholds;
        let thresholds = [
            ("P50Ms", t.p50_ms.as_ref().map(Val::json)),
            ("P90Ms", t.p90_ms.as_ref().map(Val::json)),
            ("P99Ms", t.p99_ms.as_ref().map(Val::json)),
            ("MaxErrorRate", t.max_error_rate.as_ref().map(Val::json)),
            ("MinRps", t.min_rps.as_ref().map(Val::json)),
        ]
        .into_iter()
        .filter_map(|(k, v)| Some((k, v?)))
        .collect();
        Some(GateSettings {
            url,
            host: lt.host.as_ref().map(Val::json),
            method: lt.method.json(),
            headers: lt.headers.iter().cloned().collect(),
            body: lt.body.as_ref().map(Val::json),
            expected_status: lt.expected_status.json(),
            timeout_ms: lt.timeout_ms.json(),
            model: match &lt.model {
                LoadModel::Rate(r) => ("Rate", r.json()),
                LoadModel::Concurrency(c) => ("Concurrency", c.json()),
            },
            duration: lt.duration.json(),
            warm_up: lt.warm_up.json(),
            thresholds,
            worker_function: None,
        })
    }

    /// The settings as one JSON object (absent settings left out), for either carrier.
    pub fn to_map(&self) -> Map<String, Value> {
        let mut s = Map::new();
        s.insert("Url".into(), self.url.clone());
        if let Some(h) = &self.host {
            s.insert("Host".into(), h.clone());
        }
        s.insert("Method".into(), self.method.clone());
        if !self.headers.is_empty() {
            s.insert("Headers".into(), Value::Object(self.headers.clone()));
        }
        if let Some(b) = &self.body {
            s.insert("Body".into(), b.clone());
        }
        s.insert("ExpectedStatus".into(), self.expected_status.clone());
        s.insert("TimeoutMs".into(), self.timeout_ms.clone());
        s.insert(self.model.0.into(), self.model.1.clone());
        s.insert("Duration".into(), self.duration.clone());
        s.insert("WarmUp".into(), self.warm_up.clone());
        if !self.thresholds.is_empty() {
            let th: Map<String, Value> = self
                .thresholds
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect();
            s.insert("Thresholds".into(), Value::Object(th));
        }
        if let Some(f) = &self.worker_function {
            s.insert("WorkerFunctionArn".into(), f.clone());
        }
        s
    }

    /// The same settings, the load sent by `function` (the App's VPC workers) when given.
    pub fn with_worker_function(mut self, function: Option<Value>) -> GateSettings {
        self.worker_function = function;
        self
    }

    /// The same settings with one more header (the test route's), as the hook sends them.
    pub fn with_header(mut self, name: &str, value: Value) -> GateSettings {
        self.headers.insert(name.into(), value);
        self
    }
}
