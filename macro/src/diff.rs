//! What deploying a new version of a template will do: both versions are expanded with the
//! macro's own expansion, then compared resource by resource. A modified resource is replaced
//! when a changed property is create-only in its type's CloudFormation resource schema
//! (`create_only.rs`), when it references a replaced resource through such a property, or when
//! its logical ID changed (a renamed App or generated ID: CloudFormation creates the new ID and
//! deletes the old one).

use crate::create_only::CREATE_ONLY;
use crate::error::Problems;
use crate::gen::Settings;
use crate::spec::APP_TYPE;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt::Write;

/// What happens to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Add,
    Remove,
    /// Updated in place (same physical resource).
    Modify,
    /// A new physical resource replaces the old one.
    Replace,
    /// `AWS::ECS::TaskDefinition`: every change registers a new revision (a replacement in
    /// CloudFormation's terms), which is how a service deploys; not counted as a replacement.
    NewRevision,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PropertyChange {
    /// `Properties.Port`, `Properties.ContainerDefinitions[0].Image`, `DependsOn`.
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<Value>,
    /// True when this change alone makes CloudFormation replace the resource.
    pub replacement: bool,
    /// Why the value changes when the text does not: `UsersTargetGroup is replaced`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub because: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResourceChange {
    pub logical_id: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    pub action: Action,
    /// The logical ID this resource takes over (App or generated ID renamed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<String>,
    /// False for types whose create-only properties are not in the table (the user's own
    /// resources of other types): a change to them may or may not replace them.
    pub replacement_known: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<PropertyChange>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    pub added: usize,
    pub removed: usize,
    pub modified: usize,
    pub replaced: usize,
    pub new_revisions: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diff {
    /// Apps renamed between the versions, `(old, new)`.
    pub renamed_apps: Vec<(String, String)>,
    pub resources: Vec<ResourceChange>,
    pub summary: Summary,
}

/// Which version of the template failed to expand.
#[derive(Debug)]
pub enum Side {
    Old,
    New,
}

impl Diff {
    /// 0 no change, 1 changes, 2 at least one replacement (a CI guard).
    pub fn exit_code(&self) -> u8 {
        if self.summary.replaced > 0 {
            2
        } else if self.resources.is_empty() {
            0
        } else {
            1
        }
    }

    /// The human-readable report.
    pub fn render(&self) -> String {
        let mut s = String::new();
        for (old, new) in &self.renamed_apps {
            let _ = writeln!(
                s,
                "App {old} renamed to {new}: every resource it generates is replaced"
            );
        }
        for r in &self.resources {
            let (mark, word) = match r.action {
                Action::Add => ('+', "add"),
                Action::Remove => ('-', "remove"),
                Action::Modify => ('~', "modify in place"),
                Action::Replace => ('!', "REPLACE"),
                Action::NewRevision => ('~', "new revision"),
            };
            let _ = write!(s, "{mark} {} ({}) {word}", r.logical_id, r.resource_type);
            if let Some(from) = &r.renamed_from {
                let _ = write!(s, ": logical ID renamed from {from}");
            }
            if r.action == Action::Modify && !r.replacement_known {
                let _ = write!(s, " (replacement not known for this type)");
            }
            s.push('\n');
            for c in &r.changes {
                match &c.because {
                    Some(b) => {
                        let _ = write!(s, "    {}: {} changes value ({b})", c.path, show(&c.new));
                    }
                    None => {
                        let _ = write!(s, "    {}: {} -> {}", c.path, show(&c.old), show(&c.new));
                    }
                }
                if c.replacement {
                    s.push_str(" [replacement]");
                }
                s.push('\n');
            }
        }
        let m = &self.summary;
        let _ = writeln!(
            s,
            "Summary: {} to add, {} to remove, {} to modify in place, {} new task definition revision(s), {} to replace",
            m.added, m.removed, m.modified, m.new_revisions, m.replaced
        );
        s
    }
}

fn show(v: &Option<Value>) -> String {
    match v {
        None => "(absent)".into(),
        Some(v) => serde_json::to_string(v).unwrap_or_default(),
    }
}

/// Expands both versions and compares them.
pub fn diff_templates(
    old: &Value,
    new: &Value,
    settings: &Settings,
) -> Result<Diff, (Side, Problems)> {
    let old_x = crate::expand(old, settings).map_err(|p| (Side::Old, p))?;
    let new_x = crate::expand(new, settings).map_err(|p| (Side::New, p))?;
    Ok(compare(old, &old_x, new, &new_x))
}

fn resources(t: &Value) -> Map<String, Value> {
    t.get("Resources")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

fn app_ids(source: &Value) -> Vec<String> {
    resources(source)
        .into_iter()
        .filter(|(_, r)| r.get("Type").and_then(Value::as_str) == Some(APP_TYPE))
        .map(|(id, _)| id)
        .collect()
}

fn type_of(r: &Value) -> String {
    r.get("Type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// The App a generated logical ID belongs to: the longest App ID it starts with.
fn owner<'a>(id: &str, apps: &'a [String]) -> Option<&'a str> {
    apps.iter()
        .filter(|a| id.starts_with(a.as_str()))
        .max_by_key(|a| a.len())
        .map(String::as_str)
}

/// Pairs each App that disappeared with the App that took its place: with one of each, those
/// two; otherwise Apps with the same properties but for their name.
fn renamed_apps(old: &Value, new: &Value) -> Vec<(String, String)> {
    let (old_apps, new_apps) = (app_ids(old), app_ids(new));
    let gone: Vec<&String> = old_apps.iter().filter(|a| !new_apps.contains(a)).collect();
    let came: Vec<&String> = new_apps.iter().filter(|a| !old_apps.contains(a)).collect();
    if gone.len() == 1 && came.len() == 1 {
        return vec![(gone[0].clone(), came[0].clone())];
    }
    let (old_r, new_r) = (resources(old), resources(new));
    let mut taken = HashSet::new();
    let mut pairs = Vec::new();
    for g in gone {
        if let Some(c) = came.iter().find(|c| {
            !taken.contains(*c) && old_r[g].get("Properties") == new_r[**c].get("Properties")
        }) {
            taken.insert(*c);
            pairs.push((g.clone(), (*c).clone()));
        }
    }
    pairs
}

/// Compares two expanded templates; `old`/`new` are their sources (to know the Apps).
pub fn compare(old: &Value, old_x: &Value, new: &Value, new_x: &Value) -> Diff {
    let (old_r, new_r) = (resources(old_x), resources(new_x));
    let renamed = renamed_apps(old, new);
    let new_apps = app_ids(new);
    let old_apps = app_ids(old);

    // Logical IDs that changed: a renamed App's resources (same suffix and type), and within an
    // App present in both versions, the one removed and the one added resource of a type.
    let mut renamed_from: HashMap<String, String> = HashMap::new();
    let removed: Vec<&String> = old_r.keys().filter(|id| !new_r.contains_key(*id)).collect();
    let added: Vec<&String> = new_r.keys().filter(|id| !old_r.contains_key(*id)).collect();
    for (o, n) in &renamed {
        for id in &removed {
            if owner(id, &old_apps) != Some(o.as_str()) {
                continue;
            }
            let candidate = format!("{n}{}", &id[o.len()..]);
            if added.contains(&&candidate) && type_of(&old_r[*id]) == type_of(&new_r[&candidate]) {
                renamed_from.insert(candidate, (*id).clone());
            }
        }
    }
    for app in new_apps.iter().filter(|a| old_apps.contains(a)) {
        let mine = |ids: &[&String], apps: &[String]| -> Vec<String> {
            ids.iter()
                .filter(|id| owner(id, apps) == Some(app.as_str()))
                .map(|id| (*id).clone())
                .collect()
        };
        let (gone, came) = (mine(&removed, &old_apps), mine(&added, &new_apps));
        let types: BTreeSet<String> = came.iter().map(|id| type_of(&new_r[id])).collect();
        for t in types {
            let g: Vec<&String> = gone.iter().filter(|id| type_of(&old_r[*id]) == t).collect();
            let c: Vec<&String> = came.iter().filter(|id| type_of(&new_r[*id]) == t).collect();
            if g.len() == 1 && c.len() == 1 {
                renamed_from.insert(c[0].clone(), g[0].clone());
            }
        }
    }
    let renamed_old: HashSet<&String> = renamed_from.values().collect();

    // Direct changes of the resources present in both.
    let mut out: Vec<ResourceChange> = Vec::new();
    for (id, n) in &new_r {
        let t = type_of(n);
        let known = create_only(&t).is_some();
        if let Some(from) = renamed_from.get(id) {
            out.push(ResourceChange {
                logical_id: id.clone(),
                resource_type: t,
                action: Action::Replace,
                renamed_from: Some(from.clone()),
                replacement_known: true,
                changes: Vec::new(),
            });
            continue;
        }
        let Some(o) = old_r.get(id) else {
            out.push(ResourceChange {
                logical_id: id.clone(),
                resource_type: t,
                action: Action::Add,
                renamed_from: None,
                replacement_known: known,
                changes: Vec::new(),
            });
            continue;
        };
        let mut changes = Vec::new();
        compare_resource(o, n, &mut changes);
        if changes.is_empty() {
            continue;
        }
        let type_changed = type_of(o) != t;
        for c in &mut changes {
            c.replacement = type_changed || is_create_only(&t, &c.path);
        }
        out.push(ResourceChange {
            logical_id: id.clone(),
            resource_type: t,
            action: Action::Modify,
            renamed_from: None,
            replacement_known: known,
            changes,
        });
    }
    for (id, o) in &old_r {
        if !new_r.contains_key(id) && !renamed_old.contains(id) {
            out.push(ResourceChange {
                logical_id: id.clone(),
                resource_type: type_of(o),
                action: Action::Remove,
                renamed_from: None,
                replacement_known: create_only(&type_of(o)).is_some(),
                changes: Vec::new(),
            });
        }
    }

    // A replaced resource has a new physical ID and ARN: every reference to it changes value,
    // which in turn replaces the referencing resource when it is referenced through a
    // create-only property. Repeat until nothing more is replaced.
    loop {
        for r in &mut out {
            if r.action == Action::Modify && r.changes.iter().any(|c| c.replacement) {
                r.action = if r.resource_type == "AWS::ECS::TaskDefinition" {
                    Action::NewRevision
                } else {
                    Action::Replace
                };
            }
        }
        let replaced: HashSet<String> = out
            .iter()
            .filter(|r| {
                matches!(r.action, Action::Replace | Action::NewRevision)
                    && r.renamed_from.is_none()
            })
            .map(|r| r.logical_id.clone())
            .collect();
        let mut grew = false;
        for (id, n) in &new_r {
            if !old_r.contains_key(id) {
                continue;
            }
            let mut refs = Vec::new();
            if let Some(p) = n.get("Properties") {
                references(p, "Properties".into(), &mut refs);
            }
            for (path, value, target) in refs {
                if !replaced.contains(&target) || target == *id {
                    continue;
                }
                let pos = match out.iter().position(|r| r.logical_id == *id) {
                    Some(i) => i,
                    None => {
                        out.push(ResourceChange {
                            logical_id: id.clone(),
                            resource_type: type_of(n),
                            action: Action::Modify,
                            renamed_from: None,
                            replacement_known: create_only(&type_of(n)).is_some(),
                            changes: Vec::new(),
                        });
                        out.len() - 1
                    }
                };
                let r = &mut out[pos];
                if r.changes.iter().any(|c| path.starts_with(&c.path)) {
                    continue;
                }
                let replacement = is_create_only(&r.resource_type, &path);
                r.changes.push(PropertyChange {
                    path,
                    old: Some(value.clone()),
                    new: Some(value),
                    replacement,
                    because: Some(format!("{target} is replaced")),
                });
                grew = true;
            }
        }
        if !grew {
            break;
        }
    }

    // Present the resources in the new template's order, then the removed ones.
    let order: HashMap<&String, usize> = new_r
        .keys()
        .chain(old_r.keys().filter(|k| !new_r.contains_key(*k)))
        .enumerate()
        .map(|(i, k)| (k, i))
        .collect();
    out.sort_by_key(|r| order.get(&r.logical_id).copied().unwrap_or(usize::MAX));
    let mut summary = Summary::default();
    for r in &out {
        match r.action {
            Action::Add => summary.added += 1,
            Action::Remove => summary.removed += 1,
            Action::Modify => summary.modified += 1,
            Action::Replace => summary.replaced += 1,
            Action::NewRevision => summary.new_revisions += 1,
        }
    }
    Diff {
        renamed_apps: renamed,
        resources: out,
        summary,
    }
}

/// The create-only property paths of a type, when the table has it.
pub fn create_only(resource_type: &str) -> Option<&'static [&'static str]> {
    if let Some(c) = custom_create_only(resource_type) {
        return Some(c);
    }
    CREATE_ONLY
        .iter()
        .find(|(t, _)| *t == resource_type)
        .map(|(_, p)| *p)
}

/// The provider's custom resources answer an Update with a new physical ID (CloudFormation then
/// deletes the old one) exactly when these properties change: a listener port claim moves to
/// another ALB or range, a rule to another listener or priority range (provider/src/listener_port.rs,
/// listener_rule.rs). Failover and the load-test gate keep their physical ID.
fn custom_create_only(resource_type: &str) -> Option<&'static [&'static str]> {
    match resource_type {
        "Custom::FargateListenerPort" => Some(&["LoadBalancerArn", "PortRange"]),
        "Custom::FargateListenerRule" => Some(&["ListenerArn", "PriorityRange"]),
        "Custom::FargateWeightedFailover" | "Custom::FargateLoadTestGate" => Some(&[]),
        _ => None,
    }
}

