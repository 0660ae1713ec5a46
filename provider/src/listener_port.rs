//! `Custom::FargateListenerPort`: a free port on a shared ALB, claimed by creating the listener
//! itself (the slot adapter for listeners; the allocator is `slot.rs`).

use crate::request::{parse_range, Request};
use crate::respond::Outcome;
use crate::slot::{self, Attempt, Holder, Slot};
use crate::ProviderError;
use aws_sdk_elasticloadbalancingv2::types::{Action, Certificate, ProtocolEnum, Tag};
use aws_sdk_elasticloadbalancingv2::Client;
use std::sync::OnceLock;

pub const RESOURCE_TYPE: &str = "Custom::FargateListenerPort";

struct Props {
    load_balancer: String,
    target_group: String,
    range: (u32, u32),
    protocol: ProtocolEnum,
    certificate: Option<String>,
    ssl_policy: Option<String>,
    /// The ALB's DNS name, read once with the first listing.
    dns: OnceLock<String>,
    /// `PortChoice: LeastRecentlyUsed`: ports freed lately are tried last.
    least_recently_used: bool,
}

/// The ALB tag listing the ports freed lately, most recent first, separated by `/`. The
/// provider keeps no state between invocations, and ELBv2 forgets a deleted listener, so the
/// record lives on the shared ALB itself: ALB tag values hold up to 255 characters of letters,
/// digits, spaces and `+ - = . _ : / @`, with 50 tags per load balancer
/// (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-tags.html),
/// and AddTags on an existing key replaces its value. 40 ports of 5 digits fit.
pub const FREED_TAG: &str = "fargate-app:freed-ports";
const FREED_KEPT: usize = 40;

/// The record's ports, most recent first (anything unreadable is skipped).
pub fn parse_freed(value: &str) -> Vec<u32> {
    value
        .split('/')
        .filter_map(|p| p.trim().parse().ok())
        .collect()
}

/// The record after `port` is freed: it moves to the front, the oldest fall off past 40.
pub fn push_freed(value: &str, port: u32) -> String {
    let mut ports = parse_freed(value);
    ports.retain(|p| *p != port);
    ports.insert(0, port);
    ports.truncate(FREED_KEPT);
    ports
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join("/")
}

fn props(req: &Request) -> Result<Props, ProviderError> {
    let protocol = match req.prop("Protocol").as_deref().unwrap_or("HTTP") {
        "HTTP" => ProtocolEnum::Http,
        "HTTPS" => ProtocolEnum::Https,
        other => {
            return Err(ProviderError::bad(
                "Protocol",
                format!("'{other}' is not HTTP or HTTPS"),
            ))
        }
    };
    let certificate = req.prop("CertificateArn").filter(|c| !c.is_empty());
    if protocol == ProtocolEnum::Https && certificate.is_none() {
        return Err(ProviderError::bad("CertificateArn", "required with HTTPS"));
    }
    Ok(Props {
        load_balancer: req.required("LoadBalancerArn")?,
        target_group: req.required("TargetGroupArn")?,
        range: parse_range(
            "PortRange",
            req.prop("PortRange").as_deref().unwrap_or("8000-8999"),
            1,
            65535,
        )?,
        protocol,
        certificate,
        ssl_policy: req.prop("SslPolicy").filter(|s| !s.is_empty()),
        dns: OnceLock::new(),
        least_recently_used: match req.prop("PortChoice").as_deref().unwrap_or("Lowest") {
            "Lowest" | "" => false,
            "LeastRecentlyUsed" => true,
            other => {
                return Err(ProviderError::bad(
                    "PortChoice",
                    format!("'{other}' is not Lowest or LeastRecentlyUsed"),
                ))
            }
        },
    })
}

pub async fn handle(elb: &Client, req: &Request) -> Result<Outcome, ProviderError> {
    slot::handle::<Props>(elb, req).await
}

fn certificates(p: &Props) -> Option<Vec<Certificate>> {
    p.certificate
        .as_ref()
        .map(|c| vec![Certificate::builder().certificate_arn(c).build()])
}

