//! What a run measured, the thresholds it is judged by, and the verdict.

use base64::Engine as _;
use hdrhistogram::serialization::{Deserializer, Serializer, V2Serializer};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
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
    /// Requests that got no HTTP answer for another reason (refused, reset, TLS).
    pub connection_errors: u64,
    /// Open model: requests not sent because `2 x max_connections` were already in flight
    /// (the target was too slow to keep up); they are not queued.
    pub not_sent: u64,
    /// The most requests in flight at once (sending or waiting for a connection).
    pub max_in_flight: u64,
    /// Wall time of the measured run, from its start until its last request ended (warm-up
    /// excluded).
    pub elapsed: Duration,
    /// The time requests were sent for (the configured duration).
    pub window: Duration,
    /// The open model's asked rate.
    pub target_rate: Option<f64>,
    /// Answers per HTTP status code.
    pub statuses: BTreeMap<u16, u64>,
    /// Requests without an answer per reason (`timeout: ...`, `connection refused: ...`).
    pub reasons: BTreeMap<String, u64>,
    /// Latency in microseconds of every answer and of every timeout (recorded at its timeout,
    /// so an unanswered request weighs on the percentiles instead of vanishing).
    pub latency: Histogram<u64>,
    /// Response body bytes of every answer (headers not counted, as curl's `size_download`).
    pub bytes_received: u64,
    /// Workers whose reports are merged here (1 for one run).
    pub workers_answered: u64,
    /// Workers asked for a share of the load that returned no report (failed, timed out,
    /// answered something unreadable): counted, never dropped; see [`merge_workers`].
    pub workers_failed: u64,
    /// Why, per reason.
    pub worker_errors: BTreeMap<String, u64>,
}

/// At most this many distinct failure reasons are kept (the rest are counted as one).
const MAX_REASONS: usize = 32;
const OTHER_REASONS: &str = "other reasons";

pub(crate) fn count_reason(reasons: &mut BTreeMap<String, u64>, reason: String, n: u64) {
    if reasons.len() >= MAX_REASONS && !reasons.contains_key(&reason) {
        *reasons.entry(OTHER_REASONS.to_string()).or_default() += n;
    } else {
        *reasons.entry(reason).or_default() += n;
    }
}

