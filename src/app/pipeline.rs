//! `prepare`: the one composition of a command's pipeline, and `Pipeline`, what
//! the command then works with (the lock, the deploy record, the AMI copies).

use super::{AppError, Command, Definition};
use crate::ami::{self, StartedCopies, WaitPolicy};
use crate::aws::lock_stack::CfnLockStore;
use crate::aws::notify::SnsNotifier;
use crate::aws::{Aws, AwsTarget, CloudApi};
use crate::deploy::{preflight, Settings, Timing};
use crate::events::{EventKind, Events, Phase};
use crate::exit_code;
use crate::ops::dri::{self, Dri, DriSource};
use crate::ops::lock::{self, LockError, LockGuard, LockInfo};
use crate::ops::notify::{self, Announcement};
use crate::ops::rules::{self, Accountability};
use crate::plan::{self, Desired};
use crate::policy::PolicyReport;
use crate::stack::{OnFailure, StackDef};
use crate::synth::{self, Phase as SynthPhase, Synthesized};
use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

/// Releases one holding of the deploy lock (`Pipeline::releaser`).
pub struct LockRelease {
    aws: Aws,
    stack: String,
    /// The stack file, for the `strata unlock` a remaining record needs.
    file: String,
    guard: LockGuard,
    events: Events,
}

impl LockRelease {
    /// Delete this holder's lock records (each region's release is retried); a
    /// record that cannot be deleted is a warning naming `strata unlock FILE --id`.
    /// Returns the regions where it may remain.
    pub async fn release(self) -> Vec<String> {
        let store = CfnLockStore::new(&self.aws, &self.stack);
        let left = lock::release(&store, &self.guard).await;
        for e in &left {
            self.events.warn(
                Some(&e.region),
                Phase::Done,
                format!(
                    "could not release the deploy lock ({}); remove it with `strata unlock {} --id {}`",
                    e.message, self.file, self.guard.info.id
                ),
            );
        }
        left.into_iter().map(|e| e.region).collect()
    }
}

/// The operator's flags every changing command shares.
#[derive(Debug, Clone, Default)]
pub struct Operator {
    /// `--dri` / `STRATA_DRI` (else the CI user, git's user, the AWS identity).
    pub dri: Option<String>,
    /// `--outside-window REASON`.
    pub outside_window: Option<String>,
    /// `--force-unlock LOCK_ID`.
    pub force_unlock: Option<String>,
}

/// What a command asks of the pipeline.
pub struct Request {
    pub command: Command,
    pub definition: Definition,
    /// `--region` filters (plan, rollback, destroy): only these regions' stacks.
    pub regions: Vec<String>,
    /// The region a DR command acts on: it has no vote in the lock (it may be down).
    pub acting_on: Option<String>,
    /// `--bake`, parsed by the binary; default: `rollout.bake`.
    pub bake: Option<Duration>,
    pub operator: Operator,
    pub target: AwsTarget,
    /// `--account ID`: the account a command that breaks things is meant for.
    pub account: Option<String>,
}

/// A prepared command: the definition, both phases' templates, the policy
/// report, the connection, the AMIs and the desired state.
pub struct Pipeline {
    pub command: Command,
    pub definition: Definition,
    pub build: Synthesized,
    pub wired: Synthesized,
    pub policy: PolicyReport,
    pub aws: Aws,
    pub cloud: CloudApi,
    /// Who answers for a changing command, and any outside-window reason.
    pub accountable: Option<Accountability>,
    /// Each region's AMI (empty when the command resolves none: the definition's id).
    pub amis: BTreeMap<String, String>,
    /// The hosted zone's id for the `HostedZoneId` parameters (`app::zone`): `None`
    /// when the templates carry it, or while the managed zone does not exist yet.
    pub zone_id: Option<String>,
    /// The caller's account (STS), for commands that plan: buckets are named by
    /// it, and a stack to be created takes back the data an earlier one kept.
    pub account: Option<String>,
    /// Each region's managed prefix-list ids for its template's parameters
    /// (`deploy::preflight::resolve_prefix_lists`); empty without CloudFront.
    pub region_parameters: BTreeMap<String, BTreeMap<String, String>>,
    pub desired: Desired,
    /// The whole definition's desired state on the definition's AMI, every region
    /// (what the plan id is taken over); `desired` is it with the AMI copies and
    /// the region filter.
    whole: Desired,
    /// The plan id (`plan::plan_id`) of the whole definition's desired state,
    /// every region on the definition's AMI: what `strata plan` prints and
    /// `strata approve` approves, whatever the region filters.
    pub plan_id: String,
    pub timing: Timing,
    pub events: Events,
    regions: Vec<String>,
    acting_on: Option<String>,
    force_unlock: Option<String>,
}

