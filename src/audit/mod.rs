//! The account audit (pure): what `strata audit` checks in an account, read
//! through a port ([`AccountReader`], implemented by `aws::iam_audit`), against the
//! stack file's `[audit]` thresholds. Each finding has a severity and the fix.
//!
//! The checks, and the AWS pages they follow (docs/audit.md):
//! root has MFA and no access keys (IAM User Guide, "Root user best practices");
//! at least `min_admins` people with MFA can act as administrators (break-glass);
//! active access keys older than `access_key_max_age_days` or unused for
//! `unused_days` (IAM User Guide, "Rotate access keys"); users without MFA or
//! unused for `unused_days`; an account password policy of at least 14 characters;
//! no EC2 key pairs in the stack's regions unless `allow_key_pairs`.

use crate::stack::AuditThresholds;
use serde::Serialize;
use time::OffsetDateTime;

/// The AWS managed policy that makes a principal an administrator.
pub const ADMINISTRATOR_ACCESS: &str = "arn:aws:iam::aws:policy/AdministratorAccess";

/// Shortest password the audit accepts in the account's policy (CIS AWS Foundations 1.8).
pub const MIN_PASSWORD_LENGTH: u32 = 14;

/// What the account holds, as far as the audit is concerned.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Account {
    /// `AccountMFAEnabled` of GetAccountSummary.
    pub root_mfa: bool,
    /// `AccountAccessKeysPresent` of GetAccountSummary, or an active key on the
    /// credential report's `<root_account>` row.
    pub root_access_keys: bool,
    pub users: Vec<User>,
    /// None: the account has no password policy.
    pub password_policy: Option<PasswordPolicy>,
    pub key_pairs: Vec<KeyPair>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    pub mfa: bool,
    /// A console password (credential report `password_enabled`).
    pub password: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    pub password_last_used: Option<OffsetDateTime>,
    /// AdministratorAccess attached to the user or one of its groups.
    pub admin: bool,
    pub access_keys: Vec<AccessKey>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccessKey {
    pub id: String,
    pub active: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PasswordPolicy {
    pub minimum_length: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyPair {
    pub region: String,
    pub name: String,
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// One problem found in the account.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// "root_mfa", "root_access_keys", "break_glass_admins", "access_key_age",
    /// "user_without_mfa", "user_unused", "password_policy", "ec2_key_pair".
    pub rule: &'static str,
    pub severity: Severity,
    /// What it is about: a user, "user/key", "region/key pair", or "account".
    pub subject: String,
    pub message: String,
    pub fix: String,
}

/// The audit's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub thresholds: AuditThresholds,
    /// Regions whose EC2 key pairs were read.
    pub regions: Vec<String>,
    pub users: usize,
    /// Administrators with MFA.
    pub admins_with_mfa: Vec<String>,
    /// Most severe first.
    pub findings: Vec<Finding>,
    /// What the account's API could not tell (e.g. an endpoint that lacks a call).
    pub gaps: Vec<String>,
}

/// Why the account could not be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read the account: {0}")]
pub struct AuditError(pub String);

/// The port: read the account (IAM once, EC2 key pairs in each region).
pub trait AccountReader {
    fn read(
        &self,
        regions: &[String],
    ) -> impl std::future::Future<Output = Result<(Account, Vec<String>), AuditError>> + Send;
}

/// Read the account through `reader` and audit it at `now`.
pub async fn run<R: AccountReader>(
    reader: &R,
    regions: &[String],
    thresholds: &AuditThresholds,
    now: OffsetDateTime,
) -> Result<Report, AuditError> {
    let (account, gaps) = reader.read(regions).await?;
    let mut report = audit(&account, thresholds, now);
    report.regions = regions.to_vec();
    report.gaps = gaps;
    Ok(report)
}

fn days_between(from: OffsetDateTime, to: OffsetDateTime) -> i64 {
    (to - from).whole_days()
}

/// The findings for `account` at `now` (pure).
pub fn audit(account: &Account, t: &AuditThresholds, now: OffsetDateTime) -> Report {
    let mut f = Vec::new();
    let max_age = i64::from(t.access_key_max_age_days);
    let unused = i64::from(t.unused_days);
    if !account.root_mfa {
        f.push(Finding {
            rule: "root_mfa",
            severity: Severity::Critical,
            subject: "account".into(),
            message: "the root user has no MFA device".into(),
            fix: "sign in as the root user, open Security credentials and assign an MFA device \
                  (a hardware key kept for break-glass), then store its recovery with two people"
                .into(),
        });
    }
    if account.root_access_keys {
        f.push(Finding {
            rule: "root_access_keys",
            severity: Severity::Critical,
            subject: "account".into(),
            message: "the root user has access keys".into(),
            fix: "sign in as the root user, open Security credentials and delete its access keys; \
                  use IAM users or roles for programmatic access"
                .into(),
        });
    }
    let admins: Vec<String> = account
        .users
        .iter()
        .filter(|u| u.admin && u.mfa)
        .map(|u| u.name.clone())
        .collect();
    if (admins.len() as u64) < u64::from(t.min_admins) {
        f.push(Finding {
            rule: "break_glass_admins",
            severity: Severity::High,
            subject: "account".into(),
            message: format!(
                "{} administrator(s) with MFA ({}); at least {} needed so that one person's \
                 absence never locks the team out",
                admins.len(),
                if admins.is_empty() {
                    "none".to_string()
                } else {
                    admins.join(", ")
                },
                t.min_admins
            ),
            fix: format!(
                "give {} more person(s) AdministratorAccess (through a group) with MFA enabled",
                u64::from(t.min_admins) - admins.len() as u64
            ),
        });
    }
    for u in &account.users {
        for k in u.access_keys.iter().filter(|k| k.active) {
            let age = days_between(k.created, now);
            let idle = days_between(k.last_used.unwrap_or(k.created), now);
            let mut why = Vec::new();
            if age > max_age {
                why.push(format!("{age} days old (limit {max_age})"));
            }
            if idle > unused {
                why.push(match k.last_used {
                    Some(_) => format!("unused for {idle} days (limit {unused})"),
                    None => format!("never used in {idle} days (limit {unused})"),
                });
            }
            if !why.is_empty() {
                f.push(Finding {
                    rule: "access_key_age",
                    severity: Severity::High,
                    subject: format!("{}/{}", u.name, k.id),
                    message: format!("active access key {} of {} is {}", k.id, u.name, why.join(" and ")),
                    fix: format!(
                        "rotate it: `aws iam create-access-key --user-name {0}`, move its users to \
                         the new key, then `aws iam update-access-key --user-name {0} --access-key-id \
                         {1} --status Inactive` and `aws iam delete-access-key --user-name {0} \
                         --access-key-id {1}` (or delete it if nothing uses it)",
                        u.name, k.id
                    ),
                });
            }
        }
        if !u.mfa {
            f.push(Finding {
                rule: "user_without_mfa",
                severity: if u.password { Severity::High } else { Severity::Medium },
                subject: u.name.clone(),
                message: format!(
                    "user {} has no MFA device{}",
                    u.name,
                    if u.password { " and can sign in to the console" } else { "" }
                ),
                fix: format!(
                    "`aws iam create-virtual-mfa-device` and `aws iam enable-mfa-device --user-name \
                     {}`, or delete the user if nobody needs it",
                    u.name
                ),
            });
        }
        let last = u
            .access_keys
            .iter()
            .filter_map(|k| k.last_used)
            .chain(u.password_last_used)
            .max()
            .unwrap_or(u.created);
        let idle = days_between(last, now);
        if idle > unused {
            f.push(Finding {
                rule: "user_unused",
                severity: Severity::Medium,
                subject: u.name.clone(),
                message: format!(
                    "user {} has not been used for {idle} days (limit {unused})",
                    u.name
                ),
                fix: format!(
                    "remove the user: delete its keys, login profile and MFA devices, then \
                     `aws iam delete-user --user-name {}`",
                    u.name
                ),
            });
        }
    }
    match &account.password_policy {
        None => f.push(Finding {
            rule: "password_policy",
            severity: Severity::Medium,
            subject: "account".into(),
            message: "the account has no password policy".into(),
            fix: format!(
                "`aws iam update-account-password-policy --minimum-password-length {MIN_PASSWORD_LENGTH} \
                 --password-reuse-prevention 24 --require-symbols --require-numbers \
                 --require-uppercase-characters --require-lowercase-characters`"
            ),
        }),
        Some(p) if p.minimum_length < MIN_PASSWORD_LENGTH => f.push(Finding {
            rule: "password_policy",
            severity: Severity::Medium,
            subject: "account".into(),
            message: format!(
                "the password policy allows {} characters (at least {MIN_PASSWORD_LENGTH} expected)",
                p.minimum_length
            ),
            fix: format!(
                "`aws iam update-account-password-policy --minimum-password-length {MIN_PASSWORD_LENGTH}`"
            ),
        }),
        Some(_) => {}
    }
    if !t.allow_key_pairs {
        for k in &account.key_pairs {
            f.push(Finding {
                rule: "ec2_key_pair",
                severity: Severity::Medium,
                subject: format!("{}/{}", k.region, k.name),
                message: format!(
                    "EC2 key pair {} exists in {}; a fleet on a baked AMI needs none",
                    k.name, k.region
                ),
                fix: format!(
                    "reach instances through Session Manager, then `aws ec2 delete-key-pair \
                     --key-name {} --region {}` (or set [audit] allow_key_pairs = true)",
                    k.name, k.region
                ),
            });
        }
    }
    f.sort_by_key(|x| std::cmp::Reverse(x.severity));
    Report {
        thresholds: t.clone(),
        regions: Vec::new(),
        users: account.users.len(),
        admins_with_mfa: admins,
        findings: f,
        gaps: Vec::new(),
    }
}

/// One row of the IAM credential report (the columns the audit reads).
#[derive(Debug, Clone, PartialEq)]
pub struct ReportRow {
    pub user: String,
    pub password_enabled: bool,
    pub password_last_used: Option<OffsetDateTime>,
    pub access_key_1_active: bool,
    pub access_key_2_active: bool,
}

/// Parse the credential report (CSV, header first). Dates that are "N/A",
/// "no_information" or "not_supported" are None.
pub fn parse_credential_report(csv: &str) -> Result<Vec<ReportRow>, String> {
    let mut lines = csv.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines
        .next()
        .ok_or("the credential report is empty")?
        .split(',')
        .collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h.trim() == name)
            .ok_or(format!("the credential report has no column {name}"))
    };
    let (user, pw, pw_used, k1, k2) = (
        col("user")?,
        col("password_enabled")?,
        col("password_last_used")?,
        col("access_key_1_active")?,
        col("access_key_2_active")?,
    );
    let date = |s: &str| {
        OffsetDateTime::parse(s.trim(), &time::format_description::well_known::Rfc3339).ok()
    };
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let get = |i: usize| f.get(i).copied().unwrap_or("").trim();
            if f.len() < header.len() {
                return Err(format!(
                    "a credential report row has {} of {} fields",
                    f.len(),
                    header.len()
                ));
            }
            Ok(ReportRow {
                user: get(user).to_string(),
                password_enabled: get(pw) == "true",
                password_last_used: date(get(pw_used)),
                access_key_1_active: get(k1) == "true",
                access_key_2_active: get(k2) == "true",
            })
        })
        .collect()
}

/// The root user's row of the credential report.
pub const ROOT_ROW: &str = "<root_account>";

#[cfg(test)]
mod tests;
