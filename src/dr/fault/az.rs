//! `drill --fault az`: in each region, lose one Availability Zone of the region's
//! Auto Scaling group as AWS loses one: no launch there any more (its subnets out
//! of the group's `VPCZoneIdentifier`), its instances gone (EC2
//! TerminateInstances, all at once) and its private subnets' way out gone (the
//! default route through its NAT gateway deleted). Then wait until the group runs
//! its desired capacity InService in the surviving zones and the region's health
//! gate is green (N+1 says the surviving zones carry the load), and **always** put
//! back what the drill changed (the subnets, the route), read back. Pure decisions
//! (`zone_to_lose`, `loss`, `az_recovery`, `put_back_done`) are separate from the
//! calls, which go through the `Zones` port (the `Fleet` port plus the network).

use super::{watch, Fleet, Group, GroupInstance, Wait, Watched};
use crate::call_error::CallError;
use crate::dr::DrError;
use crate::events::{EventKind, Events, Phase};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

/// The destination of a private subnet's way out through its zone's NAT gateway.
pub const DEFAULT_ROUTE: &str = "0.0.0.0/0";

/// A subnet's route table and where its default route goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ZoneRoute {
    pub route_table_id: String,
    /// The NAT gateway the `0.0.0.0/0` route goes through; None when the table
    /// has no such route (or it goes elsewhere).
    pub nat_gateway_id: Option<String>,
}

/// The calls the AZ fault makes besides the `Fleet`'s. Implemented by
/// `aws::dr_compute::AwsFleet`.
#[allow(async_fn_in_trait)]
pub trait Zones: Fleet {
    /// DescribeSubnets: the Availability Zone of each of these subnets.
    async fn subnet_zones(
        &self,
        region: &str,
        subnets: &[String],
    ) -> Result<BTreeMap<String, String>, CallError>;
    /// UpdateAutoScalingGroup: launch only in these subnets from now on.
    async fn set_subnets(
        &self,
        region: &str,
        asg: &str,
        subnets: &[String],
    ) -> Result<(), CallError>;
    /// DescribeRouteTables filtered by the subnet's association; None when no
    /// table is associated with it.
    async fn zone_route(&self, region: &str, subnet: &str) -> Result<Option<ZoneRoute>, CallError>;
    /// DeleteRoute of the table's `0.0.0.0/0` route (gone already: done).
    async fn delete_default_route(
        &self,
        region: &str,
        route_table_id: &str,
    ) -> Result<(), CallError>;
    /// CreateRoute `0.0.0.0/0` through the NAT gateway (there already: replaced).
    async fn put_default_route(
        &self,
        region: &str,
        route_table_id: &str,
        nat_gateway_id: &str,
    ) -> Result<(), CallError>;
}

/// The zone to lose: `requested`, which must be one of the group's zones, else
/// the zone holding the most InService instances (ties: the first by name). At
/// least one other zone must survive. `zones` maps the group's subnets to zones.
pub fn zone_to_lose(
    group: &Group,
    zones: &BTreeMap<String, String>,
    requested: Option<&str>,
) -> Result<String, String> {
    let own: BTreeSet<&str> = group
        .subnets
        .iter()
        .filter_map(|s| zones.get(s).map(String::as_str))
        .collect();
    if own.len() < 2 {
        return Err(format!(
            "the group launches in {} zone(s) ({}): losing one leaves none to carry the load",
            own.len(),
            own.iter().copied().collect::<Vec<_>>().join(", ")
        ));
    }
    if let Some(z) = requested {
        return if own.contains(z) {
            Ok(z.to_string())
        } else {
            Err(format!(
                "{z} is not one of the group's zones ({})",
                own.iter().copied().collect::<Vec<_>>().join(", ")
            ))
        };
    }
    let count = |z: &str| {
        group
            .in_service()
            .filter(|i| i.availability_zone == z)
            .count()
    };
    // max_by_key keeps the last maximum: iterate in reverse name order so the
    // first zone by name wins a tie.
    Ok(own
        .iter()
        .rev()
        .max_by_key(|z| count(z))
        .map(|z| z.to_string())
        .unwrap_or_default())
}

/// What losing `zone` takes out of the group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loss {
    pub zone: String,
    /// The group's subnets in the zone, and the ones it keeps (in its order).
    pub lost_subnets: Vec<String>,
    pub kept_subnets: Vec<String>,
    /// The group's instances in the zone that are not already on their way out.
    pub victims: Vec<String>,
}

