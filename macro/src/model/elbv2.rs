//! ELBv2 as the Application Load Balancer guide defines it: listeners (one per port per load
//! balancer), rules evaluated in priority order with the default action last, condition types
//! and their matching, rule limits, and the TLS name a client must present to an HTTPS listener.

use super::{
    items, key, lit_num, lit_str, single, sub_text, target, App, Finding, Rule, Severity, Stack,
};
use serde::Serialize;
use serde_json::Value;

const RULES_PAGE: &str =
    "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-rules.html";

pub const PRIORITY_IN_USE: Rule = Rule {
    code: "ELB_PRIORITY_IN_USE",
    severity: Severity::Error,
    rule: "a listener can't have multiple rules with the same priority (CreateRule: PriorityInUse)",
    doc: "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateRule.html",
};
pub const DUPLICATE_LISTENER: Rule = Rule {
    code: "ELB_DUPLICATE_LISTENER",
    severity: Severity::Error,
    rule: "one listener per port on a load balancer (CreateListener: DuplicateListener)",
    doc: "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateListener.html",
};
pub const CONDITION_VALUES: Rule = Rule {
    code: "ELB_RULE_CONDITION_VALUES",
    severity: Severity::Error,
    rule: "a rule takes at most five comparison strings across its conditions",
    doc: RULES_PAGE,
};
/// "You can specify up to three comparison strings per condition and up to five comparison
/// strings per rule" (listener-rules.html, rule basics).
pub const CONDITION_VALUES_PER_CONDITION: Rule = Rule {
    code: "ELB_CONDITION_VALUES_PER_CONDITION",
    severity: Severity::Error,
    rule: "a rule condition takes at most three comparison strings",
    doc: RULES_PAGE,
};
/// Rules are evaluated lowest priority first: two rules a request can match both, whose
/// priorities are ranges the provider picks from at deploy time, have no decided order, so
/// which App gets the request depends on which rule was created first.
pub const RULE_ORDER_UNDECIDED: Rule = Rule {
    code: "ELB_RULE_ORDER_UNDECIDED",
    severity: Severity::Error,
    rule: "rules are evaluated in priority order, lowest first: two rules that match the same request need priorities in a fixed order",
    doc: RULES_PAGE,
};
/// A request that matches none of the template's rules on a listener the template does not
/// define falls to rules or a default action outside the template, none of which can forward
/// to a target group this stack creates.
pub const GATE_FALLS_THROUGH: Rule = Rule {
    code: "ELB_GATE_FALLS_THROUGH",
    severity: Severity::Error,
    rule: "rules are evaluated in priority order, the default rule last: a gate request that matches none of the App's rules never reaches the App",
    doc: RULES_PAGE,
};
pub const GATE_MISROUTED: Rule = Rule {
    code: "ELB_GATE_MISROUTED",
    severity: Severity::Error,
    rule: "rules are evaluated in priority order, the default rule last: the gate's request must reach the App's target groups",
    doc: RULES_PAGE,
};
pub const SCHEME_MISMATCH: Rule = Rule {
    code: "ELB_SCHEME_MISMATCH",
    severity: Severity::Error,
    rule: "an HTTPS listener accepts only TLS connections and an HTTP listener only plain HTTP; a redirect default action answers 301",
    doc: "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-listeners.html",
};
pub const TLS_NAME: Rule = Rule {
    code: "ELB_TLS_NAME_NOT_COVERED",
    severity: Severity::Error,
    rule: "an HTTPS listener presents an ACM certificate for your domain (chosen by SNI): it covers the names it lists (a wildcard stands for one label), never the load balancer's *.elb.amazonaws.com name",
    doc: "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/https-listener-certificates.html",
};
pub const PATH_DOUBLED: Rule = Rule {
    code: "ELB_GATE_PATH_DOUBLED",
    severity: Severity::Error,
    rule: "the load balancer forwards the request path unchanged (no rewrite without a transform): a path that repeats the rule's prefix reaches the container doubled",
    doc: RULES_PAGE,
};

pub const WEIGHTED_FORWARD: Rule = Rule {
    code: "ELB_WEIGHTED_FORWARD_LIMITS",
    severity: Severity::Error,
    rule: "a forward action takes at most 5 target groups, each weight 0 to 999",
    doc: "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_TargetGroupTuple.html",
};
pub const NAME_LENGTH: Rule = Rule {
    code: "ELB_NAME_TOO_LONG",
    severity: Severity::Error,
    rule: "a load balancer's or target group's name has at most 32 characters",
    doc: "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html",
};

pub const RULES: &[&Rule] = &[
    &WEIGHTED_FORWARD,
    &NAME_LENGTH,
    &PRIORITY_IN_USE,
    &DUPLICATE_LISTENER,
    &CONDITION_VALUES,
    &CONDITION_VALUES_PER_CONDITION,
    &RULE_ORDER_UNDECIDED,
    &GATE_MISROUTED,
    &GATE_FALLS_THROUGH,
    &SCHEME_MISMATCH,
    &TLS_NAME,
    &PATH_DOUBLED,
];

/// A listener: from the template (`AWS::ElasticLoadBalancingV2::Listener`, a provider-claimed
/// `Custom::FargateListenerPort`) or only named by an ARN (everything unknown).
#[derive(Debug, Clone)]
pub struct Listener {
    pub key: String,
    pub id: String,
    pub lb: Option<String>,
    pub port: Option<u64>,
    pub protocol: Option<String>,
    /// Default actions; `None` when the listener is not in the template.
    pub default_actions: Option<Vec<Value>>,
}

/// A rule on a listener; `priority` is a range for a rule the provider claims at deploy time.
#[derive(Debug, Clone)]
pub struct ListenerRule {
    pub id: String,
    pub listener: String,
    pub priority: Option<(u64, u64)>,
    pub conditions: Vec<Value>,
    pub actions: Vec<Value>,
}

/// Listeners and rules of one stack.
pub struct Network {
    pub listeners: Vec<Listener>,
    pub rules: Vec<ListenerRule>,
}

fn range(text: &str) -> Option<(u64, u64)> {
    let (a, b) = text.split_once('-')?;
    Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
}

impl Network {
    pub fn read(st: &Stack) -> Network {
        let mut listeners = Vec::new();
        for (id, p) in st.of_type("AWS::ElasticLoadBalancingV2::Listener") {
            listeners.push(Listener {
                key: key(&crate::intrinsics::ref_(id)),
                id: id.to_string(),
                lb: Some(key(&p["LoadBalancerArn"])),
                port: lit_num(&p["Port"]).map(|n| n as u64),
                protocol: lit_str(&p["Protocol"]).map(str::to_uppercase),
                default_actions: Some(items(&p["DefaultActions"]).cloned().collect()),
            });
        }
        for (id, p) in st.of_type("Custom::FargateListenerPort") {
            listeners.push(Listener {
                key: key(&serde_json::json!({"Fn::GetAtt": [id, "ListenerArn"]})),
                id: id.to_string(),
                lb: Some(key(&p["LoadBalancerArn"])),
                port: None,
                protocol: lit_str(&p["Protocol"]).map(str::to_uppercase),
                default_actions: Some(vec![
                    serde_json::json!({"Type": "forward", "TargetGroupArn": p["TargetGroupArn"]}),
                ]),
            });
        }
        let mut rules = Vec::new();
        for (id, p) in st.of_type("AWS::ElasticLoadBalancingV2::ListenerRule") {
            let prio = lit_num(&p["Priority"]).map(|n| (n as u64, n as u64));
            rules.push(ListenerRule {
                id: id.to_string(),
                listener: key(&p["ListenerArn"]),
                priority: prio,
                conditions: items(&p["Conditions"]).cloned().collect(),
                actions: items(&p["Actions"]).cloned().collect(),
            });
        }
        for (id, p) in st.of_type("Custom::FargateListenerRule") {
            let prio = lit_str(&p["PriorityRange"])
                .and_then(range)
                .or_else(|| lit_num(&p["Priority"]).map(|n| (n as u64, n as u64)));
            rules.push(ListenerRule {
                id: id.to_string(),
                listener: key(&p["ListenerArn"]),
                priority: prio,
                conditions: items(&p["Conditions"]).cloned().collect(),
                actions: vec![
                    serde_json::json!({"Type": "forward", "TargetGroupArn": p["TargetGroupArn"]}),
                ],
            });
        }
        rules.sort_by_key(|r| r.priority.map(|p| p.0).unwrap_or(u64::MAX));
        for r in &rules {
            if !listeners.iter().any(|l| l.key == r.listener) {
                listeners.push(Listener {
                    key: r.listener.clone(),
                    id: lit_str(&serde_json::from_str(&r.listener).unwrap_or(Value::Null))
                        .map(String::from)
                        .unwrap_or_else(|| r.listener.clone()),
                    lb: None,
                    port: None,
                    protocol: None,
                    default_actions: None,
                });
            }
        }
        Network { listeners, rules }
    }

