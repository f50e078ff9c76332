//! What plan, deploy, rollback and destroy share: load the definition, apply the
//! operations rules (responsible person, deploy windows), synthesize both phases,
//! connect, resolve AMIs, build the desired state, set up rendering; and, for the
//! commands that change stacks, the deploy lock and the AMI copies (started before
//! the plan, waited for alongside it).

use super::{validate::load_stack, Failure};
use crate::cli::args::{GlobalArgs, OpsArgs};
use crate::cli::render::{Mode, Renderer};
use std::path::Path;
use std::sync::Arc;
use strata::ami::{StartedCopies, WaitPolicy};
use strata::aws::lock_stack::CfnLockStore;
use strata::aws::{Aws, AwsTarget, CloudApi};
use strata::deploy::{preflight, DeployError, Timing};
use strata::events::Events;
use strata::exit_code;
use strata::ops::dri::{self, Dri, DriSource};
use strata::ops::lock::{self, LockError, LockGuard, LockInfo};
use strata::ops::rules::{self, Accountability};
use strata::plan::{self, Desired};
use strata::stack::{duration::parse_duration, StackDef};
use strata::synth::{self, Phase, Synthesized};

pub struct Ctx {
    pub def: StackDef,
    pub desired: Desired,
    pub cloud: CloudApi,
    pub aws: Aws,
    /// Who answers for a changing command, and any outside-window reason.
    pub accountable: Option<Accountability>,
    build: Synthesized,
    wired: Synthesized,
    text: String,
    regions: Vec<String>,
    pub renderer: Arc<Renderer>,
    pub events: Events,
    pub timing: Timing,
}

/// What a command is about to do, for the operations rules and the lock.
pub enum Intent<'a> {
    /// Read only (plan): no rules, no lock.
    Read,
    /// Changes stacks: a responsible person always, the deploy windows when
    /// `windows` (deploy, destroy; not the repair command rollback).
    Change { ops: &'a OpsArgs, windows: bool },
}

/// Everything before the first AWS call that changes anything.
pub async fn prepare(
    global: &GlobalArgs,
    file: &Path,
    bake: Option<&str>,
    regions: &[String],
    check_policy: bool,
    intent: Intent<'_>,
) -> Result<Ctx, Failure> {
    let def = load_stack(global, file)?;
    let mut accountable = match intent {
        Intent::Read => None,
        Intent::Change { ops, windows } => {
            let person =
                dri::resolve_local(ops.dri.as_deref(), |k| std::env::var(k).ok(), dri::git_user);
            let checked = rules::check(
                &def,
                person,
                ops.outside_window.as_deref(),
                windows,
                time::OffsetDateTime::now_utc(),
            )
            .map_err(|e| Failure::new(exit_code::REFUSED, e.to_string()))?;
            Some(checked)
        }
    };
    let text = std::fs::read_to_string(file)
        .map_err(|e| Failure::new(exit_code::INVALID_INPUT, format!("{}: {e}", file.display())))?;
    for r in regions {
        if def.region(r).is_none() {
            return Err(Failure::new(
                exit_code::INVALID_INPUT,
                format!("{}: no region {r} in the definition", file.display()),
            ));
        }
    }
    let mut timing = Timing::default();
    let invalid = |e: String| Failure::new(exit_code::INVALID_INPUT, e);
    timing.gate_timeout = def
        .rollout
        .gate_timeout_duration()
        .map_err(|e| invalid(e.to_string()))?;
    timing.bake = match bake {
        Some(b) => parse_duration(b).map_err(|e| invalid(format!("--bake: {e}")))?,
        None => def
            .rollout
            .bake_duration()
            .map_err(|e| invalid(e.to_string()))?,
    };
    let build = synth::synthesize(&def, Phase::Build);
    let wired = synth::synthesize(&def, Phase::Wired);
    if check_policy {
        // A mandatory policy violation stops a deploy before any AWS call.
        let report = strata::policy::check(&def, &wired);
        if !report.passed() {
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
                    super::validate::n_plus_one_diagnostics(&def, file)
                        .iter()
                        .map(|d| format!("  {d}")),
                )
                .collect();
            return Err(Failure::new(
                report.exit_code(),
                format!(
                    "{}: mandatory policy violations, nothing was changed (see `strata check`):\n{}",
                    file.display(),
                    list.join("\n")
                ),
            ));
        }
    }
    let aws = Aws::connect(AwsTarget {
        endpoint_url: global.endpoint_url.clone(),
        profile: global.profile.clone(),
    })
    .await;
    if accountable.is_some() {
        super::check_account(&aws, &def).await?;
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
    let renderer = Renderer::new(Mode::detect(
        global.output == crate::cli::args::OutputFormat::Json,
    ));
    let events = renderer.events();
    let amis = preflight::resolve_amis(&cloud, &events, &def)
        .await
        .map_err(environment)?;
    let desired = plan::desired(&def, &build, &wired, &amis, &text).only_regions(regions);
    Ok(Ctx {
        def,
        desired,
        cloud,
        aws,
        accountable,
        build,
        wired,
        text,
        regions: regions.to_vec(),
        renderer,
        events,
        timing,
    })
}

