//! Exactly-once effects under retries, duplicate deliveries, concurrent events and stack
//! updates (issue 10), against the stateful fake ALB (which has ELBv2's idempotent
//! CreateListener), stateful fakes of ECS and CloudWatch, and a real local ResponseURL server.
//!
//! AWS behaviour relied on:
//! - Lambda retries a failed asynchronous invocation, and CloudFormation custom-resource
//!   requests may arrive more than once: a handler sees the same Create twice (Lambda developer
//!   guide, "Error handling and automatic retries"; CloudFormation user guide, custom resources).
//! - ECS: a service created without DesiredCount starts at 1; UpdateService sets it (ECS API
//!   reference, CreateService / UpdateService).

mod common;

use aws_sdk_cloudwatch as cw;
use aws_sdk_elasticloadbalancingv2 as elb;
use common::*;
use elb::types::{Action, ActionTypeEnum, ForwardActionConfig, TargetGroupTuple};
use fargate_provider::respond::{body, run, Outcome};
use fargate_provider::{Clients, ProviderError, Request};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

const APP_TG: &str = "arn:tg/app";
const STANDBY_TG: &str = "arn:tg/standby";

fn port_props() -> Value {
    json!({ "ServiceToken": "x", "LoadBalancerArn": LB_ARN, "TargetGroupArn": APP_TG, "PortRange": "8000-8999", "Protocol": "HTTP" })
}

fn rule_props() -> Value {
    json!({ "ServiceToken": "x", "ListenerArn": LISTENER_ARN, "TargetGroupArn": APP_TG, "PriorityRange": "1-100",
        "Conditions": [{ "Field": "path-pattern", "PathPatternConfig": { "Values": ["/api/*"] } }] })
}

fn failover_props() -> Value {
    json!({ "ServiceToken": "x", "AlarmName": "api-throttles", "ListenerArn": LISTENER_ARN, "TargetGroupArn": APP_TG,
        "StandbyTargetGroupArn": STANDBY_TG, "Cluster": "apps", "ServiceName": "api", "StandbyCount": "2",
        "RestingCount": "0", "HealthyTimeout": "30" })
}

/// A port resource's Create with these properties (its ResponseURL unused).
fn port_create(props: &Value) -> Request {
    req_of(request(
        "Create",
        PORT,
        "http://x",
        props.clone(),
        None,
        None,
    ))
}

fn req_of(v: Value) -> Request {
    serde_json::from_value::<
        aws_lambda_events::event::cloudformation::CloudFormationCustomResourceRequest,
    >(v)
    .unwrap()
    .into()
}

fn weighted(app: i32, standby: i32) -> Action {
    Action::builder()
        .r#type(ActionTypeEnum::Forward)
        .forward_config(
            ForwardActionConfig::builder()
                .target_groups(
                    TargetGroupTuple::builder()
                        .target_group_arn(APP_TG)
                        .weight(app)
                        .build(),
                )
                .target_groups(
                    TargetGroupTuple::builder()
                        .target_group_arn(STANDBY_TG)
                        .weight(standby)
                        .build(),
                )
                .build(),
        )
        .build()
}

