//! `strata rollback`: execute the kept `strata-previous` change set of each region,
//! in reverse rollout order.

use super::rollout_ctx::{self, ask, require_yes};
use super::Outcome;
use crate::cli::args::{GlobalArgs, RollbackArgs};
use crate::cli::render;
use strata::deploy;
use strata::exit_code;

pub async fn run(global: &GlobalArgs, args: RollbackArgs) -> Outcome {
    require_yes(args.yes, "rollback")?;
    let ctx = rollout_ctx::prepare(global, &args.file, None, &args.regions, false).await?;
    let stacks: Vec<_> = ctx
        .desired
        .stacks()
        .cloned()
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    if !args.yes {
        let names: Vec<_> = stacks.iter().map(|s| s.stack_name.as_str()).collect();
        if !ask(&ctx.renderer, &format!("Roll back {}?", names.join(", "))) {
            return Ok(exit_code::SUCCESS);
        }
    }
    let report = deploy::rollback(&ctx.cloud, &ctx.events, &stacks, &ctx.timing)
        .await
        .map_err(rollout_ctx::environment)?;
    render::show_summary(&ctx.renderer, &report);
    Ok(match report.outcome {
        deploy::Outcome::RollbackFailed => exit_code::ROLLBACK_FAILED,
        _ => exit_code::SUCCESS,
    })
}
