//! What a new user hits (issue 18, items 8 to 15; issue 15 item 3), end to end
//! with the real binary against the sandbox: a no-change deploy that is one, a
//! plan that agrees with deploy, no silent replacement of data or network, the
//! account pin.

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use strata::exit_code;
use support::cli::{self, Run};
use support::fault_proxy::FaultProxy;
use support::sandbox;

/// The example stack without CloudFront, a short gate, with `edit` applied to its text.
fn fixture(dir: &Path, name: &str, edit: impl Fn(String) -> String) -> PathBuf {
    let text = std::fs::read_to_string(sandbox::repo_dir().join("stacks/example.toml")).unwrap();
    let text = text
        .replace("cloudfront = true", "cloudfront = false")
        .replace("gate_timeout = \"10m\"", "gate_timeout = \"2s\"");
    let text = edit(text);
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn strata(proxy: &FaultProxy, args: &[&str]) -> Run {
    let mut all = vec!["--output", "json"];
    all.extend_from_slice(args);
    cli::strata_at(&proxy.url(), &all)
}

fn deploy(proxy: &FaultProxy, file: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["deploy", file.to_str().unwrap(), "--yes", "--bake", "0s"];
    args.extend_from_slice(extra);
    strata(proxy, &args)
}

fn summary(run: &Run) -> Value {
    run.json_lines()
        .into_iter()
        .find_map(|v| v.get("summary").cloned())
        .unwrap_or_else(|| panic!("no summary line\n{run}"))
}

/// The `plan` object of `strata plan`.
fn plan(proxy: &FaultProxy, file: &Path) -> Value {
    let run = strata(proxy, &["plan", file.to_str().unwrap()]);
    run.expect_code(0);
    run.json_lines()
        .into_iter()
        .find_map(|v| v.get("plan").cloned())
        .unwrap_or_else(|| panic!("no plan line\n{run}"))
}

/// Every stack plan of a plan object, in order.
fn stacks(plan: &Value) -> Vec<Value> {
    let mut out: Vec<Value> = plan["zone"]
        .as_object()
        .map(|_| plan["zone"].clone())
        .into_iter()
        .collect();
    for w in plan["waves"].as_array().unwrap() {
        out.extend(w.as_array().unwrap().iter().cloned());
    }
    if plan["global"].is_object() {
        out.push(plan["global"].clone());
    }
    out
}

fn actions(plan: &Value) -> Vec<(String, String)> {
    stacks(plan)
        .iter()
        .map(|s| {
            (
                s["region"].as_str().unwrap().to_string(),
                s["action"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Issue 18 items 8 and 10: with `ami.encrypted = true` the build region runs an
/// encrypted copy; right after the deploy, `plan` says nothing changes anywhere,
/// and a second deploy is decided read-only: no lock, no mutating call at all.
#[test]
fn with_encrypted_copies_plan_agrees_with_deploy_and_a_no_change_deploy_takes_no_lock() {
    let _moto = sandbox::exclusive();
    let dir = tempfile::tempdir().unwrap();
    let file = fixture(dir.path(), "enc.toml", |t| {
        t.replace("encrypted = false", "encrypted = true")
    });
    let proxy = FaultProxy::in_front_of_sandbox();
    deploy(&proxy, &file, &[]).expect_code(0);

    let after = plan(&proxy, &file);
    assert!(
        actions(&after).iter().all(|(_, a)| a == "no-change"),
        "plan disagrees with the deploy just done: {:?}",
        actions(&after)
    );

    proxy.clear_calls();
    let again = deploy(&proxy, &file, &[]);
    again.expect_code(0);
    assert_eq!(summary(&again)["outcome"], "no-change", "{again}");
    assert_eq!(
        proxy.count(None, Some("cloudformation"), Some("CreateStack")),
        0,
        "a no-change deploy took the lock"
    );
    assert!(
        proxy.mutating_calls().is_empty(),
        "a no-change deploy made mutating calls: {:?}",
        proxy.mutating_calls()
    );
    assert!(
        !again.stderr.contains("ami copy` first") && !again.stdout.contains("ami copy` first"),
        "warned to run `strata ami copy` though the copies exist\n{again}"
    );
}

/// Issue 18 item 9: `dr rebuild` from a survivor that runs a copy gives the rebuilt
/// region the image a deploy gives it, so the next deploy is a no-op (on AWS a
/// moved AMI parameter replaces every instance right after the recovery).
#[test]
fn after_a_rebuild_from_a_copy_the_next_deploy_changes_nothing() {
    let _moto = sandbox::exclusive();
    let dir = tempfile::tempdir().unwrap();
    let file = fixture(dir.path(), "dr.toml", |t| t);
    let proxy = FaultProxy::in_front_of_sandbox();
    deploy(&proxy, &file, &[]).expect_code(0);

    let f = file.to_str().unwrap();
    let rebuilt = strata(
        &proxy,
        &[
            "dr",
            "rebuild",
            f,
            "--region",
            "us-west-2",
            "--from",
            "eu-west-1",
            "--bake",
            "0s",
        ],
    );
    rebuilt.expect_code(0);

    proxy.clear_calls();
    let again = deploy(&proxy, &file, &[]);
    again.expect_code(0);
    assert_eq!(summary(&again)["outcome"], "no-change", "{again}");
    assert!(
        proxy.mutating_calls().is_empty(),
        "the deploy after the rebuild changed something: {:?}",
        proxy.mutating_calls()
    );
}

/// The `changes` of `region`'s stack in a plan object.
fn changes_in(plan: &Value, region: &str) -> Vec<Value> {
    stacks(plan)
        .into_iter()
        .find(|s| s["region"] == region && s["role"] == "region")
        .unwrap_or_else(|| panic!("no {region} in {plan}"))["changes"]
        .as_array()
        .unwrap()
        .clone()
}

fn replaced(plan: &Value, region: &str) -> Vec<String> {
    changes_in(plan, region)
        .iter()
        .filter(|c| c["replaces"] == true)
        .map(|c| c["logical_id"].as_str().unwrap().to_string())
        .collect()
}

/// The CIDR of the VPC `stack` runs in `region`, read through CloudFormation and EC2.
fn vpc_cidr(region: &str, stack: &str) -> String {
    let cfn = support::sdk::cloudformation(region);
    let ec2 = support::sdk::ec2(region);
    support::sdk::block_on(async {
        let res = cfn
            .describe_stack_resources()
            .stack_name(stack)
            .send()
            .await
            .expect("describe the stack's resources");
        let id = res
            .stack_resources()
            .iter()
            .find(|r| r.logical_resource_id() == Some("Vpc"))
            .and_then(|r| r.physical_resource_id())
            .expect("the Vpc's id")
            .to_string();
        let out = ec2
            .describe_vpcs()
            .vpc_ids(id)
            .send()
            .await
            .expect("describe the vpc");
        out.vpcs()[0].cidr_block().unwrap().to_string()
    })
}

/// Issue 15 item 3: a changed region CIDR and a changed table key schema show
/// REPLACES in the plan, with what is at risk; `deploy --yes` refuses them (exit 2)
/// naming each resource and `--allow-replace`, and nothing changes in the cloud.
#[test]
fn replacing_a_running_regions_network_or_table_is_refused_unless_named() {
    let _moto = sandbox::exclusive();
    let dir = tempfile::tempdir().unwrap();
    let base = fixture(dir.path(), "base.toml", |t| t);
    let cidr = fixture(dir.path(), "cidr.toml", |t| {
        t.replace("cidr = \"10.20.0.0/16\"", "cidr = \"10.21.0.0/16\"")
    });
    let key = fixture(dir.path(), "key.toml", |t| {
        t.replace(
            "sort_key = { name = \"order_id\"",
            "sort_key = { name = \"order_ts\"",
        )
    });
    let proxy = FaultProxy::in_front_of_sandbox();
    deploy(&proxy, &base, &[]).expect_code(0);

    let p = plan(&proxy, &cidr);
    let r = replaced(&p, "us-west-2");
    for id in ["Vpc", "PublicSubnetA", "PrivateSubnetB"] {
        assert!(r.contains(&id.to_string()), "{id} not REPLACES: {r:?}");
    }
    let risks = p["at_risk"]
        .as_array()
        .expect("the plan lists what is at risk");
    assert!(
        risks.iter().any(|x| x["logical_id"] == "Vpc"
            && x["region"] == "us-west-2"
            && x["risk"].as_str().unwrap().contains("traffic")),
        "{risks:?}"
    );
    let p = plan(&proxy, &key);
    assert!(
        replaced(&p, "us-east-1").contains(&"TableOrders".to_string()),
        "a changed sort key does not replace the table: {:?}",
        changes_in(&p, "us-east-1")
    );

    for (file, names) in [
        (&cidr, vec!["Vpc", "PublicSubnetA"]),
        (&key, vec!["TableOrders"]),
    ] {
        proxy.clear_calls();
        let run = deploy(&proxy, file, &[]);
        run.expect_code(exit_code::INVALID_INPUT);
        for n in names {
            assert!(run.stderr.contains(n), "{n} not named\n{run}");
        }
        assert!(run.stderr.contains("--allow-replace"), "{run}");
        assert_eq!(
            proxy.count(None, None, Some("ExecuteChangeSet"))
                + proxy.count(None, None, Some("UpdateStack")),
            0,
            "a refused deploy changed a stack"
        );
    }
    assert_eq!(vpc_cidr("us-west-2", "shop-prod-us-west-2"), "10.20.0.0/16");
}

/// Issue 18 item 15: `app.account` pins the stack to its AWS account(s). Every
/// changing command reads the caller's account through STS before any change and
/// refuses another one (exit 2, naming both); the right account goes ahead.
/// (moto's account is 123456789012.)
#[test]
fn a_stack_pinned_to_another_account_is_refused_by_every_changing_command() {
    let _moto = sandbox::shared();
    let dir = tempfile::tempdir().unwrap();
    let pin = |accounts: &'static str| {
        move |t: String| {
            t.replace(
                "production = true",
                &format!("production = true\naccount = {accounts}"),
            )
        }
    };
    let other = fixture(
        dir.path(),
        "other.toml",
        pin(r#"["210987654321", "111122223333"]"#),
    );
    let ours = fixture(dir.path(), "ours.toml", pin(r#"["123456789012"]"#));
    let proxy = FaultProxy::in_front_of_sandbox();
    let f = other.to_str().unwrap();
    let commands: Vec<Vec<&str>> = vec![
        vec!["deploy", f, "--yes", "--bake", "0s"],
        vec!["rollback", f, "--yes"],
        vec!["destroy", f, "--yes"],
        vec!["ami", "copy", f],
        vec!["ami", "prune", f],
        vec!["dr", "failover", f, "--region", "us-west-2"],
        vec!["dr", "rebuild", f, "--region", "us-west-2"],
        vec!["unlock", f],
    ];
    for args in commands {
        proxy.clear_calls();
        let run = strata(&proxy, &args);
        run.expect_code(exit_code::INVALID_INPUT);
        assert!(
            run.stderr.contains("123456789012") && run.stderr.contains("210987654321"),
            "{args:?} does not name both accounts\n{run}"
        );
        assert!(
            proxy.count(None, Some("sts"), Some("GetCallerIdentity")) > 0,
            "{args:?} did not ask STS"
        );
        assert!(
            proxy.mutating_calls().is_empty(),
            "{args:?} changed something: {:?}",
            proxy.mutating_calls()
        );
    }
    // The right account goes ahead.
    strata(&proxy, &["ami", "copy", ours.to_str().unwrap()]).expect_code(exit_code::SUCCESS);

    // A malformed account id is a located error of `validate`.
    let bad = fixture(dir.path(), "bad.toml", pin(r#"["12345"]"#));
    let run = cli::strata(&["validate", bad.to_str().unwrap()]);
    run.expect_code(exit_code::INVALID_INPUT);
    assert!(
        run.stderr.contains("bad.toml:") && run.stderr.contains("`12345` is not an AWS account id"),
        "{run}"
    );
}

/// Every subcommand, as the words that name it.
const SUBCOMMANDS: &[&[&str]] = &[
    &["validate"],
    &["cost"],
    &["audit"],
    &["synth"],
    &["check"],
    &["plan"],
    &["approve"],
    &["deploy"],
    &["rollback"],
    &["status"],
    &["drift"],
    &["ami", "bake"],
    &["ami", "copy"],
    &["ami", "prune"],
    &["dr", "failover"],
    &["dr", "rebuild"],
    &["dr", "dns"],
    &["dr", "drill"],
    &["dr", "repair"],
    &["destroy"],
    &["unlock"],
    &["sandbox", "up"],
    &["completions"],
];

/// Issue 18 item 13: every argument and option of every subcommand says what it is.
#[test]
fn every_argument_of_every_subcommand_has_help_text() {
    let mut bare = Vec::new();
    for words in SUBCOMMANDS {
        let mut args: Vec<&str> = words.to_vec();
        args.push("--help");
        let run = cli::strata(&args);
        run.expect_code(0);
        for line in run.stdout.lines() {
            let t = line.trim();
            let spec_only = !t.is_empty()
                && (t.starts_with('-') || t.starts_with('<'))
                && !t.contains("  ")
                && line.starts_with("  ");
            if spec_only {
                bare.push(format!("strata {}: {t}", words.join(" ")));
            }
        }
    }
    assert!(
        bare.is_empty(),
        "arguments without help:\n{}",
        bare.join("\n")
    );
}

/// Issue 18 item 13: `dr failover` refused by a held lock says how to break it
/// (`strata unlock FILE --id ID`, as deploy does), and with `--output json` its
/// error is a JSON line on stdout.
#[test]
fn a_locked_failover_names_the_unlock_command_and_reports_json() {
    let _moto = sandbox::exclusive();
    let dir = tempfile::tempdir().unwrap();
    let file = fixture(dir.path(), "locked.toml", |t| t);
    let id = support::sdk::block_on(async {
        let aws = support::aws::connect(&sandbox::endpoint()).await;
        let store = strata::aws::lock_stack::CfnLockStore::new(&aws, "shop-prod");
        let regions = ["us-east-1", "us-west-2", "eu-west-1"];
        let g = strata::ops::lock::acquire(
            &store,
            &regions,
            strata::ops::lock::LockInfo::new("alice", "deploy"),
        )
        .await
        .expect("alice takes the lock");
        g.info.id.clone()
    });
    let f = file.to_str().unwrap();
    let run = cli::strata_sandbox(&[
        "--output",
        "json",
        "dr",
        "failover",
        f,
        "--region",
        "us-west-2",
    ]);
    run.expect_code(exit_code::LOCKED);
    let hint = format!("strata unlock {f} --id {id}");
    assert!(run.stderr.contains(&hint), "no `{hint}`\n{run}");
    let err = run
        .json_lines()
        .into_iter()
        .find_map(|v| v.get("error").cloned())
        .unwrap_or_else(|| panic!("no JSON error line\n{run}"));
    assert_eq!(err["exit_code"], exit_code::LOCKED);
    assert!(err["message"].as_str().unwrap().contains(&hint), "{err}");
    cli::strata_sandbox(&["unlock", f, "--id", &id]).expect_code(0);
}

/// Issue 18 item 14: a definition whose capacity fails N+1 is not "valid":
/// `validate` reports it (exit 3, as deploy refuses it) at the capacity lines,
/// and deploy's refusal names them too, never an empty `()`.
#[test]
fn a_capacity_that_fails_n_plus_one_is_reported_by_validate_at_its_lines() {
    let dir = tempfile::tempdir().unwrap();
    let file = fixture(dir.path(), "n1.toml", |t| {
        t.replace("peak_rps = 300", "peak_rps = 3000")
    });
    let text = std::fs::read_to_string(&file).unwrap();
    let line_of = |needle: &str| text.lines().position(|l| l.starts_with(needle)).unwrap() + 1;
    let f = file.to_str().unwrap();
    let run = cli::strata(&["validate", f]);
    run.expect_code(exit_code::POLICY_VIOLATION);
    let peak = format!("{f}:{}:", line_of("peak_rps"));
    let cap = format!("{f}:{}:", line_of("capacity = { min"));
    assert!(
        run.stderr.contains(&peak) && run.stderr.contains("N+1 fails"),
        "no {peak}\n{run}"
    );
    assert!(run.stderr.contains(&cap), "no {cap}\n{run}");

    let run = cli::strata_at(cli::UNREACHABLE_ENDPOINT, &["deploy", f, "--yes"]);
    run.expect_code(exit_code::POLICY_VIOLATION);
    assert!(!run.stderr.contains("()"), "an empty () in\n{run}");
    assert!(
        run.stderr.contains(&peak),
        "deploy does not point at {peak}\n{run}"
    );
}
