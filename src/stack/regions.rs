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
    fn az_is_region_plus_one_letter() {
        assert!(az_in_region("us-east-1a", "us-east-1"));
        assert!(!az_in_region("us-east-1", "us-east-1"));
        assert!(!az_in_region("us-east-1ab", "us-east-1"));
        assert!(!az_in_region("us-west-2a", "us-east-1"));
        assert!(!az_in_region("us-east-1A", "us-east-1"));
    }
}
