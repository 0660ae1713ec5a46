//! ECS deployment lifecycle hooks: events in the shape of the ECS developer guide's payloads
//! (tests/fixtures/hooks, see its README), the state table in moto's DynamoDB, ECS behind
//! aws-smithy-mocks, and real local HTTP targets standing in for the test route.
//!
//! Payload, answer and rollback behaviour:
//! https://docs.aws.amazon.com/AmazonECS/latest/developerguide/lambda-lifecycle-hooks.html
//!
//! The fakes: moto's DynamoDB evaluates `ConditionExpression` and answers
//! `ConditionalCheckFailedException` as DynamoDB does, and reads are always consistent (what
//! DynamoDB guarantees for `ConsistentRead=true`, which the store uses). The ECS mock answers
//! DescribeServiceDeployments with one deployment in the given status, the only ECS call the
//! hook makes.

mod common;

use aws_sdk_dynamodb as ddb;
use aws_sdk_ecs as ecs;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use common::moto::Moto;
use common::{fake_alb_client, test_clients};
use fargate_loadtest::target::{start, Behaviour, TargetServer};
use fargate_provider::lifecycle_hook::{
    self, handle, is_rollback, HookAnswer, HookEvent, HookStatus, HookStore, RunState,
    PROGRESS_KEY, SETTINGS_KEY,
};
use fargate_provider::{handle_event, Clients};
use serde_json::{json, Value};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

const STAGES: [&str; 9] = [
    "pre_scale_up",
    "post_scale_up",
    "test_traffic_shift",
    "post_test_traffic_shift",
    "pre_production_traffic_shift",
    "production_traffic_shift",
    "post_production_traffic_shift",
    "rollback_production_traffic_shift",
    "rollback_test_traffic_shift",
];

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/hooks/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// The fixture with the gate's settings in `hookDetails`, as the macro configures the hook.
fn event(name: &str, settings: Value) -> HookEvent {
    let mut v = fixture(name);
    v["hookDetails"] = json!({ SETTINGS_KEY: settings });
    serde_json::from_value(v).unwrap()
}

fn deployment(status: ecs::types::ServiceDeploymentStatus) -> Rule {
    mock!(ecs::Client::describe_service_deployments)
        .sequence()
        .output(move || {
            ecs::operation::describe_service_deployments::DescribeServiceDeploymentsOutput::builder(
            )
            .service_deployments(
                ecs::types::ServiceDeployment::builder()
                    .status(status.clone())
                    .build(),
            )
            .build()
        })
        .repeatedly()
        .build()
}

fn clients(status: ecs::types::ServiceDeploymentStatus) -> Clients {
    let mut c = test_clients(fake_alb_client(Default::default(), 100));
    c.ecs = mock_client!(ecs, RuleMode::MatchAny, &[&deployment(status)]);
    c
}

fn in_progress_clients() -> Clients {
    clients(ecs::types::ServiceDeploymentStatus::InProgress)
}

/// A state table in moto, as cfn/provider.yaml declares it (key `Pk`, a string).
async fn store(moto: &Moto, table: &str) -> HookStore {
    common::moto::hook_store(moto, table).await
}

fn settings(target: &TargetServer, duration: u64) -> Value {
    json!({
        "Url": target.url("/health"),
        "Rate": 50,
        "Duration": duration,
        "WarmUp": 0,
        "CallBackDelay": 1,
        "Thresholds": { "MaxErrorRate": 0.01, "P99Ms": 1000 }
    })
}

fn deadline() -> Instant {
    Instant::now() + Duration::from_secs(120)
}

/// Invokes like ECS: again with the returned hookDetails while the answer is IN_PROGRESS.
async fn run_to_end(
    c: &Clients,
    st: &HookStore,
    mut ev: HookEvent,
) -> (Vec<HookAnswer>, HookEvent) {
    let mut answers = Vec::new();
    loop {
        let a = handle(c, Some(st), &ev, deadline()).await;
        answers.push(a.clone());
        if a.status != HookStatus::InProgress {
            return (answers, ev);
        }
        assert!(answers.len() < 20, "no end: {answers:?}");
        ev.hook_details = a.hook_details.clone();
    }
}

