//! The model (`fargate_macro::model`) over generated templates, golden outputs and examples.
//!
//! Each generated case (see `gen/mod.rs`) either expands, passes the deployability rules
//! (`shared/deploy_rules.rs`, the same functions `deployability.rs` runs) and has no model
//! finding, or is refused with problems that each name an App and a property. A finding or a
//! refusal of a documented-valid shape whose code is listed in `model_known.txt` is a known open
//! defect (issue 17 section 3) and tolerated; anything else fails the test.
//!
//! `MODEL_CASES=N` sets the number of generated cases (default 256); `make model-long` runs
//! 10,000 and prints the counts.

mod gen;

#[path = "shared/deploy_rules.rs"]
mod deploy_rules;

use fargate_macro::model;
use fargate_macro::{expand, template, Problem, Settings};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::Value;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Codes of known open defects: `CODE  issue-17 item` per line, `#` comments.
fn known() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(root().join("macro/tests/model_known.txt")).unwrap();
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (code, item) = l.split_once(char::is_whitespace).unwrap_or((l, ""));
            (code.to_string(), item.trim().to_string())
        })
        .collect()
}

#[derive(Default)]
struct Stats {
    cases: usize,
    expanded: usize,
    checks: usize,
    refused: BTreeMap<String, usize>,
    /// Known codes seen: how often, and the first finding with its case.
    seen: BTreeMap<String, (usize, String)>,
}

impl Stats {
    /// Counts a known code, keeping its shortest example (the smallest case that shows it).
    fn saw(&mut self, code: &str, what: String) {
        let e = self
            .seen
            .entry(code.to_string())
            .or_insert((0, what.clone()));
        e.0 += 1;
        if what.len() < e.1.len() {
            e.1 = what;
        }
    }
}

fn app_ids(c: &gen::Case) -> Vec<String> {
    (0..c.apps.len()).map(gen::Case::app_id).collect()
}

/// The judgement on one case: the failures it shows, each as (key, text). A failure is a
/// finding or a refused valid shape whose code `model_known.txt` does not list, a broken
/// deployability rule, or a refusal that does not name an App and a property.
fn judge(
    c: &gen::Case,
    known: &BTreeMap<String, String>,
    stats: &mut Stats,
) -> Vec<(String, String)> {
    stats.cases += 1;
    let t = gen::render(c);
    let shown = serde_json::to_string(&t["Resources"]).unwrap_or_default();
    let mut failures = Vec::new();
    match expand(&t, &Settings::default()) {
        Ok(out) => {
            stats.expanded += 1;
            // `MODEL_EXPANSIONS_DIR`: keep the expansions for cfn-lint (tests/lint-templates.sh
            // lints the first `MODEL_EXPANSIONS_MAX`, 48 unless given).
            if let Some(dir) = std::env::var_os("MODEL_EXPANSIONS_DIR") {
                let max = std::env::var("MODEL_EXPANSIONS_MAX")
                    .ok()
                    .and_then(|m| m.parse().ok())
                    .unwrap_or(48);
                if stats.expanded <= max {
                    let path = std::path::Path::new(&dir)
                        .join(format!("generated-{:05}.json", stats.expanded));
                    std::fs::write(path, fargate_macro::template::to_json(&out)).unwrap();
                }
            }
            for broken in deploy_rules::all_rules(&t, &out) {
                failures.push(("DEPLOYABILITY".to_string(), broken));
            }
            for f in port_change_findings(&t, &out) {
                if known.contains_key(f.code) {
                    stats.saw(f.code, format!("{f}\n      case {shown}"));
                } else {
                    failures.push((f.code.to_string(), f.to_string()));
                }
            }
            let r = model::analyse(&out);
            stats.checks += r.checks;
            for f in &r.findings {
                if known.contains_key(f.code) {
                    stats.saw(f.code, format!("{f}\n      case {shown}"));
                } else {
                    failures.push((f.code.to_string(), f.to_string()));
                }
            }
        }
        Err(problems) => {
            let ids = app_ids(c);
            for p in &problems.0 {
                match p {
                    Problem::Property {
                        logical_id, path, ..
                    } if ids.contains(logical_id) && !path.is_empty() => {}
                    other => failures.push(("REFUSAL_NAMES_NO_APP".into(), other.to_string())),
                }
            }
            for (i, id) in ids.iter().enumerate() {
                for shape in c.valid_shapes(i) {
                    let refusal = problems.0.iter().find(|p| {
                        matches!(p, Problem::Property { logical_id, path, .. }
                            if logical_id == id
                                && shape.properties().iter().any(|x| names_property(path, x)))
                    });
                    let code = shape.code();
                    match refusal {
                        Some(p) if known.contains_key(code) => {
                            stats.saw(code, format!("{p}\n      case {shown}"))
                        }
                        Some(p) => failures.push((code.into(), format!("refused: {p}"))),
                        None => {}
                    }
                }
            }
            let reason = match &problems.0[0] {
                Problem::Property { path, message, .. } => {
                    format!("{path}: {}", message.chars().take(70).collect::<String>())
                }
                Problem::Template { message, .. } => message.clone(),
            };
            *stats.refused.entry(reason).or_default() += 1;
        }
    }
    failures.extend(strategy_parameter_difference(c));
    failures
        .into_iter()
        .map(|(k, text)| (k, format!("{text}\n      case {shown}")))
        .collect()
}

