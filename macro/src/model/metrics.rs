//! Metrics that scaling policies and alarms read. `ALBRequestCountPerTarget` names one target
//! group in its `ResourceLabel`; an alarm names one target group in its dimensions. After a
//! blue/green, canary or linear deployment production may run in the other target group, where
//! that metric has no data: the policy stops scaling and the alarm goes to INSUFFICIENT_DATA.

use super::{items, references, target, App, Finding, Rule, Severity, Stack};
use std::collections::BTreeSet;

/// A warning, as `expand`'s FA305 for the same resource: CloudFormation creates the policy or
/// alarm and it works until the first swap; after it the metric has no data (the model's
/// warning: "it deploys but something is open or fragile").
pub const ONE_TARGET_GROUP: Rule = Rule {
    code: "METRIC_NAMES_ONE_TARGET_GROUP",
    severity: Severity::Warning,
    rule: "ALBRequestCountPerTarget's ResourceLabel (and a TargetGroup dimension) names one target group; a strategy leaves production in either group",
    doc: "https://docs.aws.amazon.com/autoscaling/application/APIReference/API_PredefinedMetricSpecification.html",
};

/// PutMetricAlarm: `DatapointsToAlarm` (M of N) is at most `EvaluationPeriods`, and
/// `TreatMissingData` is one of `breaching`, `notBreaching`, `ignore`, `missing`
/// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html,
/// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html).
pub const ALARM_EVALUATION: Rule = Rule {
    code: "ALARM_EVALUATION_INVALID",
    severity: Severity::Error,
    rule: "an alarm's DatapointsToAlarm is at most its EvaluationPeriods, and its TreatMissingData is breaching, notBreaching, ignore or missing",
    doc: "https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html",
};

pub const RULES: &[&Rule] = &[&ONE_TARGET_GROUP, &ALARM_EVALUATION];

/// Literal values of `AWS::CloudWatch::Alarm` that PutMetricAlarm would refuse.
fn alarm_evaluation(st: &Stack, apps: &[App]) -> Vec<Finding> {
    let mut out = Vec::new();
    for (id, p) in st.of_type("AWS::CloudWatch::Alarm") {
        let mut why = Vec::new();
        if let (Some(m), Some(n)) = (
            p["DatapointsToAlarm"].as_u64(),
            p["EvaluationPeriods"].as_u64(),
        ) {
            if m > n {
                why.push(format!(
                    "DatapointsToAlarm {m} is more than EvaluationPeriods {n}"
                ));
            }
        }
        if let Some(t) = p["TreatMissingData"].as_str() {
            if !["breaching", "notBreaching", "ignore", "missing"].contains(&t) {
                why.push(format!(
                    "TreatMissingData {t:?} is not one CloudWatch knows"
                ));
            }
        }
        if !why.is_empty() {
            let app = super::owner(apps, id)
                .map(|a| a.name.as_str())
                .unwrap_or("-");
            out.push(Finding::new(
                &ALARM_EVALUATION,
                app,
                &[id],
                format!("{id}: {}", why.join("; ")),
            ));
        }
    }
    out
}

/// The target groups a strategy may leave production in.
fn groups(st: &Stack, app: &App) -> Option<BTreeSet<String>> {
    let lb = items(&st.props(&app.service)["LoadBalancers"]).next()?;
    let alt = target(&lb["AdvancedConfiguration"]["AlternateTargetGroupArn"])?;
    Some([target(&lb["TargetGroupArn"])?.to_string(), alt.to_string()].into())
}

