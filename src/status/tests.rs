//! `status` over the shared fake: what a user sees per region, a region that
//! stops answering, buckets compared across regions, stacks left behind.

use super::*;
use crate::fake::Fake;
use std::collections::BTreeMap;
use std::path::Path;

const REGIONS: [&str; 3] = ["us-east-1", "us-west-2", "eu-west-1"];

fn example() -> StackDef {
    crate::stack::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("stacks/example.toml")).unwrap()
}

fn opts() -> StatusOptions {
    StatusOptions {
        region_timeout: Duration::from_millis(200),
        ..StatusOptions::default()
    }
}

/// A deployed region stack with the deploy record, its outputs and a bucket.
fn deploy(fake: &Fake, def: &StackDef, region: &str) {
    let stack = def.region_stack_name(region);
    let bucket = format!("shop-prod-assets-{region}");
    fake.put_deployed_stack(
        region,
        &stack,
        &format!("ami-{region}"),
        &[
            (TAG_VERSION, "v7"),
            (TAG_DEPLOYMENT_ID, "d-42"),
            (TAG_DEPLOYED_BY, "ci"),
        ],
    );
    fake.with(|s| {
        s.stack_outputs.insert(
            (region.into(), stack.clone()),
            BTreeMap::from([
                (output_names::ASG_NAME.to_string(), format!("Asg-{stack}")),
                (
                    output_names::TARGET_GROUP_ARN.to_string(),
                    format!("Tg-{stack}"),
                ),
                (
                    output_names::HEALTH_CHECK_ID.to_string(),
                    format!("hc-{region}"),
                ),
                (output_names::BUCKET_NAME.to_string(), bucket.clone()),
            ]),
        );
    });
    fake.add_bucket(
        region,
        &bucket,
        &["index.html"],
        &["shop-prod-assets-other"],
    );
}

fn region<'a>(all: &'a [RegionStatus], name: &str) -> &'a RegionStatus {
    all.iter().find(|r| r.region == name).unwrap()
}

#[tokio::test]
async fn a_deployed_region_shows_its_record_capacity_targets_health_and_replication() {
    let (fake, def) = (Fake::default(), example());
    deploy(&fake, &def, "us-east-1");
    fake.with(|s| s.unhealthy.insert("us-east-1".into()));

    let all = regions_of(&fake, &def, &opts()).await;
    assert_eq!(
        all.iter().map(|r| r.region.as_str()).collect::<Vec<_>>(),
        REGIONS,
        "in the definition's order"
    );
    let r = region(&all, "us-east-1");
    assert_eq!(r.state, RegionState::Deployed);
    assert_eq!(r.stack_status.as_deref(), Some("UPDATE_COMPLETE"));
    assert_eq!(r.version.as_deref(), Some("v7"));
    assert_eq!(r.deployment_id.as_deref(), Some("d-42"));
    assert_eq!(r.deployed_by.as_deref(), Some("ci"));
    assert_eq!(r.ami.as_deref(), Some("ami-us-east-1"));
    assert_eq!(
        r.asg,
        Some(AsgView {
            in_service: 2,
            desired: 2
        })
    );
    assert_eq!(
        r.targets,
        Some(TargetView {
            healthy: 1,
            total: 2
        })
    );
    let check = r.health_check.as_ref().unwrap();
    assert_eq!((check.id.as_str(), check.healthy), ("hc-us-east-1", true));
    let repl = r.replication.as_ref().unwrap();
    assert!(repl.configured);
    assert_eq!(repl.destinations, ["arn:aws:s3:::shop-prod-assets-other"]);
    assert!(r.problems.is_empty(), "{:?}", r.problems);

    for other in ["us-west-2", "eu-west-1"] {
        assert_eq!(region(&all, other).state, RegionState::NotDeployed);
    }
}

#[tokio::test]
async fn a_silent_region_is_unreachable_and_the_others_still_report() {
    let (fake, def) = (Fake::default(), example());
    for r in REGIONS {
        deploy(&fake, &def, r);
    }
    fake.with(|s| s.silent.insert("us-west-2".into()));
    // A region whose stack answers but whose target reads fail keeps its stack view.
    fake.with(|s| s.unreachable.insert("eu-west-1".into()));

    let all = regions_of(&fake, &def, &opts()).await;
    assert!(matches!(
        &region(&all, "us-west-2").state,
        RegionState::Unreachable { reason } if reason.contains("no answer within 0.2s")
    ));
    assert_eq!(region(&all, "us-east-1").state, RegionState::Deployed);
    let eu = region(&all, "eu-west-1");
    assert_eq!(eu.state, RegionState::Deployed);
    assert_eq!(eu.version.as_deref(), Some("v7"));
    assert_eq!(eu.targets, None);
    assert!(
        eu.problems
            .iter()
            .any(|p| p.contains("DescribeTargetHealth")),
        "{:?}",
        eu.problems
    );
}

#[tokio::test]
async fn buckets_are_compared_across_regions_and_a_region_missing_keys_is_incomplete() {
    let (fake, def) = (Fake::default(), example());
    for r in REGIONS {
        deploy(&fake, &def, r);
    }
    fake.add_bucket(
        "us-east-1",
        "shop-prod-assets-us-east-1",
        &["index.html", "new.css"],
        &[],
    );

    let mut all = regions_of(&fake, &def, &opts()).await;
    compare_buckets(&fake, &mut all, &opts()).await;
    let view = |r: &str| region(&all, r).replication.clone().unwrap();
    assert_eq!(
        (
            view("us-east-1").objects,
            view("us-east-1").missing,
            view("us-east-1").complete
        ),
        (Some(2), Some(0), Some(true))
    );
    for r in ["us-west-2", "eu-west-1"] {
        assert_eq!(
            (view(r).objects, view(r).missing, view(r).complete),
            (Some(1), Some(1), Some(false)),
            "{r} lacks new.css"
        );
    }
}

#[tokio::test]
async fn a_region_stack_the_definition_no_longer_names_is_listed() {
    let (fake, def) = (Fake::default(), example());
    deploy(&fake, &def, "ap-southeast-2");

    let left = left_behind(&fake, &def, &opts()).await;
    assert_eq!(
        left,
        [LeftBehind {
            region: "ap-southeast-2".into(),
            stack_name: def.region_stack_name("ap-southeast-2"),
            stack_status: "UPDATE_COMPLETE".into(),
        }]
    );
}

#[tokio::test]
async fn a_failed_over_region_is_healthy_yet_out_of_dns() {
    let (fake, def) = (Fake::default(), example());
    for r in REGIONS {
        deploy(&fake, &def, r);
    }
    fake.add_routed_names(&def);
    let mut out = fake.with(|s| s.health_checks["serving-us-east-1"].clone());
    out.health_threshold = Some(crate::dr::dns::never_healthy(1));
    fake.add_health_check(out);

    let all = regions_of(&fake, &def, &opts()).await;
    assert_eq!(
        region(&all, "us-east-1").targets,
        Some(TargetView {
            healthy: 2,
            total: 2
        })
    );
    let deployed: Vec<String> = REGIONS.iter().map(|r| r.to_string()).collect();
    let s = serving(&fake, &def, &deployed, opts().region_timeout).await;
    assert_eq!(s.error, None);
    assert_eq!(s.out_of_dns, ["us-east-1"]);
    assert!(s.serves("us-west-2") && s.serves("eu-west-1"));
}
