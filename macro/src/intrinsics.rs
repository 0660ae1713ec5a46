//! Builders for CloudFormation intrinsic functions, and the test for "is this an intrinsic".

use serde_json::{json, Value};

/// `{"Ref": name}`
pub fn ref_(name: &str) -> Value {
    json!({ "Ref": name })
}

/// `{"Fn::GetAtt": [resource, attribute]}`
pub fn get_att(resource: &str, attribute: &str) -> Value {
    json!({ "Fn::GetAtt": [resource, attribute] })
}

/// `{"Fn::Sub": template}`
pub fn sub(template: &str) -> Value {
    json!({ "Fn::Sub": template })
}

/// `{"Fn::Join": [sep, parts]}`
pub fn join(sep: &str, parts: Vec<Value>) -> Value {
    json!({ "Fn::Join": [sep, parts] })
}

/// `{"Fn::ImportValue": name}`
pub fn import_value(name: &str) -> Value {
    json!({ "Fn::ImportValue": name })
}

/// `{"Fn::Select": [index, {"Fn::Split": [sep, value]}]}`
pub fn select_split(index: usize, sep: &str, value: Value) -> Value {
    json!({ "Fn::Select": [index, { "Fn::Split": [sep, value] }] })
}

/// An ARN built with the stack's partition, region and account:
/// `arn_sub("ssm", "parameter/x")` is `arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/x`.
pub fn arn_sub(service: &str, resource: &str) -> Value {
    sub(&format!(
        "arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{resource}"
    ))
}

/// True for a value CloudFormation resolves at deploy time (`{"Ref": ..}`, `{"Fn::...": ..}`,
/// `{"Condition": ..}`): such a value is passed through untouched, never validated.
pub fn is_intrinsic(v: &Value) -> bool {
    match v {
        Value::Object(m) if m.len() == 1 => {
            let k = m.keys().next().map(String::as_str).unwrap_or("");
            k == "Ref" || k == "Condition" || k.starts_with("Fn::")
        }
        _ => false,
    }
}

/// Builds an `Fn::Sub` from literal text and values: `Ref`/`GetAtt` values are written inline
/// (`${X}`, `${X.Attr}`), literals are copied, anything else becomes a named variable.
#[derive(Debug, Default)]
pub struct SubBuilder {
    text: String,
    vars: serde_json::Map<String, Value>,
}

impl SubBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn text(mut self, s: &str) -> Self {
        self.text.push_str(&s.replace("${", "${!"));
        self
    }

    /// Appends a value; `name` is the variable used when it cannot be written inline.
    pub fn value(mut self, name: &str, v: &Value) -> Self {
        // Another `Fn::Sub` is spliced in: its text is already a Sub template.
        if let Some(sub) = v
            .as_object()
            .filter(|m| m.len() == 1)
            .and_then(|m| m.get("Fn::Sub"))
        {
            match sub {
                Value::String(t) => {
                    self.text.push_str(t);
                    return self;
                }
                Value::Array(a) if a.len() == 2 => {
                    if let (Some(t), Some(vars)) = (a[0].as_str(), a[1].as_object()) {
                        if vars.keys().all(|k| !self.vars.contains_key(k)) {
                            self.text.push_str(t);
                            self.vars.extend(vars.clone());
                            return self;
                        }
                    }
                }
                _ => {}
            }
        }
        match inline_form(v) {
            Some(inline) => self.text.push_str(&inline),
            None => match v {
                Value::String(s) => self.text.push_str(&s.replace("${", "${!")),
                Value::Number(n) => self.text.push_str(&n.to_string()),
                Value::Bool(b) => self.text.push_str(&b.to_string()),
                _ => {
                    self.text.push_str(&format!("${{{name}}}"));
                    self.vars.insert(name.to_string(), v.clone());
                }
            },
        }
        self
    }

    /// A plain string when nothing is substituted, else an `Fn::Sub`.
    pub fn build(self) -> Value {
        if self.vars.is_empty() {
            if !self.text.contains("${") {
                return Value::String(self.text);
            }
            return json!({ "Fn::Sub": self.text });
        }
        json!({ "Fn::Sub": [self.text, self.vars] })
    }
}

/// `${X}` for `{"Ref": "X"}`, `${X.A}` for `{"Fn::GetAtt": ["X", "A"]}`.
pub fn inline_form(v: &Value) -> Option<String> {
    let m = v.as_object().filter(|m| m.len() == 1)?;
    if let Some(Value::String(r)) = m.get("Ref") {
        return Some(format!("${{{r}}}"));
    }
    if let Some(Value::Array(a)) = m.get("Fn::GetAtt") {
        if let [Value::String(x), Value::String(attr)] = a.as_slice() {
            return Some(format!("${{{x}.{attr}}}"));
        }
    }
    None
}
