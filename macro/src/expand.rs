//! The whole-template expansion: read every App, generate, rewrite references, check limits.
//! It returns a complete template or every problem found, never something in between.

use crate::error::{Problem, Problems};
use crate::gen::{self, Expansion, Ids, Settings, Shared, SHARED_CLUSTER_ID};
use crate::reader::Val;
use crate::refs::{Owner, Path, Rewriter, Target};
use crate::spec::{read_app, App, NamespaceRef, TemplateCtx, APP_TYPE};
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet};
use std::fmt;

/// The name the macro is installed under; removed from the template's `Transform`.
pub const MACRO_NAME: &str = "FargateApp";

/// `FargateApp` (the latest release) or a release's pinned name, `FargateApp-YYYY-MM` with an
/// optional `-N` (the names `cfn/macro.yaml` allows): `make deploy` installs both, so a template
/// may name either.
pub fn is_macro_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix(MACRO_NAME) else {
        return false;
    };
    if rest.is_empty() {
        return true;
    }
    let parts: Vec<&str> = rest.split('-').collect();
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    match parts.as_slice() {
        ["", y, m] => digits(y, 4) && digits(m, 2),
        ["", y, m, n] => digits(y, 4) && digits(m, 2) && !n.is_empty() && digits(n, n.len()),
        _ => false,
    }
}
/// CloudFormation's limit of resources in one stack.
pub const MAX_RESOURCES: usize = 500;

/// Something that deploys but is likely not what the author meant: printed by the CLI and
/// logged by the macro Lambda, never a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// Apps in a template without `Transform: FargateApp`: CloudFormation would reject it.
    MissingTransform,
    /// An App registered in Cloud Map whose security group admits no peer.
    Unreachable {
        app: String,
        name: String,
        peers: Vec<String>,
    },
    /// `DesiredCount` beside `Scaling`: dropped, since CloudFormation would re-apply it on every
    /// stack update and undo the scaling.
    DesiredCountDropped { app: String },
    /// A strategy on a rule of a listener outside the template, whose actions the expansion
    /// cannot check.
    StrategyListenerUnchecked { app: String },
    /// A resource of the template reads `TargetGroupArn` of an App whose strategy swaps
    /// production between two target groups: after a swap it names the idle one.
    OneOfTwoTargetGroups { app: String, resource: String },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::MissingTransform => write!(f, "the template has Fargate::App resources but no 'Transform: {MACRO_NAME}': CloudFormation would reject it (Unrecognized resource type)"),
            Warning::OneOfTwoTargetGroups { app, resource } => write!(f, "Resource [{resource}] reads {app}.TargetGroupArn, but {app}'s Deployment.Strategy swaps production between {app}TargetGroup and {app}AlternateTargetGroup: after a swap it names the idle group (an alarm on it has no data); watch both, for example with metric math over the two"),
            Warning::Unreachable { app, name, peers } if peers.is_empty() => write!(f, "Resource [{app}] is registered in Cloud Map as {name}, but its security group admits no peer: add the Apps that call it to Network.AllowFrom"),
            Warning::Unreachable { app, name, peers } => write!(f, "Resource [{app}] is registered in Cloud Map as {name}, but its security group admits no peer: {} refer(s) to {app}.DiscoveryName; add them to {app}'s Network.AllowFrom", peers.join(", ")),
            Warning::StrategyListenerUnchecked { app } => write!(f, "Resource [{app}] has a Deployment.Strategy on a rule of a listener outside the template: ECS blue/green, canary and linear deployments fail when that listener's default action or rules redirect, answer a fixed response or authenticate; make sure every action on it forwards"),
            Warning::DesiredCountDropped { app } => write!(f, "Resource [{app}] has DesiredCount beside Scaling: DesiredCount is dropped (a count in the template is re-applied on every stack update and undoes the scaling); Scaling.Min sets the floor, remove DesiredCount"),
        }
    }
}

/// The expanded template and the warnings about it.
#[derive(Debug, Clone)]
pub struct Expanded {
    pub template: Value,
    pub warnings: Vec<Warning>,
}

/// Expands every `Fargate::App` of a template.
pub fn expand(template: &Value, settings: &Settings) -> Result<Value, Problems> {
    expand_with_warnings(template, settings).map(|e| e.template)
}

/// Expands every `Fargate::App` of a template, with the warnings about what it expanded.
pub fn expand_with_warnings(template: &Value, settings: &Settings) -> Result<Expanded, Problems> {
    let mut problems = Problems::default();
    let Some(root) = template.as_object() else {
        problems.push(Problem::template("", "a template is a JSON/YAML object"));
        return Err(problems);
    };
    let Some(resources) = root.get("Resources").and_then(Value::as_object) else {
        problems.push(Problem::template(
            "Resources",
            "required: an object of resources",
        ));
        return Err(problems);
    };
    let app_ids: Vec<String> = resources
        .iter()
        .filter(|(_, r)| r.get("Type").and_then(Value::as_str) == Some(APP_TYPE))
        .map(|(id, _)| id.clone())
        .collect();
    let mut out_root = root.clone();
    let mut warnings = Vec::new();
    if !app_ids.is_empty() && !names_macro(root.get("Transform")) {
        warnings.push(Warning::MissingTransform);
    }
    remove_macro_from_transform(&mut out_root);
    if app_ids.is_empty() {
        return Ok(Expanded {
            template: Value::Object(out_root),
            warnings,
        });
    }
    let parameter_values = known_parameter_values(root, settings);
    let ctx = TemplateCtx {
        resources,
        parameters: root.get("Parameters").and_then(Value::as_object),
        parameter_values: Some(&parameter_values),
        app_ids: &app_ids,
    };

    // 1. Read every App; if any is invalid, add what the later phases can already tell
    // (colliding IDs, unknown attributes) and stop.
    let mut apps: Vec<App> = app_ids
        .iter()
        .filter_map(|id| read_app(id, &resources[id], &ctx, &mut problems))
        .collect();
    check_parameter_values(&ctx, &parameter_values, &mut problems);
    if !problems.is_empty() {
        early_cross_checks(root, &ctx, &apps, settings, &mut problems);
        redact_no_echo(root, &parameter_values, &mut problems);
        return Err(problems);
    }
    let conds = root.get("Conditions").and_then(Value::as_object);
    unique_across_apps(&apps, resources, conds, &mut problems);
    if problems.is_empty() {
        unique_with_parameter_values(&ctx, &parameter_values, conds, &mut problems);
    }
    order_nested_auto_rules(&mut apps);
    warnings.extend(mixed_listener_actions(&apps, &ctx, &mut problems));
    if !problems.is_empty() {
        redact_no_echo(root, &parameter_values, &mut problems);
        return Err(problems);
    }
    warnings.extend(unreachable_apps(&apps, resources));
    // https://docs.aws.amazon.com/AmazonECS/latest/developerguide/blue-green-deployment-how-it-works.html
    for a in apps
        .iter()
        .filter(|a| a.deployment.strategy.shifts_traffic())
    {
        for (id, r) in resources {
            if app_ids.contains(id) {
                continue;
            }
            if gets_attribute(r, &a.id, "TargetGroupArn") {
                warnings.push(Warning::OneOfTwoTargetGroups {
                    app: a.id.clone(),
                    resource: id.clone(),
                });
            }
        }
    }
    warnings.extend(
        app_ids
            .iter()
            .filter(|id| {
                let p = &resources[id.as_str()]["Properties"];
                p.get("DesiredCount").is_some() && p.get("Scaling").is_some()
            })
            .map(|id| Warning::DesiredCountDropped { app: id.clone() }),
    );

    // 2. Each App's attributes (they depend on its routing only).
    let attribute_tables: Vec<_> = apps
        .iter()
        .map(|a| gen::attributes_of(a, settings))
        .collect();
    let targets_for = |resource_ids: &dyn Fn(&str) -> Vec<String>| -> HashMap<String, Target> {
        apps.iter()
            .zip(&attribute_tables)
            .map(|(a, attributes)| {
                (
                    a.id.clone(),
                    Target {
                        ref_id: gen::Ids(&a.id).of("Service"),
                        resource_ids: resource_ids(&a.id),
                        attributes,
                    },
                )
            })
            .collect()
    };

    // 3. Rewrite references to Apps inside App properties, then generate each App.
    let prop_targets = targets_for(&|_| Vec::new());
    let mut rw = Rewriter {
        targets: &prop_targets,
        problems: &mut problems,
    };
    let (expansions, shared) = generate_apps(&apps, resources, &ctx, settings, &mut rw);
    let targets = targets_for(&|id| {
        expansions[id]
            .resources
            .iter()
            .map(|(r, _)| r.clone())
            .collect()
    });
    let mut rw = Rewriter {
        targets: &targets,
        problems: rw.problems,
    };

    // 4. Assemble, in template order, each App's resources where the App stood.
    let (new_resources, new_conditions) = assemble(resources, &apps, &expansions, &shared, &mut rw);
    let added_conditions: Vec<String> = new_conditions.iter().map(|(n, _)| n.clone()).collect();
    if !new_conditions.is_empty() {
        let conditions = out_root
            .entry("Conditions")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(c) = conditions {
            for (name, body) in new_conditions {
                if c.contains_key(&name) {
                    rw.problems.push(Problem::template(&format!("Conditions.{name}"), "the macro adds this condition, which the template already has; rename the template's"));
                }
                c.insert(name, body);
            }
        }
    }
    if let Some(Value::Object(outputs)) = out_root.get_mut("Outputs") {
        for (name, o) in outputs.iter_mut() {
            let section = format!("Outputs.{name}");
            rw.walk(o, Owner::Section(&section), &Path::Root(""));
        }
    }

    // 5. The stack limit, with each App's share.
    if new_resources.len() > MAX_RESOURCES {
        let shares: Vec<String> = apps
            .iter()
            .map(|a| format!("{} {}", a.id, expansions[a.id.as_str()].resources.len()))
            .collect();
        rw.problems.push(Problem::template("Resources", format!(
            "the expanded template has {} resources; CloudFormation allows {MAX_RESOURCES} in a stack. Split the Apps over several stacks (resources per App: {})",
            new_resources.len(),
            shares.join(", ")
        )));
    }
    // 6. The template's own rules on the listeners the Apps' rules are on, as the expansion
    //    names them (`!GetAtt Shop.ListenerArn` is `Ref ShopListener` by now).
    rules_beside_apps(&apps, &expansions, &new_resources, rw.problems);
    if !problems.is_empty() {
        redact_no_echo(root, &parameter_values, &mut problems);
        return Err(problems);
    }
    let mut new_resources = new_resources;
    drop_never_true(
        &mut out_root,
        &mut new_resources,
        resources,
        &app_ids,
        &added_conditions,
    );
    out_root.insert("Resources".into(), Value::Object(new_resources));
    Ok(Expanded {
        template: Value::Object(out_root),
        warnings,
    })
}