/// The loss of `zone` for `group` (`zones`: subnet -> zone).
pub fn loss(group: &Group, zones: &BTreeMap<String, String>, zone: &str) -> Loss {
    let (lost_subnets, kept_subnets) = group
        .subnets
        .iter()
        .cloned()
        .partition(|s| zones.get(s).map(String::as_str) == Some(zone));
    let mut victims: Vec<String> = group
        .instances
        .iter()
        .filter(|i| i.availability_zone == zone && !i.lifecycle.starts_with("Terminat"))
        .map(|i| i.id.clone())
        .collect();
    victims.sort();
    Loss {
        zone: zone.to_string(),
        lost_subnets,
        kept_subnets,
        victims,
    }
}

/// The instances the group launched in place of the lost zone's, once it has
/// recovered: no instance of the group is left in `zone` and it runs at least
/// its desired capacity InService and Healthy (all, then, in the surviving
/// zones). `before` are the ids the group had before the break.
pub fn az_recovery(
    group: &Group,
    zone: &str,
    before: &BTreeSet<String>,
) -> Result<Vec<GroupInstance>, String> {
    let left: Vec<&str> = group
        .instances
        .iter()
        .filter(|i| i.availability_zone == zone)
        .map(|i| i.id.as_str())
        .collect();
    let in_service = group.in_service().count() as u32;
    if !left.is_empty() || in_service < group.desired {
        return Err(format!(
            "{in_service} of {} InService{}",
            group.desired,
            if left.is_empty() {
                String::new()
            } else {
                format!(", still in {zone}: {}", left.join(", "))
            }
        ));
    }
    Ok(group
        .in_service()
        .filter(|i| !before.contains(&i.id))
        .cloned()
        .collect())
}

/// A default route the drill deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LostRoute {
    pub subnet_id: String,
    pub route_table_id: String,
    pub destination: &'static str,
    pub nat_gateway_id: String,
}

/// What the fault broke in a region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ZoneBroken {
    pub zone: String,
    /// Taken out of the group's `VPCZoneIdentifier`.
    pub subnets: Vec<String>,
    /// Terminated through EC2.
    pub instances: Vec<String>,
    /// Deleted (see `docs/dr.md`: EC2 has no call that makes a route a blackhole).
    pub routes: Vec<LostRoute>,
}

/// An instance the group launched while the zone was out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Replacement {
    pub instance_id: String,
    pub availability_zone: String,
}

/// What the drill put back, read back afterwards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct PutBack {
    /// The group's `VPCZoneIdentifier` set again (every subnet it had).
    pub subnets: Vec<String>,
    /// The routes created again.
    pub routes: Vec<LostRoute>,
    /// Read back: the group launches in every subnet it had and each route goes
    /// through its NAT gateway again.
    pub done: bool,
    /// The calls that failed, or what the read-back found different.
    pub problems: Vec<String>,
}

impl PutBack {
    /// "done", or what is left.
    pub fn outcome(&self) -> String {
        if self.done {
            "done".to_string()
        } else {
            self.problems.join("; ")
        }
    }
}

/// One region's AZ fault: what broke, what recovered, how long, what was put back.
#[derive(Debug, Clone, Serialize)]
pub struct AzRecovery {
    pub region: String,
    pub asg: String,
    pub desired: u32,
    pub broken: ZoneBroken,
    /// The zones the group kept.
    pub surviving_zones: Vec<String>,
    pub replacements: Vec<Replacement>,
    pub recovered: bool,
    /// From the break to the group at desired capacity InService in the
    /// surviving zones and the gate green; None when it did not recover.
    pub seconds_to_recover: Option<f64>,
    /// The gate's signals that failed at some reading while it recovered.
    pub gate_red_during: Vec<String>,
    /// Why it did not recover, or the final gate reading.
    pub detail: String,
    pub put_back: PutBack,
}

/// The AZ fault's report: every region recovered and was put back.
pub type AzFaultReport = super::FaultReport<AzRecovery>;

/// The put-back is done when the group launches in every subnet it had and each
/// deleted route goes through its NAT gateway again (`routes`: what the tables'
/// default routes are now, by table).
pub fn put_back_done(
    had: &[String],
    group: &Group,
    lost: &[LostRoute],
    routes: &BTreeMap<String, Option<String>>,
) -> Vec<String> {
    let mut problems = Vec::new();
    let want: BTreeSet<&String> = had.iter().collect();
    let now: BTreeSet<&String> = group.subnets.iter().collect();
    if want != now {
        problems.push(format!(
            "the group launches in [{}], not [{}]",
            group.subnets.join(", "),
            had.join(", ")
        ));
    }
    for r in lost {
        let now = routes.get(&r.route_table_id).cloned().flatten();
        if now.as_deref() != Some(r.nat_gateway_id.as_str()) {
            problems.push(format!(
                "{} {} goes through {}, not {}",
                r.route_table_id,
                r.destination,
                now.as_deref().unwrap_or("nothing"),
                r.nat_gateway_id
            ));
        }
    }
    problems
}

