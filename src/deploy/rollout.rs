//! The rollout: settle, plan, confirm, then zone, regions wave by wave with gates,
//! the wiring pass, and the global stack; on failure put things back.

use super::cloud::Cloud;
use super::error::DeployError;
use super::ops;
use super::report::{Outcome, Report, StackReport, StackResult};
use super::retire::{self, Leaving};
use super::step::{self, run_group, Entry, Pass};
use super::wait::Timing;
use crate::events::{EventKind, Events, Phase};
use crate::plan::{Deployed, Desired, DesiredStack, Plan, RegionPlan, StackAction, StackRole};
use crate::stack::OnFailure;
use futures::future::{join_all, select, Either};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Tag keys of the deploy record.
pub const TAG_DEPLOYMENT_ID: &str = "strata:deployment-id";
pub const TAG_VERSION: &str = "strata:version";
pub const TAG_DEPLOYED_BY: &str = "strata:deployed-by";
pub const TAG_DEPLOYED_AT: &str = "strata:deployed-at";
/// Set when a deploy ran outside the deploy windows: the reason given.
pub const TAG_OUTSIDE_WINDOW: &str = "strata:outside-window";

/// How a deploy runs.
#[derive(Debug, Clone)]
pub struct Settings {
    pub deployment_id: String,
    pub deployed_by: String,
    /// RFC 3339 time of the deploy.
    pub deployed_at: String,
    /// The recorded reason for deploying outside the definition's deploy windows.
    pub outside_window: Option<String>,
    pub on_failure: OnFailure,
    pub timing: Timing,
    /// Set (by Ctrl-C) to stop at the next safe point.
    pub stop: Arc<AtomicBool>,
    /// `--allow-replace`: the replacements at risk (`plan::at_risk`) the user
    /// accepts, by logical id (every region) or `REGION:LOGICAL_ID`.
    pub allow_replace: Vec<String>,
    /// The caller's account, which names buckets: with it, a stack to be created
    /// takes back the buckets and tables an earlier stack kept (`plan::adopt`);
    /// without it (the unit tests' fake) nothing is looked for.
    pub account: Option<String>,
    /// `[rollout.canary]` with the deploy's region stacks: each region's bake ends
    /// with the comparison (`canary::check`).
    pub canary: Option<super::canary::CanaryCheck>,
}

impl Settings {
    pub(super) fn tags(&self, version: &str) -> BTreeMap<String, String> {
        let mut tags = BTreeMap::from([
            (TAG_DEPLOYMENT_ID.into(), self.deployment_id.clone()),
            (TAG_VERSION.into(), version.into()),
            (TAG_DEPLOYED_BY.into(), self.deployed_by.clone()),
            (TAG_DEPLOYED_AT.into(), self.deployed_at.clone()),
        ]);
        if let Some(reason) = &self.outside_window {
            tags.insert(TAG_OUTSIDE_WINDOW.into(), reason.clone());
        }
        tags
    }

    pub(super) fn change_set(&self, stack: &str, pass: &str) -> String {
        crate::plan::change_set_name(&self.deployment_id, stack, pass)
    }
}

/// Read what every stack runs, in parallel, finishing what an earlier run left.
async fn settle_all<C: Cloud>(
    cloud: &C,
    events: &Events,
    stacks: &[DesiredStack],
    timing: &Timing,
) -> Result<Vec<Option<Deployed>>, DeployError> {
    let settled = join_all(stacks.iter().map(|s| async move {
        let deployed = ops::settle(cloud, events, &s.region, &s.stack_name, timing).await?;
        if deployed.is_some() {
            ops::clean_change_sets(cloud, &s.region, &s.stack_name).await?;
        }
        Ok::<_, DeployError>(deployed)
    }))
    .await;
    settled.into_iter().collect()
}

/// The target of a stack in the first pass while the stack is being built (some
/// region does not exist yet): a new region gets its build template; a region that
/// already runs keeps what it runs (its records stay in DNS, its replication rules
/// stay) and goes to its final template in the wiring pass, once the new regions'
/// buckets and load balancers exist. Otherwise every stack gets its final template.
/// The flag says whether the stack needs the wiring pass.
fn first_pass_target(
    s: &DesiredStack,
    deployed: Option<&Deployed>,
    building: bool,
) -> (DesiredStack, bool) {
    if !(building && s.role == StackRole::Region) {
        return (s.clone(), false);
    }
    let current = match deployed {
        Some(d) => Some(&d.template_body),
        None => s.build_template_body.as_ref(),
    };
    match current {
        Some(body) if *body != s.template_body => {
            let mut t = s.clone();
            t.template_body = body.clone();
            // CloudFormation refuses a value for a parameter the template does not
            // declare (the build template may lack the wired one's HostedZoneId).
            let declared = declared_parameters(body);
            t.parameters.retain(|k, _| declared.contains(k));
            (t, true)
        }
        _ => (s.clone(), false),
    }
}

