//! What the hook answers ECS: the status, the call-back delay and the `hookDetails`.

use super::{GateSettings, HookEvent, Record, RunState, PROGRESS_KEY};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HookStatus {
    Succeeded,
    Failed,
    InProgress,
}

impl HookStatus {
    pub(crate) fn as_str(self) -> &'static str {
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
    pub(crate) fn done(status: HookStatus, reason: impl Into<String>) -> Self {
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

pub(super) fn log_answer(ev: Option<&HookEvent>, a: &HookAnswer) {
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

pub(super) fn progress(ev: &HookEvent, rec_slices: u64, measured_ms: u64, requests: u64) -> Value {
    let mut details = match &ev.hook_details {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    // The store answered: the errors (if any) are over.
    details.remove(super::STORE_ERRORS_KEY);
    details.insert(
        PROGRESS_KEY.into(),
        json!({ "Slices": rec_slices, "MeasuredS": measured_ms / 1000, "Requests": requests }),
    );
    Value::Object(details)
}

pub(super) fn in_progress(
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

/// IN_PROGRESS with the `hookDetails` this invocation was given (the settings and the last
/// progress): ECS passes the returned details to the next invocation, which needs the settings
/// (lambda-lifecycle-hooks.html).
pub(super) fn unfinished(ev: &HookEvent, why: String) -> HookAnswer {
    let delay = GateSettings::from_hook_details(ev.hook_details.as_ref())
        .map(|s| s.call_back_delay)
        .unwrap_or(30);
    HookAnswer {
        status: HookStatus::InProgress,
        call_back_delay: Some(delay.max(1)),
        hook_details: ev.hook_details.clone(),
        reason: why,
    }
}

pub(super) fn final_answer(rec: &Record) -> Option<HookAnswer> {
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
