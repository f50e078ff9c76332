//! What DR reads from a region's stack: its Auto Scaling group, endpoint health
//! check and load balancer — from the stack's outputs, or from its resources when
//! an output is missing (moto drops outputs on change-set updates).

use super::DrError;
use crate::aws::stack_info::describe_stack;
use crate::aws::{Aws, CloudApi};
use crate::deploy::cloud::Cloud;
use crate::stack::StackDef;
use crate::synth::output_names;

/// Logical id of the endpoint health check in a region's template.
const ENDPOINT_CHECK: &str = "HealthCheck";

/// One of the stack's identifiers: the output, else the resource of this logical
/// id (or, without one, the only resource of this type).
async fn lookup(
    aws: &Aws,
    def: &StackDef,
    region: &str,
    output: &str,
    logical_id: Option<&str>,
    resource_type: &str,
) -> Result<String, DrError> {
    let stack = def.region_stack_name(region);
    let info = describe_stack(aws, region, &stack)
        .await
        .map_err(DrError::aws("reading the stack", region))?
        .ok_or_else(|| DrError::NoStack {
            stack: stack.clone(),
            region: region.to_string(),
        })?;
    if let Some(v) = info.outputs.get(output) {
        return Ok(v.clone());
    }
    let resources = CloudApi::new(aws.clone())
        .resources(region, &stack)
        .await
        .map_err(DrError::aws("reading the stack's resources", region))?;
    resources
        .into_iter()
        .find(|r| {
            r.resource_type == resource_type && logical_id.is_none_or(|id| r.logical_id == id)
        })
        .map(|r| r.physical_id)
        .filter(|id| !id.is_empty())
        .ok_or(DrError::NoOutput {
            stack,
            region: region.to_string(),
            output: output.to_string(),
        })
}

/// The region's Auto Scaling group name.
pub async fn asg(aws: &Aws, def: &StackDef, region: &str) -> Result<String, DrError> {
    lookup(
        aws,
        def,
        region,
        output_names::ASG_NAME,
        None,
        "AWS::AutoScaling::AutoScalingGroup",
    )
    .await
}

/// The region's endpoint health check id.
pub async fn endpoint_check(aws: &Aws, def: &StackDef, region: &str) -> Result<String, DrError> {
    lookup(
        aws,
        def,
        region,
        output_names::HEALTH_CHECK_ID,
        Some(ENDPOINT_CHECK),
        "AWS::Route53::HealthCheck",
    )
    .await
}

/// The region's load balancer: its DNS name (output) or its ARN (resource).
pub async fn load_balancer(aws: &Aws, def: &StackDef, region: &str) -> Result<String, DrError> {
    lookup(
        aws,
        def,
        region,
        output_names::ALB_DNS_NAME,
        None,
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
    )
    .await
}
