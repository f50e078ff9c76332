//! EC2 images: create, copy, find by tags, tag, deregister (with snapshots), and the
//! image ids a launch template's versions name. Plain types out, `CallError` on failure.

use super::{Aws, CallError};
use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use std::collections::BTreeMap;

/// One image as strata needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    pub id: String,
    pub name: Option<String>,
    /// "pending", "available", "failed", "deregistered" ...
    pub state: String,
    /// Why the image is in its state (set for "failed").
    pub state_reason: Option<String>,
    /// ISO 8601 creation time as EC2 reports it.
    pub creation_date: Option<String>,
    pub tags: BTreeMap<String, String>,
    /// EBS snapshots behind the image's block devices.
    pub snapshot_ids: Vec<String>,
}

/// Optional encryption of a copy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyEncryption {
    pub encrypted: bool,
    pub kms_key_id: Option<String>,
}

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

/// CreateImage from an instance, with the image tagged at creation.
pub async fn create_image(
    aws: &Aws,
    region: &str,
    instance_id: &str,
    name: &str,
    tags: &BTreeMap<String, String>,
) -> Result<String, CallError> {
    let out = aws
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
pub async fn describe_image(
    aws: &Aws,
    region: &str,
    image_id: &str,
) -> Result<Option<ImageInfo>, CallError> {
    let res = aws
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
pub async fn find_own_images_by_tags(
    aws: &Aws,
    region: &str,
    tags: &BTreeMap<String, String>,
) -> Result<Vec<ImageInfo>, CallError> {
    let mut req = aws.ec2(region).describe_images().owners("self");
    for (k, v) in tags {
        req = req.filters(Filter::builder().name(format!("tag:{k}")).values(v).build());
    }
    let out = req
        .send()
        .await
        .map_err(|e| CallError::from_sdk("ec2", "DescribeImages", region, e))?;
    Ok(out.images().iter().map(image_from_sdk).collect())
}

/// Of several copies of one source for one stack, the one every command uses:
/// reusable (available or pending), available first, then the oldest (the first
/// one made). `ami copy`, deploy, plan and `dr rebuild` all choose with this, so
/// they agree on a region's AMI even when a region holds more than one copy.
pub fn preferred_copy(images: Vec<ImageInfo>) -> Option<ImageInfo> {
    let mut usable: Vec<ImageInfo> = images
        .into_iter()
        .filter(|i| matches!(i.state.as_str(), "available" | "pending"))
        .collect();
    usable.sort_by_key(|i| {
        (
            i.state != "available",
            i.creation_date.clone(),
            i.id.clone(),
        )
    });
    usable.into_iter().next()
}

/// Images owned by this account with exactly this name (AMI names are unique per
/// account and region).
pub async fn find_own_images_by_name(
    aws: &Aws,
    region: &str,
    name: &str,
) -> Result<Vec<ImageInfo>, CallError> {
    let out = aws
        .ec2(region)
        .describe_images()
        .owners("self")
        .filters(Filter::builder().name("name").values(name).build())
        .send()
        .await
        .map_err(|e| CallError::from_sdk("ec2", "DescribeImages", region, e))?;
    Ok(out.images().iter().map(image_from_sdk).collect())
}

/// One CopyImage call.
#[derive(Debug, Clone)]
pub struct CopyRequest<'a> {
    /// The region the copy is made in.
    pub region: &'a str,
    pub source_region: &'a str,
    pub source_image_id: &'a str,
    pub name: &'a str,
    /// Idempotency token (at most 64 ASCII characters).
    pub client_token: &'a str,
    pub encryption: &'a CopyEncryption,
    pub tags: &'a BTreeMap<String, String>,
}

/// CopyImage, tagged at creation, with an idempotency token; returns the new id.
pub async fn copy_image(aws: &Aws, req: &CopyRequest<'_>) -> Result<String, CallError> {
    let region = req.region;
    let mut call = aws
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
pub async fn tag_resource(
    aws: &Aws,
    region: &str,
    resource_id: &str,
    tags: &BTreeMap<String, String>,
) -> Result<(), CallError> {
    aws.ec2(region)
        .create_tags()
        .resources(resource_id)
        .set_tags(Some(tags_to_sdk(tags)))
        .send()
        .await
        .map_err(|e| CallError::from_sdk("ec2", "CreateTags", region, e))?;
    Ok(())
}

/// DeregisterImage.
pub async fn deregister_image(aws: &Aws, region: &str, image_id: &str) -> Result<(), CallError> {
    aws.ec2(region)
        .deregister_image()
        .image_id(image_id)
        .send()
        .await
        .map_err(|e| CallError::from_sdk("ec2", "DeregisterImage", region, e))?;
    Ok(())
}

/// DeleteSnapshot; a snapshot already gone is not an error.
pub async fn delete_snapshot(aws: &Aws, region: &str, snapshot_id: &str) -> Result<(), CallError> {
    match aws
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
pub async fn launch_template_image_ids(
    aws: &Aws,
    region: &str,
    launch_template_id: &str,
) -> Result<Vec<String>, CallError> {
    let client = aws.ec2(region);
    let mut ids = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let out = client
            .describe_launch_template_versions()
            .launch_template_id(launch_template_id)
            .set_next_token(next.clone())
            .send()
            .await
            .map_err(|e| CallError::from_sdk("ec2", "DescribeLaunchTemplateVersions", region, e))?;
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

fn missing(operation: &'static str, region: &str, field: &str) -> CallError {
    CallError {
        service: "ec2",
        operation,
        region: region.to_string(),
        code: "MissingField".into(),
        message: format!("the response has no {field}"),
    }
}
