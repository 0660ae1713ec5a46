//! Generation: each module turns the typed spec of one App into CloudFormation resources.
//! Everything here is a pure function of the spec, so the output is deterministic.

pub mod alb;
pub mod deployment;
pub mod discovery;
pub mod ecs;
pub mod gate_reach;
pub mod gate_settings;
pub mod gates;
pub mod iam;
pub mod notify;
pub mod post_create;
pub mod scaling;
pub mod scaling_check;
pub mod service_connect;
pub mod timeouts;

use crate::intrinsics::{get_att, import_value, ref_};
use crate::spec::{App, NamespaceRef};
use serde_json::{json, Map, Value};

/// Logical ID of the cluster shared by every App without a `Cluster`.
pub const SHARED_CLUSTER_ID: &str = "FargateAppCluster";
/// Prefix of the logical IDs of namespaces created from `Discovery.NamespaceName`.
pub const NAMESPACE_ID_PREFIX: &str = "FargateAppNamespace";
/// Name of the export holding the provider's ServiceToken (the provider stack exports it).
pub const DEFAULT_SERVICE_TOKEN_EXPORT: &str = "FargateAppProvider-ServiceToken";
/// cfn/provider.yaml names its other exports after the ServiceToken export without this.
pub const SERVICE_TOKEN_SUFFIX: &str = "-ServiceToken";

/// Settings of an expansion that do not come from the template.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The ServiceToken of every custom resource (and the provider Lambda's ARN, which is the
    /// same value: EventBridge targets it for `Failover`).
    pub service_token: Value,
    /// The provider stack's export prefix: the ServiceToken export without `-ServiceToken`;
    /// `<prefix>-CodeBucket`, `-CodeKey` and `-Architecture` locate its code (VPC workers).
    pub export_prefix: String,
    /// Values of the template's parameters, when known: the macro event's
    /// `templateParameterValues`, or `fargate-app expand --parameters K=V`. The expansion
    /// validates what they make known and keeps the `Ref`s in its output.
    pub parameter_values: Map<String, Value>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings::with_export(DEFAULT_SERVICE_TOKEN_EXPORT)
    }
}

impl Settings {
    pub fn with_export(export: &str) -> Self {
        Settings {
            service_token: import_value(export),
            export_prefix: export
                .strip_suffix(SERVICE_TOKEN_SUFFIX)
                .unwrap_or(export)
                .to_string(),
            parameter_values: Map::new(),
        }
    }
}

/// Resources that several Apps of one template share.
#[derive(Debug, Default)]
pub struct Shared {
    /// Namespaces to create: (logical ID, DNS name, VPC).
    pub namespaces: Vec<(String, String, Value)>,
    /// HTTP namespaces to create for `ServiceConnect.NamespaceName`: (logical ID, name).
    pub http_namespaces: Vec<(String, String)>,
    /// The template's Apps with `ServiceConnect`.
    pub service_connect: Vec<service_connect::ScPeer>,
}

impl Shared {
    pub fn namespace_id(name: &str) -> String {
        let mut id = String::from(NAMESPACE_ID_PREFIX);
        for part in name.split(|c: char| !c.is_ascii_alphanumeric()) {
            let mut cs = part.chars();
            if let Some(f) = cs.next() {
                id.push(f.to_ascii_uppercase());
                id.extend(cs);
            }
        }
        id
    }
}

/// The resources one App expands into, in order, plus what `Ref`/`GetAtt` on it resolve to.
#[derive(Debug, Clone)]
pub struct Expansion {
    pub resources: Vec<(String, Value)>,
    pub conditions: Vec<(String, Value)>,
    pub routing: alb::RoutingOut,
}

/// Attributes documented for `!GetAtt App.<name>`.
pub const ATTRIBUTE_NAMES: &[&str] = &[
    "Url",
    "ServiceName",
    "ServiceArn",
    "TaskDefinitionArn",
    "TargetGroupArn",
    "ListenerPort",
    "ListenerArn",
    "RuleArn",
    "LoadBalancerDnsName",
    "SecurityGroupId",
    "LogGroupName",
    "DiscoveryName",
    "DiscoveryServiceArn",
    "TaskRoleArn",
    "ExecutionRoleArn",
    "ClusterName",
    "ServiceConnectName",
    "CanonicalHostedZoneID",
];

