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

pub fn generate(app: &App, out: &mut Out) {
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
        exec_policies.push(json!({
            "PolicyName": "read-declared-secrets",
            "PolicyDocument": { "Version": "2012-10-17", "Statement": statements }
        }));
    }
    out.add(ids.of("ExecutionRole"), "AWS::IAM::Role", json!({
        "AssumeRolePolicyDocument": assume_role_by_ecs_tasks(),
        "ManagedPolicyArns": [sub("arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy")],
        "Policies": if exec_policies.is_empty() { Value::Null } else { Value::Array(exec_policies) },
        "Tags": tag_list(app),
    }));

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
