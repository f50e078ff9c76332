//! Four eyes (`operations.approvals = N`): a deploy goes ahead only when N distinct
//! AWS identities stand behind its plan id, the deployer counted: the deployer and
//! N-1 others who ran `strata approve FILE PLAN_ID` within the last 24 hours. An
//! approval by the deployer, of another plan, or older than 24 h does not count.
//! Pure: the pipeline reads the approvals (an `ApprovalStore`) and hands them here.

use sha2::{Digest, Sha256};
use std::future::Future;
use time::{Duration, OffsetDateTime};

/// How long an approval counts after it was given.
pub const VALIDITY: Duration = Duration::hours(24);

/// The most people a definition may require (`operations.approvals`, 1..=5).
pub const MAX_APPROVALS: u8 = 5;

/// One recorded approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    pub plan_id: String,
    /// The approver's AWS identity (STS GetCallerIdentity ARN).
    pub approver: String,
    pub approved_at: OffsetDateTime,
}

/// The approval record of `approver` for `plan_id` of stack `base` ("<app>-<env>"):
/// `<base>-approval-<plan id>-<8 hex digits of SHA-256 of the approver's ARN>`, so
/// each person's approval is one record and approving twice is idempotent.
pub fn record_name(base: &str, plan_id: &str, approver: &str) -> String {
    let digest = Sha256::digest(approver.as_bytes());
    format!(
        "{}{}",
        record_prefix(base, plan_id),
        hex::encode(&digest[..4])
    )
}

/// Every record of `plan_id` starts with this.
pub fn record_prefix(base: &str, plan_id: &str) -> String {
    format!("{base}-approval-{plan_id}-")
}

/// Not enough people stand behind the plan: what the refusal says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    pub plan_id: String,
    pub required: u8,
    pub deployer: String,
    /// The others whose approval counts.
    pub approved_by: Vec<String>,
    /// Approvals that do not count, each with why.
    pub ignored: Vec<String>,
}

impl Missing {
    /// How many more approvals by other people are needed.
    pub fn needed(&self) -> usize {
        usize::from(self.required).saturating_sub(1 + self.approved_by.len())
    }

    /// The refusal, naming the plan, who approved, how many more, and the command.
    pub fn message(&self, stack: &str, file: &str) -> String {
        let mut out = format!(
            "{stack} needs {} people (operations.approvals = {}): plan {} is deployed by {} and \
             approved by {}, so {} more approval{} by someone else {} needed; nothing was changed.",
            self.required,
            self.required,
            self.plan_id,
            self.deployer,
            if self.approved_by.is_empty() {
                "nobody else".to_string()
            } else {
                self.approved_by.join(", ")
            },
            self.needed(),
            if self.needed() == 1 { "" } else { "s" },
            if self.needed() == 1 { "is" } else { "are" },
        );
        for i in &self.ignored {
            out.push_str(&format!("\n  not counted: {i}"));
        }
        out.push_str(&format!(
            "\nAnother person reviews `strata plan {file}` (plan id {}) and runs \
             `strata approve {file} {}` with their own credentials (an approval counts for {} hours)",
            self.plan_id,
            self.plan_id,
            VALIDITY.whole_hours()
        ));
        out
    }
}

/// Whether `approvals` let `deployer` deploy `plan_id` at `now` under
/// `operations.approvals = required`. `Ok`: the approvers who count (empty when
/// one person is enough).
pub fn check(
    required: u8,
    plan_id: &str,
    deployer: &str,
    approvals: &[Approval],
    now: OffsetDateTime,
) -> Result<Vec<String>, Missing> {
    if required <= 1 {
        return Ok(Vec::new());
    }
    let mut approved_by: Vec<String> = Vec::new();
    let mut ignored = Vec::new();
    for a in approvals {
        if a.plan_id != plan_id {
            ignored.push(format!(
                "{} approved another plan, {}",
                a.approver, a.plan_id
            ));
        } else if a.approver == deployer {
            ignored.push(format!(
                "{} is the deployer: their own approval does not count",
                a.approver
            ));
        } else if now - a.approved_at > VALIDITY || a.approved_at > now + Duration::minutes(5) {
            ignored.push(format!(
                "{}'s approval ({}) has expired (it counts for {} hours)",
                a.approver,
                a.approved_at
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
                VALIDITY.whole_hours()
            ));
        } else if !approved_by.contains(&a.approver) {
            approved_by.push(a.approver.clone());
        }
    }
    approved_by.sort();
    let missing = Missing {
        plan_id: plan_id.to_string(),
        required,
        deployer: deployer.to_string(),
        approved_by,
        ignored,
    };
    if missing.needed() == 0 {
        Ok(missing.approved_by)
    } else {
        Err(missing)
    }
}

