//! Notifications from a stack's own status events. CloudFormation sends "CloudFormation Stack
//! Status Change" events (source `aws.cloudformation`, `detail.stack-id`,
//! `detail.status-details.status`) to the default event bus; a rule whose pattern matches them
//! sends them to its targets. Rules read here: the rule matches only its own stack, it matches no
//! status it cannot see (it exists from its creation until CloudFormation deletes it during
//! DELETE_IN_PROGRESS), the topic's resource-based policy lets EventBridge publish for it, and the
//! message carries the URL the App serves.

use super::{items, owner, single, sub_text, target, App, Finding, Rule, Severity, Stack};
use serde_json::{json, Value};

const STACK_EVENT: &str =
    "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/event-detail-stack-status-change.html";

pub const OTHER_STACKS: Rule = Rule {
    code: "NOTIFY_PATTERN_NOT_THIS_STACK",
    severity: Severity::Error,
    rule: "every stack of the account and Region sends its Stack Status Change events to the default bus: a rule that notifies for its own stack names it in detail.stack-id",
    doc: STACK_EVENT,
};
pub const NEVER_DELIVERED: Rule = Rule {
    code: "NOTIFY_STATUS_NEVER_DELIVERED",
    severity: Severity::Error,
    rule: "a rule of the stack exists only between its creation and its deletion during DELETE_IN_PROGRESS: it never receives its stack's CREATE_IN_PROGRESS or DELETE_COMPLETE",
    doc: STACK_EVENT,
};
pub const NOT_PUBLISHABLE: Rule = Rule {
    code: "NOTIFY_TOPIC_NOT_PUBLISHABLE",
    severity: Severity::Error,
    rule: "EventBridge publishes to an SNS topic under the topic's resource-based policy: it allows events.amazonaws.com sns:Publish (for the rule, when it names a source ARN)",
    doc: "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html",
};
pub const NO_URL: Rule = Rule {
    code: "NOTIFY_MESSAGE_NO_URL",
    severity: Severity::Error,
    rule: "the input transformer's template is the message sent: it carries the App's URL (scheme, and the port its listener was given or the load balancer's name)",
    doc: "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html",
};

pub const RULES: &[&Rule] = &[&OTHER_STACKS, &NEVER_DELIVERED, &NOT_PUBLISHABLE, &NO_URL];

const THIS_STACK: &str = "AWS::StackId";

/// The page's example event, for the stack `stack_id` in `status`.
fn stack_event(stack_id: Value, status: &str) -> Value {
    json!({
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "CloudFormation Stack Status Change",
        "source": "aws.cloudformation",
        "account": "111122223333",
        "time": "2017-12-22T18:43:48Z",
        "region": "us-west-1",
        "resources": [stack_id.clone()],
        "detail": {
            "stack-id": stack_id,
            "status-details": { "status": status, "status-reason": "" },
            "client-request-token": "Console-CreateStack-7f59c3cf-00d4-4a9e-a5ad-3b9e8d4c3f2f",
        },
    })
}

/// Whether an event pattern matches an event: each field of the pattern is an object (its
/// fields matched in the event's) or an array of values one of which equals the event's value
/// (or one of its values, for an array); `None` for a filter beyond exact values (prefix,
/// anything-but, ...).
/// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html
pub fn pattern_matches(pattern: &Value, event: &Value) -> Option<bool> {
    let Value::Object(fields) = pattern else {
        return Some(false);
    };
    for (k, p) in fields {
        let e = event.get(k).unwrap_or(&Value::Null);
        let ok = match p {
            Value::Object(_) => pattern_matches(p, e)?,
            Value::Array(values) => {
                if values
                    .iter()
                    .any(|v| v.is_object() && single(v, "Ref").is_none())
                {
                    return None;
                }
                let candidates: Vec<&Value> = match e {
                    Value::Array(a) => a.iter().collect(),
                    other => vec![other],
                };
                candidates.iter().any(|c| values.contains(c))
            }
            _ => false,
        };
        if !ok {
            return Some(false);
        }
    }
    Some(true)
}