impl Ctx {
    /// The responsible person's name, for the deploy record and the lock.
    pub fn dri(&self) -> String {
        self.accountable
            .as_ref()
            .map(|a| a.dri.name.clone())
            .unwrap_or_else(|| "unknown".into())
    }

    /// Start copying the source AMI into every region (all at once, idempotent;
    /// an existing copy is reused) and point every region's template at its copy.
    /// The copies are not waited for: see `copies_available`.
    pub async fn start_ami_copies(&mut self) -> Result<StartedCopies, Failure> {
        let source = strata::ami::AmiSource::from_def(&self.def);
        let started = strata::ami::start_copies(&self.aws, &self.def, &source, &self.events)
            .await
            .map_err(|e| {
                Failure::new(
                    exit_code::ENVIRONMENT,
                    format!("AMI copies could not be started, nothing was deployed: {e}"),
                )
            })?;
        self.desired = plan::desired(
            &self.def,
            &self.build,
            &self.wired,
            &started.amis,
            &self.text,
        )
        .only_regions(&self.regions);
        Ok(started)
    }

    /// Wait until every started copy is available; the error names the regions
    /// whose copy failed or did not become available in time.
    pub async fn copies_available(&self, started: &StartedCopies) -> Result<(), String> {
        strata::ami::await_copies(
            &self.aws,
            started,
            &self.events,
            &WaitPolicy::copy_default(),
        )
        .await
        .map(|_| ())
        .map_err(|e| format!("AMI copies are not ready: {e}"))
    }

    /// Take the stack's deploy lock (a majority of its regions, `exclude` not
    /// voting), breaking the lock `--force-unlock ID` names first. Refused: exit 5
    /// naming the holder and the command that breaks a dead holder's lock.
    pub async fn lock(
        &self,
        file: &Path,
        command: &str,
        ops: &OpsArgs,
        exclude: Option<&str>,
    ) -> Result<LockGuard, Failure> {
        let store = CfnLockStore::new(&self.aws, &self.def.stack_name());
        let all: Vec<String> = self.def.regions.iter().map(|r| r.name.clone()).collect();
        let voters = lock::voters(&all, exclude);
        if let Some(id) = &ops.force_unlock {
            let out = lock::unlock(&store, &voters, Some(id)).await;
            for (region, h) in &out.removed {
                self.events.warn(
                    Some(region),
                    strata::events::Phase::Preflight,
                    format!(
                        "broke the lock of {} (--force-unlock)",
                        h.describe(time::OffsetDateTime::now_utc())
                    ),
                );
            }
        }
        match lock::acquire(&store, &voters, LockInfo::new(&self.dri(), command)).await {
            Ok(guard) => {
                for (region, dead) in &guard.taken_over {
                    self.events.warn(
                        Some(region),
                        strata::events::Phase::Preflight,
                        format!(
                            "took over the deploy lock of a run that died on this host: {}",
                            dead.describe(time::OffsetDateTime::now_utc())
                        ),
                    );
                }
                for region in &guard.unreachable {
                    self.events.warn(
                        Some(region),
                        strata::events::Phase::Preflight,
                        "unreachable while taking the deploy lock; a majority of regions holds it",
                    );
                }
                Ok(guard)
            }
            Err(e @ LockError::Held { .. }) => {
                let id = match &e {
                    LockError::Held { holder, .. } => holder.id.clone(),
                    LockError::NoQuorum { .. } => String::new(),
                };
                Err(Failure::new(
                    exit_code::LOCKED,
                    format!(
                        "{e}. If that run is dead, break its lock with `strata unlock {} --id {id}`",
                        file.display()
                    ),
                ))
            }
            Err(e) => Err(Failure::new(exit_code::ENVIRONMENT, e.to_string())),
        }
    }

