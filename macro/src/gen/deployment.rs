//! ECS-native blue/green, canary and linear deployments: the alternate (green) target group,
//! the production and test listener rules ECS shifts, the role ECS shifts them with, the role
//! it invokes lifecycle hooks with, and the service's strategy settings. With `LoadTest`, the
//! gate is a lifecycle hook at `POST_TEST_TRAFFIC_SHIFT` instead of a custom resource.
//!
//! AWS pages this follows:
//! - ALB resources (two target groups, listener rules, not listeners, for an ALB):
//!   https://docs.aws.amazon.com/AmazonECS/latest/developerguide/alb-resources-for-blue-green.html
//! - The load-balancer role: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/AmazonECSInfrastructureRolePolicyForLoadBalancers.html
//! - The hook role: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/blue-green-permissions.html
//! - Hooks: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/lambda-lifecycle-hooks.html
//!
//! The test route is a header match on the production listener, not a second listener port: it
//! works the same for a dedicated ALB, a listener of the App's own and a rule on a shared
//! listener, needs no extra port, security-group rule or certificate, and the gate (the provider
//! Lambda, outside any VPC, so no security group or source address could admit it) reaches it
//! with the production URL plus one header. The route is closed: the header's value is
//! `<App>-<stack UUID>`, which nobody outside the account can know (issue 17), where it was the
//! constant `test` anyone could send. ALB http-header conditions compare values of up to 128
//! characters: https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_HttpHeaderConditionConfig.html

use super::gate_settings::{GateSettings, NUMERIC_KEYS};
use super::{alb, Ids, Out, Settings};
use crate::intrinsics::{get_att, is_intrinsic, ref_, sub, SubBuilder};
use crate::reader::Val;
use crate::spec::{App, Dynamic, Routing};
use serde_json::{json, Map, Value};

/// The header that selects the test route; its value is the App's token (`test_route_value`).
pub const TEST_ROUTE_HEADER: &str = "X-FargateApp-Route";

/// The test route's header value: `<App>-<stack UUID>`, known to the stack's gate and to the
/// account, not to the internet.
pub fn test_route_value(app: &App) -> Value {
    super::gate_reach::token(&app.id)
}
/// Rule priorities on a listener the App owns (its dedicated ALB's, or its own on a shared ALB):
/// the test rule must be evaluated before the production rule it narrows.
pub const TEST_RULE_PRIORITY: u64 = 1;
pub const PRODUCTION_RULE_PRIORITY: u64 = 2;
/// The AWS managed policy ECS documents for shifting ALB traffic.
pub const LOAD_BALANCER_POLICY: &str = "AmazonECSInfrastructureRolePolicyForLoadBalancers";
/// Where the gate runs: the green revision has all test traffic and no production traffic.
pub const GATE_STAGE: &str = "POST_TEST_TRAFFIC_SHIFT";
/// Minutes the hook may take beyond its warm-up and load before ECS rolls back (slices,
/// callbacks and a cold start).
const GATE_TIMEOUT_MARGIN_MINUTES: u64 = 10;

fn shifts(app: &App) -> bool {
    app.deployment.strategy.shifts_traffic()
}

/// The forward action of a rule ECS shifts: both target groups, all weight on the primary
/// (ECS moves the weights; a weight-0 target group is still associated with the ALB, which ECS
/// needs to register green tasks in it).
pub fn shift_actions(app: &App) -> Value {
    let ids = Ids(&app.id);
    let mut action = json!({ "Type": "forward", "ForwardConfig": { "TargetGroups": [
        { "TargetGroupArn": ref_(&ids.of("TargetGroup")), "Weight": 100 },
        { "TargetGroupArn": ref_(&ids.of("AlternateTargetGroup")), "Weight": 0 },
    ]}});
    // A weighted forward keeps a client on one target group only with group-level stickiness
    // on the action; the target groups' own stickiness acts within a group.
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-elasticloadbalancingv2-listenerrule-targetgroupstickinessconfig.html
    if let Some(s) = app
        .load_balancer
        .as_ref()
        .and_then(|lb| lb.stickiness.as_ref())
    {
        action["ForwardConfig"]["TargetGroupStickinessConfig"] =
            json!({ "Enabled": true, "DurationSeconds": s.json() });
    }
    json!([action])
}

