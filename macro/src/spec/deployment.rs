//! `Deployment`: rolling-update bounds, circuit breaker, deployment alarms, and the ECS-native
//! strategies (blue/green, canary, linear) with their lifecycle hooks.
//!
//! Allowed values and ranges are the ECS API's (AWS::ECS::Service schema in cfn-lint 1.58, and
//! the API reference pages `API_CanaryConfiguration`, `API_LinearConfiguration`,
//! `API_DeploymentLifecycleHook`).

use super::{App, Props, Routing, TemplateCtx};
use crate::reader::{path, show, ListVal, Reader, Val};
use serde_json::Value;

/// Keys of `Deployment`.
pub const DEPLOYMENT_KEYS: &[&str] = &[
    "MinHealthyPercent",
    "MaxPercent",
    "CircuitBreaker",
    "Alarms",
    "Strategy",
    "BakeTime",
    "Canary",
    "Linear",
    "Hooks",
];
/// Keys of `Deployment.Canary`.
pub const CANARY_KEYS: &[&str] = &["Percent", "BakeTime"];
/// Keys of `Deployment.Linear`.
pub const LINEAR_KEYS: &[&str] = &["StepPercent", "StepBakeTime"];
/// Keys of one `Deployment.Hooks` item.
pub const HOOK_KEYS: &[&str] = &["Stage", "FunctionArn", "Details"];

/// `Strategy` values as users write them, in the order of [`Strategy`].
pub const STRATEGIES: &[&str] = &["Rolling", "BlueGreen", "Canary", "Linear"];

/// Lifecycle stages a Lambda hook may run at (DeploymentLifecycleHook.LifecycleStages).
pub const LIFECYCLE_STAGES: &[&str] = &[
    "RECONCILE_SERVICE",
    "PRE_SCALE_UP",
    "POST_SCALE_UP",
    "TEST_TRAFFIC_SHIFT",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRE_PRODUCTION_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
];

/// Bake times (BakeTimeInMinutes, CanaryBakeTimeInMinutes, StepBakeTimeInMinutes): 0-1440.
pub const MAX_BAKE_MINUTES: u64 = 1440;
/// CloudFormation rejects a canary or linear deployment whose computed length passes 33 hours
/// (its handler times out at 36): see the CanaryConfiguration and LinearConfiguration pages
/// of the AWS::ECS::Service reference.
pub const MAX_CFN_DEPLOYMENT_MINUTES: u64 = 33 * 60;
/// BakeTimeInMinutes when the template gives none: ECS's documented default for blue/green,
/// linear and canary (written out because the API requires it for BLUE_GREEN).
pub const DEFAULT_BAKE_MINUTES: u64 = 15;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    Rolling,
    BlueGreen,
    Canary,
    Linear,
}

impl Strategy {
    /// The value of `DeploymentConfiguration.Strategy`.
    pub fn ecs_name(self) -> &'static str {
        match self {
            Strategy::Rolling => "ROLLING",
            Strategy::BlueGreen => "BLUE_GREEN",
            Strategy::Canary => "CANARY",
            Strategy::Linear => "LINEAR",
        }
    }
    /// Blue/green, canary and linear run two revisions side by side behind a test route.
    pub fn shifts_traffic(self) -> bool {
        self != Strategy::Rolling
    }
}

#[derive(Debug, Clone)]
pub struct Canary {
    pub percent: Option<Val<f64>>,
    pub bake_time: Option<Val<u64>>,
}

#[derive(Debug, Clone)]
pub struct Linear {
    pub step_percent: Option<Val<f64>>,
    pub step_bake_time: Option<Val<u64>>,
}

/// A user's own lifecycle hook.
#[derive(Debug, Clone)]
pub struct Hook {
    pub stages: Vec<String>,
    pub function_arn: Val<String>,
    pub details: Option<Value>,
}

#[derive(Debug, Clone)]
pub struct Deployment {
    pub min_healthy_percent: Option<Val<u64>>,
    pub max_percent: Option<Val<u64>>,
    pub circuit_breaker: Val<bool>,
    pub alarms: Option<ListVal<Value>>,
    pub strategy: Strategy,
    pub bake_time: Option<Val<u64>>,
    pub canary: Option<Canary>,
    pub linear: Option<Linear>,
    pub hooks: Vec<Hook>,
}

