//! Run-time permissions of the task execution role, as the ECS developer guide lists them: it
//! pulls the image from ECR (`ecr:BatchGetImage` and friends on the repository), reads each
//! secret (`secretsmanager:GetSecretValue` on the secret, `ssm:GetParameters` on the
//! parameter) and, for a secret encrypted with a customer managed key, `kms:Decrypt` on that key.
//! A grant that covers more repositories than the image names is wider than needed.
//! https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html
//! https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html

use super::elbv2::wildcard;
use super::{items, key, single, sub_text, target, App, Finding, Rule, Severity, Stack};
use serde_json::Value;

const EXEC_ROLE: &str =
    "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html";

pub const IMAGE_NOT_GRANTED: Rule = Rule {
    code: "IAM_IMAGE_PULL_NOT_GRANTED",
    severity: Severity::Error,
    rule: "the execution role needs ecr:BatchGetImage and ecr:GetDownloadUrlForLayer on the image's repository",
    doc: EXEC_ROLE,
};
pub const IMAGE_WIDER: Rule = Rule {
    code: "IAM_IMAGE_PULL_WIDER",
    severity: Severity::Warning,
    rule: "grant the repository the image names, not every repository",
    doc: EXEC_ROLE,
};
pub const SECRET_NOT_GRANTED: Rule = Rule {
    code: "IAM_SECRET_NOT_GRANTED",
    severity: Severity::Error,
    rule: "the execution role needs secretsmanager:GetSecretValue or ssm:GetParameters on each secret a container reads",
    doc: "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html",
};
pub const KMS_NOT_GRANTED: Rule = Rule {
    code: "IAM_KMS_DECRYPT_NOT_GRANTED",
    severity: Severity::Error,
    rule: "a secret encrypted with a customer managed key needs kms:Decrypt on that key in the execution role",
    doc: "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html",
};

pub const RULES: &[&Rule] = &[
    &IMAGE_NOT_GRANTED,
    &IMAGE_WIDER,
    &SECRET_NOT_GRANTED,
    &KMS_NOT_GRANTED,
];

/// The statements of a role: inline policies, and `AWS::IAM::Policy` resources attached to it.
fn statements<'a>(st: &'a Stack, role: &str) -> Vec<&'a Value> {
    let mut docs: Vec<&Value> = items(&st.props(role)["Policies"])
        .map(|p| &p["PolicyDocument"])
        .collect();
    for (_, p) in st.of_type("AWS::IAM::Policy") {
        if items(&p["Roles"]).any(|r| target(r) == Some(role)) {
            docs.push(&p["PolicyDocument"]);
        }
    }
    docs.iter()
        .flat_map(|d| match &d["Statement"] {
            Value::Array(a) => a.iter().collect::<Vec<_>>(),
            s @ Value::Object(_) => vec![s],
            _ => vec![],
        })
        .filter(|s| s["Effect"] == "Allow")
        .collect()
}

fn list(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(a) => a.iter().collect(),
        Value::Null => vec![],
        other => vec![other],
    }
}

fn allows_action(s: &Value, action: &str) -> bool {
    list(&s["Action"])
        .iter()
        .filter_map(|a| a.as_str())
        .any(|a| wildcard(a, action, true))
}

/// A resource pattern's text with every deploy-time part made a wildcard.
fn pattern(v: &Value) -> Option<String> {
    let t = sub_text(v)?;
    let mut out = String::new();
    let mut rest = t.as_str();
    while let Some(at) = rest.find("{{") {
        out.push_str(&rest[..at]);
        out.push('*');
        rest = rest[at..].split_once("}}").map(|x| x.1).unwrap_or("");
    }
    out.push_str(rest);
    Some(out)
}

/// Resources of the role's statements that allow `action`.
fn granted<'a>(stmts: &[&'a Value], action: &str) -> Vec<&'a Value> {
    stmts
        .iter()
        .filter(|s| allows_action(s, action))
        .flat_map(|s| list(&s["Resource"]))
        .collect()
}

fn managed(st: &Stack, role: &str, name: &str) -> bool {
    st.props(role)["ManagedPolicyArns"]
        .to_string()
        .contains(name)
}

/// The repository ARN an ECR image names, with deploy-time parts as `*`: `None` when the
/// image is not in ECR or its repository is not literal.
pub fn repository_arn(image: &str) -> Option<String> {
    let (registry, rest) = image.split_once('/')?;
    let mut parts = registry.split('.');
    let account = parts.next()?;
    if parts.next()? != "dkr" || parts.next()? != "ecr" {
        return None;
    }
    let region = parts.next()?;
    let repo = rest.split(['@']).next()?;
    let repo = match repo.rfind(':') {
        Some(i) if !repo[i..].contains('/') => &repo[..i],
        _ => repo,
    };
    if repo.contains("{{") {
        return None;
    }
    let w = |s: &str| {
        if s.contains("{{") {
            "*".to_string()
        } else {
            s.to_string()
        }
    };
    Some(format!(
        "arn:*:ecr:{}:{}:repository/{repo}",
        w(region),
        w(account)
    ))
}

