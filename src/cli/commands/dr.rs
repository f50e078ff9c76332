//! `strata dr`: failover, rebuild, drill, and the DNS answers view.

use super::rollout_ctx::{self, failure, Args, Ctx};
use super::validate::{load_definition, load_stack};
use super::{connect, Failure, Outcome};
use crate::cli::args::{DrCommand, GlobalArgs, OpsArgs, OutputFormat};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use strata::app::{AppError, Command};
use strata::deploy::Settings;
use strata::dr;
use strata::exit_code;

pub async fn run(global: &GlobalArgs, args: DrCommand) -> Outcome {
    match args {
        DrCommand::Failover { file, region, ops } => failover(global, &file, &region, &ops).await,
        DrCommand::Dns { file } => dns(global, &file).await,
        DrCommand::Rebuild {
            file,
            region,
            from,
            bake,
            ops,
        } => {
            rebuild(
                global,
                &file,
                &region,
                from.as_deref(),
                bake.as_deref(),
                &ops,
            )
            .await
        }
        DrCommand::Drill {
            file,
            region,
            account,
            bake,
            ops,
        } => {
            drill(
                global,
                &file,
                region.as_deref(),
                account.as_deref(),
                bake.as_deref(),
                &ops,
            )
            .await
        }
    }
}

fn json(global: &GlobalArgs) -> bool {
    global.output == OutputFormat::Json
}

fn print_json<T: serde::Serialize>(value: &T) {
    println!("{}", serde_json::to_string(value).unwrap_or_default());
}

async fn failover(global: &GlobalArgs, file: &Path, region: &str, ops: &OpsArgs) -> Outcome {
    let ctx = prepare(global, file, Command::DrFailover, region, None, ops).await?;
    let report = ctx
        .locked(dr::failover::failover(
            &ctx.aws,
            ctx.def(),
            region,
            &ctx.events,
        ))
        .await
        .map_err(failure)?;
    let renderer = &ctx.renderer;
    renderer.finish();
    if json(global) {
        print_json(&report);
        return Ok(exit_code::SUCCESS);
    }
    let file_arg = file.display().to_string();
    println!("{region} is out of service (stack {}):", report.stack);
    for c in &report.serving_checks {
        println!(
            "  DNS      serving check {} ({}): threshold {} -> {}{}",
            c.id,
            c.names.join(", "),
            c.threshold_before
                .map(|t| t.to_string())
                .unwrap_or_else(|| "unset".into()),
            c.threshold_after,
            if c.changed { "" } else { " (already out)" }
        );
    }
    println!(
        "  capacity each surviving region runs at least {} instances to carry peak:",
        report.per_survivor
    );
    for s in &report.scaled {
        println!(
            "  {:<14} {}: min/desired/max {}/{}/{} -> {}/{}/{}{}",
            s.region,
            s.asg,
            s.before.min,
            s.before.desired,
            s.before.max,
            s.after.min,
            s.after.desired,
            s.after.max,
            if s.changed { "" } else { " (unchanged)" }
        );
    }
    println!("Undo:");
    for u in &report.undo {
        println!("  {}", u.replace("FILE", &file_arg));
    }
    Ok(exit_code::SUCCESS)
}

async fn dns(global: &GlobalArgs, file: &Path) -> Outcome {
    let def = load_stack(global, file)?;
    let aws = connect(global).await;
    let answers = dr::dns::answers(&aws, &def)
        .await
        .map_err(|e| failure(AppError::Dr(e)))?;
    if json(global) {
        print_json(&answers);
        return Ok(exit_code::SUCCESS);
    }
    for n in &answers.names {
        println!(
            "{} answers: {}{}",
            n.name,
            if n.answers.is_empty() {
                "nothing".to_string()
            } else {
                n.answers.join(", ")
            },
            if n.all_unhealthy {
                " (every record unhealthy)"
            } else {
                ""
            }
        );
        for r in &n.records {
            println!(
                "  {:<14} {:<19} {:<9} {}",
                r.region,
                r.routing,
                if r.healthy { "healthy" } else { "UNHEALTHY" },
                r.reason
            );
        }
    }
    Ok(exit_code::SUCCESS)
}

