//! strata's model of what Route 53 answers for the routed names (the latency name
//! and the failover name), with AWS's semantics: a record answers when its health
//! check is healthy and, with EvaluateTargetHealth, its alias target (a load
//! balancer) exists with healthy targets. CALCULATED checks are healthy when at
//! least HealthThreshold children are healthy (a missing threshold counts as 0,
//! "always healthy"), Inverted flips the result, a Disabled check is healthy.
//!
//! The sandbox reports every endpoint check as passing, so an endpoint check on a
//! load balancer's DNS name is also failed when that load balancer is gone or has
//! no healthy target. A region that does not answer counts as unhealthy. Checks
//! that cannot pass (threshold above the children) are decided without calling
//! anything, so a region taken out by failover is never called.
//!
//! Everything is read through ports: `DnsReads` (`dns_reads.rs`: zone, records,
//! health checks, load balancers' healthy targets) and the deploy's `Cloud` (the
//! checkers' reports), so the tests below run the model over the shared fake.

use super::dns_reads::{DnsReads, HealthCheckView, RecordView};
use crate::aws::Aws;
use crate::aws::CloudApi;
use crate::deploy::check_health;
use crate::deploy::cloud::Cloud;
use crate::stack::{FailoverRole, StackDef};
use crate::synth::latency_name;
use serde::Serialize;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

use super::DrError;

pub use crate::deploy::check_health::calculated_healthy;

/// A threshold that no number of `children` can reach: the check is always unhealthy.
pub fn never_healthy(children: usize) -> i32 {
    children as i32 + 1
}

/// One record of a routed name and whether it may answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordHealth {
    /// The record's set identifier (strata uses the region name).
    pub region: String,
    /// "latency", or "failover-primary" / "failover-secondary".
    pub routing: String,
    pub health_check_id: Option<String>,
    pub healthy: bool,
    /// Why it is (un)healthy, in words.
    pub reason: String,
}

/// What one routed name answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NameAnswers {
    pub name: String,
    pub records: Vec<RecordHealth>,
    /// The regions whose records Route 53 would answer with.
    pub answers: Vec<String>,
    /// True when no record is healthy (Route 53 then answers as if all were).
    pub all_unhealthy: bool,
}

/// What the stack's routed names answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DnsAnswers {
    pub zone_id: String,
    pub names: Vec<NameAnswers>,
}

impl DnsAnswers {
    /// True when no routed name answers with `region`'s records.
    pub fn excludes(&self, region: &str) -> bool {
        self.names
            .iter()
            .all(|n| !n.answers.iter().any(|a| a == region))
    }

    /// True when every record of every routed name is healthy.
    pub fn all_healthy(&self) -> bool {
        self.names
            .iter()
            .all(|n| n.records.iter().all(|r| r.healthy))
    }

    /// The regions with a record on every routed name.
    pub fn regions_with_records(&self) -> Vec<String> {
        let mut regions: Vec<String> = Vec::new();
        for n in &self.names {
            for r in &n.records {
                if !regions.contains(&r.region) {
                    regions.push(r.region.clone());
                }
            }
        }
        regions
    }
}

/// The routed names of a definition: the latency name, and the failover name when
/// some region has a failover role.
pub fn routed_names(def: &StackDef) -> Vec<String> {
    let mut names = vec![latency_name(def)];
    if def.regions.iter().any(|r| r.failover.is_some()) {
        names.push(def.dns.failover_name());
    }
    names
}

/// The hosted zone id of the definition (given, or looked up by name).
pub async fn zone_id(aws: &Aws, def: &StackDef) -> Result<String, DrError> {
    zone_id_with(&CloudApi::new(aws.clone()), def).await
}

async fn zone_id_with(reads: &impl DnsReads, def: &StackDef) -> Result<String, DrError> {
    if let Some(id) = &def.dns.hosted_zone_id {
        return Ok(id.clone());
    }
    reads
        .hosted_zone_id(&def.dns.hosted_zone)
        .await
        .map_err(DrError::aws("finding the hosted zone", "us-east-1"))?
        .ok_or_else(|| DrError::NoZone {
            zone: def.dns.hosted_zone.clone(),
        })
}

