//! `strata ami bake | copy | prune` through the real binary against the sandbox:
//! bake from a running instance, copy into every region at once, a second copy run
//! that copies nothing, and a prune that keeps the newest images and those in use.

mod support;

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use strata::exit_code;
use support::fault_proxy::{Fault, FaultProxy, Rule};
use support::{cli, sandbox, sdk};

const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "ap-southeast-2"];

/// A valid three-region stack file for `app`, launching from `ami` (baked in us-east-1).
fn stack_file(dir: &tempfile::TempDir, app: &str, ami: &str, encrypted: bool) -> PathBuf {
    let regions: String = REGIONS
        .iter()
        .enumerate()
        .map(|(i, r)| {
            format!(
                "[[regions]]\nname = \"{r}\"\ncidr = \"10.{i}.0.0/16\"\nazs = [\"{r}a\", \"{r}b\"]\n\n"
            )
        })
        .collect();
    let text = format!(
        r#"[app]
name = "{app}"
environment = "test"

[dns]
domain = "www.{app}.example.com"
hosted_zone = "{app}.example.com"
manage_zone = true

{regions}[rollout]
order = ["us-east-1", "eu-west-1", "ap-southeast-2"]

[compute]
instance_type = "t3.micro"
app_port = 8080
health_check_path = "/health"
capacity = {{ min = 2, desired = 2, max = 4 }}

[ami]
id = "{ami}"
build_region = "us-east-1"
encrypted = {encrypted}

[capacity]
peak_rps = 100
rps_per_instance = 100
"#
    );
    let path = dir.path().join(format!("{app}.toml"));
    std::fs::write(&path, text).expect("write stack file");
    path
}

/// A running builder instance in `region`, started through the SDK.
fn builder_instance(region: &str) -> String {
    let ec2 = sdk::ec2(region);
    sdk::block_on(async {
        let base = ec2
            .describe_images()
            .owners("amazon")
            .send()
            .await
            .expect("list moto's base images");
        let image = base.images()[0].image_id().unwrap().to_string();
        let out = ec2
            .run_instances()
            .image_id(image)
            .min_count(1)
            .max_count(1)
            .send()
            .await
            .expect("run builder instance");
        out.instances()[0].instance_id().unwrap().to_string()
    })
}

/// `strata --output json ami bake` from a fresh builder instance; returns the AMI id.
fn bake(name: &str) -> String {
    let instance = builder_instance("us-east-1");
    let run = cli::strata_sandbox(&[
        "--output",
        "json",
        "ami",
        "bake",
        "--instance",
        &instance,
        "--region",
        "us-east-1",
        "--name",
        name,
    ]);
    run.expect_code(exit_code::SUCCESS);
    let out = &run.json_lines()[0];
    assert_eq!(out["created"], true, "{run}");
    out["image_id"].as_str().expect("image_id").to_string()
}

/// `strata --output json ami copy FILE [ARGS]`.
fn copy(file: &std::path::Path, extra: &[&str]) -> cli::Run {
    let mut args = vec!["--output", "json", "ami", "copy", file.to_str().unwrap()];
    args.extend_from_slice(extra);
    cli::strata_sandbox(&args)
}

/// Every image in `region` that strata copied for `stack`: id -> (state, tags).
fn stack_images(region: &str, stack: &str) -> BTreeMap<String, (String, BTreeMap<String, String>)> {
    let ec2 = sdk::ec2(region);
    sdk::block_on(async {
        let out = ec2
            .describe_images()
            .owners("self")
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("tag:strata:stack")
                    .values(stack)
                    .build(),
            )
            .send()
            .await
            .expect("describe images");
        out.images()
            .iter()
            .map(|i| {
                (
                    i.image_id().unwrap().to_string(),
                    (
                        i.state().unwrap().as_str().to_string(),
                        i.tags()
                            .iter()
                            .map(|t| (t.key().unwrap().to_string(), t.value().unwrap().to_string()))
                            .collect(),
                    ),
                )
            })
            .collect()
    })
}

