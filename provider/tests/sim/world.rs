//! The simulated AWS: one state the provider's SDK clients read and write through
//! `aws-smithy-mocks` rules, a seeded fault schedule, and virtual time (tokio's paused clock).
//!
//! | AWS behaviour reproduced | Fake | Page |
//! |---|---|---|
//! | `CreateListener` with the settings of an existing listener on that port succeeds and returns it; other settings on a taken port: `DuplicateListener` | `create_listener` | <https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateListener.html> |
//! | `CreateRule` at a taken priority: `PriorityInUse` (not documented as idempotent: a second call makes a second rule) | `create_rule` | <https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateRule.html> |
//! | `DescribeTags` takes at most 20 ARNs; tags given on create are the resource's tags | `describe_tags` | <https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_DescribeTags.html> |
//! | Tags of a just-created resource may not be visible yet (eventual consistency of reads after writes) | `tag_lag` | <https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html (the EC2 API's statement; ELBv2's reference promises no read-after-write for tags)> |
//! | `ModifyListener`/`DeleteListener`/`ModifyRule`/`DeleteRule` on a missing ARN: `ListenerNotFound`/`RuleNotFound` | `modify_*`, `delete_*` | <https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_DeleteListener.html> |
//! | `DescribeTargetHealth`: a new task's target is `initial` until it passes its health checks | `describe_target_health` | <https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html> |
//! | `UpdateService` sets `desiredCount`; `DescribeServices` reports it; tasks start later | `update_service`, `describe_services` | <https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_UpdateService.html> |
//! | `DescribeServices` returns a service's tags only when asked with `include=TAGS` | `describe_services` | <https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeServices.html> |
//! | `DescribeServiceDeployments` reports the deployment's status (`ROLLBACK_IN_PROGRESS`...) | `describe_service_deployments` | <https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeServiceDeployments.html> |
//! | `ListServiceDeployments` lists a service's deployments whose status is in the filter (all without one) | `list_service_deployments` | <https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListServiceDeployments.html> |
//! | `DescribeAlarms` returns the alarm's current state | `describe_alarms` | <https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarms.html> |
//! | DynamoDB conditional writes: a false condition is `ConditionalCheckFailedException` and writes nothing; a missing table is `ResourceNotFoundException`; `ProvisionedThroughputExceededException` when throttled | `ddb_*` | <https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateItem.html> |
//! | Throttling (`Throttling`, 400) and server errors (500) are returned once the SDK's retries are spent; the SDK's own retries are off here, so one injected error stands for the last of them | `Fate::Throttle`, `Fate::AfterEffect` | <https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html> |
//! | A server error can come after the change took effect (the caller cannot tell) | `Fate::AfterEffect` | <https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html> |
//! | Lambda runs an invocation at most until its timeout, may crash at any point, retries an asynchronous invocation that failed (1 and 2 minutes later) and may deliver the same event more than once | `crash`, duplicates in the schedules | <https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html> |
//! | CloudFormation's response: one PUT of at most 4096 bytes to the pre-signed ResponseURL before `ServiceTimeout` | `answers` (the body `respond::run` builds) | <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-responses.html> |
#![allow(dead_code)]

use aws_sdk_cloudwatch as cw;
use aws_sdk_dynamodb as ddb;
use aws_sdk_ecs as ecs;
use aws_sdk_elasticloadbalancingv2 as elb;
use aws_smithy_mocks::{mock, mock_client, MockResponse, Rule, RuleMode};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::CreateUnhandledError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::error::ErrorMetadata;
use aws_smithy_types::retry::RetryConfig;
use ddb::types::AttributeValue;
use elb::types::{Action, Listener, LoadBalancer, Rule as ElbRule, Tag, TagDescription};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// SplitMix64: small, seedable, the same sequence on every machine.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
    /// True with probability `per_mille`/1000.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
    pub fn ms(&mut self, max_ms: u64) -> Duration {
        Duration::from_millis(self.below(max_ms + 1))
    }
}

/// Fault kinds, counted for the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fault {
    Latency,
    Throttle,
    ErrorAfterEffect,
    TagLag,
    HealthLag,
    Crash,
    Duplicate,
    Late,
    Concurrent,
    StoreHang,
    ConfigError,
    Drift,
    AlarmFlip,
}

/// How likely each fault is in one schedule (per mille per call).
#[derive(Debug, Clone)]
pub struct Profile {
    pub throttle: u64,
    pub after_effect: u64,
    pub slow: u64,
    /// Most latency of a slow call.
    pub slow_ms: u64,
    pub hang: u64,
    pub tag_lag_ms: u64,
}

/// What the schedule does to one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    Normal,
    /// Refused before any effect (throttled past the SDK's retries).
    Throttle,
    /// The change is made, then a 500 is returned.
    AfterEffect,
}

#[derive(Debug, Clone)]
pub struct LState {
    pub port: i32,
    pub lb: String,
    pub settings: String,
    pub actions: Vec<Action>,
    pub tags: Vec<(String, String)>,
    pub tags_visible_at: Instant,
}

