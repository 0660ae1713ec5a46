//! Test helpers: a real local HTTP server standing in for the ResponseURL, and a stateful
//! fake ALB behind aws-smithy-mocks (with the DuplicateListener / PriorityInUse semantics moto
//! lacks).
#![allow(dead_code)]

pub mod moto;

use aws_sdk_elasticloadbalancingv2 as elb;
use aws_smithy_mocks::{mock, mock_client, MockResponse, Rule, RuleMode};
use elb::operation::create_listener::{CreateListenerError, CreateListenerOutput};
use elb::operation::create_rule::{CreateRuleError, CreateRuleOutput};
use elb::operation::delete_listener::{DeleteListenerError, DeleteListenerOutput};
use elb::operation::delete_rule::{DeleteRuleError, DeleteRuleOutput};
use elb::operation::describe_listeners::DescribeListenersOutput;
use elb::operation::describe_load_balancers::DescribeLoadBalancersOutput;
use elb::operation::describe_rules::DescribeRulesOutput;
use elb::operation::describe_tags::DescribeTagsOutput;
use elb::operation::describe_target_health::DescribeTargetHealthOutput;
use elb::operation::modify_listener::{ModifyListenerError, ModifyListenerOutput};
use elb::operation::modify_rule::{ModifyRuleError, ModifyRuleOutput};
use elb::types::error::{
    DuplicateListenerException, ListenerNotFoundException, PriorityInUseException,
    RuleNotFoundException, TooManyListenersException, TooManyRulesException,
};
use elb::types::{
    Action, Listener, LoadBalancer, Rule as ElbRule, Tag, TagDescription, TargetHealth,
    TargetHealthDescription, TargetHealthStateEnum,
};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One PUT the ResponseURL server received.
#[derive(Debug, Clone)]
pub struct Put {
    pub path: String,
    pub content_type: Option<String>,
    pub body: Value,
}

/// A local HTTP server that records PUTs and answers with the given statuses in turn (then 200).
pub struct ResponseServer {
    pub url: String,
    pub puts: Arc<Mutex<Vec<Put>>>,
}

impl ResponseServer {
    pub async fn start(statuses: Vec<u16>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let puts = Arc::new(Mutex::new(Vec::new()));
        let statuses = Arc::new(Mutex::new(statuses.into_iter()));
        let p = puts.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                let p = p.clone();
                let statuses = statuses.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 8192];
                    let (head_end, content_length) = loop {
                        let n = sock.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&buf[..pos]).to_string();
                            let len = head
                                .lines()
                                .find_map(|l| {
                                    l.to_ascii_lowercase()
                                        .strip_prefix("content-length:")
                                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                                })
                                .unwrap_or(0);
                            break (pos + 4, len);
                        }
                    };
                    while buf.len() < head_end + content_length {
                        let n = sock.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            break;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                    }
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                    let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
                    let content_type = head.lines().find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-type")
                            .then(|| v.trim().to_string())
                    });
                    let body: Value =
                        serde_json::from_slice(&buf[head_end..]).unwrap_or(Value::Null);
                    let status = statuses.lock().unwrap().next().unwrap_or(200);
                    p.lock().unwrap().push(Put {
                        path,
                        content_type,
                        body,
                    });
                    let resp = format!(
                        "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    );
                    let _ = sock.write_all(resp.as_bytes()).await;
                });
            }
        });
        ResponseServer {
            url: format!("http://{addr}/cfn-response?X-Amz-Signature=secret"),
            puts,
        }
    }

    pub fn puts(&self) -> Vec<Put> {
        self.puts.lock().unwrap().clone()
    }
}

pub fn request(
    kind: &str,
    resource_type: &str,
    url: &str,
    props: Value,
    physical: Option<&str>,
    old: Option<Value>,
) -> Value {
    let mut v = serde_json::json!({
        "RequestType": kind,
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:provider",
        "ResponseURL": url,
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/app/1",
        "RequestId": format!("req-{kind}"),
        "ResourceType": resource_type,
        "LogicalResourceId": "UsersAutoListener",
        "ResourceProperties": props,
    });
    if let Some(p) = physical {
        v["PhysicalResourceId"] = Value::String(p.into());
    }
    if let Some(o) = old {
        v["OldResourceProperties"] = o;
    }
    v
}