/// Generates each App from its properties with references to other Apps rewritten (so an
/// App's own settings may name another App's attributes).
fn generate_apps<'a>(
    apps: &'a [App],
    resources: &Map<String, Value>,
    ctx: &TemplateCtx,
    settings: &Settings,
    rw: &mut Rewriter,
) -> (HashMap<&'a str, Expansion>, Shared) {
    let mut shared = Shared {
        service_connect: gen::service_connect::peers(apps),
        ..Shared::default()
    };
    let discovery_ns = gen::service_connect::discovery_namespaces(apps);
    for app in apps {
        gen::service_connect::record_namespace(app, &discovery_ns, &mut shared);
    }
    let mut expansions: HashMap<&str, Expansion> = HashMap::new();
    for app in apps {
        let original = &resources[&app.id];
        let mut props = original.get("Properties").cloned().unwrap_or(Value::Null);
        rw.walk(
            &mut props,
            Owner::Resource(&app.id),
            &Path::Root("Properties"),
        );
        let rewritten = (Some(&props) != original.get("Properties")).then(|| {
            let mut raw = original.clone();
            raw["Properties"] = props;
            // The rewritten values are references again (or literals): reading cannot fail
            // where the first read passed; stay total and keep the first read if it does.
            let mut scratch = Problems::default();
            read_app(&app.id, &raw, ctx, &mut scratch).filter(|_| scratch.is_empty())
        });
        let spec = rewritten.flatten();
        let mut exp = gen::expand_app(spec.as_ref().unwrap_or(app), settings, &mut shared);
        peer_conditions(app, apps, &mut exp);
        if let Some(lt) = &app.load_test {
            if lt.url.is_none() && exp.routing.url.is_none() {
                rw.problems.push(Problem::property(&app.id, "Properties.LoadTest.Url", "required here: the app's URL is not known at expansion time (set LoadBalancer.DnsName, or a literal Host)"));
            }
        }
        if app.scaling_check.is_some()
            && app.load_balancer.is_some()
            && exp.routing.origin.is_none()
        {
            rw.problems.push(Problem::property(&app.id, "Properties.ScalingCheck", "needs the App's URL, which is not known at expansion time: set LoadBalancer.DnsName, or a literal Host (the check sends its load there)"));
        }
        expansions.insert(&app.id, exp);
    }
    (expansions, shared)
}

