//! `prune`: per region, deregister the stack's old AMI copies (and delete their
//! snapshots), keeping the newest N, every image the region's deployed stack uses
//! (its `AmiId` parameter and every version of its launch templates), and the copy
//! of the definition's current source AMI. A region whose use cannot be read is
//! left untouched.

use super::images::{ImageInfo, Images};
use super::{AmiError, TAG_COPIED_AT, TAG_SOURCE_AMI, TAG_STACK};
use crate::events::{EventKind, Events, Phase};
use crate::stack::StackDef;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Why an image was kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeptReason {
    /// Among the newest N.
    Newest,
    /// The region's deployed stack uses it.
    InUse,
    /// A copy of the definition's current `ami.id`.
    CurrentSource,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeptImage {
    pub image_id: String,
    pub reason: KeptReason,
}

/// One region's outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RegionPrune {
    pub kept: Vec<KeptImage>,
    pub deregistered: Vec<String>,
    pub snapshots_deleted: Vec<String>,
    /// Set when the region could not be pruned (nothing, or not everything, was done).
    pub error: Option<String>,
}

/// Every region's outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PruneReport {
    pub regions: BTreeMap<String, RegionPrune>,
}

impl PruneReport {
    pub fn failed_regions(&self) -> Vec<&str> {
        self.regions
            .iter()
            .filter(|(_, r)| r.error.is_some())
            .map(|(n, _)| n.as_str())
            .collect()
    }
}

/// Prune every region of the stack, all regions at once.
pub async fn prune(
    images: &impl Images,
    def: &StackDef,
    keep: usize,
    events: &Events,
) -> PruneReport {
    let regions: Vec<&str> = def.regions.iter().map(|r| r.name.as_str()).collect();
    let results = futures::future::join_all(
        regions
            .iter()
            .map(|region| prune_region(images, def, region, keep, events)),
    )
    .await;
    let mut report = PruneReport::default();
    for (region, (mut outcome, result)) in regions.iter().zip(results) {
        if let Err(e) = result {
            events.emit(
                Some(region),
                Phase::AmiCopy,
                EventKind::Failed {
                    error: e.to_string(),
                },
            );
            outcome.error = Some(e.to_string());
        }
        report.regions.insert(region.to_string(), outcome);
    }
    report
}

/// The images a region's deployed stack uses; empty when there is no stack.
async fn images_in_use(
    images: &impl Images,
    def: &StackDef,
    region: &str,
) -> Result<BTreeSet<String>, AmiError> {
    let name = def.region_stack_name(region);
    let mut used = BTreeSet::new();
    let Some(stack) = images.deployed_stack(region, &name).await? else {
        return Ok(used);
    };
    if let Some(id) = stack.parameters.get(crate::synth::AMI_PARAMETER) {
        used.insert(id.clone());
    }
    for lt in &stack.launch_templates {
        used.extend(images.launch_template_image_ids(region, lt).await?);
    }
    Ok(used)
}

/// Newest first: by the copy time strata recorded, then by EC2's creation date.
fn newest_first(images: &mut [ImageInfo]) {
    images.sort_by(|a, b| {
        let key = |i: &ImageInfo| {
            (
                i.tags.get(TAG_COPIED_AT).cloned().unwrap_or_default(),
                i.creation_date.clone().unwrap_or_default(),
            )
        };
        key(b).cmp(&key(a))
    });
}

/// Decide which images go: everything past the newest `keep` that is not protected.
fn decide(
    mut images: Vec<ImageInfo>,
    keep: usize,
    in_use: &BTreeSet<String>,
    current_source: &str,
) -> (Vec<KeptImage>, Vec<ImageInfo>) {
    newest_first(&mut images);
    let mut kept = Vec::new();
    let mut doomed = Vec::new();
    for (i, img) in images.into_iter().enumerate() {
        let reason = if in_use.contains(&img.id) {
            Some(KeptReason::InUse)
        } else if img.tags.get(TAG_SOURCE_AMI).map(String::as_str) == Some(current_source) {
            Some(KeptReason::CurrentSource)
        } else if i < keep {
            Some(KeptReason::Newest)
        } else {
            None
        };
        match reason {
            Some(reason) => kept.push(KeptImage {
                image_id: img.id,
                reason,
            }),
            None => doomed.push(img),
        }
    }
    (kept, doomed)
}

async fn prune_region(
    images: &impl Images,
    def: &StackDef,
    region: &str,
    keep: usize,
    events: &Events,
) -> (RegionPrune, Result<(), AmiError>) {
    let mut outcome = RegionPrune::default();
    let result = async {
        // Read what is in use first: if that fails, nothing is deleted.
        let in_use = images_in_use(images, def, region).await?;
        let tags = BTreeMap::from([(TAG_STACK.to_string(), def.stack_name())]);
        let owned: Vec<ImageInfo> = images
            .images_by_tags(region, &tags)
            .await?
            .into_iter()
            .filter(|i| i.state != "deregistered")
            .collect();
        let (kept, doomed) = decide(owned, keep, &in_use, &def.ami.id);
        outcome.kept = kept;
        for img in doomed {
            images.deregister_image(region, &img.id).await?;
            outcome.deregistered.push(img.id.clone());
            events.info(
                Some(region),
                Phase::AmiCopy,
                format!("deregistered {}", img.id),
            );
            for snap in &img.snapshot_ids {
                images.delete_snapshot(region, snap).await?;
                outcome.snapshots_deleted.push(snap.clone());
            }
        }
        Ok(())
    }
    .await;
    (outcome, result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn img(id: &str, source: &str, copied_at: &str) -> ImageInfo {
        ImageInfo {
            id: id.into(),
            name: None,
            state: "available".into(),
            state_reason: None,
            creation_date: Some("2026-01-01T00:00:00.000Z".into()),
            tags: BTreeMap::from([
                (TAG_SOURCE_AMI.to_string(), source.to_string()),
                (TAG_COPIED_AT.to_string(), copied_at.to_string()),
            ]),
            snapshot_ids: vec![],
        }
    }

    #[test]
    fn keeps_newest_in_use_and_current_source_only() {
        let images = vec![
            img("ami-old", "ami-s1", "2026-01-01T00:00:01Z"),
            img("ami-mid", "ami-s2", "2026-01-01T00:00:02Z"),
            img("ami-new", "ami-s3", "2026-01-01T00:00:03Z"),
            img("ami-cur", "ami-s0", "2026-01-01T00:00:00Z"),
        ];
        let in_use = BTreeSet::from(["ami-old".to_string()]);
        let (kept, doomed) = decide(images, 1, &in_use, "ami-s0");
        let kept: Vec<_> = kept
            .iter()
            .map(|k| (k.image_id.as_str(), k.reason))
            .collect();
        assert_eq!(
            kept,
            vec![
                ("ami-new", KeptReason::Newest),
                ("ami-old", KeptReason::InUse),
                ("ami-cur", KeptReason::CurrentSource)
            ]
        );
        assert_eq!(
            doomed.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(),
            vec!["ami-mid"]
        );
    }
}
