//! `bake`: create an image from a builder instance, tag it, wait until available.
//! Re-running with the same name and instance picks the existing image up.

use super::images::Images;
use super::{wait, AmiError, WaitPolicy, TAG_BAKED_FROM, TAG_VERSION};
use crate::events::{EventKind, Events, Phase};
use std::collections::BTreeMap;

/// What to bake.
#[derive(Debug, Clone)]
pub struct BakeRequest {
    pub region: String,
    pub instance_id: String,
    /// The image name; also recorded as its `strata:version`.
    pub name: String,
}

/// A baked, available image.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BakedImage {
    pub image_id: String,
    pub region: String,
    pub name: String,
    /// False when an image of that name from that instance already existed.
    pub created: bool,
}

pub async fn bake(
    images: &impl Images,
    req: &BakeRequest,
    policy: &WaitPolicy,
    events: &Events,
) -> Result<BakedImage, AmiError> {
    let region = req.region.as_str();
    events.emit(
        Some(region),
        Phase::Bake,
        EventKind::PhaseStarted {
            detail: format!("baking {} from {}", req.name, req.instance_id),
        },
    );
    let existing = images.images_by_name(region, &req.name).await?;
    let (image_id, created) = match existing.into_iter().next() {
        Some(img) if img.tags.get(TAG_BAKED_FROM) == Some(&req.instance_id) => {
            events.info(
                Some(region),
                Phase::Bake,
                format!(
                    "{} already baked from {} ({})",
                    img.id, req.instance_id, img.state
                ),
            );
            (img.id, false)
        }
        Some(img) => {
            return Err(AmiError::NameTaken {
                name: req.name.clone(),
                region: region.to_string(),
                image_id: img.id,
                instance: req.instance_id.clone(),
            })
        }
        None => {
            let tags = BTreeMap::from([
                (TAG_BAKED_FROM.to_string(), req.instance_id.clone()),
                (TAG_VERSION.to_string(), req.name.clone()),
            ]);
            let id = images
                .create_image(region, &req.instance_id, &req.name, &tags)
                .await?;
            // Tag again after creation: some endpoints ignore tag specifications.
            images.tag_image(region, &id, &tags).await?;
            events.info(Some(region), Phase::Bake, format!("created {id}"));
            (id, true)
        }
    };
    wait::until_available(images, region, &image_id, policy, |state, waited| {
        events.info(
            Some(region),
            Phase::Bake,
            format!("{image_id} {state} ({}s)", waited.as_secs()),
        )
    })
    .await?;
    events.emit(
        Some(region),
        Phase::Bake,
        EventKind::PhaseDone {
            detail: format!("{image_id} available"),
        },
    );
    Ok(BakedImage {
        image_id,
        region: region.to_string(),
        name: req.name.clone(),
        created,
    })
}
