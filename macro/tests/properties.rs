//! Property tests: random and mutated templates never panic, and always give either a complete
//! template (no `Fargate::App` left) or a failure with at least one message naming a place.

use fargate_macro::{expand, template, Settings};
use proptest::prelude::*;
use serde_json::{json, Value};

fn base() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/macro/input/full_users_spec.yaml"
    ))
    .unwrap();
    template::parse(&text).unwrap()
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        (0u32..70000).prop_map(|n| json!(n)),
        (-1e9f64..1e9).prop_map(|f| json!(f)),
        "[a-zA-Z0-9/:._ -]{0,12}".prop_map(Value::String),
        Just(json!("auto")),
        Just(json!({ "Ref": "VpcId" })),
        Just(json!({ "Fn::GetAtt": ["Users", "Url"] })),
        Just(json!({ "Fn::GetAtt": ["Users", "Nope"] })),
        Just(json!({ "Fn::Sub": "${Users.ListenerPort}-${Users}" })),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[A-Za-z]{1,10}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every property of an App, and one it does not have.
fn keys() -> Vec<&'static str> {
    let mut k = fargate_macro::spec::APP_KEYS.to_vec();
    k.push("Bogus");
    k
}

fn check(tpl: &Value) {
    match expand(tpl, &Settings::default()) {
        Ok(out) => {
            let text = out.to_string();
            assert!(
                !text.contains("Fargate::App"),
                "an App was left in the output"
            );
        }
        Err(problems) => {
            assert!(!problems.is_empty());
            for p in problems.iter() {
                let s = p.to_string();
                assert!(
                    s.starts_with("Resource [") || s.starts_with("Template"),
                    "{s}"
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn mutated_properties_never_panic(edits in prop::collection::vec((prop::sample::select(keys()), any_json(), any::<bool>()), 1..5)) {
        let mut tpl = base();
        for (k, v, remove) in edits {
            let props = tpl["Resources"]["Users"]["Properties"].as_object_mut().unwrap();
            if remove { props.remove(k); } else { props.insert(k.to_string(), v); }
        }
        check(&tpl);
    }

    #[test]
    fn nested_mutations_never_panic(path in prop::sample::select(vec!["LoadBalancer", "Scaling", "LoadTest", "Discovery", "Network"]), key in "[A-Za-z]{1,14}", v in any_json()) {
        let mut tpl = base();
        let props = tpl["Resources"]["Users"]["Properties"].as_object_mut().unwrap();
        let entry = props.entry(path.to_string()).or_insert(json!({}));
        if let Some(m) = entry.as_object_mut() { m.insert(key, v); }
        check(&tpl);
    }

    #[test]
    fn random_templates_never_panic(resources in prop::collection::btree_map("[A-Z][a-z]{0,6}", (any::<bool>(), any_json()), 0..4), outputs in any_json()) {
        let mut res = serde_json::Map::new();
        for (id, (is_app, props)) in resources {
            res.insert(id, json!({ "Type": if is_app { "Fargate::App" } else { "AWS::SNS::Topic" }, "Properties": props }));
        }
        check(&json!({ "Resources": res, "Outputs": outputs }));
    }

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,200}") {
        if let Ok(v) = template::parse(&text) { let _ = expand(&v, &Settings::default()); }
    }
}
