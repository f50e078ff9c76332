//! The fault proxy in front of moto, driven by the real AWS SDK so that injected
//! errors go through the SDK's own error parsing and retry path: error shapes per
//! protocol (CloudWatch's RPCv2-CBOR included), probability and count limits,
//! dropped connections, body rewrites, hooks run before forwarding, region
//! matching and per-(region, service, action) counts.

mod support;

use aws_sdk_cloudformation::config::retry::RetryConfig;
use aws_sdk_cloudformation::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use std::time::Duration;
use support::fault_proxy::{CallKey, Fault, FaultProxy, Rule};

const TEMPLATE: &str = r#"{"Resources":{"Queue":{"Type":"AWS::SQS::Queue"}}}"#;

fn retry(attempts: u32) -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(attempts)
        .with_initial_backoff(Duration::from_millis(5))
        .with_max_backoff(Duration::from_millis(50))
}

fn credentials() -> Credentials {
    Credentials::new("testing", "testing", None, None, "fault-proxy-test")
}

fn cfn(proxy: &FaultProxy, region: &str, attempts: u32) -> aws_sdk_cloudformation::Client {
    let conf = aws_sdk_cloudformation::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .endpoint_url(proxy.url())
        .credentials_provider(credentials())
        .retry_config(retry(attempts))
        .build();
    aws_sdk_cloudformation::Client::from_conf(conf)
}

fn key(region: &str, service: &str, action: &str) -> CallKey {
    CallKey {
        region: region.to_string(),
        service: service.to_string(),
        action: action.to_string(),
    }
}

async fn create_stack(client: &aws_sdk_cloudformation::Client, name: &str) {
    client
        .create_stack()
        .stack_name(name)
        .template_body(TEMPLATE)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create {name}: {e:?}"));
}

#[tokio::test]
async fn an_injected_error_reaches_the_sdk_with_its_code_and_message() {
    let _moto = support::sandbox::shared();
    let proxy = FaultProxy::in_front_of_sandbox();
    let rule = proxy.add(Rule::new(Fault::Throttle).action("DescribeStacks"));
    let client = cfn(&proxy, "us-east-1", 1);

    let err = client.describe_stacks().send().await.unwrap_err();
    let service = err
        .as_service_error()
        .expect("a service error, not a transport one");
    assert_eq!(service.code(), Some("Throttling"));
    assert_eq!(service.message(), Some("Rate exceeded"));

    // Other actions are untouched by that rule.
    client
        .list_stacks()
        .send()
        .await
        .expect("ListStacks is forwarded");

    proxy.clear_rules();
    proxy.add(
        Rule::new(Fault::error(
            400,
            "ValidationError",
            "Stack with id x does not exist",
        ))
        .service("cloudformation"),
    );
    let err = client.describe_stacks().send().await.unwrap_err();
    let service = err.as_service_error().unwrap();
    assert_eq!(service.code(), Some("ValidationError"));
    assert_eq!(service.message(), Some("Stack with id x does not exist"));

    assert_eq!(proxy.fired(rule), 1);
    assert_eq!(
        proxy.count(
            Some("us-east-1"),
            Some("cloudformation"),
            Some("DescribeStacks")
        ),
        2
    );
    assert_eq!(proxy.count(None, None, Some("ListStacks")), 1);
}