#[derive(Debug, Clone)]
pub struct RState {
    pub priority: i32,
    pub listener: String,
    pub actions: Vec<Action>,
    pub tags: Vec<(String, String)>,
    pub tags_visible_at: Instant,
}

#[derive(Debug, Clone, Default)]
pub struct Service {
    pub desired: i32,
    /// The service's tags (DescribeServices returns them when asked with `include=TAGS`).
    pub tags: Vec<(String, String)>,
    /// When each task's target turns healthy.
    pub tasks: Vec<Instant>,
}

pub type Item = HashMap<String, AttributeValue>;

/// Everything the simulated account holds.
pub struct World {
    pub rng: Rng,
    pub profile: Profile,
    pub faults: BTreeMap<Fault, u64>,
    pub listeners: BTreeMap<String, LState>,
    pub rules: BTreeMap<String, RState>,
    pub next_id: u64,
    pub services: BTreeMap<String, Service>,
    /// Service name by target group ARN (whose tasks register there).
    pub tg_service: BTreeMap<String, String>,
    pub health_lag_ms: u64,
    pub alarm: String,
    pub deployment_status: String,
    pub stack_status: String,
    pub table_exists: bool,
    pub access_denied: bool,
    pub items: BTreeMap<String, Item>,
    /// UpdateItem calls that took a lease (the gate's load would start after one).
    pub lease_claims: u64,
    /// Invocations whose process died: their calls never return.
    pub crashed: Vec<bool>,
    /// Call number at which an invocation crashes.
    pub crash_at: Vec<Option<u64>>,
    pub calls_of: Vec<u64>,
    pub calls: Vec<(usize, &'static str)>,
    /// Weight moved onto a service's target group while none of its targets was healthy.
    pub unhealthy_shifts: Vec<String>,
    /// The invocation behind each listener or rule created.
    pub created_by: Vec<usize>,
    /// DescribeStacks is denied (a role without cloudformation:DescribeStacks).
    pub stacks_denied: bool,
    /// Load runs the gate's workers made: (request, milliseconds of load).
    pub load_runs: Vec<u64>,
}

impl World {
    pub fn new(seed: u64, profile: Profile) -> World {
        World {
            rng: Rng::new(seed),
            profile,
            faults: BTreeMap::new(),
            listeners: BTreeMap::new(),
            rules: BTreeMap::new(),
            next_id: 0,
            services: BTreeMap::new(),
            tg_service: BTreeMap::new(),
            health_lag_ms: 0,
            alarm: "OK".into(),
            deployment_status: "IN_PROGRESS".into(),
            stack_status: "UPDATE_IN_PROGRESS".into(),
            table_exists: true,
            access_denied: false,
            items: BTreeMap::new(),
            lease_claims: 0,
            crashed: Vec::new(),
            crash_at: Vec::new(),
            calls_of: Vec::new(),
            calls: Vec::new(),
            unhealthy_shifts: Vec::new(),
            created_by: Vec::new(),
            stacks_denied: false,
            load_runs: Vec::new(),
        }
    }

    pub fn count(&mut self, f: Fault) {
        *self.faults.entry(f).or_default() += 1;
    }

    /// A new invocation; `crash` picks a call after which its process dies.
    pub fn invocation(&mut self, crash: bool) -> usize {
        let at = crash.then(|| self.rng.below(8) + 1);
        self.crash_at.push(at);
        self.crashed.push(false);
        self.calls_of.push(0);
        self.crashed.len() - 1
    }

    /// The schedule's decision for one call of invocation `inv`.
    pub fn fate(&mut self, inv: usize, op: &'static str) -> Fate {
        self.calls.push((inv, op));
        self.calls_of[inv] += 1;
        if self.crash_at[inv] == Some(self.calls_of[inv]) {
            // The process dies during this call: whether the call took effect is a coin.
            self.crashed[inv] = true;
            self.count(Fault::Crash);
            return if self.rng.chance(500) {
                Fate::Normal
            } else {
                Fate::Throttle
            };
        }
        let (t, a) = (self.profile.throttle, self.profile.after_effect);
        if self.rng.chance(t) {
            self.count(Fault::Throttle);
            Fate::Throttle
        } else if self.rng.chance(a) {
            self.count(Fault::ErrorAfterEffect);
            Fate::AfterEffect
        } else {
            Fate::Normal
        }
    }

    fn latency(&mut self, inv: usize) -> Option<Duration> {
        if self.crashed[inv] {
            return None;
        }
        if self.rng.chance(self.profile.hang) {
            self.count(Fault::StoreHang);
            return Some(Duration::from_secs(20 * 60));
        }
        if self.rng.chance(self.profile.slow) {
            self.count(Fault::Latency);
            let ms = self.profile.slow_ms;
            return Some(self.rng.ms(ms));
        }
        let d = self.rng.ms(40);
        Some(d)
    }

    pub fn tag_delay(&mut self) -> Duration {
        if self.profile.tag_lag_ms > 0 && self.rng.chance(300) {
            self.count(Fault::TagLag);
            let ms = self.profile.tag_lag_ms;
            self.rng.ms(ms)
        } else {
            Duration::ZERO
        }
    }

