//! The region's bucket: deterministically named in the account's regional namespace
//! (`naming::bucket_name`), versioned, encrypted (SSE-S3), public access blocked,
//! objects owned by the bucket owner, TLS-only; in the wired phase (with
//! `storage.replication`) it replicates to every other region's bucket through its
//! own replication role, each rule and the role pinned to the stack's own account.
//! The bucket outlives its stack (`DeletionPolicy: RetainExceptOnCreate`, as the
//! tables); its policy and replication role do not.

use super::compute::assume_role;
use super::context::RegionCtx;
use super::lit::{int, opt, s, some, yes};
use super::{naming, tags};
use crate::cfn::gen::{iam, s3};
use crate::cfn::{Handle, Intrinsic, Template};
use serde_json::{json, Value as Json};

/// The id of the replication rule towards the bucket of `region` (the `RuleId`
/// dimension of its replication metrics, which the failure alarm watches).
pub fn replication_rule_id(region: &str) -> String {
    format!("to-{region}")
}

pub fn add(t: &mut Template, ctx: &RegionCtx) -> Option<Handle<s3::Bucket>> {
    if !ctx.def.storage.enabled {
        return None;
    }
    use s3::bucket as b;
    let mut bucket = s3::Bucket::default();
    bucket.bucket_name = Some(naming::bucket_name(ctx.def, &ctx.region.name));
    bucket.bucket_namespace = opt(b::BucketBucketNamespace::AccountRegional);
    bucket.versioning_configuration = Some(b::VersioningConfiguration::new(
        b::VersioningConfigurationStatus::Enabled,
    ));
    let by_default =
        b::ServerSideEncryptionByDefault::new(b::ServerSideEncryptionByDefaultSseAlgorithm::Aes256);
    let mut rule = b::ServerSideEncryptionRule::default();
    rule.server_side_encryption_by_default = Some(by_default);
    bucket.bucket_encryption = Some(b::BucketEncryption::new(vec![rule]));
    let mut block = b::PublicAccessBlockConfiguration::default();
    block.block_public_acls = Some(yes(true));
    block.block_public_policy = Some(yes(true));
    block.ignore_public_acls = Some(yes(true));
    block.restrict_public_buckets = Some(yes(true));
    bucket.public_access_block_configuration = Some(block);
    let mut owner = b::OwnershipControlsRule::default();
    owner.object_ownership = opt(b::OwnershipControlsRuleObjectOwnership::BucketOwnerEnforced);
    bucket.ownership_controls = Some(b::OwnershipControls::new(vec![owner]));
    // Versioning keeps every overwritten or deleted version: expire noncurrent
    // versions after the definition's days, and abandoned multipart uploads
    // after a week (https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-configuration-examples.html).
    let mut lifecycle = b::Rule::new(b::RuleStatus::Enabled);
    lifecycle.id = some("expire-noncurrent-versions");
    lifecycle.noncurrent_version_expiration = Some(b::NoncurrentVersionExpiration::new(int(
        i64::from(ctx.def.storage.noncurrent_version_days),
    )));
    lifecycle.abort_incomplete_multipart_upload =
        Some(b::AbortIncompleteMultipartUpload::new(int(7)));
    bucket.lifecycle_configuration = Some(b::LifecycleConfiguration::new(vec![lifecycle]));
    let destinations: Vec<&str> = ctx.other_regions().map(|r| r.name.as_str()).collect();
    if ctx.wired() && ctx.def.storage.replication && !destinations.is_empty() {
        let role = replication_role(t, ctx, &destinations);
        let rules: Vec<b::ReplicationRule> = destinations
            .iter()
            .zip(1..)
            .map(|(region, priority)| {
                // Replication metrics publish OperationsFailedReplication, which
                // the failure alarm watches (no Replication Time Control needed:
                // https://docs.aws.amazon.com/AmazonS3/latest/userguide/repl-metrics.html).
                let mut destination =
                    b::ReplicationDestination::new(naming::bucket_arn(ctx.def, region, false));
                // The destination's owner: S3 replicates only into a bucket this
                // account owns (https://docs.aws.amazon.com/AmazonS3/latest/API/API_Destination.html,
                // Account). Replicas keep the source owner, which is the same
                // account, so no AccessControlTranslation (which is for another
                // owner) is set.
                destination.account = Some(Intrinsic::Ref("AWS::AccountId".into()).into());
                destination.metrics = Some(b::Metrics::new(b::MetricsStatus::Enabled));
                let mut r = b::ReplicationRule::new(destination, b::ReplicationRuleStatus::Enabled);
                r.id = some(replication_rule_id(region));
                r.priority = Some(int(priority));
                let mut filter = b::ReplicationRuleFilter::default();
                filter.prefix = some("");
                r.filter = Some(filter);
                let mut markers = b::DeleteMarkerReplication::default();
                markers.status = opt(b::DeleteMarkerReplicationStatus::Enabled);
                r.delete_marker_replication = Some(markers);
                r
            })
            .collect();
        bucket.replication_configuration =
            Some(b::ReplicationConfiguration::new(role.arn(), rules));
    }
    bucket.tags = Some(tags::standard(ctx));
    // Kept when its stack is deleted, as the tables are (`data::retain`): on AWS a
    // stack cannot delete a bucket that holds objects (its delete would end
    // DELETE_FAILED), and what is kept the next stack takes back.
    let bucket = t.add_with("Bucket", bucket, super::data::retain());

    let arn = bucket.arn().to_json();
    let objects = Intrinsic::join("", vec![arn.clone(), json!("/*")]).to_json();
    t.add(
        "BucketPolicy",
        s3::BucketPolicy::new(
            bucket.ref_(),
            json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": "TlsOnly",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [arn, objects],
                    "Condition": { "Bool": { "aws:SecureTransport": "false" } }
                }]
            }),
        ),
    );
    Some(bucket)
}

