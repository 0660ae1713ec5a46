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

use crate::{Clients, ProviderError};
use aws_sdk_dynamodb::types::AttributeValue;
use fargate_loadtest::{judge, Report, Thresholds};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

/// Key of the gate's settings in the hook's `HookDetails` (written by the macro).
pub const SETTINGS_KEY: &str = "FargateAppLoadTest";
/// Key of the progress summary this hook returns with `IN_PROGRESS`.
pub const PROGRESS_KEY: &str = "FargateAppLoadTestProgress";
pub const DEFAULT_GATE_STAGE: &str = "POST_TEST_TRAFFIC_SHIFT";
/// Environment variable naming the state table; default `<function name>-hooks`.
pub const TABLE_ENV: &str = "FARGATE_HOOK_TABLE";
/// Time kept after a slice for merging, writing the record and answering.
const AFTER_SLICE: Duration = Duration::from_secs(10);
/// Items expire (DynamoDB TTL) this long after their last write.
const RECORD_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// One ECS lifecycle-hook invocation, as the developer guide's "Lifecycle payloads" shows it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HookEvent {
    pub execution_id: String,
    pub lifecycle_stage: String,
    #[serde(default)]
    pub resource_arn: Option<String>,
    pub execution_details: ExecutionDetails,
    /// An object; CloudFormation takes `HookDetails` as "a JSON object as a string", so a string
    /// holding a JSON object is read as that object.
    #[serde(default, deserialize_with = "details_object")]
    pub hook_details: Option<Value>,
}

fn details_object<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::String(text)) => match serde_json::from_str::<Value>(&text) {
            Ok(v @ Value::Object(_)) => Some(v),
            _ => Some(Value::String(text)),
        },
        other => other,
    })
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionDetails {
    pub service_arn: String,
    pub target_service_revision_arn: String,
    #[serde(default)]
    pub test_traffic_weights: HashMap<String, f64>,
    #[serde(default)]
    pub production_traffic_weights: HashMap<String, f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HookStatus {
    Succeeded,
    Failed,
    InProgress,
}

impl HookStatus {
    fn as_str(self) -> &'static str {
        match self {
            HookStatus::Succeeded => "SUCCEEDED",
            HookStatus::Failed => "FAILED",
            HookStatus::InProgress => "IN_PROGRESS",
        }
    }
}

/// What the function returns to ECS, plus the reason (logged, not sent).
#[derive(Debug, Clone, PartialEq)]
pub struct HookAnswer {
    pub status: HookStatus,
    pub call_back_delay: Option<u64>,
    pub hook_details: Option<Value>,
    pub reason: String,
}

impl HookAnswer {
    fn done(status: HookStatus, reason: impl Into<String>) -> Self {
        HookAnswer {
            status,
            call_back_delay: None,
            hook_details: None,
            reason: reason.into(),
        }
    }
    /// The JSON ECS reads: only the documented fields.
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("hookStatus".into(), json!(self.status.as_str()));
        if let Some(d) = self.call_back_delay {
            m.insert("callBackDelay".into(), json!(d));
        }
        if let Some(h) = &self.hook_details {
            m.insert("hookDetails".into(), h.clone());
        }
        Value::Object(m)
    }
}

/// A hook invocation is recognised by the two fields every ECS hook payload has.
pub fn is_hook_event(event: &Value) -> bool {
    event.get("lifecycleStage").is_some() && event.get("executionDetails").is_some()
}

