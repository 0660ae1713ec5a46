//! The macro Lambda binary under the Lambda runtime API emulator, on a macro event built from
//! an example.

#[path = "../../tests/common/lambda_emulator.rs"]
mod lambda_emulator;

use lambda_emulator::Function;
use serde_json::json;

#[test]
fn the_macro_lambda_answers_a_real_macro_event() {
    let f = Function::start(
        "fargate-app-macro",
        env!("CARGO_BIN_EXE_fargate-app-macro"),
        &[("PROVIDER_EXPORT_NAME", "E2E-Token".into())],
    );
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/004-branch-environment/template.yaml"
    ))
    .unwrap();
    let fragment = fargate_macro::template::parse(&text).unwrap();
    let event = json!({ "region": "us-east-1", "accountId": "123456789012", "fragment": fragment, "transformId": "123456789012::FargateApp",
        "params": {}, "requestId": "e2e-1", "templateParameterValues": {} });
    let out = f.invoke(&event);
    println!(
        "macro (debug build): process start to first answer {:?}",
        f.started.elapsed()
    );
    assert_eq!(out["requestId"], "e2e-1");
    assert_eq!(out["status"], "success", "{out}");
    let resources = out["fragment"]["Resources"].as_object().unwrap();
    assert_eq!(
        resources["BranchAppAutoListener"]["Type"],
        "Custom::FargateListenerPort"
    );
    assert_eq!(
        resources["BranchAppAutoListener"]["Properties"]["ServiceToken"],
        json!({ "Fn::ImportValue": "E2E-Token" })
    );
    assert!(out["fragment"].get("Transform").is_none());

    let bad = json!({ "requestId": "e2e-2", "fragment": { "Resources": { "A": { "Type": "Fargate::App", "Properties": { "Cpu": 3 } } } } });
    let out = f.invoke(&bad);
    assert_eq!(out["status"], "failure");
    assert_eq!(out["requestId"], "e2e-2");
    assert!(
        out["errorMessage"]
            .as_str()
            .unwrap()
            .contains("Resource [A] Properties.Cpu: 3 is not a Fargate CPU size"),
        "{out}"
    );
}