pub fn check(st: &Stack, apps: &[App]) -> Vec<Finding> {
    let mut out = alarm_evaluation(st, apps);
    for app in apps {
        let Some(both) = groups(st, app) else {
            continue;
        };
        let mut named = Vec::new();
        for (id, p) in st.of_type("AWS::ApplicationAutoScaling::ScalingPolicy") {
            let spec =
                &p["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"];
            if spec["PredefinedMetricType"] == "ALBRequestCountPerTarget" {
                let mut n = BTreeSet::new();
                references(&spec["ResourceLabel"], &mut n);
                named.push((id, n));
            }
        }
        for (id, p) in st.of_type("AWS::CloudWatch::Alarm") {
            let mut n = BTreeSet::new();
            for d in items(&p["Dimensions"]).filter(|d| d["Name"] == "TargetGroup") {
                references(&d["Value"], &mut n);
            }
            if !n.is_empty() {
                named.push((id, n));
            }
        }
        for (id, n) in named {
            let hit: Vec<&String> = both.iter().filter(|g| n.contains(*g)).collect();
            if hit.len() == 1 {
                let other = both
                    .iter()
                    .find(|g| !n.contains(*g))
                    .cloned()
                    .unwrap_or_default();
                out.push(Finding::new(
                    &ONE_TARGET_GROUP,
                    &app.name,
                    &[id, hit[0]],
                    format!("{id} reads {} only; after a swap production runs in {other} and the metric has no data", hit[0]),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The page's ResourceLabel example joins the load balancer's and the target group's final
    /// ARN parts: it names exactly one target group.
    #[test]
    fn a_label_for_one_of_two_groups_is_found() {
        let st = |label: serde_json::Value| {
            super::super::test_stack(&json!({
                "WebService": {"Type": "AWS::ECS::Service", "Properties": {
                    "TaskDefinition": {"Ref": "WebTaskDefinition"},
                    "LoadBalancers": [{"TargetGroupArn": {"Ref": "WebTargetGroup"},
                        "AdvancedConfiguration": {"AlternateTargetGroupArn": {"Ref": "WebAlternateTargetGroup"}}}]}},
                "WebRequestScaling": {"Type": "AWS::ApplicationAutoScaling::ScalingPolicy", "Properties": {
                    "TargetTrackingScalingPolicyConfiguration": {"PredefinedMetricSpecification": {
                        "PredefinedMetricType": "ALBRequestCountPerTarget", "ResourceLabel": label}}}}
            }))
        };
        let app = App {
            name: "Web".into(),
            service: "WebService".into(),
        };
        let cases = [
            (
                json!({"Fn::Join": ["/", ["app/my-alb/778d41231b141a0f", {"Fn::GetAtt": ["WebTargetGroup", "TargetGroupFullName"]}]]}),
                1,
            ),
            (
                json!(
                    "app/my-alb/778d41231b141a0f/targetgroup/my-alb-target-group/943f017f100becff"
                ),
                0,
            ),
        ];
        for (label, want) in cases {
            assert_eq!(
                check(&st(label.clone()), std::slice::from_ref(&app)).len(),
                want,
                "{label}"
            );
        }
    }

    /// PutMetricAlarm's M-of-N: 3 of 5 is valid, 5 of 5 is valid, 6 of 5 is not; the four
    /// TreatMissingData values and one it does not know.
    #[test]
    fn alarm_evaluation_follows_put_metric_alarm() {
        use serde_json::json;
        let cases = [
            (
                json!({"DatapointsToAlarm": 3, "EvaluationPeriods": 5}),
                false,
            ),
            (
                json!({"DatapointsToAlarm": 5, "EvaluationPeriods": 5}),
                false,
            ),
            (
                json!({"DatapointsToAlarm": 6, "EvaluationPeriods": 5}),
                true,
            ),
            (
                json!({"EvaluationPeriods": 1, "TreatMissingData": "breaching"}),
                false,
            ),
            (json!({"TreatMissingData": "notBreaching"}), false),
            (json!({"TreatMissingData": "ignore"}), false),
            (json!({"TreatMissingData": "missing"}), false),
            (json!({"TreatMissingData": "NotBreaching"}), true),
        ];
        for (props, bad) in cases {
            let st = crate::model::test_stack(
                &json!({"A": {"Type": "AWS::CloudWatch::Alarm", "Properties": props}}),
            );
            let got = alarm_evaluation(&st, &st.apps);
            assert_eq!(!got.is_empty(), bad, "{props}: {got:?}");
        }
    }
}
