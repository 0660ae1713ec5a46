//! The engine against real HTTP servers on 127.0.0.1: fast, delayed, slowing, erroring,
//! stalling and dead targets. Every run is bounded in time and count.

use fargate_loadtest::target::{start, Behaviour};
use fargate_loadtest::{
    judge, parse_duration, run, Config, EngineError, Model, Progress, Thresholds,
};
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
    let (reason, n) = r.reasons.iter().next().unwrap();
    assert!(reason.starts_with("connection refused: "), "{reason}");
    assert_eq!(*n, r.connection_errors);
    assert!(r.latency.is_empty(), "no answer, no latency");
    assert_eq!(r.percentile(0.5), None);
    assert!(judge(&r, &Thresholds::default())
        .summary
        .starts_with("no response to any of"));
    let mut cfg = Config::new(&url, Model::Rate(10.0), Duration::from_secs(1));
    cfg.warm_up = Duration::from_secs(1);
    let e = run(&cfg, Arc::default()).await.unwrap_err();
    let EngineError::NotReady { last, .. } = &e else {
        panic!("{e:?}")
    };
    // The reason and the OS's own words, e.g. "Connection refused (os error 111)".
    assert!(last.starts_with("connection refused: "), "{last}");
    assert!(
        e.to_string().starts_with(
            "the target did not answer 200 within the 1 s warm-up (last: connection refused: "
        ),
        "{e}"
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

// ---- Issue 11: every request counted, bounded open model, coordinated omission ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_never_answers_one_request_in_ten_fails_its_p99() {
    // 10% of requests hang: at p99 the user waits for the timeout, whatever the other 90% do.
    let server = start(
        Behaviour {
            stall_every: Some(10),
            ..Default::default()
        },
        0,
    )
    .await
    .unwrap();
    let mut cfg = Config::new(&server.url("/"), Model::Rate(100.0), Duration::from_secs(1));
    cfg.timeout = Duration::from_millis(500);
    let r = run(&cfg, Arc::default()).await.unwrap();
    assert_eq!(r.sent, 100);
    assert_eq!(r.timeouts, 10, "{r:?}");
    assert_eq!(r.completed(), 100);
    assert!(
        r.percentile_ms(0.99) >= 500.0,
        "timeouts weigh at their timeout: p99 {}",
        r.percentile_ms(0.99)
    );
    let v = judge(&r, &p99(100.0));
    assert!(!v.passed, "{}", v.summary);
    assert!(v.summary.starts_with("p99 "), "{}", v.summary);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_runs_from_the_intended_send_time_not_the_actual_one() {
    // Coordinated omission: one connection, a target taking 100 ms, a request asked every
    // 50 ms. A request that waits 50 ms for the connection then takes 100 ms was 150 ms late
    // for its user; timed from its actual send it would look like 100 ms.
    let server = start(
        Behaviour {
            delay: Duration::from_millis(100),
            ..Default::default()
        },
        0,
    )
    .await
    .unwrap();
    let mut cfg = Config::new(&server.url("/"), Model::Rate(20.0), Duration::from_secs(1));
    cfg.max_connections = 1;
    let r = run(&cfg, Arc::default()).await.unwrap();
    assert!(r.ok >= 5, "{r:?}");
    assert!(
        r.max_ms() >= 140.0,
        "waiting for the connection is latency: max {} ms",
        r.max_ms()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_model_run_at_ten_times_capacity_ends_on_time_and_reports_what_completed() {
    // The target serves 4 requests at a time in 20 ms each: 200 rps. We ask for 2,000 rps.
    let server = start(
        Behaviour {
            delay: Duration::from_millis(20),
            max_concurrent: Some(4),
            ..Default::default()
        },
        0,
    )
    .await
    .unwrap();
    let mut cfg = Config::new(
        &server.url("/"),
        Model::Rate(2000.0),
        Duration::from_secs(5),
    );
    cfg.timeout = Duration::from_secs(1);
    cfg.max_connections = 100;
    let r = run(&cfg, Arc::default()).await.unwrap();
    // The run's own measure of its length, against its configured bound.
    assert!(
        r.elapsed <= cfg.duration + cfg.timeout + Duration::from_secs(1),
        "ran {:?}",
        r.elapsed
    );
    // Honest rate: what completed per second of wall time, near the target's 200 rps, and
    // never more answers than the target gave.
    assert!(r.ok <= server.requests.load(Ordering::Relaxed));
    let answered_rate = r.ok as f64 / r.elapsed.as_secs_f64();
    assert!(answered_rate <= 200.0 * 1.2, "{answered_rate} answers/s");
    assert!((r.rps() - r.completed() as f64 / r.elapsed.as_secs_f64()).abs() < 1e-6);
    // Bounded work: never more than 2 x max_connections in flight; the rest is counted, not
    // queued, and every asked request is accounted for.
    assert!(r.max_in_flight <= 200, "{}", r.max_in_flight);
    assert!(r.not_sent > 0, "{r:?}");
    assert_eq!(r.sent + r.not_sent, 10_000);
    assert_eq!(r.completed(), r.sent, "every sent request ended");
    assert!((r.send_rate() - r.sent as f64 / 5.0).abs() < 1e-6);
    let v = judge(&r, &Thresholds::defaults());
    assert!(!v.passed);
    assert!(
        v.summary
            .contains("not sent on schedule (in-flight limit reached)"),
        "{}",
        v.summary
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_http_500s_fail_the_default_thresholds_and_are_counted_by_status() {
    let server = start(
        Behaviour {
            error_every: Some(1),
            ..Default::default()
        },
        0,
    )
    .await
    .unwrap();
    let cfg = Config::new(&server.url("/"), Model::Rate(50.0), Duration::from_secs(1));
    let r = run(&cfg, Arc::default()).await.unwrap();
    assert_eq!(r.statuses.get(&500), Some(&50), "{:?}", r.statuses);
    assert_eq!(r.statuses.len(), 1);
    assert!(
        judge(&r, &Thresholds::default()).passed,
        "no thresholds at all"
    );
    let v = judge(&r, &Thresholds::defaults());
    assert!(!v.passed);
    assert!(
        v.summary.starts_with("errors 100.0% > 1.0%"),
        "{}",
        v.summary
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_are_counted_with_their_reason() {
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
        Model::Concurrency(1),
        Duration::from_millis(100),
    );
    cfg.timeout = Duration::from_millis(250);
    let r = run(&cfg, Arc::default()).await.unwrap();
    assert_eq!(r.timeouts, 1);
    assert_eq!(
        r.reasons.get("timeout: no answer within 250ms"),
        Some(&1),
        "{:?}",
        r.reasons
    );
    // Recorded at its timeout, never as a fast answer.
    assert!(r.percentile_ms(0.5) >= 250.0);
}

#[test]
fn durations_take_a_unit_or_a_bare_number_of_seconds() {
    for (text, expected) in [
        ("250ms", Ok(Duration::from_millis(250))),
        ("90s", Ok(Duration::from_secs(90))),
        ("2m", Ok(Duration::from_secs(120))),
        ("1h", Ok(Duration::from_secs(3600))),
        ("1m 30s", Ok(Duration::from_secs(90))),
        // Issue 21: a bare number is seconds, as in the template's `Duration: 60`.
        ("60", Ok(Duration::from_secs(60))),
        ("1.5", Ok(Duration::from_millis(1500))),
        (
            "3 fortnights",
            Err("'3 fortnights' is not a duration: write 60 (seconds), 60s, 2m or 250ms"),
        ),
        (
            "-1",
            Err("'-1' is not a duration: write 60 (seconds), 60s, 2m or 250ms"),
        ),
    ] {
        assert_eq!(
            parse_duration(text),
            expected.map_err(String::from),
            "{text}"
        );
    }
}

/// Issue 21: `-n`, in both models: exactly N requests, however long the duration.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_count_stops_both_models_after_exactly_that_many() {
    for model in [Model::Concurrency(3), Model::Rate(400.0)] {
        let server = start(Behaviour::default(), 0).await.unwrap();
        let mut cfg = Config::new(&server.url("/"), model, Duration::from_secs(30));
        cfg.requests = Some(57);
        let started = std::time::Instant::now();
        let r = run(&cfg, Arc::default()).await.unwrap();
        assert_eq!((r.sent, r.ok), (57, 57), "{model:?}: {r:?}");
        assert_eq!(server.requests.load(Ordering::Relaxed), 57, "{model:?}");
        assert!(started.elapsed() < Duration::from_secs(20), "{model:?}");
        // The window is the time the requests took, so rates stay true.
        assert!(r.window < Duration::from_secs(20), "{model:?}: {r:?}");
    }
}

/// Issue 21: bytes received, counted by the engine (response bodies, as curl's size_download).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_received_are_the_response_bodies() {
    let server = start(Behaviour::default(), 0).await.unwrap();
    let mut cfg = Config::new(
        &server.url("/"),
        Model::Concurrency(2),
        Duration::from_secs(30),
    );
    cfg.requests = Some(40);
    let r = run(&cfg, Arc::default()).await.unwrap();
    // The target answers `ok`: 2 bytes each.
    assert_eq!(r.bytes_received, 2 * r.ok);
    assert_eq!(r.ok, 40);
    let back = r.to_wire().into_report().unwrap();
    assert_eq!(back.bytes_received, 80);
}

/// Issue 21: curl's `--connect-to HOST1:PORT1:HOST2:PORT2`, with the current `HOST[:PORT]`.
/// Empty HOST1/PORT1 match any, empty HOST2/PORT2 keep the URL's; a rule that does not match
/// the URL is not applied (https://curl.se/libcurl/c/CURLOPT_CONNECT_TO.html).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_to_takes_curls_form_and_its_empty_fields() {
    let server = start(Behaviour::default(), 0).await.unwrap();
    let port = server.addr.port();
    // The URL names a host that resolves nowhere: only a rule that applies reaches the server.
    let url = format!("http://app.invalid:{port}/");
    for (rule, reaches) in [
        (format!("app.invalid:{port}:127.0.0.1:{port}"), true),
        (format!("::127.0.0.1:{port}"), true),
        ("app.invalid::127.0.0.1:".to_string(), true),
        (format!(":{port}:127.0.0.1:"), true),
        (format!("127.0.0.1:{port}"), true),
        ("127.0.0.1".to_string(), true),
        // Another host or port in HOST1:PORT1: the rule does not apply.
        (format!("other.invalid:{port}:127.0.0.1:{port}"), false),
        (format!("app.invalid:1:127.0.0.1:{port}"), false),
    ] {
        let mut cfg = Config::new(&url, Model::Concurrency(1), Duration::from_millis(100));
        cfg.connect_to = Some(rule.clone());
        match run(&cfg, Arc::default()).await {
            Ok(r) => assert!(reaches && r.ok > 0 && r.errors() == 0, "{rule}: {r:?}"),
            Err(e) => assert!(
                !reaches
                    && matches!(e, EngineError::Resolve { ref host, .. } if host == "app.invalid"),
                "{rule}: {e}"
            ),
        }
    }
    for (rule, error) in [
        (
            "a:b:c",
            "'a:b:c' is neither HOST[:PORT] nor curl's HOST1:PORT1:HOST2:PORT2",
        ),
        ("a:1:b:x", "'x' is not a port in 'a:1:b:x'"),
    ] {
        let mut cfg = Config::new(&url, Model::Concurrency(1), Duration::from_secs(1));
        cfg.connect_to = Some(rule.into());
        assert_eq!(
            run(&cfg, Arc::default()).await.unwrap_err(),
            EngineError::BadSetting {
                name: "ConnectTo",
                reason: error.into()
            }
        );
    }
}
