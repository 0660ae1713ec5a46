//! The scaling check (`Custom::FargateScalingCheck`) against Application Auto Scaling's rules:
//! - scaling policies "will not scale capacity to values that are outside of the minimum and
//!   maximum range" of the scalable target, and the service starts at its minimum
//!   (https://docs.aws.amazon.com/autoscaling/application/APIReference/API_RegisterScalableTarget.html),
//!   so an `ExpectDesired` above MaxCapacity can never be reached and one at MinCapacity shows
//!   no scaling;
//! - target tracking scales out only after its high alarm saw 3 one-minute datapoints above the
//!   target (https://docs.aws.amazon.com/autoscaling/application/userguide/target-tracking-scaling-policy-overview.html):
//!   a load shorter than those 3 minutes plus a minute for the last datapoint cannot make it act;
//! - CloudFormation creates a resource after what it names (`DependsOn`, `Ref`, `Fn::GetAtt`)
//!   and in any order otherwise
//!   (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-dependson.html):
//!   a check not ordered after the service's scaling policies may load a service nothing scales.

use super::{lit_num, names_used, owner, references, App, Finding, Rule, Severity, Stack};
use serde_json::Value;
use std::collections::BTreeSet;

pub const CHECK_TYPE: &str = "Custom::FargateScalingCheck";
const TARGET_TYPE: &str = "AWS::ApplicationAutoScaling::ScalableTarget";
const POLICY_TYPE: &str = "AWS::ApplicationAutoScaling::ScalingPolicy";
/// The high alarm's datapoints and their period, plus one period for the last one.
pub const MIN_LOAD_SECONDS: f64 = 3.0 * 60.0 + 60.0;

pub const DESIRED_OUT_OF_RANGE: Rule = Rule {
    code: "AAS_CHECK_DESIRED_OUT_OF_RANGE",
    severity: Severity::Error,
    rule: "scaling policies keep the desired count within the scalable target's MinCapacity and MaxCapacity: a check must expect a count above MinCapacity and at most MaxCapacity",
    doc: "https://docs.aws.amazon.com/autoscaling/application/APIReference/API_RegisterScalableTarget.html",
};

pub const LOAD_TOO_SHORT: Rule = Rule {
    code: "AAS_CHECK_LOAD_TOO_SHORT",
    severity: Severity::Error,
    rule: "target tracking scales out after 3 one-minute datapoints above the target: a check's load must last at least 240 s",
    doc: "https://docs.aws.amazon.com/autoscaling/application/userguide/target-tracking-scaling-policy-overview.html",
};

pub const CHECK_BEFORE_POLICY: Rule = Rule {
    code: "CFN_CHECK_BEFORE_SCALING_POLICY",
    severity: Severity::Error,
    rule: "CloudFormation orders only what a resource names: a scaling check must name (DependsOn) the scalable target and every scaling policy of its service",
    doc: "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-dependson.html",
};

pub const RULES: &[&Rule] = &[&DESIRED_OUT_OF_RANGE, &LOAD_TOO_SHORT, &CHECK_BEFORE_POLICY];

/// Everything CloudFormation creates before `id` (what it names, and what those name).
fn before(st: &Stack, id: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![id.to_string()];
    while let Some(n) = todo.pop() {
        for m in st.get(&n).map(names_used).unwrap_or_default() {
            if seen.insert(m.clone()) {
                todo.push(m);
            }
        }
    }
    seen
}

