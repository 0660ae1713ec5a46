//! The provider Lambda (`bootstrap`).

use fargate_provider::{handle_event, Clients};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .json()
        .with_target(false)
        .without_time()
        .init();
    let conf = aws_config::load_from_env().await;
    let clients = Arc::new(Clients::from_conf(&conf));
    run(service_fn(move |event: LambdaEvent<Value>| {
        let clients = clients.clone();
        async move {
            let now_ms = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis() as u64;
            let left = Duration::from_millis(event.context.deadline.saturating_sub(now_ms));
            let deadline = tokio::time::Instant::now() + left;
            Ok::<_, Error>(handle_event(clients, event.payload, deadline).await)
        }
    }))
    .await
}