#[tokio::test]
async fn retries_get_through_thirty_percent_throttling() {
    let _moto = support::sandbox::shared();
    let proxy = FaultProxy::in_front_of_sandbox();
    let throttle = proxy.add(Rule::new(Fault::Throttle).probability(0.3));
    let client = cfn(&proxy, "us-west-2", 10);
    let name = support::sandbox::unique("throttled");

    create_stack(&client, &name).await;
    for _ in 0..20 {
        let out = client
            .describe_stacks()
            .stack_name(&name)
            .send()
            .await
            .expect("a retried call succeeds");
        assert_eq!(out.stacks().len(), 1);
    }

    let fired = proxy.fired(throttle);
    assert!(fired > 0, "some calls were throttled");
    let describes = proxy.count(
        Some("us-west-2"),
        Some("cloudformation"),
        Some("DescribeStacks"),
    );
    let creates = proxy.count(
        Some("us-west-2"),
        Some("cloudformation"),
        Some("CreateStack"),
    );
    assert_eq!(describes + creates, 21 + fired, "every attempt is counted");
    // Throttled CreateStack attempts never reached moto: exactly one stack exists.
    proxy.clear_rules();
    let all = client.list_stacks().send().await.unwrap();
    let ours = all
        .stack_summaries()
        .iter()
        .filter(|s| s.stack_name() == Some(name.as_str()))
        .count();
    assert_eq!(ours, 1);
}

#[tokio::test]
async fn rules_match_by_region_and_counts_are_per_region() {
    let _moto = support::sandbox::shared();
    let proxy = FaultProxy::in_front_of_sandbox();
    let failing = proxy.add(
        Rule::new(Fault::error(
            400,
            "InsufficientCapacity",
            "no room in eu-west-1",
        ))
        .region("eu-west-1")
        .action("CreateStack"),
    );
    let east = cfn(&proxy, "us-east-1", 1);
    let west = cfn(&proxy, "eu-west-1", 1);
    let name = support::sandbox::unique("regional");

    create_stack(&east, &name).await;
    let err = west
        .create_stack()
        .stack_name(&name)
        .template_body(TEMPLATE)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.as_service_error().unwrap().code(),
        Some("InsufficientCapacity")
    );
    assert_eq!(proxy.fired(failing), 1);

    // moto got the stack in us-east-1 only.
    let described = east
        .describe_stacks()
        .stack_name(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(described.stacks().len(), 1);
    assert!(west
        .describe_stacks()
        .stack_name(&name)
        .send()
        .await
        .is_err());

    let counts = proxy.counts();
    assert_eq!(
        counts[&key("us-east-1", "cloudformation", "CreateStack")],
        1
    );
    assert_eq!(
        counts[&key("eu-west-1", "cloudformation", "CreateStack")],
        1
    );
    assert_eq!(
        counts[&key("us-east-1", "cloudformation", "DescribeStacks")],
        1
    );
    assert_eq!(
        counts[&key("eu-west-1", "cloudformation", "DescribeStacks")],
        1
    );

    let mutating = proxy.mutating_calls();
    assert_eq!(
        mutating.keys().cloned().collect::<Vec<_>>(),
        vec![
            key("eu-west-1", "cloudformation", "CreateStack"),
            key("us-east-1", "cloudformation", "CreateStack"),
        ]
    );
    proxy.clear_calls();
    assert!(proxy.counts().is_empty());
}