/// The gate's settings: `HookDetails.FargateAppLoadTest`, the contract with the macro.
/// Numbers may be JSON numbers or numeric strings (CloudFormation often stringifies).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct GateSettings {
    /// URL of the test route (the green revision only).
    pub url: String,
    #[serde(default = "get")]
    pub method: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Host header to send (a test route matched by host name behind the ALB's DNS name).
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default = "ok200", deserialize_with = "number")]
    pub expected_status: u16,
    #[serde(default = "five_s", deserialize_with = "number")]
    pub timeout_ms: u64,
    #[serde(default, deserialize_with = "opt_number")]
    pub rate: Option<f64>,
    #[serde(default, deserialize_with = "opt_number")]
    pub concurrency: Option<usize>,
    /// Seconds of measured load in all.
    #[serde(deserialize_with = "number")]
    pub duration: u64,
    /// Seconds to wait for the expected status before measuring.
    #[serde(default = "sixty", deserialize_with = "number")]
    pub warm_up: u64,
    #[serde(default, deserialize_with = "thresholds")]
    pub thresholds: Thresholds,
    /// Most seconds of load per invocation (the rest continues after IN_PROGRESS).
    #[serde(default, deserialize_with = "opt_number")]
    pub slice_seconds: Option<u64>,
    /// Seconds ECS waits between slices.
    #[serde(default = "five", deserialize_with = "number")]
    pub call_back_delay: u64,
    /// Stages at which the gate runs.
    #[serde(default = "gate_stages")]
    pub stages: Vec<String>,
}

fn get() -> String {
    "GET".into()
}
fn ok200() -> u16 {
    200
}
fn five_s() -> u64 {
    5000
}
fn sixty() -> u64 {
    60
}
fn five() -> u64 {
    5
}
fn gate_stages() -> Vec<String> {
    vec![DEFAULT_GATE_STAGE.into()]
}

fn number<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr + serde::de::DeserializeOwned,
{
    match Value::deserialize(d)? {
        Value::String(s) => s
            .trim()
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("'{s}' is not a number"))),
        v => T::deserialize(v).map_err(serde::de::Error::custom),
    }
}

fn opt_number<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr + serde::de::DeserializeOwned,
{
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(v) => number(v).map(Some).map_err(serde::de::Error::custom),
    }
}

/// `Thresholds` whose values are numbers or numeric strings (a parameter the macro could not
/// write bare), read with `number` like every other numeric setting.
fn thresholds<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Thresholds, D::Error> {
    let mut m = match Value::deserialize(d)? {
        Value::Null => return Ok(Thresholds::default()),
        Value::Object(m) => m,
        other => return Thresholds::deserialize(other).map_err(serde::de::Error::custom),
    };
    for (k, v) in m.iter_mut().filter(|(_, v)| v.is_string()) {
        let n: f64 = number(v.take()).map_err(|e: serde_json::Error| {
            serde::de::Error::custom(format!("Thresholds.{k}: {e}"))
        })?;
        *v = json!(n);
    }
    Thresholds::deserialize(Value::Object(m)).map_err(serde::de::Error::custom)
}

impl GateSettings {
    /// Reads and checks the settings; errors name the property.
    pub fn from_hook_details(details: Option<&Value>) -> Result<GateSettings, ProviderError> {
        let raw = details.and_then(|d| d.get(SETTINGS_KEY)).ok_or_else(|| {
            ProviderError::bad(
                "HookDetails",
                format!("{SETTINGS_KEY} is missing: the hook has no load-test settings"),
            )
        })?;
        let mut s: GateSettings = serde_json::from_value(raw.clone())
            .map_err(|e| ProviderError::bad("HookDetails", format!("{SETTINGS_KEY}: {e}")))?;
        // No thresholds given still protects (errors at most 1%, 95% of the asked completed).
        s.thresholds = s.thresholds.with_defaults();
        if s.rate.is_none() && s.concurrency.is_none() {
            return Err(ProviderError::bad(
                "HookDetails",
                format!("{SETTINGS_KEY}: give Rate or Concurrency"),
            ));
        }
        if s.duration == 0 {
            return Err(ProviderError::bad(
                "HookDetails",
                format!("{SETTINGS_KEY}.Duration: must be at least 1 second"),
            ));
        }
        if s.slice_seconds == Some(0) {
            return Err(ProviderError::bad(
                "HookDetails",
                format!("{SETTINGS_KEY}.SliceSeconds: must be at least 1 second"),
            ));
        }
        Ok(s)
    }

