//! The load-test gate: mocked CloudFormation (stack status), ECS (steady state) and Lambda
//! (fan-out), a real local target on 127.0.0.1 and a real local ResponseURL server.

mod common;

use aws_sdk_cloudformation as cfn;
use aws_sdk_ecs as ecs;
use aws_sdk_lambda as lambda;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use common::*;
use fargate_loadtest::target::{start, Behaviour};
use fargate_provider::load_test_gate::{run_local, RunSpec, WorkerReply};
use fargate_provider::{handle_event, Clients};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

fn stack(status: cfn::types::StackStatus) -> Rule {
    mock!(cfn::Client::describe_stacks).then_output(move || common::stacks_output(status.clone()))
}

const TD: &str = "arn:aws:ecs:us-east-1:1:task-definition/users:7";
const OLD_TD: &str = "arn:aws:ecs:us-east-1:1:task-definition/users:6";

/// One entry of DescribeServices' `deployments[]`, as ECS reports it for the rolling-update
/// (ECS) deployment controller: `status` PRIMARY is the most recent deployment, ACTIVE an older
/// one whose tasks are still being replaced; `rolloutState` IN_PROGRESS until the service
/// reaches a steady state, then COMPLETED, or FAILED when the circuit breaker stops it.
/// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Deployment.html
#[derive(Clone, Copy)]
struct Dep {
    td: &'static str,
    status: &'static str,
    rollout: Option<&'static str>,
    running: i32,
    desired: i32,
}

fn primary(td: &'static str, rollout: &'static str, running: i32, desired: i32) -> Dep {
    Dep {
        td,
        status: "PRIMARY",
        rollout: Some(rollout),
        running,
        desired,
    }
}

fn older(td: &'static str, running: i32) -> Dep {
    Dep {
        td,
        status: "ACTIVE",
        rollout: Some("COMPLETED"),
        running,
        desired: 0,
    }
}

/// DescribeServices for service `users` with these deployments (the service-level counts are
/// the primary's desired count and the sum of running tasks, as ECS reports them).
fn service_of(
    deps: Vec<Dep>,
) -> impl Fn() -> ecs::operation::describe_services::DescribeServicesOutput {
    move || {
        let desired = deps
            .iter()
            .find(|d| d.status == "PRIMARY")
            .map_or(0, |d| d.desired);
        let mut s = ecs::types::Service::builder()
            .service_name("users")
            .running_count(deps.iter().map(|d| d.running).sum())
            .desired_count(desired);
        for d in &deps {
            s = s.deployments(
                ecs::types::Deployment::builder()
                    .status(d.status)
                    .task_definition(d.td)
                    .set_rollout_state(d.rollout.map(ecs::types::DeploymentRolloutState::from))
                    .rollout_state_reason("ECS deployment circuit breaker: tasks failed to start.")
                    .running_count(d.running)
                    .desired_count(d.desired)
                    .build(),
            );
        }
        ecs::operation::describe_services::DescribeServicesOutput::builder()
            .services(s.build())
            .build()
    }
}

/// The new revision, deployed and steady with `n` tasks.
fn steady(n: i32) -> impl Fn() -> ecs::operation::describe_services::DescribeServicesOutput {
    service_of(vec![primary(TD, "COMPLETED", n, n)])
}

fn clients(cfn_rules: &[&Rule], ecs_rules: &[&Rule], lambda_rules: &[&Rule]) -> Arc<Clients> {
    let mut c = test_clients(fake_alb_client(Default::default(), 100));
    // DescribeStackResource: the gate's resource is UPDATE_IN_PROGRESS (the Update is current,
    // not a late duplicate; statuses:
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackResource.html).
    let current = resource_status(cfn::types::ResourceStatus::UpdateInProgress);
    let rules: Vec<&Rule> = std::iter::once(&current)
        .chain(cfn_rules.iter().copied())
        .collect();
    c.cfn = mock_client!(cfn, RuleMode::MatchAny, rules);
    c.ecs = mock_client!(ecs, RuleMode::Sequential, ecs_rules);
    c.lambda = mock_client!(lambda, RuleMode::Sequential, lambda_rules);
    Arc::new(c)
}

