//! The sandbox says no where AWS says no (issue 13): each test proves one rule of
//! CloudFormation (or of the service behind a resource) against the sandbox through
//! the SDK, as a client of AWS would see it. The rules, their AWS pages and these
//! tests are listed in docs/sandbox.md ("CloudFormation: resources and lifecycle").

mod support;

use aws_sdk_cloudformation::types::{ChangeSetType, Parameter, StackEvent};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::{sandbox, sdk};

type Cfn = aws_sdk_cloudformation::Client;

/// Every distinct status the stack showed until it settled (polled every 50 ms).
async fn statuses_until_settled(cfn: &Cfn, name: &str) -> Vec<String> {
    let started = Instant::now();
    let mut seen: Vec<String> = Vec::new();
    loop {
        let status = match cfn.describe_stacks().stack_name(name).send().await {
            Ok(out) => out.stacks()[0].stack_status().unwrap().as_str().to_string(),
            Err(e) if format!("{e:?}").contains("does not exist") => "GONE".to_string(),
            Err(e) => panic!("DescribeStacks {name}: {e:?}"),
        };
        if seen.last() != Some(&status) {
            seen.push(status.clone());
        }
        if status == "GONE" || !status.ends_with("_IN_PROGRESS") {
            return seen;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{name}: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn events(cfn: &Cfn, name: &str) -> Vec<StackEvent> {
    let mut out = cfn
        .describe_stack_events()
        .stack_name(name)
        .send()
        .await
        .expect("DescribeStackEvents")
        .stack_events()
        .to_vec();
    out.reverse(); // oldest first
    out
}

fn event_of<'a>(
    events: &'a [StackEvent],
    logical_id: &str,
    status: &str,
) -> Option<&'a StackEvent> {
    events.iter().find(|e| {
        e.logical_resource_id() == Some(logical_id)
            && e.resource_status().map(|s| s.as_str()) == Some(status)
    })
}

/// Make `logical_id` of `stack` fail when an operation (`on=operation`) or a
/// rollback (`on=rollback`) touches it, through the sandbox control endpoint.
fn inject_fault(stack: &str, logical_id: &str, on: &str) {
    let path = format!("/moto-api/strata/cfn-faults?stack={stack}&logical_id={logical_id}&on={on}");
    let r = strata::sandbox::http::request("POST", sandbox::port(), &path, Duration::from_secs(10))
        .expect("fault endpoint");
    assert_eq!(r.status, 200, "{}", r.body);
}

fn queues(extra: Value) -> String {
    let mut resources = json!({ "First": { "Type": "AWS::SQS::Queue" } });
    for (k, v) in extra.as_object().unwrap() {
        resources[k] = v.clone();
    }
    json!({ "Resources": resources }).to_string()
}

#[test]
fn a_resource_type_the_sandbox_does_not_model_fails_the_stack_and_rolls_it_back() {
    let _moto = sandbox::shared();
    let cfn = sdk::cloudformation("eu-west-1");
    let s3 = sdk::s3("eu-west-1");
    let stack = sandbox::unique("unmodelled");
    let body = json!({
        "Resources": {
            "Bucket": { "Type": "AWS::S3::Bucket" },
            "Thing": { "Type": "AWS::Strata::NotModelled", "Properties": {} }
        }
    })
    .to_string();
    sdk::block_on(async {
        cfn.create_stack()
            .stack_name(&stack)
            .template_body(body)
            .send()
            .await
            .expect("CreateStack is accepted: the failure is the operation's");
        let seen = statuses_until_settled(&cfn, &stack).await;
        assert_eq!(
            seen.first().map(String::as_str),
            Some("CREATE_IN_PROGRESS"),
            "{seen:?}"
        );
        assert_eq!(
            seen.last().map(String::as_str),
            Some("ROLLBACK_COMPLETE"),
            "{seen:?}"
        );
        let evs = events(&cfn, &stack).await;
        let failed = event_of(&evs, "Thing", "CREATE_FAILED").expect("Thing CREATE_FAILED");
        assert!(
            failed
                .resource_status_reason()
                .unwrap_or_default()
                .contains("AWS::Strata::NotModelled"),
            "{failed:?}"
        );
        assert!(
            event_of(&evs, "Bucket", "DELETE_COMPLETE").is_some(),
            "{evs:?}"
        );
        let buckets = s3.list_buckets().send().await.unwrap();
        assert!(
            !buckets
                .buckets()
                .iter()
                .any(|b| b.name().unwrap_or_default().starts_with(&stack)),
            "the rollback deleted the bucket"
        );
    });
}

fn global_table(name: &str, regions: &[&str]) -> String {
    let replicas: Vec<Value> = regions
        .iter()
        .map(|r| json!({ "Region": r, "Tags": [{ "Key": "region", "Value": r }] }))
        .collect();
    json!({
        "Resources": {
            "Table": {
                "Type": "AWS::DynamoDB::GlobalTable",
                "Properties": {
                    "TableName": name,
                    "BillingMode": "PAY_PER_REQUEST",
                    "AttributeDefinitions": [{ "AttributeName": "id", "AttributeType": "S" }],
                    "KeySchema": [{ "AttributeName": "id", "KeyType": "HASH" }],
                    "StreamSpecification": { "StreamViewType": "NEW_AND_OLD_IMAGES" },
                    "Replicas": replicas
                }
            }
        },
        "Outputs": { "Arn": { "Value": { "Fn::GetAtt": ["Table", "Arn"] } } }
    })
    .to_string()
}

/// DynamoDB in each region the tests use (made outside any `block_on`).
fn dynamodb_clients() -> std::collections::BTreeMap<String, aws_sdk_dynamodb::Client> {
    [
        "us-east-1",
        "us-west-2",
        "eu-west-1",
        "eu-central-1",
        "ap-southeast-2",
    ]
    .iter()
    .map(|r| {
        (
            r.to_string(),
            aws_sdk_dynamodb::Client::new(&sdk::config(r)),
        )
    })
    .collect()
}

/// The other replica regions DescribeTable lists in `region`, or None without a table.
async fn replicas_with(
    clients: &std::collections::BTreeMap<String, aws_sdk_dynamodb::Client>,
    region: &str,
    table: &str,
) -> Option<Vec<String>> {
    let ddb = clients
        .get(region)
        .unwrap_or_else(|| panic!("no DynamoDB client for {region}"));
    let out = ddb.describe_table().table_name(table).send().await.ok()?;
    let mut regions: Vec<String> = out
        .table()?
        .replicas()
        .iter()
        .filter_map(|r| r.region_name().map(str::to_string))
        .collect();
    regions.sort();
    Some(regions)
}

#[test]
fn a_global_table_is_a_table_in_every_replica_region_and_an_update_adds_at_most_one_replica() {
    let _moto = sandbox::shared();
    let home = "us-east-1";
    let cfn = sdk::cloudformation(home);
    let stack = sandbox::unique("gtable");
    let name = format!("{stack}-orders");
    let clients = dynamodb_clients();
    let replicas = |region: &'static str, table: &str| {
        let table = table.to_string();
        let clients = &clients;
        async move { replicas_with(clients, region, &table).await }
    };
    sdk::block_on(async {
        cfn.create_stack()
            .stack_name(&stack)
            .template_body(global_table(&name, &["us-east-1", "us-west-2"]))
            .send()
            .await
            .expect("CreateStack");
        let seen = statuses_until_settled(&cfn, &stack).await;
        assert_eq!(
            seen.last().map(String::as_str),
            Some("CREATE_COMPLETE"),
            "{seen:?}"
        );
        assert_eq!(
            replicas("us-east-1", &name).await,
            Some(vec!["us-west-2".into()])
        );
        assert_eq!(
            replicas("us-west-2", &name).await,
            Some(vec!["us-east-1".into()])
        );
        assert_eq!(replicas("eu-west-1", &name).await, None);

        // Two replicas added in one update: AWS refuses; the stack rolls back.
        cfn.update_stack()
            .stack_name(&stack)
            .template_body(global_table(
                &name,
                &["us-east-1", "us-west-2", "eu-west-1", "eu-central-1"],
            ))
            .send()
            .await
            .expect("UpdateStack");
        let seen = statuses_until_settled(&cfn, &stack).await;
        assert_eq!(
            seen.last().map(String::as_str),
            Some("UPDATE_ROLLBACK_COMPLETE"),
            "{seen:?}"
        );
        let evs = events(&cfn, &stack).await;
        let failed = event_of(&evs, "Table", "UPDATE_FAILED").expect("Table UPDATE_FAILED");
        assert!(
            failed
                .resource_status_reason()
                .unwrap_or_default()
                .contains("single replica"),
            "{failed:?}"
        );
        assert_eq!(replicas("eu-west-1", &name).await, None);
        assert_eq!(replicas("eu-central-1", &name).await, None);

        // One at a time works.
        cfn.update_stack()
            .stack_name(&stack)
            .template_body(global_table(
                &name,
                &["us-east-1", "us-west-2", "eu-west-1"],
            ))
            .send()
            .await
            .expect("UpdateStack");
        let seen = statuses_until_settled(&cfn, &stack).await;
        assert_eq!(
            seen.last().map(String::as_str),
            Some("UPDATE_COMPLETE"),
            "{seen:?}"
        );
        assert_eq!(
            replicas("eu-west-1", &name).await,
            Some(vec!["us-east-1".into(), "us-west-2".into()])
        );
        assert_eq!(
            replicas("us-east-1", &name).await,
            Some(vec!["eu-west-1".into(), "us-west-2".into()])
        );
    });
}

