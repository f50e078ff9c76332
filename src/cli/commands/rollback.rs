//! `strata rollback`: execute the kept `strata-previous` change set of each region,
//! in reverse rollout order.

use super::rollout_ctx::{self, require_yes, Args};
use super::Outcome;
use crate::cli::args::{GlobalArgs, RollbackArgs};
use crate::cli::render;
use strata::app::Command;
use strata::deploy;
use strata::exit_code;

pub async fn run(global: &GlobalArgs, args: RollbackArgs) -> Outcome {
    require_yes(args.yes, "rollback")?;
    let ctx = rollout_ctx::prepare(
        global,
        &args.file,
        Command::Rollback,
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

async fn locked(ctx: &rollout_ctx::Ctx, args: &RollbackArgs) -> Outcome {
    let Some(stacks) = ctx.confirmed_in_reverse(args.yes, "Roll back", &[]) else {
        return Ok(exit_code::SUCCESS);
    };
    let report = deploy::rollback(&ctx.cloud, &ctx.events, &stacks, &ctx.timing)
        .await
        .map_err(rollout_ctx::environment)?;
    render::show_summary(&ctx.renderer, &report);
    Ok(match report.outcome {
        deploy::Outcome::RollbackFailed => exit_code::ROLLBACK_FAILED,
        _ => exit_code::SUCCESS,
    })
}
