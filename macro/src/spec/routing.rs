//! `LoadBalancer`: a dedicated ALB, a listener on a shared ALB, or a rule on a shared listener;
//! HTTPS (also under a condition), automatic ports and priorities, target-group health checks.

use super::{valid_cidr, TemplateCtx};
use crate::intrinsics::is_intrinsic;
use crate::reader::{path, show, ListVal, Reader, Val};
use serde_json::{Map, Value};

/// Keys of the object form of `LoadBalancer.Create`.
pub const CREATE_KEYS: &[&str] = &["Scheme", "Subnets"];

/// Keys of `LoadBalancer.HealthCheck`.
pub const TARGET_HEALTH_KEYS: &[&str] = &[
    "Path",
    "Matcher",
    "Interval",
    "Timeout",
    "HealthyThreshold",
    "UnhealthyThreshold",
    "GracePeriod",
];

/// Target-group health-check defaults for HTTP targets (seconds).
pub const DEFAULT_HEALTH_INTERVAL: u64 = 30;
pub const DEFAULT_HEALTH_TIMEOUT: u64 = 6;
pub const DEFAULT_PORT_RANGE: (u64, u64) = (8000, 8999);
pub const DEFAULT_PRIORITY_RANGE: (u64, u64) = (1, 50000);

#[derive(Debug, Clone)]
pub struct LoadBalancer {
    pub routing: Routing,
    /// Whether the app's listener speaks HTTPS (the certificate is used only then).
    pub https: Https,
    /// The certificate, without the condition that may switch it off (that is in `https`).
    pub certificate_arn: Option<Val<String>>,
    pub ingress_cidr: Val<String>,
    pub health_check: TargetHealth,
    pub deregistration_delay: Option<Val<u64>>,
    pub stickiness: Option<Val<u64>>,
    /// `PortChoice` of `ListenerPort: auto`: `Lowest` (the provider's default) or
    /// `LeastRecentlyUsed` (a port freed lately goes last, so a deleted branch's URL does not
    /// open the next branch's environment at once).
    pub port_choice: Option<Val<String>>,
}

#[derive(Debug, Clone)]
pub enum Routing {
    /// An ALB created for this app alone.
    Dedicated {
        scheme: Val<String>,
        subnets: Option<ListVal<Value>>,
    },
    /// A listener of the app's own on a shared ALB.
    SharedPort {
        arn: Val<String>,
        security_group: Val<String>,
        port: Dynamic,
        dns_name: Option<Val<String>>,
    },
    /// A rule on an existing listener of a shared ALB.
    SharedRule {
        arn: Option<Val<String>>,
        security_group: Val<String>,
        listener: Val<String>,
        paths: Vec<Val<String>>,
        hosts: Vec<Val<String>>,
        priority: Dynamic,
        dns_name: Option<Val<String>>,
    },
}

/// HTTPS always, never, or while a condition of the template holds (or, `negated`, fails).
#[derive(Debug, Clone, PartialEq)]
pub enum Https {
    Always,
    Never,
    When { condition: String, negated: bool },
}

/// A number fixed in the template, or `auto`: chosen at deploy time by the provider.
#[derive(Debug, Clone, PartialEq)]
pub enum Dynamic {
    Fixed(Val<u64>),
    Auto { from: u64, to: u64 },
}

#[derive(Debug, Clone, Default)]
pub struct TargetHealth {
    pub path: Option<Val<String>>,
    pub matcher: Option<Val<String>>,
    pub interval: Option<Val<u64>>,
    pub timeout: Option<Val<u64>>,
    pub healthy_threshold: Option<Val<u64>>,
    pub unhealthy_threshold: Option<Val<u64>>,
    pub grace_period: Option<Val<u64>>,
}

pub const LB_KEYS: &[&str] = &[
    "Create",
    "Arn",
    "SecurityGroup",
    "Listener",
    "Path",
    "Host",
    "Priority",
    "PriorityRange",
    "ListenerPort",
    "PortRange",
    "PortChoice",
    "Protocol",
    "CertificateArn",
    "DnsName",
    "IngressCidr",
    "HealthCheck",
    "DeregistrationDelay",
    "Stickiness",
];

