//! Security groups as the VPC user guide defines them: allow rules only; a group created
//! without egress rules allows all outbound traffic, one with egress rules only those; a rule
//! that references a security group matches traffic from the *private* addresses of that
//! group's network interfaces only, so it never admits traffic to or from a public address of
//! an internet-facing load balancer. A connection needs the sender's egress and the receiver's
//! ingress.
//! https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html

use super::{items, key, lit_num, lit_str, target, App, Finding, Rule, Severity, Stack};
use crate::model::elbv2::{gate_requests, Network};
use serde::Serialize;
use serde_json::Value;

const PAGE: &str = "https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html";

pub const REFERENCE_TO_PUBLIC: Rule = Rule {
    code: "VPC_SG_REFERENCE_TO_PUBLIC_ADDRESS",
    severity: Severity::Error,
    rule: "a security-group reference matches only private addresses: workers in the VPC reach an internet-facing load balancer's public addresses, which it never matches",
    doc: PAGE,
};
pub const ALB_TO_TASK: Rule = Rule {
    code: "VPC_ALB_CANNOT_REACH_TASK",
    severity: Severity::Error,
    rule: "the load balancer reaches a task only with its group's egress and the task group's ingress on the container and health-check ports",
    doc: PAGE,
};

pub const TASK_OPEN: Rule = Rule {
    code: "VPC_TASK_OPEN_TO_ANYONE",
    severity: Severity::Warning,
    rule: "an ingress rule with 0.0.0.0/0 admits every address; tasks behind a load balancer need only its group",
    doc: PAGE,
};

/// An internal load balancer's nodes have only private addresses, so it routes requests only
/// from clients with access to its VPC; a Lambda function not connected to a VPC has no access
/// to the VPC's resources (https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html).
pub const GATE_OUTSIDE_VPC: Rule = Rule {
    code: "VPC_GATE_OUTSIDE_VPC_TO_INTERNAL",
    severity: Severity::Error,
    rule: "an internal load balancer has private addresses only and routes requests only from clients with access to its VPC: a gate sent from the provider function (outside any VPC) never reaches it",
    doc: "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html",
};
pub const WORKERS_TO_ALB: Rule = Rule {
    code: "VPC_WORKERS_CANNOT_REACH_ALB",
    severity: Severity::Error,
    rule: "VPC workers reach the load balancer only with their group's egress and the load balancer group's ingress naming the workers' group on the listener port",
    doc: PAGE,
};

pub const RULES: &[&Rule] = &[
    &REFERENCE_TO_PUBLIC,
    &ALB_TO_TASK,
    &TASK_OPEN,
    &GATE_OUTSIDE_VPC,
    &WORKERS_TO_ALB,
];

/// The logical ID of the worker function a gate names: `Fn::GetAtt [X, Arn]`, or the
/// `{{X.Arn}}` a hook's details show for it.
fn function_of(st: &Stack, workers: &Value) -> Option<String> {
    let id = match workers {
        Value::String(s) => s
            .strip_prefix("{{")?
            .strip_suffix("}}")?
            .split('.')
            .next()?
            .to_string(),
        other => target(other)?.to_string(),
    };
    (st.type_of(&id) == Some("AWS::Lambda::Function")).then_some(id)
}

/// Whether a connection from one of `from` to one of `to` on `port` is open: the sender's
/// egress and the receiver's ingress naming the sender's group (private addresses only).
fn opens(st: &Stack, from: &[&Value], to: &[&Value], port: u64) -> bool {
    from.iter().any(|f| {
        to.iter().any(|t| {
            egress_allows(st, f, t, port) == Some(true)
                && ingress(st, t)
                    .iter()
                    .any(|r| covers(r, port) && key(&r["SourceSecurityGroupId"]) == key(f))
        })
    })
}