/// Undo what the break did (`subnets`: the group's before; `routes`: deleted),
/// every call tried whatever the others did, then read back.
async fn put_back<Z: Zones>(
    zones: &Z,
    region: &str,
    asg: &str,
    subnets: &[String],
    subnets_changed: bool,
    routes: &[LostRoute],
) -> PutBack {
    let mut problems = Vec::new();
    for r in routes {
        if let Err(e) = zones
            .put_default_route(region, &r.route_table_id, &r.nat_gateway_id)
            .await
        {
            problems.push(e.to_string());
        }
    }
    if subnets_changed {
        if let Err(e) = zones.set_subnets(region, asg, subnets).await {
            problems.push(e.to_string());
        }
    }
    let mut now = BTreeMap::new();
    for r in routes {
        match zones.zone_route(region, &r.subnet_id).await {
            Ok(z) => {
                now.insert(r.route_table_id.clone(), z.and_then(|z| z.nat_gateway_id));
            }
            Err(e) => problems.push(e.to_string()),
        }
    }
    match zones.group(region, asg).await {
        Ok(Some(g)) => problems.extend(put_back_done(subnets, &g, routes, &now)),
        Ok(None) => problems.push(format!("{asg} not found")),
        Err(e) => problems.push(e.to_string()),
    }
    PutBack {
        subnets: subnets.to_vec(),
        routes: routes.to_vec(),
        done: problems.is_empty(),
        problems,
    }
}

/// The break: subnets out of the group, routes deleted, instances terminated, in
/// that order (the group must not relaunch in the zone; the instances die last,
/// together). Records what it changed in `subnets_changed` / `deleted` as it goes,
/// so the put-back undoes exactly that, also after a failed call.
async fn break_zone<Z: Zones>(
    zones: &Z,
    region: &str,
    asg: &str,
    loss: &Loss,
    routes: &[LostRoute],
    subnets_changed: &mut bool,
    deleted: &mut Vec<LostRoute>,
) -> Result<(), DrError> {
    zones
        .set_subnets(region, asg, &loss.kept_subnets)
        .await
        .map_err(DrError::aws(
            "taking the zone's subnets out of the group",
            region,
        ))?;
    *subnets_changed = true;
    for r in routes {
        zones
            .delete_default_route(region, &r.route_table_id)
            .await
            .map_err(DrError::aws("deleting the zone's NAT route", region))?;
        deleted.push(r.clone());
    }
    if !loss.victims.is_empty() {
        zones
            .terminate(region, &loss.victims)
            .await
            .map_err(DrError::aws("terminating the zone's instances", region))?;
    }
    Ok(())
}

