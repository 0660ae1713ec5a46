//! The provider Lambda binary under the Lambda runtime API emulator: a custom-resource event
//! whose AWS calls go to moto server and whose ResponseURL is a local HTTP server.

mod common;
#[path = "../../tests/common/lambda_emulator.rs"]
mod lambda_emulator;

use common::moto::Moto;
use common::*;
use lambda_emulator::Function;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_provider_lambda_claims_a_port_on_moto_and_answers_cloudformation() {
    let moto = Moto::start();
    let elb = moto.elb();
    let (lb_arn, _, vpc) = moto.load_balancer("shared").await;
    let tg_arn = moto.target_group("branch", &vpc).await;
    let aws_env = vec![
        ("AWS_ENDPOINT_URL", moto.url.clone()),
        ("AWS_ACCESS_KEY_ID", "testing".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_string()),
        ("AWS_REGION", "us-east-1".to_string()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
    ];
    let provider_fn = Function::start(
        "fargate-app-provider",
        env!("CARGO_BIN_EXE_fargate-app-provider"),
        &aws_env,
    );

    // The provider, on the custom-resource event CloudFormation would send for it.
    let server = ResponseServer::start(vec![]).await;
    let props = json!({ "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:provider", "LoadBalancerArn": lb_arn,
        "TargetGroupArn": tg_arn, "PortRange": "9000-9999", "Protocol": "HTTP" });
    let mut ev = request(
        "Create",
        "Custom::FargateListenerPort",
        &server.url,
        props,
        None,
        None,
    );
    ev["LogicalResourceId"] = json!("BranchAppAutoListener");
    let out = tokio::task::spawn_blocking(move || {
        let out = provider_fn.invoke(&ev);
        println!(
            "provider (debug build): process start to first answer {:?}",
            provider_fn.started.elapsed()
        );
        out
    })
    .await
    .unwrap();
    assert_eq!(out["delivered"], true, "{out}");
    let puts = server.puts();
    assert_eq!(puts.len(), 1);
    assert_eq!(puts[0].body["Status"], "SUCCESS", "{:?}", puts[0].body);
    assert_eq!(puts[0].body["Data"]["Port"], "9000");
    let listeners = elb
        .describe_listeners()
        .load_balancer_arn(&lb_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(listeners.listeners()[0].port(), Some(9000));
}