/// The App's attribute table (`!GetAtt App.<name>`: the value, or why the App has no such
/// value), without generating its resources: only routing decides it.
pub fn attributes_of(app: &App, settings: &Settings) -> Vec<(&'static str, Result<Value, String>)> {
    let mut routing = alb::generate(app, settings, &mut Out::default());
    service_connect::domain_url(app, &mut routing);
    attributes(app, &routing)
}

fn attributes(app: &App, routing: &alb::RoutingOut) -> Vec<(&'static str, Result<Value, String>)> {
    let ids = Ids(&app.id);
    let no_lb = || format!("{} has no LoadBalancer", app.id);
    let need = |v: &Option<Value>, why: String| v.clone().ok_or(why);
    let discovery_name = match &app.discovery {
        None => Err(format!("{} has no Discovery", app.id)),
        Some(d) => match &d.namespace {
            NamespaceRef::Create { name }
            | NamespaceRef::Existing {
                name: Some(name), ..
            } => Ok(crate::intrinsics::SubBuilder::new()
                .value("Name", &d.name.json())
                .text(&format!(".{name}"))
                .build()),
            NamespaceRef::Existing { name: None, .. } => Err(format!(
                "{}'s Discovery names its namespace by ID only; add Discovery.NamespaceName",
                app.id
            )),
        },
    };
    // With `TaskDefinition` the App creates no roles and no log group: the revision names its own.
    let own_td = |v: Value, what: &str| match &app.task_definition {
        None => Ok(v),
        Some(_) => Err(format!(
            "{} runs a given TaskDefinition, whose revision names its own {what}",
            app.id
        )),
    };
    let lb_need = |v: &Option<Value>, what: &str| {
        if app.load_balancer.is_none() {
            Err(no_lb())
        } else {
            need(
                v,
                format!("{} has no {what} with this LoadBalancer setting", app.id),
            )
        }
    };
    vec![
        (
            "Url",
            if app.load_balancer.is_none() {
                Err(no_lb())
            } else {
                need(
                    &routing.url,
                    format!("{}'s URL is unknown: set LoadBalancer.DnsName", app.id),
                )
            },
        ),
        ("ServiceName", Ok(get_att(&ids.of("Service"), "Name"))),
        ("ServiceArn", Ok(ref_(&ids.of("Service")))),
        ("TaskDefinitionArn", Ok(ecs::task_definition_ref(app))),
        (
            "TargetGroupArn",
            routing
                .target_group
                .as_ref()
                .map(|t| ref_(t))
                .ok_or_else(no_lb),
        ),
        (
            "ListenerPort",
            lb_need(
                &routing.listener_port,
                "listener port (it routes by a rule on an existing listener)",
            ),
        ),
        (
            "ListenerArn",
            lb_need(&routing.listener_arn, "listener of its own"),
        ),
        ("RuleArn", lb_need(&routing.rule_arn, "listener rule")),
        (
            "LoadBalancerDnsName",
            lb_need(
                &routing.dns_name,
                "known DNS name (set LoadBalancer.DnsName)",
            ),
        ),
        (
            "SecurityGroupId",
            Ok(get_att(&ids.of("SecurityGroup"), "GroupId")),
        ),
        (
            "LogGroupName",
            own_td(ref_(&ids.of("LogGroup")), "log group"),
        ),
        ("DiscoveryName", discovery_name),
        (
            "DiscoveryServiceArn",
            app.discovery
                .as_ref()
                .map(|_| get_att(&ids.of("DiscoveryService"), "Arn"))
                .ok_or(format!("{} has no Discovery", app.id)),
        ),
        (
            "TaskRoleArn",
            own_td(get_att(&ids.of("TaskRole"), "Arn"), "task role"),
        ),
        (
            "ExecutionRoleArn",
            own_td(get_att(&ids.of("ExecutionRole"), "Arn"), "execution role"),
        ),
        ("ClusterName", Ok(cluster_name(app))),
        ("ServiceConnectName", service_connect::short_name(app)),
        (
            "CanonicalHostedZoneID",
            if app.load_balancer.is_none() {
                Err(no_lb())
            } else {
                service_connect::canonical_hosted_zone(app)
            },
        ),
    ]
}

