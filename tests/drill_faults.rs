//! End-to-end tests of `strata dr drill --fault instance|az` against the sandbox:
//! deploy the example; terminate one instance per region through EC2, and check
//! each region's Auto Scaling group replaced it (the sandbox's instance health
//! model, sandbox/moto_autoscaling.py) with the gate green; lose one zone per
//! region (subnets out of the group, its instances terminated, its NAT route
//! deleted) and check the other zone carries the load and everything is put back,
//! read back through EC2 and Auto Scaling. The reports name what broke, what
//! recovered and the time to recover, in JSON and in the human output.

mod support;

use serde_json::Value;
use std::collections::BTreeSet;
use strata::exit_code;
use support::cli::strata_sandbox;
use support::{sandbox, sdk};

const REGIONS: [&str; 3] = ["us-east-1", "us-west-2", "eu-west-1"];

/// `dr drill FILE --fault FAULT` in every region, JSON: exit 0, the report passed
/// with a region each.
fn passed_drill(file: &str, fault: &str, recover_timeout: &str) -> Value {
    let run = strata_sandbox(&[
        "dr",
        "drill",
        file,
        "--fault",
        fault,
        "--recover-timeout",
        recover_timeout,
        "--bake",
        "0s",
        "--output",
        "json",
    ]);
    run.expect_code(0);
    let report: Value = run
        .json_lines()
        .pop()
        .unwrap_or_else(|| panic!("no JSON output\n{run}"));
    assert_eq!(report["fault"], fault, "{report}");
    assert_eq!(report["passed"], true, "{report}");
    assert_eq!(
        report["regions"].as_array().map(Vec::len),
        Some(REGIONS.len()),
        "{report}"
    );
    report
}

#[test]
fn instance_fault_on_the_example_is_recovered_in_every_region() {
    let _moto = sandbox::exclusive();
    let example = sandbox::repo_dir().join("stacks").join("example.toml");
    let file = example.to_str().expect("utf-8 path");
    strata_sandbox(&["deploy", file, "--yes", "--bake", "0s", "--output", "json"]).expect_code(0);

    let report = passed_drill(file, "instance", "2m");
    let regions = report["regions"].as_array().expect("regions");

    for r in regions {
        let region = r["region"].as_str().expect("region");
        let broken = r["broken"]["instance_id"].as_str().expect("broken id");
        assert!(r["broken"]["availability_zone"]
            .as_str()
            .is_some_and(|az| az.starts_with(region)));
        assert_eq!(r["recovered"], true, "{r}");
        assert!(r["seconds_to_recover"].as_f64().is_some(), "{r}");
        let replacements: Vec<&str> = r["replacements"]
            .as_array()
            .expect("replacements")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(!replacements.is_empty(), "{r}");
        // N+1: only the group's own count may go red while it recovers; the
        // serving signals (targets, Route 53 checks) stay green.
        for signal in r["gate_red_during"].as_array().expect("gate_red_during") {
            let signal = signal.as_str().unwrap_or_default();
            assert!(
                signal.starts_with("asg "),
                "{region}: {signal} went red: {r}"
            );
        }

        // EC2 says the broken instance is terminated.
        let ec2 = sdk::ec2(region);
        let state = sdk::block_on(ec2.describe_instances().instance_ids(broken).send())
            .expect("DescribeInstances")
            .reservations()
            .iter()
            .flat_map(|res| res.instances())
            .find_map(|i| {
                i.state()
                    .and_then(|s| s.name())
                    .map(|n| n.as_str().to_string())
            });
        assert_eq!(state.as_deref(), Some("terminated"), "{region}: {broken}");

        // The group runs its desired capacity InService, the replacement among them.
        let name = r["asg"].as_str().expect("asg");
        let group = sdk::auto_scaling_group(region, name);
        let in_service: Vec<&str> = group
            .instances()
            .iter()
            .filter(|i| i.lifecycle_state().map(|s| s.as_str()) == Some("InService"))
            .filter_map(|i| i.instance_id())
            .collect();
        assert_eq!(
            in_service.len() as i32,
            group.desired_capacity().unwrap_or_default(),
            "{region}: {in_service:?}"
        );
        assert!(!in_service.contains(&broken), "{region}: {in_service:?}");
        for new in &replacements {
            assert!(
                in_service.contains(new),
                "{region}: {new} not in {in_service:?}"
            );
        }
        if region == REGIONS[0] {
            stopped_instance_is_replaced(region, name, &ec2, &in_service);
        }
        eprintln!(
            "{region}: broke {broken}, recovered {replacements:?} in {:.1}s; gate red meanwhile: {}",
            r["seconds_to_recover"].as_f64().unwrap_or_default(),
            r["gate_red_during"]
        );
    }
}

