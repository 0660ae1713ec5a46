//! The gate's run in slices that fit one invocation each, under a lease in the record.

use super::answer::{final_answer, in_progress};
use super::store::now_ms;
use super::SETTINGS_KEY;
use super::{
    record_key, GateSettings, HookAnswer, HookEvent, HookStatus, HookStore, Record, RunState,
};
use crate::{Clients, ProviderError};
use fargate_loadtest::{judge, Report};
use std::time::Duration;
use tokio::time::Instant;

/// Time kept after a slice for merging, writing the record and answering.
const AFTER_SLICE: Duration = Duration::from_secs(10);

pub(super) async fn gate(
    clients: &Clients,
    store: &HookStore,
    ev: &HookEvent,
    st: &GateSettings,
    deadline: Instant,
) -> Result<HookAnswer, ProviderError> {
    let key = record_key(ev);
    let rec = match store.load(&key).await? {
        Some(r) => r,
        None => {
            store.create(&key).await?;
            store
                .load(&key)
                .await?
                .ok_or_else(|| ProviderError::Exhausted(format!("record {key} vanished")))?
        }
    };
    if let Some(a) = final_answer(&rec) {
        return Ok(HookAnswer {
            reason: format!("repeated invocation, same answer: {}", a.reason),
            ..a
        });
    }
    let now = now_ms();
    if let Some(until) = rec.lease_until_ms.filter(|u| *u >= now) {
        let wait = (until - now).div_ceil(1000);
        return Ok(in_progress(
            ev,
            st,
            &rec,
            wait.min(st.call_back_delay.max(30)),
            "a slice is running in another invocation".into(),
        ));
    }
    // This invocation's budget: load, then AFTER_SLICE to write and answer.
    let total = Duration::from_secs(st.duration);
    let done = Duration::from_millis(rec.measured_ms);
    let warm_up = if rec.slices == 0 {
        Duration::from_secs(st.warm_up)
    } else {
        Duration::from_secs(st.warm_up.min(10))
    };
    let left = deadline.saturating_duration_since(Instant::now());
    // Load sent through the App's VPC workers also waits for their invocation (a cold start
    // included): that time is part of the slice's budget.
    let invoke = if st.worker_function_arn.is_some() {
        crate::load_test_gate::invoke_timeout_margin()
    } else {
        Duration::ZERO
    };
    let budget = left.saturating_sub(warm_up + AFTER_SLICE + invoke);
    if budget < Duration::from_secs(1) {
        // Every invocation would hit the same wall: fail clearly rather than loop.
        return Ok(HookAnswer::done(
            HookStatus::Failed,
            format!(
                "{} s left in this invocation is too little for a slice after the {} s warm-up: lower HookDetails.{SETTINGS_KEY}.WarmUp or raise the provider's timeout",
                left.as_secs(),
                warm_up.as_secs()
            ),
        ));
    }
    // At least a second, so a run a few milliseconds short still ends.
    let mut slice = total
        .saturating_sub(done)
        .max(Duration::from_secs(1))
        .min(budget);
    if let Some(cap) = st.slice_seconds {
        slice = slice.min(Duration::from_secs(cap));
    }
    let owner = format!("{}/{}", ev.execution_id, now_ms());
    // The lease covers this slice (warm-up, load, writing), not the whole invocation: an
    // invocation cut short frees the run for the next one that much sooner.
    let lease = now_ms() + ((warm_up + slice + invoke + AFTER_SLICE).as_millis() as u64);
    let held = async {
        if !store.claim(&key, rec.slices, &owner, lease).await? {
            // Someone else moved the run on: answer from what the record says now.
            return as_recorded(
                store,
                &key,
                ev,
                st,
                &rec,
                "another invocation holds the run",
            )
            .await;
        }
        let run = Slice {
            key: &key,
            owner: &owner,
            rec: rec.clone(),
            slice,
            warm_up,
            invoke,
            total,
        };
        run.run(clients, store, ev, st).await
    };
    // A write that fails (throttled past the SDK's retries, or an error returned after the
    // write took effect) or a call that hangs past the invocation's deadline would leave the
    // lease ours: give it back, so the next invocation runs the slice again now instead of
    // waiting for the lease to expire (the result of this one is lost either way). The claim is
    // inside: an error returned after the claim took effect leaves the lease ours too.
    let release_by = deadline.checked_sub(RELEASE_TIME).unwrap_or(deadline);
    match tokio::time::timeout_at(release_by, held).await {
        Ok(Ok(a)) => Ok(a),
        Ok(Err(e)) => {
            give_back(store, &key, &owner, deadline).await;
            Err(e)
        }
        Err(_) => {
            give_back(store, &key, &owner, deadline).await;
            Ok(super::answer::unfinished(
                ev,
                "a state table call did not return before the invocation's deadline; the next invocation carries on".into(),
            ))
        }
    }
}

