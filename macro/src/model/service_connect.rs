//! ECS Service Connect and Route 53 alias records as AWS defines them, read from the expansion
//! only (never from `crate::gen` or `crate::spec`):
//! - a Service Connect service's `PortName` names a port mapping of the service's task
//!   definition; it has at most one client alias and at least one with a port
//!   (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceConnectService.html);
//! - each alias name and port is unique within the namespace
//!   (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceConnectClientAlias.html);
//! - `Namespace` is the namespace's name or ARN
//!   (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-ecs-service-serviceconnectconfiguration.html),
//!   while `Ref` of a namespace resource yields its ID
//!   (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-servicediscovery-httpnamespace.html);
//! - the server's proxy listens on the container port of the named mapping (awsvpc, no
//!   `IngressPortOverride`), so the clients' security groups must be admitted there;
//! - a task resolves only the endpoints that existed when it started
//!   (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-connect-concepts-deploy.html);
//! - an alias record to a load balancer names its `DNSName` and `CanonicalHostedZoneID`
//!   (https://docs.aws.amazon.com/Route53/latest/APIReference/API_AliasTarget.html).

use super::elbv2::Network;
use super::vpc::{covers, egress_allows, ingress};
use super::{
    attribute, items, key, lit_num, lit_str, names_used, owner, target, App, Finding, Rule,
    Severity, Stack,
};
use serde_json::Value;
use std::collections::BTreeSet;

const SERVICE_PAGE: &str =
    "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceConnectService.html";

pub const PORT_NAME: Rule = Rule {
    code: "SC_PORT_NAME_UNDEFINED",
    severity: Severity::Error,
    rule: "a Service Connect service's PortName must name a port mapping of the service's task definition",
    doc: SERVICE_PAGE,
};
pub const ALIASES: Rule = Rule {
    code: "SC_CLIENT_ALIASES",
    severity: Severity::Error,
    rule: "a Service Connect service takes at most one client alias, and needs at least one with a port",
    doc: SERVICE_PAGE,
};
pub const ALIAS_IN_USE: Rule = Rule {
    code: "SC_ALIAS_IN_USE",
    severity: Severity::Error,
    rule: "each client alias name and port is unique within the namespace",
    doc: "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceConnectClientAlias.html",
};
pub const NAMESPACE_BY_ID: Rule = Rule {
    code: "SC_NAMESPACE_BY_ID",
    severity: Severity::Error,
    rule: "ServiceConnectConfiguration.Namespace is the namespace's name or ARN; Ref of a namespace resource is its ID",
    doc: "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-ecs-service-serviceconnectconfiguration.html",
};
pub const PEER_UNREACHABLE: Rule = Rule {
    code: "SC_PEER_UNREACHABLE",
    severity: Severity::Error,
    rule: "a client of the namespace reaches a server's proxy on the named container port only if the server's security group admits the client's and the client's lets it out",
    doc: SERVICE_PAGE,
};
pub const CLIENT_FIRST: Rule = Rule {
    code: "SC_CLIENT_STARTS_BEFORE_SERVER",
    severity: Severity::Warning,
    rule: "a task resolves only the Service Connect endpoints that existed when it started: a client-only service created before a server of its namespace cannot call it until its next deployment",
    doc: "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-connect-concepts-deploy.html",
};
pub const ALIAS_TARGET: Rule = Rule {
    code: "ROUTE53_ALIAS_NOT_APP_ALB",
    severity: Severity::Error,
    rule: "an alias record to a load balancer names that load balancer's DNSName and CanonicalHostedZoneID, and it reaches the App only if it is the load balancer the App's listener is on",
    doc: "https://docs.aws.amazon.com/Route53/latest/APIReference/API_AliasTarget.html",
};

pub const RULES: &[&Rule] = &[
    &PORT_NAME,
    &ALIASES,
    &ALIAS_IN_USE,
    &NAMESPACE_BY_ID,
    &PEER_UNREACHABLE,
    &CLIENT_FIRST,
    &ALIAS_TARGET,
];

