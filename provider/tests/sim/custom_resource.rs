//! A CloudFormation custom-resource invocation in the simulation, and the slot claims
//! (`Custom::FargateListenerPort`, `Custom::FargateListenerRule`) under faults.
#![allow(dead_code)]

use super::harness::{violation, LogBuf, Violation};
use super::world::{self, Fault, LState, Profile, RState, Rng, Shared, World};
use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceRequest as CfnRequest;
use fargate_provider::{respond, Request};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

pub const STACK: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/app/1";
pub const OTHER_STACK: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/other/2";
pub const LB: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/shared/1";
pub const TG: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/app/1";
/// The pre-signed URL's query is what must never reach a log. `file:` makes reqwest refuse the
/// PUT without any I/O, so the answer is the body `respond::run` built (its `Delivery.body`).
pub const RESPONSE_URL: &str = "file:///cfn-response?X-Amz-Signature=sim-signature";

/// One answer PUT to the ResponseURL.
#[derive(Debug, Clone)]
pub struct Answer {
    pub body: Value,
    pub bytes: usize,
    /// When the first PUT was made (the handler ended or was cut).
    pub at: Instant,
}

/// Records when it is dropped: the moment the handler finished or was aborted, after which
/// `respond::run` PUTs at once.
struct Stamp(Arc<Mutex<Option<Instant>>>);

impl Drop for Stamp {
    fn drop(&mut self) {
        let mut g = self.0.lock().unwrap();
        if g.is_none() {
            *g = Some(Instant::now());
        }
    }
}

/// A CloudFormation request for the resource `(stack, logical ID)`.
pub fn event(
    kind: &str,
    resource_type: &str,
    (stack, logical): (&str, &str),
    props: Value,
    physical: Option<&str>,
    old: Option<Value>,
    request_id: &str,
) -> Value {
    let mut v = json!({
        "RequestType": kind,
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:provider",
        "ResponseURL": RESPONSE_URL,
        "StackId": stack,
        "RequestId": request_id,
        "ResourceType": resource_type,
        "LogicalResourceId": logical,
        "ResourceProperties": props,
    });
    if let Some(p) = physical {
        v["PhysicalResourceId"] = Value::String(p.into());
    }
    if let Some(o) = old {
        v["OldResourceProperties"] = o;
    }
    v
}

/// One Lambda invocation of the provider for a custom-resource event, as `handle_event` runs it
/// (parse, `ServiceTimeout` budget, `dispatch` under `respond::run`). None when the process
/// crashed (no answer) or the answer would come after the Lambda's own timeout.
pub async fn invoke(
    world: &Shared,
    event: &Value,
    lambda_timeout: Duration,
    crash: bool,
) -> Option<Answer> {
    let inv = {
        let mut w = world.lock().unwrap();
        w.cloudformation_sends(event);
        w.invocation(crash)
    };
    let clients = Arc::new(world::clients(world, inv));
    let cfn: CfnRequest = serde_json::from_value(event.clone()).expect("a well-formed event");
    let req: Request = cfn.into();
    let lambda_deadline = Instant::now() + lambda_timeout;
    let deadline = respond::service_budget(&req)
        .and_then(|t| Instant::now().checked_add(t))
        .map_or(lambda_deadline, |t| t.min(lambda_deadline));
    let stamp = Arc::new(Mutex::new(None));
    let (c, r, s) = (clients.clone(), req.clone(), stamp.clone());
    let fut = async move {
        let _stamp = Stamp(s);
        fargate_provider::dispatch(c, r, deadline).await
    };
    let run = respond::run(&req, deadline, &clients.http, fut);
    // A crashed process ends its invocation there and then (Lambda then counts it failed and
    // retries it), rather than when its hung handler would have been cut.
    let crashed = async {
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if world.lock().unwrap().crashed[inv] {
                return;
            }
        }
    };
    let d = tokio::select! {
        d = run => d,
        _ = crashed => return None,
    };
    let at = stamp.lock().unwrap().expect("stamped");
    if world.lock().unwrap().crashed[inv] || at > lambda_deadline {
        return None;
    }
    let body: Value = serde_json::from_str(&d.body).expect("JSON body");
    world
        .lock()
        .unwrap()
        .cloudformation_answered(event, body["Status"].as_str().unwrap_or_default());
    Some(Answer {
        body,
        bytes: d.body.len(),
        at,
    })
}

