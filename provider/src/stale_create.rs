//! A Create or an Update that arrives after CloudFormation stopped waiting for it must not act.
//!
//! CloudFormation invokes the provider asynchronously
//! (https://docs.aws.amazon.com/lambda/latest/dg/services-cloudformation.html), and Lambda's
//! asynchronous queue may hand the same event over more than once, late
//! (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html). A
//! duplicate of a Create that arrives after the stack deleted the resource would make a
//! listener, rule or weighting nobody will ever delete; a duplicate of an Update that arrives
//! after the update finished would claim a holder nobody deletes (a replacement whose rollback
//! already cleaned up) or write the older properties back over a newer Update's. CloudFormation
//! sends a Create only while the resource is CREATE_IN_PROGRESS (or UPDATE_IN_PROGRESS, for a
//! replacement) and an Update only while it is UPDATE_IN_PROGRESS (or rolling back), so the
//! resource's status decides (DescribeStackResource, "For deleted stacks, DescribeStackResource
//! returns resource information for up to 90 days after the stack has been deleted":
//! https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStackResource.html;
//! statuses: https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackResource.html;
//! request types: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-requesttypes.html).
//! A resource that is not being created, updated or rolled back, or that the stack no longer
//! has, makes the request stale: it answers FAILED without acting. CloudFormation no longer
//! waits on that ResponseURL (it took the first answer), so the answer is only a record; were
//! the check ever wrong while CloudFormation does wait, FAILED rolls the stack back visibly,
//! where a SUCCESS without the listener would leave a stack that names a listener that does not
//! exist (response fields: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-responses.html).
//! A status that cannot be read (a role without the permission, throttling past the budget)
//! leaves the request to proceed, as before this check.
//!
//! What the status cannot tell: a duplicate of an earlier Update delivered while a later
//! Update of the same resource is in progress finds the resource UPDATE_IN_PROGRESS again
//! (see docs/provider-simulation.md, "Late duplicates of Updates").

use crate::request::{Request, RequestType};
use crate::retry::{retrying, transient};
use crate::{Clients, ProviderError};
use aws_sdk_cloudformation::error::ProvideErrorMetadata;

/// Whether CloudFormation may be waiting on a Create or an Update of a resource in this status:
/// any operation in progress on it (CREATE_, UPDATE_, UPDATE_ROLLBACK_, ROLLBACK_,
/// IMPORT_..._IN_PROGRESS) except its deletion. Only a status that says otherwise (a finished
/// operation, a deletion) makes a request stale.
pub fn active(status: &str) -> bool {
    status.ends_with("_IN_PROGRESS") && status != "DELETE_IN_PROGRESS"
}

/// `Err` (the answer) when this Create or Update is stale; `Ok` when it may act.
pub async fn refuse(clients: &Clients, req: &Request) -> Result<(), ProviderError> {
    if req.stack_id.is_empty() || req.logical_resource_id.is_empty() {
        return Ok(());
    }
    let kind = match req.request_type {
        RequestType::Create => "Create",
        RequestType::Update => "Update",
        RequestType::Delete => return Ok(()),
    };
    let read = || async {
        match clients
            .cfn
            .describe_stack_resource()
            .stack_name(&req.stack_id)
            .logical_resource_id(&req.logical_resource_id)
            .send()
            .await
        {
            Ok(out) => Ok(Ok(out
                .stack_resource_detail()
                .and_then(|d| d.resource_status())
                .map(|s| s.as_str().to_string()))),
            Err(e) if transient(&e) => Err(ProviderError::sdk("DescribeStackResource", &e)),
            Err(e) => Ok(Err(e)),
        }
    };
    let stale = |why: String| {
        tracing::warn!(resource = %req.logical_resource_id, request = kind, reason = %why, "stale request: nothing done");
        Err(ProviderError::Stale(format!(
            "a late duplicate of this {kind}, not acted on: {why}"
        )))
    };
    match retrying("DescribeStackResource", read).await {
        Ok(Ok(Some(status))) if active(&status) => Ok(()),
        Ok(Ok(Some(status))) => stale(format!(
            "the stack's resource {} is {status}",
            req.logical_resource_id
        )),
        Ok(Ok(None)) => Ok(()),
        // "Resource X does not exist for stack Y": the stack is there and no longer has it.
        // "Stack with id Y does not exist" is not taken as stale: a deleted stack's resources
        // stay readable for 90 days (above), so that answer means a stack this account never
        // had (a request from a test or another account's copy), which the check cannot judge.
        Ok(Err(e))
            if e.as_service_error()
                .and_then(|se| se.message())
                .is_some_and(|m| m.starts_with("Resource ") && m.contains("does not exist")) =>
        {
            stale(format!(
                "the stack no longer has the resource {} ({})",
                req.logical_resource_id,
                crate::error::sdk_message(&e)
            ))
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %crate::error::sdk_message(&e), "cannot read the resource's status; the request proceeds");
            Ok(())
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the resource's status; the request proceeds");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_an_operation_in_progress_other_than_deletion_is_active() {
        for (status, active) in [
            ("CREATE_IN_PROGRESS", true),
            ("UPDATE_IN_PROGRESS", true),
            ("UPDATE_ROLLBACK_IN_PROGRESS", true),
            ("ROLLBACK_IN_PROGRESS", true),
            ("IMPORT_ROLLBACK_IN_PROGRESS", true),
            ("DELETE_IN_PROGRESS", false),
            ("CREATE_COMPLETE", false),
            ("UPDATE_COMPLETE", false),
            ("UPDATE_FAILED", false),
            ("UPDATE_ROLLBACK_COMPLETE", false),
            ("DELETE_COMPLETE", false),
            ("DELETE_SKIPPED", false),
        ] {
            assert_eq!(super::active(status), active, "{status}");
        }
    }
}