fn gate(url: &str, response: &str, extra: Value) -> Value {
    let mut props = json!({
        "ServiceToken": "x", "Url": url, "TaskDefinitionArn": TD,
        "Cluster": "cluster", "ServiceName": "users", "Method": "GET", "ExpectedStatus": "200", "TimeoutMs": "2000",
        "Rate": "50", "Duration": "1", "WarmUp": "2", "Workers": "1", "Thresholds": { "P99Ms": "500", "MaxErrorRate": "0.01" }
    });
    for (k, v) in extra.as_object().unwrap() {
        props[k] = v.clone();
    }
    let mut ev = request(
        "Create",
        "Custom::FargateLoadTestGate",
        response,
        props,
        None,
        None,
    );
    ev["LogicalResourceId"] = json!("UsersLoadTestGate");
    ev
}

/// `ev` as an Update of the gate with unchanged properties (what a rollback sends).
fn update(mut ev: Value) -> Value {
    ev["RequestType"] = json!("Update");
    ev["PhysicalResourceId"] = json!("UsersLoadTestGate-load-test-gate");
    ev["OldResourceProperties"] = ev["ResourceProperties"].clone();
    ev
}

/// DescribeServices: the new revision steady with `n` tasks, as often as asked.
fn steady_rule(n: i32) -> Rule {
    mock!(ecs::Client::describe_services).then_output(steady(n))
}

/// Clients of a stack in UPDATE_IN_PROGRESS whose service answers `ecs`.
fn updating(ecs: &Rule, lambda: &[&Rule]) -> Arc<Clients> {
    clients(
        &[&stack(cfn::types::StackStatus::UpdateInProgress)],
        &[ecs],
        lambda,
    )
}

