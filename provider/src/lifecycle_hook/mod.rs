//! ECS deployment lifecycle hooks: the load-test gate before production traffic moves.
//!
//! ECS invokes this Lambda at the stages a service's `DeploymentConfiguration.LifecycleHooks`
//! names and expects `{"hookStatus", "callBackDelay"?, "hookDetails"?}` back; `IN_PROGRESS`
//! makes ECS invoke again after `callBackDelay` seconds (30 by default), `FAILED` (or no valid
//! answer) rolls the deployment back. Payload and answer:
//! <https://docs.aws.amazon.com/AmazonECS/latest/developerguide/lambda-lifecycle-hooks.html>.
//!
//! At a gate stage (`POST_TEST_TRAFFIC_SHIFT` unless `Stages` says otherwise) the hook load-tests
//! the test route (green revision only) in slices that fit one invocation each. The run's state
//! lives in one DynamoDB item per (target service revision, stage), written only with
//! conditional writes, so a repeated, concurrent or late invocation never starts a second run
//! and never answers differently from the first final answer. `hookDetails` returned with
//! `IN_PROGRESS` carry only a progress summary: an answer ECS never received (a timed-out
//! invocation) would lose state kept there, the item keeps it.

mod answer;
mod event;
mod settings;
mod slices;
mod store;

pub use answer::{HookAnswer, HookStatus};
pub use event::{is_hook_event, is_rollback, record_key, ExecutionDetails, HookEvent};
pub use settings::{GateSettings, HookSettings, HOOK_KEYS};
pub use store::{writer_token, HookStore, Record, RunState};

use crate::Clients;
use answer::log_answer;
use serde_json::Value;
use settings::gate_stages;
use slices::gate;
use tokio::time::Instant;

/// Key of the gate's settings in the hook's `HookDetails` (written by the macro).
pub const SETTINGS_KEY: &str = "FargateAppLoadTest";
/// Key of the progress summary this hook returns with `IN_PROGRESS`.
pub const PROGRESS_KEY: &str = "FargateAppLoadTestProgress";
/// Key of the time (Unix seconds) since which every invocation met a store error, returned
/// with `IN_PROGRESS` while the store fails.
pub const STORE_ERRORS_KEY: &str = "FargateAppLoadTestStoreErrorsSince";
/// How long store errors may last before the gate gives up with FAILED: the SDK already retries
/// throttling with backoff inside each call, so errors across invocations for this long are an
/// outage, not a throttle, and the hook must not wait for its own timeout (24 h by default).
pub const STORE_ERROR_WINDOW: std::time::Duration = std::time::Duration::from_secs(15 * 60);
pub const DEFAULT_GATE_STAGE: &str = "POST_TEST_TRAFFIC_SHIFT";
/// Environment variable naming the state table; default `<function name>-hooks`.
pub const TABLE_ENV: &str = "FARGATE_HOOK_TABLE";

/// Handles one hook event from the Lambda entry point, with the state table from the
/// environment (built once per Lambda instance).
pub async fn handle_event(clients: &Clients, event: &Value, deadline: Instant) -> Value {
    let store = env_store().await;
    let ev = match serde_json::from_value::<HookEvent>(event.clone()) {
        Ok(ev) => ev,
        Err(e) => {
            let a = HookAnswer::done(
                HookStatus::Failed,
                format!("malformed lifecycle hook event: {e}"),
            );
            log_answer(None, &a);
            return a.to_value();
        }
    };
    handle(clients, store, &ev, deadline).await.to_value()
}

/// The state table from the environment, built once per Lambda instance (the hook's runs and the
/// custom-resource gate's once-per-request records share it).
pub async fn env_store() -> Option<&'static HookStore> {
    static STORE: tokio::sync::OnceCell<Option<HookStore>> = tokio::sync::OnceCell::const_new();
    STORE
        .get_or_init(|| async {
            let conf = aws_config::load_from_env().await;
            HookStore::from_env(&conf)
        })
        .await
        .as_ref()
}

/// Answers one hook invocation. Never errors: anything unexpected at a gate stage is FAILED
/// (ECS rolls back), anything at another stage is SUCCEEDED.
pub async fn handle(
    clients: &Clients,
    store: Option<&HookStore>,
    ev: &HookEvent,
    deadline: Instant,
) -> HookAnswer {
    // ECS counts an invocation that errors or times out as FAILED and rolls the deployment
    // back (lambda-lifecycle-hooks.html, above): whatever hangs (a store, an ECS read), the
    // invocation answers before its deadline, IN_PROGRESS with the run's details so the next
    // invocation carries on.
    let by = crate::respond::answer_by(deadline);
    let a = match tokio::time::timeout_at(by, answer(clients, store, ev, by)).await {
        Ok(a) => a,
        Err(_) => answer::unfinished(
            ev,
            "the invocation's deadline came first; the next invocation carries on".into(),
        ),
    };
    log_answer(Some(ev), &a);
    a
}

