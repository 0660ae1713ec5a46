//! Property tests of the template reader: any text gives a template or an error, never a panic;
//! a template written as JSON or YAML reads back the same; every node's position is where its
//! text is.

use fargate_macro::{source, template};
use proptest::prelude::*;
use serde_json::{json, Value};

fn any_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        // serde_json (without its float_roundtrip feature) may misread the 17th digit of a
        // float; templates carry short decimals.
        (-1_000_000i64..1_000_000).prop_map(|n| json!(n as f64 / 1000.0)),
        // Strings that look like other scalars must stay strings.
        prop_oneof![
            "[a-zA-Z0-9/:._ #&*!-]{0,12}",
            Just("0x1F".to_string()),
            Just("007".to_string()),
            Just("yes".to_string()),
            Just("~".to_string()),
            Just("1e3".to_string()),
            Just("é ü 中".to_string()),
            Just("line\nbreak".to_string()),
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 40, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map("[A-Za-z0-9 .:-]{1,10}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn any_text_reads_or_fails_cleanly(text in "[ -~\n\t{}\\[\\]:,&*!|>'\"-]{0,200}") {
        match source::parse(&text) {
            Ok(s) => { let _ = s.positions.find("a.b[0]"); }
            Err(e) => prop_assert!(!e.message.is_empty()),
        }
    }

    #[test]
    fn json_and_yaml_read_back(v in any_value()) {
        let root = json!({ "Root": v });
        let compact = serde_json::to_string(&root).unwrap();
        prop_assert_eq!(&source::parse(&compact).unwrap().value, &root);
        prop_assert_eq!(&source::parse(&template::to_json(&root)).unwrap().value, &root);
        prop_assert_eq!(&source::parse(&template::to_yaml(&root).unwrap()).unwrap().value, &root);
    }

    /// In pretty JSON each key sits at the start of its own line, after its depth's indent.
    #[test]
    fn json_key_positions_match_the_text(keys in prop::collection::vec("[A-Za-z]{1,8}", 1..6)) {
        let mut v = json!(1);
        for k in keys.iter().rev() {
            v = json!({ k.clone(): v });
        }
        let text = template::to_json(&v);
        let s = source::parse(&text).unwrap();
        let path = keys.join(".");
        let p = s.positions.find(&path);
        prop_assert_eq!(p.line as usize, keys.len() + 1);
        prop_assert_eq!(p.col as usize, 2 * keys.len() + 1);
        let line = text.lines().nth(keys.len()).unwrap();
        let expected = format!("\"{}\"", keys.last().unwrap());
        prop_assert!(line[p.col as usize - 1..].starts_with(&expected));
    }
}