const NAMESPACE_TYPES: &[&str] = &[
    "AWS::ServiceDiscovery::HttpNamespace",
    "AWS::ServiceDiscovery::PrivateDnsNamespace",
    "AWS::ServiceDiscovery::PublicDnsNamespace",
];

/// One `Services` item: its PortName, whether a port mapping has that name, that mapping's
/// container port (when literal), and its aliases (DnsName, Port when literal, a Port given).
struct Served {
    name: String,
    named: bool,
    port: Option<u64>,
    aliases: Vec<(Option<String>, Option<u64>, bool)>,
}

/// One ECS service of the stack with Service Connect enabled.
struct ScService<'a> {
    id: &'a str,
    namespace: String,
    serves: Vec<Served>,
    groups: Vec<&'a Value>,
}

fn sc_services(st: &Stack) -> Vec<ScService<'_>> {
    let mut out = Vec::new();
    for (id, p) in st.of_type("AWS::ECS::Service") {
        let c = &p["ServiceConnectConfiguration"];
        if c["Enabled"] != Value::Bool(true) {
            continue;
        }
        let td = target(&p["TaskDefinition"]).map(|t| st.props(t));
        let mappings: Vec<&Value> = td
            .into_iter()
            .flat_map(|td| items(&td["ContainerDefinitions"]))
            .flat_map(|c| items(&c["PortMappings"]))
            .collect();
        let serves = items(&c["Services"])
            .map(|s| {
                let name = lit_str(&s["PortName"]).unwrap_or_default().to_string();
                let mapping = mappings
                    .iter()
                    .find(|m| lit_str(&m["Name"]) == Some(name.as_str()));
                let port = mapping
                    .and_then(|m| lit_num(&m["ContainerPort"]))
                    .map(|n| n as u64);
                let aliases = items(&s["ClientAliases"])
                    .map(|a| {
                        (
                            lit_str(&a["DnsName"]).map(str::to_ascii_lowercase),
                            lit_num(&a["Port"]).map(|n| n as u64),
                            !a["Port"].is_null(),
                        )
                    })
                    .collect();
                Served {
                    name,
                    named: mapping.is_some(),
                    port,
                    aliases,
                }
            })
            .collect();
        out.push(ScService {
            id,
            namespace: namespace_key(st, &c["Namespace"]),
            serves,
            groups: items(&p["NetworkConfiguration"]["AwsvpcConfiguration"]["SecurityGroups"])
                .collect(),
        });
    }
    out
}

/// A namespace as ECS finds it: `Namespace` is its name or its ARN
/// (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceConnectConfiguration.html),
/// and a name is one namespace however it is written (`shop`, or `!GetAtt Ns.Arn` of a namespace
/// of this template whose `Name` is `shop`). The name is case-sensitive
/// (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ClusterServiceConnectDefaultsRequest.html).
fn namespace_key(st: &Stack, v: &Value) -> String {
    if let Some(s) = lit_str(v).filter(|s| !s.starts_with("arn:")) {
        return format!("name:{s}");
    }
    if let (Some(t), Some("Arn")) = (target(v), super::attribute(v)) {
        if st
            .type_of(t)
            .is_some_and(|ty| NAMESPACE_TYPES.contains(&ty))
        {
            if let Some(n) = lit_str(&st.props(t)["Name"]) {
                return format!("name:{n}");
            }
        }
    }
    key(v)
}

fn app_of<'a>(apps: &'a [App], id: &str) -> &'a str {
    owner(apps, id).map(|a| a.name.as_str()).unwrap_or("-")
}

/// Whether CloudFormation creates `before` ahead of `id`: `id` names it, directly or through
/// resources it names (DependsOn, Ref, GetAtt, Sub).
fn created_after(st: &Stack, id: &str, before: &str) -> bool {
    let mut seen = BTreeSet::new();
    let mut todo = vec![id.to_string()];
    while let Some(x) = todo.pop() {
        let Some(r) = st.get(&x) else { continue };
        for n in names_used(r) {
            if n == before {
                return true;
            }
            if seen.insert(n.clone()) {
                todo.push(n);
            }
        }
    }
    false
}