/// Time kept before the deadline to give the lease back.
const RELEASE_TIME: Duration = Duration::from_secs(3);

/// Releases the lease (only if still `owner`'s), retrying throttling and server errors with
/// backoff until shortly before `deadline`
/// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html:
/// throttling and 5xx errors are to be retried).
async fn give_back(store: &HookStore, key: &str, owner: &str, deadline: Instant) {
    let until = deadline
        .checked_sub(Duration::from_millis(500))
        .unwrap_or(deadline);
    let mut wait = Duration::from_millis(100);
    let attempts = async {
        loop {
            match store.release(key, owner).await {
                Ok(_) => return,
                Err(e) if super::store::is_configuration_error(&e) => {
                    tracing::warn!(error = %e, "could not release the lease; it expires by itself");
                    return;
                }
                Err(e) => {
                    if Instant::now() + wait >= until {
                        tracing::warn!(error = %e, "could not release the lease; it expires by itself");
                        return;
                    }
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                }
            }
        }
    };
    if tokio::time::timeout_at(until, attempts).await.is_err() {
        tracing::warn!("releasing the lease did not return in time; it expires by itself");
    }
}

/// One slice, run while holding the lease.
struct Slice<'a> {
    key: &'a str,
    owner: &'a str,
    rec: Record,
    slice: Duration,
    warm_up: Duration,
    /// Time kept for the worker invocation around the load (zero without workers).
    invoke: Duration,
    total: Duration,
}

impl Slice<'_> {
    async fn run(
        self,
        clients: &Clients,
        store: &HookStore,
        ev: &HookEvent,
        st: &GateSettings,
    ) -> Result<HookAnswer, ProviderError> {
        let Slice {
            key,
            owner,
            rec,
            slice,
            warm_up,
            invoke,
            total,
        } = self;
        let measured = measure(clients, st, slice, warm_up, invoke).await;
        let mut merged = match &rec.report {
            Some(r) => RunState::decode(r).map_err(|e| {
                ProviderError::Exhausted(format!("record {key}: unreadable state: {e}"))
            })?,
            None => Report::empty(None),
        };
        let slice_report = match measured {
            Ok(r) => r,
            Err(e) => {
                let reason = format!("load test could not run: {e}");
                let a = HookAnswer::done(HookStatus::Failed, reason.clone());
                return settle(store, ev, st, key, owner, &rec, None, a).await;
            }
        };
        if slice_report.workers_failed > 0 {
            // A worker that failed or gave no reply fails the slice, and so the run: its load
            // is not known to have been sent (fail closed, never dropped).
            let verdict = judge(&slice_report, &st.thresholds);
            let a = HookAnswer::done(
                HookStatus::Failed,
                format!("load test: {}", verdict.summary),
            );
            return settle(store, ev, st, key, owner, &rec, None, a).await;
        }
        merged.append(&slice_report);
        let measured_ms = merged.elapsed.as_millis() as u64;
        let encoded = RunState::encode(&merged);
        // The engine measures its configured slice; allow a little scheduling slack.
        if measured_ms + 500 >= total.as_millis() as u64 {
            let verdict = judge(&merged, &st.thresholds);
            tracing::info!(
                revision = %ev.execution_details.target_service_revision_arn, stage = %ev.lifecycle_stage,
                passed = verdict.passed, slices = rec.slices + 1, requests = merged.sent, error_rate = merged.error_rate(),
                p50_ms = merged.percentile_ms(0.5), p90_ms = merged.percentile_ms(0.9), p99_ms = merged.percentile_ms(0.99),
                rps = merged.rps(), state_bytes = encoded.len(), summary = %verdict.summary, "lifecycle hook load-test result"
            );
            let status = if verdict.passed {
                HookStatus::Succeeded
            } else {
                HookStatus::Failed
            };
            let a = HookAnswer::done(status, format!("load test: {}", verdict.summary));
            return settle(
                store,
                ev,
                st,
                key,
                owner,
                &rec,
                Some((&merged, &encoded)),
                a,
            )
            .await;
        }
        if !store
            .commit(key, owner, rec.slices, measured_ms, &encoded)
            .await?
        {
            return as_recorded(store, key, ev, st, &rec, "lease lost; slice discarded").await;
        }
        let rec = Record {
            slices: rec.slices + 1,
            measured_ms,
            report: Some(encoded),
            lease_owner: None,
            lease_until_ms: None,
            ..rec
        };
        Ok(in_progress(
            ev,
            st,
            &rec,
            st.call_back_delay,
            format!(
                "slice {} done: {} of {} s measured",
                rec.slices,
                measured_ms / 1000,
                st.duration
            ),
        ))
    }
}

