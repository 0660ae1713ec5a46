//! `fargate-app diff OLD NEW`, `fargate-app diff --base REF FILE` or
//! `fargate-app diff --stack NAME FILE`: what deploying NEW (or FILE) over OLD (FILE at REF, the
//! deployed stack) adds, removes, modifies and replaces. Exit 0 no change, 1 changes, 2 a
//! replacement with `--fail-on replacement`, 3 when a version cannot be read, parsed, expanded
//! or fetched.

use fargate_macro::diff::{diff_versions, Colour, Diff, Side, Version};
use fargate_macro::gen::{Settings, DEFAULT_SERVICE_TOKEN_EXPORT};
use fargate_macro::template;
use serde_json::{Map, Value};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The deployed version (or, with --base or --stack, the file to deploy).
    old: String,
    /// The version to deploy.
    new: Option<String>,
    /// Compare FILE with FILE as it is at this git ref (`main`, `HEAD~1`, a tag).
    #[arg(long, value_name = "REF", conflicts_with = "stack")]
    base: Option<String>,
    /// Compare FILE with this deployed stack: its processed template (GetTemplate) and its
    /// parameter values (DescribeStacks). Credentials and region as the AWS CLI finds them
    /// (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL...).
    #[arg(long, value_name = "NAME")]
    stack: Option<String>,
    /// With --stack: also create a change set of the local expansion, print CloudFormation's
    /// own answer for each resource (Action, Replacement), and delete the change set.
    #[arg(long, requires = "stack")]
    change_set: bool,
    /// Parameter values of the version to deploy, `Key=Value` (lists comma-separated); the
    /// others take the template's `Default` (with --stack, a parameter without one keeps the
    /// deployed value).
    #[arg(long, num_args = 1.., value_name = "KEY=VALUE")]
    parameters: Vec<String>,
    /// Parameter values of the deployed version (OLD, or FILE at REF); the others take its
    /// `Default`. With --stack the stack's own values are used.
    #[arg(long, num_args = 1.., value_name = "KEY=VALUE", conflicts_with = "stack")]
    old_parameters: Vec<String>,
    /// Exit 2 when a resource would be replaced (a CI guard); without it a replacement is a
    /// change like any other (exit 1).
    #[arg(long, value_enum, value_name = "WHAT")]
    fail_on: Option<FailOn>,
    /// Output format: the report, or one JSON object with PascalCase keys.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Colour: on a terminal unless NO_COLOR is set (auto), always, or never.
    #[arg(long, value_enum, default_value_t = When::Auto)]
    color: When,
    /// Export holding the provider's ServiceToken.
    #[arg(long, default_value = DEFAULT_SERVICE_TOKEN_EXPORT)]
    provider_export: String,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum FailOn {
    /// A resource replaced (a new physical resource; a task definition's new revision is not).
    Replacement,
}

#[derive(Clone, Copy, PartialEq, clap::ValueEnum)]
enum When {
    Auto,
    Always,
    Never,
}

const TROUBLE: u8 = 3;

fn parse_parameters(given: &[String]) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    for kv in given {
        let Some((k, v)) = kv.split_once('=') else {
            return Err(format!("--parameters {kv}: expected KEY=VALUE"));
        };
        out.insert(k.to_string(), Value::String(v.to_string()));
    }
    Ok(out)
}

/// The two versions' templates and parameter values; the old one processed for --stack.
struct Loaded {
    old: Value,
    old_parameters: Map<String, Value>,
    old_processed: bool,
    new: Value,
    new_parameters: Map<String, Value>,
}

fn load_versions(a: &Args) -> Result<Loaded, String> {
    let mut new_parameters = parse_parameters(&a.parameters)?;
    let old_parameters = parse_parameters(&a.old_parameters)?;
    match (&a.base, &a.stack, &a.new) {
        (Some(base), None, None) => {
            let old_text = git_show(base, &a.old)?;
            Ok(Loaded {
                old: load(&format!("{base}:{}", a.old), &old_text)?,
                old_parameters,
                old_processed: false,
                new: load(&a.old, &read(&a.old)?)?,
                new_parameters,
            })
        }
        (None, Some(stack), None) => {
            let new = load(&a.old, &read(&a.old)?)?;
            let deployed = aws::deployed(stack)?;
            // A parameter of the new version without a Default nor a given value keeps the
            // deployed value (an update would otherwise fail for want of it).
            if let Some(params) = new.get("Parameters").and_then(Value::as_object) {
                for (name, decl) in params {
                    if decl.get("Default").is_none() && !new_parameters.contains_key(name) {
                        if let Some(v) = deployed.parameters.get(name) {
                            new_parameters.insert(name.clone(), v.clone());
                        }
                    }
                }
            }
            Ok(Loaded {
                old: deployed.template,
                old_parameters: deployed.parameters,
                old_processed: true,
                new,
                new_parameters,
            })
        }
        (None, None, Some(new)) => Ok(Loaded {
            old: load(&a.old, &read(&a.old)?)?,
            old_parameters,
            old_processed: false,
            new: load(new, &read(new)?)?,
            new_parameters,
        }),
        (None, None, None) => Err("give OLD NEW, --base REF FILE or --stack NAME FILE".into()),
        _ => Err("give one of OLD NEW, --base REF FILE, --stack NAME FILE".into()),
    }
}

