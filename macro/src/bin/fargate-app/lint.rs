//! `fargate-app lint FILE`: one step for a source template. It reports, each at its line in FILE:
//! - the file's own problems (syntax, size, duplicate keys) and every App problem `expand` finds,
//!   with its warnings;
//! - a resource type that is `Fargate::App` but for its spelling (CloudFormation would answer
//!   "Unrecognized resource types" after the macro left it alone);
//! - `Ref`, `Fn::GetAtt`, `Fn::Sub` variables, `DependsOn`, `Condition` and `Fn::If` names that
//!   the template does not define (CloudFormation rejects the template: "Unresolved resource
//!   dependencies" / "Unresolved dependencies", see the `Ref`, `Fn::GetAtt` and `Fn::Sub` pages of
//!   the CloudFormation template reference);
//! - cfn-lint's findings on the expansion (when cfn-lint is installed), each placed at the source
//!   resource it came from: a generated resource at the App that made it.
//!
//! Exit 0 with no error (warnings allowed), 1 with an error, 2 when the file cannot be read or
//! cfn-lint cannot be run. `--format json` prints one array of findings, `--format sarif` a SARIF
//! 2.1.0 log for code-scanning tools.

use fargate_macro::gen::{Settings, DEFAULT_SERVICE_TOKEN_EXPORT};
use fargate_macro::source::{self, Pos, PosTree};
use fargate_macro::{expand_with_warnings, template, Problem, Warning};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

#[derive(clap::Args)]
pub struct Args {
    /// Template file (YAML with short-form tags, or JSON).
    file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// The cfn-lint to run on the expansion (default: `cfn-lint` on PATH, else none).
    #[arg(long, value_name = "PATH", conflicts_with = "no_cfn_lint")]
    cfn_lint: Option<PathBuf>,
    /// Do not run cfn-lint on the expansion.
    #[arg(long)]
    no_cfn_lint: bool,
    /// Export holding the provider's ServiceToken.
    #[arg(long, default_value = DEFAULT_SERVICE_TOKEN_EXPORT)]
    provider_export: String,
}

#[derive(Clone, Copy, PartialEq, clap::ValueEnum)]
enum Format {
    Text,
    Json,
    Sarif,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Severity {
    Error,
    Warning,
    Info,
}

/// One finding, at its place in the source template.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Finding {
    pub severity: Severity,
    /// `FA…` for the macro's own rules, cfn-lint's rule ID (`E3012`) for its findings.
    pub code: String,
    pub line: Option<u32>,
    pub column: Option<u32>,
    /// The source resource the finding belongs to (an App for its generated resources).
    pub logical_id: Option<String>,
    pub message: String,
}

pub fn run(a: Args) -> ExitCode {
    let file = a.file.display().to_string();
    let text = match std::fs::read_to_string(&a.file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("fargate-app lint: {file}: cannot read: {e}");
            return ExitCode::from(2);
        }
    };
    let cfn_lint = if a.no_cfn_lint {
        None
    } else {
        a.cfn_lint
            .clone()
            .or_else(project_cfn_lint)
            .or_else(|| which("cfn-lint"))
    };
    if let Some(c) = &cfn_lint {
        if let Some(note) = old_cfn_lint(c) {
            eprintln!("fargate-app lint: {note}");
        }
    }
    let settings = Settings::with_export(&a.provider_export);
    let findings = match lint(&text, &settings, cfn_lint.as_deref()) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("fargate-app lint: {file}: {e}");
            return ExitCode::from(2);
        }
    };
    let mut out = std::io::stdout().lock();
    let _ = match a.format {
        Format::Text => {
            for f in &findings {
                let at = match (f.line, f.column) {
                    (Some(l), Some(c)) => format!(":{l}:{c}"),
                    _ => String::new(),
                };
                let sev = match f.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                    Severity::Info => "info",
                };
                let _ = writeln!(out, "{file}{at}: {sev}: [{}] {}", f.code, f.message);
            }
            if cfn_lint.is_none() && !a.no_cfn_lint {
                let _ = writeln!(
                    out,
                    "(cfn-lint not found: the expansion was not linted; install it, or --no-cfn-lint)"
                );
            }
            Ok(())
        }
        Format::Json => writeln!(out, "{}", serde_json::to_string(&findings).unwrap()),
        Format::Sarif => writeln!(out, "{}", sarif(&file, &findings)),
    };
    if findings.iter().any(|f| f.severity == Severity::Error) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

