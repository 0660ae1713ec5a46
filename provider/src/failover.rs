//! Weighted failover: a listener (or rule) forwards by weight to a standby target group (a
//! Lambda function, or any target group) and to the app's target group. A CloudWatch alarm
//! drives it. On ALARM: scale the service to `StandbyCount`, wait until that many of its
//! targets are healthy, then move the weight to the app. On OK: move the weight back to the
//! standby, then scale the service down to its resting count.
//!
//! Every invocation (alarm event, periodic re-check, custom-resource Create/Update) reconciles
//! from the alarm's *current* state and the listener's *current* weights, so duplicate,
//! late or out-of-order events do no harm, and a wait cut short by the Lambda deadline is
//! picked up by the next re-check. It reconciles in passes: each pass reads the alarm, the
//! weights and the desired count afresh and makes at most one change right after; so an alarm
//! flip or a concurrent invocation is seen before anything moves (compare, then set), and
//! concurrent invocations converge on the alarm's final state.

pub use crate::clients::FailoverTiming;
use crate::request::{Request, RequestType};
use crate::respond::{answer_by, Outcome};
use crate::retry::{self, retrying};
use crate::slot::{forward, forward_targets, unless_gone};
use crate::{Clients, ProviderError};
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, ForwardActionConfig, TargetGroupTuple,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;
use tokio::time::Instant;

pub const RESOURCE_TYPE: &str = "Custom::FargateWeightedFailover";
/// Key of the EventBridge input the macro sets on the alarm and re-check rules.
pub const EVENT_KEY: &str = "FargateAppFailover";

#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    Listener(String),
    Rule(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub alarm: String,
    pub route: Route,
    pub app_tg: String,
    pub standby_tg: String,
    pub cluster: String,
    pub service: String,
    pub standby_count: i32,
    /// `RestingCount`: the service's count while the standby serves. Given, Create and Update
    /// apply it exactly (the service has no DesiredCount of its own); absent, the service is
    /// only scaled down to 0.
    pub resting_count: Option<i32>,
    pub healthy_timeout: Duration,
    /// `RecoveryAlarmName`: traffic on the service moves back only while this alarm is in
    /// ALARM (its condition holds); absent, the trigger's OK is enough.
    pub recovery_alarm: Option<String>,
    /// `MinServiceTime`: traffic stays on the service at least this long after it moved there.
    pub min_service_time: Duration,
}

fn field(v: &Value, name: &'static str) -> Option<String> {
    match v.get(name)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl Settings {
    pub fn from_value(v: &Value) -> Result<Settings, ProviderError> {
        let req = |n: &'static str| field(v, n).ok_or_else(|| ProviderError::bad(n, "required"));
        let int = |n: &'static str, d: i64| -> Result<i64, ProviderError> {
            field(v, n)
                .map(|s| {
                    s.parse::<i64>()
                        .map_err(|_| ProviderError::bad(n, format!("'{s}' is not a whole number")))
                })
                .unwrap_or(Ok(d))
        };
        let route = match (field(v, "ListenerArn"), field(v, "RuleArn")) {
            (_, Some(rule)) => Route::Rule(rule),
            (Some(l), None) => Route::Listener(l),
            (None, None) => {
                return Err(ProviderError::bad(
                    "ListenerArn",
                    "give ListenerArn or RuleArn",
                ))
            }
        };
        Ok(Settings {
            alarm: req("AlarmName")?,
            route,
            app_tg: req("TargetGroupArn")?,
            standby_tg: req("StandbyTargetGroupArn")?,
            cluster: req("Cluster")?,
            service: req("ServiceName")?,
            standby_count: int("StandbyCount", 1)?.clamp(1, 5000) as i32,
            resting_count: match field(v, "RestingCount") {
                Some(_) => Some(int("RestingCount", 0)?.clamp(0, 5000) as i32),
                None => None,
            },
            healthy_timeout: Duration::from_secs(int("HealthyTimeout", 600)?.clamp(1, 3600) as u64),
            recovery_alarm: field(v, "RecoveryAlarmName"),
            min_service_time: Duration::from_secs(int("MinServiceTime", 0)?.clamp(0, 86_400) as u64),
        })
    }
}