/// Whether a problem's path (`Properties.A.B[0]`) is property `prop` (`A` or `A.B`) or inside it:
/// `ScalingCheck` is not inside `Scaling`.
fn names_property(path: &str, prop: &str) -> bool {
    let rest = path.strip_prefix("Properties.").unwrap_or(path);
    rest.strip_prefix(prop)
        .is_some_and(|tail| tail.is_empty() || tail.starts_with(['.', '[']))
}

/// A case with `Deployment.Strategy: !Ref <App>Strategy` expands to the same resources as with
/// the literal strategy, its Default (CloudFormation hands the macro the parameter's value), or
/// both are refused.
fn strategy_parameter_difference(c: &gen::Case) -> Vec<(String, String)> {
    if !c.meet.strategy_param {
        return Vec::new();
    }
    let mut literal = c.clone();
    literal.meet.strategy_param = false;
    let settings = Settings::default();
    let (by_param, by_literal) = (
        expand(&gen::render(c), &settings),
        expand(&gen::render(&literal), &settings),
    );
    let differs = match (&by_param, &by_literal) {
        (Ok(a), Ok(b)) => (a["Resources"] != b["Resources"]).then(|| "other resources".to_string()),
        (Err(_), Err(_)) => None,
        (Err(p), Ok(_)) => Some(format!("refused: {p}")),
        (Ok(_), Err(p)) => Some(format!("expands, the literal strategy is refused: {p}")),
    };
    differs
        .map(|d| {
            vec![(
                "STRATEGY_PARAMETER_DIFFERS".to_string(),
                format!("Strategy from a parameter: {d}"),
            )]
        })
        .unwrap_or_default()
}

/// The update that changes every container port given as a parameter (`<App>Port`, Default
/// 8080) to 9090: the model's rule on custom-named resources replaced under their names
/// (`names::replaced_under_same_name`) over the expansions before and after.
fn port_change_findings(t: &Value, out: &Value) -> Vec<model::Finding> {
    use serde_json::{json, Map};
    let ports: Vec<String> = t["Parameters"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(name, decl)| name.ends_with("Port") && decl["Type"] == "Number")
        .map(|(name, _)| name.clone())
        .collect();
    if ports.is_empty() {
        return Vec::new();
    }
    let values = |port: u64| -> Map<String, Value> {
        ports.iter().map(|p| (p.clone(), json!(port))).collect()
    };
    let settings = Settings {
        parameter_values: values(9090),
        ..Settings::default()
    };
    let Ok(new) = expand(t, &settings) else {
        return Vec::new();
    };
    model::names::replaced_under_same_name(
        &model::names::with_parameter_values(out, &values(8080)),
        &model::names::with_parameter_values(&new, &values(9090)),
    )
}

