//! The always-answer guarantee and the shared-ALB allocators, against a real local ResponseURL
//! server and a stateful fake ALB (aws-smithy-mocks).

mod common;

use common::*;
use fargate_provider::respond::{body, run, Outcome};
use fargate_provider::{handle_event, Clients, ProviderError, Request};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

fn port_props() -> Value {
    json!({ "ServiceToken": "x", "LoadBalancerArn": LB_ARN, "TargetGroupArn": "arn:tg/app", "PortRange": "8000-8999", "Protocol": "HTTP" })
}

fn clients(state: &Arc<Mutex<FakeAlb>>, page: usize) -> Arc<Clients> {
    Arc::new(test_clients(fake_alb_client(state.clone(), page)))
}

fn req_of(v: Value) -> Request {
    serde_json::from_value::<
        aws_lambda_events::event::cloudformation::CloudFormationCustomResourceRequest,
    >(v)
    .unwrap()
    .into()
}

const PORT: &str = "Custom::FargateListenerPort";

/// A port Create answered by `respond::run` around `handler`, with `secs` left, through a
/// ResponseURL server answering `statuses` in turn: the delivery and the PUTs received.
async fn run_create(
    statuses: Vec<u16>,
    secs: u64,
    handler: impl std::future::Future<Output = Result<Outcome, ProviderError>> + Send + 'static,
) -> (fargate_provider::respond::Delivery, Vec<Put>) {
    let server = ResponseServer::start(statuses).await;
    let req = req_of(port_event("Create", &server.url));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let d = run(&req, deadline, &fargate_provider::http_client(), handler).await;
    (d, server.puts())
}

/// A port resource's event of `kind` with this file's properties.
fn port_event(kind: &str, url: &str) -> Value {
    request(kind, PORT, url, port_props(), None, None)
}

#[tokio::test]
async fn create_claims_the_lowest_free_port_and_answers_exactly() {
    let server = ResponseServer::start(vec![]).await;
    let state = Arc::new(Mutex::new(FakeAlb::default()));
    for (i, p) in [8000, 8001, 8003].iter().enumerate() {
        state
            .lock()
            .unwrap()
            .listeners
            .push((*p, format!("existing-{i}")));
    }
    let ev = port_event("Create", &server.url);
    let out = handle_event(
        clients(&state, 2),
        ev,
        Instant::now() + Duration::from_secs(20),
    )
    .await;
    assert_eq!(out["delivered"], true);
    let puts = server.puts();
    assert_eq!(puts.len(), 1);
    assert_eq!(
        puts[0].content_type.as_deref(),
        Some(""),
        "CloudFormation needs an empty Content-Type"
    );
    assert_eq!(puts[0].path, "/cfn-response?X-Amz-Signature=secret");
    let arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shared/1/1";
    assert_eq!(
        puts[0].body,
        json!({
            "Status": "SUCCESS",
            "PhysicalResourceId": arn,
            "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/app/1",
            "RequestId": "req-Create",
            "LogicalResourceId": "UsersAutoListener",
            "NoEcho": false,
            "Data": { "Port": "8002", "ListenerArn": arn, "DnsName": "shared-1.elb.test" }
        })
    );
    // Pages of 2 over 3 listeners: two DescribeListeners calls. CreateListener may hand back
    // an identical listener of someone else's, so its tags are read.
    let calls = state.lock().unwrap().calls.clone();
    assert_eq!(
        calls,
        vec![
            "DescribeLoadBalancers",
            "DescribeListeners",
            "DescribeListeners",
            "CreateListener",
            "DescribeTags"
        ]
    );
}

