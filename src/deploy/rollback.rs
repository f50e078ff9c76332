//! On-demand rollback (execute the kept `strata-previous` change set).

use super::cloud::Cloud;
use super::error::DeployError;
use super::ops;
use super::report::{Outcome, Report, StackReport, StackResult};
use super::rollout::TAG_VERSION;
use super::wait::Timing;
use crate::events::{EventKind, Events, Phase};
use crate::plan::{previous_change_set, ChangeSetRef, DesiredStack};

/// Bring each stack back to the version it ran before its last successful update,
/// in the order given (the caller passes reverse rollout order). A stack without a
/// kept previous version is reported and left alone.
pub async fn rollback<C: Cloud>(
    cloud: &C,
    events: &Events,
    stacks: &[DesiredStack],
    timing: &Timing,
) -> Result<Report, DeployError> {
    let mut reports = Vec::new();
    let mut outcome = Outcome::NoChange;
    let mut error = None;
    for s in stacks {
        let (region, stack) = (s.region.as_str(), s.stack_name.as_str());
        let previous = previous_change_set(stack);
        let cs = cloud.change_set(region, stack, &previous).await?;
        let available = cs.as_ref().is_some_and(|c| {
            c.status == "CREATE_COMPLETE" && c.execution_status.as_deref() == Some("AVAILABLE")
        });
        let result = if !available {
            events.info(
                Some(region),
                Phase::Rollback,
                format!("{stack}: no previous version kept; left as it is"),
            );
            StackResult::NothingToRollBack
        } else {
            events.emit(
                Some(region),
                Phase::Rollback,
                EventKind::PhaseStarted {
                    detail: format!("executing {previous} on {stack}"),
                },
            );
            let cs = ChangeSetRef {
                region: region.into(),
                stack_name: stack.into(),
                name: previous.clone(),
            };
            match ops::execute(cloud, events, Phase::Rollback, &cs, 0, timing).await {
                Ok(()) => {
                    outcome = Outcome::RolledBack;
                    events.emit(
                        Some(region),
                        Phase::Rollback,
                        EventKind::PhaseDone {
                            detail: format!("{stack} is back on its previous version"),
                        },
                    );
                    StackResult::RolledBack
                }
                Err(e) => {
                    events.emit(
                        Some(region),
                        Phase::Rollback,
                        EventKind::Failed {
                            error: e.to_string(),
                        },
                    );
                    error = Some(e.to_string());
                    outcome = Outcome::RollbackFailed;
                    reports.push(stack_report(cloud, s, StackResult::RollbackFailed).await);
                    break;
                }
            }
        };
        reports.push(stack_report(cloud, s, result).await);
    }
    Ok(Report {
        deployment_id: String::new(),
        version: String::new(),
        outcome,
        stacks: reports,
        error,
        backfill: Vec::new(),
        drift_restored: Vec::new(),
    })
}

async fn stack_report<C: Cloud>(cloud: &C, s: &DesiredStack, result: StackResult) -> StackReport {
    let version = match cloud.stack(&s.region, &s.stack_name).await {
        Ok(Some(st)) => st.tags.get(TAG_VERSION).cloned(),
        _ => None,
    };
    StackReport {
        region: s.region.clone(),
        stack: s.stack_name.clone(),
        role: s.role,
        result,
        version,
    }
}
