//! `drill --fault instance`: in each region, terminate one InService instance of
//! the region's Auto Scaling group through EC2 (an instance dies; not an orderly
//! scale-in), then wait until the group again runs its desired capacity InService
//! without it and the region's health gate is green. N+1 capacity means losing
//! one instance must not fail the region. Pure decisions (`victim`, `recovery`)
//! are separate from the calls, which go through the `Fleet` port.

use super::DrError;
use crate::call_error::CallError;
use crate::deploy::Reading;
use crate::events::{EventKind, Events, Phase};
use serde::Serialize;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// One instance of a group, as DescribeAutoScalingGroups reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupInstance {
    pub id: String,
    pub availability_zone: String,
    /// InService, Pending, Terminating ...
    pub lifecycle: String,
    /// Healthy or Unhealthy.
    pub health: String,
}

/// An Auto Scaling group's desired capacity, subnets and instances.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Group {
    pub desired: u32,
    /// The subnets it launches in (`VPCZoneIdentifier`), in its order.
    pub subnets: Vec<String>,
    pub instances: Vec<GroupInstance>,
}

impl Group {
    /// The instances that count toward the desired capacity: InService and
    /// not Unhealthy.
    pub fn in_service(&self) -> impl Iterator<Item = &GroupInstance> {
        self.instances
            .iter()
            .filter(|i| i.lifecycle == "InService" && i.health != "Unhealthy")
    }
}

/// The calls the instance fault makes. Implemented by `aws::dr_compute::AwsFleet`.
#[allow(async_fn_in_trait)]
pub trait Fleet: Sync {
    /// DescribeAutoScalingGroups; None when the group does not exist.
    async fn group(&self, region: &str, asg: &str) -> Result<Option<Group>, CallError>;
    /// EC2 TerminateInstances of these instances (one call: they die together).
    async fn terminate(&self, region: &str, instance_ids: &[String]) -> Result<(), CallError>;
    /// DescribeInstances: the instance's state name (running, shutting-down,
    /// terminated ...); None when EC2 no longer lists it.
    async fn instance_state(
        &self,
        region: &str,
        instance_id: &str,
    ) -> Result<Option<String>, CallError>;
    /// One reading of every signal of the region's health gate.
    async fn gate(&self, region: &str) -> Result<Vec<Reading>, DrError>;
}

/// What the fault broke in a region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Broken {
    pub instance_id: String,
    pub availability_zone: String,
}

/// One region's instance fault: what broke, what recovered, how long it took.
#[derive(Debug, Clone, Serialize)]
pub struct InstanceRecovery {
    pub region: String,
    pub asg: String,
    pub desired: u32,
    pub broken: Broken,
    /// EC2's state of the terminated instance at the end.
    pub broken_state: Option<String>,
    /// The instances the group launched in its place.
    pub replacements: Vec<String>,
    pub recovered: bool,
    /// From the termination to the group at desired capacity InService without
    /// the broken instance and the gate green; None when it did not recover.
    pub seconds_to_recover: Option<f64>,
    /// The gate's signals that failed at some reading while the group recovered
    /// (the group's own signal counts InService instances, so it is red until the
    /// replacement is InService; the serving signals should stay green).
    pub gate_red_during: Vec<String>,
    /// Why it did not recover, or the final gate reading.
    pub detail: String,
}

/// A fault drill's report over every region it ran in.
#[derive(Debug, Clone, Serialize)]
pub struct FaultReport<R> {
    pub stack: String,
    /// `instance`, `az`.
    pub fault: &'static str,
    pub regions: Vec<R>,
    /// Every region recovered (and was put back, for a fault that changes what
    /// the stack owns).
    pub passed: bool,
}

/// The instance fault's report.
pub type InstanceFaultReport = FaultReport<InstanceRecovery>;

/// The instance to terminate: the first InService, Healthy instance by id (a
/// stable choice, so a re-run names the same kind of victim).
pub fn victim(group: &Group) -> Option<&GroupInstance> {
    group.in_service().min_by(|a, b| a.id.cmp(&b.id))
}

