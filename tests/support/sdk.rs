//! Test support: AWS SDK configuration pointed at this test binary's moto, for tests
//! that arrange or read back state directly (start an instance, create a stack,
//! list images, set an alarm's state), and a runtime to drive those calls from
//! plain `#[test]`s.

use super::sandbox;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use std::future::Future;
use std::sync::OnceLock;

/// The sandbox's account (moto's default), which every bucket name includes.
pub const ACCOUNT: &str = "123456789012";

/// Run one future to completion on a shared runtime.
pub fn block_on<F: Future>(f: F) -> F::Output {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("test runtime")
    })
    .block_on(f)
}

/// SDK configuration for `region`, fake credentials, every call to moto.
pub fn config(region: &str) -> SdkConfig {
    let endpoint = sandbox::endpoint();
    block_on(async move {
        aws_config::defaults(BehaviorVersion::latest())
            .credentials_provider(Credentials::new(
                strata::sandbox::FAKE_ACCESS_KEY_ID,
                strata::sandbox::FAKE_SECRET_ACCESS_KEY,
                None,
                None,
                "strata-tests",
            ))
            .endpoint_url(endpoint)
            .region(Region::new(region.to_string()))
            .load()
            .await
    })
}

pub fn ec2(region: &str) -> aws_sdk_ec2::Client {
    aws_sdk_ec2::Client::new(&config(region))
}

pub fn autoscaling(region: &str) -> aws_sdk_autoscaling::Client {
    aws_sdk_autoscaling::Client::new(&config(region))
}

/// DescribeAutoScalingGroups of one group; panics when it does not exist.
pub fn auto_scaling_group(
    region: &str,
    name: &str,
) -> aws_sdk_autoscaling::types::AutoScalingGroup {
    let out = block_on(
        autoscaling(region)
            .describe_auto_scaling_groups()
            .auto_scaling_group_names(name)
            .send(),
    )
    .expect("DescribeAutoScalingGroups");
    out.auto_scaling_groups()
        .first()
        .cloned()
        .unwrap_or_else(|| panic!("no Auto Scaling group {name} in {region}"))
}

/// The target (NAT gateway or gateway id) of the table's 0.0.0.0/0 route; None
/// when it has none.
pub fn default_route(region: &str, table_id: &str) -> Option<String> {
    let out = block_on(
        ec2(region)
            .describe_route_tables()
            .route_table_ids(table_id)
            .send(),
    )
    .expect("DescribeRouteTables");
    out.route_tables()[0]
        .routes()
        .iter()
        .find(|r| r.destination_cidr_block() == Some("0.0.0.0/0"))
        .and_then(|r| r.nat_gateway_id().or(r.gateway_id()).map(str::to_string))
}

pub fn cloudformation(region: &str) -> aws_sdk_cloudformation::Client {
    aws_sdk_cloudformation::Client::new(&config(region))
}

/// S3, path-style (the sandbox has no bucket DNS).
pub fn s3(region: &str) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::config::Builder::from(&config(region))
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

pub fn dynamodb(region: &str) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&config(region))
}

/// Route 53 (global; moto serves it from any region).
pub fn route53() -> aws_sdk_route53::Client {
    aws_sdk_route53::Client::new(&config("us-east-1"))
}

/// CloudWatch (the SDK speaks RPCv2-CBOR to the sandbox).
pub fn cloudwatch(region: &str) -> aws_sdk_cloudwatch::Client {
    aws_sdk_cloudwatch::Client::new(&config(region))
}

