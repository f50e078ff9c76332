//! `strata deploy`: preflight, plan, confirm, roll out with gates, summary.

use super::rollout_ctx::{self, ask, require_yes, Args};
use super::{Failure, Outcome};
use crate::cli::args::{DeployArgs, GlobalArgs, OnFailureArg};
use crate::cli::render::{self, Renderer};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use strata::app::{Command, LockRelease};
use strata::deploy;
use strata::exit_code;
use strata::stack::OnFailure;

/// How long the second Ctrl-C waits for the lock's release before exiting.
const RELEASE_WAIT: Duration = Duration::from_secs(10);

pub async fn run(global: &GlobalArgs, args: DeployArgs) -> Outcome {
    let now = time::OffsetDateTime::now_utc();
    let deployment_id = strata::plan::deployment_id(now);
    let result = run_deploy(global, &args, deployment_id.clone(), now).await;
    // Off a terminal a run that ends with exit 7 still ends with its summary line.
    if let Err(f) = &result {
        if f.code == exit_code::ENVIRONMENT {
            render::show_error_summary(global, &deployment_id, &f.message);
        }
    }
    result
}

async fn run_deploy(
    global: &GlobalArgs,
    args: &DeployArgs,
    deployment_id: String,
    now: time::OffsetDateTime,
) -> Outcome {
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
    // Nothing to change: say so without the lock or any mutating call, unless a
    // property was changed outside CloudFormation: then put it back, under the
    // lock, and say so (docs/drift.md).
    if let Some(mut report) = deploy::nothing_to_change(&ctx.cloud, &ctx.desired, &deployment_id)
        .await
        .map_err(rollout_ctx::environment)?
    {
        let drift = ctx.drift().await;
        if !drift.restorable() {
            // Only what a deploy cannot put back (a deleted resource): said, no lock.
            strata::drift::warn_unrestorable(&drift.drift, &ctx.events);
        } else {
            let restored = ctx
                .pipeline
                .locked(ctx.pipeline.restore_drift())
                .await
                .map_err(rollout_ctx::failure)?;
            if !restored.is_empty() {
                report.outcome = deploy::Outcome::DriftRestored;
            }
            report.drift_restored = restored;
        }
        // Both before the summary, the last line CI reads; independent, so at once.
        futures::future::join(ctx.clear_dead_locks(), show_delegation(&ctx)).await;
        render::show_summary(&ctx.renderer, &report);
        return Ok(report.exit_code());
    }
    // Four eyes: something changes, so the plan needs its approvals (before the lock).
    ctx.check_approvals().await.map_err(rollout_ctx::failure)?;
    let guard = ctx.lock().await.map_err(rollout_ctx::failure)?;
    let id = guard.info.id.clone();
    let release = ctx.releaser(&guard);
    let result = locked(&mut ctx, args, deployment_id, now, release).await;
    let left = ctx.unlock(guard).await;
    if left.is_empty() {
        return ctx.told(result).await;
    }
    let what = format!(
        "the deploy lock could not be released in {}: remove it with `strata unlock {} --id {id}` \
         (until then it stops other deploys of this stack)",
        left.join(", "),
        args.file.display()
    );
    let result = match result {
        Ok(exit_code::SUCCESS) => Err(Failure::new(
            exit_code::ENVIRONMENT,
            format!("the deploy finished (see the summary), but {what}"),
        )),
        Ok(code) => {
            eprintln!("error: {what}");
            Ok(code)
        }
        Err(f) => Err(Failure::new(f.code, format!("{}; and {what}", f.message))),
    };
    ctx.told(result).await
}

/// The deploy proper, under the lock: AMI copies, plan, confirm, roll out.
async fn locked(
    ctx: &mut rollout_ctx::Ctx,
    args: &DeployArgs,
    deployment_id: String,
    now: time::OffsetDateTime,
    release: LockRelease,
) -> Outcome {
    // The copies start now and become available while the stacks are settled and
    // planned; nothing is executed before every copy is available.
    let started = ctx.start_ami_copies().await.map_err(rollout_ctx::failure)?;
    let stop = Arc::new(AtomicBool::new(false));
    watch_ctrl_c(stop.clone(), ctx.renderer.clone(), release);
    let on_failure = args.on_failure.map(|o| match o {
        OnFailureArg::RollbackAll => OnFailure::RollbackAll,
        OnFailureArg::RollbackRegion => OnFailure::RollbackRegion,
    });
    let mut settings = ctx.settings(deployment_id, now, on_failure, stop);
    settings.allow_replace = args.allow_replace.clone();
    let renderer = ctx.renderer.clone();
    let plan_id = ctx.plan_id.clone();
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
            render::show_plan(&renderer, plan, &estimate, &plan_id);
            yes || ask(&renderer, "Deploy this plan?")
        },
    )
    .await
    .map_err(rollout_ctx::environment)?;
    let mut report = report;
    // What was changed outside CloudFormation and this update left alone (it
    // touched no such property) is put back, still under the lock.
    if report.outcome == deploy::Outcome::Deployed {
        match ctx.restore_drift().await {
            Ok(restored) => report.drift_restored = restored,
            Err(e) => ctx.events.warn(
                None,
                strata::events::Phase::Drift,
                format!("drift not restored: {e}; the next deploy tries again"),
            ),
        }
    }
    // A region stack this run created gets the objects the other regions' buckets
    // hold (what existed before it joined), still under the lock.
    report.backfill = strata::dr::backfill::after_deploy(
        &strata::aws::s3_objects::S3Objects::new(&ctx.aws),
        ctx.def(),
        &report,
        &args.file.display().to_string(),
        &ctx.events,
    )
    .await;
    // Used: a deployed plan's approvals cannot approve it again.
    if report.exit_code() == exit_code::SUCCESS {
        ctx.consume_approvals().await;
    }
    // The summary is the last line CI reads: the delegation warning goes first.
    show_delegation(ctx).await;
    render::show_summary(&ctx.renderer, &report);
    Ok(report.exit_code())
}

/// Ctrl-C: the first press asks on a terminal (elsewhere it just stops) and stops
/// the rollout at the next safe point (between regions, nothing half-done); a
/// second press releases the deploy lock (at most `RELEASE_WAIT`) and exits with
/// 130 (the same command finishes the job later).
fn watch_ctrl_c(stop: Arc<AtomicBool>, renderer: Arc<Renderer>, release: LockRelease) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        let second = tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("\ninterrupted: releasing the deploy lock; run the same command again to finish");
                if tokio::time::timeout(RELEASE_WAIT, release.release())
                    .await
                    .is_err()
                {
                    eprintln!("the deploy lock was not released in time: run `strata unlock` for this stack");
                }
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