/// How each gate of the App reaches each load balancer of the template its URL names: from the
/// provider function (outside any VPC: never an internal one), or from the App's VPC workers
/// (only an internal one, on private addresses, with their group admitted on the port).
fn gate_paths(st: &Stack, app: &App, net: &Network) -> Vec<Finding> {
    let mut out = Vec::new();
    for g in gate_requests(st, app) {
        for (lb, lb_groups) in app_load_balancers(st, app, net) {
            if !g.url.host.contains(&format!("{{{{{lb}.DNSName}}}}")) {
                continue;
            }
            let scheme = lit_str(&st.props(&lb)["Scheme"]).unwrap_or("internet-facing");
            let Some(workers) = &g.workers else {
                if scheme == "internal" {
                    out.push(Finding::new(
                        &GATE_OUTSIDE_VPC,
                        &app.name,
                        &[&g.origin, &lb],
                        format!(
                            "{} sends its load from the provider function, outside the VPC, to the internal {lb}: no WorkerFunctionArn",
                            g.origin
                        ),
                    ));
                }
                continue;
            };
            if scheme == "internet-facing" {
                out.push(Finding::new(
                    &REFERENCE_TO_PUBLIC,
                    &app.name,
                    &[&g.origin, &lb],
                    format!(
                        "{}'s VPC workers resolve {lb} to public addresses; the ingress that references the workers' group never matches them",
                        g.origin
                    ),
                ));
                continue;
            }
            let (Some(function), Some(port)) = (function_of(st, workers), g.url.port) else {
                continue;
            };
            let groups: Vec<&Value> =
                items(&st.props(&function)["VpcConfig"]["SecurityGroupIds"]).collect();
            if !opens(st, &groups, &lb_groups, port) {
                out.push(Finding::new(
                    &WORKERS_TO_ALB,
                    &app.name,
                    &[&g.origin, &function, &lb],
                    format!(
                        "{}'s workers ({function}) cannot open tcp/{port} to {lb}",
                        g.origin
                    ),
                ));
            }
        }
    }
    out
}

/// Who can reach whom on which port, as the model decides it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Reach {
    pub from: String,
    pub to: String,
    pub port: String,
    pub open: Option<bool>,
}

pub(super) fn covers(rule: &Value, port: u64) -> bool {
    if rule["IpProtocol"] == "-1" || rule["IpProtocol"] == -1 {
        return true;
    }
    match (lit_num(&rule["FromPort"]), lit_num(&rule["ToPort"])) {
        (Some(a), Some(b)) => (a as u64) <= port && port <= (b as u64),
        _ => false,
    }
}

/// Ingress rules of a group of the template: inline, and `AWS::EC2::SecurityGroupIngress`.
pub(super) fn ingress<'a>(st: &'a Stack, group: &'a Value) -> Vec<&'a Value> {
    let mut v: Vec<&Value> = Vec::new();
    if let Some(id) = target(group) {
        v.extend(items(&st.props(id)["SecurityGroupIngress"]));
    }
    v.extend(
        st.of_type("AWS::EC2::SecurityGroupIngress")
            .filter(|(_, p)| key(&p["GroupId"]) == key(group))
            .map(|(_, p)| p),
    );
    v
}

/// Whether a group lets traffic out to `dest` on `port`: `None` when the group is not in the
/// template and no standalone egress rule decides it.
pub(super) fn egress_allows(st: &Stack, group: &Value, dest: &Value, port: u64) -> Option<bool> {
    let standalone = st
        .of_type("AWS::EC2::SecurityGroupEgress")
        .filter(|(_, p)| key(&p["GroupId"]) == key(group))
        .any(|(_, p)| {
            covers(p, port)
                && (key(&p["DestinationSecurityGroupId"]) == key(dest)
                    || p["CidrIp"] == "0.0.0.0/0")
        });
    if standalone {
        return Some(true);
    }
    let id = target(group).filter(|id| st.type_of(id) == Some("AWS::EC2::SecurityGroup"))?;
    let inline = &st.props(id)["SecurityGroupEgress"];
    if !inline.is_array() {
        return Some(true);
    }
    Some(items(inline).any(|r| {
        covers(r, port)
            && (key(&r["DestinationSecurityGroupId"]) == key(dest) || r["CidrIp"] == "0.0.0.0/0")
    }))
}

/// The App's load balancers of the template: (logical ID, its security groups).
fn app_load_balancers<'a>(
    st: &'a Stack,
    app: &App,
    net: &Network,
) -> Vec<(String, Vec<&'a Value>)> {
    let mut out: Vec<(String, Vec<&Value>)> = Vec::new();
    for l in net.listeners_of(st, app) {
        let Some(lb) =
            l.lb.as_ref()
                .and_then(|k| serde_json::from_str::<Value>(k).ok())
        else {
            continue;
        };
        let Some(id) = target(&lb)
            .filter(|id| st.type_of(id) == Some("AWS::ElasticLoadBalancingV2::LoadBalancer"))
        else {
            continue;
        };
        if out.iter().any(|(x, _)| x == id) {
            continue;
        }
        let p = st.props(id);
        out.push((id.to_string(), items(&p["SecurityGroups"]).collect()));
    }
    out
}