/// Every resource in template order: each App's resources where the App stood, a shared
/// resource before the first App that uses it, references to Apps rewritten. Returns the
/// resources and the conditions the macro adds.
fn assemble(
    resources: &Map<String, Value>,
    apps: &[App],
    expansions: &HashMap<&str, Expansion>,
    shared: &Shared,
    rw: &mut Rewriter,
) -> (Map<String, Value>, Vec<(String, Value)>) {
    let targets = rw.targets;
    let existing: HashSet<&str> = resources
        .keys()
        .filter(|k| !targets.contains_key(*k))
        .map(String::as_str)
        .collect();
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut new_resources = Map::new();
    let needs_cluster = apps.iter().any(|a| a.cluster.is_none());
    let mut namespaces_left = shared.namespaces.clone();
    let mut http_namespaces_left = shared.http_namespaces.clone();
    let mut new_conditions: Vec<(String, Value)> = Vec::new();
    for (id, res) in resources {
        let Some(exp) = expansions.get(id.as_str()) else {
            let mut r = res.clone();
            let rewritten = rw.depends_on(&mut r);
            if let Some(m) = r.as_object_mut() {
                for (k, x) in m
                    .iter_mut()
                    .filter(|(k, _)| k.as_str() != "Type" && k.as_str() != "DependsOn")
                {
                    rw.walk(x, Owner::Resource(id), &Path::Root(k));
                }
            }
            if rewritten {
                gen::prune_implied_dependencies(&mut r);
            }
            new_resources.insert(id.clone(), r);
            continue;
        };
        let mut shared_now: Vec<(String, Value)> = Vec::new();
        if needs_cluster && !seen.contains_key(SHARED_CLUSTER_ID) {
            let users: Vec<&App> = apps.iter().filter(|a| a.cluster.is_none()).collect();
            let mut cluster = shared_cluster(apps);
            shared_attributes(&mut cluster, &users, SHARED_CLUSTER_ID, &mut new_conditions);
            shared_now.push((SHARED_CLUSTER_ID.to_string(), cluster));
        }
        let app = apps
            .iter()
            .find(|a| &a.id == id)
            .expect("expansions are keyed by App");
        if let Some(d) = &app.discovery {
            if let crate::spec::NamespaceRef::Create { name } = &d.namespace {
                let ns_id = Shared::namespace_id(name);
                if let Some(pos) = namespaces_left.iter().position(|(i, _, _)| i == &ns_id) {
                    let (i, n, vpc) = namespaces_left.remove(pos);
                    let users: Vec<&App> = apps
                        .iter()
                        .filter(|a| matches!(&a.discovery, Some(d) if matches!(&d.namespace, NamespaceRef::Create { name: x } if x == &n))
                            // Service Connect uses the private DNS namespace of its name.
                            || matches!(a.service_connect.as_ref().map(|s| &s.namespace), Some(crate::spec::ScNamespace::Create(x)) if x == &n))
                        .collect();
                    let mut ns = json!({ "Type": "AWS::ServiceDiscovery::PrivateDnsNamespace", "Properties": { "Name": n, "Vpc": vpc, "Description": "Created by the FargateApp macro for Discovery.NamespaceName" } });
                    shared_attributes(&mut ns, &users, &i, &mut new_conditions);
                    shared_now.push((i, ns));
                }
            }
        }
        if let Some(crate::spec::ScNamespace::Create(name)) =
            app.service_connect.as_ref().map(|s| &s.namespace)
        {
            let ns_id = Shared::namespace_id(name);
            if let Some(pos) = http_namespaces_left.iter().position(|(i, _)| i == &ns_id) {
                let (i, n) = http_namespaces_left.remove(pos);
                let users: Vec<&App> = apps
                    .iter()
                    .filter(|a| matches!(a.service_connect.as_ref().map(|s| &s.namespace), Some(crate::spec::ScNamespace::Create(x)) if x == &n))
                    .collect();
                let mut ns = json!({ "Type": "AWS::ServiceDiscovery::HttpNamespace", "Properties": { "Name": n, "Description": "Created by the FargateApp macro for ServiceConnect.NamespaceName" } });
                shared_attributes(&mut ns, &users, &i, &mut new_conditions);
                shared_now.push((i, ns));
            }
        }
        new_conditions.extend(exp.conditions.iter().cloned());
        for (gid, mut r) in shared_now.into_iter().chain(exp.resources.iter().cloned()) {
            if rw.depends_on(&mut r) {
                gen::prune_implied_dependencies(&mut r);
            }
            check_generated_id(
                id,
                &gid,
                &existing,
                &mut seen,
                &|x| targets.contains_key(x),
                rw.problems,
            );
            new_resources.entry(gid).or_insert(r);
        }
    }
    (new_resources, new_conditions)
}

/// A generated logical ID must be new: not a resource of the template, not another App's.
fn check_generated_id(
    app: &str,
    gid: &str,
    existing: &HashSet<&str>,
    seen: &mut HashMap<String, String>,
    is_app: &dyn Fn(&str) -> bool,
    problems: &mut Problems,
) {
    if existing.contains(gid) {
        problems.push(Problem::property(app, "", format!("generates '{gid}', which is already a resource of the template; rename one of them")));
    } else if let Some(other) = seen.get(gid) {
        if other != app && !gid.starts_with("FargateApp") {
            problems.push(Problem::property(
                app,
                "",
                format!("generates '{gid}', which {other} generates too; rename one of the Apps"),
            ));
        }
    }
    if is_app(gid) {
        problems.push(Problem::property(app, "", format!("generates '{gid}', which is the logical ID of another Fargate::App; rename one of them")));
    }
    seen.entry(gid.to_string())
        .or_insert_with(|| app.to_string());
}

/// Resources every App generates, whatever its properties.
const ALWAYS_GENERATED: &[&str] = &[
    "ExecutionRole",
    "TaskRole",
    "LogGroup",
    "SecurityGroup",
    "TaskDefinition",
    "Service",
];

