//! `fargate-app diff --stack NAME FILE [--change-set]` against moto server (CloudFormation's
//! API on a free loopback port): the deployed stack's processed template (GetTemplate,
//! `TemplateStage: Processed`) and parameters (DescribeStacks) are the old version; with
//! `--change-set` a change set of the local expansion is created, read and deleted.
//!
//! What moto does and does not show (moto 5.2.5): GetTemplate returns the body the stack was
//! created with (moto runs no macro, so the test deploys an expansion, which is what
//! `Processed` returns on AWS); DescribeChangeSet returns each resource's `Action` but no
//! `Replacement` (AWS answers `True`, `False` or `Conditional`:
//! https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ResourceChange.html),
//! so the authoritative replacement answer is only seen against AWS; `UsePreviousValue`
//! parameters make moto fail (HTTP 500), so the test gives every parameter a Default; moto's
//! change set compares template bodies only, so a parameter-only change shows no change there.

use aws_sdk_cloudformation::types::{Capability, Parameter};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Moto {
    url: String,
    child: Child,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn venv(bin: &str) -> String {
    format!("{}/../.venv/bin/{bin}", env!("CARGO_MANIFEST_DIR"))
}

fn start_moto() -> Moto {
    let bin = venv("moto_server");
    assert!(
        Path::new(&bin).exists(),
        "{bin} is missing: run `make setup`"
    );
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(&bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("moto_server starts");
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "moto did not listen"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Moto {
        url: format!("http://127.0.0.1:{port}"),
        child,
    }
}

/// moto's default VPC and two of its subnets (boto3 from the repository's venv).
fn default_network(url: &str) -> (String, String, String) {
    let script = format!(
        "import boto3\nc=boto3.client('ec2',endpoint_url='{url}',region_name='us-east-1',aws_access_key_id='t',aws_secret_access_key='t')\nv=c.describe_vpcs()['Vpcs'][0]['VpcId']\ns=[x['SubnetId'] for x in c.describe_subnets(Filters=[{{'Name':'vpc-id','Values':[v]}}])['Subnets']]\nprint(v, s[0], s[1])"
    );
    let out = Command::new(venv("python3"))
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let w: Vec<&str> = text.split_whitespace().collect();
    (w[0].into(), w[1].into(), w[2].into())
}

fn source(vpc: &str, a: &str, b: &str, tag: &str, port: u16) -> String {
    format!(
        r#"AWSTemplateFormatVersion: "2010-09-09"
Transform: FargateApp
Parameters:
  Tag: {{ Type: String, Default: "{tag}" }}
Resources:
  Web:
    Type: Fargate::App
    Properties:
      Image: !Sub "my/web:${{Tag}}"
      Port: {port}
      Network: {{ VpcId: {vpc}, Subnets: [{a}, {b}] }}
      LoadBalancer: {{ Create: true, HealthCheck: {{ Path: /health }} }}
"#
    )
}

fn cfn(url: &str) -> aws_sdk_cloudformation::Client {
    use aws_sdk_cloudformation::config::{BehaviorVersion, Credentials, Region};
    let conf = aws_sdk_cloudformation::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("t", "t", None, None, "moto"))
        .endpoint_url(url)
        .build();
    aws_sdk_cloudformation::Client::from_conf(conf)
}

fn diff(url: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fargate-app"))
        .arg("diff")
        .args(args)
        .env("AWS_ENDPOINT_URL", url)
        .env("AWS_ACCESS_KEY_ID", "t")
        .env("AWS_SECRET_ACCESS_KEY", "t")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn diff_against_a_deployed_stack_in_moto() {
    let moto = start_moto();
    let (vpc, a, b) = default_network(&moto.url);
    // Deploy the expansion of tag 1 with the parameter given as 1.
    let src1 = fargate_macro::template::parse(&source(&vpc, &a, &b, "1", 8080)).unwrap();
    let processed = fargate_macro::expand(&src1, &fargate_macro::Settings::default()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let c = cfn(&moto.url);
    rt.block_on(async {
        c.create_stack()
            .stack_name("web")
            .template_body(fargate_macro::template::to_json(&processed))
            .parameters(
                Parameter::builder()
                    .parameter_key("Tag")
                    .parameter_value("1")
                    .build(),
            )
            .capabilities(Capability::CapabilityIam)
            .send()
            .await
            .unwrap();
    });
    let dir = std::env::temp_dir().join(format!("diff-stack-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, tag: &str, port: u16| {
        let p = dir.join(name);
        std::fs::write(&p, source(&vpc, &a, &b, tag, port)).unwrap();
        p.to_string_lossy().into_owned()
    };
    let (same, bumped, port) = (
        write("same.yaml", "1", 8080),
        write("bumped.yaml", "2", 8080),
        write("port.yaml", "1", 9090),
    );

    // (case, args, exit code, stdout must contain, stdout must not contain)
    type Case<'a> = (&'a str, Vec<&'a str>, i32, Vec<&'a str>, Vec<&'a str>);
    let cases: Vec<Case> = vec![
        (
            "the deployed version",
            vec!["--stack", "web", &same],
            0,
            vec!["Summary: 0 to add, 0 to remove, 0 to modify"],
            vec!["Parameters"],
        ),
        (
            "a new tag through the parameter's Default",
            vec!["--stack", "web", &bumped],
            1,
            vec![
                "~ Tag: \"1\" -> \"2\"",
                "App Web",
                "Properties.ContainerDefinitions[0].Image: \"my/web:1\" -> \"my/web:2\" [replacement]",
                "~ WebTaskDefinition (AWS::ECS::TaskDefinition) new revision",
            ],
            vec!["CloudFormation change set"],
        ),
        (
            "the same tag given with --parameters",
            vec!["--stack", "web", &bumped, "--parameters", "Tag=1"],
            0,
            vec![],
            vec!["WebTaskDefinition"],
        ),
        (
            "with a change set: moto answers the Action, no Replacement",
            vec!["--stack", "web", "--change-set", &port],
            1,
            vec![
                "! WebTargetGroup (AWS::ElasticLoadBalancingV2::TargetGroup) REPLACE",
                "CloudFormation change set (authoritative)",
                "Modify WebTargetGroup: no replacement answer given",
            ],
            vec![],
        ),
        (
            "the change set in the JSON output",
            vec!["--stack", "web", "--change-set", "--format", "json", &port],
            1,
            vec![
                "\"ChangeSet\": [",
                "\"LogicalId\": \"WebTargetGroup\",\n      \"Action\": \"Modify\"",
                "\"Action\": \"Replace\"",
            ],
            vec!["\"Replacement\": \"True\""],
        ),
        (
            "--fail-on replacement from the local answer (moto gives none)",
            vec!["--stack", "web", "--change-set", "--fail-on", "replacement", &port],
            2,
            vec!["Modify WebTargetGroup"],
            vec![],
        ),
        (
            // moto compares template bodies only: a change of a parameter's value alone is
            // "no changes" in its change set (AWS reports the resources the value reaches).
            "moto's change set misses a parameter-only change",
            vec!["--stack", "web", "--change-set", &bumped],
            1,
            vec!["CloudFormation change set (authoritative)\n  no changes"],
            vec![],
        ),
    ];
    for (name, args, code, has, lacks) in cases {
        let (got, out, err) = diff(&moto.url, &args);
        assert_eq!(got, code, "{name}: {out}{err}");
        for h in has {
            assert!(out.contains(h), "{name}: no `{h}` in\n{out}");
        }
        for l in lacks {
            assert!(!out.contains(l), "{name}: `{l}` in\n{out}");
        }
    }
    // The change set is deleted after reading.
    let left = rt.block_on(async { c.list_change_sets().stack_name("web").send().await.unwrap() });
    assert!(left.summaries().is_empty(), "{:?}", left.summaries());
    // A stack that does not exist is trouble (3), naming the call.
    let (got, _, err) = diff(&moto.url, &["--stack", "nope", &same]);
    assert_eq!(got, 3, "{err}");
    assert!(err.contains("GetTemplate nope"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();

    // `fargate-app scaling-check --stack`: the App's URL (output `WebUrl`), cluster and
    // service (physical IDs) and the scalable target's MinCapacity (processed template) are
    // read from a deployed stack, and DescribeServices answers for that service. The load goes
    // to a closed local port (`--url` wins over the stack's): moto's ALB has no address.
    let scaled = format!(
        "{}      Scaling: {{ Min: 1, Max: 3, CpuPercent: 70 }}\nOutputs:\n  WebUrl:\n    Value: !GetAtt Web.Url\n",
        source(&vpc, &a, &b, "1", 8080)
    );
    let processed = fargate_macro::expand(
        &fargate_macro::template::parse(&scaled).unwrap(),
        &fargate_macro::Settings::default(),
    )
    .unwrap();
    rt.block_on(async {
        c.create_stack()
            .stack_name("scaled")
            .template_body(fargate_macro::template::to_json(&processed))
            .capabilities(Capability::CapabilityIam)
            .send()
            .await
            .unwrap();
    });
    let out = Command::new(env!("CARGO_BIN_EXE_fargate-app"))
        .args([
            "scaling-check",
            "--stack",
            "scaled",
            "--app",
            "Web",
            "--url",
            "http://127.0.0.1:1",
        ])
        .args([
            "--rate",
            "2",
            "--duration",
            "1s",
            "--poll",
            "250ms",
            "--expect-return",
            "2s",
        ])
        .env("AWS_ENDPOINT_URL", &moto.url)
        .env("AWS_ACCESS_KEY_ID", "t")
        .env("AWS_SECRET_ACCESS_KEY", "t")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    eprintln!("{text}");
    let located = text
        .lines()
        .find(|l| l.starts_with("Stack scaled: "))
        .unwrap_or_else(|| panic!("no stack line: {text}"));
    for want in ["URL http://", ", cluster ", ":service/", ", minimum 1"] {
        assert!(
            located.contains(want),
            "{want:?} not in {located:?}\n{text}"
        );
    }
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("Verdict  MET: back to the minimum 1"),
        "{text}"
    );
}
