//! `Custom::FargateScalingCheck`: drive load at an App long enough for target tracking to act,
//! read the service's counts (ECS DescribeServices) while it runs, and fail the stack operation
//! when the desired count does not reach `ExpectDesired` within `Within` of the load's start (or,
//! with `ReturnWithin`, does not come back to `MinCapacity` within that long of its end). The
//! reason carries the timeline of desired/running/pending counts.
//!
//! When it runs: on Create, and on Update only when `Run` is `OnChange` and `RunToken` changed
//! (never on every deployment; never while the stack rolls back). A Delete never sends load.
//! One request's load is sent once however often it is delivered: the same once-record as the
//! load-test gate (keyed by the RequestId; a duplicate answers the recorded result).
//!
//! It must fit one invocation: the macro refuses a check whose `Within` plus `ReturnWithin` does
//! not fit a Lambda invocation (15 minutes:
//! https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html) and sets
//! `ServiceTimeout` to cover it; here a check that no longer fits the time left (a late retry)
//! is answered FAILED rather than shortened. An AWS error that is not transient fails it too
//! (fails closed), as does a load that cannot be sent.
//!
//! Timing facts it relies on: target tracking's high alarm needs 3 one-minute datapoints, its
//! scale-out shows as the service's `desiredCount` and the new tasks as `pendingCount` then
//! `runningCount` (https://docs.aws.amazon.com/autoscaling/application/userguide/target-tracking-scaling-policy-overview.html,
//! https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Service.html).

use crate::load_test_gate::{self, RunSpec};
use crate::request::{Request, RequestType};
use crate::respond::Outcome;
use crate::{Clients, ProviderError};
use fargate_loadtest::scaling::{counts, judge, secs, Counts, Expect, LoadStats, Read, Row, State};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

pub const RESOURCE_TYPE: &str = "Custom::FargateScalingCheck";
/// Time kept after the check for recording and answering.
const AFTER_CHECK: Duration = Duration::from_secs(5);
/// The reason's share of CloudFormation's 4,096-byte response body.
const REASON_BYTES: usize = 3000;

struct Props {
    spec: RunSpec,
    worker: Option<String>,
    cluster: String,
    service: String,
    expect: Expect,
    within: Duration,
    return_within: Option<Duration>,
    poll: Duration,
}

fn seconds(req: &Request, name: &'static str) -> Result<Option<u64>, ProviderError> {
    req.prop(name)
        .map(|s| {
            s.trim()
                .parse::<u64>()
                .map_err(|_| ProviderError::bad(name, format!("'{s}' is not whole seconds")))
        })
        .transpose()
}

fn parse(req: &Request) -> Result<Props, ProviderError> {
    let url = req.required("Url")?;
    let rate: f64 = req
        .required("Rate")?
        .trim()
        .parse()
        .ok()
        .filter(|r: &f64| *r > 0.0 && r.is_finite())
        .ok_or_else(|| ProviderError::bad("Rate", "a positive number of requests per second"))?;
    let duration = seconds(req, "Duration")?
        .filter(|d| *d > 0)
        .ok_or_else(|| ProviderError::bad("Duration", "required: seconds of load"))?;
    let int = |name: &'static str| -> Result<i32, ProviderError> {
        req.required(name)?
            .trim()
            .parse()
            .map_err(|_| ProviderError::bad(name, "a whole number"))
    };
    let expect_desired = int("ExpectDesired")?;
    let min = int("MinCapacity")?;
    if expect_desired <= min {
        return Err(ProviderError::bad(
            "ExpectDesired",
            format!("{expect_desired} is not above MinCapacity {min}: the service starts there"),
        ));
    }
    let within = Duration::from_secs(seconds(req, "Within")?.unwrap_or(duration + 120));
    let return_within = seconds(req, "ReturnWithin")?.map(Duration::from_secs);
    // When it runs is decided before parsing (`skip_update`); an unknown value is refused.
    match req.prop("Run").as_deref() {
        None | Some("OnCreate" | "OnChange") => {}
        Some(other) => {
            return Err(ProviderError::bad(
                "Run",
                format!("'{other}' is not OnCreate or OnChange"),
            ))
        }
    }
    let poll = Duration::from_secs(seconds(req, "PollSeconds")?.unwrap_or(15).max(1));
    Ok(Props {
        spec: RunSpec {
            url,
            method: "GET".into(),
            headers: Vec::new(),
            body: None,
            expected_status: 200,
            timeout_ms: 10_000,
            rate: Some(rate),
            concurrency: None,
            duration_ms: duration * 1000,
            warm_up_ms: 0,
            host: None,
        },
        worker: req.prop("WorkerFunctionArn").filter(|s| !s.is_empty()),
        cluster: req.required("Cluster")?,
        service: req.required("ServiceName")?,
        expect: Expect {
            desired: Some((expect_desired, within)),
            back_to_min: return_within.map(|w| (min, w)),
        },
        within,
        return_within,
        poll,
    })
}

