//! `dr::backfill::Objects` against S3 and CloudFormation: the region's bucket from
//! its stack's outputs (DescribeStacks), every current object (ListObjectsV2), and
//! the conditional server-side copy (CopyObject with `If-None-Match: *`,
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html>).

use super::{stack_info, Aws, CallError};
use crate::dr::backfill::{Copied, Object, Objects};
use crate::synth::output_names;
use std::time::Duration;

/// S3's answer to `If-None-Match: *` when the key exists at the destination.
const PRECONDITION_FAILED: &str = "PreconditionFailed";
/// Two conditional writes of one key at once: S3 asks for a retry.
const CONDITIONAL_CONFLICT: &str = "ConditionalRequestConflict";
const CONFLICT_RETRIES: u32 = 3;

pub struct S3Objects<'a> {
    aws: &'a Aws,
}

impl<'a> S3Objects<'a> {
    pub fn new(aws: &'a Aws) -> Self {
        S3Objects { aws }
    }
}

/// `CopySource` is `bucket/key` with the key URL-encoded
/// (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html#API_CopyObject_RequestSyntax>).
pub fn copy_source(bucket: &str, key: &str) -> String {
    let mut out = String::with_capacity(bucket.len() + key.len() + 1);
    out.push_str(bucket);
    out.push('/');
    for b in key.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

impl Objects for S3Objects<'_> {
    async fn bucket(&self, region: &str, stack_name: &str) -> Result<Option<String>, CallError> {
        Ok(stack_info::describe_stack(self.aws, region, stack_name)
            .await?
            .and_then(|s| s.outputs.get(output_names::BUCKET_NAME).cloned()))
    }

    async fn list(&self, region: &str, bucket: &str) -> Result<Vec<Object>, CallError> {
        Ok(list_at_most(self.aws, region, bucket, usize::MAX)
            .await?
            .unwrap_or_default())
    }

    async fn copy_if_absent(
        &self,
        to_region: &str,
        to_bucket: &str,
        from_bucket: &str,
        key: &str,
    ) -> Result<Copied, CallError> {
        copy_if_absent(self.aws, to_region, to_bucket, from_bucket, key).await
    }
}

/// Every current object of the bucket (ListObjectsV2, every page), or None when it
/// holds more than `max` (listing stops there).
pub async fn list_at_most(
    aws: &Aws,
    region: &str,
    bucket: &str,
    max: usize,
) -> Result<Option<Vec<Object>>, CallError> {
    let s3 = aws.s3(region);
    let mut objects = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = s3
            .list_objects_v2()
            .bucket(bucket)
            .set_continuation_token(token.take())
            .send()
            .await
            .map_err(|e| CallError::from_sdk("s3", "ListObjectsV2", region, e))?;
        for o in out.contents() {
            if let Some(key) = o.key() {
                objects.push(Object {
                    key: key.to_string(),
                    size: o.size().unwrap_or_default().max(0) as u64,
                });
            }
        }
        if objects.len() > max {
            return Ok(None);
        }
        match out.next_continuation_token() {
            Some(t) if out.is_truncated() == Some(true) => token = Some(t.to_string()),
            _ => break,
        }
    }
    Ok(Some(objects))
}

async fn copy_if_absent(
    aws: &Aws,
    to_region: &str,
    to_bucket: &str,
    from_bucket: &str,
    key: &str,
) -> Result<Copied, CallError> {
    let s3 = aws.s3(to_region);
    let mut attempt = 0;
    loop {
        let res = s3
            .copy_object()
            .bucket(to_bucket)
            .key(key)
            .copy_source(copy_source(from_bucket, key))
            .if_none_match("*")
            .send()
            .await;
        match res {
            Ok(_) => return Ok(Copied::Copied),
            Err(e) => {
                let err = CallError::from_sdk("s3", "CopyObject", to_region, e);
                if err.code == PRECONDITION_FAILED {
                    return Ok(Copied::AlreadyThere);
                }
                if err.code == CONDITIONAL_CONFLICT && attempt < CONFLICT_RETRIES {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
                    continue;
                }
                return Err(err);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn copy_source_encodes_the_key_but_not_its_slashes() {
        assert_eq!(
            super::copy_source("b", "photos/2026 summer/été+1.jpg"),
            "b/photos/2026%20summer/%C3%A9t%C3%A9%2B1.jpg"
        );
    }
}
