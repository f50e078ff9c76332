//! End-to-end tests of `strata dr` against the sandbox: failover with every call
//! to the failed region failing (fault proxy), and the drill (deploy, break,
//! failover, rebuild, verify) through the real binary.

mod support;

use serde_json::Value;
use strata::aws::dr_compute::asg_limits;
use strata::dr::failover::asg_name;
use support::cli::{strata_at, strata_sandbox};
use support::fault_proxy::{Fault, FaultProxy, Rule};
use support::{aws, dr_stack, sandbox, sdk};

const FAILED: &str = "us-west-2";
const SURVIVORS: [&str; 2] = ["us-east-1", "eu-west-1"];

fn last_json(run: &support::cli::Run) -> Value {
    run.json_lines()
        .pop()
        .unwrap_or_else(|| panic!("no JSON output\n{run}"))
}

fn deploy(file: &str) {
    strata_sandbox(&["deploy", file, "--yes", "--bake", "0s", "--output", "json"]).expect_code(0);
}

/// The regions the routed names answer with, per name.
fn answers(file: &str) -> Vec<(String, Vec<String>)> {
    let run = strata_sandbox(&["dr", "dns", file, "--output", "json"]);
    run.expect_code(0);
    let dns = last_json(&run);
    dns["names"]
        .as_array()
        .expect("names")
        .iter()
        .map(|n| {
            (
                n["name"].as_str().unwrap_or_default().to_string(),
                n["answers"]
                    .as_array()
                    .expect("answers")
                    .iter()
                    .map(|a| a.as_str().unwrap_or_default().to_string())
                    .collect(),
            )
        })
        .collect()
}

#[test]
fn failover_takes_the_region_out_without_calling_it_and_survivors_carry_peak() {
    let _moto = sandbox::exclusive();
    let dir = tempfile::tempdir().expect("tempdir");
    let stack = dr_stack::write(dir.path());
    let file = stack.to_str().expect("utf-8 path");
    deploy(file);
    let before = answers(file);
    assert!(
        before
            .iter()
            .all(|(_, a)| a.iter().any(|r| r == "us-east-1")),
        "{before:?}"
    );

    // The failed region answers nothing: every call to it fails.
    let proxy = FaultProxy::in_front_of_sandbox();
    proxy.add(
        Rule::new(Fault::error(
            503,
            "ServiceUnavailable",
            "the region is down",
        ))
        .region(FAILED),
    );
    let run = strata_at(
        &proxy.url(),
        &[
            "dr", "failover", file, "--region", FAILED, "--output", "json",
        ],
    );
    run.expect_code(0);
    assert_eq!(
        proxy.count(Some(FAILED), None, None),
        0,
        "failover called the failed region: {:?}",
        proxy.counts()
    );
    let report = last_json(&run);
    assert!(
        report["undo"][0]
            .as_str()
            .unwrap_or_default()
            .contains("strata dr rebuild"),
        "{report}"
    );

    // DNS: the failed region is in no answer; the survivors are.
    let after = answers(file);
    for (name, regions) in &after {
        assert!(
            !regions.iter().any(|r| r == FAILED),
            "{name} still answers with {FAILED}: {after:?}"
        );
        assert!(!regions.is_empty(), "{name} answers nothing: {after:?}");
    }
    // status shows what users are served: the failed region, healthy as it is in
    // the sandbox, is out of DNS (JSON and text).
    let status = strata_sandbox(&["status", file, "--output", "json"]);
    status.expect_code(0);
    let status: Value = serde_json::from_str(&status.stdout).expect("status JSON");
    let serving = &status["serving"];
    assert_eq!(
        serving["out_of_dns"],
        serde_json::json!([FAILED]),
        "{serving}"
    );
    for n in serving["names"].as_array().expect("names") {
        let answers = n["answers"].as_array().expect("answers");
        assert!(!answers.iter().any(|a| a == FAILED), "{n}");
        assert!(!answers.is_empty(), "{n}");
    }
    let text = strata_sandbox(&["status", file]);
    text.expect_code(0);
    assert!(
        text.stdout
            .lines()
            .any(|l| l.starts_with(FAILED) && l.contains("out of DNS")),
        "{text}"
    );

    // Capacity, read back from the Auto Scaling groups: the survivors carry peak.
    let client = sdk::block_on(aws::connect(&sandbox::endpoint()));
    let def = strata::stack::load(&stack).expect("valid test stack");
    for region in SURVIVORS {
        let limits = sdk::block_on(async {
            let asg = asg_name(&client, &def, region).await.expect("asg name");
            asg_limits(&client, region, &asg)
                .await
                .expect("asg")
                .expect("asg exists")
        });
        assert!(
            u64::from(limits.desired) >= dr_stack::PER_SURVIVOR
                && u64::from(limits.max) >= 2 * dr_stack::PER_SURVIVOR,
            "{region} cannot carry its share of peak: {limits:?}"
        );
    }

    // Idempotent: a second run changes nothing and still never calls the region.
    let again = strata_at(
        &proxy.url(),
        &[
            "dr", "failover", file, "--region", FAILED, "--output", "json",
        ],
    );
    again.expect_code(0);
    let again = last_json(&again);
    assert!(
        again["serving_checks"]
            .as_array()
            .expect("checks")
            .iter()
            .all(|c| c["changed"] == false),
        "{again}"
    );
    assert!(
        again["scaled"]
            .as_array()
            .expect("scaled")
            .iter()
            .all(|s| s["changed"] == false),
        "{again}"
    );
    assert_eq!(proxy.count(Some(FAILED), None, None), 0);
}