#[test]
fn a_bucket_policy_and_a_scaling_policy_are_readable_through_s3_and_auto_scaling() {
    let _moto = sandbox::shared();
    let region = "us-west-2";
    let cfn = sdk::cloudformation(region);
    let stack = sandbox::unique("policies");
    let ami = "ami-0123456789abcdef0";
    let body = json!({
        "Resources": {
            "Bucket": { "Type": "AWS::S3::Bucket" },
            "BucketPolicy": {
                "Type": "AWS::S3::BucketPolicy",
                "Properties": {
                    "Bucket": { "Ref": "Bucket" },
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [{
                            "Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                            "Resource": [{ "Fn::GetAtt": ["Bucket", "Arn"] }],
                            "Condition": { "Bool": { "aws:SecureTransport": "false" } }
                        }]
                    }
                }
            },
            "Template": {
                "Type": "AWS::EC2::LaunchTemplate",
                "Properties": { "LaunchTemplateData": { "ImageId": ami, "InstanceType": "t3.micro" } }
            },
            "Group": {
                "Type": "AWS::AutoScaling::AutoScalingGroup",
                "Properties": {
                    "MinSize": "0", "MaxSize": "2", "DesiredCapacity": "0",
                    "AvailabilityZones": ["us-west-2a"],
                    "LaunchTemplate": {
                        "LaunchTemplateId": { "Ref": "Template" },
                        "Version": { "Fn::GetAtt": ["Template", "LatestVersionNumber"] }
                    }
                }
            },
            "Cpu": {
                "Type": "AWS::AutoScaling::ScalingPolicy",
                "Properties": {
                    "AutoScalingGroupName": { "Ref": "Group" },
                    "PolicyType": "TargetTrackingScaling",
                    "TargetTrackingConfiguration": {
                        "PredefinedMetricSpecification": { "PredefinedMetricType": "ASGAverageCPUUtilization" },
                        "TargetValue": 50.0
                    }
                }
            }
        },
        "Outputs": {
            "Bucket": { "Value": { "Ref": "Bucket" } },
            "Group": { "Value": { "Ref": "Group" } }
        }
    })
    .to_string();
    let s3 = sdk::s3(region);
    let asg = aws_sdk_autoscaling::Client::new(&sdk::config(region));
    sdk::block_on(async {
        cfn.create_stack()
            .stack_name(&stack)
            .template_body(body)
            .send()
            .await
            .expect("CreateStack");
        let seen = statuses_until_settled(&cfn, &stack).await;
        assert_eq!(
            seen.last().map(String::as_str),
            Some("CREATE_COMPLETE"),
            "{seen:?}"
        );
        let out = cfn
            .describe_stacks()
            .stack_name(&stack)
            .send()
            .await
            .unwrap();
        let output = |key: &str| {
            out.stacks()[0]
                .outputs()
                .iter()
                .find(|o| o.output_key() == Some(key))
                .and_then(|o| o.output_value())
                .unwrap()
                .to_string()
        };
        let policy = s3
            .get_bucket_policy()
            .bucket(output("Bucket"))
            .send()
            .await
            .expect("GetBucketPolicy");
        let doc: Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
        assert_eq!(doc["Statement"][0]["Sid"], "TlsOnly", "{doc}");
        let policies = asg
            .describe_policies()
            .auto_scaling_group_name(output("Group"))
            .send()
            .await
            .expect("DescribePolicies");
        let p = &policies.scaling_policies()[0];
        assert_eq!(p.policy_type(), Some("TargetTrackingScaling"));
        assert_eq!(
            p.target_tracking_configuration().unwrap().target_value(),
            Some(50.0)
        );

        cfn.delete_stack().stack_name(&stack).send().await.unwrap();
        let seen = statuses_until_settled(&cfn, &stack).await;
        assert_eq!(seen, ["DELETE_IN_PROGRESS", "GONE"]);
        let left = asg
            .describe_policies()
            .auto_scaling_group_name(output("Group"))
            .send()
            .await
            .map(|p| p.scaling_policies().len())
            .unwrap_or(0);
        assert_eq!(left, 0, "the scaling policy went with its stack");
    });
}

