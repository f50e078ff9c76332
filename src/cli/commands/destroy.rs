//! `strata destroy`: delete the global stack, any region stack left in a region the
//! definition no longer names, the regions in reverse rollout order, then the zone.

use super::rollout_ctx::{self, require_yes, Args};
use super::Outcome;
use crate::cli::args::{DestroyArgs, GlobalArgs};
use crate::cli::render;
use strata::app::Command;
use strata::deploy;
use strata::exit_code;

pub async fn run(global: &GlobalArgs, args: DestroyArgs) -> Outcome {
    require_yes(args.yes, "destroy")?;
    let ctx = rollout_ctx::prepare(
        global,
        &args.file,
        Command::Destroy,
        Args {
            regions: &args.regions,
            ops: Some(&args.ops),
            ..Args::default()
        },
    )
    .await?;
    let guard = ctx.lock().await.map_err(rollout_ctx::failure)?;
    let result = locked(&ctx, &args).await;
    ctx.unlock(guard).await;
    ctx.told(result).await
}

async fn locked(ctx: &rollout_ctx::Ctx, args: &DestroyArgs) -> Outcome {
    // A region that left the definition but whose stack is still there goes too.
    let left = deploy::left_behind(&ctx.cloud, &ctx.events, &ctx.desired.absent).await;
    let Some(stacks) = ctx.confirmed_in_reverse(args.yes, "Delete", &left) else {
        return Ok(exit_code::SUCCESS);
    };
    let report = deploy::destroy(&ctx.cloud, &ctx.events, &stacks, &ctx.timing)
        .await
        .map_err(rollout_ctx::environment)?;
    render::show_summary(&ctx.renderer, &report);
    Ok(exit_code::SUCCESS)
}