fn cases() -> u32 {
    std::env::var("MODEL_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

#[test]
fn generated_templates_expand_and_pass_the_model_or_are_refused() {
    let known = known();
    let n = cases();
    let config = Config {
        cases: n,
        failure_persistence: None,
        max_shrink_iters: 2000,
        ..Config::default()
    };
    let seed = std::env::var("MODEL_SEED")
        .ok()
        .and_then(|s| s.parse::<u8>().ok())
        .unwrap_or(17);
    let mut runner = TestRunner::new_with_rng(
        config,
        TestRng::from_seed(RngAlgorithm::ChaCha, &[seed; 32]),
    );
    let stats = RefCell::new(Stats::default());
    let started = Instant::now();
    // Every case runs (no stop at the first failure): the report lists each failing code
    // once, with the smallest case that shows it.
    let failures: RefCell<BTreeMap<String, (usize, String)>> = RefCell::new(BTreeMap::new());
    runner
        .run(&gen::case(), |c| {
            for (k, text) in judge(&c, &known, &mut stats.borrow_mut()) {
                let mut f = failures.borrow_mut();
                let e = f.entry(k).or_insert((0, text.clone()));
                e.0 += 1;
                if text.len() < e.1.len() {
                    e.1 = text;
                }
            }
            Ok(())
        })
        .unwrap();
    let s = stats.borrow();
    println!(
        "model-generated: {} cases run ({} asked), {} expanded, {} refused, {} model rule checks, {:.1} s",
        s.cases,
        n,
        s.expanded,
        s.cases - s.expanded,
        s.checks,
        started.elapsed().as_secs_f64()
    );
    println!("refusals by reason:");
    for (reason, count) in &s.refused {
        println!("  {count:>6}  {reason}");
    }
    println!("known open defects seen (model_known.txt):");
    for (code, item) in &known {
        match s.seen.get(code) {
            Some((count, example)) => {
                println!("  {code} ({item}): {count} times, e.g.\n    {example}")
            }
            None => println!("  {code} ({item}): not seen in this sample"),
        }
    }
    let failures = failures.borrow();
    let mut report = String::new();
    for (k, (count, text)) in failures.iter() {
        report.push_str(&format!("  {k}: {count} cases, e.g.\n    {text}\n"));
    }
    assert!(failures.is_empty(), "failures by code:\n{report}");
}

/// Every golden output and every example's expansion through the model.
#[test]
fn goldens_and_examples_pass_the_model() {
    let known = known();
    let mut inputs: Vec<(String, Value)> = Vec::new();
    let out_dir = root().join("tests/macro/output");
    let mut files: Vec<_> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    for p in files {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        if v.get("Resources").is_some() {
            inputs.push((p.display().to_string(), v));
        }
    }
    let mut examples: Vec<_> = std::fs::read_dir(root().join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path().join("template.yaml"))
        .filter(|p| p.exists())
        .collect();
    examples.sort();
    for p in examples {
        let src = template::parse(&std::fs::read_to_string(&p).unwrap()).unwrap();
        let out =
            expand(&src, &Settings::default()).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        inputs.push((p.display().to_string(), out));
    }
    assert!(
        inputs.len() > 50,
        "goldens and examples found: {}",
        inputs.len()
    );
    let mut unknown = Vec::new();
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (name, t) in &inputs {
        for f in model::analyse(t).findings {
            if known.contains_key(f.code) {
                *seen.entry(f.code).or_default() += 1;
            } else {
                unknown.push(format!("{name}: {f}"));
            }
        }
    }
    println!(
        "{} templates; known open defects seen: {seen:?}",
        inputs.len()
    );
    assert!(unknown.is_empty(), "new findings:\n{}", unknown.join("\n"));
}

/// Each rule fires on a golden output with one defect planted in its text, and not before:
/// the rules can fail on real expansions, not only on hand-made fragments.
#[test]
fn the_model_finds_planted_defects() {
    let cases: &[(&str, &str, &str, &str)] = &[
        ("canary_dedicated_https.json", "\"Priority\": 1,", "\"Priority\": 2,", "ELB_PRIORITY_IN_USE"),
        (
            "canary_dedicated_https.json",
            "\"Port\": 80,\n        \"Protocol\": \"HTTP\"",
            "\"Port\": 443,\n        \"Protocol\": \"HTTP\"",
            "ELB_DUPLICATE_LISTENER",
        ),
        (
            "canary_dedicated_https.json",
            "\"DefaultActions\": [\n          {\n            \"Type\": \"forward\"",
            "\"DefaultActions\": [\n          {\n            \"Type\": \"fixed-response\"",
            "ECS_STRATEGY_LISTENER_NOT_FORWARD",
        ),
        (
            "canary_dedicated_https.json",
            "\"Key\": \"deregistration_delay.timeout_seconds\"",
            "\"Key\": \"stickiness.enabled\", \"Value\": \"true\"}, {\"Key\": \"deregistration_delay.timeout_seconds\"",
            "ELB_STICKINESS_NOT_IN_WEIGHTED_FORWARD",
        ),
        (
            "canary_dedicated_https.json",
            "\"Resources\": {",
            "\"Resources\": {\"WebRequestScaling\": {\"Type\": \"AWS::ApplicationAutoScaling::ScalingPolicy\", \"Properties\": {\"TargetTrackingScalingPolicyConfiguration\": {\"PredefinedMetricSpecification\": {\"PredefinedMetricType\": \"ALBRequestCountPerTarget\", \"ResourceLabel\": {\"Fn::GetAtt\": [\"WebTargetGroup\", \"TargetGroupFullName\"]}}}}},",
            "METRIC_NAMES_ONE_TARGET_GROUP",
        ),
        ("canary_dedicated_https.json", "\"Weight\": 100", "\"Weight\": 1000", "ELB_WEIGHTED_FORWARD_LIMITS"),
        (
            "failover_lambda_trigger.json",
            "\"source\": [\n            \"aws.cloudwatch\"",
            "\"source\": [\n            \"aws.ec2\"",
            "FAILOVER_ALARM_EVENTS_NOT_ROUTED",
        ),
        (
            "failover_lambda_trigger.json",
            "\"TreatMissingData\": \"notBreaching\"",
            "\"TreatMissingData\": \"NotBreaching\"",
            "ALARM_EVALUATION_INVALID",
        ),
        (
            "canary_dedicated_https.json",
            "\"TargetType\": \"ip\"",
            "\"Name\": \"a-target-group-name-of-33-chars-x\", \"TargetType\": \"ip\"",
            "ELB_NAME_TOO_LONG",
        ),
        (
            "load_test_vpc_workers.json",
            "\"FromPort\": 80,\n            \"ToPort\": 80,\n            \"SourceSecurityGroupId\": {\n              \"Fn::GetAtt\": [\n                \"LedgerLoadBalancerSecurityGroup\"",
            "\"FromPort\": 80,\n            \"ToPort\": 80,\n            \"CidrIp\": \"0.0.0.0/0\", \"SourceSecurityGroupId\": {\n              \"Fn::GetAtt\": [\n                \"LedgerLoadBalancerSecurityGroup\"",
            "VPC_TASK_OPEN_TO_ANYONE",
        ),
        ("load_test_vpc_workers.json", "\"Scheme\": \"internal\"", "\"Scheme\": \"internet-facing\"", "VPC_SG_REFERENCE_TO_PUBLIC_ADDRESS"),
        // The lifecycle hook's VPC worker path (issue 17 item 13): its WorkerFunctionArn
        // dropped, the ALB made internet-facing, the ALB's ingress from the workers on another port.
        (
            "bluegreen_internal_vpc_gate.json",
            "\\\"WorkerFunctionArn\\\":\\\"${BlueLoadTestWorkers.Arn}\\\",",
            "",
            "VPC_GATE_OUTSIDE_VPC_TO_INTERNAL",
        ),
        ("bluegreen_internal_vpc_gate.json", "\"Scheme\": \"internal\"", "\"Scheme\": \"internet-facing\"", "VPC_SG_REFERENCE_TO_PUBLIC_ADDRESS"),
        (
            "bluegreen_internal_vpc_gate.json",
            "\"Description\": \"load-test workers of Blue\",\n        \"GroupId\": {\n          \"Fn::GetAtt\": [\n            \"BlueLoadBalancerSecurityGroup\",\n            \"GroupId\"\n          ]\n        },\n        \"IpProtocol\": \"tcp\",\n        \"FromPort\": 80,\n        \"ToPort\": 80",
            "\"Description\": \"load-test workers of Blue\",\n        \"GroupId\": {\n          \"Fn::GetAtt\": [\n            \"BlueLoadBalancerSecurityGroup\",\n            \"GroupId\"\n          ]\n        },\n        \"IpProtocol\": \"tcp\",\n        \"FromPort\": 81,\n        \"ToPort\": 81",
            "VPC_WORKERS_CANNOT_REACH_ALB",
        ),
        (
            "load_test_vpc_workers.json",
            "\"Description\": \"from the load balancer\",\n            \"IpProtocol\": \"tcp\",\n            \"FromPort\": 80,\n            \"ToPort\": 80",
            "\"Description\": \"from the load balancer\",\n            \"IpProtocol\": \"tcp\",\n            \"FromPort\": 81,\n            \"ToPort\": 81",
            "VPC_ALB_CANNOT_REACH_TASK",
        ),
        (
            "load_test_vpc_workers.json",
            "http://${LedgerLoadBalancer.DNSName}/health",
            "https://${LedgerLoadBalancer.DNSName}:80/health",
            "ELB_SCHEME_MISMATCH",
        ),
        (
            "linear_shared_rule.json",
            "http://api.example.com/api/health",
            "https://shared-123.us-east-1.elb.amazonaws.com/api/health",
            "ELB_TLS_NAME_NOT_COVERED",
        ),
        ("linear_shared_rule.json", "http://api.example.com/api/health", "http://api.example.com/api/api/health", "ELB_GATE_PATH_DOUBLED"),
        (
            "linear_shared_rule.json",
            "\\\"Headers\\\":{\\\"X-FargateApp-Route\\\":\\\"${V1}\\\"}",
            "\\\"Headers\\\":{}",
            "ECS_GATE_MEASURES_OLD_REVISION",
        ),
        (
            "strategy_routing_matrix.json",
            "https://${LinearHttpsIfLoadBalancer.DNSName}",
            "http://${LinearHttpsIfLoadBalancer.DNSName}",
            "ELB_GATE_MISROUTED",
        ),
        (
            "linear_shared_rule.json",
            "\"Values\": [\n                \"/api/*\"\n              ]",
            "\"Values\": [\"/api/*\", \"/v1/*\", \"/v2/*\", \"/v3/*\"]",
            "ELB_CONDITION_VALUES_PER_CONDITION",
        ),
        (
            "linear_shared_rule.json",
            "http://api.example.com/api/health",
            "http://other.example.com/api/health",
            "ELB_GATE_FALLS_THROUGH",
        ),
        (
            "shared_listener_auto_priority_specificity.json",
            "\"PriorityRange\": \"33333-50000\"",
            "\"PriorityRange\": \"16667-33332\"",
            "ELB_RULE_ORDER_UNDECIDED",
        ),
        (
            "failover_lambda_trigger.json",
            "\"FargateApp-${StackTag}-Standby-alarm\"",
            "\"FargateApp-${StackTag}-Standby-alarm-and-forty-more-characters-of-an-app\"",
            "EVENTS_RULE_NAME_INVALID",
        ),
        ("discovery_created_namespace.json", "\"Name\": \"products\"", "\"Name\": \"users\"", "CLOUDMAP_SERVICE_NAME_IN_USE"),
        // A duration left as the user wrote it instead of whole seconds.
        ("health_check_short_interval.json", "\"HealthCheckIntervalSeconds\": 5,", "\"HealthCheckIntervalSeconds\": \"5s\",", "ELB_HEALTH_CHECK_TIMING"),
        ("container_health_check.json", "\"Interval\": 30,", "\"Interval\": \"30s\",", "ECS_HEALTH_CHECK_TIMING"),
        ("branch_names.json", "\"my-project-feature-test123-service\"", "\"my-project/feature-test123-service\"", "AWS_NAME_INVALID"),
        ("branch_names.json", "\"my-project-feature-t-5ab779c7-tg\"", "\"my-project-feature-j-7415ecdb-tg\"", "AWS_NAME_IN_USE"),
        ("bluegreen_dedicated_alb.json", "\\\"P99Ms\\\":300", "\\\"P99Ms\\\":\\\"300\\\"", "ECS_HOOK_DETAILS_NOT_NUMBER"),
        ("failover_lambda_trigger.json", "\"LaunchType\": \"FARGATE\"", "\"DesiredCount\": 1, \"LaunchType\": \"FARGATE\"", "ECS_DESIRED_COUNT_REAPPLIED"),
        (
            "secrets_intrinsic_forms.json",
            "\"GenerateSecretString\": {",
            "\"KmsKeyId\": \"arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab\", \"GenerateSecretString\": {",
            "IAM_KMS_DECRYPT_NOT_GRANTED",
        ),
        ("secrets_intrinsic_forms.json", "secret:prod/partial-??????", "secret:prod/elsewhere-??????", "IAM_SECRET_NOT_GRANTED"),
        ("execution_role_scoped.json", "repository/team/users\"", "repository/team/other\"", "IAM_IMAGE_PULL_NOT_GRANTED"),
        ("execution_role_scoped.json", "repository/team/users\"", "repository/*\"", "IAM_IMAGE_PULL_WIDER"),
        // Service Connect and the alias record (service_connect_domain.yaml).
        ("service_connect_domain.json", "\"PortName\": \"products\"", "\"PortName\": \"product\"", "SC_PORT_NAME_UNDEFINED"),
        (
            "service_connect_domain.json",
            "\"PortName\": \"products\",\n              \"ClientAliases\": [\n                {\n                  \"Port\": 3000\n                }\n              ]",
            "\"PortName\": \"products\",\n              \"ClientAliases\": []",
            "SC_CLIENT_ALIASES",
        ),
        (
            "service_connect_domain.json",
            "\"PortName\": \"products\",\n              \"ClientAliases\": [\n                {\n                  \"Port\": 3000",
            "\"PortName\": \"products\",\n              \"ClientAliases\": [\n                {\"DnsName\": \"users\",\n                  \"Port\": 3000",
            "SC_ALIAS_IN_USE",
        ),
        (
            "service_connect_domain.json",
            "\"Namespace\": {\n            \"Fn::GetAtt\": [\n              \"FargateAppNamespaceShop\",\n              \"Arn\"\n            ]\n          }",
            "\"Namespace\": {\"Ref\": \"FargateAppNamespaceShop\"}",
            "SC_NAMESPACE_BY_ID",
        ),
        (
            "service_connect_domain.json",
            "\"FromPort\": 3000,\n        \"ToPort\": 3000\n      }\n    },\n    \"UsersServiceConnectFromWorker\"",
            "\"FromPort\": 3001,\n        \"ToPort\": 3001\n      }\n    },\n    \"UsersServiceConnectFromWorker\"",
            "SC_PEER_UNREACHABLE",
        ),
        (
            "service_connect_domain.json",
            "\"DependsOn\": [\n        \"UsersService\",\n        \"ProductsService\"\n      ]",
            "\"DependsOn\": [\"UsersService\"]",
            "SC_CLIENT_STARTS_BEFORE_SERVER",
        ),
        (
            "service_connect_domain.json",
            "\"HostedZoneId\": {\n            \"Fn::GetAtt\": [\n              \"WebLoadBalancer\",\n              \"CanonicalHostedZoneID\"\n            ]\n          },",
            "\"HostedZoneId\": \"Z35SXDOTRQ7X7K\",",
            "ROUTE53_ALIAS_NOT_APP_ALB",
        ),
        ("service_connect_domain.json", "\"DomainName\": \"*.example.com\"", "\"DomainName\": \"*.other.com\"", "ELB_TLS_NAME_NOT_COVERED"),
        // The gate waits for the record (D3 of fresh-trial-2), and one record per name (D5).
        (
            "service_connect_domain.json",
            "\"WebListener\",\n        \"WebDnsRecord\"\n",
            "\"WebListener\"\n",
            "ROUTE53_REQUEST_BEFORE_RECORD",
        ),
        (
            "service_connect_domain.json",
            "\"WebDnsRecord\": {",
            "\"CopyDnsRecord\": {\"Type\": \"AWS::Route53::RecordSet\", \"Properties\": {\"HostedZoneId\": \"Z0123456789ABCDEFGHIJ\", \"Name\": \"WWW.example.com.\", \"Type\": \"A\"}},\n    \"WebDnsRecord\": {",
            "ROUTE53_RECORD_IN_USE",
        ),
        // The scaling check against its scalable target and policy (RegisterScalableTarget's
        // range; the high alarm's datapoints; DependsOn).
        ("scaling_check.json", "\"ExpectDesired\": 2,", "\"ExpectDesired\": 4,", "AAS_CHECK_DESIRED_OUT_OF_RANGE"),
        ("scaling_check.json", "\"Duration\": 300,\n        \"ExpectDesired\": 2,", "\"Duration\": 120,\n        \"ExpectDesired\": 2,", "AAS_CHECK_LOAD_TOO_SHORT"),
        (
            "scaling_check.json",
            "\"UsersScalableTarget\",\n        \"UsersCpuScaling\",\n        \"UsersListener\"",
            "\"UsersScalableTarget\",\n        \"UsersListener\"",
            "CFN_CHECK_BEFORE_SCALING_POLICY",
        ),
        (
            "conditional_apps_shared_resources.json",
            "\"Condition\": \"FargateAppClusterCondition\"",
            "\"Condition\": \"IsStaging\"",
            "CFN_REF_TO_ABSENT",
        ),
        // The shared cluster under IsProd AND IsStaging (one Stage parameter): never created.
        (
            "conditional_apps_shared_resources.json",
            "\"Fn::Or\"",
            "\"Fn::And\"",
            "CFN_CONDITION_NEVER_TRUE",
        ),
        // The load balancer's container: one of the App's own task definition, or given with a
        // revision from outside the stack (TaskDefinition).
        (
            "dedicated_alb_http.json",
            "\"ContainerName\": \"Web\",\n            \"ContainerPort\": 80,",
            "\"ContainerName\": \"Web\",\n            \"ContainerPort\": 8080,",
            "ECS_LB_CONTAINER_UNDEFINED",
        ),
        (
            "task_definition_arn.json",
            "\"ContainerName\": \"web\",\n",
            "",
            "ECS_LB_CONTAINER_UNDEFINED",
        ),
        // A gate that still names the App's own task definition, which a given revision leaves out.
        (
            "task_definition_arn.json",
            "\"TaskDefinitionArn\": {\n          \"Ref\": \"TaskDefinition\"",
            "\"TaskDefinitionArn\": {\n          \"Ref\": \"WebTaskDefinition\"",
            "CFN_REF_TO_ABSENT",
        ),
        // Notify: the rule on the stack's own status events, the topic's policy, the URL.
        (
            "notify_branch_urls.json",
            "\"stack-id\": [\n              {\n                \"Ref\": \"AWS::StackId\"\n              }\n            ],",
            "",
            "NOTIFY_PATTERN_NOT_THIS_STACK",
        ),
        ("notify_branch_urls.json", "\"DELETE_IN_PROGRESS\"", "\"DELETE_COMPLETE\"", "NOTIFY_STATUS_NEVER_DELIVERED"),
        (
            "notify_branch_urls.json",
            "\"Service\": \"events.amazonaws.com\"",
            "\"Service\": \"sns.amazonaws.com\"",
            "NOTIFY_TOPIC_NOT_PUBLISHABLE",
        ),
        (
            "notify_branch_urls.json",
            "\"Fn::Sub\": \"http://${SharedAlbDnsName}:${WebAutoListener.Port}\"\n                    }\n                  ]",
            "\"Fn::Sub\": \"http://${SharedAlbDnsName}\"\n                    }\n                  ]",
            "NOTIFY_MESSAGE_NO_URL",
        ),
        // The post-create step waits for the gate (and so for the service).
        (
            "post_create_rolling.json",
            "\"DependsOn\": [\n        \"WebLoadTestGate\"\n      ]",
            "\"DependsOn\": []",
            "POST_CREATE_BEFORE_SERVICE",
        ),
    ];
    let mut codes_planted = std::collections::BTreeSet::new();
    for (file, from, to, code) in cases {
        let text = std::fs::read_to_string(root().join("tests/macro/output").join(file)).unwrap();
        assert!(text.contains(from), "{file}: {from:?} not found");
        let codes = |t: &str| -> Vec<&'static str> {
            let v: Value = serde_json::from_str(t).unwrap_or_else(|e| panic!("{file}: {e}"));
            model::analyse(&v).findings.iter().map(|f| f.code).collect()
        };
        assert!(!codes(&text).contains(code), "{file} already has {code}");
        let planted = codes(&text.replacen(from, to, 1));
        assert!(planted.contains(code), "{file}: {code} not in {planted:?}");
        codes_planted.insert(*code);
    }
    // Every rule but the two the generator and the goldens show (rule values per condition,
    // the open test route) and the one between two expansions (planted in its unit test,
    // `names::tests::a_replaced_resource_needs_a_new_name`) has a planted case.
    for r in model::all_rules() {
        assert!(
            codes_planted.contains(r.code)
                || [
                    "ELB_RULE_CONDITION_VALUES",
                    "ECS_TEST_ROUTE_OPEN",
                    "CFN_CUSTOM_NAME_REPLACED",
                ]
                .contains(&r.code),
            "no planted case for {}",
            r.code
        );
    }
}

/// `docs/model.md` lists every rule with its page.
#[test]
fn docs_list_every_rule() {
    let doc = std::fs::read_to_string(root().join("docs/model.md")).unwrap();
    for r in model::all_rules() {
        let line = doc.lines().find(|l| l.contains(&format!("`{}`", r.code)));
        assert!(
            line.is_some_and(|l| l.contains(r.doc)),
            "docs/model.md: {} with {}",
            r.code,
            r.doc
        );
    }
}

/// One small template per issue 17 section 3 item (`tests/macro/model-items/`, the code on the
/// first line). While the code is listed in `model_known.txt` the defect must still show (a
/// finding with that code, or a refusal for a `GEN_REFUSED_` shape); once its line is deleted it
/// must not: the template expands and the model does not report the code.
#[test]
fn section_3_items_show_until_fixed() {
    let known = known();
    let dir = root().join("tests/macro/model-items");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 15, "{} item templates", files.len());
    for p in files {
        let text = std::fs::read_to_string(&p).unwrap();
        let code = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# "))
            .unwrap()
            .trim();
        let open = known.contains_key(code);
        let src = template::parse(&text).unwrap();
        let expanded = expand(&src, &Settings::default());
        let shown = match &expanded {
            Ok(out) => model::analyse(out).findings.iter().any(|f| f.code == code),
            Err(_) => code.starts_with("GEN_REFUSED_"),
        };
        assert_eq!(
            shown,
            open,
            "{}: {code} {} ({})",
            p.display(),
            if open {
                "is listed as open but no longer shows: delete its line from model_known.txt"
            } else {
                "shows but is not listed as open"
            },
            match &expanded {
                Ok(_) => "expanded".to_string(),
                Err(e) => e.to_string(),
            }
        );
    }
}
