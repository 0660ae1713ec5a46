//! The simulated AWS: one state the provider's SDK clients read and write through
//! `aws-smithy-mocks` rules, a seeded fault schedule, and virtual time (tokio's paused clock).
//!
//! | AWS behaviour reproduced | Fake | Page |
//! |---|---|---|
//! | `CreateListener` with the settings of an existing listener on that port succeeds and returns it; other settings on a taken port: `DuplicateListener` | `create_listener` | <https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateListener.html> |
//! | `CreateRule` at a taken priority: `PriorityInUse` (not documented as idempotent: a second call makes a second rule) | `create_rule` | <https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateRule.html> |
//! | `DescribeTags` takes at most 20 ARNs; tags given on create are the resource's tags | `describe_tags` | <https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_DescribeTags.html> |
//! | `AddTags` on a load balancer: a key it already has gets the new value; values up to 255 characters | `add_tags`, `lb_tags` | <https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_AddTags.html>, <https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-tags.html> |
//! | Tags of a just-created resource may not be visible yet (eventual consistency of reads after writes) | `tag_lag` | <https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html (the EC2 API's statement; ELBv2's reference promises no read-after-write for tags)> |
//! | `ModifyListener`/`DeleteListener`/`ModifyRule`/`DeleteRule` on a missing ARN: `ListenerNotFound`/`RuleNotFound` | `modify_*`, `delete_*` | <https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_DeleteListener.html> |
//! | `DescribeTargetHealth`: a new task's target is `initial` until it passes its health checks | `describe_target_health` | <https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html> |
//! | `UpdateService` sets `desiredCount`; `DescribeServices` reports it; tasks start later | `update_service`, `describe_services` | <https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_UpdateService.html> |
//! | `DescribeServices` returns a service's tags only when asked with `include=TAGS` | `describe_services` | <https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeServices.html> |
//! | `DescribeServiceDeployments` reports the deployment's status (`ROLLBACK_IN_PROGRESS`...) | `describe_service_deployments` | <https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeServiceDeployments.html> |
//! | `ListServiceDeployments` lists a service's deployments whose status is in the filter (all without one) | `list_service_deployments` | <https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListServiceDeployments.html> |
//! | `DescribeAlarms` returns the alarm's current state and its ARN (`arn:aws:cloudwatch:<region>:<account>:alarm:<name>`) | `describe_alarms` | <https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarms.html> |
//! | `ListTagsForResource` returns an alarm's tags by its ARN | `list_tags_for_resource` | <https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_ListTagsForResource.html> |
//! | `AddTags` adds or overwrites tags of a listener or rule; a read right after may still show the old tags (no read-after-write promised) | `add_tags`, `tag_writes` | <https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_AddTags.html> |
//! | DynamoDB conditional writes: a false condition is `ConditionalCheckFailedException` and writes nothing; a missing table is `ResourceNotFoundException`; `ProvisionedThroughputExceededException` when throttled | `ddb_*` | <https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateItem.html> |
//! | Throttling (`Throttling`, 400) and server errors (500) are returned once the SDK's retries are spent; the SDK's own retries are off here, so one injected error stands for the last of them | `Fate::Throttle`, `Fate::AfterEffect` | <https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html> |
//! | A server error can come after the change took effect (the caller cannot tell) | `Fate::AfterEffect` | <https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html> |
//! | An SDK retry of a call whose first attempt took effect (its answer lost to a 5xx or a timeout) is evaluated against the changed state: a conditional write then fails its own condition, `CreateRule` finds its own priority in use (fresh18) | `Fate::Retried` | <https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html>, <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html> |
//! | A service error with its own code (`ResourceNotReadyException` of an Inactive function, `ProvisionedThroughputExceededException`, ...) at a chosen call (fresh18) | `Fate::Code`, `World::script` | <https://docs.aws.amazon.com/lambda/latest/dg/functions-states.html>, <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html> |
//! | `DescribeServices` lists the service's deployments (`status` PRIMARY/ACTIVE, `rolloutState`) (fresh18) | `World::deployments` | <https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Deployment.html> |
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
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::error::ErrorMetadata;
use aws_smithy_types::retry::RetryConfig;
use ddb::types::AttributeValue;
use elb::types::{Action, Listener, LoadBalancer, Rule as ElbRule, Tag};
use std::collections::{BTreeMap, BTreeSet, HashMap};
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
    /// The gate's load goes through the VPC worker function.
    VpcWorkers,
    /// Every invocation of the worker function fails.
    WorkerFails,
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
    /// (fresh18) The first attempt takes effect and its answer is lost (a 5xx or a timeout);
    /// the SDK sends the same request again, and the caller sees the answer of that retry,
    /// computed against the changed state (SDK retry behaviour:
    /// <https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html>).
    Retried,
    /// (fresh18) Refused before any effect with this error code (past the SDK's retries).
    Code(&'static str),
}

