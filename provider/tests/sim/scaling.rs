//! The scaling check custom resource (`Custom::FargateScalingCheck`): a Create, an Update (with
//! `Run` OnCreate or OnChange, its `RunToken` changed or not) or a Delete, maybe delivered twice,
//! whose load goes through the worker function (`world::lambda_client` records each run in
//! `load_runs` and answers at once), while the service's desired count rises, or not:
//! - target tracking's scale-out: the fake sets the desired count to 2 three one-minute
//!   datapoints after the load started (the high alarm's datapoints:
//!   https://docs.aws.amazon.com/autoscaling/application/userguide/target-tracking-scaling-policy-overview.html);
//!   a "flat" schedule never scales;
//! - a service DescribeServices does not know (an answer the check cannot classify: it must
//!   fail, never pass);
//! - a `Within` that does not fit the invocation (it must fail without loading);
//! - throttling and slow calls from the world's profile (the gate family's).
#![allow(dead_code)]

use super::custom_resource::{self, STACK};
use super::gate::profile;
use super::harness::{violation, LogBuf, Violation};
use super::world::{Fault, Rng, Shared, World};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SERVICE: &str = "users";

pub async fn scaling_schedule(seed: u64, _logs: LogBuf) -> (Vec<Violation>, Shared) {
    let mut rng = Rng::new(seed.wrapping_mul(104_729).wrapping_add(11));
    let world: Shared = Arc::new(Mutex::new(World::new(seed, profile())));
    let kind = ["Create", "Update", "Delete"][rng.below(3) as usize];
    let on_change = rng.chance(500);
    let token_changed = rng.chance(500);
    let scales = rng.chance(700);
    let missing = rng.chance(100);
    let within = 200 + rng.below(900); // some do not fit a 900 s invocation
    let duration = 180 + rng.below(within - 179);
    {
        let mut w = world.lock().unwrap();
        w.stack_status = "UPDATE_IN_PROGRESS".into();
        if !missing {
            w.services.entry(SERVICE.into()).or_default().desired = 1;
        } else {
            w.count(Fault::ConfigError);
        }
    }
    let props = |token: &str| {
        json!({
            "Url": "http://alb.test/stress-test",
            "Rate": "3",
            "Duration": duration.to_string(),
            "ExpectDesired": "2",
            "MinCapacity": "1",
            "Within": within.to_string(),
            "Cluster": "shop",
            "ServiceName": SERVICE,
            "Run": if on_change { "OnChange" } else { "OnCreate" },
            "RunToken": token,
            "PollSeconds": "15",
            "WorkerFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:app-load-worker",
            "ServiceTimeout": "960",
        })
    };
    let new = props(if token_changed { "2" } else { "1" });
    let old = props("1");
    let ev = custom_resource::event(
        kind,
        "Custom::FargateScalingCheck",
        (STACK, "UsersScalingCheck"),
        new,
        (kind != "Create").then_some("UsersScalingCheck-scaling-check"),
        (kind == "Update").then_some(old),
        "req-scaling",
    );
    // Target tracking, faked: desired 2 three minutes after the load started.
    let scaler = {
        let w = world.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(5)).await;
                if !w.lock().unwrap().load_runs.is_empty() {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_secs(180)).await;
            if scales {
                let mut w = w.lock().unwrap();
                if let Some(s) = w.services.get_mut(SERVICE) {
                    s.desired = 2;
                }
            }
        })
    };
    let timeout = Duration::from_secs(900);
    let twice = rng.chance(250);
    let mut tasks = tokio::task::JoinSet::new();
    {
        let (w, e) = (world.clone(), ev.clone());
        tasks.spawn(async move { custom_resource::deliver(&w, &e, timeout, [false; 3]).await });
    }
    if twice {
        let at = rng.ms(600_000);
        world.lock().unwrap().count(Fault::Duplicate);
        let (w, e) = (world.clone(), ev.clone());
        tasks.spawn(async move {
            tokio::time::sleep(at).await;
            custom_resource::deliver(&w, &e, timeout, [false; 3]).await
        });
    }
    let mut answers = Vec::new();
    while let Some(r) = tasks.join_next().await {
        answers.extend(r.expect("delivery"));
    }
    scaler.abort();
    let mut v = Vec::new();
    let w = world.lock().unwrap();
    let runs = kind == "Create" || (kind == "Update" && on_change && token_changed);
    // The check needs Within + 5 s of the invocation's ~890 s (900 s less the answer's margin):
    // surely too long past 890 s; between 800 and 890 it depends on the time already spent.
    let fits = within <= 800;
    let too_long = within > 890;
    // Answered once per delivery, and the first answer before ServiceTimeout (960 s).
    if answers.is_empty() {
        v.push(violation(
            "scaling.answered",
            format!("{kind}: no answer at all"),
        ));
    }
    if let Some(first) = answers.iter().map(|a| a.at).min() {
        let origin = w.origin;
        if first.duration_since(origin) > Duration::from_secs(960) {
            v.push(violation(
                "scaling.answered_before_service_timeout",
                format!(
                    "first answer after {} s",
                    first.duration_since(origin).as_secs()
                ),
            ));
        }
    }
    for a in &answers {
        let success = a.body["Status"] == "SUCCESS";
        let skipped = a.body["Data"].get("Skipped").is_some();
        let reason = a.body["Reason"].as_str().unwrap_or_default();
        if a.bytes > 4096 {
            v.push(violation(
                "scaling.answer_fits",
                format!("{} bytes", a.bytes),
            ));
        }
        if kind == "Delete" && !success {
            v.push(violation("scaling.delete_succeeds", reason.to_string()));
        }
        if success && !skipped && kind != "Delete" && (!scales || missing || too_long) {
            v.push(violation(
                "scaling.missed_fails",
                format!(
                    "SUCCESS with scales={scales} missing={missing} within={within}: {}",
                    a.body["Data"]
                ),
            ));
        }
        if success && !skipped && kind != "Delete" && !runs {
            v.push(violation(
                "scaling.runs_only_when_asked",
                format!("{kind} on_change={on_change} token_changed={token_changed} ran"),
            ));
        }
        if !success && !reason.contains("missed") && scales && !missing && fits && runs {
            // A check that should pass may fail only for the world's faults (throttling that
            // outlasted the budget), never silently: the reason must say why.
            if reason.is_empty() {
                v.push(violation("scaling.failure_says_why", "FAILED, no reason"));
            }
        }
        if !success && reason.contains("missed") && !reason.contains("timeline") {
            v.push(violation("scaling.reason_has_timeline", reason.to_string()));
        }
    }
    if w.load_runs.len() > 1 {
        v.push(violation(
            "scaling.load_sent_once",
            format!("one request, {} load runs", w.load_runs.len()),
        ));
    }
    if !w.load_runs.is_empty() && (kind == "Delete" || !runs || too_long || missing) {
        v.push(violation(
            "scaling.no_load_unless_running",
            format!(
                "{kind}: load {:?} (runs={runs} within={within} missing={missing})",
                w.load_runs
            ),
        ));
    }
    drop(w);
    (v, world)
}
