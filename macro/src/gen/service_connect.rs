//! ECS Service Connect: the named port mapping, the service's `ServiceConnectConfiguration`,
//! the namespace, the security-group rules from the namespace's other Apps, and the order in
//! which the services are created. And `Domain`: the Route 53 alias record to the App's ALB.

use super::alb::{when_https, RoutingOut};
use super::{depends_on, Ids, Out, Shared};
use crate::intrinsics::{get_att, ref_, SubBuilder};
use crate::reader::Val;
use crate::spec::{AllowFrom, App, NamespaceRef, Routing, ScNamespace, ServiceConnect};
use serde_json::{json, Value};

/// What one App's Service Connect settings tell the others of the template.
#[derive(Debug, Clone)]
pub struct ScPeer {
    pub id: String,
    pub namespace: String,
    pub client_only: bool,
    pub condition: Option<Value>,
}

/// Every App with `ServiceConnect`, in template order.
pub fn peers(apps: &[App]) -> Vec<ScPeer> {
    apps.iter()
        .filter_map(|a| {
            let sc = a.service_connect.as_ref()?;
            Some(ScPeer {
                id: a.id.clone(),
                namespace: sc.namespace.key(),
                client_only: sc.client_only,
                condition: a.attributes.condition.clone(),
            })
        })
        .collect()
}

/// The namespace for `ServiceConnectConfiguration.Namespace`: a name or an ARN.
/// `Ref` of a namespace resource is its ID, so a namespace of the template is given by `Arn`
/// (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-servicediscovery-httpnamespace.html).
pub fn namespace_value(sc: &ServiceConnect) -> Value {
    match &sc.namespace {
        ScNamespace::Existing(v) => v.json(),
        ScNamespace::Resource(id) => get_att(id, "Arn"),
        ScNamespace::Create(name) => get_att(&Shared::namespace_id(name), "Arn"),
    }
}

/// The name clients call: the alias's `DnsName`, else `DiscoveryName` (or the port name) in
/// the namespace, as ECS defaults it (API_ServiceConnectClientAlias).
pub fn short_name(app: &App) -> Result<Value, String> {
    let Some(sc) = &app.service_connect else {
        return Err(format!("{} has no ServiceConnect", app.id));
    };
    if sc.client_only {
        return Err(format!(
            "{}'s ServiceConnect is client-only: it serves no name",
            app.id
        ));
    }
    if let Some(n) = sc.client_aliases.first().and_then(|a| a.dns_name.clone()) {
        return Ok(json!(n));
    }
    let base = sc.discovery_name.as_deref().unwrap_or(&sc.port_name);
    match &sc.namespace {
        ScNamespace::Create(ns) => Ok(json!(format!("{base}.{ns}"))),
        _ => Err(format!("{}'s ServiceConnect gives no ClientAliases DnsName and its namespace's name is not known here: add ClientAliases: [{{DnsName, Port}}]", app.id)),
    }
}

/// Names the App's port mapping for Service Connect (`PortName`, `AppProtocol`).
pub fn name_port_mapping(app: &App, ports: &mut [Value]) {
    let Some(sc) = app.service_connect.as_ref().filter(|sc| !sc.client_only) else {
        return;
    };
    if let Some(Value::Object(m)) = ports.first_mut() {
        m.insert("Name".into(), json!(sc.port_name));
        if let Some(p) = &sc.app_protocol {
            m.insert("AppProtocol".into(), json!(p));
        }
    }
}

/// Namespaces `ServiceConnect.NamespaceName` creates: an HTTP namespace, unless
/// `Discovery.NamespaceName` of some App creates a private DNS namespace of that name (Service
/// Connect takes a namespace of any type: one namespace, not two of one name).
pub fn record_namespace(app: &App, apps_discovery: &[String], shared: &mut Shared) {
    let Some(ScNamespace::Create(name)) = app.service_connect.as_ref().map(|s| &s.namespace) else {
        return;
    };
    // Compared as written: the logical ID is made from the name as written.
    if apps_discovery.iter().any(|n| n == name) {
        return;
    }
    let id = Shared::namespace_id(name);
    if !shared.http_namespaces.iter().any(|(i, _)| i == &id) {
        shared.http_namespaces.push((id, name.clone()));
    }
}

/// `Discovery.NamespaceName` of every App (namespaces the macro creates as private DNS).
pub fn discovery_namespaces(apps: &[App]) -> Vec<String> {
    apps.iter()
        .filter_map(|a| match &a.discovery.as_ref()?.namespace {
            NamespaceRef::Create { name } => Some(name.clone()),
            _ => None,
        })
        .collect()
}