/// The actions of the App's rule on a shared listener: shifted with a strategy, else a plain
/// forward.
pub fn rule_actions(app: &App) -> Value {
    if shifts(app) && app.load_balancer.is_some() {
        shift_actions(app)
    } else {
        alb::forward_actions(app)
    }
}

fn test_condition(app: &App) -> Value {
    json!({ "Field": "http-header", "HttpHeaderConfig": {
        "HttpHeaderName": TEST_ROUTE_HEADER, "Values": [test_route_value(app)] } })
}

fn ecs_trust() -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Service": "ecs.amazonaws.com" },
            "Action": "sts:AssumeRole",
        }]
    })
}

/// The alternate target group, the two rules and the role ECS shifts them with.
pub fn generate(app: &App, settings: &Settings, routing: &alb::RoutingOut, out: &mut Out) {
    if !shifts(app) {
        return;
    }
    let ids = Ids(&app.id);
    if let Some(lb) = &app.load_balancer {
        alb::target_group(app, lb, &ids.of("AlternateTargetGroup"), out);
        match &lb.routing {
            Routing::Dedicated { .. } | Routing::SharedPort { .. } => {
                let listener = routing
                    .listener_arn
                    .clone()
                    .expect("a listener of the App's own");
                out.add(
                    ids.of("ProductionRule"),
                    "AWS::ElasticLoadBalancingV2::ListenerRule",
                    json!({
                        "ListenerArn": listener,
                        "Priority": PRODUCTION_RULE_PRIORITY,
                        "Conditions": [{ "Field": "path-pattern", "PathPatternConfig": { "Values": ["/*"] } }],
                        "Actions": shift_actions(app),
                    }),
                );
                out.add(
                    ids.of("TestRule"),
                    "AWS::ElasticLoadBalancingV2::ListenerRule",
                    json!({
                        "ListenerArn": listener,
                        "Priority": TEST_RULE_PRIORITY,
                        "Conditions": [test_condition(app)],
                        "Actions": shift_actions(app),
                    }),
                );
            }
            Routing::SharedRule {
                listener,
                paths,
                hosts,
                priority,
                ..
            } => {
                // The production rule is the App's own rule (its actions are `rule_actions`);
                // the test rule narrows it by the header, one priority ahead.
                let Dynamic::Fixed(Val::Lit(p)) = priority else {
                    return; // refused when reading
                };
                let mut conditions = Vec::new();
                if !paths.is_empty() {
                    conditions.push(json!({ "Field": "path-pattern", "PathPatternConfig": { "Values": paths.iter().map(Val::json).collect::<Vec<_>>() } }));
                }
                if !hosts.is_empty() {
                    conditions.push(json!({ "Field": "host-header", "HostHeaderConfig": { "Values": hosts.iter().map(Val::json).collect::<Vec<_>>() } }));
                }
                conditions.push(test_condition(app));
                out.add(
                    ids.of("TestRule"),
                    "AWS::ElasticLoadBalancingV2::ListenerRule",
                    json!({
                        "ListenerArn": listener.json(),
                        "Priority": p - 1,
                        "Conditions": conditions,
                        "Actions": shift_actions(app),
                    }),
                );
            }
        }
        out.add(
            ids.of("TrafficShiftRole"),
            "AWS::IAM::Role",
            json!({
                "Description": format!("ECS shifts ALB traffic between revisions of {}", app.id),
                "AssumeRolePolicyDocument": ecs_trust(),
                "ManagedPolicyArns": [sub(&format!("arn:${{AWS::Partition}}:iam::aws:policy/{LOAD_BALANCER_POLICY}"))],
                "Tags": super::tag_list(app),
            }),
        );
    }
    let targets = hook_targets(app, settings);
    if !targets.is_empty() {
        out.add(
            ids.of("HookRole"),
            "AWS::IAM::Role",
            json!({
                "Description": format!("ECS invokes the deployment lifecycle hooks of {}", app.id),
                "AssumeRolePolicyDocument": ecs_trust(),
                "Policies": [{ "PolicyName": "invoke-hooks", "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{ "Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": targets }],
                }}],
                "Tags": super::tag_list(app),
            }),
        );
    }
}

