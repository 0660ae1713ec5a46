//! SDK and HTTP clients shared by every handler: a module of their own, below the handlers,
//! so that dependencies point down (handlers -> clients), never up to the crate root.

use crate::{load_test_gate, ProviderError};
use std::time::Duration;

/// SDK and HTTP clients, built once per Lambda instance.
#[derive(Clone, Debug)]
pub struct Clients {
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub cfn: aws_sdk_cloudformation::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub http: reqwest::Client,
    /// This Lambda's name, for the load-test gate's fan-out (`AWS_LAMBDA_FUNCTION_NAME`).
    pub function_name: Option<String>,
    pub gate_timing: load_test_gate::GateTiming,
    pub failover_timing: FailoverTiming,
    /// The provider's state table (`cfn/provider.yaml` always creates it): the custom-resource
    /// gate's once-per-request records. None only where no table is configured.
    pub state_store: Option<crate::lifecycle_hook::HookStore>,
}

impl Clients {
    pub fn from_conf(conf: &aws_config::SdkConfig) -> Self {
        Clients {
            elb: aws_sdk_elasticloadbalancingv2::Client::new(conf),
            ecs: aws_sdk_ecs::Client::new(conf),
            cfn: aws_sdk_cloudformation::Client::new(conf),
            lambda: aws_sdk_lambda::Client::new(conf),
            cloudwatch: aws_sdk_cloudwatch::Client::new(conf),
            http: http_client(),
            function_name: std::env::var("AWS_LAMBDA_FUNCTION_NAME").ok(),
            gate_timing: Default::default(),
            failover_timing: Default::default(),
            state_store: crate::lifecycle_hook::HookStore::from_env(conf),
        }
    }
}

impl Clients {
    /// One ECS service, as DescribeServices returns it.
    pub async fn ecs_service(
        &self,
        cluster: &str,
        service: &str,
    ) -> Result<aws_sdk_ecs::types::Service, ProviderError> {
        let out = self
            .ecs
            .describe_services()
            .cluster(cluster)
            .services(service)
            .send()
            .await
            .map_err(|e| ProviderError::sdk("DescribeServices", &e))?;
        out.services().first().cloned().ok_or_else(|| {
            ProviderError::bad(
                "ServiceName",
                format!("service {service} not found in cluster {cluster}"),
            )
        })
    }
}

pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(5))
        .build()
        .expect("TLS backend available")
}

/// Polling of the failover's health wait (tests shorten it), and the clock that stamps a move
/// of traffic to the service (Unix seconds; the simulation's runs on virtual time).
#[derive(Clone)]
pub struct FailoverTiming {
    pub health_poll: Duration,
    pub clock: std::sync::Arc<dyn Fn() -> u64 + Send + Sync>,
}

impl std::fmt::Debug for FailoverTiming {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FailoverTiming")
            .field("health_poll", &self.health_poll)
            .finish_non_exhaustive()
    }
}

impl Default for FailoverTiming {
    fn default() -> Self {
        FailoverTiming {
            health_poll: Duration::from_secs(5),
            clock: std::sync::Arc::new(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs())
            }),
        }
    }
}
