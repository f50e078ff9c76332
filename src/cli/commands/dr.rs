//! `strata dr`: failover, rebuild, drill, and the DNS answers view.

use super::rollout_ctx::dri;
use super::validate::load_stack;
use super::{connect, Failure, Outcome};
use crate::cli::args::{DrCommand, GlobalArgs, OutputFormat};
use crate::cli::render::{Mode, Renderer};
use std::path::Path;
use strata::dr::{self, DrError};
use strata::exit_code;

pub async fn run(global: &GlobalArgs, args: DrCommand) -> Outcome {
    match args {
        DrCommand::Failover { file, region, ops } => {
            failover(global, &file, &region, ops.dri.as_deref()).await
        }
        DrCommand::Dns { file } => dns(global, &file).await,
        DrCommand::Rebuild { .. } => super::not_built("dr rebuild"),
        DrCommand::Drill { .. } => super::not_built("dr drill"),
    }
}

fn failure(e: DrError) -> Failure {
    let code = match e {
        DrError::UnknownRegion { .. } | DrError::NoSurvivor { .. } => exit_code::INVALID_INPUT,
        DrError::Locked { .. } => exit_code::LOCKED,
        _ => exit_code::ENVIRONMENT,
    };
    Failure::new(code, e.to_string())
}

fn json(global: &GlobalArgs) -> bool {
    global.output == OutputFormat::Json
}

fn print_json<T: serde::Serialize>(value: &T) {
    println!("{}", serde_json::to_string(value).unwrap_or_default());
}

async fn failover(
    global: &GlobalArgs,
    file: &Path,
    region: &str,
    dri_flag: Option<&str>,
) -> Outcome {
    let def = load_stack(global, file)?;
    if def.region(region).is_none() {
        return Err(failure(DrError::UnknownRegion {
            stack: def.stack_name(),
            region: region.to_string(),
        }));
    }
    let aws = connect(global).await;
    let renderer = Renderer::new(Mode::detect(json(global)));
    let events = renderer.events();
    let holder = dri(dri_flag);
    let report = dr::lock::with_lock(
        &aws,
        &def,
        region,
        &holder,
        "dr failover",
        dr::failover::failover(&aws, &def, region, &events),
    )
    .await
    .map_err(failure)?;
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
    let answers = dr::dns::answers(&aws, &def).await.map_err(failure)?;
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
