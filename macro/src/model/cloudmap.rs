//! AWS Cloud Map as its API reference defines it: a service's name is unique in its namespace
//! (CreateService fails with ServiceAlreadyExists for a second service of the same name).

use super::{key, lit_str, owner, App, Finding, Rule, Severity, Stack};

pub const SERVICE_NAME_IN_USE: Rule = Rule {
    code: "CLOUDMAP_SERVICE_NAME_IN_USE",
    severity: Severity::Error,
    rule: "a namespace can't have two services with the same name (CreateService: ServiceAlreadyExists)",
    doc: "https://docs.aws.amazon.com/cloud-map/latest/api/API_CreateService.html",
};

pub const RULES: &[&Rule] = &[&SERVICE_NAME_IN_USE];

/// The rules of this family over one stack: services of the template with the same literal
/// name in the same namespace (the same `NamespaceId` value). DNS names are not case-sensitive,
/// so names are compared without case.
pub fn check(st: &Stack, apps: &[App]) -> Vec<Finding> {
    let services: Vec<(&str, String, String)> = st
        .of_type("AWS::ServiceDiscovery::Service")
        .filter_map(|(id, p)| {
            let name = lit_str(&p["Name"])?.to_lowercase();
            (!p["NamespaceId"].is_null()).then(|| (id, name, key(&p["NamespaceId"])))
        })
        .collect();
    let mut out = Vec::new();
    for (i, (a, name, ns)) in services.iter().enumerate() {
        for (b, other, ns2) in &services[i + 1..] {
            if name == other && ns == ns2 {
                let app = owner(apps, b)
                    .or_else(|| owner(apps, a))
                    .map(|x| x.name.as_str())
                    .unwrap_or("-");
                out.push(Finding::new(
                    &SERVICE_NAME_IN_USE,
                    app,
                    &[a, b],
                    format!(
                        "{a} and {b} both register the service name {name} in the namespace {ns}"
                    ),
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

    /// CreateService's error ServiceAlreadyExists: a second service of one name in one
    /// namespace is refused; the same name in another namespace, or another name, is not.
    #[test]
    fn one_name_per_namespace() {
        let svc = |name: &str, ns: &str| {
            json!({"Type": "AWS::ServiceDiscovery::Service",
                   "Properties": {"Name": name, "NamespaceId": {"Fn::GetAtt": [ns, "Id"]}}})
        };
        let cases = [
            (svc("orders", "Ns"), svc("orders", "Ns"), 1),
            (svc("orders", "Ns"), svc("Orders", "Ns"), 1),
            (svc("orders", "Ns"), svc("orders", "Other"), 0),
            (svc("orders", "Ns"), svc("payments", "Ns"), 0),
        ];
        for (a, b, want) in cases {
            let st = test_stack(&json!({"ADiscoveryService": a, "BDiscoveryService": b}));
            let found = check(&st, &st.apps);
            assert_eq!(found.len(), want, "{found:?}");
            assert!(found
                .iter()
                .all(|f| f.code == "CLOUDMAP_SERVICE_NAME_IN_USE"));
        }
    }
}