pub fn run(a: Args) -> ExitCode {
    let loaded = match load_versions(&a) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("fargate-app diff: {e}");
            return ExitCode::from(TROUBLE);
        }
    };
    let old = Version {
        template: &loaded.old,
        processed: loaded.old_processed,
        parameters: loaded.old_parameters.clone(),
    };
    let new = Version::source(&loaded.new, loaded.new_parameters.clone());
    let settings = Settings::with_export(&a.provider_export);
    let diff = match diff_versions(&old, &new, &settings) {
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
    let change_set = match (&a.stack, a.change_set) {
        (Some(stack), true) => {
            let mut s = settings.clone();
            s.parameter_values = loaded.new_parameters.clone();
            let body = match fargate_macro::expand(&loaded.new, &s) {
                Ok(x) => template::to_json(&x),
                Err(p) => {
                    eprintln!("fargate-app diff: the new version does not expand:\n{p}");
                    return ExitCode::from(TROUBLE);
                }
            };
            match aws::change_set(stack, &body, &loaded.new, &loaded.new_parameters) {
                Ok(c) => Some(c),
                Err(e) => {
                    eprintln!("fargate-app diff: change set: {e}");
                    return ExitCode::from(TROUBLE);
                }
            }
        }
        _ => None,
    };
    let colour = match a.color {
        When::Always => Colour::On,
        When::Never => Colour::Off,
        When::Auto => {
            if std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none() {
                Colour::On
            } else {
                Colour::Off
            }
        }
    };
    let out = render(&diff, change_set.as_ref(), a.format, colour);
    if std::io::stdout().lock().write_all(out.as_bytes()).is_err() {
        return ExitCode::from(TROUBLE);
    }
    let replaced_by_cfn = change_set
        .as_ref()
        .is_some_and(|c| c.iter().any(|r| r.replacement.as_deref() == Some("True")));
    let fail = a.fail_on.is_some();
    let code = diff.exit_code(fail);
    ExitCode::from(if fail && replaced_by_cfn { 2 } else { code })
}

fn render(diff: &Diff, cs: Option<&Vec<aws::CfnChange>>, format: Format, colour: Colour) -> String {
    match format {
        Format::Json => {
            let mut v = serde_json::to_value(diff).unwrap_or_default();
            if let (Some(cs), Some(m)) = (cs, v.as_object_mut()) {
                m.insert(
                    "ChangeSet".into(),
                    serde_json::to_value(cs).unwrap_or_default(),
                );
            }
            serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
        }
        Format::Text => {
            let mut s = diff.render_with(colour);
            if let Some(cs) = cs {
                s.push_str(&aws::render_change_set(cs));
            }
            s
        }
    }
}

fn read(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))
}

