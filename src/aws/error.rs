//! SDK errors mapped to [`CallError`] once, at the adapter boundary.

use crate::call_error::CallError;
use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::result::SdkError;

/// The innermost cause of an error, in its own words ("Connection refused (os
/// error 111)"), with the kind of failure in front when it says more.
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut last = err;
    while let Some(next) = last.source() {
        last = next;
    }
    let outer = err.to_string();
    let inner = last.to_string();
    if inner == outer || outer.is_empty() {
        inner
    } else {
        format!("{outer}: {inner}")
    }
}

impl CallError {
    /// Map an SDK error, keeping the service's code and message.
    pub fn from_sdk<E, R>(
        service: &'static str,
        operation: &'static str,
        region: &str,
        err: SdkError<E, R>,
    ) -> CallError
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
            SdkError::TimeoutError(_) => (
                "TimeoutError".into(),
                "no answer within the call's time limit".into(),
            ),
            SdkError::DispatchFailure(d) => (
                "DispatchFailure".into(),
                match d.as_connector_error() {
                    Some(c) => root_cause(c),
                    None => "the request could not be sent".into(),
                },
            ),
            SdkError::ResponseError(_) => (
                "ResponseError".into(),
                "the connection broke before a whole answer came".into(),
            ),
            SdkError::ConstructionFailure(c) => ("ConstructionFailure".into(), format!("{c:?}")),
            other => ("Unknown".into(), other.to_string()),
        };
        CallError {
            service,
            operation,
            region: region.to_string(),
            code,
            message,
        }
    }
}
