//! Names of resources as each service's API reference defines them: a target group's and a
//! load balancer's name, an ECS service's and a task definition family's, a log group's. A name
//! outside its rule fails the resource's creation; two resources of one type with one name in
//! one stack collide (names are unique per account and Region, or per cluster for services).
//! Only literal names are checked: a name CloudFormation generates, or one from a parameter,
//! is not known here.

use super::{lit_str, owner, App, Finding, Rule, Severity, Stack};

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

pub const RULES: &[&Rule] = &[&NAME_INVALID, &NAME_TWICE];

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