async fn answer(
    clients: &Clients,
    store: Option<&HookStore>,
    ev: &HookEvent,
    deadline: Instant,
) -> HookAnswer {
    let stage = ev.lifecycle_stage.as_str();
    if is_rollback(stage, &ev.execution_details) {
        return HookAnswer::done(
            HookStatus::Succeeded,
            format!("{stage} during a rollback: always succeeds"),
        );
    }
    let settings = GateSettings::from_hook_details(ev.hook_details.as_ref());
    let gate_stages = settings
        .as_ref()
        .map(|s| s.stages.clone())
        .unwrap_or_else(|_| gate_stages());
    if !gate_stages.iter().any(|s| s == stage) {
        return HookAnswer::done(
            HookStatus::Succeeded,
            format!(
                "no load test at {stage} (the gate runs at {}); nothing to check",
                gate_stages.join(", ")
            ),
        );
    }
    let settings = match settings {
        Ok(s) => s,
        Err(e) => return HookAnswer::done(HookStatus::Failed, e.to_string()),
    };
    match deployment_rolling_back(clients, ev).await {
        Ok(Some(why)) => return HookAnswer::done(HookStatus::Succeeded, why),
        Ok(None) => {}
        Err(why) => {
            let mut a = answer::unfinished(ev, why);
            a.call_back_delay = Some(settings.call_back_delay.max(1));
            return a;
        }
    }
    match stack_rolling_back(clients, settings.stack_id.as_deref()).await {
        Ok(Some(why)) => return HookAnswer::done(HookStatus::Succeeded, why),
        Ok(None) => {}
        Err(why) => {
            let mut a = answer::unfinished(ev, why);
            a.call_back_delay = Some(settings.call_back_delay.max(1));
            return a;
        }
    }
    let Some(store) = store else {
        return HookAnswer::done(
            HookStatus::Failed,
            format!("no state table for the load-test gate: set {TABLE_ENV} or AWS_LAMBDA_FUNCTION_NAME"),
        );
    };
    // Throttling and server errors are retried here, with backoff, while a slice still fits
    // (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html#Programming.Errors.RetryAndBackoff):
    // a throttled call must not hide a missing table or a denied call behind IN_PROGRESS, and
    // one throttled write should not cost a whole callback delay. The gate is safe to call
    // again: its writes are conditional and a failed one gives the lease back.
    let mut wait = std::time::Duration::from_millis(200);
    let slice_room = std::time::Duration::from_secs(settings.warm_up + 15);
    let result = loop {
        match gate(clients, store, ev, &settings, deadline).await {
            Err(e)
                if !store::is_configuration_error(&e)
                    && deadline.saturating_duration_since(Instant::now() + wait) >= slice_room
                    && wait <= std::time::Duration::from_secs(2) =>
            {
                tracing::info!(error = %e, "state table call failed; calling again");
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
            r => break r,
        }
    };
    match result {
        Ok(a) => a,
        // A missing table or a denied call stays so: FAILED now, with the reason, rather than
        // IN_PROGRESS until the hook's timeout. Throttling and server errors pass: call again.
        Err(e) if store::is_configuration_error(&e) => HookAnswer::done(
            HookStatus::Failed,
            format!("state table {}: {e}", store.table),
        ),
        Err(e) => {
            let now = store::now_ms() / 1000;
            let since = ev
                .hook_details
                .as_ref()
                .and_then(|d| d.get(STORE_ERRORS_KEY))
                .and_then(Value::as_u64)
                .filter(|s| *s <= now)
                .unwrap_or(now);
            if now - since >= STORE_ERROR_WINDOW.as_secs() {
                return HookAnswer::done(
                    HookStatus::Failed,
                    format!(
                        "state table {} unavailable for {} s: {e}",
                        store.table,
                        now - since
                    ),
                );
            }
            let mut a = answer::unfinished(ev, format!("state table unavailable, retrying: {e}"));
            a.call_back_delay = Some(settings.call_back_delay.max(1));
            if let Some(Value::Object(m)) = a.hook_details.as_mut() {
                m.insert(STORE_ERRORS_KEY.into(), since.into());
            }
            a
        }
    }
}

/// Whether the service's stack is rolling back: CloudFormation then updates the service back to
/// the previous task definition, a deployment that runs the hooks like any other, and the gate
/// must not fail the way back. Stack statuses:
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-describing-stacks.html
/// Throttling and server errors are read again with backoff; if they last, `Err` (the caller
/// answers IN_PROGRESS rather than run the load during a rollback). A status that can never be
/// read (a denial) does not exempt the deployment: the gate runs.
async fn stack_rolling_back(
    clients: &Clients,
    stack_id: Option<&str>,
) -> Result<Option<String>, String> {
    use crate::error::Bounded;
    use crate::load_test_gate::stack_status::{rolling_back, status};
    use crate::load_test_gate::transient;
    let Some(stack_id) = stack_id.filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let read = read_again("the stack status", || async {
        status(clients, stack_id)
            .bounded()
            .await
            .map_err(|e| (transient(&e), crate::error::sdk_message(&e)))
    })
    .await?;
    match read {
        Ok(now) => Ok(rolling_back(&now)
            .then(|| format!("the stack is rolling back ({now}): no load test on the way back"))),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the stack status; the gate runs");
            Ok(None)
        }
    }
}