/// With property errors, the checks of the later phases that need no valid App: generated IDs
/// that collide (all of a valid App's, the always-generated ones of an invalid App) and
/// `Fn::GetAtt` of attributes an App does not have. All problems come in one report.
fn early_cross_checks(
    root: &Map<String, Value>,
    ctx: &TemplateCtx,
    apps: &[App],
    settings: &Settings,
    problems: &mut Problems,
) {
    let existing: HashSet<&str> = ctx
        .resources
        .keys()
        .filter(|k| !ctx.app_ids.contains(k))
        .map(String::as_str)
        .collect();
    let mut seen = HashMap::new();
    let is_app = |x: &str| ctx.app_ids.iter().any(|a| a == x);
    for id in ctx.app_ids {
        let ids: Vec<String> = match apps.iter().find(|a| &a.id == id) {
            Some(a) => gen::expand_app(a, settings, &mut Shared::default())
                .resources
                .into_iter()
                .map(|(i, _)| i)
                .collect(),
            None => ALWAYS_GENERATED.iter().map(|s| Ids(id).of(s)).collect(),
        };
        for gid in ids {
            check_generated_id(id, &gid, &existing, &mut seen, &is_app, problems);
        }
    }
    let unknown_only: Vec<(&'static str, Result<Value, String>)> = gen::ATTRIBUTE_NAMES
        .iter()
        .map(|n| (*n, Ok(Value::Null)))
        .collect();
    let tables: Vec<_> = apps
        .iter()
        .map(|a| gen::attributes_of(a, settings))
        .collect();
    let targets: HashMap<String, Target> = ctx
        .app_ids
        .iter()
        .map(|id| {
            let attributes = apps
                .iter()
                .position(|a| &a.id == id)
                .map(|i| tables[i].as_slice())
                .unwrap_or(&unknown_only);
            let t = Target {
                ref_id: Ids(id).of("Service"),
                resource_ids: Vec::new(),
                attributes,
            };
            (id.clone(), t)
        })
        .collect();
    let mut rw = Rewriter {
        targets: &targets,
        problems,
    };
    for (id, res) in ctx.resources {
        if let Some(m) = res.as_object() {
            for (k, x) in m.iter().filter(|(k, _)| *k != "Type" && *k != "DependsOn") {
                rw.walk(&mut x.clone(), Owner::Resource(id), &Path::Root(k));
            }
        }
    }
    if let Some(Value::Object(outputs)) = root.get("Outputs") {
        for (name, o) in outputs {
            let section = format!("Outputs.{name}");
            rw.walk(&mut o.clone(), Owner::Section(&section), &Path::Root(""));
        }
    }
}

/// A resource several Apps share exists while any of them does, and is retained when any of
/// them is: the OR of their conditions (a new condition when they differ), and `Retain` when
/// one retains (a retained service would otherwise block the cluster's delete).
fn shared_attributes(
    resource: &mut Value,
    users: &[&App],
    id: &str,
    conditions: &mut Vec<(String, Value)>,
) {
    let obj = resource
        .as_object_mut()
        .expect("generated resources are objects");
    let mut names: Vec<&Value> = Vec::new();
    for a in users {
        match &a.attributes.condition {
            None => {
                names.clear();
                break;
            }
            Some(c) if !names.contains(&c) => names.push(c),
            Some(_) => {}
        }
    }
    match names.as_slice() {
        [] => {}
        [one] => {
            obj.insert("Condition".into(), (*one).clone());
        }
        many => {
            let name = format!("{id}Condition");
            let terms: Vec<Value> = many.iter().map(|c| json!({ "Condition": c })).collect();
            conditions.push((name.clone(), or_of(terms)));
            obj.insert("Condition".into(), json!(name));
        }
    }
    let retains = |v: &Option<Value>| {
        v.as_ref()
            .and_then(Value::as_str)
            .is_some_and(|s| s.starts_with("Retain"))
    };
    if users.iter().any(|a| retains(&a.attributes.deletion_policy)) {
        obj.insert("DeletionPolicy".into(), json!("Retain"));
    }
    if users
        .iter()
        .any(|a| retains(&a.attributes.update_replace_policy))
    {
        obj.insert("UpdateReplacePolicy".into(), json!("Retain"));
    }
}

/// `Fn::Or` takes 2 to 10 conditions: nest beyond that.
fn or_of(mut terms: Vec<Value>) -> Value {
    while terms.len() > 10 {
        let rest = terms.split_off(9);
        terms.push(or_of(rest));
    }
    json!({ "Fn::Or": terms })
}

fn names_macro(transform: Option<&Value>) -> bool {
    match transform {
        Some(Value::String(s)) => is_macro_name(s),
        Some(Value::Array(a)) => a.iter().any(|t| t.as_str().is_some_and(is_macro_name)),
        _ => false,
    }
}

/// Apps registered in Cloud Map whose security group lets no peer in (`Network.AllowFrom`
/// empty, no extra security groups), with the Apps that refer to their `DiscoveryName`.
fn unreachable_apps(apps: &[App], resources: &Map<String, Value>) -> Vec<Warning> {
    let mut out = Vec::new();
    for a in apps {
        let Some(d) = &a.discovery else { continue };
        if !a.network.allow_from.is_empty() || a.network.security_groups.is_some() {
            continue;
        }
        let in_sub = format!("${{{}.DiscoveryName}}", a.id);
        let peers: Vec<String> = apps
            .iter()
            .filter(|p| p.id != a.id)
            .filter(|p| refers_to_discovery_name(&resources[&p.id]["Properties"], &a.id, &in_sub))
            .map(|p| p.id.clone())
            .collect();
        let ns = match &d.namespace {
            NamespaceRef::Create { name }
            | NamespaceRef::Existing {
                name: Some(name), ..
            } => name.clone(),
            NamespaceRef::Existing { name: None, .. } => "its namespace".into(),
        };
        let name = match d.name.lit() {
            Some(n) => format!("{n}.{ns}"),
            None => format!("a name in {ns}"),
        };
        out.push(Warning::Unreachable {
            app: a.id.clone(),
            name,
            peers,
        });
    }
    out
}

/// Whether `v` holds `!GetAtt app.DiscoveryName`, or `in_sub` (`${app.DiscoveryName}`) in a string.
fn refers_to_discovery_name(v: &Value, app: &str, in_sub: &str) -> bool {
    match v {
        Value::Object(m) => {
            if let Some(Value::Array(a)) = m.get("Fn::GetAtt") {
                if a.first().and_then(Value::as_str) == Some(app)
                    && a.get(1).and_then(Value::as_str) == Some("DiscoveryName")
                {
                    return true;
                }
            }
            m.values().any(|x| refers_to_discovery_name(x, app, in_sub))
        }
        Value::Array(a) => a.iter().any(|x| refers_to_discovery_name(x, app, in_sub)),
        Value::String(s) => s.contains(in_sub),
        _ => false,
    }
}

fn shared_cluster(apps: &[App]) -> Value {
    let spot = apps.iter().any(|a| a.cluster.is_none() && a.spot.is_some());
    let mut props = json!({
        "ClusterSettings": [{ "Name": "containerInsights", "Value": "enabled" }],
    });
    if spot {
        props["CapacityProviders"] = json!(["FARGATE", "FARGATE_SPOT"]);
    }
    json!({ "Type": "AWS::ECS::Cluster", "Properties": props })
}

fn remove_macro_from_transform(root: &mut Map<String, Value>) {
    match root.get_mut("Transform") {
        Some(Value::String(s)) if is_macro_name(s) => {
            root.shift_remove("Transform");
        }
        Some(Value::Array(a)) => {
            a.retain(|t| !t.as_str().is_some_and(is_macro_name));
            if a.is_empty() {
                root.shift_remove("Transform");
            }
        }
        _ => {}
    }
}

/// A listener port or rule priority claimed twice: by two Apps, by an App's test rule
/// (`Priority - 1`), or by the template's own listeners and rules. ELBv2 refuses the second
/// at deploy time: a rule priority is unique per listener (`PriorityInUse`,
/// https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateRule.html)
/// and a port per load balancer (`DuplicateListener`,
/// https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateListener.html).
/// Claims under two `Condition`s that no parameter values make both true are left alone.
fn claimed_twice(
    apps: &[App],
    resources: &Map<String, Value>,
    conds: Option<&Map<String, Value>>,
    problems: &mut Problems,
) {
    use crate::spec::{Dynamic, Routing};
    // (kind, parent, number) -> (App or resource, what claims it, its condition)
    type Claim = (String, String, Option<Value>);
    let mut claims: Vec<((&str, Value, u64), Claim)> = Vec::new();
    for (id, r) in resources {
        let props = &r["Properties"];
        let condition = r.get("Condition").cloned();
        let (kind, parent, number) = match r.get("Type").and_then(Value::as_str) {
            Some("AWS::ElasticLoadBalancingV2::ListenerRule") => {
                ("rule", props.get("ListenerArn"), props.get("Priority"))
            }
            Some("AWS::ElasticLoadBalancingV2::Listener") => {
                ("port", props.get("LoadBalancerArn"), props.get("Port"))
            }
            _ => continue,
        };
        if let (Some(parent), Some(n)) = (parent, number.and_then(literal_number)) {
            let what = format!("the template's {id}");
            claims.push(((kind, parent.clone(), n), (id.clone(), what, condition)));
        }
    }
    for a in apps {
        let Some(lb) = &a.load_balancer else { continue };
        let condition = a.attributes.condition.clone();
        let mut claim = |kind, parent: Value, n: u64, what: String| {
            claims.push(((kind, parent, n), (a.id.clone(), what, condition.clone())));
        };
        match &lb.routing {
            Routing::SharedRule {
                listener,
                priority: Dynamic::Fixed(Val::Lit(p)),
                ..
            } => {
                claim(
                    "rule",
                    listener.json(),
                    *p,
                    format!("{}'s rule (LoadBalancer.Priority)", a.id),
                );
                if a.deployment.strategy.shifts_traffic() && *p > 1 {
                    claim(
                        "rule",
                        listener.json(),
                        p - 1,
                        format!(
                            "{}'s test rule (LoadBalancer.Priority - 1, for Deployment.Strategy)",
                            a.id
                        ),
                    );
                }
            }
            Routing::SharedPort {
                arn,
                port: Dynamic::Fixed(Val::Lit(p)),
                ..
            } => claim(
                "port",
                arn.json(),
                *p,
                format!("{}'s listener (LoadBalancer.ListenerPort)", a.id),
            ),
            _ => {}
        }
    }
    for (i, (key, (owner, what, cond))) in claims.iter().enumerate() {
        let Some((_, (_, first, first_cond))) = claims[..i].iter().find(|(k, _)| k == key) else {
            continue;
        };
        if !crate::spec::coexist::may_coexist(conds, first_cond.as_ref(), cond.as_ref()) {
            continue;
        }
        let (kind, _, n) = key;
        if !apps.iter().any(|a| &a.id == owner) {
            continue; // two of the template's own: not the macro's business
        }
        let (path, message) = if *kind == "rule" {
            ("Properties.LoadBalancer.Priority", format!("{what} takes priority {n} on a listener where {first} has it already; ELBv2 refuses the second (PriorityInUse): choose another Priority (a strategy's test rule takes Priority - 1), or auto"))
        } else {
            ("Properties.LoadBalancer.ListenerPort", format!("{what} takes port {n} on a load balancer where {first} has it already; ELBv2 refuses the second (DuplicateListener): choose another ListenerPort, or auto"))
        };
        problems.push(Problem::property(owner, path, message));
    }
}

/// Whether `v` reads `app.attribute` (`Fn::GetAtt`, or `${app.attribute}` in a `Fn::Sub`).
fn gets_attribute(v: &Value, app: &str, attribute: &str) -> bool {
    match v {
        Value::Object(m) => {
            let direct = m
                .get("Fn::GetAtt")
                .and_then(Value::as_array)
                .is_some_and(|a| {
                    a.first().and_then(Value::as_str) == Some(app)
                        && a.get(1).and_then(Value::as_str) == Some(attribute)
                });
            direct || m.values().any(|x| gets_attribute(x, app, attribute))
        }
        Value::Array(a) => a.iter().any(|x| gets_attribute(x, app, attribute)),
        Value::String(s) => s.contains(&format!("${{{app}.{attribute}}}")),
        _ => false,
    }
}

/// A rule of the template on a listener where an App's expansion puts rules: the same literal
/// priority is refused by ELBv2 (`PriorityInUse`,
/// https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateRule.html), and
/// with a blue/green, canary or linear App on that listener, an action other than forward makes
/// ECS fail the deployment
/// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/alb-resources-for-blue-green.html).
/// Reported on the template's rule, which is the one to change.
fn rules_beside_apps(
    apps: &[App],
    expansions: &HashMap<&str, Expansion>,
    resources: &Map<String, Value>,
    problems: &mut Problems,
) {
    const RULE: &str = "AWS::ElasticLoadBalancingV2::ListenerRule";
    // (listener, priority, rule ID, App, shifts traffic) of every rule an App generates
    let mut generated: Vec<(Value, Option<u64>, String, &App)> = Vec::new();
    for a in apps {
        for (id, _) in &expansions[a.id.as_str()].resources {
            let Some(r) = resources.get(id) else { continue };
            if r.get("Type").and_then(Value::as_str) != Some(RULE) {
                continue;
            }
            let p = &r["Properties"];
            generated.push((
                p["ListenerArn"].clone(),
                p.get("Priority").and_then(literal_number),
                id.clone(),
                a,
            ));
        }
    }
    let generated_ids: Vec<&String> = generated.iter().map(|g| &g.2).collect();
    for (id, r) in resources {
        if r.get("Type").and_then(Value::as_str) != Some(RULE) || generated_ids.contains(&id) {
            continue;
        }
        let p = &r["Properties"];
        let priority = p.get("Priority").and_then(literal_number);
        let mut action_reported = false;
        for (listener, gp, gid, app) in &generated {
            if *listener != p["ListenerArn"] {
                continue;
            }
            if let (Some(n), Some(m)) = (priority, gp) {
                if n == *m {
                    problems.push(Problem::property(id, "Properties.Priority", format!(
                        "priority {n} is {gid}'s, which {} puts on this listener; ELBv2 refuses the second (PriorityInUse): choose a priority {} does not use",
                        app.id, app.id
                    )));
                }
            }
            if app.deployment.strategy.shifts_traffic() && !action_reported {
                let other = items_of(&p["Actions"])
                    .filter_map(|a| a.get("Type").and_then(Value::as_str))
                    .find(|t| *t != "forward");
                if let Some(t) = other {
                    problems.push(Problem::property(id, "Properties.Actions", format!(
                        "a {t} action on the listener of {} (Deployment.Strategy shifts its traffic): ECS blue/green, canary and linear deployments need a listener whose every action forwards, and fail otherwise; move this rule to another listener",
                        app.id
                    )));
                    action_reported = true;
                }
            }
        }
    }
}

fn items_of(v: &Value) -> impl Iterator<Item = &Value> {
    v.as_array().into_iter().flatten()
}

/// A rule on a shared listener whose paths and hosts are all literal (hosts lower-cased, as ELBv2
/// compares them), with its priority as written.
struct LiteralRule {
    listener: Value,
    paths: Vec<String>,
    hosts: Vec<String>,
}

fn literal_rule(a: &App) -> Option<(&crate::spec::Dynamic, LiteralRule)> {
    let crate::spec::Routing::SharedRule {
        listener,
        priority,
        paths,
        hosts,
        ..
    } = &a.load_balancer.as_ref()?.routing
    else {
        return None;
    };
    let lits =
        |v: &[Val<String>]| -> Option<Vec<String>> { v.iter().map(|x| x.lit().cloned()).collect() };
    Some((
        priority,
        LiteralRule {
            listener: listener.json(),
            paths: lits(paths)?,
            hosts: lits(hosts)?
                .iter()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
        },
    ))
}

/// An App's rule that another App's rule, earlier on the same listener, always takes first:
/// ELBv2 evaluates rules in priority order and the first match wins
/// (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-rules.html), so
/// with `/*` at priority 1 a `/rates/*` rule at priority 3 never sees a request, nor does its
/// gate. Judged on literal priorities, paths and hosts only: an earlier rule matches a later
/// one's requests when its hosts are none or the same, and each of the later rule's paths (a
/// request under its fixed start) matches one of its patterns. Apps under two different
/// `Condition`s are left alone.
fn shadowed_rules(apps: &[App], conds: Option<&Map<String, Value>>, problems: &mut Problems) {
    use crate::spec::{path_pattern_matches, Dynamic};
    struct Rule<'a> {
        app: &'a App,
        priority: u64,
        rule: LiteralRule,
    }
    let rules: Vec<Rule> = apps
        .iter()
        .filter_map(|a| {
            let (Dynamic::Fixed(Val::Lit(p)), rule) = literal_rule(a)? else {
                return None;
            };
            Some(Rule {
                app: a,
                priority: *p,
                rule,
            })
        })
        .collect();
    for later in &rules {
        for earlier in &rules {
            if earlier.priority >= later.priority || earlier.rule.listener != later.rule.listener {
                continue;
            }
            if !apps_coexist(conds, earlier.app, later.app) {
                continue;
            }
            let hosts_cover = earlier.rule.hosts.is_empty()
                || (!later.rule.hosts.is_empty()
                    && later
                        .rule
                        .hosts
                        .iter()
                        .all(|h| earlier.rule.hosts.contains(h)));
            let paths_cover = earlier.rule.paths.is_empty()
                || (!later.rule.paths.is_empty()
                    && later.rule.paths.iter().all(|p| {
                        let sample = format!("{}x", p.split(['*', '?']).next().unwrap_or(""));
                        earlier
                            .rule
                            .paths
                            .iter()
                            .any(|q| path_pattern_matches(q, &sample))
                    }));
            if hosts_cover
                && paths_cover
                && (!earlier.rule.paths.is_empty() || !earlier.rule.hosts.is_empty())
            {
                let what: Vec<String> = earlier
                    .rule
                    .paths
                    .iter()
                    .chain(&earlier.rule.hosts)
                    .cloned()
                    .collect();
                problems.push(Problem::property(
                    &later.app.id,
                    "Properties.LoadBalancer.Priority",
                    format!(
                        "{e}'s rule at priority {ep} ({w}) matches this rule's requests first: ELBv2 takes the lowest priority that matches, so this App (priority {lp}) would get none; give {e} a higher Priority than {lp} (the more specific rule first), or make its condition narrower",
                        e = earlier.app.id, ep = earlier.priority, w = what.join(", "), lp = later.priority
                    ),
                ));
                break;
            }
        }
    }
}

