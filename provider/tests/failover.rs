//! Weighted failover: the full alarm cycle against moto server (ELBv2 weights, target health,
//! ECS desired counts), with the alarm's state from a stateful aws-smithy-mocks CloudWatch (the
//! Rust SDK speaks CloudWatch's rpcv2-CBOR protocol, which moto answers with 404). The
//! bounded health wait is fresh row F34 of the simulation (`sim/fresh.rs`).

mod common;

use aws_sdk_cloudwatch as cw;
use aws_sdk_ecs as ecs;
use aws_sdk_elasticloadbalancingv2 as elb;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use common::moto::Moto;
use common::*;
use fargate_provider::failover::Decision;
use fargate_provider::{handle_event, Clients};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

async fn weights(elb: &elb::Client, listener: &str) -> Vec<(String, i32)> {
    let l = elb
        .describe_listeners()
        .listener_arns(listener)
        .send()
        .await
        .unwrap();
    let fc = l.listeners()[0].default_actions()[0]
        .forward_config()
        .unwrap()
        .clone();
    fc.target_groups()
        .iter()
        .map(|t| {
            (
                t.target_group_arn().unwrap().to_string(),
                t.weight().unwrap(),
            )
        })
        .collect()
}

async fn desired(ecs: &ecs::Client) -> i32 {
    ecs.describe_services()
        .cluster("apps")
        .services("api")
        .send()
        .await
        .unwrap()
        .services()[0]
        .desired_count()
}

type AlarmState = Arc<std::sync::Mutex<cw::types::StateValue>>;

async fn set_alarm(state: &AlarmState, to: cw::types::StateValue) {
    *state.lock().unwrap() = to;
}