/// The buckets and tables `target` declares by name that exist already: kept by
/// an earlier stack (HeadBucket, DescribeTable), to be taken back.
async fn kept_data<C: Cloud>(
    cloud: &C,
    target: &DesiredStack,
    account: &str,
) -> Result<Vec<crate::plan::adopt::Adoption>, DeployError> {
    let candidates = crate::plan::adopt::candidates(&target.template_body, account, &target.region);
    let found = join_all(candidates.iter().map(|a| async move {
        let region = target.region.as_str();
        Ok::<_, DeployError>(match a.resource_type.as_str() {
            "AWS::S3::Bucket" => cloud.bucket_exists(region, &a.name).await?,
            _ => cloud.table(region, &a.name).await?.is_some(),
        })
    }))
    .await;
    let mut kept = Vec::new();
    for (a, f) in candidates.into_iter().zip(found) {
        if f? {
            kept.push(a);
        }
    }
    Ok(kept)
}

/// The parameter names a template body declares.
fn declared_parameters(body: &str) -> Vec<String> {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|t| {
            t.get("Parameters")?
                .as_object()
                .map(|p| p.keys().cloned().collect())
        })
        .unwrap_or_default()
}

/// Plan every stack (in parallel): decide locally, create change sets where needed.
/// While some region stack does not exist yet, the stack is being built (see
/// `first_pass_target`).
async fn plan_all<C: Cloud>(
    cloud: &C,
    events: &Events,
    entries: &mut [Entry],
    settings: &Settings,
    version: &str,
) -> Result<(), DeployError> {
    let building = entries
        .iter()
        .any(|e| e.desired.role == StackRole::Region && e.deployed.is_none());
    let tags = settings.tags(version);
    let prepared = join_all(entries.iter().map(|e| {
        let building = building && e.leaving.is_none();
        let (target, wiring) = first_pass_target(&e.desired, e.deployed.as_ref(), building);
        let name = settings.change_set(&target.stack_name, "");
        let tags = &tags;
        async move {
            let adopt = match (&settings.account, &e.deployed, &e.leaving) {
                (Some(account), None, None) => kept_data(cloud, &target, account).await?,
                _ => Vec::new(),
            };
            let p = if adopt.is_empty() {
                ops::prepare(
                    cloud,
                    events,
                    &target.region,
                    &target.stack_name,
                    &name,
                    &target,
                    e.deployed.as_ref(),
                    tags,
                    &settings.timing,
                )
                .await?
            } else {
                for a in &adopt {
                    events.info(
                        Some(&target.region),
                        Phase::Plan,
                        format!(
                            "{} {} exists, kept by an earlier stack: {} takes it back as it is \
                             (an import), its data stays",
                            a.resource_type, a.name, target.stack_name
                        ),
                    );
                }
                ops::prepare_import(
                    cloud,
                    events,
                    &target.region,
                    &target.stack_name,
                    &name,
                    &target,
                    &adopt,
                    tags,
                    &settings.timing,
                )
                .await?
            };
            let adoption = (!adopt.is_empty()).then_some((adopt, target));
            Ok::<_, DeployError>((p, wiring, adoption))
        }
    }))
    .await;
    for (e, p) in entries.iter_mut().zip(prepared) {
        let (p, wiring, adoption) = p?;
        e.adoption = adoption;
        // Wired later even when the build template is already there (a resumed run).
        e.needs_wiring = wiring;
        e.plan = Some(RegionPlan {
            region: e.desired.region.clone(),
            stack_name: e.desired.stack_name.clone(),
            role: e.desired.role,
            action: p.action,
            changes: p.changes,
            parameters: if p.action == StackAction::NoChange {
                vec![]
            } else {
                crate::plan::parameter_changes(
                    e.deployed.as_ref().map(|d| &d.parameters),
                    &e.desired.parameters,
                )
            },
            replica_steps: e
                .deployed
                .as_ref()
                .map(|d| crate::plan::replica_steps(&d.template_body, &e.desired.template_body))
                .unwrap_or_default(),
            previous: e.deployed.clone(),
            change_set: p.change_set,
        });
    }
    Ok(())
}

fn assemble(entries: &[Entry], desired: &Desired, deployment_id: &str) -> Plan {
    let plan_of = |role: StackRole| {
        entries
            .iter()
            .find(|e| e.desired.role == role)
            .and_then(|e| e.plan.clone())
    };
    let mut waves = Vec::new();
    for wave in &desired.waves {
        waves.push(
            wave.iter()
                .filter_map(|d| {
                    entries
                        .iter()
                        .find(|e| {
                            e.desired.stack_name == d.stack_name && e.desired.region == d.region
                        })
                        .and_then(|e| e.plan.clone())
                })
                .collect(),
        );
    }
    let removals = entries
        .iter()
        .filter(|e| e.leaving.is_some())
        .filter_map(|e| e.plan.clone())
        .map(|mut p| {
            p.action = StackAction::Remove;
            p
        })
        .collect();
    let mut plan = Plan {
        deployment_id: deployment_id.into(),
        version: desired.version.clone(),
        zone: plan_of(StackRole::Zone),
        waves,
        global: plan_of(StackRole::Global),
        removals,
        at_risk: vec![],
        awaiting_zone: desired.awaiting_zone.clone(),
    };
    plan.at_risk = crate::plan::at_risk(&plan);
    plan
}

