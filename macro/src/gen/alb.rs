//! Target group and the way traffic reaches it: a dedicated ALB, a listener of the app's own
//! on a shared ALB (fixed port, or `auto` through the provider), or a rule on a shared listener
//! (fixed priority, or `auto` through the provider).

use super::{Ids, Out, Settings};
use crate::intrinsics::{get_att, ref_, SubBuilder};
use crate::reader::{ListVal, Val};
use crate::spec::{App, Dynamic, Https, LoadBalancer, Routing, Standby, DEFAULT_HEALTH_TIMEOUT};
use serde_json::{json, Value};

pub const LISTENER_PORT_TYPE: &str = "Custom::FargateListenerPort";
pub const LISTENER_RULE_TYPE: &str = "Custom::FargateListenerRule";
/// Security policy of HTTPS listeners the macro creates.
pub const SSL_POLICY: &str = "ELBSecurityPolicy-TLS13-1-2-2021-06";

/// What routing produced, for the service, the gates and the App's attributes.
#[derive(Debug, Default, Clone)]
pub struct RoutingOut {
    /// Logical ID of the app's target group.
    pub target_group: Option<String>,
    /// The resource that attaches the target group to the ALB (the service waits for it).
    pub attached_by: Option<String>,
    /// A listener that exists under a condition and attaches the target group: a value the
    /// service refers to (an `Fn::If` on that condition) so it is created after it.
    pub conditional_attachment: Option<Value>,
    /// The listener whose default action forwards to the app (absent for a rule).
    pub listener_arn: Option<Value>,
    /// The rule that forwards to the app (absent for a listener of its own).
    pub rule_arn: Option<Value>,
    pub listener_port: Option<Value>,
    pub dns_name: Option<Value>,
    /// `scheme://host[:port][/path]` where the app answers, when it can be known.
    pub url: Option<Value>,
    /// `scheme://host[:port]` of `url`: what the absolute `LoadTest.Path` is appended to.
    pub origin: Option<Value>,
}

/// The security group the ALB sends from.
pub fn security_group_of(app: &App, lb: &LoadBalancer) -> Value {
    match &lb.routing {
        Routing::Dedicated { .. } => {
            get_att(&Ids(&app.id).of("LoadBalancerSecurityGroup"), "GroupId")
        }
        Routing::SharedPort { security_group, .. } | Routing::SharedRule { security_group, .. } => {
            security_group.json()
        }
    }
}

/// The standby's target group, when the app has `Failover`.
pub fn standby_target_group(app: &App) -> Option<Value> {
    app.failover.as_ref().map(|f| match &f.standby {
        Standby::Function(_) => ref_(&Ids(&app.id).of("StandbyTargetGroup")),
        Standby::TargetGroup(arn) => arn.json(),
    })
}

/// The forward action to the app; with `Failover`, a weighted forward that starts with all
/// traffic on the standby (the provider moves the weights).
pub fn forward_actions(app: &App) -> Value {
    let tg = ref_(&Ids(&app.id).of("TargetGroup"));
    match standby_target_group(app) {
        None => json!([{ "Type": "forward", "TargetGroupArn": tg }]),
        Some(standby) => json!([{ "Type": "forward", "ForwardConfig": { "TargetGroups": [
            { "TargetGroupArn": tg, "Weight": 0 },
            { "TargetGroupArn": standby, "Weight": 100 },
        ]}}]),
    }
}

/// A value that follows the listener's HTTPS setting: `yes` where it speaks HTTPS, else `no`
/// (an `Fn::If` on the user's condition when that is conditional).
pub fn when_https(lb: &LoadBalancer, yes: Value, no: Value) -> Value {
    match &lb.https {
        Https::Always => yes,
        Https::Never => no,
        Https::When { condition, negated } => {
            let (a, b) = if *negated { (no, yes) } else { (yes, no) };
            json!({ "Fn::If": [condition, a, b] })
        }
    }
}

fn no_value() -> Value {
    ref_("AWS::NoValue")
}

fn protocol(lb: &LoadBalancer) -> Value {
    when_https(lb, json!("HTTPS"), json!("HTTP"))
}

