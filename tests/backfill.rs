//! Back-fill (issue 16 item 3), end to end on the sandbox: a region added to a
//! deployed stack gets, in the same deploy, the objects the other regions' buckets
//! held before it joined (read back through S3); `status` says its replication is
//! complete only when it is; `strata dr backfill` copies what is missing, a second
//! run copies nothing; the sandbox refuses a conditional copy over an existing key,
//! as S3 does.

mod support;

use serde_json::Value;
use strata::exit_code;
use strata::synth::naming::bucket_name_in;
use support::{cli, sandbox, sdk, stacks};

const ADDED: &str = stacks::FOURTH_REGION;

/// Put `key` into the bucket. The bucket's policy refuses requests without TLS and
/// the sandbox speaks HTTP, as `support::data::put_data` explains: the policy is
/// lifted for the write and put back.
fn put_object(region: &str, bucket: &str, key: &str, body: &str) {
    let s3 = sdk::s3(region);
    sdk::block_on(async {
        let policy = s3
            .get_bucket_policy()
            .bucket(bucket)
            .send()
            .await
            .ok()
            .and_then(|p| p.policy().map(str::to_string));
        if policy.is_some() {
            s3.delete_bucket_policy()
                .bucket(bucket)
                .send()
                .await
                .expect("lift the policy");
        }
        s3.put_object()
            .bucket(bucket)
            .key(key)
            .body(body.as_bytes().to_vec().into())
            .send()
            .await
            .expect("put an object");
        if let Some(policy) = policy {
            s3.put_bucket_policy()
                .bucket(bucket)
                .policy(policy)
                .send()
                .await
                .expect("put the policy back");
        }
    });
}

fn keys(region: &str, bucket: &str) -> Vec<String> {
    let s3 = sdk::s3(region);
    sdk::block_on(async {
        let out = s3
            .list_objects_v2()
            .bucket(bucket)
            .send()
            .await
            .expect("ListObjectsV2");
        out.contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_string))
            .collect()
    })
}

fn body(region: &str, bucket: &str, key: &str) -> String {
    let s3 = sdk::s3(region);
    sdk::block_on(async {
        let out = s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .expect("GetObject");
        String::from_utf8(out.body.collect().await.unwrap().to_vec()).unwrap()
    })
}

fn status_of(file: &str, region: &str) -> Value {
    let run = cli::strata_sandbox(&["status", file, "--output", "json"]);
    run.expect_code(exit_code::SUCCESS);
    let status: Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("no JSON status ({e})\n{run}"));
    status["regions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["region"] == region)
        .unwrap_or_else(|| panic!("no {region} in {status}"))
        .clone()
}

fn backfill_json(file: &str, region: &str) -> (i32, Value) {
    let run = cli::strata_sandbox(&[
        "dr", "backfill", file, "--region", region, "--output", "json",
    ]);
    let report = run
        .json_lines()
        .pop()
        .unwrap_or_else(|| panic!("no JSON report\n{run}"));
    (run.into_parts().0, report)
}

