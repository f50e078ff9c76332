//! The price table strata ships (`src/cost/prices.toml`, compiled in): dated AWS
//! list prices for us-east-1, the pages they come from, and per-region multipliers.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The table's text, as shipped.
pub const PRICES_TOML: &str = include_str!("prices.toml");

/// The whole price table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceTable {
    /// The day the figures were transcribed from the source pages.
    pub date: String,
    pub currency: String,
    pub hours_per_month: f64,
    /// The region the figures are for; others are scaled by `region_multiplier`.
    pub base_region: String,
    /// Service -> the pricing page the figures come from.
    pub sources: BTreeMap<String, String>,
    /// EC2 instance type -> USD per on-demand Linux instance-hour.
    pub instance_hour: BTreeMap<String, f64>,
    pub prices: Prices,
    pub region_multiplier: BTreeMap<String, f64>,
}

/// Unit prices (us-east-1), named by what they charge for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prices {
    pub ebs_gp3_gb_month: f64,
    pub public_ipv4_hour: f64,
    pub nat_gateway_hour: f64,
    pub nat_gateway_gb: f64,
    pub alb_hour: f64,
    pub alb_lcu_hour: f64,
    pub lcu_new_connections_per_second: f64,
    pub lcu_gb_per_hour: f64,
    pub cloudfront_gb_out: f64,
    pub cloudfront_https_10k: f64,
    pub internet_gb_out: f64,
    pub inter_region_gb: f64,
    pub dynamodb_write_million: f64,
    pub dynamodb_replicated_write_million: f64,
    pub dynamodb_read_million: f64,
    pub dynamodb_wcu_hour: f64,
    pub dynamodb_replicated_wcu_hour: f64,
    pub dynamodb_rcu_hour: f64,
    pub dynamodb_gb_month: f64,
    pub dynamodb_pitr_gb_month: f64,
    pub s3_gb_month: f64,
    pub s3_put_1k: f64,
    pub sqs_million: f64,
    pub route53_zone_month: f64,
    pub route53_health_check_month: f64,
    pub route53_latency_million: f64,
    pub cloudwatch_alarm_month: f64,
    pub kms_key_month: f64,
}

impl PriceTable {
    /// The shipped table (parsed once; a unit test proves it parses).
    pub fn shipped() -> &'static PriceTable {
        static TABLE: OnceLock<PriceTable> = OnceLock::new();
        TABLE.get_or_init(|| {
            toml::from_str(PRICES_TOML).expect("src/cost/prices.toml is valid (unit tested)")
        })
    }

    /// A region's multiplier, and whether the table has one for it (else 1.0).
    pub fn multiplier(&self, region: &str) -> (f64, bool) {
        match self.region_multiplier.get(region) {
            Some(&m) => (m, true),
            None => (1.0, false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_table_parses_and_is_dated_with_its_sources() {
        let t = PriceTable::shipped();
        assert_eq!(t.base_region, "us-east-1");
        assert_eq!(t.multiplier("us-east-1"), (1.0, true));
        assert_eq!(t.multiplier("xx-nowhere-1"), (1.0, false));
        assert!(t.date.len() == 10 && t.date.starts_with("20"));
        assert!(t
            .sources
            .values()
            .all(|u| u.starts_with("https://aws.amazon.com/")));
        assert_eq!(t.instance_hour["t3.micro"], 0.0104);
        assert_eq!(t.prices.nat_gateway_hour, 0.045);
    }

    #[test]
    fn every_region_strata_accepts_that_has_a_multiplier_is_a_real_region() {
        let t = PriceTable::shipped();
        for r in t.region_multiplier.keys() {
            assert!(
                crate::stack::regions::is_known(r),
                "{r} is not a known region"
            );
        }
    }
}