/// Stack status codes (the page's list: "For a complete list of stack status codes").
const STATUSES: &[&str] = &[
    "CREATE_IN_PROGRESS",
    "CREATE_FAILED",
    "CREATE_COMPLETE",
    "ROLLBACK_IN_PROGRESS",
    "ROLLBACK_FAILED",
    "ROLLBACK_COMPLETE",
    "DELETE_IN_PROGRESS",
    "DELETE_FAILED",
    "DELETE_COMPLETE",
    "UPDATE_IN_PROGRESS",
    "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
    "UPDATE_COMPLETE",
    "UPDATE_FAILED",
    "UPDATE_ROLLBACK_IN_PROGRESS",
    "UPDATE_ROLLBACK_FAILED",
    "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
    "UPDATE_ROLLBACK_COMPLETE",
];

/// A template value as text: literals as they are, `Ref`/`GetAtt`/`Sub` variables as `{{X}}` or
/// `{{X.Attr}}` (as `sub_text` writes them), `Fn::Join` joined, `Fn::If` as both branches.
fn text_of(v: &Value) -> String {
    if let Some(s) = v.as_str() {
        return s.to_string();
    }
    if let Some(t) = sub_text(v) {
        return t;
    }
    if let Some(Value::Array(a)) = single(v, "Fn::Join") {
        let sep = a.first().and_then(Value::as_str).unwrap_or("");
        return items(a.get(1).unwrap_or(&Value::Null))
            .map(text_of)
            .collect::<Vec<_>>()
            .join(sep);
    }
    if let Some(Value::Array(a)) = single(v, "Fn::If") {
        return a
            .iter()
            .skip(1)
            .map(text_of)
            .collect::<Vec<_>>()
            .join(" | ");
    }
    if let Some(r) = single(v, "Ref").and_then(Value::as_str) {
        return format!("{{{{{r}}}}}");
    }
    if let (Some(t), Some(a)) = (target(v), super::attribute(v)) {
        return format!("{{{{{t}.{a}}}}}");
    }
    v.to_string()
}

/// Whether a topic policy of the stack lets EventBridge publish to `topic` for `rule`.
fn publishable(st: &Stack, topic: &str, rule: &str) -> bool {
    st.of_type("AWS::SNS::TopicPolicy").any(|(_, p)| {
        items(&p["Topics"]).any(|t| target(t) == Some(topic))
            && items(&p["PolicyDocument"]["Statement"]).any(|s| {
                let principal = &s["Principal"]["Service"];
                let events = principal == "events.amazonaws.com"
                    || items(principal).any(|x| x == "events.amazonaws.com");
                let actions: Vec<&Value> = match &s["Action"] {
                    Value::Array(a) => a.iter().collect(),
                    other => vec![other],
                };
                let publish = actions
                    .iter()
                    .any(|a| *a == "sns:Publish" || *a == "sns:*" || *a == "*");
                // A source-ARN condition must name this rule.
                let source_ok = s["Condition"]
                    .as_object()
                    .into_iter()
                    .flat_map(|c| c.values())
                    .filter_map(|ops| ops.get("aws:SourceArn"))
                    .all(|arn| target(arn) == Some(rule));
                s["Effect"] == "Allow" && events && publish && source_ok
            })
    })
}

/// What the message must name for `app`'s URL: the App's port claim (`.Port`) when its listener
/// is claimed by the provider, else the App's load balancer (`.DNSName`) when it has one and no
/// record of its own, else nothing beyond a scheme.
fn url_needs(st: &Stack, apps: &[App], app: &App) -> Option<String> {
    let own = |ty: &str| {
        st.of_type(ty)
            .map(|(id, _)| id)
            .find(|id| owner(apps, id).is_some_and(|o| o.name == app.name))
            .map(str::to_string)
    };
    if let Some(claim) = own("Custom::FargateListenerPort") {
        return Some(format!("{{{{{claim}.Port}}}}"));
    }
    if own("AWS::Route53::RecordSet").is_some() {
        return None;
    }
    own("AWS::ElasticLoadBalancingV2::LoadBalancer").map(|lb| format!("{{{{{lb}.DNSName}}}}"))
}

