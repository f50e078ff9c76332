//! The policy stage (pure): the guard rules of `policies/`, the built-in
//! high-availability checks and the availability estimate, run over a stack
//! definition and its synthesized templates, giving one `PolicyReport`.
//!
//! `deploy` and `plan` call [`check`] and refuse to go on unless
//! [`PolicyReport::passed`]; the exit code is [`PolicyReport::exit_code`].

pub mod availability;
pub mod guard;
pub mod ha;
mod joins;
pub mod view;

pub use view::TemplateJson;

use crate::exit_code;
use crate::stack::{AdvisoryRule, StackDef};
use crate::synth::Synthesized;
use availability::{Components, Estimate};
use serde::Serialize;

/// Whether a failing rule stops a deploy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// Stops `deploy` and `plan` (exit code 3).
    Mandatory,
    /// Reported only: the definition made the rule advisory, with a reason.
    Advisory,
}

/// One violation of one rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub rule: String,
    pub severity: Severity,
    /// The region (or "global" / "zone" template) the violation is in, if one.
    pub region: Option<String>,
    /// The template's logical id of the offending resource, if one.
    pub resource: Option<String>,
    /// What is wrong, with the numbers.
    pub message: String,
    /// Why it matters.
    pub why: String,
    /// How to fix it.
    pub fix: String,
    /// The definition's reason, when the rule was made advisory.
    pub advisory_reason: Option<String>,
}

impl Finding {
    pub fn mandatory(
        rule: &str,
        region: Option<&str>,
        resource: Option<&str>,
        message: String,
        why: String,
        fix: String,
    ) -> Finding {
        Finding {
            rule: rule.to_string(),
            severity: Severity::Mandatory,
            region: region.map(str::to_string),
            resource: resource.map(str::to_string),
            message,
            why,
            fix,
            advisory_reason: None,
        }
    }
}

/// Where a rule comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleKind {
    /// A `policies/*.guard` file (some with a Rust join, see docs/policy.md).
    Guard,
    /// A built-in Rust check.
    Builtin,
}

/// The outcome of one rule over the whole stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleStatus {
    Pass,
    /// Nothing to check (no resource of the rule's kind, or not applicable).
    Skip,
    Fail,
    /// Failed, but the definition made the rule advisory.
    Advisory,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleOutcome {
    pub rule: String,
    pub kind: RuleKind,
    pub status: RuleStatus,
}

/// Everything `strata check` reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyReport {
    /// The stack's base name, "<app>-<environment>".
    pub stack: String,
    /// Every rule, in report order, with its outcome.
    pub rules: Vec<RuleOutcome>,
    pub findings: Vec<Finding>,
    /// The rules the definition made advisory, with the reasons.
    pub advisory: Vec<AdvisoryRule>,
    pub availability: Estimate,
}

impl PolicyReport {
    /// No mandatory rule failed.
    pub fn passed(&self) -> bool {
        self.mandatory_violations().next().is_none()
    }

    pub fn mandatory_violations(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Mandatory)
    }

    /// `exit_code::SUCCESS` when passed, else `exit_code::POLICY_VIOLATION`.
    pub fn exit_code(&self) -> i32 {
        if self.passed() {
            exit_code::SUCCESS
        } else {
            exit_code::POLICY_VIOLATION
        }
    }
}

/// Built-in rules of this module (beyond `ha`).
const AVAILABILITY_RULES: &[(&str, &str)] = &[
    (
        "availability_minimum",
        "the definition promises an availability the planned topology cannot deliver",
    ),
    (
        "availability_components",
        "a misspelt or impossible component figure would silently change the estimate",
    ),
    (
        "advisory_rule_known",
        "an advisory entry for a rule that does not exist waives nothing and hides a typo",
    ),
];

/// Every rule name `strata check` knows, guard rules first.
pub fn rule_names() -> Vec<(&'static str, RuleKind)> {
    guard::RULES
        .iter()
        .map(|r| (r.name, RuleKind::Guard))
        .chain(
            ha::RULES
                .iter()
                .chain(AVAILABILITY_RULES)
                .map(|(r, _)| (*r, RuleKind::Builtin)),
        )
        .collect()
}

/// Run every check over a definition and its synthesized templates.
///
/// Pass the `synth::Phase::Wired` synthesis: it is the complete topology (bucket
/// replication, routed records); the `Build` phase omits them on purpose.
pub fn check(def: &StackDef, synthesized: &Synthesized) -> PolicyReport {
    check_templates(def, &templates_of(synthesized))
}

/// The synthesized templates as JSON, named by region, "global" and "zone".
pub fn templates_of(synthesized: &Synthesized) -> Vec<TemplateJson> {
    let json =
        |t: &crate::cfn::Template| serde_json::to_value(t).expect("a template always serializes");
    let mut out: Vec<TemplateJson> = synthesized
        .regions
        .iter()
        .map(|r| TemplateJson {
            name: r.region.clone(),
            region: Some(r.region.clone()),
            json: json(&r.template),
        })
        .collect();
    for (name, template) in [("global", &synthesized.global), ("zone", &synthesized.zone)] {
        if let Some(t) = template {
            out.push(TemplateJson {
                name: name.into(),
                region: Some(crate::stack::GLOBAL_REGION.into()),
                json: json(t),
            });
        }
    }
    out
}

