//! `fargate-app diff`: golden cases under `tests/macro/diff/<case>/` (`new.yaml` against
//! `base.yaml`, exact text in `expected.txt`, exact JSON in `expected.json` where present),
//! exit codes of the CLI, `--base` against a git ref, and the create-only table's coverage.
//! `UPDATE_GOLDEN=1` rewrites the expected files for review with `git diff`.
//!
//! Replacement comes from the resource schemas' `createOnlyProperties` ("a change to any of
//! them requires the resource to be replaced", CloudFormation resource schema docs:
//! https://docs.aws.amazon.com/cloudformation-cli/latest/userguide/resource-type-schema.html),
//! as bundled with cfn-lint (`tests/create-only.py` regenerates `macro/src/create_only.rs`).

use fargate_macro::diff::{diff_templates, Action};
use fargate_macro::gen::Settings;
use fargate_macro::template;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/macro/diff")
}

fn load(p: &Path) -> Value {
    template::parse(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn golden(case: &str, file: &str, actual: &str) {
    let p = dir().join(case).join(file);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&p, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&p).unwrap_or_default();
    assert_eq!(
        actual, expected,
        "{case}/{file} differs (UPDATE_GOLDEN=1 to rewrite)"
    );
}

/// Runs one case in process; returns the diff's exit codes without and with
/// `--fail-on replacement`.
fn case(name: &str) -> (u8, u8) {
    let old = load(&dir().join("base.yaml"));
    let new = load(&dir().join(name).join("new.yaml"));
    let d = diff_templates(&old, &new, &Settings::default()).unwrap();
    golden(name, "expected.txt", &d.render());
    if dir().join(name).join("expected.json").exists() {
        golden(
            name,
            "expected.json",
            &(serde_json::to_string_pretty(&d).unwrap() + "\n"),
        );
    }
    (d.exit_code(false), d.exit_code(true))
}

// ELBv2 target group: `Port` is create-only (schema AWS::ElasticLoadBalancingV2::TargetGroup),
// so a new target group is created and the listener and service are pointed at it in place.
#[test]
fn port_change_replaces_the_target_group() {
    assert_eq!(case("port_change"), (1, 2));
}

// ECS task definitions are immutable: any change registers a new revision (every property of
// AWS::ECS::TaskDefinition that the macro sets is create-only); the service takes the new
// revision through an in-place update of `TaskDefinition`, which is the rolling deployment.
#[test]
fn image_change_is_a_new_revision_and_an_in_place_service_update() {
    assert_eq!(case("image_change"), (1, 1));
}

// A renamed App renames every generated logical ID: CloudFormation creates the resources
// under the new IDs and deletes the old ones (a logical ID is the resource's identity in a
// stack: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/resources-section-structure.html).
#[test]
fn app_rename_replaces_everything() {
    assert_eq!(case("app_rename"), (1, 2));
}

// Scalable target capacities and target-tracking values are not create-only.
#[test]
fn scaling_change_is_in_place() {
    assert_eq!(case("scaling_change"), (1, 1));
}

#[test]
fn new_app_only_adds() {
    assert_eq!(case("new_app"), (1, 1));
    let old = load(&dir().join("base.yaml"));
    let new = load(&dir().join("new_app/new.yaml"));
    let d = diff_templates(&old, &new, &Settings::default()).unwrap();
    assert!(d.resources.iter().all(|r| r.action == Action::Add));
}

#[test]
fn same_template_is_no_change() {
    let t = load(&dir().join("base.yaml"));
    let d = diff_templates(&t, &t, &Settings::default()).unwrap();
    assert!(d.resources.is_empty());
    assert_eq!(d.exit_code(true), 0);
}

// A generated ID renamed inside an App (a fixed listener port becomes `auto`: `WebListener`
// is removed and `WebAutoListener`, a custom resource, is added) is a removal plus an addition
// of different types; a same-type rename is called out as a replacement.
#[test]
fn renamed_generated_id_of_the_same_type_is_a_replacement() {
    let old: Value = serde_json::json!({"Resources": {
        "Web": {"Type": "Fargate::App", "Properties": {"Image": "x", "Network": {"VpcId": "vpc-1", "Subnets": ["subnet-1"]}}}
    }});
    let old_x = fargate_macro::expand(&old, &Settings::default()).unwrap();
    // Same template, with the log group's generated ID changed as a future macro might.
    let mut new_x = old_x.clone();
    let res = new_x["Resources"].as_object_mut().unwrap();
    let lg = res.shift_remove("WebLogGroup").unwrap();
    res.insert("WebLogs".into(), lg);
    let d = fargate_macro::diff::compare(&old, &old_x, &old, &new_x);
    let r = d
        .resources
        .iter()
        .find(|r| r.logical_id == "WebLogs")
        .unwrap();
    assert_eq!(r.action, Action::Replace);
    assert_eq!(r.renamed_from.as_deref(), Some("WebLogGroup"));
    assert!(!d.resources.iter().any(|r| r.action == Action::Remove));
    assert_eq!(d.exit_code(true), 2);
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fargate-app"))
}

/// Exit codes: 0 no change, 1 changes (a replacement too), 2 a replacement only with
/// `--fail-on replacement`, 3 trouble (a version that does not expand).
#[test]
fn cli_exit_codes_and_json() {
    let base = dir().join("base.yaml");
    let bad = std::env::temp_dir().join(format!("diff-bad-{}.yaml", std::process::id()));
    std::fs::write(
        &bad,
        "Resources:\n  W:\n    Type: Fargate::App\n    Properties: {}\n",
    )
    .unwrap();
    let scaling = dir().join("scaling_change/new.yaml");
    let port = dir().join("port_change/new.yaml");
    let cases: [(&Path, &[&str], i32, &str); 7] = [
        (&base, &[], 0, ""),
        (&scaling, &[], 1, ""),
        (&scaling, &["--fail-on", "replacement"], 1, ""),
        (&port, &[], 1, ""),
        (&port, &["--fail-on", "replacement"], 2, ""),
        (
            &port,
            &["--format", "json", "--fail-on", "replacement"],
            2,
            "",
        ),
        // An invalid version is trouble, naming the version and the problem.
        (&bad, &[], 3, "the new version does not expand"),
    ];
    for (new, args, code, stderr) in cases {
        let out = bin()
            .arg("diff")
            .args(args)
            .arg(&base)
            .arg(new)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(code), "{new:?} {args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(stderr), "{args:?}: {err}");
        if args.contains(&"json") {
            let expected =
                std::fs::read_to_string(dir().join("port_change/expected.json")).unwrap();
            assert_eq!(String::from_utf8(out.stdout).unwrap(), expected);
        }
        if code == 3 {
            assert!(err.contains("Resource [W] Properties.Image"), "{err}");
        }
    }
    std::fs::remove_file(&bad).unwrap();
}

#[test]
fn base_compares_with_the_file_at_a_git_ref() {
    let repo = std::env::temp_dir().join(format!("diff-git-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&repo);
    std::fs::create_dir_all(&repo).unwrap();
    let git = |args: &[&str]| {
        let s = Command::new("git")
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .current_dir(&repo)
            .output()
            .unwrap();
        assert!(s.status.success(), "{}", String::from_utf8_lossy(&s.stderr));
    };
    git(&["init", "-q"]);
    std::fs::copy(dir().join("base.yaml"), repo.join("t.yaml")).unwrap();
    git(&["add", "t.yaml"]);
    git(&["commit", "-q", "-m", "base"]);
    std::fs::copy(dir().join("image_change/new.yaml"), repo.join("t.yaml")).unwrap();
    let out = bin()
        .args(["diff", "--base", "HEAD", "t.yaml"])
        .current_dir(&repo)
        .output()
        .unwrap();
    let missing = bin()
        .args(["diff", "--base", "HEAD", "nope.yaml"])
        .current_dir(&repo)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&repo).unwrap();
    assert_eq!(out.status.code(), Some(1));
    let expected = std::fs::read_to_string(dir().join("image_change/expected.txt")).unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), expected);
    assert_eq!(missing.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("git show HEAD:./nope.yaml"));
}

