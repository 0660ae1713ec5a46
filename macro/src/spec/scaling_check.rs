//! `ScalingCheck`: once after creation (or on demand), drive load at the App long enough for
//! target tracking to act and check that the service's desired count reached `ExpectDesired`
//! (provider-backed: `Custom::FargateScalingCheck`).
//!
//! Its timing follows AWS: target tracking's high alarm needs 3 one-minute datapoints above the
//! target before it scales out, its low alarm 15 below 90% of it, and ECS publishes the service's
//! CPU and memory each minute
//! (https://docs.aws.amazon.com/autoscaling/application/userguide/target-tracking-scaling-policy-overview.html,
//! https://docs.aws.amazon.com/AmazonECS/latest/developerguide/target-tracking-faster-auto-scaling.html);
//! the desired count stays within the scalable target's MinCapacity and MaxCapacity
//! (https://docs.aws.amazon.com/autoscaling/application/APIReference/API_RegisterScalableTarget.html).
//! The check answers within one provider invocation (a Lambda runs at most 15 minutes:
//! https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html), so a check longer
//! than that is refused here rather than cut short there.

use super::scaling::Scaling;
use crate::reader::{path, Reader, Val};
use serde_json::Value;

pub const SCALING_CHECK_KEYS: &[&str] = &[
    "Path",
    "Rate",
    "Duration",
    "ExpectDesired",
    "Within",
    "ReturnWithin",
    "Run",
    "RunToken",
];

/// The load must last the high alarm's 3 one-minute datapoints and one more minute for the
/// last datapoint's publication and the alarm's evaluation.
pub const MIN_SCALING_LOAD_SECONDS: u64 = 240;
/// `Within` plus `ReturnWithin` that one provider invocation (900 s) holds, less the time the
/// provider keeps for reading the stack status, the first DescribeServices and answering.
pub const MAX_SCALING_CHECK_SECONDS: u64 = 840;
/// The default `Within`: the duration plus two minutes (the last loaded minutes' datapoints),
/// at most [`MAX_SCALING_CHECK_SECONDS`].
pub const DEFAULT_WITHIN_EXTRA: u64 = 120;

#[derive(Debug, Clone)]
pub struct ScalingCheck {
    pub path: Val<String>,
    pub rate: Val<u64>,
    pub duration: u64,
    /// A literal, or a `Ref` to a parameter with a known value (checked against `Scaling` when
    /// the App is read again with the parameters' values, as the neighbouring checks are).
    pub expect_desired: Val<u64>,
    pub within: u64,
    pub return_within: Option<u64>,
    pub on_change: bool,
    pub run_token: Option<Val<String>>,
}

fn literal(r: &mut Reader, p: &str, v: Option<Val<u64>>) -> Option<u64> {
    match v? {
        Val::Lit(n) => Some(n),
        Val::Expr(_) => {
            r.err(
                p,
                "must be a literal: the expansion checks that the check fits one provider invocation and the App's Scaling",
            );
            None
        }
    }
}

