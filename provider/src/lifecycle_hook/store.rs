//! The durable record of one gate run: one DynamoDB item per (target service revision, stage),
//! written only with conditional writes.
//!
//! Every call is retried on throttling and server errors within the handler's budget
//! ([`crate::retry::retrying`]). A retried conditional write may fail its condition on its own
//! first attempt, which took effect before its answer was lost: DynamoDB's errors page says a
//! request that fails with a server error may have succeeded, and a conditional write is not
//! idempotent by itself
//! (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html,
//! https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/WorkingWithItems.html#WorkingWithItems.ConditionalUpdate).
//! So each conditional write carries its writer's token (`Writer`, or the lease owner), and a
//! ConditionalCheckFailed is read back: the write is ours when the item carries our token and
//! the state our write set.

use super::HookStatus;
use super::TABLE_ENV;
use crate::error::Bounded;
use crate::retry::retrying;
use crate::ProviderError;
use aws_sdk_dynamodb::types::AttributeValue;
use fargate_loadtest::Report;
use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Items expire (DynamoDB TTL) this long after their last write.
const RECORD_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

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

type Item = HashMap<String, AttributeValue>;

/// A string attribute of an item.
fn attr_s<'a>(i: &'a Item, k: &str) -> Option<&'a str> {
    i.get(k).and_then(|v| v.as_s().ok()).map(String::as_str)
}
/// A number attribute of an item.
fn attr_n(i: &Item, k: &str) -> Option<u64> {
    i.get(k)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse::<u64>().ok())
}

/// A token naming one invocation's writes: random per process (std's hasher keys are), plus
/// a counter and the time.
pub fn writer_token() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(now_ms());
    format!(
        "{:016x}-{}",
        h.finish(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    )
}