/// Every type the macro generates in any golden case has its create-only properties in the
/// table; a new type needs a line in tests/create-only.py (the table itself is compared with
/// cfn-lint's schemas by `tests/create-only.py --check` in `make test`).
#[test]
fn create_only_table_covers_every_generated_type() {
    let inputs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/macro/input");
    let mut missing = BTreeSet::new();
    for e in std::fs::read_dir(inputs).unwrap() {
        let p = e.unwrap().path();
        if p.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("error_")
        {
            continue;
        }
        let src = load(&p);
        let Ok(out) = fargate_macro::expand(&src, &Settings::default()) else {
            continue;
        };
        let before = src["Resources"].as_object().cloned().unwrap_or_default();
        for (id, r) in out["Resources"].as_object().unwrap() {
            let t = r["Type"].as_str().unwrap();
            if !before.contains_key(id) && fargate_macro::diff::create_only(t).is_none() {
                missing.insert(t.to_string());
            }
        }
    }
    assert!(
        missing.is_empty(),
        "not in the create-only table: {missing:?}"
    );
}

// The provider answers an Update of `Custom::FargateListenerPort` with a new listener (a new
// physical ID) when the range changes (provider/src/listener_port.rs), so the claim is replaced;
// the ALB ingress rule takes the port through `Fn::GetAtt ...AutoListener.Port` in `FromPort`,
// create-only for AWS::EC2::SecurityGroupIngress, so it is replaced too.
#[test]
fn a_new_port_range_replaces_the_claim_and_its_ingress_rule() {
    let input =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/macro/input/shared_port_auto.yaml");
    let text = std::fs::read_to_string(input).unwrap();
    let old = template::parse(&text).unwrap();
    let new = template::parse(&text.replace(
        "ListenerPort: auto",
        "ListenerPort: auto\n        PortRange: 9000-9099",
    ))
    .unwrap();
    let d = diff_templates(&old, &new, &Settings::default()).unwrap();
    let action = |id: &str| {
        d.resources
            .iter()
            .find(|r| r.logical_id == id)
            .map(|r| r.action)
    };
    assert_eq!(
        action("BranchAutoListener"),
        Some(Action::Replace),
        "{}",
        d.render()
    );
    assert_eq!(
        action("BranchListenerIngress"),
        Some(Action::Replace),
        "{}",
        d.render()
    );
    assert_eq!(action("BranchService"), None, "{}", d.render());
    assert_eq!((d.exit_code(false), d.exit_code(true)), (1, 2));
}

