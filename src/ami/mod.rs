//! Baked AMIs: bake an image from a builder instance, copy it into every region of a
//! stack at once (idempotently, found again by its tags), and prune old copies
//! without ever touching one a deployed stack still uses.
//!
//! Every AWS call goes through the `Images` port (`images.rs`), which the AWS
//! adapter implements (`aws::ec2_images`) and the unit tests' fake too (`crate::fake`);
//! progress is reported as `Phase::AmiCopy` events.

mod bake;
mod copy;
mod error;
pub mod images;
mod prune;
#[cfg(test)]
mod tests;
mod wait;

pub use bake::{bake, BakeRequest, BakedImage};
pub use copy::{
    await_copies, ensure_copies, ensure_copies_with, start_copies, AmiSource, StartedCopies,
};
pub use error::AmiError;
pub use images::{preferred_copy, ImageInfo, Images};
pub use prune::{prune, KeptImage, KeptReason, PruneReport, RegionPrune};
pub use wait::WaitPolicy;

use std::collections::BTreeMap;

/// The AMI id to launch from, per region (region -> AMI id). Deploy's preflight
/// passes each region's id to that region's template as the `AmiId` parameter.
pub type RegionAmis = BTreeMap<String, String>;

/// Tag on a regional copy: the AMI it was copied from.
pub const TAG_SOURCE_AMI: &str = "strata:source-ami";
/// Tag on a regional copy: the region of the AMI it was copied from.
pub const TAG_SOURCE_REGION: &str = "strata:source-region";
/// Tag on a regional copy: the stack ("<app>-<environment>") it was copied for.
pub const TAG_STACK: &str = "strata:stack";
/// Tag on baked images and copies: the version (the baked image's name by default).
pub const TAG_VERSION: &str = "strata:version";
/// Tag on a regional copy: when strata started the copy (RFC 3339, UTC, sub-second).
pub const TAG_COPIED_AT: &str = "strata:copied-at";
/// Tag on a baked image: the builder instance it was made from.
pub const TAG_BAKED_FROM: &str = "strata:baked-from";
