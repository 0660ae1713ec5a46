//! The upgrade check: what installing this release does to stacks deployed with the previous one.
//! `tests/upgrade/baseline/` holds every golden input and example as the previous release
//! expanded it (`tests/upgrade-baseline.sh`). Each input is expanded again with this code and
//! compared with the recorded expansion by `fargate-app diff`'s own comparison. CloudFormation
//! replaces a resource whose create-only property changes and deletes one whose logical ID is
//! gone (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-update-behaviors.html),
//! so a replaced or removed resource of a running App, or a template that no longer expands,
//! fails this test unless `CHANGELOG.md`'s `## Unreleased` section lists it with its reason.
//! `UPGRADE_REPORT=1` prints the per-template table.

use fargate_macro::diff::{compare, Action};
use fargate_macro::{expand, template, Settings};
use serde_json::Value;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// One line of the changelog's lists: `` - `AWS::Type` `Suffix`: reason `` (a resource, by its
/// type and its logical ID less the App's) or `` - `case`: reason `` (a template that no longer
/// expands).
#[derive(Debug, Default)]
struct Allowed {
    resources: BTreeSet<(String, String)>,
    refused: BTreeSet<String>,
}

fn code_spans(line: &str) -> Vec<&str> {
    line.split('`').skip(1).step_by(2).collect()
}

/// The `## Unreleased` section: `### Replaced or removed on upgrade` and `### No longer expands`.
fn allowed(changelog: &str) -> Allowed {
    let mut a = Allowed::default();
    let mut section = "";
    let mut unreleased = false;
    for line in changelog.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            unreleased = h.starts_with("Unreleased");
            continue;
        }
        if !unreleased {
            continue;
        }
        if let Some(h) = line.strip_prefix("### ") {
            section = if h.starts_with("Replaced or removed") {
                "resources"
            } else if h.starts_with("No longer expands") {
                "refused"
            } else {
                ""
            };
            continue;
        }
        let Some(item) = line.strip_prefix("- ") else {
            continue;
        };
        if section.is_empty() {
            continue;
        }
        let spans = code_spans(item);
        assert!(
            item.contains(": "),
            "CHANGELOG.md: `{line}` gives no reason (`- ... : why`)"
        );
        match (section, spans.as_slice()) {
            ("resources", [ty, suffix, ..]) => {
                a.resources.insert((ty.to_string(), suffix.to_string()));
            }
            ("refused", [case, ..]) => {
                a.refused.insert(case.to_string());
            }
            _ => panic!("CHANGELOG.md: `{line}` is not of the section's form"),
        }
    }
    a
}

