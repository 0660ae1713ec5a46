//! `fargate-app expand` points every problem at its line and column, in YAML and in JSON.
//! Each `tests/macro/positions/<file>` is expanded by the CLI from that directory; its stderr
//! must equal `<file>.txt` (the text form) and `<file>.errors.json` (`--error-format json`,
//! pretty-printed here for review). `UPDATE_GOLDEN=1` rewrites them; check the positions by hand.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/macro/positions")
}

fn stderr_of(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fargate-app"))
        .current_dir(dir())
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.stdout.is_empty(),
        "no template on stdout for a failing case"
    );
    (out.status.code(), String::from_utf8(out.stderr).unwrap())
}

fn check(expected: &Path, actual: &str, failures: &mut Vec<String>) {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        fs::write(expected, actual).unwrap();
    } else if fs::read_to_string(expected).ok().as_deref() != Some(actual) {
        failures.push(format!("{}: differs:\n{actual}", expected.display()));
    }
}

#[test]
fn problems_point_at_their_line_and_column() {
    let mut inputs: Vec<String> = fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".yaml") || (n.ends_with(".json") && !n.ends_with(".errors.json")))
        .collect();
    inputs.sort();
    assert!(
        inputs.iter().any(|n| n.ends_with(".yaml")) && inputs.iter().any(|n| n.ends_with(".json")),
        "cases in both YAML and JSON"
    );
    let mut failures = Vec::new();
    for name in &inputs {
        let (code, text) = stderr_of(&["expand", name]);
        assert_eq!(code, Some(2), "{name}: {text}");
        assert!(
            text.lines().all(|l| l.starts_with(&format!("{name}:"))),
            "{name}: every line starts with FILE:LINE:COL\n{text}"
        );
        check(&dir().join(format!("{name}.txt")), &text, &mut failures);

        let (code, json) = stderr_of(&["expand", "--error-format", "json", name]);
        assert_eq!(code, Some(2));
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        let items = v.as_array().unwrap();
        assert_eq!(
            items.len(),
            text.lines().count(),
            "{name}: one item per problem"
        );
        for (item, line) in items.iter().zip(text.lines()) {
            // The JSON form carries what the text form shows, field by field.
            let head = format!("{name}:{}:{}: ", item["Line"], item["Column"]);
            assert!(line.starts_with(&head), "{line} / {item}");
            assert!(line.ends_with(item["Message"].as_str().unwrap()));
            assert!(item["Code"].as_str().unwrap().starts_with("FA"));
        }
        let pretty = serde_json::to_string_pretty(&v).unwrap() + "\n";
        check(
            &dir().join(format!("{name}.errors.json")),
            &pretty,
            &mut failures,
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// File problems (syntax, bounds, duplicates) carry a position and a code too, and exit 1.
#[test]
fn file_problems_in_json_form() {
    let (code, json) = stderr_of(&[
        "expand",
        "--error-format",
        "json",
        "../positions/duplicate.yml",
    ]);
    assert_eq!(code, Some(1));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        v,
        serde_json::json!([{
            "Severity": "Error",
            "File": "../positions/duplicate.yml",
            "Line": 6,
            "Column": 3,
            "LogicalId": null,
            "Path": null,
            "Message": "duplicate key 'Topic' (first at line 4 column 3); CloudFormation would keep only one of them",
            "Code": "FA005",
        }])
    );
}
