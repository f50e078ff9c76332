//! `strata status`: one table (or one JSON document) of every region of a stack.

use super::validate::load_stack;
use super::Outcome;
use crate::cli::args::{GlobalArgs, OutputFormat, StatusArgs};
use strata::aws::{Aws, AwsTarget};
use strata::exit_code;
use strata::status::{self, RegionState, RegionStatus, Serving, StatusOptions};

pub async fn run(global: &GlobalArgs, args: StatusArgs) -> Outcome {
    let def = load_stack(global, &args.file)?;
    let aws = Aws::connect(AwsTarget {
        endpoint_url: global.endpoint_url.clone(),
        profile: global.profile.clone(),
    })
    .await;
    let opts = StatusOptions {
        drift: args.drift,
        ..StatusOptions::default()
    };
    let report = status::read(&aws, &def, &opts).await;
    match global.output {
        OutputFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&report)
                .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
        ),
        OutputFormat::Human => {
            print!("{}", table(&report.regions, &report.serving, args.drift));
            print!("{}", serving_lines(&report.serving));
            for l in &report.left_behind {
                println!(
                    "{}: {} ({}) is not in the definition: the next `strata deploy` takes it \
                     out of DNS and replication, then deletes it",
                    l.region, l.stack_name, l.stack_status
                );
            }
            if let Some(note) = report.delegation.as_ref().and_then(status::delegation_note) {
                println!("{note}");
            }
        }
    }
    Ok(exit_code::SUCCESS)
}

const HEADER: [&str; 11] = [
    "REGION",
    "STACK",
    "VERSION",
    "AMI",
    "DEPLOYED",
    "BY",
    "ASG",
    "TARGETS",
    "HEALTHCHECK",
    "REPLICATION",
    "DNS",
];

fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "-".into())
}

/// What users are served: each routed name's answers, and the deployed regions
/// no name answers with.
fn serving_lines(s: &Serving) -> String {
    if let Some(e) = &s.error {
        return format!("serving: unknown ({e})\n");
    }
    let mut out = String::new();
    for n in &s.names {
        let answers = if n.answers.is_empty() {
            "nothing".to_string()
        } else {
            n.answers.join(", ")
        };
        out.push_str(&format!("{} answers with: {answers}\n", n.name));
    }
    for region in &s.out_of_dns {
        out.push_str(&format!(
            "{region}: out of DNS (no routed name answers with it; users are not served from it)\n"
        ));
    }
    out
}

/// The DNS cell: whether users are served from the region now.
fn dns_cell(r: &RegionStatus, s: &Serving) -> String {
    if s.error.is_some() || r.state != RegionState::Deployed {
        "-".into()
    } else if s.serves(&r.region) {
        "serving".into()
    } else {
        "out of DNS".into()
    }
}

fn row(r: &RegionStatus, s: &Serving) -> [String; 11] {
    let dash = || "-".to_string();
    let stack = match &r.state {
        RegionState::Deployed => opt(&r.stack_status),
        RegionState::NotDeployed => "not deployed".into(),
        RegionState::Unreachable { .. } => "unreachable".into(),
        RegionState::Error { .. } => "error".into(),
    };
    [
        r.region.clone(),
        stack,
        opt(&r.version),
        opt(&r.ami),
        opt(&r.deployed_at),
        opt(&r.deployed_by),
        r.asg
            .map(|a| format!("{}/{}", a.in_service, a.desired))
            .unwrap_or_else(dash),
        r.targets
            .map(|t| format!("{}/{} healthy", t.healthy, t.total))
            .unwrap_or_else(dash),
        r.health_check
            .as_ref()
            .map(|h| {
                format!(
                    "{} {}/{}",
                    if h.healthy { "healthy" } else { "unhealthy" },
                    h.healthy_observations,
                    h.observations
                )
            })
            .unwrap_or_else(dash),
        r.replication
            .as_ref()
            .map(|p| {
                let rules = if p.configured {
                    format!("{} rule(s)", p.destinations.len())
                } else {
                    "none".into()
                };
                match (p.complete, p.missing) {
                    (Some(true), _) => format!("{rules}, complete"),
                    (Some(false), Some(0)) => format!("{rules}, not compared with every region"),
                    (Some(false), Some(n)) => format!("{rules}, {n} object(s) missing"),
                    _ => rules,
                }
            })
            .unwrap_or_else(dash),
        dns_cell(r, s),
    ]
}

/// The DRIFT cell (`--drift`): the region's drifted properties.
fn drift_cell(r: &RegionStatus) -> String {
    match r.drift {
        Some(0) => "none".into(),
        Some(n) => format!("{n} propert{}", if n == 1 { "y" } else { "ies" }),
        None => "-".into(),
    }
}

/// The table, columns padded to their widest cell (with `--drift` a DRIFT column
/// last), then the notes for regions with problems.
fn table(regions: &[RegionStatus], serving: &Serving, drift: bool) -> String {
    let rows: Vec<Vec<String>> = regions
        .iter()
        .map(|r| {
            let mut cells = row(r, serving).to_vec();
            if drift {
                cells.push(drift_cell(r));
            }
            cells
        })
        .collect();
    let mut header: Vec<&str> = HEADER.to_vec();
    if drift {
        header.push("DRIFT");
    }
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let mut s = cells
            .iter()
            .zip(&widths)
            .map(|(c, &w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ");
        s.truncate(s.trim_end().len());
        s.push('\n');
        s
    };
    let mut out = line(header.iter().map(|h| h.to_string()).collect());
    for r in rows {
        out.push_str(&line(r));
    }
    for r in regions {
        match &r.state {
            RegionState::Unreachable { reason } | RegionState::Error { reason } => {
                out.push_str(&format!("{}: {reason}\n", r.region))
            }
            _ => {}
        }
        for p in &r.problems {
            out.push_str(&format!("{}: {p}\n", r.region));
        }
    }
    out
}
