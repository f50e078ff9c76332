//! The `ami::Images` port over EC2 (create, copy, find by tags or name, tag,
//! deregister, delete snapshots, launch-template versions) and the stack reads it
//! needs. Plain types out, `CallError` on failure.

use super::{stack_info, Aws, CallError};
use crate::ami::images::{CopyRequest, DeployedStack, ImageInfo, Images};
use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use std::collections::BTreeMap;

fn tags_to_sdk(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

fn image_from_sdk(img: &aws_sdk_ec2::types::Image) -> ImageInfo {
    ImageInfo {
        id: img.image_id().unwrap_or_default().to_string(),
        name: img.name().map(str::to_string),
        state: img
            .state()
            .map(|s| s.as_str().to_string())
            .unwrap_or_else(|| "unknown".into()),
        state_reason: img
            .state_reason()
            .and_then(|r| r.message())
            .map(str::to_string),
        creation_date: img.creation_date().map(str::to_string),
        tags: img
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
            .collect(),
        snapshot_ids: img
            .block_device_mappings()
            .iter()
            .filter_map(|b| b.ebs()?.snapshot_id().map(str::to_string))
            .collect(),
    }
}

impl Images for Aws {
    /// CreateImage from an instance, with the image tagged at creation.
    async fn create_image(
        &self,
        region: &str,
        instance_id: &str,
        name: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, CallError> {
        let out = self
            .ec2(region)
            .create_image()
            .instance_id(instance_id)
            .name(name)
            .tag_specifications(
                TagSpecification::builder()
                    .resource_type(ResourceType::Image)
                    .set_tags(Some(tags_to_sdk(tags)))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| CallError::from_sdk("ec2", "CreateImage", region, e))?;
        out.image_id()
            .map(str::to_string)
            .ok_or_else(|| missing("CreateImage", region, "ImageId"))
    }

    /// One image by id; `None` when EC2 does not know it.
    async fn describe_image(
        &self,
        region: &str,
        image_id: &str,
    ) -> Result<Option<ImageInfo>, CallError> {
        let res = self
            .ec2(region)
            .describe_images()
            .image_ids(image_id)
            .send()
            .await;
        match res {
            Ok(out) => Ok(out.images().first().map(image_from_sdk)),
            Err(e) => {
                let err = CallError::from_sdk("ec2", "DescribeImages", region, e);
                if err.code.starts_with("InvalidAMIID") {
                    Ok(None)
                } else {
                    Err(err)
                }
            }
        }
    }

    /// Images owned by this account carrying every given tag (key = value).
    async fn images_by_tags(
        &self,
        region: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<Vec<ImageInfo>, CallError> {
        let mut req = self.ec2(region).describe_images().owners("self");
        for (k, v) in tags {
            req = req.filters(Filter::builder().name(format!("tag:{k}")).values(v).build());
        }
        let out = req
            .send()
            .await
            .map_err(|e| CallError::from_sdk("ec2", "DescribeImages", region, e))?;
        Ok(out.images().iter().map(image_from_sdk).collect())
    }

    /// Images owned by this account with exactly this name (AMI names are unique per
    /// account and region).
    async fn images_by_name(&self, region: &str, name: &str) -> Result<Vec<ImageInfo>, CallError> {
        let out = self
            .ec2(region)
            .describe_images()
            .owners("self")
            .filters(Filter::builder().name("name").values(name).build())
            .send()
            .await
            .map_err(|e| CallError::from_sdk("ec2", "DescribeImages", region, e))?;
        Ok(out.images().iter().map(image_from_sdk).collect())
    }

    /// CopyImage, tagged at creation, with an idempotency token; returns the new id.
    async fn copy_image(&self, req: &CopyRequest<'_>) -> Result<String, CallError> {
        let region = req.region;
        let mut call = self
            .ec2(region)
            .copy_image()
            .source_region(req.source_region)
            .source_image_id(req.source_image_id)
            .name(req.name)
            .client_token(req.client_token)
            .tag_specifications(
                TagSpecification::builder()
                    .resource_type(ResourceType::Image)
                    .set_tags(Some(tags_to_sdk(req.tags)))
                    .build(),
            );
        if req.encryption.encrypted {
            call = call
                .encrypted(true)
                .set_kms_key_id(req.encryption.kms_key_id.clone());
        }
        let out = call
            .send()
            .await
            .map_err(|e| CallError::from_sdk("ec2", "CopyImage", region, e))?;
        out.image_id()
            .map(str::to_string)
            .ok_or_else(|| missing("CopyImage", region, "ImageId"))
    }

    /// CreateTags on one resource (overwrites existing values of the same keys).
    async fn tag_image(
        &self,
        region: &str,
        image_id: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), CallError> {
        self.ec2(region)
            .create_tags()
            .resources(image_id)
            .set_tags(Some(tags_to_sdk(tags)))
            .send()
            .await
            .map_err(|e| CallError::from_sdk("ec2", "CreateTags", region, e))?;
        Ok(())
    }

    /// DeregisterImage.
    async fn deregister_image(&self, region: &str, image_id: &str) -> Result<(), CallError> {
        self.ec2(region)
            .deregister_image()
            .image_id(image_id)
            .send()
            .await
            .map_err(|e| CallError::from_sdk("ec2", "DeregisterImage", region, e))?;
        Ok(())
    }

    /// DeleteSnapshot; a snapshot already gone is not an error.
    async fn delete_snapshot(&self, region: &str, snapshot_id: &str) -> Result<(), CallError> {
        match self
            .ec2(region)
            .delete_snapshot()
            .snapshot_id(snapshot_id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => {
                let err = CallError::from_sdk("ec2", "DeleteSnapshot", region, e);
                if err.code == "InvalidSnapshot.NotFound" {
                    Ok(())
                } else {
                    Err(err)
                }
            }
        }
    }

    /// The image ids named by every version of a launch template.
    async fn launch_template_image_ids(
        &self,
        region: &str,
        launch_template_id: &str,
    ) -> Result<Vec<String>, CallError> {
        let client = self.ec2(region);
        let mut ids = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let out = client
                .describe_launch_template_versions()
                .launch_template_id(launch_template_id)
                .set_next_token(next.clone())
                .send()
                .await
                .map_err(|e| {
                    CallError::from_sdk("ec2", "DescribeLaunchTemplateVersions", region, e)
                })?;
            ids.extend(
                out.launch_template_versions()
                    .iter()
                    .filter_map(|v| v.launch_template_data()?.image_id().map(str::to_string)),
            );
            next = out.next_token().map(str::to_string);
            if next.is_none() {
                return Ok(ids);
            }
        }
    }

    async fn deployed_stack(
        &self,
        region: &str,
        stack: &str,
    ) -> Result<Option<DeployedStack>, CallError> {
        let Some(info) = stack_info::describe_stack(self, region, stack).await? else {
            return Ok(None);
        };
        let launch_templates =
            stack_info::stack_resources_of_type(self, region, stack, "AWS::EC2::LaunchTemplate")
                .await?;
        Ok(Some(DeployedStack {
            parameters: info.parameters,
            launch_templates,
        }))
    }
}

fn missing(operation: &'static str, region: &str, field: &str) -> CallError {
    CallError {
        service: "ec2",
        operation,
        region: region.to_string(),
        code: "MissingField".into(),
        message: format!("the response has no {field}"),
    }
}
