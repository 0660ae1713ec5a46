//! `TaskDefinition`: run a task definition revision that already exists (seed 004: "a
//! branch-specific service based on a currently deployed task definition") instead of one the
//! App registers from `Image`.
//!
//! ECS takes the service's task definition as `family:revision` or a full ARN; without a
//! revision it runs the latest ACTIVE one.
//! https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html
//! The load balancer entry names a container "as it appears in a container definition" and a
//! port that "must correspond to a containerPort in the task definition the tasks in the service
//! are using": the macro cannot read a revision it does not register, so both are given.
//! https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_LoadBalancer.html

use super::{App, Props};
use crate::reader::{show, Reader, Val};
use serde_json::Value;

/// Properties that describe the task definition the App registers: refused beside
/// `TaskDefinition`, whose revision already fixes them.
pub const OWN_TASK_DEFINITION_KEYS: &[&str] = &[
    "Image",
    "ExtraPorts",
    "Cpu",
    "Memory",
    "Architecture",
    "Command",
    "EntryPoint",
    "Environment",
    "Secrets",
    "SecretsKmsKeys",
    "HealthCheck",
    "LogRetentionDays",
    "TaskPolicies",
    "ExecuteCommand",
    "ServiceConnect",
];

/// A task definition the App runs without registering it.
#[derive(Debug, Clone)]
pub struct GivenTaskDefinition {
    /// `family:revision`, a full ARN, or an intrinsic (a parameter, an import).
    pub arn: Value,
    /// The container the load balancer sends to (`ContainerName`).
    pub container_name: Option<Val<String>>,
}

/// Family names: up to 255 letters, numbers, hyphens and underscores.
/// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RegisterTaskDefinition.html
fn family_ok(f: &str) -> bool {
    !f.is_empty()
        && f.len() <= 255
        && f.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Why a literal `TaskDefinition` is not one ECS accepts, if it is not.
pub fn task_definition_problem(s: &str) -> Option<String> {
    let tail = if let Some(rest) = s.strip_prefix("arn:") {
        // arn:PARTITION:ecs:REGION:ACCOUNT:task-definition/FAMILY:REVISION
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        if parts.len() < 5 || parts[1] != "ecs" {
            return Some(format!("'{s}' is not an ECS task definition ARN (arn:PARTITION:ecs:REGION:ACCOUNT:task-definition/FAMILY:REVISION)"));
        }
        match parts[4].strip_prefix("task-definition/") {
            Some(t) => t,
            None => return Some(format!("'{s}' is an ECS ARN but not of a task definition (its resource starts task-definition/)")),
        }
    } else {
        s
    };
    let (family, revision) = match tail.split_once(':') {
        Some((f, r)) => (f, Some(r)),
        None => (tail, None),
    };
    if !family_ok(family) {
        return Some(format!("'{family}' is not a task definition family (up to 255 letters, digits, hyphens and underscores)"));
    }
    if let Some(r) = revision {
        if r.parse::<u64>().map_or(true, |n| n == 0) {
            return Some(format!(
                "'{r}' is not a revision (a positive whole number, as in {family}:42)"
            ));
        }
    }
    None
}

pub(super) fn read_task_definition(r: &mut Reader, p: &Props) -> Option<GivenTaskDefinition> {
    let v = p.get("TaskDefinition")?;
    let arn = match v {
        Value::String(s) => {
            if let Some(why) = task_definition_problem(s) {
                r.err(&p.path("TaskDefinition"), why);
            }
            v.clone()
        }
        _ if crate::intrinsics::is_intrinsic(v) => v.clone(),
        _ => {
            r.err(
                &p.path("TaskDefinition"),
                format!(
                    "expected family:revision or a task definition ARN, got {}",
                    show(v)
                ),
            );
            return None;
        }
    };
    let container_name = p
        .get("ContainerName")
        .and_then(|c| r.nonempty(&p.path("ContainerName"), c));
    Some(GivenTaskDefinition {
        arn,
        container_name,
    })
}

/// What a given task definition leaves the template to say, and what it makes meaningless.
pub(super) fn check_task_definition(r: &mut Reader, p: &Props, app: &App) {
    let Some(td) = &app.task_definition else {
        if p.get("ContainerName").is_some() {
            r.err(
                &p.path("ContainerName"),
                format!("only with TaskDefinition: the App's own task definition names its container {}", app.id),
            );
        }
        return;
    };
    for key in OWN_TASK_DEFINITION_KEYS {
        if p.get(key).is_some() {
            r.err(
                &p.path(key),
                format!("not with TaskDefinition: the given revision already fixes it (remove {key}, or remove TaskDefinition to register one from Image)"),
            );
        }
    }
    let Some(lb) = &app.load_balancer else { return };
    if td.container_name.is_none() {
        r.err(
            &p.path("ContainerName"),
            "required with TaskDefinition and LoadBalancer: the container of the given revision the load balancer sends to (ECS matches it against the revision's container definitions)",
        );
    }
    if p.get("Port").is_none() {
        r.err(
            &p.path("Port"),
            "required with TaskDefinition and LoadBalancer: the containerPort of the given revision's port mapping that the load balancer sends to",
        );
    }
    if lb.health_check.path.is_none() {
        r.err(
            &p.path("LoadBalancer.HealthCheck.Path"),
            "required with TaskDefinition: the path the given revision's container answers health checks on (the default / is a guess the macro cannot check)",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::task_definition_problem;

    /// CreateService: "The family and revision (family:revision) or full ARN of the task
    /// definition ... If a revision isn't specified, the latest ACTIVE revision is used"; the
    /// RunTask page's example ARN arn:aws:ecs:us-east-1:111122223333:task-definition/TaskFamilyName:2.
    #[test]
    fn task_definition_forms_ecs_accepts() {
        for (s, ok) in [
            (
                "arn:aws:ecs:us-east-1:111122223333:task-definition/TaskFamilyName:2",
                true,
            ),
            (
                "arn:aws-cn:ecs:cn-north-1:111122223333:task-definition/web_app-1:42",
                true,
            ),
            ("web:42", true),
            ("web", true),
            ("arn:aws:ecs:us-east-1:111122223333:service/web", false),
            ("arn:aws:iam::111122223333:role/web", false),
            ("web:latest", false),
            ("web:0", false),
            ("my.family:3", false),
            ("", false),
        ] {
            assert_eq!(
                task_definition_problem(s).is_none(),
                ok,
                "{s}: {:?}",
                task_definition_problem(s)
            );
        }
    }
}