    /// Release the lock (every exit path of a changing command calls this).
    pub async fn unlock(&self, guard: LockGuard) {
        let store = CfnLockStore::new(&self.aws, &self.def.stack_name());
        for e in lock::release(&store, &guard).await {
            self.events.warn(
                Some(&e.region),
                strata::events::Phase::Done,
                format!(
                    "could not release the deploy lock ({}); run `strata unlock` for this stack",
                    e.message
                ),
            );
        }
    }
}

/// A deploy error before or outside the rollout, as the command's failure.
pub fn environment(e: DeployError) -> Failure {
    let code = match e {
        DeployError::Stuck { .. } => exit_code::ROLLBACK_FAILED,
        DeployError::Interrupted => exit_code::INTERRUPTED,
        DeployError::CannotRemove { .. }
        | DeployError::HomeMove(_)
        | DeployError::UnsafeReplacement { .. } => exit_code::INVALID_INPUT,
        _ => exit_code::ENVIRONMENT,
    };
    Failure::new(code, e.to_string())
}

/// Refuse before any AWS call when a confirmation is needed and nobody can give it.
pub fn require_yes(yes: bool, what: &str) -> Result<(), Failure> {
    if yes || crate::cli::render::can_prompt() {
        return Ok(());
    }
    Err(Failure::new(
        exit_code::INVALID_INPUT,
        format!("`strata {what}` needs confirmation and this is not a terminal: pass --yes to go ahead without a prompt"),
    ))
}

/// Ask a yes/no question on the terminal.
pub fn ask(renderer: &Renderer, question: &str) -> bool {
    renderer.finish();
    eprint!("{question} [y/N] ");
    let mut answer = String::new();
    if std::io::stdin().read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim(), "y" | "Y" | "yes")
}

/// The responsible person's name for commands outside `prepare` (DR): `--dri` /
/// `STRATA_DRI`, the CI user, git's user, else "unknown".
pub fn dri_name(flag: Option<&str>) -> String {
    dri::resolve_local(flag, |k| std::env::var(k).ok(), dri::git_user)
        .map(|d| d.name)
        .unwrap_or_else(|| "unknown".into())
}

impl Ctx {
    /// Every stack in reverse rollout order (global, `left_behind`, regions
    /// reversed, zone), once the user agreed to `verb` them (or `--yes`); None when
    /// declined.
    pub fn confirmed_in_reverse(
        &self,
        yes: bool,
        verb: &str,
        left_behind: &[plan::DesiredStack],
    ) -> Option<Vec<plan::DesiredStack>> {
        let mut stacks: Vec<_> = self.desired.stacks().cloned().collect();
        stacks.reverse();
        let at = stacks
            .iter()
            .take_while(|s| s.role == plan::StackRole::Global)
            .count();
        stacks.splice(at..at, left_behind.iter().cloned());
        if !yes {
            let names: Vec<_> = stacks.iter().map(|s| s.stack_name.as_str()).collect();
            if !ask(&self.renderer, &format!("{verb} {}?", names.join(", "))) {
                return None;
            }
        }
        Some(stacks)
    }
}