/// Evaluates health checks once each, with the model described above.
struct Checker<'a, R> {
    reads: &'a R,
    def: &'a StackDef,
    checks: BTreeMap<String, (bool, String)>,
}

/// The stack region a load balancer DNS name lives in ("…​.eu-west-1.elb.amazonaws.com").
fn region_of_dns<'a>(def: &'a StackDef, dns: &str) -> Option<&'a str> {
    def.regions
        .iter()
        .map(|r| r.name.as_str())
        .find(|r| dns.contains(&format!(".{r}.")))
}

impl<'a, R: DnsReads + Cloud> Checker<'a, R> {
    async fn target(&self, region: &str, dns: &str) -> (bool, String) {
        match self.reads.healthy_targets(region, dns).await {
            Ok(Some(healthy)) if healthy > 0 => {
                (true, format!("load balancer has {healthy} healthy targets"))
            }
            Ok(Some(_)) => (false, "load balancer has no healthy target".into()),
            Ok(None) => (false, format!("load balancer {dns} does not exist")),
            Err(e) => (false, format!("region {region} did not answer: {e}")),
        }
    }

    fn check<'s>(&'s mut self, id: &'s str) -> Pin<Box<dyn Future<Output = (bool, String)> + 's>>
    where
        'a: 's,
    {
        Box::pin(async move {
            if let Some(done) = self.checks.get(id) {
                return done.clone();
            }
            let result = match self.reads.health_check(id).await {
                Ok(Some(hc)) => self.evaluate(&hc).await,
                Ok(None) => (false, format!("health check {id} does not exist")),
                Err(e) => (false, format!("health check {id} could not be read: {e}")),
            };
            self.checks.insert(id.to_string(), result.clone());
            result
        })
    }

    async fn evaluate(&mut self, hc: &HealthCheckView) -> (bool, String) {
        if hc.disabled {
            return (
                true,
                format!("health check {} is disabled (counts as healthy)", hc.id),
            );
        }
        if hc.check_type == "CALCULATED" {
            let threshold = hc.health_threshold.unwrap_or(0);
            if threshold as i64 > hc.children.len() as i64 && !hc.inverted {
                return (
                    false,
                    format!(
                        "calculated check {} needs {threshold} healthy of {} children: taken out of service",
                        hc.id,
                        hc.children.len()
                    ),
                );
            }
            let mut healthy = 0;
            for child in &hc.children {
                if self.check(child).await.0 {
                    healthy += 1;
                }
            }
            let ok = calculated_healthy(healthy, hc.health_threshold, hc.inverted);
            return (
                ok,
                format!(
                    "calculated check {}: {healthy} of {} children healthy, threshold {threshold}{}",
                    hc.id,
                    hc.children.len(),
                    if hc.inverted { ", inverted" } else { "" }
                ),
            );
        }
        // Route 53's rule for the checkers' reports (deploy::check_health), before
        // Inverted, which is applied once below.
        let (mut ok, mut why) = match self.reads.health_check_reports(&hc.id).await {
            Ok(reports) => {
                let v = check_health::endpoint(&reports, false, false);
                (v.healthy, format!("endpoint check {}: {}", hc.id, v.detail))
            }
            Err(e) => (
                false,
                format!("endpoint check {} could not be read: {e}", hc.id),
            ),
        };
        if ok {
            if let Some(fqdn) = &hc.fqdn {
                if let Some(region) = region_of_dns(self.def, fqdn) {
                    let (t_ok, t_why) = self.target(region, fqdn).await;
                    ok = t_ok;
                    why = format!("endpoint check {}: {t_why}", hc.id);
                }
            }
        }
        (ok != hc.inverted, why)
    }

    async fn record(&mut self, r: &RecordView) -> (bool, String) {
        let mut why = "no health check".to_string();
        if let Some(id) = &r.health_check_id {
            let (ok, check_why) = self.check(id).await;
            if !ok {
                return (false, check_why);
            }
            why = check_why;
        }
        if r.evaluate_target_health {
            if let (Some(dns), Some(region)) = (&r.alias_dns_name, &r.set_identifier) {
                let (ok, why) = self.target(region, dns).await;
                if !ok {
                    return (false, format!("alias target: {why}"));
                }
            }
        }
        (true, why)
    }
}

