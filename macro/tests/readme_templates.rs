//! Every template the README shows is complete and expands cleanly: each ```yaml block holding a
//! `Fargate::App` is parsed, expanded with no problem and no warning, and every `Ref` and
//! `Fn::GetAtt` of the expansion names a parameter, a resource or a pseudo parameter (CloudFormation
//! rejects a template that names anything else: "Unresolved resource dependencies",
//! https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-ref.html).
//! The quick-start block is also `examples/quickstart/template.yaml`, which `make test` lints.

use fargate_macro::{expand_with_warnings, template, Settings};
use serde_json::Value;
use std::fs;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// The ```yaml blocks of a Markdown text that hold an App, with the line each starts on.
fn app_blocks(md: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut block: Option<(usize, String)> = None;
    for (i, line) in md.lines().enumerate() {
        match &mut block {
            None if line.trim_start().starts_with("```yaml") => {
                block = Some((i + 2, String::new()))
            }
            Some(_) if line.trim_start().starts_with("```") => {
                let (n, text) = block.take().unwrap();
                if text.contains("Fargate::App") {
                    out.push((n, text));
                }
            }
            Some((_, text)) => {
                text.push_str(line);
                text.push('\n');
            }
            None => {}
        }
    }
    out
}

/// Names a `Ref` or `Fn::GetAtt` in `v` points at that the template does not define.
fn dangling(v: &Value, defined: &[String], out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("Ref") {
                if !r.starts_with("AWS::") && !defined.contains(r) {
                    out.push(format!("Ref {r}"));
                }
            }
            if let Some(Value::Array(a)) = m.get("Fn::GetAtt") {
                if let Some(Value::String(r)) = a.first() {
                    if !defined.contains(r) {
                        out.push(format!("Fn::GetAtt {r}"));
                    }
                }
            }
            m.values().for_each(|x| dangling(x, defined, out));
        }
        Value::Array(a) => a.iter().for_each(|x| dangling(x, defined, out)),
        _ => {}
    }
}

fn problems_of(text: &str) -> Vec<String> {
    let source = match template::parse(text) {
        Ok(s) => s,
        Err(e) => return vec![e],
    };
    let out = match expand_with_warnings(&source, &Settings::default()) {
        Ok(o) => o,
        Err(p) => return vec![p.to_string()],
    };
    let mut problems: Vec<String> = out.warnings.iter().map(|w| w.to_string()).collect();
    let t = &out.template;
    let mut defined: Vec<String> = Vec::new();
    for section in ["Parameters", "Resources"] {
        if let Some(m) = t.get(section).and_then(Value::as_object) {
            defined.extend(m.keys().cloned());
        }
    }
    dangling(t, &defined, &mut problems);
    problems
}

#[test]
fn every_readme_template_is_complete_and_expands_cleanly() {
    let md = fs::read_to_string(root().join("README.md")).unwrap();
    let blocks = app_blocks(&md);
    assert!(!blocks.is_empty(), "the README shows no App template");
    for (line, text) in &blocks {
        let p = problems_of(text);
        assert!(p.is_empty(), "README.md:{line}: {}", p.join("\n"));
    }
    let quickstart = template::parse(
        &fs::read_to_string(root().join("examples/quickstart/template.yaml")).unwrap(),
    )
    .unwrap();
    assert!(
        blocks
            .iter()
            .any(|(_, t)| template::parse(t).ok().as_ref() == Some(&quickstart)),
        "the README's quick start is not examples/quickstart/template.yaml"
    );
}

/// The check finds what it is for: a template without its parameters, one without the
/// Transform, and one that does not expand.
#[test]
fn the_check_reports_incomplete_templates() {
    let app = "Resources:\n  Web:\n    Type: Fargate::App\n    Properties:\n      Image: nginx\n      Network: { VpcId: !Ref VpcId, Subnets: [subnet-1] }\n";
    for (text, want) in [
        (format!("Transform: FargateApp\n{app}"), "Ref VpcId"),
        (
            format!("Parameters:\n  VpcId: {{ Type: String }}\n{app}"),
            "Transform",
        ),
        (
            format!(
                "Transform: FargateApp\nParameters:\n  VpcId: {{ Type: String }}\n{}",
                app.replace("Image", "Imag")
            ),
            "Imag",
        ),
    ] {
        let p = problems_of(&text).join("\n");
        assert!(p.contains(want), "want {want} in: {p}");
    }
    let md = "text\n```yaml\nResources: { A: { Type: Fargate::App } }\n```\n```yaml\nResources: {}\n```\n";
    assert_eq!(app_blocks(md).len(), 1);
    assert_eq!(app_blocks(md)[0].0, 3);
}
