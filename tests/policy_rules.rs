//! Runs every `policies/tests/<rule>_tests.yaml` (cfn-guard's test-file convention:
//! named cases, each an input template and the expected PASS / FAIL / SKIP per rule)
//! through the same in-process engine `strata check` uses.

use std::collections::BTreeMap;
use std::path::Path;
use strata::policy::guard;

#[derive(serde::Deserialize)]
struct Case {
    name: String,
    input: serde_yaml::Value,
    expectations: Expectations,
}

#[derive(serde::Deserialize)]
struct Expectations {
    rules: BTreeMap<String, String>,
}

fn run_tests_file(rule_name: &str, problems: &mut Vec<String>) -> Vec<String> {
    let rule = guard::rule(rule_name).expect("the rule is embedded");
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("policies/tests")
        .join(format!("{rule_name}_tests.yaml"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (every rule needs a tests file)", path.display()));
    let cases: Vec<Case> =
        serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut statuses = Vec::new();
    for case in &cases {
        let json = serde_json::to_string(&case.input).expect("yaml input converts to json");
        let got = match guard::evaluate(rule, &case.name, &json) {
            Ok(got) => got,
            Err(e) => {
                problems.push(format!("{rule_name} / {:?}: {e}", case.name));
                continue;
            }
        };
        for (name, expected) in &case.expectations.rules {
            assert_eq!(
                name, rule_name,
                "{}: a tests file checks its own rule",
                case.name
            );
            if got.word() != expected {
                problems.push(format!(
                    "{rule_name} / {:?}: expected {expected}, got {got:?}",
                    case.name
                ));
            }
        }
        statuses.push(got.word().to_string());
    }
    statuses
}

#[test]
fn every_rule_has_passing_and_failing_cases_that_hold() {
    let mut problems = Vec::new();
    for rule in guard::RULES {
        let statuses = run_tests_file(rule.name, &mut problems);
        if !(statuses.iter().any(|s| s == "PASS") && statuses.iter().any(|s| s == "FAIL")) {
            problems.push(format!(
                "{}: the tests file needs at least one PASS and one FAIL case",
                rule.name
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_policy_file_is_embedded_and_every_rule_named_after_its_file() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension()? == "guard")
                .then(|| p.file_stem().unwrap().to_string_lossy().into_owned())
        })
        .collect();
    on_disk.sort();
    let mut embedded: Vec<String> = guard::RULES.iter().map(|r| r.name.to_string()).collect();
    embedded.sort();
    assert_eq!(
        on_disk, embedded,
        "policies/*.guard and guard::RULES must list the same rules"
    );
    for rule in guard::RULES {
        assert!(
            rule.source.contains(&format!("rule {} ", rule.name)),
            "{}.guard must define `rule {}`",
            rule.name,
            rule.name
        );
    }
}

#[test]
fn a_rule_that_does_not_parse_is_an_engine_error_not_a_pass() {
    let broken = guard::GuardRule {
        name: "broken",
        source: "rule broken { Resources.* ==== }",
        why: "",
        fix: "",
    };
    let template = r#"{"Resources":{"B":{"Type":"AWS::S3::Bucket"}}}"#;
    assert!(guard::evaluate(&broken, "t", template).is_err());
}

#[test]
fn a_report_larger_than_8_kib_is_read_whole() {
    // 60 unencrypted buckets, each with a long tag: the engine's report runs to
    // tens of KiB; every bucket must still be named.
    let buckets: serde_json::Map<String, serde_json::Value> = (0..60)
        .map(|i| {
            (
                format!("Bucket{i}"),
                serde_json::json!({"Type": "AWS::S3::Bucket",
                    "Properties": {"Tags": [{"Key": "note", "Value": "x".repeat(200)}]}}),
            )
        })
        .collect();
    let template = serde_json::json!({ "Resources": buckets }).to_string();
    let rule = guard::rule("bucket_encrypted").unwrap();
    match guard::evaluate(rule, "big", &template).unwrap() {
        guard::GuardStatus::Fail(failures) => {
            let named: std::collections::BTreeSet<_> =
                failures.iter().filter_map(|f| f.resource.clone()).collect();
            assert_eq!(named.len(), 60);
        }
        other => panic!("expected FAIL, got {other:?}"),
    }
}
