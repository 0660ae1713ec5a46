//! Names of resources as each service's API reference defines them: a target group's and a
//! load balancer's name, an ECS service's and a task definition family's, a log group's. A name
//! outside its rule fails the resource's creation; two resources of one type with one name in
//! one stack collide (names are unique per account and Region, or per cluster for services).
//! Only literal names are checked: a name CloudFormation generates, or one from a parameter,
//! is not known here.

use super::{lit_str, owner, single, App, Finding, Rule, Severity, Stack};
use serde_json::{Map, Value};

pub const NAME_INVALID: Rule = Rule {
    code: "AWS_NAME_INVALID",
    severity: Severity::Error,
    rule: "target group and load balancer names: alphanumerics or hyphens (at most 32: ELB_NAME_TOO_LONG), not beginning or ending with a hyphen (a load balancer's not beginning with internal-); ECS service names and task families: up to 255 letters, numbers, underscores and hyphens; log group names: 1-512 of a-zA-Z0-9_-/.#",
    doc: "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RegisterTaskDefinition.html https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html",
};

pub const NAME_TWICE: Rule = Rule {
    code: "AWS_NAME_IN_USE",
    severity: Severity::Error,
    rule: "a target group, load balancer or log group name is unique per account and Region, a service name per cluster: two resources of the stack with one name collide",
    doc: "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html",
};

/// "You can't perform an update that causes a custom-named resource to be replaced. If you must
/// replace the resource, specify a new name." A create-only property (one whose change
/// replaces the resource: the resource type's `createOnlyProperties`) that changes under an
/// unchanged custom name fails the stack update.
pub const NAME_KEPT_ON_REPLACEMENT: Rule = Rule {
    code: "CFN_CUSTOM_NAME_REPLACED",
    severity: Severity::Error,
    rule: "an update can't replace a custom-named resource: when a create-only property of a named resource changes, its name must change too (checked between two expansions, old and new)",
    doc: "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-name.html",
};

pub const RULES: &[&Rule] = &[&NAME_INVALID, &NAME_TWICE, &NAME_KEPT_ON_REPLACEMENT];

/// The optional custom-name property of each type the expansions name
/// (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-name.html).
/// A task definition's `Family` is left out: a replaced task definition is a new revision of
/// the same family (RegisterTaskDefinition: "each time that you register a task definition in
/// the same family, it's given a revision number"),
/// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RegisterTaskDefinition.html.
const CUSTOM_NAMES: &[(&str, &str)] = &[
    ("AWS::ElasticLoadBalancingV2::TargetGroup", "Name"),
    ("AWS::ElasticLoadBalancingV2::LoadBalancer", "Name"),
    ("AWS::ECS::Service", "ServiceName"),
    ("AWS::ECS::Cluster", "ClusterName"),
    ("AWS::Logs::LogGroup", "LogGroupName"),
    ("AWS::Events::Rule", "Name"),
    ("AWS::CloudWatch::Alarm", "AlarmName"),
    ("AWS::IAM::Role", "RoleName"),
    ("AWS::Lambda::Function", "FunctionName"),
];

/// `v` with each `{"Ref": P}` of a parameter with a value in `values` replaced by it: a stack
/// update changes a parameter's value, not the `Ref` CloudFormation reads it through.
pub fn with_parameter_values(v: &Value, values: &Map<String, Value>) -> Value {
    match v {
        Value::Object(m) => {
            if let Some(x) = single(v, "Ref")
                .and_then(Value::as_str)
                .and_then(|p| values.get(p))
            {
                return x.clone();
            }
            Value::Object(
                m.iter()
                    .map(|(k, x)| (k.clone(), with_parameter_values(x, values)))
                    .collect(),
            )
        }
        Value::Array(a) => {
            Value::Array(a.iter().map(|x| with_parameter_values(x, values)).collect())
        }
        other => other.clone(),
    }
}

