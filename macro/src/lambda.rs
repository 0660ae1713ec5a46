//! The CloudFormation macro contract: a request with the template fragment, a response with
//! the expanded fragment or a failure message.

use crate::gen::Settings;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A macro invocation (`aws_lambda_events` has no type for it).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MacroRequest {
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub account_id: String,
    pub fragment: Value,
    #[serde(default)]
    pub transform_id: String,
    #[serde(default)]
    pub params: Value,
    pub request_id: String,
    #[serde(default)]
    pub template_parameter_values: Value,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MacroResponse {
    pub request_id: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fragment: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

/// Handles one macro request. Never fails: problems become a `failure` response.
///
/// Input bounds: the CLI's file bounds (`crate::source`) do not apply here. CloudFormation
/// hands the macro a template it has already parsed under its own 1 MB limit, with YAML aliases
/// expanded and one value per key (a JSON object cannot carry duplicates), and the runtime reads
/// the event with serde_json, which stops at 128 levels of nesting. What does apply is shared:
/// the reader's cost and echo bounds on unknown property names (`crate::reader`), and the
/// stack's resource limit checked before expanding (`crate::source::too_many_resources`).
///
/// `templateParameterValues` (the stack's parameter values, already evaluated) let the
/// expansion validate what they make known; the output keeps the `Ref`s.
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-macros.html
pub fn handle(req: &MacroRequest, settings: &Settings) -> MacroResponse {
    let with_values;
    let settings = match req.template_parameter_values.as_object() {
        Some(values) if !values.is_empty() => {
            with_values = Settings {
                parameter_values: values.clone(),
                ..settings.clone()
            };
            &with_values
        }
        _ => settings,
    };
    let result = match crate::source::too_many_resources(&req.fragment) {
        Some(p) => Err(crate::Problems(vec![p])),
        None => crate::expand_with_warnings(&req.fragment, settings),
    };
    match result {
        Ok(expanded) => {
            // CloudFormation called the macro, so the template names it: that warning is moot.
            for w in expanded
                .warnings
                .iter()
                .filter(|w| **w != crate::Warning::MissingTransform)
            {
                tracing::warn!(request_id = %req.request_id, "{w}");
            }
            MacroResponse {
                request_id: req.request_id.clone(),
                status: "success".into(),
                fragment: Some(expanded.template),
                error_message: None,
            }
        }
        Err(problems) => MacroResponse {
            request_id: req.request_id.clone(),
            status: "failure".into(),
            fragment: None,
            error_message: Some(problems.to_string()),
        },
    }
}

/// Handles a raw event: a body that is not a macro request still gets an answer naming what
/// was wrong, echoing the request ID when there is one.
pub fn handle_value(event: Value, settings: &Settings) -> MacroResponse {
    let request_id = event
        .get("requestId")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    match serde_json::from_value::<MacroRequest>(event) {
        Ok(req) => {
            // A panic would leave CloudFormation with a bare Lambda error; answer instead.
            match std::panic::catch_unwind(|| handle(&req, settings)) {
                Ok(resp) => resp,
                Err(_) => failure(
                    request_id,
                    "internal error in the FargateApp macro (please report it with the template)"
                        .into(),
                ),
            }
        }
        Err(e) => failure(
            request_id,
            format!("not a CloudFormation macro request: {e}"),
        ),
    }
}

fn failure(request_id: String, message: String) -> MacroResponse {
    MacroResponse {
        request_id,
        status: "failure".into(),
        fragment: None,
        error_message: Some(message),
    }
}