#[tokio::test]
async fn every_stage_payload_is_recognised_and_other_stages_succeed() {
    let c = in_progress_clients();
    for name in STAGES {
        let v = fixture(name);
        assert!(lifecycle_hook::is_hook_event(&v), "{name}");
        if name == "post_test_traffic_shift" {
            continue;
        }
        // No store: these stages never touch it.
        let a = handle(
            &c,
            None,
            &event(
                name,
                json!({"Url": "http://127.0.0.1:9/", "Rate": 1, "Duration": 1}),
            ),
            deadline(),
        )
        .await;
        assert_eq!(a.status, HookStatus::Succeeded, "{name}: {a:?}");
        assert_eq!(a.to_value(), json!({"hookStatus": "SUCCEEDED"}), "{name}");
    }
    // Through the Lambda entry point, next to custom-resource and alarm events.
    let out = handle_event(Arc::new(c), fixture("post_scale_up"), deadline()).await;
    assert_eq!(out, json!({"hookStatus": "SUCCEEDED"}));
}

#[test]
fn rollback_is_read_from_the_weights_of_the_re_invoked_stages_only() {
    let det = |n: &str| serde_json::from_value::<HookEvent>(fixture(n)).unwrap();
    for (name, rollback) in [
        ("rollback_production_traffic_shift", true),
        ("rollback_test_traffic_shift", true),
        ("production_traffic_shift", false),
        ("test_traffic_shift", false),
        // Same weights as a production rollback, but on the way forward.
        ("pre_production_traffic_shift", false),
        ("post_test_traffic_shift", false),
    ] {
        let e = det(name);
        assert_eq!(
            is_rollback(&e.lifecycle_stage, &e.execution_details),
            rollback,
            "{name}"
        );
    }
}

#[tokio::test]
async fn gate_passes_against_a_healthy_green_route() {
    let moto = Moto::start();
    let st = store(&moto, "pass").await;
    let target = start(Behaviour::default(), 0).await.unwrap();
    let c = in_progress_clients();
    let a = handle(
        &c,
        Some(&st),
        &event("post_test_traffic_shift", settings(&target, 2)),
        deadline(),
    )
    .await;
    assert_eq!(a.status, HookStatus::Succeeded, "{a:?}");
    assert_eq!(a.to_value(), json!({"hookStatus": "SUCCEEDED"}));
    assert!(a.reason.contains("passed"), "{}", a.reason);
    assert!(target.requests.load(Ordering::SeqCst) >= 80);
    let key = lifecycle_hook::record_key(&event("post_test_traffic_shift", json!({})));
    let rec = st.load(&key).await.unwrap().unwrap();
    assert_eq!(rec.status, "SUCCEEDED");
    assert_eq!(rec.lease_owner, None);
}

#[tokio::test]
async fn gate_fails_when_the_green_route_misses_a_threshold() {
    let moto = Moto::start();
    let st = store(&moto, "fail").await;
    // One answer in four is a 500: 25% errors against MaxErrorRate 1%.
    let target = start(
        Behaviour {
            error_every: Some(4),
            ..Default::default()
        },
        0,
    )
    .await
    .unwrap();
    let c = in_progress_clients();
    let ev = event("post_test_traffic_shift", settings(&target, 2));
    let a = handle(&c, Some(&st), &ev, deadline()).await;
    assert_eq!(a.status, HookStatus::Failed, "{a:?}");
    assert_eq!(a.to_value(), json!({"hookStatus": "FAILED"}));
    assert!(a.reason.contains("error"), "{}", a.reason);
    // Asked again (an ECS retry): the same answer, no second run.
    let before = target.requests.load(Ordering::SeqCst);
    let again = handle(&c, Some(&st), &ev, deadline()).await;
    assert_eq!(again.status, HookStatus::Failed);
    assert_eq!(target.requests.load(Ordering::SeqCst), before);
}