    pub fn listener(&self, key: &str) -> Option<&Listener> {
        self.listeners.iter().find(|l| l.key == key)
    }

    pub fn rules_on<'a>(&'a self, listener: &'a str) -> impl Iterator<Item = &'a ListenerRule> {
        self.rules.iter().filter(move |r| r.listener == listener)
    }

    /// Listeners whose default action or one of whose rules forwards to a target group of `app`.
    pub fn listeners_of(&self, st: &Stack, app: &App) -> Vec<&Listener> {
        self.listeners
            .iter()
            .filter(|l| {
                l.default_actions
                    .iter()
                    .flatten()
                    .any(|a| forwards_to_app(st, a, app))
                    || self
                        .rules_on(&l.key)
                        .any(|r| r.actions.iter().any(|a| forwards_to_app(st, a, app)))
            })
            .collect()
    }
}

/// Target groups an action forwards to (`TargetGroupArn` or `ForwardConfig.TargetGroups`), with
/// their weights (`None` when not literal).
pub fn forward_targets(action: &Value) -> Vec<(&Value, Option<f64>)> {
    if action["Type"] != "forward" {
        return vec![];
    }
    let mut out: Vec<(&Value, Option<f64>)> = items(&action["ForwardConfig"]["TargetGroups"])
        .map(|g| {
            (
                &g["TargetGroupArn"],
                g.get("Weight").map_or(Some(1.0), lit_num),
            )
        })
        .collect();
    if out.is_empty() && !action["TargetGroupArn"].is_null() {
        out.push((&action["TargetGroupArn"], Some(1.0)));
    }
    out
}

/// True when the action forwards to one of the App's own target groups.
pub fn forwards_to_app(st: &Stack, action: &Value, app: &App) -> bool {
    forward_targets(action).iter().any(|(tg, _)| {
        target(tg).is_some_and(|t| {
            super::owner(&st.apps, t).is_some_and(|a| a.name == app.name)
                && st.type_of(t) == Some("AWS::ElasticLoadBalancingV2::TargetGroup")
        })
    })
}

// ---------------------------------------------------------------------------------------------
// Rule evaluation

/// A request as the load balancer sees it. `None` in `host` is a name the template does not
/// know (a parameter, an attribute).
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub host: Option<String>,
    pub path: String,
    pub method: String,
    pub headers: Vec<(String, Value)>,
}

/// Three-valued matching: a condition on a value the template does not fix is unknown.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Tri {
    Yes,
    No,
    Unknown,
}

/// ELBv2 wildcard matching: `*` any run of characters, `?` exactly one.
pub fn wildcard(pattern: &str, text: &str, case_insensitive: bool) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = if case_insensitive {
        (
            pattern.to_lowercase().chars().collect(),
            text.to_lowercase().chars().collect(),
        )
    } else {
        (pattern.chars().collect(), text.chars().collect())
    };
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

fn any_of(values: &Value, f: impl Fn(&Value) -> Tri) -> Tri {
    let mut out = Tri::No;
    for v in items(values) {
        match f(v) {
            Tri::Yes => return Tri::Yes,
            Tri::Unknown => out = Tri::Unknown,
            Tri::No => {}
        }
    }
    out
}

/// One condition against a request, per the condition types page: host-header and http-header
/// values are not case-sensitive, path-pattern is, both take `*` and `?`; path-pattern applies
/// to the path only. Source IP and query strings are unknown to the model.
/// https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html
pub fn condition_matches(cond: &Value, req: &Request) -> Tri {
    let field = cond["Field"].as_str().unwrap_or("");
    let values_of = |config: &str| {
        if cond[config]["Values"].is_array() {
            cond[config]["Values"].clone()
        } else {
            cond["Values"].clone()
        }
    };
    match field {
        "path-pattern" => any_of(&values_of("PathPatternConfig"), |v| match v.as_str() {
            Some(p) => bool_tri(wildcard(p, &req.path, false)),
            None => Tri::Unknown,
        }),
        "host-header" => any_of(&values_of("HostHeaderConfig"), |v| {
            match (v.as_str(), req.host.as_deref()) {
                (Some(p), Some(h)) if !h.contains("{{") => bool_tri(wildcard(p, h, true)),
                // The load balancer's own name from an attribute: only its labels before
                // `.elb.amazonaws.com` are unknown, so a pattern whose fixed end is another
                // domain never matches it.
                (Some(p), Some(h)) if is_elb_name(h) => {
                    let p = p.to_lowercase();
                    let tail = p.rsplit(['*', '?']).next().unwrap_or("");
                    let suffix = ".elb.amazonaws.com";
                    if suffix.ends_with(tail) || tail.ends_with(suffix) {
                        Tri::Unknown
                    } else {
                        Tri::No
                    }
                }
                _ => Tri::Unknown,
            }
        }),
        "http-header" => {
            let name = cond["HttpHeaderConfig"]["HttpHeaderName"]
                .as_str()
                .unwrap_or("");
            let sent: Vec<&Value> = req
                .headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
                .collect();
            if sent.is_empty() {
                return Tri::No;
            }
            any_of(&cond["HttpHeaderConfig"]["Values"], |want| {
                let mut out = Tri::No;
                for got in &sent {
                    let t = match (want.as_str(), got.as_str()) {
                        (Some(p), Some(g)) => bool_tri(wildcard(p, g, true)),
                        _ if want == *got => Tri::Yes,
                        _ => Tri::Unknown,
                    };
                    if t == Tri::Yes {
                        return Tri::Yes;
                    }
                    if t == Tri::Unknown {
                        out = Tri::Unknown;
                    }
                }
                out
            })
        }
        "http-request-method" => any_of(&values_of("HttpRequestMethodConfig"), |v| {
            match v.as_str() {
                Some(m) => bool_tri(m == req.method),
                None => Tri::Unknown,
            }
        }),
        _ => Tri::Unknown,
    }
}

fn bool_tri(b: bool) -> Tri {
    if b {
        Tri::Yes
    } else {
        Tri::No
    }
}

/// All of a rule's conditions (they are ANDed).
pub fn rule_matches(rule: &ListenerRule, req: &Request) -> Tri {
    let mut out = Tri::Yes;
    for c in &rule.conditions {
        match condition_matches(c, req) {
            Tri::No => return Tri::No,
            Tri::Unknown => out = Tri::Unknown,
            Tri::Yes => {}
        }
    }
    out
}

/// Where a listener sends a request.
#[derive(Debug, Clone)]
pub enum Outcome<'a> {
    Rule(&'a ListenerRule),
    Default(&'a [Value]),
    /// A rule the template cannot decide comes first.
    Unknown,
    /// The listener is not in the template and no rule of the template matched: the request
    /// goes to rules or a default action the template does not define.
    Outside,
}

/// ELBv2's rule evaluation: lowest priority first, the default rule last.
pub fn evaluate<'a>(net: &'a Network, listener: &'a Listener, req: &Request) -> Outcome<'a> {
    for r in net.rules_on(&listener.key) {
        match rule_matches(r, req) {
            Tri::Yes => {
                // Another matching rule whose range starts at the same number: which of the
                // two comes first is decided at deploy time (ELB_RULE_ORDER_UNDECIDED).
                let ranged = |x: &ListenerRule| x.priority.filter(|(lo, hi)| lo < hi).map(|p| p.0);
                let tied = ranged(r).is_some()
                    && net.rules_on(&listener.key).any(|o| {
                        o.id != r.id && ranged(o) == ranged(r) && rule_matches(o, req) == Tri::Yes
                    });
                return if tied {
                    Outcome::Unknown
                } else {
                    Outcome::Rule(r)
                };
            }
            Tri::Unknown => return Outcome::Unknown,
            Tri::No => {}
        }
    }
    match &listener.default_actions {
        Some(a) => Outcome::Default(a),
        None => Outcome::Outside,
    }
}

// ---------------------------------------------------------------------------------------------
// What the gate sends

/// A URL split the way the load balancer sees it; a host from an attribute stays `{{X.Attr}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Url {
    pub scheme: String,
    pub host: String,
    pub port: Option<u64>,
    /// The port is an attribute (`{{X.Port}}`): which one.
    pub port_of: Option<String>,
    /// The port as written when it is not a number (`{{WebAutoListener.Port}}`, a listener
    /// port the provider picks at deploy time), so that it is shown rather than dropped.
    pub port_text: Option<String>,
    pub path: String,
}