/// The replacements when the group has recovered from losing `broken`: it no
/// longer counts the broken instance and runs at least its desired capacity
/// InService and Healthy. `before` are the ids the group had before the break.
pub fn recovery(group: &Group, broken: &str, before: &BTreeSet<String>) -> Option<Vec<String>> {
    if group.instances.iter().any(|i| i.id == broken) {
        return None;
    }
    let in_service: Vec<&GroupInstance> = group.in_service().collect();
    if (in_service.len() as u32) < group.desired {
        return None;
    }
    Some(
        in_service
            .iter()
            .filter(|i| !before.contains(&i.id))
            .map(|i| i.id.clone())
            .collect(),
    )
}

/// How the wait polls and how long it waits.
#[derive(Debug, Clone, Copy)]
pub struct Wait {
    pub timeout: Duration,
    pub poll: Duration,
}

fn failing(readings: &[Reading]) -> Vec<&Reading> {
    readings.iter().filter(|r| !r.ok).collect()
}

/// What a wait for a group's recovery saw.
pub(crate) struct Watched<T> {
    /// What `recovered` answered once the group had recovered.
    pub recovered: Option<T>,
    /// The group recovered and every gate signal passed at the same reading.
    pub green: bool,
    /// From the break to the end of the wait.
    pub seconds: f64,
    /// The gate's signals that failed at some reading.
    pub red: BTreeSet<String>,
    /// Why it has not recovered (the last reading), or the final gate reading.
    pub detail: String,
}

/// Read the region's gate and group about every `wait.poll` from `broken_at`
/// until `recovered` says the group is back (`Err` says why not yet) and every
/// gate signal passes, or `wait.timeout` is over. The one wait of every fault.
pub(crate) async fn watch<F: Fleet, T>(
    fleet: &F,
    region: &str,
    asg: &str,
    broken_at: Instant,
    wait: Wait,
    recovered: impl Fn(&Group) -> Result<T, String>,
) -> Result<Watched<T>, DrError> {
    let mut red = BTreeSet::new();
    let mut result = None;
    let mut detail = String::new();
    let mut green = false;
    loop {
        let readings = fleet.gate(region).await?;
        let bad = failing(&readings);
        for r in &bad {
            red.insert(r.signal.clone());
        }
        if result.is_none() {
            if let Some(g) = fleet
                .group(region, asg)
                .await
                .map_err(DrError::aws("reading the Auto Scaling group", region))?
            {
                match recovered(&g) {
                    Ok(t) => result = Some(t),
                    Err(why) => detail = why,
                }
            }
        }
        if result.is_some() {
            if bad.is_empty() {
                green = true;
                detail = "the group is at desired capacity and every gate signal passes".into();
                break;
            }
            detail = bad
                .iter()
                .map(|r| format!("{}: {}", r.signal, r.detail))
                .collect::<Vec<_>>()
                .join("; ");
        }
        if broken_at.elapsed() >= wait.timeout {
            break;
        }
        tokio::time::sleep(wait.poll).await;
    }
    Ok(Watched {
        recovered: result,
        green,
        seconds: broken_at.elapsed().as_secs_f64(),
        red,
        detail,
    })
}

