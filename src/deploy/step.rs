//! One step of the rollout: a group of stacks (one region, or every region of a
//! wave, at the same time) executed, gated and baked; on failure the failed stacks
//! put back (and with rollback-all, the stacks done before, in reverse order).

use super::canary;
use super::cloud::Cloud;
use super::error::DeployError;
use super::health;
use super::ops;
use super::records;
use super::report::{Outcome, StackResult};
use super::rollout::{Settings, TAG_VERSION};
use crate::events::{EventKind, Events, Phase};
use crate::plan::{Deployed, DesiredStack, RegionPlan, StackAction, StackRole};
use crate::stack::OnFailure;
use futures::future::join_all;
use std::sync::atomic::Ordering;

/// One stack through the rollout.
pub(super) struct Entry {
    pub desired: DesiredStack,
    pub deployed: Option<Deployed>,
    pub plan: Option<RegionPlan>,
    pub result: StackResult,
    /// Deployed with its build template; needs the wiring pass.
    pub needs_wiring: bool,
    /// The region left the definition: the data resources its deletion keeps.
    pub leaving: Option<Vec<(String, String)>>,
    /// The index of the definition's wave the region belongs to.
    pub wave: Option<usize>,
    /// A stack created by taking back kept data: what its IMPORT change set (the
    /// plan's) takes in, and the template the update after it applies.
    pub adoption: Option<(Vec<crate::plan::adopt::Adoption>, DesiredStack)>,
    /// The wiring pass's plan, made while the group before it ran (`replan`);
    /// None: made when the stack's turn comes.
    pub wire_ahead: Option<Replan>,
}

/// The wiring pass's plan of one stack, made against the stack as the first pass
/// left it: what it runs now, and the change set to its final template.
pub(super) type Replan = Result<(Option<Deployed>, ops::Prepared), DeployError>;

/// Plan the wiring of one stack: settle it, then make its change set. Its own
/// stack only: a group's wiring can be planned while another group runs.
pub(super) async fn replan<C: Cloud>(
    cloud: &C,
    events: &Events,
    desired: &DesiredStack,
    settings: &Settings,
    version: &str,
) -> Replan {
    let (region, stack) = (desired.region.as_str(), desired.stack_name.as_str());
    let timing = &settings.timing;
    let deployed = ops::settle(cloud, events, region, stack, timing).await?;
    let p = ops::prepare(
        cloud,
        events,
        region,
        stack,
        &settings.change_set(stack, WIRE),
        desired,
        deployed.as_ref(),
        &settings.tags(version),
        timing,
    )
    .await?;
    Ok((deployed, p))
}

impl Entry {
    pub fn new(desired: DesiredStack, deployed: Option<Deployed>) -> Entry {
        Entry {
            desired,
            deployed,
            plan: None,
            result: StackResult::NotStarted,
            needs_wiring: false,
            leaving: None,
            wave: None,
            adoption: None,
            wire_ahead: None,
        }
    }

    pub fn version(&self, new_version: &str) -> Option<String> {
        match self.result {
            StackResult::Created | StackResult::Updated => Some(new_version.to_string()),
            StackResult::Removed
            | StackResult::Destroyed
            | StackResult::Absent
            | StackResult::Retired => None,
            _ => self
                .deployed
                .as_ref()
                .and_then(|d| d.tags.get(TAG_VERSION).cloned()),
        }
    }
}

/// What the step did to one stack, decided without touching the other entries.
struct Attempt {
    /// What the stack ran before this step: what a failure goes back to.
    before: Option<Deployed>,
    /// The wiring pass's own plan (made against the stack as the first pass left it).
    replanned: Option<ops::Prepared>,
    /// Ok(None): nothing to change; Ok(Some(action)): done; Err: failed.
    outcome: Result<Option<StackAction>, DeployError>,
    /// Done: the version to keep as the stack's `strata-previous` record.
    record: Option<Deployed>,
}

/// The wiring pass's change-set suffix.
pub(super) const WIRE: &str = "-wire";

/// How a pass runs its steps.
#[derive(Clone, Copy)]
pub(super) struct Pass<'a> {
    pub wire: Option<&'a str>,
    pub version: &'a str,
}

