//! Warnings are data on the expansion result: the CLI prints them, the macro Lambda logs them.

use fargate_macro::{expand_with_warnings, template, Settings, Warning};

fn warnings(yaml: &str) -> Vec<Warning> {
    let t = template::parse(yaml).unwrap();
    expand_with_warnings(&t, &Settings::default())
        .unwrap_or_else(|p| panic!("{p}"))
        .warnings
}

const APPS: &str = r#"
Resources:
  Master:
    Type: Fargate::App
    Properties:
      Image: locustio/locust:2.31
      Network: { VpcId: vpc-1, Subnets: [subnet-1] }
      Discovery: { NamespaceName: locust, Name: locust-master }
  Worker:
    Type: Fargate::App
    Properties:
      Image: locustio/locust:2.31
      Environment: { MASTER: !GetAtt Master.DiscoveryName }
      Network: { VpcId: vpc-1, Subnets: [subnet-1] }
"#;

/// CloudFormation rejects `Fargate::App` ("Unrecognized resource type") unless the template
/// names the macro in `Transform`.
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-macros.html
#[test]
fn a_template_without_the_transform_is_warned_about() {
    let w = warnings(APPS);
    assert!(w.contains(&Warning::MissingTransform), "{w:?}");
    assert!(w[0].to_string().contains("Transform: FargateApp"));
    let with = format!("Transform: FargateApp\n{APPS}");
    assert!(!warnings(&with).contains(&Warning::MissingTransform));
}

/// A Cloud Map name resolves, but the task security group drops what it does not allow: the
/// seed case is Locust workers that cannot reach their master.
#[test]
fn an_app_no_peer_may_reach_is_warned_about_with_its_callers() {
    let w = warnings(&format!("Transform: FargateApp\n{APPS}"));
    let unreachable: Vec<_> = w
        .iter()
        .filter(|w| matches!(w, Warning::Unreachable { .. }))
        .collect();
    assert_eq!(
        unreachable,
        vec![&Warning::Unreachable {
            app: "Master".into(),
            name: "locust-master.locust".into(),
            peers: vec!["Worker".into()],
        }]
    );
    let text = unreachable[0].to_string();
    assert!(
        text.contains("Resource [Master]")
            && text.contains("Worker")
            && text.contains("Network.AllowFrom"),
        "{text}"
    );
}

#[test]
fn an_app_that_allows_its_peers_gets_no_warning() {
    let allowed = APPS.replace(
        "Network: { VpcId: vpc-1, Subnets: [subnet-1] }\n      Discovery",
        "Network: { VpcId: vpc-1, Subnets: [subnet-1], AllowFrom: [Worker] }\n      Discovery",
    );
    assert_ne!(allowed, APPS);
    assert!(warnings(&format!("Transform: FargateApp\n{allowed}")).is_empty());
}

/// The examples are what users copy: none of them deserves a warning.
#[test]
fn the_examples_expand_without_warnings() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut checked = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let t = e.unwrap().path().join("template.yaml");
        if t.exists() {
            checked += 1;
            let w = warnings(&std::fs::read_to_string(&t).unwrap());
            assert!(w.is_empty(), "{}: {w:?}", t.display());
        }
    }
    assert!(checked >= 5);
}

