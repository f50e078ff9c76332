//! `AwsError`: every SDK error, mapped once at the adapter boundary.

use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::result::SdkError;
use std::sync::OnceLock;

/// An AWS call that failed: which call, where, and what the service said.
///
/// Displayed as `service.Operation in region failed: code: message`; a call that
/// got no answer (see [`AwsError::is_unreachable`]) names the endpoint it tried,
/// the cause in a few words, and what to do, never the transport's debug dump.
#[derive(Debug)]
pub struct AwsError {
    pub service: &'static str,
    pub operation: &'static str,
    pub region: String,
    /// The service's error code ("Throttling", "ValidationError" …), or the
    /// transport's kind ("DispatchFailure", "TimeoutError" …) when no answer came.
    pub code: String,
    pub message: String,
}

impl std::error::Error for AwsError {}

/// The endpoint override of this process (`--endpoint-url` / `AWS_ENDPOINT_URL`),
/// set once by `Aws::connect`, for the error messages.
static ENDPOINT_OVERRIDE: OnceLock<Option<String>> = OnceLock::new();

pub(super) fn set_endpoint_override(url: Option<&str>) {
    let _ = ENDPOINT_OVERRIDE.set(url.map(str::to_string));
}

impl AwsError {
    /// The endpoint the call went to: the override, else the service's standard
    /// regional endpoint (`https://<service>.<region>.amazonaws.com`).
    pub fn endpoint(&self) -> String {
        if let Some(Some(url)) = ENDPOINT_OVERRIDE.get() {
            return url.clone();
        }
        match self.service {
            "route53" => "https://route53.amazonaws.com".into(),
            "cloudwatch" => format!("https://monitoring.{}.amazonaws.com", self.region),
            s => format!("https://{s}.{}.amazonaws.com", self.region),
        }
    }
}

impl std::fmt::Display for AwsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_unreachable() {
            return write!(
                f,
                "{}.{} in {}: no answer from {} ({}). Check the network and the endpoint \
                 (--endpoint-url / AWS_ENDPOINT_URL), then run the same command again: it \
                 resumes where this run stopped",
                self.service,
                self.operation,
                self.region,
                self.endpoint(),
                self.message
            );
        }
        write!(
            f,
            "{}.{} in {} failed: {}: {}",
            self.service, self.operation, self.region, self.code, self.message
        )
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreachable_endpoint_is_named_with_what_to_do_and_no_debug_dump() {
        let e = AwsError {
            service: "cloudformation",
            operation: "DescribeStacks",
            region: "eu-west-1".into(),
            code: "DispatchFailure".into(),
            message: "io error: Connection refused (os error 111)".into(),
        };
        let text = e.to_string();
        assert!(
            text.contains("cloudformation.DescribeStacks in eu-west-1"),
            "{text}"
        );
        assert!(text.contains("no answer from "), "{text}");
        assert!(text.contains("run the same command again"), "{text}");
        assert!(!text.contains("DispatchFailure"), "{text}");
        let service = AwsError {
            code: "ValidationError".into(),
            message: "boom".into(),
            ..e
        };
        assert_eq!(
            service.to_string(),
            "cloudformation.DescribeStacks in eu-west-1 failed: ValidationError: boom"
        );
    }
}