/// The cfn-lint version this project pins (`tests/requirements.txt`): the first whose resource
/// schemas have every property the expansion writes (`TimeoutConfiguration` of an ECS
/// deployment lifecycle hook).
const PINNED_CFN_LINT: (u32, u32) = (1, 58);

/// The project's own cfn-lint (`.venv/bin/cfn-lint`, made by `make setup`) in the working
/// directory or one above it: preferred to whichever cfn-lint is first on `PATH`.
fn project_cfn_lint() -> Option<PathBuf> {
    let cwd = std::env::current_dir().ok()?;
    cwd.ancestors()
        .map(|d| d.join(".venv/bin/cfn-lint"))
        .find(|p| p.is_file())
}

/// A note when the cfn-lint to run is older than the pinned one (its `--version` prints
/// `cfn-lint X.Y.Z`), naming it and its version.
fn old_cfn_lint(cfn_lint: &std::path::Path) -> Option<String> {
    let out = Command::new(cfn_lint).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let version = text.split_whitespace().last()?.to_string();
    let mut parts = version.split('.').map(|x| x.parse::<u32>().ok());
    let (major, minor) = (parts.next()??, parts.next()??);
    ((major, minor) < PINNED_CFN_LINT).then(|| {
        format!(
            "running {} (cfn-lint {version}), older than the {}.{} this project pins: its schemas may lack properties the expansion uses (E3002); run `make setup` and lint from the repository (its .venv is preferred), or pass --cfn-lint",
            cfn_lint.display(),
            PINNED_CFN_LINT.0,
            PINNED_CFN_LINT.1
        )
    })
}

/// Every finding of a source template, in source order. `Err` only when cfn-lint was asked for
/// and could not be run.
pub fn lint(
    text: &str,
    settings: &Settings,
    cfn_lint: Option<&std::path::Path>,
) -> Result<Vec<Finding>, String> {
    let src = match source::parse(text) {
        Ok(s) => s,
        Err(e) => {
            return Ok(vec![Finding {
                severity: Severity::Error,
                code: e.code().into(),
                line: e.pos.map(|p| p.line),
                column: e.pos.map(|p| p.col),
                logical_id: None,
                message: e.message,
            }])
        }
    };
    let expanded = expand_with_warnings(&src.value, settings);
    // Names the expansion defines count (an Output may name `WebLoadTestGate`); when it failed,
    // any name that starts with an App's ID may be one of that App's.
    let generated = match &expanded {
        Ok(x) => Generated::Known(keys(&x.template, "Resources")),
        Err(_) => Generated::PrefixOf(app_ids(&src.value)),
    };
    let mut findings = source_findings(&src.value, &src.positions, &generated);
    match expanded {
        Err(problems) => {
            for p in problems.iter() {
                findings.push(problem_finding(p, src.positions.locate(p)));
            }
        }
        Ok(expanded) => {
            for w in &expanded.warnings {
                findings.push(warning_finding(w, &src.positions));
            }
            if let Some(cfn_lint) = cfn_lint {
                let raw = run_cfn_lint(cfn_lint, &expanded.template)?;
                findings.extend(map_cfn_lint(
                    &raw,
                    &src.value,
                    &expanded.template,
                    &src.positions,
                ));
            }
        }
    }
    // cfn-lint finds some of the same (E3006 for the type, E1020 for a Ref, ...): one report a
    // line, ours, which says what the name should be.
    let ours: BTreeSet<Option<u32>> = findings
        .iter()
        .filter(|f| f.code == "FA107" || f.code == "FA120")
        .map(|f| f.line)
        .collect();
    findings.retain(|f| f.code.starts_with("FA") || !ours.contains(&f.line));
    findings.sort_by_key(|f| (f.line, f.column, f.severity));
    findings.dedup();
    Ok(findings)
}

fn at(pos: Pos) -> (Option<u32>, Option<u32>) {
    (Some(pos.line), Some(pos.col))
}

