//! End-to-end tests of team operations against the sandbox, through the real binary:
//! the deploy lock between two concurrent deploys and after a kill -9, deploy
//! windows with a recorded override, the required DRI, and `ci/pipeline.sh`.

mod support;

use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;
use support::cli::{self, Run};
use support::{sandbox, sdk};

const REGIONS: [&str; 3] = ["us-east-1", "us-west-2", "eu-west-1"];

/// The example stack without CloudFront (fewer resources per run), after `edit`,
/// written as `dir/name`.
fn fixture(dir: &Path, name: &str, edit: impl FnOnce(String) -> String) -> PathBuf {
    let text = std::fs::read_to_string(sandbox::repo_dir().join("stacks/example.toml")).unwrap();
    assert!(text.contains("cloudfront = true"));
    let text = edit(text.replace("cloudfront = true", "cloudfront = false"));
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// `strata --output json deploy FILE --yes --bake 0s EXTRA`, spawned with piped output.
fn spawn_deploy(file: &Path, extra: &[&str], no_dri: bool) -> Child {
    deploy_command(cli::sandbox_command(), file, extra, no_dri)
}

/// The same deploy run as if on another CI runner: in its own UTS namespace with
/// the host name `other-runner` (`unshare --uts`, needs root), so the lock it
/// leaves when killed is not one this host can presume dead and take over.
fn spawn_deploy_on_other_runner(file: &Path, extra: &[&str]) -> Child {
    let strata = cli::sandbox_command();
    let mut cmd = std::process::Command::new("unshare");
    cmd.args([
        "--uts",
        "sh",
        "-c",
        "hostname other-runner && exec \"$0\" \"$@\"",
    ])
    .arg(strata.get_program());
    cmd.env_clear()
        .envs(strata.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .current_dir(sandbox::repo_dir())
        .stdin(Stdio::null());
    deploy_command(cmd, file, extra, false)
}

fn deploy_command(
    mut cmd: std::process::Command,
    file: &Path,
    extra: &[&str],
    no_dri: bool,
) -> Child {
    if no_dri {
        cmd.env_remove("STRATA_DRI");
    }
    cmd.args(["--output", "json", "deploy", file.to_str().unwrap()])
        .args(["--yes", "--bake", "0s"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd.spawn().expect("start strata deploy")
}

fn deploy(file: &Path, extra: &[&str]) -> Run {
    cli::wait(spawn_deploy(file, extra, false), cli::run_limit())
}

/// The status of a CloudFormation stack in `region`, None when it does not exist
/// (or is deleted).
/// The stack's status once any deletion under way has ended (the sandbox deletes
/// asynchronously, as AWS does); `None` when it is gone.
fn stack_status(region: &str, name: &str) -> Option<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let cfn = sdk::cloudformation(region);
        let name = name.to_string();
        let status = sdk::block_on(async move {
            let out = cfn.describe_stacks().stack_name(name).send().await.ok()?;
            let s = out.stacks().first()?.stack_status()?.as_str().to_string();
            Some(s).filter(|s| s != "DELETE_COMPLETE")
        });
        if status.as_deref() != Some("DELETE_IN_PROGRESS") || std::time::Instant::now() > deadline {
            return status;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// The tags of a CloudFormation stack in `region` (panics if it does not exist).
fn stack_tags(region: &str, name: &str) -> HashMap<String, String> {
    let cfn = sdk::cloudformation(region);
    let name = name.to_string();
    sdk::block_on(async move {
        let out = cfn
            .describe_stacks()
            .stack_name(&name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("DescribeStacks {name}: {e:?}"));
        out.stacks()[0]
            .tags()
            .iter()
            .map(|t| {
                (
                    t.key().unwrap_or_default().to_string(),
                    t.value().unwrap_or_default().to_string(),
                )
            })
            .collect()
    })
}

/// Every live stack in every region of the example.
/// Every stack that remains once the deletions under way have ended (the sandbox
/// deletes asynchronously, as AWS does).
fn live_stacks() -> Vec<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let mut all = Vec::new();
        let mut deleting = false;
        for region in REGIONS {
            let cfn = sdk::cloudformation(region);
            let stacks: Vec<(String, String)> = sdk::block_on(async move {
                let out = cfn.describe_stacks().send().await.expect("DescribeStacks");
                out.stacks()
                    .iter()
                    .map(|s| {
                        (
                            s.stack_name().unwrap_or_default().to_string(),
                            s.stack_status()
                                .map(|s| s.as_str().to_string())
                                .unwrap_or_default(),
                        )
                    })
                    .filter(|(_, status)| status != "DELETE_COMPLETE")
                    .collect()
            });
            deleting |= stacks.iter().any(|(_, s)| s == "DELETE_IN_PROGRESS");
            all.extend(stacks.into_iter().map(|(n, _)| format!("{region}/{n}")));
        }
        if !deleting || std::time::Instant::now() > deadline {
            return all;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
fn two_deploys_at_once_one_wins_and_a_dead_holder_is_unlocked() {
    let _moto = sandbox::exclusive();
    let dir = tempfile::tempdir().unwrap();
    let file = fixture(dir.path(), "shop.toml", |t| t);

    // Two deploys started together: exactly one takes the lock.
    let a = spawn_deploy(&file, &["--dri", "alice"], false);
    let b = spawn_deploy(&file, &["--dri", "bob"], false);
    let ra = cli::wait(a, cli::run_limit());
    let rb = cli::wait(b, cli::run_limit());
    let (winner, loser, winner_name) = match (ra.code, rb.code) {
        (0, 5) => (&ra, &rb, "alice"),
        (5, 0) => (&rb, &ra, "bob"),
        _ => panic!("expected one 0 and one 5\n--- alice ---\n{ra}\n--- bob ---\n{rb}"),
    };
    assert!(
        winner
            .json_lines()
            .iter()
            .any(|v| v.get("summary").is_some()),
        "{winner}"
    );
    assert!(
        loser.stderr.contains(winner_name),
        "the refusal must name the holder {winner_name}\n{loser}"
    );
    assert!(loser.stderr.contains("strata unlock"), "{loser}");
    assert!(loser.stderr.contains(file.to_str().unwrap()), "{loser}");
    for region in REGIONS {
        assert_eq!(
            stack_status(region, "shop-prod-lock"),
            None,
            "released in {region}"
        );
    }

    // A deploy on another runner killed with -9 while it holds the lock leaves the
    // lock behind (a dead holder on this very host would be taken over instead).
    let changed = fixture(dir.path(), "shop-v2.toml", |t| {
        let t2 = t.replace(
            "capacity = { min = 2, desired = 2, max = 4 }",
            "capacity = { min = 2, desired = 3, max = 4 }",
        );
        assert_ne!(t, t2, "the fixture edit must change the stack");
        t2
    });
    let mut dead = spawn_deploy_on_other_runner(&changed, &["--dri", "carol"]);
    // Taken in sorted region order: eu-west-1 is the first lock stack created.
    while stack_status("eu-west-1", "shop-prod-lock").is_none() {
        assert!(
            dead.try_wait().unwrap().is_none(),
            "the deploy ended before it took the lock"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    dead.kill().unwrap(); // SIGKILL
    dead.wait().unwrap();

    let refused = deploy(&changed, &["--dri", "dave"]);
    refused.expect_code(5);
    assert!(refused.stderr.contains("carol"), "{refused}");
    assert!(refused.stderr.contains("other-runner"), "{refused}");
    assert!(refused.stderr.contains("strata unlock"), "{refused}");

    let unlock = cli::run(cli::sandbox_command().args(["unlock", changed.to_str().unwrap()]));
    unlock.expect_code(0);
    assert!(
        unlock.stdout.contains("removed the lock of carol"),
        "{unlock}"
    );

    let converged = deploy(&changed, &["--dri", "dave"]);
    converged.expect_code(0);
    let tags = stack_tags("us-east-1", "shop-prod-us-east-1");
    assert_eq!(
        tags.get("strata:deployed-by").map(String::as_str),
        Some("dave")
    );
    for region in REGIONS {
        assert_eq!(
            stack_status(region, "shop-prod-lock"),
            None,
            "released in {region}"
        );
    }
}

/// A window on one weekday that is three days away from today (UTC): it cannot
/// match during the test, whatever the hour.
fn closed_window() -> String {
    const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let today = time::OffsetDateTime::now_utc()
        .weekday()
        .number_days_from_monday() as usize;
    format!(
        "\n[[operations.windows]]\ndays = [\"{}\"]\nstart_hour = 0\nend_hour = 24\n",
        DAYS[(today + 3) % 7]
    )
}

#[test]
fn a_deploy_outside_its_window_is_refused_unless_the_reason_is_given_and_recorded() {
    let _moto = sandbox::exclusive();
    let dir = tempfile::tempdir().unwrap();
    let window = closed_window();
    let file = fixture(dir.path(), "windowed.toml", |t| t + &window);

    let refused = deploy(&file, &["--dri", "erin"]);
    refused.expect_code(6);
    assert!(
        refused.stderr.contains("UTC"),
        "the refusal names the windows\n{refused}"
    );
    assert!(refused.stderr.contains("--outside-window"), "{refused}");
    assert!(live_stacks().is_empty(), "{:?}", live_stacks());

    let run = deploy(
        &file,
        &["--dri", "erin", "--outside-window", "INC-42 hotfix"],
    );
    run.expect_code(0);
    for region in REGIONS {
        let tags = stack_tags(region, &format!("shop-prod-{region}"));
        assert_eq!(
            tags.get("strata:outside-window").map(String::as_str),
            Some("INC-42 hotfix"),
            "{region}: {tags:?}"
        );
        assert_eq!(
            tags.get("strata:deployed-by").map(String::as_str),
            Some("erin"),
            "{region}: {tags:?}"
        );
    }
}

#[test]
fn require_dri_without_anyone_responsible_is_refused_before_anything_is_created() {
    let _moto = sandbox::exclusive();
    let dir = tempfile::tempdir().unwrap();
    let file = fixture(dir.path(), "dri.toml", |t| {
        let t2 = t.replace("require_dri = false", "require_dri = true");
        assert_ne!(t, t2);
        t2
    });
    let run = cli::wait(spawn_deploy(&file, &[], true), cli::run_limit());
    run.expect_code(6);
    assert!(run.stderr.contains("--dri"), "{run}");
    assert!(live_stacks().is_empty(), "{:?}", live_stacks());
}

/// `bash ci/pipeline.sh MODE` against the sandbox, stacks and artifacts given.
fn pipeline(mode: &str, staging: &Path, production: &Path, artifacts: &Path) -> Run {
    let mut cmd = std::process::Command::new("bash");
    cmd.env_clear();
    for name in ["PATH", "HOME", "TMPDIR"] {
        if let Some(v) = std::env::var_os(name) {
            cmd.env(name, v);
        }
    }
    cmd.arg("ci/pipeline.sh")
        .arg(mode)
        .current_dir(sandbox::repo_dir())
        .env("STRATA", env!("CARGO_BIN_EXE_strata"))
        .env("AWS_ENDPOINT_URL", sandbox::endpoint())
        .env("AWS_ACCESS_KEY_ID", strata::sandbox::FAKE_ACCESS_KEY_ID)
        .env(
            "AWS_SECRET_ACCESS_KEY",
            strata::sandbox::FAKE_SECRET_ACCESS_KEY,
        )
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("STRATA_DRI", "ci-bot")
        .env("NO_COLOR", "1")
        .env("STAGING_STACK", staging)
        .env("PRODUCTION_STACK", production)
        .env("ARTIFACTS", artifacts)
        .stdin(Stdio::null());
    cli::run(&mut cmd)
}

/// Every non-empty line of an artifact parsed as JSON (one document or JSON lines).
fn json_artifact(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("artifact {} missing: {e}", path.display()));
    if let Ok(v) = serde_json::from_str::<Value>(&text) {
        return vec![v];
    }
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("{}: not JSON ({e}): {l}", path.display()))
        })
        .collect()
}

#[test]
fn the_ci_pipeline_plans_on_pull_requests_and_deploys_staging_then_production_on_main() {
    let _moto = sandbox::exclusive();
    let dir = tempfile::tempdir().unwrap();
    // The repository's stacks with a one-second bake (the pipeline passes no --bake).
    let copy = |name: &str, from: &str, to: &str| {
        let text = std::fs::read_to_string(sandbox::repo_dir().join("stacks").join(name)).unwrap();
        assert!(text.contains(from), "{name} has no {from}");
        let path = dir.path().join(name);
        std::fs::write(&path, text.replace(from, to)).unwrap();
        path
    };
    let staging = copy("staging.toml", "bake = \"30s\"", "bake = \"1s\"");
    let production = copy("example.toml", "bake = \"60s\"", "bake = \"1s\"");
    let artifacts = dir.path().join("artifacts");

    let pr = pipeline("pr", &staging, &production, &artifacts);
    pr.expect_code(0);
    for name in ["staging", "example"] {
        for step in ["validate", "check"] {
            let v = json_artifact(&artifacts.join(format!("{step}-{name}.json")));
            assert!(!v.is_empty(), "{step}-{name}.json is empty");
        }
        let plan = json_artifact(&artifacts.join(format!("plan-{name}.jsonl")));
        assert!(
            plan.iter().any(|v| v.get("plan").is_some()),
            "plan-{name}.jsonl has no plan: {plan:?}"
        );
    }
    assert!(
        live_stacks().is_empty(),
        "pr mode created {:?}",
        live_stacks()
    );

    let main = pipeline("main", &staging, &production, &artifacts);
    main.expect_code(0);
    for name in ["staging", "example"] {
        let lines = json_artifact(&artifacts.join(format!("deploy-{name}.jsonl")));
        let last = lines
            .last()
            .unwrap_or_else(|| panic!("deploy-{name}.jsonl is empty"));
        let summary = last
            .get("summary")
            .unwrap_or_else(|| panic!("deploy-{name}.jsonl does not end with a summary: {last}"));
        assert!(
            summary["stacks"].as_array().is_some_and(|s| !s.is_empty()),
            "{summary}"
        );
    }
    // Staging went before production.
    let step = |f: &Path| {
        main.stderr
            .find(&format!("==> deploy {}", f.display()))
            .unwrap_or_else(|| panic!("no deploy step for {}\n{main}", f.display()))
    };
    assert!(
        step(&staging) < step(&production),
        "staging is deployed first\n{main}"
    );
    for region in ["us-east-1", "eu-west-1"] {
        assert!(stack_status(region, &format!("shop-staging-{region}")).is_some());
    }
    for region in REGIONS {
        let tags = stack_tags(region, &format!("shop-prod-{region}"));
        assert_eq!(
            tags.get("strata:deployed-by").map(String::as_str),
            Some("ci-bot")
        );
    }
}
