//! `strata destroy` against the sandbox (the strict one: a bucket holding objects
//! fails its delete, as on AWS): data is kept unless named, the summary says what
//! was deleted, what was kept and why, and the command that removes it.

mod support;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;
use std::path::Path;
use strata::exit_code;
use strata::synth::naming::{bucket_name_in, table_name};
use support::{cli, sandbox, sdk};

const STAGING: &str = "stacks/staging.toml";
const HOME: &str = "us-east-1";

fn summary(run: &cli::Run) -> Value {
    run.json_lines()
        .into_iter()
        .find_map(|l| l.get("summary").cloned())
        .unwrap_or_else(|| panic!("no summary\n{run}"))
}

fn kept<'a>(summary: &'a Value, kind: &str, name: &str) -> Option<&'a Value> {
    summary["kept"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == kind && k["name"] == name)
}

/// (object versions, delete markers) in the bucket; `None` when it is gone.
fn versions(bucket: &str) -> Option<(usize, usize)> {
    let s3 = sdk::s3(HOME);
    sdk::block_on(async {
        s3.list_object_versions()
            .bucket(bucket)
            .send()
            .await
            .ok()
            .map(|o| (o.versions().len(), o.delete_markers().len()))
    })
}

fn row_is_there(table: &str) -> bool {
    let db = sdk::dynamodb(HOME);
    sdk::block_on(async {
        db.get_item()
            .table_name(table)
            .key("session_id", AttributeValue::S("s-1".into()))
            .send()
            .await
            .map(|o| o.item().is_some())
            .unwrap_or(false)
    })
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

/// Two versions of an object and a delete marker in the bucket, a row in the table.
/// The bucket's policy refuses requests without TLS and the sandbox speaks HTTP:
/// the policy is lifted for these writes and put back as it was.
fn put_data(bucket: &str, table: &str) {
    let s3 = sdk::s3(HOME);
    let db = sdk::dynamodb(HOME);
    sdk::block_on(async {
        let policy = s3
            .get_bucket_policy()
            .bucket(bucket)
            .send()
            .await
            .expect("the bucket's TLS-only policy")
            .policy()
            .expect("a policy")
            .to_string();
        s3.delete_bucket_policy()
            .bucket(bucket)
            .send()
            .await
            .expect("lift the policy");
        for body in ["one", "two"] {
            s3.put_object()
                .bucket(bucket)
                .key("orders/1.json")
                .body(body.as_bytes().to_vec().into())
                .send()
                .await
                .expect("put an object version");
        }
        s3.delete_object()
            .bucket(bucket)
            .key("orders/1.json")
            .send()
            .await
            .expect("a delete marker");
        s3.put_bucket_policy()
            .bucket(bucket)
            .policy(policy)
            .send()
            .await
            .expect("put the policy back");
        db.put_item()
            .table_name(table)
            .item("session_id", AttributeValue::S("s-1".into()))
            .send()
            .await
            .expect("put a row");
    });
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
    put_data(&bucket, &table);

    let run = cli::strata_sandbox(&["destroy", &f, "--yes", "--output", "json"]);
    run.expect_code(exit_code::SUCCESS);
    let s = summary(&run);
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
    assert_eq!(versions(&bucket), Some((2, 1)));
    assert!(row_is_there(&table));
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
    assert_eq!(versions(&bucket), Some((2, 1)));

    // The commands it printed delete exactly what they name.
    let gone = run_remove(b);
    gone.expect_code(exit_code::SUCCESS);
    let g = summary(&gone);
    assert_eq!(g["outcome"], "destroyed", "{gone}");
    let deleted = &g["data_deleted"][0];
    assert_eq!(deleted["name"], bucket.as_str(), "{g}");
    assert_eq!(deleted["versions_deleted"], 3, "{g}");
    assert_eq!(versions(&bucket), None, "the bucket is still there");
    assert!(row_is_there(&table), "the table was not named");
    assert!(kept(&g, "table", &table).is_some(), "{g}");

    run_remove(t).expect_code(exit_code::SUCCESS);
    assert!(!row_is_there(&table));
    let db = sdk::dynamodb(HOME);
    let tables = sdk::block_on(async { db.list_tables().send().await }).expect("list tables");
    assert!(!tables.table_names().contains(&table), "{tables:?}");

    // Nothing left to delete: a truthful no-change.
    let again = cli::strata_sandbox(&["destroy", &f, "--yes", "--output", "json"]);
    again.expect_code(exit_code::SUCCESS);
    assert_eq!(summary(&again)["outcome"], "no-change", "{again}");
}