/// The functions ECS invokes as hooks: the provider for the gate, then the users' own.
fn hook_targets(app: &App, settings: &Settings) -> Vec<Value> {
    let mut v = Vec::new();
    if app.load_test.is_some() && app.load_balancer.is_some() {
        v.push(settings.service_token.clone());
    }
    for h in &app.deployment.hooks {
        let arn = h.function_arn.json();
        if !v.contains(&arn) {
            v.push(arn);
        }
    }
    v
}

/// Writes the strategy into the App's service: `DeploymentConfiguration` and the load
/// balancer's `AdvancedConfiguration`.
pub fn configure_service(app: &App, settings: &Settings, routing: &alb::RoutingOut, out: &mut Out) {
    let ids = Ids(&app.id);
    let service_id = ids.of("Service");
    if !shifts(app) {
        // A rolling deployment takes a bake time too (ECS keeps watching its alarms that long).
        if let (Some(b), Some((_, service))) = (
            &app.deployment.bake_time,
            out.items.iter_mut().find(|(id, _)| *id == service_id),
        ) {
            service["Properties"]["DeploymentConfiguration"]["BakeTimeInMinutes"] = b.json();
        }
        return;
    }
    // Behind an ALB the provider cannot reach (internal, or `LoadTest.From: vpc`), the hook
    // sends its load through worker functions in the App's subnets, as the custom-resource gate
    // does; the service waits for them and for the ALB's ingress from them.
    let reach = if app.load_test.is_some() {
        super::gate_reach::generate(app, settings, routing, out)
    } else {
        Default::default()
    };
    let hooks = lifecycle_hooks(app, settings, routing, reach.worker_function);
    let Some((_, service)) = out.items.iter_mut().find(|(id, _)| *id == service_id) else {
        return;
    };
    if !reach.depends_on.is_empty() {
        super::depends_on(service, &reach.depends_on);
    }
    let props = &mut service["Properties"];
    let d = &app.deployment;
    let config = props["DeploymentConfiguration"]
        .as_object_mut()
        .expect("the service has a DeploymentConfiguration");
    config.insert("Strategy".into(), json!(d.strategy.ecs_name()));
    config.insert(
        "BakeTimeInMinutes".into(),
        d.bake_time
            .as_ref()
            .map(Val::json)
            .unwrap_or(json!(crate::spec::DEFAULT_BAKE_MINUTES)),
    );
    if let Some(c) = &d.canary {
        let mut m = Map::new();
        if let Some(p) = &c.percent {
            m.insert("CanaryPercent".into(), p.json());
        }
        if let Some(b) = &c.bake_time {
            m.insert("CanaryBakeTimeInMinutes".into(), b.json());
        }
        config.insert("CanaryConfiguration".into(), Value::Object(m));
    }
    if let Some(l) = &d.linear {
        let mut m = Map::new();
        if let Some(p) = &l.step_percent {
            m.insert("StepPercent".into(), p.json());
        }
        if let Some(b) = &l.step_bake_time {
            m.insert("StepBakeTimeInMinutes".into(), b.json());
        }
        config.insert("LinearConfiguration".into(), Value::Object(m));
    }
    if !hooks.is_empty() {
        config.insert("LifecycleHooks".into(), Value::Array(hooks));
    }
    if app.load_balancer.is_none() {
        return;
    }
    let production = match app.load_balancer.as_ref().map(|lb| &lb.routing) {
        Some(Routing::SharedRule { .. }) => ref_(&ids.of("ListenerRule")),
        _ => ref_(&ids.of("ProductionRule")),
    };
    if let Some(lb) = props["LoadBalancers"]
        .as_array_mut()
        .and_then(|a| a.first_mut())
    {
        lb["AdvancedConfiguration"] = json!({
            "AlternateTargetGroupArn": ref_(&ids.of("AlternateTargetGroup")),
            "ProductionListenerRule": production,
            "TestListenerRule": ref_(&ids.of("TestRule")),
            "RoleArn": get_att(&ids.of("TrafficShiftRole"), "Arn"),
        });
    }
}

