//! The AMI commands over the shared fake (`crate::fake`): copies, prune and bake
//! judged by what the fake's EC2 holds afterwards, and by the calls they made.

use super::*;
use crate::events::Events;
use crate::fake::{image, Fake};
use crate::stack::StackDef;
use std::path::Path;
use std::time::Duration;

const SOURCE: &str = "ami-0123456789abcdef0";
const BUILD: &str = "us-east-1";
const OTHERS: [&str; 2] = ["us-west-2", "eu-west-1"];

fn example() -> StackDef {
    crate::stack::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("stacks/example.toml")).unwrap()
}

fn quick() -> WaitPolicy {
    WaitPolicy {
        max_wait: Duration::from_millis(200),
        first_poll: Duration::from_millis(1),
        max_poll: Duration::from_millis(2),
    }
}

/// A fake holding the example's source AMI in its build region.
fn with_source() -> Fake {
    let fake = Fake::default();
    fake.add_image(BUILD, image(SOURCE, "web-1.0", &[(TAG_VERSION, "1.0")]));
    fake
}

fn count(fake: &Fake, call: &str) -> usize {
    fake.mutating().iter().filter(|c| c.ends_with(call)).count()
}

async fn copies(fake: &Fake, def: &StackDef) -> Result<RegionAmis, AmiError> {
    let source = AmiSource::from_def(def);
    ensure_copies_with(fake, def, &source, &Events::discard(), &quick()).await
}

#[tokio::test]
async fn copy_lands_in_every_other_region_tagged_and_a_rerun_reuses_it() {
    let (fake, def) = (with_source(), example());
    let amis = copies(&fake, &def).await.unwrap();

    assert_eq!(amis[BUILD], SOURCE, "the build region keeps its image");
    for region in OTHERS {
        let copy = &fake.images_in(region)[&amis[region]];
        assert_eq!(copy.state, "available");
        assert_eq!(copy.tags[TAG_SOURCE_AMI], SOURCE);
        assert_eq!(copy.tags[TAG_SOURCE_REGION], BUILD);
        assert_eq!(copy.tags[TAG_STACK], def.stack_name());
        assert_eq!(copy.tags[TAG_VERSION], "1.0");
    }
    assert_eq!(
        fake.images_in(BUILD).len(),
        1,
        "no copy in the build region"
    );
    assert_eq!(count(&fake, "CopyImage"), 2);

    let again = copies(&fake, &def).await.unwrap();
    assert_eq!(again, amis);
    assert_eq!(count(&fake, "CopyImage"), 2, "a rerun copies nothing");
}

#[tokio::test]
async fn an_untagged_copy_left_by_a_dead_run_is_found_by_name_and_tagged() {
    let (fake, def) = (with_source(), example());
    let name = format!("{}-{SOURCE}-from-{BUILD}", def.stack_name());
    fake.add_image("us-west-2", image("ami-orphan", &name, &[]));

    let amis = copies(&fake, &def).await.unwrap();
    assert_eq!(amis["us-west-2"], "ami-orphan");
    let orphan = &fake.images_in("us-west-2")["ami-orphan"];
    assert_eq!(orphan.tags[TAG_SOURCE_AMI], SOURCE);
    assert_eq!(orphan.tags[TAG_STACK], def.stack_name());
    assert_eq!(count(&fake, "CopyImage"), 1, "only eu-west-1 is copied");
}

#[tokio::test]
async fn encrypted_copies_cover_the_build_region_too() {
    let fake = with_source();
    let mut def = example();
    def.ami.encrypted = true;

    let amis = copies(&fake, &def).await.unwrap();
    assert_ne!(
        amis[BUILD], SOURCE,
        "the build region launches from its copy"
    );
    assert_eq!(fake.images_in(BUILD).len(), 2);
    assert_eq!(count(&fake, "CopyImage"), 3);
}

#[tokio::test]
async fn a_missing_or_unfinished_source_is_refused_before_any_copy() {
    let def = example();
    let err = copies(&Fake::default(), &def).await.unwrap_err();
    assert!(matches!(err, AmiError::SourceNotFound { ref region, .. } if region == BUILD));

    let fake = Fake::default();
    let mut pending = image(SOURCE, "web-1.0", &[]);
    pending.state = "pending".into();
    fake.add_image(BUILD, pending);
    let err = copies(&fake, &def).await.unwrap_err();
    assert!(matches!(err, AmiError::SourceNotAvailable { ref state, .. } if state == "pending"));
    assert!(fake.mutating().is_empty(), "{:?}", fake.mutating());
}

#[tokio::test]
async fn a_failed_copy_names_its_region_and_the_others_are_done() {
    let (fake, def) = (with_source(), example());
    fake.with(|s| s.fail_mutating_call = Some(1));

    let err = copies(&fake, &def).await.unwrap_err();
    let AmiError::CopiesFailed { failed, done } = err else {
        panic!("expected CopiesFailed, got {err}");
    };
    assert_eq!(failed.len(), 1, "{failed:?}");
    let (region, why) = failed.iter().next().unwrap();
    assert!(OTHERS.contains(&region.as_str()));
    assert!(why.contains("CopyImage"), "{why}");
    let other = OTHERS.iter().find(|r| *r != region).unwrap();
    assert!(fake.images_in(other).contains_key(&done[*other]));
    assert_eq!(done[BUILD], SOURCE);

    fake.with(|s| s.fail_mutating_call = None);
    let amis = copies(&fake, &def).await.unwrap();
    assert_eq!(
        amis[*other], done[*other],
        "the rerun keeps the finished copy"
    );
    assert_eq!(
        fake.images_in(region).len(),
        1,
        "and copies the failed one once"
    );
}

