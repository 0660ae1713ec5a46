//! A moto server on a free loopback port, started for a test and stopped when dropped.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A client of one SDK crate pointed at moto.
macro_rules! moto_client {
    ($krate:ident, $url:expr) => {{
        use $krate::config::{BehaviorVersion, Credentials, Region};
        let conf = $krate::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
            .endpoint_url($url)
            .build();
        $krate::Client::from_conf(conf)
    }};
}

pub struct Moto {
    pub url: String,
    child: Child,
}

impl Moto {
    pub fn start() -> Moto {
        let bin = concat!(env!("CARGO_MANIFEST_DIR"), "/../.venv/bin/moto_server");
        assert!(
            std::path::Path::new(bin).exists(),
            "{bin} is missing: run `make setup` (make test does)"
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let url = format!("http://127.0.0.1:{port}");
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "moto did not listen within 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Moto { url, child }
    }

    pub fn ecs(&self) -> aws_sdk_ecs::Client {
        moto_client!(aws_sdk_ecs, &self.url)
    }

    pub fn elb(&self) -> aws_sdk_elasticloadbalancingv2::Client {
        use aws_sdk_elasticloadbalancingv2::config::{BehaviorVersion, Credentials, Region};
        let conf = aws_sdk_elasticloadbalancingv2::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
            .endpoint_url(&self.url)
            .build();
        aws_sdk_elasticloadbalancingv2::Client::from_conf(conf)
    }

    /// An ALB on two of the default subnets: (ARN, DNS name, VPC).
    pub async fn load_balancer(&self, name: &str) -> (String, String, String) {
        let (vpc, subnets) = self.default_subnets().await;
        let out = self
            .elb()
            .create_load_balancer()
            .name(name)
            .set_subnets(Some(subnets[..2].to_vec()))
            .send()
            .await
            .unwrap();
        let lb = &out.load_balancers()[0];
        (
            lb.load_balancer_arn().unwrap().to_string(),
            lb.dns_name().unwrap().to_string(),
            vpc,
        )
    }

    /// An HTTP target group of IP targets in the VPC; its ARN.
    pub async fn target_group(&self, name: &str, vpc: &str) -> String {
        use aws_sdk_elasticloadbalancingv2::types::{ProtocolEnum, TargetTypeEnum};
        let out = self
            .elb()
            .create_target_group()
            .name(name)
            .protocol(ProtocolEnum::Http)
            .port(80)
            .vpc_id(vpc)
            .target_type(TargetTypeEnum::Ip)
            .send()
            .await
            .unwrap();
        out.target_groups()[0]
            .target_group_arn()
            .unwrap()
            .to_string()
    }

    /// Subnet IDs and the VPC of moto's default VPC, read with a plain EC2 query (moto does
    /// not check signatures), so the tests need no EC2 SDK crate.
    pub async fn default_subnets(&self) -> (String, Vec<String>) {
        let body = reqwest::Client::new()
            .post(&self.url)
            .header("Authorization", "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=x")
            .form(&[("Action", "DescribeSubnets"), ("Version", "2016-11-15")])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let tags = |tag: &str| -> Vec<String> {
            body.split(&format!("<{tag}>"))
                .skip(1)
                .filter_map(|s| s.split(&format!("</{tag}>")).next())
                .map(String::from)
                .collect()
        };
        let subnets = tags("subnetId");
        let vpc = tags("vpcId")
            .into_iter()
            .next()
            .expect("moto has a default VPC");
        assert!(subnets.len() >= 2, "default subnets: {body}");
        (vpc, subnets)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The provider's hook state table (`HookStateTable` in `cfn/provider.yaml`: key `Pk`, on
/// demand), made in moto's DynamoDB.
pub async fn create_hook_table(client: &aws_sdk_dynamodb::Client, table: &str) {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    client
        .create_table()
        .table_name(table)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("Pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("Pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
}

/// A [`HookStore`](fargate_provider::lifecycle_hook::HookStore) on a fresh table `table` in
/// moto, as cfn/provider.yaml declares it (key `Pk`, a string).
pub async fn hook_store(moto: &Moto, table: &str) -> fargate_provider::lifecycle_hook::HookStore {
    use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
    let conf = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .endpoint_url(&moto.url)
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(conf);
    create_hook_table(&client, table).await;
    fargate_provider::lifecycle_hook::HookStore {
        ddb: client,
        table: table.into(),
    }
}
