//! `Custom::FargateLoadTestGate`: after a deployment, send real load to the app and fail the
//! stack operation (so CloudFormation rolls back) when a threshold is missed. Never runs while
//! the stack is rolling back.

use crate::request::{Request, RequestType};
use crate::respond::{margin, Outcome};
use crate::{Clients, ProviderError};
use fargate_loadtest::report::WireReport;
use fargate_loadtest::{judge, Config, Model, Progress, Report, Thresholds};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

pub const RESOURCE_TYPE: &str = "Custom::FargateLoadTestGate";
/// Key of the event one fan-out worker receives.
pub const WORKER_EVENT: &str = "FargateAppLoadWorker";
/// Time kept after the measurement for merging, logging and answering.
const AFTER_RUN: Duration = Duration::from_secs(5);

/// One load run, as the gate and its workers exchange it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct RunSpec {
    pub url: String,
    pub method: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    pub expected_status: u16,
    pub timeout_ms: u64,
    pub rate: Option<f64>,
    pub concurrency: Option<usize>,
    pub duration_ms: u64,
    pub warm_up_ms: u64,
}

impl RunSpec {
    pub fn config(&self) -> Config {
        let model = match (self.rate, self.concurrency) {
            (Some(r), _) => Model::Rate(r),
            (None, c) => Model::Concurrency(c.unwrap_or(1)),
        };
        Config {
            url: self.url.clone(),
            method: self.method.clone(),
            headers: self.headers.clone(),
            body: self.body.clone(),
            expected_status: self.expected_status,
            timeout: Duration::from_millis(self.timeout_ms),
            model,
            duration: Duration::from_millis(self.duration_ms),
            warm_up: Duration::from_millis(self.warm_up_ms),
            ..Config::default()
        }
    }
}

struct Props {
    spec: RunSpec,
    workers: usize,
    cluster: Option<String>,
    service: Option<String>,
    thresholds: Thresholds,
}

fn num<T: std::str::FromStr>(
    req: &Request,
    name: &'static str,
    default: Option<T>,
) -> Result<Option<T>, ProviderError> {
    match req.prop(name) {
        None => Ok(default),
        Some(s) => s
            .trim()
            .parse::<T>()
            .map(Some)
            .map_err(|_| ProviderError::bad(name, format!("'{s}' is not a number"))),
    }
}

fn props(req: &Request) -> Result<Props, ProviderError> {
    let headers = match req.properties.get("Headers") {
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str()
                        .map(String::from)
                        .unwrap_or_else(|| v.to_string()),
                )
            })
            .collect(),
        _ => Vec::new(),
    };
    let t = req
        .properties
        .get("Thresholds")
        .cloned()
        .unwrap_or(Value::Null);
    let threshold = |k: &'static str| -> Result<Option<f64>, ProviderError> {
        match t.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64()),
            Some(Value::String(s)) => s.parse().map(Some).map_err(|_| {
                ProviderError::bad("Thresholds", format!("{k}: '{s}' is not a number"))
            }),
            Some(other) => Err(ProviderError::bad(
                "Thresholds",
                format!("{k}: {other} is not a number"),
            )),
        }
    };
    let rate = num::<f64>(req, "Rate", None)?;
    let concurrency = num::<usize>(req, "Concurrency", None)?;
    if rate.is_none() && concurrency.is_none() {
        return Err(ProviderError::bad("Rate", "give Rate or Concurrency"));
    }
    let spec = RunSpec {
        url: req.required("Url")?,
        method: req.prop("Method").unwrap_or_else(|| "GET".into()),
        headers,
        body: req.prop("Body"),
        expected_status: num(req, "ExpectedStatus", Some(200))?.unwrap_or(200),
        timeout_ms: num(req, "TimeoutMs", Some(5000))?.unwrap_or(5000),
        rate,
        concurrency,
        duration_ms: num::<u64>(req, "Duration", Some(30))?.unwrap_or(30) * 1000,
        warm_up_ms: num::<u64>(req, "WarmUp", Some(60))?.unwrap_or(60) * 1000,
    };
    Ok(Props {
        spec,
        workers: num(req, "Workers", Some(1))?.unwrap_or(1).max(1),
        cluster: req.prop("Cluster"),
        service: req.prop("ServiceName"),
        thresholds: Thresholds {
            p50_ms: threshold("P50Ms")?,
            p90_ms: threshold("P90Ms")?,
            p99_ms: threshold("P99Ms")?,
            max_error_rate: threshold("MaxErrorRate")?,
            min_rps: threshold("MinRps")?,
            ..Thresholds::default()
        },
    })
}

