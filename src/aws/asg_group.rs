//! DescribeAutoScalingGroups of one group, in one place: every reader of a group
//! (the deploy's gate, status, DR's capacity and drills, drift) maps this answer
//! to what it needs
//! (<https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_DescribeAutoScalingGroups.html>).

use super::{Aws, CallError};
use aws_sdk_autoscaling::types::AutoScalingGroup;

/// The group named `name`; `None` when it does not exist.
pub async fn group(
    aws: &Aws,
    region: &str,
    name: &str,
) -> Result<Option<AutoScalingGroup>, CallError> {
    let out = aws
        .autoscaling(region)
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(name)
        .send()
        .await
        .map_err(|e| CallError::from_sdk("autoscaling", "DescribeAutoScalingGroups", region, e))?;
    Ok(out.auto_scaling_groups().first().cloned())
}

/// A count the API gives as a signed number, as the unsigned count it is.
pub fn count(n: Option<i32>) -> u32 {
    n.unwrap_or(0).max(0) as u32
}
