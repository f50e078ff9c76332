//! Test support: stacks — generated stack definitions (TOML text) of any size,
//! for tests and benchmarks that need more regions or AZs than the examples.

/// Commercial regions in the order generated stacks use them (us-east-1 first,
/// so the global stack's region is also the first of the rollout).
pub const REGIONS: &[&str] = &[
    "us-east-1",
    "us-west-2",
    "eu-west-1",
    "ap-southeast-2",
    "us-east-2",
    "us-west-1",
    "eu-central-1",
    "eu-west-2",
    "eu-west-3",
    "eu-north-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-southeast-1",
    "ca-central-1",
    "sa-east-1",
    "af-south-1",
    "ap-east-1",
    "ap-south-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ca-west-1",
    "eu-central-2",
    "eu-south-1",
    "eu-south-2",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "ap-east-2",
    "ap-southeast-5",
    "ap-southeast-7",
];

/// Region `i` of a generated stack: a real region while there are any, then a
/// made-up name (such a stack does not pass `stack::validate`, only synthesis).
pub fn region_name(i: usize) -> String {
    REGIONS
        .get(i)
        .map(|r| r.to_string())
        .unwrap_or_else(|| format!("xx-synthetic-{}", i + 1))
}

/// A full stack (table, queue, storage, CloudFront with the user's certificate,
/// regional certificates strata requests, failover roles)
/// over `regions` regions of `azs` AZs each; region `i` gets `10.i.0.0/16`.
pub fn stack_toml(regions: usize, azs: usize) -> String {
    assert!((1..=250).contains(&regions) && (2..=26).contains(&azs));
    let mut s = String::from(
        r#"[app]
name = "gen"
environment = "test"

[dns]
domain = "api.example.org"
hosted_zone = "example.org"
manage_zone = true

"#,
    );
    let names: Vec<String> = (0..regions).map(region_name).collect();
    for (i, name) in names.iter().enumerate() {
        // A real region's own zones (validate knows them) while it has enough,
        // else letters from a.
        let real = strata::stack::regions::azs_of(name).filter(|z| z.len() >= azs);
        let zones: Vec<String> = (0..azs)
            .map(|z| match &real {
                Some(real) => format!("\"{}\"", real[z]),
                None => format!("\"{name}{}\"", (b'a' + z as u8) as char),
            })
            .collect();
        s.push_str(&format!(
            "[[regions]]\nname = \"{name}\"\ncidr = \"10.{i}.0.0/16\"\nazs = [{}]\nfailover = \"{}\"\n\n",
            zones.join(", "),
            if i == 0 { "primary" } else { "secondary" }
        ));
    }
    let order: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    s.push_str(&format!(
        r#"[rollout]
order = [{}]

[compute]
instance_type = "t3.small"
app_port = 8080
health_check_path = "/healthz"
capacity = {{ min = 3, desired = 3, max = 6 }}

[ami]
id = "ami-0123456789abcdef0"
build_region = "{}"

[[tables]]
name = "sessions"
partition_key = {{ name = "id", type = "S" }}

[[tables]]
name = "local-cache"
partition_key = {{ name = "key", type = "S" }}
billing = "provisioned"
read_capacity = 5
write_capacity = 5
global = false

[[queues]]
name = "writes"

[edge]
certificate_arn = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000002"

[capacity]
peak_rps = 1000
rps_per_instance = 200
"#,
        order.join(", "),
        names[0]
    ));
    s
}

/// The fourth region tests add to the example (last in the rollout order).
pub const FOURTH_REGION: &str = "ap-southeast-2";

/// `example` (the text of `stacks/example.toml` or a copy of it) with a fourth
/// region, ap-southeast-2, last in the rollout order.
pub fn with_fourth_region(example: &str) -> String {
    with_added_regions(example, &[FOURTH_REGION])
}

/// The regions tests may add to the example: name, CIDR, AZs.
const ADDABLE: [(&str, &str, &str); 2] = [
    (
        "ap-southeast-2",
        "10.40.0.0/16",
        r#"["ap-southeast-2a", "ap-southeast-2b"]"#,
    ),
    (
        "ca-central-1",
        "10.50.0.0/16",
        r#"["ca-central-1a", "ca-central-1b"]"#,
    ),
];

/// `example` with `added` (of ap-southeast-2 and ca-central-1) as secondary
/// regions, last in the rollout order, in the order given.
pub fn with_added_regions(example: &str, added: &[&str]) -> String {
    let order = r#"order = ["us-east-1", "us-west-2", "eu-west-1"]"#;
    assert!(
        example.contains(order),
        "the example's rollout order changed"
    );
    let quoted: Vec<String> = added.iter().map(|r| format!(", \"{r}\"")).collect();
    let text = example.replacen(
        order,
        &format!(
            r#"order = ["us-east-1", "us-west-2", "eu-west-1"{}]"#,
            quoted.concat()
        ),
        1,
    );
    let mut regions = String::new();
    for name in added {
        let (_, cidr, azs) = ADDABLE
            .iter()
            .find(|(n, _, _)| n == name)
            .unwrap_or_else(|| panic!("{name} is not a region tests add"));
        regions.push_str(&format!(
            "\n[[regions]]\nname = \"{name}\"\ncidr = \"{cidr}\"\nazs = {azs}\nfailover = \"secondary\"\n"
        ));
    }
    let at = text.find("[rollout]").expect("a [rollout] table");
    format!("{}{regions}\n{}", &text[..at], &text[at..])
}

/// `stacks/example.toml` without CloudFront (fewer resources per run), with
/// `desired` instances per region and each `(from, to)` of `edits` replaced (each
/// must occur), written to `dir/name`.
pub fn example_fixture(
    dir: &std::path::Path,
    name: &str,
    desired: u32,
    edits: &[(&str, &str)],
) -> std::path::PathBuf {
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("stacks/example.toml");
    let mut text = std::fs::read_to_string(example).expect("stacks/example.toml");
    let capacity = format!("capacity = {{ min = 2, desired = {desired}, max = 4 }}");
    let all = [
        ("cloudfront = true", "cloudfront = false"),
        (
            "capacity = { min = 2, desired = 2, max = 4 }",
            capacity.as_str(),
        ),
    ];
    for (from, to) in all.iter().chain(edits) {
        assert!(text.contains(from), "stacks/example.toml has no `{from}`");
        text = text.replacen(from, to, 1);
    }
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write the fixture");
    path
}
