//! `backfill`: give a region's bucket the objects the other regions' buckets hold
//! and it lacks: what existed before the region joined (S3 replication "only
//! replicates new PUTs": objects written before a rule existed are never
//! replicated, <https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication.html>),
//! and what was written while it was away.
//!
//! - **What is copied.** The current version of every key that some other region's
//!   bucket holds and this one does not (ListObjectsV2 of each bucket), from the
//!   first region in the definition's order that holds it, with a server-side
//!   `CopyObject` (the data does not pass through strata). Old versions and delete
//!   markers are not copied; a key deleted elsewhere while this region was away is
//!   not deleted here (see docs/dr.md, "Back-fill").
//! - **Never over newer data.** Each copy carries `If-None-Match: *`: S3 refuses it
//!   (412) when the key appeared meanwhile (replication or the application wrote
//!   it), and the copy is counted as already there.
//! - **Idempotent and resumable.** What a run copied, the next one finds in the
//!   bucket and skips; an interrupted run is finished by the same command. A run
//!   that finds nothing missing makes no write.
//! - **Complete only when it is.** `complete` is true only when every source
//!   bucket could be listed and every missing key was copied (or found there).
//!
//! Objects of more than 5 GB cannot be copied in one request
//! (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html>): they are
//! named as failed, with the reason, rather than copied part by part.
//!
//! Everything goes through the `Objects` port (`aws::s3_objects` against AWS, a fake
//! in the tests).

use super::DrError;
use crate::call_error::CallError;
use crate::events::{EventKind, Events, Phase};
use crate::stack::StackDef;
use futures::stream::{self, StreamExt};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The largest object one `CopyObject` copies (5 GB).
pub const MAX_COPY_BYTES: u64 = 5 * 1024 * 1024 * 1024;

/// Copies in flight at once.
pub const COPY_CONCURRENCY: usize = 16;

/// A progress line every this many copies (and at the end).
const PROGRESS_EVERY: u64 = 100;

/// One current object of a bucket (ListObjectsV2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    pub key: String,
    pub size: u64,
}

/// How a conditional copy ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Copied {
    Copied,
    /// The key exists at the destination (412 to `If-None-Match: *`).
    AlreadyThere,
}

/// The S3 and CloudFormation reads and the copy `backfill` makes. Implemented by
/// `aws::s3_objects::S3Objects`.
#[allow(async_fn_in_trait)]
pub trait Objects: Sync {
    /// The bucket the region's stack names in its outputs (`BucketName`); None when
    /// the stack does not exist or has no bucket.
    async fn bucket(&self, region: &str, stack_name: &str) -> Result<Option<String>, CallError>;
    /// Every current object of the bucket (ListObjectsV2, every page).
    async fn list(&self, region: &str, bucket: &str) -> Result<Vec<Object>, CallError>;
    /// CopyObject of `key`'s current version from `from_bucket` (in `from_region`)
    /// into `to_bucket` (in `to_region`), only if the key does not exist there.
    async fn copy_if_absent(
        &self,
        to_region: &str,
        to_bucket: &str,
        from_bucket: &str,
        key: &str,
    ) -> Result<Copied, CallError>;
}

/// What to back-fill.
#[derive(Debug, Clone)]
pub struct BackfillInput {
    /// The region whose bucket receives the objects.
    pub region: String,
    /// The stack file as the operator named it, for the command that finishes an
    /// incomplete back-fill.
    pub file: String,
    /// Count what is missing, copy nothing.
    pub dry_run: bool,
    /// Set by Ctrl-C: no copy starts after it (those in flight finish).
    pub stop: Arc<AtomicBool>,
}

impl BackfillInput {
    pub fn new(file: &str, region: &str) -> Self {
        BackfillInput {
            region: region.to_string(),
            file: file.to_string(),
            dry_run: false,
            stop: Arc::new(AtomicBool::new(false)),
        }
    }
}

/// A source region, as the back-fill found it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceBucket {
    pub region: String,
    pub bucket: Option<String>,
    /// Current objects listed (0 when it could not be listed).
    pub objects: u64,
    /// Why it could not be read; its objects were not compared.
    pub problem: Option<String>,
}

/// One object that could not be copied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    pub key: String,
    pub from_region: String,
    pub reason: String,
}