/// Requests the local target has received.
fn sent(target: &fargate_loadtest::target::TargetServer) -> u64 {
    target.requests.load(std::sync::atomic::Ordering::Relaxed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_deployment_passes_with_its_figures_as_attributes() {
    let target = start(Behaviour::default(), 0).await.unwrap();
    let c = updating(&steady_rule(2), &[]);
    let b = answer(c, 60, |r| gate(&target.url("/stress-test"), r, json!({}))).await;
    assert_eq!(b["Status"], "SUCCESS", "{b}");
    assert_eq!(b["PhysicalResourceId"], "UsersLoadTestGate-load-test-gate");
    assert_eq!(b["Data"]["Requests"], "50");
    assert_eq!(b["Data"]["ErrorRate"], "0.0000");
    for k in ["P50Ms", "P90Ms", "P99Ms", "Rps"] {
        assert!(
            b["Data"][k].as_str().unwrap().parse::<f64>().unwrap() > 0.0,
            "{k}: {b}"
        );
    }
    assert_eq!(sent(&target), 51, "one warm-up request, then 50");
}

/// Figures that miss a threshold fail the stack with the figures as the reason:
/// - a gate given no thresholds still protects: the engine's defaults (errors at most 1%, at
///   least 95% of the asked requests completed) apply, so a revision answering 500 to every
///   other request (it passes the warm-up, which waits for one 200) fails;
/// - a slow revision (40 ms a request, one error in ten) misses a 10 ms p99 and 1% of errors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_missing_a_threshold_fails_the_stack_with_the_reason() {
    type Check = fn(&str) -> bool;
    let cases: [(&str, Behaviour, Value, Check); 2] = [
        (
            "no thresholds, 500 every other request",
            Behaviour {
                error_every: Some(2),
                ..Default::default()
            },
            json!({ "Thresholds": null }),
            |reason| reason.contains("errors 50.0% > 1.0%"),
        ),
        (
            "40 ms a request, one in ten failing",
            Behaviour {
                delay: Duration::from_millis(40),
                error_every: Some(10),
                ..Default::default()
            },
            json!({ "Thresholds": { "P99Ms": "10", "MaxErrorRate": "0.01" } }),
            |reason| {
                let p99: f64 = reason
                    .trim_start_matches("load test failed: p99 ")
                    .split(' ')
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap();
                p99 >= 40.0
                    && reason
                        .ends_with(" ms > 10.0 ms, errors 10.0% > 1.0% at 50 rps; 10.0% errors")
            },
        ),
    ];
    for (what, behaviour, extra, check) in cases {
        let target = start(behaviour, 0).await.unwrap();
        let c = clients(
            &[&stack(cfn::types::StackStatus::CreateInProgress)],
            &[&steady_rule(1)],
            &[],
        );
        let b = answer(c, 60, |r| {
            let mut ev = gate(&target.url("/"), r, json!({}));
            for (k, v) in extra.as_object().unwrap() {
                match v {
                    Value::Null => ev["ResourceProperties"].as_object_mut().unwrap().remove(k),
                    _ => ev["ResourceProperties"]
                        .as_object_mut()
                        .unwrap()
                        .insert(k.clone(), v.clone()),
                };
            }
            ev
        })
        .await;
        assert_eq!(b["Status"], "FAILED", "{what}: {b}");
        let reason = b["Reason"].as_str().unwrap();
        assert!(check(reason), "{what}: {reason}");
    }
}

/// Properties the gate cannot use are refused naming the property, before anything is read or
/// sent. Seconds given as a huge number are refused, not multiplied into an overflow (a panic
/// in a debug build, a wrapped duration in a release one).
#[tokio::test]
async fn bad_properties_are_refused_naming_the_property() {
    let huge = u64::MAX.to_string();
    let cases = [
        ("http://127.0.0.1:9/", json!({ "Duration": huge }), "Duration"),
        ("http://127.0.0.1:9/", json!({ "WarmUp": huge }), "WarmUp"),
        (
            "http://127.0.0.1:1/",
            json!({ "RoutingHeader": { "Name": "X FargateApp", "Value": ROUTE } }),
            "property RoutingHeader: Name 'X FargateApp' is not an HTTP header name",
        ),
        (
            "http://127.0.0.1:1/",
            json!({ "RoutingHeader": { "Name": "X-FargateApp-Gate" } }),
            "property RoutingHeader: give Name and Value",
        ),
        (
            "http://127.0.0.1:1/",
            json!({ "RoutingHeader": { "Name": "X-FargateApp-Gate", "Value": ROUTE },
                    "Headers": { "x-fargateapp-gate": "mine" } }),
            "property Headers: x-fargateapp-gate is the gate's RoutingHeader; remove it from Headers",
        ),
        (
            "https://127.0.0.1:1/",
            json!({ "Host": "app example.test" }),
            "property Host: 'app example.test' is not a host name",
        ),
    ];
    for (url, extra, reason) in cases {
        let b = answer(clients(&[], &[], &[]), 10, |r| gate(url, r, extra.clone())).await;
        assert_eq!(b["Status"], "FAILED", "{extra}: {b}");
        let got = b["Reason"].as_str().unwrap();
        // A bare property name: the reason names it (and no panic); a sentence: it is the reason.
        if reason.contains(' ') {
            assert_eq!(got, reason);
        } else {
            assert!(got.contains(reason) && !got.contains("panic"), "{got}");
        }
    }
}

/// ECS speaks JSON 1.1 (Lambda too): the error code is `__type`.
fn json_error(t: &str, m: &str) -> String {
    format!(r#"{{"__type":"{t}","message":"{m}"}}"#)
}

/// The gate measures the new revision only once ECS has deployed it (rolling-update
/// controller, API_Deployment.html above), within the time it has; no load is sent before:
/// - a rollout still IN_PROGRESS is polled until steady, or given up in bounds;
/// - a service still on the old task definition (CloudFormation's update not yet reflected, or
///   ECS back on the old revision) is waited for (today's gate took "one deployment, running
///   == desired" for the new revision and measured the old code);
/// - a throttled DescribeServices (past the SDK's own three attempts) is polled again rather
///   than failing the deployment; a denial fails at once with ECS's words;
/// - a rollout the deployment circuit breaker marked FAILED will never complete: said at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gate_waits_for_the_new_revision_and_gives_up_in_bounds() {
    let rolling = || service_of(vec![primary(TD, "IN_PROGRESS", 1, 2), older(OLD_TD, 1)]);
    let old = || service_of(vec![primary(OLD_TD, "COMPLETED", 2, 2)]);
    let services = || mock!(ecs::Client::describe_services).sequence();
    // What, DescribeServices, properties, seconds left, status, reason, DescribeServices calls.
    #[allow(clippy::type_complexity)]
    let cases: Vec<(&str, Rule, Value, u64, &str, Option<&str>, Option<usize>)> = vec![
        (
            "rolling out three times, then steady",
            services().output(rolling()).times(3).output(steady(2)).build(),
            json!({}),
            60,
            "SUCCESS",
            None,
            Some(4),
        ),
        (
            "rolling out for ever",
            services().output(rolling()).repeatedly().build(),
            json!({ "WarmUp": "0" }),
            10,
            "FAILED",
            Some("service users did not finish deploying users:7 in time: its rollout is IN_PROGRESS (1 of 2 tasks running)"),
            None,
        ),
        (
            "old revision twice, rolling out, old tasks draining, then steady",
            services()
                .output(old())
                .times(2)
                .output(service_of(vec![primary(TD, "IN_PROGRESS", 0, 2), older(OLD_TD, 2)]))
                .output(service_of(vec![primary(TD, "COMPLETED", 2, 2), older(OLD_TD, 1)]))
                .output(steady(2))
                .build(),
            json!({ "WarmUp": "0" }),
            60,
            "SUCCESS",
            None,
            Some(5),
        ),
        (
            "the old revision for ever",
            services().output(old()).repeatedly().build(),
            json!({ "WarmUp": "0" }),
            8,
            "FAILED",
            Some("service users did not finish deploying users:7 in time: its primary deployment runs users:6"),
            None,
        ),
        (
            "throttled four times, then steady",
            services()
                .http_status(400, Some(json_error("ThrottlingException", "Rate exceeded")))
                .times(4)
                .output(steady(1))
                .build(),
            json!({ "WarmUp": "0" }),
            60,
            "SUCCESS",
            None,
            Some(5),
        ),
        (
            "denied",
            services()
                .http_status(
                    400,
                    Some(json_error(
                        "AccessDeniedException",
                        "not authorized to perform: ecs:DescribeServices",
                    )),
                )
                .repeatedly()
                .build(),
            json!({ "WarmUp": "0" }),
            60,
            "FAILED",
            Some("DescribeServices failed: AccessDeniedException: not authorized to perform: ecs:DescribeServices"),
            Some(1),
        ),
        (
            "the circuit breaker failed the rollout",
            services()
                .output(service_of(vec![primary(TD, "FAILED", 0, 2), older(OLD_TD, 2)]))
                .repeatedly()
                .build(),
            json!({}),
            60,
            "FAILED",
            Some("the deployment of users:7 to service users FAILED: ECS deployment circuit breaker: tasks failed to start."),
            Some(1),
        ),
    ];
    let target = start(Behaviour::default(), 0).await.unwrap();
    for (what, rule, extra, secs, status, reason, calls) in cases {
        let before = sent(&target);
        let b = answer(updating(&rule, &[]), secs, |r| {
            gate(&target.url("/"), r, extra)
        })
        .await;
        assert_eq!(b["Status"], status, "{what}: {b}");
        if let Some(reason) = reason {
            assert_eq!(b["Reason"], reason, "{what}");
            assert_eq!(
                sent(&target),
                before,
                "{what}: no load is sent to a revision that is not deployed"
            );
        }
        if let Some(calls) = calls {
            assert_eq!(rule.num_calls(), calls, "{what}: DescribeServices calls");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duration_past_the_deadline_is_refused_not_shortened() {
    // Issue 18 section 3: a shortened test is a weaker gate than the template promises, so a
    // Duration that cannot fit is answered FAILED (it used to be capped and passed).
    let target = start(Behaviour::default(), 0).await.unwrap();
    let t0 = Instant::now();
    let extra = json!({ "Duration": "600", "WarmUp": "0", "Rate": "20" });
    let b = answer(updating(&steady_rule(1), &[]), 9, |r| {
        gate(&target.url("/"), r, extra)
    })
    .await;
    assert!(t0.elapsed() < Duration::from_secs(9));
    assert_eq!(b["Status"], "FAILED", "{b}");
    let reason = b["Reason"].as_str().unwrap();
    assert!(
        reason.contains("the load test needs 600 s of load"),
        "{reason}"
    );
    assert_eq!(
        sent(&target),
        0,
        "no load is sent for a test that cannot fit"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_event_runs_its_share_and_returns_the_histogram() {
    let target = start(Behaviour::default(), 0).await.unwrap();
    let c = clients(&[], &[], &[]);
    let ev = json!({ "FargateAppLoadWorker": { "Url": target.url("/"), "Method": "GET", "Headers": [], "Body": null, "ExpectedStatus": 200,
        "TimeoutMs": 1000, "Rate": 20.0, "Concurrency": null, "DurationMs": 500, "WarmUpMs": 0 } });
    let out = handle_event(c, ev, Instant::now() + Duration::from_secs(10)).await;
    let reply: WorkerReply = serde_json::from_value(out).unwrap();
    let report = reply.report.unwrap().into_report().unwrap();
    assert_eq!(report.sent, 10);
    assert_eq!(report.latency.len(), 10);
}

#[tokio::test]
async fn delete_is_a_no_op() {
    let b = answer(clients(&[], &[], &[]), 10, |r| {
        let mut ev = gate("http://127.0.0.1:1/", r, json!({}));
        ev["RequestType"] = json!("Delete");
        ev["PhysicalResourceId"] = json!("UsersLoadTestGate-load-test-gate");
        ev
    })
    .await;
    assert_eq!(b["Status"], "SUCCESS");
}

// ---- Fail closed: when the gate may skip (issue 11, item 10) ----

/// CloudFormation's query-protocol error body (the same shape for every code).
fn cfn_error(code: &str, message: &str) -> String {
    format!(
        r#"<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>1</RequestId></ErrorResponse>"#
    )
}

fn access_denied() -> Rule {
    mock!(cfn::Client::describe_stacks)
        .sequence()
        .http_status(
            403,
            Some(cfn_error(
                "AccessDenied",
                "User: arn:aws:sts::1:assumed-role/provider/x is not authorized to perform: cloudformation:DescribeStacks",
            )),
        )
        .repeatedly()
        .build()
}

/// What the gate answers for one stack status.
struct StackCase {
    what: &'static str,
    stacks: Rule,
    update: bool,
    extra: Value,
    status: &'static str,
    /// `Data.Skipped` when the gate stood aside (None: it measured or failed).
    skipped: Option<&'static str>,
    /// Part of the reason of a FAILED answer.
    reason: Option<&'static str>,
    stacks_calls: Option<usize>,
}

/// When the gate skips itself, from the stack's status:
/// - only a rollback in progress skips, without sending load: an ordinary update is measured,
///   and so is a status that names a finished rollback (an older check matched any status
///   containing ROLLBACK);
/// - a rollback sends the old properties, which a newer provider may no longer accept: the
///   rollback check comes before any property check, so a rollback never fails on them;
/// - throttling is transient: the status is read again (past the SDK's own retries), the gate
///   runs;
/// - a Create is never part of a rollback (a rollback sends Update with the old properties and
///   Delete for what the failed operation created:
///   https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-requesttypes.html),
///   so a Create always measures, whatever DescribeStacks would say;
/// - during an Update a status that cannot be read (a missing permission is not transient) may
///   hide a rollback, and may as well hide a broken deployment: fail closed, and say why
///   (issue 18 section 3: it used to skip itself and answer SUCCESS).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gate_skips_only_a_rollback_and_fails_closed() {
    use cfn::types::StackStatus as S;
    let rolling_back = "the stack is rolling back (UPDATE_ROLLBACK_IN_PROGRESS)";
    let short = json!({ "WarmUp": "0", "Rate": "20" });
    let case = |what, stacks, status, skipped| StackCase {
        what,
        stacks,
        update: true,
        extra: short.clone(),
        status,
        skipped,
        reason: None,
        stacks_calls: None,
    };
    let cases = vec![
        StackCase {
            extra: json!({}),
            ..case(
                "update rollback",
                stack(S::UpdateRollbackInProgress),
                "SUCCESS",
                Some(rolling_back),
            )
        },
        StackCase {
            extra: json!({ "Rate": "fast", "Host": "app example" }),
            ..case(
                "update rollback with properties this provider refuses",
                stack(S::UpdateRollbackInProgress),
                "SUCCESS",
                Some(rolling_back),
            )
        },
        case(
            "create rollback",
            stack(S::RollbackInProgress),
            "SUCCESS",
            Some(""),
        ),
        case("update", stack(S::UpdateInProgress), "SUCCESS", None),
        case(
            "a finished rollback",
            stack(S::UpdateRollbackComplete),
            "SUCCESS",
            None,
        ),
        StackCase {
            extra: json!({}),
            stacks_calls: Some(5),
            ..case(
                "throttled four times",
                mock!(cfn::Client::describe_stacks)
                    .sequence()
                    .http_status(400, Some(cfn_error("Throttling", "Rate exceeded")))
                    // More than the SDK's own three attempts.
                    .times(4)
                    .output(|| common::stacks_output(S::UpdateInProgress))
                    .build(),
                "SUCCESS",
                None,
            )
        },
        StackCase {
            update: false,
            extra: json!({}),
            stacks_calls: Some(0),
            ..case("a Create, status denied", access_denied(), "SUCCESS", None)
        },
        StackCase {
            extra: json!({}),
            reason: Some("AccessDenied"),
            stacks_calls: Some(1),
            ..case("an Update, status denied", access_denied(), "FAILED", None)
        },
    ];
    for c in cases {
        let target = start(Behaviour::default(), 0).await.unwrap();
        let clients = clients(&[&c.stacks], &[&steady_rule(1)], &[]);
        let b = answer(clients, 30, |r| {
            let ev = gate(&target.url("/"), r, c.extra.clone());
            if c.update {
                update(ev)
            } else {
                ev
            }
        })
        .await;
        let what = c.what;
        assert_eq!(b["Status"], c.status, "{what}: {b}");
        match c.skipped {
            Some("") => assert!(b["Data"].get("Skipped").is_some(), "{what}: {b}"),
            Some(s) => assert_eq!(b["Data"]["Skipped"], s, "{what}: {b}"),
            None => assert!(b["Data"].get("Skipped").is_none(), "{what}: {b}"),
        }
        if let Some(reason) = c.reason {
            let got = b["Reason"].as_str().unwrap();
            assert!(got.contains(reason), "{what}: {got}");
        }
        let measured = c.status == "SUCCESS" && c.skipped.is_none();
        assert_eq!(
            sent(&target) > 0,
            measured,
            "{what}: load sent only when measured"
        );
        if measured && c.extra == json!({}) {
            assert_eq!(b["Data"]["Requests"], "50", "{what}: {b}");
        }
        if let Some(n) = c.stacks_calls {
            assert_eq!(
                c.stacks.num_calls(),
                n,
                "{what}: DescribeStacks calls (a denial is not retried; a Create needs no status)"
            );
        }
    }
}

// ---- Reaching the App's own target group (items 7 and 8) ----

/// One request's headers, names in lower case.
type Headers = Vec<(String, String)>;

/// A local HTTP/1.1 target that answers 200 and records every request's headers (names in
/// lower case), so tests can see what the gate sent.
struct RecordingTarget {
    url: String,
    seen: Arc<std::sync::Mutex<Vec<Headers>>>,
    task: tokio::task::JoinHandle<()>,
}

impl RecordingTarget {
    async fn start() -> Self {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = seen.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let log = log.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    loop {
                        // Bodiless requests: each head ends at the first blank line.
                        while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&buf[..end]).to_string();
                            buf.drain(..end + 4);
                            let headers = head
                                .lines()
                                .skip(1)
                                .filter_map(|l| l.split_once(':'))
                                .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                                .collect();
                            log.lock().unwrap().push(headers);
                            let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                            if conn.write_all(ok).await.is_err() {
                                return;
                            }
                        }
                        match conn.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                });
            }
        });
        RecordingTarget { url, seen, task }
    }

    fn requests(&self) -> Vec<Headers> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for RecordingTarget {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn header<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
    h.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

const ROUTE: &str = "Users-6f1c2a8e-1b7d-4c1e-9b1a-2f4e5d6c7b8a";

/// What reaches the target: with `Failover` the listener's traffic is split by weight; the
/// macro adds a rule that forwards requests carrying the routing header to the App's own
/// target group, so every request of the gate, warm-up included, must carry it (and the
/// template's `Headers`). The gate hands `Host` to the engine, which connects to the URL's
/// address while presenting that name (SNI and the Host header).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_gate_sends_carries_the_routing_header_and_the_host() {
    type Check = fn(&[Headers]) -> Result<(), String>;
    let cases: [(&str, Value, Check); 2] = [
        (
            "routing header",
            json!({
                "RoutingHeader": { "Name": "X-FargateApp-Gate", "Value": ROUTE },
                "Headers": { "X-Trace": "1" },
            }),
            |seen| {
                if seen.len() != 51 {
                    return Err(format!(
                        "{} requests, not one warm-up request then 50",
                        seen.len()
                    ));
                }
                match seen.iter().find(|h| {
                    header(h, "x-fargateapp-gate") != Some(ROUTE)
                        || header(h, "x-trace") != Some("1")
                }) {
                    Some(h) => Err(format!("{h:?}")),
                    None => Ok(()),
                }
            },
        ),
        ("host", json!({ "Host": "app.example.test" }), |seen| {
            if seen.is_empty() {
                return Err("nothing sent".into());
            }
            // The URL's port may follow the name; the name is what ALB host rules and SNI see.
            match seen.iter().find(|h| {
                header(h, "host").unwrap_or_default().split(':').next() != Some("app.example.test")
            }) {
                Some(h) => Err(format!("{h:?}")),
                None => Ok(()),
            }
        }),
    ];
    for (what, extra, check) in cases {
        let target = RecordingTarget::start().await;
        let b = answer(updating(&steady_rule(1), &[]), 60, |r| {
            gate(&target.url, r, extra)
        })
        .await;
        assert_eq!(b["Status"], "SUCCESS", "{what}: {b}");
        if let Err(e) = check(&target.requests()) {
            panic!("{what}: {e}");
        }
    }
}