#[tokio::test]
async fn a_rewrite_changes_what_the_sdk_reads_and_times_limits_it() {
    let _moto = support::sandbox::shared();
    let proxy = FaultProxy::in_front_of_sandbox();
    let client = cfn(&proxy, "ap-southeast-2", 1);
    let name = support::sandbox::unique("rewritten");
    create_stack(&client, &name).await;
    // The sandbox creates stacks asynchronously, as AWS does: wait (straight at
    // moto, not through the proxy) until it is CREATE_COMPLETE.
    let settled = support::sdk::settled_stack(
        &cfn_at(support::sandbox::endpoint(), "ap-southeast-2"),
        &name,
    )
    .await;
    assert_eq!(settled.as_deref(), Some("CREATE_COMPLETE"));
    let status = |out: aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput| {
        out.stacks()[0].stack_status().unwrap().as_str().to_string()
    };

    let rule = proxy.add(
        Rule::new(Fault::rewrite(
            "<StackStatus>CREATE_COMPLETE</StackStatus>",
            "<StackStatus>ROLLBACK_COMPLETE</StackStatus>",
        ))
        .region("ap-southeast-2")
        .action("DescribeStacks")
        .times(1),
    );
    let first = client
        .describe_stacks()
        .stack_name(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(status(first), "ROLLBACK_COMPLETE");
    let second = client
        .describe_stacks()
        .stack_name(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(status(second), "CREATE_COMPLETE");
    assert_eq!(proxy.fired(rule), 1);
}

#[tokio::test]
async fn a_dropped_connection_is_retried_and_a_delay_only_delays() {
    let _moto = support::sandbox::shared();
    let proxy = FaultProxy::in_front_of_sandbox();
    let drop = proxy.add(Rule::new(Fault::Drop).action("ListStacks").times(1));
    let delay = proxy.add(
        Rule::new(Fault::Delay(Duration::from_millis(100)))
            .action("ListStacks")
            .times(1),
    );

    // Without retries the dropped connection is a transport error...
    let err = cfn(&proxy, "us-east-1", 1)
        .list_stacks()
        .send()
        .await
        .unwrap_err();
    assert!(err.as_service_error().is_none(), "{err:?}");
    assert_eq!(proxy.fired(drop), 1);

    // ...then the drop rule is spent, the delay applies once, and the call succeeds.
    cfn(&proxy, "us-east-1", 1)
        .list_stacks()
        .send()
        .await
        .expect("delayed, then forwarded");
    assert_eq!(proxy.fired(delay), 1);

    // A retried drop: the SDK's retry succeeds on the second attempt.
    proxy.add(Rule::new(Fault::Drop).action("ListStacks").times(1));
    cfn(&proxy, "us-east-1", 3)
        .list_stacks()
        .send()
        .await
        .expect("retried after the drop");
    assert_eq!(proxy.count(None, None, Some("ListStacks")), 4);
}

#[tokio::test]
async fn error_shapes_fit_ec2_json_cbor_and_rest_protocols() {
    let _moto = support::sandbox::shared();
    let proxy = FaultProxy::in_front_of_sandbox();
    proxy.add(Rule::new(Fault::Throttle));
    let shared = aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-central-1"))
        .endpoint_url(proxy.url())
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(credentials()),
        )
        .retry_config(retry(1))
        .build();

    let ec2 = aws_sdk_ec2::Client::new(&shared);
    let err = ec2.describe_vpcs().send().await.unwrap_err();
    assert_eq!(
        err.as_service_error().unwrap().code(),
        Some("RequestLimitExceeded")
    );

    let dynamodb = aws_sdk_dynamodb::Client::new(&shared);
    let err = dynamodb.list_tables().send().await.unwrap_err();
    assert_eq!(
        err.as_service_error().unwrap().code(),
        Some("ThrottlingException")
    );

    let route53 = aws_sdk_route53::Client::new(&shared);
    let err = route53.list_hosted_zones().send().await.unwrap_err();
    assert_eq!(err.as_service_error().unwrap().code(), Some("Throttling"));

    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&shared);
    let err = elb.describe_target_groups().send().await.unwrap_err();
    assert_eq!(err.as_service_error().unwrap().code(), Some("Throttling"));

    // CloudWatch speaks RPCv2-CBOR: the error is a CBOR map the SDK decodes.
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&shared);
    let err = cloudwatch.describe_alarms().send().await.unwrap_err();
    assert_eq!(
        err.as_service_error().unwrap().code(),
        Some("ThrottlingException")
    );
    assert_eq!(
        err.as_service_error().unwrap().message(),
        Some("Rate exceeded")
    );

    let counts = proxy.counts();
    assert_eq!(counts[&key("eu-central-1", "ec2", "DescribeVpcs")], 1);
    assert_eq!(counts[&key("eu-central-1", "dynamodb", "ListTables")], 1);
    // Route 53 is global, but with an endpoint override the SDK signs it with the
    // client's own region: that is the region the proxy sees.
    assert_eq!(
        counts[&key("eu-central-1", "route53", "ListHostedZones")],
        1
    );
    assert_eq!(
        counts[&key(
            "eu-central-1",
            "elasticloadbalancing",
            "DescribeTargetGroups"
        )],
        1
    );
    assert_eq!(
        counts[&key("eu-central-1", "monitoring", "DescribeAlarms")],
        1
    );
    assert!(
        proxy.mutating_calls().is_empty(),
        "{:?}",
        proxy.mutating_calls()
    );
}

