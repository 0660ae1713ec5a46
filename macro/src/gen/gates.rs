//! The provider-backed parts of an App: weighted failover driven by an alarm, and the
//! post-deploy load-test gate.

use super::alb::{standby_target_group, RoutingOut};
use super::gate_settings::GateSettings;
use super::{cluster_ref, depends_on, ecs, Ids, Out, Settings};
use crate::intrinsics::{get_att, ref_, SubBuilder};
use crate::spec::{App, FailoverAlarm, Standby};
use serde_json::{json, Map, Value};

pub const WEIGHTED_FAILOVER_TYPE: &str = "Custom::FargateWeightedFailover";
pub const LOAD_TEST_GATE_TYPE: &str = "Custom::FargateLoadTestGate";
/// How often the provider re-checks a failover whose alarm state and weights disagree (for
/// example when the standby's targets were not healthy in time on the previous call).
pub const FAILOVER_RECHECK: &str = "rate(2 minutes)";
/// Every EventBridge rule the macro makes is named with this prefix: cfn/provider.yaml grants
/// EventBridge the right to invoke the provider once, for `rule/FargateApp-*` of the account,
/// instead of one resource-policy statement per App (the policy is capped at 20 KB).
pub const RULE_NAME_PREFIX: &str = "FargateApp-";
/// EventBridge rule names: 1-64 of `[.-_A-Za-z0-9]`.
const RULE_NAME_MAX: usize = 64;
/// The stack part of a rule name: the last 12 hex digits of the stack ID's UUID.
const STACK_TAG_LEN: usize = 12;

pub fn generate(app: &App, settings: &Settings, routing: &RoutingOut, out: &mut Out) {
    failover(app, settings, routing, out);
    load_test(app, settings, routing, out);
}

fn failover(app: &App, settings: &Settings, routing: &RoutingOut, out: &mut Out) {
    let Some(f) = &app.failover else { return };
    let ids = Ids(&app.id);
    if let Standby::Function(arn) = &f.standby {
        let perm = ids.of("StandbyInvokePermission");
        out.add(
            perm.clone(),
            "AWS::Lambda::Permission",
            json!({
                "Action": "lambda:InvokeFunction",
                "FunctionName": arn.json(),
                "Principal": "elasticloadbalancing.amazonaws.com",
                "SourceAccount": ref_("AWS::AccountId"),
            }),
        );
        let tg = out.add(
            ids.of("StandbyTargetGroup"),
            "AWS::ElasticLoadBalancingV2::TargetGroup",
            json!({
                "TargetType": "lambda",
                "Targets": [{ "Id": arn.json() }],
                "Tags": super::tag_list(app),
            }),
        );
        depends_on(tg, &[perm]);
    }
    let alarm_name = match &f.alarm {
        FailoverAlarm::Existing(name) => name.json(),
        FailoverAlarm::Trigger(t) => {
            let id = ids.of("FailoverAlarm");
            let mut props = t.clone();
            props.insert(
                "AlarmDescription".into(),
                json!(format!(
                    "Moves {}'s traffic from its standby to the ECS service",
                    app.id
                )),
            );
            // TreatMissingData is the user's (notBreaching when not given): spec/failover.rs.
            out.add(id.clone(), "AWS::CloudWatch::Alarm", Value::Object(props));
            ref_(&id)
        }
    };
    // The recovery condition: its alarm is in ALARM while traffic may move back to the standby.
    let recovery_name = f.recovery.as_ref().map(|t| {
        let id = ids.of("FailoverRecoveryAlarm");
        let mut props = t.clone();
        // Without Dimensions, an AWS/ApplicationELB condition measures the App's own target
        // group: the TargetGroup dimension alone is valid for the per-target metrics such as
        // RequestCountPerTarget
        // (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html).
        if !props.contains_key("Dimensions") && props.get("Namespace") == Some(&json!("AWS/ApplicationELB")) {
            props.insert(
                "Dimensions".into(),
                json!([{ "Name": "TargetGroup", "Value": get_att(&ids.of("TargetGroup"), "TargetGroupFullName") }]),
            );
        }
        props.insert(
            "AlarmDescription".into(),
            json!(format!(
                "In ALARM while {}'s traffic may move back from the ECS service to its standby",
                app.id
            )),
        );
        out.add(id.clone(), "AWS::CloudWatch::Alarm", Value::Object(props));
        ref_(&id)
    });
    let (target_key, target_arn) = match (&routing.rule_arn, &routing.listener_arn) {
        (Some(rule), _) => ("RuleArn", rule.clone()),
        (None, Some(listener)) => ("ListenerArn", listener.clone()),
        (None, None) => return,
    };
    let standby_tg = standby_target_group(app).expect("failover has a standby");
    let mut config = Map::new();
    config.insert("AlarmName".into(), alarm_name.clone());
    config.insert(target_key.into(), target_arn);
    config.insert("TargetGroupArn".into(), ref_(&ids.of("TargetGroup")));
    config.insert("StandbyTargetGroupArn".into(), standby_tg);
    config.insert("Cluster".into(), cluster_ref(app));
    config.insert("ServiceName".into(), get_att(&ids.of("Service"), "Name"));
    config.insert("StandbyCount".into(), f.standby_count.json());
    config.insert("RestingCount".into(), ecs::resting_count(app));
    config.insert("HealthyTimeout".into(), f.healthy_timeout.json());
    if let Some(name) = &recovery_name {
        config.insert("RecoveryAlarmName".into(), name.clone());
    }
    if f.min_service_time != crate::reader::Val::Lit(0) {
        config.insert("MinServiceTime".into(), f.min_service_time.json());
    }

    // Alarm events and a periodic re-check both carry the same configuration; the provider
    // acts on the alarm's current state, so duplicates and reordering do no harm.
    let input = event_input(&config);
    // Both alarms' state changes reach the provider: a recovery that holds moves traffic back
    // as soon as it is seen, not at the next re-check.
    let alarm_names: Vec<Value> = std::iter::once(alarm_name.clone())
        .chain(recovery_name.clone())
        .collect();
    let events = ids.of("FailoverEvents");
    out.add(
        events.clone(),
        "AWS::Events::Rule",
        json!({
            "Name": rule_name(&app.id, "alarm"),
            "Description": format!("Alarm state changes that move {}'s traffic", app.id),
            "EventPattern": {
                "source": ["aws.cloudwatch"],
                "detail-type": ["CloudWatch Alarm State Change"],
                "detail": { "alarmName": alarm_names },
            },
            "State": "ENABLED",
            "Targets": [{ "Id": "provider", "Arn": settings.service_token, "Input": input }],
        }),
    );
    let recheck = ids.of("FailoverRecheck");
    out.add(
        recheck.clone(),
        "AWS::Events::Rule",
        json!({
            "Name": rule_name(&app.id, "recheck"),
            "Description": format!("Re-checks {}'s failover until weights match the alarm", app.id),
            "ScheduleExpression": FAILOVER_RECHECK,
            "State": "ENABLED",
            "Targets": [{ "Id": "provider", "Arn": settings.service_token, "Input": input }],
        }),
    );
    let mut props = Map::new();
    props.insert("ServiceToken".into(), settings.service_token.clone());
    props.extend(config);
    let r = out.add(
        ids.of("WeightedFailover"),
        WEIGHTED_FAILOVER_TYPE,
        Value::Object(props),
    );
    let mut deps = vec![ids.of("Service")];
    deps.extend(routing.attached_by.iter().cloned());
    depends_on(r, &deps);
}

