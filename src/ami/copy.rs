//! `ensure_copies`: the stack's source AMI in every region of the stack, copied into
//! all the other regions at the same time. A copy is found again by its tags
//! (`strata:source-ami` + `strata:stack`), or by its deterministic name when a run
//! died between CopyImage and tagging, and is reused — pending or available —
//! never copied twice. With `ami.encrypted` the source region gets an encrypted
//! copy too, so every region launches from an encrypted image.

use super::images::{preferred_copy, CopyEncryption, CopyRequest, ImageInfo, Images};
use super::{
    wait, AmiError, RegionAmis, WaitPolicy, TAG_COPIED_AT, TAG_SOURCE_AMI, TAG_SOURCE_REGION,
    TAG_STACK, TAG_VERSION,
};
use crate::events::{EventKind, Events, Phase};
use crate::stack::StackDef;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use time::format_description::well_known::Rfc3339;

/// The image every region's copy is made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmiSource {
    pub image_id: String,
    pub region: String,
}

impl AmiSource {
    /// The definition's `[ami]` id and build region.
    pub fn from_def(def: &StackDef) -> Self {
        AmiSource {
            image_id: def.ami.id.clone(),
            region: def.ami.build_region.clone(),
        }
    }
}

/// States of an existing copy that make it reusable.
fn reusable(img: &ImageInfo) -> bool {
    matches!(img.state.as_str(), "available" | "pending")
}

/// The copy's name: deterministic, so a retry finds an untagged copy too.
fn copy_name(stack: &str, source: &AmiSource) -> String {
    format!("{stack}-{}-from-{}", source.image_id, source.region)
}

/// CopyImage's idempotency token (at most 64 ASCII characters).
fn client_token(stack: &str, source: &AmiSource, region: &str) -> String {
    let digest = Sha256::digest(format!(
        "{stack}|{}|{}|{region}",
        source.image_id, source.region
    ));
    format!("strata-{}", &hex::encode(digest)[..40])
}

/// Copy (or find) the source AMI in every region of the stack and wait until every
/// copy is available, with the default wait bound. Returns region -> AMI id for
/// every region of the stack (the source region maps to the source AMI, or to its
/// encrypted copy when `ami.encrypted`).
pub async fn ensure_copies(
    images: &impl Images,
    def: &StackDef,
    source: &AmiSource,
    events: &Events,
) -> Result<RegionAmis, AmiError> {
    ensure_copies_with(images, def, source, events, &WaitPolicy::copy_default()).await
}

/// `ensure_copies` with an explicit wait policy.
pub async fn ensure_copies_with(
    images: &impl Images,
    def: &StackDef,
    source: &AmiSource,
    events: &Events,
    policy: &WaitPolicy,
) -> Result<RegionAmis, AmiError> {
    let started = start_copies(images, def, source, events).await?;
    await_copies(images, &started, events, policy).await
}

/// Copies found or started in every region, not yet waited for: each region's AMI
/// id is known (a pending copy has its id), so a deploy can plan with them while
/// the copies become available (`await_copies`).
#[derive(Debug, Clone)]
pub struct StartedCopies {
    /// Region -> AMI id, every region whose copy was found or started.
    pub amis: RegionAmis,
    /// The regions to wait for (every copy; not the source region's own image).
    waiting: Vec<String>,
    /// Regions whose copy could not even be started: region -> reason.
    failed: BTreeMap<String, String>,
}

/// Find or start the copy in every region at once; wait for none of them.
/// A region that fails to start is remembered and reported by `await_copies`.
pub async fn start_copies(
    images: &impl Images,
    def: &StackDef,
    source: &AmiSource,
    events: &Events,
) -> Result<StartedCopies, AmiError> {
    let src = images
        .describe_image(&source.region, &source.image_id)
        .await?
        .ok_or_else(|| AmiError::SourceNotFound {
            image_id: source.image_id.clone(),
            region: source.region.clone(),
        })?;
    if src.state != "available" {
        return Err(AmiError::SourceNotAvailable {
            image_id: src.id,
            region: source.region.clone(),
            state: src.state,
        });
    }
    let version = src
        .tags
        .get(TAG_VERSION)
        .cloned()
        .or(src.name.clone())
        .unwrap_or_else(|| source.image_id.clone());
    let plan = CopyPlan {
        stack: def.stack_name(),
        source: source.clone(),
        version,
        encryption: CopyEncryption {
            encrypted: def.ami.encrypted,
            kms_key_id: def.ami.kms_key_id.clone(),
        },
    };

    // The source region keeps the source image, unless copies are encrypted: then
    // it gets an (encrypted) copy of its own like every other region.
    let targets: Vec<&str> = def
        .regions
        .iter()
        .map(|r| r.name.as_str())
        .filter(|r| *r != source.region || plan.encryption.encrypted)
        .collect();
    let results = futures::future::join_all(
        targets
            .iter()
            .map(|region| start_one(images, &plan, region, events)),
    )
    .await;

    let mut started = StartedCopies {
        amis: RegionAmis::new(),
        waiting: Vec::new(),
        failed: BTreeMap::new(),
    };
    if def.region(&source.region).is_some() && !plan.encryption.encrypted {
        started
            .amis
            .insert(source.region.clone(), source.image_id.clone());
    }
    for (region, result) in targets.iter().zip(results) {
        match result {
            Ok(id) => {
                started.amis.insert(region.to_string(), id);
                started.waiting.push(region.to_string());
            }
            Err(e) => {
                failed_event(events, region, &e);
                started.failed.insert(region.to_string(), e.to_string());
            }
        }
    }
    Ok(started)
}