/// The sandbox's model covers an instance stopped through EC2 too: Auto Scaling
/// replaces it (docs/sandbox.md, Auto Scaling).
fn stopped_instance_is_replaced(
    region: &str,
    name: &str,
    ec2: &aws_sdk_ec2::Client,
    in_service: &[&str],
) {
    let stopped = in_service[0].to_string();
    sdk::block_on(ec2.stop_instances().instance_ids(&stopped).send()).expect("StopInstances");
    let started = std::time::Instant::now();
    loop {
        let group = sdk::auto_scaling_group(region, name);
        let ids: Vec<&str> = group
            .instances()
            .iter()
            .filter(|i| i.lifecycle_state().map(|s| s.as_str()) == Some("InService"))
            .filter_map(|i| i.instance_id())
            .collect();
        if !ids.contains(&stopped.as_str())
            && ids.len() as i32 == group.desired_capacity().unwrap_or_default()
        {
            return;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "{stopped} (stopped) not replaced: {ids:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// The EC2 state of each instance (terminated instances stay listed).
fn instance_states(region: &str, ids: &[&str]) -> Vec<(String, String)> {
    let out = sdk::block_on(
        sdk::ec2(region)
            .describe_instances()
            .set_instance_ids(Some(ids.iter().map(|i| i.to_string()).collect()))
            .send(),
    )
    .expect("DescribeInstances");
    out.reservations()
        .iter()
        .flat_map(|r| r.instances())
        .map(|i| {
            (
                i.instance_id().unwrap_or_default().to_string(),
                i.state()
                    .and_then(|s| s.name())
                    .map(|n| n.as_str().to_string())
                    .unwrap_or_default(),
            )
        })
        .collect()
}

fn subnets(group: &aws_sdk_autoscaling::types::AutoScalingGroup) -> BTreeSet<String> {
    group
        .vpc_zone_identifier()
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn strs(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .filter_map(Value::as_str)
        .collect()
}

#[test]
fn az_fault_on_the_example_is_carried_by_the_other_zone_and_put_back() {
    let _moto = sandbox::exclusive();
    let example = sandbox::repo_dir().join("stacks").join("example.toml");
    let file = example.to_str().expect("utf-8 path");

    // The region drill's waits are its deploys': a recovery timeout is refused,
    // not ignored, before anything is called.
    let refused = strata_sandbox(&[
        "dr",
        "drill",
        file,
        "--fault",
        "region",
        "--recover-timeout",
        "1m",
    ]);
    refused.expect_code(exit_code::INVALID_INPUT);
    assert!(
        refused
            .stderr
            .contains("--recover-timeout applies to --fault instance and --fault az"),
        "{refused}"
    );

    // A zone belongs to one region: --zone without --region is refused too.
    let refused = strata_sandbox(&["dr", "drill", file, "--fault", "az", "--zone", "us-east-1a"]);
    refused.expect_code(exit_code::INVALID_INPUT);
    assert!(
        refused
            .stderr
            .contains("--zone applies to --fault az with --region"),
        "{refused}"
    );

    strata_sandbox(&["deploy", file, "--yes", "--bake", "0s", "--output", "json"]).expect_code(0);
    let groups: Vec<(String, BTreeSet<String>)> = REGIONS
        .iter()
        .map(|region| {
            let stack = format!("shop-prod-{region}");
            let out = sdk::block_on(
                sdk::cloudformation(region)
                    .describe_stack_resources()
                    .stack_name(&stack)
                    .send(),
            )
            .expect("DescribeStackResources");
            let name = out
                .stack_resources()
                .iter()
                .find(|r| r.resource_type() == Some("AWS::AutoScaling::AutoScalingGroup"))
                .and_then(|r| r.physical_resource_id())
                .expect("the group")
                .to_string();
            let had = subnets(&sdk::auto_scaling_group(region, &name));
            assert_eq!(had.len(), 2, "{region}: {had:?}");
            (name, had)
        })
        .collect();

    let report = passed_drill(file, "az", "3m");
    let regions = report["regions"].as_array().expect("regions");

    let mut lost_west = String::new();
    for (r, (name, had)) in regions.iter().zip(&groups) {
        let region = r["region"].as_str().expect("region");
        assert_eq!(r["asg"].as_str(), Some(name.as_str()), "{r}");
        let broken = &r["broken"];
        let zone = broken["zone"].as_str().expect("zone");
        assert!(zone.starts_with(region), "{r}");
        if region == "us-west-2" {
            lost_west = zone.to_string();
        }
        let terminated = strs(&broken["instances"]);
        assert!(!terminated.is_empty(), "{r}");
        assert_eq!(strs(&broken["subnets"]).len(), 1, "{r}");
        let routes = broken["routes"].as_array().expect("routes");
        assert_eq!(routes.len(), 1, "{r}");
        assert_eq!(r["recovered"], true, "{r}");
        assert!(r["seconds_to_recover"].as_f64().is_some(), "{r}");
        let replacements = r["replacements"].as_array().expect("replacements");
        assert!(!replacements.is_empty(), "{r}");
        for new in replacements {
            let az = new["availability_zone"].as_str().expect("its zone");
            assert!(
                az != zone && az.starts_with(region),
                "{region}: {new} in the lost zone"
            );
        }
        for signal in strs(&r["gate_red_during"]) {
            assert!(
                signal.starts_with("asg "),
                "{region}: {signal} went red: {r}"
            );
        }
        assert_eq!(r["put_back"]["done"], true, "{r}");

        // EC2: the zone's instances are terminated.
        for (id, state) in instance_states(region, &terminated) {
            assert_eq!(state, "terminated", "{region}: {id}");
        }
        // Auto Scaling: desired capacity InService, none of them in the lost zone
        // nor among the terminated, the replacements among them; every subnet back.
        let group = sdk::auto_scaling_group(region, name);
        let in_service: Vec<&aws_sdk_autoscaling::types::Instance> = group
            .instances()
            .iter()
            .filter(|i| i.lifecycle_state().map(|s| s.as_str()) == Some("InService"))
            .collect();
        assert_eq!(
            in_service.len() as i32,
            group.desired_capacity().unwrap_or_default(),
            "{region}: {in_service:?}"
        );
        for i in &in_service {
            assert_ne!(i.availability_zone(), Some(zone), "{region}: {i:?}");
            assert!(!terminated.contains(&i.instance_id().unwrap_or_default()));
        }
        for new in replacements {
            let id = new["instance_id"].as_str().expect("id");
            assert!(
                in_service.iter().any(|i| i.instance_id() == Some(id)),
                "{region}: {id} not InService"
            );
        }
        assert_eq!(
            &subnets(&group),
            had,
            "{region}: VPCZoneIdentifier not put back"
        );
        // EC2: the zone's default route goes through its NAT gateway again.
        for route in routes {
            let table = route["route_table_id"].as_str().expect("table");
            assert_eq!(
                sdk::default_route(region, table).as_deref(),
                route["nat_gateway_id"].as_str(),
                "{region}: {table} not put back"
            );
        }
        eprintln!(
            "{region}: lost {zone} ({terminated:?}), recovered {replacements:?} in {:.1}s; gate red meanwhile: {}",
            r["seconds_to_recover"].as_f64().unwrap_or_default(),
            r["gate_red_during"]
        );
    }

    // The human output, for one region and a named zone (the one lost above,
    // now without instances: nothing to terminate, its route still deleted and
    // put back).
    let human = strata_sandbox(&[
        "dr",
        "drill",
        file,
        "--fault",
        "az",
        "--region",
        "us-west-2",
        "--zone",
        &lost_west,
        "--recover-timeout",
        "3m",
        "--bake",
        "0s",
    ]);
    human.expect_code(0);
    // Not a terminal: the progress events come first as JSON lines, then the report.
    let out = human
        .stdout
        .split_once("Drill (fault az) passed: shop-prod\n")
        .map(|(_, report)| report)
        .unwrap_or_else(|| panic!("no passed headline\n{human}"));
    for line in [
        format!(
            "  us-west-2      broke     {lost_west} of {}, desired 2: subnets ",
            groups[1].0
        ),
        "; instances none; routes rtb-".to_string(),
        " via nat-".to_string(),
        " deleted\n".to_string(),
        "                 recovered ".to_string(),
        "carry the load with no new instance, time to recover ".to_string(),
        "                 put back  subnets ".to_string(),
    ] {
        assert!(out.contains(line.as_str()), "no {line:?} in\n{human}");
    }
    let group = sdk::auto_scaling_group("us-west-2", &groups[1].0);
    assert_eq!(subnets(&group), groups[1].1);
}
