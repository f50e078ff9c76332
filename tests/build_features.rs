//! The binary's build (`cargo build`, scripts/demo.sh) and the test build
//! (`cargo test --workspace`) resolve the same features for every dependency they
//! share, so a fresh clone compiles the AWS SDK crates once, not twice (issue 21).
//! Cargo's resolver turns dev-dependency features on only for test builds; the
//! `[dependencies]` block "Feature unification" in Cargo.toml turns the same ones on
//! for every build. This test fails, naming the crate, when they drift apart.

use std::collections::BTreeMap;
use std::process::Command;

/// `cargo tree` of `edges`: crate (name and version) -> its enabled features.
fn features(edges: &str, workspace: bool) -> BTreeMap<String, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["tree", "--locked", "--offline", "--prefix", "none"])
        .args(["-e", edges, "-f", "{p}|{f}"]);
    if workspace {
        cmd.arg("--workspace");
    }
    let out = cmd.output().expect("run cargo tree");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let l = l.trim_end_matches(" (*)");
            let (p, f) = l.split_once('|')?;
            // A workspace member's path differs per checkout; its features are ours.
            (!p.contains(" (/")).then(|| (p.to_string(), f.to_string()))
        })
        .collect()
}

#[test]
fn the_binary_and_the_tests_build_dependencies_with_the_same_features() {
    let binary = features("normal,build", false);
    let tests = features("all", true);
    assert!(binary
        .keys()
        .any(|p| p.starts_with("aws-sdk-cloudformation ")));
    let differ: Vec<String> = binary
        .iter()
        .filter_map(|(p, f)| {
            let t = tests.get(p)?;
            (t != f).then(|| format!("{p}: binary [{f}] vs tests [{t}]"))
        })
        .collect();
    assert!(
        differ.is_empty(),
        "these crates would be compiled twice; add the tests' features to the \
         \"Feature unification\" block of Cargo.toml:\n{}",
        differ.join("\n")
    );
}
