//! `fargate-app loadtest`: the deployment gate's engine from the command line. Exit 0 when every
//! threshold holds, 1 on a miss (so it serves as a CI step), 2 on bad input or an unreachable
//! target. The gate's default thresholds apply unless `--no-default-thresholds`.

use fargate_loadtest::{judge, parse_duration, Config, Model, Progress, Report, Thresholds};
use indicatif::{ProgressBar, ProgressStyle};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct Args {
    /// The URL to load (http or https).
    url: String,
    /// Open model: requests per second, sent on schedule whatever the response times.
    #[arg(long, conflicts_with = "concurrency")]
    rate: Option<f64>,
    /// Closed model: parallel clients, each sending when its previous answer arrived.
    #[arg(long)]
    concurrency: Option<usize>,
    /// How long to send requests (a unit is required: 90s, 2m, 1h).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// Wait up to this long for the expected status before measuring.
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    warm_up: Duration,
    /// Latency thresholds (a unit is required: 250ms, 1s).
    #[arg(long, value_parser = millis)]
    p50: Option<f64>,
    #[arg(long, value_parser = millis)]
    p90: Option<f64>,
    #[arg(long, value_parser = millis)]
    p99: Option<f64>,
    /// Highest share of errors allowed, between 0 and 1 (0.01 is 1%; default 0.01).
    #[arg(long, value_parser = share)]
    max_error_rate: Option<f64>,
    /// Lowest rate of completed requests per second of wall time.
    #[arg(long)]
    min_rps: Option<f64>,
    /// Open model: lowest share of the asked requests that must complete (default 0.95).
    #[arg(long, value_parser = share)]
    min_achieved_ratio: Option<f64>,
    /// Check only the thresholds given (by default errors <= 1% and, in the open model, >= 95%
    /// of the asked requests completed).
    #[arg(long)]
    no_default_thresholds: bool,
    #[arg(long, default_value = "GET")]
    method: String,
    /// A request header, `Name: value` (repeatable).
    #[arg(short = 'H', long = "header")]
    headers: Vec<String>,
    #[arg(long)]
    body: Option<String>,
    /// The status that counts as success.
    #[arg(long, default_value_t = 200)]
    expect: u16,
    /// Per-request timeout (in the open model, from the request's scheduled time).
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    timeout: Duration,
    /// Connect to HOST:PORT (or HOST) instead of the URL's host, still presenting the URL's
    /// host name (TLS SNI and Host), like curl's --connect-to.
    #[arg(long, value_name = "HOST:PORT")]
    connect_to: Option<String>,
    /// PEM file of certificates to trust for HTTPS besides the public roots.
    #[arg(long, value_name = "FILE")]
    cacert: Option<std::path::PathBuf>,
    /// Most connections; in the open model as many more requests may wait for one, beyond
    /// that a request is not sent and is counted.
    #[arg(long, default_value_t = 2000)]
    max_connections: usize,
    /// Runtime threads (1 pins the engine to one core).
    #[arg(long)]
    threads: Option<usize>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// Print the result as one JSON object instead of the table.
    #[arg(long)]
    json: bool,
}

/// A latency threshold in milliseconds, given with its unit (`250ms`, `1s`); a bare number is an
/// error, as for every duration.
fn millis(s: &str) -> Result<f64, String> {
    parse_duration(s).map(|d| d.as_secs_f64() * 1000.0)
}

/// A share between 0 and 1.
fn share(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a number"))?;
    if !(0.0..=1.0).contains(&v) {
        return Err(format!("{v} is not between 0 and 1 (a share: 0.01 is 1%)"));
    }
    Ok(v)
}

