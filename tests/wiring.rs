//! End-to-end tests of the cross-region wiring (issue 6 item 2): after a deploy,
//! every region's bucket replicates to every other region's bucket and the origin
//! name has a latency record per region with its health check, read back through
//! S3 `GetBucketReplication` / `GetBucketVersioning` and Route 53
//! `ListResourceRecordSets`; adding a region to a deployed stack builds it, then
//! re-wires all regions; removing it again takes it out of DNS, re-wires the rest
//! and deletes its stack, leaving no record, rule, health check or stack behind.
//! Real binary against a fresh moto.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use strata::exit_code;
use strata::stack::StackDef;
use strata::synth::naming::bucket_name_in;
use support::sdk::ACCOUNT;
use support::{cli, sandbox, sdk, stacks};

const EXAMPLE: &str = "stacks/example.toml";

/// The region's bucket as S3 names it in the sandbox's account.
fn bucket_name(def: &StackDef, region: &str) -> String {
    bucket_name_in(def, ACCOUNT, region)
}

fn example_text() -> String {
    std::fs::read_to_string(sandbox::repo_dir().join(EXAMPLE)).expect("read the example")
}

fn load(path: &Path) -> StackDef {
    strata::stack::load(path).expect("the stack file loads")
}

/// The example with a fourth region (ap-southeast-2), last in the rollout order.
fn with_fourth_region(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("example4.toml");
    std::fs::write(&path, stacks::with_fourth_region(&example_text()))
        .expect("write the 4-region stack file");
    path
}

fn deploy(path: &Path) {
    let file = path.to_string_lossy();
    cli::strata_sandbox(&["deploy", &file, "--yes", "--bake", "0s"])
        .expect_code(exit_code::SUCCESS);
}

/// Each region's bucket -> the destination buckets (names, from the rules' ARNs)
/// of its replication rules, or `None` when `GetBucketReplication` finds nothing.
fn replication(def: &StackDef) -> BTreeMap<String, Option<BTreeSet<String>>> {
    def.regions
        .iter()
        .map(|r| {
            let bucket = bucket_name(def, &r.name);
            let s3 = sdk::s3(&r.name);
            let targets = sdk::block_on(async {
                let out = s3
                    .get_bucket_replication()
                    .bucket(&bucket)
                    .send()
                    .await
                    .ok()?;
                let rules = out.replication_configuration()?.rules();
                Some(
                    rules
                        .iter()
                        .filter(|rule| rule.status().as_str() == "Enabled")
                        .filter_map(|rule| rule.destination())
                        .map(|d| {
                            // Pinned to the account: S3 replicates only into a
                            // bucket the stack's own account owns.
                            assert_eq!(d.account(), Some(ACCOUNT), "{d:?}");
                            d.bucket().trim_start_matches("arn:aws:s3:::").to_string()
                        })
                        .collect::<BTreeSet<_>>(),
                )
            });
            (bucket, targets)
        })
        .collect()
}

/// What every bucket should replicate to: every other region's bucket.
fn full_mesh(def: &StackDef) -> BTreeMap<String, Option<BTreeSet<String>>> {
    let all: BTreeSet<String> = def
        .regions
        .iter()
        .map(|r| bucket_name(def, &r.name))
        .collect();
    all.iter()
        .map(|b| {
            let others = all.iter().filter(|o| *o != b).cloned().collect();
            (b.clone(), Some(others))
        })
        .collect()
}

fn versioning(def: &StackDef) -> BTreeMap<String, Option<String>> {
    def.regions
        .iter()
        .map(|r| {
            let bucket = bucket_name(def, &r.name);
            let s3 = sdk::s3(&r.name);
            let status = sdk::block_on(async {
                s3.get_bucket_versioning()
                    .bucket(&bucket)
                    .send()
                    .await
                    .expect("get bucket versioning")
                    .status()
                    .map(|s| s.as_str().to_string())
            });
            (bucket, status)
        })
        .collect()
}