fn image(region: &str, id: &str) -> Option<(String, BTreeMap<String, String>, Vec<String>)> {
    let ec2 = sdk::ec2(region);
    sdk::block_on(async {
        let out = ec2.describe_images().image_ids(id).send().await.ok()?;
        let i = out.images().first()?;
        Some((
            i.state().unwrap().as_str().to_string(),
            i.tags()
                .iter()
                .map(|t| (t.key().unwrap().to_string(), t.value().unwrap().to_string()))
                .collect(),
            i.block_device_mappings()
                .iter()
                .filter_map(|b| b.ebs()?.snapshot_id().map(str::to_string))
                .collect(),
        ))
    })
}

fn regions_of(run: &cli::Run) -> BTreeMap<String, String> {
    let out: &Value = &run.json_lines()[0];
    serde_json::from_value(out["regions"].clone()).expect("regions map")
}

#[test]
fn bake_then_copy_into_every_region_and_a_second_run_copies_nothing() {
    let _moto = sandbox::shared();
    let dir = tempfile::tempdir().unwrap();
    let app = sandbox::unique("bake");
    let stack = format!("{app}-test");

    let source = bake("shop-1.0.0");
    let (state, tags, _) = image("us-east-1", &source).expect("baked image exists");
    assert_eq!(state, "available");
    assert!(tags["strata:baked-from"].starts_with("i-"), "{tags:?}");
    assert_eq!(tags["strata:version"], "shop-1.0.0");

    let file = stack_file(&dir, &app, &source, false);
    let first = copy(&file, &[]);
    first.expect_code(exit_code::SUCCESS);
    let amis = regions_of(&first);
    assert_eq!(
        amis.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        BTreeSet::from(REGIONS),
        "{first}"
    );
    assert_eq!(
        amis["us-east-1"], source,
        "the build region launches the source"
    );
    for region in ["eu-west-1", "ap-southeast-2"] {
        let (state, tags, _) = image(region, &amis[region]).expect("copy exists");
        assert_eq!(state, "available", "{region}");
        assert_eq!(tags["strata:source-ami"], source, "{region}");
        assert_eq!(tags["strata:stack"], stack, "{region}");
        assert_eq!(tags["strata:version"], "shop-1.0.0", "{region}");
        assert_eq!(stack_images(region, &stack).len(), 1, "{region}");
    }
    // One progress line per region: each copy reported done, as JSON events on stderr.
    let done: BTreeSet<String> = first
        .stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["event"] == "phase-done" && e["phase"] == "ami-copy")
        .map(|e| e["region"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        done,
        BTreeSet::from(["eu-west-1".into(), "ap-southeast-2".into()])
    );

    let second = copy(&file, &[]);
    second.expect_code(exit_code::SUCCESS);
    assert_eq!(
        regions_of(&second),
        amis,
        "the second run returns the same copies"
    );
    for region in ["eu-west-1", "ap-southeast-2"] {
        assert_eq!(
            stack_images(region, &stack).keys().collect::<Vec<_>>(),
            vec![&amis[region]],
            "no new image in {region}"
        );
    }
}

#[test]
fn encrypted_copies_cover_the_build_region_too() {
    let _moto = sandbox::shared();
    let dir = tempfile::tempdir().unwrap();
    let app = sandbox::unique("enc");
    let stack = format!("{app}-test");
    let source = bake(&sandbox::unique("shop-enc"));
    let file = stack_file(&dir, &app, &source, true);

    let run = copy(&file, &[]);
    run.expect_code(exit_code::SUCCESS);
    let amis = regions_of(&run);
    assert_ne!(
        amis["us-east-1"], source,
        "an encrypted copy, not the source"
    );
    for region in REGIONS {
        let images = stack_images(region, &stack);
        assert_eq!(images.len(), 1, "{region}: {images:?}");
        assert_eq!(images[&amis[region]].0, "available");
    }
}

#[test]
fn a_missing_source_ami_is_invalid_input_and_copies_nothing() {
    let _moto = sandbox::shared();
    let dir = tempfile::tempdir().unwrap();
    let app = sandbox::unique("nosrc");
    let file = stack_file(&dir, &app, "ami-00000000000dead00", false);
    let run = copy(&file, &[]);
    run.expect_code(exit_code::INVALID_INPUT);
    assert!(run.stderr.contains("ami-00000000000dead00"), "{run}");
    for region in REGIONS {
        assert!(stack_images(region, &format!("{app}-test")).is_empty());
    }
}