impl Report {
    pub fn empty(target_rate: Option<f64>) -> Self {
        Report {
            sent: 0,
            ok: 0,
            status_errors: 0,
            timeouts: 0,
            connection_errors: 0,
            not_sent: 0,
            max_in_flight: 0,
            elapsed: Duration::ZERO,
            window: Duration::ZERO,
            target_rate,
            statuses: BTreeMap::new(),
            reasons: BTreeMap::new(),
            latency: new_histogram(),
            bytes_received: 0,
            workers_answered: 0,
            workers_failed: 0,
            worker_errors: BTreeMap::new(),
        }
    }
    pub fn errors(&self) -> u64 {
        self.status_errors + self.timeouts + self.connection_errors
    }
    /// Requests that got an HTTP answer, whatever its status.
    pub fn answered(&self) -> u64 {
        self.ok + self.status_errors
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
    /// Requests completed per second of wall time (the run's whole `elapsed`).
    pub fn rps(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 {
            self.completed() as f64 / s
        } else {
            0.0
        }
    }
    fn window_s(&self) -> f64 {
        if self.window.is_zero() {
            self.elapsed.as_secs_f64()
        } else {
            self.window.as_secs_f64()
        }
    }
    /// Requests sent per second of the sending window.
    pub fn send_rate(&self) -> f64 {
        let s = self.window_s();
        if s > 0.0 {
            self.sent as f64 / s
        } else {
            0.0
        }
    }
    /// Open model: how many requests the asked rate means over the window.
    pub fn asked(&self) -> Option<f64> {
        self.target_rate.map(|r| r * self.window_s())
    }
    /// Open model: the share of the asked requests that completed (answered, timed out or
    /// failed: errors are judged by the error rate).
    pub fn achieved_ratio(&self) -> Option<f64> {
        self.asked()
            .filter(|a| *a > 0.0)
            .map(|a| self.completed() as f64 / a)
    }
    /// A percentile of latency in milliseconds, None when nothing was recorded.
    pub fn percentile(&self, q: f64) -> Option<f64> {
        (!self.latency.is_empty()).then(|| self.latency.value_at_quantile(q) as f64 / 1000.0)
    }
    /// A percentile of latency, in milliseconds (0 when nothing was recorded: prefer
    /// [`Report::percentile`] for display).
    pub fn percentile_ms(&self, q: f64) -> f64 {
        self.percentile(q).unwrap_or(0.0)
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
        self.not_sent += other.not_sent;
        self.max_in_flight += other.max_in_flight;
        self.elapsed = self.elapsed.max(other.elapsed);
        self.window = self.window.max(other.window);
        self.target_rate = match (self.target_rate, other.target_rate) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
        for (k, v) in &other.statuses {
            *self.statuses.entry(*k).or_default() += v;
        }
        for (k, v) in &other.reasons {
            count_reason(&mut self.reasons, k.clone(), *v);
        }
        let _ = self.latency.add(&other.latency);
        self.bytes_received += other.bytes_received;
        self.workers_answered += other.workers_answered;
        self.workers_failed += other.workers_failed;
        for (k, v) in &other.worker_errors {
            count_reason(&mut self.worker_errors, k.clone(), *v);
        }
    }

    /// Counts a worker that returned no report.
    pub fn worker_failed(&mut self, reason: String) {
        self.workers_failed += 1;
        count_reason(&mut self.worker_errors, reason, 1);
    }

    /// Adds a later slice of the same run (sequential, unlike [`Report::merge`]'s parallel
    /// workers): counts and measured time add up, the asked rate stays the configured one.
    pub fn append(&mut self, slice: &Report) {
        self.sent += slice.sent;
        self.ok += slice.ok;
        self.status_errors += slice.status_errors;
        self.timeouts += slice.timeouts;
        self.connection_errors += slice.connection_errors;
        self.not_sent += slice.not_sent;
        self.max_in_flight = self.max_in_flight.max(slice.max_in_flight);
        self.elapsed += slice.elapsed;
        self.window += slice.window;
        self.target_rate = self.target_rate.or(slice.target_rate);
        for (k, v) in &slice.statuses {
            *self.statuses.entry(*k).or_default() += v;
        }
        for (k, v) in &slice.reasons {
            count_reason(&mut self.reasons, k.clone(), *v);
        }
        let _ = self.latency.add(&slice.latency);
        self.bytes_received += slice.bytes_received;
        self.workers_answered = self.workers_answered.max(slice.workers_answered);
        self.workers_failed = self.workers_failed.max(slice.workers_failed);
    }

    /// The latency histogram in about ten buckets of even width, from the bucket holding the
    /// fastest answer to the one holding the slowest: `(from ms, up to ms, count)`, empty buckets
    /// in between kept. The width is a round 1, 2 or 5 x 10^k microseconds, never finer than a
    /// thousandth of the maximum (the histogram's 3 significant digits), and the counts come from
    /// hdrhistogram's own linear iterator.
    pub fn buckets(&self) -> Vec<(f64, f64, u64)> {
        if self.latency.is_empty() {
            return Vec::new();
        }
        let (min, max) = (self.latency.min(), self.latency.max());
        let wanted = ((max - min) / 10).max(max / 1000).max(1);
        let mut step = 1u64;
        while step * 5 < wanted {
            step *= 10;
        }
        let step = [step, 2 * step, 5 * step, 10 * step]
            .into_iter()
            .find(|s| *s >= wanted)
            .unwrap_or(10 * step);
        self.latency
            .iter_linear(step)
            .map(|v| {
                let upto = v.value_iterated_to() + 1;
                (upto, v.count_since_last_iteration())
            })
            .skip_while(|(upto, _)| *upto <= min)
            .map(|(upto, count)| {
                let from = upto - step;
                (from as f64 / 1000.0, upto as f64 / 1000.0, count)
            })
            .collect()
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
            not_sent: self.not_sent,
            max_in_flight: self.max_in_flight,
            elapsed_ms: self.elapsed.as_millis() as u64,
            window_ms: self.window.as_millis() as u64,
            target_rate: self.target_rate,
            statuses: self.statuses.clone(),
            reasons: self.reasons.clone(),
            histogram: base64::engine::general_purpose::STANDARD.encode(buf),
            bytes_received: self.bytes_received,
            workers_answered: self.workers_answered,
            workers_failed: self.workers_failed,
            worker_errors: self.worker_errors.clone(),
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
    #[serde(default)]
    pub not_sent: u64,
    #[serde(default)]
    pub max_in_flight: u64,
    pub elapsed_ms: u64,
    #[serde(default)]
    pub window_ms: u64,
    pub target_rate: Option<f64>,
    #[serde(default)]
    pub statuses: BTreeMap<u16, u64>,
    #[serde(default)]
    pub reasons: BTreeMap<String, u64>,
    pub histogram: String,
    #[serde(default)]
    pub bytes_received: u64,
    /// A report from a worker older than this field is one worker's.
    #[serde(default = "one")]
    pub workers_answered: u64,
    #[serde(default)]
    pub workers_failed: u64,
    #[serde(default)]
    pub worker_errors: BTreeMap<String, u64>,
}

fn one() -> u64 {
    1
}

/// What one worker invocation returns: its report, or why it has none (the shape the
/// provider's `Workers` fan-out exchanges).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct WorkerReply {
    pub report: Option<WireReport>,
    pub error: Option<String>,
}

impl WorkerReply {
    /// A worker's run, as it answers: the report in its wire form, or the error's words.
    pub fn of<E: std::fmt::Display>(run: Result<Report, E>) -> Self {
        match run {
            Ok(r) => WorkerReply {
                report: Some(r.to_wire()),
                error: None,
            },
            Err(e) => WorkerReply {
                report: None,
                error: Some(e.to_string()),
            },
        }
    }
}

/// Merges the replies of `asked` workers into one report. A worker that failed, answered
/// something unreadable, or gave no reply at all (`Err`: timed out, crashed; or fewer replies
/// than `asked`) is counted in `workers_failed` with its reason, and fails the verdict.
pub fn merge_workers<I>(asked: usize, replies: I) -> Report
where
    I: IntoIterator<Item = Result<WorkerReply, String>>,
{
    let mut merged = Report::empty(None);
    let mut seen = 0;
    for reply in replies {
        seen += 1;
        let report = match reply {
            Ok(WorkerReply {
                report: Some(w),
                error: None,
            }) => w
                .into_report()
                .map_err(|e| format!("unreadable report: {e}")),
            Ok(WorkerReply { error: Some(e), .. }) => Err(format!("failed: {e}")),
            Ok(WorkerReply { .. }) => Err("returned no report".to_string()),
            Err(e) => Err(e),
        };
        match report {
            Ok(r) => merged.merge(&r),
            Err(why) => merged.worker_failed(why),
        }
    }
    for _ in seen..asked {
        merged.worker_failed("no reply".to_string());
    }
    merged
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
            not_sent: self.not_sent,
            max_in_flight: self.max_in_flight,
            elapsed: Duration::from_millis(self.elapsed_ms),
            window: Duration::from_millis(self.window_ms),
            target_rate: self.target_rate,
            statuses: self.statuses,
            reasons: self.reasons,
            latency,
            bytes_received: self.bytes_received,
            workers_answered: self.workers_answered,
            workers_failed: self.workers_failed,
            worker_errors: self.worker_errors,
        })
    }
}