/// Whether a change at `path` (`Properties.A[0].B`) touches a create-only property: one is a
/// prefix of the other (a changed list or object may contain the create-only part).
fn is_create_only(resource_type: &str, path: &str) -> bool {
    let Some(rest) = path.strip_prefix("Properties") else {
        return false;
    };
    let changed = segments(rest);
    if changed.is_empty() {
        return create_only(resource_type).is_some_and(|c| !c.is_empty());
    }
    create_only(resource_type)
        .unwrap_or_default()
        .iter()
        .any(|p| {
            let pattern: Vec<&str> = p.split('/').collect();
            pattern
                .iter()
                .zip(&changed)
                .all(|(a, b)| *a == "*" || a == b)
        })
}

/// `.A[0].B` → `["A", "0", "B"]`.
fn segments(path: &str) -> Vec<String> {
    path.split(['.', '['])
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches(']').to_string())
        .collect()
}

fn compare_resource(o: &Value, n: &Value, out: &mut Vec<PropertyChange>) {
    let empty = Map::new();
    let (oo, nn) = (
        o.as_object().unwrap_or(&empty),
        n.as_object().unwrap_or(&empty),
    );
    let keys: Vec<&String> = nn
        .keys()
        .chain(oo.keys().filter(|k| !nn.contains_key(*k)))
        .collect();
    for k in keys {
        compare_value(oo.get(k), nn.get(k), k.clone(), out);
    }
}

