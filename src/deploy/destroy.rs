//! `destroy`: delete the stacks (global, regions in reverse rollout order, the
//! zone) keeping every bucket and table (DeletionPolicy Retain first, so a bucket
//! holding objects never leaves a stack DELETE_FAILED); then empty and delete the
//! buckets and tables the user named; then say what was deleted, what was kept and
//! why, and how to remove it.

use super::cloud::Cloud;
use super::error::DeployError;
use super::ops;
use super::report::{Outcome, StackReport, StackResult};
use super::wait::{self, Timing};
use crate::aws::AwsError;
use crate::events::{EventKind, Events, Phase};
use crate::plan::{self, DataKind, DataResource, DesiredStack};
use serde::Serialize;
use std::collections::BTreeSet;

/// The calls destroy makes on what outlives the stacks. Every method is one AWS
/// call or one paginated walk.
#[allow(async_fn_in_trait)]
pub trait Leftovers: Sync {
    /// `Some(true)` when the bucket holds an object version or a delete marker,
    /// `Some(false)` when it is empty, `None` when there is no such bucket.
    async fn bucket_holds_data(&self, region: &str, bucket: &str)
        -> Result<Option<bool>, AwsError>;
    /// Delete every object version and delete marker, then the bucket; returns how
    /// many versions and markers were deleted. `progress` is called after each batch.
    async fn empty_and_delete_bucket(
        &self,
        region: &str,
        bucket: &str,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<u64, AwsError>;
    /// True when the table exists in the region.
    async fn table_exists(&self, region: &str, table: &str) -> Result<bool, AwsError>;
    /// DeleteTable, then wait until DescribeTable no longer finds it.
    async fn delete_table(&self, region: &str, table: &str) -> Result<(), AwsError>;
    /// The AMI copies made for the stack in the region: (image id, snapshot ids).
    async fn ami_copies(
        &self,
        region: &str,
        stack_tag: &str,
    ) -> Result<Vec<(String, Vec<String>)>, AwsError>;
}

/// What to destroy and what data goes with it.
#[derive(Debug, Clone)]
pub struct DestroyRequest {
    /// Global, regions in reverse rollout order, then the zone.
    pub stacks: Vec<DesiredStack>,
    /// The buckets and tables of the regions destroyed (`plan::data_resources`).
    pub data: Vec<DataResource>,
    /// The names the user gave to `--delete-data`: emptied and deleted.
    pub delete_data: BTreeSet<String>,
    /// The regions whose AMI copies are reported.
    pub regions: Vec<String>,
    /// `<app>-<env>`: the `strata:stack` tag of the AMI copies.
    pub stack_tag: String,
    /// The command that destroys this definition (`strata destroy FILE`), for the
    /// "how to remove it" of what is kept.
    pub command: String,
}

/// Something destroy did not delete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Kept {
    pub region: String,
    /// bucket, table, global-table, ami-copy.
    pub kind: String,
    pub name: String,
    /// Why it is still there.
    pub why: String,
    /// The command(s) that remove it.
    pub remove: String,
}

/// A bucket or table destroy emptied and deleted (named with `--delete-data`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DataDeleted {
    pub region: String,
    pub kind: DataKind,
    pub name: String,
    /// Object versions and delete markers deleted (buckets; 0 for tables).
    pub versions_deleted: u64,
}

/// destroy's summary.
#[derive(Debug, Clone, Serialize)]
pub struct DestroyReport {
    pub deployment_id: String,
    /// `destroyed` when anything was deleted, `no-change` when nothing was there.
    pub outcome: Outcome,
    pub stacks: Vec<StackReport>,
    pub data_deleted: Vec<DataDeleted>,
    pub kept: Vec<Kept>,
    pub error: Option<String>,
}