/// Pass/fail limits. Absent ones are not checked; [`Thresholds::with_defaults`] fills the
/// error rate and the achieved ratio where the user gave none.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Thresholds {
    pub p50_ms: Option<f64>,
    pub p90_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_error_rate: Option<f64>,
    /// Completed requests per second of wall time.
    pub min_rps: Option<f64>,
    /// Open model: the lowest share of the asked requests that must complete (0..1).
    #[serde(default)]
    pub min_achieved_ratio: Option<f64>,
}

impl Thresholds {
    /// At most 1% errors (answers other than the expected status, timeouts, failures).
    pub const DEFAULT_MAX_ERROR_RATE: f64 = 0.01;
    /// Open model: at least 95% of the requests the rate asks for complete.
    pub const DEFAULT_MIN_ACHIEVED_RATIO: f64 = 0.95;

    /// The defaults alone.
    pub fn defaults() -> Self {
        Thresholds::default().with_defaults()
    }

    /// These thresholds, with the defaults where none is set.
    pub fn with_defaults(mut self) -> Self {
        self.max_error_rate
            .get_or_insert(Self::DEFAULT_MAX_ERROR_RATE);
        self.min_achieved_ratio
            .get_or_insert(Self::DEFAULT_MIN_ACHIEVED_RATIO);
        self
    }

    /// Checks each value's range; the error names the threshold.
    pub fn validate(&self) -> Result<(), String> {
        for (name, v) in [
            ("P50Ms", self.p50_ms),
            ("P90Ms", self.p90_ms),
            ("P99Ms", self.p99_ms),
            ("MinRps", self.min_rps),
        ] {
            if let Some(v) = v {
                if !(v.is_finite() && v >= 0.0) {
                    return Err(format!("{name}: {v} is not a non-negative number"));
                }
            }
        }
        for (name, v) in [
            ("MaxErrorRate", self.max_error_rate),
            ("MinAchievedRatio", self.min_achieved_ratio),
        ] {
            if let Some(v) = v {
                if !(0.0..=1.0).contains(&v) {
                    return Err(format!(
                        "{name}: {v} is not a share between 0 and 1 (0.01 is 1%)"
                    ));
                }
            }
        }
        Ok(())
    }

