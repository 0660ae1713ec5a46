//! Regressions of issue 18, section 3: each test failed on the code before its fix (the
//! report names the failing line). Each case states the AWS behaviour it relies on, with the
//! page that defines it; the fakes are `common`'s (ELBv2, ECS, CloudWatch, the ResponseURL),
//! moto's DynamoDB, and aws-smithy-mocks for the errors moto cannot produce.

mod common;

use aws_sdk_cloudformation as cfn;
use aws_sdk_dynamodb as ddb;
use aws_sdk_ecs as ecs;
use aws_sdk_elasticloadbalancingv2 as elb;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_types::error::ErrorMetadata;
use common::moto::Moto;
use common::*;
use fargate_loadtest::target::{start, Behaviour};
use fargate_provider::lifecycle_hook::{
    handle, record_key, HookEvent, HookStatus, HookStore, SETTINGS_KEY, STORE_ERRORS_KEY,
};
use fargate_provider::slot::{LOGICAL_TAG, STACK_TAG};
use fargate_provider::{handle_event, Clients};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// The StackId of `common::request`'s events, and another team's stack.
const OUR_STACK: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/app/1";
const THEIR_STACK: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/other-team/2";
const APP_TG: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/app/1";
const STANDBY_TG: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/standby/2";
const PORT_TYPE: &str = "Custom::FargateListenerPort";
const FAILOVER_TYPE: &str = "Custom::FargateWeightedFailover";

fn forward(tgs: &[(&str, i32)]) -> Vec<elb::types::Action> {
    let mut fc = elb::types::ForwardActionConfig::builder();
    for (tg, w) in tgs {
        fc = fc.target_groups(
            elb::types::TargetGroupTuple::builder()
                .target_group_arn(*tg)
                .weight(*w)
                .build(),
        );
    }
    vec![elb::types::Action::builder()
        .r#type(elb::types::ActionTypeEnum::Forward)
        .forward_config(fc.build())
        .build()]
}

fn tags(stack: &str) -> Vec<(String, String)> {
    vec![
        (STACK_TAG.into(), stack.into()),
        (LOGICAL_TAG.into(), "UsersAutoListener".into()),
    ]
}

fn failover_props() -> Value {
    json!({
        "ServiceToken": "x", "AlarmName": "users-unhealthy", "ListenerArn": LISTENER_ARN,
        "TargetGroupArn": APP_TG, "StandbyTargetGroupArn": STANDBY_TG,
        "Cluster": "apps", "ServiceName": "api", "StandbyCount": "2", "HealthyTimeout": "5"
    })
}

fn alarm(state: aws_sdk_cloudwatch::types::StateValue) -> aws_sdk_cloudwatch::Client {
    fake_alarm("users-unhealthy", Arc::new(Mutex::new(state)))
}

fn access_denied() -> Rule {
    mock!(cfn::Client::describe_stacks).then_error(|| {
        cfn::operation::describe_stacks::DescribeStacksError::generic(
            ErrorMetadata::builder()
                .code("AccessDenied")
                .message("not authorized to perform: cloudformation:DescribeStacks")
                .build(),
        )
    })
}

/// DescribeStacks: UPDATE_IN_PROGRESS, as often as asked.
fn update_in_progress() -> Rule {
    mock!(cfn::Client::describe_stacks)
        .sequence()
        .output(|| common::stacks_output(cfn::types::StackStatus::UpdateInProgress))
        .repeatedly()
        .build()
}