pub fn check(st: &Stack, apps: &[App], net: &Network) -> Vec<Finding> {
    let mut out = Vec::new();
    let services = sc_services(st);
    for s in &services {
        let app = app_of(apps, s.id);
        let c = &st.props(s.id)["ServiceConnectConfiguration"];
        if let Some(ns) = super::single(&c["Namespace"], "Ref")
            .and_then(Value::as_str)
            .filter(|ns| st.type_of(ns).is_some_and(|t| NAMESPACE_TYPES.contains(&t)))
        {
            out.push(Finding::new(
                &NAMESPACE_BY_ID,
                app,
                &[s.id, ns],
                format!("{} gives Namespace as Ref {ns}, which is the namespace's ID: give its Arn (or name)", s.id),
            ));
        }
        for Served {
            name,
            named,
            aliases,
            ..
        } in &s.serves
        {
            if !named {
                out.push(Finding::new(
                    &PORT_NAME,
                    app,
                    &[s.id],
                    format!("{} serves PortName '{name}', which no port mapping of its task definition is named", s.id),
                ));
            }
            if aliases.len() > 1 || !aliases.iter().any(|(.., given)| *given) {
                out.push(Finding::new(
                    &ALIASES,
                    app,
                    &[s.id],
                    format!(
                        "{} gives {} client aliases for '{name}' ({} with a port)",
                        s.id,
                        aliases.len(),
                        aliases.iter().filter(|(.., given)| *given).count()
                    ),
                ));
            }
        }
    }
    // Alias names and ports, once per namespace.
    let mut taken: Vec<(&str, &str, String, u64)> = Vec::new();
    for s in &services {
        for served in &s.serves {
            for (dns, port, _) in &served.aliases {
                let (Some(dns), Some(port)) = (dns, port) else {
                    continue;
                };
                if let Some((other, ..)) = taken
                    .iter()
                    .find(|(o, ns, d, p)| *o != s.id && *ns == s.namespace && d == dns && p == port)
                {
                    out.push(Finding::new(
                        &ALIAS_IN_USE,
                        app_of(apps, s.id),
                        &[other, s.id],
                        format!(
                            "{other} and {} both serve {dns}:{port} in one namespace",
                            s.id
                        ),
                    ));
                }
                taken.push((s.id, &s.namespace, dns.clone(), *port));
            }
        }
    }
    // Every client of a namespace against every server of it.
    for server in &services {
        for served in &server.serves {
            let Some(port) = served.port else { continue };
            for client in services
                .iter()
                .filter(|c| c.id != server.id && c.namespace == server.namespace)
            {
                let open = client.groups.iter().any(|cg| {
                    egress_allows(st, cg, &Value::Null, port).is_some()
                        && server.groups.iter().any(|sg| {
                            egress_allows(st, cg, sg, port) == Some(true)
                                && ingress(st, sg).iter().any(|r| {
                                    covers(r, port)
                                        && (key(&r["SourceSecurityGroupId"]) == key(cg)
                                            || r["CidrIp"] == "0.0.0.0/0")
                                })
                        })
                });
                if !open {
                    out.push(Finding::new(
                        &PEER_UNREACHABLE,
                        app_of(apps, server.id),
                        &[client.id, server.id],
                        format!("{} cannot reach {}'s Service Connect port {port}: no ingress rule of {}'s groups admits {}'s", client.id, server.id, server.id, client.id),
                    ));
                }
                if client.serves.is_empty() && !created_after(st, client.id, server.id) {
                    out.push(Finding::new(
                        &CLIENT_FIRST,
                        app_of(apps, client.id),
                        &[client.id, server.id],
                        format!("{} (client-only) may start before {} serves in their namespace: its first tasks would not resolve it", client.id, server.id),
                    ));
                }
            }
        }
    }
    check_alias_records(st, apps, net, &mut out);
    out
}