/// A region stack that uses `ami` through its `AmiId` parameter (when `param`) or a
/// launch template naming it directly.
fn deployed_stack(region: &str, name: &str, ami: &str, param: bool) {
    let (params, image) = if param {
        (
            r#""Parameters": {"AmiId": {"Type": "String"}},"#.to_string(),
            r#"{"Ref": "AmiId"}"#.to_string(),
        )
    } else {
        (String::new(), format!("\"{ami}\""))
    };
    let body = format!(
        r#"{{ {params} "Resources": {{ "LaunchTemplate": {{ "Type": "AWS::EC2::LaunchTemplate",
            "Properties": {{ "LaunchTemplateData": {{ "ImageId": {image}, "InstanceType": "t3.micro" }} }} }} }} }}"#
    );
    let cfn = sdk::cloudformation(region);
    sdk::block_on(async {
        let mut req = cfn.create_stack().stack_name(name).template_body(body);
        if param {
            req = req.parameters(
                aws_sdk_cloudformation::types::Parameter::builder()
                    .parameter_key("AmiId")
                    .parameter_value(ami)
                    .build(),
            );
        }
        req.send().await.expect("create region stack");
    });
}

#[test]
fn prune_keeps_the_newest_and_every_image_in_use() {
    let _moto = sandbox::shared();
    let dir = tempfile::tempdir().unwrap();
    let app = sandbox::unique("prune");
    let stack = format!("{app}-test");

    // Four versions, oldest first, each copied into every region.
    let sources: Vec<String> = (1..=4)
        .map(|v| bake(&sandbox::unique(&format!("shop-{v}"))))
        .collect();
    let file = stack_file(&dir, &app, &sources[3], false);
    let copies: Vec<BTreeMap<String, String>> = sources
        .iter()
        .map(|s| {
            let run = copy(&file, &["--source", s, "--source-region", "us-east-1"]);
            run.expect_code(exit_code::SUCCESS);
            regions_of(&run)
        })
        .collect();

    // eu-west-1's stack launches v1 (AmiId parameter); ap-southeast-2's launch
    // template names v2 directly.
    deployed_stack(
        "eu-west-1",
        &format!("{stack}-eu-west-1"),
        &copies[0]["eu-west-1"],
        true,
    );
    deployed_stack(
        "ap-southeast-2",
        &format!("{stack}-ap-southeast-2"),
        &copies[1]["ap-southeast-2"],
        false,
    );
    let doomed_snapshots = image("eu-west-1", &copies[1]["eu-west-1"]).unwrap().2;
    assert!(!doomed_snapshots.is_empty());

    let run = cli::strata_sandbox(&[
        "--output",
        "json",
        "ami",
        "prune",
        file.to_str().unwrap(),
        "--keep",
        "2",
    ]);
    run.expect_code(exit_code::SUCCESS);

    let left = |region: &str| -> BTreeSet<String> {
        stack_images(region, &stack)
            .into_iter()
            .filter(|(_, (state, _))| state != "deregistered")
            .map(|(id, _)| id)
            .collect()
    };
    let ids = |region: &str, versions: &[usize]| -> BTreeSet<String> {
        versions
            .iter()
            .map(|v| copies[*v][region].clone())
            .collect()
    };
    assert_eq!(left("eu-west-1"), ids("eu-west-1", &[0, 2, 3]), "{run}");
    assert_eq!(
        left("ap-southeast-2"),
        ids("ap-southeast-2", &[1, 2, 3]),
        "{run}"
    );
    // The build region's images are baked sources, not copies: untouched.
    for s in &sources {
        assert_eq!(image("us-east-1", s).unwrap().0, "available");
    }
    // The deregistered copy's snapshots are gone.
    let ec2 = sdk::ec2("eu-west-1");
    let remaining = sdk::block_on(async {
        ec2.describe_snapshots()
            .owner_ids("self")
            .send()
            .await
            .expect("describe snapshots")
            .snapshots()
            .iter()
            .filter_map(|s| s.snapshot_id().map(str::to_string))
            .collect::<BTreeSet<_>>()
    });
    for snap in &doomed_snapshots {
        assert!(
            !remaining.contains(snap),
            "snapshot {snap} of a pruned copy remains"
        );
    }
}

