//! `strata drift` end to end on the sandbox (issue 19, item 1): after a deploy of
//! the staging stack nothing has drifted; a hand-changed ASG maximum, a
//! hand-added ingress rule, a hand-deleted NAT default route and a hand-changed
//! alarm threshold are reported (exit 8, JSON naming region, logical id and
//! property; `status --drift` counts them); the next `deploy` (nothing to change
//! in the stacks) puts them back and says so, read back through the SDK; then
//! `drift` exits 0 again.

mod support;

use serde_json::Value;
use strata::exit_code;
use support::{cli, sandbox, sdk};

const STAGING: &str = "stacks/staging.toml";
const HOME: &str = "us-east-1";

fn drift_json(file: &str) -> (i32, Value) {
    let run = cli::strata_sandbox(&["--output", "json", "drift", file]);
    let json =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not JSON ({e})\n{run}"));
    (run.code, json)
}

fn asg_max(name: &str) -> i32 {
    sdk::auto_scaling_group(HOME, name)
        .max_size()
        .expect("MaxSize")
}

/// The group's ingress rules as (protocol, from port, CIDRs).
fn ingress(group_id: &str) -> Vec<(String, Option<i32>, Vec<String>)> {
    let ec2 = sdk::ec2(HOME);
    sdk::block_on(async {
        let out = ec2
            .describe_security_groups()
            .group_ids(group_id)
            .send()
            .await
            .expect("DescribeSecurityGroups");
        out.security_groups()[0]
            .ip_permissions()
            .iter()
            .map(|p| {
                (
                    p.ip_protocol().unwrap_or_default().to_string(),
                    p.from_port(),
                    p.ip_ranges()
                        .iter()
                        .filter_map(|r| r.cidr_ip().map(str::to_string))
                        .collect(),
                )
            })
            .collect()
    })
}

const ADDED: &str = "203.0.113.0/24";

/// The contract parameter's value.
fn parameter(name: &str) -> String {
    let ssm = sdk::ssm(HOME);
    sdk::block_on(async {
        ssm.get_parameter()
            .name(name)
            .send()
            .await
            .expect("GetParameter")
            .parameter()
            .and_then(|p| p.value())
            .expect("a value")
            .to_string()
    })
}

