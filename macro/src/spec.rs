//! The typed model of one `Fargate::App`: read from the template's JSON with every literal
//! checked, intrinsics kept opaque, and every problem recorded with its property path.

use crate::error::Problems;
use crate::intrinsics::{arn_sub, is_intrinsic};
use crate::reader::{path, show, ListVal, Reader, Val};
use serde_json::{Map, Value};

pub const APP_TYPE: &str = "Fargate::App";

/// What the reading of one App may look up in the rest of the template: the types and
/// properties of other resources (to infer what a `Ref` yields), the parameters and the Apps.
#[derive(Debug, Clone, Copy)]
pub struct TemplateCtx<'a> {
    pub resources: &'a Map<String, Value>,
    pub parameters: Option<&'a Map<String, Value>>,
    pub app_ids: &'a [String],
}

impl<'a> TemplateCtx<'a> {
    /// The type of a resource of the template.
    pub fn resource_type(&self, id: &str) -> Option<&'a str> {
        self.resources.get(id)?.get("Type")?.as_str()
    }
    /// A literal property of a resource of the template.
    pub fn resource_prop(&self, id: &str, key: &str) -> Option<&'a Value> {
        self.resources.get(id)?.get("Properties")?.get(key)
    }
    pub fn is_parameter(&self, name: &str) -> bool {
        self.parameters.is_some_and(|p| p.contains_key(name))
    }
    /// The resource a `{"Ref": X}` or `{"Fn::GetAtt": [X, attr]}` names, with the attribute.
    pub fn referenced(&self, v: &Value) -> Option<(&'a str, Option<String>)> {
        let m = v.as_object().filter(|m| m.len() == 1)?;
        let (id, attr) = if let Some(Value::String(r)) = m.get("Ref") {
            (r.as_str(), None)
        } else if let Some(Value::Array(a)) = m.get("Fn::GetAtt") {
            (a.first()?.as_str()?, Some(a.get(1)?.as_str()?.to_string()))
        } else {
            return None;
        };
        let (key, _) = self.resources.get_key_value(id)?;
        Some((key.as_str(), attr))
    }
}

/// The properties a `Fargate::App` takes.
pub const APP_KEYS: &[&str] = &[
    "Image",
    "Port",
    "ExtraPorts",
    "Cpu",
    "Memory",
    "Architecture",
    "Command",
    "EntryPoint",
    "Environment",
    "Secrets",
    "HealthCheck",
    "LogRetentionDays",
    "TaskPolicies",
    "ExecuteCommand",
    "Tags",
    "Cluster",
    "DesiredCount",
    "Network",
    "Spot",
    "LoadBalancer",
    "Discovery",
    "Scaling",
    "Deployment",
    "Failover",
    "LoadTest",
];
const RESOURCE_KEYS: &[&str] = &[
    "Type",
    "Properties",
    "Condition",
    "DependsOn",
    "DeletionPolicy",
    "UpdateReplacePolicy",
    "Metadata",
];
/// CloudWatch Logs' accepted retention periods, in days.
pub const LOG_RETENTION_DAYS: &[u64] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];
/// Target-group health-check defaults for HTTP targets (seconds).
pub const DEFAULT_HEALTH_INTERVAL: u64 = 30;
pub const DEFAULT_HEALTH_TIMEOUT: u64 = 6;
pub const DEFAULT_PORT_RANGE: (u64, u64) = (8000, 8999);
pub const DEFAULT_PRIORITY_RANGE: (u64, u64) = (1, 50000);
/// A load test longer than this cannot finish inside one 15-minute Lambda call with its
/// warm-up and the steady-state wait.
pub const MAX_LOAD_TEST_SECONDS: u64 = 600;

#[derive(Debug, Clone)]
pub struct App {
    pub id: String,
    pub image: Val<String>,
    pub port: Val<u64>,
    pub extra_ports: Vec<Val<u64>>,
    pub cpu: Val<u64>,
    pub memory: Val<u64>,
    pub architecture: Val<String>,
    pub command: Option<Value>,
    pub entry_point: Option<Value>,
    pub environment: Vec<(String, Value)>,
    pub secrets: Vec<Secret>,
    pub health_check: Option<ContainerHealth>,
    pub log_retention_days: Val<u64>,
    pub task_policies: Vec<Value>,
    pub execute_command: Val<bool>,
    pub tags: Vec<(String, Value)>,
    pub cluster: Option<Value>,
    pub desired_count: Option<Val<u64>>,
    pub network: Network,
    pub spot: Option<Spot>,
    pub load_balancer: Option<LoadBalancer>,
    pub discovery: Option<Discovery>,
    pub scaling: Option<Scaling>,
    pub deployment: Deployment,
    pub failover: Option<Failover>,
    pub load_test: Option<LoadTest>,
    pub attributes: ResourceAttributes,
}

/// Resource attributes on the App that carry over to every resource it expands into.
#[derive(Debug, Clone, Default)]
pub struct ResourceAttributes {
    pub condition: Option<Value>,
    pub depends_on: Vec<String>,
    pub deletion_policy: Option<Value>,
    pub update_replace_policy: Option<Value>,
    pub metadata: Option<Value>,
}

#[derive(Debug, Clone)]
pub struct Secret {
    pub name: String,
    /// What goes into the container definition's `ValueFrom`.
    pub value_from: Value,
    /// The ARN the execution role may read.
    pub resource: Value,
    pub kind: SecretKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    Ssm,
    SecretsManager,
    /// An intrinsic: the kind is known only at deploy time, so both read actions are granted
    /// on exactly that ARN.
    Unknown,
}

#[derive(Debug, Clone)]
pub struct ContainerHealth {
    pub command: Value,
    pub interval: Option<Val<u64>>,
    pub timeout: Option<Val<u64>>,
    pub retries: Option<Val<u64>>,
    pub start_period: Option<Val<u64>>,
}

#[derive(Debug, Clone)]
pub struct Network {
    pub vpc_id: Option<Val<String>>,
    pub subnets: Option<ListVal<Value>>,
    pub assign_public_ip: Val<bool>,
    pub security_groups: Option<ListVal<Value>>,
    pub allow_from: Vec<AllowFrom>,
}

/// Who else may reach the app's ports (peers found through Cloud Map, for example).
#[derive(Debug, Clone, PartialEq)]
pub enum AllowFrom {
    /// Another `Fargate::App` of this template, by logical ID.
    App(String),
    Cidr(String),
    SecurityGroup(Value),
}

#[derive(Debug, Clone)]
pub struct Spot {
    pub on_demand_base: Val<u64>,
    pub on_demand_weight: Val<u64>,
    pub spot_weight: Val<u64>,
}

#[derive(Debug, Clone)]
pub struct LoadBalancer {
    pub routing: Routing,
    /// Whether the app's listener speaks HTTPS (the certificate is used only then).
    pub https: Https,
    /// The certificate, without the condition that may switch it off (that is in `https`).
    pub certificate_arn: Option<Val<String>>,
    pub ingress_cidr: Val<String>,
    pub health_check: TargetHealth,
    pub deregistration_delay: Option<Val<u64>>,
    pub stickiness: Option<Val<u64>>,
}

#[derive(Debug, Clone)]
pub enum Routing {
    /// An ALB created for this app alone.
    Dedicated {
        scheme: Val<String>,
        subnets: Option<ListVal<Value>>,
    },
    /// A listener of the app's own on a shared ALB.
    SharedPort {
        arn: Val<String>,
        security_group: Val<String>,
        port: Dynamic,
        dns_name: Option<Val<String>>,
    },
    /// A rule on an existing listener of a shared ALB.
    SharedRule {
        arn: Option<Val<String>>,
        security_group: Val<String>,
        listener: Val<String>,
        paths: Vec<Val<String>>,
        hosts: Vec<Val<String>>,
        priority: Dynamic,
        dns_name: Option<Val<String>>,
    },
}

/// HTTPS always, never, or while a condition of the template holds (or, `negated`, fails).
#[derive(Debug, Clone, PartialEq)]
pub enum Https {
    Always,
    Never,
    When { condition: String, negated: bool },
}

/// A number fixed in the template, or `auto`: chosen at deploy time by the provider.
#[derive(Debug, Clone, PartialEq)]
pub enum Dynamic {
    Fixed(Val<u64>),
    Auto { from: u64, to: u64 },
}

#[derive(Debug, Clone, Default)]
pub struct TargetHealth {
    pub path: Option<Val<String>>,
    pub matcher: Option<Val<String>>,
    pub interval: Option<Val<u64>>,
    pub timeout: Option<Val<u64>>,
    pub healthy_threshold: Option<Val<u64>>,
    pub unhealthy_threshold: Option<Val<u64>>,
    pub grace_period: Option<Val<u64>>,
}

#[derive(Debug, Clone)]
pub struct Discovery {
    pub name: Val<String>,
    pub namespace: NamespaceRef,
    pub ttl: Val<u64>,
}

#[derive(Debug, Clone)]
pub enum NamespaceRef {
    /// An existing namespace by ID; its DNS name, when given, makes `DiscoveryName` available.
    Existing {
        id: Val<String>,
        name: Option<String>,
    },
    /// A private DNS namespace created once per template for this name.
    Create { name: String },
}

#[derive(Debug, Clone)]
pub struct Scaling {
    pub min: Val<u64>,
    pub max: Val<u64>,
    pub cpu_percent: Option<Val<u64>>,
    pub memory_percent: Option<Val<u64>>,
    pub requests_per_target: Option<Val<u64>>,
    pub scale_in_cooldown: Option<Val<u64>>,
    pub scale_out_cooldown: Option<Val<u64>>,
}