/// What one reconciliation did, logged as one structured line and returned.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Decision {
    pub alarm_state: String,
    /// `app` (the ECS service takes the traffic), `standby`, or `waiting` (ALARM, but the
    /// service's targets are not healthy yet: weights unchanged until a later call).
    pub serving: String,
    pub app_weight: i32,
    pub standby_weight: i32,
    pub desired_count: Option<i32>,
    pub healthy_targets: Option<usize>,
    pub changed: bool,
    pub note: String,
}

/// What started a reconciliation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// An alarm event or a re-check.
    Event,
    /// The custom resource's Create: an alarm with no data yet counts as OK.
    Create,
    Update,
}

/// The re-check rule's period (the macro's `rate(2 minutes)`). An event waits for healthy
/// targets for less than that, so re-checks do not pile up waiting; the next one goes on.
pub const RECHECK_PERIOD: Duration = Duration::from_secs(120);
const EVENT_WAIT: Duration = Duration::from_secs(100);
/// Changes one reconciliation makes at most (a full failover takes two: scale, then weights);
/// beyond that something keeps undoing them and the next re-check tries again.
const MAX_CHANGES: u32 = 6;
/// How long a write (weights, scale, tag) is called again after throttling or a server error.
/// Every AWS call of a pass is retried ([`retrying`]) so that one throttle past the SDK's
/// retries does not end the pass (ELBv2: https://docs.aws.amazon.com/elasticloadbalancing/latest/userguide/elb-api-throttling.html,
/// ECS: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html,
/// CloudWatch and the SDKs: https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html);
/// a read up to the invocation's answer time, a write only this long, because it carries a
/// decision taken on reads made just before it: past this, the error ends the pass and the
/// next pass (or re-check) decides again on fresh reads.
const WRITE_RETRY: Duration = Duration::from_secs(20);

/// Calls a write again on a transient error for at most [`WRITE_RETRY`].
async fn write<F, Fut>(what: &str, call: F) -> Result<(), ProviderError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), ProviderError>>,
{
    let until = retry::answer_by().min(Instant::now() + WRITE_RETRY);
    retry::within(until, retrying(what, call)).await
}

async fn alarm_state(c: &Clients, alarm: &str) -> Result<String, ProviderError> {
    Ok(describe_alarm(c, alarm).await?.0)
}

/// The alarm's state value and ARN.
async fn describe_alarm(
    c: &Clients,
    alarm: &str,
) -> Result<(String, Option<String>), ProviderError> {
    let out = retrying("DescribeAlarms", || async {
        c.cloudwatch
            .describe_alarms()
            .alarm_names(alarm)
            .send()
            .await
            .map_err(|e| ProviderError::sdk("DescribeAlarms", &e))
    })
    .await?;
    let state = out
        .metric_alarms()
        .first()
        .and_then(|a| Some((a.state_value()?, a.alarm_arn())))
        .or_else(|| {
            out.composite_alarms()
                .first()
                .and_then(|a| Some((a.state_value()?, a.alarm_arn())))
        })
        .map(|(s, arn)| (s.as_str().to_string(), arn.map(String::from)));
    state.ok_or_else(|| ProviderError::bad("AlarmName", format!("alarm {alarm} not found")))
}

/// Tag on the route holding when traffic last moved to the service (Unix seconds), or
/// [`SINCE_PENDING`] while a move is under way. The provider keeps no state between
/// invocations: `MinServiceTime` is measured from this tag, which AWS keeps.
pub const SINCE_TAG: &str = "fargate-app:failover-since";
/// The tag's value from just before traffic moves to the service until the move is stamped.
pub const SINCE_PENDING: &str = "pending";

fn route_arn(s: &Settings) -> &str {
    match &s.route {
        Route::Listener(a) | Route::Rule(a) => a,
    }
}

/// The route's tags as AWS answers them now (tags may show a write late: ELBv2 does not promise
/// read-after-write; https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_DescribeTags.html).
async fn route_tags(c: &Clients, s: &Settings) -> Result<Vec<(String, String)>, ProviderError> {
    retrying("DescribeTags", || {
        crate::slot::tags_of(&c.elb, route_arn(s))
    })
    .await
}