/// A CloudWatch whose one alarm is in whatever state the test sets.
fn alarm_client(state: AlarmState) -> cw::Client {
    let rule = mock!(cw::Client::describe_alarms).then_compute_output(move |req| {
        assert_eq!(req.alarm_names(), ["api-throttles"]);
        let s = state.lock().unwrap().clone();
        cw::operation::describe_alarms::DescribeAlarmsOutput::builder()
            .metric_alarms(
                cw::types::MetricAlarm::builder()
                    .alarm_name("api-throttles")
                    .state_value(s)
                    .build(),
            )
            .build()
    });
    mock_client!(cw, RuleMode::MatchAny, &[&rule])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_alarm_cycle_against_moto() {
    let moto = Moto::start();
    let (elb, ecs) = (moto.elb(), moto.ecs());
    let cw: AlarmState = Arc::new(std::sync::Mutex::new(
        cw::types::StateValue::InsufficientData,
    ));
    let (lb_arn, _, vpc) = moto.load_balancer("api").await;
    let (app_tg, standby_tg) = (
        moto.target_group("api-app", &vpc).await,
        moto.target_group("api-standby", &vpc).await,
    );

    // The listener as the macro creates it: all traffic on the standby.
    let forward = elb::types::Action::builder()
        .r#type(elb::types::ActionTypeEnum::Forward)
        .forward_config(
            elb::types::ForwardActionConfig::builder()
                .target_groups(
                    elb::types::TargetGroupTuple::builder()
                        .target_group_arn(&app_tg)
                        .weight(0)
                        .build(),
                )
                .target_groups(
                    elb::types::TargetGroupTuple::builder()
                        .target_group_arn(&standby_tg)
                        .weight(100)
                        .build(),
                )
                .build(),
        )
        .build();
    let listener = elb
        .create_listener()
        .load_balancer_arn(&lb_arn)
        .port(80)
        .protocol(elb::types::ProtocolEnum::Http)
        .default_actions(forward)
        .send()
        .await
        .unwrap();
    let listener = listener.listeners()[0].listener_arn().unwrap().to_string();
    ecs.create_cluster()
        .cluster_name("apps")
        .send()
        .await
        .unwrap();
    ecs.register_task_definition()
        .family("api")
        .network_mode(ecs::types::NetworkMode::Awsvpc)
        .requires_compatibilities(ecs::types::Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        .container_definitions(
            ecs::types::ContainerDefinition::builder()
                .name("api")
                .image("api:1")
                .build(),
        )
        .send()
        .await
        .unwrap();
    ecs.create_service()
        .cluster("apps")
        .service_name("api")
        .task_definition("api")
        .desired_count(0)
        .launch_type(ecs::types::LaunchType::Fargate)
        .send()
        .await
        .unwrap();

    let mut c = test_clients(elb.clone());
    c.ecs = ecs.clone();
    c.cloudwatch = alarm_client(cw.clone());
    let c = Arc::new(c);
    let config = json!({ "AlarmName": "api-throttles", "ListenerArn": listener, "TargetGroupArn": app_tg, "StandbyTargetGroupArn": standby_tg,
        "Cluster": "apps", "ServiceName": "api", "StandbyCount": "2", "RestingCount": "0", "HealthyTimeout": "30" });
    let deadline = || Instant::now() + Duration::from_secs(30);
    let event = |c: &Arc<Clients>| {
        handle_event(
            c.clone(),
            json!({ "FargateAppFailover": config.clone() }),
            deadline(),
        )
    };

    // Create with an alarm that has no data yet: the standby serves.
    let server = ResponseServer::start(vec![]).await;
    let mut ev = request(
        "Create",
        "Custom::FargateWeightedFailover",
        &server.url,
        config.clone(),
        None,
        None,
    );
    ev["LogicalResourceId"] = json!("ApiWeightedFailover");
    handle_event(c.clone(), ev, deadline()).await;
    let b = &server.puts()[0].body;
    assert_eq!(b["Status"], "SUCCESS", "{b}");
    assert_eq!(b["Data"]["Serving"], "standby");
    assert_eq!(
        weights(&elb, &listener).await,
        vec![(app_tg.clone(), 0), (standby_tg.clone(), 100)]
    );

    // ALARM: the service scales to 2; once two targets are healthy the weight moves.
    set_alarm(&cw, cw::types::StateValue::Alarm).await;
    elb.register_targets()
        .target_group_arn(&app_tg)
        .targets(
            elb::types::TargetDescription::builder()
                .id("10.0.1.10")
                .port(80)
                .build(),
        )
        .targets(
            elb::types::TargetDescription::builder()
                .id("10.0.1.11")
                .port(80)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let t = std::time::Instant::now();
    let d: Decision = serde_json::from_value(event(&c).await).unwrap_or_else(|e| panic!("{e}"));
    let failover_time = t.elapsed();
    assert_eq!(
        (d.serving.as_str(), d.changed, d.healthy_targets),
        ("app", true, Some(2)),
        "{d:?}"
    );
    assert_eq!(
        weights(&elb, &listener).await,
        vec![(app_tg.clone(), 100), (standby_tg.clone(), 0)]
    );
    assert_eq!(desired(&ecs).await, 2);

    // The same event again (EventBridge delivers at least once): nothing changes.
    let d: Decision = serde_json::from_value(event(&c).await).unwrap();
    assert_eq!((d.serving.as_str(), d.changed), ("app", false));
    assert_eq!(desired(&ecs).await, 2);

    // OK: weights back first, then the service rests at 0.
    set_alarm(&cw, cw::types::StateValue::Ok).await;
    let d: Decision = serde_json::from_value(event(&c).await).unwrap();
    assert_eq!((d.serving.as_str(), d.changed), ("standby", true));
    assert_eq!(
        weights(&elb, &listener).await,
        vec![(app_tg.clone(), 0), (standby_tg.clone(), 100)]
    );
    assert_eq!(desired(&ecs).await, 0);

    // A late ALARM event arriving after the alarm went back to OK: the current state wins.
    let d: Decision = serde_json::from_value(event(&c).await).unwrap();
    assert_eq!((d.serving.as_str(), d.changed), ("standby", false));

    // Update with a new standby count while in ALARM; then Delete hands the listener back as
    // a plain forward to the app (the standby target group is deleted next).
    set_alarm(&cw, cw::types::StateValue::Alarm).await;
    let mut newer = config.clone();
    newer["StandbyCount"] = json!("1");
    let mut ev = request(
        "Update",
        "Custom::FargateWeightedFailover",
        &server.url,
        newer.clone(),
        Some("ApiWeightedFailover-weighted-failover"),
        Some(config.clone()),
    );
    ev["LogicalResourceId"] = json!("ApiWeightedFailover");
    handle_event(c.clone(), ev, deadline()).await;
    let b = &server.puts()[1].body;
    assert_eq!(b["Status"], "SUCCESS", "{b}");
    assert_eq!(
        b["PhysicalResourceId"],
        "ApiWeightedFailover-weighted-failover"
    );
    assert_eq!(b["Data"]["Serving"], "app");
    assert_eq!(desired(&ecs).await, 1);
    let ev = request(
        "Delete",
        "Custom::FargateWeightedFailover",
        &server.url,
        newer,
        Some("ApiWeightedFailover-weighted-failover"),
        None,
    );
    handle_event(c.clone(), ev, deadline()).await;
    assert_eq!(server.puts()[2].body["Status"], "SUCCESS");
    let l = elb
        .describe_listeners()
        .listener_arns(&listener)
        .send()
        .await
        .unwrap();
    let action = &l.listeners()[0].default_actions()[0];
    let targets: Vec<&str> = match action.forward_config() {
        Some(fc) => fc
            .target_groups()
            .iter()
            .filter_map(|t| t.target_group_arn())
            .collect(),
        None => action.target_group_arn().into_iter().collect(),
    };
    assert_eq!(targets, vec![app_tg.as_str()], "{action:?}");
    println!("failover to the service against moto: {failover_time:?}");
}
