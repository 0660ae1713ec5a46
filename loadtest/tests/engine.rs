//! The engine against real HTTP servers on 127.0.0.1: fast, delayed, slowing, erroring,
//! stalling and dead targets. Every run is bounded in time and count.

use fargate_loadtest::target::{start, Behaviour};
use fargate_loadtest::{judge, run, Config, EngineError, Model, Progress, Thresholds};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

fn p99(ms: f64) -> Thresholds {
    Thresholds {
        p99_ms: Some(ms),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fast_target_passes_and_every_request_is_counted() {
    let server = start(Behaviour::default(), 0).await.unwrap();
    let cfg = Config::new(
        &server.url("/health"),
        Model::Concurrency(4),
        Duration::from_millis(800),
    );
    let progress = Arc::new(Progress::default());
    let r = run(&cfg, progress.clone()).await.unwrap();
    assert!(r.ok > 50, "{r:?}");
    assert_eq!(r.errors(), 0);
    assert_eq!(r.sent, r.completed());
    assert_eq!(
        server.requests.load(Ordering::Relaxed),
        r.sent,
        "the server saw exactly what was sent"
    );
    assert_eq!(progress.sent.load(Ordering::Relaxed), r.sent);
    let v = judge(
        &r,
        &Thresholds {
            p99_ms: Some(200.0),
            max_error_rate: Some(0.0),
            min_rps: Some(10.0),
            ..Default::default()
        },
    );
    assert!(v.passed, "{}", v.summary);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_target_misses_its_latency_threshold() {
    let server = start(
        Behaviour {
            delay: Duration::from_millis(60),
            ..Default::default()
        },
        0,
    )
    .await
    .unwrap();
    let cfg = Config::new(&server.url("/"), Model::Rate(40.0), Duration::from_secs(1));
    let r = run(&cfg, Arc::default()).await.unwrap();
    assert_eq!(r.sent, 40);
    assert!(r.percentile_ms(0.5) >= 60.0, "p50 {}", r.percentile_ms(0.5));
    let v = judge(&r, &p99(30.0));
    assert!(!v.passed);
    assert!(
        v.summary.starts_with("p99 ") && v.summary.ends_with(" ms > 30.0 ms at 40 rps; 0% errors"),
        "{}",
        v.summary
    );
    assert!(judge(&r, &p99(500.0)).passed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_percent_errors_are_counted_by_kind() {
    let server = start(
        Behaviour {
            error_every: Some(20),
            ..Default::default()
        },
        0,
    )
    .await
    .unwrap();
    let cfg = Config::new(&server.url("/"), Model::Rate(400.0), Duration::from_secs(1));
    let r = run(&cfg, Arc::default()).await.unwrap();
    assert_eq!(r.sent, 400);
    assert_eq!(r.status_errors, 20, "{r:?}");
    assert_eq!(r.timeouts + r.connection_errors, 0);
    assert!((r.error_rate() - 0.05).abs() < 1e-9);
    let v = judge(
        &r,
        &Thresholds {
            max_error_rate: Some(0.01),
            ..Default::default()
        },
    );
    assert!(!v.passed);
    assert!(v.summary.contains("errors 5.0% > 1.0%"), "{}", v.summary);
    assert!(
        judge(
            &r,
            &Thresholds {
                max_error_rate: Some(0.06),
                ..Default::default()
            }
        )
        .passed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_target_times_out_and_never_passes() {
    let server = start(
        Behaviour {
            stall: true,
            ..Default::default()
        },
        0,
    )
    .await
    .unwrap();
    let mut cfg = Config::new(
        &server.url("/"),
        Model::Rate(20.0),
        Duration::from_millis(500),
    );
    cfg.timeout = Duration::from_millis(200);
    let r = run(&cfg, Arc::default()).await.unwrap();
    assert_eq!(r.sent, 10);
    assert_eq!(r.timeouts, 10);
    let v = judge(&r, &Thresholds::default());
    assert!(!v.passed);
    assert_eq!(v.summary, "no response to any of 10 requests (10 timeouts, 0 connection errors) at 20 rps; 100.0% errors");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_target_fails_with_a_clear_reason() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/");
    let r = run(
        &Config::new(&url, Model::Concurrency(2), Duration::from_millis(300)),
        Arc::default(),
    )
    .await
    .unwrap();
    assert!(r.connection_errors > 0 && r.ok == 0);
    assert!(judge(&r, &Thresholds::default())
        .summary
        .starts_with("no response to any of"));
    let mut cfg = Config::new(&url, Model::Rate(10.0), Duration::from_secs(1));
    cfg.warm_up = Duration::from_secs(1);
    let e = run(&cfg, Arc::default()).await.unwrap_err();
    assert_eq!(
        e,
        EngineError::NotReady {
            expected: 200,
            waited_s: 1,
            last: "connection error".into()
        }
    );
    assert_eq!(
        e.to_string(),
        "the target did not answer 200 within the 1 s warm-up (last: connection error)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warm_up_waits_for_the_target_before_measuring() {
    let server = start(
        Behaviour {
            unavailable_for: Duration::from_millis(1200),
            ..Default::default()
        },
        0,
    )
    .await
    .unwrap();
    let mut cfg = Config::new(
        &server.url("/"),
        Model::Rate(50.0),
        Duration::from_millis(400),
    );
    cfg.warm_up = Duration::from_secs(5);
    let r = run(&cfg, Arc::default()).await.unwrap();
    assert_eq!(r.sent, 20);
    assert_eq!(
        r.ok, 20,
        "no 503 from the start-up phase is measured: {r:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_open_model_holds_its_rate_while_the_target_slows_down() {
    // 500 rps for 3 s while each answer gets 40 ms slower per second.
    let server = start(
        Behaviour {
            delay: Duration::from_millis(5),
            slow_down_per_s: Duration::from_millis(40),
            ..Default::default()
        },
        0,
    )
    .await
    .unwrap();
    let cfg = Config::new(&server.url("/"), Model::Rate(500.0), Duration::from_secs(3));
    let r = run(&cfg, Arc::default()).await.unwrap();
    assert_eq!(r.sent, 1500);
    let send_rate = r.send_rate();
    assert!(
        (send_rate - 500.0).abs() / 500.0 <= 0.02,
        "send rate {send_rate}"
    );
    assert_eq!(r.ok, 1500, "{r:?}");
    // Answers near the end take over 100 ms: the latency shows it, the rate does not bend.
    assert!(
        r.percentile_ms(0.99) >= 100.0,
        "p99 {}",
        r.percentile_ms(0.99)
    );
    assert!(r.percentile_ms(0.5) < r.percentile_ms(0.99));
    assert!(judge(&r, &Thresholds::default()).passed);
}

#[tokio::test]
async fn bad_settings_are_refused_before_any_request() {
    let e = run(
        &Config::new("ftp://x/", Model::Rate(1.0), Duration::from_secs(1)),
        Arc::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, EngineError::BadUrl { .. }), "{e}");
    let e = run(
        &Config::new(
            "http://127.0.0.1:1/",
            Model::Rate(0.0),
            Duration::from_secs(1),
        ),
        Arc::default(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(e, EngineError::BadSetting { name: "Rate", .. }),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn method_headers_body_and_expected_status_are_sent() {
    let server = start(Behaviour::default(), 0).await.unwrap();
    let mut cfg = Config::new(
        &server.url("/x"),
        Model::Concurrency(1),
        Duration::from_millis(200),
    );
    cfg.method = "POST".into();
    cfg.headers = vec![("content-type".into(), "application/json".into())];
    cfg.body = Some("{\"a\":1}".into());
    cfg.expected_status = 201;
    let r = run(&cfg, Arc::default()).await.unwrap();
    // The target answers 200, which is not the expected 201: every answer is a status error.
    assert!(
        r.sent > 0 && r.status_errors == r.sent && r.ok == 0,
        "{r:?}"
    );
}