/// Wait until the stack `name` is no longer `*_IN_PROGRESS` (the sandbox runs
/// CloudFormation's operations asynchronously, as AWS does: see docs/sandbox.md) and
/// return its status; `None` once it is gone. Panics after 120 s.
pub async fn settled_stack(cfn: &aws_sdk_cloudformation::Client, name: &str) -> Option<String> {
    let started = std::time::Instant::now();
    loop {
        let status = match cfn.describe_stacks().stack_name(name).send().await {
            Ok(out) => out.stacks()[0]
                .stack_status()
                .map(|s| s.as_str().to_string()),
            Err(e) if format!("{e:?}").contains("does not exist") => return None,
            Err(e) => panic!("DescribeStacks {name}: {e:?}"),
        };
        match status {
            Some(s) if s.ends_with("_IN_PROGRESS") && s != "REVIEW_IN_PROGRESS" => {
                assert!(
                    started.elapsed() < std::time::Duration::from_secs(120),
                    "{name} still {s} after 120 s"
                );
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            other => return other,
        }
    }
}

pub fn iam() -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::new(&config("us-east-1"))
}

pub fn sns(region: &str) -> aws_sdk_sns::Client {
    aws_sdk_sns::Client::new(&config(region))
}

pub fn sqs(region: &str) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(&config(region))
}

/// A stack's resources as DescribeStackResources lists them: (logical id, type,
/// physical id). Panics naming the stack when the call fails.
pub async fn stack_resources(
    cfn: &aws_sdk_cloudformation::Client,
    stack: &str,
) -> Vec<(String, String, String)> {
    cfn.describe_stack_resources()
        .stack_name(stack)
        .send()
        .await
        .unwrap_or_else(|e| panic!("DescribeStackResources {stack}: {e:?}"))
        .stack_resources()
        .iter()
        .map(|r| {
            (
                r.logical_resource_id().unwrap_or_default().to_string(),
                r.resource_type().unwrap_or_default().to_string(),
                r.physical_resource_id().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

pub fn ssm(region: &str) -> aws_sdk_ssm::Client {
    aws_sdk_ssm::Client::new(&config(region))
}

/// A new public hosted zone named `name`; returns its id without `/hostedzone/`.
pub fn create_zone(name: &str) -> String {
    let r53 = route53();
    block_on(async {
        let out = r53
            .create_hosted_zone()
            .name(name)
            .caller_reference(sandbox::unique("zone"))
            .send()
            .await
            .expect("CreateHostedZone");
        out.hosted_zone()
            .unwrap()
            .id()
            .trim_start_matches("/hostedzone/")
            .to_string()
    })
}

/// Create a stack and wait for a final status: (status, reason of a failed resource).
pub fn create_and_settle(
    region: &str,
    name: &str,
    template: serde_json::Value,
) -> (String, String) {
    let cfn = cloudformation(region);
    block_on(async {
        cfn.create_stack()
            .stack_name(name)
            .template_body(template.to_string())
            .send()
            .await
            .expect("CreateStack");
        let status = settled_stack(&cfn, name).await.expect("the stack exists");
        let events = cfn
            .describe_stack_events()
            .stack_name(name)
            .send()
            .await
            .expect("DescribeStackEvents");
        let reason = events
            .stack_events()
            .iter()
            .filter(|e| {
                e.resource_status()
                    .is_some_and(|s| s.as_str() == "CREATE_FAILED")
            })
            .filter_map(|e| e.resource_status_reason())
            .collect::<Vec<_>>()
            .join("; ");
        (status, reason)
    })
}

/// The physical id of a stack's resource (DescribeStackResource).
pub fn physical_id(region: &str, stack: &str, logical: &str) -> String {
    let cfn = cloudformation(region);
    block_on(async {
        let out = cfn
            .describe_stack_resource()
            .stack_name(stack)
            .logical_resource_id(logical)
            .send()
            .await
            .expect("DescribeStackResource");
        out.stack_resource_detail()
            .unwrap()
            .physical_resource_id()
            .unwrap()
            .to_string()
    })
}

/// The id of the managed prefix list `name` in `region` (DescribeManagedPrefixLists).
pub fn managed_prefix_list(region: &str, name: &str) -> String {
    let ec2 = ec2(region);
    block_on(async {
        let out = ec2
            .describe_managed_prefix_lists()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("prefix-list-name")
                    .values(name)
                    .build(),
            )
            .send()
            .await
            .expect("DescribeManagedPrefixLists");
        out.prefix_lists()[0].prefix_list_id().unwrap().to_string()
    })
}
