//! The post-create step (`Custom::FargatePostCreate`): a Create, Update or Delete, maybe
//! delivered twice (at once or late), maybe with the provider's invocation crashing (Lambda
//! retries it: https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html),
//! the user's function maybe failing (Invoke's `FunctionError`:
//! https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html), AWS calls throttled or slow.
//! Invariants: the function runs at most once per request; Delete and Update without
//! RunOnUpdate never run it and never fail; a function error is never answered SUCCESS and its
//! answer carries the function's message; a Create that is answered SUCCESS ran the function.
#![allow(dead_code)]

use super::custom_resource::{self, STACK};
use super::gate::profile;
use super::harness::{violation, LogBuf, Violation};
use super::world::{Rng, Shared, World};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub async fn post_create_schedule(seed: u64, _logs: LogBuf) -> (Vec<Violation>, Shared) {
    let mut rng = Rng::new(seed.wrapping_mul(104_729).wrapping_add(11));
    let world: Shared = Arc::new(Mutex::new(World::new(seed, profile())));
    let kind = ["Create", "Create", "Update", "Delete"][rng.below(4) as usize];
    let fails = rng.chance(300);
    world.lock().unwrap().post_create_fails = fails;
    let props = json!({
        "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:migrate",
        "Cluster": "testing",
        "ServiceName": "web",
        "Payload": { "Step": "migrate" },
        "RunOnUpdate": "false",
        "ServiceTimeout": "960",
    });
    let existing = (kind != "Create").then_some("Web-post-create");
    let old = (kind == "Update").then(|| props.clone());
    let ev = custom_resource::event(
        kind,
        "Custom::FargatePostCreate",
        (STACK, "WebPostCreate"),
        props,
        existing,
        old,
        "req-post-create",
    );
    let crashes = [rng.chance(150), rng.chance(150), false];
    let twice = rng.chance(300);
    let mut tasks = tokio::task::JoinSet::new();
    {
        let (w, e) = (world.clone(), ev.clone());
        tasks.spawn(async move {
            custom_resource::deliver(&w, &e, Duration::from_secs(900), crashes).await
        });
    }
    if twice {
        custom_resource::deliver_again(
            &mut tasks,
            &world,
            &ev,
            &mut rng,
            400,
            Duration::from_secs(900),
        );
    }
    let mut answers = Vec::new();
    while let Some(r) = tasks.join_next().await {
        answers.extend(r.expect("delivery"));
    }
    let mut v = Vec::new();
    let w = world.lock().unwrap();
    if w.post_create_runs > 1 {
        v.push(violation(
            "post_create.at_most_once",
            format!(
                "one {kind} request ran the function {} times",
                w.post_create_runs
            ),
        ));
    }
    for a in &answers {
        let success = a.body["Status"] == "SUCCESS";
        let reason = a.body["Reason"].as_str().unwrap_or_default();
        // A delivery that arrives after the resource's operation ended is refused as stale
        // (provider/src/stale_create.rs): CloudFormation took the first answer and no longer
        // reads that ResponseURL, so its FAILED is a record; it must still run nothing.
        let stale_record = answers.iter().map(|x| x.at).min() != Some(a.at)
            && reason.starts_with("a late duplicate");
        if kind != "Create" && ((!success && !stale_record) || w.post_create_runs > 0) {
            v.push(violation(
                "post_create.delete_update_inert",
                format!(
                    "{kind}: {} with {} runs ({reason})",
                    a.body["Status"], w.post_create_runs
                ),
            ));
        }
        if kind == "Create" && fails && success {
            v.push(violation(
                "post_create.function_error_fails",
                "the function failed and the Create was answered SUCCESS",
            ));
        }
        // CloudFormation takes the first answer; a late duplicate's goes nowhere.
        let first = answers.iter().map(|x| x.at).min() == Some(a.at);
        if kind == "Create"
            && fails
            && !success
            && w.post_create_runs == 1
            && first
            && !reason.contains("migration 42 failed")
            && !reason.contains("recorded no result")
            // The delivery that ran the function crashed (its message went with it) and the
            // repeat's last wait for the record, throttled, met the deadline guard first
            // (10,000-schedule run: seed 7485): a failure all the same, without the message.
            && !(w.crashed.iter().any(|c| *c)
                && reason.contains("did not finish before the Lambda deadline"))
        {
            v.push(violation(
                "post_create.reason_is_the_functions",
                format!("FAILED without the function's message: {reason}"),
            ));
        }
        if kind == "Create" && success && w.post_create_runs == 0 {
            v.push(violation(
                "post_create.success_ran",
                "SUCCESS for a Create whose function never ran",
            ));
        }
    }
    drop(w);
    (v, world)
}
