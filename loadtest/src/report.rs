//! What a run measured, the thresholds it is judged by, and the verdict.

use base64::Engine as _;
use hdrhistogram::serialization::{Deserializer, Serializer, V2Serializer};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Latencies are recorded in microseconds, from 1 us to 1 hour, 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

#[derive(Debug, Clone)]
pub struct Report {
    /// Requests sent (dispatched).
    pub sent: u64,
    /// Requests answered with the expected status.
    pub ok: u64,
    pub status_errors: u64,
    pub timeouts: u64,
    pub connection_errors: u64,
    /// The measured part of the run (warm-up excluded).
    pub elapsed: Duration,
    /// The open model's target rate.
    pub target_rate: Option<f64>,
    /// Latency of every request that got an HTTP response, in microseconds.
    pub latency: Histogram<u64>,
}

impl Report {
    pub fn empty(target_rate: Option<f64>) -> Self {
        Report {
            sent: 0,
            ok: 0,
            status_errors: 0,
            timeouts: 0,
            connection_errors: 0,
            elapsed: Duration::ZERO,
            target_rate,
            latency: new_histogram(),
        }
    }
    pub fn errors(&self) -> u64 {
        self.status_errors + self.timeouts + self.connection_errors
    }
    /// Requests that ended (answered, timed out or failed).
    pub fn completed(&self) -> u64 {
        self.ok + self.errors()
    }
    pub fn error_rate(&self) -> f64 {
        if self.completed() == 0 {
            0.0
        } else {
            self.errors() as f64 / self.completed() as f64
        }
    }
    /// Requests completed per second of the measured run.
    pub fn rps(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 {
            self.completed() as f64 / s
        } else {
            0.0
        }
    }
    /// Requests sent per second (what the open model's scheduler achieved).
    pub fn send_rate(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 {
            self.sent as f64 / s
        } else {
            0.0
        }
    }
    /// A percentile of latency, in milliseconds.
    pub fn percentile_ms(&self, q: f64) -> f64 {
        if self.latency.is_empty() {
            0.0
        } else {
            self.latency.value_at_quantile(q) as f64 / 1000.0
        }
    }
    pub fn max_ms(&self) -> f64 {
        self.latency.max() as f64 / 1000.0
    }

    /// Adds another worker's measurements (same wall-clock window: the elapsed time is the
    /// longer of the two, rates add up).
    pub fn merge(&mut self, other: &Report) {
        self.sent += other.sent;
        self.ok += other.ok;
        self.status_errors += other.status_errors;
        self.timeouts += other.timeouts;
        self.connection_errors += other.connection_errors;
        self.elapsed = self.elapsed.max(other.elapsed);
        self.target_rate = match (self.target_rate, other.target_rate) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
        let _ = self.latency.add(&other.latency);
    }

    /// A compact, serialisable form (the histogram in HdrHistogram's V2 format, base64).
    pub fn to_wire(&self) -> WireReport {
        let mut buf = Vec::new();
        V2Serializer::new()
            .serialize(&self.latency, &mut buf)
            .expect("serialising into memory");
        WireReport {
            sent: self.sent,
            ok: self.ok,
            status_errors: self.status_errors,
            timeouts: self.timeouts,
            connection_errors: self.connection_errors,
            elapsed_ms: self.elapsed.as_millis() as u64,
            target_rate: self.target_rate,
            histogram: base64::engine::general_purpose::STANDARD.encode(buf),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct WireReport {
    pub sent: u64,
    pub ok: u64,
    pub status_errors: u64,
    pub timeouts: u64,
    pub connection_errors: u64,
    pub elapsed_ms: u64,
    pub target_rate: Option<f64>,
    pub histogram: String,
}

impl WireReport {
    pub fn into_report(self) -> Result<Report, String> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&self.histogram)
            .map_err(|e| e.to_string())?;
        let latency: Histogram<u64> = Deserializer::new()
            .deserialize(&mut bytes.as_slice())
            .map_err(|e| format!("{e:?}"))?;
        Ok(Report {
            sent: self.sent,
            ok: self.ok,
            status_errors: self.status_errors,
            timeouts: self.timeouts,
            connection_errors: self.connection_errors,
            elapsed: Duration::from_millis(self.elapsed_ms),
            target_rate: self.target_rate,
            latency,
        })
    }
}

/// Pass/fail limits. Absent ones are not checked.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Thresholds {
    pub p50_ms: Option<f64>,
    pub p90_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_error_rate: Option<f64>,
    pub min_rps: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub passed: bool,
    /// Each missed threshold, e.g. `p99 1840 ms > 800 ms`.
    pub misses: Vec<String>,
    /// One line for stack events and logs: the misses (or `passed`), the rate and the errors.
    pub summary: String,
}