pub(super) fn read_deployment(r: &mut Reader, p: &Props, ctx: &TemplateCtx) -> Deployment {
    let mut d = Deployment {
        min_healthy_percent: None,
        max_percent: None,
        circuit_breaker: Val::Lit(true),
        alarms: None,
        strategy: Strategy::Rolling,
        bake_time: None,
        canary: None,
        linear: None,
        hooks: Vec::new(),
    };
    let dp = p.path("Deployment");
    let Some(v) = p.get("Deployment") else {
        return d;
    };
    let Some(m) = r.object(&dp, v, DEPLOYMENT_KEYS) else {
        return d;
    };
    d.min_healthy_percent = m
        .get("MinHealthyPercent")
        .and_then(|v| r.int(&path(&dp, "MinHealthyPercent"), v, 0, 100));
    d.max_percent = m
        .get("MaxPercent")
        .and_then(|v| r.int(&path(&dp, "MaxPercent"), v, 100, 200));
    if let Some(v) = m.get("CircuitBreaker") {
        d.circuit_breaker = r
            .boolean(&path(&dp, "CircuitBreaker"), v)
            .unwrap_or(Val::Lit(true));
    }
    d.alarms = m.get("Alarms").and_then(|v| {
        r.list(&path(&dp, "Alarms"), v, |r, ip, it| {
            r.nonempty(ip, it).map(|s| s.json())
        })
    });
    if let Some(ListVal::Items(a)) = &d.alarms {
        if a.is_empty() {
            r.err(
                &path(&dp, "Alarms"),
                "must name at least one alarm (or leave Alarms out)",
            );
        }
    }
    if let Some(v) = m.get("Strategy") {
        // The strategy decides which resources exist, so it cannot wait for deploy time.
        d.strategy = match r.word(&path(&dp, "Strategy"), v, STRATEGIES) {
            Some(Val::Lit(s)) => strategy_named(&s),
            // A parameter's value (given at deploy, CloudFormation's `templateParameterValues`,
            // else its Default) is known when the macro runs, as for `Name`; CloudFormation runs
            // the macro again with the new values on every change set.
            // https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-macros.html
            Some(Val::Expr(v)) => match ctx.parameter_value(&v).and_then(Value::as_str) {
                Some(s) if STRATEGIES.contains(&s) => strategy_named(s),
                Some(s) => {
                    r.err(
                        &path(&dp, "Strategy"),
                        format!(
                            "'{s}' (the value of {}) is not one of {}",
                            show(&v),
                            STRATEGIES.join(", ")
                        ),
                    );
                    Strategy::Rolling
                }
                None => {
                    r.err(&path(&dp, "Strategy"), format!("must be a literal ({}) or Ref of a parameter whose value is known when the macro runs (given at deploy, or its Default): the strategy decides which resources the App expands into", STRATEGIES.join(", ")));
                    Strategy::Rolling
                }
            },
            None => Strategy::Rolling,
        };
    }
    d.bake_time = m
        .get("BakeTime")
        .and_then(|v| r.int(&path(&dp, "BakeTime"), v, 0, MAX_BAKE_MINUTES));
    if let Some(v) = m.get("Canary") {
        let cp = path(&dp, "Canary");
        if d.strategy != Strategy::Canary {
            r.err(&cp, "only used with Strategy: Canary");
        }
        if let Some(cm) = r.object(&cp, v, CANARY_KEYS) {
            d.canary = Some(Canary {
                // CanaryPercent: multiples of 0.1 from 0.1 to 100.0.
                percent: cm
                    .get("Percent")
                    .and_then(|v| tenths(r, &path(&cp, "Percent"), v, 0.1)),
                bake_time: cm
                    .get("BakeTime")
                    .and_then(|v| r.int(&path(&cp, "BakeTime"), v, 0, MAX_BAKE_MINUTES)),
            });
        }
    }
    if let Some(v) = m.get("Linear") {
        let lp = path(&dp, "Linear");
        if d.strategy != Strategy::Linear {
            r.err(&lp, "only used with Strategy: Linear");
        }
        if let Some(lm) = r.object(&lp, v, LINEAR_KEYS) {
            d.linear = Some(Linear {
                // StepPercent: multiples of 0.1 from 3.0 to 100.0.
                step_percent: lm
                    .get("StepPercent")
                    .and_then(|v| tenths(r, &path(&lp, "StepPercent"), v, 3.0)),
                step_bake_time: lm
                    .get("StepBakeTime")
                    .and_then(|v| r.int(&path(&lp, "StepBakeTime"), v, 0, MAX_BAKE_MINUTES)),
            });
        }
    }
    if let Some(v) = m.get("Hooks") {
        let hp = path(&dp, "Hooks");
        if !d.strategy.shifts_traffic() {
            r.err(
                &hp,
                "lifecycle hooks run in BlueGreen, Canary and Linear deployments; set Strategy, or use PostCreate for a step after the service is created with Rolling",
            );
        }
        if let Some(ListVal::Items(hooks)) = r.list(&hp, v, |r, ip, it| read_hook(r, ip, it, ctx)) {
            d.hooks = hooks;
        } else if crate::intrinsics::is_intrinsic(v) {
            r.err(
                &hp,
                "must be a literal list: each hook gets a role that may invoke its function",
            );
        }
    }
    check_cfn_duration(r, &dp, &d);
    d
}

