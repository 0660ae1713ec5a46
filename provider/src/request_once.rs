//! One answer per custom-resource request: the first answer to a Create or an Update is
//! recorded under its RequestId, and any later delivery of the same request answers from the
//! record without acting again.
//!
//! Lambda's asynchronous queue may deliver an event more than once, and late
//! (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html), and a
//! request's RequestId is the same in every delivery while CloudFormation gives each request a
//! new one ("RequestId: A unique ID for the request",
//! https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-requests.html).
//! The resource's status ([`crate::stale_create`]) tells a duplicate delivered after its
//! operation ended, but not one delivered while a later operation of the same resource is in
//! progress (the status is UPDATE_IN_PROGRESS again): a duplicate of a first Update delivered
//! during a second would write the first Update's older properties back, or claim a holder the
//! second never names. The record tells them apart by the request itself.
//!
//! The record lives in the provider's state table (the gate's once-record, items expiring after
//! 30 days: longer than Lambda keeps an event, at most 6 hours). It is best effort: a table
//! that cannot be read or written leaves the request to act as it did before the record (the
//! status check still stands), and a store call is given [`STORE_WAIT`] at most, so a hanging
//! table never costs the handler its answer. A request whose first delivery crashed before
//! answering has no record: its redelivery acts, as it must.

use crate::lifecycle_hook::{HookStatus, HookStore};
use crate::request::Request;
use crate::respond::Outcome;
use crate::ProviderError;
use serde_json::{json, Map, Value};
use std::time::Duration;

/// The most a record read or write may take before the request goes on without it.
const STORE_WAIT: Duration = Duration::from_secs(10);

/// The record's key: one per request of one resource.
pub fn key(req: &Request) -> String {
    format!(
        "request#{}#{}#{}",
        req.stack_id, req.logical_resource_id, req.request_id
    )
}

/// The recorded answer, when this request was answered before.
pub async fn recorded(
    store: Option<&HookStore>,
    req: &Request,
) -> Option<Result<Outcome, ProviderError>> {
    let store = store?;
    let rec = match tokio::time::timeout(STORE_WAIT, store.load(&key(req))).await {
        Ok(Ok(rec)) => rec?,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "cannot read the request's record; the request proceeds");
            return None;
        }
        Err(_) => {
            tracing::warn!("the request's record did not answer in time; the request proceeds");
            return None;
        }
    };
    let answer = decode(&rec.status, rec.reason.as_deref(), rec.report.as_deref())?;
    tracing::info!(resource = %req.logical_resource_id, request = %req.request_id, "a repeated request: the recorded answer, nothing done");
    Some(answer)
}

/// Records the answer of this request (best effort).
pub async fn record(
    store: Option<&HookStore>,
    req: &Request,
    answer: &Result<Outcome, ProviderError>,
) {
    let Some(store) = store else { return };
    let (status, reason, report) = encode(answer);
    let key = key(req);
    let write = store.finish_once(&key, status, &reason, &report);
    match tokio::time::timeout(STORE_WAIT, write).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "could not record the answer; a repeated request would act again")
        }
        Err(_) => {
            tracing::warn!(
                "recording the answer did not finish in time; a repeated request would act again"
            )
        }
    }
}

/// The record of an answer: status, reason, and the physical ID with the data as JSON.
fn encode(answer: &Result<Outcome, ProviderError>) -> (HookStatus, String, String) {
    match answer {
        Ok(o) => {
            let data: Map<String, Value> = o.data.iter().cloned().collect();
            let report = json!({ "PhysicalResourceId": o.physical_id, "Data": data });
            (HookStatus::Succeeded, String::new(), report.to_string())
        }
        Err(e) => (HookStatus::Failed, e.to_string(), "{}".into()),
    }
}

/// The answer a record gives; None for a record that is not a finished answer.
fn decode(
    status: &str,
    reason: Option<&str>,
    report: Option<&str>,
) -> Option<Result<Outcome, ProviderError>> {
    match status {
        "SUCCEEDED" => {
            let v: Value = serde_json::from_str(report?).ok()?;
            let physical = v.get("PhysicalResourceId")?.as_str()?;
            let data = v.get("Data").and_then(Value::as_object).cloned();
            Some(Ok(data
                .unwrap_or_default()
                .into_iter()
                .fold(Outcome::new(physical), |o, (k, v)| o.with(&k, v))))
        }
        "FAILED" => Some(Err(ProviderError::Stale(reason.unwrap_or_default().into()))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_reads_back_from_its_record() {
        let cases: Vec<Result<Outcome, ProviderError>> = vec![
            Ok(Outcome::new("arn:listener/1")
                .with("Port", "8001")
                .with("ListenerArn", "arn:listener/1")),
            Ok(Outcome::new("ApiFailover")),
            Err(ProviderError::Exhausted("no free priority in 1-10".into())),
        ];
        for answer in cases {
            let (status, reason, report) = encode(&answer);
            let back = decode(status.as_str(), Some(&reason), Some(&report)).expect("decoded");
            match (&answer, back) {
                (Ok(a), Ok(b)) => {
                    assert_eq!(a.physical_id, b.physical_id);
                    assert_eq!(a.data, b.data);
                }
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
                (a, b) => panic!("{a:?} read back as {b:?}"),
            }
        }
        // A running record (the gate's claim) is not an answer.
        assert!(decode("RUNNING", None, None).is_none());
    }
}