    /// A new listener's or rule's ARN and when its tags become visible; records that
    /// invocation `inv` made it.
    pub fn create(&mut self, kind: &str, inv: usize) -> (String, Instant) {
        let arn = self.arn(kind);
        let lag = self.tag_delay();
        self.created_by.push(inv);
        (arn, Instant::now() + lag)
    }

    pub fn arn(&mut self, kind: &str) -> String {
        self.next_id += 1;
        format!(
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:{kind}/app/shared/1/{}",
            self.next_id
        )
    }

    pub fn healthy(&self, tg: &str) -> usize {
        let now = Instant::now();
        self.tg_service
            .get(tg)
            .and_then(|s| self.services.get(s))
            .map_or(0, |s| s.tasks.iter().filter(|t| **t <= now).count())
    }

    /// Records a forward that gives weight to a service's target group with no healthy target
    /// (what the failover must never do: it scales up and waits for health first).
    pub fn check_shift(&mut self, before: &[Action], after: &[Action]) {
        let weight = |a: &[Action], tg: &str| {
            fargate_provider::slot::forward_targets(a)
                .iter()
                .find(|(t, _)| t == tg)
                .map_or(0, |(_, w)| *w)
        };
        let tgs: Vec<String> = self.tg_service.keys().cloned().collect();
        for tg in tgs {
            if weight(after, &tg) > 0 && weight(before, &tg) == 0 && self.healthy(&tg) == 0 {
                let note = format!("weight moved to {tg} with 0 healthy targets");
                self.unhealthy_shifts.push(note);
            }
        }
    }

    /// Replaces a listener's or rule's actions (none given: kept); None when it is gone.
    pub fn set_actions(&mut self, arn: &str, new: &[Action]) -> Option<()> {
        let slot = match self.listeners.get_mut(arn) {
            Some(l) => &mut l.actions,
            None => &mut self.rules.get_mut(arn)?.actions,
        };
        let before = slot.clone();
        if !new.is_empty() {
            *slot = new.to_vec();
        }
        let after = slot.clone();
        self.check_shift(&before, &after);
        Some(())
    }

    pub fn set_desired(&mut self, service: &str, n: i32) {
        let lag = self.health_lag_ms;
        let delay = if lag > 0 {
            self.count(Fault::HealthLag);
            self.rng.ms(lag)
        } else {
            Duration::ZERO
        };
        let now = Instant::now();
        let s = self.services.entry(service.to_string()).or_default();
        s.desired = n.max(0);
        let n = s.desired as usize;
        if s.tasks.len() > n {
            s.tasks.truncate(n);
        }
        while s.tasks.len() < n {
            s.tasks.push(now + delay);
        }
    }
}

pub type Shared = Arc<Mutex<World>>;

/// The SDK's HTTP client: virtual latency per call; a crashed invocation's calls never return.
#[derive(Debug, Clone)]
struct Wire {
    world: Arc<Mutex<World>>,
    inv: usize,
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "World")
    }
}

impl HttpConnector for Wire {
    fn call(&self, _request: HttpRequest) -> HttpConnectorFuture {
        let d = self.world.lock().unwrap().latency(self.inv);
        HttpConnectorFuture::new(async move {
            match d {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending::<()>().await,
            }
            // The modeled output or error the rule computed replaces this response.
            Ok(HttpResponse::new(
                200u16.try_into().expect("status"),
                SdkBody::empty(),
            ))
        })
    }
}