    fn spec(&self, slice: Duration, warm_up: Duration) -> crate::load_test_gate::RunSpec {
        let headers: Vec<(String, String)> = self
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        // `Host` is presented the gate's way (SNI and Host while connecting to `Url`'s address).
        crate::load_test_gate::RunSpec {
            url: self.url.clone(),
            method: self.method.clone(),
            headers,
            body: self.body.clone(),
            expected_status: self.expected_status,
            timeout_ms: self.timeout_ms,
            rate: self.rate,
            concurrency: self.concurrency,
            duration_ms: slice.as_millis() as u64,
            warm_up_ms: warm_up.as_millis() as u64,
            host: self.host.clone(),
        }
    }
}

/// Is this invocation part of a rollback? The guide: ECS has no rollback stage; it re-invokes
/// the `TEST_TRAFFIC_SHIFT` and `PRODUCTION_TRAFFIC_SHIFT` hooks with the target (green)
/// revision at weight 0 and another at 100. (`PRE_PRODUCTION_TRAFFIC_SHIFT` shows the same
/// weights on the way forward, so only those two stages count.)
pub fn is_rollback(stage: &str, details: &ExecutionDetails) -> bool {
    let weights = match stage {
        "PRODUCTION_TRAFFIC_SHIFT" => &details.production_traffic_weights,
        "TEST_TRAFFIC_SHIFT" => &details.test_traffic_weights,
        _ => return false,
    };
    let green = &details.target_service_revision_arn;
    weights.get(green) == Some(&0.0) && weights.iter().any(|(k, v)| k != green && *v >= 100.0)
}

/// The durable record of one gate run, in DynamoDB.
#[derive(Debug, Clone)]
pub struct HookStore {
    pub ddb: aws_sdk_dynamodb::Client,
    pub table: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub status: String,
    pub slices: u64,
    pub measured_ms: u64,
    pub report: Option<String>,
    pub lease_owner: Option<String>,
    pub lease_until_ms: Option<u64>,
    pub reason: Option<String>,
}

const RUNNING: &str = "RUNNING";

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64
}

fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}
fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

impl HookStore {
    /// The table from [`TABLE_ENV`], or `<function name>-hooks` (cfn/provider.yaml's name).
    pub fn from_env(conf: &aws_config::SdkConfig) -> Option<HookStore> {
        let table = std::env::var(TABLE_ENV).ok().or_else(|| {
            std::env::var("AWS_LAMBDA_FUNCTION_NAME")
                .ok()
                .map(|f| format!("{f}-hooks"))
        })?;
        Some(HookStore {
            ddb: aws_sdk_dynamodb::Client::new(conf),
            table,
        })
    }