/// Two Apps whose `Name` makes one base would give two target groups (and services, log groups)
/// one name: unique per account and Region
/// (https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html).
/// Apps under two `Condition`s that cannot both hold are left alone.
/// Whether two Apps can be in one stack at once: their `Condition`s can both hold
/// ([`crate::spec::coexist::may_coexist`]).
fn apps_coexist(conds: Option<&Map<String, Value>>, a: &App, b: &App) -> bool {
    crate::spec::coexist::may_coexist(
        conds,
        a.attributes.condition.as_ref(),
        b.attributes.condition.as_ref(),
    )
}

fn names_twice(apps: &[App], conds: Option<&Map<String, Value>>, problems: &mut Problems) {
    for (i, a) in apps.iter().enumerate() {
        let Some(n) = &a.names else { continue };
        if let Some(first) = apps[..i].iter().find(|b| {
            b.names.as_ref().is_some_and(|m| m.base == n.base) && apps_coexist(conds, b, a)
        }) {
            problems.push(Problem::property(
                &a.id,
                "Properties.Name",
                format!(
                    "'{}' is already {}'s Name: its target group, service and log group would have the same names (DuplicateTargetGroupName); give each App its own Name",
                    n.base, first.id
                ),
            ));
        }
    }
}

/// Two Apps registering one Cloud Map service name in one namespace: Cloud Map refuses the
/// second (`ServiceAlreadyExists`,
/// https://docs.aws.amazon.com/cloud-map/latest/api/API_CreateService.html), and DNS names are
/// not case-sensitive. Apps under two `Condition`s that cannot both hold are left alone.
fn discovery_names_twice(
    apps: &[App],
    conds: Option<&Map<String, Value>>,
    problems: &mut Problems,
) {
    use crate::spec::NamespaceRef;
    let mut seen: Vec<(Value, String, &App)> = Vec::new();
    for a in apps {
        let Some(d) = &a.discovery else { continue };
        let Some(name) = d.name.lit() else { continue };
        let namespace = match &d.namespace {
            NamespaceRef::Create { name } => json!({ "Create": name.to_ascii_lowercase() }),
            NamespaceRef::Existing { id, .. } => json!({ "Existing": id.json() }),
        };
        let name = name.to_ascii_lowercase();
        if let Some((_, _, first)) = seen
            .iter()
            .find(|(ns, n, first)| ns == &namespace && n == &name && apps_coexist(conds, first, a))
        {
            problems.push(Problem::property(
                &a.id,
                "Properties.Discovery.Name",
                format!(
                    "'{name}' is already {}'s name in this namespace; Cloud Map refuses a second service of one name (ServiceAlreadyExists): give each App its own Discovery.Name",
                    first.id
                ),
            ));
            continue;
        }
        seen.push((namespace, name, a));
    }
}