fn holder_of(l: &aws_sdk_elasticloadbalancingv2::types::Listener) -> Option<Holder> {
    Some(Holder {
        number: u32::try_from(l.port()?).ok()?,
        arn: l.listener_arn()?.to_string(),
        actions: l.default_actions().to_vec(),
    })
}

/// Every listener on the ALB, following `NextMarker`.
pub async fn listeners(elb: &Client, load_balancer: &str) -> Result<Vec<Holder>, ProviderError> {
    let mut out = Vec::new();
    let mut marker = None;
    loop {
        let page = elb
            .describe_listeners()
            .load_balancer_arn(load_balancer)
            .page_size(400)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| ProviderError::sdk("DescribeListeners", &e))?;
        out.extend(page.listeners().iter().filter_map(holder_of));
        match page.next_marker() {
            Some(m) if !m.is_empty() => marker = Some(m.to_string()),
            _ => return Ok(out),
        }
    }
}

async fn dns_name(elb: &Client, load_balancer: &str) -> Result<String, ProviderError> {
    let out = elb
        .describe_load_balancers()
        .load_balancer_arns(load_balancer)
        .send()
        .await
        .map_err(|e| ProviderError::sdk("DescribeLoadBalancers", &e))?;
    Ok(out
        .load_balancers()
        .first()
        .and_then(|l| l.dns_name())
        .unwrap_or_default()
        .to_string())
}

/// The ALB's record of freed ports (empty when it has none).
async fn freed_record(elb: &Client, load_balancer: &str) -> Result<String, ProviderError> {
    Ok(slot::tags_of(elb, load_balancer)
        .await?
        .into_iter()
        .find(|(k, _)| k == FREED_TAG)
        .map(|(_, v)| v)
        .unwrap_or_default())
}

impl Props {
    async fn dns(&self, elb: &Client) -> Result<String, ProviderError> {
        if let Some(d) = self.dns.get() {
            return Ok(d.clone());
        }
        let d = dns_name(elb, &self.load_balancer).await?;
        Ok(self.dns.get_or_init(|| d).clone())
    }
}

impl Slot for Props {
    const NUMBER: &'static str = "port";
    // ELBv2: "If you attempt to create multiple listeners with the same settings, each call
    // succeeds" (CreateListener, Elastic Load Balancing API Reference).
    const CREATE_MAY_RETURN_EXISTING: bool = true;