#[tokio::test]
async fn twenty_concurrent_port_claims_get_twenty_distinct_ports() {
    let server = ResponseServer::start(vec![]).await;
    let state = Arc::new(Mutex::new(FakeAlb {
        stale_reads: 20,
        ..Default::default()
    }));
    let c = clients(&state, 400);
    let mut tasks = Vec::new();
    for i in 0..20 {
        let mut ev = port_event("Create", &server.url);
        // Twenty Apps (different logical IDs) with identical listener settings: ELBv2's
        // idempotent CreateListener hands each the same listener, so only the tags tell them
        // apart.
        ev["RequestId"] = json!(format!("req-{i}"));
        ev["LogicalResourceId"] = json!(format!("App{i}AutoListener"));
        tasks.push(tokio::spawn(handle_event(
            c.clone(),
            ev,
            Instant::now() + Duration::from_secs(30),
        )));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap()["delivered"], true);
    }
    let puts = server.puts();
    assert_eq!(puts.len(), 20);
    let mut ports: Vec<u32> = puts
        .iter()
        .map(|p| {
            assert_eq!(p.body["Status"], "SUCCESS", "{:?}", p.body);
            p.body["Data"]["Port"].as_str().unwrap().parse().unwrap()
        })
        .collect();
    ports.sort();
    ports.dedup();
    assert_eq!(ports.len(), 20, "distinct ports: {ports:?}");
    assert_eq!(state.lock().unwrap().listeners.len(), 20);
    let st = state.lock().unwrap();
    let lost = st.calls.iter().filter(|c| **c == "CreateListener").count() - 20;
    assert!(
        lost > 0,
        "every claim read an empty ALB, so some must have lost a race"
    );
    println!("20 concurrent claims: {lost} CreateListener calls lost a race");
}

