//! `fargate-app loadtest`: the deployment gate's engine from the command line. Exit 0 when every
//! threshold holds, 1 on a miss (so it serves as a CI step), 2 on bad input or an unreachable
//! target. The gate's default thresholds apply unless `--no-default-thresholds`.

use fargate_loadtest::{
    judge, parse_duration_in, Config, Model, Progress, Report, Thresholds, Verdict,
};
use indicatif::{ProgressBar, ProgressStyle};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The bounds each duration flag enforces (the errors state them). The timeout and latency
/// thresholds stop at the histogram's ceiling (latencies are recorded up to 1 hour); a run is
/// at most a week.
const RUN_BOUNDS: (Duration, Duration) =
    (Duration::from_millis(1), Duration::from_secs(7 * 86_400));
const LATENCY_CEILING: Duration = Duration::from_secs(3600);

fn run_duration(s: &str) -> Result<Duration, String> {
    parse_duration_in(s, "the duration", RUN_BOUNDS.0..=RUN_BOUNDS.1)
}
fn timeout(s: &str) -> Result<Duration, String> {
    parse_duration_in(s, "the timeout", Duration::from_millis(1)..=LATENCY_CEILING)
}
fn warm_up(s: &str) -> Result<Duration, String> {
    parse_duration_in(s, "the warm-up", Duration::ZERO..=LATENCY_CEILING)
}
/// A latency threshold, in milliseconds.
fn millis(s: &str) -> Result<f64, String> {
    parse_duration_in(s, "a latency threshold", Duration::ZERO..=LATENCY_CEILING)
        .map(|d| d.as_secs_f64() * 1000.0)
}

