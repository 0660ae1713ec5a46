//! `Custom::FargateLoadTestGate`: after a deployment, send real load to the app and fail the
//! stack operation (so CloudFormation rolls back) when a threshold is missed. Never runs while
//! the stack is rolling back.
//!
//! - [`props`]: the resource's properties, checked.
//! - [`stack_status`]: whether this request may be part of a rollback.
//! - [`deployment`]: waiting until the new task definition is deployed and steady.
//! - [`workers`]: running the load here, or in worker invocations, and merging the results.

mod deployment;
mod props;
pub(crate) mod stack_status;
mod workers;

pub use fargate_loadtest::WorkerReply;
pub(crate) use workers::{fan_out, invoke_timeout_margin};
pub use workers::{run_local, worker};

use crate::request::{Request, RequestType};
use crate::respond::{margin, Outcome};
use crate::{Clients, ProviderError};
use fargate_loadtest::{judge, Config, Model};
use serde::{Deserialize, Serialize};
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
    /// The user's headers, then the routing header when there is one.
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    pub expected_status: u16,
    pub timeout_ms: u64,
    pub rate: Option<f64>,
    pub concurrency: Option<usize>,
    pub duration_ms: u64,
    pub warm_up_ms: u64,
    /// The name to present (SNI and Host) while connecting to the URL's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

impl RunSpec {
    /// The engine's configuration, without `host` (see [`present_host`]).
    pub fn config(&self) -> Config {
        let model = match (self.rate, self.concurrency) {
            (Some(r), _) => Model::Rate(r),
            (None, c) => Model::Concurrency(c.unwrap_or(1)),
        };
        // Built from `Config::new` so engine settings added later keep their defaults.
        let mut c = Config::new(&self.url, model, Duration::from_millis(self.duration_ms));
        c.method = self.method.clone();
        c.headers = self.headers.clone();
        c.body = self.body.clone();
        c.expected_status = self.expected_status;
        c.timeout = Duration::from_millis(self.timeout_ms);
        c.warm_up = Duration::from_millis(self.warm_up_ms);
        c
    }

    /// The engine's configuration, `host` included.
    pub fn engine_config(&self) -> Result<Config, String> {
        let mut c = self.config();
        if let Some(host) = &self.host {
            present_host(&mut c, host)?;
        }
        Ok(c)
    }
}

/// The one place the gate hands `Host` to the engine: connect to the URL's address (the ALB)
/// while presenting `host` as the TLS server name and in the Host header, like curl's
/// `--connect-to` (an ACM certificate covers the user's domain, not the ALB's DNS name).
fn present_host(config: &mut Config, host: &str) -> Result<(), String> {
    let (url, alb) = presenting(&config.url, host)?;
    config.url = url;
    config.connect_to = Some(alb);
    Ok(())
}

/// The URL with `host` in place of the ALB's name, and the ALB's `HOST:PORT` to connect to.
fn presenting(url: &str, host: &str) -> Result<(String, String), String> {
    let mut u = reqwest::Url::parse(url).map_err(|e| format!("Url '{url}': {e}"))?;
    let alb = match (u.host_str(), u.port_or_known_default()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        _ => return Err(format!("Url '{url}' names no host and port to connect to")),
    };
    u.set_host(Some(host))
        .map_err(|e| format!("'{host}' cannot stand in the Url: {e}"))?;
    Ok((u.to_string(), alb))
}

/// Worth reading again: the provider's one classification ([`crate::retry::transient`]).
pub(crate) use crate::retry::transient;

/// How the gate waits for the service and decides; tests shorten the poll.
#[derive(Debug, Clone)]
pub struct GateTiming {
    /// Between two reads of the ECS service; the first wait before reading a stack status again
    /// or invoking a worker function again (later waits grow).
    pub steady_poll: Duration,
}

impl Default for GateTiming {
    fn default() -> Self {
        GateTiming {
            steady_poll: Duration::from_secs(5),
        }
    }
}

/// The settings this resource's properties give, read as the lifecycle hook reads its details
/// (`crate::gate_settings`); for tests that compare the two carriers.
pub fn settings(req: &Request) -> Result<crate::gate_settings::GateSettings, ProviderError> {
    props::parse(req).map(|p| p.common)
}

pub async fn handle(
    clients: Arc<Clients>,
    req: &Request,
    deadline: Instant,
) -> Result<Outcome, ProviderError> {
    let store = clients.state_store.clone();
    handle_with_store(clients, req, deadline, store.as_ref()).await
}