async fn set_since(c: &Clients, s: &Settings, value: &str) -> Result<(), ProviderError> {
    write("AddTags", || {
        crate::slot::add_tag(&c.elb, route_arn(s), SINCE_TAG, value)
    })
    .await
}

fn since_of(tags: &[(String, String)]) -> Option<&str> {
    tags.iter()
        .find(|(k, _)| k == SINCE_TAG)
        .map(|(_, v)| v.as_str())
}

/// When traffic moved to the service (Unix seconds), as the route's tag says. A tag that is
/// missing or pending (the move was not stamped: a crash, or a tag not yet visible) is stamped
/// with now: traffic is on the service already, so now is never before the move, and the hold
/// can only come out longer, never shorter. The clock reads whole seconds, rounded down, and
/// the move may have come earlier in the same second: the stamp is the next whole second, so
/// it is never before the move (simulation seed 3332 of the failover family: moved back after
/// 338.5 s with `MinServiceTime` 339 s, the stamp having lost the move's fraction of a second).
async fn serving_since(c: &Clients, s: &Settings) -> Result<u64, ProviderError> {
    let tags = route_tags(c, s).await?;
    if let Some(t) = since_of(&tags).and_then(|v| v.parse::<u64>().ok()) {
        return Ok(t);
    }
    let stamp = (c.failover_timing.clock)().saturating_add(1);
    set_since(c, s, &stamp.to_string()).await?;
    Ok(stamp)
}

/// The route's current actions (empty when it is gone).
async fn route_actions(c: &Clients, s: &Settings) -> Result<Option<Vec<Action>>, ProviderError> {
    retrying("describe the route", || route_actions_once(c, s)).await
}

async fn route_actions_once(
    c: &Clients,
    s: &Settings,
) -> Result<Option<Vec<Action>>, ProviderError> {
    let actions = match &s.route {
        Route::Listener(arn) => {
            let out = c.elb.describe_listeners().listener_arns(arn).send().await;
            unless_gone("DescribeListeners", out, |e| {
                e.is_listener_not_found_exception()
            })?
            .and_then(|o| o.listeners().first().map(|l| l.default_actions().to_vec()))
        }
        Route::Rule(arn) => {
            let out = c.elb.describe_rules().rule_arns(arn).send().await;
            unless_gone("DescribeRules", out, |e| e.is_rule_not_found_exception())?
                .and_then(|o| o.rules().first().map(|r| r.actions().to_vec()))
        }
    };
    Ok(actions)
}

/// (app weight, standby weight) of the route's forward action; a plain forward to one of them
/// counts as 100.
fn weights_of(actions: &[Action], s: &Settings) -> (i32, i32) {
    let tgs = forward_targets(actions);
    let weight = |tg: &str| match tgs.as_slice() {
        [(only, _)] => i32::from(only == tg) * 100,
        _ => tgs.iter().find(|(t, _)| t == tg).map_or(0, |(_, w)| *w),
    };
    (weight(&s.app_tg), weight(&s.standby_tg))
}

async fn set_weights(
    c: &Clients,
    s: &Settings,
    app: i32,
    standby: i32,
) -> Result<(), ProviderError> {
    set_action(c, s, weighted(s, app, standby)).await
}

/// Moves all traffic onto the service's target group; false when a retry found it no longer
/// healthy. Retried like any write, but every attempt after the first re-reads the targets'
/// health: a retry comes seconds after the read that decided the move, and meanwhile another
/// invocation (an OK event's) may have scaled the service down. Simulation seed 521 of the
/// failover family: this invocation's ModifyRule was throttled, an OK event's invocation moved
/// traffic back and scaled to 0, then the retry moved traffic onto 0 healthy targets
/// (`failover.weights_move_after_healthy`).
async fn move_to_service(c: &Clients, s: &Settings) -> Result<bool, ProviderError> {
    use std::sync::atomic::{AtomicBool, Ordering};
    let (first, unhealthy) = (AtomicBool::new(true), AtomicBool::new(false));
    let (first, unhealthy) = (&first, &unhealthy);
    let action = weighted(s, 100, 0);
    write("modify the route", move || {
        let action = action.clone();
        async move {
            if !first.swap(false, Ordering::Relaxed)
                && healthy_targets(c, &s.app_tg).await? < s.standby_count as usize
            {
                unhealthy.store(true, Ordering::Relaxed);
                return Ok(());
            }
            set_action_once(c, s, action).await
        }
    })
    .await?;
    Ok(!unhealthy.load(Ordering::Relaxed))
}

