//! The gate's settings in the hook's `HookDetails`, the contract with the macro: the common
//! [`crate::gate_settings::GateSettings`] (read as the custom resource's properties are) and
//! the hook's own extras.

use super::{DEFAULT_GATE_STAGE, SETTINGS_KEY};
use crate::gate_settings::{Fields, KEYS};
use crate::ProviderError;
use serde_json::Value;

/// The hook's settings: `HookDetails.FargateAppLoadTest`. Keys outside the common ones and
/// these extras are refused (a misspelt threshold must not pass unchecked).
#[derive(Debug, Clone, PartialEq)]
pub struct HookSettings {
    /// What the custom-resource gate is told too.
    pub common: crate::gate_settings::GateSettings,
    /// Most seconds of load per invocation (the rest continues after IN_PROGRESS).
    pub slice_seconds: Option<u64>,
    /// Seconds ECS waits between slices.
    pub call_back_delay: u64,
    /// The stack the service belongs to (`Ref AWS::StackId`): while it rolls back, the
    /// deployment re-deploys the previous revision and the gate does not run.
    pub stack_id: Option<String>,
    /// Stages at which the gate runs.
    pub stages: Vec<String>,
}

/// The name tests and the rest of the hook know the settings by.
pub type GateSettings = HookSettings;

/// The hook's own keys.
pub const HOOK_KEYS: &[&str] = &["SliceSeconds", "CallBackDelay", "StackId", "Stages"];

impl std::ops::Deref for HookSettings {
    type Target = crate::gate_settings::GateSettings;
    fn deref(&self) -> &Self::Target {
        &self.common
    }
}

pub(super) fn gate_stages() -> Vec<String> {
    vec![DEFAULT_GATE_STAGE.into()]
}

impl HookSettings {
    /// Reads and checks the settings; errors name `HookDetails` and the key.
    pub fn from_hook_details(details: Option<&Value>) -> Result<HookSettings, ProviderError> {
        let bad = |m: String| ProviderError::bad("HookDetails", format!("{SETTINGS_KEY}{m}"));
        let raw = details.and_then(|d| d.get(SETTINGS_KEY)).ok_or_else(|| {
            ProviderError::bad(
                "HookDetails",
                format!("{SETTINGS_KEY} is missing: the hook has no load-test settings"),
            )
        })?;
        let Value::Object(m) = raw else {
            return Err(bad(format!(": {raw} is not an object")));
        };
        let named = |e: ProviderError| match e {
            ProviderError::BadProperty { name, message } => bad(format!(".{name}: {message}")),
            other => other,
        };
        let f = Fields(m);
        if let Some(k) = f.unknown(&[KEYS, HOOK_KEYS]).first() {
            return Err(bad(format!(".{k}: not a setting of the gate")));
        }
        let common = crate::gate_settings::GateSettings::read(m).map_err(named)?;
        let s = HookSettings {
            common,
            slice_seconds: f.num("SliceSeconds").map_err(named)?,
            call_back_delay: f.num("CallBackDelay").map_err(named)?.unwrap_or(5),
            stack_id: f.text("StackId"),
            stages: match m.get("Stages") {
                None | Some(Value::Null) => gate_stages(),
                Some(v) => {
                    serde_json::from_value(v.clone()).map_err(|e| bad(format!(".Stages: {e}")))?
                }
            },
        };
        if s.slice_seconds == Some(0) {
            return Err(bad(".SliceSeconds: must be at least 1 second".into()));
        }
        Ok(s)
    }
}
