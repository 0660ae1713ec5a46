//! Running a load test: warm-up, then the open or closed model for the configured duration.

use crate::client::Tls;
use crate::client::{Conn, Outcome, Target};
use crate::report::{count_reason, Report};
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
    /// Per request, counted in the open model from the request's intended send time.
    pub timeout: Duration,
    pub model: Model,
    pub duration: Duration,
    /// How long to wait for the target to answer with the expected status before measuring
    /// (zero: no warm-up).
    pub warm_up: Duration,
    /// At most this many connections. In the open model a request that finds none free waits
    /// for one (the wait counts in its latency); when as many requests already wait, it is not
    /// sent and is counted in `Report::not_sent`. So at most `2 x max_connections` requests are
    /// in flight, and memory stays flat however slow the target.
    pub max_connections: usize,
    /// Connect to this `HOST:PORT` (or `HOST`, keeping the URL's port) instead of the URL's
    /// host, still presenting the URL's host name in TLS (SNI) and in `Host`, like curl's
    /// `--connect-to`: an ALB reached by its DNS name while the certificate is for the app's.
    /// curl's own form `HOST1:PORT1:HOST2:PORT2` is taken too (see [`connect_address`]).
    pub connect_to: Option<String>,
    /// PEM certificates trusted for HTTPS besides the public web PKI roots.
    pub extra_root_certs_pem: Option<String>,
    /// Stop after this many requests were sent (both models); `duration` still bounds the run.
    pub requests: Option<u64>,
    /// Accept any server certificate (self-signed targets), like curl's `-k`. Off by default.
    pub insecure: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            url: String::new(),
            method: "GET".into(),
            headers: Vec::new(),
            body: None,
            expected_status: 200,
            timeout: Duration::from_secs(5),
            model: Model::Concurrency(1),
            duration: Duration::from_secs(10),
            warm_up: Duration::ZERO,
            max_connections: 2000,
            connect_to: None,
            extra_root_certs_pem: None,
            requests: None,
            insecure: false,
        }
    }
}

impl Config {
    pub fn new(url: &str, model: Model, duration: Duration) -> Self {
        Config {
            url: url.to_string(),
            model,
            duration,
            ..Default::default()
        }
    }
}

/// Parses a duration: a bare number of seconds (`60`, `1.5`, as the template's `Duration: 60`)
/// or a number with its unit (`250ms`, `90s`, `2m`, `1h`, `1m 30s`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let bad = || format!("'{s}' is not a duration: write 60 (seconds), 60s, 2m or 250ms");
    if s.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && s.chars().all(|c| c.is_ascii_digit() || c == '.')
    {
        let secs: f64 = s.parse().map_err(|_| bad())?;
        return Duration::try_from_secs_f64(secs).map_err(|_| bad());
    }
    humantime::parse_duration(s).map_err(|_| bad())
}

/// [`parse_duration`], then checks `range`; the error names `what` and the bounds
/// (`8days is out of range: the duration is 1ms to 7days`).
pub fn parse_duration_in(
    s: &str,
    what: &str,
    range: std::ops::RangeInclusive<Duration>,
) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if range.contains(&d) {
        return Ok(d);
    }
    let f = humantime::format_duration;
    Err(format!(
        "{} is out of range: {what} is {} to {}",
        f(d),
        f(*range.start()),
        f(*range.end())
    ))
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

fn tls_connector(cfg: &Config) -> Result<tokio_rustls::TlsConnector, EngineError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let bad = |reason: String| EngineError::BadSetting {
        name: "extra root certificates",
        reason,
    };
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(pem) = &cfg.extra_root_certs_pem {
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            let cert = cert.map_err(|e| bad(format!("not PEM: {e}")))?;
            roots.add(cert).map_err(|e| bad(e.to_string()))?;
            added += 1;
        }
        if added == 0 {
            return Err(bad("no CERTIFICATE block in the PEM text".into()));
        }
    }
    // One provider named explicitly: the workspace links both ring and aws-lc-rs.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(e.to_string()))?;
    let mut tls = if cfg.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
            .with_no_client_auth()
    } else {
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsConnector::from(Arc::new(tls)))
}

