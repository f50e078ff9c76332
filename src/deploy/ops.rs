//! The steps on one stack, each idempotent: settle a stack left by an earlier run,
//! prepare a change set, execute it, put the stack back, keep the previous version.

use super::cloud::{ChangeSetKind, ChangeSetRequest, Cloud, StackState};
use super::error::DeployError;
use super::wait::{self, Timing};
use crate::events::{EventKind, Events, Phase};
use crate::plan::{
    self, ChangeAction, ChangeSetRef, Deployed, ResourceChange, StackAction, CHANGE_SET_PREFIX,
    PREVIOUS_PREFIX,
};
use std::collections::BTreeMap;

/// Statuses of a stack whose creation failed and which can only be deleted.
const FAILED_CREATE: &[&str] = &["ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED"];

/// Statuses that need a human.
const STUCK: &[&str] = &["UPDATE_ROLLBACK_FAILED", "DELETE_FAILED"];

/// Bring a stack left by an earlier (interrupted or failed) run to a state a deploy
/// can start from: wait for work in progress, delete a failed or never-executed
/// creation, refuse a stack that needs a human. Returns what is deployed.
pub async fn settle<C: Cloud>(
    cloud: &C,
    events: &Events,
    region: &str,
    stack: &str,
    timing: &Timing,
) -> Result<Option<Deployed>, DeployError> {
    let mut state = cloud.stack(region, stack).await?;
    if let Some(s) = &state {
        if wait::in_progress(&s.status) {
            events.info(
                Some(region),
                Phase::Preflight,
                format!(
                    "{stack} is {}: waiting for it (an earlier run left it)",
                    s.status
                ),
            );
            let seen = wait::seen_events(cloud, region, stack).await?;
            state = wait::stack(
                cloud,
                events,
                Phase::Preflight,
                region,
                stack,
                timing,
                seen,
                0,
            )
            .await?;
        }
    }
    let Some(s) = state else { return Ok(None) };
    if STUCK.contains(&s.status.as_str()) {
        return Err(DeployError::Stuck {
            region: region.into(),
            stack: stack.into(),
            status: s.status,
        });
    }
    // A stack whose first operation, an import, was rolled back holds nothing
    // (what it imported is retained): like a failed creation, it is made again.
    let empty_import =
        s.status == "IMPORT_ROLLBACK_COMPLETE" && cloud.resources(region, stack).await?.is_empty();
    if FAILED_CREATE.contains(&s.status.as_str())
        || s.status == "REVIEW_IN_PROGRESS"
        || empty_import
    {
        events.info(
            Some(region),
            Phase::Preflight,
            format!("{stack} is {}: deleting it to create it again", s.status),
        );
        delete(cloud, events, Phase::Preflight, region, stack, timing).await?;
        return Ok(None);
    }
    let template_body = cloud.template(region, stack).await?;
    Ok(Some(Deployed {
        template_body,
        parameters: s.parameters,
        tags: s.tags,
    }))
}

/// What a stack in `state` runs, read-only: None for a stack that only holds a
/// never-executed CREATE change set (REVIEW_IN_PROGRESS).
pub async fn deployed_now<C: Cloud>(
    cloud: &C,
    region: &str,
    stack: &str,
    state: StackState,
) -> Result<Option<Deployed>, DeployError> {
    if state.status == "REVIEW_IN_PROGRESS" {
        return Ok(None);
    }
    Ok(Some(Deployed {
        template_body: cloud.template(region, stack).await?,
        parameters: state.parameters,
        tags: state.tags,
    }))
}

/// Delete the stack's `strata-*` change sets other than the kept previous one.
pub async fn clean_change_sets<C: Cloud>(
    cloud: &C,
    region: &str,
    stack: &str,
) -> Result<(), DeployError> {
    for name in cloud.change_sets(region, stack).await? {
        if name.starts_with(CHANGE_SET_PREFIX) && !name.starts_with(PREVIOUS_PREFIX) {
            cloud.delete_change_set(region, stack, &name).await?;
        }
    }
    Ok(())
}

/// Delete a change set if it exists (the sandbox answers 500 to deleting a missing one).
pub async fn drop_change_set<C: Cloud>(
    cloud: &C,
    region: &str,
    stack: &str,
    name: &str,
) -> Result<(), DeployError> {
    if cloud.change_set(region, stack, name).await?.is_some() {
        cloud.delete_change_set(region, stack, name).await?;
    }
    Ok(())
}

