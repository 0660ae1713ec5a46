//! The typed model of one `Fargate::App`: read from the template's JSON with every literal
//! checked, intrinsics kept opaque, and every problem recorded with its property path.
//!
//! One module per property family (as `gen/` has one per resource family): each holds the
//! family's types, its property list (`*_KEYS`, read by the registry schema's drift test), its
//! reading and its checks. This module reads the resource, its attributes and the rules that
//! cross families.

pub mod coexist;
mod container;
mod deployment;
mod discovery;
mod failover;
mod loadtest;
mod names;
mod network;
mod notify;
mod post_create;
mod routing;
mod scaling;
mod scaling_check;
mod service_connect;
mod task_definition;

pub use container::*;
pub use deployment::*;
pub use discovery::*;
pub use failover::*;
pub use loadtest::*;
pub use names::*;
pub use network::*;
pub use notify::*;
pub use post_create::*;
pub use routing::*;
pub use scaling::*;
pub use scaling_check::*;
pub use service_connect::*;
pub use task_definition::*;

use crate::error::Problems;
use crate::reader::{path, show, ListVal, Reader, Val};
use serde_json::{Map, Value};

pub const APP_TYPE: &str = "Fargate::App";

/// What the reading of one App may look up in the rest of the template: the types and
/// properties of other resources (to infer what a `Ref` yields), the parameters and the Apps.
#[derive(Debug, Clone, Copy)]
pub struct TemplateCtx<'a> {
    pub resources: &'a Map<String, Value>,
    pub parameters: Option<&'a Map<String, Value>>,
    /// Known parameter values (given, else the parameters' `Default`s), by name.
    pub parameter_values: Option<&'a Map<String, Value>>,
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
    /// The known value of `{"Ref": P}` for a parameter P of the template.
    pub fn parameter_value(&self, v: &Value) -> Option<&'a Value> {
        let name = v
            .as_object()
            .filter(|m| m.len() == 1)?
            .get("Ref")?
            .as_str()?;
        self.parameter_values?
            .get(name)
            .filter(|_| self.is_parameter(name))
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
    "SecretsKmsKeys",
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
    "ScalingCheck",
    "ServiceConnect",
    "Domain",
    "Name",
    "TaskDefinition",
    "ContainerName",
    "Notify",
    "PostCreate",
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
    /// Customer-managed KMS keys the secrets are encrypted with (a list or an intrinsic).
    pub secrets_kms_keys: Option<Value>,
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
    pub scaling_check: Option<ScalingCheck>,
    pub service_connect: Option<ServiceConnect>,
    pub domain: Option<Domain>,
    /// `Name`: the names of the target group, service, family, log group (and dedicated ALB).
    pub names: Option<Names>,
    /// `TaskDefinition`: a revision the App runs instead of registering its own.
    pub task_definition: Option<GivenTaskDefinition>,
    /// `Notify`: an SNS topic told the URL on create and delete.
    pub notify: Option<Notify>,
    /// `PostCreate`: the user's function, run once after the service is created.
    pub post_create: Option<PostCreate>,
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

    let task_definition = read_task_definition(&mut r, &p);
    let c = read_container(
        &mut r,
        &p,
        ctx,
        props_v.is_some() && task_definition.is_none(),
    );
    let cluster = p
        .get("Cluster")
        .and_then(|v| r.nonempty(&p.path("Cluster"), v))
        .map(|v| v.json());
    let desired_count = opt_int(&mut r, &p, "DesiredCount", 0, 5000);
    // Beside Scaling, a template count would be re-applied on every stack update and undo the
    // scaling: it is dropped (Scaling.Min sets the floor) with a warning (expand.rs).
    let desired_count = desired_count.filter(|_| p.get("Scaling").is_none());
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
    let deployment = read_deployment(&mut r, &p, ctx);
    let failover = p
        .get("Failover")
        .and_then(|v| read_failover(&mut r, &p.path("Failover"), v, ctx));
    let mut load_test = p
        .get("LoadTest")
        .and_then(|v| read_load_test(&mut r, &p.path("LoadTest"), v));
    // `From` left out behind an internal ALB of this template: the load starts in the VPC, as
    // behind an internal ALB the App creates (an internal load balancer routes requests only
    // from clients with access to its VPC).
    // https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html
    if let (Some(lt), Some(lb)) = (load_test.as_mut(), load_balancer.as_ref()) {
        if lt.from.is_none() && template_alb_scheme(lb, ctx).as_deref() == Some("internal") {
            lt.from = Some(Val::Lit(FROM_VPC.to_string()));
        }
    }
    let scaling_check = p.get("ScalingCheck").and_then(|v| {
        read_scaling_check(
            &mut r,
            &p.path("ScalingCheck"),
            v,
            scaling.as_ref(),
            load_balancer.is_some(),
            ctx,
        )
    });
    let service_connect = p
        .get("ServiceConnect")
        .and_then(|v| read_service_connect(&mut r, &p.path("ServiceConnect"), v, ctx, id));
    let domain = p
        .get("Domain")
        .and_then(|v| read_domain(&mut r, &p.path("Domain"), v));
    let dedicated_alb = load_balancer
        .as_ref()
        .is_some_and(|lb| matches!(lb.routing, Routing::Dedicated { .. }));
    let notify = p
        .get("Notify")
        .and_then(|v| read_notify(&mut r, &p.path("Notify"), v));
    let post_create = p
        .get("PostCreate")
        .and_then(|v| read_post_create(&mut r, &p.path("PostCreate"), v));
    let mut names = p
        .get("Name")
        .and_then(|v| read_names(&mut r, &p.path("Name"), v, ctx, dedicated_alb));
    if let Some(n) = names.as_mut() {
        // The create-only values the names must follow (see `Names`): literal, a parameter's
        // known value, else the intrinsic as written.
        let known = |v: Value| match ctx.parameter_value(&v) {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => match v {
                Value::String(s) => s,
                other => other.to_string(),
            },
        };
        let vpc = network
            .vpc_id
            .as_ref()
            .map(|v| known(v.json()))
            .unwrap_or_default();
        n.target_group_key = format!("{},{vpc}", known(c.port.json()));
        n.internal_alb = matches!(&load_balancer, Some(LoadBalancer { routing: Routing::Dedicated { scheme, .. }, .. })
        if match scheme {
            Val::Lit(s) => s == "internal",
            Val::Expr(e) => ctx.parameter_value(e).and_then(Value::as_str) == Some("internal"),
        });
    }

    let app = App {
        id: id.to_string(),
        // A missing image is already a problem: the App is not returned.
        image: c.image.unwrap_or(Val::Lit(String::new())),
        port: c.port,
        extra_ports: c.extra_ports,
        cpu: c.cpu,
        memory: c.memory,
        architecture: c.architecture,
        command: c.command,
        entry_point: c.entry_point,
        environment: c.environment,
        secrets: c.secrets,
        secrets_kms_keys: c.secrets_kms_keys,
        health_check: c.health_check,
        log_retention_days: c.log_retention_days,
        task_policies: c.task_policies,
        execute_command: c.execute_command,
        tags: c.tags,
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
        scaling_check,
        service_connect,
        domain,
        names,
        task_definition,
        notify,
        post_create,
        attributes,
    };
    check_app(&mut r, &p, &app, props_v.is_some(), ctx);
    if problems_added(&r, before) {
        return None;
    }
    Some(app)
}

