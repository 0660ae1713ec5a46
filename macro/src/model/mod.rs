//! A model of what AWS does with an *expanded* template: the traffic paths of each App (which
//! listener, which rule by ELBv2's rule evaluation, which target group, which TLS name), who can
//! reach whom by security-group semantics, and a list of findings, each naming the App, the
//! resources, the AWS rule and the page that defines it.
//!
//! The model reads only the expansion, as AWS would: it never calls the generators or the spec
//! (`crate::gen`, `crate::spec`), so a defect there cannot hide itself here. Values that are
//! parameters or other deploy-time intrinsics stay symbolic: a rule that needs one is skipped or
//! reports only what is certain.
//!
//! Conditions: the template is evaluated once per assignment of its free conditions that
//! matters (all of them up to 4 free conditions, else all-true, all-false and each one flipped),
//! with `Fn::If` resolved and absent resources dropped, as CloudFormation does.
//! https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/conditions-section-structure.html

pub mod cloudmap;
pub mod ecs;
pub mod elbv2;
pub mod events;
pub mod health;
pub mod iam;
pub mod metrics;
pub mod names;
pub mod notify;
pub mod post_create;
pub mod route53;
pub mod scaling_check;
pub mod service_connect;
pub mod task_definition;
pub mod vpc;

use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// How bad a finding is: an error means AWS refuses the stack or the App cannot work as
/// written; a warning means it deploys but something is open or fragile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Severity {
    Error,
    Warning,
}

/// One AWS rule the model checks: a stable code, the rule in a sentence, and its page.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Rule {
    pub code: &'static str,
    pub severity: Severity,
    pub rule: &'static str,
    pub doc: &'static str,
}

/// A rule that failed for an App under one assignment of the template's conditions.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Finding {
    pub code: &'static str,
    pub severity: Severity,
    pub app: String,
    pub resources: Vec<String>,
    pub message: String,
    pub rule: &'static str,
    pub doc: &'static str,
    /// The conditions' assignment it was found under (empty without conditions).
    pub conditions: String,
}

impl Finding {
    pub fn new(rule: &Rule, app: &str, resources: &[&str], message: String) -> Self {
        Finding {
            code: rule.code,
            severity: rule.severity,
            app: app.to_string(),
            resources: resources.iter().map(|s| s.to_string()).collect(),
            message,
            rule: rule.rule,
            doc: rule.doc,
            conditions: String::new(),
        }
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{sev} {} [{}] {}: {} (AWS: {} {})",
            self.code,
            self.app,
            self.resources.join(", "),
            self.message,
            self.rule,
            self.doc
        )?;
        if !self.conditions.is_empty() {
            write!(f, " when {}", self.conditions)?;
        }
        Ok(())
    }
}

/// Every rule of the model, for `docs/model.md` and `explain --rules`.
pub fn all_rules() -> Vec<&'static Rule> {
    let mut v = vec![&REF_TO_ABSENT, &CONDITION_NEVER_TRUE];
    v.extend(elbv2::RULES);
    v.extend(vpc::RULES);
    v.extend(ecs::RULES);
    v.extend(metrics::RULES);
    v.extend(iam::RULES);
    v.extend(cloudmap::RULES);
    v.extend(events::RULES);
    v.extend(service_connect::RULES);
    v.extend(health::RULES);
    v.extend(names::RULES);
    v.extend(route53::RULES);
    v.extend(task_definition::RULES);
    v.extend(notify::RULES);
    v.extend(post_create::RULES);
    v.extend(scaling_check::RULES);
    v
}

/// A resource that names another that its condition may leave out fails validation
/// ("Unresolved resource dependencies").
pub const REF_TO_ABSENT: Rule = Rule {
    code: "CFN_REF_TO_ABSENT",
    severity: Severity::Error,
    rule: "a resource may reference a conditional resource only under the same condition",
    doc: "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/conditions-section-structure.html",
};

/// A resource is created only when its condition is true: one whose condition no parameter
/// values make true is never created (cfn-lint reports it, E3001), and is dead weight in the
/// template.
pub const CONDITION_NEVER_TRUE: Rule = Rule {
    code: "CFN_CONDITION_NEVER_TRUE",
    severity: Severity::Warning,
    rule: "a resource is created only when its condition is true: a resource under a condition no parameter values make true is never created (checked when every assignment of the conditions is tried)",
    doc: "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/conditions-section-structure.html",
};

