//! The macro Lambda's contract, on real macro event fixtures.

use fargate_macro::lambda::{handle, handle_value, MacroRequest};
use fargate_macro::Settings;
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/../tests/macro/events/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn request_fixtures_round_trip() {
    for name in ["success.json", "failure.json"] {
        let raw = fixture(name);
        let req: MacroRequest = serde_json::from_value(raw.clone()).unwrap();
        assert_eq!(serde_json::to_value(&req).unwrap(), raw, "{name}");
    }
}

#[test]
fn success_returns_the_expanded_fragment_with_the_request_id() {
    let req: MacroRequest = serde_json::from_value(fixture("success.json")).unwrap();
    let resp = handle(&req, &Settings::default());
    assert_eq!(resp.request_id, "3f5e7c1a-1111-2222-3333-444455556666");
    assert_eq!(resp.status, "success");
    assert!(resp.error_message.is_none());
    let wire = serde_json::to_value(&resp).unwrap();
    assert_eq!(wire["requestId"], "3f5e7c1a-1111-2222-3333-444455556666");
    assert!(wire.get("errorMessage").is_none());
    let fragment = resp.fragment.unwrap();
    let resources = fragment["Resources"].as_object().unwrap();
    assert!(resources.contains_key("WebService"));
    assert!(resources.contains_key("WebLoadBalancer"));
    assert!(!resources.contains_key("Web"));
    assert_eq!(
        fragment["Outputs"]["Url"]["Value"],
        serde_json::json!({ "Fn::Sub": "http://${WebLoadBalancer.DNSName}" })
    );
}

#[test]
fn failure_lists_every_problem_and_no_fragment() {
    let resp = handle_value(fixture("failure.json"), &Settings::default());
    assert_eq!(resp.status, "failure");
    assert_eq!(resp.request_id, "9a8b7c6d-0000-1111-2222-333344445555");
    assert!(resp.fragment.is_none());
    let msg = resp.error_message.unwrap();
    assert_eq!(
        msg,
        "2 problems:\nResource [Users] Properties.Memory: 300 is not valid with Cpu 256 (allowed: 512, 1024, 2048)\nResource [Worker] Properties.Image: required: the container image to run"
    );
}

#[test]
fn a_malformed_event_gets_a_failure_naming_the_request() {
    let resp = handle_value(
        serde_json::json!({ "requestId": "r-1", "fragment": "not a template" }),
        &Settings::default(),
    );
    assert_eq!(resp.status, "failure");
    assert_eq!(resp.request_id, "r-1");
    assert!(resp
        .error_message
        .unwrap()
        .contains("a template is a JSON/YAML object"));
    let resp = handle_value(serde_json::json!({ "hello": 1 }), &Settings::default());
    assert_eq!(resp.status, "failure");
    assert!(resp
        .error_message
        .unwrap()
        .contains("not a CloudFormation macro request"));
}

#[test]
fn the_service_token_export_is_configurable() {
    let mut req: MacroRequest = serde_json::from_value(fixture("success.json")).unwrap();
    req.fragment["Resources"]["Web"]["Properties"]["LoadBalancer"] = serde_json::json!({
        "Arn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/x/1", "SecurityGroup": "sg-1", "ListenerPort": "auto"
    });
    let resp = handle(&req, &Settings::with_export("MyProvider-Token"));
    let f = resp.fragment.unwrap();
    assert_eq!(
        f["Resources"]["WebAutoListener"]["Properties"]["ServiceToken"],
        serde_json::json!({ "Fn::ImportValue": "MyProvider-Token" })
    );
}

/// Section 5 of issue 17: the event's `templateParameterValues` (already evaluated by
/// CloudFormation) validate what they make known, name the parameter, never echo a `NoEcho`
/// value, tell a bare parameter `Standby`'s kind, and leave the `Ref`s in the fragment.
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-macros.html
#[test]
fn template_parameter_values_are_used_and_the_refs_kept() {
    let mut req: MacroRequest = serde_json::from_value(fixture("success.json")).unwrap();
    let props = &mut req.fragment["Resources"]["Web"]["Properties"];
    props["Cpu"] = serde_json::json!({ "Ref": "Cpu" });
    props["Memory"] = serde_json::json!({ "Ref": "Memory" });
    props["Failover"] = serde_json::json!({ "Standby": { "Ref": "Standby" }, "AlarmName": "a" });
    req.fragment["Parameters"] = serde_json::json!({
        "Cpu": { "Type": "Number" }, "Memory": { "Type": "Number" },
        "Standby": { "Type": "String", "NoEcho": true },
    });
    let standby_tg = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/s/1";
    // (values, expected problem text or None for success)
    let cases: [(Value, Option<&str>); 4] = [
        (serde_json::json!({}), Some("may be a function or a target group")),
        (
            serde_json::json!({ "Cpu": "256", "Memory": "512", "Standby": standby_tg }),
            None,
        ),
        (
            serde_json::json!({ "Cpu": "256", "Memory": "4096", "Standby": standby_tg }),
            Some("Properties.Memory: 4096 is not valid with Cpu 256 (allowed: 512, 1024, 2048) (the value of parameter Memory)"),
        ),
        (
            serde_json::json!({ "Cpu": "256", "Memory": "512", "Standby": "hunter2-secret" }),
            Some("'****' is neither a Lambda function ARN nor a target group ARN (the value of parameter Standby)"),
        ),
    ];
    for (values, expected) in cases {
        req.template_parameter_values = values.clone();
        let resp = handle(&req, &Settings::default());
        match expected {
            None => {
                assert_eq!(resp.status, "success", "{values}: {:?}", resp.error_message);
                let f = resp.fragment.unwrap();
                let service = &f["Resources"]["WebService"]["Properties"];
                assert!(
                    f["Resources"]["WebStandbyTargetGroup"].is_null(),
                    "a target group standby needs none"
                );
                assert_eq!(
                    f["Resources"]["WebTaskDefinition"]["Properties"]["Cpu"],
                    serde_json::json!({ "Ref": "Cpu" })
                );
                assert!(service.is_object());
            }
            Some(text) => {
                let msg = resp.error_message.unwrap_or_default();
                assert_eq!(resp.status, "failure", "{values}");
                assert!(msg.contains(text), "{values}: {msg}");
                assert!(
                    !msg.contains("hunter2"),
                    "a NoEcho value is never echoed: {msg}"
                );
            }
        }
    }
}