/// A percentage in tenths, from `min` to 100.
fn strategy_named(s: &str) -> Strategy {
    match s {
        "BlueGreen" => Strategy::BlueGreen,
        "Canary" => Strategy::Canary,
        "Linear" => Strategy::Linear,
        _ => Strategy::Rolling,
    }
}

fn tenths(r: &mut Reader, p: &str, v: &Value, min: f64) -> Option<Val<f64>> {
    match r.number(p, v, min, 100.0)? {
        Val::Lit(n) if ((n * 10.0).round() - n * 10.0).abs() > 1e-9 => {
            r.err(p, format!("{n} is not a multiple of 0.1"));
            None
        }
        other => Some(other),
    }
}

fn read_hook(r: &mut Reader, p: &str, v: &Value, ctx: &TemplateCtx) -> Option<Hook> {
    let m = r.object(p, v, HOOK_KEYS)?;
    let sp = path(p, "Stage");
    let stages = match m.get("Stage") {
        None => {
            r.err(
                &sp,
                format!(
                    "required: one of {} (or a list of them)",
                    LIFECYCLE_STAGES.join(", ")
                ),
            );
            return None;
        }
        Some(Value::Array(items)) if !items.is_empty() => {
            let mut out = Vec::new();
            for (i, it) in items.iter().enumerate() {
                if let Some(Val::Lit(s)) = stage(r, &format!("{sp}[{i}]"), it) {
                    out.push(s);
                }
            }
            out
        }
        Some(Value::Array(_)) => {
            r.err(&sp, "must name at least one stage");
            return None;
        }
        Some(one) => stage(r, &sp, one)
            .and_then(|s| s.lit().cloned())
            .into_iter()
            .collect(),
    };
    let fp = path(p, "FunctionArn");
    let function_arn = match m.get("FunctionArn") {
        None => {
            r.err(&fp, "required: the ARN of the Lambda function ECS invokes");
            None
        }
        Some(f) => function_arn(r, &fp, f, ctx),
    };
    let details = match m.get("Details") {
        None => None,
        Some(d @ Value::Object(_)) if !crate::intrinsics::is_intrinsic(d) => Some(d.clone()),
        Some(other) => {
            // HookDetails must be a JSON object (ECS passes it to the function as is).
            r.err(
                &path(p, "Details"),
                format!("expected an object, got {}", show(other)),
            );
            None
        }
    };
    Some(Hook {
        stages,
        function_arn: function_arn?,
        details,
    })
}

fn stage(r: &mut Reader, p: &str, v: &Value) -> Option<Val<String>> {
    match r.word(p, v, LIFECYCLE_STAGES)? {
        Val::Expr(_) => {
            r.err(p, "must be a literal stage name");
            None
        }
        lit => Some(lit),
    }
}

/// HookTargetArn takes a function ARN: a literal must be one, and `!Ref` of a function (its
/// name) is refused with the fix.
fn function_arn(r: &mut Reader, p: &str, v: &Value, ctx: &TemplateCtx) -> Option<Val<String>> {
    let val = r.nonempty(p, v)?;
    match &val {
        Val::Lit(s)
            if !(s.starts_with("arn:") && s.contains(":lambda:") && s.contains(":function:")) =>
        {
            r.err(p, format!("'{s}' is not a Lambda function ARN"));
            None
        }
        Val::Expr(e) => match ctx.referenced(e) {
            Some((id, None)) if ctx.resource_type(id) == Some("AWS::Lambda::Function") => {
                r.err(
                    p,
                    format!("!Ref {id} is the function's name; give !GetAtt {id}.Arn"),
                );
                None
            }
            _ => Some(val),
        },
        Val::Lit(_) => Some(val),
    }
}