/// Break and watch one region. Errors only on a failed call before the break;
/// a region that does not recover in time is a report with `recovered: false`.
pub async fn instance_fault<F: Fleet>(
    fleet: &F,
    region: &str,
    asg: &str,
    wait: Wait,
    events: &Events,
) -> Result<InstanceRecovery, DrError> {
    let group = fleet
        .group(region, asg)
        .await
        .map_err(DrError::aws("reading the Auto Scaling group", region))?
        .ok_or_else(|| DrError::NoAsg {
            region: region.into(),
            asg: asg.into(),
        })?;
    let target = victim(&group).cloned().ok_or_else(|| DrError::Step {
        step: "choosing an instance",
        region: region.into(),
        message: format!("{asg} has no InService instance"),
    })?;
    let before: BTreeSet<String> = group.instances.iter().map(|i| i.id.clone()).collect();
    fleet
        .terminate(region, std::slice::from_ref(&target.id))
        .await
        .map_err(DrError::aws("terminating the instance", region))?;
    let broken_at = Instant::now();
    events.emit(
        Some(region),
        Phase::Drill,
        EventKind::Info {
            message: format!(
                "terminated {} ({}) of {asg} (desired {}); waiting for the group to replace it",
                target.id, target.availability_zone, group.desired
            ),
        },
    );
    let watched = watch(fleet, region, asg, broken_at, wait, |g| {
        recovery(g, &target.id, &before).ok_or_else(|| {
            format!(
                "{asg}: {} of {} InService{}",
                g.in_service().count(),
                g.desired,
                if g.instances.iter().any(|i| i.id == target.id) {
                    format!(", {} still in the group", target.id)
                } else {
                    String::new()
                }
            )
        })
    })
    .await?;
    let Watched {
        recovered: replacements,
        green,
        seconds,
        red,
        detail,
    } = watched;
    let broken_state = fleet
        .instance_state(region, &target.id)
        .await
        .map_err(DrError::aws("reading the terminated instance", region))?;
    let recovered = green;
    let replacements = replacements.unwrap_or_default();
    events.emit(
        Some(region),
        Phase::Drill,
        if recovered {
            EventKind::PhaseDone {
                detail: format!(
                    "instance {} replaced by {} in {seconds:.1}s",
                    target.id,
                    replacements.join(", ")
                ),
            }
        } else {
            EventKind::Failed {
                error: format!(
                    "instance {} not recovered after {seconds:.0}s: {detail}",
                    target.id
                ),
            }
        },
    );
    Ok(InstanceRecovery {
        region: region.into(),
        asg: asg.into(),
        desired: group.desired,
        broken: Broken {
            instance_id: target.id,
            availability_zone: target.availability_zone,
        },
        broken_state,
        replacements,
        recovered,
        seconds_to_recover: recovered.then_some(seconds),
        gate_red_during: red.into_iter().collect(),
        detail,
    })
}

/// The regions a fault runs in: `regions`, or every region of the definition
/// when empty.
fn regions_of(def: &crate::stack::StackDef, regions: &[String]) -> Vec<String> {
    if regions.is_empty() {
        def.regions.iter().map(|r| r.name.clone()).collect()
    } else {
        regions.to_vec()
    }
}

/// The fleet of the prepared command `p`: every region stack's group and gate.
fn fleet_of(p: &crate::app::Pipeline) -> crate::aws::dr_compute::AwsFleet<'_> {
    let def = p.def();
    let stacks = def
        .regions
        .iter()
        .map(|r| (r.name.clone(), def.region_stack_name(&r.name)))
        .collect();
    crate::aws::dr_compute::AwsFleet::new(&p.aws, &p.cloud, stacks)
}

/// Run the instance fault in `regions` (every region of the definition when
/// empty), one region after the other, on the prepared command `p`. The caller
/// has checked the target is allowed and holds the deploy lock.
pub async fn instance_drill(
    p: &crate::app::Pipeline,
    regions: &[String],
    wait: Wait,
) -> Result<InstanceFaultReport, DrError> {
    let def = p.def();
    let fleet = fleet_of(p);
    let mut out = Vec::new();
    for region in &regions_of(def, regions) {
        let asg = super::stack_refs::asg(&p.aws, def, region).await?;
        out.push(instance_fault(&fleet, region, &asg, wait, &p.events).await?);
    }
    Ok(InstanceFaultReport {
        stack: def.stack_name(),
        fault: "instance",
        passed: out.iter().all(|r| r.recovered),
        regions: out,
    })
}

pub mod az;

#[cfg(test)]
mod tests;
