//! `cfn/install.json`: the one template that installs the provider and the macro together
//! (`aws cloudformation deploy --template-file cfn/install.json` with the zips' S3 location), made
//! from `cfn/provider.yaml` and `cfn/macro.yaml` so the three cannot drift. `UPDATE_GOLDEN=1`
//! rewrites it. The two stacks' parameters merge: one `CodeBucket`, `Architecture`,
//! `LogRetentionDays` and `ExportName` (the macro's `ProviderExportName` is the provider's
//! `ExportName` in one stack), and each zip keeps its own key (`ProviderCodeKey`, `MacroCodeKey`).

use fargate_macro::template;
use serde_json::{json, Map, Value};
use std::fs;
use std::path::{Path, PathBuf};

fn cfn() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../cfn")
}

fn read(name: &str) -> Value {
    template::parse(&fs::read_to_string(cfn().join(name)).unwrap()).unwrap()
}

/// Every `{"Ref": from}` becomes `{"Ref": to}`.
fn rename_ref(v: &mut Value, from: &str, to: &str) {
    match v {
        Value::Object(m) => {
            if m.len() == 1 && m.get("Ref").and_then(Value::as_str) == Some(from) {
                m.insert("Ref".into(), json!(to));
            }
            m.values_mut().for_each(|x| rename_ref(x, from, to));
        }
        Value::Array(a) => a.iter_mut().for_each(|x| rename_ref(x, from, to)),
        _ => {}
    }
}

fn section<'a>(t: &'a Value, name: &str) -> &'a Map<String, Value> {
    t[name].as_object().unwrap()
}

fn merged() -> Value {
    let mut provider = read("provider.yaml");
    let mut mac = read("macro.yaml");
    rename_ref(&mut provider, "CodeKey", "ProviderCodeKey");
    rename_ref(&mut mac, "CodeKey", "MacroCodeKey");
    rename_ref(&mut mac, "ProviderExportName", "ExportName");

    let mut params = Map::new();
    for (k, v) in section(&provider, "Parameters") {
        let k = if k == "CodeKey" { "ProviderCodeKey" } else { k };
        params.insert(k.to_string(), v.clone());
    }
    for (k, v) in section(&mac, "Parameters") {
        match k.as_str() {
            "CodeKey" => {
                params.insert("MacroCodeKey".into(), v.clone());
            }
            "ProviderExportName" => {}
            _ if params.contains_key(k) => {
                // Shared by both stacks: the same parameter, or the merge is wrong.
                assert_eq!(
                    params[k].get("AllowedValues"),
                    v.get("AllowedValues"),
                    "parameter {k} differs between provider.yaml and macro.yaml"
                );
            }
            _ => {
                params.insert(k.clone(), v.clone());
            }
        }
    }
    params["ProviderCodeKey"]["Description"] =
        json!("S3 key of the provider's zip (fargate-app-provider-<arch>.zip of a release)");
    params["MacroCodeKey"]["Description"] =
        json!("S3 key of the macro's zip (fargate-app-macro-<arch>.zip of a release)");

    let mut resources = section(&provider, "Resources").clone();
    for (k, v) in section(&mac, "Resources") {
        assert!(
            resources.insert(k.clone(), v.clone()).is_none(),
            "resource {k} is in both provider.yaml and macro.yaml"
        );
    }
    let mut outputs = section(&provider, "Outputs").clone();
    outputs.extend(section(&mac, "Outputs").clone());
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "FargateApp in one stack: the custom-resource provider (exporting the ServiceToken every expanded template imports) and the FargateApp macro. Made from cfn/provider.yaml and cfn/macro.yaml by macro/tests/install_template.rs.",
        "Parameters": params,
        "Resources": resources,
        "Outputs": outputs,
    })
}

#[test]
fn install_json_is_provider_and_macro_in_one_stack() {
    let want = template::to_json(&merged());
    let path = cfn().join("install.json");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        fs::write(&path, &want).unwrap();
    }
    let have = fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "cfn/install.json is not cfn/provider.yaml + cfn/macro.yaml (UPDATE_GOLDEN=1 cargo test -p fargate-app-macro --test install_template)"
    );
}

#[test]
fn every_reference_of_the_merged_template_names_a_parameter_or_resource() {
    let t = merged();
    let mut names: Vec<String> = section(&t, "Parameters").keys().cloned().collect();
    names.extend(section(&t, "Resources").keys().cloned());
    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("Ref") {
                    out.push(r.clone());
                }
                m.values().for_each(|x| refs(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    refs(&t["Resources"], &mut found);
    refs(&t["Outputs"], &mut found);
    for r in found {
        assert!(
            r.starts_with("AWS::") || names.contains(&r),
            "Ref {r} names nothing in the merged template"
        );
    }
    // A reference the merge did not rename would be caught above: prove it.
    let mut broken = t.clone();
    broken["Outputs"]["X"] = json!({"Value": {"Ref": "CodeKey"}});
    let mut found = Vec::new();
    refs(&broken["Outputs"], &mut found);
    assert!(found.iter().any(|r| !names.contains(r)));
}
