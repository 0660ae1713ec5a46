//! Issue 18: the provider under a simulated AWS (see `sim/world.rs` for what each fake
//! reproduces and `docs/provider-simulation.md`). Every family runs `SIM_SCHEDULES` seeds
//! (default 200); a violation prints its seed, replayed with `SIM_SEED=<seed>`. Invariants listed
//! in `sim_known.txt` (section 3 defects not fixed on this branch) are reported, not failed.

#[path = "sim/custom_resource.rs"]
mod custom_resource;
#[path = "sim/failover.rs"]
mod failover;
#[path = "sim/harness.rs"]
mod harness;
#[path = "sim/hooks.rs"]
mod hooks;
#[path = "sim/world.rs"]
mod world;

const DEFAULT_SCHEDULES: u64 = 200;

#[test]
fn slot_claims_under_faults() {
    harness::run_family("claims", DEFAULT_SCHEDULES, custom_resource::claim_schedule);
}

#[test]
fn failover_under_faults() {
    harness::run_family("failover", DEFAULT_SCHEDULES, failover::failover_schedule);
}

#[test]
fn lifecycle_hooks_under_faults() {
    harness::run_family("hooks", DEFAULT_SCHEDULES, hooks::hook_schedule);
}

#[path = "common/mod.rs"]
mod common;

/// CloudFormation events the provider cannot parse, each answered through the real ResponseURL
/// PUT (a local server, real time: no schedule needed). A Delete must never be answered FAILED
/// for being malformed: CloudFormation would then refuse to delete the stack
/// (custom resource request/response reference:
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref.html>).
#[tokio::test]
async fn malformed_events_are_answered_as_their_own_request_type() {
    use serde_json::json;
    let server = common::ResponseServer::start(vec![]).await;
    let base = |kind: &str| {
        let mut e = common::request(
            kind,
            "Custom::FargateListenerPort",
            &server.url,
            json!({ "LoadBalancerArn": "lb", "TargetGroupArn": "tg" }),
            Some("arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shared/1/7"),
            Some(json!({})),
        );
        e["RequestId"] = json!(format!("req-{kind}-malformed"));
        e
    };
    let mut cases: Vec<(&str, serde_json::Value)> = Vec::new();
    let mut e = base("Delete");
    e.as_object_mut().unwrap().remove("PhysicalResourceId");
    cases.push(("Delete", e));
    let mut e = base("Delete");
    e["ResourceProperties"] = json!("not an object");
    cases.push(("Delete", e));
    let mut e = base("Delete");
    e["LogicalResourceId"] = json!(7);
    cases.push(("Delete", e));
    let mut e = base("Update");
    e.as_object_mut().unwrap().remove("OldResourceProperties");
    cases.push(("Update", e));
    let mut violations = Vec::new();
    for (i, (kind, event)) in cases.iter().enumerate() {
        let c = std::sync::Arc::new(common::test_clients(common::fake_alb_client(
            Default::default(),
            100,
        )));
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        fargate_provider::handle_event(c, event.clone(), deadline).await;
        let puts = server.puts();
        assert_eq!(puts.len(), i + 1, "case {i}: exactly one answer");
        let body = &puts[i].body;
        if *kind == "Delete" && body["Status"] != "SUCCESS" {
            violations.push(harness::violation(
                "event.malformed_delete_not_failed",
                format!("case {i}: a malformed Delete answered {}", body),
            ));
        }
    }
    let known = harness::known();
    for v in &violations {
        eprintln!("[sim events] {}: {}", v.invariant, v.detail);
    }
    let unknown: Vec<_> = violations
        .iter()
        .filter(|v| !known.contains(v.invariant))
        .collect();
    assert!(unknown.is_empty(), "not in sim_known.txt: {unknown:?}");
}
