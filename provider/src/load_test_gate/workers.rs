//! Running the load: here, or split over invocations of a worker function (this Lambda for
//! `Workers: N`, or the App's VPC worker function) whose HDR histograms are merged.

use super::{transient, RunSpec};
use crate::{Clients, ProviderError};
use aws_sdk_lambda::config::http::HttpResponse;
use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};
use fargate_loadtest::{Progress, Report, WorkerReply};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

pub async fn run_local(spec: &RunSpec) -> Result<Report, ProviderError> {
    let config = spec.engine_config().map_err(ProviderError::GateFailed)?;
    fargate_loadtest::run(&config, Arc::new(Progress::default()))
        .await
        .map_err(|e| ProviderError::GateFailed(e.to_string()))
}

/// Time a worker invocation may take beyond its warm-up and load: Lambda's `Init` phase (at
/// most 10 seconds, https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html)
/// and the call's own round trip.
pub(crate) fn invoke_timeout_margin() -> Duration {
    Duration::from_secs(12)
}

/// Splits the load over `n` invocations of `function` (each at rate/n, or concurrency/n) and
/// merges their histograms with `fargate_loadtest::merge_workers`: the report says how many
/// workers answered and counts, with the reason, every one that failed, answered something
/// unreadable or gave no reply by `answer_by` (a failed worker fails the verdict; it is never
/// dropped). An invocation the function is not ready for is sent again, every `poll`
/// (growing), until `retry_until`; an Invoke that Lambda refuses otherwise (a missing function,
/// a denial) is an error.
pub(crate) async fn fan_out(
    clients: &Clients,
    function: &str,
    spec: &RunSpec,
    n: usize,
    retry_until: Instant,
    poll: Duration,
    answer_by: Instant,
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
        let call = async move {
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
        };
        calls.spawn(tokio::time::timeout_at(answer_by, call));
    }
    let mut replies = Vec::with_capacity(n);
    while let Some(joined) = calls.join_next().await {
        let reply = match joined.map_err(|e| ProviderError::Panic(e.to_string()))? {
            Err(_) => Err("no reply before the invocation's deadline".to_string()),
            Ok(Err(e)) if not_ready(&e) => Err(format!(
                "not ready in time: {}",
                crate::error::sdk_message(&e)
            )),
            Ok(Err(e)) => return Err(ProviderError::sdk("Invoke", &e)),
            Ok(Ok(out)) => reply_of(function, &out),
        };
        replies.push(reply);
    }
    Ok(fargate_loadtest::merge_workers(n, replies))
}

/// One invocation's answer as `merge_workers` takes it: the worker's reply, or why there is
/// none (the function failed: Lambda sets `FunctionError`, with a timed-out function too;
/// https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html).
fn reply_of(
    function: &str,
    out: &aws_sdk_lambda::operation::invoke::InvokeOutput,
) -> Result<WorkerReply, String> {
    let body = out.payload().map(|b| b.as_ref()).unwrap_or_default();
    if let Some(err) = out.function_error() {
        let detail = String::from_utf8_lossy(body);
        return Err(format!("{function} failed ({err}): {detail}"));
    }
    serde_json::from_slice::<WorkerReply>(body)
        .map_err(|e| format!("answered something unreadable: {e}"))
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

/// Handles one worker event: runs its share and returns the report.
pub async fn worker(spec: RunSpec) -> WorkerReply {
    WorkerReply::of(run_local(&spec).await)
}
