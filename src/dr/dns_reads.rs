//! The `DnsReads` port: what `dns` reads to model what Route 53 answers: the
//! hosted zone, a name's record sets, health checks, and a load balancer's
//! healthy targets (an alias target, or an endpoint check's target). The checkers'
//! reports come through the deploy's `Cloud` (`health_check_reports`). Implemented
//! once for the AWS adapter (`aws::dns_reads`) and by the unit tests' fake
//! (`crate::fake`).

use crate::call_error::CallError;

/// One record set as Route 53 holds it (the fields routing depends on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordView {
    /// Fully qualified, with the trailing dot.
    pub name: String,
    pub record_type: String,
    pub set_identifier: Option<String>,
    /// Latency routing: the record's region.
    pub region: Option<String>,
    /// Failover routing: "PRIMARY" or "SECONDARY".
    pub failover: Option<String>,
    pub health_check_id: Option<String>,
    /// Alias target DNS name (lowercase, without the trailing dot).
    pub alias_dns_name: Option<String>,
    /// The record's values (a CNAME's target: lowercase, without the trailing dot).
    pub values: Vec<String>,
    pub evaluate_target_health: bool,
}

/// A health check's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheckView {
    pub id: String,
    /// "HTTP", "HTTPS", "CALCULATED" …
    pub check_type: String,
    pub fqdn: Option<String>,
    pub children: Vec<String>,
    pub health_threshold: Option<i32>,
    pub inverted: bool,
    pub disabled: bool,
}

#[allow(async_fn_in_trait)]
pub trait DnsReads: Sync {
    /// ListHostedZonesByName: the id of the public zone `name`, if there is one.
    async fn hosted_zone_id(&self, name: &str) -> Result<Option<String>, CallError>;
    /// ListResourceRecordSets: every record set of `name` in the zone.
    async fn record_sets(&self, zone_id: &str, name: &str) -> Result<Vec<RecordView>, CallError>;
    /// GetHealthCheck; None when it does not exist.
    async fn health_check(&self, id: &str) -> Result<Option<HealthCheckView>, CallError>;
    /// DescribeLoadBalancers, DescribeTargetGroups, DescribeTargetHealth: the
    /// healthy targets of the load balancer whose DNS name is `dns_name` in the
    /// region; None when no such load balancer exists.
    async fn healthy_targets(&self, region: &str, dns_name: &str)
        -> Result<Option<u32>, CallError>;
}
