//! Amazon EventBridge as its API reference defines it: a rule's name (PutRule `Name`) has 1 to
//! 64 characters from `[.\-_A-Za-z0-9]`.

use super::{owner, single, App, Finding, Rule, Severity, Stack};
use serde_json::Value;

pub const RULE_NAME: Rule = Rule {
    code: "EVENTS_RULE_NAME_INVALID",
    severity: Severity::Error,
    rule: "an EventBridge rule's name has at most 64 characters, each a letter, digit, '.', '-' or '_' (PutRule: Name)",
    doc: "https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html",
};

pub const RULES: &[&Rule] = &[&RULE_NAME];

/// The length of one group of the stack ID's UUID when `v` selects it
/// (`Fn::Select [k, Fn::Split ["-", Fn::Select [2, Fn::Split ["/", Ref AWS::StackId]]]]`): the
/// stack ID is `arn:aws:cloudformation:region:account:stack/name/uuid` (pseudo parameters page,
/// AWS::StackId), and a UUID's groups have 8, 4, 4, 4 and 12 characters.
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/pseudo-parameter-reference.html
fn stack_id_group_len(v: &Value) -> Option<usize> {
    let sel = single(v, "Fn::Select")?.as_array()?;
    let k = sel
        .first()?
        .as_u64()
        .or_else(|| sel.first()?.as_str()?.parse().ok())?;
    let split = single(sel.get(1)?, "Fn::Split")?.as_array()?;
    if split.first()?.as_str()? != "-" {
        return None;
    }
    let inner = single(split.get(1)?, "Fn::Select")?.as_array()?;
    let by_slash = single(inner.get(1)?, "Fn::Split")?.as_array()?;
    let is_id = single(by_slash.get(1)?, "Ref")?.as_str()? == "AWS::StackId";
    let is_uuid = inner
        .first()?
        .as_u64()
        .or_else(|| inner.first()?.as_str()?.parse().ok())?
        == 2
        && by_slash.first()?.as_str()? == "/";
    (is_id && is_uuid).then(|| [8, 4, 4, 4, 12].get(k as usize).copied())?
}

/// The fewest characters a name can have and the literal characters it certainly has: a
/// literal string, or an `Fn::Sub` whose variables count as their literal value, a stack-ID
/// group's length, or nothing when unknown.
fn least(v: &Value) -> Option<(usize, String)> {
    if let Some(s) = v.as_str() {
        return Some((s.chars().count(), s.to_string()));
    }
    let (text, vars) = match single(v, "Fn::Sub")? {
        Value::String(t) => (t.as_str(), None),
        Value::Array(a) => (a.first()?.as_str()?, a.get(1).and_then(Value::as_object)),
        _ => return None,
    };
    let (mut n, mut lit) = (0, String::new());
    let mut rest = text;
    while let Some(at) = rest.find("${") {
        lit.push_str(&rest[..at]);
        n += rest[..at].chars().count();
        let after = &rest[at + 2..];
        let end = after.find('}')?;
        let var = vars.and_then(|m| m.get(&after[..end]));
        match var {
            Some(Value::String(s)) => {
                lit.push_str(s);
                n += s.chars().count();
            }
            Some(x) => n += stack_id_group_len(x).unwrap_or(0),
            None => {}
        }
        rest = &after[end + 1..];
    }
    lit.push_str(rest);
    n += rest.chars().count();
    Some((n, lit))
}

pub fn check(st: &Stack, apps: &[App]) -> Vec<Finding> {
    let mut out = Vec::new();
    for (id, p) in st.of_type("AWS::Events::Rule") {
        let Some((n, lit)) = least(&p["Name"]) else {
            continue;
        };
        let bad: String = lit
            .chars()
            .filter(|c| !(c.is_ascii_alphanumeric() || ".-_".contains(*c)))
            .collect();
        if n > 64 || !bad.is_empty() {
            let app = owner(apps, id).map(|a| a.name.as_str()).unwrap_or("-");
            out.push(Finding::new(
                &RULE_NAME,
                app,
                &[id],
                format!(
                    "{id}'s name has at least {n} characters{}",
                    if bad.is_empty() {
                        String::new()
                    } else {
                        format!(" and holds {bad:?}")
                    }
                ),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::test_stack;
    use serde_json::json;

    /// PutRule's Name: length 1 to 64, pattern `[\.\-_A-Za-z0-9]+`; the stack ID's last UUID
    /// group counts 12 characters, an unknown variable none.
    #[test]
    fn rule_names_within_the_put_rule_limits() {
        let tag = json!({"Fn::Select": [4, {"Fn::Split": ["-", {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}]}]});
        let cases = [
            (json!("a".repeat(64)), false),
            (json!("a".repeat(65)), true),
            (json!("orders/alarm"), true),
            (
                json!({"Fn::Sub": [format!("x-${{T}}-{}", "a".repeat(49)), {"T": tag}]}),
                false,
            ),
            (
                json!({"Fn::Sub": [format!("x-${{T}}-{}", "a".repeat(50)), {"T": tag}]}),
                true,
            ),
            (
                json!({"Fn::Sub": format!("${{AWS::StackName}}-{}", "a".repeat(60))}),
                false,
            ),
            (json!({"Fn::Sub": ["${P}-a", {"P": "b".repeat(63)}]}), true),
        ];
        for (name, bad) in cases {
            let st = test_stack(
                &json!({"R": {"Type": "AWS::Events::Rule", "Properties": {"Name": name}}}),
            );
            let got = check(&st, &st.apps);
            assert_eq!(!got.is_empty(), bad, "{name}: {got:?}");
        }
    }
}
