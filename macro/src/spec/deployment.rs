//! `Deployment`: rolling-update bounds, circuit breaker, deployment alarms.

use super::Props;
use crate::reader::{path, ListVal, Reader, Val};
use serde_json::Value;

/// Keys of `Deployment`.
pub const DEPLOYMENT_KEYS: &[&str] = &[
    "MinHealthyPercent",
    "MaxPercent",
    "CircuitBreaker",
    "Alarms",
];

#[derive(Debug, Clone)]
pub struct Deployment {
    pub min_healthy_percent: Option<Val<u64>>,
    pub max_percent: Option<Val<u64>>,
    pub circuit_breaker: Val<bool>,
    pub alarms: Option<ListVal<Value>>,
}

pub(super) fn read_deployment(r: &mut Reader, p: &Props) -> Deployment {
    let mut d = Deployment {
        min_healthy_percent: None,
        max_percent: None,
        circuit_breaker: Val::Lit(true),
        alarms: None,
    };
    let dp = p.path("Deployment");
    let Some(v) = p.get("Deployment") else {
        return d;
    };
    let Some(m) = r.object(&dp, v, DEPLOYMENT_KEYS) else {
        return d;
    };
    d.min_healthy_percent = m
        .get("MinHealthyPercent")
        .and_then(|v| r.int(&path(&dp, "MinHealthyPercent"), v, 0, 100));
    d.max_percent = m
        .get("MaxPercent")
        .and_then(|v| r.int(&path(&dp, "MaxPercent"), v, 100, 200));
    if let Some(v) = m.get("CircuitBreaker") {
        d.circuit_breaker = r
            .boolean(&path(&dp, "CircuitBreaker"), v)
            .unwrap_or(Val::Lit(true));
    }
    d.alarms = m.get("Alarms").and_then(|v| {
        r.list(&path(&dp, "Alarms"), v, |r, ip, it| {
            r.nonempty(ip, it).map(|s| s.json())
        })
    });
    if let Some(ListVal::Items(a)) = &d.alarms {
        if a.is_empty() {
            r.err(
                &path(&dp, "Alarms"),
                "must name at least one alarm (or leave Alarms out)",
            );
        }
    }
    d
}
