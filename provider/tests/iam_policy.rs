//! The provider's role in `cfn/provider.yaml` allows every AWS API call the provider's code
//! makes. IAM evaluates each action separately and denies what no statement allows
//! (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html),
//! and ELBv2 authorises tags given to CreateListener/CreateRule as `elasticloadbalancing:AddTags`
//! (https://docs.aws.amazon.com/elasticloadbalancing/latest/userguide/tagging-resources-during-creation.html),
//! so a call added to the code without its permission fails only on AWS.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

const VERBS: &[&str] = &[
    "describe",
    "create",
    "modify",
    "delete",
    "update",
    "put",
    "get",
    "invoke",
    "add",
    "remove",
    "register",
    "deregister",
    "list",
    "set",
];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `describe_tags` -> `DescribeTags` for each `.verb_noun()` call followed (after builder
/// calls) by `.send()`.
fn sdk_operations(text: &str) -> BTreeSet<String> {
    let mut ops = BTreeSet::new();
    for (i, _) in text.match_indices(".") {
        let rest = &text[i + 1..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
            .collect();
        if !rest[name.len()..].starts_with("()") || !(name.contains('_') || name == "invoke") {
            continue;
        }
        let verb = name.split('_').next().unwrap();
        if !VERBS.contains(&verb) || name.starts_with("get_or") || name.starts_with("set_") {
            continue;
        }
        // An SDK call is sent within the same statement.
        let stmt_end = rest.find(';').unwrap_or(rest.len());
        if !rest[..stmt_end].contains(".send()") {
            continue;
        }
        ops.insert(
            name.split('_')
                .map(|w| w[..1].to_uppercase() + &w[1..])
                .collect(),
        );
    }
    ops
}

#[test]
fn every_sdk_call_of_the_provider_is_allowed_by_its_role() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    sources(&root.join("src"), &mut files);
    let mut ops = BTreeSet::new();
    for f in &files {
        ops.extend(sdk_operations(&fs::read_to_string(f).unwrap()));
    }
    // The scan must see the calls it is meant to guard.
    for known in [
        "CreateListener",
        "DescribeTags",
        "UpdateService",
        "Invoke",
        "UpdateItem",
    ] {
        assert!(ops.contains(known), "scan missed {known}: {ops:?}");
    }
    let policy = fs::read_to_string(root.join("../cfn/provider.yaml")).unwrap();
    let missing: Vec<_> = ops
        .iter()
        .filter(|op| {
            let action = if op.as_str() == "Invoke" {
                "InvokeFunction"
            } else {
                op.as_str()
            };
            !policy.contains(&format!(":{action}"))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "cfn/provider.yaml allows none of {missing:?}"
    );
}

#[test]
fn tags_on_create_are_allowed_only_on_create() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let policy = fs::read_to_string(root.join("../cfn/provider.yaml")).unwrap();
    let at = policy.find("elasticloadbalancing:AddTags").expect(
        "cfn/provider.yaml allows elasticloadbalancing:AddTags (tags on CreateListener/CreateRule)",
    );
    let statement = &policy[at..policy[at..].find("- Sid:").map_or(policy.len(), |e| at + e)];
    assert!(
        statement.contains("elasticloadbalancing:CreateAction")
            && statement.contains("CreateListener")
            && statement.contains("CreateRule"),
        "AddTags is limited to tagging on CreateListener and CreateRule: {statement}"
    );
}

/// The statements of the provider's roles that allow `action` (text from one `- Sid:` to the
/// next, or to the blank line that ends the policy).
fn statements_allowing<'a>(policy: &'a str, action: &str) -> Vec<&'a str> {
    let starts: Vec<usize> = policy.match_indices("- Sid:").map(|(i, _)| i).collect();
    starts
        .iter()
        .enumerate()
        .map(|(n, &s)| {
            let next = starts.get(n + 1).copied().unwrap_or(policy.len());
            let blank = policy[s..].find("\n\n").map_or(policy.len(), |b| s + b);
            &policy[s..next.min(blank)]
        })
        .filter(|st| st.contains(&format!(":{action}")))
        .collect()
}

/// Changing a listener or rule, scaling a service and invoking a worker change what other
/// stacks may own: every statement allowing one is limited by a resource tag, which IAM
/// evaluates per resource (aws:ResourceTag,
/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-resourcetag).
/// The provider's own function (invoked by name for the fan-out) is the one exception.
#[test]
fn actions_on_other_stacks_resources_need_an_ownership_tag() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let policy = fs::read_to_string(root.join("../cfn/provider.yaml")).unwrap();
    for action in [
        "ModifyListener",
        "DeleteListener",
        "ModifyRule",
        "DeleteRule",
        "UpdateService",
        "InvokeFunction",
    ] {
        let statements = statements_allowing(&policy, action);
        assert!(!statements.is_empty(), "no statement allows {action}");
        for st in statements {
            let own_function = st.contains("function:${AWS::StackName}-provider");
            assert!(
                own_function || st.contains("aws:ResourceTag/"),
                "{action} is allowed without a resource-tag condition: {st}"
            );
            // A tag anyone may put on a function is not ownership: the workers are also
            // required to be a stack's (aws: tags are CloudFormation's alone).
            // PostCreate invokes the user's own function, which no stack of ours made: the
            // owner opts it in with fargate-app:post-create=true (tagging needs
            // lambda:TagResource on it).
            let post_create = st.contains("Sid: PostCreateFunctions");
            if post_create {
                assert!(
                    st.contains("aws:ResourceTag/fargate-app:post-create: \"true\""),
                    "PostCreate functions are invoked without their opt-in tag: {st}"
                );
            }
            if action == "InvokeFunction" && !own_function && !post_create {
                assert!(
                    st.contains("aws:ResourceTag/aws:cloudformation:"),
                    "workers are invoked on a user-settable tag alone: {st}"
                );
            }
        }
    }
}
