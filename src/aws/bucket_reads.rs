//! `status::BucketReads` for the AWS adapter: GetBucketReplication and
//! ListObjectsV2, each made in one place (`health_reads`, `s3_objects`).

use super::{health_reads, s3_objects, CloudApi};
use crate::call_error::CallError;
use crate::dr::backfill::Object;
use crate::status::BucketReads;

impl BucketReads for CloudApi {
    async fn replication_destinations(
        &self,
        region: &str,
        bucket: &str,
    ) -> Result<Option<Vec<String>>, CallError> {
        health_reads::bucket_replication(&self.aws, region, bucket).await
    }

    async fn objects_at_most(
        &self,
        region: &str,
        bucket: &str,
        max: usize,
    ) -> Result<Option<Vec<Object>>, CallError> {
        s3_objects::list_at_most(&self.aws, region, bucket, max).await
    }
}