/// What a prepared stack will do.
pub struct Prepared {
    pub action: StackAction,
    pub changes: Vec<ResourceChange>,
    pub change_set: Option<ChangeSetRef>,
}

/// Decide locally; when something changes, create the change set and read its diff.
#[allow(clippy::too_many_arguments)]
pub async fn prepare<C: Cloud>(
    cloud: &C,
    events: &Events,
    region: &str,
    stack: &str,
    change_set_name: &str,
    target: &crate::plan::DesiredStack,
    deployed: Option<&Deployed>,
    tags: &BTreeMap<String, String>,
    timing: &Timing,
) -> Result<Prepared, DeployError> {
    let action = plan::decide(target, deployed);
    if action == StackAction::NoChange {
        return Ok(Prepared {
            action,
            changes: vec![],
            change_set: None,
        });
    }
    cloud
        .create_change_set(&ChangeSetRequest {
            region: region.into(),
            stack_name: stack.into(),
            name: change_set_name.into(),
            kind: if deployed.is_some() {
                ChangeSetKind::Update
            } else {
                ChangeSetKind::Create
            },
            template_body: target.template_body.clone(),
            parameters: target.parameters.clone(),
            tags: tags.clone(),
            resources_to_import: vec![],
        })
        .await?;
    let cs = wait::change_set(cloud, events, region, stack, change_set_name, timing).await?;
    let cs = cs.ok_or_else(|| DeployError::ChangeSetFailed {
        region: region.into(),
        stack: stack.into(),
        name: change_set_name.into(),
        reason: "it disappeared while being created".into(),
    })?;
    let change_set = Some(ChangeSetRef {
        region: region.into(),
        stack_name: stack.into(),
        name: change_set_name.into(),
    });
    if cs.status == "FAILED" {
        let reason = cs.status_reason.unwrap_or_default();
        if reason.contains("didn't contain changes") || reason.contains("No updates") {
            cloud
                .delete_change_set(region, stack, change_set_name)
                .await?;
            return Ok(Prepared {
                action: StackAction::NoChange,
                changes: vec![],
                change_set: None,
            });
        }
        return Err(DeployError::ChangeSetFailed {
            region: region.into(),
            stack: stack.into(),
            name: change_set_name.into(),
            reason,
        });
    }
    let old_body = deployed.map(|d| d.template_body.as_str()).unwrap_or("{}");
    let changed_params: Vec<String> =
        plan::parameter_changes(deployed.map(|d| &d.parameters), &target.parameters)
            .into_iter()
            .map(|p| p.name)
            .collect();
    let local = plan::local_changes(
        old_body,
        &target.template_body,
        &target.create_only,
        &changed_params,
    );
    let knows_replacement = cs.changes.iter().any(|c| c.replacement.is_some());
    let from_cs: Vec<ResourceChange> = cs
        .changes
        .iter()
        .map(|c| ResourceChange {
            logical_id: c.logical_id.clone(),
            resource_type: c.resource_type.clone(),
            action: match c.action.as_str() {
                "Add" => ChangeAction::Add,
                "Remove" => ChangeAction::Remove,
                "Import" => ChangeAction::Import,
                _ => ChangeAction::Modify,
            },
            replaces: matches!(c.replacement.as_deref(), Some("True") | Some("Conditional")),
            properties: vec![],
        })
        .collect();
    let changes = if from_cs.is_empty() {
        local
    } else {
        plan::merge_replacement(from_cs, &local, knows_replacement)
    };
    Ok(Prepared {
        action,
        changes,
        change_set,
    })
}

