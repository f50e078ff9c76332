//! End-to-end test of `strata dr drill --fault instance` against the sandbox:
//! deploy the example, terminate one instance per region through EC2, and check
//! each region's Auto Scaling group replaced it (the sandbox's instance health
//! model, sandbox/moto_autoscaling.py) with the gate green, and the report names
//! what broke, what recovered and the time to recover.

mod support;

use serde_json::Value;
use support::cli::strata_sandbox;
use support::{sandbox, sdk};

const REGIONS: [&str; 3] = ["us-east-1", "us-west-2", "eu-west-1"];

#[test]
fn instance_fault_on_the_example_is_recovered_in_every_region() {
    let _moto = sandbox::exclusive();
    let example = sandbox::repo_dir().join("stacks").join("example.toml");
    let file = example.to_str().expect("utf-8 path");
    strata_sandbox(&["deploy", file, "--yes", "--bake", "0s", "--output", "json"]).expect_code(0);

    let run = strata_sandbox(&[
        "dr",
        "drill",
        file,
        "--fault",
        "instance",
        "--recover-timeout",
        "2m",
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
    assert_eq!(report["fault"], "instance", "{report}");
    assert_eq!(report["passed"], true, "{report}");
    let regions = report["regions"].as_array().expect("regions");
    assert_eq!(regions.len(), REGIONS.len(), "{report}");

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
        let asg = aws_sdk_autoscaling::Client::new(&sdk::config(region));
        let out = sdk::block_on(
            asg.describe_auto_scaling_groups()
                .auto_scaling_group_names(r["asg"].as_str().expect("asg"))
                .send(),
        )
        .expect("DescribeAutoScalingGroups");
        let group = out.auto_scaling_groups().first().expect("the group");
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
            stopped_instance_is_replaced(&asg, r["asg"].as_str().expect("asg"), &ec2, &in_service);
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
    asg: &aws_sdk_autoscaling::Client,
    name: &str,
    ec2: &aws_sdk_ec2::Client,
    in_service: &[&str],
) {
    let stopped = in_service[0].to_string();
    sdk::block_on(ec2.stop_instances().instance_ids(&stopped).send()).expect("StopInstances");
    let started = std::time::Instant::now();
    loop {
        let out = sdk::block_on(
            asg.describe_auto_scaling_groups()
                .auto_scaling_group_names(name)
                .send(),
        )
        .expect("DescribeAutoScalingGroups");
        let group = out.auto_scaling_groups().first().expect("the group");
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