/// Handles one CloudFormation event built by `event` (given a fresh ResponseURL) with `secs`
/// left; checks it is answered exactly once and returns the answer's body.
pub async fn answer(
    c: Arc<fargate_provider::Clients>,
    secs: u64,
    event: impl FnOnce(&str) -> Value,
) -> Value {
    let server = ResponseServer::start(vec![]).await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
    fargate_provider::handle_event(c, event(&server.url), deadline).await;
    let puts = server.puts();
    assert_eq!(puts.len(), 1, "one answer");
    puts[0].body.clone()
}

/// A custom-resource request of `kind` for resource type `ty` (`request`'s event), answered
/// through a fresh ResponseURL with 20 s left; the answer's body.
pub async fn send(
    c: &Arc<fargate_provider::Clients>,
    kind: &str,
    ty: &str,
    props: &Value,
    physical: Option<&str>,
    old: Option<Value>,
) -> Value {
    answer(c.clone(), 20, |url| {
        request(kind, ty, url, props.clone(), physical, old)
    })
    .await
}

/// DescribeTargetHealth's answer for `total` targets of which the first `healthy` passed their
/// health checks and the others are `initial` (registered, checks not yet passed:
/// https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html).
pub fn target_health_output(
    healthy: usize,
    total: usize,
) -> elb::operation::describe_target_health::DescribeTargetHealthOutput {
    let mut o = DescribeTargetHealthOutput::builder();
    for i in 0..total {
        let state = if i < healthy {
            TargetHealthStateEnum::Healthy
        } else {
            TargetHealthStateEnum::Initial
        };
        o = o.target_health_descriptions(
            TargetHealthDescription::builder()
                .target_health(TargetHealth::builder().state(state).build())
                .build(),
        );
    }
    o.build()
}

