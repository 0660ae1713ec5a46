//! Hostile or broken template files fail fast with a clear error, in memory proportional to the
//! file, instead of expanding for minutes. The bounds are CloudFormation's own: a template from
//! S3 is at most 1 MB (`TemplateURL`, "max size: 1 MB", CloudFormation API Reference), and so is
//! the processed template the macro returns ("Troubleshoot the processed template",
//! CloudFormation User Guide); a file past it, or whose aliases expand past it, could never
//! deploy. Duplicate keys: "don't use duplicate major sections ... undefined behavior"
//! (template-formats page, CloudFormation User Guide).

use std::path::PathBuf;
use std::process::{Command, Output};

fn expand_text(name: &str, text: &str) -> Output {
    let dir = std::env::temp_dir().join(format!("fargate-app-bounds-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file: PathBuf = dir.join(name);
    std::fs::write(&file, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_fargate-app"))
        .current_dir(&dir)
        .args(["expand", name])
        .output()
        .unwrap();
    std::fs::remove_file(&file).unwrap();
    out
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

const APP: &str = "Transform: FargateApp\nResources:\n  Users:\n    Type: Fargate::App\n    Properties:\n      Image: nginx\n      Network: { VpcId: vpc-1, Subnets: [subnet-1, subnet-2] }\n";

/// A billion-laughs file: 1,000 items aliased 1,100 times is 1.1 million nodes from 7 KB.
#[test]
fn alias_fan_out_is_refused_at_the_alias_that_crosses_the_limit() {
    let items = vec!["x"; 1000].join(", ");
    let aliases = vec!["*a"; 1100].join(", ");
    let text = format!("{APP}Metadata:\n  A: &a [{items}]\n  B: [{aliases}]\n");
    assert!(text.len() < 10_000);
    let out = expand_text("laughs.yaml", &text);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    let err = stderr(&out);
    assert!(err.starts_with("fargate-app: laughs.yaml:10:"), "{err}");
    assert!(
        err.contains("with its aliases expanded, the template is larger than 1048576 bytes"),
        "{err}"
    );
}

/// A few aliases (the way people reuse a tag list) still work.
#[test]
fn modest_aliases_expand() {
    let text = format!("{APP}      Tags: &tags {{ team: web }}\n  Other:\n    Type: AWS::SNS::Topic\n    Metadata: {{ Tags: *tags }}\n");
    let out = expand_text("aliases.yaml", &text);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["Resources"]["Other"]["Metadata"]["Tags"]["team"], "web");
}

#[test]
fn deep_nesting_is_refused_with_its_position() {
    let n = 10_000;
    let yaml = format!(
        "Resources: {{}}\nMetadata: {}{}\n",
        "[".repeat(n),
        "]".repeat(n)
    );
    let out = expand_text("deep.yaml", &yaml);
    assert_eq!(out.status.code(), Some(1));
    // yaml-rust2's scanner stops flow lists at 255 levels (the 256th opens at column 266, after
    // "Metadata: "), before the reader's own bound of 100 applies; block nesting stops at 100.
    assert!(
        stderr(&out).starts_with(
            "fargate-app: deep.yaml:2:266: lists and maps are nested more than 100 levels deep"
        ),
        "{}",
        stderr(&out)
    );
    let json = format!(
        "{{\"Resources\": {{}},\n \"Metadata\": {}{}}}\n",
        "[".repeat(n),
        "]".repeat(n)
    );
    let out = expand_text("deep.json", &json);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with(
            "fargate-app: deep.json:2:113: lists and maps are nested more than 100 levels deep"
        ),
        "{}",
        stderr(&out)
    );
}

/// A key as long as a whole template: the did-you-mean search skips names that cannot be close,
/// and the message shows the key's beginning only.
#[test]
fn huge_unknown_property_is_reported_short() {
    let key = "A".repeat(500_000);
    // Column of the key's opening quote.
    let text = format!(
        "{{\"Transform\": \"FargateApp\", \"Resources\": {{\"Users\": {{\"Type\": \"Fargate::App\", \"Properties\": {{\"Image\": \"nginx\", \"Network\": {{\"VpcId\": \"vpc-1\", \"Subnets\": [\"subnet-1\", \"subnet-2\"]}}, \"{key}\": 1}}}}}}}}"
    );
    let out = expand_text("bigkey.json", &text);
    assert_eq!(out.status.code(), Some(2), "{}", &stderr(&out)[..300]);
    let err = stderr(&out);
    assert!(err.len() < 1000, "{} bytes of errors", err.len());
    assert!(
        err.starts_with(&format!(
            "bigkey.json:1:178: Resource [Users] Properties.{}...: unknown property (expected one of: Image,",
            "A".repeat(61)
        )),
        "{err}"
    );
}

#[test]
fn duplicate_json_keys_are_refused() {
    let text = "{\"Resources\": {\n  \"Topic\": {\"Type\": \"AWS::SNS::Topic\"},\n  \"Topic\": {\"Type\": \"AWS::SQS::Queue\"}\n}}\n";
    let out = expand_text("dup.json", text);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "fargate-app: dup.json:3:3: duplicate key 'Topic' (first at line 2 column 3); CloudFormation would keep only one of them\n"
    );
}

#[test]
fn duplicate_yaml_keys_are_refused() {
    let text = format!("{APP}      Port: 80\n      Port: 8080\n");
    let out = expand_text("dup.yaml", &text);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "fargate-app: dup.yaml:9:7: duplicate key 'Port' (first at line 8 column 7); CloudFormation would keep only one of them\n"
    );
}