/// The entries of a rollout: the zone, the regions leaving the definition (taken
/// out of service before any other region changes), the waves, the global stack.
fn entries_in_order(
    desired: &Desired,
    stacks: Vec<DesiredStack>,
    deployed: Vec<Option<Deployed>>,
    leaving: Vec<Leaving>,
) -> Vec<Entry> {
    let wave_of = |s: &DesiredStack| {
        desired.waves.iter().position(|w| {
            w.iter()
                .any(|d| d.region == s.region && d.stack_name == s.stack_name)
        })
    };
    let mut entries: Vec<Entry> = stacks
        .into_iter()
        .zip(deployed)
        .map(|(s, d)| {
            let mut e = Entry::new(s, d);
            if e.desired.role == StackRole::Region {
                e.wave = wave_of(&e.desired);
            }
            e
        })
        .collect();
    let at = entries
        .iter()
        .take_while(|e| e.desired.role == StackRole::Zone)
        .count();
    let leaving = leaving.into_iter().map(|l| {
        let mut e = Entry::new(l.target, Some(l.deployed));
        e.leaving = Some(l.kept);
        e
    });
    entries.splice(at..at, leaving);
    entries
}

/// When every stack is settled and runs exactly what is desired, the no-change
/// report; decided with read-only calls, so a deploy with nothing to change says
/// so without taking the lock or making any mutating call.
pub async fn nothing_to_change<C: Cloud>(
    cloud: &C,
    desired: &Desired,
    deployment_id: &str,
) -> Result<Option<Report>, DeployError> {
    let stacks: Vec<DesiredStack> = desired.stacks().cloned().collect();
    // The stacks and the scan for left-behind stacks at the same time (all reads).
    let checks = join_all(stacks.iter().map(|s| async move {
        let Some(st) = cloud.stack(&s.region, &s.stack_name).await? else {
            return Ok::<_, DeployError>(None);
        };
        if !matches!(
            st.status.as_str(),
            "CREATE_COMPLETE" | "UPDATE_COMPLETE" | "UPDATE_ROLLBACK_COMPLETE" | "IMPORT_COMPLETE"
        ) {
            return Ok(None);
        }
        let deployed = Deployed {
            template_body: cloud.template(&s.region, &s.stack_name).await?,
            parameters: st.parameters,
            tags: st.tags,
        };
        if crate::plan::decide(s, Some(&deployed)) != StackAction::NoChange {
            return Ok(None);
        }
        Ok(Some(StackReport {
            region: s.region.clone(),
            stack: s.stack_name.clone(),
            role: s.role,
            result: StackResult::Unchanged,
            version: deployed.tags.get(TAG_VERSION).cloned(),
        }))
    }));
    let (checks, left) =
        futures::future::join(checks, retire::any_left(cloud, &desired.absent)).await;
    let mut reports = Vec::new();
    for c in checks {
        match c? {
            Some(r) => reports.push(r),
            None => return Ok(None),
        }
    }
    if left {
        return Ok(None);
    }
    Ok(Some(Report {
        deployment_id: deployment_id.to_string(),
        version: desired.version.clone(),
        outcome: Outcome::NoChange,
        stacks: reports,
        error: None,
        backfill: Vec::new(),
        drift_restored: Vec::new(),
    }))
}

/// Refuse a definition that would move the global table to another region's stack.
fn refuse_home_move(entries: &[Entry]) -> Result<(), DeployError> {
    let regions = entries
        .iter()
        .filter(|e| e.desired.role == StackRole::Region && e.leaving.is_none())
        .map(|e| {
            (
                e.desired.region.as_str(),
                e.desired.template_body.as_str(),
                e.deployed.as_ref().map(|d| d.template_body.as_str()),
            )
        });
    match crate::plan::home_move(regions) {
        Some(m) => Err(m.into()),
        None => Ok(()),
    }
}

/// The first pass's groups, in order, without the global stack: consecutive
/// regions of one wave together, every other stack on its own.
fn groups(entries: &[Entry], global_at: Option<usize>) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        if Some(i) == global_at {
            continue;
        }
        match out.last_mut() {
            Some(last) if e.wave.is_some() && entries[last[0]].wave == e.wave => last.push(i),
            _ => out.push(vec![i]),
        }
    }
    out
}

