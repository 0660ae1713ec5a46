//! `fargate-app explain`: expands a template the way `expand` does, runs the model of what AWS
//! does with it (`fargate_macro::model`) and prints, per App, its traffic paths, who can reach
//! whom and what the gate measures, then the findings. Exit 0 when no finding is an error, 1
//! when one is (each names the App, the resources and the AWS rule), 2 when the template cannot
//! be read or expanded (the problems go to stderr as with `expand`).

use crate::expand::{load, write_reports, ErrorFormat, Failure};
use fargate_macro::gen::DEFAULT_SERVICE_TOKEN_EXPORT;
use fargate_macro::model::{self, Report};
use std::fmt::Write as _;
use std::io::Write;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Template file (YAML with short-form tags, or JSON); `-` reads standard input.
    file: String,
    /// Output format: a table per App for people, or JSON for tools.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Export holding the provider's ServiceToken.
    #[arg(long, default_value = DEFAULT_SERVICE_TOKEN_EXPORT)]
    provider_export: String,
    /// Parameter values, `Key=Value`, as for `expand`: what they make known is validated
    /// before the model runs (the model itself keeps parameters symbolic).
    #[arg(long, num_args = 1.., value_name = "KEY=VALUE")]
    parameters: Vec<String>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Text,
    Json,
}

pub fn run(args: Args) -> ExitCode {
    let file = if args.file == "-" {
        "<stdin>"
    } else {
        args.file.as_str()
    };
    let (expanded, warnings) = match load(&args.file, &args.provider_export, &args.parameters) {
        Ok(x) => x,
        Err(Failure::Invalid(r)) => {
            write_reports(file, &r, "", ErrorFormat::Text);
            return ExitCode::from(2);
        }
        Err(Failure::File(r)) => {
            write_reports(file, &[*r], "fargate-app: ", ErrorFormat::Text);
            return ExitCode::from(2);
        }
    };
    write_reports(file, &warnings, "", ErrorFormat::Text);
    let report = model::analyse(&expanded);
    let out = match args.format {
        Format::Text => text(&report),
        Format::Json => serde_json::to_string_pretty(&report).unwrap_or_default() + "\n",
    };
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    if report.errors().next().is_some() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn yes_no(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "open",
        Some(false) => "CLOSED",
        None => "decided at deploy time",
    }
}

/// The table for people.
pub fn text(r: &Report) -> String {
    let mut s = String::new();
    for a in &r.apps {
        let _ = writeln!(s, "App {}", a.name);
        if !a.routes.is_empty() {
            let _ = writeln!(s, "  routes");
            for x in &a.routes {
                let _ = writeln!(
                    s,
                    "    {:<12} {:<28} {:<5} {:<32} {:<40} -> {}  (container path: {})",
                    x.who, x.listener, x.protocol, x.rule, x.matches, x.target, x.container_path
                );
            }
        }
        if !a.reach.is_empty() {
            let _ = writeln!(s, "  reach");
            for x in &a.reach {
                let _ = writeln!(
                    s,
                    "    {} -> {} {}: {}",
                    x.from,
                    x.to,
                    x.port,
                    yes_no(x.open)
                );
            }
        }
        if !a.gate.is_empty() {
            let _ = writeln!(s, "  gate");
            for g in &a.gate {
                let _ = writeln!(s, "    {g}");
            }
        }
    }
    let _ = writeln!(
        s,
        "{} finding(s) over {} condition assignment(s), {} rule checks",
        r.findings.len(),
        r.assignments,
        r.checks
    );
    for f in &r.findings {
        let _ = writeln!(s, "  {f}");
    }
    s
}