/// Delete every stack of the request in its order, then the named data; report
/// everything that is left.
pub async fn destroy<C: Cloud, L: Leftovers>(
    cloud: &C,
    leftovers: &L,
    events: &Events,
    req: &DestroyRequest,
    timing: &Timing,
    deployment_id: &str,
) -> Result<DestroyReport, DeployError> {
    let mut stacks = Vec::new();
    for s in &req.stacks {
        let result = if cloud.stack(&s.region, &s.stack_name).await?.is_some() {
            delete_keeping_data(cloud, events, s, timing).await?;
            StackResult::Destroyed
        } else {
            StackResult::Absent
        };
        stacks.push(StackReport {
            region: s.region.clone(),
            stack: s.stack_name.clone(),
            role: s.role,
            result,
            version: None,
        });
    }
    let mut data_deleted = Vec::new();
    let mut kept = Vec::new();
    for d in &req.data {
        if req.delete_data.contains(&d.name) {
            if let Some(done) = delete_data(leftovers, events, d).await? {
                data_deleted.push(done);
            }
        } else if let Some(k) = keep(leftovers, d, &req.command).await? {
            events.info(
                Some(&d.region),
                Phase::Destroy,
                format!("kept {} {}: {}", k.kind, k.name, k.why),
            );
            kept.push(k);
        }
    }
    for region in &req.regions {
        for (image, snapshots) in leftovers.ami_copies(region, &req.stack_tag).await? {
            kept.push(ami_kept(region, &image, &snapshots));
        }
    }
    let changed = !data_deleted.is_empty()
        || stacks.iter().any(|s| s.result == StackResult::Destroyed);
    Ok(DestroyReport {
        deployment_id: deployment_id.into(),
        outcome: if changed {
            Outcome::Destroyed
        } else {
            Outcome::NoChange
        },
        stacks,
        data_deleted,
        kept,
        error: None,
    })
}

/// Mark the stack's data resources Retain (an update, only when one is not yet),
/// then delete the stack and wait until it is gone.
async fn delete_keeping_data<C: Cloud>(
    cloud: &C,
    events: &Events,
    s: &DesiredStack,
    timing: &Timing,
) -> Result<(), DeployError> {
    let (region, stack) = (s.region.as_str(), s.stack_name.as_str());
    let body = cloud.template(region, stack).await?;
    let keeping = plan::keep_data(&body).map_err(|e| DeployError::CannotRemove {
        region: region.into(),
        stack: stack.into(),
        reason: e.to_string(),
    })?;
    if keeping.changed {
        events.emit(
            Some(region),
            Phase::Destroy,
            EventKind::PhaseStarted {
                detail: format!("{stack}: keeping its buckets and tables when it is deleted"),
            },
        );
        // Gone since the caller looked (another run deleted it): nothing to do.
        let Some(state) = cloud.stack(region, stack).await? else {
            return Ok(());
        };
        let seen = wait::seen_events(cloud, region, stack).await?;
        cloud
            .update_stack(
                region,
                stack,
                &keeping.template_body,
                &state.parameters,
                &state.tags,
            )
            .await?;
        match wait::stack(cloud, events, Phase::Destroy, region, stack, timing, seen, 0).await? {
            Some(st) if st.status == "UPDATE_COMPLETE" => {}
            other => {
                return Err(DeployError::Stuck {
                    region: region.into(),
                    stack: stack.into(),
                    status: other.map(|st| st.status).unwrap_or_else(|| "gone".into()),
                })
            }
        }
    }
    events.emit(
        Some(region),
        Phase::Destroy,
        EventKind::PhaseStarted {
            detail: format!("deleting {stack}"),
        },
    );
    ops::delete(cloud, events, Phase::Destroy, region, stack, timing).await?;
    events.emit(
        Some(region),
        Phase::Destroy,
        EventKind::PhaseDone {
            detail: format!("{stack} deleted"),
        },
    );
    Ok(())
}