    fn parse(req: &Request) -> Result<Self, ProviderError> {
        props(req)
    }
    fn same_claim(&self, req: &Request) -> bool {
        req.old_prop("LoadBalancerArn").as_deref() == Some(self.load_balancer.as_str())
            && req.old_prop("PortRange") == req.prop("PortRange")
    }
    fn range(&self) -> (u32, u32) {
        self.range
    }
    fn scope(&self) -> String {
        format!("load balancer {}", self.load_balancer)
    }
    fn target_group(&self) -> &str {
        &self.target_group
    }
    async fn holders(&self, elb: &Client) -> Result<Vec<Holder>, ProviderError> {
        // The DNS name first: it also tells a missing ALB apart before anything is listed.
        self.dns(elb).await?;
        listeners(elb, &self.load_balancer).await
    }
    async fn holder(elb: &Client, arn: &str) -> Result<Option<Holder>, ProviderError> {
        let out = elb.describe_listeners().listener_arns(arn).send().await;
        Ok(slot::unless_gone("DescribeListeners", out, |e| {
            e.is_listener_not_found_exception()
        })?
        .and_then(|out| out.listeners().iter().find_map(holder_of)))
    }
    async fn create(&self, elb: &Client, port: u32, tags: Vec<Tag>) -> Attempt<String> {
        let created = elb
            .create_listener()
            .load_balancer_arn(&self.load_balancer)
            .port(port as i32)
            .protocol(self.protocol.clone())
            .set_certificates(certificates(self))
            .set_ssl_policy(self.ssl_policy.clone())
            .default_actions(slot::forward(&self.target_group))
            .set_tags(Some(tags))
            .send()
            .await;
        match created {
            Ok(out) => Attempt::Won(
                out.listeners()
                    .first()
                    .and_then(|l| l.listener_arn())
                    .unwrap_or_default()
                    .to_string(),
            ),
            Err(e) => match e.as_service_error() {
                // Someone claimed it between our read and our create.
                Some(se) if se.is_duplicate_listener_exception() => Attempt::Taken,
                Some(se) if se.is_too_many_listeners_exception() => {
                    Attempt::Failed(ProviderError::Exhausted(format!(
                        "load balancer {} has reached its listener quota (TooManyListeners; 50 \
                         per ALB unless the account's quota was raised)",
                        self.load_balancer
                    )))
                }
                _ => Attempt::Failed(ProviderError::sdk("CreateListener", &e)),
            },
        }
    }
    async fn modify(
        &self,
        elb: &Client,
        arn: &str,
        forward: Option<Action>,
    ) -> Result<bool, ProviderError> {
        let out = elb
            .modify_listener()
            .listener_arn(arn)
            .protocol(self.protocol.clone())
            .set_certificates(certificates(self))
            .set_ssl_policy(self.ssl_policy.clone())
            .set_default_actions(forward.map(|a| vec![a]))
            .send()
            .await;
        Ok(slot::unless_gone("ModifyListener", out, |e| {
            e.is_listener_not_found_exception()
        })?
        .is_some())
    }
    async fn delete(elb: &Client, arn: &str) -> Result<(), ProviderError> {
        let out = elb.delete_listener().listener_arn(arn).send().await;
        slot::unless_gone("DeleteListener", out, |e| {
            e.is_listener_not_found_exception()
        })
        .map(|_| ())
    }
    fn remembers_frees(&self) -> bool {
        self.least_recently_used
    }
    async fn recently_freed(&self, elb: &Client) -> Vec<u32> {
        if !self.least_recently_used {
            return Vec::new();
        }
        match freed_record(elb, &self.load_balancer).await {
            // Oldest first: the claim tries the least recently freed before the others.
            Ok(v) => parse_freed(&v).into_iter().rev().collect(),
            Err(e) => {
                tracing::warn!(error = %e, "freed ports unread: the lowest free port is claimed");
                Vec::new()
            }
        }
    }
    /// Read, then write: two Deletes at once may each write a record without the other's port,
    /// which then only loses its place at the end of the order.
    async fn record_freed(&self, elb: &Client, port: u32) {
        let written = async {
            let value = push_freed(&freed_record(elb, &self.load_balancer).await?, port);
            slot::add_tag(elb, &self.load_balancer, FREED_TAG, &value).await
        };
        if let Err(e) = written.await {
            tracing::warn!(port, error = %e, "freed port not recorded on the load balancer");
        }
    }
    async fn outcome(&self, elb: &Client, arn: &str, port: u32) -> Result<Outcome, ProviderError> {
        Ok(Outcome::new(arn)
            .with("Port", port.to_string())
            .with("ListenerArn", arn)
            .with("DnsName", self.dns(elb).await?))
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_freed, push_freed};

    #[test]
    fn the_record_keeps_the_most_recent_forty_ports_once_each() {
        let cases: &[(&str, u32, &str)] = &[
            ("", 9000, "9000"),
            ("9001/9000", 9002, "9002/9001/9000"),
            ("9001/9000", 9000, "9000/9001"),
            ("junk/9001", 9002, "9002/9001"),
        ];
        for (before, port, after) in cases {
            assert_eq!(push_freed(before, *port), *after, "{before} + {port}");
        }
        let full = (0..40)
            .map(|i| (9000 + i).to_string())
            .collect::<Vec<_>>()
            .join("/");
        let pushed = push_freed(&full, 8000);
        assert_eq!(parse_freed(&pushed).len(), 40);
        assert_eq!(parse_freed(&pushed)[0], 8000);
        assert!(
            !parse_freed(&pushed).contains(&9039),
            "the oldest falls off"
        );
        // ALB tag values: at most 255 characters.
        assert!(pushed.len() <= 255, "{} characters", pushed.len());
    }
}
