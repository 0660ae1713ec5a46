//! fresh3: the scenarios of `provider/tests/fresh3/SCENARIOS.md` (interleavings and combined
//! faults), one row each, run deterministically against the simulated AWS of `world.rs`: a
//! setup of the world, a script of faults on chosen calls (`World::script`), the events
//! (CloudFormation requests, alarm events and re-checks, ECS hook invocations, at virtual
//! times), and the guarantee checked on what the provider answered and what the world holds.
//! `FRESH3_ROW=C4` runs one row. Rows named in `provider/tests/fresh3/known.txt` are provider
//! defects found by this table: reported, not failed (a listed row that passes fails the test,
//! so the list stays true). The AWS page behind each scenario is in SCENARIOS.md.
#![allow(dead_code)]

use super::custom_resource::{self, Answer, LB, OTHER_STACK, STACK, TG};
use super::failover::{ALARM, APP_TG, SERVICE, STANDBY_TG};
use super::harness::{self, violation, Violation};
use super::world::{self, Fate, LState, Scripted, Shared, World};
use aws_sdk_elasticloadbalancingv2::types::Action;
use fargate_provider::lifecycle_hook::{self, HookAnswer, HookEvent, HookStatus, SETTINGS_KEY};
use fargate_provider::slot::forward_targets;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

const THIRD_STACK: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/third/3";
const L1: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shared/1/900";
const L2: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shared/1/901";
const ROUTE: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shared/1/950";
const WORKERS: &str = "arn:aws:lambda:us-east-1:123456789012:function:app-WebLoadTestWorkers";
const REV1: &str = "arn:aws:ecs:eu-west-1:111122223333:service-revision/apps/users/1";
const REV2: &str = "arn:aws:ecs:eu-west-1:111122223333:service-revision/apps/users/2";
const LAMBDA_TIMEOUT: Duration = Duration::from_secs(900);
const PORT: &str = "Custom::FargateListenerPort";
const RULE: &str = "Custom::FargateListenerRule";
const GATE: &str = "Custom::FargateLoadTestGate";

type Fut = Pin<Box<dyn Future<Output = Seen>>>;

/// What a row's events produced: every answer, by a label the guarantee names.
#[derive(Default)]
struct Seen {
    /// CloudFormation answers: (label, body, seconds after the row began).
    cr: Vec<(String, Value, f64)>,
    /// Hook answers: (label, answer).
    hooks: Vec<(String, HookAnswer)>,
    /// Counters noted during the run (e.g. load runs before a stop).
    marks: BTreeMap<&'static str, usize>,
}

impl Seen {
    fn answer(&self, label: &str) -> Option<&Value> {
        self.cr
            .iter()
            .find(|(l, _, _)| l == label)
            .map(|(_, b, _)| b)
    }
    fn status(&self, label: &str) -> String {
        self.answer(label)
            .and_then(|b| b["Status"].as_str())
            .unwrap_or("no answer")
            .to_string()
    }
    fn physical(&self, label: &str) -> String {
        self.answer(label)
            .and_then(|b| b["PhysicalResourceId"].as_str())
            .unwrap_or_default()
            .to_string()
    }
}

/// One scenario: the world before, the faults placed on calls, the events, the guarantee.
struct Row {
    name: &'static str,
    setup: fn(&mut World),
    script: fn() -> Vec<Scripted>,
    events: fn(Shared) -> Fut,
    guarantee: fn(&World, &Seen) -> Result<(), String>,
}

fn none() -> Vec<Scripted> {
    Vec::new()
}

fn nothing(_: &mut World) {}

fn retried(op: &'static str, nth: u64) -> Vec<Scripted> {
    vec![Scripted::on(op, nth, Fate::Retried)]
}

// ---------------------------------------------------------------------------------------
// Helpers: requests, holders, the failover route, hook invocations.

fn port_props(range: &str, lru: bool) -> Value {
    let mut p = json!({ "TargetGroupArn": TG, "ServiceTimeout": "300",
                        "LoadBalancerArn": LB, "PortRange": range });
    if lru {
        p["PortChoice"] = json!("LeastRecentlyUsed");
    }
    p
}

fn rule_props(listener: &str, range: &str) -> Value {
    json!({ "TargetGroupArn": TG, "ServiceTimeout": "300", "ListenerArn": listener,
            "PriorityRange": range,
            "Conditions": [{ "Field": "path-pattern", "PathPatternConfig": { "Values": ["/users*"] } }] })
}

#[allow(clippy::too_many_arguments)]
async fn send(
    world: &Shared,
    kind: &str,
    rtype: &str,
    who: (&str, &str),
    props: Value,
    physical: Option<&str>,
    old: Option<Value>,
    request_id: &str,
) -> Option<Answer> {
    let ev = custom_resource::event(kind, rtype, who, props, physical, old, request_id);
    custom_resource::invoke(world, &ev, LAMBDA_TIMEOUT, false).await
}

fn note(seen: &Arc<Mutex<Seen>>, label: &str, a: Option<Answer>, start: Instant) {
    if let Some(a) = a {
        let at = (a.at - start).as_secs_f64();
        seen.lock()
            .unwrap()
            .cr
            .push((label.to_string(), a.body, at));
    }
}

/// CloudFormation's Update of `who` (physical ID `physical`, previously `old`).
fn update_event(
    rtype: &str,
    who: (&str, &str),
    props: Value,
    physical: &str,
    old: Value,
    request_id: &str,
) -> Value {
    custom_resource::event(
        "Update",
        rtype,
        who,
        props,
        Some(physical),
        Some(old),
        request_id,
    )
}

/// CloudFormation's Delete of `who` (physical ID `physical`).
fn delete_event(
    rtype: &str,
    who: (&str, &str),
    props: Value,
    physical: &str,
    request_id: &str,
) -> Value {
    custom_resource::event(
        "Delete",
        rtype,
        who,
        props,
        Some(physical),
        None,
        request_id,
    )
}

/// Lambda delivers `ev` once; its answer noted under `label`.
async fn answered(
    world: &Shared,
    seen: &Arc<Mutex<Seen>>,
    ev: &Value,
    label: &str,
    start: Instant,
) {
    let a = custom_resource::invoke(world, ev, LAMBDA_TIMEOUT, false).await;
    note(seen, label, a, start);
}

fn take(seen: Arc<Mutex<Seen>>) -> Seen {
    std::mem::take(&mut *seen.lock().unwrap())
}

/// [`race`]'s events as a row's.
fn raced(world: Shared, rtype: &'static str, props: Value) -> Fut {
    Box::pin(async move {
        let (seen, _) = race(&world, rtype, props).await;
        take(seen)
    })
}

/// A's and B's holders of "Route".
fn both_holders(w: &World) -> (Vec<String>, Vec<String>) {
    (holders(w, STACK, "Route"), holders(w, OTHER_STACK, "Route"))
}