/// The custom-resource gate never passes a test weaker than asked and fails closed:
/// - a Duration that cannot fit before the answer is due is refused, not shortened (the
///   answer is due within the invocation, at most 15 minutes,
///   https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html);
/// - during an Update, a DescribeStacks that is denied says nothing about a rollback (AccessDenied
///   is a permission error, not a throttle:
///   https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/CommonErrors.html), so
///   the gate fails rather than skipping itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gate_never_passes_an_untested_deployment() {
    struct Case {
        name: &'static str,
        kind: &'static str,
        extra: Value,
        cfn: Rule,
        seconds: u64,
    }
    let cases = [
        Case {
            name: "Duration longer than the invocation",
            kind: "Create",
            extra: json!({ "Duration": "600", "WarmUp": "0" }),
            cfn: update_in_progress(),
            seconds: 9,
        },
        Case {
            name: "stack status denied during an Update",
            kind: "Update",
            extra: json!({}),
            cfn: access_denied(),
            seconds: 30,
        },
    ];
    for case in cases {
        let target = start(Behaviour::default(), 0).await.unwrap();
        let server = ResponseServer::start(vec![]).await;
        let mut props = json!({
            "ServiceToken": "x", "Url": target.url("/"), "Rate": "20", "Duration": "1",
            "WarmUp": "0", "Thresholds": { "MaxErrorRate": "0.01" }
        });
        for (k, v) in case.extra.as_object().unwrap() {
            props[k] = v.clone();
        }
        let (physical, old) = match case.kind {
            "Update" => (
                Some("UsersLoadTestGate-load-test-gate"),
                Some(props.clone()),
            ),
            _ => (None, None),
        };
        let ev = request(
            case.kind,
            "Custom::FargateLoadTestGate",
            &server.url,
            props,
            physical,
            old,
        );
        let mut c = test_clients(fake_alb_client(Default::default(), 100));
        c.cfn = mock_client!(cfn, RuleMode::MatchAny, &[&case.cfn]);
        handle_event(
            Arc::new(c),
            ev,
            Instant::now() + Duration::from_secs(case.seconds),
        )
        .await;
        let b = &server.puts()[0].body;
        assert_eq!(b["Status"], "FAILED", "{}: {b}", case.name);
        assert_eq!(
            target.requests.load(Ordering::SeqCst),
            0,
            "{}: load was sent",
            case.name
        );
    }
}

fn port_props() -> Value {
    json!({ "ServiceToken": "x", "LoadBalancerArn": LB_ARN, "TargetGroupArn": APP_TG, "PortRange": "8000-8999" })
}

// Folded into the simulation (`named_seeds` in sim.rs, claims seeds 3, 1 and 22): the rollback
// Delete that removes what a failed Create made, and the just-created listener whose tags lag.
// The malformed request by its own request type: sim.rs, the malformed-events table.

/// ECS DescribeServices for service `api` with the given tags (`include: TAGS`), and
/// UpdateService counted: the fields failover reads
/// (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeServices.html).
fn ecs_tagged(stack: Option<&'static str>, updates: Arc<AtomicUsize>) -> ecs::Client {
    let describe = mock!(ecs::Client::describe_services).then_compute_output(move |_| {
        let mut s = ecs::types::Service::builder()
            .service_name("api")
            .desired_count(2);
        if let Some(stack) = stack {
            s = s.tags(
                ecs::types::Tag::builder()
                    .key("aws:cloudformation:stack-id")
                    .value(stack)
                    .build(),
            );
        }
        ecs::operation::describe_services::DescribeServicesOutput::builder()
            .services(s.build())
            .build()
    });
    let update = mock!(ecs::Client::update_service).then_compute_output(move |_| {
        updates.fetch_add(1, Ordering::SeqCst);
        ecs::operation::update_service::UpdateServiceOutput::builder().build()
    });
    mock_client!(ecs, RuleMode::MatchAny, &[&describe, &update])
}