#[test]
fn a_failed_create_rolls_back_to_rollback_complete_and_the_name_can_only_be_deleted() {
    let _moto = sandbox::shared();
    let cfn = sdk::cloudformation("eu-west-1");
    let stack = sandbox::unique("failcreate");
    inject_fault(&stack, "Second", "operation");
    sdk::block_on(async {
        cfn.create_stack()
            .stack_name(&stack)
            .template_body(queues(json!({ "Second": { "Type": "AWS::SQS::Queue" } })))
            .send()
            .await
            .expect("CreateStack");
        let seen = statuses_until_settled(&cfn, &stack).await;
        assert_eq!(
            seen,
            [
                "CREATE_IN_PROGRESS",
                "ROLLBACK_IN_PROGRESS",
                "ROLLBACK_COMPLETE"
            ],
            "observed through DescribeStacks"
        );
        let evs = events(&cfn, &stack).await;
        assert!(
            event_of(&evs, "Second", "CREATE_FAILED").is_some(),
            "{evs:?}"
        );
        let rollback = event_of(&evs, &stack, "ROLLBACK_IN_PROGRESS").unwrap();
        assert!(
            rollback
                .resource_status_reason()
                .unwrap()
                .contains("failed to create: [Second]"),
            "{rollback:?}"
        );
        let resources = cfn
            .describe_stack_resources()
            .stack_name(&stack)
            .send()
            .await
            .unwrap();
        assert!(resources.stack_resources().is_empty(), "{resources:?}");
        let update = cfn
            .update_stack()
            .stack_name(&stack)
            .template_body(queues(json!({})))
            .send()
            .await;
        assert!(
            format!("{update:?}").contains("ROLLBACK_COMPLETE state and can not be updated"),
            "{update:?}"
        );
    });
}