fn problem_finding(p: &Problem, pos: Pos) -> Finding {
    let logical_id = match p {
        Problem::Property { logical_id, .. } => Some(logical_id.clone()),
        Problem::Template { .. } => None,
    };
    let (line, column) = at(pos);
    Finding {
        severity: Severity::Error,
        code: p.code().into(),
        line,
        column,
        logical_id,
        message: p.to_string(),
    }
}

fn warning_finding(w: &Warning, positions: &PosTree) -> Finding {
    let (pos, logical_id, _, code) = crate::expand::warning_place(w, positions);
    Finding {
        severity: Severity::Warning,
        code: code.into(),
        line: pos.map(|p| p.line),
        column: pos.map(|p| p.col),
        logical_id,
        message: w.to_string(),
    }
}

const APP_TYPE: &str = "Fargate::App";

/// Names the template defines, by kind.
struct Names<'a> {
    params: BTreeSet<String>,
    resources: BTreeSet<String>,
    conditions: BTreeSet<String>,
    generated: &'a Generated,
}

/// The resources the expansion adds.
pub enum Generated {
    Known(BTreeSet<String>),
    /// The expansion failed: the Apps' IDs, which their generated IDs start with.
    PrefixOf(Vec<String>),
}

impl Names<'_> {
    fn resource(&self, name: &str) -> bool {
        self.resources.contains(name)
            || match self.generated {
                Generated::Known(k) => k.contains(name),
                Generated::PrefixOf(apps) => apps.iter().any(|a| name.starts_with(a.as_str())),
            }
    }
}

