//! `rebuild`: recreate a lost region from the definition and put it back into
//! service. Each step reads what is there first, so running it again resumes:
//!
//! 1. pick a surviving source region;
//! 2. copy the AMI the source runs into the region;
//! 3. delete the region's stack when it is wrecked (failed state, or its load
//!    balancer gone), keeping its bucket and tables (`DeletionPolicy:
//!    RetainExceptOnCreate`: on AWS a stack cannot delete a bucket that holds
//!    objects, and their data is the region's);
//! 4. deploy the region's stack through the deploy library (build template,
//!    health gate, wiring): the new stack takes the kept bucket and tables back
//!    (an IMPORT change set, `plan::adopt`) with their data;
//! 5. re-apply every region's wiring (replication to the rebuilt bucket, records),
//!    a no-op where nothing changed;
//! 6. re-create records deleted outside CloudFormation (`records::repair`);
//! 7. put the region back into DNS and scale the others back (`restore`).

use super::restore::{restore, RestoreReport};
use super::DrError;
use crate::ami::Images;
use crate::ami::{self, AmiSource, TAG_SOURCE_AMI};
use crate::app::Pipeline;
use crate::aws::dr_compute::load_balancer_by_dns;
use crate::aws::stack_info::describe_stack;
use crate::aws::{Aws, CloudApi};
use crate::call_error::CallError;
use crate::deploy::cloud::Cloud;
use crate::deploy::{self, Outcome, Settings};
use crate::events::{EventKind, Events, Phase};
use crate::plan::Desired;
use crate::stack::StackDef;
use crate::synth;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Stack states a stack cannot be updated out of: it is deleted and created again.
const WRECKED: &[&str] = &[
    "CREATE_FAILED",
    "ROLLBACK_COMPLETE",
    "ROLLBACK_FAILED",
    "DELETE_FAILED",
    "UPDATE_ROLLBACK_FAILED",
];

/// Longest wait for a wrecked stack's deletion.
const DELETE_TIMEOUT: Duration = Duration::from_secs(1800);

/// What rebuild did.
#[derive(Debug, Clone, Serialize)]
pub struct RebuildReport {
    pub region: String,
    pub source_region: String,
    /// The AMI the source region runs, and the one the rebuilt region got.
    pub source_ami: String,
    pub ami: String,
    /// Why the old stack was deleted, when it was.
    pub deleted_stack: Option<String>,
    /// The buckets and tables the old stack's deletion kept (the new stack took
    /// them back with their data).
    pub kept_data: Vec<String>,
    pub region_deploy: Outcome,
    pub wiring_deploy: Outcome,
    /// Records of other regions found missing and re-created ("name region").
    pub repaired_records: Vec<String>,
    /// The bucket's back-fill from the other regions (None without storage, with
    /// one region, or when it could not run: a warning says why).
    pub backfill: Option<super::backfill::BackfillReport>,
    pub restore: RestoreReport,
}

/// Everything rebuild needs besides AWS.
pub struct RebuildInput<'a> {
    /// The prepared command (`app::prepare`): the definition, its templates, the
    /// source hash that goes into the version, as a deploy has them.
    pub pipeline: &'a Pipeline,
    pub region: &'a str,
    pub from: Option<&'a str>,
    pub settings: &'a Settings,
}

fn step(events: &Events, region: &str, detail: impl Into<String>) {
    events.emit(
        Some(region),
        Phase::Rebuild,
        EventKind::PhaseStarted {
            detail: detail.into(),
        },
    );
}