/// What the definition's routed names answer now.
pub async fn answers(aws: &Aws, def: &StackDef) -> Result<DnsAnswers, DrError> {
    answers_with(&CloudApi::new(aws.clone()), def).await
}

/// `answers`, through the ports.
pub async fn answers_with(
    reads: &(impl DnsReads + Cloud),
    def: &StackDef,
) -> Result<DnsAnswers, DrError> {
    let zone = zone_id_with(reads, def).await?;
    let mut checker = Checker {
        reads,
        def,
        checks: BTreeMap::new(),
    };
    let mut names = Vec::new();
    let latency = latency_name(def).trim_end_matches('.').to_ascii_lowercase();
    let mut latency_answers: Vec<String> = Vec::new();
    for name in routed_names(def) {
        let records = reads
            .record_sets(&zone, &name)
            .await
            .map_err(DrError::aws("reading records", "us-east-1"))?;
        let mut out = Vec::new();
        // The failover name's records are CNAMEs (docs/synth.md, "DNS"); the
        // SECONDARY answers with the latency name, computed first.
        let mut via_latency: Option<String> = None;
        for r in records
            .iter()
            .filter(|r| r.record_type == "A" || r.record_type == "CNAME")
        {
            let (healthy, mut reason) = checker.record(r).await;
            if r.values.contains(&latency) {
                via_latency = r.set_identifier.clone();
                reason = format!("answers with {latency} ({reason})");
            }
            out.push(RecordHealth {
                region: r.set_identifier.clone().unwrap_or_default(),
                routing: match r.failover.as_deref() {
                    Some(f) => format!("failover-{}", f.to_ascii_lowercase()),
                    None => "latency".into(),
                },
                health_check_id: r.health_check_id.clone(),
                healthy,
                reason,
            });
        }
        let healthy: Vec<&RecordHealth> = out.iter().filter(|r| r.healthy).collect();
        let all_unhealthy = healthy.is_empty();
        let is_failover = out.iter().any(|r| r.routing.starts_with("failover"));
        // Who answers for a record: its region, or for the SECONDARY on the latency
        // name, whatever the latency name answers.
        let answered_by = |r: &RecordHealth| -> Vec<String> {
            if via_latency.as_deref() == Some(r.region.as_str()) {
                latency_answers.clone()
            } else {
                vec![r.region.clone()]
            }
        };
        let answers = if is_failover {
            let primary = out.iter().find(|r| r.routing == "failover-primary");
            match primary {
                Some(p) if p.healthy => answered_by(p),
                _ if !all_unhealthy => healthy.iter().flat_map(|r| answered_by(r)).collect(),
                Some(p) => answered_by(p),
                None => Vec::new(),
            }
        } else if all_unhealthy {
            out.iter().map(|r| r.region.clone()).collect()
        } else {
            healthy.iter().map(|r| r.region.clone()).collect()
        };
        if name.trim_end_matches('.').eq_ignore_ascii_case(&latency) {
            latency_answers = answers.clone();
        }
        names.push(NameAnswers {
            name,
            records: out,
            answers,
            all_unhealthy,
        });
    }
    Ok(DnsAnswers {
        zone_id: zone,
        names,
    })
}