impl HttpClient for Wire {
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

fn throttled() -> ErrorMetadata {
    ErrorMetadata::builder()
        .code("Throttling")
        .message("Rate exceeded")
        .build()
}

fn internal() -> ErrorMetadata {
    ErrorMetadata::builder()
        .code("InternalFailure")
        .message("We encountered an internal error. Please try again.")
        .build()
}

/// One page of `all` from `marker` (an index here; ELBv2's marker is opaque).
fn page<T>(all: Vec<T>, marker: Option<&str>) -> (Vec<T>, Option<String>) {
    let start: usize = marker.and_then(|m| m.parse().ok()).unwrap_or(0);
    let next = (start + PAGE < all.len()).then(|| (start + PAGE).to_string());
    (all.into_iter().skip(start).take(PAGE).collect(), next)
}

/// The entries of `map` named in `arns` or, when none is named, those `keep` selects, as
/// `out` describes them.
fn select<S, T>(
    map: &BTreeMap<String, S>,
    arns: &[String],
    keep: impl Fn(&S) -> bool,
    out: fn(&str, &S) -> T,
) -> Vec<T> {
    map.iter()
        .filter(|(a, s)| {
            if arns.is_empty() {
                keep(s)
            } else {
                arns.contains(a)
            }
        })
        .map(|(a, s)| out(a, s))
        .collect()
}

/// A describe's answer: what was asked by ARN whole, a listing one page at a time.
fn listed<T>(arns: &[String], found: Vec<T>, marker: Option<&str>) -> (Vec<T>, Option<String>) {
    if arns.is_empty() {
        page(found, marker)
    } else {
        (found, None)
    }
}

fn listener_gone() -> elb::types::error::ListenerNotFoundException {
    elb::types::error::ListenerNotFoundException::builder()
        .message("The specified listener does not exist")
        .build()
}

fn rule_gone() -> elb::types::error::RuleNotFoundException {
    elb::types::error::RuleNotFoundException::builder()
        .message("The specified rule does not exist")
        .build()
}

fn tags_of(tags: &[Tag]) -> Vec<(String, String)> {
    tags.iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().to_string(),
                t.value().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn listener_out(arn: &str, l: &LState) -> Listener {
    Listener::builder()
        .listener_arn(arn)
        .port(l.port)
        .load_balancer_arn(&l.lb)
        .set_default_actions(Some(l.actions.clone()))
        .build()
}

fn rule_out(arn: &str, r: &RState) -> ElbRule {
    ElbRule::builder()
        .rule_arn(arn)
        .priority(r.priority.to_string())
        .set_actions(Some(r.actions.clone()))
        .is_default(false)
        .build()
}

/// The error a caller sees for an injected fault: the operation's unmodeled error carrying
/// `meta` (its code and message), as the SDK builds it from an error response it has no
/// variant for.
fn fail<O, E: CreateUnhandledError>(meta: ErrorMetadata) -> MockResponse<O, E> {
    MockResponse::Error(E::create_unhandled_error(
        Box::new(meta.clone()),
        Some(meta),
    ))
}

/// One mocked operation: the schedule decides the call's fate; `$body` computes the response
/// from the world (run for `Normal` and `AfterEffect`, whose response is then replaced by a 500).
/// The operation's error type comes from the operation (the older form naming it still works).
macro_rules! op {
    ($world:expr, $inv:expr, $op:path, |$w:ident, $req:ident| $body:expr) => {{
        let world = $world.clone();
        let inv = $inv;
        mock!($op).then_compute_response(move |$req| {
            let mut guard = world.lock().unwrap();
            let $w: &mut World = &mut guard;
            let fate = $w.fate(inv, stringify!($op));
            if fate == Fate::Throttle {
                return fail(throttled());
            }
            let response = $body;
            if fate == Fate::AfterEffect {
                return fail(internal());
            }
            response
        })
    }};
    ($world:expr, $inv:expr, $op:path, $err:ty, |$w:ident, $req:ident| $body:expr) => {
        op!($world, $inv, $op, |$w, $req| $body)
    };
}

/// An SDK client of `$krate` serving `$rules`, its calls delayed by [`Wire`], the SDK's own
/// retries off (one injected error stands for the last of them).
macro_rules! sim_client {
    ($krate:ident, $world:expr, $inv:expr, $rules:expr) => {{
        let wire = Wire {
            world: $world.clone(),
            inv: $inv,
        };
        mock_client!($krate, RuleMode::MatchAny, $rules.iter(), |c| c
            .http_client(wire.clone())
            .retry_config(RetryConfig::disabled()))
    }};
}

/// Page size of the fake's describes (ELBv2 allows up to 400; a small page exercises markers).
const PAGE: usize = 7;

pub fn elb_client(world: &Shared, inv: usize) -> elb::Client {
    use elb::operation::{
        create_listener::*, create_rule::*, delete_listener::*, delete_rule::*,
        describe_listeners::*, describe_load_balancers::*, describe_rules::*, describe_tags::*,
        modify_listener::*, modify_rule::*,
    };
    use elb::types::error::*;
    let rules: Vec<Rule> = vec![
        op!(
            world,
            inv,
            elb::Client::describe_load_balancers,
            |_w, req| {
                MockResponse::Output(
                    DescribeLoadBalancersOutput::builder()
                        .set_load_balancers(Some(
                            req.load_balancer_arns()
                                .iter()
                                .map(|a| {
                                    LoadBalancer::builder()
                                        .load_balancer_arn(a)
                                        .dns_name("shared-1.elb.test")
                                        .build()
                                })
                                .collect(),
                        ))
                        .build(),
                )
            }
        ),
        op!(world, inv, elb::Client::describe_listeners, |w, req| {
            let (arns, lb) = (req.listener_arns(), req.load_balancer_arn());
            let found = select(
                &w.listeners,
                arns,
                |l| Some(l.lb.as_str()) == lb,
                listener_out,
            );
            if !arns.is_empty() && found.is_empty() {
                return MockResponse::Error(DescribeListenersError::ListenerNotFoundException(
                    ListenerNotFoundException::builder()
                        .message("One or more listeners not found")
                        .build(),
                ));
            }
            let (items, next) = listed(arns, found, req.marker());
            MockResponse::Output(
                DescribeListenersOutput::builder()
                    .set_listeners(Some(items))
                    .set_next_marker(next)
                    .build(),
            )
        }),
        op!(world, inv, elb::Client::create_listener, |w, req| {
            let port = req.port().unwrap_or_default();
            let lb = req.load_balancer_arn().unwrap_or_default().to_string();
            let settings = format!(
                "{:?}|{:?}|{:?}|{:?}",
                req.protocol(),
                req.certificates(),
                req.ssl_policy(),
                req.default_actions()
            );
            if let Some((arn, l)) = w
                .listeners
                .iter()
                .find(|(_, l)| l.port == port && l.lb == lb)
            {
                if l.settings == settings {
                    return MockResponse::Output(
                        CreateListenerOutput::builder()
                            .listeners(listener_out(arn, l))
                            .build(),
                    );
                }
                return MockResponse::Error(CreateListenerError::DuplicateListenerException(
                    DuplicateListenerException::builder()
                        .message("A listener already exists on this port")
                        .build(),
                ));
            }
            let (arn, tags_visible_at) = w.create("listener", inv);
            let l = LState {
                port,
                lb,
                settings,
                actions: req.default_actions().to_vec(),
                tags: tags_of(req.tags()),
                tags_visible_at,
            };
            let out = listener_out(&arn, &l);
            w.listeners.insert(arn, l);
            MockResponse::Output(CreateListenerOutput::builder().listeners(out).build())
        }),
        op!(world, inv, elb::Client::modify_listener, |w, req| {
            let arn = req.listener_arn().unwrap_or_default();
            match w.set_actions(arn, req.default_actions()) {
                None => MockResponse::Error(ModifyListenerError::ListenerNotFoundException(
                    listener_gone(),
                )),
                Some(()) => MockResponse::Output(
                    ModifyListenerOutput::builder()
                        .listeners(listener_out(arn, &w.listeners[arn]))
                        .build(),
                ),
            }
        }),
        op!(world, inv, elb::Client::delete_listener, |w, req| {
            let arn = req.listener_arn().unwrap_or_default().to_string();
            if w.listeners.remove(&arn).is_none() {
                return MockResponse::Error(DeleteListenerError::ListenerNotFoundException(
                    listener_gone(),
                ));
            }
            w.rules.retain(|_, r| r.listener != arn);
            MockResponse::Output(DeleteListenerOutput::builder().build())
        }),
        op!(world, inv, elb::Client::describe_rules, |w, req| {
            let (arns, listener) = (req.rule_arns(), req.listener_arn().unwrap_or_default());
            let mut found = select(&w.rules, arns, |r| r.listener == listener, rule_out);
            if !arns.is_empty() && found.is_empty() {
                return MockResponse::Error(DescribeRulesError::RuleNotFoundException(
                    RuleNotFoundException::builder()
                        .message("One or more rules not found")
                        .build(),
                ));
            }
            if arns.is_empty() {
                let default = ElbRule::builder()
                    .rule_arn(format!("{listener}/default"))
                    .priority("default")
                    .is_default(true)
                    .build();
                found.insert(0, default);
            }
            let (items, next) = listed(arns, found, req.marker());
            MockResponse::Output(
                DescribeRulesOutput::builder()
                    .set_rules(Some(items))
                    .set_next_marker(next)
                    .build(),
            )
        }),
        op!(world, inv, elb::Client::create_rule, |w, req| {
            let prio = req.priority().unwrap_or_default();
            let listener = req.listener_arn().unwrap_or_default().to_string();
            if w.rules
                .values()
                .any(|r| r.listener == listener && r.priority == prio)
            {
                return MockResponse::Error(CreateRuleError::PriorityInUseException(
                    PriorityInUseException::builder()
                        .message(format!("Priority '{prio}' is currently in use"))
                        .build(),
                ));
            }
            let (arn, tags_visible_at) = w.create("listener-rule", inv);
            let r = RState {
                priority: prio,
                listener,
                actions: req.actions().to_vec(),
                tags: tags_of(req.tags()),
                tags_visible_at,
            };
            let out = rule_out(&arn, &r);
            w.rules.insert(arn, r);
            MockResponse::Output(CreateRuleOutput::builder().rules(out).build())
        }),
        op!(world, inv, elb::Client::modify_rule, |w, req| {
            let arn = req.rule_arn().unwrap_or_default();
            match w.set_actions(arn, req.actions()) {
                None => MockResponse::Error(ModifyRuleError::RuleNotFoundException(rule_gone())),
                Some(()) => MockResponse::Output(
                    ModifyRuleOutput::builder()
                        .rules(rule_out(arn, &w.rules[arn]))
                        .build(),
                ),
            }
        }),
        op!(world, inv, elb::Client::delete_rule, |w, req| {
            let arn = req.rule_arn().unwrap_or_default().to_string();
            if w.rules.remove(&arn).is_none() {
                return MockResponse::Error(DeleteRuleError::RuleNotFoundException(rule_gone()));
            }
            MockResponse::Output(DeleteRuleOutput::builder().build())
        }),
        op!(world, inv, elb::Client::describe_tags, |w, req| {
            assert!(
                req.resource_arns().len() <= 20,
                "DescribeTags takes at most 20 ARNs"
            );
            let now = Instant::now();
            let mut out = Vec::new();
            for a in req.resource_arns() {
                let (tags, at) = match (w.listeners.get(a), w.rules.get(a)) {
                    (Some(l), _) => (l.tags.clone(), l.tags_visible_at),
                    (_, Some(r)) => (r.tags.clone(), r.tags_visible_at),
                    _ => continue,
                };
                let tags = if now >= at { tags } else { Vec::new() };
                out.push(
                    TagDescription::builder()
                        .resource_arn(a)
                        .set_tags(Some(
                            tags.iter()
                                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                                .collect(),
                        ))
                        .build(),
                );
            }
            MockResponse::Output(
                DescribeTagsOutput::builder()
                    .set_tag_descriptions(Some(out))
                    .build(),
            )
        }),
        op!(world, inv, elb::Client::describe_target_health, |w, req| {
            let tg = req.target_group_arn().unwrap_or_default();
            let healthy = w.healthy(tg);
            let total = w
                .tg_service
                .get(tg)
                .and_then(|s| w.services.get(s))
                .map_or(0, |s| s.tasks.len());
            MockResponse::Output(super::common::target_health_output(healthy, total))
        }),
    ];
    sim_client!(elb, world, inv, rules)
}

pub fn ecs_client(world: &Shared, inv: usize) -> ecs::Client {
    use ecs::operation::{
        describe_service_deployments::*, describe_services::*, list_service_deployments::*,
        update_service::*,
    };
    let rules: Vec<Rule> = vec![
        op!(world, inv, ecs::Client::describe_services, |w, req| {
            let name = req.services().first().cloned().unwrap_or_default();
            let mut o = DescribeServicesOutput::builder();
            if let Some(s) = w.services.get(&name) {
                // Tags only when asked for (DescribeServices `include`: TAGS).
                let asked = req.include().contains(&ecs::types::ServiceField::Tags);
                let tags = s
                    .tags
                    .iter()
                    .filter(|_| asked)
                    .map(|(k, v)| ecs::types::Tag::builder().key(k).value(v).build());
                o = o.services(
                    ecs::types::Service::builder()
                        .service_name(&name)
                        .desired_count(s.desired)
                        .set_tags(Some(tags.collect()))
                        .build(),
                );
            }
            MockResponse::Output(o.build())
        }),
        op!(world, inv, ecs::Client::update_service, |w, req| {
            let name = req.service().unwrap_or_default().to_string();
            if let Some(n) = req.desired_count() {
                w.set_desired(&name, n);
            }
            MockResponse::Output(UpdateServiceOutput::builder().build())
        }),
        op!(
            world,
            inv,
            ecs::Client::describe_service_deployments,
            |w, _req| {
                let status =
                    ecs::types::ServiceDeploymentStatus::from(w.deployment_status.as_str());
                MockResponse::Output(
                    DescribeServiceDeploymentsOutput::builder()
                        .service_deployments(
                            ecs::types::ServiceDeployment::builder()
                                .status(status)
                                .build(),
                        )
                        .build(),
                )
            }
        ),
        op!(
            world,
            inv,
            ecs::Client::list_service_deployments,
            |w, req| {
                // The deployment the hook runs in, kept when the request's status filter
                // (none: every status) names its status.
                let status =
                    ecs::types::ServiceDeploymentStatus::from(w.deployment_status.as_str());
                let wanted = req.status().is_empty() || req.status().contains(&status);
                MockResponse::Output(
                    ListServiceDeploymentsOutput::builder()
                        .set_service_deployments(Some(if wanted {
                            vec![ecs::types::ServiceDeploymentBrief::builder()
                                .status(status)
                                .build()]
                        } else {
                            Vec::new()
                        }))
                        .build(),
                )
            }
        ),
    ];
    sim_client!(ecs, world, inv, rules)
}

pub fn cw_client(world: &Shared, inv: usize) -> cw::Client {
    use cw::operation::describe_alarms::*;
    let rules: Vec<Rule> = vec![op!(world, inv, cw::Client::describe_alarms, |w, req| {
        let name = req.alarm_names().first().cloned().unwrap_or_default();
        MockResponse::Output(
            DescribeAlarmsOutput::builder()
                .metric_alarms(
                    cw::types::MetricAlarm::builder()
                        .alarm_name(name)
                        .state_value(cw::types::StateValue::from(w.alarm.as_str()))
                        .build(),
                )
                .build(),
        )
    })];
    sim_client!(cw, world, inv, rules)
}

pub fn cfn_client(world: &Shared, inv: usize) -> aws_sdk_cloudformation::Client {
    use aws_sdk_cloudformation as cfn;
    use cfn::operation::describe_stacks::*;
    let rules: Vec<Rule> = vec![op!(world, inv, cfn::Client::describe_stacks, |w, req| {
        if w.stacks_denied {
            return MockResponse::Error(DescribeStacksError::generic(
                ErrorMetadata::builder()
                    .code("AccessDenied")
                    .message("User is not authorized to perform: cloudformation:DescribeStacks")
                    .build(),
            ));
        }
        MockResponse::Output(
            DescribeStacksOutput::builder()
                .stacks(
                    cfn::types::Stack::builder()
                        .stack_name(req.stack_name().unwrap_or_default())
                        .stack_status(cfn::types::StackStatus::from(w.stack_status.as_str()))
                        .build(),
                )
                .build(),
        )
    })];
    sim_client!(cfn, world, inv, rules)
}

fn ddb_missing() -> ErrorMetadata {
    ErrorMetadata::builder()
        .code("ResourceNotFoundException")
        .message("Requested resource not found")
        .build()
}

fn ddb_denied() -> ErrorMetadata {
    ErrorMetadata::builder()
        .code("AccessDeniedException")
        .message("User is not authorized to perform: dynamodb:UpdateItem")
        .build()
}

/// The value of `:name` or a literal attribute of an expression.
fn value<'a>(
    item: &'a Item,
    values: &'a HashMap<String, AttributeValue>,
    names: &HashMap<String, String>,
    term: &str,
) -> Option<&'a AttributeValue> {
    let term = term.trim();
    if term.starts_with(':') {
        return values.get(term);
    }
    let attr = names.get(term).map(String::as_str).unwrap_or(term);
    item.get(attr)
}