pub(super) fn read_load_balancer(
    r: &mut Reader,
    p: &str,
    v: &Value,
    ctx: &TemplateCtx,
) -> Option<LoadBalancer> {
    let m = r.object(p, v, LB_KEYS)?;
    let kp = |k: &str| path(p, k);
    let s = |r: &mut Reader, k: &str| m.get(k).and_then(|v| r.nonempty(&path(p, k), v));
    let (certificate_arn, cert_cond) = match m.get("CertificateArn") {
        Some(v) => match conditional_value(v) {
            Some((c, negated, inner)) => {
                (r.nonempty(&kp("CertificateArn"), inner), Some((c, negated)))
            }
            None => (r.nonempty(&kp("CertificateArn"), v), None),
        },
        None => (None, None),
    };
    let https = read_https(
        r,
        p,
        m.get("Protocol"),
        certificate_arn.is_some(),
        cert_cond,
    );
    // A rule on a listener of this template speaks what that listener speaks: an HTTPS
    // listener gives the App an `https://` URL and gate without `Protocol: HTTPS`.
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-elasticloadbalancingv2-listener.html
    let listener_protocol = m
        .get("Listener")
        .and_then(|l| ctx.referenced(l))
        .filter(|(id, attr)| {
            attr.is_none() && ctx.resource_type(id) == Some("AWS::ElasticLoadBalancingV2::Listener")
        })
        .and_then(|(id, _)| Some((id, ctx.resource_prop(id, "Protocol")?.as_str()?)));
    let https = match (&https, m.get("Protocol"), listener_protocol) {
        (Https::Never, None, Some((_, "HTTPS"))) => Https::Always,
        (Https::Never, Some(_), Some((id, "HTTPS"))) => {
            r.err(
                &kp("Protocol"),
                format!("HTTP, but the rule is on {id}, an HTTPS listener: leave Protocol out (it follows the listener) or give HTTPS"),
            );
            https
        }
        _ => https,
    };
    let ingress_cidr = match m.get("IngressCidr") {
        Some(v) => match r.string(&kp("IngressCidr"), v) {
            Some(Val::Lit(c)) if !valid_cidr(&c) => {
                r.err(
                    &kp("IngressCidr"),
                    format!("'{c}' is not an IPv4 CIDR block"),
                );
                Val::Lit(c)
            }
            Some(x) => x,
            None => Val::Lit("0.0.0.0/0".into()),
        },
        None => Val::Lit("0.0.0.0/0".into()),
    };
    // A rule on a listener of this template: its ALB is the listener's `LoadBalancerArn`, known
    // without `Arn` (request scaling names the ALB in its metric).
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-elasticloadbalancingv2-listener.html
    let listener_alb = m
        .get("Listener")
        .and_then(|l| ctx.referenced(l))
        .filter(|(id, attr)| {
            attr.is_none() && ctx.resource_type(id) == Some("AWS::ElasticLoadBalancingV2::Listener")
        })
        .and_then(|(id, _)| ctx.resource_prop(id, "LoadBalancerArn"))
        .filter(|v| is_intrinsic(v) || v.is_string());
    // A shared ALB of this template: its DNS name is known without DnsName.
    let dns_name = s(r, "DnsName").or_else(|| {
        let (id, _) = ctx.referenced(m.get("Arn").or(listener_alb)?)?;
        (ctx.resource_type(id) == Some("AWS::ElasticLoadBalancingV2::LoadBalancer"))
            .then(|| Val::Expr(crate::intrinsics::get_att(id, "DNSName")))
    });
    let has = |k: &str| m.contains_key(k);
    let routing = if let Some(c) = m.get("Create") {
        read_dedicated(r, p, m, c)?
    } else if let Some(listener) = m.get("Listener") {
        let alb = listener_alb.map(|v| match v {
            Value::String(a) => Val::Lit(a.clone()),
            other => Val::Expr(other.clone()),
        });
        read_shared_rule(r, p, m, listener, dns_name, alb)?
    } else if has("Arn") {
        read_shared_port(r, p, m, dns_name)?
    } else {
        r.err(p, "give Create (a dedicated ALB), or Arn with ListenerPort (a listener on a shared ALB), or Listener with Path/Host (a rule on a shared listener)");
        return None;
    };
    let health_check = m
        .get("HealthCheck")
        .map(|v| read_target_health(r, &kp("HealthCheck"), v))
        .unwrap_or_default();
    let deregistration_delay = m
        .get("DeregistrationDelay")
        .and_then(|v| r.seconds(&kp("DeregistrationDelay"), v, 0, 3600));
    let stickiness = m.get("Stickiness").and_then(|v| match v {
        Value::Bool(true) => Some(Val::Lit(86400)),
        Value::Bool(false) => None,
        _ => r.int(&kp("Stickiness"), v, 1, 604800),
    });
    let port_choice = m
        .get("PortChoice")
        .and_then(|v| r.word(&kp("PortChoice"), v, &["Lowest", "LeastRecentlyUsed"]));
    if port_choice.is_some()
        && !matches!(
            routing,
            Routing::SharedPort {
                port: Dynamic::Auto { .. },
                ..
            }
        )
    {
        r.err(&kp("PortChoice"), "only used with ListenerPort: auto");
    }
    Some(LoadBalancer {
        port_choice,
        routing,
        https,
        certificate_arn,
        ingress_cidr,
        health_check,
        deregistration_delay,
        stickiness,
    })
}

