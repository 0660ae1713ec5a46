//! `ServiceConnect` (ECS Service Connect: peers call the App by a short name through the
//! proxy ECS adds to every task) and `Domain` (a Route 53 alias record to the App's ALB).
//!
//! Service Connect, as AWS defines it:
//! - the service's `ServiceConnectConfiguration` names a namespace by name or ARN, of any type
//!   ("The type of namespace doesn't affect Service Connect"), and its `Services`
//!   (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-ecs-service-serviceconnectconfiguration.html);
//! - a service either serves (client-server: `Services` with a `PortName`) or only calls
//!   (client: no `Services`)
//!   (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-connect-concepts-deploy.html);
//! - `PortName` names a port mapping of the task definition; at most one client alias, each
//!   with a port; `DiscoveryName` up to 64 characters of lowercase letters, digits, `_` and
//!   `-`, not starting with `-`
//!   (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceConnectService.html);
//! - an alias's `DnsName` up to 127 characters of lowercase letters, digits, `_`, `-` and `.`,
//!   not starting with `-`; its `Port` 0-65535
//!   (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceConnectClientAlias.html);
//! - a port mapping's `AppProtocol` is `http`, `http2` or `grpc`
//!   (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_PortMapping.html).
//!
//! `Discovery` may be given beside it: CreateService takes `serviceRegistries` and
//! `serviceConnectConfiguration` together
//! (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html); both
//! create a Cloud Map service, so in one namespace their names must differ.

use super::{NamespaceRef, Props, TemplateCtx};
use crate::reader::{path, ListVal, Reader, Val};
use serde_json::Value;

/// Keys of `ServiceConnect`.
pub const SERVICE_CONNECT_KEYS: &[&str] = &[
    "Namespace",
    "NamespaceName",
    "Mode",
    "PortName",
    "AppProtocol",
    "DiscoveryName",
    "ClientAliases",
    "Logs",
];
/// Keys of one `ServiceConnect.ClientAliases` item.
pub const CLIENT_ALIAS_KEYS: &[&str] = &["DnsName", "Port"];
/// Keys of `Domain`.
pub const DOMAIN_KEYS: &[&str] = &["Name", "HostedZoneId"];

/// The port mapping's name when `PortName` is not given: the App's logical ID in lowercase
/// (at most 64 characters), so that two Apps of a namespace do not both default to one Cloud
/// Map name (ECS names the Cloud Map service after `PortName` without `DiscoveryName`).
pub fn default_port_name(app_id: &str) -> String {
    app_id.to_ascii_lowercase().chars().take(64).collect()
}