fn num(v: Option<&AttributeValue>) -> Option<i128> {
    v.and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok())
}

/// The condition expressions of the hook's state store, evaluated as DynamoDB does: `=` and `<`
/// on attributes and values, `attribute_not_exists`, `AND`, `OR`, one level of parentheses.
fn condition(
    expr: &str,
    item: Option<&Item>,
    values: &HashMap<String, AttributeValue>,
    names: &HashMap<String, String>,
) -> bool {
    let empty = Item::new();
    let item = item.unwrap_or(&empty);
    expr.split(" AND ").all(|conj| {
        let conj = conj.trim();
        let conj = match conj.strip_prefix('(').and_then(|c| c.strip_suffix(')')) {
            Some(inner) => inner,
            None => conj,
        };
        conj.split(" OR ").any(|term| {
            let term = term.trim();
            if let Some(a) = term
                .strip_prefix("attribute_not_exists(")
                .and_then(|t| t.strip_suffix(')'))
            {
                let attr = names.get(a).map(String::as_str).unwrap_or(a);
                return !item.contains_key(attr);
            }
            if let Some((l, r)) = term.split_once(" < ") {
                return match (
                    num(value(item, values, names, l)),
                    num(value(item, values, names, r)),
                ) {
                    (Some(a), Some(b)) => a < b,
                    _ => false,
                };
            }
            if let Some((l, r)) = term.split_once(" = ") {
                return match (value(item, values, names, l), value(item, values, names, r)) {
                    (Some(a), Some(b)) => a == b,
                    _ => false,
                };
            }
            panic!("the fake does not know condition term {term:?}")
        })
    })
}