/// One assignment of the template's conditions, with the template as CloudFormation would
/// create it: absent resources dropped, `Fn::If` resolved, `AWS::NoValue` removed.
pub struct Stack {
    pub resources: BTreeMap<String, Value>,
    /// The Apps of the stack (see [`apps`]).
    pub apps: Vec<App>,
    pub parameters: BTreeSet<String>,
    /// The parameters' `Default`s: the values a stack gets when none is given
    /// (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html).
    pub defaults: BTreeMap<String, Value>,
    pub conditions: String,
}

impl Stack {
    pub fn get(&self, id: &str) -> Option<&Value> {
        self.resources.get(id)
    }

    pub fn props(&self, id: &str) -> &Value {
        self.get(id)
            .and_then(|r| r.get("Properties"))
            .unwrap_or(&Value::Null)
    }

    /// A literal number, or the `Default` of the parameter a `Ref` names: what the stack gets
    /// when no value is given. `(number, the parameter)`.
    pub fn number_or_default(&self, v: &Value) -> Option<(f64, Option<String>)> {
        if let Some(n) = lit_num(v) {
            return Some((n, None));
        }
        let p = single(v, "Ref")?.as_str()?;
        Some((lit_num(self.defaults.get(p)?)?, Some(p.to_string())))
    }

    pub fn type_of(&self, id: &str) -> Option<&str> {
        self.get(id)?.get("Type")?.as_str()
    }

    pub fn of_type<'a>(&'a self, ty: &'a str) -> impl Iterator<Item = (&'a str, &'a Value)> + 'a {
        self.resources
            .iter()
            .filter(move |(_, r)| r.get("Type").and_then(Value::as_str) == Some(ty))
            .map(|(id, r)| (id.as_str(), r.get("Properties").unwrap_or(&Value::Null)))
    }
}

/// An App of the expansion: the ECS service `<App>Service` running `<App>TaskDefinition`; its
/// resources are the logical IDs that start with its name (the longest App name wins).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct App {
    pub name: String,
    pub service: String,
}

pub fn apps(st: &Stack) -> Vec<App> {
    st.of_type("AWS::ECS::Service")
        .filter_map(|(id, p)| {
            let name = id.strip_suffix("Service")?;
            let td = &p["TaskDefinition"];
            // Its own `<App>TaskDefinition`, or a revision from outside the stack (`family:revision`,
            // an ARN, a parameter, an import): CreateService takes either.
            // https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html
            let own = target(td) == Some(&format!("{name}TaskDefinition"));
            let given = !td.is_null() && target(td).is_none_or(|t| st.parameters.contains(t));
            (own || given).then(|| App {
                name: name.to_string(),
                service: id.to_string(),
            })
        })
        .collect()
}

/// The App a logical ID belongs to, by prefix.
pub fn owner<'a>(apps: &'a [App], id: &str) -> Option<&'a App> {
    apps.iter()
        .filter(|a| id.starts_with(&a.name))
        .max_by_key(|a| a.name.len())
}

// ---------------------------------------------------------------------------------------------
// Reading values

/// The single key of a one-key object, with its value.
pub fn single<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.as_object().filter(|m| m.len() == 1)?.get(key)
}

/// The resource a `Ref` or `Fn::GetAtt` names.
pub fn target(v: &Value) -> Option<&str> {
    if let Some(r) = single(v, "Ref").and_then(Value::as_str) {
        return Some(r);
    }
    match single(v, "Fn::GetAtt")? {
        Value::Array(a) => a.first()?.as_str(),
        Value::String(s) => s.split('.').next(),
        _ => None,
    }
}

/// The attribute a `Fn::GetAtt` reads.
pub fn attribute(v: &Value) -> Option<&str> {
    match single(v, "Fn::GetAtt")? {
        Value::Array(a) => a.get(1)?.as_str(),
        Value::String(s) => s.split_once('.').map(|(_, a)| a),
        _ => None,
    }
}

/// A literal string (not a parameter or other intrinsic).
pub fn lit_str(v: &Value) -> Option<&str> {
    v.as_str()
}

