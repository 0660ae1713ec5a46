//! The FargateApp provider: one Lambda for every custom resource the macro emits.

pub mod clients;
pub mod error;
pub mod failover;
pub mod gate_settings;
pub mod lifecycle_hook;
pub mod listener_port;
pub mod listener_rule;
pub mod load_test_gate;
mod once;
pub mod post_create;
pub mod request;
pub mod request_once;
pub mod respond;
pub mod retry;
pub mod scaling_check;
pub mod slot;
pub mod stale_create;

// `Clients` and `http_client` stay reachable from the crate root for `load_test_gate.rs`.
pub use clients::{http_client, Clients};
pub use error::ProviderError;
pub use request::{Request, RequestType};
pub use respond::{Delivery, Outcome};

use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceRequest;
use serde_json::Value;
use std::sync::Arc;
use tokio::time::Instant;

/// Runs the handler for one custom-resource request (without answering).
pub async fn dispatch(
    clients: Arc<Clients>,
    req: Request,
    deadline: Instant,
) -> Result<Outcome, ProviderError> {
    // Every AWS call of the handler is retried on throttling until the answer's margin. The
    // handler's future is boxed: inline, the state machines of every handler would sit in this
    // one twice (a test's 2 MiB main thread overflowed in a debug build).
    let run = async {
        // A Delete is safe to repeat (what it deletes is gone the second time), and the gate
        // keeps its own once-record (keyed by the RequestId, its skips and refusals included),
        // read before its own status check.
        if req.request_type == RequestType::Delete
            || req.resource_type == load_test_gate::RESOURCE_TYPE
        {
            return Box::pin(handle(clients.clone(), &req, deadline)).await;
        }
        // A delivery of a Create or an Update answered before: the first answer, nothing done
        // (a duplicate of an older Update during a newer one, which the status cannot tell).
        let store = clients.state_store.as_ref();
        if let Some(answer) = request_once::recorded(store, &req).await {
            return answer;
        }
        let answer = match stale_create::refuse(&clients, &req).await {
            Ok(()) => Box::pin(handle(clients.clone(), &req, deadline)).await,
            Err(stale) => Err(stale),
        };
        request_once::record(store, &req, &answer).await;
        answer
    };
    retry::within(respond::answer_by(deadline), run).await
}

async fn handle(
    clients: Arc<Clients>,
    req: &Request,
    deadline: Instant,
) -> Result<Outcome, ProviderError> {
    let req = req.clone();
    match req.resource_type.as_str() {
        failover::RESOURCE_TYPE => failover::handle(&clients, &req, deadline).await,
        // The gate and the scaling check are boxed: their futures (the load, the polls, the
        // once-record) would otherwise add to every request's future, which a debug build's
        // test thread holds on its stack (tests/moto.rs overflowed it).
        load_test_gate::RESOURCE_TYPE => {
            Box::pin(load_test_gate::handle(clients.clone(), &req, deadline)).await
        }
        scaling_check::RESOURCE_TYPE => {
            Box::pin(scaling_check::handle(clients.clone(), &req, deadline)).await
        }
        listener_port::RESOURCE_TYPE => listener_port::handle(&clients.elb, &req).await,
        listener_rule::RESOURCE_TYPE => listener_rule::handle(&clients.elb, &req).await,
        post_create::RESOURCE_TYPE => post_create::handle(clients.clone(), &req, deadline).await,
        // Deleting something this provider version does not know must not block a stack.
        _ if req.request_type == RequestType::Delete => Ok(Outcome::new(
            req.physical_resource_id.clone().unwrap_or_default(),
        )),
        other => Err(ProviderError::UnsupportedType(other.to_string())),
    }
}

/// Handles one Lambda event. A custom-resource request is always answered through
/// [`respond::run`]; the return value is what the Lambda invocation returns.
pub async fn handle_event(clients: Arc<Clients>, event: Value, deadline: Instant) -> Value {
    if event.get("RequestType").is_some() {
        match serde_json::from_value::<CloudFormationCustomResourceRequest>(event.clone()) {
            Ok(r) => {
                let req: Request = r.into();
                // Answer before CloudFormation stops waiting, not only before Lambda stops us.
                let deadline = respond::service_budget(&req)
                    .and_then(|t| Instant::now().checked_add(t))
                    .map_or(deadline, |t| t.min(deadline));
                let fut = dispatch(clients.clone(), req.clone(), deadline);
                let d = respond::run(&req, deadline, &clients.http, fut).await;
                return serde_json::json!({ "delivered": d.delivered, "attempts": d.attempts });
            }
            Err(e) => {
                // Malformed, but if it names a ResponseURL CloudFormation is still waiting: answer.
                if let Some(url) = event.get("ResponseURL").and_then(Value::as_str) {
                    // A Delete answered FAILED leaves the stack in DELETE_FAILED (or its
                    // rollback in UPDATE_ROLLBACK_FAILED), and a request this provider cannot
                    // read names nothing it could delete: the Delete succeeds, echoing the
                    // PhysicalResourceId it was sent ("Delete" requests,
                    // https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-requesttypes-delete.html).
                    let request_type = match event.get("RequestType").and_then(Value::as_str) {
                        Some("Delete") => RequestType::Delete,
                        Some("Update") => RequestType::Update,
                        _ => RequestType::Create,
                    };
                    let req = Request {
                        request_type,
                        request_id: event
                            .get("RequestId")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .into(),
                        response_url: url.into(),
                        stack_id: event
                            .get("StackId")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .into(),
                        resource_type: String::new(),
                        logical_resource_id: event
                            .get("LogicalResourceId")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .into(),
                        physical_resource_id: event
                            .get("PhysicalResourceId")
                            .and_then(Value::as_str)
                            .map(String::from),
                        properties: Value::Null,
                        old_properties: None,
                    };
                    let msg = format!("malformed custom resource request: {e}");
                    // A Delete without a readable PhysicalResourceId still succeeds (the answer
                    // needs one: the placeholder stands in for it).
                    let physical = req
                        .physical_resource_id
                        .clone()
                        .unwrap_or_else(|| req.placeholder_id());
                    let d = respond::run(&req, deadline, &clients.http, async move {
                        match request_type {
                            RequestType::Delete => {
                                let id = physical;
                                tracing::warn!(reason = %msg, "malformed Delete: nothing to delete");
                                Ok(Outcome::new(id))
                            }
                            _ => Err(ProviderError::bad("RequestType", msg)),
                        }
                    })
                    .await;
                    return serde_json::json!({ "delivered": d.delivered });
                }
                tracing::error!(error = %e, "malformed custom resource request without a ResponseURL");
                return serde_json::json!({ "error": e.to_string() });
            }
        }
    }
    if lifecycle_hook::is_hook_event(&event) {
        return lifecycle_hook::handle_event(&clients, &event, deadline).await;
    }
    if let Some(config) = event.get(failover::EVENT_KEY) {
        return failover::handle_event(&clients, config, deadline).await;
    }
    if let Some(spec) = event.get(load_test_gate::WORKER_EVENT) {
        return match serde_json::from_value::<load_test_gate::RunSpec>(spec.clone()) {
            Ok(spec) => {
                serde_json::to_value(load_test_gate::worker(spec).await).expect("serialisable")
            }
            Err(e) => serde_json::json!({ "Error": format!("malformed load worker event: {e}") }),
        };
    }
    tracing::warn!("event is neither a custom-resource request nor a known event; ignored");
    serde_json::json!({ "ignored": true })
}
