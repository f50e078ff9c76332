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

/// The AMI id each region's template gets, decided read-only as `ami copy` and
/// deploy decide it (so `plan` and the no-change check agree with what a deploy
/// runs).
///
/// The build region uses the definition's `ami.id`, unless `ami.encrypted`: then
/// it runs an encrypted copy like every other region. A region uses the stack's
/// copy tagged `strata:source-ami=<id>` (`ami::preferred_copy`: the
/// same choice `ami copy` makes) when one exists; otherwise the source id, said as
/// information: `deploy` copies the AMI before it changes anything, and only
/// `plan` shows the source id for such a region.
pub async fn resolve_amis<C: Cloud>(
    cloud: &C,
    events: &Events,
    def: &StackDef,
) -> Result<BTreeMap<String, String>, DeployError> {
    let source = def.ami.id.clone();
    let stack = def.stack_name();
    let lookups = futures::future::join_all(def.regions.iter().map(|r| {
        let (source, stack) = (source.clone(), stack.clone());
        async move {
            if r.name == def.ami.build_region && !def.ami.encrypted {
                return Ok::<_, DeployError>((r.name.clone(), Some(source)));
            }
            Ok((
                r.name.clone(),
                cloud.ami_copy(&r.name, &stack, &source).await?,
            ))
        }
    }))
    .await;
    let mut amis = BTreeMap::new();
    for l in lookups {
        let (region, ami) = l?;
        let ami = ami.unwrap_or_else(|| {
            events.info(
                Some(&region),
                Phase::Preflight,
                format!("no copy of {source} in {region} yet: deploy copies it before changing anything (`strata ami copy` does it ahead)"),
            );
            source.clone()
        });
        amis.insert(region, ami);
    }
    Ok(amis)
}

/// Each region's managed prefix-list parameters (`synth::origin_access`), read
/// with DescribeManagedPrefixLists: region -> parameter -> prefix list id. Empty
/// without CloudFront. A list the region does not have is `NotReady`, naming it:
/// nothing is planned with a security group that would admit nobody.
pub async fn resolve_prefix_lists<C: Cloud>(
    cloud: &C,
    def: &StackDef,
) -> Result<BTreeMap<String, BTreeMap<String, String>>, DeployError> {
    let lookups = futures::future::join_all(def.regions.iter().flat_map(|r| {
        crate::synth::origin_access::prefix_list_parameters(def, &r.name)
            .into_iter()
            .map(move |(parameter, list)| async move {
                let id = cloud.managed_prefix_list(&r.name, &list).await;
                (r.name.clone(), parameter, list, id)
            })
    }))
    .await;
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (region, parameter, list, id) in lookups {
        let id = id?.ok_or_else(|| DeployError::NotReady {
            reason: format!(
                "{region} has no AWS-managed prefix list {list} (DescribeManagedPrefixLists), \
                 which the load balancer's security groups admit"
            ),
        })?;
        out.entry(region)
            .or_default()
            .insert(parameter.to_string(), id);
    }
    Ok(out)
}
