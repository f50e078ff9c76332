//! Deploy benchmark against the sandbox: a cold three-region deploy of the example
//! (CloudFront off, fewer resources per run), an AMI update, then a no-change
//! deploy; wall time and AWS API calls per region (counted by the fault proxy), and
//! against each, the time model's floor (`strata::plan::timing`, printed by the
//! deploy itself as `estimate`): on AWS, and divided by the table's `scale` (what a
//! time-scaled sandbox should take at the least), with measured / scaled floor.
//! A sandbox that does not scale its durations answers at once, so its ratio says
//! only how much strata's own waiting adds; the bench prints what it measures.
//!
//! Run: `cargo bench --bench deploy` (or `--profile dev` to reuse the debug build;
//! the time is spent waiting on the sandbox, not in strata).

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::time::Instant;
use support::fault_proxy::FaultProxy;
use support::{cli, sandbox};

fn main() {
    let _moto = sandbox::exclusive();
    let dir = tempfile::tempdir().expect("temp dir");
    let text = std::fs::read_to_string(sandbox::repo_dir().join("stacks/example.toml"))
        .expect("example stack");
    let file = dir.path().join("bench.toml");
    std::fs::write(
        &file,
        text.replace("cloudfront = true", "cloudfront = false"),
    )
    .expect("write stack");
    let proxy = FaultProxy::in_front_of_sandbox();
    let args = [
        "--output",
        "json",
        "deploy",
        file.to_str().expect("utf-8 path"),
        "--yes",
        "--bake",
        "0s",
    ];
    println!(
        "{:<12} {:>8}  {:<12} {:>6} {:>9}",
        "run", "wall s", "region", "calls", "mutating"
    );
    let updated = dir.path().join("bench-ami.toml");
    std::fs::write(
        &updated,
        std::fs::read_to_string(&file)
            .expect("bench stack")
            .replace("ami-0123456789abcdef0", "ami-0fedcba9876543210"),
    )
    .expect("write stack");
    let scale = strata::plan::timing::Durations::aws().scale;
    let mut floors = Vec::new();
    for (run, stack) in [
        ("cold", &file),
        ("ami-update", &updated),
        ("no-change", &updated),
    ] {
        let mut args = args;
        args[3] = stack.to_str().expect("utf-8 path");
        proxy.clear_calls();
        let started = Instant::now();
        let out = cli::strata_at(&proxy.url(), &args);
        let wall = started.elapsed().as_secs_f64();
        assert_eq!(out.code, 0, "{run} deploy failed\n{out:?}");
        let mut per_region: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for (key, n) in proxy.counts() {
            if key.service == "moto-api" {
                continue;
            }
            let e = per_region.entry(key.region.clone()).or_default();
            e.0 += n;
            if key.is_mutating() {
                e.1 += n;
            }
        }
        for (region, (calls, mutating)) in per_region {
            println!("{run:<12} {wall:>8.2}  {region:<12} {calls:>6} {mutating:>9}");
        }
        let lines = out.json_lines();
        timeline(run, &lines);
        let estimate = lines.into_iter().find_map(|l| l.get("estimate").cloned());
        floors.push((run, wall, estimate));
    }
    println!();
    println!(
        "{:<12} {:<10} {:>12} {:>14} {:>10}",
        "run", "phase", "AWS floor s", "scaled floor s", "measured"
    );
    for (run, wall, estimate) in floors {
        let Some(e) = estimate else {
            // A no-change deploy prints no plan: its floor is 0 (reads only).
            println!(
                "{run:<12} {:<10} {:>12.0} {:>14.2} {wall:>9.2}s",
                "total", 0.0, 0.0
            );
            continue;
        };
        for p in e["phases"].as_array().into_iter().flatten() {
            let s = p["seconds"].as_f64().unwrap_or(0.0);
            println!(
                "{run:<12} {:<10} {s:>12.0} {:>14.2} {:>10}",
                p["phase"].as_str().unwrap_or("?"),
                s / scale,
                "-"
            );
        }
        let total = e["total_s"].as_f64().unwrap_or(0.0);
        let sequential = e["sequential_s"].as_f64().unwrap_or(0.0);
        let ratio = if total > 0.0 {
            wall / (total / scale)
        } else {
            f64::NAN
        };
        println!(
            "{run:<12} {:<10} {total:>12.0} {:>14.2} {wall:>9.2}s  measured / scaled floor {ratio:.2}",
            "total",
            total / scale
        );
        println!(
            "{run:<12} {:<10} {sequential:>12.0} {:>14.2} {:>10}  (StackSets' sequential order, same model)",
            "sequential",
            sequential / scale,
            "-"
        );
    }
}

/// Where a run's time went: per region, each stretch of one phase (from its first
/// event to the region's next phase), from the run's first event; then the time
/// of each phase summed over regions (`done`, a region waiting, left out).
fn timeline(run: &str, lines: &[serde_json::Value]) {
    let at = |l: &serde_json::Value| {
        l["time"].as_str().and_then(|t| {
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
        })
    };
    let events: Vec<(time::OffsetDateTime, String, String)> = lines
        .iter()
        .filter_map(|l| {
            Some((
                at(l)?,
                l["region"].as_str().unwrap_or("-").to_string(),
                l["phase"].as_str()?.to_string(),
            ))
        })
        .collect();
    let (Some(first), Some(last)) = (events.first(), events.last()) else {
        return;
    };
    let (t0, end) = (first.0, last.0);
    let secs = |t: time::OffsetDateTime| (t - t0).as_seconds_f64();
    // (region, phase, start, end) stretches, each region's in order.
    let mut stretches: Vec<(String, String, f64, f64)> = Vec::new();
    let regions: std::collections::BTreeSet<&str> = events.iter().map(|e| e.1.as_str()).collect();
    for region in regions {
        let mine: Vec<_> = events.iter().filter(|e| e.1 == region).collect();
        let mut k = 0;
        while k < mine.len() {
            let phase = &mine[k].2;
            let start = secs(mine[k].0);
            let mut j = k;
            while j < mine.len() && &mine[j].2 == phase {
                j += 1;
            }
            let stop = mine.get(j).map_or(secs(mine[j - 1].0), |e| secs(e.0));
            stretches.push((region.to_string(), phase.clone(), start, stop));
            k = j;
        }
    }
    stretches.sort_by(|a, b| a.2.total_cmp(&b.2));
    println!();
    println!(
        "{run} timeline ({:.2} s from the first event to the last)",
        secs(end)
    );
    println!(
        "{:<12} {:<10} {:>8} {:>8}",
        "region", "phase", "start s", "length s"
    );
    let mut by_phase: BTreeMap<String, f64> = BTreeMap::new();
    for (region, phase, start, stop) in &stretches {
        println!(
            "{region:<12} {phase:<10} {start:>8.2} {:>8.2}",
            stop - start
        );
        // `done` is a region waiting for the others: not work.
        if phase != "done" {
            *by_phase.entry(phase.clone()).or_default() += stop - start;
        }
    }
    let summed: Vec<String> = by_phase
        .iter()
        .map(|(p, s)| format!("{p} {s:.2}"))
        .collect();
    println!(
        "{run} per phase, summed over regions: {}",
        summed.join(", ")
    );
}