/// The role S3 assumes to copy this region's objects into the other buckets.
///
/// Every statement holds only for resources of the stack's own account
/// (`aws:ResourceAccount`,
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-resourceaccount>):
/// even a bucket of the same name elsewhere could not be read or written.
fn replication_role(t: &mut Template, ctx: &RegionCtx, destinations: &[&str]) -> Handle<iam::Role> {
    let here = &ctx.region.name;
    let dest_objects: Vec<Json> = destinations
        .iter()
        .map(|region| naming::bucket_arn(ctx.def, region, true).to_json())
        .collect();
    let own_account =
        json!({ "StringEquals": { "aws:ResourceAccount": { "Ref": "AWS::AccountId" } } });
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadSourceConfiguration",
                "Effect": "Allow",
                "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
                "Resource": [naming::bucket_arn(ctx.def, here, false).to_json()],
                "Condition": own_account
            },
            {
                "Sid": "ReadSourceObjects",
                "Effect": "Allow",
                "Action": [
                    "s3:GetObjectVersionAcl",
                    "s3:GetObjectVersionForReplication",
                    "s3:GetObjectVersionTagging"
                ],
                "Resource": [naming::bucket_arn(ctx.def, here, true).to_json()],
                "Condition": own_account
            },
            {
                "Sid": "WriteDestinations",
                "Effect": "Allow",
                "Action": ["s3:ReplicateDelete", "s3:ReplicateObject", "s3:ReplicateTags"],
                "Resource": dest_objects,
                "Condition": own_account
            }
        ]
    });
    let mut role = iam::Role::new(assume_role("s3.amazonaws.com"));
    role.description = some(format!(
        "S3 replication of the {} bucket of {here} to the other regions' buckets",
        ctx.def.stack_name()
    ));
    role.policies = Some(vec![iam::role::Policy::new(s("replicate"), policy)]);
    role.tags = Some(tags::standard(ctx));
    t.add("ReplicationRole", role)
}