fn weighted(s: &Settings, app: i32, standby: i32) -> Action {
    Action::builder()
        .r#type(ActionTypeEnum::Forward)
        .forward_config(
            ForwardActionConfig::builder()
                .target_groups(
                    TargetGroupTuple::builder()
                        .target_group_arn(&s.app_tg)
                        .weight(app)
                        .build(),
                )
                .target_groups(
                    TargetGroupTuple::builder()
                        .target_group_arn(&s.standby_tg)
                        .weight(standby)
                        .build(),
                )
                .build(),
        )
        .build()
}

async fn set_action(c: &Clients, s: &Settings, action: Action) -> Result<(), ProviderError> {
    write("modify the route", || set_action_once(c, s, action.clone())).await
}

async fn set_action_once(c: &Clients, s: &Settings, action: Action) -> Result<(), ProviderError> {
    match &s.route {
        Route::Listener(arn) => c
            .elb
            .modify_listener()
            .listener_arn(arn)
            .default_actions(action)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| ProviderError::sdk("ModifyListener", &e)),
        Route::Rule(arn) => c
            .elb
            .modify_rule()
            .rule_arn(arn)
            .actions(action)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| ProviderError::sdk("ModifyRule", &e)),
    }
}

async fn desired_count(c: &Clients, s: &Settings) -> Result<i32, ProviderError> {
    let service = retrying("DescribeServices", || c.ecs_service(&s.cluster, &s.service)).await?;
    Ok(service.desired_count())
}

async fn scale(c: &Clients, s: &Settings, count: i32) -> Result<(), ProviderError> {
    write("UpdateService", || async {
        c.ecs
            .update_service()
            .cluster(&s.cluster)
            .service(&s.service)
            .desired_count(count)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| ProviderError::sdk("UpdateService", &e))
    })
    .await
}

async fn healthy_targets(c: &Clients, tg: &str) -> Result<usize, ProviderError> {
    let out = retrying("DescribeTargetHealth", || async {
        c.elb
            .describe_target_health()
            .target_group_arn(tg)
            .send()
            .await
            .map_err(|e| ProviderError::sdk("DescribeTargetHealth", &e))
    })
    .await?;
    Ok(out
        .target_health_descriptions()
        .iter()
        .filter(|d| {
            d.target_health()
                .and_then(|h| h.state())
                .map(|s| s.as_str())
                == Some("healthy")
        })
        .count())
}