    pub async fn load(&self, key: &str) -> Result<Option<Record>, ProviderError> {
        let out = self
            .ddb
            .get_item()
            .table_name(&self.table)
            .key("Pk", s(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| ProviderError::sdk("GetItem", &e))?;
        Ok(out.item().map(|i| {
            let gs = |k: &str| i.get(k).and_then(|v| v.as_s().ok()).cloned();
            let gn = |k: &str| {
                i.get(k)
                    .and_then(|v| v.as_n().ok())
                    .and_then(|v| v.parse::<u64>().ok())
            };
            Record {
                status: gs("Status").unwrap_or_default(),
                slices: gn("Slices").unwrap_or(0),
                measured_ms: gn("MeasuredMs").unwrap_or(0),
                report: gs("Report"),
                lease_owner: gs("LeaseOwner"),
                lease_until_ms: gn("LeaseUntil"),
                reason: gs("Reason"),
            }
        }))
    }

    /// Creates the record unless it exists (then leaves it alone).
    async fn create(&self, key: &str) -> Result<(), ProviderError> {
        let r = self
            .ddb
            .put_item()
            .table_name(&self.table)
            .item("Pk", s(key))
            .item("Status", s(RUNNING))
            .item("Slices", n(0))
            .item("MeasuredMs", n(0))
            .item("Expires", n(expires()))
            .condition_expression("attribute_not_exists(Pk)")
            .send()
            .await;
        match r {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(ProviderError::sdk("PutItem", &e)),
        }
    }

    /// Takes the lease for the next slice: only if the run is still at `slices` slices and
    /// nobody holds an unexpired lease.
    async fn claim(
        &self,
        key: &str,
        slices: u64,
        owner: &str,
        until_ms: u64,
    ) -> Result<bool, ProviderError> {
        let r = self
            .ddb
            .update_item()
            .table_name(&self.table)
            .key("Pk", s(key))
            .update_expression("SET LeaseOwner = :o, LeaseUntil = :u, Expires = :x")
            .condition_expression(
                "#s = :running AND Slices = :n AND (attribute_not_exists(LeaseUntil) OR LeaseUntil < :now)",
            )
            .expression_attribute_names("#s", "Status")
            .expression_attribute_values(":o", s(owner))
            .expression_attribute_values(":u", n(until_ms))
            .expression_attribute_values(":x", n(expires()))
            .expression_attribute_values(":running", s(RUNNING))
            .expression_attribute_values(":n", n(slices))
            .expression_attribute_values(":now", n(now_ms()))
            .send()
            .await;
        conditional(r.map(|_| ()).map_err(|e| {
            let lost = e
                .as_service_error()
                .is_some_and(|e| e.is_conditional_check_failed_exception());
            (lost, ProviderError::sdk("UpdateItem", &e))
        }))
    }

    /// Records a finished slice (only while holding the lease) and releases the lease.
    async fn commit(
        &self,
        key: &str,
        owner: &str,
        slices: u64,
        measured_ms: u64,
        report: &str,
    ) -> Result<bool, ProviderError> {
        let r = self
            .ddb
            .update_item()
            .table_name(&self.table)
            .key("Pk", s(key))
            .update_expression(
                "SET Slices = :n1, MeasuredMs = :m, Report = :r, Expires = :x REMOVE LeaseOwner, LeaseUntil",
            )
            .condition_expression("#s = :running AND Slices = :n AND LeaseOwner = :o")
            .expression_attribute_names("#s", "Status")
            .expression_attribute_values(":n1", n(slices + 1))
            .expression_attribute_values(":n", n(slices))
            .expression_attribute_values(":m", n(measured_ms))
            .expression_attribute_values(":r", s(report))
            .expression_attribute_values(":x", n(expires()))
            .expression_attribute_values(":running", s(RUNNING))
            .expression_attribute_values(":o", s(owner))
            .send()
            .await;
        conditional(r.map(|_| ()).map_err(|e| {
            let lost = e
                .as_service_error()
                .is_some_and(|e| e.is_conditional_check_failed_exception());
            (lost, ProviderError::sdk("UpdateItem", &e))
        }))
    }

    /// Writes the final answer (only while holding the lease); it never changes afterwards.
    #[allow(clippy::too_many_arguments)]
    async fn finish(
        &self,
        key: &str,
        owner: &str,
        slices: u64,
        measured_ms: u64,
        report: Option<&str>,
        status: HookStatus,
        reason: &str,
    ) -> Result<bool, ProviderError> {
        let mut u = self
            .ddb
            .update_item()
            .table_name(&self.table)
            .key("Pk", s(key))
            .condition_expression("#s = :running AND Slices = :n AND LeaseOwner = :o")
            .expression_attribute_names("#s", "Status")
            .expression_attribute_values(":st", s(status.as_str()))
            .expression_attribute_values(":reason", s(reason))
            .expression_attribute_values(":n", n(slices))
            .expression_attribute_values(":n1", n(slices + 1))
            .expression_attribute_values(":m", n(measured_ms))
            .expression_attribute_values(":x", n(expires()))
            .expression_attribute_values(":running", s(RUNNING))
            .expression_attribute_values(":o", s(owner));
        u = match report {
            Some(r) => u
                .update_expression("SET #s = :st, Reason = :reason, Slices = :n1, MeasuredMs = :m, Report = :r, Expires = :x REMOVE LeaseOwner, LeaseUntil")
                .expression_attribute_values(":r", s(r)),
            None => u.update_expression("SET #s = :st, Reason = :reason, Slices = :n1, MeasuredMs = :m, Expires = :x REMOVE LeaseOwner, LeaseUntil"),
        };
        let r = u.send().await;
        conditional(r.map(|_| ()).map_err(|e| {
            let lost = e
                .as_service_error()
                .is_some_and(|e| e.is_conditional_check_failed_exception());
            (lost, ProviderError::sdk("UpdateItem", &e))
        }))
    }
}

fn expires() -> u64 {
    (now_ms() / 1000) + RECORD_TTL.as_secs()
}

/// A conditional write's result: false when the condition failed.
fn conditional(r: Result<(), (bool, ProviderError)>) -> Result<bool, ProviderError> {
    match r {
        Ok(()) => Ok(true),
        Err((true, _)) => Ok(false),
        Err((false, e)) => Err(e),
    }
}

/// The merged run so far, compactly: the engine's wire form of a report (counters, statuses,
/// reasons and the HdrHistogram V2 with deflate, base64), the same the `Workers` fan-out sends.
pub struct RunState;

impl RunState {
    pub fn encode(r: &Report) -> String {
        serde_json::to_string(&r.to_wire()).expect("serialisable")
    }