/// (fresh18) A fault placed on one call of a deterministic schedule: the `nth` call (1-based,
/// counted over every invocation; 0: every call) whose operation name contains `op`.
#[derive(Debug, Clone)]
pub struct Scripted {
    pub op: &'static str,
    pub nth: u64,
    pub fate: Fate,
    /// The call does not answer for this long (its effect is applied when it starts).
    pub hang: Option<Duration>,
    /// The invocation's process dies during this call.
    pub crash: bool,
}

impl Scripted {
    pub fn on(op: &'static str, nth: u64, fate: Fate) -> Scripted {
        Scripted {
            op,
            nth,
            fate,
            hang: None,
            crash: false,
        }
    }
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
    /// (fresh3) Every task started from now on passes its health checks exactly this long
    /// after it starts (a deterministic slow scale-out; ELB's `initial` state until then:
    /// <https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_TargetHealth.html>).
    pub health_delay: Option<Duration>,
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
    /// When each target group's health was last read (DescribeTargetHealth).
    pub health_reads: BTreeMap<String, Instant>,
    /// When someone outside the provider last scaled a service down (a `Drift` fault).
    pub last_drift: Option<Instant>,
    /// The invocation behind each listener or rule created.
    pub created_by: Vec<usize>,
    /// DescribeStacks is denied (a role without cloudformation:DescribeStacks).
    pub stacks_denied: bool,
    /// Load runs the gate's workers made: (request, milliseconds of load).
    pub load_runs: Vec<u64>,
    /// (fresh18) Faults placed on chosen calls (checked before the profile's random draw).
    pub script: Vec<Scripted>,
    /// (fresh18) Calls seen so far per scripted entry.
    pub script_seen: Vec<u64>,
    /// (fresh18) A latency decided by the script for the next call of an invocation.
    pub pending_latency: BTreeMap<usize, Duration>,
    /// (fresh18) `DescribeServices` deployments per service name.
    pub deployments: BTreeMap<String, Vec<ecs::types::Deployment>>,
    /// (fresh18) A rival stack wins the next this many `CreateRule`/`CreateListener` calls:
    /// just before each, another stack's holder takes the number asked.
    pub rival_takes: u64,
    /// Tags of load balancers, by ARN (the freed-port record of `PortChoice: LeastRecentlyUsed`).
    pub lb_tags: BTreeMap<String, Vec<(String, String)>>,
    /// Every invocation of the load worker fails (the function errs or times out).
    pub worker_fails: bool,
    /// Invocations of the user's post-create function (`Custom::FargatePostCreate`).
    pub post_create_runs: u32,
    /// The post-create function errs.
    pub post_create_fails: bool,
    /// (fixfresh) CloudFormation's status of each custom resource, by (StackId,
    /// LogicalResourceId), as [`World::cloudformation_sends`] and
    /// [`World::cloudformation_answered`] keep it; a resource the stack no longer has is absent.
    pub cfn_resources: BTreeMap<(String, String), String>,
    /// (fixfresh) RequestIds CloudFormation sent (a later delivery of one is Lambda's
    /// duplicate) and those it took an answer for (it takes the first).
    pub cfn_sent: BTreeSet<String>,
    pub cfn_answered: BTreeSet<String>,
    /// Alarms other than `alarm` (by name): state and tags.
    pub alarms: BTreeMap<String, (String, Vec<(String, String)>)>,
    /// Tags of the alarm named by `alarm` (its name is whatever the provider asks for).
    pub alarm_tags: Vec<(String, String)>,
    /// Tag sets written by AddTags and not yet visible: (tags after the write, visible at).
    pub tag_writes: BTreeMap<String, (Vec<(String, String)>, Instant)>,
    /// Every change of a listener's or rule's actions: (when, ARN, actions after).
    pub action_log: Vec<(Instant, String, Vec<Action>)>,
    /// When the world began (the provider's failover clock reads Unix seconds from it).
    pub origin: Instant,
    /// Failover passes (events, re-checks) that ended with an error: (virtual time since
    /// `origin`, time left before the invocation's deadline, the error).
    pub failover_errors: Vec<(Duration, Duration, String)>,
}