/// How the gate waits for the service and decides; tests shorten the poll.
#[derive(Debug, Clone)]
pub struct GateTiming {
    pub steady_poll: Duration,
}

impl Default for GateTiming {
    fn default() -> Self {
        GateTiming {
            steady_poll: Duration::from_secs(5),
        }
    }
}

pub async fn handle(
    clients: Arc<Clients>,
    req: &Request,
    deadline: Instant,
) -> Result<Outcome, ProviderError> {
    let physical = req
        .physical_resource_id
        .clone()
        .unwrap_or_else(|| format!("{}-load-test-gate", req.logical_resource_id));
    if req.request_type == RequestType::Delete {
        return Ok(Outcome::new(physical));
    }
    let p = props(req)?;
    if let Some(why) = rolling_back(&clients, &req.stack_id).await {
        tracing::info!(gate = %req.logical_resource_id, reason = %why, "load-test gate skipped");
        return Ok(Outcome::new(physical).with("Skipped", why));
    }
    // The answer must leave before respond's margin; the run must end before that.
    let answer_at = deadline - margin(deadline.saturating_duration_since(Instant::now()));
    if let (Some(cluster), Some(service)) = (&p.cluster, &p.service) {
        let steady_by = answer_at
            .checked_sub(Duration::from_millis(p.spec.warm_up_ms + p.spec.duration_ms) + AFTER_RUN)
            .unwrap_or_else(Instant::now);
        wait_steady(&clients, cluster, service, steady_by, &clients.gate_timing).await?;
    }
    let mut spec = p.spec.clone();
    let budget = answer_at
        .saturating_duration_since(Instant::now())
        .saturating_sub(Duration::from_millis(spec.warm_up_ms) + AFTER_RUN);
    let mut capped = None;
    if Duration::from_millis(spec.duration_ms) > budget {
        if budget < Duration::from_secs(1) {
            return Err(ProviderError::Exhausted(format!("no time left in this Lambda call to run the load test (warm-up {} s); raise the provider's timeout", spec.warm_up_ms / 1000)));
        }
        let note = format!(
            "duration capped from {} s to {} s by the Lambda deadline",
            spec.duration_ms / 1000,
            budget.as_secs()
        );
        tracing::warn!(gate = %req.logical_resource_id, "{note}");
        spec.duration_ms = budget.as_millis() as u64;
        capped = Some(note);
    }
    let report = if p.workers > 1 {
        fan_out(&clients, &spec, p.workers).await?
    } else {
        run_local(&spec).await?
    };
    let verdict = judge(&report, &p.thresholds);
    // One structured line per gate result.
    tracing::info!(
        gate = %req.logical_resource_id, passed = verdict.passed, requests = report.sent, error_rate = report.error_rate(),
        p50_ms = report.percentile_ms(0.5), p90_ms = report.percentile_ms(0.9), p99_ms = report.percentile_ms(0.99),
        rps = report.rps(), workers = p.workers, summary = %verdict.summary, "load-test gate result"
    );
    if !verdict.passed {
        return Err(ProviderError::GateFailed(verdict.summary));
    }
    let mut o = Outcome::new(physical)
        .with("Requests", report.sent.to_string())
        .with("ErrorRate", format!("{:.4}", report.error_rate()))
        .with("P50Ms", format!("{:.1}", report.percentile_ms(0.5)))
        .with("P90Ms", format!("{:.1}", report.percentile_ms(0.9)))
        .with("P99Ms", format!("{:.1}", report.percentile_ms(0.99)))
        .with("Rps", format!("{:.1}", report.rps()));
    if let Some(c) = capped {
        o = o.with("Capped", c);
    }
    Ok(o)
}

/// Why the gate must not run now (the stack is rolling back), if so. A stack status that cannot
/// be read also skips the gate: a rollback must never fail because of it.
async fn rolling_back(clients: &Clients, stack_id: &str) -> Option<String> {
    match clients
        .cfn
        .describe_stacks()
        .stack_name(stack_id)
        .send()
        .await
    {
        Ok(out) => {
            let status = out
                .stacks()
                .first()
                .and_then(|s| s.stack_status())
                .map(|s| s.as_str().to_string())
                .unwrap_or_default();
            status
                .contains("ROLLBACK")
                .then(|| format!("the stack is rolling back ({status})"))
        }
        Err(e) => {
            let msg = crate::error::sdk_message(&e);
            tracing::error!(error = %msg, "cannot read the stack status; skipping the gate rather than risk failing a rollback");
            Some(format!("could not read the stack status: {msg}"))
        }
    }
}

