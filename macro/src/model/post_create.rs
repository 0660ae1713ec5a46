//! A post-create step runs against a service that exists and is stable: CloudFormation creates
//! a resource after the resources it names (`Ref`, `Fn::GetAtt`) or lists in `DependsOn`, and
//! the others in parallel; an ECS service is created once it reaches a steady state.
//! https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-dependson.html

use super::{names_used, owner, App, Finding, Rule, Severity, Stack};

pub const BEFORE_SERVICE: Rule = Rule {
    code: "POST_CREATE_BEFORE_SERVICE",
    severity: Severity::Error,
    rule: "resources that neither name nor depend on each other are created in parallel: a post-create step depends on the App's service (and on its gate, when there is one)",
    doc: "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-dependson.html",
};

pub const RULES: &[&Rule] = &[&BEFORE_SERVICE];

pub fn check(st: &Stack, apps: &[App]) -> Vec<Finding> {
    let mut out = Vec::new();
    for (id, r) in &st.resources {
        if r.get("Type").and_then(|t| t.as_str()) != Some("Custom::FargatePostCreate") {
            continue;
        }
        let Some(app) = owner(apps, id) else { continue };
        let used = names_used(r);
        let gate = format!("{}LoadTestGate", app.name);
        let mut missing = Vec::new();
        if !used.contains(&app.service) {
            missing.push(app.service.clone());
        }
        if st.resources.contains_key(&gate) && !used.contains(&gate) {
            missing.push(gate);
        }
        if !missing.is_empty() {
            out.push(Finding::new(
                &BEFORE_SERVICE,
                &app.name,
                &[id],
                format!("{id} may run before {} is created", missing.join(" and ")),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The DependsOn page: a resource with `DependsOn` (or a reference) is created after the
    /// resource it names; without either, in parallel.
    #[test]
    fn the_step_waits_for_the_service_and_the_gate() {
        // DependsOn, whether the gate exists, finding
        let cases = [
            (json!(["WebService"]), false, None),
            (json!("WebService"), false, None),
            (json!(["WebService", "WebLoadTestGate"]), true, None),
            (json!(["WebService"]), true, Some("WebLoadTestGate")),
            (json!([]), false, Some("WebService")),
        ];
        for (deps, gate, want) in cases {
            let mut r = json!({
                "WebService": {"Type": "AWS::ECS::Service", "Properties": {"TaskDefinition": {"Ref": "WebTaskDefinition"}}},
                "WebPostCreate": {"Type": "Custom::FargatePostCreate", "DependsOn": deps.clone(),
                    "Properties": {"FunctionArn": "arn:aws:lambda:us-east-1:111122223333:function:migrate"}},
            });
            if gate {
                r["WebLoadTestGate"] = json!({"Type": "Custom::FargateLoadTestGate", "DependsOn": "WebService", "Properties": {}});
            }
            let st = crate::model::test_stack(&r);
            let found: Vec<String> = check(&st, &st.apps)
                .iter()
                .map(|f| f.message.clone())
                .collect();
            match want {
                None => assert!(found.is_empty(), "{deps} {gate}: {found:?}"),
                Some(w) => assert!(
                    found.len() == 1 && found[0].contains(w),
                    "{deps} {gate}: {found:?}"
                ),
            }
        }
        // Naming the service's attribute orders it too.
        let st = crate::model::test_stack(&json!({
            "WebService": {"Type": "AWS::ECS::Service", "Properties": {"TaskDefinition": {"Ref": "WebTaskDefinition"}}},
            "WebPostCreate": {"Type": "Custom::FargatePostCreate", "Properties": {"ServiceName": {"Fn::GetAtt": ["WebService", "Name"]}}},
        }));
        assert!(check(&st, &st.apps).is_empty());
    }
}
