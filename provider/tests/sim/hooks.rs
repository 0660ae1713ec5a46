//! ECS lifecycle hooks (the load-test gate at a deployment stage) against the simulated
//! DynamoDB state table, ECS and CloudFormation: ECS invokes, and invokes again after
//! `callBackDelay` with the returned `hookDetails` while the answer is IN_PROGRESS
//! (ECS developer guide, "Lifecycle hooks for Amazon ECS service deployments":
//! <https://docs.aws.amazon.com/AmazonECS/latest/developerguide/lambda-lifecycle-hooks.html>:
//! a hook that returns no `hookStatus` or fails rolls the deployment back).
//! The gate's load is not simulated: the target URL names no host, so the engine refuses it at
//! once and the run ends FAILED after its record is written; what is checked is the store,
//! the lease, the deadline and the answers around it. With a `WorkerFunctionArn` the load goes
//! through the fake Lambda's worker (a passing report of the asked length, or a function error):
//! a failed worker must fail the gate, and a passing run must be covered by the workers' load.
#![allow(dead_code)]

use super::harness::{violation, LogBuf, Violation};
use super::world::{self, Fault, Profile, Rng, Shared, World};
use fargate_provider::lifecycle_hook::{
    self, HookAnswer, HookEvent, HookStatus, HookStore, SETTINGS_KEY,
};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/hooks/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("JSON")
}

fn profile() -> Profile {
    Profile {
        throttle: 40,
        after_effect: 20,
        slow: 50,
        slow_ms: 5_000,
        hang: 15,
        tag_lag_ms: 0,
    }
}

enum Ran {
    Answered(HookAnswer),
    /// The process died: ECS gets no answer (not the provider's doing).
    Crashed,
    /// Lambda stopped it at its timeout.
    Killed,
}

async fn invoke(world: &Shared, ev: &HookEvent, timeout: Duration, crash: bool) -> Ran {
    let inv = world.lock().unwrap().invocation(crash);
    let clients = world::clients(world, inv);
    let store = HookStore {
        ddb: world::ddb_client(world, inv),
        table: "provider-hooks".into(),
    };
    let deadline = Instant::now() + timeout;
    let r = tokio::time::timeout_at(
        deadline,
        lifecycle_hook::handle(&clients, Some(&store), ev, deadline),
    )
    .await;
    let crashed = world.lock().unwrap().crashed[inv];
    match r {
        _ if crashed => Ran::Crashed,
        Ok(a) => Ran::Answered(a),
        Err(_) => Ran::Killed,
    }
}

/// ECS's side: invoke, and while IN_PROGRESS invoke again with the returned hookDetails.
async fn run_hook(
    world: Shared,
    mut ev: HookEvent,
    timeout: Duration,
    crash_rate: u64,
    seed: u64,
) -> (Vec<HookAnswer>, Vec<Violation>, bool) {
    let mut rng = Rng::new(seed);
    let mut answers = Vec::new();
    let mut v = Vec::new();
    for _ in 0..12 {
        match invoke(&world, &ev, timeout, rng.chance(crash_rate)).await {
            Ran::Answered(a) => {
                answers.push(a.clone());
                if a.status != HookStatus::InProgress {
                    return (answers, v, true);
                }
                let delay = a.call_back_delay.unwrap_or(5);
                ev.hook_details = a.hook_details.clone();
                tokio::time::sleep(Duration::from_secs(delay)).await;
            }
            Ran::Crashed => return (answers, v, false),
            Ran::Killed => {
                v.push(violation(
                    "hook.answered_before_deadline",
                    format!("an invocation with a {timeout:?} timeout did not answer before it"),
                ));
                return (answers, v, false);
            }
        }
    }
    (answers, v, true)
}

