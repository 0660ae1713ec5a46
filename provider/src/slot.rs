//! One allocator for "a numbered slot on an ALB": a listener port on a load balancer
//! (`Custom::FargateListenerPort`) or a rule priority on a listener
//! (`Custom::FargateListenerRule`). `listener_port.rs` and `listener_rule.rs` are the adapters.
//!
//! The claim is the create: ELBv2 refuses a second listener on a port (`DuplicateListener`) and
//! a second rule at a priority (`PriorityInUse`), so a caller that loses a race to a concurrent
//! stack marks the number taken and tries the next one, re-reading what is taken every 10
//! losses. What it creates is tagged with the stack ID and logical ID, so a repeated Create
//! (Lambda's retry after a crash, a duplicate delivery, a deadline abort after the create)
//! adopts its own listener or rule instead of claiming a second one. `CreateListener` is
//! idempotent for identical settings and may hand back another resource's listener: the tags
//! decide whose it is. Quotas are ELBv2's own (`TooManyListeners`, `TooManyRules`): both are
//! adjustable, so a fixed count here would refuse claims an account is allowed.

use crate::request::{Request, RequestType};
use crate::respond::Outcome;
use crate::retry::{retrying, transient, Backoff};
use crate::ProviderError;
use aws_sdk_elasticloadbalancingv2::config::http::HttpResponse;
use aws_sdk_elasticloadbalancingv2::error::ProvideErrorMetadata;
use aws_sdk_elasticloadbalancingv2::types::{Action, ActionTypeEnum, Tag};
use aws_sdk_elasticloadbalancingv2::Client;
use std::collections::BTreeSet;

const MAX_ATTEMPTS: usize = 200;
/// Tag keys marking what the provider created (ELBv2 tags: key <= 128, value <= 256 chars).
pub const STACK_TAG: &str = "fargate-app:stack-id";
pub const LOGICAL_TAG: &str = "fargate-app:logical-id";
const MAX_TAG_VALUE: usize = 256;
/// DescribeTags takes at most 20 resource ARNs a call.
const TAGS_PER_CALL: usize = 20;

/// The tags of one ELBv2 resource (load balancer, listener or rule) as DescribeTags answers
/// them now: one call, no read-after-write promised
/// (https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_DescribeTags.html).
/// Shared by the failover's route tags and the listener port's freed-port record.
pub async fn tags_of(elb: &Client, arn: &str) -> Result<Vec<(String, String)>, ProviderError> {
    let out = elb
        .describe_tags()
        .resource_arns(arn)
        .send()
        .await
        .map_err(|e| ProviderError::sdk("DescribeTags", &e))?;
    Ok(out
        .tag_descriptions()
        .iter()
        .filter(|d| d.resource_arn().is_none_or(|a| a == arn))
        .flat_map(|d| d.tags())
        .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
        .collect())
}

/// Sets one tag on an ELBv2 resource (AddTags replaces the value of a key it already has:
/// https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_AddTags.html).
pub async fn add_tag(elb: &Client, arn: &str, key: &str, value: &str) -> Result<(), ProviderError> {
    elb.add_tags()
        .resource_arns(arn)
        .tags(Tag::builder().key(key).value(value).build())
        .send()
        .await
        .map(|_| ())
        .map_err(|e| ProviderError::sdk("AddTags", &e))
}

/// What a call on one listener or rule answered, or `None` when it is gone: the call failed
/// with the error `gone` recognises (`ListenerNotFound`, `RuleNotFound`: the errors of
/// DescribeListeners, ModifyListener, DeleteListener and their rule counterparts,
/// https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_DeleteListener.html,
/// https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_DeleteRule.html).
/// Any other error (a missing certificate or target group too) is the call's failure.
pub fn unless_gone<T, E>(
    operation: &'static str,
    result: Result<T, aws_sdk_elasticloadbalancingv2::error::SdkError<E, HttpResponse>>,
    gone: impl Fn(&E) -> bool,
) -> Result<Option<T>, ProviderError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.as_service_error().is_some_and(&gone) => Ok(None),
        Err(e) => Err(ProviderError::sdk(operation, &e)),
    }
}

/// A listener or rule holding a number.
#[derive(Debug, Clone)]
pub struct Holder {
    pub number: u32,
    pub arn: String,
    pub actions: Vec<Action>,
}

/// How one create attempt ended.
pub enum Attempt<T> {
    Won(T),
    /// Someone else holds the number now.
    Taken,
    Failed(ProviderError),
}