/// The update from `old` to `new` (two expanded templates with their parameters' values in
/// place, see [`with_parameter_values`]): each resource of one logical ID and type in both,
/// custom-named with one literal name in both, whose create-only properties differ
/// (`create_only::CREATE_ONLY`, from the resource types' schemas).
pub fn replaced_under_same_name(old: &Value, new: &Value) -> Vec<Finding> {
    let mut out = Vec::new();
    let (Some(olds), Some(news)) = (
        old.get("Resources").and_then(Value::as_object),
        new.get("Resources").and_then(Value::as_object),
    ) else {
        return out;
    };
    let st = super::stack(new, &Default::default());
    for (id, n) in news {
        let Some(o) = olds.get(id) else { continue };
        let ty = n.get("Type").and_then(Value::as_str).unwrap_or("");
        if o.get("Type").and_then(Value::as_str) != Some(ty) {
            continue;
        }
        let Some((_, key)) = CUSTOM_NAMES.iter().find(|(t, _)| *t == ty) else {
            continue;
        };
        let (op, np) = (&o["Properties"], &n["Properties"]);
        let name = match (lit_str(&op[*key]), lit_str(&np[*key])) {
            (Some(a), Some(b)) if a == b => a,
            _ => continue,
        };
        let Some((_, create_only)) = crate::create_only::CREATE_ONLY
            .iter()
            .find(|(t, _)| *t == ty)
        else {
            continue;
        };
        let changed: Vec<&str> = create_only
            .iter()
            .map(|p| p.split('/').next().unwrap_or(p))
            .filter(|p| p != key && op.get(*p) != np.get(*p))
            .collect();
        if !changed.is_empty() {
            out.push(Finding::new(
                &NAME_KEPT_ON_REPLACEMENT,
                &owner(&st.apps, id)
                    .map(|a| a.name.clone())
                    .unwrap_or("-".into()),
                &[id],
                format!(
                    "{id} is replaced ({} changed: create-only) and keeps its {key} '{name}'",
                    changed.join(", ")
                ),
            ));
        }
    }
    out
}

/// The name property of each named type.
const NAMED: &[(&str, &str)] = &[
    ("AWS::ElasticLoadBalancingV2::TargetGroup", "Name"),
    ("AWS::ElasticLoadBalancingV2::LoadBalancer", "Name"),
    ("AWS::ECS::Service", "ServiceName"),
    ("AWS::ECS::TaskDefinition", "Family"),
    ("AWS::Logs::LogGroup", "LogGroupName"),
];

/// Why `name` breaks the rule of `ty`, if it does.
pub fn invalid(ty: &str, name: &str) -> Option<String> {
    // The 32-character limit is `ELB_NAME_TOO_LONG` (elbv2.rs): the characters here.
    let elb = || {
        if name.is_empty() {
            return Some("empty".to_string());
        }
        if let Some(c) = name
            .chars()
            .find(|c| !c.is_ascii_alphanumeric() && *c != '-')
        {
            return Some(format!("'{c}' is not an alphanumeric or a hyphen"));
        }
        (name.starts_with('-') || name.ends_with('-'))
            .then(|| "begins or ends with a hyphen".to_string())
    };
    let ecs = || {
        if name.is_empty() || name.len() > 255 {
            return Some(format!("{} characters (1-255)", name.len()));
        }
        name.chars()
            .find(|c| !c.is_ascii_alphanumeric() && *c != '-' && *c != '_')
            .map(|c| format!("'{c}' is not a letter, number, underscore or hyphen"))
    };
    match ty {
        "AWS::ElasticLoadBalancingV2::TargetGroup" => elb(),
        "AWS::ElasticLoadBalancingV2::LoadBalancer" => elb().or_else(|| {
            name.starts_with("internal-")
                .then(|| "begins with internal-".to_string())
        }),
        "AWS::ECS::Service" | "AWS::ECS::TaskDefinition" => ecs(),
        "AWS::Logs::LogGroup" => {
            if name.is_empty() || name.len() > 512 {
                return Some(format!("{} characters (1-512)", name.len()));
            }
            name.chars()
                .find(|c| !c.is_ascii_alphanumeric() && !"_-/.#".contains(*c))
                .map(|c| format!("'{c}' is not one of a-zA-Z0-9_-/.#"))
        }
        _ => None,
    }
}