/// The certificate list exists only where the listener is HTTPS (never `[{}]`).
fn certificates(lb: &LoadBalancer) -> Value {
    match &lb.certificate_arn {
        Some(c) => when_https(lb, json!([{ "CertificateArn": c.json() }]), no_value()),
        None => Value::Null,
    }
}

fn ssl_policy(lb: &LoadBalancer) -> Value {
    match &lb.certificate_arn {
        Some(_) => when_https(lb, json!(SSL_POLICY), no_value()),
        None => Value::Null,
    }
}

/// The condition of the HTTPS listener: the user's condition as is, or a new one (its
/// negation, or the App's condition and it) added to the template's Conditions.
fn https_condition(app: &App, lb: &LoadBalancer, out: &mut Out) -> String {
    let Https::When { condition, negated } = &lb.https else {
        unreachable!("only called for a conditional listener");
    };
    let app_cond = app.attributes.condition.as_ref().and_then(Value::as_str);
    if !negated && app_cond.is_none() {
        return condition.clone();
    }
    let mut c = json!({ "Condition": condition });
    if *negated {
        c = json!({ "Fn::Not": [c] });
    }
    if let Some(a) = app_cond {
        c = json!({ "Fn::And": [{ "Condition": a }, c] });
    }
    let name = Ids(&app.id).of("Https");
    out.conditions.push((name.clone(), c));
    name
}

pub fn generate(app: &App, settings: &Settings, out: &mut Out) -> RoutingOut {
    let Some(lb) = &app.load_balancer else {
        return RoutingOut::default();
    };
    let ids = Ids(&app.id);
    let tg_id = ids.of("TargetGroup");
    target_group(app, lb, &tg_id, out);
    let mut r = RoutingOut {
        target_group: Some(tg_id.clone()),
        ..Default::default()
    };
    match &lb.routing {
        Routing::Dedicated { scheme, subnets } => dedicated(app, lb, scheme, subnets, out, &mut r),
        Routing::SharedPort {
            arn,
            security_group,
            port,
            dns_name,
        } => shared_port(
            app,
            lb,
            settings,
            arn,
            security_group,
            port,
            dns_name,
            out,
            &mut r,
        ),
        Routing::SharedRule {
            listener,
            paths,
            hosts,
            priority,
            dns_name,
            ..
        } => shared_rule(
            app, lb, settings, listener, paths, hosts, priority, dns_name, out, &mut r,
        ),
    }
    r
}

/// The timeout must be lower than the interval; AWS's HTTP default (6 s) is not below an
/// interval of 5 or 6 s, so with an interval the timeout is always written out.
fn health_check_timeout(h: &crate::spec::TargetHealth) -> Value {
    match (&h.timeout, &h.interval) {
        (Some(t), _) => t.json(),
        (None, Some(Val::Lit(i))) => json!(DEFAULT_HEALTH_TIMEOUT.min(i - 1)),
        (None, _) => Value::Null,
    }
}

