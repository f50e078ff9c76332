//! `strata plan`: change sets in every region in parallel, the diff, then the
//! change sets are deleted again. Nothing is changed.

use super::rollout_ctx::{self, dri};
use super::Outcome;
use crate::cli::args::{GlobalArgs, PlanArgs};
use crate::cli::render;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use strata::deploy::{self, Settings};
use strata::exit_code;

pub async fn run(global: &GlobalArgs, args: PlanArgs) -> Outcome {
    let ctx = rollout_ctx::prepare(global, &args.file, None, &args.regions, false).await?;
    let settings = Settings {
        deployment_id: strata::plan::deployment_id(time::OffsetDateTime::now_utc()),
        deployed_by: dri(None),
        deployed_at: String::new(),
        on_failure: ctx.def.rollout.on_failure,
        timing: ctx.timing,
        stop: Arc::new(AtomicBool::new(false)),
    };
    let plan = deploy::plan(&ctx.cloud, &ctx.events, &ctx.desired, &settings)
        .await
        .map_err(rollout_ctx::environment)?;
    render::show_plan(&ctx.renderer, &plan);
    ctx.renderer.finish();
    Ok(exit_code::SUCCESS)
}