/// Any stack may use the exported ServiceToken, so a request naming a listener, rule or
/// service tagged as another stack's is refused before anything changes: the provider's tag
/// (`fargate-app:stack-id`) and CloudFormation's stack-level tag (`aws:cloudformation:stack-id`,
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-resource-tags.html)
/// name the owner. What the requesting stack owns keeps working (the last case).
#[tokio::test]
async fn another_stacks_listener_rule_or_service_is_refused() {
    struct Case {
        name: &'static str,
        event: fn(&str) -> Value,
        listener_tags: Vec<(String, String)>,
        service_stack: Option<&'static str>,
        status: &'static str,
    }
    let failover = |url: &str| request("Create", FAILOVER_TYPE, url, failover_props(), None, None);
    let port_update = |url: &str| {
        request(
            "Update",
            PORT_TYPE,
            url,
            port_props(),
            Some(LISTENER_ARN),
            Some(port_props()),
        )
    };
    let cases = [
        Case {
            name: "failover on another stack's listener",
            event: failover,
            listener_tags: tags(THEIR_STACK),
            service_stack: None,
            status: "FAILED",
        },
        Case {
            name: "failover scaling another stack's service",
            event: failover,
            listener_tags: Vec::new(),
            service_stack: Some(THEIR_STACK),
            status: "FAILED",
        },
        Case {
            name: "listener port updating another stack's listener",
            event: port_update,
            listener_tags: tags(THEIR_STACK),
            service_stack: None,
            status: "FAILED",
        },
        Case {
            name: "failover on this stack's listener and service",
            event: failover,
            listener_tags: tags(OUR_STACK),
            service_stack: Some(OUR_STACK),
            status: "SUCCESS",
        },
    ];
    for case in cases {
        let alb = Arc::new(Mutex::new(FakeAlb {
            listeners: vec![(8000, LISTENER_ARN.into())],
            actions: HashMap::from([(
                LISTENER_ARN.to_string(),
                forward(&[(APP_TG, 100), (STANDBY_TG, 0)]),
            )]),
            tags: HashMap::from([(LISTENER_ARN.to_string(), case.listener_tags.clone())]),
            ..Default::default()
        }));
        let updates = Arc::new(AtomicUsize::new(0));
        let mut c = test_clients(fake_alb_client(alb.clone(), 100));
        c.ecs = ecs_tagged(case.service_stack, updates.clone());
        c.cloudwatch = alarm(aws_sdk_cloudwatch::types::StateValue::Ok);
        let server = ResponseServer::start(vec![]).await;
        handle_event(
            Arc::new(c),
            (case.event)(&server.url),
            Instant::now() + Duration::from_secs(10),
        )
        .await;
        let b = &server.puts()[0].body;
        assert_eq!(b["Status"], case.status, "{}: {b}", case.name);
        let modified = alb.lock().unwrap().calls.contains(&"ModifyListener");
        let scaled = updates.load(Ordering::SeqCst) > 0;
        if case.status == "FAILED" {
            assert!(!modified && !scaled, "{}: changed it anyway", case.name);
        } else {
            assert!(modified && scaled, "{}: nothing done", case.name);
        }
    }
}

fn hook_event(settings: Value) -> HookEvent {
    let path = format!(
        "{}/tests/fixtures/hooks/post_test_traffic_shift.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    v["hookDetails"] = json!({ SETTINGS_KEY: settings });
    serde_json::from_value(v).unwrap()
}

/// The hook's ECS reads: the deployment is in progress (not rolling back).
fn hook_clients() -> Clients {
    let deployment = mock!(ecs::Client::describe_service_deployments).then_output(|| {
        ecs::operation::describe_service_deployments::DescribeServiceDeploymentsOutput::builder()
            .service_deployments(
                ecs::types::ServiceDeployment::builder()
                    .status(ecs::types::ServiceDeploymentStatus::InProgress)
                    .build(),
            )
            .build()
    });
    let mut c = test_clients(fake_alb_client(Default::default(), 100));
    c.ecs = mock_client!(ecs, RuleMode::MatchAny, &[&deployment]);
    c
}

fn ddb_conf(endpoint: &str) -> ddb::config::Builder {
    use ddb::config::{BehaviorVersion, Credentials, Region};
    ddb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .endpoint_url(endpoint)
}

/// A state table whose GetItem answers this error.
fn failing_store(error: fn() -> ddb::operation::get_item::GetItemError) -> HookStore {
    let rule = mock!(ddb::Client::get_item).then_error(error);
    HookStore {
        ddb: mock_client!(ddb, RuleMode::MatchAny, &[&rule]),
        table: "hooks".into(),
    }
}

/// A state table that accepts connections and never answers.
async fn hung_store() -> HookStore {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock);
        }
    });
    HookStore {
        ddb: ddb::Client::from_conf(ddb_conf(&url).build()),
        table: "hooks".into(),
    }
}

