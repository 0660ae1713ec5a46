//! `fargate-app expand`: exit 0 with the template on stdout, 2 with one problem a line on
//! stderr, 1 when the file cannot be read or parsed.

use fargate_macro::gen::{Settings, DEFAULT_SERVICE_TOKEN_EXPORT};
use fargate_macro::{template, Error};
use std::io::Write;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Template file (YAML with short-form tags, or JSON); `-` reads standard input.
    file: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
    /// Export holding the provider's ServiceToken.
    #[arg(long, default_value = DEFAULT_SERVICE_TOKEN_EXPORT)]
    provider_export: String,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Json,
    Yaml,
}

pub fn run(args: Args) -> ExitCode {
    match expand(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Error::Invalid(problems)) => {
            let mut err = std::io::stderr().lock();
            for p in problems.iter() {
                let _ = writeln!(err, "{p}");
            }
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("fargate-app: {e}");
            ExitCode::from(1)
        }
    }
}

fn expand(a: Args) -> Result<(), Error> {
    let text = if a.file == "-" {
        std::io::read_to_string(std::io::stdin()).map_err(|source| Error::Read {
            path: a.file.clone(),
            source,
        })?
    } else {
        std::fs::read_to_string(&a.file).map_err(|source| Error::Read {
            path: a.file.clone(),
            source,
        })?
    };
    let tpl = template::parse(&text).map_err(|message| Error::Parse {
        path: a.file.clone(),
        message,
    })?;
    let expanded = fargate_macro::expand(&tpl, &Settings::with_export(&a.provider_export))?;
    let out = match a.format {
        Format::Json => template::to_json(&expanded),
        Format::Yaml => template::to_yaml(&expanded).map_err(Error::Write)?,
    };
    std::io::stdout()
        .lock()
        .write_all(out.as_bytes())
        .map_err(|e| Error::Write(e.to_string()))
}
