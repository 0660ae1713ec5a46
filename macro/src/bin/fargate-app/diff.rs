//! `fargate-app diff OLD NEW` or `fargate-app diff --base REF FILE`: what deploying NEW over OLD
//! adds, removes, modifies and replaces. Exit 0 no change, 1 changes, 2 a replacement, 3 when a
//! version cannot be read, parsed or expanded.

use fargate_macro::diff::{diff_templates, Side};
use fargate_macro::gen::{Settings, DEFAULT_SERVICE_TOKEN_EXPORT};
use fargate_macro::template;
use std::io::Write;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The deployed version (or, with --base, the file to compare with its version at REF).
    old: String,
    /// The version to deploy.
    new: Option<String>,
    /// Compare FILE with FILE as it is at this git ref (`main`, `HEAD~1`, a tag).
    #[arg(long, value_name = "REF")]
    base: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Export holding the provider's ServiceToken.
    #[arg(long, default_value = DEFAULT_SERVICE_TOKEN_EXPORT)]
    provider_export: String,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Text,
    Json,
}

const TROUBLE: u8 = 3;

pub fn run(a: Args) -> ExitCode {
    let loaded = match (&a.base, &a.new) {
        (Some(base), None) => git_show(base, &a.old).and_then(|old_text| {
            Ok((
                load(&format!("{base}:{}", a.old), &old_text)?,
                load(&a.old, &read(&a.old)?)?,
            ))
        }),
        (None, Some(new)) => (|| Ok((load(&a.old, &read(&a.old)?)?, load(new, &read(new)?)?)))(),
        (Some(_), Some(_)) => Err("give either OLD NEW or --base REF FILE, not both".to_string()),
        (None, None) => Err("give OLD NEW, or --base REF FILE".to_string()),
    };
    let (old, new) = match loaded {
        Ok(t) => t,
        Err(e) => {
            eprintln!("fargate-app diff: {e}");
            return ExitCode::from(TROUBLE);
        }
    };
    let diff = match diff_templates(&old, &new, &Settings::with_export(&a.provider_export)) {
        Ok(d) => d,
        Err((side, problems)) => {
            let name = match side {
                Side::Old => "the old version",
                Side::New => "the new version",
            };
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "fargate-app diff: {name} does not expand:");
            for p in problems.iter() {
                let _ = writeln!(err, "{p}");
            }
            return ExitCode::from(TROUBLE);
        }
    };
    let out = match a.format {
        Format::Text => diff.render(),
        Format::Json => serde_json::to_string_pretty(&diff).unwrap_or_default() + "\n",
    };
    if std::io::stdout().lock().write_all(out.as_bytes()).is_err() {
        return ExitCode::from(TROUBLE);
    }
    ExitCode::from(diff.exit_code())
}

fn read(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))
}

fn load(name: &str, text: &str) -> Result<serde_json::Value, String> {
    template::parse(text).map_err(|e| format!("{name}: {e}"))
}

/// The file as committed at `base`; `./` makes git resolve the path from the working directory.
fn git_show(base: &str, file: &str) -> Result<String, String> {
    let spec = if file.starts_with('/') {
        format!("{base}:{file}")
    } else {
        format!("{base}:./{file}")
    };
    let out = std::process::Command::new("git")
        .args(["show", &spec])
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "git show {spec}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    String::from_utf8(out.stdout).map_err(|e| format!("{spec}: {e}"))
}
