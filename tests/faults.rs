//! Faults a deploy meets on the way, injected at the HTTP layer by the fault proxy
//! in front of the sandbox (issue 18, "Faults"): answers lost after the sandbox
//! carried a write out (the SDK retries and meets its own write), an endpoint that
//! dies in the middle of a health gate, and the k-th mutating call failing. What
//! is asserted is what a user sees: exit codes, the JSON summary, the lines a CI
//! log gets, and what is left in the sandbox, read back through its API.

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use support::cli::{self, Run};
use support::fault_proxy::{Fault, FaultProxy, Rule};
use support::{sandbox, sdk};

const REGIONS: [&str; 3] = ["us-east-1", "us-west-2", "eu-west-1"];
const LOCK_STACK: &str = "shop-prod-lock";

/// The example stack without CloudFront (fewer resources), with `desired` instances
/// per region; the gate timeout stays the example's 10 minutes.
fn fixture(dir: &Path, name: &str, desired: u32) -> PathBuf {
    support::stacks::example_fixture(dir, name, desired, &[])
}

fn deploy_args(file: &Path) -> Vec<String> {
    ["--output", "json", "deploy", file.to_str().unwrap()]
        .into_iter()
        .chain(["--yes", "--bake", "0s"])
        .map(str::to_string)
        .collect()
}

fn deploy(proxy: &FaultProxy, file: &Path) -> Run {
    let args = deploy_args(file);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    cli::strata_at(&proxy.url(), &args)
}

fn summary(run: &Run) -> Value {
    run.json_lines()
        .into_iter()
        .find_map(|v| v.get("summary").cloned())
        .unwrap_or_else(|| panic!("no summary line\n{run}"))
}