/// An approval store that could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{region}: {message}")]
pub struct ApprovalStoreError {
    pub region: String,
    pub message: String,
}

/// Where approvals are recorded (`aws::approval_stack`: CloudFormation stacks in
/// the stack's first region).
pub trait ApprovalStore {
    /// Record `approval` (idempotent: the same person approving the same plan
    /// again keeps one record, refreshed).
    fn record(
        &self,
        region: &str,
        approval: &Approval,
    ) -> impl Future<Output = Result<(), ApprovalStoreError>> + Send;
    /// Every approval of `plan_id`.
    fn list(
        &self,
        region: &str,
        plan_id: &str,
    ) -> impl Future<Output = Result<Vec<Approval>, ApprovalStoreError>> + Send;
    /// Delete every approval of `plan_id` (consumed by a successful deploy).
    fn consume(
        &self,
        region: &str,
        plan_id: &str,
    ) -> impl Future<Output = Result<(), ApprovalStoreError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const PLAN: &str = "p0123456789abcdef";
    const ALICE: &str = "arn:aws:iam::123456789012:user/alice";
    const BOB: &str = "arn:aws:iam::123456789012:user/bob";
    const CAROL: &str = "arn:aws:iam::123456789012:user/carol";
    const NOW: OffsetDateTime = datetime!(2026-12-03 12:00 UTC);

    fn by(approver: &str, plan: &str, hours_ago: i64) -> Approval {
        Approval {
            plan_id: plan.into(),
            approver: approver.into(),
            approved_at: NOW - Duration::hours(hours_ago),
        }
    }

    #[test]
    fn one_person_is_enough_by_default() {
        assert_eq!(check(1, PLAN, ALICE, &[], NOW), Ok(Vec::new()));
    }

    #[test]
    fn another_persons_approval_of_the_same_plan_counts() {
        let ok = check(2, PLAN, ALICE, &[by(BOB, PLAN, 1)], NOW);
        assert_eq!(ok, Ok(vec![BOB.to_string()]));
    }

    #[test]
    fn the_deployers_own_approval_does_not_count() {
        let missing = check(2, PLAN, ALICE, &[by(ALICE, PLAN, 1)], NOW).unwrap_err();
        assert_eq!(missing.needed(), 1);
        assert!(missing.approved_by.is_empty());
        assert!(missing.ignored[0].contains("is the deployer"));
        let text = missing.message("shop-prod", "stacks/prod.toml");
        assert!(text.contains(PLAN), "{text}");
        assert!(
            text.contains("1 more approval by someone else is needed"),
            "{text}"
        );
        assert!(
            text.contains(&format!("strata approve stacks/prod.toml {PLAN}")),
            "{text}"
        );
    }

    #[test]
    fn another_plan_or_an_old_approval_does_not_count() {
        let missing = check(
            2,
            PLAN,
            ALICE,
            &[by(BOB, "pfedcba9876543210", 1), by(CAROL, PLAN, 25)],
            NOW,
        )
        .unwrap_err();
        assert_eq!(missing.needed(), 1);
        assert_eq!(missing.ignored.len(), 2);
        assert!(missing.ignored[0].contains("another plan"));
        assert!(missing.ignored[1].contains("expired"));
    }

    #[test]
    fn three_people_need_two_distinct_others() {
        let twice = [by(BOB, PLAN, 1), by(BOB, PLAN, 2)];
        let missing = check(3, PLAN, ALICE, &twice, NOW).unwrap_err();
        assert_eq!(missing.approved_by, vec![BOB.to_string()]);
        assert_eq!(missing.needed(), 1);
        let ok = check(3, PLAN, ALICE, &[by(CAROL, PLAN, 3), by(BOB, PLAN, 1)], NOW);
        assert_eq!(ok, Ok(vec![BOB.to_string(), CAROL.to_string()]));
    }

    #[test]
    fn each_person_has_one_record_per_plan() {
        let a = record_name("shop-prod", PLAN, ALICE);
        assert_eq!(a, record_name("shop-prod", PLAN, ALICE));
        assert_ne!(a, record_name("shop-prod", PLAN, BOB));
        assert!(a.starts_with(&record_prefix("shop-prod", PLAN)));
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    }
}
