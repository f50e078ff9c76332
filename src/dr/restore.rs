//! `restore`: put a region back into DNS (its serving check at threshold 1 over
//! its endpoint check) and scale the other regions back to the definition. The
//! last step of a rebuild; idempotent.

use super::dns::zone_id;
use super::failover::{asg_name, serving_checks_of, Scaled};
use super::DrError;
use crate::aws::dr_compute::{asg_limits, set_asg_limits, AsgLimits};
use crate::aws::route53_records::{health_check, set_calculated};
use crate::aws::Aws;
use crate::events::{EventKind, Events, Phase};
use crate::stack::StackDef;
use crate::synth::serving_check::IN_SERVICE_THRESHOLD;
use futures::future::join_all;
use serde::Serialize;

/// What restore did.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreReport {
    pub region: String,
    /// Serving checks put back in service (id, whether it changed).
    pub serving_checks: Vec<(String, bool)>,
    pub scaled: Vec<Scaled>,
}

/// Put `region` back into DNS and scale every other region back to the definition.
pub async fn restore(
    aws: &Aws,
    def: &StackDef,
    region: &str,
    events: &Events,
) -> Result<RestoreReport, DrError> {
    let endpoint = super::stack_refs::endpoint_check(aws, def, region).await?;
    let zone = zone_id(aws, def).await?;
    let mut serving = Vec::new();
    for (id, names) in serving_checks_of(aws, def, &zone, region).await? {
        let hc = health_check(aws, &id)
            .await
            .map_err(DrError::aws("reading the serving check", "us-east-1"))?
            .ok_or_else(|| DrError::NoServingCheck {
                name: names.join(", "),
                region: region.to_string(),
            })?;
        let children = vec![endpoint.clone()];
        let in_service = hc.children == children
            && hc.health_threshold == Some(IN_SERVICE_THRESHOLD as i32)
            && !hc.inverted;
        if !in_service {
            set_calculated(aws, &id, IN_SERVICE_THRESHOLD as i32, Some(&children))
                .await
                .map_err(DrError::aws("putting the serving check back", "us-east-1"))?;
        }
        events.emit(
            Some(region),
            Phase::Rebuild,
            EventKind::PhaseDone {
                detail: format!("serving check {id} ({}) back in service", names.join(", ")),
            },
        );
        serving.push((id, !in_service));
    }
    let others: Vec<&str> = def
        .regions
        .iter()
        .map(|r| r.name.as_str())
        .filter(|r| *r != region)
        .collect();
    let scaled = join_all(others.iter().map(|r| scale_back(aws, def, r, events)))
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RestoreReport {
        region: region.to_string(),
        serving_checks: serving,
        scaled,
    })
}

/// The definition's limits for a region (its override, or the compute default).
pub fn defined_limits(def: &StackDef, region: &str) -> Option<AsgLimits> {
    let r = def.region(region)?;
    let c = def.capacity_of(r);
    Some(AsgLimits {
        min: c.min,
        desired: c.desired,
        max: c.max,
    })
}

async fn scale_back(
    aws: &Aws,
    def: &StackDef,
    region: &str,
    events: &Events,
) -> Result<Scaled, DrError> {
    let asg = asg_name(aws, def, region).await?;
    let before = asg_limits(aws, region, &asg)
        .await
        .map_err(DrError::aws("reading the Auto Scaling group", region))?
        .ok_or_else(|| DrError::NoAsg {
            region: region.to_string(),
            asg: asg.clone(),
        })?;
    let after = defined_limits(def, region).unwrap_or(before);
    let changed = after != before;
    if changed {
        set_asg_limits(aws, region, &asg, after)
            .await
            .map_err(DrError::aws("scaling back", region))?;
    }
    events.emit(
        Some(region),
        Phase::Rebuild,
        EventKind::PhaseDone {
            detail: format!(
                "{asg}: min/desired/max {}/{}/{} -> {}/{}/{} (the definition)",
                before.min, before.desired, before.max, after.min, after.desired, after.max
            ),
        },
    );
    Ok(Scaled {
        region: region.to_string(),
        asg,
        before,
        after,
        changed,
    })
}
