//! `Scaling`: target tracking on CPU, memory and requests per target.

use crate::reader::{path, Reader, Val};
use serde_json::Value;

/// Keys of `Scaling`.
pub const SCALING_KEYS: &[&str] = &[
    "Min",
    "Max",
    "CpuPercent",
    "MemoryPercent",
    "RequestsPerTarget",
    "ScaleInCooldown",
    "ScaleOutCooldown",
];

#[derive(Debug, Clone)]
pub struct Scaling {
    pub min: Val<u64>,
    pub max: Val<u64>,
    pub cpu_percent: Option<Val<u64>>,
    pub memory_percent: Option<Val<u64>>,
    pub requests_per_target: Option<Val<u64>>,
    pub scale_in_cooldown: Option<Val<u64>>,
    pub scale_out_cooldown: Option<Val<u64>>,
}

pub(super) fn read_scaling(r: &mut Reader, p: &str, v: &Value) -> Option<Scaling> {
    let m = r.object(p, v, SCALING_KEYS)?;
    let int =
        |r: &mut Reader, k: &str, min, max| m.get(k).and_then(|v| r.int(&path(p, k), v, min, max));
    let min = int(r, "Min", 0, 5000);
    let max = int(r, "Max", 1, 5000);
    if !m.contains_key("Min") {
        r.err(&path(p, "Min"), "required");
    }
    if !m.contains_key("Max") {
        r.err(&path(p, "Max"), "required");
    }
    let s = Scaling {
        min: min?,
        max: max?,
        cpu_percent: int(r, "CpuPercent", 1, 100),
        memory_percent: int(r, "MemoryPercent", 1, 100),
        requests_per_target: int(r, "RequestsPerTarget", 1, 1_000_000),
        scale_in_cooldown: int(r, "ScaleInCooldown", 0, 86400),
        scale_out_cooldown: int(r, "ScaleOutCooldown", 0, 86400),
    };
    if let (Val::Lit(a), Val::Lit(b)) = (&s.min, &s.max) {
        if a > b {
            r.err(&path(p, "Min"), format!("{a} is greater than Max {b}"));
        }
    }
    if s.cpu_percent.is_none() && s.memory_percent.is_none() && s.requests_per_target.is_none() {
        r.err(
            p,
            "give at least one of CpuPercent, MemoryPercent, RequestsPerTarget to scale on",
        );
    }
    Some(s)
}