#[derive(Debug, Clone)]
pub struct ServiceConnect {
    pub namespace: ScNamespace,
    /// Client-only: the App calls peers of the namespace and serves none.
    pub client_only: bool,
    pub port_name: String,
    pub app_protocol: Option<String>,
    pub discovery_name: Option<String>,
    pub client_aliases: Vec<ClientAlias>,
    /// Send the proxy's logs to the App's log group.
    pub logs: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ScNamespace {
    /// A namespace by name or ARN (a literal, or an intrinsic yielding one).
    Existing(Val<String>),
    /// A namespace of this template by logical ID: its `Arn` (its `Ref` is the ID, which
    /// Service Connect does not take).
    Resource(String),
    /// Created once per template for this name (an HTTP namespace), or the private DNS
    /// namespace `Discovery.NamespaceName` creates under the same name.
    Create(String),
}

impl ScNamespace {
    /// What tells two Apps' namespaces apart at expansion time.
    pub fn key(&self) -> String {
        match self {
            ScNamespace::Existing(v) => format!("existing:{}", v.json()),
            ScNamespace::Resource(id) => format!("resource:{id}"),
            ScNamespace::Create(n) => format!("create:{}", n.to_ascii_lowercase()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ClientAlias {
    pub dns_name: Option<String>,
    pub port: Val<u64>,
}

#[derive(Debug, Clone)]
pub struct Domain {
    pub name: Val<String>,
    pub hosted_zone_id: Val<String>,
}

const NAMESPACE_TYPES: &[&str] = &[
    "AWS::ServiceDiscovery::HttpNamespace",
    "AWS::ServiceDiscovery::PrivateDnsNamespace",
    "AWS::ServiceDiscovery::PublicDnsNamespace",
];

/// `DiscoveryName` and port-mapping names: lowercase letters, digits, `_`, `-`; at most 64;
/// not starting with `-` (API_ServiceConnectService, API_PortMapping).
pub fn valid_sc_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && !s.starts_with('-')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// A client alias's `DnsName`: lowercase letters, digits, `_`, `-`, `.`; at most 127; not
/// starting with `-` (API_ServiceConnectClientAlias).
pub fn valid_alias_dns(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 127
        && !s.starts_with('-')
        && s.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-' || c == '.'
        })
}

fn literal_name(
    r: &mut Reader,
    p: &str,
    v: &Value,
    ok: fn(&str) -> bool,
    what: &str,
) -> Option<String> {
    match r.nonempty(p, v)? {
        Val::Lit(s) if ok(&s) => Some(s),
        Val::Lit(s) => {
            r.err(p, format!("'{s}' is not {what}"));
            None
        }
        Val::Expr(_) => {
            r.err(p, "must be a literal (the macro names the port mapping and the App's ServiceConnectName with it)");
            None
        }
    }
}

pub(super) fn read_service_connect(
    r: &mut Reader,
    p: &str,
    v: &Value,
    ctx: &TemplateCtx,
    app_id: &str,
) -> Option<ServiceConnect> {
    let m = r.object(p, v, SERVICE_CONNECT_KEYS)?;
    let client_only = match m.get("Mode") {
        None => false,
        Some(v) => match r.word(&path(p, "Mode"), v, &["client-and-server", "client-only"]) {
            Some(Val::Lit(w)) => w == "client-only",
            Some(Val::Expr(_)) => {
                r.err(
                    &path(p, "Mode"),
                    "must be literal: client-and-server or client-only",
                );
                return None;
            }
            None => return None,
        },
    };
    let namespace = match (m.get("Namespace"), m.get("NamespaceName")) {
        (Some(_), Some(_)) => {
            r.err(p, "give Namespace (an existing namespace, by name or ARN) or NamespaceName (an HTTP namespace created with the stack), not both");
            return None;
        }
        (Some(v), None) => match ctx.referenced(v) {
            Some((id, None))
                if ctx
                    .resource_type(id)
                    .is_some_and(|t| NAMESPACE_TYPES.contains(&t)) =>
            {
                ScNamespace::Resource(id.to_string())
            }
            _ => ScNamespace::Existing(r.nonempty(&path(p, "Namespace"), v)?),
        },
        (None, Some(v)) => ScNamespace::Create(literal_name(
            r,
            &path(p, "NamespaceName"),
            v,
            |s| s.split('.').all(super::discovery::valid_dns_label),
            "a DNS name",
        )?),
        (None, None) => {
            r.err(&path(p, "Namespace"), "required: give Namespace (an existing namespace, by name or ARN) or NamespaceName (an HTTP namespace created with the stack)");
            return None;
        }
    };
    let port_name = match m.get("PortName") {
        Some(v) => literal_name(
            r,
            &path(p, "PortName"),
            v,
            valid_sc_name,
            "a port name (lowercase letters, digits, _ and -, at most 64, not starting with -)",
        )?,
        None => default_port_name(app_id),
    };
    let app_protocol = match m.get("AppProtocol") {
        None => None,
        Some(v) => match r.word(&path(p, "AppProtocol"), v, &["http", "http2", "grpc"])? {
            Val::Lit(s) => Some(s),
            Val::Expr(_) => {
                r.err(
                    &path(p, "AppProtocol"),
                    "must be literal: http, http2 or grpc",
                );
                return None;
            }
        },
    };
    let discovery_name = match m.get("DiscoveryName") {
        None => None,
        Some(v) => Some(literal_name(r, &path(p, "DiscoveryName"), v, valid_sc_name, "a Cloud Map service name (lowercase letters, digits, _ and -, at most 64, not starting with -)")?),
    };
    let mut client_aliases = Vec::new();
    if let Some(v) = m.get("ClientAliases") {
        let ap = path(p, "ClientAliases");
        match r.list(&ap, v, |r, ip, it| {
            let a = r.object(ip, it, CLIENT_ALIAS_KEYS)?;
            let dns_name = match a.get("DnsName") {
                None => None,
                Some(d) => Some(literal_name(r, &path(ip, "DnsName"), d, valid_alias_dns, "a client alias name (lowercase letters, digits, _, - and ., at most 127, not starting with -)")?),
            };
            let port = match a.get("Port") {
                Some(x) => r.int(&path(ip, "Port"), x, 1, 65535)?,
                None => {
                    r.err(&path(ip, "Port"), "required: the port clients call");
                    return None;
                }
            };
            Some(ClientAlias { dns_name, port })
        }) {
            Some(ListVal::Items(items)) => client_aliases = items,
            Some(ListVal::Expr(_)) => r.err(&ap, "must be a literal list"),
            None => {}
        }
        let given = v.as_array().map_or(client_aliases.len(), Vec::len);
        if given > 1 {
            r.err(
                &ap,
                format!("{given} client aliases: ECS takes at most 1 per Service Connect service"),
            );
        }
        if client_only && m.contains_key("ClientAliases") {
            r.err(&ap, "a client-only App serves no endpoint: remove ClientAliases, or use Mode: client-and-server");
        }
    }
    if client_only {
        for k in ["PortName", "AppProtocol", "DiscoveryName"] {
            if m.contains_key(k) {
                r.err(&path(p, k), "a client-only App serves no endpoint: remove it, or use Mode: client-and-server");
            }
        }
    }
    let logs = match m.get("Logs") {
        None => false,
        Some(v) => match r.boolean(&path(p, "Logs"), v)? {
            Val::Lit(b) => b,
            Val::Expr(_) => {
                r.err(&path(p, "Logs"), "must be literal true or false");
                return None;
            }
        },
    };
    Some(ServiceConnect {
        namespace,
        client_only,
        port_name,
        app_protocol,
        discovery_name,
        client_aliases,
        logs,
    })
}

pub(super) fn read_domain(r: &mut Reader, p: &str, v: &Value) -> Option<Domain> {
    let m = r.object(p, v, DOMAIN_KEYS)?;
    let name = match m.get("Name") {
        Some(v) => match r.nonempty(&path(p, "Name"), v)? {
            // Route 53 takes `*` as the leftmost label of a record name
            // (https://docs.aws.amazon.com/Route53/latest/APIReference/API_ResourceRecordSet.html),
            // but the App's Url and its gate need one name to request.
            Val::Lit(s)
                if s.strip_prefix("*.").is_some_and(|rest| {
                    rest.contains('.')
                        && rest
                            .trim_end_matches('.')
                            .split('.')
                            .all(super::discovery::valid_dns_label)
                }) =>
            {
                let rest = s[2..].trim_end_matches('.');
                r.err(&path(p, "Name"), format!("'{s}' is a wildcard: Route 53 takes it, but the App's Url and its gate need one name to request; give a concrete Domain.Name (for example www.{rest}), and make the wildcard record beside the App (an AWS::Route53::RecordSet whose AliasTarget is !GetAtt App.LoadBalancerDnsName and App.CanonicalHostedZoneID)"));
                return None;
            }
            Val::Lit(s)
                if !s
                    .trim_end_matches('.')
                    .split('.')
                    .all(super::discovery::valid_dns_label)
                    || !s.trim_end_matches('.').contains('.') =>
            {
                r.err(&path(p, "Name"), format!("'{s}' is not a domain name"));
                return None;
            }
            Val::Lit(s) => Val::Lit(s.trim_end_matches('.').to_ascii_lowercase()),
            e => e,
        },
        None => {
            r.err(
                &path(p, "Name"),
                "required: the name the alias record gives the App",
            );
            return None;
        }
    };
    let hosted_zone_id = match m.get("HostedZoneId") {
        Some(v) => r.nonempty(&path(p, "HostedZoneId"), v)?,
        None => {
            r.err(
                &path(p, "HostedZoneId"),
                "required: the Route 53 hosted zone the record goes in",
            );
            return None;
        }
    };
    Some(Domain {
        name,
        hosted_zone_id,
    })
}

/// Rules across `ServiceConnect`, `Domain` and the App's other properties.
pub(super) fn check_service_connect(r: &mut Reader, p: &Props, app: &super::App) {
    if let (Some(sc), Some(d)) = (&app.service_connect, &app.discovery) {
        // Both create a Cloud Map service in their namespace: one name each.
        // https://docs.aws.amazon.com/cloud-map/latest/api/API_CreateService.html
        let sc_name = sc.discovery_name.as_deref().unwrap_or(&sc.port_name);
        let same_ns = matches!((&sc.namespace, &d.namespace), (ScNamespace::Create(a), NamespaceRef::Create { name: b }) if a.eq_ignore_ascii_case(b));
        if !sc.client_only
            && same_ns
            && d.name
                .lit()
                .is_some_and(|n| n.eq_ignore_ascii_case(sc_name))
        {
            r.err(&p.path("ServiceConnect.DiscoveryName"), format!("'{sc_name}' is also Discovery.Name in the same namespace: Service Connect and Discovery each create a Cloud Map service there, and a namespace takes one service per name; give ServiceConnect.DiscoveryName another name"));
        }
    }
    if let Some(d) = &app.domain {
        match &app.load_balancer {
            None => r.err(&p.path("Domain"), "needs a LoadBalancer: the record is an alias to the App's ALB"),
            Some(lb) => match &lb.routing {
                super::Routing::Dedicated { .. } => {}
                super::Routing::SharedPort { arn: Val::Expr(_), .. } => {}
                super::Routing::SharedPort { .. } => r.err(&p.path("Domain"), "needs the ALB's DNSName and CanonicalHostedZoneID: give LoadBalancer.Arn as !Ref of an ALB of this template, or LoadBalancer.Create"),
                super::Routing::SharedRule { .. } => r.err(&p.path("Domain"), "is for an App with a listener of its own (LoadBalancer.Create, or ListenerPort on a shared ALB): on a shared listener's rule, give LoadBalancer.Host and make the record beside the ALB"),
            },
        }
        let _ = d;
    }
}

/// Two Apps of one namespace serving one client alias (name and port), or one Cloud Map name
/// (Service Connect's `DiscoveryName`, else `PortName`, beside `Discovery.Name` in the namespace
/// `Discovery.NamespaceName` creates): ECS refuses the second ("Each name and port mapping must
/// be unique within the namespace",
/// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceConnectClientAlias.html;
/// Cloud Map's ServiceAlreadyExists,
/// https://docs.aws.amazon.com/cloud-map/latest/api/API_CreateService.html). Names are compared
/// without case; Apps under two `Condition`s that no parameter values make both true are left
/// alone (`coexist`).
pub fn service_connect_names_twice(
    apps: &[super::App],
    conds: Option<&serde_json::Map<String, Value>>,
    problems: &mut crate::error::Problems,
) {
    /// (namespace, what, value, the App that has it)
    type Seen<'a> = Vec<(String, &'static str, String, &'a super::App)>;
    let clash = |seen: &Seen<'_>, a: &super::App, key: (&str, &str, &str)| -> Option<String> {
        seen.iter()
            .find(|(n, w, v, first)| {
                (n.as_str(), *w, v.as_str()) == key
                    && first.id != a.id
                    && super::coexist::may_coexist(
                        conds,
                        first.attributes.condition.as_ref(),
                        a.attributes.condition.as_ref(),
                    )
            })
            .map(|(.., first)| first.id.clone())
    };
    let mut seen: Seen = Vec::new();
    // Discovery's names (their own clashes are `discovery_names_twice`'s).
    for a in apps {
        if let Some(d) = &a.discovery {
            if let (NamespaceRef::Create { name }, Some(n)) = (&d.namespace, d.name.lit()) {
                let ns = ScNamespace::Create(name.clone()).key();
                seen.push((ns, "the Cloud Map name", n.to_ascii_lowercase(), a));
            }
        }
    }
    for a in apps {
        let Some(sc) = a.service_connect.as_ref().filter(|s| !s.client_only) else {
            continue;
        };
        let ns = sc.namespace.key();
        let (name, name_path) = match &sc.discovery_name {
            Some(n) => (n, "Properties.ServiceConnect.DiscoveryName"),
            None => (&sc.port_name, "Properties.ServiceConnect.PortName"),
        };
        let mut claims = vec![("the Cloud Map name", name.to_ascii_lowercase(), name_path)];
        for alias in &sc.client_aliases {
            if let (Some(d), Val::Lit(port)) = (&alias.dns_name, &alias.port) {
                claims.push((
                    "the client alias",
                    format!("{}:{port}", d.to_ascii_lowercase()),
                    "Properties.ServiceConnect.ClientAliases",
                ));
            }
        }
        for (what, value, path) in claims {
            if let Some(first) = clash(&seen, a, (&ns, what, &value)) {
                problems.push(crate::error::Problem::property(
                    &a.id,
                    path,
                    format!("{what} '{value}' is already {first}'s in this namespace{}: ECS and Cloud Map take one per namespace (ServiceAlreadyExists); give each App its own", both_conditions(a, apps, &first)),
                ));
            } else {
                seen.push((ns.clone(), what, value, a));
            }
        }
    }
}

/// " when A and B are both true" for two Apps under two different conditions, else "".
fn both_conditions(a: &super::App, apps: &[super::App], first: &str) -> String {
    let first = apps.iter().find(|x| x.id == first);
    match (
        first.and_then(|f| f.attributes.condition.as_ref()),
        a.attributes.condition.as_ref(),
    ) {
        (Some(c1), Some(c2)) if c1 != c2 => format!(
            " when {} and {} are both true (some parameter values make them so)",
            c1.as_str().unwrap_or("its condition"),
            c2.as_str().unwrap_or("this condition")
        ),
        _ => String::new(),
    }
}

/// Two Apps' `Domain` with one record name in one hosted zone: Route 53 compares names without
/// case and with or without the final dot
/// (https://docs.aws.amazon.com/Route53/latest/APIReference/API_ResourceRecordSet.html), and
/// refuses to create a record of a name and type the zone has already (InvalidChangeBatch,
/// https://docs.aws.amazon.com/Route53/latest/APIReference/API_ChangeResourceRecordSets.html).
/// Names are lowercased without the dot when read. A literal `Namespace` (Service Connect, an
/// existing namespace by name) equal to a namespace this template creates
/// (`ServiceConnect.NamespaceName`, `Discovery.NamespaceName`) is one namespace named two ways:
/// refused, so that the Apps get the ordering and peer rules of one namespace.
pub fn domain_names_twice(
    apps: &[super::App],
    conds: Option<&serde_json::Map<String, Value>>,
    problems: &mut crate::error::Problems,
) {
    for (i, a) in apps.iter().enumerate() {
        let Some(d) = &a.domain else { continue };
        let Some(name) = d.name.lit() else { continue };
        let zone = d.hosted_zone_id.json();
        if let Some(first) = apps[..i].iter().find(|f| {
            f.domain
                .as_ref()
                .is_some_and(|fd| fd.name.lit() == Some(name) && fd.hosted_zone_id.json() == zone)
                && super::coexist::may_coexist(
                    conds,
                    f.attributes.condition.as_ref(),
                    a.attributes.condition.as_ref(),
                )
        }) {
            problems.push(crate::error::Problem::property(
                &a.id,
                "Properties.Domain.Name",
                format!("'{name}' is already {}'s Domain.Name in this hosted zone{}: Route 53 keeps one A record per name (without case or the final dot) and refuses the second (InvalidChangeBatch); give each App its own Domain.Name", first.id, both_conditions(a, apps, &first.id)),
            ));
        }
    }
    let created: Vec<(&str, String)> = apps
        .iter()
        .flat_map(|a| {
            let sc = a.service_connect.as_ref().and_then(|s| match &s.namespace {
                ScNamespace::Create(n) => Some((a.id.as_str(), n.clone())),
                _ => None,
            });
            let dn = a.discovery.as_ref().and_then(|d| match &d.namespace {
                NamespaceRef::Create { name } => Some((a.id.as_str(), name.clone())),
                _ => None,
            });
            sc.into_iter().chain(dn)
        })
        .collect();
    for a in apps {
        let Some(ScNamespace::Existing(Val::Lit(n))) =
            a.service_connect.as_ref().map(|s| &s.namespace)
        else {
            continue;
        };
        // Namespace names are case-sensitive
        // (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ClusterServiceConnectDefaultsRequest.html).
        if let Some((other, _)) = created.iter().find(|(_, c)| c == n) {
            problems.push(crate::error::Problem::property(
                &a.id,
                "Properties.ServiceConnect.Namespace",
                format!("'{n}' is the namespace {other} creates in this template (NamespaceName): Cloud Map sees one namespace, but an existing one by name is neither ordered after its creation nor given the peer security-group rules; write NamespaceName: {n} here too, or name another namespace"),
            ));
        }
    }
}

/// With a template certificate whose names are literals (ACM, `DomainName` and
/// `SubjectAlternativeNames`), a literal `Domain.Name` none of them covers: the listener
/// presents that certificate to browsers and to the gate for the domain, and TLS verification
/// fails. A name covers itself; `*.example.com` covers one leftmost label
/// (https://docs.aws.amazon.com/acm/latest/userguide/acm-certificate.html,
/// https://docs.aws.amazon.com/elasticloadbalancing/latest/application/https-listener-certificates.html).
pub(super) fn domain_certificate(
    r: &mut Reader,
    p: &Props,
    app: &super::App,
    resources: &serde_json::Map<String, Value>,
) {
    let (Some(d), Some(lb)) = (&app.domain, &app.load_balancer) else {
        return;
    };
    let (Some(name), Some(Val::Expr(cert))) = (d.name.lit(), &lb.certificate_arn) else {
        return;
    };
    let Some(id) = cert.get("Ref").and_then(Value::as_str) else {
        return;
    };
    let res = &resources.get(id).cloned().unwrap_or_default();
    if res.get("Type").and_then(Value::as_str) != Some("AWS::CertificateManager::Certificate") {
        return;
    }
    let props = &res["Properties"];
    let mut names = vec![props.get("DomainName")];
    if let Some(sans) = props
        .get("SubjectAlternativeNames")
        .and_then(Value::as_array)
    {
        names.extend(sans.iter().map(Some));
    }
    let Some(names): Option<Vec<String>> = names
        .into_iter()
        .map(|n| n.and_then(Value::as_str).map(str::to_ascii_lowercase))
        .collect()
    else {
        return;
    };
    let covers = |c: &str| match c.strip_prefix("*.") {
        Some(rest) => name
            .split_once('.')
            .is_some_and(|(label, tail)| !label.is_empty() && tail == rest),
        None => c.trim_end_matches('.') == name,
    };
    if !names.iter().any(|c| covers(c)) {
        r.err(&p.path("Domain.Name"), format!("'{name}' is not covered by the certificate {id} ({}): the listener presents it for the domain, so browsers and the gate fail TLS verification; add '{name}' to {id}'s SubjectAlternativeNames, or use a certificate that covers it", names.join(", ")));
    }
}