/// `DesiredCount` beside `Scaling` is dropped from the service (CloudFormation would re-apply
/// it on every update and undo the scaling), with a warning naming the App and the fix.
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ecs-service.html#cfn-ecs-service-desiredcount
#[test]
fn a_desired_count_beside_scaling_is_dropped_with_a_warning() {
    let yaml = "Transform: FargateApp\nResources:\n  Api:\n    Type: Fargate::App\n    Properties:\n      Image: my/api:1\n      DesiredCount: 3\n      Scaling: { Min: 2, Max: 10, CpuPercent: 60 }\n      Network: { VpcId: vpc-1, Subnets: [subnet-1] }\n";
    let t = template::parse(yaml).unwrap();
    let e = expand_with_warnings(&t, &Settings::default()).unwrap_or_else(|p| panic!("{p}"));
    assert_eq!(
        e.warnings,
        vec![Warning::DesiredCountDropped { app: "Api".into() }]
    );
    let text = e.warnings[0].to_string();
    assert!(
        text.contains("Resource [Api]") && text.contains("Scaling.Min"),
        "{text}"
    );
    let service = &e.template["Resources"]["ApiService"]["Properties"];
    assert!(service.get("DesiredCount").is_none(), "{service}");
    // Without Scaling the count stays, and nothing is said.
    let alone = yaml.replace("      Scaling: { Min: 2, Max: 10, CpuPercent: 60 }\n", "");
    let e = expand_with_warnings(&template::parse(&alone).unwrap(), &Settings::default()).unwrap();
    assert!(e.warnings.is_empty(), "{:?}", e.warnings);
    assert_eq!(
        e.template["Resources"]["ApiService"]["Properties"]["DesiredCount"],
        3
    );
}

/// A strategy on a rule of a listener outside the template: ECS fails the deployment if that
/// listener also redirects, answers a fixed response or authenticates, which the expansion
/// cannot see, so it says so (on a listener of the template it refuses instead:
/// tests/macro/input/error_strategy_mixed_listener_actions.yaml).
/// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/alb-resources-for-blue-green.html
#[test]
fn a_strategy_on_a_listener_outside_the_template_is_warned_about() {
    let yaml = "Transform: FargateApp\nParameters:\n  L: { Type: String }\nResources:\n  Api:\n    Type: Fargate::App\n    Properties:\n      Image: my/api:1\n      Network: { VpcId: vpc-1, Subnets: [subnet-1] }\n      LoadBalancer: { Listener: !Ref L, SecurityGroup: sg-1, Path: /api/*, Priority: 10 }\n      Deployment: { Strategy: Canary }\n";
    let w = warnings(yaml);
    assert_eq!(
        w,
        vec![Warning::StrategyListenerUnchecked { app: "Api".into() }]
    );
    assert!(w[0].to_string().contains("Resource [Api]"), "{}", w[0]);
    // Rolling touches no listener rule: nothing to say.
    assert!(warnings(&yaml.replace("Strategy: Canary", "Strategy: Rolling")).is_empty());
}

/// A resource of the template reading `TargetGroupArn` of a blue/green App (an alarm, found by
/// the fresh-eyes trial, template 46): after a swap production runs in the other target group,
/// so the alarm has no data; a Rolling App has one group, and nothing is said.
/// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/blue-green-deployment-how-it-works.html
#[test]
fn an_alarm_on_one_of_a_strategys_two_target_groups_is_warned_about() {
    let yaml = |strategy: &str| {
        format!("Transform: FargateApp\nResources:\n  Api:\n    Type: Fargate::App\n    Properties:\n      Image: my/api:1\n      Network: {{ VpcId: vpc-1, Subnets: [subnet-1, subnet-2] }}\n      LoadBalancer: {{ Create: true }}\n      Deployment: {{ Strategy: {strategy} }}\n  Errors:\n    Type: AWS::CloudWatch::Alarm\n    Properties:\n      Namespace: AWS/ApplicationELB\n      MetricName: HTTPCode_Target_5XX_Count\n      Dimensions: [{{ Name: TargetGroup, Value: !Select [5, !Split [':', !GetAtt Api.TargetGroupArn]] }}]\n      Statistic: Sum\n      Period: 60\n      EvaluationPeriods: 1\n      Threshold: 5\n      ComparisonOperator: GreaterThanThreshold\n")
    };
    for (strategy, warned) in [("BlueGreen", true), ("Linear", true), ("Rolling", false)] {
        let w = warnings(&yaml(strategy));
        assert_eq!(
            w.contains(&Warning::OneOfTwoTargetGroups {
                app: "Api".into(),
                resource: "Errors".into()
            }),
            warned,
            "{strategy}: {w:?}"
        );
    }
}
