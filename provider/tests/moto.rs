//! The allocators against moto server (real ELBv2 API behaviour for the happy paths), with a
//! real local ResponseURL server per request (`common::send`). One test owns the moto server so
//! it is always stopped.

mod common;

use common::moto::Moto;
use common::*;
use fargate_provider::Clients;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Instant;

const PORT: &str = "Custom::FargateListenerPort";
const RULE: &str = "Custom::FargateListenerRule";

/// A rule's Create for the resource `logical` (two logical IDs are two resources; the same one
/// would be one resource's repeated Create); the answer's body.
async fn create_rule(c: &Arc<Clients>, props: &Value, logical: &str) -> Value {
    answer(c.clone(), 20, |url| {
        let mut ev = request("Create", RULE, url, props.clone(), None, None);
        ev["LogicalResourceId"] = json!(logical);
        ev
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listener_ports_and_rule_priorities_against_moto() {
    let moto = Moto::start();
    let elb = moto.elb();
    let (lb_arn, dns, vpc) = moto.load_balancer("shared").await;
    let (tg_a, tg_b) = (
        moto.target_group("a", &vpc).await,
        moto.target_group("b", &vpc).await,
    );
    let c = Arc::new(test_clients(elb.clone()));
    let props = |tg: &str| json!({ "LoadBalancerArn": lb_arn, "TargetGroupArn": tg, "PortRange": "8000-8010", "Protocol": "HTTP" });

    // Two claims: the lowest free ports, each a real listener forwarding to its target group.
    let t = Instant::now();
    let a = send(&c, "Create", PORT, &props(&tg_a), None, None).await;
    let create_time = t.elapsed();
    let b = send(&c, "Create", PORT, &props(&tg_b), None, None).await;
    assert_eq!(a["Status"], "SUCCESS", "{a:?}");
    assert_eq!(a["Data"]["Port"], "8000");
    assert_eq!(a["Data"]["DnsName"], json!(dns));
    assert_eq!(b["Data"]["Port"], "8001");
    let first = a["PhysicalResourceId"].as_str().unwrap().to_string();
    let listeners = elb
        .describe_listeners()
        .load_balancer_arn(&lb_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(listeners.listeners().len(), 2);
    let l = listeners
        .listeners()
        .iter()
        .find(|l| l.listener_arn() == Some(&first))
        .unwrap();
    assert_eq!(l.port(), Some(8000));
    assert_eq!(
        l.default_actions()[0].target_group_arn(),
        Some(tg_a.as_str())
    );

    // Update to another target group: same listener, same physical ID, new forward target.
    let b = send(
        &c,
        "Update",
        PORT,
        &props(&tg_b),
        Some(&first),
        Some(props(&tg_a)),
    )
    .await;
    assert_eq!(b["Status"], "SUCCESS", "{b}");
    assert_eq!(b["PhysicalResourceId"], json!(first));
    assert_eq!(b["Data"]["Port"], "8000");
    let l = elb
        .describe_listeners()
        .listener_arns(&first)
        .send()
        .await
        .unwrap();
    assert_eq!(
        l.listeners()[0].default_actions()[0].target_group_arn(),
        Some(tg_b.as_str())
    );

    // Delete, then delete again: both succeed and the listener is gone.
    for _ in 0..2 {
        let d = send(&c, "Delete", PORT, &props(&tg_b), Some(&first), None).await;
        assert_eq!(d["Status"], "SUCCESS");
    }
    let left = elb
        .describe_listeners()
        .load_balancer_arn(&lb_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(left.listeners().len(), 1);
    // The freed port is the next one claimed.
    let again = send(&c, "Create", PORT, &props(&tg_a), None, None).await;
    assert_eq!(again["Data"]["Port"], "8000");

    // Rules with automatic priorities on a shared listener.
    let shared = elb
        .create_listener()
        .load_balancer_arn(&lb_arn)
        .port(80)
        .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
        .default_actions(
            aws_sdk_elasticloadbalancingv2::types::Action::builder()
                .r#type(aws_sdk_elasticloadbalancingv2::types::ActionTypeEnum::Forward)
                .target_group_arn(&tg_a)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let listener = shared.listeners()[0].listener_arn().unwrap().to_string();
    let rule_props = |path: &str| {
        json!({ "ListenerArn": listener, "TargetGroupArn": tg_b, "PriorityRange": "1-50000",
        "Conditions": [{ "Field": "path-pattern", "PathPatternConfig": { "Values": [path] } }] })
    };
    let ra = create_rule(&c, &rule_props("/a/*"), "ARule").await;
    let rb = create_rule(&c, &rule_props("/b/*"), "BRule").await;
    assert_eq!(ra["Data"]["Priority"], "1", "{ra:?}");
    assert_eq!(rb["Data"]["Priority"], "2");
    let rule = ra["PhysicalResourceId"].as_str().unwrap().to_string();
    let u = send(
        &c,
        "Update",
        RULE,
        &rule_props("/a2/*"),
        Some(&rule),
        Some(rule_props("/a/*")),
    )
    .await;
    assert_eq!(u["PhysicalResourceId"], json!(rule));
    let rules = elb.describe_rules().rule_arns(&rule).send().await.unwrap();
    let values = rules.rules()[0].conditions()[0]
        .path_pattern_config()
        .map(|c| c.values().to_vec())
        .unwrap_or_default();
    assert_eq!(values, vec!["/a2/*".to_string()]);
    for _ in 0..2 {
        let d = send(&c, "Delete", RULE, &rule_props("/a2/*"), Some(&rule), None).await;
        assert_eq!(d["Status"], "SUCCESS");
    }
    println!("listener port Create against moto: {create_time:?}");
}
