//! The FargateApp provider: one Lambda for every custom resource the macro emits.

pub mod error;
pub mod listener_port;
pub mod listener_rule;
pub mod request;
pub mod respond;

pub use error::ProviderError;
pub use request::{Request, RequestType};
pub use respond::{Delivery, Outcome};

use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceRequest;
use serde_json::Value;
use std::sync::Arc;
use tokio::time::Instant;

/// SDK and HTTP clients, built once per Lambda instance.
#[derive(Clone, Debug)]
pub struct Clients {
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
    pub http: reqwest::Client,
}

impl Clients {
    pub fn from_conf(conf: &aws_config::SdkConfig) -> Self {
        Clients {
            elb: aws_sdk_elasticloadbalancingv2::Client::new(conf),
            http: http_client(),
        }
    }
}

pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(5))
        .build()
        .expect("TLS backend available")
}

/// Runs the handler for one custom-resource request (without answering).
pub async fn dispatch(clients: Arc<Clients>, req: Request) -> Result<Outcome, ProviderError> {
    match req.resource_type.as_str() {
        listener_port::RESOURCE_TYPE => listener_port::handle(&clients.elb, &req).await,
        listener_rule::RESOURCE_TYPE => listener_rule::handle(&clients.elb, &req).await,
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
                let fut = dispatch(clients.clone(), req.clone());
                let d = respond::run(&req, deadline, &clients.http, fut).await;
                return serde_json::json!({ "delivered": d.delivered, "attempts": d.attempts });
            }
            Err(e) => {
                // Malformed, but if it names a ResponseURL CloudFormation is still waiting: answer.
                if let Some(url) = event.get("ResponseURL").and_then(Value::as_str) {
                    let req = Request {
                        request_type: RequestType::Create,
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
                    let d = respond::run(&req, deadline, &clients.http, async move {
                        Err(ProviderError::bad("RequestType", msg))
                    })
                    .await;
                    return serde_json::json!({ "delivered": d.delivered });
                }
                tracing::error!(error = %e, "malformed custom resource request without a ResponseURL");
                return serde_json::json!({ "error": e.to_string() });
            }
        }
    }
    tracing::warn!("event is neither a custom-resource request nor a known event; ignored");
    serde_json::json!({ "ignored": true })
}
