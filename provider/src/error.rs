//! Errors of the provider, as data: which property, which AWS call, which limit.

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("property {name}: {message}")]
    BadProperty { name: &'static str, message: String },
    #[error("{operation} failed: {message}")]
    Aws {
        operation: &'static str,
        message: String,
        /// Throttling, a server error or no answer: worth calling again
        /// ([`crate::retry::transient`]).
        transient: bool,
    },
    #[error("{0}")]
    Exhausted(String),
    #[error("unsupported resource type {0}")]
    UnsupportedType(String),
    #[error(
        "the handler did not finish before the Lambda deadline (answered {margin_ms} ms before it)"
    )]
    Timeout { margin_ms: u64 },
    /// The load-test gate measured the deployment and it missed a threshold.
    #[error("load test failed: {0}")]
    GateFailed(String),
    /// The user's post-create function failed: its own message.
    #[error("{0}")]
    HookFailed(String),
    /// A request that CloudFormation no longer waits on (a late duplicate delivery).
    #[error("{0}")]
    Stale(String),
    #[error("internal error: the handler panicked: {0}")]
    Panic(String),
}

impl ProviderError {
    /// A failed AWS call of any SDK crate, with the service's error code and message.
    pub fn sdk<E>(
        operation: &'static str,
        e: &aws_sdk_elasticloadbalancingv2::error::SdkError<
            E,
            aws_sdk_elasticloadbalancingv2::config::http::HttpResponse,
        >,
    ) -> Self
    where
        E: aws_sdk_elasticloadbalancingv2::error::ProvideErrorMetadata
            + std::error::Error
            + 'static,
    {
        ProviderError::Aws {
            operation,
            message: sdk_message(e),
            transient: crate::retry::transient(e),
        }
    }
    /// A failed AWS call worth making again (see [`crate::retry::retrying`]).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ProviderError::Aws {
                transient: true,
                ..
            }
        )
    }
    pub fn bad(name: &'static str, message: impl Into<String>) -> Self {
        ProviderError::BadProperty {
            name,
            message: message.into(),
        }
    }
}

/// Error text of an SDK error (of any service crate: they share smithy's error types),
/// including the service's code and message.
pub fn sdk_message<E, R>(e: &aws_sdk_elasticloadbalancingv2::error::SdkError<E, R>) -> String
where
    E: aws_sdk_elasticloadbalancingv2::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match e.as_service_error() {
        // Errors parsed from a response carry their code; others describe themselves.
        Some(se) => match se.code() {
            Some(code) => format!("{code}: {}", se.message().unwrap_or("")),
            None => se.to_string(),
        },
        None => aws_sdk_elasticloadbalancingv2::error::DisplayErrorContext(e).to_string(),
    }
}

/// Longest wait for one call the lifecycle hook makes (state table, deployment and stack
/// status). These APIs answer in milliseconds; a call that has not answered by then (a hung
/// connection) is cut and counts as a transient error, so the hook calls again within its
/// invocation (a missing table or a denial is then seen at once) instead of spending the
/// invocation on it. Our choice, well above the services' latency.
pub const CALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Every service crate's `SdkError` is this one type (smithy's), re-exported.
type Sdk<E> = aws_sdk_dynamodb::error::SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>;

/// An SDK call cut after [`CALL_TIMEOUT`] (an SDK timeout error: transient).
pub(crate) trait Bounded<T, E>:
    std::future::Future<Output = Result<T, Sdk<E>>> + Sized
{
    async fn bounded(self) -> Result<T, Sdk<E>> {
        match tokio::time::timeout(CALL_TIMEOUT, self).await {
            Ok(r) => r,
            Err(_) => Err(Sdk::timeout_error(format!(
                "no answer within {} s",
                CALL_TIMEOUT.as_secs()
            ))),
        }
    }
}

impl<T, E, F> Bounded<T, E> for F where F: std::future::Future<Output = Result<T, Sdk<E>>> {}
