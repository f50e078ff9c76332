//! `strata destroy`: delete the global stack, any region stack left in a region the
//! definition no longer names, the regions in reverse rollout order, then the zone;
//! buckets and tables are kept unless named with `--delete-data`.

use super::rollout_ctx::{self, require_yes, Args};
use super::{Failure, Outcome};
use crate::cli::args::{DestroyArgs, GlobalArgs};
use crate::cli::render;
use std::collections::BTreeSet;
use strata::app::Command;
use strata::deploy::{self, DestroyRequest};
use strata::exit_code;
use strata::plan::{self, DataKind, DataResource, StackRole};

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
    let mut regions: Vec<String> = ctx
        .desired
        .stacks()
        .chain(left.iter())
        .filter(|s| s.role == StackRole::Region)
        .map(|s| s.region.clone())
        .collect();
    regions.sort();
    regions.dedup();
    // Bucket names carry the account (synth::naming): the caller's, through STS.
    let account = ctx.aws.caller_account().await.map_err(|e| {
        Failure::new(
            exit_code::ENVIRONMENT,
            format!("the caller's account could not be read, so nothing was deleted: {e}"),
        )
    })?;
    let data = plan::data_resources(ctx.def(), &account, &regions, args.regions.is_empty());
    let delete_data = named_data(&data, &args.delete_data)?;
    let verb = if delete_data.is_empty() {
        "Delete".to_string()
    } else {
        let names: Vec<&str> = delete_data.iter().map(String::as_str).collect();
        format!(
            "Empty and delete {} (every object version and row), and delete",
            names.join(", ")
        )
    };
    let Some(stacks) = ctx.confirmed_in_reverse(args.yes, &verb, &left) else {
        return Ok(exit_code::SUCCESS);
    };
    let mut command = format!("strata destroy {}", args.file.display());
    for r in &args.regions {
        command.push_str(&format!(" --region {r}"));
    }
    let request = DestroyRequest {
        stacks,
        data,
        delete_data,
        regions,
        stack_tag: ctx.def().stack_name(),
        command,
    };
    let deployment_id = plan::deployment_id(time::OffsetDateTime::now_utc());
    let report = deploy::destroy(
        &ctx.cloud,
        &ctx.cloud,
        &ctx.events,
        &request,
        &ctx.timing,
        &deployment_id,
    )
    .await
    .map_err(rollout_ctx::environment)?;
    render::show_destroy_summary(&ctx.renderer, &report);
    Ok(report.outcome.exit_code())
}

/// The names given to `--delete-data`, each one a bucket or table of what is
/// destroyed (checked before anything changes: a typo deletes nothing).
fn named_data(data: &[DataResource], names: &[String]) -> Result<BTreeSet<String>, Failure> {
    let known: BTreeSet<&str> = data
        .iter()
        .filter(|d| d.kind != DataKind::GlobalTable)
        .map(|d| d.name.as_str())
        .collect();
    for name in names {
        if data
            .iter()
            .any(|d| d.kind == DataKind::GlobalTable && d.name == *name)
        {
            return Err(Failure::new(
                exit_code::INVALID_INPUT,
                format!(
                    "--delete-data {name}: a global table, which strata does not delete \
                     (docs/deploy.md, \"strata destroy\"); nothing was changed"
                ),
            ));
        }
        if !known.contains(name.as_str()) {
            let list: Vec<&str> = known.iter().copied().collect();
            return Err(Failure::new(
                exit_code::INVALID_INPUT,
                format!(
                    "--delete-data {name}: not a bucket or table of what this destroy covers \
                     (its buckets and tables: {}); nothing was changed",
                    if list.is_empty() {
                        "none".to_string()
                    } else {
                        list.join(", ")
                    }
                ),
            ));
        }
    }
    Ok(names.iter().cloned().collect())
}