const PARAM_APP: &str = r#"
Parameters:
  Tag: { Type: String, Default: "1" }
  Subnets: { Type: CommaDelimitedList, Default: "subnet-1,subnet-2" }
  Token: { Type: String, NoEcho: true, Default: "s1" }
Resources:
  Web:
    Type: Fargate::App
    Properties:
      Image: !Sub "my/web:${Tag}"
      Environment: { TOKEN: !Ref Token }
      Network: { VpcId: vpc-1, Subnets: !Ref Subnets }
"#;

fn with_params(given: &[(&str, &str)]) -> serde_json::Map<String, Value> {
    given
        .iter()
        .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
        .collect()
}

/// Parameters: each version's values (given, else the `Default`) replace its `Ref`s and `${}`
/// before the comparison; a changed value shows in the parameter list and at the property
/// it reaches. A NoEcho value is shown as `****`.
#[test]
fn parameter_values_reach_the_properties() {
    use fargate_macro::diff::{diff_versions, Version};
    let bumped = PARAM_APP.replace("Default: \"1\"", "Default: \"2\"");
    // (case, old text, old given, new text, new given, parameter lines, changed paths
    // (resource, path, old, new), exit code)
    type Case<'a> = (
        &'a str,
        &'a str,
        &'a [(&'a str, &'a str)],
        &'a str,
        &'a [(&'a str, &'a str)],
        &'a [&'a str],
        Vec<(&'a str, &'a str, Value, Value)>,
        u8,
    );
    let cases: Vec<Case> = vec![
        (
            "image tag bumped through the parameter's Default",
            PARAM_APP,
            &[],
            &bumped,
            &[],
            &["~ Tag: \"1\" -> \"2\""],
            vec![(
                "WebTaskDefinition",
                "Properties.ContainerDefinitions[0].Image",
                Value::from("my/web:1"),
                Value::from("my/web:2"),
            )],
            1,
        ),
        (
            "image tag given with --parameters",
            PARAM_APP,
            &[],
            PARAM_APP,
            &[("Tag", "3")],
            &["~ Tag: \"1\" -> \"3\""],
            vec![(
                "WebTaskDefinition",
                "Properties.ContainerDefinitions[0].Image",
                Value::from("my/web:1"),
                Value::from("my/web:3"),
            )],
            1,
        ),
        (
            "the Default given explicitly is no change",
            PARAM_APP,
            &[],
            PARAM_APP,
            &[("Tag", "1")],
            &[],
            vec![],
            0,
        ),
        (
            "a subnet appended to a list parameter is one item",
            PARAM_APP,
            &[],
            PARAM_APP,
            &[("Subnets", "subnet-1,subnet-2,subnet-3")],
            &["~ Subnets: \"subnet-1,subnet-2\" -> \"subnet-1,subnet-2,subnet-3\""],
            vec![(
                "WebService",
                "Properties.NetworkConfiguration.AwsvpcConfiguration.Subnets[2]",
                Value::Null,
                Value::from("subnet-3"),
            )],
            1,
        ),
        (
            "a NoEcho value is masked",
            PARAM_APP,
            &[],
            PARAM_APP,
            &[("Token", "s2")],
            &["~ Token: \"****\" -> \"****\""],
            vec![(
                "WebTaskDefinition",
                "Properties.ContainerDefinitions[0].Environment[0].Value",
                Value::from("s1"),
                Value::from("s2"),
            )],
            1,
        ),
    ];
    for (name, old, old_given, new, new_given, params, paths, code) in cases {
        let (o, n) = (template::parse(old).unwrap(), template::parse(new).unwrap());
        let d = diff_versions(
            &Version::source(&o, with_params(old_given)),
            &Version::source(&n, with_params(new_given)),
            &Settings::default(),
        )
        .unwrap_or_else(|(_, p)| panic!("{name}: {p}"));
        let text = d.render();
        for p in params {
            assert!(text.contains(p), "{name}: no `{p}` in\n{text}");
        }
        assert_eq!(d.parameters.len(), params.len(), "{name}:\n{text}");
        let mut found = Vec::new();
        for r in &d.resources {
            for c in r.changes.iter().filter(|c| c.because.is_none()) {
                found.push((
                    r.logical_id.as_str(),
                    c.path.as_str(),
                    c.old.clone().unwrap_or(Value::Null),
                    c.new.clone().unwrap_or(Value::Null),
                ));
            }
        }
        assert_eq!(found, paths, "{name}:\n{text}");
        assert_eq!(d.exit_code(true), code, "{name}:\n{text}");
    }
}

