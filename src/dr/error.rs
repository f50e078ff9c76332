//! `DrError`: why a DR command stopped, with the region and step it stopped at.

use crate::call_error::CallError;

#[derive(Debug, thiserror::Error)]
pub enum DrError {
    #[error("region {region} is not in stack {stack}")]
    UnknownRegion { stack: String, region: String },
    #[error(
        "stack {stack} has only region {region}: there is no surviving region to fail over to"
    )]
    NoSurvivor { stack: String, region: String },
    #[error("hosted zone {zone} not found in Route 53")]
    NoZone { zone: String },
    #[error(
        "no {name} record of region {region} in zone {zone}: is the stack deployed and wired?"
    )]
    NoRecord {
        zone: String,
        name: String,
        region: String,
    },
    #[error("record {name} of region {region} does not use a serving (CALCULATED) health check; deploy the current strata version first (strata deploy)")]
    NoServingCheck { name: String, region: String },
    #[error("stack {stack} in {region} has no output {output}")]
    NoOutput {
        stack: String,
        region: String,
        output: String,
    },
    #[error("stack {stack} does not exist in {region}")]
    NoStack { stack: String, region: String },
    #[error("Auto Scaling group {asg} not found in {region}")]
    NoAsg { region: String, asg: String },
    #[error("queue {queue} not found in {region}: is the stack deployed there?")]
    NoQueue { region: String, queue: String },
    /// Ctrl-C during a wait: stopped at a safe point (nothing half-done; a move
    /// task SQS runs goes on, and the same command waits for it).
    #[error("interrupted: run the same command again to finish")]
    Interrupted,
    #[error("{step} in {region}: {source}")]
    Aws {
        step: &'static str,
        region: String,
        #[source]
        source: Box<CallError>,
    },
    #[error("{step} in {region}: {message}")]
    Step {
        step: &'static str,
        region: String,
        message: String,
    },
}

impl DrError {
    /// Wrap an AWS error with the step that made the call.
    pub fn aws(step: &'static str, region: &str) -> impl FnOnce(CallError) -> DrError {
        let region = region.to_string();
        move |source| DrError::Aws {
            step,
            region,
            source: Box::new(source),
        }
    }
}
