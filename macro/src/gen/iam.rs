//! The task execution role (pull the image, write logs, read exactly the declared secrets) and
//! the task role (what the app itself may do).

use super::{tag_list, Ids, Out};
use crate::intrinsics::sub;
use crate::reader::Val;
use crate::spec::{App, SecretKind};
use serde_json::{json, Value};

fn assume_role_by_ecs_tasks() -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Service": "ecs-tasks.amazonaws.com" },
            "Action": "sts:AssumeRole",
            "Condition": {
                "ArnLike": { "aws:SourceArn": sub("arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:*") },
                "StringEquals": { "aws:SourceAccount": { "Ref": "AWS::AccountId" } }
            }
        }]
    })
}

/// The repository of a literal private ECR image URI
/// (`ACCOUNT.dkr.ecr.REGION.amazonaws.com[.cn]/REPO[:TAG|@DIGEST]`): (account, region, repo).
pub fn ecr_repository(image: &str) -> Option<(&str, &str, &str)> {
    let (host, rest) = image.split_once('/')?;
    let mut labels = host.split('.');
    let account = labels.next()?;
    let (dkr, ecr, region) = (labels.next()?, labels.next()?, labels.next()?);
    if dkr != "dkr"
        || ecr != "ecr"
        || account.len() != 12
        || !account.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let repo = rest.split('@').next()?;
    let repo = match repo.rsplit_once('/') {
        Some((dir, last)) => &repo[..dir.len() + 1 + last.split(':').next()?.len()],
        None => repo.split(':').next()?,
    };
    Some((account, region, repo))
}

/// The repository ARN of an image given as `Fn::Sub` of a private ECR URI whose repository
/// name is literal (`${AWS::AccountId}.dkr.ecr.${AWS::Region}.amazonaws.com/users:${Tag}`):
/// account and region stay substitutions, the tag or digest is dropped. An ECR repository's
/// ARN is `arn:PARTITION:ecr:REGION:ACCOUNT:repository/NAME`:
/// https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerregistry.html
pub fn ecr_repository_sub(v: &Value) -> Option<Value> {
    let body = v.as_object().filter(|m| m.len() == 1)?.get("Fn::Sub")?;
    let (text, vars) = match body {
        Value::String(t) => (t.as_str(), None),
        Value::Array(a) if a.len() == 2 => (a[0].as_str()?, a[1].as_object()),
        _ => return None,
    };
    let (host, rest) = text.split_once('/')?;
    let name_end = rest.rfind('/').map_or(0, |i| i + 1);
    let repo_len = name_end
        + rest[name_end..]
            .find([':', '@'])
            .unwrap_or(rest.len() - name_end);
    let repo = &rest[..repo_len];
    let (account, tail) = host.split_once(".dkr.ecr.")?;
    let region = tail
        .strip_suffix(".amazonaws.com")
        .or_else(|| tail.strip_suffix(".amazonaws.com.cn"))?;
    let plain = |s: &str| !s.is_empty() && !s.contains(['.', '/']);
    if repo.is_empty() || repo.contains('$') || !plain(account) || !plain(region) {
        return None;
    }
    let arn = format!("arn:${{AWS::Partition}}:ecr:{region}:{account}:repository/{repo}");
    let used: serde_json::Map<String, Value> = vars
        .into_iter()
        .flatten()
        .filter(|(k, _)| arn.contains(&format!("${{{k}}}")))
        .map(|(k, x)| (k.clone(), x.clone()))
        .collect();
    Some(if used.is_empty() {
        json!({ "Fn::Sub": arn })
    } else {
        json!({ "Fn::Sub": [arn, used] })
    })
}

/// What the execution role needs to start the task: write to the App's log group, and pull the
/// image from its ECR repository (`ecr:GetAuthorizationToken` has no resource type: `*`).
fn pull_and_log_statements(app: &App) -> Vec<Value> {
    let log_group = Ids(&app.id).of("LogGroup");
    let mut statements = vec![json!({
        "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": [
            crate::intrinsics::get_att(&log_group, "Arn"),
            sub(&format!("arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:${{{log_group}}}")),
        ],
    })];
    let repository = match &app.image {
        // A public image (Docker Hub, public.ecr.aws) needs no permission.
        Val::Lit(image) => ecr_repository(image).map(|(account, region, repo)| {
            sub(&format!(
                "arn:${{AWS::Partition}}:ecr:{region}:{account}:repository/{repo}"
            ))
        }),
        // A `!Sub` whose repository name is literal names that repository; otherwise it is
        // known at deploy time only: any repository the stack's partition can name.
        Val::Expr(v) => Some(
            ecr_repository_sub(v)
                .unwrap_or_else(|| sub("arn:${AWS::Partition}:ecr:*:*:repository/*")),
        ),
    };
    if let Some(repo) = repository {
        statements.push(
            json!({ "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*" }),
        );
        statements.push(json!({
            "Effect": "Allow",
            "Action": ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
            "Resource": repo,
        }));
    }
    statements
}

