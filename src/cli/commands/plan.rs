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
    render::show_plan(&ctx.renderer, &plan);
    ctx.renderer.finish();
    Ok(exit_code::SUCCESS)
}