/// Reads `what` with `read`, again after throttling and server errors (`Err((true, _))`),
/// waiting 0.2, 0.4, 0.8 and 1.6 s
/// (https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html: retry
/// transient errors with exponential backoff). `Err`: they lasted (the caller answers
/// IN_PROGRESS). `Ok(Err)`: an error that will not change (a denial): the caller decides.
async fn read_again<T, F, Fut>(what: &str, mut read: F) -> Result<Result<T, String>, String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, (bool, String)>>,
{
    let mut wait = std::time::Duration::from_millis(200);
    loop {
        match read().await {
            Ok(v) => return Ok(Ok(v)),
            Err((true, e)) if wait <= std::time::Duration::from_secs(2) => {
                tracing::info!(error = %e, "reading {what} failed; reading again");
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
            Err((true, e)) => return Err(format!("cannot read {what} yet ({e}); the gate waits")),
            Err((false, e)) => return Ok(Err(e)),
        }
    }
}

/// Whether ECS is already rolling back or stopping this deployment (a late IN_PROGRESS
/// re-invocation, or an alarm that fired meanwhile): then the gate has nothing to protect.
/// The deployment is the event's `resourceArn`; when the payload leaves it out, the service's
/// deployments in a rollback or stop state are listed instead (ListServiceDeployments takes a
/// status filter:
/// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListServiceDeployments.html).
/// Throttling and server errors are read again with backoff; if they last, `Err` (the caller
/// answers IN_PROGRESS: running the load during a rollback is what must not happen). A read
/// that can never succeed (a denial) does not stop the gate.
async fn deployment_rolling_back(
    clients: &Clients,
    ev: &HookEvent,
) -> Result<Option<String>, String> {
    let stopping = |s: &str| s.starts_with("ROLLBACK") || s.starts_with("STOP");
    let status = match read_again("the service deployment", || {
        read_deployment_status(clients, ev)
    })
    .await?
    {
        Ok(status) => status,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the service deployment; the gate runs");
            None
        }
    };
    Ok(status
        .filter(|s| stopping(s))
        .map(|s| format!("the service deployment is {s}: no load test")))
}

/// The status of the event's deployment (`None`: not known, and not knowable), or the error
/// with whether it is worth reading again.
async fn read_deployment_status(
    clients: &Clients,
    ev: &HookEvent,
) -> Result<Option<String>, (bool, String)> {
    use crate::error::Bounded;
    use crate::load_test_gate::transient;
    let err = |t: bool, e: String| (t, e);
    match ev
        .resource_arn
        .as_deref()
        .filter(|a| a.contains(":service-deployment/"))
    {
        Some(arn) => clients
            .ecs
            .describe_service_deployments()
            .service_deployment_arns(arn)
            .send()
            .bounded()
            .await
            .map(|out| {
                out.service_deployments()
                    .first()
                    .and_then(|d| d.status())
                    .map(|s| s.as_str().to_string())
            })
            .map_err(|e| err(transient(&e), crate::error::sdk_message(&e))),
        None => {
            use aws_sdk_ecs::types::ServiceDeploymentStatus as S;
            let service = ev.execution_details.service_arn.as_str();
            // arn:aws:ecs:REGION:ACCOUNT:service/CLUSTER/NAME
            let cluster = service.split('/').nth(1).unwrap_or_default();
            clients
                .ecs
                .list_service_deployments()
                .service(service)
                .cluster(cluster)
                .set_status(Some(vec![
                    S::RollbackRequested,
                    S::RollbackInProgress,
                    S::StopRequested,
                ]))
                .send()
                .bounded()
                .await
                .map(|out| {
                    out.service_deployments()
                        .iter()
                        .filter_map(|d| d.status())
                        .map(|s| s.as_str().to_string())
                        .next()
                })
                .map_err(|e| err(transient(&e), crate::error::sdk_message(&e)))
        }
    }
}
