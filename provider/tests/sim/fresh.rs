//! fresh18: the fault scenarios of `provider/tests/fresh/SCENARIOS.md`, each a deterministic
//! schedule (faults placed on chosen calls with `World::script`, no random draw) driving the
//! provider's real handlers against the simulated AWS of `world.rs`. One row a scenario; a row
//! whose ID `provider/tests/fresh/known.txt` lists is a known provider defect: reported, not
//! failed (the lead fixes it; `provider/src` is not changed here).
#![allow(dead_code)]

use super::custom_resource::{self, Answer, LB, OTHER_STACK, STACK, TG};
use super::harness::{self, violation, Violation};
use super::world::{self, Fate, LState, Scripted, Shared, World};
use aws_sdk_ecs::types::{Deployment, DeploymentRolloutState};
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, ForwardActionConfig, TargetGroupTuple,
};
use fargate_provider::lifecycle_hook::{self, HookAnswer, HookEvent, HookStatus, SETTINGS_KEY};
use fargate_provider::slot::forward_targets;
use serde_json::{json, Value};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

type Out = (Vec<Violation>, Shared);
type Run = fn() -> Pin<Box<dyn Future<Output = Out>>>;

const PORT: &str = "Custom::FargateListenerPort";
const RULE: &str = "Custom::FargateListenerRule";
const GATE: &str = "Custom::FargateLoadTestGate";
const ID: &str = "UsersRoute";
const LB2: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/shared/2";
const LISTENER0: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shared/1/0";
const STANDBY_TG: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/standby/1";
const ROUTE: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shared/1/50";
const FOREIGN: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shared/1/60";
const SERVICE: &str = "api";
const T900: Duration = Duration::from_secs(900);
const STACK_TAG: &str = "fargate-app:stack-id";
const LOGICAL_TAG: &str = "fargate-app:logical-id";

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// A world without random faults, with `script` placed on chosen calls.
fn world(script: Vec<Scripted>) -> Shared {
    let mut w = World::new(0, custom_resource::calm());
    w.script = script;
    Arc::new(Mutex::new(w))
}

fn tags(stack: &str, logical: &str) -> Vec<(String, String)> {
    vec![
        (STACK_TAG.into(), stack.into()),
        (LOGICAL_TAG.into(), logical.into()),
    ]
}

/// Listeners and rules tagged as `(stack, logical)`'s (their real tags).
fn holders(w: &Shared, stack: &str, logical: &str) -> Vec<String> {
    let w = w.lock().unwrap();
    let owned = |t: &[(String, String)]| {
        t.iter().any(|(k, v)| k == STACK_TAG && v == stack)
            && t.iter().any(|(k, v)| k == LOGICAL_TAG && v == logical)
    };
    let mut out: Vec<String> = w
        .listeners
        .iter()
        .filter(|(_, l)| owned(&l.tags))
        .map(|(a, _)| a.clone())
        .collect();
    out.extend(
        w.rules
            .iter()
            .filter(|(_, r)| owned(&r.tags))
            .map(|(a, _)| a.clone()),
    );
    out
}

fn port_props(lb: &str, range: &str) -> Value {
    json!({ "LoadBalancerArn": lb, "TargetGroupArn": TG, "PortRange": range, "ServiceTimeout": "300" })
}

fn rule_props(range: &str) -> Value {
    json!({
        "ListenerArn": LISTENER0, "TargetGroupArn": TG, "PriorityRange": range, "ServiceTimeout": "300",
        "Conditions": [{ "Field": "path-pattern", "PathPatternConfig": { "Values": ["/users*"] } }],
    })
}

fn cr(
    kind: &str,
    rtype: &str,
    owner: (&str, &str),
    props: Value,
    physical: Option<&str>,
    rid: &str,
) -> Value {
    let old = (kind == "Update").then(|| props.clone());
    custom_resource::event(kind, rtype, owner, props, physical, old, rid)
}

fn port_create(rid: &str) -> Value {
    cr(
        "Create",
        PORT,
        (STACK, ID),
        port_props(LB, "8000-8009"),
        None,
        rid,
    )
}

fn platform_listener(w: &Shared) {
    w.lock().unwrap().listeners.insert(
        LISTENER0.into(),
        LState {
            port: 443,
            lb: LB.into(),
            settings: "platform".into(),
            actions: vec![],
            tags: vec![],
            tags_visible_at: Instant::now(),
        },
    );
}

fn other_listener(w: &Shared, port: i32) {
    let mut g = w.lock().unwrap();
    let arn = g.arn("listener");
    g.listeners.insert(
        arn,
        LState {
            port,
            lb: LB.into(),
            settings: "other".into(),
            actions: vec![fargate_provider::slot::forward(
                "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/other/2",
            )],
            tags: tags(OTHER_STACK, "Api"),
            tags_visible_at: Instant::now(),
        },
    );
}

fn status(a: &Answer) -> &str {
    a.body["Status"].as_str().unwrap_or_default()
}

