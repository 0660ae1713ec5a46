//! A local HTTP target for trying the engine and for the benchmark:
//! `cargo run --release -p fargate-app-loadtest --example target -- PORT [DELAY_MS] [ERROR_EVERY]`
//! (`MAX_CONCURRENT=N` handles at most N requests at once: a capacity of N / DELAY).

use fargate_loadtest::target::{start, Behaviour};
use std::time::Duration;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let port: u16 = args.first().and_then(|a| a.parse().ok()).unwrap_or(8080);
    let delay = Duration::from_millis(args.get(1).and_then(|a| a.parse().ok()).unwrap_or(0));
    let error_every = args.get(2).and_then(|a| a.parse().ok());
    let threads = std::env::var("TARGET_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(1);
    let max_concurrent = std::env::var("MAX_CONCURRENT")
        .ok()
        .and_then(|t| t.parse().ok());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let server = start(
            Behaviour {
                delay,
                error_every,
                max_concurrent,
                ..Default::default()
            },
            port,
        )
        .await
        .expect("bind");
        eprintln!("target listening on {}", server.url("/"));
        std::future::pending::<()>().await;
    });
}