#[tokio::test]
async fn a_run_spans_three_in_progress_invocations_and_merges_them() {
    let moto = Moto::start();
    let st = store(&moto, "slices").await;
    let target = start(Behaviour::default(), 0).await.unwrap();
    let c = in_progress_clients();
    let mut s = settings(&target, 4);
    s["SliceSeconds"] = json!(1);
    let ev = event("post_test_traffic_shift", s);
    let (answers, _) = run_to_end(&c, &st, ev.clone()).await;
    let statuses: Vec<_> = answers.iter().map(|a| a.status).collect();
    assert_eq!(
        statuses,
        [
            HookStatus::InProgress,
            HookStatus::InProgress,
            HookStatus::InProgress,
            HookStatus::Succeeded
        ]
    );
    // Each IN_PROGRESS answer keeps the hook's settings and adds the progress summary.
    let mut last_requests = 0;
    for (i, a) in answers[..3].iter().enumerate() {
        let v = a.to_value();
        assert_eq!(v["callBackDelay"], json!(1));
        let d = &v["hookDetails"];
        assert_eq!(d[SETTINGS_KEY]["Duration"], json!(4));
        assert_eq!(d[PROGRESS_KEY]["Slices"], json!(i + 1));
        let r = d[PROGRESS_KEY]["Requests"].as_u64().unwrap();
        assert!(r > last_requests, "requests grow: {v}");
        last_requests = r;
        println!(
            "hookDetails bytes: {}",
            serde_json::to_string(d).unwrap().len()
        );
    }
    let rec = st
        .load(&lifecycle_hook::record_key(&ev))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rec.slices, 4);
    let merged = RunState::decode(rec.report.as_deref().unwrap()).unwrap();
    println!("state bytes: {}", rec.report.as_ref().unwrap().len());
    // Four sequential one-second slices: the measured time adds up, so the rate stays the
    // target's 50/s (merging them as parallel workers would report ~200/s over 1 s).
    assert!(
        (3.5..=4.6).contains(&merged.elapsed.as_secs_f64()),
        "{:?}",
        merged.elapsed
    );
    assert!(
        (40.0..=60.0).contains(&merged.rps()),
        "rps {}",
        merged.rps()
    );
    assert!(merged.sent > last_requests);
    assert_eq!(merged.latency.len(), merged.ok + merged.status_errors);
    assert_eq!(merged.errors(), 0);
    // Every request the target saw is in the merged report (no warm-up probes: WarmUp 0).
    assert_eq!(merged.completed(), target.requests.load(Ordering::SeqCst));
}

#[tokio::test]
async fn a_repeated_or_concurrent_invocation_never_starts_a_second_run() {
    let moto = Moto::start();
    let st = store(&moto, "repeat").await;
    let target = start(Behaviour::default(), 0).await.unwrap();
    let c = in_progress_clients();
    let ev = event("post_test_traffic_shift", settings(&target, 2));
    // A second invocation while the first is measuring (an ECS retry of a call that looks
    // lost): it waits, it does not send load. DynamoDB applies a conditional write atomically
    // (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/WorkingWithItems.html#WorkingWithItems.ConditionalUpdate);
    // moto's threaded server checks and writes without a lock, so two claims in the same
    // millisecond can both pass there: the second call comes 300 ms later, after the claim.
    let (a, b) = tokio::join!(handle(&c, Some(&st), &ev, deadline()), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        handle(&c, Some(&st), &ev, deadline()).await
    });
    assert_eq!(a.status, HookStatus::Succeeded, "{a:?}");
    assert_eq!(b.status, HookStatus::InProgress, "{b:?}");
    assert!(b.reason.contains("another invocation"), "{}", b.reason);
    let after_run = target.requests.load(Ordering::SeqCst);
    assert!(
        (80..=120).contains(&after_run),
        "one 2 s run at 50/s: {after_run}"
    );
    // The waiting one comes back (new execution ID, as for any retry): same answer, no load.
    let mut again = ev.clone();
    again.execution_id = "another-execution".into();
    for e in [&ev, &again] {
        let r = handle(&c, Some(&st), e, deadline()).await;
        assert_eq!(r.status, HookStatus::Succeeded, "{r:?}");
        assert!(r.reason.contains("repeated invocation"), "{}", r.reason);
    }
    assert_eq!(target.requests.load(Ordering::SeqCst), after_run);
}

#[tokio::test]
async fn a_slice_lost_with_its_invocation_is_run_again_after_the_lease() {
    let moto = Moto::start();
    let st = store(&moto, "lease").await;
    let target = start(Behaviour::default(), 0).await.unwrap();
    let c = in_progress_clients();
    let ev = event("post_test_traffic_shift", settings(&target, 1));
    let key = lifecycle_hook::record_key(&ev);
    // An invocation took the lease and died (Lambda timeout): its lease has run out.
    let put = |until: u64| {
        st.ddb
            .put_item()
            .table_name(&st.table)
            .item("Pk", ddb::types::AttributeValue::S(key.clone()))
            .item("Status", ddb::types::AttributeValue::S("RUNNING".into()))
            .item("Slices", ddb::types::AttributeValue::N("0".into()))
            .item("MeasuredMs", ddb::types::AttributeValue::N("0".into()))
            .item("LeaseOwner", ddb::types::AttributeValue::S("dead".into()))
            .item(
                "LeaseUntil",
                ddb::types::AttributeValue::N(until.to_string()),
            )
            .send()
    };
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    // Still leased: wait, no load.
    put(now_ms + 60_000).await.unwrap();
    let a = handle(&c, Some(&st), &ev, deadline()).await;
    assert_eq!(a.status, HookStatus::InProgress, "{a:?}");
    assert_eq!(target.requests.load(Ordering::SeqCst), 0);
    // Expired: this invocation runs the slice.
    put(now_ms - 1).await.unwrap();
    let a = handle(&c, Some(&st), &ev, deadline()).await;
    assert_eq!(a.status, HookStatus::Succeeded, "{a:?}");
    assert!(target.requests.load(Ordering::SeqCst) > 0);
}

