//! `audit::AccountReader` over IAM and EC2: the account summary (root MFA and
//! keys), the credential report (passwords, the root row), the password policy,
//! users with their MFA devices, access keys (and last use) and administrator
//! policies (direct or through groups), and EC2 key pairs in each region. Read-only.

use super::{Aws, CallError};
use crate::audit::{
    parse_credential_report, AccessKey, Account, AccountReader, AuditError, KeyPair,
    PasswordPolicy, User, ADMINISTRATOR_ACCESS, ROOT_ROW,
};
use aws_sdk_iam::types::{ReportStateType, StatusType, SummaryKeyType};
use std::time::Duration;
use time::OffsetDateTime;

/// IAM is global; its API is called in us-east-1.
const IAM_REGION: &str = "us-east-1";

/// How long to wait for a credential report to be generated.
const REPORT_WAIT: Duration = Duration::from_secs(30);

/// The account reader of `strata audit`.
pub struct IamAudit<'a> {
    pub aws: &'a Aws,
}

fn when(dt: &aws_smithy_types::DateTime) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(dt.secs()).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn fail(e: CallError) -> AuditError {
    AuditError(e.to_string())
}

macro_rules! call {
    ($op:literal, $fut:expr) => {
        $fut.await
            .map_err(|e| fail(CallError::from_sdk("iam", $op, IAM_REGION, e)))
    };
}

impl Aws {
    pub fn iam(&self) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::new(&self.config(IAM_REGION))
    }
}

impl AccountReader for IamAudit<'_> {
    async fn read(&self, regions: &[String]) -> Result<(Account, Vec<String>), AuditError> {
        let iam = self.aws.iam();
        let mut gaps = Vec::new();
        let summary = call!("GetAccountSummary", iam.get_account_summary().send())?;
        let map = summary.summary_map().cloned().unwrap_or_default();
        let mut account = Account {
            root_mfa: map
                .get(&SummaryKeyType::AccountMfaEnabled)
                .copied()
                .unwrap_or(0)
                == 1,
            root_access_keys: map
                .get(&SummaryKeyType::AccountAccessKeysPresent)
                .copied()
                .unwrap_or(0)
                == 1,
            ..Account::default()
        };
        // The credential report: generated on demand, ready within seconds.
        let started = std::time::Instant::now();
        loop {
            let out = call!(
                "GenerateCredentialReport",
                iam.generate_credential_report().send()
            )?;
            if out.state() == Some(&ReportStateType::Complete) {
                break;
            }
            if started.elapsed() > REPORT_WAIT {
                return Err(AuditError(format!(
                    "the IAM credential report was not ready after {}s",
                    REPORT_WAIT.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let report = call!("GetCredentialReport", iam.get_credential_report().send())?;
        let csv = report
            .content()
            .map(|b| String::from_utf8_lossy(b.as_ref()).into_owned())
            .unwrap_or_default();
        let rows = parse_credential_report(&csv).map_err(AuditError)?;
        match rows.iter().find(|r| r.user == ROOT_ROW) {
            Some(root) => {
                account.root_access_keys |= root.access_key_1_active || root.access_key_2_active;
            }
            None => gaps.push(
                "the credential report has no <root_account> row: root checks use the account \
                 summary only"
                    .to_string(),
            ),
        }
        account.password_policy = match iam.get_account_password_policy().send().await {
            Ok(out) => out.password_policy().map(|p| PasswordPolicy {
                minimum_length: p.minimum_password_length().unwrap_or(0).max(0) as u32,
            }),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_no_such_entity_exception()) =>
            {
                None
            }
            Err(e) => {
                return Err(fail(CallError::from_sdk(
                    "iam",
                    "GetAccountPasswordPolicy",
                    IAM_REGION,
                    e,
                )))
            }
        };
        let mut marker: Option<String> = None;
        loop {
            let page = call!(
                "ListUsers",
                iam.list_users().set_marker(marker.clone()).send()
            )?;
            for u in page.users() {
                let name = u.user_name().to_string();
                let mfa = call!(
                    "ListMFADevices",
                    iam.list_mfa_devices().user_name(&name).send()
                )?;
                let keys = call!(
                    "ListAccessKeys",
                    iam.list_access_keys().user_name(&name).send()
                )?;
                let mut access_keys = Vec::new();
                for k in keys.access_key_metadata() {
                    let id = k.access_key_id().unwrap_or_default().to_string();
                    let used = call!(
                        "GetAccessKeyLastUsed",
                        iam.get_access_key_last_used().access_key_id(&id).send()
                    )?;
                    access_keys.push(AccessKey {
                        active: k.status() == Some(&StatusType::Active),
                        created: k.create_date().map(when).unwrap_or(when(u.create_date())),
                        last_used: used
                            .access_key_last_used()
                            .and_then(|l| l.last_used_date())
                            .map(when),
                        id,
                    });
                }
                let direct = call!(
                    "ListAttachedUserPolicies",
                    iam.list_attached_user_policies().user_name(&name).send()
                )?;
                let mut admin = direct
                    .attached_policies()
                    .iter()
                    .any(|p| p.policy_arn() == Some(ADMINISTRATOR_ACCESS));
                if !admin {
                    let groups = call!(
                        "ListGroupsForUser",
                        iam.list_groups_for_user().user_name(&name).send()
                    )?;
                    for g in groups.groups() {
                        let attached = call!(
                            "ListAttachedGroupPolicies",
                            iam.list_attached_group_policies()
                                .group_name(g.group_name())
                                .send()
                        )?;
                        admin |= attached
                            .attached_policies()
                            .iter()
                            .any(|p| p.policy_arn() == Some(ADMINISTRATOR_ACCESS));
                    }
                }
                let row = rows.iter().find(|r| r.user == name);
                account.users.push(User {
                    created: when(u.create_date()),
                    mfa: !mfa.mfa_devices().is_empty(),
                    password: row.is_some_and(|r| r.password_enabled),
                    password_last_used: u
                        .password_last_used()
                        .map(when)
                        .or(row.and_then(|r| r.password_last_used)),
                    admin,
                    access_keys,
                    name,
                });
            }
            match page.marker() {
                Some(m) if page.is_truncated() => marker = Some(m.to_string()),
                _ => break,
            }
        }
        for region in regions {
            let out = self
                .aws
                .ec2(region)
                .describe_key_pairs()
                .send()
                .await
                .map_err(|e| fail(CallError::from_sdk("ec2", "DescribeKeyPairs", region, e)))?;
            for k in out.key_pairs() {
                account.key_pairs.push(KeyPair {
                    region: region.clone(),
                    name: k.key_name().unwrap_or_default().to_string(),
                });
            }
        }
        Ok((account, gaps))
    }
}
