//! `CallError`: a call to the cloud that failed, as every port (`deploy::cloud::Cloud`,
//! the DR, drift, status and image reads) reports it. Made from an SDK error once,
//! in the adapter (`aws::error`); nothing here knows the SDK.

use std::sync::OnceLock;

/// An AWS call that failed: which call, where, and what the service said.
///
/// Displayed as `service.Operation in region failed: code: message`; a call that
/// got no answer (see [`CallError::is_unreachable`]) names the endpoint it tried,
/// the cause in a few words, and what to do, never the transport's debug dump.
#[derive(Debug)]
pub struct CallError {
    pub service: &'static str,
    pub operation: &'static str,
    pub region: String,
    /// The service's error code ("Throttling", "ValidationError" …), or the
    /// transport's kind ("DispatchFailure", "TimeoutError" …) when no answer came.
    pub code: String,
    pub message: String,
}

impl std::error::Error for CallError {}

/// The endpoint override of this process (`--endpoint-url` / `AWS_ENDPOINT_URL`),
/// set once by `aws::Aws::connect`, for the error messages.
static ENDPOINT_OVERRIDE: OnceLock<Option<String>> = OnceLock::new();

pub(crate) fn set_endpoint_override(url: Option<&str>) {
    let _ = ENDPOINT_OVERRIDE.set(url.map(str::to_string));
}

impl CallError {
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

    /// True when no answer came from the region (unreachable, timed out).
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self.code.as_str(),
            "DispatchFailure" | "TimeoutError" | "ResponseError"
        )
    }
}

impl std::fmt::Display for CallError {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreachable_endpoint_is_named_with_what_to_do_and_no_debug_dump() {
        let e = CallError {
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
        let service = CallError {
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