/// Everything before the first AWS call that changes anything: the region
/// filters, the operations rules, synth of both phases, the policy gate,
/// connect, AMIs, the desired state. The one place a command's pipeline is built.
pub async fn prepare(request: Request, events: Events) -> Result<Pipeline, AppError> {
    let Request {
        command,
        definition,
        regions,
        acting_on,
        bake,
        operator,
        target,
        account,
    } = request;
    let def = &definition.def;
    let file = definition.path.display().to_string();
    if command == Command::Deploy {
        // A line per region at once: what follows (synth, the policy check, the
        // account, the AZs, the AMIs, every stack) says nothing for a few seconds.
        for r in def
            .regions
            .iter()
            .filter(|r| regions.is_empty() || regions.contains(&r.name))
        {
            events.emit(
                Some(&r.name),
                Phase::Preflight,
                EventKind::PhaseStarted {
                    detail: "synth, policy, then the account, Availability Zones and AMIs".into(),
                },
            );
        }
    }
    for r in regions.iter().chain(acting_on.iter()) {
        if def.region(r).is_none() {
            return Err(AppError::UnknownRegion {
                file,
                region: r.clone(),
            });
        }
    }
    let mut accountable = if command.changes() {
        let person = dri::resolve_local(
            operator.dri.as_deref(),
            |k| std::env::var(k).ok(),
            dri::git_user,
        );
        Some(rules::check(
            def,
            person,
            operator.outside_window.as_deref(),
            command.enforces_windows(),
            time::OffsetDateTime::now_utc(),
        )?)
    } else {
        None
    };
    let timing = Timing {
        gate_timeout: definition.gate_timeout,
        bake: bake.unwrap_or(definition.bake),
        ..Timing::default()
    };
    let build = synth::synthesize(def, SynthPhase::Build);
    let wired = synth::synthesize(def, SynthPhase::Wired);
    let policy = crate::policy::check(def, &wired);
    if command.policy_gate() && !policy.passed() {
        return Err(policy_refusal(file, policy, &definition));
    }
    if def.dns.plain_http && matches!(command, Command::Plan | Command::Deploy) {
        events.warn(
            None,
            Phase::Plan,
            "dns.plain_http = true: the load balancers listen on plain HTTP, CloudFront and the \
             health checks reach them over HTTP, and no regional certificate is made \
             (a production stack cannot opt out)",
        );
    }
    let aws = Aws::connect(target).await;
    if command.changes() {
        check_account(&aws, def).await?;
    }
    if command.breaks_on_purpose() {
        confirm_account(&aws, account.as_deref()).await?;
    }
    if command == Command::Deploy {
        check_promotion(&aws, &definition).await?;
    }
    if let Some(a) = accountable.as_mut() {
        if a.dri.source == DriSource::AwsIdentity {
            // Nobody named: the AWS caller identity answers for it.
            if let Ok(arn) = aws.caller_identity().await {
                a.dri = Dri {
                    name: arn,
                    source: DriSource::AwsIdentity,
                };
            }
        }
    }
    let cloud = CloudApi::new(aws.clone());
    // plan and deploy build in the AZs the definition names: each must be one this
    // account can use (validate knows each region's zones, the account may have
    // fewer). Not DR: a failed region may not answer, and rebuild keeps its AZs.
    // Both read-only, so at the same time; a missing AZ is reported first.
    // The zone's id and the caller's account too: all read-only, all at once.
    let (azs, amis, zone_id, account, prefix_lists) = futures::future::join5(
        async {
            if matches!(command, Command::Plan | Command::Deploy) {
                preflight::check_azs(&cloud, def).await
            } else {
                Ok(Vec::new())
            }
        },
        async {
            if command.resolves_amis() {
                preflight::resolve_amis(&cloud, &events, def).await
            } else {
                Ok(BTreeMap::new())
            }
        },
        crate::app::zone::resolve(&aws, def, &events),
        async {
            if command.changes() || command == Command::Plan {
                aws.caller_account().await.ok()
            } else {
                None
            }
        },
        async {
            if command.resolves_amis() || command == Command::DrRebuild {
                crate::deploy::preflight::resolve_prefix_lists(&cloud, def).await
            } else {
                Ok(BTreeMap::new())
            }
        },
    )
    .await;
    let list = azs?;
    if !list.is_empty() {
        return Err(AppError::MissingAzs { file, list });
    }
    let amis = amis?;
    let zone_id = zone_id?;
    let region_parameters = prefix_lists?;
    // One desired state, on the definition's AMI: the plan id is taken over it (not
    // the AMI copies' ids: a copy made meanwhile changes nothing that was
    // approved), and the deploy's is the same with each region's copy.
    let whole = plan::desired(
        def,
        &build,
        &wired,
        &BTreeMap::new(),
        &definition.source_hash,
        zone_id.as_deref(),
        &region_parameters,
    );
    let plan_id = plan::plan_id(&whole);
    let desired = whole.with_amis(&amis).only_regions(&regions);
    Ok(Pipeline {
        command,
        definition,
        build,
        wired,
        policy,
        aws,
        cloud,
        accountable,
        amis,
        zone_id,
        account,
        region_parameters,
        desired,
        whole,
        plan_id,
        timing,
        events,
        regions,
        acting_on,
        force_unlock: operator.force_unlock,
    })
}