/// Brings weights and scale in line with the alarm, one change per pass, each right after a
/// fresh read of the alarm and the weights.
pub async fn reconcile(
    c: &Clients,
    s: &Settings,
    deadline: Instant,
    trigger: Trigger,
) -> Result<Decision, ProviderError> {
    let mut wait = s.healthy_timeout;
    if trigger == Trigger::Event {
        wait = wait.min(EVENT_WAIT);
    }
    let wait_until = Instant::now()
        .checked_add(wait)
        .map_or(deadline, |t| t.min(deadline));
    let mut changes = 0u32;
    let mut healthy_seen = None;
    loop {
        let state = alarm_state(c, &s.alarm).await?;
        let actions = route_actions(c, s).await?;
        let (app_w, standby_w) = actions.as_deref().map_or((0, 0), |a| weights_of(a, s));
        let managed = actions.as_deref().is_some_and(|a| over_both(a, s));
        let mut d = Decision {
            alarm_state: state.clone(),
            serving: String::new(),
            app_weight: app_w,
            standby_weight: standby_w,
            desired_count: None,
            healthy_targets: healthy_seen,
            changed: changes > 0,
            note: String::new(),
        };
        if changes >= MAX_CHANGES {
            d.serving = if app_w > 0 { "app" } else { "standby" }.into();
            d.note = format!(
                "{changes} changes made and still not settled; the next re-check continues"
            );
            return Ok(d);
        }
        let mut ok = match state.as_str() {
            "ALARM" => false,
            "OK" => true,
            _ if trigger == Trigger::Create => true,
            // No data: leave things as they are.
            _ => {
                d.serving = if app_w > 0 { "app" } else { "standby" }.into();
                d.note = "alarm has insufficient data; nothing changed".into();
                return Ok(d);
            }
        };
        if trigger == Trigger::Event && !managed {
            // Not (or no longer) a failover route: CloudFormation made it a plain forward when
            // Failover was removed, and the Delete that follows must find it so.
            d.serving = if app_w > 0 { "app" } else { "standby" }.into();
            d.note =
                "the route has no weighted forward over the app and the standby; nothing changed"
                    .into();
            return Ok(d);
        }
        if ok && app_w > 0 {
            // Hysteresis: traffic on the service stays there until the recovery condition
            // holds and MinServiceTime has passed since it moved; meanwhile the service keeps
            // serving (the ALARM branch below, minus any move of weights to it).
            if let Some(why) = hold(c, s).await? {
                d.note = why;
                ok = false;
            }
        }
        if ok {
            // Weights back first, then the service rests.
            if (app_w, standby_w) != (0, 100) {
                set_weights(c, s, 0, 100).await?;
                changes += 1;
                continue;
            }
            let desired = desired_count(c, s).await?;
            let resting = match s.resting_count {
                Some(n) if trigger != Trigger::Event => n,
                Some(n) => desired.min(n),
                None => 0,
            };
            if desired != resting {
                scale(c, s, resting).await?;
                changes += 1;
                continue;
            }
            d.desired_count = Some(desired);
            d.serving = "standby".into();
            d.note = "standby serves; service at its resting count".into();
            return Ok(d);
        }
        // The app serves only with tasks to serve: a count lowered from outside (a late
        // scale-down, a manual change) is raised again before weights are called settled.
        // UpdateService's desiredCount is what ECS keeps running:
        // https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_UpdateService.html
        let desired = desired_count(c, s).await?;
        if desired < s.standby_count {
            scale(c, s, s.standby_count).await?;
            changes += 1;
            continue;
        }
        d.desired_count = Some(desired);
        if (app_w, standby_w) == (100, 0) || (app_w > 0 && !d.note.is_empty()) {
            if !s.min_service_time.is_zero() {
                // Stamps a move not stamped yet (the stamp follows the move).
                serving_since(c, s).await?;
            }
            d.serving = "app".into();
            if d.note.is_empty() {
                d.note = match healthy_seen {
                    Some(h) if changes > 0 => {
                        format!("{h} healthy targets; traffic moved to the service")
                    }
                    _ => "already failed over".into(),
                };
            }
            return Ok(d);
        }
        let healthy = healthy_targets(c, &s.app_tg).await?;
        healthy_seen = Some(healthy);
        d.healthy_targets = healthy_seen;
        if healthy >= s.standby_count as usize {
            if !s.min_service_time.is_zero() && !since_cleared(c, s, wait_until).await? {
                d.serving = "waiting".into();
                d.note = "the route's failover-since tag is not yet seen cleared; weights unchanged, the next re-check continues".into();
                return Ok(d);
            }
            // Clearing the tag took calls and waits (its write is not read back at once): the
            // health read above may be stale by seconds, and someone may have scaled the
            // service down meanwhile. Read it again right before the move (simulation seed
            // 3385 of the failover family: weight moved 7.6 s after a drift to 0 tasks).
            if !s.min_service_time.is_zero()
                && healthy_targets(c, &s.app_tg).await? < s.standby_count as usize
            {
                continue;
            }
            // The next pass re-reads the alarm before anything else moves.
            // The move rests on the alarm read at the top of this pass, and the health reads
            // since took time: an OK event's invocation may have scaled the service down
            // meanwhile (simulation seed 521 of the failover family: DescribeTargetHealth
            // answered 2.7 s late, the alarm had turned OK and the other invocation had scaled
            // to 0, then this one moved traffic onto 0 healthy targets). The other invocation
            // acts only after the alarm turned OK, so the trigger read again here sees it.
            if alarm_state(c, &s.alarm).await? != "ALARM" {
                continue;
            }
            if !move_to_service(c, s).await? {
                continue;
            }
            changes += 1;
            continue;
        }
        if Instant::now() + c.failover_timing.health_poll >= wait_until {
            d.serving = "waiting".into();
            d.note = format!("{healthy} of {} targets healthy in time; weights unchanged, the next re-check continues", s.standby_count);
            return Ok(d);
        }
        tokio::time::sleep(c.failover_timing.health_poll).await;
    }
}