/// What the allocator needs from one kind of slot.
pub(crate) trait Slot: Sized {
    /// "port", "priority".
    const NUMBER: &'static str;
    /// True when the create call may return an existing holder (ELBv2's idempotent
    /// CreateListener), whose owner must then be checked.
    const CREATE_MAY_RETURN_EXISTING: bool;
    fn parse(req: &Request) -> Result<Self, ProviderError>;
    /// Whether an Update keeps the existing holder (same scope and range).
    fn same_claim(&self, req: &Request) -> bool;
    fn range(&self) -> (u32, u32);
    /// Where numbers are unique, for reasons: "load balancer arn:...".
    fn scope(&self) -> String;
    fn target_group(&self) -> &str;
    async fn holders(&self, elb: &Client) -> Result<Vec<Holder>, ProviderError>;
    /// One holder by ARN; None when it is gone.
    async fn holder(elb: &Client, arn: &str) -> Result<Option<Holder>, ProviderError>;
    async fn create(&self, elb: &Client, number: u32, tags: Vec<Tag>) -> Attempt<String>;
    /// Applies the settings to an existing holder; `forward: None` leaves its actions as they
    /// are. False when the holder is gone.
    async fn modify(
        &self,
        elb: &Client,
        arn: &str,
        forward: Option<Action>,
    ) -> Result<bool, ProviderError>;
    async fn delete(elb: &Client, arn: &str) -> Result<(), ProviderError>;
    async fn outcome(&self, elb: &Client, arn: &str, number: u32)
        -> Result<Outcome, ProviderError>;
    /// True when the slot keeps a record of freed numbers ([`Slot::recently_freed`]): its
    /// Delete then reads the holder's number before deleting it.
    fn remembers_frees(&self) -> bool {
        false
    }
    /// Numbers freed lately, oldest first: a claim tries them after every other free number.
    async fn recently_freed(&self, _elb: &Client) -> Vec<u32> {
        Vec::new()
    }
    /// Records that `number` was freed (best effort: a claim without the record only loses
    /// the preference).
    async fn record_freed(&self, _elb: &Client, _number: u32) {}
}

/// A plain forward to one target group.
pub fn forward(target_group: &str) -> Action {
    Action::builder()
        .r#type(ActionTypeEnum::Forward)
        .target_group_arn(target_group)
        .build()
}

