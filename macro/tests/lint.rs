//! `fargate-app lint` as a process: each finding at its source line, the exit code, and the
//! JSON and SARIF forms. cfn-lint is the project's (`.venv/bin/cfn-lint`, installed by
//! `make setup`).

use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn cfn_lint() -> String {
    let p = root().join(".venv/bin/cfn-lint");
    assert!(p.exists(), "cfn-lint is missing: run `make setup`");
    p.display().to_string()
}

fn lint(text: &str, format: &str) -> (i32, String) {
    // One directory per call: tests run in parallel, and two texts may have one length.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("fargate-lint-test-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("template.yaml");
    std::fs::write(&file, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_fargate-app"))
        .args(["lint", "--format", format, "--cfn-lint", &cfn_lint()])
        .arg(&file)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    (out.status.code().unwrap(), stdout)
}

const HEAD: &str = "Transform: FargateApp\nParameters:\n  Vpc: { Type: String }\nResources:\n";
const APP: &str = "  Web:\n    Type: Fargate::App\n    Properties:\n      Image: nginx\n      Network: { VpcId: !Ref Vpc, Subnets: [subnet-0123456789abcdef0, subnet-0123456789abcdef1] }\n      LoadBalancer: { Create: { Scheme: internet-facing } }\n      LoadTest: { Path: /, Rate: 5 }\n";

/// What is wrong, the template, the findings expected as (line, code, part of the message), and
/// the exit code.
type Case = (
    &'static str,
    String,
    Vec<(u64, &'static str, &'static str)>,
    i32,
);

#[test]
fn findings_at_their_source_lines() {
    let cases: Vec<Case> = vec![
        ("clean, naming a generated resource in Outputs", format!("{HEAD}{APP}Outputs:\n  P99: {{ Value: !GetAtt WebLoadTestGate.P99Ms }}\n"), vec![], 0),
        ("misspelt type", format!("{HEAD}  Web:\n    Type: Fargate::app\n    Properties: {{ Image: !Ref Vpc }}\n"), vec![(6, "FA120", "did you mean 'Fargate::App'")], 1),
        ("Ref to no parameter", format!("{HEAD}{}", APP.replace("!Ref Vpc", "!Ref VpcId")), vec![(3, "W2001", "Vpc"), (9, "FA107", "Ref 'VpcId'")], 1),
        ("Sub variable and DependsOn naming nothing", format!("{HEAD}{APP}  Topic:\n    Type: AWS::SNS::Topic\n    DependsOn: Nothing\n    Properties: {{ TopicName: !Sub '${{Web.Url}}-${{Missing}}' }}\n"), vec![(14, "FA107", "'Nothing'"), (15, "FA107", "${Missing}")], 1),
        ("App property error", format!("{HEAD}{}", APP.replace("Image: nginx", "Image: nginx\n      Memroy: 512")), vec![(9, "FA101", "Memroy")], 1),
        // fresh-trial-3 T5 (18): a parameter used only in the App's `Name: !Sub`, which the macro
        // resolves to a literal, is used; one that nothing names is still reported.
        ("parameter used only in an App's Name", format!("{}{}", HEAD.replace("Resources:", "  Branch: { Type: String, Default: feature-x }\n  Spare: { Type: String, Default: x }\nResources:"), APP.replace("Image: nginx", "Image: nginx\n      Name: !Sub 'shop-${Branch}'")), vec![(5, "W2001", "Spare")], 0),
        ("cfn-lint on a user resource, at its property", format!("{HEAD}{APP}  Queue:\n    Type: AWS::SQS::Queue\n    Properties:\n      DelaySeconds: 9000\n"), vec![(15, "E3034", "9000")], 1),
    ];
    for (what, text, want, code) in cases {
        let (rc, out) = lint(&text, "json");
        let found: Vec<Value> =
            serde_json::from_str(&out).unwrap_or_else(|e| panic!("{what}: {e}: {out}"));
        assert_eq!(rc, code, "{what}: exit {rc}: {out}");
        assert_eq!(found.len(), want.len(), "{what}: {out}");
        for (f, (line, rule, part)) in found.iter().zip(&want) {
            assert_eq!(f["Line"], *line, "{what}: {f}");
            assert_eq!(f["Code"], *rule, "{what}: {f}");
            assert!(f["Message"].as_str().unwrap().contains(part), "{what}: {f}");
        }
    }
}

#[test]
fn text_and_sarif_forms() {
    let text = format!("{HEAD}{}", APP.replace("!Ref Vpc", "!Ref VpcId"));
    let (rc, out) = lint(&text, "text");
    assert_eq!(rc, 1);
    assert!(
        out.lines().any(|l| l.ends_with("template.yaml:9:7: error: [FA107] Resources [Web]: Ref 'VpcId' names no parameter or resource of this template")
            || (l.contains("template.yaml:9:") && l.contains("error: [FA107]"))),
        "{out}"
    );
    let (_, out) = lint(&text, "sarif");
    let log: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(log["version"], "2.1.0");
    let results = log["runs"][0]["results"].as_array().unwrap();
    // cfn-lint's W2001 (the parameter Vpc is now unused) comes first, at line 3.
    assert_eq!(results[0]["ruleId"], "W2001");
    assert_eq!(results[0]["level"], "warning");
    let result = &results[1];
    assert_eq!(result["ruleId"], "FA107");
    assert_eq!(result["level"], "error");
    assert_eq!(
        result["locations"][0]["physicalLocation"]["region"]["startLine"],
        9
    );
    let rules: Vec<&str> = log["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["FA107", "W2001"]);
}

/// Every example lints clean: no App problem, no undefined name, and no cfn-lint finding on its
/// expansion.
#[test]
fn examples_lint_clean() {
    let mut n = 0;
    for e in std::fs::read_dir(root().join("examples")).unwrap() {
        let t = e.unwrap().path().join("template.yaml");
        if !t.exists() || t.to_string_lossy().contains("/cdk/") {
            continue;
        }
        n += 1;
        let (rc, out) = lint(&std::fs::read_to_string(&t).unwrap(), "text");
        assert_eq!(rc, 0, "{}: {out}", t.display());
        assert!(out.trim().is_empty(), "{}: {out}", t.display());
    }
    assert!(n >= 7, "only {n} examples");
}