/// `--insecure`: accepts any certificate chain and name, still checking that the server holds
/// the key it presents (the handshake's signatures), as curl's `-k` does.
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Splits on the colons outside `[...]` (IPv6 addresses are written in brackets).
fn colon_fields(s: &str) -> Vec<&str> {
    let (mut out, mut start, mut depth) = (Vec::new(), 0, 0i32);
    for (i, c) in s.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            ':' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

fn port_in(p: &str, rule: &str) -> Result<u16, String> {
    p.parse::<u16>()
        .map_err(|_| format!("'{p}' is not a port in '{rule}'"))
}

/// Where to connect for a request to `host:port`, given a `--connect-to` rule: `HOST`,
/// `HOST:PORT`, `[V6]:PORT`, or curl's `HOST1:PORT1:HOST2:PORT2`, where an empty HOST1 or
/// PORT1 matches any and an empty HOST2 or PORT2 keeps the request's, and a rule that does not
/// match the request is not applied (`Ok(None)`). Hosts are compared as strings, like curl's.
/// https://curl.se/libcurl/c/CURLOPT_CONNECT_TO.html
pub fn connect_address(rule: &str, host: &str, port: u16) -> Result<Option<(String, u16)>, String> {
    let rule = rule.trim();
    let unbracket = |h: &str| h.trim_start_matches('[').trim_end_matches(']').to_string();
    if rule.parse::<std::net::Ipv6Addr>().is_ok() {
        return Ok(Some((rule.to_string(), port)));
    }
    match colon_fields(rule)[..] {
        [h] if !h.is_empty() => Ok(Some((unbracket(h), port))),
        [h, p] if !h.is_empty() => Ok(Some((unbracket(h), port_in(p, rule)?))),
        [h1, p1, h2, p2] => {
            let p1 = (!p1.is_empty()).then(|| port_in(p1, rule)).transpose()?;
            let p2 = (!p2.is_empty()).then(|| port_in(p2, rule)).transpose()?;
            let host_matches = h1.is_empty() || unbracket(h1).eq_ignore_ascii_case(host);
            if !host_matches || p1.is_some_and(|p1| p1 != port) {
                return Ok(None);
            }
            let to = if h2.is_empty() {
                host.to_string()
            } else {
                unbracket(h2)
            };
            Ok(Some((to, p2.unwrap_or(port))))
        }
        _ => Err(format!(
            "'{rule}' is neither HOST[:PORT] nor curl's HOST1:PORT1:HOST2:PORT2"
        )),
    }
}

async fn resolve(host: &str, port: u16) -> Result<std::net::SocketAddr, EngineError> {
    let found = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| EngineError::Resolve {
            host: host.to_string(),
            reason: e.to_string(),
        })?;
    let mut addrs: Vec<_> = found.collect();
    addrs.sort_by_key(|a| !a.is_ipv4());
    addrs.first().copied().ok_or_else(|| EngineError::Resolve {
        host: host.to_string(),
        reason: "no address".into(),
    })
}

async fn prepare(cfg: &Config) -> Result<Target, EngineError> {
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
    let host = uri
        .host()
        .ok_or_else(|| bad("no host"))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
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
    if cfg.timeout.is_zero() {
        return Err(EngineError::BadSetting {
            name: "Timeout",
            reason: "must be more than zero".into(),
        });
    }
    let rule = match &cfg.connect_to {
        Some(c) => connect_address(c, &host, port).map_err(|reason| EngineError::BadSetting {
            name: "ConnectTo",
            reason,
        })?,
        None => None,
    };
    let addr = match rule {
        Some((h, p)) => resolve(&h, p).await?,
        None => resolve(&host, port).await?,
    };
    let host_header = match uri.port_u16() {
        Some(_) => uri.authority().map(|a| a.as_str().to_string()),
        None => uri.host().map(String::from),
    }
    .unwrap_or_else(|| host.clone());
    let host_header = host_header
        .rsplit_once('@')
        .map(|(_, h)| h.to_string())
        .unwrap_or(host_header);
    let path = uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let tls = if https {
        let server_name = rustls::pki_types::ServerName::try_from(host.clone())
            .map_err(|e| bad(&format!("'{host}' is not a TLS server name: {e}")))?;
        Some(Tls {
            connector: tls_connector(cfg)?,
            server_name,
        })
    } else {
        None
    };
    Ok(Target::new(
        &method,
        &host_header,
        &path,
        &cfg.headers,
        cfg.body.as_deref().unwrap_or_default().as_bytes(),
        addr,
        tls,
        cfg.timeout,
    ))
}

