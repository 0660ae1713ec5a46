//! Reading templates: JSON, or YAML with CloudFormation's short-form tags (`!Ref`, `!GetAtt A.B`,
//! `!Sub`, ...), into the JSON form CloudFormation hands the macro; and writing them back.

use serde_json::Value;

/// Parses a template. JSON is tried first (it is what the macro receives); anything else is
/// read as YAML. Bounds and positions: `crate::source`.
pub fn parse(text: &str) -> Result<Value, String> {
    crate::source::parse(text)
        .map(|s| s.value)
        .map_err(|e| e.to_string())
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