/// The service's `ServiceConnectConfiguration`, the ingress from the namespace's other Apps,
/// and `DependsOn` on the servers it calls.
pub fn configure_service(app: &App, shared: &Shared, out: &mut Out) {
    let Some(sc) = &app.service_connect else {
        return;
    };
    let ids = Ids(&app.id);
    let services = (!sc.client_only).then(|| {
        // At least one client alias with a port (API_ServiceConnectService): the App's port.
        let aliases: Vec<Value> = if sc.client_aliases.is_empty() {
            vec![json!({ "Port": app.port.json() })]
        } else {
            sc.client_aliases
                .iter()
                .map(|a| json!({ "DnsName": a.dns_name, "Port": a.port.json() }))
                .collect()
        };
        json!([{
            "PortName": sc.port_name,
            "DiscoveryName": sc.discovery_name,
            "ClientAliases": aliases,
        }])
    });
    let logs = sc.logs.then(|| {
        json!({
            "LogDriver": "awslogs",
            "Options": {
                "awslogs-group": ref_(&ids.of("LogGroup")),
                "awslogs-region": ref_("AWS::Region"),
                "awslogs-stream-prefix": format!("{}-service-connect", app.id),
            }
        })
    });
    let mut config = json!({
        "Enabled": true,
        "Namespace": namespace_value(sc),
        "Services": services,
        "LogConfiguration": logs,
    });
    super::prune_nulls(&mut config);
    let me = shared.service_connect.iter().find(|p| p.id == app.id);
    let same_ns: Vec<&ScPeer> = shared
        .service_connect
        .iter()
        .filter(|p| p.id != app.id && Some(&p.namespace) == me.map(|m| &m.namespace))
        .collect();
    let mine = &app.attributes.condition;
    // A peer under a condition of its own exists only under it: what names it carries it.
    let peer_condition = |p: &ScPeer| match (&p.condition, mine) {
        (Some(c), m) if Some(c) != m.as_ref() => Some(c.clone()),
        _ => None,
    };
    // A task resolves only the endpoints that existed when it started: a client is created
    // after the servers it calls. Two servers calling each other cannot both come second; the
    // later one in the template waits for the earlier.
    // https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-connect-concepts-deploy.html
    let my_pos = shared.service_connect.iter().position(|p| p.id == app.id);
    let servers: Vec<&&ScPeer> = same_ns
        .iter()
        .filter(|p| !p.client_only)
        .filter(|p| {
            sc.client_only || shared.service_connect.iter().position(|q| q.id == p.id) < my_pos
        })
        .collect();
    // DependsOn on a resource its condition may leave out fails validation; a reference
    // under that condition (a tag) orders the services instead.
    let after: Vec<String> = servers
        .iter()
        .filter(|p| peer_condition(p).is_none())
        .map(|p| Ids(&p.id).of("Service"))
        .collect();
    let conditional: Vec<Value> = servers
        .iter()
        .filter_map(|p| {
            let c = peer_condition(p)?;
            let tag = json!({ "Key": format!("fargate-app:after:{}", p.id), "Value": ref_(&Ids(&p.id).of("Service")) });
            Some(json!({ "Fn::If": [c, tag, ref_("AWS::NoValue")] }))
        })
        .collect();
    if let Some((_, service)) = out
        .items
        .iter_mut()
        .find(|(id, _)| *id == ids.of("Service"))
    {
        service["Properties"]["ServiceConnectConfiguration"] = config;
        depends_on(service, &after);
        if !conditional.is_empty() {
            let tags = &mut service["Properties"]["Tags"];
            if !tags.is_array() {
                *tags = json!([]);
            }
            if let Value::Array(a) = tags {
                a.extend(conditional);
            }
        }
    }
    // The server's proxy listens on the container port (awsvpc: the ingress port defaults to
    // it): every other App of the namespace may call it there, as `AllowFrom` would allow.
    // https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceConnectService.html
    if sc.client_only {
        return;
    }
    for peer in same_ns {
        if app
            .network
            .allow_from
            .contains(&AllowFrom::App(peer.id.clone()))
        {
            continue;
        }
        let id = ids.of(&format!("ServiceConnectFrom{}", peer.id));
        let condition = peer_condition(peer).map(|c| match mine {
            None => c,
            Some(own) => {
                let name = format!("{id}Condition");
                out.conditions.push((
                    name.clone(),
                    json!({ "Fn::And": [{ "Condition": own }, { "Condition": c }] }),
                ));
                json!(name)
            }
        });
        let r = out.add(
            id,
            "AWS::EC2::SecurityGroupIngress",
            json!({
                "Description": format!("Service Connect from {}", peer.id),
                "GroupId": get_att(&ids.of("SecurityGroup"), "GroupId"),
                "SourceSecurityGroupId": get_att(&Ids(&peer.id).of("SecurityGroup"), "GroupId"),
                "IpProtocol": "tcp",
                "FromPort": app.port.json(),
                "ToPort": app.port.json(),
            }),
        );
        if let Some(c) = condition {
            r["Condition"] = c;
        }
    }
}

