//! `backfill` over in-memory buckets: copies only what is missing, from the first
//! region holding it, never over a key that appeared meanwhile, idempotent,
//! resumable after a failed copy, and complete only when it is.

use super::*;
use crate::events::Collect;
use std::sync::Mutex;

const EAST: &str = "us-east-1";
const WEST: &str = "us-west-2";
const EU: &str = "eu-west-1";

/// One bucket: key -> (size, body).
type Bucket = BTreeMap<String, (u64, String)>;

/// Buckets in memory, one per region (`bucket-<region>`).
#[derive(Default)]
struct Fake {
    buckets: Mutex<BTreeMap<String, Bucket>>,
    /// Regions whose bucket cannot be listed.
    unreachable: Vec<&'static str>,
    /// Keys whose copy fails (once each: the next run's copy works).
    fail_once: Mutex<BTreeSet<String>>,
    /// Keys that replication writes into the destination just before their copy.
    raced: BTreeSet<String>,
    /// Every copy made, as `key from->to`.
    copies: Mutex<Vec<String>>,
}

fn bucket(region: &str) -> String {
    format!("bucket-{region}")
}

fn err(operation: &'static str, region: &str, code: &str) -> CallError {
    CallError {
        service: "s3",
        operation,
        region: region.to_string(),
        code: code.into(),
        message: "fake".into(),
    }
}

impl Fake {
    fn with(objects: &[(&str, &[(&str, &str)])]) -> Fake {
        let fake = Fake::default();
        {
            let mut buckets = fake.buckets.lock().unwrap();
            for r in [EAST, WEST, EU] {
                buckets.insert(bucket(r), BTreeMap::new());
            }
            for (region, objs) in objects {
                let b = buckets.get_mut(&bucket(region)).unwrap();
                for (k, body) in *objs {
                    b.insert(k.to_string(), (body.len() as u64, body.to_string()));
                }
            }
        }
        fake
    }

    fn keys(&self, region: &str) -> Vec<String> {
        self.buckets.lock().unwrap()[&bucket(region)]
            .keys()
            .cloned()
            .collect()
    }

    fn body(&self, region: &str, key: &str) -> String {
        self.buckets.lock().unwrap()[&bucket(region)][key].1.clone()
    }
}

impl Objects for Fake {
    async fn bucket(&self, region: &str, _stack: &str) -> Result<Option<String>, CallError> {
        Ok(Some(bucket(region)))
    }

    async fn list(&self, region: &str, b: &str) -> Result<Vec<Object>, CallError> {
        if self.unreachable.contains(&region) {
            return Err(err("ListObjectsV2", region, "RequestTimeout"));
        }
        Ok(self.buckets.lock().unwrap()[b]
            .iter()
            .map(|(k, (size, _))| Object {
                key: k.clone(),
                size: *size,
            })
            .collect())
    }

    async fn copy_if_absent(
        &self,
        to_region: &str,
        to_bucket: &str,
        from_bucket: &str,
        key: &str,
    ) -> Result<Copied, CallError> {
        if self.fail_once.lock().unwrap().remove(key) {
            return Err(err("CopyObject", to_region, "InternalError"));
        }
        let mut buckets = self.buckets.lock().unwrap();
        if self.raced.contains(key) {
            buckets
                .get_mut(to_bucket)
                .unwrap()
                .insert(key.to_string(), (5, "newer".into()));
        }
        if buckets[to_bucket].contains_key(key) {
            return Ok(Copied::AlreadyThere);
        }
        let value = buckets[from_bucket][key].clone();
        buckets
            .get_mut(to_bucket)
            .unwrap()
            .insert(key.to_string(), value);
        self.copies
            .lock()
            .unwrap()
            .push(format!("{key} {from_bucket}->{to_bucket}"));
        Ok(Copied::Copied)
    }
}

fn example() -> StackDef {
    crate::stack::load_str(include_str!("../../../stacks/example.toml"), "example.toml")
        .expect("the example loads")
}

fn run(fake: &Fake, input: &BackfillInput) -> Result<BackfillReport, DrError> {
    let events = Events::new(Arc::new(Collect::default()));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    runtime.block_on(backfill(fake, &example(), input, &events))
}

#[test]
fn an_empty_bucket_receives_every_object_of_the_others_once_from_the_first_region_holding_it() {
    let fake = Fake::with(&[
        (EAST, &[("a", "east-a"), ("shared", "east-shared")]),
        (WEST, &[("b", "west-b"), ("shared", "west-shared")]),
    ]);
    let report = run(&fake, &BackfillInput::new("stacks/example.toml", EU)).unwrap();
    assert_eq!(fake.keys(EU), ["a", "b", "shared"]);
    // "shared" comes from us-east-1, the first region of the definition.
    assert_eq!(fake.body(EU, "shared"), "east-shared");
    assert_eq!(
        (report.missing, report.copied, report.already_there),
        (3, 3, 0)
    );
    assert!(report.complete, "{report:?}");
    assert_eq!(report.objects_before, 0);
}