/// Promotion (`operations.promote_from`): the stack file it names (relative to
/// this one) must already run this definition's AMI, healthy, in every region
/// (`ops::promotion`), read through `status::read_regions` before any change.
pub async fn check_promotion(aws: &Aws, definition: &Definition) -> Result<(), AppError> {
    let Some(from) = definition.def.operations.promote_from.as_deref() else {
        return Ok(());
    };
    let path = definition
        .path
        .parent()
        .unwrap_or_else(|| std::path::Path::new("."))
        .join(from);
    let source = crate::app::definition::load(&path).map_err(|e| {
        AppError::PromoteFrom(format!(
            "{}: operations.promote_from = \"{from}\": {e}",
            definition.path.display()
        ))
    })?;
    let ami = &definition.def.ami.id;
    let regions = crate::status::read_regions(aws, &source.def, &Default::default()).await;
    let problems = crate::ops::promotion::problems(ami, &source.def.stack_name(), &regions);
    if problems.is_empty() {
        return Ok(());
    }
    Err(AppError::NotPromoted(format!(
        "{} is promoted from {} (operations.promote_from), which does not run {ami} healthy, \
         so nothing was changed:\n  {}\nDeploy {ami} to {} first (or set ami.id to what it runs)",
        definition.path.display(),
        path.display(),
        problems.join("\n  "),
        path.display()
    )))
}

/// The region approvals are recorded in: the definition's first.
fn approvals_region(def: &StackDef) -> &str {
    def.regions
        .first()
        .map(|r| r.name.as_str())
        .unwrap_or("us-east-1")
}