/// One slice's load: from this function, or through the App's VPC worker function (one
/// invocation, bounded by the slice's time plus `invoke`; the state table, ECS and
/// CloudFormation calls stay here).
async fn measure(
    clients: &Clients,
    st: &GateSettings,
    slice: Duration,
    warm_up: Duration,
    invoke: Duration,
) -> Result<Report, ProviderError> {
    let spec = st.spec(slice, warm_up, &[]);
    let Some(function) = &st.worker_function_arn else {
        return crate::load_test_gate::run_local(&spec).await;
    };
    let start = Instant::now();
    let answer_by = start + warm_up + slice + invoke;
    // A worker not ready yet (its network interfaces being recreated) is invoked again only
    // while the whole run still fits before `answer_by`.
    let retry_until = start + invoke / 2;
    let poll = clients.gate_timing.steady_poll;
    crate::load_test_gate::fan_out(clients, function, &spec, 1, retry_until, poll, answer_by).await
}

/// Writes a final answer; if another invocation got there first, answers what it wrote.
#[allow(clippy::too_many_arguments)]
async fn settle(
    store: &HookStore,
    ev: &HookEvent,
    st: &GateSettings,
    key: &str,
    owner: &str,
    rec: &Record,
    merged: Option<(&Report, &str)>,
    a: HookAnswer,
) -> Result<HookAnswer, ProviderError> {
    let measured = merged
        .map(|(r, _)| r.elapsed.as_millis() as u64)
        .unwrap_or(rec.measured_ms);
    if store
        .finish(
            key,
            owner,
            rec.slices,
            measured,
            merged.map(|(_, e)| e),
            a.status,
            &a.reason,
        )
        .await?
    {
        return Ok(a);
    }
    // The next invocation needs the settings back in `hookDetails`: ECS passes on only what
    // the last answer returned (lambda-lifecycle-hooks.html).
    as_recorded(
        store,
        key,
        ev,
        st,
        rec,
        "lease lost before the result was written; another invocation continues",
    )
    .await
}

/// The answer the record gives now (another invocation moved the run on): its final answer, or
/// IN_PROGRESS with the run's settings and progress.
async fn as_recorded(
    store: &HookStore,
    key: &str,
    ev: &HookEvent,
    st: &GateSettings,
    rec: &Record,
    why: &str,
) -> Result<HookAnswer, ProviderError> {
    let now = store.load(key).await?;
    let now = now.as_ref().unwrap_or(rec);
    Ok(final_answer(now)
        .unwrap_or_else(|| in_progress(ev, st, now, st.call_back_delay, why.into())))
}
