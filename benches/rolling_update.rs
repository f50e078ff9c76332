//! Rolling-update benchmark against the sandbox: the example (CloudFront off) with
//! nine instances per region (max 12) deployed on one AMI, then updated to another.
//! Per region: the batches CloudFormation ran (its "Successfully terminated
//! instance(s)" events on the group), the instances replaced, and the sandbox time
//! of the region's stack operation (its first to its last execute or gate event).
//! docs/deploy.md turns the batches into an AWS-time estimate.
//!
//! Run: `cargo bench --bench rolling_update --profile dev` (reuses the debug build;
//! the time is spent in the sandbox, not in strata).

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::time::Instant;
use support::{cli, sandbox, sdk};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

const REGIONS: [&str; 3] = ["us-east-1", "us-west-2", "eu-west-1"];

fn stack_file(dir: &std::path::Path, name: &str, ami: &str) -> std::path::PathBuf {
    let text = std::fs::read_to_string(sandbox::repo_dir().join("stacks/example.toml"))
        .expect("example stack")
        .replace("cloudfront = true", "cloudfront = false")
        .replace(
            "capacity = { min = 2, desired = 2, max = 4 }",
            "capacity = { min = 9, desired = 9, max = 12 }",
        )
        .replace("id = \"ami-0123456789abcdef0\"", &format!("id = \"{ami}\""));
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write stack");
    path
}

fn deploy(file: &std::path::Path) -> cli::Run {
    let run = cli::strata_at(
        &sandbox::endpoint(),
        &[
            "--output",
            "json",
            "deploy",
            file.to_str().unwrap(),
            "--yes",
            "--bake",
            "0s",
        ],
    );
    assert_eq!(run.code, 0, "deploy failed\n{run:?}");
    run
}

/// The reasons of the stack's events on its Auto Scaling group.
fn group_events(region: &str) -> Vec<String> {
    let cfn = sdk::cloudformation(region);
    sdk::block_on(async {
        cfn.describe_stack_events()
            .stack_name(format!("shop-prod-{region}"))
            .send()
            .await
            .expect("DescribeStackEvents")
            .stack_events()
            .iter()
            .filter(|e| e.resource_type() == Some("AWS::AutoScaling::AutoScalingGroup"))
            .filter_map(|e| e.resource_status_reason().map(str::to_string))
            .collect()
    })
}

fn main() {
    let _moto = sandbox::exclusive();
    let dir = tempfile::tempdir().expect("temp dir");
    deploy(&stack_file(dir.path(), "v1.toml", "ami-0123456789abcdef0"));
    let before: BTreeMap<&str, usize> = REGIONS
        .iter()
        .map(|r| (*r, group_events(r).len()))
        .collect();
    let started = Instant::now();
    let run = deploy(&stack_file(dir.path(), "v2.toml", "ami-0a1b2c3d"));
    let wall = started.elapsed().as_secs_f64();

    let mut span: BTreeMap<String, (OffsetDateTime, OffsetDateTime)> = BTreeMap::new();
    for e in run.json_lines() {
        // The region's own stack operation: execute (the rolling update) and gate.
        if !matches!(e["phase"].as_str(), Some("execute" | "gate")) {
            continue;
        }
        let (Some(region), Some(at)) = (e["region"].as_str(), e["time"].as_str()) else {
            continue;
        };
        let Ok(at) = OffsetDateTime::parse(at, &Rfc3339) else {
            continue;
        };
        let s = span.entry(region.to_string()).or_insert((at, at));
        s.0 = s.0.min(at);
        s.1 = s.1.max(at);
    }
    println!("AMI update, 9 instances per region (max 12): {wall:.2} s wall");
    println!(
        "{:<12} {:>8} {:>10} {:>10}",
        "region", "batches", "replaced", "sandbox s"
    );
    for region in REGIONS {
        let events = group_events(region);
        let new = events.len() - before[region];
        let fresh = &events[..new]; // newest first
        let batches = fresh
            .iter()
            .filter(|e| e.starts_with("Successfully terminated instance(s)"))
            .count();
        let replaced: usize = fresh
            .iter()
            .filter(|e| e.starts_with("Successfully terminated instance(s)"))
            .map(|e| e.matches("i-").count())
            .sum();
        let secs = span
            .get(region)
            .map(|(a, b)| (*b - *a).as_seconds_f64())
            .unwrap_or(0.0);
        println!("{region:<12} {batches:>8} {replaced:>10} {secs:>10.2}");
    }
}
