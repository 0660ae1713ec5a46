//! Updates that AWS refuses or that drop traffic, as data: one row per "changing a resource of
//! type T this way, while W holds, fails (or interrupts traffic) because ... (AWS page)". The
//! diff's resource changes are matched against the table; each match is a warning naming the
//! resource, the change that causes it and the page.

use super::{Action, ResourceChange};
use serde::Serialize;
use serde_json::{Map, Value};

/// What the update does when a row matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Effect {
    /// CloudFormation or the service refuses the update; the stack rolls back.
    Fails,
    /// The update succeeds but traffic is dropped or misrouted for a while.
    Outage,
}

/// The extra fact a row needs, besides the action on a resource of its type.
#[derive(Debug, Clone, Copy)]
pub enum When {
    /// This property is set to the same value in both versions (a custom name kept).
    Kept(&'static str),
    /// This property is set in either version.
    Set(&'static str),
    /// A resource of one of these types, present in both versions (so already serving),
    /// references it under one of these property names in the new version.
    ReferencedBy(&'static [&'static str], &'static [&'static str]),
}

pub struct Hazard {
    pub resource_type: &'static str,
    pub action: Action,
    pub when: When,
    pub effect: Effect,
    pub why: &'static str,
    pub page: &'static str,
}

const NAME_PAGE: &str =
    "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-name.html";
const NAME_WHY: &str = "CloudFormation cannot replace a custom-named resource (\"You can't perform an update that causes a custom-named resource to be replaced\"): give it a new name, or none";

/// A custom name kept across a replacement, one row per type the macro (or a user's template)
/// names: the name properties of the CloudFormation reference pages of these types.
macro_rules! named {
    ($($t:literal => $p:literal),* $(,)?) => {
        [$(Hazard {
            resource_type: $t,
            action: Action::Replace,
            when: When::Kept($p),
            effect: Effect::Fails,
            why: NAME_WHY,
            page: NAME_PAGE,
        }),*]
    };
}

const NAMED: [Hazard; 12] = named! {
    "AWS::ElasticLoadBalancingV2::TargetGroup" => "Name",
    "AWS::ElasticLoadBalancingV2::LoadBalancer" => "Name",
    "AWS::ECS::Service" => "ServiceName",
    "AWS::ECS::Cluster" => "ClusterName",
    "AWS::IAM::Role" => "RoleName",
    "AWS::IAM::ManagedPolicy" => "ManagedPolicyName",
    "AWS::Logs::LogGroup" => "LogGroupName",
    "AWS::EC2::SecurityGroup" => "GroupName",
    "AWS::Lambda::Function" => "FunctionName",
    "AWS::Events::Rule" => "Name",
    "AWS::CloudWatch::Alarm" => "AlarmName",
    "AWS::ServiceDiscovery::Service" => "Name",
};

const OTHERS: [Hazard; 3] = [
    Hazard {
        resource_type: "AWS::ECS::Service",
        action: Action::Replace,
        when: When::Set("ServiceConnectConfiguration"),
        effect: Effect::Fails,
        why: "the stack update fails when a property that requires replacement changes and a Service Connect ServiceConnectConfiguration property is configured: CloudFormation creates the replacement service first, and each ServiceConnectService name must be unique in the namespace",
        page: "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ecs-service.html",
    },
    Hazard {
        resource_type: "AWS::ElasticLoadBalancingV2::TargetGroup",
        action: Action::Replace,
        when: When::ReferencedBy(
            &[
                "AWS::ElasticLoadBalancingV2::Listener",
                "AWS::ElasticLoadBalancingV2::ListenerRule",
            ],
            &["DefaultActions", "Actions"],
        ),
        effect: Effect::Outage,
        why: "the listener forwards to the new, empty target group before the service (updated after what it depends on) registers tasks in it; the load balancer answers 503 while a target group has no registered targets",
        page: "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-troubleshooting.html",
    },
    Hazard {
        resource_type: "AWS::ElasticLoadBalancingV2::ListenerRule",
        action: Action::Modify,
        when: When::ReferencedBy(
            &["AWS::ECS::Service"],
            &["ProductionListenerRule", "TestListenerRule"],
        ),
        effect: Effect::Outage,
        why: "ECS owns this rule's weights during blue/green, linear and canary deployments and the template holds 100/0: an in-place update after green has won writes 100/0 back and sends production to the target group ECS scaled down (docs/properties.md)",
        page: "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/alb-resources-for-blue-green.html",
    },
];