/// A literal number, also from a numeric string (CloudFormation passes both).
pub fn lit_num(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// A value's identity for comparing references: `{"Ref": "X"}` twice is the same listener.
pub fn key(v: &Value) -> String {
    v.to_string()
}

/// The items of an array value, or none.
pub fn items(v: &Value) -> impl Iterator<Item = &Value> {
    v.as_array().into_iter().flatten()
}

/// Text of an `Fn::Sub` (string or `[text, vars]`) with each `${X}` replaced by `{{X}}`, or by
/// the variable's literal value; a literal string is returned as is. `${!x}` stays `${x}`.
pub fn sub_text(v: &Value) -> Option<String> {
    let (text, vars) = match v {
        Value::String(s) => return Some(s.clone()),
        _ => match single(v, "Fn::Sub")? {
            Value::String(t) => (t.as_str(), None),
            Value::Array(a) => (a.first()?.as_str()?, a.get(1).and_then(Value::as_object)),
            _ => return None,
        },
    };
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("${") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        if let Some(lit) = after.strip_prefix('!') {
            out.push_str("${");
            rest = lit;
            continue;
        }
        let end = after.find('}')?;
        let name = &after[..end];
        match vars.and_then(|m| m.get(name)) {
            Some(Value::String(s)) => out.push_str(s),
            Some(nested) if single(nested, "Fn::Sub").is_some() => {
                out.push_str(&sub_text(nested)?);
            }
            Some(other) => {
                let shown = match (target(other), attribute(other)) {
                    (Some(t), Some(a)) => format!("{t}.{a}"),
                    (Some(t), None) => t.to_string(),
                    _ => name.to_string(),
                };
                out.push_str(&format!("{{{{{shown}}}}}"));
            }
            None => out.push_str(&format!("{{{{{name}}}}}")),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// Names a value references: `Ref`, `Fn::GetAtt`, `${X}` in `Fn::Sub` (not its own variables).
pub fn references(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) if m.len() == 1 && m.contains_key("Ref") => {
            if let Some(r) = m["Ref"].as_str() {
                out.insert(r.to_string());
            }
        }
        Value::Object(m) if m.len() == 1 && m.contains_key("Fn::GetAtt") => {
            if let Some(t) = target(v) {
                out.insert(t.to_string());
            }
        }
        Value::Object(m) if m.len() == 1 && m.contains_key("Fn::Sub") => {
            let (text, vars) = match &m["Fn::Sub"] {
                Value::String(t) => (t.as_str(), None),
                Value::Array(a) => (
                    a.first().and_then(Value::as_str).unwrap_or(""),
                    a.get(1).and_then(Value::as_object),
                ),
                _ => ("", None),
            };
            let mut rest = text;
            while let Some(at) = rest.find("${") {
                let after = &rest[at + 2..];
                let Some(end) = after.find('}') else { break };
                let name = &after[..end];
                if !name.starts_with('!') && !vars.is_some_and(|vs| vs.contains_key(name)) {
                    out.insert(name.split('.').next().unwrap_or(name).to_string());
                }
                rest = &after[end + 1..];
            }
            if let Some(vs) = vars {
                vs.values().for_each(|x| references(x, out));
            }
        }
        Value::Object(m) => m.values().for_each(|x| references(x, out)),
        Value::Array(a) => a.iter().for_each(|x| references(x, out)),
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// Conditions

/// A condition that the template's other conditions and literals decide is derived; any other
/// (an `Fn::Equals` on a parameter, say) is free and gets both values.
fn is_derived(expr: &Value) -> bool {
    if single(expr, "Condition").is_some() {
        return true;
    }
    for f in ["Fn::And", "Fn::Or", "Fn::Not"] {
        if let Some(a) = single(expr, f).and_then(Value::as_array) {
            return a.iter().all(is_derived);
        }
    }
    if let Some(a) = single(expr, "Fn::Equals").and_then(Value::as_array) {
        return a.iter().all(|x| !crate::intrinsics::is_intrinsic(x));
    }
    false
}

fn eval(expr: &Value, defs: &Map<String, Value>, free: &BTreeMap<String, bool>, depth: u8) -> bool {
    if depth > 32 {
        return false;
    }
    if let Some(n) = single(expr, "Condition").and_then(Value::as_str) {
        return value_of(n, defs, free, depth + 1);
    }
    if let Some(a) = single(expr, "Fn::And").and_then(Value::as_array) {
        return a.iter().all(|x| eval(x, defs, free, depth + 1));
    }
    if let Some(a) = single(expr, "Fn::Or").and_then(Value::as_array) {
        return a.iter().any(|x| eval(x, defs, free, depth + 1));
    }
    if let Some(a) = single(expr, "Fn::Not").and_then(Value::as_array) {
        return !a.first().is_some_and(|x| eval(x, defs, free, depth + 1));
    }
    if let Some(a) = single(expr, "Fn::Equals").and_then(Value::as_array) {
        return a.len() == 2
            && a[0].to_string().trim_matches('"') == a[1].to_string().trim_matches('"');
    }
    false
}

fn value_of(
    name: &str,
    defs: &Map<String, Value>,
    free: &BTreeMap<String, bool>,
    depth: u8,
) -> bool {
    if let Some(v) = free.get(name) {
        return *v;
    }
    defs.get(name)
        .is_some_and(|d| eval(d, defs, free, depth + 1))
}

/// The template's conditions, and the free ones among them (not built from others) that the
/// resources use.
fn free_conditions(template: &Value) -> (Map<String, Value>, Vec<String>) {
    let defs = template
        .get("Conditions")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let used = used_conditions(template, &defs);
    let free = defs
        .iter()
        .filter(|(n, d)| !is_derived(d) && used.contains(*n))
        .map(|(n, _)| n.clone())
        .collect();
    (defs, free)
}

/// Whether [`assignments`] tries every assignment of the free conditions (at most 4 of them).
pub fn assignments_exhaustive(template: &Value) -> bool {
    free_conditions(template).1.len() <= 4
}

/// The assignments of the free conditions to evaluate: all when there are at most 4, else
/// all-true, all-false and each one flipped from both.
pub fn assignments(template: &Value) -> Vec<BTreeMap<String, bool>> {
    let (defs, free) = free_conditions(template);
    let of = |bits: &dyn Fn(usize) -> bool| -> BTreeMap<String, bool> {
        free.iter()
            .enumerate()
            .map(|(i, n)| ((*n).clone(), bits(i)))
            .collect()
    };
    // A free condition `Fn::Equals [Ref P, literal]`: P has one value in a stack, so two such
    // conditions on one P with different literals never hold together, and an assignment that
    // makes both true is not a stack CloudFormation can create (Fn::Equals compares two values:
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-conditions.html).
    let equals: Vec<Option<(String, String)>> = free
        .iter()
        .map(|n| param_equals(&defs[n.as_str()]))
        .collect();
    let possible = |a: &BTreeMap<String, bool>| {
        let held: Vec<&(String, String)> = free
            .iter()
            .zip(&equals)
            .filter(|(n, _)| a[n.as_str()])
            .filter_map(|(_, e)| e.as_ref())
            .collect();
        held.iter()
            .all(|(p, v)| held.iter().all(|(q, w)| p != q || v == w))
    };
    if free.len() <= 4 {
        // All true first: the view `explain` shows is the one with everything present.
        (0..1usize << free.len())
            .map(|m| of(&|i| m & (1 << i) == 0))
            .filter(|a| possible(a))
            .collect()
    } else {
        let mut v = vec![of(&|_| true), of(&|_| false)];
        for j in 0..free.len() {
            v.push(of(&|i| i != j));
            v.push(of(&|i| i == j));
        }
        v.retain(|a| possible(a));
        v
    }
}

/// `(P, literal)` for a condition `Fn::Equals [{Ref: P}, literal]` (either order).
fn param_equals(def: &Value) -> Option<(String, String)> {
    let args = single(def, "Fn::Equals")?.as_array()?;
    let [a, b] = args.as_slice() else { return None };
    let pair = |r: &Value, l: &Value| {
        let p = single(r, "Ref")?.as_str()?;
        let lit = match l {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => return None,
        };
        Some((p.to_string(), lit))
    };
    pair(a, b).or_else(|| pair(b, a))
}

/// Conditions the resources use (a resource's `Condition`, an `Fn::If`), with the conditions
/// those are built from: a condition nothing uses does not change the stack.
fn used_conditions(template: &Value, defs: &Map<String, Value>) -> BTreeSet<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(c) = single(v, "Fn::If")
                    .and_then(|a| a.get(0))
                    .and_then(Value::as_str)
                {
                    out.push(c.to_string());
                }
                if let Some(c) = single(v, "Condition").and_then(Value::as_str) {
                    out.push(c.to_string());
                }
                m.values().for_each(|x| walk(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut todo = Vec::new();
    for r in template
        .get("Resources")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(_, r)| r)
    {
        if let Some(c) = r.get("Condition").and_then(Value::as_str) {
            todo.push(c.to_string());
        }
        walk(r, &mut todo);
    }
    let mut used = BTreeSet::new();
    while let Some(c) = todo.pop() {
        if used.insert(c.clone()) {
            if let Some(d) = defs.get(&c) {
                walk(d, &mut todo);
            }
        }
    }
    used
}

/// `v` with `Fn::If` resolved and `AWS::NoValue` removed; `None` is "no value".
fn resolve(v: &Value, defs: &Map<String, Value>, free: &BTreeMap<String, bool>) -> Option<Value> {
    if single(v, "Ref").and_then(Value::as_str) == Some("AWS::NoValue") {
        return None;
    }
    if let Some(a) = single(v, "Fn::If").and_then(Value::as_array) {
        if a.len() == 3 {
            let c = a[0].as_str().unwrap_or("");
            let pick = if value_of(c, defs, free, 0) {
                &a[1]
            } else {
                &a[2]
            };
            return resolve(pick, defs, free);
        }
    }
    Some(match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter_map(|(k, x)| Some((k.clone(), resolve(x, defs, free)?)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().filter_map(|x| resolve(x, defs, free)).collect()),
        other => other.clone(),
    })
}

/// The stack CloudFormation would create under one assignment.
pub fn stack(template: &Value, free: &BTreeMap<String, bool>) -> Stack {
    let defs = template
        .get("Conditions")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let resources = template
        .get("Resources")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(_, r)| {
            r.get("Condition")
                .and_then(Value::as_str)
                .is_none_or(|c| value_of(c, &defs, free, 0))
        })
        .filter_map(|(id, r)| Some((id.clone(), resolve(r, &defs, free)?)))
        .collect();
    let parameters = template
        .get("Parameters")
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let defaults = template
        .get("Parameters")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(n, d)| Some((n.clone(), d.get("Default")?.clone())))
        .collect();
    let conditions = free
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    let mut st = Stack {
        resources,
        apps: vec![],
        parameters,
        defaults,
        conditions,
    };
    st.apps = apps(&st);
    st
}

