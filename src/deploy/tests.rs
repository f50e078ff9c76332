//! Unit tests of the rollout's ordering and rollback decisions, against the fake.

use super::*;
use crate::events::Events;
use crate::fake::Fake;
use crate::plan::{Desired, DesiredStack, StackRole};
use crate::stack::OnFailure;
use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "ap-southeast-2"];

fn template(desired: u32) -> String {
    serde_json::json!({"Parameters": {"AmiId": {"Type": "String"}},
        "Resources": {"Asg": {"Type": "AWS::AutoScaling::AutoScalingGroup",
        "Properties": {"DesiredCapacity": desired.to_string()}}}})
    .to_string()
}

pub(super) fn desired(capacity: u32, with_build: bool) -> Desired {
    let stack = |r: &str| DesiredStack {
        region: r.into(),
        stack_name: format!("app-prod-{r}"),
        role: StackRole::Region,
        template_body: template(capacity),
        build_template_body: with_build.then(|| template(capacity + 100)),
        parameters: BTreeMap::from([("AmiId".to_string(), "ami-1".to_string())]),
        create_only: BTreeMap::new(),
    };
    Desired {
        zone: None,
        waves: REGIONS.iter().map(|r| vec![stack(r)]).collect(),
        global: Some(DesiredStack {
            region: "us-east-1".into(),
            stack_name: "app-prod-global".into(),
            role: StackRole::Global,
            template_body: template(0),
            build_template_body: None,
            parameters: BTreeMap::new(),
            create_only: BTreeMap::new(),
        }),
        version: format!("ami-1-{capacity}"),
        absent: Vec::new(),
        awaiting_zone: vec![],
        zone_stack: None,
    }
}

pub(super) fn settings(on_failure: OnFailure) -> Settings {
    Settings {
        deployment_id: "d1".into(),
        deployed_by: "tester".into(),
        outside_window: None,
        deployed_at: "2026-11-25T00:00:00Z".into(),
        on_failure,
        timing: Timing {
            first_poll: Duration::from_millis(1),
            max_poll: Duration::from_millis(2),
            heartbeat: Duration::from_secs(30),
            stack_timeout: Duration::from_secs(5),
            gate_timeout: Duration::from_millis(10),
            bake: Duration::from_millis(3),
            replica_timeout: Duration::from_secs(5),
        },
        stop: Arc::new(AtomicBool::new(false)),
        allow_replace: vec![],
        account: None,
        canary: None,
    }
}

async fn run(fake: &Fake, d: &Desired, on_failure: OnFailure) -> Report {
    deploy(fake, &Events::discard(), d, &settings(on_failure), |_| true)
        .await
        .expect("deploy runs")
}

fn capacity_of(fake: &Fake, region: &str) -> String {
    capacity(
        &fake
            .stack(region, &format!("app-prod-{region}"))
            .unwrap()
            .template,
    )
}