/// Every record set of the stack's hosted zone.
fn zone_record_sets(def: &StackDef) -> Vec<aws_sdk_route53::types::ResourceRecordSet> {
    let zone = format!("{}.", def.dns.hosted_zone.trim_end_matches('.'));
    let r53 = sdk::route53();
    sdk::block_on(async {
        let zones = r53
            .list_hosted_zones_by_name()
            .dns_name(&zone)
            .send()
            .await
            .expect("list hosted zones");
        let zone = zones
            .hosted_zones()
            .iter()
            .find(|z| z.name() == zone)
            .expect("the hosted zone exists");
        r53.list_resource_record_sets()
            .hosted_zone_id(zone.id())
            .send()
            .await
            .expect("list resource record sets")
            .resource_record_sets()
            .to_vec()
    })
}

/// The latency records of the origin name: set identifier -> health check id.
fn latency_records(def: &StackDef) -> BTreeMap<String, Option<String>> {
    let origin = format!("{}.", def.dns.origin_name().trim_end_matches('.'));
    zone_record_sets(def)
        .iter()
        .filter(|r| r.name() == origin && r.region().is_some())
        .map(|r| {
            (
                r.set_identifier().unwrap_or_default().to_string(),
                r.health_check_id().map(str::to_string),
            )
        })
        .collect()
}

/// Every region has a latency record under the origin name, with a health check
/// that exists in Route 53, and there is no other.
fn assert_latency_records(def: &StackDef) {
    let records = latency_records(def);
    let regions: BTreeSet<String> = def.regions.iter().map(|r| r.name.clone()).collect();
    assert_eq!(
        records.keys().cloned().collect::<BTreeSet<_>>(),
        regions,
        "one latency record per region under {}: {records:?}",
        def.dns.origin_name()
    );
    let r53 = sdk::route53();
    for (region, hc) in &records {
        let hc = hc
            .as_deref()
            .unwrap_or_else(|| panic!("{region}'s record has no health check"));
        let check =
            sdk::block_on(async { r53.get_health_check().health_check_id(hc).send().await })
                .unwrap_or_else(|e| panic!("{region}'s health check {hc} does not exist: {e:?}"));
        // The record hangs on the region's serving check: CALCULATED over exactly
        // its endpoint check, healthy when that one is.
        let config = check
            .health_check()
            .and_then(|c| c.health_check_config())
            .unwrap_or_else(|| panic!("{region}'s health check {hc} has no config"));
        assert_eq!(
            config.r#type().as_str(),
            "CALCULATED",
            "{region}: {config:?}"
        );
        assert_eq!(
            config.child_health_checks().len(),
            1,
            "{region}: {config:?}"
        );
        assert_eq!(config.health_threshold(), Some(1), "{region}: {config:?}");
    }
}

#[test]
fn a_deploy_from_nothing_wires_replication_between_all_buckets_and_a_latency_record_per_region() {
    let _moto = sandbox::exclusive();
    let path = sandbox::repo_dir().join(EXAMPLE);
    let def = load(&path);
    deploy(&path);

    assert_eq!(
        replication(&def),
        full_mesh(&def),
        "every bucket replicates to every other"
    );
    for (bucket, status) in versioning(&def) {
        assert_eq!(status.as_deref(), Some("Enabled"), "{bucket} is versioned");
    }
    assert_latency_records(&def);
}

