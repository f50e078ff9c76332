//! The fake's `ami::Images`: images per region, CopyImage's idempotency token, the
//! stacks' launch templates. Created and copied images are available at once (the
//! wait is judged by `ami::wait`'s own tests); a mutating call can be made to fail
//! with `fail_mutating_call` like the deploy's.

use super::{Fake, State};
use crate::ami::images::{CopyRequest, DeployedStack, ImageInfo, Images};
use crate::call_error::CallError;
use std::collections::BTreeMap;

impl Fake {
    /// Put an image into a region (an AMI that exists before the test runs).
    pub fn add_image(&self, region: &str, image: ImageInfo) {
        self.with(|s| s.images.insert((region.into(), image.id.clone()), image));
    }

    /// Every image in a region, by id.
    pub fn images_in(&self, region: &str) -> BTreeMap<String, ImageInfo> {
        self.with(|s| {
            s.images
                .iter()
                .filter(|((r, _), _)| r == region)
                .map(|((_, id), i)| (id.clone(), i.clone()))
                .collect()
        })
    }
}

/// An available image with these tags.
pub fn image(id: &str, name: &str, tags: &[(&str, &str)]) -> ImageInfo {
    ImageInfo {
        id: id.into(),
        name: Some(name.into()),
        state: "available".into(),
        state_reason: None,
        creation_date: Some("2026-01-01T00:00:00.000Z".into()),
        tags: tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        snapshot_ids: vec![format!("snap-{id}")],
    }
}

fn new_image(s: &mut State, region: &str, name: &str, tags: &BTreeMap<String, String>) -> String {
    let id = format!("ami-fake{:04}", s.images.len() + 1);
    let mut img = image(&id, name, &[]);
    img.tags = tags.clone();
    s.images.insert((region.into(), id.clone()), img);
    id
}

fn not_found(operation: &'static str, region: &str, id: &str) -> CallError {
    CallError {
        service: "ec2",
        operation,
        region: region.into(),
        code: "InvalidAMIID.NotFound".into(),
        message: format!("The image id '[{id}]' does not exist"),
    }
}

impl Images for Fake {
    async fn create_image(
        &self,
        region: &str,
        _instance_id: &str,
        name: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, CallError> {
        self.mutate(region, "CreateImage")?;
        Ok(self.with(|s| new_image(s, region, name, tags)))
    }

    async fn describe_image(
        &self,
        region: &str,
        image_id: &str,
    ) -> Result<Option<ImageInfo>, CallError> {
        self.call(region, "DescribeImages");
        Ok(self.with(|s| s.images.get(&(region.into(), image_id.into())).cloned()))
    }

    async fn images_by_tags(
        &self,
        region: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<Vec<ImageInfo>, CallError> {
        self.call(region, "DescribeImages");
        Ok(self
            .images_in(region)
            .into_values()
            .filter(|i| tags.iter().all(|(k, v)| i.tags.get(k) == Some(v)))
            .collect())
    }

    async fn images_by_name(&self, region: &str, name: &str) -> Result<Vec<ImageInfo>, CallError> {
        self.call(region, "DescribeImages");
        Ok(self
            .images_in(region)
            .into_values()
            .filter(|i| i.name.as_deref() == Some(name))
            .collect())
    }

    async fn copy_image(&self, req: &CopyRequest<'_>) -> Result<String, CallError> {
        self.mutate(req.region, "CopyImage")?;
        self.with(|s| {
            let token = (req.region.to_string(), req.client_token.to_string());
            if let Some(id) = s.copy_tokens.get(&token) {
                return Ok(id.clone());
            }
            let source = (req.source_region.into(), req.source_image_id.into());
            if !s.images.contains_key(&source) {
                return Err(not_found("CopyImage", req.region, req.source_image_id));
            }
            let id = new_image(s, req.region, req.name, req.tags);
            s.copy_tokens.insert(token, id.clone());
            Ok(id)
        })
    }

    async fn tag_image(
        &self,
        region: &str,
        image_id: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), CallError> {
        self.mutate(region, "CreateTags")?;
        self.with(
            |s| match s.images.get_mut(&(region.into(), image_id.into())) {
                Some(img) => {
                    img.tags.extend(tags.clone());
                    Ok(())
                }
                None => Err(not_found("CreateTags", region, image_id)),
            },
        )
    }

    async fn deregister_image(&self, region: &str, image_id: &str) -> Result<(), CallError> {
        self.mutate(region, "DeregisterImage")?;
        self.with(
            |s| match s.images.remove(&(region.into(), image_id.into())) {
                Some(_) => Ok(()),
                None => Err(not_found("DeregisterImage", region, image_id)),
            },
        )
    }

    async fn delete_snapshot(&self, region: &str, snapshot_id: &str) -> Result<(), CallError> {
        self.mutate(region, "DeleteSnapshot")?;
        self.with(|s| {
            s.deleted_snapshots
                .push((region.into(), snapshot_id.into()))
        });
        Ok(())
    }

    async fn deployed_stack(
        &self,
        region: &str,
        stack: &str,
    ) -> Result<Option<DeployedStack>, CallError> {
        self.call(region, "DescribeStacks");
        let Some(found) = Fake::stack(self, region, stack) else {
            return Ok(None);
        };
        self.call(region, "ListStackResources");
        let key = (region.to_string(), stack.to_string());
        Ok(Some(DeployedStack {
            parameters: found.params,
            launch_templates: self.with(|s| {
                s.stack_launch_templates
                    .get(&key)
                    .cloned()
                    .unwrap_or_default()
            }),
        }))
    }

    async fn launch_template_image_ids(
        &self,
        region: &str,
        launch_template_id: &str,
    ) -> Result<Vec<String>, CallError> {
        self.call(region, "DescribeLaunchTemplateVersions");
        Ok(self.with(|s| {
            s.launch_templates
                .get(&(region.into(), launch_template_id.into()))
                .cloned()
                .unwrap_or_default()
        }))
    }
}
