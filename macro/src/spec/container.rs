//! Container properties: image, task size, command, environment, secrets (and the ARNs the
//! execution role may read), container health check, logs, task policies, tags.

use super::{opt_int, Props, TemplateCtx};
use crate::intrinsics::{arn_sub, is_intrinsic};
use crate::reader::{path, show, ListVal, Reader, Val};
use serde_json::Value;

/// Keys of an IAM statement in `TaskPolicies`.
pub const STATEMENT_KEYS: &[&str] = &[
    "Sid",
    "Effect",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
    "Principal",
];

/// Keys of the container `HealthCheck`.
pub const CONTAINER_HEALTH_KEYS: &[&str] =
    &["Command", "Interval", "Timeout", "Retries", "StartPeriod"];

/// CloudWatch Logs' accepted retention periods, in days.
pub const LOG_RETENTION_DAYS: &[u64] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

#[derive(Debug, Clone)]
pub struct Secret {
    pub name: String,
    /// What goes into the container definition's `ValueFrom`.
    pub value_from: Value,
    /// The ARN the execution role may read.
    pub resource: Value,
    pub kind: SecretKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    Ssm,
    SecretsManager,
    /// An intrinsic: the kind is known only at deploy time, so both read actions are granted
    /// on exactly that ARN.
    Unknown,
}

#[derive(Debug, Clone)]
pub struct ContainerHealth {
    pub command: Value,
    pub interval: Option<Val<u64>>,
    pub timeout: Option<Val<u64>>,
    pub retries: Option<Val<u64>>,
    pub start_period: Option<Val<u64>>,
}

/// Memory sizes Fargate accepts for a CPU size, in MiB.
pub fn fargate_memory(cpu: u64) -> Option<Vec<u64>> {
    let gib = |from: u64, to: u64, step: u64| {
        (from..=to)
            .step_by(step as usize)
            .map(|g| g * 1024)
            .collect()
    };
    Some(match cpu {
        256 => vec![512, 1024, 2048],
        512 => gib(1, 4, 1),
        1024 => gib(2, 8, 1),
        2048 => gib(4, 16, 1),
        4096 => gib(8, 30, 1),
        8192 => gib(16, 60, 4),
        16384 => gib(32, 120, 8),
        _ => return None,
    })
}

pub(super) fn describe_sizes(sizes: &[u64]) -> String {
    if sizes.len() <= 4 {
        sizes
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    } else {
        format!(
            "{} to {} in steps of {}",
            sizes[0],
            sizes[sizes.len() - 1],
            sizes[1] - sizes[0]
        )
    }
}

pub(super) fn check_task_size(r: &mut Reader, p: &Props, cpu: &Val<u64>, memory: &Val<u64>) {
    let Val::Lit(c) = cpu else { return };
    match fargate_memory(*c) {
        None => r.err(
            &p.path("Cpu"),
            format!(
                "{c} is not a Fargate CPU size (allowed: 256, 512, 1024, 2048, 4096, 8192, 16384)"
            ),
        ),
        Some(allowed) => {
            if let Val::Lit(m) = memory {
                if !allowed.contains(m) {
                    r.err(
                        &p.path("Memory"),
                        format!(
                            "{m} is not valid with Cpu {c} (allowed: {})",
                            describe_sizes(&allowed)
                        ),
                    );
                }
            }
        }
    }
}

pub(super) fn check_env_name(r: &mut Reader, p: &str, name: &str) {
    let ok = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ok {
        r.err(
            p,
            "an environment variable name is letters, digits and _ and does not start with a digit",
        );
    }
}

/// `Command`/`EntryPoint`: a list of strings, a string (split on spaces, as `docker run` does
/// for the exec form), or an intrinsic.
pub(super) fn command_list(r: &mut Reader, p: &str, v: &Value) -> Option<Value> {
    match v {
        Value::String(s) => Some(Value::Array(
            s.split_whitespace()
                .map(|w| Value::String(w.into()))
                .collect(),
        )),
        _ => r
            .list(p, v, |r, ip, it| r.string(ip, it).map(|s| s.json()))
            .map(|l| l.json()),
    }
}