/// Roll a group of stacks out at the same time, writing the previous groups'
/// records meanwhile (`records`); on failure put the failed ones (and with
/// rollback-all, every stack done) back and return how the run ends.
#[allow(clippy::too_many_arguments)]
pub(super) async fn run_group<C: Cloud>(
    cloud: &C,
    events: &Events,
    entries: &mut [Entry],
    group: &[usize],
    settings: &Settings,
    done: &mut Vec<usize>,
    records: &mut records::Pending,
    pass: Pass<'_>,
) -> Option<(Outcome, Option<String>)> {
    let timing = &settings.timing;
    if settings.stop.load(Ordering::SeqCst) {
        records::write(cloud, events, records.take(), timing).await;
        events.info(
            None,
            phase_of(&entries[group[0]], pass),
            "stopped on request before the next region; nothing is half-done",
        );
        return Some((Outcome::Interrupted, None));
    }
    let ahead: Vec<Option<Replan>> = group
        .iter()
        .map(|&i| entries[i].wire_ahead.take())
        .collect();
    let shared: &[Entry] = entries;
    let stacks = group.iter().map(|&i| {
        let d = &shared[i].desired;
        (d.region.as_str(), d.stack_name.as_str())
    });
    if records.touches(stacks) {
        records::write(cloud, events, records.take(), timing).await;
    }
    let (attempts, ()) = futures::future::join(
        join_all(
            group
                .iter()
                .zip(ahead)
                .map(|(&i, ahead)| attempt(cloud, events, &shared[i], settings, pass, ahead)),
        ),
        records::write(cloud, events, records.take(), timing),
    )
    .await;
    let mut failed = Vec::new();
    for (&i, a) in group.iter().zip(attempts) {
        let e = &mut entries[i];
        if let (Some(p), Some(plan)) = (a.replanned, e.plan.as_mut()) {
            plan.change_set = p.change_set;
            plan.action = p.action;
            plan.changes = p.changes;
        }
        if let (Some(previous), Ok(Some(_))) = (a.record, &a.outcome) {
            records.push(records::Due {
                region: e.desired.region.clone(),
                stack: e.desired.stack_name.clone(),
                previous,
            });
        }
        match a.outcome {
            Ok(None) => {
                if pass.wire.is_none() {
                    e.result = StackResult::Unchanged;
                }
            }
            Ok(Some(action)) => {
                if pass.wire.is_none() {
                    e.result = if e.leaving.is_some() {
                        StackResult::OutOfService
                    } else if action == StackAction::Create {
                        StackResult::Created
                    } else {
                        StackResult::Updated
                    };
                }
                if !done.contains(&i) {
                    done.push(i);
                }
            }
            Err(error) => {
                // The stack's "before" is what the failed step must go back to.
                let original = std::mem::replace(&mut e.deployed, a.before);
                failed.push((i, error, original));
            }
        }
    }
    if failed.is_empty() {
        return None;
    }
    // Before anything is put back: a put-back must not meet a record being made.
    records::write(cloud, events, records.take(), timing).await;
    Some(fail(cloud, events, entries, failed, settings, done, pass).await)
}

fn phase_of(e: &Entry, pass: Pass<'_>) -> Phase {
    match (pass.wire, e.desired.role) {
        (Some(_), _) => Phase::Wire,
        (None, StackRole::Global) => Phase::Global,
        _ if e.leaving.is_some() => Phase::Retire,
        _ => Phase::Execute,
    }
}

