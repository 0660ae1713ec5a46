//! `Custom::FargateListenerPort`: claims a free port on a shared ALB by creating the listener
//! itself. The claim is atomic because ELBv2 refuses a second listener on a port
//! (`DuplicateListener`): a lost race just moves on to the next free port.

use crate::claim::{Attempt, Claim};
use crate::request::{parse_range, Request, RequestType};
use crate::respond::Outcome;
use crate::ProviderError;
use aws_sdk_elasticloadbalancingv2::types::{Action, ActionTypeEnum, Certificate, ProtocolEnum};
use aws_sdk_elasticloadbalancingv2::Client;
use std::collections::BTreeSet;

pub const RESOURCE_TYPE: &str = "Custom::FargateListenerPort";
/// ELBv2's quota of listeners per load balancer.
pub const MAX_LISTENERS: usize = 50;

struct Props {
    load_balancer: String,
    target_group: String,
    range: (u32, u32),
    protocol: ProtocolEnum,
    certificate: Option<String>,
    ssl_policy: Option<String>,
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
    })
}

pub async fn handle(elb: &Client, req: &Request) -> Result<Outcome, ProviderError> {
    let existing = req
        .physical_resource_id
        .clone()
        .filter(|id| id.starts_with("arn:"));
    match (req.request_type, existing) {
        (RequestType::Delete, None) => Ok(Outcome::new(
            req.physical_resource_id.clone().unwrap_or_default(),
        )),
        (RequestType::Delete, Some(arn)) => delete(elb, &arn).await,
        (RequestType::Create, _) | (RequestType::Update, None) => create(elb, &props(req)?).await,
        (RequestType::Update, Some(arn)) => {
            let p = props(req)?;
            let same_alb =
                req.old_prop("LoadBalancerArn").as_deref() == Some(p.load_balancer.as_str());
            let same_range = req.old_prop("PortRange") == req.prop("PortRange");
            if same_alb && same_range {
                update_in_place(elb, &arn, &p).await
            } else {
                // A new ALB or range is a new claim; CloudFormation deletes the old listener.
                create(elb, &p).await
            }
        }
    }
}

fn certificates(p: &Props) -> Option<Vec<Certificate>> {
    p.certificate
        .as_ref()
        .map(|c| vec![Certificate::builder().certificate_arn(c).build()])
}

fn forward(target_group: &str) -> Action {
    Action::builder()
        .r#type(ActionTypeEnum::Forward)
        .target_group_arn(target_group)
        .build()
}

/// Ports of every listener on the ALB, following `NextMarker`.
pub async fn listener_ports(
    elb: &Client,
    load_balancer: &str,
) -> Result<BTreeSet<u32>, ProviderError> {
    let mut ports = BTreeSet::new();
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
        for l in page.listeners() {
            if let Some(p) = l.port() {
                ports.insert(p as u32);
            }
        }
        match page.next_marker() {
            Some(m) if !m.is_empty() => marker = Some(m.to_string()),
            _ => return Ok(ports),
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

/// The attributes of a claimed listener.
fn claimed(arn: &str, port: impl ToString, dns: String) -> Outcome {
    Outcome::new(arn)
        .with("Port", port.to_string())
        .with("ListenerArn", arn)
        .with("DnsName", dns)
}

async fn create(elb: &Client, p: &Props) -> Result<Outcome, ProviderError> {
    let dns = dns_name(elb, &p.load_balancer).await?;
    let on = format!("load balancer {}", p.load_balancer);
    let claim = Claim {
        what: "port",
        on: &on,
        holders: "listeners",
        range: p.range,
        quota: MAX_LISTENERS,
    };
    let taken = listener_ports(elb, &p.load_balancer).await?;
    let refresh = || listener_ports(elb, &p.load_balancer);
    let dns = &dns;
    let create = |port: u32, attempt: usize| async move {
        let created = elb
            .create_listener()
            .load_balancer_arn(&p.load_balancer)
            .port(port as i32)
            .protocol(p.protocol.clone())
            .set_certificates(certificates(p))
            .set_ssl_policy(p.ssl_policy.clone())
            .default_actions(forward(&p.target_group))
            .send()
            .await;
        match created {
            Ok(out) => {
                let arn = out
                    .listeners()
                    .first()
                    .and_then(|l| l.listener_arn())
                    .unwrap_or_default()
                    .to_string();
                tracing::info!(port, attempt, listener = %arn, "claimed listener port");
                Attempt::Won(claimed(&arn, port, dns.clone()))
            }
            Err(e) => match e.as_service_error() {
                // Someone claimed it between our read and our create.
                Some(se) if se.is_duplicate_listener_exception() => Attempt::Taken,
                Some(se) if se.is_too_many_listeners_exception() => {
                    Attempt::Failed(ProviderError::Exhausted(format!(
                        "load balancer {} has reached its listener quota (TooManyListeners)",
                        p.load_balancer
                    )))
                }
                _ => Attempt::Failed(ProviderError::sdk("CreateListener", &e)),
            },
        }
    };
    claim.lowest_free(taken, refresh, create).await
}

async fn update_in_place(elb: &Client, arn: &str, p: &Props) -> Result<Outcome, ProviderError> {
    let out = elb
        .modify_listener()
        .listener_arn(arn)
        .protocol(p.protocol.clone())
        .set_certificates(certificates(p))
        .set_ssl_policy(p.ssl_policy.clone())
        .default_actions(forward(&p.target_group))
        .send()
        .await;
    match out {
        Ok(o) => {
            let port = o
                .listeners()
                .first()
                .and_then(|l| l.port())
                .unwrap_or_default();
            Ok(claimed(arn, port, dns_name(elb, &p.load_balancer).await?))
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_listener_not_found_exception()) =>
        {
            // Removed by hand: claim a port again (a new physical ID).
            create(elb, p).await
        }
        Err(e) => Err(ProviderError::sdk("ModifyListener", &e)),
    }
}

async fn delete(elb: &Client, arn: &str) -> Result<Outcome, ProviderError> {
    match elb.delete_listener().listener_arn(arn).send().await {
        Ok(_) => Ok(Outcome::new(arn)),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_listener_not_found_exception()) =>
        {
            Ok(Outcome::new(arn))
        }
        Err(e) => Err(ProviderError::sdk("DeleteListener", &e)),
    }
}