/// The desired capacity a template of `template(n)` declares.
fn capacity(template: &str) -> String {
    let t: serde_json::Value = serde_json::from_str(template).unwrap();
    t["Resources"]["Asg"]["Properties"]["DesiredCapacity"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn cold_deploy_goes_region_by_region_then_global_and_a_rerun_makes_no_mutating_call() {
    let fake = Fake::default();
    let report = run(&fake, &desired(2, false), OnFailure::RollbackRegion).await;
    assert_eq!(report.outcome, Outcome::Deployed);
    assert_eq!(
        fake.executed(),
        ["us-east-1", "eu-west-1", "ap-southeast-2", "us-east-1"]
    );
    assert!(report
        .stacks
        .iter()
        .all(|s| s.result == StackResult::Created));
    assert!(fake.stack("us-east-1", "app-prod-global").is_some());

    let before = fake.mutating().len();
    let again = run(&fake, &desired(2, false), OnFailure::RollbackRegion).await;
    assert_eq!(again.outcome, Outcome::NoChange);
    assert_eq!(
        fake.mutating().len(),
        before,
        "a no-change deploy made a mutating call"
    );
}

#[tokio::test]
async fn first_build_uses_build_templates_then_wires_each_region() {
    let fake = Fake::default();
    let report = run(&fake, &desired(2, true), OnFailure::RollbackRegion).await;
    assert_eq!(report.outcome, Outcome::Deployed);
    // three builds, three wirings, then the global stack.
    assert_eq!(
        fake.executed(),
        [
            "us-east-1",
            "eu-west-1",
            "ap-southeast-2",
            "us-east-1",
            "eu-west-1",
            "ap-southeast-2",
            "us-east-1"
        ]
    );
    for r in REGIONS {
        assert_eq!(capacity_of(&fake, r), "2");
    }
}

#[tokio::test]
async fn each_wiring_change_set_is_made_while_the_group_before_it_runs() {
    let fake = Fake::default();
    let report = run(&fake, &desired(2, true), OnFailure::RollbackRegion).await;
    assert_eq!(report.outcome, Outcome::Deployed);
    let (calls, created) = fake.with(|s| (s.calls.clone(), s.created_change_sets.clone()));
    // (this region's wiring, the region whose step runs before it)
    for (region, before) in [
        ("us-east-1", "ap-southeast-2"),
        ("eu-west-1", "us-east-1"),
        ("ap-southeast-2", "eu-west-1"),
    ] {
        let name = crate::plan::change_set_name("d1", &format!("app-prod-{region}"), "-wire");
        let made = created.iter().find(|(_, n)| *n == name).expect("wired").0;
        let executed = calls
            .iter()
            .enumerate()
            .filter(|(_, c)| *c == &format!("{region} ExecuteChangeSet"))
            .map(|(i, _)| i)
            .find(|i| *i > made)
            .expect("wiring executed");
        assert!(
            calls[made..executed]
                .iter()
                .any(|c| c.starts_with(&format!("{before} "))),
            "{region}'s wiring change set is made while {before}'s step runs: {:?}",
            &calls[made..executed]
        );
    }
    // Executed one region after another all the same, each after the one before.
    assert_eq!(
        fake.executed()[3..6],
        ["us-east-1", "eu-west-1", "ap-southeast-2"]
    );
}

#[tokio::test]
async fn a_failed_wiring_deletes_the_next_groups_change_set_made_ahead() {
    let fake = Fake::default();
    fake.with(|s| s.fail_update_execute.insert("us-east-1".into()));
    let report = run(&fake, &desired(2, true), OnFailure::RollbackRegion).await;
    assert_ne!(report.outcome, Outcome::Deployed);
    let eu_wire = crate::plan::change_set_name("d1", "app-prod-eu-west-1", "-wire");
    assert!(
        fake.with(|s| s.created_change_sets.iter().any(|(_, n)| *n == eu_wire)),
        "eu-west-1's wiring was planned while us-east-1's ran"
    );
    let left: Vec<_> = fake
        .change_set_names()
        .into_iter()
        .filter(|(_, _, n)| n.ends_with("-wire"))
        .collect();
    assert!(
        !left.iter().any(|(_, _, n)| *n == eu_wire),
        "the change set made ahead is deleted: {left:?}"
    );
    assert_eq!(
        fake.executed().iter().filter(|r| *r == "eu-west-1").count(),
        1
    );
}

#[tokio::test]
async fn adding_a_region_builds_only_it_then_wires_all_and_never_unwires_a_running_one() {
    let fake = Fake::default();
    let mut two = desired(2, true);
    two.waves.pop();
    run(&fake, &two, OnFailure::RollbackRegion).await;
    let before = fake.executed().len();

    let report = run(&fake, &desired(3, true), OnFailure::RollbackRegion).await;
    assert_eq!(report.outcome, Outcome::Deployed);
    // The new region is built; the running ones keep their template (their
    // records and replication stay) until the wiring pass, then all are wired.
    assert_eq!(
        fake.executed()[before..],
        ["ap-southeast-2", "us-east-1", "eu-west-1", "ap-southeast-2"]
    );
    for r in REGIONS {
        assert_eq!(capacity_of(&fake, r), "3");
    }
}

/// The stacks of `d` in reverse rollout order, as `strata rollback` takes them.
fn rollback_order(d: &Desired) -> Vec<DesiredStack> {
    d.waves.iter().flatten().rev().cloned().collect()
}

async fn roll_back(fake: &Fake, d: &Desired) -> Report {
    let timing = settings(OnFailure::RollbackRegion).timing;
    rollback(fake, &Events::discard(), &rollback_order(d), &timing)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_cold_deploy_keeps_no_previous_version_so_rollback_finds_nothing_to_undo() {
    let fake = Fake::default();
    let cold = with_records(desired(2, true));
    run(&fake, &cold, OnFailure::RollbackRegion).await;
    // The wiring pass updated every region (build template, then wired): what the
    // first pass left is not a version to go back to.
    for r in REGIONS {
        assert_eq!(fake.kept(r, &format!("app-prod-{r}")), None, "{r}");
    }
    let report = roll_back(&fake, &cold).await;
    assert!(report
        .stacks
        .iter()
        .all(|s| s.result == StackResult::NothingToRollBack));
    for r in REGIONS {
        assert_eq!(capacity_of(&fake, r), "2", "{r} was changed by rollback");
    }
}

#[tokio::test]
async fn adding_a_region_keeps_what_the_running_regions_ran_before_the_deploy() {
    let fake = Fake::default();
    let mut two = with_records(desired(2, true));
    two.waves.pop();
    run(&fake, &two, OnFailure::RollbackRegion).await;
    let before = fake.stack("us-east-1", "app-prod-us-east-1").unwrap();
    let three = with_records(desired(3, true));
    run(&fake, &three, OnFailure::RollbackRegion).await;
    for r in ["us-east-1", "eu-west-1"] {
        let (template, tags) = fake.kept(r, &format!("app-prod-{r}")).expect(r);
        assert_eq!(capacity(&template), "2", "{r}");
        assert_eq!(tags.get(TAG_VERSION), before.tags.get(TAG_VERSION), "{r}");
    }
    assert_eq!(fake.kept("ap-southeast-2", "app-prod-ap-southeast-2"), None);

    let report = roll_back(&fake, &three).await;
    assert_eq!(report.outcome, Outcome::RolledBack);
    assert_eq!(capacity_of(&fake, "us-east-1"), "2");
    assert_eq!(capacity_of(&fake, "eu-west-1"), "2");
    // The region this deploy built has nothing to go back to: left as it is.
    assert_eq!(capacity_of(&fake, "ap-southeast-2"), "3");
}

#[tokio::test]
async fn a_regions_previous_version_is_recorded_while_the_next_region_rolls_out() {
    let fake = Fake::default();
    run(&fake, &desired(2, false), OnFailure::RollbackRegion).await;
    let from = fake.with(|s| s.calls.len());
    run(&fake, &desired(3, false), OnFailure::RollbackRegion).await;
    let calls = fake.with(|s| s.calls[from..].to_vec());
    let last = |call: &str| calls.iter().rposition(|c| c == call).unwrap();
    // us-east-1's record (its last change set made) after eu-west-1's execute began.
    assert!(
        last("us-east-1 CreateChangeSet") > last("eu-west-1 ExecuteChangeSet"),
        "{calls:#?}"
    );
    for r in REGIONS {
        let (template, _) = fake.kept(r, &format!("app-prod-{r}")).expect(r);
        assert_eq!(capacity(&template), "2", "{r}");
    }
}

#[tokio::test]
async fn gate_failure_in_region_two_puts_it_back_and_leaves_region_three_untouched() {
    let fake = Fake::default();
    run(&fake, &desired(2, false), OnFailure::RollbackRegion).await;
    fake.with(|s| s.unhealthy.insert("eu-west-1".into()));
    let report = run(&fake, &desired(3, false), OnFailure::RollbackRegion).await;
    assert_eq!(report.outcome, Outcome::RolledBack);
    assert_eq!(
        report.exit_code(),
        crate::exit_code::DEPLOY_FAILED_ROLLED_BACK
    );
    assert_eq!(capacity_of(&fake, "us-east-1"), "3");
    assert_eq!(capacity_of(&fake, "eu-west-1"), "2");
    assert_eq!(capacity_of(&fake, "ap-southeast-2"), "2");
    let ap = fake
        .mutating()
        .into_iter()
        .filter(|c| c.starts_with("ap-southeast-2 ExecuteChangeSet"))
        .count();
    assert_eq!(ap, 1, "region three was executed by the failed deploy");
    let by_region: BTreeMap<_, _> = report
        .stacks
        .iter()
        .filter(|s| s.role == StackRole::Region)
        .map(|s| (s.region.as_str(), s.result))
        .collect();
    assert_eq!(by_region["us-east-1"], StackResult::Updated);
    assert_eq!(by_region["eu-west-1"], StackResult::RolledBack);
    assert_eq!(by_region["ap-southeast-2"], StackResult::NotStarted);
    assert_eq!(
        fake.stack("eu-west-1", "app-prod-eu-west-1").unwrap().tags["strata:version"],
        "ami-1-2"
    );
}

#[tokio::test]
async fn rollback_all_also_puts_the_regions_done_back() {
    let fake = Fake::default();
    run(&fake, &desired(2, false), OnFailure::RollbackRegion).await;
    fake.with(|s| s.alarm.insert("eu-west-1".into()));
    let report = run(&fake, &desired(3, false), OnFailure::RollbackAll).await;
    assert_eq!(report.outcome, Outcome::RolledBack);
    for r in REGIONS {
        assert_eq!(capacity_of(&fake, r), "2", "{r}");
    }
}

#[tokio::test]
async fn failed_execution_waits_for_cloudformation_and_a_failed_creation_is_removed() {
    let fake = Fake::default();
    run(&fake, &desired(2, false), OnFailure::RollbackRegion).await;
    fake.with(|s| s.fail_execute.insert("eu-west-1".into()));
    let report = run(&fake, &desired(3, false), OnFailure::RollbackRegion).await;
    assert_eq!(report.outcome, Outcome::RolledBack);
    assert_eq!(capacity_of(&fake, "eu-west-1"), "2");
    // CloudFormation rolled back itself: no UpdateStack needed.
    assert!(!fake.mutating().iter().any(|c| c == "eu-west-1 UpdateStack"));

    let cold = Fake::default();
    cold.with(|s| s.fail_execute.insert("eu-west-1".into()));
    let report = run(&cold, &desired(2, false), OnFailure::RollbackRegion).await;
    assert_eq!(report.outcome, Outcome::RolledBack);
    assert!(cold.stack("eu-west-1", "app-prod-eu-west-1").is_none());
    assert!(cold.stack("us-east-1", "app-prod-us-east-1").is_some());
    assert!(cold
        .stack("ap-southeast-2", "app-prod-ap-southeast-2")
        .is_none());
}

#[tokio::test]
async fn a_stack_left_in_update_rollback_failed_needs_a_human() {
    let fake = Fake::default();
    run(&fake, &desired(2, false), OnFailure::RollbackRegion).await;
    fake.with(|s| {
        s.stacks
            .get_mut(&("eu-west-1".into(), "app-prod-eu-west-1".into()))
            .unwrap()
            .status = "UPDATE_ROLLBACK_FAILED".into()
    });
    let err = deploy(
        &fake,
        &Events::discard(),
        &desired(3, false),
        &settings(OnFailure::RollbackRegion),
        |_| true,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, DeployError::Stuck { .. }));
    assert!(err.to_string().contains("runbooks/stuck-stack.md"));
}

#[tokio::test]
async fn rollback_on_demand_executes_the_kept_previous_version() {
    let fake = Fake::default();
    run(&fake, &desired(2, false), OnFailure::RollbackRegion).await;
    run(&fake, &desired(3, false), OnFailure::RollbackRegion).await;
    let stacks: Vec<DesiredStack> = desired(3, false)
        .waves
        .into_iter()
        .flatten()
        .rev()
        .collect();
    let report = rollback(
        &fake,
        &Events::discard(),
        &stacks,
        &settings(OnFailure::RollbackRegion).timing,
    )
    .await
    .unwrap();
    assert_eq!(report.outcome, Outcome::RolledBack);
    for r in REGIONS {
        assert_eq!(capacity_of(&fake, r), "2");
        assert!(fake.with(|s| s
            .calls
            .iter()
            .any(|c| c == &format!("{r} ExecuteChangeSet"))));
    }
    // The kept version was used up.
    let again = rollback(
        &fake,
        &Events::discard(),
        &stacks,
        &settings(OnFailure::RollbackRegion).timing,
    )
    .await
    .unwrap();
    assert!(again
        .stacks
        .iter()
        .all(|s| s.result == StackResult::NothingToRollBack));
}

#[tokio::test]
async fn a_declined_plan_leaves_nothing_behind() {
    let fake = Fake::default();
    let report = deploy(
        &fake,
        &Events::discard(),
        &desired(2, false),
        &settings(OnFailure::RollbackRegion),
        |_| false,
    )
    .await
    .unwrap();
    assert_eq!(report.outcome, Outcome::Declined);
    assert!(fake.with(|s| s.stacks.is_empty()));
    assert!(fake.executed().is_empty());
}

#[tokio::test]
async fn a_stop_request_ends_the_rollout_before_the_next_stack_with_nothing_half_done() {
    let fake = Fake::default();
    run(&fake, &desired(2, false), OnFailure::RollbackRegion).await;
    let s = settings(OnFailure::RollbackRegion);
    s.stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let before = fake.executed().len();
    let report = deploy(&fake, &Events::discard(), &desired(3, false), &s, |_| true)
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::Interrupted);
    assert_eq!(report.exit_code(), crate::exit_code::INTERRUPTED);
    assert_eq!(
        fake.executed().len(),
        before,
        "a stack was changed after the stop"
    );
    for r in REGIONS {
        assert_eq!(capacity_of(&fake, r), "2");
    }
}

/// Every region template with a DNS record, as a wired region has.
pub(super) fn with_records(mut d: Desired) -> Desired {
    for s in d.waves.iter_mut().flatten() {
        let mut t: serde_json::Value = serde_json::from_str(&s.template_body).unwrap();
        t["Resources"]["Record"] = serde_json::json!({"Type": "AWS::Route53::RecordSet",
            "Properties": {"Name": "api.example.com."}});
        s.template_body = t.to_string();
    }
    d
}

/// The definition without its last region (ap-southeast-2), which it must remove.
pub(super) fn without_last_region(capacity: u32) -> Desired {
    let mut d = with_records(desired(capacity, false));
    d.waves.pop();
    d.absent = vec![crate::plan::AbsentStack {
        region: "ap-southeast-2".into(),
        stack_name: "app-prod-ap-southeast-2".into(),
    }];
    d
}

/// The result of the region's stack (its region stack, not the global one).
fn result_of(report: &Report, region: &str) -> StackResult {
    report
        .stacks
        .iter()
        .find(|s| s.region == region && s.role == StackRole::Region)
        .unwrap_or_else(|| panic!("no {region} in the report"))
        .result
}

fn has_record(fake: &Fake, region: &str) -> bool {
    let stack = fake
        .stack(region, &format!("app-prod-{region}"))
        .expect("the stack exists");
    let t: serde_json::Value = serde_json::from_str(&stack.template).unwrap();
    t["Resources"].get("Record").is_some()
}

#[tokio::test]
async fn a_region_that_left_the_definition_goes_out_of_dns_first_and_is_deleted_last() {
    let fake = Fake::default();
    run(
        &fake,
        &with_records(desired(2, false)),
        OnFailure::RollbackRegion,
    )
    .await;
    let before = fake.with(|s| s.calls.len());

    let report = run(&fake, &without_last_region(3), OnFailure::RollbackRegion).await;
    assert_eq!(report.outcome, Outcome::Deployed);
    let calls: Vec<String> = fake.with(|s| s.calls[before..].to_vec());
    let mutating: Vec<&String> = calls
        .iter()
        .filter(|c| c.ends_with("ExecuteChangeSet") || c.ends_with("DeleteStack"))
        .collect();
    // Out of DNS before any other region changes; the two regions (the global
    // stack has nothing to change); then the leaving region's stack is deleted.
    assert_eq!(
        mutating,
        [
            "ap-southeast-2 ExecuteChangeSet",
            "us-east-1 ExecuteChangeSet",
            "eu-west-1 ExecuteChangeSet",
            "ap-southeast-2 DeleteStack",
        ]
    );
    assert!(fake
        .stack("ap-southeast-2", "app-prod-ap-southeast-2")
        .is_none());
    assert_eq!(result_of(&report, "ap-southeast-2"), StackResult::Retired);
    assert_eq!(result_of(&report, "eu-west-1"), StackResult::Updated);

    let again = run(&fake, &without_last_region(3), OnFailure::RollbackRegion).await;
    assert_eq!(again.outcome, Outcome::NoChange);
}

#[tokio::test]
async fn a_failed_rollout_with_rollback_all_puts_the_leaving_region_back_in_dns() {
    let fake = Fake::default();
    run(
        &fake,
        &with_records(desired(2, false)),
        OnFailure::RollbackRegion,
    )
    .await;
    fake.with(|s| s.unhealthy.insert("eu-west-1".into()));

    let report = run(&fake, &without_last_region(3), OnFailure::RollbackAll).await;
    assert_eq!(report.outcome, Outcome::RolledBack);
    assert!(has_record(&fake, "ap-southeast-2"), "not back in DNS");
    assert_eq!(
        result_of(&report, "ap-southeast-2"),
        StackResult::RolledBack
    );
    assert_eq!(capacity_of(&fake, "us-east-1"), "2");
}

#[tokio::test]
async fn a_failed_rollout_leaves_the_leaving_region_out_of_dns_and_a_rerun_finishes() {
    let fake = Fake::default();
    run(
        &fake,
        &with_records(desired(2, false)),
        OnFailure::RollbackRegion,
    )
    .await;
    fake.with(|s| s.unhealthy.insert("eu-west-1".into()));
    let report = run(&fake, &without_last_region(3), OnFailure::RollbackRegion).await;
    assert_eq!(report.outcome, Outcome::RolledBack);
    assert!(!has_record(&fake, "ap-southeast-2"), "back in DNS");
    assert_eq!(
        result_of(&report, "ap-southeast-2"),
        StackResult::OutOfService
    );

    fake.with(|s| s.unhealthy.clear());
    let report = run(&fake, &without_last_region(3), OnFailure::RollbackRegion).await;
    assert_eq!(report.outcome, Outcome::Deployed);
    assert!(fake
        .stack("ap-southeast-2", "app-prod-ap-southeast-2")
        .is_none());
}

/// us-east-1 alone, then eu-west-1 and ap-southeast-2 as one wave.
fn in_two_waves(capacity: u32) -> Desired {
    let mut d = desired(capacity, false);
    let third = d.waves.pop().unwrap();
    d.waves[1].extend(third);
    d
}

fn position(fake: &Fake, call: &str) -> usize {
    fake.with(|s| s.calls.iter().position(|c| c == call))
        .unwrap_or_else(|| panic!("no call {call}"))
}

#[tokio::test]
async fn the_regions_of_a_wave_roll_out_at_the_same_time() {
    let fake = Fake::default();
    run(&fake, &in_two_waves(2), OnFailure::RollbackRegion).await;
    fake.with(|s| s.calls.clear());
    let report = run(&fake, &in_two_waves(3), OnFailure::RollbackRegion).await;
    assert_eq!(report.outcome, Outcome::Deployed);
    // Both regions of the second wave are executed before either is gated, and
    // only after the first wave was gated.
    let first_gated = position(&fake, "us-east-1 DescribeAutoScalingGroups");
    let eu = position(&fake, "eu-west-1 ExecuteChangeSet");
    let ap = position(&fake, "ap-southeast-2 ExecuteChangeSet");
    let eu_gated = position(&fake, "eu-west-1 DescribeAutoScalingGroups");
    let ap_gated = position(&fake, "ap-southeast-2 DescribeAutoScalingGroups");
    assert!(first_gated < eu.min(ap));
    assert!(eu.max(ap) < eu_gated.min(ap_gated));
    for r in REGIONS {
        assert_eq!(capacity_of(&fake, r), "3");
    }
}

#[tokio::test]
async fn a_region_failing_in_a_wave_is_put_back_and_its_wave_mate_keeps_the_new_version() {
    let fake = Fake::default();
    run(&fake, &in_two_waves(2), OnFailure::RollbackRegion).await;
    fake.with(|s| s.unhealthy.insert("eu-west-1".into()));
    let report = run(&fake, &in_two_waves(3), OnFailure::RollbackRegion).await;
    assert_eq!(report.outcome, Outcome::RolledBack);
    assert_eq!(capacity_of(&fake, "us-east-1"), "3");
    assert_eq!(capacity_of(&fake, "eu-west-1"), "2");
    assert_eq!(capacity_of(&fake, "ap-southeast-2"), "3");
    assert_eq!(result_of(&report, "eu-west-1"), StackResult::RolledBack);
    assert_eq!(result_of(&report, "ap-southeast-2"), StackResult::Updated);
    assert!(fake.stack("us-east-1", "app-prod-global").is_some());

    fake.with(|s| s.unhealthy.clear());
    let again = run(&fake, &in_two_waves(2), OnFailure::RollbackRegion).await;
    assert_eq!(again.outcome, Outcome::Deployed);
    fake.with(|s| s.unhealthy.insert("ap-southeast-2".into()));
    let all = run(&fake, &in_two_waves(3), OnFailure::RollbackAll).await;
    assert_eq!(all.outcome, Outcome::RolledBack);
    for r in REGIONS {
        assert_eq!(capacity_of(&fake, r), "2", "{r}");
    }
}

/// `in_two_waves(2)` from nothing, each region with a build template (capacity 102).
fn built_in_two_waves() -> Desired {
    let mut d = in_two_waves(2);
    for s in d.waves.iter_mut().flatten() {
        s.build_template_body = Some(template(102));
    }
    d
}

/// Where the `n`th (from 0) `call` is in the fake's log.
fn nth_position(fake: &Fake, call: &str, n: usize) -> usize {
    fake.with(|s| {
        s.calls
            .iter()
            .enumerate()
            .filter(|(_, c)| *c == call)
            .nth(n)
            .map(|(i, _)| i)
    })
    .unwrap_or_else(|| panic!("no call {call} #{n}"))
}

#[tokio::test]
async fn the_wiring_pass_wires_the_regions_of_a_wave_at_the_same_time_and_waves_in_order() {
    let fake = Fake::default();
    let d = built_in_two_waves();
    let report = run(&fake, &d, OnFailure::RollbackRegion).await;
    assert_eq!(report.outcome, Outcome::Deployed);
    // Each region executes twice: its build template, then the wiring.
    let wired = |r: &str| nth_position(&fake, &format!("{r} ExecuteChangeSet"), 1);
    let gates = |r: &str| {
        fake.with(|s| {
            s.calls
                .iter()
                .rposition(|c| *c == format!("{r} DescribeAutoScalingGroups"))
        })
        .unwrap()
    };
    // The first wave is wired and gated before the second wave's wiring starts;
    // both regions of the second wave are wired before either is gated.
    assert!(gates("us-east-1") < wired("eu-west-1").min(wired("ap-southeast-2")));
    assert!(
        wired("eu-west-1").max(wired("ap-southeast-2"))
            < gates("eu-west-1").min(gates("ap-southeast-2"))
    );
    for r in REGIONS {
        assert_eq!(capacity_of(&fake, r), "2");
    }
}

#[tokio::test]
async fn a_region_failing_its_wiring_in_a_wave_is_put_back_and_its_wave_mate_stays_wired() {
    let fake = Fake::default();
    let d = built_in_two_waves();
    // The build succeeds everywhere; the wiring's update fails in eu-west-1.
    fake.with(|s| s.fail_update_execute.insert("eu-west-1".into()));
    let report = run(&fake, &d, OnFailure::RollbackRegion).await;
    assert_eq!(report.outcome, Outcome::RolledBack);
    assert_eq!(capacity_of(&fake, "us-east-1"), "2");
    assert_eq!(capacity_of(&fake, "eu-west-1"), "102");
    assert_eq!(capacity_of(&fake, "ap-southeast-2"), "2");
    assert_eq!(result_of(&report, "eu-west-1"), StackResult::RolledBack);
    assert!(fake.stack("us-east-1", "app-prod-global").is_none());
}

/// `d` with the global table declared in the first region of the rollout.
fn with_global_table_home(mut d: Desired) -> Desired {
    let first = &mut d.waves[0][0];
    let mut t: serde_json::Value = serde_json::from_str(&first.template_body).unwrap();
    t["Resources"]["Orders"] = serde_json::json!({"Type": "AWS::DynamoDB::GlobalTable",
        "Properties": {"TableName": "orders"}});
    first.template_body = t.to_string();
    d
}

#[tokio::test]
async fn a_new_first_region_that_would_move_the_global_table_is_refused_before_any_change() {
    let fake = Fake::default();
    run(
        &fake,
        &with_global_table_home(desired(2, false)),
        OnFailure::RollbackRegion,
    )
    .await;
    let before = fake.mutating().len();
    let mut reordered = desired(2, false);
    reordered.waves.reverse();
    let reordered = with_global_table_home(reordered);
    let err = deploy(
        &fake,
        &Events::discard(),
        &reordered,
        &settings(OnFailure::RollbackRegion),
        |_| true,
    )
    .await
    .expect_err("the move is refused");
    assert!(matches!(err, DeployError::HomeMove(_)), "{err}");
    assert!(err.to_string().contains("keep us-east-1 first"), "{err}");
    assert_eq!(fake.mutating().len(), before, "something changed");
}

/// Deploy v3 over v2 with region two in the given bad state: region two fails its
/// gate, is put back on v2, region three is not started.
async fn region_two_fails_its_gate_when(bad: impl Fn(&mut crate::fake::State)) -> Report {
    let fake = Fake::default();
    run(&fake, &desired(2, false), OnFailure::RollbackRegion).await;
    fake.with(|s| bad(s));
    let report = run(&fake, &desired(3, false), OnFailure::RollbackRegion).await;
    assert_eq!(report.outcome, Outcome::RolledBack);
    assert_eq!(capacity_of(&fake, "us-east-1"), "3");
    assert_eq!(capacity_of(&fake, "eu-west-1"), "2");
    assert_eq!(capacity_of(&fake, "ap-southeast-2"), "2");
    report
}

fn region_two_failure(report: &Report) -> String {
    let why = report.error.clone().unwrap_or_default();
    assert!(why.contains("health gate of app-prod-eu-west-1"), "{why}");
    why
}

#[tokio::test]
async fn an_instance_on_an_older_launch_template_version_fails_the_gate() {
    let report = region_two_fails_its_gate_when(|s| {
        s.stale_instance.insert("eu-west-1".into());
    })
    .await;
    let why = region_two_failure(&report);
    assert!(
        why.contains("not on the current launch-template version 2: i-1 (version 1)"),
        "{why}"
    );
}

#[tokio::test]
async fn a_region_whose_network_is_gone_fails_the_gate() {
    let report = region_two_fails_its_gate_when(|s| {
        s.lost_network.insert("eu-west-1".into());
    })
    .await;
    let why = region_two_failure(&report);
    assert!(
        why.contains("network: do not exist: Vpc-app-prod-eu-west-1"),
        "{why}"
    );
}

#[tokio::test]
async fn a_declared_vpc_the_stack_does_not_list_fails_the_gate() {
    let fake = Fake::default();
    run(&fake, &desired(2, false), OnFailure::RollbackRegion).await;
    let mut d = desired(3, false);
    for wave in &mut d.waves {
        for s in wave.iter_mut() {
            let mut t: serde_json::Value = serde_json::from_str(&s.template_body).unwrap();
            t["Resources"]["NetVpc"] = serde_json::json!({"Type": "AWS::EC2::VPC"});
            s.template_body = t.to_string();
        }
    }
    let report = run(&fake, &d, OnFailure::RollbackRegion).await;
    assert_eq!(report.outcome, Outcome::RolledBack);
    let first = report.error.clone().unwrap_or_default();
    assert!(
        first.contains("declared in the template but not in the stack: NetVpc (AWS::EC2::VPC)"),
        "{first}"
    );
    assert_eq!(capacity_of(&fake, "us-east-1"), "2");
}

#[tokio::test]
async fn an_endpoint_that_stops_answering_in_a_gate_ends_unreachable_and_puts_nothing_back() {
    let fake = Fake::default();
    run(&fake, &desired(2, false), OnFailure::RollbackAll).await;
    fake.with(|s| s.unreachable.insert("eu-west-1".into()));
    let started = std::time::Instant::now();
    let report = run(&fake, &desired(3, false), OnFailure::RollbackAll).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "waited for the gate timeout"
    );
    assert_eq!(report.outcome, Outcome::Unreachable);
    assert_eq!(report.exit_code(), crate::exit_code::ENVIRONMENT);
    let by_region: BTreeMap<_, _> = report
        .stacks
        .iter()
        .filter(|s| s.role == StackRole::Region)
        .map(|s| (s.region.as_str(), s.result))
        .collect();
    assert_eq!(by_region["us-east-1"], StackResult::Updated);
    assert_eq!(by_region["eu-west-1"], StackResult::Unverified);
    assert_eq!(by_region["ap-southeast-2"], StackResult::NotStarted);
    assert!(
        !fake.mutating().iter().any(|c| c.contains("UpdateStack")),
        "something was put back: {:?}",
        fake.mutating()
    );
    assert!(report.error.unwrap_or_default().contains("eu-west-1"));
}

