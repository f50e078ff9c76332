//! `strata status` through the real binary against the sandbox: a stack with no
//! region deployed, and a region whose stack (created directly through
//! CloudFormation) carries the deploy's tags, `AmiId` parameter and outputs.

mod support;

use serde_json::Value;
use std::path::PathBuf;
use strata::exit_code;
use support::fault_proxy::{Fault, FaultProxy, Rule};
use support::{cli, sandbox, sdk};

const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "ap-southeast-2"];

fn stack_file(dir: &tempfile::TempDir, app: &str) -> PathBuf {
    let regions: String = REGIONS
        .iter()
        .enumerate()
        .map(|(i, r)| {
            format!(
                "[[regions]]\nname = \"{r}\"\ncidr = \"10.{i}.0.0/16\"\nazs = [\"{r}a\", \"{r}b\"]\n\n"
            )
        })
        .collect();
    let text = format!(
        r#"[app]
name = "{app}"
environment = "test"

[dns]
domain = "{app}.example.com"
hosted_zone = "example.com"

{regions}[rollout]
order = ["us-east-1", "eu-west-1", "ap-southeast-2"]

[compute]
instance_type = "t3.micro"
app_port = 8080
health_check_path = "/health"
capacity = {{ min = 2, desired = 2, max = 4 }}

[ami]
id = "ami-0123456789abcdef0"
build_region = "us-east-1"

[capacity]
peak_rps = 100
rps_per_instance = 100
"#
    );
    let path = dir.path().join(format!("{app}.toml"));
    std::fs::write(&path, text).expect("write stack file");
    path
}

fn status_json(file: &std::path::Path) -> Value {
    let run = cli::strata_sandbox(&["--output", "json", "status", file.to_str().unwrap()]);
    run.expect_code(exit_code::SUCCESS);
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not JSON ({e})\n{run}"))
}

fn region<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["regions"]
        .as_array()
        .expect("regions")
        .iter()
        .find(|r| r["region"] == name)
        .unwrap_or_else(|| panic!("no {name} in {status:#}"))
}

#[test]
fn every_region_shows_not_deployed_without_stacks() {
    let _moto = sandbox::shared();
    let dir = tempfile::tempdir().unwrap();
    let file = stack_file(&dir, &sandbox::unique("empty"));

    let status = status_json(&file);
    for r in REGIONS {
        assert_eq!(region(&status, r)["state"], "not-deployed", "{status:#}");
    }

    let run = cli::strata_sandbox(&["status", file.to_str().unwrap()]);
    run.expect_code(exit_code::SUCCESS);
    let rows: Vec<&str> = run.stdout.lines().skip(1).collect();
    assert_eq!(rows.len(), 3, "{run}");
    for (row, r) in rows.iter().zip(REGIONS) {
        assert!(row.starts_with(r) && row.contains("not deployed"), "{run}");
    }
}