pub fn generate(app: &App, out: &mut Out) {
    if app.task_definition.is_some() {
        return; // the given revision names its own execution and task roles
    }
    let ids = Ids(&app.id);
    let mut exec_policies = Vec::new();
    if !app.secrets.is_empty() {
        let resources = |kind: SecretKind| -> Vec<Value> {
            let mut v: Vec<Value> = Vec::new();
            for s in app
                .secrets
                .iter()
                .filter(|s| s.kind == kind || s.kind == SecretKind::Unknown)
            {
                if !v.contains(&s.resource) {
                    v.push(s.resource.clone());
                }
            }
            v
        };
        let mut statements = Vec::new();
        let ssm = resources(SecretKind::Ssm);
        if app
            .secrets
            .iter()
            .any(|s| s.kind != SecretKind::SecretsManager)
        {
            statements
                .push(json!({ "Effect": "Allow", "Action": "ssm:GetParameters", "Resource": ssm }));
        }
        let sm = resources(SecretKind::SecretsManager);
        if app.secrets.iter().any(|s| s.kind != SecretKind::Ssm) {
            statements.push(json!({ "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": sm }));
        }
        if let Some(keys) = &app.secrets_kms_keys {
            // https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html
            statements
                .push(json!({ "Effect": "Allow", "Action": "kms:Decrypt", "Resource": keys }));
        }
        exec_policies.push(json!({
            "PolicyName": "read-declared-secrets",
            "PolicyDocument": { "Version": "2012-10-17", "Statement": statements }
        }));
    }
    exec_policies.insert(0, json!({
        "PolicyName": "pull-image-and-write-logs",
        "PolicyDocument": { "Version": "2012-10-17", "Statement": pull_and_log_statements(app) },
    }));
    out.add(
        ids.of("ExecutionRole"),
        "AWS::IAM::Role",
        json!({
            "AssumeRolePolicyDocument": assume_role_by_ecs_tasks(),
            "Policies": exec_policies,
            "Tags": tag_list(app),
        }),
    );

    let mut task_statements = app.task_policies.clone();
    if app.execute_command != Val::Lit(false) {
        let exec = json!({
            "Effect": "Allow",
            "Action": ["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"],
            "Resource": "*"
        });
        // With an intrinsic the switch is known only at deploy time; the channels are
        // granted so that turning it on needs no role change.
        task_statements.push(exec);
    }
    let policies = if task_statements.is_empty() {
        Value::Null
    } else {
        json!([{ "PolicyName": "app", "PolicyDocument": { "Version": "2012-10-17", "Statement": task_statements } }])
    };
    out.add(
        ids.of("TaskRole"),
        "AWS::IAM::Role",
        json!({
            "AssumeRolePolicyDocument": assume_role_by_ecs_tasks(),
            "Policies": policies,
            "Tags": tag_list(app),
        }),
    );
}

#[cfg(test)]
mod tests {
    use super::ecr_repository_sub;
    use serde_json::json;

    /// The repository ARN of a `!Sub` private ECR image URI, when its name is literal.
    /// https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerregistry.html
    #[test]
    fn a_sub_image_names_its_repository_when_the_name_is_literal() {
        let pseudo = "arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/";
        for (image, arn) in [
            (
                json!({ "Fn::Sub": "${AWS::AccountId}.dkr.ecr.${AWS::Region}.amazonaws.com/app:${Tag}" }),
                Some(json!({ "Fn::Sub": format!("{pseudo}app") })),
            ),
            (
                json!({ "Fn::Sub": "${AWS::AccountId}.dkr.ecr.${AWS::Region}.amazonaws.com/team/app@${Digest}" }),
                Some(json!({ "Fn::Sub": format!("{pseudo}team/app") })),
            ),
            (
                json!({ "Fn::Sub": "${AWS::AccountId}.dkr.ecr.${AWS::Region}.amazonaws.com.cn/app" }),
                Some(json!({ "Fn::Sub": format!("{pseudo}app") })),
            ),
            (
                json!({ "Fn::Sub": ["${A}.dkr.ecr.eu-west-1.amazonaws.com/app:${T}", { "A": { "Ref": "Acct" }, "T": "x" }] }),
                Some(
                    json!({ "Fn::Sub": ["arn:${AWS::Partition}:ecr:eu-west-1:${A}:repository/app", { "A": { "Ref": "Acct" } }] }),
                ),
            ),
            // The repository is itself a substitution, or the registry is not ECR.
            (
                json!({ "Fn::Sub": "${AWS::AccountId}.dkr.ecr.${AWS::Region}.amazonaws.com/${Repo}:1" }),
                None,
            ),
            (json!({ "Fn::Sub": "ghcr.io/org/app:${Tag}" }), None),
            (json!({ "Ref": "Image" }), None),
        ] {
            assert_eq!(ecr_repository_sub(&image), arn, "{image}");
        }
    }
}