/// Why an Update does not run the check (None: it runs).
fn skip_update(req: &Request) -> Option<String> {
    if req.prop("Run").as_deref() != Some("OnChange") {
        return Some("Run is OnCreate: the check ran when the resource was created".into());
    }
    if req.prop("RunToken") == req.old_prop("RunToken") {
        return Some("RunToken unchanged: the check runs again when it changes".into());
    }
    None
}

pub async fn handle(
    clients: Arc<Clients>,
    req: &Request,
    deadline: Instant,
) -> Result<Outcome, ProviderError> {
    let physical = req.physical_or("scaling-check");
    if req.request_type == RequestType::Delete {
        return Ok(Outcome::new(physical));
    }
    let answer_at = crate::respond::answer_by(deadline);
    if req.request_type == RequestType::Update {
        if let Some(why) = skip_update(req) {
            return Ok(Outcome::new(physical).with("Skipped", why));
        }
        if let Some(why) = load_test_gate::stack_status::check(
            &clients,
            &req.stack_id,
            answer_at,
            &clients.gate_timing,
        )
        .await?
        {
            return Ok(Outcome::new(physical).with("Skipped", why));
        }
    }
    let p = parse(req)?;
    let Some(store) = clients.state_store.clone() else {
        return check(&clients, &p, physical, answer_at).await;
    };
    let key = format!(
        "scaling#{}#{}#{}",
        req.stack_id, req.logical_resource_id, req.request_id
    );
    let run = || check(&clients, &p, physical.clone(), answer_at);
    crate::once::run_once(
        &store,
        &key,
        &physical,
        answer_at,
        p.poll,
        "scaling check",
        run,
    )
    .await
}

/// The service's counts; `Ok(None)` for a transient failure (throttling, no answer), `Err` for
/// anything else: a denial, a missing cluster or service (DescribeServices answers no service:
/// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeServices.html).
async fn read_counts(
    clients: &Clients,
    cluster: &str,
    service: &str,
) -> Result<Option<Counts>, ProviderError> {
    match clients.ecs_service(cluster, service).await {
        Ok(s) => Ok(Some(Counts {
            desired: s.desired_count(),
            running: s.running_count(),
            pending: s.pending_count(),
        })),
        Err(e) if e.is_transient() => Ok(None),
        Err(e) => Err(e),
    }
}

/// The timeline as the reason carries it: `time desired/running/pending` per read, the middle
/// left out when it would pass [`REASON_BYTES`].
pub fn timeline(rows: &[Row], budget: usize) -> String {
    let items: Vec<String> = rows
        .iter()
        .map(|r| match &r.read {
            Read::Counts(c) => format!("{} {}/{}/{}", secs(r.at), c.desired, c.running, c.pending),
            Read::Skipped(why) => format!("{} ({why})", secs(r.at)),
        })
        .collect();
    let all = items.join(", ");
    if all.len() <= budget {
        return format!("timeline (desired/running/pending): {all}");
    }
    let (mut head, mut tail) = (Vec::new(), Vec::new());
    let mut used = 0;
    for i in 0..items.len() {
        let (from_head, item) = if i % 2 == 0 {
            (true, &items[i / 2])
        } else {
            (false, &items[items.len() - 1 - i / 2])
        };
        if used + item.len() + 2 > budget.saturating_sub(100) {
            break;
        }
        used += item.len() + 2;
        if from_head {
            head.push(item.clone());
        } else {
            tail.push(item.clone());
        }
    }
    tail.reverse();
    let left_out = items.len() - head.len() - tail.len();
    format!(
        "timeline (desired/running/pending): {}, ... {left_out} reads left out ..., {}",
        head.join(", "),
        tail.join(", ")
    )
}

/// How long a throttled first read of the service waits before it reads again.
const FIRST_READ_RETRY: Duration = Duration::from_secs(1);