#[tokio::test]
async fn rollback_invocations_always_succeed_without_load() {
    // A target that would fail every threshold, configured at every stage.
    let target = start(
        Behaviour {
            error_every: Some(1),
            ..Default::default()
        },
        0,
    )
    .await
    .unwrap();
    let mut s = settings(&target, 1);
    s["Stages"] = json!([
        "TEST_TRAFFIC_SHIFT",
        "PRODUCTION_TRAFFIC_SHIFT",
        "POST_TEST_TRAFFIC_SHIFT"
    ]);
    let c = in_progress_clients();
    for name in [
        "rollback_production_traffic_shift",
        "rollback_test_traffic_shift",
    ] {
        let a = handle(&c, None, &event(name, s.clone()), deadline()).await;
        assert_eq!(a.status, HookStatus::Succeeded, "{name}: {a:?}");
        assert!(a.reason.contains("rollback"), "{}", a.reason);
    }
    // The gate stage while ECS already rolls the deployment back (read from ECS).
    for status in [
        ecs::types::ServiceDeploymentStatus::RollbackInProgress,
        ecs::types::ServiceDeploymentStatus::RollbackRequested,
        ecs::types::ServiceDeploymentStatus::StopRequested,
    ] {
        let a = handle(
            &clients(status),
            None,
            &event("post_test_traffic_shift", s.clone()),
            deadline(),
        )
        .await;
        assert_eq!(a.status, HookStatus::Succeeded, "{a:?}");
    }
    assert_eq!(target.requests.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn bad_settings_fail_the_gate_naming_the_property() {
    let c = in_progress_clients();
    for (s, words) in [
        (
            json!({"Url": "http://127.0.0.1:9/", "Duration": 5}),
            "Rate or Concurrency",
        ),
        (json!({"Url": "http://127.0.0.1:9/", "Rate": 5}), "Duration"),
        (
            json!({"Url": "http://127.0.0.1:9/", "Rate": "fast", "Duration": 5}),
            "'fast' is not a number",
        ),
        (
            json!({"Url": "http://127.0.0.1:9/", "Rate": 5, "Duration": 5, "Rps": 1}),
            "Rps",
        ),
        (
            json!({"Url": "http://127.0.0.1:9/", "Rate": 5, "Duration": 5, "Thresholds": {"P99Ms": "slow"}}),
            "Thresholds.P99Ms: 'slow' is not a number",
        ),
    ] {
        let a = handle(&c, None, &event("post_test_traffic_shift", s), deadline()).await;
        assert_eq!(a.status, HookStatus::Failed);
        assert!(
            a.reason.contains("HookDetails") && a.reason.contains(words),
            "{}",
            a.reason
        );
    }
    // No settings at all at the gate stage.
    let ev: HookEvent = serde_json::from_value(fixture("post_test_traffic_shift")).unwrap();
    let a = handle(&c, None, &ev, deadline()).await;
    assert_eq!(a.status, HookStatus::Failed);
    assert!(a.reason.contains(SETTINGS_KEY), "{}", a.reason);
    // Numbers as strings (CloudFormation stringifies) are read.
    let s = lifecycle_hook::GateSettings::from_hook_details(Some(&json!({SETTINGS_KEY: {
        "Url": "http://x/", "Rate": "12.5", "Duration": "30", "SliceSeconds": "10",
        "Thresholds": {"P99Ms": "800", "MaxErrorRate": 0.02}
    }})))
    .unwrap();
    assert_eq!(
        (s.rate, s.duration, s.slice_seconds),
        (Some(12.5), 30, Some(10))
    );
    // Thresholds too (a parameter the macro wrote as a string), beside JSON numbers.
    assert_eq!(
        (s.thresholds.p99_ms, s.thresholds.max_error_rate),
        (Some(800.0), Some(0.02))
    );
    let s = lifecycle_hook::GateSettings::from_hook_details(Some(&json!({SETTINGS_KEY: {
        "Url": "http://x/", "Rate": 1, "Duration": 1
    }})))
    .unwrap();
    // No thresholds given: the engine's protective defaults apply, as at the post-deploy gate.
    assert_eq!(s.thresholds, fargate_loadtest::Thresholds::defaults());
}

#[tokio::test]
async fn a_warm_up_that_cannot_fit_the_invocation_fails_clearly() {
    let moto = Moto::start();
    let st = store(&moto, "short").await;
    let target = start(Behaviour::default(), 0).await.unwrap();
    let mut s = settings(&target, 30);
    s["WarmUp"] = json!(60);
    let ev = event("post_test_traffic_shift", s);
    // 20 s left: less than the warm-up, so no invocation could ever measure.
    let a = handle(
        &in_progress_clients(),
        Some(&st),
        &ev,
        Instant::now() + Duration::from_secs(20),
    )
    .await;
    assert_eq!(a.status, HookStatus::Failed, "{a:?}");
    assert!(a.reason.contains("WarmUp"), "{}", a.reason);
    assert_eq!(target.requests.load(Ordering::SeqCst), 0);
}

#[test]
fn the_largest_run_state_stays_small() {
    // Worst case for the histogram: latencies spread over its whole range (1 us to 1 h).
    let mut r = fargate_loadtest::Report::empty(Some(1000.0));
    let mut v = 1u64;
    while v < 3_600_000_000 {
        r.latency.record(v).unwrap();
        r.sent += 1;
        r.ok += 1;
        v = v + v / 200 + 1;
    }
    let state = RunState::encode(&r);
    println!("worst-case state bytes: {}", state.len());
    // A DynamoDB item holds at most 400 KB (names and values), the state is far below it:
    // https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html
    assert!(state.len() < 64 * 1024, "{}", state.len());
    let back = RunState::decode(&state).unwrap();
    assert_eq!(back.latency.len(), r.latency.len());
    assert_eq!(back.percentile_ms(0.99), r.percentile_ms(0.99));
}

/// Figures, not a check of speed: `cargo test -p fargate-app-provider --test lifecycle_hook
/// sixty -- --ignored --nocapture`. A 60 s gate at 50/s in 20 s slices, ECS's wait between
/// invocations played by sleeping `callBackDelay`.
#[tokio::test]
#[ignore]
async fn sixty_second_gate_figures() {
    let moto = Moto::start();
    let st = store(&moto, "sixty").await;
    let target = start(Behaviour::default(), 0).await.unwrap();
    let c = in_progress_clients();
    let mut s = settings(&target, 60);
    s["SliceSeconds"] = json!(20);
    let mut ev = event("post_test_traffic_shift", s);
    let first = std::time::Instant::now();
    let mut largest = 0;
    loop {
        let t = std::time::Instant::now();
        let a = handle(&c, Some(&st), &ev, deadline()).await;
        let size = a
            .hook_details
            .as_ref()
            .map(|d| serde_json::to_string(d).unwrap().len())
            .unwrap_or(0);
        largest = largest.max(size);
        println!(
            "invocation answered {:?} after {:.2} s (hookDetails {size} bytes)",
            a.status,
            t.elapsed().as_secs_f64()
        );
        if a.status != HookStatus::InProgress {
            assert_eq!(a.status, HookStatus::Succeeded, "{a:?}");
            break;
        }
        tokio::time::sleep(Duration::from_secs(a.call_back_delay.unwrap())).await;
        ev.hook_details = a.hook_details;
    }
    let rec = st
        .load(&lifecycle_hook::record_key(&ev))
        .await
        .unwrap()
        .unwrap();
    println!(
        "first invocation to final answer: {:.2} s; largest hookDetails {largest} bytes; state {} bytes",
        first.elapsed().as_secs_f64(),
        rec.report.unwrap().len()
    );
}

/// CloudFormation takes `HookDetails` as "a JSON object as a string" (the AWS::ECS::Service
/// schema) while the ECS guide shows the hook receiving a dictionary; the macro writes the
/// string form, so a hook must read its settings from either.
/// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/lambda-lifecycle-hooks.html
#[test]
fn hook_details_given_as_a_json_string_are_read_like_an_object() {
    let mut raw = fixture("post_test_traffic_shift");
    let settings = json!({ SETTINGS_KEY: { "Url": "http://x/", "Rate": 5, "Duration": 10 } });
    raw["hookDetails"] = json!(settings.to_string());
    let ev: HookEvent = serde_json::from_value(raw).unwrap();
    let s = lifecycle_hook::GateSettings::from_hook_details(ev.hook_details.as_ref()).unwrap();
    assert_eq!((s.rate, s.duration), (Some(5.0), 10));
    assert!(ev.hook_details.unwrap().is_object());
}
