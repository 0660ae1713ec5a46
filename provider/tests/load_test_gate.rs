//! The load-test gate: mocked CloudFormation (stack status), ECS (steady state) and Lambda
//! (fan-out), a real local target on 127.0.0.1 and a real local ResponseURL server.

mod common;

use aws_sdk_cloudformation as cfn;
use aws_sdk_ecs as ecs;
use aws_sdk_lambda as lambda;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use common::*;
use fargate_loadtest::target::{start, Behaviour};
use fargate_provider::load_test_gate::{run_local, RunSpec, WorkerReply};
use fargate_provider::{handle_event, Clients};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

fn stack(status: cfn::types::StackStatus) -> Rule {
    mock!(cfn::Client::describe_stacks).then_output(move || {
        cfn::operation::describe_stacks::DescribeStacksOutput::builder()
            .stacks(
                cfn::types::Stack::builder()
                    .stack_name("app")
                    .stack_status(status.clone())
                    .creation_time(aws_smithy_types::DateTime::from_secs(0))
                    .build(),
            )
            .build()
    })
}

fn service(
    deployments: usize,
    running: i32,
    desired: i32,
) -> impl Fn() -> ecs::operation::describe_services::DescribeServicesOutput {
    move || {
        let mut s = ecs::types::Service::builder()
            .service_name("users")
            .running_count(running)
            .desired_count(desired);
        for _ in 0..deployments {
            s = s.deployments(
                ecs::types::Deployment::builder()
                    .rollout_state(ecs::types::DeploymentRolloutState::Completed)
                    .build(),
            );
        }
        ecs::operation::describe_services::DescribeServicesOutput::builder()
            .services(s.build())
            .build()
    }
}

fn clients(cfn_rules: &[&Rule], ecs_rules: &[&Rule], lambda_rules: &[&Rule]) -> Arc<Clients> {
    let mut c = test_clients(fake_alb_client(Default::default(), 100));
    c.cfn = mock_client!(cfn, RuleMode::Sequential, cfn_rules);
    c.ecs = mock_client!(ecs, RuleMode::Sequential, ecs_rules);
    c.lambda = mock_client!(lambda, RuleMode::Sequential, lambda_rules);
    Arc::new(c)
}