/// A copy of `source` for the example stack, made at `copied_at`.
fn copy(id: &str, source: &str, copied_at: &str) -> ImageInfo {
    image(
        id,
        &format!("copy-{id}"),
        &[
            (TAG_SOURCE_AMI, source),
            (TAG_STACK, "shop-prod"),
            (TAG_COPIED_AT, copied_at),
        ],
    )
}

#[tokio::test]
async fn prune_keeps_what_the_stack_launches_from_and_deletes_the_rest_with_snapshots() {
    let def = example();
    assert_eq!(def.stack_name(), "shop-prod");
    let region = "us-west-2";
    let fake = Fake::default();
    for (id, source, at) in [
        ("ami-param", "ami-s1", "2026-01-01T00:00:01Z"),
        ("ami-lt", "ami-s2", "2026-01-01T00:00:02Z"),
        ("ami-gone", "ami-s3", "2026-01-01T00:00:03Z"),
        ("ami-newest", "ami-s4", "2026-01-01T00:00:04Z"),
        ("ami-current", SOURCE, "2026-01-01T00:00:00Z"),
    ] {
        fake.add_image(region, copy(id, source, at));
    }
    fake.add_image(region, image("ami-foreign", "not-ours", &[]));
    let stack = def.region_stack_name(region);
    fake.put_deployed_stack(region, &stack, "ami-param", &[]);
    fake.with(|s| {
        s.stack_launch_templates
            .insert((region.into(), stack), vec!["lt-1".into()]);
        s.launch_templates.insert(
            (region.into(), "lt-1".into()),
            vec!["ami-lt".into(), "ami-param".into()],
        );
    });

    let report = prune(&fake, &def, 1, &Events::discard()).await;
    assert!(report.failed_regions().is_empty(), "{report:?}");
    let left: Vec<String> = fake.images_in(region).into_keys().collect();
    assert_eq!(
        left,
        [
            "ami-current",
            "ami-foreign",
            "ami-lt",
            "ami-newest",
            "ami-param"
        ]
    );
    let outcome = &report.regions[region];
    assert_eq!(outcome.deregistered, ["ami-gone"]);
    assert_eq!(outcome.snapshots_deleted, ["snap-ami-gone"]);
    assert_eq!(
        fake.with(|s| s.deleted_snapshots.clone()),
        [(region.to_string(), "snap-ami-gone".to_string())]
    );
}

#[tokio::test]
async fn a_failed_deregistration_is_reported_for_its_region_and_removes_nothing() {
    let def = example();
    let fake = Fake::default();
    fake.add_image(
        "eu-west-1",
        copy("ami-old", "ami-s1", "2026-01-01T00:00:01Z"),
    );
    fake.add_image(
        "eu-west-1",
        copy("ami-older", "ami-s0", "2026-01-01T00:00:00Z"),
    );
    fake.with(|s| s.fail_mutating_call = Some(1));

    let report = prune(&fake, &def, 0, &Events::discard()).await;
    assert_eq!(report.failed_regions(), ["eu-west-1"]);
    assert!(report.regions["eu-west-1"]
        .error
        .as_deref()
        .unwrap()
        .contains("DeregisterImage"));
    assert_eq!(
        fake.images_in("eu-west-1").len(),
        2,
        "the failed deregistration removed nothing"
    );
}

#[tokio::test]
async fn bake_reuses_its_own_image_and_refuses_a_name_another_instance_took() {
    let fake = Fake::default();
    let req = BakeRequest {
        region: BUILD.into(),
        instance_id: "i-builder".into(),
        name: "web-2.0".into(),
    };
    let first = bake(&fake, &req, &quick(), &Events::discard())
        .await
        .unwrap();
    assert!(first.created);
    let baked = &fake.images_in(BUILD)[&first.image_id];
    assert_eq!(baked.tags[TAG_BAKED_FROM], "i-builder");
    assert_eq!(baked.tags[TAG_VERSION], "web-2.0");

    let again = bake(&fake, &req, &quick(), &Events::discard())
        .await
        .unwrap();
    assert_eq!(
        (again.image_id.as_str(), again.created),
        (first.image_id.as_str(), false)
    );
    assert_eq!(count(&fake, "CreateImage"), 1);

    let other = BakeRequest {
        instance_id: "i-other".into(),
        ..req
    };
    let err = bake(&fake, &other, &quick(), &Events::discard())
        .await
        .unwrap_err();
    assert!(matches!(err, AmiError::NameTaken { ref image_id, .. } if *image_id == first.image_id));
}

#[tokio::test]
async fn waiting_on_a_failed_image_reports_why_and_a_stuck_one_times_out() {
    let fake = Fake::default();
    let mut failed = image("ami-bad", "bad", &[]);
    failed.state = "failed".into();
    failed.state_reason = Some("Client.InternalError".into());
    fake.add_image(BUILD, failed);
    let mut stuck = image("ami-slow", "slow", &[]);
    stuck.state = "pending".into();
    fake.add_image(BUILD, stuck);

    let err = wait::until_available(&fake, BUILD, "ami-bad", &quick(), |_, _| {})
        .await
        .unwrap_err();
    assert!(
        matches!(err, AmiError::ImageFailed { ref reason, .. } if reason == "Client.InternalError")
    );
    let mut polls = 0;
    let err = wait::until_available(&fake, BUILD, "ami-slow", &quick(), |_, _| polls += 1)
        .await
        .unwrap_err();
    assert!(matches!(err, AmiError::WaitTimedOut { ref state, .. } if state == "pending"));
    assert!(polls > 1, "it polled more than once before giving up");
}