/// (target group, weight) of a forward action; a plain forward is its one group at weight 1.
fn forward_targets(actions: &[Action]) -> Vec<(String, i32)> {
    let a = actions
        .iter()
        .find(|a| a.r#type() == Some(&ActionTypeEnum::Forward))
        .expect("a forward action");
    match (a.forward_config(), a.target_group_arn()) {
        (Some(fc), _) if !fc.target_groups().is_empty() => fc
            .target_groups()
            .iter()
            .map(|t| {
                (
                    t.target_group_arn().unwrap().to_string(),
                    t.weight().unwrap_or(1),
                )
            })
            .collect(),
        (_, Some(tg)) => vec![(tg.to_string(), 1)],
        _ => panic!("forward without a target group: {a:?}"),
    }
}

fn listener_targets(state: &Arc<Mutex<FakeAlb>>, arn: &str) -> Vec<(String, i32)> {
    forward_targets(&state.lock().unwrap().actions[arn])
}

struct World {
    alb: Arc<Mutex<FakeAlb>>,
    alarm: Arc<Mutex<cw::types::StateValue>>,
    desired: Arc<Mutex<i32>>,
    clients: Arc<Clients>,
}

/// A shared listener with a weighted forward (as the macro creates it: the standby serves),
/// an ECS service at `desired`, an alarm in `alarm`.
fn world(alarm: cw::types::StateValue, desired: i32, action: Action) -> World {
    let alb = Arc::new(Mutex::new(FakeAlb {
        targets: 2,
        ..Default::default()
    }));
    {
        let mut st = alb.lock().unwrap();
        st.listeners.push((80, LISTENER_ARN.to_string()));
        st.actions.insert(LISTENER_ARN.to_string(), vec![action]);
    }
    let alarm = Arc::new(Mutex::new(alarm));
    let desired = Arc::new(Mutex::new(desired));
    let mut c = test_clients(fake_alb_client(alb.clone(), 400));
    c.ecs = fake_ecs(desired.clone());
    c.cloudwatch = fake_alarm("api-throttles", alarm.clone());
    World {
        alb,
        alarm,
        desired,
        clients: Arc::new(c),
    }
}

fn calls(state: &Arc<Mutex<FakeAlb>>, name: &str) -> usize {
    state
        .lock()
        .unwrap()
        .calls
        .iter()
        .filter(|c| **c == name)
        .count()
}

// Defect 1: replayed and duplicated Creates are named seeds of the simulation (sim.rs,
// `named_seeds`).

const PORT: &str = "Custom::FargateListenerPort";
const RULE: &str = "Custom::FargateListenerRule";
const FAILOVER: &str = "Custom::FargateWeightedFailover";

// Defect 2 -------------------------------------------------------------------------------

/// Failover removed from the App: CloudFormation first updates the listener to a plain
/// forward, then deletes the failover resource, which then leaves the listener untouched. A
/// listener that still carries the failover's weights (a custom listener CloudFormation did not
/// update) is handed back a plain forward: the standby target group is about to be deleted, so
/// nothing may point at it.
#[tokio::test]
async fn a_deleted_failover_hands_back_a_plain_forward_only_where_its_weights_are() {
    let plain = Action::builder()
        .r#type(ActionTypeEnum::Forward)
        .target_group_arn(APP_TG)
        .build();
    for (what, desired, action, modified) in [
        ("already a plain forward", 2, plain.clone(), 0),
        ("weights in place", 0, weighted(0, 100), 1),
    ] {
        let w = world(cw::types::StateValue::Ok, desired, action);
        let physical = Some("ApiWeightedFailover-weighted-failover");
        let b = send(
            &w.clients,
            "Delete",
            FAILOVER,
            &failover_props(),
            physical,
            None,
        )
        .await;
        assert_eq!(b["Status"], "SUCCESS", "{what}: {b}");
        assert_eq!(calls(&w.alb, "ModifyListener"), modified, "{what}");
        if modified == 0 {
            let now = w.alb.lock().unwrap().actions[LISTENER_ARN].clone();
            assert_eq!(now, vec![plain.clone()], "{what}: untouched");
        }
        assert_eq!(
            listener_targets(&w.alb, LISTENER_ARN),
            vec![(APP_TG.to_string(), 1)],
            "{what}"
        );
    }
}

// Defect 3 -------------------------------------------------------------------------------

/// A port or rule resource is created, its forward is then changed by someone else (the
/// failover resource's weights, or weights over two other target groups), then the resource
/// is updated in place: it keeps its physical ID, and writes its own forward only where the
/// forward is not a failover of this App's:
/// - an auto listener or rule updated while failed over keeps the weights;
/// - without failover, a new target group is forwarded to;
/// - weights over two other target groups are not a failover of this App's: the port resource
///   owns the forward and writes its own;
/// - the App's target group replaced while failed over: the failover resource's own Update
///   rewrites the weights with the new group; the port resource must not send all traffic to
///   it first.
#[tokio::test]
async fn an_update_in_place_writes_the_forward_only_where_no_failover_holds_it() {
    let tuple = |tg: &str, w: i32| {
        TargetGroupTuple::builder()
            .target_group_arn(tg)
            .weight(w)
            .build()
    };
    let other = Action::builder()
        .r#type(ActionTypeEnum::Forward)
        .forward_config(
            ForwardActionConfig::builder()
                .target_groups(tuple("arn:tg/x", 50))
                .target_groups(tuple("arn:tg/y", 50))
                .build(),
        )
        .build();
    let app_v2 = json!({ "TargetGroupArn": "arn:tg/app-v2" });
    let failed_over = vec![(APP_TG.to_string(), 100), (STANDBY_TG.to_string(), 0)];
    let cases = [
        (
            "an auto listener updated while failed over",
            PORT,
            port_props(),
            Some(weighted(100, 0)),
            json!({ "SslPolicy": "", "Protocol": "HTTP" }),
            failed_over.clone(),
        ),
        (
            "an auto rule updated while failed over",
            RULE,
            rule_props(),
            Some(weighted(0, 100)),
            json!({ "Conditions": [{ "Field": "path-pattern", "PathPatternConfig": { "Values": ["/v2/*"] } }] }),
            vec![(APP_TG.to_string(), 0), (STANDBY_TG.to_string(), 100)],
        ),
        (
            "a new target group without failover",
            PORT,
            port_props(),
            None,
            app_v2.clone(),
            vec![("arn:tg/app-v2".to_string(), 1)],
        ),
        (
            "weights over two other target groups",
            PORT,
            port_props(),
            Some(other),
            json!({}),
            vec![(APP_TG.to_string(), 1)],
        ),
        (
            "a new target group while failed over",
            PORT,
            port_props(),
            Some(weighted(100, 0)),
            app_v2,
            failed_over,
        ),
    ];
    for (what, ty, props, set, change, targets) in cases {
        let state = Arc::new(Mutex::new(FakeAlb::default()));
        let c = Arc::new(test_clients(fake_alb_client(state.clone(), 400)));
        let b = send(&c, "Create", ty, &props, None, None).await;
        let arn = b["PhysicalResourceId"].as_str().unwrap().to_string();
        if let Some(action) = set {
            state
                .lock()
                .unwrap()
                .actions
                .insert(arn.clone(), vec![action]);
        }
        let mut newer = props.clone();
        for (k, v) in change.as_object().unwrap() {
            newer[k] = v.clone();
        }
        let b = send(&c, "Update", ty, &newer, Some(&arn), Some(props)).await;
        assert_eq!(b["Status"], "SUCCESS", "{what}: {b}");
        assert_eq!(b["PhysicalResourceId"], json!(arn), "{what}");
        if ty == PORT {
            assert_eq!(b["Data"]["Port"], "8000", "{what}");
        }
        assert_eq!(listener_targets(&state, &arn), targets, "{what}");
    }
}

// Defect 4 -------------------------------------------------------------------------------

// RestingCount (the service has no DesiredCount of its own) -------------------------------

/// With the alarm not in ALARM, Create and Update scale the service to `RestingCount` (a new
/// ECS service without DesiredCount starts at 1); without one, to 0 as before. The weights stay
/// on the standby.
#[tokio::test]
async fn create_and_update_apply_the_resting_count_when_the_alarm_is_ok() {
    let standby = vec![(APP_TG.to_string(), 0), (STANDBY_TG.to_string(), 100)];
    for (resting, alarm, updated, desired) in [
        (
            Some("2"),
            cw::types::StateValue::InsufficientData,
            Some("3"),
            [2, 3],
        ),
        (None, cw::types::StateValue::Ok, None, [0, 0]),
    ] {
        let w = world(alarm, 1, weighted(0, 100));
        let mut props = failover_props();
        match resting {
            Some(n) => props["RestingCount"] = json!(n),
            None => drop(props.as_object_mut().unwrap().remove("RestingCount")),
        }
        let b = send(&w.clients, "Create", FAILOVER, &props, None, None).await;
        assert_eq!(b["Status"], "SUCCESS", "{resting:?}: {b}");
        assert_eq!(
            *w.desired.lock().unwrap(),
            desired[0],
            "{resting:?}: after Create"
        );
        let Some(n) = updated else { continue };
        *w.alarm.lock().unwrap() = cw::types::StateValue::Ok;
        let mut newer = props.clone();
        newer["RestingCount"] = json!(n);
        let physical = Some("UsersAutoListener-weighted-failover");
        let b = send(
            &w.clients,
            "Update",
            FAILOVER,
            &newer,
            physical,
            Some(props),
        )
        .await;
        assert_eq!(b["Status"], "SUCCESS", "{resting:?}: {b}");
        assert_eq!(
            *w.desired.lock().unwrap(),
            desired[1],
            "{resting:?}: after Update"
        );
        assert_eq!(listener_targets(&w.alb, LISTENER_ARN), standby);
    }
}

// Defect 5 -------------------------------------------------------------------------------

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_response_url_that_refuses_connections_leaves_no_signature_in_the_logs() {
    // A port nobody listens on: connections are refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/cfn-response?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20261122&X-Amz-Signature=0123abcdsignature");
    let logs = Captured::default();
    let sink = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || sink.clone())
        .with_max_level(tracing::Level::TRACE)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let req = req_of(request(
        "Create",
        "Custom::FargateListenerPort",
        &url,
        port_props(),
        None,
        None,
    ));
    let d = run(
        &req,
        Instant::now() + Duration::from_secs(3),
        &fargate_provider::http_client(),
        async { Ok(Outcome::new("id-1")) },
    )
    .await;
    assert!(!d.delivered);
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("response PUT failed"), "{text}");
    for secret in [
        "X-Amz-Signature",
        "0123abcdsignature",
        "AKIDEXAMPLE",
        "X-Amz-Credential",
    ] {
        assert!(!text.contains(secret), "{secret} logged:\n{text}");
    }
}

