//! Read-only health reads: target health, Route 53 health check status, S3
//! bucket replication (status reads them through `CloudApi` and `bucket_reads`).

use super::{Aws, CallError};

/// Healthy targets out of all registered targets of a target group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetCounts {
    pub healthy: u32,
    pub total: u32,
}

/// DescribeTargetHealth: (target id, state) of every registered target (the one
/// place the call is made: the deploy's gate and status read it).
pub async fn target_states(
    aws: &Aws,
    region: &str,
    target_group_arn: &str,
) -> Result<Vec<(String, String)>, CallError> {
    let out = aws
        .elbv2(region)
        .describe_target_health()
        .target_group_arn(target_group_arn)
        .send()
        .await
        .map_err(|e| CallError::from_sdk("elbv2", "DescribeTargetHealth", region, e))?;
    Ok(out
        .target_health_descriptions()
        .iter()
        .map(|d| {
            (
                d.target()
                    .and_then(|t| t.id())
                    .unwrap_or_default()
                    .to_string(),
                d.target_health()
                    .and_then(|h| h.state())
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
            )
        })
        .collect())
}

/// DescribeTargetHealth, counted.
pub async fn target_health(
    aws: &Aws,
    region: &str,
    target_group_arn: &str,
) -> Result<TargetCounts, CallError> {
    let states = target_states(aws, region, target_group_arn).await?;
    Ok(TargetCounts {
        healthy: states.iter().filter(|(_, s)| s == "healthy").count() as u32,
        total: states.len() as u32,
    })
}

/// Route 53 health checker observations: how many checkers report success.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthCheckStatus {
    pub healthy_observations: u32,
    pub observations: u32,
}

/// GetHealthCheckStatus: each checker's latest status report (Route 53 is global;
/// the call goes to us-east-1). The one place the call is made: the deploy's
/// gate and status read it.
pub async fn checker_reports(aws: &Aws, health_check_id: &str) -> Result<Vec<String>, CallError> {
    let out = aws
        .route53()
        .get_health_check_status()
        .health_check_id(health_check_id)
        .send()
        .await
        .map_err(|e| CallError::from_sdk("route53", "GetHealthCheckStatus", "us-east-1", e))?;
    Ok(out
        .health_check_observations()
        .iter()
        .filter_map(|o| {
            o.status_report()
                .and_then(|r| r.status())
                .map(str::to_string)
        })
        .collect())
}

/// GetHealthCheckStatus, counted.
pub async fn health_check_status(
    aws: &Aws,
    health_check_id: &str,
) -> Result<HealthCheckStatus, CallError> {
    let reports = checker_reports(aws, health_check_id).await?;
    Ok(HealthCheckStatus {
        healthy_observations: reports.iter().filter(|s| s.starts_with("Success")).count() as u32,
        observations: reports.len() as u32,
    })
}

/// GetBucketReplication: the destination bucket ARNs of the bucket's rules, or
/// `None` when the bucket has no replication configuration.
pub async fn bucket_replication(
    aws: &Aws,
    region: &str,
    bucket: &str,
) -> Result<Option<Vec<String>>, CallError> {
    Ok(replication_configuration(aws, region, bucket)
        .await?
        .map(|c| {
            c.rules()
                .iter()
                .filter_map(|r| r.destination().map(|d| d.bucket().to_string()))
                .collect()
        }))
}

/// GetBucketReplication
/// (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketReplication.html>):
/// the bucket's configuration, `None` when it has none
/// (ReplicationConfigurationNotFoundError). The one read of it, for status and
/// drift.
pub async fn replication_configuration(
    aws: &Aws,
    region: &str,
    bucket: &str,
) -> Result<Option<aws_sdk_s3::types::ReplicationConfiguration>, CallError> {
    match aws
        .s3(region)
        .get_bucket_replication()
        .bucket(bucket)
        .send()
        .await
        .map_err(|e| CallError::from_sdk("s3", "GetBucketReplication", region, e))
    {
        Ok(out) => Ok(out.replication_configuration().cloned()),
        Err(e) if e.code == "ReplicationConfigurationNotFoundError" => Ok(None),
        Err(e) => Err(e),
    }
}
