//! Health-check timings as the APIs that take them define them: whole seconds within each
//! API's range. The template's durations (`Interval: 30s`, `Duration: 2m`) are read by the
//! macro and must reach these properties as integers in range.

use super::{items, owner, App, Finding, Rule, Severity, Stack};
use serde_json::Value;

pub const TARGET_GROUP_TIMING: Rule = Rule {
    code: "ELB_HEALTH_CHECK_TIMING",
    severity: Severity::Error,
    rule: "a target group's HealthCheckIntervalSeconds is an integer from 5 to 300 and HealthCheckTimeoutSeconds one from 2 to 120 (CreateTargetGroup)",
    doc: "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html",
};

pub const CONTAINER_TIMING: Rule = Rule {
    code: "ECS_HEALTH_CHECK_TIMING",
    severity: Severity::Error,
    rule: "a container health check's interval is an integer from 5 to 300 seconds, its timeout from 2 to 60, its startPeriod from 0 to 300 (HealthCheck)",
    doc: "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_HealthCheck.html",
};

pub const RULES: &[&Rule] = &[&TARGET_GROUP_TIMING, &CONTAINER_TIMING];

/// A problem with one timing value: not an integer (a leftover `"30s"`), or out of range.
/// An intrinsic is not known here and passes.
/// CloudFormation converts a numeric string (`"30"`) for an integer property; `"30s"` is not one.
fn timing(v: &Value, name: &str, min: u64, max: u64) -> Option<String> {
    let n = match v {
        Value::Null | Value::Object(_) => return None,
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse::<u64>().ok(),
        _ => None,
    };
    match n {
        Some(x) if (min..=max).contains(&x) => None,
        Some(x) => Some(format!("{name} {x} is outside {min}-{max}")),
        None => Some(format!("{name} {v} is not an integer")),
    }
}

pub fn check(st: &Stack, apps: &[App]) -> Vec<Finding> {
    let mut out = Vec::new();
    let app_of = |id: &str| {
        owner(apps, id)
            .map(|a| a.name.clone())
            .unwrap_or("-".into())
    };
    for (id, p) in st.of_type("AWS::ElasticLoadBalancingV2::TargetGroup") {
        for (k, min, max) in [
            ("HealthCheckIntervalSeconds", 5, 300),
            ("HealthCheckTimeoutSeconds", 2, 120),
        ] {
            if let Some(m) = timing(&p[k], k, min, max) {
                out.push(Finding::new(&TARGET_GROUP_TIMING, &app_of(id), &[id], m));
            }
        }
    }
    for (id, p) in st.of_type("AWS::ECS::TaskDefinition") {
        for c in items(&p["ContainerDefinitions"]) {
            let h = &c["HealthCheck"];
            for (k, min, max) in [
                ("Interval", 5, 300),
                ("Timeout", 2, 60),
                ("StartPeriod", 0, 300),
            ] {
                if let Some(m) = timing(&h[k], &format!("HealthCheck.{k}"), min, max) {
                    out.push(Finding::new(&CONTAINER_TIMING, &app_of(id), &[id], m));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::test_stack;
    use serde_json::json;

    /// The pages' ranges: CreateTargetGroup "HealthCheckIntervalSeconds ... The range is
    /// 5-300", "HealthCheckTimeoutSeconds ... The range is 2–120"; HealthCheck "interval ...
    /// between 5 and 300 seconds", "timeout ... between 2 and 60", "startPeriod ... 0 and 300";
    /// each Type: Integer.
    #[test]
    fn timings_are_whole_seconds_in_range() {
        let tg = |i: Value, t: Value| {
            json!({"WebTargetGroup": {"Type": "AWS::ElasticLoadBalancingV2::TargetGroup",
                "Properties": {"HealthCheckIntervalSeconds": i, "HealthCheckTimeoutSeconds": t}}})
        };
        let td = |hc: Value| {
            json!({"WebTaskDefinition": {"Type": "AWS::ECS::TaskDefinition",
                "Properties": {"ContainerDefinitions": [{"Name": "app", "HealthCheck": hc}]}}})
        };
        let cases = [
            (tg(json!(30), json!(5)), vec![]),
            (tg(json!(5), json!(120)), vec![]),
            (tg(json!(300), json!(2)), vec![]),
            (tg(json!(4), json!(5)), vec!["ELB_HEALTH_CHECK_TIMING"]),
            (tg(json!(30), json!(121)), vec!["ELB_HEALTH_CHECK_TIMING"]),
            (tg(json!("30s"), json!(5)), vec!["ELB_HEALTH_CHECK_TIMING"]),
            (tg(json!({"Ref": "I"}), json!(5)), vec![]),
            (tg(json!("30"), json!("5")), vec![]),
            (
                td(json!({"Interval": 30, "Timeout": 5, "StartPeriod": 0})),
                vec![],
            ),
            (
                td(json!({"Interval": 300, "Timeout": 60, "StartPeriod": 300})),
                vec![],
            ),
            (
                td(json!({"Interval": 30, "Timeout": 61})),
                vec!["ECS_HEALTH_CHECK_TIMING"],
            ),
            (
                td(json!({"Interval": "1m"})),
                vec!["ECS_HEALTH_CHECK_TIMING"],
            ),
            (
                td(json!({"StartPeriod": 301})),
                vec!["ECS_HEALTH_CHECK_TIMING"],
            ),
        ];
        for (resources, want) in cases {
            let st = test_stack(&resources);
            let got: Vec<&str> = check(&st, &st.apps).iter().map(|f| f.code).collect();
            assert_eq!(got, want, "{resources}");
        }
    }
}