/// One stack: (the wiring pass: plan again, unless `ahead` holds that plan),
/// execute, gate and bake a region that stays, keep the previous version for
/// `strata rollback`.
async fn attempt<C: Cloud>(
    cloud: &C,
    events: &Events,
    entry: &Entry,
    settings: &Settings,
    pass: Pass<'_>,
    ahead: Option<Replan>,
) -> Attempt {
    let timing = &settings.timing;
    let phase = phase_of(entry, pass);
    let region = entry.desired.region.as_str();
    let stack = entry.desired.stack_name.as_str();
    let mut out = Attempt {
        before: entry.deployed.clone(),
        replanned: None,
        outcome: Ok(None),
        record: None,
    };
    let mut plan = match &entry.plan {
        Some(p) => (p.action, p.changes.len(), p.change_set.clone()),
        None => return out,
    };
    if pass.wire.is_some() {
        // The wiring pass plans against the stack as the first pass left it.
        let replanned = match ahead {
            Some(planned) => planned,
            None => replan(cloud, events, &entry.desired, settings, pass.version).await,
        };
        match replanned {
            Ok((deployed, p)) => {
                out.before = deployed;
                plan = (p.action, p.changes.len(), p.change_set.clone());
                out.replanned = Some(p);
            }
            Err(e) => {
                out.outcome = Err(e);
                return out;
            }
        }
    }
    let (action, changes, change_set) = plan;
    if action == StackAction::NoChange {
        events.emit(
            Some(region),
            phase,
            EventKind::PhaseDone {
                detail: "no change".into(),
            },
        );
        return out;
    }
    let Some(mut cs) = change_set else {
        return out;
    };
    let mut changes = changes;
    // A global table gaining or losing several replicas: one update per replica.
    let steps = out
        .before
        .as_ref()
        .map(|b| crate::plan::replica_steps(&b.template_body, &entry.desired.template_body))
        .unwrap_or_default();
    if !steps.is_empty() {
        match replica_steps(cloud, events, entry, &steps, &cs, settings, pass).await {
            Ok(last) => {
                changes = last.changes.len();
                match last.change_set.clone() {
                    Some(c) => cs = c,
                    None => return out,
                }
                out.replanned = Some(last);
            }
            Err(e) => {
                out.outcome = Err(e);
                return out;
            }
        }
    }
    events.emit(
        Some(region),
        phase,
        EventKind::PhaseStarted {
            detail: format!("executing {} on {stack} ({changes} changes)", cs.name),
        },
    );
    // The last replica's update waits as long as the steps'.
    let exec_timing = if steps.is_empty() {
        *timing
    } else {
        timing.for_replicas()
    };
    let result = async {
        ops::execute(cloud, events, phase, &cs, changes as u64, &exec_timing).await?;
        if let (Some((adopted, target)), None) = (&entry.adoption, pass.wire) {
            adopt_rest(cloud, events, entry, adopted, target, settings, pass).await?;
        }
        if entry.desired.role == StackRole::Region && entry.leaving.is_none() {
            events.emit(
                Some(region),
                Phase::Gate,
                EventKind::PhaseStarted {
                    detail: "health gate".into(),
                },
            );
            let signals = health::gate(cloud, events, region, stack, timing).await?;
            events.emit(
                Some(region),
                Phase::Bake,
                EventKind::PhaseStarted {
                    detail: format!("baking for {}s", timing.bake.as_secs()),
                },
            );
            let baked_from = unix_now();
            health::bake(cloud, events, region, stack, &signals, timing).await?;
            if let (Some(c), false, None) = (&settings.canary, timing.bake.is_zero(), pass.wire) {
                let window = (baked_from, unix_now());
                let lb = signals.load_balancers.first().map(String::as_str);
                let this = canary::Baked {
                    region,
                    stack,
                    load_balancer: lb,
                    version: pass.version,
                    window,
                };
                canary::check(cloud, events, &this, c).await?;
            }
        }
        Ok::<_, DeployError>(())
    }
    .await;
    if let Err(e) = result {
        out.outcome = Err(e);
        return out;
    }
    let detail = if entry.leaving.is_some() {
        format!("{stack} is out of DNS and replication")
    } else {
        format!("{stack} runs the new version")
    };
    events.emit(Some(region), Phase::Done, EventKind::PhaseDone { detail });
    // `strata rollback` goes back to what the stack ran before this deploy (not to
    // what the first pass left, in the wiring pass); a stack this deploy created
    // has nothing to go back to.
    out.record = entry.deployed.clone();
    out.outcome = Ok(Some(action));
    out
}

/// The replica steps before a stack's own update (`plan::replica_steps`): each an
/// update of its own, waited for as long as a replica of a large table takes
/// (`Timing::replica_timeout`); then the stack's own change set, made again against
/// what the steps left (the one planned before them is deleted: it describes a
/// stack that no longer is).
async fn replica_steps<C: Cloud>(
    cloud: &C,
    events: &Events,
    entry: &Entry,
    steps: &[crate::plan::ReplicaStep],
    planned: &crate::plan::ChangeSetRef,
    settings: &Settings,
    pass: Pass<'_>,
) -> Result<ops::Prepared, DeployError> {
    let (region, stack) = (
        entry.desired.region.as_str(),
        entry.desired.stack_name.as_str(),
    );
    let phase = phase_of(entry, pass);
    let timing = &settings.timing;
    let long = timing.for_replicas();
    let suffix = pass.wire.unwrap_or("");
    let tags = settings.tags(pass.version);
    let _ = cloud.delete_change_set(region, stack, &planned.name).await;
    for (k, step) in steps.iter().enumerate() {
        events.info(
            Some(region),
            phase,
            format!(
                "replica step {} of {}: {}",
                k + 1,
                steps.len() + 1,
                step.does.join(", ")
            ),
        );
        let mut target = entry.desired.clone();
        target.template_body = step.template_body.clone();
        let deployed = ops::settle(cloud, events, region, stack, timing).await?;
        let name = settings.change_set(stack, &format!("{suffix}-replica{}", k + 1));
        let p = ops::prepare(
            cloud,
            events,
            region,
            stack,
            &name,
            &target,
            deployed.as_ref(),
            &tags,
            timing,
        )
        .await?;
        if let Some(c) = &p.change_set {
            ops::execute(cloud, events, phase, c, p.changes.len() as u64, &long).await?;
        }
    }
    events.info(
        Some(region),
        phase,
        format!(
            "replica step {} of {}: the rest of the update",
            steps.len() + 1,
            steps.len() + 1
        ),
    );
    let deployed = ops::settle(cloud, events, region, stack, timing).await?;
    let name = settings.change_set(stack, &format!("{suffix}-replicas"));
    ops::prepare(
        cloud,
        events,
        region,
        stack,
        &name,
        &entry.desired,
        deployed.as_ref(),
        &tags,
        timing,
    )
    .await
}