/// Every row.
pub fn table() -> impl Iterator<Item = &'static Hazard> {
    NAMED.iter().chain(OTHERS.iter())
}

/// One warning: a row matched by a resource change.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Warning {
    pub logical_id: String,
    pub effect: Effect,
    /// The property changes that make the resource replaced or modified.
    pub cause: String,
    /// The fact that makes it fail: `Name "x" kept`, `referenced by WebListener.DefaultActions`.
    pub fact: String,
    pub why: String,
    pub page: String,
}

fn prop<'a>(r: Option<&'a Value>, p: &str) -> Option<&'a Value> {
    r?.get("Properties")?.get(p)
}

/// Where `id` is referenced (`Ref`, `Fn::GetAtt`, `${id}`) under one of `under` in a resource
/// of one of `types`: `Listener.DefaultActions`.
fn referrers(
    old_r: &Map<String, Value>,
    new_r: &Map<String, Value>,
    id: &str,
    types: &[&str],
    under: &[&str],
) -> Vec<String> {
    let mut out = Vec::new();
    for (rid, r) in new_r {
        if !old_r.contains_key(rid)
            || !types.contains(&r.get("Type").and_then(Value::as_str).unwrap_or_default())
        {
            continue;
        }
        let mut found = Vec::new();
        find_under(
            r.get("Properties").unwrap_or(&Value::Null),
            id,
            under,
            None,
            &mut found,
        );
        found.sort();
        found.dedup();
        out.extend(found.into_iter().map(|p| format!("{rid}.{p}")));
    }
    out
}

fn find_under(v: &Value, id: &str, under: &[&str], inside: Option<&str>, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(at) = inside {
                let mut refs = Vec::new();
                super::references(v, String::new(), &mut refs);
                if refs.iter().any(|(_, _, t)| t == id) && is_ref_like(m) {
                    out.push(at.to_string());
                    return;
                }
            }
            for (k, x) in m {
                let now = if under.contains(&k.as_str()) {
                    Some(k.as_str())
                } else {
                    inside
                };
                find_under(x, id, under, now, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| find_under(x, id, under, inside, out)),
        _ => {}
    }
}

fn is_ref_like(m: &Map<String, Value>) -> bool {
    m.len() == 1 && m.keys().all(|k| k == "Ref" || k.starts_with("Fn::"))
}

/// The warnings for a diff's resource changes.
pub fn check(
    changes: &[ResourceChange],
    old_r: &Map<String, Value>,
    new_r: &Map<String, Value>,
) -> Vec<Warning> {
    let mut out = Vec::new();
    for c in changes {
        let cause = || {
            c.changes
                .iter()
                .filter(|p| c.action != Action::Replace || p.replacement)
                .map(|p| match &p.because {
                    Some(b) => format!("{} ({b})", p.path),
                    None => format!(
                        "{}: {} -> {}",
                        p.path,
                        super::show(&p.old),
                        super::show(&p.new)
                    ),
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let cause = match &c.renamed_from {
            Some(from) => format!("logical ID renamed from {from}"),
            None => cause(),
        };
        for h in table() {
            if h.resource_type != c.resource_type || h.action != c.action {
                continue;
            }
            let (o, n) = (
                old_r.get(c.renamed_from.as_ref().unwrap_or(&c.logical_id)),
                new_r.get(&c.logical_id),
            );
            let fact = match h.when {
                When::Kept(p) => match (prop(o, p), prop(n, p)) {
                    (Some(a), Some(b)) if a == b => {
                        Some(format!("{p} {} stays", super::show(&Some(b.clone()))))
                    }
                    _ => None,
                },
                When::Set(p) => {
                    (prop(o, p).is_some() || prop(n, p).is_some()).then(|| format!("{p} is set"))
                }
                When::ReferencedBy(types, under) => {
                    let r = referrers(old_r, new_r, &c.logical_id, types, under);
                    (!r.is_empty()).then(|| format!("referenced by {}", r.join(", ")))
                }
            };
            if let Some(fact) = fact {
                out.push(Warning {
                    logical_id: c.logical_id.clone(),
                    effect: h.effect,
                    cause: cause.clone(),
                    fact,
                    why: h.why.to_string(),
                    page: h.page.to_string(),
                });
            }
        }
    }
    out
}
