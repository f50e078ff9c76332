//! `strata cost`: the monthly cost of the planned topology per region and per
//! component, the usage it assumes, and the price of each nine (or one JSON object
//! with `--output json`). No AWS call. Exit 0, or 2 for invalid input.

use super::validate::load_stack;
use super::{Failure, Outcome};
use crate::cli::args::{FileArg, GlobalArgs, OutputFormat};
use strata::cost::{self, CostReport};
use strata::exit_code;
use strata::synth::{self, Phase};

pub async fn run(global: &GlobalArgs, args: FileArg) -> Outcome {
    let def = load_stack(global, &args.file)?;
    let invalid = |e: String| {
        Failure::new(
            exit_code::INVALID_INPUT,
            format!("{}: {e}", args.file.display()),
        )
    };
    let synthesized =
        synth::try_synthesize(&def, Phase::Wired).map_err(|e| invalid(e.to_string()))?;
    let report = cost::estimate(&def, &synthesized).map_err(|e| invalid(e.to_string()))?;
    match global.output {
        OutputFormat::Json => println!(
            "{}",
            serde_json::to_string(&report).map_err(|e| Failure::new(
                exit_code::ENVIRONMENT,
                format!("cannot render the report: {e}")
            ))?
        ),
        OutputFormat::Human => print!("{}", render(&report)),
    }
    Ok(exit_code::SUCCESS)
}

fn money(v: f64) -> String {
    format!("{v:.2}")
}

/// The human report: components x regions, the global lines, the totals, the
/// usage assumed, the notes, and the price of each nine.
pub fn render(r: &CostReport) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "monthly cost of {} in {} ({} hours; list prices dated {}, us-east-1 times each region's multiplier)\n",
        r.stack, r.currency, r.hours_per_month, r.prices_dated
    );
    let mut components: Vec<&str> = Vec::new();
    for region in &r.regions {
        for l in &region.lines {
            if !components.contains(&l.component) {
                components.push(l.component);
            }
        }
    }
    let _ = write!(s, "  {:<14}", "component");
    for region in &r.regions {
        let _ = write!(s, " {:>14}", region.region);
    }
    let _ = writeln!(s, " {:>11}", "total");
    for c in &components {
        let _ = write!(s, "  {c:<14}");
        let mut total = 0.0;
        for region in &r.regions {
            match region.lines.iter().find(|l| l.component == *c) {
                Some(l) => {
                    total += l.monthly;
                    let _ = write!(s, " {:>14}", money(l.monthly));
                }
                None => {
                    let _ = write!(s, " {:>14}", "-");
                }
            }
        }
        let _ = writeln!(s, " {:>11}", money(total));
    }
    let _ = write!(s, "  {:<14}", "region total");
    for region in &r.regions {
        let _ = write!(s, " {:>14}", money(region.monthly));
    }
    let regions: f64 = r.regions.iter().map(|x| x.monthly).sum();
    let _ = writeln!(s, " {:>11}", money(regions));
    let _ = write!(s, "  {:<14}", "x multiplier");
    for region in &r.regions {
        let _ = write!(s, " {:>14}", format!("{}", region.multiplier));
    }
    let _ = writeln!(s);
    let pad = 15 * r.regions.len();
    for l in &r.global {
        let _ = writeln!(
            s,
            "  {:<14}{:pad$} {:>11}",
            l.component,
            "",
            money(l.monthly)
        );
    }
    let _ = writeln!(
        s,
        "  {:<14}{:pad$} {:>11}   ({} with every Auto Scaling group at max)",
        "TOTAL",
        "",
        money(r.monthly),
        money(r.monthly_at_max)
    );
    let _ = writeln!(
        s,
        "\nhow each figure is made ({}):",
        r.regions.first().map(|x| x.region.as_str()).unwrap_or("-")
    );
    if let Some(first) = r.regions.first() {
        for l in &first.lines {
            let _ = writeln!(s, "  {:<14} {}", l.component, l.detail);
        }
    }
    for l in &r.global {
        let _ = writeln!(s, "  {:<14} {}", l.component, l.detail);
    }
    let _ = writeln!(
        s,
        "\nusage assumed ([cost] in the stack file; `default` where not stated):"
    );
    for a in &r.assumptions {
        let _ = writeln!(
            s,
            "  {:<26} {:>16} {:<14} {}",
            a.field,
            format_quantity(a.value),
            a.unit,
            if a.stated {
                "stated".to_string()
            } else {
                format!("default: {}", a.default_rule)
            }
        );
    }
    let _ = writeln!(s, "\nnotes:");
    for n in &r.notes {
        let _ = writeln!(s, "  - {n}");
    }
    let _ = writeln!(
        s,
        "\nthe price of each nine (availability model of docs/policy.md; least available first):"
    );
    let priced = r.downtime_cost_per_hour.is_some();
    let _ = write!(
        s,
        "  {:<28} {:>12} {:>6} {:>12} {:>11} {:>10}",
        "alternative", "availability", "nines", "down a year", "USD/month", "vs plan"
    );
    if priced {
        let _ = write!(s, " {:>14} {:>14}", "downtime/year", "yearly total");
    }
    let _ = writeln!(s);
    for a in &r.alternatives {
        let _ = write!(
            s,
            "  {:<28} {:>11.7}% {:>6.3} {:>12} {:>11} {:>+10.2}",
            a.name,
            a.availability * 100.0,
            a.nines,
            a.yearly_downtime,
            money(a.monthly_cost),
            a.monthly_delta
        );
        if let (Some(d), Some(t)) = (a.yearly_downtime_cost, a.yearly_total) {
            let _ = write!(s, " {:>14} {:>14}", money(d), money(t));
            if a.cheapest_overall {
                let _ = write!(s, "  <- cheapest overall");
            }
        }
        let _ = writeln!(s);
    }
    for a in &r.alternatives {
        let _ = writeln!(s, "    {}: {}", a.name, a.change);
    }
    match r.downtime_cost_per_hour {
        Some(v) => {
            let _ = writeln!(
                s,
                "\n  downtime priced at {} {}/hour ([availability] downtime_cost_per_hour): past the \
                 cheapest overall, more nines cost more than the downtime they save",
                money(v),
                r.currency
            );
        }
        None => {
            let _ = writeln!(
                s,
                "\n  set [availability] downtime_cost_per_hour to price each alternative's downtime"
            );
        }
    }
    s
}

/// 236520000 -> "236,520,000"; fractions keep two decimals.
fn format_quantity(v: f64) -> String {
    if v.fract() != 0.0 && v < 1e6 {
        return format!("{v:.2}");
    }
    let digits = format!("{:.0}", v);
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}
