//! The always-answer guarantee. Every custom-resource request goes through [`run`]: the handler
//! runs in its own task; whatever it does (returns, fails, panics, hangs), exactly one
//! SUCCESS or FAILED body is PUT to the ResponseURL before the Lambda deadline.
//!
//! A panic is caught at the task boundary (the release profile keeps `panic = "unwind"`). If the
//! process dies anyway (out of memory, an abort), CloudFormation's asynchronous invocation is
//! retried by Lambda and every handler is idempotent, so the retry answers.

use crate::request::Request;
use crate::ProviderError;
use serde::Serialize;
use serde_json::{Map, Value};
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// CloudFormation rejects response bodies over this size.
pub const MAX_BODY_BYTES: usize = 4096;
const MAX_PUT_ATTEMPTS: u32 = 4;

/// What a handler returns on success.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    pub physical_id: String,
    pub data: Vec<(String, Value)>,
}

impl Outcome {
    pub fn new(physical_id: impl Into<String>) -> Self {
        Outcome {
            physical_id: physical_id.into(),
            data: Vec::new(),
        }
    }
    pub fn with(mut self, key: &str, v: impl Into<Value>) -> Self {
        self.data.push((key.to_string(), v.into()));
        self
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Body<'a> {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    physical_resource_id: &'a str,
    stack_id: &'a str,
    request_id: &'a str,
    logical_resource_id: &'a str,
    no_echo: bool,
    #[serde(skip_serializing_if = "Map::is_empty")]
    data: Map<String, Value>,
}

/// CloudFormation's limit on a PhysicalResourceId (1 KB).
pub const MAX_PHYSICAL_ID_BYTES: usize = 1024;
const CUT: &str = " ... (reason truncated)";
const DROPPED: &str = "attributes dropped: the response would exceed 4096 bytes";

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
pub fn prefix_bytes(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The response body for a result, at most [`MAX_BODY_BYTES`] for any UTF-8 input: attributes
/// that do not fit are dropped and a long Reason is cut (each saying so); IDs longer than
/// CloudFormation's own limits (only a crafted request has them) are cut last. Every pass
/// shrinks the body, so this always returns.
pub fn body(req: &Request, result: &Result<Outcome, ProviderError>) -> String {
    let fallback_id = req
        .physical_resource_id
        .clone()
        .unwrap_or_else(|| req.placeholder_id());
    let (status, mut reason, physical_id, mut data) = match result {
        Ok(o) => (
            "SUCCESS",
            None,
            o.physical_id.clone(),
            o.data.iter().cloned().collect::<Map<_, _>>(),
        ),
        Err(e) => ("FAILED", Some(e.to_string()), fallback_id, Map::new()),
    };
    let mut ids = [
        prefix_bytes(&physical_id, MAX_PHYSICAL_ID_BYTES).to_string(),
        req.stack_id.clone(),
        req.request_id.clone(),
        req.logical_resource_id.clone(),
    ];
    loop {
        let b = Body {
            status,
            reason: reason.clone(),
            physical_resource_id: &ids[0],
            stack_id: &ids[1],
            request_id: &ids[2],
            logical_resource_id: &ids[3],
            no_echo: false,
            data: data.clone(),
        };
        let s = serde_json::to_string(&b).expect("response bodies serialise");
        if s.len() <= MAX_BODY_BYTES {
            return s;
        }
        let over = s.len() - MAX_BODY_BYTES;
        if !data.is_empty() {
            data.clear();
            reason = Some(match reason {
                Some(r) => format!("{r}; {DROPPED}"),
                None => DROPPED.to_string(),
            });
            continue;
        }
        // JSON escaping never shrinks text, so cutting `over` bytes of the raw Reason cuts at
        // least `over` bytes of the body.
        if let Some(r) = &reason {
            let keep = r.len().saturating_sub(over + CUT.len());
            if keep > 0 {
                reason = Some(format!("{}{CUT}", prefix_bytes(r, keep)));
                continue;
            }
            reason = None;
            continue;
        }
        // Only IDs are left: halve the longest.
        let longest = (0..ids.len())
            .max_by_key(|&i| ids[i].len())
            .expect("four IDs");
        let half = ids[longest].len() / 2;
        ids[longest] = prefix_bytes(&ids[longest], half).to_string();
    }
}

/// The ResponseURL without its query (the pre-signed signature): safe to log.
pub fn redact(url: &str) -> String {
    url.split('?').next().unwrap_or_default().to_string()
}

/// What happened to the PUT.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub status: Option<u16>,
    pub attempts: u32,
    pub delivered: bool,
    pub body: String,
}

/// The margin kept before the deadline to send the answer: a fifth of the time left, between
/// 200 ms and 10 s (a PUT to S3 takes well under a second; four attempts with backoff fit).
pub fn margin(left: Duration) -> Duration {
    (left / 5).clamp(Duration::from_millis(200), Duration::from_secs(10))
}

/// When a handler must be done so that the answer still goes out before `deadline`.
pub fn answer_by(deadline: Instant) -> Instant {
    let now = Instant::now();
    let left = deadline.saturating_duration_since(now);
    deadline.checked_sub(margin(left)).unwrap_or(now)
}

/// The deadline of one invocation: the Lambda's, `left` from `now`, and for a custom resource
/// no later than its `ServiceTimeout` (CloudFormation stops waiting then). Never panics: an
/// absurd deadline saturates.
pub fn invocation_deadline(
    now: Instant,
    left: Duration,
    service_timeout: Option<Duration>,
) -> Instant {
    let left = service_timeout.map_or(left, |t| left.min(t));
    now.checked_add(left)
        .unwrap_or_else(|| now + Duration::from_secs(15 * 60))
}

/// `ServiceTimeout` (seconds, 1-3600) of a custom-resource request's properties, if set.
pub fn service_timeout(req: &Request) -> Option<Duration> {
    let secs: u64 = req.prop("ServiceTimeout")?.trim().parse().ok()?;
    (1..=3600)
        .contains(&secs)
        .then(|| Duration::from_secs(secs))
}

/// What this invocation may spend of `ServiceTimeout`: CloudFormation's clock started when it
/// sent the request, before this invocation (a Lambda retry after a crash comes a minute or two
/// later), so the macro's 60 s of delivery slack is kept back (half of a shorter timeout).
pub fn service_budget(req: &Request) -> Option<Duration> {
    const DELIVERY_SLACK: Duration = Duration::from_secs(60);
    service_timeout(req).map(|t| t - DELIVERY_SLACK.min(t / 2))
}

/// Runs a handler and answers CloudFormation, whatever the handler does.
pub async fn run<F>(
    req: &Request,
    deadline: Instant,
    http: &reqwest::Client,
    handler: F,
) -> Delivery
where
    F: Future<Output = Result<Outcome, ProviderError>> + Send + 'static,
{
    let answer_at = answer_by(deadline);
    let margin = deadline.saturating_duration_since(answer_at);
    let task = tokio::spawn(handler);
    let abort = task.abort_handle();
    let result = tokio::select! {
        joined = task => match joined {
            Ok(r) => r,
            Err(e) if e.is_panic() => {
                let p = e.into_panic();
                let msg = p.downcast_ref::<&str>().map(|s| s.to_string())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                Err(ProviderError::Panic(msg))
            }
            Err(_) => Err(ProviderError::Panic("handler task cancelled".into())),
        },
        _ = tokio::time::sleep_until(answer_at) => {
            abort.abort();
            Err(ProviderError::Timeout { margin_ms: u64::try_from(margin.as_millis()).unwrap_or(u64::MAX) })
        }
    };
    match &result {
        Ok(o) => {
            tracing::info!(request_type = ?req.request_type, resource = %req.logical_resource_id, physical_id = %o.physical_id, "SUCCESS")
        }
        Err(e) => {
            tracing::warn!(request_type = ?req.request_type, resource = %req.logical_resource_id, reason = %e, "FAILED")
        }
    }
    let body = body(req, &result);
    put(http, &req.response_url, body, deadline).await
}

/// PUTs the body with an empty Content-Type, retrying a bounded number of times with backoff
/// while the deadline allows; only a 2xx counts as delivered.
pub async fn put(http: &reqwest::Client, url: &str, body: String, deadline: Instant) -> Delivery {
    let mut last = None;
    let mut attempts = 0;
    let mut backoff = Duration::from_millis(100);
    while attempts < MAX_PUT_ATTEMPTS {
        attempts += 1;
        // Past the deadline the first attempt is still made: a late answer beats none.
        let left = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_secs(2));
        let sent = http
            .put(url)
            .header(reqwest::header::CONTENT_TYPE, "")
            .body(body.clone())
            .timeout(left.min(Duration::from_secs(10)))
            .send()
            .await;
        match sent {
            Ok(resp) if resp.status().is_success() => {
                return Delivery {
                    status: Some(resp.status().as_u16()),
                    attempts,
                    delivered: true,
                    body,
                };
            }
            Ok(resp) => {
                tracing::warn!(url = %redact(url), status = resp.status().as_u16(), attempt = attempts, "response PUT rejected");
                last = Some(resp.status().as_u16());
            }
            Err(e) => {
                // reqwest's error text carries the whole URL, signature included.
                let e = e.without_url();
                tracing::warn!(url = %redact(url), error = %e, attempt = attempts, "response PUT failed")
            }
        }
        match Instant::now().checked_add(backoff) {
            Some(next) if next < deadline => {}
            _ => break,
        }
        tokio::time::sleep(backoff).await;
        backoff = backoff.saturating_mul(2);
    }
    tracing::error!(url = %redact(url), attempts, "could not deliver the response to CloudFormation");
    Delivery {
        status: last,
        attempts,
        delivered: false,
        body,
    }
}