/// Reports each of `keys` present in `m` as "not used {why}".
fn forbid_keys(r: &mut Reader, p: &str, m: &Map<String, Value>, keys: &[&str], why: &str) {
    for k in keys.iter().filter(|k| m.contains_key(**k)) {
        r.err(&path(p, k), format!("not used {why}"));
    }
}

/// `Create`: an ALB made for the App alone.
fn read_dedicated(r: &mut Reader, p: &str, m: &Map<String, Value>, c: &Value) -> Option<Routing> {
    let kp = |k: &str| path(p, k);
    let has = |k: &str| m.contains_key(k);
    let forbid = |r: &mut Reader, keys: &[&str], why: &str| forbid_keys(r, p, m, keys, why);
    if has("Arn") {
        r.err(
            &kp("Arn"),
            "give either Create (a dedicated ALB) or Arn (a shared ALB), not both",
        );
    }
    forbid(
        r,
        &[
            "SecurityGroup",
            "Listener",
            "Path",
            "Host",
            "Priority",
            "PriorityRange",
            "ListenerPort",
            "PortRange",
            "DnsName",
        ],
        "with Create (a dedicated ALB)",
    );
    let cp = kp("Create");
    let (scheme, subnets) = match c {
        Value::Bool(true) => (Val::Lit("internet-facing".to_string()), None),
        _ => {
            let cm = r.object(&cp, c, CREATE_KEYS)?;
            let scheme = cm
                .get("Scheme")
                .and_then(|v| r.word(&path(&cp, "Scheme"), v, &["internet-facing", "internal"]))
                .unwrap_or(Val::Lit("internet-facing".into()));
            let subnets = cm.get("Subnets").and_then(|v| {
                r.list(&path(&cp, "Subnets"), v, |r, ip, it| {
                    r.nonempty(ip, it).map(|s| s.json())
                })
            });
            if let Some(ListVal::Items(items)) = &subnets {
                if items.len() < 2 {
                    r.err(
                        &path(&cp, "Subnets"),
                        "an ALB needs subnets in at least two Availability Zones",
                    );
                }
            }
            (scheme, subnets)
        }
    };
    Some(Routing::Dedicated { scheme, subnets })
}