/// Run every check over a definition and its templates as JSON.
pub fn check_templates(def: &StackDef, templates: &[TemplateJson]) -> PolicyReport {
    let mut findings = Vec::new();
    let mut skipped: Vec<&str> = Vec::new();

    // Guard rules: every applicable rule over every template, in one engine run.
    let applicable: Vec<&guard::GuardRule> = guard::RULES
        .iter()
        .filter(|r| r.name != "bucket_replicated" || def.regions.len() >= 2)
        // A non-production stack may opt out of HTTPS (`dns.plain_http`); validate
        // refuses the opt-out on a production stack, so there the rule always applies.
        .filter(|r| r.name != "https_only" || def.app.production || !def.dns.plain_http)
        .collect();
    skipped.extend(
        guard::RULES
            .iter()
            .filter(|r| !applicable.iter().any(|a| a.name == r.name))
            .map(|r| r.name),
    );
    let texts: Vec<String> = templates.iter().map(|t| t.json.to_string()).collect();
    let inputs: Vec<(&str, &str)> = templates
        .iter()
        .zip(&texts)
        .map(|(t, text)| (t.name.as_str(), text.as_str()))
        .collect();
    let outcomes = match guard::evaluate_all(&applicable, &inputs) {
        Ok(outcomes) => outcomes,
        Err(e) => {
            // Never a silent pass: every guard rule fails with the engine's error.
            for rule in &applicable {
                findings.push(Finding::mandatory(
                    rule.name,
                    None,
                    None,
                    format!("the guard engine failed: {e}"),
                    rule.why.to_string(),
                    "report this as a strata bug".to_string(),
                ));
            }
            vec![vec![guard::GuardStatus::Skip; applicable.len()]; templates.len()]
        }
    };
    for (index, rule) in applicable.iter().enumerate() {
        let mut applied = false;
        for (t_index, t) in templates.iter().enumerate() {
            match outcomes[t_index][index].clone() {
                guard::GuardStatus::Pass => applied = true,
                guard::GuardStatus::Skip => {}
                guard::GuardStatus::Fail(failures) => {
                    applied = true;
                    for f in failures {
                        findings.push(guard_finding(rule, t, f.resource, f.message));
                    }
                }
            }
        }
        // The Rust halves of the two rules guard cannot join.
        let join: Option<fn(&serde_json::Value) -> Vec<joins::JoinFinding>> = match rule.name {
            "nat_route_same_az" => Some(joins::nat_routes_stay_in_az),
            "sg_no_world_ingress" => Some(joins::world_ingress_only_on_load_balancers),
            _ => None,
        };
        if let Some(join) = join {
            for t in templates {
                for (resource, message) in join(&t.json) {
                    applied = true;
                    findings.push(guard_finding(rule, t, Some(resource), message));
                }
            }
        }
        if !applied {
            skipped.push(rule.name);
        }
    }

    // Built-in high-availability checks.
    findings.extend(ha::multi_az(def));
    findings.extend(ha::nat_per_az(def, templates));
    findings.extend(ha::capacity_n_plus_1(def));
    findings.extend(ha::asg_max_allows_scale_out(def, templates));
    findings.extend(ha::multi_region(def));
    findings.extend(ha::failover_roles_complete(def));

    // The availability estimate.
    let (components, errors) = Components::with_overrides(&def.availability.components);
    for e in errors {
        findings.push(builtin(
            "availability_components",
            e.to_string(),
            "use the component names and percentages listed in docs/policy.md".into(),
        ));
    }
    let estimate = availability::estimate(def, &components);
    if !estimate.meets_minimum() {
        findings.push(builtin(
            "availability_minimum",
            format!(
                "estimated availability {:.4}% ({:.2} nines, {} downtime a year) is below the \
                 required minimum {}%",
                estimate.availability * 100.0,
                estimate.nines,
                estimate.yearly_downtime,
                def.availability.minimum.unwrap_or_default()
            ),
            "add AZs, regions or instances (see the per-region estimate), or lower \
             availability.minimum"
                .into(),
        ));
    }

    // Advisory rules: known names only, reasons carried onto their findings.
    let names = rule_names();
    for a in &def.policy.advisory {
        if !names.iter().any(|(n, _)| *n == a.rule) {
            findings.push(builtin(
                "advisory_rule_known",
                format!(
                    "[[policy.advisory]] names {:?}, which is not a rule",
                    a.rule
                ),
                "use a rule name as `strata check` prints it".into(),
            ));
        }
    }
    for f in &mut findings {
        if let Some(a) = def.policy.advisory.iter().find(|a| a.rule == f.rule) {
            if f.rule != "advisory_rule_known" {
                f.severity = Severity::Advisory;
                f.advisory_reason = Some(a.reason.clone());
            }
        }
    }

    let rules = names
        .into_iter()
        .map(|(name, kind)| {
            let failing: Vec<&Finding> = findings.iter().filter(|f| f.rule == name).collect();
            let status = if failing.iter().any(|f| f.severity == Severity::Mandatory) {
                RuleStatus::Fail
            } else if !failing.is_empty() {
                RuleStatus::Advisory
            } else if skipped.contains(&name) {
                RuleStatus::Skip
            } else {
                RuleStatus::Pass
            };
            RuleOutcome {
                rule: name.to_string(),
                kind,
                status,
            }
        })
        .collect();

    PolicyReport {
        stack: def.stack_name(),
        rules,
        findings,
        advisory: def.policy.advisory.clone(),
        availability: estimate,
    }
}

fn guard_finding(
    rule: &guard::GuardRule,
    template: &TemplateJson,
    resource: Option<String>,
    message: String,
) -> Finding {
    Finding::mandatory(
        rule.name,
        Some(&template.name),
        resource.as_deref(),
        message,
        rule.why.to_string(),
        rule.fix.to_string(),
    )
}

fn builtin(rule: &str, message: String, fix: String) -> Finding {
    let why = AVAILABILITY_RULES
        .iter()
        .find(|(r, _)| *r == rule)
        .map_or("", |(_, w)| w);
    Finding::mandatory(rule, None, None, message, why.to_string(), fix)
}