/// What one worker sends back: a real run of `rate` for 1 s against `url`.
async fn worker_reply(url: &str, rate: f64) -> Vec<u8> {
    let spec = RunSpec {
        url: url.into(),
        method: "GET".into(),
        headers: vec![],
        body: None,
        expected_status: 200,
        timeout_ms: 2000,
        rate: Some(rate),
        concurrency: None,
        duration_ms: 1000,
        warm_up_ms: 0,
        host: None,
    };
    let part = run_local(&spec).await.unwrap();
    serde_json::to_vec(&WorkerReply {
        report: Some(part.to_wire()),
        error: None,
    })
    .unwrap()
}

const WORKERS_ARN: &str = "arn:aws:lambda:us-east-1:1:function:app-UsersLoadTestWorkers";

/// Invoke's answer carrying a worker's `reply`.
fn worker_output(
    reply: Vec<u8>,
) -> impl Fn() -> lambda::operation::invoke::InvokeOutput + Send + Sync + 'static {
    move || {
        lambda::operation::invoke::InvokeOutput::builder()
            .status_code(200)
            .payload(aws_smithy_types::Blob::new(reply.clone()))
            .build()
    }
}

/// Invoke, for the invocations `matches` accepts: `errors` first (`(status, body, times)` of
/// failed attempts), then a worker's `reply` for ever (no reply: the error for ever).
fn invoke_rule(
    matches: impl Fn(&lambda::operation::invoke::InvokeInput) -> bool + Send + Sync + 'static,
    errors: Option<(u16, String, usize)>,
    reply: Option<Vec<u8>>,
) -> Rule {
    let seq = mock!(lambda::Client::invoke)
        .match_requests(matches)
        .sequence();
    match (errors, reply) {
        (Some((status, body, n)), Some(reply)) => seq
            .http_status(status, Some(body))
            .times(n)
            .output(worker_output(reply))
            .repeatedly()
            .build(),
        (Some((status, body, _)), None) => seq.http_status(status, Some(body)).repeatedly().build(),
        (None, Some(reply)) => seq.output(worker_output(reply)).repeatedly().build(),
        (None, None) => panic!("an Invoke rule answers something"),
    }
}

