//! CloudFormation resource import in the sandbox (`sandbox/moto_cfn_import.py`): an
//! IMPORT change set takes a retained bucket or table back into a stack as it is,
//! and is refused where AWS refuses it. Each test reads the outcome back through the
//! services' APIs, as a client of AWS would. The rules, their AWS pages and these
//! tests are listed in docs/sandbox.md ("CloudFormation: resource import").

mod support;

use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use aws_sdk_cloudformation::types::{ChangeAction, ChangeSetType, ResourceToImport, StackEvent};
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::{sandbox, sdk};

type Cfn = aws_sdk_cloudformation::Client;

const REGION: &str = "us-east-1";

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
        if status == "GONE" || !status.ends_with("_IN_PROGRESS") || status == "REVIEW_IN_PROGRESS" {
            return seen;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{name}: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn stack_status(cfn: &Cfn, name: &str) -> String {
    cfn.describe_stacks()
        .stack_name(name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("DescribeStacks {name}: {e:?}"))
        .stacks()[0]
        .stack_status()
        .unwrap()
        .as_str()
        .to_string()
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

/// The statuses the stack itself went through, from its events (oldest first):
/// unlike polling, nothing short-lived is missed.
async fn stack_history(cfn: &Cfn, name: &str) -> Vec<String> {
    events(cfn, name)
        .await
        .iter()
        .filter(|e| e.resource_type() == Some("AWS::CloudFormation::Stack"))
        .filter_map(|e| e.resource_status().map(|s| s.as_str().to_string()))
        .collect()
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

/// The stack's outputs as (key, value).
async fn outputs(cfn: &Cfn, name: &str) -> std::collections::BTreeMap<String, String> {
    cfn.describe_stacks()
        .stack_name(name)
        .send()
        .await
        .expect("DescribeStacks")
        .stacks()[0]
        .outputs()
        .iter()
        .map(|o| {
            (
                o.output_key().unwrap_or_default().to_string(),
                o.output_value().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// Make `logical_id` of `stack` fail when an operation touches it, through the
/// sandbox control endpoint.
fn inject_fault(stack: &str, logical_id: &str) {
    let path =
        format!("/moto-api/strata/cfn-faults?stack={stack}&logical_id={logical_id}&on=operation");
    let r = strata::sandbox::http::request("POST", sandbox::port(), &path, Duration::from_secs(10))
        .expect("fault endpoint");
    assert_eq!(r.status, 200, "{}", r.body);
}

/// A template of one bucket named `bucket` (with `policy` as its DeletionPolicy, or
/// none), the resources of `extra` and the `outputs`, if any.
fn bucket_template(
    logical: &str,
    bucket: &str,
    policy: Option<&str>,
    extra: Value,
    outputs: Option<Value>,
) -> String {
    let mut resources = json!({
        logical: { "Type": "AWS::S3::Bucket", "Properties": { "BucketName": bucket } }
    });
    if let Some(p) = policy {
        resources[logical]["DeletionPolicy"] = json!(p);
    }
    for (k, v) in extra.as_object().unwrap() {
        resources[k] = v.clone();
    }
    let mut template = json!({ "Resources": resources });
    if let Some(o) = outputs {
        template["Outputs"] = o;
    }
    template.to_string()
}

fn queue(logical: &str, name: &str) -> Value {
    json!({ logical: { "Type": "AWS::SQS::Queue", "Properties": { "QueueName": name } } })
}

fn table_resource(table: &str, policy: &str) -> Value {
    json!({
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": policy,
        "Properties": {
            "TableName": table,
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{ "AttributeName": "pk", "AttributeType": "S" }],
            "KeySchema": [{ "AttributeName": "pk", "KeyType": "HASH" }]
        }
    })
}

fn import_of(logical: &str, resource_type: &str, key: &str, value: &str) -> ResourceToImport {
    ResourceToImport::builder()
        .resource_type(resource_type)
        .logical_resource_id(logical)
        .resource_identifier(key, value)
        .build()
}

fn bucket_import(logical: &str, bucket: &str) -> ResourceToImport {
    import_of(logical, "AWS::S3::Bucket", "BucketName", bucket)
}

/// CreateChangeSet of type IMPORT (the change set's name is unique).
async fn import_change_set(
    cfn: &Cfn,
    stack: &str,
    body: &str,
    imports: Vec<ResourceToImport>,
) -> Result<
    String,
    aws_sdk_cloudformation::error::SdkError<
        aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetError,
    >,
> {
    let name = sandbox::unique("import");
    cfn.create_change_set()
        .stack_name(stack)
        .change_set_name(&name)
        .change_set_type(ChangeSetType::Import)
        .template_body(body)
        .set_resources_to_import(Some(imports))
        .send()
        .await
        .map(|_| name)
}

/// The change set once it is no longer being created.
async fn settled_change_set(
    cfn: &Cfn,
    stack: &str,
    name: &str,
) -> aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput {
    let started = Instant::now();
    loop {
        let cs = cfn
            .describe_change_set()
            .stack_name(stack)
            .change_set_name(name)
            .send()
            .await
            .expect("DescribeChangeSet");
        let status = cs
            .status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default();
        if status == "CREATE_COMPLETE" || status == "FAILED" {
            return cs;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "change set {name}: {status}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Wait for the change set, execute it, and return the stack's statuses until settled.
async fn execute(cfn: &Cfn, stack: &str, name: &str) -> Vec<String> {
    let cs = settled_change_set(cfn, stack, name).await;
    assert_eq!(
        cs.status().map(|s| s.as_str()),
        Some("CREATE_COMPLETE"),
        "{cs:?}"
    );
    cfn.execute_change_set()
        .stack_name(stack)
        .change_set_name(name)
        .send()
        .await
        .expect("ExecuteChangeSet");
    statuses_until_settled(cfn, stack).await
}

/// An UPDATE change set of `body`, executed; the stack's statuses until settled.
async fn update(cfn: &Cfn, stack: &str, body: &str) -> Vec<String> {
    let name = sandbox::unique("update");
    cfn.create_change_set()
        .stack_name(stack)
        .change_set_name(&name)
        .change_set_type(ChangeSetType::Update)
        .template_body(body)
        .send()
        .await
        .expect("CreateChangeSet UPDATE");
    execute(cfn, stack, &name).await
}

/// The refusal's error code and message.
fn refusal<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug>(
    result: Result<T, E>,
) -> (String, String) {
    let e = result.expect_err("the sandbox refuses it");
    (
        e.code().unwrap_or_default().to_string(),
        e.message().unwrap_or_default().to_string(),
    )
}

async fn object_body(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Option<Vec<u8>> {
    let out = s3.get_object().bucket(bucket).key(key).send().await.ok()?;
    Some(out.body.collect().await.ok()?.into_bytes().to_vec())
}

async fn bucket_exists(s3: &aws_sdk_s3::Client, bucket: &str) -> bool {
    s3.list_buckets()
        .send()
        .await
        .expect("ListBuckets")
        .buckets()
        .iter()
        .any(|b| b.name() == Some(bucket))
}

/// A bucket left behind by a stack deleted with `DeletionPolicy: Retain` (how strata
/// keeps data), holding the object `keep.txt` = "hello".
async fn retained_bucket(cfn: &Cfn, s3: &aws_sdk_s3::Client, bucket: &str) {
    let stack = sandbox::unique("import-source");
    cfn.create_stack()
        .stack_name(&stack)
        .template_body(bucket_template(
            "Data",
            bucket,
            Some("Retain"),
            json!({}),
            None,
        ))
        .send()
        .await
        .expect("CreateStack");
    assert_eq!(
        statuses_until_settled(cfn, &stack).await.last().unwrap(),
        "CREATE_COMPLETE"
    );
    s3.put_object()
        .bucket(bucket)
        .key("keep.txt")
        .body(b"hello".to_vec().into())
        .send()
        .await
        .expect("PutObject");
    cfn.delete_stack().stack_name(&stack).send().await.unwrap();
    assert_eq!(
        statuses_until_settled(cfn, &stack).await.last().unwrap(),
        "GONE"
    );
    assert_eq!(
        object_body(s3, bucket, "keep.txt").await.as_deref(),
        Some(&b"hello"[..]),
        "the retained bucket kept its object"
    );
}

#[test]
fn a_retained_bucket_is_imported_into_an_existing_stack_as_it_is() {
    let _moto = sandbox::shared();
    let cfn = sdk::cloudformation(REGION);
    let s3 = sdk::s3(REGION);
    let bucket = sandbox::unique("import-bucket");
    let stack = sandbox::unique("import-into");
    let queue_name = sandbox::unique("import-queue");
    sdk::block_on(async {
        retained_bucket(&cfn, &s3, &bucket).await;
        cfn.create_stack()
            .stack_name(&stack)
            .template_body(json!({ "Resources": queue("Q", &queue_name) }).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(
            statuses_until_settled(&cfn, &stack).await.last().unwrap(),
            "CREATE_COMPLETE"
        );
        let body = bucket_template(
            "Data",
            &bucket,
            Some("Retain"),
            queue("Q", &queue_name),
            None,
        );
        let name = import_change_set(&cfn, &stack, &body, vec![bucket_import("Data", &bucket)])
            .await
            .expect("CreateChangeSet IMPORT is accepted");
        let cs = settled_change_set(&cfn, &stack, &name).await;
        assert_eq!(
            cs.status().map(|s| s.as_str()),
            Some("CREATE_COMPLETE"),
            "{cs:?}"
        );
        assert_eq!(cs.changes().len(), 1, "{cs:?}");
        let change = cs.changes()[0]
            .resource_change()
            .expect("a resource change");
        assert_eq!(change.action(), Some(&ChangeAction::Import), "{change:?}");
        assert_eq!(change.logical_resource_id(), Some("Data"));
        assert_eq!(change.resource_type(), Some("AWS::S3::Bucket"));
        assert_eq!(change.physical_resource_id(), Some(bucket.as_str()));
        assert_eq!(
            stack_status(&cfn, &stack).await,
            "CREATE_COMPLETE",
            "creating the change set changes nothing"
        );

        let seen = execute(&cfn, &stack, &name).await;
        assert_eq!(seen.last().unwrap(), "IMPORT_COMPLETE", "{seen:?}");
        assert!(
            stack_history(&cfn, &stack).await.ends_with(&[
                "IMPORT_IN_PROGRESS".to_string(),
                "IMPORT_COMPLETE".to_string()
            ]),
            "{seen:?}"
        );
        let evs = events(&cfn, &stack).await;
        assert!(
            event_of(&evs, "Data", "IMPORT_IN_PROGRESS").is_some(),
            "{evs:?}"
        );
        let done = event_of(&evs, "Data", "IMPORT_COMPLETE").expect("Data IMPORT_COMPLETE");
        assert_eq!(done.physical_resource_id(), Some(bucket.as_str()));
        assert!(
            !evs.iter().any(|e| e.logical_resource_id() == Some("Data")
                && e.resource_status().map(|s| s.as_str()) == Some("CREATE_COMPLETE")),
            "nothing is created: {evs:?}"
        );

        let resources = sdk::stack_resources(&cfn, &stack).await;
        assert!(
            resources.contains(&("Data".into(), "AWS::S3::Bucket".into(), bucket.clone())),
            "{resources:?}"
        );
        assert!(
            resources.iter().any(|(id, _, _)| id == "Q"),
            "{resources:?}"
        );
        assert_eq!(
            object_body(&s3, &bucket, "keep.txt").await.as_deref(),
            Some(&b"hello"[..]),
            "the object is still there"
        );
        let same_name = s3
            .list_buckets()
            .send()
            .await
            .unwrap()
            .buckets()
            .iter()
            .filter(|b| b.name() == Some(bucket.as_str()))
            .count();
        assert_eq!(same_name, 1, "no second bucket");
    });
}

#[test]
fn an_update_after_an_import_treats_the_resource_as_the_stacks_and_delete_honours_retain() {
    let _moto = sandbox::shared();
    let cfn = sdk::cloudformation(REGION);
    let s3 = sdk::s3(REGION);
    let bucket = sandbox::unique("import-upd");
    let stack = sandbox::unique("import-upd-stack");
    let queue_name = sandbox::unique("import-upd-queue");
    sdk::block_on(async {
        retained_bucket(&cfn, &s3, &bucket).await;
        let body = bucket_template("Data", &bucket, Some("Retain"), json!({}), None);
        let name = import_change_set(&cfn, &stack, &body, vec![bucket_import("Data", &bucket)])
            .await
            .unwrap();
        assert_eq!(
            execute(&cfn, &stack, &name).await.last().unwrap(),
            "IMPORT_COMPLETE"
        );

        // A normal update: the bucket changes in place, a queue is added, the
        // outputs read the imported bucket.
        let mut template: Value = serde_json::from_str(&bucket_template(
            "Data",
            &bucket,
            Some("Retain"),
            queue("Q", &queue_name),
            Some(json!({
                "BucketName": { "Value": { "Ref": "Data" } },
                "BucketArn": { "Value": { "Fn::GetAtt": ["Data", "Arn"] } }
            })),
        ))
        .unwrap();
        template["Resources"]["Data"]["Properties"]["VersioningConfiguration"] =
            json!({ "Status": "Enabled" });
        let seen = update(&cfn, &stack, &template.to_string()).await;
        assert_eq!(seen.last().unwrap(), "UPDATE_COMPLETE", "{seen:?}");
        let evs = events(&cfn, &stack).await;
        assert!(
            event_of(&evs, "Data", "UPDATE_COMPLETE").is_some(),
            "updated in place: {evs:?}"
        );
        assert!(
            event_of(&evs, "Data", "CREATE_IN_PROGRESS").is_none(),
            "not replaced: {evs:?}"
        );
        let out = outputs(&cfn, &stack).await;
        assert_eq!(out.get("BucketName"), Some(&bucket), "{out:?}");
        assert_eq!(
            out.get("BucketArn"),
            Some(&format!("arn:aws:s3:::{bucket}")),
            "{out:?}"
        );
        let versioning = s3
            .get_bucket_versioning()
            .bucket(&bucket)
            .send()
            .await
            .unwrap();
        assert_eq!(
            versioning.status().map(|s| s.as_str()),
            Some("Enabled"),
            "the update reached the imported bucket"
        );
        assert_eq!(
            object_body(&s3, &bucket, "keep.txt").await.as_deref(),
            Some(&b"hello"[..])
        );

        cfn.delete_stack().stack_name(&stack).send().await.unwrap();
        assert_eq!(
            statuses_until_settled(&cfn, &stack).await.last().unwrap(),
            "GONE"
        );
        assert_eq!(
            object_body(&s3, &bucket, "keep.txt").await.as_deref(),
            Some(&b"hello"[..]),
            "DeletionPolicy Retain keeps the imported bucket and its object"
        );
    });
}

#[test]
fn an_imported_bucket_with_deletion_policy_delete_is_deleted_with_its_stack_once_empty() {
    let _moto = sandbox::shared();
    let cfn = sdk::cloudformation(REGION);
    let s3 = sdk::s3(REGION);
    let bucket = sandbox::unique("import-del");
    let stack = sandbox::unique("import-del-stack");
    sdk::block_on(async {
        retained_bucket(&cfn, &s3, &bucket).await;
        let body = bucket_template("Data", &bucket, Some("Delete"), json!({}), None);
        let name = import_change_set(&cfn, &stack, &body, vec![bucket_import("Data", &bucket)])
            .await
            .expect("any DeletionPolicy is accepted");
        assert_eq!(
            execute(&cfn, &stack, &name).await.last().unwrap(),
            "IMPORT_COMPLETE"
        );
        cfn.delete_stack().stack_name(&stack).send().await.unwrap();
        assert_eq!(
            statuses_until_settled(&cfn, &stack).await.last().unwrap(),
            "DELETE_FAILED",
            "the imported bucket holds an object"
        );
        s3.delete_object()
            .bucket(&bucket)
            .key("keep.txt")
            .send()
            .await
            .unwrap();
        cfn.delete_stack().stack_name(&stack).send().await.unwrap();
        assert_eq!(
            statuses_until_settled(&cfn, &stack).await.last().unwrap(),
            "GONE"
        );
        assert!(!bucket_exists(&s3, &bucket).await, "deleted with its stack");
    });
}

#[test]
fn a_retained_table_is_imported_into_a_new_stack_that_reviews_until_executed() {
    let _moto = sandbox::shared();
    let cfn = sdk::cloudformation(REGION);
    let ddb = sdk::dynamodb(REGION);
    let table = sandbox::unique("import-table");
    let source = sandbox::unique("import-table-source");
    let stack = sandbox::unique("import-table-stack");
    let queue_name = sandbox::unique("import-table-queue");
    sdk::block_on(async {
        cfn.create_stack()
            .stack_name(&source)
            .template_body(
                json!({ "Resources": { "T": table_resource(&table, "RetainExceptOnCreate") } })
                    .to_string(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(
            statuses_until_settled(&cfn, &source).await.last().unwrap(),
            "CREATE_COMPLETE"
        );
        ddb.put_item()
            .table_name(&table)
            .item("pk", AttributeValue::S("a".into()))
            .item("v", AttributeValue::S("1".into()))
            .send()
            .await
            .expect("PutItem");
        cfn.delete_stack().stack_name(&source).send().await.unwrap();
        assert_eq!(
            statuses_until_settled(&cfn, &source).await.last().unwrap(),
            "GONE"
        );

        let body = json!({ "Resources": { "T": table_resource(&table, "RetainExceptOnCreate") } })
            .to_string();
        let name = import_change_set(
            &cfn,
            &stack,
            &body,
            vec![import_of("T", "AWS::DynamoDB::Table", "TableName", &table)],
        )
        .await
        .expect("an IMPORT change set for a new stack name");
        assert_eq!(stack_status(&cfn, &stack).await, "REVIEW_IN_PROGRESS");
        assert!(
            sdk::stack_resources(&cfn, &stack).await.is_empty(),
            "nothing is in the stack before the change set runs"
        );
        let seen = execute(&cfn, &stack, &name).await;
        assert_eq!(seen.last().unwrap(), "IMPORT_COMPLETE", "{seen:?}");
        assert_eq!(
            stack_history(&cfn, &stack).await,
            [
                "REVIEW_IN_PROGRESS",
                "IMPORT_IN_PROGRESS",
                "IMPORT_COMPLETE"
            ]
        );
        assert_eq!(
            sdk::stack_resources(&cfn, &stack).await,
            [(
                "T".to_string(),
                "AWS::DynamoDB::Table".to_string(),
                table.clone()
            )]
        );
        let item = |ddb: aws_sdk_dynamodb::Client, table: String| async move {
            ddb.get_item()
                .table_name(&table)
                .key("pk", AttributeValue::S("a".into()))
                .send()
                .await
                .ok()
                .and_then(|o| o.item().and_then(|i| i.get("v").cloned()))
        };
        assert_eq!(
            item(ddb.clone(), table.clone()).await,
            Some(AttributeValue::S("1".into())),
            "the item is still there"
        );

        let mut resources = queue("Q", &queue_name);
        resources["T"] = table_resource(&table, "RetainExceptOnCreate");
        let later = json!({
            "Resources": resources,
            "Outputs": { "Table": { "Value": { "Ref": "T" } } }
        })
        .to_string();
        let seen = update(&cfn, &stack, &later).await;
        assert_eq!(seen.last().unwrap(), "UPDATE_COMPLETE", "{seen:?}");
        assert_eq!(outputs(&cfn, &stack).await.get("Table"), Some(&table));
        assert_eq!(
            item(ddb.clone(), table.clone()).await,
            Some(AttributeValue::S("1".into()))
        );

        cfn.delete_stack().stack_name(&stack).send().await.unwrap();
        assert_eq!(
            statuses_until_settled(&cfn, &stack).await.last().unwrap(),
            "GONE"
        );
        assert_eq!(
            item(ddb.clone(), table.clone()).await,
            Some(AttributeValue::S("1".into())),
            "RetainExceptOnCreate keeps the imported table: its stack did not create it"
        );
    });
}

#[test]
fn an_import_is_refused_as_aws_refuses_it() {
    let _moto = sandbox::shared();
    let cfn = sdk::cloudformation(REGION);
    let s3 = sdk::s3(REGION);
    let bucket = sandbox::unique("import-refused");
    let stack = sandbox::unique("import-refused-stack");
    let queue_name = sandbox::unique("import-refused-queue");
    sdk::block_on(async {
        s3.create_bucket()
            .bucket(&bucket)
            .send()
            .await
            .expect("CreateBucket");
        let attempt = |body: String, import: ResourceToImport| {
            let cfn = cfn.clone();
            let stack = stack.clone();
            async move { refusal(import_change_set(&cfn, &stack, &body, vec![import]).await) }
        };
        let retained = |name: &str| bucket_template("B", name, Some("Retain"), json!({}), None);

        let (code, message) = attempt(
            bucket_template("B", &bucket, None, json!({}), None),
            bucket_import("B", &bucket),
        )
        .await;
        assert_eq!(code, "ValidationError");
        assert_eq!(
            message,
            "The following resources to import [B] must have DeletionPolicy attribute specified in the template."
        );

        let missing = sandbox::unique("import-no-such-bucket");
        let (code, message) = attempt(retained(&missing), bucket_import("B", &missing)).await;
        assert_eq!(code, "ValidationError");
        assert!(message.contains("does not exist"), "{message}");
        assert!(message.contains(&missing), "{message}");

        let (_, message) = attempt(retained(&bucket), bucket_import("Other", &bucket)).await;
        assert!(
            message.contains("[Other]") && message.contains("not in the template"),
            "{message}"
        );

        let (_, message) = attempt(
            retained(&bucket),
            import_of("B", "AWS::DynamoDB::Table", "TableName", &bucket),
        )
        .await;
        assert!(
            message.contains("does not match its type AWS::S3::Bucket"),
            "{message}"
        );

        let (_, message) = attempt(retained("some-other-name"), bucket_import("B", &bucket)).await;
        assert!(
            message.contains("does not match its ResourceIdentifier"),
            "the template's BucketName is not the identifier: {message}"
        );

        let (_, message) = attempt(
            retained(&bucket),
            import_of("B", "AWS::S3::Bucket", "Name", &bucket),
        )
        .await;
        assert!(message.contains("Invalid ResourceIdentifier"), "{message}");

        let (_, message) = attempt(
            bucket_template("B", &bucket, Some("Retain"), queue("Q", &queue_name), None),
            bucket_import("B", &bucket),
        )
        .await;
        assert_eq!(
            message,
            "You have modified resources [Q] in your template that are not being imported. \
             Update, create or delete operations cannot be executed during import operations."
        );

        let (_, message) = attempt(
            bucket_template(
                "B",
                &bucket,
                Some("Retain"),
                json!({}),
                Some(json!({ "Name": { "Value": { "Ref": "B" } } })),
            ),
            bucket_import("B", &bucket),
        )
        .await;
        assert_eq!(
            message,
            "As part of the import operation, you cannot modify or add [Outputs]"
        );

        let gone = cfn.describe_stacks().stack_name(&stack).send().await;
        assert!(
            format!("{gone:?}").contains("does not exist"),
            "a refused import makes no stack: {gone:?}"
        );
        assert!(bucket_exists(&s3, &bucket).await);
    });
}

#[test]
fn an_import_into_an_existing_stack_changes_nothing_else() {
    let _moto = sandbox::shared();
    let cfn = sdk::cloudformation(REGION);
    let s3 = sdk::s3(REGION);
    let bucket = sandbox::unique("import-only");
    let stack = sandbox::unique("import-only-stack");
    let queue_name = sandbox::unique("import-only-queue");
    let kept = json!({ "Q": { "Value": { "Ref": "Q" } } });
    sdk::block_on(async {
        s3.create_bucket().bucket(&bucket).send().await.unwrap();
        cfn.create_stack()
            .stack_name(&stack)
            .template_body(
                json!({ "Resources": queue("Q", &queue_name), "Outputs": kept.clone() })
                    .to_string(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(
            statuses_until_settled(&cfn, &stack).await.last().unwrap(),
            "CREATE_COMPLETE"
        );
        let modified = "You have modified resources [Q] in your template that are not being \
                        imported. Update, create or delete operations cannot be executed during \
                        import operations.";

        let mut changed = queue("Q", &queue_name);
        changed["Q"]["Properties"]["DelaySeconds"] = json!(5);
        let body = bucket_template("B", &bucket, Some("Retain"), changed, Some(kept.clone()));
        let (code, message) = refusal(
            import_change_set(&cfn, &stack, &body, vec![bucket_import("B", &bucket)]).await,
        );
        assert_eq!(code, "ValidationError");
        assert_eq!(message, modified, "a changed resource");

        let body = bucket_template("B", &bucket, Some("Retain"), json!({}), Some(kept.clone()));
        let (_, message) = refusal(
            import_change_set(&cfn, &stack, &body, vec![bucket_import("B", &bucket)]).await,
        );
        assert_eq!(message, modified, "a removed resource");

        let mut more = kept.clone();
        more["B"] = json!({ "Value": { "Ref": "B" } });
        let body = bucket_template(
            "B",
            &bucket,
            Some("Retain"),
            queue("Q", &queue_name),
            Some(more),
        );
        let (_, message) = refusal(
            import_change_set(&cfn, &stack, &body, vec![bucket_import("B", &bucket)]).await,
        );
        assert_eq!(
            message,
            "As part of the import operation, you cannot modify or add [Outputs]"
        );

        let body = bucket_template(
            "B",
            &bucket,
            Some("Retain"),
            queue("Q", &queue_name),
            Some(kept.clone()),
        );
        let (_, message) = refusal(
            import_change_set(&cfn, &stack, &body, vec![bucket_import("Q", &queue_name)]).await,
        );
        assert!(
            message.contains("[Q]") && message.contains("already in a stack"),
            "{message}"
        );

        assert_eq!(stack_status(&cfn, &stack).await, "CREATE_COMPLETE");
        let name = import_change_set(&cfn, &stack, &body, vec![bucket_import("B", &bucket)])
            .await
            .expect("only the import, outputs unchanged: accepted");
        assert_eq!(
            execute(&cfn, &stack, &name).await.last().unwrap(),
            "IMPORT_COMPLETE"
        );
        assert_eq!(
            outputs(&cfn, &stack)
                .await
                .get("Q")
                .map(|q| q.ends_with(&queue_name)),
            Some(true)
        );
    });
}

#[test]
fn a_resource_that_belongs_to_a_stack_cannot_be_imported() {
    let _moto = sandbox::shared();
    let cfn = sdk::cloudformation(REGION);
    let s3 = sdk::s3(REGION);
    let bucket = sandbox::unique("import-owned");
    let owner = sandbox::unique("import-owner");
    let other = sandbox::unique("import-other");
    sdk::block_on(async {
        cfn.create_stack()
            .stack_name(&owner)
            .template_body(bucket_template(
                "Data",
                &bucket,
                Some("Retain"),
                json!({}),
                None,
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(
            statuses_until_settled(&cfn, &owner).await.last().unwrap(),
            "CREATE_COMPLETE"
        );
        let body = bucket_template("B", &bucket, Some("Retain"), json!({}), None);
        let (code, message) = refusal(
            import_change_set(&cfn, &other, &body, vec![bucket_import("B", &bucket)]).await,
        );
        assert_eq!(code, "ValidationError");
        assert!(message.contains("already belongs to stack"), "{message}");
        assert!(
            message.contains(&owner),
            "names the owning stack: {message}"
        );

        // The same stack, under another logical id.
        let mut twice: Value = serde_json::from_str(&bucket_template(
            "Data",
            &bucket,
            Some("Retain"),
            json!({}),
            None,
        ))
        .unwrap();
        twice["Resources"]["Again"] = twice["Resources"]["Data"].clone();
        let (_, message) = refusal(
            import_change_set(
                &cfn,
                &owner,
                &twice.to_string(),
                vec![bucket_import("Again", &bucket)],
            )
            .await,
        );
        assert!(message.contains("already belongs to stack"), "{message}");

        assert_eq!(
            sdk::stack_resources(&cfn, &owner).await,
            [(
                "Data".to_string(),
                "AWS::S3::Bucket".to_string(),
                bucket.clone()
            )]
        );
        assert!(bucket_exists(&s3, &bucket).await);
    });
}

#[test]
fn an_import_that_fails_rolls_back_and_leaves_the_resource_as_it_was() {
    let _moto = sandbox::shared();
    let cfn = sdk::cloudformation(REGION);
    let s3 = sdk::s3(REGION);
    let bucket = sandbox::unique("import-fails");
    let stack = sandbox::unique("import-fails-stack");
    sdk::block_on(async {
        retained_bucket(&cfn, &s3, &bucket).await;
        inject_fault(&stack, "F");
        let body = bucket_template("F", &bucket, Some("Retain"), json!({}), None);
        let name = import_change_set(&cfn, &stack, &body, vec![bucket_import("F", &bucket)])
            .await
            .unwrap();
        let seen = execute(&cfn, &stack, &name).await;
        assert_eq!(seen.last().unwrap(), "IMPORT_ROLLBACK_COMPLETE", "{seen:?}");
        assert_eq!(
            stack_history(&cfn, &stack).await,
            [
                "REVIEW_IN_PROGRESS",
                "IMPORT_IN_PROGRESS",
                "IMPORT_ROLLBACK_IN_PROGRESS",
                "IMPORT_ROLLBACK_COMPLETE"
            ]
        );
        let evs = events(&cfn, &stack).await;
        let failed = event_of(&evs, "F", "IMPORT_FAILED").expect("F IMPORT_FAILED");
        assert!(
            failed
                .resource_status_reason()
                .unwrap_or_default()
                .contains("injected failure of F"),
            "{failed:?}"
        );
        assert!(sdk::stack_resources(&cfn, &stack).await.is_empty());
        assert_eq!(
            object_body(&s3, &bucket, "keep.txt").await.as_deref(),
            Some(&b"hello"[..]),
            "nothing deleted"
        );
    });
}

#[test]
fn a_retained_global_table_is_imported_with_its_replicas() {
    let _moto = sandbox::shared();
    let cfn = sdk::cloudformation(REGION);
    let ddb = sdk::dynamodb(REGION);
    let eu = sdk::dynamodb("eu-west-1");
    let table = sandbox::unique("import-global");
    let source = sandbox::unique("import-global-source");
    let stack = sandbox::unique("import-global-stack");
    let template = |regions: &[&str]| {
        let replicas: Vec<Value> = regions.iter().map(|r| json!({ "Region": r })).collect();
        json!({
            "Resources": {
                "G": {
                    "Type": "AWS::DynamoDB::GlobalTable",
                    "DeletionPolicy": "Retain",
                    "Properties": {
                        "TableName": table,
                        "BillingMode": "PAY_PER_REQUEST",
                        "AttributeDefinitions": [{ "AttributeName": "pk", "AttributeType": "S" }],
                        "KeySchema": [{ "AttributeName": "pk", "KeyType": "HASH" }],
                        "Replicas": replicas
                    }
                }
            }
        })
        .to_string()
    };
    sdk::block_on(async {
        cfn.create_stack()
            .stack_name(&source)
            .template_body(template(&["us-east-1", "us-west-2"]))
            .send()
            .await
            .unwrap();
        assert_eq!(
            statuses_until_settled(&cfn, &source).await.last().unwrap(),
            "CREATE_COMPLETE"
        );
        ddb.put_item()
            .table_name(&table)
            .item("pk", AttributeValue::S("g".into()))
            .send()
            .await
            .unwrap();
        cfn.delete_stack().stack_name(&source).send().await.unwrap();
        assert_eq!(
            statuses_until_settled(&cfn, &source).await.last().unwrap(),
            "GONE"
        );

        let name = import_change_set(
            &cfn,
            &stack,
            &template(&["us-east-1", "us-west-2"]),
            vec![import_of(
                "G",
                "AWS::DynamoDB::GlobalTable",
                "TableName",
                &table,
            )],
        )
        .await
        .unwrap();
        assert_eq!(
            execute(&cfn, &stack, &name).await.last().unwrap(),
            "IMPORT_COMPLETE"
        );
        let row = ddb
            .get_item()
            .table_name(&table)
            .key("pk", AttributeValue::S("g".into()))
            .send()
            .await
            .unwrap();
        assert!(row.item().is_some(), "the item is still there");

        // The imported global table is the stack's: an update adds one replica.
        let seen = update(
            &cfn,
            &stack,
            &template(&["us-east-1", "us-west-2", "eu-west-1"]),
        )
        .await;
        assert_eq!(seen.last().unwrap(), "UPDATE_COMPLETE", "{seen:?}");
        let described = eu.describe_table().table_name(&table).send().await.unwrap();
        assert_eq!(
            described.table().and_then(|t| t.table_name()),
            Some(table.as_str())
        );
    });
}
