//! `AppError`: why a command stopped before or around its work. The binary maps
//! each to an exit code (`cli/commands/mod.rs`).

use crate::deploy::DeployError;
use crate::dr::DrError;
use crate::ops::lock::LockError;
use crate::ops::rules::Refusal;
use crate::policy::PolicyReport;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A region named on the command line is not in the definition.
    #[error("{file}: no region {region} in the definition")]
    UnknownRegion { file: String, region: String },
    /// The operations rules refused the command (responsible person, windows).
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// Refused for a reason of the command itself (e.g. a drill outside the
    /// sandbox without the account named).
    #[error("{0}")]
    NotAllowed(String),
    /// A mandatory policy violation: nothing was changed.
    #[error(
        "{file}: mandatory policy violations, nothing was changed (see `strata check`):\n{list}"
    )]
    Policy {
        file: String,
        list: String,
        report: Box<PolicyReport>,
    },
    /// Another holder has the deploy lock.
    #[error("{error}. If that run is dead, break its lock with `strata unlock {file} --id {id}`")]
    Locked {
        file: String,
        id: String,
        error: LockError,
    },
    /// The lock could not be taken for another reason (no majority reachable).
    #[error(transparent)]
    Lock(LockError),
    /// An Availability Zone the definition names is not one this account can use
    /// (DescribeAvailabilityZones): nothing was changed.
    #[error("{file}: nothing was changed:\n  {}", list.join("\n  "))]
    MissingAzs { file: String, list: Vec<String> },
    /// The AMI copies could not be started or did not become available.
    #[error("{0}")]
    Ami(String),
    #[error(transparent)]
    Deploy(#[from] DeployError),
    #[error(transparent)]
    Dr(#[from] DrError),
    /// The caller's account is not one the definition is pinned to (`app.account`).
    #[error(transparent)]
    WrongAccount(#[from] crate::ops::account::WrongAccount),
    /// Another AWS read the pipeline makes failed.
    #[error("{0}")]
    Environment(String),
    /// `operations.promote_from` names a stack file that cannot be read or loaded.
    #[error("{0}")]
    PromoteFrom(String),
    /// The stack's hosted zone cannot be found, or its name is ambiguous (`app::zone`).
    #[error("{0}")]
    Zone(String),
    /// The stack promoted from does not run this AMI healthy (`ops::promotion`).
    #[error("{0}")]
    NotPromoted(String),
    /// Four eyes: not enough other people approved this plan (`ops::approvals`).
    #[error("{0}")]
    NotApproved(String),
}
