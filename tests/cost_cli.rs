//! `strata cost` through the real binary: the example's table (per region, per
//! component, the total pinned by hand in src/cost/tests.rs), the price of each
//! nine, JSON output, a file with one NAT less per region, located errors for bad
//! `[cost]` values, and the cost section of `strata check`. No AWS call.

use std::process::Command;

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/stacks/example.toml");

fn strata(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(args)
        // No AWS is reachable: a cost estimate must not try.
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .output()
        .expect("strata runs");
    (
        out.status.code().expect("an exit code"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn with(text: &str, dir: &tempfile::TempDir, name: &str) -> String {
    let file = dir.path().join(name);
    std::fs::write(&file, text).unwrap();
    file.to_str().unwrap().to_string()
}

#[test]
fn the_example_prints_the_table_and_the_price_of_each_nine() {
    let (code, out, err) = strata(&["cost", EXAMPLE]);
    assert_eq!(code, 0, "{out}\n{err}");
    for region in ["us-east-1", "us-west-2", "eu-west-1"] {
        assert!(out.contains(region), "{out}");
    }
    for component in [
        "instances",
        "nat-gateways",
        "load-balancer",
        "dynamodb",
        "cloudfront",
        "alarms",
        "health-checks",
        "replication",
        "s3",
    ] {
        assert!(
            out.lines().any(|l| l.trim_start().starts_with(component)),
            "{component}: {out}"
        );
    }
    // The hand-computed total (src/cost/tests.rs) and the max-capacity one.
    assert!(out.contains("1168.96"), "{out}");
    assert!(
        out.contains("1225.40 with every Auto Scaling group at max"),
        "{out}"
    );
    assert!(out.contains("dated 2026-12-01"), "{out}");
    assert!(out.contains("default: 30% of capacity.peak_rps"), "{out}");
    for alt in [
        "one region fewer",
        "one NAT gateway per region",
        "three AZs per region",
        "one more region",
    ] {
        assert!(out.contains(alt), "{alt}: {out}");
    }
}

#[test]
fn json_carries_regions_alternatives_and_assumptions() {
    let (code, out, _) = strata(&["cost", EXAMPLE, "--output", "json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("one JSON object");
    assert!((v["monthly"].as_f64().unwrap() - 1168.9646).abs() < 0.01);
    assert_eq!(v["regions"].as_array().unwrap().len(), 3);
    assert_eq!(v["regions"][2]["multiplier"], 1.07);
    assert_eq!(v["alternatives"].as_array().unwrap().len(), 5);
    assert_eq!(v["assumptions"][0]["field"], "requests_per_month");
    assert_eq!(v["assumptions"][0]["stated"], false);
}

#[test]
fn downtime_cost_per_hour_prices_each_alternative_and_marks_the_cheapest() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(EXAMPLE).unwrap().replace(
        "minimum = 99.99\n",
        "minimum = 99.99\ndowntime_cost_per_hour = 50000\n",
    );
    let file = with(&text, &dir, "priced.toml");
    let (code, out, err) = strata(&["cost", &file, "--output", "json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let alts = v["alternatives"].as_array().unwrap();
    assert!(alts.iter().all(|a| a["yearly_total"].is_number()));
    assert_eq!(
        alts.iter()
            .filter(|a| a["cheapest_overall"] == true)
            .count(),
        1
    );
    let (_, human, _) = strata(&["cost", &file]);
    assert!(human.contains("<- cheapest overall"), "{human}");
}

#[test]
fn bad_cost_values_are_located_errors_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{}\n[cost]\nrequests_per_month = -5.0\ninstance_hour_usd = 0.0\n\n[audit]\nunused_days = 0\n",
        std::fs::read_to_string(EXAMPLE)
            .unwrap()
            .replace("minimum = 99.99\n", "minimum = 99.99\ndowntime_cost_per_hour = -1.0\n")
    );
    let file = with(&text, &dir, "bad.toml");
    let (code, _, err) = strata(&["cost", &file]);
    assert_eq!(code, strata::exit_code::INVALID_INPUT, "{err}");
    let line_of = |needle: &str| text.lines().position(|l| l.starts_with(needle)).unwrap() + 1;
    for (needle, what) in [
        ("requests_per_month", "requests_per_month = -5"),
        ("instance_hour_usd", "instance_hour_usd = 0"),
        ("unused_days", "unused_days is 0"),
        ("downtime_cost_per_hour", "downtime_cost_per_hour = -1"),
    ] {
        let at = format!("bad.toml:{}:", line_of(needle));
        assert!(
            err.lines().any(|l| l.contains(&at) && l.contains(what)),
            "{needle} at {at}: {err}"
        );
    }
    // An unknown field of [cost] is named with what is allowed.
    let file = with(
        &format!(
            "{}\n[cost]\nrequests = 5\n",
            std::fs::read_to_string(EXAMPLE).unwrap()
        ),
        &dir,
        "unknown.toml",
    );
    let (code, _, err) = strata(&["cost", &file]);
    assert_eq!(code, 2);
    assert!(
        err.contains("unknown field `requests`") && err.contains("requests_per_month"),
        "{err}"
    );
}

#[test]
fn an_instance_type_without_a_price_is_invalid_input_naming_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(EXAMPLE).unwrap().replace(
        "instance_type = \"t3.micro\"",
        "instance_type = \"z1d.large\"",
    );
    let file = with(&text, &dir, "z1d.toml");
    let (code, _, err) = strata(&["cost", &file]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("\"z1d.large\"") && err.contains("instance_hour_usd"),
        "{err}"
    );
    let file = with(
        &format!("{text}\n[cost]\ninstance_hour_usd = 0.186\n"),
        &dir,
        "z1d-priced.toml",
    );
    let (code, out, _) = strata(&["cost", &file]);
    assert_eq!(code, 0);
    assert!(out.contains("z1d.large at $0.186/h"), "{out}");
}

#[test]
fn check_prints_the_monthly_cost_and_carries_it_in_json() {
    let (code, out, _) = strata(&["check", EXAMPLE]);
    assert_eq!(code, 0);
    assert!(out.contains("monthly cost estimate: USD 1168.96"), "{out}");
    let (_, json, _) = strata(&["check", EXAMPLE, "--output", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!((v["cost"]["monthly"].as_f64().unwrap() - 1168.96).abs() < 0.01);
}