#[derive(Debug, Clone)]
pub struct Deployment {
    pub min_healthy_percent: Option<Val<u64>>,
    pub max_percent: Option<Val<u64>>,
    pub circuit_breaker: Val<bool>,
    pub alarms: Option<ListVal<Value>>,
}

#[derive(Debug, Clone)]
pub struct Failover {
    pub standby: Standby,
    pub alarm: FailoverAlarm,
    pub standby_count: Val<u64>,
    pub healthy_timeout: Val<u64>,
}

#[derive(Debug, Clone)]
pub enum Standby {
    Function(Val<String>),
    TargetGroup(Val<String>),
}

#[derive(Debug, Clone)]
pub enum FailoverAlarm {
    Existing(Val<String>),
    Trigger(Map<String, Value>),
}

#[derive(Debug, Clone)]
pub struct LoadTest {
    pub url: Option<Val<String>>,
    pub path: Val<String>,
    pub model: LoadModel,
    pub duration: Val<u64>,
    pub warm_up: Val<u64>,
    pub workers: Val<u64>,
    pub method: Val<String>,
    pub headers: Vec<(String, Value)>,
    pub body: Option<Val<String>>,
    pub expected_status: Val<u64>,
    pub timeout_ms: Val<u64>,
    pub thresholds: Thresholds,
}

#[derive(Debug, Clone)]
pub enum LoadModel {
    Rate(Val<u64>),
    Concurrency(Val<u64>),
}

#[derive(Debug, Clone, Default)]
pub struct Thresholds {
    pub p50_ms: Option<Val<u64>>,
    pub p90_ms: Option<Val<u64>>,
    pub p99_ms: Option<Val<u64>>,
    pub max_error_rate: Option<Val<f64>>,
    pub min_rps: Option<Val<f64>>,
}

/// Memory sizes Fargate accepts for a CPU size, in MiB.
pub fn fargate_memory(cpu: u64) -> Option<Vec<u64>> {
    let gib = |from: u64, to: u64, step: u64| {
        (from..=to)
            .step_by(step as usize)
            .map(|g| g * 1024)
            .collect()
    };
    Some(match cpu {
        256 => vec![512, 1024, 2048],
        512 => gib(1, 4, 1),
        1024 => gib(2, 8, 1),
        2048 => gib(4, 16, 1),
        4096 => gib(8, 30, 1),
        8192 => gib(16, 60, 4),
        16384 => gib(32, 120, 8),
        _ => return None,
    })
}

fn describe_sizes(sizes: &[u64]) -> String {
    if sizes.len() <= 4 {
        sizes
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    } else {
        format!(
            "{} to {} in steps of {}",
            sizes[0],
            sizes[sizes.len() - 1],
            sizes[1] - sizes[0]
        )
    }
}

struct Props<'a> {
    map: &'a Map<String, Value>,
    base: String,
}

impl<'a> Props<'a> {
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key)
    }
    fn path(&self, key: &str) -> String {
        path(&self.base, key)
    }
}

