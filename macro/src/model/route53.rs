//! Route 53 as its API reference defines it: a record is identified in its hosted zone by its
//! name and type (names with or without the final dot are one name, API_ResourceRecordSet;
//! Route 53 stores letters as lowercase,
//! https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/DomainNameFormat.html; a `SetIdentifier`
//! tells weighted, latency and other routing records of one name apart), and a CREATE of a name
//! and type the zone already has fails (InvalidChangeBatch). A name that a resolver looks up
//! before the record exists is answered NXDOMAIN and cached for the zone's negative TTL, so a
//! resource that requests a record's name must be created after the record.

use super::{items, key, lit_str, names_used, owner, single, sub_text, App, Finding, Rule};
use super::{Severity, Stack};
use serde_json::Value;
use std::collections::BTreeSet;

pub const RECORD_IN_USE: Rule = Rule {
    code: "ROUTE53_RECORD_IN_USE",
    severity: Severity::Error,
    rule: "a hosted zone has one record of a name and type (names without case or the final dot; SetIdentifier tells routing records apart): a second CREATE fails with InvalidChangeBatch",
    doc: "https://docs.aws.amazon.com/Route53/latest/APIReference/API_ChangeResourceRecordSets.html",
};

pub const GATE_BEFORE_RECORD: Rule = Rule {
    code: "ROUTE53_REQUEST_BEFORE_RECORD",
    severity: Severity::Error,
    rule: "a name looked up before its record exists is answered NXDOMAIN and cached for the zone's negative TTL: a resource requesting a record's name must depend on the record (resources without a dependency are created in parallel)",
    doc: "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/SOA-NSrecords.html",
};

pub const RULES: &[&Rule] = &[&RECORD_IN_USE, &GATE_BEFORE_RECORD];

/// A record name as Route 53 compares it: lowercase, without the final dot; a parameter's
/// `Ref` as `{{P}}` (how `sub_text` shows `${P}`).
fn record_name(v: &Value) -> Option<String> {
    if let Some(s) = lit_str(v) {
        return Some(s.trim_end_matches('.').to_ascii_lowercase());
    }
    let p = single(v, "Ref")?.as_str()?;
    Some(format!("{{{{{}}}}}", p.to_ascii_lowercase()))
}

fn records(st: &Stack) -> Vec<(&str, String, String, String)> {
    st.of_type("AWS::Route53::RecordSet")
        .filter_map(|(id, p)| {
            let zone = if p["HostedZoneId"].is_null() {
                key(&p["HostedZoneName"])
            } else {
                key(&p["HostedZoneId"])
            };
            let ty = lit_str(&p["Type"])?.to_string();
            if !p["SetIdentifier"].is_null() {
                return None;
            }
            Some((id, record_name(&p["Name"])?, zone, ty))
        })
        .collect()
}

/// Every string (or `Fn::Sub` text) in a value, as `sub_text` shows it, lowercased.
fn texts(v: &Value, out: &mut Vec<String>) {
    if let Some(t) = single(v, "Fn::Sub").and(sub_text(v)) {
        out.push(t.to_ascii_lowercase());
        return;
    }
    match v {
        Value::String(s) => out.push(s.to_ascii_lowercase()),
        Value::Object(m) => m.values().for_each(|x| texts(x, out)),
        Value::Array(_) => items(v).for_each(|x| texts(x, out)),
        _ => {}
    }
}

/// Whether a URL in `text` has `host` as its host.
fn requests(text: &str, host: &str) -> bool {
    text.match_indices("://").any(|(at, _)| {
        let rest = &text[at + 3..];
        rest.strip_prefix(host)
            .is_some_and(|after| after.is_empty() || after.starts_with(['/', ':', '?']))
    })
}

/// Whether CloudFormation creates `from` after `to`: `to` is among what `from` names (`Ref`,
/// `Fn::GetAtt`, `Fn::Sub`, `DependsOn`), directly or through others.
fn after(st: &Stack, from: &str, to: &str) -> bool {
    let mut seen = BTreeSet::new();
    let mut todo = vec![from.to_string()];
    while let Some(id) = todo.pop() {
        if !seen.insert(id.clone()) {
            continue;
        }
        let Some(r) = st.get(&id) else { continue };
        for n in names_used(r) {
            if n == to {
                return true;
            }
            todo.push(n);
        }
    }
    false
}

