//! What deploying a new version of a template will do: both versions are expanded with the
//! macro's own expansion, then compared resource by resource. A modified resource is replaced
//! when a changed property is create-only in its type's CloudFormation resource schema
//! (`create_only.rs`), when it references a replaced resource through such a property, or when
//! its logical ID changed (a renamed App or generated ID: CloudFormation creates the new ID and
//! deletes the old one).
//!
//! Parameters: each version's `Ref`s to its parameters are replaced by their values (the
//! template's `Default`, overridden by the values given, or by the deployed stack's) before the
//! comparison, so a new image tag in a parameter's `Default` shows as a new image.

pub mod conditions;
pub mod hazards;
pub mod security;

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
#[serde(rename_all = "PascalCase")]
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
#[serde(rename_all = "PascalCase")]
pub struct ResourceChange {
    pub logical_id: String,
    #[serde(rename = "Type")]
    pub resource_type: String,
    /// The App that generates it (none for the template's own resources).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
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
#[serde(rename_all = "PascalCase")]
pub struct Summary {
    pub added: usize,
    pub removed: usize,
    pub modified: usize,
    pub replaced: usize,
    pub new_revisions: usize,
}

/// A parameter whose value differs between the versions.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ParameterChange {
    pub name: String,
    /// The value, `****` for a `NoEcho` parameter, absent when the version has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<String>,
    /// A `NoEcho` value the deployed stack does not show: its change cannot be seen.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unknown: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Diff {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<ParameterChange>,
    /// Apps renamed between the versions, `(old, new)`.
    pub renamed_apps: Vec<(String, String)>,
    pub resources: Vec<ResourceChange>,
    #[serde(flatten)]
    pub security: security::SecurityChanges,
    /// Conditions whose value differs between the versions (`None`: not decided).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<ConditionChange>,
    /// Resources and properties under a condition that the parameter values known do not
    /// decide: compared as written, not guessed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub undecided: Vec<conditions::Undecided>,
    /// Changes that AWS refuses or that interrupt traffic (`hazards.rs`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<hazards::Warning>,
    pub summary: Summary,
}

/// A condition whose value differs between the versions.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConditionChange {
    pub name: String,
    pub old: Option<bool>,
    pub new: Option<bool>,
}

/// Which version of the template failed to expand.
#[derive(Debug)]
pub enum Side {
    Old,
    New,
}

/// ANSI colours for the text report (on a terminal only; see the CLI).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colour {
    Off,
    On,
}

impl Colour {
    fn paint(self, code: &str, text: &str) -> String {
        match self {
            Colour::Off => text.to_string(),
            Colour::On => format!("\x1b[{code}m{text}\x1b[0m"),
        }
    }
}

const GREEN: &str = "32";
const RED: &str = "31";
const YELLOW: &str = "33";
const BOLD_RED: &str = "1;31";
const BOLD: &str = "1";

impl Diff {
    /// 0 no change, 1 changes; with `fail_on_replacement`, 2 when a resource is replaced or
    /// a change is one AWS refuses or that interrupts traffic (a CI guard). Trouble (a version that cannot be read or expanded) is the CLI's 3.
    pub fn exit_code(&self, fail_on_replacement: bool) -> u8 {
        if fail_on_replacement && (self.summary.replaced > 0 || !self.warnings.is_empty()) {
            2
        } else if self.resources.is_empty() && self.parameters.is_empty() {
            0
        } else {
            1
        }
    }

    /// The human-readable report, without colour.
    pub fn render(&self) -> String {
        self.render_with(Colour::Off)
    }