fn matches_arn(p: &str, arn: &str) -> bool {
    // `arn:*:` in the needed ARN stands for any partition.
    wildcard(p, arn, false) || wildcard(p, &arn.replacen("arn:*:", "arn:aws:", 1), false)
}

pub fn check(st: &Stack, apps: &[App]) -> Vec<Finding> {
    let mut out = Vec::new();
    for app in apps {
        let td_id = target(&st.props(&app.service)["TaskDefinition"]).unwrap_or("");
        let td = st.props(td_id);
        let Some(role) = target(&td["ExecutionRoleArn"]) else {
            continue;
        };
        if st.get(role).is_none() {
            continue;
        }
        let stmts = statements(st, role);
        let name = app.name.as_str();
        for c in items(&td["ContainerDefinitions"]) {
            if let Some(repo) = sub_text(&c["Image"]).as_deref().and_then(repository_arn) {
                let grants: Vec<String> = granted(&stmts, "ecr:BatchGetImage")
                    .into_iter()
                    .filter_map(pattern)
                    .collect();
                let managed_all = managed(st, role, "AmazonECSTaskExecutionRolePolicy");
                if !managed_all && !grants.iter().any(|p| matches_arn(p, &repo)) {
                    out.push(Finding::new(
                        &IMAGE_NOT_GRANTED,
                        name,
                        &[role, td_id],
                        format!("{role} may not pull {repo}"),
                    ));
                }
                let other = format!("{repo}-another-repository");
                if managed_all || grants.iter().any(|p| matches_arn(p, &other)) {
                    out.push(Finding::new(
                        &IMAGE_WIDER,
                        name,
                        &[role],
                        format!("{role} may pull from every repository, the image names {repo}"),
                    ));
                }
            }
            for s in items(&c["Secrets"]) {
                check_secret(st, name, role, &stmts, &s["ValueFrom"], &mut out);
            }
        }
    }
    out
}

/// The in-template secret a container's `ValueFrom` names: `{"Ref": S}` (the secret's ARN), or
/// the ARN with a JSON key, version stage or version ID after it, `{"Fn::Sub": "${S}:key::"}`
/// (the full ARN form `arn:...:secret:name:json-key:version-stage:version-id`).
/// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html
fn template_secret(from: &Value) -> Option<&str> {
    if let Some(r) = single(from, "Ref").and_then(Value::as_str) {
        return Some(r);
    }
    let text = single(from, "Fn::Sub")?.as_str()?;
    let rest = text.strip_prefix("${")?;
    let (name, tail) = rest.split_once('}')?;
    (!name.contains('.') && (tail.is_empty() || tail.starts_with(':'))).then_some(name)
}