fn service_groups<'a>(st: &'a Stack, app: &App) -> Vec<&'a Value> {
    items(&st.props(&app.service)["NetworkConfiguration"]["AwsvpcConfiguration"]["SecurityGroups"])
        .collect()
}

fn ports(st: &Stack, app: &App) -> Vec<u64> {
    let mut v = Vec::new();
    for lb in items(&st.props(&app.service)["LoadBalancers"]) {
        let Some(p) = lit_num(&lb["ContainerPort"]) else {
            continue;
        };
        v.push(p as u64);
        for tg in [
            &lb["TargetGroupArn"],
            &lb["AdvancedConfiguration"]["AlternateTargetGroupArn"],
        ] {
            if let Some(hc) = target(tg).and_then(|t| lit_num(&st.props(t)["HealthCheckPort"])) {
                v.push(hc as u64);
            }
        }
    }
    v.sort();
    v.dedup();
    v
}

/// Load balancer -> task on each port the target groups use.
pub fn reach(st: &Stack, app: &App, net: &Network) -> Vec<Reach> {
    let mut out = Vec::new();
    for (lb, lb_groups) in app_load_balancers(st, app, net) {
        for port in ports(st, app) {
            let open = lb_groups.iter().any(|g| {
                egress_allows(st, g, &Value::Null, port).is_some()
                    && service_groups(st, app).iter().any(|t| {
                        egress_allows(st, g, t, port) == Some(true)
                            && ingress(st, t).iter().any(|r| {
                                covers(r, port) && key(&r["SourceSecurityGroupId"]) == key(g)
                            })
                    })
            });
            out.push(Reach {
                from: lb.clone(),
                to: app.service.clone(),
                port: format!("tcp/{port}"),
                open: Some(open),
            });
        }
    }
    // Peers: ingress to the App's tasks from another App's group (AllowFrom), with the
    // peer's egress.
    for t in service_groups(st, app) {
        for r in ingress(st, t) {
            // A rule admits traffic from the network interfaces its source group is attached to,
            // or from addresses its CIDR covers
            // (https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html): the
            // peers are the Apps whose tasks are in that group (not a resource or parameter
            // whose name starts like an App's), or every other App for 0.0.0.0/0 or ::/0 (a
            // narrower block depends on subnets the template does not show: not claimed).
            let src = target(&r["SourceSecurityGroupId"]);
            let anywhere = r["CidrIp"] == "0.0.0.0/0" || r["CidrIpv6"] == "::/0";
            let port = match (lit_num(&r["FromPort"]), lit_num(&r["ToPort"])) {
                (Some(a), Some(b)) if a == b => format!("tcp/{a}"),
                (Some(a), Some(b)) => format!("tcp/{a}-{b}"),
                _ => "all".to_string(),
            };
            for peer in st.apps.iter().filter(|p| p.name != app.name) {
                let groups = service_groups(st, peer);
                let open = match src {
                    Some(src) if groups.iter().any(|g| target(g) == Some(src)) => {
                        lit_num(&r["FromPort"]).and_then(|p| {
                            egress_allows(st, &r["SourceSecurityGroupId"], t, p as u64)
                        })
                    }
                    // From anywhere: shown only where the peer's own egress lets it out.
                    None if anywhere => {
                        let out_ok = lit_num(&r["FromPort"]).is_some_and(|p| {
                            groups
                                .iter()
                                .any(|g| egress_allows(st, g, t, p as u64) == Some(true))
                        });
                        if !out_ok {
                            continue;
                        }
                        Some(true)
                    }
                    _ => continue,
                };
                out.push(Reach {
                    from: peer.service.clone(),
                    to: app.service.clone(),
                    port: port.clone(),
                    open,
                });
            }
        }
    }
    for g in gate_requests(st, app) {
        out.push(Reach {
            from: if g.workers.is_some() {
                format!("{} (VPC workers)", g.origin)
            } else {
                format!("{} (provider, internet)", g.origin)
            },
            to: g.url.host.clone(),
            port: match g.url.port_shown().trim_start_matches(':') {
                "" => "tcp/?".to_string(),
                p => format!("tcp/{p}"),
            },
            open: None,
        });
    }
    out
}