/// An ordered set of resources under construction.
#[derive(Debug, Default)]
pub struct Out {
    pub items: Vec<(String, Value)>,
    /// Conditions the resources use that the macro adds to the template.
    pub conditions: Vec<(String, Value)>,
}

impl Out {
    pub fn add(&mut self, id: String, ty: &str, mut props: Value) -> &mut Value {
        prune_nulls(&mut props);
        // Built by hand: `json!` would serialise `props` into a deep copy.
        let mut resource = Map::new();
        resource.insert("Type".into(), Value::String(ty.into()));
        resource.insert("Properties".into(), props);
        self.items.push((id, Value::Object(resource)));
        &mut self.items.last_mut().expect("just pushed").1
    }
}

/// Generated properties leave optional settings as `null`; CloudFormation wants them absent.
pub fn prune_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, x| !x.is_null());
            m.values_mut().for_each(prune_nulls);
        }
        Value::Array(a) => a.iter_mut().for_each(prune_nulls),
        _ => {}
    }
}

/// Adds `DependsOn` entries to a generated resource.
pub fn depends_on(resource: &mut Value, ids: &[String]) {
    if ids.is_empty() {
        return;
    }
    let obj = resource
        .as_object_mut()
        .expect("generated resources are objects");
    let list = obj
        .entry("DependsOn")
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Value::Array(a) = list {
        for id in ids {
            if !a.iter().any(|x| x == id) {
                a.push(Value::String(id.clone()));
            }
        }
    }
}

/// Logical IDs of one App's resources: a documented stability contract.
pub struct Ids<'a>(pub &'a str);

impl Ids<'_> {
    pub fn of(&self, suffix: &str) -> String {
        format!("{}{}", self.0, suffix)
    }
}

/// What the App's cluster is, as a value for `Cluster` properties.
pub fn cluster_ref(app: &App) -> Value {
    app.cluster
        .clone()
        .unwrap_or_else(|| ref_(SHARED_CLUSTER_ID))
}

/// The App's cluster by name, also when `Cluster` is an ARN (`arn:...:cluster/NAME`); for an
/// intrinsic, the name is read from the service ARN (`arn:...:service/CLUSTER/SERVICE`), which
/// carries it whichever form the intrinsic yields.
pub fn cluster_name(app: &App) -> Value {
    match &app.cluster {
        None => ref_(SHARED_CLUSTER_ID),
        Some(Value::String(s)) => Value::String(s.rsplit('/').next().unwrap_or(s).to_string()),
        Some(_) => crate::intrinsics::select_split(
            1,
            "/",
            crate::intrinsics::select_split(5, ":", ref_(&Ids(&app.id).of("Service"))),
        ),
    }
}

/// The namespace ID of an App's discovery settings.
pub fn namespace_ref(ns: &NamespaceRef) -> Value {
    match ns {
        NamespaceRef::Existing { id, .. } => id.json(),
        NamespaceRef::Create { name } => get_att(&Shared::namespace_id(name), "Id"),
    }
}

/// Expands one App. `shared` collects resources several Apps use.
pub fn expand_app(app: &App, settings: &Settings, shared: &mut Shared) -> Expansion {
    let mut out = Out::default();
    iam::generate(app, &mut out);
    ecs::log_group(app, &mut out);
    ecs::security_group(app, &mut out);
    let mut routing = alb::generate(app, settings, &mut out);
    service_connect::domain_url(app, &mut routing);
    service_connect::domain_record(app, &mut out);
    deployment::generate(app, settings, &routing, &mut out);
    discovery::generate(app, shared, &mut out);
    ecs::task_definition(app, &mut out);
    ecs::service(app, &routing, &mut out);
    notify::generate(app, &routing, &mut out);
    service_connect::configure_service(app, shared, &mut out);
    deployment::configure_service(app, settings, &routing, &mut out);
    scaling::generate(app, &routing, &mut out);
    gates::generate(app, settings, &routing, &mut out);
    scaling_check::generate(app, settings, &routing, &mut out);
    service_connect::gate_waits_for_record(app, &mut out);
    post_create::generate(app, settings, &routing, &mut out);
    timeouts::apply(&mut out.items);
    apply_attributes(app, &mut out.items);
    Expansion {
        resources: out.items,
        conditions: out.conditions,
        routing,
    }
}

