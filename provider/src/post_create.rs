//! `Custom::FargatePostCreate`: the user's function, run once after the App's service is
//! created and stable (seed 004: "a lambda arn is configurable" for "app-specific deployments
//! like database migration, data loading"). ECS lifecycle hooks exist only for blue/green,
//! linear and canary deployments
//! (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-lifecycle-hooks.html),
//! so a Rolling App gets this resource instead; the macro makes it depend on the service, which
//! CloudFormation creates only once the service is stable.
//!
//! - Create: invokes the function synchronously (RequestResponse) with
//!   `{"RequestType", "StackId", "LogicalResourceId", "Cluster", "ServiceName", "Url", "Payload"}`;
//!   an error of the function (Lambda sets `FunctionError` and the payload carries
//!   `errorMessage`: https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html) fails the
//!   Create with the function's message.
//! - Update: nothing, unless `RunOnUpdate` is true (then as Create, except while the stack rolls
//!   back: the rollback's old properties never run the function).
//! - Delete: nothing; a Delete never fails.
//! - At most once per request: CloudFormation may deliver a request more than once and Lambda
//!   retries a failed asynchronous invocation
//!   (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html). The
//!   state table's record per RequestId, created with a conditional write whose lease never
//!   expires, decides who invokes; a repeat answers the recorded result, or fails if the first
//!   delivery's invocation never recorded one (the function may have run: it is not run again).

use crate::request::{Request, RequestType};
use crate::respond::Outcome;
use crate::{Clients, ProviderError};
use serde_json::{json, Value};
use std::sync::Arc;
use tokio::time::Instant;

pub const RESOURCE_TYPE: &str = "Custom::FargatePostCreate";

/// How long a repeat waits for the first delivery's result before answering.
const REPEAT_POLL: std::time::Duration = std::time::Duration::from_secs(2);

pub async fn handle(
    clients: Arc<Clients>,
    req: &Request,
    deadline: Instant,
) -> Result<Outcome, ProviderError> {
    let store = clients.state_store.clone();
    handle_with_store(&clients, req, deadline, store.as_ref()).await
}

/// [`handle`] with the state table given (none: no guard against repeats).
pub async fn handle_with_store(
    clients: &Clients,
    req: &Request,
    deadline: Instant,
    store: Option<&crate::lifecycle_hook::HookStore>,
) -> Result<Outcome, ProviderError> {
    let physical = req.physical_or("post-create");
    match req.request_type {
        RequestType::Delete => return Ok(Outcome::new(physical)),
        RequestType::Update => {
            if req.prop("RunOnUpdate").as_deref() != Some("true") {
                return Ok(Outcome::new(physical).with("Skipped", "RunOnUpdate is false"));
            }
            if let Some(why) = crate::load_test_gate::stack_status::check(
                clients,
                &req.stack_id,
                deadline,
                &clients.gate_timing,
            )
            .await?
            {
                return Ok(Outcome::new(physical).with("Skipped", why));
            }
        }
        RequestType::Create => {}
    }
    let function = req.required("FunctionArn")?;
    let Some(store) = store else {
        return invoke(clients, req, &function, physical).await;
    };
    let key = format!(
        "post-create#{}#{}#{}",
        req.stack_id, req.logical_resource_id, req.request_id
    );
    // A lease that never expires: a delivery that finds the record never invokes.
    if !store
        .claim_once(&key, u64::MAX, &crate::lifecycle_hook::writer_token())
        .await?
    {
        loop {
            match store.load(&key).await?.map(|r| (r.status, r.reason)) {
                Some((s, _)) if s == "SUCCEEDED" => {
                    tracing::info!(hook = %req.logical_resource_id, "repeated request: the function already ran");
                    return Ok(Outcome::new(physical));
                }
                Some((s, reason)) if s == "FAILED" => {
                    return Err(ProviderError::HookFailed(reason.unwrap_or_default()))
                }
                _ if Instant::now() + REPEAT_POLL >= crate::retry::answer_by().min(deadline) => {
                    return Err(ProviderError::Exhausted(format!(
                        "an earlier delivery of this request invoked {function} and recorded no result; it is not invoked twice"
                    )));
                }
                _ => tokio::time::sleep(REPEAT_POLL).await,
            }
        }
    }
    let result = invoke(clients, req, &function, physical).await;
    let (status, reason) = match &result {
        Ok(_) => (crate::lifecycle_hook::HookStatus::Succeeded, String::new()),
        Err(e) => (crate::lifecycle_hook::HookStatus::Failed, e.to_string()),
    };
    if let Err(e) = store.finish_once(&key, status, &reason, "{}").await {
        tracing::warn!(error = %e, "could not record the post-create result; a repeated request fails without invoking");
    }
    result
}

/// The event the user's function receives.
pub fn payload(req: &Request) -> Value {
    json!({
        "RequestType": match req.request_type {
            RequestType::Create => "Create",
            RequestType::Update => "Update",
            RequestType::Delete => "Delete",
        },
        "StackId": req.stack_id,
        "LogicalResourceId": req.logical_resource_id,
        "Cluster": req.properties.get("Cluster"),
        "ServiceName": req.properties.get("ServiceName"),
        "Url": req.properties.get("Url"),
        "Payload": req.properties.get("Payload"),
    })
}

async fn invoke(
    clients: &Clients,
    req: &Request,
    function: &str,
    physical: String,
) -> Result<Outcome, ProviderError> {
    let body = serde_json::to_vec(&payload(req)).expect("serialisable");
    // Invoke is not idempotent: an answer lost after the function ran (a timeout, a dropped
    // connection, a 5xx) must not be sent again, so the SDK's own retries are off. Throttling
    // (TooManyRequestsException: the function was not invoked) is tried again.
    // https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html
    let mut backoff = crate::retry::Backoff::default();
    let out = loop {
        let sent = clients
            .lambda
            .invoke()
            .function_name(function)
            .payload(aws_sdk_lambda::primitives::Blob::new(body.clone()))
            .customize()
            .config_override(
                aws_sdk_lambda::config::Builder::default()
                    .retry_config(aws_sdk_lambda::config::retry::RetryConfig::disabled()),
            )
            .send()
            .await;
        match sent {
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_too_many_requests_exception()) =>
            {
                let wait = backoff.next_wait();
                if Instant::now() + wait >= crate::retry::answer_by() {
                    return Err(ProviderError::sdk("Invoke", &e));
                }
                tokio::time::sleep(wait).await;
            }
            Err(e) => {
                return Err(ProviderError::Exhausted(format!(
                "Invoke of {function} got no answer ({}); it may have run and is not invoked again",
                crate::error::sdk_message(&e)
            )))
            }
            Ok(out) => break out,
        }
    };
    let answer = out.payload().map(|b| b.as_ref()).unwrap_or_default();
    if let Some(kind) = out.function_error() {
        // The function's own message: `{"errorMessage": ..., "errorType": ...}`.
        let message = serde_json::from_slice::<Value>(answer)
            .ok()
            .and_then(|v| {
                v.get("errorMessage")
                    .and_then(Value::as_str)
                    .map(String::from)
            })
            .unwrap_or_else(|| String::from_utf8_lossy(answer).into_owned());
        return Err(ProviderError::HookFailed(format!(
            "{function} failed ({kind}): {message}"
        )));
    }
    Ok(Outcome::new(physical))
}