/// The deployed version as CloudFormation processed it: taken as is, its parameters as
/// `DescribeStacks` shows them (a NoEcho one as `****`, which cannot be compared).
#[test]
fn a_processed_deployed_template_is_compared_as_is() {
    use fargate_macro::diff::{diff_versions, Version};
    let src = template::parse(PARAM_APP).unwrap();
    let mut deployed = fargate_macro::expand(&src, &Settings::default()).unwrap();
    deployed["Parameters"] = src["Parameters"].clone();
    let stack_params = with_params(&[
        ("Tag", "1"),
        ("Subnets", "subnet-1,subnet-2"),
        ("Token", "****"),
    ]);
    let old = Version {
        template: &deployed,
        processed: true,
        parameters: stack_params,
    };
    let same = diff_versions(
        &old,
        &Version::source(&src, Default::default()),
        &Settings::default(),
    )
    .unwrap();
    assert!(same.resources.is_empty(), "{}", same.render());
    assert_eq!(same.parameters.len(), 1);
    assert!(same.parameters[0].unknown, "{}", same.render());
    assert!(
        same.render().contains("~ Token: NoEcho"),
        "{}",
        same.render()
    );
    let bumped = template::parse(&PARAM_APP.replace("Default: \"1\"", "Default: \"2\"")).unwrap();
    let d = diff_versions(
        &old,
        &Version::source(&bumped, Default::default()),
        &Settings::default(),
    )
    .unwrap();
    let td = d
        .resources
        .iter()
        .find(|r| r.logical_id == "WebTaskDefinition")
        .unwrap_or_else(|| panic!("{}", d.render()));
    assert_eq!(td.action, Action::NewRevision);
    assert_eq!(td.app.as_deref(), Some("Web"));
}

