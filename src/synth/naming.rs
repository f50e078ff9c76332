//! Deterministic physical names and logical ids: the same definition always names
//! the same resources the same way, so templates diff cleanly and regions can refer
//! to each other's buckets by name without any lookup.

use crate::cfn::{Intrinsic, Value};
use crate::stack::{Region, StackDef};
use sha2::{Digest, Sha256};

/// S3 bucket names are at most 63 characters
/// (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html>).
const BUCKET_NAME_MAX: usize = 63;
/// Hex digits of the stack-name hash in a bucket name.
const HASH_LEN: usize = 8;
/// An AWS account id is 12 digits.
pub const ACCOUNT_ID_LEN: usize = 12;
/// The suffix every bucket name in an account regional namespace ends with.
pub const ACCOUNT_REGIONAL_SUFFIX: &str = "-an";
/// First `HASH_LEN` hex digits of the SHA-256 of the stack name ("<app>-<env>").
pub fn short_hash(stack_name: &str) -> String {
    let digest = Sha256::digest(stack_name.as_bytes());
    hex::encode(digest)[..HASH_LEN].to_string()
}

/// The region's bucket name, created in the account's regional namespace
/// (`BucketNamespace: account-regional`), with the account as the `AWS::AccountId`
/// pseudo parameter: `<app>-<env>-<short hash>-${AWS::AccountId}-<region>-an`.
///
/// Only the account that owns a namespace can create buckets in it, so no other
/// account can hold or squat this name (docs/synth.md, "Bucket names").
pub fn bucket_name(def: &StackDef, region: &str) -> Value<String> {
    Value::Expr(Intrinsic::sub(bucket_name_in(
        def,
        "${AWS::AccountId}",
        region,
    )))
}

/// The region's bucket name in `account` (a 12-digit id, or the `${AWS::AccountId}`
/// reference `bucket_name` substitutes), as `bucket_name` names it.
///
/// When the name would be longer than S3 allows, the `<app>-<env>` part is
/// shortened (the hash, the account and the region, which keep names distinct, are
/// never cut).
pub fn bucket_name_in(def: &StackDef, account: &str, region: &str) -> String {
    let stack = def.stack_name();
    let hash = short_hash(&stack);
    let suffix_len =
        1 + hash.len() + 1 + ACCOUNT_ID_LEN + 1 + region.len() + ACCOUNT_REGIONAL_SUFFIX.len();
    let room = BUCKET_NAME_MAX.saturating_sub(suffix_len);
    let prefix = if stack.len() > room {
        stack[..room].trim_end_matches('-')
    } else {
        stack.as_str()
    };
    format!("{prefix}-{hash}-{account}-{region}{ACCOUNT_REGIONAL_SUFFIX}")
}

/// The ARN of the region's bucket (`bucket_name`), or of its objects with `/*`.
pub fn bucket_arn(def: &StackDef, region: &str, objects: bool) -> Value<String> {
    let name = bucket_name_in(def, "${AWS::AccountId}", region);
    let tail = if objects { "/*" } else { "" };
    Value::Expr(Intrinsic::sub(format!(
        "arn:${{AWS::Partition}}:s3:::{name}{tail}"
    )))
}

/// A table's physical name: `<app>-<env>-<name>`.
pub fn table_name(def: &StackDef, name: &str) -> String {
    format!("{}-{name}", def.stack_name())
}

/// A queue's physical name: `<app>-<env>-<name>`.
pub fn queue_name(def: &StackDef, name: &str) -> String {
    format!("{}-{name}", def.stack_name())
}

/// The dead-letter queue of a queue: `<app>-<env>-<name>-dlq`.
pub fn dead_letter_queue_name(def: &StackDef, name: &str) -> String {
    format!("{}-{name}-dlq", def.stack_name())
}

/// A logical-id fragment from free text: ASCII alphanumerics of each '-'/'_'/'.'
/// separated word, each word capitalised ("write-buffer" -> "WriteBuffer").
pub fn pascal(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut cs = w.chars();
            let first = cs.next().map(|c| c.to_ascii_uppercase());
            first.into_iter().chain(cs).collect::<String>()
        })
        .collect()
}

/// The logical-id suffix of each AZ of a region, in the definition's order.
///
/// The suffix is the AZ name without the region prefix ("us-east-1a" -> "A",
/// "us-west-2-lax-1a" -> "Lax1a"), so adding or removing an AZ never renames the
/// resources of the others. Should two AZs give the same suffix, or one give none,
/// the AZ's position (1-based) is used for it instead.
pub fn az_suffixes(region: &Region) -> Vec<String> {
    let raw: Vec<String> = region
        .azs
        .iter()
        .map(|az| pascal(az.strip_prefix(region.name.as_str()).unwrap_or(az)))
        .collect();
    raw.iter()
        .enumerate()
        .map(|(i, s)| {
            let unique = raw.iter().filter(|o| *o == s).count() == 1;
            if s.is_empty() || !unique {
                format!("Az{}", i + 1)
            } else {
                s.clone()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::Region;

    fn region(name: &str, azs: &[&str]) -> Region {
        Region {
            name: name.into(),
            cidr: "10.0.0.0/16".into(),
            azs: azs.iter().map(|s| s.to_string()).collect(),
            failover: None,
            capacity: None,
        }
    }

    #[test]
    fn az_suffixes_come_from_the_zone_letter() {
        let r = region("us-east-1", &["us-east-1a", "us-east-1b", "us-east-1f"]);
        assert_eq!(az_suffixes(&r), ["A", "B", "F"]);
        let local = region("us-west-2", &["us-west-2a", "us-west-2-lax-1a"]);
        assert_eq!(az_suffixes(&local), ["A", "Lax1a"]);
    }

    #[test]
    fn clashing_or_empty_suffixes_fall_back_to_positions() {
        let r = region("eu-west-1", &["eu-west-1", "eu-west-1-a", "eu-west-1a"]);
        assert_eq!(az_suffixes(&r), ["Az1", "Az2", "Az3"]);
    }

    #[test]
    fn pascal_joins_capitalised_words() {
        assert_eq!(pascal("write-buffer"), "WriteBuffer");
        assert_eq!(pascal("orders_v2"), "OrdersV2");
    }

    #[test]
    fn short_hash_is_stable_hex() {
        let h = short_hash("shop-production");
        assert_eq!(h.len(), 8);
        assert!(h.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(h, short_hash("shop-production"));
        assert_ne!(h, short_hash("shop-staging"));
    }
}