/// `SET a = :x, #b = :y REMOVE c, d`, `SET ...` or `REMOVE ...`: an update expression has one
/// or more clauses, each keyword at most once, in any order (UpdateItem's `UpdateExpression`,
/// <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.Modifying.html>);
/// the provider writes SET before REMOVE.
fn update(
    expr: &str,
    item: &mut Item,
    values: &HashMap<String, AttributeValue>,
    names: &HashMap<String, String>,
) {
    let expr = expr.trim();
    let (set, remove) = if let Some(r) = expr.strip_prefix("REMOVE ") {
        ("", Some(r))
    } else {
        match expr.split_once(" REMOVE ") {
            Some((s, r)) => (s, Some(r)),
            None => (expr, None),
        }
    };
    let set = set.trim().strip_prefix("SET ").unwrap_or(set);
    for assign in set.split(',').filter(|a| !a.trim().is_empty()) {
        let (l, r) = assign.split_once('=').expect("SET a = :v");
        let attr = names
            .get(l.trim())
            .cloned()
            .unwrap_or_else(|| l.trim().to_string());
        let v = values.get(r.trim()).expect("value given").clone();
        item.insert(attr, v);
    }
    for a in remove.into_iter().flat_map(|r| r.split(',')) {
        item.remove(a.trim());
    }
}

