//! The allocators against moto server (real ELBv2 API behaviour for the happy paths), with a
//! real local ResponseURL server. One test owns the server so it is always stopped.

mod common;

use common::moto::Moto;
use common::*;
use fargate_provider::{handle_event, Clients};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

async fn call(c: &Arc<Clients>, ev: Value) {
    let out = handle_event(
        c.clone(),
        ev,
        tokio::time::Instant::now() + Duration::from_secs(30),
    )
    .await;
    assert_eq!(out["delivered"], true);
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
    let server = ResponseServer::start(vec![]).await;
    let c = Arc::new(test_clients(elb.clone()));
    let props = |tg: &str| json!({ "LoadBalancerArn": lb_arn, "TargetGroupArn": tg, "PortRange": "8000-8010", "Protocol": "HTTP" });

    // Two claims: the lowest free ports, each a real listener forwarding to its target group.
    let t = Instant::now();
    call(
        &c,
        request(
            "Create",
            "Custom::FargateListenerPort",
            &server.url,
            props(&tg_a),
            None,
            None,
        ),
    )
    .await;
    let create_time = t.elapsed();
    call(
        &c,
        request(
            "Create",
            "Custom::FargateListenerPort",
            &server.url,
            props(&tg_b),
            None,
            None,
        ),
    )
    .await;
    let puts = server.puts();
    assert_eq!(puts[0].body["Status"], "SUCCESS", "{:?}", puts[0].body);
    assert_eq!(puts[0].body["Data"]["Port"], "8000");
    assert_eq!(puts[0].body["Data"]["DnsName"], json!(dns));
    assert_eq!(puts[1].body["Data"]["Port"], "8001");
    let first = puts[0].body["PhysicalResourceId"]
        .as_str()
        .unwrap()
        .to_string();
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
    call(
        &c,
        request(
            "Update",
            "Custom::FargateListenerPort",
            &server.url,
            props(&tg_b),
            Some(&first),
            Some(props(&tg_a)),
        ),
    )
    .await;
    let b = &server.puts()[2].body;
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
        call(
            &c,
            request(
                "Delete",
                "Custom::FargateListenerPort",
                &server.url,
                props(&tg_b),
                Some(&first),
                None,
            ),
        )
        .await;
    }
    let puts = server.puts();
    assert_eq!(puts[3].body["Status"], "SUCCESS");
    assert_eq!(puts[4].body["Status"], "SUCCESS");
    let left = elb
        .describe_listeners()
        .load_balancer_arn(&lb_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(left.listeners().len(), 1);
    // The freed port is the next one claimed.
    call(
        &c,
        request(
            "Create",
            "Custom::FargateListenerPort",
            &server.url,
            props(&tg_a),
            None,
            None,
        ),
    )
    .await;
    assert_eq!(server.puts()[5].body["Data"]["Port"], "8000");

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
    let mut ev = request(
        "Create",
        "Custom::FargateListenerRule",
        &server.url,
        rule_props("/a/*"),
        None,
        None,
    );
    // Two resources (the same logical ID would be one resource's repeated Create).
    ev["LogicalResourceId"] = json!("ARule");
    call(&c, ev).await;
    let mut ev = request(
        "Create",
        "Custom::FargateListenerRule",
        &server.url,
        rule_props("/b/*"),
        None,
        None,
    );
    // Two resources (the same logical ID would be one resource's repeated Create).
    ev["LogicalResourceId"] = json!("BRule");
    call(&c, ev).await;
    let puts = server.puts();
    assert_eq!(puts[6].body["Data"]["Priority"], "1", "{:?}", puts[6].body);
    assert_eq!(puts[7].body["Data"]["Priority"], "2");
    let rule = puts[6].body["PhysicalResourceId"]
        .as_str()
        .unwrap()
        .to_string();
    call(
        &c,
        request(
            "Update",
            "Custom::FargateListenerRule",
            &server.url,
            rule_props("/a2/*"),
            Some(&rule),
            Some(rule_props("/a/*")),
        ),
    )
    .await;
    assert_eq!(server.puts()[8].body["PhysicalResourceId"], json!(rule));
    let rules = elb.describe_rules().rule_arns(&rule).send().await.unwrap();
    let values = rules.rules()[0].conditions()[0]
        .path_pattern_config()
        .map(|c| c.values().to_vec())
        .unwrap_or_default();
    assert_eq!(values, vec!["/a2/*".to_string()]);
    call(
        &c,
        request(
            "Delete",
            "Custom::FargateListenerRule",
            &server.url,
            rule_props("/a2/*"),
            Some(&rule),
            None,
        ),
    )
    .await;
    call(
        &c,
        request(
            "Delete",
            "Custom::FargateListenerRule",
            &server.url,
            rule_props("/a2/*"),
            Some(&rule),
            None,
        ),
    )
    .await;
    let puts = server.puts();
    assert_eq!(puts[9].body["Status"], "SUCCESS");
    assert_eq!(puts[10].body["Status"], "SUCCESS");
    println!("listener port Create against moto: {create_time:?}");
}
