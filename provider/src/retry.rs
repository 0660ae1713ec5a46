//! One retry rule for the AWS calls a handler makes: throttling and transient errors are called
//! again with backoff, within the handler's remaining budget, leaving the answer's margin.
//!
//! AWS's services ask for exactly that: ELBv2 "Rate exceeded" (ThrottlingException)
//! (https://docs.aws.amazon.com/elasticloadbalancing/latest/userguide/elb-api-throttling.html),
//! DynamoDB's throttling and 5xx errors are "OK to retry" with exponential backoff
//! (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html#Programming.Errors.RetryAndBackoff).
//! The SDK's own retries (three attempts by default) may all be throttled; a handler with
//! minutes left should not answer FAILED for that.
//!
//! The budget is the handler's: [`within`] sets it for everything the handler awaits (a task
//! local, so the claim, gate and hook code keep their signatures); outside one, a call is
//! retried for [`DEFAULT_WINDOW`].

use crate::ProviderError;
use aws_sdk_ecs::config::http::HttpResponse;
use aws_sdk_ecs::error::{ProvideErrorMetadata, SdkError};
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

tokio::task_local! {
    static ANSWER_BY: Instant;
}

/// First wait between two attempts; each later wait doubles, up to [`MAX_WAIT`].
pub const FIRST_WAIT: Duration = Duration::from_millis(200);
pub const MAX_WAIT: Duration = Duration::from_secs(5);
/// How long a call is retried outside [`within`] (no handler budget known).
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(10);

/// Waits that double from [`FIRST_WAIT`] up to [`MAX_WAIT`].
#[derive(Debug, Clone)]
pub struct Backoff(Duration);

impl Default for Backoff {
    fn default() -> Self {
        Backoff(FIRST_WAIT)
    }
}

impl Backoff {
    /// The next wait.
    pub fn next_wait(&mut self) -> Duration {
        let w = self.0;
        self.0 = (self.0 * 2).min(MAX_WAIT);
        w
    }
}

/// Runs `fut` (a handler) with its calls retried until `answer_by` at the latest.
pub async fn within<F: Future>(answer_by: Instant, fut: F) -> F::Output {
    ANSWER_BY.scope(answer_by, fut).await
}

/// When the running handler must stop retrying.
pub fn answer_by() -> Instant {
    ANSWER_BY
        .try_with(|t| *t)
        .unwrap_or_else(|_| Instant::now() + DEFAULT_WINDOW)
}

/// Worth calling again: throttling, a server-side error, or no answer at all (any service
/// crate: they share smithy's error types). A denial or a validation error will not change.
/// DynamoDB's ProvisionedThroughputExceededException is a 400 marked "OK to retry? Yes"
/// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html).
pub fn transient<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>) -> bool {
    match e {
        SdkError::ServiceError(se) => {
            matches!(
                se.err().code(),
                Some(
                    "Throttling"
                        | "ThrottlingException"
                        | "RequestLimitExceeded"
                        | "TooManyRequestsException"
                        | "ProvisionedThroughputExceededException"
                        | "InternalFailure"
                        | "InternalServerError"
                        | "ServiceUnavailable"
                )
            ) || se.raw().status().is_server_error()
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        _ => false,
    }
}

/// Calls `call` until it succeeds, fails for good, or the next wait would pass the handler's
/// [`answer_by`]; the last error is returned.
pub async fn retrying<T, F, Fut>(what: &str, mut call: F) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ProviderError>>,
{
    let until = answer_by();
    let mut backoff = Backoff::default();
    loop {
        // On the heap: a handler awaits many retried calls, and an SDK call's future is large
        // (in a debug build, nested inline they overflowed a test thread's 2 MiB stack).
        match Box::pin(call()).await {
            Err(e) if e.is_transient() => {
                let wait = backoff.next_wait();
                if Instant::now() + wait >= until {
                    return Err(e);
                }
                tracing::info!(error = %e, wait_ms = wait.as_millis() as u64, "{what}: calling again");
                tokio::time::sleep(wait).await;
            }
            r => return r,
        }
    }
}
