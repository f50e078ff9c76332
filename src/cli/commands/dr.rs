//! `strata dr`: failover, rebuild, drill, and the DNS answers view.

use super::rollout_ctx::dri_name as dri;
use super::validate::load_stack;
use super::{check_account, connect, Failure, Outcome};
use crate::cli::args::{DrCommand, GlobalArgs, OutputFormat};
use crate::cli::render::{Mode, Renderer};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use strata::aws::CloudApi;
use strata::deploy::{Settings, Timing};
use strata::dr::{self, DrError};
use strata::exit_code;
use strata::stack::{duration::parse_duration, StackDef};

pub async fn run(global: &GlobalArgs, args: DrCommand) -> Outcome {
    match args {
        DrCommand::Failover { file, region, ops } => {
            failover(global, &file, &region, ops.dri.as_deref()).await
        }
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
                ops.dri.as_deref(),
            )
            .await
        }
        DrCommand::Drill {
            file,
            region,
            account,
            bake,
        } => {
            drill(
                global,
                &file,
                region.as_deref(),
                account.as_deref(),
                bake.as_deref(),
            )
            .await
        }
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

/// `failure`, with the lock's way out when the deploy lock is held: the same
/// `strata unlock FILE --id ID` hint deploy prints.
fn failure_for(file: &Path) -> impl Fn(DrError) -> Failure + '_ {
    move |e| {
        let hint = match &e {
            DrError::Locked {
                lock_id: Some(id), ..
            } => Some(format!(
                ". If that run is dead, break its lock with `strata unlock {} --id {id}`",
                file.display()
            )),
            _ => None,
        };
        let mut f = failure(e);
        if let Some(h) = hint {
            f.message.push_str(&h);
        }
        f
    }
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
    check_account(&aws, &def).await?;
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
    .map_err(failure_for(file))?;
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

/// Deploy settings for the deploys a rebuild or drill runs.
fn settings(def: &StackDef, bake: Option<&str>, dri_name: &str) -> Result<Settings, Failure> {
    let invalid = |e: String| Failure::new(exit_code::INVALID_INPUT, e);
    let timing = Timing {
        gate_timeout: def
            .rollout
            .gate_timeout_duration()
            .map_err(|e| invalid(e.to_string()))?,
        bake: match bake {
            Some(b) => parse_duration(b).map_err(|e| invalid(format!("--bake: {e}")))?,
            None => def
                .rollout
                .bake_duration()
                .map_err(|e| invalid(e.to_string()))?,
        },
        ..Timing::default()
    };
    let now = time::OffsetDateTime::now_utc();
    Ok(Settings {
        deployment_id: strata::plan::deployment_id(now),
        deployed_by: dri_name.to_string(),
        outside_window: None,
        deployed_at: now
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        on_failure: def.rollout.on_failure,
        timing,
        stop: Arc::new(AtomicBool::new(false)),
        allow_replace: vec![],
    })
}

fn read_text(file: &Path) -> Result<String, Failure> {
    std::fs::read_to_string(file)
        .map_err(|e| Failure::new(exit_code::INVALID_INPUT, format!("{}: {e}", file.display())))
}

async fn rebuild(
    global: &GlobalArgs,
    file: &Path,
    region: &str,
    from: Option<&str>,
    bake: Option<&str>,
    dri_flag: Option<&str>,
) -> Outcome {
    let def = load_stack(global, file)?;
    let text = read_text(file)?;
    if def.region(region).is_none() {
        return Err(failure(DrError::UnknownRegion {
            stack: def.stack_name(),
            region: region.to_string(),
        }));
    }
    let holder = dri(dri_flag);
    let settings = settings(&def, bake, &holder)?;
    let aws = connect(global).await;
    check_account(&aws, &def).await?;
    let cloud = CloudApi::new(aws.clone());
    let renderer = Renderer::new(Mode::detect(json(global)));
    let events = renderer.events();
    let input = dr::rebuild::RebuildInput {
        def: &def,
        definition_text: &text,
        region,
        from,
        settings: &settings,
    };
    let report = dr::lock::with_lock(
        &aws,
        &def,
        region,
        &holder,
        "dr rebuild",
        dr::rebuild::rebuild(&aws, &cloud, &input, &events),
    )
    .await
    .map_err(failure_for(file))?;
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
) -> Outcome {
    let def = load_stack(global, file)?;
    let text = read_text(file)?;
    let region = match region {
        Some(r) => r.to_string(),
        None => def
            .rollout
            .waves()
            .into_iter()
            .flatten()
            .nth(1)
            .ok_or_else(|| {
                failure(DrError::NoSurvivor {
                    stack: def.stack_name(),
                    region: String::new(),
                })
            })?,
    };
    if def.region(&region).is_none() {
        return Err(failure(DrError::UnknownRegion {
            stack: def.stack_name(),
            region,
        }));
    }
    let aws = connect(global).await;
    check_account(&aws, &def).await?;
    if global.endpoint_url.is_none() {
        let Some(named) = account else {
            return Err(Failure::new(
                exit_code::REFUSED,
                "a drill breaks a region: outside the sandbox (no --endpoint-url) name the AWS account with --account ID",
            ));
        };
        let actual = strata::aws::dr_compute::caller_account(&aws)
            .await
            .map_err(|e| Failure::new(exit_code::ENVIRONMENT, e.to_string()))?;
        if actual != named {
            return Err(Failure::new(
                exit_code::REFUSED,
                format!("--account {named} does not match the credentials' account {actual}: refusing to drill"),
            ));
        }
    }
    let settings = settings(&def, bake, &dri(None))?;
    let cloud = CloudApi::new(aws.clone());
    let renderer = Renderer::new(Mode::detect(json(global)));
    let events = renderer.events();
    let report = dr::drill::drill(&aws, &cloud, &def, &text, &region, &settings, &events)
        .await
        .map_err(failure)?;
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