fn gate(url: &str, response: &str, extra: Value) -> Value {
    let mut props = json!({
        "ServiceToken": "x", "Url": url, "TaskDefinitionArn": "arn:aws:ecs:us-east-1:1:task-definition/users:7",
        "Cluster": "cluster", "ServiceName": "users", "Method": "GET", "ExpectedStatus": "200", "TimeoutMs": "2000",
        "Rate": "50", "Duration": "1", "WarmUp": "2", "Workers": "1", "Thresholds": { "P99Ms": "500", "MaxErrorRate": "0.01" }
    });
    for (k, v) in extra.as_object().unwrap() {
        props[k] = v.clone();
    }
    let mut ev = request(
        "Create",
        "Custom::FargateLoadTestGate",
        response,
        props,
        None,
        None,
    );
    ev["LogicalResourceId"] = json!("UsersLoadTestGate");
    ev
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_deployment_passes_with_its_figures_as_attributes() {
    let target = start(Behaviour::default(), 0).await.unwrap();
    let server = ResponseServer::start(vec![]).await;
    let steady = mock!(ecs::Client::describe_services).then_output(service(1, 2, 2));
    let c = clients(
        &[&stack(cfn::types::StackStatus::UpdateInProgress)],
        &[&steady],
        &[],
    );
    handle_event(
        c,
        gate(&target.url("/stress-test"), &server.url, json!({})),
        Instant::now() + Duration::from_secs(60),
    )
    .await;
    let b = &server.puts()[0].body;
    assert_eq!(b["Status"], "SUCCESS", "{b}");
    assert_eq!(b["PhysicalResourceId"], "UsersLoadTestGate-load-test-gate");
    assert_eq!(b["Data"]["Requests"], "50");
    assert_eq!(b["Data"]["ErrorRate"], "0.0000");
    for k in ["P50Ms", "P90Ms", "P99Ms", "Rps"] {
        assert!(
            b["Data"][k].as_str().unwrap().parse::<f64>().unwrap() > 0.0,
            "{k}: {b}"
        );
    }
    assert_eq!(
        target.requests.load(std::sync::atomic::Ordering::Relaxed),
        51,
        "one warm-up request, then 50"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_deployment_fails_the_stack_with_the_reason() {
    let target = start(
        Behaviour {
            delay: Duration::from_millis(40),
            error_every: Some(10),
            ..Default::default()
        },
        0,
    )
    .await
    .unwrap();
    let server = ResponseServer::start(vec![]).await;
    let steady = mock!(ecs::Client::describe_services).then_output(service(1, 1, 1));
    let c = clients(
        &[&stack(cfn::types::StackStatus::CreateInProgress)],
        &[&steady],
        &[],
    );
    handle_event(
        c,
        gate(
            &target.url("/"),
            &server.url,
            json!({ "Thresholds": { "P99Ms": "10", "MaxErrorRate": "0.01" } }),
        ),
        Instant::now() + Duration::from_secs(60),
    )
    .await;
    let b = &server.puts()[0].body;
    assert_eq!(b["Status"], "FAILED");
    let reason = b["Reason"].as_str().unwrap();
    let p99: f64 = reason
        .trim_start_matches("load test failed: p99 ")
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(p99 >= 40.0, "{reason}");
    assert!(
        reason.ends_with(" ms > 10.0 ms, errors 10.0% > 1.0% at 50 rps; 10.0% errors"),
        "{reason}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_skips_the_gate_without_sending_load() {
    let target = start(Behaviour::default(), 0).await.unwrap();
    let server = ResponseServer::start(vec![]).await;
    let c = clients(
        &[&stack(cfn::types::StackStatus::UpdateRollbackInProgress)],
        &[],
        &[],
    );
    let mut ev = gate(&target.url("/"), &server.url, json!({}));
    ev["RequestType"] = json!("Update");
    ev["PhysicalResourceId"] = json!("UsersLoadTestGate-load-test-gate");
    ev["OldResourceProperties"] = ev["ResourceProperties"].clone();
    handle_event(c, ev, Instant::now() + Duration::from_secs(30)).await;
    let b = &server.puts()[0].body;
    assert_eq!(b["Status"], "SUCCESS");
    assert_eq!(
        b["Data"]["Skipped"],
        "the stack is rolling back (UPDATE_ROLLBACK_IN_PROGRESS)"
    );
    assert_eq!(
        target.requests.load(std::sync::atomic::Ordering::Relaxed),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gate_waits_for_a_steady_service_and_gives_up_in_bounds() {
    let target = start(Behaviour::default(), 0).await.unwrap();
    let server = ResponseServer::start(vec![]).await;
    let rolling = mock!(ecs::Client::describe_services)
        .sequence()
        .output(service(2, 1, 2))
        .times(3)
        .output(service(1, 2, 2))
        .build();
    let c = clients(
        &[&stack(cfn::types::StackStatus::UpdateInProgress)],
        &[&rolling],
        &[],
    );
    handle_event(
        c,
        gate(&target.url("/"), &server.url, json!({})),
        Instant::now() + Duration::from_secs(60),
    )
    .await;
    assert_eq!(server.puts()[0].body["Status"], "SUCCESS");
    assert_eq!(rolling.num_calls(), 4);

    let never = mock!(ecs::Client::describe_services)
        .sequence()
        .output(service(2, 1, 2))
        .repeatedly()
        .build();
    let c = clients(
        &[&stack(cfn::types::StackStatus::UpdateInProgress)],
        &[&never],
        &[],
    );
    let start_at = Instant::now();
    handle_event(
        c,
        gate(&target.url("/"), &server.url, json!({ "WarmUp": "0" })),
        start_at + Duration::from_secs(10),
    )
    .await;
    assert!(start_at.elapsed() < Duration::from_secs(10));
    let b = &server.puts()[1].body;
    assert_eq!(b["Status"], "FAILED");
    assert_eq!(
        b["Reason"],
        "service users did not reach a steady state in time (2 deployments, 1 of 2 tasks running)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duration_past_the_deadline_is_capped_and_says_so() {
    let target = start(Behaviour::default(), 0).await.unwrap();
    let server = ResponseServer::start(vec![]).await;
    let steady = mock!(ecs::Client::describe_services).then_output(service(1, 1, 1));
    let c = clients(
        &[&stack(cfn::types::StackStatus::UpdateInProgress)],
        &[&steady],
        &[],
    );
    let t0 = Instant::now();
    handle_event(
        c,
        gate(
            &target.url("/"),
            &server.url,
            json!({ "Duration": "600", "WarmUp": "0", "Rate": "20" }),
        ),
        t0 + Duration::from_secs(9),
    )
    .await;
    assert!(t0.elapsed() < Duration::from_secs(9));
    let b = &server.puts()[0].body;
    assert_eq!(b["Status"], "SUCCESS", "{b}");
    let capped = b["Data"]["Capped"].as_str().unwrap();
    assert!(
        capped.starts_with("duration capped from 600 s to "),
        "{capped}"
    );
    let requests: u64 = b["Data"]["Requests"].as_str().unwrap().parse().unwrap();
    assert!((20..=60).contains(&requests), "{requests}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_fan_out_and_their_histograms_are_merged() {
    let target = start(Behaviour::default(), 0).await.unwrap();
    // What one worker sends back: a real run of its share (25 rps for 1 s).
    let spec = RunSpec {
        url: target.url("/"),
        method: "GET".into(),
        headers: vec![],
        body: None,
        expected_status: 200,
        timeout_ms: 2000,
        rate: Some(25.0),
        concurrency: None,
        duration_ms: 1000,
        warm_up_ms: 0,
    };
    let part = run_local(&spec).await.unwrap();
    let reply = serde_json::to_vec(&WorkerReply {
        report: Some(part.to_wire()),
        error: None,
    })
    .unwrap();
    let invoke = mock!(lambda::Client::invoke)
        .match_requests(|r| {
            let p: Value = serde_json::from_slice(r.payload().unwrap().as_ref()).unwrap();
            r.function_name() == Some("provider")
                && p["FargateAppLoadWorker"]["Rate"] == json!(25.0)
        })
        .sequence()
        .output(move || {
            lambda::operation::invoke::InvokeOutput::builder()
                .status_code(200)
                .payload(aws_smithy_types::Blob::new(reply.clone()))
                .build()
        })
        .repeatedly()
        .build();
    let server = ResponseServer::start(vec![]).await;
    let steady = mock!(ecs::Client::describe_services).then_output(service(1, 1, 1));
    let c = clients(
        &[&stack(cfn::types::StackStatus::UpdateInProgress)],
        &[&steady],
        &[&invoke],
    );
    handle_event(
        c,
        gate(
            &target.url("/"),
            &server.url,
            json!({ "Workers": "2", "WarmUp": "0" }),
        ),
        Instant::now() + Duration::from_secs(60),
    )
    .await;
    let b = &server.puts()[0].body;
    assert_eq!(b["Status"], "SUCCESS", "{b}");
    assert_eq!(invoke.num_calls(), 2);
    assert_eq!(b["Data"]["Requests"], "50", "two workers of 25");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_event_runs_its_share_and_returns_the_histogram() {
    let target = start(Behaviour::default(), 0).await.unwrap();
    let c = clients(&[], &[], &[]);
    let ev = json!({ "FargateAppLoadWorker": { "Url": target.url("/"), "Method": "GET", "Headers": [], "Body": null, "ExpectedStatus": 200,
        "TimeoutMs": 1000, "Rate": 20.0, "Concurrency": null, "DurationMs": 500, "WarmUpMs": 0 } });
    let out = handle_event(c, ev, Instant::now() + Duration::from_secs(10)).await;
    let reply: WorkerReply = serde_json::from_value(out).unwrap();
    let report = reply.report.unwrap().into_report().unwrap();
    assert_eq!(report.sent, 10);
    assert_eq!(report.latency.len(), 10);
}

#[tokio::test]
async fn delete_is_a_no_op() {
    let server = ResponseServer::start(vec![]).await;
    let c = clients(&[], &[], &[]);
    let mut ev = gate("http://127.0.0.1:1/", &server.url, json!({}));
    ev["RequestType"] = json!("Delete");
    ev["PhysicalResourceId"] = json!("UsersLoadTestGate-load-test-gate");
    handle_event(c, ev, Instant::now() + Duration::from_secs(10)).await;
    assert_eq!(server.puts()[0].body["Status"], "SUCCESS");
}
