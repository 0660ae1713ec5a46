//! The `fargate-app expand` command as users run it.

use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fargate-app"))
}

fn case(name: &str) -> String {
    format!("{}/../tests/macro/input/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn expand_prints_the_golden_json() {
    let out = bin()
        .args(["expand", &case("shared_port_auto.yaml")])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = std::fs::read_to_string(format!(
        "{}/../tests/macro/output/shared_port_auto.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), expected);
}

#[test]
fn expand_yaml_reads_back_to_the_same_template() {
    let json = bin()
        .args(["expand", &case("references.yaml")])
        .output()
        .unwrap();
    let yaml = bin()
        .args(["expand", "--format", "yaml", &case("references.yaml")])
        .output()
        .unwrap();
    assert!(yaml.status.success());
    let a: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let b = fargate_macro::template::parse(&String::from_utf8(yaml.stdout).unwrap()).unwrap();
    assert_eq!(a, b);
}

#[test]
fn invalid_template_exits_2_with_every_problem_on_stderr() {
    let out = bin()
        .args(["expand", &case("error_scaling_problems.yaml")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "nothing half-expanded on stdout");
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 2, "{err}");
    assert!(err.contains("Resource [Users] Properties.Scaling.Min: 5 is greater than Max 2"));
}

#[test]
fn unreadable_input_exits_1() {
    let out = bin()
        .args(["expand", "/nonexistent/template.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("fargate-app: /nonexistent/template.yaml: cannot read: "));
    let mut child = bin()
        .args(["expand", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"Resources: [unclosed")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("fargate-app: <stdin>:2:1: not a valid YAML or JSON template: "),
        "{err}"
    );
}

fn loadtest(args: &[&str]) -> std::process::Output {
    bin().arg("loadtest").args(args).output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loadtest_passes_fails_and_refuses_with_distinct_exit_codes() {
    use fargate_loadtest::target::{start, Behaviour};
    use std::time::Duration;
    let server = start(
        Behaviour {
            delay: Duration::from_millis(20),
            error_every: Some(20),
            ..Default::default()
        },
        0,
    )
    .await
    .unwrap();
    let url = server.url("/stress-test");
    let out = tokio::task::spawn_blocking({
        let url = url.clone();
        move || {
            loadtest(&[
                &url,
                "--rate",
                "100",
                "--duration",
                "1s",
                "--p99",
                "2s",
                "--max-error-rate",
                "0.1",
                "--quiet",
            ])
        }
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("Requests     100 sent, 95 ok, 5 errors (5 status, 0 timeout, 0 connection)"),
        "{text}"
    );
    assert!(
        // Bucket bounds depend on the latencies measured; a bucket line follows the heading.
        text.split("Histogram\n")
            .nth(1)
            .and_then(|rest| rest.lines().next())
            .is_some_and(|l| l.trim_start().starts_with("<= ") && l.contains(" ms  #")),
        "{text}"
    );
    assert!(text.contains("Verdict      PASSED"), "{text}");

    let out = tokio::task::spawn_blocking({
        let url = url.clone();
        move || {
            loadtest(&[
                &url,
                "--rate",
                "100",
                "--duration",
                "1s",
                "--p99",
                "5ms",
                "--max-error-rate",
                "0.01",
                "--json",
            ])
        }
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["Passed"], false);
    assert_eq!(v["Requests"], 100);
    let summary = v["Summary"].as_str().unwrap();
    assert!(
        summary.starts_with("p99 ")
            && summary.contains(" > 5.0 ms, errors 5.0% > 1.0% at 100 rps; 5.0% errors"),
        "{summary}"
    );

    let out = loadtest(&[&url, "--duration", "1s"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("give --rate"));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = loadtest(&[
        &format!("http://127.0.0.1:{port}/"),
        "--rate",
        "5",
        "--duration",
        "1s",
        "--warm-up",
        "1s",
        "--quiet",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("did not answer 200 within the 1 s warm-up")
    );
}

const LOCUST: &str = r#"Resources:
  Master:
    Type: Fargate::App
    Properties:
      Image: locustio/locust:2.31
      Network: { VpcId: vpc-1, Subnets: [subnet-1] }
      Discovery: { NamespaceName: locust, Name: locust-master }
  Worker:
    Type: Fargate::App
    Properties:
      Image: locustio/locust:2.31
      Environment: { MASTER: !GetAtt Master.DiscoveryName }
      Network: { VpcId: vpc-1, Subnets: [subnet-1] }
"#;

fn expand_stdin(args: &[&str], input: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = bin()
        .arg("expand")
        .args(args)
        .arg("-")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Warnings go to stderr, the App's at FILE:LINE:COL of its Discovery, and the template is still
/// printed with exit 0 (a missing Transform: CloudFormation rejects Fargate::App without it;
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-macros.html).
#[test]
fn expand_prints_warnings_on_stderr_with_positions() {
    let out = expand_stdin(&[], LOCUST);
    assert_eq!(out.status.code(), Some(0));
    assert!(!out.stdout.is_empty(), "the template is still printed");
    let err = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(
        lines[0].starts_with("<stdin>: warning: the template has Fargate::App resources but no 'Transform: FargateApp'"),
        "{err}"
    );
    assert!(
        lines[1].starts_with(
            "<stdin>:7:7: warning: Resource [Master] is registered in Cloud Map as locust-master"
        ),
        "{err}"
    );
    assert!(
        lines[1].contains("Worker refer(s) to Master.DiscoveryName"),
        "{err}"
    );
}

#[test]
fn expand_json_error_format_lists_warnings_with_a_severity() {
    let out = expand_stdin(&["--error-format", "json"], LOCUST);
    assert_eq!(out.status.code(), Some(0));
    let items: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    let items = items.as_array().unwrap();
    assert_eq!(items.len(), 2, "{items:?}");
    assert!(
        items.iter().all(|i| i["Severity"] == "Warning"),
        "{items:?}"
    );
    assert_eq!(items[0]["Code"], "FA301");
    assert_eq!(items[0]["Line"], serde_json::Value::Null);
    assert_eq!(items[1]["Code"], "FA302");
    assert_eq!(items[1]["LogicalId"], "Master");
    assert_eq!(items[1]["Path"], "Properties.Discovery");
    assert_eq!(
        (items[1]["Line"].as_u64(), items[1]["Column"].as_u64()),
        (Some(7), Some(7))
    );
    // Problems carry severity "error".
    let bad = expand_stdin(
        &["--error-format", "json"],
        "Transform: FargateApp\nResources:\n  A:\n    Type: Fargate::App\n    Properties: {}\n",
    );
    assert_eq!(bad.status.code(), Some(2));
    let items: serde_json::Value = serde_json::from_slice(&bad.stderr).unwrap();
    assert_eq!(items[0]["Severity"], "Error");
}

/// `explain`: 0 with no error finding, 1 with one (naming the App, resources and AWS rule), 2
/// for a template that does not expand; `--format json` for tools.
#[test]
fn explain_exit_codes_and_formats() {
    // The user's own second listener on the port of the App's dedicated listener: ELBv2 refuses
    // it (DuplicateListener) whatever the macro does.
    let clash = format!(
        "{}/explain-duplicate-listener.yaml",
        env!("CARGO_TARGET_TMPDIR")
    );
    std::fs::write(
        &clash,
        r#"Transform: FargateApp
Parameters:
  VpcId: { Type: "AWS::EC2::VPC::Id" }
  Subnets: { Type: "List<AWS::EC2::Subnet::Id>" }
Resources:
  Web:
    Type: Fargate::App
    Properties:
      Image: nginx:1.27
      Network: { VpcId: !Ref VpcId, Subnets: !Ref Subnets }
      LoadBalancer: { Create: true }
  Extra:
    Type: AWS::ElasticLoadBalancingV2::Listener
    Properties:
      LoadBalancerArn: !Ref WebLoadBalancer
      Port: 80
      Protocol: HTTP
      DefaultActions: [{ Type: fixed-response, FixedResponseConfig: { StatusCode: "404" } }]
"#,
    )
    .unwrap();
    let cases: [(Vec<String>, i32, &str); 4] = [
        (vec![case("dedicated_alb_http.yaml")], 0, "App Web"),
        (
            vec![clash.clone()],
            1,
            "ELB_DUPLICATE_LISTENER [Web] Extra, WebListener",
        ),
        (vec![case("error_scaling_problems.yaml")], 2, ""),
        (
            vec!["--format".into(), "json".into(), clash],
            1,
            "\"Code\": \"ELB_DUPLICATE_LISTENER\"",
        ),
    ];
    for (args, code, needle) in cases {
        let out = bin().arg("explain").args(&args).output().unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stdout}");
        assert!(stdout.contains(needle), "{args:?}: {stdout}");
        if args[0] == "--format" {
            let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
            assert!(v["Apps"].is_array() && v["Findings"].is_array());
        }
    }
}

/// `--parameters K=V` gives parameter values locally, as the macro event does: what they make
/// known is validated (naming the parameter), the output keeps the `Ref`.
#[test]
fn parameters_given_on_the_command_line_are_validated() {
    let file = case("error_parameter_values.yaml");
    let run = |params: &[&str]| {
        let mut args = vec!["expand", file.as_str(), "--parameters"];
        args.extend_from_slice(params);
        bin().args(&args).output().unwrap()
    };
    let ok = run(&[
        "Memory=512",
        "Port=8080",
        "Standby=arn:aws:lambda:us-east-1:123456789012:function:s",
    ]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let t: serde_json::Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(
        t["Resources"]["ApiTaskDefinition"]["Properties"]["Memory"],
        serde_json::json!({ "Ref": "Memory" })
    );
    let bad = run(&["Memory=3000", "Port=8080", "Standby=top-secret"]);
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8(bad.stderr).unwrap();
    assert!(
        err.contains("3000 is not valid with Cpu 256") && err.contains("parameter Memory"),
        "{err}"
    );
    assert!(!err.contains("top-secret"), "{err}");
}

/// fresh-trial-3 (tests/macro/fresh-trial-3/REPORT.md): what `explain` shows for T3 (a peer
/// reaches another App's tasks only through a security-group rule that admits the peer's own
/// group), T4 (a gate URL on an `auto` listener keeps its deploy-time port) and T6 (one
/// severity for one finding: the alarm on one of two target groups deploys, so `explain`
/// warns as `expand` does (FA305) and exits 0).
#[test]
fn fresh_trial_3_explain() {
    let fresh = format!(
        "{}/../tests/macro/fresh-trial-3",
        env!("CARGO_MANIFEST_DIR")
    );
    let file = |prefix: &str| {
        std::fs::read_dir(&fresh)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
            .unwrap()
    };
    // (template, explain's exit code, lines it must print, lines it must not print, expand's
    // stderr must contain)
    type Case<'a> = (&'a str, i32, &'a [&'a str], &'a [&'a str], &'a str);
    let cases: &[Case] = &[
        // T3: BSecurityGroup admits only the AlbSg parameter; no rule admits ASecurityGroup.
        // (`|` marks a variant of the file: B's priority Default is 31, since the file's two
        // equal Defaults are refused (D1), and B's `Subnets: !Ref Subnets }`, the file's last,
        // gets the AllowFrom given after `|`, if any.)
        ("05-|", 0, &[], &["AService -> BService"], ""),
        // ... B admitting A's group (AllowFrom: [A]), or every address (0.0.0.0/0 covers A's
        // tasks, whose group lets everything out): the path is shown.
        (
            "05-|[A]",
            0,
            &["AService -> BService tcp/80: open"],
            &["BService -> AService"],
            "",
        ),
        (
            "05-|[0.0.0.0/0]",
            0,
            &["AService -> BService tcp/80: open"],
            &["BService -> AService"],
            "",
        ),
        // ... and where a rule admits the peer's group, the path is shown (both ways).
        (
            "24-",
            0,
            &[
                "UsersService -> ProductsService tcp/3000: open",
                "ProductsService -> UsersService tcp/3000: open",
            ],
            &[],
            "",
        ),
        // T4: the hook's URL is https://${AlbDns}:${WebAutoListener.Port}/.
        (
            "30-",
            0,
            &[
                "GET https://{{AlbDns}}:{{WebAutoListener.Port}}/ ",
                "-> {{AlbDns}} tcp/{{WebAutoListener.Port}}:",
            ],
            &["tcp/?", "GET https://{{AlbDns}}/ "],
            "",
        ),
        // T6: the same alarm, a warning in both commands.
        (
            "38-",
            0,
            &["warning METRIC_NAMES_ONE_TARGET_GROUP [Web] Unhealthy"],
            &["error METRIC_NAMES_ONE_TARGET_GROUP"],
            "warning: Resource [Unhealthy] reads Web.TargetGroupArn",
        ),
    ];
    // T6's class: over every template of the three trials, a resource `expand` warns about
    // is never an error of the model (one finding, one severity).
    let mut warned = 0;
    for dir in ["fresh-trial", "fresh-trial-2", "fresh-trial-3"] {
        let d = format!("{}/../tests/macro/{dir}", env!("CARGO_MANIFEST_DIR"));
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_none_or(|x| x != "yaml") {
                continue;
            }
            let t = fargate_macro::template::parse(&std::fs::read_to_string(&p).unwrap()).unwrap();
            let Ok(out) = fargate_macro::expand_with_warnings(&t, &Default::default()) else {
                continue;
            };
            let report = fargate_macro::model::analyse(&out.template);
            for w in &out.warnings {
                let fargate_macro::Warning::OneOfTwoTargetGroups { resource, .. } = w else {
                    continue;
                };
                warned += 1;
                for f in report
                    .findings
                    .iter()
                    .filter(|f| f.resources.contains(resource))
                {
                    assert_eq!(
                        f.severity,
                        fargate_macro::model::Severity::Warning,
                        "{}: expand warns on {resource}, explain: {f}",
                        p.display()
                    );
                }
            }
        }
    }
    assert!(warned >= 2, "{warned}");
    for (prefix, code, want, not, expand_warns) in cases {
        let f = match prefix.split_once('|') {
            None => file(prefix),
            Some((p, allow)) => {
                let text = std::fs::read_to_string(file(p)).unwrap().replace(
                    "PrioB: { Type: Number, Default: 30 }",
                    "PrioB: { Type: Number, Default: 31 }",
                );
                let last = text.rfind("Subnets: !Ref Subnets }").unwrap();
                let variant = if allow.is_empty() {
                    text.clone()
                } else {
                    format!(
                        "{}Subnets: !Ref Subnets, AllowFrom: {allow} }}{}",
                        &text[..last],
                        &text[last + "Subnets: !Ref Subnets }".len()..]
                    )
                };
                let f = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
                    .join(format!("fresh3-05-{}.yaml", allow.len()));
                std::fs::write(&f, variant).unwrap();
                f
            }
        };
        let out = bin().arg("explain").arg(&f).output().unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert_eq!(out.status.code(), Some(*code), "{prefix}: {stdout}");
        for w in *want {
            assert!(stdout.contains(w), "{prefix}: no {w:?} in\n{stdout}");
        }
        for n in *not {
            assert!(!stdout.contains(n), "{prefix}: {n:?} in\n{stdout}");
        }
        let x = bin().arg("expand").arg(&f).output().unwrap();
        assert_eq!(x.status.code(), Some(0), "{prefix}: expand");
        assert!(
            String::from_utf8_lossy(&x.stderr).contains(expand_warns),
            "{prefix}: expand's stderr: {}",
            String::from_utf8_lossy(&x.stderr)
        );
    }
}
