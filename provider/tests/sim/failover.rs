//! Weighted failover under alarm flips, duplicated and late events, re-checks every 2 minutes,
//! drift from outside (someone scales the service), crashes, throttling and slow targets.
#![allow(dead_code)]

use super::custom_resource::{self, OTHER_STACK, STACK};
use super::harness::{violation, LogBuf, Violation};
use super::world::{self, Fault, LState, Profile, Rng, Service, Shared, World};
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, ForwardActionConfig, TargetGroupTuple,
};
use fargate_provider::slot::forward_targets;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

const LISTENER: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shared/1/50";
const FOREIGN: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shared/1/60";
pub const APP_TG: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/app/1";
pub const STANDBY_TG: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/standby/1";
pub const SERVICE: &str = "api";
const FOREIGN_SERVICE: &str = "other-api";
pub const ALARM: &str = "api-unhealthy";
/// The recovery alarm (in ALARM while traffic may move back) and another stack's alarm.
const RECOVERY: &str = "api-recovered";
const FOREIGN_ALARM: &str = "other-busy";
/// How long one reconciliation pass may take between reading an alarm and moving weights
/// (a handful of calls, each at most `slow_ms` late): a move within this long after the
/// alarm changed was decided on the state before.
const PASS: Duration = Duration::from_secs(60);

/// One alarm state set by the schedule: (when, alarm, state).
type StateSet = (Instant, &'static str, &'static str);

/// The failover's weighted forward: (target group, weight) pairs.
pub fn weighted(app: i32, standby: i32) -> Action {
    let pairs = [(APP_TG, app), (STANDBY_TG, standby)];
    let tuples = pairs.iter().map(|(tg, w)| {
        TargetGroupTuple::builder()
            .target_group_arn(*tg)
            .weight(*w)
            .build()
    });
    let config = ForwardActionConfig::builder()
        .set_target_groups(Some(tuples.collect()))
        .build();
    Action::builder()
        .r#type(ActionTypeEnum::Forward)
        .forward_config(config)
        .build()
}

pub fn weights(w: &World, listener: &str) -> (i32, i32) {
    let actions = w
        .listeners
        .get(listener)
        .map(|l| l.actions.clone())
        .unwrap_or_default();
    let tgs = forward_targets(&actions);
    let of = |tg: &str| match tgs.as_slice() {
        [(only, _)] => i32::from(only == tg) * 100,
        _ => tgs.iter().find(|(t, _)| t == tg).map_or(0, |(_, w)| *w),
    };
    (of(APP_TG), of(STANDBY_TG))
}

fn profile() -> Profile {
    Profile {
        throttle: 20,
        after_effect: 20,
        slow: 80,
        slow_ms: 5_000,
        hang: 0,
        tag_lag_ms: 20_000,
    }
}

/// One alarm event or re-check: a Lambda invocation killed at its timeout.
async fn event(world: Shared, config: Value, timeout: Duration, crash: bool) {
    let inv = world.lock().unwrap().invocation(crash);
    let clients = world::clients(&world, inv);
    let deadline = Instant::now() + timeout;
    let out = tokio::time::timeout_at(
        deadline,
        fargate_provider::failover::handle_event(&clients, &config, deadline),
    )
    .await;
    if let Ok(Value::Object(o)) = out {
        if let Some(e) = o.get("Error") {
            let mut w = world.lock().unwrap();
            let (at, left) = (Instant::now() - w.origin, deadline - Instant::now());
            w.failover_errors.push((at, left, e.to_string()));
        }
    }
}

/// Time a pass may have left when it gives up on a throttled call: the retry rule's last
/// wait ([`fargate_provider::retry::MAX_WAIT`]) plus the answer's margin (at most 10 s).
const GIVE_UP_MARGIN: Duration = Duration::from_secs(15);

