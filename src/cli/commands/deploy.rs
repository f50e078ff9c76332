//! `strata deploy`: preflight, plan, confirm, roll out with gates, summary.

use super::rollout_ctx::{self, ask, require_yes, Args};
use super::Outcome;
use crate::cli::args::{DeployArgs, GlobalArgs, OnFailureArg};
use crate::cli::render::{self, Renderer};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use strata::app::Command;
use strata::deploy;
use strata::exit_code;
use strata::stack::OnFailure;

pub async fn run(global: &GlobalArgs, args: DeployArgs) -> Outcome {
    require_yes(args.yes, "deploy")?;
    let mut ctx = rollout_ctx::prepare(
        global,
        &args.file,
        Command::Deploy,
        Args {
            bake: args.bake.as_deref(),
            ops: Some(&args.ops),
            ..Args::default()
        },
    )
    .await?;
    let now = time::OffsetDateTime::now_utc();
    let deployment_id = strata::plan::deployment_id(now);
    // Nothing to change: say so without the lock or any mutating call.
    if let Some(report) = deploy::nothing_to_change(&ctx.cloud, &ctx.desired, &deployment_id)
        .await
        .map_err(rollout_ctx::environment)?
    {
        render::show_summary(&ctx.renderer, &report);
        show_delegation(&ctx).await;
        return Ok(report.exit_code());
    }
    let guard = ctx.lock().await.map_err(rollout_ctx::failure)?;
    let result = locked(&mut ctx, &args, deployment_id, now).await;
    ctx.unlock(guard).await;
    ctx.told(result).await
}

/// The deploy proper, under the lock: AMI copies, plan, confirm, roll out.
async fn locked(
    ctx: &mut rollout_ctx::Ctx,
    args: &DeployArgs,
    deployment_id: String,
    now: time::OffsetDateTime,
) -> Outcome {
    // The copies start now and become available while the stacks are settled and
    // planned; nothing is executed before every copy is available.
    let started = ctx.start_ami_copies().await.map_err(rollout_ctx::failure)?;
    let stop = Arc::new(AtomicBool::new(false));
    watch_ctrl_c(stop.clone(), ctx.renderer.clone());
    let on_failure = args.on_failure.map(|o| match o {
        OnFailureArg::RollbackAll => OnFailure::RollbackAll,
        OnFailureArg::RollbackRegion => OnFailure::RollbackRegion,
    });
    let settings = ctx.settings(deployment_id, now, on_failure, stop);
    let renderer = ctx.renderer.clone();
    let yes = args.yes;
    let ready = ctx.copies_available(&started);
    let report = deploy::deploy_when_ready(
        &ctx.cloud,
        &ctx.events,
        &ctx.desired,
        &settings,
        ready,
        |plan| {
            let estimate = super::plan::estimate(ctx.def(), &ctx.desired, plan, ctx.timing.bake);
            render::show_plan(&renderer, plan, &estimate);
            yes || ask(&renderer, "Deploy this plan?")
        },
    )
    .await
    .map_err(rollout_ctx::environment)?;
    render::show_summary(&ctx.renderer, &report);
    show_delegation(&ctx).await;
    Ok(report.exit_code())
}

/// Ctrl-C: the first press asks on a terminal (elsewhere it just stops) and stops
/// the rollout at the next safe point (between regions, nothing half-done); a
/// second press exits at once with 130 (the same command finishes the job later).
fn watch_ctrl_c(stop: Arc<AtomicBool>, renderer: Arc<Renderer>) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        let second = tokio::spawn(async {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("\ninterrupted: run the same command again to finish");
                std::process::exit(exit_code::INTERRUPTED);
            }
        });
        let stop_now = if render::can_prompt() {
            tokio::task::spawn_blocking(move || {
                ask(
                    &renderer,
                    "\nStop the rollout after the current step? (Ctrl-C again: stop now)",
                )
            })
            .await
            .unwrap_or(true)
        } else {
            true
        };
        if stop_now {
            stop.store(true, Ordering::SeqCst);
        }
        // The second-press watcher keeps running: dropping its handle detaches it.
        drop(second);
    });
}

/// Until the managed zone is delegated, every deploy ends by saying where to
/// delegate it (strata::status::delegation).
async fn show_delegation(ctx: &rollout_ctx::Ctx) {
    if let Some(d) = strata::status::delegation(&ctx.aws, &ctx.definition.def).await {
        if let Some(note) = strata::status::delegation_note(&d) {
            ctx.events.warn(None, strata::events::Phase::Done, note);
        }
    }
}