/// The wiring pass's groups, in rollout order: the regions of one wave that need
/// wiring together (as the first pass ran them), the waves one after another, so
/// a wrong record or replication rule shows in one wave's gates before the next
/// wave changes.
///
/// A stack whose wiring changes replicas (the home region's, when regions are
/// added or removed: the global table's and the origin secret's) is wired alone,
/// before the rest of its wave, which read those replicas in their own regions.
fn wiring_groups(entries: &[Entry]) -> Vec<Vec<usize>> {
    let mut wiring: Vec<usize> = (0..entries.len())
        .filter(|i| entries[*i].needs_wiring)
        .collect();
    // Within a wave (the order is wave order already), replica changers first.
    wiring.sort_by_key(|i| (entries[*i].wave, !changes_replicas(&entries[*i])));
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut alone = false;
    for i in wiring {
        let e = &entries[i];
        let changes = changes_replicas(e);
        match out.last_mut() {
            Some(last)
                if !alone && !changes && e.wave.is_some() && entries[last[0]].wave == e.wave =>
            {
                last.push(i)
            }
            _ => out.push(vec![i]),
        }
        alone = changes;
    }
    out
}

/// Whether the stack's wiring changes the replicas its template declares.
fn changes_replicas(e: &Entry) -> bool {
    let before = e
        .deployed
        .as_ref()
        .map(|d| d.template_body.as_str())
        .or(e.desired.build_template_body.as_deref())
        .unwrap_or_default();
    crate::plan::replica_regions(before) != crate::plan::replica_regions(&e.desired.template_body)
}

/// Plan only: create the change sets, read them, delete them. Nothing changes.
pub async fn plan<C: Cloud>(
    cloud: &C,
    events: &Events,
    desired: &Desired,
    settings: &Settings,
) -> Result<Plan, DeployError> {
    // Stacks that name the zone by id cannot have a change set before it exists.
    let zone_only;
    let full = desired;
    let (desired, awaiting) = if desired.awaiting_zone.is_empty() {
        (desired, Vec::new())
    } else {
        zone_only = desired.zone_only();
        (&zone_only, desired.awaiting_zone.clone())
    };
    let stacks: Vec<DesiredStack> = desired.stacks().cloned().collect();
    let deployed = join_all(stacks.iter().map(|s| async move {
        match cloud.stack(&s.region, &s.stack_name).await? {
            None => Ok::<_, DeployError>(None),
            Some(st) => ops::deployed_now(cloud, &s.region, &s.stack_name, st).await,
        }
    }))
    .await;
    let deployed = deployed.into_iter().collect::<Result<Vec<_>, _>>()?;
    let leaving = retire::find(cloud, events, &desired.absent, false, &settings.timing).await?;
    let mut entries = entries_in_order(desired, stacks, deployed, leaving);
    refuse_home_move(&entries)?;
    let planned = plan_all(cloud, events, &mut entries, settings, &desired.version).await;
    let mut plan = assemble(&entries, desired, &settings.deployment_id);
    if !awaiting.is_empty() {
        plan = with_awaiting(&plan, full, &awaiting_plans(cloud, full).await?);
    }
    if planned.is_err() {
        discard_attempted(cloud, events, &entries, settings).await;
    } else {
        discard_change_sets(cloud, events, &entries).await;
    }
    planned?;
    Ok(plan)
}

/// Delete the change sets this run created and did not execute; a stack that a
/// CREATE change set made (REVIEW_IN_PROGRESS, no resources) is deleted too. What
/// cannot be deleted is listed with the command that deletes it.
async fn discard_change_sets<C: Cloud>(cloud: &C, events: &Events, entries: &[Entry]) {
    join_all(
        entries
            .iter()
            .filter(|e| e.result == StackResult::NotStarted)
            .filter_map(|e| {
                let cs = e.plan.as_ref()?.change_set.clone()?;
                let created = e.deployed.is_none();
                Some(async move {
                    let (region, stack) = (cs.region.as_str(), cs.stack_name.as_str());
                    if let Err(err) = cloud.delete_change_set(region, stack, &cs.name).await {
                        warn_left_change_set(events, region, stack, &cs.name, &err.to_string());
                    }
                    if created {
                        discard_review_stack(cloud, events, region, stack).await;
                    }
                })
            }),
    )
    .await;
}

fn warn_left_change_set(events: &Events, region: &str, stack: &str, name: &str, err: &str) {
    events.warn(
        Some(region),
        Phase::Plan,
        format!(
            "change set {name} of {stack} may be left ({err}); delete it with \
             `aws cloudformation delete-change-set --region {region} --stack-name {stack} \
             --change-set-name {name}` (the next `strata deploy` also deletes it)"
        ),
    );
}