#[test]
fn a_failed_update_rolls_back_and_a_failed_rollback_waits_for_continue_update_rollback() {
    let _moto = sandbox::shared();
    let cfn = sdk::cloudformation("eu-west-1");
    let stack = sandbox::unique("failupdate");
    let delayed =
        |s: u32| json!({ "Type": "AWS::SQS::Queue", "Properties": { "DelaySeconds": s } });
    sdk::block_on(async {
        cfn.create_stack()
            .stack_name(&stack)
            .template_body(queues(json!({ "Second": delayed(1) })))
            .send()
            .await
            .unwrap();
        assert_eq!(
            statuses_until_settled(&cfn, &stack).await.last().unwrap(),
            "CREATE_COMPLETE"
        );

        // The update of Second fails: the stack goes back to the previous template.
        inject_fault(&stack, "Second", "operation");
        cfn.update_stack()
            .stack_name(&stack)
            .template_body(queues(json!({ "Second": delayed(2), "Third": delayed(3) })))
            .send()
            .await
            .unwrap();
        let seen = statuses_until_settled(&cfn, &stack).await;
        assert_eq!(seen.first().unwrap(), "UPDATE_IN_PROGRESS", "{seen:?}");
        assert_eq!(seen.last().unwrap(), "UPDATE_ROLLBACK_COMPLETE", "{seen:?}");
        let evs = events(&cfn, &stack).await;
        assert!(
            event_of(&evs, "Second", "UPDATE_FAILED").is_some(),
            "{evs:?}"
        );
        let resources = cfn
            .describe_stack_resources()
            .stack_name(&stack)
            .send()
            .await
            .unwrap();
        let mut ids: Vec<&str> = resources
            .stack_resources()
            .iter()
            .filter_map(|r| r.logical_resource_id())
            .collect();
        ids.sort();
        assert_eq!(ids, ["First", "Second"], "Third was rolled back");

        // Now First's update fails and so does its rollback.
        inject_fault(&stack, "First", "operation");
        inject_fault(&stack, "First", "rollback");
        cfn.update_stack()
            .stack_name(&stack)
            .template_body(
                json!({ "Resources": { "First": delayed(4), "Second": delayed(1) } }).to_string(),
            )
            .send()
            .await
            .unwrap();
        let seen = statuses_until_settled(&cfn, &stack).await;
        assert_eq!(seen.last().unwrap(), "UPDATE_ROLLBACK_FAILED", "{seen:?}");
        let refused = cfn
            .update_stack()
            .stack_name(&stack)
            .template_body(queues(json!({})))
            .send()
            .await;
        assert!(
            format!("{refused:?}").contains("UPDATE_ROLLBACK_FAILED state"),
            "{refused:?}"
        );

        // ContinueUpdateRollback while First still fails: UPDATE_ROLLBACK_FAILED again;
        // skipping First completes the rollback.
        cfn.continue_update_rollback()
            .stack_name(&stack)
            .send()
            .await
            .unwrap();
        let seen = statuses_until_settled(&cfn, &stack).await;
        assert_eq!(
            seen,
            ["UPDATE_ROLLBACK_IN_PROGRESS", "UPDATE_ROLLBACK_FAILED"]
        );
        cfn.continue_update_rollback()
            .stack_name(&stack)
            .resources_to_skip("First")
            .send()
            .await
            .unwrap();
        let seen = statuses_until_settled(&cfn, &stack).await;
        assert_eq!(seen.last().unwrap(), "UPDATE_ROLLBACK_COMPLETE", "{seen:?}");
    });
}

#[test]
fn deleting_a_stack_whose_bucket_holds_objects_ends_delete_failed() {
    let _moto = sandbox::shared();
    let region = "eu-west-1";
    let cfn = sdk::cloudformation(region);
    let s3 = sdk::s3(region);
    let stack = sandbox::unique("fullbucket");
    sdk::block_on(async {
        cfn.create_stack()
            .stack_name(&stack)
            .template_body(queues(json!({ "Bucket": { "Type": "AWS::S3::Bucket" } })))
            .send()
            .await
            .unwrap();
        assert_eq!(
            statuses_until_settled(&cfn, &stack).await.last().unwrap(),
            "CREATE_COMPLETE"
        );
        let bucket = cfn
            .describe_stack_resource()
            .stack_name(&stack)
            .logical_resource_id("Bucket")
            .send()
            .await
            .unwrap()
            .stack_resource_detail()
            .unwrap()
            .physical_resource_id()
            .unwrap()
            .to_string();
        s3.put_object()
            .bucket(&bucket)
            .key("data")
            .body(b"x".to_vec().into())
            .send()
            .await
            .unwrap();
        cfn.delete_stack().stack_name(&stack).send().await.unwrap();
        let seen = statuses_until_settled(&cfn, &stack).await;
        assert_eq!(seen, ["DELETE_IN_PROGRESS", "DELETE_FAILED"]);
        let evs = events(&cfn, &stack).await;
        let failed = event_of(&evs, "Bucket", "DELETE_FAILED").expect("Bucket DELETE_FAILED");
        assert!(
            failed
                .resource_status_reason()
                .unwrap()
                .contains("not empty"),
            "{failed:?}"
        );
        s3.head_bucket()
            .bucket(&bucket)
            .send()
            .await
            .expect("the bucket is still there");

        // Emptied, the stack deletes; while it does, its name is taken.
        s3.delete_object()
            .bucket(&bucket)
            .key("data")
            .send()
            .await
            .unwrap();
        cfn.delete_stack().stack_name(&stack).send().await.unwrap();
        let status = cfn
            .describe_stacks()
            .stack_name(&stack)
            .send()
            .await
            .unwrap()
            .stacks()[0]
            .stack_status()
            .unwrap()
            .as_str()
            .to_string();
        assert_eq!(status, "DELETE_IN_PROGRESS");
        let again = cfn
            .create_stack()
            .stack_name(&stack)
            .template_body(queues(json!({})))
            .send()
            .await;
        assert!(
            format!("{again:?}").contains("AlreadyExistsException"),
            "{again:?}"
        );
        let again = cfn
            .create_change_set()
            .stack_name(&stack)
            .change_set_name("again")
            .change_set_type(ChangeSetType::Create)
            .template_body(queues(json!({})))
            .send()
            .await;
        assert!(format!("{again:?}").contains("already exists"), "{again:?}");
        assert_eq!(
            statuses_until_settled(&cfn, &stack).await.last().unwrap(),
            "GONE"
        );
        cfn.create_stack()
            .stack_name(&stack)
            .template_body(queues(json!({})))
            .send()
            .await
            .expect("the name is free once the stack is gone");
    });
}

/// The physical id of `logical_id` in `stack`.
async fn physical_id(cfn: &Cfn, stack: &str, logical_id: &str) -> String {
    cfn.describe_stack_resource()
        .stack_name(stack)
        .logical_resource_id(logical_id)
        .send()
        .await
        .unwrap()
        .stack_resource_detail()
        .unwrap()
        .physical_resource_id()
        .unwrap()
        .to_string()
}

