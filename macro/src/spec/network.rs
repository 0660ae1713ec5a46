//! Placement: `Network` (VPC, subnets, public IP, security groups, `AllowFrom` peers) and `Spot`.

use super::Props;
use crate::intrinsics::is_intrinsic;
use crate::reader::{path, ListVal, Reader, Val};
use serde_json::Value;

/// Keys of `Network`.
pub const NETWORK_KEYS: &[&str] = &[
    "VpcId",
    "Subnets",
    "AssignPublicIp",
    "SecurityGroups",
    "AllowFrom",
];

/// Keys of the object form of `Spot`.
pub const SPOT_KEYS: &[&str] = &["OnDemandBase", "OnDemandWeight", "SpotWeight"];

#[derive(Debug, Clone)]
pub struct Network {
    pub vpc_id: Option<Val<String>>,
    pub subnets: Option<ListVal<Value>>,
    pub assign_public_ip: Val<bool>,
    pub security_groups: Option<ListVal<Value>>,
    pub allow_from: Vec<AllowFrom>,
}

/// Who else may reach the app's ports (peers found through Cloud Map, for example).
#[derive(Debug, Clone, PartialEq)]
pub enum AllowFrom {
    /// Another `Fargate::App` of this template, by logical ID.
    App(String),
    Cidr(String),
    SecurityGroup(Value),
}

#[derive(Debug, Clone)]
pub struct Spot {
    pub on_demand_base: Val<u64>,
    pub on_demand_weight: Val<u64>,
    pub spot_weight: Val<u64>,
}

pub(super) fn read_network(r: &mut Reader, p: &Props, id: &str, app_ids: &[String]) -> Network {
    let mut n = Network {
        vpc_id: None,
        subnets: None,
        assign_public_ip: Val::Lit(false),
        security_groups: None,
        allow_from: Vec::new(),
    };
    let np = p.path("Network");
    let Some(v) = p.get("Network") else { return n };
    let Some(m) = r.object(&np, v, NETWORK_KEYS) else {
        return n;
    };
    n.vpc_id = m
        .get("VpcId")
        .and_then(|v| r.nonempty(&path(&np, "VpcId"), v));
    n.subnets = m.get("Subnets").and_then(|v| {
        r.list(&path(&np, "Subnets"), v, |r, ip, it| {
            r.nonempty(ip, it).map(|s| s.json())
        })
    });
    if let Some(ListVal::Items(items)) = &n.subnets {
        if items.is_empty() {
            r.err(&path(&np, "Subnets"), "must name at least one subnet");
        }
    }
    if let Some(v) = m.get("AssignPublicIp") {
        n.assign_public_ip = r
            .boolean(&path(&np, "AssignPublicIp"), v)
            .unwrap_or(Val::Lit(false));
    }
    n.security_groups = m.get("SecurityGroups").and_then(|v| {
        r.list(&path(&np, "SecurityGroups"), v, |r, ip, it| {
            r.nonempty(ip, it).map(|s| s.json())
        })
    });
    if let Some(v) = m.get("AllowFrom") {
        let ap = path(&np, "AllowFrom");
        if let Some(ListVal::Items(items)) = r.list(&ap, v, |r, ip, it| {
            Some((ip.to_string(), r.nonempty(ip, it)?))
        }) {
            for (ip, item) in items {
                n.allow_from.push(match item {
                    Val::Lit(s) if app_ids.contains(&s) => {
                        if s == id {
                            r.err(&ip, "an app does not need to allow itself");
                            continue;
                        }
                        AllowFrom::App(s)
                    }
                    Val::Lit(s) if s.contains('/') => {
                        if !valid_cidr(&s) {
                            r.err(&ip, format!("'{s}' is not an IPv4 CIDR block"));
                            continue;
                        }
                        AllowFrom::Cidr(s)
                    }
                    Val::Lit(s) if s.starts_with("sg-") => AllowFrom::SecurityGroup(Value::String(s)),
                    Val::Lit(s) => {
                        r.err(&ip, format!("'{s}' is neither a Fargate::App of this template, a security group ID (sg-...) nor a CIDR block"));
                        continue;
                    }
                    Val::Expr(e) => AllowFrom::SecurityGroup(e),
                });
            }
        } else if is_intrinsic(v) {
            r.err(
                &ap,
                "must be a literal list (each item may be an intrinsic)",
            );
        }
    }
    n
}

pub fn valid_cidr(s: &str) -> bool {
    let Some((ip, bits)) = s.split_once('/') else {
        return false;
    };
    ip.parse::<std::net::Ipv4Addr>().is_ok() && bits.parse::<u8>().map(|b| b <= 32).unwrap_or(false)
}

pub(super) fn read_spot(r: &mut Reader, p: &str, v: &Value) -> Option<Spot> {
    match v {
        Value::Bool(false) => None,
        Value::Bool(true) => Some(Spot {
            on_demand_base: Val::Lit(0),
            on_demand_weight: Val::Lit(0),
            spot_weight: Val::Lit(1),
        }),
        _ => {
            let m = r.object(p, v, SPOT_KEYS)?;
            let int = |r: &mut Reader, k: &str, d: u64| {
                m.get(k)
                    .and_then(|v| r.int(&path(p, k), v, 0, 1000))
                    .unwrap_or(Val::Lit(d))
            };
            let s = Spot {
                on_demand_base: int(r, "OnDemandBase", 0),
                on_demand_weight: int(r, "OnDemandWeight", 0),
                spot_weight: int(r, "SpotWeight", 1),
            };
            if let (Val::Lit(0), Val::Lit(0)) = (&s.on_demand_weight, &s.spot_weight) {
                r.err(
                    &path(p, "SpotWeight"),
                    "OnDemandWeight and SpotWeight cannot both be 0",
                );
            }
            Some(s)
        }
    }
}