async fn wait_steady(
    clients: &Clients,
    cluster: &str,
    service: &str,
    until: Instant,
    timing: &GateTiming,
) -> Result<(), ProviderError> {
    loop {
        let svc = clients.ecs_service(cluster, service).await?;
        let deployments = svc.deployments();
        let steady = deployments.len() == 1
            && svc.running_count() == svc.desired_count()
            && deployments[0]
                .rollout_state()
                .is_none_or(|s| s.as_str() == "COMPLETED");
        if steady {
            return Ok(());
        }
        if Instant::now() + timing.steady_poll >= until {
            return Err(ProviderError::Exhausted(format!(
                "service {service} did not reach a steady state in time ({} deployments, {} of {} tasks running)",
                deployments.len(), svc.running_count(), svc.desired_count()
            )));
        }
        tokio::time::sleep(timing.steady_poll).await;
    }
}

pub async fn run_local(spec: &RunSpec) -> Result<Report, ProviderError> {
    fargate_loadtest::run(&spec.config(), Arc::new(Progress::default()))
        .await
        .map_err(|e| ProviderError::GateFailed(e.to_string()))
}

/// Splits the load over `n` invocations of this Lambda (each at rate/n, or concurrency/n) and
/// merges their histograms.
async fn fan_out(clients: &Clients, spec: &RunSpec, n: usize) -> Result<Report, ProviderError> {
    let function = clients
        .function_name
        .clone()
        .ok_or_else(|| ProviderError::bad("Workers", "fan-out needs AWS_LAMBDA_FUNCTION_NAME"))?;
    let mut part = spec.clone();
    part.rate = spec.rate.map(|r| r / n as f64);
    part.concurrency = spec.concurrency.map(|c| c.div_ceil(n).max(1));
    let payload =
        serde_json::to_vec(&serde_json::json!({ WORKER_EVENT: part })).expect("serialisable");
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..n {
        let (lambda, function, payload) =
            (clients.lambda.clone(), function.clone(), payload.clone());
        calls.spawn(async move {
            lambda
                .invoke()
                .function_name(function)
                .payload(aws_sdk_lambda::primitives::Blob::new(payload))
                .send()
                .await
        });
    }
    let mut merged = Report::empty(None);
    while let Some(joined) = calls.join_next().await {
        let out = joined
            .map_err(|e| ProviderError::Panic(e.to_string()))?
            .map_err(|e| ProviderError::sdk("Invoke", &e))?;
        if let Some(err) = out.function_error() {
            return Err(ProviderError::GateFailed(format!(
                "a load worker failed ({err})"
            )));
        }
        let body = out
            .payload()
            .map(|b| b.as_ref().to_vec())
            .unwrap_or_default();
        let wire: WireReport = serde_json::from_slice::<WorkerReply>(&body)
            .map_err(|e| {
                ProviderError::GateFailed(format!(
                    "a load worker answered something unreadable: {e}"
                ))
            })?
            .into_result()
            .map_err(ProviderError::GateFailed)?;
        merged.merge(&wire.into_report().map_err(ProviderError::GateFailed)?);
    }
    Ok(merged)
}

/// What a worker invocation returns.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WorkerReply {
    pub report: Option<WireReport>,
    pub error: Option<String>,
}

impl WorkerReply {
    fn into_result(self) -> Result<WireReport, String> {
        match (self.report, self.error) {
            (Some(r), None) => Ok(r),
            (_, Some(e)) => Err(format!("a load worker failed: {e}")),
            (None, None) => Err("a load worker returned no report".into()),
        }
    }
}

/// Handles one fan-out worker event: runs its share and returns the report.
pub async fn worker(spec: RunSpec) -> WorkerReply {
    match run_local(&spec).await {
        Ok(r) => WorkerReply {
            report: Some(r.to_wire()),
            error: None,
        },
        Err(e) => WorkerReply {
            report: None,
            error: Some(e.to_string()),
        },
    }
}