/// The role a region plays on the failover name, as Route 53 writes it.
pub fn failover_label(role: FailoverRole) -> &'static str {
    match role {
        FailoverRole::Primary => "PRIMARY",
        FailoverRole::Secondary => "SECONDARY",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::Fake;
    use std::path::Path;

    const REGIONS: [&str; 3] = ["us-east-1", "us-west-2", "eu-west-1"];

    fn lb(region: &str) -> String {
        crate::fake::lb_dns(region)
    }

    fn example() -> (Fake, StackDef) {
        let def =
            crate::stack::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("stacks/example.toml"))
                .unwrap();
        let fake = Fake::default();
        fake.add_routed_names(&def);
        (fake, def)
    }

    fn answers_of<'a>(a: &'a DnsAnswers, name: &str) -> &'a NameAnswers {
        a.names
            .iter()
            .find(|n| n.name.trim_end_matches('.') == name.trim_end_matches('.'))
            .unwrap()
    }

    #[tokio::test]
    async fn every_healthy_region_answers_and_the_primary_takes_the_failover_name() {
        let (fake, def) = example();
        let a = answers_with(&fake, &def).await.unwrap();
        assert_eq!(a.zone_id, "Z1");
        assert!(a.all_healthy(), "{a:#?}");
        assert_eq!(answers_of(&a, &latency_name(&def)).answers, REGIONS);
        assert_eq!(
            answers_of(&a, &def.dns.failover_name()).answers,
            ["us-east-1"]
        );
    }

    #[tokio::test]
    async fn a_region_failed_over_leaves_both_names_and_the_secondaries_answer_through_latency() {
        let (fake, def) = example();
        // What `dr failover` does: the serving check's threshold above its children.
        let mut out = fake.with(|s| s.health_checks["serving-us-east-1"].clone());
        out.health_threshold = Some(never_healthy(1));
        fake.add_health_check(out);

        let a = answers_with(&fake, &def).await.unwrap();
        assert!(a.excludes("us-east-1"), "{a:#?}");
        assert_eq!(
            answers_of(&a, &latency_name(&def)).answers,
            ["us-west-2", "eu-west-1"]
        );
        assert_eq!(
            answers_of(&a, &def.dns.failover_name()).answers,
            ["us-west-2", "eu-west-1"],
            "the secondaries answer with the latency name's answers"
        );
        // Taken out without reading its endpoint check.
        let reads = fake.with(|s| s.calls.clone());
        assert!(!reads
            .iter()
            .any(|c| c.contains("DescribeLoadBalancers") && c.starts_with("us-east-1")));
    }

    #[tokio::test]
    async fn a_load_balancer_without_healthy_targets_or_a_failing_check_takes_its_region_out() {
        let (fake, def) = example();
        // eu-west-1's endpoint check passes (it checks an address, not the load
        // balancer), but its alias target has no healthy target.
        let mut by_ip = fake.with(|s| s.health_checks["endpoint-eu-west-1"].clone());
        by_ip.fqdn = None;
        fake.add_health_check(by_ip);
        fake.with(|s| {
            s.load_balancers
                .insert(("eu-west-1".into(), lb("eu-west-1")), 0)
        });
        fake.with(|s| s.failing_checks.insert("endpoint-us-west-2".into()));

        let a = answers_with(&fake, &def).await.unwrap();
        let latency = answers_of(&a, &latency_name(&def));
        assert_eq!(latency.answers, ["us-east-1"]);
        let why = |region: &str| {
            latency
                .records
                .iter()
                .find(|r| r.region == region)
                .unwrap()
                .reason
                .clone()
        };
        assert!(
            why("eu-west-1").contains("alias target: load balancer has no healthy target"),
            "{}",
            why("eu-west-1")
        );
        assert!(
            why("us-west-2").contains("0 of 1 children healthy"),
            "{}",
            why("us-west-2")
        );
    }

    #[tokio::test]
    async fn when_every_record_is_unhealthy_route53_answers_with_all_of_them() {
        let (fake, def) = example();
        for region in REGIONS {
            fake.with(|s| s.failing_checks.insert(format!("endpoint-{region}")));
        }
        let a = answers_with(&fake, &def).await.unwrap();
        let latency = answers_of(&a, &latency_name(&def));
        assert!(latency.all_unhealthy);
        assert_eq!(latency.answers, REGIONS);
    }

    #[tokio::test]
    async fn a_zone_that_does_not_exist_is_named() {
        let (fake, def) = example();
        fake.with(|s| s.zones.clear());
        let err = answers_with(&fake, &def).await.unwrap_err();
        assert!(err.to_string().contains("example.com"), "{err}");
    }

    #[test]
    fn calculated_checks_follow_route53_semantics() {
        assert!(calculated_healthy(1, Some(1), false));
        assert!(!calculated_healthy(0, Some(1), false));
        assert!(!calculated_healthy(1, Some(never_healthy(1)), false));
        // A missing threshold (0): always healthy, unless inverted.
        assert!(calculated_healthy(0, None, false));
        assert!(!calculated_healthy(0, None, true));
        // Inverted flips: a forced-unhealthy check becomes healthy.
        assert!(calculated_healthy(1, Some(2), true));
    }
}