/// A stack of the given resources (an object of logical ID to resource), no conditions: for
/// the rule families' unit tests.
#[cfg(test)]
pub(crate) fn test_stack(resources: &Value) -> Stack {
    let mut st = Stack {
        resources: resources
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        apps: vec![],
        parameters: BTreeSet::new(),
        defaults: BTreeMap::new(),
        conditions: String::new(),
    };
    st.apps = apps(&st);
    st
}

/// The resources and parameters a resource names: in its properties (`Ref`, `Fn::GetAtt`,
/// `Fn::Sub`) and its `DependsOn`; CloudFormation creates each of them before it.
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-dependson.html
pub fn names_used(resource: &Value) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    references(
        resource.get("Properties").unwrap_or(&Value::Null),
        &mut names,
    );
    match resource.get("DependsOn") {
        Some(Value::String(s)) => {
            names.insert(s.clone());
        }
        Some(Value::Array(a)) => names.extend(a.iter().filter_map(Value::as_str).map(String::from)),
        _ => {}
    }
    names
}

/// Rule CFN_REF_TO_ABSENT over one stack.
fn check_references(st: &Stack, apps: &[App]) -> Vec<Finding> {
    let mut out = Vec::new();
    for (id, r) in &st.resources {
        let names = names_used(r);
        for n in names {
            if n.starts_with("AWS::") || st.resources.contains_key(&n) || st.parameters.contains(&n)
            {
                continue;
            }
            let app = owner(apps, id).map(|a| a.name.as_str()).unwrap_or("-");
            out.push(Finding::new(
                &REF_TO_ABSENT,
                app,
                &[id, &n],
                format!("{id} references {n}, which these conditions leave out"),
            ));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The whole model

/// What `explain` prints: the Apps with their paths, and every finding.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Report {
    pub apps: Vec<AppView>,
    pub findings: Vec<Finding>,
    /// Condition assignments evaluated.
    pub assignments: usize,
    /// Rule evaluations run (rules times Apps times assignments).
    pub checks: usize,
}

/// One App as the model sees it under the first assignment where it exists.
#[derive(Debug, Serialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct AppView {
    pub name: String,
    pub routes: Vec<elbv2::Route>,
    pub reach: Vec<vpc::Reach>,
    pub gate: Vec<String>,
}

impl Report {
    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
    }
}