/// A changed list shows the items that changed, not the whole list.
#[test]
fn list_changes_are_shown_item_by_item() {
    let src = serde_json::json!({"Resources": {}});
    let res = |list: Value| serde_json::json!({"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"Tags": list}}}});
    let t = |k: &str| serde_json::json!({"Key": k, "Value": "v"});
    // (case, old list, new list, rendered change lines)
    let cases = [
        (
            "appended",
            vec![t("a"), t("b")],
            vec![t("a"), t("b"), t("c")],
            vec![r#"+ Properties.Tags[2]: {"Key":"c","Value":"v"}"#],
        ),
        (
            "removed from the middle",
            vec![t("a"), t("b"), t("c")],
            vec![t("a"), t("c")],
            vec![r#"- Properties.Tags[1]: {"Key":"b","Value":"v"}"#],
        ),
        (
            "inserted first, one changed",
            vec![t("a"), t("b")],
            vec![t("z"), t("a"), t("c")],
            vec![
                r#"+ Properties.Tags[0]: {"Key":"z","Value":"v"}"#,
                r#"Properties.Tags[2].Key: "b" -> "c""#,
            ],
        ),
        (
            "same length, one changed",
            vec![t("a"), t("b")],
            vec![t("a"), t("c")],
            vec![r#"Properties.Tags[1].Key: "b" -> "c""#],
        ),
    ];
    for (name, old, new, lines) in cases {
        let d = fargate_macro::diff::compare(
            &src,
            &res(Value::Array(old)),
            &src,
            &res(Value::Array(new)),
        );
        let text = d.render();
        let got: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("      "))
            .map(str::trim)
            .collect();
        assert_eq!(got, lines, "{name}:\n{text}");
        assert!(text.contains("Other resources"), "{name}:\n{text}");
    }
}

/// The IAM and security-group tables, and what counts as broadening: a new action, a wider
/// resource, a new principal, a managed policy, an ingress open to any address.
#[test]
fn security_changes_and_broadening() {
    use fargate_macro::diff::security;
    let role = |stmts: Value, managed: Value| {
        serde_json::json!({"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {"Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
            "ManagedPolicyArns": managed,
            "Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": stmts}}]}})
    };
    let allow =
        |a: &str, r: &str| serde_json::json!({"Effect": "Allow", "Action": a, "Resource": r});
    let sg = |ingress: Value| serde_json::json!({"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "g", "SecurityGroupIngress": ingress}});
    let rule = |cidr: &str, port: u16| serde_json::json!({"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "CidrIp": cidr});
    let map = |v: Value| v.as_object().unwrap().clone();
    let none = serde_json::json!([]);
    // (case, old resources, new resources, IAM rows changed, SG rows changed, broadening)
    type Case<'a> = (&'a str, Value, Value, usize, usize, Vec<&'a str>);
    let cases: Vec<Case> = vec![
        (
            "a new action",
            serde_json::json!({"R": role(serde_json::json!([allow("s3:GetObject", "arn:aws:s3:::b/*")]), none.clone())}),
            serde_json::json!({"R": role(serde_json::json!([allow("s3:GetObject", "arn:aws:s3:::b/*"), allow("s3:PutObject", "arn:aws:s3:::b/*")]), none.clone())}),
            1,
            0,
            vec!["R is allowed s3:PutObject on arn:aws:s3:::b/*"],
        ),
        (
            "a narrower resource",
            serde_json::json!({"R": role(serde_json::json!([allow("s3:GetObject", "arn:aws:s3:::b/*")]), none.clone())}),
            serde_json::json!({"R": role(serde_json::json!([allow("s3:GetObject", "arn:aws:s3:::b/x")]), none.clone())}),
            2,
            0,
            vec![],
        ),
        (
            "a wider resource",
            serde_json::json!({"R": role(serde_json::json!([allow("s3:GetObject", "arn:aws:s3:::b/x")]), none.clone())}),
            serde_json::json!({"R": role(serde_json::json!([allow("s3:GetObject", "*")]), none.clone())}),
            2,
            0,
            vec!["R is allowed s3:GetObject on *"],
        ),
        (
            "an action in another case is the same action",
            serde_json::json!({"R": role(serde_json::json!([allow("s3:getobject", "*")]), none.clone())}),
            serde_json::json!({"R": role(serde_json::json!([allow("S3:GetObject", "*")]), none.clone())}),
            2,
            0,
            vec![],
        ),
        (
            "a managed policy attached",
            serde_json::json!({"R": role(none.clone(), none.clone())}),
            serde_json::json!({"R": role(none.clone(), serde_json::json!(["arn:aws:iam::aws:policy/AdministratorAccess"]))}),
            1,
            0,
            vec!["R gets the managed policy arn:aws:iam::aws:policy/AdministratorAccess"],
        ),
        (
            "an ingress open to any IPv4 address",
            serde_json::json!({"G": sg(serde_json::json!([rule("10.0.0.0/8", 80)]))}),
            serde_json::json!({"G": sg(serde_json::json!([rule("10.0.0.0/8", 80), rule("0.0.0.0/0", 443)]))}),
            0,
            1,
            vec!["G admits tcp 443 from 0.0.0.0/0 (any address)"],
        ),
        (
            "an ingress open to any IPv6 address, as its own resource",
            serde_json::json!({"G": sg(none.clone())}),
            serde_json::json!({"G": sg(none.clone()), "I": {"Type": "AWS::EC2::SecurityGroupIngress", "Properties": {"GroupId": {"Fn::GetAtt": ["G", "GroupId"]}, "IpProtocol": "-1", "CidrIpv6": "::/0"}}}),
            0,
            1,
            vec!["G admits all from ::/0 (any address)"],
        ),
        (
            "an ingress from a private range is not broadening",
            serde_json::json!({"G": sg(none.clone())}),
            serde_json::json!({"G": sg(serde_json::json!([rule("10.0.0.0/8", 80)]))}),
            0,
            1,
            vec![],
        ),
        (
            "an open ingress removed",
            serde_json::json!({"G": sg(serde_json::json!([rule("0.0.0.0/0", 80)]))}),
            serde_json::json!({"G": sg(none.clone())}),
            0,
            1,
            vec![],
        ),
    ];
    for (name, old, new, iam, sgs, broadening) in cases {
        let c = security::compare(&map(old), &map(new));
        assert_eq!(c.iam.len(), iam, "{name}: {:?}", c.iam);
        assert_eq!(
            c.security_groups.len(),
            sgs,
            "{name}: {:?}",
            c.security_groups
        );
        assert_eq!(c.broadening, broadening, "{name}");
    }
}

/// Colour only on a terminal, never with NO_COLOR in auto; `--color always|never` override.
/// The terminal is a pseudo-terminal from util-linux `script`.
#[test]
fn colour_follows_the_terminal_and_no_color() {
    let base = dir().join("base.yaml");
    let new = dir().join("port_change/new.yaml");
    // (args, NO_COLOR set, on a terminal, escapes expected)
    let cases: [(&[&str], bool, bool, bool); 7] = [
        (&[], false, false, false),
        (&[], false, true, true),
        (&[], true, true, false),
        (&["--color", "never"], false, true, false),
        (&["--color", "always"], false, false, true),
        (&["--color", "always"], true, false, true),
        (&["--color", "never"], false, false, false),
    ];
    for (args, no_color, tty, escapes) in cases {
        let mut words = vec![env!("CARGO_BIN_EXE_fargate-app").to_string(), "diff".into()];
        words.extend(args.iter().map(|a| a.to_string()));
        words.push(base.to_string_lossy().into_owned());
        words.push(new.to_string_lossy().into_owned());
        let mut c = if tty {
            let mut c = Command::new("script");
            c.args(["-qec", &words.join(" "), "/dev/null"]);
            c
        } else {
            let mut c = Command::new(&words[0]);
            c.args(&words[1..]);
            c
        };
        if no_color {
            c.env("NO_COLOR", "1");
        } else {
            c.env_remove("NO_COLOR");
        }
        let out = c.output().unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let case = format!("{args:?} NO_COLOR={no_color} tty={tty}");
        assert_eq!(text.contains("\x1b["), escapes, "{case}: {text}");
        assert!(text.contains("WebTargetGroup"), "{case}: {text}");
    }
}

/// The fresh trial's update cases (tests/macro/fresh-trial-3/REPORT.md T1, D5, D6, D8, D9):
/// conditions decided by each version's parameter values decide which resources exist and
/// which `Fn::If` branch applies (a create-only `ListenerArn` moved by `Fn::If` replaces the
/// rule), a condition no known value decides is listed, never guessed; and the changes AWS
/// refuses or that interrupt traffic are warnings (`hazards.rs`), exit 2 with
/// `--fail-on replacement`.
#[test]
fn fresh_trial_updates_conditions_and_hazards() {
    use fargate_macro::diff::hazards::Effect;
    use fargate_macro::diff::{diff_versions, Version};
    let fresh = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/macro/fresh-trial-3");
    let read = |prefix: &str, edits: &[(&str, &str)]| -> Value {
        let e = std::fs::read_dir(&fresh)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
            .unwrap();
        let mut text = std::fs::read_to_string(e).unwrap();
        for (from, to) in edits {
            assert!(text.contains(from), "{prefix}: {from}");
            text = text.replace(from, to);
        }
        template::parse(&text).unwrap()
    };
    type Side<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a [(&'a str, &'a str)]);
    // (old (file, text edits, parameters), new (...), resource actions, warnings
    // (resource, effect, a word of the cause), undecided (resource, at), exit code with
    // --fail-on replacement)
    type Case<'a> = (
        Side<'a>,
        Side<'a>,
        &'a [(&'a str, Action)],
        &'a [(&'a str, Effect, &'a str)],
        &'a [(&'a str, &'a str)],
        u8,
    );
    let cert = "arn:aws:acm:us-east-1:123456789012:certificate/abc";
    let cases: &[Case] = &[
        // 13: Env dev -> prod turns on IsProd: every resource of the App, and the cluster, added.
        (
            ("13-", &[], &[("Env", "dev")]),
            ("13-", &[], &[("Env", "prod")]),
            &[
                ("WebService", Action::Add),
                ("WebTargetGroup", Action::Add),
                ("FargateAppCluster", Action::Add),
            ],
            &[],
            &[],
            1,
        ),
        // ... and back: removed.
        (
            ("13-", &[], &[("Env", "prod")]),
            ("13-", &[], &[("Env", "dev")]),
            &[
                ("WebService", Action::Remove),
                ("WebListenerRule", Action::Remove),
            ],
            &[],
            &[],
            1,
        ),
        // 13 with no Default and no value: IsProd undecided on both sides; nothing guessed.
        (
            ("13-", &[(", Default: dev", "")], &[]),
            (
                "13-",
                &[
                    (", Default: dev", ""),
                    (
                        "Image: public.ecr.aws/nginx/nginx:stable",
                        "Image: public.ecr.aws/nginx/nginx:1",
                    ),
                ],
                &[],
            ),
            &[("WebTaskDefinition", Action::NewRevision)],
            &[],
            &[
                ("WebService", "Condition"),
                ("FargateAppCluster", "Condition"),
            ],
            1,
        ),
        // 14: a certificate turns on HasCert: the HTTPS listener is added, the rules move to it
        // through Fn::If on the create-only ListenerArn (replaced).
        (
            ("14-", &[], &[("CertArn", "")]),
            ("14-", &[], &[("CertArn", cert)]),
            &[
                ("WebHttpsListener", Action::Add),
                ("WebProductionRule", Action::Replace),
                ("WebTestRule", Action::Replace),
                ("WebListener", Action::Modify),
            ],
            &[],
            &[],
            2,
        ),
        // 31 (D5): named target groups replaced (under new names since D5 was fixed); (D9) the listener and
        // rules forward to the new empty groups first; (D6) the generated rules change in place.
        (
            ("31-", &[], &[("AppPort", "8080")]),
            ("31-", &[], &[("AppPort", "9090")]),
            &[
                ("WebTargetGroup", Action::Replace),
                ("WebAlternateTargetGroup", Action::Replace),
            ],
            // The target groups' names carry a hash of Port and VpcId (fresh-trial-3 D5), so
            // the replacement gets a new name: no `Fails` warning, the 503 window stays.
            &[
                ("WebTargetGroup", Effect::Outage, "Properties.Port"),
                ("WebAlternateTargetGroup", Effect::Outage, "Properties.Port"),
                (
                    "WebProductionRule",
                    Effect::Outage,
                    "WebTargetGroup is replaced",
                ),
                ("WebTestRule", Effect::Outage, "WebTargetGroup is replaced"),
            ],
            &[],
            2,
        ),
        // 71 (D9): the same without names: no refusal, the 503 window stays.
        (
            ("71-", &[], &[("AppPort", "8080")]),
            ("71-", &[], &[("AppPort", "9090")]),
            &[("WebTargetGroup", Action::Replace)],
            &[
                ("WebTargetGroup", Effect::Outage, "Properties.Port"),
                ("WebAlternateTargetGroup", Effect::Outage, "Properties.Port"),
                (
                    "WebProductionRule",
                    Effect::Outage,
                    "WebTargetGroup is replaced",
                ),
                ("WebTestRule", Effect::Outage, "WebTargetGroup is replaced"),
            ],
            &[],
            2,
        ),
        // 34 -> 35 (D6): the blue/green rules' priorities change in place.
        (
            ("34-", &[], &[]),
            ("35-", &[], &[]),
            &[
                ("WebListenerRule", Action::Modify),
                ("WebTestRule", Action::Modify),
            ],
            &[
                ("WebListenerRule", Effect::Outage, "Properties.Priority"),
                ("WebTestRule", Effect::Outage, "Properties.Priority"),
            ],
            &[],
            2,
        ),
        // 65, 66 (D8): the Service Connect service replaced (new name; new cluster).
        (
            ("65-", &[], &[("Env", "staging")]),
            ("65-", &[], &[("Env", "prod")]),
            &[("ApiService", Action::Replace)],
            &[("ApiService", Effect::Fails, "Properties.ServiceName")],
            &[],
            2,
        ),
        (
            ("66-", &[], &[("ClusterName", "shared-a")]),
            ("66-", &[], &[("ClusterName", "shared-b")]),
            &[("ApiService", Action::Replace)],
            &[("ApiService", Effect::Fails, "Properties.Cluster")],
            &[],
            2,
        ),
        // 44 -> 45: Rolling to BlueGreen adds rules and a target group, replaces nothing:
        // no warning.
        (
            ("44-", &[], &[]),
            ("45-", &[], &[]),
            &[("WebAlternateTargetGroup", Action::Add)],
            &[],
            &[],
            1,
        ),
    ];
    for ((of, oe, op), (nf, ne, np), actions, warnings, undecided, code) in cases {
        let (old, new) = (read(of, oe), read(nf, ne));
        let d = diff_versions(
            &Version::source(&old, with_params(op)),
            &Version::source(&new, with_params(np)),
            &Settings::default(),
        )
        .unwrap();
        let case = format!("{of}{op:?} -> {nf}{np:?}\n{}", d.render());
        for (id, action) in *actions {
            let got = d
                .resources
                .iter()
                .find(|r| r.logical_id == *id)
                .map(|r| r.action);
            assert_eq!(got, Some(*action), "{id}: {case}");
        }
        let got: BTreeSet<(String, String)> = d
            .warnings
            .iter()
            .map(|w| (w.logical_id.clone(), format!("{:?}", w.effect)))
            .collect();
        let want: BTreeSet<(String, String)> = warnings
            .iter()
            .map(|(id, e, _)| (id.to_string(), format!("{e:?}")))
            .collect();
        assert_eq!(got, want, "{case}");
        for (id, e, cause) in *warnings {
            assert!(
                d.warnings.iter().any(|w| w.logical_id == *id
                    && w.effect == *e
                    && w.cause.contains(cause)
                    && w.page.starts_with("https://docs.aws.amazon.com/")),
                "{id} {e:?} {cause}: {case}"
            );
        }
        let got: BTreeSet<(&str, &str)> = d
            .undecided
            .iter()
            .map(|u| (u.resource.as_str(), u.at.as_str()))
            .collect();
        for u in *undecided {
            assert!(got.contains(u), "{u:?} undecided: {case}");
        }
        if undecided.is_empty() {
            assert!(got.is_empty(), "{case}");
        }
        assert_eq!(d.exit_code(true), *code, "{case}");
    }
    // --stack: the deployed (processed) template's conditions take the stack's values.
    let t = read("13-", &[]);
    let s = Settings {
        parameter_values: with_params(&[("Env", "prod")]),
        ..Settings::default()
    };
    let deployed = fargate_macro::expand(&t, &s).unwrap();
    let stack = Version {
        template: &deployed,
        processed: true,
        parameters: with_params(&[("Env", "prod")]),
    };
    let d = diff_versions(
        &stack,
        &Version::source(&t, with_params(&[("Env", "dev")])),
        &Settings::default(),
    )
    .unwrap();
    assert_eq!(d.summary.removed, 13, "{}", d.render());
    assert_eq!(d.summary.added, 0, "{}", d.render());
}
