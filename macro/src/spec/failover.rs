//! `Failover`: weighted failover to a standby (a function or a target group) driven by an alarm.

use super::TemplateCtx;
use crate::intrinsics::is_intrinsic;
use crate::reader::{path, show, Reader, Val};
use serde_json::{Map, Value};

/// Keys of `Failover`.
pub const FAILOVER_KEYS: &[&str] = &[
    "Standby",
    "AlarmName",
    "Trigger",
    "StandbyCount",
    "HealthyTimeout",
    "MinServiceTime",
    "Recovery",
];

/// Keys of the object form of `Failover.Standby`.
pub const STANDBY_KEYS: &[&str] = &["FunctionArn", "TargetGroupArn"];

/// Keys of `Failover.Trigger`.
pub const TRIGGER_KEYS: &[&str] = &[
    "Namespace",
    "MetricName",
    "Dimensions",
    "Statistic",
    "Threshold",
    "ComparisonOperator",
    "Period",
    "EvaluationPeriods",
    "DatapointsToAlarm",
    "TreatMissingData",
];

/// `TreatMissingData` values of `AWS::CloudWatch::Alarm`
/// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html).
pub const MISSING_DATA: &[&str] = &["breaching", "notBreaching", "ignore", "missing"];
/// The trigger's default: no data (the function idle) is not a reason to fail over.
pub const TRIGGER_MISSING_DATA: &str = "notBreaching";
/// The recovery condition's default: no data (no requests reach the service) counts as the
/// condition holding, so a quiet service hands its traffic back.
pub const RECOVERY_MISSING_DATA: &str = "breaching";

#[derive(Debug, Clone)]
pub struct Failover {
    pub standby: Standby,
    pub alarm: FailoverAlarm,
    pub standby_count: Val<u64>,
    pub healthy_timeout: Val<u64>,
    /// `MinServiceTime`: seconds traffic stays on the service after it moved there, before it
    /// may move back to the standby (0: no minimum).
    pub min_service_time: Val<u64>,
    /// `Recovery`: the alarm (created like `Trigger`) whose ALARM state says traffic may move
    /// back; without it, the trigger's OK does.
    pub recovery: Option<Map<String, Value>>,
}

#[derive(Debug, Clone)]
pub enum Standby {
    Function(Val<String>),
    TargetGroup(Val<String>),
}

#[derive(Debug, Clone)]
pub enum FailoverAlarm {
    Existing(Val<String>),
    Trigger(Map<String, Value>),
}

pub(super) fn read_failover(
    r: &mut Reader,
    p: &str,
    v: &Value,
    ctx: &TemplateCtx,
) -> Option<Failover> {
    let m = r.object(p, v, FAILOVER_KEYS)?;
    let sp = path(p, "Standby");
    let standby = match m.get("Standby") {
        Some(sv) if !sv.is_object() || is_intrinsic(sv) => infer_standby(r, &sp, sv, ctx),
        Some(sv) => {
            let sm = r.object(&sp, sv, STANDBY_KEYS)?;
            match (sm.get("FunctionArn"), sm.get("TargetGroupArn")) {
                (Some(f), None) => {
                    Some(Standby::Function(r.nonempty(&path(&sp, "FunctionArn"), f)?))
                }
                (None, Some(t)) => Some(Standby::TargetGroup(
                    r.nonempty(&path(&sp, "TargetGroupArn"), t)?,
                )),
                _ => {
                    r.err(&sp, "give exactly one of FunctionArn or TargetGroupArn");
                    None
                }
            }
        }
        None => {
            r.err(&sp, "required: the target that serves while the alarm is OK ({ FunctionArn } or { TargetGroupArn })");
            None
        }
    };
    let alarm = match (m.get("AlarmName"), m.get("Trigger")) {
        (Some(a), None) => r
            .nonempty(&path(p, "AlarmName"), a)
            .map(FailoverAlarm::Existing),
        (None, Some(t)) => read_trigger(r, &path(p, "Trigger"), t, TRIGGER_MISSING_DATA)
            .map(FailoverAlarm::Trigger),
        _ => {
            r.err(p, "give exactly one of AlarmName (an existing alarm) or Trigger (an alarm created for it)");
            None
        }
    };
    let standby_count = m
        .get("StandbyCount")
        .and_then(|v| r.int(&path(p, "StandbyCount"), v, 1, 5000))
        .unwrap_or(Val::Lit(1));
    let healthy_timeout = m
        .get("HealthyTimeout")
        .and_then(|v| r.seconds(&path(p, "HealthyTimeout"), v, 30, 3600))
        .unwrap_or(Val::Lit(600));
    let min_service_time = m
        .get("MinServiceTime")
        .and_then(|v| r.seconds(&path(p, "MinServiceTime"), v, 0, 86400))
        .unwrap_or(Val::Lit(0));
    let recovery = m
        .get("Recovery")
        .and_then(|v| read_trigger(r, &path(p, "Recovery"), v, RECOVERY_MISSING_DATA));
    Some(Failover {
        standby: standby?,
        alarm: alarm?,
        standby_count,
        healthy_timeout,
        min_service_time,
        recovery,
    })
}