/// Delete the empty REVIEW_IN_PROGRESS stack a CREATE change set of this run made.
async fn discard_review_stack<C: Cloud>(cloud: &C, events: &Events, region: &str, stack: &str) {
    let left = match cloud.stack(region, stack).await {
        Ok(Some(s)) if s.status == "REVIEW_IN_PROGRESS" => cloud
            .delete_stack(region, stack)
            .await
            .err()
            .map(|e| e.to_string()),
        Ok(_) => None,
        Err(err) => Some(err.to_string()),
    };
    if let Some(err) = left {
        events.warn(
            Some(region),
            Phase::Plan,
            format!(
                "the empty stack {stack} (REVIEW_IN_PROGRESS) this run created may be left \
                 ({err}); delete it with `aws cloudformation delete-stack --region {region} \
                 --stack-name {stack}` (the next `strata deploy` also deletes it)"
            ),
        );
    }
}

/// After a failed plan: delete every change set this run may have created (by its
/// name, whether or not its creation answered) and every REVIEW_IN_PROGRESS stack
/// such a CREATE change set made where no stack was before. What cannot be
/// deleted is listed in a warning with the command that deletes it (the next
/// deploy deletes it too: see `ops::settle`).
async fn discard_attempted<C: Cloud>(
    cloud: &C,
    events: &Events,
    entries: &[Entry],
    settings: &Settings,
) {
    join_all(entries.iter().map(|e| async move {
        let (region, stack) = (e.desired.region.as_str(), e.desired.stack_name.as_str());
        let name = settings.change_set(stack, "");
        if let Err(err) = ops::drop_change_set(cloud, region, stack, &name).await {
            warn_left_change_set(events, region, stack, &name, &err.to_string());
        }
        if e.deployed.is_none() {
            discard_review_stack(cloud, events, region, stack).await;
        }
    }))
    .await;
}

/// Deploy: settle, plan, confirm, roll out, put back on failure.
///
/// `confirm` sees the plan and answers whether to go on (the binary asks the user
/// or honours `--yes`). Errors before the rollout started changed nothing but the
/// change sets, which are deleted again.
pub async fn deploy<C: Cloud>(
    cloud: &C,
    events: &Events,
    desired: &Desired,
    settings: &Settings,
    confirm: impl FnMut(&Plan) -> bool,
) -> Result<Report, DeployError> {
    deploy_when_ready(cloud, events, desired, settings, async { Ok(()) }, confirm).await
}

/// `deploy`, with `ready` running alongside the settling and planning (the AMI
/// copies becoming available): nothing is executed until it finished; when it
/// fails, the change sets are deleted and nothing was deployed.
///
/// While the managed zone does not exist, the stacks that name it by id
/// (`Desired::awaiting_zone`) cannot be planned: the zone stack is planned,
/// confirmed and created first, then its id (the `HostedZoneId` output) goes into
/// the other stacks' parameters, and those are planned and confirmed in turn.
pub async fn deploy_when_ready<C: Cloud>(
    cloud: &C,
    events: &Events,
    desired: &Desired,
    settings: &Settings,
    ready: impl std::future::Future<Output = Result<(), String>>,
    mut confirm: impl FnMut(&Plan) -> bool,
) -> Result<Report, DeployError> {
    if desired.awaiting_zone.is_empty() {
        return deploy_stacks(cloud, events, desired, settings, ready, &mut confirm).await;
    }
    let zone_only = desired.zone_only();
    let Some((zone_region, zone_name)) = desired.zone_stack.clone() else {
        return Err(DeployError::ZoneMissing {
            reason: format!(
                "{} name the managed zone by id, and the definition has no zone stack",
                desired.awaiting_zone.join(", ")
            ),
        });
    };
    let mut first = None;
    let mut ready = Some(ready);
    if zone_only.zone.is_some() {
        let waiting = awaiting_plans(cloud, desired).await?;
        // Nothing changes before `ready` (the AMI copies), the zone included.
        let zoned = deploy_stacks(
            cloud,
            events,
            &zone_only,
            settings,
            ready.take().expect("taken once"),
            &mut |p: &Plan| confirm(&with_awaiting(p, desired, &waiting)),
        )
        .await?;
        if !matches!(zoned.outcome, Outcome::Deployed | Outcome::NoChange) {
            return Ok(zoned);
        }
        first = Some(zoned);
    }
    // Without the zone stack in this run (a region's own deploy), the zone must
    // exist already: an earlier step of the same command may have made it.
    let id = cloud
        .stack(&zone_region, &zone_name)
        .await?
        .and_then(|s| s.outputs.get(crate::synth::zone::ZONE_ID_OUTPUT).cloned())
        .ok_or_else(|| DeployError::ZoneMissing {
            reason: format!(
                "the zone stack {zone_name} in {zone_region} does not exist or has no {} \
                 output: deploy the whole stack (`strata deploy`) first",
                crate::synth::zone::ZONE_ID_OUTPUT
            ),
        })?;
    events.info(
        Some(&zone_region),
        Phase::Plan,
        format!("the zone {zone_name} exists ({id}): planning the stacks that name it"),
    );
    let full = desired.with_zone_id(crate::synth::ZONE_ID_PARAMETER, &id);
    let rest_ready = match ready.take() {
        Some(r) => Either::Left(r),
        None => Either::Right(async { Ok(()) }),
    };
    let mut report =
        deploy_stacks(cloud, events, &full, settings, rest_ready, &mut confirm).await?;
    // The zone was created by the first step: the summary says so.
    let first = first.map(|f| f.stacks).unwrap_or_default();
    for s in &mut report.stacks {
        if let Some(z) = first
            .iter()
            .find(|z| z.stack == s.stack && z.region == s.region)
        {
            if s.result == StackResult::Unchanged {
                s.result = z.result;
            }
        }
    }
    Ok(report)
}