    pub fn decode(text: &str) -> Result<Report, String> {
        serde_json::from_str::<fargate_loadtest::report::WireReport>(text)
            .map_err(|e| e.to_string())?
            .into_report()
    }
}

/// Handles one hook event from the Lambda entry point, with the state table from the
/// environment (built once per Lambda instance).
pub async fn handle_event(clients: &Clients, event: &Value, deadline: Instant) -> Value {
    static STORE: tokio::sync::OnceCell<Option<HookStore>> = tokio::sync::OnceCell::const_new();
    let store = STORE
        .get_or_init(|| async {
            let conf = aws_config::load_from_env().await;
            HookStore::from_env(&conf)
        })
        .await;
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
    handle(clients, store.as_ref(), &ev, deadline)
        .await
        .to_value()
}

fn log_answer(ev: Option<&HookEvent>, a: &HookAnswer) {
    // One structured line per answer.
    tracing::info!(
        hook_status = a.status.as_str(),
        stage = ev.map(|e| e.lifecycle_stage.as_str()).unwrap_or(""),
        revision = ev.map(|e| e.execution_details.target_service_revision_arn.as_str()).unwrap_or(""),
        execution_id = ev.map(|e| e.execution_id.as_str()).unwrap_or(""),
        call_back_delay = a.call_back_delay,
        reason = %a.reason,
        "lifecycle hook answer"
    );
}

/// Answers one hook invocation. Never errors: anything unexpected at a gate stage is FAILED
/// (ECS rolls back), anything at another stage is SUCCEEDED.
pub async fn handle(
    clients: &Clients,
    store: Option<&HookStore>,
    ev: &HookEvent,
    deadline: Instant,
) -> HookAnswer {
    let a = answer(clients, store, ev, deadline).await;
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
    if let Some(why) = deployment_rolling_back(clients, ev.resource_arn.as_deref()).await {
        return HookAnswer::done(HookStatus::Succeeded, why);
    }
    let Some(store) = store else {
        return HookAnswer::done(
            HookStatus::Failed,
            format!("no state table for the load-test gate: set {TABLE_ENV} or AWS_LAMBDA_FUNCTION_NAME"),
        );
    };
    match gate(store, ev, &settings, deadline).await {
        Ok(a) => a,
        // A store error is transient more often than not: ask ECS to call again.
        Err(e) => HookAnswer {
            status: HookStatus::InProgress,
            call_back_delay: Some(settings.call_back_delay.max(1)),
            hook_details: ev.hook_details.clone(),
            reason: format!("state table unavailable, retrying: {e}"),
        },
    }
}

/// Whether ECS is already rolling back or stopping this deployment (a late IN_PROGRESS
/// re-invocation, or an alarm that fired meanwhile): then the gate has nothing to protect.
/// A deployment that cannot be read does not stop the gate.
async fn deployment_rolling_back(clients: &Clients, resource_arn: Option<&str>) -> Option<String> {
    let arn = resource_arn.filter(|a| a.contains(":service-deployment/"))?;
    match clients
        .ecs
        .describe_service_deployments()
        .service_deployment_arns(arn)
        .send()
        .await
    {
        Ok(out) => {
            let status = out
                .service_deployments()
                .first()
                .and_then(|d| d.status())
                .map(|s| s.as_str().to_string())?;
            (status.starts_with("ROLLBACK") || status.starts_with("STOP"))
                .then(|| format!("the service deployment is {status}: no load test"))
        }
        Err(e) => {
            tracing::warn!(error = %crate::error::sdk_message(&e), "cannot read the service deployment; the gate runs");
            None
        }
    }
}

fn progress(ev: &HookEvent, rec_slices: u64, measured_ms: u64, requests: u64) -> Value {
    let mut details = match &ev.hook_details {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    details.insert(
        PROGRESS_KEY.into(),
        json!({ "Slices": rec_slices, "MeasuredS": measured_ms / 1000, "Requests": requests }),
    );
    Value::Object(details)
}

fn in_progress(
    ev: &HookEvent,
    st: &GateSettings,
    rec: &Record,
    delay: u64,
    why: String,
) -> HookAnswer {
    let requests = rec
        .report
        .as_deref()
        .and_then(|r| RunState::decode(r).ok())
        .map(|r| r.sent)
        .unwrap_or(0);
    HookAnswer {
        status: HookStatus::InProgress,
        call_back_delay: Some(delay.max(st.call_back_delay).max(1)),
        hook_details: Some(progress(ev, rec.slices, rec.measured_ms, requests)),
        reason: why,
    }
}

fn final_answer(rec: &Record) -> Option<HookAnswer> {
    let status = match rec.status.as_str() {
        "SUCCEEDED" => HookStatus::Succeeded,
        "FAILED" => HookStatus::Failed,
        _ => return None,
    };
    Some(HookAnswer::done(
        status,
        rec.reason.clone().unwrap_or_default(),
    ))
}

/// The record key: one run per target service revision and stage.
pub fn record_key(ev: &HookEvent) -> String {
    format!(
        "{}#{}",
        ev.execution_details.target_service_revision_arn, ev.lifecycle_stage
    )
}

async fn gate(
    store: &HookStore,
    ev: &HookEvent,
    st: &GateSettings,
    deadline: Instant,
) -> Result<HookAnswer, ProviderError> {
    let key = record_key(ev);
    let rec = match store.load(&key).await? {
        Some(r) => r,
        None => {
            store.create(&key).await?;
            store
                .load(&key)
                .await?
                .ok_or_else(|| ProviderError::Exhausted(format!("record {key} vanished")))?
        }
    };
    if let Some(a) = final_answer(&rec) {
        return Ok(HookAnswer {
            reason: format!("repeated invocation, same answer: {}", a.reason),
            ..a
        });
    }
    let now = now_ms();
    if let Some(until) = rec.lease_until_ms.filter(|u| *u >= now) {
        let wait = (until - now).div_ceil(1000);
        return Ok(in_progress(
            ev,
            st,
            &rec,
            wait.min(st.call_back_delay.max(30)),
            "a slice is running in another invocation".into(),
        ));
    }
    // This invocation's budget: load, then AFTER_SLICE to write and answer.
    let total = Duration::from_secs(st.duration);
    let done = Duration::from_millis(rec.measured_ms);
    let warm_up = if rec.slices == 0 {
        Duration::from_secs(st.warm_up)
    } else {
        Duration::from_secs(st.warm_up.min(10))
    };
    let left = deadline.saturating_duration_since(Instant::now());
    let budget = left.saturating_sub(warm_up + AFTER_SLICE);
    if budget < Duration::from_secs(1) {
        // Every invocation would hit the same wall: fail clearly rather than loop.
        return Ok(HookAnswer::done(
            HookStatus::Failed,
            format!(
                "{} s left in this invocation is too little for a slice after the {} s warm-up: lower HookDetails.{SETTINGS_KEY}.WarmUp or raise the provider's timeout",
                left.as_secs(),
                warm_up.as_secs()
            ),
        ));
    }
    // At least a second, so a run a few milliseconds short still ends.
    let mut slice = total
        .saturating_sub(done)
        .max(Duration::from_secs(1))
        .min(budget);
    if let Some(cap) = st.slice_seconds {
        slice = slice.min(Duration::from_secs(cap));
    }
    let owner = format!("{}/{}", ev.execution_id, now_ms());
    let lease = now_ms() + (left.as_millis() as u64);
    if !store.claim(&key, rec.slices, &owner, lease).await? {
        // Someone else moved the run on: answer from what the record says now.
        let rec = store.load(&key).await?.unwrap_or(rec);
        return Ok(final_answer(&rec).unwrap_or_else(|| {
            in_progress(
                ev,
                st,
                &rec,
                st.call_back_delay,
                "another invocation holds the run".into(),
            )
        }));
    }
    let measured = crate::load_test_gate::run_local(&st.spec(slice, warm_up)).await;
    let mut merged = match &rec.report {
        Some(r) => RunState::decode(r).map_err(|e| {
            ProviderError::Exhausted(format!("record {key}: unreadable state: {e}"))
        })?,
        None => Report::empty(None),
    };
    let slice_report = match measured {
        Ok(r) => r,
        Err(e) => {
            let reason = format!("load test could not run: {e}");
            let a = HookAnswer::done(HookStatus::Failed, reason.clone());
            return settle(store, &key, &owner, &rec, None, a).await;
        }
    };
    merged.append(&slice_report);
    let measured_ms = merged.elapsed.as_millis() as u64;
    let encoded = RunState::encode(&merged);
    // The engine measures its configured slice; allow a little scheduling slack.
    if measured_ms + 500 >= total.as_millis() as u64 {
        let verdict = judge(&merged, &st.thresholds);
        tracing::info!(
            revision = %ev.execution_details.target_service_revision_arn, stage = %ev.lifecycle_stage,
            passed = verdict.passed, slices = rec.slices + 1, requests = merged.sent, error_rate = merged.error_rate(),
            p50_ms = merged.percentile_ms(0.5), p90_ms = merged.percentile_ms(0.9), p99_ms = merged.percentile_ms(0.99),
            rps = merged.rps(), state_bytes = encoded.len(), summary = %verdict.summary, "lifecycle hook load-test result"
        );
        let status = if verdict.passed {
            HookStatus::Succeeded
        } else {
            HookStatus::Failed
        };
        let a = HookAnswer::done(status, format!("load test: {}", verdict.summary));
        return settle(store, &key, &owner, &rec, Some((&merged, &encoded)), a).await;
    }
    if !store
        .commit(&key, &owner, rec.slices, measured_ms, &encoded)
        .await?
    {
        let rec = store.load(&key).await?.unwrap_or(rec);
        return Ok(final_answer(&rec).unwrap_or_else(|| {
            in_progress(
                ev,
                st,
                &rec,
                st.call_back_delay,
                "lease lost; slice discarded".into(),
            )
        }));
    }
    let rec = Record {
        slices: rec.slices + 1,
        measured_ms,
        report: Some(encoded),
        lease_owner: None,
        lease_until_ms: None,
        ..rec
    };
    Ok(in_progress(
        ev,
        st,
        &rec,
        st.call_back_delay,
        format!(
            "slice {} done: {} of {} s measured",
            rec.slices,
            measured_ms / 1000,
            st.duration
        ),
    ))
}

/// Writes a final answer; if another invocation got there first, answers what it wrote.
async fn settle(
    store: &HookStore,
    key: &str,
    owner: &str,
    rec: &Record,
    merged: Option<(&Report, &str)>,
    a: HookAnswer,
) -> Result<HookAnswer, ProviderError> {
    let measured = merged
        .map(|(r, _)| r.elapsed.as_millis() as u64)
        .unwrap_or(rec.measured_ms);
    if store
        .finish(
            key,
            owner,
            rec.slices,
            measured,
            merged.map(|(_, e)| e),
            a.status,
            &a.reason,
        )
        .await?
    {
        return Ok(a);
    }
    let now = store.load(key).await?;
    Ok(now
        .as_ref()
        .and_then(final_answer)
        .unwrap_or_else(|| HookAnswer {
            status: HookStatus::InProgress,
            call_back_delay: Some(5),
            hook_details: None,
            reason: "lease lost before the result was written; another invocation continues".into(),
        }))
}
