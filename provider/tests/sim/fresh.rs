//! fresh18: the fault scenarios of `provider/tests/fresh/SCENARIOS.md`, each a deterministic
//! schedule (faults placed on chosen calls with `World::script`, no random draw) driving the
//! provider's real handlers against the simulated AWS of `world.rs`. One table ([`table`]): a
//! row a scenario, with its name, the guarantee it checks, its fault script, the world before
//! it and what happens ([`Drive`]: one delivery with a stated outcome, a hook run, or a few
//! steps); one runner ([`run_row`]). A row whose ID `provider/tests/fresh/known.txt` lists is a
//! known provider defect: reported, not failed.
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
/// A row's steps: each string a broken guarantee.
type Broken = Pin<Box<dyn Future<Output = Vec<String>>>>;

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

/// One answer, SUCCESS, and exactly the answered holder is the resource's; or why not.
fn one_holder(w: &Shared, answers: &[Answer], owner: (&str, &str)) -> Option<String> {
    let Some(a) = answers.first() else {
        return Some("no answer".into());
    };
    let held = holders(w, owner.0, owner.1);
    (status(a) != "SUCCESS" || held != vec![physical(a)]).then(|| {
        format!(
            "answered {} {} ({}); the ALB holds for this resource {held:?}",
            status(a),
            physical(a),
            a.body["Reason"]
        )
    })
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

// ---------------------------------------------------------------- the row type

/// What a row makes happen, and how its guarantee is read from what was answered.
enum Drive {
    /// One custom-resource event delivered (Lambda retries a crashed invocation): the answer is
    /// SUCCESS and the resource's holders on the ALB are exactly the answered one.
    OneHolder(fn() -> Value),
    /// One load-test gate event delivered: the gate `want`s to pass (one load run), be skipped or
    /// fail (no load); answered within `within` seconds, with `reason` in its Reason, when given.
    Gate {
        event: fn() -> Value,
        want: Want,
        within: Option<u64>,
        reason: Option<&'static str>,
    },
    /// ECS invokes the hook (again after `callBackDelay` while IN_PROGRESS, `at_most` times).
    Hook { at_most: usize, want: HookWant },
    /// Anything else: a script of deliveries and checks; each string a broken guarantee.
    Steps(fn(Shared) -> Broken),
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Want {
    Passed,
    Skipped,
    Failed,
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum HookWant {
    /// One lease taken, the run measured (the engine's verdict on the simulated Url answered).
    Measured,
    /// A rollback: SUCCEEDED without a lease (no load).
    SkippedNoLoad,
    /// A rollback whose status cannot be read: never FAILED, no lease, answered.
    NeverFailedNoLoad,
}

/// One scenario of `provider/tests/fresh/SCENARIOS.md`: its ID and what happens, the guarantee
/// it checks (the invariant a failure is reported under), the faults placed on chosen calls,
/// the world before it, and what happens then.
struct Row {
    id: &'static str,
    what: &'static str,
    guarantee: &'static str,
    script: Vec<Scripted>,
    setup: Box<dyn Fn(&Shared)>,
    drive: Drive,
}

fn row(id: &'static str, what: &'static str, guarantee: &'static str, drive: Drive) -> Row {
    Row {
        id,
        what,
        guarantee,
        script: Vec::new(),
        setup: Box::new(|_| {}),
        drive,
    }
}

impl Row {
    fn faults(mut self, script: Vec<Scripted>) -> Row {
        self.script = script;
        self
    }
    fn setup(mut self, f: impl Fn(&Shared) + 'static) -> Row {
        self.setup = Box::new(f);
        self
    }
}

macro_rules! steps {
    ($f:ident) => {
        Drive::Steps(|w| -> Broken { Box::pin($f(w)) })
    };
}

fn scripted_crash(op: &'static str, nth: u64) -> Scripted {
    let mut s = Scripted::on(op, nth, Fate::Normal);
    s.crash = true;
    s
}

fn scripted_hang(op: &'static str, nth: u64, hang: Duration) -> Scripted {
    let mut s = Scripted::on(op, nth, Fate::Normal);
    s.hang = Some(hang);
    s
}

/// Runs one row on a world without random faults; the broken guarantees.
async fn run_row(r: Row) -> Out {
    let w = world(r.script);
    (r.setup)(&w);
    let start = Instant::now();
    let broken = match r.drive {
        Drive::OneHolder(event) => {
            let a = custom_resource::deliver(&w, &event(), T900, [false; 3]).await;
            one_holder(&w, &a, (STACK, ID)).into_iter().collect()
        }
        Drive::Gate {
            event,
            want,
            within,
            reason,
        } => {
            let a = custom_resource::deliver(&w, &event(), T900, [false; 3]).await;
            gate_check(&w, &a, want, start, within, reason)
        }
        Drive::Hook { at_most, want } => {
            let a = hook_run(w.clone(), hook_event(REV1), at_most).await;
            hook_check(&w, &a, want)
        }
        Drive::Steps(f) => f(w.clone()).await,
    };
    let v = broken
        .into_iter()
        .map(|d| violation(r.guarantee, d))
        .collect();
    (v, w)
}

// ---------------------------------------------------------------- A. claims

fn rule_create() -> Value {
    cr(
        "Create",
        RULE,
        (STACK, ID),
        rule_props("10-40"),
        None,
        "req-1",
    )
}

fn port_create1() -> Value {
    port_create("req-1")
}

/// F02: Lambda's retry adopts the listener on the first port of the range.
async fn f02(w: Shared) -> Vec<String> {
    let a = custom_resource::deliver(&w, &port_create("req-1"), T900, [false; 3]).await;
    let mut v: Vec<String> = one_holder(&w, &a, (STACK, ID)).into_iter().collect();
    if let Some(a) = a.first() {
        if a.body["Data"]["Port"] != json!("8000") && a.body["Data"]["Port"] != json!(8000) {
            v.push(format!("port {} instead of 8000", a.body["Data"]["Port"]));
        }
    }
    v
}

/// F03: the same rule Create delivered twice at once (50 ms apart).
async fn f03(w: Shared) -> Vec<String> {
    let t1 = spawn_invoke(&w, &rule_create(), Duration::ZERO).await;
    let t2 = spawn_invoke(&w, &rule_create(), Duration::from_millis(50)).await;
    let answers: Vec<Answer> = [t1.await.unwrap(), t2.await.unwrap()]
        .into_iter()
        .flatten()
        .collect();
    let mut v: Vec<String> = one_holder(&w, &answers, (STACK, ID)).into_iter().collect();
    if answers.len() != 2 || physical(&answers[0]) != physical(&answers[1]) {
        v.push(format!(
            "answers name {:?}",
            answers.iter().map(physical).collect::<Vec<_>>()
        ));
    }
    v
}

/// F04: two stacks, identical listener settings (one target group), one empty ALB, at once.
async fn f04(w: Shared) -> Vec<String> {
    let b_ev = cr(
        "Create",
        PORT,
        (OTHER_STACK, "Api"),
        port_props(LB, "8000-8009"),
        None,
        "req-b",
    );
    let ta = spawn_invoke(&w, &port_create("req-a"), Duration::ZERO).await;
    let tb = spawn_invoke(&w, &b_ev, Duration::ZERO).await;
    let (a, b) = (ta.await.unwrap(), tb.await.unwrap());
    let mut v: Vec<String> = one_holder(&w, a.as_slice(), (STACK, ID))
        .into_iter()
        .chain(one_holder(&w, b.as_slice(), (OTHER_STACK, "Api")))
        .collect();
    if let (Some(a), Some(b)) = (&a, &b) {
        if a.body["Data"]["Port"] == b.body["Data"]["Port"] {
            v.push(format!(
                "both stacks answered port {}",
                a.body["Data"]["Port"]
            ));
        }
    }
    v
}

/// F06: every ELBv2 call throttled: one FAILED answer before ServiceTimeout (300 s), nothing made.
async fn f06(w: Shared) -> Vec<String> {
    let start = Instant::now();
    let a = custom_resource::deliver(&w, &port_create("req-1"), T900, [false; 3]).await;
    let mut v = Vec::new();
    match a.first() {
        Some(a) if status(a) == "FAILED" && a.at <= start + secs(300) => {}
        Some(a) => v.push(format!("{} after {:?}", status(a), a.at - start)),
        None => v.push("no answer".into()),
    }
    if !w.lock().unwrap().listeners.is_empty() {
        v.push("a listener was made".into());
    }
    v
}

/// F07: twelve concurrent stacks each take the priority the claim just read as free.
async fn f07(w: Shared) -> Vec<String> {
    let a = custom_resource::deliver(&w, &rule_create(), T900, [false; 3]).await;
    let mut v: Vec<String> = one_holder(&w, &a, (STACK, ID)).into_iter().collect();
    if let Some(a) = a.first() {
        let g = w.lock().unwrap();
        if let Some(r) = g.rules.get(&physical(a)) {
            let same = g
                .rules
                .values()
                .filter(|o| o.priority == r.priority && o.listener == r.listener)
                .count();
            if !(10..=40).contains(&r.priority) || same != 1 {
                v.push(format!("priority {} held by {same} rules", r.priority));
            }
        }
    }
    v
}

/// F08 and F09: every port of 8000-8002 is another stack's.
fn full_range(w: &Shared) {
    for p in 8000..=8002 {
        other_listener(w, p);
    }
}

async fn full_range_create(w: &Shared) -> Option<Answer> {
    let ev = cr(
        "Create",
        PORT,
        (STACK, ID),
        port_props(LB, "8000-8002"),
        None,
        "req-1",
    );
    let a = custom_resource::deliver(w, &ev, T900, [false; 3]).await;
    a.into_iter().next()
}

/// F08: the Create fails naming the ALB and the range, with a placeholder ID, and makes nothing.
async fn f08(w: Shared) -> Vec<String> {
    let a = full_range_create(&w).await;
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
    if ok && holders(&w, STACK, ID).is_empty() {
        return Vec::new();
    }
    vec![format!(
        "{:?} {:?}: {reason}",
        a.as_ref().map(status),
        a.as_ref().map(physical)
    )]
}

/// F09: the rollback's Delete of that placeholder succeeds and deletes nothing.
async fn f09(w: Shared) -> Vec<String> {
    let id = full_range_create(&w)
        .await
        .as_ref()
        .map(physical)
        .unwrap_or_default();
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
    if d.first().map(status) == Some("SUCCESS") && g.listeners.len() == 3 && deletes == 0 {
        return Vec::new();
    }
    vec![format!(
        "Delete of {id} answered {:?}; {} listeners left, {deletes} delete calls",
        d.first().map(status),
        g.listeners.len()
    )]
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
async fn f10(w: Shared) -> Vec<String> {
    let (id, ev) = claimed(&w).await;
    w.lock().unwrap().listeners.remove(&id);
    let d = custom_resource::deliver(&w, &ev, T900, [false; 3]).await;
    if d.first().map(status) == Some("SUCCESS") {
        return Vec::new();
    }
    vec![format!("{:?}", d.first().map(|a| &a.body))]
}

/// F10b: DeleteListener takes effect, its answer is lost, the SDK's retry gets ListenerNotFound.
async fn f10b(w: Shared) -> Vec<String> {
    let (_, ev) = claimed(&w).await;
    let d = custom_resource::deliver(&w, &ev, T900, [false; 3]).await;
    let left = holders(&w, STACK, ID);
    if d.first().map(status) == Some("SUCCESS") && left.is_empty() {
        return Vec::new();
    }
    vec![format!("{:?}; left {left:?}", d.first().map(|a| &a.body))]
}

/// F11: a duplicate of stack A's Delete arrives after stack B re-claimed the freed port.
async fn f11(w: Shared) -> Vec<String> {
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
    one_holder(&w, &b, (OTHER_STACK, "Api"))
        .into_iter()
        .collect()
}

/// F12: an Update to a new ALB replaces the listener; `rollback`: the update rolls back and the
/// new listener is deleted instead of the old one.
async fn replacement(w: Shared, rollback: bool) -> Vec<String> {
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
    let (gone, kept, lb) = if rollback {
        (&new, &old, LB2)
    } else {
        (&old, &new, LB)
    };
    let del = cr(
        "Delete",
        PORT,
        (STACK, ID),
        port_props(lb, "8000-8009"),
        Some(gone),
        "req-del",
    );
    custom_resource::deliver(&w, &del, T900, [false; 3]).await;
    let held = holders(&w, STACK, ID);
    if new != old && held == vec![kept.clone()] {
        return Vec::new();
    }
    vec![format!("{old} -> {new}; deleted {gone}; held {held:?}")]
}

async fn f12(w: Shared) -> Vec<String> {
    replacement(w, false).await
}

async fn f12b(w: Shared) -> Vec<String> {
    replacement(w, true).await
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
async fn f13(w: Shared) -> Vec<String> {
    let (id, _) = claimed(&w).await;
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
    let after = w
        .lock()
        .unwrap()
        .listeners
        .get(&id)
        .map(|l| forward_targets(&l.actions))
        .unwrap_or_default();
    let want = vec![(TG.to_string(), 100), (STANDBY_TG.to_string(), 0)];
    if u.first().map(physical) == Some(id.clone()) && after == want {
        return Vec::new();
    }
    vec![format!(
        "answered {:?}, weights now {after:?}",
        u.first().map(physical)
    )]
}

/// F15: CreateListener takes effect and then never answers: one answer before ServiceTimeout,
/// and after a FAILED the rollback Delete leaves nothing (after a SUCCESS, one holder).
async fn f15(w: Shared) -> Vec<String> {
    let start = Instant::now();
    let a = custom_resource::deliver(&w, &port_create("req-1"), T900, [false; 3]).await;
    let Some(a) = a.first() else {
        return vec!["no answer".into()];
    };
    let mut v = Vec::new();
    if a.at > start + secs(300) {
        v.push(format!("answered after {:?}", a.at - start));
    }
    if status(a) != "FAILED" {
        v.extend(one_holder(&w, std::slice::from_ref(a), (STACK, ID)));
        return v;
    }
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
        v.push(format!("{left:?} left after FAILED and Delete"));
    }
    v
}

/// F38 (found while encoding): a duplicate of a Create that Lambda delivers late, after the
/// stack deleted the resource (Lambda's asynchronous queue may hand an event over more than
/// once and hours late).
async fn f38(w: Shared) -> Vec<String> {
    let (id, del) = claimed(&w).await;
    custom_resource::deliver(&w, &del, T900, [false; 3]).await;
    tokio::time::sleep(secs(300)).await;
    // The same event as `claimed`'s Create (same RequestId), delivered again.
    let late = custom_resource::deliver(&w, &port_create("req-1"), T900, [false; 3]).await;
    let left = holders(&w, STACK, ID);
    if left.is_empty() {
        return Vec::new();
    }
    vec![format!(
        "the stack deleted {id}; a late duplicate of its Create answered {:?} and left {left:?}",
        late.first().map(|a| (status(a).to_string(), physical(a)))
    )]
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

fn gate_create() -> Value {
    gate_event("Create", gate_props(60, 0, 3600))
}

fn gate_update() -> Value {
    gate_event("Update", gate_props(60, 0, 3600))
}

/// What the gate was to do, against its first answer and the load runs.
fn gate_check(
    w: &Shared,
    a: &[Answer],
    want: Want,
    start: Instant,
    within: Option<u64>,
    reason: Option<&str>,
) -> Vec<String> {
    let runs = w.lock().unwrap().load_runs.clone();
    let Some(a) = a.first() else {
        return vec!["no answer".into()];
    };
    let ok = match want {
        Want::Passed => {
            status(a) == "SUCCESS" && a.body["Data"].get("Skipped").is_none() && runs.len() == 1
        }
        Want::Skipped => {
            status(a) == "SUCCESS" && a.body["Data"].get("Skipped").is_some() && runs.is_empty()
        }
        Want::Failed => status(a) == "FAILED" && runs.is_empty(),
    };
    let mut v = Vec::new();
    if !ok {
        v.push(format!(
            "want {want:?}: answered {} ({} {}) {:?} after the request, load runs {runs:?}",
            status(a),
            a.body["Reason"],
            a.body["Data"],
            a.at - start
        ));
    }
    if within.is_some_and(|s| a.at > start + secs(s)) {
        v.push(format!("answered after {:?}", a.at - start));
    }
    if reason.is_some_and(|r| !a.body["Reason"].to_string().contains(r)) {
        v.push(format!("reason {}", a.body["Reason"]));
    }
    v
}

/// F18: the same gate Create delivered again 20 s in, while the first runs its 60 s of load.
async fn f18(w: Shared) -> Vec<String> {
    let start = Instant::now();
    let (w1, e1) = (w.clone(), gate_create());
    let t1 =
        tokio::spawn(async move { custom_resource::deliver(&w1, &e1, T900, [false; 3]).await });
    tokio::time::sleep(secs(20)).await;
    let second = custom_resource::deliver(&w, &gate_create(), T900, [false; 3]).await;
    let first = t1.await.unwrap();
    let mut v = gate_check(&w, &first, Want::Passed, start, None, None);
    if second.first().map(status) != Some("SUCCESS") {
        v.push(format!(
            "the duplicate answered {:?}",
            second.first().map(|a| &a.body)
        ));
    }
    v
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
    gate_event("Create", p)
}

/// The service `users` at one task, its deployment in `state`.
fn rollout(w: &Shared, state: DeploymentRolloutState) {
    let mut g = w.lock().unwrap();
    g.set_desired("users", 1);
    g.deployments
        .insert("users".into(), vec![deployment(state, "")]);
}

/// F20: the circuit breaker marks the new revision's rollout FAILED 30 s into the wait.
fn breaker_trips_at_30s(w: &Shared) {
    rollout(w, DeploymentRolloutState::InProgress);
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

/// Records still leased (RUNNING with a lease owner) once every invocation returned.
fn leased(w: &Shared) -> Vec<String> {
    w.lock()
        .unwrap()
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
        .collect()
}

fn hook_check(w: &Shared, a: &[HookAnswer], want: HookWant) -> Vec<String> {
    let claims = w.lock().unwrap().lease_claims;
    let ok = match want {
        HookWant::Measured => claims == 1 && measured_verdict(a),
        HookWant::SkippedNoLoad => {
            claims == 0 && a.last().is_some_and(|a| a.status == HookStatus::Succeeded)
        }
        HookWant::NeverFailedNoLoad => {
            claims == 0 && !a.is_empty() && !a.iter().any(|a| a.status == HookStatus::Failed)
        }
    };
    let left = leased(w);
    if ok && left.is_empty() {
        return Vec::new();
    }
    vec![format!(
        "want {want:?}: {claims} lease claims, {} answers, last {}; still leased {left:?}",
        a.len(),
        last(a)
    )]
}

/// F24: ECS invokes the same stage twice at once.
async fn f24(w: Shared) -> Vec<String> {
    let ev = hook_event(REV1);
    let (w1, e1) = (w.clone(), ev.clone());
    let t1 = tokio::spawn(async move { hook_run(w1, e1, 6).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let b = hook_run(w.clone(), ev, 6).await;
    let a = t1.await.unwrap();
    let mut v = hook_check(&w, &a, HookWant::Measured);
    if a.last().map(|x| x.status) != b.last().map(|x| x.status) {
        v.push(format!("answers {} / {}", last(&a), last(&b)));
    }
    v
}

/// F30: a late invocation for a superseded revision after the new one's run.
async fn f30(w: Shared) -> Vec<String> {
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
    if before.is_some() && before == after && n == 2 {
        return Vec::new();
    }
    vec![format!(
        "{n} records; the new revision's record before {before:?}, after {after:?}"
    )]
}

// ---------------------------------------------------------------- D. failover

/// The failover's route (weights 0/100), the service at `resting` tasks whose targets turn
/// healthy `health_lag_ms` after they start.
fn failover_world(w: &Shared, health_lag_ms: u64, resting: i32) {
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

fn failover_config() -> Value {
    json!({
        "AlarmName": "api-unhealthy", "ListenerArn": ROUTE, "TargetGroupArn": TG,
        "StandbyTargetGroupArn": STANDBY_TG, "Cluster": "apps", "ServiceName": SERVICE,
        "StandbyCount": "2", "RestingCount": "0", "HealthyTimeout": "600",
    })
}

/// One alarm event or re-check; false when the invocation ran into its 300 s timeout.
async fn alarm_event(w: &Shared) -> bool {
    alarm_decision(w).await.is_some()
}

/// The same, with what the invocation returned (its decision).
async fn alarm_decision(w: &Shared) -> Option<Value> {
    let inv = w.lock().unwrap().invocation(false);
    let clients = world::clients(w, inv);
    let deadline = Instant::now() + secs(300);
    tokio::time::timeout_at(
        deadline,
        fargate_provider::failover::handle_event(&clients, &failover_config(), deadline),
    )
    .await
    .ok()
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

/// The route's weights (app, standby) and the desired count are `want`, or why not.
fn route_is(w: &Shared, want: ((i32, i32), Option<i32>), when: &str) -> Option<String> {
    let (r, desired) = route(w, ROUTE);
    let ok = split(&r) == want.0 && want.1.is_none_or(|d| d == desired);
    (!ok).then(|| format!("{when}: weights {r:?}, desired {desired}"))
}

/// F31: ALARM at 0 s, OK at 20 s; the OK event at 21 s, the ALARM event (retried) at 60 s.
async fn f31(w: Shared) -> Vec<String> {
    set_alarm(&w, "ALARM");
    tokio::time::sleep(secs(20)).await;
    set_alarm(&w, "OK");
    tokio::time::sleep(secs(1)).await;
    alarm_event(&w).await;
    tokio::time::sleep(secs(39)).await;
    alarm_event(&w).await;
    route_is(&w, ((0, 100), Some(0)), "alarm OK")
        .into_iter()
        .collect()
}

/// F32: two copies of the ALARM event at once.
async fn f32(w: Shared) -> Vec<String> {
    set_alarm(&w, "ALARM");
    let w1 = w.clone();
    let t = tokio::spawn(async move { alarm_event(&w1).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    alarm_event(&w).await;
    t.await.unwrap();
    route_is(&w, ((100, 0), Some(2)), "alarm ALARM (StandbyCount 2)")
        .into_iter()
        .collect()
}

/// F33: the event scales the service up; its targets turn healthy 40 s later and the alarm
/// returns to OK 30 s later, while the event waits for them.
async fn f33(w: Shared) -> Vec<String> {
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
    let mut v: Vec<String> = route_is(&w, ((0, 100), None), "alarm OK after the event")
        .into_iter()
        .collect();
    tokio::time::sleep(fargate_provider::failover::RECHECK_PERIOD).await;
    alarm_event(&w).await;
    v.extend(route_is(&w, ((0, 100), Some(0)), "after a re-check"));
    v
}

/// F34: the targets never turn healthy: the weights stay, the event returns in time and says
/// it waits (folded from failover.rs, targets_that_never_get_healthy_leave_the_weights_alone_within_the_deadline:
/// its decision, its polls and no ModifyListener are checked here too).
async fn f34(w: Shared) -> Vec<String> {
    set_alarm(&w, "ALARM");
    let decision = alarm_decision(&w).await;
    let mut v: Vec<String> = route_is(&w, ((0, 100), None), "targets never healthy")
        .into_iter()
        .collect();
    let Some(d) = decision else {
        v.push("the event did not return before its timeout".into());
        return v;
    };
    let note = d["Note"].as_str().unwrap_or_default();
    let serving = d["Serving"].as_str().unwrap_or_default();
    if serving != "waiting" || !note.contains("of 2 targets healthy in time; weights unchanged") {
        v.push(format!("decision {d}"));
    }
    let g = w.lock().unwrap();
    let calls = |op: &str| g.calls.iter().filter(|(_, c)| c.ends_with(op)).count();
    let (polls, moves) = (calls("describe_target_health"), calls("modify_listener"));
    if polls < 5 || moves != 0 {
        v.push(format!(
            "{polls} health reads, {moves} ModifyListener calls"
        ));
    }
    v
}

/// F40: the app serves (weights 100/0, alarm ALARM) and someone lowered the desired count
/// after the failover: the next re-check raises it to `StandbyCount` (2) again, or leaves a
/// higher count, and the weights stay (folded from regressions.rs,
/// failover_serving_the_app_restores_a_lowered_desired_count: rows F40a-c; issue 18 section 3
/// item 1).
async fn f40(w: Shared) -> Vec<String> {
    set_alarm(&w, "ALARM");
    let before = route(&w, ROUTE).1;
    alarm_event(&w).await;
    route_is(
        &w,
        ((100, 0), Some(before.max(2))),
        &format!("desired {before} before the re-check"),
    )
    .into_iter()
    .collect()
}

/// The app serving (weights 100/0) with `desired` tasks, healthy at once.
fn app_serving(desired: i32) -> impl Fn(&Shared) {
    move |w: &Shared| {
        failover_world(w, 0, desired);
        w.lock()
            .unwrap()
            .listeners
            .get_mut(ROUTE)
            .expect("route")
            .actions = vec![weighted(100, 0)];
    }
}

/// F39: an ALARM event whose health read (DescribeTargetHealth) is throttled once past the
/// SDK's retries: the pass calls again and moves the traffic within the event's invocation,
/// instead of ending and leaving it on the standby until the next re-check (2 minutes).
async fn f39(w: Shared) -> Vec<String> {
    set_alarm(&w, "ALARM");
    alarm_event(&w).await;
    route_is(&w, ((100, 0), Some(2)), "after the ALARM event")
        .into_iter()
        .collect()
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

/// The failover resource's Create on `ROUTE`; its physical ID.
async fn failover_created(w: &Shared) -> String {
    let c =
        custom_resource::deliver(w, &failover_cr("Create", None, ROUTE), T900, [false; 3]).await;
    c.first().map(physical).unwrap_or_default()
}

async fn failover_delete(w: &Shared, id: &str) -> Vec<Answer> {
    let ev = failover_cr("Delete", Some(id), ROUTE);
    custom_resource::deliver(w, &ev, T900, [false; 3]).await
}

/// F35: a re-check (an EventBridge retry) after the failover resource was deleted.
async fn f35(w: Shared) -> Vec<String> {
    let id = failover_created(&w).await;
    failover_delete(&w, &id).await;
    let after_delete = route(&w, ROUTE);
    tokio::time::sleep(secs(90)).await;
    set_alarm(&w, "ALARM");
    alarm_event(&w).await;
    let after = route(&w, ROUTE);
    if after_delete.0 == vec![(TG.to_string(), 1)] && after == after_delete {
        return Vec::new();
    }
    vec![format!(
        "after Delete {after_delete:?}; after the late re-check {after:?}"
    )]
}

/// F36: the failover resource's Delete after its listener is gone.
async fn f36(w: Shared) -> Vec<String> {
    let id = failover_created(&w).await;
    w.lock().unwrap().listeners.remove(ROUTE);
    let d = failover_delete(&w, &id).await;
    if d.first().map(status) == Some("SUCCESS") {
        return Vec::new();
    }
    vec![format!("{:?}", d.first().map(|a| &a.body))]
}

/// F37: a failover resource naming another stack's listener.
async fn f37(w: Shared) -> Vec<String> {
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
    if c.first().map(status) == Some("FAILED") && before.0 == after.0 {
        return Vec::new();
    }
    vec![format!(
        "answered {:?}; {before:?} -> {after:?}",
        c.first().map(status)
    )]
}

// ---------------------------------------------------------------- the table

fn known() -> std::collections::BTreeSet<String> {
    include_str!("../fresh/known.txt")
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

fn gate(event: fn() -> Value, want: Want) -> Drive {
    Drive::Gate {
        event,
        want,
        within: None,
        reason: None,
    }
}

fn hook(at_most: usize, want: HookWant) -> Drive {
    Drive::Hook { at_most, want }
}

fn failover_at(health_lag_ms: u64) -> impl Fn(&Shared) {
    move |w: &Shared| failover_world(w, health_lag_ms, 0)
}

/// Every scenario of SCENARIOS.md that the simulation can express, in its own order.
fn table() -> Vec<Row> {
    use Fate::{Code, Retried, Throttle};
    use HookWant::{Measured, NeverFailedNoLoad, SkippedNoLoad};
    use Want::{Failed, Passed, Skipped};
    let ddb_throttled = Code("ProvisionedThroughputExceededException");
    let an_hour = secs(60 * 60);
    vec![
        row(
            "F01",
            "CreateListener applied, answer lost, SDK retry",
            "fresh.claim.one_holder",
            Drive::OneHolder(port_create1),
        )
        .faults(vec![Scripted::on("create_listener", 1, Retried)]),
        // CreateRule is not idempotent: the retry meets its own rule's PriorityInUse.
        row(
            "F01b",
            "CreateRule applied, answer lost, SDK retry",
            "fresh.claim.one_holder",
            Drive::OneHolder(rule_create),
        )
        .faults(vec![Scripted::on("create_rule", 1, Retried)])
        .setup(platform_listener),
        row(
            "F02",
            "crash after CreateListener, Lambda retry",
            "fresh.claim.replay_adopts",
            steps!(f02),
        )
        .faults(vec![scripted_crash("create_listener", 1)]),
        row(
            "F03",
            "rule Create delivered twice at once",
            "fresh.claim.concurrent_once",
            steps!(f03),
        )
        .setup(platform_listener),
        row(
            "F04",
            "two stacks, identical listener settings, at once",
            "fresh.claim.distinct_owners",
            steps!(f04),
        ),
        row(
            "F05",
            "DescribeListeners throttled once past the SDK",
            "fresh.claim.throttle_waited_out",
            Drive::OneHolder(port_create1),
        )
        .faults(vec![Scripted::on("describe_listeners", 1, Throttle)]),
        row(
            "F06",
            "every ELBv2 call throttled",
            "fresh.cr.answered_in_time",
            steps!(f06),
        )
        .faults(vec![Scripted::on("elb", 0, Throttle)]),
        row(
            "F07",
            "PriorityInUse twelve times",
            "fresh.claim.priority_storm",
            steps!(f07),
        )
        .setup(|w| {
            platform_listener(w);
            w.lock().unwrap().rival_takes = 12;
        }),
        row(
            "F08",
            "full port range",
            "fresh.claim.full_range_failed",
            steps!(f08),
        )
        .setup(full_range),
        row(
            "F09",
            "Delete after the failed Create",
            "fresh.cr.delete_after_failed_create",
            steps!(f09),
        )
        .setup(full_range),
        row(
            "F10",
            "Delete of a listener already gone",
            "fresh.cr.delete_gone_succeeds",
            steps!(f10),
        ),
        row(
            "F10b",
            "DeleteListener applied, answer lost, SDK retry",
            "fresh.cr.delete_gone_succeeds",
            steps!(f10b),
        )
        .faults(vec![Scripted::on("delete_listener", 1, Retried)]),
        row(
            "F11",
            "duplicate Delete after the port was re-claimed",
            "fresh.cr.duplicate_delete_spares_others",
            steps!(f11),
        ),
        row(
            "F12",
            "replacement and cleanup Delete",
            "fresh.cr.replacement_keeps_one",
            steps!(f12),
        ),
        row(
            "F12b",
            "replacement rolled back: the new listener deleted",
            "fresh.cr.replacement_keeps_one",
            steps!(f12b),
        ),
        row(
            "F13",
            "in-place Update while failed over",
            "fresh.cr.update_keeps_failover_weights",
            steps!(f13),
        ),
        row(
            "F15",
            "CreateListener applied, then hangs",
            "fresh.cr.answered_in_time_rollback_leaves_nothing",
            steps!(f15),
        )
        .faults(vec![scripted_hang("create_listener", 1, secs(20 * 60))]),
        row(
            "F16",
            "rollback Update, DescribeStacks throttled twice",
            "fresh.gate.rollback_skipped",
            gate(gate_update, Skipped),
        )
        .faults(vec![
            Scripted::on("describe_stacks", 1, Throttle),
            Scripted::on("describe_stacks", 2, Throttle),
        ])
        .setup(|w| w.lock().unwrap().stack_status = "UPDATE_ROLLBACK_IN_PROGRESS".into()),
        row(
            "F17",
            "DescribeStacks throttled throughout",
            "fresh.gate.fails_closed",
            gate(gate_update, Failed),
        )
        .faults(vec![Scripted::on("describe_stacks", 0, Throttle)]),
        row(
            "F18",
            "gate Create again while the first runs",
            "fresh.gate.load_sent_once",
            steps!(f18),
        )
        .faults(vec![scripted_hang("invoke", 1, secs(60))]),
        // The once-record's conditional PutItem takes effect, its answer is lost, and the SDK's
        // retry fails the condition on the record it just wrote.
        row(
            "F19",
            "gate record written, answer lost, SDK retry",
            "fresh.gate.own_record_not_a_rival",
            gate(gate_create, Passed),
        )
        .faults(vec![Scripted::on("put_item", 1, Retried)]),
        row(
            "F19b",
            "gate record PutItem throttled once",
            "fresh.gate.store_throttle_waited_out",
            gate(gate_create, Passed),
        )
        .faults(vec![Scripted::on("put_item", 1, ddb_throttled)]),
        row(
            "F20",
            "circuit breaker FAILED during the wait",
            "fresh.gate.circuit_breaker_fails_at_once",
            Drive::Gate {
                event: gate_with_service,
                want: Failed,
                within: Some(120),
                reason: Some("FAILED"),
            },
        )
        .setup(breaker_trips_at_30s),
        row(
            "F21",
            "DescribeServices throttled five times",
            "fresh.gate.poll_through_throttling",
            gate(gate_with_service, Passed),
        )
        .faults(
            (1..=5)
                .map(|n| Scripted::on("describe_services", n, Throttle))
                .collect(),
        )
        .setup(|w| rollout(w, DeploymentRolloutState::Completed)),
        // The VPC worker is Inactive (ResourceNotReadyException), then throttled, then runs.
        row(
            "F22",
            "worker Inactive, then throttled, then runs",
            "fresh.gate.worker_not_ready_retried",
            gate(gate_create, Passed),
        )
        .faults(vec![
            Scripted::on("invoke", 1, Code("ResourceNotReadyException")),
            Scripted::on("invoke", 2, Code("TooManyRequestsException")),
        ]),
        row(
            "F22b",
            "worker function missing",
            "fresh.gate.missing_worker_fails_at_once",
            Drive::Gate {
                event: gate_create,
                want: Failed,
                within: Some(30),
                reason: None,
            },
        )
        .faults(vec![Scripted::on(
            "invoke",
            0,
            Code("ResourceNotFoundException"),
        )]),
        // WarmUp 60 + Duration 300 does not fit a 300 s ServiceTimeout.
        row(
            "F23",
            "Duration does not fit ServiceTimeout",
            "fresh.gate.never_shortened",
            Drive::Gate {
                event: || gate_event("Create", gate_props(300, 60, 300)),
                want: Failed,
                within: None,
                reason: Some("shorten"),
            },
        ),
        row(
            "F24",
            "hook invoked twice at once",
            "fresh.hook.one_run",
            steps!(f24),
        ),
        row(
            "F26",
            "hook lease throttled once",
            "fresh.hook.throttle_not_a_verdict",
            hook(6, Measured),
        )
        .faults(vec![Scripted::on("update_item", 1, ddb_throttled)]),
        // The lease's conditional UpdateItem takes effect, its answer is lost, and the SDK's
        // retry fails the condition on the lease it just took.
        row(
            "F26b",
            "hook lease written, answer lost, SDK retry",
            "fresh.hook.own_lease_not_a_rival",
            hook(4, Measured),
        )
        .faults(vec![Scripted::on("update_item", 1, Retried)]),
        // The final status's write: the recorded status is the answer.
        row(
            "F27",
            "hook final status written, answer lost, SDK retry",
            "fresh.hook.recorded_status_answered",
            hook(6, Measured),
        )
        .faults(vec![Scripted::on("update_item", 2, Retried)]),
        row(
            "F28",
            "gate stage during a rollback",
            "fresh.hook.rollback_no_load",
            hook(6, SkippedNoLoad),
        )
        .setup(|w| w.lock().unwrap().deployment_status = "ROLLBACK_IN_PROGRESS".into()),
        row(
            "F29",
            "rollback with the deployment unreadable",
            "fresh.hook.rollback_never_failed",
            hook(3, NeverFailedNoLoad),
        )
        .faults(vec![Scripted::on(
            "describe_service_deployments",
            0,
            Throttle,
        )])
        .setup(|w| w.lock().unwrap().deployment_status = "ROLLBACK_IN_PROGRESS".into()),
        row(
            "F30",
            "late invocation for a superseded revision",
            "fresh.hook.revisions_apart",
            steps!(f30),
        ),
        row(
            "F31",
            "late ALARM event after OK",
            "fresh.failover.late_event_harmless",
            steps!(f31),
        )
        .setup(failover_at(5_000)),
        row(
            "F32",
            "ALARM event twice at once",
            "fresh.failover.duplicate_once",
            steps!(f32),
        )
        .setup(failover_at(10_000)),
        row(
            "F33",
            "alarm back to OK during the health wait",
            "fresh.failover.flip_during_wait",
            steps!(f33),
        )
        .setup(failover_at(an_hour.as_millis() as u64)),
        row(
            "F34",
            "targets never healthy",
            "fresh.failover.no_move_without_health",
            steps!(f34),
        )
        .setup(failover_at(an_hour.as_millis() as u64)),
        row(
            "F40a",
            "app serving, desired lowered to 0 from outside",
            "fresh.failover.serving_keeps_its_tasks",
            steps!(f40),
        )
        .setup(app_serving(0)),
        row(
            "F40b",
            "app serving, desired lowered to 1 from outside",
            "fresh.failover.serving_keeps_its_tasks",
            steps!(f40),
        )
        .setup(app_serving(1)),
        row(
            "F40c",
            "app serving with 3 tasks",
            "fresh.failover.serving_keeps_its_tasks",
            steps!(f40),
        )
        .setup(app_serving(3)),
        row(
            "F35",
            "late re-check after the failover Delete",
            "fresh.failover.late_recheck_after_delete",
            steps!(f35),
        )
        .setup(failover_at(0)),
        row(
            "F36",
            "failover Delete, listener gone",
            "fresh.cr.delete_gone_succeeds",
            steps!(f36),
        )
        .setup(failover_at(0)),
        row(
            "F37",
            "another stack's listener",
            "fresh.ownership.foreign_route_refused",
            steps!(f37),
        )
        .setup(failover_at(0)),
        row(
            "F38",
            "late duplicate Create after the stack's Delete",
            "fresh.cr.late_duplicate_after_delete_leaves_nothing",
            steps!(f38),
        ),
        row(
            "F39",
            "ALARM event, health read throttled once past the SDK",
            "fresh.failover.throttle_retried_in_pass",
            steps!(f39),
        )
        .faults(vec![Scripted::on("describe_target_health", 1, Throttle)])
        .setup(failover_at(0)),
    ]
}

/// Runs every row; a violation of a row not in `fresh/known.txt` fails, a known row is
/// reported (and said so when it passes now).
pub fn run_table(filter: Option<&str>) {
    let known = known();
    let rows = table();
    for k in &known {
        assert!(
            rows.iter().any(|r| r.id == k),
            "fresh/known.txt names {k}, which is no row"
        );
    }
    let mut unexpected = Vec::new();
    for r in rows {
        let (id, what) = (r.id, r.what);
        if filter.is_some_and(|f| f != id) {
            continue;
        }
        let out = harness::run_one(0, |_, _| run_row(r));
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
