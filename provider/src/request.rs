//! The custom-resource request, flattened from `aws_lambda_events`' per-type variants.

use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceRequest as CfnRequest;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestType {
    Create,
    Update,
    Delete,
}

#[derive(Debug, Clone)]
pub struct Request {
    pub request_type: RequestType,
    pub request_id: String,
    pub response_url: String,
    pub stack_id: String,
    pub resource_type: String,
    pub logical_resource_id: String,
    pub physical_resource_id: Option<String>,
    pub properties: Value,
    pub old_properties: Option<Value>,
}

impl From<CfnRequest> for Request {
    fn from(r: CfnRequest) -> Self {
        match r {
            CfnRequest::Create(c) => Request {
                request_type: RequestType::Create,
                request_id: c.request_id,
                response_url: c.response_url,
                stack_id: c.stack_id,
                resource_type: c.resource_type,
                logical_resource_id: c.logical_resource_id,
                physical_resource_id: None,
                properties: c.resource_properties,
                old_properties: None,
            },
            CfnRequest::Update(u) => Request {
                request_type: RequestType::Update,
                request_id: u.request_id,
                response_url: u.response_url,
                stack_id: u.stack_id,
                resource_type: u.resource_type,
                logical_resource_id: u.logical_resource_id,
                physical_resource_id: Some(u.physical_resource_id),
                properties: u.resource_properties,
                old_properties: Some(u.old_resource_properties),
            },
            CfnRequest::Delete(d) => Request {
                request_type: RequestType::Delete,
                request_id: d.request_id,
                response_url: d.response_url,
                stack_id: d.stack_id,
                resource_type: d.resource_type,
                logical_resource_id: d.logical_resource_id,
                physical_resource_id: Some(d.physical_resource_id),
                properties: d.resource_properties,
                old_properties: None,
            },
            _ => unreachable!("CloudFormation sends Create, Update or Delete"),
        }
    }
}

impl Request {
    /// The resource's physical ID: CloudFormation's (Update, Delete), or on Create one made of
    /// the logical ID and `suffix` (a resource that makes nothing of its own to name).
    pub fn physical_or(&self, suffix: &str) -> String {
        self.physical_resource_id
            .clone()
            .unwrap_or_else(|| format!("{}-{suffix}", self.logical_resource_id))
    }

    /// A string property (CloudFormation sends every value as a string).
    pub fn prop(&self, name: &'static str) -> Option<String> {
        prop_of(&self.properties, name)
    }
    pub fn old_prop(&self, name: &'static str) -> Option<String> {
        self.old_properties.as_ref().and_then(|p| prop_of(p, name))
    }
    pub fn required(&self, name: &'static str) -> Result<String, crate::ProviderError> {
        self.prop(name)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| crate::ProviderError::bad(name, "required"))
    }
    /// The ID CloudFormation gives a resource whose Create failed before anything existed.
    pub fn placeholder_id(&self) -> String {
        format!(
            "{}-not-created-{}",
            self.logical_resource_id, self.request_id
        )
    }
}

fn prop_of(v: &Value, name: &str) -> Option<String> {
    match v.get(name)? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// `FROM-TO` ranges of ports and priorities.
pub fn parse_range(
    name: &'static str,
    s: &str,
    min: u32,
    max: u32,
) -> Result<(u32, u32), crate::ProviderError> {
    let (a, b) = s
        .split_once('-')
        .ok_or_else(|| crate::ProviderError::bad(name, format!("'{s}' is not FROM-TO")))?;
    let (a, b) = (a.trim().parse::<u32>(), b.trim().parse::<u32>());
    match (a, b) {
        (Ok(a), Ok(b)) if a >= min && b <= max && a <= b => Ok((a, b)),
        _ => Err(crate::ProviderError::bad(
            name,
            format!("'{s}' is not a range within {min}-{max}"),
        )),
    }
}
