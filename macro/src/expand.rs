//! The whole-template expansion: read every App, generate, rewrite references, check limits.
//! It returns a complete template or every problem found, never something in between.

use crate::error::{Problem, Problems};
use crate::gen::{self, Expansion, Settings, Shared, SHARED_CLUSTER_ID};
use crate::refs::{Owner, Path, Rewriter, Target};
use crate::spec::{read_app, App, APP_TYPE};
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet};

/// The name the macro is installed under; removed from the template's `Transform`.
pub const MACRO_NAME: &str = "FargateApp";
/// CloudFormation's limit of resources in one stack.
pub const MAX_RESOURCES: usize = 500;

/// Expands every `Fargate::App` of a template.
pub fn expand(template: &Value, settings: &Settings) -> Result<Value, Problems> {
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
    remove_macro_from_transform(&mut out_root);
    if app_ids.is_empty() {
        return Ok(Value::Object(out_root));
    }

    // 1. Read every App; stop here if any is invalid.
    let apps: Vec<App> = app_ids
        .iter()
        .filter_map(|id| read_app(id, &resources[id], &app_ids, &mut problems))
        .collect();
    if !problems.is_empty() {
        return Err(problems);
    }

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
    let mut shared = Shared::default();
    let mut expansions: HashMap<&str, Expansion> = HashMap::new();
    for app in &apps {
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
            read_app(&app.id, &raw, &app_ids, &mut scratch).filter(|_| scratch.is_empty())
        });
        let spec = rewritten.flatten();
        let exp = gen::expand_app(spec.as_ref().unwrap_or(app), settings, &mut shared);
        if let Some(lt) = &app.load_test {
            if lt.url.is_none() && exp.routing.url.is_none() {
                rw.problems.push(Problem::property(&app.id, "Properties.LoadTest.Url", "required here: the app's URL is not known at expansion time (set LoadBalancer.DnsName, or a literal Host)"));
            }
        }
        expansions.insert(&app.id, exp);
    }
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
    let existing: HashSet<&str> = resources
        .keys()
        .filter(|k| !targets.contains_key(*k))
        .map(String::as_str)
        .collect();
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut new_resources = Map::new();
    let needs_cluster = apps.iter().any(|a| a.cluster.is_none());
    let mut namespaces_left = shared.namespaces.clone();
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
            shared_now.push((SHARED_CLUSTER_ID.to_string(), shared_cluster(&apps)));
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
                    shared_now.push((i, json!({ "Type": "AWS::ServiceDiscovery::PrivateDnsNamespace", "Properties": { "Name": n, "Vpc": vpc, "Description": "Created by the FargateApp macro for Discovery.NamespaceName" } })));
                }
            }
        }
        for (gid, mut r) in shared_now.into_iter().chain(exp.resources.iter().cloned()) {
            if rw.depends_on(&mut r) {
                gen::prune_implied_dependencies(&mut r);
            }
            if existing.contains(gid.as_str()) {
                rw.problems.push(Problem::property(id, "", format!("generates '{gid}', which is already a resource of the template; rename one of them")));
            } else if let Some(other) = seen.get(&gid) {
                if other != id && !gid.starts_with("FargateApp") {
                    rw.problems.push(Problem::property(id, "", format!("generates '{gid}', which {other} generates too; rename one of the Apps")));
                }
            }
            if targets.contains_key(&gid) {
                rw.problems.push(Problem::property(id, "", format!("generates '{gid}', which is the logical ID of another Fargate::App; rename one of them")));
            }
            seen.entry(gid.clone()).or_insert_with(|| id.clone());
            new_resources.entry(gid).or_insert(r);
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
    if !problems.is_empty() {
        return Err(problems);
    }
    out_root.insert("Resources".into(), Value::Object(new_resources));
    Ok(Value::Object(out_root))
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
        Some(Value::String(s)) if s == MACRO_NAME => {
            root.shift_remove("Transform");
        }
        Some(Value::Array(a)) => {
            a.retain(|t| t.as_str() != Some(MACRO_NAME));
            if a.is_empty() {
                root.shift_remove("Transform");
            }
        }
        _ => {}
    }
}