/// Plan the creation of a stack that takes back kept data (`plan::adopt`): an
/// IMPORT change set holding only `adopt`, as they are; the rest of `target` is
/// created by the update that follows the import (`deploy::step`). The plan lists
/// the imports and, computed locally, every other resource as added.
#[allow(clippy::too_many_arguments)]
pub async fn prepare_import<C: Cloud>(
    cloud: &C,
    events: &Events,
    region: &str,
    stack: &str,
    change_set_name: &str,
    target: &crate::plan::DesiredStack,
    adopt: &[crate::plan::adopt::Adoption],
    tags: &BTreeMap<String, String>,
    timing: &Timing,
) -> Result<Prepared, DeployError> {
    cloud
        .create_change_set(&ChangeSetRequest {
            region: region.into(),
            stack_name: stack.into(),
            name: change_set_name.into(),
            kind: ChangeSetKind::Import,
            template_body: plan::adopt::import_template(&target.template_body, adopt),
            parameters: BTreeMap::new(),
            tags: tags.clone(),
            resources_to_import: adopt.to_vec(),
        })
        .await?;
    let failed = |reason: String| DeployError::ChangeSetFailed {
        region: region.into(),
        stack: stack.into(),
        name: change_set_name.into(),
        reason,
    };
    let cs = wait::change_set(cloud, events, region, stack, change_set_name, timing)
        .await?
        .ok_or_else(|| failed("it disappeared while being created".into()))?;
    if cs.status == "FAILED" {
        return Err(failed(cs.status_reason.unwrap_or_default()));
    }
    let imported: Vec<&str> = adopt.iter().map(|a| a.logical_id.as_str()).collect();
    let mut changes: Vec<ResourceChange> = adopt
        .iter()
        .map(|a| ResourceChange {
            logical_id: a.logical_id.clone(),
            resource_type: a.resource_type.clone(),
            action: ChangeAction::Import,
            replaces: false,
            properties: vec![],
        })
        .collect();
    changes.extend(
        plan::local_changes("{}", &target.template_body, &target.create_only, &[])
            .into_iter()
            .filter(|c| !imported.contains(&c.logical_id.as_str())),
    );
    Ok(Prepared {
        action: StackAction::Create,
        changes,
        change_set: Some(ChangeSetRef {
            region: region.into(),
            stack_name: stack.into(),
            name: change_set_name.into(),
        }),
    })
}

/// Execute a prepared change set and wait for the stack, streaming its events.
pub async fn execute<C: Cloud>(
    cloud: &C,
    events: &Events,
    phase: Phase,
    cs: &ChangeSetRef,
    total: u64,
    timing: &Timing,
) -> Result<(), DeployError> {
    let (region, stack) = (cs.region.as_str(), cs.stack_name.as_str());
    let seen = wait::seen_events(cloud, region, stack)
        .await
        .unwrap_or_default();
    cloud.execute_change_set(region, stack, &cs.name).await?;
    let state = wait::stack(cloud, events, phase, region, stack, timing, seen, total).await?;
    // AWS removes an executed change set; the sandbox keeps it: do not leave it behind.
    drop_change_set(cloud, region, stack, &cs.name).await?;
    match state {
        Some(s)
            if matches!(
                s.status.as_str(),
                "CREATE_COMPLETE" | "UPDATE_COMPLETE" | "IMPORT_COMPLETE"
            ) =>
        {
            Ok(())
        }
        Some(s) => Err(DeployError::StackFailed {
            region: region.into(),
            stack: stack.into(),
            status: s.status,
            reason: s.status_reason.unwrap_or_default(),
        }),
        None => Err(DeployError::StackFailed {
            region: region.into(),
            stack: stack.into(),
            status: "DELETE_COMPLETE".into(),
            reason: "the stack disappeared".into(),
        }),
    }
}