pub fn run(a: Args) -> ExitCode {
    let model = match (a.rate, a.concurrency) {
        (Some(r), _) => Model::Rate(r),
        (None, Some(c)) => Model::Concurrency(c),
        (None, None) => {
            eprintln!("fargate-app loadtest: give --rate (requests per second) or --concurrency (parallel clients)");
            return ExitCode::from(2);
        }
    };
    let mut headers = Vec::new();
    for h in &a.headers {
        match h.split_once(':') {
            Some((k, v)) => headers.push((k.trim().to_string(), v.trim().to_string())),
            None => {
                eprintln!("fargate-app loadtest: header '{h}' is not 'Name: value'");
                return ExitCode::from(2);
            }
        }
    }
    let extra_root_certs_pem = match &a.cacert {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(pem) => Some(pem),
            Err(e) => {
                eprintln!("fargate-app loadtest: --cacert {}: {e}", path.display());
                return ExitCode::from(2);
            }
        },
        None => None,
    };
    let cfg = Config {
        url: a.url.clone(),
        method: a.method.clone(),
        headers,
        body: a.body.clone(),
        expected_status: a.expect,
        timeout: a.timeout,
        model,
        duration: a.duration,
        warm_up: a.warm_up,
        max_connections: a.max_connections.max(1),
        connect_to: a.connect_to.clone(),
        extra_root_certs_pem,
    };
    let mut thresholds = Thresholds {
        p50_ms: a.p50,
        p90_ms: a.p90,
        p99_ms: a.p99,
        max_error_rate: a.max_error_rate,
        min_rps: a.min_rps,
        min_achieved_ratio: a.min_achieved_ratio,
    };
    if !a.no_default_thresholds {
        thresholds = thresholds.with_defaults();
    }
    if let Err(e) = thresholds.validate() {
        eprintln!("fargate-app loadtest: threshold {e}");
        return ExitCode::from(2);
    }
    let threads = a.threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let rt = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    }
    .expect("a tokio runtime");
    let progress = Arc::new(Progress::default());
    let bar = (!a.quiet && !a.json).then(|| progress_bar(&cfg));
    let result = rt.block_on(async {
        let ticker = bar
            .clone()
            .map(|bar| tokio::spawn(tick(bar, progress.clone(), cfg.duration)));
        let r = fargate_loadtest::run(&cfg, progress.clone()).await;
        if let Some(t) = ticker {
            t.abort();
        }
        r
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("fargate-app loadtest: {e}");
            return ExitCode::from(2);
        }
    };
    let verdict = judge(&report, &thresholds);
    if a.json {
        println!("{}", json(&report, &thresholds, &verdict));
    } else {
        print!("{}", summary_table(&report));
        let checked = thresholds.describe();
        println!(
            "Thresholds   {}",
            if checked.is_empty() {
                "none".to_string()
            } else {
                checked.join(", ")
            }
        );
        println!(
            "Verdict      {}",
            if verdict.passed {
                format!("PASSED ({})", verdict.summary)
            } else {
                format!("FAILED: {}", verdict.summary)
            }
        );
    }
    if verdict.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn progress_bar(cfg: &Config) -> ProgressBar {
    let bar = ProgressBar::new(cfg.duration.as_millis() as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{bar:30}] {elapsed:>4} / {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message("warming up");
    bar
}

async fn tick(bar: ProgressBar, p: Arc<Progress>, duration: Duration) {
    let mut started: Option<Instant> = None;
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if !p.measuring.load(Ordering::Relaxed) {
            bar.tick();
            continue;
        }
        let start = *started.get_or_insert_with(Instant::now);
        let el = start.elapsed().min(duration);
        let (sent, ok, err) = (
            p.sent.load(Ordering::Relaxed),
            p.ok.load(Ordering::Relaxed),
            p.errors.load(Ordering::Relaxed),
        );
        bar.set_position(el.as_millis() as u64);
        let secs = start.elapsed().as_secs_f64().max(0.001);
        bar.set_message(format!(
            "{}s  {sent} sent, {ok} ok, {err} errors, {:.0} rps",
            duration.as_secs(),
            (ok + err) as f64 / secs
        ));
    }
}

/// The result as one JSON object: counts, rates, statuses, failure reasons, percentiles (null
/// when nothing was recorded) and the histogram.
pub fn json(r: &Report, t: &Thresholds, v: &fargate_loadtest::Verdict) -> serde_json::Value {
    let statuses: serde_json::Map<String, serde_json::Value> = r
        .statuses
        .iter()
        .map(|(k, v)| (k.to_string(), (*v).into()))
        .collect();
    let histogram: Vec<_> = r
        .buckets()
        .into_iter()
        .map(|(upto, count)| serde_json::json!({"UpToMs": upto, "Count": count}))
        .collect();
    serde_json::json!({
        "Passed": v.passed, "Summary": v.summary, "Requests": r.sent, "Ok": r.ok,
        "StatusErrors": r.status_errors, "Timeouts": r.timeouts, "ConnectionErrors": r.connection_errors,
        "NotSent": r.not_sent, "MaxInFlight": r.max_in_flight,
        "Statuses": statuses, "Errors": r.reasons,
        "ErrorRate": r.error_rate(), "Rps": r.rps(), "SentRps": r.send_rate(), "TargetRps": r.target_rate,
        "AchievedRatio": r.achieved_ratio(),
        "ElapsedS": r.elapsed.as_secs_f64(), "DurationS": r.window.as_secs_f64(),
        "P50Ms": r.percentile(0.5), "P90Ms": r.percentile(0.9), "P99Ms": r.percentile(0.99),
        "MaxMs": r.percentile(1.0),
        "Histogram": histogram, "Thresholds": t,
    })
}