fn compare_value(
    o: Option<&Value>,
    n: Option<&Value>,
    path: String,
    out: &mut Vec<PropertyChange>,
) {
    if o == n {
        return;
    }
    match (o, n) {
        (Some(Value::Object(a)), Some(Value::Object(b)))
            if !is_intrinsic(a) && !is_intrinsic(b) =>
        {
            let keys: Vec<&String> = b
                .keys()
                .chain(a.keys().filter(|k| !b.contains_key(*k)))
                .collect();
            for k in keys {
                compare_value(a.get(k), b.get(k), format!("{path}.{k}"), out);
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                compare_value(Some(x), Some(y), format!("{path}[{i}]"), out);
            }
        }
        _ => out.push(PropertyChange {
            path,
            old: o.cloned(),
            new: n.cloned(),
            replacement: false,
            because: None,
        }),
    }
}

fn is_intrinsic(m: &Map<String, Value>) -> bool {
    m.len() == 1
        && m.keys()
            .all(|k| k == "Ref" || k == "Condition" || k.starts_with("Fn::"))
}

/// Every reference to a resource inside a value: `(path, the intrinsic, logical ID)`.
fn references(v: &Value, path: String, out: &mut Vec<(String, Value, String)>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(id)) = m.get("Ref").filter(|_| m.len() == 1) {
                out.push((path, v.clone(), id.clone()));
                return;
            }
            if let Some(g) = m.get("Fn::GetAtt").filter(|_| m.len() == 1) {
                let id = match g {
                    Value::Array(a) => a.first().and_then(Value::as_str).map(str::to_string),
                    Value::String(s) => s.split('.').next().map(str::to_string),
                    _ => None,
                };
                if let Some(id) = id {
                    out.push((path, v.clone(), id));
                    return;
                }
            }
            if let Some(s) = m.get("Fn::Sub").filter(|_| m.len() == 1) {
                let (text, vars) = match s {
                    Value::String(t) => (t.as_str(), None),
                    Value::Array(a) => (a.first().and_then(Value::as_str).unwrap_or(""), a.get(1)),
                    _ => ("", None),
                };
                let local: HashSet<&str> = vars
                    .and_then(Value::as_object)
                    .map(|m| m.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                for id in sub_names(text) {
                    if !local.contains(id.as_str()) {
                        out.push((path.clone(), v.clone(), id));
                    }
                }
                if let Some(vars) = vars {
                    references(vars, path, out);
                }
                return;
            }
            if is_intrinsic(m) {
                // Fn::If, Fn::Join, ...: the reference changes the value of the whole function.
                let mut inner = Vec::new();
                for x in m.values() {
                    references(x, String::new(), &mut inner);
                }
                out.extend(
                    inner
                        .into_iter()
                        .map(|(_, _, id)| (path.clone(), v.clone(), id)),
                );
                return;
            }
            for (k, x) in m {
                references(x, format!("{path}.{k}"), out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                references(x, format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// Logical IDs named by `${Id}` or `${Id.Attr}` in a `Fn::Sub` string (`${!x}` is literal).
fn sub_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        rest = &rest[i + 2..];
        let Some(end) = rest.find('}') else { break };
        let name = &rest[..end];
        if !name.starts_with('!') && !name.starts_with("AWS::") {
            names.push(name.split('.').next().unwrap_or(name).to_string());
        }
        rest = &rest[end + 1..];
    }
    names
}
