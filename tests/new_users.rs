//! What a new user hits (issue 18, items 8 to 15; issue 15 item 3), end to end
//! with the real binary against the sandbox: a no-change deploy that is one, a
//! plan that agrees with deploy, no silent replacement of data or network, the
//! account pin.

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use strata::exit_code;
use support::cli::{self, Run};
use support::fault_proxy::FaultProxy;
use support::sandbox;

/// The example stack without CloudFront, a short gate, with `edit` applied to its text.
fn fixture(dir: &Path, name: &str, edit: impl Fn(String) -> String) -> PathBuf {
    let text = std::fs::read_to_string(sandbox::repo_dir().join("stacks/example.toml")).unwrap();
    let text = text
        .replace("cloudfront = true", "cloudfront = false")
        .replace("gate_timeout = \"10m\"", "gate_timeout = \"2s\"");
    let text = edit(text);
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn strata(proxy: &FaultProxy, args: &[&str]) -> Run {
    let mut all = vec!["--output", "json"];
    all.extend_from_slice(args);
    cli::strata_at(&proxy.url(), &all)
}

fn deploy(proxy: &FaultProxy, file: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["deploy", file.to_str().unwrap(), "--yes", "--bake", "0s"];
    args.extend_from_slice(extra);
    strata(proxy, &args)
}

fn summary(run: &Run) -> Value {
    run.json_lines()
        .into_iter()
        .find_map(|v| v.get("summary").cloned())
        .unwrap_or_else(|| panic!("no summary line\n{run}"))
}

/// The `plan` object of `strata plan`.
fn plan(proxy: &FaultProxy, file: &Path) -> Value {
    let run = strata(proxy, &["plan", file.to_str().unwrap()]);
    run.expect_code(0);
    run.json_lines()
        .into_iter()
        .find_map(|v| v.get("plan").cloned())
        .unwrap_or_else(|| panic!("no plan line\n{run}"))
}

/// Every stack plan of a plan object, in order.
fn stacks(plan: &Value) -> Vec<Value> {
    let mut out: Vec<Value> = plan["zone"].as_object().map(|_| plan["zone"].clone()).into_iter().collect();
    for w in plan["waves"].as_array().unwrap() {
        out.extend(w.as_array().unwrap().iter().cloned());
    }
    if plan["global"].is_object() {
        out.push(plan["global"].clone());
    }
    out
}

fn actions(plan: &Value) -> Vec<(String, String)> {
    stacks(plan)
        .iter()
        .map(|s| {
            (
                s["region"].as_str().unwrap().to_string(),
                s["action"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Issue 18 items 8 and 10: with `ami.encrypted = true` the build region runs an
/// encrypted copy; right after the deploy, `plan` says nothing changes anywhere,
/// and a second deploy is decided read-only: no lock, no mutating call at all.
#[test]
fn with_encrypted_copies_plan_agrees_with_deploy_and_a_no_change_deploy_takes_no_lock() {
    let _moto = sandbox::exclusive();
    let dir = tempfile::tempdir().unwrap();
    let file = fixture(dir.path(), "enc.toml", |t| {
        t.replace("encrypted = false", "encrypted = true")
    });
    let proxy = FaultProxy::in_front_of_sandbox();
    deploy(&proxy, &file, &[]).expect_code(0);

    let after = plan(&proxy, &file);
    assert!(
        actions(&after).iter().all(|(_, a)| a == "no-change"),
        "plan disagrees with the deploy just done: {:?}",
        actions(&after)
    );

    proxy.clear_calls();
    let again = deploy(&proxy, &file, &[]);
    again.expect_code(0);
    assert_eq!(summary(&again)["outcome"], "no-change", "{again}");
    assert_eq!(
        proxy.count(None, Some("cloudformation"), Some("CreateStack")),
        0,
        "a no-change deploy took the lock"
    );
    assert!(
        proxy.mutating_calls().is_empty(),
        "a no-change deploy made mutating calls: {:?}",
        proxy.mutating_calls()
    );
    assert!(
        !again.stderr.contains("ami copy` first") && !again.stdout.contains("ami copy` first"),
        "warned to run `strata ami copy` though the copies exist\n{again}"
    );
}

/// Issue 18 item 9: `dr rebuild` from a survivor that runs a copy gives the rebuilt
/// region the image a deploy gives it, so the next deploy is a no-op (on AWS a
/// moved AMI parameter replaces every instance right after the recovery).
#[test]
fn after_a_rebuild_from_a_copy_the_next_deploy_changes_nothing() {
    let _moto = sandbox::exclusive();
    let dir = tempfile::tempdir().unwrap();
    let file = fixture(dir.path(), "dr.toml", |t| t);
    let proxy = FaultProxy::in_front_of_sandbox();
    deploy(&proxy, &file, &[]).expect_code(0);

    let f = file.to_str().unwrap();
    let rebuilt = strata(
        &proxy,
        &["dr", "rebuild", f, "--region", "us-west-2", "--from", "eu-west-1", "--bake", "0s"],
    );
    rebuilt.expect_code(0);

    proxy.clear_calls();
    let again = deploy(&proxy, &file, &[]);
    again.expect_code(0);
    assert_eq!(summary(&again)["outcome"], "no-change", "{again}");
    assert!(
        proxy.mutating_calls().is_empty(),
        "the deploy after the rebuild changed something: {:?}",
        proxy.mutating_calls()
    );
}
