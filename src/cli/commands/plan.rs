//! `strata plan`: change sets in every region in parallel, the diff, then the
//! change sets are deleted again. Nothing is changed.

use super::rollout_ctx::{self, Args};
use super::Outcome;
use crate::cli::args::{GlobalArgs, PlanArgs};
use crate::cli::render;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use strata::app::Command;
use strata::deploy;
use strata::exit_code;

pub async fn run(global: &GlobalArgs, args: PlanArgs) -> Outcome {
    let ctx = rollout_ctx::prepare(
        global,
        &args.file,
        Command::Plan,
        Args {
            regions: &args.regions,
            ..Args::default()
        },
    )
    .await?;
    let now = time::OffsetDateTime::now_utc();
    let settings = ctx.settings(
        strata::plan::deployment_id(now),
        now,
        None,
        Arc::new(AtomicBool::new(false)),
    );
    let plan = deploy::plan(&ctx.cloud, &ctx.events, &ctx.desired, &settings)
        .await
        .map_err(rollout_ctx::environment)?;
    let estimate = estimate(ctx.def(), &ctx.desired, &plan, ctx.timing.bake);
    render::show_plan(&ctx.renderer, &plan, &estimate, &ctx.plan_id);
    ctx.renderer.finish();
    Ok(exit_code::SUCCESS)
}

/// The plan's floor on AWS (`strata::plan::timing`) with this deploy's bake; an AMI
/// copy counts when some region has none yet (its template gets the source id).
pub fn estimate(
    def: &strata::stack::StackDef,
    desired: &strata::plan::Desired,
    plan: &strata::plan::Plan,
    bake: std::time::Duration,
) -> strata::plan::timing::Estimate {
    use strata::plan::timing;
    let ami_copies = desired.waves.iter().flatten().any(|s| {
        s.region != def.ami.build_region && s.parameters.values().any(|v| *v == def.ami.id)
    });
    let waits = timing::Waits {
        bake: bake.as_secs_f64(),
        ami_copies,
    };
    timing::estimate(plan, desired, timing::Durations::aws(), waits)
}
