//! The `Images` port: the EC2 image calls `bake`, `copy`, `wait` and `prune` make,
//! and the stack reads `prune` needs to know what a region still launches from.
//! Implemented once for the AWS adapter (`aws::ec2_images`) and by the in-memory
//! fake the unit tests share (`crate::fake`). Every method is one AWS call, or one
//! paginated list.

use crate::call_error::CallError;
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

/// What a deployed stack launches from, as `prune` reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeployedStack {
    /// The stack's parameters (the `AmiId` one among them).
    pub parameters: BTreeMap<String, String>,
    /// The physical ids of its `AWS::EC2::LaunchTemplate` resources.
    pub launch_templates: Vec<String>,
}

#[allow(async_fn_in_trait)]
pub trait Images: Sync {
    /// CreateImage from an instance, tagged at creation; the new id.
    async fn create_image(
        &self,
        region: &str,
        instance_id: &str,
        name: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, CallError>;
    /// DescribeImages by id; None when EC2 does not know it.
    async fn describe_image(
        &self,
        region: &str,
        image_id: &str,
    ) -> Result<Option<ImageInfo>, CallError>;
    /// DescribeImages: this account's images carrying every given tag.
    async fn images_by_tags(
        &self,
        region: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<Vec<ImageInfo>, CallError>;
    /// DescribeImages: this account's images with exactly this name.
    async fn images_by_name(&self, region: &str, name: &str) -> Result<Vec<ImageInfo>, CallError>;
    /// CopyImage, tagged at creation, with an idempotency token; the new id.
    async fn copy_image(&self, req: &CopyRequest<'_>) -> Result<String, CallError>;
    /// CreateTags on one image (overwrites existing values of the same keys).
    async fn tag_image(
        &self,
        region: &str,
        image_id: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), CallError>;
    /// DeregisterImage.
    async fn deregister_image(&self, region: &str, image_id: &str) -> Result<(), CallError>;
    /// DeleteSnapshot; a snapshot already gone is not an error.
    async fn delete_snapshot(&self, region: &str, snapshot_id: &str) -> Result<(), CallError>;
    /// DescribeStacks and ListStackResources: None when the stack does not exist.
    async fn deployed_stack(
        &self,
        region: &str,
        stack: &str,
    ) -> Result<Option<DeployedStack>, CallError>;
    /// DescribeLaunchTemplateVersions: the image ids every version names.
    async fn launch_template_image_ids(
        &self,
        region: &str,
        launch_template_id: &str,
    ) -> Result<Vec<String>, CallError>;
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
