//! `DeployError`: why a deploy step failed, with the region and stack.

use crate::call_error::CallError;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error(transparent)]
    Aws(#[from] CallError),
    #[error(
        "stack {stack} in {region} is {status}: it needs a human, see runbooks/stuck-stack.md"
    )]
    Stuck {
        region: String,
        stack: String,
        status: String,
    },
    #[error("stack {stack} in {region} did not settle within {waited:?} (still {status})")]
    Timeout {
        region: String,
        stack: String,
        status: String,
        waited: Duration,
    },
    #[error("change set {name} of {stack} in {region} failed: {reason}")]
    ChangeSetFailed {
        region: String,
        stack: String,
        name: String,
        reason: String,
    },
    #[error("stack {stack} in {region} ended {status}: {reason}")]
    StackFailed {
        region: String,
        stack: String,
        status: String,
        reason: String,
    },
    #[error("health gate of {stack} in {region} failed: {reason}")]
    GateFailed {
        region: String,
        stack: String,
        reason: String,
    },
    #[error("bake of {stack} in {region} failed: {reason}")]
    BakeFailed {
        region: String,
        stack: String,
        reason: String,
    },
    #[error(
        "{stack} in {region} left the definition but cannot be removed automatically: {reason}"
    )]
    CannotRemove {
        region: String,
        stack: String,
        reason: String,
    },
    #[error("refused before anything changed: {0}")]
    HomeMove(#[from] crate::plan::HomeMove),
    #[error("not ready to deploy, nothing was deployed: {reason}")]
    NotReady { reason: String },
    #[error("interrupted")]
    Interrupted,
    /// The managed zone's id, which other stacks take as a parameter, cannot be read.
    #[error("the managed hosted zone is not usable: {reason}")]
    ZoneMissing { reason: String },
    #[error(
        "refused before anything changed: the plan replaces resources of a running region, losing data or traffic:\n{}\nIf that is what you want, name each one with --allow-replace LOGICAL_ID (every region) or --allow-replace REGION:LOGICAL_ID; otherwise undo the change in the stack file",
        refused.iter().map(|r| format!("  {} {} ({}): {}", r.region, r.logical_id, r.resource_type, r.risk)).collect::<Vec<_>>().join("\n")
    )]
    UnsafeReplacement { refused: Vec<crate::plan::AtRisk> },
}

impl DeployError {
    /// True when the step failed because the endpoint gave no answer (after the
    /// SDK's retries): nothing can be put back until it answers again.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, DeployError::Aws(e) if e.is_unreachable())
    }
}