/// Every record of the stack's hosted zone: (name, type, set identifier).
fn zone_records(def: &StackDef) -> BTreeSet<(String, String, String)> {
    zone_record_sets(def)
        .iter()
        .map(|r| {
            (
                r.name().to_string(),
                r.r#type().as_str().to_string(),
                r.set_identifier().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// The ids of every Route 53 health check.
fn health_checks() -> BTreeSet<String> {
    let r53 = sdk::route53();
    sdk::block_on(async {
        r53.list_health_checks()
            .send()
            .await
            .expect("list health checks")
            .health_checks()
            .iter()
            .map(|h| h.id().to_string())
            .collect()
    })
}

fn stack_exists(region: &str, name: &str) -> bool {
    let cfn = sdk::cloudformation(region);
    sdk::block_on(async {
        cfn.describe_stacks()
            .stack_name(name)
            .send()
            .await
            .map(|out| !out.stacks().is_empty())
            .unwrap_or(false)
    })
}

#[test]
fn adding_a_fourth_region_then_removing_it_leaves_no_orphaned_record_rule_or_stack() {
    let _moto = sandbox::exclusive();
    let three = sandbox::repo_dir().join(EXAMPLE);
    let def3 = load(&three);
    deploy(&three);
    let records3 = zone_records(&def3);
    let checks3 = health_checks();

    // Adding: the new region is built, then all four are wired.
    let dir = tempfile::tempdir().expect("temp dir");
    let four = with_fourth_region(dir.path());
    let def = load(&four);
    assert_eq!(def.regions.len(), 4);
    deploy(&four);
    assert_eq!(
        replication(&def),
        full_mesh(&def),
        "all four buckets replicate to the 3 others"
    );
    assert_latency_records(&def);
    assert!(zone_records(&def).len() > records3.len());

    // Status of the three-region file shows the fourth region's stack left behind.
    let status = cli::strata_sandbox(&["status", &three.to_string_lossy(), "--output", "json"]);
    status.expect_code(exit_code::SUCCESS);
    let status: serde_json::Value = serde_json::from_str(&status.stdout).expect("status JSON");
    let left = status["left_behind"].as_array().expect("left_behind");
    assert_eq!(left.len(), 1, "{status}");
    assert_eq!(left[0]["region"], "ap-southeast-2");

    // The plan of the three-region file names the removal.
    let plan = cli::strata_sandbox(&["plan", &three.to_string_lossy(), "--output", "json"]);
    plan.expect_code(exit_code::SUCCESS);
    let plan = plan
        .json_lines()
        .into_iter()
        .find_map(|l| l.get("plan").cloned())
        .expect("a plan object");
    let removals = plan["removals"].as_array().expect("removals");
    assert_eq!(removals.len(), 1, "{plan}");
    assert_eq!(removals[0]["region"], "ap-southeast-2");
    assert_eq!(removals[0]["action"], "remove");

    // Removing: out of DNS, the others re-wired, its stack deleted.
    let leaving = def.region_stack_name("ap-southeast-2");
    let run = cli::strata_sandbox(&[
        "deploy",
        &three.to_string_lossy(),
        "--yes",
        "--bake",
        "0s",
        "--output",
        "json",
    ]);
    run.expect_code(exit_code::SUCCESS);
    let lines = run.json_lines();
    let summary = lines
        .iter()
        .find_map(|l| l.get("summary"))
        .expect("a summary");
    let retired = summary["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["region"] == "ap-southeast-2")
        .expect("the leaving region in the summary");
    assert_eq!(retired["result"], "retired", "{run}");
    // Its first change (out of DNS) came before any other region's, its deletion last.
    let position = |pred: &dyn Fn(&serde_json::Value) -> bool| {
        lines
            .iter()
            .position(pred)
            .unwrap_or_else(|| panic!("no such event\n{run}"))
    };
    let out_of_dns = position(&|l| l["region"] == "ap-southeast-2" && l["phase"] == "retire");
    let first_other = position(&|l| {
        l["phase"] == "execute" && l["event"] == "phase-started" && l["region"] != "ap-southeast-2"
    });
    let deleted = position(&|l| {
        l["phase"] == "retire"
            && l["event"] == "phase-done"
            && l["detail"].as_str().is_some_and(|d| d.ends_with("deleted"))
    });
    assert!(out_of_dns < first_other && first_other < deleted, "{run}");

    assert!(
        !stack_exists("ap-southeast-2", &leaving),
        "{leaving} is left"
    );
    assert_eq!(
        replication(&def3),
        full_mesh(&def3),
        "the three buckets replicate to each other and to nothing else"
    );
    assert_latency_records(&def3);
    assert_eq!(zone_records(&def3), records3, "a record was left behind");
    assert_eq!(health_checks(), checks3, "a health check was left behind");
    // The leaving region's bucket is kept (its data), replicating nowhere.
    let kept = bucket_name(&def, "ap-southeast-2");
    let s3 = sdk::s3("ap-southeast-2");
    let rules = sdk::block_on(async { s3.get_bucket_replication().bucket(&kept).send().await });
    assert!(rules.is_err(), "{kept} still replicates: {rules:?}");
    assert!(
        run.stdout.contains(&kept),
        "the kept bucket is not named\n{run}"
    );

    // And the same command again has nothing to do.
    let again = cli::strata_sandbox(&[
        "deploy",
        &three.to_string_lossy(),
        "--yes",
        "--output",
        "json",
    ]);
    again.expect_code(exit_code::SUCCESS);
    let summary = again.summary();
    assert_eq!(summary["outcome"], "no-change", "{again}");
}

#[test]
fn destroy_also_deletes_the_stack_of_a_region_that_left_the_definition() {
    let _moto = sandbox::exclusive();
    let dir = tempfile::tempdir().expect("temp dir");
    let four = with_fourth_region(dir.path());
    let def = load(&four);
    deploy(&four);

    let three = sandbox::repo_dir().join(EXAMPLE);
    let run = cli::strata_sandbox(&["destroy", &three.to_string_lossy(), "--yes"]);
    run.expect_code(exit_code::SUCCESS);
    for r in &def.regions {
        let name = def.region_stack_name(&r.name);
        assert!(!stack_exists(&r.name, &name), "{name} is left\n{run}");
    }
}

#[test]
fn the_regions_of_a_wave_are_built_together_then_wired_together() {
    let _moto = sandbox::exclusive();
    let text = example_text();
    let order = r#"order = ["us-east-1", "us-west-2", "eu-west-1"]"#;
    assert!(text.contains(order), "the example's rollout order changed");
    let text = text.replacen(
        order,
        r#"waves = [["us-east-1"], ["us-west-2", "eu-west-1"]]"#,
        1,
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("waves.toml");
    std::fs::write(&path, text).expect("write the stack file");
    let file = path.to_string_lossy();
    let run = cli::strata_sandbox(&["deploy", &file, "--yes", "--bake", "0s", "--output", "json"]);
    run.expect_code(exit_code::SUCCESS);

    let lines = run.json_lines();
    let at = |region: &str, phase: &str| {
        lines
            .iter()
            .position(|l| {
                l["region"] == region && l["phase"] == phase && l["event"] == "phase-started"
            })
            .unwrap_or_else(|| panic!("no {phase} of {region}\n{run}"))
    };
    let rfind = |region: &str, phase: &str| {
        lines
            .iter()
            .rposition(|l| {
                l["region"] == region && l["phase"] == phase && l["event"] == "phase-started"
            })
            .unwrap_or_else(|| panic!("no {phase} of {region}\n{run}"))
    };
    // The first wave is gated before the second starts; both regions of the second
    // wave are executing before either is gated.
    assert!(at("us-east-1", "gate") < at("us-west-2", "execute").min(at("eu-west-1", "execute")));
    assert!(
        at("us-west-2", "execute").max(at("eu-west-1", "execute"))
            < at("us-west-2", "gate").min(at("eu-west-1", "gate")),
        "the second wave was not rolled out at once\n{run}"
    );
    // Wiring: wave by wave, the regions of a wave at the same time: the first
    // wave is wired and gated before the second's wiring starts, and both regions
    // of the second wave are wiring before either is gated again.
    assert!(
        rfind("us-east-1", "gate") < at("us-west-2", "wire").min(at("eu-west-1", "wire")),
        "the first wave was not wired before the second\n{run}"
    );
    assert!(
        at("us-west-2", "wire").max(at("eu-west-1", "wire"))
            < rfind("us-west-2", "gate").min(rfind("eu-west-1", "gate")),
        "the second wave was not wired at once\n{run}"
    );
    let def = load(&path);
    assert_eq!(replication(&def), full_mesh(&def));
    assert_latency_records(&def);
}