pub(super) fn read_scaling_check(
    r: &mut Reader,
    p: &str,
    v: &Value,
    scaling: Option<&Scaling>,
    has_load_balancer: bool,
    ctx: &super::TemplateCtx,
) -> Option<ScalingCheck> {
    let m = r.object(p, v, SCALING_CHECK_KEYS)?;
    let mut missing = false;
    for k in ["Path", "Rate", "Duration", "ExpectDesired"] {
        if !m.contains_key(k) {
            r.err(&path(p, k), "required");
            missing = true;
        }
    }
    let path_v = match m.get("Path").and_then(|v| r.nonempty(&path(p, "Path"), v)) {
        Some(Val::Lit(s)) if !s.starts_with('/') => {
            r.err(&path(p, "Path"), format!("'{s}' must start with /"));
            None
        }
        other => other,
    };
    let rate = m
        .get("Rate")
        .and_then(|v| r.int(&path(p, "Rate"), v, 1, 100_000));
    let dp = path(p, "Duration");
    let duration = m
        .get("Duration")
        .and_then(|v| r.seconds(&dp, v, MIN_SCALING_LOAD_SECONDS, MAX_SCALING_CHECK_SECONDS));
    let duration = literal(r, &dp, duration);
    let ep = path(p, "ExpectDesired");
    let expect = match m.get("ExpectDesired").and_then(|v| r.int(&ep, v, 1, 5000)) {
        // A parameter's known value (given at deploy, else its Default) is checked when the
        // App is read again with the parameters' values in place of their `Ref`s.
        Some(Val::Expr(e)) if ctx.parameter_value(&e).is_none() => {
            r.err(
                &ep,
                "must be a literal, or a Ref to a parameter with a known value (given, or its Default): the expansion checks it against the App's Scaling",
            );
            None
        }
        other => other,
    };
    let wp = path(p, "Within");
    let within = match m.get("Within") {
        Some(v) => {
            let w = r.seconds(&wp, v, MIN_SCALING_LOAD_SECONDS, MAX_SCALING_CHECK_SECONDS);
            literal(r, &wp, w)
        }
        None => duration.map(|d| (d + DEFAULT_WITHIN_EXTRA).min(MAX_SCALING_CHECK_SECONDS)),
    };
    let rp = path(p, "ReturnWithin");
    let return_within = match m.get("ReturnWithin") {
        Some(v) => {
            let w = r.seconds(
                &rp,
                v,
                1,
                MAX_SCALING_CHECK_SECONDS - MIN_SCALING_LOAD_SECONDS,
            );
            Some(literal(r, &rp, w)?)
        }
        None => None,
    };
    let on_change = match m
        .get("Run")
        .and_then(|v| r.word(&path(p, "Run"), v, &["OnCreate", "OnChange"]))
    {
        Some(Val::Lit(s)) => s == "OnChange",
        Some(Val::Expr(_)) => {
            r.err(&path(p, "Run"), "must be a literal OnCreate or OnChange");
            return None;
        }
        None => false,
    };
    let run_token = m
        .get("RunToken")
        .and_then(|v| r.nonempty(&path(p, "RunToken"), v));
    if run_token.is_some() && !on_change {
        r.err(
            &path(p, "RunToken"),
            "needs Run: OnChange (with Run: OnCreate the check runs once, when the App is created)",
        );
    }
    if scaling.is_none() {
        r.err(
            p,
            "needs Scaling: the check waits for target tracking to raise the desired count",
        );
    }
    if !has_load_balancer {
        r.err(
            p,
            "needs a LoadBalancer: the check sends its load to the App's URL",
        );
    }
    if missing {
        return None;
    }
    let (duration, expect, within) = (duration?, expect?, within?);
    if within < duration {
        r.err(
            &wp,
            format!("{within} s is shorter than Duration {duration} s: the desired count is watched from the load's start"),
        );
    }
    let total = within + return_within.unwrap_or(0);
    if total > MAX_SCALING_CHECK_SECONDS {
        r.err(
            p,
            format!(
                "Within {within} s{} is {total} s, more than the {MAX_SCALING_CHECK_SECONDS} s one provider invocation holds (a Lambda runs at most 15 minutes): shorten Within or ReturnWithin, or run `fargate-app scaling-check` from a shell or CI for a longer check (a return to the minimum takes 15 low datapoints and a 300 s cooldown on AWS)",
                return_within.map_or(String::new(), |r| format!(" + ReturnWithin {r} s"))
            ),
        );
    }
    if let (Some(s), Val::Lit(expect)) = (scaling, &expect) {
        let expect = *expect;
        if let Val::Lit(min) = s.min {
            if expect <= min {
                r.err(
                    &ep,
                    format!("{expect} is not above Scaling.Min {min}: the service starts there, so reaching it shows no scaling"),
                );
            }
        }
        if let Val::Lit(max) = s.max {
            if expect > max {
                r.err(
                    &ep,
                    format!("{expect} is above Scaling.Max {max}: target tracking never sets the desired count above the scalable target's MaxCapacity"),
                );
            }
        }
    }
    Some(ScalingCheck {
        path: path_v?,
        rate: rate?,
        duration,
        expect_desired: expect,
        within,
        return_within,
        on_change,
        run_token,
    })
}
