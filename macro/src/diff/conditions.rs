//! Conditions under one version's parameter values: which resources exist and which branch of
//! each `Fn::If` applies. CloudFormation evaluates `Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or`
//! and `Condition` references from the parameter values, creates a resource only when its
//! `Condition` is true, and takes the first or second value of `Fn::If`
//! (`AWS::NoValue` removes the property):
//! https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/conditions-section-structure.html
//! and https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-conditions.html
//!
//! A condition that depends on a parameter whose value is not known (no `Default`, not given,
//! a `NoEcho` value the stack does not show, a pseudo parameter) is left undecided: its
//! resources and `Fn::If`s stay as they are and are listed, never guessed.

use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashMap};

/// A condition that could not be decided, and what depends on it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Undecided {
    /// `old`, `new`, or `old and new`.
    pub version: String,
    /// The resource whose existence (`Condition`) or property (`Fn::If`) depends on it.
    pub resource: String,
    /// `Condition` or the property path holding the `Fn::If`.
    pub at: String,
    pub condition: String,
    /// The parameters (or pseudo parameters) of unknown value it reads.
    pub parameters: Vec<String>,
}

/// Every named condition's value, `None` when undecided.
pub fn evaluate(
    template: &Value,
    params: &HashMap<String, Option<Value>>,
) -> Vec<(String, Option<bool>)> {
    let conditions = template
        .get("Conditions")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut e = Evaluator {
        conditions: &conditions,
        params,
        memo: HashMap::new(),
        visiting: BTreeSet::new(),
    };
    conditions.keys().map(|k| (k.clone(), e.named(k))).collect()
}

/// Removes the resources whose condition is false and resolves each decided `Fn::If` in the
/// resources; returns what stayed undecided.
pub fn apply(template: &mut Value, params: &HashMap<String, Option<Value>>) -> Vec<Undecided> {
    let values: HashMap<String, Option<bool>> = evaluate(template, params).into_iter().collect();
    let conditions = template
        .get("Conditions")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let unknown_of = |name: &str| -> Vec<String> {
        let mut out = BTreeSet::new();
        unknown_parameters(
            &Value::Object(Map::from_iter([(
                "Condition".to_string(),
                Value::String(name.into()),
            )])),
            &conditions,
            params,
            &mut BTreeSet::new(),
            &mut out,
        );
        out.into_iter().collect()
    };
    let mut undecided = Vec::new();
    let Some(resources) = template.get_mut("Resources").and_then(Value::as_object_mut) else {
        return undecided;
    };
    let ids: Vec<String> = resources.keys().cloned().collect();
    for id in ids {
        let cond = resources[&id]
            .get("Condition")
            .and_then(Value::as_str)
            .map(str::to_string);
        if let Some(c) = cond {
            match values.get(&c).copied().flatten() {
                Some(false) => {
                    resources.shift_remove(&id);
                    continue;
                }
                // The resource exists; which condition said so is no property of it (a renamed
                // condition that still holds changes nothing on AWS).
                Some(true) => {
                    if let Some(r) = resources.get_mut(&id).and_then(Value::as_object_mut) {
                        r.shift_remove("Condition");
                    }
                }
                None => undecided.push(Undecided {
                    version: String::new(),
                    resource: id.clone(),
                    at: "Condition".into(),
                    condition: c.clone(),
                    parameters: unknown_of(&c),
                }),
            }
        }
        if let Some(r) = resources.get_mut(&id) {
            let mut open = Vec::new();
            resolve_ifs(r, &values, String::new(), &mut open);
            for (at, c) in open {
                let parameters = unknown_of(&c);
                undecided.push(Undecided {
                    version: String::new(),
                    resource: id.clone(),
                    at,
                    condition: c,
                    parameters,
                });
            }
        }
    }
    undecided
}

struct Evaluator<'a> {
    conditions: &'a Map<String, Value>,
    params: &'a HashMap<String, Option<Value>>,
    memo: HashMap<String, Option<bool>>,
    visiting: BTreeSet<String>,
}