// Defect 6 -------------------------------------------------------------------------------

#[test]
fn a_multi_byte_physical_id_gives_a_body_within_4096_bytes() {
    for ch in ["😀", "€", "é"] {
        let id = ch.repeat(1024);
        let mut req = req_of(request(
            "Delete",
            "Custom::FargateListenerPort",
            "http://x",
            port_props(),
            Some(&id),
            None,
        ));
        req.logical_resource_id = ch.repeat(255);
        let results = [
            Ok(Outcome::new(id.clone()).with("Port", "8000")),
            Err(ProviderError::Exhausted(ch.repeat(3000))),
        ];
        for result in results {
            let b = body(&req, &result);
            assert!(b.len() <= 4096, "{ch}: {} bytes", b.len());
            let v: Value = serde_json::from_str(&b).unwrap();
            let pid = v["PhysicalResourceId"].as_str().unwrap();
            assert!(
                pid.len() <= 1024,
                "{ch}: physical ID of {} bytes",
                pid.len()
            );
            assert!(!pid.is_empty() && id.starts_with(pid));
        }
    }
}

// Defect 8 -------------------------------------------------------------------------------

/// ELBv2's quotas as the account has them: the rule quota counts every rule of the ALB (60
/// here and 40 on its other listeners reach the default of 100), and raised quotas are used.
#[tokio::test]
async fn quotas_are_elbv2s_own_and_the_rule_quota_counts_the_whole_alb() {
    let mut wide = rule_props();
    wide["PriorityRange"] = json!("1-50000");
    let rules = |n: i32| (1..=n).map(|p| (p, format!("r{p}"))).collect::<Vec<_>>();
    let cases = [
        (
            "100 rules here, rule quota raised to 200",
            FakeAlb {
                rule_quota: Some(200),
                rules: rules(100),
                ..Default::default()
            },
            RULE,
            wide.clone(),
            Ok(("Priority", "101")),
        ),
        (
            "60 rules here and 40 on the ALB's other listeners",
            FakeAlb {
                other_rules: 40,
                rules: rules(60),
                ..Default::default()
            },
            RULE,
            wide,
            Err(["load balancer", "TooManyRules"]),
        ),
        (
            "50 listeners, listener quota raised to 60",
            FakeAlb {
                listener_quota: Some(60),
                listeners: (0..50).map(|i| (100 + i, format!("l{i}"))).collect(),
                ..Default::default()
            },
            PORT,
            port_props(),
            Ok(("Port", "8000")),
        ),
    ];
    for (what, alb, ty, props, expected) in cases {
        let c = Arc::new(test_clients(fake_alb_client(
            Arc::new(Mutex::new(alb)),
            400,
        )));
        let b = send(&c, "Create", ty, &props, None, None).await;
        match expected {
            Ok((k, v)) => {
                assert_eq!(b["Status"], "SUCCESS", "{what}: {b}");
                assert_eq!(b["Data"][k], v, "{what}");
            }
            Err(parts) => {
                assert_eq!(b["Status"], "FAILED", "{what}: {b}");
                let reason = b["Reason"].as_str().unwrap();
                for p in parts {
                    assert!(reason.contains(p), "{what}: {reason}");
                }
            }
        }
    }
}

