//! `strata validate`: load a stack file; print every problem (exit 2) or a
//! one-screen summary (exit 0). Never touches AWS. Also `load_stack`, the way
//! every command that takes a stack file reads it.

use super::{Failure, Outcome};
use crate::cli::args::{FileArg, GlobalArgs, OutputFormat};
use std::fmt::Write as _;
use std::path::Path;
use strata::app;
use strata::exit_code;
use strata::stack::{self, LoadError, StackDef};

pub async fn run(global: &GlobalArgs, args: FileArg) -> Outcome {
    let def = load_stack(global, &args.file)?;
    let file = args.file.display().to_string();
    match global.output {
        OutputFormat::Json => {
            let out = serde_json::json!({ "file": file, "valid": true, "stack": def });
            println!("{out}");
        }
        OutputFormat::Human => print!("{}", summary(&file, &def)),
    }
    Ok(exit_code::SUCCESS)
}

/// Load and validate a stack file for any command. On problems, print every
/// diagnostic (stderr for humans, a JSON object on stdout for `--output json`)
/// and fail with exit code 2.
pub fn load_stack(global: &GlobalArgs, file: &Path) -> Result<StackDef, Failure> {
    load_definition(global, file).map(|d| d.def)
}

/// `load_stack` for the commands that go through the pipeline: the file read
/// once, with its text, source hash and parsed durations (`app::Definition`).
pub fn load_definition(global: &GlobalArgs, file: &Path) -> Result<app::Definition, Failure> {
    app::definition::load(file).map_err(|e| load_failure(global, e))
}

/// Print every diagnostic of a stack file that did not load; exit 2.
fn load_failure(global: &GlobalArgs, e: LoadError) -> Failure {
    match e {
        e @ LoadError::Io { .. } => Failure::new(exit_code::INVALID_INPUT, e.to_string()),
        LoadError::Invalid { file, diagnostics } => {
            match global.output {
                OutputFormat::Json => {
                    let out = serde_json::json!({
                        "file": file,
                        "valid": false,
                        "diagnostics": diagnostics,
                    });
                    println!("{out}");
                }
                OutputFormat::Human => {
                    for d in &diagnostics {
                        eprintln!("{d}\n");
                    }
                }
            }
            Failure::new(
                exit_code::INVALID_INPUT,
                format!(
                    "{file}: {} problem(s); nothing was sent to AWS",
                    diagnostics.len()
                ),
            )
        }
    }
}

/// The one-screen summary of a valid definition.
fn summary(file: &str, def: &StackDef) -> String {
    let mut s = String::new();
    let dns = &def.dns;
    let _ = writeln!(s, "{file}: valid");
    let _ = writeln!(
        s,
        "  app        {} ({}{})",
        def.app.name,
        def.app.environment,
        if def.app.production {
            ", production"
        } else {
            ""
        }
    );
    let _ = writeln!(
        s,
        "  dns        {} in zone {}{}; origin {}",
        dns.domain,
        dns.hosted_zone,
        if dns.manage_zone {
            " (managed by strata)"
        } else {
            ""
        },
        dns.origin_name()
    );
    let _ = writeln!(s, "  regions    {}", def.regions.len());
    for r in &def.regions {
        let cap = def.capacity_of(r);
        let role = match r.failover {
            Some(stack::FailoverRole::Primary) => "latency + failover primary",
            Some(stack::FailoverRole::Secondary) => "latency + failover secondary",
            None => "latency",
        };
        let _ = writeln!(
            s,
            "    {:<15} {:<15} {:<34} {:<28} min/desired/max {}/{}/{}",
            r.name,
            r.cidr,
            r.azs.join(","),
            role,
            cap.min,
            cap.desired,
            cap.max
        );
    }
    let waves: Vec<String> = def.rollout.waves().iter().map(|w| w.join(" + ")).collect();
    let _ = writeln!(s, "  rollout    {}", waves.join(" -> "));
    let _ = writeln!(
        s,
        "             bake {}, gate timeout {}, on failure {}",
        def.rollout.bake,
        def.rollout.gate_timeout,
        match def.rollout.on_failure {
            stack::OnFailure::RollbackRegion => "rollback-region",
            stack::OnFailure::RollbackAll => "rollback-all",
        }
    );
    let c = &def.compute;
    let _ = writeln!(
        s,
        "  compute    {} on port {}, health check {}, scale at {}% CPU",
        c.instance_type, c.app_port, c.health_check_path, c.scaling_cpu_target
    );
    let _ = writeln!(
        s,
        "  ami        {} (built in {})",
        def.ami.id, def.ami.build_region
    );
    let tables: Vec<String> = def
        .tables
        .iter()
        .map(|t| {
            let keys = match &t.sort_key {
                Some(sk) => format!("{}+{}", t.partition_key.name, sk.name),
                None => t.partition_key.name.clone(),
            };
            let billing = match t.billing {
                stack::Billing::OnDemand => "on-demand",
                stack::Billing::Provisioned => "provisioned",
            };
            format!(
                "{} ({keys}, {billing}{})",
                t.name,
                if t.global { ", global" } else { "" }
            )
        })
        .collect();
    let _ = writeln!(s, "  tables     {}", none_or(&tables));
    let queues: Vec<String> = def
        .queues
        .iter()
        .map(|q| {
            format!(
                "{} (+ dead-letter queue after {} receives)",
                q.name, q.max_receive_count
            )
        })
        .collect();
    let _ = writeln!(s, "  queues     {}", none_or(&queues));
    let storage = match (def.storage.enabled, def.storage.replication) {
        (false, _) => "none".to_string(),
        (true, true) => "a bucket per region, replicated to the other regions".to_string(),
        (true, false) => "a bucket per region, not replicated".to_string(),
    };
    let _ = writeln!(s, "  storage    {storage}");
    let edge = if def.edge.cloudfront {
        format!(
            "CloudFront ({}) in front of {}",
            def.edge.price_class,
            dns.origin_name()
        )
    } else {
        "no CloudFront; the domain points at the latency-routed origin".to_string()
    };
    let _ = writeln!(s, "  edge       {edge}");
    let cm = &def.capacity;
    let _ = writeln!(
        s,
        "  capacity   peak {} rps, {} rps per instance, survive the loss of {}",
        cm.peak_rps,
        cm.rps_per_instance,
        match cm.tolerate {
            stack::Tolerate::Region => "a region and an AZ",
            stack::Tolerate::Az => "an AZ",
        }
    );
    s
}

fn none_or(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join("; ")
    }
}
