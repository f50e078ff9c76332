//! `strata synth` end to end: the real binary writes one file per template and
//! says so; an invalid stack file exits 2 and writes nothing.

use std::process::Command;

fn strata() -> Command {
    Command::new(env!("CARGO_BIN_EXE_strata"))
}

fn example() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("stacks/example.toml")
}

#[test]
fn synth_writes_every_template_of_the_example() {
    let dir = tempfile::tempdir().unwrap();
    let out = strata()
        .arg("synth")
        .arg(example())
        .arg("-o")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut files: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "shop-prod-dns.template.json",
            "shop-prod-eu-west-1.template.json",
            "shop-prod-global.template.json",
            "shop-prod-us-east-1.template.json",
            "shop-prod-us-west-2.template.json",
        ]
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    for f in &files {
        assert!(stdout.contains(f.as_str()), "output names {f}:\n{stdout}");
        let text = std::fs::read_to_string(dir.path().join(f)).unwrap();
        let t: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(t["AWSTemplateFormatVersion"], "2010-09-09");
    }
    let t: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("shop-prod-us-east-1.template.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        t["Resources"]["LatencyRecord"]["Type"],
        "AWS::Route53::RecordSet"
    );
}

#[test]
fn the_build_phase_writes_region_templates_without_records() {
    let dir = tempfile::tempdir().unwrap();
    let out = strata()
        .args(["--output", "json", "synth"])
        .arg(example())
        .arg("-o")
        .arg(dir.path())
        .args(["--phase", "build"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["phase"], "build");
    assert_eq!(report["templates"].as_array().unwrap().len(), 5);
    let text =
        std::fs::read_to_string(dir.path().join("shop-prod-eu-west-1.template.json")).unwrap();
    assert!(!text.contains("AWS::Route53::RecordSet"));
    assert!(!text.contains("ReplicationConfiguration"));
}

#[test]
fn an_invalid_stack_file_exits_2_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    let text = std::fs::read_to_string(example())
        .unwrap()
        .replace("10.20.0.0/16", "10.10.0.0/16");
    std::fs::write(&bad, text).unwrap();
    let out_dir = dir.path().join("out");
    let out = strata()
        .arg("synth")
        .arg(&bad)
        .arg("-o")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("overlap"));
    assert!(!out_dir.exists(), "nothing written");
}