#[derive(clap::Args)]
pub struct Args {
    /// The URL to load (http or https).
    url: String,
    /// Open model: requests per second, sent on schedule whatever the response times (oha's and
    /// hey's -q). With -c, at most that many connections.
    #[arg(short = 'q', long)]
    rate: Option<f64>,
    /// Closed model: parallel clients, each sending when its previous answer arrived (with
    /// --rate: the most connections).
    #[arg(short = 'c', long)]
    concurrency: Option<usize>,
    /// How long to send requests: seconds (60) or with a unit (90s, 2m, 250ms); 1ms to 7days.
    /// Default 10s, or as long as -n takes.
    #[arg(short = 'z', long, value_parser = run_duration)]
    duration: Option<Duration>,
    /// Send this many requests, then stop (in both models; with -z, whichever comes first).
    #[arg(short = 'n', long, value_name = "N")]
    requests: Option<u64>,
    /// Wait up to this long for the expected status before measuring (0s to 1h).
    #[arg(long, default_value = "0s", value_parser = warm_up)]
    warm_up: Duration,
    /// Latency thresholds: seconds (0.25) or with a unit (250ms); 0s to 1h.
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
    #[arg(short = 'm', long, default_value = "GET")]
    method: String,
    /// A request header, `Name: value` (repeatable).
    #[arg(short = 'H', long = "header")]
    headers: Vec<String>,
    #[arg(short = 'd', long)]
    body: Option<String>,
    /// The status that counts as success.
    #[arg(long, default_value_t = 200)]
    expect: u16,
    /// Per-request timeout (in the open model, from the request's scheduled time); 1ms to 1h.
    #[arg(short = 't', long, default_value = "5s", value_parser = timeout)]
    timeout: Duration,
    /// Connect to HOST2:PORT2 for requests to HOST1:PORT1, as curl's --connect-to (an empty
    /// HOST1 or PORT1 matches any, an empty HOST2 or PORT2 keeps the URL's), or to HOST[:PORT]
    /// whatever the URL; the URL's host name is still presented (TLS SNI and Host).
    #[arg(long, value_name = "HOST1:PORT1:HOST2:PORT2")]
    connect_to: Option<String>,
    /// PEM file of certificates to trust for HTTPS besides the public roots.
    #[arg(long, value_name = "FILE")]
    cacert: Option<std::path::PathBuf>,
    /// Accept any server certificate (self-signed targets), as curl's -k. Off by default: the
    /// certificate is verified, and the output says when it was not.
    #[arg(short = 'k', long)]
    insecure: bool,
    /// Most connections; in the open model as many more requests may wait for one, beyond
    /// that a request is not sent and is counted.
    #[arg(long)]
    max_connections: Option<usize>,
    /// Runtime threads (1 pins the engine to one core).
    #[arg(long)]
    threads: Option<usize>,
    /// No progress bar (curl's -s).
    #[arg(short = 's', long, alias = "silent")]
    quiet: bool,
    /// Output format: the table, or one JSON object with PascalCase keys.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Deprecated: the same as --format json, which every command takes (kept as an alias).
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, PartialEq, clap::ValueEnum)]
enum Format {
    Text,
    Json,
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

/// The engine's configuration from the arguments, or the message for exit 2.
fn config(a: &Args) -> Result<Config, String> {
    let model = match (a.rate, a.concurrency) {
        (Some(r), _) => Model::Rate(r),
        (None, Some(c)) => Model::Concurrency(c),
        (None, None) => {
            return Err(
                "give --rate (-q, requests per second) or --concurrency (-c, parallel clients)"
                    .into(),
            )
        }
    };
    // -n alone: as long as the requests take (in the open model, N / rate), within the bounds.
    let duration = match (a.duration, a.requests, model) {
        (Some(d), _, _) => d,
        (None, Some(n), Model::Rate(r)) if r > 0.0 => {
            let d = Duration::try_from_secs_f64(n as f64 / r).unwrap_or(Duration::MAX);
            if d > RUN_BOUNDS.1 {
                return Err(format!(
                    "-n {n} at {r} rps takes {:.0}s, more than a run's 7days: lower -n or raise -q",
                    d.as_secs_f64()
                ));
            }
            d.max(RUN_BOUNDS.0)
        }
        (None, Some(_), _) => RUN_BOUNDS.1,
        (None, None, _) => Duration::from_secs(10),
    };
    let mut headers = Vec::new();
    for h in &a.headers {
        match h.split_once(':') {
            Some((k, v)) => headers.push((k.trim().to_string(), v.trim().to_string())),
            None => return Err(format!("header '{h}' is not 'Name: value'")),
        }
    }
    let extra_root_certs_pem = match &a.cacert {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .map_err(|e| format!("--cacert {}: {e}", path.display()))?,
        ),
        None => None,
    };
    let max_connections = match (a.max_connections, a.rate, a.concurrency) {
        (Some(m), _, _) => m,
        // oha's `-q R -c C`: R requests per second over at most C connections.
        (None, Some(_), Some(c)) => c,
        _ => Config::default().max_connections,
    };
    Ok(Config {
        url: a.url.clone(),
        method: a.method.clone(),
        headers,
        body: a.body.clone(),
        expected_status: a.expect,
        timeout: a.timeout,
        model,
        duration,
        warm_up: a.warm_up,
        max_connections: max_connections.max(1),
        connect_to: a.connect_to.clone(),
        extra_root_certs_pem,
        requests: a.requests,
        insecure: a.insecure,
    })
}