/// Apps of this template with `Priority: auto` on one listener, in one band, whose rules one
/// request can match (paths that nest, `/blog/admin/*` inside `/blog/*`; a Host rule beside a Path
/// rule): ELBv2 evaluates rules lowest priority first, so the more specific one must have the
/// lower number
/// (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-update-rules.html),
/// and the provider takes the lowest free number of a range, so two equal ranges leave the order
/// to whichever claim runs first. Such a group splits its band: the most specific App takes
/// the first part, and so on. Groups without overlap keep their band (and their claims).
fn order_nested_auto_rules(apps: &mut [App]) {
    use crate::spec::{path_pattern_matches, Dynamic, Routing};
    // The fixed start of a path pattern: `/blog/` for `/blog/*`.
    let fixed = |p: &str| p.split(['*', '?']).next().unwrap_or("").to_string();
    struct Auto {
        listener: Value,
        from: u64,
        to: u64,
        paths: Vec<String>,
        hosts: Vec<String>,
    }
    let key_of = |a: &App| -> Option<Auto> {
        let (Dynamic::Auto { from, to }, r) = literal_rule(a)? else {
            return None;
        };
        Some(Auto {
            listener: r.listener,
            from: *from,
            to: *to,
            paths: r.paths,
            hosts: r.hosts,
        })
    };
    let keys: Vec<Option<Auto>> = apps.iter().map(key_of).collect();
    // Whether one request can match both rules: no condition of a kind on one side, or two
    // patterns of that kind that can meet (one's fixed start begins the other's, or a host
    // pattern matching the other host).
    let meet = |a: &Auto, b: &Auto| {
        let paths = a.paths.is_empty()
            || b.paths.is_empty()
            || a.paths.iter().any(|x| {
                b.paths.iter().any(|y| {
                    let (fx, fy) = (fixed(x), fixed(y));
                    fx.starts_with(fy.as_str()) || fy.starts_with(fx.as_str())
                })
            });
        let hosts = a.hosts.is_empty()
            || b.hosts.is_empty()
            || a.hosts.iter().any(|x| {
                b.hosts
                    .iter()
                    .any(|y| x == y || path_pattern_matches(x, y) || path_pattern_matches(y, x))
            });
        paths && hosts
    };
    let mut done = vec![false; apps.len()];
    for i in 0..apps.len() {
        let Some(k) = &keys[i] else { continue };
        if done[i] {
            continue;
        }
        let mut group: Vec<usize> = (0..apps.len())
            .filter(|&j| {
                matches!(&keys[j], Some(o) if o.listener == k.listener && o.from == k.from && o.to == k.to)
            })
            .collect();
        group.iter().for_each(|&j| done[j] = true);
        let key = |j: usize| keys[j].as_ref().expect("in the group");
        let overlap = group
            .iter()
            .any(|&a| group.iter().any(|&b| a != b && meet(key(a), key(b))));
        if !overlap {
            continue;
        }
        // Most specific first: the longest fixed path start, then a Host, then the logical ID.
        let depth = |j: usize| {
            key(j)
                .paths
                .iter()
                .map(|p| fixed(p).len())
                .max()
                .unwrap_or(0)
        };
        group.sort_by(|&a, &b| {
            depth(b)
                .cmp(&depth(a))
                .then(key(b).hosts.len().min(1).cmp(&key(a).hosts.len().min(1)))
                .then(apps[a].id.cmp(&apps[b].id))
        });
        let (from, to) = (k.from, k.to);
        let size = (to - from + 1) / group.len() as u64;
        if size == 0 {
            continue;
        }
        for (n, &j) in group.iter().enumerate() {
            let lo = from + n as u64 * size;
            let hi = if n + 1 == group.len() {
                to
            } else {
                lo + size - 1
            };
            if let Some(lb) = apps[j].load_balancer.as_mut() {
                if let Routing::SharedRule { priority, .. } = &mut lb.routing {
                    *priority = Dynamic::Auto { from: lo, to: hi };
                }
            }
        }
    }
}

/// A literal number, also written as a string (`Priority: "10"`).
fn literal_number(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// An ingress rule from a peer App (`Network.AllowFrom`) refers to the peer's security group:
/// it may exist only while the peer does, so it takes the peer's `Condition` too (with the
/// App's own, `Fn::And`). A resource whose condition is false is not created, and a reference
/// to it fails the stack:
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/conditions-section-structure.html
fn peer_conditions(app: &App, apps: &[App], exp: &mut Expansion) {
    for peer in &app.network.allow_from {
        let crate::spec::AllowFrom::App(other) = peer else {
            continue;
        };
        let Some(peer_condition) = apps
            .iter()
            .find(|a| &a.id == other)
            .and_then(|a| a.attributes.condition.clone())
        else {
            continue;
        };
        let condition = match &app.attributes.condition {
            None => peer_condition,
            Some(own) if *own == peer_condition => continue,
            Some(own) => {
                let name = Ids(&app.id).of(&format!("IngressFrom{other}Condition"));
                exp.conditions.push((
                    name.clone(),
                    json!({ "Fn::And": [{ "Condition": own }, { "Condition": peer_condition }] }),
                ));
                json!(name)
            }
        };
        let prefix = Ids(&app.id).of(&format!("IngressFrom{other}"));
        for (id, r) in exp.resources.iter_mut() {
            let rest = id.strip_prefix(&prefix);
            if rest.is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit())) {
                r["Condition"] = condition.clone();
            }
        }
    }
}

