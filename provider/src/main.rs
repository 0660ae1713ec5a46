//! The provider Lambda (`bootstrap`).
// The handlers' futures nest deeply (retried calls inside retried handlers): the layout of
// `main`'s future needs more than the default query depth of 128.
#![recursion_limit = "256"]

use fargate_provider::respond::invocation_deadline;
use fargate_provider::{handle_event, Clients};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The budget of an invocation whose reported deadline is already past.
const PAST_DEADLINE_BUDGET: Duration = Duration::from_secs(30);

#[tokio::main]
async fn main() -> Result<(), Error> {
    // RUST_LOG picks the level (`RUST_LOG=debug`, `RUST_LOG=fargate_provider=trace`); info
    // without it.
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::builder()
                .with_default_directive(tracing_subscriber::filter::LevelFilter::INFO.into())
                .from_env_lossy(),
        )
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
                .as_millis()
                .try_into()
                .unwrap_or(u64::MAX);
            let mut left = Duration::from_millis(event.context.deadline.saturating_sub(now_ms));
            if left.is_zero() {
                // A deadline already past (a runtime emulator's, or a skewed clock): keep a
                // working budget rather than answering without trying. A real deadline, however
                // short, is always used as it is.
                tracing::warn!(
                    deadline_ms = event.context.deadline,
                    now_ms,
                    "invocation deadline is not in the future; using {PAST_DEADLINE_BUDGET:?}"
                );
                left = PAST_DEADLINE_BUDGET;
            }
            let deadline = invocation_deadline(tokio::time::Instant::now(), left, None);
            Ok::<_, Error>(handle_event(clients, event.payload, deadline).await)
        }
    }))
    .await
}
