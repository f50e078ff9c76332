//! The hosted zone named by id (issue 14, item 3), end to end on the sandbox:
//! a managed zone is created first and its id (the zone stack's `HostedZoneId`
//! output) reaches every other stack as a parameter, so every record and every
//! certificate's validation record lands in that zone, read back through Route 53;
//! a plan before the zone exists says which stacks wait for it and creates
//! nothing; a zone found by a name two zones share is refused before any change.

mod support;

use serde_json::Value;
use std::collections::BTreeMap;
use strata::exit_code;
use support::{cli, sandbox, sdk};

const REGIONS: [&str; 3] = ["us-east-1", "us-west-2", "eu-west-1"];

fn example() -> std::path::PathBuf {
    sandbox::repo_dir().join("stacks/example.toml")
}

/// A stack's parameters and outputs, or None when it does not exist.
fn stack(region: &str, name: &str) -> Option<(BTreeMap<String, String>, BTreeMap<String, String>)> {
    let cfn = sdk::cloudformation(region);
    sdk::block_on(async {
        let out = match cfn.describe_stacks().stack_name(name).send().await {
            Ok(out) => out,
            Err(e) if format!("{e:?}").contains("does not exist") => return None,
            Err(e) => panic!("DescribeStacks {name}: {e:?}"),
        };
        let s = &out.stacks()[0];
        let params = s
            .parameters()
            .iter()
            .map(|p| {
                (
                    p.parameter_key().unwrap_or_default().to_string(),
                    p.parameter_value().unwrap_or_default().to_string(),
                )
            })
            .collect();
        let outputs = s
            .outputs()
            .iter()
            .map(|o| {
                (
                    o.output_key().unwrap_or_default().to_string(),
                    o.output_value().unwrap_or_default().to_string(),
                )
            })
            .collect();
        Some((params, outputs))
    })
}

/// Every record set of a zone: (name, type, set identifier).
fn records(zone_id: &str) -> Vec<(String, String, String)> {
    let r53 = sdk::route53();
    sdk::block_on(async {
        r53.list_resource_record_sets()
            .hosted_zone_id(zone_id)
            .send()
            .await
            .expect("ListResourceRecordSets")
            .resource_record_sets()
            .iter()
            .map(|r| {
                (
                    r.name().to_string(),
                    r.r#type().as_str().to_string(),
                    r.set_identifier().unwrap_or_default().to_string(),
                )
            })
            .collect()
    })
}

fn summary(run: &cli::Run) -> Value {
    run.json_lines()
        .into_iter()
        .find_map(|v| v.get("summary").cloned())
        .unwrap_or_else(|| panic!("no summary line\n{run}"))
}

#[test]
fn a_plan_before_the_managed_zone_exists_plans_the_zone_names_what_waits_and_creates_nothing() {
    let _moto = sandbox::exclusive();
    let run = cli::strata_sandbox(&["--output", "json", "plan", example().to_str().unwrap()]);
    run.expect_code(exit_code::SUCCESS);
    let plan = run
        .json_lines()
        .into_iter()
        .find_map(|v| v.get("plan").cloned())
        .unwrap_or_else(|| panic!("no plan line\n{run}"));
    assert_eq!(plan["zone"]["action"], "create", "{plan}");
    let mut waiting: Vec<String> = plan["awaiting_zone"]
        .as_array()
        .unwrap_or_else(|| panic!("no awaiting_zone\n{plan}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    waiting.sort();
    assert_eq!(
        waiting,
        [
            "shop-prod-eu-west-1",
            "shop-prod-global",
            "shop-prod-us-east-1",
            "shop-prod-us-west-2"
        ]
    );
    // Nothing was created: not a region's stack, and the zone stack's review
    // stack (made by its CREATE change set) is deleted again.
    assert!(stack("us-west-2", "shop-prod-us-west-2").is_none());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while stack("us-east-1", "shop-prod-dns").is_some() {
        assert!(
            std::time::Instant::now() < deadline,
            "the zone's review stack is left"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
fn a_managed_zone_is_created_first_and_every_record_and_certificate_names_it_by_id() {
    let _moto = sandbox::exclusive();
    let run = cli::deploy_json(&example());
    run.expect_code(exit_code::SUCCESS);
    let zone_result = summary(&run)["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["role"] == "zone")
        .map(|s| s["result"].clone());
    assert_eq!(zone_result, Some(Value::from("created")), "{run}");

    let (_, outputs) = stack("us-east-1", "shop-prod-dns").expect("the zone stack");
    let zone = outputs
        .get("HostedZoneId")
        .expect("HostedZoneId output")
        .clone();
    // Every stack that names the zone got its id.
    for (region, name) in REGIONS
        .iter()
        .map(|r| (*r, format!("shop-prod-{r}")))
        .chain([("us-east-1", "shop-prod-global".to_string())])
    {
        let (params, _) = stack(region, &name).unwrap_or_else(|| panic!("{name}"));
        assert_eq!(
            params.get("HostedZoneId"),
            Some(&zone),
            "{name}: {params:?}"
        );
    }

    let got = records(&zone);
    let has = |name: &str, kind: &str, id: &str| {
        got.iter()
            .any(|(n, t, s)| n == name && t == kind && s == id)
    };
    assert!(
        has("shop.example.com.", "A", ""),
        "the public alias: {got:?}"
    );
    for region in REGIONS {
        assert!(
            has("origin.shop.example.com.", "A", region),
            "{region}'s latency record: {got:?}"
        );
    }
    // The certificates' DNS validation records are in the same zone.
    let validation = got
        .iter()
        .filter(|(n, t, _)| t == "CNAME" && n.starts_with('_'))
        .count();
    assert!(validation >= 2, "validation records: {got:?}");

    // A second deploy has nothing to change: the zone id is read, not re-made.
    let again = cli::deploy_json(&example());
    again.expect_code(exit_code::SUCCESS);
    assert_eq!(summary(&again)["outcome"], "no-change", "{again}");
}

#[test]
fn a_zone_found_by_a_name_two_zones_share_is_refused_naming_both_and_nothing_is_created() {
    let _moto = sandbox::shared();
    let name = format!("{}.example", sandbox::unique("twin"));
    let first = sdk::create_zone(&name);
    let second = sdk::create_zone(&name);
    let text = std::fs::read_to_string(example())
        .unwrap()
        .replace("manage_zone = true\n", "")
        .replace("example.com", &name);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("twin.toml");
    std::fs::write(&file, text).unwrap();
    let run = cli::strata_sandbox(&["plan", file.to_str().unwrap()]);
    run.expect_code(exit_code::INVALID_INPUT);
    for id in [&first, &second] {
        assert!(run.stderr.contains(id.as_str()), "{id} named\n{run}");
    }
    assert!(run.stderr.contains("dns.hosted_zone_id"), "{run}");
}
