//! `Leftovers` (what destroy keeps or deletes after the stacks) against AWS:
//! S3 object versions and buckets, DynamoDB tables, the stack's AMI copies.

use super::{CallError, CloudApi};
use crate::ami::Images;
use crate::ami::TAG_STACK;
use crate::deploy::cloud::Cloud;
use crate::deploy::Leftovers;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use std::collections::BTreeMap;
use std::time::Duration;

/// DeleteObjects takes at most 1000 keys per request
/// (https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html).
const DELETE_BATCH: i32 = 1000;

/// How long a deleted table may stay DELETING before destroy reports it.
const TABLE_DELETE_LIMIT: Duration = Duration::from_secs(600);

impl Leftovers for CloudApi {
    async fn bucket_holds_data(
        &self,
        region: &str,
        bucket: &str,
    ) -> Result<Option<bool>, CallError> {
        match self
            .aws
            .s3(region)
            .list_object_versions()
            .bucket(bucket)
            .max_keys(1)
            .send()
            .await
        {
            Ok(out) => Ok(Some(
                !out.versions().is_empty() || !out.delete_markers().is_empty(),
            )),
            Err(e) => {
                let e = CallError::from_sdk("s3", "ListObjectVersions", region, e);
                if e.code == "NoSuchBucket" {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }

    /// A versioned bucket is empty only when every version and delete marker is
    /// deleted (https://docs.aws.amazon.com/AmazonS3/latest/userguide/empty-bucket.html);
    /// each pass lists from the start again, so a rerun after a failure resumes.
    async fn empty_and_delete_bucket(
        &self,
        region: &str,
        bucket: &str,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<u64, CallError> {
        let s3 = self.aws.s3(region);
        let mut deleted = 0u64;
        loop {
            let out = s3
                .list_object_versions()
                .bucket(bucket)
                .max_keys(DELETE_BATCH)
                .send()
                .await
                .map_err(|e| CallError::from_sdk("s3", "ListObjectVersions", region, e))?;
            let mut ids = Vec::new();
            let versions = out
                .versions()
                .iter()
                .map(|v| (v.key(), v.version_id()))
                .chain(
                    out.delete_markers()
                        .iter()
                        .map(|m| (m.key(), m.version_id())),
                );
            for (key, version) in versions {
                let Some(key) = key else { continue };
                let mut id = ObjectIdentifier::builder().key(key);
                if let Some(v) = version {
                    id = id.version_id(v);
                }
                ids.push(id.build().map_err(|e| build_error(region, e))?);
            }
            if ids.is_empty() {
                break;
            }
            let count = ids.len() as u64;
            let delete = Delete::builder()
                .set_objects(Some(ids))
                .quiet(true)
                .build()
                .map_err(|e| build_error(region, e))?;
            let answer = s3
                .delete_objects()
                .bucket(bucket)
                .delete(delete)
                .send()
                .await
                .map_err(|e| CallError::from_sdk("s3", "DeleteObjects", region, e))?;
            if let Some(err) = answer.errors().first() {
                return Err(CallError {
                    service: "s3",
                    operation: "DeleteObjects",
                    region: region.into(),
                    code: err.code().unwrap_or("Error").into(),
                    message: format!(
                        "{} ({} of {count} not deleted, first {})",
                        err.message().unwrap_or_default(),
                        answer.errors().len(),
                        err.key().unwrap_or_default()
                    ),
                });
            }
            deleted += count;
            progress(deleted);
        }
        s3.delete_bucket()
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| CallError::from_sdk("s3", "DeleteBucket", region, e))?;
        Ok(deleted)
    }

    async fn table_exists(&self, region: &str, table: &str) -> Result<bool, CallError> {
        Ok(self.table(region, table).await?.is_some())
    }

    async fn delete_table(&self, region: &str, table: &str) -> Result<(), CallError> {
        self.aws
            .dynamodb(region)
            .delete_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| CallError::from_sdk("dynamodb", "DeleteTable", region, e))?;
        let started = std::time::Instant::now();
        while self.table(region, table).await?.is_some() {
            if started.elapsed() > TABLE_DELETE_LIMIT {
                return Err(CallError {
                    service: "dynamodb",
                    operation: "DeleteTable",
                    region: region.into(),
                    code: "StillDeleting".into(),
                    message: format!(
                        "{table} is still DELETING after {} s; run the same destroy again",
                        TABLE_DELETE_LIMIT.as_secs()
                    ),
                });
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        Ok(())
    }

    async fn clear_validation_records(&self, zone_id: &str) -> Result<Vec<String>, CallError> {
        super::route53_records::delete_acm_validation_records(&self.aws, zone_id).await
    }

    async fn ami_copies(
        &self,
        region: &str,
        stack_tag: &str,
    ) -> Result<Vec<(String, Vec<String>)>, CallError> {
        let tags = BTreeMap::from([(TAG_STACK.to_string(), stack_tag.to_string())]);
        Ok(self
            .aws
            .images_by_tags(region, &tags)
            .await?
            .into_iter()
            .filter(|i| i.state != "deregistered")
            .map(|i| (i.id, i.snapshot_ids))
            .collect())
    }
}

fn build_error(region: &str, e: aws_sdk_s3::error::BuildError) -> CallError {
    CallError {
        service: "s3",
        operation: "DeleteObjects",
        region: region.into(),
        code: "BuildError".into(),
        message: e.to_string(),
    }
}