/// `FargateApp-<stack tag>-<App>-<kind>`, unique per stack and App, within 64 characters: a
/// long logical ID is cut and a hash of the whole ID keeps it unique.
pub fn rule_name(app_id: &str, kind: &str) -> Value {
    let room = RULE_NAME_MAX - RULE_NAME_PREFIX.len() - STACK_TAG_LEN - kind.len() - 2;
    let app = if app_id.len() <= room {
        app_id.to_string()
    } else {
        // FNV-1a: a stable hash with no dependency.
        let hash = app_id.bytes().fold(0x811c_9dc5_u32, |h, b| {
            (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
        });
        format!("{}{hash:08x}", &app_id[..room - 8])
    };
    json!({ "Fn::Sub": [
        format!("{RULE_NAME_PREFIX}${{StackTag}}-{app}-{kind}"),
        { "StackTag": { "Fn::Select": [4, { "Fn::Split": ["-", { "Fn::Select": [2, { "Fn::Split": ["/", { "Ref": "AWS::StackId" }] }] }] }] } },
    ]})
}

/// The EventBridge target input: `{"FargateAppFailover": {...}}` as a JSON string whose
/// deploy-time values are substituted by `Fn::Sub`.
fn event_input(config: &Map<String, Value>) -> Value {
    let mut b = SubBuilder::new().text("{\"FargateAppFailover\":{");
    for (i, (k, v)) in config.iter().enumerate() {
        if i > 0 {
            b = b.text(",");
        }
        b = b.text(&format!("\"{k}\":"));
        // Literals are JSON-escaped here; deploy-time values are names and ARNs, which hold no
        // quote or backslash.
        b = match v {
            Value::String(s) => b.text(&Value::String(s.clone()).to_string()),
            Value::Number(n) => b.text(&format!("\"{n}\"")),
            _ => b.text("\"").value(k, v).text("\""),
        };
    }
    b.text("}}").build()
}

fn load_test(app: &App, settings: &Settings, routing: &RoutingOut, out: &mut Out) {
    let Some(lt) = &app.load_test else { return };
    if app.deployment.strategy.shifts_traffic() {
        return; // a lifecycle hook instead (gen/deployment.rs)
    }
    // Validation refuses a LoadTest whose URL cannot be known.
    let Some(gate) = GateSettings::of(app, routing) else {
        return;
    };
    let reach = super::gate_reach::generate(app, settings, routing, out);
    let gate = gate.with_worker_function(reach.worker_function);
    let ids = Ids(&app.id);
    let mut props = Map::new();
    props.insert("ServiceToken".into(), settings.service_token.clone());
    props.extend(gate.to_map());
    // A new task definition revision changes this property, so every deployment re-runs the
    // gate.
    props.insert(
        "TaskDefinitionArn".into(),
        super::ecs::task_definition_ref(app),
    );
    props.insert("Cluster".into(), cluster_ref(app));
    props.insert("ServiceName".into(), get_att(&ids.of("Service"), "Name"));
    props.insert("Workers".into(), lt.workers.json());
    if let Some(h) = reach.routing_header {
        props.insert("RoutingHeader".into(), h);
    }
    let r = out.add(
        ids.of("LoadTestGate"),
        LOAD_TEST_GATE_TYPE,
        Value::Object(props),
    );
    let mut deps = vec![ids.of("Service")];
    deps.extend(routing.attached_by.iter().cloned());
    deps.extend(reach.depends_on);
    depends_on(r, &deps);
}
