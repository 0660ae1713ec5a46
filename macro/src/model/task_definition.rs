//! The container a service's load balancer sends to. ECS's `LoadBalancer` names "the container
//! (as it appears in a container definition)" and a port that "must correspond to a
//! containerPort in the task definition the tasks in the service are using". With the service's
//! own task definition in the stack both are checked against its container definitions; with a
//! revision from outside the stack (an ARN, `family:revision`, a parameter) the stack cannot show
//! them, so both must at least be given.
//! https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_LoadBalancer.html

use super::{items, lit_num, lit_str, target, App, Finding, Rule, Severity, Stack};
use serde_json::Value;

pub const LB_CONTAINER: Rule = Rule {
    code: "ECS_LB_CONTAINER_UNDEFINED",
    severity: Severity::Error,
    rule: "a service's load balancer names a container of its task definition (containerName, as in a container definition) and a containerPort of that container's port mappings; a revision outside the stack needs both given",
    doc: "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_LoadBalancer.html",
};

pub const RULES: &[&Rule] = &[&LB_CONTAINER];

/// Why a `LoadBalancers` entry of a service does not name a container and port of its task
/// definition, if it does not. `task_definition` is the template's definition the service runs,
/// `None` for a revision outside the stack.
fn entry_problem(entry: &Value, task_definition: Option<&Value>) -> Option<String> {
    let (name, port) = (&entry["ContainerName"], &entry["ContainerPort"]);
    if name.is_null() || port.is_null() {
        let missing = if name.is_null() {
            "ContainerName"
        } else {
            "ContainerPort"
        };
        return Some(format!("its load balancer entry has no {missing}"));
    }
    let td = task_definition?;
    let (Some(name), Some(port)) = (lit_str(name), lit_num(port)) else {
        return None; // a parameter: known at deploy time only
    };
    let containers: Vec<&Value> = items(&td["ContainerDefinitions"]).collect();
    if containers.iter().any(|c| lit_str(&c["Name"]).is_none()) {
        return None;
    }
    let Some(c) = containers
        .iter()
        .find(|c| lit_str(&c["Name"]) == Some(name))
    else {
        let known: Vec<&str> = containers
            .iter()
            .filter_map(|c| lit_str(&c["Name"]))
            .collect();
        return Some(format!(
            "its load balancer names container '{name}', which its task definition does not define (containers: {})",
            known.join(", ")
        ));
    };
    let ports: Vec<Option<f64>> = items(&c["PortMappings"])
        .map(|m| lit_num(&m["ContainerPort"]))
        .collect();
    if ports.iter().any(Option::is_none) || ports.contains(&Some(port)) {
        return None;
    }
    Some(format!(
        "its load balancer sends to port {port} of container '{name}', which maps no such containerPort"
    ))
}

pub fn check(st: &Stack, apps: &[App]) -> Vec<Finding> {
    let mut out = Vec::new();
    for app in apps {
        let svc = st.props(&app.service);
        let td_ref = &svc["TaskDefinition"];
        let td = target(td_ref)
            .filter(|t| st.type_of(t) == Some("AWS::ECS::TaskDefinition"))
            .map(|t| st.props(t));
        // A `Ref` to a task definition the stack lacks is CFN_REF_TO_ABSENT's.
        if td.is_none() && target(td_ref).is_some_and(|t| !st.parameters.contains(t)) {
            continue;
        }
        for entry in items(&svc["LoadBalancers"]) {
            if entry["TargetGroupArn"].is_null() {
                continue;
            }
            if let Some(why) = entry_problem(entry, td) {
                out.push(Finding::new(
                    &LB_CONTAINER,
                    &app.name,
                    &[&app.service],
                    format!("{}: {why}", app.service),
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

    /// The CloudFormation ECS service page's load-balancer example (container `simple-app` on
    /// port 80 of the template's task definition), the same service on a revision named by ARN,
    /// and each way of breaking them.
    /// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ecs-service.html
    #[test]
    fn the_load_balancer_names_a_container_and_port_of_the_task_definition() {
        let own = json!({"Ref": "WebTaskDefinition"});
        let arn = json!("arn:aws:ecs:us-east-1:111122223333:task-definition/simple-app:2");
        let cases = [
            // task definition, ContainerName, ContainerPort, finding
            (&own, json!("simple-app"), json!(80), None),
            (&own, json!("simple-app"), json!("80"), None),
            (&own, json!("web"), json!(80), Some("names container 'web'")),
            (&own, json!("simple-app"), json!(8080), Some("port 8080")),
            (&own, json!({"Ref": "Container"}), json!(80), None),
            (&own, Value::Null, json!(80), Some("no ContainerName")),
            (&arn, json!("simple-app"), json!(80), None),
            (&arn, json!("anything"), json!(1234), None),
            (&arn, Value::Null, json!(80), Some("no ContainerName")),
            (
                &arn,
                json!("simple-app"),
                Value::Null,
                Some("no ContainerPort"),
            ),
        ];
        for (td, name, port, want) in cases {
            let st = crate::model::test_stack(&json!({
                "WebService": {"Type": "AWS::ECS::Service", "Properties": {
                    "TaskDefinition": td,
                    "LoadBalancers": [{"TargetGroupArn": {"Ref": "WebTargetGroup"},
                        "ContainerName": name, "ContainerPort": port}]}},
                "WebTaskDefinition": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
                    "ContainerDefinitions": [{"Name": "simple-app", "Image": "amazon/amazon-ecs-sample",
                        "PortMappings": [{"ContainerPort": 80}]}]}},
            }));
            let found: Vec<String> = check(&st, &st.apps)
                .iter()
                .map(|f| f.message.clone())
                .collect();
            match want {
                None => assert!(found.is_empty(), "{td} {name} {port}: {found:?}"),
                Some(w) => assert!(
                    found.len() == 1 && found[0].contains(w),
                    "{td} {name} {port}: want '{w}', got {found:?}"
                ),
            }
        }
    }

    /// A service on a revision outside the stack is an App of the model; a reference to a task
    /// definition the stack does not define is CFN_REF_TO_ABSENT ("Unresolved resource
    /// dependencies").
    #[test]
    fn a_given_revision_leaves_no_reference_to_an_absent_task_definition() {
        let template = json!({"Resources": {
            "WebService": {"Type": "AWS::ECS::Service", "Properties": {
                "TaskDefinition": "web:42",
                "LoadBalancers": [{"TargetGroupArn": {"Ref": "WebTargetGroup"}, "ContainerName": "web", "ContainerPort": 8080}]}},
            "WebTargetGroup": {"Type": "AWS::ElasticLoadBalancingV2::TargetGroup", "Properties": {}},
            "WebLoadTestGate": {"Type": "Custom::FargateLoadTestGate", "Properties": {
                "TaskDefinitionArn": {"Ref": "WebTaskDefinition"}}},
        }});
        let report = crate::model::analyse(&template);
        assert_eq!(report.apps.len(), 1, "the service on web:42 is an App");
        let codes: Vec<(&str, &[String])> = report
            .findings
            .iter()
            .map(|f| (f.code, f.resources.as_slice()))
            .collect();
        assert_eq!(
            codes,
            vec![(
                "CFN_REF_TO_ABSENT",
                &[
                    "WebLoadTestGate".to_string(),
                    "WebTaskDefinition".to_string()
                ][..]
            )]
        );
    }
}
