//! `fargate-app`: expand templates locally (no AWS account needed) and run the load-test engine
//! the deployment gate uses.

mod diff;
mod expand;
mod explain;
mod lint;
mod loadtest;
mod scaling_check;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "fargate-app",
    version,
    about = "FargateApp: expand Fargate::App templates, load-test a URL"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the expanded template (what the FargateApp macro returns to CloudFormation).
    Expand(expand::Args),
    /// Send HTTP load to a URL and check latency and error thresholds (exit 1 on a miss).
    Loadtest(Box<loadtest::Args>),
    /// Show what deploying NEW over OLD (a file, FILE at a git ref, or a deployed stack) adds,
    /// removes, modifies and replaces (exit 0 no change, 1 changes, 2 a replacement with
    /// --fail-on replacement, 3 trouble).
    Diff(diff::Args),
    /// Show what AWS would do with the expansion: each App's routes, who can reach whom, what
    /// the gate measures, and findings naming the AWS rule (exit 0 none is an error, 1 one is,
    /// 2 bad input).
    Explain(explain::Args),
    /// Check a source template in one step: App problems, undefined names, a misspelt
    /// Fargate::App type, and cfn-lint's findings on the expansion at the source lines that made
    /// them (exit 0 clean, 1 an error, 2 cannot run).
    Lint(lint::Args),
    /// Drive load at a deployed App and check that its service scaled: poll the desired,
    /// running and pending counts, print the timeline, assert --expect-desired (and
    /// --expect-return to the minimum) (exit 0 met, 1 missed, 2 bad input, 3 AWS trouble).
    ScalingCheck(Box<scaling_check::Args>),
    /// Print the JSON Schema editors validate templates with (the Fargate::App registry schema
    /// applied to every App's Properties, intrinsics allowed wherever a value goes);
    /// `--registry` prints the registry schema itself.
    Schema(SchemaArgs),
}

#[derive(clap::Args)]
struct SchemaArgs {
    /// The Fargate::App registry schema (schema/Fargate-App.json) instead of the editor schema.
    #[arg(long)]
    registry: bool,
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Expand(a) => expand::run(a),
        Command::Loadtest(a) => loadtest::run(*a),
        Command::Diff(a) => diff::run(a),
        Command::Explain(a) => explain::run(a),
        Command::Schema(a) => {
            if a.registry {
                print!("{}", fargate_macro::editor_schema::REGISTRY_SCHEMA);
            } else {
                print!(
                    "{}",
                    fargate_macro::template::to_json(&fargate_macro::editor_schema::editor_schema())
                );
            }
            ExitCode::SUCCESS
        }
        Command::Lint(a) => lint::run(a),
        Command::ScalingCheck(a) => scaling_check::run(*a),
    }
}