#[test]
fn a_second_run_copies_nothing() {
    let fake = Fake::with(&[(EAST, &[("a", "1"), ("b", "2")])]);
    run(&fake, &BackfillInput::new("stacks/example.toml", WEST)).unwrap();
    let copies = fake.copies.lock().unwrap().len();
    let again = run(&fake, &BackfillInput::new("stacks/example.toml", WEST)).unwrap();
    assert_eq!((again.missing, again.copied), (0, 0));
    assert!(again.complete);
    assert_eq!(fake.copies.lock().unwrap().len(), copies, "no new copy");
}

#[test]
fn a_key_that_appears_before_its_copy_is_not_overwritten() {
    let mut fake = Fake::with(&[(EAST, &[("k", "old")])]);
    fake.raced.insert("k".into());
    let report = run(&fake, &BackfillInput::new("stacks/example.toml", WEST)).unwrap();
    assert_eq!(fake.body(WEST, "k"), "newer");
    assert_eq!((report.copied, report.already_there), (0, 1));
    assert!(report.complete);
}

#[test]
fn a_failed_copy_is_named_leaves_it_incomplete_and_the_next_run_finishes() {
    let fake = Fake::with(&[(EAST, &[("a", "1"), ("b", "2"), ("c", "3")])]);
    fake.fail_once.lock().unwrap().insert("b".into());
    let first = run(&fake, &BackfillInput::new("stacks/example.toml", EU)).unwrap();
    assert!(!first.complete);
    assert_eq!(first.copied, 2);
    assert_eq!(first.failed.len(), 1);
    assert_eq!(first.failed[0].key, "b");
    assert_eq!(first.failed[0].from_region, EAST);
    let second = run(&fake, &BackfillInput::new("stacks/example.toml", EU)).unwrap();
    assert_eq!((second.missing, second.copied), (1, 1));
    assert!(second.complete);
    assert_eq!(fake.keys(EU), ["a", "b", "c"]);
}

#[test]
fn a_source_that_cannot_be_listed_makes_the_run_incomplete_but_the_others_are_copied() {
    let mut fake = Fake::with(&[(EAST, &[("a", "1")]), (WEST, &[("b", "2")])]);
    fake.unreachable = vec![WEST];
    let report = run(&fake, &BackfillInput::new("stacks/example.toml", EU)).unwrap();
    assert_eq!(fake.keys(EU), ["a"]);
    assert!(!report.complete);
    let west = report.sources.iter().find(|s| s.region == WEST).unwrap();
    assert!(west.problem.as_deref().unwrap().contains("RequestTimeout"));
}

#[test]
fn a_dry_run_counts_and_copies_nothing() {
    let fake = Fake::with(&[(EAST, &[("a", "1")])]);
    let mut input = BackfillInput::new("stacks/example.toml", WEST);
    input.dry_run = true;
    let report = run(&fake, &input).unwrap();
    assert_eq!(
        (report.missing, report.copied, report.not_started),
        (1, 0, 1)
    );
    assert!(!report.complete);
    assert!(fake.keys(WEST).is_empty());
}

#[test]
fn an_object_over_five_gigabytes_is_named_not_copied() {
    let fake = Fake::with(&[(EAST, &[("small", "1")])]);
    fake.buckets
        .lock()
        .unwrap()
        .get_mut(&bucket(EAST))
        .unwrap()
        .insert("huge".into(), (MAX_COPY_BYTES + 1, String::new()));
    let report = run(&fake, &BackfillInput::new("stacks/example.toml", WEST)).unwrap();
    assert_eq!(fake.keys(WEST), ["small"]);
    assert_eq!(report.failed.len(), 1);
    assert!(
        report.failed[0].reason.contains("5 GB"),
        "{:?}",
        report.failed
    );
    assert!(!report.complete);
}

#[test]
fn a_stop_before_the_copies_is_an_interruption_with_nothing_copied() {
    let fake = Fake::with(&[(EAST, &[("a", "1")])]);
    let input = BackfillInput::new("stacks/example.toml", WEST);
    input.stop.store(true, Ordering::SeqCst);
    assert!(matches!(run(&fake, &input), Err(DrError::Interrupted)));
    assert!(fake.keys(WEST).is_empty());
}

#[test]
fn a_region_not_in_the_definition_is_refused() {
    let fake = Fake::default();
    assert!(matches!(
        run(
            &fake,
            &BackfillInput::new("stacks/example.toml", "ap-south-1")
        ),
        Err(DrError::UnknownRegion { .. })
    ));
}
