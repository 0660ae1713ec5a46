//! The engine as a bare load generator for the benchmark (`tests/bench-loadtest.sh`): the same
//! `fargate_loadtest::run` as `fargate-app loadtest --threads 1` (a current-thread runtime),
//! without building the whole CLI in release, and with a counting allocator that reports the
//! peak of live heap bytes, so memory per request in flight is measured in bytes allocated,
//! not only as RSS.
//! `loadgen URL (--concurrency N | --rate R) [--duration 10s] [--timeout 5s] [--max-connections N]`
//! prints one JSON object (`Requests`, `Rps`, `ElapsedS`, `DurationS`, `MaxInFlight`, `NotSent`,
//! `Completed`, `PeakHeapBytes`).

use fargate_loadtest::{Config, Model, Progress};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            let now = LIVE.fetch_add(l.size(), Ordering::Relaxed) + l.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            if new >= l.size() {
                let now = LIVE.fetch_add(new - l.size(), Ordering::Relaxed) + new - l.size();
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(l.size() - new, Ordering::Relaxed);
            }
        }
        q
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let url = args
        .first()
        .cloned()
        .expect("usage: loadgen URL (--concurrency N | --rate R) ...");
    let opt = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let dur = |name: &str, default: &str| {
        fargate_loadtest::parse_duration(&opt(name).unwrap_or_else(|| default.into()))
            .expect("a duration")
    };
    let model = match (opt("--rate"), opt("--concurrency")) {
        (Some(r), _) => Model::Rate(r.parse().expect("a rate")),
        (None, c) => Model::Concurrency(c.map_or(1, |c| c.parse().expect("a count"))),
    };
    let mut cfg = Config::new(&url, model, dur("--duration", "10s"));
    cfg.timeout = dur("--timeout", "5s");
    if let Some(m) = opt("--max-connections") {
        cfg.max_connections = m.parse().expect("a count");
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let before = LIVE.load(Ordering::Relaxed);
    let r = rt
        .block_on(fargate_loadtest::run(&cfg, Arc::new(Progress::default())))
        .expect("the run");
    let out = serde_json::json!({
        "Requests": r.sent, "Completed": r.completed(), "Ok": r.ok, "Rps": r.rps(),
        "Timeouts": r.timeouts, "ConnectionErrors": r.connection_errors,
        "ElapsedS": r.elapsed.as_secs_f64(), "DurationS": r.window.as_secs_f64(),
        "MaxInFlight": r.max_in_flight, "NotSent": r.not_sent,
        "PeakHeapBytes": PEAK.load(Ordering::Relaxed) - before,
    });
    println!("{out}");
}
