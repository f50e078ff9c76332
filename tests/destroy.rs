//! `strata destroy` against the sandbox (the strict one: a bucket holding objects
//! fails its delete, as on AWS): data is kept unless named, the summary says what
//! was deleted, what was kept and why, and the command that removes it.

mod support;

use serde_json::Value;
use std::path::Path;
use strata::exit_code;
use strata::synth::naming::{bucket_name_in, table_name};
use support::{cli, data, sandbox, sdk};

const STAGING: &str = "stacks/staging.toml";
const HOME: &str = "us-east-1";

fn kept<'a>(summary: &'a Value, kind: &str, name: &str) -> Option<&'a Value> {
    summary["kept"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == kind && k["name"] == name)
}

/// The `remove` command of a kept item, run with JSON output.
fn run_remove(k: &Value) -> cli::Run {
    let remove = k["remove"].as_str().unwrap();
    let words: Vec<&str> = remove
        .strip_prefix("strata ")
        .unwrap_or_else(|| panic!("not a strata command: {remove}"))
        .split_whitespace()
        .chain(["--output", "json"])
        .collect();
    cli::strata_sandbox(&words)
}

#[test]
fn destroy_keeps_a_bucket_with_versions_and_a_table_with_rows_then_deletes_them_when_named() {
    let _moto = sandbox::exclusive();
    let file = sandbox::repo_dir().join(STAGING);
    let f = file.to_string_lossy().to_string();
    let def = strata::stack::load(Path::new(&file)).expect("staging loads");
    cli::strata_sandbox(&["deploy", &f, "--yes", "--bake", "0s"]).expect_code(exit_code::SUCCESS);
    let bucket = bucket_name_in(&def, sdk::ACCOUNT, HOME);
    let table = table_name(&def, "sessions");
    data::put_data(HOME, &bucket, &table);

    let run = cli::strata_sandbox(&["destroy", &f, "--yes", "--output", "json"]);
    run.expect_code(exit_code::SUCCESS);
    let s = run.summary();
    assert_eq!(s["outcome"], "destroyed", "{run}");
    assert!(s["deployment_id"].as_str().unwrap().starts_with('d'), "{s}");
    assert!(
        s["stacks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|st| st["result"] == "destroyed"),
        "{s}"
    );
    for r in &def.regions {
        let cfn = sdk::cloudformation(&r.name);
        let name = def.region_stack_name(&r.name);
        assert_eq!(
            sdk::block_on(sdk::settled_stack(&cfn, &name)),
            None,
            "{name} is left"
        );
    }
    // The data is still there, and the summary says so, why, and how to delete it.
    assert_eq!(data::versions(HOME, &bucket), Some((2, 1)));
    assert!(data::row_is_there(HOME, &table));
    let b = kept(&s, "bucket", &bucket).unwrap_or_else(|| panic!("bucket not listed: {s}"));
    assert!(
        b["why"].as_str().unwrap().contains("holds object versions"),
        "{b}"
    );
    assert!(
        b["remove"]
            .as_str()
            .unwrap()
            .contains(&format!("--delete-data {bucket}")),
        "{b}"
    );
    let t = kept(&s, "table", &table).unwrap_or_else(|| panic!("table not listed: {s}"));
    // Every region's AMI copy is listed, and is still there (us-east-1, the build
    // region, runs the source image itself: no copy there).
    for r in def.regions.iter().filter(|r| r.name != HOME) {
        let copy = s["kept"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kind"] == "ami-copy" && k["region"] == r.name.as_str())
            .unwrap_or_else(|| panic!("no AMI copy listed in {}: {s}", r.name));
        let id = copy["name"].as_str().unwrap();
        let ec2 = sdk::ec2(&r.name);
        let images = sdk::block_on(async { ec2.describe_images().image_ids(id).send().await })
            .expect("describe images");
        assert_eq!(images.images().len(), 1, "{id}");
        assert!(
            copy["remove"]
                .as_str()
                .unwrap()
                .contains("deregister-image"),
            "{copy}"
        );
    }

    // A name that is not one of them is refused before anything changes.
    let typo = cli::strata_sandbox(&["destroy", &f, "--yes", "--delete-data", "nope"]);
    typo.expect_code(exit_code::INVALID_INPUT);
    assert!(
        typo.stderr.contains("nope") && typo.stderr.contains(&bucket),
        "{typo}"
    );
    assert_eq!(data::versions(HOME, &bucket), Some((2, 1)));

    // The commands it printed delete exactly what they name.
    let gone = run_remove(b);
    gone.expect_code(exit_code::SUCCESS);
    let g = gone.summary();
    assert_eq!(g["outcome"], "destroyed", "{gone}");
    let deleted = &g["data_deleted"][0];
    assert_eq!(deleted["name"], bucket.as_str(), "{g}");
    assert_eq!(deleted["versions_deleted"], 3, "{g}");
    assert_eq!(
        data::versions(HOME, &bucket),
        None,
        "the bucket is still there"
    );
    assert!(data::row_is_there(HOME, &table), "the table was not named");
    assert!(kept(&g, "table", &table).is_some(), "{g}");

    run_remove(t).expect_code(exit_code::SUCCESS);
    assert!(!data::row_is_there(HOME, &table));
    let db = sdk::dynamodb(HOME);
    let tables = sdk::block_on(async { db.list_tables().send().await }).expect("list tables");
    assert!(!tables.table_names().contains(&table), "{tables:?}");

    // Nothing left to delete: a truthful no-change.
    let again = cli::strata_sandbox(&["destroy", &f, "--yes", "--output", "json"]);
    again.expect_code(exit_code::SUCCESS);
    assert_eq!(again.summary()["outcome"], "no-change", "{again}");
}