/// The (key, value) pairs of ELBv2 tags.
pub fn tag_pairs(tags: &[Tag]) -> Vec<(String, String)> {
    tags.iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().to_string(),
                t.value().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// DescribeTags' description of one resource with these tags
/// (https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_DescribeTags.html).
pub fn tag_description(arn: &str, tags: &[(String, String)]) -> TagDescription {
    TagDescription::builder()
        .resource_arn(arn)
        .set_tags(Some(
            tags.iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect(),
        ))
        .build()
}

/// Removes the holder `arn` from `holders`; false when it was not there.
fn remove_holder(holders: &mut Vec<(i32, String)>, arn: &str) -> bool {
    let before = holders.len();
    holders.retain(|(_, a)| a != arn);
    holders.len() != before
}

/// A fake ALB: listeners and rules kept in memory; describes page by `page` items.
///
/// ELBv2 behaviour it reproduces (Elastic Load Balancing API Reference, Application Load
/// Balancers Guide "Quotas"):
/// - `CreateListener` is idempotent: the same port with the same settings (protocol,
///   certificates, default actions) succeeds again and returns the existing listener; a
///   different listener on a taken port is `DuplicateListener`. Whether a repeated call with
///   other tags re-tags the listener is not documented: the fake keeps the first tags, the
///   least convenient reading for an allocator that identifies its listener by tags.
/// - `CreateRule` is not documented as idempotent: a taken priority is `PriorityInUse`.
/// - Quotas: 50 listeners per ALB (`TooManyListeners`), 100 rules per ALB counting every
///   listener's rules and not the default rules (`TooManyRules`); both adjustable, so tests
///   may raise them.
/// - `DescribeTags` takes at most 20 resource ARNs.
#[derive(Default)]
pub struct FakeAlb {
    pub listeners: Vec<(i32, String)>,
    pub rules: Vec<(i32, String)>,
    pub next_id: u64,
    pub calls: Vec<&'static str>,
    /// This many describes return what existed before any create (as if every caller read
    /// before anyone wrote): forces the races the allocators must survive.
    pub stale_reads: usize,
    pub initial_listeners: usize,
    pub initial_rules: usize,
    /// Actions by listener or rule ARN (a listener's default actions).
    pub actions: HashMap<String, Vec<Action>>,
    /// Tags by listener or rule ARN.
    pub tags: HashMap<String, Vec<(String, String)>>,
    /// What makes two CreateListener calls "the same settings", by listener ARN.
    pub settings: HashMap<String, String>,
    /// Rules on the ALB's other listeners (they count toward the per-ALB rule quota).
    pub other_rules: usize,
    pub listener_quota: Option<usize>,
    pub rule_quota: Option<usize>,
    /// Targets DescribeTargetHealth reports healthy (of `targets`).
    pub healthy: usize,
    pub targets: usize,
    /// When set, every target turns healthy after this many DescribeTargetHealth calls.
    pub healthy_after_polls: Option<usize>,
    pub health_polls: usize,
}

impl FakeAlb {
    /// The ARN of the next listener or rule made, under `path`.
    pub fn new_arn(&mut self, path: &str) -> String {
        self.next_id += 1;
        format!(
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:{path}/{}",
            self.next_id
        )
    }
}

pub const LB_ARN: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/shared/1";
pub const LISTENER_ARN: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shared/1/9";

fn listener_settings(req: &elb::operation::create_listener::CreateListenerInput) -> String {
    format!(
        "{:?}|{:?}|{:?}|{:?}",
        req.protocol(),
        req.certificates(),
        req.ssl_policy(),
        req.default_actions()
    )
}

pub fn fake_alb_client(state: Arc<Mutex<FakeAlb>>, page: usize) -> elb::Client {
    let s = state.clone();
    let describe_lb = mock!(elb::Client::describe_load_balancers).then_compute_output(move |_| {
        s.lock().unwrap().calls.push("DescribeLoadBalancers");
        DescribeLoadBalancersOutput::builder()
            .load_balancers(
                LoadBalancer::builder()
                    .load_balancer_arn(LB_ARN)
                    .dns_name("shared-1.elb.test")
                    .build(),
            )
            .build()
    });
    let s = state.clone();
    let describe_listeners =
        mock!(elb::Client::describe_listeners).then_compute_output(move |req| {
            let mut st = s.lock().unwrap();
            st.calls.push("DescribeListeners");
            let listener = |st: &FakeAlb, p: i32, a: &String| {
                Listener::builder()
                    .port(p)
                    .listener_arn(a)
                    .load_balancer_arn(LB_ARN)
                    .set_default_actions(st.actions.get(a).cloned())
                    .build()
            };
            if !req.listener_arns().is_empty() {
                let items: Vec<Listener> = st
                    .listeners
                    .iter()
                    .filter(|(_, a)| req.listener_arns().contains(a))
                    .map(|(p, a)| listener(&st, *p, a))
                    .collect();
                return DescribeListenersOutput::builder()
                    .set_listeners(Some(items))
                    .build();
            }
            let start: usize = req.marker().and_then(|m| m.parse().ok()).unwrap_or(0);
            let visible = if st.stale_reads > 0 {
                st.stale_reads -= 1;
                st.initial_listeners
            } else {
                st.listeners.len()
            };
            let items: Vec<Listener> = st
                .listeners
                .iter()
                .take(visible)
                .skip(start)
                .take(page)
                .map(|(p, a)| listener(&st, *p, a))
                .collect();
            let next = (start + page < visible).then(|| (start + page).to_string());
            DescribeListenersOutput::builder()
                .set_listeners(Some(items))
                .set_next_marker(next)
                .build()
        });
    let s = state.clone();
    let create_listener = mock!(elb::Client::create_listener).then_compute_response(move |req| {
        let mut st = s.lock().unwrap();
        st.calls.push("CreateListener");
        let port = req.port().unwrap();
        let settings = listener_settings(req);
        if let Some((_, arn)) = st.listeners.iter().find(|(p, _)| *p == port).cloned() {
            if st.settings.get(&arn) == Some(&settings) {
                // Idempotent: the same settings again return the existing listener.
                return MockResponse::Output(
                    CreateListenerOutput::builder()
                        .listeners(Listener::builder().port(port).listener_arn(arn).build())
                        .build(),
                );
            }
            return MockResponse::Error(CreateListenerError::DuplicateListenerException(
                DuplicateListenerException::builder()
                    .message("A listener already exists on this port")
                    .build(),
            ));
        }
        if st.listeners.len() >= st.listener_quota.unwrap_or(50) {
            return MockResponse::Error(CreateListenerError::TooManyListenersException(
                TooManyListenersException::builder()
                    .message(
                        "You've reached the limit on the number of listeners per load balancer",
                    )
                    .build(),
            ));
        }
        let arn = st.new_arn("listener/app/shared/1");
        st.listeners.push((port, arn.clone()));
        st.settings.insert(arn.clone(), settings);
        st.actions
            .insert(arn.clone(), req.default_actions().to_vec());
        st.tags.insert(arn.clone(), tag_pairs(req.tags()));
        MockResponse::Output(
            CreateListenerOutput::builder()
                .listeners(Listener::builder().port(port).listener_arn(arn).build())
                .build(),
        )
    });
    let s = state.clone();
    let modify_listener = mock!(elb::Client::modify_listener).then_compute_response(move |req| {
        let mut st = s.lock().unwrap();
        st.calls.push("ModifyListener");
        let arn = req.listener_arn().unwrap().to_string();
        let Some((port, _)) = st.listeners.iter().find(|(_, a)| *a == arn).cloned() else {
            return MockResponse::Error(ModifyListenerError::ListenerNotFoundException(
                ListenerNotFoundException::builder()
                    .message("not found")
                    .build(),
            ));
        };
        if !req.default_actions().is_empty() {
            st.actions
                .insert(arn.clone(), req.default_actions().to_vec());
        }
        MockResponse::Output(
            ModifyListenerOutput::builder()
                .listeners(
                    Listener::builder()
                        .port(port)
                        .listener_arn(&arn)
                        .set_default_actions(st.actions.get(&arn).cloned())
                        .build(),
                )
                .build(),
        )
    });
    let s = state.clone();
    let delete_listener = mock!(elb::Client::delete_listener).then_compute_response(move |req| {
        let mut st = s.lock().unwrap();
        st.calls.push("DeleteListener");
        let arn = req.listener_arn().unwrap().to_string();
        if !remove_holder(&mut st.listeners, &arn) {
            return MockResponse::Error(DeleteListenerError::ListenerNotFoundException(
                ListenerNotFoundException::builder()
                    .message("not found")
                    .build(),
            ));
        }
        MockResponse::Output(DeleteListenerOutput::builder().build())
    });
    let s = state.clone();
    let describe_rules = mock!(elb::Client::describe_rules).then_compute_output(move |req| {
        let mut st = s.lock().unwrap();
        st.calls.push("DescribeRules");
        let rule = |st: &FakeAlb, p: i32, a: &String| {
            ElbRule::builder()
                .priority(p.to_string())
                .rule_arn(a)
                .set_actions(st.actions.get(a).cloned())
                .build()
        };
        if !req.rule_arns().is_empty() {
            let items: Vec<ElbRule> = st
                .rules
                .iter()
                .filter(|(_, a)| req.rule_arns().contains(a))
                .map(|(p, a)| rule(&st, *p, a))
                .collect();
            return DescribeRulesOutput::builder()
                .set_rules(Some(items))
                .build();
        }
        let start: usize = req.marker().and_then(|m| m.parse().ok()).unwrap_or(0);
        let visible = if st.stale_reads > 0 {
            st.stale_reads -= 1;
            st.initial_rules
        } else {
            st.rules.len()
        };
        let mut all: Vec<ElbRule> = vec![ElbRule::builder()
            .priority("default")
            .is_default(true)
            .rule_arn("default")
            .build()];
        all.extend(st.rules.iter().take(visible).map(|(p, a)| rule(&st, *p, a)));
        let items: Vec<ElbRule> = all.iter().skip(start).take(page).cloned().collect();
        let next = (start + page < all.len()).then(|| (start + page).to_string());
        DescribeRulesOutput::builder()
            .set_rules(Some(items))
            .set_next_marker(next)
            .build()
    });
    let s = state.clone();
    let create_rule = mock!(elb::Client::create_rule).then_compute_response(move |req| {
        let mut st = s.lock().unwrap();
        st.calls.push("CreateRule");
        let prio = req.priority().unwrap();
        if st.rules.iter().any(|(p, _)| *p == prio) {
            return MockResponse::Error(CreateRuleError::PriorityInUseException(
                PriorityInUseException::builder()
                    .message("Priority '1' is currently in use")
                    .build(),
            ));
        }
        if st.rules.len() + st.other_rules >= st.rule_quota.unwrap_or(100) {
            return MockResponse::Error(CreateRuleError::TooManyRulesException(
                TooManyRulesException::builder()
                    .message("You've reached the limit on the number of rules per load balancer")
                    .build(),
            ));
        }
        let arn = st.new_arn("listener-rule/app/shared/1/9");
        st.rules.push((prio, arn.clone()));
        st.actions.insert(arn.clone(), req.actions().to_vec());
        st.tags.insert(arn.clone(), tag_pairs(req.tags()));
        MockResponse::Output(
            CreateRuleOutput::builder()
                .rules(
                    ElbRule::builder()
                        .priority(prio.to_string())
                        .rule_arn(arn)
                        .build(),
                )
                .build(),
        )
    });
    let s = state.clone();
    let modify_rule = mock!(elb::Client::modify_rule).then_compute_response(move |req| {
        let mut st = s.lock().unwrap();
        st.calls.push("ModifyRule");
        let arn = req.rule_arn().unwrap().to_string();
        let Some((prio, _)) = st.rules.iter().find(|(_, a)| *a == arn).cloned() else {
            return MockResponse::Error(ModifyRuleError::RuleNotFoundException(
                RuleNotFoundException::builder()
                    .message("not found")
                    .build(),
            ));
        };
        if !req.actions().is_empty() {
            st.actions.insert(arn.clone(), req.actions().to_vec());
        }
        MockResponse::Output(
            ModifyRuleOutput::builder()
                .rules(
                    ElbRule::builder()
                        .priority(prio.to_string())
                        .rule_arn(&arn)
                        .set_actions(st.actions.get(&arn).cloned())
                        .build(),
                )
                .build(),
        )
    });
    let s = state.clone();
    let delete_rule = mock!(elb::Client::delete_rule).then_compute_response(move |req| {
        let mut st = s.lock().unwrap();
        st.calls.push("DeleteRule");
        let arn = req.rule_arn().unwrap().to_string();
        if !remove_holder(&mut st.rules, &arn) {
            return MockResponse::Error(DeleteRuleError::RuleNotFoundException(
                RuleNotFoundException::builder()
                    .message("not found")
                    .build(),
            ));
        }
        MockResponse::Output(DeleteRuleOutput::builder().build())
    });
    let s = state.clone();
    let describe_tags = mock!(elb::Client::describe_tags).then_compute_output(move |req| {
        let mut st = s.lock().unwrap();
        st.calls.push("DescribeTags");
        assert!(
            req.resource_arns().len() <= 20,
            "DescribeTags takes at most 20 ARNs"
        );
        let descriptions = req
            .resource_arns()
            .iter()
            .filter_map(|a| Some(tag_description(a, st.tags.get(a)?)))
            .collect();
        DescribeTagsOutput::builder()
            .set_tag_descriptions(Some(descriptions))
            .build()
    });
    let s = state.clone();
    let target_health = mock!(elb::Client::describe_target_health).then_compute_output(move |_| {
        let mut st = s.lock().unwrap();
        st.calls.push("DescribeTargetHealth");
        st.health_polls += 1;
        let healthy = match st.healthy_after_polls {
            Some(k) if st.health_polls > k => st.targets,
            Some(_) => 0,
            None => st.healthy,
        };
        target_health_output(healthy, st.targets)
    });
    let rules: Vec<Rule> = vec![
        describe_lb,
        describe_listeners,
        create_listener,
        modify_listener,
        delete_listener,
        describe_rules,
        create_rule,
        modify_rule,
        delete_rule,
        describe_tags,
        target_health,
    ];
    mock_client!(elb, RuleMode::MatchAny, rules.iter())
}

/// ECS as far as failover uses it: UpdateService sets the desired count that DescribeServices
/// reports (ECS API reference, UpdateService).
pub fn fake_ecs(desired: Arc<Mutex<i32>>) -> aws_sdk_ecs::Client {
    use aws_sdk_ecs as ecs;
    let d = desired.clone();
    let describe = mock!(ecs::Client::describe_services).then_compute_output(move |_| {
        ecs::operation::describe_services::DescribeServicesOutput::builder()
            .services(
                ecs::types::Service::builder()
                    .service_name("api")
                    .desired_count(*d.lock().unwrap())
                    .build(),
            )
            .build()
    });
    let d = desired;
    let update = mock!(ecs::Client::update_service).then_compute_output(move |req| {
        if let Some(n) = req.desired_count() {
            *d.lock().unwrap() = n;
        }
        ecs::operation::update_service::UpdateServiceOutput::builder().build()
    });
    mock_client!(ecs, RuleMode::MatchAny, &[&describe, &update])
}

/// CloudWatch with one alarm in whatever state the test sets.
pub fn fake_alarm(
    name: &'static str,
    state: Arc<Mutex<aws_sdk_cloudwatch::types::StateValue>>,
) -> aws_sdk_cloudwatch::Client {
    use aws_sdk_cloudwatch as cw;
    let rule = mock!(cw::Client::describe_alarms).then_compute_output(move |req| {
        assert_eq!(req.alarm_names(), [name]);
        cw::operation::describe_alarms::DescribeAlarmsOutput::builder()
            .metric_alarms(
                cw::types::MetricAlarm::builder()
                    .alarm_name(name)
                    .state_value(state.lock().unwrap().clone())
                    .build(),
            )
            .build()
    });
    mock_client!(cw, RuleMode::MatchAny, &[&rule])
}

/// DescribeStackResource: the request's resource is CREATE_IN_PROGRESS (a Create is current).
pub fn resource_creating() -> Rule {
    resource_status(aws_sdk_cloudformation::types::ResourceStatus::CreateInProgress)
}

/// DescribeStackResource answering the request's resource in `status` (statuses:
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackResource.html).
pub fn resource_status(status: aws_sdk_cloudformation::types::ResourceStatus) -> Rule {
    mock!(aws_sdk_cloudformation::Client::describe_stack_resource).then_output(move || {
        aws_sdk_cloudformation::operation::describe_stack_resource::DescribeStackResourceOutput::builder()
            .stack_resource_detail(
                aws_sdk_cloudformation::types::StackResourceDetail::builder()
                    .resource_status(status.clone())
                    .build(),
            )
            .build()
    })
}