#[test]
fn an_added_regions_bucket_receives_the_objects_from_before_it_joined_and_dr_backfill_finishes_it()
{
    let _moto = sandbox::exclusive();
    let example = std::fs::read_to_string(sandbox::repo_dir().join("stacks/example.toml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let three = dir.path().join("example.toml");
    std::fs::write(&three, &example).unwrap();
    cli::deploy_json(&three).expect_code(exit_code::SUCCESS);

    let four = dir.path().join("example-four.toml");
    std::fs::write(&four, stacks::with_fourth_region(&example)).unwrap();
    let f = four.to_str().unwrap();
    let def = strata::stack::load(&four).expect("four regions load");
    let bucket = |r: &str| bucket_name_in(&def, sdk::ACCOUNT, r);

    // Objects written before the fourth region exists, in two regions' buckets
    // (one key in both, with different bodies: the first region's wins).
    put_object("us-east-1", &bucket("us-east-1"), "orders/1.json", "east-1");
    put_object(
        "us-east-1",
        &bucket("us-east-1"),
        "shared.txt",
        "from us-east-1",
    );
    put_object(
        "us-west-2",
        &bucket("us-west-2"),
        "orders/2 summer.json",
        "west-2",
    );
    put_object(
        "us-west-2",
        &bucket("us-west-2"),
        "shared.txt",
        "from us-west-2",
    );

    let run = cli::deploy_json(&four);
    run.expect_code(exit_code::SUCCESS);
    let summary = run.summary();
    let fills = summary["backfill"]
        .as_array()
        .unwrap_or_else(|| panic!("no back-fill in the summary: {summary}"));
    assert_eq!(fills.len(), 1, "only the created region: {summary}");
    assert_eq!(fills[0]["region"], ADDED);
    assert_eq!(fills[0]["copied"], 3, "{summary}");
    assert_eq!(fills[0]["complete"], true, "{summary}");

    // Read back through S3: the new region's bucket holds every object.
    let mut got = keys(ADDED, &bucket(ADDED));
    got.sort();
    assert_eq!(got, ["orders/1.json", "orders/2 summer.json", "shared.txt"]);
    assert_eq!(body(ADDED, &bucket(ADDED), "shared.txt"), "from us-east-1");
    assert_eq!(
        body(ADDED, &bucket(ADDED), "orders/2 summer.json"),
        "west-2"
    );

    // The first two regions still lack each other's objects (written before the
    // test, outside any deploy): status says so, while the new region lacks
    // nothing the others hold.
    let added = status_of(f, ADDED);
    assert_eq!(added["replication"]["complete"], true, "{added}");
    let east = status_of(f, "us-east-1");
    assert_eq!(east["replication"]["complete"], false, "{east}");
    assert_eq!(east["replication"]["missing"], 1, "{east}");

    // An object written to one region only (the sandbox does not replicate live):
    // the new region is no longer complete, and dr backfill copies just that one.
    put_object("us-east-1", &bucket("us-east-1"), "orders/3.json", "late");
    let added = status_of(f, ADDED);
    assert_eq!(added["replication"]["complete"], false, "{added}");
    assert_eq!(added["replication"]["missing"], 1, "{added}");

    let (code, first) = backfill_json(f, ADDED);
    assert_eq!(code, exit_code::SUCCESS, "{first}");
    assert_eq!(
        (first["missing"].clone(), first["copied"].clone()),
        (1.into(), 1.into()),
        "{first}"
    );
    assert_eq!(body(ADDED, &bucket(ADDED), "orders/3.json"), "late");
    let (code, second) = backfill_json(f, ADDED);
    assert_eq!(code, exit_code::SUCCESS, "{second}");
    assert_eq!(
        (second["missing"].clone(), second["copied"].clone()),
        (0.into(), 0.into()),
        "{second}"
    );
    assert_eq!(second["complete"], true);
    assert_eq!(status_of(f, ADDED)["replication"]["complete"], true);

    // The next deploy changes nothing and back-fills nothing.
    let again = cli::deploy_json(&four);
    again.expect_code(exit_code::SUCCESS);
    let summary = again.summary();
    assert_eq!(summary["outcome"], "no-change", "{again}");
    assert!(summary.get("backfill").is_none(), "{summary}");
}

/// S3's `If-None-Match: *` on CopyObject: refused with 412 over an existing key,
/// done over a free one (sandbox/moto_s3_objects.py).
#[test]
fn the_sandbox_refuses_a_conditional_copy_over_an_existing_key() {
    let _moto = sandbox::shared();
    let s3 = sdk::s3("us-east-1");
    sdk::block_on(async {
        let name = format!("strata-cond-copy-{}", std::process::id());
        s3.create_bucket().bucket(&name).send().await.unwrap();
        for (k, b) in [("src", "new"), ("dst", "old")] {
            s3.put_object()
                .bucket(&name)
                .key(k)
                .body(b.as_bytes().to_vec().into())
                .send()
                .await
                .unwrap();
        }
        let refused = s3
            .copy_object()
            .bucket(&name)
            .key("dst")
            .copy_source(format!("{name}/src"))
            .if_none_match("*")
            .send()
            .await
            .expect_err("a copy over an existing key");
        let code = aws_sdk_s3::error::ProvideErrorMetadata::code(&refused).map(str::to_string);
        assert_eq!(code.as_deref(), Some("PreconditionFailed"), "{refused:?}");
        s3.copy_object()
            .bucket(&name)
            .key("free")
            .copy_source(format!("{name}/src"))
            .if_none_match("*")
            .send()
            .await
            .expect("a copy to a free key");
        let dst = s3
            .get_object()
            .bucket(&name)
            .key("dst")
            .send()
            .await
            .unwrap();
        let dst = dst.body.collect().await.unwrap().to_vec();
        assert_eq!(dst, b"old", "the existing object is untouched");
    });
}

/// The example with a regional table beside the global one (each region's stack
/// then holds a bucket and a table of its own), four regions or three.
fn example_with_sessions(four: bool) -> String {
    let example = std::fs::read_to_string(sandbox::repo_dir().join("stacks/example.toml")).unwrap();
    let mut text = if four {
        stacks::with_fourth_region(&example)
    } else {
        example
    };
    text.push_str(
        "\n[[tables]]\nname = \"sessions\"\npartition_key = { name = \"session_id\", type = \"S\" }\n\
         global = false\n",
    );
    text
}

/// Issue 16's "remove a region with objects in its bucket and rows in its tables,
/// add it back": the removal keeps them, the deploy that adds the region back
/// takes them back (no name clash, nothing deleted by hand) and back-fills what was
/// written elsewhere meanwhile; the next deploy changes nothing.
#[test]
fn a_region_removed_and_added_back_has_its_data_and_what_was_written_while_it_was_away() {
    let _moto = sandbox::exclusive();
    let dir = tempfile::tempdir().unwrap();
    let four = dir.path().join("four.toml");
    let three = dir.path().join("three.toml");
    std::fs::write(&four, example_with_sessions(true)).unwrap();
    std::fs::write(&three, example_with_sessions(false)).unwrap();
    let def = strata::stack::load(&four).expect("four regions load");
    let bucket = |r: &str| bucket_name_in(&def, sdk::ACCOUNT, r);
    let sessions = strata::synth::naming::table_name(&def, "sessions");
    cli::deploy_json(&four).expect_code(exit_code::SUCCESS);

    // Data in the leaving region: two versions and a delete marker, a current
    // object, a row.
    support::data::put_data(ADDED, &bucket(ADDED), &sessions);
    put_object(ADDED, &bucket(ADDED), "kept.txt", "kept");

    // The region leaves the definition: its stack goes, its bucket and table stay.
    let removed = cli::deploy_json(&three);
    removed.expect_code(exit_code::SUCCESS);
    let cfn = sdk::cloudformation(ADDED);
    assert!(
        sdk::block_on(async {
            cfn.describe_stacks()
                .stack_name(def.region_stack_name(ADDED))
                .send()
                .await
                .is_err()
        }),
        "the leaving region's stack is deleted\n{removed}"
    );
    assert_eq!(support::data::versions(ADDED, &bucket(ADDED)), Some((3, 1)));

    // Written while it is away.
    put_object(
        "us-east-1",
        &bucket("us-east-1"),
        "while-away.txt",
        "meanwhile",
    );

    // Added back: the bucket and table taken back, the bucket back-filled.
    let back = cli::deploy_json(&four);
    back.expect_code(exit_code::SUCCESS);
    let summary = back.summary();
    let fill = summary["backfill"]
        .as_array()
        .and_then(|b| b.iter().find(|f| f["region"] == ADDED).cloned())
        .unwrap_or_else(|| panic!("no back-fill of {ADDED}: {summary}"));
    assert_eq!(fill["copied"], 1, "{fill}");
    assert_eq!(fill["complete"], true, "{fill}");

    // Read back: its own data intact (every version, the marker, the row), what
    // was written meanwhile there too, and the stack holds the very bucket.
    assert_eq!(support::data::versions(ADDED, &bucket(ADDED)), Some((4, 1)));
    assert_eq!(body(ADDED, &bucket(ADDED), "kept.txt"), "kept");
    assert_eq!(body(ADDED, &bucket(ADDED), "while-away.txt"), "meanwhile");
    assert!(support::data::row_is_there(ADDED, &sessions), "the row");
    assert_eq!(
        sdk::physical_id(ADDED, &def.region_stack_name(ADDED), "Bucket"),
        bucket(ADDED)
    );

    let again = cli::deploy_json(&four);
    again.expect_code(exit_code::SUCCESS);
    let summary = again.summary();
    assert_eq!(summary["outcome"], "no-change", "{again}");
}