/// Empty and delete a named bucket or table; `None` when it is not there.
async fn delete_data<L: Leftovers>(
    leftovers: &L,
    events: &Events,
    d: &DataResource,
) -> Result<Option<DataDeleted>, DeployError> {
    let region = d.region.as_str();
    let versions_deleted = match d.kind {
        DataKind::Bucket => {
            if leftovers.bucket_holds_data(region, &d.name).await?.is_none() {
                return Ok(None);
            }
            events.emit(
                Some(region),
                Phase::Destroy,
                EventKind::PhaseStarted {
                    detail: format!("emptying and deleting bucket {} (named)", d.name),
                },
            );
            let progress = |n: u64| {
                events.info(
                    Some(region),
                    Phase::Destroy,
                    format!("bucket {}: {n} versions and delete markers deleted", d.name),
                )
            };
            leftovers
                .empty_and_delete_bucket(region, &d.name, &progress)
                .await?
        }
        DataKind::Table | DataKind::GlobalTable => {
            if !leftovers.table_exists(region, &d.name).await? {
                return Ok(None);
            }
            events.emit(
                Some(region),
                Phase::Destroy,
                EventKind::PhaseStarted {
                    detail: format!("deleting table {} (named)", d.name),
                },
            );
            leftovers.delete_table(region, &d.name).await?;
            0
        }
    };
    events.emit(
        Some(region),
        Phase::Destroy,
        EventKind::PhaseDone {
            detail: format!("{} deleted", d.name),
        },
    );
    Ok(Some(DataDeleted {
        region: d.region.clone(),
        kind: d.kind,
        name: d.name.clone(),
        versions_deleted,
    }))
}

/// A bucket or table that is there and was not named: kept, with why and how to
/// delete it. `None` when it is not there.
async fn keep<L: Leftovers>(
    leftovers: &L,
    d: &DataResource,
    command: &str,
) -> Result<Option<Kept>, DeployError> {
    let region = d.region.as_str();
    let named_only = "strata deletes data only when it is named with --delete-data";
    let (kind, why, remove) = match d.kind {
        DataKind::Bucket => {
            let Some(holds) = leftovers.bucket_holds_data(region, &d.name).await? else {
                return Ok(None);
            };
            let what = if holds {
                "it holds object versions"
            } else {
                "it is empty now, but was the region's storage"
            };
            (
                "bucket",
                format!("{what}; {named_only}"),
                format!("{command} --delete-data {} --yes", d.name),
            )
        }
        DataKind::Table => {
            if !leftovers.table_exists(region, &d.name).await? {
                return Ok(None);
            }
            (
                "table",
                format!("tables keep their rows (DeletionPolicy Retain); {named_only}"),
                format!("{command} --delete-data {} --yes", d.name),
            )
        }
        DataKind::GlobalTable => {
            if !leftovers.table_exists(region, &d.name).await? {
                return Ok(None);
            }
            (
                "global-table",
                "a global table keeps its rows in every replica (DeletionPolicy Retain); \
                 strata does not delete global tables"
                    .to_string(),
                format!(
                    "remove every other replica (aws dynamodb update-table --region {region} \
                     --table-name {name} --replica-updates 'Delete={{RegionName=REGION}}'), then \
                     aws dynamodb delete-table --region {region} --table-name {name}",
                    name = d.name
                ),
            )
        }
    };
    Ok(Some(Kept {
        region: d.region.clone(),
        kind: kind.into(),
        name: d.name.clone(),
        why,
        remove,
    }))
}

fn ami_kept(region: &str, image: &str, snapshots: &[String]) -> Kept {
    let mut remove = format!("aws ec2 deregister-image --region {region} --image-id {image}");
    for s in snapshots {
        remove.push_str(&format!(
            "; aws ec2 delete-snapshot --region {region} --snapshot-id {s}"
        ));
    }
    Kept {
        region: region.into(),
        kind: "ami-copy".into(),
        name: image.into(),
        why: "AMI copies belong to no stack; the next deploy reuses them".into(),
        remove,
    }
}