pub fn target_group(app: &App, lb: &LoadBalancer, id: &str, out: &mut Out) {
    let h = &lb.health_check;
    let mut attributes = vec![json!({
        "Key": "deregistration_delay.timeout_seconds",
        "Value": match &lb.deregistration_delay {
            Some(Val::Lit(n)) => json!(n.to_string()),
            Some(Val::Expr(e)) => e.clone(),
            None => json!("30"),
        },
    })];
    if let Some(s) = &lb.stickiness {
        attributes.push(json!({ "Key": "stickiness.enabled", "Value": "true" }));
        attributes.push(json!({ "Key": "stickiness.type", "Value": "lb_cookie" }));
        attributes.push(
            json!({ "Key": "stickiness.lb_cookie.duration_seconds", "Value": match s {
                Val::Lit(n) => json!(n.to_string()),
                Val::Expr(e) => e.clone(),
            }}),
        );
    }
    out.add(id.to_string(), "AWS::ElasticLoadBalancingV2::TargetGroup", json!({
        // Blue/green's second group needs a name of its own (names are unique per Region).
        "Name": app.names.as_ref().map(|n| if id.ends_with("AlternateTargetGroup") {
            n.alternate_target_group()
        } else {
            n.target_group()
        }),
        "TargetType": "ip",
        "Protocol": "HTTP",
        "Port": app.port.json(),
        "VpcId": app.network.vpc_id.as_ref().map(Val::json),
        "HealthCheckEnabled": true,
        "HealthCheckPath": h.path.as_ref().map(Val::json).unwrap_or(json!("/")),
        "Matcher": { "HttpCode": h.matcher.as_ref().map(Val::json).unwrap_or(json!("200-399")) },
        "HealthCheckIntervalSeconds": h.interval.as_ref().map(Val::json),
        "HealthCheckTimeoutSeconds": health_check_timeout(h),
        "HealthyThresholdCount": h.healthy_threshold.as_ref().map(Val::json),
        "UnhealthyThresholdCount": h.unhealthy_threshold.as_ref().map(Val::json),
        "TargetGroupAttributes": attributes,
        "Tags": super::tag_list(app),
    }));
}

/// A dedicated ALB: its security group, the ALB, its listeners.
#[allow(clippy::too_many_arguments)]
fn dedicated(
    app: &App,
    lb: &LoadBalancer,
    scheme: &Val<String>,
    subnets: &Option<ListVal<Value>>,
    out: &mut Out,
    r: &mut RoutingOut,
) {
    let ids = Ids(&app.id);
    let https = lb.https != Https::Never;
    let sg_id = ids.of("LoadBalancerSecurityGroup");
    let ingress = |p: u16| {
        json!({
            "Description": format!("HTTP{} from clients", if p == 443 { "S" } else { "" }),
            "IpProtocol": "tcp", "FromPort": p, "ToPort": p, "CidrIp": lb.ingress_cidr.json(),
        })
    };
    let mut rules = Vec::new();
    if https {
        rules.push(when_https(lb, ingress(443), no_value()));
    }
    rules.push(ingress(80));
    out.add(
        sg_id.clone(),
        "AWS::EC2::SecurityGroup",
        json!({
            "GroupDescription": format!("{} load balancer", app.id),
            "VpcId": app.network.vpc_id.as_ref().map(Val::json),
            "SecurityGroupIngress": rules,
            "Tags": super::tag_list(app),
        }),
    );
    let lb_id = ids.of("LoadBalancer");
    let subnets = subnets
        .as_ref()
        .or(app.network.subnets.as_ref())
        .map(|s| s.json());
    out.add(
        lb_id.clone(),
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        json!({
            "Name": app.names.as_ref().map(|n| n.load_balancer()),
            "Type": "application",
            "Scheme": scheme.json(),
            "Subnets": subnets,
            "SecurityGroups": [get_att(&sg_id, "GroupId")],
            "LoadBalancerAttributes": [
                { "Key": "routing.http.drop_invalid_header_fields.enabled", "Value": "true" },
            ],
            "Tags": super::tag_list(app),
        }),
    );
    let redirect = json!([{ "Type": "redirect", "RedirectConfig": { "Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301" } }]);
    let listener_id = ids.of("Listener");
    if matches!(lb.https, Https::When { .. }) {
        // HTTPS under a condition: the port-80 listener always exists and redirects or
        // forwards by the condition; the HTTPS listener exists under it. Turning the
        // condition on or off never puts two listeners on one port.
        let https_id = ids.of("HttpsListener");
        out.add(
            listener_id.clone(),
            "AWS::ElasticLoadBalancingV2::Listener",
            json!({
                "LoadBalancerArn": ref_(&lb_id),
                "Port": 80,
                "Protocol": "HTTP",
                "DefaultActions": when_https(lb, redirect, forward_actions(app)),
            }),
        );
        let condition = https_condition(app, lb, out);
        let https_listener = out.add(https_id.clone(), "AWS::ElasticLoadBalancingV2::Listener", json!({
            "LoadBalancerArn": ref_(&lb_id),
            "Port": 443,
            "Protocol": "HTTPS",
            "Certificates": lb.certificate_arn.as_ref().map(|c| json!([{ "CertificateArn": c.json() }])),
            "SslPolicy": SSL_POLICY,
            "DefaultActions": forward_actions(app),
        }));
        https_listener["Condition"] = json!(condition);
        r.attached_by = Some(listener_id.clone());
        // DependsOn would drop the service with the conditional listener; a reference
        // under the same condition orders them instead.
        r.conditional_attachment = Some(when_https(lb, ref_(&https_id), no_value()));
        r.listener_arn = Some(when_https(lb, ref_(&https_id), ref_(&listener_id)));
        r.listener_port = Some(when_https(lb, json!(443), json!(80)));
    } else {
        let port = if https { 443 } else { 80 };
        out.add(
            listener_id.clone(),
            "AWS::ElasticLoadBalancingV2::Listener",
            json!({
                "LoadBalancerArn": ref_(&lb_id),
                "Port": port,
                "Protocol": protocol(lb),
                "Certificates": certificates(lb),
                "SslPolicy": ssl_policy(lb),
                "DefaultActions": forward_actions(app),
            }),
        );
        if https {
            out.add(
                ids.of("RedirectListener"),
                "AWS::ElasticLoadBalancingV2::Listener",
                json!({
                    "LoadBalancerArn": ref_(&lb_id),
                    "Port": 80,
                    "Protocol": "HTTP",
                    "DefaultActions": redirect,
                }),
            );
        }
        r.attached_by = Some(listener_id.clone());
        r.listener_arn = Some(ref_(&listener_id));
        r.listener_port = Some(json!(port));
    }
    r.dns_name = Some(get_att(&lb_id, "DNSName"));
    let url = |scheme: &str| {
        SubBuilder::new()
            .text(&format!("{scheme}://"))
            .value("Dns", &get_att(&lb_id, "DNSName"))
            .build()
    };
    r.url = Some(when_https(lb, url("https"), url("http")));
    r.origin = r.url.clone();
}

