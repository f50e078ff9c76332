//! Synthesis speed: load + validate + synth + serialize, in process, for the
//! example, a 33-region stack (every commercial region) and a generated 50-region
//! stack; and the whole `strata synth` process (release build) for the example and
//! the 33-region stack. Run with `cargo bench --bench synth`.
//!
//! Bar (issue 4): the example under 50 ms and 50 regions under 500 ms.

use criterion::{criterion_group, criterion_main, Criterion};
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use strata::stack::{self, StackDef};
use strata::synth::{self, Phase};

#[path = "../tests/support/stacks.rs"]
#[allow(dead_code)] // the tests' helpers for editing stack files are not used here
mod stacks;

/// Every template of a definition, serialized; returns the bytes written.
fn synth_all(def: &StackDef) -> usize {
    let out = synth::synthesize(def, Phase::Wired);
    out.regions
        .iter()
        .map(|r| r.template.to_json_pretty().len())
        .chain(out.global.iter().map(|g| g.to_json_pretty().len()))
        .chain(out.zone.iter().map(|z| z.to_json_pretty().len()))
        .sum()
}

fn in_process(c: &mut Criterion) {
    let example_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("stacks/example.toml");
    let example = std::fs::read_to_string(&example_path).unwrap();
    let all_regions = stacks::stack_toml(stacks::REGIONS.len(), 3);
    let fifty = stacks::stack_toml(50, 3);

    let mut g = c.benchmark_group("synth (load + validate + synth + serialize)");
    g.bench_function("example (3 regions)", |b| {
        b.iter(|| synth_all(&stack::load_str(&example, "example.toml").unwrap()))
    });
    g.bench_function("33 regions x 3 AZs", |b| {
        b.iter(|| synth_all(&stack::load_str(&all_regions, "33.toml").unwrap()))
    });
    // 50 regions cannot all be real AWS regions, so `stack::load` would refuse the
    // file; this runs the same passes (TOML parse, typed read, every semantic
    // check) and then synthesizes regardless of the unknown-region problems.
    g.bench_function("50 regions x 3 AZs", |b| {
        b.iter(|| {
            let def: StackDef = toml::from_str(&fifty).unwrap();
            let problems = stack::validate::validate(&def);
            assert!(!problems.is_empty(), "the made-up regions are reported");
            synth_all(&def)
        })
    });
    g.finish();
}

fn whole_process(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("stacks/example.toml");
    let all_regions = dir.path().join("all-regions.toml");
    std::fs::write(&all_regions, stacks::stack_toml(stacks::REGIONS.len(), 3)).unwrap();
    let out = dir.path().join("out");
    let run = |file: &Path| {
        let status = Command::new(env!("CARGO_BIN_EXE_strata"))
            .arg("synth")
            .arg(file)
            .arg("-o")
            .arg(&out)
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
    };
    let mut g = c.benchmark_group("strata synth (whole process)");
    g.sample_size(20).measurement_time(Duration::from_secs(5));
    g.bench_function("example (3 regions)", |b| b.iter(|| run(&example)));
    g.bench_function("33 regions x 3 AZs", |b| b.iter(|| run(&all_regions)));
    g.finish();
}

criterion_group!(benches, in_process, whole_process);
criterion_main!(benches);
