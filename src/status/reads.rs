//! The `BucketReads` port: what `status` reads beyond the deploy's `Cloud` port
//! (stacks, groups, targets and health checks come through `Cloud`): a bucket's
//! replication configuration and its objects. Implemented once for the AWS
//! adapter (`aws::bucket_reads`) and by the unit tests' fake (`crate::fake`).

use crate::call_error::CallError;
use crate::dr::backfill::Object;

#[allow(async_fn_in_trait)]
pub trait BucketReads: Sync {
    /// GetBucketReplication: the destination bucket ARNs of the bucket's rules, or
    /// None when it has no replication configuration.
    async fn replication_destinations(
        &self,
        region: &str,
        bucket: &str,
    ) -> Result<Option<Vec<String>>, CallError>;
    /// ListObjectsV2, every page: the bucket's current objects, or None when it
    /// holds more than `max` (listing stops there).
    async fn objects_at_most(
        &self,
        region: &str,
        bucket: &str,
        max: usize,
    ) -> Result<Option<Vec<Object>>, CallError>;
}
