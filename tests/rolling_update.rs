//! End-to-end: an AMI update reaches the instances. The real `strata` binary deploys
//! the example stack (CloudFront off) on one AMI, then on another; afterwards, read
//! back through Auto Scaling, EC2 and ELBv2 in every region: every InService
//! instance runs the stack's current launch-template version and the region's copy
//! of the new AMI, every target of the group's target group is one of them and
//! healthy, and CloudFormation's events on the group show the rolling update batch
//! by batch; the gate passed each region having seen the new version. And a region
//! whose network is gone after its stack operation fails its gate and is put back.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use support::fault_proxy::{Fault, FaultProxy, Rule};
use support::{cli, sandbox, sdk};

const REGIONS: [&str; 3] = ["us-east-1", "us-west-2", "eu-west-1"];
/// The example stack's AMI, and the one the update moves to (both in
/// `sandbox/amis.json`, baked in us-east-1).
const OLD_AMI: &str = "ami-0123456789abcdef0";
const NEW_AMI: &str = "ami-0a1b2c3d";

fn fixture(dir: &Path, name: &str, ami: &str, desired: u32) -> PathBuf {
    let text = std::fs::read_to_string(sandbox::repo_dir().join("stacks/example.toml")).unwrap();
    let text = text
        .replace("cloudfront = true", "cloudfront = false")
        .replace(
            "capacity = { min = 2, desired = 2, max = 4 }",
            &format!("capacity = {{ min = 2, desired = {desired}, max = 6 }}"),
        )
        .replace(&format!("id = \"{OLD_AMI}\""), &format!("id = \"{ami}\""))
        .replace("gate_timeout = \"10m\"", "gate_timeout = \"3s\"");
    assert!(text.contains("gate_timeout = \"3s\""));
    assert!(text.contains(&format!("id = \"{ami}\"")));
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn deploy_at(endpoint: &str, file: &Path) -> cli::Run {
    cli::strata_at(
        endpoint,
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

fn deploy(file: &Path) -> cli::Run {
    deploy_at(&sandbox::endpoint(), file)
}

/// The gate's last reading of `signal` (a prefix) in `region`, from the JSON events.
fn last_health(run: &cli::Run, region: &str, signal: &str) -> Option<(bool, String)> {
    run.json_lines()
        .into_iter()
        .filter(|e| e["region"] == region && e["event"] == "health")
        .filter(|e| e["signal"].as_str().is_some_and(|s| s.starts_with(signal)))
        .map(|e| {
            (
                e["ok"].as_bool().unwrap(),
                e["detail"].as_str().unwrap().to_string(),
            )
        })
        .next_back()
}

/// Each region stack's result in the run's summary.
fn result_of(run: &cli::Run, region: &str) -> String {
    run.json_lines()
        .into_iter()
        .find_map(|v| v.get("summary").cloned())
        .unwrap_or_else(|| panic!("no summary\n{run:?}"))["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["role"] == "region" && s["region"] == region)
        .map(|s| s["result"].as_str().unwrap().to_string())
        .unwrap()
}

fn autoscaling(region: &str) -> aws_sdk_autoscaling::Client {
    aws_sdk_autoscaling::Client::new(&sdk::config(region))
}

fn elbv2(region: &str) -> aws_sdk_elasticloadbalancingv2::Client {
    aws_sdk_elasticloadbalancingv2::Client::new(&sdk::config(region))
}

/// What a region runs, read back through the services' APIs.
#[derive(Debug)]
struct Fleet {
    /// The stack's `AmiId` parameter (the region's copy of the stack's AMI).
    stack_ami: String,
    /// The launch template's latest version, and the one the group launches from.
    latest_version: String,
    group_version: String,
    /// InService instances: (id, launch-template version, ImageId from DescribeInstances).
    in_service: Vec<(String, String, String)>,
    /// Registered targets: (id, state).
    targets: Vec<(String, String)>,
    /// The reasons of the stack's events on the group, oldest first.
    group_events: Vec<String>,
    /// The group's scaling activities' descriptions.
    activities: Vec<String>,
}

fn fleet(region: &str, stack: &str) -> Fleet {
    let cfn = sdk::cloudformation(region);
    let ec2 = sdk::ec2(region);
    let asg = autoscaling(region);
    let elb = elbv2(region);
    sdk::block_on(async {
        let described = cfn
            .describe_stacks()
            .stack_name(stack)
            .send()
            .await
            .unwrap();
        let s = &described.stacks()[0];
        let stack_ami = s
            .parameters()
            .iter()
            .find(|p| p.parameter_key() == Some("AmiId"))
            .and_then(|p| p.parameter_value())
            .unwrap()
            .to_string();
        let resources = sdk::stack_resources(&cfn, stack).await;
        let physical = |kind: &str| {
            resources
                .iter()
                .find(|(_, ty, _)| ty == kind)
                .map(|(_, _, physical)| physical.clone())
                .unwrap_or_else(|| panic!("{stack} has no {kind}"))
        };
        let group_name = physical("AWS::AutoScaling::AutoScalingGroup");
        let tg = physical("AWS::ElasticLoadBalancingV2::TargetGroup");
        let lt = physical("AWS::EC2::LaunchTemplate");
        let latest_version = ec2
            .describe_launch_templates()
            .launch_template_ids(&lt)
            .send()
            .await
            .unwrap()
            .launch_templates()[0]
            .latest_version_number()
            .unwrap()
            .to_string();
        let groups = asg
            .describe_auto_scaling_groups()
            .auto_scaling_group_names(&group_name)
            .send()
            .await
            .unwrap();
        let group = &groups.auto_scaling_groups()[0];
        let activities = asg
            .describe_scaling_activities()
            .auto_scaling_group_name(&group_name)
            .send()
            .await
            .unwrap()
            .activities()
            .iter()
            .filter_map(|a| a.description().map(str::to_string))
            .collect();
        let group_version = group
            .launch_template()
            .and_then(|l| l.version())
            .unwrap()
            .to_string();
        let mut in_service = Vec::new();
        for i in group.instances() {
            if i.lifecycle_state().map(|s| s.as_str()) != Some("InService") {
                continue;
            }
            let id = i.instance_id().unwrap().to_string();
            let version = i
                .launch_template()
                .and_then(|l| l.version())
                .unwrap_or("?")
                .to_string();
            let image = ec2
                .describe_instances()
                .instance_ids(&id)
                .send()
                .await
                .unwrap()
                .reservations()[0]
                .instances()[0]
                .image_id()
                .unwrap()
                .to_string();
            in_service.push((id, version, image));
        }
        let targets = elb
            .describe_target_health()
            .target_group_arn(&tg)
            .send()
            .await
            .unwrap()
            .target_health_descriptions()
            .iter()
            .map(|d| {
                (
                    d.target().and_then(|t| t.id()).unwrap().to_string(),
                    d.target_health()
                        .and_then(|h| h.state())
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                )
            })
            .collect();
        let mut group_events: Vec<String> = cfn
            .describe_stack_events()
            .stack_name(stack)
            .send()
            .await
            .unwrap()
            .stack_events()
            .iter()
            .filter(|e| e.resource_type() == Some("AWS::AutoScaling::AutoScalingGroup"))
            .filter_map(|e| e.resource_status_reason().map(str::to_string))
            .collect();
        group_events.reverse();
        Fleet {
            stack_ami,
            latest_version,
            group_version,
            in_service,
            targets,
            group_events,
            activities,
        }
    })
}

#[test]
fn an_ami_update_replaces_every_instance_of_every_region_batch_by_batch() {
    let _moto = sandbox::exclusive();
    let dir = tempfile::tempdir().unwrap();
    let v1 = fixture(dir.path(), "v1.toml", OLD_AMI, 3);
    let v2 = fixture(dir.path(), "v2.toml", NEW_AMI, 3);

    deploy(&v1).expect_code(0);
    let before: Vec<Fleet> = REGIONS
        .iter()
        .map(|r| fleet(r, &format!("shop-prod-{r}")))
        .collect();

    let run = deploy(&v2);
    run.expect_code(0);

    for (region, old) in REGIONS.iter().zip(&before) {
        let now = fleet(region, &format!("shop-prod-{region}"));
        assert_ne!(
            now.stack_ami, old.stack_ami,
            "{region}: the AMI parameter did not change"
        );
        assert_ne!(
            now.latest_version, old.latest_version,
            "{region}: no new launch-template version"
        );
        assert_eq!(
            now.group_version, now.latest_version,
            "{region}: the group is not on the latest version: {now:?}"
        );
        let seen = last_health(&run, region, "asg ");
        assert_eq!(
            seen,
            Some((
                true,
                format!(
                    "3/3 InService, launch-template version {}",
                    now.latest_version
                )
            )),
            "{region}: the gate did not pass on the new version"
        );
        assert_eq!(
            now.in_service.len(),
            3,
            "{region}: desired capacity not in service: {now:?}"
        );
        for (id, version, image) in &now.in_service {
            assert_eq!(
                version, &now.latest_version,
                "{region}: {id} runs version {version}: {now:?}"
            );
            assert_eq!(
                image, &now.stack_ami,
                "{region}: {id} runs {image}, not the new AMI: {now:?}"
            );
        }
        let old_ids: BTreeSet<_> = old.in_service.iter().map(|i| i.0.clone()).collect();
        assert!(
            now.in_service.iter().all(|i| !old_ids.contains(&i.0)),
            "{region}: an old instance is still in service: {now:?}"
        );
        let serving: BTreeSet<_> = now.in_service.iter().map(|i| i.0.clone()).collect();
        let registered: BTreeSet<_> = now.targets.iter().map(|t| t.0.clone()).collect();
        assert_eq!(
            registered, serving,
            "{region}: targets are not exactly the InService instances"
        );
        assert!(
            now.targets.iter().all(|t| t.1 == "healthy"),
            "{region}: a target is not healthy: {:?}",
            now.targets
        );
        // MaxBatchSize 1 and three old instances: three batches, each logged.
        let batches = now
            .group_events
            .iter()
            .filter(|e| e.starts_with("Successfully terminated instance(s)"))
            .count();
        assert_eq!(batches, 3, "{region}: {:?}", now.group_events);
        assert!(
            now.group_events
                .iter()
                .any(|e| e
                    .starts_with("Rolling update initiated. Terminating 3 obsolete instance(s)")),
            "{region}: {:?}",
            now.group_events
        );
        for id in &old_ids {
            let line = format!("Terminating EC2 instance: {id}");
            assert!(
                now.activities.contains(&line),
                "{region}: no `{line}`: {:?}",
                now.activities
            );
        }
        for id in &serving {
            let line = format!("Launching a new EC2 instance: {id}");
            assert!(
                now.activities.contains(&line),
                "{region}: no `{line}`: {:?}",
                now.activities
            );
        }
    }
}

#[test]
fn a_region_whose_subnets_are_gone_after_its_update_fails_its_gate_and_is_put_back() {
    let _moto = sandbox::exclusive();
    let dir = tempfile::tempdir().unwrap();
    let v1 = fixture(dir.path(), "v1.toml", OLD_AMI, 2);
    let v2 = fixture(dir.path(), "v2.toml", NEW_AMI, 2);
    let proxy = FaultProxy::in_front_of_sandbox();
    deploy_at(&proxy.url(), &v1).expect_code(0);
    let before = fleet("us-west-2", "shop-prod-us-west-2");

    // DescribeSubnets in us-west-2 answers as EC2 does for subnets that no longer
    // exist: none of the stack's subnet ids comes back.
    proxy.add(
        Rule::new(Fault::rewrite("<subnetId>subnet-", "<subnetId>subnet-gone"))
            .region("us-west-2")
            .action("DescribeSubnets"),
    );
    let run = deploy_at(&proxy.url(), &v2);
    proxy.clear_rules();
    run.expect_code(strata::exit_code::DEPLOY_FAILED_ROLLED_BACK);
    assert_eq!(result_of(&run, "us-east-1"), "updated");
    assert_eq!(result_of(&run, "us-west-2"), "rolled-back");
    assert_eq!(result_of(&run, "eu-west-1"), "not-started");
    let (ok, detail) = last_health(&run, "us-west-2", "network").expect("no network reading");
    assert!(
        !ok && detail.starts_with("do not exist: subnet-"),
        "{detail}"
    );

    // Put back: the region's stack runs the old AMI again, and so do its instances.
    let after = fleet("us-west-2", "shop-prod-us-west-2");
    assert_eq!(after.stack_ami, before.stack_ami);
    assert_eq!(after.in_service.len(), 2, "{after:?}");
    for (id, version, image) in &after.in_service {
        assert_eq!(version, &after.latest_version, "{id}: {after:?}");
        assert_eq!(
            image, &before.stack_ami,
            "{id} is not back on the old AMI: {after:?}"
        );
    }
}
