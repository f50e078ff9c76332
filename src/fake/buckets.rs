//! The fake's `status::BucketReads`: each bucket's replication destinations and
//! objects, as a test sets them.

use super::Fake;
use crate::call_error::CallError;
use crate::dr::backfill::Object;
use crate::status::BucketReads;

impl Fake {
    /// Give a bucket objects (keys, size 1) and, optionally, replication rules.
    pub fn add_bucket(&self, region: &str, bucket: &str, keys: &[&str], replicates_to: &[&str]) {
        self.with(|s| {
            let key = (region.to_string(), bucket.to_string());
            s.buckets.insert(key.clone());
            s.objects.insert(
                key.clone(),
                keys.iter()
                    .map(|k| Object {
                        key: k.to_string(),
                        size: 1,
                    })
                    .collect(),
            );
            if !replicates_to.is_empty() {
                s.replication.insert(
                    key,
                    replicates_to
                        .iter()
                        .map(|b| format!("arn:aws:s3:::{b}"))
                        .collect(),
                );
            }
        });
    }
}

impl BucketReads for Fake {
    async fn replication_destinations(
        &self,
        region: &str,
        bucket: &str,
    ) -> Result<Option<Vec<String>>, CallError> {
        self.call(region, "GetBucketReplication");
        Ok(self.with(|s| s.replication.get(&(region.into(), bucket.into())).cloned()))
    }

    async fn objects_at_most(
        &self,
        region: &str,
        bucket: &str,
        max: usize,
    ) -> Result<Option<Vec<Object>>, CallError> {
        self.call(region, "ListObjectsV2");
        Ok(self.with(|s| {
            let objects = s
                .objects
                .get(&(region.into(), bucket.into()))
                .cloned()
                .unwrap_or_default();
            (objects.len() <= max).then_some(objects)
        }))
    }
}