/// A listener of the App's own on a shared ALB (fixed port, or claimed by the provider).
#[allow(clippy::too_many_arguments)]
fn shared_port(
    app: &App,
    lb: &LoadBalancer,
    settings: &Settings,
    arn: &Val<String>,
    security_group: &Val<String>,
    port: &Dynamic,
    dns_name: &Option<Val<String>>,
    out: &mut Out,
    r: &mut RoutingOut,
) {
    let ids = Ids(&app.id);
    let tg_id = ids.of("TargetGroup");
    let (listener_id, port_v, listener_arn, dns) = match port {
        Dynamic::Fixed(p) => {
            let id = ids.of("Listener");
            out.add(
                id.clone(),
                "AWS::ElasticLoadBalancingV2::Listener",
                json!({
                    "LoadBalancerArn": arn.json(),
                    "Port": p.json(),
                    "Protocol": protocol(lb),
                    "Certificates": certificates(lb),
                    "SslPolicy": ssl_policy(lb),
                    "DefaultActions": forward_actions(app),
                }),
            );
            (
                id.clone(),
                p.json(),
                ref_(&id),
                dns_name.as_ref().map(Val::json),
            )
        }
        Dynamic::Auto { from, to } => {
            let id = ids.of("AutoListener");
            out.add(
                id.clone(),
                LISTENER_PORT_TYPE,
                json!({
                    "ServiceToken": settings.service_token,
                    "LoadBalancerArn": arn.json(),
                    "TargetGroupArn": ref_(&tg_id),
                    "PortRange": format!("{from}-{to}"),
                    "PortChoice": lb.port_choice.as_ref().map(Val::json),
                    "Protocol": protocol(lb),
                    "CertificateArn": lb.certificate_arn.as_ref().map(|c| when_https(lb, c.json(), no_value())),
                    "SslPolicy": ssl_policy(lb),
                }),
            );
            let dns = dns_name
                .as_ref()
                .map(Val::json)
                .unwrap_or_else(|| get_att(&id, "DnsName"));
            (
                id.clone(),
                get_att(&id, "Port"),
                get_att(&id, "ListenerArn"),
                Some(dns),
            )
        }
    };
    out.add(
        ids.of("ListenerIngress"),
        "AWS::EC2::SecurityGroupIngress",
        json!({
            "Description": format!("clients of {}", app.id),
            "GroupId": security_group.json(),
            "IpProtocol": "tcp",
            "FromPort": port_v,
            "ToPort": port_v,
            "CidrIp": lb.ingress_cidr.json(),
        }),
    );
    r.attached_by = Some(listener_id);
    r.listener_arn = Some(listener_arn);
    r.url = dns.as_ref().map(|d| {
        let url = |scheme: &str| {
            SubBuilder::new()
                .text(&format!("{scheme}://"))
                .value("Dns", d)
                .text(":")
                .value("Port", &port_v)
                .build()
        };
        when_https(lb, url("https"), url("http"))
    });
    r.origin = r.url.clone();
    r.listener_port = Some(port_v);
    r.dns_name = dns;
}