/// Why traffic on the service must stay there although the trigger is OK, if it must.
async fn hold(c: &Clients, s: &Settings) -> Result<Option<String>, ProviderError> {
    if let Some(r) = &s.recovery_alarm {
        let state = alarm_state(c, r).await?;
        if state != "ALARM" {
            return Ok(Some(format!(
                "trigger OK but recovery alarm {r} is {state}: the service keeps the traffic"
            )));
        }
    }
    if !s.min_service_time.is_zero() {
        let since = serving_since(c, s).await?;
        let now = (c.failover_timing.clock)();
        let until = since.saturating_add(s.min_service_time.as_secs());
        if now < until {
            return Ok(Some(format!(
                "on the service since {since}: MinServiceTime holds it there until {until} ({} s more)",
                until - now
            )));
        }
    }
    Ok(None)
}

/// Sets the route's failover-since tag to pending and waits until DescribeTags shows it (or
/// `until` passes: false). Done right before weights move, so a later reader never measures
/// the new period on the service from an older stamp.
async fn since_cleared(c: &Clients, s: &Settings, until: Instant) -> Result<bool, ProviderError> {
    if since_of(&route_tags(c, s).await?) == Some(SINCE_PENDING) {
        return Ok(true);
    }
    set_since(c, s, SINCE_PENDING).await?;
    loop {
        if since_of(&route_tags(c, s).await?) == Some(SINCE_PENDING) {
            return Ok(true);
        }
        if Instant::now() + c.failover_timing.health_poll >= until {
            return Ok(false);
        }
        tokio::time::sleep(c.failover_timing.health_poll).await;
    }
}

