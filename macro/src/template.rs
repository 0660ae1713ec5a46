//! Reading templates: JSON, or YAML with CloudFormation's short-form tags (`!Ref`, `!GetAtt A.B`,
//! `!Sub`, ...), into the JSON form CloudFormation hands the macro; and writing them back.

use serde_json::{Map, Number, Value};
use serde_yaml_ng::value::TaggedValue;
use serde_yaml_ng::Value as Yaml;

/// Parses a template. JSON is tried first (it is what the macro receives); anything else is
/// read as YAML.
pub fn parse(text: &str) -> Result<Value, String> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        if let Ok(v) = serde_json::from_str::<Value>(text) {
            return Ok(v);
        }
    }
    let yaml: Yaml = serde_yaml_ng::from_str(text).map_err(|e| e.to_string())?;
    yaml_to_json(yaml)
}

/// Writes a template as pretty JSON (with a final newline).
pub fn to_json(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).expect("a serde_json::Value always serialises");
    s.push('\n');
    s
}

/// Writes a template as YAML, intrinsics in their long form.
pub fn to_yaml(v: &Value) -> Result<String, String> {
    serde_yaml_ng::to_string(v).map_err(|e| e.to_string())
}

fn yaml_to_json(y: Yaml) -> Result<Value, String> {
    Ok(match y {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(b),
        Yaml::Number(n) => number(&n)?,
        Yaml::String(s) => Value::String(s),
        Yaml::Sequence(seq) => Value::Array(
            seq.into_iter()
                .map(yaml_to_json)
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Yaml::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match k {
                    Yaml::String(s) => s,
                    Yaml::Number(n) => n.to_string(),
                    Yaml::Bool(b) => b.to_string(),
                    other => return Err(format!("unsupported mapping key {other:?}")),
                };
                out.insert(key, yaml_to_json(v)?);
            }
            Value::Object(out)
        }
        Yaml::Tagged(t) => tagged(*t)?,
    })
}

fn number(n: &serde_yaml_ng::Number) -> Result<Value, String> {
    if let Some(i) = n.as_i64() {
        Ok(Value::Number(i.into()))
    } else if let Some(u) = n.as_u64() {
        Ok(Value::Number(u.into()))
    } else {
        let f = n.as_f64().unwrap_or(f64::NAN);
        Number::from_f64(f)
            .map(Value::Number)
            .ok_or_else(|| format!("number {n} cannot be represented in JSON"))
    }
}

/// Short-form tags and the long form they stand for.
fn tagged(t: TaggedValue) -> Result<Value, String> {
    let tag = t.tag.to_string();
    let name = tag.trim_start_matches('!');
    let inner = yaml_to_json(t.value)?;
    let key = match name {
        "Ref" => "Ref".to_string(),
        "Condition" => "Condition".to_string(),
        "GetAtt" => {
            // `!GetAtt A.B` (first dot splits; the attribute may contain dots) or `!GetAtt [A, B]`.
            let v = match inner {
                Value::String(s) => match s.split_once('.') {
                    Some((a, b)) => Value::Array(vec![a.into(), b.into()]),
                    None => return Err(format!("!GetAtt {s}: expected Resource.Attribute")),
                },
                other => other,
            };
            return Ok(single("Fn::GetAtt", v));
        }
        "Base64" | "Cidr" | "FindInMap" | "GetAZs" | "ImportValue" | "Join" | "Select"
        | "Split" | "Sub" | "Transform" | "And" | "Equals" | "If" | "Not" | "Or" | "Length"
        | "ToJsonString" | "ForEach" => format!("Fn::{name}"),
        other => return Err(format!("unknown tag !{other}")),
    };
    Ok(single(&key, inner))
}

fn single(key: &str, v: Value) -> Value {
    let mut m = Map::new();
    m.insert(key.to_string(), v);
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn short_forms_become_long_forms() {
        let t = parse(
            "A: !Ref X\nB: !GetAtt R.Attr.Sub\nC: !Sub 'x-${AWS::Region}'\nD: !If [Cond, 1, !Ref AWS::NoValue]\nE: !GetAtt [R, Arn]\nF: !Condition C1\n",
        )
        .unwrap();
        assert_eq!(
            t,
            json!({
                "A": {"Ref": "X"},
                "B": {"Fn::GetAtt": ["R", "Attr.Sub"]},
                "C": {"Fn::Sub": "x-${AWS::Region}"},
                "D": {"Fn::If": ["Cond", 1, {"Ref": "AWS::NoValue"}]},
                "E": {"Fn::GetAtt": ["R", "Arn"]},
                "F": {"Condition": "C1"}
            })
        );
    }

    #[test]
    fn unknown_tag_is_an_error() {
        assert!(parse("A: !Bogus x\n").unwrap_err().contains("!Bogus"));
    }

    #[test]
    fn json_round_trips() {
        let v = json!({"Resources": {"A": {"Type": "X", "Properties": {"N": 1.5}}}});
        assert_eq!(parse(&to_json(&v)).unwrap(), v);
        assert_eq!(parse(&to_yaml(&v).unwrap()).unwrap(), v);
    }
}