/// CloudFormation's own 33-hour check, made at expansion time with the property named.
fn check_cfn_duration(r: &mut Reader, dp: &str, d: &Deployment) {
    let lit = |v: &Option<Val<u64>>, default: u64| match v {
        Some(Val::Lit(n)) => Some(*n),
        None => Some(default),
        Some(Val::Expr(_)) => None,
    };
    let bake = lit(&d.bake_time, DEFAULT_BAKE_MINUTES);
    let (total, what) = match d.strategy {
        // CanaryBakeTimeInMinutes defaults to 10.
        Strategy::Canary => {
            let c = d.canary.as_ref().map(|c| &c.bake_time).unwrap_or(&None);
            (
                bake.zip(lit(c, 10)).map(|(a, b)| a + b),
                "BakeTime + Canary.BakeTime",
            )
        }
        // Steps: 100 / StepPercent - 1 when it divides 100 evenly, else its floor; StepPercent
        // defaults to 10 and StepBakeTimeInMinutes to 6.
        Strategy::Linear => {
            let l = d.linear.as_ref();
            let step = match l.and_then(|l| l.step_percent.as_ref()) {
                None => Some(10.0),
                Some(Val::Lit(s)) => Some(*s),
                Some(Val::Expr(_)) => None,
            };
            let steps = step.map(|s| {
                let tenths = (s * 10.0).round() as u64;
                if 1000 % tenths == 0 {
                    1000 / tenths - 1
                } else {
                    1000 / tenths
                }
            });
            let step_bake = lit(l.map(|l| &l.step_bake_time).unwrap_or(&None), 6);
            (
                bake.zip(steps.zip(step_bake)).map(|(b, (n, t))| b + n * t),
                "BakeTime + Linear.StepBakeTime x steps",
            )
        }
        _ => return,
    };
    if let Some(t) = total.filter(|t| *t > MAX_CFN_DEPLOYMENT_MINUTES) {
        r.err(
            &path(dp, "BakeTime"),
            format!("{what} is {t} minutes; CloudFormation rejects canary and linear deployments longer than {MAX_CFN_DEPLOYMENT_MINUTES} minutes (33 hours)"),
        );
    }
}

/// The most condition values one ALB rule takes; the test route adds one (its header).
const RULE_CONDITION_VALUES: usize = 5;

/// Rules between `Deployment` and the other families.
pub(super) fn check_deployment(r: &mut Reader, p: &Props, app: &App) {
    let d = &app.deployment;
    if !d.strategy.shifts_traffic() {
        return;
    }
    let sp = p.path("Deployment.Strategy");
    let name = STRATEGIES[d.strategy as usize];
    if app.failover.is_some() {
        // Both would rewrite the weights of the same listener rule.
        r.err(&sp, format!("{name} is not used with Failover: ECS shifts the listener rule's weights during a deployment, and Failover moves the same weights"));
    }
    let Some(lb) = &app.load_balancer else {
        // Canary and linear shift production traffic in steps, which needs Elastic Load
        // Balancing or Service Connect (a service that serves in its namespace: a client-only
        // App receives no traffic to shift); only blue/green also runs without either.
        // https://docs.aws.amazon.com/AmazonECS/latest/developerguide/canary-deployment-implementation.html
        // https://docs.aws.amazon.com/AmazonECS/latest/developerguide/linear-deployment-implementation.html
        let serves_in_namespace = app
            .service_connect
            .as_ref()
            .is_some_and(|sc| !sc.client_only);
        if matches!(d.strategy, Strategy::Canary | Strategy::Linear) && !serves_in_namespace {
            r.err(&sp, format!("{name} needs a LoadBalancer or ServiceConnect that serves (not client-only): ECS shifts canary and linear traffic through a load balancer or Service Connect; use BlueGreen or Rolling for a worker"));
        }
        if app.load_test.is_some() {
            r.err(&sp, format!("{name} with LoadTest needs a LoadBalancer: the gate runs against the test route, which only a load balancer has"));
        }
        return;
    };
    if let Routing::SharedRule {
        priority,
        paths,
        hosts,
        ..
    } = &lb.routing
    {
        match priority {
            super::Dynamic::Auto { .. } => r.err(
                &p.path("LoadBalancer.Priority"),
                format!("auto is not used with Strategy {name}: the provider owns an automatic rule's actions, which ECS rewrites during a deployment; give a fixed Priority (the test rule takes Priority - 1)"),
            ),
            super::Dynamic::Fixed(Val::Lit(1)) => r.err(
                &p.path("LoadBalancer.Priority"),
                format!("1 leaves no room for the test rule of Strategy {name}, which takes Priority - 1; use 2 or more"),
            ),
            super::Dynamic::Fixed(Val::Expr(_)) => r.err(
                &p.path("LoadBalancer.Priority"),
                format!("must be a literal number with Strategy {name}: the test rule takes Priority - 1"),
            ),
            super::Dynamic::Fixed(_) => {}
        }
        if paths.len() + hosts.len() + 1 > RULE_CONDITION_VALUES {
            r.err(
                &p.path("LoadBalancer.Path"),
                format!("{} Path and Host values plus the test route's header make {} condition values; an ALB rule takes at most {RULE_CONDITION_VALUES}", paths.len() + hosts.len(), paths.len() + hosts.len() + 1),
            );
        }
    }
    // An internal ALB (or `LoadTest.From: vpc`) is reached through the App's VPC workers, as
    // for the custom-resource gate: the hook invokes them for each slice.
    if let Some(lt) = &app.load_test {
        if matches!(&lt.workers, Val::Lit(n) if *n > 1) {
            r.err(
                &p.path("LoadTest.Workers"),
                format!("not used with Strategy {name}: the lifecycle hook runs the load from one invocation at a time"),
            );
        }
    }
}