/// What `backfill` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackfillReport {
    pub stack: String,
    pub region: String,
    pub bucket: String,
    pub dry_run: bool,
    pub sources: Vec<SourceBucket>,
    /// Current objects in the bucket before the run.
    pub objects_before: u64,
    /// Keys some source holds and the bucket did not.
    pub missing: u64,
    pub copied: u64,
    /// Missing at the listing, there by the copy (replication or a write won).
    pub already_there: u64,
    pub failed: Vec<Failure>,
    /// Copies not started (Ctrl-C, or a dry run).
    pub not_started: u64,
    /// Every source was read and nothing is missing any more.
    pub complete: bool,
    /// The command that finishes it, when it is not complete.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finish_with: Option<String>,
}

/// The keys `region`'s bucket lacks, each with the first other region (in the
/// definition's order) whose bucket holds it. Pure: the comparison `backfill`
/// acts on and `status` reports.
pub fn missing_keys<'a>(
    own: &BTreeSet<&'a str>,
    sources: &[(&'a str, &'a [Object])],
) -> BTreeMap<&'a str, (&'a str, u64)> {
    let mut missing = BTreeMap::new();
    for (region, objects) in sources {
        for o in *objects {
            if !own.contains(o.key.as_str()) {
                missing.entry(o.key.as_str()).or_insert((*region, o.size));
            }
        }
    }
    missing
}

/// Copy into `input.region`'s bucket every object the other regions' buckets hold
/// and it lacks. See the module doc.
pub async fn backfill<O: Objects>(
    objects: &O,
    def: &StackDef,
    input: &BackfillInput,
    events: &Events,
) -> Result<BackfillReport, DrError> {
    let stack = def.stack_name();
    let region = input.region.as_str();
    if def.region(region).is_none() {
        return Err(DrError::UnknownRegion {
            stack,
            region: region.to_string(),
        });
    }
    let bucket = objects
        .bucket(region, &def.region_stack_name(region))
        .await
        .map_err(DrError::aws("read the region's bucket", region))?
        .ok_or_else(|| DrError::NoOutput {
            stack: stack.clone(),
            region: region.to_string(),
            output: crate::synth::output_names::BUCKET_NAME.to_string(),
        })?;
    let own = objects
        .list(region, &bucket)
        .await
        .map_err(DrError::aws("list the region's bucket", region))?;
    let others: Vec<&str> = def
        .regions
        .iter()
        .map(|r| r.name.as_str())
        .filter(|r| *r != region)
        .collect();
    let listed = futures::future::join_all(others.iter().map(|r| async move {
        let bucket = match objects.bucket(r, &def.region_stack_name(r)).await {
            Ok(Some(b)) => b,
            Ok(None) => return (r, None, Err("no stack with a bucket there".to_string())),
            Err(e) => return (r, None, Err(e.to_string())),
        };
        let list = objects.list(r, &bucket).await.map_err(|e| e.to_string());
        (r, Some(bucket), list)
    }))
    .await;

    let mut sources = Vec::new();
    let mut lists: Vec<(&str, Vec<Object>)> = Vec::new();
    for (r, b, list) in listed {
        match list {
            Ok(objs) => {
                sources.push(SourceBucket {
                    region: r.to_string(),
                    bucket: b.clone(),
                    objects: objs.len() as u64,
                    problem: None,
                });
                lists.push((r, objs));
            }
            Err(problem) => {
                events.warn(
                    Some(region),
                    Phase::Backfill,
                    format!("{r}'s bucket not compared: {problem}"),
                );
                sources.push(SourceBucket {
                    region: r.to_string(),
                    bucket: b,
                    objects: 0,
                    problem: Some(problem),
                });
            }
        }
    }
    let bucket_of: BTreeMap<String, String> = sources
        .iter()
        .filter_map(|s| s.bucket.clone().map(|b| (s.region.clone(), b)))
        .collect();
    let own_keys: BTreeSet<&str> = own.iter().map(|o| o.key.as_str()).collect();
    let borrowed: Vec<(&str, &[Object])> = lists.iter().map(|(r, l)| (*r, l.as_slice())).collect();
    let missing = missing_keys(&own_keys, &borrowed);
    let total = missing.len() as u64;
    events.info(
        Some(region),
        Phase::Backfill,
        format!(
            "{bucket}: {} objects, {total} missing from the other regions' buckets{}",
            own.len(),
            if input.dry_run { " (dry run)" } else { "" }
        ),
    );

    let mut report = BackfillReport {
        stack: stack.clone(),
        region: region.to_string(),
        bucket: bucket.clone(),
        dry_run: input.dry_run,
        sources,
        objects_before: own.len() as u64,
        missing: total,
        copied: 0,
        already_there: 0,
        failed: Vec::new(),
        not_started: 0,
        complete: false,
        finish_with: None,
    };
    let finish_with = format!("strata dr backfill {} --region {region}", input.file);
    if input.dry_run {
        report.not_started = total;
        report.complete = total == 0 && report.sources.iter().all(|s| s.problem.is_none());
        if !report.complete {
            report.finish_with = Some(finish_with);
        }
        return Ok(report);
    }

    let bucket_ref = bucket.as_str();
    let bucket_of = &bucket_of;
    let stop = &input.stop;
    let mut results = stream::iter(missing)
        .map(|(key, (from, size))| async move {
            if stop.load(Ordering::SeqCst) {
                return (key, from, None);
            }
            if size > MAX_COPY_BYTES {
                return (
                    key,
                    from,
                    Some(Err(format!(
                        "{size} bytes: more than CopyObject copies in one request (5 GB)"
                    ))),
                );
            }
            let from_bucket = bucket_of[from].as_str();
            let r = objects
                .copy_if_absent(region, bucket_ref, from_bucket, key)
                .await
                .map_err(|e| e.to_string());
            (key, from, Some(r))
        })
        .buffer_unordered(COPY_CONCURRENCY);
    let mut done = 0u64;
    while let Some((key, from, result)) = results.next().await {
        match result {
            None => report.not_started += 1,
            Some(Ok(Copied::Copied)) => report.copied += 1,
            Some(Ok(Copied::AlreadyThere)) => report.already_there += 1,
            Some(Err(reason)) => report.failed.push(Failure {
                key: key.to_string(),
                from_region: from.to_string(),
                reason,
            }),
        }
        done += 1;
        if done % PROGRESS_EVERY == 0 || done == total {
            events.emit(
                Some(region),
                Phase::Backfill,
                EventKind::Progress { done, total },
            );
        }
    }
    report.failed.sort_by(|a, b| a.key.cmp(&b.key));
    report.complete = report.failed.is_empty()
        && report.not_started == 0
        && report.sources.iter().all(|s| s.problem.is_none());
    if stop.load(Ordering::SeqCst) && report.not_started > 0 {
        return Err(DrError::Interrupted);
    }
    if !report.complete {
        events.warn(
            Some(region),
            Phase::Backfill,
            format!(
                "{bucket}: back-fill incomplete ({} failed; run `{finish_with}` to finish)",
                report.failed.len()
            ),
        );
        report.finish_with = Some(finish_with);
    }
    Ok(report)
}