fn load(name: &str, text: &str) -> Result<Value, String> {
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

pub(crate) mod aws {
    //! The deployed stack and change sets, through the AWS SDK.

    use aws_sdk_cloudformation::types::{
        Capability, ChangeSetStatus, ChangeSetType, Parameter, TemplateStage,
    };
    use serde::Serialize;
    use serde_json::{Map, Value};
    use std::fmt::Write;
    use std::time::Duration;

    pub struct Deployed {
        pub template: Value,
        pub parameters: Map<String, Value>,
        /// The stack's outputs, resolved (the scaling check reads `<App>Url`).
        pub outputs: Vec<(String, String)>,
    }

    /// CloudFormation's answer for one resource of a change set.
    #[derive(Debug, Serialize)]
    #[serde(rename_all = "PascalCase")]
    pub struct CfnChange {
        pub logical_id: String,
        pub action: String,
        /// `True`, `False` or `Conditional`; absent when CloudFormation gave none.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub replacement: Option<String>,
    }

    fn runtime() -> Result<tokio::runtime::Runtime, String> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())
    }

    async fn client() -> aws_sdk_cloudformation::Client {
        let conf = aws_config::load_from_env().await;
        aws_sdk_cloudformation::Client::new(&conf)
    }

    /// `what: error: cause: cause...` (the SDK's Display is "service error"; the chain names the
    /// cause). Also the scaling check's.
    pub(crate) fn err(what: &str, e: impl std::error::Error) -> String {
        // The SDK's Display is "service error"; its source chain names the cause.
        let mut s = format!("{what}: {e}");
        let mut src = e.source();
        while let Some(x) = src {
            let _ = write!(s, ": {x}");
            src = x.source();
        }
        s
    }

    /// The stack's template as CloudFormation processed it (transforms applied: what is
    /// deployed; GetTemplate, TemplateStage `Processed`:
    /// https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_GetTemplate.html)
    /// and its parameter values (DescribeStacks; a NoEcho value reads `****`:
    /// https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStacks.html).
    pub fn deployed(stack: &str) -> Result<Deployed, String> {
        runtime()?.block_on(async {
            let c = client().await;
            let t = c
                .get_template()
                .stack_name(stack)
                .template_stage(TemplateStage::Processed)
                .send()
                .await
                .map_err(|e| err(&format!("GetTemplate {stack}"), e))?;
            let body = t
                .template_body()
                .ok_or_else(|| format!("GetTemplate {stack}: no TemplateBody"))?;
            let template = fargate_macro::template::parse(body)
                .map_err(|e| format!("the template of stack {stack}: {e}"))?;
            let d = c
                .describe_stacks()
                .stack_name(stack)
                .send()
                .await
                .map_err(|e| err(&format!("DescribeStacks {stack}"), e))?;
            let mut parameters = Map::new();
            let mut outputs = Vec::new();
            for s in d.stacks() {
                for p in s.parameters() {
                    if let (Some(k), Some(v)) = (p.parameter_key(), p.parameter_value()) {
                        parameters.insert(k.to_string(), Value::String(v.to_string()));
                    }
                }
                for o in s.outputs() {
                    if let (Some(k), Some(v)) = (o.output_key(), o.output_value()) {
                        outputs.push((k.to_string(), v.to_string()));
                    }
                }
            }
            Ok(Deployed {
                template,
                parameters,
                outputs,
            })
        })
    }

    /// Creates a change set of `body` (the local expansion, so no macro is needed in the
    /// account) for `stack`, waits for it, reads each resource's Action and Replacement, and
    /// deletes it (CreateChangeSet, DescribeChangeSet, DeleteChangeSet:
    /// https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateChangeSet.html,
    /// https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ResourceChange.html).
    /// Parameters not given and without a Default keep their deployed value
    /// (`UsePreviousValue`).
    pub fn change_set(
        stack: &str,
        body: &str,
        source: &Value,
        given: &Map<String, Value>,
    ) -> Result<Vec<CfnChange>, String> {
        let name = format!("fargate-app-diff-{}", std::process::id());
        let mut params = Vec::new();
        if let Some(decls) = source.get("Parameters").and_then(Value::as_object) {
            for (k, decl) in decls {
                let p = Parameter::builder().parameter_key(k);
                let p = match given.get(k).and_then(Value::as_str) {
                    Some(v) => p.parameter_value(v),
                    None if decl.get("Default").is_some() => continue,
                    None => p.use_previous_value(true),
                };
                params.push(p.build());
            }
        }
        runtime()?.block_on(async {
            let c = client().await;
            c.create_change_set()
                .stack_name(stack)
                .change_set_name(&name)
                .change_set_type(ChangeSetType::Update)
                .template_body(body)
                .set_parameters(Some(params))
                .capabilities(Capability::CapabilityIam)
                .capabilities(Capability::CapabilityNamedIam)
                .send()
                .await
                .map_err(|e| err("CreateChangeSet", e))?;
            let result = wait_and_read(&c, stack, &name).await;
            let deleted = c
                .delete_change_set()
                .stack_name(stack)
                .change_set_name(&name)
                .send()
                .await
                .map_err(|e| err("DeleteChangeSet", e));
            let changes = result?;
            deleted?;
            Ok(changes)
        })
    }

    async fn wait_and_read(
        c: &aws_sdk_cloudformation::Client,
        stack: &str,
        name: &str,
    ) -> Result<Vec<CfnChange>, String> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        let started = std::time::Instant::now();
        loop {
            let d = c
                .describe_change_set()
                .stack_name(stack)
                .change_set_name(name)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| err("DescribeChangeSet", e))?;
            match d.status() {
                Some(ChangeSetStatus::CreateComplete) => {}
                Some(ChangeSetStatus::Failed) => {
                    let reason = d.status_reason().unwrap_or_default();
                    // "The submitted information didn't contain changes" is no change at all.
                    if reason.contains("didn't contain changes") {
                        return Ok(Vec::new());
                    }
                    return Err(format!("the change set failed: {reason}"));
                }
                _ => {
                    if started.elapsed() > Duration::from_secs(300) {
                        return Err("the change set was not created within 5 minutes".into());
                    }
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    continue;
                }
            }
            for ch in d.changes() {
                if let Some(r) = ch.resource_change() {
                    out.push(CfnChange {
                        logical_id: r.logical_resource_id().unwrap_or_default().to_string(),
                        action: r
                            .action()
                            .map(|a| a.as_str().to_string())
                            .unwrap_or_default(),
                        replacement: r.replacement().map(|x| x.as_str().to_string()),
                    });
                }
            }
            match d.next_token() {
                Some(t) => token = Some(t.to_string()),
                None => return Ok(out),
            }
        }
    }

    pub fn render_change_set(cs: &[CfnChange]) -> String {
        let mut s = String::from("CloudFormation change set (authoritative)\n");
        if cs.is_empty() {
            s.push_str("  no changes\n");
        }
        for c in cs {
            let replacement = match c.replacement.as_deref() {
                Some("True") => "replacement".to_string(),
                Some("False") => "no replacement".to_string(),
                Some("Conditional") => "replacement depends on values known at deploy".into(),
                Some(other) => other.to_string(),
                None => "no replacement answer given".into(),
            };
            let _ = writeln!(s, "  {} {}: {replacement}", c.action, c.logical_id);
        }
        s
    }
}
