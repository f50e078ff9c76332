//! checkov (pinned, `tests/checkov-requirements.txt`, installed from PyPI into
//! `.strata/checkov-venv` on first use) reports none of the checks issue 14 names
//! on any template of any stack in `stacks/`, in either phase:
//! - CKV_AWS_2: load balancer listeners use HTTPS (or only redirect to it);
//! - CKV_AWS_103: load balancer listeners use TLS 1.2 or later;
//! - CKV_AWS_260: no security group admits 0.0.0.0/0 on port 80;
//! - CKV_AWS_174: CloudFront's viewer certificate requires TLS 1.2 or later.

mod support;

use std::path::PathBuf;
use strata::stack;
use strata::synth::{self, Phase};
use support::checkov;

const CHECKS: [&str; 4] = ["CKV_AWS_2", "CKV_AWS_103", "CKV_AWS_260", "CKV_AWS_174"];

#[test]
fn checkov_reports_no_listener_tls_or_open_port_80_finding_on_any_stack() {
    let dir = tempfile::tempdir().unwrap();
    let stacks_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("stacks");
    let mut names = Vec::new();
    for path in std::fs::read_dir(&stacks_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
    {
        let def = stack::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        for phase in [Phase::Build, Phase::Wired] {
            let out = synth::synthesize(&def, phase);
            let write = |file: &str, json: String| {
                let path = dir
                    .path()
                    .join(format!("{name}-{}-{file}.template.json", phase.as_str()));
                std::fs::write(path, json).unwrap();
            };
            for r in &out.regions {
                write(&r.region, r.template.to_json_pretty());
            }
            if let Some(g) = &out.global {
                write("global", g.to_json_pretty());
            }
        }
        names.push(name);
    }
    assert!(names.iter().any(|n| n == "example"), "{names:?}");

    let results = checkov::scan(dir.path(), &CHECKS);
    // Each check ran on something: a pass with nothing checked proves nothing.
    for check in CHECKS {
        assert!(
            results.iter().any(|r| r.check == check),
            "checkov evaluated no resource for {check}: {results:?}"
        );
    }
    let failed: Vec<String> = results
        .iter()
        .filter(|r| !r.passed)
        .map(|r| format!("  {r}"))
        .collect();
    assert!(
        failed.is_empty(),
        "checkov findings:\n{}",
        failed.join("\n")
    );
}