/// The account pin (`app.account`, `ops::account`), checked by every changing
/// command before its first change: the caller's account (STS
/// GetCallerIdentity) must be one the definition names. No pin: no call.
pub async fn check_account(aws: &Aws, def: &StackDef) -> Result<(), AppError> {
    if !crate::ops::account::pinned(def) {
        return Ok(());
    }
    let caller = aws.caller_account().await.map_err(|e| {
        AppError::Environment(format!(
            "{} is pinned to account {}, and the caller's account could not be read, so nothing was changed: {e}",
            def.stack_name(),
            def.app.account.join(", ")
        ))
    })?;
    crate::ops::account::check(def, &caller)?;
    Ok(())
}

/// A command that breaks things on purpose (the drill): outside the sandbox (no
/// endpoint override) the AWS account must be named and match the credentials'.
async fn confirm_account(aws: &Aws, named: Option<&str>) -> Result<(), AppError> {
    if aws.target().endpoint_url.is_some() {
        return Ok(());
    }
    let Some(named) = named else {
        return Err(AppError::NotAllowed(
            "a drill breaks a region: outside the sandbox (no --endpoint-url) name the AWS account with --account ID".into(),
        ));
    };
    let actual = crate::aws::dr_compute::caller_account(aws)
        .await
        .map_err(|e| AppError::Environment(e.to_string()))?;
    if actual != named {
        return Err(AppError::NotAllowed(format!(
            "--account {named} does not match the credentials' account {actual}: refusing to drill"
        )));
    }
    Ok(())
}