/// The state table's partition key `Pk` of an item or key.
fn pk(key: Option<&Item>) -> String {
    key.and_then(|k| k.get("Pk"))
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default()
}

/// Why DynamoDB refuses a write before writing anything.
enum Refusal {
    /// A missing table or a denied role: the error's code and message.
    Store(ErrorMetadata),
    /// The write's condition is false.
    Condition,
}

impl Refusal {
    /// The operation's error for this refusal; `condition` is its
    /// `ConditionalCheckFailedException` variant.
    fn error<E: CreateUnhandledError>(
        self,
        condition: fn(ddb::types::error::ConditionalCheckFailedException) -> E,
    ) -> E {
        match self {
            Refusal::Store(meta) => E::create_unhandled_error(Box::new(meta.clone()), Some(meta)),
            Refusal::Condition => condition(
                ddb::types::error::ConditionalCheckFailedException::builder()
                    .message("The conditional request failed")
                    .build(),
            ),
        }
    }
}

impl World {
    /// Whether a write of item `key` may go ahead: the table exists, the role may write, and
    /// the write's condition holds on the item as it is.
    fn may_write(
        &self,
        key: &str,
        cond: Option<&str>,
        values: Option<&HashMap<String, AttributeValue>>,
        names: Option<&HashMap<String, String>>,
    ) -> Result<(), Refusal> {
        if !self.table_exists {
            return Err(Refusal::Store(ddb_missing()));
        }
        if self.access_denied {
            return Err(Refusal::Store(ddb_denied()));
        }
        let (values, names) = (
            values.cloned().unwrap_or_default(),
            names.cloned().unwrap_or_default(),
        );
        match cond {
            Some(c) if !condition(c, self.items.get(key), &values, &names) => {
                Err(Refusal::Condition)
            }
            _ => Ok(()),
        }
    }
}

