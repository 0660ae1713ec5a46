//! The load-test gate custom resource (`Custom::FargateLoadTestGate`): a Create or an Update
//! (CloudFormation's DescribeStacks tells a rollback apart), maybe delivered twice, with a
//! `Duration` that may not fit the invocation, its load sent through the worker function
//! (`world::lambda_client` answers each worker with a passing report of the asked duration).
#![allow(dead_code)]

use super::custom_resource::{self, STACK};
use super::harness::{violation, LogBuf, Violation};
use super::world::{Fault, Profile, Rng, Shared, World};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Throttling and slow calls, no after-effects, hangs or tag lag (also the post-create family's).
pub fn profile() -> Profile {
    Profile {
        throttle: 20,
        after_effect: 0,
        slow: 50,
        slow_ms: 3_000,
        hang: 0,
        tag_lag_ms: 0,
    }
}

pub async fn gate_schedule(seed: u64, _logs: LogBuf) -> (Vec<Violation>, Shared) {
    let mut rng = Rng::new(seed.wrapping_mul(7919).wrapping_add(5));
    let world: Shared = Arc::new(Mutex::new(World::new(seed, profile())));
    let update = rng.chance(600);
    let denied = update && rng.chance(150);
    {
        let mut w = world.lock().unwrap();
        w.stacks_denied = denied;
        if denied {
            w.count(Fault::ConfigError);
        }
        if update && rng.chance(100) {
            w.stack_status = "UPDATE_ROLLBACK_IN_PROGRESS".into();
        }
    }
    let rolling_back = world.lock().unwrap().stack_status.contains("ROLLBACK");
    let duration = 30 + rng.below(1200);
    let timeout = Duration::from_secs([300, 900][rng.below(2) as usize]);
    let props = json!({
        "Url": "http://internal-app.elb.test/health",
        "Rate": "10",
        "Duration": duration.to_string(),
        "WarmUp": "0",
        "WorkerFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:app-load-worker",
        "ServiceTimeout": "3600",
    });
    let kind = if update { "Update" } else { "Create" };
    let ev = custom_resource::event(
        kind,
        "Custom::FargateLoadTestGate",
        (STACK, "Gate"),
        props.clone(),
        update.then_some("Gate-load-test-gate"),
        update.then(|| props.clone()),
        "req-gate",
    );
    let twice = rng.chance(250);
    let mut tasks = tokio::task::JoinSet::new();
    {
        let (w, e) = (world.clone(), ev.clone());
        tasks.spawn(async move { custom_resource::deliver(&w, &e, timeout, [false; 3]).await });
    }
    if twice {
        custom_resource::deliver_again(&mut tasks, &world, &ev, &mut rng, 500, timeout);
    }
    let mut answers = Vec::new();
    while let Some(r) = tasks.join_next().await {
        answers.extend(r.expect("delivery"));
    }
    let mut v = Vec::new();
    let w = world.lock().unwrap();
    let wanted_ms = duration * 1000;
    for a in &answers {
        let success = a.body["Status"] == "SUCCESS";
        let skipped = a.body["Data"].get("Skipped").is_some();
        if success && !skipped && !w.load_runs.iter().any(|ms| *ms >= wanted_ms) {
            v.push(violation(
                "gate.never_passes_shortened",
                format!(
                    "SUCCESS for a {duration} s test; load sent for {:?} ms ({})",
                    w.load_runs, a.body["Data"]
                ),
            ));
        }
        if denied && success {
            v.push(violation(
                "gate.fails_closed",
                format!(
                    "DescribeStacks denied, answered SUCCESS: {}",
                    a.body["Data"]
                ),
            ));
        }
    }
    if w.load_runs.len() > 1 {
        v.push(violation(
            "gate.load_sent_once",
            format!(
                "one request, {} load runs ({} delivered twice)",
                w.load_runs.len(),
                kind
            ),
        ));
    }
    if rolling_back && !w.load_runs.is_empty() {
        v.push(violation(
            "gate.rollback_no_load",
            "load sent while the stack rolls back",
        ));
    }
    drop(w);
    (v, world)
}
