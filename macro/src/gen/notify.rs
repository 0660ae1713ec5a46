//! `Notify`: an EventBridge rule of the stack on its own "CloudFormation Stack Status Change"
//! events (CREATE_COMPLETE, DELETE_IN_PROGRESS) whose target is the SNS topic, with an input
//! transformer that writes the App's URL into the message.
//!
//! Why a rule and not a provider custom resource: CloudFormation sends these events to the
//! default bus by itself (durable delivery), CREATE_COMPLETE comes only after every resource,
//! the service's steady state and the gate included, and nothing of ours runs, so nothing can
//! fail a Delete or publish twice for one request.
//! https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/event-detail-stack-status-change.html
//! https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-cloudformation.html
//! The rule is deleted with the stack, so DELETE_COMPLETE never reaches it: the message on
//! delete is DELETE_IN_PROGRESS. The service depends on the rule (and the topic's policy), so
//! CloudFormation deletes both only after the service (its tasks drain for minutes) and the
//! event finds them.

use super::alb::RoutingOut;
use super::{depends_on, tag_list, Ids, Out};
use crate::intrinsics::{get_att, ref_};
use crate::spec::{App, NotifyTopic};
use serde_json::{json, Value};

/// The statuses the message is sent on.
pub const STATUSES: &[&str] = &["CREATE_COMPLETE", "DELETE_IN_PROGRESS"];

pub fn generate(app: &App, routing: &RoutingOut, out: &mut Out) {
    let (Some(n), Some(url)) = (&app.notify, &routing.url) else {
        return;
    };
    let ids = Ids(&app.id);
    let rule_id = ids.of("NotifyRule");
    let mut service_waits_for = vec![rule_id.clone()];
    let topic = match &n.topic {
        NotifyTopic::Given(arn) => arn.json(),
        NotifyTopic::Create { email } => {
            let topic_id = ids.of("NotifyTopic");
            out.add(
                topic_id.clone(),
                "AWS::SNS::Topic",
                json!({ "Tags": tag_list(app) }),
            );
            if let Some(e) = email {
                out.add(
                    ids.of("NotifySubscription"),
                    "AWS::SNS::Subscription",
                    json!({ "TopicArn": ref_(&topic_id), "Protocol": "email", "Endpoint": e.json() }),
                );
            }
            // EventBridge publishes to SNS under the topic's resource-based policy; only this
            // App's rule may.
            // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html
            let policy_id = ids.of("NotifyTopicPolicy");
            out.add(
                policy_id.clone(),
                "AWS::SNS::TopicPolicy",
                json!({
                    "Topics": [ref_(&topic_id)],
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [{
                            "Sid": "StackStatusFromEventBridge",
                            "Effect": "Allow",
                            "Principal": { "Service": "events.amazonaws.com" },
                            "Action": "sns:Publish",
                            "Resource": ref_(&topic_id),
                            "Condition": { "ArnEquals": { "aws:SourceArn": get_att(&rule_id, "Arn") } },
                        }],
                    },
                }),
            );
            service_waits_for.push(policy_id);
            ref_(&topic_id)
        }
    };
    let message: Value = json!({ "Fn::Join": ["", [
        ref_("AWS::StackName"), format!(" {} <status>: ", app.id), url
    ]] });
    out.add(
        rule_id,
        "AWS::Events::Rule",
        json!({
            // Named like the App's other rules (`FargateApp-<stack>-<App>-notify`).
            "Name": super::gates::rule_name(&app.id, "notify"),
            "Description": format!("{}: the URL to the topic on create and delete", app.id),
            "EventPattern": {
                "source": ["aws.cloudformation"],
                "detail-type": ["CloudFormation Stack Status Change"],
                "detail": {
                    "stack-id": [ref_("AWS::StackId")],
                    "status-details": { "status": STATUSES },
                },
            },
            "State": "ENABLED",
            "Targets": [{
                "Id": "notify",
                "Arn": topic,
                "InputTransformer": {
                    "InputPathsMap": { "status": "$.detail.status-details.status" },
                    "InputTemplate": message,
                },
            }],
        }),
    );
    let service = ids.of("Service");
    if let Some((_, r)) = out.items.iter_mut().find(|(id, _)| *id == service) {
        depends_on(r, &service_waits_for);
    }
}
