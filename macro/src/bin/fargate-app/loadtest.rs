//! `fargate-app loadtest`: the deployment gate's engine from the command line. Exit 0 when every
//! threshold holds, 1 on a miss (so it serves as a CI step), 2 on bad input or an unreachable
//! target.

use fargate_loadtest::{judge, Config, Model, Progress, Report, Thresholds};
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
    /// How long to measure (e.g. 30s, 2m).
    #[arg(long, default_value = "10s", value_parser = duration)]
    duration: Duration,
    /// Wait up to this long for the expected status before measuring.
    #[arg(long, default_value = "0s", value_parser = duration)]
    warm_up: Duration,
    /// Latency thresholds (e.g. 250ms, 1s).
    #[arg(long, value_parser = millis)]
    p50: Option<f64>,
    #[arg(long, value_parser = millis)]
    p90: Option<f64>,
    #[arg(long, value_parser = millis)]
    p99: Option<f64>,
    /// Highest share of errors allowed (0.01 is 1%).
    #[arg(long)]
    max_error_rate: Option<f64>,
    /// Lowest rate of completed requests per second.
    #[arg(long)]
    min_rps: Option<f64>,
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
    /// Per-request timeout.
    #[arg(long, default_value = "5s", value_parser = duration)]
    timeout: Duration,
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

/// `250ms`, `30s`, `2m`, or plain seconds.
fn duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = s
        .find(|c: char| c.is_ascii_alphabetic())
        .map(|i| s.split_at(i))
        .unwrap_or((s, "s"));
    let n: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a duration such as 250ms, 30s or 2m"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        _ => return Err(format!("'{s}': unknown unit '{unit}' (ms, s, m)")),
    };
    if !(secs.is_finite() && secs >= 0.0) {
        return Err(format!("'{s}' is not a duration"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// A latency threshold in milliseconds (`250ms`, `1s`, or plain milliseconds).
fn millis(s: &str) -> Result<f64, String> {
    if s.trim().chars().all(|c| c.is_ascii_digit() || c == '.') {
        return s
            .trim()
            .parse()
            .map_err(|_| format!("'{s}' is not a number"));
    }
    duration(s).map(|d| d.as_secs_f64() * 1000.0)
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
        max_connections: 2000,
    };
    let thresholds = Thresholds {
        p50_ms: a.p50,
        p90_ms: a.p90,
        p99_ms: a.p99,
        max_error_rate: a.max_error_rate,
        min_rps: a.min_rps,
    };
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
        println!(
            "{}",
            serde_json::json!({
                "Passed": verdict.passed, "Summary": verdict.summary, "Requests": report.sent, "Ok": report.ok,
                "StatusErrors": report.status_errors, "Timeouts": report.timeouts, "ConnectionErrors": report.connection_errors,
                "ErrorRate": report.error_rate(), "Rps": report.rps(), "SentRps": report.send_rate(), "TargetRps": report.target_rate, "P50Ms": report.percentile_ms(0.5), "P90Ms": report.percentile_ms(0.9),
                "P99Ms": report.percentile_ms(0.99), "MaxMs": report.max_ms(),
            })
        );
    } else {
        print!("{}", summary_table(&report));
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

/// The summary: counts, rates, percentiles and a latency histogram.
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
    s.push_str(&format!("Rate         {:.1} rps completed", r.rps()));
    if let Some(t) = r.target_rate {
        s.push_str(&format!(", {:.1} rps sent of {t} asked", r.send_rate()));
    }
    s.push('\n');
    s.push_str(&format!(
        "Latency      p50 {:.2} ms   p90 {:.2} ms   p99 {:.2} ms   max {:.2} ms\n",
        r.percentile_ms(0.5),
        r.percentile_ms(0.9),
        r.percentile_ms(0.99),
        r.max_ms()
    ));
    let total = r.latency.len();
    if total > 0 {
        s.push_str("Histogram\n");
        let max = r.latency.max();
        let mut lower = 0u64;
        for edge_ms in [
            1u64,
            2,
            3,
            5,
            7,
            10,
            15,
            20,
            30,
            50,
            70,
            100,
            150,
            200,
            300,
            500,
            700,
            1000,
            2000,
            5000,
            10000,
            u64::MAX / 1000,
        ] {
            if lower > max {
                break;
            }
            let upper = (edge_ms * 1000).min(max);
            let count = r.latency.count_between(lower, upper);
            if count > 0 {
                let label = if edge_ms == u64::MAX / 1000 {
                    format!("> {} ms", lower / 1000)
                } else {
                    format!("<= {edge_ms} ms")
                };
                let share = count as f64 / total as f64;
                s.push_str(&format!(
                    "  {label:>10}  {:<40} {:>5.1}%\n",
                    "#".repeat((share * 40.0).round() as usize),
                    share * 100.0
                ));
            }
            lower = upper + 1;
        }
    }
    s
}
