//! `strata dr`: failover, rebuild, drill, repair, and the DNS answers view.

use super::rollout_ctx::{self, failure, Args, Ctx};
use super::validate::{load_definition, load_stack};
use super::{connect, Failure, Outcome};
use crate::cli::args::{DrCommand, DrillFault, GlobalArgs, OpsArgs, OutputFormat};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use strata::app::{AppError, Command, LockRelease};
use strata::deploy::Settings;
use strata::dr;
use strata::exit_code;

pub async fn run(global: &GlobalArgs, args: DrCommand) -> Outcome {
    match args {
        DrCommand::Failover { file, region, ops } => failover(global, &file, &region, &ops).await,
        DrCommand::Dns { file } => dns(global, &file).await,
        DrCommand::Repair {
            file,
            region,
            max_messages,
            drain_timeout,
            ops,
        } => {
            repair(
                global,
                &file,
                region.as_deref(),
                max_messages,
                &drain_timeout,
                &ops,
            )
            .await
        }
        DrCommand::Backfill {
            file,
            region,
            dry_run,
            ops,
        } => backfill(global, &file, &region, dry_run, &ops).await,
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
            fault: DrillFault::Region,
            region,
            zone,
            recover_timeout,
            account,
            bake,
            ops,
        } => {
            // The region drill's waits are the deploy's (gate timeout, bake) and
            // the rebuild's: a recovery timeout of its own would cut a deploy
            // short, so it is refused rather than ignored.
            if recover_timeout.is_some() {
                return Err(Failure::new(
                    exit_code::INVALID_INPUT,
                    "--recover-timeout applies to --fault instance and --fault az; the region drill's waits are its deploys' (rollout.gate_timeout, --bake)",
                ));
            }
            if zone.is_some() {
                return Err(Failure::new(
                    exit_code::INVALID_INPUT,
                    "--zone applies to --fault az only",
                ));
            }
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
        DrCommand::Drill {
            file,
            fault,
            region,
            zone,
            recover_timeout,
            account,
            bake,
            ops,
        } => {
            fault_drill(
                global,
                &file,
                Fault {
                    fault,
                    region: region.as_deref(),
                    zone: zone.as_deref(),
                    recover_timeout: recover_timeout.as_deref().unwrap_or("15m"),
                },
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
    if let Some(b) = &report.backfill {
        println!(
            "  bucket   back-filled from the other regions: {} of {} missing objects copied{}",
            b.copied,
            b.missing,
            match &b.finish_with {
                None => ", complete".to_string(),
                Some(cmd) => format!(", NOT complete: finish with `{cmd}`"),
            }
        );
    }
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

/// What `dr drill --fault instance|az` was asked to break.
struct Fault<'a> {
    fault: DrillFault,
    region: Option<&'a str>,
    zone: Option<&'a str>,
    recover_timeout: &'a str,
}

/// `dr drill --fault instance` (one instance terminated per region, the group
/// replaces it, the gate ends green) and `--fault az` (one zone lost per region,
/// the others carry the load, everything put back). Exit 0 when every region
/// recovered (and, az, was put back), else 7 (the drill's failure code).
async fn fault_drill(
    global: &GlobalArgs,
    file: &Path,
    f: Fault<'_>,
    account: Option<&str>,
    bake: Option<&str>,
    ops: &OpsArgs,
) -> Outcome {
    let timeout = strata::stack::duration::parse_duration(f.recover_timeout)
        .map_err(|e| Failure::new(exit_code::INVALID_INPUT, format!("--recover-timeout: {e}")))?;
    if f.zone.is_some() && (f.fault != DrillFault::Az || f.region.is_none()) {
        return Err(Failure::new(
            exit_code::INVALID_INPUT,
            "--zone applies to --fault az with --region (a zone belongs to one region)",
        ));
    }
    let regions: Vec<String> = f.region.map(str::to_string).into_iter().collect();
    let ctx = rollout_ctx::prepare(
        global,
        file,
        Command::DrDrill,
        Args {
            bake,
            regions: &regions,
            ops: Some(ops),
            account,
            ..Args::default()
        },
    )
    .await?;
    let wait = dr::fault::Wait {
        timeout,
        poll: Duration::from_secs(1),
    };
    // The report as JSON or as text.
    let show = |report: String, text: String| {
        ctx.renderer.finish();
        if json(global) {
            println!("{report}");
        } else {
            print!("{text}");
        }
    };
    let passed = if f.fault == DrillFault::Az {
        let report = ctx
            .locked(dr::fault::az::az_drill(&ctx, &regions, f.zone, wait))
            .await
            .map_err(failure)?;
        show(
            serde_json::to_string(&report).unwrap_or_default(),
            az_text(&report),
        );
        report.passed
    } else {
        let report = ctx
            .locked(dr::fault::instance_drill(&ctx, &regions, wait))
            .await
            .map_err(failure)?;
        show(
            serde_json::to_string(&report).unwrap_or_default(),
            instance_text(&report),
        );
        report.passed
    };
    Ok(if passed {
        exit_code::SUCCESS
    } else {
        exit_code::ENVIRONMENT
    })
}

/// The human report of an AZ fault.
fn az_text(r: &dr::fault::az::AzFaultReport) -> String {
    let mut out = format!(
        "Drill (fault az) {}: {}\n",
        if r.passed { "passed" } else { "FAILED" },
        r.stack
    );
    for g in &r.regions {
        let b = &g.broken;
        out.push_str(&format!(
            "  {:<14} broke     {} of {}, desired {}: subnets {}; instances {}; routes {}\n",
            g.region,
            b.zone,
            g.asg,
            g.desired,
            b.subnets.join(", "),
            if b.instances.is_empty() {
                "none".to_string()
            } else {
                b.instances.join(", ")
            },
            if b.routes.is_empty() {
                "none (no NAT route)".to_string()
            } else {
                b.routes
                    .iter()
                    .map(|r| {
                        format!(
                            "{} {} via {} deleted",
                            r.route_table_id, r.destination, r.nat_gateway_id
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        ));
        match g.seconds_to_recover {
            Some(s) => out.push_str(&format!(
                "  {:<14} recovered {} carry the load with {}, time to recover {s:.1}s\n",
                "",
                g.surviving_zones.join(", "),
                if g.replacements.is_empty() {
                    "no new instance".to_string()
                } else {
                    g.replacements
                        .iter()
                        .map(|i| format!("{} ({})", i.instance_id, i.availability_zone))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            )),
            None => out.push_str(&format!("  {:<14} NOT recovered: {}\n", "", g.detail)),
        }
        if !g.gate_red_during.is_empty() {
            out.push_str(&format!(
                "  {:<14} gate red while recovering: {}\n",
                "",
                g.gate_red_during.join(", ")
            ));
        }
        let p = &g.put_back;
        if p.done {
            out.push_str(&format!(
                "  {:<14} put back  subnets {}{}\n",
                "",
                p.subnets.join(", "),
                p.routes
                    .iter()
                    .map(|r| format!(
                        "; {} {} via {}",
                        r.route_table_id, r.destination, r.nat_gateway_id
                    ))
                    .collect::<String>()
            ));
        } else {
            out.push_str(&format!(
                "  {:<14} NOT put back: {}\n",
                "",
                p.problems.join("; ")
            ));
        }
    }
    out
}

/// The human report of an instance fault.
fn instance_text(r: &dr::fault::InstanceFaultReport) -> String {
    let mut out = format!(
        "Drill (fault instance) {}: {}\n",
        if r.passed { "passed" } else { "FAILED" },
        r.stack
    );
    for g in &r.regions {
        out.push_str(&format!(
            "  {:<14} broke     {} ({}) of {}, desired {}\n",
            g.region, g.broken.instance_id, g.broken.availability_zone, g.asg, g.desired
        ));
        match g.seconds_to_recover {
            Some(s) => out.push_str(&format!(
                "  {:<14} recovered {} in service, time to recover {s:.1}s\n",
                "",
                g.replacements.join(", ")
            )),
            None => out.push_str(&format!("  {:<14} NOT recovered: {}\n", "", g.detail)),
        }
        if !g.gate_red_during.is_empty() {
            out.push_str(&format!(
                "  {:<14} gate red while recovering: {}\n",
                "",
                g.gate_red_during.join(", ")
            ));
        }
    }
    out
}

/// How long the second Ctrl-C waits for the lock's release before exiting.
const RELEASE_WAIT: Duration = Duration::from_secs(10);

/// `--drain-timeout`: a duration ("10m", "90s"), or "0" for one reading.
fn drain_timeout(text: &str) -> Result<Duration, Failure> {
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    strata::stack::duration::parse_duration(text)
        .map_err(|e| Failure::new(exit_code::INVALID_INPUT, format!("--drain-timeout: {e}")))
}

async fn repair(
    global: &GlobalArgs,
    file: &Path,
    region: Option<&str>,
    max_messages: u64,
    drain: &str,
    ops: &OpsArgs,
) -> Outcome {
    let drain_timeout = drain_timeout(drain)?;
    // `--region` is a filter, not a region acted on while it is down: after a
    // recovery every region votes in the lock.
    let regions: Vec<String> = region.map(str::to_string).into_iter().collect();
    let ctx = rollout_ctx::prepare(
        global,
        file,
        Command::DrRepair,
        rollout_ctx::Args {
            regions: &regions,
            ops: Some(ops),
            ..rollout_ctx::Args::default()
        },
    )
    .await?;
    let stop = Arc::new(AtomicBool::new(false));
    let input = dr::repair::RepairInput {
        file: file.display().to_string(),
        regions: if regions.is_empty() {
            ctx.def().regions.iter().map(|r| r.name.clone()).collect()
        } else {
            regions
        },
        max_messages,
        drain_timeout,
        pace: dr::repair::Pace::default(),
        stop: stop.clone(),
    };
    let queues = strata::aws::sqs_queues::SqsQueues::new(&ctx.aws);
    let report = ctx
        .locked_with(|release| {
            watch_ctrl_c(stop, release);
            dr::repair::repair(&queues, ctx.def(), &input, &ctx.events)
        })
        .await
        .map_err(failure)?;
    ctx.renderer.finish();
    if json(global) {
        print_json(&report);
        return Ok(exit_code::SUCCESS);
    }
    println!(
        "Dead-letter queues of {} (at most {} messages moved from each):",
        report.stack, report.max_messages
    );
    for d in &report.dead_letters {
        let what = match d.outcome {
            dr::repair::Outcome::Empty => "nothing to move",
            dr::repair::Outcome::Moved => "moved back",
            dr::repair::Outcome::OverLimit => "over --max-messages: nothing moved",
            dr::repair::Outcome::Cancelled => "task cancelled",
            dr::repair::Outcome::StillMoving => "still moving (run again to wait for it)",
        };
        println!(
            "  {:<14} {} -> {}: {} moved, {} left ({what}{})",
            d.region,
            d.dead_letter_queue,
            d.queue,
            d.moved,
            d.left,
            if d.resumed {
                ", an earlier run's task"
            } else {
                ""
            }
        );
    }
    println!(
        "  total          {} moved, {} left",
        report.moved, report.left
    );
    let b = &report.buffer;
    if b.drained {
        println!("Write buffer: drained (every queue empty).");
    } else if b.timeout_seconds == 0 {
        println!("Write buffer (read once, --drain-timeout 0):");
    } else {
        println!("Write buffer: NOT drained after {:.0}s:", b.waited_seconds);
    }
    for q in &b.queues {
        println!(
            "  {:<14} {}: {} waiting, {} in flight",
            q.region, q.queue, q.depth.visible, q.depth.in_flight
        );
    }
    if !b.holding.is_empty() {
        println!("Still holding messages: {}", b.holding.join(", "));
    }
    Ok(exit_code::SUCCESS)
}

async fn backfill(
    global: &GlobalArgs,
    file: &Path,
    region: &str,
    dry_run: bool,
    ops: &OpsArgs,
) -> Outcome {
    let regions = vec![region.to_string()];
    let ctx = rollout_ctx::prepare(
        global,
        file,
        Command::DrBackfill,
        rollout_ctx::Args {
            regions: &regions,
            ops: Some(ops),
            ..rollout_ctx::Args::default()
        },
    )
    .await?;
    let stop = Arc::new(AtomicBool::new(false));
    let mut input = dr::backfill::BackfillInput::new(&file.display().to_string(), region);
    input.dry_run = dry_run;
    input.stop = stop.clone();
    let objects = strata::aws::s3_objects::S3Objects::new(&ctx.aws);
    let report = ctx
        .locked_with(|release| {
            watch_ctrl_c(stop, release);
            dr::backfill::backfill(&objects, ctx.def(), &input, &ctx.events)
        })
        .await
        .map_err(failure)?;
    ctx.renderer.finish();
    if json(global) {
        print_json(&report);
    } else {
        print!("{}", backfill_text(&report));
    }
    Ok(if report.complete || report.dry_run {
        exit_code::SUCCESS
    } else {
        exit_code::ENVIRONMENT
    })
}

/// The human report of a back-fill.
fn backfill_text(r: &dr::backfill::BackfillReport) -> String {
    let mut out = format!(
        "Back-fill of {} ({}){}:\n",
        r.bucket,
        r.region,
        if r.dry_run { ", dry run" } else { "" }
    );
    for s in &r.sources {
        match &s.problem {
            None => out.push_str(&format!("  from {:<14} {} objects\n", s.region, s.objects)),
            Some(p) => out.push_str(&format!("  from {:<14} not compared: {p}\n", s.region)),
        }
    }
    out.push_str(&format!(
        "  {} objects before, {} missing, {} copied, {} already there, {} failed{}\n",
        r.objects_before,
        r.missing,
        r.copied,
        r.already_there,
        r.failed.len(),
        if r.not_started > 0 {
            format!(", {} not copied", r.not_started)
        } else {
            String::new()
        }
    ));
    for f in &r.failed {
        out.push_str(&format!(
            "  failed {} (from {}): {}\n",
            f.key, f.from_region, f.reason
        ));
    }
    out.push_str(if r.complete {
        "  complete: the bucket holds every object the other regions' buckets hold\n"
    } else {
        "  NOT complete\n"
    });
    if let Some(cmd) = &r.finish_with {
        out.push_str(&format!("  finish with: {cmd}\n"));
    }
    out
}

/// Ctrl-C during a repair: the first press stops the waits at their next poll
/// (the lock is released, exit 130; a move task SQS runs goes on, and the same
/// command waits for it); a second press releases the lock (at most
/// `RELEASE_WAIT`) and exits with 130 at once.
fn watch_ctrl_c(stop: Arc<AtomicBool>, release: LockRelease) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        stop.store(true, Ordering::SeqCst);
        eprintln!("\ninterrupted: stopping at the next poll (Ctrl-C again: now)");
        if tokio::signal::ctrl_c().await.is_ok() {
            if tokio::time::timeout(RELEASE_WAIT, release.release())
                .await
                .is_err()
            {
                eprintln!(
                    "the deploy lock was not released in time: run `strata unlock` for this stack"
                );
            }
            std::process::exit(exit_code::INTERRUPTED);
        }
    });
}
