//! End-to-end: the app the user data starts (docs/app-contract.md) is what the
//! health gate sees.
//!
//! The sandbox runs an instance's user data when its AMI carries an app (the AMI's
//! `strata:sandbox-app` tag names the directory baked in as `/opt/app`; copies
//! inherit it: docs/sandbox.md), and the load balancer's health checks are HTTP
//! requests to that app. The test app (`tests/fixtures/app`) reads its contract
//! from Parameter Store and answers its health path only once it has it; the broken
//! build (`tests/fixtures/app-unhealthy`) answers 500.
//!
//! Read back through the services' APIs: every instance of every region prints the
//! contract it read (EC2 GetConsoleOutput), is healthy in its target group
//! (DescribeTargetHealth), and the deploy's gate read those targets; an AMI update to
//! the broken build fails the first region's gate on its targets, and the region is
//! put back on the old AMI, whose app answers again.

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use support::{cli, sandbox, sdk};

const REGIONS: [&str; 3] = ["us-east-1", "us-west-2", "eu-west-1"];
const GOOD_AMI: &str = "ami-0123456789abcdef0";
const BROKEN_AMI: &str = "ami-0a1b2c3d";

/// The example stack, CloudFront off, on `ami`.
fn fixture(dir: &Path, name: &str, ami: &str) -> PathBuf {
    let text = std::fs::read_to_string(sandbox::repo_dir().join("stacks/example.toml")).unwrap();
    let text = text
        .replace("cloudfront = true", "cloudfront = false")
        .replace(&format!("id = \"{GOOD_AMI}\""), &format!("id = \"{ami}\""))
        .replace("gate_timeout = \"10m\"", "gate_timeout = \"20s\"");
    assert!(text.contains(&format!("id = \"{ami}\"")));
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Bake `app` (a directory under tests/fixtures) into `ami` in us-east-1.
fn bake(ec2: &aws_sdk_ec2::Client, ami: &str, app: &str) {
    let dir = sandbox::repo_dir().join("tests/fixtures").join(app);
    assert!(dir.join("start").exists(), "{dir:?} has no start");
    sdk::block_on(async {
        ec2.create_tags()
            .resources(ami)
            .tags(
                aws_sdk_ec2::types::Tag::builder()
                    .key("strata:sandbox-app")
                    .value(dir.to_str().unwrap())
                    .build(),
            )
            .send()
            .await
            .unwrap();
    });
}

/// The region's InService instances: (id, image id).
async fn in_service(
    asg: &aws_sdk_autoscaling::Client,
    ec2: &aws_sdk_ec2::Client,
    region: &str,
) -> Vec<(String, String)> {
    let groups = asg.describe_auto_scaling_groups().send().await.unwrap();
    let group = groups
        .auto_scaling_groups()
        .iter()
        .find(|g| g.auto_scaling_group_name().unwrap_or("").contains(region))
        .or(groups.auto_scaling_groups().first())
        .unwrap_or_else(|| panic!("{region}: no Auto Scaling group"));
    let ids: Vec<String> = group
        .instances()
        .iter()
        .filter(|i| i.lifecycle_state().map(|s| s.as_str()) == Some("InService"))
        .map(|i| i.instance_id().unwrap().to_string())
        .collect();
    let mut out = Vec::new();
    for id in ids {
        let d = ec2
            .describe_instances()
            .instance_ids(&id)
            .send()
            .await
            .unwrap();
        let image = d.reservations()[0].instances()[0]
            .image_id()
            .unwrap()
            .to_string();
        out.push((id, image));
    }
    out
}

/// Every registered target of the region's target groups: (id, state, reason).
async fn targets(elb: &aws_sdk_elasticloadbalancingv2::Client) -> Vec<(String, String, String)> {
    let groups = elb.describe_target_groups().send().await.unwrap();
    let mut out = Vec::new();
    for tg in groups.target_groups() {
        let health = elb
            .describe_target_health()
            .target_group_arn(tg.target_group_arn().unwrap())
            .send()
            .await
            .unwrap();
        for d in health.target_health_descriptions() {
            let h = d.target_health().unwrap();
            out.push((
                d.target().unwrap().id().unwrap().to_string(),
                h.state()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                h.reason()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
            ));
        }
    }
    out
}

/// What `id` wrote to its console (EC2 GetConsoleOutput, base64).
async fn console(ec2: &aws_sdk_ec2::Client, id: &str) -> String {
    let out = ec2
        .get_console_output()
        .instance_id(id)
        .send()
        .await
        .unwrap();
    let raw = aws_smithy_types::base64::decode(out.output().unwrap_or_default()).unwrap();
    String::from_utf8_lossy(&raw).into_owned()
}

struct Clients {
    region: &'static str,
    ec2: aws_sdk_ec2::Client,
    asg: aws_sdk_autoscaling::Client,
    elb: aws_sdk_elasticloadbalancingv2::Client,
}

fn clients() -> Vec<Clients> {
    // SDK clients are made outside the runtime (their configuration blocks on it).
    REGIONS
        .iter()
        .map(|r| Clients {
            region: r,
            ec2: sdk::ec2(r),
            asg: aws_sdk_autoscaling::Client::new(&sdk::config(r)),
            elb: aws_sdk_elasticloadbalancingv2::Client::new(&sdk::config(r)),
        })
        .collect()
}

/// Wait (up to 30 s) until every InService instance of the region is a healthy
/// target; panics with what was last seen.
async fn all_healthy(c: &Clients) -> Vec<(String, String)> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let fleet = in_service(&c.asg, &c.ec2, c.region).await;
        let seen = targets(&c.elb).await;
        let healthy = !fleet.is_empty()
            && fleet.iter().all(|(id, _)| {
                seen.iter()
                    .any(|(t, state, _)| t == id && state == "healthy")
            });
        if healthy {
            return fleet;
        }
        assert!(
            Instant::now() < deadline,
            "{}: instances {fleet:?}, targets {seen:?}",
            c.region
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[test]
fn the_app_the_user_data_starts_reads_its_contract_and_the_gate_sees_it() {
    let _moto = sandbox::exclusive();
    let dir = tempfile::tempdir().unwrap();
    let good = fixture(dir.path(), "good.toml", GOOD_AMI);
    let broken = fixture(dir.path(), "broken.toml", BROKEN_AMI);
    let clients = clients();
    bake(&clients[0].ec2, GOOD_AMI, "app");
    bake(&clients[0].ec2, BROKEN_AMI, "app-unhealthy");

    let run = cli::deploy_json(&good);
    run.expect_code(0);
    // The gate read every region's targets (the app answered through them).
    for region in REGIONS {
        let read = run.json_lines().into_iter().any(|e| {
            e["event"] == "health"
                && e["region"] == region
                && e["signal"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("targets "))
                && e["ok"] == true
        });
        assert!(
            read,
            "{region}: the gate never read healthy targets\n{run:?}"
        );
    }
    let before: Vec<Vec<(String, String)>> = sdk::block_on(async {
        let mut all = Vec::new();
        for c in &clients {
            let fleet = all_healthy(c).await;
            for (id, _) in &fleet {
                let text = console(&c.ec2, id).await;
                let line = text
                    .lines()
                    .find(|l| l.starts_with("app: read "))
                    .unwrap_or_else(|| panic!("{}: {id} printed no contract: {text}", c.region));
                for wanted in [
                    "under /shop/prod/:".to_string(),
                    format!("region={}", c.region),
                    "domain=shop.example.com".to_string(),
                    "tables/orders=".to_string(),
                    "queues/writes=".to_string(),
                    "bucket=".to_string(),
                ] {
                    assert!(
                        line.contains(&wanted),
                        "{}: {id}: no {wanted} in {line}",
                        c.region
                    );
                }
            }
            all.push(fleet);
        }
        all
    });

    // The broken build: its instances answer 500, the first region's gate fails on
    // its targets, and the region is put back on the good build.
    let run = cli::deploy_json(&broken);
    run.expect_code(strata::exit_code::DEPLOY_FAILED_ROLLED_BACK);
    let failed = run.json_lines().into_iter().any(|e| {
        e["event"] == "health"
            && e["region"] == "us-east-1"
            && e["signal"]
                .as_str()
                .is_some_and(|s| s.starts_with("targets "))
            && e["ok"] == false
            && e["detail"]
                .as_str()
                .is_some_and(|d| d.contains(" unhealthy"))
    });
    assert!(
        failed,
        "the gate did not see the broken app's targets\n{run:?}"
    );
    sdk::block_on(async {
        for (c, old) in clients.iter().zip(&before) {
            let fleet = all_healthy(c).await;
            let old_image = &old[0].1;
            for (id, image) in &fleet {
                assert_eq!(
                    image, old_image,
                    "{}: {id} is not on the good build",
                    c.region
                );
            }
        }
    });
}
