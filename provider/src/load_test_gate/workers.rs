//! Running the load: here, or split over invocations of a worker function (this Lambda for
//! `Workers: N`, or the App's VPC worker function) whose HDR histograms are merged.

use super::{transient, RunSpec};
use crate::{Clients, ProviderError};
use aws_sdk_lambda::config::http::HttpResponse;
use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};
use fargate_loadtest::report::WireReport;
use fargate_loadtest::{Progress, Report};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

pub async fn run_local(spec: &RunSpec) -> Result<Report, ProviderError> {
    let config = spec.engine_config().map_err(ProviderError::GateFailed)?;
    fargate_loadtest::run(&config, Arc::new(Progress::default()))
        .await
        .map_err(|e| ProviderError::GateFailed(e.to_string()))
}

/// Splits the load over `n` invocations of `function` (each at rate/n, or concurrency/n) and
/// merges their histograms. An invocation the function is not ready for is sent again, every
/// `poll` (growing), until `retry_until`.
pub(super) async fn fan_out(
    clients: &Clients,
    function: &str,
    spec: &RunSpec,
    n: usize,
    retry_until: Instant,
    poll: Duration,
) -> Result<Report, ProviderError> {
    let mut part = spec.clone();
    part.rate = spec.rate.map(|r| r / n as f64);
    part.concurrency = spec.concurrency.map(|c| c.div_ceil(n).max(1));
    let payload = serde_json::to_vec(&serde_json::json!({ super::WORKER_EVENT: part }))
        .expect("serialisable");
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..n {
        let (lambda, function, payload) = (
            clients.lambda.clone(),
            function.to_string(),
            payload.clone(),
        );
        calls.spawn(async move {
            let mut attempt = 1;
            loop {
                let sent = lambda
                    .invoke()
                    .function_name(&function)
                    .payload(aws_sdk_lambda::primitives::Blob::new(payload.clone()))
                    .send()
                    .await;
                let wait = poll * attempt.min(6);
                match sent {
                    Err(e) if not_ready(&e) && Instant::now() + wait < retry_until => {
                        tracing::warn!(function, attempt, error = %crate::error::sdk_message(&e), "load worker not ready; invoking again");
                        tokio::time::sleep(wait).await;
                        attempt += 1;
                    }
                    done => return done,
                }
            }
        });
    }
    let mut merged = Report::empty(None);
    while let Some(joined) = calls.join_next().await {
        let out = joined
            .map_err(|e| ProviderError::Panic(e.to_string()))?
            .map_err(|e| ProviderError::sdk("Invoke", &e))?;
        if let Some(err) = out.function_error() {
            return Err(ProviderError::GateFailed(format!(
                "a load worker ({function}) failed ({err})"
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

/// Worth invoking again: a function that is Inactive or Pending (its VPC network interfaces
/// being recreated: ResourceNotReadyException, ResourceConflictException), throttled, or failing
/// on the service's side.
/// https://docs.aws.amazon.com/lambda/latest/dg/functions-states.html
fn not_ready<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>) -> bool {
    transient(e)
        || matches!(
            e.as_service_error().and_then(|se| se.code()),
            Some(
                "ResourceNotReadyException" | "ResourceConflictException" | "EC2ThrottledException"
            )
        )
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

/// Handles one worker event: runs its share and returns the report.
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