/// After a deploy: back-fill the bucket of every region stack the run created
/// (a region added, or added back, to a stack whose other regions hold objects).
/// A deploy that did not end `Deployed`, a definition without storage or with one
/// region, back-fills nothing. A back-fill that fails does not undo the deploy: it
/// is reported with the command that finishes it.
pub async fn after_deploy<O: Objects>(
    objects: &O,
    def: &StackDef,
    report: &crate::deploy::Report,
    file: &str,
    events: &Events,
) -> Vec<BackfillReport> {
    use crate::deploy::{Outcome, StackResult};
    use crate::plan::StackRole;
    if report.outcome != Outcome::Deployed || !def.storage.enabled || def.regions.len() < 2 {
        return Vec::new();
    }
    let created: Vec<&str> = report
        .stacks
        .iter()
        .filter(|s| s.role == StackRole::Region && s.result == StackResult::Created)
        .map(|s| s.region.as_str())
        .collect();
    let mut reports = Vec::new();
    for region in created {
        match backfill(objects, def, &BackfillInput::new(file, region), events).await {
            Ok(r) => reports.push(r),
            Err(e) => events.warn(
                Some(region),
                Phase::Backfill,
                format!(
                    "back-fill of the bucket not done: {e}; run `strata dr backfill {file} --region {region}`"
                ),
            ),
        }
    }
    reports
}

#[cfg(test)]
mod tests;