fn app_ids(t: &Value) -> Vec<String> {
    t.get("Resources")
        .and_then(Value::as_object)
        .map(|r| {
            r.iter()
                .filter(|(_, v)| v.get("Type").and_then(Value::as_str) == Some(APP_TYPE))
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default()
}

fn keys(t: &Value, section: &str) -> BTreeSet<String> {
    t.get(section)
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// Pseudo parameters CloudFormation defines
/// (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/pseudo-parameter-reference.html).
const PSEUDO: &[&str] = &[
    "AWS::AccountId",
    "AWS::NotificationARNs",
    "AWS::NoValue",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackId",
    "AWS::StackName",
    "AWS::URLSuffix",
];

/// The problems of the source template that the expansion does not look for.
fn source_findings(t: &Value, positions: &PosTree, generated: &Generated) -> Vec<Finding> {
    let names = Names {
        params: keys(t, "Parameters"),
        resources: keys(t, "Resources"),
        conditions: keys(t, "Conditions"),
        generated,
    };
    let mut out = Vec::new();
    let mut push = |path: String, id: Option<&str>, code: &str, message: String| {
        let (line, column) = at(positions.find(&path));
        out.push(Finding {
            severity: Severity::Error,
            code: code.into(),
            line,
            column,
            logical_id: id.map(str::to_string),
            message,
        });
    };
    if let Some(resources) = t.get("Resources").and_then(Value::as_object) {
        for (id, r) in resources {
            if let Some(ty) = r.get("Type").and_then(Value::as_str) {
                if ty != APP_TYPE && misspelt(ty, APP_TYPE) {
                    push(
                        format!("Resources.{id}.Type"),
                        Some(id),
                        "FA120",
                        format!("Resource [{id}] Type: '{ty}' is not a resource type; did you mean '{APP_TYPE}'? (type names are case-sensitive)"),
                    );
                }
            }
            for dep in string_or_list(r.get("DependsOn")) {
                if !names.resource(dep) {
                    push(
                        format!("Resources.{id}.DependsOn"),
                        Some(id),
                        "FA107",
                        format!(
                            "Resource [{id}] DependsOn: '{dep}' is not a resource of this template"
                        ),
                    );
                }
            }
            if let Some(c) = r.get("Condition").and_then(Value::as_str) {
                if !names.conditions.contains(c) {
                    push(
                        format!("Resources.{id}.Condition"),
                        Some(id),
                        "FA107",
                        format!(
                            "Resource [{id}] Condition: '{c}' is not a condition of this template"
                        ),
                    );
                }
            }
        }
    }
    for section in ["Resources", "Outputs", "Conditions"] {
        if let Some(m) = t.get(section).and_then(Value::as_object) {
            for (id, v) in m {
                let mut found = Vec::new();
                unresolved(v, &names, &format!("{section}.{id}"), &mut found);
                for (path, message) in found {
                    let owner = (section == "Resources").then_some(id.as_str());
                    push(path, owner, "FA107", format!("{section} [{id}]: {message}"));
                }
            }
        }
    }
    out
}

fn string_or_list(v: Option<&Value>) -> Vec<&str> {
    match v {
        Some(Value::String(s)) => vec![s],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    }
}

/// Case-insensitively equal, or one edit apart (a dropped, added or changed character).
fn misspelt(a: &str, b: &str) -> bool {
    let (a, b) = (a.to_ascii_lowercase(), b.to_ascii_lowercase());
    if a == b {
        return true;
    }
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    let (mut i, mut j, mut edits) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        if a[i] == b[j] {
            i += 1;
            j += 1;
            continue;
        }
        edits += 1;
        match a.len().cmp(&b.len()) {
            std::cmp::Ordering::Greater => i += 1,
            std::cmp::Ordering::Less => j += 1,
            std::cmp::Ordering::Equal => {
                i += 1;
                j += 1;
            }
        }
    }
    edits + (a.len() - i) + (b.len() - j) <= 1
}

/// `${Name}` and `${Name.Attr}` variables of a `Fn::Sub` string (not `${!Literal}`).
fn sub_variables(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let var = &after[..end];
        if !var.starts_with('!') {
            out.push(var);
        }
        rest = &after[end + 1..];
    }
    out
}

fn unresolved(v: &Value, names: &Names, path: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("Ref") {
                if !PSEUDO.contains(&r.as_str()) && !names.params.contains(r) && !names.resource(r)
                {
                    out.push((
                        path.to_string(),
                        format!("Ref '{r}' names no parameter or resource of this template"),
                    ));
                }
            }
            if let Some(target) = m.get("Fn::GetAtt").and_then(getatt_target) {
                if !names.resource(&target) {
                    out.push((
                        path.to_string(),
                        format!("Fn::GetAtt '{target}' names no resource of this template"),
                    ));
                }
            }
            if let Some(sub) = m.get("Fn::Sub") {
                let (s, vars) = match sub {
                    Value::String(s) => (Some(s.as_str()), None),
                    Value::Array(a) => (a.first().and_then(Value::as_str), a.get(1)),
                    _ => (None, None),
                };
                for var in s.map(sub_variables).unwrap_or_default() {
                    let head = var.split('.').next().unwrap_or(var);
                    let local = vars.and_then(|v| v.get(head)).is_some();
                    let known = local
                        || PSEUDO.contains(&var)
                        || names.params.contains(head)
                        || names.resource(head);
                    if !known {
                        out.push((
                            path.to_string(),
                            format!(
                                "Fn::Sub variable '${{{var}}}' names no parameter or resource of this template"
                            ),
                        ));
                    }
                }
            }
            if let Some(Value::Array(a)) = m.get("Fn::If") {
                if let Some(c) = a.first().and_then(Value::as_str) {
                    if !names.conditions.contains(c) {
                        out.push((
                            path.to_string(),
                            format!("Fn::If '{c}' names no condition of this template"),
                        ));
                    }
                }
            }
            if let Some(Value::String(c)) = m.get("Condition") {
                // `{"Condition": "Name"}` inside a condition function
                if m.len() == 1 && !names.conditions.contains(c) {
                    out.push((
                        path.to_string(),
                        format!("Condition '{c}' names no condition of this template"),
                    ));
                }
            }
            for (k, x) in m {
                unresolved(x, names, &format!("{path}.{k}"), out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                unresolved(x, names, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

fn getatt_target(v: &Value) -> Option<String> {
    match v {
        Value::Array(a) => a.first().and_then(Value::as_str).map(str::to_string),
        Value::String(s) => s.split('.').next().map(str::to_string),
        _ => None,
    }
}

/// cfn-lint's JSON findings on the expanded template (`--format json`).
fn run_cfn_lint(cfn_lint: &std::path::Path, expanded: &Value) -> Result<Value, String> {
    let dir = std::env::temp_dir().join(format!("fargate-app-lint-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let path = dir.join("expanded.json");
    std::fs::write(&path, template::to_json(expanded)).map_err(|e| e.to_string())?;
    let out = Command::new(cfn_lint)
        .args(["--format", "json", "--"])
        .arg(&path)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", cfn_lint.display()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = out?;
    serde_json::from_slice(&out.stdout).map_err(|_| {
        format!(
            "{} gave no JSON findings (exit {}): {}",
            cfn_lint.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )
    })
}

/// Places cfn-lint's findings on the expansion in the source: a finding on a resource of the
/// source at that resource's property (or the resource, when the path is the macro's); on a
/// generated resource at the App that made it (the longest App ID it starts with, the same rule
/// the generated logical IDs follow), naming the generated resource.
pub fn map_cfn_lint(
    raw: &Value,
    source: &Value,
    expanded: &Value,
    positions: &PosTree,
) -> Vec<Finding> {
    let resources = source.get("Resources").and_then(Value::as_object);
    let apps: Vec<&String> = resources
        .map(|r| {
            r.iter()
                .filter(|(_, v)| v.get("Type").and_then(Value::as_str) == Some(APP_TYPE))
                .map(|(k, _)| k)
                .collect()
        })
        .unwrap_or_default();
    // Names the Apps use: the macro resolves them at transform time (a parameter in a
    // `Name: !Sub`) or copies them onto what it generates, so the expansion may not name them.
    let mut used = BTreeSet::new();
    for app in &apps {
        if let Some(r) = resources.and_then(|r| r.get(app.as_str())) {
            names_used(r, &mut used);
        }
    }
    let mut out = Vec::new();
    for f in raw.as_array().into_iter().flatten() {
        let rule = f["Rule"]["Id"].as_str().unwrap_or("cfn-lint").to_string();
        if let Some((_, section)) = UNUSED.iter().find(|(r, _)| *r == rule) {
            let path = &f["Location"]["Path"];
            if path[0].as_str() == Some(section)
                && path[1].as_str().is_some_and(|n| used.contains(n))
            {
                continue;
            }
        }
        let severity = match f["Level"].as_str() {
            Some("Error") => Severity::Error,
            Some("Warning") => Severity::Warning,
            _ => Severity::Info,
        };
        let path: Vec<String> = f["Location"]["Path"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| match p {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect();
        let message = f["Message"].as_str().unwrap_or("").to_string();
        let (pos, logical_id, message) = match path.as_slice() {
            [section, id, rest @ ..] if section == "Resources" => {
                let in_source =
                    resources.is_some_and(|r| r.contains_key(id)) && !apps.contains(&id);
                if in_source {
                    let mut p = format!("Resources.{id}");
                    for seg in rest {
                        if seg.parse::<usize>().is_ok() {
                            p.push_str(&format!("[{seg}]"));
                        } else {
                            p.push('.');
                            p.push_str(seg);
                        }
                    }
                    (positions.find(&p), Some(id.clone()), message)
                } else {
                    let owner = apps
                        .iter()
                        .filter(|a| id.starts_with(a.as_str()))
                        .max_by_key(|a| a.len());
                    match owner {
                        Some(app) => (
                            // At the App's property that holds the offending value, when the
                            // App wrote it as is (a subnet ID, a `Ref`); else at the App.
                            positions.find(&format!(
                                "Resources.{app}{}",
                                offending_value(expanded, &path)
                                    .and_then(|v| find_value(
                                        &source["Resources"][app.as_str()]["Properties"],
                                        v,
                                        ".Properties"
                                    ))
                                    .unwrap_or_default()
                            )),
                            Some(app.to_string()),
                            format!("in the generated {id} ({}): {message}", rest.join(".")),
                        ),
                        None => (positions.find("Resources"), None, message),
                    }
                }
            }
            [section, rest @ ..] => (
                positions.find(&format!("{section}.{}", rest.join("."))),
                None,
                message,
            ),
            [] => (positions.find(""), None, message),
        };
        out.push(Finding {
            severity,
            code: rule,
            line: Some(pos.line),
            column: Some(pos.col),
            logical_id,
            message,
        });
    }
    out
}

/// cfn-lint's "not used" rules and the section they name: a name an App uses is used, even when
/// the expansion no longer names it (W2001 parameters, W7001 mappings, W8001 conditions:
/// https://github.com/aws-cloudformation/cfn-lint/blob/main/docs/rules.md).
const UNUSED: &[(&str, &str)] = &[
    ("W2001", "Parameters"),
    ("W7001", "Mappings"),
    ("W8001", "Conditions"),
];

/// The parameters, conditions and mappings a value names: `Ref`, `${X}` of `Fn::Sub`, a
/// `Condition`, the condition of `Fn::If`, the map of `Fn::FindInMap`.
fn names_used(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("Ref" | "Condition", Value::String(s)) => {
                        out.insert(s.clone());
                    }
                    ("Fn::Sub", _) => {
                        let text = match x {
                            Value::Array(a) => a.first(),
                            other => Some(other),
                        };
                        if let Some(Value::String(t)) = text {
                            for n in sub_variables(t) {
                                out.insert(n.split('.').next().unwrap_or(n).to_string());
                            }
                        }
                    }
                    ("Fn::If" | "Fn::FindInMap", Value::Array(a)) => {
                        if let Some(Value::String(s)) = a.first() {
                            out.insert(s.clone());
                        }
                    }
                    _ => {}
                }
                names_used(x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| names_used(x, out)),
        _ => {}
    }
}

/// The node of the expansion a cfn-lint path names, or its parent when the path ends inside an
/// intrinsic (`…VpcId.Ref`).
fn offending_value<'a>(expanded: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut node = expanded;
    let mut parent = None;
    for seg in path {
        let next = match node {
            Value::Object(m) => m.get(seg),
            Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
            _ => None,
        }?;
        parent = Some(node);
        node = next;
    }
    match (node, parent) {
        (Value::String(_), Some(p @ Value::Object(m)))
            if m.len() == 1 && m.keys().all(|k| k == "Ref" || k.starts_with("Fn::")) =>
        {
            Some(p)
        }
        _ => Some(node),
    }
}

/// The path (`.Properties.Network.VpcId`) of the first place `v` stands in `tree`, for a value
/// worth placing (not a bare number or boolean, which would match anywhere).
fn find_value(tree: &Value, v: &Value, at: &str) -> Option<String> {
    if matches!(v, Value::Bool(_) | Value::Number(_) | Value::Null) {
        return None;
    }
    if tree == v {
        return Some(at.to_string());
    }
    match tree {
        Value::Object(m) => m
            .iter()
            .find_map(|(k, x)| find_value(x, v, &format!("{at}.{k}"))),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .find_map(|(i, x)| find_value(x, v, &format!("{at}[{i}]"))),
        _ => None,
    }
}

/// A SARIF 2.1.0 log (https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html): one run,
/// one rule per code found, one result per finding at its line and column.
fn sarif(file: &str, findings: &[Finding]) -> Value {
    let rules: BTreeSet<&str> = findings.iter().map(|f| f.code.as_str()).collect();
    let results: Vec<Value> = findings
        .iter()
        .map(|f| {
            let level = match f.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info => "note",
            };
            let mut region = json!({});
            if let (Some(l), Some(c)) = (f.line, f.column) {
                region = json!({ "startLine": l, "startColumn": c });
            }
            json!({
                "ruleId": f.code,
                "level": level,
                "message": { "text": f.message },
                "locations": [{ "physicalLocation": {
                    "artifactLocation": { "uri": file },
                    "region": region,
                }}],
            })
        })
        .collect();
    json!({
        "version": "2.1.0",
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "runs": [{
            "tool": { "driver": {
                "name": "fargate-app lint",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules.iter().map(|r| json!({ "id": r })).collect::<Vec<_>>(),
            }},
            "results": results,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misspellings_of_the_type() {
        for (ty, want) in [
            ("Fargate::app", true),
            ("fargate::App", true),
            ("Fargate::Ap", true),
            ("Fargate::Appp", true),
            ("Fargate:App", true),
            ("Fargate::Apx", true),
            ("Fargate::Service", false),
            ("AWS::ECS::Service", false),
        ] {
            assert_eq!(misspelt(ty, APP_TYPE), want, "{ty}");
        }
    }

    #[test]
    fn sub_variables_skip_literals() {
        assert_eq!(
            sub_variables("${A}-${B.Url}/${!Literal}-${AWS::Region}"),
            vec!["A", "B.Url", "AWS::Region"]
        );
    }
}