pub fn check(st: &Stack, apps: &[App]) -> Vec<Finding> {
    let mut out = Vec::new();
    for (id, p) in st.of_type(CHECK_TYPE) {
        let app = owner(apps, id).map_or("-", |a| a.name.as_str());
        // The service the check reads: what its ServiceName names.
        let mut svc = BTreeSet::new();
        references(&p["ServiceName"], &mut svc);
        // Its scalable target: the one whose ResourceId names the same service.
        let target = st.of_type(TARGET_TYPE).find(|(_, t)| {
            let mut r = BTreeSet::new();
            references(&t["ResourceId"], &mut r);
            !svc.is_empty() && r.is_superset(&svc)
        });
        let Some((tid, t)) = target else {
            continue;
        };
        // A `Ref` to a parameter counts with its `Default`: the value the stack gets when none
        // is given (parameters-section-structure.html).
        let num = |v: &Value| st.number_or_default(v).map(|(n, _)| n);
        if let Some(want) = num(&p["ExpectDesired"]) {
            let (min, max) = (num(&t["MinCapacity"]), num(&t["MaxCapacity"]));
            if max.is_some_and(|m| want > m) || min.is_some_and(|m| want <= m) {
                out.push(Finding::new(
                    &DESIRED_OUT_OF_RANGE,
                    app,
                    &[id, tid],
                    format!(
                        "{id} expects a desired count of {want}; {tid} keeps it within {}..{}",
                        min.map_or("?".into(), |m| m.to_string()),
                        max.map_or("?".into(), |m| m.to_string())
                    ),
                ));
            }
        }
        if let Some(d) = lit_num(&p["Duration"]) {
            if d < MIN_LOAD_SECONDS {
                out.push(Finding::new(
                    &LOAD_TOO_SHORT,
                    app,
                    &[id],
                    format!("{id} loads for {d} s, less than the {MIN_LOAD_SECONDS} s target tracking needs to act"),
                ));
            }
        }
        let earlier = before(st, id);
        let mut missing: Vec<&str> = st
            .of_type(POLICY_TYPE)
            .filter(|(_, pol)| {
                let mut r = BTreeSet::new();
                references(&pol["ScalingTargetId"], &mut r);
                r.contains(tid)
            })
            .map(|(pid, _)| pid)
            .filter(|pid| !earlier.contains(*pid))
            .collect();
        if !earlier.contains(tid) {
            missing.insert(0, tid);
        }
        if !missing.is_empty() {
            let mut res = vec![id];
            res.extend(missing.iter().copied());
            out.push(Finding::new(
                &CHECK_BEFORE_POLICY,
                app,
                &res,
                format!(
                    "{id} may be created before {}: its load could run before target tracking exists",
                    missing.join(", ")
                ),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::test_stack;
    use serde_json::json;

    /// The RegisterScalableTarget page's example: service `web-app` on the default cluster,
    /// MinCapacity 1, MaxCapacity 10; one target-tracking policy on it.
    fn stack(expect: Value, duration: u64, depends: Value) -> Stack {
        let mut st = test_stack(&json!({
            "WebAppTaskDefinition": {"Type": "AWS::ECS::TaskDefinition", "Properties": {}},
            "WebAppService": {"Type": "AWS::ECS::Service", "Properties": {"TaskDefinition": {"Ref": "WebAppTaskDefinition"}}},
            "WebAppScalableTarget": {"Type": TARGET_TYPE, "Properties": {
                "ServiceNamespace": "ecs", "ScalableDimension": "ecs:service:DesiredCount",
                "ResourceId": {"Fn::Join": ["/", ["service", "default", {"Fn::GetAtt": ["WebAppService", "Name"]}]]},
                "MinCapacity": 1, "MaxCapacity": 10}},
            "WebAppCpuScaling": {"Type": POLICY_TYPE, "Properties": {
                "PolicyType": "TargetTrackingScaling", "ScalingTargetId": {"Ref": "WebAppScalableTarget"}}},
            "WebAppScalingCheck": {"Type": CHECK_TYPE, "DependsOn": depends, "Properties": {
                "ServiceName": {"Fn::GetAtt": ["WebAppService", "Name"]},
                "ExpectDesired": expect, "Duration": duration, "MinCapacity": 1}},
        }));
        // Parameters for ExpectDesired by Ref: at MinCapacity, and one above it.
        for (name, default) in [("AtMin", 1), ("Above", 2)] {
            st.parameters.insert(name.to_string());
            st.defaults.insert(name.to_string(), json!(default));
        }
        st
    }

    #[test]
    fn the_page_example_table() {
        let after = json!(["WebAppScalableTarget", "WebAppCpuScaling"]);
        let cases = [
            ("reachable maximum", json!(10), 300, after.clone(), vec![]),
            (
                "one above the minimum",
                json!(2),
                300,
                after.clone(),
                vec![],
            ),
            (
                "above MaxCapacity",
                json!(11),
                300,
                after.clone(),
                vec!["AAS_CHECK_DESIRED_OUT_OF_RANGE"],
            ),
            (
                "at MinCapacity",
                json!(1),
                300,
                after.clone(),
                vec!["AAS_CHECK_DESIRED_OUT_OF_RANGE"],
            ),
            (
                "two datapoints of load",
                json!(2),
                120,
                after.clone(),
                vec!["AAS_CHECK_LOAD_TOO_SHORT"],
            ),
            (
                "exactly 3 datapoints and one more",
                json!(2),
                240,
                after.clone(),
                vec![],
            ),
            (
                "not after the policy",
                json!(2),
                300,
                json!(["WebAppScalableTarget"]),
                vec!["CFN_CHECK_BEFORE_SCALING_POLICY"],
            ),
            (
                "a parameter whose Default is MinCapacity",
                json!({"Ref": "AtMin"}),
                300,
                after.clone(),
                vec!["AAS_CHECK_DESIRED_OUT_OF_RANGE"],
            ),
            (
                "a parameter whose Default is above MinCapacity",
                json!({"Ref": "Above"}),
                300,
                after.clone(),
                vec![],
            ),
            (
                "after neither",
                json!(2),
                300,
                json!([]),
                vec!["CFN_CHECK_BEFORE_SCALING_POLICY"],
            ),
            // Through the policy, which names the target: ordered after both.
            (
                "after the policy only",
                json!(2),
                300,
                json!(["WebAppCpuScaling"]),
                vec![],
            ),
        ];
        for (name, expect, duration, deps, want) in cases {
            let st = stack(expect, duration, deps);
            let got: Vec<&str> = check(&st, &st.apps).iter().map(|f| f.code).collect();
            assert_eq!(got, want, "{name}");
        }
    }
}
