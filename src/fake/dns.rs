//! The fake's `dr::dns_reads::DnsReads`: hosted zones, record sets per name,
//! health checks and load balancers' healthy targets, as a test sets them. The
//! checkers' reports come from the fake's `Cloud` (`failing_checks`).

use super::Fake;
use crate::call_error::CallError;
use crate::dr::dns_reads::{DnsReads, HealthCheckView, RecordView};
use crate::stack::{FailoverRole, StackDef};
use crate::synth::latency_name;

/// The DNS name of a region's load balancer in the fake.
pub fn lb_dns(region: &str) -> String {
    format!("shop-{region}.{region}.elb.amazonaws.com")
}

fn record(name: &str, kind: &str, region: &str) -> RecordView {
    RecordView {
        name: format!("{name}."),
        record_type: kind.into(),
        set_identifier: Some(region.into()),
        region: None,
        failover: None,
        health_check_id: Some(format!("serving-{region}")),
        alias_dns_name: None,
        values: vec![],
        evaluate_target_health: false,
    }
}

/// A name as Route 53 lists it: lowercase, with the trailing dot.
fn fqdn(name: &str) -> String {
    format!("{}.", name.trim_end_matches('.').to_ascii_lowercase())
}

impl Fake {
    /// The definition's routed names as synth makes them, every region healthy:
    /// on the latency name an alias to each region's load balancer (`lb_dns`,
    /// two healthy targets) behind its CALCULATED serving check `serving-<region>`
    /// (one child, the endpoint check `endpoint-<region>` on that load balancer);
    /// on the failover name the PRIMARY CNAME to its load balancer and the
    /// SECONDARY to the latency name (`synth::dns::failover_record_of`).
    pub fn add_routed_names(&self, def: &StackDef) {
        let latency = latency_name(def);
        self.with(|s| {
            s.zones
                .insert(format!("{}.", def.dns.hosted_zone), "Z1".into())
        });
        for r in &def.regions {
            let region = r.name.as_str();
            let lb = lb_dns(region);
            self.add_record(RecordView {
                region: Some(region.into()),
                alias_dns_name: Some(lb.clone()),
                evaluate_target_health: true,
                ..record(&latency, "A", region)
            });
            match crate::synth::dns::failover_record_of(def, region) {
                Some(FailoverRole::Primary) => self.add_record(RecordView {
                    failover: Some("PRIMARY".into()),
                    values: vec![lb.clone()],
                    ..record(&def.dns.failover_name(), "CNAME", region)
                }),
                Some(FailoverRole::Secondary) => self.add_record(RecordView {
                    set_identifier: Some(crate::synth::dns::SECONDARY_SET_IDENTIFIER.into()),
                    failover: Some("SECONDARY".into()),
                    health_check_id: None,
                    values: vec![latency.trim_end_matches('.').to_ascii_lowercase()],
                    ..record(&def.dns.failover_name(), "CNAME", region)
                }),
                None => {}
            }
            self.add_health_check(HealthCheckView {
                id: format!("serving-{region}"),
                check_type: "CALCULATED".into(),
                fqdn: None,
                children: vec![format!("endpoint-{region}")],
                health_threshold: Some(1),
                inverted: false,
                disabled: false,
            });
            self.add_health_check(HealthCheckView {
                id: format!("endpoint-{region}"),
                check_type: "HTTPS".into(),
                fqdn: Some(lb.clone()),
                children: vec![],
                health_threshold: None,
                inverted: false,
                disabled: false,
            });
            self.with(|s| s.load_balancers.insert((region.into(), lb), 2));
        }
    }

    /// Add a record set of `name`.
    pub fn add_record(&self, record: RecordView) {
        self.with(|s| {
            s.record_sets
                .entry(fqdn(&record.name))
                .or_default()
                .push(record)
        });
    }

    /// Add (or replace) a health check.
    pub fn add_health_check(&self, check: HealthCheckView) {
        self.with(|s| s.health_checks.insert(check.id.clone(), check));
    }
}

impl DnsReads for Fake {
    async fn hosted_zone_id(&self, name: &str) -> Result<Option<String>, CallError> {
        self.call("us-east-1", "ListHostedZonesByName");
        Ok(self.with(|s| s.zones.get(&fqdn(name)).cloned()))
    }

    async fn record_sets(&self, _zone_id: &str, name: &str) -> Result<Vec<RecordView>, CallError> {
        self.call("us-east-1", "ListResourceRecordSets");
        Ok(self.with(|s| s.record_sets.get(&fqdn(name)).cloned().unwrap_or_default()))
    }

    async fn health_check(&self, id: &str) -> Result<Option<HealthCheckView>, CallError> {
        self.call("us-east-1", "GetHealthCheck");
        Ok(self.with(|s| s.health_checks.get(id).cloned()))
    }

    async fn healthy_targets(
        &self,
        region: &str,
        dns_name: &str,
    ) -> Result<Option<u32>, CallError> {
        self.call(region, "DescribeLoadBalancers");
        let key = (
            region.to_string(),
            dns_name.trim_end_matches('.').to_ascii_lowercase(),
        );
        Ok(self.with(|s| s.load_balancers.get(&key).copied()))
    }
}
