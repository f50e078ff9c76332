//! `AwsError`: every SDK error, mapped once at the adapter boundary.

use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::result::SdkError;

/// An AWS call that failed: which call, where, and what the service said.
#[derive(Debug, thiserror::Error)]
#[error("{service}.{operation} in {region} failed: {code}: {message}")]
pub struct AwsError {
    pub service: &'static str,
    pub operation: &'static str,
    pub region: String,
    /// The service's error code ("Throttling", "ValidationError" …), or the
    /// transport's kind ("DispatchFailure", "TimeoutError" …) when no answer came.
    pub code: String,
    pub message: String,
}

impl AwsError {
    /// Map an SDK error, keeping the service's code and message.
    pub fn from_sdk<E, R>(
        service: &'static str,
        operation: &'static str,
        region: &str,
        err: SdkError<E, R>,
    ) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let (code, message) = match &err {
            SdkError::ServiceError(se) => (
                se.err().code().unwrap_or("Unknown").to_string(),
                se.err()
                    .message()
                    .map(str::to_string)
                    .unwrap_or_else(|| se.err().to_string()),
            ),
            SdkError::TimeoutError(_) => ("TimeoutError".into(), "the call timed out".into()),
            SdkError::DispatchFailure(d) => (
                "DispatchFailure".into(),
                format!("could not reach the endpoint: {d:?}"),
            ),
            SdkError::ResponseError(r) => ("ResponseError".into(), format!("{r:?}")),
            SdkError::ConstructionFailure(c) => ("ConstructionFailure".into(), format!("{c:?}")),
            other => ("Unknown".into(), other.to_string()),
        };
        AwsError {
            service,
            operation,
            region: region.to_string(),
            code,
            message,
        }
    }

    /// True when no answer came from the region (unreachable, timed out).
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self.code.as_str(),
            "DispatchFailure" | "TimeoutError" | "ResponseError"
        )
    }
}