/// The logical ID (or value) of the App's ALB, for `GetAtt` of `DNSName` and
/// `CanonicalHostedZoneID`.
fn alb_resource(app: &App) -> Option<String> {
    match &app.load_balancer.as_ref()?.routing {
        Routing::Dedicated { .. } => Some(Ids(&app.id).of("LoadBalancer")),
        Routing::SharedPort {
            arn: Val::Expr(v), ..
        } => v.get("Ref").and_then(Value::as_str).map(str::to_string),
        _ => None,
    }
}

/// `CanonicalHostedZoneID` of the App's ALB.
pub fn canonical_hosted_zone(app: &App) -> Result<Value, String> {
    alb_resource(app)
        .map(|lb| get_att(&lb, "CanonicalHostedZoneID"))
        .ok_or(format!(
            "{}'s ALB is not a resource of this template (LoadBalancer.Create, or LoadBalancer.Arn as !Ref with ListenerPort)",
            app.id
        ))
}

/// With `Domain`, the App's URL (and the gate's origin) names the domain.
pub fn domain_url(app: &App, routing: &mut RoutingOut) {
    let (Some(d), Some(lb)) = (&app.domain, &app.load_balancer) else {
        return;
    };
    let port = match &lb.routing {
        Routing::SharedPort { .. } => routing.listener_port.clone(),
        _ => None,
    };
    let url = |scheme: &str| {
        let b = SubBuilder::new()
            .text(&format!("{scheme}://"))
            .value("Domain", &d.name.json());
        match &port {
            Some(p) => b.text(":").value("Port", p).build(),
            None => b.build(),
        }
    };
    routing.url = Some(when_https(lb, url("https"), url("http")));
    routing.origin = routing.url.clone();
}

/// The Route 53 alias record: the domain's A record answers with the ALB's addresses.
/// `AliasTarget.DNSName` and `HostedZoneId` are the load balancer's `DNSName` and
/// `CanonicalHostedZoneID`
/// (https://docs.aws.amazon.com/Route53/latest/APIReference/API_AliasTarget.html,
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-elasticloadbalancingv2-loadbalancer.html).
pub fn domain_record(app: &App, out: &mut Out) {
    let (Some(d), Some(lb)) = (&app.domain, alb_resource(app)) else {
        return;
    };
    out.add(
        Ids(&app.id).of("DnsRecord"),
        "AWS::Route53::RecordSet",
        json!({
            "HostedZoneId": d.hosted_zone_id.json(),
            "Name": d.name.json(),
            "Type": "A",
            "AliasTarget": {
                "DNSName": get_att(&lb, "DNSName"),
                "HostedZoneId": get_att(&lb, "CanonicalHostedZoneID"),
                "EvaluateTargetHealth": true,
            },
        }),
    );
}

/// With `Domain`, the gate requests the record's name: the gate resource (and the service, whose
/// lifecycle hooks run the gate in a deployment) waits for the record. CloudFormation runs
/// resources with no dependency between them in parallel
/// (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-dependson.html),
/// and a name looked up before Route 53 has it is cached as NXDOMAIN for the zone's negative TTL
/// (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/SOA-NSrecords.html).
pub fn gate_waits_for_record(app: &App, out: &mut Out) {
    if app.domain.is_none() || app.load_test.is_none() || alb_resource(app).is_none() {
        return;
    }
    let ids = Ids(&app.id);
    let record = ids.of("DnsRecord");
    let mut waiting = vec![ids.of("LoadTestGate")];
    if app.deployment.strategy.shifts_traffic() {
        waiting.push(ids.of("Service"));
    }
    for (id, r) in out.items.iter_mut() {
        if waiting.contains(id) {
            depends_on(r, std::slice::from_ref(&record));
        }
    }
}