fn app_ids(source: &Value) -> Vec<String> {
    source["Resources"]
        .as_object()
        .map(|r| {
            r.iter()
                .filter(|(_, v)| v["Type"] == "Fargate::App")
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// A generated logical ID less its App's ID (the longest App ID it starts with).
fn suffix(id: &str, apps: &[String]) -> String {
    apps.iter()
        .filter(|a| id.starts_with(a.as_str()) && id.len() > a.len())
        .max_by_key(|a| a.len())
        .map(|a| id[a.len()..].to_string())
        .unwrap_or_else(|| id.to_string())
}

#[derive(Debug, Default)]
struct Row {
    case: String,
    modified: usize,
    replaced: Vec<String>,
    removed: Vec<String>,
    refused: bool,
}

fn check_release(base: &Path, changelog: &str) -> (Vec<Row>, Vec<String>) {
    let allowed = allowed(changelog);
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    let mut inputs: Vec<PathBuf> = fs::read_dir(base.join("input"))
        .expect("tests/upgrade/baseline/input exists")
        .map(|e| e.unwrap().path())
        .collect();
    inputs.sort();
    for input in inputs {
        let case = input.file_stem().unwrap().to_str().unwrap().to_string();
        let source = template::parse(&fs::read_to_string(&input).unwrap()).unwrap();
        let old: Value = serde_json::from_str(
            &fs::read_to_string(base.join("output").join(format!("{case}.json"))).unwrap(),
        )
        .unwrap();
        let mut row = Row {
            case: case.clone(),
            ..Row::default()
        };
        match expand(&source, &Settings::default()) {
            Err(p) => {
                row.refused = true;
                if !allowed.refused.contains(&case) {
                    failures.push(format!(
                        "{case}: expanded in the previous release, refused now and not in CHANGELOG.md's `No longer expands`:\n{p}"
                    ));
                }
            }
            Ok(new) => {
                let d = compare(&source, &old, &source, &new);
                let apps = app_ids(&source);
                for r in &d.resources {
                    let key = (r.resource_type.clone(), suffix(&r.logical_id, &apps));
                    let list = match r.action {
                        Action::Replace => &mut row.replaced,
                        Action::Remove => &mut row.removed,
                        Action::Modify | Action::NewRevision => {
                            row.modified += 1;
                            continue;
                        }
                        Action::Add => continue,
                    };
                    list.push(r.logical_id.clone());
                    if !allowed.resources.contains(&key) {
                        failures.push(format!(
                            "{case}: {} `{}` `{}` ({:?}) on upgrade, not listed in CHANGELOG.md's `Replaced or removed on upgrade`",
                            r.logical_id, key.0, key.1, r.action
                        ));
                    }
                }
            }
        }
        rows.push(row);
    }
    (rows, failures)
}

#[test]
fn upgrade_from_the_previous_release_replaces_only_what_the_changelog_lists() {
    let base = root().join("tests/upgrade/baseline");
    let release = fs::read_to_string(base.join("RELEASE")).expect("baseline RELEASE file");
    let changelog = fs::read_to_string(root().join("CHANGELOG.md")).expect("CHANGELOG.md");
    let (rows, failures) = check_release(&base, &changelog);
    assert!(rows.len() >= 60, "baseline holds {} templates", rows.len());
    if std::env::var_os("UPGRADE_REPORT").is_some() {
        println!("{}", release.trim());
        println!("| template | modified | replaced | removed | refused |");
        println!("| --- | --- | --- | --- | --- |");
        for r in &rows {
            println!(
                "| {} | {} | {} | {} | {} |",
                r.case,
                r.modified,
                r.replaced.join(" "),
                r.removed.join(" "),
                if r.refused { "yes" } else { "" }
            );
        }
        let n = |f: &dyn Fn(&Row) -> bool| rows.iter().filter(|r| f(r)).count();
        println!(
            "templates {}, with modifications {}, with replacements {}, with removals {}, refused {}",
            rows.len(),
            n(&|r| r.modified > 0),
            n(&|r| !r.replaced.is_empty()),
            n(&|r| !r.removed.is_empty()),
            n(&|r| r.refused)
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The check can fail: a baseline whose recorded expansion names a resource this code no longer
/// makes, and an input this code refuses, are both reported unless the changelog lists them.
#[test]
fn the_check_reports_an_unlisted_removal_and_refusal() {
    let dir = std::env::temp_dir().join(format!("fargate-upgrade-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("input")).unwrap();
    fs::create_dir_all(dir.join("output")).unwrap();
    let good = "Transform: FargateApp\nResources:\n  Web:\n    Type: Fargate::App\n    Properties:\n      Image: nginx\n      Network: { VpcId: vpc-1, Subnets: [subnet-1] }\n";
    let tpl = template::parse(good).unwrap();
    let mut old = expand(&tpl, &Settings::default()).unwrap();
    old["Resources"]["WebGone"] = serde_json::json!({"Type": "AWS::SNS::Topic"});
    fs::write(dir.join("input/gone.yaml"), good).unwrap();
    fs::write(dir.join("output/gone.json"), old.to_string()).unwrap();
    let bad = good.replace("Image: nginx", "Image: nginx\n      Memroy: 512");
    fs::write(dir.join("input/refused.yaml"), &bad).unwrap();
    fs::write(dir.join("output/refused.json"), old.to_string()).unwrap();

    let (_, failures) = check_release(&dir, "## Unreleased\n");
    assert_eq!(failures.len(), 2, "{failures:#?}");
    assert!(failures[0].contains("WebGone") && failures[0].contains("Remove"));
    assert!(failures[1].starts_with("refused:"));

    let listed = "## Unreleased\n### Replaced or removed on upgrade\n- `AWS::SNS::Topic` `Gone`: test\n### No longer expands\n- `refused`: test\n";
    let (_, failures) = check_release(&dir, listed);
    assert!(failures.is_empty(), "{failures:#?}");
    fs::remove_dir_all(&dir).unwrap();
}
