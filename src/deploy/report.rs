//! `Report`: what a deploy, rollback or destroy did, region by region, and its exit code.

use crate::exit_code;
use crate::plan::StackRole;
use serde::Serialize;

/// How the whole run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Every stack runs the new version.
    Deployed,
    /// Nothing to change; no mutating call was made.
    NoChange,
    /// Nothing to change in the stacks, but properties changed outside
    /// CloudFormation were put back (`drift_restored` lists them).
    DriftRestored,
    /// `destroy` deleted stacks (or named data); what it kept is listed.
    Destroyed,
    /// A region failed and was put back (and the regions done too, with rollback-all).
    RolledBack,
    /// Putting a region back failed: a human is needed.
    RollbackFailed,
    /// Stopped on request at a safe point.
    Interrupted,
    /// The confirmation was declined; the change sets were deleted.
    Declined,
    /// Every region of the definition runs the new version, but the stack of a
    /// region that left the definition could not be deleted: a human is needed.
    RemovalFailed,
    /// The endpoint stopped answering: the rollout stopped where it was, nothing
    /// was put back (nothing could be); the same command resumes once it answers.
    Unreachable,
    /// The run failed before any stack changed (the summary's `error` says why).
    Error,
}

impl Outcome {
    pub fn exit_code(self) -> i32 {
        match self {
            Outcome::Deployed
            | Outcome::NoChange
            | Outcome::DriftRestored
            | Outcome::Destroyed
            | Outcome::Declined => exit_code::SUCCESS,
            Outcome::RolledBack => exit_code::DEPLOY_FAILED_ROLLED_BACK,
            Outcome::RollbackFailed | Outcome::RemovalFailed => exit_code::ROLLBACK_FAILED,
            Outcome::Interrupted => exit_code::INTERRUPTED,
            Outcome::Unreachable | Outcome::Error => exit_code::ENVIRONMENT,
        }
    }
}

/// What happened to one stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StackResult {
    Created,
    Updated,
    Unchanged,
    /// Put back on the version it ran before.
    RolledBack,
    /// A stack created by this run, deleted again.
    Removed,
    /// Not touched by this run.
    NotStarted,
    /// The attempt to put it back failed.
    RollbackFailed,
    /// `strata rollback` found no kept previous version.
    NothingToRollBack,
    Destroyed,
    Absent,
    /// The region left the definition: out of DNS and replication, not yet deleted.
    OutOfService,
    /// The region left the definition and its stack was deleted (data kept).
    Retired,
    /// The region left the definition and deleting its stack failed.
    RemovalFailed,
    /// Its change set was executed (or being executed) when the endpoint stopped
    /// answering: not verified by the health gate and bake, not put back.
    Unverified,
}

/// One stack's line in the summary.
#[derive(Debug, Clone, Serialize)]
pub struct StackReport {
    pub region: String,
    pub stack: String,
    pub role: StackRole,
    pub result: StackResult,
    /// The version it runs now (`strata:version`), if known.
    pub version: Option<String>,
}

/// The final summary.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub deployment_id: String,
    pub version: String,
    pub outcome: Outcome,
    pub stacks: Vec<StackReport>,
    /// The failure that stopped the rollout, if any.
    pub error: Option<String>,
    /// The back-fill of each region stack this run created (its bucket given the
    /// objects the other regions' hold, `dr::backfill::after_deploy`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub backfill: Vec<crate::dr::backfill::BackfillReport>,
    /// The properties changed outside CloudFormation that this deploy put back
    /// (`app::Pipeline::restore_drift`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub drift_restored: Vec<crate::drift::Restored>,
}

impl Report {
    pub fn exit_code(&self) -> i32 {
        self.outcome.exit_code()
    }
}
