//! `failover`: take a failed region out of service through Route 53 alone (its
//! serving check forced unhealthy), then scale the surviving regions to carry peak
//! (N+1 numbers of the definition). Idempotent; never calls the failed region.

use super::capacity::{per_survivor, survivor_limits};
use super::dns::{never_healthy, routed_names, zone_id};
use super::DrError;
use crate::aws::dr_compute::{asg_limits, set_asg_limits, AsgLimits};
use crate::aws::route53_records::{health_check, record_sets, set_calculated};
use crate::aws::Aws;
use crate::events::{EventKind, Events, Phase};
use crate::stack::StackDef;
use futures::future::join_all;
use serde::Serialize;

/// The serving check of one region, found through its records.
#[derive(Debug, Clone, Serialize)]
pub struct ServingCheck {
    pub id: String,
    /// The records (names) that use it.
    pub names: Vec<String>,
    pub children: Vec<String>,
    pub threshold_before: Option<i32>,
    pub threshold_after: i32,
    pub changed: bool,
}

/// One surviving region's Auto Scaling group, before and after.
#[derive(Debug, Clone, Serialize)]
pub struct Scaled {
    pub region: String,
    pub asg: String,
    pub before: AsgLimits,
    pub after: AsgLimits,
    pub changed: bool,
}

/// What failover did, and how to undo it.
#[derive(Debug, Clone, Serialize)]
pub struct FailoverReport {
    pub stack: String,
    pub region: String,
    pub zone_id: String,
    pub serving_checks: Vec<ServingCheck>,
    /// Instances each surviving region runs to carry peak.
    pub per_survivor: u32,
    pub scaled: Vec<Scaled>,
    /// Commands that undo it: the strata one first, then the raw AWS CLI lines.
    pub undo: Vec<String>,
}

/// Find the serving checks of `region` through the Route 53 records of the routed
/// names. Only Route 53 is called.
pub async fn serving_checks_of(
    aws: &Aws,
    def: &StackDef,
    zone: &str,
    region: &str,
) -> Result<Vec<(String, Vec<String>)>, DrError> {
    let mut checks: Vec<(String, Vec<String>)> = Vec::new();
    for name in routed_names(def) {
        // On the failover name only the primary has a record of its own (the
        // SECONDARY answers with the latency name, whose record is handled above).
        if name == def.dns.failover_name()
            && def.region(region).and_then(|r| r.failover)
                != Some(crate::stack::FailoverRole::Primary)
        {
            continue;
        }
        let records = record_sets(aws, zone, &name)
            .await
            .map_err(DrError::aws("reading records", "us-east-1"))?;
        let Some(record) = records.iter().find(|r| {
            (r.record_type == "A" || r.record_type == "CNAME")
                && r.set_identifier.as_deref() == Some(region)
        }) else {
            return Err(DrError::NoRecord {
                zone: zone.to_string(),
                name,
                region: region.to_string(),
            });
        };
        let Some(id) = record.health_check_id.clone() else {
            return Err(DrError::NoServingCheck {
                name,
                region: region.to_string(),
            });
        };
        match checks.iter_mut().find(|(c, _)| *c == id) {
            Some((_, names)) => names.push(name),
            None => checks.push((id, vec![name])),
        }
    }
    Ok(checks)
}

/// Take `region` out of DNS and scale the others. See the module doc.
pub async fn failover(
    aws: &Aws,
    def: &StackDef,
    region: &str,
    events: &Events,
) -> Result<FailoverReport, DrError> {
    let stack = def.stack_name();
    if def.region(region).is_none() {
        return Err(DrError::UnknownRegion {
            stack,
            region: region.to_string(),
        });
    }
    let survivors: Vec<&str> = def
        .regions
        .iter()
        .map(|r| r.name.as_str())
        .filter(|r| *r != region)
        .collect();
    if survivors.is_empty() {
        return Err(DrError::NoSurvivor {
            stack,
            region: region.to_string(),
        });
    }

    // 1. DNS: Route 53 only.
    events.emit(
        Some(region),
        Phase::Failover,
        EventKind::PhaseStarted {
            detail: "taking the region out of DNS (Route 53 only)".into(),
        },
    );
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
        if hc.check_type != "CALCULATED" {
            return Err(DrError::NoServingCheck {
                name: names.join(", "),
                region: region.to_string(),
            });
        }
        let target = never_healthy(hc.children.len());
        let already = !hc.inverted && hc.health_threshold.unwrap_or(0) >= target;
        if !already {
            set_calculated(aws, &id, target, None)
                .await
                .map_err(DrError::aws(
                    "forcing the serving check unhealthy",
                    "us-east-1",
                ))?;
        }
        events.emit(
            Some(region),
            Phase::Failover,
            EventKind::PhaseDone {
                detail: format!(
                    "serving check {id} ({}) {}",
                    names.join(", "),
                    if already {
                        "was already out of service"
                    } else {
                        "forced unhealthy"
                    }
                ),
            },
        );
        serving.push(ServingCheck {
            id,
            names,
            children: hc.children,
            threshold_before: hc.health_threshold,
            threshold_after: if already {
                hc.health_threshold.unwrap_or(target)
            } else {
                target
            },
            changed: !already,
        });
    }

    // 2. Capacity: the surviving regions, in parallel.
    let need = per_survivor(def, survivors.len());
    let scaled = join_all(
        survivors
            .iter()
            .map(|s| scale_survivor(aws, def, s, need, events)),
    )
    .await
    .into_iter()
    .collect::<Result<Vec<_>, _>>()?;

    let mut undo = vec![format!(
        "strata dr rebuild FILE --region {region}   # when the region is back: redeploys what is missing, puts it back in DNS, scales the others back"
    )];
    for c in &serving {
        let before = c
            .threshold_before
            .filter(|t| *t as i64 <= c.children.len() as i64)
            .unwrap_or(1);
        undo.push(format!(
            "aws route53 update-health-check --health-check-id {} --health-threshold {before}",
            c.id
        ));
    }
    for s in scaled.iter().filter(|s| s.changed) {
        undo.push(format!(
            "aws autoscaling update-auto-scaling-group --region {} --auto-scaling-group-name {} --min-size {} --desired-capacity {} --max-size {}",
            s.region, s.asg, s.before.min, s.before.desired, s.before.max
        ));
    }
    Ok(FailoverReport {
        stack: def.stack_name(),
        region: region.to_string(),
        zone_id: zone,
        serving_checks: serving,
        per_survivor: need,
        scaled,
        undo,
    })
}

/// The Auto Scaling group name of a region's stack.
pub async fn asg_name(aws: &Aws, def: &StackDef, region: &str) -> Result<String, DrError> {
    super::stack_refs::asg(aws, def, region).await
}

async fn scale_survivor(
    aws: &Aws,
    def: &StackDef,
    region: &str,
    need: u32,
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
    let azs = def.region(region).map(|r| r.azs.len()).unwrap_or(2);
    let after = survivor_limits(before, need, azs);
    let changed = after != before;
    if changed {
        set_asg_limits(aws, region, &asg, after)
            .await
            .map_err(DrError::aws("scaling the Auto Scaling group", region))?;
    }
    events.emit(
        Some(region),
        Phase::Failover,
        EventKind::PhaseDone {
            detail: format!(
                "{asg}: min/desired/max {}/{}/{} -> {}/{}/{}",
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
