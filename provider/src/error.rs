//! Errors of the provider, as data: which property, which AWS call, which limit.

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("property {name}: {message}")]
    BadProperty { name: &'static str, message: String },
    #[error("{operation} failed: {message}")]
    Aws {
        operation: &'static str,
        message: String,
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
    #[error("internal error: the handler panicked: {0}")]
    Panic(String),
}

impl ProviderError {
    /// A failed AWS call of any SDK crate, with the service's error code and message.
    pub fn sdk<E, R>(
        operation: &'static str,
        e: &aws_sdk_elasticloadbalancingv2::error::SdkError<E, R>,
    ) -> Self
    where
        E: aws_sdk_elasticloadbalancingv2::error::ProvideErrorMetadata
            + std::error::Error
            + 'static,
        R: std::fmt::Debug,
    {
        ProviderError::Aws {
            operation,
            message: sdk_message(e),
        }
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
