//! Golden files: the example's templates, byte for byte, in `tests/golden/example/`
//! (`wired/` and `build/`). A change to synthesis shows up as a reviewable diff;
//! regenerate with `UPDATE_GOLDEN=1 cargo test --test synth_golden`.

use std::path::{Path, PathBuf};
use strata::stack;
use strata::synth::{self, Phase};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/example")
}

/// Every template of the example in `phase`, as (file name, text).
fn templates(phase: Phase) -> Vec<(String, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("stacks/example.toml");
    let def = stack::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let out = synth::synthesize(&def, phase);
    let name = def.stack_name();
    let mut files: Vec<(String, String)> = out
        .regions
        .iter()
        .map(|r| {
            (
                format!("{name}-{}.template.json", r.region),
                r.template.to_json_pretty(),
            )
        })
        .collect();
    if phase == Phase::Wired {
        files.extend(
            out.global
                .map(|g| (format!("{name}-global.template.json"), g.to_json_pretty())),
        );
        files.extend(
            out.zone
                .map(|z| (format!("{name}-dns.template.json"), z.to_json_pretty())),
        );
    }
    files
}

fn check(phase: Phase) {
    let dir = golden_dir().join(phase.as_str());
    let files = templates(phase);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        for entry in std::fs::read_dir(&dir).unwrap() {
            std::fs::remove_file(entry.unwrap().path()).unwrap();
        }
        for (file, text) in &files {
            std::fs::write(dir.join(file), text).unwrap();
        }
        return;
    }
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e}; run UPDATE_GOLDEN=1 cargo test --test synth_golden",
                dir.display()
            )
        })
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut expected: Vec<String> = files.iter().map(|(f, _)| f.clone()).collect();
    expected.sort();
    assert_eq!(
        on_disk,
        expected,
        "golden file set of the {} phase",
        phase.as_str()
    );
    for (file, text) in files {
        let golden = std::fs::read_to_string(dir.join(&file)).unwrap();
        if golden != text {
            let line = golden
                .lines()
                .zip(text.lines())
                .position(|(a, b)| a != b)
                .map(|i| i + 1)
                .unwrap_or_else(|| golden.lines().count().min(text.lines().count()) + 1);
            panic!(
                "{} differs from synthesis from line {line} on; review the change, then \
                 UPDATE_GOLDEN=1 cargo test --test synth_golden",
                dir.join(&file).display()
            );
        }
    }
}

#[test]
fn the_examples_wired_templates_match_the_golden_files() {
    check(Phase::Wired);
}

#[test]
fn the_examples_build_templates_match_the_golden_files() {
    check(Phase::Build);
}
