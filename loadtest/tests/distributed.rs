//! Issue 22: the gate's `Workers` fan-out at the scale it exists for, simulated locally. Twenty
//! processes each run what a Lambda worker runs (the engine, then its wire report; see
//! `src/bin/worker.rs`), their replies are merged, and the result is compared with the same
//! requests sent from one process. A worker that fails or times out is counted, never dropped.

use fargate_loadtest::report::WorkerReply;
use fargate_loadtest::target::{start, Behaviour, TargetServer};
use fargate_loadtest::{judge, merge_workers, run, Config, Model, Report, Thresholds};
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

const WORKERS: usize = 20;
/// Requests per worker: 50 in `cargo test`; `DISTRIBUTED_PER_WORKER=500` for a larger run.
fn per_worker() -> u64 {
    std::env::var("DISTRIBUTED_PER_WORKER")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(50)
}
/// One request in 20 is this much slower (the target counts arrivals, so the same requests are
/// slow however they are spread over workers), one in 25 answers 500.
const SLOW: Duration = Duration::from_millis(400);

async fn target() -> TargetServer {
    start(
        Behaviour {
            slow_every: Some((20, SLOW)),
            error_every: Some(25),
            ..Default::default()
        },
        0,
    )
    .await
    .unwrap()
}

/// Starts one worker process per run, waits for each until `deadline` (then kills it: a worker
/// Lambda timed out), and returns each reply or why there is none.
fn fan_out(runs: Vec<serde_json::Value>, deadline: Duration) -> Vec<Result<WorkerReply, String>> {
    let children: Vec<_> = runs
        .iter()
        .map(|run| {
            Command::new(env!("CARGO_BIN_EXE_fargate-loadtest-worker"))
                .arg(run.to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let until = Instant::now() + deadline;
    children
        .into_iter()
        .map(|mut child| loop {
            match child.try_wait().unwrap() {
                Some(_) => {
                    let out = child.wait_with_output().unwrap();
                    return serde_json::from_slice::<WorkerReply>(&out.stdout)
                        .map_err(|e| format!("unreadable reply: {e}"));
                }
                None if Instant::now() >= until => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!("timed out after {}s", deadline.as_secs()));
                }
                None => std::thread::sleep(Duration::from_millis(20)),
            }
        })
        .collect()
}

fn run_spec(url: &str, requests: u64) -> serde_json::Value {
    serde_json::json!({
        "Url": url, "Concurrency": 1, "Requests": requests,
        "DurationMs": 60_000, "TimeoutMs": 5_000,
    })
}

/// The counts a merge must keep exactly.
fn counts(r: &Report) -> impl PartialEq + std::fmt::Debug {
    (
        (
            r.sent,
            r.ok,
            r.status_errors,
            r.timeouts,
            r.connection_errors,
        ),
        r.statuses.clone(),
        r.reasons.clone(),
        r.bytes_received,
        r.latency.len(),
        // The slow tail, counted in the histogram.
        r.latency
            .count_between(SLOW.as_micros() as u64, r.latency.max()),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_workers_merge_into_the_counts_and_percentiles_of_one_process() {
    let per_worker = per_worker();
    let total = WORKERS as u64 * per_worker;
    // One process: the same number of requests, as many clients, to an identical target.
    let single_target = target().await;
    let mut cfg = Config::new(
        &single_target.url("/"),
        Model::Concurrency(WORKERS),
        Duration::from_secs(60),
    );
    cfg.requests = Some(total);
    let started = Instant::now();
    let single = run(&cfg, Arc::default()).await.unwrap();
    let single_wall = started.elapsed();

    let fan_target = target().await;
    let url = fan_target.url("/");
    let started = Instant::now();
    let replies = tokio::task::spawn_blocking(move || {
        fan_out(
            (0..WORKERS).map(|_| run_spec(&url, per_worker)).collect(),
            Duration::from_secs(120),
        )
    })
    .await
    .unwrap();
    let fan_wall = started.elapsed();
    let merged = merge_workers(WORKERS, replies);

    assert_eq!(
        (merged.workers_answered, merged.workers_failed),
        (WORKERS as u64, 0),
        "{:?}",
        merged.worker_errors
    );
    assert_eq!(
        fan_target.requests.load(Ordering::Relaxed),
        total,
        "the target saw every request once"
    );
    assert_eq!(counts(&merged), counts(&single));
    // total / 25 errors and total / 20 slow answers, wherever they fell; every answer's body
    // is `ok` (2 bytes).
    assert_eq!(merged.statuses.get(&500), Some(&(total / 25)));
    assert_eq!(merged.bytes_received, 2 * total);
    assert_eq!(
        merged
            .latency
            .count_between(SLOW.as_micros() as u64, merged.latency.max()),
        total / 20
    );
    // Percentiles: the same class of request decides each one in both reports (fast below
    // p95, the slow tail from p95.1 up), and each percentile of the merge is that of the
    // workers' histograms recorded in one (within the histogram's precision, here exactly).
    let mut one = fargate_loadtest::report::new_histogram();
    for v in merged.latency.iter_recorded() {
        one.record_n(v.value_iterated_to(), v.count_at_value())
            .unwrap();
    }
    for q in [0.5, 0.9, 0.95, 0.951, 0.99, 0.999, 1.0] {
        let (m, s) = (
            merged.latency.value_at_quantile(q),
            single.latency.value_at_quantile(q),
        );
        let slow = SLOW.as_micros() as u64;
        assert_eq!(
            (m >= slow, s >= slow),
            (q > 0.95, q > 0.95),
            "q {q}: {m} vs {s} us"
        );
        assert!(
            merged.latency.equivalent(m, one.value_at_quantile(q)),
            "q {q}"
        );
    }
    assert!(
        judge(&merged, &Thresholds::defaults().with_defaults())
            .misses
            .len()
            <= 1
    );
    eprintln!(
        "{WORKERS} workers x {per_worker} requests: merged in {:.2} s wall (one process: {:.2} s); \
         p50 {:.2}/{:.2} ms, p99 {:.1}/{:.1} ms, p99.9 {:.1}/{:.1} ms (merged/one process)",
        fan_wall.as_secs_f64(),
        single_wall.as_secs_f64(),
        merged.percentile_ms(0.5),
        single.percentile_ms(0.5),
        merged.percentile_ms(0.99),
        single.percentile_ms(0.99),
        merged.percentile_ms(0.999),
        single.percentile_ms(0.999),
    );
}

/// A worker that fails (an engine error) and one that never ends (killed at the deadline, as
/// Lambda ends an invocation at its timeout) are counted with their reasons and fail the
/// verdict; the others' requests are all merged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_and_a_timed_out_worker_are_counted_never_dropped() {
    let good = target().await;
    let stalled = start(
        Behaviour {
            stall: true,
            ..Default::default()
        },
        0,
    )
    .await
    .unwrap();
    let mut runs: Vec<_> = (0..WORKERS).map(|_| run_spec(&good.url("/"), 5)).collect();
    runs[7] = run_spec("ftp://nowhere/", 5);
    runs[13] = serde_json::json!({
        "Url": stalled.url("/"), "Concurrency": 1, "DurationMs": 60_000, "TimeoutMs": 60_000,
    });
    let replies = tokio::task::spawn_blocking(move || fan_out(runs, Duration::from_secs(8)))
        .await
        .unwrap();
    let merged = merge_workers(WORKERS, replies);
    assert_eq!(
        (merged.workers_answered, merged.workers_failed),
        (WORKERS as u64 - 2, 2)
    );
    assert_eq!(
        merged.worker_errors.keys().collect::<Vec<_>>(),
        [
            "failed: invalid URL 'ftp://nowhere/': the scheme must be http or https",
            "timed out after 8s"
        ]
    );
    assert_eq!(merged.sent, 5 * (WORKERS as u64 - 2));
    assert_eq!(good.requests.load(Ordering::Relaxed), merged.sent);
    let v = judge(&merged, &Thresholds::defaults());
    assert!(!v.passed);
    assert!(
        v.summary
            .starts_with("2 of 20 load workers returned no report (1 x failed: invalid URL"),
        "{}",
        v.summary
    );
}