pub fn check(st: &Stack, apps: &[App], net: &Network) -> Vec<Finding> {
    let mut out = Vec::new();
    for app in apps {
        for r in reach(st, app, net) {
            if r.open == Some(false) {
                out.push(Finding::new(
                    &ALB_TO_TASK,
                    &app.name,
                    &[&r.from, &r.to],
                    format!("{} cannot open {} to {}'s tasks", r.from, r.port, app.name),
                ));
            }
        }
        for t in service_groups(st, app) {
            let world = ingress(st, t)
                .into_iter()
                .any(|r| r["CidrIp"] == "0.0.0.0/0" || r["CidrIpv6"] == "::/0");
            if world {
                out.push(Finding::new(
                    &TASK_OPEN,
                    &app.name,
                    &[target(t).unwrap_or("-")],
                    format!("{}'s tasks admit 0.0.0.0/0", app.name),
                ));
            }
        }
        out.extend(gate_paths(st, app, net));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The page's rules: a new group has no inbound rules and one allow-all outbound rule;
    /// with egress rules given, only those apply; a reference admits members of that group.
    #[test]
    fn egress_defaults_and_references() {
        let st = |egress: Option<Value>| {
            let mut sg = json!({"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "lb"}});
            if let Some(e) = egress {
                sg["Properties"]["SecurityGroupEgress"] = e;
            }
            super::super::test_stack(&json!({ "Lb": sg }))
        };
        let task = json!({"Fn::GetAtt": ["Task", "GroupId"]});
        let lb = json!({"Ref": "Lb"});
        let cases = [
            (None, Some(true)),
            (
                Some(
                    json!([{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0"}]),
                ),
                Some(false),
            ),
            (
                Some(
                    json!([{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "DestinationSecurityGroupId": {"Fn::GetAtt": ["Task", "GroupId"]}}]),
                ),
                Some(true),
            ),
            (
                Some(json!([{"IpProtocol": "-1", "CidrIp": "0.0.0.0/0"}])),
                Some(true),
            ),
        ];
        for (egress, want) in cases {
            assert_eq!(
                egress_allows(&st(egress.clone()), &lb, &task, 80),
                want,
                "{egress:?}"
            );
        }
        // A group the template does not hold: unknown.
        assert_eq!(egress_allows(&st(None), &json!("sg-0123"), &task, 80), None);
    }

    /// The page's referencing example: an inbound rule naming a group admits traffic from the
    /// network interfaces of that group, and the sender's outbound rules must let it out (a
    /// group with none given allows all outbound). Workers -> load balancer on port 80.
    #[test]
    fn workers_reach_the_load_balancer_only_both_ways() {
        let workers = json!({"Fn::GetAtt": ["Workers", "GroupId"]});
        let lb = json!({"Fn::GetAtt": ["Lb", "GroupId"]});
        let rule = |port: u64, src: &str| json!({"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "SourceSecurityGroupId": {"Fn::GetAtt": [src, "GroupId"]}});
        let to_lb = json!([{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "DestinationSecurityGroupId": {"Fn::GetAtt": ["Lb", "GroupId"]}}]);
        let cases = [
            (None, rule(80, "Workers"), true),
            (Some(to_lb.clone()), rule(80, "Workers"), true),
            (Some(to_lb.clone()), rule(443, "Workers"), false),
            (Some(to_lb), rule(80, "Other"), false),
            (
                Some(
                    json!([{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0"}]),
                ),
                rule(80, "Workers"),
                false,
            ),
        ];
        for (egress, ingress_rule, want) in cases {
            let mut w =
                json!({"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "w"}});
            if let Some(e) = &egress {
                w["Properties"]["SecurityGroupEgress"] = e.clone();
            }
            let st = super::super::test_stack(&json!({
                "Workers": w,
                "Lb": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "lb", "SecurityGroupIngress": [ingress_rule.clone()]}},
                "Fn": {"Type": "AWS::Lambda::Function", "Properties": {}},
            }));
            assert_eq!(
                opens(&st, &[&workers], &[&lb], 80),
                want,
                "{egress:?} {ingress_rule}"
            );
            assert_eq!(
                function_of(&st, &json!("{{Fn.Arn}}")).as_deref(),
                Some("Fn")
            );
            assert_eq!(
                function_of(&st, &json!({"Fn::GetAtt": ["Fn", "Arn"]})).as_deref(),
                Some("Fn")
            );
            assert_eq!(function_of(&st, &json!("{{Workers.Arn}}")), None);
        }
    }
}