/// The surviving region to copy from: `from`, else the first region of the
/// rollout (other than `region`) whose stack exists and completed.
async fn source_region(aws: &Aws, input: &RebuildInput<'_>) -> Result<String, DrError> {
    let def = input.pipeline.def();
    if let Some(from) = input.from {
        if def.region(from).is_none() || from == input.region {
            return Err(DrError::UnknownRegion {
                stack: def.stack_name(),
                region: from.to_string(),
            });
        }
        return Ok(from.to_string());
    }
    for r in def.rollout.waves().into_iter().flatten() {
        if r == input.region {
            continue;
        }
        if let Ok(Some(s)) = describe_stack(aws, &r, &def.region_stack_name(&r)).await {
            if s.status.ends_with("_COMPLETE")
                && !s.status.contains("ROLLBACK")
                && !s.status.starts_with("DELETE")
            {
                return Ok(r);
            }
        }
    }
    Err(DrError::NoSurvivor {
        stack: def.stack_name(),
        region: input.region.to_string(),
    })
}

/// Copy the AMI the source region runs into `region`; returns (source AMI, region AMI).
async fn copy_ami(
    aws: &Aws,
    def: &StackDef,
    source: &str,
    region: &str,
    events: &Events,
) -> Result<(String, String), DrError> {
    let info = describe_stack(aws, source, &def.region_stack_name(source))
        .await
        .map_err(DrError::aws("reading the source stack", source))?
        .ok_or_else(|| DrError::NoStack {
            stack: def.region_stack_name(source),
            region: source.to_string(),
        })?;
    let running = info
        .parameters
        .get(synth::AMI_PARAMETER)
        .cloned()
        .unwrap_or_else(|| def.ami.id.clone());
    let image = aws
        .describe_image(source, &running)
        .await
        .map_err(DrError::aws("reading the source AMI", source))?;
    let Some(image) = image else {
        // Only the sandbox runs ids that do not exist; AWS would not have launched them.
        events.warn(
            Some(region),
            Phase::Rebuild,
            format!("AMI {running} does not exist in {source}: using the same id in {region}"),
        );
        return Ok((running.clone(), running));
    };
    if let Some(id) = deployed_choice(aws, def, &running, &image, region).await? {
        events.info(
            Some(region),
            Phase::Rebuild,
            format!("reusing {id}, the image a deploy gives {region}"),
        );
        return Ok((running, id));
    }
    let mut narrowed = def.clone();
    narrowed
        .regions
        .retain(|r| r.name == source || r.name == region);
    narrowed.ami.build_region = source.to_string();
    let amis = ami::ensure_copies(
        aws,
        &narrowed,
        &AmiSource {
            image_id: running.clone(),
            region: source.to_string(),
        },
        events,
    )
    .await
    .map_err(|e| DrError::Step {
        step: "copying the AMI",
        region: region.to_string(),
        message: e.to_string(),
    })?;
    let copy = amis.get(region).cloned().ok_or_else(|| DrError::Step {
        step: "copying the AMI",
        region: region.to_string(),
        message: format!("no copy of {running} was made"),
    })?;
    // Tag the copy with the original source, as the deploy looks copies up by it.
    if let Some(original) = image.tags.get(TAG_SOURCE_AMI) {
        let tags = BTreeMap::from([(TAG_SOURCE_AMI.to_string(), original.clone())]);
        aws.tag_image(region, &copy, &tags)
            .await
            .map_err(DrError::aws("tagging the AMI copy", region))?;
    }
    Ok((running, copy))
}

/// When the source runs the definition's AMI (itself or a copy of it), the image
/// `deploy` would give `region`, if it is there and available: the rebuilt region
/// gets that one, so the next deploy finds nothing to change (a different copy
/// would move the AMI parameter and replace every instance right after a
/// recovery). None: copy from the source region.
async fn deployed_choice(
    aws: &Aws,
    def: &StackDef,
    running: &str,
    image: &crate::ami::ImageInfo,
    region: &str,
) -> Result<Option<String>, DrError> {
    let original = image
        .tags
        .get(TAG_SOURCE_AMI)
        .map(String::as_str)
        .unwrap_or(running);
    if original != def.ami.id {
        return Ok(None);
    }
    let found = if region == def.ami.build_region && !def.ami.encrypted {
        aws.describe_image(region, &def.ami.id)
            .await
            .map_err(DrError::aws("reading the definition's AMI", region))?
    } else {
        let tags = BTreeMap::from([
            (TAG_SOURCE_AMI.to_string(), def.ami.id.clone()),
            (ami::TAG_STACK.to_string(), def.stack_name()),
        ]);
        let copies = aws
            .images_by_tags(region, &tags)
            .await
            .map_err(DrError::aws("looking up the AMI copies", region))?;
        crate::ami::preferred_copy(copies)
    };
    Ok(found.filter(|i| i.state == "available").map(|i| i.id))
}

