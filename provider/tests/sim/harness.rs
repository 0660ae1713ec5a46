//! Runs schedules: one seed -> one paused-clock runtime -> violations of the invariants.
//! `SIM_SEED=<n>` replays one seed; `SIM_SCHEDULES=<n>` sets how many seeds each family runs;
//! `SIM_FAMILY=gate` (or `gate,failover`) runs only those families. A run prints its progress
//! every 1,000 schedules.
#![allow(dead_code)]

use super::world::{Fault, World};
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::{Arc, Mutex};

/// One broken invariant.
#[derive(Debug, Clone)]
pub struct Violation {
    pub invariant: &'static str,
    pub detail: String,
}

pub fn violation(invariant: &'static str, detail: impl Into<String>) -> Violation {
    Violation {
        invariant,
        detail: detail.into(),
    }
}

/// What one schedule produced.
pub struct Outcome {
    pub violations: Vec<Violation>,
    pub faults: BTreeMap<Fault, u64>,
    pub world: Arc<Mutex<World>>,
}

/// Log lines of one schedule (to check that no signed URL is written).
#[derive(Clone, Default)]
pub struct LogBuf(pub Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogBuf {
    type Writer = LogBuf;
    fn make_writer(&'a self) -> LogBuf {
        self.clone()
    }
}

impl LogBuf {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).to_string()
    }
}

/// Runs `schedule(seed, logs)` on a current-thread runtime with the clock paused: the same
/// seed gives the same interleaving and the same virtual times.
pub fn run_one<F, Fut>(seed: u64, schedule: F) -> Outcome
where
    F: FnOnce(u64, LogBuf) -> Fut,
    Fut: Future<Output = (Vec<Violation>, Arc<Mutex<World>>)>,
{
    let logs = LogBuf::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::DEBUG)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("runtime");
    let (mut violations, world) = rt.block_on(schedule(seed, logs.clone()));
    let text = logs.text();
    if text.contains("X-Amz-Signature") || text.contains("sim-signature") {
        violations.push(violation(
            "cr.no_signed_url_in_logs",
            "a log line holds the ResponseURL's signature",
        ));
    }
    let faults = world.lock().unwrap().faults.clone();
    Outcome {
        violations,
        faults,
        world,
    }
}

/// Invariants known to fail because of an issue 18 section 3 defect (`sim_known.txt`).
pub fn known() -> BTreeSet<String> {
    let text = include_str!("../sim_known.txt");
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

/// Runs a family's schedules; panics on a violation not in `sim_known.txt`, printing its seed.
/// Returns the first seed seen for each invariant (known or not).
pub fn run_family<F, Fut>(family: &str, default_count: u64, schedule: F) -> BTreeMap<String, u64>
where
    F: Fn(u64, LogBuf) -> Fut,
    Fut: Future<Output = (Vec<Violation>, Arc<Mutex<World>>)>,
{
    if let Ok(only) = std::env::var("SIM_FAMILY") {
        if !only.split(',').any(|f| f.trim() == family) {
            eprintln!("[sim {family}] skipped (SIM_FAMILY={only})");
            return BTreeMap::new();
        }
    }
    let seeds: Vec<u64> = match env_u64("SIM_SEED") {
        Some(s) => vec![s],
        None => (0..env_u64("SIM_SCHEDULES").unwrap_or(default_count)).collect(),
    };
    let known = known();
    let started = std::time::Instant::now();
    let mut first_seed: BTreeMap<String, u64> = BTreeMap::new();
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut faults: BTreeMap<Fault, u64> = BTreeMap::new();
    let mut unknown = Vec::new();
    for (done, &seed) in seeds.iter().enumerate() {
        if done > 0 && done % 1000 == 0 {
            eprintln!(
                "[sim {family}] progress: {done} of {} schedules in {:.1} s; violations so far {counts:?}",
                seeds.len(),
                started.elapsed().as_secs_f64(),
            );
        }
        let out = run_one(seed, &schedule);
        if std::env::var("SIM_LIST").is_ok() {
            eprintln!(
                "[sim {family}] seed {seed}: faults {:?}; {} violations",
                out.faults,
                out.violations.len()
            );
        }
        for (f, n) in &out.faults {
            *faults.entry(*f).or_default() += n;
        }
        for v in out.violations {
            *counts.entry(v.invariant.to_string()).or_default() += 1;
            if !first_seed.contains_key(v.invariant) {
                eprintln!(
                    "[sim {family}] seed {seed}: {} violated: {} (faults {:?}; replay: SIM_SEED={seed})",
                    v.invariant, v.detail, out.faults
                );
                first_seed.insert(v.invariant.to_string(), seed);
            }
            if !known.contains(v.invariant) {
                unknown.push(format!(
                    "seed {seed}: {}: {} (replay: SIM_SEED={seed})",
                    v.invariant, v.detail
                ));
            }
        }
    }
    eprintln!(
        "[sim {family}] {} schedules in {:.1} s; faults {:?}; violations by invariant {:?}",
        seeds.len(),
        started.elapsed().as_secs_f64(),
        faults,
        counts
    );
    assert!(
        unknown.is_empty(),
        "invariants violated that sim_known.txt does not list:\n{}",
        unknown.join("\n")
    );
    first_seed
}