/// [`handle`] with the state table given: with one, the load of one request (its RequestId) is
/// sent once however often the request is delivered. CloudFormation may deliver a request more
/// than once and Lambda retries a failed asynchronous invocation
/// (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html), so a
/// record per request, created with a conditional write, decides who runs; a duplicate waits
/// for the result and answers the same.
pub async fn handle_with_store(
    clients: Arc<Clients>,
    req: &Request,
    deadline: Instant,
    store: Option<&crate::lifecycle_hook::HookStore>,
) -> Result<Outcome, ProviderError> {
    let physical = req.physical_or("load-test-gate");
    if req.request_type == RequestType::Delete {
        return Ok(Outcome::new(physical));
    }
    // The answer must leave before respond's margin; the run must end before that.
    let answer_at = deadline
        .checked_sub(margin(deadline.saturating_duration_since(Instant::now())))
        .unwrap_or_else(Instant::now);
    let key = format!(
        "gate#{}#{}#{}",
        req.stack_id, req.logical_resource_id, req.request_id
    );
    // A request answered before answers the same, whatever its first answer was (a run, a
    // skip, a refusal): read before the stack's status, which a late duplicate finds changed
    // (a rollback's Update delivered again during the next update would run the load).
    if let Some(store) = store {
        match store.load(&key).await {
            Ok(Some(rec)) => {
                if let Some(r) = replay(&rec, &physical) {
                    tracing::info!(gate = %req.logical_resource_id, "repeated request: the recorded result, no second load");
                    return r;
                }
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the gate's record; the request proceeds")
            }
        }
    }
    let p = match early_answer(&clients, req, &physical, answer_at).await {
        Ok(p) => p,
        // Recorded before answering, so that a later delivery answers the same (best effort:
        // the answer stands without the record).
        Err(early) => {
            if let Some(store) = store {
                let writer = crate::lifecycle_hook::writer_token();
                let lease_until = now_ms()
                    + answer_at
                        .saturating_duration_since(Instant::now())
                        .as_millis() as u64;
                match store.claim_once(&key, lease_until, &writer).await {
                    Ok(true) => finish(store, &key, &early).await,
                    Ok(false) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "could not record the gate's answer; a repeated request would decide again")
                    }
                }
            }
            return early;
        }
    };
    let Some(store) = store else {
        return measure(&clients, req, &p, physical, answer_at).await;
    };
    let poll = clients.gate_timing.steady_poll;
    // The measurement's future is made only once this delivery holds the record.
    let run = || measure(&clients, req, &p, physical.clone(), answer_at);
    crate::once::run_once(store, &key, &physical, answer_at, poll, "load test", run).await
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64
}

/// The properties to run the load with, or the answer given without a load run: a stale
/// Update (a late duplicate CloudFormation no longer waits on), a rollback's Update (skipped),
/// or properties that cannot be read.
async fn early_answer(
    clients: &Arc<Clients>,
    req: &Request,
    physical: &str,
    answer_at: Instant,
) -> Result<props::Props, Result<Outcome, ProviderError>> {
    if req.request_type == RequestType::Update {
        crate::stale_create::refuse(clients, req)
            .await
            .map_err(Err)?;
        // Before the properties: a rollback's old properties must never fail it.
        match stack_status::check(clients, &req.stack_id, answer_at, &clients.gate_timing).await {
            Ok(Some(why)) => {
                tracing::info!(gate = %req.logical_resource_id, reason = %why, "load-test gate skipped");
                return Err(Ok(Outcome::new(physical).with("Skipped", why)));
            }
            Ok(None) => {}
            Err(e) => return Err(Err(e)),
        }
    }
    props::parse(req).map_err(Err)
}

/// Records the gate's result for its request.
async fn finish(
    store: &crate::lifecycle_hook::HookStore,
    key: &str,
    result: &Result<Outcome, ProviderError>,
) {
    let (status, reason, data) = match result {
        Ok(o) => (
            crate::lifecycle_hook::HookStatus::Succeeded,
            String::new(),
            serde_json::Value::Object(o.data.iter().cloned().collect()).to_string(),
        ),
        Err(e) => (
            crate::lifecycle_hook::HookStatus::Failed,
            e.to_string(),
            "{}".to_string(),
        ),
    };
    if let Err(e) = store.finish_once(key, status, &reason, &data).await {
        tracing::warn!(error = %e, "could not record the gate's result; a repeated request would run again");
    }
}

/// The answer a finished record gives a repeated request (also the scaling check's).
pub(crate) fn replay(
    rec: &crate::lifecycle_hook::Record,
    physical: &str,
) -> Option<Result<Outcome, ProviderError>> {
    match rec.status.as_str() {
        "SUCCEEDED" => {
            let data: serde_json::Map<String, serde_json::Value> = rec
                .report
                .as_deref()
                .and_then(|r| serde_json::from_str(r).ok())
                .unwrap_or_default();
            Some(Ok(data
                .into_iter()
                .fold(Outcome::new(physical), |o, (k, v)| o.with(&k, v))))
        }
        "FAILED" => Some(Err(ProviderError::Exhausted(
            rec.reason.clone().unwrap_or_default(),
        ))),
        _ => None,
    }
}