/// The open model must send at least this share of its target rate to count.
pub const MIN_SEND_RATIO: f64 = 0.95;

fn ms(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0} ms")
    } else {
        format!("{v:.1} ms")
    }
}

fn pct(v: f64) -> String {
    let p = v * 100.0;
    if p == 0.0 {
        "0%".into()
    } else if p < 0.1 {
        format!("{p:.3}%")
    } else {
        format!("{p:.1}%")
    }
}

/// Judges a report. A run that sent nothing, or got no answer at all, fails.
pub fn judge(r: &Report, t: &Thresholds) -> Verdict {
    let mut misses = Vec::new();
    if r.sent == 0 {
        misses.push("no request was sent".to_string());
    } else if r.latency.is_empty() {
        misses.push(format!(
            "no response to any of {} requests ({} timeouts, {} connection errors)",
            r.sent, r.timeouts, r.connection_errors
        ));
    }
    if !r.latency.is_empty() {
        for (name, q, limit) in [
            ("p50", 0.5, t.p50_ms),
            ("p90", 0.9, t.p90_ms),
            ("p99", 0.99, t.p99_ms),
        ] {
            if let Some(limit) = limit {
                let v = r.percentile_ms(q);
                if v > limit {
                    misses.push(format!("{name} {} > {}", ms(v), ms(limit)));
                }
            }
        }
    }
    if let Some(max) = t.max_error_rate {
        if r.completed() > 0 && r.error_rate() > max {
            misses.push(format!("errors {} > {}", pct(r.error_rate()), pct(max)));
        }
    }
    if let Some(min) = t.min_rps {
        if r.rps() < min {
            misses.push(format!("{:.1} rps < {min} rps", r.rps()));
        }
    }
    if let Some(target) = r.target_rate {
        if r.sent > 0 && r.send_rate() < target * MIN_SEND_RATIO {
            misses.push(format!(
                "sent {:.1} rps of the {target} rps asked (the load generator could not keep up)",
                r.send_rate()
            ));
        }
    }
    let rate = match r.target_rate {
        Some(t) => format!("at {t} rps"),
        None => format!("at {:.1} rps", r.rps()),
    };
    let errors = format!("{} errors", pct(r.error_rate()));
    let summary = if misses.is_empty() {
        format!("passed: p99 {} {rate}; {errors}", ms(r.percentile_ms(0.99)))
    } else {
        format!("{} {rate}; {errors}", misses.join(", "))
    };
    Verdict {
        passed: misses.is_empty(),
        misses,
        summary,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(latencies_ms: &[u64], errors: u64) -> Report {
        let mut r = Report::empty(Some(50.0));
        for l in latencies_ms {
            r.latency.record(l * 1000).unwrap();
        }
        r.ok = latencies_ms.len() as u64;
        r.status_errors = errors;
        r.sent = r.ok + errors;
        r.elapsed = Duration::from_secs_f64(r.sent as f64 / 50.0);
        r
    }

    #[test]
    fn the_summary_names_each_miss_with_rate_and_errors() {
        let mut lat = vec![10; 985];
        lat.extend([1840; 15]);
        let r = report(&lat, 2);
        let v = judge(
            &r,
            &Thresholds {
                p99_ms: Some(800.0),
                max_error_rate: Some(0.01),
                ..Default::default()
            },
        );
        assert!(!v.passed);
        assert_eq!(v.summary, "p99 1840 ms > 800 ms at 50 rps; 0.2% errors");
        let v = judge(
            &r,
            &Thresholds {
                p99_ms: Some(2000.0),
                ..Default::default()
            },
        );
        assert!(v.passed, "{v:?}");
    }

    #[test]
    fn no_answers_never_pass() {
        let mut r = Report::empty(None);
        assert!(!judge(&r, &Thresholds::default()).passed);
        r.sent = 10;
        r.timeouts = 10;
        let v = judge(&r, &Thresholds::default());
        assert!(!v.passed);
        assert!(v.summary.starts_with("no response to any of 10 requests"));
    }

    #[test]
    fn wire_round_trip_and_merge() {
        let a = report(&[5, 6, 7], 0);
        let b = report(&[100, 200], 1);
        let mut m = a.to_wire().into_report().unwrap();
        m.merge(&b.to_wire().into_report().unwrap());
        assert_eq!(m.completed(), 6);
        assert_eq!(m.latency.len(), 5);
        assert_eq!(m.target_rate, Some(100.0));
        assert!((m.max_ms() - 200.0).abs() < 0.5);
    }
}