/// Rules across property families.
fn check_app(r: &mut Reader, p: &Props, app: &App, has_props: bool, ctx: &TemplateCtx) {
    check_deployment(r, p, app);
    check_service_connect(r, p, app);
    check_task_definition(r, p, app);
    check_notify(r, p, app);
    domain_certificate(r, p, app, ctx.resources);
    let App {
        scaling,
        load_balancer,
        failover,
        load_test,
        network,
        ..
    } = app;
    if let Some(s) = &scaling {
        if s.requests_per_target.is_some() && load_balancer.is_none() {
            r.err(
                &p.path("Scaling.RequestsPerTarget"),
                "needs a LoadBalancer: it scales on the ALB's request count per target",
            );
        }
    }
    if let (Some(sc), Some(lb)) = (&app.scaling_check, &load_balancer) {
        check_scaling_check_reach(r, p, app, sc, lb, ctx);
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
    if network.vpc_id.is_none() && has_props {
        r.err(
            &p.path("Network.VpcId"),
            "required: the VPC of the app's security group",
        );
    }
    if network.subnets.is_none() && has_props {
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
    if let (Some(lt), Some(lb)) = (load_test, load_balancer) {
        check_gate_reach(r, p, app, lt, lb, ctx);
    }
    // Architecture ARM64 with Spot is allowed: FARGATE_SPOT runs Linux ARM64 tasks on platform
    // version 1.4.0 or later (the service uses LATEST).
    // https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CapacityProviderStrategyItem.html
    // RequestsPerTarget on a rule of a listener given by ARN: the load balancer's name comes
    // from the listener's ARN (`gen/scaling.rs`).
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

/// Whether the gate's load must start inside the App's VPC (`LoadTest.From`, or an internal ALB
/// the App creates). `None` when that cannot be told (a Scheme given as an intrinsic).
pub fn load_from_vpc(lt: &LoadTest, lb: &LoadBalancer) -> Option<bool> {
    match (&lt.from, &lb.routing) {
        (Some(Val::Lit(f)), _) => Some(f == FROM_VPC),
        (Some(Val::Expr(_)), _) => None,
        (None, Routing::Dedicated { scheme, .. }) => scheme.lit().map(|s| s == "internal"),
        (None, _) => Some(false),
    }
}

/// What the gate needs to reach the App's own tasks (README, "What the macro emits for the
/// gate"): a routing rule below the App's with `Failover`, and a place to send load from.
fn check_gate_reach(
    r: &mut Reader,
    p: &Props,
    app: &App,
    lt: &LoadTest,
    lb: &LoadBalancer,
    ctx: &TemplateCtx,
) {
    if app.failover.is_some() {
        if let Routing::SharedRule {
            priority,
            paths,
            hosts,
            ..
        } = &lb.routing
        {
            match priority {
                Dynamic::Auto { .. } => r.err(
                    &p.path("LoadBalancer.Priority"),
                    "a number, not auto, with Failover and LoadTest: the gate's route must come before the App's weighted rule, at a priority from 1 to Priority - 1",
                ),
                Dynamic::Fixed(Val::Lit(n)) if *n < 2 => r.err(
                    &p.path("LoadBalancer.Priority"),
                    format!("{n} leaves no priority for the gate's route with Failover and LoadTest (it goes from 1 to Priority - 1): use 2 or more"),
                ),
                Dynamic::Fixed(Val::Expr(_)) => r.err(
                    &p.path("LoadBalancer.Priority"),
                    "a literal number with Failover and LoadTest: the gate's route takes a priority from 1 to Priority - 1",
                ),
                Dynamic::Fixed(_) => {}
            }
            // https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-rules.html
            let values = paths.len() + hosts.len();
            if values > 4 {
                r.err(
                    &p.path("LoadBalancer.Path"),
                    format!("{values} path and host values with Failover and LoadTest: the gate's route adds a header value and an ALB rule takes at most 5 condition values"),
                );
            }
        }
        let resting_zero = match (&app.desired_count, &app.scaling) {
            (Some(Val::Lit(0)), _) => true,
            (Some(_), _) => false,
            (None, Some(s)) => s.min.lit() == Some(&0),
            (None, None) => true,
        };
        if resting_zero {
            r.err(
                &p.path("LoadTest"),
                "with Failover the service rests at 0 tasks while the standby serves, so the gate has nothing to measure: set DesiredCount or Scaling.Min to 1 or more",
            );
        }
    }
    if lt.url.is_none() {
        check_gate_names(r, p, lt, lb, app.domain.is_some());
    }
    match load_from_vpc(lt, lb) {
        None if lt.from.is_none() => r.err(
            &p.path("LoadTest.From"),
            "required when LoadBalancer.Create.Scheme is not literal: give vpc (workers in the App's subnets) or internet (the provider Lambda)",
        ),
        Some(false) => {
            // An internal ALB has private addresses only and routes requests only from clients
            // with access to its VPC; the provider Lambda runs outside any VPC.
            // https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html
            if alb_is_internal(lb, ctx) && lt.url.is_none() {
                let alb = template_alb(lb, ctx).unwrap_or_else(|| "the App's ALB".to_string());
                r.err(
                    &p.path("LoadTest.From"),
                    format!("internet to an internal ALB ({alb}, Scheme internal): the gate's Lambda runs outside the VPC and an internal ALB has private addresses only, so the gate never reaches it and every deployment fails; use From: vpc (workers in the App's subnets send the load), or leave From out"),
                );
            }
            // An internet-facing ALB admitting only some addresses: the provider Lambda runs
            // outside any VPC, from addresses the template cannot name.
            let own_ingress = matches!(lb.routing, Routing::Dedicated { .. } | Routing::SharedPort { .. });
            if let (true, Some(cidr)) = (own_ingress, lb.ingress_cidr.lit()) {
                if cidr != "0.0.0.0/0" && lt.url.is_none() {
                    // Workers in the VPC would not help an internet-facing ALB the App creates
                    // (see below); a shared ALB may be internal.
                    let fix = match lb.routing {
                        Routing::Dedicated { .. } => "use LoadBalancer.Create.Scheme: internal (the gate then sends from workers in the App's subnets), or give LoadTest.Url",
                        _ => "set LoadTest.From: vpc if the shared ALB is internal (workers in the App's subnets send the load), or give LoadTest.Url",
                    };
                    r.err(
                        &p.path("LoadBalancer.IngressCidr"),
                        format!("admits only {cidr}, and the gate's Lambda runs outside the VPC: {fix}"),
                    );
                }
            }
        }
        // A rule naming the workers' security group matches their private addresses only; to
        // an internet-facing ALB's public addresses they arrive from the NAT's address.
        // https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html#security-group-referencing
        Some(true) if lt.url.is_none() => {
            if let Routing::Dedicated {
                scheme: Val::Lit(s),
                ..
            } = &lb.routing
            {
                if s == "internet-facing" {
                    r.err(
                        &p.path("LoadTest.From"),
                        "vpc behind an internet-facing ALB: the workers reach its public addresses, which the ALB's security-group rule naming the workers' group does not match (a group reference matches private addresses only); use LoadBalancer.Create.Scheme: internal, or From: internet",
                    );
                }
            }
            // A shared ALB of this template: its `Scheme`, internet-facing when not given
            // (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-elasticloadbalancingv2-loadbalancer.html).
            if let Some(alb) = template_alb(lb, ctx) {
                let scheme = ctx.resource_prop(&alb, "Scheme");
                if scheme.is_none() || scheme.and_then(Value::as_str) == Some("internet-facing") {
                    r.err(
                        &p.path("LoadTest.From"),
                        format!("vpc behind an internet-facing ALB ({alb}: its Scheme is internet-facing unless given): the workers reach its public addresses, which a security-group rule naming the workers' group does not match (a group reference matches private addresses only); give {alb} Scheme: internal, or use From: internet"),
                    );
                }
            }
        }
        _ => {}
    }
}

/// The `Scheme` of the shared ALB when it is a resource of this template: literal, or a
/// parameter's known value; internet-facing when not given.
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-elasticloadbalancingv2-loadbalancer.html
fn template_alb_scheme(lb: &LoadBalancer, ctx: &TemplateCtx) -> Option<String> {
    let alb = template_alb(lb, ctx)?;
    match ctx.resource_prop(&alb, "Scheme") {
        None => Some("internet-facing".to_string()),
        Some(Value::String(s)) => Some(s.clone()),
        Some(v) => ctx.parameter_value(v)?.as_str().map(str::to_string),
    }
}

/// The logical ID of the shared ALB, when it is a resource of this template: named by
/// `LoadBalancer.Arn`, or the `LoadBalancerArn` of a listener of this template.
fn template_alb(lb: &LoadBalancer, ctx: &TemplateCtx) -> Option<String> {
    const ALB: &str = "AWS::ElasticLoadBalancingV2::LoadBalancer";
    let ref_of = |v: &Value| v.get("Ref").and_then(Value::as_str).map(str::to_string);
    let (arn, listener) = match &lb.routing {
        Routing::SharedPort { arn, .. } => (Some(arn), None),
        Routing::SharedRule { arn, listener, .. } => (arn.as_ref(), Some(listener)),
        Routing::Dedicated { .. } => return None,
    };
    if let Some(Val::Expr(v)) = arn {
        if let Some(id) = ref_of(v).filter(|id| ctx.resource_type(id) == Some(ALB)) {
            return Some(id);
        }
    }
    let Some(Val::Expr(l)) = listener else {
        return None;
    };
    let l = ref_of(l)?;
    let id = ref_of(ctx.resource_prop(&l, "LoadBalancerArn")?)?;
    (ctx.resource_type(&id) == Some(ALB)).then_some(id)
}

/// Whether the gate's URL names the ALB itself (`*.elb.amazonaws.com`): a dedicated ALB, a port
/// claimed without `DnsName`, or a `DnsName` that is an ALB's `DNSName`; `false` when the
/// name is the user's own or cannot be told.
fn gate_url_is_alb_name(lb: &LoadBalancer) -> bool {
    let alb_name = |d: &Option<Val<String>>| match d {
        Some(Val::Lit(s)) => s.ends_with(".elb.amazonaws.com"),
        Some(Val::Expr(v)) => {
            v.get("Fn::GetAtt")
                .and_then(Value::as_array)
                .and_then(|a| a.get(1))
                .and_then(Value::as_str)
                == Some("DNSName")
        }
        None => false,
    };
    match &lb.routing {
        Routing::Dedicated { .. } => true,
        Routing::SharedPort {
            port: Dynamic::Auto { .. },
            dns_name: None,
            ..
        } => true,
        Routing::SharedPort { dns_name, .. } => alb_name(dns_name),
        Routing::SharedRule {
            hosts, dns_name, ..
        } => match hosts.first() {
            Some(Val::Lit(h)) if !h.contains(['*', '?']) => false,
            _ => alb_name(dns_name),
        },
    }
}

/// ALB path patterns: `*` matches 0 or more characters, `?` exactly one, case-sensitive.
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-elasticloadbalancingv2-listenerrule-pathpatternconfig.html
pub fn path_pattern_matches(pattern: &str, path: &str) -> bool {
    let (p, s) = (pattern.as_bytes(), path.as_bytes());
    // Iterative glob match with one backtrack point for the last `*`.
    let (mut i, mut j, mut star, mut mark) = (0, 0, None, 0);
    while j < s.len() {
        if i < p.len() && (p[i] == b'?' || p[i] == s[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == b'*' {
            star = Some(i);
            mark = j;
            i += 1;
        } else if let Some(st) = star {
            i = st + 1;
            mark += 1;
            j = mark;
        } else {
            return false;
        }
    }
    p[i..].iter().all(|&c| c == b'*')
}

/// The path the gate requests (absolute, like `HealthCheck.Path`): `LoadTest.Path`, or without
/// it the fixed part of the App's first literal rule path (`/api/` for `/api/*`), else `/`.
pub fn gate_path(lt: &LoadTest, lb: Option<&LoadBalancer>) -> Val<String> {
    if let Some(p) = &lt.path {
        return p.clone();
    }
    let prefix = match lb.map(|lb| &lb.routing) {
        Some(Routing::SharedRule { paths, .. }) => paths
            .first()
            .and_then(Val::lit)
            .map(|p| p.split(['*', '?']).next().unwrap_or("").to_string()),
        _ => None,
    };
    Val::Lit(
        prefix
            .filter(|p| p.starts_with('/'))
            .unwrap_or_else(|| "/".into()),
    )
}

/// The names and paths the gate's URL is built from (no `LoadTest.Url`).
fn check_gate_names(r: &mut Reader, p: &Props, lt: &LoadTest, lb: &LoadBalancer, has_domain: bool) {
    // An ACM certificate covers the user's domain, never the ALB's `*.elb.amazonaws.com`: a
    // client that verifies it must present the user's name (SNI) while connecting.
    // https://docs.aws.amazon.com/elasticloadbalancing/latest/application/create-https-listener.html
    // With `Domain` the gate's URL names the domain (the App's `Url`), which the certificate covers.
    if lt.host.is_none() && !has_domain && lb.https != Https::Never && gate_url_is_alb_name(lb) {
        r.err(
            &p.path("LoadTest.Host"),
            "required with HTTPS: the gate connects to the ALB's own name (*.elb.amazonaws.com), which the listener's certificate does not cover, so every request fails TLS and the gate can never pass; give the name the certificate covers (for example Host: app.example.com), or LoadTest.Url",
        );
    }
    // On a rule with Host conditions, the gate presents `LoadBalancer.DnsName` unless
    // `LoadTest.Host` is given: a name none of the conditions matches (the ALB's own name under
    // `*.tenants.example.com`) reaches another rule or the default action, never this App.
    // Host conditions are not case-sensitive and take `*` and `?`.
    // https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html#host-conditions
    if let (
        None,
        Routing::SharedRule {
            hosts,
            dns_name: Some(Val::Lit(dns)),
            ..
        },
    ) = (&lt.host, &lb.routing)
    {
        // The gate's URL names the first Host when it is a plain name; else `DnsName`.
        let literal: Option<Vec<&String>> = hosts.iter().map(Val::lit).collect();
        let url_names_dns = literal
            .as_ref()
            .and_then(|v| v.first())
            .is_some_and(|h| h.contains(['*', '?']));
        if let Some(patterns) = literal.filter(|_| url_names_dns) {
            let dns_l = dns.to_ascii_lowercase();
            if !patterns
                .iter()
                .any(|pat| path_pattern_matches(&pat.to_ascii_lowercase(), &dns_l))
            {
                let shown: Vec<&str> = patterns.iter().map(|s| s.as_str()).collect();
                let example = patterns[0].replace('*', "app").replace('?', "a");
                r.err(
                    &p.path("LoadTest.Host"),
                    format!("required: the gate would present '{dns}' (LoadBalancer.DnsName), which the rule's Host condition ({}) does not match, so its requests would reach another rule or the listener's default action; give a name the condition matches (for example Host: {example})", shown.join(", ")),
                );
            }
        }
    }
    // `LoadTest.Path` is absolute, like `HealthCheck.Path`: on a shared rule it must be a path
    // the App's rule matches, or the gate measures whatever rule does.
    if let Val::Lit(gate_path) = &gate_path(lt, Some(lb)) {
        if let Some((shown, prefix)) = path_outside_rule(lb, gate_path) {
            r.err(
                &p.path("LoadTest.Path"),
                format!("'{gate_path}' is not matched by the App's rule (LoadBalancer.Path {shown}): LoadTest.Path is absolute, like HealthCheck.Path, so the gate's requests would reach another rule; give the full path, for example {prefix}{gate_path}"),
            );
        }
    }
}

/// When the App has a shared rule whose literal Path conditions none match `path`: the
/// conditions shown and the fixed part of the first (to suggest a full path). A path condition
/// compares the request's path with each pattern; a request no rule matches goes to the
/// listener's default action.
/// https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html#path-conditions
fn path_outside_rule(lb: &LoadBalancer, path: &str) -> Option<(String, String)> {
    let Routing::SharedRule { paths, .. } = &lb.routing else {
        return None;
    };
    let patterns: Vec<&String> = paths
        .iter()
        .map(Val::lit)
        .collect::<Option<_>>()
        .filter(|v: &Vec<&String>| !v.is_empty())?;
    if patterns.iter().any(|pat| path_pattern_matches(pat, path)) {
        return None;
    }
    let shown: Vec<&str> = patterns.iter().map(|s| s.as_str()).collect();
    let prefix = patterns[0]
        .split(['*', '?'])
        .next()
        .unwrap_or("")
        .trim_end_matches('/');
    Some((shown.join(", "), prefix.to_string()))
}

/// Whether the App's ALB is internal: created with `Scheme: internal`, or a shared ALB of this
/// template whose `Scheme` is internal.
/// https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html
fn alb_is_internal(lb: &LoadBalancer, ctx: &TemplateCtx) -> bool {
    match &lb.routing {
        Routing::Dedicated { scheme, .. } => scheme.lit().is_some_and(|s| s == "internal"),
        _ => template_alb_scheme(lb, ctx).as_deref() == Some("internal"),
    }
}

/// `ScalingCheck` sends its load from the provider Lambda through the App's URL, as the
/// `LoadTest` gate does with `From: internet`: the gate's reachability rules apply to it.
fn check_scaling_check_reach(
    r: &mut Reader,
    p: &Props,
    app: &App,
    sc: &ScalingCheck,
    lb: &LoadBalancer,
    ctx: &TemplateCtx,
) {
    // D3: a path the App's rule does not match reaches another rule or the default action.
    if let Val::Lit(path) = &sc.path {
        if let Some((shown, prefix)) = path_outside_rule(lb, path) {
            r.err(
                &p.path("ScalingCheck.Path"),
                format!("'{path}' is not matched by the App's rule (LoadBalancer.Path {shown}): ScalingCheck.Path is absolute, like HealthCheck.Path, so the check's load would reach another rule and never this App's tasks; give the full path, for example {prefix}{path}"),
            );
        }
    }
    // D4: a forward action sends requests to its target groups by weight; with Failover the
    // App's group has weight 0 while the standby serves.
    // https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-listeners.html
    if app.failover.is_some() {
        r.err(
            &p.path("ScalingCheck"),
            "is not used with Failover: the listener forwards by weight and gives the App's target group 0 while the standby serves, so the check's load never reaches the service; run `fargate-app scaling-check` against the service instead",
        );
    }
    // D1: an ACM certificate covers the user's domain, never the ALB's `*.elb.amazonaws.com`.
    // https://docs.aws.amazon.com/elasticloadbalancing/latest/application/https-listener-certificates.html
    if app.domain.is_none() && lb.https != Https::Never && gate_url_is_alb_name(lb) {
        r.err(
            &p.path("ScalingCheck"),
            "needs Domain with HTTPS: the check connects to the ALB's own name (*.elb.amazonaws.com), which the listener's certificate does not cover, so every request fails TLS and the service never scales; give the App a Domain (the check then uses it), or use HTTP",
        );
    }
    // D2: an internal ALB has private addresses only; the provider Lambda runs outside any VPC.
    // https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html
    if alb_is_internal(lb, ctx) {
        let alb = template_alb(lb, ctx).unwrap_or_else(|| "the App's ALB".to_string());
        r.err(
            &p.path("ScalingCheck"),
            format!("is not used behind an internal ALB ({alb}, Scheme internal): the check's Lambda runs outside the VPC and an internal ALB has private addresses only, so the load never arrives; run `fargate-app scaling-check` from inside the VPC instead"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::path_pattern_matches;

    /// ALB path patterns: `*` matches 0 or more characters, `?` exactly one, case-sensitive,
    /// compared with the path only.
    /// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-elasticloadbalancingv2-listenerrule-pathpatternconfig.html
    #[test]
    fn path_patterns_match_as_alb_compares_them() {
        // pattern, path, whether it matches
        let table = "
            /api/*     /api/health       yes
            /api/*     /api/             yes
            /api/*     /api              no
            /api       /api              yes
            /api       /api/health       no
            /API/*     /api/health       no
            /v?/users  /v1/users         yes
            /v?/users  /v12/users        no
            *          /anything         yes
            /*/health  /orders/health    yes
            /*/health  /orders/health/x  no
            /a*b*c     /axxbyyc          yes
            /a*b*c     /axxbyy           no";
        for row in table.lines().filter(|l| !l.trim().is_empty()) {
            let cols: Vec<&str> = row.split_whitespace().collect();
            let (pattern, path, matches) = (cols[0], cols[1], cols[2] == "yes");
            assert_eq!(
                path_pattern_matches(pattern, path),
                matches,
                "{pattern} vs {path}"
            );
        }
    }
}
