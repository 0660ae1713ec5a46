//! The macro answers to `FargateApp` and to a release's pinned name (`FargateApp-2026-12`):
//! `make deploy` installs both (`cfn/macro.yaml`'s `MacroName` pattern), and a template naming
//! either is the macro's to expand, with no "missing Transform" warning, and loses that name from
//! its `Transform` once expanded (CloudFormation runs each named macro once).

use fargate_macro::expand::{is_macro_name, Warning};
use fargate_macro::{expand_with_warnings, template, Settings};
use serde_json::json;

#[test]
fn macro_names() {
    for (name, ours) in [
        ("FargateApp", true),
        ("FargateApp-2026-12", true),
        ("FargateApp-2026-12-1", true),
        ("FargateApp-2026-12-17", true),
        ("FargateApp-2026", false),
        ("FargateApp-26-12", false),
        ("FargateApp-2026-12-", false),
        ("FargateApp-2026-12-x", false),
        ("FargateAppX", false),
        ("fargateapp", false),
        ("AWS::Serverless-2016-10-31", false),
    ] {
        assert_eq!(is_macro_name(name), ours, "{name}");
    }
}

#[test]
fn a_pinned_transform_expands_without_warning_and_leaves_other_transforms() {
    for (transform, left) in [
        (json!("FargateApp-2026-12"), None),
        (
            json!(["AWS::Serverless-2016-10-31", "FargateApp-2026-12"]),
            Some(json!(["AWS::Serverless-2016-10-31"])),
        ),
        (json!("SomethingElse"), Some(json!("SomethingElse"))),
    ] {
        let mut t = template::parse(
            "Resources:\n  Web:\n    Type: Fargate::App\n    Properties:\n      Image: nginx\n      Network: { VpcId: vpc-1, Subnets: [subnet-1] }\n",
        )
        .unwrap();
        t["Transform"] = transform.clone();
        let out = expand_with_warnings(&t, &Settings::default()).unwrap();
        let ours = left.is_none() || left.as_ref().is_some_and(|l| l.is_array());
        assert_eq!(
            out.warnings
                .iter()
                .any(|w| matches!(w, Warning::MissingTransform)),
            !ours,
            "{transform}"
        );
        assert_eq!(out.template.get("Transform"), left.as_ref(), "{transform}");
    }
}