/// Lambda's asynchronous invocation: a crashed attempt is retried twice, 1 and 2 minutes later
/// (Lambda developer guide, "Error handling and automatic retries in asynchronous invocation").
/// Delivers `event` a second time (Lambda's asynchronous queue may deliver an event more than
/// once: https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html):
/// late (60-660 s after, `late_per_mille` of the time) or within 2 s, overlapping the first;
/// counts the faults. Used by the gate and post-create families.
pub fn deliver_again(
    tasks: &mut tokio::task::JoinSet<Vec<Answer>>,
    world: &Shared,
    event: &Value,
    rng: &mut Rng,
    late_per_mille: u64,
    lambda_timeout: Duration,
) {
    let late = rng.chance(late_per_mille);
    let at = if late {
        Duration::from_secs(60 + rng.below(600))
    } else {
        rng.ms(2_000)
    };
    {
        let mut w = world.lock().unwrap();
        w.count(Fault::Duplicate);
        w.count(if late { Fault::Late } else { Fault::Concurrent });
    }
    let (w, e) = (world.clone(), event.clone());
    tasks.spawn(async move {
        tokio::time::sleep(at).await;
        deliver(&w, &e, lambda_timeout, [false; 3]).await
    });
}

pub async fn deliver(
    world: &Shared,
    event: &Value,
    lambda_timeout: Duration,
    crashes: [bool; 3],
) -> Vec<Answer> {
    let mut out = Vec::new();
    for (i, crash) in crashes.iter().enumerate() {
        if i > 0 {
            tokio::time::sleep(Duration::from_secs(60 * i as u64)).await;
        }
        match invoke(world, event, lambda_timeout, *crash).await {
            Some(a) => {
                out.push(a);
                return out;
            }
            None => continue,
        }
    }
    out
}

const STACK_TAG: &str = "fargate-app:stack-id";
const LOGICAL_TAG: &str = "fargate-app:logical-id";

fn owner_tags(stack: &str, logical: &str) -> Vec<(String, String)> {
    vec![
        (STACK_TAG.into(), stack.into()),
        (LOGICAL_TAG.into(), logical.into()),
    ]
}

fn owned_by(tags: &[(String, String)], stack: &str, logical: &str) -> bool {
    let has = |k: &str, v: &str| tags.iter().any(|(a, b)| a == k && b == v);
    has(STACK_TAG, stack) && has(LOGICAL_TAG, logical)
}

/// Listeners or rules the world holds for one owner (by their real tags, lag or not).
pub fn holders_of(w: &World, stack: &str, logical: &str) -> Vec<String> {
    let mut out: Vec<String> = w
        .listeners
        .iter()
        .filter(|(_, l)| owned_by(&l.tags, stack, logical))
        .map(|(a, _)| a.clone())
        .collect();
    out.extend(
        w.rules
            .iter()
            .filter(|(_, r)| owned_by(&r.tags, stack, logical))
            .map(|(a, _)| a.clone()),
    );
    out
}

fn fingerprint(w: &World, stack: &str) -> Vec<String> {
    let mut out: Vec<String> = w
        .listeners
        .iter()
        .filter(|(_, l)| l.tags.iter().any(|(k, v)| k == STACK_TAG && v == stack))
        .map(|(a, l)| format!("{a}:{}:{:?}", l.port, l.actions))
        .collect();
    out.extend(
        w.rules
            .iter()
            .filter(|(_, r)| r.tags.iter().any(|(k, v)| k == STACK_TAG && v == stack))
            .map(|(a, r)| format!("{a}:{}:{:?}", r.priority, r.actions)),
    );
    out
}

/// Which of Lambda's three attempts crash (10% each).
pub fn crashes(rng: &mut Rng) -> [bool; 3] {
    [rng.chance(100), rng.chance(100), rng.chance(100)]
}

pub fn faulty() -> Profile {
    Profile {
        throttle: 25,
        after_effect: 25,
        slow: 80,
        slow_ms: 4_000,
        hang: 0,
        tag_lag_ms: 5_000,
    }
}

pub fn calm() -> Profile {
    Profile {
        throttle: 0,
        after_effect: 0,
        slow: 0,
        slow_ms: 0,
        hang: 0,
        tag_lag_ms: 0,
    }
}

