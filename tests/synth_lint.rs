//! `cfn-lint` (pinned, installed from PyPI into `.strata/lint-venv` on first use)
//! reports no error on any template of any stack in `stacks/`, in either phase,
//! nor on a generated 4-region x 3-AZ stack with certificates.

mod support;

use std::path::PathBuf;
use strata::stack;
use strata::synth::{self, Phase};
use support::cfn_lint::{self, Finding};

#[test]
fn cfn_lint_finds_no_error_in_any_template_of_any_stack() {
    let dir = tempfile::tempdir().unwrap();
    let stacks_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("stacks");
    let mut defs: Vec<(String, stack::StackDef)> = std::fs::read_dir(&stacks_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| {
            let def = stack::load(&p).unwrap_or_else(|e| panic!("{e}"));
            (p.file_stem().unwrap().to_string_lossy().into_owned(), def)
        })
        .collect();
    defs.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(
        defs.iter().any(|(n, _)| n == "example"),
        "stacks/example.toml is linted"
    );
    let text = support::stacks::stack_toml(4, 3);
    defs.push((
        "generated-4x3".into(),
        stack::load_str(&text, "gen").unwrap(),
    ));

    // Lint all the templates of one region in one cfn-lint run.
    let mut by_region: std::collections::BTreeMap<String, Vec<PathBuf>> = Default::default();
    for (name, def) in &defs {
        for phase in [Phase::Build, Phase::Wired] {
            let out = synth::synthesize(def, phase);
            let mut write = |region: &str, file: String, json: String| {
                let path = dir
                    .path()
                    .join(format!("{name}-{}-{file}.json", phase.as_str()));
                std::fs::write(&path, json).unwrap();
                by_region.entry(region.to_string()).or_default().push(path);
            };
            for r in &out.regions {
                write(&r.region, r.region.clone(), r.template.to_json_pretty());
            }
            if let Some(g) = &out.global {
                write(stack::GLOBAL_REGION, "global".into(), g.to_json_pretty());
            }
            if let Some(z) = &out.zone {
                write(stack::GLOBAL_REGION, "dns".into(), z.to_json_pretty());
            }
        }
    }
    let mut linted = 0;
    let mut errors: Vec<Finding> = Vec::new();
    let mut others: Vec<Finding> = Vec::new();
    for (region, files) in &by_region {
        linted += files.len();
        let (e, o): (Vec<_>, Vec<_>) = cfn_lint::lint(region, files)
            .into_iter()
            .partition(Finding::is_error);
        errors.extend(e);
        others.extend(o);
    }
    assert!(linted >= 2 * (3 + 2 + 4 + 4), "linted {linted} templates");
    let list = |f: &[Finding]| {
        f.iter()
            .map(|f| format!("  {f}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(errors.is_empty(), "cfn-lint errors:\n{}", list(&errors));
    assert!(
        others.is_empty(),
        "cfn-lint warnings (justify each in cfn_lint::IGNORED_CHECKS or fix it):\n{}",
        list(&others)
    );
}