/// Waits for the deployment, sends the load and judges it.
async fn measure(
    clients: &Arc<Clients>,
    req: &Request,
    p: &props::Props,
    physical: String,
    answer_at: Instant,
) -> Result<Outcome, ProviderError> {
    let run_time = Duration::from_millis(p.spec.warm_up_ms + p.spec.duration_ms) + AFTER_RUN;
    let ready_by = answer_at.checked_sub(run_time).unwrap_or_else(Instant::now);
    if let (Some(cluster), Some(service)) = (&p.cluster, &p.service) {
        deployment::wait(
            clients,
            cluster,
            service,
            p.task_definition.as_deref(),
            ready_by,
            &clients.gate_timing,
        )
        .await?;
    }
    let spec = p.spec.clone();
    let budget = answer_at
        .saturating_duration_since(Instant::now())
        .saturating_sub(Duration::from_millis(spec.warm_up_ms) + AFTER_RUN);
    // A shorter run than asked is a weaker test than the template promises: refuse it rather
    // than pass it. A custom resource is answered once, within one invocation of at most 15
    // minutes (https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html) and
    // before its ServiceTimeout
    // (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudformation-customresource.html).
    if Duration::from_millis(spec.duration_ms) > budget {
        return Err(ProviderError::Exhausted(format!(
            "the load test needs {} s of load after a {} s warm-up, and only {} s are left before this request must be answered: shorten Duration or WarmUp, raise ServiceTimeout or the provider's timeout, or run the gate as a lifecycle hook (its runs span invocations)",
            spec.duration_ms / 1000,
            spec.warm_up_ms / 1000,
            budget.as_secs()
        )));
    }
    // Time a worker invocation may be retried and still finish its run before the answer.
    let retry_until = answer_at
        .checked_sub(Duration::from_millis(spec.warm_up_ms + spec.duration_ms) + AFTER_RUN)
        .unwrap_or_else(Instant::now);
    let poll = clients.gate_timing.steady_poll;
    let report = match (&p.common.worker_function_arn, p.workers) {
        // The App's VPC worker function: the load starts where the service is reachable.
        (Some(function), n) => {
            workers::fan_out(clients, function, &spec, n, retry_until, poll, answer_at).await?
        }
        (None, n) if n > 1 => {
            let this = clients.function_name.clone().ok_or_else(|| {
                ProviderError::bad("Workers", "fan-out needs AWS_LAMBDA_FUNCTION_NAME")
            })?;
            workers::fan_out(clients, &this, &spec, n, retry_until, poll, answer_at).await?
        }
        (None, _) => run_local(&spec).await?,
    };
    let verdict = judge(&report, &p.common.thresholds);
    // One structured line per gate result.
    tracing::info!(
        gate = %req.logical_resource_id, passed = verdict.passed, requests = report.sent, error_rate = report.error_rate(),
        p50_ms = report.percentile_ms(0.5), p90_ms = report.percentile_ms(0.9), p99_ms = report.percentile_ms(0.99),
        rps = report.rps(), workers = p.workers, worker_function = p.common.worker_function_arn.as_deref().unwrap_or("-"), workers_answered = report.workers_answered, workers_failed = report.workers_failed,
        routed = p.routed, summary = %verdict.summary, "load-test gate result"
    );
    if !verdict.passed {
        return Err(ProviderError::GateFailed(verdict.summary));
    }
    let o = Outcome::new(physical)
        .with("Requests", report.sent.to_string())
        .with("ErrorRate", format!("{:.4}", report.error_rate()))
        .with("P50Ms", format!("{:.1}", report.percentile_ms(0.5)))
        .with("P90Ms", format!("{:.1}", report.percentile_ms(0.9)))
        .with("P99Ms", format!("{:.1}", report.percentile_ms(0.99)))
        .with("Rps", format!("{:.1}", report.rps()));
    Ok(o)
}

#[cfg(test)]
mod tests {
    #[test]
    fn presenting_a_host_keeps_the_path_and_connects_to_the_alb() {
        assert_eq!(
            super::presenting(
                "https://internal-app-1.us-east-1.elb.amazonaws.com/stress?x=1",
                "app.example.test"
            ),
            Ok((
                "https://app.example.test/stress?x=1".to_string(),
                "internal-app-1.us-east-1.elb.amazonaws.com:443".to_string()
            ))
        );
        assert_eq!(
            super::presenting("http://127.0.0.1:8080/", "app.example.test"),
            Ok((
                "http://app.example.test:8080/".to_string(),
                "127.0.0.1:8080".to_string()
            ))
        );
        assert_eq!(
            super::presenting("http://[::1]:8080/", "app.example.test").map(|p| p.1),
            Ok("[::1]:8080".to_string())
        );
    }
}
