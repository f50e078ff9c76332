//! `strata check` through the real binary: the example passes (exit 0), an N+1
//! violation is refused (exit 3) with the fix in the report, a broken file is
//! invalid input (exit 2), and `--output json` carries the same report.

use std::process::Command;

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/stacks/example.toml");

fn strata(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(args)
        .output()
        .expect("strata runs");
    (
        out.status.code().expect("an exit code"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_example_passes_with_its_availability_printed() {
    let (code, out, err) = strata(&["check", EXAMPLE]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("capacity_n_plus_1"), "{out}");
    assert!(out.contains("nines"), "{out}");
    assert!(out.contains("down a year"), "{out}");
    assert!(out.contains("passed: no mandatory rule failed"), "{out}");
}

#[test]
fn too_small_a_max_is_a_policy_violation_with_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(EXAMPLE).unwrap().replace(
        "capacity = { min = 2, desired = 2, max = 4 }",
        "capacity = { min = 2, desired = 2, max = 3 }",
    );
    assert!(
        text.contains("max = 3"),
        "the example's capacity line changed"
    );
    let file = dir.path().join("small.toml");
    std::fs::write(&file, text).unwrap();
    let (code, out, _) = strata(&["check", file.to_str().unwrap()]);
    assert_eq!(code, strata::exit_code::POLICY_VIOLATION, "{out}");
    assert!(out.contains("capacity_n_plus_1 [mandatory]"), "{out}");
    assert!(out.contains("needs max >= 4 in each region"), "{out}");

    let (code, out, _) = strata(&["check", file.to_str().unwrap(), "--output", "json"]);
    assert_eq!(code, 3);
    let v: serde_json::Value = serde_json::from_str(&out).expect("one JSON object");
    assert_eq!(v["passed"], false);
    assert_eq!(v["findings"][0]["rule"], "capacity_n_plus_1");
    assert_eq!(v["findings"][0]["severity"], "mandatory");
}

#[test]
fn json_output_of_the_example_has_every_rule_and_the_estimate() {
    let (code, out, _) = strata(&["check", EXAMPLE, "--output", "json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("one JSON object");
    assert_eq!(v["passed"], true);
    assert_eq!(v["stack"], "shop-prod");
    assert_eq!(
        v["rules"].as_array().unwrap().len(),
        strata::policy::rule_names().len()
    );
    assert_eq!(v["availability"]["regions"].as_array().unwrap().len(), 3);
    assert!(v["availability"]["availability"].as_f64().unwrap() >= 0.9999);
}

#[test]
fn an_unreadable_stack_file_is_invalid_input() {
    let (code, _, err) = strata(&["check", "/nonexistent/stack.toml"]);
    assert_eq!(code, strata::exit_code::INVALID_INPUT, "{err}");
}
