//! `strata audit [FILE] [--region R]`: the account's hygiene through IAM and EC2
//! (read-only), against the stack file's `[audit]` thresholds (defaults without a
//! file). Exit 0 when nothing is found, 3 when there are findings, 2 invalid input,
//! 7 when the account cannot be read.

use super::validate::load_stack;
use super::{connect, Failure, Outcome};
use crate::cli::args::{AuditArgs, GlobalArgs, OutputFormat};
use strata::audit::{self, Report};
use strata::aws::iam_audit::IamAudit;
use strata::exit_code;
use strata::stack::AuditThresholds;

pub async fn run(global: &GlobalArgs, args: AuditArgs) -> Outcome {
    let (thresholds, mut regions) = match &args.file {
        Some(file) => {
            let def = load_stack(global, file)?;
            let regions = def.regions.iter().map(|r| r.name.clone()).collect();
            (def.audit.clone(), regions)
        }
        None => (AuditThresholds::default(), vec!["us-east-1".to_string()]),
    };
    if !args.regions.is_empty() {
        for r in &args.regions {
            if !strata::stack::regions::is_known(r) {
                return Err(Failure::new(
                    exit_code::INVALID_INPUT,
                    format!("--region {r}: not an AWS region"),
                ));
            }
        }
        regions = args.regions.clone();
    }
    let aws = connect(global).await;
    let now = time::OffsetDateTime::now_utc();
    let report = audit::run(&IamAudit { aws: &aws }, &regions, &thresholds, now)
        .await
        .map_err(|e| Failure::new(exit_code::ENVIRONMENT, e.to_string()))?;
    match global.output {
        OutputFormat::Json => println!(
            "{}",
            serde_json::to_string(&report).map_err(|e| Failure::new(
                exit_code::ENVIRONMENT,
                format!("cannot render the report: {e}")
            ))?
        ),
        OutputFormat::Human => print!("{}", render(&report)),
    }
    Ok(if report.findings.is_empty() {
        exit_code::SUCCESS
    } else {
        exit_code::POLICY_VIOLATION
    })
}

fn render(r: &Report) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let t = &r.thresholds;
    let _ = writeln!(
        s,
        "account audit: {} user(s); administrators with MFA: {}; key pairs read in {}\n\
         thresholds: access keys at most {} days old, unused at most {} days, at least {} \
         administrators, key pairs {}",
        r.users,
        if r.admins_with_mfa.is_empty() {
            "none".to_string()
        } else {
            r.admins_with_mfa.join(", ")
        },
        r.regions.join(", "),
        t.access_key_max_age_days,
        t.unused_days,
        t.min_admins,
        if t.allow_key_pairs {
            "allowed"
        } else {
            "not allowed"
        }
    );
    for f in &r.findings {
        let _ = writeln!(s, "\n  {} [{}] {}", f.rule, f.severity.as_str(), f.subject);
        let _ = writeln!(s, "    what: {}", f.message);
        let _ = writeln!(s, "    fix:  {}", f.fix);
    }
    for g in &r.gaps {
        let _ = writeln!(s, "\n  note: {g}");
    }
    let _ = writeln!(
        s,
        "\n{}",
        if r.findings.is_empty() {
            "clean: no finding".to_string()
        } else {
            format!(
                "{} finding(s) (exit {})",
                r.findings.len(),
                exit_code::POLICY_VIOLATION
            )
        }
    );
    s
}
