//! The binary's side of the pipeline (`strata::app`): turn a command's arguments
//! into an `app::Request`, set up rendering, and map `AppError` to exit codes.
//! Composing the pipeline (rules, synth, policy, connect, AMIs, desired state,
//! the lock, the deploy record) is `app::prepare`'s, for every command.

use super::validate::load_definition;
use super::{Failure, Outcome};
use crate::cli::args::{GlobalArgs, OpsArgs, OutputFormat};
use crate::cli::render::{Mode, Renderer};
use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::sync::Arc;
use strata::app::{self, AppError, Command, Operator, Pipeline};
use strata::aws::AwsTarget;
use strata::deploy::DeployError;
use strata::dr::DrError;
use strata::exit_code;
use strata::plan;
use strata::stack::duration::parse_duration;

/// A prepared command and the renderer of its events.
pub struct Ctx {
    pub pipeline: Pipeline,
    pub renderer: Arc<Renderer>,
}

impl Deref for Ctx {
    type Target = Pipeline;
    fn deref(&self) -> &Pipeline {
        &self.pipeline
    }
}

impl DerefMut for Ctx {
    fn deref_mut(&mut self) -> &mut Pipeline {
        &mut self.pipeline
    }
}

/// What a command passes besides the stack file.
#[derive(Default)]
pub struct Args<'a> {
    /// `--bake DURATION`.
    pub bake: Option<&'a str>,
    /// `--region` filters.
    pub regions: &'a [String],
    /// The region a DR command acts on.
    pub acting_on: Option<&'a str>,
    pub ops: Option<&'a OpsArgs>,
    /// `--account ID` (the drill).
    pub account: Option<&'a str>,
    /// Progress on stderr (the command's result is what goes to stdout).
    pub events_on_stderr: bool,
}

/// Load the definition, parse the arguments into a request and prepare it
/// (`app::prepare`).
pub async fn prepare(
    global: &GlobalArgs,
    file: &Path,
    command: Command,
    args: Args<'_>,
) -> Result<Ctx, Failure> {
    let definition = load_definition(global, file)?;
    prepare_loaded(global, definition, command, args).await
}

/// `prepare` for a definition already loaded (a command that needs it to decide
/// its arguments, like the drill's default region).
pub async fn prepare_loaded(
    global: &GlobalArgs,
    definition: app::Definition,
    command: Command,
    args: Args<'_>,
) -> Result<Ctx, Failure> {
    let bake = match args.bake {
        Some(b) => Some(
            parse_duration(b)
                .map_err(|e| Failure::new(exit_code::INVALID_INPUT, format!("--bake: {e}")))?,
        ),
        None => None,
    };
    let operator = args
        .ops
        .map(|o| Operator {
            dri: o.dri.clone(),
            outside_window: o.outside_window.clone(),
            force_unlock: o.force_unlock.clone(),
        })
        .unwrap_or_default();
    let request = app::Request {
        command,
        definition,
        regions: args.regions.to_vec(),
        acting_on: args.acting_on.map(str::to_string),
        bake,
        operator,
        account: args.account.map(str::to_string),
        target: AwsTarget {
            endpoint_url: global.endpoint_url.clone(),
            profile: global.profile.clone(),
        },
    };
    let mode = Mode::detect(global.output == OutputFormat::Json);
    let renderer = if args.events_on_stderr {
        Renderer::events_on_stderr(mode)
    } else {
        Renderer::new(mode)
    };
    let pipeline = app::prepare(request, renderer.events())
        .await
        .map_err(failure)?;
    Ok(Ctx { pipeline, renderer })
}

impl Ctx {
    /// Tell the people of `alarms.notify` how the command ended, then return its
    /// outcome unchanged.
    pub async fn told(&self, result: Outcome) -> Outcome {
        match &result {
            Ok(code) => self.announce_result(*code, "").await,
            Err(f) => self.announce_result(f.code, &f.message).await,
        }
        result
    }
}

/// An application error as the command's failure: the documented exit code.
pub fn failure(e: AppError) -> Failure {
    let code = match &e {
        AppError::UnknownRegion { .. }
        | AppError::MissingAzs { .. }
        | AppError::WrongAccount(_)
        | AppError::PromoteFrom(_)
        | AppError::Zone(_) => exit_code::INVALID_INPUT,
        AppError::Refused(_)
        | AppError::NotAllowed(_)
        | AppError::NotPromoted(_)
        | AppError::NotApproved(_) => exit_code::REFUSED,
        AppError::Policy { report, .. } => report.exit_code(),
        AppError::Locked { .. } => exit_code::LOCKED,
        AppError::Lock(_) | AppError::Ami(_) | AppError::Environment(_) => exit_code::ENVIRONMENT,
        AppError::Deploy(d) => deploy_code(d),
        AppError::Dr(d) => dr_code(d),
    };
    Failure::new(code, e.to_string())
}

fn deploy_code(e: &DeployError) -> i32 {
    match e {
        DeployError::Stuck { .. } => exit_code::ROLLBACK_FAILED,
        DeployError::Interrupted => exit_code::INTERRUPTED,
        DeployError::CannotRemove { .. }
        | DeployError::HomeMove(_)
        | DeployError::UnsafeReplacement { .. } => exit_code::INVALID_INPUT,
        _ => exit_code::ENVIRONMENT,
    }
}

fn dr_code(e: &DrError) -> i32 {
    match e {
        DrError::UnknownRegion { .. } | DrError::NoSurvivor { .. } => exit_code::INVALID_INPUT,
        DrError::Interrupted => exit_code::INTERRUPTED,
        _ => exit_code::ENVIRONMENT,
    }
}

/// A deploy error before or outside the rollout, as the command's failure.
pub fn environment(e: DeployError) -> Failure {
    failure(AppError::Deploy(e))
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
