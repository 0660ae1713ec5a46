//! Application Auto Scaling: a scalable target on the service's desired count and one
//! target-tracking policy per metric.

use super::alb::RoutingOut;
use super::{Ids, Out, SHARED_CLUSTER_ID};
use crate::intrinsics::{get_att, join, ref_, select_split};
use crate::reader::Val;
use crate::spec::{App, Routing};
use serde_json::{json, Value};

/// `service/CLUSTER/SERVICE`, the ID Application Auto Scaling knows an ECS service by.
pub fn resource_id(app: &App) -> Value {
    let service = Ids(&app.id).of("Service");
    let cluster_name = match &app.cluster {
        None => Some(ref_(SHARED_CLUSTER_ID)),
        Some(Value::String(s)) => {
            Some(Value::String(s.rsplit('/').next().unwrap_or(s).to_string()))
        }
        Some(_) => None,
    };
    match cluster_name {
        Some(c) => join("/", vec![json!("service"), c, get_att(&service, "Name")]),
        // A cluster given by an intrinsic may be a name or an ARN; the service ARN
        // (arn:...:service/CLUSTER/SERVICE) carries both names either way.
        None => select_split(5, ":", ref_(&service)),
    }
}

pub fn generate(app: &App, routing: &RoutingOut, out: &mut Out) {
    let Some(s) = &app.scaling else { return };
    let ids = Ids(&app.id);
    let target = ids.of("ScalableTarget");
    out.add(
        target.clone(),
        "AWS::ApplicationAutoScaling::ScalableTarget",
        json!({
            "ServiceNamespace": "ecs",
            "ScalableDimension": "ecs:service:DesiredCount",
            "ResourceId": resource_id(app),
            "MinCapacity": s.min.json(),
            "MaxCapacity": s.max.json(),
        }),
    );
    let policy = |metric: Value, value: &Val<u64>| {
        json!({
            "PolicyType": "TargetTrackingScaling",
            "ScalingTargetId": ref_(&target),
            "TargetTrackingScalingPolicyConfiguration": {
                "PredefinedMetricSpecification": metric,
                "TargetValue": value.json(),
                "ScaleInCooldown": s.scale_in_cooldown.as_ref().map(Val::json),
                "ScaleOutCooldown": s.scale_out_cooldown.as_ref().map(Val::json),
            },
        })
    };
    for (suffix, metric, value) in [
        (
            "CpuScaling",
            "ECSServiceAverageCPUUtilization",
            &s.cpu_percent,
        ),
        (
            "MemoryScaling",
            "ECSServiceAverageMemoryUtilization",
            &s.memory_percent,
        ),
    ] {
        if let Some(v) = value {
            let mut p = policy(json!({ "PredefinedMetricType": metric }), v);
            p["PolicyName"] = json!(format!("{}-{}", app.id, suffix));
            out.add(
                ids.of(suffix),
                "AWS::ApplicationAutoScaling::ScalingPolicy",
                p,
            );
        }
    }
    if let (Some(v), Some(lb)) = (&s.requests_per_target, &app.load_balancer) {
        let tg_name = get_att(&ids.of("TargetGroup"), "TargetGroupFullName");
        let lb_name = match &lb.routing {
            Routing::Dedicated { .. } => {
                Some(get_att(&ids.of("LoadBalancer"), "LoadBalancerFullName"))
            }
            Routing::SharedPort { arn, .. } => Some(select_split(1, "loadbalancer/", arn.json())),
            Routing::SharedRule { arn, listener, .. } => Some(match arn {
                Some(a) => select_split(1, "loadbalancer/", a.json()),
                // A listener's ARN holds its load balancer's full name:
                // `arn:...:listener/app/NAME/LB-ID/LISTENER-ID` -> `app/NAME/LB-ID`.
                // https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-listeners.html
                None => join(
                    "/",
                    (1..=3)
                        .map(|i| select_split(i, "/", listener.json()))
                        .collect(),
                ),
            }),
        };
        if let Some(lb_name) = lb_name {
            let mut p = if app.deployment.strategy.shifts_traffic() {
                // After a blue/green swap production runs in the alternate target group, and a
                // policy on the first group's metric would stop scaling: track the sum of both
                // groups' requests per target (the idle group's missing data filled with 0),
                // by metric math.
                // https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-target-tracking-metric-math.html
                // https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html
                let stat = |id: &str, tg: Value| {
                    json!({ "Id": id, "ReturnData": false, "MetricStat": { "Stat": "Sum", "Metric": {
                        "Namespace": "AWS/ApplicationELB",
                        "MetricName": "RequestCountPerTarget",
                        "Dimensions": [
                            { "Name": "TargetGroup", "Value": tg },
                            { "Name": "LoadBalancer", "Value": lb_name.clone() },
                        ],
                    }}})
                };
                let alternate = get_att(&ids.of("AlternateTargetGroup"), "TargetGroupFullName");
                let mut p = policy(Value::Null, v);
                let config = &mut p["TargetTrackingScalingPolicyConfiguration"];
                config
                    .as_object_mut()
                    .expect("an object")
                    .remove("PredefinedMetricSpecification");
                config["CustomizedMetricSpecification"] = json!({ "Metrics": [
                    stat("primary", tg_name),
                    stat("alternate", alternate),
                    { "Id": "requests", "Expression": "FILL(primary, 0) + FILL(alternate, 0)", "Label": "requests per target, both target groups", "ReturnData": true },
                ]});
                p
            } else {
                let metric = json!({
                    "PredefinedMetricType": "ALBRequestCountPerTarget",
                    "ResourceLabel": join("/", vec![lb_name, tg_name]),
                });
                policy(metric, v)
            };
            p["PolicyName"] = json!(format!("{}-RequestScaling", app.id));
            let r = out.add(
                ids.of("RequestScaling"),
                "AWS::ApplicationAutoScaling::ScalingPolicy",
                p,
            );
            // The metric exists once the target group is attached to the load balancer.
            if let Some(dep) = &routing.attached_by {
                super::depends_on(r, std::slice::from_ref(dep));
            }
        }
    }
}
