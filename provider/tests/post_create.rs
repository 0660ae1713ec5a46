//! `Custom::FargatePostCreate`: the user's function runs once after the service is created.
//! Lambda's Invoke answers a function's error with `FunctionError` set and the function's
//! `{"errorMessage", "errorType"}` as the payload
//! (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html); CloudFormation may deliver a
//! request more than once and Lambda retries asynchronous invocations
//! (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html).

mod common;

use aws_sdk_lambda as lambda;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use common::moto::Moto;
use common::*;
use fargate_provider::lifecycle_hook::HookStore;
use fargate_provider::{post_create, Request};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

const FUNCTION: &str = "arn:aws:lambda:us-east-1:123456789012:function:migrate";

fn props(run_on_update: bool) -> Value {
    json!({ "ServiceToken": "x", "FunctionArn": FUNCTION, "Cluster": "testing",
        "ServiceName": "my-project-feature-x-service", "Url": "http://alb:9001",
        "Payload": { "Seed": "yes" }, "RunOnUpdate": run_on_update.to_string() })
}

fn req(kind: &str, run_on_update: bool) -> Request {
    let physical = (kind != "Create").then_some("WebPostCreate-post-create");
    let old = (kind == "Update").then(|| props(run_on_update));
    serde_json::from_value::<
        aws_lambda_events::event::cloudformation::CloudFormationCustomResourceRequest,
    >(request(
        kind,
        post_create::RESOURCE_TYPE,
        "http://x",
        props(run_on_update),
        physical,
        old,
    ))
    .unwrap()
    .into()
}

/// An Invoke rule that counts its calls and checks the event: the function answers `answer`,
/// with `FunctionError: Unhandled` when `error`.
fn invoke(calls: Arc<AtomicUsize>, answer: Value, error: bool) -> Rule {
    mock!(lambda::Client::invoke)
        .match_requests(move |i| {
            let event: Value = serde_json::from_slice(i.payload().unwrap().as_ref()).unwrap();
            calls.fetch_add(1, Ordering::SeqCst);
            i.function_name() == Some(FUNCTION)
                && event["Payload"] == json!({ "Seed": "yes" })
                && event["Url"] == "http://alb:9001"
                && event["ServiceName"] == "my-project-feature-x-service"
        })
        .then_output(move || {
            let b = lambda::operation::invoke::InvokeOutput::builder()
                .status_code(200)
                .payload(lambda::primitives::Blob::new(answer.to_string()));
            if error {
                b.function_error("Unhandled")
            } else {
                b
            }
            .build()
        })
}

fn clients(rule: &Rule) -> fargate_provider::Clients {
    let mut c = test_clients(fake_alb_client(Default::default(), 100));
    c.lambda = mock_client!(lambda, RuleMode::MatchAny, &[rule]);
    c
}

/// Create invokes once; Delete, and Update without RunOnUpdate, never; a function error fails
/// the Create with the function's own message.
#[tokio::test]
async fn the_function_runs_on_create_only_and_its_error_is_the_answer() {
    let ok = json!({ "migrated": 3 });
    let err = json!({ "errorMessage": "relation users already exists", "errorType": "Error" });
    // request, RunOnUpdate, function answer, function error, invocations, Err containing
    type Case<'a> = (&'a str, bool, &'a Value, bool, usize, Option<&'a str>);
    let cases: Vec<Case> = vec![
        ("Create", false, &ok, false, 1, None),
        (
            "Create",
            false,
            &err,
            true,
            1,
            Some("failed (Unhandled): relation users already exists"),
        ),
        ("Delete", false, &ok, false, 0, None),
        ("Update", false, &ok, false, 0, None),
    ];
    for (kind, on_update, answer, error, want_calls, want_err) in cases {
        let calls = Arc::new(AtomicUsize::new(0));
        let c = clients(&invoke(calls.clone(), answer.clone(), error));
        let got = post_create::handle_with_store(
            &c,
            &req(kind, on_update),
            Instant::now() + Duration::from_secs(30),
            None,
        )
        .await;
        assert_eq!(calls.load(Ordering::SeqCst), want_calls, "{kind} {answer}");
        match want_err {
            None => assert!(got.is_ok(), "{kind}: {got:?}"),
            Some(w) => {
                let e = got.expect_err(kind).to_string();
                assert!(e.contains(w), "{kind}: {e}");
            }
        }
    }
}

/// One request delivered three times (in turn, and two at once) invokes the function once; each
/// delivery answers the recorded result, the failure's message too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_request_never_invokes_twice() {
    let moto = Moto::start();
    let store: HookStore = common::moto::hook_store(&moto, "post-create").await;
    for (error, answer) in [
        (false, json!({ "migrated": 3 })),
        (
            true,
            json!({ "errorMessage": "disk full", "errorType": "Error" }),
        ),
    ] {
        let calls = Arc::new(AtomicUsize::new(0));
        let c = clients(&invoke(calls.clone(), answer, error));
        let mut r = req("Create", false);
        r.request_id = format!("req-{error}");
        let deadline = || Instant::now() + Duration::from_secs(20);
        let first = post_create::handle_with_store(&c, &r, deadline(), Some(&store)).await;
        let (a, b) = tokio::join!(
            post_create::handle_with_store(&c, &r, deadline(), Some(&store)),
            post_create::handle_with_store(&c, &r, deadline(), Some(&store)),
        );
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "error {error}: invoked once"
        );
        for (i, got) in [first, a, b].into_iter().enumerate() {
            match (error, got) {
                (false, Ok(_)) => {}
                (true, Err(e)) => assert!(e.to_string().contains("disk full"), "delivery {i}: {e}"),
                (_, other) => panic!("error {error}, delivery {i}: {other:?}"),
            }
        }
    }
}