async fn check(
    clients: &Arc<Clients>,
    p: &Props,
    physical: String,
    answer_at: Instant,
) -> Result<Outcome, ProviderError> {
    let needed = p.within.max(Duration::from_millis(p.spec.duration_ms))
        + p.return_within.unwrap_or_default()
        + AFTER_CHECK;
    let left = answer_at.saturating_duration_since(Instant::now());
    if needed > left {
        return Err(ProviderError::Exhausted(format!(
            "the scaling check needs {} s (Within {} s{}), and only {} s are left before this request must be answered: it is not shortened",
            needed.as_secs(),
            p.within.as_secs(),
            p.return_within.map_or(String::new(), |r| format!(" + ReturnWithin {} s", r.as_secs())),
            left.as_secs()
        )));
    }
    // The first read before any load: a missing service or a denial fails without loading.
    // A throttled first read is read again (every second, while the check still fits), never
    // skipped: a load sent before the service is known to exist may hit a service that does
    // not (simulation, scaling family, 10,000 schedules: seeds 2192, 3016, 3886, 5675, 6527,
    // 9013 loaded a missing service after a throttled first DescribeServices).
    let first = loop {
        if let Some(c) = read_counts(clients, &p.cluster, &p.service).await? {
            break Read::Counts(c);
        }
        if Instant::now() + FIRST_READ_RETRY + needed > answer_at {
            return Err(ProviderError::Exhausted(
                "DescribeServices stayed throttled: the service's counts could not be read before the load, so no load was sent".into(),
            ));
        }
        tokio::time::sleep(FIRST_READ_RETRY).await;
    };
    let start = Instant::now();
    let mut rows = vec![Row {
        at: Duration::ZERO,
        read: first,
        load: None,
    }];
    let load = {
        let (clients, spec, worker) = (clients.clone(), p.spec.clone(), p.worker.clone());
        let poll = clients.gate_timing.steady_poll;
        let until = start + Duration::from_millis(spec.duration_ms) + AFTER_CHECK;
        tokio::spawn(async move {
            match worker {
                Some(f) => {
                    load_test_gate::fan_out(&clients, &f, &spec, 1, start, poll, until.max(start))
                        .await
                }
                None => load_test_gate::run_local(&spec).await,
            }
        })
    };
    let mut load = Some(load);
    let mut load_end: Option<Duration> = None;
    let mut report = None;
    let mut next = p.poll;
    loop {
        tokio::time::sleep_until(start + next).await;
        next += p.poll;
        if let Some(h) = load.as_ref().filter(|h| h.is_finished()) {
            let _ = h;
            let h = load.take().expect("present");
            let r = h
                .await
                .map_err(|e| ProviderError::Exhausted(format!("the load task ended: {e}")))??;
            load_end = Some(start.elapsed());
            report = Some(r);
        }
        let read = match read_counts(clients, &p.cluster, &p.service).await {
            Ok(Some(c)) => Read::Counts(c),
            Ok(None) => Read::Skipped("throttled".into()),
            Err(e) => {
                if let Some(h) = load.take() {
                    h.abort();
                }
                return Err(e);
            }
        };
        rows.push(Row {
            at: start.elapsed(),
            read,
            load: None,
        });
        let stats = report
            .as_ref()
            .map(|r: &fargate_loadtest::Report| LoadStats {
                rps: r.rps(),
                p99_ms: r.percentile(0.99),
                errors: r.errors(),
            });
        let load_line = stats.map_or(String::new(), |s| {
            format!(
                "; load {:.1} req/s, p99 {} ms, {} errors",
                s.rps,
                s.p99_ms.map_or("-".into(), |p| format!("{p:.0}")),
                s.errors
            )
        });
        match judge(&rows, &p.expect, start.elapsed(), load_end) {
            State::Waiting => {
                if Instant::now() + p.poll > answer_at {
                    if let Some(h) = load.take() {
                        h.abort();
                    }
                    return Err(ProviderError::Exhausted(format!(
                        "the scaling check ran out of time undecided{load_line}; {}",
                        timeline(&rows, REASON_BYTES)
                    )));
                }
            }
            State::Met(why) => {
                tracing::info!(reason = %why, "scaling check met");
                let top = counts(&rows).map(|(_, c)| c.desired).max().unwrap_or(0);
                let mut o = Outcome::new(physical)
                    .with("Result", format!("{why}{load_line}"))
                    .with("MaxDesired", top.to_string());
                if let Some(s) = stats {
                    o = o.with("Rps", format!("{:.1}", s.rps));
                }
                return Ok(o);
            }
            State::Missed(why) => {
                if let Some(h) = load.take() {
                    h.abort();
                }
                return Err(ProviderError::Exhausted(format!(
                    "scaling check missed: {why}{load_line}; {}",
                    timeline(&rows, REASON_BYTES)
                )));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_timeline_fits_the_reason() {
        let rows: Vec<Row> = (0..400)
            .map(|i| Row {
                at: Duration::from_secs(15 * i),
                read: Read::Counts(Counts {
                    desired: 1 + (i as i32 / 20).min(2),
                    running: 1,
                    pending: 0,
                }),
                load: None,
            })
            .collect();
        for n in [1usize, 10, 400] {
            let t = timeline(&rows[..n], REASON_BYTES);
            assert!(t.len() <= REASON_BYTES, "{n} rows: {} bytes", t.len());
            assert!(t.contains("0.0s 1/1/0"), "{t}");
            let last = &rows[n - 1];
            assert!(
                t.contains(&secs(last.at)),
                "{n} rows: the last read kept: {t}"
            );
        }
        assert!(timeline(&rows, REASON_BYTES).contains("reads left out"));
    }
}
