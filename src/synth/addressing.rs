//! Subnet CIDRs derived from a region's VPC CIDR: one public and one private
//! subnet per AZ, all the same size, as large as the VPC allows.
//!
//! With `n` AZs the VPC is cut into the smallest power of two `>= 2n` equal
//! blocks; AZ `i` gets block `i` (public) and block `n + i` (private). A /16 with
//! two AZs gives four /18s, with three AZs eight /19s (two left free for growth).

use ipnet::Ipv4Net;
use std::fmt;

/// The smallest subnet AWS allows.
const SMALLEST_SUBNET_PREFIX: u8 = 28;

/// The two subnets of one AZ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AzSubnets {
    pub public: Ipv4Net,
    pub private: Ipv4Net,
}

/// Why a region's CIDR cannot be cut into subnets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressingError {
    #[error("`{cidr}` is not an IPv4 CIDR block: {reason}")]
    Malformed { cidr: String, reason: String },
    #[error("`{cidr}` is too small for {azs} AZs: each of the {subnets} subnets would be a /{prefix}, smaller than AWS's /28")]
    TooSmall {
        cidr: String,
        azs: usize,
        subnets: usize,
        prefix: u8,
    },
    #[error("a region needs at least one AZ to place subnets in")]
    NoAz,
}

impl fmt::Display for AzSubnets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "public {} private {}", self.public, self.private)
    }
}

/// Public and private subnet of each of `azs` AZs, in AZ order.
pub fn subnets(cidr: &str, azs: usize) -> Result<Vec<AzSubnets>, AddressingError> {
    if azs == 0 {
        return Err(AddressingError::NoAz);
    }
    let net: Ipv4Net =
        cidr.parse()
            .map_err(|e: ipnet::AddrParseError| AddressingError::Malformed {
                cidr: cidr.to_string(),
                reason: e.to_string(),
            })?;
    let net = net.trunc();
    let blocks = (2 * azs).next_power_of_two();
    let extra_bits = blocks.trailing_zeros() as u8;
    let prefix = net.prefix_len() + extra_bits;
    if prefix > SMALLEST_SUBNET_PREFIX {
        return Err(AddressingError::TooSmall {
            cidr: cidr.to_string(),
            azs,
            subnets: 2 * azs,
            prefix,
        });
    }
    let all: Vec<Ipv4Net> = net
        .subnets(prefix)
        .expect("prefix is within 0..=32 and not shorter than the VPC's")
        .collect();
    Ok((0..azs)
        .map(|i| AzSubnets {
            public: all[i],
            private: all[azs + i],
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(cidr: &str, azs: usize) -> Vec<(String, String)> {
        subnets(cidr, azs)
            .unwrap()
            .iter()
            .map(|s| (s.public.to_string(), s.private.to_string()))
            .collect()
    }

    #[test]
    fn two_azs_split_a_slash_16_into_quarters() {
        assert_eq!(
            nets("10.0.0.0/16", 2),
            [
                ("10.0.0.0/18".to_string(), "10.0.128.0/18".to_string()),
                ("10.0.64.0/18".to_string(), "10.0.192.0/18".to_string()),
            ]
        );
    }

    #[test]
    fn three_azs_use_eighths_and_never_overlap() {
        let s = subnets("10.20.0.0/16", 3).unwrap();
        assert_eq!(s[0].public.to_string(), "10.20.0.0/19");
        assert_eq!(s[2].public.to_string(), "10.20.64.0/19");
        assert_eq!(s[0].private.to_string(), "10.20.96.0/19");
        assert_eq!(s[2].private.to_string(), "10.20.160.0/19");
        let all: Vec<Ipv4Net> = s.iter().flat_map(|a| [a.public, a.private]).collect();
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert!(!a.contains(b) && !b.contains(a), "{a} overlaps {b}");
            }
        }
    }

    #[test]
    fn a_slash_24_fits_eight_azs_but_not_nine() {
        let s = subnets("192.168.1.0/24", 8).unwrap();
        assert!(s.iter().all(|a| a.public.prefix_len() == 28));
        let err = subnets("192.168.1.0/24", 9).unwrap_err();
        assert!(
            matches!(err, AddressingError::TooSmall { prefix: 29, .. }),
            "{err}"
        );
    }

    #[test]
    fn malformed_cidrs_are_errors_not_panics() {
        assert!(matches!(
            subnets("10.0.0.0/33", 2),
            Err(AddressingError::Malformed { .. })
        ));
        assert!(matches!(
            subnets("10.0.0.0/16", 0),
            Err(AddressingError::NoAz)
        ));
    }
}