#[test]
fn drill_passes_for_the_example_stack() {
    let _moto = sandbox::exclusive();
    let dir = tempfile::tempdir().expect("tempdir");
    let stack = dr_stack::write(dir.path());
    let file = stack.to_str().expect("utf-8 path");
    let run = strata_sandbox(&[
        "dr", "drill", file, "--region", FAILED, "--bake", "0s", "--output", "json",
    ]);
    run.expect_code(0);
    let report = last_json(&run);
    let phases: Vec<&str> = report["phases"]
        .as_array()
        .expect("phases")
        .iter()
        .map(|p| p["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        phases,
        ["deploy", "break", "failover", "rebuild", "verify"],
        "{report}"
    );
    assert_eq!(report["rebuild"]["region"], FAILED);
    assert!(
        report["rebuild"]["deleted_stack"].as_str().is_some(),
        "the wrecked stack was not replaced: {report}"
    );
    // After the drill every region answers again.
    for (name, regions) in answers(file) {
        for r in ["us-east-1", FAILED, "eu-west-1"] {
            assert!(
                regions.iter().any(|a| a == r) || name.starts_with("failover."),
                "{name}: {regions:?}"
            );
        }
    }
    // The recovery-time figures, for the README.
    eprintln!(
        "drill RTO: time to failover {:.1}s, recovery {:.1}s; phases {}",
        report["time_to_failover_seconds"]
            .as_f64()
            .unwrap_or_default(),
        report["rto_seconds"].as_f64().unwrap_or_default(),
        report["phases"]
    );
}

#[test]
fn drill_refuses_a_real_account_unless_it_is_named() {
    let example = sandbox::repo_dir().join("stacks").join("example.toml");
    let run = support::cli::strata(&["dr", "drill", example.to_str().expect("utf-8 path")]);
    run.expect_code(strata::exit_code::REFUSED);
    assert!(run.stderr.contains("--account"), "{run}");
}

/// The stack's status in `region`, None when it does not exist.
fn stack_status(region: &str, name: &str) -> Option<String> {
    let cfn = sdk::cloudformation(region);
    let name = name.to_string();
    sdk::block_on(async move {
        let out = cfn.describe_stacks().stack_name(name).send().await.ok()?;
        let s = out.stacks().first()?.stack_status()?.as_str().to_string();
        Some(s).filter(|s| s != "DELETE_COMPLETE")
    })
}

/// `dr drill` and `dr rebuild` go through the same pipeline as `deploy`: a
/// mandatory policy violation refuses them before any AWS call (exit 3), and a
/// deploy lock held by another run refuses them before they change anything (exit 5).
#[test]
fn drill_and_rebuild_refuse_a_policy_violation_and_a_held_lock() {
    let _moto = sandbox::exclusive();
    let dir = tempfile::tempdir().expect("tempdir");
    let stack = dr_stack::write(dir.path());
    let file = stack.to_str().expect("utf-8 path");

    // Too small a max for N+1: the same violation `strata check` exits 3 for.
    let text = std::fs::read_to_string(&stack).expect("the test stack");
    let small = text.replace(
        "capacity = { min = 2, desired = 2, max = 4 }",
        "capacity = { min = 2, desired = 2, max = 2 }",
    );
    assert_ne!(small, text, "the example's capacity line changed");
    let bad = dir.path().join("small.toml");
    std::fs::write(&bad, small).expect("write");
    let bad = bad.to_str().expect("utf-8 path");
    let check = strata_sandbox(&["check", bad]);
    check.expect_code(strata::exit_code::POLICY_VIOLATION);
    for args in [
        vec!["dr", "drill", bad, "--region", FAILED, "--bake", "0s"],
        vec!["dr", "rebuild", bad, "--region", FAILED, "--bake", "0s"],
    ] {
        let run = strata_sandbox(&args);
        run.expect_code(strata::exit_code::POLICY_VIOLATION);
        assert!(
            run.stderr
                .contains("mandatory policy violations, nothing was changed"),
            "{run}"
        );
        for region in ["us-east-1", FAILED, "eu-west-1"] {
            assert_eq!(
                stack_status(region, &format!("shop-prod-{region}")),
                None,
                "{args:?} created a stack in {region}"
            );
            assert_eq!(stack_status(region, "shop-prod-lock"), None, "{args:?}");
        }
    }

    // Another run holds the lock: neither breaks nor rebuilds anything.
    deploy(file);
    let before = answers(file);
    let status = stack_status(FAILED, &format!("shop-prod-{FAILED}"));
    assert!(
        status.as_deref().is_some_and(|s| s.ends_with("_COMPLETE")),
        "{status:?}"
    );
    let endpoint = sandbox::endpoint();
    let regions = ["us-east-1", FAILED, "eu-west-1"];
    let held = sdk::block_on(async {
        let aws = aws::connect(&endpoint).await;
        let store = strata::aws::lock_stack::CfnLockStore::new(&aws, "shop-prod");
        strata::ops::lock::acquire(
            &store,
            &regions,
            strata::ops::lock::LockInfo::new("alice", "deploy"),
        )
        .await
        .expect("alice takes the lock")
    });
    for args in [
        vec!["dr", "drill", file, "--region", FAILED, "--bake", "0s"],
        vec!["dr", "rebuild", file, "--region", FAILED, "--bake", "0s"],
    ] {
        let run = strata_sandbox(&args);
        run.expect_code(strata::exit_code::LOCKED);
        assert!(run.stderr.contains("alice"), "{run}");
        assert!(run.stderr.contains("strata unlock"), "{run}");
    }
    assert_eq!(answers(file), before, "a refused DR command changed DNS");
    assert_eq!(stack_status(FAILED, &format!("shop-prod-{FAILED}")), status);
    sdk::block_on(async {
        let aws = aws::connect(&endpoint).await;
        let store = strata::aws::lock_stack::CfnLockStore::new(&aws, "shop-prod");
        assert!(strata::ops::lock::release(&store, &held).await.is_empty());
    });
}