#[test]
fn deadlines_saturate_instead_of_panicking() {
    use fargate_provider::respond::{
        answer_by, invocation_deadline, service_budget, service_timeout,
    };
    let now = Instant::now();
    // A Lambda context deadline of u64::MAX ms (a skewed or bogus clock): no overflow panic.
    let far = invocation_deadline(now, Duration::from_millis(u64::MAX), None);
    assert!(far > now);
    // ServiceTimeout caps the Lambda's own deadline.
    assert_eq!(
        invocation_deadline(
            now,
            Duration::from_secs(900),
            Some(Duration::from_secs(300))
        ),
        now + Duration::from_secs(300)
    );
    assert_eq!(
        invocation_deadline(now, Duration::from_secs(60), Some(Duration::from_secs(300))),
        now + Duration::from_secs(60)
    );
    // A deadline already past answers at once rather than panicking on Instant subtraction.
    assert!(answer_by(now) <= Instant::now());
    // The margin: a fifth of the time left, 0.2 to 10 s.
    let d = Instant::now() + Duration::from_secs(100);
    let by = answer_by(d);
    assert_eq!(d - by, Duration::from_secs(10));
    let mut props = port_props();
    props["ServiceTimeout"] = json!("300");
    let req = port_create(&props);
    assert_eq!(service_timeout(&req), Some(Duration::from_secs(300)));
    // The invocation keeps the macro's 60 s of delivery slack back (half of a short timeout).
    assert_eq!(service_budget(&req), Some(Duration::from_secs(240)));
    props["ServiceTimeout"] = json!("30");
    let short = port_create(&props);
    assert_eq!(service_budget(&short), Some(Duration::from_secs(15)));
    for bad in ["0", "3601", "soon"] {
        props["ServiceTimeout"] = json!(bad);
        let req = port_create(&props);
        assert_eq!(service_timeout(&req), None, "{bad}");
    }
}