pub(super) fn now_ms() -> u64 {
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

    /// The item, read consistently.
    async fn item(&self, key: &str) -> Result<Option<Item>, ProviderError> {
        let out = retrying("GetItem", || async {
            self.ddb
                .get_item()
                .table_name(&self.table)
                .key("Pk", s(key))
                .consistent_read(true)
                .send()
                .bounded()
                .await
                .map_err(|e| ProviderError::sdk("GetItem", &e))
        })
        .await?;
        Ok(out.item().cloned())
    }

    /// A conditional write made with `send` (retried): true when it took effect, false when its
    /// condition failed on a state that `ours` does not recognise as this write's.
    async fn write<F, Fut>(
        &self,
        key: &str,
        send: F,
        ours: impl Fn(&Item) -> bool,
    ) -> Result<bool, ProviderError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<(), (bool, ProviderError)>>,
    {
        let r = retrying("state table write", || {
            let sent = send();
            async move {
                match sent.await {
                    Ok(()) => Ok(true),
                    Err((true, _)) => Ok(false),
                    Err((false, e)) => Err(e),
                }
            }
        })
        .await?;
        if r {
            return Ok(true);
        }
        let mine = self.item(key).await?.is_some_and(|i| ours(&i));
        if mine {
            tracing::info!(
                key,
                "a retried write failed its condition on its own first attempt"
            );
        }
        Ok(mine)
    }

    pub async fn load(&self, key: &str) -> Result<Option<Record>, ProviderError> {
        Ok(self.item(key).await?.map(|i| {
            let gs = |k: &str| attr_s(&i, k).map(String::from);
            let gn = |k: &str| attr_n(&i, k);
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

    /// One UpdateItem of the item `key`, as `with` makes it: `Err((true, _))` when its
    /// condition failed.
    async fn update_sent(
        &self,
        key: &str,
        with: &impl Fn(Upd) -> Upd,
    ) -> Result<(), (bool, ProviderError)> {
        let sent = with(
            self.ddb
                .update_item()
                .table_name(&self.table)
                .key("Pk", s(key)),
        )
        .send()
        .bounded()
        .await;
        conditional("UpdateItem", sent, |e| {
            e.is_conditional_check_failed_exception()
        })
    }

    /// One PutItem of the item `key`, as `with` makes it: `Err((true, _))` when its condition
    /// failed.
    async fn put_sent(
        &self,
        key: &str,
        with: &impl Fn(Put) -> Put,
    ) -> Result<(), (bool, ProviderError)> {
        let sent = with(
            self.ddb
                .put_item()
                .table_name(&self.table)
                .item("Pk", s(key)),
        )
        .send()
        .bounded()
        .await;
        conditional("PutItem", sent, |e| {
            e.is_conditional_check_failed_exception()
        })
    }

    /// Creates the record unless it exists (then leaves it alone).
    pub(super) async fn create(&self, key: &str) -> Result<(), ProviderError> {
        let put = |b: Put| new_record(b).condition_expression("attribute_not_exists(Pk)");
        // Exists already (ours or not): left alone either way.
        self.write(key, || self.put_sent(key, &put), |_| true)
            .await
            .map(|_| ())
    }

    /// Takes the lease for the next slice: only if the run is still at `slices` slices and
    /// nobody holds an unexpired lease.
    pub(super) async fn claim(
        &self,
        key: &str,
        slices: u64,
        owner: &str,
        until_ms: u64,
    ) -> Result<bool, ProviderError> {
        let u = |b: Upd| {
            b
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
        };
        self.write(
            key,
            || self.update_sent(key, &u),
            |i| attr_s(i, "LeaseOwner") == Some(owner) && attr_n(i, "LeaseUntil") == Some(until_ms),
        )
        .await
    }

    /// Records a finished slice (only while holding the lease) and releases the lease.
    pub(super) async fn commit(
        &self,
        key: &str,
        owner: &str,
        slices: u64,
        measured_ms: u64,
        report: &str,
    ) -> Result<bool, ProviderError> {
        let u = |b: Upd| {
            b
            .update_expression(
                "SET Slices = :n1, MeasuredMs = :m, Report = :r, Expires = :x, Writer = :o REMOVE LeaseOwner, LeaseUntil",
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
        };
        self.write(
            key,
            || self.update_sent(key, &u),
            |i| attr_s(i, "Writer") == Some(owner) && attr_n(i, "Slices") == Some(slices + 1),
        )
        .await
    }

    /// Takes a once-per-request record: created if absent, or taken over when its runner's
    /// lease expired before it wrote a result. False when another invocation holds it or it
    /// is final.
    ///
    /// `writer` names this invocation ([`writer_token`]): a retry of this write that fails its
    /// condition on this write's own record is recognised by it.
    pub async fn claim_once(
        &self,
        key: &str,
        until_ms: u64,
        writer: &str,
    ) -> Result<bool, ProviderError> {
        let put = |b: Put| {
            new_record(b)
                .item("LeaseUntil", n(until_ms))
                .item("Writer", s(writer))
                .condition_expression(
                    "attribute_not_exists(Pk) OR (#s = :running AND LeaseUntil < :now)",
                )
                .expression_attribute_names("#s", "Status")
                .expression_attribute_values(":running", s(RUNNING))
                .expression_attribute_values(":now", n(now_ms()))
        };
        self.write(
            key,
            || self.put_sent(key, &put),
            |i| attr_s(i, "Writer") == Some(writer) && attr_s(i, "Status") == Some(RUNNING),
        )
        .await
    }

    /// Records a once-per-request result (`report`: the answer's data, as JSON).
    pub async fn finish_once(
        &self,
        key: &str,
        status: HookStatus,
        reason: &str,
        report: &str,
    ) -> Result<(), ProviderError> {
        let u = |b: Upd| {
            b.update_expression(
                "SET #s = :st, Reason = :reason, Report = :r, Expires = :x REMOVE LeaseUntil",
            )
            .expression_attribute_names("#s", "Status")
            .expression_attribute_values(":st", s(status.as_str()))
            .expression_attribute_values(":reason", s(reason))
            .expression_attribute_values(":r", s(report))
            .expression_attribute_values(":x", n(expires()))
        };
        // Unconditional: a repeat sets the same values.
        self.write(key, || self.update_sent(key, &u), |_| true)
            .await
            .map(|_| ())
    }

    /// Gives the lease back (only if still ours), so that the next invocation runs the slice
    /// again at once instead of waiting for the lease to expire.
    pub(super) async fn release(&self, key: &str, owner: &str) -> Result<bool, ProviderError> {
        let u = |b: Upd| {
            b.update_expression("REMOVE LeaseOwner, LeaseUntil")
                .condition_expression("LeaseOwner = :o")
                .expression_attribute_values(":o", s(owner))
        };
        // Released: nobody's lease is left, whoever's write that was.
        self.write(
            key,
            || self.update_sent(key, &u),
            |i| !i.contains_key("LeaseOwner"),
        )
        .await
    }

    /// Writes the final answer (only while holding the lease); it never changes afterwards.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn finish(
        &self,
        key: &str,
        owner: &str,
        slices: u64,
        measured_ms: u64,
        report: Option<&str>,
        status: HookStatus,
        reason: &str,
    ) -> Result<bool, ProviderError> {
        let u = |b: Upd| {
            let b = b
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
            match report {
            Some(r) => b
                .update_expression("SET #s = :st, Reason = :reason, Slices = :n1, MeasuredMs = :m, Report = :r, Expires = :x, Writer = :o REMOVE LeaseOwner, LeaseUntil")
                .expression_attribute_values(":r", s(r)),
            None => b.update_expression("SET #s = :st, Reason = :reason, Slices = :n1, MeasuredMs = :m, Expires = :x, Writer = :o REMOVE LeaseOwner, LeaseUntil"),
            }
        };
        self.write(
            key,
            || self.update_sent(key, &u),
            |i| {
                attr_s(i, "Writer") == Some(owner)
                    && attr_n(i, "Slices") == Some(slices + 1)
                    && attr_s(i, "Status") == Some(status.as_str())
            },
        )
        .await
    }
}

/// Errors that calling again will not cure: DynamoDB's 400 errors marked "OK to retry? No"
/// (a missing table, denied access, a malformed request), and a record this code cannot read.
/// Throttling (ProvisionedThroughputExceededException, ThrottlingException,
/// RequestLimitExceeded), server errors and network failures are worth another invocation.
/// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html
pub fn is_configuration_error(e: &ProviderError) -> bool {
    const PERMANENT: &[&str] = &[
        "AccessDeniedException",
        "IncompleteSignatureException",
        "MissingAuthenticationTokenException",
        "ResourceNotFoundException",
        "UnrecognizedClientException",
        "ValidationException",
    ];
    match e {
        ProviderError::Aws { message, .. } => message
            .split(':')
            .next()
            .is_some_and(|code| PERMANENT.contains(&code.trim())),
        ProviderError::Exhausted(_) | ProviderError::BadProperty { .. } => true,
        _ => false,
    }
}

fn expires() -> u64 {
    (now_ms() / 1000) + RECORD_TTL.as_secs()
}

type Upd = aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
type Put = aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder;

/// A PutItem of a new, running record.
fn new_record(b: Put) -> Put {
    b.item("Status", s(RUNNING))
        .item("Slices", n(0))
        .item("MeasuredMs", n(0))
        .item("Expires", n(expires()))
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

/// A conditional write's result: `Err((true, _))` when its condition failed
/// (`ConditionalCheckFailedException`, which writes nothing:
/// https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_PutItem.html,
/// https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateItem.html).
fn conditional<T, E>(
    operation: &'static str,
    sent: Result<
        T,
        aws_sdk_dynamodb::error::SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
    >,
    condition_failed: impl Fn(&E) -> bool,
) -> Result<(), (bool, ProviderError)>
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    sent.map(|_| ()).map_err(|e| {
        let lost = e.as_service_error().is_some_and(&condition_failed);
        (lost, ProviderError::sdk(operation, &e))
    })
}
