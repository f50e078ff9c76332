//! Rebuild with data (issue 16, item 2), end to end on the strict sandbox, where
//! deleting a stack whose bucket holds objects fails as on AWS: `dr rebuild` of a
//! wrecked region whose bucket holds object versions and whose tables hold rows
//! deletes the old stack keeping them (`DeletionPolicy: RetainExceptOnCreate`),
//! the new stack takes them back (an IMPORT change set), the data is intact and
//! belongs to the new stack, and the next deploy changes nothing.

mod support;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;
use std::path::{Path, PathBuf};
use strata::aws::dr_compute::{delete_load_balancer, load_balancer_by_dns};
use strata::exit_code;
use strata::synth::naming::{bucket_name_in, table_name};
use support::{aws, cli, data, dr_stack, sandbox, sdk};

/// The example stack (`support::dr_stack`) with a regional table besides the
/// global one: every region's stack then holds a bucket and a table of its own.
fn write_stack(dir: &Path) -> PathBuf {
    let path = dr_stack::write(dir);
    let mut text = std::fs::read_to_string(&path).expect("the test stack");
    text.push_str(
        "\n[[tables]]\nname = \"sessions\"\npartition_key = { name = \"session_id\", type = \"S\" }\n\
         global = false\n",
    );
    std::fs::write(&path, text).expect("write the test stack");
    path
}

/// Delete the region's load balancer outside CloudFormation: rebuild finds the
/// stack wrecked and deletes it.
fn break_region(file: &Path, region: &str) {
    let def = strata::stack::load(file).expect("valid test stack");
    let client = sdk::block_on(aws::connect(&sandbox::endpoint()));
    sdk::block_on(async {
        let key = strata::dr::stack_refs::load_balancer(&client, &def, region)
            .await
            .expect("lb of the stack");
        let lb = load_balancer_by_dns(&client, region, &key)
            .await
            .expect("lb")
            .expect("lb exists");
        delete_load_balancer(&client, region, &lb.arn)
            .await
            .expect("delete lb");
    });
}

fn last_json(run: &cli::Run) -> Value {
    run.json_lines()
        .pop()
        .unwrap_or_else(|| panic!("no JSON output\n{run}"))
}

fn order_key(v: &str) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// Put an order into the region's replica of the global table.
fn put_order(region: &str, table: &str) {
    let db = sdk::dynamodb(region);
    sdk::block_on(async {
        db.put_item()
            .table_name(table)
            .item("customer_id", order_key("c-1"))
            .item("order_id", order_key("o-1"))
            .send()
            .await
            .expect("put an order");
    });
}

fn order_is_there(region: &str, table: &str) -> bool {
    let db = sdk::dynamodb(region);
    sdk::block_on(async {
        db.get_item()
            .table_name(table)
            .key("customer_id", order_key("c-1"))
            .key("order_id", order_key("o-1"))
            .send()
            .await
            .map(|o| o.item().is_some())
            .unwrap_or(false)
    })
}

/// Make the region's stack what a deploy before buckets were kept on delete left:
/// its bucket without a DeletionPolicy (Delete), the rest as it is.
fn forget_the_buckets_deletion_policy(region: &str, stack: &str) {
    let cfn = sdk::cloudformation(region);
    sdk::block_on(async {
        let body = cfn
            .get_template()
            .stack_name(stack)
            .send()
            .await
            .expect("GetTemplate")
            .template_body()
            .expect("a template")
            .to_string();
        let mut t: Value = serde_json::from_str(&body).expect("a JSON template");
        let bucket = t["Resources"]["Bucket"]
            .as_object_mut()
            .expect("the stack's bucket");
        bucket.remove("DeletionPolicy");
        bucket.remove("UpdateReplacePolicy");
        let params = cfn
            .describe_stacks()
            .stack_name(stack)
            .send()
            .await
            .expect("DescribeStacks")
            .stacks()[0]
            .parameters()
            .to_vec();
        let mut update = cfn
            .update_stack()
            .stack_name(stack)
            .template_body(t.to_string())
            .capabilities(aws_sdk_cloudformation::types::Capability::CapabilityNamedIam);
        for p in params {
            update = update.parameters(
                aws_sdk_cloudformation::types::Parameter::builder()
                    .parameter_key(p.parameter_key().unwrap_or_default())
                    .use_previous_value(true)
                    .build(),
            );
        }
        update.send().await.expect("UpdateStack");
        assert_eq!(
            sdk::settled_stack(&cfn, stack).await.as_deref(),
            Some("UPDATE_COMPLETE")
        );
    });
}

