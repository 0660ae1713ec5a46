//! `fargate-app expand`: exit 0 with the template on stdout; 2 with every problem on stderr,
//! each as `FILE:LINE:COL: Resource [X] Properties.Path: message`; 1 when the file cannot be
//! read or parsed. `--error-format json` writes the problems to stderr as one JSON array for
//! CI annotators instead. Warnings (the template deploys but likely not as meant) go to stderr
//! the same way, `FILE:LINE:COL: warning: ...` or items with `"severity": "warning"`, and do not
//! change the exit code.

use fargate_macro::gen::{Settings, DEFAULT_SERVICE_TOKEN_EXPORT};
use fargate_macro::source::{self, Pos, SourceError};
use fargate_macro::{template, Problem, Warning};
use serde_json::{json, Value};
use std::io::Write;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Template file (YAML with short-form tags, or JSON); `-` reads standard input.
    file: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
    /// How problems are written to stderr: one line each, or a JSON array (Severity, File, Line,
    /// Column, LogicalId, Path, Message, Code) for CI tools.
    #[arg(long, value_enum, default_value_t = ErrorFormat::Text)]
    error_format: ErrorFormat,
    /// Export holding the provider's ServiceToken.
    #[arg(long, default_value = DEFAULT_SERVICE_TOKEN_EXPORT)]
    provider_export: String,
    /// Parameter values, `Key=Value` (lists comma-separated), as CloudFormation hands them to
    /// the macro: what they make known is validated; the output keeps the `Ref`s. Parameters
    /// not given use their `Default`.
    #[arg(long, num_args = 1.., value_name = "KEY=VALUE")]
    parameters: Vec<String>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Json,
    Yaml,
}

#[derive(Clone, Copy, PartialEq)]
enum Severity {
    Error,
    Warning,
}

impl Severity {
    fn json(self) -> &'static str {
        match self {
            Severity::Error => "Error",
            Severity::Warning => "Warning",
        }
    }
}

#[derive(Clone, Copy, PartialEq, clap::ValueEnum)]
pub enum ErrorFormat {
    Text,
    Json,
}

/// One reported problem or warning, wherever it came from.
pub struct Report {
    severity: Severity,
    pos: Option<Pos>,
    logical_id: Option<String>,
    path: Option<String>,
    message: String,
    code: &'static str,
    /// The text form after `FILE[:LINE:COL]: `.
    text: String,
}

pub fn run(args: Args) -> ExitCode {
    let file = if args.file == "-" {
        "<stdin>".to_string()
    } else {
        args.file.clone()
    };
    let (code, reports, prefix) = match expand(&args) {
        Ok(warnings) if warnings.is_empty() => return ExitCode::SUCCESS,
        Ok(warnings) => (0, warnings, ""),
        Err(Failure::Invalid(r)) => (2, r, ""),
        Err(Failure::File(r)) => (1, vec![*r], "fargate-app: "),
    };
    write_reports(&file, &reports, prefix, args.error_format);
    ExitCode::from(code)
}

/// Writes problems and warnings to stderr, as text lines or one JSON array.
pub fn write_reports(file: &str, reports: &[Report], prefix: &str, format: ErrorFormat) {
    let mut err = std::io::stderr().lock();
    match format {
        ErrorFormat::Text => {
            for r in reports {
                let at = r.pos.map(|p| format!(":{p}")).unwrap_or_default();
                let label = match r.severity {
                    Severity::Warning => "warning: ",
                    Severity::Error => "",
                };
                let _ = writeln!(err, "{prefix}{file}{at}: {label}{}", r.text);
            }
        }
        ErrorFormat::Json => {
            let items: Vec<Value> = reports
                .iter()
                .map(|r| {
                    // PascalCase keys and values, as CloudFormation's and `lint --format json`.
                    json!({
                        "Severity": r.severity.json(),
                        "File": file,
                        "Line": r.pos.map(|p| p.line),
                        "Column": r.pos.map(|p| p.col),
                        "LogicalId": r.logical_id,
                        "Path": r.path,
                        "Message": r.message,
                        "Code": r.code,
                    })
                })
                .collect();
            let _ = writeln!(err, "{}", Value::Array(items));
        }
    }
}

pub enum Failure {
    /// The template was read and has problems (exit 2).
    Invalid(Vec<Report>),
    /// The file could not be read or parsed (exit 1).
    File(Box<Report>),
}

