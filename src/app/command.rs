//! Which rules apply to which command: one table, read by `app::prepare`.

/// A command that goes through the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Read only: no rules, no lock; the policy gate applies (a plan of a
    /// definition that cannot be deployed is refused the same way).
    Plan,
    /// `strata approve`: computes the plan as `plan` does (read only, no rules,
    /// no lock) and records the caller's approval of its id (four eyes).
    Approve,
    Deploy,
    Rollback,
    Destroy,
    DrFailover,
    DrRebuild,
    DrDrill,
    /// After a recovery: dead-letter messages back to their queues, the write
    /// buffer watched until it drains. Changes queues only (rules and lock apply).
    DrRepair,
    /// A region's bucket given the objects the other regions' hold and it lacks.
    /// Writes objects only (rules and lock apply; no policy gate, any hour).
    DrBackfill,
    AmiCopy,
    AmiPrune,
}

impl Command {
    /// The name the lock and messages use.
    pub fn name(self) -> &'static str {
        match self {
            Command::Plan => "plan",
            Command::Approve => "approve",
            Command::Deploy => "deploy",
            Command::Rollback => "rollback",
            Command::Destroy => "destroy",
            Command::DrFailover => "dr failover",
            Command::DrRebuild => "dr rebuild",
            Command::DrDrill => "dr drill",
            Command::DrRepair => "dr repair",
            Command::DrBackfill => "dr backfill",
            Command::AmiCopy => "ami copy",
            Command::AmiPrune => "ami prune",
        }
    }

    /// Changes something: the operations rules (a responsible person) and the
    /// deploy lock apply.
    pub fn changes(self) -> bool {
        !matches!(self, Command::Plan | Command::Approve)
    }

    /// Four eyes (`operations.approvals`) applies: only `deploy`. Rollback puts
    /// back what ran before, destroy has its own confirmation, and DR must never
    /// wait for a second person during an outage; image housekeeping deploys nothing.
    pub fn needs_approvals(self) -> bool {
        self == Command::Deploy
    }

    /// Only inside the deploy windows (or with a recorded reason). Repair
    /// commands (rollback, DR, `dr repair`) and image housekeeping run at any hour.
    pub fn enforces_windows(self) -> bool {
        matches!(self, Command::Deploy | Command::Destroy)
    }

    /// Deploys templates synthesized from this definition: a mandatory policy
    /// violation refuses it before any AWS call. Rollback (templates that were
    /// deployed before), destroy, failover (Route 53 and capacity only), repair
    /// (SQS messages only) and the AMI commands deploy no new template and are not gated, so an outage is
    /// never made worse by a rule about the next deploy.
    pub fn policy_gate(self) -> bool {
        matches!(
            self,
            Command::Plan
                | Command::Approve
                | Command::Deploy
                | Command::DrRebuild
                | Command::DrDrill
        )
    }

    /// Breaks a region on purpose: outside the sandbox the AWS account must be
    /// named (`--account`) and match the credentials' before any other call.
    pub fn breaks_on_purpose(self) -> bool {
        self == Command::DrDrill
    }

    /// Looks up each region's AMI copy before planning. Not rebuild (its region
    /// may be down; it copies the AMI the survivors run) nor failover / ami.
    pub fn resolves_amis(self) -> bool {
        matches!(
            self,
            Command::Plan
                | Command::Approve
                | Command::Deploy
                | Command::Rollback
                | Command::Destroy
                | Command::DrDrill
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_deploy_needs_approvals_and_approving_is_not_a_change() {
        let all = [
            Command::Plan,
            Command::Approve,
            Command::Deploy,
            Command::Rollback,
            Command::Destroy,
            Command::DrFailover,
            Command::DrRebuild,
            Command::DrDrill,
            Command::DrRepair,
            Command::DrBackfill,
            Command::AmiCopy,
            Command::AmiPrune,
        ];
        let needing: Vec<_> = all.iter().filter(|c| c.needs_approvals()).collect();
        assert_eq!(needing, vec![&Command::Deploy]);
        assert!(!Command::Approve.changes());
        // The approver computes the plan as `plan` and `deploy` do.
        assert!(Command::Approve.policy_gate() && Command::Approve.resolves_amis());
    }
}
