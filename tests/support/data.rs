//! Test support: data in a stack's bucket and table, written and read back
//! through S3 and DynamoDB (what destroy keeps and a deploy takes back).

use super::sdk;
use aws_sdk_dynamodb::types::AttributeValue;

/// (object versions, delete markers) in the bucket; `None` when it is gone.
pub fn versions(region: &str, bucket: &str) -> Option<(usize, usize)> {
    let s3 = sdk::s3(region);
    sdk::block_on(async {
        s3.list_object_versions()
            .bucket(bucket)
            .send()
            .await
            .ok()
            .map(|o| (o.versions().len(), o.delete_markers().len()))
    })
}

pub fn row_is_there(region: &str, table: &str) -> bool {
    let db = sdk::dynamodb(region);
    sdk::block_on(async {
        db.get_item()
            .table_name(table)
            .key("session_id", AttributeValue::S("s-1".into()))
            .send()
            .await
            .map(|o| o.item().is_some())
            .unwrap_or(false)
    })
}

/// Two versions of an object and a delete marker in the bucket, a row in the table.
/// The bucket's policy refuses requests without TLS and the sandbox speaks HTTP:
/// the policy is lifted for these writes and put back as it was.
pub fn put_data(region: &str, bucket: &str, table: &str) {
    let s3 = sdk::s3(region);
    let db = sdk::dynamodb(region);
    sdk::block_on(async {
        let policy = s3
            .get_bucket_policy()
            .bucket(bucket)
            .send()
            .await
            .expect("the bucket's TLS-only policy")
            .policy()
            .expect("a policy")
            .to_string();
        s3.delete_bucket_policy()
            .bucket(bucket)
            .send()
            .await
            .expect("lift the policy");
        for body in ["one", "two"] {
            s3.put_object()
                .bucket(bucket)
                .key("orders/1.json")
                .body(body.as_bytes().to_vec().into())
                .send()
                .await
                .expect("put an object version");
        }
        s3.delete_object()
            .bucket(bucket)
            .key("orders/1.json")
            .send()
            .await
            .expect("a delete marker");
        s3.put_bucket_policy()
            .bucket(bucket)
            .policy(policy)
            .send()
            .await
            .expect("put the policy back");
        db.put_item()
            .table_name(table)
            .item("session_id", AttributeValue::S("s-1".into()))
            .send()
            .await
            .expect("put a row");
    });
}
