//! `strata validate` through the real binary: every malformed fixture reports its
//! problem at the right line and column and exits 2 without any AWS call; the
//! example stacks are valid and summarised.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const INVALID_INPUT: i32 = 2;

/// (fixture in tests/fixtures/invalid, line, column, substring of the message).
const FIXTURES: &[(&str, usize, usize, &str)] = &[
    (
        "syntax_unclosed_string",
        3,
        13,
        "TOML syntax: invalid basic string",
    ),
    ("syntax_duplicate_key", 5, 1, "duplicate key `name`"),
    ("unknown_field", 5, 1, "unknown field `owner`"),
    ("unknown_section", 37, 2, "unknown section `databases`"),
    ("missing_section", 1, 1, "missing section [compute]"),
    ("missing_field", 15, 1, "missing field `cidr`"),
    (
        "wrong_type",
        25,
        12,
        "expected a whole number, found string \"8080\"",
    ),
    (
        "port_out_of_range",
        25,
        12,
        "integer `70000` is out of range",
    ),
    ("bad_enum", 19, 12, "`tertiary` is not an allowed value"),
    ("key_type", 39, 39, "`string` is not an allowed value"),
    (
        "regions_not_array",
        10,
        1,
        "must be an array of tables, written [[regions]]",
    ),
    ("unknown_region", 16, 8, "unknown region `us-wst-2`"),
    (
        "bucket_no_regional_namespace",
        45,
        8,
        "me-south-1 has no S3 account regional namespace",
    ),
    (
        "duplicate_region",
        16,
        8,
        "region `us-east-1` is listed twice",
    ),
    ("cidr_malformed", 17, 8, "`10.1.0/16` is not an IPv4 CIDR"),
    (
        "cidr_overlap",
        17,
        8,
        "10.0.128.0/17 overlaps 10.0.0.0/16 of regions[0] (us-east-1)",
    ),
    (
        "cidr_prefix",
        12,
        8,
        "a /8 network; a VPC here is /16 to /24",
    ),
    ("cidr_host_bits", 17, 8, "`10.1.2.0/16` has host bits set"),
    (
        "one_az",
        13,
        7,
        "has 1 Availability Zone(s); at least two are needed",
    ),
    (
        "az_wrong_region",
        18,
        22,
        "`us-east-1b` is not an Availability Zone of us-west-2",
    ),
    (
        "certificate_wrong_region",
        12,
        13,
        "is a certificate of us-east-1, not of us-west-2",
    ),
    (
        "production_plain_http",
        10,
        14,
        "a production stack cannot go out over plain HTTP",
    ),
    (
        "az_does_not_exist",
        18,
        25,
        "`ca-central-1c` is not an Availability Zone of ca-central-1",
    ),
    (
        "duplicate_az",
        18,
        22,
        "Availability Zone `us-west-2a` is listed twice",
    ),
    (
        "min_gt_desired",
        27,
        20,
        "min (3) is greater than desired (2)",
    ),
    (
        "desired_gt_max_override",
        19,
        42,
        "desired (5) is greater than max (4)",
    ),
    ("bad_ami_id", 30, 6, "`ami-12345` is not an AMI id"),
    (
        "nul_byte",
        4,
        18,
        "TOML syntax: control character U+0000 (NUL) is not allowed",
    ),
    ("not_utf8", 4, 17, "the file is not UTF-8 text: byte 0xE9"),
    (
        "ami_build_region",
        31,
        16,
        "build region `eu-west-1` is not one of the stack's regions",
    ),
    (
        "rollout_misses_region",
        21,
        9,
        "the rollout misses region(s) `us-west-2`",
    ),
    (
        "rollout_repeats_region",
        21,
        36,
        "region `us-east-1` appears twice in the rollout",
    ),
    (
        "rollout_unknown_region",
        21,
        39,
        "names `eu-west-1`, which is not one of the stack's regions",
    ),
    ("rollout_both", 21, 9, "both `order` and `waves` are given"),
    ("rollout_neither", 20, 1, "neither `order` nor `waves`"),
    (
        "failover_two_primaries",
        20,
        12,
        "a second failover primary",
    ),
    (
        "failover_no_secondary",
        14,
        12,
        "a failover primary without any secondary",
    ),
    ("failover_no_primary", 19, 12, "no region is the primary"),
    ("empty_app_name", 3, 8, "app name is empty"),
    ("app_name_charset", 4, 15, "app environment `Test_Env`"),
    (
        "domain_outside_zone",
        7,
        10,
        "`shop.example.net` is outside the hosted zone `example.com`",
    ),
    (
        "origin_outside_zone",
        9,
        15,
        "`origin.other.org` is outside the hosted zone",
    ),
    ("bad_duration", 22, 8, "`5 minutes` is not a duration"),
    (
        "canary_short_bake",
        22,
        8,
        "bake is 30s, but a canary compares the load balancer's metrics over the bake",
    ),
    (
        "canary_margin",
        25,
        20,
        "max_5xx_increase is 150; it is percentage points, from 0 to 100",
    ),
    ("health_check_path", 26, 21, "does not start with '/'"),
    ("app_port_zero", 25, 12, "app_port is 0"),
    (
        "provisioned_without_capacity",
        40,
        11,
        "provisioned billing but no write_capacity",
    ),
    (
        "on_demand_with_capacity",
        40,
        18,
        "write_capacity is set but table `orders` is billed on demand",
    ),
    ("duplicate_table", 42, 8, "table `orders` is defined twice"),
    ("duplicate_queue", 41, 8, "queue `writes` is defined twice"),
    ("peak_rps_zero", 34, 12, "peak_rps is 0"),
    (
        "window_hours",
        40,
        12,
        "the window ends (hour 9) before it starts (hour 18)",
    ),
    ("window_day", 38, 16, "`funday` is not a day"),
    ("approvals_range", 39, 13, "approvals = 0 is outside 1..5"),
    (
        "approvals_type",
        38,
        13,
        "expected a whole number, found string \"two\"",
    ),
    (
        "availability_percent",
        38,
        11,
        "100 is not a percentage between 0 and 100",
    ),
    (
        "advisory_no_reason",
        39,
        10,
        "advisory rule `bucket_replicated` has no reason",
    ),
];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> PathBuf {
    repo()
        .join("tests/fixtures/invalid")
        .join(format!("{name}.toml"))
}

