//! The IAM statement and security-group rule tables of a diff, and whether a change broadens
//! access: a permission the old version did not grant (a new action, or a resource wider than
//! any the old statements name), a new principal allowed to assume a role, a managed policy
//! attached, or a new ingress rule open to any address.

use serde::Serialize;
use serde_json::Value;

/// One IAM statement of a role or policy, with its lists flattened to text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct IamRow {
    /// The role or policy resource (its logical ID).
    pub resource: String,
    /// `Policy` (an identity policy statement), `Trust` (AssumeRolePolicyDocument) or
    /// `ManagedPolicy` (an entry of ManagedPolicyArns).
    pub kind: String,
    pub effect: String,
    /// `Action`, or `NotAction: ...`; for a trust statement the principals.
    pub actions: Vec<String>,
    pub resources: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
}

/// One security-group rule.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SgRow {
    /// The group the rule belongs to (logical ID when it is one of the template's).
    pub group: String,
    /// `Ingress` or `Egress`.
    pub direction: String,
    /// `tcp 8080`, `tcp 8000-8010`, `all`.
    pub ports: String,
    /// `0.0.0.0/0`, `sg WebLoadBalancerSecurityGroup`, `pl pl-123`.
    pub peer: String,
}

/// A row present in one version only.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RowChange<T> {
    /// `Add` or `Remove`.
    pub change: &'static str,
    #[serde(flatten)]
    pub row: T,
}

/// What changed in IAM statements and security-group rules, and the broadening warnings.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecurityChanges {
    pub iam: Vec<RowChange<IamRow>>,
    pub security_groups: Vec<RowChange<SgRow>>,
    pub broadening: Vec<String>,
}

/// Compact text of a value: strings as they are, a `Ref`/`GetAtt` as `Id` or `Id.Attr`, other
/// intrinsics as JSON.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(m) if m.len() == 1 => {
            if let Some(Value::String(id)) = m.get("Ref") {
                return id.clone();
            }
            match m.get("Fn::GetAtt") {
                Some(Value::Array(a)) => a.iter().map(text).collect::<Vec<_>>().join("."),
                Some(Value::String(s)) => s.clone(),
                _ => serde_json::to_string(v).unwrap_or_default(),
            }
        }
        _ => serde_json::to_string(v).unwrap_or_default(),
    }
}

fn list(v: Option<&Value>) -> Vec<String> {
    match v {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.iter().map(text).collect(),
        Some(x) => vec![text(x)],
    }
}

fn statements(doc: Option<&Value>) -> Vec<&Value> {
    match doc.and_then(|d| d.get("Statement")) {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(s @ Value::Object(_)) => vec![s],
        _ => Vec::new(),
    }
}

/// A statement's `Action` or `Resource` list, or its `NotAction`/`NotResource` one marked so.
fn element(s: &Value, key: &str) -> Vec<String> {
    match s.get(key) {
        Some(v) => list(Some(v)),
        None => list(s.get(format!("Not{key}")))
            .into_iter()
            .map(|x| format!("Not{key}: {x}"))
            .collect(),
    }
}

fn iam_row(resource: &str, kind: &str, s: &Value) -> IamRow {
    let actions = if kind == "Trust" {
        match s.get("Principal") {
            Some(Value::Object(m)) => m
                .iter()
                .flat_map(|(k, v)| list(Some(v)).into_iter().map(move |p| format!("{k}:{p}")))
                .collect(),
            other => list(other),
        }
    } else {
        element(s, "Action")
    };
    let resources = element(s, "Resource");
    IamRow {
        resource: resource.to_string(),
        kind: kind.to_string(),
        effect: s.get("Effect").map(text).unwrap_or_else(|| "Allow".into()),
        actions,
        resources,
        condition: s
            .get("Condition")
            .map(|c| serde_json::to_string(c).unwrap_or_default()),
    }
}