/// `Standby` as a plain value: a function or a target group, told by a literal ARN or by the
/// type of the template resource it refers to.
pub(super) fn infer_standby(
    r: &mut Reader,
    p: &str,
    v: &Value,
    ctx: &TemplateCtx,
) -> Option<Standby> {
    let val = r.nonempty(p, v)?;
    // A parameter whose value is known (the macro event, or `expand --parameters`) is told by
    // that value; the output keeps the `Ref`.
    let known = ctx
        .parameter_value(v)
        .and_then(Value::as_str)
        .map(|s| Val::Lit(s.to_string()));
    let kind = match known.as_ref().unwrap_or(&val) {
        Val::Lit(s) => match s.split(':').nth(2) {
            Some("lambda") if s.contains(":function:") => Some(true),
            Some("elasticloadbalancing") if s.contains(":targetgroup/") => Some(false),
            _ => {
                r.err(
                    p,
                    format!(
                        "'{s}' is neither a Lambda function ARN nor a target group ARN{}",
                        match (&known, v.get("Ref").and_then(Value::as_str)) {
                            (Some(_), Some(name)) => format!(" (the value of parameter {name})"),
                            _ => String::new(),
                        }
                    ),
                );
                return None;
            }
        },
        Val::Expr(e) => {
            // Ref of a function is its name, which a target group cannot take as a target.
            if let Some((id, None)) = ctx.referenced(e) {
                if ctx.resource_type(id) == Some("AWS::Lambda::Function") {
                    r.err(
                        p,
                        format!("!Ref {id} is the function's name; give !GetAtt {id}.Arn"),
                    );
                    return None;
                }
            }
            ctx.referenced(e).and_then(|(id, attr)| {
                match (ctx.resource_type(id)?, attr.as_deref()) {
                    ("AWS::Lambda::Function", Some("Arn")) => Some(true),
                    ("AWS::Lambda::Alias" | "AWS::Lambda::Version", None) => Some(true),
                    ("AWS::ElasticLoadBalancingV2::TargetGroup", None) => Some(false),
                    _ => None,
                }
            })
        }
    };
    match kind {
        Some(true) => Some(Standby::Function(val)),
        Some(false) => Some(Standby::TargetGroup(val)),
        None => {
            r.err(p, format!("{} may be a function or a target group: give {{ FunctionArn: ... }} or {{ TargetGroupArn: ... }}", show(v)));
            None
        }
    }
}

/// The statistic that measures a metric as meant: `Sum` for counts, `Maximum` for gauges such
/// as concurrency (a Sum over-counts), `Average` for latencies and utilisation.
pub(super) fn default_statistic(namespace: &str, metric: &str) -> Option<&'static str> {
    Some(match (namespace, metric) {
        (
            "AWS/Lambda",
            "Invocations"
            | "Errors"
            | "Throttles"
            | "DeadLetterErrors"
            | "DestinationDeliveryFailures",
        ) => "Sum",
        (
            "AWS/Lambda",
            "ConcurrentExecutions"
            | "UnreservedConcurrentExecutions"
            | "ProvisionedConcurrentExecutions"
            | "ProvisionedConcurrencyUtilization",
        ) => "Maximum",
        ("AWS/Lambda", "Duration") => "Average",
        ("AWS/ApplicationELB", m) if m.starts_with("HTTPCode_") => "Sum",
        (
            "AWS/ApplicationELB",
            "RequestCount"
            | "RequestCountPerTarget"
            | "RejectedConnectionCount"
            | "TargetConnectionErrorCount",
        ) => "Sum",
        ("AWS/ApplicationELB", "UnHealthyHostCount") => "Maximum",
        ("AWS/ApplicationELB", "TargetResponseTime") => "Average",
        ("AWS/ECS", "CPUUtilization" | "MemoryUtilization") => "Average",
        ("AWS/ApiGateway", "Count" | "4XXError" | "5XXError") => "Sum",
        ("AWS/ApiGateway", "Latency" | "IntegrationLatency") => "Average",
        _ => return None,
    })
}

