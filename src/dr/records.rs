//! Record repair: every region's latency record, and the failover name's PRIMARY
//! (the primary region's) and SECONDARY (the latency name, declared by the first
//! secondary region), must exist in the zone. A record deleted outside CloudFormation (by hand, or by another stack's
//! deletion in the sandbox, where moto deletes every record of a name) is not put
//! back by a deploy, since CloudFormation believes it exists. `repair` re-creates
//! it with exactly what the template declares: an alias to the region's load
//! balancer, evaluating target health, with the region's serving check.

use super::dns::{failover_label, routed_names};
use super::DrError;
use crate::aws::dr_compute::load_balancer_by_dns;
use crate::aws::route53_records::{
    record_sets, upsert_alias, upsert_failover_cname, AliasRecord, FailoverCname,
};
use crate::aws::{Aws, CloudApi};
use crate::deploy::cloud::Cloud;
use crate::events::{Events, Phase};
use crate::stack::{FailoverRole, StackDef};
use crate::synth::dns::{failover_record_of, FAILOVER_TTL, SECONDARY_SET_IDENTIFIER};
use crate::synth::{fqdn, latency_name, serving_check};

/// Re-create the missing records of every region (other than `except`) whose stack
/// is deployed and wired. Returns the records re-created ("name region").
pub async fn repair(
    aws: &Aws,
    def: &StackDef,
    zone: &str,
    except: Option<&str>,
    events: &Events,
) -> Result<Vec<String>, DrError> {
    let cloud = CloudApi::new(aws.clone());
    let mut repaired = Vec::new();
    for name in routed_names(def) {
        let existing = record_sets(aws, zone, &name)
            .await
            .map_err(DrError::aws("reading records", "us-east-1"))?;
        let is_failover = name == def.dns.failover_name();
        for region in &def.regions {
            if Some(region.name.as_str()) == except {
                continue;
            }
            let role = if is_failover {
                match failover_record_of(def, &region.name) {
                    Some(role) => Some(role),
                    None => continue,
                }
            } else {
                None
            };
            let set_identifier = match role {
                Some(FailoverRole::Secondary) => SECONDARY_SET_IDENTIFIER.to_string(),
                _ => region.name.clone(),
            };
            if existing.iter().any(|r| {
                (r.record_type == "A" || r.record_type == "CNAME")
                    && r.set_identifier.as_deref() == Some(set_identifier.as_str())
            }) {
                continue;
            }
            let stack = def.region_stack_name(&region.name);
            let resources = cloud
                .resources(&region.name, &stack)
                .await
                .map_err(DrError::aws("reading the stack's resources", &region.name))?;
            let Some(check) = resources
                .iter()
                .find(|r| r.logical_id == serving_check::LOGICAL_ID)
                .map(|r| r.physical_id.clone())
            else {
                continue; // not wired: the deploy's wiring pass makes the records
            };
            if role == Some(FailoverRole::Secondary) {
                upsert_failover_cname(
                    aws,
                    zone,
                    &FailoverCname {
                        name: name.clone(),
                        set_identifier: set_identifier.clone(),
                        failover: failover_label(FailoverRole::Secondary).to_string(),
                        value: fqdn(&latency_name(def)),
                        ttl: FAILOVER_TTL.parse().unwrap_or(60),
                        health_check_id: None,
                    },
                )
                .await
                .map_err(DrError::aws("re-creating a record", "us-east-1"))?;
            } else {
                let key = super::stack_refs::load_balancer(aws, def, &region.name).await?;
                let Some(lb) = load_balancer_by_dns(aws, &region.name, &key)
                    .await
                    .map_err(DrError::aws("reading the load balancer", &region.name))?
                else {
                    continue; // a wrecked region: its rebuild makes them
                };
                let result = match role {
                    Some(role) => {
                        upsert_failover_cname(
                            aws,
                            zone,
                            &FailoverCname {
                                name: name.clone(),
                                set_identifier: set_identifier.clone(),
                                failover: failover_label(role).to_string(),
                                value: lb.dns_name.clone(),
                                ttl: FAILOVER_TTL.parse().unwrap_or(60),
                                health_check_id: Some(check),
                            },
                        )
                        .await
                    }
                    None => {
                        upsert_alias(
                            aws,
                            zone,
                            &AliasRecord {
                                name: name.clone(),
                                set_identifier: region.name.clone(),
                                region: Some(region.name.clone()),
                                failover: None,
                                alias_dns_name: lb.dns_name.clone(),
                                alias_zone_id: lb.canonical_zone_id.clone(),
                                health_check_id: check,
                            },
                        )
                        .await
                    }
                };
                result.map_err(DrError::aws("re-creating a record", "us-east-1"))?;
            }
            events.warn(
                Some(&region.name),
                Phase::Rebuild,
                format!(
                    "record {name} ({set_identifier}) of {} was missing: re-created as the template declares it",
                    region.name
                ),
            );
            repaired.push(format!("{name} {}", region.name));
        }
    }
    Ok(repaired)
}