/// Rebuild `region` of the test stack after putting data in its bucket and
/// tables; check the data is intact, held by the new stack, and that a deploy
/// afterwards changes nothing. `old_stack`: the region's stack is one deployed
/// before buckets were kept on delete (its delete fails on the bucket, and the
/// rebuild deletes it again keeping the bucket with RetainResources).
fn rebuild_keeps_the_data_of(region: &str, from: &str, old_stack: bool) {
    let _moto = sandbox::exclusive();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write_stack(dir.path());
    let f = file.to_str().expect("utf-8 path");
    let def = strata::stack::load(&file).expect("the test stack loads");
    cli::deploy_json(&file).expect_code(exit_code::SUCCESS);

    let bucket = bucket_name_in(&def, sdk::ACCOUNT, region);
    let sessions = table_name(&def, "sessions");
    let orders = table_name(&def, "orders");
    data::put_data(region, &bucket, &sessions);
    put_order(region, &orders);
    assert_eq!(data::versions(region, &bucket), Some((2, 1)));

    let stack = def.region_stack_name(region);
    let cfn = sdk::cloudformation(region);
    let old_id = sdk::block_on(async {
        cfn.describe_stacks()
            .stack_name(&stack)
            .send()
            .await
            .expect("the region's stack")
            .stacks()[0]
            .stack_id()
            .expect("a stack id")
            .to_string()
    });

    if old_stack {
        forget_the_buckets_deletion_policy(region, &stack);
    }
    break_region(&file, region);
    let run = cli::strata_sandbox(&[
        "dr", "rebuild", f, "--region", region, "--from", from, "--bake", "0s", "--output", "json",
    ]);
    run.expect_code(exit_code::SUCCESS);
    let report = last_json(&run);
    assert!(
        report["deleted_stack"].as_str().is_some(),
        "the wrecked stack was not deleted: {report}"
    );
    let kept: Vec<&str> = report["kept_data"]
        .as_array()
        .unwrap_or_else(|| panic!("no kept_data: {report}"))
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(kept.contains(&bucket.as_str()), "{report}");
    // The kept bucket lacks nothing the others hold: the back-fill before DNS
    // copied nothing and says it is complete.
    assert_eq!(report["backfill"]["complete"], true, "{report}");
    assert_eq!(report["backfill"]["copied"], 0, "{report}");
    assert!(kept.contains(&sessions.as_str()), "{report}");
    if old_stack {
        assert!(
            run.stdout.contains("RetainResources") || run.stderr.contains("RetainResources"),
            "the second delete keeps the bucket\n{run}"
        );
    }
    assert!(
        run.stderr
            .contains(&format!("AWS::S3::Bucket {bucket} exists"))
            || run
                .stdout
                .contains(&format!("AWS::S3::Bucket {bucket} exists")),
        "the new stack takes the bucket back\n{run}"
    );

    // A new stack (another id) holds the very bucket and table.
    let (new_id, resources) = sdk::block_on(async {
        let id = cfn
            .describe_stacks()
            .stack_name(&stack)
            .send()
            .await
            .expect("the rebuilt stack")
            .stacks()[0]
            .stack_id()
            .expect("a stack id")
            .to_string();
        (id, sdk::stack_resources(&cfn, &stack).await)
    });
    assert_ne!(new_id, old_id, "the stack was not made again");
    let physical = |kind: &str| {
        resources
            .iter()
            .find(|(_, t, _)| t == kind)
            .map(|(_, _, p)| p.clone())
    };
    assert_eq!(
        physical("AWS::S3::Bucket"),
        Some(bucket.clone()),
        "{resources:?}"
    );
    assert_eq!(
        physical("AWS::DynamoDB::Table"),
        Some(sessions.clone()),
        "{resources:?}"
    );

    // The data is intact: every object version and the delete marker, the rows.
    assert_eq!(
        data::versions(region, &bucket),
        Some((2, 1)),
        "object versions"
    );
    assert!(data::row_is_there(region, &sessions), "the session row");
    assert!(order_is_there(region, &orders), "the order");

    // The bucket is whole again: its TLS-only policy (its own resource, deleted
    // with the old stack) is back, and it replicates through the new stack's role.
    let s3 = sdk::s3(region);
    let role = resources
        .iter()
        .find(|(id, _, _)| id == "ReplicationRole")
        .map(|(_, _, p)| p.clone())
        .unwrap_or_else(|| panic!("no replication role in the new stack: {resources:?}"));
    sdk::block_on(async {
        let policy = s3
            .get_bucket_policy()
            .bucket(&bucket)
            .send()
            .await
            .unwrap_or_else(|e| panic!("no bucket policy after the rebuild: {e:?}"));
        assert!(policy.policy().unwrap().contains("aws:SecureTransport"));
        let replication = s3
            .get_bucket_replication()
            .bucket(&bucket)
            .send()
            .await
            .expect("the bucket replicates");
        let conf = replication
            .replication_configuration()
            .expect("a configuration");
        assert!(conf.role().contains(&role), "{conf:?} ({role})");
        let rules: Vec<&str> = conf.rules().iter().filter_map(|r| r.id()).collect();
        for other in def.regions.iter().filter(|r| r.name != region) {
            assert!(
                rules.contains(&format!("to-{}", other.name).as_str()),
                "{rules:?}"
            );
        }
    });

    // And a deploy after the rebuild has nothing to change.
    let again = cli::deploy_json(&file);
    again.expect_code(exit_code::SUCCESS);
    let summary = again.summary();
    assert_eq!(summary["outcome"], "no-change", "{again}");
}

#[test]
fn rebuilding_a_region_whose_bucket_and_table_hold_data_keeps_them_and_takes_them_back() {
    rebuild_keeps_the_data_of("us-west-2", "us-east-1", false);
}

/// A stack deployed before buckets were kept on delete: its delete ends
/// DELETE_FAILED on the bucket (it holds objects), as on AWS; the rebuild deletes
/// it again keeping the bucket (RetainResources) and takes it back all the same.
#[test]
fn rebuilding_a_region_whose_old_stack_fails_to_delete_its_bucket_keeps_it_with_retain_resources() {
    rebuild_keeps_the_data_of("us-west-2", "us-east-1", true);
}
