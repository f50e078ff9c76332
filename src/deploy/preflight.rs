//! Preflight: what must hold before a deploy plans anything. Today: each region's
//! Availability Zones exist in this account (`check_azs`), each region's AMI id. The AMI copy step (`strata ami copy`) and the policy check plug in here.

use super::cloud::Cloud;
use super::error::DeployError;
use crate::events::{Events, Phase};
use crate::stack::StackDef;
use std::collections::BTreeMap;

/// Every AZ the definition names, checked against the account's own list
/// (DescribeAvailabilityZones): `validate` knows each region's zones
/// (`stack::regions::AZ_LETTERS`), but which of them an account may use varies
/// (<https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/using-regions-availability-zones.html>).
/// Returns one problem per AZ the account does not have, naming it; empty when all
/// exist. A failed read is an error (the environment, not the definition).
pub async fn check_azs<C: Cloud>(cloud: &C, def: &StackDef) -> Result<Vec<String>, DeployError> {
    let lists = futures::future::join_all(
        def.regions
            .iter()
            .map(|r| async move { (r, cloud.availability_zones(&r.name).await) }),
    )
    .await;
    let mut problems = Vec::new();
    for (i, (r, list)) in lists.into_iter().enumerate() {
        let list = list?;
        for (k, az) in r.azs.iter().enumerate() {
            if !list.contains(az) {
                let mut have = list.clone();
                have.sort();
                problems.push(format!(
                    "regions[{i}].azs[{k}]: `{az}` is not an Availability Zone this account can use in {} (DescribeAvailabilityZones lists: {})",
                    r.name,
                    have.join(", ")
                ));
            }
        }
    }
    Ok(problems)
}

/// The AMI id each region's template gets.
///
/// The build region uses the definition's `ami.id`. Another region uses an
/// available copy tagged `strata:source-ami=<id>` when one exists; otherwise the
/// source id, with a warning (the sandbox does not check AMI ids in launch
/// templates; real AWS rejects an id from another region, so run `strata ami copy`
/// first). Seam: when the AMI copy lands, it runs the copy here instead.
pub async fn resolve_amis<C: Cloud>(
    cloud: &C,
    events: &Events,
    def: &StackDef,
) -> Result<BTreeMap<String, String>, DeployError> {
    let source = def.ami.id.clone();
    let lookups = futures::future::join_all(def.regions.iter().map(|r| {
        let source = source.clone();
        async move {
            if r.name == def.ami.build_region {
                return Ok::<_, DeployError>((r.name.clone(), Some(source)));
            }
            Ok((r.name.clone(), cloud.ami_copy(&r.name, &source).await?))
        }
    }))
    .await;
    let mut amis = BTreeMap::new();
    for l in lookups {
        let (region, ami) = l?;
        let ami = ami.unwrap_or_else(|| {
            events.warn(
                Some(&region),
                Phase::Preflight,
                format!("no copy of {source} tagged strata:source-ami in {region}; using the source id (run `strata ami copy` first)"),
            );
            source.clone()
        });
        amis.insert(region, ami);
    }
    Ok(amis)
}
