//! `Custom::FargateScalingCheck` with the load sent here (no worker function) to a real local
//! target, ECS's DescribeServices mocked: the desired count rises after a number of reads (a
//! scale-out, https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Service.html), never
//! rises, or the call is denied (AccessDeniedException, a client error that retrying does not
//! change: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/CommonErrors.html).

mod common;

use aws_sdk_ecs as ecs;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use common::*;
use fargate_loadtest::target::{start, Behaviour};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

const TYPE: &str = "Custom::FargateScalingCheck";

enum Ecs {
    /// The desired count is 2 from this read on (1 before).
    RisesAt(usize),
    Never,
    Denied,
}

fn clients(e: Ecs) -> (Arc<fargate_provider::Clients>, Arc<AtomicUsize>) {
    let reads = Arc::new(AtomicUsize::new(0));
    let r = reads.clone();
    let rule = match e {
        Ecs::Denied => mock!(ecs::Client::describe_services).then_error(|| {
            ecs::operation::describe_services::DescribeServicesError::generic(
                ecs::error::ErrorMetadata::builder()
                    .code("AccessDeniedException")
                    .message("not authorized to perform: ecs:DescribeServices")
                    .build(),
            )
        }),
        e => mock!(ecs::Client::describe_services).then_output(move || {
            let n = r.fetch_add(1, Ordering::SeqCst);
            let desired = match e {
                Ecs::RisesAt(k) if n >= k => 2,
                _ => 1,
            };
            ecs::operation::describe_services::DescribeServicesOutput::builder()
                .services(
                    ecs::types::Service::builder()
                        .service_name("users")
                        .desired_count(desired)
                        .running_count(1)
                        .pending_count(desired - 1)
                        .build(),
                )
                .build()
        }),
    };
    let mut c = test_clients(fake_alb_client(Default::default(), 100));
    c.ecs = mock_client!(ecs, RuleMode::MatchAny, &[&rule]);
    // The stack updating, and the resource being created (a Create is not stale).
    let stacks = mock!(aws_sdk_cloudformation::Client::describe_stacks).then_output(|| {
        stacks_output(aws_sdk_cloudformation::types::StackStatus::UpdateInProgress)
    });
    let creating = resource_creating();
    c.cfn = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        &[&stacks, &creating]
    );
    (Arc::new(c), reads)
}

fn props(url: &str, token: &str, run: &str) -> Value {
    json!({
        "ServiceToken": "x", "Url": url, "Rate": "20", "Duration": "2", "ExpectDesired": "2",
        "MinCapacity": "1", "Within": "4", "Cluster": "shop", "ServiceName": "users",
        "PollSeconds": "1", "Run": run, "RunToken": token,
    })
}

/// (case, ECS, request kind, old token, run, expected status, text in reason or data, loads)
type Case = (
    &'static str,
    Ecs,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    bool,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_check_runs_when_asked_and_fails_closed() {
    let cases: Vec<Case> = vec![
        (
            "scales on the 3rd read",
            Ecs::RisesAt(2),
            "Create",
            "",
            "OnCreate",
            "SUCCESS",
            "desired reached 2",
            true,
        ),
        (
            "never scales",
            Ecs::Never,
            "Create",
            "",
            "OnCreate",
            "FAILED",
            "scaling check missed: desired count never reached 2",
            true,
        ),
        (
            "denied before any load",
            Ecs::Denied,
            "Create",
            "",
            "OnCreate",
            "FAILED",
            "AccessDeniedException",
            false,
        ),
        (
            "update, token unchanged",
            Ecs::RisesAt(0),
            "Update",
            "1",
            "OnChange",
            "SUCCESS",
            "RunToken unchanged",
            false,
        ),
        (
            "update, Run OnCreate",
            Ecs::RisesAt(0),
            "Update",
            "0",
            "OnCreate",
            "SUCCESS",
            "Run is OnCreate",
            false,
        ),
        (
            "update, token changed",
            Ecs::RisesAt(2),
            "Update",
            "0",
            "OnChange",
            "SUCCESS",
            "desired reached 2",
            true,
        ),
        (
            "delete",
            Ecs::Never,
            "Delete",
            "1",
            "OnChange",
            "SUCCESS",
            "",
            false,
        ),
    ];
    let mut failures = Vec::new();
    for (name, e, kind, old_token, run, want, text, loads) in cases {
        let target = start(Behaviour::default(), 0).await.unwrap();
        let (c, _) = clients(e);
        let url = target.url("/stress-test");
        let b = answer(c, 30, |r| {
            let mut ev = request(
                kind,
                TYPE,
                r,
                props(&url, "1", run),
                (kind != "Create").then_some("UsersScalingCheck-scaling-check"),
                (kind == "Update").then(|| props(&url, old_token, run)),
            );
            ev["LogicalResourceId"] = json!("UsersScalingCheck");
            ev
        })
        .await;
        let sent = target.requests.load(Ordering::Relaxed);
        let said = format!("{} {}", b["Reason"], b["Data"]);
        if b["Status"] != want || !said.contains(text) || (sent > 0) != loads {
            failures.push(format!("{name}: {b} ({sent} requests sent)"));
        }
        if want == "FAILED"
            && loads
            && !said.contains("timeline (desired/running/pending): 0.0s 1/1/0")
        {
            failures.push(format!("{name}: no timeline in {said}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