/// Wait until every started copy is available (all regions at once). Any region
/// that failed to start or to become available in time is an error naming it.
pub async fn await_copies(
    images: &impl Images,
    started: &StartedCopies,
    events: &Events,
    policy: &WaitPolicy,
) -> Result<RegionAmis, AmiError> {
    let results = futures::future::join_all(started.waiting.iter().map(|region| {
        let id = started.amis[region].clone();
        async move { wait_one(images, region, &id, policy, events).await }
    }))
    .await;
    let mut failed = started.failed.clone();
    let mut done = started.amis.clone();
    for (region, result) in started.waiting.iter().zip(results) {
        if let Err(e) = result {
            failed_event(events, region, &e);
            failed.insert(region.clone(), e.to_string());
            done.remove(region);
        }
    }
    if failed.is_empty() {
        Ok(done)
    } else {
        Err(AmiError::CopiesFailed { failed, done })
    }
}

fn failed_event(events: &Events, region: &str, e: &AmiError) {
    events.emit(
        Some(region),
        Phase::AmiCopy,
        EventKind::Failed {
            error: e.to_string(),
        },
    );
}

/// What every region's copy shares.
struct CopyPlan {
    stack: String,
    source: AmiSource,
    version: String,
    encryption: CopyEncryption,
}

impl CopyPlan {
    /// The tags that identify a copy (the lookup key).
    fn identity_tags(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (TAG_SOURCE_AMI.to_string(), self.source.image_id.clone()),
            (TAG_STACK.to_string(), self.stack.clone()),
        ])
    }

    fn all_tags(&self, copied_at: &str) -> BTreeMap<String, String> {
        let mut tags = self.identity_tags();
        tags.insert(TAG_SOURCE_REGION.into(), self.source.region.clone());
        tags.insert(TAG_VERSION.into(), self.version.clone());
        tags.insert(TAG_COPIED_AT.into(), copied_at.to_string());
        tags.insert("Name".into(), format!("{} {}", self.stack, self.version));
        tags
    }
}

/// One region: find or start the copy.
async fn start_one(
    images: &impl Images,
    plan: &CopyPlan,
    region: &str,
    events: &Events,
) -> Result<String, AmiError> {
    events.emit(
        Some(region),
        Phase::AmiCopy,
        EventKind::PhaseStarted {
            detail: format!(
                "{} from {} into {region}",
                plan.source.image_id, plan.source.region
            ),
        },
    );
    let image_id = match find_existing(images, plan, region).await? {
        Some(img) => {
            events.info(
                Some(region),
                Phase::AmiCopy,
                format!("reusing {} ({})", img.id, img.state),
            );
            img.id
        }
        None => {
            let copied_at = time::OffsetDateTime::now_utc()
                .format(&Rfc3339)
                .unwrap_or_default();
            let tags = plan.all_tags(&copied_at);
            let name = copy_name(&plan.stack, &plan.source);
            let token = client_token(&plan.stack, &plan.source, region);
            let id = images
                .copy_image(&CopyRequest {
                    region,
                    source_region: &plan.source.region,
                    source_image_id: &plan.source.image_id,
                    name: &name,
                    client_token: &token,
                    encryption: &plan.encryption,
                    tags: &tags,
                })
                .await?;
            // Tag again: some endpoints ignore tag specifications on CopyImage.
            images.tag_image(region, &id, &tags).await?;
            events.info(Some(region), Phase::AmiCopy, format!("copying into {id}"));
            id
        }
    };
    Ok(image_id)
}

/// One region: wait until its copy is available.
async fn wait_one(
    images: &impl Images,
    region: &str,
    image_id: &str,
    policy: &WaitPolicy,
    events: &Events,
) -> Result<(), AmiError> {
    wait::until_available(images, region, image_id, policy, |state, waited| {
        events.info(
            Some(region),
            Phase::AmiCopy,
            format!("{image_id} {state} ({}s)", waited.as_secs()),
        )
    })
    .await?;
    events.emit(
        Some(region),
        Phase::AmiCopy,
        EventKind::PhaseDone {
            detail: format!("{image_id} available"),
        },
    );
    Ok(())
}

/// An existing copy in `region`: by tags, else by name (then tagged now).
async fn find_existing(
    images: &impl Images,
    plan: &CopyPlan,
    region: &str,
) -> Result<Option<ImageInfo>, AmiError> {
    let tagged = images.images_by_tags(region, &plan.identity_tags()).await?;
    if let Some(img) = preferred_copy(tagged) {
        return Ok(Some(img));
    }
    let named = images
        .images_by_name(region, &copy_name(&plan.stack, &plan.source))
        .await?
        .into_iter()
        .find(reusable);
    if let Some(img) = &named {
        let copied_at = img.creation_date.clone().unwrap_or_default();
        images
            .tag_image(region, &img.id, &plan.all_tags(&copied_at))
            .await?;
    }
    Ok(named)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_token_is_stable_per_region_and_within_limits() {
        let s = AmiSource {
            image_id: "ami-0123456789abcdef0".into(),
            region: "us-east-1".into(),
        };
        let a = client_token("shop-prod", &s, "eu-west-1");
        assert_eq!(a, client_token("shop-prod", &s, "eu-west-1"));
        assert_ne!(a, client_token("shop-prod", &s, "ap-southeast-2"));
        assert!(a.len() <= 64 && a.is_ascii());
    }

    #[test]
    fn copy_name_is_a_valid_ami_name() {
        let s = AmiSource {
            image_id: "ami-0123456789abcdef0".into(),
            region: "us-east-1".into(),
        };
        let n = copy_name("shop-prod", &s);
        assert!((3..=128).contains(&n.len()));
        assert!(n
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "()[] ./-'@_".contains(c)));
    }
}