/// Stacks A and B each Create the same kind of claim at once (answers "a" and "b").
async fn race(world: &Shared, rtype: &'static str, props: Value) -> (Arc<Mutex<Seen>>, Instant) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (stack, rid) in [(STACK, "a"), (OTHER_STACK, "b")] {
        let (w, s, p) = (world.clone(), seen.clone(), props.clone());
        tasks.push(tokio::spawn(async move {
            let a = send(&w, "Create", rtype, (stack, "Route"), p, None, None, rid).await;
            note(&s, rid, a, start);
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    (seen, start)
}

/// A claim created with `v0` and replaced by an Update to `v1` (a new holder), then
/// CloudFormation's cleanup: after a rollback it deletes the new holder and keeps the old one,
/// after success it deletes the old one; the resource itself stays (UPDATE_COMPLETE). 300 s
/// later Lambda delivers the Update's event again. Answers: create, update, cleanup,
/// late-duplicate.
async fn replaced_then_late_duplicate(
    world: Shared,
    rtype: &'static str,
    v0: Value,
    v1: Value,
    rolled_back: bool,
) -> Seen {
    let who = (STACK, "Route");
    let (seen, start, p1) = route_created(&world, rtype, v0.clone()).await;
    let update = update_event(rtype, who, v1.clone(), &p1, v0.clone(), "update");
    answered(&world, &seen, &update, "update", start).await;
    let p2 = seen.lock().unwrap().physical("update");
    let (gone, props, status) = if rolled_back {
        (p2, v1, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
    } else {
        (p1, v0, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
    };
    world.lock().unwrap().stack_status = status.into();
    let cleanup = delete_event(rtype, who, props, &gone, "cleanup");
    answered(&world, &seen, &cleanup, "cleanup", start).await;
    {
        // The cleanup deletes a physical resource, not the logical one.
        let mut w = world.lock().unwrap();
        w.stack_status = "UPDATE_COMPLETE".into();
        w.cfn_resources
            .insert((STACK.into(), "Route".into()), "UPDATE_COMPLETE".into());
    }
    tokio::time::sleep(Duration::from_secs(300)).await;
    answered(&world, &seen, &update, "late-duplicate", start).await;
    take(seen)
}

/// A resource created with `v[0]`, updated in place to `v[1]` then `v[2]`; 300 s later
/// Lambda delivers the first Update's event again. Answers: create, update1, update2,
/// late-duplicate; mark `calls_before_late`.
async fn late_first_of_two_updates(
    world: Shared,
    rtype: &'static str,
    logical: &'static str,
    v: [Value; 3],
) -> Seen {
    late_first_of_two_updates_reading(world, rtype, logical, v, None).await
}

/// [`late_first_of_two_updates`], the resource reading `status` (when given) when the late
/// duplicate arrives.
async fn late_first_of_two_updates_reading(
    world: Shared,
    rtype: &'static str,
    logical: &'static str,
    v: [Value; 3],
    status: Option<&'static str>,
) -> Seen {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let start = Instant::now();
    let who = (STACK, logical);
    let p = created(&world, &seen, rtype, who, v[0].clone(), start).await;
    let first = update_event(rtype, who, v[1].clone(), &p, v[0].clone(), "update1");
    answered(&world, &seen, &first, "update1", start).await;
    let second = update_event(rtype, who, v[2].clone(), &p, v[1].clone(), "update2");
    answered(&world, &seen, &second, "update2", start).await;
    world.lock().unwrap().stack_status = "UPDATE_COMPLETE".into();
    tokio::time::sleep(Duration::from_secs(300)).await;
    if let Some(status) = status {
        let mut w = world.lock().unwrap();
        w.stack_status = status.into();
        w.cfn_resources
            .insert((STACK.into(), logical.into()), status.into());
    }
    let calls = world.lock().unwrap().calls.len();
    seen.lock()
        .unwrap()
        .marks
        .insert("calls_before_late", calls);
    answered(&world, &seen, &first, "late-duplicate", start).await;
    take(seen)
}

/// CloudFormation's Update of the gate, `Duration` `new` (previously `old`).
fn gate_update(new: u64, old: u64, request_id: &str) -> Value {
    update_event(
        GATE,
        (STACK, "Gate"),
        gate_props(new),
        "Gate-load-test-gate",
        gate_props(old),
        request_id,
    )
}

/// An Update of the gate (new `Duration` 60, old 30), answered under `label`.
async fn gate_update_skipped(world: Shared, label: &'static str) -> Seen {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let ev = gate_update(60, 30, label);
    answered(&world, &seen, &ev, label, Instant::now()).await;
    take(seen)
}

/// A rule claim's properties in place: path `/a*`, then `/b*`, then `/c*`.
fn rule_paths() -> [Value; 3] {
    ["/a*", "/b*", "/c*"].map(|path| {
        let mut p = rule_props(L1, "5-9");
        p["Conditions"][0]["PathPatternConfig"]["Values"] = json!([path]);
        p
    })
}

/// C12's events: a rule claim's paths updated twice in place, the first Update again late, the
/// resource reading `status` (when given) then.
fn rule_paths_late(world: Shared, status: Option<&'static str>) -> Fut {
    Box::pin(late_first_of_two_updates_reading(
        world,
        RULE,
        "Route",
        rule_paths(),
        status,
    ))
}

/// The second Update succeeded and the first Update's late duplicate wrote nothing.
fn no_write_after_second_update(w: &World, s: &Seen) -> Result<(), String> {
    let writes = writes_since(w, s, "calls_before_late");
    ensure(
        s.status("update2") == "SUCCESS" && writes.is_empty(),
        || {
            format!(
            "the first Update's late duplicate (answered {}) wrote {writes:?} after the second Update",
            s.status("late-duplicate")
        )
        },
    )
}

/// The gate's Update (`Duration` `new`, previously `old`), answered under `first` (also its
/// RequestId); the stack then reads `stack_then`, and `after` seconds later Lambda delivers the
/// same Update again (answered "late"), the gate's resource reading `resource` when given.
async fn gate_update_again(
    world: Shared,
    (new, old): (u64, u64),
    first: &'static str,
    stack_then: &'static str,
    after: u64,
    resource: Option<&'static str>,
) -> Seen {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let start = Instant::now();
    let ev = gate_update(new, old, first);
    answered(&world, &seen, &ev, first, start).await;
    world.lock().unwrap().stack_status = stack_then.into();
    tokio::time::sleep(Duration::from_secs(after)).await;
    if let Some(status) = resource {
        world
            .lock()
            .unwrap()
            .cfn_resources
            .insert((STACK.into(), "Gate".into()), status.into());
    }
    answered(&world, &seen, &ev, "late", start).await;
    take(seen)
}

/// G8's events: a rollback's Update of the gate (answered "rollback"), delivered again 600 s
/// later during the next update, the gate's resource reading `resource` when given.
fn rollback_again(world: Shared, resource: Option<&'static str>) -> Fut {
    Box::pin(gate_update_again(
        world,
        (30, 60),
        "rollback",
        "UPDATE_IN_PROGRESS",
        600,
        resource,
    ))
}

/// The rollback's Update answered SUCCESS `Skipped`, and no load was sent for it, late
/// duplicate included.
fn skipped_first_no_load(w: &World, s: &Seen) -> Result<(), String> {
    let first = s.answer("rollback").cloned().unwrap_or_default();
    ensure(skipped(&first) && w.load_runs.is_empty(), || {
        format!(
            "the rollback's Update answered {first}, the late duplicate {:?}; load {:?}",
            s.answer("late"),
            w.load_runs
        )
    })
}

/// The gate answered SUCCESS `Skipped` and sent no load.
fn skipped_without_load(w: &World, s: &Seen, label: &str) -> Result<(), String> {
    let b = s.answer(label).cloned().unwrap_or_default();
    ensure(skipped(&b) && w.load_runs.is_empty(), || {
        format!("answered {b}; load {:?}", w.load_runs)
    })
}

/// A claim created with `v0`; its holder is deleted by hand (a rule alone, or a listener);
/// then an Update in place to `v1`. Answers: create, update.
async fn lost_by_hand_then_update(
    world: Shared,
    rtype: &'static str,
    v0: Value,
    v1: Value,
) -> Seen {
    let who = (STACK, "Route");
    let (seen, start, p) = route_created(&world, rtype, v0.clone()).await;
    {
        let mut w = world.lock().unwrap();
        w.rules.remove(&p);
        w.listeners.remove(&p);
    }
    answered(
        &world,
        &seen,
        &update_event(rtype, who, v1, &p, v0, "update"),
        "update",
        start,
    )
    .await;
    take(seen)
}

/// The Update answered FAILED, or SUCCESS naming the one holder that exists.
fn update_failed_or_holds(w: &World, s: &Seen) -> Result<(), String> {
    let held = holders(w, STACK, "Route");
    let ok = match s.status("update").as_str() {
        "FAILED" => true,
        "SUCCESS" => held == vec![s.physical("update")],
        _ => false,
    };
    ensure(ok, || {
        format!(
            "Update answered {} with {} while A holds {held:?}",
            s.status("update"),
            s.physical("update")
        )
    })
}

/// A new record of answers, the row's start, and A's "Route" created with `props` (answered
/// "create"): its physical ID.
async fn route_created(
    world: &Shared,
    rtype: &str,
    props: Value,
) -> (Arc<Mutex<Seen>>, Instant, String) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let start = Instant::now();
    let p = created(world, &seen, rtype, (STACK, "Route"), props, start).await;
    (seen, start, p)
}

/// CloudFormation's Create of `who`, answered under "create"; its physical ID.
async fn created(
    world: &Shared,
    seen: &Arc<Mutex<Seen>>,
    rtype: &str,
    who: (&str, &str),
    props: Value,
    start: Instant,
) -> String {
    let a = send(world, "Create", rtype, who, props, None, None, "create").await;
    note(seen, "create", a, start);
    seen.lock().unwrap().physical("create")
}

/// CloudFormation's Delete of `who` (physical ID `physical`), answered under "delete".
async fn deleted(
    world: &Shared,
    seen: &Arc<Mutex<Seen>>,
    rtype: &str,
    who: (&str, &str),
    props: Value,
    physical: &str,
    start: Instant,
) {
    let ev = delete_event(rtype, who, props, physical, "delete");
    answered(world, seen, &ev, "delete", start).await;
}

/// A claim of A's "Route" created with `props` ("create"), `between` done to the world with
/// its physical ID, then CloudFormation's Delete of it ("delete").
async fn created_then_deleted(
    world: Shared,
    rtype: &'static str,
    props: Value,
    between: fn(&mut World, &str),
) -> Seen {
    let who = (STACK, "Route");
    let (seen, start, p) = route_created(&world, rtype, props.clone()).await;
    between(&mut world.lock().unwrap(), &p);
    deleted(&world, &seen, rtype, who, props, &p, start).await;
    take(seen)
}

/// The Delete answered SUCCESS.
fn delete_succeeded(s: &Seen) -> Result<(), String> {
    ensure(s.status("delete") == "SUCCESS", || {
        format!("Delete answered {:?}", s.answer("delete"))
    })
}

/// The writes (create, modify, delete calls) made since the count marked `mark`.
fn writes_since<'a>(w: &'a World, s: &Seen, mark: &str) -> Vec<&'a str> {
    let before = s.marks.get(mark).copied().unwrap_or(0);
    w.calls[before..]
        .iter()
        .map(|(_, op)| *op)
        .filter(|op| op.contains("modify") || op.contains("create") || op.contains("delete"))
        .collect()
}

/// After a rollback and the late duplicate Update, A holds what its Create answered.
fn late_duplicate_kept_created(w: &World, s: &Seen) -> Result<(), String> {
    let held = holders(w, STACK, "Route");
    ensure(held == vec![s.physical("create")], || {
        format!(
            "after the rollback and the late duplicate Update (answered {} {}), \
                 A holds {held:?}; CloudFormation holds {}",
            s.status("late-duplicate"),
            s.physical("late-duplicate"),
            s.physical("create")
        )
    })
}

/// C5b/C5c's events: a port claim's range replaced (8000-8009 to 8100-8109), rolled back or
/// cleaned up, then the Update's event again, late.
fn port_range_replaced_late(world: Shared, rolled_back: bool) -> Fut {
    Box::pin(replaced_then_late_duplicate(
        world,
        PORT,
        port_props("8000-8009", false),
        port_props("8100-8109", false),
        rolled_back,
    ))
}

fn holders(w: &World, stack: &str, logical: &str) -> Vec<String> {
    custom_resource::holders_of(w, stack, logical)
}

fn listener(w: &mut World, arn: &str, port: i32, stack: &str) {
    w.listeners.insert(
        arn.into(),
        LState {
            port,
            lb: LB.into(),
            settings: "platform".into(),
            actions: vec![],
            tags: vec![("fargate-app:stack-id".into(), stack.into())],
            tags_visible_at: Instant::now(),
        },
    );
}

fn port_of(w: &World, arn: &str) -> Option<i32> {
    w.listeners.get(arn).map(|l| l.port)
}

fn prio_of(w: &World, arn: &str) -> Option<i32> {
    w.rules.get(arn).map(|r| r.priority)
}

/// (app, standby) weights of the failover's route (`failover.rs`, same target groups).
fn weights(w: &World) -> (i32, i32) {
    super::failover::weights(w, ROUTE)
}

/// The failover's route and service, as the macro's stack has them: the listener tagged with
/// the stack, traffic on the standby, the service at 0 and tagged, the alarm tagged by
/// CloudFormation.
fn failover_world(w: &mut World, app: i32, standby: i32) {
    w.listeners.insert(
        ROUTE.into(),
        LState {
            port: 8000,
            lb: LB.into(),
            settings: String::new(),
            actions: vec![super::failover::weighted(app, standby)],
            tags: vec![
                ("fargate-app:stack-id".into(), STACK.into()),
                ("fargate-app:logical-id".into(), "ApiRoute".into()),
            ],
            tags_visible_at: Instant::now(),
        },
    );
    w.tg_service.insert(APP_TG.into(), SERVICE.into());
    w.set_desired(SERVICE, if app > 0 { 2 } else { 0 });
    w.services.get_mut(SERVICE).expect("service").tags =
        vec![("fargate-app:stack-id".into(), STACK.into())];
    w.alarm_tags = vec![("aws:cloudformation:stack-id".into(), STACK.into())];
}

/// [`failover_world`] with the alarm in ALARM.
fn failover_in_alarm(w: &mut World, app: i32, standby: i32) {
    failover_world(w, app, standby);
    w.alarm = "ALARM".into();
}

/// The route all on the standby and the service at 0.
fn at_rest_on_standby(w: &World) -> bool {
    weights(w) == (0, 100) && w.services[SERVICE].desired == 0
}

/// The route's weights and the service's desired count, for a guarantee's message.
fn route_and_service(w: &World) -> String {
    format!(
        "weights {:?}, desired {}",
        weights(w),
        w.services[SERVICE].desired
    )
}

/// The failover's Delete answered SUCCESS and the route forwards to the service's group
/// alone; otherwise `what`, given the route's forward targets.
fn deleted_route_on_app(
    w: &World,
    s: &Seen,
    what: impl FnOnce(String) -> String,
) -> Result<(), String> {
    ensure(s.status("delete") == "SUCCESS", || {
        format!("Delete {:?}", s.answer("delete"))
    })?;
    let tgs = forward_targets(&w.listeners[ROUTE].actions);
    ensure(tgs.len() == 1 && tgs[0].0 == APP_TG, || {
        what(format!("{tgs:?}"))
    })
}

const FAILOVER: &str = fargate_provider::failover::RESOURCE_TYPE;
const FAILOVER_WHO: (&str, &str) = (STACK, "ApiFailover");

/// A's failover resource created ("create"), updated to `update` when given ("update"; its
/// event returned), then deleted ("delete"): the record of answers, the start, the Update.
async fn failover_created_deleted(
    world: &Shared,
    update: Option<Value>,
) -> (Arc<Mutex<Seen>>, Instant, Option<Value>) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let start = Instant::now();
    let (ft, who) = (FAILOVER, FAILOVER_WHO);
    let p = created(world, &seen, ft, who, failover_config(), start).await;
    let update = update.map(|props| update_event(ft, who, props, &p, failover_config(), "update"));
    if let Some(ev) = &update {
        answered(world, &seen, ev, "update", start).await;
    }
    deleted(world, &seen, ft, who, failover_config(), &p, start).await;
    (seen, start, update)
}

fn failover_config() -> Value {
    json!({ "AlarmName": ALARM, "ListenerArn": ROUTE, "TargetGroupArn": APP_TG,
            "StandbyTargetGroupArn": STANDBY_TG, "Cluster": "apps", "ServiceName": SERVICE,
            "StandbyCount": "2", "HealthyTimeout": "600" })
}

/// One alarm event or re-check (an EventBridge invocation), stopped at its Lambda timeout.
async fn recheck(world: &Shared, timeout: Duration) {
    recheck_with(world, timeout, &failover_config()).await;
}

async fn recheck_with(world: &Shared, timeout: Duration, config: &Value) {
    let inv = world.lock().unwrap().invocation(false);
    let clients = world::clients(world, inv);
    let deadline = Instant::now() + timeout;
    let _ = tokio::time::timeout_at(
        deadline,
        fargate_provider::failover::handle_event(&clients, config, deadline),
    )
    .await;
}

/// `recheck` at `at` seconds after `start`, in its own task.
fn recheck_at(world: &Shared, start: Instant, at: u64) -> tokio::task::JoinHandle<()> {
    let w = world.clone();
    tokio::spawn(async move {
        tokio::time::sleep_until(start + Duration::from_secs(at)).await;
        recheck(&w, LAMBDA_TIMEOUT).await;
    })
}

/// [`recheck_at`] at each of `ats`, all started before any is awaited.
async fn rechecks_at(world: &Shared, start: Instant, ats: &[u64]) {
    let t: Vec<_> = ats.iter().map(|at| recheck_at(world, start, *at)).collect();
    for h in t {
        h.await.expect("task");
    }
}

/// Failover events: the alarm set to each `(second, state)` of `alarm`, and re-checks at
/// `ats` ([`rechecks_at`]).
fn alarm_and_rechecks(
    world: Shared,
    alarm: &'static [(u64, &'static str)],
    ats: &'static [u64],
) -> Fut {
    Box::pin(async move {
        let start = Instant::now();
        for (at, state) in alarm {
            set_alarm_at(&world, start, *at, state);
        }
        rechecks_at(&world, start, ats).await;
        Seen::default()
    })
}

