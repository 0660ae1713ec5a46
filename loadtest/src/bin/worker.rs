//! One load worker as a process: reads a run (JSON, the first argument), runs the engine and
//! prints what the provider's Lambda worker returns for a `Workers` fan-out share: the engine's
//! report in its wire form, or the error (`{"Report": ...}` or `{"Error": "..."}`). The
//! distributed test starts 20 of these to prove the merge at the scale the gate fans out to.

use fargate_loadtest::report::WorkerReply;
use fargate_loadtest::{Config, Model, Progress};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

/// The provider's `RunSpec` fields the engine needs, plus `Requests` (stop after N).
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Run {
    url: String,
    rate: Option<f64>,
    concurrency: Option<usize>,
    requests: Option<u64>,
    duration_ms: u64,
    timeout_ms: u64,
}

fn main() {
    let arg = std::env::args().nth(1).unwrap_or_default();
    let reply = match serde_json::from_str::<Run>(&arg) {
        Ok(run) => work(run),
        Err(e) => WorkerReply::of(Err(format!("unreadable run: {e}"))),
    };
    println!("{}", serde_json::to_string(&reply).expect("serialisable"));
}

fn work(run: Run) -> WorkerReply {
    let model = match (run.rate, run.concurrency) {
        (Some(r), _) => Model::Rate(r),
        (None, c) => Model::Concurrency(c.unwrap_or(1)),
    };
    let mut cfg = Config::new(&run.url, model, Duration::from_millis(run.duration_ms));
    cfg.timeout = Duration::from_millis(run.timeout_ms);
    cfg.requests = run.requests;
    // Lambda's runtime is a multi-threaded tokio runtime; one thread each keeps 20 workers
    // from crowding a small machine.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    WorkerReply::of(rt.block_on(fargate_loadtest::run(&cfg, Arc::new(Progress::default()))))
}
