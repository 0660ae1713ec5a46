//! `ServiceTimeout` of every custom resource the macro emits: how long CloudFormation waits for
//! the provider's answer before it fails the operation (1-3600 s, default 3600:
//! https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudformation-customresource.html).
//! Without it a provider that dies unanswered holds the stack for an hour, and again on rollback.
//! The provider also reads it as its own deadline (`provider/src/respond.rs`,
//! `invocation_deadline`), so it must cover the handler's whole planned work.

use super::alb::{LISTENER_PORT_TYPE, LISTENER_RULE_TYPE};
use super::gates::{LOAD_TEST_GATE_TYPE, WEIGHTED_FAILOVER_TYPE};
use super::scaling_check::SCALING_CHECK_TYPE;
use crate::spec::MAX_LOAD_TEST_SECONDS;
use crate::spec::MAX_SCALING_CHECK_SECONDS;
use serde_json::{json, Value};

/// CloudFormation's bounds for `ServiceTimeout`.
pub const SERVICE_TIMEOUT_RANGE: std::ops::RangeInclusive<u64> = 1..=3600;
/// One Lambda invocation runs at most 15 minutes: no handler plans more work than that.
pub const LAMBDA_MAX_SECONDS: u64 = 900;
/// Between CloudFormation sending the request and the handler starting (asynchronous invoke
/// queue, cold start), plus the response PUT and its retries.
pub const DELIVERY_SLACK: u64 = 60;
/// A port or priority claim: a few ELBv2 calls per attempt, each with the SDK's retries under
/// throttling (a call can take most of a minute then), and lost races moving to the next slot.
pub const CLAIM_WORK: u64 = 240;
/// Failover's ECS and ELBv2 calls around its wait for healthy targets.
pub const FAILOVER_CALLS: u64 = 60;
/// The gate's wait for the new revision to be the primary, completed deployment. CloudFormation
/// creates the gate after the service is stable (`DependsOn`), so this is usually seconds.
pub const GATE_STEADY_WAIT: u64 = 300;
/// The gate's time after the run (merging, judging: `AFTER_RUN` in the provider's gate) and the
/// answer margin the provider keeps before its deadline (at most 10 s).
pub const GATE_AFTER_RUN: u64 = 5 + 10;
/// The scaling check's calls around its `Within` (900 s less `MAX_SCALING_CHECK_SECONDS`).
pub const SCALING_CHECK_CALLS: u64 = 60;
/// `HealthyTimeout`'s upper bound, assumed when it is an intrinsic.
const MAX_HEALTHY_TIMEOUT: u64 = 3600;
/// `LoadTest.WarmUp`'s upper bound, assumed when it is an intrinsic.
const MAX_WARM_UP: u64 = 600;

/// The formula, in one place: the handler's planned work (capped at one Lambda invocation)
/// plus the delivery slack. `None` for a type the provider does not serve.
pub fn service_timeout(resource_type: &str, props: &Value) -> Option<u64> {
    let secs = |key: &str, max: u64| {
        props
            .get(key)
            .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))
            .map_or(max, |v| v.min(max))
    };
    let work = match resource_type {
        LISTENER_PORT_TYPE | LISTENER_RULE_TYPE => CLAIM_WORK,
        WEIGHTED_FAILOVER_TYPE => secs("HealthyTimeout", MAX_HEALTHY_TIMEOUT) + FAILOVER_CALLS,
        LOAD_TEST_GATE_TYPE => {
            GATE_STEADY_WAIT
                + secs("WarmUp", MAX_WARM_UP)
                + secs("Duration", MAX_LOAD_TEST_SECONDS)
                + GATE_AFTER_RUN
        }
        // The user's function runs at most one Lambda invocation.
        super::post_create::POST_CREATE_TYPE => LAMBDA_MAX_SECONDS,
        // Within and ReturnWithin (the macro refuses more than one invocation holds), plus the
        // provider's stack-status read, first DescribeServices and answer margin.
        SCALING_CHECK_TYPE => {
            secs("Within", MAX_SCALING_CHECK_SECONDS)
                + props
                    .get("ReturnWithin")
                    .and_then(Value::as_u64)
                    .unwrap_or(0)
                + SCALING_CHECK_CALLS
        }
        _ => return None,
    };
    let t = work.min(LAMBDA_MAX_SECONDS) + DELIVERY_SLACK;
    Some(t.clamp(*SERVICE_TIMEOUT_RANGE.start(), *SERVICE_TIMEOUT_RANGE.end()))
}

/// Sets `ServiceTimeout` on every custom resource among `items`.
pub fn apply(items: &mut [(String, Value)]) {
    for (_, r) in items.iter_mut() {
        let Some(ty) = r["Type"].as_str() else {
            continue;
        };
        if let Some(t) = service_timeout(ty, &r["Properties"]) {
            r["Properties"]["ServiceTimeout"] = json!(t);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_formula_per_handler() {
        let p = |v: Value| v;
        assert_eq!(
            service_timeout(LISTENER_PORT_TYPE, &p(json!({}))),
            Some(300)
        );
        assert_eq!(
            service_timeout(LISTENER_RULE_TYPE, &p(json!({}))),
            Some(300)
        );
        // HealthyTimeout 600 + 60 s of calls + 60 s slack.
        let f = json!({ "HealthyTimeout": 600 });
        assert_eq!(service_timeout(WEIGHTED_FAILOVER_TYPE, &f), Some(720));
        // Past one Lambda call: capped at 900 + slack; an intrinsic counts as its maximum.
        let f = json!({ "HealthyTimeout": 3600 });
        assert_eq!(service_timeout(WEIGHTED_FAILOVER_TYPE, &f), Some(960));
        let f = json!({ "HealthyTimeout": { "Ref": "T" } });
        assert_eq!(service_timeout(WEIGHTED_FAILOVER_TYPE, &f), Some(960));
        // Gate: 300 steady + 60 warm-up + 30 run + 15 + 60 slack.
        let g = json!({ "WarmUp": 60, "Duration": 30 });
        assert_eq!(service_timeout(LOAD_TEST_GATE_TYPE, &g), Some(465));
        let g = json!({ "WarmUp": 600, "Duration": { "Ref": "D" } });
        assert_eq!(service_timeout(LOAD_TEST_GATE_TYPE, &g), Some(960));
        assert_eq!(service_timeout("AWS::ECS::Service", &json!({})), None);
    }
}