fn with_canary(on_failure: OnFailure) -> Settings {
    Settings {
        canary: Some(super::canary::CanaryCheck {
            rule: crate::stack::model::Canary {
                max_5xx_increase: 1.0,
                max_p99_increase_ms: 100.0,
                min_requests: 100,
            },
            peers: REGIONS
                .iter()
                .map(|r| (r.to_string(), format!("app-prod-{r}")))
                .collect(),
        }),
        ..settings(on_failure)
    }
}

/// Deploy with the canary on, keeping every event.
async fn run_with_canary(fake: &Fake, d: &Desired) -> (Report, Arc<crate::events::Collect>) {
    let sink = Arc::new(crate::events::Collect::default());
    let events = Events::new(sink.clone());
    let settings = with_canary(OnFailure::RollbackRegion);
    let report = deploy(fake, &events, d, &settings, |_| true)
        .await
        .expect("deploy runs");
    (report, sink)
}

fn traffic(requests: f64, errors_5xx: f64) -> super::cloud::Traffic {
    super::cloud::Traffic {
        requests,
        errors_5xx,
        p99_ms: Some(50.0),
    }
}

#[tokio::test]
async fn a_canary_worse_than_the_regions_on_the_old_version_is_rolled_back() {
    let fake = Fake::default();
    run(&fake, &desired(2, false), OnFailure::RollbackRegion).await;
    fake.with(|s| {
        s.traffic.insert("us-east-1".into(), traffic(1000.0, 80.0));
        s.traffic.insert("eu-west-1".into(), traffic(1000.0, 1.0));
        s.traffic
            .insert("ap-southeast-2".into(), traffic(1000.0, 2.0));
    });
    let (report, sink) = run_with_canary(&fake, &desired(3, false)).await;
    assert_eq!(report.outcome, Outcome::RolledBack);
    assert_eq!(result_of(&report, "us-east-1"), StackResult::RolledBack);
    assert_eq!(result_of(&report, "eu-west-1"), StackResult::NotStarted);
    for r in REGIONS {
        assert_eq!(capacity_of(&fake, r), "2", "{r}");
    }
    let verdict = sink
        .0
        .lock()
        .unwrap()
        .iter()
        .find_map(|e| match &e.kind {
            crate::events::EventKind::Health { signal, ok, detail } if signal == "canary" => {
                Some((*ok, detail.clone()))
            }
            _ => None,
        })
        .expect("a canary event");
    assert!(!verdict.0, "{verdict:?}");
    assert!(
        verdict.1.contains(
            "5xx rate 8.00% against 0.15% on the old version (eu-west-1, ap-southeast-2)"
        ),
        "{verdict:?}"
    );
}

#[tokio::test]
async fn a_canary_as_good_as_the_old_version_goes_on_and_the_last_region_has_none_to_compare() {
    let fake = Fake::default();
    run(&fake, &desired(2, false), OnFailure::RollbackRegion).await;
    fake.with(|s| {
        for r in REGIONS {
            s.traffic.insert(r.into(), traffic(1000.0, 3.0));
        }
    });
    let (report, sink) = run_with_canary(&fake, &desired(3, false)).await;
    assert_eq!(report.outcome, Outcome::Deployed, "{report:?}");
    let seen = sink.0.lock().unwrap();
    let passed: Vec<_> = seen
        .iter()
        .filter(|e| {
            matches!(&e.kind, crate::events::EventKind::Health { signal, ok: true, .. } if signal == "canary")
        })
        .filter_map(|e| e.region.clone())
        .collect();
    assert_eq!(passed, ["us-east-1", "eu-west-1"]);
    assert!(seen
        .iter()
        .any(|e| e.region.as_deref() == Some("ap-southeast-2")
            && matches!(&e.kind, crate::events::EventKind::Warning { message }
            if message.contains("canary skipped: no other region runs the old version"))));
}
