//! The region's "serving" health check: a CALCULATED Route 53 check whose only
//! child is the endpoint check (threshold 1), which the region's DNS records use.
//!
//! `strata dr failover` takes a region out of DNS by raising this check's
//! `HealthThreshold` above its number of children (always unhealthy) through the
//! Route 53 API alone; `strata dr rebuild` sets it back to 1. The records stay as
//! CloudFormation made them, and nothing in the failed region has to answer.

use super::context::RegionCtx;
use super::lit::int;
use super::tags;
use crate::cfn::gen::route53;
use crate::cfn::{Handle, Template};

/// Logical id of the serving check in a region's template.
pub const LOGICAL_ID: &str = "ServingHealthCheck";

/// The threshold that puts the region in service: its one child must be healthy.
pub const IN_SERVICE_THRESHOLD: i64 = 1;

/// Add the serving check over `endpoint`; the records point at what this returns.
pub fn add(
    t: &mut Template,
    ctx: &RegionCtx,
    endpoint: &Handle<route53::HealthCheck>,
) -> Handle<route53::HealthCheck> {
    use route53::health_check::{HealthCheckHealthCheckConfig, HealthCheckHealthCheckConfigType};
    let mut config =
        HealthCheckHealthCheckConfig::new(HealthCheckHealthCheckConfigType::Calculated);
    config.child_health_checks = Some(vec![endpoint.ref_()]);
    config.health_threshold = Some(int(IN_SERVICE_THRESHOLD));
    let mut hc = route53::HealthCheck::new(config);
    hc.health_check_tags = Some(tags::named(
        ctx,
        &format!("{}-{}-serving", ctx.def.stack_name(), ctx.region.name),
    ));
    t.add(LOGICAL_ID, hc)
}
