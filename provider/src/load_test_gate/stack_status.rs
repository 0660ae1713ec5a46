//! Whether an Update may be part of a rollback. A rollback sends Update (with the old
//! properties) and Delete, never Create, so only an Update is checked:
//! https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-requesttypes.html

use super::{transient, GateTiming};
use crate::{Clients, ProviderError};
use tokio::time::Instant;

/// Reads of the stack status, each with the SDK's own retries inside.
const ATTEMPTS: u32 = 4;

/// `Ok(None)` when the gate may run, `Ok(Some(why))` when the stack is rolling back (a gate
/// must never fail a rollback), and an error when the status could not be read: the gate fails
/// closed then. An AccessDenied or a missing stack says nothing about a rollback, and passing
/// untested would let a bad deployment through; only throttling and server errors are read
/// again (DescribeStacks, https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStacks.html;
/// common errors, https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/CommonErrors.html).
pub(crate) async fn check(
    clients: &Clients,
    stack_id: &str,
    until: Instant,
    timing: &GateTiming,
) -> Result<Option<String>, ProviderError> {
    let mut attempt = 1;
    loop {
        match status(clients, stack_id).await {
            Ok(status) => {
                return Ok(
                    rolling_back(&status).then(|| format!("the stack is rolling back ({status})"))
                );
            }
            Err(e) => {
                let msg = crate::error::sdk_message(&e);
                let wait = timing.steady_poll * attempt;
                let again = attempt < ATTEMPTS && transient(&e) && Instant::now() + wait < until;
                tracing::warn!(error = %msg, attempt, again, "cannot read the stack status");
                if !again {
                    return Err(ProviderError::Aws {
                        operation: "DescribeStacks",
                        message: format!(
                            "{msg}; the load-test gate does not pass a deployment it could not check (is this Update a rollback?)"
                        ),
                        transient: false,
                    });
                }
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
        }
    }
}

/// The stack's status as DescribeStacks reports it ("" when it reports none).
pub(crate) async fn status(
    clients: &Clients,
    stack_id: &str,
) -> Result<
    String,
    aws_sdk_cloudformation::error::SdkError<
        aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksError,
        aws_sdk_cloudformation::config::http::HttpResponse,
    >,
> {
    let out = clients
        .cfn
        .describe_stacks()
        .stack_name(stack_id)
        .send()
        .await?;
    Ok(out
        .stacks()
        .first()
        .and_then(|s| s.stack_status())
        .map(|s| s.as_str().to_string())
        .unwrap_or_default())
}

/// A rollback in progress (UPDATE_ROLLBACK_IN_PROGRESS, ROLLBACK_IN_PROGRESS,
/// IMPORT_ROLLBACK_IN_PROGRESS, UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS). A finished
/// rollback (UPDATE_ROLLBACK_COMPLETE) followed by a new update reads UPDATE_IN_PROGRESS.
pub(crate) fn rolling_back(status: &str) -> bool {
    status.contains("ROLLBACK") && status.ends_with("IN_PROGRESS")
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_rollbacks_in_progress() {
        for s in [
            "UPDATE_ROLLBACK_IN_PROGRESS",
            "ROLLBACK_IN_PROGRESS",
            "IMPORT_ROLLBACK_IN_PROGRESS",
            "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
        ] {
            assert!(super::rolling_back(s), "{s}");
        }
        for s in [
            "UPDATE_IN_PROGRESS",
            "UPDATE_ROLLBACK_COMPLETE",
            "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
            "",
        ] {
            assert!(!super::rolling_back(s), "{s}");
        }
    }
}