#[test]
fn a_failed_copy_is_reported_by_region_and_the_rerun_copies_only_that_region() {
    let _moto = sandbox::shared();
    let dir = tempfile::tempdir().unwrap();
    let app = sandbox::unique("fail");
    let stack = format!("{app}-test");
    let source = bake(&sandbox::unique("shop-fail"));
    let file = stack_file(&dir, &app, &source, false);

    let proxy = FaultProxy::in_front_of_sandbox();
    let rule = proxy.add(
        Rule::new(Fault::error(400, "InvalidRequest", "injected copy failure"))
            .region("ap-southeast-2")
            .action("CopyImage"),
    );
    let args = ["--output", "json", "ami", "copy", file.to_str().unwrap()];
    let run = cli::strata_at(&proxy.url(), &args);
    run.expect_code(exit_code::ENVIRONMENT);
    assert!(proxy.fired(rule) >= 1);
    let out = &run.json_lines()[0];
    assert!(
        out["failed"]["ap-southeast-2"]
            .as_str()
            .is_some_and(|e| e.contains("injected copy failure")),
        "{run}"
    );
    assert!(out["failed"].get("eu-west-1").is_none(), "{run}");
    assert!(
        run.stderr.contains("AMI copy failed in ap-southeast-2"),
        "{run}"
    );
    let eu = out["regions"]["eu-west-1"]
        .as_str()
        .expect("eu-west-1 copied")
        .to_string();
    assert!(stack_images("ap-southeast-2", &stack).is_empty());

    // Fixed: the rerun copies ap-southeast-2 only and reuses eu-west-1's copy.
    proxy.clear_rules();
    proxy.clear_calls();
    let rerun = cli::strata_at(&proxy.url(), &args);
    rerun.expect_code(exit_code::SUCCESS);
    assert_eq!(regions_of(&rerun)["eu-west-1"], eu);
    assert_eq!(
        proxy.count(Some("ap-southeast-2"), Some("ec2"), Some("CopyImage")),
        1
    );
    assert_eq!(
        proxy.count(Some("eu-west-1"), Some("ec2"), Some("CopyImage")),
        0
    );

    // And a third run copies nothing at all.
    proxy.clear_calls();
    cli::strata_at(&proxy.url(), &args).expect_code(exit_code::SUCCESS);
    assert_eq!(proxy.count(None, Some("ec2"), Some("CopyImage")), 0);
}

#[test]
fn a_copy_still_pending_at_the_timeout_fails_by_region_and_the_rerun_reuses_it() {
    let _moto = sandbox::shared();
    let dir = tempfile::tempdir().unwrap();
    let app = sandbox::unique("slow");
    let stack = format!("{app}-test");
    let source = bake(&sandbox::unique("shop-slow"));
    let file = stack_file(&dir, &app, &source, false);
    let args = [
        "--output",
        "json",
        "ami",
        "copy",
        file.to_str().unwrap(),
        "--timeout",
        "5s",
    ];

    // ap-southeast-2's images stay "pending" for as long as the rule holds.
    let proxy = FaultProxy::in_front_of_sandbox();
    let pending = Fault::rewrite(
        "<imageState>available</imageState>",
        "<imageState>pending</imageState>",
    );
    let rule = proxy.add(
        Rule::new(pending.clone())
            .region("ap-southeast-2")
            .action("DescribeImages"),
    );
    let run = cli::strata_at(&proxy.url(), &args);
    run.expect_code(exit_code::ENVIRONMENT);
    let out = &run.json_lines()[0];
    assert!(
        out["failed"]["ap-southeast-2"]
            .as_str()
            .is_some_and(|e| e.contains("still pending")),
        "{run}"
    );
    assert!(out["regions"]["eu-west-1"].is_string(), "{run}");
    let started = stack_images("ap-southeast-2", &stack);
    assert_eq!(started.len(), 1, "the copy was started once: {started:?}");

    // The copy is still pending when the next run looks, then becomes available:
    // the run waits for that copy instead of starting another.
    proxy.remove(rule);
    proxy.add(
        Rule::new(pending)
            .region("ap-southeast-2")
            .action("DescribeImages")
            .times(2),
    );
    proxy.clear_calls();
    let rerun = cli::strata_at(&proxy.url(), &args);
    rerun.expect_code(exit_code::SUCCESS);
    assert_eq!(
        proxy.count(None, Some("ec2"), Some("CopyImage")),
        0,
        "{rerun}"
    );
    assert_eq!(
        Some(&regions_of(&rerun)["ap-southeast-2"]),
        started.keys().next()
    );
    assert!(
        rerun.stderr.contains("(pending)"),
        "reused while pending\n{rerun}"
    );
}