/// The resources a deployed region has, made through the SDK, and the region stack
/// (created through CloudFormation) that names them in its outputs.
fn deploy_region_by_hand(region: &str, stack_name: &str, app: &str) {
    let conf = sdk::config(region);
    let ec2 = aws_sdk_ec2::Client::new(&conf);
    let asg = aws_sdk_autoscaling::Client::new(&conf);
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&conf);
    let r53 = aws_sdk_route53::Client::new(&sdk::config("us-east-1"));
    let s3 = sdk::s3(region);
    let cfn = sdk::cloudformation(region);
    sdk::block_on(async {
        let image = ec2
            .describe_images()
            .owners("amazon")
            .send()
            .await
            .unwrap()
            .images()[0]
            .image_id()
            .unwrap()
            .to_string();
        let lt_name = format!("{app}-lt");
        ec2.create_launch_template()
            .launch_template_name(&lt_name)
            .launch_template_data(
                aws_sdk_ec2::types::RequestLaunchTemplateData::builder()
                    .image_id(&image)
                    .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let vpc = ec2
            .create_vpc()
            .cidr_block("10.1.0.0/16")
            .send()
            .await
            .unwrap();
        let tg = elb
            .create_target_group()
            .name(format!("{app}-tg").chars().take(32).collect::<String>())
            .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
            .port(8080)
            .vpc_id(vpc.vpc().unwrap().vpc_id().unwrap())
            .send()
            .await
            .unwrap();
        let tg_arn = tg.target_groups()[0]
            .target_group_arn()
            .unwrap()
            .to_string();
        let asg_name = format!("{app}-asg");
        asg.create_auto_scaling_group()
            .auto_scaling_group_name(&asg_name)
            .launch_template(
                aws_sdk_autoscaling::types::LaunchTemplateSpecification::builder()
                    .launch_template_name(&lt_name)
                    .build(),
            )
            .min_size(2)
            .max_size(4)
            .desired_capacity(2)
            .availability_zones(format!("{region}a"))
            .availability_zones(format!("{region}b"))
            .target_group_arns(&tg_arn)
            .send()
            .await
            .unwrap();
        let hc = r53
            .create_health_check()
            .caller_reference(app)
            .health_check_config(
                aws_sdk_route53::types::HealthCheckConfig::builder()
                    .r#type(aws_sdk_route53::types::HealthCheckType::Http)
                    .fully_qualified_domain_name(format!("{region}.{app}.example.com"))
                    .port(80)
                    .resource_path("/health")
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        let hc_id = hc.health_check().unwrap().id().to_string();
        let bucket = format!("{app}-{region}");
        s3.create_bucket()
            .bucket(&bucket)
            .create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(region))
                    .build(),
            )
            .send()
            .await
            .unwrap();
        s3.put_bucket_versioning()
            .bucket(&bucket)
            .versioning_configuration(
                aws_sdk_s3::types::VersioningConfiguration::builder()
                    .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        s3.put_bucket_replication()
            .bucket(&bucket)
            .replication_configuration(
                aws_sdk_s3::types::ReplicationConfiguration::builder()
                    .role("arn:aws:iam::123456789012:role/replication")
                    .rules(
                        aws_sdk_s3::types::ReplicationRule::builder()
                            .id("to-us-east-1")
                            .priority(1)
                            .status(aws_sdk_s3::types::ReplicationRuleStatus::Enabled)
                            .filter(
                                aws_sdk_s3::types::ReplicationRuleFilter::builder()
                                    .prefix("")
                                    .build(),
                            )
                            .destination(
                                aws_sdk_s3::types::Destination::builder()
                                    .bucket(format!("arn:aws:s3:::{app}-us-east-1"))
                                    .build()
                                    .unwrap(),
                            )
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();

        let body = serde_json::json!({
            "Parameters": { "AmiId": { "Type": "String" } },
            "Resources": { "LaunchTemplate": { "Type": "AWS::EC2::LaunchTemplate",
                "Properties": { "LaunchTemplateData": { "ImageId": { "Ref": "AmiId" } } } } },
            "Outputs": {
                "AsgName": { "Value": asg_name },
                "TargetGroupArn": { "Value": tg_arn },
                "HealthCheckId": { "Value": hc_id },
                "BucketName": { "Value": bucket },
            }
        });
        let tag = |k: &str, v: &str| {
            aws_sdk_cloudformation::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
        };
        cfn.create_stack()
            .stack_name(stack_name)
            .template_body(body.to_string())
            .parameters(
                aws_sdk_cloudformation::types::Parameter::builder()
                    .parameter_key("AmiId")
                    .parameter_value("ami-0aaaabbbbccccdddd")
                    .build(),
            )
            .tags(tag("strata:deployment-id", "dep-1"))
            .tags(tag("strata:version", "shop-2.3.0"))
            .tags(tag("strata:deployed-by", "alice"))
            .tags(tag("strata:deployed-at", "2026-11-25T01:00:00Z"))
            .send()
            .await
            .unwrap();
        // The sandbox creates stacks asynchronously, as AWS does.
        sdk::settled_stack(&cfn, stack_name).await;
    });
}

#[test]
fn a_deployed_region_shows_version_ami_capacity_health_and_replication() {
    let _moto = sandbox::shared();
    let dir = tempfile::tempdir().unwrap();
    let app = sandbox::unique("st");
    let file = stack_file(&dir, &app);
    deploy_region_by_hand("eu-west-1", &format!("{app}-test-eu-west-1"), &app);

    let status = status_json(&file);
    let eu = region(&status, "eu-west-1");
    assert_eq!(eu["state"], "deployed", "{status:#}");
    assert_eq!(eu["stack_status"], "CREATE_COMPLETE");
    assert_eq!(eu["version"], "shop-2.3.0");
    assert_eq!(eu["ami"], "ami-0aaaabbbbccccdddd");
    assert_eq!(eu["deployed_by"], "alice");
    assert_eq!(eu["deployed_at"], "2026-11-25T01:00:00Z");
    assert_eq!(eu["asg"]["in_service"], 2);
    assert_eq!(eu["asg"]["desired"], 2);
    assert_eq!(eu["targets"]["healthy"], 2);
    assert_eq!(eu["targets"]["total"], 2);
    assert_eq!(eu["health_check"]["healthy"], true);
    assert_eq!(eu["replication"]["configured"], true);
    assert_eq!(
        eu["replication"]["destinations"],
        serde_json::json!([format!("arn:aws:s3:::{app}-us-east-1")])
    );
    assert_eq!(eu["problems"], serde_json::json!([]));
    for r in ["us-east-1", "ap-southeast-2"] {
        assert_eq!(region(&status, r)["state"], "not-deployed");
    }

    let run = cli::strata_sandbox(&["status", file.to_str().unwrap()]);
    run.expect_code(exit_code::SUCCESS);
    let row = run
        .stdout
        .lines()
        .find(|l| l.starts_with("eu-west-1"))
        .unwrap_or_else(|| panic!("{run}"));
    for cell in [
        "CREATE_COMPLETE",
        "shop-2.3.0",
        "ami-0aaaabbbbccccdddd",
        "alice",
        "2/2",
        "2/2 healthy",
        "1 rule(s)",
    ] {
        assert!(row.contains(cell), "{cell} missing in {row:?}\n{run}");
    }
}

#[test]
fn a_region_that_does_not_answer_shows_unreachable_and_the_rest_still_shows() {
    let _moto = sandbox::shared();
    let dir = tempfile::tempdir().unwrap();
    let app = sandbox::unique("dark");
    let file = stack_file(&dir, &app);
    deploy_region_by_hand("eu-west-1", &format!("{app}-test-eu-west-1"), &app);

    let proxy = FaultProxy::in_front_of_sandbox();
    let dropped = proxy.add(Rule::new(Fault::Drop).region("ap-southeast-2"));

    let run = cli::strata_at(
        &proxy.url(),
        &["--output", "json", "status", file.to_str().unwrap()],
    );
    run.expect_code(exit_code::SUCCESS);
    assert!(proxy.fired(dropped) >= 1);
    let status: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}\n{run}"));
    assert_eq!(
        region(&status, "ap-southeast-2")["state"],
        "unreachable",
        "{status:#}"
    );
    assert_eq!(region(&status, "eu-west-1")["state"], "deployed");
    assert_eq!(region(&status, "eu-west-1")["version"], "shop-2.3.0");
    assert_eq!(region(&status, "eu-west-1")["asg"]["in_service"], 2);
    assert_eq!(region(&status, "us-east-1")["state"], "not-deployed");

    let run = cli::strata_at(&proxy.url(), &["status", file.to_str().unwrap()]);
    run.expect_code(exit_code::SUCCESS);
    let row = |r: &str| {
        run.stdout
            .lines()
            .find(|l| l.starts_with(r))
            .unwrap_or_else(|| panic!("no {r} row\n{run}"))
            .to_string()
    };
    assert!(row("ap-southeast-2").contains("unreachable"), "{run}");
    assert!(row("eu-west-1").contains("shop-2.3.0"), "{run}");
    assert!(row("us-east-1").contains("not deployed"), "{run}");
}

#[test]
fn a_region_that_hangs_is_cut_off_by_the_region_timeout() {
    let _moto = sandbox::shared();
    let dir = tempfile::tempdir().unwrap();
    let file = stack_file(&dir, &sandbox::unique("hang"));

    let proxy = FaultProxy::in_front_of_sandbox();
    proxy.add(Rule::new(Fault::Delay(std::time::Duration::from_secs(600))).region("eu-west-1"));

    let run = cli::strata_at(
        &proxy.url(),
        &["--output", "json", "status", file.to_str().unwrap()],
    );
    run.expect_code(exit_code::SUCCESS);
    let status: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}\n{run}"));
    let eu = region(&status, "eu-west-1");
    assert_eq!(eu["state"], "unreachable", "{status:#}");
    assert!(
        eu["reason"]
            .as_str()
            .is_some_and(|r| r.contains("no answer within")),
        "{status:#}"
    );
    for r in ["us-east-1", "ap-southeast-2"] {
        assert_eq!(region(&status, r)["state"], "not-deployed");
    }
}