/// Break one zone of one region, watch, put back. Errors on a failed call before
/// the break, or on a failed break (after putting back what it changed); a
/// region that does not recover in time is a report with `recovered: false`.
pub async fn az_fault<Z: Zones>(
    zones: &Z,
    region: &str,
    asg: &str,
    requested: Option<&str>,
    wait: Wait,
    events: &Events,
) -> Result<AzRecovery, DrError> {
    let group = zones
        .group(region, asg)
        .await
        .map_err(DrError::aws("reading the Auto Scaling group", region))?
        .ok_or_else(|| DrError::NoAsg {
            region: region.into(),
            asg: asg.into(),
        })?;
    let subnet_zones = zones
        .subnet_zones(region, &group.subnets)
        .await
        .map_err(DrError::aws("reading the group's subnets", region))?;
    let zone = zone_to_lose(&group, &subnet_zones, requested).map_err(|message| DrError::Step {
        step: "choosing a zone",
        region: region.into(),
        message: format!("{asg}: {message}"),
    })?;
    let loss = loss(&group, &subnet_zones, &zone);
    let mut routes = Vec::new();
    for subnet in &loss.lost_subnets {
        let route = zones
            .zone_route(region, subnet)
            .await
            .map_err(DrError::aws("reading the zone's route table", region))?;
        if let Some(ZoneRoute {
            route_table_id,
            nat_gateway_id: Some(nat),
        }) = route
        {
            if !routes
                .iter()
                .any(|r: &LostRoute| r.route_table_id == route_table_id)
            {
                routes.push(LostRoute {
                    subnet_id: subnet.clone(),
                    route_table_id,
                    destination: DEFAULT_ROUTE,
                    nat_gateway_id: nat,
                });
            }
        }
    }
    let before: BTreeSet<String> = group.instances.iter().map(|i| i.id.clone()).collect();

    let mut subnets_changed = false;
    let mut deleted = Vec::new();
    let broke = break_zone(
        zones,
        region,
        asg,
        &loss,
        &routes,
        &mut subnets_changed,
        &mut deleted,
    )
    .await;
    let broken_at = Instant::now();
    let undo = || {
        put_back(
            zones,
            region,
            asg,
            &group.subnets,
            subnets_changed,
            &deleted,
        )
    };
    if let Err(e) = broke {
        return Err(DrError::Step {
            step: "breaking the zone",
            region: region.into(),
            message: format!("{e}; put back: {}", undo().await.outcome()),
        });
    }
    events.emit(
        Some(region),
        Phase::Drill,
        EventKind::Info {
            message: format!(
                "lost {zone} of {asg} (desired {}): subnets {} out of the group, {} terminated, {} deleted; waiting for the surviving zones to carry the load",
                group.desired,
                loss.lost_subnets.join(", "),
                if loss.victims.is_empty() { "no instance".to_string() } else { loss.victims.join(", ") },
                if deleted.is_empty() {
                    "no NAT route".to_string()
                } else {
                    deleted
                        .iter()
                        .map(|r| format!("{} {} via {}", r.route_table_id, r.destination, r.nat_gateway_id))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ),
        },
    );

    // The wait's errors are the put-back's business too: nothing is left broken.
    let watched = watch(zones, region, asg, broken_at, wait, |g| {
        az_recovery(g, &zone, &before).map_err(|why| format!("{asg}: {why}"))
    })
    .await;
    let back = undo().await;
    let Watched {
        recovered: replacements,
        green,
        seconds,
        red,
        detail,
    } = watched.map_err(|e| DrError::Step {
        step: "waiting for the surviving zones",
        region: region.into(),
        message: format!("{e}; put back: {}", back.outcome()),
    })?;
    let replacements: Vec<Replacement> = replacements
        .unwrap_or_default()
        .into_iter()
        .map(|i| Replacement {
            instance_id: i.id,
            availability_zone: i.availability_zone,
        })
        .collect();
    let surviving_zones: Vec<String> = loss
        .kept_subnets
        .iter()
        .filter_map(|s| subnet_zones.get(s).cloned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    events.emit(
        Some(region),
        Phase::Drill,
        if green && back.done {
            EventKind::PhaseDone {
                detail: format!(
                    "{zone} lost: {} carry the load with {} in {seconds:.1}s; subnets and routes put back",
                    surviving_zones.join(", "),
                    if replacements.is_empty() {
                        "no new instance".to_string()
                    } else {
                        replacements
                            .iter()
                            .map(|r| format!("{} ({})", r.instance_id, r.availability_zone))
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                ),
            }
        } else {
            EventKind::Failed {
                error: format!(
                    "{zone} lost: {}{}",
                    if green {
                        format!("recovered in {seconds:.1}s")
                    } else {
                        format!("not recovered after {seconds:.0}s: {detail}")
                    },
                    if back.done {
                        "; put back".to_string()
                    } else {
                        format!("; NOT put back: {}", back.problems.join("; "))
                    }
                ),
            }
        },
    );
    Ok(AzRecovery {
        region: region.into(),
        asg: asg.into(),
        desired: group.desired,
        broken: ZoneBroken {
            zone,
            subnets: loss.lost_subnets,
            instances: loss.victims,
            routes: deleted,
        },
        surviving_zones,
        replacements,
        recovered: green,
        seconds_to_recover: green.then_some(seconds),
        gate_red_during: red.into_iter().collect(),
        detail,
        put_back: back,
    })
}

/// Run the AZ fault in `regions` (every region of the definition when empty),
/// one region after the other, on the prepared command `p`; `zone` names the
/// zone to lose (only with one region). The caller has checked the target is
/// allowed and holds the deploy lock.
pub async fn az_drill(
    p: &crate::app::Pipeline,
    regions: &[String],
    zone: Option<&str>,
    wait: Wait,
) -> Result<AzFaultReport, DrError> {
    let def = p.def();
    let fleet = super::fleet_of(p);
    let mut out = Vec::new();
    for region in &super::regions_of(def, regions) {
        let asg = crate::dr::stack_refs::asg(&p.aws, def, region).await?;
        out.push(az_fault(&fleet, region, &asg, zone, wait, &p.events).await?);
    }
    Ok(AzFaultReport {
        stack: def.stack_name(),
        fault: "az",
        passed: out.iter().all(|r| r.recovered && r.put_back.done),
        regions: out,
    })
}

#[cfg(test)]
mod tests;
