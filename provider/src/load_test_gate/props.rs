//! The gate's properties, checked before anything is waited for or sent.

use super::{present_host, RunSpec};
use crate::gate_settings::{Fields, GateSettings};
use crate::request::Request;
use crate::ProviderError;
use serde_json::Value;
use std::time::Duration;

pub(super) struct Props {
    /// What the lifecycle hook is told too.
    pub common: GateSettings,
    pub spec: RunSpec,
    pub workers: usize,
    pub cluster: Option<String>,
    pub service: Option<String>,
    /// The revision this request was sent for (`Ref` of the task definition: its ARN).
    pub task_definition: Option<String>,
    /// Whether the requests carry a routing header.
    pub routed: bool,
}

/// The resource's properties as an object (CloudFormation always sends one).
pub(crate) fn properties(req: &Request) -> serde_json::Map<String, Value> {
    req.properties.as_object().cloned().unwrap_or_default()
}

/// A header field name (RFC 9110 `token`), as ALB's http-header condition takes it: at most 40
/// characters, and never Host (a host-header condition matches that).
/// https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_HttpHeaderConditionConfig.html
fn header_name(s: &str) -> bool {
    (1..=40).contains(&s.len())
        && !s.eq_ignore_ascii_case("host")
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// A value ALB can compare: at most 128 characters; printable ASCII so every HTTP client sends
/// it unchanged.
fn header_value(s: &str) -> bool {
    (1..=128).contains(&s.len()) && s.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

/// A DNS host name: dot-separated labels of letters, digits and hyphens.
fn host_name(s: &str) -> bool {
    (1..=253).contains(&s.len())
        && s.split('.').all(|l| {
            (1..=63).contains(&l.len())
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

fn routing_header(req: &Request) -> Result<Option<(String, String)>, ProviderError> {
    let bad = |m: String| ProviderError::bad("RoutingHeader", m);
    let m = match req.properties.get("RoutingHeader") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(m)) => m,
        Some(other) => return Err(bad(format!("{other} is not {{ Name, Value }}"))),
    };
    let (Some(name), Some(value)) = (
        m.get("Name").and_then(Value::as_str),
        m.get("Value").and_then(Value::as_str),
    ) else {
        return Err(bad("give Name and Value".into()));
    };
    if !header_name(name) {
        return Err(bad(format!("Name '{name}' is not an HTTP header name")));
    }
    if !header_value(value) {
        return Err(bad(format!(
            "Value must be 1 to 128 printable ASCII characters without spaces (got {} characters)",
            value.len()
        )));
    }
    Ok(Some((name.to_string(), value.to_string())))
}

/// The resource's properties: the common settings (read as the hook's are) and the
/// resource's extras.
pub(super) fn parse(req: &Request) -> Result<Props, ProviderError> {
    let props = properties(req);
    let common = GateSettings::read(&props)?;
    let routing = routing_header(req)?;
    let mut extra = Vec::new();
    if let Some((name, value)) = &routing {
        if let Some(mine) = common.headers.keys().find(|k| k.eq_ignore_ascii_case(name)) {
            return Err(ProviderError::bad(
                "Headers",
                format!("{mine} is the gate's RoutingHeader; remove it from Headers"),
            ));
        }
        extra.push((name.clone(), value.clone()));
    }
    let spec = common.spec(
        Duration::from_secs(common.duration),
        Duration::from_secs(common.warm_up),
        &extra,
    );
    if let Some(h) = &common.host {
        if !host_name(h) {
            return Err(ProviderError::bad(
                "Host",
                format!("'{h}' is not a host name"),
            ));
        }
        // Refused now, not after the wait, when the engine cannot present it.
        present_host(&mut spec.config(), h).map_err(|e| ProviderError::bad("Host", e))?;
    }
    let f = Fields(&props);
    Ok(Props {
        spec,
        workers: f.num("Workers")?.unwrap_or(1usize).max(1),
        cluster: f.text("Cluster"),
        service: f.text("ServiceName"),
        task_definition: f.text("TaskDefinitionArn"),
        routed: routing.is_some(),
        common,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_values_and_hosts() {
        assert!(header_name("X-FargateApp-Gate"));
        for bad in ["", "X Gate", "X:Gate", "Host", &"x".repeat(41)] {
            assert!(!header_name(bad), "{bad:?}");
        }
        assert!(header_value("Users-6f1c2a8e"));
        for bad in ["", "a b", "é", &"v".repeat(129)] {
            assert!(!header_value(bad), "{bad:?}");
        }
        assert!(host_name("app.example.test"));
        for bad in ["", "app example", "-app.test", "app..test", "app.test:443"] {
            assert!(!host_name(bad), "{bad:?}");
        }
    }
}
