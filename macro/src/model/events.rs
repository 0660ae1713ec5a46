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

/// Every alarm a weighted failover reads (its trigger and its recovery alarm) must reach the
/// provider when its state changes: CloudWatch sends each state change to EventBridge as an
/// event with `source` `aws.cloudwatch`, `detail-type` `CloudWatch Alarm State Change` and the
/// alarm's name in `detail.alarmName`
/// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html),
/// and a pattern's array matches an event whose field is any of its values
/// (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html).
pub const FAILOVER_ALARM_ROUTED: Rule = Rule {
    code: "FAILOVER_ALARM_EVENTS_NOT_ROUTED",
    severity: Severity::Error,
    rule: "each alarm a failover reads (AlarmName, RecoveryAlarmName) is matched by an EventBridge rule (source aws.cloudwatch, detail-type CloudWatch Alarm State Change, detail.alarmName) that targets the failover's provider",
    doc: "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html",
};

pub const RULES: &[&Rule] = &[&RULE_NAME, &FAILOVER_ALARM_ROUTED];

/// Whether an event pattern field (an array of values) holds `v`.
fn lists(field: &Value, v: &Value) -> bool {
    field.as_array().is_some_and(|a| a.contains(v))
}

/// Whether rule `p` sends the state changes of alarm `alarm` to `target`.
fn routes(p: &Value, alarm: &Value, target: &Value) -> bool {
    let pat = &p["EventPattern"];
    lists(&pat["source"], &Value::from("aws.cloudwatch"))
        && lists(
            &pat["detail-type"],
            &Value::from("CloudWatch Alarm State Change"),
        )
        && lists(&pat["detail"]["alarmName"], alarm)
        && p["State"] != "DISABLED"
        && p["Targets"]
            .as_array()
            .is_some_and(|ts| ts.iter().any(|t| &t["Arn"] == target))
}

fn failover_routes(st: &Stack, apps: &[App]) -> Vec<Finding> {
    let mut out = Vec::new();
    for (id, p) in st.of_type("Custom::FargateWeightedFailover") {
        for key in ["AlarmName", "RecoveryAlarmName"] {
            let alarm = &p[key];
            if alarm.is_null() {
                continue;
            }
            let routed = st
                .of_type("AWS::Events::Rule")
                .any(|(_, r)| routes(r, alarm, &p["ServiceToken"]));
            if !routed {
                let app = owner(apps, id).map(|a| a.name.as_str()).unwrap_or("-");
                out.push(Finding::new(
                    &FAILOVER_ALARM_ROUTED,
                    app,
                    &[id],
                    format!("no EventBridge rule sends the state changes of {id}'s {key} {alarm} to its provider"),
                ));
            }
        }
    }
    out
}

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
    let mut out = failover_routes(st, apps);
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

    /// The page's single-metric state-change event names its alarm in `detail.alarmName`: a
    /// rule matches it when its pattern lists that name (one of several is enough), with the
    /// page's source and detail-type, and targets the provider.
    #[test]
    fn failover_alarms_reach_the_provider() {
        let token = json!({"Fn::ImportValue": "FargateAppProvider-ServiceToken"});
        let rule = |names: Value, source: &str, target: &Value| {
            json!({"Type": "AWS::Events::Rule", "Properties": {
                "EventPattern": {"source": [source], "detail-type": ["CloudWatch Alarm State Change"], "detail": {"alarmName": names}},
                "Targets": [{"Id": "provider", "Arn": target}]}})
        };
        let trig = json!({"Ref": "XFailoverAlarm"});
        let rec = json!({"Ref": "XFailoverRecoveryAlarm"});
        let other = json!("arn:aws:lambda:us-east-1:123456789012:function:other");
        let cases = [
            (rule(json!([trig, rec]), "aws.cloudwatch", &token), 0),
            // The page's example alarm name, listed alone: the recovery alarm is not routed.
            (rule(json!([trig]), "aws.cloudwatch", &token), 1),
            (rule(json!([trig, rec]), "aws.ec2", &token), 2),
            (rule(json!([trig, rec]), "aws.cloudwatch", &other), 2),
        ];
        for (r, missing) in cases {
            let st = test_stack(&json!({
                "XEvents": r,
                "XWeightedFailover": {"Type": "Custom::FargateWeightedFailover", "Properties": {
                    "ServiceToken": token, "AlarmName": trig, "RecoveryAlarmName": rec}}
            }));
            let got = failover_routes(&st, &st.apps);
            assert_eq!(got.len(), missing, "{r}: {got:?}");
        }
    }
}