pub(super) fn read_statement(r: &mut Reader, p: &str, v: &Value) -> Option<Value> {
    let m = r.object(p, v, STATEMENT_KEYS)?;
    if m.contains_key("Principal") {
        r.err(
            &path(p, "Principal"),
            "not allowed in an identity policy statement",
        );
    }
    match m.get("Effect") {
        Some(Value::String(e)) if e == "Allow" || e == "Deny" => {}
        Some(e) => r.err(
            &path(p, "Effect"),
            format!("{} is not Allow or Deny", show(e)),
        ),
        None => r.err(&path(p, "Effect"), "required (Allow or Deny)"),
    }
    if !m.contains_key("Action") && !m.contains_key("NotAction") {
        r.err(&path(p, "Action"), "required");
    }
    if !m.contains_key("Resource") && !m.contains_key("NotResource") {
        r.err(&path(p, "Resource"), "required");
    }
    Some(v.clone())
}

pub const SECRET_FORMS: &str = "give an SSM parameter name or ARN, a Secrets Manager secret ARN (optionally with :json-key:version-stage:version-id), !Ref of an AWS::SSM::Parameter or AWS::SecretsManager::Secret of this template, !Sub '${Secret}:json-key::', or !Ref of a template parameter holding an ARN";

pub(super) fn read_secrets(r: &mut Reader, p: &str, v: &Value, ctx: &TemplateCtx) -> Vec<Secret> {
    let mut out = Vec::new();
    for (name, val) in r.string_map(p, v) {
        let sp = path(p, &name);
        check_env_name(r, &sp, &name);
        let read = match &val {
            Value::String(s) if s.starts_with("arn:") => literal_secret_arn(s).ok_or_else(|| {
                format!(
                    "{} is neither an SSM parameter ARN nor a Secrets Manager secret ARN",
                    show(&val)
                )
            }),
            Value::String(s) if !s.is_empty() => {
                let resource = format!("parameter/{}", s.trim_start_matches('/'));
                let arn = arn_sub("ssm", &resource);
                out.push(Secret {
                    name,
                    value_from: arn.clone(),
                    resource: arn,
                    kind: SecretKind::Ssm,
                });
                continue;
            }
            _ if is_intrinsic(&val) => secret_from_intrinsic(&val, ctx),
            _ => {
                Err("expected an SSM parameter name or ARN, or a Secrets Manager secret ARN".into())
            }
        };
        match read {
            Ok((resource, kind)) => out.push(Secret {
                name,
                value_from: val.clone(),
                resource,
                kind,
            }),
            Err(why) => r.err(&sp, why),
        }
    }
    out
}