fn result_of(run: &Run, region: &str) -> String {
    summary(run)["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["role"] == "region" && s["region"] == region)
        .unwrap_or_else(|| panic!("no {region} in the summary\n{run}"))["result"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Every live stack of a region: (name, status).
fn stacks(region: &str) -> Vec<(String, String)> {
    let cfn = sdk::cloudformation(region);
    sdk::block_on(async move {
        let out = cfn.describe_stacks().send().await.expect("DescribeStacks");
        out.stacks()
            .iter()
            .map(|s| {
                (
                    s.stack_name().unwrap_or_default().to_string(),
                    s.stack_status()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                )
            })
            .filter(|(_, status)| status != "DELETE_COMPLETE")
            .collect()
    })
}

/// The change sets of a stack.
fn change_sets(region: &str, stack: &str) -> Vec<String> {
    let cfn = sdk::cloudformation(region);
    let stack = stack.to_string();
    sdk::block_on(async move {
        match cfn.list_change_sets().stack_name(&stack).send().await {
            Ok(out) => out
                .summaries()
                .iter()
                .filter(|s| s.stack_name().is_none_or(|n| n == stack))
                .filter_map(|s| s.change_set_name().map(str::to_string))
                .collect(),
            Err(_) => vec![],
        }
    })
}

/// The regions where the lock stack exists.
/// The regions whose lock stack remains once every deletion under way has ended
/// (the sandbox deletes stacks asynchronously, as AWS does: a released lock is
/// DELETE_IN_PROGRESS for a moment, then gone).
fn lock_left() -> Vec<&'static str> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let states: Vec<(&'static str, Option<String>)> = REGIONS
            .into_iter()
            .map(|r| {
                let status = stacks(r)
                    .into_iter()
                    .find(|(n, _)| n == LOCK_STACK)
                    .map(|(_, s)| s);
                (r, status)
            })
            .collect();
        let deleting = states
            .iter()
            .any(|(_, s)| s.as_deref() == Some("DELETE_IN_PROGRESS"));
        if !deleting || std::time::Instant::now() > deadline {
            return states
                .into_iter()
                .filter(|(_, s)| s.is_some())
                .map(|(r, _)| r)
                .collect();
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
fn a_lost_answer_on_the_lock_write_is_recognised_as_our_own_lock() {
    let _moto = sandbox::exclusive();
    let dir = tempfile::tempdir().unwrap();
    let v2 = fixture(dir.path(), "v2.toml", 2);
    let proxy = FaultProxy::in_front_of_sandbox();
    // eu-west-1 is the first region the lock is taken in (sorted order).
    let lost = proxy.add(
        Rule::new(Fault::LoseResponse)
            .region("eu-west-1")
            .action("CreateStack")
            .times(1),
    );
    let run = deploy(&proxy, &v2);
    assert_eq!(proxy.fired(lost), 1, "the lock write was not hit");
    run.expect_code(0);
    assert!(!run.stderr.contains("held by"), "{run}");
    assert_eq!(summary(&run)["outcome"], "deployed");
    assert!(lock_left().is_empty(), "lock left in {:?}", lock_left());
}

#[test]
fn a_lost_answer_on_a_change_set_is_recognised_as_our_own_change_set() {
    let _moto = sandbox::exclusive();
    let dir = tempfile::tempdir().unwrap();
    let v2 = fixture(dir.path(), "v2.toml", 2);
    let proxy = FaultProxy::in_front_of_sandbox();
    let lost = proxy.add(
        Rule::new(Fault::LoseResponse)
            .region("us-west-2")
            .action("CreateChangeSet")
            .times(1),
    );
    let run = deploy(&proxy, &v2);
    assert_eq!(proxy.fired(lost), 1);
    run.expect_code(0);
    assert_eq!(result_of(&run, "us-west-2"), "created");
    let named = stacks("us-west-2")
        .into_iter()
        .filter(|(n, _)| n == "shop-prod-us-west-2")
        .count();
    assert_eq!(named, 1, "the retry made a second stack");
    // Only the kept previous versions (the wiring pass updated every region).
    for region in REGIONS {
        for (stack, _) in stacks(region) {
            let left: Vec<String> = change_sets(region, &stack)
                .into_iter()
                .filter(|n| !n.starts_with("strata-previous-"))
                .collect();
            assert!(left.is_empty(), "{region} {stack}: {left:?}");
        }
    }
}

#[test]
fn a_lost_answer_on_an_ami_copy_makes_one_copy() {
    let _moto = sandbox::exclusive();
    let proxy = FaultProxy::in_front_of_sandbox();
    let lost = proxy.add(
        Rule::new(Fault::LoseResponse)
            .region("us-west-2")
            .action("CopyImage")
            .times(1),
    );
    let run = cli::strata_at(
        &proxy.url(),
        &["--output", "json", "ami", "copy", "stacks/example.toml"],
    );
    assert_eq!(proxy.fired(lost), 1);
    run.expect_code(0);
    let ec2 = sdk::ec2("us-west-2");
    let copies = sdk::block_on(async move {
        ec2.describe_images()
            .owners("self")
            .send()
            .await
            .unwrap()
            .images()
            .iter()
            .filter(|i| {
                i.tags()
                    .iter()
                    .any(|t| t.key() == Some("strata:source-ami"))
            })
            .filter_map(|i| i.image_id().map(str::to_string))
            .collect::<Vec<_>>()
    });
    assert_eq!(copies.len(), 1, "copies in us-west-2: {copies:?}\n{run}");
}

#[test]
fn a_failed_change_set_while_planning_leaves_no_debris() {
    let _moto = sandbox::exclusive();
    let dir = tempfile::tempdir().unwrap();
    let v2 = fixture(dir.path(), "v2.toml", 2);
    let proxy = FaultProxy::in_front_of_sandbox();
    // A cold deploy: every region's CREATE change set is made at once; the first
    // region's fails, the others' are made (with their REVIEW_IN_PROGRESS stacks).
    proxy.add(
        Rule::new(Fault::error(400, "ValidationError", "injected: refused"))
            .region("us-east-1")
            .action("CreateChangeSet"),
    );
    let run = deploy(&proxy, &v2);
    run.expect_code(strata::exit_code::ENVIRONMENT);
    let s = summary(&run);
    assert!(
        s["error"]
            .as_str()
            .unwrap_or_default()
            .contains("us-east-1"),
        "{run}"
    );
    for region in REGIONS {
        for (stack, status) in stacks(region) {
            assert_ne!(status, "REVIEW_IN_PROGRESS", "{region} {stack} left\n{run}");
            assert!(
                change_sets(region, &stack).is_empty(),
                "{region} {stack}: {:?}\n{run}",
                change_sets(region, &stack)
            );
        }
    }
    assert!(lock_left().is_empty());
}

#[test]
fn a_failed_previous_record_is_retried_and_keeps_the_healthy_region() {
    let _moto = sandbox::exclusive();
    let dir = tempfile::tempdir().unwrap();
    let v2 = fixture(dir.path(), "v2.toml", 2);
    let v3 = fixture(dir.path(), "v3.toml", 3);
    let proxy = FaultProxy::in_front_of_sandbox();
    deploy(&proxy, &v2).expect_code(0);
    // us-west-2's second CreateChangeSet is its `strata-previous-…` record, made
    // after the region passed its gate and bake.
    let failed = proxy.add(
        Rule::new(Fault::error(
            400,
            "ValidationError",
            "injected: record refused",
        ))
        .region("us-west-2")
        .action("CreateChangeSet")
        .after(1)
        .times(1),
    );
    let run = deploy(&proxy, &v3);
    assert_eq!(proxy.fired(failed), 1);
    run.expect_code(0);
    assert_eq!(result_of(&run, "us-west-2"), "updated");
    assert_eq!(result_of(&run, "eu-west-1"), "updated");
    assert!(
        change_sets("us-west-2", "shop-prod-us-west-2")
            .contains(&"strata-previous-shop-prod-us-west-2".to_string()),
        "the record of what to roll back to is lost"
    );
}

#[test]
fn a_failed_lock_release_is_retried_and_what_remains_is_said() {
    let _moto = sandbox::exclusive();
    let dir = tempfile::tempdir().unwrap();
    let v2 = fixture(dir.path(), "v2.toml", 2);
    let v3 = fixture(dir.path(), "v3.toml", 3);
    let proxy = FaultProxy::in_front_of_sandbox();
    // Once: the release is retried and nothing is left.
    let once = proxy.add(
        Rule::new(Fault::error(
            400,
            "ValidationError",
            "injected: delete refused",
        ))
        .region("eu-west-1")
        .action("DeleteStack")
        .times(1),
    );
    let run = deploy(&proxy, &v2);
    assert_eq!(proxy.fired(once), 1);
    run.expect_code(0);
    assert!(
        lock_left().is_empty(),
        "lock left in {:?}\n{run}",
        lock_left()
    );

    // Always: the deploy is done, the lock remains, the exit says so.
    proxy.add(
        Rule::new(Fault::error(
            400,
            "ValidationError",
            "injected: delete refused",
        ))
        .region("eu-west-1")
        .action("DeleteStack"),
    );
    let run = deploy(&proxy, &v3);
    proxy.clear_rules();
    run.expect_code(strata::exit_code::ENVIRONMENT);
    assert_eq!(summary(&run)["outcome"], "deployed");
    assert_eq!(lock_left(), ["eu-west-1"]);
    assert!(
        run.stderr.contains("eu-west-1") && run.stderr.contains("strata unlock"),
        "{run}"
    );
    // A deploy with nothing to change does not leave the dead run's lock behind.
    let again = deploy(&proxy, &v3);
    again.expect_code(0);
    assert_eq!(summary(&again)["outcome"], "no-change");
    assert!(
        lock_left().is_empty(),
        "lock left in {:?}\n{again}",
        lock_left()
    );
}

/// RFC 3339 time of an event line, in seconds.
fn event_secs(v: &Value) -> Option<f64> {
    let t = v.get("time")?.as_str()?;
    let t = time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()?;
    Some(t.unix_timestamp_nanos() as f64 / 1e9)
}

#[test]
fn the_endpoint_dying_during_a_health_gate_exits_7_in_bounded_time_and_resumes() {
    let _moto = sandbox::exclusive();
    let dir = tempfile::tempdir().unwrap();
    let v2 = fixture(dir.path(), "v2.toml", 2);
    let v3 = fixture(dir.path(), "v3.toml", 3);
    let proxy = FaultProxy::in_front_of_sandbox();
    deploy(&proxy, &v2).expect_code(0);
    proxy.clear_calls();

    let mut cmd = cli::command_at(&proxy.url());
    let child = cmd
        .args(deploy_args(&v3))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The gate of the first region starts: from now on nothing answers.
    assert!(proxy.wait_for(
        Some("us-east-1"),
        Some("autoscaling"),
        Some("DescribeAutoScalingGroups"),
        Duration::from_secs(300)
    ));
    proxy.add(Rule::new(Fault::Drop));
    let died = Instant::now();
    let run = cli::wait(child, Duration::from_secs(600));
    let took = died.elapsed();
    proxy.clear_rules();

    run.expect_code(strata::exit_code::ENVIRONMENT);
    assert!(
        took < Duration::from_secs(240),
        "exit 7 took {took:?} after the endpoint died"
    );
    // A line at least every 30 s while the endpoint was unreachable.
    let times: Vec<f64> = run.json_lines().iter().filter_map(event_secs).collect();
    let gap = times.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max);
    assert!(gap <= 30.0, "{gap:.0}s without a line\n{run}");
    // The error names the endpoint, the region, the operation and what to do.
    let s = summary(&run);
    let error = s["error"].as_str().unwrap_or_default().to_string();
    for needle in [
        proxy.url().as_str(),
        "us-east-1",
        "run the same command again",
    ] {
        assert!(error.contains(needle), "{needle:?} not in {error:?}\n{run}");
    }
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(
        !all.contains("DispatchFailure {"),
        "a raw debug dump\n{run}"
    );
    assert!(!all.contains("ConnectorError"), "a raw debug dump\n{run}");
    assert_eq!(s["outcome"], "unreachable");

    // Resumable: once the endpoint answers, the same command finishes the job.
    let again = deploy(&proxy, &v3);
    again.expect_code(0);
    assert!(lock_left().is_empty(), "lock left in {:?}", lock_left());
    for region in REGIONS {
        let (_, status) = stacks(region)
            .into_iter()
            .find(|(n, _)| *n == format!("shop-prod-{region}"))
            .unwrap();
        assert!(status.ends_with("_COMPLETE"), "{region}: {status}");
    }
}