/// A versioned bucket whose only object was deleted holds no current object, but
/// its old version and the delete marker are still objects to S3: the stack's
/// delete fails on it with AWS's reason while a bucket `RetainExceptOnCreate`
/// beside it, holding objects, is kept (DELETE_SKIPPED) and outlives the stack.
#[test]
fn a_versioned_bucket_with_only_old_versions_fails_the_delete_and_a_retained_bucket_is_kept() {
    let _moto = sandbox::shared();
    let region = "eu-west-1";
    let cfn = sdk::cloudformation(region);
    let s3 = sdk::s3(region);
    let stack = sandbox::unique("versioned");
    let versioned = json!({ "VersioningConfiguration": { "Status": "Enabled" } });
    sdk::block_on(async {
        cfn.create_stack()
            .stack_name(&stack)
            .template_body(queues(json!({
                "Plain": { "Type": "AWS::S3::Bucket", "Properties": versioned },
                "Kept": {
                    "Type": "AWS::S3::Bucket",
                    "DeletionPolicy": "RetainExceptOnCreate",
                    "UpdateReplacePolicy": "Retain",
                    "Properties": versioned
                }
            })))
            .send()
            .await
            .unwrap();
        assert_eq!(
            statuses_until_settled(&cfn, &stack).await.last().unwrap(),
            "CREATE_COMPLETE"
        );
        let plain = physical_id(&cfn, &stack, "Plain").await;
        let kept = physical_id(&cfn, &stack, "Kept").await;
        for bucket in [&plain, &kept] {
            s3.put_object()
                .bucket(bucket)
                .key("data")
                .body(b"x".to_vec().into())
                .send()
                .await
                .unwrap();
            s3.delete_object()
                .bucket(bucket)
                .key("data")
                .send()
                .await
                .unwrap();
        }
        let listed = s3.list_objects_v2().bucket(&plain).send().await.unwrap();
        assert_eq!(listed.key_count(), Some(0), "no current object");

        cfn.delete_stack().stack_name(&stack).send().await.unwrap();
        let seen = statuses_until_settled(&cfn, &stack).await;
        assert_eq!(seen, ["DELETE_IN_PROGRESS", "DELETE_FAILED"]);
        let evs = events(&cfn, &stack).await;
        let failed = event_of(&evs, "Plain", "DELETE_FAILED").expect("Plain DELETE_FAILED");
        assert!(
            failed
                .resource_status_reason()
                .unwrap()
                .contains("The bucket you tried to delete is not empty"),
            "{failed:?}"
        );
        assert!(event_of(&evs, "Kept", "DELETE_FAILED").is_none());
        assert!(
            event_of(&evs, "Kept", "DELETE_SKIPPED").is_some(),
            "{evs:?}"
        );

        // Emptied of every version and marker, the delete goes through; the kept
        // bucket is still there with its version and marker, in no stack.
        let versions = s3
            .list_object_versions()
            .bucket(&plain)
            .send()
            .await
            .unwrap();
        let ids: Vec<String> = versions
            .versions()
            .iter()
            .filter_map(|v| v.version_id().map(str::to_string))
            .chain(
                versions
                    .delete_markers()
                    .iter()
                    .filter_map(|m| m.version_id().map(str::to_string)),
            )
            .collect();
        assert_eq!(ids.len(), 2, "{versions:?}");
        for id in ids {
            s3.delete_object()
                .bucket(&plain)
                .key("data")
                .version_id(id)
                .send()
                .await
                .unwrap();
        }
        cfn.delete_stack().stack_name(&stack).send().await.unwrap();
        let seen = statuses_until_settled(&cfn, &stack).await;
        assert_eq!(seen.last().unwrap(), "GONE", "{seen:?}");
        assert!(s3.head_bucket().bucket(&plain).send().await.is_err());
        let left = s3
            .list_object_versions()
            .bucket(&kept)
            .send()
            .await
            .unwrap();
        assert_eq!(
            (left.versions().len(), left.delete_markers().len()),
            (1, 1),
            "the kept bucket's data"
        );
    });
}

/// A stack DELETE_FAILED on a bucket holding objects: DescribeStackResources shows
/// the bucket DELETE_FAILED, and DeleteStack with `RetainResources` naming it
/// deletes the stack and keeps the bucket with its objects; `RetainResources` is
/// refused for a stack that is not DELETE_FAILED.
#[test]
fn a_delete_failed_stack_is_deleted_keeping_its_bucket_with_retain_resources() {
    let _moto = sandbox::shared();
    let region = "eu-west-1";
    let cfn = sdk::cloudformation(region);
    let s3 = sdk::s3(region);
    let stack = sandbox::unique("retainres");
    sdk::block_on(async {
        cfn.create_stack()
            .stack_name(&stack)
            .template_body(queues(json!({ "Bucket": { "Type": "AWS::S3::Bucket" } })))
            .send()
            .await
            .unwrap();
        assert_eq!(
            statuses_until_settled(&cfn, &stack).await.last().unwrap(),
            "CREATE_COMPLETE"
        );
        let refused = cfn
            .delete_stack()
            .stack_name(&stack)
            .retain_resources("Bucket")
            .send()
            .await;
        assert!(
            format!("{refused:?}").contains("DELETE_FAILED"),
            "{refused:?}"
        );
        let bucket = physical_id(&cfn, &stack, "Bucket").await;
        s3.put_object()
            .bucket(&bucket)
            .key("data")
            .body(b"x".to_vec().into())
            .send()
            .await
            .unwrap();
        cfn.delete_stack().stack_name(&stack).send().await.unwrap();
        let seen = statuses_until_settled(&cfn, &stack).await;
        assert_eq!(seen.last().unwrap(), "DELETE_FAILED", "{seen:?}");
        let resources = cfn
            .describe_stack_resources()
            .stack_name(&stack)
            .send()
            .await
            .unwrap();
        let status = |id: &str| {
            resources
                .stack_resources()
                .iter()
                .find(|r| r.logical_resource_id() == Some(id))
                .and_then(|r| r.resource_status())
                .map(|s| s.as_str().to_string())
        };
        assert_eq!(status("Bucket").as_deref(), Some("DELETE_FAILED"));
        // (AWS lists the deleted queue DELETE_COMPLETE; the sandbox no more.)
        assert_ne!(status("First").as_deref(), Some("DELETE_FAILED"));

        // Naming a resource already deleted is refused, as AWS refuses it.
        let gone = cfn
            .delete_stack()
            .stack_name(&stack)
            .retain_resources("First")
            .send()
            .await;
        assert!(
            format!("{gone:?}").contains("must be in a valid state"),
            "{gone:?}"
        );
        cfn.delete_stack()
            .stack_name(&stack)
            .retain_resources("Bucket")
            .send()
            .await
            .unwrap();
        let seen = statuses_until_settled(&cfn, &stack).await;
        assert_eq!(seen.last().unwrap(), "GONE", "{seen:?}");
        let left = s3.list_object_versions().bucket(&bucket).send().await;
        let left = left.expect("the bucket is kept");
        assert_eq!(left.versions().len(), 1, "its object");
    });
}

