//! 50 templates written by a tester who never saw the project's tests, from the README, the
//! schema and AWS's pages (`tests/macro/fresh-trial/`, with the tester's report, `REPORT.md`):
//! 14 were wrong on AWS when written. Each now either expands and passes the model of AWS with
//! no error finding, or is refused with problems that name a resource. The one exception is the
//! tester's own alarm on one of a blue/green App's two target groups (template 46), which the
//! expansion cannot change: it warns (FA305) and the model reports it.

use fargate_macro::model::{self, Severity};
use fargate_macro::{expand_with_warnings, template, Problem, Settings, Warning};
use std::path::Path;

/// (template, finding code the model keeps reporting, and why)
const EXPECTED: &[(&str, &str)] = &[(
    "46-conditional-bluegreen-gate-discovery-alarm.yaml",
    "METRIC_NAMES_ONE_TARGET_GROUP",
)];

#[test]
fn every_fresh_template_expands_clean_or_is_refused_by_name() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/macro/fresh-trial");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 50);
    let (mut clean, mut refused, mut failures) = (0, 0, Vec::new());
    for f in &files {
        let name = f.file_name().unwrap().to_str().unwrap();
        let t = template::parse(&std::fs::read_to_string(f).unwrap()).unwrap();
        match expand_with_warnings(&t, &Settings::default()) {
            Err(problems) => {
                refused += 1;
                for p in problems.iter() {
                    if let Problem::Template { path, .. } = p {
                        if !path.starts_with("Outputs") && !path.starts_with("Resources") {
                            failures.push(format!("{name}: a problem naming no resource: {p}"));
                        }
                    }
                }
            }
            Ok(out) => {
                let errors: Vec<_> = model::analyse(&out.template)
                    .findings
                    .into_iter()
                    .filter(|f| f.severity == Severity::Error)
                    .collect();
                let expected = EXPECTED.iter().find(|(n, _)| *n == name);
                match expected {
                    Some((_, code)) => {
                        assert!(errors.iter().all(|e| e.code == *code), "{name}: {errors:?}");
                        assert!(
                            out.warnings
                                .iter()
                                .any(|w| matches!(w, Warning::OneOfTwoTargetGroups { .. })),
                            "{name}: no FA305 warning"
                        );
                    }
                    None if errors.is_empty() => clean += 1,
                    None => failures.push(format!(
                        "{name}: {}",
                        errors
                            .iter()
                            .map(|e| e.to_string())
                            .collect::<Vec<_>>()
                            .join("\n  ")
                    )),
                }
            }
        }
    }
    println!(
        "fresh trial: {clean} expand clean, {refused} refused, {} expected finding(s)",
        EXPECTED.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