    /// The human-readable report: parameters, then resources grouped by App, then the IAM
    /// and security-group tables and the broadening warnings, then the counts.
    pub fn render_with(&self, colour: Colour) -> String {
        let mut s = String::new();
        if !self.parameters.is_empty() {
            let _ = writeln!(s, "{}", colour.paint(BOLD, "Parameters"));
            for p in &self.parameters {
                let line = match (&p.old, &p.new) {
                    _ if p.unknown => format!(
                        "~ {}: NoEcho, the deployed value is not shown: not compared",
                        p.name
                    ),
                    (None, Some(n)) => colour.paint(GREEN, &format!("+ {}: {n:?}", p.name)),
                    (Some(o), None) => colour.paint(RED, &format!("- {}: {o:?}", p.name)),
                    (o, n) => colour.paint(
                        YELLOW,
                        &format!(
                            "~ {}: {:?} -> {:?}",
                            p.name,
                            o.as_deref().unwrap_or_default(),
                            n.as_deref().unwrap_or_default()
                        ),
                    ),
                };
                let _ = writeln!(s, "  {line}");
            }
        }
        if !self.conditions.is_empty() {
            let _ = writeln!(s, "{}", colour.paint(BOLD, "Conditions"));
            let b = |v: Option<bool>| v.map_or("undecided".to_string(), |b| b.to_string());
            for c in &self.conditions {
                let line = format!("~ {}: {} -> {}", c.name, b(c.old), b(c.new));
                let _ = writeln!(s, "  {}", colour.paint(YELLOW, &line));
            }
        }
        for (old, new) in &self.renamed_apps {
            let _ = writeln!(
                s,
                "App {old} renamed to {new}: every resource it generates is replaced"
            );
        }
        let mut groups: Vec<Option<&String>> = Vec::new();
        for r in &self.resources {
            if !groups.contains(&r.app.as_ref()) {
                groups.push(r.app.as_ref());
            }
        }
        // The template's own resources after the Apps.
        groups.sort_by_key(|g| g.is_none());
        for g in groups {
            let title = match g {
                Some(app) => format!("App {app}"),
                None => "Other resources".to_string(),
            };
            let _ = writeln!(s, "{}", colour.paint(BOLD, &title));
            for r in self.resources.iter().filter(|r| r.app.as_ref() == g) {
                render_resource(&mut s, r, colour);
            }
        }
        self.render_security(&mut s, colour);
        self.render_undecided(&mut s, colour);
        self.render_warnings(&mut s, colour);
        let m = &self.summary;
        let _ = writeln!(
            s,
            "Summary: {} to add, {} to remove, {} to modify in place, {} new task definition revision(s), {} to replace",
            m.added, m.removed, m.modified, m.new_revisions, m.replaced
        );
        s
    }

    fn render_undecided(&self, s: &mut String, colour: Colour) {
        if self.undecided.is_empty() {
            return;
        }
        let _ = writeln!(
            s,
            "{}",
            colour.paint(
                BOLD,
                "Undecided conditions (parameter values not known): compared as written"
            )
        );
        // One line per condition (and version): what depends on it.
        let mut groups: Vec<(&str, &str, &[String], Vec<String>)> = Vec::new();
        for u in &self.undecided {
            let what = if u.at == "Condition" {
                u.resource.clone()
            } else {
                format!("{}.{}", u.resource, u.at)
            };
            match groups
                .iter_mut()
                .find(|g| g.0 == u.condition && g.1 == u.version)
            {
                Some(g) => g.3.push(what),
                None => groups.push((&u.condition, &u.version, &u.parameters, vec![what])),
            }
        }
        for (condition, version, parameters, what) in groups {
            let why = if parameters.is_empty() {
                "a function this diff does not evaluate".to_string()
            } else {
                format!("no value for {}", parameters.join(", "))
            };
            let _ = writeln!(
                s,
                "  ? {condition} ({why}; {version} version): {}",
                what.join(", ")
            );
        }
    }

    fn render_warnings(&self, s: &mut String, colour: Colour) {
        for (effect, title) in [
            (hazards::Effect::Fails, "Warning: AWS refuses this update:"),
            (
                hazards::Effect::Outage,
                "Warning: this update interrupts traffic:",
            ),
        ] {
            let mine: Vec<&hazards::Warning> = self
                .warnings
                .iter()
                .filter(|w| w.effect == effect)
                .collect();
            if mine.is_empty() {
                continue;
            }
            let _ = writeln!(s, "{}", colour.paint(BOLD_RED, title));
            for w in mine {
                let _ = writeln!(
                    s,
                    "  {} ({}) while {}: {} ({})",
                    w.logical_id, w.cause, w.fact, w.why, w.page
                );
            }
        }
    }