/// An alarm-state event or a re-check.
///
/// An event carries no stack ID (the rule's `Input` is whatever its stack wrote), so before
/// anything moves the route, the service and the alarms must belong to one stack: a stack's
/// rule naming another stack's listener or service, or letting its own alarm drive another
/// stack's traffic, is refused with the reason logged.
pub async fn handle_event(c: &Clients, config: &Value, deadline: Instant) -> Value {
    let answer_by = answer_by(deadline);
    let result = match Settings::from_value(config) {
        // Every call of the pass is retried until the invocation's answer time.
        Ok(s) => match retry::within(answer_by, event_not_owned(c, &s)).await {
            Ok(Some(why)) => {
                tracing::warn!(alarm = %s.alarm, refused = %why, "failover event refused");
                return serde_json::json!({ "Refused": why });
            }
            Ok(None) => retry::within(answer_by, reconcile(c, &s, answer_by, Trigger::Event)).await,
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    log_and_render(
        config
            .get("AlarmName")
            .and_then(Value::as_str)
            .unwrap_or(""),
        result,
    )
}

fn log_and_render(alarm: &str, result: Result<Decision, ProviderError>) -> Value {
    match result {
        Ok(d) => {
            tracing::info!(alarm, alarm_state = %d.alarm_state, serving = %d.serving, app_weight = d.app_weight, standby_weight = d.standby_weight,
                desired_count = ?d.desired_count, healthy_targets = ?d.healthy_targets, changed = d.changed, note = %d.note, "failover decision");
            serde_json::to_value(&d).expect("serialisable")
        }
        Err(e) => {
            tracing::error!(alarm, error = %e, "failover decision failed");
            serde_json::json!({ "Error": e.to_string() })
        }
    }
}

/// The custom resource: Create sets the initial weights and the resting count, Update applies
/// new settings, Delete undoes only what it owns (see [`delete`]).
pub async fn handle(
    c: &Clients,
    req: &Request,
    deadline: Instant,
) -> Result<Outcome, ProviderError> {
    let physical = req.physical_or("weighted-failover");
    if req.request_type == RequestType::Delete {
        let Ok(s) = Settings::from_value(&req.properties) else {
            return Ok(Outcome::new(physical));
        };
        match not_owned(c, &s, &req.stack_id).await? {
            // Not this stack's to change back: left alone, and the stack deletes.
            Some(why) => tracing::warn!(alarm = %s.alarm, "{why}; left as it is"),
            None => delete(c, &s).await?,
        }
        return Ok(Outcome::new(physical));
    }
    let s = Settings::from_value(&req.properties)?;
    if let Some(why) = not_owned(c, &s, &req.stack_id).await? {
        return Err(ProviderError::bad("ListenerArn", why));
    }
    // Events are checked against the route's stack: an alarm of another stack would be refused
    // at every event, so it is refused here, where the template can be fixed.
    if let Some(why) = alarm_not_owned(c, &s, &req.stack_id).await? {
        return Err(ProviderError::bad("AlarmName", why));
    }
    let trigger = match req.request_type {
        RequestType::Create => Trigger::Create,
        _ => Trigger::Update,
    };
    let d = reconcile(c, &s, deadline, trigger).await?;
    let _ = log_and_render(&s.alarm, Ok(d.clone()));
    Ok(Outcome::new(physical)
        .with("Serving", d.serving)
        .with("AlarmState", d.alarm_state))
}

/// A forward over exactly the app's and the standby's target groups.
fn over_both(actions: &[Action], s: &Settings) -> bool {
    let mut tgs: Vec<String> = forward_targets(actions)
        .into_iter()
        .map(|(tg, _)| tg)
        .collect();
    tgs.sort();
    let mut ours = vec![s.app_tg.clone(), s.standby_tg.clone()];
    ours.sort();
    tgs == ours
}

/// Delete owns only the weighted forward over its two target groups. If the route still has it,
/// it becomes a plain forward to the app (the standby target group is about to be deleted and
/// must not be referenced; the service has its own count again once failover is removed). A
/// route CloudFormation already changed (failover removed: a plain forward), or one that is
/// gone, is left alone.
async fn delete(c: &Clients, s: &Settings) -> Result<(), ProviderError> {
    let Some(actions) = route_actions(c, s).await? else {
        return Ok(());
    };
    if !over_both(&actions, s) {
        tracing::info!(alarm = %s.alarm, "the route no longer carries the failover's weights; left as it is");
        return Ok(());
    }
    match set_action(c, s, forward(&s.app_tg)).await {
        Err(ProviderError::Aws { message, .. }) if message.contains("NotFound") => Ok(()),
        other => other,
    }
}

/// Tags naming the stack a resource belongs to: the provider's own on what it creates, and the
/// stack-level tag CloudFormation adds to what a stack creates
/// (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-resource-tags.html).
const OWNER_TAGS: [&str; 2] = [crate::slot::STACK_TAG, "aws:cloudformation:stack-id"];

/// The stack a resource's tags name, when they name one other than `stack`.
fn other_owner<'a>(tags: impl Iterator<Item = (&'a str, &'a str)>, stack: &str) -> Option<String> {
    let owners = owners(tags);
    (!owners.is_empty() && !owners.iter().any(|o| o == stack)).then(|| owners[0].clone())
}

/// The stacks a resource's tags name (none: made by hand).
fn owners<'a>(tags: impl Iterator<Item = (&'a str, &'a str)>) -> Vec<String> {
    tags.filter(|(k, _)| OWNER_TAGS.contains(k))
        .map(|(_, v)| v.to_string())
        .collect()
}