/// What the stacks awaiting the zone would do, decided locally (none can have a
/// change set before the zone exists): a new stack creates every resource of its
/// first template; an existing one changes what its template diff says.
async fn awaiting_plans<C: Cloud>(
    cloud: &C,
    desired: &Desired,
) -> Result<Vec<RegionPlan>, DeployError> {
    let stacks: Vec<&DesiredStack> = desired
        .stacks()
        .filter(|s| desired.awaiting_zone.contains(&s.stack_name))
        .collect();
    let plans = join_all(stacks.into_iter().map(|s| async move {
        let deployed = match cloud.stack(&s.region, &s.stack_name).await? {
            None => None,
            Some(st) => ops::deployed_now(cloud, &s.region, &s.stack_name, st).await?,
        };
        let body = match (&deployed, &s.build_template_body) {
            (None, Some(build)) => build.as_str(),
            _ => s.template_body.as_str(),
        };
        let old = deployed
            .as_ref()
            .map(|d| d.template_body.as_str())
            .unwrap_or("{}");
        Ok::<_, DeployError>(RegionPlan {
            region: s.region.clone(),
            stack_name: s.stack_name.clone(),
            role: s.role,
            action: if deployed.is_some() {
                StackAction::Update
            } else {
                StackAction::Create
            },
            changes: crate::plan::local_changes(old, body, &s.create_only, &[]),
            parameters: crate::plan::parameter_changes(
                deployed.as_ref().map(|d| &d.parameters),
                &s.parameters,
            ),
            replica_steps: crate::plan::replica_steps(old, body),
            previous: deployed,
            change_set: None,
        })
    }))
    .await;
    plans.into_iter().collect()
}

/// `plan` (the zone's) with the stacks awaiting the zone in their places.
fn with_awaiting(plan: &Plan, desired: &Desired, waiting: &[RegionPlan]) -> Plan {
    let mut out = plan.clone();
    let find = |s: &DesiredStack| {
        waiting
            .iter()
            .find(|p| p.stack_name == s.stack_name)
            .cloned()
    };
    out.waves = desired
        .waves
        .iter()
        .map(|w| w.iter().filter_map(find).collect::<Vec<_>>())
        .filter(|w: &Vec<RegionPlan>| !w.is_empty())
        .collect();
    if let Some(g) = &desired.global {
        out.global = find(g).or(out.global);
    }
    out.awaiting_zone = desired.awaiting_zone.clone();
    out
}

/// `deploy_when_ready` for stacks that can all be planned now.
async fn deploy_stacks<C: Cloud>(
    cloud: &C,
    events: &Events,
    desired: &Desired,
    settings: &Settings,
    ready: impl std::future::Future<Output = Result<(), String>>,
    confirm: &mut impl FnMut(&Plan) -> bool,
) -> Result<Report, DeployError> {
    let timing = &settings.timing;
    let stacks: Vec<DesiredStack> = desired.stacks().cloned().collect();
    for s in &stacks {
        events.emit(
            Some(&s.region),
            Phase::Preflight,
            EventKind::PhaseStarted {
                detail: format!("reading {}", s.stack_name),
            },
        );
    }
    let planned = async {
        let deployed = settle_all(cloud, events, &stacks, timing).await?;
        let leaving = retire::find(cloud, events, &desired.absent, true, timing).await?;
        let mut entries = entries_in_order(desired, stacks.clone(), deployed, leaving);
        refuse_home_move(&entries)?;
        let planned = plan_all(cloud, events, &mut entries, settings, &desired.version).await;
        Ok::<_, DeployError>((entries, planned))
    };
    // A failed plan does not wait for `ready`; a failed `ready` waits for the plan
    // so that its change sets can be deleted.
    let (planned, ready) = match select(std::pin::pin!(planned), std::pin::pin!(ready)).await {
        Either::Left((p, ready)) => {
            let r = match &p {
                Ok((_, Ok(()))) => ready.await,
                _ => Ok(()),
            };
            (p, r)
        }
        Either::Right((r, planned)) => (planned.await, r),
    };
    let (mut entries, planned) = planned?;
    if let Err(e) = planned {
        discard_attempted(cloud, events, &entries, settings).await;
        return Err(e);
    }
    if let Err(reason) = ready {
        discard_change_sets(cloud, events, &entries).await;
        return Err(DeployError::NotReady { reason });
    }
    let plan = assemble(&entries, desired, &settings.deployment_id);
    let report = |entries: &[Entry], outcome: Outcome, error: Option<String>| Report {
        deployment_id: settings.deployment_id.clone(),
        version: desired.version.clone(),
        outcome,
        error,
        backfill: Vec::new(),
        drift_restored: Vec::new(),
        stacks: entries
            .iter()
            .map(|e| StackReport {
                region: e.desired.region.clone(),
                stack: e.desired.stack_name.clone(),
                role: e.desired.role,
                result: e.result,
                version: e.version(&desired.version),
            })
            .collect(),
    };
    if plan.is_no_change() {
        for e in &mut entries {
            e.result = StackResult::Unchanged;
        }
        events.info(
            None,
            Phase::Done,
            "nothing to change: every stack is up to date",
        );
        return Ok(report(&entries, Outcome::NoChange, None));
    }
    let refused: Vec<_> = plan
        .at_risk
        .iter()
        .filter(|r| !r.allowed_by(&settings.allow_replace))
        .cloned()
        .collect();
    if !refused.is_empty() {
        discard_change_sets(cloud, events, &entries).await;
        return Err(DeployError::UnsafeReplacement { refused });
    }
    if !confirm(&plan) {
        discard_change_sets(cloud, events, &entries).await;
        return Ok(report(&entries, Outcome::Declined, None));
    }

    let (outcome, error) = roll_out(cloud, events, &mut entries, settings, &desired.version).await;
    if outcome == Outcome::Deployed {
        events.info(None, Phase::Done, format!("deployed {}", desired.version));
    } else {
        discard_change_sets(cloud, events, &entries).await;
    }
    Ok(report(&entries, outcome, error))
}