/// `Listener` with `Path`/`Host` and `Priority`: a rule on a shared listener.
fn read_shared_rule(
    r: &mut Reader,
    p: &str,
    m: &Map<String, Value>,
    listener: &Value,
    dns_name: Option<Val<String>>,
    listener_alb: Option<Val<String>>,
) -> Option<Routing> {
    let kp = |k: &str| path(p, k);
    let has = |k: &str| m.contains_key(k);
    let forbid = |r: &mut Reader, keys: &[&str], why: &str| forbid_keys(r, p, m, keys, why);
    let s = |r: &mut Reader, k: &str| m.get(k).and_then(|v| r.nonempty(&path(p, k), v));
    forbid(
        r,
        &["ListenerPort", "PortRange"],
        "with Listener (a rule on an existing listener)",
    );
    let listener = r.nonempty(&kp("Listener"), listener)?;
    let mut values = |k: &str, check: fn(&str) -> Option<&'static str>| -> Vec<Val<String>> {
        let Some(v) = m.get(k) else { return Vec::new() };
        let items = match v {
            Value::String(_) => vec![v.clone()],
            Value::Array(a) => a.clone(),
            _ if is_intrinsic(v) => vec![v.clone()],
            _ => {
                r.err(
                    &kp(k),
                    format!("expected a string or a list of strings, got {}", show(v)),
                );
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        for (i, it) in items.iter().enumerate() {
            let ip = if matches!(v, Value::Array(_)) {
                format!("{}[{i}]", kp(k))
            } else {
                kp(k)
            };
            if let Some(s) = r.nonempty(&ip, it) {
                if let Val::Lit(text) = &s {
                    if let Some(why) = check(text) {
                        r.err(&ip, format!("'{text}' {why}"));
                    }
                }
                out.push(s);
            }
        }
        out
    };
    let paths = values("Path", |s| {
        (!s.starts_with('/'))
            .then_some("must start with /")
            .or((s.len() > 128).then_some("is longer than 128 characters"))
    });
    let hosts = values("Host", |s| {
        (s.len() > 128)
            .then_some("is longer than 128 characters")
            .or(s.contains('/').then_some("is a host name, not a URL"))
    });
    if paths.is_empty() && hosts.is_empty() {
        r.err(
            &kp("Path"),
            "a rule on a shared listener needs a Path and/or a Host condition",
        );
    }
    // "You can specify up to three comparison strings per condition and up to five per rule."
    // https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-update-rules.html
    for (key, values) in [("Path", &paths), ("Host", &hosts)] {
        if values.len() > 3 {
            r.err(
                &kp(key),
                format!(
                    "{} values in one {key} condition; an ALB condition takes at most 3 (and a rule 5): split the App, or use a pattern with wildcards",
                    values.len()
                ),
            );
        }
    }
    if paths.len() + hosts.len() > 5 {
        r.err(
            &kp("Path"),
            format!(
                "{} condition values in one rule; an ALB rule takes at most 5",
                paths.len() + hosts.len()
            ),
        );
    }
    let priority = match m.get("Priority") {
        Some(v) => read_dynamic(
            r,
            &kp("Priority"),
            v,
            m.get("PriorityRange"),
            &kp("PriorityRange"),
            1,
            50000,
            DEFAULT_PRIORITY_RANGE,
        )?,
        None => {
            r.err(
                &kp("Priority"),
                "required with Listener: a number from 1 to 50000, or auto",
            );
            return None;
        }
    };
    let priority = match priority {
        Dynamic::Auto { from, to } => {
            let (from, to) = priority_band(&paths, &hosts, from, to);
            Dynamic::Auto { from, to }
        }
        fixed => fixed,
    };
    let security_group = s(r, "SecurityGroup");
    if !has("SecurityGroup") {
        r.err(
            &kp("SecurityGroup"),
            "required with Listener: the shared ALB's security group, allowed to reach the tasks",
        );
    }
    Some(Routing::SharedRule {
        arn: s(r, "Arn").or(listener_alb),
        security_group: security_group?,
        listener,
        paths,
        hosts,
        priority,
        dns_name,
    })
}

/// `Arn` with `ListenerPort`: a listener of the App's own on a shared ALB.
fn read_shared_port(
    r: &mut Reader,
    p: &str,
    m: &Map<String, Value>,
    dns_name: Option<Val<String>>,
) -> Option<Routing> {
    let kp = |k: &str| path(p, k);
    let has = |k: &str| m.contains_key(k);
    let forbid = |r: &mut Reader, keys: &[&str], why: &str| forbid_keys(r, p, m, keys, why);
    let s = |r: &mut Reader, k: &str| m.get(k).and_then(|v| r.nonempty(&path(p, k), v));
    forbid(
        r,
        &["Path", "Host", "Priority", "PriorityRange"],
        "without Listener (they make a rule on an existing listener)",
    );
    let arn = s(r, "Arn");
    let sg = s(r, "SecurityGroup");
    if sg.is_none() && !has("SecurityGroup") {
        r.err(&kp("SecurityGroup"), "required with Arn: the shared ALB's security group, to open the listener port and reach the tasks");
    }
    let port = match m.get("ListenerPort") {
        Some(v) => read_dynamic(
            r,
            &kp("ListenerPort"),
            v,
            m.get("PortRange"),
            &kp("PortRange"),
            1,
            65535,
            DEFAULT_PORT_RANGE,
        ),
        None => {
            r.err(&kp("ListenerPort"), "required with Arn: a port number or auto (or give Listener with Path/Host for a rule on an existing listener)");
            None
        }
    };
    Some(Routing::SharedPort {
        arn: arn?,
        security_group: sg?,
        port: port?,
        dns_name,
    })
}

/// `Fn::If [Cond, X, AWS::NoValue]` (or the branches swapped): the condition, whether it is
/// negated, and X.
pub(super) fn conditional_value(v: &Value) -> Option<(String, bool, &Value)> {
    let a = v.get("Fn::If")?.as_array().filter(|a| a.len() == 3)?;
    let c = a[0].as_str()?.to_string();
    let no_value = |x: &Value| x.get("Ref").and_then(Value::as_str) == Some("AWS::NoValue");
    match (no_value(&a[1]), no_value(&a[2])) {
        (false, true) => Some((c, false, &a[1])),
        (true, false) => Some((c, true, &a[2])),
        _ => None,
    }
}

/// Protocol and certificate together: the listener is HTTPS always, never, or under one
/// condition (`Protocol: !If [C, HTTPS, HTTP]`, or `CertificateArn: !If [C, X, !Ref AWS::NoValue]`).
pub(super) fn read_https(
    r: &mut Reader,
    p: &str,
    protocol: Option<&Value>,
    has_cert: bool,
    cert_cond: Option<(String, bool)>,
) -> Https {
    let pp = path(p, "Protocol");
    let cp = path(p, "CertificateArn");
    let when = |(condition, negated): (String, bool)| Https::When { condition, negated };
    let proto = protocol.and_then(|v| {
        let branches = v.get("Fn::If").and_then(Value::as_array).filter(|a| a.len() == 3);
        if let Some(a) = branches {
            match (a[0].as_str(), a[1].as_str(), a[2].as_str()) {
                (Some(c), Some("HTTPS"), Some("HTTP")) => return Some(when((c.to_string(), false))),
                (Some(c), Some("HTTP"), Some("HTTPS")) => return Some(when((c.to_string(), true))),
                _ => {}
            }
        }
        match r.word(&pp, v, &["HTTP", "HTTPS"])? {
            Val::Lit(s) if s == "HTTPS" => Some(Https::Always),
            Val::Lit(_) => Some(Https::Never),
            Val::Expr(_) => {
                r.err(&pp, "an intrinsic here must be !If [Condition, HTTPS, HTTP]: the listener's port, certificate and redirect follow the condition");
                None
            }
        }
    });
    match (proto, cert_cond) {
        (None, None) if has_cert => Https::Always,
        (None, None) => Https::Never,
        (None, Some(c)) => when(c),
        (Some(Https::Never), _) if has_cert => {
            r.err(&cp, "given with Protocol HTTP; a certificate needs HTTPS");
            Https::Never
        }
        (Some(Https::Always), Some(_)) => {
            r.err(&cp, "conditional while Protocol is HTTPS: an HTTPS listener needs a certificate in every case; leave Protocol out (it then follows the condition)");
            Https::Always
        }
        (Some(h @ Https::When { .. }), Some(c)) => {
            if h != when(c.clone()) {
                r.err(&pp, format!("follows a different condition than CertificateArn ({}{}); use the same one", if c.1 { "not " } else { "" }, c.0));
            }
            h
        }
        (Some(h), _) => h,
    }
}

/// Automatic rule priorities come from bands of the range by specificity, so that a catch-all
/// never lands before a rule it would hide: rules with a Host and a Path from the bottom third,
/// rules with one of them from the middle, catch-alls (`/*`, `*`) from the top third.
pub fn priority_band(
    paths: &[Val<String>],
    hosts: &[Val<String>],
    from: u64,
    to: u64,
) -> (u64, u64) {
    let catch_all =
        |v: &Val<String>, all: &[&str]| v.lit().is_some_and(|s| all.contains(&s.as_str()));
    let path_specific = paths.iter().any(|p| !catch_all(p, &["/*", "*", "/**"]));
    let host_specific = hosts.iter().any(|h| !catch_all(h, &["*"]));
    let specific = path_specific as u64 + host_specific as u64;
    let size = (to - from + 1) / 3;
    if size == 0 {
        return (from, to);
    }
    match specific {
        2 => (from, from + size - 1),
        1 => (from + size, from + 2 * size - 1),
        _ => (from + 2 * size, to),
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn read_dynamic(
    r: &mut Reader,
    p: &str,
    v: &Value,
    range: Option<&Value>,
    range_path: &str,
    min: u64,
    max: u64,
    default: (u64, u64),
) -> Option<Dynamic> {
    if v.as_str() == Some("auto") {
        let (from, to) = match range {
            None => default,
            Some(Value::String(s)) => match s
                .split_once('-')
                .map(|(a, b)| (a.trim().parse::<u64>(), b.trim().parse::<u64>()))
            {
                Some((Ok(a), Ok(b))) if a >= min && b <= max && a <= b => (a, b),
                _ => {
                    r.err(
                        range_path,
                        format!("'{s}' is not a range FROM-TO within {min}..{max}"),
                    );
                    return None;
                }
            },
            Some(other) => {
                r.err(
                    range_path,
                    format!(
                        "expected a range such as '{}-{}', got {}",
                        default.0,
                        default.1,
                        show(other)
                    ),
                );
                return None;
            }
        };
        Some(Dynamic::Auto { from, to })
    } else {
        if range.is_some() {
            r.err(range_path, "only used with auto");
        }
        match v {
            Value::String(s) if s.parse::<u64>().is_err() => {
                r.err(
                    p,
                    format!("expected a number from {min} to {max}, or auto; got '{s}'"),
                );
                None
            }
            _ => r.int(p, v, min, max).map(Dynamic::Fixed),
        }
    }
}

pub(super) fn read_target_health(r: &mut Reader, p: &str, v: &Value) -> TargetHealth {
    let Some(m) = r.object(p, v, TARGET_HEALTH_KEYS) else {
        return TargetHealth::default();
    };
    let int =
        |r: &mut Reader, k: &str, min, max| m.get(k).and_then(|v| r.int(&path(p, k), v, min, max));
    let secs = |r: &mut Reader, k: &str, min, max| {
        m.get(k).and_then(|v| r.seconds(&path(p, k), v, min, max))
    };
    let h = TargetHealth {
        path: m
            .get("Path")
            .and_then(|v| match r.nonempty(&path(p, "Path"), v) {
                Some(Val::Lit(s)) if !s.starts_with('/') => {
                    r.err(&path(p, "Path"), format!("'{s}' must start with /"));
                    None
                }
                other => other,
            }),
        matcher: m.get("Matcher").and_then(|v| {
            let mv = match v {
                Value::Number(n) => Value::String(n.to_string()),
                other => other.clone(),
            };
            match r.string(&path(p, "Matcher"), &mv) {
                Some(Val::Lit(s)) if !valid_matcher(&s) => {
                    r.err(
                        &path(p, "Matcher"),
                        format!("'{s}' is not an HTTP code list such as 200, 200,204 or 200-299"),
                    );
                    None
                }
                other => other,
            }
        }),
        interval: secs(r, "Interval", 5, 300),
        timeout: secs(r, "Timeout", 2, 120),
        healthy_threshold: int(r, "HealthyThreshold", 2, 10),
        unhealthy_threshold: int(r, "UnhealthyThreshold", 2, 10),
        grace_period: secs(r, "GracePeriod", 0, 2_147_483_647),
    };
    // The timeout must be lower than the interval, whose default is 30 s.
    match (&h.interval, &h.timeout) {
        (Some(Val::Lit(i)), Some(Val::Lit(t))) if t >= i => r.err(
            &path(p, "Timeout"),
            format!("{t} must be less than Interval {i}"),
        ),
        (None, Some(Val::Lit(t))) if *t >= DEFAULT_HEALTH_INTERVAL => r.err(
            &path(p, "Timeout"),
            format!("{t} must be less than the interval (default {DEFAULT_HEALTH_INTERVAL}); set a longer Interval"),
        ),
        _ => {}
    }
    h
}

pub(super) fn valid_matcher(s: &str) -> bool {
    let code = |c: &str| {
        c.parse::<u16>()
            .map(|n| (200..=499).contains(&n))
            .unwrap_or(false)
    };
    s.split(',').all(|part| match part.split_once('-') {
        Some((a, b)) => code(a) && code(b) && a < b,
        None => code(part),
    })
}