/// The owner tags of the failover's alarms (trigger and recovery), by alarm name. CloudFormation
/// tags the alarms a stack creates with `aws:cloudformation:stack-id`; ListTagsForResource reads
/// an alarm's tags by its ARN
/// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_ListTagsForResource.html).
async fn alarm_owners(
    c: &Clients,
    s: &Settings,
) -> Result<Vec<(String, Vec<String>)>, ProviderError> {
    let mut out = Vec::new();
    for name in std::iter::once(&s.alarm).chain(s.recovery_alarm.as_ref()) {
        let (_, arn) = describe_alarm(c, name).await?;
        let Some(arn) = arn else { continue };
        let tags = retrying("ListTagsForResource", || async {
            c.cloudwatch
                .list_tags_for_resource()
                .resource_arn(&arn)
                .send()
                .await
                .map_err(|e| ProviderError::sdk("ListTagsForResource", &e))
        })
        .await?;
        let pairs = tags
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?, t.value()?)));
        out.push((name.clone(), owners(pairs)));
    }
    Ok(out)
}

/// Why an event may not act, if it may not: the route, the service and the alarms do not all
/// belong to the stack that owns the route (the route's stack is the one whose traffic moves).
/// Untagged resources (made by hand) name no stack and agree with any.
async fn event_not_owned(c: &Clients, s: &Settings) -> Result<Option<String>, ProviderError> {
    let route_owner = route_owners(c, s).await?;
    let Some(stack) = route_owner.first().cloned() else {
        // A hand-made route: whoever names it is its owner; the service and alarms must then
        // not name two different stacks either.
        return Ok(None);
    };
    if let Some(why) = not_owned(c, s, &stack).await? {
        return Ok(Some(why));
    }
    alarm_not_owned(c, s, &stack).await
}

/// Why the failover's alarms may not move `stack`'s traffic: one is tagged as another stack's.
async fn alarm_not_owned(
    c: &Clients,
    s: &Settings,
    stack: &str,
) -> Result<Option<String>, ProviderError> {
    for (name, owners) in alarm_owners(c, s).await? {
        if !owners.is_empty() && !owners.iter().any(|o| o == stack) {
            return Ok(Some(format!(
                "alarm {name} belongs to stack {}: it does not move the traffic of stack {stack}",
                owners[0]
            )));
        }
    }
    Ok(None)
}

/// The stacks the route's tags name (none when it is gone: a route that is gone is nobody's,
/// and reconcile reads it as gone).
async fn route_owners(c: &Clients, s: &Settings) -> Result<Vec<String>, ProviderError> {
    match retrying("DescribeTags", || {
        crate::slot::tags_of(&c.elb, route_arn(s))
    })
    .await
    {
        Ok(tags) => Ok(owners(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))),
        Err(ProviderError::Aws { message, .. }) if message.contains("NotFound") => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// Why this stack may not re-weight the route or scale the service, if it may not: either is
/// tagged as another stack's. Untagged resources (made by hand) are the template's to name.
async fn not_owned(
    c: &Clients,
    s: &Settings,
    stack: &str,
) -> Result<Option<String>, ProviderError> {
    let route = route_arn(s);
    let owners = route_owners(c, s).await?;
    if !owners.is_empty() && !owners.iter().any(|o| o == stack) {
        return Ok(Some(format!(
            "{route} belongs to stack {}: a failover of stack {stack} does not change it",
            owners[0]
        )));
    }
    let out = retrying("DescribeServices", || async {
        c.ecs
            .describe_services()
            .cluster(&s.cluster)
            .services(&s.service)
            .include(aws_sdk_ecs::types::ServiceField::Tags)
            .send()
            .await
            .map_err(|e| ProviderError::sdk("DescribeServices", &e))
    })
    .await?;
    let tags = out
        .services()
        .iter()
        .flat_map(|svc| svc.tags())
        .filter_map(|t| Some((t.key()?, t.value()?)));
    Ok(other_owner(tags, stack).map(|other| {
        format!(
            "service {} belongs to stack {other}: a failover of stack {stack} does not scale it",
            s.service
        )
    }))
}