pub fn check(st: &Stack, apps: &[App]) -> Vec<Finding> {
    let mut out = Vec::new();
    for (id, p) in st.of_type("AWS::Events::Rule") {
        let pattern = &p["EventPattern"];
        let this = |status: &str| {
            pattern_matches(pattern, &stack_event(json!({ "Ref": THIS_STACK }), status))
        };
        let stack_events = STATUSES.iter().any(|s| this(s) == Some(true));
        if !stack_events {
            continue;
        }
        let app = owner(apps, id);
        let app_name = app.map(|a| a.name.as_str()).unwrap_or("-");
        let other = json!("arn:aws:cloudformation:us-west-1:111122223333:stack/another-branch/b6ef3d70-e74f-11e7-8d0e-500c28604c82");
        if STATUSES
            .iter()
            .any(|s| pattern_matches(pattern, &stack_event(other.clone(), s)) == Some(true))
        {
            out.push(Finding::new(
                &OTHER_STACKS,
                app_name,
                &[id],
                format!("{id} matches the status events of every stack of the account, not only its own (give detail.stack-id: [!Ref AWS::StackId])"),
            ));
        }
        for never in ["CREATE_IN_PROGRESS", "DELETE_COMPLETE"] {
            if this(never) == Some(true) {
                out.push(Finding::new(
                    &NEVER_DELIVERED,
                    app_name,
                    &[id],
                    format!(
                        "{id} waits for {never}, which its stack reaches while {id} does not exist"
                    ),
                ));
            }
        }
        for t in items(&p["Targets"]) {
            let arn = &t["Arn"];
            if let Some(topic) = target(arn).filter(|x| st.type_of(x) == Some("AWS::SNS::Topic")) {
                if !publishable(st, topic, id) {
                    out.push(Finding::new(
                        &NOT_PUBLISHABLE,
                        app_name,
                        &[id, topic],
                        format!("no topic policy of the stack lets events.amazonaws.com publish to {topic} for {id}"),
                    ));
                }
            }
            let Some(app) = app else { continue };
            let template = &t["InputTransformer"]["InputTemplate"];
            let message = if template.is_null() {
                text_of(&t["Input"])
            } else {
                text_of(template)
            };
            let need = url_needs(st, apps, app);
            let has_scheme = message.contains("http://") || message.contains("https://");
            if !has_scheme || need.as_ref().is_some_and(|n| !message.contains(n.as_str())) {
                let what = need.unwrap_or_else(|| "a URL".into());
                out.push(Finding::new(
                    &NO_URL,
                    app_name,
                    &[id],
                    format!(
                        "{id}'s message ({message}) does not carry {}'s URL ({what})",
                        app.name
                    ),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The EventBridge page's CloudFormation pattern (`source` and `detail-type`) and the stack
    /// status page's event: exact values match, a missing field or another value does not.
    #[test]
    fn patterns_match_the_pages_stack_status_events() {
        let this = json!({ "Ref": THIS_STACK });
        let page = json!({"source": ["aws.cloudformation"], "detail-type": ["CloudFormation Stack Status Change"]});
        let own = json!({"source": ["aws.cloudformation"], "detail-type": ["CloudFormation Stack Status Change"],
            "detail": {"stack-id": [this.clone()], "status-details": {"status": ["CREATE_COMPLETE", "DELETE_IN_PROGRESS"]}}});
        let by_resources = json!({"source": ["aws.cloudformation"], "resources": [this.clone()]});
        let prefix = json!({"detail": {"stack-id": [{"prefix": "arn:aws:cloudformation"}]}});
        let other = json!("arn:aws:cloudformation:us-west-1:111122223333:stack/x/1");
        // pattern, stack, status, matches
        let cases = [
            (&page, &this, "CREATE_COMPLETE", Some(true)),
            (&page, &other, "CREATE_COMPLETE", Some(true)),
            (&own, &this, "CREATE_COMPLETE", Some(true)),
            (&own, &this, "DELETE_IN_PROGRESS", Some(true)),
            (&own, &this, "UPDATE_COMPLETE", Some(false)),
            (&own, &other, "CREATE_COMPLETE", Some(false)),
            (&by_resources, &this, "DELETE_IN_PROGRESS", Some(true)),
            (&by_resources, &other, "DELETE_IN_PROGRESS", Some(false)),
            (&prefix, &this, "CREATE_COMPLETE", None),
        ];
        for (pattern, stack, status, want) in cases {
            assert_eq!(
                pattern_matches(pattern, &stack_event(stack.clone(), status)),
                want,
                "{pattern} {stack} {status}"
            );
        }
    }

    fn stack(pattern: Value, policy: Option<Value>, message: Value) -> Stack {
        let mut r = json!({
            "WebService": {"Type": "AWS::ECS::Service", "Properties": {"TaskDefinition": {"Ref": "WebTaskDefinition"}}},
            "WebAutoListener": {"Type": "Custom::FargateListenerPort", "Properties": {}},
            "WebNotifyTopic": {"Type": "AWS::SNS::Topic", "Properties": {}},
            "WebNotifyRule": {"Type": "AWS::Events::Rule", "Properties": {"EventPattern": pattern,
                "Targets": [{"Id": "notify", "Arn": {"Ref": "WebNotifyTopic"},
                    "InputTransformer": {"InputPathsMap": {"status": "$.detail.status-details.status"}, "InputTemplate": message}}]}},
        });
        if let Some(p) = policy {
            r["WebNotifyTopicPolicy"] = json!({"Type": "AWS::SNS::TopicPolicy", "Properties": {
                "Topics": [{"Ref": "WebNotifyTopic"}], "PolicyDocument": {"Version": "2012-10-17", "Statement": [p]}}});
        }
        crate::model::test_stack(&r)
    }

    /// The resource-based policy page's SNS statement (Principal events.amazonaws.com, Action
    /// sns:Publish, a source-ARN condition on the rule), the stack's own pattern and a message
    /// with the claimed port; then each broken.
    #[test]
    fn a_notification_rule_is_found_wrong_the_way_aws_would_fail_it() {
        let own = json!({"source": ["aws.cloudformation"], "detail-type": ["CloudFormation Stack Status Change"],
            "detail": {"stack-id": [{"Ref": "AWS::StackId"}], "status-details": {"status": ["CREATE_COMPLETE", "DELETE_IN_PROGRESS"]}}});
        let allow = json!({"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sns:Publish",
            "Resource": {"Ref": "WebNotifyTopic"}, "Condition": {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["WebNotifyRule", "Arn"]}}}});
        let url = json!({"Fn::Join": ["", [{"Ref": "AWS::StackName"}, " Web <status>: ", {"Fn::Sub": "http://${Dns}:${WebAutoListener.Port}"}]]});
        let mut every_stack = own.clone();
        every_stack["detail"]
            .as_object_mut()
            .unwrap()
            .remove("stack-id");
        let mut complete = own.clone();
        complete["detail"]["status-details"]["status"] =
            json!(["CREATE_COMPLETE", "DELETE_COMPLETE"]);
        let mut other_rule = allow.clone();
        other_rule["Condition"]["ArnEquals"]["aws:SourceArn"] =
            json!({"Fn::GetAtt": ["OtherRule", "Arn"]});
        let mut lambda = allow.clone();
        lambda["Principal"]["Service"] = json!("lambda.amazonaws.com");
        let cases: Vec<(Value, Option<Value>, Value, Vec<&str>)> = vec![
            (own.clone(), Some(allow.clone()), url.clone(), vec![]),
            (
                every_stack,
                Some(allow.clone()),
                url.clone(),
                vec!["NOTIFY_PATTERN_NOT_THIS_STACK"],
            ),
            (
                complete,
                Some(allow.clone()),
                url.clone(),
                vec!["NOTIFY_STATUS_NEVER_DELIVERED"],
            ),
            (
                own.clone(),
                None,
                url.clone(),
                vec!["NOTIFY_TOPIC_NOT_PUBLISHABLE"],
            ),
            (
                own.clone(),
                Some(other_rule),
                url.clone(),
                vec!["NOTIFY_TOPIC_NOT_PUBLISHABLE"],
            ),
            (
                own.clone(),
                Some(lambda),
                url.clone(),
                vec!["NOTIFY_TOPIC_NOT_PUBLISHABLE"],
            ),
            (
                own.clone(),
                Some(allow.clone()),
                json!("<status>"),
                vec!["NOTIFY_MESSAGE_NO_URL"],
            ),
            (
                own.clone(),
                Some(allow.clone()),
                json!({"Fn::Sub": "<status>: http://${Dns}"}),
                vec!["NOTIFY_MESSAGE_NO_URL"],
            ),
        ];
        for (pattern, policy, message, want) in cases {
            let st = stack(pattern.clone(), policy.clone(), message.clone());
            let codes: Vec<&str> = check(&st, &st.apps).iter().map(|f| f.code).collect();
            assert_eq!(codes, want, "{pattern} {policy:?} {message}");
        }
    }
}
