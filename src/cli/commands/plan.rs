//! `strata plan`: change sets in every region in parallel, the diff, then the
//! change sets are deleted again. Nothing is changed.

use super::rollout_ctx::{self, Intent};
use super::Outcome;
use crate::cli::args::{GlobalArgs, PlanArgs};
use crate::cli::render;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use strata::deploy::{self, Settings};
use strata::exit_code;

pub async fn run(global: &GlobalArgs, args: PlanArgs) -> Outcome {
    let ctx =
        rollout_ctx::prepare(global, &args.file, None, &args.regions, true, Intent::Read).await?;
    let settings = Settings {
        deployment_id: strata::plan::deployment_id(time::OffsetDateTime::now_utc()),
        // The change sets plan creates are deleted again; their tags record nothing.
        deployed_by: String::new(),
        deployed_at: String::new(),
        outside_window: None,
        on_failure: ctx.def.rollout.on_failure,
        timing: ctx.timing,
        stop: Arc::new(AtomicBool::new(false)),
        allow_replace: vec![],
    };
    let plan = deploy::plan(&ctx.cloud, &ctx.events, &ctx.desired, &settings)
        .await
        .map_err(rollout_ctx::environment)?;
    render::show_plan(&ctx.renderer, &plan);
    ctx.renderer.finish();
    Ok(exit_code::SUCCESS)
}
