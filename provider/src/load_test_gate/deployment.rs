//! Waiting until the revision this request was sent for is what the service runs.
//!
//! DescribeServices lists the service's deployments: `status` PRIMARY is the most recent one,
//! ACTIVE an older one whose tasks are still being replaced. For the rolling-update (ECS)
//! deployment controller each carries `rolloutState`: IN_PROGRESS, then COMPLETED once the
//! service is steady, or FAILED when the deployment circuit breaker stopped it (it is not
//! returned for other controllers or behind a Classic Load Balancer).
//! https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Deployment.html

use super::{transient, GateTiming};
use crate::{Clients, ProviderError};
use aws_sdk_ecs::types::{DeploymentRolloutState, Service};
use tokio::time::Instant;

#[derive(Debug, PartialEq)]
pub(super) enum Revision {
    Ready,
    /// Not yet, and why.
    Waiting(String),
    /// Never: the rollout failed, or there is nothing to measure.
    Failed(String),
}

/// `family:revision` of a task definition ARN (or the value itself when it is not an ARN).
fn short(td: &str) -> &str {
    td.rsplit_once("task-definition/").map_or(td, |(_, t)| t)
}

/// The same task definition: equal ARNs, or equal `family:revision` when one side is not an ARN.
fn same(a: Option<&str>, b: &str) -> bool {
    match a {
        Some(a) if a.starts_with("arn:") && b.starts_with("arn:") => a == b,
        Some(a) => short(a) == short(b),
        None => false,
    }
}

/// Where the service stands with respect to the revision `task_definition` (or, without one,
/// its most recent deployment).
pub(super) fn revision(svc: &Service, task_definition: Option<&str>) -> Revision {
    let name = svc.service_name().unwrap_or("?");
    let deployments = svc.deployments();
    let failed = |td: Option<&str>, reason: Option<&str>| {
        Revision::Failed(format!(
            "the deployment of {} to service {name} FAILED: {}",
            short(td.unwrap_or("?")),
            reason.unwrap_or("no reason given")
        ))
    };
    if let Some(ours) = task_definition {
        if let Some(d) = deployments.iter().find(|d| {
            same(d.task_definition(), ours)
                && d.rollout_state() == Some(&DeploymentRolloutState::Failed)
        }) {
            return failed(d.task_definition(), d.rollout_state_reason());
        }
    }
    let Some(primary) = deployments.iter().find(|d| d.status() == Some("PRIMARY")) else {
        return Revision::Waiting("it has no primary deployment".into());
    };
    if let Some(ours) = task_definition {
        if !same(primary.task_definition(), ours) {
            return Revision::Waiting(format!(
                "its primary deployment runs {}",
                short(primary.task_definition().unwrap_or("?"))
            ));
        }
    }
    let (running, desired) = (primary.running_count(), primary.desired_count());
    match primary.rollout_state() {
        Some(DeploymentRolloutState::Failed) => {
            return failed(primary.task_definition(), primary.rollout_state_reason())
        }
        Some(DeploymentRolloutState::Completed) => {}
        Some(other) => {
            return Revision::Waiting(format!(
                "its rollout is {} ({running} of {desired} tasks running)",
                other.as_str()
            ))
        }
        // No rollout state (another deployment controller): its own counts tell.
        None if running != desired => {
            return Revision::Waiting(format!("{running} of {desired} tasks running"))
        }
        None => {}
    }
    let older: i32 = deployments
        .iter()
        .filter(|d| d.status() != Some("PRIMARY"))
        .map(|d| d.running_count())
        .sum();
    if older > 0 {
        // Their answers would be mixed into the new revision's figures.
        return Revision::Waiting(format!(
            "{older} task(s) of older deployments are still running"
        ));
    }
    if desired == 0 {
        return Revision::Failed(format!(
            "service {name} runs no tasks (desired count 0): there is nothing to measure"
        ));
    }
    Revision::Ready
}

/// Polls the service until [`revision`] is ready, or fails when it never will be or `until`
/// passes.
pub(super) async fn wait(
    clients: &Clients,
    cluster: &str,
    service: &str,
    task_definition: Option<&str>,
    until: Instant,
    timing: &GateTiming,
) -> Result<(), ProviderError> {
    loop {
        let read = clients
            .ecs
            .describe_services()
            .cluster(cluster)
            .services(service)
            .send()
            .await;
        let why = match read {
            // Throttled past the SDK's retries: poll again rather than fail the deployment.
            Err(e) if transient(&e) => {
                format!("DescribeServices failed: {}", crate::error::sdk_message(&e))
            }
            Err(e) => return Err(ProviderError::sdk("DescribeServices", &e)),
            Ok(out) => {
                let svc = out.services().first().ok_or_else(|| {
                    ProviderError::bad(
                        "ServiceName",
                        format!("service {service} not found in cluster {cluster}"),
                    )
                })?;
                match revision(svc, task_definition) {
                    Revision::Ready => return Ok(()),
                    Revision::Failed(why) => return Err(ProviderError::Exhausted(why)),
                    Revision::Waiting(why) => why,
                }
            }
        };
        if Instant::now() + timing.steady_poll >= until {
            let what = task_definition.map_or(String::new(), |t| format!(" {}", short(t)));
            return Err(ProviderError::Exhausted(format!(
                "service {service} did not finish deploying{what} in time: {why}"
            )));
        }
        tracing::info!(service, reason = %why, "waiting for the deployment");
        tokio::time::sleep(timing.steady_poll).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_definitions_compare_by_arn_or_family_revision() {
        let arn = "arn:aws:ecs:us-east-1:1:task-definition/users:7";
        assert!(same(Some(arn), arn));
        assert!(same(Some(arn), "users:7"));
        assert!(!same(Some(arn), "users:70"));
        assert!(!same(
            Some(arn),
            "arn:aws:ecs:eu-west-1:1:task-definition/users:7"
        ));
        assert!(!same(None, arn));
    }

    fn svc(rollout: Option<DeploymentRolloutState>, running: i32, desired: i32) -> Service {
        Service::builder()
            .service_name("users")
            .deployments(
                aws_sdk_ecs::types::Deployment::builder()
                    .status("PRIMARY")
                    .task_definition("arn:aws:ecs:us-east-1:1:task-definition/users:7")
                    .set_rollout_state(rollout)
                    .running_count(running)
                    .desired_count(desired)
                    .build(),
            )
            .build()
    }

    #[test]
    fn without_a_rollout_state_the_counts_decide() {
        assert_eq!(
            revision(&svc(None, 1, 2), Some("users:7")),
            Revision::Waiting("1 of 2 tasks running".into())
        );
        assert_eq!(revision(&svc(None, 2, 2), Some("users:7")), Revision::Ready);
    }

    #[test]
    fn without_a_task_definition_the_primary_deployment_is_measured() {
        let done = svc(Some(DeploymentRolloutState::Completed), 2, 2);
        assert_eq!(revision(&done, None), Revision::Ready);
        let rolling = svc(Some(DeploymentRolloutState::InProgress), 1, 2);
        assert_eq!(
            revision(&rolling, None),
            Revision::Waiting("its rollout is IN_PROGRESS (1 of 2 tasks running)".into())
        );
    }

    #[test]
    fn a_service_without_tasks_has_nothing_to_measure() {
        let empty = svc(Some(DeploymentRolloutState::Completed), 0, 0);
        assert_eq!(
            revision(&empty, Some("users:7")),
            Revision::Failed(
                "service users runs no tasks (desired count 0): there is nothing to measure".into()
            )
        );
    }
}