/// [`failover_in_alarm`] on the standby, the service's targets healthy `secs` after it
/// scales out.
fn alarm_slow_health(w: &mut World, secs: u64) {
    failover_in_alarm(w, 0, 100);
    w.health_delay = Some(Duration::from_secs(secs));
}

fn set_alarm_at(world: &Shared, start: Instant, at: u64, state: &'static str) {
    let w = world.clone();
    tokio::spawn(async move {
        tokio::time::sleep_until(start + Duration::from_secs(at)).await;
        w.lock().unwrap().alarm = state.into();
    });
}

/// A logged change of `arn` to `actions` that sends traffic to the service's group.
fn is_move_to_app((_, arn, actions): &(Instant, String, Vec<Action>)) -> bool {
    arn == ROUTE
        && forward_targets(actions)
            .iter()
            .any(|(tg, wt)| tg == APP_TG && *wt > 0)
}

fn moves_to_app(w: &World) -> usize {
    w.action_log.iter().filter(|e| is_move_to_app(e)).count()
}

fn hook_settings(duration: u64, slice: Option<u64>) -> Value {
    let mut s = json!({ "Url": "file:///sim-no-network", "Duration": duration, "WarmUp": 0,
                        "CallBackDelay": 5, "Rate": 20,
                        "Stages": ["POST_TEST_TRAFFIC_SHIFT", "TEST_TRAFFIC_SHIFT"],
                        "StackId": STACK, "WorkerFunctionArn": WORKERS });
    if let Some(n) = slice {
        s["SliceSeconds"] = json!(n);
    }
    s
}

fn hook_event(stage: &str, revision: &str, settings: Value) -> Value {
    json!({
        "executionId": "00000000-0000-0000-0000-000003032203",
        "lifecycleStage": stage,
        "resourceArn": "arn:aws:ecs:eu-west-1:111122223333:service-deployment/apps/users/Qk3x",
        "executionDetails": {
            "serviceArn": "arn:aws:ecs:eu-west-1:111122223333:service/apps/users",
            "targetServiceRevisionArn": revision,
            "testTrafficWeights": {},
            "productionTrafficWeights": {}
        },
        "hookDetails": { SETTINGS_KEY: settings }
    })
}

async fn invoke_hook(world: &Shared, ev: &HookEvent) -> Option<HookAnswer> {
    let inv = world.lock().unwrap().invocation(false);
    let clients = world::clients(world, inv);
    let store = clients.state_store.clone();
    let deadline = Instant::now() + LAMBDA_TIMEOUT;
    let r = tokio::time::timeout_at(
        deadline,
        lifecycle_hook::handle(&clients, store.as_ref(), ev, deadline),
    )
    .await
    .ok();
    if world.lock().unwrap().crashed[inv] {
        return None;
    }
    r
}

/// ECS's side: invoke, and while IN_PROGRESS invoke again after `callBackDelay` with the
/// returned `hookDetails` (at most `rounds` times); `between` runs before each re-invocation.
async fn ecs_hook(
    world: &Shared,
    raw: Value,
    rounds: usize,
    label: &str,
    seen: &Arc<Mutex<Seen>>,
    between: fn(&Shared, usize, &Arc<Mutex<Seen>>),
) {
    let mut ev: HookEvent = serde_json::from_value(raw).expect("hook payload");
    for round in 0..rounds {
        if round > 0 {
            between(world, round, seen);
        }
        let Some(a) = invoke_hook(world, &ev).await else {
            return;
        };
        seen.lock()
            .unwrap()
            .hooks
            .push((format!("{label}#{round}"), a.clone()));
        if a.status != HookStatus::InProgress {
            return;
        }
        ev.hook_details = a.hook_details.clone();
        tokio::time::sleep(Duration::from_secs(a.call_back_delay.unwrap_or(30))).await;
    }
}

fn no_between(_: &Shared, _: usize, _: &Arc<Mutex<Seen>>) {}

/// ECS's invocations of the hook at `stage` for revision 1 with `settings` ([`ecs_hook`],
/// answers labelled "hook").
async fn hook_run(
    world: Shared,
    stage: &'static str,
    settings: Value,
    rounds: usize,
    between: fn(&Shared, usize, &Arc<Mutex<Seen>>),
) -> Seen {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let raw = hook_event(stage, REV1, settings);
    ecs_hook(&world, raw, rounds, "hook", &seen, between).await;
    take(seen)
}

