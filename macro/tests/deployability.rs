//! Deployability rules: what cfn-lint cannot see because it checks one resource's syntax at a
//! time. Each rule encodes an AWS behaviour (the page is cited on the rule) and runs over every
//! golden output and every example's expansion; each has a negative test on a hand-made bad
//! template, so a rule that can never fail is caught too.
//!
//! Written in Rust rather than as cfn-guard rules: nothing extra to install on CI or a laptop,
//! the rules run inside `cargo test` with the golden suite, and they can use what the expansion
//! knows (which App a resource came from, the App's condition) and walk intrinsics (`Fn::If`
//! branches, `Fn::Sub` text) in ways Guard's query language makes awkward.

use fargate_macro::{expand, template, Settings};
use serde_json::{json, Value};
use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[path = "shared/deploy_rules.rs"]
mod deploy_rules;
use deploy_rules::*;

fn parse(path: &Path) -> Value {
    template::parse(&fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `DEPLOYABILITY_OUTPUTS=DIR` checks another build's expansions of the golden inputs (for
/// example the previous release's `fargate-app expand` of each case) instead of the goldens.
#[test]
fn every_golden_output_is_deployable() {
    let dir = root().join("tests/macro");
    let outputs = std::env::var_os("DEPLOYABILITY_OUTPUTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| dir.join("output"));
    let mut failures = Vec::new();
    let mut checked = 0;
    for e in fs::read_dir(dir.join("input")).unwrap() {
        let input = e.unwrap().path();
        let stem = input.file_stem().unwrap().to_str().unwrap().to_string();
        let out = outputs.join(format!("{stem}.json"));
        if !out.exists() {
            continue;
        }
        checked += 1;
        for f in all_rules(&parse(&input), &parse(&out)) {
            failures.push(format!("{stem}: {f}"));
        }
    }
    assert!(checked >= 30, "only {checked} golden outputs found");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_example_expansion_is_deployable() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for e in fs::read_dir(root().join("examples")).unwrap() {
        let t = e.unwrap().path().join("template.yaml");
        if !t.exists() {
            continue;
        }
        checked += 1;
        let input = parse(&t);
        let out =
            expand(&input, &Settings::default()).unwrap_or_else(|p| panic!("{}: {p}", t.display()));
        for f in all_rules(&input, &out) {
            failures.push(format!("{}: {f}", t.display()));
        }
    }
    assert!(checked >= 5, "only {checked} examples found");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// Negative tests: each rule fails on a hand-made bad template.

fn tpl(resources: Value) -> Value {
    json!({ "Parameters": { "P": { "Type": "String" } }, "Resources": resources })
}

#[test]
fn rule_1_rejects_a_parameter_name_as_resource() {
    let t = tpl(json!({
        "Flags": { "Type": "AWS::SSM::Parameter", "Properties": {} },
        "Role": { "Type": "AWS::IAM::Role", "Properties": { "Policies": [{ "PolicyDocument": { "Statement": [
            { "Effect": "Allow", "Action": "ssm:GetParameters", "Resource": [{ "Ref": "Flags" }] },
            { "Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "*" },
            { "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*" },
            { "Effect": "Allow", "Action": "ssm:GetParameters", "Resource": { "Fn::Sub": "arn:${AWS::Partition}:ssm:x" } },
            { "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": { "Fn::Sub": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:1:secret:db-AbCdEf:password::" } }
        ]}}]}}
    }));
    let bad = rule_iam_resources_are_arns(&t);
    assert_eq!(bad.len(), 3, "{bad:?}");
    assert!(
        bad[0].contains("Flags")
            && bad[1].contains("logs:PutLogEvents")
            && bad[2].contains("suffix")
    );
}

#[test]
fn rule_2_counts_the_default_timeout() {
    let t = tpl(json!({
        "Tg": { "Type": "AWS::ElasticLoadBalancingV2::TargetGroup", "Properties": { "HealthCheckIntervalSeconds": 6 } },
        "Ok": { "Type": "AWS::ElasticLoadBalancingV2::TargetGroup", "Properties": { "HealthCheckIntervalSeconds": 7 } },
        "Https": { "Type": "AWS::ElasticLoadBalancingV2::TargetGroup", "Properties": { "Protocol": "HTTPS", "HealthCheckIntervalSeconds": 10 } }
    }));
    let bad = rule_health_check_timeout_below_interval(&t);
    assert_eq!(bad.len(), 2, "{bad:?}");
}

#[test]
fn rule_3_rejects_one_subnet() {
    let t = tpl(json!({
        "Alb": { "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer", "Properties": { "Subnets": ["subnet-1"] } },
        "Param": { "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer", "Properties": { "Subnets": { "Ref": "P" } } }
    }));
    assert_eq!(rule_alb_two_subnets(&t).len(), 1);
}

#[test]
fn rule_4_rejects_desired_count_with_scaling() {
    let t = tpl(json!({
        "Svc": { "Type": "AWS::ECS::Service", "Properties": { "DesiredCount": 2 } },
        "Target": { "Type": "AWS::ApplicationAutoScaling::ScalableTarget", "Properties": {
            "ResourceId": { "Fn::Join": ["/", ["service", "c", { "Fn::GetAtt": ["Svc", "Name"] }]] } } }
    }));
    assert_eq!(rule_no_desired_count_with_scaling(&t).len(), 1);
}

fn service_behind(src: Value) -> Value {
    json!({
        "TaskSg": { "Type": "AWS::EC2::SecurityGroup", "Properties": { "SecurityGroupIngress": [
            { "Description": "from the load balancer", "FromPort": 80, "ToPort": 80, "SourceSecurityGroupId": src }
        ]}},
        "Svc": { "Type": "AWS::ECS::Service", "Properties": {
            "LoadBalancers": [{ "ContainerPort": 80 }],
            "NetworkConfiguration": { "AwsvpcConfiguration": { "SecurityGroups": [{ "Fn::GetAtt": ["TaskSg", "GroupId"] }] } }
        }}
    })
}

#[test]
fn rule_5_needs_egress_from_a_shared_alb_group() {
    let t = tpl(service_behind(json!({ "Ref": "P" })));
    assert_eq!(rule_alb_egress_to_tasks(&t).len(), 1);
    let mut ok = service_behind(json!({ "Ref": "P" }));
    ok["Egress"] = json!({ "Type": "AWS::EC2::SecurityGroupEgress", "Properties": {
        "GroupId": { "Ref": "P" }, "DestinationSecurityGroupId": { "Fn::GetAtt": ["TaskSg", "GroupId"] }, "FromPort": 80 } });
    assert!(rule_alb_egress_to_tasks(&tpl(ok)).is_empty());
}

#[test]
fn rule_6_rejects_a_generated_resource_without_the_condition() {
    let input = tpl(json!({ "Api": { "Type": "Fargate::App", "Condition": "C" } }));
    let out = json!({ "Conditions": { "C": {} }, "Resources": {
        "ApiService": { "Type": "AWS::ECS::Service", "Condition": "C" },
        "ApiLogGroup": { "Type": "AWS::Logs::LogGroup" },
        "Other": { "Type": "AWS::SNS::Topic", "Condition": "Missing" }
    }});
    assert_eq!(rule_app_condition_everywhere(&input, &out).len(), 2);
    let input = tpl(
        json!({ "Api": { "Type": "Fargate::App", "Condition": "C", "DeletionPolicy": "Retain" } }),
    );
    let out = json!({ "Conditions": { "C": {} }, "Resources": {
        "FargateAppCluster": { "Type": "AWS::ECS::Cluster" }
    }});
    assert_eq!(rule_app_condition_everywhere(&input, &out).len(), 2);
}

#[test]
fn rule_10_rejects_booleans_in_assign_public_ip() {
    let t = tpl(
        json!({ "Svc": { "Type": "AWS::ECS::Service", "Properties": { "NetworkConfiguration": {
        "AwsvpcConfiguration": { "AssignPublicIp": { "Fn::If": ["C", false, "ENABLED"] } } } } } }),
    );
    assert_eq!(rule_assign_public_ip_words(&t).len(), 1);
}

#[test]
fn rule_7_rejects_a_certificate_that_ignores_its_condition() {
    let t = tpl(json!({
        "Empty": { "Type": "AWS::ElasticLoadBalancingV2::Listener", "Properties": { "Protocol": "HTTPS",
            "Certificates": [{ "CertificateArn": { "Fn::If": ["C", "arn:aws:acm:x", { "Ref": "AWS::NoValue" }] } }] } },
        "Mismatch": { "Type": "AWS::ElasticLoadBalancingV2::Listener", "Properties": { "Protocol": "HTTPS",
            "Certificates": { "Fn::If": ["C", [{ "CertificateArn": "arn:aws:acm:x" }], { "Ref": "AWS::NoValue" }] } } },
        "Good": { "Type": "AWS::ElasticLoadBalancingV2::Listener", "Properties": { "Protocol": { "Fn::If": ["C", "HTTPS", "HTTP"] },
            "Certificates": { "Fn::If": ["C", [{ "CertificateArn": "arn:aws:acm:x" }], { "Ref": "AWS::NoValue" }] } } }
    }));
    let bad = rule_listener_certificate_follows_condition(&t);
    assert_eq!(bad.len(), 2, "{bad:?}");
    assert!(bad.iter().all(|b| !b.starts_with("Good")));
}

#[test]
fn rule_8_rejects_unescaped_input() {
    let t = tpl(
        json!({ "R": { "Type": "AWS::Events::Rule", "Properties": { "Targets": [
            { "Input": { "Fn::Sub": "{\"AlarmName\":\"a \"q\" b\",\"Arn\":\"${X}\"}" } }
        ]}}}),
    );
    assert_eq!(rule_event_input_is_json(&t).len(), 1);
}

#[test]
fn rule_9_rejects_per_app_permissions_and_unprefixed_rules() {
    let t = tpl(json!({
        "Perm": { "Type": "AWS::Lambda::Permission", "Properties": { "Principal": "events.amazonaws.com",
            "FunctionName": { "Fn::ImportValue": "FargateAppProvider-ServiceToken" } } },
        "Rule": { "Type": "AWS::Events::Rule", "Properties": {} },
        "Long": { "Type": "AWS::Events::Rule", "Properties": { "Name": format!("FargateApp-{}", "x".repeat(60)) } }
    }));
    assert_eq!(rule_provider_permission_shared(&t).len(), 3);
}

/// The provider's one EventBridge permission covers the names the macro gives its rules.
#[test]
fn provider_permission_matches_the_rule_prefix() {
    let provider = fs::read_to_string(root().join("cfn/provider.yaml")).unwrap();
    let prefix = fargate_macro::gen::gates::RULE_NAME_PREFIX;
    assert!(
        provider.contains(&format!(":rule/{prefix}*")),
        "cfn/provider.yaml grants EventBridge rule/{prefix}*"
    );
    assert!(provider.contains("SourceAccount: !Ref AWS::AccountId"));
}

#[test]
fn rule_11_rejects_rules_that_miss_the_alternate_group_and_roles_that_cannot_invoke() {
    let golden = parse(&root().join("tests/macro/output/bluegreen_dedicated_alb.json"));
    assert!(rule_traffic_shift_wiring(&golden).is_empty());
    let mut t = golden.clone();
    let r = &mut t["Resources"];
    r["UsersTestRule"]["Properties"]["Actions"] =
        json!([{ "Type": "forward", "TargetGroupArn": { "Ref": "UsersTargetGroup" } }]);
    r["UsersTrafficShiftRole"]["Properties"]["ManagedPolicyArns"] = json!([]);
    r["UsersHookRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0]["Resource"] =
        json!(["arn:aws:lambda:us-east-1:123456789012:function:other"]);
    r["UsersService"]["Properties"]["DeploymentConfiguration"]["LifecycleHooks"][0]
        ["HookDetails"] = json!("not json");
    assert_eq!(
        rule_traffic_shift_wiring(&t).len(),
        4,
        "{:?}",
        rule_traffic_shift_wiring(&t)
    );
    // A substituted HookDetails is checked with its variables filled in.
    let mut t = golden.clone();
    t["Resources"]["UsersService"]["Properties"]["DeploymentConfiguration"]["LifecycleHooks"][0]
        ["HookDetails"] = json!({ "Fn::Sub": "{\"Url\":\"${Url}\"" });
    assert_eq!(rule_traffic_shift_wiring(&t).len(), 1);
    let mut t = golden;
    t["Resources"]["UsersService"]["Properties"]["LoadBalancers"][0]
        .as_object_mut()
        .unwrap()
        .remove("AdvancedConfiguration");
    assert_eq!(rule_traffic_shift_wiring(&t).len(), 1);
}

#[test]
fn rule_12_needs_a_service_timeout_within_range() {
    let t = tpl(json!({
        "None": { "Type": "Custom::FargateListenerPort", "Properties": {} },
        "Long": { "Type": "Custom::FargateLoadTestGate", "Properties": { "ServiceTimeout": 3601 } },
        "Zero": { "Type": "AWS::CloudFormation::CustomResource", "Properties": { "ServiceTimeout": 0 } },
        "Good": { "Type": "Custom::FargateListenerRule", "Properties": { "ServiceTimeout": 300 } }
    }));
    let bad = rule_custom_resources_have_service_timeout(&t);
    assert_eq!(bad.len(), 3, "{bad:?}");
    assert!(bad.iter().all(|b| !b.starts_with("Good")));
}

#[test]
fn rule_13_needs_the_gate_route_and_tagged_workers() {
    let header = json!({ "Name": "X-FargateApp-Gate", "Value": "Api-1" });
    let t = tpl(json!({
        "Gate": { "Type": "Custom::FargateLoadTestGate", "DependsOn": ["Route"], "Properties": {
            "RoutingHeader": header, "WorkerFunctionArn": { "Fn::GetAtt": ["Workers", "Arn"] } } },
        "Route": { "Type": "AWS::ElasticLoadBalancingV2::ListenerRule", "Properties": {
            "Conditions": [{ "Field": "http-header", "HttpHeaderConfig": { "HttpHeaderName": "X-FargateApp-Gate", "Values": ["Api-2"] } }],
            "Actions": [{ "Type": "forward", "TargetGroupArn": { "Ref": "Tg" } }] } },
        "Workers": { "Type": "AWS::Lambda::Function", "Properties": { "VpcConfig": { "SubnetIds": ["s"] } } }
    }));
    let bad = rule_gate_reaches_the_app(&t);
    assert_eq!(bad.len(), 2, "{bad:?}");
}

/// The macro's VPC workers read the provider's code location from the SSM parameters
/// cfn/provider.yaml writes, and carry the tag its invoke statement is conditioned on.
#[test]
fn provider_publishes_what_the_workers_read() {
    use fargate_macro::gen::gate_reach::{code_parameter, WORKERS_TAG};
    let provider = fs::read_to_string(root().join("cfn/provider.yaml")).unwrap();
    let settings = Settings::default();
    assert_eq!(settings.export_prefix, "FargateAppProvider");
    for name in ["CodeBucket", "CodeKey", "Architecture"] {
        assert!(provider.contains(&format!("/${{Prefix}}/{name}")), "{name}");
        assert_eq!(
            code_parameter(&settings.export_prefix, name),
            format!("{{{{resolve:ssm:/FargateAppProvider/{name}}}}}")
        );
    }
    assert!(provider.contains(r#"!Split ["-ServiceToken", !Ref ExportName]"#));
    assert!(provider.contains(&format!("aws:ResourceTag/{WORKERS_TAG}: \"true\"")));
}