/// ECS blue/green, canary and linear deployments on an ALB fail when the listener's rules mix
/// forward with redirect, fixed-response or authenticate actions:
/// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/alb-resources-for-blue-green.html
/// (Limitations). A listener of the template is checked (its default actions and the template's
/// rules on it); for another, a warning.
fn mixed_listener_actions(
    apps: &[App],
    ctx: &TemplateCtx,
    problems: &mut Problems,
) -> Vec<Warning> {
    use crate::spec::Routing;
    let mut warnings = Vec::new();
    let non_forward = |actions: Option<&Value>| -> Vec<String> {
        actions
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|a| a.get("Type").and_then(Value::as_str))
            .filter(|t| *t != "forward")
            .map(String::from)
            .collect()
    };
    for a in apps
        .iter()
        .filter(|a| a.deployment.strategy.shifts_traffic())
    {
        let Some(Routing::SharedRule { listener, .. }) =
            a.load_balancer.as_ref().map(|lb| &lb.routing)
        else {
            continue;
        };
        let listener = listener.json();
        let in_template = ctx.referenced(&listener).filter(|(id, attr)| {
            attr.is_none() && ctx.resource_type(id) == Some("AWS::ElasticLoadBalancingV2::Listener")
        });
        let Some((listener_id, _)) = in_template else {
            warnings.push(Warning::StrategyListenerUnchecked { app: a.id.clone() });
            continue;
        };
        let mut found: Vec<String> = non_forward(ctx.resource_prop(listener_id, "DefaultActions"))
            .into_iter()
            .map(|t| format!("{t} ({listener_id} DefaultActions)"))
            .collect();
        for (id, r) in ctx.resources {
            if r.get("Type").and_then(Value::as_str)
                == Some("AWS::ElasticLoadBalancingV2::ListenerRule")
                && r["Properties"].get("ListenerArn") == Some(&listener)
            {
                found.extend(
                    non_forward(r["Properties"].get("Actions"))
                        .into_iter()
                        .map(|t| format!("{t} ({id})")),
                );
            }
        }
        if !found.is_empty() {
            problems.push(Problem::property(&a.id, "Properties.Deployment.Strategy", format!(
                "{} needs a listener whose every action forwards: ECS blue/green, canary and linear deployments fail on a listener whose rules also redirect, answer a fixed response or authenticate, and {listener_id} has {}; make those rules forward, or give the App a listener of its own (LoadBalancer.ListenerPort)",
                a.deployment.strategy.ecs_name(),
                found.join(", ")
            )));
        }
    }
    warnings
}

/// Parameter values the expansion may use to validate: the given ones (the macro event's
/// `templateParameterValues`, already evaluated by CloudFormation, or `expand --parameters`),
/// else the parameters' `Default`s; as strings, list types as lists. SSM-typed parameters are
/// left out (their given value is the SSM parameter's name, not what it resolves to).
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-macros.html
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html
fn known_parameter_values(root: &Map<String, Value>, settings: &Settings) -> Map<String, Value> {
    let mut out = Map::new();
    let Some(params) = root.get("Parameters").and_then(Value::as_object) else {
        return out;
    };
    for (name, decl) in params {
        let ty = decl.get("Type").and_then(Value::as_str).unwrap_or("String");
        if ty.starts_with("AWS::SSM::Parameter::") {
            continue;
        }
        let Some(v) = settings
            .parameter_values
            .get(name)
            .or_else(|| decl.get("Default"))
        else {
            continue;
        };
        let text = |v: &Value| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        };
        let is_list = ty.starts_with("List<") || ty == "CommaDelimitedList";
        let value = match v {
            Value::Array(items) if is_list => {
                Value::Array(items.iter().filter_map(text).map(Value::String).collect())
            }
            _ if is_list => match text(v) {
                Some(s) => Value::Array(s.split(',').map(|x| json!(x.trim())).collect()),
                None => continue,
            },
            _ => match text(v) {
                Some(s) => Value::String(s),
                None => continue,
            },
        };
        out.insert(name.clone(), value);
    }
    out
}

/// `v` with every `{"Ref": P}` of a known parameter replaced by its value; `used` collects P.
/// The branches of an `Fn::If` are left alone: which one applies depends on a condition.
fn substitute(v: &Value, values: &Map<String, Value>, used: &mut Vec<String>) -> Value {
    match v {
        Value::Object(m) if m.contains_key("Fn::If") => v.clone(),
        Value::Object(m) => {
            if let Some(name) = m
                .get("Ref")
                .and_then(Value::as_str)
                .filter(|_| m.len() == 1)
            {
                if let Some(x) = values.get(name) {
                    if !used.iter().any(|u| u == name) {
                        used.push(name.to_string());
                    }
                    return x.clone();
                }
            }
            Value::Object(
                m.iter()
                    .map(|(k, x)| (k.clone(), substitute(x, values, used)))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| substitute(x, values, used)).collect()),
        other => other.clone(),
    }
}

/// The value at a problem's path (`Properties.A.B[2].C`) in a resource.
fn value_at<'v>(resource: &'v Value, path: &str) -> Option<&'v Value> {
    let mut v = resource;
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, indexes) = part.split_once('[').map_or((part, ""), |(k, i)| (k, i));
        v = v.get(key)?;
        for i in indexes.split('[').filter(|i| !i.is_empty()) {
            v = v.get(i.trim_end_matches(']').parse::<usize>().ok()?)?;
        }
    }
    Some(v)
}

/// Every App read again with the known parameter values in place of their `Ref`s: what the
/// values make wrong is reported as for literals, naming the parameter. The expansion itself
/// keeps the `Ref`s.
fn check_parameter_values(ctx: &TemplateCtx, values: &Map<String, Value>, problems: &mut Problems) {
    if values.is_empty() {
        return;
    }
    for id in ctx.app_ids {
        let original = &ctx.resources[id];
        let mut used = Vec::new();
        let substituted = substitute(original, values, &mut used);
        if used.is_empty() {
            continue;
        }
        let mut scratch = Problems::default();
        read_app(id, &substituted, ctx, &mut scratch);
        scratch.0.retain(|p| !problems.0.contains(p));
        for named in noted(scratch, |_, path, message| {
            let named = value_at(original, path)
                .and_then(|v| v.get("Ref"))
                .and_then(Value::as_str)
                .filter(|n| used.iter().any(|u| u == n));
            match named {
                Some(n) => format!("{message} (the value of parameter {n})"),
                None => format!(
                    "{message} (with the values of parameters {})",
                    used.join(", ")
                ),
            }
        }) {
            if !problems.0.contains(&named) {
                problems.push(named);
            }
        }
    }
}

/// Each property problem of `found` with the message `note(logical ID, path, message)` gives;
/// the others as they are.
fn noted(found: Problems, note: impl Fn(&str, &str, &str) -> String) -> Vec<Problem> {
    found
        .0
        .into_iter()
        .map(|p| match p {
            Problem::Property {
                logical_id,
                path,
                message,
            } => Problem::Property {
                message: note(&logical_id, &path, &message),
                logical_id,
                path,
            },
            other => other,
        })
        .collect()
}

/// Every check of what AWS keeps unique across the Apps of a template: listener ports per load
/// balancer and rule priorities per listener, resource names, Cloud Map and Service Connect
/// names, `Domain` records; and rules one hides behind another.
fn unique_across_apps(
    apps: &[App],
    resources: &Map<String, Value>,
    conds: Option<&Map<String, Value>>,
    problems: &mut Problems,
) {
    claimed_twice(apps, resources, conds, problems);
    discovery_names_twice(apps, conds, problems);
    crate::spec::service_connect_names_twice(apps, conds, problems);
    crate::spec::domain_names_twice(apps, conds, problems);
    names_twice(apps, conds, problems);
    shadowed_rules(apps, conds, problems);
}