/// The stacks of `next` whose wiring can be planned while `group` runs: those
/// not in `group` (their first pass is done, and a change set is made against
/// the stack as it is), and none after a group that changes replicas (the rest of
/// its wave reads those replicas: `wiring_groups`) or once a stop was asked for.
/// Making a change set changes nothing: the wiring still executes group by
/// group, each after the gates of the one before.
fn ahead_of(
    entries: &[Entry],
    group: &[usize],
    next: Option<&Vec<usize>>,
    settings: &Settings,
) -> Vec<(usize, DesiredStack)> {
    let Some(next) = next else { return Vec::new() };
    if settings.stop.load(Ordering::SeqCst) || group.iter().any(|&i| changes_replicas(&entries[i]))
    {
        return Vec::new();
    }
    next.iter()
        .filter(|i| !group.contains(i))
        .map(|&i| (i, entries[i].desired.clone()))
        .collect()
}

/// `run_group`, while the wiring of `ahead` is planned (`step::replan`); the
/// plans are kept for those stacks' turn. When the run stops here, the change
/// sets made ahead are deleted.
#[allow(clippy::too_many_arguments)]
async fn run_group_planning<C: Cloud>(
    cloud: &C,
    events: &Events,
    entries: &mut [Entry],
    group: &[usize],
    settings: &Settings,
    done: &mut Vec<usize>,
    records: &mut super::records::Pending,
    pass: Pass<'_>,
    ahead: &[(usize, DesiredStack)],
) -> Option<(Outcome, Option<String>)> {
    let version = pass.version;
    let plans = join_all(ahead.iter().map(|(i, desired)| async move {
        (
            *i,
            step::replan(cloud, events, desired, settings, version).await,
        )
    }));
    let (out, planned) = futures::future::join(
        run_group(cloud, events, entries, group, settings, done, records, pass),
        plans,
    )
    .await;
    for (i, plan) in planned {
        entries[i].wire_ahead = Some(plan);
    }
    if out.is_some() {
        discard_planned_ahead(cloud, events, entries).await;
    }
    out
}

/// Delete the wiring change sets made ahead that will not run now.
async fn discard_planned_ahead<C: Cloud>(cloud: &C, events: &Events, entries: &mut [Entry]) {
    let made: Vec<crate::plan::ChangeSetRef> = entries
        .iter_mut()
        .filter_map(|e| match e.wire_ahead.take() {
            Some(Ok((_, p))) => p.change_set,
            _ => None,
        })
        .collect();
    join_all(made.iter().map(|cs| async move {
        let (region, stack) = (cs.region.as_str(), cs.stack_name.as_str());
        if let Err(err) = cloud.delete_change_set(region, stack, &cs.name).await {
            warn_left_change_set(events, region, stack, &cs.name, &err.to_string());
        }
    }))
    .await;
}