/// Clients for tests: the given ELB client, and ECS/CloudFormation/Lambda clients with no
/// rules (a call to them fails the test's expectations), except CloudFormation's
/// DescribeStackResource: the request's resource is CREATE_IN_PROGRESS (a Create is current).
pub fn test_clients(elb: elb::Client) -> fargate_provider::Clients {
    let none: Vec<Rule> = Vec::new();
    let creating = resource_creating();
    fargate_provider::Clients {
        elb,
        ecs: mock_client!(aws_sdk_ecs, RuleMode::MatchAny, none.iter()),
        cfn: mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, &[&creating]),
        lambda: mock_client!(aws_sdk_lambda, RuleMode::MatchAny, none.iter()),
        cloudwatch: mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, none.iter()),
        http: fargate_provider::http_client(),
        function_name: Some("provider".into()),
        gate_timing: fargate_provider::load_test_gate::GateTiming {
            steady_poll: std::time::Duration::from_millis(20),
        },
        failover_timing: fargate_provider::failover::FailoverTiming {
            health_poll: std::time::Duration::from_millis(20),
            ..Default::default()
        },
        state_store: None,
    }
}

/// DescribeStacks' answer for the stack `app` in one status.
pub fn stacks_output(
    status: aws_sdk_cloudformation::types::StackStatus,
) -> aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput {
    aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput::builder()
        .stacks(
            aws_sdk_cloudformation::types::Stack::builder()
                .stack_name("app")
                .stack_status(status)
                .creation_time(aws_smithy_types::DateTime::from_secs(0))
                .build(),
        )
        .build()
}
