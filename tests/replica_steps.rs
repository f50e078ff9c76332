//! Global-table replicas one at a time (issue 16 item 5): adding two regions in one
//! deploy changes the home region's global table by one replica per update, each
//! waited for (the sandbox refuses an update adding two, as AWS does), `plan`
//! shows the steps, and afterwards DescribeTable lists a replica in every region.

mod support;

use strata::exit_code;
use support::{cli, sandbox, sdk, stacks};

const HOME: &str = "us-east-1";

fn table_updates(table_logical_id: &str) -> usize {
    let cfn = sdk::cloudformation(HOME);
    sdk::block_on(async {
        let out = cfn
            .describe_stack_events()
            .stack_name("shop-prod-us-east-1")
            .send()
            .await
            .unwrap();
        out.stack_events()
            .iter()
            .filter(|e| e.logical_resource_id() == Some(table_logical_id))
            .filter(|e| e.resource_status().map(|s| s.as_str()) == Some("UPDATE_COMPLETE"))
            .count()
    })
}

#[test]
fn two_regions_added_at_once_get_their_replicas_one_update_at_a_time() {
    let _moto = sandbox::exclusive();
    let example = std::fs::read_to_string(sandbox::repo_dir().join("stacks/example.toml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let three = dir.path().join("example.toml");
    std::fs::write(&three, &example).unwrap();
    cli::deploy_json(&three).expect_code(exit_code::SUCCESS);

    let five = dir.path().join("example-five.toml");
    std::fs::write(
        &five,
        stacks::with_added_regions(&example, &["ap-southeast-2", "ca-central-1"]),
    )
    .unwrap();
    let def = strata::stack::load(&five).expect("five regions load");
    let table = def
        .tables
        .iter()
        .find(|t| t.global)
        .expect("a global table");
    let logical = format!("Table{}", strata::synth::naming::pascal(&table.name));
    let name = strata::synth::naming::table_name(&def, &table.name);

    let plan = cli::strata_sandbox(&["plan", five.to_str().unwrap()]);
    plan.expect_code(exit_code::SUCCESS);
    let (_, text, _) = plan.into_parts();
    // The home region's stack: one step before its own update.
    assert!(
        text.contains(&format!(
            r#""replica_steps":[{{"does":["{logical}: add ap-southeast-2"]}}]"#
        )),
        "{text}"
    );

    let before = table_updates(&logical);
    let run = cli::deploy_json(&five);
    run.expect_code(exit_code::SUCCESS);
    let (_, out, _) = run.into_parts();
    assert!(out.contains("replica step 1 of 2"), "{out}");
    // Two updates of the table: one per replica added.
    assert_eq!(table_updates(&logical) - before, 2);

    let db = sdk::dynamodb(HOME);
    let mut regions: Vec<String> = sdk::block_on(async {
        let d = db.describe_table().table_name(&name).send().await.unwrap();
        d.table()
            .unwrap()
            .replicas()
            .iter()
            .filter_map(|r| r.region_name().map(str::to_string))
            .collect()
    });
    regions.sort();
    for r in def.regions.iter().filter(|r| r.name != HOME) {
        assert!(
            regions.contains(&r.name),
            "no replica in {}: {regions:?}",
            r.name
        );
    }

    // Nothing left to do.
    let again = cli::deploy_json(&five);
    again.expect_code(exit_code::SUCCESS);
    assert!(again.into_parts().1.contains("\"outcome\":\"no-change\""));
}