pub const COMPARISONS: &[&str] = &[
    "GreaterThanOrEqualToThreshold",
    "GreaterThanThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
];

/// An alarm's condition (`Trigger` or `Recovery`), as `AWS::CloudWatch::Alarm` properties;
/// `missing` is the `TreatMissingData` used when none is given.
pub(super) fn read_trigger(
    r: &mut Reader,
    p: &str,
    v: &Value,
    missing: &str,
) -> Option<Map<String, Value>> {
    let m = r.object(p, v, TRIGGER_KEYS)?;
    let mut out = Map::new();
    for k in ["Namespace", "MetricName"] {
        match m.get(k) {
            Some(v) => {
                if let Some(s) = r.nonempty(&path(p, k), v) {
                    out.insert(k.into(), s.json());
                }
            }
            None => r.err(&path(p, k), "required"),
        }
    }
    if let Some(d) = m.get("Dimensions") {
        let dims = r.string_map(&path(p, "Dimensions"), d);
        out.insert(
            "Dimensions".into(),
            Value::Array(
                dims.into_iter()
                    .map(|(k, v)| serde_json::json!({"Name": k, "Value": v}))
                    .collect(),
            ),
        );
    }
    let stat = m
        .get("Statistic")
        .and_then(|v| {
            r.word(
                &path(p, "Statistic"),
                v,
                &["Average", "Maximum", "Minimum", "Sum", "SampleCount"],
            )
        })
        .or_else(|| {
            let lit = |k: &str| out.get(k).and_then(Value::as_str).unwrap_or_default();
            let d = default_statistic(lit("Namespace"), lit("MetricName"));
            if d.is_none() && !m.contains_key("Statistic") {
                r.err(
                    &path(p, "Statistic"),
                    format!(
                        "required for {} {}: give Sum for a count, Maximum or Average for a gauge",
                        lit("Namespace"),
                        lit("MetricName")
                    ),
                );
            }
            d.map(|d| Val::Lit(d.to_string()))
        });
    if let Some(stat) = stat {
        out.insert("Statistic".into(), stat.json());
    }
    match m.get("Threshold") {
        Some(v) => {
            if let Some(t) = r.number(&path(p, "Threshold"), v, f64::MIN, f64::MAX) {
                out.insert("Threshold".into(), t.json());
            }
        }
        None => r.err(&path(p, "Threshold"), "required"),
    }
    let cmp = m
        .get("ComparisonOperator")
        .and_then(|v| r.word(&path(p, "ComparisonOperator"), v, COMPARISONS))
        .unwrap_or(Val::Lit("GreaterThanOrEqualToThreshold".into()));
    out.insert("ComparisonOperator".into(), cmp.json());
    let period = m
        .get("Period")
        .and_then(|v| r.seconds(&path(p, "Period"), v, 10, 86400))
        .unwrap_or(Val::Lit(60));
    if let Val::Lit(n) = period {
        if n > 60 && n % 60 != 0 || (n < 60 && ![10, 20, 30].contains(&n)) {
            r.err(
                &path(p, "Period"),
                format!("{n} is not 10, 20, 30 or a multiple of 60"),
            );
        }
    }
    out.insert("Period".into(), period.json());
    let ev = m
        .get("EvaluationPeriods")
        .and_then(|v| r.int(&path(p, "EvaluationPeriods"), v, 1, 100))
        .unwrap_or(Val::Lit(1));
    out.insert("EvaluationPeriods".into(), ev.json());
    // DatapointsToAlarm: M of the last N periods must breach; M <= N
    // (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarm-evaluation).
    if let Some(d) = m
        .get("DatapointsToAlarm")
        .and_then(|v| r.int(&path(p, "DatapointsToAlarm"), v, 1, 100))
    {
        if let (Val::Lit(dn), Val::Lit(en)) = (&d, &ev) {
            if dn > en {
                r.err(
                    &path(p, "DatapointsToAlarm"),
                    format!("{dn} is greater than EvaluationPeriods ({en})"),
                );
            }
        }
        out.insert("DatapointsToAlarm".into(), d.json());
    }
    let tmd = m
        .get("TreatMissingData")
        .and_then(|v| r.word(&path(p, "TreatMissingData"), v, MISSING_DATA))
        .unwrap_or(Val::Lit(missing.into()));
    out.insert("TreatMissingData".into(), tmd.json());
    Some(out)
}