    fn render_security(&self, s: &mut String, colour: Colour) {
        let mark = |c: &str| if c == "Add" { ('+', GREEN) } else { ('-', RED) };
        if !self.security.iam.is_empty() {
            let _ = writeln!(s, "{}", colour.paint(BOLD, "IAM statement changes"));
            let rows: Vec<[String; 6]> = self
                .security
                .iam
                .iter()
                .map(|c| {
                    let r = &c.row;
                    [
                        mark(c.change).0.to_string(),
                        r.resource.clone(),
                        r.kind.clone(),
                        r.effect.clone(),
                        r.actions.join(" "),
                        r.resources.join(" ")
                            + &r.condition
                                .as_ref()
                                .map(|c| format!(" if {c}"))
                                .unwrap_or_default(),
                    ]
                })
                .collect();
            let head =
                ["", "Resource", "Kind", "Effect", "Action / Principal", "On"].map(String::from);
            table(s, &head, &rows, colour, |r| {
                mark(if r[0] == "+" { "Add" } else { "Remove" }).1
            });
        }
        if !self.security.security_groups.is_empty() {
            let _ = writeln!(s, "{}", colour.paint(BOLD, "Security group changes"));
            let rows: Vec<[String; 5]> = self
                .security
                .security_groups
                .iter()
                .map(|c| {
                    let r = &c.row;
                    [
                        mark(c.change).0.to_string(),
                        r.group.clone(),
                        r.direction.clone(),
                        r.ports.clone(),
                        r.peer.clone(),
                    ]
                })
                .collect();
            let head = ["", "Group", "Direction", "Ports", "Peer"].map(String::from);
            table(s, &head, &rows, colour, |r| {
                mark(if r[0] == "+" { "Add" } else { "Remove" }).1
            });
        }
        if !self.security.broadening.is_empty() {
            let _ = writeln!(
                s,
                "{}",
                colour.paint(BOLD_RED, "Warning: this change broadens access:")
            );
            for b in &self.security.broadening {
                let _ = writeln!(s, "  {b}");
            }
        }
    }
}

/// Columns padded to their widest cell; each row coloured by `paint`.
fn table<const N: usize>(
    s: &mut String,
    head: &[String; N],
    rows: &[[String; N]],
    colour: Colour,
    paint: impl Fn(&[String; N]) -> &'static str,
) {
    let mut width = [0usize; N];
    for r in std::iter::once(head).chain(rows) {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |r: &[String; N]| {
        let mut l = String::from("  ");
        for (i, (c, w)) in r.iter().zip(width).enumerate() {
            if i + 1 == N {
                l.push_str(c);
            } else {
                let _ = write!(l, "{c:<w$}  ");
            }
        }
        l.trim_end().to_string()
    };
    let _ = writeln!(s, "{}", line(head));
    for r in rows {
        let _ = writeln!(s, "{}", colour.paint(paint(r), &line(r)));
    }
}

fn render_resource(s: &mut String, r: &ResourceChange, colour: Colour) {
    let (mark, word, code) = match r.action {
        Action::Add => ('+', "add", GREEN),
        Action::Remove => ('-', "remove", RED),
        Action::Modify => ('~', "modify in place", YELLOW),
        Action::Replace => ('!', "REPLACE", BOLD_RED),
        Action::NewRevision => ('~', "new revision", YELLOW),
    };
    let mut head = format!("{mark} {} ({}) {word}", r.logical_id, r.resource_type);
    if let Some(from) = &r.renamed_from {
        let _ = write!(head, ": logical ID renamed from {from}");
    }
    if r.action == Action::Modify && !r.replacement_known {
        head.push_str(" (replacement not known for this type)");
    }
    let _ = writeln!(s, "  {}", colour.paint(code, &head));
    for c in &r.changes {
        let mut line = match (&c.because, &c.old, &c.new) {
            (Some(b), _, _) => format!("{}: {} changes value ({b})", c.path, show(&c.new)),
            (None, None, Some(_)) => format!("+ {}: {}", c.path, show(&c.new)),
            (None, Some(_), None) => format!("- {}: {}", c.path, show(&c.old)),
            (None, _, _) => format!("{}: {} -> {}", c.path, show(&c.old), show(&c.new)),
        };
        if c.replacement {
            line.push_str(" [replacement]");
        }
        let _ = writeln!(s, "      {line}");
    }
}

fn show(v: &Option<Value>) -> String {
    match v {
        None => "(absent)".into(),
        Some(v) => serde_json::to_string(v).unwrap_or_default(),
    }
}

/// Expands both versions and compares them, each with its parameters' defaults.
pub fn diff_templates(
    old: &Value,
    new: &Value,
    settings: &Settings,
) -> Result<Diff, (Side, Problems)> {
    diff_versions(
        &Version::source(old, Map::new()),
        &Version::source(new, Map::new()),
        settings,
    )
}

/// One version of a stack's template.
#[derive(Debug, Clone)]
pub struct Version<'a> {
    pub template: &'a Value,
    /// The template as CloudFormation processed it (a deployed stack's `GetTemplate` with
    /// `TemplateStage: Processed`): compared as is, not expanded.
    pub processed: bool,
    /// Parameter values given (`--parameters`, or the deployed stack's `DescribeStacks`);
    /// the others take their `Default`. A list is one comma-separated string, as
    /// CloudFormation takes it.
    pub parameters: Map<String, Value>,
}