pub fn run(a: Args) -> ExitCode {
    let cfg = match config(&a) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("fargate-app loadtest: {e}");
            return ExitCode::from(2);
        }
    };
    if a.json {
        eprintln!(
            "fargate-app loadtest: --json is deprecated, use --format json (as every command)"
        );
    }
    let json_out = a.json || a.format == Format::Json;
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
    let bar = (!a.quiet && !json_out).then(|| progress_bar(&cfg));
    let result = rt.block_on(async {
        let ticker = bar
            .clone()
            .map(|bar| tokio::spawn(tick(bar, progress.clone(), cfg.duration, cfg.requests)));
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
    if json_out {
        println!("{}", json(&report, &thresholds, &verdict, &cfg));
    } else {
        print!("{}", summary_table(&report, &cfg));
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
    let bar = ProgressBar::new(match cfg.requests {
        Some(n) => n,
        None => cfg.duration.as_millis() as u64,
    });
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{bar:30}] {elapsed:>4} / {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message("warming up");
    bar
}

async fn tick(bar: ProgressBar, p: Arc<Progress>, duration: Duration, requests: Option<u64>) {
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
        let secs = start.elapsed().as_secs_f64().max(0.001);
        let (position, of) = match requests {
            Some(n) => (sent, format!("{n} requests")),
            None => (el.as_millis() as u64, format!("{}s", duration.as_secs())),
        };
        bar.set_position(position);
        bar.set_message(format!(
            "{of}  {sent} sent, {ok} ok, {err} errors, {:.0} rps",
            (ok + err) as f64 / secs
        ));
    }
}

/// The result as one JSON object, keys in PascalCase as CloudFormation's (docs/loadtest.md):
/// counts, rates, statuses, failure reasons, latency statistics (null when nothing was
/// recorded), bytes and the histogram.
pub fn json(r: &Report, t: &Thresholds, v: &Verdict, cfg: &Config) -> serde_json::Value {
    let statuses: serde_json::Map<String, serde_json::Value> = r
        .statuses
        .iter()
        .map(|(k, v)| (k.to_string(), (*v).into()))
        .collect();
    let histogram: Vec<_> = r
        .buckets()
        .into_iter()
        .map(|(from, upto, count)| serde_json::json!({"FromMs": from, "UpToMs": upto, "Count": count}))
        .collect();
    let answered = !r.latency.is_empty();
    serde_json::json!({
        "Passed": v.passed, "Summary": v.summary, "Requests": r.sent, "Ok": r.ok,
        "StatusErrors": r.status_errors, "Timeouts": r.timeouts, "ConnectionErrors": r.connection_errors,
        "NotSent": r.not_sent, "MaxInFlight": r.max_in_flight,
        "Statuses": statuses, "Errors": r.reasons,
        "ErrorRate": r.error_rate(), "Rps": r.rps(), "SentRps": r.send_rate(), "TargetRps": r.target_rate,
        "AchievedRatio": r.achieved_ratio(),
        "ElapsedS": r.elapsed.as_secs_f64(), "DurationS": r.window.as_secs_f64(),
        "MinMs": answered.then(|| r.latency.min() as f64 / 1000.0),
        "MeanMs": answered.then(|| r.latency.mean() / 1000.0),
        "P50Ms": r.percentile(0.5), "P90Ms": r.percentile(0.9), "P95Ms": r.percentile(0.95),
        "P99Ms": r.percentile(0.99), "P999Ms": r.percentile(0.999), "MaxMs": r.percentile(1.0),
        "BytesReceived": r.bytes_received,
        "Insecure": cfg.insecure,
        "Histogram": histogram, "Thresholds": t,
    })
}

fn ms(v: f64) -> String {
    format!("{v:.2} ms")
}

/// The summary: counts, rates, statuses, failure reasons, latency statistics, bytes and a
/// histogram in even buckets.
pub fn summary_table(r: &Report, cfg: &Config) -> String {
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
    let answered = r.answered().max(1);
    s.push_str(&format!(
        "Bytes        {} received in response bodies ({:.0} per answer)\n",
        r.bytes_received,
        r.bytes_received as f64 / answered as f64
    ));
    if r.latency.is_empty() {
        s.push_str("Latency      none: no request was answered\n");
    } else {
        let p = |q: f64| ms(r.percentile_ms(q));
        s.push_str(&format!(
            "Latency      min {}   mean {}   max {}\n",
            ms(r.latency.min() as f64 / 1000.0),
            ms(r.latency.mean() / 1000.0),
            ms(r.max_ms())
        ));
        s.push_str(&format!(
            "             p50 {}   p90 {}   p95 {}   p99 {}   p99.9 {}\n",
            p(0.5),
            p(0.9),
            p(0.95),
            p(0.99),
            p(0.999)
        ));
        if r.timeouts > 0 {
            s.push_str(&format!(
                "             ({} timeouts counted at their timeout)\n",
                r.timeouts
            ));
        }
    }
    let total = r.latency.len();
    let buckets = r.buckets();
    if let Some((from, upto, _)) = buckets.first() {
        let width = upto - from;
        s.push_str("Histogram\n");
        for (_, upto, count) in buckets {
            let share = count as f64 / total as f64;
            // A bucket that holds anything shows at least one mark.
            let marks = if count > 0 {
                ((share * 40.0).round() as usize).max(1)
            } else {
                0
            };
            s.push_str(&format!(
                "  {:>14}  {:<40} {:>5.1}%\n",
                format!("<= {}", ms(upto)),
                "#".repeat(marks),
                share * 100.0
            ));
        }
        s.push_str(&format!("             (even buckets of {})\n", ms(width)));
    }
    if r.workers_answered > 1 || r.workers_failed > 0 {
        s.push_str(&format!(
            "Workers      {} of {} answered\n",
            r.workers_answered,
            r.workers_answered + r.workers_failed
        ));
    }
    if cfg.insecure && cfg.url.starts_with("https:") {
        s.push_str("TLS          the server's certificate was NOT verified (--insecure)\n");
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

    /// Issue 21: the flags oha and curl users type.
    #[test]
    fn the_flags_oha_and_curl_users_type_are_accepted() {
        for args in [
            &["-c", "50"][..],
            // oha's and hey's -q is the rate (queries per second); curl's -s is silent.
            &["-q", "100"],
            &["-q", "100", "-c", "20"],
            &["-s", "-c", "5"],
            &["-z", "30s", "-c", "5"],
            &["-z", "30", "-c", "5"],
            &["-n", "1000", "-c", "5"],
            &["-k", "-c", "5"],
            &["--insecure", "-c", "5"],
            &["--format", "json", "-c", "5"],
            &["--json", "-c", "5"],
            &[
                "--connect-to",
                "app.example.test:443:alb.example.test:8443",
                "-c",
                "5",
            ],
            &["--connect-to", "::127.0.0.1:8080", "-c", "5"],
        ] {
            assert!(
                parse(args).is_ok(),
                "{args:?}: {}",
                parse(args).err().unwrap()
            );
        }
    }

    /// Issue 21: every duration flag takes a bare number as seconds, and its errors state the
    /// bounds the command enforces.
    #[test]
    fn durations_take_a_bare_number_of_seconds_and_errors_give_the_bounds() {
        let a = parse(&[
            "-z",
            "60",
            "--warm-up",
            "2",
            "--timeout",
            "1.5",
            "--p99",
            "0.25",
        ])
        .unwrap();
        assert_eq!(a.duration, Some(Duration::from_secs(60)));
        assert_eq!(a.warm_up, Duration::from_secs(2));
        assert_eq!(a.timeout, Duration::from_millis(1500));
        assert_eq!(a.p99, Some(250.0));
        let a = parse(&["--duration", "2m", "--p50", "250ms"]).unwrap();
        assert_eq!(a.duration, Some(Duration::from_secs(120)));
        assert_eq!(a.p50, Some(250.0));
        for (args, error) in [
            (
                &["-z", "0"][..],
                "0s is out of range: the duration is 1ms to 7days",
            ),
            (
                &["-z", "8d"],
                "8days is out of range: the duration is 1ms to 7days",
            ),
            (
                &["--timeout", "2h"],
                "2h is out of range: the timeout is 1ms to 1h",
            ),
            (
                &["--warm-up", "61m"],
                "1h 1m is out of range: the warm-up is 0s to 1h",
            ),
            (
                &["--p99", "2h"],
                "2h is out of range: a latency threshold is 0s to 1h",
            ),
            (
                &["-z", "soon"],
                "'soon' is not a duration: write 60 (seconds), 60s, 2m or 250ms",
            ),
        ] {
            let e = parse(args).err().unwrap();
            assert!(e.contains(error), "{args:?}: {e}");
        }
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
        let cfg = Config::default();
        let t = summary_table(&r, &cfg);
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
        let j = json(&r, &Thresholds::defaults(), &v, &cfg);
        assert_eq!(j["P99Ms"], serde_json::Value::Null);
        assert_eq!(j["MinMs"], serde_json::Value::Null);
        assert_eq!(
            j["Errors"]["connection refused: Connection refused (os error 111)"],
            3
        );
        assert_eq!(j["Thresholds"]["MaxErrorRate"], 0.01);
    }

    /// Issue 21: `-q R -c C` is oha's rate over at most C connections; `-n` alone runs as long
    /// as the requests take; `--format json` and `--json` are the same.
    #[test]
    fn short_flags_map_to_the_engine_as_oha_means_them() {
        for (args, model, duration, requests, max_connections, insecure) in [
            (
                &["-c", "8"][..],
                Model::Concurrency(8),
                10_000,
                None,
                2000,
                false,
            ),
            (
                &["-q", "50", "-c", "4"],
                Model::Rate(50.0),
                10_000,
                None,
                4,
                false,
            ),
            (
                &["-q", "50", "-n", "100"],
                Model::Rate(50.0),
                2_000,
                Some(100),
                2000,
                false,
            ),
            (
                &["-c", "2", "-n", "10", "-z", "30"],
                Model::Concurrency(2),
                30_000,
                Some(10),
                2000,
                false,
            ),
            (
                &["-c", "1", "-k"],
                Model::Concurrency(1),
                10_000,
                None,
                2000,
                true,
            ),
        ] {
            let c = config(&parse(args).unwrap()).unwrap();
            assert_eq!(
                (
                    c.model,
                    c.duration.as_millis() as u64,
                    c.requests,
                    c.max_connections,
                    c.insecure
                ),
                (model, duration, requests, max_connections, insecure),
                "{args:?}"
            );
        }
        let e = config(&parse(&["-q", "0.001", "-n", "1000000"]).unwrap()).unwrap_err();
        assert!(e.contains("more than a run's 7days"), "{e}");
        for args in [&["--format", "json"][..], &["--json"]] {
            let a = parse(args).unwrap();
            assert!(a.json || a.format == Format::Json, "{args:?}");
        }
    }

    /// Issue 21: min, mean, p50 to p99.9, max and bytes in the table; the histogram's buckets
    /// are even; every JSON key (not the statuses' and reasons' data keys) is PascalCase.
    #[test]
    fn the_summary_gives_the_spread_and_bytes_and_json_keys_are_pascal_case() {
        let mut r = Report::empty(None);
        for ms in 1..=1000u64 {
            r.latency.record(ms * 1000).unwrap();
        }
        r.sent = 1000;
        r.ok = 1000;
        r.bytes_received = 2000;
        r.statuses.insert(200, 1000);
        r.elapsed = Duration::from_secs(1);
        let mut cfg = Config::new(
            "https://app.example.test/",
            Model::Concurrency(1),
            Duration::from_secs(1),
        );
        let t = summary_table(&r, &cfg);
        for want in [
            "Bytes        2000 received in response bodies (2 per answer)",
            "Latency      min 1.00 ms   mean 500.",
            "max 1000.",
            "p50 500.",
            "p95 950.",
            "p99 990.",
            "p99.9 999.",
            "Histogram\n",
            "(even buckets of 100.00 ms)",
        ] {
            assert!(t.contains(want), "{want}: {t}");
        }
        assert!(!t.contains("NOT verified"), "{t}");
        let bars: Vec<_> = t
            .lines()
            .filter(|l| l.trim_start().starts_with("<= "))
            .collect();
        assert!((10..=12).contains(&bars.len()), "{t}");
        cfg.insecure = true;
        assert!(summary_table(&r, &cfg)
            .contains("the server's certificate was NOT verified (--insecure)"));

        let j = json(
            &r,
            &Thresholds::defaults(),
            &judge(&r, &Thresholds::defaults()),
            &cfg,
        );
        assert_eq!(
            (j["BytesReceived"].as_u64(), j["Insecure"].as_bool()),
            (Some(2000), Some(true))
        );
        assert_eq!(j["MinMs"], 1.0);
        assert!(j["P999Ms"].as_f64().unwrap() >= 999.0);
        fn keys(v: &serde_json::Value, path: &str, out: &mut Vec<String>) {
            match v {
                serde_json::Value::Object(m) => {
                    for (k, v) in m {
                        out.push(format!("{path}{k}"));
                        // Statuses and Errors are keyed by data (200, a reason), not by names.
                        if k != "Statuses" && k != "Errors" {
                            keys(v, &format!("{path}{k}."), out);
                        }
                    }
                }
                serde_json::Value::Array(a) => a.iter().for_each(|v| keys(v, path, out)),
                _ => {}
            }
        }
        let mut all = Vec::new();
        keys(&j, "", &mut all);
        let pascal = |k: &str| {
            let last = k.rsplit('.').next().unwrap();
            last.starts_with(|c: char| c.is_ascii_uppercase())
                && last.chars().all(|c| c.is_ascii_alphanumeric())
        };
        let bad: Vec<_> = all.iter().filter(|k| !pascal(k)).collect();
        assert!(bad.is_empty(), "{bad:?}");
        assert!(all.len() > 30, "{all:?}");
    }
}
