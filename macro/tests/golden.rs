//! Golden tests in the SAM style: every `tests/macro/input/<case>.{yaml,json}` expands to exactly
//! `tests/macro/output/<case>.json`; every `error_<case>` fails with exactly the message in
//! `tests/macro/output/error_<case>.txt`. `UPDATE_GOLDEN=1 cargo test` rewrites the expected files
//! for review with `git diff`.

use fargate_macro::{expand, template, Settings};
use std::fs;
use std::path::{Path, PathBuf};

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/macro")
}

fn input_cases() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(cases_dir().join("input"))
        .expect("tests/macro/input exists")
        .map(|e| e.unwrap().path())
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("yaml" | "json")
            )
        })
        .collect();
    v.sort();
    v
}

fn check(expected_path: &Path, actual: &str, failures: &mut Vec<String>) {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        fs::write(expected_path, actual).unwrap();
        return;
    }
    match fs::read_to_string(expected_path) {
        Ok(expected) if expected == actual => {}
        Ok(expected) => {
            let line = expected
                .lines()
                .zip(actual.lines())
                .position(|(a, b)| a != b)
                .map(|i| i + 1)
                .unwrap_or(expected.lines().count().min(actual.lines().count()) + 1);
            failures.push(format!(
                "{}: differs from line {line}",
                expected_path.display()
            ));
        }
        Err(_) => failures.push(format!(
            "{}: missing (run with UPDATE_GOLDEN=1)",
            expected_path.display()
        )),
    }
}

#[test]
fn golden_cases() {
    let cases = input_cases();
    let (errors, successes): (Vec<_>, Vec<_>) = cases.iter().partition(|p| {
        p.file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("error_")
    });
    assert!(
        successes.len() >= 30,
        "at least 30 success cases, found {}",
        successes.len()
    );
    assert!(
        errors.len() >= 15,
        "at least 15 error cases, found {}",
        errors.len()
    );
    let mut failures = Vec::new();
    for input in &cases {
        let name = input.file_stem().unwrap().to_str().unwrap().to_string();
        let text = fs::read_to_string(input).unwrap();
        let tpl = template::parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let result = expand(&tpl, &Settings::default());
        let out_dir = cases_dir().join("output");
        match (name.starts_with("error_"), result) {
            (false, Ok(v)) => {
                let s = template::to_json(&v);
                assert!(
                    !s.contains("Fargate::App"),
                    "{name}: an App was left in the output"
                );
                check(&out_dir.join(format!("{name}.json")), &s, &mut failures);
            }
            (false, Err(p)) => failures.push(format!("{name}: expected success, got:\n{p}")),
            (true, Ok(_)) => failures.push(format!("{name}: expected a failure, got a template")),
            (true, Err(p)) => {
                assert!(!p.is_empty());
                check(
                    &out_dir.join(format!("{name}.txt")),
                    &format!("{p}\n"),
                    &mut failures,
                );
            }
        }
    }
    assert!(
        failures.is_empty(),
        "golden mismatches:\n{}",
        failures.join("\n")
    );
}

/// Each expected file belongs to an input, so a renamed case cannot leave a stale golden.
#[test]
fn no_orphan_outputs() {
    let inputs: Vec<String> = input_cases()
        .iter()
        .map(|p| p.file_stem().unwrap().to_str().unwrap().to_string())
        .collect();
    for e in fs::read_dir(cases_dir().join("output")).unwrap() {
        let p = e.unwrap().path();
        let stem = p.file_stem().unwrap().to_str().unwrap().to_string();
        assert!(inputs.contains(&stem), "{} has no input case", p.display());
    }
}

/// Expansion is a pure function: the same input gives the same bytes.
#[test]
fn expansion_is_deterministic() {
    for input in input_cases() {
        let tpl = template::parse(&fs::read_to_string(&input).unwrap()).unwrap();
        let a = expand(&tpl, &Settings::default())
            .map(|v| template::to_json(&v))
            .map_err(|e| e.to_string());
        let b = expand(&tpl, &Settings::default())
            .map(|v| template::to_json(&v))
            .map_err(|e| e.to_string());
        assert_eq!(a, b, "{}", input.display());
    }
}

/// Every problem of the golden error cases has a specific rule code
/// (`fargate-app expand --error-format json`), not the fallback FA100/FA200: CI annotations
/// group by code, so a new kind of message needs its code in `Problem::code`.
#[test]
fn golden_errors_have_specific_codes() {
    let mut generic = Vec::new();
    for input in input_cases() {
        let name = input.file_stem().unwrap().to_str().unwrap().to_string();
        if !name.starts_with("error_") {
            continue;
        }
        let tpl = template::parse(&fs::read_to_string(&input).unwrap()).unwrap();
        let Err(problems) = expand(&tpl, &Settings::default()) else {
            continue;
        };
        for p in problems.iter() {
            if matches!(p.code(), "FA100" | "FA200") {
                generic.push(format!("{name}: {} {p}", p.code()));
            }
        }
    }
    assert!(
        generic.is_empty(),
        "problems with the fallback code:\n{}",
        generic.join("\n")
    );
}
