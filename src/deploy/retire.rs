//! Regions that left the definition: find their stacks, and delete them once the
//! rest of the rollout is done. (Taking them out of DNS and replication first is an
//! ordinary stack update, run by the rollout like any other step.)

use super::cloud::Cloud;
use super::error::DeployError;
use super::ops;
use super::wait::Timing;
use crate::call_error::CallError;
use crate::events::{EventKind, Events, Phase};
use crate::plan::{self, AbsentStack, Deployed, DesiredStack, StackRole};
use futures::future::join_all;
use std::collections::BTreeMap;

/// A stack found in a region the definition no longer names.
#[derive(Debug, Clone)]
pub struct Leaving {
    /// Its out-of-service target (what it runs minus DNS records and replication).
    pub target: DesiredStack,
    pub deployed: Deployed,
    /// (logical id, type) of the data resources that outlive the stack.
    pub kept: Vec<(String, String)>,
}

/// Error codes meaning the account cannot use the region at all (an opt-in region
/// that is not enabled): no stack can be there.
const REGION_NOT_ENABLED: &[&str] = &[
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "AuthFailure",
    "OptInRequired",
];

fn region_not_enabled(e: &CallError) -> bool {
    REGION_NOT_ENABLED.contains(&e.code.as_str())
}

/// Look for the definition's region stack in every region it does not name (in
/// parallel, read-only). A region that cannot be asked is reported and skipped: a
/// stack there is not removed by this run.
async fn look<C: Cloud>(
    cloud: &C,
    events: &Events,
    absent: &[AbsentStack],
) -> Vec<(AbsentStack, crate::deploy::cloud::StackState)> {
    let found = join_all(absent.iter().map(|a| async move {
        match cloud.stack(&a.region, &a.stack_name).await {
            Ok(Some(s)) => Some((a.clone(), s)),
            Ok(None) => None,
            Err(e) if region_not_enabled(&e) => None,
            Err(e) => {
                events.warn(
                    Some(&a.region),
                    Phase::Preflight,
                    format!(
                        "could not look for a stack {} left from an earlier definition: {e}",
                        a.stack_name
                    ),
                );
                None
            }
        }
    }))
    .await;
    found.into_iter().flatten().collect()
}

/// True when some region outside the definition still has the stack (read-only).
pub async fn any_left<C: Cloud>(cloud: &C, absent: &[AbsentStack]) -> bool {
    !look(cloud, &Events::discard(), absent).await.is_empty()
}

/// The region stacks left in regions outside the definition (read-only), as
/// stacks to delete (destroy removes them with the rest).
pub async fn left_behind<C: Cloud>(
    cloud: &C,
    events: &Events,
    absent: &[AbsentStack],
) -> Vec<DesiredStack> {
    look(cloud, events, absent)
        .await
        .into_iter()
        .map(|(a, _)| DesiredStack {
            region: a.region,
            stack_name: a.stack_name,
            role: StackRole::Region,
            template_body: String::new(),
            build_template_body: None,
            parameters: BTreeMap::new(),
            create_only: BTreeMap::new(),
        })
        .collect()
}

/// The stacks left in regions outside the definition, each with its out-of-service
/// target. With `settle`, work an earlier run left in progress is finished first
/// (a failed creation is deleted and so not returned); without, nothing changes.
pub async fn find<C: Cloud>(
    cloud: &C,
    events: &Events,
    absent: &[AbsentStack],
    settle: bool,
    timing: &Timing,
) -> Result<Vec<Leaving>, DeployError> {
    let mut out = Vec::new();
    for (a, state) in look(cloud, events, absent).await {
        let deployed = if settle {
            ops::settle(cloud, events, &a.region, &a.stack_name, timing).await?
        } else {
            ops::deployed_now(cloud, &a.region, &a.stack_name, state).await?
        };
        let Some(deployed) = deployed else { continue };
        let oos = plan::out_of_service(&deployed.template_body).map_err(|e| {
            DeployError::CannotRemove {
                region: a.region.clone(),
                stack: a.stack_name.clone(),
                reason: e.to_string(),
            }
        })?;
        events.info(
            Some(&a.region),
            Phase::Preflight,
            format!(
                "{} is not in the definition any more: it will be taken out of DNS and \
                 replication, then deleted",
                a.stack_name
            ),
        );
        out.push(Leaving {
            target: DesiredStack {
                region: a.region.clone(),
                stack_name: a.stack_name.clone(),
                role: StackRole::Region,
                template_body: oos.template_body,
                build_template_body: None,
                parameters: deployed.parameters.clone(),
                create_only: BTreeMap::new(),
            },
            deployed,
            kept: oos.kept,
        });
    }
    Ok(out)
}

/// Delete a leaving region's stack (already out of service); its data resources
/// are kept and named.
pub async fn delete<C: Cloud>(
    cloud: &C,
    events: &Events,
    region: &str,
    stack: &str,
    kept: &[(String, String)],
    timing: &Timing,
) -> Result<(), DeployError> {
    events.emit(
        Some(region),
        Phase::Retire,
        EventKind::PhaseStarted {
            detail: format!("deleting {stack}: the region left the definition"),
        },
    );
    let resources = cloud.resources(region, stack).await?;
    for (id, ty) in kept {
        if let Some(r) = resources.iter().find(|r| r.logical_id == *id) {
            events.info(
                Some(region),
                Phase::Retire,
                format!(
                    "keeping {ty} {} (its data outlives the stack; delete it by hand \
                     when it is no longer needed, and before adding {region} back)",
                    r.physical_id
                ),
            );
        }
    }
    ops::delete(cloud, events, Phase::Retire, region, stack, timing).await?;
    events.emit(
        Some(region),
        Phase::Retire,
        EventKind::PhaseDone {
            detail: format!("{stack} deleted"),
        },
    );
    Ok(())
}