/// Runs every rule family over every assignment that matters.
pub fn analyse(template: &Value) -> Report {
    let asg = assignments(template);
    let mut findings: Vec<Finding> = Vec::new();
    let mut views: BTreeMap<String, AppView> = BTreeMap::new();
    let mut checks = 0;
    let several = asg.len() > 1;
    // Resources some assignment creates.
    let mut created: BTreeSet<String> = BTreeSet::new();
    for free in &asg {
        let st = stack(template, free);
        created.extend(st.resources.keys().cloned());
        let apps = st.apps.clone();
        let net = elbv2::Network::read(&st);
        let mut found = check_references(&st, &apps);
        found.extend(elbv2::check(&st, &apps, &net));
        found.extend(vpc::check(&st, &apps, &net));
        found.extend(ecs::check(&st, &apps, &net));
        found.extend(metrics::check(&st, &apps));
        found.extend(iam::check(&st, &apps));
        found.extend(cloudmap::check(&st, &apps));
        found.extend(events::check(&st, &apps));
        found.extend(service_connect::check(&st, &apps, &net));
        found.extend(health::check(&st, &apps));
        found.extend(names::check(&st, &apps));
        found.extend(route53::check(&st, &apps));
        found.extend(task_definition::check(&st, &apps));
        found.extend(notify::check(&st, &apps));
        found.extend(post_create::check(&st, &apps));
        found.extend(scaling_check::check(&st, &apps));
        checks += all_rules().len() * apps.len().max(1);
        for mut f in found {
            if several {
                f.conditions = st.conditions.clone();
            }
            let seen = findings
                .iter()
                .any(|g| g.code == f.code && g.resources == f.resources && g.message == f.message);
            if !seen {
                findings.push(f);
            }
        }
        for a in &apps {
            views.entry(a.name.clone()).or_insert_with(|| AppView {
                name: a.name.clone(),
                routes: elbv2::routes(&st, a, &net),
                reach: vpc::reach(&st, a, &net),
                gate: elbv2::gate_lines(&st, a, &net),
            });
        }
    }
    if assignments_exhaustive(template) {
        let resources = template.get("Resources").and_then(Value::as_object);
        for (id, r) in resources.into_iter().flatten() {
            if created.contains(id) {
                continue;
            }
            let condition = r.get("Condition").and_then(Value::as_str).unwrap_or("");
            let app = views
                .keys()
                .filter(|n| id.starts_with(n.as_str()))
                .max_by_key(|n| n.len())
                .cloned()
                .unwrap_or("-".into());
            findings.push(Finding::new(
                &CONDITION_NEVER_TRUE,
                &app,
                &[id],
                format!("{id} is under {condition}, which no parameter values make true: it is never created"),
            ));
        }
    }
    Report {
        apps: views.into_values().collect(),
        findings,
        assignments: asg.len(),
        checks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The conditions page's own example: a resource under `CreateProdResources` exists only
    /// when the condition is true, and `Fn::If` picks a branch by the condition.
    #[test]
    fn conditions_drop_resources_and_pick_branches() {
        let t = json!({
            "Parameters": {"EnvType": {"Type": "String"}},
            "Conditions": {"CreateProdResources": {"Fn::Equals": [{"Ref": "EnvType"}, "prod"]}},
            "Resources": {
                "MountPoint": {"Type": "AWS::EC2::VolumeAttachment", "Condition": "CreateProdResources",
                               "Properties": {"VolumeId": {"Ref": "NewVolume"}}},
                "NewVolume": {"Type": "AWS::EC2::Volume", "Condition": "CreateProdResources", "Properties": {}},
                "Instance": {"Type": "AWS::EC2::Instance", "Properties": {
                    "InstanceType": {"Fn::If": ["CreateProdResources", "c5.xlarge", "t3.micro"]},
                    "Monitoring": {"Fn::If": ["CreateProdResources", true, {"Ref": "AWS::NoValue"}]}}}
            }
        });
        let asg = assignments(&t);
        assert_eq!(asg.len(), 2);
        let cases = [
            (true, 3, json!("c5.xlarge"), true),
            (false, 1, json!("t3.micro"), false),
        ];
        for (value, count, instance_type, monitoring) in cases {
            let free = BTreeMap::from([("CreateProdResources".to_string(), value)]);
            let st = stack(&t, &free);
            assert_eq!(st.resources.len(), count, "{value}");
            assert_eq!(st.props("Instance")["InstanceType"], instance_type);
            assert_eq!(st.props("Instance").get("Monitoring").is_some(), monitoring);
            assert!(check_references(&st, &[]).is_empty());
        }
    }

    #[test]
    fn an_unconditional_reference_to_a_conditional_resource_is_found() {
        let t = json!({
            "Conditions": {"C": {"Fn::Equals": [{"Ref": "P"}, "x"]}},
            "Parameters": {"P": {"Type": "String"}},
            "Resources": {
                "A": {"Type": "AWS::EC2::SecurityGroup", "Condition": "C", "Properties": {}},
                "B": {"Type": "AWS::EC2::SecurityGroupIngress",
                      "Properties": {"SourceSecurityGroupId": {"Fn::GetAtt": ["A", "GroupId"]},
                                     "Description": {"Fn::Sub": "from ${A} and ${!Literal}"}}}
            }
        });
        let r = analyse(&t);
        assert_eq!(r.assignments, 2);
        let codes: Vec<_> = r
            .findings
            .iter()
            .map(|f| (f.code, f.conditions.as_str()))
            .collect();
        assert_eq!(codes, vec![("CFN_REF_TO_ABSENT", "C=false")]);
    }

    #[test]
    fn many_free_conditions_are_capped() {
        let conds: Map<String, Value> = (0..6)
            .map(|i| {
                (
                    format!("C{i}"),
                    json!({"Fn::Equals": [{"Ref": "P"}, i.to_string()]}),
                )
            })
            .chain([(
                "D".to_string(),
                json!({"Fn::Or": [{"Condition": "C0"}, {"Condition": "C1"}]}),
            )])
            .collect();
        let used: Map<String, Value> = (0..6)
            .map(|i| {
                (
                    format!("R{i}"),
                    json!({"Type": "AWS::SNS::Topic", "Condition": format!("C{i}")}),
                )
            })
            .chain([("Unused".to_string(), json!({"Type": "AWS::SNS::Topic"}))])
            .collect();
        let t = json!({"Conditions": conds, "Resources": used});
        // 6 free conditions (D is derived), each `P` equal to another value: P has one value,
        // so at most one holds: all-false and each one alone.
        assert_eq!(assignments(&t).len(), 1 + 6);
        // On six parameters they are independent: all-true, all-false and each flipped both ways.
        let mut independent = t.clone();
        for i in 0..6 {
            independent["Conditions"][format!("C{i}")] =
                json!({"Fn::Equals": [{"Ref": format!("P{i}")}, "on"]});
        }
        assert_eq!(assignments(&independent).len(), 2 + 2 * 6);
        // Two values of one parameter, the literal first or second: three stacks, not four.
        let two = json!({
            "Conditions": {
                "IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]},
                "IsDev": {"Fn::Equals": ["dev", {"Ref": "Env"}]}
            },
            "Resources": {
                "A": {"Type": "AWS::SNS::Topic", "Condition": "IsProd"},
                "B": {"Type": "AWS::SNS::Topic", "Condition": "IsDev"}
            }
        });
        let got = assignments(&two);
        assert_eq!(got.len(), 3);
        assert!(!got.iter().any(|a| a["IsProd"] && a["IsDev"]));
        // Conditions no resource uses do not change the stack.
        let unused = json!({"Conditions": t["Conditions"].clone(), "Resources": {}});
        assert_eq!(assignments(&unused).len(), 1);
    }

    #[test]
    fn sub_text_marks_variables() {
        let cases = [
            (json!("plain"), "plain"),
            (
                json!({"Fn::Sub": "http://${Lb.DNSName}/x ${!y}"}),
                "http://{{Lb.DNSName}}/x ${y}",
            ),
            (
                json!({"Fn::Sub": ["https://${H}:${P}", {"H": "a.example.com", "P": {"Fn::GetAtt": ["L", "Port"]}}]}),
                "https://a.example.com:{{L.Port}}",
            ),
        ];
        for (v, want) in cases {
            assert_eq!(sub_text(&v).as_deref(), Some(want));
        }
    }
}
