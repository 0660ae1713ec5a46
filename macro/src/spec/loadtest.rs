//! `LoadTest`: the post-deploy load-test gate.

use crate::reader::{path, Reader, Val};
use serde_json::Value;

/// Keys of `LoadTest.Thresholds`.
pub const THRESHOLD_KEYS: &[&str] = &["P50Ms", "P90Ms", "P99Ms", "MaxErrorRate", "MinRps"];

/// A load test longer than this cannot finish inside one 15-minute Lambda call with its
/// warm-up and the steady-state wait.
pub const MAX_LOAD_TEST_SECONDS: u64 = 600;

#[derive(Debug, Clone)]
pub struct LoadTest {
    pub url: Option<Val<String>>,
    /// `LoadTest.Path` as given (absolute, like `HealthCheck.Path`); absent: see `gate_path`.
    pub path: Option<Val<String>>,
    pub model: LoadModel,
    pub duration: Val<u64>,
    pub warm_up: Val<u64>,
    pub workers: Val<u64>,
    pub method: Val<String>,
    pub headers: Vec<(String, Value)>,
    pub body: Option<Val<String>>,
    pub expected_status: Val<u64>,
    pub timeout_ms: Val<u64>,
    pub thresholds: Thresholds,
    /// The name to present (TLS SNI and `Host`) while connecting to the ALB.
    pub host: Option<Val<String>>,
    /// Where the load starts: `internet` (the provider Lambda) or `vpc` (workers in the App's
    /// subnets); absent: `vpc` behind an internal ALB the App creates, or an ALB of the template
    /// whose `Scheme` is internal (set so when the App is read), else `internet`.
    pub from: Option<Val<String>>,
}

/// Values of `LoadTest.From`.
pub const FROM_VPC: &str = "vpc";
pub const FROM_INTERNET: &str = "internet";

#[derive(Debug, Clone)]
pub enum LoadModel {
    Rate(Val<u64>),
    Concurrency(Val<u64>),
}

#[derive(Debug, Clone, Default)]
pub struct Thresholds {
    pub p50_ms: Option<Val<u64>>,
    pub p90_ms: Option<Val<u64>>,
    pub p99_ms: Option<Val<u64>>,
    pub max_error_rate: Option<Val<f64>>,
    pub min_rps: Option<Val<f64>>,
}

pub const LOAD_TEST_KEYS: &[&str] = &[
    "Url",
    "Path",
    "Rate",
    "Concurrency",
    "Duration",
    "WarmUp",
    "Workers",
    "Method",
    "Headers",
    "Body",
    "ExpectedStatus",
    "TimeoutMs",
    "Thresholds",
    "Host",
    "From",
];

/// A DNS name: dot-separated labels of letters, digits and hyphens (1-63 characters, no hyphen
/// at either end), at most 253 characters.
pub fn valid_dns_name(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|l| {
            (1..=63).contains(&l.len())
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

pub(super) fn read_load_test(r: &mut Reader, p: &str, v: &Value) -> Option<LoadTest> {
    let m = r.object(p, v, LOAD_TEST_KEYS)?;
    let int =
        |r: &mut Reader, k: &str, min, max| m.get(k).and_then(|v| r.int(&path(p, k), v, min, max));
    let model = match (int(r, "Rate", 1, 100_000), int(r, "Concurrency", 1, 10_000)) {
        (Some(rate), None) => Some(LoadModel::Rate(rate)),
        (None, Some(c)) => Some(LoadModel::Concurrency(c)),
        (Some(_), Some(_)) => {
            r.err(
                &path(p, "Rate"),
                "give Rate (open model) or Concurrency (closed model), not both",
            );
            None
        }
        (None, None) => {
            if !m.contains_key("Rate") && !m.contains_key("Concurrency") {
                r.err(
                    &path(p, "Rate"),
                    "give Rate (requests per second) or Concurrency (parallel clients)",
                );
            }
            None
        }
    };
    let path_v = match m.get("Path") {
        Some(v) => match r.nonempty(&path(p, "Path"), v) {
            Some(Val::Lit(s)) if !s.starts_with('/') => {
                r.err(&path(p, "Path"), format!("'{s}' must start with /"));
                None
            }
            other => other,
        },
        None => None,
    };
    let duration = match m.get("Duration") {
        // At most MAX_LOAD_TEST_SECONDS: the gate runs inside one Lambda call, with warm-up and
        // steady-state wait.
        Some(v) => r.seconds(&path(p, "Duration"), v, 1, MAX_LOAD_TEST_SECONDS),
        None => Some(Val::Lit(30)),
    };
    let headers = m
        .get("Headers")
        .map(|v| r.string_map(&path(p, "Headers"), v))
        .unwrap_or_default();
    let thresholds = match m.get("Thresholds") {
        Some(tv) => {
            let tp = path(p, "Thresholds");
            let tm = r.object(&tp, tv, THRESHOLD_KEYS)?;
            let ms = |r: &mut Reader, k: &str| {
                tm.get(k).and_then(|v| r.int(&path(&tp, k), v, 1, 600_000))
            };
            let t = Thresholds {
                p50_ms: ms(r, "P50Ms"),
                p90_ms: ms(r, "P90Ms"),
                p99_ms: ms(r, "P99Ms"),
                max_error_rate: tm
                    .get("MaxErrorRate")
                    .and_then(|v| r.number(&path(&tp, "MaxErrorRate"), v, 0.0, 1.0)),
                min_rps: tm
                    .get("MinRps")
                    .and_then(|v| r.number(&path(&tp, "MinRps"), v, 0.0, 1e7)),
            };
            if let (Some(Val::Lit(a)), Some(Val::Lit(b))) = (&t.p50_ms, &t.p99_ms) {
                if a > b {
                    r.err(
                        &path(&tp, "P50Ms"),
                        format!("{a} is greater than P99Ms {b}"),
                    );
                }
            }
            t
        }
        None => Thresholds::default(),
    };
    Some(LoadTest {
        url: m.get("Url").and_then(|v| r.nonempty(&path(p, "Url"), v)),
        path: path_v,
        model: model?,
        duration: duration?,
        warm_up: m
            .get("WarmUp")
            .and_then(|v| r.seconds(&path(p, "WarmUp"), v, 0, 600))
            .unwrap_or(Val::Lit(60)),
        workers: int(r, "Workers", 1, 50).unwrap_or(Val::Lit(1)),
        method: m
            .get("Method")
            .and_then(|v| {
                r.word(
                    &path(p, "Method"),
                    v,
                    &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
                )
            })
            .unwrap_or(Val::Lit("GET".into())),
        headers,
        body: m.get("Body").and_then(|v| r.string(&path(p, "Body"), v)),
        expected_status: int(r, "ExpectedStatus", 100, 599).unwrap_or(Val::Lit(200)),
        timeout_ms: int(r, "TimeoutMs", 1, 60_000).unwrap_or(Val::Lit(5000)),
        thresholds,
        host: m.get("Host").and_then(|v| match r.nonempty(&path(p, "Host"), v) {
            Some(Val::Lit(h)) if !valid_dns_name(&h) => {
                r.err(
                    &path(p, "Host"),
                    format!("'{h}' is not a DNS name (the name the ALB's certificate covers, without scheme or port)"),
                );
                None
            }
            other => other,
        }),
        from: m
            .get("From")
            .and_then(|v| r.word(&path(p, "From"), v, &[FROM_INTERNET, FROM_VPC])),
    })
}