#[test]
fn template_over_one_megabyte_is_refused() {
    let text = format!("{APP}Metadata:\n  Blob: {}\n", "x".repeat(1024 * 1024));
    let out = expand_text("big.yaml", &text);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with(&format!(
            "fargate-app: big.yaml: the template is {} bytes; CloudFormation accepts at most 1048576",
            text.len()
        )),
        "{}",
        stderr(&out)
    );
}

/// The macro Lambda gets the template from CloudFormation already parsed (its size limit
/// applied, aliases expanded, one value per key), so of these bounds only the reader's apply
/// there: a huge unknown key costs no search and is not echoed whole in `errorMessage`.
#[test]
fn macro_lambda_reports_a_huge_unknown_key_briefly() {
    use fargate_macro::lambda::handle_value;
    use fargate_macro::Settings;
    let key = "A".repeat(500_000);
    let mut props = serde_json::json!({
        "Image": "nginx",
        "Network": { "VpcId": "vpc-1", "Subnets": ["subnet-1", "subnet-2"] },
    });
    props[&key] = 1.into();
    let event = serde_json::json!({
        "region": "us-east-1", "accountId": "123456789012", "transformId": "123456789012::FargateApp",
        "params": {}, "templateParameterValues": {}, "requestId": "r-1",
        "fragment": { "Resources": { "Users": { "Type": "Fargate::App", "Properties": props } } },
    });
    let resp = handle_value(event, &Settings::default());
    assert_eq!(resp.status, "failure");
    let msg = resp.error_message.unwrap();
    assert!(msg.len() < 1000, "{} bytes", msg.len());
    assert!(
        msg.starts_with(&format!(
            "Resource [Users] Properties.{}...: unknown property (expected one of: Image,",
            "A".repeat(61)
        )),
        "{msg}"
    );
}

/// A template declaring more resources than a stack may hold cannot expand into fewer (every
/// App becomes at least one resource), so it is refused before expanding, in the CLI and in
/// the macro Lambda alike: "Resources: 500 resources" per stack (CloudFormation quotas page).
#[test]
fn more_resources_than_a_stack_holds_are_refused_before_expanding() {
    let mut text = APP.to_string();
    for i in 0..1000 {
        text.push_str(&format!(
            "  App{i}:\n    Type: Fargate::App\n    Properties: {{ Image: x, Network: {{ VpcId: v, Subnets: [a, b] }} }}\n"
        ));
    }
    let out = expand_text("many.yaml", &text);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "many.yaml:2:1: Template Resources: the template declares 1001 resources; CloudFormation allows 500 in a stack, and each Fargate::App becomes at least one\n"
    );

    let tpl = fargate_macro::template::parse(&text).unwrap();
    let event = serde_json::json!({ "requestId": "r-2", "fragment": tpl });
    let resp = fargate_macro::lambda::handle_value(event, &fargate_macro::Settings::default());
    assert_eq!(
        resp.error_message.as_deref(),
        Some("Template Resources: the template declares 1001 resources; CloudFormation allows 500 in a stack, and each Fargate::App becomes at least one")
    );
}
