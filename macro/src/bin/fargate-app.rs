//! `fargate-app`: expand templates locally (no AWS account needed).

use clap::{Parser, Subcommand, ValueEnum};
use fargate_macro::gen::{Settings, DEFAULT_SERVICE_TOKEN_EXPORT};
use fargate_macro::{template, Error};
use std::io::Write;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "fargate-app",
    version,
    about = "Expand Fargate::App resources locally"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the expanded template (what the FargateApp macro returns to CloudFormation).
    Expand {
        /// Template file (YAML with short-form tags, or JSON); `-` reads standard input.
        file: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Json)]
        format: Format,
        /// Export holding the provider's ServiceToken.
        #[arg(long, default_value = DEFAULT_SERVICE_TOKEN_EXPORT)]
        provider_export: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Json,
    Yaml,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
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

fn run(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::Expand {
            file,
            format,
            provider_export,
        } => {
            let text = if file == "-" {
                std::io::read_to_string(std::io::stdin()).map_err(|source| Error::Read {
                    path: file.clone(),
                    source,
                })?
            } else {
                std::fs::read_to_string(&file).map_err(|source| Error::Read {
                    path: file.clone(),
                    source,
                })?
            };
            let tpl = template::parse(&text).map_err(|message| Error::Parse {
                path: file.clone(),
                message,
            })?;
            let expanded = fargate_macro::expand(&tpl, &Settings::with_export(&provider_export))?;
            let out = match format {
                Format::Json => template::to_json(&expanded),
                Format::Yaml => template::to_yaml(&expanded).map_err(Error::Write)?,
            };
            std::io::stdout()
                .lock()
                .write_all(out.as_bytes())
                .map_err(|e| Error::Write(e.to_string()))
        }
    }
}