#[tokio::test]
async fn twenty_concurrent_priority_claims_get_twenty_distinct_priorities() {
    let server = ResponseServer::start(vec![]).await;
    let state = Arc::new(Mutex::new(FakeAlb {
        stale_reads: 20,
        initial_rules: 1,
        ..Default::default()
    }));
    state.lock().unwrap().rules.push((1, "existing".into()));
    let c = clients(&state, 7);
    let props = json!({ "ListenerArn": LISTENER_ARN, "TargetGroupArn": "arn:tg/app", "PriorityRange": "1-100",
        "Conditions": [{ "Field": "path-pattern", "PathPatternConfig": { "Values": ["/api/*"] } }] });
    let mut tasks = Vec::new();
    for i in 0..20 {
        let mut ev = request(
            "Create",
            "Custom::FargateListenerRule",
            &server.url,
            props.clone(),
            None,
            None,
        );
        ev["RequestId"] = json!(format!("req-{i}"));
        ev["LogicalResourceId"] = json!(format!("App{i}AutoListenerRule"));
        tasks.push(tokio::spawn(handle_event(
            c.clone(),
            ev,
            Instant::now() + Duration::from_secs(30),
        )));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let puts = server.puts();
    assert_eq!(puts.len(), 20);
    let mut prios: Vec<u32> = puts
        .iter()
        .map(|p| {
            p.body["Data"]["Priority"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    prios.sort();
    assert_eq!(prios, (2..=21).collect::<Vec<_>>());
    let lost = state
        .lock()
        .unwrap()
        .calls
        .iter()
        .filter(|c| **c == "CreateRule")
        .count()
        - 20;
    assert!(lost > 0, "stale reads must have caused PriorityInUse races");
}

/// A claim that cannot be made fails with a clear reason and the placeholder ID: every port of
/// the range taken; ELBv2's own listener quota (adjustable, so not counted here) reached.
#[tokio::test]
async fn a_full_range_and_the_listener_quota_fail_with_a_clear_reason() {
    let mut full = port_props();
    full["PortRange"] = json!("9000-9001");
    let cases = [
        (
            vec![(9000, "a".to_string()), (9001, "b".to_string())],
            full,
            format!("no free port in 9000-9001 on load balancer {LB_ARN}: every port of the range is taken"),
        ),
        (
            (0..50).map(|i| (100 + i, format!("l{i}"))).collect(),
            port_props(),
            format!("load balancer {LB_ARN} has reached its listener quota (TooManyListeners; 50 per ALB unless the account's quota was raised)"),
        ),
    ];
    for (listeners, props, reason) in cases {
        let state = Arc::new(Mutex::new(FakeAlb {
            listeners,
            ..Default::default()
        }));
        let b = send(&clients(&state, 400), "Create", PORT, &props, None, None).await;
        assert_eq!(b["Status"], "FAILED");
        assert_eq!(b["Reason"], reason);
        assert_eq!(
            b["PhysicalResourceId"],
            "UsersAutoListener-not-created-req-Create"
        );
    }
}

#[tokio::test]
async fn delete_is_idempotent() {
    let server = ResponseServer::start(vec![]).await;
    let state = Arc::new(Mutex::new(FakeAlb::default()));
    let c = clients(&state, 400);
    let deadline = || Instant::now() + Duration::from_secs(10);
    // After a failed Create: the placeholder ID.
    let ev = request(
        "Delete",
        "Custom::FargateListenerPort",
        &server.url,
        port_props(),
        Some("UsersAutoListener-not-created-req-Create"),
        None,
    );
    handle_event(c.clone(), ev, deadline()).await;
    // Create, delete twice (the second finds nothing), and delete one removed by hand.
    let ev = port_event("Create", &server.url);
    handle_event(c.clone(), ev, deadline()).await;
    let arn = server.puts()[1].body["PhysicalResourceId"]
        .as_str()
        .unwrap()
        .to_string();
    for _ in 0..2 {
        let ev = request(
            "Delete",
            "Custom::FargateListenerPort",
            &server.url,
            port_props(),
            Some(&arn),
            None,
        );
        handle_event(c.clone(), ev, deadline()).await;
    }
    assert!(state.lock().unwrap().listeners.is_empty());
    let statuses: Vec<Value> = server
        .puts()
        .iter()
        .map(|p| p.body["Status"].clone())
        .collect();
    assert_eq!(statuses, vec!["SUCCESS"; 4]);
    let deletes = state
        .lock()
        .unwrap()
        .calls
        .iter()
        .filter(|c| **c == "DeleteListener")
        .count();
    assert_eq!(deletes, 2, "the placeholder needs no AWS call");
    // An unknown type's Delete succeeds too.
    let ev = request(
        "Delete",
        "Custom::SomethingElse",
        &server.url,
        json!({}),
        Some("x"),
        None,
    );
    handle_event(c.clone(), ev, deadline()).await;
    assert_eq!(server.puts()[4].body["Status"], "SUCCESS");
}

#[tokio::test]
async fn update_keeps_the_physical_id_unless_the_alb_changes() {
    let c = clients(&Arc::new(Mutex::new(FakeAlb::default())), 400);
    let b = send(&c, "Create", PORT, &port_props(), None, None).await;
    let arn = b["PhysicalResourceId"].as_str().unwrap().to_string();
    let mut moved = port_props();
    moved["LoadBalancerArn"] =
        json!("arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/other/2");
    let b = send(&c, "Update", PORT, &moved, Some(&arn), Some(port_props())).await;
    assert_eq!(b["Status"], "SUCCESS");
    assert_ne!(
        b["PhysicalResourceId"],
        json!(arn),
        "a new ALB is a replacement"
    );
}

/// Whatever the handler does, `respond::run` answers once: a panic is answered FAILED with its
/// message; a hang is answered FAILED before the deadline.
#[tokio::test]
async fn a_panicking_or_hanging_handler_is_answered_failed_in_time() {
    let start = Instant::now();
    let (d, puts) = run_create(vec![], 5, async {
        if true {
            panic!("boom in handler");
        }
        Ok(Outcome::new("never"))
    })
    .await;
    assert!(d.delivered);
    assert_eq!(puts.len(), 1);
    assert_eq!(puts[0].body["Status"], "FAILED");
    assert_eq!(
        puts[0].body["Reason"],
        "internal error: the handler panicked: boom in handler"
    );

    let start_hang = Instant::now();
    let (d, puts) = run_create(vec![], 2, async {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        Ok(Outcome::new("never"))
    })
    .await;
    assert!(d.delivered);
    assert!(
        start_hang.elapsed() < Duration::from_secs(2),
        "answered {:?} after start ({:?} for both)",
        start_hang.elapsed(),
        start.elapsed()
    );
    assert_eq!(puts.len(), 1);
    assert_eq!(puts[0].body["Status"], "FAILED");
    assert!(puts[0].body["Reason"]
        .as_str()
        .unwrap()
        .starts_with("the handler did not finish before the Lambda deadline"));
}

#[tokio::test]
async fn an_sdk_error_is_answered_failed_with_the_service_message() {
    use aws_sdk_elasticloadbalancingv2 as elb;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};
    let server = ResponseServer::start(vec![]).await;
    let denied = mock!(elb::Client::describe_load_balancers).then_error(|| {
        elb::operation::describe_load_balancers::DescribeLoadBalancersError::LoadBalancerNotFoundException(
            elb::types::error::LoadBalancerNotFoundException::builder().message("One or more load balancers not found").build(),
        )
    });
    let c = Arc::new(test_clients(mock_client!(
        elb,
        RuleMode::Sequential,
        &[&denied]
    )));
    let ev = port_event("Create", &server.url);
    handle_event(c, ev, Instant::now() + Duration::from_secs(5)).await;
    let puts = server.puts();
    assert_eq!(puts.len(), 1);
    assert_eq!(puts[0].body["Status"], "FAILED");
    assert_eq!(puts[0].body["Reason"], "DescribeLoadBalancers failed: LoadBalancerNotFoundException: One or more load balancers not found");
}

/// The answer's PUT is retried with the same body after server errors (two 500s: delivered at
/// the third attempt) and given up after four attempts.
#[tokio::test]
async fn the_put_is_retried_within_bounds() {
    let (d, puts) = run_create(vec![500, 500], 10, async {
        Ok(Outcome::new("id-1").with("Port", "8000"))
    })
    .await;
    assert!(d.delivered);
    assert_eq!(d.attempts, 3);
    assert_eq!(d.status, Some(200));
    assert_eq!(puts.len(), 3);
    assert!(
        puts.iter().all(|p| p.body == puts[0].body),
        "the same body each time"
    );
    assert_eq!(puts[2].body["Status"], "SUCCESS");

    let (d, puts) = run_create(vec![503; 10], 10, async { Ok(Outcome::new("id-1")) }).await;
    assert!(!d.delivered);
    assert_eq!(d.attempts, 4);
    assert_eq!(puts.len(), 4);
}

#[test]
fn bodies_stay_under_4096_bytes_and_say_what_was_cut() {
    let req = req_of(port_event("Create", "http://x"));
    let long = "x".repeat(10_000);
    let b = body(&req, &Err(ProviderError::Exhausted(long)));
    assert!(b.len() <= 4096, "{}", b.len());
    let v: Value = serde_json::from_str(&b).unwrap();
    assert!(v["Reason"]
        .as_str()
        .unwrap()
        .ends_with("... (reason truncated)"));
    let mut o = Outcome::new("id");
    for i in 0..100 {
        o = o.with(&format!("Key{i}"), "y".repeat(100));
    }
    let b = body(&req, &Ok(o));
    assert!(b.len() <= 4096);
    let v: Value = serde_json::from_str(&b).unwrap();
    assert_eq!(v["Status"], "SUCCESS");
    assert!(v.get("Data").is_none());
    assert_eq!(
        v["Reason"],
        "attributes dropped: the response would exceed 4096 bytes"
    );
}

#[test]
fn the_response_url_is_logged_without_its_signature() {
    assert_eq!(
        fargate_provider::respond::redact(
            "https://bucket.s3.amazonaws.com/path/x?X-Amz-Signature=abc&X-Amz-Credential=def"
        ),
        "https://bucket.s3.amazonaws.com/path/x"
    );
}

#[tokio::test]
async fn calls_per_allocation_stay_constant_as_listeners_grow() {
    let server = ResponseServer::start(vec![]).await;
    for existing in [1usize, 10, 49] {
        let state = Arc::new(Mutex::new(FakeAlb::default()));
        state
            .lock()
            .unwrap()
            .listeners
            .extend((0..existing).map(|i| (8000 + i as i32, format!("l{i}"))));
        let ev = port_event("Create", &server.url);
        handle_event(
            clients(&state, 400),
            ev,
            Instant::now() + Duration::from_secs(10),
        )
        .await;
        let calls = state.lock().unwrap().calls.clone();
        println!(
            "{existing} existing listeners: {} calls ({calls:?})",
            calls.len()
        );
        assert_eq!(
            calls,
            vec![
                "DescribeLoadBalancers",
                "DescribeListeners",
                "CreateListener",
                "DescribeTags"
            ],
            "{existing} listeners"
        );
        let last = server.puts().last().unwrap().body.clone();
        assert_eq!(last["Data"]["Port"], json!((8000 + existing).to_string()));
    }
}

#[tokio::test]
async fn throttled_reads_are_retried_by_the_sdk() {
    use aws_sdk_elasticloadbalancingv2 as elb;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};
    let server = ResponseServer::start(vec![]).await;
    let throttled = r#"<ErrorResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>1</RequestId></ErrorResponse>"#;
    let describe_lb = mock!(elb::Client::describe_load_balancers).then_output(|| {
        elb::operation::describe_load_balancers::DescribeLoadBalancersOutput::builder()
            .load_balancers(
                elb::types::LoadBalancer::builder()
                    .dns_name("shared-1.elb.test")
                    .build(),
            )
            .build()
    });
    let describe = mock!(elb::Client::describe_listeners)
        .sequence()
        .http_status(400, Some(throttled.to_string()))
        .times(2)
        .output(|| elb::operation::describe_listeners::DescribeListenersOutput::builder().build())
        .build();
    let create = mock!(elb::Client::create_listener).then_output(|| {
        elb::operation::create_listener::CreateListenerOutput::builder()
            .listeners(
                elb::types::Listener::builder()
                    .listener_arn("arn:aws:elasticloadbalancing:us-east-1:1:listener/app/x/1/2")
                    .port(8000)
                    .build(),
            )
            .build()
    });
    let tags = mock!(elb::Client::describe_tags).then_output(|| {
        elb::operation::describe_tags::DescribeTagsOutput::builder()
            .tag_descriptions(
                elb::types::TagDescription::builder()
                    .resource_arn("arn:aws:elasticloadbalancing:us-east-1:1:listener/app/x/1/2")
                    .tags(
                        elb::types::Tag::builder()
                            .key("fargate-app:stack-id")
                            .value("arn:aws:cloudformation:us-east-1:123456789012:stack/app/1")
                            .build(),
                    )
                    .tags(
                        elb::types::Tag::builder()
                            .key("fargate-app:logical-id")
                            .value("UsersAutoListener")
                            .build(),
                    )
                    .build(),
            )
            .build()
    });
    let client = mock_client!(
        elb,
        RuleMode::Sequential,
        &[&describe_lb, &describe, &create, &tags],
        |c| c.retry_config(
            elb::config::retry::RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(10))
        )
    );
    let c = Arc::new(test_clients(client));
    let ev = port_event("Create", &server.url);
    handle_event(c, ev, Instant::now() + Duration::from_secs(10)).await;
    let b = &server.puts()[0].body;
    assert_eq!(b["Status"], "SUCCESS", "{b}");
    assert_eq!(b["Data"]["Port"], "8000");
    assert_eq!(
        describe.num_calls(),
        3,
        "two throttled reads, then the answer"
    );
}