/// Put a stack back to `previous` (None: it did not exist, so delete it). Waits for
/// CloudFormation's own rollback first; does nothing when it is already back.
pub async fn restore<C: Cloud>(
    cloud: &C,
    events: &Events,
    region: &str,
    stack: &str,
    previous: Option<&Deployed>,
    timing: &Timing,
) -> Result<(), DeployError> {
    events.emit(
        Some(region),
        Phase::Rollback,
        EventKind::PhaseStarted {
            detail: match previous {
                Some(_) => format!("putting {stack} back on its previous template"),
                None => format!("deleting the new stack {stack}"),
            },
        },
    );
    let mut state = cloud.stack(region, stack).await?;
    if state.as_ref().is_some_and(|s| wait::in_progress(&s.status)) {
        let seen = wait::seen_events(cloud, region, stack).await?;
        state = wait::stack(
            cloud,
            events,
            Phase::Rollback,
            region,
            stack,
            timing,
            seen,
            0,
        )
        .await?;
    }
    let Some(state) = state else {
        return Ok(());
    };
    if STUCK.contains(&state.status.as_str()) {
        return Err(DeployError::Stuck {
            region: region.into(),
            stack: stack.into(),
            status: state.status,
        });
    }
    let Some(previous) = previous else {
        return delete(cloud, events, Phase::Rollback, region, stack, timing).await;
    };
    let body = cloud.template(region, stack).await?;
    let target = crate::plan::DesiredStack {
        region: region.into(),
        stack_name: stack.into(),
        role: crate::plan::StackRole::Region,
        template_body: previous.template_body.clone(),
        build_template_body: None,
        parameters: previous.parameters.clone(),
        create_only: BTreeMap::new(),
    };
    let current = Deployed {
        template_body: body,
        parameters: state.parameters.clone(),
        tags: state.tags.clone(),
    };
    if plan::decide(&target, Some(&current)) != StackAction::NoChange {
        let seen = wait::seen_events(cloud, region, stack).await?;
        cloud
            .update_stack(
                region,
                stack,
                &previous.template_body,
                &previous.parameters,
                &previous.tags,
            )
            .await?;
        let after = wait::stack(
            cloud,
            events,
            Phase::Rollback,
            region,
            stack,
            timing,
            seen,
            0,
        )
        .await?;
        match after {
            Some(s) if s.status == "UPDATE_COMPLETE" => {}
            Some(s) => {
                return Err(DeployError::Stuck {
                    region: region.into(),
                    stack: stack.into(),
                    status: s.status,
                })
            }
            None => {}
        }
    }
    // The kept previous change set was computed against the version now gone.
    drop_change_set(cloud, region, stack, &plan::previous_change_set(stack)).await?;
    events.emit(
        Some(region),
        Phase::Rollback,
        EventKind::PhaseDone {
            detail: format!("{stack} is back on its previous template"),
        },
    );
    Ok(())
}

/// After a successful update, keep the version it replaced as the unexecuted change
/// set `strata-previous`, so that `strata rollback` can bring it back later, from
/// any machine, without a state store.
pub async fn keep_previous<C: Cloud>(
    cloud: &C,
    events: &Events,
    region: &str,
    stack: &str,
    previous: &Deployed,
    timing: &Timing,
) -> Result<(), DeployError> {
    let name = plan::previous_change_set(stack);
    drop_change_set(cloud, region, stack, &name).await?;
    cloud
        .create_change_set(&ChangeSetRequest {
            region: region.into(),
            stack_name: stack.into(),
            name: name.clone(),
            kind: ChangeSetKind::Update,
            template_body: previous.template_body.clone(),
            parameters: previous.parameters.clone(),
            tags: previous.tags.clone(),
            resources_to_import: vec![],
        })
        .await?;
    wait::change_set(cloud, events, region, stack, &name, timing).await?;
    Ok(())
}

/// Delete a stack and wait until it is gone; retries a failed deletion (a VPC
/// whose dependencies were not yet released) up to three times.
pub async fn delete<C: Cloud>(
    cloud: &C,
    events: &Events,
    phase: Phase,
    region: &str,
    stack: &str,
    timing: &Timing,
) -> Result<(), DeployError> {
    // AWS drops a deleted stack's change sets; the sandbox keeps them and shows
    // them on a new stack of the same name: delete ours first.
    let _ = clean_change_sets(cloud, region, stack).await;
    let _ = drop_change_set(cloud, region, stack, &plan::previous_change_set(stack)).await;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let seen = wait::seen_events(cloud, region, stack)
            .await
            .unwrap_or_default();
        cloud.delete_stack(region, stack).await?;
        match wait::stack(cloud, events, phase, region, stack, timing, seen, 0).await? {
            None => return Ok(()),
            Some(s) if s.status == "DELETE_COMPLETE" => return Ok(()),
            Some(s) if attempt < 3 => {
                events.warn(
                    Some(region),
                    phase,
                    format!("deleting {stack} ended {}; trying again", s.status),
                );
            }
            Some(s) => {
                return Err(DeployError::Stuck {
                    region: region.into(),
                    stack: stack.into(),
                    status: s.status,
                })
            }
        }
    }
}
