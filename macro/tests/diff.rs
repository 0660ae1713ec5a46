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