/// Each alias record of an App points at the load balancer of the App's listeners.
fn check_alias_records(st: &Stack, apps: &[App], net: &Network, out: &mut Vec<Finding>) {
    for (id, p) in st.of_type("AWS::Route53::RecordSet") {
        let Some(app) = owner(apps, id) else { continue };
        let a = &p["AliasTarget"];
        if a.is_null() {
            continue;
        }
        let dns_lb = target(&a["DNSName"]).filter(|_| attribute(&a["DNSName"]) == Some("DNSName"));
        let zone_lb = target(&a["HostedZoneId"])
            .filter(|_| attribute(&a["HostedZoneId"]) == Some("CanonicalHostedZoneID"));
        let app_lbs: Vec<String> = net
            .listeners_of(st, app)
            .iter()
            .filter_map(|l| l.lb.as_ref())
            .filter_map(|k| serde_json::from_str::<Value>(k).ok())
            .filter_map(|v| target(&v).map(str::to_string))
            .collect();
        let problem = match (dns_lb, zone_lb) {
            (Some(d), Some(z)) if d != z => Some(format!(
                "{id} names {d}'s DNSName with {z}'s CanonicalHostedZoneID"
            )),
            (Some(d), Some(_)) if !app_lbs.iter().any(|l| l == d) => Some(format!(
                "{id} points at {d}, but {}'s listeners are on {}",
                app.name,
                if app_lbs.is_empty() {
                    "no load balancer of the template".to_string()
                } else {
                    app_lbs.join(", ")
                }
            )),
            (Some(_), Some(_)) => None,
            _ => Some(format!(
                "{id}'s AliasTarget is not a load balancer's DNSName and CanonicalHostedZoneID"
            )),
        };
        if let Some(m) = problem {
            out.push(Finding::new(&ALIAS_TARGET, &app.name, &[id], m));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::test_stack;
    use serde_json::{json, Value};

    /// A server and a client in one namespace, from the values of the CDK reference's Service
    /// Connect example (port mapping `api` on container port 8080, alias `http-api` port 80:
    /// https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.aws_ecs.ServiceConnectProps.html),
    /// each App with its security group.
    fn stack(edit: impl Fn(&mut Value)) -> Vec<Finding> {
        let sg = |ingress: Value| {
            json!({"Type": "AWS::EC2::SecurityGroup", "Properties": {
            "SecurityGroupIngress": ingress,
            "SecurityGroupEgress": [{"IpProtocol": "-1", "CidrIp": "0.0.0.0/0"}]}})
        };
        let td = |mapping: Value| {
            json!({"Type": "AWS::ECS::TaskDefinition", "Properties": {
            "ContainerDefinitions": [{"Name": "c", "PortMappings": [mapping]}]}})
        };
        let svc = |app: &str, services: Value, deps: Value| {
            json!({"Type": "AWS::ECS::Service",
            "DependsOn": deps, "Properties": {
            "TaskDefinition": {"Ref": format!("{app}TaskDefinition")},
            "NetworkConfiguration": {"AwsvpcConfiguration": {"SecurityGroups": [{"Fn::GetAtt": [format!("{app}SecurityGroup"), "GroupId"]}]}},
            "ServiceConnectConfiguration": {"Enabled": true, "Namespace": {"Fn::GetAtt": ["Ns", "Arn"]}, "Services": services}}})
        };
        let mut t = json!({
            "Ns": {"Type": "AWS::ServiceDiscovery::HttpNamespace", "Properties": {"Name": "local"}},
            "ApiSecurityGroup": sg(json!([{"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080,
                "SourceSecurityGroupId": {"Fn::GetAtt": ["WebSecurityGroup", "GroupId"]}}])),
            "ApiTaskDefinition": td(json!({"Name": "api", "ContainerPort": 8080})),
            "ApiService": svc("Api", json!([{"PortName": "api", "ClientAliases": [{"DnsName": "http-api", "Port": 80}]}]), json!([])),
            "WebSecurityGroup": sg(json!([])),
            "WebTaskDefinition": td(json!({"ContainerPort": 3000})),
            "WebService": svc("Web", Value::Null, json!(["ApiService"])),
        });
        edit(&mut t);
        let st = test_stack(&t);
        let net = Network::read(&st);
        check(&st, &st.apps, &net)
    }

    #[test]
    fn service_connect_rules_over_the_example_and_its_breakages() {
        type Edit = fn(&mut Value);
        let cases: &[(&str, Edit, &[&str])] = &[
            ("as written", |_| {}, &[]),
            (
                "PortName names no mapping",
                |t| {
                    t["ApiService"]["Properties"]["ServiceConnectConfiguration"]["Services"][0]
                        ["PortName"] = json!("web")
                },
                &["SC_PORT_NAME_UNDEFINED"],
            ),
            (
                "mapping unnamed",
                |t| {
                    t["ApiTaskDefinition"]["Properties"]["ContainerDefinitions"][0]
                        ["PortMappings"][0] = json!({"ContainerPort": 8080})
                },
                &["SC_PORT_NAME_UNDEFINED"],
            ),
            (
                "two aliases",
                |t| {
                    t["ApiService"]["Properties"]["ServiceConnectConfiguration"]["Services"][0]
                        ["ClientAliases"] =
                        json!([{"DnsName": "a", "Port": 80}, {"DnsName": "b", "Port": 81}])
                },
                &["SC_CLIENT_ALIASES"],
            ),
            (
                "no alias",
                |t| {
                    t["ApiService"]["Properties"]["ServiceConnectConfiguration"]["Services"][0]
                        ["ClientAliases"] = json!([])
                },
                &["SC_CLIENT_ALIASES"],
            ),
            (
                "namespace by Ref",
                |t| {
                    t["WebService"]["Properties"]["ServiceConnectConfiguration"]["Namespace"] =
                        json!({"Ref": "Ns"})
                },
                &["SC_NAMESPACE_BY_ID"],
            ),
            (
                "server admits no client",
                |t| t["ApiSecurityGroup"]["Properties"]["SecurityGroupIngress"] = json!([]),
                &["SC_PEER_UNREACHABLE"],
            ),
            (
                "admitted on the alias port, not the container port",
                |t| {
                    t["ApiSecurityGroup"]["Properties"]["SecurityGroupIngress"][0]["FromPort"] =
                        json!(80);
                    t["ApiSecurityGroup"]["Properties"]["SecurityGroupIngress"][0]["ToPort"] =
                        json!(80);
                },
                &["SC_PEER_UNREACHABLE"],
            ),
            (
                "client's egress closed",
                |t| t["WebSecurityGroup"]["Properties"]["SecurityGroupEgress"] = json!([]),
                &["SC_PEER_UNREACHABLE"],
            ),
            (
                "client created independently",
                |t| t["WebService"]["DependsOn"] = json!([]),
                &["SC_CLIENT_STARTS_BEFORE_SERVER"],
            ),
            (
                "another namespace: no pair",
                |t| {
                    t["WebService"]["Properties"]["ServiceConnectConfiguration"]["Namespace"] =
                        json!("other");
                    t["ApiSecurityGroup"]["Properties"]["SecurityGroupIngress"] = json!([]);
                    t["WebService"]["DependsOn"] = json!([]);
                },
                &[],
            ),
            (
                "the namespace by its name beside its Arn: one namespace",
                |t| {
                    t["WebService"]["Properties"]["ServiceConnectConfiguration"]["Namespace"] =
                        json!("local");
                    t["ApiSecurityGroup"]["Properties"]["SecurityGroupIngress"] = json!([]);
                },
                &["SC_PEER_UNREACHABLE"],
            ),
            (
                "another name by case: another namespace, no pair",
                |t| {
                    t["WebService"]["Properties"]["ServiceConnectConfiguration"]["Namespace"] =
                        json!("LOCAL");
                    t["ApiSecurityGroup"]["Properties"]["SecurityGroupIngress"] = json!([]);
                    t["WebService"]["DependsOn"] = json!([]);
                },
                &[],
            ),
            (
                "one alias served twice (Web admits nobody)",
                |t| {
                    t["WebService"]["Properties"]["ServiceConnectConfiguration"]["Services"] = json!([{"PortName": "web", "ClientAliases": [{"DnsName": "HTTP-API", "Port": 80}]}]);
                    t["WebTaskDefinition"]["Properties"]["ContainerDefinitions"][0]
                        ["PortMappings"][0]["Name"] = json!("web");
                },
                &["SC_ALIAS_IN_USE", "SC_PEER_UNREACHABLE"],
            ),
        ];
        for (what, edit, want) in cases {
            let found = stack(edit);
            let mut codes: Vec<&str> = found.iter().map(|f| f.code).collect();
            codes.sort();
            codes.dedup();
            let mut want = want.to_vec();
            want.sort();
            assert_eq!(codes, want, "{what}: {found:#?}");
        }
    }

    /// The Route 53 alias target of a load balancer: its DNSName with its
    /// CanonicalHostedZoneID, the load balancer the App's listener is on.
    #[test]
    fn alias_records_point_at_the_apps_load_balancer() {
        let base = |dns: Value, zone: Value| {
            json!({
                "WebTaskDefinition": {"Type": "AWS::ECS::TaskDefinition", "Properties": {}},
                "WebTargetGroup": {"Type": "AWS::ElasticLoadBalancingV2::TargetGroup", "Properties": {"Port": 80, "Protocol": "HTTP"}},
                "WebService": {"Type": "AWS::ECS::Service", "Properties": {"TaskDefinition": {"Ref": "WebTaskDefinition"},
                    "LoadBalancers": [{"ContainerPort": 80, "TargetGroupArn": {"Ref": "WebTargetGroup"}}]}},
                "WebLoadBalancer": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer", "Properties": {}},
                "OtherAlb": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer", "Properties": {}},
                "WebListener": {"Type": "AWS::ElasticLoadBalancingV2::Listener", "Properties": {
                    "LoadBalancerArn": {"Ref": "WebLoadBalancer"}, "Port": 80, "Protocol": "HTTP",
                    "DefaultActions": [{"Type": "forward", "TargetGroupArn": {"Ref": "WebTargetGroup"}}]}},
                "WebDnsRecord": {"Type": "AWS::Route53::RecordSet", "Properties": {"Name": "tomato.cat", "Type": "A",
                    "HostedZoneId": "Z123", "AliasTarget": {"DNSName": dns, "HostedZoneId": zone}}},
            })
        };
        let ga = |lb: &str, a: &str| json!({"Fn::GetAtt": [lb, a]});
        let cases = [
            (
                ga("WebLoadBalancer", "DNSName"),
                ga("WebLoadBalancer", "CanonicalHostedZoneID"),
                0,
            ),
            (
                ga("OtherAlb", "DNSName"),
                ga("OtherAlb", "CanonicalHostedZoneID"),
                1,
            ),
            (
                ga("WebLoadBalancer", "DNSName"),
                ga("OtherAlb", "CanonicalHostedZoneID"),
                1,
            ),
            (ga("WebLoadBalancer", "DNSName"), json!("Z35SXDOTRQ7X7K"), 1),
            (
                ga("WebLoadBalancer", "DNSName"),
                ga("WebLoadBalancer", "DNSName"),
                1,
            ),
        ];
        for (dns, zone, want) in cases {
            let st = test_stack(&base(dns.clone(), zone.clone()));
            let net = Network::read(&st);
            let found = check(&st, &st.apps, &net);
            assert_eq!(found.len(), want, "{dns} {zone}: {found:#?}");
            assert!(found.iter().all(|f| f.code == "ROUTE53_ALIAS_NOT_APP_ALB"));
        }
    }
}