/// The key ARNs of the customer-managed KMS keys that this template's own
/// `AWS::SecretsManager::Secret`s, named by the App's secrets (`!Ref`, `!Sub "${Secret}..."`),
/// are encrypted with (`KmsKeyId`): a key of the template (`!Ref Key` is its key ID, so the grant
/// names `!GetAtt Key.Arn`), or a literal key ARN. An alias or key ID given literally cannot be
/// granted by ARN: `SecretsKmsKeys` is for those.
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-secretsmanager-secret.html
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-kms-key.html
fn template_secret_keys(secrets: &[Secret], ctx: &TemplateCtx) -> Vec<Value> {
    let mut keys = Vec::new();
    for s in secrets {
        let mut names = Vec::new();
        if let Some(id) = s.value_from.get("Ref").and_then(Value::as_str) {
            names.push(id.to_string());
        }
        let sub_text = match s.value_from.get("Fn::Sub") {
            Some(Value::String(t)) => Some(t.as_str()),
            Some(Value::Array(a)) => a.first().and_then(Value::as_str),
            _ => None,
        };
        if let Some(t) = sub_text {
            let mut rest = t;
            while let Some(at) = rest.find("${") {
                let after = &rest[at + 2..];
                let Some(end) = after.find('}') else { break };
                names.push(after[..end].to_string());
                rest = &after[end + 1..];
            }
        }
        for id in names {
            if ctx.resource_type(&id) != Some("AWS::SecretsManager::Secret") {
                continue;
            }
            let key = match ctx.resource_prop(&id, "KmsKeyId") {
                Some(Value::String(k)) if kms_key_arn(k) => Value::String(k.clone()),
                Some(v) => match v.get("Ref").and_then(Value::as_str) {
                    Some(k) if ctx.resource_type(k) == Some("AWS::KMS::Key") => {
                        serde_json::json!({ "Fn::GetAtt": [k, "Arn"] })
                    }
                    _ => match v.get("Fn::GetAtt").and_then(Value::as_array) {
                        Some(a) if a.get(1).and_then(Value::as_str) == Some("Arn") => v.clone(),
                        _ => continue,
                    },
                },
                None => continue,
            };
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
    keys
}

/// The ARN a literal secret ARN grants: a Secrets Manager ARN without its JSON-key/version
/// suffix, and with `-??????` when the 6-character random suffix is missing.
pub(super) fn literal_secret_arn(s: &str) -> Option<(Value, SecretKind)> {
    let parts: Vec<&str> = s.split(':').collect();
    match parts.get(2).copied() {
        Some("ssm") if parts.len() >= 6 => Some((Value::String(s.into()), SecretKind::Ssm)),
        Some("secretsmanager") if parts.len() >= 7 && parts[5] == "secret" => {
            let mut arn = parts[..7].join(":");
            if !has_random_suffix(parts[6]) {
                arn.push_str("-??????");
            }
            Some((Value::String(arn), SecretKind::SecretsManager))
        }
        _ => None,
    }
}

/// Secrets Manager appends `-` and 6 random characters to a secret's name in its ARN.
pub(super) fn has_random_suffix(name: &str) -> bool {
    name.rsplit_once('-')
        .is_some_and(|(_, tail)| tail.len() == 6 && tail.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// The ARN an intrinsic secret grants, from what the template says the referenced thing is.
/// The ARN of an SSM parameter whose `Name` is `!Sub` text that starts with a literal
/// character (so whether it has a leading / is known).
fn ssm_name_sub_arn(name: &Value) -> Option<Value> {
    let body = name.as_object().filter(|m| m.len() == 1)?.get("Fn::Sub")?;
    let (text, vars) = match body {
        Value::String(t) => (t.as_str(), None),
        Value::Array(a) if a.len() == 2 => (a[0].as_str()?, Some(a[1].clone())),
        _ => return None,
    };
    if text.is_empty() || text.starts_with("${") {
        return None;
    }
    let arn = format!(
        "arn:${{AWS::Partition}}:ssm:${{AWS::Region}}:${{AWS::AccountId}}:parameter/{}",
        text.strip_prefix('/').unwrap_or(text)
    );
    Some(match vars {
        None => serde_json::json!({ "Fn::Sub": arn }),
        Some(m) => serde_json::json!({ "Fn::Sub": [arn, m] }),
    })
}

pub(super) fn secret_from_intrinsic(
    v: &Value,
    ctx: &TemplateCtx,
) -> Result<(Value, SecretKind), String> {
    let unknown = || {
        Err(format!(
            "cannot tell which ARN {} is; {SECRET_FORMS}",
            show(v)
        ))
    };
    let m = v.as_object().expect("an intrinsic is an object");
    let (k, arg) = m.iter().next().expect("an intrinsic has one key");
    match k.as_str() {
        "Ref" => {
            let name = arg.as_str().unwrap_or_default();
            if ctx.is_parameter(name) {
                return Ok((v.clone(), SecretKind::Unknown));
            }
            match ctx.resource_type(name) {
                Some("AWS::SecretsManager::Secret") => Ok((v.clone(), SecretKind::SecretsManager)),
                Some("AWS::SSM::Parameter") => match ctx.resource_prop(name, "Name") {
                    // Without a Name, CloudFormation generates one without a leading /.
                    None => Ok((
                        crate::intrinsics::sub(&format!(
                            "arn:${{AWS::Partition}}:ssm:${{AWS::Region}}:${{AWS::AccountId}}:parameter/${{{name}}}"
                        )),
                        SecretKind::Ssm,
                    )),
                    Some(Value::String(n)) => Ok((
                        arn_sub("ssm", &format!("parameter/{}", n.trim_start_matches('/'))),
                        SecretKind::Ssm,
                    )),
                    // A `!Sub` name that starts with literal text: its ARN is that text without
                    // a leading /, substituted the same way.
                    // https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-paramstore-access.html
                    Some(n) if ssm_name_sub_arn(n).is_some() => Ok((
                        ssm_name_sub_arn(n).expect("checked"),
                        SecretKind::Ssm,
                    )),
                    Some(_) => Err(format!("{name}'s Name is not literal, so its ARN is unknown (a path name's ARN drops the leading /); give the parameter's ARN with !Sub, or a literal Name (or a !Sub starting with literal text)")),
                },
                _ => unknown(),
            }
        }
        "Fn::GetAtt" => match ctx.referenced(v) {
            Some((id, Some(attr)))
                if ctx.resource_type(id) == Some("AWS::SecretsManager::Secret") && attr == "Id" =>
            {
                Ok((v.clone(), SecretKind::SecretsManager))
            }
            _ => unknown(),
        },
        "Fn::ImportValue" | "Fn::FindInMap" => Ok((v.clone(), SecretKind::Unknown)),
        "Fn::Sub" => {
            let (text, vars) = match arg {
                Value::String(t) => (t.as_str(), None),
                Value::Array(a) if a.len() == 2 => {
                    (a[0].as_str().unwrap_or_default(), a[1].as_object())
                }
                _ => return unknown(),
            };
            if text.starts_with("arn:") {
                let parts = split_outside_vars(text);
                if parts.get(2) == Some(&"secretsmanager") && parts.len() > 7 {
                    let arn = Value::String(parts[..7].join(":"));
                    let mut sub = serde_json::Map::new();
                    sub.insert(
                        "Fn::Sub".into(),
                        match vars {
                            Some(vs) => Value::Array(vec![arn, Value::Object(vs.clone())]),
                            None => arn,
                        },
                    );
                    return Ok((Value::Object(sub), SecretKind::SecretsManager));
                }
                let kind = match parts.get(2) {
                    Some(&"secretsmanager") => SecretKind::SecretsManager,
                    Some(&"ssm") => SecretKind::Ssm,
                    _ => SecretKind::Unknown,
                };
                return Ok((v.clone(), kind));
            }
            // An SSM parameter name with a leading / (`!Sub /${Env}/db-password`): the
            // container may name it, the role needs its ARN.
            if text.starts_with('/') {
                if let Some(arn) = ssm_name_sub_arn(v) {
                    return Ok((arn, SecretKind::Ssm));
                }
            }
            // `${Secret}:json-key::` reads the secret `${Secret}` names.
            let Some(rest) = text.strip_prefix("${") else {
                return unknown();
            };
            let Some((name, tail)) = rest.split_once('}') else {
                return unknown();
            };
            if !(tail.is_empty() || tail.starts_with(':'))
                || vars.is_some_and(|vs| vs.contains_key(name))
            {
                return unknown();
            }
            let target = serde_json::json!({ "Ref": name });
            match secret_from_intrinsic(&target, ctx) {
                Ok((arn, kind)) if kind != SecretKind::Ssm => Ok((arn, kind)),
                _ => unknown(),
            }
        }
        "Fn::If" => {
            let a = arg
                .as_array()
                .filter(|a| a.len() == 3)
                .map(|a| a.as_slice());
            let Some([c, yes, no]) = a else {
                return unknown();
            };
            let branch = |b: &Value| -> Result<(Value, SecretKind), String> {
                if b.get("Ref").and_then(Value::as_str) == Some("AWS::NoValue") {
                    return Ok((b.clone(), SecretKind::Unknown));
                }
                match b {
                    Value::String(s) if s.starts_with("arn:") => {
                        literal_secret_arn(s).ok_or_else(|| unknown().unwrap_err())
                    }
                    Value::String(s) if !s.is_empty() => Ok((
                        arn_sub("ssm", &format!("parameter/{}", s.trim_start_matches('/'))),
                        SecretKind::Ssm,
                    )),
                    _ if is_intrinsic(b) => secret_from_intrinsic(b, ctx),
                    _ => unknown(),
                }
            };
            let (y, yk) = branch(yes)?;
            let (n, nk) = branch(no)?;
            let kind = if yk == nk { yk } else { SecretKind::Unknown };
            Ok((serde_json::json!({ "Fn::If": [c, y, n] }), kind))
        }
        _ => unknown(),
    }
}

pub(super) fn read_container_health(r: &mut Reader, p: &str, v: &Value) -> Option<ContainerHealth> {
    let m = r.object(p, v, CONTAINER_HEALTH_KEYS)?;
    let command = match m.get("Command") {
        Some(Value::String(s)) => Some(serde_json::json!(["CMD-SHELL", s])),
        Some(c) => r.list(&path(p, "Command"), c, |r, ip, it| r.string(ip, it).map(|s| s.json())).map(|l| {
            let j = l.json();
            if let Some(first) = j.get(0).and_then(Value::as_str) {
                if first != "CMD" && first != "CMD-SHELL" && first != "NONE" {
                    r.err(&path(p, "Command[0]"), "a list command starts with CMD or CMD-SHELL (or give a string for CMD-SHELL)");
                }
            }
            j
        }),
        None => {
            r.err(&path(p, "Command"), "required, e.g. 'curl -f http://localhost:3000/health || exit 1'");
            None
        }
    };
    let int =
        |r: &mut Reader, k: &str, min, max| m.get(k).and_then(|v| r.int(&path(p, k), v, min, max));
    let secs = |r: &mut Reader, k: &str, min, max| {
        m.get(k).and_then(|v| r.seconds(&path(p, k), v, min, max))
    };
    let h = ContainerHealth {
        command: command?,
        interval: secs(r, "Interval", 5, 300),
        timeout: secs(r, "Timeout", 2, 60),
        retries: int(r, "Retries", 1, 10),
        start_period: secs(r, "StartPeriod", 0, 300),
    };
    if let (Some(Val::Lit(i)), Some(Val::Lit(t))) = (&h.interval, &h.timeout) {
        if t >= i {
            r.err(
                &path(p, "Timeout"),
                format!("{t} must be less than Interval {i}"),
            );
        }
    }
    Some(h)
}

/// The container properties of an App, as read.
pub(super) struct Container {
    pub image: Option<Val<String>>,
    pub port: Val<u64>,
    pub extra_ports: Vec<Val<u64>>,
    pub cpu: Val<u64>,
    pub memory: Val<u64>,
    pub architecture: Val<String>,
    pub command: Option<Value>,
    pub entry_point: Option<Value>,
    pub environment: Vec<(String, Value)>,
    pub secrets: Vec<Secret>,
    /// Customer-managed KMS keys the secrets are encrypted with (`SecretsKmsKeys`): a list, or
    /// an intrinsic that yields one.
    pub secrets_kms_keys: Option<Value>,
    pub health_check: Option<ContainerHealth>,
    pub log_retention_days: Val<u64>,
    pub task_policies: Vec<Value>,
    pub execute_command: Val<bool>,
    pub tags: Vec<(String, Value)>,
}

/// A KMS key ARN (`arn:PARTITION:kms:REGION:ACCOUNT:key/ID`): an IAM policy names keys by key
/// ARN, not by alias.
/// https://docs.aws.amazon.com/kms/latest/developerguide/cmm-alias-authorization.html
fn kms_key_arn(s: &str) -> bool {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && parts[2] == "kms"
        && parts[5]
            .strip_prefix("key/")
            .is_some_and(|id| !id.is_empty())
}

pub(super) fn read_container(
    r: &mut Reader,
    p: &Props,
    ctx: &TemplateCtx,
    has_props: bool,
) -> Container {
    let image = match p.get("Image") {
        Some(v) => r.nonempty(&p.path("Image"), v),
        None => {
            if has_props {
                r.err(&p.path("Image"), "required: the container image to run");
            }
            None
        }
    };
    let port = opt_int(r, p, "Port", 1, 65535).unwrap_or(Val::Lit(80));
    let extra_ports = p
        .get("ExtraPorts")
        .and_then(|v| {
            r.list(&p.path("ExtraPorts"), v, |r, ip, it| {
                r.int(ip, it, 1, 65535)
            })
        })
        .map(|l| l.items().to_vec())
        .unwrap_or_default();
    let cpu = opt_int(r, p, "Cpu", 1, 16384).unwrap_or(Val::Lit(256));
    let memory = opt_int(r, p, "Memory", 1, 122880).unwrap_or(match cpu {
        Val::Lit(c) => Val::Lit(fargate_memory(c).map(|m| m[0]).unwrap_or(512)),
        Val::Expr(_) => Val::Lit(512),
    });
    check_task_size(r, p, &cpu, &memory);
    let architecture = p
        .get("Architecture")
        .and_then(|v| r.word(&p.path("Architecture"), v, &["X86_64", "ARM64"]))
        .unwrap_or(Val::Lit("X86_64".into()));
    let command = p
        .get("Command")
        .and_then(|v| command_list(r, &p.path("Command"), v));
    let entry_point = p
        .get("EntryPoint")
        .and_then(|v| command_list(r, &p.path("EntryPoint"), v));
    let environment = p
        .get("Environment")
        .map(|v| r.string_map(&p.path("Environment"), v))
        .unwrap_or_default();
    for (k, _) in &environment {
        check_env_name(r, &path(&p.path("Environment"), k), k);
    }
    let secrets = p
        .get("Secrets")
        .map(|v| read_secrets(r, &p.path("Secrets"), v, ctx))
        .unwrap_or_default();
    for s in &secrets {
        if environment.iter().any(|(k, _)| k == &s.name) {
            r.err(
                &path(&p.path("Secrets"), &s.name),
                "also set in Environment: a variable comes from one or the other",
            );
        }
    }
    // Secrets encrypted with a customer-managed KMS key need kms:Decrypt on that key in the
    // execution role.
    // https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html
    let secrets_kms_keys = p
        .get("SecretsKmsKeys")
        .and_then(|v| {
            r.list(&p.path("SecretsKmsKeys"), v, |r, ip, it| match r.nonempty(ip, it)? {
                Val::Lit(s) if !kms_key_arn(&s) => {
                    r.err(ip, format!("'{s}' is not a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID; an alias cannot be granted)"));
                    None
                }
                k => Some(k.json()),
            })
        })
        .map(|l| match l {
            ListVal::Items(v) => Value::Array(v),
            ListVal::Expr(e) => e,
        });
    // A secret of this template names its key (`KmsKeyId`): grant that one too, so a template
    // that makes both the key and the secret needs no `SecretsKmsKeys`.
    let template_keys = template_secret_keys(&secrets, ctx);
    let secrets_kms_keys = match (secrets_kms_keys, template_keys.is_empty()) {
        (keys, true) => keys,
        (None, false) => Some(Value::Array(template_keys)),
        (Some(Value::Array(mut given)), false) => {
            for k in template_keys {
                if !given.contains(&k) {
                    given.push(k);
                }
            }
            Some(Value::Array(given))
        }
        // A list given as one intrinsic: keep it, and add the template's keys beside it.
        (Some(expr), false) => {
            let mut all = vec![expr];
            all.extend(template_keys);
            Some(Value::Array(all))
        }
    };
    if secrets_kms_keys.is_some() && p.get("Secrets").is_none() {
        r.err(
            &p.path("SecretsKmsKeys"),
            "only used with Secrets: the keys the secrets are encrypted with",
        );
    }
    let health_check = p
        .get("HealthCheck")
        .and_then(|v| read_container_health(r, &p.path("HealthCheck"), v));
    let log_retention_days = read_log_retention(r, p);
    let task_policies = p
        .get("TaskPolicies")
        .and_then(|v| r.list(&p.path("TaskPolicies"), v, read_statement))
        .map(|l| match l {
            ListVal::Items(v) => v,
            ListVal::Expr(_) => {
                r.err(
                    &p.path("TaskPolicies"),
                    "must be a literal list of IAM policy statements",
                );
                Vec::new()
            }
        })
        .unwrap_or_default();
    let execute_command = p
        .get("ExecuteCommand")
        .and_then(|v| r.boolean(&p.path("ExecuteCommand"), v))
        .unwrap_or(Val::Lit(false));
    let tags = read_tags(r, p);
    Container {
        image,
        port,
        extra_ports,
        cpu,
        memory,
        architecture,
        command,
        entry_point,
        environment,
        secrets,
        secrets_kms_keys,
        health_check,
        log_retention_days,
        task_policies,
        execute_command,
        tags,
    }
}

/// `LogRetentionDays`: one of CloudWatch Logs' retention periods (30 by default).
fn read_log_retention(r: &mut Reader, p: &Props) -> Val<u64> {
    match p.get("LogRetentionDays") {
        Some(v) => match r.int(&p.path("LogRetentionDays"), v, 1, 3653) {
            Some(Val::Lit(n)) if !LOG_RETENTION_DAYS.contains(&n) => {
                r.err(
                    &p.path("LogRetentionDays"),
                    format!(
                        "{n} is not a retention CloudWatch Logs accepts ({})",
                        LOG_RETENTION_DAYS
                            .iter()
                            .map(u64::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
                Val::Lit(30)
            }
            Some(v) => v,
            None => Val::Lit(30),
        },
        None => Val::Lit(30),
    }
}

/// `Tags`: a map; keys at most 128 characters, not starting with `aws:`.
fn read_tags(r: &mut Reader, p: &Props) -> Vec<(String, Value)> {
    let tags = p
        .get("Tags")
        .map(|v| r.string_map(&p.path("Tags"), v))
        .unwrap_or_default();
    for (k, _) in &tags {
        if k.len() > 128 || k.starts_with("aws:") {
            r.err(
                &path(&p.path("Tags"), k),
                "tag keys are at most 128 characters and may not start with 'aws:'",
            );
        }
    }
    tags
}

/// Splits an `Fn::Sub` ARN template on `:` outside `${...}` (`${AWS::Region}` holds colons).
fn split_outside_vars(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'{' if i > 0 && bytes[i - 1] == b'$' => depth += 1,
            b'}' if depth > 0 => depth -= 1,
            b':' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}
