//! Target group and the way traffic reaches it: a dedicated ALB, a listener of the app's own
//! on a shared ALB (fixed port, or `auto` through the provider), or a rule on a shared listener
//! (fixed priority, or `auto` through the provider).

use super::{Ids, Out, Settings};
use crate::intrinsics::{get_att, ref_, SubBuilder};
use crate::reader::Val;
use crate::spec::{App, Dynamic, LoadBalancer, Routing, Standby};
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
    /// The listener whose default action forwards to the app (absent for a rule).
    pub listener_arn: Option<Value>,
    /// The rule that forwards to the app (absent for a listener of its own).
    pub rule_arn: Option<Value>,
    pub listener_port: Option<Value>,
    pub dns_name: Option<Value>,
    /// `scheme://host[:port][/path]` where the app answers, when it can be known.
    pub url: Option<Value>,
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

fn scheme(lb: &LoadBalancer) -> &'static str {
    match lb.protocol.lit().map(String::as_str) {
        Some("HTTPS") => "https",
        _ => "http",
    }
}

fn certificates(lb: &LoadBalancer) -> Value {
    match &lb.certificate_arn {
        Some(c) => json!([{ "CertificateArn": c.json() }]),
        None => Value::Null,
    }
}

fn ssl_policy(lb: &LoadBalancer) -> Value {
    if lb.certificate_arn.is_some() {
        json!(SSL_POLICY)
    } else {
        Value::Null
    }
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
    let scheme = scheme(lb);
    match &lb.routing {
        Routing::Dedicated {
            scheme: lb_scheme,
            subnets,
        } => {
            let https = lb.certificate_arn.is_some();
            let sg_id = ids.of("LoadBalancerSecurityGroup");
            let ports: Vec<u16> = if https { vec![443, 80] } else { vec![80] };
            out.add(sg_id.clone(), "AWS::EC2::SecurityGroup", json!({
                "GroupDescription": format!("{} load balancer", app.id),
                "VpcId": app.network.vpc_id.as_ref().map(Val::json),
                "SecurityGroupIngress": ports.iter().map(|p| json!({
                    "Description": format!("HTTP{} from clients", if *p == 443 { "S" } else { "" }),
                    "IpProtocol": "tcp", "FromPort": p, "ToPort": p, "CidrIp": lb.ingress_cidr.json(),
                })).collect::<Vec<_>>(),
                "Tags": super::tag_list(app),
            }));
            let lb_id = ids.of("LoadBalancer");
            let subnets = subnets
                .as_ref()
                .or(app.network.subnets.as_ref())
                .map(|s| s.json());
            out.add(lb_id.clone(), "AWS::ElasticLoadBalancingV2::LoadBalancer", json!({
                "Type": "application",
                "Scheme": lb_scheme.json(),
                "Subnets": subnets,
                "SecurityGroups": [get_att(&sg_id, "GroupId")],
                "LoadBalancerAttributes": [
                    { "Key": "routing.http.drop_invalid_header_fields.enabled", "Value": "true" },
                ],
                "Tags": super::tag_list(app),
            }));
            let listener_id = ids.of("Listener");
            let port = if https { 443 } else { 80 };
            out.add(
                listener_id.clone(),
                "AWS::ElasticLoadBalancingV2::Listener",
                json!({
                    "LoadBalancerArn": ref_(&lb_id),
                    "Port": port,
                    "Protocol": if https { "HTTPS" } else { "HTTP" },
                    "Certificates": certificates(lb),
                    "SslPolicy": ssl_policy(lb),
                    "DefaultActions": forward_actions(app),
                }),
            );
            if https {
                out.add(ids.of("RedirectListener"), "AWS::ElasticLoadBalancingV2::Listener", json!({
                    "LoadBalancerArn": ref_(&lb_id),
                    "Port": 80,
                    "Protocol": "HTTP",
                    "DefaultActions": [{ "Type": "redirect", "RedirectConfig": { "Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301" } }],
                }));
            }
            r.attached_by = Some(listener_id.clone());
            r.listener_arn = Some(ref_(&listener_id));
            r.listener_port = Some(json!(port));
            r.dns_name = Some(get_att(&lb_id, "DNSName"));
            r.url = Some(
                SubBuilder::new()
                    .text(&format!("{scheme}://"))
                    .value("Dns", &get_att(&lb_id, "DNSName"))
                    .build(),
            );
        }
        Routing::SharedPort {
            arn,
            security_group,
            port,
            dns_name,
        } => {
            let (listener_id, port_v, listener_arn, dns) = match port {
                Dynamic::Fixed(p) => {
                    let id = ids.of("Listener");
                    out.add(
                        id.clone(),
                        "AWS::ElasticLoadBalancingV2::Listener",
                        json!({
                            "LoadBalancerArn": arn.json(),
                            "Port": p.json(),
                            "Protocol": lb.protocol.json(),
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
                            "Protocol": lb.protocol.json(),
                            "CertificateArn": lb.certificate_arn.as_ref().map(Val::json),
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
                SubBuilder::new()
                    .text(&format!("{scheme}://"))
                    .value("Dns", d)
                    .text(":")
                    .value("Port", &port_v)
                    .build()
            });
            r.listener_port = Some(port_v);
            r.dns_name = dns;
        }
        Routing::SharedRule {
            listener,
            paths,
            hosts,
            priority,
            dns_name,
            ..
        } => {
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
                            "Actions": forward_actions(app),
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
            r.url = host.map(|h| {
                SubBuilder::new()
                    .text(&format!("{scheme}://"))
                    .value("Host", &h)
                    .text(&base_path)
                    .build()
            });
        }
    }
    r
}

fn target_group(app: &App, lb: &LoadBalancer, id: &str, out: &mut Out) {
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
        "TargetType": "ip",
        "Protocol": "HTTP",
        "Port": app.port.json(),
        "VpcId": app.network.vpc_id.as_ref().map(Val::json),
        "HealthCheckEnabled": true,
        "HealthCheckPath": h.path.as_ref().map(Val::json).unwrap_or(json!("/")),
        "Matcher": { "HttpCode": h.matcher.as_ref().map(Val::json).unwrap_or(json!("200-399")) },
        "HealthCheckIntervalSeconds": h.interval.as_ref().map(Val::json),
        "HealthCheckTimeoutSeconds": h.timeout.as_ref().map(Val::json),
        "HealthyThresholdCount": h.healthy_threshold.as_ref().map(Val::json),
        "UnhealthyThresholdCount": h.unhealthy_threshold.as_ref().map(Val::json),
        "TargetGroupAttributes": attributes,
        "Tags": super::tag_list(app),
    }));
}