/// Reads one `Fargate::App` resource. Returns `None` when anything was wrong (the problems
/// are in `problems`).
pub fn read_app(
    id: &str,
    resource: &Value,
    ctx: &TemplateCtx,
    problems: &mut Problems,
) -> Option<App> {
    let before = problems.len();
    let mut r = Reader::new(id, problems);
    let res = r.object("", resource, RESOURCE_KEYS)?;
    let attributes = read_attributes(&mut r, res);
    if attributes.depends_on.iter().any(|d| d == id) {
        r.err("DependsOn", "an App cannot depend on itself");
    }
    let empty = Map::new();
    let props_v = match res.get("Properties") {
        Some(v) => r.object("Properties", v, APP_KEYS),
        None => {
            r.err("Properties", "required (at least Image)");
            None
        }
    };
    let p = Props {
        map: props_v.unwrap_or(&empty),
        base: "Properties".into(),
    };

    let image = match p.get("Image") {
        Some(v) => r.nonempty(&p.path("Image"), v),
        None => {
            if props_v.is_some() {
                r.err(&p.path("Image"), "required: the container image to run");
            }
            None
        }
    };
    let port = opt_int(&mut r, &p, "Port", 1, 65535).unwrap_or(Val::Lit(80));
    let extra_ports = p
        .get("ExtraPorts")
        .and_then(|v| {
            r.list(&p.path("ExtraPorts"), v, |r, ip, it| {
                r.int(ip, it, 1, 65535)
            })
        })
        .map(|l| l.items().to_vec())
        .unwrap_or_default();
    let cpu = opt_int(&mut r, &p, "Cpu", 1, 16384).unwrap_or(Val::Lit(256));
    let memory = opt_int(&mut r, &p, "Memory", 1, 122880).unwrap_or(match cpu {
        Val::Lit(c) => Val::Lit(fargate_memory(c).map(|m| m[0]).unwrap_or(512)),
        Val::Expr(_) => Val::Lit(512),
    });
    check_task_size(&mut r, &p, &cpu, &memory);
    let architecture = p
        .get("Architecture")
        .and_then(|v| r.word(&p.path("Architecture"), v, &["X86_64", "ARM64"]))
        .unwrap_or(Val::Lit("X86_64".into()));
    let command = p
        .get("Command")
        .and_then(|v| command_list(&mut r, &p.path("Command"), v));
    let entry_point = p
        .get("EntryPoint")
        .and_then(|v| command_list(&mut r, &p.path("EntryPoint"), v));
    let environment = p
        .get("Environment")
        .map(|v| r.string_map(&p.path("Environment"), v))
        .unwrap_or_default();
    for (k, _) in &environment {
        check_env_name(&mut r, &path(&p.path("Environment"), k), k);
    }
    let secrets = p
        .get("Secrets")
        .map(|v| read_secrets(&mut r, &p.path("Secrets"), v, ctx))
        .unwrap_or_default();
    for s in &secrets {
        if environment.iter().any(|(k, _)| k == &s.name) {
            r.err(
                &path(&p.path("Secrets"), &s.name),
                "also set in Environment: a variable comes from one or the other",
            );
        }
    }
    let health_check = p
        .get("HealthCheck")
        .and_then(|v| read_container_health(&mut r, &p.path("HealthCheck"), v));
    let log_retention_days = match p.get("LogRetentionDays") {
        Some(v) => match r.int(&p.path("LogRetentionDays"), v, 1, 3653) {
            Some(Val::Lit(n)) if !LOG_RETENTION_DAYS.contains(&n) => {
                r.err(
                    &p.path("LogRetentionDays"),
                    format!(
                        "{n} is not a retention CloudWatch Logs accepts ({})",
                        LOG_RETENTION_DAYS
                            .iter()
                            .map(u64::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
                Val::Lit(30)
            }
            Some(v) => v,
            None => Val::Lit(30),
        },
        None => Val::Lit(30),
    };
    let task_policies = p
        .get("TaskPolicies")
        .and_then(|v| r.list(&p.path("TaskPolicies"), v, read_statement))
        .map(|l| match l {
            ListVal::Items(v) => v,
            ListVal::Expr(_) => {
                r.err(
                    &p.path("TaskPolicies"),
                    "must be a literal list of IAM policy statements",
                );
                Vec::new()
            }
        })
        .unwrap_or_default();
    let execute_command = p
        .get("ExecuteCommand")
        .and_then(|v| r.boolean(&p.path("ExecuteCommand"), v))
        .unwrap_or(Val::Lit(false));
    let tags = p
        .get("Tags")
        .map(|v| r.string_map(&p.path("Tags"), v))
        .unwrap_or_default();
    for (k, _) in &tags {
        if k.len() > 128 || k.starts_with("aws:") {
            r.err(
                &path(&p.path("Tags"), k),
                "tag keys are at most 128 characters and may not start with 'aws:'",
            );
        }
    }
    let cluster = p
        .get("Cluster")
        .and_then(|v| r.nonempty(&p.path("Cluster"), v))
        .map(|v| v.json());
    let desired_count = opt_int(&mut r, &p, "DesiredCount", 0, 5000);
    let network = read_network(&mut r, &p, id, ctx.app_ids);
    let spot = p
        .get("Spot")
        .and_then(|v| read_spot(&mut r, &p.path("Spot"), v));
    let load_balancer = p
        .get("LoadBalancer")
        .and_then(|v| read_load_balancer(&mut r, &p.path("LoadBalancer"), v, ctx));
    let discovery = p
        .get("Discovery")
        .and_then(|v| read_discovery(&mut r, &p.path("Discovery"), v, ctx));
    let scaling = p
        .get("Scaling")
        .and_then(|v| read_scaling(&mut r, &p.path("Scaling"), v));
    let deployment = read_deployment(&mut r, &p);
    let failover = p
        .get("Failover")
        .and_then(|v| read_failover(&mut r, &p.path("Failover"), v, ctx));
    let load_test = p
        .get("LoadTest")
        .and_then(|v| read_load_test(&mut r, &p.path("LoadTest"), v));

    // Cross-field rules.
    if scaling.is_some() && desired_count.is_some() {
        // CloudFormation re-applies a template count on every update, undoing the scaling.
        r.err(
            &p.path("DesiredCount"),
            "not used with Scaling: a count in the template is re-applied on every stack update and undoes auto scaling; Scaling.Min sets the floor",
        );
    }
    if let Some(s) = &scaling {
        if s.requests_per_target.is_some() && load_balancer.is_none() {
            r.err(
                &p.path("Scaling.RequestsPerTarget"),
                "needs a LoadBalancer: it scales on the ALB's request count per target",
            );
        }
    }
    if failover.is_some() && load_balancer.is_none() {
        r.err(
            &p.path("Failover"),
            "needs a LoadBalancer: failover moves listener weights between target groups",
        );
    }
    if let Some(lt) = &load_test {
        if lt.url.is_none() && load_balancer.is_none() {
            r.err(
                &p.path("LoadTest"),
                "needs a LoadBalancer to send load through, or an explicit Url",
            );
        }
    }
    if let Some(lb) = &load_balancer {
        let needs_cert = !matches!(lb.routing, Routing::SharedRule { .. });
        if needs_cert && lb.certificate_arn.is_none() && lb.https != Https::Never {
            r.err(
                &p.path("LoadBalancer.CertificateArn"),
                "required when Protocol is HTTPS",
            );
        }
    }
    if network.vpc_id.is_none() && props_v.is_some() {
        r.err(
            &p.path("Network.VpcId"),
            "required: the VPC of the app's security group",
        );
    }
    if network.subnets.is_none() && props_v.is_some() {
        r.err(
            &p.path("Network.Subnets"),
            "required: the subnets the tasks run in",
        );
    }
    if let (Some(lb), Some(ListVal::Items(items))) = (&load_balancer, &network.subnets) {
        if matches!(lb.routing, Routing::Dedicated { subnets: None, .. }) && items.len() < 2 {
            r.err(
                &p.path("LoadBalancer.Create"),
                "an ALB needs subnets in at least two Availability Zones; Network.Subnets names one: give LoadBalancer.Create.Subnets or a second subnet",
            );
        }
    }
    if architecture.lit().map(String::as_str) == Some("ARM64") && spot.is_some() {
        r.err(
            &p.path("Spot"),
            "Fargate Spot runs X86_64 tasks only; drop Spot or use Architecture X86_64",
        );
    }
    if let (Some(s), Some(lb)) = (&scaling, &load_balancer) {
        if let Routing::SharedRule { arn: None, .. } = lb.routing {
            if s.requests_per_target.is_some() {
                r.err(&p.path("LoadBalancer.Arn"), "needed with Listener when Scaling.RequestsPerTarget is set (the metric names the ALB)");
            }
        }
    }

    if problems_added(&r, before) {
        return None;
    }
    Some(App {
        id: id.to_string(),
        image: image?,
        port,
        extra_ports,
        cpu,
        memory,
        architecture,
        command,
        entry_point,
        environment,
        secrets,
        health_check,
        log_retention_days,
        task_policies,
        execute_command,
        tags,
        cluster,
        desired_count,
        network,
        spot,
        load_balancer,
        discovery,
        scaling,
        deployment,
        failover,
        load_test,
        attributes,
    })
}

fn problems_added(r: &Reader, before: usize) -> bool {
    r.problem_count() > before
}

fn opt_int(r: &mut Reader, p: &Props, key: &str, min: u64, max: u64) -> Option<Val<u64>> {
    p.get(key).and_then(|v| r.int(&p.path(key), v, min, max))
}

fn read_attributes(r: &mut Reader, res: &Map<String, Value>) -> ResourceAttributes {
    let mut a = ResourceAttributes::default();
    if let Some(c) = res.get("Condition") {
        match c {
            Value::String(_) => a.condition = Some(c.clone()),
            _ => r.err(
                "Condition",
                format!("expected the name of a condition, got {}", show(c)),
            ),
        }
    }
    match res.get("DependsOn") {
        None => {}
        Some(Value::String(s)) => a.depends_on.push(s.clone()),
        Some(Value::Array(items)) => {
            for (i, it) in items.iter().enumerate() {
                match it {
                    Value::String(s) => a.depends_on.push(s.clone()),
                    _ => r.err(
                        &format!("DependsOn[{i}]"),
                        format!("expected a logical ID, got {}", show(it)),
                    ),
                }
            }
        }
        Some(other) => r.err(
            "DependsOn",
            format!(
                "expected a logical ID or a list of them, got {}",
                show(other)
            ),
        ),
    }
    for (key, slot) in [
        ("DeletionPolicy", &mut a.deletion_policy),
        ("UpdateReplacePolicy", &mut a.update_replace_policy),
    ] {
        if let Some(v) = res.get(key) {
            match v {
                Value::String(s) if s == "Delete" || s == "Retain" || s == "RetainExceptOnCreate" => *slot = Some(v.clone()),
                Value::String(s) if s == "Snapshot" => r.err(key, "Snapshot applies to none of the resources an App expands into; use Retain or Delete"),
                _ => r.err(key, format!("{} is not one of Delete, Retain, RetainExceptOnCreate", show(v))),
            }
        }
    }
    a.metadata = res.get("Metadata").cloned();
    a
}

fn check_task_size(r: &mut Reader, p: &Props, cpu: &Val<u64>, memory: &Val<u64>) {
    let Val::Lit(c) = cpu else { return };
    match fargate_memory(*c) {
        None => r.err(
            &p.path("Cpu"),
            format!(
                "{c} is not a Fargate CPU size (allowed: 256, 512, 1024, 2048, 4096, 8192, 16384)"
            ),
        ),
        Some(allowed) => {
            if let Val::Lit(m) = memory {
                if !allowed.contains(m) {
                    r.err(
                        &p.path("Memory"),
                        format!(
                            "{m} is not valid with Cpu {c} (allowed: {})",
                            describe_sizes(&allowed)
                        ),
                    );
                }
            }
        }
    }
}

fn check_env_name(r: &mut Reader, p: &str, name: &str) {
    let ok = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ok {
        r.err(
            p,
            "an environment variable name is letters, digits and _ and does not start with a digit",
        );
    }
}

/// `Command`/`EntryPoint`: a list of strings, a string (split on spaces, as `docker run` does
/// for the exec form), or an intrinsic.
fn command_list(r: &mut Reader, p: &str, v: &Value) -> Option<Value> {
    match v {
        Value::String(s) => Some(Value::Array(
            s.split_whitespace()
                .map(|w| Value::String(w.into()))
                .collect(),
        )),
        _ => r
            .list(p, v, |r, ip, it| r.string(ip, it).map(|s| s.json()))
            .map(|l| l.json()),
    }
}

fn read_statement(r: &mut Reader, p: &str, v: &Value) -> Option<Value> {
    let m = r.object(
        p,
        v,
        &[
            "Sid",
            "Effect",
            "Action",
            "NotAction",
            "Resource",
            "NotResource",
            "Condition",
            "Principal",
        ],
    )?;
    if m.contains_key("Principal") {
        r.err(
            &path(p, "Principal"),
            "not allowed in an identity policy statement",
        );
    }
    match m.get("Effect") {
        Some(Value::String(e)) if e == "Allow" || e == "Deny" => {}
        Some(e) => r.err(
            &path(p, "Effect"),
            format!("{} is not Allow or Deny", show(e)),
        ),
        None => r.err(&path(p, "Effect"), "required (Allow or Deny)"),
    }
    if !m.contains_key("Action") && !m.contains_key("NotAction") {
        r.err(&path(p, "Action"), "required");
    }
    if !m.contains_key("Resource") && !m.contains_key("NotResource") {
        r.err(&path(p, "Resource"), "required");
    }
    Some(v.clone())
}

const SECRET_FORMS: &str = "give an SSM parameter name or ARN, a Secrets Manager secret ARN (optionally with :json-key:version-stage:version-id), !Ref of an AWS::SSM::Parameter or AWS::SecretsManager::Secret of this template, !Sub '${Secret}:json-key::', or !Ref of a template parameter holding an ARN";

fn read_secrets(r: &mut Reader, p: &str, v: &Value, ctx: &TemplateCtx) -> Vec<Secret> {
    let mut out = Vec::new();
    for (name, val) in r.string_map(p, v) {
        let sp = path(p, &name);
        check_env_name(r, &sp, &name);
        let read = match &val {
            Value::String(s) if s.starts_with("arn:") => literal_secret_arn(s).ok_or_else(|| {
                format!(
                    "{} is neither an SSM parameter ARN nor a Secrets Manager secret ARN",
                    show(&val)
                )
            }),
            Value::String(s) if !s.is_empty() => {
                let resource = format!("parameter/{}", s.trim_start_matches('/'));
                let arn = arn_sub("ssm", &resource);
                out.push(Secret {
                    name,
                    value_from: arn.clone(),
                    resource: arn,
                    kind: SecretKind::Ssm,
                });
                continue;
            }
            _ if is_intrinsic(&val) => secret_from_intrinsic(&val, ctx),
            _ => {
                Err("expected an SSM parameter name or ARN, or a Secrets Manager secret ARN".into())
            }
        };
        match read {
            Ok((resource, kind)) => out.push(Secret {
                name,
                value_from: val.clone(),
                resource,
                kind,
            }),
            Err(why) => r.err(&sp, why),
        }
    }
    out
}

/// The ARN a literal secret ARN grants: a Secrets Manager ARN without its JSON-key/version
/// suffix, and with `-??????` when the 6-character random suffix is missing.
fn literal_secret_arn(s: &str) -> Option<(Value, SecretKind)> {
    let parts: Vec<&str> = s.split(':').collect();
    match parts.get(2).copied() {
        Some("ssm") if parts.len() >= 6 => Some((Value::String(s.into()), SecretKind::Ssm)),
        Some("secretsmanager") if parts.len() >= 7 && parts[5] == "secret" => {
            let mut arn = parts[..7].join(":");
            if !has_random_suffix(parts[6]) {
                arn.push_str("-??????");
            }
            Some((Value::String(arn), SecretKind::SecretsManager))
        }
        _ => None,
    }
}

/// Secrets Manager appends `-` and 6 random characters to a secret's name in its ARN.
fn has_random_suffix(name: &str) -> bool {
    name.rsplit_once('-')
        .is_some_and(|(_, tail)| tail.len() == 6 && tail.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// The ARN an intrinsic secret grants, from what the template says the referenced thing is.
fn secret_from_intrinsic(v: &Value, ctx: &TemplateCtx) -> Result<(Value, SecretKind), String> {
    let unknown = || {
        Err(format!(
            "cannot tell which ARN {} is; {SECRET_FORMS}",
            show(v)
        ))
    };
    let m = v.as_object().expect("an intrinsic is an object");
    let (k, arg) = m.iter().next().expect("an intrinsic has one key");
    match k.as_str() {
        "Ref" => {
            let name = arg.as_str().unwrap_or_default();
            if ctx.is_parameter(name) {
                return Ok((v.clone(), SecretKind::Unknown));
            }
            match ctx.resource_type(name) {
                Some("AWS::SecretsManager::Secret") => Ok((v.clone(), SecretKind::SecretsManager)),
                Some("AWS::SSM::Parameter") => match ctx.resource_prop(name, "Name") {
                    // Without a Name, CloudFormation generates one without a leading /.
                    None => Ok((
                        crate::intrinsics::sub(&format!(
                            "arn:${{AWS::Partition}}:ssm:${{AWS::Region}}:${{AWS::AccountId}}:parameter/${{{name}}}"
                        )),
                        SecretKind::Ssm,
                    )),
                    Some(Value::String(n)) => Ok((
                        arn_sub("ssm", &format!("parameter/{}", n.trim_start_matches('/'))),
                        SecretKind::Ssm,
                    )),
                    Some(_) => Err(format!("{name}'s Name is not literal, so its ARN is unknown (a path name's ARN drops the leading /); give the parameter's ARN with !Sub, or a literal Name")),
                },
                _ => unknown(),
            }
        }
        "Fn::GetAtt" => match ctx.referenced(v) {
            Some((id, Some(attr)))
                if ctx.resource_type(id) == Some("AWS::SecretsManager::Secret") && attr == "Id" =>
            {
                Ok((v.clone(), SecretKind::SecretsManager))
            }
            _ => unknown(),
        },
        "Fn::ImportValue" | "Fn::FindInMap" => Ok((v.clone(), SecretKind::Unknown)),
        "Fn::Sub" => {
            let (text, vars) = match arg {
                Value::String(t) => (t.as_str(), None),
                Value::Array(a) if a.len() == 2 => {
                    (a[0].as_str().unwrap_or_default(), a[1].as_object())
                }
                _ => return unknown(),
            };
            if text.starts_with("arn:") {
                let parts: Vec<&str> = text.split(':').collect();
                if parts.get(2) == Some(&"secretsmanager") && parts.len() > 7 {
                    let arn = Value::String(parts[..7].join(":"));
                    let mut sub = serde_json::Map::new();
                    sub.insert(
                        "Fn::Sub".into(),
                        match vars {
                            Some(vs) => Value::Array(vec![arn, Value::Object(vs.clone())]),
                            None => arn,
                        },
                    );
                    return Ok((Value::Object(sub), SecretKind::SecretsManager));
                }
                return Ok((v.clone(), SecretKind::Unknown));
            }
            // `${Secret}:json-key::` reads the secret `${Secret}` names.
            let Some(rest) = text.strip_prefix("${") else {
                return unknown();
            };
            let Some((name, tail)) = rest.split_once('}') else {
                return unknown();
            };
            if !(tail.is_empty() || tail.starts_with(':'))
                || vars.is_some_and(|vs| vs.contains_key(name))
            {
                return unknown();
            }
            let target = serde_json::json!({ "Ref": name });
            match secret_from_intrinsic(&target, ctx) {
                Ok((arn, kind)) if kind != SecretKind::Ssm => Ok((arn, kind)),
                _ => unknown(),
            }
        }
        "Fn::If" => {
            let a = arg
                .as_array()
                .filter(|a| a.len() == 3)
                .map(|a| a.as_slice());
            let Some([c, yes, no]) = a else {
                return unknown();
            };
            let branch = |b: &Value| -> Result<(Value, SecretKind), String> {
                if b.get("Ref").and_then(Value::as_str) == Some("AWS::NoValue") {
                    return Ok((b.clone(), SecretKind::Unknown));
                }
                match b {
                    Value::String(s) if s.starts_with("arn:") => {
                        literal_secret_arn(s).ok_or_else(|| unknown().unwrap_err())
                    }
                    Value::String(s) if !s.is_empty() => Ok((
                        arn_sub("ssm", &format!("parameter/{}", s.trim_start_matches('/'))),
                        SecretKind::Ssm,
                    )),
                    _ if is_intrinsic(b) => secret_from_intrinsic(b, ctx),
                    _ => unknown(),
                }
            };
            let (y, yk) = branch(yes)?;
            let (n, nk) = branch(no)?;
            let kind = if yk == nk { yk } else { SecretKind::Unknown };
            Ok((serde_json::json!({ "Fn::If": [c, y, n] }), kind))
        }
        _ => unknown(),
    }
}

fn read_container_health(r: &mut Reader, p: &str, v: &Value) -> Option<ContainerHealth> {
    let m = r.object(
        p,
        v,
        &["Command", "Interval", "Timeout", "Retries", "StartPeriod"],
    )?;
    let command = match m.get("Command") {
        Some(Value::String(s)) => Some(serde_json::json!(["CMD-SHELL", s])),
        Some(c) => r.list(&path(p, "Command"), c, |r, ip, it| r.string(ip, it).map(|s| s.json())).map(|l| {
            let j = l.json();
            if let Some(first) = j.get(0).and_then(Value::as_str) {
                if first != "CMD" && first != "CMD-SHELL" && first != "NONE" {
                    r.err(&path(p, "Command[0]"), "a list command starts with CMD or CMD-SHELL (or give a string for CMD-SHELL)");
                }
            }
            j
        }),
        None => {
            r.err(&path(p, "Command"), "required, e.g. 'curl -f http://localhost:3000/health || exit 1'");
            None
        }
    };
    let int =
        |r: &mut Reader, k: &str, min, max| m.get(k).and_then(|v| r.int(&path(p, k), v, min, max));
    let h = ContainerHealth {
        command: command?,
        interval: int(r, "Interval", 5, 300),
        timeout: int(r, "Timeout", 2, 60),
        retries: int(r, "Retries", 1, 10),
        start_period: int(r, "StartPeriod", 0, 300),
    };
    if let (Some(Val::Lit(i)), Some(Val::Lit(t))) = (&h.interval, &h.timeout) {
        if t >= i {
            r.err(
                &path(p, "Timeout"),
                format!("{t} must be less than Interval {i}"),
            );
        }
    }
    Some(h)
}

fn read_network(r: &mut Reader, p: &Props, id: &str, app_ids: &[String]) -> Network {
    let mut n = Network {
        vpc_id: None,
        subnets: None,
        assign_public_ip: Val::Lit(false),
        security_groups: None,
        allow_from: Vec::new(),
    };
    let np = p.path("Network");
    let Some(v) = p.get("Network") else { return n };
    let Some(m) = r.object(
        &np,
        v,
        &[
            "VpcId",
            "Subnets",
            "AssignPublicIp",
            "SecurityGroups",
            "AllowFrom",
        ],
    ) else {
        return n;
    };
    n.vpc_id = m
        .get("VpcId")
        .and_then(|v| r.nonempty(&path(&np, "VpcId"), v));
    n.subnets = m.get("Subnets").and_then(|v| {
        r.list(&path(&np, "Subnets"), v, |r, ip, it| {
            r.nonempty(ip, it).map(|s| s.json())
        })
    });
    if let Some(ListVal::Items(items)) = &n.subnets {
        if items.is_empty() {
            r.err(&path(&np, "Subnets"), "must name at least one subnet");
        }
    }
    if let Some(v) = m.get("AssignPublicIp") {
        n.assign_public_ip = r
            .boolean(&path(&np, "AssignPublicIp"), v)
            .unwrap_or(Val::Lit(false));
    }
    n.security_groups = m.get("SecurityGroups").and_then(|v| {
        r.list(&path(&np, "SecurityGroups"), v, |r, ip, it| {
            r.nonempty(ip, it).map(|s| s.json())
        })
    });
    if let Some(v) = m.get("AllowFrom") {
        let ap = path(&np, "AllowFrom");
        if let Some(ListVal::Items(items)) = r.list(&ap, v, |r, ip, it| {
            Some((ip.to_string(), r.nonempty(ip, it)?))
        }) {
            for (ip, item) in items {
                n.allow_from.push(match item {
                    Val::Lit(s) if app_ids.contains(&s) => {
                        if s == id {
                            r.err(&ip, "an app does not need to allow itself");
                            continue;
                        }
                        AllowFrom::App(s)
                    }
                    Val::Lit(s) if s.contains('/') => {
                        if !valid_cidr(&s) {
                            r.err(&ip, format!("'{s}' is not an IPv4 CIDR block"));
                            continue;
                        }
                        AllowFrom::Cidr(s)
                    }
                    Val::Lit(s) if s.starts_with("sg-") => AllowFrom::SecurityGroup(Value::String(s)),
                    Val::Lit(s) => {
                        r.err(&ip, format!("'{s}' is neither a Fargate::App of this template, a security group ID (sg-...) nor a CIDR block"));
                        continue;
                    }
                    Val::Expr(e) => AllowFrom::SecurityGroup(e),
                });
            }
        } else if is_intrinsic(v) {
            r.err(
                &ap,
                "must be a literal list (each item may be an intrinsic)",
            );
        }
    }
    n
}

pub fn valid_cidr(s: &str) -> bool {
    let Some((ip, bits)) = s.split_once('/') else {
        return false;
    };
    ip.parse::<std::net::Ipv4Addr>().is_ok() && bits.parse::<u8>().map(|b| b <= 32).unwrap_or(false)
}

fn read_spot(r: &mut Reader, p: &str, v: &Value) -> Option<Spot> {
    match v {
        Value::Bool(false) => None,
        Value::Bool(true) => Some(Spot {
            on_demand_base: Val::Lit(0),
            on_demand_weight: Val::Lit(0),
            spot_weight: Val::Lit(1),
        }),
        _ => {
            let m = r.object(p, v, &["OnDemandBase", "OnDemandWeight", "SpotWeight"])?;
            let int = |r: &mut Reader, k: &str, d: u64| {
                m.get(k)
                    .and_then(|v| r.int(&path(p, k), v, 0, 1000))
                    .unwrap_or(Val::Lit(d))
            };
            let s = Spot {
                on_demand_base: int(r, "OnDemandBase", 0),
                on_demand_weight: int(r, "OnDemandWeight", 0),
                spot_weight: int(r, "SpotWeight", 1),
            };
            if let (Val::Lit(0), Val::Lit(0)) = (&s.on_demand_weight, &s.spot_weight) {
                r.err(
                    &path(p, "SpotWeight"),
                    "OnDemandWeight and SpotWeight cannot both be 0",
                );
            }
            Some(s)
        }
    }
}

const LB_KEYS: &[&str] = &[
    "Create",
    "Arn",
    "SecurityGroup",
    "Listener",
    "Path",
    "Host",
    "Priority",
    "PriorityRange",
    "ListenerPort",
    "PortRange",
    "Protocol",
    "CertificateArn",
    "DnsName",
    "IngressCidr",
    "HealthCheck",
    "DeregistrationDelay",
    "Stickiness",
];

fn read_load_balancer(
    r: &mut Reader,
    p: &str,
    v: &Value,
    ctx: &TemplateCtx,
) -> Option<LoadBalancer> {
    let m = r.object(p, v, LB_KEYS)?;
    let kp = |k: &str| path(p, k);
    let s = |r: &mut Reader, k: &str| m.get(k).and_then(|v| r.nonempty(&path(p, k), v));
    let (certificate_arn, cert_cond) = match m.get("CertificateArn") {
        Some(v) => match conditional_value(v) {
            Some((c, negated, inner)) => {
                (r.nonempty(&kp("CertificateArn"), inner), Some((c, negated)))
            }
            None => (r.nonempty(&kp("CertificateArn"), v), None),
        },
        None => (None, None),
    };
    let https = read_https(
        r,
        p,
        m.get("Protocol"),
        certificate_arn.is_some(),
        cert_cond,
    );
    let ingress_cidr = match m.get("IngressCidr") {
        Some(v) => match r.string(&kp("IngressCidr"), v) {
            Some(Val::Lit(c)) if !valid_cidr(&c) => {
                r.err(
                    &kp("IngressCidr"),
                    format!("'{c}' is not an IPv4 CIDR block"),
                );
                Val::Lit(c)
            }
            Some(x) => x,
            None => Val::Lit("0.0.0.0/0".into()),
        },
        None => Val::Lit("0.0.0.0/0".into()),
    };
    // A shared ALB of this template: its DNS name is known without DnsName.
    let dns_name = s(r, "DnsName").or_else(|| {
        let (id, _) = ctx.referenced(m.get("Arn")?)?;
        (ctx.resource_type(id) == Some("AWS::ElasticLoadBalancingV2::LoadBalancer"))
            .then(|| Val::Expr(crate::intrinsics::get_att(id, "DNSName")))
    });
    let has = |k: &str| m.contains_key(k);
    let forbid = |r: &mut Reader, keys: &[&str], why: &str| {
        for k in keys {
            if has(k) {
                r.err(&kp(k), format!("not used {why}"));
            }
        }
    };
    let routing = if let Some(c) = m.get("Create") {
        if has("Arn") {
            r.err(
                &kp("Arn"),
                "give either Create (a dedicated ALB) or Arn (a shared ALB), not both",
            );
        }
        forbid(
            r,
            &[
                "SecurityGroup",
                "Listener",
                "Path",
                "Host",
                "Priority",
                "PriorityRange",
                "ListenerPort",
                "PortRange",
                "DnsName",
            ],
            "with Create (a dedicated ALB)",
        );
        let cp = kp("Create");
        let (scheme, subnets) = match c {
            Value::Bool(true) => (Val::Lit("internet-facing".to_string()), None),
            _ => {
                let cm = r.object(&cp, c, &["Scheme", "Subnets"])?;
                let scheme = cm
                    .get("Scheme")
                    .and_then(|v| r.word(&path(&cp, "Scheme"), v, &["internet-facing", "internal"]))
                    .unwrap_or(Val::Lit("internet-facing".into()));
                let subnets = cm.get("Subnets").and_then(|v| {
                    r.list(&path(&cp, "Subnets"), v, |r, ip, it| {
                        r.nonempty(ip, it).map(|s| s.json())
                    })
                });
                if let Some(ListVal::Items(items)) = &subnets {
                    if items.len() < 2 {
                        r.err(
                            &path(&cp, "Subnets"),
                            "an ALB needs subnets in at least two Availability Zones",
                        );
                    }
                }
                (scheme, subnets)
            }
        };
        Routing::Dedicated { scheme, subnets }
    } else if let Some(listener) = m.get("Listener") {
        forbid(
            r,
            &["ListenerPort", "PortRange"],
            "with Listener (a rule on an existing listener)",
        );
        let listener = r.nonempty(&kp("Listener"), listener)?;
        let mut values = |k: &str, check: fn(&str) -> Option<&'static str>| -> Vec<Val<String>> {
            let Some(v) = m.get(k) else { return Vec::new() };
            let items = match v {
                Value::String(_) => vec![v.clone()],
                Value::Array(a) => a.clone(),
                _ if is_intrinsic(v) => vec![v.clone()],
                _ => {
                    r.err(
                        &kp(k),
                        format!("expected a string or a list of strings, got {}", show(v)),
                    );
                    return Vec::new();
                }
            };
            let mut out = Vec::new();
            for (i, it) in items.iter().enumerate() {
                let ip = if matches!(v, Value::Array(_)) {
                    format!("{}[{i}]", kp(k))
                } else {
                    kp(k)
                };
                if let Some(s) = r.nonempty(&ip, it) {
                    if let Val::Lit(text) = &s {
                        if let Some(why) = check(text) {
                            r.err(&ip, format!("'{text}' {why}"));
                        }
                    }
                    out.push(s);
                }
            }
            out
        };
        let paths = values("Path", |s| {
            (!s.starts_with('/'))
                .then_some("must start with /")
                .or((s.len() > 128).then_some("is longer than 128 characters"))
        });
        let hosts = values("Host", |s| {
            (s.len() > 128)
                .then_some("is longer than 128 characters")
                .or(s.contains('/').then_some("is a host name, not a URL"))
        });
        if paths.is_empty() && hosts.is_empty() {
            r.err(
                &kp("Path"),
                "a rule on a shared listener needs a Path and/or a Host condition",
            );
        }
        if paths.len() + hosts.len() > 5 {
            r.err(
                &kp("Path"),
                format!(
                    "{} condition values in one rule; an ALB rule takes at most 5",
                    paths.len() + hosts.len()
                ),
            );
        }
        let priority = match m.get("Priority") {
            Some(v) => read_dynamic(
                r,
                &kp("Priority"),
                v,
                m.get("PriorityRange"),
                &kp("PriorityRange"),
                1,
                50000,
                DEFAULT_PRIORITY_RANGE,
            )?,
            None => {
                r.err(
                    &kp("Priority"),
                    "required with Listener: a number from 1 to 50000, or auto",
                );
                return None;
            }
        };
        let priority = match priority {
            Dynamic::Auto { from, to } => {
                let (from, to) = priority_band(&paths, &hosts, from, to);
                Dynamic::Auto { from, to }
            }
            fixed => fixed,
        };
        let security_group = s(r, "SecurityGroup");
        if !has("SecurityGroup") {
            r.err(&kp("SecurityGroup"), "required with Listener: the shared ALB's security group, allowed to reach the tasks");
        }
        Routing::SharedRule {
            arn: s(r, "Arn"),
            security_group: security_group?,
            listener,
            paths,
            hosts,
            priority,
            dns_name,
        }
    } else if has("Arn") {
        forbid(
            r,
            &["Path", "Host", "Priority", "PriorityRange"],
            "without Listener (they make a rule on an existing listener)",
        );
        let arn = s(r, "Arn");
        let sg = s(r, "SecurityGroup");
        if sg.is_none() && !has("SecurityGroup") {
            r.err(&kp("SecurityGroup"), "required with Arn: the shared ALB's security group, to open the listener port and reach the tasks");
        }
        let port = match m.get("ListenerPort") {
            Some(v) => read_dynamic(
                r,
                &kp("ListenerPort"),
                v,
                m.get("PortRange"),
                &kp("PortRange"),
                1,
                65535,
                DEFAULT_PORT_RANGE,
            ),
            None => {
                r.err(&kp("ListenerPort"), "required with Arn: a port number or auto (or give Listener with Path/Host for a rule on an existing listener)");
                None
            }
        };
        Routing::SharedPort {
            arn: arn?,
            security_group: sg?,
            port: port?,
            dns_name,
        }
    } else {
        r.err(p, "give Create (a dedicated ALB), or Arn with ListenerPort (a listener on a shared ALB), or Listener with Path/Host (a rule on a shared listener)");
        return None;
    };
    let health_check = m
        .get("HealthCheck")
        .map(|v| read_target_health(r, &kp("HealthCheck"), v))
        .unwrap_or_default();
    let deregistration_delay = m
        .get("DeregistrationDelay")
        .and_then(|v| r.int(&kp("DeregistrationDelay"), v, 0, 3600));
    let stickiness = m.get("Stickiness").and_then(|v| match v {
        Value::Bool(true) => Some(Val::Lit(86400)),
        Value::Bool(false) => None,
        _ => r.int(&kp("Stickiness"), v, 1, 604800),
    });
    Some(LoadBalancer {
        routing,
        https,
        certificate_arn,
        ingress_cidr,
        health_check,
        deregistration_delay,
        stickiness,
    })
}

/// `Fn::If [Cond, X, AWS::NoValue]` (or the branches swapped): the condition, whether it is
/// negated, and X.
fn conditional_value(v: &Value) -> Option<(String, bool, &Value)> {
    let a = v.get("Fn::If")?.as_array().filter(|a| a.len() == 3)?;
    let c = a[0].as_str()?.to_string();
    let no_value = |x: &Value| x.get("Ref").and_then(Value::as_str) == Some("AWS::NoValue");
    match (no_value(&a[1]), no_value(&a[2])) {
        (false, true) => Some((c, false, &a[1])),
        (true, false) => Some((c, true, &a[2])),
        _ => None,
    }
}

/// Protocol and certificate together: the listener is HTTPS always, never, or under one
/// condition (`Protocol: !If [C, HTTPS, HTTP]`, or `CertificateArn: !If [C, X, !Ref AWS::NoValue]`).
fn read_https(
    r: &mut Reader,
    p: &str,
    protocol: Option<&Value>,
    has_cert: bool,
    cert_cond: Option<(String, bool)>,
) -> Https {
    let pp = path(p, "Protocol");
    let cp = path(p, "CertificateArn");
    let when = |(condition, negated): (String, bool)| Https::When { condition, negated };
    let proto = protocol.and_then(|v| {
        let branches = v.get("Fn::If").and_then(Value::as_array).filter(|a| a.len() == 3);
        if let Some(a) = branches {
            match (a[0].as_str(), a[1].as_str(), a[2].as_str()) {
                (Some(c), Some("HTTPS"), Some("HTTP")) => return Some(when((c.to_string(), false))),
                (Some(c), Some("HTTP"), Some("HTTPS")) => return Some(when((c.to_string(), true))),
                _ => {}
            }
        }
        match r.word(&pp, v, &["HTTP", "HTTPS"])? {
            Val::Lit(s) if s == "HTTPS" => Some(Https::Always),
            Val::Lit(_) => Some(Https::Never),
            Val::Expr(_) => {
                r.err(&pp, "an intrinsic here must be !If [Condition, HTTPS, HTTP]: the listener's port, certificate and redirect follow the condition");
                None
            }
        }
    });
    match (proto, cert_cond) {
        (None, None) if has_cert => Https::Always,
        (None, None) => Https::Never,
        (None, Some(c)) => when(c),
        (Some(Https::Never), _) if has_cert => {
            r.err(&cp, "given with Protocol HTTP; a certificate needs HTTPS");
            Https::Never
        }
        (Some(Https::Always), Some(_)) => {
            r.err(&cp, "conditional while Protocol is HTTPS: an HTTPS listener needs a certificate in every case; leave Protocol out (it then follows the condition)");
            Https::Always
        }
        (Some(h @ Https::When { .. }), Some(c)) => {
            if h != when(c.clone()) {
                r.err(&pp, format!("follows a different condition than CertificateArn ({}{}); use the same one", if c.1 { "not " } else { "" }, c.0));
            }
            h
        }
        (Some(h), _) => h,
    }
}

/// Automatic rule priorities come from bands of the range by specificity, so that a catch-all
/// never lands before a rule it would hide: rules with a Host and a Path from the bottom third,
/// rules with one of them from the middle, catch-alls (`/*`, `*`) from the top third.
pub fn priority_band(
    paths: &[Val<String>],
    hosts: &[Val<String>],
    from: u64,
    to: u64,
) -> (u64, u64) {
    let catch_all =
        |v: &Val<String>, all: &[&str]| v.lit().is_some_and(|s| all.contains(&s.as_str()));
    let path_specific = paths.iter().any(|p| !catch_all(p, &["/*", "*", "/**"]));
    let host_specific = hosts.iter().any(|h| !catch_all(h, &["*"]));
    let specific = path_specific as u64 + host_specific as u64;
    let size = (to - from + 1) / 3;
    if size == 0 {
        return (from, to);
    }
    match specific {
        2 => (from, from + size - 1),
        1 => (from + size, from + 2 * size - 1),
        _ => (from + 2 * size, to),
    }
}

#[allow(clippy::too_many_arguments)]
fn read_dynamic(
    r: &mut Reader,
    p: &str,
    v: &Value,
    range: Option<&Value>,
    range_path: &str,
    min: u64,
    max: u64,
    default: (u64, u64),
) -> Option<Dynamic> {
    if v.as_str() == Some("auto") {
        let (from, to) = match range {
            None => default,
            Some(Value::String(s)) => match s
                .split_once('-')
                .map(|(a, b)| (a.trim().parse::<u64>(), b.trim().parse::<u64>()))
            {
                Some((Ok(a), Ok(b))) if a >= min && b <= max && a <= b => (a, b),
                _ => {
                    r.err(
                        range_path,
                        format!("'{s}' is not a range FROM-TO within {min}..{max}"),
                    );
                    return None;
                }
            },
            Some(other) => {
                r.err(
                    range_path,
                    format!(
                        "expected a range such as '{}-{}', got {}",
                        default.0,
                        default.1,
                        show(other)
                    ),
                );
                return None;
            }
        };
        Some(Dynamic::Auto { from, to })
    } else {
        if range.is_some() {
            r.err(range_path, "only used with auto");
        }
        match v {
            Value::String(s) if s.parse::<u64>().is_err() => {
                r.err(
                    p,
                    format!("expected a number from {min} to {max}, or auto; got '{s}'"),
                );
                None
            }
            _ => r.int(p, v, min, max).map(Dynamic::Fixed),
        }
    }
}

fn read_target_health(r: &mut Reader, p: &str, v: &Value) -> TargetHealth {
    let Some(m) = r.object(
        p,
        v,
        &[
            "Path",
            "Matcher",
            "Interval",
            "Timeout",
            "HealthyThreshold",
            "UnhealthyThreshold",
            "GracePeriod",
        ],
    ) else {
        return TargetHealth::default();
    };
    let int =
        |r: &mut Reader, k: &str, min, max| m.get(k).and_then(|v| r.int(&path(p, k), v, min, max));
    let h = TargetHealth {
        path: m
            .get("Path")
            .and_then(|v| match r.nonempty(&path(p, "Path"), v) {
                Some(Val::Lit(s)) if !s.starts_with('/') => {
                    r.err(&path(p, "Path"), format!("'{s}' must start with /"));
                    None
                }
                other => other,
            }),
        matcher: m.get("Matcher").and_then(|v| {
            let mv = match v {
                Value::Number(n) => Value::String(n.to_string()),
                other => other.clone(),
            };
            match r.string(&path(p, "Matcher"), &mv) {
                Some(Val::Lit(s)) if !valid_matcher(&s) => {
                    r.err(
                        &path(p, "Matcher"),
                        format!("'{s}' is not an HTTP code list such as 200, 200,204 or 200-299"),
                    );
                    None
                }
                other => other,
            }
        }),
        interval: int(r, "Interval", 5, 300),
        timeout: int(r, "Timeout", 2, 120),
        healthy_threshold: int(r, "HealthyThreshold", 2, 10),
        unhealthy_threshold: int(r, "UnhealthyThreshold", 2, 10),
        grace_period: int(r, "GracePeriod", 0, 2_147_483_647),
    };
    // The timeout must be lower than the interval, whose default is 30 s.
    match (&h.interval, &h.timeout) {
        (Some(Val::Lit(i)), Some(Val::Lit(t))) if t >= i => r.err(
            &path(p, "Timeout"),
            format!("{t} must be less than Interval {i}"),
        ),
        (None, Some(Val::Lit(t))) if *t >= DEFAULT_HEALTH_INTERVAL => r.err(
            &path(p, "Timeout"),
            format!("{t} must be less than the interval (default {DEFAULT_HEALTH_INTERVAL}); set a longer Interval"),
        ),
        _ => {}
    }
    h
}

fn valid_matcher(s: &str) -> bool {
    let code = |c: &str| {
        c.parse::<u16>()
            .map(|n| (200..=499).contains(&n))
            .unwrap_or(false)
    };
    s.split(',').all(|part| match part.split_once('-') {
        Some((a, b)) => code(a) && code(b) && a < b,
        None => code(part),
    })
}

fn read_discovery(r: &mut Reader, p: &str, v: &Value, ctx: &TemplateCtx) -> Option<Discovery> {
    let m = r.object(p, v, &["Name", "Namespace", "NamespaceName", "Ttl"])?;
    let name = match m.get("Name") {
        Some(v) => match r.nonempty(&path(p, "Name"), v) {
            Some(Val::Lit(s)) if !valid_dns_label(&s) => {
                r.err(
                    &path(p, "Name"),
                    format!("'{s}' is not a DNS label (letters, digits and -, at most 63)"),
                );
                None
            }
            other => other,
        },
        None => {
            r.err(
                &path(p, "Name"),
                "required: the name peers use, as NAME.NAMESPACE",
            );
            None
        }
    };
    let ns_name = m.get("NamespaceName").and_then(|v| match r.nonempty(&path(p, "NamespaceName"), v) {
        Some(Val::Lit(s)) if s.split('.').all(valid_dns_label) => Some(s),
        Some(Val::Lit(s)) => {
            r.err(&path(p, "NamespaceName"), format!("'{s}' is not a DNS name"));
            None
        }
        Some(Val::Expr(_)) => {
            r.err(&path(p, "NamespaceName"), "must be a literal name (it names a namespace created by the macro, or is joined into DiscoveryName)");
            None
        }
        None => None,
    });
    // A private DNS namespace of this template names itself.
    let ns_name = ns_name.or_else(|| {
        let (id, _) = ctx.referenced(m.get("Namespace")?)?;
        if ctx.resource_type(id) != Some("AWS::ServiceDiscovery::PrivateDnsNamespace") {
            return None;
        }
        ctx.resource_prop(id, "Name")?.as_str().map(String::from)
    });
    let namespace = match (m.get("Namespace"), ns_name) {
        (Some(v), name) => NamespaceRef::Existing {
            id: r.nonempty(&path(p, "Namespace"), v)?,
            name,
        },
        (None, Some(name)) => NamespaceRef::Create { name },
        (None, None) => {
            if !m.contains_key("NamespaceName") {
                r.err(&path(p, "Namespace"), "give Namespace (an existing namespace ID) or NamespaceName (a private DNS namespace created with the stack)");
            }
            return None;
        }
    };
    let ttl = m
        .get("Ttl")
        .and_then(|v| r.int(&path(p, "Ttl"), v, 0, 2_147_483_647))
        .unwrap_or(Val::Lit(10));
    Some(Discovery {
        name: name?,
        namespace,
        ttl,
    })
}

fn valid_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn read_scaling(r: &mut Reader, p: &str, v: &Value) -> Option<Scaling> {
    let m = r.object(
        p,
        v,
        &[
            "Min",
            "Max",
            "CpuPercent",
            "MemoryPercent",
            "RequestsPerTarget",
            "ScaleInCooldown",
            "ScaleOutCooldown",
        ],
    )?;
    let int =
        |r: &mut Reader, k: &str, min, max| m.get(k).and_then(|v| r.int(&path(p, k), v, min, max));
    let min = int(r, "Min", 0, 5000);
    let max = int(r, "Max", 1, 5000);
    if !m.contains_key("Min") {
        r.err(&path(p, "Min"), "required");
    }
    if !m.contains_key("Max") {
        r.err(&path(p, "Max"), "required");
    }
    let s = Scaling {
        min: min?,
        max: max?,
        cpu_percent: int(r, "CpuPercent", 1, 100),
        memory_percent: int(r, "MemoryPercent", 1, 100),
        requests_per_target: int(r, "RequestsPerTarget", 1, 1_000_000),
        scale_in_cooldown: int(r, "ScaleInCooldown", 0, 86400),
        scale_out_cooldown: int(r, "ScaleOutCooldown", 0, 86400),
    };
    if let (Val::Lit(a), Val::Lit(b)) = (&s.min, &s.max) {
        if a > b {
            r.err(&path(p, "Min"), format!("{a} is greater than Max {b}"));
        }
    }
    if s.cpu_percent.is_none() && s.memory_percent.is_none() && s.requests_per_target.is_none() {
        r.err(
            p,
            "give at least one of CpuPercent, MemoryPercent, RequestsPerTarget to scale on",
        );
    }
    Some(s)
}

fn read_deployment(r: &mut Reader, p: &Props) -> Deployment {
    let mut d = Deployment {
        min_healthy_percent: None,
        max_percent: None,
        circuit_breaker: Val::Lit(true),
        alarms: None,
    };
    let dp = p.path("Deployment");
    let Some(v) = p.get("Deployment") else {
        return d;
    };
    let Some(m) = r.object(
        &dp,
        v,
        &[
            "MinHealthyPercent",
            "MaxPercent",
            "CircuitBreaker",
            "Alarms",
        ],
    ) else {
        return d;
    };
    d.min_healthy_percent = m
        .get("MinHealthyPercent")
        .and_then(|v| r.int(&path(&dp, "MinHealthyPercent"), v, 0, 100));
    d.max_percent = m
        .get("MaxPercent")
        .and_then(|v| r.int(&path(&dp, "MaxPercent"), v, 100, 200));
    if let Some(v) = m.get("CircuitBreaker") {
        d.circuit_breaker = r
            .boolean(&path(&dp, "CircuitBreaker"), v)
            .unwrap_or(Val::Lit(true));
    }
    d.alarms = m.get("Alarms").and_then(|v| {
        r.list(&path(&dp, "Alarms"), v, |r, ip, it| {
            r.nonempty(ip, it).map(|s| s.json())
        })
    });
    if let Some(ListVal::Items(a)) = &d.alarms {
        if a.is_empty() {
            r.err(
                &path(&dp, "Alarms"),
                "must name at least one alarm (or leave Alarms out)",
            );
        }
    }
    d
}

fn read_failover(r: &mut Reader, p: &str, v: &Value, ctx: &TemplateCtx) -> Option<Failover> {
    let m = r.object(
        p,
        v,
        &[
            "Standby",
            "AlarmName",
            "Trigger",
            "StandbyCount",
            "HealthyTimeout",
        ],
    )?;
    let sp = path(p, "Standby");
    let standby = match m.get("Standby") {
        Some(sv) if !sv.is_object() || is_intrinsic(sv) => infer_standby(r, &sp, sv, ctx),
        Some(sv) => {
            let sm = r.object(&sp, sv, &["FunctionArn", "TargetGroupArn"])?;
            match (sm.get("FunctionArn"), sm.get("TargetGroupArn")) {
                (Some(f), None) => {
                    Some(Standby::Function(r.nonempty(&path(&sp, "FunctionArn"), f)?))
                }
                (None, Some(t)) => Some(Standby::TargetGroup(
                    r.nonempty(&path(&sp, "TargetGroupArn"), t)?,
                )),
                _ => {
                    r.err(&sp, "give exactly one of FunctionArn or TargetGroupArn");
                    None
                }
            }
        }
        None => {
            r.err(&sp, "required: the target that serves while the alarm is OK ({ FunctionArn } or { TargetGroupArn })");
            None
        }
    };
    let alarm = match (m.get("AlarmName"), m.get("Trigger")) {
        (Some(a), None) => r
            .nonempty(&path(p, "AlarmName"), a)
            .map(FailoverAlarm::Existing),
        (None, Some(t)) => read_trigger(r, &path(p, "Trigger"), t).map(FailoverAlarm::Trigger),
        _ => {
            r.err(p, "give exactly one of AlarmName (an existing alarm) or Trigger (an alarm created for it)");
            None
        }
    };
    let standby_count = m
        .get("StandbyCount")
        .and_then(|v| r.int(&path(p, "StandbyCount"), v, 1, 5000))
        .unwrap_or(Val::Lit(1));
    let healthy_timeout = m
        .get("HealthyTimeout")
        .and_then(|v| r.int(&path(p, "HealthyTimeout"), v, 30, 3600))
        .unwrap_or(Val::Lit(600));
    Some(Failover {
        standby: standby?,
        alarm: alarm?,
        standby_count,
        healthy_timeout,
    })
}

/// `Standby` as a plain value: a function or a target group, told by a literal ARN or by the
/// type of the template resource it refers to.
fn infer_standby(r: &mut Reader, p: &str, v: &Value, ctx: &TemplateCtx) -> Option<Standby> {
    let val = r.nonempty(p, v)?;
    let kind = match &val {
        Val::Lit(s) => match s.split(':').nth(2) {
            Some("lambda") if s.contains(":function:") => Some(true),
            Some("elasticloadbalancing") if s.contains(":targetgroup/") => Some(false),
            _ => {
                r.err(
                    p,
                    format!("'{s}' is neither a Lambda function ARN nor a target group ARN"),
                );
                return None;
            }
        },
        Val::Expr(e) => ctx.referenced(e).and_then(|(id, attr)| {
            match (ctx.resource_type(id)?, attr.as_deref()) {
                ("AWS::Lambda::Function", Some("Arn")) => Some(true),
                ("AWS::Lambda::Alias" | "AWS::Lambda::Version", None) => Some(true),
                ("AWS::ElasticLoadBalancingV2::TargetGroup", None) => Some(false),
                _ => None,
            }
        }),
    };
    match kind {
        Some(true) => Some(Standby::Function(val)),
        Some(false) => Some(Standby::TargetGroup(val)),
        None => {
            r.err(p, format!("{} may be a function or a target group: give {{ FunctionArn: ... }} or {{ TargetGroupArn: ... }}", show(v)));
            None
        }
    }
}

/// The statistic that measures a metric as meant: `Sum` for counts, `Maximum` for gauges such
/// as concurrency (a Sum over-counts), `Average` for latencies and utilisation.
fn default_statistic(namespace: &str, metric: &str) -> Option<&'static str> {
    Some(match (namespace, metric) {
        (
            "AWS/Lambda",
            "Invocations"
            | "Errors"
            | "Throttles"
            | "DeadLetterErrors"
            | "DestinationDeliveryFailures",
        ) => "Sum",
        (
            "AWS/Lambda",
            "ConcurrentExecutions"
            | "UnreservedConcurrentExecutions"
            | "ProvisionedConcurrentExecutions"
            | "ProvisionedConcurrencyUtilization",
        ) => "Maximum",
        ("AWS/Lambda", "Duration") => "Average",
        ("AWS/ApplicationELB", m) if m.starts_with("HTTPCode_") => "Sum",
        (
            "AWS/ApplicationELB",
            "RequestCount"
            | "RequestCountPerTarget"
            | "RejectedConnectionCount"
            | "TargetConnectionErrorCount",
        ) => "Sum",
        ("AWS/ApplicationELB", "UnHealthyHostCount") => "Maximum",
        ("AWS/ApplicationELB", "TargetResponseTime") => "Average",
        ("AWS/ECS", "CPUUtilization" | "MemoryUtilization") => "Average",
        ("AWS/ApiGateway", "Count" | "4XXError" | "5XXError") => "Sum",
        ("AWS/ApiGateway", "Latency" | "IntegrationLatency") => "Average",
        _ => return None,
    })
}

const COMPARISONS: &[&str] = &[
    "GreaterThanOrEqualToThreshold",
    "GreaterThanThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
];

fn read_trigger(r: &mut Reader, p: &str, v: &Value) -> Option<Map<String, Value>> {
    let m = r.object(
        p,
        v,
        &[
            "Namespace",
            "MetricName",
            "Dimensions",
            "Statistic",
            "Threshold",
            "ComparisonOperator",
            "Period",
            "EvaluationPeriods",
        ],
    )?;
    let mut out = Map::new();
    for k in ["Namespace", "MetricName"] {
        match m.get(k) {
            Some(v) => {
                if let Some(s) = r.nonempty(&path(p, k), v) {
                    out.insert(k.into(), s.json());
                }
            }
            None => r.err(&path(p, k), "required"),
        }
    }
    if let Some(d) = m.get("Dimensions") {
        let dims = r.string_map(&path(p, "Dimensions"), d);
        out.insert(
            "Dimensions".into(),
            Value::Array(
                dims.into_iter()
                    .map(|(k, v)| serde_json::json!({"Name": k, "Value": v}))
                    .collect(),
            ),
        );
    }
    let stat = m
        .get("Statistic")
        .and_then(|v| {
            r.word(
                &path(p, "Statistic"),
                v,
                &["Average", "Maximum", "Minimum", "Sum", "SampleCount"],
            )
        })
        .or_else(|| {
            let lit = |k: &str| out.get(k).and_then(Value::as_str).unwrap_or_default();
            let d = default_statistic(lit("Namespace"), lit("MetricName"));
            if d.is_none() && !m.contains_key("Statistic") {
                r.err(
                    &path(p, "Statistic"),
                    format!(
                        "required for {} {}: give Sum for a count, Maximum or Average for a gauge",
                        lit("Namespace"),
                        lit("MetricName")
                    ),
                );
            }
            d.map(|d| Val::Lit(d.to_string()))
        });
    if let Some(stat) = stat {
        out.insert("Statistic".into(), stat.json());
    }
    match m.get("Threshold") {
        Some(v) => {
            if let Some(t) = r.number(&path(p, "Threshold"), v, f64::MIN, f64::MAX) {
                out.insert("Threshold".into(), t.json());
            }
        }
        None => r.err(&path(p, "Threshold"), "required"),
    }
    let cmp = m
        .get("ComparisonOperator")
        .and_then(|v| r.word(&path(p, "ComparisonOperator"), v, COMPARISONS))
        .unwrap_or(Val::Lit("GreaterThanOrEqualToThreshold".into()));
    out.insert("ComparisonOperator".into(), cmp.json());
    let period = m
        .get("Period")
        .and_then(|v| r.int(&path(p, "Period"), v, 10, 86400))
        .unwrap_or(Val::Lit(60));
    if let Val::Lit(n) = period {
        if n > 60 && n % 60 != 0 || (n < 60 && ![10, 20, 30].contains(&n)) {
            r.err(
                &path(p, "Period"),
                format!("{n} is not 10, 20, 30 or a multiple of 60"),
            );
        }
    }
    out.insert("Period".into(), period.json());
    let ev = m
        .get("EvaluationPeriods")
        .and_then(|v| r.int(&path(p, "EvaluationPeriods"), v, 1, 100))
        .unwrap_or(Val::Lit(1));
    out.insert("EvaluationPeriods".into(), ev.json());
    Some(out)
}

const LOAD_TEST_KEYS: &[&str] = &[
    "Url",
    "Path",
    "Rate",
    "Concurrency",
    "Duration",
    "WarmUp",
    "Workers",
    "Method",
    "Headers",
    "Body",
    "ExpectedStatus",
    "TimeoutMs",
    "Thresholds",
];

fn read_load_test(r: &mut Reader, p: &str, v: &Value) -> Option<LoadTest> {
    let m = r.object(p, v, LOAD_TEST_KEYS)?;
    let int =
        |r: &mut Reader, k: &str, min, max| m.get(k).and_then(|v| r.int(&path(p, k), v, min, max));
    let model = match (int(r, "Rate", 1, 100_000), int(r, "Concurrency", 1, 10_000)) {
        (Some(rate), None) => Some(LoadModel::Rate(rate)),
        (None, Some(c)) => Some(LoadModel::Concurrency(c)),
        (Some(_), Some(_)) => {
            r.err(
                &path(p, "Rate"),
                "give Rate (open model) or Concurrency (closed model), not both",
            );
            None
        }
        (None, None) => {
            if !m.contains_key("Rate") && !m.contains_key("Concurrency") {
                r.err(
                    &path(p, "Rate"),
                    "give Rate (requests per second) or Concurrency (parallel clients)",
                );
            }
            None
        }
    };
    let path_v = match m.get("Path") {
        Some(v) => match r.nonempty(&path(p, "Path"), v) {
            Some(Val::Lit(s)) if !s.starts_with('/') => {
                r.err(&path(p, "Path"), format!("'{s}' must start with /"));
                None
            }
            other => other,
        },
        None => Some(Val::Lit("/".into())),
    };
    let duration = match m.get("Duration") {
        Some(v) => match r.int(&path(p, "Duration"), v, 1, u64::MAX) {
            Some(Val::Lit(d)) if d > MAX_LOAD_TEST_SECONDS => {
                r.err(&path(p, "Duration"), format!("{d} s is longer than the {MAX_LOAD_TEST_SECONDS} s a gate can run inside one Lambda call (with warm-up and steady-state wait)"));
                None
            }
            other => other,
        },
        None => Some(Val::Lit(30)),
    };
    let headers = m
        .get("Headers")
        .map(|v| r.string_map(&path(p, "Headers"), v))
        .unwrap_or_default();
    let thresholds = match m.get("Thresholds") {
        Some(tv) => {
            let tp = path(p, "Thresholds");
            let tm = r.object(
                &tp,
                tv,
                &["P50Ms", "P90Ms", "P99Ms", "MaxErrorRate", "MinRps"],
            )?;
            let ms = |r: &mut Reader, k: &str| {
                tm.get(k).and_then(|v| r.int(&path(&tp, k), v, 1, 600_000))
            };
            let t = Thresholds {
                p50_ms: ms(r, "P50Ms"),
                p90_ms: ms(r, "P90Ms"),
                p99_ms: ms(r, "P99Ms"),
                max_error_rate: tm
                    .get("MaxErrorRate")
                    .and_then(|v| r.number(&path(&tp, "MaxErrorRate"), v, 0.0, 1.0)),
                min_rps: tm
                    .get("MinRps")
                    .and_then(|v| r.number(&path(&tp, "MinRps"), v, 0.0, 1e7)),
            };
            if let (Some(Val::Lit(a)), Some(Val::Lit(b))) = (&t.p50_ms, &t.p99_ms) {
                if a > b {
                    r.err(
                        &path(&tp, "P50Ms"),
                        format!("{a} is greater than P99Ms {b}"),
                    );
                }
            }
            t
        }
        None => Thresholds::default(),
    };
    Some(LoadTest {
        url: m.get("Url").and_then(|v| r.nonempty(&path(p, "Url"), v)),
        path: path_v?,
        model: model?,
        duration: duration?,
        warm_up: int(r, "WarmUp", 0, 600).unwrap_or(Val::Lit(60)),
        workers: int(r, "Workers", 1, 50).unwrap_or(Val::Lit(1)),
        method: m
            .get("Method")
            .and_then(|v| {
                r.word(
                    &path(p, "Method"),
                    v,
                    &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
                )
            })
            .unwrap_or(Val::Lit("GET".into())),
        headers,
        body: m.get("Body").and_then(|v| r.string(&path(p, "Body"), v)),
        expected_status: int(r, "ExpectedStatus", 100, 599).unwrap_or(Val::Lit(200)),
        timeout_ms: int(r, "TimeoutMs", 1, 60_000).unwrap_or(Val::Lit(5000)),
        thresholds,
    })
}
