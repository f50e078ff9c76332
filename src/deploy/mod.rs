//! Deploy stage: carry out a plan region by region with health gates, put regions
//! back on failure, roll back on demand, destroy.
//!
//! Everything here talks to AWS through the `Cloud` trait (`aws::CloudApi` in the
//! binary, an in-memory fake in the unit tests) and reports through `events`.

pub mod canary;
pub mod check_health;
pub mod cloud;
mod destroy;
mod error;
mod health;
mod ops;
pub mod preflight;
mod records;
mod report;
mod retire;
mod rollback;
mod rollout;
mod step;
mod wait;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod unwind;

pub use destroy::{destroy, DataDeleted, DestroyReport, DestroyRequest, Kept, Leftovers};
pub use error::DeployError;
pub use health::{discover as gate_signals, read as gate_readings, Reading, Signals};
pub use report::{Outcome, Report, StackReport, StackResult};
pub use retire::left_behind;
pub use rollback::rollback;
pub use rollout::{
    deploy, deploy_when_ready, nothing_to_change, plan, Settings, TAG_DEPLOYED_AT, TAG_DEPLOYED_BY,
    TAG_DEPLOYMENT_ID, TAG_OUTSIDE_WINDOW, TAG_VERSION,
};
pub use wait::Timing;