// Guarantees pinned for mutation testing -------------------------------------------------

#[test]
fn the_body_limit_is_exact_and_cuts_on_character_boundaries() {
    use fargate_provider::respond::{margin, prefix_bytes};
    assert_eq!(prefix_bytes("héllo", 2), "h");
    assert_eq!(prefix_bytes("héllo", 3), "hé");
    assert_eq!(prefix_bytes("héllo", 6), "héllo");
    assert_eq!(prefix_bytes("", 0), "");
    let req = port_create(&port_props());
    // A body of exactly 4096 bytes keeps its attributes.
    let base = body(&req, &Ok(Outcome::new("id").with("K", ""))).len();
    let exact = body(
        &req,
        &Ok(Outcome::new("id").with("K", "x".repeat(4096 - base))),
    );
    assert_eq!(exact.len(), 4096);
    let v: Value = serde_json::from_str(&exact).unwrap();
    assert!(v.get("Data").is_some() && v.get("Reason").is_none(), "{v}");
    // One byte more drops them, and says so.
    let over = body(
        &req,
        &Ok(Outcome::new("id").with("K", "x".repeat(4097 - base))),
    );
    let v: Value = serde_json::from_str(&over).unwrap();
    assert!(v.get("Data").is_none());
    assert_eq!(
        v["Reason"],
        "attributes dropped: the response would exceed 4096 bytes"
    );
    // A long ASCII reason is cut to fill the body exactly.
    let cut = body(&req, &Err(ProviderError::Exhausted("r".repeat(9000))));
    assert_eq!(cut.len(), 4096);
    // The answer margin: a fifth of the time left, within 0.2-10 s.
    assert_eq!(margin(Duration::from_secs(20)), Duration::from_secs(4));
    assert_eq!(
        margin(Duration::from_millis(500)),
        Duration::from_millis(200)
    );
    assert_eq!(margin(Duration::from_secs(100)), Duration::from_secs(10));
}

#[tokio::test]
async fn a_claim_re_reads_what_is_taken_after_ten_lost_races() {
    // The first read shows an empty ALB, but 15 ports are taken by other stacks' listeners.
    let state = Arc::new(Mutex::new(FakeAlb {
        stale_reads: 1,
        listeners: (0..15).map(|i| (8000 + i, format!("other-{i}"))).collect(),
        ..Default::default()
    }));
    let c = Arc::new(test_clients(fake_alb_client(state.clone(), 400)));
    let b = send(&c, "Create", PORT, &port_props(), None, None).await;
    assert_eq!(b["Status"], "SUCCESS", "{b}");
    assert_eq!(b["Data"]["Port"], "8015");
    // 10 lost races (8000-8009), one re-read, then straight to the first free port.
    assert_eq!(calls(&state, "DescribeListeners"), 2);
    assert_eq!(calls(&state, "CreateListener"), 11);
}