fn policy_refusal(file: String, report: PolicyReport, definition: &Definition) -> AppError {
    let list: Vec<String> = report
        .mandatory_violations()
        .map(|f| {
            let at = [f.region.as_deref(), f.resource.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            let at = if at.is_empty() {
                String::new()
            } else {
                format!(" ({at})")
            };
            format!("  {}: {}{at}; fix: {}", f.rule, f.message, f.fix)
        })
        .chain(
            n_plus_one_diagnostics(definition)
                .iter()
                .map(|d| format!("  {d}")),
        )
        .collect();
    AppError::Policy {
        file,
        list: list.join("\n"),
        report: Box::new(report),
    }
}

/// A failed N+1 (unless `[[policy.advisory]]` makes `capacity_n_plus_1`
/// advisory), located at the capacity lines of the file: `validate` reports
/// these, and a refused deploy names them.
pub fn n_plus_one_diagnostics(definition: &Definition) -> Vec<crate::stack::Diagnostic> {
    let def = &definition.def;
    if def
        .policy
        .advisory
        .iter()
        .any(|a| a.rule == "capacity_n_plus_1")
    {
        return Vec::new();
    }
    let problems = crate::policy::ha::n_plus_one_problems(def);
    if problems.is_empty() {
        return Vec::new();
    }
    crate::stack::locate_problems(
        &definition.text,
        &definition.path.display().to_string(),
        problems,
    )
}

impl Pipeline {
    pub fn def(&self) -> &StackDef {
        &self.definition.def
    }

    /// The responsible person's name, for the deploy record and the lock.
    pub fn dri(&self) -> String {
        self.accountable
            .as_ref()
            .map(|a| a.dri.name.clone())
            .unwrap_or_else(|| "unknown".into())
    }

    /// Four eyes (`operations.approvals`, `ops::approvals`), for a command that
    /// needs it: the deployer (the AWS caller identity, not `--dri`, which anyone
    /// can type) and the recorded approvals of this plan id by others must make
    /// the number the definition requires. Read in the first region before any
    /// change. `Ok`: the approvers who count (empty when none are needed).
    pub async fn check_approvals(&self) -> Result<Vec<String>, AppError> {
        use crate::ops::approvals::{self, ApprovalStore};
        let required = self.def().operations.approvals;
        if !self.command.needs_approvals() || required <= 1 {
            return Ok(Vec::new());
        }
        let stack = self.def().stack_name();
        let deployer = self.aws.caller_identity().await.map_err(|e| {
            AppError::Environment(format!(
                "{stack} needs approvals (operations.approvals = {required}), and the caller's \
                 identity could not be read, so nothing was changed: {e}"
            ))
        })?;
        let region = approvals_region(self.def());
        let store = crate::aws::approval_stack::CfnApprovalStore::new(&self.aws, &stack);
        let found = store.list(region, &self.plan_id).await.map_err(|e| {
            AppError::Environment(format!(
                "{stack}: the approvals of plan {} could not be read, so nothing was changed: {e}",
                self.plan_id
            ))
        })?;
        let now = time::OffsetDateTime::now_utc();
        match approvals::check(required, &self.plan_id, &deployer, &found, now) {
            Ok(by) => {
                self.events.info(
                    None,
                    Phase::Preflight,
                    format!(
                        "plan {} deployed by {deployer}, approved by {} (operations.approvals = {required})",
                        self.plan_id,
                        by.join(", ")
                    ),
                );
                Ok(by)
            }
            Err(missing) => Err(AppError::NotApproved(
                missing.message(&stack, &self.definition.path.display().to_string()),
            )),
        }
    }

    /// After a successful deploy: its approvals are deleted so they cannot be
    /// used again (a failure is a warning: they expire after 24 h anyway).
    pub async fn consume_approvals(&self) {
        use crate::ops::approvals::ApprovalStore;
        if !self.command.needs_approvals() || self.def().operations.approvals <= 1 {
            return;
        }
        let region = approvals_region(self.def());
        let store =
            crate::aws::approval_stack::CfnApprovalStore::new(&self.aws, &self.def().stack_name());
        if let Err(e) = store.consume(region, &self.plan_id).await {
            self.events.warn(
                Some(region),
                Phase::Done,
                format!(
                    "the approvals of plan {} could not be deleted ({e}); they expire after 24 hours",
                    self.plan_id
                ),
            );
        }
    }

    /// `strata approve`: record the caller's approval of `plan_id`, which must be
    /// this definition's plan id now (an approver approves what they reviewed).
    /// Returns the approval recorded.
    pub async fn approve(
        &self,
        plan_id: &str,
    ) -> Result<crate::ops::approvals::Approval, AppError> {
        use crate::ops::approvals::{Approval, ApprovalStore};
        let file = self.definition.path.display().to_string();
        if plan_id != self.plan_id {
            return Err(AppError::NotApproved(format!(
                "{file}: plan {plan_id} is not this definition's plan (it is {} now: the file or \
                 what it deploys changed); nothing was approved. Review `strata plan {file}` and \
                 approve the plan id it prints",
                self.plan_id
            )));
        }
        let approver = self.aws.caller_identity().await.map_err(|e| {
            AppError::Environment(format!("the caller's identity could not be read: {e}"))
        })?;
        let approval = Approval {
            plan_id: plan_id.to_string(),
            approver,
            approved_at: time::OffsetDateTime::now_utc(),
        };
        let region = approvals_region(self.def());
        crate::aws::approval_stack::CfnApprovalStore::new(&self.aws, &self.def().stack_name())
            .record(region, &approval)
            .await
            .map_err(|e| {
                AppError::Environment(format!("the approval could not be recorded: {e}"))
            })?;
        Ok(approval)
    }

    /// The desired state of every stack with `amis` as each region's AMI (a
    /// rebuild's: the survivors keep theirs), from the templates already synthesized.
    pub fn desired_with(&self, amis: &BTreeMap<String, String>) -> Desired {
        self.whole.with_amis(amis)
    }

    /// The deploy settings: the deploy record (who, when, the outside-window
    /// reason) every stack this run changes is tagged with, and the timing.
    pub fn settings(
        &self,
        deployment_id: String,
        now: time::OffsetDateTime,
        on_failure: Option<OnFailure>,
        stop: Arc<AtomicBool>,
    ) -> Settings {
        let changes = self.command.changes();
        Settings {
            deployment_id,
            // Plan's change sets are deleted again: their tags record nothing.
            deployed_by: if changes { self.dri() } else { String::new() },
            outside_window: self
                .accountable
                .as_ref()
                .and_then(|a| a.outside_window.clone()),
            deployed_at: if changes {
                now.format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default()
            } else {
                String::new()
            },
            on_failure: on_failure.unwrap_or(self.def().rollout.on_failure),
            timing: self.timing,
            stop,
            allow_replace: Vec::new(),
            account: self.account.clone(),
            canary: self.def().rollout.canary.clone().map(|rule| {
                crate::deploy::canary::CanaryCheck {
                    rule,
                    // Every region of the definition, not only those deployed
                    // now (`--region`): the others may be the old version.
                    peers: self
                        .whole
                        .waves
                        .iter()
                        .flatten()
                        .map(|s| (s.region.clone(), s.stack_name.clone()))
                        .collect(),
                }
            }),
        }
    }

    /// Start copying the source AMI into every region (all at once, idempotent;
    /// an existing copy is reused) and point every region's template at its copy.
    /// The copies are not waited for: see `copies_available`.
    pub async fn start_ami_copies(&mut self) -> Result<StartedCopies, AppError> {
        let source = ami::AmiSource::from_def(self.def());
        let started = ami::start_copies(&self.aws, self.def(), &source, &self.events)
            .await
            .map_err(|e| {
                AppError::Ami(format!(
                    "AMI copies could not be started, nothing was deployed: {e}"
                ))
            })?;
        self.amis = started.amis.clone();
        self.desired = self.desired_with(&started.amis).only_regions(&self.regions);
        Ok(started)
    }

    /// Wait until every started copy is available; the error names the regions
    /// whose copy failed or did not become available in time.
    pub async fn copies_available(&self, started: &StartedCopies) -> Result<(), String> {
        ami::await_copies(
            &self.aws,
            started,
            &self.events,
            &WaitPolicy::copy_default(),
        )
        .await
        .map(|_| ())
        .map_err(|e| format!("AMI copies are not ready: {e}"))
    }

    /// Take the stack's deploy lock (a majority of its regions, the region a DR
    /// command acts on not voting), breaking the lock `--force-unlock ID` names
    /// first. Refused: `AppError::Locked`, naming the holder and the command that
    /// breaks a dead holder's lock.
    pub async fn lock(&self) -> Result<LockGuard, AppError> {
        let store = CfnLockStore::new(&self.aws, &self.def().stack_name());
        let all: Vec<String> = self.def().regions.iter().map(|r| r.name.clone()).collect();
        let voters = lock::voters(&all, self.acting_on.as_deref());
        let now = time::OffsetDateTime::now_utc;
        if let Some(id) = &self.force_unlock {
            let out = lock::unlock(&store, &voters, Some(id)).await;
            for (region, h) in &out.removed {
                self.events.warn(
                    Some(region),
                    Phase::Preflight,
                    format!("broke the lock of {} (--force-unlock)", h.describe(now())),
                );
            }
        }
        match lock::acquire(
            &store,
            &voters,
            LockInfo::new(&self.dri(), self.command.name()),
        )
        .await
        {
            Ok(guard) => {
                self.announce(&Announcement::started(
                    self.command.name(),
                    &self.def().stack_name(),
                    &self.dri(),
                    &all,
                ))
                .await;
                for (region, dead) in &guard.taken_over {
                    self.events.warn(
                        Some(region),
                        Phase::Preflight,
                        format!(
                            "took over the deploy lock of a run that died on this host: {}",
                            dead.describe(now())
                        ),
                    );
                }
                for region in &guard.unreachable {
                    self.events.warn(
                        Some(region),
                        Phase::Preflight,
                        "unreachable while taking the deploy lock; a majority of regions holds it",
                    );
                }
                Ok(guard)
            }
            Err(error @ LockError::Held { .. }) => {
                let id = match &error {
                    LockError::Held { holder, .. } => holder.id.clone(),
                    LockError::NoQuorum { .. } => String::new(),
                };
                Err(AppError::Locked {
                    file: self.definition.path.display().to_string(),
                    id,
                    error,
                })
            }
            Err(e) => Err(AppError::Lock(e)),
        }
    }

    /// Release the lock (every exit path of a changing command calls this; each
    /// region's release is retried). Returns the regions where it may remain.
    pub async fn unlock(&self, guard: LockGuard) -> Vec<String> {
        self.releaser(&guard).release().await
    }

    /// What releases `guard` without the pipeline: for a path that leaves while
    /// the work still runs (the second Ctrl-C).
    pub fn releaser(&self, guard: &LockGuard) -> LockRelease {
        LockRelease {
            aws: self.aws.clone(),
            stack: self.def().stack_name(),
            file: self.definition.path.display().to_string(),
            guard: guard.clone(),
            events: self.events.clone(),
        }
    }

    /// Remove lock records a run that ended on this host left (a failed release, a
    /// kill), saying so: for a deploy that takes no lock (nothing to change).
    /// Records of live or remote holders are kept.
    pub async fn clear_dead_locks(&self) {
        let store = CfnLockStore::new(&self.aws, &self.def().stack_name());
        let all: Vec<&str> = self.def().regions.iter().map(|r| r.name.as_str()).collect();
        for (region, dead) in lock::clear_dead(&store, &all).await {
            self.events.warn(
                Some(&region),
                Phase::Preflight,
                format!(
                    "removed the deploy lock a run that ended on this host left: {}",
                    dead.describe(time::OffsetDateTime::now_utc())
                ),
            );
        }
    }

    /// The regions' alert topics (`AlertsTopicArn` outputs), in the definition's
    /// order, never the region a DR command acts on (failover never calls the
    /// failed region); empty without `alarms.notify`. A region whose stack cannot
    /// be read is skipped.
    pub async fn alert_topics(&self) -> Vec<(String, String)> {
        use crate::deploy::cloud::Cloud;
        if self.def().alarms.notify.is_empty() {
            return Vec::new();
        }
        let mut regions: Vec<&str> = self.def().regions.iter().map(|r| r.name.as_str()).collect();
        if let Some(acting) = self.acting_on.as_deref() {
            regions.retain(|r| *r != acting);
        }
        let mut out = Vec::new();
        for region in regions {
            let stack = self.def().region_stack_name(region);
            if let Ok(Some(state)) = self.cloud.stack(region, &stack).await {
                if let Some(arn) = state.outputs.get(synth::output_names::ALERTS_TOPIC_ARN) {
                    out.push((region.to_string(), arn.clone()));
                }
            }
        }
        out
    }

    /// Tell the people of `alarms.notify` (no-op without it; never fails).
    pub async fn announce(&self, what: &Announcement) {
        let topics = self.alert_topics().await;
        notify::announce(&SnsNotifier::new(&self.aws), &topics, what, &self.events).await;
    }

    /// Tell them how the command ended: its exit code and what it said.
    pub async fn announce_result(&self, code: i32, detail: &str) {
        self.announce(&Announcement::finished(
            self.command.name(),
            &self.def().stack_name(),
            &self.dri(),
            code,
            detail,
        ))
        .await;
    }

    /// Run `work` holding the deploy lock; the lock is released whatever `work`
    /// returns, and how it ended is announced.
    pub async fn locked<T, E>(
        &self,
        work: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<T, AppError>
    where
        AppError: From<E>,
    {
        self.locked_with(|_| work).await
    }

    /// `locked`, with what releases the lock handed to `work` first: for a command
    /// whose second Ctrl-C releases the lock and exits while the work still runs.
    pub async fn locked_with<T, E, F, W>(&self, work: W) -> Result<T, AppError>
    where
        AppError: From<E>,
        W: FnOnce(LockRelease) -> F,
        F: std::future::Future<Output = Result<T, E>>,
    {
        let guard = self.lock().await?;
        let result = work(self.releaser(&guard)).await.map_err(AppError::from);
        self.unlock(guard).await;
        match &result {
            Ok(_) => self.announce_result(exit_code::SUCCESS, "").await,
            Err(e) => {
                self.announce(&Announcement::failed(
                    self.command.name(),
                    &self.def().stack_name(),
                    &self.dri(),
                    &e.to_string(),
                ))
                .await
            }
        }
        result
    }
}