/// Why the region's stack must be deleted first, if it must.
async fn wrecked(
    aws: &Aws,
    cloud: &CloudApi,
    def: &StackDef,
    region: &str,
) -> Result<Option<String>, DrError> {
    let name = def.region_stack_name(region);
    let Some(state) = cloud
        .stack(region, &name)
        .await
        .map_err(DrError::aws("reading the stack", region))?
    else {
        return Ok(None);
    };
    if WRECKED.contains(&state.status.as_str()) {
        return Ok(Some(format!("{name} is {}", state.status)));
    }
    let lb = match super::stack_refs::load_balancer(aws, def, region).await {
        Ok(key) => load_balancer_by_dns(aws, region, &key)
            .await
            .map_err(DrError::aws("reading the load balancer", region))?
            .map(|_| ())
            .ok_or(key),
        Err(e) => Err(e.to_string()),
    };
    if let Err(what) = lb {
        return Ok(Some(format!(
            "the load balancer of {name} is gone ({what})"
        )));
    }
    Ok(None)
}

/// Delete the wrecked stack and wait until it is gone. A stack whose delete ends
/// DELETE_FAILED is deleted once more; when what failed is a bucket or table (a
/// stack deployed before its bucket was kept on delete: on AWS a bucket holding
/// objects cannot be deleted), the second delete keeps it with `RetainResources`,
/// which AWS offers for exactly this case
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/troubleshooting.html#troubleshooting-errors-delete-stack-fails>),
/// and the new stack takes it back with its data.
async fn delete_and_wait(
    aws: &Aws,
    cloud: &CloudApi,
    region: &str,
    name: &str,
    events: &Events,
) -> Result<(), DrError> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(300);
    let mut retried = false;
    cloud
        .delete_stack(region, name)
        .await
        .map_err(DrError::aws("deleting the wrecked stack", region))?;
    loop {
        match cloud
            .stack(region, name)
            .await
            .map_err(DrError::aws("waiting for the deletion", region))?
        {
            None => return Ok(()),
            Some(s) if s.status == "DELETE_COMPLETE" => return Ok(()),
            Some(s) if s.status == "DELETE_FAILED" && !retried => {
                retried = true;
                let keep = failed_data(aws, region, name).await?;
                if keep.is_empty() {
                    events.warn(
                        Some(region),
                        Phase::Rebuild,
                        format!("{name}: DELETE_FAILED, deleting again"),
                    );
                    cloud
                        .delete_stack(region, name)
                        .await
                        .map_err(DrError::aws("deleting the wrecked stack", region))?;
                } else {
                    events.warn(
                        Some(region),
                        Phase::Rebuild,
                        format!(
                            "{name}: DELETE_FAILED on {} ({}); deleting again, keeping them \
                             (RetainResources)",
                            keep.join(", "),
                            s.status_reason.unwrap_or_default()
                        ),
                    );
                    aws.cloudformation(region)
                        .delete_stack()
                        .stack_name(name)
                        .set_retain_resources(Some(keep))
                        .send()
                        .await
                        .map_err(|e| {
                            CallError::from_sdk("cloudformation", "DeleteStack", region, e)
                        })
                        .map_err(DrError::aws("deleting the wrecked stack", region))?;
                }
            }
            Some(s) if s.status == "DELETE_FAILED" => {
                return Err(DrError::Step {
                    step: "deleting the wrecked stack",
                    region: region.to_string(),
                    message: format!(
                        "{name} is DELETE_FAILED: {}",
                        s.status_reason.unwrap_or_default()
                    ),
                })
            }
            Some(_) => {}
        }
        if started.elapsed() > DELETE_TIMEOUT {
            return Err(DrError::Step {
                step: "deleting the wrecked stack",
                region: region.to_string(),
                message: format!(
                    "{name} was not deleted within {}s",
                    DELETE_TIMEOUT.as_secs()
                ),
            });
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 3 / 2).min(Duration::from_secs(5));
    }
}