/// The summary: counts, rates, statuses, failure reasons, percentiles and a latency histogram.
pub fn summary_table(r: &Report) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "Requests     {} sent, {} ok, {} errors ({} status, {} timeout, {} connection)\n",
        r.sent,
        r.ok,
        r.errors(),
        r.status_errors,
        r.timeouts,
        r.connection_errors
    ));
    if r.not_sent > 0 {
        s.push_str(&format!(
            "Not sent     {} on schedule ({} in flight at the peak: the target could not keep up)\n",
            r.not_sent, r.max_in_flight
        ));
    }
    if !r.statuses.is_empty() {
        let list: Vec<_> = r
            .statuses
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        s.push_str(&format!("Statuses     {}\n", list.join(", ")));
    }
    for (i, (reason, n)) in r.reasons.iter().enumerate() {
        let label = if i == 0 { "Errors" } else { "" };
        s.push_str(&format!("{label:<13}{n} x {reason}\n"));
    }
    s.push_str(&format!(
        "Rate         {:.1} rps completed over {:.1} s",
        r.rps(),
        r.elapsed.as_secs_f64()
    ));
    if let Some(t) = r.target_rate {
        s.push_str(&format!(", {:.1} rps sent of {t} asked", r.send_rate()));
    }
    s.push('\n');
    match (r.percentile(0.5), r.percentile(0.9), r.percentile(0.99)) {
        (Some(p50), Some(p90), Some(p99)) => {
            s.push_str(&format!(
                "Latency      p50 {p50:.2} ms   p90 {p90:.2} ms   p99 {p99:.2} ms   max {:.2} ms\n",
                r.max_ms()
            ));
            if r.timeouts > 0 {
                s.push_str(&format!(
                    "             ({} timeouts counted at their timeout)\n",
                    r.timeouts
                ));
            }
        }
        _ => s.push_str("Latency      none: no request was answered\n"),
    }
    let total = r.latency.len();
    let buckets = r.buckets();
    if !buckets.is_empty() {
        s.push_str("Histogram\n");
        let last = buckets.len() - 1;
        for (i, (upto, count)) in buckets.into_iter().enumerate() {
            let label = if i == last && upto > 60_000.0 {
                "> 60000 ms".to_string()
            } else {
                format!("<= {upto} ms")
            };
            let share = count as f64 / total as f64;
            s.push_str(&format!(
                "  {label:>10}  {:<40} {:>5.1}%\n",
                "#".repeat((share * 40.0).round() as usize),
                share * 100.0
            ));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    fn parse(args: &[&str]) -> Result<Args, String> {
        Cli::try_parse_from(["loadtest", "http://x/"].iter().chain(args))
            .map(|c| c.args)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn durations_and_latencies_take_the_same_units_and_bare_numbers_are_refused() {
        let a = parse(&["--duration", "1h", "--p99", "250ms", "--p50", "1s"]).unwrap();
        assert_eq!(a.duration, Duration::from_secs(3600));
        assert_eq!(a.p99, Some(250.0));
        assert_eq!(a.p50, Some(1000.0));
        // Issue 14: `--duration 30` meant seconds and `--p99 30` milliseconds. Neither is
        // guessed now.
        let e = parse(&["--duration", "30"]).err().unwrap();
        assert!(
            e.contains("'30' has no unit: write 30s, 30ms or 30m"),
            "{e}"
        );
        assert!(parse(&["--p99", "30"]).is_err());
    }

    #[test]
    fn the_error_rate_is_a_share_between_zero_and_one() {
        assert_eq!(
            parse(&["--max-error-rate", "0.05"]).unwrap().max_error_rate,
            Some(0.05)
        );
        let e = parse(&["--max-error-rate", "5"]).err().unwrap();
        assert!(e.contains("5 is not between 0 and 1"), "{e}");
        assert!(parse(&["--max-error-rate", "-0.1"]).is_err());
    }

    #[test]
    fn nothing_answered_prints_no_zero_latency() {
        let mut r = Report::empty(None);
        r.sent = 3;
        r.connection_errors = 3;
        r.reasons.insert(
            "connection refused: Connection refused (os error 111)".into(),
            3,
        );
        let t = summary_table(&r);
        assert!(!t.contains("0.00 ms"), "{t}");
        assert!(
            t.contains("Latency      none: no request was answered"),
            "{t}"
        );
        assert!(
            t.contains("Errors       3 x connection refused: Connection refused (os error 111)"),
            "{t}"
        );
        let v = judge(&r, &Thresholds::defaults());
        let j = json(&r, &Thresholds::defaults(), &v);
        assert_eq!(j["P99Ms"], serde_json::Value::Null);
        assert_eq!(
            j["Errors"]["connection refused: Connection refused (os error 111)"],
            3
        );
        assert_eq!(j["Thresholds"]["MaxErrorRate"], 0.01);
    }
}