/// [`unique_across_apps`] again over the template with the known parameter values (given at
/// deploy in the macro event's `templateParameterValues`, or with `expand --parameters`, else
/// the parameters' Defaults) in place of their `Ref`s: two priorities or ports from two
/// parameters with one value collide on AWS as literals do (CreateRule: PriorityInUse,
/// CreateListener: DuplicateListener). Each problem names the parameters and their values.
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-macros.html
/// https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateRule.html
fn unique_with_parameter_values(
    ctx: &TemplateCtx,
    values: &Map<String, Value>,
    conds: Option<&Map<String, Value>>,
    problems: &mut Problems,
) {
    if values.is_empty() {
        return;
    }
    let mut used = Vec::new();
    let Value::Object(resources) =
        substitute(&Value::Object(ctx.resources.clone()), values, &mut used)
    else {
        return;
    };
    if used.is_empty() {
        return;
    }
    let resolved = TemplateCtx {
        resources: &resources,
        ..*ctx
    };
    // What the values make wrong in one App is check_parameter_values's to report.
    let mut scratch = Problems::default();
    let apps: Vec<App> = ctx
        .app_ids
        .iter()
        .filter_map(|id| read_app(id, &resources[id.as_str()], &resolved, &mut scratch))
        .collect();
    if apps.len() != ctx.app_ids.len() {
        return;
    }
    let mut found = Problems::default();
    unique_across_apps(&apps, &resources, conds, &mut found);
    // The parameters a resource of the template names at the problem's path, else anywhere.
    let named_by = |id: &str, path: &str| -> Vec<String> {
        let mut names = Vec::new();
        if let Some(r) = ctx.resources.get(id) {
            substitute(
                value_at(r, path).unwrap_or(&Value::Null),
                values,
                &mut names,
            );
        }
        names
    };
    problems.0.extend(noted(found, |logical_id, path, message| {
        // The App's own parameters, and those of the other App or resource the message names.
        let mut names = named_by(logical_id, path);
        for other in ctx.resources.keys().filter(|k| *k != logical_id) {
            if message.contains(&format!("{other}'s")) || message.contains(&format!("{other} ")) {
                for n in named_by(other, path) {
                    if !names.contains(&n) {
                        names.push(n);
                    }
                }
            }
        }
        if names.is_empty() {
            names = used.clone();
        }
        let shown: Vec<String> = names
            .iter()
            .map(|n| format!("{n} = {}", show_value(&values[n.as_str()])))
            .collect();
        format!(
            "{message} (with the values of parameters {}, given or their Defaults)",
            shown.join(", ")
        )
    }));
}

/// A parameter's value as a problem shows it.
fn show_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(show_value).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// What the expansion made under a condition no parameter values make true is never created
/// (a resource is created only when its condition is true): such resources are left out, with
/// the `DependsOn` entries naming them, and so are the `Fn::If` branches of a generated
/// resource that its own condition never lets be taken (two Apps under conditions that exclude
/// each other get no peer rules or ordering tags for each other); then the conditions the
/// macro added (`added`) that nothing names any more. The template's own resources stay as
/// written.
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/conditions-section-structure.html
fn drop_never_true(
    out_root: &mut Map<String, Value>,
    resources: &mut Map<String, Value>,
    source: &Map<String, Value>,
    app_ids: &[String],
    added: &[String],
) {
    use crate::spec::coexist::may_coexist;
    let Some(conds) = out_root
        .get("Conditions")
        .and_then(Value::as_object)
        .cloned()
    else {
        return;
    };
    let generated = |id: &str| !source.contains_key(id) || app_ids.iter().any(|a| a == id);
    let dropped: Vec<String> = resources
        .iter()
        .filter(|(id, r)| {
            generated(id)
                && r.get("Condition")
                    .is_some_and(|c| !may_coexist(Some(&conds), Some(c), None))
        })
        .map(|(id, _)| id.clone())
        .collect();
    for id in &dropped {
        resources.remove(id);
    }
    for (id, r) in resources.iter_mut() {
        let Value::Object(m) = r else { continue };
        match m.get_mut("DependsOn") {
            Some(Value::Array(a)) => {
                a.retain(|d| !d.as_str().is_some_and(|d| dropped.iter().any(|x| x == d)));
                if a.is_empty() {
                    m.remove("DependsOn");
                }
            }
            Some(Value::String(d)) if dropped.contains(d) => {
                m.remove("DependsOn");
            }
            _ => {}
        }
        if generated(id) {
            let own = m.get("Condition").cloned();
            if let Some(props) = m.get_mut("Properties") {
                let pruned = prune_ifs(props, &conds, own.as_ref());
                *props = pruned.unwrap_or(Value::Object(Map::new()));
            }
        }
    }
    // Conditions may name each other: drop until nothing more goes.
    loop {
        let Some(Value::Object(c)) = out_root.get("Conditions") else {
            return;
        };
        let text =
            serde_json::to_string(&(&*resources, out_root.get("Outputs"), c)).unwrap_or_default();
        // Named once: by its own key in Conditions only.
        let unused: Vec<String> = added
            .iter()
            .filter(|k| c.contains_key(k.as_str()))
            .filter(|k| text.matches(&format!("\"{k}\"")).count() <= 1)
            .cloned()
            .collect();
        if unused.is_empty() {
            return;
        }
        if let Some(Value::Object(c)) = out_root.get_mut("Conditions") {
            for k in &unused {
                c.remove(k);
            }
        }
    }
}

/// `v` with each `Fn::If` whose condition cannot hold together with `own` (the resource's
/// condition) replaced by its false branch; `None` when that branch is `AWS::NoValue` (the
/// property or list item is left out).
fn prune_ifs(v: &Value, conds: &Map<String, Value>, own: Option<&Value>) -> Option<Value> {
    use crate::spec::coexist::may_coexist;
    match v {
        Value::Object(m) => {
            if let Some(Value::Array(a)) = m.get("Fn::If").filter(|_| m.len() == 1) {
                if let [c, _, otherwise] = a.as_slice() {
                    if !may_coexist(Some(conds), own, Some(c)) {
                        let no_value =
                            otherwise.get("Ref").and_then(Value::as_str) == Some("AWS::NoValue");
                        return if no_value {
                            None
                        } else {
                            prune_ifs(otherwise, conds, own)
                        };
                    }
                }
            }
            Some(Value::Object(
                m.iter()
                    .filter_map(|(k, x)| Some((k.clone(), prune_ifs(x, conds, own)?)))
                    .collect(),
            ))
        }
        Value::Array(a) => Some(Value::Array(
            a.iter().filter_map(|x| prune_ifs(x, conds, own)).collect(),
        )),
        other => Some(other.clone()),
    }
}

/// A `NoEcho` parameter's value never appears in a problem: it is replaced by `****`.
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html
fn redact_no_echo(root: &Map<String, Value>, values: &Map<String, Value>, problems: &mut Problems) {
    let Some(params) = root.get("Parameters").and_then(Value::as_object) else {
        return;
    };
    let mut secrets: Vec<&str> = Vec::new();
    for (name, decl) in params {
        let no_echo = matches!(decl.get("NoEcho"), Some(Value::Bool(true)))
            || decl.get("NoEcho").and_then(Value::as_str) == Some("true");
        if !no_echo {
            continue;
        }
        match values.get(name) {
            Some(Value::String(s)) => secrets.push(s),
            Some(Value::Array(a)) => secrets.extend(a.iter().filter_map(Value::as_str)),
            _ => {}
        }
    }
    secrets.retain(|s| !s.is_empty());
    // Longest first, so a value inside another is not left half shown.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for p in problems.0.iter_mut() {
        let (Problem::Property { message, .. } | Problem::Template { message, .. }) = p;
        for s in &secrets {
            if message.contains(s) {
                *message = message.replace(s, "****");
            }
        }
    }
}
