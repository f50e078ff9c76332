//! The AWS adapter: the only module that imports `aws_sdk_*`.
//!
//! `Aws::connect` loads the standard credential chain once (profile, environment,
//! SSO, instance role) with the endpoint override when one is given (the sandbox),
//! and hands out per-region service clients. Every SDK error is mapped once, here,
//! into `CallError`, keeping the service's error code and message.

pub mod alarms;
pub mod approval_stack;
mod asg_group;
mod bucket_reads;
mod cloud;
mod dns_reads;
pub mod dr_compute;
pub mod drift_reads;
pub mod ec2_images;
mod error;
pub mod health_reads;
pub mod iam_audit;
mod lb_metrics;
mod leftovers;
pub mod lock_stack;
pub mod notify;
pub mod route53_records;
pub mod s3_objects;
pub mod sqs_queues;
pub mod stack_info;

pub use cloud::CloudApi;

pub use crate::call_error::CallError;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use std::time::Duration;

/// Where AWS calls go: the standard endpoints, or an override such as the sandbox.
#[derive(Debug, Clone, Default)]
pub struct AwsTarget {
    /// Endpoint override (`--endpoint-url` / `AWS_ENDPOINT_URL`).
    pub endpoint_url: Option<String>,
    /// Shared-config profile (`--profile` / `AWS_PROFILE`).
    pub profile: Option<String>,
}

/// A connection to AWS (or the sandbox): shared configuration, per-region clients.
#[derive(Debug, Clone)]
pub struct Aws {
    base: SdkConfig,
    target: AwsTarget,
}

/// How many attempts a throttled or transient call gets before it is an error.
const MAX_ATTEMPTS: u32 = 10;

/// The longest one call may take, all its attempts together: an endpoint that
/// stops answering (connections hang) fails each call within this bound, so a
/// run ends with exit 7 in bounded time (docs/deploy.md, "An endpoint that stops
/// answering"). Refused or dropped connections fail much sooner (10 attempts with
/// backoff, about 25 s).
pub const CALL_LIMIT: Duration = Duration::from_secs(60);

impl Aws {
    /// Load the credential chain and configuration once.
    pub async fn connect(target: AwsTarget) -> Aws {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(MAX_ATTEMPTS)
                    .with_initial_backoff(Duration::from_millis(200))
                    .with_max_backoff(Duration::from_secs(5)),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(3))
                    .operation_attempt_timeout(Duration::from_secs(30))
                    .operation_timeout(CALL_LIMIT)
                    .build(),
            );
        if let Some(profile) = &target.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(url) = &target.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        crate::call_error::set_endpoint_override(target.endpoint_url.as_deref());
        // A region is needed to build the config; every client sets its own below.
        let base = loader.region(Region::new("us-east-1")).load().await;
        Aws { base, target }
    }

    /// The same connection with fewer attempts per call: for read-only views that
    /// must answer quickly when a region does not (e.g. `strata status`).
    pub fn with_max_attempts(&self, attempts: u32) -> Aws {
        let retry = RetryConfig::standard()
            .with_max_attempts(attempts.max(1))
            .with_initial_backoff(Duration::from_millis(200))
            .with_max_backoff(Duration::from_secs(2));
        Aws {
            base: self.base.to_builder().retry_config(retry).build(),
            target: self.target.clone(),
        }
    }

    pub fn target(&self) -> &AwsTarget {
        &self.target
    }

    /// The shared configuration, pinned to one region.
    pub fn config(&self, region: &str) -> SdkConfig {
        self.base
            .to_builder()
            .region(Region::new(region.to_string()))
            .build()
    }

    pub fn cloudformation(&self, region: &str) -> aws_sdk_cloudformation::Client {
        aws_sdk_cloudformation::Client::new(&self.config(region))
    }

    pub fn ec2(&self, region: &str) -> aws_sdk_ec2::Client {
        aws_sdk_ec2::Client::new(&self.config(region))
    }

    pub fn autoscaling(&self, region: &str) -> aws_sdk_autoscaling::Client {
        aws_sdk_autoscaling::Client::new(&self.config(region))
    }

    pub fn elbv2(&self, region: &str) -> aws_sdk_elasticloadbalancingv2::Client {
        aws_sdk_elasticloadbalancingv2::Client::new(&self.config(region))
    }

    /// Route 53 is global; its API lives in us-east-1.
    pub fn route53(&self) -> aws_sdk_route53::Client {
        aws_sdk_route53::Client::new(&self.config("us-east-1"))
    }

    pub fn cloudwatch(&self, region: &str) -> aws_sdk_cloudwatch::Client {
        aws_sdk_cloudwatch::Client::new(&self.config(region))
    }

    pub fn sns(&self, region: &str) -> aws_sdk_sns::Client {
        aws_sdk_sns::Client::new(&self.config(region))
    }

    pub fn dynamodb(&self, region: &str) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.config(region))
    }

    pub fn ssm(&self, region: &str) -> aws_sdk_ssm::Client {
        aws_sdk_ssm::Client::new(&self.config(region))
    }

    pub fn sqs(&self, region: &str) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.config(region))
    }

    pub fn sts(&self, region: &str) -> aws_sdk_sts::Client {
        aws_sdk_sts::Client::new(&self.config(region))
    }

    /// S3, path-style when an endpoint override is set (the sandbox has no bucket DNS).
    pub fn s3(&self, region: &str) -> aws_sdk_s3::Client {
        let conf = aws_sdk_s3::config::Builder::from(&self.config(region))
            .force_path_style(self.target.endpoint_url.is_some())
            .build();
        aws_sdk_s3::Client::from_conf(conf)
    }
}

impl Aws {
    /// The caller's identity ARN (STS GetCallerIdentity), for the deploy record.
    pub async fn caller_identity(&self) -> Result<String, CallError> {
        let out = self
            .sts("us-east-1")
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| CallError::from_sdk("sts", "GetCallerIdentity", "us-east-1", e))?;
        Ok(out.arn().unwrap_or("unknown").to_string())
    }

    /// STS GetCallerIdentity: the caller's 12-digit account id.
    pub async fn caller_account(&self) -> Result<String, CallError> {
        let out = self
            .sts("us-east-1")
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| CallError::from_sdk("sts", "GetCallerIdentity", "us-east-1", e))?;
        Ok(out.account().unwrap_or_default().to_string())
    }
}