impl Url {
    /// `:8080`, `:{{WebAutoListener.Port}}` (known at deploy time), or nothing.
    pub fn port_shown(&self) -> String {
        match (self.port, &self.port_text) {
            (Some(p), _) => format!(":{p}"),
            (None, Some(t)) => format!(":{t}"),
            (None, None) => String::new(),
        }
    }
}

pub fn parse_url(text: &str) -> Option<Url> {
    let (scheme, rest) = text.split_once("://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let path = path.split(['?', '#']).next().unwrap_or("/").to_string();
    let (host, port_text) = match authority.rfind(':') {
        Some(i) if !authority[i..].contains("}}") || authority[i + 1..].starts_with("{{") => {
            (&authority[..i], Some(&authority[i + 1..]))
        }
        _ => (authority, None),
    };
    let default = if scheme.eq_ignore_ascii_case("https") {
        443
    } else {
        80
    };
    let (port, port_of) = match port_text {
        None => (Some(default), None),
        Some(p) => match p.parse() {
            Ok(n) => (Some(n), None),
            Err(_) => (
                None,
                p.strip_prefix("{{")
                    .and_then(|x| x.strip_suffix("}}"))
                    .and_then(|x| x.split('.').next())
                    .map(String::from),
            ),
        },
    };
    Some(Url {
        scheme: scheme.to_lowercase(),
        host: host.to_string(),
        port,
        port_of,
        port_text: port_text
            .filter(|p| p.parse::<u64>().is_err())
            .map(String::from),
        path,
    })
}

/// A name the load balancer's certificate can never cover: its own DNS name.
/// The names a listener's certificates cover, when each is an ACM certificate of the template
/// with a literal `DomainName` and `SubjectAlternativeNames`; `None` when the model cannot know.
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-certificatemanager-certificate.html
pub fn certificate_names(st: &Stack, listener: &str) -> Option<Vec<String>> {
    let certs: Vec<&Value> = items(&st.props(listener)["Certificates"]).collect();
    if certs.is_empty() {
        return None;
    }
    let mut names = Vec::new();
    for c in certs {
        let id = single(&c["CertificateArn"], "Ref").and_then(Value::as_str)?;
        if st.type_of(id) != Some("AWS::CertificateManager::Certificate") {
            return None;
        }
        let p = st.props(id);
        names.push(lit_str(&p["DomainName"])?.to_ascii_lowercase());
        for n in items(&p["SubjectAlternativeNames"]) {
            names.push(lit_str(n)?.to_ascii_lowercase());
        }
    }
    Some(names)
}

/// Whether a certificate name covers a host: the same name, or a wildcard `*.example.com`
/// standing for exactly one leftmost label (`www.example.com`, not `example.com` nor
/// `a.b.example.com`). https://docs.aws.amazon.com/acm/latest/userguide/acm-certificate.html
pub fn cert_name_covers(cert: &str, host: &str) -> bool {
    let (c, h) = (cert.to_ascii_lowercase(), host.to_ascii_lowercase());
    match c.strip_prefix("*.") {
        Some(rest) => h
            .split_once('.')
            .is_some_and(|(label, tail)| !label.is_empty() && tail == rest),
        None => c == h,
    }
}

pub fn is_elb_name(host: &str) -> bool {
    let h = host.to_lowercase();
    h.ends_with(".elb.amazonaws.com") || h.contains(".dnsname}}")
}

/// One request the App's gate sends (the custom-resource gate, or a lifecycle hook).
#[derive(Debug, Clone)]
pub struct GateRequest {
    pub origin: String,
    pub stage: String,
    pub url: Url,
    pub host_header: Option<String>,
    pub headers: Vec<(String, Value)>,
    pub method: String,
    pub thresholds: Value,
    /// The function that sends the load (`WorkerFunctionArn`: the App's VPC workers, as the
    /// template names them); none: the provider function, outside any VPC.
    pub workers: Option<Value>,
}

impl GateRequest {
    pub fn tls_name(&self) -> &str {
        self.host_header.as_deref().unwrap_or(&self.url.host)
    }

    pub fn request(&self) -> Request {
        Request {
            host: Some(self.tls_name().to_string()),
            path: self.url.path.clone(),
            method: self.method.clone(),
            headers: self.headers.clone(),
        }
    }
}

fn headers_of(v: &Value) -> Vec<(String, Value)> {
    v.as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Hook details with a deploy-time value written bare (a numeric parameter, `"P99Ms":{{P99}}`
/// once substituted) made readable as JSON: the placeholder becomes
/// `{"DeployTimeNumber": "{{P99}}"}`, a value that is not a string (CloudFormation writes the
/// parameter's number there) and still names where it comes from.
fn quote_bare(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let (mut in_string, mut escaped) = (false, false);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if !in_string && rest.starts_with("{{") {
            if let Some(end) = rest.find("}}") {
                out.push_str("{\"DeployTimeNumber\":\"");
                out.push_str(&rest[..end + 2]);
                out.push_str("\"}");
                rest = &rest[end + 2..];
                continue;
            }
        }
        match c {
            '\\' if in_string => escaped = !escaped,
            '"' if !escaped => in_string = !in_string,
            _ => escaped = false,
        }
        if c != '\\' {
            escaped = false;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

#[cfg(test)]
#[test]
fn bare_placeholders_become_strings() {
    assert_eq!(
        quote_bare(r#"{"Url":"http://{{Lb.DNSName}}/","P99Ms":{{P99}},"H":"a\"{{b}}"}"#),
        r#"{"Url":"http://{{Lb.DNSName}}/","P99Ms":{"DeployTimeNumber":"{{P99}}"},"H":"a\"{{b}}"}"#
    );
}

/// The requests the App's gates send: the `Custom::FargateLoadTestGate` (during the stack
/// update) and each lifecycle hook whose details carry `FargateAppLoadTest`.
pub fn gate_requests(st: &Stack, app: &App) -> Vec<GateRequest> {
    let mut out = Vec::new();
    for (id, p) in st.of_type("Custom::FargateLoadTestGate") {
        if target(&p["ServiceName"]) != Some(app.service.as_str()) {
            continue;
        }
        let Some(url) = sub_text(&p["Url"]).as_deref().and_then(parse_url) else {
            continue;
        };
        let mut headers = headers_of(&p["Headers"]);
        if let Some(n) = p["RoutingHeader"]["Name"].as_str() {
            headers.push((n.to_string(), p["RoutingHeader"]["Value"].clone()));
        }
        out.push(GateRequest {
            origin: id.to_string(),
            stage: "stack update".into(),
            url,
            host_header: lit_str(&p["Host"]).map(String::from),
            headers,
            method: lit_str(&p["Method"]).unwrap_or("GET").to_string(),
            thresholds: p["Thresholds"].clone(),
            workers: Some(p["WorkerFunctionArn"].clone()).filter(|w| !w.is_null()),
        });
    }
    let hooks = &st.props(&app.service)["DeploymentConfiguration"]["LifecycleHooks"];
    for (i, h) in items(hooks).enumerate() {
        let Some(text) = sub_text(&h["HookDetails"]) else {
            continue;
        };
        let Ok(details) = serde_json::from_str::<Value>(&quote_bare(&text)) else {
            continue;
        };
        let d = &details["FargateAppLoadTest"];
        let Some(url) = d["Url"].as_str().and_then(parse_url) else {
            continue;
        };
        let stages: Vec<&str> = items(&h["LifecycleStages"])
            .filter_map(Value::as_str)
            .collect();
        // A header value the macro fills in at deploy time (`"${V1}"` with V1 an intrinsic in
        // the `Fn::Sub` map) is that intrinsic: a rule condition with the same intrinsic
        // matches it, whatever its value turns out to be.
        let vars = h["HookDetails"]["Fn::Sub"][1].as_object();
        let value = |v: Value| -> Value {
            let var = v
                .as_str()
                .and_then(|s| s.strip_prefix("{{")?.strip_suffix("}}"))
                .and_then(|name| vars?.get(name))
                .filter(|x| !x.is_string());
            var.cloned().unwrap_or(v)
        };
        let headers = headers_of(&d["Headers"])
            .into_iter()
            .map(|(n, v)| (n, value(v)))
            .collect();
        out.push(GateRequest {
            origin: format!("{}.LifecycleHooks[{i}]", app.service),
            stage: stages.join("+"),
            url,
            host_header: d["Host"].as_str().map(String::from),
            headers,
            method: d["Method"].as_str().unwrap_or("GET").to_string(),
            thresholds: d["Thresholds"].clone(),
            workers: Some(value(d["WorkerFunctionArn"].clone())).filter(|w| !w.is_null()),
        });
    }
    out
}

/// The listener a gate request reaches: on the App's load balancer, the one on the URL's port;
/// an auto-claimed port names its listener; else the App's only listener.
pub fn listener_for<'a>(
    net: &'a Network,
    app_listeners: &[&'a Listener],
    url: &Url,
) -> Option<&'a Listener> {
    if let Some(of) = &url.port_of {
        return net.listeners.iter().find(|l| &l.id == of);
    }
    let lbs: Vec<&String> = app_listeners.iter().filter_map(|l| l.lb.as_ref()).collect();
    let on_port = |l: &Listener| l.port.is_some() && l.port == url.port;
    // The App's own listener on that port first: when two claim the port (a defect reported
    // on its own), the App's request is judged on its own listener.
    if let Some(l) = app_listeners.iter().find(|l| on_port(l)) {
        return Some(l);
    }
    if let Some(l) = net
        .listeners
        .iter()
        .find(|l| l.lb.as_ref().is_some_and(|lb| lbs.contains(&lb)) && on_port(l))
    {
        return Some(l);
    }
    match app_listeners {
        [one] if one.port.is_none() || lbs.is_empty() => Some(one),
        _ => None,
    }
}

/// Paths a rule's path-pattern names, without the trailing wildcard: `/api/*` is `/api`.
fn prefixes(rule: &ListenerRule) -> Vec<String> {
    rule.conditions
        .iter()
        .filter(|c| c["Field"] == "path-pattern")
        .flat_map(|c| {
            let v = if c["PathPatternConfig"]["Values"].is_array() {
                &c["PathPatternConfig"]["Values"]
            } else {
                &c["Values"]
            };
            items(v).filter_map(Value::as_str).map(|p| {
                p.split(['*', '?'])
                    .next()
                    .unwrap_or("")
                    .trim_end_matches('/')
                    .to_string()
            })
        })
        .filter(|p| !p.is_empty())
        .collect()
}

/// True when CloudFormation creates one of the two resources before the other: one names the
/// other (`DependsOn`, `Ref`, `Fn::GetAtt`, `Fn::Sub`).
fn depends(st: &Stack, a: &str, b: &str) -> bool {
    let names = |id: &str| st.get(id).map(super::names_used).unwrap_or_default();
    names(a).contains(b) || names(b).contains(a)
}

/// The comparison strings of one condition (`Values`, or its type's config `Values`).
fn condition_values(c: &Value) -> Vec<&Value> {
    c.as_object()
        .into_iter()
        .flatten()
        .flat_map(|(k, v)| {
            if k == "Values" {
                items(v).collect::<Vec<_>>()
            } else {
                items(&v["Values"]).collect()
            }
        })
        .collect()
}

/// A literal string a pattern matches: each `*` and `?` becomes `x`.
fn instance(pattern: &str) -> String {
    pattern.replace(['*', '?'], "x")
}

/// A request both rules match, built from their own literal values (each rule's host and path
/// patterns instantiated, both rules' headers), if there is one the template decides.
fn common_request(a: &ListenerRule, b: &ListenerRule) -> Option<Request> {
    let firsts = |r: &ListenerRule, field: &str| -> Vec<String> {
        r.conditions
            .iter()
            .filter(|c| c["Field"] == field)
            .flat_map(condition_values)
            .filter_map(Value::as_str)
            .map(instance)
            .collect()
    };
    let mut hosts: Vec<String> = [firsts(a, "host-header"), firsts(b, "host-header")].concat();
    if hosts.is_empty() {
        hosts.push("example.com".into());
    }
    let mut paths: Vec<String> = [firsts(a, "path-pattern"), firsts(b, "path-pattern")].concat();
    if paths.is_empty() {
        paths.push("/".into());
    }
    let mut headers: Vec<(String, Value)> = Vec::new();
    for c in a.conditions.iter().chain(&b.conditions) {
        let name = c["HttpHeaderConfig"]["HttpHeaderName"].as_str();
        let first = c["HttpHeaderConfig"]["Values"]
            .get(0)
            .and_then(Value::as_str);
        if let (Some(n), Some(v)) = (name, first) {
            if !headers.iter().any(|(m, _)| m.eq_ignore_ascii_case(n)) {
                headers.push((n.to_string(), Value::from(instance(v))));
            }
        }
    }
    for host in &hosts {
        for path in &paths {
            let req = Request {
                host: Some(host.clone()),
                path: path.clone(),
                method: "GET".into(),
                headers: headers.clone(),
            };
            if rule_matches(a, &req) == Tri::Yes && rule_matches(b, &req) == Tri::Yes {
                return Some(req);
            }
        }
    }
    None
}

fn check_gate(st: &Stack, app: &App, net: &Network, g: &GateRequest, out: &mut Vec<Finding>) {
    let mine = net.listeners_of(st, app);
    let name = app.name.as_str();
    let Some(l) = listener_for(net, &mine, &g.url) else {
        // A load balancer of the template has all its listeners in the template: nothing
        // listens on the URL's port.
        let in_template = |l: &&&Listener| {
            l.lb.as_deref()
                .and_then(|k| serde_json::from_str::<Value>(k).ok())
                .and_then(|v| target(&v).map(String::from))
                .is_some_and(|id| {
                    st.type_of(&id) == Some("AWS::ElasticLoadBalancingV2::LoadBalancer")
                })
        };
        if let (Some(port), Some(l)) = (g.url.port, mine.iter().find(in_template)) {
            out.push(Finding::new(
                &SCHEME_MISMATCH,
                name,
                &[&g.origin, &l.id],
                format!(
                    "{} connects with {} to port {port}, where the load balancer has no listener; {name}'s listener {} is {} on {} ({})",
                    g.origin,
                    g.url.scheme,
                    l.id,
                    l.protocol.as_deref().unwrap_or("?"),
                    l.port.map(|p| p.to_string()).unwrap_or_else(|| "?".into()),
                    g.stage
                ),
            ));
        }
        return;
    };
    match l.protocol.as_deref() {
        Some("HTTPS") if g.url.scheme == "http" => out.push(Finding::new(
            &SCHEME_MISMATCH,
            name,
            &[&g.origin, &l.id],
            format!(
                "{} sends plain HTTP to the HTTPS listener {} ({})",
                g.origin, l.id, g.stage
            ),
        )),
        Some("HTTP") if g.url.scheme == "https" => out.push(Finding::new(
            &SCHEME_MISMATCH,
            name,
            &[&g.origin, &l.id],
            format!(
                "{} opens TLS to the HTTP listener {} ({})",
                g.origin, l.id, g.stage
            ),
        )),
        _ => {}
    }
    // The TLS name: never the load balancer's own; a name of the user's only if the listener's
    // certificate names it, where the model can know (ACM certificates of the template).
    if g.url.scheme == "https" {
        let tls = g.tls_name();
        let why = if is_elb_name(tls) {
            Some(
                "no ACM certificate covers the load balancer's name; give LoadTest.Host"
                    .to_string(),
            )
        } else {
            certificate_names(st, &l.id)
                .filter(|names| !names.iter().any(|n| cert_name_covers(n, tls)))
                .map(|names| format!("its certificate covers {}", names.join(", ")))
        };
        if let Some(why) = why {
            out.push(Finding::new(
                &TLS_NAME,
                name,
                &[&g.origin, &l.id],
                format!(
                    "{} presents {tls} (SNI) to {}: {why} ({})",
                    g.origin, l.id, g.stage
                ),
            ));
        }
    }
    let req = g.request();
    let redirects = |actions: &[Value]| {
        actions
            .iter()
            .find(|a| a["Type"] == "redirect" || a["Type"] == "fixed-response")
            .map(|a| a["Type"].as_str().unwrap_or("").to_string())
    };
    match evaluate(net, l, &req) {
        Outcome::Rule(r) => {
            if !r.actions.iter().any(|a| forwards_to_app(st, a, app)) {
                out.push(Finding::new(
                    &GATE_MISROUTED,
                    name,
                    &[&g.origin, &r.id],
                    format!(
                        "{} ({}) {}{} matches {} first, which does not forward to {name}",
                        g.origin, g.stage, g.url.host, g.url.path, r.id
                    ),
                ));
            }
            for p in prefixes(r) {
                if g.url.path.starts_with(&format!("{p}{p}")) {
                    out.push(Finding::new(
                        &PATH_DOUBLED,
                        name,
                        &[&g.origin, &r.id],
                        format!(
                            "{} requests {} under the rule prefix {p}: the container receives {}",
                            g.origin, g.url.path, g.url.path
                        ),
                    ));
                }
            }
        }
        Outcome::Default(actions) => {
            if let Some(kind) = redirects(actions) {
                if l.protocol.as_deref() != Some("HTTPS") || g.url.scheme != "http" {
                    out.push(Finding::new(
                        &GATE_MISROUTED,
                        name,
                        &[&g.origin, &l.id],
                        format!(
                            "{} ({}) reaches {}'s default {kind} action",
                            g.origin, g.stage, l.id
                        ),
                    ));
                }
            } else if !actions.iter().any(|a| forwards_to_app(st, a, app)) {
                out.push(Finding::new(
                    &GATE_FALLS_THROUGH,
                    name,
                    &[&g.origin, &l.id],
                    format!(
                        "{} ({}) {}{} matches no rule of {name} and takes {}'s default action",
                        g.origin, g.stage, g.url.host, g.url.path, l.id
                    ),
                ));
            }
        }
        Outcome::Outside => out.push(Finding::new(
            &GATE_FALLS_THROUGH,
            name,
            &[&g.origin, &l.id],
            format!(
                "{} ({}) {}{} matches no rule of the template on {}, so it takes the listener's other rules or default action, none of which forwards to {name}'s target groups",
                g.origin,
                g.stage,
                g.tls_name(),
                g.url.path,
                l.id
            ),
        )),
        Outcome::Unknown => {}
    }
}

/// The rules of this family over one stack.
pub fn check(st: &Stack, apps: &[App], net: &Network) -> Vec<Finding> {
    let mut out = Vec::new();
    // The App a finding about one or two resources belongs to: the second's, else the first's.
    let app_of = |ids: &[&str]| {
        ids.iter()
            .rev()
            .find_map(|id| super::owner(apps, id))
            .map(|a| a.name.clone())
            .unwrap_or_else(|| "-".into())
    };
    // A priority or port given as a parameter is the parameter's Default when no value is given:
    // two of them with one Default collide as literals do. (value, the parameters it came from)
    let defaulted = |id: &str, key: &str| -> Option<(u64, Option<String>)> {
        let (n, p) = st.number_or_default(&st.props(id)[key])?;
        Some((n as u64, p))
    };
    // Each pair of one scope (a listener, a load balancer) whose values are equal: a finding.
    // (scope, id, value and the parameter it came from)
    type Claim = (Option<String>, String, Option<(u64, Option<String>)>);
    let mut equal_pairs = |claims: Vec<Claim>, rule: &Rule, what: &str| {
        for (i, (scope, a, va)) in claims.iter().enumerate() {
            for (other, b, vb) in &claims[i + 1..] {
                let (Some((x, pa)), Some((u, pb))) = (va, vb) else {
                    continue;
                };
                if scope.is_none() || scope != other || x != u {
                    continue;
                }
                let ps: Vec<&str> = [pa, pb].into_iter().flatten().map(String::as_str).collect();
                let from = if ps.is_empty() {
                    String::new()
                } else {
                    format!(" (with the Defaults of parameters {})", ps.join(", "))
                };
                out.push(Finding::new(
                    rule,
                    &app_of(&[a, b]),
                    &[a, b],
                    format!(
                        "{a} and {b} both {}{from}",
                        what.replace("{}", &x.to_string())
                    ),
                ));
            }
        }
    };
    // Priorities per listener.
    let priorities = net
        .rules
        .iter()
        .map(|r| {
            let value = match r.priority {
                Some((x, y)) if x == y => Some((x, None)),
                Some(_) => None,
                None => defaulted(&r.id, "Priority"),
            };
            (Some(r.listener.clone()), r.id.clone(), value)
        })
        .collect();
    equal_pairs(
        priorities,
        &PRIORITY_IN_USE,
        "take priority {} on the same listener",
    );
    // Ports per load balancer.
    let ports = net
        .listeners
        .iter()
        .map(|l| {
            let value = match l.port {
                Some(p) => Some((p, None)),
                None => defaulted(&l.id, "Port"),
            };
            (l.lb.clone(), l.id.clone(), value)
        })
        .collect();
    equal_pairs(
        ports,
        &DUPLICATE_LISTENER,
        "listen on port {} of the same load balancer",
    );
    // Comparison strings per rule.
    for r in &net.rules {
        let n: usize = r
            .conditions
            .iter()
            .map(|c| {
                let o = c.as_object();
                o.into_iter()
                    .flatten()
                    .map(|(k, v)| {
                        if k == "Values" {
                            items(v).count()
                        } else {
                            items(&v["Values"]).count()
                        }
                    })
                    .sum::<usize>()
            })
            .sum();
        if n > 5 {
            out.push(Finding::new(
                &CONDITION_VALUES,
                &app_of(&[&r.id]),
                &[&r.id],
                format!("{} has {n} comparison strings", r.id),
            ));
        }
    }
    // Comparison strings per condition.
    for r in &net.rules {
        for c in &r.conditions {
            let field = c["Field"].as_str().unwrap_or("?");
            let n = condition_values(c).len();
            if n > 3 {
                out.push(Finding::new(
                    &CONDITION_VALUES_PER_CONDITION,
                    &app_of(&[&r.id]),
                    &[&r.id],
                    format!("{}'s {field} condition has {n} comparison strings", r.id),
                ));
            }
        }
    }
    // Rules whose order the provider decides at deploy time and that match one request.
    for (i, a) in net.rules.iter().enumerate() {
        for b in &net.rules[i + 1..] {
            if a.listener != b.listener
                || key(&Value::from(a.actions.clone())) == key(&Value::from(b.actions.clone()))
            {
                continue;
            }
            let (Some((x, y)), Some((u, v))) = (a.priority, b.priority) else {
                continue;
            };
            // The provider claims the lowest free priority of a range when it creates the rule
            // (docs/provider.md, "picks the lowest free number of the range"): two ranges that start together are ordered by which
            // rule CloudFormation creates first, which nothing fixes unless one depends on the
            // other. A fixed priority, or a range that starts lower, keeps its place.
            let undecided = x < y && u < v && x == u && !depends(st, &a.id, &b.id);
            if !undecided {
                continue;
            }
            if let Some(req) = common_request(a, b) {
                out.push(Finding::new(
                    &RULE_ORDER_UNDECIDED,
                    &app_of(&[&a.id, &b.id]),
                    &[&a.id, &b.id],
                    format!(
                        "{} (priority {x}-{y}) and {} (priority {u}-{v}) both match {}{}; which comes first depends on which is created first",
                        a.id,
                        b.id,
                        req.host.as_deref().unwrap_or("?"),
                        req.path
                    ),
                ));
            }
        }
    }
    // Forward actions of rules and default actions.
    let defaults = net.listeners.iter().flat_map(|l| {
        l.default_actions
            .iter()
            .flatten()
            .map(move |a| (l.id.as_str(), a))
    });
    let rule_actions = net
        .rules
        .iter()
        .flat_map(|r| r.actions.iter().map(move |a| (r.id.as_str(), a)));
    for (id, a) in defaults.chain(rule_actions) {
        let groups = forward_targets(a);
        let bad_weight = groups
            .iter()
            .filter_map(|(_, w)| *w)
            .find(|w| !(0.0..=999.0).contains(w));
        if groups.len() > 5 || bad_weight.is_some() {
            out.push(Finding::new(
                &WEIGHTED_FORWARD,
                &app_of(&[id]),
                &[id],
                format!(
                    "{id} forwards to {} target groups{}",
                    groups.len(),
                    bad_weight
                        .map(|w| format!(" with weight {w}"))
                        .unwrap_or_default()
                ),
            ));
        }
    }
    // Names.
    for ty in [
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
    ] {
        for (id, p) in st.of_type(ty) {
            if let Some(n) = lit_str(&p["Name"]).filter(|n| n.chars().count() > 32) {
                out.push(Finding::new(
                    &NAME_LENGTH,
                    &app_of(&[id]),
                    &[id],
                    format!("{id}'s name {n} has {} characters", n.chars().count()),
                ));
            }
        }
    }
    for app in apps {
        for g in gate_requests(st, app) {
            check_gate(st, app, net, &g, &mut out);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// What `explain` shows

/// One traffic path of an App.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Route {
    pub who: String,
    pub listener: String,
    pub protocol: String,
    pub rule: String,
    pub matches: String,
    pub target: String,
    pub container_path: String,
    pub tls_name: String,
}

fn conditions_text(r: &ListenerRule) -> String {
    let parts: Vec<String> = r
        .conditions
        .iter()
        .map(|c| {
            let field = c["Field"].as_str().unwrap_or("?");
            let vals: Vec<String> = c
                .as_object()
                .into_iter()
                .flatten()
                .flat_map(|(k, v)| {
                    let vs = if k == "Values" { v } else { &v["Values"] };
                    items(vs)
                        .map(|x| {
                            x.as_str()
                                .map(String::from)
                                .unwrap_or_else(|| "<deploy-time>".into())
                        })
                        .collect::<Vec<_>>()
                })
                .collect();
            let name = c["HttpHeaderConfig"]["HttpHeaderName"].as_str();
            match name {
                Some(n) => format!("{n}: {}", vals.join("|")),
                None => format!("{field} {}", vals.join("|")),
            }
        })
        .collect();
    parts.join(" & ")
}

fn targets_text(actions: &[Value]) -> String {
    actions
        .iter()
        .map(|a| {
            let t = forward_targets(a);
            if t.is_empty() {
                a["Type"].as_str().unwrap_or("?").to_string()
            } else {
                t.iter()
                    .map(|(tg, w)| {
                        let n = target(tg)
                            .map(String::from)
                            .or_else(|| {
                                single(tg, "Fn::ImportValue").map(|v| format!("import {v}"))
                            })
                            .unwrap_or_else(|| tg.to_string());
                        match w {
                            Some(w) if t.len() > 1 => format!("{n}={w}"),
                            _ => n,
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A listener's name for people: its logical ID, or the tail of a literal ARN.
fn short(id: &str) -> String {
    match id.split_once(":listener/") {
        Some((_, tail)) => format!("listener/{tail}")
            .rsplit_once('/')
            .map(|(_, last)| format!("listener .../{last}"))
            .unwrap_or_default(),
        None => id.to_string(),
    }
}

fn listener_text(l: &Listener) -> (String, String) {
    let port = l.port.map(|p| p.to_string()).unwrap_or_else(|| "?".into());
    (
        format!("{}:{port}", short(&l.id)),
        l.protocol.clone().unwrap_or_else(|| "?".into()),
    )
}

/// The App's production paths: each rule of its listeners that forwards to it, else the
/// default action.
pub fn routes(st: &Stack, app: &App, net: &Network) -> Vec<Route> {
    let mut out = Vec::new();
    for l in net.listeners_of(st, app) {
        let (listener, protocol) = listener_text(l);
        for r in net.rules_on(&l.key) {
            if !r.actions.iter().any(|a| forwards_to_app(st, a, app)) {
                continue;
            }
            let who = if r.conditions.iter().any(|c| {
                c["HttpHeaderConfig"]["HttpHeaderName"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("X-FargateApp-"))
            }) {
                "test/gate"
            } else {
                "production"
            };
            let prio = match r.priority {
                Some((a, b)) if a == b => a.to_string(),
                Some((a, b)) => format!("{a}-{b}"),
                None => "?".into(),
            };
            out.push(Route {
                who: who.into(),
                listener: listener.clone(),
                protocol: protocol.clone(),
                rule: format!("{} (priority {prio})", r.id),
                matches: conditions_text(r),
                target: targets_text(&r.actions),
                container_path: "as sent (no rewrite)".into(),
                tls_name: String::new(),
            });
        }
        if let Some(d) = &l.default_actions {
            if d.iter().any(|a| forwards_to_app(st, a, app)) {
                out.push(Route {
                    who: "production".into(),
                    listener: listener.clone(),
                    protocol: protocol.clone(),
                    rule: "default".into(),
                    matches: "anything".into(),
                    target: targets_text(d),
                    container_path: "as sent (no rewrite)".into(),
                    tls_name: String::new(),
                });
            }
        }
    }
    for (tg, p) in st.of_type("AWS::ElasticLoadBalancingV2::TargetGroup") {
        if super::owner(&st.apps, tg).is_some_and(|a| a.name == app.name) {
            out.push(Route {
                who: "health check".into(),
                listener: "-".into(),
                protocol: lit_str(&p["HealthCheckProtocol"]).unwrap_or("HTTP").into(),
                rule: "-".into(),
                matches: "-".into(),
                target: tg.into(),
                container_path: lit_str(&p["HealthCheckPath"]).unwrap_or("/").into(),
                tls_name: String::new(),
            });
        }
    }
    out
}

/// The gate's requests, one line each: stage, URL, TLS name, headers, where it lands.
pub fn gate_lines(st: &Stack, app: &App, net: &Network) -> Vec<String> {
    let mine = net.listeners_of(st, app);
    let test_rule = items(&st.props(&app.service)["LoadBalancers"])
        .find_map(|lb| target(&lb["AdvancedConfiguration"]["TestListenerRule"]));
    gate_requests(st, app)
        .iter()
        .map(|g| {
            // Which revision answers: at the test stages only the test rule reaches green.
            let revision = |rule: &str| match (g.stage.contains("TEST_TRAFFIC_SHIFT"), test_rule) {
                (true, Some(t)) if t == rule => " (new revision)",
                (true, _) => " (old revision)",
                _ => "",
            };
            let landed = match listener_for(net, &mine, &g.url) {
                Some(l) => match evaluate(net, l, &g.request()) {
                    Outcome::Rule(r) => {
                        format!(
                            "{} -> {} -> {}{}",
                            short(&l.id),
                            r.id,
                            targets_text(&r.actions),
                            revision(&r.id)
                        )
                    }
                    Outcome::Default(a) => {
                        format!("{} -> default -> {}", short(&l.id), targets_text(a))
                    }
                    Outcome::Unknown => format!("{} -> (decided at deploy time)", short(&l.id)),
                    Outcome::Outside => format!(
                        "{} -> no rule of the template: the listener's own rules or default",
                        short(&l.id)
                    ),
                },
                None => "listener not in the template".into(),
            };
            let headers: Vec<String> = g
                .headers
                .iter()
                .map(|(n, v)| format!("{n}: {}", v.as_str().unwrap_or("<deploy-time>")))
                .collect();
            format!(
                "[{}] {} {}://{}{}{} SNI/Host {} headers [{}] thresholds {} => {landed}",
                g.stage,
                g.method,
                g.url.scheme,
                g.url.host,
                g.url.port_shown(),
                g.url.path,
                g.tls_name(),
                headers.join(", "),
                g.thresholds
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// ACM's wildcard: `*.example.com` protects `www.example.com` but not `example.com` nor a
    /// second level (`a.www.example.com`); the names are compared without case.
    /// https://docs.aws.amazon.com/acm/latest/userguide/acm-certificate.html
    #[test]
    fn certificate_names_cover_as_acm_says() {
        let table = "
            *.example.com    www.example.com      yes
            *.example.com    example.com          no
            *.example.com    a.www.example.com    no
            example.com      example.com          yes
            example.com      www.example.com      no
            *.Example.com    WWW.example.COM      yes
            tomato.cat       tomato.cat           yes";
        for row in table.lines().filter(|l| !l.trim().is_empty()) {
            let c: Vec<&str> = row.split_whitespace().collect();
            assert_eq!(cert_name_covers(c[0], c[1]), c[2] == "yes", "{row}");
        }
    }

    fn rule(id: &str, prio: u64, conditions: Value) -> ListenerRule {
        ListenerRule {
            id: id.into(),
            listener: "L".into(),
            priority: Some((prio, prio)),
            conditions: conditions.as_array().cloned().unwrap_or_default(),
            actions: vec![json!({"Type": "forward", "TargetGroupArn": {"Ref": id}})],
        }
    }

    fn req(host: &str, path: &str, headers: &[(&str, &str)]) -> Request {
        Request {
            host: Some(host.into()),
            path: path.into(),
            method: "GET".into(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), json!(v)))
                .collect(),
        }
    }

    /// The condition types page's examples: `*.example.com` matches `api.example.com` (host
    /// names are not case-sensitive); `/img/*` matches `/img/a.png` but paths are
    /// case-sensitive; `?` is exactly one character; header values are not case-sensitive.
    #[test]
    fn conditions_match_as_the_condition_types_page_says() {
        let cases = [
            (
                json!({"Field": "host-header", "HostHeaderConfig": {"Values": ["*.example.com"]}}),
                req("API.Example.com", "/", &[]),
                Tri::Yes,
            ),
            (
                json!({"Field": "host-header", "HostHeaderConfig": {"Values": ["example.com"]}}),
                req("www.example.com", "/", &[]),
                Tri::No,
            ),
            (
                json!({"Field": "host-header", "Values": ["example.com"]}),
                Request {
                    host: None,
                    ..req("", "/", &[])
                },
                Tri::Unknown,
            ),
            // The load balancer's own name (`name-id.region.elb.amazonaws.com`) from an
            // attribute: a pattern for another domain never matches it; one that could, is
            // unknown until deploy time.
            (
                json!({"Field": "host-header", "HostHeaderConfig": {"Values": ["*.tenants.example.com"]}}),
                req("{{Lb.DNSName}}", "/", &[]),
                Tri::No,
            ),
            (
                json!({"Field": "host-header", "HostHeaderConfig": {"Values": ["*.elb.amazonaws.com"]}}),
                req("{{Lb.DNSName}}", "/", &[]),
                Tri::Unknown,
            ),
            (
                json!({"Field": "host-header", "HostHeaderConfig": {"Values": ["*"]}}),
                req("{{Lb.DNSName}}", "/", &[]),
                Tri::Unknown,
            ),
            (
                json!({"Field": "host-header", "HostHeaderConfig": {"Values": ["example.com"]}}),
                req("{{AlbDns}}", "/", &[]),
                Tri::Unknown,
            ),
            (
                json!({"Field": "path-pattern", "PathPatternConfig": {"Values": ["/img/*"]}}),
                req("h", "/img/a.png", &[]),
                Tri::Yes,
            ),
            (
                json!({"Field": "path-pattern", "PathPatternConfig": {"Values": ["/img/*"]}}),
                req("h", "/IMG/a.png", &[]),
                Tri::No,
            ),
            (
                json!({"Field": "path-pattern", "PathPatternConfig": {"Values": ["/v?/x"]}}),
                req("h", "/v2/x", &[]),
                Tri::Yes,
            ),
            (
                json!({"Field": "path-pattern", "PathPatternConfig": {"Values": ["/v?/x"]}}),
                req("h", "/v22/x", &[]),
                Tri::No,
            ),
            (
                json!({"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "User-Agent", "Values": ["*Chrome*"]}}),
                req("h", "/", &[("user-agent", "Mozilla chrome/1")]),
                Tri::Yes,
            ),
            (
                json!({"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-Route", "Values": ["test"]}}),
                req("h", "/", &[]),
                Tri::No,
            ),
            (
                json!({"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-Gate", "Values": [{"Fn::Join": ["-", ["a", {"Ref": "AWS::StackId"}]]}]}}),
                req("h", "/", &[("X-Gate", "other")]),
                Tri::Unknown,
            ),
            (
                json!({"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["POST"]}}),
                req("h", "/", &[]),
                Tri::No,
            ),
            (
                json!({"Field": "source-ip", "SourceIpConfig": {"Values": ["10.0.0.0/8"]}}),
                req("h", "/", &[]),
                Tri::Unknown,
            ),
        ];
        for (i, (c, r, want)) in cases.iter().enumerate() {
            assert_eq!(condition_matches(c, r), *want, "case {i}: {c}");
        }
    }

    /// The listener rules page: rules are evaluated from the lowest priority; when none
    /// matches, the default rule's action is taken.
    #[test]
    fn lowest_priority_first_then_default() {
        let net = Network {
            listeners: vec![Listener {
                key: "L".into(),
                id: "L".into(),
                lb: None,
                port: Some(80),
                protocol: Some("HTTP".into()),
                default_actions: Some(vec![json!({"Type": "fixed-response"})]),
            }],
            rules: vec![
                rule(
                    "Test",
                    9,
                    json!([{"Field": "path-pattern", "Values": ["/api/*"]}, {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-Route", "Values": ["test"]}}]),
                ),
                rule(
                    "Api",
                    10,
                    json!([{"Field": "path-pattern", "Values": ["/api/*"]}]),
                ),
                rule(
                    "All",
                    20,
                    json!([{"Field": "path-pattern", "Values": ["/*"]}]),
                ),
            ],
        };
        let l = &net.listeners[0];
        let cases = [
            (req("h", "/api/x", &[("X-Route", "test")]), Some("Test")),
            (req("h", "/api/x", &[]), Some("Api")),
            (req("h", "/other", &[]), Some("All")),
        ];
        for (r, want) in cases {
            match evaluate(&net, l, &r) {
                Outcome::Rule(x) => assert_eq!(Some(x.id.as_str()), want),
                other => panic!("{other:?}"),
            }
        }
        let only_api = Network {
            rules: net.rules[..2].to_vec(),
            listeners: net.listeners.clone(),
        };
        assert!(matches!(
            evaluate(&only_api, &only_api.listeners[0], &req("h", "/x", &[])),
            Outcome::Default(_)
        ));
    }

    #[test]
    fn urls_split_as_the_load_balancer_sees_them() {
        let cases = [
            (
                "https://api.example.com/x?q=1",
                "https",
                "api.example.com",
                Some(443),
                None,
                "/x",
            ),
            (
                "http://{{Lb.DNSName}}",
                "http",
                "{{Lb.DNSName}}",
                Some(80),
                None,
                "/",
            ),
            (
                "http://{{L.DnsName}}:{{L.Port}}/h",
                "http",
                "{{L.DnsName}}",
                None,
                Some("L"),
                "/h",
            ),
            ("http://h:8443/", "http", "h", Some(8443), None, "/"),
        ];
        for (text, scheme, host, port, port_of, path) in cases {
            let u = parse_url(text).unwrap();
            assert_eq!(
                (
                    u.scheme.as_str(),
                    u.host.as_str(),
                    u.port,
                    u.port_of.as_deref(),
                    u.path.as_str()
                ),
                (scheme, host, port, port_of, path),
                "{text}"
            );
        }
        assert!(is_elb_name("shared-123.us-east-1.elb.amazonaws.com"));
        assert!(is_elb_name("{{WebLoadBalancer.DNSName}}"));
        assert!(!is_elb_name("api.example.com"));
    }

    /// CreateRule's PriorityInUse and CreateListener's DuplicateListener with the values a stack
    /// gets when none is given: the parameters' Defaults (parameters-section-structure.html).
    #[test]
    fn priorities_and_ports_from_parameter_defaults() {
        let template = |a: u64, b: u64| {
            json!({"Parameters": {"PA": {"Type": "Number", "Default": a}, "PB": {"Type": "Number", "Default": b}, "PC": {"Type": "Number"}},
            "Resources": {
                "RA": {"Type": "AWS::ElasticLoadBalancingV2::ListenerRule", "Properties": {"ListenerArn": "arn:l", "Priority": {"Ref": "PA"}, "Conditions": [], "Actions": []}},
                "RB": {"Type": "AWS::ElasticLoadBalancingV2::ListenerRule", "Properties": {"ListenerArn": "arn:l", "Priority": {"Ref": "PB"}, "Conditions": [], "Actions": []}},
                "RC": {"Type": "AWS::ElasticLoadBalancingV2::ListenerRule", "Properties": {"ListenerArn": "arn:l", "Priority": {"Ref": "PC"}, "Conditions": [], "Actions": []}},
                "LA": {"Type": "AWS::ElasticLoadBalancingV2::Listener", "Properties": {"LoadBalancerArn": "arn:lb", "Port": {"Ref": "PA"}, "Protocol": "HTTP", "DefaultActions": []}},
                "LB": {"Type": "AWS::ElasticLoadBalancingV2::Listener", "Properties": {"LoadBalancerArn": "arn:lb", "Port": {"Ref": "PB"}, "Protocol": "HTTP", "DefaultActions": []}}}})
        };
        for (a, b, want) in [(30, 30, 2), (30, 31, 0)] {
            let st = super::super::stack(&template(a, b), &Default::default());
            let found = check(&st, &[], &Network::read(&st));
            assert_eq!(found.len(), want, "{found:?}");
            assert!(found
                .iter()
                .all(|f| f.message.contains("Defaults of parameters PA, PB")));
        }
    }

    /// TargetGroupTuple: weights 0-999; the forward action's quota: 5 target groups.
    #[test]
    fn weighted_forward_limits() {
        let fwd = |groups: Value| {
            json!({"A": {"Type": "AWS::ElasticLoadBalancingV2::ListenerRule", "Properties": {
            "ListenerArn": "arn:l", "Priority": 1, "Conditions": [],
            "Actions": [{"Type": "forward", "ForwardConfig": {"TargetGroups": groups}}]}}})
        };
        let tg = |w: u64| json!({"TargetGroupArn": "arn:tg", "Weight": w});
        let cases = [
            (fwd(json!([tg(100), tg(0)])), 0),
            (fwd(json!([tg(999), tg(1)])), 0),
            (fwd(json!([tg(1000), tg(0)])), 1),
            (fwd(json!([tg(1), tg(1), tg(1), tg(1), tg(1), tg(1)])), 1),
        ];
        for (res, want) in cases {
            let st = super::super::test_stack(&res);
            assert_eq!(check(&st, &[], &Network::read(&st)).len(), want, "{res}");
        }
    }

    /// The quotas: five comparison strings per rule; CreateRule refuses a used priority.
    #[test]
    fn priorities_ports_and_condition_values() {
        let lr = |prio: u64, paths: Value| {
            json!({"Type": "AWS::ElasticLoadBalancingV2::ListenerRule", "Properties": {
            "ListenerArn": "arn:l", "Priority": prio, "Conditions": [{"Field": "path-pattern", "PathPatternConfig": {"Values": paths}}],
            "Actions": [{"Type": "forward", "TargetGroupArn": "arn:tg"}]}})
        };
        let auto = |range: &str, path: &str, tg: &str| {
            json!({"Type": "Custom::FargateListenerRule", "Properties": {
            "ListenerArn": "arn:l", "PriorityRange": range, "TargetGroupArn": tg,
            "Conditions": [{"Field": "path-pattern", "PathPatternConfig": {"Values": [path]}}]}})
        };
        let ls = |port: u64| {
            json!({"Type": "AWS::ElasticLoadBalancingV2::Listener", "Properties": {
            "LoadBalancerArn": "arn:lb", "Port": port, "Protocol": "HTTP", "DefaultActions": []}})
        };
        let cases = [
            (
                json!({"A": lr(5, json!(["/a"])), "B": lr(5, json!(["/b"]))}),
                vec!["ELB_PRIORITY_IN_USE"],
            ),
            (
                json!({"A": lr(5, json!(["/a"])), "B": lr(6, json!(["/b"]))}),
                vec![],
            ),
            (
                json!({"A": lr(5, json!(["/1", "/2", "/3", "/4", "/5", "/6"]))}),
                vec![
                    "ELB_RULE_CONDITION_VALUES",
                    "ELB_CONDITION_VALUES_PER_CONDITION",
                ],
            ),
            // "up to three comparison strings per condition" (listener-rules.html).
            (
                json!({"A": lr(5, json!(["/1", "/2", "/3", "/4"]))}),
                vec!["ELB_CONDITION_VALUES_PER_CONDITION"],
            ),
            (json!({"A": lr(5, json!(["/1", "/2", "/3"]))}), vec![]),
            // Rules evaluated lowest priority first: nested prefixes whose priorities the
            // provider picks from one range have no fixed order; disjoint ranges, disjoint
            // paths or two fixed priorities do.
            (
                json!({"A": auto("1-99", "/blog/*", "a"), "B": auto("1-99", "/blog/admin/*", "b")}),
                vec!["ELB_RULE_ORDER_UNDECIDED"],
            ),
            (
                json!({"A": auto("1-99", "/blog/*", "a"), "B": auto("50-150", "/blog/admin/*", "b")}),
                vec![],
            ),
            (
                json!({"A": auto("100-199", "/blog/*", "a"), "B": auto("1-99", "/blog/admin/*", "b")}),
                vec![],
            ),
            (
                json!({"A": auto("1-99", "/blog/*", "a"), "B": auto("1-99", "/shop/*", "b")}),
                vec![],
            ),
            (
                json!({"A": auto("1-99", "/blog/*", "a"), "B": auto("1-99", "/blog/admin/*", "a")}),
                vec![],
            ),
            (
                json!({"A": auto("1-99", "/*", "a"), "B": lr(7, json!(["/api/*"]))}),
                vec![],
            ),
            (
                json!({"A": auto("1-99", "/blog/*", "a"),
                       "B": {"DependsOn": "A", "Type": "Custom::FargateListenerRule", "Properties": auto("1-99", "/blog/admin/*", "b")["Properties"]}}),
                vec![],
            ),
            (
                json!({"A": ls(8080), "B": ls(8080)}),
                vec!["ELB_DUPLICATE_LISTENER"],
            ),
            (json!({"A": ls(8080), "B": ls(8081)}), vec![]),
        ];
        for (res, want) in cases {
            let st = super::super::test_stack(&res);
            let net = Network::read(&st);
            let got: Vec<_> = check(&st, &[], &net).iter().map(|f| f.code).collect();
            assert_eq!(got, want, "{res}");
        }
    }

    /// The default rule is evaluated last: a gate request that matches none of the App's rules
    /// on a listener outside the template (host-header `*.example.com` matches `a.example.com`,
    /// not the load balancer's own name) takes rules or a default action the stack does not
    /// define; on a listener of the template, one that does not forward to the App.
    #[test]
    fn a_gate_that_matches_no_rule_falls_through() {
        let stack = |host: &str, listener: Value| {
            let mut res = json!({
                "WebService": {"Type": "AWS::ECS::Service", "Properties": {"TaskDefinition": {"Ref": "WebTaskDefinition"}}},
                "WebTaskDefinition": {"Type": "AWS::ECS::TaskDefinition", "Properties": {}},
                "WebTargetGroup": {"Type": "AWS::ElasticLoadBalancingV2::TargetGroup", "Properties": {}},
                "WebListenerRule": {"Type": "AWS::ElasticLoadBalancingV2::ListenerRule", "Properties": {
                    "ListenerArn": listener, "Priority": 10,
                    "Conditions": [{"Field": "host-header", "HostHeaderConfig": {"Values": ["*.example.com"]}}],
                    "Actions": [{"Type": "forward", "TargetGroupArn": {"Ref": "WebTargetGroup"}}]}},
                "WebLoadTestGate": {"Type": "Custom::FargateLoadTestGate", "Properties": {
                    "ServiceName": {"Fn::GetAtt": ["WebService", "Name"]},
                    "Url": format!("http://{host}/")}}
            });
            res["Listener"] = json!({"Type": "AWS::ElasticLoadBalancingV2::Listener", "Properties": {
                "LoadBalancerArn": "arn:lb", "Port": 80, "Protocol": "HTTP",
                "DefaultActions": [{"Type": "forward", "TargetGroupArn": "arn:other"}]}});
            super::super::test_stack(&res)
        };
        let outside = json!("arn:aws:elasticloadbalancing:us-east-1:1:listener/app/x/1/2");
        let cases = [
            ("a.example.com", outside.clone(), vec![]),
            ("A.EXAMPLE.COM", outside.clone(), vec![]),
            (
                "x-1.us-east-1.elb.amazonaws.com",
                outside.clone(),
                vec!["ELB_GATE_FALLS_THROUGH"],
            ),
            (
                "example.com",
                outside.clone(),
                vec!["ELB_GATE_FALLS_THROUGH"],
            ),
            ("{{Lb.DNSName}}", outside, vec!["ELB_GATE_FALLS_THROUGH"]),
            ("a.example.com", json!({"Ref": "Listener"}), vec![]),
            (
                "other.test",
                json!({"Ref": "Listener"}),
                vec!["ELB_GATE_FALLS_THROUGH"],
            ),
        ];
        for (host, listener, want) in cases {
            let st = stack(host, listener);
            let net = Network::read(&st);
            let got: Vec<_> = check(&st, &st.apps, &net)
                .iter()
                .map(|f| f.code)
                .filter(|c| c.starts_with("ELB_GATE"))
                .collect();
            assert_eq!(got, want, "{host}");
        }
    }
}
