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
        let estimate = out
            .json_lines()
            .into_iter()
            .find_map(|l| l.get("estimate").cloned());
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