/// Target groups a forward action sends to, with their weights (a plain forward: weight 1).
pub fn forward_targets(actions: &[Action]) -> Vec<(String, i32)> {
    let Some(a) = actions
        .iter()
        .find(|a| a.r#type() == Some(&ActionTypeEnum::Forward))
    else {
        return Vec::new();
    };
    match a.forward_config().map(|fc| fc.target_groups()) {
        Some(tgs) if !tgs.is_empty() => tgs
            .iter()
            .filter_map(|t| Some((t.target_group_arn()?.to_string(), t.weight().unwrap_or(1))))
            .collect(),
        _ => a
            .target_group_arn()
            .map(|tg| vec![(tg.to_string(), 1)])
            .unwrap_or_default(),
    }
}

/// A weighted forward over two or more target groups including `target_group`: a failover
/// resource owns it and sets its weights.
pub fn weighted_over(actions: &[Action], target_group: &str) -> bool {
    let tgs = forward_targets(actions);
    tgs.len() > 1 && tgs.iter().any(|(tg, _)| tg == target_group)
}

/// The resource a request is about, as tags.
struct Owner {
    stack: String,
    logical: String,
}

fn tag_value(s: &str) -> String {
    s.chars().take(MAX_TAG_VALUE).collect()
}

impl Owner {
    fn of(req: &Request) -> Owner {
        Owner {
            stack: tag_value(&req.stack_id),
            logical: tag_value(&req.logical_resource_id),
        }
    }
    fn tags(&self) -> Vec<Tag> {
        vec![
            Tag::builder().key(STACK_TAG).value(&self.stack).build(),
            Tag::builder().key(LOGICAL_TAG).value(&self.logical).build(),
        ]
    }
    fn owns(&self, tags: &[Tag]) -> bool {
        let has = |k: &str, v: &str| {
            tags.iter()
                .any(|t| t.key() == Some(k) && t.value() == Some(v))
        };
        has(STACK_TAG, &self.stack) && has(LOGICAL_TAG, &self.logical)
    }
}

/// Whose a holder is, by its tags.
#[derive(Debug, PartialEq)]
enum Whose {
    /// Tagged with this resource's stack and logical ID.
    Ours,
    /// Tagged with this stack's ID and another logical ID (another resource of the stack).
    OurStack,
    /// Tagged with another stack's ID: never modified or deleted on this request.
    Theirs(String),
    /// No stack tag (made by hand, or tags not yet visible).
    Untagged,
}

async fn whose(elb: &Client, arn: &str, owner: &Owner) -> Result<Whose, ProviderError> {
    let read = || async {
        match elb.describe_tags().resource_arns(arn).send().await {
            Ok(out) => Ok(Ok(out)),
            Err(e) if transient(&e) => Err(ProviderError::sdk("DescribeTags", &e)),
            Err(e) => Ok(Err(e)),
        }
    };
    let out = match retrying("DescribeTags", read).await? {
        Ok(out) => out,
        // Gone: nobody's (DescribeTags answers ListenerNotFound, RuleNotFound, ...).
        Err(e)
            if e.as_service_error()
                .and_then(ProvideErrorMetadata::code)
                .is_some_and(|c| c.ends_with("NotFound")) =>
        {
            return Ok(Whose::Untagged)
        }
        Err(e) => return Err(ProviderError::sdk("DescribeTags", &e)),
    };
    let tags = out
        .tag_descriptions()
        .iter()
        .find(|d| d.resource_arn() == Some(arn))
        .map(|d| d.tags().to_vec())
        .unwrap_or_default();
    if owner.owns(&tags) {
        return Ok(Whose::Ours);
    }
    Ok(
        match tags
            .iter()
            .find(|t| t.key() == Some(STACK_TAG))
            .and_then(|t| t.value())
        {
            Some(stack) if stack == owner.stack => Whose::OurStack,
            Some(stack) => Whose::Theirs(stack.to_string()),
            None => Whose::Untagged,
        },
    )
}

/// Reads of a just-created holder's tags before an untagged one counts as someone else's:
/// backoff from 200 ms doubling, 12.6 s of waiting in all (ELBv2 states no bound on the lag).
const TAG_READS: u32 = 7;

/// Whose the holder a create call handed back is. Tags given to CreateListener are applied
/// with it, but reads are eventually consistent: "the results from an API command you run
/// might not be immediately visible to all subsequent commands"
/// (https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/Welcome.html and
/// https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html), so a holder with
/// no tags yet is read again, with backoff, before it is taken for someone else's.
async fn whose_created(elb: &Client, arn: &str, owner: &Owner) -> Result<Whose, ProviderError> {
    let mut backoff = Backoff::default();
    let mut read = 1;
    loop {
        let w = whose(elb, arn, owner).await?;
        if w != Whose::Untagged || read >= TAG_READS {
            return Ok(w);
        }
        tokio::time::sleep(backoff.next_wait()).await;
        read += 1;
    }
}

/// The tags of up to [`TAGS_PER_CALL`] holders.
async fn tag_descriptions(
    elb: &Client,
    arns: &[String],
) -> Result<Vec<aws_sdk_elasticloadbalancingv2::types::TagDescription>, ProviderError> {
    let out = retrying("DescribeTags", || async {
        elb.describe_tags()
            .set_resource_arns(Some(arns.to_vec()))
            .send()
            .await
            .map_err(|e| ProviderError::sdk("DescribeTags", &e))
    })
    .await?;
    Ok(out.tag_descriptions().to_vec())
}

/// True when a tag description carries no stack tag: made by hand, or (just created) its tags
/// are not visible yet.
fn untagged(d: &aws_sdk_elasticloadbalancingv2::types::TagDescription) -> bool {
    !d.tags().iter().any(|t| t.key() == Some(STACK_TAG))
}

/// The first of `arns` tagged as the owner's. Tags are read after writes with no guarantee
/// (https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/Welcome.html,
/// https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html): while one of
/// `arns` shows no stack tag it may be ours, just created, so the tags are read again with
/// backoff ([`TAG_READS`] reads) before the answer is "none".
async fn owned(
    elb: &Client,
    arns: &[String],
    owner: &Owner,
) -> Result<Option<String>, ProviderError> {
    let mut backoff = Backoff::default();
    for read in 1..=TAG_READS {
        let mut maybe_ours = false;
        for chunk in arns.chunks(TAGS_PER_CALL) {
            for d in tag_descriptions(elb, chunk).await? {
                if owner.owns(d.tags()) {
                    return Ok(d.resource_arn().map(String::from));
                }
                maybe_ours |= untagged(&d);
            }
        }
        if !maybe_ours || read >= TAG_READS {
            break;
        }
        tokio::time::sleep(backoff.next_wait()).await;
    }
    Ok(None)
}

fn numbers(holders: &[Holder]) -> BTreeSet<u32> {
    holders.iter().map(|h| h.number).collect()
}

/// Create, Update and Delete of a slot resource.
pub(crate) async fn handle<S: Slot>(elb: &Client, req: &Request) -> Result<Outcome, ProviderError> {
    let existing = req
        .physical_resource_id
        .clone()
        .filter(|id| id.starts_with("arn:"));
    match (req.request_type, existing) {
        // A Create that failed before anything existed: nothing to delete.
        // A Create that failed answered a placeholder ID, possibly after its CreateListener or
        // CreateRule took effect (an error returned after success, a deadline cut after the
        // create). The rollback's Delete carries that placeholder, so what this resource made is
        // found by its tags: CloudFormation then deletes the target group, which fails while a
        // listener or rule still forwards to it
        // (https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_DeleteTargetGroup.html).
        (RequestType::Delete, None) => {
            let id = req.physical_resource_id.clone().unwrap_or_default();
            if let Ok(slot) = S::parse(req) {
                delete_leftovers(elb, req, &slot).await?;
            }
            Ok(Outcome::new(id))
        }
        (RequestType::Delete, Some(arn)) => {
            match whose(elb, &arn, &Owner::of(req)).await? {
                Whose::Theirs(stack) => {
                    tracing::warn!(holder = %arn, owner = %stack, "not deleted: another stack's {}", S::NUMBER)
                }
                Whose::Ours | Whose::OurStack | Whose::Untagged => {
                    let slot = S::parse(req).ok().filter(|s| s.remembers_frees());
                    // Best effort, as the record is: a failed read only leaves the port out.
                    let freed = match &slot {
                        Some(_) => S::holder(elb, &arn).await.ok().flatten().map(|h| h.number),
                        None => None,
                    };
                    retrying("delete", || S::delete(elb, &arn)).await?;
                    if let (Some(slot), Some(n)) = (slot, freed) {
                        slot.record_freed(elb, n).await;
                    }
                }
            }
            Ok(Outcome::new(arn))
        }
        (RequestType::Create, _) | (RequestType::Update, None) => {
            claim(elb, req, &S::parse(req)?).await
        }
        (RequestType::Update, Some(arn)) => {
            let slot = S::parse(req)?;
            if slot.same_claim(req) {
                update_in_place(elb, req, &slot, &arn).await
            } else {
                // A new scope or range is a new claim; CloudFormation deletes the old holder.
                claim(elb, req, &slot).await
            }
        }
    }
}

/// Deletes every holder in the slot's scope tagged as this resource's.
async fn delete_leftovers<S: Slot>(
    elb: &Client,
    req: &Request,
    slot: &S,
) -> Result<(), ProviderError> {
    let owner = Owner::of(req);
    let holders = match retrying("describe", || slot.holders(elb)).await {
        Ok(h) => h,
        // The load balancer or listener is gone, and with it whatever was on it.
        Err(ProviderError::Aws { message, .. }) if message.contains("NotFound") => return Ok(()),
        Err(e) => return Err(e),
    };
    // Ours forward to our target group (a failover re-weights, never removes it).
    let mut arns: Vec<String> = holders
        .iter()
        .filter(|h| {
            forward_targets(&h.actions)
                .iter()
                .any(|(tg, _)| tg == slot.target_group())
        })
        .map(|h| h.arn.clone())
        .collect();
    while let Some(arn) = owned(elb, &arns, &owner).await? {
        tracing::info!(holder = %arn, "deleting the {} a failed Create left", S::NUMBER);
        retrying("delete", || S::delete(elb, &arn)).await?;
        arns.retain(|a| *a != arn);
    }
    Ok(())
}

/// The forward action of a route with failover belongs to the failover resource: an update
/// keeps its weights and changes only the rest.
async fn update_in_place<S: Slot>(
    elb: &Client,
    req: &Request,
    slot: &S,
    arn: &str,
) -> Result<Outcome, ProviderError> {
    let Some(current) = retrying("describe", || S::holder(elb, arn)).await? else {
        // Removed by hand: claim again (a new physical ID).
        return claim(elb, req, slot).await;
    };
    if let Whose::Theirs(stack) = whose(elb, arn, &Owner::of(req)).await? {
        return Err(ProviderError::bad(
            "PhysicalResourceId",
            format!(
                "{arn} belongs to stack {stack}, not to {}: not modified",
                req.stack_id
            ),
        ));
    }
    let old_tg = req.old_prop("TargetGroupArn").unwrap_or_default();
    let failover_owned = weighted_over(&current.actions, slot.target_group())
        || (!old_tg.is_empty() && weighted_over(&current.actions, &old_tg));
    let action = (!failover_owned).then(|| forward(slot.target_group()));
    if !retrying("modify", || slot.modify(elb, arn, action.clone())).await? {
        return claim(elb, req, slot).await;
    }
    retrying("describe", || slot.outcome(elb, arn, current.number)).await
}

async fn claim<S: Slot>(elb: &Client, req: &Request, slot: &S) -> Result<Outcome, ProviderError> {
    let owner = Owner::of(req);
    let holders = retrying("describe", || slot.holders(elb)).await?;
    // A repeated Create (or replacing Update): our own holder forwards to our target group,
    // holds a number of the range and carries our tags. The holder being replaced is not one.
    let (low, high) = slot.range();
    let replaced = req.physical_resource_id.as_deref();
    let candidates: Vec<String> = holders
        .iter()
        .filter(|h| {
            (low..=high).contains(&h.number)
                && Some(h.arn.as_str()) != replaced
                && forward_targets(&h.actions)
                    .iter()
                    .any(|(tg, _)| tg == slot.target_group())
        })
        .map(|h| h.arn.clone())
        .collect();
    if let Some(arn) = owned(elb, &candidates, &owner).await? {
        if let Some(h) = holders.iter().find(|h| h.arn == arn) {
            tracing::info!(number = h.number, holder = %arn, "adopted the {} this resource created before", S::NUMBER);
            return retrying("describe", || slot.outcome(elb, &h.arn, h.number)).await;
        }
    }
    let refresh = || async { Ok(numbers(&retrying("describe", || slot.holders(elb)).await?)) };
    let owner = &owner;
    let create = |n: u32, attempt: usize| async move {
        match create_retrying(slot, elb, n, owner.tags()).await {
            Attempt::Won(arn) if S::CREATE_MAY_RETURN_EXISTING => {
                match whose_created(elb, &arn, owner).await {
                    Ok(Whose::Ours) => Attempt::Won((arn, n)),
                    // An identical listener of someone else's, handed back by ELBv2.
                    Ok(_) => Attempt::Taken,
                    // Whose it is stays unknown: answer FAILED; the rollback's Delete finds
                    // ours by its tags (never someone else's).
                    Err(e) => Attempt::Failed(e),
                }
            }
            Attempt::Won(arn) => Attempt::Won((arn, n)),
            // The number may have been taken by this same request delivered twice at once
            // (Lambda may run a duplicate of an event concurrently). CreateRule is not
            // idempotent, so the holder's tags decide; CreateListener hands back our identical
            // listener instead of DuplicateListener (the branch above), so a listener's loss is
            // someone else's.
            Attempt::Taken if !S::CREATE_MAY_RETURN_EXISTING => {
                match holder_of(elb, slot, n, owner).await {
                    Ok(Some(arn)) => Attempt::Won((arn, n)),
                    Ok(None) => Attempt::Taken,
                    Err(e) => Attempt::Failed(e),
                }
            }
            Attempt::Taken => Attempt::Taken,
            Attempt::Failed(e) => Attempt::Failed(e),
        }
        .log(n, attempt, S::NUMBER)
    };
    let last = slot.recently_freed(elb).await;
    let (arn, n) = lowest_free(
        S::NUMBER,
        &slot.scope(),
        slot.range(),
        numbers(&holders),
        &last,
        refresh,
        create,
    )
    .await?;
    retrying("describe", || slot.outcome(elb, &arn, n)).await
}

/// One create call, made again on throttling or a transient error ([`retrying`]). Safe: an
/// attempt that took effect before its error is found by its tags (CreateListener hands the
/// same listener back; CreateRule answers PriorityInUse and the rule's tags are ours).
async fn create_retrying<S: Slot>(
    slot: &S,
    elb: &Client,
    n: u32,
    tags: Vec<Tag>,
) -> Attempt<String> {
    let once = || async {
        match slot.create(elb, n, tags.clone()).await {
            Attempt::Failed(e) => Err(e),
            a => Ok(a),
        }
    };
    retrying("create", once)
        .await
        .unwrap_or_else(Attempt::Failed)
}

/// The holder of number `n`, when it is this resource's.
async fn holder_of<S: Slot>(
    elb: &Client,
    slot: &S,
    n: u32,
    owner: &Owner,
) -> Result<Option<String>, ProviderError> {
    let arns: Vec<String> = retrying("describe", || slot.holders(elb))
        .await?
        .into_iter()
        .filter(|h| h.number == n)
        .map(|h| h.arn)
        .collect();
    owned(elb, &arns, owner).await
}

impl<T> Attempt<T> {
    fn log(self, n: u32, attempt: usize, what: &str) -> Self {
        match &self {
            Attempt::Won(_) => tracing::info!(number = n, attempt, "claimed {what}"),
            Attempt::Taken => tracing::debug!(number = n, attempt, "{what} taken meanwhile"),
            Attempt::Failed(_) => {}
        }
        self
    }
}

/// The number a claim tries next: the lowest of `range` neither taken nor in `last`, else the
/// first of `last` (oldest freed first) in the range and not taken.
pub fn next_free(range: (u32, u32), taken: &BTreeSet<u32>, last: &[u32]) -> Option<u32> {
    (range.0..=range.1)
        .find(|x| !taken.contains(x) && !last.contains(x))
        .or_else(|| {
            last.iter()
                .copied()
                .find(|x| (range.0..=range.1).contains(x) && !taken.contains(x))
        })
}

/// Claims the lowest number of `range` not in `taken` by calling `create` on it, trying the
/// numbers of `last` (recently freed, oldest first) only after every other; a lost race marks
/// the number taken and moves on, re-reading `taken` every 10 losses.
pub async fn lowest_free<T, R, C>(
    what: &str,
    scope: &str,
    range: (u32, u32),
    mut taken: BTreeSet<u32>,
    last: &[u32],
    refresh: impl Fn() -> R,
    create: impl Fn(u32, usize) -> C,
) -> Result<T, ProviderError>
where
    R: std::future::Future<Output = Result<BTreeSet<u32>, ProviderError>>,
    C: std::future::Future<Output = Attempt<T>>,
{
    for attempt in 0..MAX_ATTEMPTS {
        let Some(n) = next_free(range, &taken, last) else {
            return Err(ProviderError::Exhausted(format!(
                "no free {what} in {}-{} on {scope}: every {what} of the range is taken",
                range.0, range.1
            )));
        };
        match create(n, attempt).await {
            Attempt::Won(t) => return Ok(t),
            Attempt::Failed(e) => return Err(e),
            Attempt::Taken => {
                taken.insert(n);
                if attempt % 10 == 9 {
                    taken.extend(refresh().await?);
                }
            }
        }
    }
    Err(ProviderError::Exhausted(format!(
        "gave up after {MAX_ATTEMPTS} attempts to claim a {what} on {scope}"
    )))
}

#[cfg(test)]
mod tests {
    use super::next_free;

    /// One table: what a claim tries first, given what is taken and what was freed lately.
    #[test]
    fn next_free_puts_recently_freed_numbers_last() {
        // (case, range, taken, freed lately oldest first, what is tried first)
        type Case<'a> = (&'a str, (u32, u32), &'a [u32], &'a [u32], Option<u32>);
        let cases: &[Case] = &[
            (
                "no record: the lowest",
                (9000, 9003),
                &[9000],
                &[],
                Some(9001),
            ),
            (
                "a just-freed port is skipped",
                (9000, 9003),
                &[9001],
                &[9000],
                Some(9002),
            ),
            (
                "every unrecorded port taken: the oldest freed",
                (9000, 9003),
                &[9000, 9001],
                &[9003, 9002],
                Some(9003),
            ),
            (
                "oldest freed is taken again: the next oldest",
                (9000, 9003),
                &[9000, 9001, 9003],
                &[9003, 9002],
                Some(9002),
            ),
            (
                "a record outside the range is ignored",
                (9000, 9001),
                &[9000],
                &[7000, 9001],
                Some(9001),
            ),
            (
                "range exhausted",
                (9000, 9001),
                &[9000, 9001],
                &[9001],
                None,
            ),
        ];
        for (name, range, taken, last, want) in cases {
            let taken = taken.iter().copied().collect();
            assert_eq!(next_free(*range, &taken, last), *want, "{name}");
        }
    }
}