/// Every IAM statement of the template's roles and policies.
pub fn iam_rows(resources: &serde_json::Map<String, Value>) -> Vec<IamRow> {
    let mut rows = Vec::new();
    for (id, r) in resources {
        let p = r.get("Properties");
        let get = |k: &str| p.and_then(|p| p.get(k));
        match r.get("Type").and_then(Value::as_str) {
            Some("AWS::IAM::Role") => {
                for s in statements(get("AssumeRolePolicyDocument")) {
                    rows.push(iam_row(id, "Trust", s));
                }
                if let Some(Value::Array(ps)) = get("Policies") {
                    for pol in ps {
                        for s in statements(pol.get("PolicyDocument")) {
                            rows.push(iam_row(id, "Policy", s));
                        }
                    }
                }
                for arn in list(get("ManagedPolicyArns")) {
                    rows.push(IamRow {
                        resource: id.clone(),
                        kind: "ManagedPolicy".into(),
                        effect: "Allow".into(),
                        actions: Vec::new(),
                        resources: vec![arn],
                        condition: None,
                    });
                }
            }
            Some("AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy" | "AWS::IAM::RolePolicy") => {
                for s in statements(get("PolicyDocument")) {
                    rows.push(iam_row(id, "Policy", s));
                }
            }
            _ => {}
        }
    }
    rows
}

fn ports(rule: &Value) -> String {
    let proto = rule.get("IpProtocol").map(text).unwrap_or_default();
    if proto == "-1" || proto.eq_ignore_ascii_case("all") {
        return "all".into();
    }
    let from = rule.get("FromPort").map(text);
    let to = rule.get("ToPort").map(text);
    match (from, to) {
        (Some(f), Some(t)) if f == t => format!("{proto} {f}"),
        (Some(f), Some(t)) => format!("{proto} {f}-{t}"),
        (Some(f), None) | (None, Some(f)) => format!("{proto} {f}"),
        (None, None) => proto,
    }
}

fn peer(rule: &Value) -> String {
    for (k, label) in [
        ("CidrIp", ""),
        ("CidrIpv6", ""),
        ("SourceSecurityGroupId", "sg "),
        ("DestinationSecurityGroupId", "sg "),
        ("SourceSecurityGroupName", "sg "),
        ("SourcePrefixListId", "pl "),
        ("DestinationPrefixListId", "pl "),
    ] {
        if let Some(v) = rule.get(k) {
            return format!("{label}{}", text(v));
        }
    }
    "(none)".into()
}

fn sg_row(group: String, direction: &str, rule: &Value) -> SgRow {
    SgRow {
        group,
        direction: direction.to_string(),
        ports: ports(rule),
        peer: peer(rule),
    }
}

/// Every rule of the template's security groups, inline or as their own resources.
pub fn sg_rows(resources: &serde_json::Map<String, Value>) -> Vec<SgRow> {
    let mut rows = Vec::new();
    for (id, r) in resources {
        let Some(p) = r.get("Properties") else {
            continue;
        };
        match r.get("Type").and_then(Value::as_str) {
            Some("AWS::EC2::SecurityGroup") => {
                for (key, dir) in [
                    ("SecurityGroupIngress", "Ingress"),
                    ("SecurityGroupEgress", "Egress"),
                ] {
                    if let Some(Value::Array(rules)) = p.get(key) {
                        for rule in rules {
                            rows.push(sg_row(id.clone(), dir, rule));
                        }
                    }
                }
            }
            Some(t @ ("AWS::EC2::SecurityGroupIngress" | "AWS::EC2::SecurityGroupEgress")) => {
                let group = p
                    .get("GroupId")
                    .or_else(|| p.get("GroupName"))
                    .map(text)
                    .unwrap_or_else(|| id.clone());
                let group = group.strip_suffix(".GroupId").unwrap_or(&group).to_string();
                let dir = if t.ends_with("Ingress") {
                    "Ingress"
                } else {
                    "Egress"
                };
                rows.push(sg_row(group, dir, p));
            }
            _ => {}
        }
    }
    rows
}

/// IAM's wildcard match: `*` any run of characters, `?` one, as ELBv2's path patterns (the
/// model's matcher). Action names are matched without regard to case, resource ARNs with it
/// ("Action ... names are case insensitive":
/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html;
/// "you can use wildcard characters (* and ?) within any ARN segment":
/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html).
pub fn wildcard_match(pattern: &str, value: &str) -> bool {
    crate::model::elbv2::wildcard(pattern, value, false)
}

/// Whether `old` grants everything `new` names: equal, or a wildcard of `old` matches it
/// (a value that is an intrinsic is only covered by the same text or by `*`).
fn covers(old: &str, new: &str, ignore_case: bool) -> bool {
    if old == new || old == "*" {
        return true;
    }
    if new.starts_with('{') || old.starts_with('{') || !old.contains(['*', '?']) {
        return ignore_case && old.eq_ignore_ascii_case(new);
    }
    crate::model::elbv2::wildcard(old, new, ignore_case)
}

