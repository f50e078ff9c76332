//! Test support: dr_stack — the example stack for the DR and runbook tests, with a
//! peak that makes failover visibly scale the survivors (500 rps at 100 per
//! instance: 3 instances in each of the 2 survivors, max 6). Everything else,
//! CloudFront and the global stack included, is the example as shipped.

use std::path::PathBuf;

/// Write the sandbox copy of `stacks/example.toml` into `dir`; returns its path.
pub fn write(dir: &std::path::Path) -> PathBuf {
    let example = super::sandbox::repo_dir()
        .join("stacks")
        .join("example.toml");
    let text = std::fs::read_to_string(&example).expect("stacks/example.toml");
    let mut out = String::new();
    for line in text.lines() {
        let line = match line.trim() {
            "peak_rps = 300" => "peak_rps = 500",
            "tolerate = \"region\"" => "tolerate = \"az\"",
            _ => line,
        };
        out.push_str(line);
        out.push('\n');
    }
    assert!(
        out.contains("peak_rps = 500") && out.contains("tolerate = \"az\""),
        "example.toml changed shape"
    );
    let path = dir.join("example.toml");
    std::fs::write(&path, out).expect("write the test stack");
    path
}

/// Instances each of the 2 survivors must run: ceil(500 / 100 / 2).
pub const PER_SURVIVOR: u64 = 3;
