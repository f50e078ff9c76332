//! Retained means adopted (issue 16, item 1), end to end on the strict sandbox:
//! after `destroy` kept a bucket holding object versions and a table holding a
//! row, the next `deploy` of the same definition takes both back with an IMPORT
//! change set (no name clash), and afterwards they belong to the new stack with
//! their data intact, read back through CloudFormation, S3 and DynamoDB.

mod support;

use std::path::Path;
use strata::exit_code;
use strata::synth::naming::{bucket_name_in, table_name};
use support::{cli, data, sandbox, sdk};

const STAGING: &str = "stacks/staging.toml";
const HOME: &str = "us-east-1";

#[test]
fn a_deploy_after_destroy_takes_the_kept_bucket_and_table_back_with_their_data() {
    let _moto = sandbox::exclusive();
    let file = sandbox::repo_dir().join(STAGING);
    let f = file.to_string_lossy().to_string();
    let def = strata::stack::load(Path::new(&file)).expect("staging loads");
    cli::deploy_json(&file).expect_code(exit_code::SUCCESS);
    let bucket = bucket_name_in(&def, sdk::ACCOUNT, HOME);
    let table = table_name(&def, "sessions");
    data::put_data(HOME, &bucket, &table);

    let destroyed = cli::strata_sandbox(&["destroy", &f, "--yes", "--output", "json"]);
    destroyed.expect_code(exit_code::SUCCESS);
    assert_eq!(
        data::versions(HOME, &bucket),
        Some((2, 1)),
        "kept by destroy"
    );

    let run = cli::deploy_json(&file);
    run.expect_code(exit_code::SUCCESS);
    let s = run.summary();
    assert_eq!(s["outcome"], "deployed", "{run}");
    assert!(
        run.stdout
            .contains(&format!("AWS::S3::Bucket {bucket} exists")),
        "the plan says the bucket is taken back\n{run}"
    );

    // The new stack holds the very bucket and table, and their data is intact.
    let stack = def.region_stack_name(HOME);
    let cfn = sdk::cloudformation(HOME);
    let resources = sdk::block_on(sdk::stack_resources(&cfn, &stack));
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
        Some(table.clone()),
        "{resources:?}"
    );
    assert_eq!(
        data::versions(HOME, &bucket),
        Some((2, 1)),
        "object versions kept"
    );
    assert!(data::row_is_there(HOME, &table), "the row is kept");

    // The rest of the stack came with the update after the import: versioning
    // is on and the bucket's TLS-only policy (its own resource) is back.
    let s3 = sdk::s3(HOME);
    sdk::block_on(async {
        let v = s3
            .get_bucket_versioning()
            .bucket(&bucket)
            .send()
            .await
            .unwrap();
        assert_eq!(v.status().map(|s| s.as_str()), Some("Enabled"));
        let policy = s3
            .get_bucket_policy()
            .bucket(&bucket)
            .send()
            .await
            .unwrap_or_else(|e| panic!("no bucket policy after the import: {e:?}\n{run}"));
        assert!(policy.policy().unwrap().contains("aws:SecureTransport"));
    });

    // And a deploy after that has nothing to change.
    let again = cli::deploy_json(&file);
    again.expect_code(exit_code::SUCCESS);
    assert_eq!(again.summary()["outcome"], "no-change", "{again}");
}

#[test]
fn a_global_table_kept_by_destroy_is_taken_back_by_the_home_regions_stack_with_its_items() {
    let _moto = sandbox::exclusive();
    let file = sandbox::repo_dir().join("stacks/example.toml");
    let f = file.to_string_lossy().to_string();
    let def = strata::stack::load(Path::new(&file)).expect("the example loads");
    cli::deploy_json(&file).expect_code(exit_code::SUCCESS);
    let table = table_name(&def, "orders");
    let db = sdk::dynamodb(HOME);
    let key = |v: &str| aws_sdk_dynamodb::types::AttributeValue::S(v.into());
    sdk::block_on(async {
        db.put_item()
            .table_name(&table)
            .item("customer_id", key("c-1"))
            .item("order_id", key("o-1"))
            .send()
            .await
            .expect("put an order");
    });
    cli::strata_sandbox(&["destroy", &f, "--yes", "--output", "json"])
        .expect_code(exit_code::SUCCESS);

    let run = cli::deploy_json(&file);
    run.expect_code(exit_code::SUCCESS);
    assert!(
        run.stdout
            .contains(&format!("AWS::DynamoDB::GlobalTable {table} exists")),
        "{run}"
    );
    let cfn = sdk::cloudformation(HOME);
    let resources = sdk::block_on(sdk::stack_resources(&cfn, &def.region_stack_name(HOME)));
    assert!(
        resources
            .iter()
            .any(|(_, t, p)| t == "AWS::DynamoDB::GlobalTable" && *p == table),
        "{resources:?}"
    );
    let item = sdk::block_on(async {
        db.get_item()
            .table_name(&table)
            .key("customer_id", key("c-1"))
            .key("order_id", key("o-1"))
            .send()
            .await
            .expect("GetItem")
            .item()
            .is_some()
    });
    assert!(item, "the order is still there");
}