/// Prepare a DR command acting on `region` (`app::prepare`: the operations
/// rules, the policy gate where the command deploys, `region` without a vote in
/// the lock).
async fn prepare(
    global: &GlobalArgs,
    file: &Path,
    command: Command,
    region: &str,
    bake: Option<&str>,
    ops: &OpsArgs,
) -> Result<Ctx, Failure> {
    rollout_ctx::prepare(
        global,
        file,
        command,
        Args {
            bake,
            acting_on: Some(region),
            ops: Some(ops),
            ..Args::default()
        },
    )
    .await
}

/// Deploy settings for the deploys a rebuild or drill runs: the deploy record
/// names the responsible person, as a deploy's does.
fn settings(ctx: &Ctx) -> Settings {
    let now = time::OffsetDateTime::now_utc();
    ctx.settings(
        strata::plan::deployment_id(now),
        now,
        None,
        Arc::new(AtomicBool::new(false)),
    )
}

async fn rebuild(
    global: &GlobalArgs,
    file: &Path,
    region: &str,
    from: Option<&str>,
    bake: Option<&str>,
    ops: &OpsArgs,
) -> Outcome {
    let ctx = prepare(global, file, Command::DrRebuild, region, bake, ops).await?;
    let settings = settings(&ctx);
    let input = dr::rebuild::RebuildInput {
        pipeline: &ctx,
        region,
        from,
        settings: &settings,
    };
    let report = ctx
        .locked(dr::rebuild::rebuild(
            &ctx.aws,
            &ctx.cloud,
            &input,
            &ctx.events,
        ))
        .await
        .map_err(failure)?;
    let renderer = &ctx.renderer;
    renderer.finish();
    if json(global) {
        print_json(&report);
        return Ok(exit_code::SUCCESS);
    }
    println!("{region} is rebuilt and back in service:");
    println!(
        "  AMI      {} (copied from {} in {})",
        report.ami, report.source_ami, report.source_region
    );
    if let Some(why) = &report.deleted_stack {
        println!("  deleted  the wrecked stack first: {why}");
    }
    if !report.kept_data.is_empty() {
        println!(
            "  data     kept by the old stack and taken back by the new one: {}",
            report.kept_data.join(", ")
        );
    }
    println!(
        "  deploy   region: {:?}; wiring of every region: {:?}",
        report.region_deploy, report.wiring_deploy
    );
    for (id, changed) in &report.restore.serving_checks {
        println!(
            "  DNS      serving check {id} {}",
            if *changed {
                "back in service"
            } else {
                "was in service"
            }
        );
    }
    for s in &report.restore.scaled {
        println!(
            "  {:<14} {}: min/desired/max {}/{}/{} -> {}/{}/{} (the definition)",
            s.region,
            s.asg,
            s.before.min,
            s.before.desired,
            s.before.max,
            s.after.min,
            s.after.desired,
            s.after.max
        );
    }
    Ok(exit_code::SUCCESS)
}

async fn drill(
    global: &GlobalArgs,
    file: &Path,
    region: Option<&str>,
    account: Option<&str>,
    bake: Option<&str>,
    ops: &OpsArgs,
) -> Outcome {
    let definition = load_definition(global, file)?;
    let region = match region {
        Some(r) => r.to_string(),
        None => dr::drill::default_region(&definition.def).map_err(|e| failure(e.into()))?,
    };
    let ctx = rollout_ctx::prepare_loaded(
        global,
        definition,
        Command::DrDrill,
        Args {
            bake,
            acting_on: Some(&region),
            ops: Some(ops),
            account,
            ..Args::default()
        },
    )
    .await?;
    let settings = settings(&ctx);
    let report = ctx
        .locked(dr::drill::drill(&ctx, &region, &settings))
        .await
        .map_err(failure)?;
    let renderer = &ctx.renderer;
    renderer.finish();
    if json(global) {
        print_json(&report);
        return Ok(exit_code::SUCCESS);
    }
    println!(
        "Drill passed: {} lost {region} and recovered.",
        report.stack
    );
    for p in &report.phases {
        println!("  {:<9} {:>7.1}s  {}", p.name, p.seconds, p.detail);
    }
    println!(
        "  time to failover (break -> out of DNS, survivors scaled): {:.1}s",
        report.time_to_failover_seconds
    );
    println!(
        "  recovery time (break -> rebuilt and back in DNS):        {:.1}s",
        report.rto_seconds
    );
    Ok(exit_code::SUCCESS)
}