fn physical(a: &Answer) -> String {
    a.body["PhysicalResourceId"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// One answer, SUCCESS, and exactly the answered holder is the resource's.
fn one_holder(
    w: &Shared,
    answers: &[Answer],
    owner: (&str, &str),
    inv: &'static str,
    v: &mut Vec<Violation>,
) {
    let Some(a) = answers.first() else {
        v.push(violation(inv, "no answer"));
        return;
    };
    let held = holders(w, owner.0, owner.1);
    if status(a) != "SUCCESS" || held != vec![physical(a)] {
        v.push(violation(
            inv,
            format!(
                "answered {} {} ({}); the ALB holds for this resource {held:?}",
                status(a),
                physical(a),
                a.body["Reason"]
            ),
        ));
    }
}

async fn spawn_invoke(
    w: &Shared,
    ev: &Value,
    after: Duration,
) -> tokio::task::JoinHandle<Option<Answer>> {
    let (w, ev) = (w.clone(), ev.clone());
    tokio::spawn(async move {
        tokio::time::sleep(after).await;
        custom_resource::invoke(&w, &ev, T900, false).await
    })
}

// ---------------------------------------------------------------- A. claims

/// F01: CreateListener takes effect, its answer is lost, the SDK's retry gets the same
/// listener back (CreateListener is idempotent for identical settings).
async fn f01() -> Out {
    let w = world(vec![Scripted::on("create_listener", 1, Fate::Retried)]);
    let a = custom_resource::deliver(&w, &port_create("req-1"), T900, [false; 3]).await;
    let mut v = Vec::new();
    one_holder(&w, &a, (STACK, ID), "fresh.claim.one_holder", &mut v);
    (v, w)
}

/// F01b: the same for CreateRule, which is not idempotent: the retry meets its own rule's
/// `PriorityInUse`.
async fn f01b() -> Out {
    let w = world(vec![Scripted::on("create_rule", 1, Fate::Retried)]);
    platform_listener(&w);
    let ev = cr(
        "Create",
        RULE,
        (STACK, ID),
        rule_props("10-40"),
        None,
        "req-1",
    );
    let a = custom_resource::deliver(&w, &ev, T900, [false; 3]).await;
    let mut v = Vec::new();
    one_holder(&w, &a, (STACK, ID), "fresh.claim.one_holder", &mut v);
    (v, w)
}

/// F02: the process dies during CreateListener (which took effect); Lambda's retry a minute
/// later adopts the listener.
async fn f02() -> Out {
    let mut crash = Scripted::on("create_listener", 1, Fate::Normal);
    crash.crash = true;
    let w = world(vec![crash]);
    let a = custom_resource::deliver(&w, &port_create("req-1"), T900, [false; 3]).await;
    let mut v = Vec::new();
    one_holder(&w, &a, (STACK, ID), "fresh.claim.replay_adopts", &mut v);
    if let Some(a) = a.first() {
        if a.body["Data"]["Port"] != json!("8000") && a.body["Data"]["Port"] != json!(8000) {
            v.push(violation(
                "fresh.claim.replay_adopts",
                format!("port {} instead of 8000", a.body["Data"]["Port"]),
            ));
        }
    }
    (v, w)
}

/// F03: the same rule Create delivered twice at once (50 ms apart).
async fn f03() -> Out {
    let w = world(vec![]);
    platform_listener(&w);
    let ev = cr(
        "Create",
        RULE,
        (STACK, ID),
        rule_props("10-40"),
        None,
        "req-1",
    );
    let t1 = spawn_invoke(&w, &ev, Duration::ZERO).await;
    let t2 = spawn_invoke(&w, &ev, Duration::from_millis(50)).await;
    let answers: Vec<Answer> = [t1.await.unwrap(), t2.await.unwrap()]
        .into_iter()
        .flatten()
        .collect();
    let mut v = Vec::new();
    one_holder(
        &w,
        &answers,
        (STACK, ID),
        "fresh.claim.concurrent_once",
        &mut v,
    );
    if answers.len() != 2 || physical(&answers[0]) != physical(&answers[1]) {
        v.push(violation(
            "fresh.claim.concurrent_once",
            format!(
                "answers name {:?}",
                answers.iter().map(physical).collect::<Vec<_>>()
            ),
        ));
    }
    (v, w)
}

/// F04: two stacks, identical listener settings (one target group), one empty ALB, at once.
async fn f04() -> Out {
    let w = world(vec![]);
    let a_ev = port_create("req-a");
    let b_ev = cr(
        "Create",
        PORT,
        (OTHER_STACK, "Api"),
        port_props(LB, "8000-8009"),
        None,
        "req-b",
    );
    let ta = spawn_invoke(&w, &a_ev, Duration::ZERO).await;
    let tb = spawn_invoke(&w, &b_ev, Duration::ZERO).await;
    let (a, b) = (ta.await.unwrap(), tb.await.unwrap());
    let mut v = Vec::new();
    one_holder(
        &w,
        a.as_slice(),
        (STACK, ID),
        "fresh.claim.distinct_owners",
        &mut v,
    );
    one_holder(
        &w,
        b.as_slice(),
        (OTHER_STACK, "Api"),
        "fresh.claim.distinct_owners",
        &mut v,
    );
    if let (Some(a), Some(b)) = (&a, &b) {
        if a.body["Data"]["Port"] == b.body["Data"]["Port"] {
            v.push(violation(
                "fresh.claim.distinct_owners",
                format!("both stacks answered port {}", a.body["Data"]["Port"]),
            ));
        }
    }
    (v, w)
}

/// F05: DescribeListeners throttled once past the SDK's retries; the claim has 240 s left.
async fn f05() -> Out {
    let w = world(vec![Scripted::on("describe_listeners", 1, Fate::Throttle)]);
    let a = custom_resource::deliver(&w, &port_create("req-1"), T900, [false; 3]).await;
    let mut v = Vec::new();
    one_holder(
        &w,
        &a,
        (STACK, ID),
        "fresh.claim.throttle_waited_out",
        &mut v,
    );
    (v, w)
}

/// F06: every ELBv2 call throttled: one FAILED answer before ServiceTimeout (300 s), nothing made.
async fn f06() -> Out {
    let w = world(vec![Scripted::on("elb", 0, Fate::Throttle)]);
    let start = Instant::now();
    let a = custom_resource::deliver(&w, &port_create("req-1"), T900, [false; 3]).await;
    let mut v = Vec::new();
    match a.first() {
        Some(a) if status(a) == "FAILED" && a.at <= start + secs(300) => {}
        Some(a) => v.push(violation(
            "fresh.cr.answered_in_time",
            format!("{} after {:?}", status(a), a.at - start),
        )),
        None => v.push(violation("fresh.cr.answered_in_time", "no answer")),
    }
    if !w.lock().unwrap().listeners.is_empty() {
        v.push(violation(
            "fresh.cr.answered_in_time",
            "a listener was made",
        ));
    }
    (v, w)
}

/// F07: twelve concurrent stacks each take the priority the claim just read as free.
async fn f07() -> Out {
    let w = world(vec![]);
    platform_listener(&w);
    w.lock().unwrap().rival_takes = 12;
    let ev = cr(
        "Create",
        RULE,
        (STACK, ID),
        rule_props("10-40"),
        None,
        "req-1",
    );
    let a = custom_resource::deliver(&w, &ev, T900, [false; 3]).await;
    let mut v = Vec::new();
    one_holder(&w, &a, (STACK, ID), "fresh.claim.priority_storm", &mut v);
    if let Some(a) = a.first() {
        let g = w.lock().unwrap();
        if let Some(r) = g.rules.get(&physical(a)) {
            let same = g
                .rules
                .values()
                .filter(|o| o.priority == r.priority && o.listener == r.listener)
                .count();
            if !(10..=40).contains(&r.priority) || same != 1 {
                v.push(violation(
                    "fresh.claim.priority_storm",
                    format!("priority {} held by {same} rules", r.priority),
                ));
            }
        }
    }
    (v, w)
}

/// F08 (and F09 after it): every port of 8000-8002 is another stack's.
async fn full_range() -> (Shared, Option<Answer>) {
    let w = world(vec![]);
    for p in 8000..=8002 {
        other_listener(&w, p);
    }
    let ev = cr(
        "Create",
        PORT,
        (STACK, ID),
        port_props(LB, "8000-8002"),
        None,
        "req-1",
    );
    let a = custom_resource::deliver(&w, &ev, T900, [false; 3]).await;
    (w, a.into_iter().next())
}

async fn f08() -> Out {
    let (w, a) = full_range().await;
    let mut v = Vec::new();
    let reason = a
        .as_ref()
        .map(|a| a.body["Reason"].to_string())
        .unwrap_or_default();
    let ok = a.as_ref().is_some_and(|a| {
        status(a) == "FAILED"
            && reason.contains(LB)
            && reason.contains("8000-8002")
            && physical(a).contains("not-created")
    });
    if !ok || !holders(&w, STACK, ID).is_empty() {
        v.push(violation(
            "fresh.claim.full_range_failed",
            format!(
                "{:?} {:?}: {reason}",
                a.as_ref().map(status),
                a.as_ref().map(physical)
            ),
        ));
    }
    (v, w)
}

async fn f09() -> Out {
    let (w, a) = full_range().await;
    let mut v = Vec::new();
    let id = a.as_ref().map(physical).unwrap_or_default();
    let ev = cr(
        "Delete",
        PORT,
        (STACK, ID),
        port_props(LB, "8000-8002"),
        Some(&id),
        "req-del",
    );
    let d = custom_resource::deliver(&w, &ev, T900, [false; 3]).await;
    let g = w.lock().unwrap();
    let deletes = g
        .calls
        .iter()
        .filter(|(_, op)| op.contains("delete_"))
        .count();
    if d.first().map(status) != Some("SUCCESS") || g.listeners.len() != 3 || deletes != 0 {
        v.push(violation(
            "fresh.cr.delete_after_failed_create",
            format!(
                "Delete of {id} answered {:?}; {} listeners left, {deletes} delete calls",
                d.first().map(status),
                g.listeners.len()
            ),
        ));
    }
    drop(g);
    (v, w)
}

/// A port claimed by this stack's resource, and the Delete CloudFormation sends for it.
async fn claimed(w: &Shared) -> (String, Value) {
    let a = custom_resource::deliver(w, &port_create("req-1"), T900, [false; 3]).await;
    let id = a.first().map(physical).unwrap_or_default();
    let del = cr(
        "Delete",
        PORT,
        (STACK, ID),
        port_props(LB, "8000-8009"),
        Some(&id),
        "req-del",
    );
    (id, del)
}

/// F10: the listener was removed out of band before the Delete.
async fn f10() -> Out {
    let w = world(vec![]);
    let (id, ev) = claimed(&w).await;
    w.lock().unwrap().listeners.remove(&id);
    let d = custom_resource::deliver(&w, &ev, T900, [false; 3]).await;
    let mut v = Vec::new();
    if d.first().map(status) != Some("SUCCESS") {
        v.push(violation(
            "fresh.cr.delete_gone_succeeds",
            format!("{:?}", d.first().map(|a| &a.body)),
        ));
    }
    (v, w)
}

/// F10b: DeleteListener takes effect, its answer is lost, the SDK's retry gets ListenerNotFound.
async fn f10b() -> Out {
    let w = world(vec![Scripted::on("delete_listener", 1, Fate::Retried)]);
    let (_, ev) = claimed(&w).await;
    let d = custom_resource::deliver(&w, &ev, T900, [false; 3]).await;
    let left = holders(&w, STACK, ID);
    let mut v = Vec::new();
    if d.first().map(status) != Some("SUCCESS") || !left.is_empty() {
        v.push(violation(
            "fresh.cr.delete_gone_succeeds",
            format!("{:?}; left {left:?}", d.first().map(|a| &a.body)),
        ));
    }
    (v, w)
}

/// F11: a duplicate of stack A's Delete arrives after stack B re-claimed the freed port.
async fn f11() -> Out {
    let w = world(vec![]);
    let (_, del) = claimed(&w).await;
    custom_resource::deliver(&w, &del, T900, [false; 3]).await;
    let b_ev = cr(
        "Create",
        PORT,
        (OTHER_STACK, "Api"),
        port_props(LB, "8000-8009"),
        None,
        "req-b",
    );
    let b = custom_resource::deliver(&w, &b_ev, T900, [false; 3]).await;
    tokio::time::sleep(secs(60)).await;
    custom_resource::deliver(&w, &del, T900, [false; 3]).await;
    let mut v = Vec::new();
    one_holder(
        &w,
        &b,
        (OTHER_STACK, "Api"),
        "fresh.cr.duplicate_delete_spares_others",
        &mut v,
    );
    (v, w)
}

/// F12: an Update to a new ALB replaces the listener; `rollback`: the update rolls back and the
/// new listener is deleted instead of the old one.
async fn replacement(rollback: bool) -> Out {
    let w = world(vec![]);
    let a = custom_resource::deliver(&w, &port_create("req-1"), T900, [false; 3]).await;
    let old = a.first().map(physical).unwrap_or_default();
    let mut upd = cr(
        "Update",
        PORT,
        (STACK, ID),
        port_props(LB2, "8000-8009"),
        Some(&old),
        "req-upd",
    );
    upd["OldResourceProperties"] = port_props(LB, "8000-8009");
    let u = custom_resource::deliver(&w, &upd, T900, [false; 3]).await;
    let new = u.first().map(physical).unwrap_or_default();
    let gone = if rollback { &new } else { &old };
    let props = if rollback {
        port_props(LB2, "8000-8009")
    } else {
        port_props(LB, "8000-8009")
    };
    let del = cr("Delete", PORT, (STACK, ID), props, Some(gone), "req-del");
    custom_resource::deliver(&w, &del, T900, [false; 3]).await;
    let kept = if rollback { &old } else { &new };
    let held = holders(&w, STACK, ID);
    let mut v = Vec::new();
    if new == old || held != vec![kept.clone()] {
        v.push(violation(
            "fresh.cr.replacement_keeps_one",
            format!("{old} -> {new}; deleted {gone}; held {held:?}"),
        ));
    }
    (v, w)
}

async fn f12() -> Out {
    replacement(false).await
}

async fn f12b() -> Out {
    replacement(true).await
}

fn weighted(app: i32, standby: i32) -> Action {
    let tuples = [(TG, app), (STANDBY_TG, standby)]
        .iter()
        .map(|(tg, w)| {
            TargetGroupTuple::builder()
                .target_group_arn(*tg)
                .weight(*w)
                .build()
        })
        .collect();
    Action::builder()
        .r#type(ActionTypeEnum::Forward)
        .forward_config(
            ForwardActionConfig::builder()
                .set_target_groups(Some(tuples))
                .build(),
        )
        .build()
}

/// F13: an in-place Update (same ALB and range) while a failover resource holds the weights.
async fn f13() -> Out {
    let w = world(vec![]);
    let a = custom_resource::deliver(&w, &port_create("req-1"), T900, [false; 3]).await;
    let id = a.first().map(physical).unwrap_or_default();
    if let Some(l) = w.lock().unwrap().listeners.get_mut(&id) {
        l.actions = vec![weighted(100, 0)];
    }
    let mut upd = cr(
        "Update",
        PORT,
        (STACK, ID),
        port_props(LB, "8000-8009"),
        Some(&id),
        "req-upd",
    );
    upd["OldResourceProperties"]["ServiceTimeout"] = json!("240");
    let u = custom_resource::deliver(&w, &upd, T900, [false; 3]).await;
    let g = w.lock().unwrap();
    let after = g
        .listeners
        .get(&id)
        .map(|l| forward_targets(&l.actions))
        .unwrap_or_default();
    let mut v = Vec::new();
    let want = vec![(TG.to_string(), 100), (STANDBY_TG.to_string(), 0)];
    if u.first().map(physical) != Some(id.clone()) || after != want {
        v.push(violation(
            "fresh.cr.update_keeps_failover_weights",
            format!(
                "answered {:?}, weights now {after:?}",
                u.first().map(physical)
            ),
        ));
    }
    drop(g);
    (v, w)
}

/// F15: CreateListener takes effect and then never answers: one answer before ServiceTimeout,
/// and after a FAILED the rollback Delete leaves nothing.
async fn f15() -> Out {
    let mut hang = Scripted::on("create_listener", 1, Fate::Normal);
    hang.hang = Some(secs(20 * 60));
    let w = world(vec![hang]);
    let start = Instant::now();
    let a = custom_resource::deliver(&w, &port_create("req-1"), T900, [false; 3]).await;
    let mut v = Vec::new();
    let Some(a) = a.first() else {
        v.push(violation("fresh.cr.answered_in_time", "no answer"));
        return (v, w);
    };
    if a.at > start + secs(300) {
        v.push(violation(
            "fresh.cr.answered_in_time",
            format!("answered after {:?}", a.at - start),
        ));
    }
    if status(a) == "FAILED" {
        let del = cr(
            "Delete",
            PORT,
            (STACK, ID),
            port_props(LB, "8000-8009"),
            Some(&physical(a)),
            "req-del",
        );
        custom_resource::deliver(&w, &del, T900, [false; 3]).await;
        let left = holders(&w, STACK, ID);
        if !left.is_empty() {
            v.push(violation(
                "fresh.cr.rollback_leaves_nothing",
                format!("{left:?} left after FAILED and Delete"),
            ));
        }
    } else {
        one_holder(
            &w,
            std::slice::from_ref(a),
            (STACK, ID),
            "fresh.claim.one_holder",
            &mut v,
        );
    }
    (v, w)
}

/// F38 (found while encoding): a duplicate of a Create that Lambda delivers late, after the
/// stack deleted the resource (Lambda's asynchronous queue may hand an event over more than
/// once and hours late).
async fn f38() -> Out {
    let w = world(vec![]);
    let (id, del) = claimed(&w).await;
    custom_resource::deliver(&w, &del, T900, [false; 3]).await;
    tokio::time::sleep(secs(300)).await;
    // The same event as `claimed`'s Create (same RequestId), delivered again.
    let late = custom_resource::deliver(&w, &port_create("req-1"), T900, [false; 3]).await;
    let left = holders(&w, STACK, ID);
    let mut v = Vec::new();
    if !left.is_empty() {
        v.push(violation(
            "fresh.cr.late_duplicate_after_delete_leaves_nothing",
            format!(
                "the stack deleted {id}; a late duplicate of its Create answered {:?} and left {left:?}",
                late.first().map(|a| (status(a).to_string(), physical(a)))
            ),
        ));
    }
    (v, w)
}

// ---------------------------------------------------------------- B. gate

fn gate_props(duration: u64, warm_up: u64, service_timeout: u64) -> Value {
    json!({
        "Url": "http://internal-app.elb.test/health",
        "Rate": "10",
        "Duration": duration.to_string(),
        "WarmUp": warm_up.to_string(),
        "WorkerFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:app-load-worker",
        "ServiceTimeout": service_timeout.to_string(),
    })
}

fn gate_event(kind: &str, props: Value) -> Value {
    let physical = (kind == "Update").then_some("Gate-load-test-gate");
    cr(kind, GATE, (STACK, "Gate"), props, physical, "req-gate")
}

fn gate_check(w: &Shared, a: &[Answer], want: &str, inv: &'static str, v: &mut Vec<Violation>) {
    let runs = w.lock().unwrap().load_runs.clone();
    let Some(a) = a.first() else {
        v.push(violation(inv, "no answer"));
        return;
    };
    let ok = match want {
        "passed" => {
            status(a) == "SUCCESS" && a.body["Data"].get("Skipped").is_none() && runs.len() == 1
        }
        "skipped" => {
            status(a) == "SUCCESS" && a.body["Data"].get("Skipped").is_some() && runs.is_empty()
        }
        _ => status(a) == "FAILED" && runs.is_empty(),
    };
    if !ok {
        v.push(violation(
            inv,
            format!(
                "want {want}: answered {} ({} {}), load runs {runs:?}",
                status(a),
                a.body["Reason"],
                a.body["Data"]
            ),
        ));
    }
}

/// F16: a rollback's Update with DescribeStacks throttled twice (past the SDK's retries).
async fn f16() -> Out {
    let w = world(vec![
        Scripted::on("describe_stacks", 1, Fate::Throttle),
        Scripted::on("describe_stacks", 2, Fate::Throttle),
    ]);
    w.lock().unwrap().stack_status = "UPDATE_ROLLBACK_IN_PROGRESS".into();
    let a = custom_resource::deliver(
        &w,
        &gate_event("Update", gate_props(60, 0, 3600)),
        T900,
        [false; 3],
    )
    .await;
    let mut v = Vec::new();
    gate_check(&w, &a, "skipped", "fresh.gate.rollback_skipped", &mut v);
    (v, w)
}

/// F17: DescribeStacks throttled for the whole run: fail closed.
async fn f17() -> Out {
    let w = world(vec![Scripted::on("describe_stacks", 0, Fate::Throttle)]);
    let a = custom_resource::deliver(
        &w,
        &gate_event("Update", gate_props(60, 0, 3600)),
        T900,
        [false; 3],
    )
    .await;
    let mut v = Vec::new();
    gate_check(&w, &a, "failed", "fresh.gate.fails_closed", &mut v);
    (v, w)
}

/// F18: the same gate Create delivered again 20 s in, while the first runs its 60 s of load.
async fn f18() -> Out {
    let mut slow = Scripted::on("invoke", 1, Fate::Normal);
    slow.hang = Some(secs(60));
    let w = world(vec![slow]);
    let ev = gate_event("Create", gate_props(60, 0, 3600));
    let (w1, e1) = (w.clone(), ev.clone());
    let t1 =
        tokio::spawn(async move { custom_resource::deliver(&w1, &e1, T900, [false; 3]).await });
    tokio::time::sleep(secs(20)).await;
    let second = custom_resource::deliver(&w, &ev, T900, [false; 3]).await;
    let first = t1.await.unwrap();
    let mut v = Vec::new();
    gate_check(&w, &first, "passed", "fresh.gate.load_sent_once", &mut v);
    if second.first().map(status) != Some("SUCCESS") {
        v.push(violation(
            "fresh.gate.load_sent_once",
            format!(
                "the duplicate answered {:?}",
                second.first().map(|a| &a.body)
            ),
        ));
    }
    (v, w)
}

/// F19: the once-record's conditional PutItem takes effect, its answer is lost, and the SDK's
/// retry fails the condition on the record it just wrote.
async fn f19() -> Out {
    let w = world(vec![Scripted::on("put_item", 1, Fate::Retried)]);
    let start = Instant::now();
    let a = custom_resource::deliver(
        &w,
        &gate_event("Create", gate_props(60, 0, 3600)),
        T900,
        [false; 3],
    )
    .await;
    let mut v = Vec::new();
    gate_check(
        &w,
        &a,
        "passed",
        "fresh.gate.own_record_not_a_rival",
        &mut v,
    );
    if let (Some(x), Some(a)) = (v.first_mut(), a.first()) {
        x.detail += &format!("; answered {:?} after the request", a.at - start);
    }
    (v, w)
}

/// F19b: the once-record's PutItem throttled once past the SDK's retries.
async fn f19b() -> Out {
    let w = world(vec![Scripted::on(
        "put_item",
        1,
        Fate::Code("ProvisionedThroughputExceededException"),
    )]);
    let a = custom_resource::deliver(
        &w,
        &gate_event("Create", gate_props(60, 0, 3600)),
        T900,
        [false; 3],
    )
    .await;
    let mut v = Vec::new();
    gate_check(
        &w,
        &a,
        "passed",
        "fresh.gate.store_throttle_waited_out",
        &mut v,
    );
    (v, w)
}

const TD7: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/users:7";

fn deployment(state: DeploymentRolloutState, reason: &str) -> Deployment {
    Deployment::builder()
        .status("PRIMARY")
        .task_definition(TD7)
        .rollout_state(state)
        .rollout_state_reason(reason)
        .running_count(1)
        .desired_count(1)
        .build()
}

fn gate_with_service() -> Value {
    let mut p = gate_props(60, 0, 3600);
    p["Cluster"] = json!("apps");
    p["ServiceName"] = json!("users");
    p["TaskDefinitionArn"] = json!(TD7);
    p
}

/// F20: the circuit breaker marks the new revision's rollout FAILED 30 s into the wait.
async fn f20() -> Out {
    let w = world(vec![]);
    {
        let mut g = w.lock().unwrap();
        g.set_desired("users", 1);
        g.deployments.insert(
            "users".into(),
            vec![deployment(DeploymentRolloutState::InProgress, "")],
        );
    }
    let w2 = w.clone();
    tokio::spawn(async move {
        tokio::time::sleep(secs(30)).await;
        w2.lock().unwrap().deployments.insert(
            "users".into(),
            vec![deployment(
                DeploymentRolloutState::Failed,
                "tasks failed to start",
            )],
        );
    });
    let start = Instant::now();
    let a = custom_resource::deliver(
        &w,
        &gate_event("Create", gate_with_service()),
        T900,
        [false; 3],
    )
    .await;
    let mut v = Vec::new();
    gate_check(
        &w,
        &a,
        "failed",
        "fresh.gate.circuit_breaker_fails_at_once",
        &mut v,
    );
    if let Some(a) = a.first() {
        if a.at > start + secs(120) || !a.body["Reason"].to_string().contains("FAILED") {
            v.push(violation(
                "fresh.gate.circuit_breaker_fails_at_once",
                format!("answered after {:?}: {}", a.at - start, a.body["Reason"]),
            ));
        }
    }
    (v, w)
}

/// F21: DescribeServices throttled five times (past the SDK's retries) while the rollout is done.
async fn f21() -> Out {
    let w = world(
        (1..=5)
            .map(|n| Scripted::on("describe_services", n, Fate::Throttle))
            .collect(),
    );
    {
        let mut g = w.lock().unwrap();
        g.set_desired("users", 1);
        g.deployments.insert(
            "users".into(),
            vec![deployment(DeploymentRolloutState::Completed, "")],
        );
    }
    let a = custom_resource::deliver(
        &w,
        &gate_event("Create", gate_with_service()),
        T900,
        [false; 3],
    )
    .await;
    let mut v = Vec::new();
    gate_check(
        &w,
        &a,
        "passed",
        "fresh.gate.poll_through_throttling",
        &mut v,
    );
    (v, w)
}

/// F22: the VPC worker is Inactive (ResourceNotReadyException), then throttled
/// (TooManyRequestsException), then runs.
async fn f22() -> Out {
    let w = world(vec![
        Scripted::on("invoke", 1, Fate::Code("ResourceNotReadyException")),
        Scripted::on("invoke", 2, Fate::Code("TooManyRequestsException")),
    ]);
    let a = custom_resource::deliver(
        &w,
        &gate_event("Create", gate_props(60, 0, 3600)),
        T900,
        [false; 3],
    )
    .await;
    let mut v = Vec::new();
    gate_check(
        &w,
        &a,
        "passed",
        "fresh.gate.worker_not_ready_retried",
        &mut v,
    );
    (v, w)
}

/// F22b: the worker function does not exist: FAILED at once.
async fn f22b() -> Out {
    let w = world(vec![Scripted::on(
        "invoke",
        0,
        Fate::Code("ResourceNotFoundException"),
    )]);
    let start = Instant::now();
    let a = custom_resource::deliver(
        &w,
        &gate_event("Create", gate_props(60, 0, 3600)),
        T900,
        [false; 3],
    )
    .await;
    let mut v = Vec::new();
    gate_check(
        &w,
        &a,
        "failed",
        "fresh.gate.missing_worker_fails_at_once",
        &mut v,
    );
    if let Some(a) = a.first() {
        if a.at > start + secs(30) {
            v.push(violation(
                "fresh.gate.missing_worker_fails_at_once",
                format!("after {:?}", a.at - start),
            ));
        }
    }
    (v, w)
}

/// F23: WarmUp 60 + Duration 300 does not fit a 300 s ServiceTimeout.
async fn f23() -> Out {
    let w = world(vec![]);
    let a = custom_resource::deliver(
        &w,
        &gate_event("Create", gate_props(300, 60, 300)),
        T900,
        [false; 3],
    )
    .await;
    let mut v = Vec::new();
    gate_check(&w, &a, "failed", "fresh.gate.never_shortened", &mut v);
    if let Some(a) = a.first() {
        if !a.body["Reason"].to_string().contains("shorten") {
            v.push(violation(
                "fresh.gate.never_shortened",
                format!("reason {}", a.body["Reason"]),
            ));
        }
    }
    (v, w)
}

// ---------------------------------------------------------------- C. lifecycle hook

fn hook_event(revision: &str) -> HookEvent {
    let path = format!(
        "{}/tests/fixtures/hooks/post_test_traffic_shift.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut raw: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("JSON");
    raw["executionDetails"]["targetServiceRevisionArn"] = json!(revision);
    raw["hookDetails"] = json!({ SETTINGS_KEY: {
        // Names no host: the engine refuses it without I/O (as in sim/hooks.rs); the run ends
        // FAILED right after its record and lease were written.
        "Url": "file:///sim-no-network", "Duration": 120, "WarmUp": 5, "CallBackDelay": 5, "Rate": 20,
        "Stages": ["POST_TEST_TRAFFIC_SHIFT"], "StackId": STACK,
    }});
    serde_json::from_value(raw).expect("hook event")
}

const REV1: &str = "arn:aws:ecs:eu-west-1:111122223333:service-revision/apps/users/1";
const REV2: &str = "arn:aws:ecs:eu-west-1:111122223333:service-revision/apps/users/2";

/// One invocation of the hook under a 300 s Lambda timeout; None when it crashed or was killed.
async fn hook_invoke(w: &Shared, ev: &HookEvent) -> Option<HookAnswer> {
    let inv = w.lock().unwrap().invocation(false);
    let clients = world::clients(w, inv);
    let store = clients.state_store.clone();
    let deadline = Instant::now() + secs(300);
    let r = tokio::time::timeout_at(
        deadline,
        lifecycle_hook::handle(&clients, store.as_ref(), ev, deadline),
    )
    .await;
    if w.lock().unwrap().crashed[inv] {
        return None;
    }
    r.ok()
}

/// ECS: invoke, and again after `callBackDelay` with the returned details while IN_PROGRESS.
async fn hook_run(w: Shared, mut ev: HookEvent, at_most: usize) -> Vec<HookAnswer> {
    let mut out = Vec::new();
    for _ in 0..at_most {
        let Some(a) = hook_invoke(&w, &ev).await else {
            break;
        };
        out.push(a.clone());
        if a.status != HookStatus::InProgress {
            break;
        }
        ev.hook_details = a.hook_details.clone();
        tokio::time::sleep(secs(a.call_back_delay.unwrap_or(30))).await;
    }
    out
}

fn last(a: &[HookAnswer]) -> String {
    a.last()
        .map(|a| format!("{:?}: {}", a.status, a.reason))
        .unwrap_or_else(|| "no answer".into())
}

/// A run that measured: the engine's refusal of the simulated Url is its verdict.
fn measured_verdict(a: &[HookAnswer]) -> bool {
    a.last()
        .is_some_and(|a| a.status == HookStatus::Failed && !a.reason.contains("state table"))
}

/// F24: ECS invokes the same stage twice at once.
async fn f24() -> Out {
    let w = world(vec![]);
    let ev = hook_event(REV1);
    let (w1, e1) = (w.clone(), ev.clone());
    let t1 = tokio::spawn(async move { hook_run(w1, e1, 6).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let b = hook_run(w.clone(), ev, 6).await;
    let a = t1.await.unwrap();
    let claims = w.lock().unwrap().lease_claims;
    let mut v = Vec::new();
    let same = a.last().map(|x| x.status) == b.last().map(|x| x.status);
    if claims != 1 || !same || !measured_verdict(&a) {
        v.push(violation(
            "fresh.hook.one_run",
            format!("{claims} lease claims; answers {} / {}", last(&a), last(&b)),
        ));
    }
    (v, w)
}

/// F26: the lease's UpdateItem is throttled once past the SDK's retries.
async fn f26() -> Out {
    let w = world(vec![Scripted::on(
        "update_item",
        1,
        Fate::Code("ProvisionedThroughputExceededException"),
    )]);
    let a = hook_run(w.clone(), hook_event(REV1), 6).await;
    let claims = w.lock().unwrap().lease_claims;
    let mut v = Vec::new();
    if claims != 1 || !measured_verdict(&a) {
        v.push(violation(
            "fresh.hook.throttle_not_a_verdict",
            format!("{claims} lease claims; {}", last(&a)),
        ));
    }
    (v, w)
}

/// F26b: the lease's conditional UpdateItem takes effect, its answer is lost, and the SDK's
/// retry fails the condition on the lease it just took.
async fn f26b() -> Out {
    let w = world(vec![Scripted::on("update_item", 1, Fate::Retried)]);
    let a = hook_run(w.clone(), hook_event(REV1), 4).await;
    let g = w.lock().unwrap();
    let leased: Vec<String> = g
        .items
        .iter()
        .filter(|(_, i)| {
            i.get("Status")
                .and_then(|s| s.as_s().ok())
                .map(String::as_str)
                == Some("RUNNING")
                && i.contains_key("LeaseOwner")
        })
        .map(|(k, _)| k.clone())
        .collect();
    let mut v = Vec::new();
    if !measured_verdict(&a) || !leased.is_empty() {
        v.push(violation(
            "fresh.hook.own_lease_not_a_rival",
            format!(
                "{} invocations, last {}; record still leased by a returned invocation: {leased:?}",
                a.len(),
                last(&a)
            ),
        ));
    }
    drop(g);
    (v, w)
}

/// F27: the final status's conditional write takes effect, its answer is lost, the retry fails
/// its condition: the recorded status is the answer.
async fn f27() -> Out {
    let w = world(vec![Scripted::on("update_item", 2, Fate::Retried)]);
    let a = hook_run(w.clone(), hook_event(REV1), 6).await;
    let mut v = Vec::new();
    if !measured_verdict(&a) || w.lock().unwrap().lease_claims != 1 {
        v.push(violation("fresh.hook.recorded_status_answered", last(&a)));
    }
    (v, w)
}

/// F28: a gate stage invoked while the deployment rolls back.
async fn f28() -> Out {
    let w = world(vec![]);
    w.lock().unwrap().deployment_status = "ROLLBACK_IN_PROGRESS".into();
    let a = hook_run(w.clone(), hook_event(REV1), 6).await;
    let mut v = Vec::new();
    let ok = a.last().is_some_and(|a| a.status == HookStatus::Succeeded);
    if !ok || w.lock().unwrap().lease_claims != 0 {
        v.push(violation("fresh.hook.rollback_no_load", last(&a)));
    }
    (v, w)
}

/// F29: the same with the deployment's status unreadable (throttled throughout).
async fn f29() -> Out {
    let w = world(vec![Scripted::on(
        "describe_service_deployments",
        0,
        Fate::Throttle,
    )]);
    w.lock().unwrap().deployment_status = "ROLLBACK_IN_PROGRESS".into();
    let a = hook_run(w.clone(), hook_event(REV1), 3).await;
    let mut v = Vec::new();
    let failed = a.iter().any(|a| a.status == HookStatus::Failed);
    if failed || a.is_empty() || w.lock().unwrap().lease_claims != 0 {
        v.push(violation(
            "fresh.hook.rollback_never_failed",
            format!("{} answers; last {}", a.len(), last(&a)),
        ));
    }
    (v, w)
}

/// F30: a late invocation for a superseded revision after the new one's run.
async fn f30() -> Out {
    let w = world(vec![]);
    hook_run(w.clone(), hook_event(REV2), 6).await;
    let r2 = |w: &Shared| {
        w.lock()
            .unwrap()
            .items
            .iter()
            .find(|(k, _)| k.starts_with(REV2))
            .map(|(k, i)| (k.clone(), i.clone()))
    };
    let before = r2(&w);
    hook_run(w.clone(), hook_event(REV1), 6).await;
    let after = r2(&w);
    let n = w.lock().unwrap().items.len();
    let mut v = Vec::new();
    if before.is_none() || before != after || n != 2 {
        v.push(violation(
            "fresh.hook.revisions_apart",
            format!("{n} records; the new revision's record before {before:?}, after {after:?}"),
        ));
    }
    (v, w)
}

// ---------------------------------------------------------------- D. failover

fn failover_world(health_lag_ms: u64, resting: i32) -> Shared {
    let w = world(vec![]);
    {
        let mut g = w.lock().unwrap();
        g.health_lag_ms = health_lag_ms;
        g.listeners.insert(
            ROUTE.into(),
            LState {
                port: 8000,
                lb: LB.into(),
                settings: String::new(),
                actions: vec![weighted(0, 100)],
                tags: tags(STACK, "ApiRoute"),
                tags_visible_at: Instant::now(),
            },
        );
        g.tg_service.insert(TG.into(), SERVICE.into());
        g.set_desired(SERVICE, resting);
        g.services.get_mut(SERVICE).expect("service").tags = vec![(STACK_TAG.into(), STACK.into())];
    }
    w
}

fn failover_config() -> Value {
    json!({
        "AlarmName": "api-unhealthy", "ListenerArn": ROUTE, "TargetGroupArn": TG,
        "StandbyTargetGroupArn": STANDBY_TG, "Cluster": "apps", "ServiceName": SERVICE,
        "StandbyCount": "2", "RestingCount": "0", "HealthyTimeout": "600",
    })
}

/// One alarm event or re-check; false when the invocation ran into its 300 s timeout.
async fn alarm_event(w: &Shared) -> bool {
    let inv = w.lock().unwrap().invocation(false);
    let clients = world::clients(w, inv);
    let deadline = Instant::now() + secs(300);
    tokio::time::timeout_at(
        deadline,
        fargate_provider::failover::handle_event(&clients, &failover_config(), deadline),
    )
    .await
    .is_ok()
}

fn route(w: &Shared, arn: &str) -> (Vec<(String, i32)>, i32) {
    let g = w.lock().unwrap();
    let r = g
        .listeners
        .get(arn)
        .map(|l| forward_targets(&l.actions))
        .unwrap_or_default();
    (r, g.services.get(SERVICE).map_or(-1, |s| s.desired))
}

fn split(r: &[(String, i32)]) -> (i32, i32) {
    let of = |tg: &str| r.iter().find(|(t, _)| t == tg).map_or(0, |(_, w)| *w);
    (of(TG), of(STANDBY_TG))
}

fn set_alarm(w: &Shared, state: &str) {
    w.lock().unwrap().alarm = state.into();
}

/// F31: ALARM at 0 s, OK at 20 s; the OK event at 21 s, the ALARM event (retried) at 60 s.
async fn f31() -> Out {
    let w = failover_world(5_000, 0);
    set_alarm(&w, "ALARM");
    tokio::time::sleep(secs(20)).await;
    set_alarm(&w, "OK");
    tokio::time::sleep(secs(1)).await;
    alarm_event(&w).await;
    tokio::time::sleep(secs(39)).await;
    alarm_event(&w).await;
    let (r, desired) = route(&w, ROUTE);
    let mut v = Vec::new();
    if split(&r) != (0, 100) || desired != 0 {
        v.push(violation(
            "fresh.failover.late_event_harmless",
            format!("alarm OK: weights {r:?}, desired {desired}"),
        ));
    }
    (v, w)
}

/// F32: two copies of the ALARM event at once.
async fn f32() -> Out {
    let w = failover_world(10_000, 0);
    set_alarm(&w, "ALARM");
    let w1 = w.clone();
    let t = tokio::spawn(async move { alarm_event(&w1).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    alarm_event(&w).await;
    t.await.unwrap();
    let (r, desired) = route(&w, ROUTE);
    let mut v = Vec::new();
    if split(&r) != (100, 0) || desired != 2 {
        v.push(violation(
            "fresh.failover.duplicate_once",
            format!("alarm ALARM: weights {r:?}, desired {desired} (StandbyCount 2)"),
        ));
    }
    (v, w)
}

/// F33: the event scales the service up; its targets turn healthy 40 s later and the alarm
/// returns to OK 30 s later, while the event waits for them.
async fn f33() -> Out {
    let w = failover_world(60 * 60 * 1000, 0);
    set_alarm(&w, "ALARM");
    let w2 = w.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(1)).await;
            let mut g = w2.lock().unwrap();
            let Some(s) = g.services.get_mut(SERVICE).filter(|s| s.desired >= 2) else {
                continue;
            };
            let at = Instant::now() + secs(40);
            s.tasks.iter_mut().for_each(|t| *t = at);
            break;
        }
        tokio::time::sleep(secs(30)).await;
        set_alarm(&w2, "OK");
    });
    alarm_event(&w).await;
    let (r, _) = route(&w, ROUTE);
    let mut v = Vec::new();
    if split(&r) != (0, 100) {
        v.push(violation(
            "fresh.failover.flip_during_wait",
            format!("alarm OK after the event: weights {r:?}"),
        ));
    }
    tokio::time::sleep(fargate_provider::failover::RECHECK_PERIOD).await;
    alarm_event(&w).await;
    let (r, desired) = route(&w, ROUTE);
    if split(&r) != (0, 100) || desired != 0 {
        v.push(violation(
            "fresh.failover.flip_during_wait",
            format!("after a re-check: weights {r:?}, desired {desired}"),
        ));
    }
    (v, w)
}

/// F34: the targets never turn healthy: the weights stay, the event returns in time.
async fn f34() -> Out {
    let w = failover_world(60 * 60 * 1000, 0);
    set_alarm(&w, "ALARM");
    let in_time = alarm_event(&w).await;
    let (r, desired) = route(&w, ROUTE);
    let mut v = Vec::new();
    if !in_time || split(&r) != (0, 100) {
        v.push(violation(
            "fresh.failover.no_move_without_health",
            format!("returned in time: {in_time}; weights {r:?}, desired {desired}"),
        ));
    }
    (v, w)
}

fn failover_cr(kind: &str, physical: Option<&str>, listener: &str) -> Value {
    let mut p = failover_config();
    p["ListenerArn"] = json!(listener);
    p["ServiceTimeout"] = json!("720");
    cr(
        kind,
        fargate_provider::failover::RESOURCE_TYPE,
        (STACK, "ApiFailover"),
        p,
        physical,
        &format!("req-{kind}"),
    )
}

/// F35: a re-check (an EventBridge retry) after the failover resource was deleted.
async fn f35() -> Out {
    let w = failover_world(0, 0);
    let c =
        custom_resource::deliver(&w, &failover_cr("Create", None, ROUTE), T900, [false; 3]).await;
    let id = c.first().map(physical).unwrap_or_default();
    custom_resource::deliver(
        &w,
        &failover_cr("Delete", Some(&id), ROUTE),
        T900,
        [false; 3],
    )
    .await;
    let after_delete = route(&w, ROUTE);
    tokio::time::sleep(secs(90)).await;
    set_alarm(&w, "ALARM");
    alarm_event(&w).await;
    let after = route(&w, ROUTE);
    let mut v = Vec::new();
    if after_delete.0 != vec![(TG.to_string(), 1)] || after != after_delete {
        v.push(violation(
            "fresh.failover.late_recheck_after_delete",
            format!("after Delete {after_delete:?}; after the late re-check {after:?}"),
        ));
    }
    (v, w)
}

/// F36: the failover resource's Delete after its listener is gone.
async fn f36() -> Out {
    let w = failover_world(0, 0);
    let c =
        custom_resource::deliver(&w, &failover_cr("Create", None, ROUTE), T900, [false; 3]).await;
    let id = c.first().map(physical).unwrap_or_default();
    w.lock().unwrap().listeners.remove(ROUTE);
    let d = custom_resource::deliver(
        &w,
        &failover_cr("Delete", Some(&id), ROUTE),
        T900,
        [false; 3],
    )
    .await;
    let mut v = Vec::new();
    if d.first().map(status) != Some("SUCCESS") {
        v.push(violation(
            "fresh.cr.delete_gone_succeeds",
            format!("{:?}", d.first().map(|a| &a.body)),
        ));
    }
    (v, w)
}

/// F37: a failover resource naming another stack's listener.
async fn f37() -> Out {
    let w = failover_world(0, 0);
    w.lock().unwrap().listeners.insert(
        FOREIGN.into(),
        LState {
            port: 9000,
            lb: LB.into(),
            settings: String::new(),
            actions: vec![weighted(0, 100)],
            tags: vec![(STACK_TAG.into(), OTHER_STACK.into())],
            tags_visible_at: Instant::now(),
        },
    );
    set_alarm(&w, "ALARM");
    let before = route(&w, FOREIGN);
    let c =
        custom_resource::deliver(&w, &failover_cr("Create", None, FOREIGN), T900, [false; 3]).await;
    let after = route(&w, FOREIGN);
    let mut v = Vec::new();
    if c.first().map(status) != Some("FAILED") || before.0 != after.0 {
        v.push(violation(
            "fresh.ownership.foreign_route_refused",
            format!(
                "answered {:?}; {before:?} -> {after:?}",
                c.first().map(status)
            ),
        ));
    }
    (v, w)
}

// ---------------------------------------------------------------- the table

fn known() -> std::collections::BTreeSet<String> {
    include_str!("../fresh/known.txt")
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

macro_rules! row {
    ($id:literal, $what:literal, $f:ident) => {
        (
            $id,
            $what,
            (|| -> Pin<Box<dyn Future<Output = Out>>> { Box::pin($f()) }) as Run,
        )
    };
}

/// Every scenario of SCENARIOS.md that the simulation can express, in its own order.
pub fn table() -> Vec<(&'static str, &'static str, Run)> {
    vec![
        row!("F01", "CreateListener applied, answer lost, SDK retry", f01),
        row!("F01b", "CreateRule applied, answer lost, SDK retry", f01b),
        row!("F02", "crash after CreateListener, Lambda retry", f02),
        row!("F03", "rule Create delivered twice at once", f03),
        row!(
            "F04",
            "two stacks, identical listener settings, at once",
            f04
        ),
        row!("F05", "DescribeListeners throttled once past the SDK", f05),
        row!("F06", "every ELBv2 call throttled", f06),
        row!("F07", "PriorityInUse twelve times", f07),
        row!("F08", "full port range", f08),
        row!("F09", "Delete after the failed Create", f09),
        row!("F10", "Delete of a listener already gone", f10),
        row!(
            "F10b",
            "DeleteListener applied, answer lost, SDK retry",
            f10b
        ),
        row!("F11", "duplicate Delete after the port was re-claimed", f11),
        row!("F12", "replacement and cleanup Delete", f12),
        row!(
            "F12b",
            "replacement rolled back: the new listener deleted",
            f12b
        ),
        row!("F13", "in-place Update while failed over", f13),
        row!("F15", "CreateListener applied, then hangs", f15),
        row!(
            "F16",
            "rollback Update, DescribeStacks throttled twice",
            f16
        ),
        row!("F17", "DescribeStacks throttled throughout", f17),
        row!("F18", "gate Create again while the first runs", f18),
        row!("F19", "gate record written, answer lost, SDK retry", f19),
        row!("F19b", "gate record PutItem throttled once", f19b),
        row!("F20", "circuit breaker FAILED during the wait", f20),
        row!("F21", "DescribeServices throttled five times", f21),
        row!("F22", "worker Inactive, then throttled, then runs", f22),
        row!("F22b", "worker function missing", f22b),
        row!("F23", "Duration does not fit ServiceTimeout", f23),
        row!("F24", "hook invoked twice at once", f24),
        row!("F26", "hook lease throttled once", f26),
        row!("F26b", "hook lease written, answer lost, SDK retry", f26b),
        row!(
            "F27",
            "hook final status written, answer lost, SDK retry",
            f27
        ),
        row!("F28", "gate stage during a rollback", f28),
        row!("F29", "rollback with the deployment unreadable", f29),
        row!("F30", "late invocation for a superseded revision", f30),
        row!("F31", "late ALARM event after OK", f31),
        row!("F32", "ALARM event twice at once", f32),
        row!("F33", "alarm back to OK during the health wait", f33),
        row!("F34", "targets never healthy", f34),
        row!("F35", "late re-check after the failover Delete", f35),
        row!("F36", "failover Delete, listener gone", f36),
        row!("F37", "another stack's listener", f37),
        row!("F38", "late duplicate Create after the stack's Delete", f38),
    ]
}

/// Runs every row; a violation of a row not in `fresh/known.txt` fails, a known row is
/// reported (and said so when it passes now).
pub fn run_table(filter: Option<&str>) {
    let known = known();
    let rows = table();
    for k in &known {
        assert!(
            rows.iter().any(|(id, _, _)| id == k),
            "fresh/known.txt names {k}, which is no row"
        );
    }
    let mut unexpected = Vec::new();
    for (id, what, run) in rows {
        if filter.is_some_and(|f| f != id) {
            continue;
        }
        let out = harness::run_one(0, |_, _| run());
        let is_known = known.contains(id);
        if out.violations.is_empty() {
            let note = if is_known {
                " (listed as known: it passes now, remove it from fresh/known.txt)"
            } else {
                ""
            };
            eprintln!("[fresh] {id} passed: {what}{note}");
            continue;
        }
        for v in &out.violations {
            let tag = if is_known { "KNOWN DEFECT" } else { "VIOLATED" };
            eprintln!(
                "[fresh] {id} {tag}: {what}: {}: {} (faults {:?})",
                v.invariant, v.detail, out.faults
            );
            if !is_known {
                unexpected.push(format!("{id}: {}: {}", v.invariant, v.detail));
            }
        }
    }
    assert!(
        unexpected.is_empty(),
        "scenarios violated that fresh/known.txt does not list:\n{}",
        unexpected.join("\n")
    );
}