impl<'a> Version<'a> {
    pub fn source(template: &'a Value, parameters: Map<String, Value>) -> Self {
        Version {
            template,
            processed: false,
            parameters,
        }
    }
}

/// The value of each parameter of a version: given, else its `Default`; `None` when neither.
fn parameter_values(v: &Version) -> Vec<(String, Option<String>, &'static str)> {
    let params = v
        .template
        .get("Parameters")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut out = Vec::new();
    for (name, decl) in &params {
        let value = v
            .parameters
            .get(name)
            .or_else(|| decl.get("Default"))
            .map(|x| match x {
                Value::String(s) => s.clone(),
                Value::Array(a) => a
                    .iter()
                    .map(|i| i.as_str().map(str::to_string).unwrap_or(i.to_string()))
                    .collect::<Vec<_>>()
                    .join(","),
                other => other.to_string(),
            });
        let no_echo = match decl.get("NoEcho") {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
            _ => false,
        };
        let kind = match decl.get("Type").and_then(Value::as_str) {
            Some(t) if t.starts_with("List<") || t == "CommaDelimitedList" => "list",
            _ if no_echo => "secret",
            _ => "text",
        };
        out.push((name.clone(), value, kind));
    }
    out
}

/// Compares two versions: each source is expanded with its parameter values (a processed
/// template is taken as is), the `Ref`s to parameters known in both are replaced by their
/// values, then the resources are compared.
pub fn diff_versions(
    old: &Version,
    new: &Version,
    settings: &Settings,
) -> Result<Diff, (Side, Problems)> {
    let expand_one = |v: &Version, side: Side| -> Result<Value, (Side, Problems)> {
        if v.processed {
            return Ok(v.template.clone());
        }
        let mut s = settings.clone();
        s.parameter_values = v.parameters.clone();
        crate::expand(v.template, &s).map_err(|p| (side, p))
    };
    let mut old_x = expand_one(old, Side::Old)?;
    let mut new_x = expand_one(new, Side::New)?;
    let (ov, nv) = (parameter_values(old), parameter_values(new));
    // Each version's conditions under its own values: the resources that exist, the branch
    // of each Fn::If.
    let known_values = |values: &[(String, Option<String>, &'static str)]| {
        values
            .iter()
            .map(|(n, v, _)| {
                // `DescribeStacks` shows a NoEcho value as `****`: not known.
                let v = v.as_ref().filter(|x| x.as_str() != "****");
                (n.clone(), v.map(|x| Value::String(x.clone())))
            })
            .collect::<HashMap<String, Option<Value>>>()
    };
    let (old_known, new_known) = (known_values(&ov), known_values(&nv));
    let old_conditions = conditions::evaluate(&old_x, &old_known);
    let new_conditions = conditions::evaluate(&new_x, &new_known);
    let mut undecided = conditions::apply(&mut old_x, &old_known);
    undecided.iter_mut().for_each(|u| u.version = "old".into());
    for mut u in conditions::apply(&mut new_x, &new_known) {
        let same = |x: &conditions::Undecided| {
            x.resource == u.resource && x.at == u.at && x.condition == u.condition
        };
        if let Some(x) = undecided.iter_mut().find(|x| same(x)) {
            x.version = "old and new".into();
        } else {
            u.version = "new".into();
            undecided.push(u);
        }
    }
    let mut condition_changes = Vec::new();
    for (name, n) in &new_conditions {
        let o = old_conditions
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| *v);
        if o != *n {
            condition_changes.push(ConditionChange {
                name: name.clone(),
                old: o,
                new: *n,
            });
        }
    }
    let mut changes = Vec::new();
    let mut known: HashMap<String, (Value, Value)> = HashMap::new();
    for (name, value, kind) in &nv {
        let before = ov.iter().find(|(n, _, _)| n == name);
        // `DescribeStacks` shows a NoEcho parameter's value as `****`.
        let hidden = |x: &Option<String>| x.as_deref() == Some("****");
        let mask = |x: &Option<String>| {
            if *kind == "secret" {
                x.as_ref().map(|_| "****".to_string())
            } else {
                x.clone()
            }
        };
        match before {
            None => changes.push(ParameterChange {
                name: name.clone(),
                old: None,
                new: mask(value),
                unknown: false,
            }),
            Some((_, old_value, _)) if hidden(old_value) && old.processed => {
                changes.push(ParameterChange {
                    name: name.clone(),
                    old: old_value.clone(),
                    new: mask(value),
                    unknown: true,
                })
            }
            Some((_, old_value, old_kind)) => {
                if old_value != value {
                    changes.push(ParameterChange {
                        name: name.clone(),
                        old: mask(old_value),
                        new: mask(value),
                        unknown: false,
                    });
                }
                if let (Some(o), Some(n)) = (old_value, value) {
                    let as_value = |x: &str, k: &str| {
                        if k == "list" {
                            Value::Array(x.split(',').map(|i| Value::String(i.into())).collect())
                        } else {
                            Value::String(x.into())
                        }
                    };
                    known.insert(name.clone(), (as_value(o, old_kind), as_value(n, kind)));
                }
            }
        }
    }
    for (name, value, kind) in &ov {
        if !nv.iter().any(|(n, _, _)| n == name) {
            changes.push(ParameterChange {
                name: name.clone(),
                old: if *kind == "secret" {
                    value.as_ref().map(|_| "****".into())
                } else {
                    value.clone()
                },
                new: None,
                unknown: false,
            });
        }
    }
    let old_values: HashMap<String, Value> = known
        .iter()
        .map(|(k, (o, _))| (k.clone(), o.clone()))
        .collect();
    let new_values: HashMap<String, Value> = known.into_iter().map(|(k, (_, n))| (k, n)).collect();
    if let Some(r) = old_x.get_mut("Resources") {
        substitute(r, &old_values);
    }
    if let Some(r) = new_x.get_mut("Resources") {
        substitute(r, &new_values);
    }
    // A processed template has no Apps: the new version's Apps name its resources.
    let old_source = if old.processed {
        new.template
    } else {
        old.template
    };
    let mut d = compare(old_source, &old_x, new.template, &new_x);
    d.parameters = changes;
    d.conditions = condition_changes;
    d.undecided = undecided;
    Ok(d)
}