/// The answers' statuses and reasons, for a guarantee's message.
fn hook_answers<'a>(answers: impl Iterator<Item = &'a HookAnswer>) -> String {
    format!(
        "{:?}",
        answers.map(|a| (&a.status, &a.reason)).collect::<Vec<_>>()
    )
}

/// There is an answer and it is SUCCEEDED.
fn last_succeeded(last: &Option<HookAnswer>) -> bool {
    last.as_ref()
        .is_some_and(|a| a.status == HookStatus::Succeeded)
}

fn gate_props(duration: u64) -> Value {
    json!({ "Url": "http://internal-app.elb.test/health", "Rate": "10",
            "Duration": duration.to_string(), "WarmUp": "0", "WorkerFunctionArn": WORKERS,
            "ServiceTimeout": "3600" })
}

/// C10's Create of A's port claim (range 8000-8009), RequestId "a".
fn a_create() -> Value {
    custom_resource::event(
        "Create",
        PORT,
        (STACK, "Route"),
        port_props("8000-8009", false),
        None,
        None,
        "a",
    )
}

/// CloudFormation's Create of the gate (`Duration` 60), RequestId "create".
fn gate_create() -> Value {
    custom_resource::event(
        "Create",
        GATE,
        (STACK, "Gate"),
        gate_props(60),
        None,
        None,
        "create",
    )
}

fn skipped(b: &Value) -> bool {
    b["Status"] == "SUCCESS" && b["Data"].get("Skipped").is_some()
}

fn last_hook(seen: &Seen, prefix: &str) -> Option<HookAnswer> {
    seen.hooks
        .iter()
        .filter(|(l, _)| l.starts_with(prefix))
        .map(|(_, a)| a.clone())
        .next_back()
}

fn load_ms(w: &World) -> u64 {
    w.load_runs.iter().sum()
}

fn ensure(ok: bool, what: impl FnOnce() -> String) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(what())
    }
}

// ---------------------------------------------------------------------------------------
// The table.

