//! The schema editors validate a source template with (`fargate-app schema`): a JSON Schema for
//! a CloudFormation template that applies the `Fargate::App` registry schema
//! (`schema/Fargate-App.json`, built into the binary) to the `Properties` of every resource of
//! that type, in one self-contained file a user may keep anywhere.
//!
//! YAML language servers read a CloudFormation short-form tag as its plain node: `!Ref Port` is
//! the string `Port`, `!If [...]` a list (the `customTags` setting of redhat's YAML server). So
//! that intrinsics pass where a number, a list or an object goes, every value of the registry
//! schema is relaxed to "that value, or an intrinsic": a string (a scalar tag), a list (a sequence
//! tag), or an object of one key `Ref`, `Condition` or `Fn::*` (the long form,
//! https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference.html).
//! What stays checked: unknown and misspelt property names, required properties, and the shape
//! of literal maps; values themselves are `fargate-app lint`'s.

use serde_json::{json, Map, Value};

/// The registry schema, as shipped in `schema/`.
pub const REGISTRY_SCHEMA: &str = include_str!("../../schema/Fargate-App.json");

const INTRINSIC: &str = "#/definitions/FargateAppIntrinsic";

/// Keys of a schema node whose values are schemas.
const SCHEMA_VALUED: &[&str] = &["items", "additionalProperties", "not", "contains"];
/// Keys whose values map names to schemas.
const SCHEMA_MAPS: &[&str] = &["properties", "patternProperties"];
/// Keys whose values are lists of schemas.
const SCHEMA_LISTS: &[&str] = &["anyOf", "oneOf", "allOf", "prefixItems"];

/// `schema`'s sub-schemas relaxed, then `schema` itself wrapped: it or an intrinsic.
fn relaxed(schema: &Value) -> Value {
    let Value::Object(m) = schema else {
        return schema.clone();
    };
    let inner = relax_children(m);
    // A schema that is only `true`-like (no constraint) needs no alternative.
    if inner.keys().all(|k| k == "description" || k == "default") {
        return Value::Object(inner);
    }
    let description = inner.get("description").cloned();
    let mut wrapped = json!({ "anyOf": [Value::Object(inner), { "$ref": INTRINSIC }] });
    if let Some(d) = description {
        // Hover shows the outer node's description.
        wrapped["description"] = d;
    }
    wrapped
}

fn relax_children(m: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in m {
        let v = if SCHEMA_VALUED.contains(&k.as_str()) && v.is_object() {
            relaxed(v)
        } else if SCHEMA_MAPS.contains(&k.as_str()) {
            match v {
                Value::Object(props) => Value::Object(
                    props
                        .iter()
                        .map(|(name, s)| (name.clone(), relaxed(s)))
                        .collect(),
                ),
                other => other.clone(),
            }
        } else if SCHEMA_LISTS.contains(&k.as_str()) {
            match v {
                Value::Array(a) => Value::Array(a.iter().map(relaxed).collect()),
                other => other.clone(),
            }
        } else {
            v.clone()
        };
        out.insert(k.clone(), v);
    }
    out
}

/// The editor schema for a whole template.
pub fn editor_schema() -> Value {
    let registry: Value =
        serde_json::from_str(REGISTRY_SCHEMA).expect("schema/Fargate-App.json is JSON");
    let mut definitions: Map<String, Value> = registry["definitions"]
        .as_object()
        .map(|d| {
            d.iter()
                // A definition's root is wrapped where it is used (`$ref`), its insides here.
                .map(|(k, v)| {
                    let inner = v.as_object().map(relax_children).unwrap_or_default();
                    (k.clone(), Value::Object(inner))
                })
                .collect()
        })
        .unwrap_or_default();
    definitions.insert(
        "FargateAppIntrinsic".into(),
        json!({
            "description": "A CloudFormation intrinsic function: a short-form tag (!Ref, !Sub, !GetAtt, !If, ...) or its long form ({\"Ref\": ...}, {\"Fn::Sub\": ...})",
            "anyOf": [
                { "type": "string" },
                { "type": "array" },
                {
                    "type": "object",
                    "minProperties": 1,
                    "maxProperties": 1,
                    "propertyNames": { "pattern": "^(Ref|Condition|Fn::[A-Za-z0-9]+)$" }
                }
            ]
        }),
    );
    let properties = relax_children(
        json!({ "properties": registry["properties"] })
            .as_object()
            .unwrap(),
    );
    let mut app_properties = json!({
        "type": "object",
        "description": registry["description"],
        "properties": properties["properties"],
        "required": registry["required"],
        "additionalProperties": false,
    });
    // One of `Image` and `TaskDefinition` is required.
    if let Some(one_of) = registry.get("oneOf") {
        app_properties["oneOf"] = one_of.clone();
    }
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "CloudFormation template with Fargate::App resources",
        "description": "Made by `fargate-app schema` from the Fargate::App registry schema, relaxed so that CloudFormation intrinsics pass wherever a value goes. Other resource types are left to cfn-lint (`fargate-app lint`).",
        "type": "object",
        "definitions": definitions,
        "properties": {
            "Transform": {
                "description": "FargateApp (the latest release) or FargateApp-YYYY-MM (a release pinned) expands the Fargate::App resources; deploy with CAPABILITY_AUTO_EXPAND."
            },
            "Resources": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "properties": { "Type": { "type": "string" } },
                    "if": { "properties": { "Type": { "const": "Fargate::App" } }, "required": ["Type"] },
                    "then": { "properties": { "Properties": app_properties }, "required": ["Properties"] }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_become_value_or_intrinsic_and_names_stay_checked() {
        let s = editor_schema();
        let app = &s["properties"]["Resources"]["additionalProperties"]["then"]["properties"]
            ["Properties"];
        assert_eq!(app["additionalProperties"], false);
        assert!(app["required"]
            .as_array()
            .unwrap()
            .contains(&json!("Network")));
        assert_eq!(
            app["oneOf"],
            json!([{ "required": ["Image"] }, { "required": ["TaskDefinition"] }])
        );
        let port = &app["properties"]["Port"];
        assert_eq!(port["anyOf"][1]["$ref"], INTRINSIC);
        assert_eq!(port["anyOf"][0]["$ref"], "#/definitions/Port");
        // Inside a definition: its properties are relaxed, its own root is not (its users wrap it).
        let network = &s["definitions"]["Network"];
        assert!(network.get("anyOf").is_none());
        assert_eq!(
            network["properties"]["Subnets"]["anyOf"][1]["$ref"],
            INTRINSIC
        );
        // Every $ref resolves inside the file.
        fn refs(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::Object(m) => {
                    if let Some(Value::String(r)) = m.get("$ref") {
                        out.push(r.clone());
                    }
                    m.values().for_each(|x| refs(x, out));
                }
                Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
                _ => {}
            }
        }
        let mut found = Vec::new();
        refs(&s, &mut found);
        assert!(found.len() > 20);
        for r in found {
            let name = r.strip_prefix("#/definitions/").expect("local ref");
            assert!(s["definitions"].get(name).is_some(), "{r}");
        }
    }
}