    /// One phrase per threshold checked, e.g. `p99 <= 800 ms`, `errors <= 1.0%`.
    pub fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (name, v) in [
            ("p50", self.p50_ms),
            ("p90", self.p90_ms),
            ("p99", self.p99_ms),
        ] {
            if let Some(v) = v {
                out.push(format!("{name} <= {}", ms(v)));
            }
        }
        if let Some(v) = self.max_error_rate {
            out.push(format!("errors <= {}", pct(v)));
        }
        if let Some(v) = self.min_rps {
            out.push(format!(">= {v} rps completed"));
        }
        if let Some(v) = self.min_achieved_ratio {
            out.push(format!(">= {} of the asked requests completed", pct(v)));
        }
        out
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub passed: bool,
    /// Each missed threshold, e.g. `p99 1840 ms > 800 ms`.
    pub misses: Vec<String>,
    /// One line for stack events and logs: the misses (or `passed`), the rate and the errors.
    pub summary: String,
}

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
    if r.workers_failed > 0 {
        let why: Vec<_> = r
            .worker_errors
            .iter()
            .map(|(reason, n)| format!("{n} x {reason}"))
            .collect();
        misses.push(format!(
            "{} of {} load workers returned no report ({})",
            r.workers_failed,
            r.workers_failed + r.workers_answered,
            why.join("; ")
        ));
    }
    if r.sent == 0 {
        misses.push("no request was sent".to_string());
    } else if r.answered() == 0 {
        misses.push(format!(
            "no response to any of {} requests ({} timeouts, {} connection errors)",
            r.sent, r.timeouts, r.connection_errors
        ));
    }
    if r.answered() > 0 {
        for (name, q, limit) in [
            ("p50", 0.5, t.p50_ms),
            ("p90", 0.9, t.p90_ms),
            ("p99", 0.99, t.p99_ms),
        ] {
            if let (Some(limit), Some(v)) = (limit, r.percentile(q)) {
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
    if let (Some(min), Some(ratio), Some(asked)) =
        (t.min_achieved_ratio, r.achieved_ratio(), r.asked())
    {
        if ratio < min {
            let mut m = format!(
                "completed {} of {asked:.0} requests asked ({} < {})",
                r.completed(),
                pct(ratio),
                pct(min)
            );
            if r.not_sent > 0 {
                m.push_str(&format!(
                    ", {} not sent on schedule (in-flight limit reached)",
                    r.not_sent
                ));
            }
            misses.push(m);
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
        r.workers_answered = 1;
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

    #[test]
    fn defaults_fill_only_what_is_unset_and_ranges_are_checked() {
        let t = Thresholds {
            max_error_rate: Some(0.2),
            ..Default::default()
        }
        .with_defaults();
        assert_eq!(t.max_error_rate, Some(0.2));
        assert_eq!(t.min_achieved_ratio, Some(0.95));
        assert_eq!(
            Thresholds::defaults().describe(),
            ["errors <= 1.0%", ">= 95.0% of the asked requests completed"]
        );
        let bad = Thresholds {
            max_error_rate: Some(5.0),
            ..Default::default()
        };
        assert_eq!(
            bad.validate().unwrap_err(),
            "MaxErrorRate: 5 is not a share between 0 and 1 (0.01 is 1%)"
        );
        assert!(Thresholds::defaults().validate().is_ok());
    }

    #[test]
    fn statuses_reasons_and_the_not_sent_count_survive_the_wire_and_merge() {
        let mut a = report(&[5], 0);
        a.statuses.insert(200, 1);
        a.reasons.insert("timeout: no answer within 5s".into(), 2);
        a.not_sent = 7;
        a.window = Duration::from_secs(1);
        let mut m = a.to_wire().into_report().unwrap();
        m.merge(&a);
        assert_eq!(m.statuses.get(&200), Some(&2));
        assert_eq!(m.reasons.get("timeout: no answer within 5s"), Some(&4));
        assert_eq!(m.not_sent, 14);
        // A worker from before these fields still parses.
        let old = r#"{"Sent":1,"Ok":1,"StatusErrors":0,"Timeouts":0,"ConnectionErrors":0,"ElapsedMs":1000,"TargetRate":null,"Histogram":""}"#;
        let w: WireReport = serde_json::from_str(old).unwrap();
        assert_eq!(w.not_sent, 0);
    }

    #[test]
    fn the_achieved_ratio_counts_completed_requests_against_those_asked() {
        // 50 rps asked for 2 s = 100 requests; 60 completed, 40 never sent.
        let mut r = report(&[10; 60], 0);
        r.window = Duration::from_secs(2);
        r.elapsed = Duration::from_secs(3);
        r.not_sent = 40;
        assert_eq!(r.achieved_ratio(), Some(0.6));
        assert_eq!(r.rps(), 20.0, "completed per second of wall time");
        let v = judge(&r, &Thresholds::defaults());
        assert_eq!(
            v.summary,
            "completed 60 of 100 requests asked (60.0% < 95.0%), 40 not sent on schedule (in-flight limit reached) at 50 rps; 0% errors"
        );
    }

    /// Issue 22: a worker that fails, times out or answers nonsense is counted with its
    /// reason and fails the verdict; the merged report says how many answered.
    #[test]
    fn every_worker_is_counted_and_one_without_a_report_fails_the_verdict() {
        let reply = |lat: &[u64]| {
            Ok(WorkerReply {
                report: Some(report(lat, 0).to_wire()),
                error: None,
            })
        };
        let mut unreadable = report(&[1], 0).to_wire();
        unreadable.histogram = "not base64!".into();
        for (asked, replies, answered, failed, miss) in [
            (2, vec![reply(&[5]), reply(&[6])], 2, 0, None),
            (
                3,
                vec![reply(&[5]), Err("timed out after 30s".to_string())],
                1,
                2,
                Some("2 of 3 load workers returned no report (1 x no reply; 1 x timed out after 30s)"),
            ),
            (
                2,
                vec![
                    reply(&[5]),
                    Ok(WorkerReply {
                        report: None,
                        error: Some("cannot resolve x".into()),
                    }),
                ],
                1,
                1,
                Some("1 of 2 load workers returned no report (1 x failed: cannot resolve x)"),
            ),
            (
                2,
                vec![
                    Ok(WorkerReply {
                        report: Some(unreadable.clone()),
                        error: None,
                    }),
                    Ok(WorkerReply {
                        report: None,
                        error: None,
                    }),
                ],
                0,
                2,
                Some("2 of 2 load workers returned no report (1 x returned no report; 1 x unreadable report: "),
            ),
        ] {
            let m = merge_workers(asked, replies);
            let counted = (m.workers_answered, m.workers_failed);
            assert_eq!(counted, (answered, failed), "{:?}", m.worker_errors);
            assert_eq!(m.ok, answered, "one answer per worker that answered");
            let v = judge(&m, &Thresholds::defaults());
            match miss {
                None => assert!(v.passed, "{}", v.summary),
                Some(miss) => {
                    assert!(!v.passed);
                    assert!(v.misses[0].starts_with(miss), "{:?}", v.misses);
                }
            }
            // The counts travel: a gate merging gates' reports keeps them.
            let back = m.to_wire().into_report().unwrap();
            assert_eq!((back.workers_answered, back.workers_failed), (answered, failed));
            assert_eq!(back.worker_errors, m.worker_errors);
        }
    }

    /// Issue 21: even buckets from hdrhistogram's linear iterator, every recorded value in one.
    #[test]
    fn the_histogram_has_even_buckets_holding_every_value() {
        for (values_us, width_us) in [
            (vec![1_000u64, 1_500, 9_800, 10_000], 1_000u64),
            (vec![300_000, 300_200, 300_400], 500),
            (vec![7, 7, 7], 1),
            (vec![2_000, 1_900_000], 200_000),
        ] {
            let mut r = Report::empty(None);
            for v in &values_us {
                r.latency.record(*v).unwrap();
            }
            let b = r.buckets();
            // The first and last buckets hold the fastest and the slowest answers (to the
            // histogram's precision: a value's bucket may straddle a boundary).
            assert!(
                b[0].2 > 0 && b.last().unwrap().2 > 0,
                "{values_us:?}: {b:?}"
            );
            assert!(
                b.iter()
                    .all(|(from, upto, _)| ((upto - from) * 1000.0).round() as u64 == width_us),
                "{values_us:?}: {b:?}"
            );
            assert!(b.len() <= 12, "{values_us:?}: {b:?}");
            assert_eq!(b.iter().map(|x| x.2).sum::<u64>(), values_us.len() as u64);
            let slowest = r.latency.lowest_equivalent(r.latency.max()) as f64;
            assert!(
                b.last().unwrap().1 * 1000.0 >= slowest,
                "{values_us:?}: {b:?}"
            );
        }
    }
}