/// The Unix time the simulated clock starts at.
pub const EPOCH_START: u64 = 1_800_000_000;

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
            health_delay: None,
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
            health_reads: BTreeMap::new(),
            last_drift: None,
            created_by: Vec::new(),
            stacks_denied: false,
            load_runs: Vec::new(),
            script: Vec::new(),
            script_seen: Vec::new(),
            pending_latency: BTreeMap::new(),
            deployments: BTreeMap::new(),
            rival_takes: 0,
            lb_tags: BTreeMap::new(),
            worker_fails: false,
            post_create_runs: 0,
            post_create_fails: false,
            cfn_resources: BTreeMap::new(),
            cfn_sent: BTreeSet::new(),
            cfn_answered: BTreeSet::new(),
            alarms: BTreeMap::new(),
            alarm_tags: Vec::new(),
            tag_writes: BTreeMap::new(),
            action_log: Vec::new(),
            origin: Instant::now(),
            failover_errors: Vec::new(),
        }
    }

    /// The state of alarm `name`.
    pub fn alarm_state(&self, name: &str) -> String {
        self.alarms
            .get(name)
            .map_or_else(|| self.alarm.clone(), |(s, _)| s.clone())
    }

    /// Makes a written tag set visible once its time has come.
    pub fn settle_tags(&mut self, arn: &str) {
        let now = Instant::now();
        if let Some((tags, at)) = self.tag_writes.get(arn).cloned() {
            if now >= at {
                self.tag_writes.remove(arn);
                if let Some(l) = self.listeners.get_mut(arn) {
                    l.tags = tags;
                } else if let Some(r) = self.rules.get_mut(arn) {
                    r.tags = tags;
                }
            }
        }
    }

    /// CloudFormation sends a custom-resource request: the resource is CREATE_IN_PROGRESS,
    /// UPDATE_IN_PROGRESS or DELETE_IN_PROGRESS while it waits (resource statuses:
    /// https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackResource.html).
    /// A RequestId already sent is a duplicate delivery by Lambda, which CloudFormation knows
    /// nothing of: no status changes.
    pub fn cloudformation_sends(&mut self, event: &serde_json::Value) {
        let field = |k: &str| event[k].as_str().unwrap_or_default().to_string();
        if !self.cfn_sent.insert(field("RequestId")) {
            return;
        }
        let status = format!("{}_IN_PROGRESS", field("RequestType").to_uppercase());
        self.cfn_resources
            .insert((field("StackId"), field("LogicalResourceId")), status);
    }

    /// CloudFormation takes the first answer to a request (later ones go to a URL nobody
    /// reads): CREATE_COMPLETE, CREATE_FAILED, UPDATE_..., and a deleted resource leaves the
    /// stack (DELETE_FAILED when the Delete failed).
    pub fn cloudformation_answered(&mut self, event: &serde_json::Value, answer: &str) {
        let field = |k: &str| event[k].as_str().unwrap_or_default().to_string();
        if !self.cfn_answered.insert(field("RequestId")) {
            return;
        }
        let key = (field("StackId"), field("LogicalResourceId"));
        let kind = field("RequestType").to_uppercase();
        let done = if answer == "SUCCESS" {
            "COMPLETE"
        } else {
            "FAILED"
        };
        if kind == "DELETE" && done == "COMPLETE" {
            self.cfn_resources.remove(&key);
        } else {
            self.cfn_resources.insert(key, format!("{kind}_{done}"));
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
        if std::env::var("SIM_TRACE").is_ok() {
            eprintln!(
                "TRACE {:?} inv{} {} alarm={} desired={:?}",
                Instant::now() - self.origin,
                inv,
                op,
                self.alarm,
                self.services.get("api").map(|s| (s.desired, s.tasks.len()))
            );
        }
        self.calls_of[inv] += 1;
        if let Some(f) = self.scripted(inv, op) {
            return f;
        }
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

    /// (fresh18) The script's fate for this call, if an entry names it.
    fn scripted(&mut self, inv: usize, op: &'static str) -> Option<Fate> {
        self.script_seen.resize(self.script.len(), 0);
        let mut hit = None;
        for (i, s) in self.script.iter().enumerate() {
            if !op.contains(s.op) {
                continue;
            }
            self.script_seen[i] += 1;
            if hit.is_none() && (s.nth == 0 || s.nth == self.script_seen[i]) {
                hit = Some(s.clone());
            }
        }
        let s = hit?;
        match s.fate {
            Fate::Throttle | Fate::Code(_) => self.count(Fault::Throttle),
            Fate::AfterEffect | Fate::Retried => self.count(Fault::ErrorAfterEffect),
            Fate::Normal => {}
        }
        if let Some(d) = s.hang {
            self.count(Fault::StoreHang);
            self.pending_latency.insert(inv, d);
        }
        if s.crash {
            self.crashed[inv] = true;
            self.count(Fault::Crash);
        }
        Some(s.fate)
    }

    fn latency(&mut self, inv: usize) -> Option<Duration> {
        if self.crashed[inv] {
            return None;
        }
        if let Some(d) = self.pending_latency.remove(&inv) {
            return Some(d);
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

    /// A rival stack's claim of the number a create asks for (`rival_takes`), if one is due:
    /// the ARN its holder gets.
    fn rival_arn(&mut self, kind: &str) -> Option<String> {
        if self.rival_takes == 0 {
            return None;
        }
        self.rival_takes -= 1;
        self.count(Fault::Concurrent);
        Some(self.arn(kind))
    }

    /// A new holder made by invocation `inv`: its ARN and when its tags become visible.
    fn created(&mut self, inv: usize, kind: &str) -> (String, Instant) {
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
            // A scale-down from outside after the provider's last health read is a race no
            // API closes (reading health and writing a rule are two calls): not the
            // provider's doing; `failover.traffic_on_healthy` checks the re-checks repair it.
            let outside_since_read = match (self.last_drift, self.health_reads.get(&tg)) {
                (Some(d), Some(r)) => d >= *r,
                _ => false,
            };
            if weight(after, &tg) > 0
                && weight(before, &tg) == 0
                && self.healthy(&tg) == 0
                && !outside_since_read
            {
                let note = format!("weight moved to {tg} with 0 healthy targets");
                if std::env::var("SIM_DEBUG").is_ok() {
                    eprintln!(
                        "DEBUG shift at {:?}: services {:?}",
                        Instant::now() - self.origin,
                        self.services
                            .iter()
                            .map(|(k, s)| (k.clone(), s.desired, s.tasks.len()))
                            .collect::<Vec<_>>()
                    );
                }
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
        if before != after {
            self.action_log
                .push((Instant::now(), arn.to_string(), after.clone()));
        }
        self.check_shift(&before, &after);
        Some(())
    }

    pub fn set_desired(&mut self, service: &str, n: i32) {
        let lag = self.health_lag_ms;
        let delay = if let Some(d) = self.health_delay {
            d
        } else if lag > 0 {
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
    super::common::tag_pairs(tags)
}

/// The tags of a rival stack's holder.
fn rival_tags() -> Vec<(String, String)> {
    vec![("fargate-app:stack-id".into(), "rival".into())]
}

/// The holders of `map` among `arns`, as `out` describes them.
fn named<S, T>(map: &BTreeMap<String, S>, arns: &[String], out: fn(&str, &S) -> T) -> Vec<T> {
    map.iter()
        .filter(|(a, _)| arns.contains(a))
        .map(|(a, x)| out(a, x))
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

/// One mocked operation: the schedule decides the call's fate; `$body` computes the response
/// from the world (run for `Normal` and `AfterEffect`, whose response is then replaced by a 500).
/// Written `op! { ... }` where `op!(...)` would not stay on one line: rustfmt leaves a braced
/// call as written, so each rule's header is one line.
macro_rules! op {
    ($world:expr, $inv:expr, $op:path, $err:ty, |$w:ident, $req:ident| $body:expr) => {{
        let world = $world.clone();
        let inv = $inv;
        mock!($op).then_compute_response(move |$req| {
            let mut guard = world.lock().unwrap();
            let $w: &mut World = &mut guard;
            match $w.fate(inv, stringify!($op)) {
                Fate::Throttle => MockResponse::Error(<$err>::generic(throttled())),
                Fate::Normal => $body,
                Fate::AfterEffect => {
                    let _: MockResponse<_, $err> = $body;
                    MockResponse::Error(<$err>::generic(internal()))
                }
                Fate::Retried => {
                    let _: MockResponse<_, $err> = $body;
                    $body
                }
                Fate::Code(code) => MockResponse::Error(<$err>::generic(
                    ErrorMetadata::builder()
                        .code(code)
                        .message(format!("{code} (scripted)"))
                        .build(),
                )),
            }
        })
    }};
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
    use elb::operation::add_tags::*;
    use elb::operation::{
        create_listener::*, create_rule::*, delete_listener::*, delete_rule::*,
        describe_listeners::*, describe_load_balancers::*, describe_rules::*, describe_tags::*,
        describe_target_health::*, modify_listener::*, modify_rule::*,
    };
    use elb::types::error::*;
    let rules: Vec<Rule> = vec![
        op! { world, inv, elb::Client::describe_load_balancers, DescribeLoadBalancersError, |_w, req| {
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
        },
        op! { world, inv, elb::Client::describe_listeners, DescribeListenersError, |w, req| {
                if !req.listener_arns().is_empty() {
                    let found = named(&w.listeners, req.listener_arns(), listener_out);
                    if found.is_empty() {
                        return MockResponse::Error(
                            DescribeListenersError::ListenerNotFoundException(
                                ListenerNotFoundException::builder()
                                    .message("One or more listeners not found")
                                    .build(),
                            ),
                        );
                    }
                    return MockResponse::Output(
                        DescribeListenersOutput::builder()
                            .set_listeners(Some(found))
                            .build(),
                    );
                }
                let lb = req.load_balancer_arn().unwrap_or_default();
                let all: Vec<Listener> = w
                    .listeners
                    .iter()
                    .filter(|(_, l)| l.lb == lb)
                    .map(|(a, l)| listener_out(a, l))
                    .collect();
                let (items, next) = page(all, req.marker());
                MockResponse::Output(
                    DescribeListenersOutput::builder()
                        .set_listeners(Some(items))
                        .set_next_marker(next)
                        .build(),
                )
            }
        },
        op! { world, inv, elb::Client::create_listener, CreateListenerError, |w, req| {
                let port = req.port().unwrap_or_default();
                let lb = req.load_balancer_arn().unwrap_or_default().to_string();
                if let Some(arn) = w.rival_arn("listener") {
                    let rival = LState {
                        port,
                        lb: lb.clone(),
                        settings: "rival".into(),
                        actions: vec![],
                        tags: rival_tags(),
                        tags_visible_at: Instant::now(),
                    };
                    w.listeners.insert(arn, rival);
                }
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
                let (arn, tags_visible_at) = w.created(inv, "listener");
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
            }
        },
        op! { world, inv, elb::Client::modify_listener, ModifyListenerError, |w, req| {
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
            }
        },
        op! { world, inv, elb::Client::delete_listener, DeleteListenerError, |w, req| {
                let arn = req.listener_arn().unwrap_or_default().to_string();
                if w.listeners.remove(&arn).is_none() {
                    return MockResponse::Error(DeleteListenerError::ListenerNotFoundException(
                        listener_gone(),
                    ));
                }
                w.rules.retain(|_, r| r.listener != arn);
                MockResponse::Output(DeleteListenerOutput::builder().build())
            }
        },
        op! { world, inv, elb::Client::describe_rules, DescribeRulesError, |w, req| {
                if !req.rule_arns().is_empty() {
                    let found = named(&w.rules, req.rule_arns(), rule_out);
                    if found.is_empty() {
                        return MockResponse::Error(DescribeRulesError::RuleNotFoundException(
                            RuleNotFoundException::builder()
                                .message("One or more rules not found")
                                .build(),
                        ));
                    }
                    return MockResponse::Output(
                        DescribeRulesOutput::builder()
                            .set_rules(Some(found))
                            .build(),
                    );
                }
                let listener = req.listener_arn().unwrap_or_default();
                let mut all = vec![ElbRule::builder()
                    .rule_arn(format!("{listener}/default"))
                    .priority("default")
                    .is_default(true)
                    .build()];
                all.extend(
                    w.rules
                        .iter()
                        .filter(|(_, r)| r.listener == listener)
                        .map(|(a, r)| rule_out(a, r)),
                );
                let (items, next) = page(all, req.marker());
                MockResponse::Output(
                    DescribeRulesOutput::builder()
                        .set_rules(Some(items))
                        .set_next_marker(next)
                        .build(),
                )
            }
        },
        op! { world, inv, elb::Client::create_rule, CreateRuleError, |w, req| {
                let prio = req.priority().unwrap_or_default();
                let listener = req.listener_arn().unwrap_or_default().to_string();
                if let Some(arn) = w.rival_arn("listener-rule") {
                    let rival = RState {
                        priority: prio,
                        listener: listener.clone(),
                        actions: vec![],
                        tags: rival_tags(),
                        tags_visible_at: Instant::now(),
                    };
                    w.rules.insert(arn, rival);
                }
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
                let (arn, tags_visible_at) = w.created(inv, "listener-rule");
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
            }
        },
        op! { world, inv, elb::Client::modify_rule, ModifyRuleError, |w, req| {
                let arn = req.rule_arn().unwrap_or_default();
                match w.set_actions(arn, req.actions()) {
                    None => {
                        MockResponse::Error(ModifyRuleError::RuleNotFoundException(rule_gone()))
                    }
                    Some(()) => MockResponse::Output(
                        ModifyRuleOutput::builder()
                            .rules(rule_out(arn, &w.rules[arn]))
                            .build(),
                    ),
                }
            }
        },
        op! { world, inv, elb::Client::delete_rule, DeleteRuleError, |w, req| {
                let arn = req.rule_arn().unwrap_or_default().to_string();
                if w.rules.remove(&arn).is_none() {
                    return MockResponse::Error(
                        DeleteRuleError::RuleNotFoundException(rule_gone()),
                    );
                }
                MockResponse::Output(DeleteRuleOutput::builder().build())
            }
        },
        op! { world, inv, elb::Client::describe_tags, DescribeTagsError, |w, req| {
                assert!(
                    req.resource_arns().len() <= 20,
                    "DescribeTags takes at most 20 ARNs"
                );
                let now = Instant::now();
                let mut out = Vec::new();
                for a in req.resource_arns() {
                    w.settle_tags(a);
                    let (tags, at) = match (w.listeners.get(a), w.rules.get(a)) {
                        (Some(l), _) => (l.tags.clone(), l.tags_visible_at),
                        (_, Some(r)) => (r.tags.clone(), r.tags_visible_at),
                        _ if a.contains(":loadbalancer/") => {
                            (w.lb_tags.get(a).cloned().unwrap_or_default(), now)
                        }
                        _ => continue,
                    };
                    let tags = if now >= at { tags } else { Vec::new() };
                    out.push(super::common::tag_description(a, &tags));
                }
                MockResponse::Output(
                    DescribeTagsOutput::builder()
                        .set_tag_descriptions(Some(out))
                        .build(),
                )
            }
        },
        op!(world, inv, elb::Client::add_tags, AddTagsError, |w, req| {
            let mut result = MockResponse::Output(AddTagsOutput::builder().build());
            for a in req.resource_arns() {
                if a.contains(":loadbalancer/") {
                    let tags = w.lb_tags.entry(a.clone()).or_default();
                    for t in req.tags() {
                        let (k, v) = (t.key().unwrap_or_default(), t.value().unwrap_or_default());
                        assert!(
                            v.chars().count() <= 255,
                            "ALB tag values hold 255 characters"
                        );
                        tags.retain(|(key, _)| key != k);
                        tags.push((k.to_string(), v.to_string()));
                    }
                    continue;
                }
                w.settle_tags(a);
                let current = match (w.listeners.get(a), w.rules.get(a)) {
                    (Some(l), _) => l.tags.clone(),
                    (_, Some(r)) => r.tags.clone(),
                    _ => {
                        result = MockResponse::Error(AddTagsError::ListenerNotFoundException(
                            listener_gone(),
                        ));
                        continue;
                    }
                };
                // A write on top of one not yet visible builds on it.
                let mut tags = w.tag_writes.get(a).map_or(current, |(t, _)| t.clone());
                for t in req.tags() {
                    let (k, v) = (
                        t.key().unwrap_or_default().to_string(),
                        t.value().unwrap_or_default().to_string(),
                    );
                    match tags.iter_mut().find(|(tk, _)| *tk == k) {
                        Some(slot) => slot.1 = v,
                        None => tags.push((k, v)),
                    }
                }
                let at = Instant::now() + w.tag_delay();
                w.tag_writes.insert(a.clone(), (tags, at));
                w.settle_tags(a);
            }
            result
        }),
        op! { world, inv, elb::Client::describe_target_health, DescribeTargetHealthError, |w, req| {
                let tg = req.target_group_arn().unwrap_or_default();
                let healthy = w.healthy(tg);
                w.health_reads.insert(tg.to_string(), Instant::now());
                let total = w
                    .tg_service
                    .get(tg)
                    .and_then(|s| w.services.get(s))
                    .map_or(0, |s| s.tasks.len());
                MockResponse::Output(super::common::target_health_output(healthy, total))
            }
        },
    ];
    sim_client!(elb, world, inv, rules)
}

pub fn ecs_client(world: &Shared, inv: usize) -> ecs::Client {
    use ecs::operation::{
        describe_service_deployments::*, describe_services::*, list_service_deployments::*,
        update_service::*,
    };
    let rules: Vec<Rule> = vec![
        op! { world, inv, ecs::Client::describe_services, DescribeServicesError, |w, req| {
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
                            .set_deployments(w.deployments.get(&name).cloned())
                            .set_tags(Some(tags.collect()))
                            .build(),
                    );
                }
                MockResponse::Output(o.build())
            }
        },
        op! { world, inv, ecs::Client::update_service, UpdateServiceError, |w, req| {
                let name = req.service().unwrap_or_default().to_string();
                if let Some(n) = req.desired_count() {
                    w.set_desired(&name, n);
                }
                MockResponse::Output(UpdateServiceOutput::builder().build())
            }
        },
        op! { world, inv, ecs::Client::describe_service_deployments, DescribeServiceDeploymentsError, |w, _req| {
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
        },
        op! { world, inv, ecs::Client::list_service_deployments, ListServiceDeploymentsError, |w, req| {
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
        },
    ];
    sim_client!(ecs, world, inv, rules)
}

pub fn cw_client(world: &Shared, inv: usize) -> cw::Client {
    use cw::operation::{describe_alarms::*, list_tags_for_resource::*};
    const ALARM_ARN: &str = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:";
    let rules: Vec<Rule> = vec![
        op! { world, inv, cw::Client::describe_alarms, DescribeAlarmsError, |w, req| {
                let name = req.alarm_names().first().cloned().unwrap_or_default();
                MockResponse::Output(
                    DescribeAlarmsOutput::builder()
                        .metric_alarms(
                            cw::types::MetricAlarm::builder()
                                .alarm_arn(format!("{ALARM_ARN}{name}"))
                                .alarm_name(&name)
                                .state_value(cw::types::StateValue::from(
                                    w.alarm_state(&name).as_str(),
                                ))
                                .build(),
                        )
                        .build(),
                )
            }
        },
        op! { world, inv, cw::Client::list_tags_for_resource, ListTagsForResourceError, |w, req| {
                let name = req
                    .resource_arn()
                    .unwrap_or_default()
                    .trim_start_matches(ALARM_ARN);
                let tags = w
                    .alarms
                    .get(name)
                    .map_or(&w.alarm_tags, |(_, t)| t)
                    .iter()
                    .map(|(k, v)| cw::types::Tag::builder().key(k).value(v).build());
                MockResponse::Output(
                    ListTagsForResourceOutput::builder()
                        .set_tags(Some(tags.collect()))
                        .build(),
                )
            }
        },
    ];
    sim_client!(cw, world, inv, rules)
}

pub fn cfn_client(world: &Shared, inv: usize) -> aws_sdk_cloudformation::Client {
    use aws_sdk_cloudformation as cfn;
    use cfn::operation::describe_stack_resource::*;
    use cfn::operation::describe_stacks::*;
    let rules: Vec<Rule> =
        vec![
            // (fixfresh) DescribeStackResource from the world's CloudFormation resource table;
            // a resource the stack does not have is a ValidationError "Resource ... does not exist
            // for stack ..." (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStackResource.html,
            // errors common to CloudFormation actions:
            // https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/CommonErrors.html).
            op!(
                world,
                inv,
                cfn::Client::describe_stack_resource,
                DescribeStackResourceError,
                |w, req| {
                    let stack = req.stack_name().unwrap_or_default().to_string();
                    let logical = req.logical_resource_id().unwrap_or_default().to_string();
                    match w.cfn_resources.get(&(stack.clone(), logical.clone())) {
                        Some(status) => MockResponse::Output(
                            DescribeStackResourceOutput::builder()
                                .stack_resource_detail(
                                    cfn::types::StackResourceDetail::builder()
                                        .stack_id(&stack)
                                        .logical_resource_id(&logical)
                                        .resource_status(cfn::types::ResourceStatus::from(
                                            status.as_str(),
                                        ))
                                        .build(),
                                )
                                .build(),
                        ),
                        None => MockResponse::Error(DescribeStackResourceError::generic(
                            ErrorMetadata::builder()
                                .code("ValidationError")
                                .message(format!(
                                    "Resource {logical} does not exist for stack {stack}"
                                ))
                                .build(),
                        )),
                    }
                }
            ),
            op!(
                world,
                inv,
                cfn::Client::describe_stacks,
                DescribeStacksError,
                |w, req| {
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
                                    .stack_status(cfn::types::StackStatus::from(
                                        w.stack_status.as_str(),
                                    ))
                                    .build(),
                            )
                            .build(),
                    )
                }
            ),
        ];
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
/// on attributes and values, `attribute_not_exists`, `AND`, `OR` and parentheses, with `AND`
/// binding tighter than `OR` (precedence in conditions, highest first: comparators, functions,
/// `NOT`, `AND`, `OR`:
/// <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.OperatorsAndFunctions.html>).
/// fresh18: the first version split on every ` AND `, inside parentheses too, so the gate's once-record condition
/// `attribute_not_exists(Pk) OR (#s = :running AND LeaseUntil < :now)` was false on an empty
/// table: every gate run in the simulation lost its own record and answered FAILED.
fn condition(
    expr: &str,
    item: Option<&Item>,
    values: &HashMap<String, AttributeValue>,
    names: &HashMap<String, String>,
) -> bool {
    let empty = Item::new();
    let item = item.unwrap_or(&empty);
    eval_condition(expr, item, values, names)
}

/// `expr` cut at `sep` where no parenthesis is open.
fn split_top<'a>(expr: &'a str, sep: &str) -> Vec<&'a str> {
    let (mut out, mut depth, mut from, mut i) = (Vec::new(), 0i32, 0, 0);
    let b = expr.as_bytes();
    while i < b.len() {
        match b[i] {
            b'(' => depth += 1,
            b')' => depth -= 1,
            _ if depth == 0 && expr[i..].starts_with(sep) => {
                out.push(&expr[from..i]);
                i += sep.len();
                from = i;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out.push(&expr[from..]);
    out
}

/// True when `expr` is one parenthesised group, `( ... )`.
fn wrapped(expr: &str) -> bool {
    if !(expr.starts_with('(') && expr.ends_with(')')) {
        return false;
    }
    let mut depth = 0;
    for (i, c) in expr.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        if depth == 0 && i < expr.len() - 1 {
            return false;
        }
    }
    true
}

fn eval_condition(
    expr: &str,
    item: &Item,
    values: &HashMap<String, AttributeValue>,
    names: &HashMap<String, String>,
) -> bool {
    let expr = expr.trim();
    if wrapped(expr) {
        return eval_condition(&expr[1..expr.len() - 1], item, values, names);
    }
    let ors = split_top(expr, " OR ");
    if ors.len() > 1 {
        return ors.iter().any(|e| eval_condition(e, item, values, names));
    }
    let ands = split_top(expr, " AND ");
    if ands.len() > 1 {
        return ands.iter().all(|e| eval_condition(e, item, values, names));
    }
    let term = expr;
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

pub fn ddb_client(world: &Shared, inv: usize) -> ddb::Client {
    use ddb::operation::{get_item::*, put_item::*, update_item::*};
    use ddb::types::error::ConditionalCheckFailedException;
    let rules: Vec<Rule> = vec![
        op!(world, inv, ddb::Client::get_item, GetItemError, |w, req| {
            if !w.table_exists {
                return MockResponse::Error(GetItemError::generic(ddb_missing()));
            }
            let key = req
                .key()
                .and_then(|k| k.get("Pk"))
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default();
            MockResponse::Output(
                GetItemOutput::builder()
                    .set_item(w.items.get(&key).cloned())
                    .build(),
            )
        }),
        op!(world, inv, ddb::Client::put_item, PutItemError, |w, req| {
            if !w.table_exists {
                return MockResponse::Error(PutItemError::generic(ddb_missing()));
            }
            if w.access_denied {
                return MockResponse::Error(PutItemError::generic(ddb_denied()));
            }
            let item = req.item().cloned().unwrap_or_default();
            let key = item
                .get("Pk")
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default();
            let values = req
                .expression_attribute_values()
                .cloned()
                .unwrap_or_default();
            let names = req
                .expression_attribute_names()
                .cloned()
                .unwrap_or_default();
            if let Some(c) = req.condition_expression() {
                if !condition(c, w.items.get(&key), &values, &names) {
                    return MockResponse::Error(PutItemError::ConditionalCheckFailedException(
                        ConditionalCheckFailedException::builder()
                            .message("The conditional request failed")
                            .build(),
                    ));
                }
            }
            w.items.insert(key, item);
            MockResponse::Output(PutItemOutput::builder().build())
        }),
        op! { world, inv, ddb::Client::update_item, UpdateItemError, |w, req| {
                if !w.table_exists {
                    return MockResponse::Error(UpdateItemError::generic(ddb_missing()));
                }
                if w.access_denied {
                    return MockResponse::Error(UpdateItemError::generic(ddb_denied()));
                }
                let key = req
                    .key()
                    .and_then(|k| k.get("Pk"))
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                    .unwrap_or_default();
                let values = req
                    .expression_attribute_values()
                    .cloned()
                    .unwrap_or_default();
                let names = req
                    .expression_attribute_names()
                    .cloned()
                    .unwrap_or_default();
                if let Some(c) = req.condition_expression() {
                    if !condition(c, w.items.get(&key), &values, &names) {
                        return MockResponse::Error(
                            UpdateItemError::ConditionalCheckFailedException(
                                ConditionalCheckFailedException::builder()
                                    .message("The conditional request failed")
                                    .build(),
                            ),
                        );
                    }
                }
                let expr = req.update_expression().unwrap_or_default();
                if expr.contains("LeaseOwner = :o") {
                    w.lease_claims += 1;
                }
                let mut item = w.items.get(&key).cloned().unwrap_or_default();
                item.insert("Pk".into(), AttributeValue::S(key.clone()));
                update(expr, &mut item, &values, &names);
                w.items.insert(key, item);
                MockResponse::Output(UpdateItemOutput::builder().build())
            }
        },
    ];
    sim_client!(ddb, world, inv, rules)
}

/// Lambda `Invoke` of the gate's load worker: the worker's run is not simulated; it answers
/// the report of a passing run of exactly the duration it was asked, or, with `worker_fails`,
/// a function error (Lambda API reference,
/// Invoke: <https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html>).
pub fn lambda_client(world: &Shared, inv: usize) -> aws_sdk_lambda::Client {
    use aws_sdk_lambda as lambda;
    use lambda::operation::invoke::*;
    let rules: Vec<Rule> = vec![op!(
        world,
        inv,
        lambda::Client::invoke,
        InvokeError,
        |w, req| {
            let payload: serde_json::Value = req
                .payload()
                .and_then(|b| serde_json::from_slice(b.as_ref()).ok())
                .unwrap_or_default();
            // The user's post-create function: it runs (counted), and answers its own error
            // with `FunctionError` set, or a result.
            if payload.get("RequestType").is_some() {
                w.post_create_runs += 1;
                let b = InvokeOutput::builder().status_code(200);
                return MockResponse::Output(if w.post_create_fails {
                    b.function_error("Unhandled")
                        .payload(lambda::primitives::Blob::new(
                            br#"{"errorMessage":"migration 42 failed","errorType":"Error"}"#
                                .to_vec(),
                        ))
                        .build()
                } else {
                    b.payload(lambda::primitives::Blob::new(
                        br#"{"migrated":42}"#.to_vec(),
                    ))
                    .build()
                });
            }
            let spec = &payload[fargate_provider::load_test_gate::WORKER_EVENT];
            if w.worker_fails {
                // A function that errs or runs past its timeout: Invoke answers 200 with
                // `FunctionError` set and the error as the payload (API_Invoke.html, above).
                return MockResponse::Output(
                    InvokeOutput::builder()
                        .status_code(200)
                        .function_error("Unhandled")
                        .payload(lambda::primitives::Blob::new(
                            br#"{"errorMessage":"Task timed out after 900.00 seconds"}"#.to_vec(),
                        ))
                        .build(),
                );
            }
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
        }
    )];
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
        failover_timing: {
            let origin = world.lock().unwrap().origin;
            fargate_provider::failover::FailoverTiming {
                clock: Arc::new(move || EPOCH_START + (Instant::now() - origin).as_secs()),
                ..Default::default()
            }
        },
        // As installed: cfn/provider.yaml always gives the provider its state table.
        state_store: Some(fargate_provider::lifecycle_hook::HookStore {
            ddb: ddb_client(world, inv),
            table: "provider-hooks".into(),
        }),
    }
}