/// Waits until the target answers with the expected status (bounded by `cfg.warm_up`).
async fn warm_up(cfg: &Config, t: &Target) -> Result<(), EngineError> {
    if cfg.warm_up.is_zero() {
        return Ok(());
    }
    let start = Instant::now();
    loop {
        let mut conn = Conn::new();
        let last = match conn.send(t).await {
            Outcome::Status { status, .. } if status == cfg.expected_status => return Ok(()),
            o => o.describe(),
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

/// One worker's measurements.
struct Tally {
    report: Report,
    timeout_reason: String,
}

impl Tally {
    fn new(timeout: Duration) -> Self {
        Tally {
            report: Report::empty(None),
            timeout_reason: format!(
                "timeout: no answer within {}",
                humantime::format_duration(timeout)
            ),
        }
    }

    /// The tally the clients shared, once they are done (no second histogram allocated: a
    /// run's peak memory is its clients', not its ending's).
    fn take(shared: Arc<Mutex<Tally>>, timeout: Duration) -> Tally {
        match Arc::try_unwrap(shared) {
            Ok(m) => m.into_inner().unwrap_or_else(|e| e.into_inner()),
            Err(shared) => std::mem::replace(
                &mut *shared.lock().unwrap_or_else(|e| e.into_inner()),
                Tally::new(timeout),
            ),
        }
    }

    /// Counts one ended request; `latency` runs from its (intended) send time.
    fn add(&mut self, o: Outcome, latency: Duration, expected: u16, progress: &Progress) {
        let r = &mut self.report;
        let us = (latency.as_micros() as u64).max(1);
        match o {
            Outcome::Status { status: s, bytes } => {
                r.latency.saturating_record(us);
                r.bytes_received += bytes;
                *r.statuses.entry(s).or_default() += 1;
                if s == expected {
                    r.ok += 1;
                    progress.ok.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                r.status_errors += 1;
            }
            Outcome::Timeout => {
                // A request nobody answered weighs on the percentiles at its timeout.
                r.latency.saturating_record(us);
                r.timeouts += 1;
                count_reason(&mut r.reasons, self.timeout_reason.clone(), 1);
            }
            Outcome::Failed(f) => {
                r.connection_errors += 1;
                count_reason(&mut r.reasons, f.reason(), 1);
            }
        }
        progress.errors.fetch_add(1, Ordering::Relaxed);
    }
}

/// Runs the load test. The runtime is the caller's (a current-thread runtime pins the engine
/// to one core).
pub async fn run(cfg: &Config, progress: Arc<Progress>) -> Result<Report, EngineError> {
    let target = prepare(cfg).await?;
    warm_up(cfg, &target).await?;
    progress.measuring.store(true, Ordering::Relaxed);
    let target = Arc::new(target);
    match cfg.model {
        Model::Concurrency(n) => Ok(closed(cfg, target, n, progress).await),
        Model::Rate(rate) => Ok(open(cfg, target, rate, progress).await),
    }
}

async fn closed(cfg: &Config, t: Arc<Target>, n: usize, progress: Arc<Progress>) -> Report {
    let start = Instant::now();
    let end = start.checked_add(cfg.duration);
    // With a request count, each request takes a ticket first; none left, the client stops.
    let tickets = Arc::new(AtomicU64::new(cfg.requests.unwrap_or(u64::MAX)));
    // One tally for all clients: one histogram (188 KB) whatever the concurrency, where one per
    // client made 1,000 clients hold 188 MB.
    let shared = Arc::new(Mutex::new(Tally::new(cfg.timeout)));
    let mut tasks = Vec::with_capacity(n);
    for _ in 0..n {
        let (t, tickets, shared) = (t.clone(), tickets.clone(), shared.clone());
        let progress = progress.clone();
        let expected = cfg.expected_status;
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::new();
            loop {
                let sent_at = Instant::now();
                if end.is_some_and(|end| sent_at >= end)
                    || tickets
                        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                        .is_err()
                {
                    return;
                }
                progress.sent.fetch_add(1, Ordering::Relaxed);
                let (o, ended) = conn.send_at(&t, sent_at, sent_at + t.timeout).await;
                let failed = matches!(o, Outcome::Failed(_));
                {
                    let mut tally = shared.lock().unwrap();
                    tally.report.sent += 1;
                    tally.add(o, ended - sent_at, expected, &progress);
                }
                if failed {
                    // Do not spin on a refused connection.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    let mut report = Tally::take(shared, cfg.timeout).report;
    report.max_in_flight = n as u64;
    report.elapsed = start.elapsed();
    // Stopped by the request count, the window is the time the requests took.
    report.window = cfg.duration.min(report.elapsed);
    report.workers_answered = 1;
    report
}

async fn open(cfg: &Config, t: Arc<Target>, rate: f64, progress: Arc<Progress>) -> Report {
    let start = Instant::now();
    let in_window = (rate * cfg.duration.as_secs_f64()).round() as u64;
    let total = cfg.requests.map_or(in_window, |n| n.min(in_window));
    // Stopped by the request count, the window is the time those requests are asked over.
    let window = if total < in_window {
        Duration::from_secs_f64(total as f64 / rate)
    } else {
        cfg.duration
    };
    let interval = Duration::from_secs_f64(1.0 / rate);
    let connections = cfg.max_connections.max(1);
    let in_flight_cap = 2 * connections;
    let in_flight = Arc::new(tokio::sync::Semaphore::new(in_flight_cap));
    let not_sent = Arc::new(AtomicU64::new(0));
    let sent = Arc::new(AtomicU64::new(0));
    let peak = Arc::new(AtomicU64::new(0));
    // A request in flight is its intended send time and its permit in this queue (32 bytes)
    // until one of the connection tasks below takes it: no task, future or buffer per request.
    // Each message holds an in-flight permit, so the queue is bounded by the cap too.
    let (tx, rx) =
        tokio::sync::mpsc::unbounded_channel::<(Instant, tokio::sync::OwnedSemaphorePermit)>();
    // The scheduler: a thread that sleeps to each intended send time (nanosleep precision,
    // well under a millisecond), independent of the async runtime's 1 ms timer wheel.
    let scheduler = {
        let (in_flight, not_sent, peak) = (in_flight.clone(), not_sent.clone(), peak.clone());
        let (sent, progress) = (sent.clone(), progress.clone());
        std::thread::spawn(move || {
            for i in 0..total {
                let intended = start + interval.mul_f64(i as f64);
                let now = Instant::now();
                if intended > now {
                    std::thread::sleep(intended - now);
                }
                match in_flight.clone().try_acquire_owned() {
                    Ok(permit) => {
                        let busy = (in_flight_cap - in_flight.available_permits()) as u64;
                        peak.fetch_max(busy, Ordering::Relaxed);
                        sent.fetch_add(1, Ordering::Relaxed);
                        progress.sent.fetch_add(1, Ordering::Relaxed);
                        if tx.send((intended, permit)).is_err() {
                            return;
                        }
                    }
                    Err(_) => {
                        not_sent.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        })
    };
    // A fixed pool of connection tasks, each taking the next intended send time from the
    // queue: a request waiting for a connection costs its queue entry only.
    let rx = Arc::new(tokio::sync::Mutex::new(rx));
    let shared = Arc::new(Mutex::new(Tally::new(cfg.timeout)));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..connections {
        let (t, rx, shared, progress) = (t.clone(), rx.clone(), shared.clone(), progress.clone());
        let expected = cfg.expected_status;
        tasks.spawn(async move {
            let mut conn = Conn::new();
            loop {
                let next = rx.lock().await.recv().await;
                let Some((intended, permit)) = next else {
                    return;
                };
                // The timeout runs from the intended time: waiting for a connection is part
                // of it, and a request whose time is up when taken is not sent.
                let deadline = intended + t.timeout;
                let now = Instant::now();
                let (o, latency) = if now >= deadline {
                    // It timed out at its deadline, waiting.
                    (Outcome::Timeout, t.timeout)
                } else {
                    // Boxed: the task holds a request's future only while it sends one.
                    let (o, ended) = Box::pin(conn.send_at(&t, now, deadline)).await;
                    // Measured from the intended send time: waiting for a connection or a
                    // slow target is latency the user would have seen (coordinated omission).
                    (o, ended - intended)
                };
                drop(permit);
                shared.lock().unwrap().add(o, latency, expected, &progress);
            }
        });
    }
    let _ = tokio::task::spawn_blocking(move || scheduler.join()).await;
    // Every request times out by its intended time + timeout; this deadline is a backstop.
    let hard_end = tokio::time::Instant::from_std(start + window + cfg.timeout);
    let drained = tokio::time::timeout_at(hard_end, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
    }
    // The last request is asked one interval before the window ends: the window is the floor.
    let elapsed = start.elapsed().max(window);
    let mut tally = Tally::take(shared, cfg.timeout);
    let sent = sent.load(Ordering::Relaxed);
    // Requests cut by the backstop count as timeouts.
    let cut = sent.saturating_sub(tally.report.completed());
    for _ in 0..cut {
        tally.add(
            Outcome::Timeout,
            cfg.timeout,
            cfg.expected_status,
            &progress,
        );
    }
    let mut report = tally.report;
    report.sent = sent;
    report.not_sent = not_sent.load(Ordering::Relaxed);
    report.max_in_flight = peak.load(Ordering::Relaxed);
    report.target_rate = Some(rate);
    report.elapsed = elapsed;
    report.window = window;
    report.workers_answered = 1;
    report
}
