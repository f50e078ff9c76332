//! The AWS region names strata knows (commercial partition), and AZ name rules.

/// Every commercial AWS region, sorted.
pub const KNOWN_REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
];

pub fn is_known(region: &str) -> bool {
    KNOWN_REGIONS.binary_search(&region).is_ok()
}

/// The known region closest to a misspelt one, if one is close enough to suggest.
pub fn suggest(region: &str) -> Option<&'static str> {
    KNOWN_REGIONS
        .iter()
        .map(|k| (edit_distance(region, k), *k))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, k)| k)
}

/// Whether `az` is an Availability Zone name of `region`: the region name plus
/// one lowercase letter ("us-east-1a").
pub fn az_in_region(az: &str, region: &str) -> bool {
    match az.strip_prefix(region) {
        Some(rest) => rest.len() == 1 && rest.chars().all(|c| c.is_ascii_lowercase()),
        None => false,
    }
}

/// The Availability Zone letters of every known region: the zone names
/// `DescribeAvailabilityZones` reports (state `available`, zone type
/// `availability-zone`), as listed per region on AWS's "AWS Availability Zones"
/// page (<https://docs.aws.amazon.com/global-infrastructure/latest/regions/aws-availability-zones.html>)
/// and in "Regions and Zones" of the EC2 User Guide
/// (<https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/using-regions-availability-zones.html>).
/// Gaps are real: ca-central-1 has a, b and d; ap-northeast-1 has a, c and d
/// (ap-northeast-1b is closed to new accounts). In the oldest regions (us-east-1,
/// us-west-1, ap-northeast-1) an account sees only some of them, which is why
/// `plan` and `deploy` also check the account's own list (docs/stack-reference.md).
/// Sorted by region, for lookup.
pub const AZ_LETTERS: &[(&str, &str)] = &[
    ("af-south-1", "abc"),
    ("ap-east-1", "abc"),
    ("ap-east-2", "abc"),
    ("ap-northeast-1", "acd"),
    ("ap-northeast-2", "abcd"),
    ("ap-northeast-3", "abc"),
    ("ap-south-1", "abc"),
    ("ap-south-2", "abc"),
    ("ap-southeast-1", "abc"),
    ("ap-southeast-2", "abc"),
    ("ap-southeast-3", "abc"),
    ("ap-southeast-4", "abc"),
    ("ap-southeast-5", "abc"),
    ("ap-southeast-7", "abc"),
    ("ca-central-1", "abd"),
    ("ca-west-1", "abc"),
    ("eu-central-1", "abc"),
    ("eu-central-2", "abc"),
    ("eu-north-1", "abc"),
    ("eu-south-1", "abc"),
    ("eu-south-2", "abc"),
    ("eu-west-1", "abc"),
    ("eu-west-2", "abc"),
    ("eu-west-3", "abc"),
    ("il-central-1", "abc"),
    ("me-central-1", "abc"),
    ("me-south-1", "abc"),
    ("mx-central-1", "abc"),
    ("sa-east-1", "abc"),
    ("us-east-1", "abcdef"),
    ("us-east-2", "abc"),
    ("us-west-1", "abc"),
    ("us-west-2", "abcd"),
];

/// The Availability Zone names of a known region ("ca-central-1a", ...).
pub fn azs_of(region: &str) -> Option<Vec<String>> {
    let i = AZ_LETTERS.binary_search_by(|(r, _)| r.cmp(&region)).ok()?;
    Some(
        AZ_LETTERS[i]
            .1
            .chars()
            .map(|c| format!("{region}{c}"))
            .collect(),
    )
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The regions where S3 has no account regional namespace
/// (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/gpbucketnamespaces.html>,
/// "Account regional namespace general purpose buckets"): `validate` refuses a
/// bucket there, since its name could be taken by another account.
pub const NO_ACCOUNT_REGIONAL_NAMESPACE: &[&str] = &["me-central-1", "me-south-1"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_sorted_so_lookup_works() {
        let mut sorted = KNOWN_REGIONS.to_vec();
        sorted.sort();
        assert_eq!(sorted, KNOWN_REGIONS);
        assert!(is_known("eu-west-1"));
        assert!(!is_known("eu-west-9"));
    }

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(suggest("us-est-1"), Some("us-east-1"));
        assert_eq!(suggest("mars-north-1"), None);
    }

    #[test]
    fn every_known_region_has_its_zones_and_the_table_is_sorted() {
        let regions: Vec<&str> = AZ_LETTERS.iter().map(|(r, _)| *r).collect();
        assert_eq!(regions, KNOWN_REGIONS);
        assert_eq!(
            azs_of("ca-central-1").unwrap(),
            ["ca-central-1a", "ca-central-1b", "ca-central-1d"]
        );
        assert!(!azs_of("ap-northeast-1")
            .unwrap()
            .contains(&"ap-northeast-1b".to_string()));
        assert_eq!(azs_of("mars-north-1"), None);
    }

    #[test]
    fn az_is_region_plus_one_letter() {
        assert!(az_in_region("us-east-1a", "us-east-1"));
        assert!(!az_in_region("us-east-1", "us-east-1"));
        assert!(!az_in_region("us-east-1ab", "us-east-1"));
        assert!(!az_in_region("us-west-2a", "us-east-1"));
        assert!(!az_in_region("us-east-1A", "us-east-1"));
    }
}
