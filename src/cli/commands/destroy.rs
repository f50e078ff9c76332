//! `strata destroy`: delete the global stack, the regions in reverse rollout order,
//! then the zone.

use super::rollout_ctx::{self, ask, require_yes};
use super::Outcome;
use crate::cli::args::{DestroyArgs, GlobalArgs};
use crate::cli::render;
use strata::deploy;
use strata::exit_code;

pub async fn run(global: &GlobalArgs, args: DestroyArgs) -> Outcome {
    require_yes(args.yes, "destroy")?;
    let ctx = rollout_ctx::prepare(global, &args.file, None, &args.regions, false).await?;
    // stacks() is zone, waves, global: reversed it is global, regions reversed, zone.
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
        if !ask(&ctx.renderer, &format!("Delete {}?", names.join(", "))) {
            return Ok(exit_code::SUCCESS);
        }
    }
    let report = deploy::destroy(&ctx.cloud, &ctx.events, &stacks, &ctx.timing)
        .await
        .map_err(rollout_ctx::environment)?;
    render::show_summary(&ctx.renderer, &report);
    Ok(exit_code::SUCCESS)
}