/// The logical ids of the stack's buckets and tables whose deletion failed.
async fn failed_data(aws: &Aws, region: &str, name: &str) -> Result<Vec<String>, DrError> {
    let out = aws
        .cloudformation(region)
        .describe_stack_resources()
        .stack_name(name)
        .send()
        .await
        .map_err(|e| CallError::from_sdk("cloudformation", "DescribeStackResources", region, e))
        .map_err(DrError::aws("reading the failed deletion", region))?;
    Ok(out
        .stack_resources()
        .iter()
        .filter(|r| {
            DATA_TYPES.contains(&r.resource_type().unwrap_or_default())
                && r.resource_status().map(|s| s.as_str()) == Some("DELETE_FAILED")
        })
        .filter_map(|r| r.logical_resource_id().map(str::to_string))
        .collect())
}

/// The stack's buckets and tables: (type, physical name).
async fn data_resources(
    cloud: &CloudApi,
    region: &str,
    name: &str,
) -> Result<Vec<(String, String)>, DrError> {
    let resources = cloud.resources(region, name).await.map_err(DrError::aws(
        "reading the wrecked stack's resources",
        region,
    ))?;
    Ok(resources
        .into_iter()
        .filter(|r| DATA_TYPES.contains(&r.resource_type.as_str()) && !r.physical_id.is_empty())
        .map(|r| (r.resource_type, r.physical_id))
        .collect())
}

/// The data resource types a region stack holds.
const DATA_TYPES: &[&str] = &[
    "AWS::S3::Bucket",
    "AWS::DynamoDB::Table",
    "AWS::DynamoDB::GlobalTable",
];

/// The names of `data` that outlived their stack's deletion.
async fn still_there(
    cloud: &CloudApi,
    region: &str,
    data: Vec<(String, String)>,
) -> Result<Vec<String>, DrError> {
    let mut out = Vec::new();
    for (kind, name) in data {
        let there = if kind == "AWS::S3::Bucket" {
            cloud.bucket_exists(region, &name).await
        } else {
            cloud.table(region, &name).await.map(|t| t.is_some())
        }
        .map_err(DrError::aws("reading what the deleted stack kept", region))?;
        if there {
            out.push(name);
        }
    }
    Ok(out)
}

/// Only `region`'s stack of a desired state.
pub fn only_region(desired: &Desired, region: &str) -> Desired {
    desired.only_regions(&[region.to_string()])
}

async fn run_deploy(
    cloud: &CloudApi,
    events: &Events,
    desired: &Desired,
    settings: &Settings,
    region: &str,
    what: &'static str,
) -> Result<Outcome, DrError> {
    let report = deploy::deploy(cloud, events, desired, settings, |_| true)
        .await
        .map_err(|e| DrError::Step {
            step: what,
            region: region.to_string(),
            message: e.to_string(),
        })?;
    match report.outcome {
        Outcome::Deployed | Outcome::NoChange => Ok(report.outcome),
        other => Err(DrError::Step {
            step: what,
            region: region.to_string(),
            message: format!(
                "the deploy ended {other:?}: {}",
                report.error.unwrap_or_default()
            ),
        }),
    }
}