/// A rule on a shared listener (fixed priority, or claimed by the provider).
#[allow(clippy::too_many_arguments)]
fn shared_rule(
    app: &App,
    lb: &LoadBalancer,
    settings: &Settings,
    listener: &Val<String>,
    paths: &[Val<String>],
    hosts: &[Val<String>],
    priority: &Dynamic,
    dns_name: &Option<Val<String>>,
    out: &mut Out,
    r: &mut RoutingOut,
) {
    let ids = Ids(&app.id);
    let tg_id = ids.of("TargetGroup");
    let mut conditions = Vec::new();
    if !paths.is_empty() {
        conditions.push(json!({ "Field": "path-pattern", "PathPatternConfig": { "Values": paths.iter().map(Val::json).collect::<Vec<_>>() } }));
    }
    if !hosts.is_empty() {
        conditions.push(json!({ "Field": "host-header", "HostHeaderConfig": { "Values": hosts.iter().map(Val::json).collect::<Vec<_>>() } }));
    }
    let rule_id = match priority {
        Dynamic::Fixed(p) => {
            let id = ids.of("ListenerRule");
            out.add(
                id.clone(),
                "AWS::ElasticLoadBalancingV2::ListenerRule",
                json!({
                    "ListenerArn": listener.json(),
                    "Priority": p.json(),
                    "Conditions": conditions,
                    "Actions": super::deployment::rule_actions(app),
                }),
            );
            r.rule_arn = Some(ref_(&id));
            id
        }
        Dynamic::Auto { from, to } => {
            let id = ids.of("AutoListenerRule");
            out.add(
                id.clone(),
                LISTENER_RULE_TYPE,
                json!({
                    "ServiceToken": settings.service_token,
                    "ListenerArn": listener.json(),
                    "TargetGroupArn": ref_(&tg_id),
                    "Conditions": conditions,
                    "PriorityRange": format!("{from}-{to}"),
                }),
            );
            r.rule_arn = Some(get_att(&id, "RuleArn"));
            id
        }
    };
    r.attached_by = Some(rule_id);
    r.listener_port = None;
    r.dns_name = dns_name.as_ref().map(Val::json);
    // Where the rule routes: the first literal host, else the ALB's name; plus the
    // fixed part of the first path pattern.
    let base_path = match paths.first().and_then(Val::lit) {
        Some(p) => p
            .split(['*', '?'])
            .next()
            .unwrap_or("")
            .trim_end_matches('/')
            .to_string(),
        None => String::new(),
    };
    let host = match hosts.first() {
        Some(Val::Lit(h)) if !h.contains(['*', '?']) => Some(Value::String(h.clone())),
        _ => r.dns_name.clone(),
    };
    let url = |h: &Value, path: &str| {
        let url = |scheme: &str| {
            SubBuilder::new()
                .text(&format!("{scheme}://"))
                .value("Host", h)
                .text(path)
                .build()
        };
        when_https(lb, url("https"), url("http"))
    };
    r.url = host.as_ref().map(|h| url(h, &base_path));
    r.origin = host.as_ref().map(|h| url(h, ""));
}
