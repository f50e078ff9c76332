//! End-to-end: four eyes (`operations.approvals = 2`, issue 19 item 5b). Two IAM
//! users of the sandbox (moto's STS GetCallerIdentity answers each access key with
//! its user's ARN) run the real `strata` binary. Alice's deploy alone is refused
//! (exit 6, nothing created: no region stack, no lock); her own approval does not
//! count; Bob approving another plan id is refused; Bob's approval of the plan id
//! `strata plan --output json` printed lets Alice's deploy go ahead, and is
//! consumed by it; a changed definition (another plan) is refused again.

mod support;

use std::path::{Path, PathBuf};
use support::{cli, sandbox, sdk};

const REGIONS: [&str; 3] = ["us-east-1", "us-west-2", "eu-west-1"];
/// Approvals are recorded in the definition's first region.
const FIRST_REGION: &str = "us-east-1";

/// The example (production) stack, CloudFront off, needing two people.
fn production(dir: &Path, http_5xx_per_minute: u32) -> PathBuf {
    let text = std::fs::read_to_string(sandbox::repo_dir().join("stacks/example.toml")).unwrap();
    let text = text
        .replace("cloudfront = true", "cloudfront = false")
        .replace("gate_timeout = \"10m\"", "gate_timeout = \"3s\"")
        .replace(
            "http_5xx_per_minute = 50",
            &format!("http_5xx_per_minute = {http_5xx_per_minute}"),
        )
        .replace("[operations]\n", "[operations]\napprovals = 2\n");
    assert!(text.contains("approvals = 2"));
    let path = dir.join("production.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// An IAM user of the sandbox with an access key: (ARN, key id, secret).
struct User {
    arn: String,
    key: String,
    secret: String,
}

fn user(name: &str) -> User {
    let iam = sdk::iam();
    sdk::block_on(async {
        let arn = iam
            .create_user()
            .user_name(name)
            .send()
            .await
            .unwrap()
            .user()
            .unwrap()
            .arn()
            .to_string();
        let key = iam
            .create_access_key()
            .user_name(name)
            .send()
            .await
            .unwrap();
        let key = key.access_key().unwrap();
        User {
            arn,
            key: key.access_key_id().to_string(),
            secret: key.secret_access_key().to_string(),
        }
    })
}

/// `strata --output json ARGS` against the sandbox with `user`'s credentials.
fn strata_as(user: &User, args: &[&str]) -> cli::Run {
    let mut cmd = cli::sandbox_command();
    cmd.env("AWS_ACCESS_KEY_ID", &user.key)
        .env("AWS_SECRET_ACCESS_KEY", &user.secret)
        .arg("--output")
        .arg("json")
        .args(args);
    cli::run(&mut cmd)
}

fn deploy_as(user: &User, file: &Path) -> cli::Run {
    strata_as(
        user,
        &["deploy", file.to_str().unwrap(), "--yes", "--bake", "0s"],
    )
}

/// The plan id `strata plan --output json` prints.
fn plan_id(user: &User, file: &Path) -> String {
    let run = strata_as(user, &["plan", file.to_str().unwrap()]);
    run.expect_code(0);
    run.json_lines()
        .iter()
        .find_map(|l| {
            l.get("plan_id")
                .and_then(|v| v.as_str())
                .map(str::to_string)
        })
        .unwrap_or_else(|| panic!("no plan_id in the plan's JSON: {run}"))
}

/// The names of the stacks in `region` whose name starts with `prefix`, not deleted.
fn stacks_named(region: &str, prefix: &str) -> Vec<String> {
    let cfn = sdk::cloudformation(region);
    sdk::block_on(async {
        cfn.describe_stacks()
            .send()
            .await
            .unwrap()
            .stacks()
            .iter()
            .filter(|s| {
                s.stack_status().map(|x| x.as_str()) != Some("DELETE_COMPLETE")
                    && s.stack_name().is_some_and(|n| n.starts_with(prefix))
            })
            .map(|s| s.stack_name().unwrap().to_string())
            .collect()
    })
}

#[test]
fn a_deploy_needing_two_people_waits_for_another_persons_approval() {
    let _moto = sandbox::exclusive();
    let dir = tempfile::tempdir().unwrap();
    let file = production(dir.path(), 50);
    let path = file.to_str().unwrap();
    let alice = user("alice");
    let bob = user("bob");
    assert_ne!(alice.arn, bob.arn);

    let id = plan_id(&alice, &file);
    assert_eq!(id, plan_id(&bob, &file), "both compute the same plan id");

    // Alone: refused, nothing created.
    let run = deploy_as(&alice, &file);
    run.expect_code(6);
    assert!(
        run.stderr.contains(&id),
        "the refusal names the plan: {run}"
    );
    assert!(run.stderr.contains(&alice.arn), "and the deployer: {run}");
    assert!(
        run.stderr
            .contains("1 more approval by someone else is needed"),
        "{run}"
    );
    assert!(
        run.stderr.contains(&format!("strata approve {path} {id}")),
        "and the command to run: {run}"
    );
    for region in REGIONS {
        assert_eq!(
            stacks_named(region, "shop-prod"),
            Vec::<String>::new(),
            "{region}: a refused deploy created nothing (no stack, no lock)"
        );
    }

    // Her own approval is recorded but does not count.
    let run = strata_as(&alice, &["approve", path, &id]);
    run.expect_code(0);
    assert!(
        run.stdout.contains(&alice.arn),
        "the approver is the caller (moto tells the users apart): {run}"
    );
    let run = deploy_as(&alice, &file);
    run.expect_code(6);
    assert!(run.stderr.contains("is the deployer"), "{run}");
    assert_eq!(
        stacks_named(FIRST_REGION, &format!("shop-prod-{FIRST_REGION}")),
        Vec::<String>::new()
    );

    // Another plan id than the file's: nothing approved.
    let run = strata_as(&bob, &["approve", path, "p0000000000000000"]);
    run.expect_code(6);
    assert!(run.stderr.contains(&id), "it names the current plan: {run}");

    // Bob approves the plan (twice: one record, refreshed): Alice's deploy goes
    // ahead and uses the approvals up.
    strata_as(&bob, &["approve", path, &id]).expect_code(0);
    strata_as(&bob, &["approve", path, &id]).expect_code(0);
    assert_eq!(
        stacks_named(FIRST_REGION, &format!("shop-prod-approval-{id}-")).len(),
        2,
        "one record per person (Alice's and Bob's)"
    );
    let run = deploy_as(&alice, &file);
    run.expect_code(0);
    assert!(run.stdout.contains(&bob.arn), "who approved is said: {run}");
    for region in REGIONS {
        assert_eq!(
            stacks_named(region, &format!("shop-prod-{region}")).len(),
            1,
            "{region}: the approved deploy created its region stack"
        );
    }
    assert_eq!(
        stacks_named(FIRST_REGION, "shop-prod-approval-"),
        Vec::<String>::new(),
        "the deploy consumed its approvals"
    );

    // Another plan (an alarm threshold changed): Bob's approval of the first does
    // not carry over.
    let changed = production(dir.path(), 60);
    let other = plan_id(&alice, &changed);
    assert_ne!(other, id);
    let run = deploy_as(&alice, &changed);
    run.expect_code(6);
    assert!(run.stderr.contains(&other), "{run}");
    assert!(run.stderr.contains("nobody else"), "{run}");
}
