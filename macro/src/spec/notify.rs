//! `Notify`: an SNS topic told the App's URL when the stack is created and when its deletion
//! starts (seed 004: "Notifications to the user are sent via SNS").
//!
//! CloudFormation sends "CloudFormation Stack Status Change" events to the default event bus
//! without being asked (https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-cloudformation.html);
//! a rule of the stack on its own stack ID forwards CREATE_COMPLETE and DELETE_IN_PROGRESS to
//! the topic with an input transformer that carries the URL (`gen/notify.rs`).

use super::{App, Props};
use crate::reader::{path, Reader, Val};
use serde_json::Value;

pub const NOTIFY_KEYS: &[&str] = &["TopicArn", "CreateTopic", "Email"];

#[derive(Debug, Clone)]
pub enum NotifyTopic {
    /// A topic that exists: its policy is its owner's (a TopicPolicy would replace all of it).
    Given(Val<String>),
    /// A topic the App creates, with a policy that lets only this App's rule publish, and an
    /// optional email subscription.
    Create { email: Option<Val<String>> },
}

#[derive(Debug, Clone)]
pub struct Notify {
    pub topic: NotifyTopic,
}

pub(super) fn read_notify(r: &mut Reader, p: &str, v: &Value) -> Option<Notify> {
    let m = r.object(p, v, NOTIFY_KEYS)?;
    let given = m
        .get("TopicArn")
        .and_then(|t| r.nonempty(&path(p, "TopicArn"), t));
    let create = m
        .get("CreateTopic")
        .and_then(|c| r.boolean(&path(p, "CreateTopic"), c));
    let email = m
        .get("Email")
        .and_then(|e| r.nonempty(&path(p, "Email"), e));
    if let Some(Val::Lit(e)) = &email {
        // SNS's email protocol delivers to an email address.
        // https://docs.aws.amazon.com/sns/latest/api/API_Subscribe.html
        if !e.contains('@') {
            r.err(&path(p, "Email"), format!("'{e}' is not an email address"));
        }
    }
    match (given, create) {
        (Some(_), Some(_)) => {
            r.err(
                p,
                "give TopicArn (a topic that exists) or CreateTopic: true, not both",
            );
            None
        }
        (Some(arn), None) => {
            if email.is_some() {
                r.err(
                    &path(p, "Email"),
                    "only with CreateTopic: a given topic's subscriptions are its owner's",
                );
            }
            Some(Notify {
                topic: NotifyTopic::Given(arn),
            })
        }
        (None, Some(Val::Lit(false))) | (None, None) => {
            r.err(
                p,
                "give TopicArn (a topic that exists) or CreateTopic: true",
            );
            None
        }
        (None, Some(_)) => Some(Notify {
            topic: NotifyTopic::Create { email },
        }),
    }
}

/// The message names the App's URL: it needs a load balancer whose URL the expansion knows.
pub(super) fn check_notify(r: &mut Reader, p: &Props, app: &App) {
    if app.notify.is_none() {
        return;
    }
    use super::{Dynamic, Routing};
    let known = match app.load_balancer.as_ref().map(|lb| &lb.routing) {
        None => {
            r.err(
                &p.path("Notify"),
                "needs a LoadBalancer: the notification tells the App's URL",
            );
            return;
        }
        Some(_) if app.domain.is_some() => true,
        Some(Routing::Dedicated { .. }) => true,
        Some(Routing::SharedPort { port, dns_name, .. }) => {
            matches!(port, Dynamic::Auto { .. }) || dns_name.is_some()
        }
        Some(Routing::SharedRule {
            hosts, dns_name, ..
        }) => {
            dns_name.is_some()
                || matches!(hosts.first(), Some(Val::Lit(h)) if !h.contains(['*', '?']))
        }
    };
    if !known {
        r.err(
            &p.path("LoadBalancer.DnsName"),
            "required with Notify: the notification tells the App's URL, which names the shared ALB's DNS name",
        );
    }
}
