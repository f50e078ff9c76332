//! Names and retention that work on AWS (issue 14, item 6), end to end on the
//! sandbox: a first create that fails after its tables were made leaves no table
//! behind (`DeletionPolicy: RetainExceptOnCreate`), so the re-run succeeds; the
//! bucket is named in the account's regional namespace, read back through S3; and
//! the sandbox refuses what S3 and CloudFormation refuse (docs/sandbox.md).

mod support;

use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Duration;
use strata::exit_code;
use strata::stack::StackDef;
use strata::synth::naming::{bucket_name_in, table_name};
use support::sdk::ACCOUNT;
use support::{cli, sandbox, sdk, stacks};

/// A two-region stack (tables, queue, replicated buckets) written to `dir`.
fn one_region(dir: &Path) -> PathBuf {
    let path = dir.join("one.toml");
    // A peak the surviving region covers (N+1, a mandatory policy).
    // Without certificates (the sandbox's ACM has none of the generated ARNs).
    let text: String = stacks::stack_toml(2, 2)
        .replace("peak_rps = 1000", "peak_rps = 400")
        .lines()
        .filter(|l| !l.starts_with("certificate_arn"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(text.contains("peak_rps = 400"));
    std::fs::write(&path, text).unwrap();
    path
}

/// The sandbox control endpoint's CloudFormation faults: `POST` one, `DELETE` all.
fn faults(method: &'static str, query: &str) {
    let path = format!("/moto-api/strata/cfn-faults{query}");
    let r = strata::sandbox::http::request(method, sandbox::port(), &path, Duration::from_secs(10))
        .expect("fault endpoint");
    assert_eq!(r.status, 200, "{}", r.body);
}

fn table_names(region: &str) -> Vec<String> {
    let ddb = aws_sdk_dynamodb::Client::new(&sdk::config(region));
    sdk::block_on(async {
        ddb.list_tables()
            .send()
            .await
            .expect("ListTables")
            .table_names()
            .to_vec()
    })
}

fn tables_of(def: &StackDef) -> Vec<String> {
    def.tables
        .iter()
        .map(|t| table_name(def, &t.name))
        .collect()
}

#[test]
fn a_first_create_that_fails_after_its_tables_leaves_none_and_the_rerun_succeeds() {
    let _moto = sandbox::exclusive();
    let dir = tempfile::tempdir().unwrap();
    let file = one_region(dir.path());
    let def = strata::stack::load(&file).expect("the stack loads");
    let region = def.regions[0].name.clone();
    let stack = def.region_stack_name(&region);
    // The instance role refers to the tables (its policy names their ARNs), so
    // CloudFormation creates them first; the role then fails.
    faults(
        "POST",
        &format!("?stack={stack}&logical_id=InstanceRole&on=operation"),
    );
    cli::deploy_json(&file).expect_code(exit_code::DEPLOY_FAILED_ROLLED_BACK);
    let left: Vec<String> = table_names(&region)
        .into_iter()
        .filter(|t| tables_of(&def).contains(t))
        .collect();
    assert!(left.is_empty(), "the failed create left {left:?}");

    faults("DELETE", "");
    cli::deploy_json(&file).expect_code(exit_code::SUCCESS);
    let now = table_names(&region);
    for t in tables_of(&def) {
        assert!(now.contains(&t), "{t} after the re-run: {now:?}");
    }

    // The bucket: named in the account's regional namespace, as the stack says.
    let bucket = bucket_name_in(&def, ACCOUNT, &region);
    assert!(
        bucket.ends_with(&format!("-{ACCOUNT}-{region}-an")),
        "{bucket}"
    );
    let cfn = sdk::cloudformation(&region);
    let s3 = sdk::s3(&region);
    sdk::block_on(async {
        let out = cfn
            .describe_stacks()
            .stack_name(&stack)
            .send()
            .await
            .unwrap();
        let output = out.stacks()[0]
            .outputs()
            .iter()
            .find(|o| o.output_key() == Some("BucketName"))
            .and_then(|o| o.output_value().map(str::to_string));
        assert_eq!(output.as_deref(), Some(bucket.as_str()));
        s3.head_bucket()
            .bucket(&bucket)
            .send()
            .await
            .unwrap_or_else(|e| panic!("HeadBucket {bucket}: {e:?}"));
    });
}

/// A template of one bucket in the account regional namespace, named `name`.
fn regional_bucket(name: &str) -> String {
    json!({ "Resources": { "Bucket": { "Type": "AWS::S3::Bucket", "Properties": {
        "BucketName": name, "BucketNamespace": "account-regional" } } } })
    .to_string()
}

/// Create `template` as `stack` and wait for it to settle; its final status.
async fn create(cfn: &aws_sdk_cloudformation::Client, stack: &str, template: String) -> String {
    cfn.create_stack()
        .stack_name(stack)
        .template_body(template)
        .send()
        .await
        .expect("CreateStack");
    for _ in 0..2400 {
        let out = cfn
            .describe_stacks()
            .stack_name(stack)
            .send()
            .await
            .unwrap();
        let status = out.stacks()[0].stack_status().unwrap().as_str().to_string();
        if !status.ends_with("_IN_PROGRESS") {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{stack} did not settle");
}

#[test]
fn the_sandbox_names_regional_buckets_as_s3_does_and_retains_except_on_create() {
    let _moto = sandbox::shared();
    let region = "eu-west-1";
    let cfn = sdk::cloudformation(region);
    let sqs = sdk::sqs(region);
    let s3 = sdk::s3(region);
    sdk::block_on(async {
        // A name without the account and region suffix is refused.
        let bad = sandbox::unique("badns");
        let status = create(&cfn, &bad, regional_bucket(&format!("{bad}-an"))).await;
        assert_eq!(status, "ROLLBACK_COMPLETE");
        let good = sandbox::unique("goodns");
        let name = format!("{good}-{ACCOUNT}-{region}-an");
        let status = create(&cfn, &good, regional_bucket(&name)).await;
        assert_eq!(status, "CREATE_COMPLETE");
        s3.head_bucket()
            .bucket(&name)
            .send()
            .await
            .expect("HeadBucket");

        // RetainExceptOnCreate: deleted when its own create rolls back ...
        let queue = |q: &str| {
            json!({ "Type": "AWS::SQS::Queue", "DeletionPolicy": "RetainExceptOnCreate",
                    "Properties": { "QueueName": q } })
        };
        let failing = sandbox::unique("roc-fail");
        faults(
            "POST",
            &format!("?stack={failing}&logical_id=After&on=operation"),
        );
        let body = json!({ "Resources": {
            "Kept": queue(&failing),
            "After": { "Type": "AWS::SQS::Queue", "DependsOn": "Kept" } } });
        assert_eq!(
            create(&cfn, &failing, body.to_string()).await,
            "ROLLBACK_COMPLETE"
        );
        let url = sqs.get_queue_url().queue_name(&failing).send().await;
        assert!(
            url.is_err(),
            "the rolled-back create left its queue: {url:?}"
        );

        // ... kept when the stack is deleted afterwards.
        let kept = sandbox::unique("roc-keep");
        let body = json!({ "Resources": { "Kept": queue(&kept) } });
        assert_eq!(
            create(&cfn, &kept, body.to_string()).await,
            "CREATE_COMPLETE"
        );
        cfn.delete_stack().stack_name(&kept).send().await.unwrap();
        for _ in 0..2400 {
            let gone = cfn
                .describe_stacks()
                .stack_name(&kept)
                .send()
                .await
                .is_err();
            if gone {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        sqs.get_queue_url()
            .queue_name(&kept)
            .send()
            .await
            .expect("the queue outlives its deleted stack");
    });
}