pub fn check(st: &Stack, apps: &[App]) -> Vec<Finding> {
    let mut out = Vec::new();
    let app_of = |id: &str| {
        owner(apps, id)
            .map(|a| a.name.clone())
            .unwrap_or("-".into())
    };
    for (ty, key) in NAMED {
        let named: Vec<(&str, &str)> = st
            .of_type(ty)
            .filter_map(|(id, p)| Some((id, lit_str(&p[*key])?)))
            .collect();
        for (i, (id, name)) in named.iter().enumerate() {
            if let Some(why) = invalid(ty, name) {
                out.push(Finding::new(
                    &NAME_INVALID,
                    &app_of(id),
                    &[id],
                    format!("{id}'s {key} '{name}': {why}"),
                ));
            }
            // Services: unique per cluster; the model compares the Cluster values as written.
            for (other, other_name) in &named[i + 1..] {
                let same_scope = *ty != "AWS::ECS::Service"
                    || st.props(id)["Cluster"] == st.props(other)["Cluster"];
                if name == other_name && same_scope && *ty != "AWS::ECS::TaskDefinition" {
                    out.push(Finding::new(
                        &NAME_TWICE,
                        &app_of(other),
                        &[id, other],
                        format!("{id} and {other} are both named '{name}'"),
                    ));
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

    /// The pages' rules, one case each; the examples' names (`my-target-group`,
    /// `my-load-balancer`, `sample-webapp`, `my-logs`) pass.
    #[test]
    fn names_against_each_page() {
        let tg = "AWS::ElasticLoadBalancingV2::TargetGroup";
        let lb = "AWS::ElasticLoadBalancingV2::LoadBalancer";
        let cases: &[(&str, &str, bool)] = &[
            (tg, "my-target-group", true),
            (tg, &"a".repeat(32), true),
            (tg, "-my-tg", false),
            (tg, "my-tg-", false),
            (tg, "my_tg", false),
            (lb, "my-load-balancer", true),
            (lb, "internal-web", false),
            ("AWS::ECS::Service", "sample-webapp", true),
            ("AWS::ECS::Service", "My_Service-1", true),
            ("AWS::ECS::Service", "my/service", false),
            ("AWS::ECS::Service", &"s".repeat(256), false),
            ("AWS::ECS::TaskDefinition", "my-family_2", true),
            ("AWS::ECS::TaskDefinition", "my.family", false),
            ("AWS::Logs::LogGroup", "/fargate-app/my-logs#1", true),
            ("AWS::Logs::LogGroup", "my logs", false),
        ];
        for (ty, name, ok) in cases {
            assert_eq!(
                invalid(ty, name).is_none(),
                *ok,
                "{ty} {name}: {:?}",
                invalid(ty, name)
            );
        }
    }

    /// The page's rule on a target group (Port is create-only on its resource page): a new port
    /// under the same Name fails the update; a new name, or no change, passes.
    /// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-name.html
    #[test]
    fn a_replaced_resource_needs_a_new_name() {
        let tg = |name: &str, port: Value| {
            json!({"Resources": {"WebTargetGroup": {"Type": "AWS::ElasticLoadBalancingV2::TargetGroup",
                "Properties": {"Name": name, "Port": port, "Protocol": "HTTP", "HealthCheckPath": "/"}}}})
        };
        let params = |port: u64| {
            let mut m = Map::new();
            m.insert("AppPort".into(), json!(port));
            m
        };
        let by_param = tg("shop-tg", json!({"Ref": "AppPort"}));
        let cases = [
            (tg("shop-tg", json!(8080)), tg("shop-tg", json!(9090)), 1),
            (tg("shop-tg", json!(8080)), tg("shop-tg-2", json!(9090)), 0),
            (tg("shop-tg", json!(8080)), tg("shop-tg", json!(8080)), 0),
            (
                with_parameter_values(&by_param, &params(8080)),
                with_parameter_values(&by_param, &params(9090)),
                1,
            ),
        ];
        for (old, new, want) in cases {
            let found = replaced_under_same_name(&old, &new);
            assert_eq!(found.len(), want, "{found:?}");
            assert!(found.iter().all(
                |f| f.code == "CFN_CUSTOM_NAME_REPLACED" && f.message.contains("Port changed")
            ));
        }
        // A changed property that is not create-only (HealthCheckPath) replaces nothing.
        let mut healthier = tg("shop-tg", json!(8080));
        healthier["Resources"]["WebTargetGroup"]["Properties"]["HealthCheckPath"] = json!("/up");
        assert!(replaced_under_same_name(&tg("shop-tg", json!(8080)), &healthier).is_empty());
    }

    #[test]
    fn one_name_twice_collides() {
        let tg = |n: &str| json!({"Type": "AWS::ElasticLoadBalancingV2::TargetGroup", "Properties": {"Name": n}});
        let svc = |n: &str, c: &str| json!({"Type": "AWS::ECS::Service", "Properties": {"ServiceName": n, "Cluster": c}});
        let cases = [
            (tg("b-tg"), tg("b-tg"), 1),
            (tg("b-tg"), tg("c-tg"), 0),
            (svc("b", "one"), svc("b", "one"), 1),
            (svc("b", "one"), svc("b", "two"), 0),
        ];
        for (a, b, want) in cases {
            let st = test_stack(&json!({"ATargetGroup": a, "BTargetGroup": b}));
            let found = check(&st, &st.apps);
            assert_eq!(found.len(), want, "{found:?}");
            assert!(found.iter().all(|f| f.code == "AWS_NAME_IN_USE"));
        }
    }
}