fn rows() -> Vec<Row> {
    vec![
        // C1: A's CreateListener takes effect and its answer is lost (the SDK's retry gets the
        // identical listener back), while B races A for the same port.
        Row {
            name: "C1",
            setup: |w| listener(w, L1, 8000, THIRD_STACK),
            script: || retried("create_listener", 1),
            events: |world| raced(world, PORT, port_props("8000-8002", false)),
            guarantee: |w, s| {
                let (ha, hb) = both_holders(w);
                ensure(
                    s.status("a") == "SUCCESS" && s.status("b") == "SUCCESS",
                    || format!("answers A {} B {}", s.status("a"), s.status("b")),
                )?;
                ensure(
                    ha == vec![s.physical("a")] && hb == vec![s.physical("b")],
                    || {
                        format!(
                            "A holds {ha:?} (answered {}), B holds {hb:?} (answered {})",
                            s.physical("a"),
                            s.physical("b")
                        )
                    },
                )?;
                let (pa, pb) = (port_of(w, &ha[0]), port_of(w, &hb[0]));
                ensure(pa != pb && w.listeners.len() == 3, || {
                    format!(
                        "ports {pa:?} {pb:?}; {} listeners on the ALB",
                        w.listeners.len()
                    )
                })
            },
        },
        // C2: CreateRule is not idempotent: A's rule is made, the answer lost, the SDK's retry
        // gets PriorityInUse from A's own rule; B races for the same priority.
        Row {
            name: "C2",
            setup: |w| listener(w, L1, 443, THIRD_STACK),
            script: || retried("create_rule", 1),
            events: |world| raced(world, RULE, rule_props(L1, "1-3")),
            guarantee: |w, s| {
                let (ha, hb) = both_holders(w);
                ensure(
                    ha == vec![s.physical("a")] && hb == vec![s.physical("b")],
                    || {
                        format!(
                            "A ({}) holds {ha:?} answered {}; B ({}) holds {hb:?} answered {}",
                            s.status("a"),
                            s.physical("a"),
                            s.status("b"),
                            s.physical("b")
                        )
                    },
                )?;
                let taken: Vec<i32> = w.rules.values().map(|r| r.priority).collect();
                ensure(!taken.contains(&3), || {
                    format!("priorities taken {taken:?}")
                })
            },
        },
        // C3: two stacks claim at once while every third ELBv2 call of the account is
        // throttled past the SDK's retries.
        Row {
            name: "C3",
            setup: nothing,
            script: || {
                (1..200)
                    .filter(|n| n % 3 == 0)
                    .map(|n| Scripted::on("elb", n, Fate::Throttle))
                    .collect()
            },
            events: |world| raced(world, PORT, port_props("8000-8009", false)),
            guarantee: |w, s| {
                let (ha, hb) = both_holders(w);
                ensure(
                    s.status("a") == "SUCCESS" && s.status("b") == "SUCCESS",
                    || {
                        format!(
                            "answers A {} ({}) B {} ({})",
                            s.status("a"),
                            s.answer("a").map_or(Value::Null, |b| b["Reason"].clone()),
                            s.status("b"),
                            s.answer("b").map_or(Value::Null, |b| b["Reason"].clone())
                        )
                    },
                )?;
                ensure(
                    ha == vec![s.physical("a")]
                        && hb == vec![s.physical("b")]
                        && port_of(w, &ha[0]) != port_of(w, &hb[0]),
                    || format!("A holds {ha:?}, B holds {hb:?}"),
                )?;
                let late = s.cr.iter().find(|(_, _, at)| *at > 240.0);
                ensure(late.is_none(), || format!("answered after 240 s: {late:?}"))
            },
        },
        // C4: the rule moves to another listener (a replacement); the cleanup Delete of the old
        // physical ID is delivered three times, the last minutes late.
        Row {
            name: "C4",
            setup: |w| {
                listener(w, L1, 443, THIRD_STACK);
                listener(w, L2, 444, THIRD_STACK);
            },
            script: none,
            events: |world| {
                Box::pin(async move {
                    let who = (STACK, "Route");
                    let (seen, start, _) = route_created(&world, RULE, rule_props(L1, "5-9")).await;
                    let old = seen.lock().unwrap().cr[0].1["PhysicalResourceId"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    let update = update_event(
                        RULE,
                        who,
                        rule_props(L2, "5-9"),
                        &old,
                        rule_props(L1, "5-9"),
                        "update",
                    );
                    answered(&world, &seen, &update, "update", start).await;
                    for (i, wait) in [0u64, 1, 380].iter().enumerate() {
                        tokio::time::sleep(Duration::from_secs(*wait)).await;
                        let ev = delete_event(RULE, who, rule_props(L1, "5-9"), &old, "cleanup");
                        answered(&world, &seen, &ev, &format!("cleanup{i}"), start).await;
                    }
                    take(seen)
                })
            },
            guarantee: |w, s| {
                let held = holders(w, STACK, "Route");
                let deletes: Vec<String> =
                    (0..3).map(|i| s.status(&format!("cleanup{i}"))).collect();
                ensure(deletes.iter().all(|d| d == "SUCCESS"), || {
                    format!("Deletes answered {deletes:?}")
                })?;
                ensure(
                    held == vec![s.physical("update")]
                        && w.rules.get(&held[0]).is_some_and(|r| r.listener == L2),
                    || {
                        format!(
                            "held {held:?}; the Update answered {}",
                            s.physical("update")
                        )
                    },
                )
            },
        },
        // C5: an Update that replaced the rule (new range), the stack rolled back (the new
        // rule deleted), then Lambda delivers the Update's event again, late.
        Row {
            name: "C5",
            setup: |w| listener(w, L1, 443, THIRD_STACK),
            script: none,
            events: |world| {
                Box::pin(replaced_then_late_duplicate(
                    world,
                    RULE,
                    rule_props(L1, "1-10"),
                    rule_props(L1, "20-30"),
                    true,
                ))
            },
            guarantee: late_duplicate_kept_created,
        },
        // C6: the claim's listener was deleted by hand; the Delete (LeastRecentlyUsed).
        Row {
            name: "C6",
            setup: |w| listener(w, L2, 8000, THIRD_STACK),
            script: none,
            events: |world| {
                Box::pin(created_then_deleted(
                    world,
                    PORT,
                    port_props("8000-8009", true),
                    |w, p| {
                        w.listeners.remove(p);
                    },
                ))
            },
            guarantee: |w, s| {
                delete_succeeded(s)?;
                let held: Vec<i32> = w.listeners.values().map(|l| l.port).collect();
                let record = w
                    .lb_tags
                    .get(LB)
                    .and_then(|t| {
                        t.iter()
                            .find(|(k, _)| k == "fargate-app:freed-ports")
                            .map(|(_, v)| v.clone())
                    })
                    .unwrap_or_default();
                let wrong: Vec<&str> = record
                    .split('/')
                    .filter(|p| p.parse::<i32>().is_ok_and(|n| held.contains(&n)))
                    .collect();
                ensure(w.listeners.contains_key(L2) && wrong.is_empty(), || {
                    format!("freed-ports record {record:?} names held ports {wrong:?}; listeners {held:?}")
                })
            },
        },
        // C7: the listener was deleted by hand (its rules with it); the Delete of the rule
        // claim meets RuleNotFound, and the listener's rules cannot be listed.
        Row {
            name: "C7",
            setup: |w| listener(w, L1, 443, THIRD_STACK),
            script: none,
            events: |world| {
                Box::pin(created_then_deleted(
                    world,
                    RULE,
                    rule_props(L1, "7-9"),
                    |w, _| {
                        // Deleting a listener deletes its rules (the fake's DeleteListener).
                        w.listeners.remove(L1);
                        w.rules.retain(|_, r| r.listener != L1);
                    },
                ))
            },
            guarantee: |_, s| {
                let at =
                    s.cr.iter()
                        .find(|(l, _, _)| l == "delete")
                        .map(|(_, _, t)| *t);
                delete_succeeded(s)?;
                let created =
                    s.cr.iter()
                        .find(|(l, _, _)| l == "create")
                        .map_or(0.0, |c| c.2);
                ensure(at.is_some_and(|t| t - created < 60.0), || {
                    format!("Delete answered at {at:?} s")
                })
            },
        },
        // C8: DeleteListener deletes the listener and its answer is lost; the SDK's retry
        // gets ListenerNotFound.
        Row {
            name: "C8",
            setup: |w| listener(w, L2, 8000, THIRD_STACK),
            script: || retried("delete_listener", 1),
            events: |world| {
                Box::pin(created_then_deleted(
                    world,
                    PORT,
                    port_props("8000-8009", false),
                    |_, _| {},
                ))
            },
            guarantee: |w, s| {
                delete_succeeded(s)?;
                ensure(
                    holders(w, STACK, "Route").is_empty() && w.listeners.contains_key(L2),
                    || {
                        format!(
                            "listeners left {:?}",
                            w.listeners.keys().collect::<Vec<_>>()
                        )
                    },
                )
            },
        },
        // C9: a range with one free port, two stacks at once; the loser's failed Create is
        // then deleted by CloudFormation, twice.
        Row {
            name: "C9",
            setup: |w| listener(w, L2, 8000, THIRD_STACK),
            script: none,
            events: |world| {
                Box::pin(async move {
                    let (seen, start) = race(&world, PORT, port_props("8000-8001", false)).await;
                    let loser = {
                        let s = seen.lock().unwrap();
                        if s.status("a") == "FAILED" {
                            Some((STACK, s.physical("a")))
                        } else if s.status("b") == "FAILED" {
                            Some((OTHER_STACK, s.physical("b")))
                        } else {
                            None
                        }
                    };
                    if let Some((stack, p)) = loser {
                        let calls = world.lock().unwrap().calls.len();
                        seen.lock()
                            .unwrap()
                            .marks
                            .insert("calls_before_delete", calls);
                        let ev = delete_event(
                            PORT,
                            (stack, "Route"),
                            port_props("8000-8001", false),
                            &p,
                            "rollback",
                        );
                        for i in 0..2 {
                            answered(&world, &seen, &ev, &format!("rollback{i}"), start).await;
                        }
                    }
                    take(seen)
                })
            },
            guarantee: |w, s| {
                let statuses = [s.status("a"), s.status("b")];
                ensure(
                    statuses.contains(&"SUCCESS".to_string())
                        && statuses.contains(&"FAILED".to_string()),
                    || format!("answers {statuses:?}"),
                )?;
                let failed = if statuses[0] == "FAILED" { "a" } else { "b" };
                let reason = s
                    .answer(failed)
                    .map(|b| b["Reason"].to_string())
                    .unwrap_or_default();
                ensure(
                    reason.contains("8000-8001") && reason.contains("loadbalancer/app/shared/1"),
                    || {
                        format!(
                            "the full range's reason names neither the range nor the ALB: {reason}"
                        )
                    },
                )?;
                ensure(
                    s.status("rollback0") == "SUCCESS" && s.status("rollback1") == "SUCCESS",
                    || {
                        format!(
                            "rollback Deletes {} {}",
                            s.status("rollback0"),
                            s.status("rollback1")
                        )
                    },
                )?;
                let writes = writes_since(w, s, "calls_before_delete");
                ensure(writes.is_empty() && w.listeners.len() == 2, || {
                    format!(
                        "the failed Create's Delete wrote {writes:?}; {} listeners",
                        w.listeners.len()
                    )
                })
            },
        },
        // C10: A's process dies right after CreateListener took effect; B takes the next port;
        // Lambda retries A's Create a minute later.
        Row {
            name: "C10",
            setup: nothing,
            script: || {
                vec![Scripted {
                    crash: true,
                    ..Scripted::on("create_listener", 1, Fate::Normal)
                }]
            },
            events: |world| {
                Box::pin(async move {
                    let seen = Arc::new(Mutex::new(Seen::default()));
                    let start = Instant::now();
                    let create = a_create();
                    let w = world.clone();
                    let first = tokio::spawn(async move {
                        custom_resource::invoke(&w, &create, LAMBDA_TIMEOUT, false).await
                    });
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    let b = send(
                        &world,
                        "Create",
                        PORT,
                        (OTHER_STACK, "Route"),
                        port_props("8000-8009", false),
                        None,
                        None,
                        "b",
                    )
                    .await;
                    note(&seen, "b", b, start);
                    let crashed = first.await.expect("task");
                    note(&seen, "a-crashed", crashed, start);
                    tokio::time::sleep_until(start + Duration::from_secs(60)).await;
                    answered(&world, &seen, &a_create(), "a", start).await;
                    take(seen)
                })
            },
            guarantee: |w, s| {
                let ha = holders(w, STACK, "Route");
                ensure(
                    s.answer("a-crashed").is_none()
                        && ha == vec![s.physical("a")]
                        && port_of(w, &ha[0]) == Some(8000),
                    || {
                        format!(
                            "A held {ha:?} (ports {:?}), answered {} {}",
                            ha.iter().map(|h| port_of(w, h)).collect::<Vec<_>>(),
                            s.status("a"),
                            s.physical("a")
                        )
                    },
                )
            },
        },
        // C5c: C5 for a port claim: the Update's new listener deleted by the rollback, then the
        // Update's event again, late.
        Row {
            name: "C5c",
            setup: nothing,
            script: none,
            events: |world| port_range_replaced_late(world, true),
            guarantee: late_duplicate_kept_created,
        },
        // C5b: the port claim's Update replaced the listener (new range) and the cleanup
        // deleted the old one; Lambda delivers the Update's event again, five minutes late.
        Row {
            name: "C5b",
            setup: nothing,
            script: none,
            events: |world| port_range_replaced_late(world, false),
            guarantee: |w, s| {
                let held = holders(w, STACK, "Route");
                ensure(held == vec![s.physical("update")], || {
                    format!(
                        "after the cleanup and the late duplicate Update (answered {} {}), \
                             A holds {held:?} (ports {:?}); CloudFormation holds {}",
                        s.status("late-duplicate"),
                        s.physical("late-duplicate"),
                        held.iter().map(|h| port_of(w, h)).collect::<Vec<_>>(),
                        s.physical("update")
                    )
                })
            },
        },
        // C11: the rule was deleted by hand; an Update in place (same listener and range, new
        // conditions) follows.
        Row {
            name: "C11",
            setup: |w| listener(w, L1, 443, THIRD_STACK),
            script: none,
            events: |world| {
                let mut props = rule_props(L1, "5-9");
                props["Conditions"][0]["PathPatternConfig"]["Values"] = json!(["/people*"]);
                Box::pin(lost_by_hand_then_update(
                    world,
                    RULE,
                    rule_props(L1, "5-9"),
                    props,
                ))
            },
            guarantee: update_failed_or_holds,
        },
        // C11b: C11 for a port claim: the listener deleted by hand, then an Update in place
        // (same ALB and range, another target group).
        Row {
            name: "C11b",
            setup: nothing,
            script: none,
            events: |world| {
                let mut props = port_props("8000-8009", false);
                props["TargetGroupArn"] = json!(APP_TG);
                Box::pin(lost_by_hand_then_update(
                    world,
                    PORT,
                    port_props("8000-8009", false),
                    props,
                ))
            },
            guarantee: update_failed_or_holds,
        },
        // C12: two Updates in place of a rule claim (new conditions each time); Lambda then
        // delivers the first Update's event again, late: it must not write the older
        // conditions over the newer ones.
        Row {
            name: "C12",
            setup: |w| listener(w, L1, 443, THIRD_STACK),
            script: none,
            events: |world| rule_paths_late(world, None),
            guarantee: no_write_after_second_update,
        },
        // C12b: C12 for a port claim: two Updates in place moving the listener's forward
        // to another target group each; the first Update's event again, late.
        Row {
            name: "C12b",
            setup: nothing,
            script: none,
            events: |world| {
                let to = |tg: &str| {
                    let mut p = port_props("8000-8009", false);
                    p["TargetGroupArn"] = json!(tg);
                    p
                };
                Box::pin(late_first_of_two_updates(
                    world,
                    PORT,
                    "Route",
                    [to(TG), to(APP_TG), to(STANDBY_TG)],
                ))
            },
            guarantee: |w, s| {
                let tgs = w
                    .listeners
                    .get(&s.physical("update2"))
                    .map(|l| forward_targets(&l.actions))
                    .unwrap_or_default();
                ensure(
                    s.status("update2") == "SUCCESS" && tgs.iter().any(|(tg, _)| tg == STANDBY_TG),
                    || {
                        format!("after the second Update (to the standby group) and the first Update's late \
                             duplicate (answered {}), the listener forwards to {tgs:?}", s.status("late-duplicate"))
                    },
                )
            },
        },
        // C12t: C12 without the state table (its records unreadable): the resource's status
        // (UPDATE_COMPLETE) alone tells the late duplicate.
        Row {
            name: "C12t",
            setup: |w| {
                listener(w, L1, 443, THIRD_STACK);
                w.table_exists = false;
            },
            script: none,
            events: |world| rule_paths_late(world, None),
            guarantee: no_write_after_second_update,
        },
        // C12c: C12 with the first Update's event delivered again while the resource reads
        // UPDATE_IN_PROGRESS (a later Update of it in progress): the status does not tell it
        // from a request CloudFormation waits on.
        Row {
            name: "C12c",
            setup: |w| listener(w, L1, 443, THIRD_STACK),
            script: none,
            events: |world| rule_paths_late(world, Some("UPDATE_IN_PROGRESS")),
            guarantee: no_write_after_second_update,
        },
        // F1: ALARM, the service scales out slowly (150 s to healthy), the alarm flaps
        // (OK at 110, ALARM at 170) with events late, twice and out of order; re-checks.
        Row {
            name: "F1",
            setup: |w| alarm_slow_health(w, 150),
            script: none,
            events: |world| {
                alarm_and_rechecks(
                    world,
                    &[(110, "OK"), (170, "ALARM")],
                    &[0, 115, 175, 176, 200, 120, 240, 360, 480, 600],
                )
            },
            guarantee: |w, _| {
                ensure(w.unhealthy_shifts.is_empty(), || {
                    format!("{:?}", w.unhealthy_shifts)
                })?;
                let desired = w.services[SERVICE].desired;
                ensure(weights(w) == (100, 0) && desired >= 2, || {
                    format!(
                        "alarm ALARM, targets healthy: weights {:?}, desired {desired}",
                        weights(w)
                    )
                })
            },
        },
        // F2: ALARM, scale-up, targets healthy at 60 s; the alarm goes OK at 50 s while the
        // invocation waits for health. Re-checks follow.
        Row {
            name: "F2",
            setup: |w| alarm_slow_health(w, 60),
            script: none,
            events: |world| alarm_and_rechecks(world, &[(50, "OK")], &[0, 120, 240]),
            guarantee: |w, _| {
                ensure(moves_to_app(w) == 0, || {
                    format!(
                        "traffic moved to the service after the alarm went OK: {:?}",
                        w.action_log
                    )
                })?;
                ensure(at_rest_on_standby(w), || route_and_service(w))
            },
        },
        // F3: ALARM, healthy targets; the first invocation dies during ModifyListener (no
        // effect); Lambda retries it at 60 and 180 s and EventBridge delivers it twice.
        Row {
            name: "F3",
            setup: |w| failover_in_alarm(w, 0, 100),
            script: || {
                vec![Scripted {
                    crash: true,
                    ..Scripted::on("modify_listener", 1, Fate::Throttle)
                }]
            },
            events: |world| alarm_and_rechecks(world, &[], &[0, 1, 60, 180, 300]),
            guarantee: |w, _| {
                let desired = w.services[SERVICE].desired;
                ensure(
                    weights(w) == (100, 0) && desired == 2 && moves_to_app(w) == 1,
                    || {
                        format!("weights {:?}, desired {desired} (StandbyCount 2), moves to the service {}",
                        weights(w), moves_to_app(w))
                    },
                )
            },
        },
        // F4: ModifyListener moves the weights and its answer is lost (the SDK's retry sees
        // the weights already moved).
        Row {
            name: "F4",
            setup: |w| {
                failover_in_alarm(w, 0, 100);
                w.set_desired(SERVICE, 2);
            },
            script: || retried("modify_listener", 1),
            events: |world| {
                Box::pin(async move {
                    let start = Instant::now();
                    recheck(&world, LAMBDA_TIMEOUT).await;
                    let mut s = Seen::default();
                    s.marks
                        .insert("secs", (Instant::now() - start).as_secs() as usize);
                    recheck(&world, LAMBDA_TIMEOUT).await;
                    s
                })
            },
            guarantee: |w, s| {
                ensure(weights(w) == (100, 0) && moves_to_app(w) == 1, || {
                    format!("weights {:?}, moves {}", weights(w), moves_to_app(w))
                })?;
                let secs = s.marks["secs"];
                ensure(secs < 120, || {
                    format!("the invocation took {secs} s for one move")
                })
            },
        },
        // F5: alarm OK, traffic on the standby, whose Lambda target fails its health checks.
        Row {
            name: "F5",
            setup: |w| failover_world(w, 0, 100),
            script: none,
            events: |world| {
                Box::pin(async move {
                    recheck(&world, LAMBDA_TIMEOUT).await;
                    Seen::default()
                })
            },
            guarantee: |w, _| {
                ensure(at_rest_on_standby(w) && w.action_log.is_empty(), || {
                    format!("{}, changes {:?}", route_and_service(w), w.action_log)
                })
            },
        },
        // F6: failed over (ALARM); the stack removes Failover (Delete hands back a plain
        // forward); a re-check and a late OK event arrive after.
        Row {
            name: "F6",
            setup: |w| failover_in_alarm(w, 100, 0),
            script: none,
            events: |world| {
                Box::pin(async move {
                    let (seen, _, _) = failover_created_deleted(&world, None).await;
                    let plain = format!("{:?}", world.lock().unwrap().listeners[ROUTE].actions);
                    seen.lock()
                        .unwrap()
                        .cr
                        .push(("plain".into(), json!(plain), 0.0));
                    world.lock().unwrap().alarm = "OK".into();
                    recheck(&world, LAMBDA_TIMEOUT).await;
                    recheck(&world, LAMBDA_TIMEOUT).await;
                    take(seen)
                })
            },
            guarantee: |w, s| {
                deleted_route_on_app(w, s, |tgs| {
                    format!(
                        "after the Delete and the late events the route forwards to {tgs} \
                             (right after the Delete: {})",
                        s.answer("plain").cloned().unwrap_or_default()
                    )
                })
            },
        },
        // F7: the route was deleted by hand; ALARM event and a re-check.
        Row {
            name: "F7",
            setup: |w| {
                failover_in_alarm(w, 0, 100);
                w.listeners.remove(ROUTE);
            },
            script: none,
            events: |world| {
                Box::pin(async move {
                    let start = Instant::now();
                    recheck(&world, LAMBDA_TIMEOUT).await;
                    recheck(&world, LAMBDA_TIMEOUT).await;
                    let mut s = Seen::default();
                    s.marks
                        .insert("secs", (Instant::now() - start).as_secs() as usize);
                    s
                })
            },
            guarantee: |w, s| {
                ensure(
                    w.listeners.is_empty() && w.services[SERVICE].desired == 0,
                    || {
                        format!(
                            "route gone: listeners {:?}, service scaled to {}",
                            w.listeners.keys().collect::<Vec<_>>(),
                            w.services[SERVICE].desired
                        )
                    },
                )?;
                ensure(s.marks["secs"] < 120, || {
                    format!("two invocations took {} s", s.marks["secs"])
                })
            },
        },
        // F8: Create while the alarm has no data yet.
        Row {
            name: "F8",
            setup: |w| {
                failover_world(w, 0, 100);
                w.alarm = "INSUFFICIENT_DATA".into();
            },
            script: none,
            events: |world| {
                Box::pin(async move {
                    let seen = Arc::new(Mutex::new(Seen::default()));
                    let mut props = failover_config();
                    props["RestingCount"] = json!("1");
                    created(&world, &seen, FAILOVER, FAILOVER_WHO, props, Instant::now()).await;
                    take(seen)
                })
            },
            guarantee: |w, s| {
                let b = s.answer("create").cloned().unwrap_or_default();
                ensure(
                    b["Status"] == "SUCCESS"
                        && b["Data"]["Serving"] == "standby"
                        && weights(w) == (0, 100)
                        && w.services[SERVICE].desired == 1,
                    || format!("answered {b}; {}", route_and_service(w)),
                )
            },
        },
        // F9: failed over; the alarm is OK now; an ALARM event (late) and an OK event run at
        // once.
        Row {
            name: "F9",
            setup: |w| failover_world(w, 100, 0),
            script: none,
            events: |world| {
                Box::pin(async move {
                    let start = Instant::now();
                    rechecks_at(&world, start, &[0, 0]).await;
                    recheck(&world, LAMBDA_TIMEOUT).await;
                    Seen::default()
                })
            },
            guarantee: |w, _| {
                ensure(at_rest_on_standby(w) && moves_to_app(w) == 0, || {
                    format!(
                        "alarm OK: {}, moves to the service {}",
                        route_and_service(w),
                        moves_to_app(w)
                    )
                })
            },
        },
        // F10: the failover resource was updated, then removed (Delete hands back a plain
        // forward); Lambda delivers the Update's event again, late.
        Row {
            name: "F10",
            setup: |w| failover_in_alarm(w, 100, 0),
            script: none,
            events: |world| {
                Box::pin(async move {
                    let mut props = failover_config();
                    props["StandbyCount"] = json!("3");
                    let (seen, start, update) = failover_created_deleted(&world, Some(props)).await;
                    let update = update.expect("the Update's event");
                    tokio::time::sleep(Duration::from_secs(120)).await;
                    answered(&world, &seen, &update, "late-duplicate", start).await;
                    take(seen)
                })
            },
            guarantee: |w, s| {
                deleted_route_on_app(w, s, |tgs| {
                    format!(
                        "after the Delete, a late duplicate Update (answered {}) left the route \
                             forwarding to {tgs}",
                        s.status("late-duplicate")
                    )
                })
            },
        },
        // F11: MinServiceTime 600 s; the move to the service is made but its stamp (the
        // second AddTags of the route) is throttled; the alarm goes OK at 120 s; re-checks.
        Row {
            name: "F11",
            setup: |w| failover_in_alarm(w, 0, 100),
            script: || vec![Scripted::on("add_tags", 2, Fate::Throttle)],
            events: |world| {
                Box::pin(async move {
                    let start = Instant::now();
                    set_alarm_at(&world, start, 120, "OK");
                    let mut config = failover_config();
                    config["MinServiceTime"] = json!("600");
                    for at in (0..=1200).step_by(120) {
                        tokio::time::sleep_until(start + Duration::from_secs(at)).await;
                        recheck_with(&world, Duration::from_secs(110), &config).await;
                    }
                    Seen::default()
                })
            },
            guarantee: |w, _| {
                let to_app = w.action_log.iter().find(|e| is_move_to_app(e)).map(|e| e.0);
                let back = w
                    .action_log
                    .iter()
                    .find(|(t, a, acts)| {
                        a == ROUTE
                            && to_app.is_some_and(|m| *t > m)
                            && forward_targets(acts)
                                .iter()
                                .all(|(tg, wt)| tg != APP_TG || *wt == 0)
                    })
                    .map(|e| e.0);
                ensure(to_app.is_some(), || {
                    "traffic never moved to the service".into()
                })?;
                let held = back.zip(to_app).map(|(b, m)| (b - m).as_secs());
                ensure(held.is_none_or(|h| h >= 600), || {
                    format!(
                        "moved back {held:?} s after the move to the service (MinServiceTime 600)"
                    )
                })
            },
        },
        // F12: alarm OK; two Updates of the failover resource change RestingCount (1 -> 2 -> 3);
        // Lambda delivers the first Update's event again, late.
        Row {
            name: "F12",
            setup: |w| failover_world(w, 0, 100),
            script: none,
            events: |world| {
                let resting = |n: &str| {
                    let mut p = failover_config();
                    p["RestingCount"] = json!(n);
                    p
                };
                Box::pin(late_first_of_two_updates(
                    world,
                    FAILOVER,
                    FAILOVER_WHO.1,
                    [resting("1"), resting("2"), resting("3")],
                ))
            },
            guarantee: |w, s| {
                let desired = w.services[SERVICE].desired;
                ensure(s.status("update2") == "SUCCESS" && desired == 3, || {
                    format!(
                        "RestingCount is 3 since the second Update; after the first Update's late \
                             duplicate (answered {}) the service runs {desired}",
                        s.status("late-duplicate")
                    )
                })
            },
        },
        // H1: ECS invokes the hook, then the same invocation again a second later.
        Row {
            name: "H1",
            setup: nothing,
            script: none,
            events: |world| {
                Box::pin(async move {
                    let seen = Arc::new(Mutex::new(Seen::default()));
                    let raw = hook_event("POST_TEST_TRAFFIC_SHIFT", REV1, hook_settings(60, None));
                    let (w, s, r) = (world.clone(), seen.clone(), raw.clone());
                    let first =
                        tokio::spawn(
                            async move { ecs_hook(&w, r, 12, "first", &s, no_between).await },
                        );
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    ecs_hook(&world, raw, 12, "second", &seen, no_between).await;
                    first.await.expect("task");
                    take(seen)
                })
            },
            guarantee: |w, s| {
                let finals: Vec<&HookAnswer> = s
                    .hooks
                    .iter()
                    .map(|(_, a)| a)
                    .filter(|a| a.status != HookStatus::InProgress)
                    .collect();
                ensure(w.load_runs.len() == 1 && load_ms(w) == 60_000, || {
                    format!("load runs {:?} ms for a 60 s gate", w.load_runs)
                })?;
                ensure(
                    !finals.is_empty() && finals.iter().all(|a| a.status == HookStatus::Succeeded),
                    || format!("final answers {}", hook_answers(finals.iter().copied())),
                )
            },
        },
        // H2: the slice's record (the UpdateItem after the lease) takes effect and its answer
        // is lost; the SDK's retry fails its own condition.
        Row {
            name: "H2",
            setup: nothing,
            script: || retried("update_item", 2),
            events: |world| {
                Box::pin(hook_run(
                    world,
                    "POST_TEST_TRAFFIC_SHIFT",
                    hook_settings(120, Some(60)),
                    12,
                    no_between,
                ))
            },
            guarantee: |w, s| {
                let last = last_hook(s, "hook");
                ensure(load_ms(w) == 120_000, || {
                    format!(
                        "load runs {:?} ms for a 120 s gate in 60 s slices; answers {}",
                        w.load_runs,
                        hook_answers(s.hooks.iter().map(|(_, a)| a))
                    )
                })?;
                ensure(last_succeeded(&last), || format!("last answer {last:?}"))
            },
        },
        // H3: after the first slice (IN_PROGRESS) the user stops the deployment: it rolls back.
        Row {
            name: "H3",
            setup: nothing,
            script: none,
            events: |world| {
                Box::pin(hook_run(
                    world,
                    "POST_TEST_TRAFFIC_SHIFT",
                    hook_settings(180, Some(60)),
                    12,
                    |w, round, seen| {
                        if round == 1 {
                            let mut w = w.lock().unwrap();
                            w.deployment_status = "ROLLBACK_REQUESTED".into();
                            seen.lock()
                                .unwrap()
                                .marks
                                .insert("runs_before_stop", w.load_runs.len());
                        }
                    },
                ))
            },
            guarantee: |w, s| {
                let before = s.marks.get("runs_before_stop").copied().unwrap_or(0);
                let last = last_hook(s, "hook");
                ensure(before == 1 && w.load_runs.len() == before, || {
                    format!(
                        "load runs {} before the stop, {} in all",
                        before,
                        w.load_runs.len()
                    )
                })?;
                ensure(
                    last.as_ref()
                        .is_some_and(|a| a.status != HookStatus::Failed),
                    || format!("the stopped deployment's hook answered {last:?}"),
                )
            },
        },
        // H4: D1 (revision 1) is in its first slice; D2 (revision 2) supersedes it; D1 is
        // STOPPED and its late re-invocation arrives while D2 runs.
        Row {
            name: "H4",
            setup: nothing,
            script: none,
            events: |world| {
                Box::pin(async move {
                    let seen = Arc::new(Mutex::new(Seen::default()));
                    let r1 = hook_event(
                        "POST_TEST_TRAFFIC_SHIFT",
                        REV1,
                        hook_settings(120, Some(60)),
                    );
                    let r2 = hook_event(
                        "POST_TEST_TRAFFIC_SHIFT",
                        REV2,
                        hook_settings(120, Some(60)),
                    );
                    let mut e1: HookEvent = serde_json::from_value(r1).expect("payload");
                    let a = invoke_hook(&world, &e1).await.expect("answer");
                    seen.lock().unwrap().hooks.push(("r1#0".into(), a.clone()));
                    e1.hook_details = a.hook_details.clone();
                    let runs = world.lock().unwrap().load_runs.len();
                    seen.lock().unwrap().marks.insert("r1_runs", runs);
                    let mut e2: HookEvent = serde_json::from_value(r2).expect("payload");
                    let a = invoke_hook(&world, &e2).await.expect("answer");
                    seen.lock().unwrap().hooks.push(("r2#0".into(), a.clone()));
                    e2.hook_details = a.hook_details.clone();
                    world.lock().unwrap().deployment_status = "STOPPED".into();
                    let before = world.lock().unwrap().load_runs.len();
                    let a = invoke_hook(&world, &e1).await.expect("answer");
                    seen.lock().unwrap().hooks.push(("r1#1".into(), a));
                    let after = world.lock().unwrap().load_runs.len();
                    seen.lock()
                        .unwrap()
                        .marks
                        .insert("late_r1_runs", after - before);
                    world.lock().unwrap().deployment_status = "IN_PROGRESS".into();
                    for round in 1..6 {
                        let a = invoke_hook(&world, &e2).await.expect("answer");
                        seen.lock()
                            .unwrap()
                            .hooks
                            .push((format!("r2#{round}"), a.clone()));
                        if a.status != HookStatus::InProgress {
                            break;
                        }
                        e2.hook_details = a.hook_details.clone();
                        tokio::time::sleep(Duration::from_secs(5)).await;
                    }
                    take(seen)
                })
            },
            guarantee: |w, s| {
                ensure(s.marks["late_r1_runs"] == 0, || {
                    format!(
                        "the superseded deployment's late call sent {} load runs",
                        s.marks["late_r1_runs"]
                    )
                })?;
                let r2 = last_hook(s, "r2");
                ensure(last_succeeded(&r2) && load_ms(w) <= 60_000 * 4, || {
                    format!("revision 2 ended {r2:?}; load {:?}", w.load_runs)
                })
            },
        },
        // H5: stages the gate is not configured for, one ECS may add later.
        Row {
            name: "H5",
            setup: nothing,
            script: none,
            events: |world| {
                Box::pin(async move {
                    let seen = Arc::new(Mutex::new(Seen::default()));
                    for stage in ["PRE_SCALE_UP", "POST_SOMETHING_NEW"] {
                        let raw = hook_event(stage, REV1, hook_settings(60, None));
                        ecs_hook(&world, raw, 3, stage, &seen, no_between).await;
                    }
                    take(seen)
                })
            },
            guarantee: |w, s| {
                ensure(
                    s.hooks.len() == 2
                        && s.hooks
                            .iter()
                            .all(|(_, a)| a.status == HookStatus::Succeeded)
                        && w.load_runs.is_empty()
                        && w.items.is_empty(),
                    || {
                        format!(
                            "answers {:?}; load {:?}; items {}",
                            s.hooks
                                .iter()
                                .map(|(l, a)| (l, &a.status))
                                .collect::<Vec<_>>(),
                            w.load_runs,
                            w.items.len()
                        )
                    },
                )
            },
        },
        // H6: a payload with fields the provider does not know and without the weights.
        Row {
            name: "H6",
            setup: nothing,
            script: none,
            events: |world| {
                Box::pin(async move {
                    let seen = Arc::new(Mutex::new(Seen::default()));
                    let mut raw =
                        hook_event("POST_TEST_TRAFFIC_SHIFT", REV1, hook_settings(60, None));
                    raw["deploymentCircuitBreaker"] = json!({ "enabled": true });
                    raw["executionDetails"]["sourceServiceRevisionArns"] = json!([REV2]);
                    let d = raw["executionDetails"].as_object_mut().expect("object");
                    d.remove("testTrafficWeights");
                    d.remove("productionTrafficWeights");
                    match serde_json::from_value::<HookEvent>(raw.clone()) {
                        Ok(_) => ecs_hook(&world, raw, 12, "hook", &seen, no_between).await,
                        Err(e) => seen
                            .lock()
                            .unwrap()
                            .marks
                            .insert("parse_error", e.to_string().len())
                            .map_or((), |_| ()),
                    }
                    take(seen)
                })
            },
            guarantee: |w, s| {
                ensure(!s.marks.contains_key("parse_error"), || {
                    "the payload was refused".into()
                })?;
                let last = last_hook(s, "hook");
                ensure(last_succeeded(&last) && load_ms(w) == 60_000, || {
                    format!("last {last:?}; load {:?}", w.load_runs)
                })
            },
        },
        // H7: ECS rolls back and invokes TEST_TRAFFIC_SHIFT (a gate stage here) for the old
        // revision; every deployment read is throttled.
        Row {
            name: "H7",
            setup: |w| w.deployment_status = "ROLLBACK_IN_PROGRESS".into(),
            script: || vec![Scripted::on("service_deployments", 0, Fate::Throttle)],
            events: |world| {
                Box::pin(hook_run(
                    world,
                    "TEST_TRAFFIC_SHIFT",
                    hook_settings(60, None),
                    3,
                    no_between,
                ))
            },
            guarantee: |w, s| {
                ensure(w.lease_claims == 0 && w.load_runs.is_empty(), || {
                    format!(
                        "{} leases, load {:?} during a rollback",
                        w.lease_claims, w.load_runs
                    )
                })?;
                ensure(
                    s.hooks.iter().all(|(_, a)| a.status != HookStatus::Failed),
                    || {
                        format!(
                            "answered FAILED during a rollback for a throttle: {:?}",
                            s.hooks.iter().map(|(_, a)| &a.reason).collect::<Vec<_>>()
                        )
                    },
                )
            },
        },
        // G1: an Update while the stack is UPDATE_ROLLBACK_IN_PROGRESS.
        Row {
            name: "G1",
            setup: |w| w.stack_status = "UPDATE_ROLLBACK_IN_PROGRESS".into(),
            script: none,
            events: |world| Box::pin(gate_update_skipped(world, "rollback")),
            guarantee: |w, s| skipped_without_load(w, s, "rollback"),
        },
        // G2: the gate's Update ran and answered; Lambda delivers it again five minutes later,
        // while the stack is UPDATE_COMPLETE_CLEANUP_IN_PROGRESS.
        Row {
            name: "G2",
            setup: nothing,
            script: none,
            events: |world| {
                Box::pin(gate_update_again(
                    world,
                    (60, 30),
                    "first",
                    "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
                    300,
                    None,
                ))
            },
            guarantee: |w, s| {
                ensure(
                    s.status("first") == "SUCCESS" && w.load_runs.len() == 1,
                    || format!("first {:?}; load runs {:?}", s.answer("first"), w.load_runs),
                )?;
                ensure(s.status("late") == "SUCCESS", || {
                    format!("the late duplicate answered {:?}", s.answer("late"))
                })
            },
        },
        // G3: an Update (a late rollback delivery) while UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS.
        Row {
            name: "G3",
            setup: |w| w.stack_status = "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS".into(),
            script: none,
            events: |world| Box::pin(gate_update_skipped(world, "late-rollback")),
            guarantee: |w, s| skipped_without_load(w, s, "late-rollback"),
        },
        // G4: ServiceTimeout 200 s; the new revision never becomes the primary deployment.
        Row {
            name: "G4",
            setup: |w| {
                w.set_desired("users", 1);
                w.deployments.insert(
                    "users".into(),
                    vec![aws_sdk_ecs::types::Deployment::builder()
                        .status("PRIMARY")
                        .task_definition(
                            "arn:aws:ecs:us-east-1:123456789012:task-definition/users:6",
                        )
                        .rollout_state(aws_sdk_ecs::types::DeploymentRolloutState::Completed)
                        .desired_count(1)
                        .running_count(1)
                        .build()],
                );
            },
            script: none,
            events: |world| {
                Box::pin(async move {
                    let seen = Arc::new(Mutex::new(Seen::default()));
                    let start = Instant::now();
                    let mut props = gate_props(60);
                    props["ServiceTimeout"] = json!("200");
                    props["TaskDefinitionArn"] =
                        json!("arn:aws:ecs:us-east-1:123456789012:task-definition/users:7");
                    props["Cluster"] = json!("apps");
                    props["ServiceName"] = json!("users");
                    created(&world, &seen, GATE, (STACK, "Gate"), props, start).await;
                    take(seen)
                })
            },
            guarantee: |w, s| {
                let at = s.cr.first().map(|(_, _, t)| *t);
                ensure(
                    s.cr.len() == 1
                        && s.status("create") == "FAILED"
                        && at.is_some_and(|t| t <= 140.0)
                        && w.load_runs.is_empty(),
                    || {
                        format!("answered {:?} at {at:?} s (ServiceTimeout 200 s: due by 140 s); load {:?}",
                        s.answer("create").map(|b| b["Reason"].clone()), w.load_runs)
                    },
                )
            },
        },
        // G5: a Create delivered again 5 s later, while the first measures.
        Row {
            name: "G5",
            setup: nothing,
            script: none,
            events: |world| {
                Box::pin(async move {
                    let seen = Arc::new(Mutex::new(Seen::default()));
                    let start = Instant::now();
                    let ev = gate_create();
                    let (w, s, e) = (world.clone(), seen.clone(), ev.clone());
                    let first =
                        tokio::spawn(async move { answered(&w, &s, &e, "first", start).await });
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    answered(&world, &seen, &ev, "second", start).await;
                    first.await.expect("task");
                    take(seen)
                })
            },
            guarantee: |w, s| {
                ensure(
                    w.load_runs.len() == 1
                        && s.status("first") == "SUCCESS"
                        && s.status("second") == "SUCCESS",
                    || {
                        format!(
                            "load runs {:?}; answers {:?} / {:?}",
                            w.load_runs,
                            s.answer("first"),
                            s.answer("second")
                        )
                    },
                )
            },
        },
        // G6: an Update during UPDATE_ROLLBACK_IN_PROGRESS; the first three DescribeStacks are
        // throttled past the SDK's retries.
        Row {
            name: "G6",
            setup: |w| w.stack_status = "UPDATE_ROLLBACK_IN_PROGRESS".into(),
            script: || {
                (1..=3)
                    .map(|n| Scripted::on("describe_stacks", n, Fate::Throttle))
                    .collect()
            },
            events: |world| Box::pin(gate_update_skipped(world, "rollback")),
            guarantee: |w, s| skipped_without_load(w, s, "rollback"),
        },
        // G8: a rollback's Update answered Skipped; Lambda delivers it again after the stack
        // moved on to a new update (UPDATE_IN_PROGRESS).
        Row {
            name: "G8",
            setup: |w| w.stack_status = "UPDATE_ROLLBACK_IN_PROGRESS".into(),
            script: none,
            events: |world| rollback_again(world, None),
            guarantee: skipped_first_no_load,
        },
        // G8b: G8 with the gate's resource UPDATE_IN_PROGRESS again when the duplicate arrives
        // (the new update changes the gate too): only the skip's record tells.
        Row {
            name: "G8b",
            setup: |w| w.stack_status = "UPDATE_ROLLBACK_IN_PROGRESS".into(),
            script: none,
            events: |world| rollback_again(world, Some("UPDATE_IN_PROGRESS")),
            guarantee: skipped_first_no_load,
        },
        // G7: a Create with a field CloudFormation may add at the top level.
        Row {
            name: "G7",
            setup: nothing,
            script: none,
            events: |world| {
                Box::pin(async move {
                    let seen = Arc::new(Mutex::new(Seen::default()));
                    let mut ev = gate_create();
                    ev["SomeFieldCloudFormationAddsLater"] = json!({ "x": 1 });
                    answered(&world, &seen, &ev, "create", Instant::now()).await;
                    take(seen)
                })
            },
            guarantee: |w, s| {
                ensure(
                    s.status("create") == "SUCCESS" && w.load_runs.len() == 1,
                    || format!("answered {:?}; load {:?}", s.answer("create"), w.load_runs),
                )
            },
        },
    ]
}

fn known() -> Vec<String> {
    include_str!("../fresh3/known.txt")
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

/// Runs one row on its own paused-clock runtime.
fn run_row(row: &Row) -> Vec<Violation> {
    let out = harness::run_one(0, |seed, _logs| {
        let world: Shared = Arc::new(Mutex::new(World::new(seed, custom_resource::calm())));
        {
            let mut w = world.lock().unwrap();
            (row.setup)(&mut w);
            w.script = (row.script)();
        }
        let events = (row.events)(world.clone());
        let guarantee = row.guarantee;
        async move {
            let seen = events.await;
            let w = world.lock().unwrap();
            let mut v = match guarantee(&w, &seen) {
                Ok(()) => Vec::new(),
                Err(e) => vec![violation("fresh3.guarantee", e)],
            };
            // A scripted fault that never fired means the row did not produce its scenario.
            let fired = w.script.iter().enumerate().any(|(i, s)| {
                let seen = w.script_seen.get(i).copied().unwrap_or(0);
                seen >= s.nth.max(1)
            });
            if !w.script.is_empty() && !fired {
                v.push(violation(
                    "fresh3.scenario_produced",
                    format!("no scripted fault fired: {:?}", w.script),
                ));
            }
            drop(w);
            (v, world)
        }
    });
    out.violations
}

#[test]
fn fresh3_scenarios() {
    let only = std::env::var("FRESH3_ROW").ok();
    let known = known();
    let mut unexpected = Vec::new();
    for row in rows() {
        if only.as_deref().is_some_and(|o| o != row.name) {
            continue;
        }
        let violations = run_row(&row);
        let listed = known.iter().any(|k| k == row.name);
        for v in &violations {
            eprintln!("[fresh3 {}] {}: {}", row.name, v.invariant, v.detail);
        }
        match (violations.is_empty(), listed) {
            (true, false) => eprintln!("[fresh3 {}] holds", row.name),
            (false, true) => eprintln!("[fresh3 {}] known provider defect (known.txt)", row.name),
            (true, true) => unexpected.push(format!("{}: listed in known.txt but holds", row.name)),
            (false, false) => unexpected.push(format!("{}: {:?}", row.name, violations)),
        }
    }
    assert!(unexpected.is_empty(), "{}", unexpected.join("\n"));
}