/// Replaces `Ref`s to parameters by their values, and `${Name}` in `Fn::Sub` strings (but for
/// the `Fn::Sub`'s own variables).
fn substitute(v: &mut Value, values: &HashMap<String, Value>) {
    match v {
        Value::Object(m) => {
            if m.len() == 1 {
                if let Some(Value::String(name)) = m.get("Ref") {
                    if let Some(x) = values.get(name) {
                        *v = x.clone();
                        return;
                    }
                }
                if let Some(sub) = m.get_mut("Fn::Sub") {
                    let (text, vars) = match sub {
                        Value::String(_) => (sub, None),
                        Value::Array(a) if !a.is_empty() => {
                            let (first, rest) = a.split_at_mut(1);
                            (&mut first[0], rest.first_mut())
                        }
                        _ => return,
                    };
                    let local: HashSet<String> = vars
                        .as_ref()
                        .and_then(|x| x.as_object())
                        .map(|m| m.keys().cloned().collect())
                        .unwrap_or_default();
                    if let Value::String(t) = text {
                        for (name, x) in values {
                            if let (Value::String(val), false) = (x, local.contains(name)) {
                                *t = t.replace(&format!("${{{name}}}"), val);
                            }
                        }
                    }
                    let literal = match (&*text, &vars) {
                        (Value::String(t), None) if !t.contains("${") => Some(t.clone()),
                        _ => None,
                    };
                    if let Some(vars) = vars {
                        substitute(vars, values);
                    }
                    // Nothing left to substitute: the value is that string.
                    if let Some(t) = literal {
                        *v = Value::String(t);
                    }
                    return;
                }
            }
            for x in m.values_mut() {
                substitute(x, values);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| substitute(x, values)),
        _ => {}
    }
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
                app: None,
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
                app: None,
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
            app: None,
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
                app: None,
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
                            app: None,
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
    for r in &mut out {
        r.app = owner(&r.logical_id, &new_apps)
            .or_else(|| owner(&r.logical_id, &old_apps))
            .map(str::to_string);
    }
    let warnings = hazards::check(&out, &old_r, &new_r);
    Diff {
        parameters: Vec::new(),
        renamed_apps: renamed,
        resources: out,
        security: security::compare(&old_r, &new_r),
        conditions: Vec::new(),
        undecided: Vec::new(),
        warnings,
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
/// listener_rule.rs). Failover, the load-test gate the post-create step and the scaling check keep their physical ID.
fn custom_create_only(resource_type: &str) -> Option<&'static [&'static str]> {
    match resource_type {
        "Custom::FargateListenerPort" => Some(&["LoadBalancerArn", "PortRange"]),
        "Custom::FargateListenerRule" => Some(&["ListenerArn", "PriorityRange"]),
        "Custom::FargateWeightedFailover"
        | "Custom::FargateLoadTestGate"
        | "Custom::FargatePostCreate" => Some(&[]),
        "Custom::FargateScalingCheck" => Some(&[]),
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
        (Some(Value::Array(a)), Some(Value::Array(b))) => compare_list(a, b, &path, out),
        _ => out.push(PropertyChange {
            path,
            old: o.cloned(),
            new: n.cloned(),
            replacement: false,
            because: None,
        }),
    }
}

/// A changed list, item by item: the items both versions have in the same order (their longest
/// common subsequence) are kept; between two kept items, removed and added items are paired
/// in order as modified items, the rest shown as removed (at their old index) or added (at
/// their new index). Lists of the same length are compared index by index.
fn compare_list(a: &[Value], b: &[Value], path: &str, out: &mut Vec<PropertyChange>) {
    if a.len() == b.len() {
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            compare_value(Some(x), Some(y), format!("{path}[{i}]"), out);
        }
        return;
    }
    let (n, m) = (a.len(), b.len());
    // lcs[i][j]: the longest common subsequence of a[i..] and b[j..].
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let (mut gone, mut came): (Vec<usize>, Vec<usize>) = (Vec::new(), Vec::new());
    let flush = |gone: &mut Vec<usize>, came: &mut Vec<usize>, out: &mut Vec<PropertyChange>| {
        let pairs = gone.len().min(came.len());
        for k in 0..pairs {
            compare_value(
                Some(&a[gone[k]]),
                Some(&b[came[k]]),
                format!("{path}[{}]", came[k]),
                out,
            );
        }
        for &g in &gone[pairs..] {
            compare_value(Some(&a[g]), None, format!("{path}[{g}]"), out);
        }
        for &c in &came[pairs..] {
            compare_value(None, Some(&b[c]), format!("{path}[{c}]"), out);
        }
        gone.clear();
        came.clear();
    };
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            flush(&mut gone, &mut came, out);
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            came.push(j);
            j += 1;
        } else {
            gone.push(i);
            i += 1;
        }
    }
    flush(&mut gone, &mut came, out);
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
