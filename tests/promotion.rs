//! End-to-end: promotion (`operations.promote_from`, issue 19 item 5). The real
//! `strata` binary deploys staging (`stacks/staging.toml`, AMI ami-0a1b2c3d) to the
//! sandbox; a production definition promoted from it is then refused (exit 6,
//! nothing created: no production stack, no lock left) while it names another AMI,
//! and deploys once it names the AMI staging runs healthy. A promote_from file that
//! does not exist is exit 2.

mod support;

use std::path::{Path, PathBuf};
use support::{cli, sandbox, sdk};

const STAGING_AMI: &str = "ami-0a1b2c3d";
const OTHER_AMI: &str = "ami-0123456789abcdef0";
const PRODUCTION_REGIONS: [&str; 3] = ["us-east-1", "us-west-2", "eu-west-1"];

/// The example (production) stack, CloudFront off, on `ami`, promoted from `from`.
fn production(dir: &Path, ami: &str, from: &str) -> PathBuf {
    let text = std::fs::read_to_string(sandbox::repo_dir().join("stacks/example.toml")).unwrap();
    let text = text
        .replace("cloudfront = true", "cloudfront = false")
        .replace("gate_timeout = \"10m\"", "gate_timeout = \"3s\"")
        .replace(&format!("id = \"{OTHER_AMI}\""), &format!("id = \"{ami}\""))
        .replace(
            "[operations]\n",
            &format!("[operations]\npromote_from = \"{from}\"\n"),
        );
    assert!(text.contains(&format!("promote_from = \"{from}\"")));
    assert!(text.contains(&format!("id = \"{ami}\"")));
    let path = dir.join("production.toml");
    std::fs::write(&path, text).unwrap();
    path
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
fn production_deploys_only_the_ami_staging_runs_healthy() {
    let _moto = sandbox::exclusive();
    let dir = tempfile::tempdir().unwrap();
    let staging = dir.path().join("staging.toml");
    std::fs::copy(sandbox::repo_dir().join("stacks/staging.toml"), &staging).unwrap();
    let text = std::fs::read_to_string(&staging).unwrap();
    assert!(text.contains(&format!("id = \"{STAGING_AMI}\"")));

    // A promote_from file that does not exist: invalid input, before any AWS change.
    let missing = production(dir.path(), STAGING_AMI, "nope.toml");
    let run = cli::deploy_json(&missing);
    run.expect_code(2);
    assert!(run.stderr.contains("nope.toml"), "{run:?}");

    cli::deploy_json(&staging).expect_code(0);

    // Another AMI than staging runs: refused, nothing created.
    let other = production(dir.path(), OTHER_AMI, "staging.toml");
    let run = cli::deploy_json(&other);
    run.expect_code(6);
    assert!(
        run.stderr
            .contains(&format!("runs {STAGING_AMI}, not {OTHER_AMI}")),
        "the refusal names what staging runs: {run:?}"
    );
    assert!(run.stderr.contains("staging.toml"), "{run:?}");
    for region in PRODUCTION_REGIONS {
        assert_eq!(
            stacks_named(region, "shop-prod"),
            Vec::<String>::new(),
            "{region}: a refused deploy created nothing (no stack, no lock)"
        );
    }

    // The AMI staging runs healthy: the deploy goes ahead.
    let same = production(dir.path(), STAGING_AMI, "staging.toml");
    cli::deploy_json(&same).expect_code(0);
    for region in PRODUCTION_REGIONS {
        assert!(
            stacks_named(region, &format!("shop-prod-{region}")).len() == 1,
            "{region}: the promoted deploy created its region stack"
        );
    }
}