pub fn ddb_client(world: &Shared, inv: usize) -> ddb::Client {
    use ddb::operation::{get_item::*, put_item::*, update_item::*};
    let rules: Vec<Rule> = vec![
        op!(world, inv, ddb::Client::get_item, |w, req| {
            if !w.table_exists {
                return fail(ddb_missing());
            }
            let key = pk(req.key());
            MockResponse::Output(
                GetItemOutput::builder()
                    .set_item(w.items.get(&key).cloned())
                    .build(),
            )
        }),
        op!(world, inv, ddb::Client::put_item, |w, req| {
            let item = req.item().cloned().unwrap_or_default();
            let key = pk(Some(&item));
            let values = req.expression_attribute_values();
            let names = req.expression_attribute_names();
            if let Err(e) = w.may_write(&key, req.condition_expression(), values, names) {
                return MockResponse::Error(e.error(PutItemError::ConditionalCheckFailedException));
            }
            w.items.insert(key, item);
            MockResponse::Output(PutItemOutput::builder().build())
        }),
        op!(world, inv, ddb::Client::update_item, |w, req| {
            let key = pk(req.key());
            let values = req.expression_attribute_values();
            let names = req.expression_attribute_names();
            if let Err(e) = w.may_write(&key, req.condition_expression(), values, names) {
                return MockResponse::Error(
                    e.error(UpdateItemError::ConditionalCheckFailedException),
                );
            }
            let expr = req.update_expression().unwrap_or_default();
            if expr.contains("LeaseOwner = :o") {
                w.lease_claims += 1;
            }
            let mut item = w.items.get(&key).cloned().unwrap_or_default();
            item.insert("Pk".into(), AttributeValue::S(key.clone()));
            let (values, names) = (values.cloned(), names.cloned());
            update(
                expr,
                &mut item,
                &values.unwrap_or_default(),
                &names.unwrap_or_default(),
            );
            w.items.insert(key, item);
            MockResponse::Output(UpdateItemOutput::builder().build())
        }),
    ];
    sim_client!(ddb, world, inv, rules)
}

/// Lambda `Invoke` of the gate's load worker: the worker's run is not simulated; it answers
/// the report of a passing run of exactly the duration it was asked (Lambda API reference,
/// Invoke: <https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html>).
pub fn lambda_client(world: &Shared, inv: usize) -> aws_sdk_lambda::Client {
    use aws_sdk_lambda as lambda;
    use lambda::operation::invoke::*;
    let rules: Vec<Rule> = vec![op!(world, inv, lambda::Client::invoke, |w, req| {
        let payload: serde_json::Value = req
            .payload()
            .and_then(|b| serde_json::from_slice(b.as_ref()).ok())
            .unwrap_or_default();
        let spec = &payload[fargate_provider::load_test_gate::WORKER_EVENT];
        let ms = spec["DurationMs"].as_u64().unwrap_or(0);
        let rate = spec["Rate"].as_f64();
        w.load_runs.push(ms);
        let mut r = fargate_loadtest::Report::empty(rate);
        let n = (rate.unwrap_or(10.0) * ms as f64 / 1000.0).max(1.0) as u64;
        r.sent = n;
        r.ok = n;
        r.elapsed = Duration::from_millis(ms);
        r.window = Duration::from_millis(ms);
        r.statuses.insert(200, n);
        for _ in 0..n.min(1000) {
            r.latency.record(10_000).expect("in range");
        }
        let reply = fargate_provider::load_test_gate::WorkerReply {
            report: Some(r.to_wire()),
            error: None,
        };
        MockResponse::Output(
            InvokeOutput::builder()
                .status_code(200)
                .payload(lambda::primitives::Blob::new(
                    serde_json::to_vec(&reply).expect("JSON"),
                ))
                .build(),
        )
    })];
    sim_client!(lambda, world, inv, rules)
}

/// The provider's clients for one invocation.
pub fn clients(world: &Shared, inv: usize) -> fargate_provider::Clients {
    fargate_provider::Clients {
        elb: elb_client(world, inv),
        ecs: ecs_client(world, inv),
        cfn: cfn_client(world, inv),
        lambda: lambda_client(world, inv),
        cloudwatch: cw_client(world, inv),
        http: fargate_provider::http_client(),
        function_name: Some("provider".into()),
        gate_timing: Default::default(),
        failover_timing: Default::default(),
        // As installed: cfn/provider.yaml always gives the provider its state table.
        state_store: Some(fargate_provider::lifecycle_hook::HookStore {
            ddb: ddb_client(world, inv),
            table: "provider-hooks".into(),
        }),
    }
}
