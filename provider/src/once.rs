//! Running one custom-resource request's work once however often the request is delivered: a
//! record per request in the provider's state table, created with a conditional write, decides
//! who runs; a duplicate waits for the result and answers the same. CloudFormation may deliver
//! a request more than once and Lambda retries a failed asynchronous invocation
//! (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html). Used by
//! the load-test gate and the scaling check, whose work sends load.

use crate::lifecycle_hook::{HookStatus, HookStore};
use crate::load_test_gate::replay;
use crate::respond::Outcome;
use crate::ProviderError;
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// Runs `work` under the record `key` unless another delivery holds it: then waits (every
/// `poll`) for its result and answers it, or fails when none comes before `answer_at`. `what`
/// names the work in messages ("load test").
pub(crate) async fn run_once<F, Fut>(
    store: &HookStore,
    key: &str,
    physical: &str,
    answer_at: Instant,
    poll: Duration,
    what: &str,
    work: F,
) -> Result<Outcome, ProviderError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Outcome, ProviderError>>,
{
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64;
    let lease_until = now_ms
        + answer_at
            .saturating_duration_since(Instant::now())
            .as_millis() as u64;
    let writer = crate::lifecycle_hook::writer_token();
    loop {
        if store.claim_once(key, lease_until, &writer).await? {
            break;
        }
        if let Some(r) = store
            .load(key)
            .await?
            .and_then(|rec| replay(&rec, physical))
        {
            tracing::info!(
                key,
                "repeated request: the recorded result, no second {what}"
            );
            return r;
        }
        if Instant::now() + poll >= answer_at {
            return Err(ProviderError::Exhausted(format!(
                "another invocation is running this request's {what} and has not finished in time"
            )));
        }
        tokio::time::sleep(poll).await;
    }
    // Boxed: the work (a load run) is the largest future of any request; kept on the heap it
    // does not grow every request's future on the Lambda's (or a test thread's) stack.
    let result = Box::pin(work()).await;
    let (status, reason, data) = match &result {
        Ok(o) => (
            HookStatus::Succeeded,
            String::new(),
            serde_json::Value::Object(o.data.iter().cloned().collect()).to_string(),
        ),
        Err(e) => (HookStatus::Failed, e.to_string(), "{}".to_string()),
    };
    if let Err(e) = store.finish_once(key, status, &reason, &data).await {
        tracing::warn!(error = %e, "could not record the {what}'s result; a repeated request would run again");
    }
    result
}
