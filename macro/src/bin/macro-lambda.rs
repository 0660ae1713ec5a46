//! The macro Lambda (`bootstrap`): answers CloudFormation macro requests.

use fargate_macro::gen::{Settings, DEFAULT_SERVICE_TOKEN_EXPORT};
use fargate_macro::lambda::{handle_value, MacroResponse};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .json()
        .with_target(false)
        .without_time()
        .init();
    let export = std::env::var("PROVIDER_EXPORT_NAME")
        .unwrap_or_else(|_| DEFAULT_SERVICE_TOKEN_EXPORT.to_string());
    let settings = Settings::with_export(&export);
    let settings = &settings;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        let resp: MacroResponse = handle_value(event.payload, settings);
        tracing::info!(request_id = %resp.request_id, status = %resp.status, error = resp.error_message.as_deref().unwrap_or(""), "macro request");
        Ok::<_, Error>(resp)
    }))
    .await
}
