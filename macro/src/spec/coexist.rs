//! Whether two resources' `Condition`s can both be true in one stack. A resource whose condition
//! is false is not created; one whose condition is true is
//! (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/conditions-section-structure.html).
//! The uniqueness checks (a rule priority per listener, a port per load balancer, a name per
//! namespace, a record name per hosted zone) hold whenever some choice of the stack's
//! parameters creates both claimants, so two conditions are taken apart only when no choice can
//! make both true: `Fn::Equals` of one parameter with two different values, `Fn::Not`, and what
//! `Fn::And`/`Fn::Or` build from those (the condition functions of
//! https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-conditions.html).

use serde_json::{Map, Value};

/// A leaf the conditions are built from: an `Fn::Equals` of an expression (a parameter's
/// `Ref`, a mapping lookup) with a literal, or anything else we cannot see into.
#[derive(Debug, Clone, PartialEq)]
enum Atom {
    Equals { expr: String, value: String },
    Opaque(String),
}

enum Formula {
    Const(bool),
    Atom(usize),
    Not(Box<Formula>),
    And(Vec<Formula>),
    Or(Vec<Formula>),
}

struct Builder<'a> {
    defs: Option<&'a Map<String, Value>>,
    atoms: Vec<Atom>,
}

fn single<'v>(v: &'v Value, key: &str) -> Option<&'v Value> {
    v.as_object()
        .filter(|m| m.len() == 1)
        .and_then(|m| m.get(key))
}

fn literal(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

impl Builder<'_> {
    fn atom(&mut self, a: Atom) -> Formula {
        let i = match self.atoms.iter().position(|x| *x == a) {
            Some(i) => i,
            None => {
                self.atoms.push(a);
                self.atoms.len() - 1
            }
        };
        Formula::Atom(i)
    }

    fn of(&mut self, v: &Value, depth: u8) -> Formula {
        if depth > 24 {
            return self.atom(Atom::Opaque(v.to_string()));
        }
        if let Some(name) = single(v, "Condition").and_then(Value::as_str) {
            return self.named(name, depth + 1);
        }
        let args = |k| single(v, k).and_then(Value::as_array);
        if let Some(a) = args("Fn::Not") {
            return match a.first() {
                Some(x) => Formula::Not(Box::new(self.of(x, depth + 1))),
                None => self.atom(Atom::Opaque(v.to_string())),
            };
        }
        if let Some(a) = args("Fn::And") {
            return Formula::And(a.iter().map(|x| self.of(x, depth + 1)).collect());
        }
        if let Some(a) = args("Fn::Or") {
            return Formula::Or(a.iter().map(|x| self.of(x, depth + 1)).collect());
        }
        if let Some([x, y]) = args("Fn::Equals").map(Vec::as_slice) {
            return match (literal(x), literal(y)) {
                (Some(a), Some(b)) => Formula::Const(a == b),
                (None, Some(value)) | (Some(value), None) => {
                    let expr = if literal(x).is_some() { y } else { x };
                    self.atom(Atom::Equals {
                        expr: expr.to_string(),
                        value,
                    })
                }
                (None, None) => self.atom(Atom::Opaque(v.to_string())),
            };
        }
        self.atom(Atom::Opaque(v.to_string()))
    }

    fn named(&mut self, name: &str, depth: u8) -> Formula {
        match self.defs.and_then(|d| d.get(name)) {
            Some(body) => self.of(&body.clone(), depth),
            None => self.atom(Atom::Opaque(format!("Condition:{name}"))),
        }
    }
}

fn holds(f: &Formula, bits: &[bool]) -> bool {
    match f {
        Formula::Const(b) => *b,
        Formula::Atom(i) => bits[*i],
        Formula::Not(x) => !holds(x, bits),
        Formula::And(xs) => xs.iter().all(|x| holds(x, bits)),
        Formula::Or(xs) => xs.iter().any(|x| holds(x, bits)),
    }
}

/// Whether some choice of parameter values makes both conditions true (`None` is "always").
/// `conditions` is the template's `Conditions` section. Beyond 14 distinct leaves, assumes they can.
pub fn may_coexist(
    conditions: Option<&Map<String, Value>>,
    a: Option<&Value>,
    b: Option<&Value>,
) -> bool {
    let mut bld = Builder {
        defs: conditions,
        atoms: Vec::new(),
    };
    let mut both = Vec::new();
    for c in [a, b].into_iter().flatten() {
        match c.as_str() {
            Some(name) => both.push(bld.named(name, 0)),
            None => both.push(bld.of(c, 0)),
        }
    }
    let f = Formula::And(both);
    let atoms = bld.atoms;
    if atoms.len() > 14 {
        return true;
    }
    (0..1u32 << atoms.len()).any(|m| {
        let bits: Vec<bool> = (0..atoms.len()).map(|i| m & (1 << i) != 0).collect();
        // One expression has one value: two of its Equals with different values cannot both hold.
        let consistent = atoms.iter().enumerate().all(|(i, x)| {
            atoms
                .iter()
                .enumerate()
                .skip(i + 1)
                .all(|(j, y)| match (x, y) {
                    (
                        Atom::Equals {
                            expr: e1,
                            value: v1,
                        },
                        Atom::Equals {
                            expr: e2,
                            value: v2,
                        },
                    ) if e1 == e2 && v1 != v2 => !(bits[i] && bits[j]),
                    _ => true,
                })
        });
        consistent && holds(&f, &bits)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Conditions as the CloudFormation condition-functions page writes them, and pairs that can
    /// or cannot hold together.
    #[test]
    fn two_conditions_hold_together_unless_no_parameter_choice_allows_it() {
        let defs = json!({
            "IsProd": { "Fn::Equals": [{ "Ref": "EnvType" }, "prod"] },
            "IsDev": { "Fn::Equals": [{ "Ref": "EnvType" }, "dev"] },
            "IsNotProd": { "Fn::Not": [{ "Condition": "IsProd" }] },
            "WantCopy": { "Fn::Equals": [{ "Ref": "Copy" }, "yes"] },
            "ProdAndCopy": { "Fn::And": [{ "Condition": "IsProd" }, { "Condition": "WantCopy" }] },
            "DevOrTest": { "Fn::Or": [{ "Condition": "IsDev" }, { "Fn::Equals": ["test", { "Ref": "EnvType" }] }] },
            "Never": { "Fn::Equals": ["a", "b"] },
            "Opaque": { "Fn::Equals": [{ "Ref": "A" }, { "Ref": "B" }] }
        });
        let defs = defs.as_object();
        let table = [
            (Some("IsProd"), Some("WantCopy"), true),
            (Some("IsProd"), Some("IsDev"), false),
            (Some("IsProd"), Some("IsNotProd"), false),
            (Some("IsDev"), Some("IsNotProd"), true),
            (Some("IsProd"), Some("IsProd"), true),
            (None, Some("IsProd"), true),
            (None, None, true),
            (Some("ProdAndCopy"), Some("DevOrTest"), false),
            (Some("WantCopy"), Some("DevOrTest"), true),
            (Some("Never"), None, false),
            (Some("Opaque"), Some("IsProd"), true),
            (Some("Unknown"), Some("IsProd"), true),
        ];
        for (a, b, want) in table {
            let (a, b) = (a.map(|s| json!(s)), b.map(|s| json!(s)));
            assert_eq!(
                may_coexist(defs, a.as_ref(), b.as_ref()),
                want,
                "{a:?} {b:?}"
            );
        }
    }
}