/// The (action, resource) pairs an Allow statement grants, per resource of the template.
fn grants(rows: &[IamRow]) -> Vec<(&str, &str, &str, &str)> {
    let mut out = Vec::new();
    for r in rows.iter().filter(|r| r.effect == "Allow") {
        match r.kind.as_str() {
            "Policy" => {
                for a in &r.actions {
                    for res in &r.resources {
                        out.push((r.resource.as_str(), "Policy", a.as_str(), res.as_str()));
                    }
                }
            }
            "Trust" => {
                for a in &r.actions {
                    out.push((r.resource.as_str(), "Trust", a.as_str(), ""));
                }
            }
            _ => {
                for res in &r.resources {
                    out.push((r.resource.as_str(), "ManagedPolicy", "", res.as_str()));
                }
            }
        }
    }
    out
}

/// An ingress open to every address: IPv4 `0.0.0.0/0` or IPv6 `::/0` ("0.0.0.0/0 ... all
/// IPv4 addresses", https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html).
fn open_to_all(peer: &str) -> bool {
    peer == "0.0.0.0/0" || peer == "::/0"
}

/// The rows only the new version has (`Add`), then those only the old one has (`Remove`).
fn row_changes<T: Clone + PartialEq>(old: &[T], new: &[T]) -> Vec<RowChange<T>> {
    let only = |a: &[T], b: &[T], change: &'static str| -> Vec<RowChange<T>> {
        a.iter()
            .filter(|r| !b.contains(r))
            .map(|r| RowChange {
                change,
                row: r.clone(),
            })
            .collect()
    };
    let mut out = only(new, old, "Add");
    out.extend(only(old, new, "Remove"));
    out
}

/// Compares the IAM statements and security-group rules of two expanded templates.
pub fn compare(
    old: &serde_json::Map<String, Value>,
    new: &serde_json::Map<String, Value>,
) -> SecurityChanges {
    let (oi, ni) = (iam_rows(old), iam_rows(new));
    let (os, ns) = (sg_rows(old), sg_rows(new));
    let mut out = SecurityChanges {
        iam: row_changes(&oi, &ni),
        security_groups: row_changes(&os, &ns),
        broadening: Vec::new(),
    };
    let old_grants = grants(&oi);
    let mut seen = std::collections::BTreeSet::new();
    for (res, kind, action, resource) in grants(&ni) {
        let covered = old_grants.iter().any(|(ores, okind, oa, or)| {
            *ores == res
                && *okind == kind
                && covers(oa, action, true)
                && covers(or, resource, false)
        });
        if covered {
            continue;
        }
        let line = match kind {
            "Policy" => format!("{res} is allowed {action} on {resource}"),
            "Trust" => format!("{action} may assume {res}"),
            _ => format!("{res} gets the managed policy {resource}"),
        };
        if seen.insert(line.clone()) {
            out.broadening.push(line);
        }
    }
    for r in out.security_groups.iter() {
        if r.change == "Add" && r.row.direction == "Ingress" && open_to_all(&r.row.peer) {
            out.broadening.push(format!(
                "{} admits {} from {} (any address)",
                r.row.group, r.row.ports, r.row.peer
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_as_iam_matches_them() {
        for (p, v, m) in [
            ("s3:*", "s3:GetObject", true),
            ("s3:Get*", "s3:GetObject", true),
            ("s3:Get*", "s3:PutObject", false),
            ("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b", true),
            ("arn:aws:s3:::bucket/?", "arn:aws:s3:::bucket/ab", false),
            ("arn:aws:s3:::bucket/??", "arn:aws:s3:::bucket/ab", true),
            ("*", "", true),
            ("a*b*c", "aXXbYYc", true),
            ("a*b*c", "aXXbYY", false),
        ] {
            assert_eq!(wildcard_match(p, v), m, "{p} vs {v}");
        }
    }

    #[test]
    fn covers_is_case_blind_for_actions_only() {
        for (old, new, ignore_case, c) in [
            ("S3:GetObject", "s3:getobject", true, true),
            ("arn:aws:s3:::B", "arn:aws:s3:::b", false, false),
            ("s3:*", "S3:GetObject", true, true),
            ("arn:aws:s3:::bucket/*", "*", false, false),
            ("*", "{\"Ref\":\"X\"}", false, true),
            ("arn:*", "{\"Ref\":\"X\"}", false, false),
        ] {
            assert_eq!(covers(old, new, ignore_case), c, "{old} covers {new}");
        }
    }
}