impl Evaluator<'_> {
    fn named(&mut self, name: &str) -> Option<bool> {
        if let Some(v) = self.memo.get(name) {
            return *v;
        }
        // A cycle is invalid in CloudFormation; undecided here.
        if !self.visiting.insert(name.to_string()) {
            return None;
        }
        let v = self
            .conditions
            .get(name)
            .cloned()
            .and_then(|c| self.condition(&c));
        self.visiting.remove(name);
        self.memo.insert(name.to_string(), v);
        v
    }

    fn condition(&mut self, c: &Value) -> Option<bool> {
        let m = c.as_object().filter(|m| m.len() == 1)?;
        let (k, arg) = m.iter().next()?;
        let items = arg.as_array();
        match k.as_str() {
            "Condition" => self.named(arg.as_str()?),
            "Fn::Not" => self.condition(items?.first()?).map(|b| !b),
            "Fn::And" | "Fn::Or" => {
                let want = k == "Fn::Or";
                let mut all_known = true;
                for x in items? {
                    match self.condition(x) {
                        // One true operand decides Or, one false decides And.
                        Some(b) if b == want => return Some(want),
                        Some(_) => {}
                        None => all_known = false,
                    }
                }
                all_known.then_some(!want)
            }
            "Fn::Equals" => {
                let items = items?;
                let (a, b) = (self.value(items.first()?)?, self.value(items.get(1)?)?);
                Some(a == b)
            }
            _ => None,
        }
    }

    /// A literal (numbers and booleans compared as their text, as CloudFormation compares
    /// strings) or a parameter of known value; `None` otherwise.
    fn value(&self, v: &Value) -> Option<Value> {
        match v {
            Value::String(_) => Some(v.clone()),
            Value::Number(n) => Some(Value::String(n.to_string())),
            Value::Bool(b) => Some(Value::String(b.to_string())),
            Value::Array(a) => a
                .iter()
                .map(|x| self.value(x))
                .collect::<Option<Vec<_>>>()
                .map(Value::Array),
            Value::Object(m) if m.len() == 1 => {
                let name = m.get("Ref")?.as_str()?;
                self.params.get(name).cloned().flatten()
            }
            _ => None,
        }
    }
}

/// The parameters of unknown value a condition reads (through named conditions too).
fn unknown_parameters(
    c: &Value,
    conditions: &Map<String, Value>,
    params: &HashMap<String, Option<Value>>,
    seen: &mut BTreeSet<String>,
    out: &mut BTreeSet<String>,
) {
    match c {
        Value::Object(m) => {
            if let (Some(Value::String(name)), 1) = (m.get("Condition"), m.len()) {
                if seen.insert(name.clone()) {
                    if let Some(def) = conditions.get(name) {
                        unknown_parameters(def, conditions, params, seen, out);
                    }
                }
                return;
            }
            if let (Some(Value::String(p)), 1) = (m.get("Ref"), m.len()) {
                if params.get(p).cloned().flatten().is_none() {
                    out.insert(p.clone());
                }
                return;
            }
            for x in m.values() {
                unknown_parameters(x, conditions, params, seen, out);
            }
        }
        Value::Array(a) => a
            .iter()
            .for_each(|x| unknown_parameters(x, conditions, params, seen, out)),
        _ => {}
    }
}

fn is_no_value(v: &Value) -> bool {
    v.as_object().is_some_and(|m| {
        m.len() == 1 && m.get("Ref").and_then(Value::as_str) == Some("AWS::NoValue")
    })
}