/// Load from Lambda workers:
/// - `Workers` without a worker function fans out to the provider itself and merges the
///   workers' histograms (two workers of 25 rps make 50 requests);
/// - with `WorkerFunctionArn` (the macro's VPC worker function) the gate never sends load from
///   where it runs, even with one worker: it invokes that function, whose event carries the
///   routing header.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_fan_out_and_their_histograms_are_merged() {
    let target = start(Behaviour::default(), 0).await.unwrap();
    let vpc = json!({ "RoutingHeader": { "Name": "X-FargateApp-Gate", "Value": ROUTE } });
    for (workers, function, extra) in [
        (2usize, "provider", json!({ "WarmUp": "0" })),
        (1, WORKERS_ARN, vpc.clone()),
        (2, WORKERS_ARN, vpc),
    ] {
        let rate = 50.0 / workers as f64;
        let reply = worker_reply(&target.url("/"), rate).await;
        let before = sent(&target);
        let invoke = invoke_rule(
            move |r| {
                let p: Value = serde_json::from_slice(r.payload().unwrap().as_ref()).unwrap();
                let w = &p["FargateAppLoadWorker"];
                r.function_name() == Some(function)
                    && w["Rate"] == json!(rate)
                    && (function != WORKERS_ARN
                        || w["Headers"] == json!([["X-FargateApp-Gate", ROUTE]]))
            },
            None,
            Some(reply),
        );
        let mut props = extra.clone();
        props["Workers"] = json!(workers.to_string());
        if function == WORKERS_ARN {
            props["WorkerFunctionArn"] = json!(WORKERS_ARN);
        }
        let c = updating(&steady_rule(1), &[&invoke]);
        let b = answer(c, 60, |r| gate(&target.url("/"), r, props)).await;
        let what = format!("{workers} workers of {function}");
        assert_eq!(b["Status"], "SUCCESS", "{what}: {b}");
        assert_eq!(invoke.num_calls(), workers, "{what}");
        assert_eq!(b["Data"]["Requests"], "50", "{what}: {b}");
        // The workers' runs were made above (`worker_reply`): the gate itself sent nothing.
        assert_eq!(
            sent(&target),
            before,
            "{what}: the gate itself sent nothing"
        );
    }
}

