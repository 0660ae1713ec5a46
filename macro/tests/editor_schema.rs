//! The editor schema (`fargate-app schema`), tried in the YAML language server as an editor runs
//! it (`tests/editor/lsp-check.mjs`, with CloudFormation's tags declared and validation on): every
//! example and golden input opens with no diagnostic, and a misspelt, missing or misplaced
//! property is flagged at its line. `.vscode/fargate-app-template.schema.json` is that schema
//! (`UPDATE_GOLDEN=1` rewrites it).

use fargate_macro::editor_schema::editor_schema;
use fargate_macro::template;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The diagnostics the YAML language server publishes for each file: (line, message).
fn diagnostics(files: &[PathBuf]) -> Vec<(PathBuf, Vec<(u64, String)>)> {
    let server = root().join("tests/node_modules/yaml-language-server");
    assert!(
        server.exists(),
        "the YAML language server is missing: run `make setup`"
    );
    let schema = std::env::temp_dir().join(format!("fargate-editor-{}.json", std::process::id()));
    std::fs::write(&schema, template::to_json(&editor_schema())).unwrap();
    let out = Command::new("node")
        .arg(root().join("tests/editor/lsp-check.mjs"))
        .arg(&schema)
        .args(files)
        .output()
        .expect("node runs");
    std::fs::remove_file(&schema).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    files
        .iter()
        .map(|f| {
            let d = v[f.to_str().unwrap()]
                .as_array()
                .unwrap_or_else(|| panic!("no entry for {}", f.display()))
                .iter()
                .map(|d| {
                    (
                        d["line"].as_u64().unwrap(),
                        d["message"].as_str().unwrap().to_string(),
                    )
                })
                .collect();
            (f.clone(), d)
        })
        .collect()
}

#[test]
fn the_checked_in_editor_schema_is_current() {
    let want = template::to_json(&editor_schema());
    let path = root().join(".vscode/fargate-app-template.schema.json");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    assert!(
        std::fs::read_to_string(&path).unwrap_or_default() == want,
        ".vscode/fargate-app-template.schema.json is not `fargate-app schema` (UPDATE_GOLDEN=1)"
    );
}

#[test]
fn templates_open_clean_and_mistakes_are_flagged_at_their_line() {
    let mut clean: Vec<PathBuf> = Vec::new();
    for dir in ["examples", "tests/macro/input"] {
        for e in std::fs::read_dir(root().join(dir)).unwrap() {
            let p = e.unwrap().path();
            let p = if p.is_dir() {
                p.join("template.yaml")
            } else {
                p
            };
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if p.exists()
                && name.ends_with(".yaml")
                && !name.starts_with("error_")
                && !p.to_string_lossy().contains("/cdk/")
            {
                clean.push(p);
            }
        }
    }
    assert!(clean.len() > 60, "{} templates", clean.len());

    let app = "Transform: FargateApp\nParameters:\n  Subnets: { Type: CommaDelimitedList }\nResources:\n  Web:\n    Type: Fargate::App\n    Properties:\n      Image: nginx\n      Port: !Ref Port\n      Network: { VpcId: !ImportValue vpc, Subnets: !Ref Subnets }\n";
    // (mistake, template, line flagged, part of the message)
    let bad = [
        (
            "misspelt property",
            app.replace("Port: !Ref Port", "Prot: 80"),
            9,
            "Prot",
        ),
        (
            "misspelt nested property",
            app.replace("VpcId:", "Vpc:"),
            10,
            "Vpc",
        ),
        (
            "missing required property",
            app.replace("      Image: nginx\n", ""),
            7,
            "Image",
        ),
        (
            "a map where a number goes",
            app.replace("Port: !Ref Port", "Port: { Number: 80 }"),
            9,
            "",
        ),
    ];
    let dir = std::env::temp_dir().join(format!("fargate-editor-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut files = clean.clone();
    for (i, (_, text, _, _)) in bad.iter().enumerate() {
        let f = dir.join(format!("bad{i}.yaml"));
        std::fs::write(&f, text).unwrap();
        files.push(f);
    }
    let found = diagnostics(&files);
    std::fs::remove_dir_all(&dir).unwrap();
    for (f, d) in &found[..clean.len()] {
        assert!(d.is_empty(), "{}: {d:?}", f.display());
    }
    for ((what, _, line, part), (_, d)) in bad.iter().zip(&found[clean.len()..]) {
        assert!(
            d.iter().any(|(l, m)| l == line && m.contains(part)),
            "{what}: want line {line} with '{part}', got {d:?}"
        );
    }
}