pub async fn failover_schedule(seed: u64, _logs: LogBuf) -> (Vec<Violation>, Shared) {
    let mut rng = Rng::new(seed.wrapping_mul(131).wrapping_add(3));
    let world: Shared = Arc::new(Mutex::new(World::new(seed, profile())));
    let standby_count = 1 + rng.below(3) as i32;
    let resting = rng.chance(500).then(|| rng.below(2) as i32);
    // Hysteresis: a minimum time on the service and a recovery alarm, each in about half of
    // the schedules.
    let min_service = rng
        .chance(500)
        .then(|| Duration::from_secs(60 + rng.below(600)));
    let recovery = rng.chance(500);
    {
        let mut w = world.lock().unwrap();
        w.health_lag_ms = rng.below(90_000);
        let tags = vec![
            ("fargate-app:stack-id".to_string(), STACK.to_string()),
            ("fargate-app:logical-id".to_string(), "ApiRoute".to_string()),
        ];
        w.listeners.insert(
            LISTENER.into(),
            LState {
                port: 8000,
                lb: custom_resource::LB.into(),
                settings: String::new(),
                actions: vec![weighted(0, 100)],
                tags,
                tags_visible_at: Instant::now(),
            },
        );
        w.tg_service.insert(APP_TG.into(), SERVICE.into());
        w.set_desired(SERVICE, resting.unwrap_or(0));
        let tag = |stack: &str| vec![("fargate-app:stack-id".to_string(), stack.to_string())];
        w.services.get_mut(SERVICE).expect("service").tags = tag(STACK);
        let foreign = Service {
            desired: 0,
            tasks: Vec::new(),
            tags: tag(OTHER_STACK),
        };
        w.services.insert(FOREIGN_SERVICE.into(), foreign);
        // CloudFormation tags the alarms a stack creates with its stack ID.
        let cfn =
            |stack: &str| vec![("aws:cloudformation:stack-id".to_string(), stack.to_string())];
        w.alarm_tags = cfn(STACK);
        w.alarms
            .insert(RECOVERY.into(), ("INSUFFICIENT_DATA".into(), cfn(STACK)));
        w.alarms
            .insert(FOREIGN_ALARM.into(), ("ALARM".into(), cfn(OTHER_STACK)));
    }
    let mut config = json!({
        "AlarmName": ALARM,
        "ListenerArn": LISTENER,
        "TargetGroupArn": APP_TG,
        "StandbyTargetGroupArn": STANDBY_TG,
        "Cluster": "apps",
        "ServiceName": SERVICE,
        "StandbyCount": standby_count.to_string(),
        "HealthyTimeout": "600",
    });
    if let Some(r) = resting {
        config["RestingCount"] = json!(r.to_string());
    }
    if let Some(m) = min_service {
        config["MinServiceTime"] = json!(m.as_secs().to_string());
    }
    if recovery {
        config["RecoveryAlarmName"] = json!(RECOVERY);
    }
    let mut v = Vec::new();
    let timeout = Duration::from_secs([60, 300, 900][rng.below(3) as usize]);

    // Ownership: a failover resource of this stack naming another stack's listener.
    if rng.chance(150) {
        {
            let mut w = world.lock().unwrap();
            w.listeners.insert(
                FOREIGN.into(),
                LState {
                    port: 9000,
                    lb: custom_resource::LB.into(),
                    settings: String::new(),
                    actions: vec![weighted(0, 100)],
                    tags: vec![("fargate-app:stack-id".to_string(), OTHER_STACK.to_string())],
                    tags_visible_at: Instant::now(),
                },
            );
            w.alarm = "ALARM".into();
        }
        let mut props = config.clone();
        // Another stack's listener (even seeds) or service (odd seeds), not both: the first
        // refusal would hide the second.
        if seed.is_multiple_of(2) {
            props["ListenerArn"] = json!(FOREIGN);
        } else {
            props["ServiceName"] = json!(FOREIGN_SERVICE);
        }
        let ev = custom_resource::event(
            "Create",
            fargate_provider::failover::RESOURCE_TYPE,
            (STACK, "ApiFailover"),
            props,
            None,
            None,
            "req-foreign",
        );
        let before = format!("{:?}", world.lock().unwrap().listeners[FOREIGN].actions);
        custom_resource::deliver(&world, &ev, timeout, [false; 3]).await;
        let after = format!("{:?}", world.lock().unwrap().listeners[FOREIGN].actions);
        if before != after {
            v.push(violation(
                "ownership.foreign_route_refused",
                "a failover resource re-weighted another stack's listener",
            ));
        }
        let desired = world.lock().unwrap().services[FOREIGN_SERVICE].desired;
        if desired != 0 {
            v.push(violation(
                "ownership.foreign_service_refused",
                format!("a failover resource scaled another stack's service to {desired}"),
            ));
        }
        world.lock().unwrap().alarm = "OK".into();
    }

    // Ownership of events: another stack's EventBridge rule (its Input is whatever that stack
    // wrote) letting its own alarm, in ALARM, drive this stack's listener and service. Events
    // carry no stack ID; the provider must tell by the resources' tags.
    if rng.chance(200) {
        let mut forged = config.clone();
        forged["AlarmName"] = json!(FOREIGN_ALARM);
        let before = format!("{:?}", world.lock().unwrap().listeners[LISTENER].actions);
        let desired_before = world.lock().unwrap().services[SERVICE].desired;
        event(world.clone(), forged, timeout, false).await;
        let w = world.lock().unwrap();
        let after = format!("{:?}", w.listeners[LISTENER].actions);
        if before != after || w.services[SERVICE].desired != desired_before {
            v.push(violation(
                "ownership.foreign_alarm_refused",
                format!(
                    "another stack's alarm moved this stack's traffic: weights {:?}, desired {} -> {}",
                    weights(&w, LISTENER),
                    desired_before,
                    w.services[SERVICE].desired
                ),
            ));
        }
    }

    // The timeline: alarm flips (each an event, maybe twice, maybe late), drift, re-checks.
    let start = Instant::now();
    // Every alarm state set, in order: (when, alarm, state).
    let states: Arc<Mutex<Vec<StateSet>>> = Arc::new(Mutex::new(vec![
        (start, ALARM, "OK"),
        (start, RECOVERY, "INSUFFICIENT_DATA"),
    ]));
    // The recovery alarm's flips: it holds (ALARM) or not (OK), each with an event.
    let recovery_flips: Vec<(Duration, &'static str)> = if recovery {
        let mut f: Vec<Duration> = (0..rng.below(6)).map(|_| rng.ms(horizon_ms())).collect();
        f.sort();
        f.into_iter()
            .enumerate()
            .map(|(i, at)| (at, if i % 2 == 0 { "ALARM" } else { "OK" }))
            .collect()
    } else {
        Vec::new()
    };
    let horizon = Duration::from_secs(20 * 60);
    let mut flips: Vec<Duration> = (0..rng.below(5))
        .map(|_| rng.ms(horizon.as_millis() as u64))
        .collect();
    flips.sort();
    let drift = rng.chance(300).then(|| rng.ms(horizon.as_millis() as u64));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, at) in flips.iter().enumerate() {
        let state = if i % 2 == 0 { "ALARM" } else { "OK" };
        let (w, at) = (world.clone(), *at);
        let log = states.clone();
        tasks.spawn(async move {
            tokio::time::sleep(at).await;
            let mut w = w.lock().unwrap();
            w.alarm = state.into();
            w.count(Fault::AlarmFlip);
            log.lock().unwrap().push((Instant::now(), ALARM, state));
        });
        let deliveries = if rng.chance(200) { 2 } else { 1 };
        for d in 0..deliveries {
            let late = rng.chance(150);
            let delay = if late {
                Duration::from_secs(120 + rng.below(480))
            } else {
                rng.ms(30_000)
            };
            {
                let mut wl = world.lock().unwrap();
                if d > 0 {
                    wl.count(Fault::Duplicate);
                }
                if late {
                    wl.count(Fault::Late);
                }
            }
            let crash = rng.chance(50);
            let (w, c) = (world.clone(), config.clone());
            tasks.spawn(async move {
                tokio::time::sleep(at + delay).await;
                event(w, c, timeout, crash).await;
            });
        }
    }
    for (at, state) in recovery_flips {
        let (w, log) = (world.clone(), states.clone());
        tasks.spawn(async move {
            tokio::time::sleep(at).await;
            let mut w = w.lock().unwrap();
            w.alarms.get_mut(RECOVERY).expect("recovery alarm").0 = state.into();
            w.count(Fault::AlarmFlip);
            log.lock().unwrap().push((Instant::now(), RECOVERY, state));
        });
        // Its state-change event (the macro routes both alarms to the provider), maybe late.
        let late = rng.chance(150);
        let delay = if late {
            Duration::from_secs(120 + rng.below(480))
        } else {
            rng.ms(30_000)
        };
        let crash = rng.chance(50);
        let (w, c) = (world.clone(), config.clone());
        tasks.spawn(async move {
            tokio::time::sleep(at + delay).await;
            event(w, c, timeout, crash).await;
        });
    }
    if let Some(at) = drift {
        world.lock().unwrap().count(Fault::Drift);
        let w = world.clone();
        tasks.spawn(async move {
            tokio::time::sleep(at).await;
            if std::env::var("SIM_DEBUG").is_ok() {
                eprintln!("DEBUG drift at {at:?}");
            }
            let mut w = w.lock().unwrap();
            w.last_drift = Some(Instant::now());
            w.set_desired(SERVICE, 0);
        });
    }
    let mut t = Duration::ZERO;
    while t <= Duration::from_secs(30 * 60) {
        let crash = rng.chance(50);
        let (w, c) = (world.clone(), config.clone());
        tasks.spawn(async move {
            tokio::time::sleep(t).await;
            event(w, c, timeout, crash).await;
        });
        t += fargate_provider::failover::RECHECK_PERIOD;
    }
    while let Some(r) = tasks.join_next().await {
        r.expect("task");
    }
    // Events have stopped: more re-checks without injected errors (enough for MinServiceTime
    // to pass), then the state must match the alarms.
    world.lock().unwrap().profile = custom_resource::calm();
    let rechecks = 2 + min_service.map_or(0, |m| {
        (m.as_secs() / fargate_provider::failover::RECHECK_PERIOD.as_secs()) as usize + 1
    });
    for _ in 0..rechecks {
        event(world.clone(), config.clone(), timeout, false).await;
        tokio::time::sleep(fargate_provider::failover::RECHECK_PERIOD).await;
    }
    let w = world.lock().unwrap();
    let (app, standby) = weights(&w, LISTENER);
    let desired = w.services[SERVICE].desired;
    let healthy = w.healthy(APP_TG);
    let at = Instant::now() - start;
    let recovered = !recovery || w.alarm_state(RECOVERY) == "ALARM";
    v.extend(hysteresis(
        &w,
        &states.lock().unwrap(),
        min_service,
        recovery,
    ));
    if w.alarm != "ALARM" && !recovered {
        // The trigger is OK but the recovery condition does not hold: traffic stays where it
        // is (on the service, with its tasks; or on the standby if it never left).
        if app > 0 && desired < standby_count {
            v.push(violation(
                "failover.settles_to_alarm",
                format!("held on the service at {at:?}: weights app/standby {app}/{standby}, desired {desired} (StandbyCount {standby_count})"),
            ));
        }
    } else if w.alarm == "ALARM" {
        if (app, standby) != (100, 0) || desired < standby_count {
            v.push(violation(
                "failover.settles_to_alarm",
                format!("alarm ALARM at {at:?}: weights app/standby {app}/{standby}, desired {desired} (StandbyCount {standby_count})"),
            ));
        }
    } else if (app, standby) != (0, 100) || desired > resting.unwrap_or(0) {
        v.push(violation(
            "failover.settles_to_alarm",
            format!("alarm OK at {at:?}: weights app/standby {app}/{standby}, desired {desired} (RestingCount {resting:?})"),
        ));
    }
    if app > 0 && healthy == 0 {
        v.push(violation(
            "failover.traffic_on_healthy",
            format!("{app}% of traffic on the app's target group with {healthy} healthy targets (desired {desired}) after the re-checks"),
        ));
    }
    // A throttle or a 5xx past the SDK's retries (https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html)
    // does not end a pass that has time left: the call is made again within the invocation.
    for (at, left, e) in &w.failover_errors {
        if *left > GIVE_UP_MARGIN && (e.contains("Throttl") || e.contains("InternalFailure")) {
            v.push(violation(
                "failover.pass_survives_throttle",
                format!("the pass at {at:?} ended with {e} with {left:?} left"),
            ));
        }
    }
    for note in &w.unhealthy_shifts {
        v.push(violation(
            "failover.weights_move_after_healthy",
            note.clone(),
        ));
    }
    drop(w);
    (v, world)
}

