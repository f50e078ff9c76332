//! Reading a deployed CloudFormation stack: status, parameters, outputs, tags, and
//! the physical ids of its resources of one type.

use super::{Aws, CallError};
use aws_sdk_cloudformation::types::{Stack, StackResource, TemplateStage};
use std::collections::BTreeMap;

/// What `DescribeStacks` says about one stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackInfo {
    pub name: String,
    /// "CREATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE" ...
    pub status: String,
    pub parameters: BTreeMap<String, String>,
    pub outputs: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
}

/// DescribeStacks of one stack, as CloudFormation answers it: the one place the
/// call is made. `None` when the stack does not exist or was deleted (a deleted
/// stack is described by its id only, as DELETE_COMPLETE).
pub async fn stack(aws: &Aws, region: &str, stack_name: &str) -> Result<Option<Stack>, CallError> {
    let res = aws
        .cloudformation(region)
        .describe_stacks()
        .stack_name(stack_name)
        .send()
        .await;
    let out = match res {
        Ok(out) => out,
        Err(e) => {
            let err = CallError::from_sdk("cloudformation", "DescribeStacks", region, e);
            if err.message.contains("does not exist") {
                return Ok(None);
            }
            return Err(err);
        }
    };
    Ok(out
        .stacks()
        .first()
        .filter(|s| s.stack_status().map(|s| s.as_str()) != Some("DELETE_COMPLETE"))
        .cloned())
}

/// DescribeStackResources: every resource of the stack (the one place the call
/// is made).
pub async fn resources(
    aws: &Aws,
    region: &str,
    stack_name: &str,
) -> Result<Vec<StackResource>, CallError> {
    let out = aws
        .cloudformation(region)
        .describe_stack_resources()
        .stack_name(stack_name)
        .send()
        .await
        .map_err(|e| CallError::from_sdk("cloudformation", "DescribeStackResources", region, e))?;
    Ok(out.stack_resources().to_vec())
}

/// GetTemplate of the Original stage: the template as strata submitted it (the
/// one place the call is made).
pub async fn original_template(
    aws: &Aws,
    region: &str,
    stack_name: &str,
) -> Result<String, CallError> {
    let out = aws
        .cloudformation(region)
        .get_template()
        .stack_name(stack_name)
        .template_stage(TemplateStage::Original)
        .send()
        .await
        .map_err(|e| CallError::from_sdk("cloudformation", "GetTemplate", region, e))?;
    Ok(out.template_body().unwrap_or_default().to_string())
}

/// DescribeStacks for one stack; `None` when it does not exist (or was deleted).
pub async fn describe_stack(
    aws: &Aws,
    region: &str,
    stack_name: &str,
) -> Result<Option<StackInfo>, CallError> {
    let Some(s) = stack(aws, region, stack_name).await? else {
        return Ok(None);
    };
    let status = s
        .stack_status()
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|| "UNKNOWN".into());
    Ok(Some(StackInfo {
        name: s.stack_name().unwrap_or(stack_name).to_string(),
        status,
        parameters: s
            .parameters()
            .iter()
            .filter_map(|p| {
                Some((
                    p.parameter_key()?.to_string(),
                    p.resolved_value()
                        .or(p.parameter_value())
                        .unwrap_or_default()
                        .to_string(),
                ))
            })
            .collect(),
        outputs: s
            .outputs()
            .iter()
            .filter_map(|o| Some((o.output_key()?.to_string(), o.output_value()?.to_string())))
            .collect(),
        tags: s
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
            .collect(),
    }))
}

/// Physical ids of the stack's resources of one CloudFormation type
/// (e.g. "AWS::EC2::LaunchTemplate").
pub async fn stack_resources_of_type(
    aws: &Aws,
    region: &str,
    stack_name: &str,
    resource_type: &str,
) -> Result<Vec<String>, CallError> {
    Ok(resources(aws, region, stack_name)
        .await?
        .iter()
        .filter(|r| r.resource_type() == Some(resource_type))
        .filter_map(|r| r.physical_resource_id().map(str::to_string))
        .collect())
}