/// A VPC function idle for weeks goes Inactive: the first Invoke fails and Lambda recreates its
/// network resources (Pending) before it answers again
/// (https://docs.aws.amazon.com/lambda/latest/dg/functions-states.html; Invoke's
/// ResourceNotReadyException, HTTP 502). The gate invokes again instead of failing the
/// deployment; a function that does not exist fails at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inactive_worker_function_is_invoked_again() {
    let target = start(Behaviour::default(), 0).await.unwrap();
    let reply = worker_reply(&target.url("/"), 50.0).await;
    let inactive = json_error(
        "ResourceNotReadyException",
        "The function is inactive and its VPC connection is no longer available.",
    );
    let missing = json_error(
        "ResourceNotFoundException",
        "Function not found: app-UsersLoadTestWorkers",
    );
    let cases = [
        // More than the SDK's own three attempts.
        (invoke_rule(|_| true, Some((502, inactive, 4)), Some(reply)), "SUCCESS", None, 5),
        (
            invoke_rule(|_| true, Some((404, missing, 0)), None),
            "FAILED",
            Some("Invoke failed: ResourceNotFoundException: Function not found: app-UsersLoadTestWorkers"),
            1,
        ),
    ];
    for (invoke, status, reason, calls) in cases {
        let c = updating(&steady_rule(1), &[&invoke]);
        let extra = json!({ "WorkerFunctionArn": WORKERS_ARN, "WarmUp": "0" });
        let b = answer(c, 60, |r| gate(&target.url("/"), r, extra)).await;
        assert_eq!(b["Status"], status, "{b}");
        if let Some(reason) = reason {
            assert_eq!(b["Reason"], reason);
        }
        assert_eq!(invoke.num_calls(), calls);
    }
}
