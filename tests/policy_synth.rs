//! The policy stage over real synthesized templates: every stack in `stacks/`
//! synthesizes (wired phase) to templates that pass every rule.

use strata::policy::{self, RuleStatus, Severity};
use strata::synth::{synthesize, Phase};

#[test]
fn every_example_stack_synthesizes_to_templates_that_pass_every_rule() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("stacks");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let def = strata::stack::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let report = policy::check(&def, &synthesize(&def, Phase::Wired));
        assert!(
            report.passed(),
            "{}: {:#?}",
            path.display(),
            report.findings
        );
        // Only rules the definition made advisory (with a reason) may report.
        for f in &report.findings {
            assert_eq!(f.severity, Severity::Advisory, "{}: {f:#?}", path.display());
            assert!(f.advisory_reason.is_some());
            assert!(!f.message.contains("guard rule"), "engine error: {f:#?}");
        }
        checked += 1;
    }
    assert!(checked >= 1);
}

#[test]
fn the_example_applies_every_rule_to_its_synthesized_templates() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("stacks/example.toml");
    let def = strata::stack::load(&path).unwrap();
    let report = policy::check(&def, &synthesize(&def, Phase::Wired));
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    let skipped: Vec<&str> = report
        .rules
        .iter()
        .filter(|r| r.status == RuleStatus::Skip)
        .map(|r| r.rule.as_str())
        .collect();
    assert!(
        skipped.is_empty(),
        "rules with nothing to check in the example: {skipped:?}"
    );
}