/// `strata deploy FILE --yes` through `proxy`, started in the background.
fn spawn_deploy(proxy: &FaultProxy, file: &std::path::Path) -> std::process::Child {
    cli::command_at(&proxy.url())
        .args(["--output", "json", "deploy"])
        .arg(file)
        .args(["--yes", "--bake", "0s"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start strata deploy")
}

#[test]
fn a_deploy_plans_while_the_copies_are_pending_and_executes_once_they_are_available() {
    let _moto = sandbox::shared();
    let dir = tempfile::tempdir().unwrap();
    let app = sandbox::unique("overlap");
    let source = bake(&sandbox::unique("shop-overlap"));
    let file = stack_file(&dir, &app, &source, false);
    // In an existing zone: a managed zone not made yet is created (after the
    // copies) before anything else can be planned (docs/deploy.md, "The zone
    // first"), so only a stack whose zone exists plans during the copies.
    let zone = sdk::create_zone(&format!("{app}.example.com"));
    let text = std::fs::read_to_string(&file).unwrap().replace(
        "manage_zone = true\n",
        &format!("hosted_zone_id = \"{zone}\"\n"),
    );
    std::fs::write(&file, text).unwrap();

    // ap-southeast-2's copy stays "pending" for as long as the rule holds.
    let proxy = FaultProxy::in_front_of_sandbox();
    let rule = proxy.add(
        Rule::new(Fault::rewrite(
            "<imageState>available</imageState>",
            "<imageState>pending</imageState>",
        ))
        .region("ap-southeast-2")
        .action("DescribeImages"),
    );
    let child = spawn_deploy(&proxy, &file);
    // The plan reaches the region whose copy is pending: planning overlaps the copy.
    let planned = proxy.wait_for(
        Some("ap-southeast-2"),
        Some("cloudformation"),
        Some("CreateChangeSet"),
        std::time::Duration::from_secs(180),
    );
    let executed_while_pending =
        proxy.count(None, Some("cloudformation"), Some("ExecuteChangeSet"));
    proxy.remove(rule);
    let run = cli::wait(child, cli::run_limit());
    assert!(planned, "no change set while the copy was pending\n{run}");
    assert_eq!(
        executed_while_pending, 0,
        "executed before every copy was available\n{run}"
    );
    run.expect_code(exit_code::SUCCESS);
    let copy = &stack_images("ap-southeast-2", &format!("{app}-test"));
    assert_eq!(copy.len(), 1, "{copy:?}");
}

#[test]
fn a_copy_failing_during_a_deploy_stops_it_before_any_stack_changes() {
    let _moto = sandbox::shared();
    let dir = tempfile::tempdir().unwrap();
    let app = sandbox::unique("copyfail");
    let source = bake(&sandbox::unique("shop-copyfail"));
    let file = stack_file(&dir, &app, &source, false);

    let proxy = FaultProxy::in_front_of_sandbox();
    proxy.add(
        Rule::new(Fault::rewrite(
            "<imageState>available</imageState>",
            "<imageState>failed</imageState>",
        ))
        .region("ap-southeast-2")
        .action("DescribeImages"),
    );
    let run = cli::wait(spawn_deploy(&proxy, &file), cli::run_limit());
    proxy.clear_rules();
    run.expect_code(exit_code::ENVIRONMENT);
    assert!(run.stderr.contains("ap-southeast-2"), "{run}");
    assert!(run.stderr.contains("nothing was deployed"), "{run}");
    assert_eq!(
        proxy.count(None, Some("cloudformation"), Some("ExecuteChangeSet")),
        0
    );
    // What the run planned and did not execute it deleted before exiting; the
    // strict sandbox deletes asynchronously, as AWS does, so wait for the delete.
    for region in REGIONS {
        let name = format!("{app}-test-{region}");
        let cfn = sdk::cloudformation(region);
        let left = sdk::block_on(sdk::settled_stack(&cfn, &name));
        assert!(
            left.is_none() || left.as_deref() == Some("DELETE_COMPLETE"),
            "{name} was left ({left:?})\n{run}"
        );
    }
}