/// Every invocation answers before its deadline (ECS counts one that errors or times out as
/// FAILED and rolls back:
/// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/lambda-lifecycle-hooks.html),
/// and how depends on the store's error
/// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html):
/// a missing table or a denial will not change, FAILED now with the reason; throttling or a hung
/// store may pass, IN_PROGRESS with the run's settings in `hookDetails`, which ECS hands to the
/// next invocation.
#[tokio::test]
async fn a_failing_or_hung_store_answers_in_time_by_its_error() {
    use ddb::operation::get_item::GetItemError;
    use ddb::types::error::{ProvisionedThroughputExceededException, ResourceNotFoundException};
    let throttled = || {
        failing_store(|| {
            GetItemError::ProvisionedThroughputExceededException(
                ProvisionedThroughputExceededException::builder()
                    .message(
                        "The level of configured provisioned throughput for the table was exceeded",
                    )
                    .build(),
            )
        })
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // (case, store, store errors since (Unix seconds) in the hookDetails ECS passes back, answer)
    let cases: Vec<(&str, HookStore, Option<u64>, HookStatus)> = vec![
        (
            "missing table",
            failing_store(|| {
                GetItemError::ResourceNotFoundException(
                    ResourceNotFoundException::builder()
                        .message("Requested resource not found")
                        .build(),
                )
            }),
            None,
            HookStatus::Failed,
        ),
        (
            "access denied",
            failing_store(|| {
                GetItemError::generic(
                    ErrorMetadata::builder()
                        .code("AccessDeniedException")
                        .message("not authorized to perform: dynamodb:GetItem")
                        .build(),
                )
            }),
            None,
            HookStatus::Failed,
        ),
        ("throttled", throttled(), None, HookStatus::InProgress),
        (
            "throttled for 5 minutes",
            throttled(),
            Some(now - 300),
            HookStatus::InProgress,
        ),
        // Errors across 16 minutes of invocations are an outage: FAILED, not IN_PROGRESS until
        // the hook's timeout.
        (
            "throttled for 16 minutes",
            throttled(),
            Some(now - 960),
            HookStatus::Failed,
        ),
        ("hung", hung_store().await, None, HookStatus::InProgress),
    ];
    let settings = json!({ "Url": "http://127.0.0.1:9/", "Rate": 10, "Duration": 30, "WarmUp": 0, "CallBackDelay": 7 });
    let c = hook_clients();
    for (name, store, since, want) in cases {
        let mut ev = hook_event(settings.clone());
        if let (Some(s), Some(Value::Object(d))) = (since, ev.hook_details.as_mut()) {
            d.insert(STORE_ERRORS_KEY.into(), s.into());
        }
        let deadline = Instant::now() + Duration::from_secs(6);
        let answered =
            tokio::time::timeout_at(deadline, handle(&c, Some(&store), &ev, deadline)).await;
        let a = answered.unwrap_or_else(|_| panic!("{name}: no answer before the deadline"));
        assert_eq!(a.status, want, "{name}: {a:?}");
        if want == HookStatus::InProgress {
            let details = a.hook_details.as_ref().expect("hookDetails");
            assert_eq!(details[SETTINGS_KEY], settings, "{name}: {a:?}");
            assert_eq!(a.call_back_delay, Some(7), "{name}: {a:?}");
            if name != "hung" {
                let first = since.unwrap_or(now);
                let kept = details[STORE_ERRORS_KEY].as_u64().unwrap_or(0);
                assert!(
                    (first..first + 60).contains(&kept),
                    "{name}: errors since {kept}, not {first}: {a:?}"
                );
            }
        }
    }
}

/// What happens to one kind of DynamoDB write.
#[derive(Debug, Clone, Copy)]
enum Fault {
    /// The slice's commit fails (before it reaches the table).
    FailCommit,
    /// Another invocation takes the lease just before the final write: its condition
    /// (`LeaseOwner = :o`) fails as DynamoDB evaluates it (ConditionalCheckFailedException,
    /// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html).
    LoseLeaseAtFinish,
}

#[derive(Debug)]
struct WriteFaults(Fault);

impl ddb::config::Intercept for WriteFaults {
    fn name(&self) -> &'static str {
        "WriteFaults"
    }
    fn modify_before_signing(
        &self,
        ctx: &mut ddb::config::interceptors::BeforeTransmitInterceptorContextMut<'_>,
        _rc: &ddb::config::RuntimeComponents,
        _cfg: &mut ddb::config::ConfigBag,
    ) -> Result<(), ddb::error::BoxError> {
        let req = ctx.request_mut();
        let body = String::from_utf8_lossy(req.body().bytes().unwrap_or_default()).to_string();
        match self.0 {
            Fault::FailCommit if body.contains("SET Slices = :n1") => {
                Err("injected: the commit did not reach the table".into())
            }
            Fault::LoseLeaseAtFinish if body.contains("#s = :st") => {
                // Same length, another owner: the condition fails on the table's side.
                let value = "\":o\":{\"S\":\"";
                let at = body.find(value).expect(":o") + value.len();
                let mut b = body.into_bytes();
                b[at] = if b[at] == b'X' { b'Y' } else { b'X' };
                *req.body_mut() = aws_smithy_types::body::SdkBody::from(b);
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// A state table in moto (key `Pk`, as cfn/provider.yaml declares it) behind a client that
/// injects `fault`.
async fn moto_store(moto: &Moto, fault: Option<Fault>) -> HookStore {
    let plain = ddb::Client::from_conf(ddb_conf(&moto.url).build());
    common::moto::create_hook_table(&plain, "hooks").await;
    HookStore {
        ddb: match fault {
            Some(f) => {
                ddb::Client::from_conf(ddb_conf(&moto.url).interceptor(WriteFaults(f)).build())
            }
            None => plain,
        },
        table: "hooks".into(),
    }
}

/// The lease covers one slice and is given back when the slice's write fails, so the next
/// invocation runs at once; an answer after a lost lease keeps the settings in `hookDetails`
/// (ECS re-invokes with the details the last answer returned: lambda-lifecycle-hooks.html).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_or_lost_write_frees_the_run_and_keeps_its_settings() {
    let moto = Moto::start();
    let target = start(Behaviour::default(), 0).await.unwrap();
    for (fault, duration, why) in [
        (Fault::FailCommit, 4, "state table unavailable"),
        (Fault::LoseLeaseAtFinish, 1, "lease lost"),
    ] {
        let store = moto_store(&moto, Some(fault)).await;
        let settings = json!({
            "Url": target.url("/"), "Rate": 20, "Duration": duration, "WarmUp": 0,
            "SliceSeconds": 1, "CallBackDelay": 3, "Thresholds": { "MaxErrorRate": 0.01 }
        });
        let ev = hook_event(settings.clone());
        let a = handle(
            &hook_clients(),
            Some(&store),
            &ev,
            Instant::now() + Duration::from_secs(60),
        )
        .await;
        assert_eq!(a.status, HookStatus::InProgress, "{fault:?}: {a:?}");
        assert!(a.reason.contains(why), "{fault:?}: {a:?}");
        let details = a.hook_details.as_ref().expect("hookDetails");
        assert_eq!(details[SETTINGS_KEY], settings, "{fault:?}: {a:?}");
        let rec = store.load(&record_key(&ev)).await.unwrap().unwrap();
        if let Fault::FailCommit = fault {
            assert_eq!(rec.lease_owner, None, "{fault:?}: lease kept: {rec:?}");
        }
        drop_table(&moto).await;
    }
}

/// A CloudFormation rollback of the stack (UPDATE_ROLLBACK_IN_PROGRESS) updates the service back
/// to the previous task definition, a new ECS deployment whose hooks run like any other; the
/// gate must not load-test (and possibly fail) the way back. The hook reads the stack named by
/// `StackId` in its settings (stack statuses:
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-describing-stacks.html);
/// any other status runs the gate (here it reaches the store, which is missing).
#[tokio::test]
async fn the_hook_gate_stands_aside_while_the_stack_rolls_back() {
    use cfn::types::StackStatus;
    for (status, want) in [
        (StackStatus::UpdateRollbackInProgress, HookStatus::Succeeded),
        (StackStatus::UpdateInProgress, HookStatus::Failed),
    ] {
        let target = start(Behaviour::default(), 0).await.unwrap();
        let stack = mock!(cfn::Client::describe_stacks)
            .match_requests(|r| r.stack_name() == Some(OUR_STACK))
            .then_output(move || common::stacks_output(status.clone()));
        let mut c = hook_clients();
        c.cfn = mock_client!(cfn, RuleMode::MatchAny, &[&stack]);
        let store = failing_store(|| {
            ddb::operation::get_item::GetItemError::ResourceNotFoundException(
                ddb::types::error::ResourceNotFoundException::builder()
                    .message("Requested resource not found")
                    .build(),
            )
        });
        let ev = hook_event(json!({
            "Url": target.url("/"), "Rate": 20, "Duration": 1, "WarmUp": 0, "StackId": OUR_STACK
        }));
        let a = handle(
            &c,
            Some(&store),
            &ev,
            Instant::now() + Duration::from_secs(30),
        )
        .await;
        assert_eq!(a.status, want, "{a:?}");
        assert_eq!(target.requests.load(Ordering::SeqCst), 0, "{a:?}");
        assert_eq!(stack.num_calls(), 1, "{a:?}");
    }
}

/// Reset between cases: a fresh table.
async fn drop_table(moto: &Moto) {
    ddb::Client::from_conf(ddb_conf(&moto.url).build())
        .delete_table()
        .table_name("hooks")
        .send()
        .await
        .unwrap();
}

/// CloudFormation may deliver a request more than once, and Lambda retries a failed
/// asynchronous invocation (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html):
/// the gate sends the load of one request (one RequestId) once, whether the duplicate comes
/// after the first has answered or while it runs, and both answer the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_gate_request_sends_its_load_once() {
    use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceRequest;
    use fargate_provider::load_test_gate::handle_with_store;
    let moto = Moto::start();
    for concurrent in [false, true] {
        let target = start(Behaviour::default(), 0).await.unwrap();
        let store = moto_store(&moto, None).await;
        let props = json!({
            "ServiceToken": "x", "Url": target.url("/"), "Rate": "20", "Duration": "1",
            "WarmUp": "0", "Thresholds": { "MaxErrorRate": "0.01" }
        });
        let ev = request(
            "Update",
            "Custom::FargateLoadTestGate",
            "http://127.0.0.1:9/unused",
            props.clone(),
            Some("UsersLoadTestGate-load-test-gate"),
            Some(props),
        );
        let req: fargate_provider::Request =
            serde_json::from_value::<CloudFormationCustomResourceRequest>(ev)
                .unwrap()
                .into();
        let status = update_in_progress();
        // The gate's resource is UPDATE_IN_PROGRESS: the Update is current, not a late duplicate.
        let current = resource_status(cfn::types::ResourceStatus::UpdateInProgress);
        let mut c = test_clients(fake_alb_client(Default::default(), 100));
        c.cfn = mock_client!(cfn, RuleMode::MatchAny, &[&status, &current]);
        let c = Arc::new(c);
        let run = || {
            handle_with_store(
                c.clone(),
                &req,
                Instant::now() + Duration::from_secs(30),
                Some(&store),
            )
        };
        let (first, second) = if concurrent {
            tokio::join!(run(), run())
        } else {
            (run().await, run().await)
        };
        let first = first.unwrap();
        assert_eq!(second.unwrap(), first, "concurrent {concurrent}");
        let sent = target.requests.load(Ordering::SeqCst);
        // One run: 20 requests a second for 1 s; two runs would send about 40.
        assert!(
            (10..=30).contains(&sent),
            "concurrent {concurrent}: {sent} requests for one request's load: {first:?}"
        );
        drop_table(&moto).await;
    }
}