/// Rebuild `input.region`. See the module doc.
pub async fn rebuild(
    aws: &Aws,
    cloud: &CloudApi,
    input: &RebuildInput<'_>,
    events: &Events,
) -> Result<RebuildReport, DrError> {
    let def = input.pipeline.def();
    let region = input.region;
    if def.region(region).is_none() {
        return Err(DrError::UnknownRegion {
            stack: def.stack_name(),
            region: region.to_string(),
        });
    }
    let source = source_region(aws, input).await?;
    step(
        events,
        region,
        format!("copying the running AMI from {source}"),
    );
    let (source_ami, region_ami) = copy_ami(aws, def, &source, region, events).await?;

    step(events, region, "checking the region's stack");
    let deleted = wrecked(aws, cloud, def, region).await?;
    let mut kept_data = Vec::new();
    if let Some(why) = &deleted {
        let name = def.region_stack_name(region);
        step(
            events,
            region,
            format!("deleting the wrecked stack, keeping its bucket and tables: {why}"),
        );
        let data = data_resources(cloud, region, &name).await?;
        delete_and_wait(aws, cloud, region, &name, events).await?;
        kept_data = still_there(cloud, region, data).await?;
        if !kept_data.is_empty() {
            events.info(
                Some(region),
                Phase::Rebuild,
                format!(
                    "{name} is deleted; it kept {} with their data, which the new stack takes back",
                    kept_data.join(", ")
                ),
            );
        }
    }

    // Every other region keeps the AMI it runs; the rebuilt one gets the copy.
    let mut amis = BTreeMap::new();
    for r in &def.regions {
        let running = describe_stack(aws, &r.name, &def.region_stack_name(&r.name))
            .await
            .ok()
            .flatten()
            .and_then(|s| s.parameters.get(synth::AMI_PARAMETER).cloned());
        amis.insert(
            r.name.clone(),
            running.unwrap_or_else(|| source_ami.clone()),
        );
    }
    amis.insert(region.to_string(), region_ami.clone());
    let desired = input.pipeline.desired_with(&amis);

    step(events, region, "deploying the region's stack");
    let region_deploy = run_deploy(
        cloud,
        events,
        &only_region(&desired, region),
        input.settings,
        region,
        "deploying the region",
    )
    .await?;
    step(
        events,
        region,
        "re-applying every region's wiring (replication, records)",
    );
    let wiring_deploy = run_deploy(
        cloud,
        events,
        &desired,
        input.settings,
        region,
        "re-wiring the regions",
    )
    .await?;

    step(events, region, "checking every region's records");
    let zone = super::dns::zone_id(aws, def).await?;
    let repaired_records = super::records::repair(aws, def, &zone, None, events).await?;

    // The data before the traffic: the bucket gets what the others hold and it
    // lacks (writes its own replication never sent, objects from before it joined)
    // before the region is back in DNS. What this does not finish is said, with
    // the command that does; it does not keep the region out of service.
    let backfill = if def.storage.enabled && def.regions.len() > 1 {
        step(
            events,
            region,
            "back-filling the bucket from the other regions",
        );
        let file = input.pipeline.definition.path.display().to_string();
        let objects = crate::aws::s3_objects::S3Objects::new(aws);
        match super::backfill::backfill(
            &objects,
            def,
            &super::backfill::BackfillInput::new(&file, region),
            events,
        )
        .await
        {
            Ok(r) => Some(r),
            Err(e) => {
                events.warn(
                    Some(region),
                    Phase::Backfill,
                    format!("back-fill not done: {e}; run `strata dr backfill {file} --region {region}`"),
                );
                None
            }
        }
    } else {
        None
    };

    step(
        events,
        region,
        "putting the region back into DNS, scaling the others back",
    );
    let restored = restore(aws, def, region, events).await?;
    Ok(RebuildReport {
        region: region.to_string(),
        source_region: source,
        source_ami,
        ami: region_ami,
        deleted_stack: deleted,
        kept_data,
        region_deploy,
        wiring_deploy,
        repaired_records,
        backfill,
        restore: restored,
    })
}
