//! End-to-end tests of `strata plan / deploy / rollback` against the sandbox, through
//! the fault proxy: rollout order, no-change runs, rollback on execute / gate
//! failures and on an alarm firing in the bake, throttling, kill -9 and resume,
//! rollback on demand.

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use support::cli::{self, Run};
use support::fault_proxy::{Fault, FaultProxy, Rule};
use support::{sandbox, sdk};

const REGIONS: [&str; 3] = ["us-east-1", "us-west-2", "eu-west-1"];

/// The example stack without CloudFront (fewer resources per run; the full stack is
/// deployed in `sandbox_fidelity.rs`), with the given desired capacity and a short
/// gate timeout.
fn fixture(dir: &Path, name: &str, desired: u32) -> PathBuf {
    support::stacks::example_fixture(
        dir,
        name,
        desired,
        &[("gate_timeout = \"10m\"", "gate_timeout = \"2s\"")],
    )
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

/// The final summary object of a run.
fn summary(run: &Run) -> Value {
    run.json_lines()
        .into_iter()
        .find_map(|v| v.get("summary").cloned())
        .unwrap_or_else(|| panic!("no summary line\n{run:?}"))
}

/// Each region stack's result in the summary.
fn results(run: &Run) -> Vec<(String, String)> {
    summary(run)["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["role"] == "region")
        .map(|s| {
            (
                s["region"].as_str().unwrap().to_string(),
                s["result"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn result_of(run: &Run, region: &str) -> String {
    results(run)
        .into_iter()
        .find(|(r, _)| r == region)
        .unwrap()
        .1
}

/// The plan's action per region stack, from `strata plan`.
fn plan_actions(proxy: &FaultProxy, file: &Path) -> Vec<(String, String)> {
    let run = strata(proxy, &["plan", file.to_str().unwrap()]);
    run.expect_code(0);
    let plan = run
        .json_lines()
        .into_iter()
        .find_map(|v| v.get("plan").cloned())
        .unwrap_or_else(|| panic!("no plan line\n{run:?}"));
    plan["waves"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|w| w.as_array().unwrap().clone())
        .map(|s| {
            (
                s["region"].as_str().unwrap().to_string(),
                s["action"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The regions where a change set was executed, in order.
fn executed_regions(proxy: &FaultProxy) -> Vec<String> {
    proxy
        .calls()
        .into_iter()
        .filter(|c| c.key.action == "ExecuteChangeSet" && c.fault.is_none())
        .map(|c| c.key.region)
        .collect()
}

fn no_change(proxy: &FaultProxy, file: &Path) -> bool {
    plan_actions(proxy, file)
        .iter()
        .all(|(_, a)| a == "no-change")
}

#[test]
fn plan_then_deploy_from_nothing_then_a_change_rolls_out_in_order_then_nothing_changes() {
    let _moto = sandbox::exclusive();
    let dir = tempfile::tempdir().unwrap();
    let v2 = fixture(dir.path(), "v2.toml", 2);
    let v3 = fixture(dir.path(), "v3.toml", 3);
    let proxy = FaultProxy::in_front_of_sandbox();

    let planned = plan_actions(&proxy, &v2);
    assert_eq!(planned.len(), 3);
    assert!(planned.iter().all(|(_, a)| a == "create"), "{planned:?}");
    assert!(
        proxy.count(None, None, Some("ExecuteChangeSet")) == 0,
        "plan executed something"
    );

    let cold = deploy(&proxy, &v2, &[]);
    cold.expect_code(0);
    assert_eq!(summary(&cold)["outcome"], "deployed");
    // A deploy is not silent while it synthesizes and reads: its first lines,
    // before anything it read is reported, start every region's preflight.
    let starts = |l: &&Value| {
        l["phase"] == "preflight"
            && l["event"] == "phase-started"
            && l["detail"]
                .as_str()
                .is_some_and(|d| d.starts_with("synth, policy"))
    };
    let lines = cold.json_lines();
    let first: Vec<&str> = lines[..REGIONS.len()]
        .iter()
        .filter(starts)
        .filter_map(|l| l["region"].as_str())
        .collect();
    assert_eq!(
        first, REGIONS,
        "the deploy's first lines are not every region's preflight\n{cold:?}"
    );
    assert!(
        results(&cold).iter().all(|(_, r)| r == "created"),
        "{cold:?}"
    );
    assert!(
        no_change(&proxy, &v2),
        "after the cold deploy the plan still shows changes"
    );

    proxy.clear_calls();
    let change = deploy(&proxy, &v3, &[]);
    change.expect_code(0);
    assert!(
        results(&change).iter().all(|(_, r)| r == "updated"),
        "{change:?}"
    );
    assert_eq!(
        executed_regions(&proxy),
        REGIONS,
        "regions not rolled out in the definition's order"
    );

    proxy.clear_calls();
    let again = deploy(&proxy, &v3, &[]);
    again.expect_code(0);
    assert_eq!(summary(&again)["outcome"], "no-change");
    assert!(
        proxy.mutating_calls().is_empty(),
        "a deploy with nothing to change made mutating calls: {:?}",
        proxy.mutating_calls()
    );
}

/// Deploy v2 from nothing; return the fixture paths (v2, v3).
fn deployed_v2(proxy: &FaultProxy, dir: &Path) -> (PathBuf, PathBuf) {
    let v2 = fixture(dir, "v2.toml", 2);
    let v3 = fixture(dir, "v3.toml", 3);
    deploy(proxy, &v2, &[]).expect_code(0);
    (v2, v3)
}

/// Region 2 failed: it is back on v2, region 3 was not touched, region 1 runs v3.
fn assert_region_two_rolled_back(proxy: &FaultProxy, run: &Run, v2: &Path, v3: &Path) {
    run.expect_code(strata::exit_code::DEPLOY_FAILED_ROLLED_BACK);
    assert_eq!(summary(run)["outcome"], "rolled-back");
    assert_eq!(result_of(run, "us-east-1"), "updated");
    assert_eq!(result_of(run, "us-west-2"), "rolled-back");
    assert_eq!(result_of(run, "eu-west-1"), "not-started");
    assert!(
        !executed_regions(proxy).contains(&"eu-west-1".to_string()),
        "region 3 was touched"
    );
    let against_v2 = plan_actions(proxy, v2);
    assert_eq!(
        against_v2,
        [
            ("us-east-1".to_string(), "update".to_string()),
            ("us-west-2".to_string(), "no-change".to_string()),
            ("eu-west-1".to_string(), "no-change".to_string()),
        ]
    );
    let against_v3 = plan_actions(proxy, v3);
    assert_eq!(against_v3[0].1, "no-change", "region 1 does not run v3");
}

#[test]
fn execute_failing_in_region_two_rolls_it_back_and_stops() {
    let _moto = sandbox::exclusive();
    let dir = tempfile::tempdir().unwrap();
    let proxy = FaultProxy::in_front_of_sandbox();
    let (v2, v3) = deployed_v2(&proxy, dir.path());
    proxy.clear_calls();
    proxy.add(
        Rule::new(Fault::error(
            400,
            "ValidationError",
            "injected: execute refused",
        ))
        .region("us-west-2")
        .action("ExecuteChangeSet"),
    );
    let run = deploy(&proxy, &v3, &[]);
    proxy.clear_rules();
    assert_region_two_rolled_back(&proxy, &run, &v2, &v3);
}

#[test]
fn gate_failing_in_region_two_puts_its_previous_template_back() {
    let _moto = sandbox::exclusive();
    let dir = tempfile::tempdir().unwrap();
    let proxy = FaultProxy::in_front_of_sandbox();
    let (v2, v3) = deployed_v2(&proxy, dir.path());
    proxy.clear_calls();
    proxy.add(
        Rule::new(Fault::rewrite(
            "<State>healthy</State>",
            "<State>unhealthy</State>",
        ))
        .region("us-west-2")
        .action("DescribeTargetHealth"),
    );
    let run = deploy(&proxy, &v3, &[]);
    proxy.clear_rules();
    assert_region_two_rolled_back(&proxy, &run, &v2, &v3);
    assert!(run.stdout.contains("health gate"), "{run:?}");
}

/// The 5xx alarm of region 2's stack (synth names alarms `<stack>-...`).
const REGION_TWO_ALARM: &str = "shop-prod-us-west-2-alb-5xx";

/// The state of an alarm, asked of moto directly.
fn alarm_state(region: &str, name: &str) -> String {
    let cw = sdk::cloudwatch(region);
    sdk::block_on(async {
        cw.describe_alarms()
            .alarm_names(name)
            .send()
            .await
            .expect("DescribeAlarms")
            .metric_alarms()
            .first()
            .unwrap_or_else(|| panic!("{name} does not exist in {region}"))
            .state_value()
            .unwrap()
            .as_str()
            .to_string()
    })
}

/// Deploy v3 while region 2's 5xx alarm fires during its bake: the gate's read of
/// region 2's alarms goes through untouched; right before the next read (the
/// bake's first) the proxy sets the alarm to ALARM in moto (SetAlarmState), so the
/// bake reads it firing. No timing decides it: the bake reads at least once.
fn deploy_with_alarm_in_bake_of_region_two(proxy: &FaultProxy, v3: &Path, extra: &[&str]) -> Run {
    assert_eq!(alarm_state("us-west-2", REGION_TWO_ALARM), "OK");
    proxy.add(
        Rule::new(Fault::Delay(std::time::Duration::ZERO))
            .region("us-west-2")
            .action("DescribeAlarms")
            .times(1),
    );
    let fire = proxy.add(
        Rule::new(Fault::before(|| {
            let cw = sdk::cloudwatch("us-west-2");
            sdk::block_on(async {
                cw.set_alarm_state()
                    .alarm_name(REGION_TWO_ALARM)
                    .state_value(aws_sdk_cloudwatch::types::StateValue::Alarm)
                    .state_reason("fired by the test during the bake")
                    .send()
                    .await
                    .expect("SetAlarmState")
            });
        }))
        .region("us-west-2")
        .action("DescribeAlarms")
        .times(1),
    );
    let mut args = vec!["deploy", v3.to_str().unwrap(), "--yes", "--bake", "2s"];
    args.extend_from_slice(extra);
    let run = strata(proxy, &args);
    proxy.clear_rules();
    assert_eq!(
        proxy.fired(fire),
        1,
        "region 2's bake never read its alarms\n{run:?}"
    );
    assert!(
        run.stdout.contains("bake of shop-prod-us-west-2")
            && run
                .stdout
                .contains(&format!("in ALARM: {REGION_TWO_ALARM}")),
        "{run:?}"
    );
    run
}

/// The put-back of a failed region is not gated (docs/deploy.md, Rollback): region 2
/// returns to v2 although its alarm still fires.
#[test]
fn alarm_firing_in_bake_of_region_two_rolls_it_back_and_stops() {
    let _moto = sandbox::exclusive();
    let dir = tempfile::tempdir().unwrap();
    let proxy = FaultProxy::in_front_of_sandbox();
    let (v2, v3) = deployed_v2(&proxy, dir.path());
    proxy.clear_calls();
    let run = deploy_with_alarm_in_bake_of_region_two(&proxy, &v3, &[]);
    assert_region_two_rolled_back(&proxy, &run, &v2, &v3);
    assert_eq!(alarm_state("us-west-2", REGION_TWO_ALARM), "ALARM");
}

#[test]
fn alarm_firing_in_bake_of_region_two_with_rollback_all_puts_every_region_back() {
    let _moto = sandbox::exclusive();
    let dir = tempfile::tempdir().unwrap();
    let proxy = FaultProxy::in_front_of_sandbox();
    let (v2, v3) = deployed_v2(&proxy, dir.path());
    proxy.clear_calls();
    let run =
        deploy_with_alarm_in_bake_of_region_two(&proxy, &v3, &["--on-failure", "rollback-all"]);
    run.expect_code(strata::exit_code::DEPLOY_FAILED_ROLLED_BACK);
    assert_eq!(summary(&run)["outcome"], "rolled-back");
    assert_eq!(result_of(&run, "us-east-1"), "rolled-back");
    assert_eq!(result_of(&run, "us-west-2"), "rolled-back");
    assert_eq!(result_of(&run, "eu-west-1"), "not-started");
    assert!(
        !executed_regions(&proxy).contains(&"eu-west-1".to_string()),
        "region 3 was touched"
    );
    assert!(no_change(&proxy, &v2), "not every region is back on v2");
}

#[test]
fn thirty_percent_throttling_still_converges_without_duplicates() {
    let _moto = sandbox::exclusive();
    let dir = tempfile::tempdir().unwrap();
    let v2 = fixture(dir.path(), "v2.toml", 2);
    let proxy = FaultProxy::in_front_of_sandbox();
    let rule = proxy.add(Rule::new(Fault::Throttle).probability(0.3));
    let run = deploy(&proxy, &v2, &[]);
    assert!(proxy.fired(rule) > 10, "the throttling rule hardly fired");
    proxy.clear_rules();
    run.expect_code(0);
    assert!(no_change(&proxy, &v2));
    // One VPC of the stack per region (the sandbox's default VPC aside).
    for (region, cidr) in REGIONS
        .iter()
        .zip(["10.10.0.0/16", "10.20.0.0/16", "10.30.0.0/16"])
    {
        assert_eq!(vpcs_with_cidr(region, cidr), 1, "{region}");
    }
}

/// The number of VPCs with this CIDR in the region, asked of moto directly.
fn vpcs_with_cidr(region: &str, cidr: &str) -> usize {
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential=testing/20260101/{region}/ec2/aws4_request, SignedHeaders=host, Signature=00"
    );
    let out = std::process::Command::new("curl")
        .args(["-s", "-H", &format!("Authorization: {auth}"), "-d"])
        .arg(format!(
            "Action=DescribeVpcs&Version=2016-11-15&Filter.1.Name=cidr&Filter.1.Value.1={cidr}"
        ))
        .arg(sandbox::endpoint())
        .output()
        .expect("curl runs");
    String::from_utf8_lossy(&out.stdout)
        .matches("<vpcId>")
        .count()
}

#[test]
fn kill_dash_nine_during_region_two_then_the_same_command_converges() {
    let _moto = sandbox::exclusive();
    let dir = tempfile::tempdir().unwrap();
    let v2 = fixture(dir.path(), "v2.toml", 2);
    let proxy = FaultProxy::in_front_of_sandbox();
    // Hold region 2's execution long enough to kill the process while it waits.
    proxy.add(
        Rule::new(Fault::Delay(std::time::Duration::from_secs(30)))
            .region("us-west-2")
            .action("ExecuteChangeSet")
            .times(1),
    );
    let mut cmd = cli::command_at(&proxy.url());
    cmd.args([
        "--output",
        "json",
        "deploy",
        v2.to_str().unwrap(),
        "--yes",
        "--bake",
        "0s",
    ])
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
    while proxy.count(Some("us-west-2"), None, Some("ExecuteChangeSet")) == 0 {
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(
            child.try_wait().unwrap().is_none(),
            "the deploy ended before region 2"
        );
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    proxy.clear_rules();

    let rerun = deploy(&proxy, &v2, &[]);
    rerun.expect_code(0);
    assert!(no_change(&proxy, &v2), "the rerun did not converge");
    proxy.clear_calls();
    deploy(&proxy, &v2, &[]).expect_code(0);
    assert!(
        proxy.mutating_calls().is_empty(),
        "{:?}",
        proxy.mutating_calls()
    );
}

#[test]
fn rollback_on_demand_brings_back_the_previous_version() {
    let _moto = sandbox::exclusive();
    let dir = tempfile::tempdir().unwrap();
    let proxy = FaultProxy::in_front_of_sandbox();
    let (v2, v3) = deployed_v2(&proxy, dir.path());
    deploy(&proxy, &v3, &[]).expect_code(0);
    let one = strata(
        &proxy,
        &[
            "rollback",
            v3.to_str().unwrap(),
            "--region",
            "us-west-2",
            "--yes",
        ],
    );
    one.expect_code(0);
    assert_eq!(
        plan_actions(&proxy, &v2),
        [
            ("us-east-1".to_string(), "update".to_string()),
            ("us-west-2".to_string(), "no-change".to_string()),
            ("eu-west-1".to_string(), "update".to_string()),
        ]
    );
    strata(&proxy, &["rollback", v3.to_str().unwrap(), "--yes"]).expect_code(0);
    assert!(no_change(&proxy, &v2), "not every region is back on v2");
}

#[test]
fn deploy_without_yes_off_a_terminal_refuses_before_any_aws_call() {
    let run = cli::strata_at(
        cli::UNREACHABLE_ENDPOINT,
        &["deploy", "stacks/example.toml"],
    );
    run.expect_code(strata::exit_code::INVALID_INPUT);
    assert!(run.stderr.contains("--yes"), "{run:?}");
}

#[test]
fn destroy_removes_every_stack_and_a_second_destroy_finds_nothing() {
    let _moto = sandbox::exclusive();
    let dir = tempfile::tempdir().unwrap();
    let proxy = FaultProxy::in_front_of_sandbox();
    let (v2, _) = deployed_v2(&proxy, dir.path());
    proxy.clear_calls();
    let run = strata(&proxy, &["destroy", v2.to_str().unwrap(), "--yes"]);
    run.expect_code(0);
    let mut deleted: Vec<String> = proxy
        .calls()
        .into_iter()
        .filter(|c| c.key.action == "DeleteStack" && c.fault.is_none())
        .map(|c| c.key.region)
        .collect();
    // The last three release the deploy lock (one lock stack per region).
    deleted.truncate(deleted.len() - REGIONS.len());
    // Regions in reverse rollout order, then the zone (in us-east-1).
    assert_eq!(deleted.first().map(String::as_str), Some("eu-west-1"));
    assert_eq!(deleted.last().map(String::as_str), Some("us-east-1"));
    assert!(plan_actions(&proxy, &v2).iter().all(|(_, a)| a == "create"));
    // The managed zone went with its stack.
    let r53 = sdk::route53();
    let zones =
        sdk::block_on(async { r53.list_hosted_zones().send().await }).expect("list hosted zones");
    assert!(
        !zones
            .hosted_zones()
            .iter()
            .any(|z| z.name() == "example.com."),
        "the zone outlived its stack: {zones:?}"
    );
    let again = strata(&proxy, &["destroy", v2.to_str().unwrap(), "--yes"]);
    again.expect_code(0);
    assert!(summary(&again)["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["result"] == "absent"));
}