#[test]
fn a_change_set_goes_through_its_states_and_one_without_changes_fails_with_aws_reason() {
    let _moto = sandbox::shared();
    let cfn = sdk::cloudformation("us-east-1");
    let stack = sandbox::unique("changeset");
    let body = json!({
        "Parameters": { "Delay": { "Type": "Number" } },
        "Resources": { "Q": { "Type": "AWS::SQS::Queue", "Properties": { "DelaySeconds": { "Ref": "Delay" } } } }
    })
    .to_string();
    let param = Parameter::builder()
        .parameter_key("Delay")
        .parameter_value("1")
        .build();
    sdk::block_on(async {
        let describe = |name: &'static str| {
            let cfn = cfn.clone();
            let stack = stack.clone();
            async move {
                let cs = cfn
                    .describe_change_set()
                    .stack_name(&stack)
                    .change_set_name(name)
                    .send()
                    .await
                    .expect("DescribeChangeSet");
                (
                    cs.status().unwrap().as_str().to_string(),
                    cs.execution_status().map(|s| s.as_str().to_string()),
                    cs.status_reason().map(str::to_string),
                )
            }
        };
        cfn.create_change_set()
            .stack_name(&stack)
            .change_set_name("first")
            .change_set_type(ChangeSetType::Create)
            .template_body(&body)
            .parameters(param.clone())
            .send()
            .await
            .unwrap();
        let (status, execution, _) = describe("first").await;
        assert!(
            matches!(status.as_str(), "CREATE_PENDING" | "CREATE_IN_PROGRESS"),
            "a new change set is being created: {status}"
        );
        assert_eq!(execution.as_deref(), Some("UNAVAILABLE"));
        let early = cfn
            .execute_change_set()
            .stack_name(&stack)
            .change_set_name("first")
            .send()
            .await;
        assert!(
            format!("{early:?}").contains("InvalidChangeSetStatus"),
            "{early:?}"
        );
        let started = Instant::now();
        while describe("first").await.0 != "CREATE_COMPLETE" {
            assert!(started.elapsed() < Duration::from_secs(30));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        cfn.execute_change_set()
            .stack_name(&stack)
            .change_set_name("first")
            .send()
            .await
            .unwrap();
        let seen = statuses_until_settled(&cfn, &stack).await;
        assert_eq!(seen, ["CREATE_IN_PROGRESS", "CREATE_COMPLETE"]);

        // The same template and parameters again: a FAILED change set with AWS's reason.
        cfn.create_change_set()
            .stack_name(&stack)
            .change_set_name("same")
            .change_set_type(ChangeSetType::Update)
            .template_body(&body)
            .parameters(param.clone())
            .send()
            .await
            .expect("CreateChangeSet accepts it; the change set fails");
        let started = Instant::now();
        let (status, execution, reason) = loop {
            let d = describe("same").await;
            if d.0 == "FAILED" || started.elapsed() > Duration::from_secs(30) {
                break d;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(status, "FAILED");
        assert_eq!(execution.as_deref(), Some("UNAVAILABLE"));
        assert_eq!(
            reason.as_deref(),
            Some(
                "The submitted information didn't contain changes. Submit different \
                 information to create a change set."
            )
        );
    });
}

#[test]
fn executing_a_change_set_deletes_the_stacks_other_change_sets() {
    let _moto = sandbox::shared();
    let cfn = sdk::cloudformation("us-east-1");
    let stack = sandbox::unique("othercs");
    let body = json!({
        "Parameters": { "Delay": { "Type": "Number" } },
        "Resources": { "Q": { "Type": "AWS::SQS::Queue", "Properties": { "DelaySeconds": { "Ref": "Delay" } } } }
    })
    .to_string();
    sdk::block_on(async {
        let status = |name: &'static str| {
            let (cfn, stack) = (cfn.clone(), stack.clone());
            async move {
                cfn.describe_change_set()
                    .stack_name(&stack)
                    .change_set_name(name)
                    .send()
                    .await
                    .map(|cs| cs.execution_status().map(|s| s.as_str().to_string()))
            }
        };
        let make = |name: &'static str, kind: ChangeSetType, delay: &'static str| {
            let (cfn, stack, body) = (cfn.clone(), stack.clone(), body.clone());
            async move {
                cfn.create_change_set()
                    .stack_name(&stack)
                    .change_set_name(name)
                    .change_set_type(kind)
                    .template_body(&body)
                    .parameters(
                        Parameter::builder()
                            .parameter_key("Delay")
                            .parameter_value(delay)
                            .build(),
                    )
                    .send()
                    .await
                    .expect("CreateChangeSet");
                let started = Instant::now();
                loop {
                    let cs = cfn
                        .describe_change_set()
                        .stack_name(&stack)
                        .change_set_name(name)
                        .send()
                        .await
                        .unwrap();
                    if cs.status().unwrap().as_str() == "CREATE_COMPLETE" {
                        break;
                    }
                    assert!(started.elapsed() < Duration::from_secs(30));
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        };
        make("create", ChangeSetType::Create, "1").await;
        cfn.execute_change_set()
            .stack_name(&stack)
            .change_set_name("create")
            .send()
            .await
            .unwrap();
        statuses_until_settled(&cfn, &stack).await;
        make("kept", ChangeSetType::Update, "2").await;
        make("run", ChangeSetType::Update, "3").await;
        cfn.execute_change_set()
            .stack_name(&stack)
            .change_set_name("run")
            .send()
            .await
            .unwrap();
        statuses_until_settled(&cfn, &stack).await;
        let gone = status("kept").await;
        assert!(
            gone.is_err(),
            "the other change set is still there: {gone:?}"
        );
        assert_eq!(
            status("run").await.unwrap().as_deref(),
            Some("EXECUTE_COMPLETE")
        );
    });
}

/// The regions of a stack file (its `[[regions]]` tables' `name`).
fn stack_regions(file: &std::path::Path) -> Vec<String> {
    let def: toml::Value = toml::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    def["regions"]
        .as_array()
        .unwrap_or_else(|| panic!("{}: no [[regions]]", file.display()))
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect()
}

/// Deploy every stack file in stacks/ (fresh sandbox each) and read back, through
/// the services' own APIs, every table (with every replica), bucket policy, scaling
/// policy and alarm its templates declare; every resource of every template exists
/// in its stack (nothing skipped).
#[test]
fn every_stack_in_stacks_deploys_and_its_tables_policies_and_alarms_read_back() {
    let moto = sandbox::exclusive();
    let mut files: Vec<_> = std::fs::read_dir(sandbox::repo_dir().join("stacks"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 3, "{files:?}");
    for file in files {
        moto.reset();
        let path = file.to_string_lossy().into_owned();
        let run = support::cli::strata_sandbox(&["deploy", &path, "--yes", "--bake", "0s"]);
        run.expect_code(strata::exit_code::SUCCESS);
        let out = tempfile::tempdir().unwrap();
        let out_dir = out.path().to_string_lossy().into_owned();
        support::cli::strata_sandbox(&["synth", &path, "--phase", "wired", "-o", &out_dir])
            .expect_code(strata::exit_code::SUCCESS);
        let regions = stack_regions(&file);
        for entry in std::fs::read_dir(out.path()).unwrap() {
            let tpath = entry.unwrap().path();
            let stack = tpath
                .file_name()
                .unwrap()
                .to_string_lossy()
                .trim_end_matches(".template.json")
                .to_string();
            let region = regions
                .iter()
                .find(|r| stack.ends_with(r.as_str()))
                .cloned()
                .unwrap_or_else(|| "us-east-1".to_string());
            let template: Value =
                serde_json::from_str(&std::fs::read_to_string(&tpath).unwrap()).unwrap();
            read_back(&file, &stack, &region, &template);
        }
    }
}

fn read_back(file: &std::path::Path, stack: &str, region: &str, template: &Value) {
    let cfn = sdk::cloudformation(region);
    let clients = dynamodb_clients();
    let s3 = sdk::s3(region);
    let asg = aws_sdk_autoscaling::Client::new(&sdk::config(region));
    let cw = sdk::cloudwatch(region);
    let what = format!("{} {stack} ({region})", file.display());
    sdk::block_on(async {
        let physical: std::collections::BTreeMap<String, (String, String)> = cfn
            .describe_stack_resources()
            .stack_name(stack)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{what}: DescribeStackResources: {e:?}"))
            .stack_resources()
            .iter()
            .map(|r| {
                (
                    r.logical_resource_id().unwrap().to_string(),
                    (
                        r.physical_resource_id().unwrap_or_default().to_string(),
                        r.resource_status()
                            .map(|s| s.as_str().to_string())
                            .unwrap_or_default(),
                    ),
                )
            })
            .collect();
        let resources = template["Resources"].as_object().unwrap();
        let ref_of = |v: &Value| -> String {
            let id = v["Ref"]
                .as_str()
                .unwrap_or_else(|| panic!("{what}: not a Ref: {v}"));
            physical
                .get(id)
                .unwrap_or_else(|| panic!("{what}: no {id}"))
                .0
                .clone()
        };
        for (id, r) in resources {
            if r.get("Condition").is_some() {
                continue;
            }
            let rtype = r["Type"].as_str().unwrap();
            assert!(
                physical.contains_key(id),
                "{what}: {id} ({rtype}) is not in the stack"
            );
            let props = &r["Properties"];
            match rtype {
                "AWS::DynamoDB::GlobalTable" => {
                    let name = props["TableName"].as_str().unwrap();
                    let all: Vec<String> = props["Replicas"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|r| r["Region"].as_str().unwrap().to_string())
                        .collect();
                    for replica in &all {
                        let mut others: Vec<String> =
                            all.iter().filter(|r| *r != replica).cloned().collect();
                        others.sort();
                        assert_eq!(
                            replicas_with(&clients, replica, name).await,
                            Some(others),
                            "{what}: table {name} in {replica}"
                        );
                    }
                }
                "AWS::DynamoDB::Table" => {
                    let name = props["TableName"].as_str().unwrap();
                    assert!(
                        replicas_with(&clients, region, name).await.is_some(),
                        "{what}: table {name}"
                    );
                }
                "AWS::S3::BucketPolicy" => {
                    let bucket = ref_of(&props["Bucket"]);
                    let got = s3
                        .get_bucket_policy()
                        .bucket(&bucket)
                        .send()
                        .await
                        .unwrap_or_else(|e| panic!("{what}: GetBucketPolicy {bucket}: {e:?}"));
                    let doc: Value = serde_json::from_str(got.policy().unwrap()).unwrap();
                    let sids = |d: &Value| -> Vec<String> {
                        d["Statement"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|s| s["Sid"].to_string())
                            .collect()
                    };
                    assert_eq!(
                        sids(&doc),
                        sids(&props["PolicyDocument"]),
                        "{what}: {bucket}"
                    );
                }
                "AWS::AutoScaling::ScalingPolicy" => {
                    let group = ref_of(&props["AutoScalingGroupName"]);
                    let got = asg
                        .describe_policies()
                        .auto_scaling_group_name(&group)
                        .send()
                        .await
                        .unwrap_or_else(|e| panic!("{what}: DescribePolicies: {e:?}"));
                    assert!(
                        got.scaling_policies()
                            .iter()
                            .any(|p| p.policy_type() == props["PolicyType"].as_str()),
                        "{what}: no {} policy on {group}",
                        props["PolicyType"]
                    );
                }
                "AWS::CloudWatch::Alarm" => {
                    let name = physical[id].0.clone();
                    let got = cw
                        .describe_alarms()
                        .alarm_names(&name)
                        .send()
                        .await
                        .unwrap_or_else(|e| panic!("{what}: DescribeAlarms: {e:?}"));
                    assert_eq!(got.metric_alarms().len(), 1, "{what}: alarm {name}");
                }
                _ => {}
            }
        }
    });
}

#[test]
fn changing_only_a_named_tables_deletion_policy_updates_the_stack_and_keeps_the_table() {
    let _moto = sandbox::shared();
    let region = "us-west-2";
    let cfn = sdk::cloudformation(region);
    let ddb = sdk::dynamodb(region);
    let stack = sandbox::unique("policyonly");
    let table_name = sandbox::unique("kept");
    let template = |policy: &str| {
        json!({ "Resources": { "Table": {
            "Type": "AWS::DynamoDB::Table",
            "DeletionPolicy": policy,
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "TableName": table_name,
                "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": [{ "AttributeName": "id", "AttributeType": "S" }],
                "KeySchema": [{ "AttributeName": "id", "KeyType": "HASH" }]
            }
        }}})
        .to_string()
    };
    sdk::block_on(async {
        cfn.create_stack()
            .stack_name(&stack)
            .template_body(template("Retain"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            statuses_until_settled(&cfn, &stack).await.last().unwrap(),
            "CREATE_COMPLETE"
        );
        let item = std::collections::HashMap::from([(
            "id".to_string(),
            aws_sdk_dynamodb::types::AttributeValue::S("row".into()),
        )]);
        ddb.put_item()
            .table_name(&table_name)
            .set_item(Some(item.clone()))
            .send()
            .await
            .unwrap();

        // Only the resource attribute changes: CloudFormation does not touch the table.
        cfn.update_stack()
            .stack_name(&stack)
            .template_body(template("RetainExceptOnCreate"))
            .send()
            .await
            .unwrap();
        let seen = statuses_until_settled(&cfn, &stack).await;
        assert_eq!(seen.last().unwrap(), "UPDATE_COMPLETE", "{seen:?}");
        let row = ddb
            .get_item()
            .table_name(&table_name)
            .set_key(Some(item))
            .send()
            .await
            .unwrap();
        assert!(
            row.item().is_some(),
            "the table was replaced: its row is gone"
        );

        // And the new policy is the one the delete honours: the table outlives the stack.
        cfn.delete_stack().stack_name(&stack).send().await.unwrap();
        assert_eq!(
            statuses_until_settled(&cfn, &stack).await.last().unwrap(),
            "GONE"
        );
        ddb.describe_table()
            .table_name(&table_name)
            .send()
            .await
            .expect("a RetainExceptOnCreate table outlives the deletion of its stack");
    });
}

#[test]
fn a_change_set_or_stack_without_a_value_for_a_parameter_lacking_a_default_is_refused() {
    let _moto = sandbox::shared();
    let cfn = sdk::cloudformation("us-east-1");
    let stack = sandbox::unique("noparam");
    let body = json!({
        "Parameters": {
            "ZoneId": { "Type": "String" },
            "Delay": { "Type": "Number", "Default": "0" }
        },
        "Resources": { "Q": { "Type": "AWS::SQS::Queue", "Properties": { "DelaySeconds": { "Ref": "Delay" } } } }
    })
    .to_string();
    sdk::block_on(async {
        let refused = cfn
            .create_change_set()
            .stack_name(&stack)
            .change_set_name("first")
            .change_set_type(aws_sdk_cloudformation::types::ChangeSetType::Create)
            .template_body(&body)
            .send()
            .await
            .expect_err("ZoneId has no value");
        let e = refused.into_service_error();
        assert_eq!(e.meta().code(), Some("ValidationError"));
        assert_eq!(
            e.meta().message(),
            Some("Parameters: [ZoneId] must have values")
        );
        let refused = cfn
            .create_stack()
            .stack_name(&stack)
            .template_body(&body)
            .send()
            .await
            .expect_err("ZoneId has no value");
        assert_eq!(
            refused.into_service_error().meta().code(),
            Some("ValidationError")
        );
        let stacks = cfn.describe_stacks().stack_name(&stack).send().await;
        assert!(stacks.is_err(), "no stack was made: {stacks:?}");
        cfn.create_stack()
            .stack_name(&stack)
            .template_body(&body)
            .parameters(
                Parameter::builder()
                    .parameter_key("ZoneId")
                    .parameter_value("Z1")
                    .build(),
            )
            .send()
            .await
            .expect("with a value it is accepted");
    });
}
