//! Deploy benchmark against the sandbox: a cold three-region deploy of the example
//! (CloudFront off: the sandbox cannot create a distribution), then a no-change
//! deploy; wall time and AWS API calls per region (counted by the fault proxy).
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
    for run in ["cold", "no-change"] {
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
    }
}