/// The stack's HostedZoneId parameter and its latency record (the region's set).
fn latency_record(stack: &str) -> (String, aws_sdk_route53::types::ResourceRecordSet) {
    let cfn = sdk::cloudformation(HOME);
    let r53 = sdk::route53();
    sdk::block_on(async {
        let out = cfn
            .describe_stacks()
            .stack_name(stack)
            .send()
            .await
            .expect("DescribeStacks");
        let zone = out.stacks()[0]
            .parameters()
            .iter()
            .find(|p| p.parameter_key() == Some("HostedZoneId"))
            .and_then(|p| p.parameter_value())
            .expect("a HostedZoneId parameter")
            .to_string();
        let sets = r53
            .list_resource_record_sets()
            .hosted_zone_id(&zone)
            .send()
            .await
            .expect("ListResourceRecordSets");
        let record = sets
            .resource_record_sets()
            .iter()
            .find(|r| r.r#type().as_str() == "A" && r.set_identifier() == Some(HOME))
            .expect("the region's latency record")
            .clone();
        (zone, record)
    })
}

fn alarm(name: &str) -> aws_sdk_cloudwatch::types::MetricAlarm {
    let cw = sdk::cloudwatch(HOME);
    sdk::block_on(async {
        cw.describe_alarms()
            .alarm_names(name)
            .send()
            .await
            .expect("DescribeAlarms")
            .metric_alarms()[0]
            .clone()
    })
}

fn has_ssh(group_id: &str) -> bool {
    ingress(group_id)
        .iter()
        .any(|(_, port, cidrs)| *port == Some(22) && cidrs.iter().any(|c| c == ADDED))
}

#[test]
fn a_hand_changed_asg_maximum_and_security_group_rule_are_reported_then_restored_by_deploy() {
    let _moto = sandbox::exclusive();
    let file = sandbox::repo_dir().join(STAGING);
    let f = file.to_string_lossy().to_string();
    let def = strata::stack::load(&file).expect("staging loads");
    let stack = def.region_stack_name(HOME);
    cli::deploy_json(&file).expect_code(exit_code::SUCCESS);

    // As deployed: nothing differs (the sandbox holds the rules AWS would).
    let (code, json) = drift_json(&f);
    assert_eq!(code, exit_code::SUCCESS, "{json:#}");
    assert_eq!(json["drift"], Value::Array(vec![]), "{json:#}");

    // By hand: the ASG's maximum raised, SSH opened on the load balancer's group.
    let asg = sdk::physical_id(HOME, &stack, "AutoScalingGroup");
    let group = sdk::physical_id(HOME, &stack, "AlbSecurityGroup");
    let autoscaling = aws_sdk_autoscaling::Client::new(&sdk::config(HOME));
    let ec2 = sdk::ec2(HOME);
    sdk::block_on(async {
        autoscaling
            .update_auto_scaling_group()
            .auto_scaling_group_name(&asg)
            .max_size(9)
            .send()
            .await
            .expect("UpdateAutoScalingGroup");
        ec2.authorize_security_group_ingress()
            .group_id(&group)
            .ip_permissions(
                aws_sdk_ec2::types::IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(22)
                    .to_port(22)
                    .ip_ranges(
                        aws_sdk_ec2::types::IpRange::builder()
                            .cidr_ip(ADDED)
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .expect("AuthorizeSecurityGroupIngress");
    });
    assert_eq!(asg_max(&asg), 9);
    assert!(has_ssh(&group));

    // By hand: AZ a's NAT default route deleted, the 5xx alarm's threshold raised
    // (PutMetricAlarm of the whole alarm, as the console does).
    let table = sdk::physical_id(HOME, &stack, "PrivateRouteTableA");
    let nat = sdk::physical_id(HOME, &stack, "NatGatewayA");
    assert_eq!(
        sdk::default_route(HOME, &table).as_deref(),
        Some(nat.as_str())
    );
    let alarm_name = sdk::physical_id(HOME, &stack, "Alb5xxAlarm");
    let live = alarm(&alarm_name);
    assert_eq!(live.threshold(), Some(50.0));
    let cw = sdk::cloudwatch(HOME);
    // And the application contract's domain overwritten in Parameter Store.
    let domain = sdk::physical_id(HOME, &stack, "ContractDomain");
    assert_eq!(parameter(&domain), def.dns.domain);
    let ssm = sdk::ssm(HOME);
    sdk::block_on(async {
        ssm.put_parameter()
            .name(&domain)
            .value("elsewhere.example.com")
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .overwrite(true)
            .send()
            .await
            .expect("PutParameter");
        ec2.delete_route()
            .route_table_id(&table)
            .destination_cidr_block("0.0.0.0/0")
            .send()
            .await
            .expect("DeleteRoute");
        cw.put_metric_alarm()
            .alarm_name(&alarm_name)
            .set_metric_name(live.metric_name().map(str::to_string))
            .set_namespace(live.namespace().map(str::to_string))
            .set_statistic(live.statistic().cloned())
            .set_dimensions(Some(live.dimensions().to_vec()))
            .set_period(live.period())
            .set_evaluation_periods(live.evaluation_periods())
            .set_comparison_operator(live.comparison_operator().cloned())
            .set_treat_missing_data(live.treat_missing_data().map(str::to_string))
            .threshold(500.0)
            .send()
            .await
            .expect("PutMetricAlarm");
    });
    assert_eq!(sdk::default_route(HOME, &table), None);
    assert_eq!(alarm(&alarm_name).threshold(), Some(500.0));

    // By hand: the region's latency record pointed at the endpoint check instead
    // of the serving check (failover's lever would no longer take it out).
    let serving = sdk::physical_id(HOME, &stack, "ServingHealthCheck");
    let endpoint = sdk::physical_id(HOME, &stack, "HealthCheck");
    let (zone, record) = latency_record(&stack);
    assert_eq!(record.health_check_id(), Some(serving.as_str()));
    let mut changed = record.clone();
    changed.health_check_id = Some(endpoint.clone());
    let r53 = sdk::route53();
    sdk::block_on(async {
        use aws_sdk_route53::types::{Change, ChangeAction, ChangeBatch};
        r53.change_resource_record_sets()
            .hosted_zone_id(&zone)
            .change_batch(
                ChangeBatch::builder()
                    .changes(
                        Change::builder()
                            .action(ChangeAction::Upsert)
                            .resource_record_set(changed)
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .expect("ChangeResourceRecordSets");
    });
    assert_eq!(
        latency_record(&stack).1.health_check_id(),
        Some(endpoint.as_str())
    );

    let (code, json) = drift_json(&f);
    assert_eq!(code, exit_code::DRIFT_FOUND, "{json:#}");
    let drift = json["drift"].as_array().expect("a drift array");
    let found: Vec<(&str, &str, &str, &str, &str)> = drift
        .iter()
        .map(|d| {
            (
                d["region"].as_str().unwrap(),
                d["logical_id"].as_str().unwrap(),
                d["property"].as_str().unwrap(),
                d["expected"].as_str().unwrap(),
                d["actual"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        found,
        vec![
            (HOME, "AutoScalingGroup", "MaxSize", "4", "9"),
            (
                HOME,
                "AlbSecurityGroup",
                "SecurityGroupIngress",
                "-",
                "tcp 22 203.0.113.0/24"
            ),
            (
                HOME,
                "PrivateDefaultRouteA",
                "NatGatewayId",
                nat.as_str(),
                "-"
            ),
            (HOME, "Alb5xxAlarm", "Threshold", "50", "500"),
            (
                HOME,
                "LatencyRecord",
                "HealthCheckId",
                serving.as_str(),
                endpoint.as_str()
            ),
            (
                HOME,
                "ContractDomain",
                "Value",
                def.dns.domain.as_str(),
                "elsewhere.example.com"
            ),
        ],
        "{json:#}"
    );
    let human = cli::strata_sandbox(&["drift", &f, "--region", HOME]);
    human.expect_code(exit_code::DRIFT_FOUND);
    assert!(
        human.stdout.contains("MaxSize") && human.stdout.contains("AlbSecurityGroup"),
        "{human}"
    );
    let other = cli::strata_sandbox(&["drift", &f, "--region", "eu-west-1"]);
    other.expect_code(exit_code::SUCCESS);

    // status --drift counts them per region.
    let status = cli::strata_sandbox(&["--output", "json", "status", &f, "--drift"]);
    status.expect_code(exit_code::SUCCESS);
    let status: Value = serde_json::from_str(&status.stdout).expect("status JSON");
    let count = |region: &str| {
        status["regions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["region"] == region)
            .map(|r| r["drift"].clone())
    };
    assert_eq!(count(HOME), Some(Value::from(6)), "{status:#}");
    assert_eq!(count("eu-west-1"), Some(Value::from(0)), "{status:#}");

    // The next deploy has nothing to change in the stacks; it puts both back.
    let run = cli::deploy_json(&file);
    run.expect_code(exit_code::SUCCESS);
    let summary = run.summary();
    assert_eq!(summary["outcome"], "drift-restored", "{run}");
    let restored: Vec<(&str, &str)> = summary["drift_restored"]
        .as_array()
        .expect("drift_restored")
        .iter()
        .map(|r| {
            (
                r["logical_id"].as_str().unwrap(),
                r["property"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        restored,
        vec![
            ("AutoScalingGroup", "MaxSize"),
            ("AlbSecurityGroup", "SecurityGroupIngress"),
            ("PrivateDefaultRouteA", "NatGatewayId"),
            ("Alb5xxAlarm", "Threshold"),
            ("LatencyRecord", "HealthCheckId"),
            ("ContractDomain", "Value"),
        ],
        "{run}"
    );
    assert!(
        run.stdout
            .contains("drift restored: us-east-1 AutoScalingGroup MaxSize 9 -> 4"),
        "an event per restored property\n{run}"
    );
    assert_eq!(asg_max(&asg), 4, "the template's MaxSize is back");
    assert!(!has_ssh(&group), "the hand-added rule is revoked");
    assert!(
        ingress(&group)
            .iter()
            .any(|(_, port, cidrs)| *port == Some(443) && cidrs.iter().any(|c| c == "0.0.0.0/0")),
        "the template's rule is kept"
    );
    assert!(
        run.stdout.contains(&format!(
            "drift restored: us-east-1 PrivateDefaultRouteA NatGatewayId - -> {nat}"
        )) && run
            .stdout
            .contains("drift restored: us-east-1 Alb5xxAlarm Threshold 500 -> 50"),
        "an event for the route and the alarm\n{run}"
    );
    assert_eq!(
        sdk::default_route(HOME, &table).as_deref(),
        Some(nat.as_str()),
        "the NAT default route is back"
    );
    assert_eq!(parameter(&domain), def.dns.domain, "the contract's domain");
    let (_, back_record) = latency_record(&stack);
    assert_eq!(
        back_record.health_check_id(),
        Some(serving.as_str()),
        "the serving check is the record's again"
    );
    assert_eq!(
        back_record.alias_target(),
        record.alias_target(),
        "the rest of the record as it was"
    );
    let back = alarm(&alarm_name);
    assert_eq!(back.threshold(), Some(50.0), "the template's threshold");
    assert_eq!(
        (back.metric_name(), back.period(), back.dimensions().len()),
        (live.metric_name(), live.period(), live.dimensions().len()),
        "the rest of the alarm is as it was"
    );

    let (code, json) = drift_json(&f);
    assert_eq!(code, exit_code::SUCCESS, "{json:#}");
}

/// The example stack (three regions, CloudFront, prefix-list ingress, standalone
/// and inline rules, egress to a group) has no drift right after its deploy, so
/// its next deploy is a true "nothing to change".
#[test]
fn the_example_stack_as_deployed_has_no_drift_and_redeploys_as_no_change() {
    let _moto = sandbox::exclusive();
    let file = sandbox::repo_dir().join("stacks/example.toml");
    let f = file.to_string_lossy().to_string();
    cli::deploy_json(&file).expect_code(exit_code::SUCCESS);
    let (code, json) = drift_json(&f);
    assert_eq!(code, exit_code::SUCCESS, "{json:#}");
    for r in json["regions"].as_array().expect("regions") {
        assert_eq!(r["state"], "compared", "{json:#}");
        // Every kind is compared, none given up on: routes, alarms (actions on
        // the alert topic), records, replication (role ARN and Fn::Sub
        // destinations resolved), contract parameters.
        for s in r["skipped"].as_array().expect("skipped") {
            let s = s.as_str().unwrap();
            assert!(
                !["Route", "Alarm", "Record", "Replication", "Contract"]
                    .iter()
                    .any(|k| s.contains(k)),
                "{s}\n{json:#}"
            );
        }
    }
    let again = cli::deploy_json(&file);
    again.expect_code(exit_code::SUCCESS);
    assert!(
        again.stdout.contains("\"outcome\":\"no-change\""),
        "{again}"
    );
}

/// A deploy that changes the stacks also puts back what its update leaves alone:
/// the ASG's MaxSize follows the new template, and a hand-added rule the update
/// does not touch is revoked after the rollout (outcome `deployed`, the rule in
/// `drift_restored`).
#[test]
fn a_deploy_with_changes_also_puts_back_what_its_update_leaves_alone() {
    let _moto = sandbox::exclusive();
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(sandbox::repo_dir().join(STAGING)).unwrap();
    let v1 = dir.path().join("staging.toml");
    std::fs::write(&v1, &text).unwrap();
    let def = strata::stack::load(&v1).expect("staging loads");
    cli::deploy_json(&v1).expect_code(exit_code::SUCCESS);

    let group = sdk::physical_id(HOME, &def.region_stack_name(HOME), "AlbSecurityGroup");
    let ec2 = sdk::ec2(HOME);
    sdk::block_on(async {
        ec2.authorize_security_group_ingress()
            .group_id(&group)
            .ip_permissions(
                aws_sdk_ec2::types::IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(22)
                    .to_port(22)
                    .ip_ranges(
                        aws_sdk_ec2::types::IpRange::builder()
                            .cidr_ip(ADDED)
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .expect("AuthorizeSecurityGroupIngress");
    });

    let changed = text.replace(
        "capacity = { min = 1, desired = 2, max = 4 }",
        "capacity = { min = 1, desired = 2, max = 5 }",
    );
    assert_ne!(changed, text);
    std::fs::write(&v1, changed).unwrap();
    let run = cli::deploy_json(&v1);
    run.expect_code(exit_code::SUCCESS);
    let summary = run.summary();
    assert_eq!(summary["outcome"], "deployed", "{run}");
    let restored: Vec<(&str, &str)> = summary["drift_restored"]
        .as_array()
        .unwrap_or_else(|| panic!("no drift_restored\n{run}"))
        .iter()
        .map(|r| {
            (
                r["logical_id"].as_str().unwrap(),
                r["property"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        restored,
        vec![("AlbSecurityGroup", "SecurityGroupIngress")],
        "{run}"
    );
    assert!(!has_ssh(&group), "the hand-added rule is revoked");
    let asg = sdk::physical_id(HOME, &def.region_stack_name(HOME), "AutoScalingGroup");
    assert_eq!(asg_max(&asg), 5, "the new template's MaxSize");
    let (code, json) = drift_json(&v1.to_string_lossy());
    assert_eq!(code, exit_code::SUCCESS, "{json:#}");
}
