//! Benchmark of `strata validate`: loading + validating `stacks/example.toml` in
//! the library, and the whole `strata validate` process (the figure the README
//! quotes; the target is well under 50 ms). Run: `cargo bench --bench validate`.

use criterion::{criterion_group, criterion_main, Criterion};
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("stacks/example.toml")
}

fn bench(c: &mut Criterion) {
    let path = example();
    let src = std::fs::read_to_string(&path).expect("read stacks/example.toml");
    c.bench_function("stack::load_str(example.toml)", |b| {
        b.iter(|| strata::stack::load_str(&src, "example.toml").expect("valid"))
    });
    c.bench_function("strata validate stacks/example.toml (process)", |b| {
        b.iter(|| {
            let status = Command::new(env!("CARGO_BIN_EXE_strata"))
                .arg("validate")
                .arg(&path)
                .stdout(Stdio::null())
                .status()
                .expect("run strata");
            assert!(status.success());
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
