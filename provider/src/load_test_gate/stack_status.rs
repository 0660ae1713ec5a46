//! Whether an Update may be part of a rollback. A rollback sends Update (with the old
//! properties) and Delete, never Create, so only an Update is checked:
//! https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-requesttypes.html

use super::{transient, GateTiming};
use crate::Clients;
use tokio::time::Instant;

/// Reads of the stack status, each with the SDK's own retries inside.
const ATTEMPTS: u32 = 4;

/// `Ok` when the gate may run; `Err(why)` when it must not: the stack is rolling back, or its
/// status could not be read (then this Update may be a rollback, and a gate must never fail one).
pub(super) async fn check(
    clients: &Clients,
    stack_id: &str,
    until: Instant,
    timing: &GateTiming,
) -> Result<(), String> {
    let mut attempt = 1;
    loop {
        match clients
            .cfn
            .describe_stacks()
            .stack_name(stack_id)
            .send()
            .await
        {
            Ok(out) => {
                let status = out
                    .stacks()
                    .first()
                    .and_then(|s| s.stack_status())
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default();
                return if rolling_back(&status) {
                    Err(format!("the stack is rolling back ({status})"))
                } else {
                    Ok(())
                };
            }
            Err(e) => {
                let msg = crate::error::sdk_message(&e);
                let wait = timing.steady_poll * attempt;
                let again = attempt < ATTEMPTS && transient(&e) && Instant::now() + wait < until;
                tracing::warn!(error = %msg, attempt, again, "cannot read the stack status");
                if !again {
                    return Err(format!(
                        "not run: this Update may be a rollback and the stack status could not be read ({msg})"
                    ));
                }
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
        }
    }
}

/// A rollback in progress (UPDATE_ROLLBACK_IN_PROGRESS, ROLLBACK_IN_PROGRESS,
/// IMPORT_ROLLBACK_IN_PROGRESS, UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS). A finished
/// rollback (UPDATE_ROLLBACK_COMPLETE) followed by a new update reads UPDATE_IN_PROGRESS.
fn rolling_back(status: &str) -> bool {
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