pub fn check(st: &Stack, apps: &[App]) -> Vec<Finding> {
    let recs = records(st);
    let mut out = Vec::new();
    for (i, (a, name, zone, ty)) in recs.iter().enumerate() {
        for (b, other, zone2, ty2) in &recs[i + 1..] {
            if name == other && zone == zone2 && ty == ty2 {
                let app = owner(apps, b).or_else(|| owner(apps, a));
                out.push(Finding::new(
                    &RECORD_IN_USE,
                    app.map(|x| x.name.as_str()).unwrap_or("-"),
                    &[a, b],
                    format!("{a} and {b} both create the {ty} record {name} in the hosted zone {zone}: Route 53 refuses the second"),
                ));
            }
        }
    }
    // Resources that request a URL: the gate's custom resource, and the service whose lifecycle
    // hooks carry the gate's details.
    let requesters = st
        .of_type("Custom::FargateLoadTestGate")
        .chain(st.of_type("AWS::ECS::Service"));
    for (id, p) in requesters {
        let mut t = Vec::new();
        texts(p, &mut t);
        for (rec, name, ..) in &recs {
            if t.iter().any(|x| requests(x, name)) && !after(st, id, rec) {
                let app = owner(apps, id).map(|x| x.name.as_str()).unwrap_or("-");
                out.push(Finding::new(
                    &GATE_BEFORE_RECORD,
                    app,
                    &[id, rec],
                    format!("{id} requests {name}, the name of the record {rec}, but does not depend on it: CloudFormation may create or update them in parallel, and an early lookup caches NXDOMAIN"),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::test_stack;
    use serde_json::json;

    fn rec(name: &str, ty: &str, set: Option<&str>) -> Value {
        json!({"Type": "AWS::Route53::RecordSet", "Properties": {
            "HostedZoneId": {"Ref": "Zone"}, "Name": name, "Type": ty, "SetIdentifier": set}})
    }

    /// API_ResourceRecordSet and ChangeResourceRecordSets: names are compared without case and
    /// the final dot; another type, or records told apart by SetIdentifier, may share a name.
    #[test]
    fn one_record_per_name_and_type_in_a_zone() {
        let cases = [
            (
                rec("www.example.com", "A", None),
                rec("www.example.com", "A", None),
                1,
            ),
            (
                rec("www.example.com", "A", None),
                rec("WWW.example.com.", "A", None),
                1,
            ),
            (
                rec("www.example.com", "A", None),
                rec("www.example.com", "AAAA", None),
                0,
            ),
            (
                rec("www.example.com", "A", None),
                rec("api.example.com", "A", None),
                0,
            ),
            (
                rec("www.example.com", "A", Some("one")),
                rec("www.example.com", "A", Some("two")),
                0,
            ),
        ];
        for (a, b, want) in cases {
            let st = test_stack(&json!({"ADnsRecord": a, "BDnsRecord": b}));
            let found: Vec<_> = check(&st, &st.apps)
                .into_iter()
                .filter(|f| f.code == "ROUTE53_RECORD_IN_USE")
                .collect();
            assert_eq!(found.len(), want, "{found:?}");
        }
    }

    /// A gate that requests the record's name is created after the record, or flagged.
    #[test]
    fn a_request_for_a_record_name_waits_for_the_record() {
        let gate = |url: Value, deps: Value| {
            json!({"Type": "Custom::FargateLoadTestGate", "DependsOn": deps,
                   "Properties": {"Url": url}})
        };
        let cases = [
            (
                gate(json!("https://www.example.com/"), json!([])),
                "www.example.com",
                1,
            ),
            (
                gate(json!("https://www.example.com/"), json!(["WebDnsRecord"])),
                "www.example.com",
                0,
            ),
            (
                gate(json!("https://WWW.example.com:8443/x"), json!([])),
                "www.example.com.",
                1,
            ),
            (
                gate(json!("https://www.example.com.evil/"), json!([])),
                "www.example.com",
                0,
            ),
            (
                gate(json!({"Fn::Sub": "https://${Name}/"}), json!([])),
                "",
                1,
            ),
            (
                gate(json!({"Fn::Sub": "https://${Name}/"}), json!(["Mid"])),
                "",
                0,
            ),
        ];
        for (g, name, want) in cases {
            let name = if name.is_empty() {
                json!({"Ref": "Name"})
            } else {
                json!(name)
            };
            let st = test_stack(&json!({
                "WebLoadTestGate": g,
                "Mid": {"Type": "AWS::SNS::Topic", "DependsOn": "WebDnsRecord"},
                "WebDnsRecord": {"Type": "AWS::Route53::RecordSet", "Properties": {
                    "HostedZoneId": "Z1", "Name": name, "Type": "A"}}
            }));
            let found = check(&st, &st.apps);
            assert_eq!(found.len(), want, "{found:?}");
            assert!(found
                .iter()
                .all(|f| f.code == "ROUTE53_REQUEST_BEFORE_RECORD"));
        }
    }
}