/// The rollout proper: the first pass (zone, leaving regions out of service, the
/// waves: every region of a wave at the same time, anything else alone), the
/// wiring pass wave by wave (the regions of a wave at the same time), the global stack, then the leaving regions'
/// stacks deleted. Stops at the first failure, with what was put back.
async fn roll_out<C: Cloud>(
    cloud: &C,
    events: &Events,
    entries: &mut [Entry],
    settings: &Settings,
    version: &str,
) -> (Outcome, Option<String>) {
    let mut done: Vec<usize> = Vec::new();
    let mut records = super::records::Pending::default();
    let first = Pass {
        wire: None,
        version,
    };
    let wire = Pass {
        wire: Some(step::WIRE),
        version,
    };
    let global_at = entries
        .iter()
        .position(|e| e.desired.role == StackRole::Global);
    // Each wiring group's change sets are made while the group before it runs
    // (the first one while the first pass's last group runs): see `ahead_of`.
    let wiring = wiring_groups(entries);
    let first_groups = groups(entries, global_at);
    let steps = first_groups
        .iter()
        .map(|g| (g, first))
        .chain(wiring.iter().map(|g| (g, wire)));
    let last_first = first_groups.len().checked_sub(1);
    for (k, (group, pass)) in steps.enumerate() {
        // The wiring group after this step: the first one after the first pass's
        // last group, else the next one.
        let next = match last_first {
            Some(last) if k >= last => wiring.get(k - last),
            None => wiring.get(k + 1),
            _ => None,
        };
        let ahead = ahead_of(entries, group, next, settings);
        if let Some(out) = run_group_planning(
            cloud,
            events,
            entries,
            group,
            settings,
            &mut done,
            &mut records,
            pass,
            &ahead,
        )
        .await
        {
            return out;
        }
    }
    if let Some(g) = global_at {
        if let Some(out) = run_group(
            cloud,
            events,
            entries,
            &[g],
            settings,
            &mut done,
            &mut records,
            first,
        )
        .await
        {
            return out;
        }
    }
    let timing = &settings.timing;
    super::records::write(cloud, events, records.take(), timing).await;
    // Last, the regions that left the definition: out of service since the first
    // pass, no longer replicated to by the others: delete their stacks.
    let leaving: Vec<usize> = (0..entries.len())
        .filter(|i| entries[*i].leaving.is_some())
        .collect();
    for i in leaving {
        if settings.stop.load(Ordering::SeqCst) {
            events.info(
                None,
                Phase::Retire,
                "stopped on request before deleting a leaving region; run the same command again to finish",
            );
            return (Outcome::Interrupted, None);
        }
        let e = &entries[i];
        let kept = e.leaving.clone().unwrap_or_default();
        let (region, stack) = (e.desired.region.clone(), e.desired.stack_name.clone());
        if let Err(err) =
            retire::delete(cloud, events, &region, &stack, &kept, &settings.timing).await
        {
            events.emit(
                Some(&region),
                Phase::Retire,
                EventKind::Failed {
                    error: err.to_string(),
                },
            );
            entries[i].result = StackResult::RemovalFailed;
            return (Outcome::RemovalFailed, Some(err.to_string()));
        }
        entries[i].result = StackResult::Retired;
    }
    (Outcome::Deployed, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(region: &str, wave: usize, before: &str, after: &str) -> Entry {
        let stack = DesiredStack {
            region: region.into(),
            stack_name: format!("app-{region}"),
            role: StackRole::Region,
            template_body: after.into(),
            build_template_body: None,
            parameters: BTreeMap::new(),
            create_only: BTreeMap::new(),
        };
        let deployed = Deployed {
            template_body: before.into(),
            parameters: BTreeMap::new(),
            tags: BTreeMap::new(),
        };
        let mut e = Entry::new(stack, Some(deployed));
        e.wave = Some(wave);
        e.needs_wiring = true;
        e
    }

    fn secret(replicas: &[&str]) -> String {
        let list: Vec<_> = replicas
            .iter()
            .map(|r| serde_json::json!({ "Region": r }))
            .collect();
        serde_json::json!({"Resources": {"S": {"Type": "AWS::SecretsManager::Secret",
            "Properties": {"ReplicaRegions": list}}}})
        .to_string()
    }

    #[test]
    fn a_stack_changing_replicas_is_wired_alone_before_the_rest_of_its_wave() {
        let plain = r#"{"Resources": {}}"#;
        let entries = vec![
            entry("eu-west-1", 0, plain, r#"{"Resources": {"X": {}}}"#),
            entry(
                "us-east-1",
                0,
                &secret(&["eu-west-1"]),
                &secret(&["eu-west-1", "ap-south-1"]),
            ),
            entry("ap-south-1", 0, plain, r#"{"Resources": {"Y": {}}}"#),
            entry("sa-east-1", 1, plain, r#"{"Resources": {"Z": {}}}"#),
        ];
        assert_eq!(wiring_groups(&entries), vec![vec![1], vec![0, 2], vec![3]]);
        // Nothing changes replicas: one group per wave, as before.
        let same = vec![
            entry(
                "us-east-1",
                0,
                &secret(&["eu-west-1"]),
                &secret(&["eu-west-1"]),
            ),
            entry("eu-west-1", 0, plain, r#"{"Resources": {"X": {}}}"#),
        ];
        assert_eq!(wiring_groups(&same), vec![vec![0, 1]]);
    }
}