pub async fn hook_schedule(seed: u64, _logs: LogBuf) -> (Vec<Violation>, Shared) {
    let mut rng = Rng::new(seed.wrapping_mul(977).wrapping_add(11));
    let world: Shared = Arc::new(Mutex::new(World::new(seed, profile())));
    let rollback_event = rng.chance(100);
    let config_error;
    let rolling_back;
    {
        let mut w = world.lock().unwrap();
        w.table_exists = !rng.chance(60);
        w.access_denied = rng.chance(40);
        config_error = !w.table_exists || w.access_denied;
        if config_error {
            w.count(Fault::ConfigError);
        }
        if rng.chance(80) {
            w.deployment_status = "ROLLBACK_IN_PROGRESS".into();
        }
        if rng.chance(100) {
            w.stack_status = "UPDATE_ROLLBACK_IN_PROGRESS".into();
        }
        rolling_back = w.deployment_status.starts_with("ROLLBACK")
            || w.stack_status.contains("ROLLBACK_IN_PROGRESS");
    }
    let mut raw = if rollback_event {
        fixture("rollback_test_traffic_shift")
    } else {
        fixture("post_test_traffic_shift")
    };
    let duration = 60 + rng.below(600);
    let settings = json!({
        // Names no host: the engine refuses it without any I/O (see the module comment).
        "Url": "file:///sim-no-network",
        "Host": "app.example.com",
        "Duration": duration,
        "WarmUp": rng.below(30),
        "CallBackDelay": 5,
        "Rate": 20,
        "Stages": ["POST_TEST_TRAFFIC_SHIFT", "TEST_TRAFFIC_SHIFT"],
        // What the macro writes into every gate hook's details (`Ref AWS::StackId`,
        // macro/src/gen/deployment.rs): the hook reads the stack's status through it.
        "StackId": super::custom_resource::STACK,
    });
    // The App's VPC workers send the load (issue 17 item 13): in some schedules the settings
    // name a worker function, which the fake Lambda answers (world.rs `lambda_client`), and in
    // some of those every worker invocation fails. A generator of its own keeps every other
    // choice of a seed as it was.
    let mut wrng = Rng::new(seed ^ 0x5157_0017);
    let workers = wrng.chance(300);
    let workers_fail = workers && wrng.chance(300);
    let mut settings = settings;
    if workers {
        settings["WorkerFunctionArn"] =
            json!("arn:aws:lambda:us-east-1:123456789012:function:app-WebLoadTestWorkers");
        let mut w = world.lock().unwrap();
        w.worker_fails = workers_fail;
        w.count(Fault::VpcWorkers);
        if workers_fail {
            w.count(Fault::WorkerFails);
        }
    }
    raw["hookDetails"] = json!({ SETTINGS_KEY: settings });
    let mut v = Vec::new();
    // Fields ECS may leave out of the payload.
    if rng.chance(200) {
        let o = raw.as_object_mut().expect("object");
        o.remove("resourceArn");
        if let Some(d) = raw["executionDetails"].as_object_mut() {
            d.remove("testTrafficWeights");
            d.remove("productionTrafficWeights");
        }
    }
    let ev: HookEvent = match serde_json::from_value(raw.clone()) {
        Ok(ev) => ev,
        Err(e) => {
            v.push(violation(
                "hook.omitted_fields_default",
                format!("payload without optional fields refused: {e}"),
            ));
            return (v, world);
        }
    };
    let rollback =
        rolling_back || lifecycle_hook::is_rollback(&ev.lifecycle_stage, &ev.execution_details);
    let timeout = Duration::from_secs([60, 300, 900][rng.below(3) as usize]);
    let concurrent = rng.chance(200);
    let mut tasks = tokio::task::JoinSet::new();
    {
        let (w, e) = (world.clone(), ev.clone());
        let s = rng.next();
        tasks.spawn(async move { run_hook(w, e, timeout, 40, s).await });
    }
    if concurrent {
        world.lock().unwrap().count(Fault::Concurrent);
        let (w, e) = (world.clone(), ev.clone());
        let (s, at) = (rng.next(), rng.ms(3_000));
        tasks.spawn(async move {
            tokio::time::sleep(at).await;
            run_hook(w, e, timeout, 40, s).await
        });
    }
    let mut answers = Vec::new();
    let mut all_clean = true;
    while let Some(r) = tasks.join_next().await {
        let (a, vs, clean) = r.expect("hook task");
        answers.extend(a);
        all_clean &= clean && vs.is_empty();
        v.extend(vs);
    }
    if std::env::var("SIM_DEBUG").is_ok() {
        eprintln!("resourceArn: {:?}; answers: {answers:?}", ev.resource_arn);
    }
    for a in &answers {
        if a.status == HookStatus::InProgress {
            let has = a
                .hook_details
                .as_ref()
                .is_some_and(|d| d.get(SETTINGS_KEY).is_some());
            if !has {
                v.push(violation(
                    "hook.in_progress_carries_settings",
                    format!("IN_PROGRESS without the run's settings: {}", a.reason),
                ));
            }
        }
    }
    // A rollback answers SUCCEEDED before the store is touched (no load on the way back): the
    // table's state does not matter then.
    // "At once" means at the first answer given after the store answered: a store call that
    // hangs (no answer within the provider's call timeout) cannot tell a missing table from a
    // slow one, so that invocation's IN_PROGRESS is right and the next one must say FAILED.
    // DynamoDB answers a missing table or a denied call with a 400 at once when it answers
    // (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html).
    if config_error && !rollback {
        let answered = answers
            .iter()
            .find(|a| !(a.status == HookStatus::InProgress && a.reason.contains("timed out")));
        if let Some(a) = answered.filter(|a| a.status != HookStatus::Failed) {
            v.push(violation(
                "hook.config_error_failed",
                format!(
                    "missing table or access denied answered {:?}: {}",
                    a.status, a.reason
                ),
            ));
        }
    }
    // A worker that fails or gives no reply fails its slice and so the gate: its load is not
    // known to have been sent (fail closed, never dropped).
    if workers_fail && !rollback && !config_error && all_clean {
        let last = answers.last();
        let failed = last.is_some_and(|a| a.status == HookStatus::Failed);
        let store_trouble = answers.iter().any(|a| a.reason.contains("state table"));
        if !failed && !store_trouble {
            v.push(violation(
                "hook.worker_failure_ends_the_run",
                format!("every load worker failed and the run did not end FAILED: {last:?}"),
            ));
        }
    }
    if workers_fail {
        let passed = answers
            .iter()
            .find(|a| a.status == HookStatus::Succeeded && a.reason.contains("load test: "));
        if let Some(a) = passed {
            {
                v.push(violation(
                    "hook.worker_failure_fails",
                    format!(
                        "every load worker failed and the gate answered SUCCEEDED: {}",
                        a.reason
                    ),
                ));
            }
        }
    }
    let w = world.lock().unwrap();
    // A run that passed through the workers was measured by them: the fake answers each
    // invocation with exactly the load asked, so their runs cover the whole Duration.
    if workers && !workers_fail {
        let measured: u64 = w.load_runs.iter().sum();
        let passed = answers
            .iter()
            .any(|a| a.status == HookStatus::Succeeded && a.reason.contains("load test: "));
        if passed && measured + 500 < duration * 1000 {
            v.push(violation(
                "hook.worker_load_counted",
                format!("SUCCEEDED after {measured} ms of worker load of {duration} s asked"),
            ));
        }
    }
    if rollback && w.lease_claims > 0 {
        v.push(violation(
            "hook.rollback_no_load",
            format!(
                "the gate started a run while rolling back (deployment {}, stack {}, stage {})",
                w.deployment_status, w.stack_status, ev.lifecycle_stage
            ),
        ));
    }
    if all_clean {
        for (k, item) in &w.items {
            let running = item
                .get("Status")
                .and_then(|s| s.as_s().ok())
                .map(String::as_str)
                == Some("RUNNING");
            if running && item.contains_key("LeaseOwner") {
                v.push(violation(
                    "hook.lease_released",
                    format!("record {k} still leased after every invocation returned: the run stalls until the lease expires"),
                ));
            }
        }
    }
    drop(w);
    (v, world)
}
