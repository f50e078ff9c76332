//! End-to-end test of the canary (`[rollout.canary]`) against the sandbox: the
//! example deployed on one version, load-balancer metric data put into CloudWatch
//! in every region (the sandbox's load balancers send none of their own), the
//! first region's 5xx rate far above the others', then a new version deployed:
//! the first region fails its bake on the comparison and is put back, the others
//! are not touched. Read back through CloudFormation and Auto Scaling.

mod support;

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use std::path::{Path, PathBuf};
use support::cli::{deploy_json, deploy_json_baking};
use support::{sandbox, sdk};

const REGIONS: [&str; 3] = ["us-east-1", "us-west-2", "eu-west-1"];

/// The example without CloudFront, with a canary and the given desired capacity.
fn fixture(dir: &Path, name: &str, desired: u32) -> PathBuf {
    let canary = "on_failure = \"rollback-region\"\n\n[rollout.canary]\nmax_5xx_increase = 2.0\nmax_p99_increase_ms = 200\nmin_requests = 100";
    support::stacks::example_fixture(
        dir,
        name,
        desired,
        &[("on_failure = \"rollback-region\"", canary)],
    )
}

fn stack(region: &str) -> String {
    format!("shop-prod-{region}")
}

/// Put a region's load-balancer metrics for the next ten minutes: every 20 s,
/// 100 requests of which `errors` answered 5xx, answered in `seconds`.
fn put_traffic(region: &str, errors: f64, seconds: f64) {
    let arn = sdk::physical_id(region, &stack(region), "Alb");
    let lb = arn
        .split_once(":loadbalancer/")
        .expect("an ALB ARN")
        .1
        .to_string();
    let cw = sdk::cloudwatch(region);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    sdk::block_on(async {
        for k in 0..30 {
            let at = DateTime::from_secs(now - 30 + k * 20);
            let datum = |name: &str, value: f64, unit: StandardUnit| {
                MetricDatum::builder()
                    .metric_name(name)
                    .dimensions(Dimension::builder().name("LoadBalancer").value(&lb).build())
                    .timestamp(at)
                    .value(value)
                    .unit(unit)
                    .build()
            };
            cw.put_metric_data()
                .namespace("AWS/ApplicationELB")
                .metric_data(datum("RequestCount", 100.0, StandardUnit::Count))
                .metric_data(datum(
                    "HTTPCode_Target_5XX_Count",
                    errors,
                    StandardUnit::Count,
                ))
                .metric_data(datum("TargetResponseTime", seconds, StandardUnit::Seconds))
                .send()
                .await
                .unwrap_or_else(|e| panic!("PutMetricData in {region}: {e:?}"));
        }
    });
}

fn version_tag(region: &str) -> String {
    let cfn = sdk::cloudformation(region);
    sdk::block_on(async {
        cfn.describe_stacks()
            .stack_name(stack(region))
            .send()
            .await
            .expect("DescribeStacks")
            .stacks()[0]
            .tags()
            .iter()
            .find(|t| t.key() == Some("strata:version"))
            .and_then(|t| t.value())
            .unwrap_or_default()
            .to_string()
    })
}

fn desired_capacity(region: &str) -> i32 {
    let asg_name = sdk::physical_id(region, &stack(region), "AutoScalingGroup");
    let asg = aws_sdk_autoscaling::Client::new(&sdk::config(region));
    sdk::block_on(async {
        asg.describe_auto_scaling_groups()
            .auto_scaling_group_names(&asg_name)
            .send()
            .await
            .expect("DescribeAutoScalingGroups")
            .auto_scaling_groups()[0]
            .desired_capacity()
            .unwrap_or_default()
    })
}

#[test]
fn a_new_version_with_more_5xx_than_the_old_regions_fails_its_bake_and_is_put_back() {
    let _moto = sandbox::exclusive();
    let dir = tempfile::tempdir().unwrap();
    let v1 = fixture(dir.path(), "v1.toml", 2);
    let v2 = fixture(dir.path(), "v2.toml", 3);
    deploy_json(&v1).expect_code(0);
    let before: Vec<String> = REGIONS.iter().map(|r| version_tag(r)).collect();

    // 30 % of the new version's answers in us-east-1 are 5xx; 1 % elsewhere.
    put_traffic("us-east-1", 30.0, 0.05);
    put_traffic("us-west-2", 1.0, 0.06);
    put_traffic("eu-west-1", 1.0, 0.04);

    let run = deploy_json_baking(&v2, "2s");
    run.expect_code(strata::exit_code::DEPLOY_FAILED_ROLLED_BACK);
    let canary = run
        .json_lines()
        .into_iter()
        .find(|e| e["event"] == "health" && e["signal"] == "canary")
        .unwrap_or_else(|| panic!("no canary event\n{run}"));
    assert_eq!(canary["region"], "us-east-1", "{canary}");
    assert_eq!(canary["ok"], false, "{canary}");
    let detail = canary["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains(
            "5xx rate 30.00% against 1.00% on the old version (us-west-2, eu-west-1), more than 2 points above"
        ),
        "{detail}"
    );
    // The p99 was read too (the sandbox computes percentiles), within its margin.
    assert!(
        detail.ends_with("p99 50 ms against 60 ms in us-west-2"),
        "{detail}"
    );
    for (region, old) in REGIONS.iter().zip(&before) {
        assert_eq!(
            &version_tag(region),
            old,
            "{region} is not on the old version"
        );
        assert_eq!(desired_capacity(region), 2, "{region}");
    }
}
