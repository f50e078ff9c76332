//! The health gate reads every Route 53 health check by Route 53's own rule
//! (`deploy::check_health`), end to end: the real binary deploys through the fault
//! proxy in front of the sandbox, whose GetHealthCheckStatus refuses CALCULATED
//! checks as AWS does.
//! - a full deploy passes: the endpoint checks are read through their checkers'
//!   reports, the calculated serving checks (wiring pass) through their children;
//! - checkers reporting failure fail the gate;
//! - a check with no observations yet fails the gate (healthy only once observed
//!   healthy).

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use strata::exit_code;
use support::cli::{self, Run};
use support::fault_proxy::{Fault, FaultProxy, Rule};
use support::sandbox;

/// The example stack without CloudFront, a short gate timeout.
fn fixture(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(sandbox::repo_dir().join("stacks/example.toml")).unwrap();
    let text = text
        .replace("cloudfront = true", "cloudfront = false")
        .replace("gate_timeout = \"10m\"", "gate_timeout = \"3s\"");
    assert!(text.contains("gate_timeout = \"3s\""));
    let path = dir.join("gate.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn deploy(proxy: &FaultProxy, file: &Path) -> Run {
    cli::strata_at(
        &proxy.url(),
        &[
            "--output",
            "json",
            "deploy",
            file.to_str().unwrap(),
            "--yes",
            "--bake",
            "0s",
        ],
    )
}

/// Every health-check reading the gate reported: (signal, ok, detail).
fn check_readings(run: &Run) -> Vec<(String, bool, String)> {
    run.json_lines()
        .into_iter()
        .filter(|v| v["event"] == "health")
        .filter(|v| {
            v["signal"]
                .as_str()
                .unwrap_or_default()
                .starts_with("health-check")
        })
        .map(|v| {
            (
                v["signal"].as_str().unwrap_or_default().to_string(),
                v["ok"].as_bool().unwrap_or(false),
                v["detail"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn destroy(proxy: &FaultProxy, file: &Path) {
    cli::strata_at(
        &proxy.url(),
        &[
            "--output",
            "json",
            "destroy",
            file.to_str().unwrap(),
            "--yes",
        ],
    );
}

#[test]
fn the_gate_reads_endpoint_checks_by_their_checkers_and_calculated_checks_by_their_children() {
    let _moto = sandbox::exclusive();
    let dir = tempfile::tempdir().unwrap();
    let file = fixture(dir.path());
    let proxy = FaultProxy::in_front_of_sandbox();
    let run = deploy(&proxy, &file);
    run.expect_code(exit_code::SUCCESS);
    let readings = check_readings(&run);
    assert!(
        readings
            .iter()
            .any(|(_, ok, d)| *ok && d.contains("1/1 checkers report success")),
        "endpoint checks read from their checkers: {readings:#?}"
    );
    assert!(
        readings
            .iter()
            .any(|(_, ok, d)| *ok && d.contains("1 of 1 children healthy, threshold 1")),
        "serving (calculated) checks read from their children: {readings:#?}"
    );
    assert!(
        readings
            .iter()
            .all(|(_, _, d)| !d.contains("could not be read")),
        "no check was read in a way Route 53 refuses: {readings:#?}"
    );
    assert!(proxy.count(None, Some("route53"), Some("GetHealthCheck")) > 0);
    destroy(&proxy, &file);
}

fn gate_fails_with(rewrite: Fault, expect: &str) {
    let _moto = sandbox::exclusive();
    let dir = tempfile::tempdir().unwrap();
    let file = fixture(dir.path());
    let proxy = FaultProxy::in_front_of_sandbox();
    proxy.add(Rule::new(rewrite).action("GetHealthCheckStatus"));
    let run = deploy(&proxy, &file);
    proxy.clear_rules();
    assert_ne!(run.code, exit_code::SUCCESS, "{run:?}");
    let readings = check_readings(&run);
    assert!(
        readings.iter().any(|(_, ok, d)| !*ok && d.contains(expect)),
        "expected a failing reading with {expect:?}: {readings:#?}"
    );
    assert!(
        readings
            .iter()
            .all(|(_, ok, d)| !*ok || !d.contains("checkers")),
        "no endpoint check passed: {readings:#?}"
    );
    let summary: Value = run
        .json_lines()
        .into_iter()
        .find_map(|v| v.get("summary").cloned())
        .unwrap_or_else(|| panic!("no summary\n{run:?}"));
    assert!(
        summary.to_string().contains("health gate"),
        "the deploy stopped at the gate: {summary}"
    );
    destroy(&proxy, &file);
}

#[test]
fn checkers_reporting_failure_fail_the_gate() {
    gate_fails_with(
        Fault::rewrite("<Status>Success", "<Status>Failure"),
        "0/1 checkers report success",
    );
}

#[test]
fn a_check_with_no_observations_yet_fails_the_gate() {
    // The SDK ignores an element it does not know: the check has no observations.
    gate_fails_with(
        Fault::rewrite("HealthCheckObservations>", "Unobserved>"),
        "no observations yet",
    );
}
