//! `AmiError`: what can go wrong baking, copying or pruning images, with the region
//! and image it happened to.

use crate::call_error::CallError;
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error)]
pub enum AmiError {
    #[error(transparent)]
    Aws(#[from] CallError),

    #[error("source AMI {image_id} not found in {region}")]
    SourceNotFound { image_id: String, region: String },

    #[error("source AMI {image_id} in {region} is {state}, not available")]
    SourceNotAvailable {
        image_id: String,
        region: String,
        state: String,
    },

    #[error("image {image_id} in {region} failed: {reason}")]
    ImageFailed {
        image_id: String,
        region: String,
        reason: String,
    },

    #[error(
        "image {image_id} in {region} is still {state} after {waited_secs}s \
         (it may still finish; run the command again to pick it up)"
    )]
    WaitTimedOut {
        image_id: String,
        region: String,
        state: String,
        waited_secs: u64,
    },

    #[error("an image named {name:?} already exists in {region} ({image_id}) and was not baked from {instance}")]
    NameTaken {
        name: String,
        region: String,
        image_id: String,
        instance: String,
    },

    #[error("AMI copy failed in {}: {}", .failed.keys().cloned().collect::<Vec<_>>().join(", "),
        .failed.iter().map(|(r, e)| format!("{r}: {e}")).collect::<Vec<_>>().join("; "))]
    CopiesFailed {
        /// region -> why its copy failed.
        failed: BTreeMap<String, String>,
        /// The regions whose copy is available (region -> AMI id).
        done: BTreeMap<String, String>,
    },
}