#[test]
fn mutating_means_not_describe_list_get_validate_estimate() {
    for (action, mutating) in [
        ("CreateStack", true),
        ("ExecuteChangeSet", true),
        ("UpdateAutoScalingGroup", true),
        ("DescribeStacks", false),
        ("ListStackResources", false),
        ("GetTemplate", false),
        ("ValidateTemplate", false),
        ("EstimateTemplateCost", false),
        ("POST /2013-04-01/hostedzone/Z1/rrset", true),
        ("GET /bucket/key", false),
        ("PUT /bucket/key", true),
    ] {
        assert_eq!(key("r", "s", action).is_mutating(), mutating, "{action}");
    }
    assert!(!key("unknown", "moto-api", "POST /moto-api/reset").is_mutating());
}

#[tokio::test]
async fn targets_can_be_reported_unhealthy_in_one_region() {
    use aws_sdk_elasticloadbalancingv2::types::{TargetDescription, TargetHealthStateEnum};
    let _moto = support::sandbox::shared();
    let proxy = FaultProxy::in_front_of_sandbox();
    let config = |region: &str| {
        aws_config::SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .endpoint_url(proxy.url())
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(credentials()),
            )
            .retry_config(retry(1))
            .build()
    };
    // One healthy target per region, built in moto through the proxy.
    let mut groups = Vec::new();
    for region in ["us-east-1", "eu-west-1"] {
        let conf = config(region);
        let ec2 = aws_sdk_ec2::Client::new(&conf);
        let elb = aws_sdk_elasticloadbalancingv2::Client::new(&conf);
        let vpc = ec2
            .create_vpc()
            .cidr_block("10.0.0.0/16")
            .send()
            .await
            .unwrap();
        let vpc = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
        let subnet = ec2
            .create_subnet()
            .vpc_id(&vpc)
            .cidr_block("10.0.1.0/24")
            .availability_zone(format!("{region}a"))
            .send()
            .await
            .unwrap();
        let subnet = subnet.subnet().unwrap().subnet_id().unwrap().to_string();
        let images = ec2.describe_images().owners("amazon").send().await.unwrap();
        let ami = images.images()[0].image_id().unwrap().to_string();
        let run = ec2
            .run_instances()
            .image_id(ami)
            .min_count(1)
            .max_count(1)
            .subnet_id(subnet)
            .send()
            .await
            .unwrap();
        let instance = run.instances()[0].instance_id().unwrap().to_string();
        let tg = elb
            .create_target_group()
            .name(support::sandbox::unique("tg"))
            .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
            .port(80)
            .vpc_id(vpc)
            .send()
            .await
            .unwrap();
        let tg = tg.target_groups()[0]
            .target_group_arn()
            .unwrap()
            .to_string();
        elb.register_targets()
            .target_group_arn(&tg)
            .targets(TargetDescription::builder().id(instance).build())
            .send()
            .await
            .unwrap();
        groups.push((elb, tg));
    }

    proxy.add(
        Rule::new(Fault::rewrite(
            "<State>healthy</State>",
            "<State>unhealthy</State>",
        ))
        .region("eu-west-1")
        .action("DescribeTargetHealth"),
    );
    let mut states = Vec::new();
    for (elb, tg) in &groups {
        let health = elb
            .describe_target_health()
            .target_group_arn(tg)
            .send()
            .await
            .unwrap();
        let desc = &health.target_health_descriptions()[0];
        states.push(desc.target_health().unwrap().state().unwrap().clone());
    }
    assert_eq!(
        states,
        vec![
            TargetHealthStateEnum::Healthy,
            TargetHealthStateEnum::Unhealthy
        ]
    );
    assert_eq!(
        proxy.count(
            Some("eu-west-1"),
            Some("elasticloadbalancing"),
            Some("DescribeTargetHealth")
        ),
        1
    );
    let mutating = proxy.mutating_calls();
    assert_eq!(mutating[&key("eu-west-1", "ec2", "RunInstances")], 1);
    assert_eq!(
        mutating[&key("us-east-1", "elasticloadbalancing", "RegisterTargets")],
        1
    );
}