/// `Condition`, `DependsOn`, `DeletionPolicy`, `UpdateReplacePolicy` and `Metadata` of the App
/// carry over to each generated resource.
fn apply_attributes(app: &App, items: &mut [(String, Value)]) {
    let a = &app.attributes;
    for (_, r) in items.iter_mut() {
        depends_on(r, &a.depends_on);
        prune_implied_dependencies(r);
        let obj: &mut Map<String, Value> =
            r.as_object_mut().expect("generated resources are objects");
        // A resource with a condition of its own has one that already implies the App's.
        let own_condition = obj.contains_key("Condition");
        for (k, v) in [
            (
                "Condition",
                if own_condition { &None } else { &a.condition },
            ),
            ("DeletionPolicy", &a.deletion_policy),
            ("UpdateReplacePolicy", &a.update_replace_policy),
            ("Metadata", &a.metadata),
        ] {
            if let Some(v) = v {
                obj.insert(k.to_string(), v.clone());
            }
        }
    }
}

/// `{ Key, Value }` tag list from the App's `Tags`, plus extra fixed tags.
pub fn tag_list(app: &App) -> Option<Value> {
    if app.tags.is_empty() {
        return None;
    }
    Some(Value::Array(
        app.tags
            .iter()
            .map(|(k, v)| json!({ "Key": k, "Value": v }))
            .collect(),
    ))
}

/// Drops `DependsOn` entries already implied by a `Ref`, `Fn::GetAtt` or `${X}` in the
/// resource's properties (CloudFormation orders those anyway; cfn-lint flags them).
pub fn prune_implied_dependencies(resource: &mut Value) {
    let Some(obj) = resource.as_object_mut() else {
        return;
    };
    let Some(Value::Array(deps)) = obj.get("DependsOn") else {
        return;
    };
    let mut referenced = std::collections::HashSet::new();
    if let Some(p) = obj.get("Properties") {
        collect_references(p, &mut referenced);
    }
    let kept: Vec<Value> = deps
        .iter()
        .filter(|d| d.as_str().is_none_or(|s| !referenced.contains(s)))
        .cloned()
        .collect();
    if kept.is_empty() {
        obj.shift_remove("DependsOn");
    } else {
        obj.insert("DependsOn".into(), Value::Array(kept));
    }
}

fn collect_references(v: &Value, out: &mut std::collections::HashSet<String>) {
    match v {
        Value::Object(m) => {
            if m.len() == 1 {
                match m.iter().next() {
                    Some((k, Value::String(s))) if k == "Ref" => {
                        out.insert(s.clone());
                    }
                    Some((k, Value::Array(a))) if k == "Fn::GetAtt" => {
                        if let Some(Value::String(s)) = a.first() {
                            out.insert(s.clone());
                        }
                    }
                    Some((k, Value::String(s))) if k == "Fn::GetAtt" => {
                        out.insert(s.split('.').next().unwrap_or_default().to_string());
                    }
                    Some((k, sub)) if k == "Fn::Sub" => {
                        let text = match sub {
                            Value::String(t) => Some(t.as_str()),
                            Value::Array(a) => a.first().and_then(Value::as_str),
                            _ => None,
                        };
                        for part in text.unwrap_or_default().split("${").skip(1) {
                            if let Some(name) =
                                part.split('}').next().filter(|n| !n.starts_with('!'))
                            {
                                out.insert(name.split('.').next().unwrap_or_default().to_string());
                            }
                        }
                    }
                    _ => {}
                }
            }
            m.values().for_each(|x| collect_references(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| collect_references(x, out)),
        _ => {}
    }
}