/// After the import took the kept data in: the update that brings the rest of
/// the stack (and the kept resources' full configuration).
async fn adopt_rest<C: Cloud>(
    cloud: &C,
    events: &Events,
    entry: &Entry,
    adopted: &[crate::plan::adopt::Adoption],
    target: &DesiredStack,
    settings: &Settings,
    pass: Pass<'_>,
) -> Result<(), DeployError> {
    let (region, stack) = (
        entry.desired.region.as_str(),
        entry.desired.stack_name.as_str(),
    );
    let timing = &settings.timing;
    let names: Vec<&str> = adopted.iter().map(|a| a.name.as_str()).collect();
    events.info(
        Some(region),
        Phase::Execute,
        format!(
            "{stack} holds {} again; creating the rest of the stack",
            names.join(", ")
        ),
    );
    let deployed = ops::settle(cloud, events, region, stack, timing).await?;
    let p = ops::prepare(
        cloud,
        events,
        region,
        stack,
        &settings.change_set(stack, "-adopt"),
        target,
        deployed.as_ref(),
        &settings.tags(pass.version),
        timing,
    )
    .await?;
    if let Some(cs) = &p.change_set {
        ops::execute(
            cloud,
            events,
            Phase::Execute,
            cs,
            p.changes.len() as u64,
            timing,
        )
        .await?;
    }
    Ok(())
}

/// Stacks failed: put each back, then (rollback-all) the stacks done, in reverse
/// order. A stack that needs a human stops all putting back after its group.
async fn fail<C: Cloud>(
    cloud: &C,
    events: &Events,
    entries: &mut [Entry],
    failed: Vec<(usize, DeployError, Option<Deployed>)>,
    settings: &Settings,
    done: &mut [usize],
    pass: Pass<'_>,
) -> (Outcome, Option<String>) {
    if failed.iter().any(|(_, error, _)| error.is_unreachable()) {
        // No answer from the endpoint: nothing can be read or put back. Stop where
        // we are, say what each failed stack is (the summary), and leave the rest
        // to the same command run again once the endpoint answers.
        let mut errors = Vec::new();
        for (i, error, original) in failed {
            events.emit(
                Some(&entries[i].desired.region),
                phase_of(&entries[i], pass),
                EventKind::Failed {
                    error: error.to_string(),
                },
            );
            errors.push(error.to_string());
            let e = &mut entries[i];
            e.deployed = original;
            e.result = StackResult::Unverified;
        }
        return (Outcome::Unreachable, Some(errors.join("; ")));
    }
    let mut outcome = Outcome::RolledBack;
    let mut errors = Vec::new();
    let mut to_restore = Vec::new();
    let mut originals = Vec::new();
    for (i, error, original) in failed {
        events.emit(
            Some(&entries[i].desired.region),
            Phase::Rollback,
            EventKind::Failed {
                error: error.to_string(),
            },
        );
        errors.push(error.to_string());
        if matches!(error, DeployError::Stuck { .. }) {
            entries[i].result = StackResult::RollbackFailed;
            outcome = Outcome::RollbackFailed;
        } else {
            to_restore.push(i);
            originals.push((i, original));
        }
    }
    let failed_now = to_restore.clone();
    if settings.on_failure == OnFailure::RollbackAll && outcome != Outcome::RollbackFailed {
        to_restore.extend(
            done.iter()
                .rev()
                .copied()
                .filter(|d| !failed_now.contains(d)),
        );
    }
    for j in to_restore {
        let e = &entries[j];
        let r = ops::restore(
            cloud,
            events,
            &e.desired.region,
            &e.desired.stack_name,
            e.deployed.as_ref(),
            &settings.timing,
        )
        .await;
        let e = &mut entries[j];
        e.result = match (r, e.deployed.is_some()) {
            (Ok(()), true) => StackResult::RolledBack,
            (Ok(()), false) => StackResult::Removed,
            (Err(re), _) => {
                events.emit(
                    Some(&e.desired.region),
                    Phase::Rollback,
                    EventKind::Failed {
                        error: re.to_string(),
                    },
                );
                outcome = Outcome::RollbackFailed;
                StackResult::RollbackFailed
            }
        };
    }
    if pass.wire.is_some() {
        // A wiring step put back is on the version it ran before this deploy.
        for (i, original) in originals {
            if entries[i].result == StackResult::RolledBack {
                entries[i].deployed = original;
            }
        }
    }
    (outcome, Some(errors.join("; ")))
}

/// Seconds since the Unix epoch, now.
fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}