#[test]
fn wait_for_sees_a_call_made_by_another_thread() {
    let _moto = support::sandbox::shared();
    let proxy = FaultProxy::in_front_of_sandbox();
    assert!(!proxy.wait_for(None, None, Some("ListStacks"), Duration::from_millis(50)));
    let url = proxy.url();
    let caller = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let conf = aws_sdk_cloudformation::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new("sa-east-1"))
                .endpoint_url(url)
                .credentials_provider(credentials())
                .build();
            aws_sdk_cloudformation::Client::from_conf(conf)
                .list_stacks()
                .send()
                .await
                .unwrap();
        });
    });
    assert!(proxy.wait_for(
        Some("sa-east-1"),
        Some("cloudformation"),
        Some("List*"),
        Duration::from_secs(60)
    ));
    caller.join().unwrap();
}

#[tokio::test]
async fn a_hook_runs_before_the_request_is_forwarded() {
    let _moto = support::sandbox::shared();
    let proxy = FaultProxy::in_front_of_sandbox();
    let stack = support::sandbox::unique("hooked");
    let upstream = cfn_at(support::sandbox::endpoint(), "ap-south-1");
    let name = stack.clone();
    // Create the stack straight in moto right before the proxied DescribeStacks
    // (the hook runs on a plain thread of its own: it may block).
    let hook = proxy.add(
        Rule::new(Fault::before(move || {
            let upstream = cfn_at(support::sandbox::endpoint(), "ap-south-1");
            tokio::runtime::Runtime::new().unwrap().block_on(async {
                upstream
                    .create_stack()
                    .stack_name(&name)
                    .template_body(TEMPLATE)
                    .send()
                    .await
                    .expect("CreateStack")
            });
        }))
        .action("DescribeStacks")
        .times(1),
    );
    let out = cfn(&proxy, "ap-south-1", 1)
        .describe_stacks()
        .stack_name(&stack)
        .send()
        .await
        .expect("the stack exists once the hook ran");
    assert_eq!(out.stacks().len(), 1);
    assert_eq!(proxy.fired(hook), 1);
    // The hook's own call went straight to moto, not through the proxy.
    assert_eq!(proxy.count(None, None, Some("CreateStack")), 0);
    // A stack is deleted once its creation has finished (AWS refuses a delete
    // while CREATE_IN_PROGRESS).
    support::sdk::settled_stack(&upstream, &stack).await;
    upstream
        .delete_stack()
        .stack_name(&stack)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_hook_that_panics_answers_with_an_error() {
    let _moto = support::sandbox::shared();
    let proxy = FaultProxy::in_front_of_sandbox();
    proxy.add(Rule::new(Fault::before(|| panic!("hook fails on purpose"))).times(1));
    let err = cfn(&proxy, "ap-south-1", 1)
        .describe_stacks()
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.as_service_error().unwrap().code(),
        Some("ProxyHookFailed")
    );
}

fn cfn_at(endpoint: String, region: &str) -> aws_sdk_cloudformation::Client {
    let conf = aws_sdk_cloudformation::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .endpoint_url(endpoint)
        .credentials_provider(credentials())
        .build();
    aws_sdk_cloudformation::Client::from_conf(conf)
}