/// Run `strata validate FILE` with the AWS endpoint pointed at `endpoint`.
fn validate(file: &Path, endpoint: &str, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("validate")
        .arg(file)
        .args(["--endpoint-url", endpoint])
        .args(extra)
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("run strata")
}

/// A listener standing in for AWS: any connection to it would be an AWS call.
fn fake_aws() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let url = format!("http://{}", listener.local_addr().unwrap());
    (listener, url)
}

fn assert_no_connection(listener: &TcpListener) {
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        Err(e) => panic!("listener failed: {e}"),
        Ok((_, peer)) => panic!("strata connected to the AWS endpoint (from {peer})"),
    }
}

#[test]
fn the_fake_aws_endpoint_would_notice_a_connection() {
    let (listener, url) = fake_aws();
    let addr = url.trim_start_matches("http://");
    let _conn = std::net::TcpStream::connect(addr).expect("connect");
    let seen = (0..100).any(|_| match listener.accept() {
        Ok(_) => true,
        Err(_) => {
            std::thread::sleep(std::time::Duration::from_millis(10));
            false
        }
    });
    assert!(
        seen,
        "the listener must see a connection, or the no-AWS proof proves nothing"
    );
}

#[test]
fn every_fixture_reports_its_problem_where_it_is_and_exits_2_without_aws() {
    let (listener, url) = fake_aws();
    let mut failures = Vec::new();
    for (name, line, col, text) in FIXTURES {
        let file = fixture(name);
        let out = validate(&file, &url, &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let expected = format!("{}:{line}:{col}: error: ", file.display());
        let located = stderr
            .lines()
            .any(|l| l.starts_with(&expected) && l.contains(text));
        if out.status.code() != Some(INVALID_INPUT) || !located {
            failures.push(format!(
                "{name}: want exit 2 and `{expected}...{text}`, got exit {:?}:\n{stderr}",
                out.status.code()
            ));
        }
        if !stderr.contains("= help: ") {
            failures.push(format!("{name}: no help line (what is allowed):\n{stderr}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert_no_connection(&listener);
}

#[test]
fn there_is_a_fixture_file_for_every_table_row_and_a_row_for_every_file() {
    let dir = repo().join("tests/fixtures/invalid");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with("many_"))
        .collect();
    files.sort();
    let mut rows: Vec<String> = FIXTURES.iter().map(|f| f.0.to_string()).collect();
    rows.sort();
    assert_eq!(files, rows);
    assert!(rows.len() >= 25);
}

/// (line, column, message substring) of every problem in a multi-problem fixture.
fn assert_all_reported(name: &str, expected: &[(usize, usize, &str)]) {
    let (listener, url) = fake_aws();
    let out = validate(&fixture(name), &url, &["--output", "json"]);
    assert_eq!(out.status.code(), Some(INVALID_INPUT));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(json["valid"], false);
    let diags = json["diagnostics"].as_array().expect("diagnostics array");
    let got: Vec<(u64, u64, String)> = diags
        .iter()
        .map(|d| {
            (
                d["line"].as_u64().unwrap(),
                d["column"].as_u64().unwrap(),
                d["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(got.len(), expected.len(), "got {got:#?}");
    for (line, col, text) in expected {
        assert!(
            got.iter()
                .any(|(l, c, m)| *l == *line as u64 && *c == *col as u64 && m.contains(text)),
            "missing {line}:{col} {text} in {got:#?}"
        );
    }
    for d in diags {
        assert!(!d["help"].as_str().unwrap().is_empty(), "no help in {d}");
    }
    assert_no_connection(&listener);
}

#[test]
fn structural_problems_in_different_sections_are_all_reported() {
    assert_all_reported(
        "many_structural",
        &[
            (5, 1, "unknown field `owner`"),
            (15, 12, "`main` is not an allowed value"),
            (17, 1, "missing field `cidr`"),
            (26, 12, "expected a whole number, found string \"http\""),
            (35, 12, "integer `-5` is out of range"),
        ],
    );
}

#[test]
fn semantic_problems_in_different_sections_are_all_reported() {
    assert_all_reported(
        "many_semantic",
        &[
            (7, 10, "outside the hosted zone"),
            (13, 7, "at least two are needed"),
            (17, 8, "10.0.0.0/20 overlaps 10.0.0.0/16"),
            (21, 9, "the rollout misses region(s) `us-west-2`"),
            (22, 8, "`soon` is not a duration"),
            (28, 20, "min (3) is greater than desired (2)"),
            (31, 6, "`ami-XYZ` is not an AMI id"),
            (36, 20, "rps_per_instance is 0"),
        ],
    );
}

#[test]
fn zero_alarm_thresholds_and_version_days_are_each_located() {
    assert_all_reported(
        "many_zero_thresholds",
        &[
            (38, 27, "noncurrent_version_days is 0"),
            (41, 25, "target_5xx_per_minute is 0"),
        ],
    );
}

#[test]
fn meaning_problems_are_reported_alongside_a_structural_one() {
    assert_all_reported(
        "many_mixed",
        &[
            (7, 10, "`shop.example.net` is outside the hosted zone"),
            (17, 8, "10.0.0.0/16 overlaps 10.0.0.0/16 of regions[0]"),
            (26, 1, "unknown field `cpus`"),
            (31, 6, "`ami-0123` is not an AMI id"),
        ],
    );
}

#[test]
fn human_output_shows_every_problem_with_help_then_a_count() {
    let (_listener, url) = fake_aws();
    let file = fixture("many_semantic");
    let out = validate(&file, &url, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches(": error: ").count(), 8, "{stderr}");
    assert_eq!(stderr.matches("  = help: ").count(), 8, "{stderr}");
    assert!(
        stderr.contains("8 problem(s); nothing was sent to AWS"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn a_missing_file_is_named_and_exits_2() {
    let (listener, url) = fake_aws();
    let out = validate(Path::new("stacks/does-not-exist.toml"), &url, &[]);
    assert_eq!(out.status.code(), Some(INVALID_INPUT));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot read stack file stacks/does-not-exist.toml"),
        "{stderr}"
    );
    assert_no_connection(&listener);
}

#[test]
fn example_stacks_are_valid_and_summarised() {
    let (listener, url) = fake_aws();
    let cases: &[(&str, &[&str])] = &[
        (
            "stacks/example.toml",
            &["us-east-1", "us-west-2", "eu-west-1"],
        ),
        ("stacks/staging.toml", &["us-east-1", "eu-west-1"]),
        (
            "stacks/four-region.toml",
            &["us-east-1", "us-west-2", "eu-west-1", "eu-central-1"],
        ),
    ];
    for (file, regions) in cases {
        let out = validate(&repo().join(file), &url, &[]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains(": valid"), "{stdout}");
        for region in *regions {
            let row = stdout
                .lines()
                .find(|l| l.trim_start().starts_with(region))
                .unwrap_or_else(|| panic!("{file}: no summary row for {region}:\n{stdout}"));
            assert!(row.contains(&format!("{region}a")), "{row}");
        }
        assert!(
            stdout.lines().count() <= 24,
            "more than one screen:\n{stdout}"
        );
    }
    assert_no_connection(&listener);
}

#[test]
fn example_summary_shows_roles_rollout_and_capacity() {
    let (_listener, url) = fake_aws();
    let out = validate(&repo().join("stacks/example.toml"), &url, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("failover primary"), "{stdout}");
    assert_eq!(stdout.matches("failover secondary").count(), 2, "{stdout}");
    assert!(
        stdout.contains("us-east-1 -> us-west-2 -> eu-west-1"),
        "{stdout}"
    );
    assert!(stdout.contains("bake 60s"), "{stdout}");
    assert!(
        stdout.contains("peak 300 rps, 100 rps per instance"),
        "{stdout}"
    );
}

#[test]
fn json_output_of_a_valid_stack_carries_the_definition() {
    let (_listener, url) = fake_aws();
    let out = validate(
        &repo().join("stacks/example.toml"),
        &url,
        &["--output", "json"],
    );
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["valid"], true);
    assert_eq!(json["stack"]["regions"].as_array().unwrap().len(), 3);
    assert_eq!(json["stack"]["dns"]["manage_zone"], true);
}