fn check_secret(
    st: &Stack,
    app: &str,
    role: &str,
    stmts: &[&Value],
    from: &Value,
    out: &mut Vec<Finding>,
) {
    if let Some(secret) =
        template_secret(from).filter(|x| st.type_of(x) == Some("AWS::SecretsManager::Secret"))
    {
        let whole = serde_json::json!({ "Ref": secret });
        let grants = granted(stmts, "secretsmanager:GetSecretValue");
        let ok = grants.iter().any(|g| {
            key(g) == key(&whole)
                || *g == "*"
                || sub_text(g).is_some_and(|t| t.contains(&format!("{{{{{secret}}}}}")))
        });
        if !ok {
            out.push(Finding::new(
                &SECRET_NOT_GRANTED,
                app,
                &[role, secret],
                format!("{role} may not read {secret}"),
            ));
        }
        let kms = &st.props(secret)["KmsKeyId"];
        if !kms.is_null() && kms.as_str() != Some("alias/aws/secretsmanager") {
            let keys = granted(stmts, "kms:Decrypt");
            let ok = keys.iter().any(|k| {
                key(k) == key(kms) || *k == "*" || (target(k).is_some() && target(k) == target(kms))
            });
            if !ok {
                out.push(Finding::new(
                    &KMS_NOT_GRANTED,
                    app,
                    &[role, secret],
                    format!(
                        "{secret} is encrypted with {} and {role} may not kms:Decrypt it",
                        kms
                    ),
                ));
            }
        }
        return;
    }
    let Some(text) = from.as_str() else { return };
    let (action, needed) = if text.starts_with("arn:") && text.contains(":secretsmanager:") {
        // A name without its 6-character random suffix is a partial ARN: the secret's ARN
        // has `-` and six characters more (Secrets Manager user guide, "Secret ARNs").
        let base: Vec<&str> = text.split(':').take(7).collect();
        let name = base.last().copied().unwrap_or("");
        let full = name.rsplit_once('-').is_some_and(|(_, tail)| {
            tail.len() == 6 && tail.chars().all(|c| c.is_ascii_alphanumeric())
        });
        let arn = base.join(":");
        (
            "secretsmanager:GetSecretValue",
            if full { arn } else { format!("{arn}-AbCdEf") },
        )
    } else if text.starts_with("arn:") && text.contains(":ssm:") {
        ("ssm:GetParameters", text.to_string())
    } else if text.starts_with('/') || !text.contains(':') {
        (
            "ssm:GetParameters",
            format!("arn:*:ssm:*:*:parameter/{}", text.trim_start_matches('/')),
        )
    } else {
        return;
    };
    let ok = granted(stmts, action)
        .into_iter()
        .filter_map(pattern)
        .any(|p| {
            matches_arn(&p, &needed)
                || wildcard(
                    &p,
                    &needed.replace("arn:*:ssm:*:*:", "arn:aws:ssm:r:a:"),
                    false,
                )
        });
    if !ok {
        out.push(Finding::new(
            &SECRET_NOT_GRANTED,
            app,
            &[role],
            format!("{role} may not {action} {text}"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Image names as the ECR user guide writes them:
    /// `aws_account_id.dkr.ecr.region.amazonaws.com/my-repository:tag` or `@sha256:...`.
    /// The ECS secrets page: `valueFrom` is the secret's ARN, or the ARN followed by
    /// `:json-key:version-stage:version-id` to read one key; both name the same secret, and a
    /// customer managed key on it needs kms:Decrypt in the execution role.
    #[test]
    fn secrets_read_whole_or_by_json_key_need_the_key() {
        let stack = |from: Value, kms_grant: bool| {
            let mut stmts = vec![
                json!({"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": [{"Ref": "Db"}]}),
            ];
            if kms_grant {
                stmts.push(json!({"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": {"Fn::GetAtt": ["Key", "Arn"]}}));
            }
            crate::model::test_stack(&json!({
                "Key": {"Type": "AWS::KMS::Key", "Properties": {}},
                "Db": {"Type": "AWS::SecretsManager::Secret", "Properties": {"KmsKeyId": {"Ref": "Key"}}},
                "WebService": {"Type": "AWS::ECS::Service", "Properties": {"TaskDefinition": {"Ref": "WebTaskDefinition"}}},
                "WebTaskDefinition": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
                    "ExecutionRoleArn": {"Fn::GetAtt": ["WebExecutionRole", "Arn"]},
                    "ContainerDefinitions": [{"Image": "nginx", "Secrets": [{"Name": "X", "ValueFrom": from}]}]}},
                "WebExecutionRole": {"Type": "AWS::IAM::Role", "Properties": {
                    "Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": stmts}}]}}
            }))
        };
        let cases = [
            (
                json!({"Ref": "Db"}),
                false,
                vec!["IAM_KMS_DECRYPT_NOT_GRANTED"],
            ),
            (
                json!({"Fn::Sub": "${Db}:password::"}),
                false,
                vec!["IAM_KMS_DECRYPT_NOT_GRANTED"],
            ),
            (
                json!({"Fn::Sub": "${Db}:password:AWSCURRENT:"}),
                false,
                vec!["IAM_KMS_DECRYPT_NOT_GRANTED"],
            ),
            (json!({"Fn::Sub": "${Db}:password::"}), true, vec![]),
            (json!({"Ref": "Db"}), true, vec![]),
            // Not the secret's ARN: another resource's attribute, or text around it.
            (json!({"Fn::Sub": "${Db.Arn}:password::"}), false, vec![]),
            (json!({"Fn::Sub": "prefix-${Db}"}), false, vec![]),
        ];
        for (from, grant, want) in cases {
            let st = stack(from.clone(), grant);
            let got: Vec<_> = check(&st, &st.apps).iter().map(|f| f.code).collect();
            assert_eq!(got, want, "{from} grant={grant}");
        }
    }

    #[test]
    fn repositories_of_images() {
        let cases = [
            (
                "123456789012.dkr.ecr.us-west-2.amazonaws.com/team/users:1",
                Some("arn:*:ecr:us-west-2:123456789012:repository/team/users"),
            ),
            (
                "123456789012.dkr.ecr.us-west-2.amazonaws.com/users@sha256:ab",
                Some("arn:*:ecr:us-west-2:123456789012:repository/users"),
            ),
            (
                "{{AWS::AccountId}}.dkr.ecr.{{AWS::Region}}.amazonaws.com/api:{{Tag}}",
                Some("arn:*:ecr:*:*:repository/api"),
            ),
            (
                "{{AWS::AccountId}}.dkr.ecr.{{AWS::Region}}.amazonaws.com/{{Repo}}:1",
                None,
            ),
            ("public.ecr.aws/nginx/nginx:1.27", None),
            ("nginx:1.27", None),
        ];
        for (image, want) in cases {
            assert_eq!(repository_arn(image).as_deref(), want, "{image}");
        }
        let cases = [
            (
                "arn:aws:ecr:*:*:repository/*",
                "arn:*:ecr:us-west-2:1:repository/api",
                true,
            ),
            (
                "arn:*:ecr:us-west-2:1:repository/api",
                "arn:*:ecr:us-west-2:1:repository/api",
                true,
            ),
            (
                "arn:*:ecr:us-west-2:1:repository/api",
                "arn:*:ecr:us-west-2:1:repository/api-another-repository",
                false,
            ),
        ];
        for (p, arn, want) in cases {
            assert_eq!(matches_arn(p, arn), want, "{p} {arn}");
        }
    }
}