fn horizon_ms() -> u64 {
    20 * 60 * 1000
}

/// The app's weight in a forward over the failover's two target groups.
fn app_weight(actions: &[Action]) -> i32 {
    let tgs = forward_targets(actions);
    match tgs.as_slice() {
        [(only, _)] => i32::from(only == APP_TG) * 100,
        _ => tgs.iter().find(|(t, _)| t == APP_TG).map_or(0, |(_, w)| *w),
    }
}

/// Whether `alarm` was in `state` at some time within `[from, to]`, by the log of states set.
fn was_in(
    states: &[(Instant, &str, &str)],
    alarm: &str,
    state: &str,
    from: Instant,
    to: Instant,
) -> bool {
    let mut current = None;
    for (t, a, s) in states.iter().filter(|(_, a, _)| *a == alarm) {
        let _ = a;
        if *t <= from {
            current = Some(*s);
        } else if *t <= to {
            if current == Some(state) {
                return true;
            }
            current = Some(*s);
        }
    }
    current == Some(state)
}

/// The hysteresis rules, on every move of traffic back from the service to the standby (the
/// action log, virtual time): not before `MinServiceTime` has passed since traffic moved to the
/// service; and only when the trigger was OK and the recovery alarm (if any) in ALARM within
/// the pass that decided it.
fn hysteresis(
    w: &World,
    states: &[(Instant, &str, &str)],
    min_service: Option<Duration>,
    recovery: bool,
) -> Vec<Violation> {
    let mut v = Vec::new();
    let mut on_app_since: Option<Instant> = None;
    for (t, arn, actions) in &w.action_log {
        if arn != LISTENER {
            continue;
        }
        let app = app_weight(actions);
        match (on_app_since, app > 0) {
            (None, true) => on_app_since = Some(*t),
            (Some(since), false) => {
                let held = *t - since;
                if let Some(m) = min_service {
                    if held < m {
                        v.push(violation(
                            "failover.min_service_time",
                            format!("traffic moved back after {held:?} on the service (MinServiceTime {m:?})"),
                        ));
                    }
                }
                let from = t.checked_sub(PASS).unwrap_or(*t);
                if recovery && !was_in(states, RECOVERY, "ALARM", from, *t) {
                    v.push(violation(
                        "failover.back_only_on_recovery",
                        format!(
                            "traffic moved back at {:?} while the recovery alarm was not in ALARM",
                            *t - w.origin
                        ),
                    ));
                }
                if was_in(states, ALARM, "ALARM", *t, *t) && !was_in(states, ALARM, "OK", from, *t)
                {
                    v.push(violation(
                        "failover.back_only_on_recovery",
                        format!(
                            "traffic moved back at {:?} while the trigger was in ALARM",
                            *t - w.origin
                        ),
                    ));
                }
                on_app_since = None;
            }
            _ => {}
        }
    }
    v
}
