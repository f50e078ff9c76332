//! Route 53 for one region: a health check on the region's load balancer (both
//! phases), and in the wired phase the region's latency record (an alias to the
//! load balancer, evaluating target health, with the serving check) and, in the
//! primary region and the first secondary region, the failover name's PRIMARY or
//! SECONDARY record (see `failover_record_of`; docs/synth.md, "DNS"). Records name
//! the zone by id (`zone_id`: `dns.hosted_zone_id`, or the managed zone's id as the
//! `HostedZoneId` parameter), never by `HostedZoneName`, which is ambiguous when two
//! zones share a name
//! (<https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-route53-recordset.html>).

use super::context::{fqdn, latency_name, RegionCtx};
use super::lit::{int, opt, s, some, yes};
use super::load_balancer::LoadBalancer;
use super::tags;
use crate::cfn::gen::route53;
use crate::cfn::{Handle, Template, Value};
use crate::stack::{FailoverRole, StackDef};

pub fn add(t: &mut Template, ctx: &RegionCtx, lb: &LoadBalancer) -> Handle<route53::HealthCheck> {
    let https = ctx.https();
    use route53::health_check::{HealthCheckHealthCheckConfig, HealthCheckHealthCheckConfigType};
    let mut config = HealthCheckHealthCheckConfig::new(if https {
        HealthCheckHealthCheckConfigType::Https
    } else {
        HealthCheckHealthCheckConfigType::Http
    });
    config.fully_qualified_domain_name = Some(lb.alb.dns_name());
    config.port = Some(int(if https { 443 } else { 80 }));
    config.resource_path = some(ctx.def.compute.health_check_path.as_str());
    if https {
        // The load balancer's name is the FQDN; SNI lets the listener pick its certificate.
        config.enable_sni = Some(yes(true));
    }
    config.request_interval = Some(int(30));
    config.failure_threshold = Some(int(3));
    let mut hc = route53::HealthCheck::new(config);
    hc.health_check_tags = Some(tags::named(
        ctx,
        &format!("{}-{}", ctx.def.stack_name(), ctx.region.name),
    ));
    let hc = t.add("HealthCheck", hc);

    if ctx.wired() {
        let hc = super::serving_check::add(t, ctx, &hc);
        let zone = zone_id(t, ctx.def);
        let mut latency = alias_record(ctx, lb, &latency_name(ctx.def), &hc, &zone);
        latency.region = some(ctx.region.name.as_str());
        t.add("LatencyRecord", latency);
        match failover_record_of(ctx.def, &ctx.region.name) {
            Some(FailoverRole::Primary) => {
                // PRIMARY: this region's load balancer, while its serving check is healthy.
                let mut r =
                    failover_cname(ctx.def, FailoverRole::Primary, lb.alb.dns_name(), &zone);
                r.set_identifier = some(ctx.region.name.as_str());
                r.health_check_id = Some(hc.ref_());
                t.add("FailoverRecord", r);
            }
            Some(FailoverRole::Secondary) => {
                // SECONDARY: the latency name, so that every region still healthy serves.
                let mut r = failover_cname(
                    ctx.def,
                    FailoverRole::Secondary,
                    s(fqdn(&latency_name(ctx.def))),
                    &zone,
                );
                r.set_identifier = some(SECONDARY_SET_IDENTIFIER);
                t.add("FailoverRecord", r);
            }
            None => {}
        }
    }
    hc
}

/// The set identifier of the failover name's SECONDARY record (it is no one
/// region's: it answers with the latency name).
pub const SECONDARY_SET_IDENTIFIER: &str = "latency";

/// The TTL of the failover CNAMEs, in seconds: short, so a failover reaches clients
/// quickly (Route 53's own alias records have the target's TTL).
pub const FAILOVER_TTL: &str = "60";

/// Which failover record, if any, `region`'s template declares. Route 53 failover
/// is one PRIMARY and one SECONDARY record per name and type
/// (<https://docs.aws.amazon.com/Route53/latest/APIReference/API_ResourceRecordSet.html>,
/// Failover): the primary region declares the PRIMARY; the first region (in
/// definition order) with `failover = "secondary"` declares the SECONDARY, which
/// points at the latency name, where every healthy region answers. Every other
/// region declares none.
pub fn failover_record_of(def: &StackDef, region: &str) -> Option<FailoverRole> {
    let r = def.region(region)?;
    match r.failover? {
        FailoverRole::Primary => Some(FailoverRole::Primary),
        FailoverRole::Secondary => def
            .regions
            .iter()
            .find(|x| x.failover == Some(FailoverRole::Secondary))
            .filter(|first| first.name == region)
            .map(|_| FailoverRole::Secondary),
    }
}

/// A failover CNAME on the failover name pointing at `value`.
fn failover_cname(
    def: &StackDef,
    role: FailoverRole,
    value: Value<String>,
    zone: &Value<String>,
) -> route53::RecordSet {
    let mut r = route53::RecordSet::new(s("CNAME"), s(fqdn(&def.dns.failover_name())));
    r.hosted_zone_id = Some(zone.clone());
    r.ttl = some(FAILOVER_TTL);
    r.resource_records = Some(vec![value]);
    r.failover = opt(match role {
        FailoverRole::Primary => route53::record_set::Failover::Primary,
        FailoverRole::Secondary => route53::record_set::Failover::Secondary,
    });
    r
}

/// An A record aliasing `name` to this region's load balancer, identified by the
/// region, with the region's health check.
fn alias_record(
    ctx: &RegionCtx,
    lb: &LoadBalancer,
    name: &str,
    hc: &Handle<route53::HealthCheck>,
    zone: &Value<String>,
) -> route53::RecordSet {
    let mut target =
        route53::record_set::AliasTarget::new(lb.alb.canonical_hosted_zone_id(), lb.alb.dns_name());
    target.evaluate_target_health = Some(yes(true));
    let mut r = route53::RecordSet::new(s("A"), s(fqdn(name)));
    r.hosted_zone_id = Some(zone.clone());
    r.alias_target = Some(target);
    r.set_identifier = some(ctx.region.name.as_str());
    r.health_check_id = Some(hc.ref_());
    r
}

/// The template parameter that carries the managed zone's id into the stacks
/// that need it by id (certificate validation; `HostedZoneId` of records):
/// the zone is created by the zone stack, which is in another region than most
/// region stacks, and CloudFormation has no cross-region reference.
pub const ZONE_ID_PARAMETER: &str = "HostedZoneId";

/// The stack's hosted zone id: the definition's `dns.hosted_zone_id` for an
/// existing zone, else (a managed zone) the `HostedZoneId` parameter, declared
/// here, which deploy fills from the zone stack's `HostedZoneId` output.
pub fn zone_id(t: &mut Template, def: &StackDef) -> Value<String> {
    match &def.dns.hosted_zone_id {
        Some(id) => s(id.strip_prefix("/hostedzone/").unwrap_or(id)),
        None => t.parameter(
            ZONE_ID_PARAMETER,
            crate::cfn::Parameter {
                kind: "AWS::Route53::HostedZone::Id".into(),
                description: Some(format!(
                    "The id of the managed hosted zone {} (the zone stack's HostedZoneId output)",
                    def.dns.hosted_zone
                )),
                default: None,
                allowed_pattern: None,
                no_echo: None,
            },
        ),
    }
}
