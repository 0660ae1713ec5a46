//! The gate's properties, checked before anything is waited for or sent.

use super::{present_host, RunSpec};
use crate::request::Request;
use crate::ProviderError;
use fargate_loadtest::Thresholds;
use serde_json::Value;

pub(super) struct Props {
    pub spec: RunSpec,
    pub workers: usize,
    pub cluster: Option<String>,
    pub service: Option<String>,
    /// The revision this request was sent for (`Ref` of the task definition: its ARN).
    pub task_definition: Option<String>,
    /// The function that runs the load (the App's VPC workers); absent: this Lambda.
    pub worker_function: Option<String>,
    /// Whether the requests carry a routing header.
    pub routed: bool,
    pub thresholds: Thresholds,
}

fn num<T: std::str::FromStr>(
    req: &Request,
    name: &'static str,
    default: Option<T>,
) -> Result<Option<T>, ProviderError> {
    match req.prop(name) {
        None => Ok(default),
        Some(s) => s
            .trim()
            .parse::<T>()
            .map(Some)
            .map_err(|_| ProviderError::bad(name, format!("'{s}' is not a number"))),
    }
}

/// Seconds given as `name`, in milliseconds; a number too large to count that way is refused.
fn millis(req: &Request, name: &'static str, default: u64) -> Result<u64, ProviderError> {
    let secs = num::<u64>(req, name, Some(default))?.unwrap_or(default);
    secs.checked_mul(1000)
        .ok_or_else(|| ProviderError::bad(name, format!("{secs} seconds is too long")))
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

#[allow(clippy::needless_update)]
pub(super) fn parse(req: &Request) -> Result<Props, ProviderError> {
    let mut headers: Vec<(String, String)> = match req.properties.get("Headers") {
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str()
                        .map(String::from)
                        .unwrap_or_else(|| v.to_string()),
                )
            })
            .collect(),
        _ => Vec::new(),
    };
    let routing = routing_header(req)?;
    if let Some((name, value)) = &routing {
        if let Some((mine, _)) = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)) {
            return Err(ProviderError::bad(
                "Headers",
                format!("{mine} is the gate's RoutingHeader; remove it from Headers"),
            ));
        }
        headers.push((name.clone(), value.clone()));
    }
    let t = req
        .properties
        .get("Thresholds")
        .cloned()
        .unwrap_or(Value::Null);
    let threshold = |k: &'static str| -> Result<Option<f64>, ProviderError> {
        match t.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64()),
            Some(Value::String(s)) => s.parse().map(Some).map_err(|_| {
                ProviderError::bad("Thresholds", format!("{k}: '{s}' is not a number"))
            }),
            Some(other) => Err(ProviderError::bad(
                "Thresholds",
                format!("{k}: {other} is not a number"),
            )),
        }
    };
    let rate = num::<f64>(req, "Rate", None)?;
    let concurrency = num::<usize>(req, "Concurrency", None)?;
    if rate.is_none() && concurrency.is_none() {
        return Err(ProviderError::bad("Rate", "give Rate or Concurrency"));
    }
    let host = req.prop("Host").filter(|h| !h.is_empty());
    let spec = RunSpec {
        url: req.required("Url")?,
        method: req.prop("Method").unwrap_or_else(|| "GET".into()),
        headers,
        body: req.prop("Body"),
        expected_status: num(req, "ExpectedStatus", Some(200))?.unwrap_or(200),
        timeout_ms: num(req, "TimeoutMs", Some(5000))?.unwrap_or(5000),
        rate,
        concurrency,
        duration_ms: millis(req, "Duration", 30)?,
        warm_up_ms: millis(req, "WarmUp", 60)?,
        host: host.clone(),
    };
    if let Some(h) = &host {
        if !host_name(h) {
            return Err(ProviderError::bad(
                "Host",
                format!("'{h}' is not a host name"),
            ));
        }
        // Refused now, not after the wait, when the engine cannot present it.
        present_host(&mut spec.config(), h).map_err(|e| ProviderError::bad("Host", e))?;
    }
    Ok(Props {
        spec,
        workers: num(req, "Workers", Some(1))?.unwrap_or(1).max(1),
        cluster: req.prop("Cluster"),
        service: req.prop("ServiceName"),
        task_definition: req.prop("TaskDefinitionArn").filter(|s| !s.is_empty()),
        worker_function: req.prop("WorkerFunctionArn").filter(|s| !s.is_empty()),
        routed: routing.is_some(),
        thresholds: Thresholds {
            p50_ms: threshold("P50Ms")?,
            p90_ms: threshold("P90Ms")?,
            p99_ms: threshold("P99Ms")?,
            max_error_rate: threshold("MaxErrorRate")?,
            min_rps: threshold("MinRps")?,
            ..Thresholds::default()
        }
        // No thresholds given still protects: errors at most 1%, 95% of the asked completed.
        .with_defaults(),
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
