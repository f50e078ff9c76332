//! `strata check`: load a stack file, synthesize it (wired phase), run the policy
//! stage and print the rule table, the findings and the availability estimate
//! (or one JSON object with `--output json`). Exit 0 passed, 3 a mandatory rule
//! failed, 2 invalid input.

use super::validate::load_stack;
use super::{Failure, Outcome};
use crate::cli::args::{FileArg, GlobalArgs, OutputFormat};
use strata::exit_code;
use strata::policy::{self, PolicyReport, RuleStatus, Severity};
use strata::synth::{self, Phase};

pub async fn run(global: &GlobalArgs, args: FileArg) -> Outcome {
    let def = load_stack(global, &args.file)?;
    let synthesized = synth::try_synthesize(&def, Phase::Wired).map_err(|e| {
        Failure::new(
            exit_code::INVALID_INPUT,
            format!("{}: {e}", args.file.display()),
        )
    })?;
    let report = policy::check(&def, &synthesized);
    let cost = strata::cost::estimate(&def, &synthesized);
    match global.output {
        OutputFormat::Json => {
            let mut value = serde_json::to_value(&report).map_err(|e| {
                Failure::new(
                    exit_code::ENVIRONMENT,
                    format!("cannot render the report: {e}"),
                )
            })?;
            value["passed"] = serde_json::Value::Bool(report.passed());
            value["cost"] = match &cost {
                Ok(c) => serde_json::json!({
                    "currency": c.currency,
                    "monthly": c.monthly,
                    "monthly_at_max": c.monthly_at_max,
                    "prices_dated": c.prices_dated,
                }),
                Err(e) => serde_json::json!({ "error": e.to_string() }),
            };
            println!("{value}");
        }
        OutputFormat::Human => {
            let mut text = render(&report);
            let summary = match &cost {
                Ok(c) => format!(
                    "\nmonthly cost estimate: {} {:.2} ({:.2} at max capacity; list prices dated {}); \
                     `strata cost {}` for the table and the price of each nine\n",
                    c.currency,
                    c.monthly,
                    c.monthly_at_max,
                    c.prices_dated,
                    args.file.display()
                ),
                Err(e) => format!("\nmonthly cost estimate: none ({e})\n"),
            };
            // The cost goes before the verdict line.
            let verdict = text.rfind("\npassed:").or_else(|| text.rfind("\nFAILED:"));
            match verdict {
                Some(at) => text.insert_str(at, &summary),
                None => text.push_str(&summary),
            }
            print!("{text}");
        }
    }
    Ok(report.exit_code())
}

/// The human report: rule table, findings with why and fix, advisory reasons,
/// availability per region and for the service, and the verdict.
fn render(report: &PolicyReport) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let width = report.rules.iter().map(|r| r.rule.len()).max().unwrap_or(4);
    let _ = writeln!(s, "policy check of {}\n", report.stack);
    let _ = writeln!(s, "  {:<width$}  {:<8}  status", "rule", "kind");
    for r in &report.rules {
        let status = match r.status {
            RuleStatus::Pass => "pass",
            RuleStatus::Skip => "skip (nothing to check)",
            RuleStatus::Fail => "FAIL",
            RuleStatus::Advisory => "advisory (failed, not enforced)",
        };
        let kind = match r.kind {
            policy::RuleKind::Guard => "guard",
            policy::RuleKind::Builtin => "built-in",
        };
        let _ = writeln!(s, "  {:<width$}  {kind:<8}  {status}", r.rule);
    }
    if !report.findings.is_empty() {
        let _ = writeln!(s, "\nfindings:");
    }
    for f in &report.findings {
        let severity = match f.severity {
            Severity::Mandatory => "mandatory",
            Severity::Advisory => "advisory",
        };
        let place = match (&f.region, &f.resource) {
            (Some(r), Some(id)) => format!("{r} / {id}"),
            (Some(r), None) => r.clone(),
            (None, Some(id)) => id.clone(),
            (None, None) => "stack".to_string(),
        };
        let _ = writeln!(s, "\n  {} [{severity}] at {place}", f.rule);
        let _ = writeln!(s, "    what: {}", f.message);
        let _ = writeln!(s, "    why:  {}", f.why);
        let _ = writeln!(s, "    fix:  {}", f.fix);
        if let Some(reason) = &f.advisory_reason {
            let _ = writeln!(s, "    advisory because: {reason}");
        }
    }
    if !report.advisory.is_empty() {
        let _ = writeln!(s, "\nadvisory rules (from the definition):");
        for a in &report.advisory {
            let _ = writeln!(s, "  {}: {}", a.rule, a.reason);
        }
    }
    let a = &report.availability;
    let _ = writeln!(s, "\navailability estimate (docs/policy.md):");
    for r in &a.regions {
        let _ = writeln!(
            s,
            "  {:<16} {:>10.5}%  {:>5.2} nines  {:>12} down a year  (instances per AZ {:?})",
            r.region,
            r.availability * 100.0,
            r.nines,
            r.yearly_downtime,
            r.instances_per_az
        );
    }
    let _ = writeln!(
        s,
        "  {:<16} {:>10.5}%  {:>5.2} nines  {:>12} down a year{}",
        "service",
        a.availability * 100.0,
        a.nines,
        a.yearly_downtime,
        match a.minimum {
            Some(m) => format!("  (minimum {}%)", m * 100.0),
            None => String::new(),
        }
    );
    let mandatory = report.mandatory_violations().count();
    let _ = writeln!(
        s,
        "\n{}",
        if mandatory == 0 {
            "passed: no mandatory rule failed".to_string()
        } else {
            format!(
                "FAILED: {mandatory} mandatory violation(s); deploy and plan refuse this stack (exit {})",
                exit_code::POLICY_VIOLATION
            )
        }
    );
    s
}
