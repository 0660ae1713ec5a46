//! Running a load test: warm-up, then the open or closed model for the configured duration.

use crate::client::{Conn, Outcome, Target};
use crate::report::{new_histogram, Report};
use bytes::Bytes;
use hyper::Method;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Model {
    /// Requests per second, sent on schedule whatever the response times.
    Rate(f64),
    /// Parallel clients, each waiting for its answer before sending again.
    Concurrency(usize),
}

#[derive(Debug, Clone)]
pub struct Config {
    pub url: String,
    pub method: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    pub expected_status: u16,
    pub timeout: Duration,
    pub model: Model,
    pub duration: Duration,
    /// How long to wait for the target to answer with the expected status before measuring
    /// (zero: no warm-up).
    pub warm_up: Duration,
    /// The open model opens at most this many connections (requests beyond wait, and their
    /// wait counts in their latency).
    pub max_connections: usize,
}

impl Config {
    pub fn new(url: &str, model: Model, duration: Duration) -> Self {
        Config {
            url: url.to_string(),
            method: "GET".into(),
            headers: Vec::new(),
            body: None,
            expected_status: 200,
            timeout: Duration::from_secs(5),
            model,
            duration,
            warm_up: Duration::ZERO,
            max_connections: 2000,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EngineError {
    #[error("invalid URL '{url}': {reason}")]
    BadUrl { url: String, reason: String },
    #[error("cannot resolve {host}: {reason}")]
    Resolve { host: String, reason: String },
    #[error("the target did not answer {expected} within the {waited_s} s warm-up (last: {last})")]
    NotReady {
        expected: u16,
        waited_s: u64,
        last: String,
    },
    #[error("invalid setting {name}: {reason}")]
    BadSetting { name: &'static str, reason: String },
}

/// Live counters, for a progress bar.
#[derive(Debug, Default)]
pub struct Progress {
    pub sent: AtomicU64,
    pub ok: AtomicU64,
    pub errors: AtomicU64,
    /// Set once the warm-up is over and measuring starts.
    pub measuring: std::sync::atomic::AtomicBool,
}

async fn prepare(cfg: &Config) -> Result<(Target, Option<reqwest::Client>), EngineError> {
    let bad = |reason: &str| EngineError::BadUrl {
        url: cfg.url.clone(),
        reason: reason.to_string(),
    };
    let uri: hyper::Uri = cfg
        .url
        .parse()
        .map_err(|e: hyper::http::uri::InvalidUri| bad(&e.to_string()))?;
    let https = match uri.scheme_str() {
        Some("http") => false,
        Some("https") => true,
        _ => return Err(bad("the scheme must be http or https")),
    };
    let host = uri.host().ok_or_else(|| bad("no host"))?.to_string();
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let method =
        Method::from_bytes(cfg.method.as_bytes()).map_err(|e| EngineError::BadSetting {
            name: "Method",
            reason: e.to_string(),
        })?;
    if let Model::Rate(r) = cfg.model {
        if !(r > 0.0 && r.is_finite()) {
            return Err(EngineError::BadSetting {
                name: "Rate",
                reason: format!("{r} is not a positive rate"),
            });
        }
    }
    if let Model::Concurrency(0) = cfg.model {
        return Err(EngineError::BadSetting {
            name: "Concurrency",
            reason: "must be at least 1".into(),
        });
    }
    let addr = if https {
        None
    } else {
        let found = tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| EngineError::Resolve {
                host: host.clone(),
                reason: e.to_string(),
            })?;
        let mut addrs: Vec<_> = found.collect();
        addrs.sort_by_key(|a| !a.is_ipv4());
        Some(*addrs.first().ok_or_else(|| EngineError::Resolve {
            host: host.clone(),
            reason: "no address".into(),
        })?)
    };
    let host_header = match uri.port_u16() {
        Some(p) => format!("{host}:{p}"),
        None => host.clone(),
    };
    let path = uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let tls = https.then(|| {
        reqwest::Client::builder()
            .timeout(cfg.timeout)
            .pool_max_idle_per_host(cfg.max_connections)
            .build()
            .expect("TLS backend available")
    });
    Ok((
        Target {
            method,
            url: cfg.url.clone(),
            https,
            host_header,
            path,
            addr,
            headers: cfg.headers.clone(),
            body: Bytes::from(cfg.body.clone().unwrap_or_default()),
            timeout: cfg.timeout,
        },
        tls,
    ))
}

/// Waits until the target answers with the expected status (bounded by `cfg.warm_up`).
async fn warm_up(
    cfg: &Config,
    t: &Target,
    tls: &Option<reqwest::Client>,
) -> Result<(), EngineError> {
    if cfg.warm_up.is_zero() {
        return Ok(());
    }
    let start = Instant::now();
    loop {
        let mut conn = Conn::new(t, tls);
        let last = match conn.send(t).await {
            Outcome::Status(s) if s == cfg.expected_status => return Ok(()),
            Outcome::Status(s) => format!("status {s}"),
            Outcome::Timeout => "timeout".to_string(),
            Outcome::Connection => "connection error".to_string(),
        };
        if start.elapsed() + Duration::from_millis(500) >= cfg.warm_up {
            return Err(EngineError::NotReady {
                expected: cfg.expected_status,
                waited_s: cfg.warm_up.as_secs(),
                last,
            });
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[derive(Default)]
struct Tally {
    sent: u64,
    ok: u64,
    status_errors: u64,
    timeouts: u64,
    connection_errors: u64,
}

impl Tally {
    fn add(&mut self, o: Outcome, expected: u16, progress: &Progress) {
        match o {
            Outcome::Status(s) if s == expected => {
                self.ok += 1;
                progress.ok.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Outcome::Status(_) => self.status_errors += 1,
            Outcome::Timeout => self.timeouts += 1,
            Outcome::Connection => self.connection_errors += 1,
        }
        progress.errors.fetch_add(1, Ordering::Relaxed);
    }
    fn merge_into(&self, r: &mut Report) {
        r.sent += self.sent;
        r.ok += self.ok;
        r.status_errors += self.status_errors;
        r.timeouts += self.timeouts;
        r.connection_errors += self.connection_errors;
    }
}

/// Runs the load test. The runtime is the caller's (a current-thread runtime pins the engine
/// to one core).
pub async fn run(cfg: &Config, progress: Arc<Progress>) -> Result<Report, EngineError> {
    let (target, tls) = prepare(cfg).await?;
    warm_up(cfg, &target, &tls).await?;
    progress.measuring.store(true, Ordering::Relaxed);
    let target = Arc::new(target);
    match cfg.model {
        Model::Concurrency(n) => Ok(closed(cfg, target, tls, n, progress).await),
        Model::Rate(rate) => Ok(open(cfg, target, tls, rate, progress).await),
    }
}

async fn closed(
    cfg: &Config,
    t: Arc<Target>,
    tls: Option<reqwest::Client>,
    n: usize,
    progress: Arc<Progress>,
) -> Report {
    let start = Instant::now();
    let end = start + cfg.duration;
    let mut tasks = Vec::with_capacity(n);
    for _ in 0..n {
        let t = t.clone();
        let tls = tls.clone();
        let progress = progress.clone();
        let expected = cfg.expected_status;
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::new(&t, &tls);
            let mut hist = new_histogram();
            let mut tally = Tally::default();
            while Instant::now() < end {
                let sent_at = Instant::now();
                tally.sent += 1;
                progress.sent.fetch_add(1, Ordering::Relaxed);
                let o = conn.send(&t).await;
                if let Outcome::Status(_) = o {
                    hist.saturating_record(sent_at.elapsed().as_micros().max(1) as u64);
                }
                tally.add(o, expected, &progress);
                if matches!(o, Outcome::Connection) {
                    // Do not spin on a refused connection.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
            (hist, tally)
        }));
    }
    let mut report = Report::empty(None);
    for task in tasks {
        if let Ok((hist, tally)) = task.await {
            let _ = report.latency.add(&hist);
            tally.merge_into(&mut report);
        }
    }
    report.elapsed = start.elapsed();
    report
}

async fn open(
    cfg: &Config,
    t: Arc<Target>,
    tls: Option<reqwest::Client>,
    rate: f64,
    progress: Arc<Progress>,
) -> Report {
    let start = Instant::now();
    let total = (rate * cfg.duration.as_secs_f64()).round() as u64;
    let interval = Duration::from_secs_f64(1.0 / rate);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Instant>();
    // The scheduler: a thread that sleeps to each intended send time (nanosleep precision,
    // well under a millisecond), independent of the async runtime's 1 ms timer wheel.
    let scheduler = std::thread::spawn(move || {
        for i in 0..total {
            let intended = start + interval.mul_f64(i as f64);
            let now = Instant::now();
            if intended > now {
                std::thread::sleep(intended - now);
            }
            if tx.send(intended).is_err() {
                return;
            }
        }
    });
    let pool: Arc<Mutex<Vec<Conn>>> = Arc::new(Mutex::new(Vec::new()));
    let permits = Arc::new(tokio::sync::Semaphore::new(cfg.max_connections.max(1)));
    let shared = Arc::new(Mutex::new((new_histogram(), Tally::default())));
    let mut inflight = tokio::task::JoinSet::new();
    while let Some(intended) = rx.recv().await {
        let (t, tls, pool, permits, shared, progress) = (
            t.clone(),
            tls.clone(),
            pool.clone(),
            permits.clone(),
            shared.clone(),
            progress.clone(),
        );
        let expected = cfg.expected_status;
        progress.sent.fetch_add(1, Ordering::Relaxed);
        inflight.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let popped = pool.lock().unwrap().pop();
            let mut conn = popped.unwrap_or_else(|| Conn::new(&t, &tls));
            let o = conn.send(&t).await;
            // Measured from the intended send time: waiting for a connection or a slow target
            // is latency the user would have seen.
            let latency = intended.elapsed().as_micros().max(1) as u64;
            pool.lock().unwrap().push(conn);
            let mut g = shared.lock().unwrap();
            g.1.sent += 1;
            if let Outcome::Status(_) = o {
                g.0.saturating_record(latency);
            }
            g.1.add(o, expected, &progress);
        });
        while inflight.try_join_next().is_some() {}
    }
    let _ = scheduler.join();
    let sent_window = start.elapsed();
    while inflight.join_next().await.is_some() {}
    let mut report = Report::empty(Some(rate));
    let g = shared.lock().unwrap();
    let _ = report.latency.add(&g.0);
    g.1.merge_into(&mut report);
    // Rates are over the sending window; the tail of in-flight answers is not idle time.
    report.elapsed = sent_window.max(cfg.duration);
    report
}
