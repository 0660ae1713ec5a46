//! A small HTTP server to aim load at on loopback: the tests' targets and the benchmark's.
//! It can answer at once, after a delay, slower and slower, with a share of errors, or never.

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

#[derive(Debug, Clone, Default)]
pub struct Behaviour {
    /// Wait this long before answering.
    pub delay: Duration,
    /// Add this much delay per second since the server started (a target slowing down).
    pub slow_down_per_s: Duration,
    /// Answer 500 to one request in this many (20 is 5%).
    pub error_every: Option<u64>,
    /// Never answer.
    pub stall: bool,
    /// Never answer one request in this many (10 is 10%).
    pub stall_every: Option<u64>,
    /// Handle at most this many requests at once (with `delay`, a capacity of
    /// `max_concurrent / delay` requests per second); the rest wait their turn.
    pub max_concurrent: Option<usize>,
    /// Answer 503 until this long after start (a service still starting).
    pub unavailable_for: Duration,
    /// Delay one request in this many (by its arrival number) this much more: a slow tail that
    /// is the same however the requests are spread over clients.
    pub slow_every: Option<(u64, Duration)>,
}

pub struct TargetServer {
    pub addr: SocketAddr,
    pub requests: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl TargetServer {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for TargetServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts a server on 127.0.0.1 (port chosen by the system, or `port`).
pub async fn start(b: Behaviour, port: u16) -> std::io::Result<TargetServer> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    let requests = Arc::new(AtomicU64::new(0));
    let counter = requests.clone();
    let started = Instant::now();
    let b = Arc::new(b);
    let slots = Arc::new(tokio::sync::Semaphore::new(
        b.max_concurrent
            .unwrap_or(tokio::sync::Semaphore::MAX_PERMITS),
    ));
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let (b, counter, slots) = (b.clone(), counter.clone(), slots.clone());
            tokio::spawn(async move {
                let svc = service_fn(move |_req| {
                    let (b, counter, slots) = (b.clone(), counter.clone(), slots.clone());
                    async move {
                        let n = counter.fetch_add(1, Ordering::Relaxed) + 1;
                        if b.stall || b.stall_every.is_some_and(|k| n % k == 0) {
                            std::future::pending::<()>().await;
                        }
                        let _slot = slots.acquire().await;
                        let mut delay =
                            b.delay + b.slow_down_per_s.mul_f64(started.elapsed().as_secs_f64());
                        if let Some((_, extra)) = b.slow_every.filter(|(k, _)| n % k == 0) {
                            delay += extra;
                        }
                        if !delay.is_zero() {
                            tokio::time::sleep(delay).await;
                        }
                        let status = if started.elapsed() < b.unavailable_for {
                            StatusCode::SERVICE_UNAVAILABLE
                        } else if b.error_every.is_some_and(|k| n % k == 0) {
                            StatusCode::INTERNAL_SERVER_ERROR
                        } else {
                            StatusCode::OK
                        };
                        let mut r = Response::new(Full::new(Bytes::from_static(b"ok")));
                        *r.status_mut() = status;
                        Ok::<_, Infallible>(r)
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    Ok(TargetServer {
        addr,
        requests,
        task,
    })
}
