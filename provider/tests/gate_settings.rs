//! Issue 17 section 4: the provider reads the gate's settings as one type on both paths. The
//! macro writes one value into two carriers, the `Custom::FargateLoadTestGate` resource's
//! properties (a Rolling App) and the lifecycle hook's `HookDetails` (a strategy); this table
//! takes both from golden expansions (`tests/macro/output/`, Apps with the same `LoadTest`),
//! resolves them as CloudFormation would hand them over, and parses each through its own path:
//! the values read must be equal (the hook's extras, and the test route's header it adds, aside).

use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceRequest;
use fargate_provider::gate_settings::GateSettings;
use fargate_provider::{lifecycle_hook, load_test_gate, Request};
use serde_json::{json, Map, Value};

/// Resolves intrinsics the way CloudFormation would, with fixed stand-ins: a parameter's value,
/// `resolved-<Attribute>` for `Fn::GetAtt` (the same for both Apps), the stack ID.
fn resolve(v: &Value, params: &Map<String, Value>) -> Value {
    let Some((k, arg)) = v
        .as_object()
        .filter(|m| m.len() == 1)
        .and_then(|m| m.iter().next())
    else {
        return match v {
            Value::Array(a) => Value::Array(a.iter().map(|x| resolve(x, params)).collect()),
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, x)| (k.clone(), resolve(x, params)))
                    .collect(),
            ),
            other => other.clone(),
        };
    };
    let text = |v: &Value| match resolve(v, params) {
        Value::String(s) => s,
        other => other.to_string(),
    };
    match k.as_str() {
        "Ref" => match arg.as_str().unwrap() {
            "AWS::StackId" => json!(
                "arn:aws:cloudformation:us-east-1:123456789012:stack/s/6f1c2a8e-0000-4000-8000-000000000000"
            ),
            name => params.get(name).cloned().unwrap_or_else(|| json!(name)),
        },
        "Fn::GetAtt" => json!(format!("resolved-{}", arg[1].as_str().unwrap())),
        "Fn::Join" => json!(arg[1]
            .as_array()
            .unwrap()
            .iter()
            .map(text)
            .collect::<Vec<_>>()
            .join(arg[0].as_str().unwrap())),
        "Fn::Split" => json!(text(&arg[1])
            .split(arg[0].as_str().unwrap())
            .collect::<Vec<_>>()),
        "Fn::Select" => resolve(&arg[1], params)[arg[0].as_u64().unwrap() as usize].clone(),
        "Fn::Sub" => {
            let (mut s, vars) = match arg {
                Value::String(t) => (t.clone(), Map::new()),
                _ => (
                    arg[0].as_str().unwrap().to_string(),
                    arg[1].as_object().cloned().unwrap_or_default(),
                ),
            };
            while let Some(at) = s.find("${") {
                let end = at + s[at..].find('}').unwrap();
                let name = &s[at + 2..end];
                let value = match vars.get(name) {
                    Some(v) => text(v),
                    None => match name.split_once('.') {
                        Some((_, attr)) => format!("resolved-{attr}"),
                        None => text(&json!({ "Ref": name })),
                    },
                };
                s.replace_range(at..=end, &value);
            }
            json!(s)
        }
        _ => Value::Object(
            [(k.clone(), resolve(arg, params))]
                .into_iter()
                .collect(),
        ),
    }
}

/// CloudFormation hands a custom resource every scalar property as a string.
fn stringified(v: Value) -> Value {
    match v {
        Value::Number(n) => json!(n.to_string()),
        Value::Bool(b) => json!(b.to_string()),
        Value::Array(a) => Value::Array(a.into_iter().map(stringified).collect()),
        Value::Object(m) => {
            Value::Object(m.into_iter().map(|(k, x)| (k, stringified(x))).collect())
        }
        other => other,
    }
}

fn template(file: &str) -> Value {
    let path = format!(
        "{}/../tests/macro/output/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// Parameter values: each parameter's `Default`.
fn defaults(t: &Value) -> Map<String, Value> {
    t["Parameters"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, p)| Some((k.clone(), json!(stringified(p.get("Default")?.clone())))))
        .collect()
}

/// The resource's settings, read by the custom resource's path.
fn from_resource(t: &Value, gate: &str) -> GateSettings {
    let props = stringified(resolve(&t["Resources"][gate]["Properties"], &defaults(t)));
    let event = json!({
        "RequestType": "Create",
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:provider",
        "ResponseURL": "https://example.com/response",
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/s/6f1c2a8e-0000-4000-8000-000000000000",
        "RequestId": "r-1",
        "ResourceType": load_test_gate::RESOURCE_TYPE,
        "LogicalResourceId": gate,
        "ResourceProperties": props,
    });
    let req: Request = serde_json::from_value::<CloudFormationCustomResourceRequest>(event)
        .unwrap()
        .into();
    load_test_gate::settings(&req).unwrap_or_else(|e| panic!("{gate}: {e}"))
}

/// The gate hook's settings, read by the hook's path (less the test route's header).
fn from_hook(t: &Value, service: &str) -> GateSettings {
    let hooks = &t["Resources"][service]["Properties"]["DeploymentConfiguration"]["LifecycleHooks"];
    let details = hooks
        .as_array()
        .unwrap()
        .iter()
        .map(|h| resolve(&h["HookDetails"], &defaults(t)))
        .filter_map(|d| serde_json::from_str::<Value>(d.as_str()?).ok())
        .find(|d| d.get(lifecycle_hook::SETTINGS_KEY).is_some())
        .unwrap_or_else(|| panic!("{service}: no gate hook"));
    let mut s = lifecycle_hook::GateSettings::from_hook_details(Some(&details))
        .unwrap_or_else(|e| panic!("{service}: {e}"))
        .common;
    assert!(
        s.headers.remove("X-FargateApp-Route").is_some(),
        "{service}: the hook's test route header"
    );
    s
}

#[test]
fn both_carriers_of_one_load_test_read_the_same() {
    // (golden, the Rolling App's gate resource, the strategy App's service, the LoadTest both
    // give: Rate, Duration, WarmUp, P99Ms (a parameter), MaxErrorRate, one header, VPC workers)
    let cases = [(
        "bluegreen_internal_vpc_gate.json",
        "RollingLoadTestGate",
        "BlueService",
        (Some(20.0), 30, 5, Some(800.0), Some(0.02), "X-Gate", true),
    )];
    for (file, gate, service, want) in cases {
        let t = template(file);
        let (cr, hook) = (from_resource(&t, gate), from_hook(&t, service));
        assert_eq!(
            cr, hook,
            "{file}: {gate} and {service}'s hook read differently"
        );
        let got = (
            cr.rate,
            cr.duration,
            cr.warm_up,
            cr.thresholds.p99_ms,
            cr.thresholds.max_error_rate,
            cr.headers.keys().next().map(String::as_str).unwrap_or(""),
            cr.worker_function_arn.is_some(),
        );
        assert_eq!(got, want, "{file}");
    }
}
