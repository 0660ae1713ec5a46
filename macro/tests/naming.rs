//! Small contracts behind the goldens: rule names, priority bands, ECR repositories.

use fargate_macro::gen::gates::{rule_name, RULE_NAME_PREFIX};
use fargate_macro::gen::iam::ecr_repository;
use fargate_macro::reader::Val;
use fargate_macro::spec::priority_band;

/// EventBridge rule names are 1-64 of `[.-_A-Za-z0-9]`; the stack part is 12 hex digits.
/// https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html
#[test]
fn rule_names_fit_64_characters_and_stay_unique() {
    let name = |id: &str, kind: &str| {
        let v = rule_name(id, kind);
        let text = v["Fn::Sub"][0].as_str().unwrap().to_string();
        text.replace("${StackTag}", "0123456789ab")
    };
    for id in ["A", &"B".repeat(31), &"C".repeat(32), &"D".repeat(200)] {
        for kind in ["alarm", "recheck"] {
            let n = name(id, kind);
            assert!(n.len() <= 64, "{n} is {} characters", n.len());
            assert!(n.starts_with(RULE_NAME_PREFIX));
            assert!(
                n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c)),
                "{n}"
            );
        }
    }
    // Two long IDs that share the kept prefix still differ.
    let long = "X".repeat(60);
    assert_ne!(
        name(&format!("{long}One"), "alarm"),
        name(&format!("{long}Two"), "alarm")
    );
    // A short ID is kept whole.
    assert!(name("Api", "alarm").contains("-Api-alarm"));
}

fn lit(v: &[&str]) -> Vec<Val<String>> {
    v.iter().map(|s| Val::Lit(s.to_string())).collect()
}

/// The ALB evaluates rules lowest priority first: specific rules get lower numbers.
/// https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-update-rules.html
#[test]
fn catch_alls_take_the_top_of_the_range() {
    let both = priority_band(&lit(&["/api/*"]), &lit(&["a.example.com"]), 1, 50000);
    let one = priority_band(&lit(&["/api/*"]), &[], 1, 50000);
    let host_only = priority_band(&[], &lit(&["a.example.com"]), 1, 50000);
    let catch_all = priority_band(&lit(&["/*"]), &[], 1, 50000);
    let star_host = priority_band(&lit(&["*"]), &lit(&["*"]), 1, 50000);
    assert_eq!(both, (1, 16666));
    assert_eq!(one, (16667, 33332));
    assert_eq!(host_only, one);
    assert_eq!(catch_all, (33333, 50000));
    assert_eq!(star_host, catch_all);
    assert!(both.1 < one.0 && one.1 < catch_all.0);
    // A range too small to split is used whole.
    assert_eq!(priority_band(&lit(&["/*"]), &[], 7, 8), (7, 8));
    // An intrinsic path counts as specific (it is not a known catch-all).
    let expr = vec![Val::Expr(serde_json::json!({ "Ref": "P" }))];
    assert_eq!(priority_band(&expr, &[], 1, 50000), one);
}

/// Private ECR image URIs: ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO[:TAG|@DIGEST].
/// https://docs.aws.amazon.com/AmazonECR/latest/userguide/docker-pull-ecr-image.html
#[test]
fn ecr_repositories_are_read_from_image_uris() {
    assert_eq!(
        ecr_repository("123456789012.dkr.ecr.us-west-2.amazonaws.com/service-users:v0.0.2"),
        Some(("123456789012", "us-west-2", "service-users"))
    );
    assert_eq!(
        ecr_repository("123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/api@sha256:abc"),
        Some(("123456789012", "eu-west-1", "team/api"))
    );
    assert_eq!(
        ecr_repository("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/app"),
        Some(("123456789012", "cn-north-1", "app"))
    );
    assert_eq!(ecr_repository("public.ecr.aws/nginx/nginx:1.27"), None);
    assert_eq!(ecr_repository("nginx:1.27"), None);
    assert_eq!(ecr_repository("localhost:5000/app"), None);
}