fn file_problem(pos: Option<Pos>, message: String, code: &'static str) -> Failure {
    Failure::File(Box::new(Report {
        severity: Severity::Error,
        pos,
        logical_id: None,
        path: None,
        text: message.clone(),
        message,
        code,
    }))
}

/// Expands and prints the template; returns the warnings to report.
fn expand(a: &Args) -> Result<Vec<Report>, Failure> {
    let (expanded, warnings) = load(&a.file, &a.provider_export, &a.parameters)?;
    let out = match a.format {
        Format::Json => template::to_json(&expanded),
        Format::Yaml => template::to_yaml(&expanded)
            .map_err(|e| file_problem(None, format!("cannot write YAML: {e}"), "FA000"))?,
    };
    std::io::stdout()
        .lock()
        .write_all(out.as_bytes())
        .map_err(|e| file_problem(None, format!("cannot write the template: {e}"), "FA000"))?;
    Ok(warnings)
}

/// Reads `file` (`-` is standard input) and expands it: the expanded template and the
/// warnings, or what went wrong. `explain` reads templates the same way.
pub fn load(
    file: &str,
    provider_export: &str,
    parameters: &[String],
) -> Result<(Value, Vec<Report>), Failure> {
    let text = if file == "-" {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(file)
    }
    .map_err(|e| file_problem(None, format!("cannot read: {e}"), "FA000"))?;
    let src = source::parse(&text).map_err(|e: SourceError| {
        let code = e.code();
        file_problem(e.pos, e.message, code)
    })?;
    if let Some(p) = source::too_many_resources(&src.value) {
        return Err(Failure::Invalid(vec![report(&p, src.positions.locate(&p))]));
    }
    let mut settings = Settings::with_export(provider_export);
    for kv in parameters {
        let Some((k, v)) = kv.split_once('=') else {
            return Err(file_problem(
                None,
                format!("--parameters {kv}: expected KEY=VALUE"),
                "FA000",
            ));
        };
        settings
            .parameter_values
            .insert(k.to_string(), serde_json::Value::String(v.to_string()));
    }
    let expanded =
        fargate_macro::expand_with_warnings(&src.value, &settings).map_err(|problems| {
            Failure::Invalid(
                problems
                    .iter()
                    .map(|p| report(p, src.positions.locate(p)))
                    .collect(),
            )
        })?;
    let warnings = expanded
        .warnings
        .iter()
        .map(|w| warning_report(w, &src.positions))
        .collect();
    Ok((expanded.template, warnings))
}

/// Where a warning belongs: the App property it is about (or no place), its path and its code.
pub fn warning_place(
    w: &Warning,
    positions: &source::PosTree,
) -> (Option<Pos>, Option<String>, Option<String>, &'static str) {
    let at = |app: &str, prop: &str| Some(positions.find(&format!("Resources.{app}.{prop}")));
    match w {
        Warning::MissingTransform => (None, None, None, "FA301"),
        Warning::Unreachable { app, .. } => (
            at(app, "Properties.Discovery"),
            Some(app.clone()),
            Some("Properties.Discovery".to_string()),
            "FA302",
        ),
        Warning::StrategyListenerUnchecked { app } => (
            at(app, "Properties.Deployment"),
            Some(app.clone()),
            Some("Properties.Deployment.Strategy".to_string()),
            "FA304",
        ),
        Warning::OneOfTwoTargetGroups { resource, .. } => (
            Some(positions.find(&format!("Resources.{resource}"))),
            Some(resource.clone()),
            None,
            "FA305",
        ),
        Warning::DesiredCountDropped { app } => (
            at(app, "Properties.DesiredCount"),
            Some(app.clone()),
            Some("Properties.DesiredCount".to_string()),
            "FA303",
        ),
    }
}

/// A warning at the App property it is about, or at no place.
fn warning_report(w: &Warning, positions: &source::PosTree) -> Report {
    let (pos, logical_id, path, code) = warning_place(w, positions);
    let text = w.to_string();
    Report {
        severity: Severity::Warning,
        pos,
        logical_id,
        path,
        message: text.clone(),
        code,
        text,
    }
}

fn report(p: &Problem, pos: Pos) -> Report {
    let (logical_id, path, message) = match p {
        Problem::Property {
            logical_id,
            path,
            message,
        } => (Some(logical_id.clone()), path, message),
        Problem::Template { path, message } => (None, path, message),
    };
    Report {
        severity: Severity::Error,
        pos: Some(pos),
        logical_id,
        path: Some(path.clone()),
        message: message.clone(),
        code: p.code(),
        text: p.to_string(),
    }
}