fn lifecycle_hooks(
    app: &App,
    settings: &Settings,
    routing: &alb::RoutingOut,
    workers: Option<Value>,
) -> Vec<Value> {
    let role = get_att(&Ids(&app.id).of("HookRole"), "Arn");
    let mut hooks = Vec::new();
    if let Some(details) = gate_details(app, routing, workers) {
        let mut hook = json!({
            "HookTargetArn": settings.service_token,
            "RoleArn": role,
            "LifecycleStages": [GATE_STAGE],
            "HookDetails": json_string_with_numbers(&details, NUMERIC_KEYS),
        });
        if let Some(minutes) = gate_timeout_minutes(app) {
            // A hook that never answers (the provider's state table down) rolls back here
            // instead of after ECS's default 24 hours.
            hook["TimeoutConfiguration"] =
                json!({ "TimeoutInMinutes": minutes, "Action": "ROLLBACK" });
        }
        hooks.push(hook);
    }
    for h in &app.deployment.hooks {
        let mut hook = json!({
            "HookTargetArn": h.function_arn.json(),
            "RoleArn": role,
            "LifecycleStages": h.stages,
        });
        if let Some(d) = &h.details {
            hook["HookDetails"] = json_string(d);
        }
        hooks.push(hook);
    }
    hooks
}

fn gate_timeout_minutes(app: &App) -> Option<u64> {
    let lt = app.load_test.as_ref()?;
    match (&lt.warm_up, &lt.duration) {
        (Val::Lit(w), Val::Lit(d)) => Some((w + d).div_ceil(60) + GATE_TIMEOUT_MARGIN_MINUTES),
        _ => None,
    }
}

/// The gate's settings for the provider (`HookDetails.FargateAppLoadTest`, the contract in the
/// README's "Lifecycle hooks"), aimed at the test route: the one `GateSettings` value the
/// custom resource carries too (the VPC worker function among them), plus the test route's
/// header and the stages.
pub fn gate_details(app: &App, routing: &alb::RoutingOut, workers: Option<Value>) -> Option<Value> {
    app.load_balancer.as_ref()?;
    let settings = GateSettings::of(app, routing)?
        .with_header(TEST_ROUTE_HEADER, test_route_value(app))
        .with_worker_function(workers);
    let mut s = settings.to_map();
    s.insert("Stages".into(), json!([GATE_STAGE]));
    // The provider reads the stack's status: while CloudFormation rolls the stack back, ECS
    // re-deploys the previous revision and the gate stands aside.
    s.insert("StackId".into(), json!({ "Ref": "AWS::StackId" }));
    Some(json!({ "FargateAppLoadTest": s }))
}

/// HookDetails as ECS wants it, a JSON object in a string: literal JSON as is, deploy-time
/// values substituted by `Fn::Sub` (written as JSON strings; they are ARNs, names and URLs).
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-ecs-service-deploymentlifecyclehook.html
pub fn json_string(v: &Value) -> Value {
    json_string_with_numbers(v, &[])
}

/// As `json_string`, but a deploy-time value under one of `numeric` keys is written bare
/// (`"P99Ms":${Threshold}`), so a numeric parameter arrives as a JSON number.
pub fn json_string_with_numbers(v: &Value, numeric: &[&str]) -> Value {
    let mut n = 0;
    write_json(SubBuilder::new(), v, false, numeric, &mut n).build()
}

fn write_json(b: SubBuilder, v: &Value, bare: bool, numeric: &[&str], n: &mut usize) -> SubBuilder {
    if is_intrinsic(v) {
        *n += 1;
        let name = format!("V{n}");
        return if bare {
            b.value(&name, v)
        } else {
            b.text("\"").value(&name, v).text("\"")
        };
    }
    match v {
        Value::String(s) => b.text(&Value::String(s.clone()).to_string()),
        Value::Array(items) => {
            let mut b = b.text("[");
            for (i, it) in items.iter().enumerate() {
                if i > 0 {
                    b = b.text(",");
                }
                b = write_json(b, it, false, numeric, n);
            }
            b.text("]")
        }
        Value::Object(m) => {
            let mut b = b.text("{");
            for (i, (k, it)) in m.iter().enumerate() {
                if i > 0 {
                    b = b.text(",");
                }
                b = b.text(&Value::String(k.clone()).to_string()).text(":");
                b = write_json(b, it, numeric.contains(&k.as_str()), numeric, n);
            }
            b.text("}")
        }
        other => b.text(&other.to_string()),
    }
}