/// One claim schedule: a Create (delivered once, twice at once or late; crashing or not;
/// raced by another stack's claim) under throttling, errors after success, tag lag and latency;
/// then CloudFormation's follow-up (the rollback Delete after FAILED, or an Update that replaces
/// the holder and the cleanup Delete of the old one).
pub async fn claim_schedule(seed: u64, _logs: LogBuf) -> (Vec<Violation>, Shared) {
    let mut rng = Rng::new(seed.wrapping_mul(31).wrapping_add(7));
    let world: Shared = Arc::new(Mutex::new(World::new(seed, faulty())));
    let rule = rng.chance(500);
    let listener = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shared/1/0";
    let (rtype, low) = if rule {
        ("Custom::FargateListenerRule", 1)
    } else {
        ("Custom::FargateListenerPort", 8000)
    };
    {
        let mut w = world.lock().unwrap();
        if rule {
            w.listeners.insert(
                listener.into(),
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
        // Another stack's holders on some numbers of the range.
        let mut taken = std::collections::BTreeSet::new();
        for _ in 0..rng.below(5) {
            let n = low + rng.below(6) as i32;
            if !taken.insert(n) {
                continue;
            }
            let arn = w.arn(if rule { "listener-rule" } else { "listener" });
            let tags = owner_tags(OTHER_STACK, "Api");
            let actions = vec![fargate_provider::slot::forward(
                "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/other/2",
            )];
            if rule {
                w.rules.insert(
                    arn,
                    RState {
                        priority: n,
                        listener: listener.into(),
                        actions,
                        tags,
                        tags_visible_at: Instant::now(),
                    },
                );
            } else {
                w.listeners.insert(
                    arn,
                    LState {
                        port: n,
                        lb: LB.into(),
                        settings: "other".into(),
                        actions,
                        tags,
                        tags_visible_at: Instant::now(),
                    },
                );
            }
        }
    }
    let others_before = fingerprint(&world.lock().unwrap(), OTHER_STACK);
    let range = |from: i32| format!("{}-{}", from, from + 40);
    let props = |from: i32| {
        let mut p = json!({ "TargetGroupArn": TG, "ServiceTimeout": "600" });
        if rule {
            p["ListenerArn"] = json!(listener);
            p["PriorityRange"] = json!(range(from));
            p["Conditions"] = json!([{ "Field": "path-pattern", "PathPatternConfig": { "Values": ["/users*"] } }]);
        } else {
            p["LoadBalancerArn"] = json!(LB);
            p["PortRange"] = json!(range(from));
        }
        p
    };
    let logical = "UsersRoute";
    let create = event(
        "Create",
        rtype,
        (STACK, logical),
        props(low),
        None,
        None,
        "req-create",
    );
    let timeout = Duration::from_secs([60, 300, 900][rng.below(3) as usize]);
    let first = crashes(&mut rng);
    let duplicate = rng.chance(250).then(|| {
        let late = rng.chance(400);
        let at = if late {
            Duration::from_secs(60 + rng.below(300))
        } else {
            rng.ms(3_000)
        };
        (at, late)
    });
    let second = crashes(&mut rng);
    let rival = rng.chance(300);
    let started = Instant::now();
    {
        let mut w = world.lock().unwrap();
        if let Some((_, late)) = duplicate {
            w.count(Fault::Duplicate);
            w.count(if late { Fault::Late } else { Fault::Concurrent });
        }
        if rival {
            w.count(Fault::Concurrent);
        }
    }
    let mut tasks = tokio::task::JoinSet::new();
    {
        let (w, e) = (world.clone(), create.clone());
        tasks.spawn(async move { deliver(&w, &e, timeout, first).await });
    }
    if let Some((at, _)) = duplicate {
        let (w, e) = (world.clone(), create.clone());
        tasks.spawn(async move {
            tokio::time::sleep(at).await;
            deliver(&w, &e, timeout, second).await
        });
    }
    let rival_event = event(
        "Create",
        rtype,
        (OTHER_STACK, "Api2"),
        props(low),
        None,
        None,
        "req-rival",
    );
    let rival_task = rival.then(|| {
        let w = world.clone();
        tokio::spawn(async move { deliver(&w, &rival_event, timeout, [false; 3]).await })
    });
    let mut answers: Vec<Answer> = Vec::new();
    while let Some(r) = tasks.join_next().await {
        answers.extend(r.expect("delivery task"));
    }
    if let Some(t) = rival_task {
        t.await.expect("rival");
    }
    answers.sort_by_key(|a| a.at);
    let mut v = Vec::new();
    for a in &answers {
        if a.bytes > respond::MAX_BODY_BYTES {
            v.push(violation(
                "cr.body_within_4096",
                format!("{} bytes", a.bytes),
            ));
        }
    }
    let all_crashed =
        first.iter().all(|c| *c) && duplicate.is_none_or(|_| second.iter().all(|c| *c));
    let Some(answer) = answers.first().cloned() else {
        if !all_crashed {
            v.push(violation("cr.answered", "no answer reached CloudFormation"));
        }
        return (v, world);
    };
    if answer.at > started + Duration::from_secs(600) {
        v.push(violation(
            "cr.answered",
            format!(
                "answered {:?} after the request, past its ServiceTimeout of 600 s",
                answer.at - started
            ),
        ));
    }
    let status = answer.body["Status"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let physical = answer.body["PhysicalResourceId"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    // What follows is CloudFormation's, without injected errors: a Delete that fails would be
    // DELETE_FAILED (visible), not a silent leak; the invariants are about what succeeds.
    world.lock().unwrap().profile = calm();
    let delete = |physical: &str, request_id: &str| {
        let del = event(
            "Delete",
            rtype,
            (STACK, logical),
            props(low),
            Some(physical),
            None,
            request_id,
        );
        let w = world.clone();
        async move { deliver(&w, &del, timeout, [false; 3]).await }
    };
    if status == "FAILED" {
        let d = delete(&physical, "req-rollback").await;
        let ok = d.first().map(|a| a.body["Status"] == "SUCCESS");
        let left = holders_of(&world.lock().unwrap(), STACK, logical);
        if ok == Some(true) && !left.is_empty() {
            v.push(violation(
                "cr.rollback_leaves_nothing",
                format!(
                    "Create answered FAILED ({}), physical ID {physical}; after the rollback Delete {} still exist: {left:?}",
                    answer.body["Reason"], left.len()
                ),
            ));
        }
    } else {
        let held = holders_of(&world.lock().unwrap(), STACK, logical);
        if held != vec![physical.clone()] {
            let lagged = world.lock().unwrap().faults.contains_key(&Fault::TagLag);
            let name = if duplicate.is_some() && !lagged {
                // No tag lag to blame: the second delivery lost the race for the number and
                // claimed another one.
                "cr.concurrent_replay_acts_once"
            } else if duplicate.is_some() {
                "cr.replay_acts_once"
            } else {
                "cr.one_holder_after_success"
            };
            v.push(violation(
                name,
                format!(
                    "answered SUCCESS with {physical}; the ALB holds for this resource {held:?}"
                ),
            ));
        } else if rng.chance(400) {
            // An Update that replaces the holder (a new range), then the cleanup Delete.
            let upd = event(
                "Update",
                rtype,
                (STACK, logical),
                props(low + 100),
                Some(&physical),
                Some(props(low)),
                "req-update",
            );
            let u = deliver(&world, &upd, timeout, [false; 3]).await;
            if let Some(a) = u.first().filter(|a| a.body["Status"] == "SUCCESS") {
                let new_id = a.body["PhysicalResourceId"].as_str().unwrap_or_default();
                if new_id != physical {
                    delete(&physical, "req-cleanup").await;
                }
                let held = holders_of(&world.lock().unwrap(), STACK, logical);
                if held != vec![new_id.to_string()] {
                    v.push(violation(
                        "cr.replacement_leaves_new_holder",
                        format!(
                            "after replacement {physical} -> {new_id} and cleanup, held {held:?}"
                        ),
                    ));
                }
            }
        }
    }
    let others_after: Vec<String> = fingerprint(&world.lock().unwrap(), OTHER_STACK)
        .into_iter()
        .filter(|f| others_before.contains(f))
        .collect();
    if others_after.len() != others_before.len() {
        v.push(violation(
            "ownership.others_untouched",
            "another stack's listener or rule was changed or deleted",
        ));
    }
    let held = holders_of(&world.lock().unwrap(), STACK, logical);
    if status == "SUCCESS" && held == vec![physical.clone()] {
        v.extend(late_update_duplicate(&world, seed, rtype, &physical, props(low), timeout).await);
    }
    let held = holders_of(&world.lock().unwrap(), STACK, logical);
    if !rule && status == "SUCCESS" && held == vec![physical.clone()] {
        let port = answer.body["Data"]["Port"].as_str().unwrap_or_default();
        v.extend(next_branch(&world, seed, &physical, port.parse().unwrap_or(0), timeout).await);
    }
    (v, world)
}

/// A late duplicate of an Update, after the schedule's claim (one schedule in three): two
/// Updates in place (the forward moves to a second target group, then a third), or an Update
/// that replaces the holder (a new range) followed by the cleanup (the old holder deleted, or,
/// when the stack rolled back, the new one). Lambda then delivers the first Update's event
/// again, 60 to 660 s later ("the same event ... more than once", late:
/// https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html), while the
/// resource reads UPDATE_COMPLETE or, in one of three, UPDATE_IN_PROGRESS (a later update of it
/// under way; resource statuses:
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackResource.html).
/// Invariant `cr.late_update_acts_on_nothing`: the resource holds exactly the holder
/// CloudFormation holds, forwarding where the stack's last Update says. Its own generator, so
/// the schedule's earlier draws stay as they were.
async fn late_update_duplicate(
    world: &Shared,
    seed: u64,
    rtype: &str,
    physical: &str,
    props: Value,
    timeout: Duration,
) -> Vec<Violation> {
    let mut rng = Rng::new(seed ^ 0x5eed_0005);
    if !rng.chance(333) {
        return Vec::new();
    }
    let logical = "UsersRoute";
    let to = |tg: &str| {
        let mut p = props.clone();
        p["TargetGroupArn"] = json!(tg);
        p
    };
    let (tg2, tg3) = (format!("{TG}-second"), format!("{TG}-third"));
    let replace = rng.chance(500);
    let rolled_back = replace && rng.chance(500);
    let in_progress = rng.chance(333);
    let at = Duration::from_secs(60 + rng.below(601));
    let update = |new: Value, old: Value, physical: &str, id: &str| {
        event(
            "Update",
            rtype,
            (STACK, logical),
            new,
            Some(physical),
            Some(old),
            id,
        )
    };
    let first_id = |answers: &[Answer]| {
        answers
            .first()
            .filter(|a| a.body["Status"] == "SUCCESS")
            .and_then(|a| a.body["PhysicalResourceId"].as_str().map(String::from))
    };
    let first = if replace {
        let mut p = to(&tg2);
        for k in ["PriorityRange", "PortRange"] {
            if p.get(k).is_some() {
                p[k] = json!(if k == "PortRange" {
                    "8300-8340"
                } else {
                    "300-340"
                });
            }
        }
        update(p, props.clone(), physical, "req-late-update-1")
    } else {
        update(to(&tg2), props.clone(), physical, "req-late-update-1")
    };
    let Some(p1) = first_id(&deliver(world, &first, timeout, [false; 3]).await) else {
        return Vec::new();
    };
    // What CloudFormation holds at the end, and where it forwards.
    let (held, forwards) = if replace {
        let (gone, kept) = if rolled_back {
            (p1.clone(), physical.to_string())
        } else {
            (physical.to_string(), p1.clone())
        };
        let cleanup = event(
            "Delete",
            rtype,
            (STACK, logical),
            props.clone(),
            Some(&gone),
            None,
            "req-late-cleanup",
        );
        deliver(world, &cleanup, timeout, [false; 3]).await;
        // The cleanup deletes a physical resource, not the logical one.
        world.lock().unwrap().cfn_resources.insert(
            (STACK.into(), logical.into()),
            if rolled_back {
                "UPDATE_ROLLBACK_COMPLETE".into()
            } else {
                "UPDATE_COMPLETE".into()
            },
        );
        let tg = if rolled_back { TG } else { tg2.as_str() };
        (kept, tg.to_string())
    } else {
        let second = update(to(&tg3), to(&tg2), &p1, "req-late-update-2");
        match first_id(&deliver(world, &second, timeout, [false; 3]).await) {
            Some(p2) => (p2, tg3.clone()),
            None => return Vec::new(),
        }
    };
    tokio::time::sleep(at).await;
    {
        let mut w = world.lock().unwrap();
        w.count(Fault::Duplicate);
        w.count(Fault::Late);
        if in_progress {
            w.cfn_resources
                .insert((STACK.into(), logical.into()), "UPDATE_IN_PROGRESS".into());
        }
    }
    let late = deliver(world, &first, timeout, [false; 3]).await;
    let w = world.lock().unwrap();
    let now = holders_of(&w, STACK, logical);
    let targets = w
        .listeners
        .get(&held)
        .map(|l| &l.actions)
        .or_else(|| w.rules.get(&held).map(|r| &r.actions))
        .map(|a| fargate_provider::slot::forward_targets(a))
        .unwrap_or_default();
    if now != vec![held.clone()] || !targets.iter().any(|(tg, _)| *tg == forwards) {
        let how = match (replace, rolled_back) {
            (false, _) => "two Updates in place",
            (true, false) => "a replacing Update and its cleanup",
            (true, true) => "a replacing Update rolled back",
        };
        return vec![violation(
            "cr.late_update_acts_on_nothing",
            format!(
                "after {how}, the first Update delivered again {at:?} later (resource {}; answered {:?}): \
                 CloudFormation holds {held} forwarding to {forwards}; the ALB holds {now:?} forwarding to {targets:?}",
                if in_progress { "UPDATE_IN_PROGRESS" } else { "UPDATE_COMPLETE" },
                late.first().map(|a| &a.body["Status"])
            ),
        )];
    }
    Vec::new()
}

/// `PortChoice: LeastRecentlyUsed` after the schedule's claim: the branch's stack is deleted,
/// then another branch's stack claims a port. The freed port goes to it only when nothing else
/// of its range is free. Its own generator and a copy of the ALB's listeners, so the seeds'
/// draws and the schedule's world (which named seeds inspect) stay as they were.
async fn next_branch(
    schedule: &Shared,
    seed: u64,
    physical: &str,
    freed: u32,
    timeout: Duration,
) -> Vec<Violation> {
    let world: &Shared = &Arc::new(Mutex::new(World::new(seed, calm())));
    world.lock().unwrap().listeners = schedule.lock().unwrap().listeners.clone();
    let mut rng = Rng::new(seed ^ 0x5eed_0004);
    // One schedule in four leaves the next branch only the freed port.
    let exhausted = rng.chance(250);
    let range = if exhausted {
        format!("{freed}-{freed}")
    } else {
        "8000-8040".to_string()
    };
    let props = |range: &str| {
        json!({ "TargetGroupArn": TG, "ServiceTimeout": "600", "LoadBalancerArn": LB,
                "PortRange": range, "PortChoice": "LeastRecentlyUsed" })
    };
    let rtype = "Custom::FargateListenerPort";
    let del = event(
        "Delete",
        rtype,
        (STACK, "UsersRoute"),
        props("8000-8040"),
        Some(physical),
        None,
        "req-branch-deleted",
    );
    let d = deliver(world, &del, timeout, [false; 3]).await;
    if d.first().map(|a| a.body["Status"] == "SUCCESS") != Some(true) {
        return vec![violation("cr.delete_answered_success", format!("{d:?}"))];
    }
    let next_stack = "arn:aws:cloudformation:us-east-1:123456789012:stack/next-branch/3";
    let create = event(
        "Create",
        rtype,
        (next_stack, "BranchRoute"),
        props(&range),
        None,
        None,
        "req-next-branch",
    );
    let c = deliver(world, &create, timeout, [false; 3]).await;
    let Some(a) = c.first() else {
        return vec![violation(
            "cr.answered",
            "the next branch's Create got no answer",
        )];
    };
    let got: u32 = a.body["Data"]["Port"]
        .as_str()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    match (exhausted, a.body["Status"] == "SUCCESS") {
        (false, true) if got == freed => vec![violation(
            "claims.freed_port_not_reused_at_once",
            format!("port {freed} was freed by a Delete and went to the next Create of the schedule while 8000-8040 had other free ports"),
        )],
        (true, ok) if !ok || got != freed => vec![violation(
            "claims.freed_port_used_when_range_exhausted",
            format!("the range {range} holds only the freed port; the next Create answered {}", a.body),
        )],
        (false, false) => vec![violation(
            "claims.next_branch_claims",
            format!("the next branch's Create failed: {}", a.body["Reason"]),
        )],
        _ => Vec::new(),
    }
}