/// Replaces each `Fn::If` whose condition is decided by the branch it takes, removing the
/// property (or list item) when that branch is `AWS::NoValue`; `open` gets the paths of the
/// undecided ones.
fn resolve_ifs(
    v: &mut Value,
    values: &HashMap<String, Option<bool>>,
    path: String,
    open: &mut Vec<(String, String)>,
) {
    // Resolve repeatedly: a branch may itself be an Fn::If.
    loop {
        let chosen = match v
            .as_object()
            .filter(|m| m.len() == 1)
            .and_then(|m| m.get("Fn::If"))
        {
            Some(Value::Array(a)) if a.len() == 3 => {
                let name = a[0].as_str().unwrap_or_default().to_string();
                match values.get(&name).copied().flatten() {
                    Some(b) => Some(a[if b { 1 } else { 2 }].clone()),
                    None => {
                        open.push((path.clone(), name));
                        None
                    }
                }
            }
            _ => None,
        };
        match chosen {
            Some(c) => *v = c,
            None => break,
        }
    }
    match v {
        Value::Object(m) => {
            let keys: Vec<String> = m.keys().cloned().collect();
            for k in keys {
                let p = if path.is_empty() {
                    k.clone()
                } else if k.starts_with("Fn::") {
                    path.clone()
                } else {
                    format!("{path}.{k}")
                };
                if let Some(x) = m.get_mut(&k) {
                    resolve_ifs(x, values, p, open);
                    if is_no_value(x) {
                        m.shift_remove(&k);
                    }
                }
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter_mut().enumerate() {
                resolve_ifs(x, values, format!("{path}[{i}]"), open);
            }
            a.retain(|x| !is_no_value(x));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(given: &[(&str, Option<&str>)]) -> HashMap<String, Option<Value>> {
        given
            .iter()
            .map(|(k, v)| (k.to_string(), v.map(|s| Value::String(s.into()))))
            .collect()
    }

    // The conditions page's functions, each decided or not by the values known.
    #[test]
    fn conditions_follow_the_parameter_values() {
        let t = json!({"Conditions": {
            "IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]},
            "HasCert": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Cert"}, ""]}]},
            "Both": {"Fn::And": [{"Condition": "IsProd"}, {"Condition": "HasCert"}]},
            "Either": {"Fn::Or": [{"Condition": "IsProd"}, {"Fn::Equals": [{"Ref": "Vpc"}, "x"]}]},
            "Num": {"Fn::Equals": [{"Ref": "Count"}, 2]},
            "Region": {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}
        }});
        // (Env, Cert, Vpc (unknown when None), expected IsProd, HasCert, Both, Either)
        type Case<'a> = (&'a str, &'a str, Option<&'a str>, [Option<bool>; 4]);
        let cases: &[Case] = &[
            (
                "dev",
                "",
                None,
                [Some(false), Some(false), Some(false), None],
            ),
            (
                "prod",
                "",
                None,
                [Some(true), Some(false), Some(false), Some(true)],
            ),
            (
                "prod",
                "arn",
                Some("y"),
                [Some(true), Some(true), Some(true), Some(true)],
            ),
            (
                "dev",
                "arn",
                Some("x"),
                [Some(false), Some(true), Some(false), Some(true)],
            ),
        ];
        for (env, cert, vpc, want) in cases {
            let p = params(&[
                ("Env", Some(env)),
                ("Cert", Some(cert)),
                ("Vpc", *vpc),
                ("Count", Some("2")),
            ]);
            let got: HashMap<String, Option<bool>> = evaluate(&t, &p).into_iter().collect();
            let names = ["IsProd", "HasCert", "Both", "Either"];
            for (n, w) in names.iter().zip(want) {
                assert_eq!(got[*n], *w, "{n} with Env={env} Cert={cert:?} Vpc={vpc:?}");
            }
            assert_eq!(got["Num"], Some(true));
            assert_eq!(got["Region"], None);
        }
    }

    #[test]
    fn resources_and_ifs_follow_the_conditions() {
        let t = json!({
            "Conditions": {"HasCert": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Cert"}, ""]}]},
                           "Odd": {"Fn::Equals": [{"Ref": "Unknown"}, "1"]}},
            "Resources": {
                "Https": {"Type": "T", "Condition": "HasCert", "Properties": {}},
                "Rule": {"Type": "R", "Properties": {
                    "ListenerArn": {"Fn::If": ["HasCert", {"Ref": "Https"}, {"Ref": "Http"}]},
                    "Certs": [{"Fn::If": ["HasCert", {"Ref": "Cert"}, {"Ref": "AWS::NoValue"}]}],
                    "Opt": {"Fn::If": ["HasCert", 1, {"Ref": "AWS::NoValue"}]},
                    "Open": {"Fn::If": ["Odd", 1, 2]}}},
                "Maybe": {"Type": "T", "Condition": "Odd"}
            }
        });
        let mut off = t.clone();
        let u = apply(&mut off, &params(&[("Cert", Some(""))]));
        assert!(off["Resources"].get("Https").is_none());
        assert_eq!(
            off["Resources"]["Rule"]["Properties"]["ListenerArn"],
            json!({"Ref": "Http"})
        );
        assert_eq!(off["Resources"]["Rule"]["Properties"]["Certs"], json!([]));
        assert!(off["Resources"]["Rule"]["Properties"].get("Opt").is_none());
        let mut on = t.clone();
        apply(&mut on, &params(&[("Cert", Some("arn"))]));
        assert_eq!(
            on["Resources"]["Https"],
            json!({"Type": "T", "Properties": {}})
        );
        assert_eq!(
            on["Resources"]["Rule"]["Properties"]["ListenerArn"],
            json!({"Ref": "Https"})
        );
        assert_eq!(on["Resources"]["Rule"]["Properties"]["Opt"], json!(1));
        // The undecided ones are kept as they are and listed with the parameter they read.
        let at: Vec<(&str, &str, &[String])> = u
            .iter()
            .map(|x| (x.resource.as_str(), x.at.as_str(), x.parameters.as_slice()))
            .collect();
        assert_eq!(
            at,
            vec![
                ("Rule", "Properties.Open", &["Unknown".to_string()][..]),
                ("Maybe", "Condition", &["Unknown".to_string()][..]),
            ]
        );
        assert_eq!(
            off["Resources"]["Rule"]["Properties"]["Open"],
            t["Resources"]["Rule"]["Properties"]["Open"]
        );
    }
}
