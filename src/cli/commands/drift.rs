//! `strata drift`: what differs between each region's live resources and the
//! template its stack last applied; one table (or one JSON document), exit 8 when
//! anything differs (docs/drift.md).

use super::common::connect;
use super::validate::load_stack;
use super::{Failure, Outcome};
use crate::cli::args::{DriftArgs, GlobalArgs, OutputFormat};
use strata::drift::{self, Checked, DriftReport};
use strata::exit_code;

pub async fn run(global: &GlobalArgs, args: DriftArgs) -> Outcome {
    let def = load_stack(global, &args.file)?;
    for r in &args.regions {
        if def.region(r).is_none() {
            return Err(Failure::new(
                exit_code::INVALID_INPUT,
                format!("{}: no region {r} in the definition", args.file.display()),
            ));
        }
    }
    let aws = connect(global).await;
    let report = drift::check(&aws, &def, &args.regions).await;
    match global.output {
        OutputFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&report)
                .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
        ),
        OutputFormat::Human => print!("{}", human(&report)),
    }
    Ok(code(&report))
}

/// 7 when a region could not be read, else 8 when anything drifted, else 0.
fn code(report: &DriftReport) -> i32 {
    if !report.errors().is_empty() {
        exit_code::ENVIRONMENT
    } else if report.has_drift() {
        exit_code::DRIFT_FOUND
    } else {
        exit_code::SUCCESS
    }
}

const HEADER: [&str; 5] = ["REGION", "RESOURCE", "PROPERTY", "EXPECTED", "ACTUAL"];

/// The table of drifted properties, then a line per region that was not compared.
fn human(report: &DriftReport) -> String {
    let mut out = String::new();
    if report.has_drift() {
        let rows: Vec<[String; 5]> = report
            .drift
            .iter()
            .map(|d| {
                [
                    d.region.clone(),
                    format!("{} ({})", d.logical_id, d.physical_id),
                    d.property.clone(),
                    d.expected.clone(),
                    d.actual.clone(),
                ]
            })
            .collect();
        let mut widths = HEADER.map(str::len);
        for r in &rows {
            for (w, c) in widths.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        let line = |cells: &[String]| {
            let s = cells
                .iter()
                .zip(widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect::<Vec<_>>()
                .join("  ");
            format!("{}\n", s.trim_end())
        };
        out.push_str(&line(&HEADER.map(String::from)));
        for r in &rows {
            out.push_str(&line(r));
        }
    }
    for r in &report.regions {
        match &r.checked {
            Checked::Compared if r.drift.is_empty() => {
                out.push_str(&format!("{}: no drift\n", r.region))
            }
            Checked::Compared => {}
            Checked::NotDeployed => {
                out.push_str(&format!("{}: {} is not deployed\n", r.region, r.stack))
            }
            Checked::Error { reason } => out.push_str(&format!("{}: {reason}\n", r.region)),
        }
    }
    if report.has_drift() {
        out.push_str("the next `strata deploy` puts these back (docs/drift.md)\n");
    }
    out
}
