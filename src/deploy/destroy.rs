//! `destroy`: delete the stacks (global, regions in reverse rollout order, the
//! zone) keeping every bucket and table (synthesis marks them
//! `RetainExceptOnCreate`; a stack that does not keep one yet, or whose bucket
//! replicates, is updated first: a bucket holding objects never leaves a stack
//! DELETE_FAILED); then empty and delete the buckets and tables the user named;
//! then say what was deleted, what was kept and why, and how to remove it.

use super::cloud::Cloud;
use super::error::DeployError;
use super::ops;
use super::report::{Outcome, StackReport, StackResult};
use super::wait::{self, Timing};
use crate::call_error::CallError;
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
    async fn bucket_holds_data(
        &self,
        region: &str,
        bucket: &str,
    ) -> Result<Option<bool>, CallError>;
    /// Delete every object version and delete marker, then the bucket; returns how
    /// many versions and markers were deleted. `progress` is called after each batch.
    async fn empty_and_delete_bucket(
        &self,
        region: &str,
        bucket: &str,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<u64, CallError>;
    /// True when the table exists in the region.
    async fn table_exists(&self, region: &str, table: &str) -> Result<bool, CallError>;
    /// DeleteTable, then wait until DescribeTable no longer finds it.
    async fn delete_table(&self, region: &str, table: &str) -> Result<(), CallError>;
    /// Delete the certificate validation records ACM left in the hosted zone
    /// (the zone cannot be deleted while they are there); returns their names.
    async fn clear_validation_records(&self, zone_id: &str) -> Result<Vec<String>, CallError>;
    /// The AMI copies made for the stack in the region: (image id, snapshot ids).
    async fn ami_copies(
        &self,
        region: &str,
        stack_tag: &str,
    ) -> Result<Vec<(String, Vec<String>)>, CallError>;
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
        let state = cloud.stack(&s.region, &s.stack_name).await?;
        let result = if let Some(state) = state {
            if s.role == crate::plan::StackRole::Zone {
                clear_zone(leftovers, events, &s.region, &state.outputs).await?;
            }
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
    let changed =
        !data_deleted.is_empty() || stacks.iter().any(|s| s.result == StackResult::Destroyed);
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

/// Before the managed zone's stack is deleted (last, after every stack with a
/// certificate): the validation records ACM left in it.
async fn clear_zone<L: Leftovers>(
    leftovers: &L,
    events: &Events,
    region: &str,
    outputs: &std::collections::BTreeMap<String, String>,
) -> Result<(), DeployError> {
    let Some(zone) = outputs.get(crate::synth::zone::ZONE_ID_OUTPUT) else {
        return Ok(());
    };
    let deleted = leftovers.clear_validation_records(zone).await?;
    if !deleted.is_empty() {
        events.info(
            Some(region),
            Phase::Destroy,
            format!(
                "deleted {} certificate validation record(s) ACM left in the zone {zone}: {}",
                deleted.len(),
                deleted.join(", ")
            ),
        );
    }
    Ok(())
}

/// Mark the stack's data resources Retain and drop its buckets' replication rules
/// (an update, only when a data resource is not kept yet or a bucket replicates:
/// `plan::keep_data`), then delete the stack and wait until it is gone.
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
        match wait::stack(
            cloud,
            events,
            Phase::Destroy,
            region,
            stack,
            timing,
            seen,
            0,
        )
        .await?
        {
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
            if leftovers
                .bucket_holds_data(region, &d.name)
                .await?
                .is_none()
            {
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
    // What kept it: the stack's deletion skipped it (its DeletionPolicy), so it
    // belongs to no stack now, and the next deploy of the definition takes it back.
    let kept_by = "its stack's deletion kept it (DeletionPolicy RetainExceptOnCreate, or \
                   Retain); the next deploy of this definition takes it back";
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
                format!("{what}; {kept_by}; {named_only}"),
                format!("{command} --delete-data {} --yes", d.name),
            )
        }
        DataKind::Table => {
            if !leftovers.table_exists(region, &d.name).await? {
                return Ok(None);
            }
            (
                "table",
                format!("it keeps its rows; {kept_by}; {named_only}"),
                format!("{command} --delete-data {} --yes", d.name),
            )
        }
        DataKind::GlobalTable => {
            if !leftovers.table_exists(region, &d.name).await? {
                return Ok(None);
            }
            (
                "global-table",
                format!(
                    "it keeps its rows in every replica; {kept_by}; strata does not delete \
                     global tables"
                ),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::{Fake, FakeStack};
    use crate::plan::StackRole;
    use crate::stack::OnFailure;
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    /// Buckets (name -> holds data) and tables that exist, in memory.
    #[derive(Default)]
    struct FakeLeftovers {
        buckets: Mutex<BTreeMap<String, bool>>,
        tables: Mutex<BTreeSet<String>>,
    }

    impl Leftovers for FakeLeftovers {
        async fn bucket_holds_data(&self, _: &str, b: &str) -> Result<Option<bool>, CallError> {
            Ok(self.buckets.lock().unwrap().get(b).copied())
        }
        async fn empty_and_delete_bucket(
            &self,
            _: &str,
            b: &str,
            progress: &(dyn Fn(u64) + Sync),
        ) -> Result<u64, CallError> {
            self.buckets.lock().unwrap().remove(b);
            progress(2);
            Ok(2)
        }
        async fn table_exists(&self, _: &str, t: &str) -> Result<bool, CallError> {
            Ok(self.tables.lock().unwrap().contains(t))
        }
        async fn delete_table(&self, _: &str, t: &str) -> Result<(), CallError> {
            self.tables.lock().unwrap().remove(t);
            Ok(())
        }
        async fn clear_validation_records(&self, _: &str) -> Result<Vec<String>, CallError> {
            Ok(vec![])
        }
        async fn ami_copies(
            &self,
            _: &str,
            _: &str,
        ) -> Result<Vec<(String, Vec<String>)>, CallError> {
            Ok(vec![("ami-copy".into(), vec!["snap-1".into()])])
        }
    }

    const REGION: &str = "us-east-1";
    const STACK: &str = "app-prod-us-east-1";

    fn setup() -> (Fake, FakeLeftovers, DestroyRequest) {
        let fake = Fake::default();
        let template = serde_json::json!({"Resources": {
            "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {}},
            "Asg": {"Type": "AWS::AutoScaling::AutoScalingGroup", "Properties": {}}}});
        fake.with(|s| {
            s.stacks.insert(
                (REGION.into(), STACK.into()),
                FakeStack {
                    status: "CREATE_COMPLETE".into(),
                    template: template.to_string(),
                    params: BTreeMap::new(),
                    tags: BTreeMap::new(),
                },
            )
        });
        let leftovers = FakeLeftovers::default();
        leftovers.buckets.lock().unwrap().insert("b1".into(), true);
        leftovers.tables.lock().unwrap().insert("t1".into());
        let req = DestroyRequest {
            stacks: vec![DesiredStack {
                region: REGION.into(),
                stack_name: STACK.into(),
                role: StackRole::Region,
                template_body: String::new(),
                build_template_body: None,
                parameters: BTreeMap::new(),
                create_only: BTreeMap::new(),
            }],
            data: vec![
                DataResource {
                    region: REGION.into(),
                    kind: DataKind::Bucket,
                    name: "b1".into(),
                },
                DataResource {
                    region: REGION.into(),
                    kind: DataKind::Table,
                    name: "t1".into(),
                },
            ],
            delete_data: BTreeSet::from(["t1".to_string()]),
            regions: vec![REGION.into()],
            stack_tag: "app-prod".into(),
            command: "strata destroy app.toml".into(),
        };
        (fake, leftovers, req)
    }

    fn timing() -> Timing {
        crate::deploy::tests::settings(OnFailure::default()).timing
    }

    #[tokio::test]
    async fn the_bucket_is_marked_retain_before_the_delete_and_only_named_data_goes() {
        let (fake, leftovers, req) = setup();
        let report = destroy(&fake, &leftovers, &Events::discard(), &req, &timing(), "d1")
            .await
            .unwrap();
        assert_eq!(
            fake.mutating(),
            ["us-east-1 UpdateStack", "us-east-1 DeleteStack"]
        );
        assert_eq!(report.outcome, Outcome::Destroyed);
        assert_eq!(report.deployment_id, "d1");
        assert_eq!(report.stacks[0].result, StackResult::Destroyed);
        assert_eq!(report.data_deleted.len(), 1);
        assert_eq!(report.data_deleted[0].name, "t1");
        assert!(!leftovers.tables.lock().unwrap().contains("t1"));
        let bucket = report
            .kept
            .iter()
            .find(|k| k.name == "b1")
            .expect("b1 kept");
        assert_eq!(
            bucket.remove,
            "strata destroy app.toml --delete-data b1 --yes"
        );
        assert!(leftovers.buckets.lock().unwrap().contains_key("b1"));
        assert!(report.kept.iter().any(|k| k.kind == "ami-copy"
            && k.remove
                .contains("delete-snapshot --region us-east-1 --snapshot-id snap-1")));
    }

    #[tokio::test]
    async fn a_stack_whose_bucket_already_outlives_it_is_deleted_without_an_update() {
        let (fake, leftovers, req) = setup();
        let template = serde_json::json!({"Resources": {
            "Bucket": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "RetainExceptOnCreate",
                       "UpdateReplacePolicy": "Retain", "Properties": {}},
            "Asg": {"Type": "AWS::AutoScaling::AutoScalingGroup", "Properties": {}}}});
        fake.with(|s| {
            s.stacks
                .get_mut(&(REGION.to_string(), STACK.to_string()))
                .unwrap()
                .template = template.to_string()
        });
        let report = destroy(&fake, &leftovers, &Events::discard(), &req, &timing(), "d1")
            .await
            .unwrap();
        assert_eq!(fake.mutating(), ["us-east-1 DeleteStack"]);
        let bucket = report
            .kept
            .iter()
            .find(|k| k.name == "b1")
            .expect("b1 kept");
        assert!(
            bucket.why.contains("holds object versions"),
            "{}",
            bucket.why
        );
        assert!(
            bucket.why.contains("RetainExceptOnCreate"),
            "{}",
            bucket.why
        );
        assert!(bucket.why.contains("--delete-data"), "{}", bucket.why);
    }

    #[tokio::test]
    async fn a_failed_delete_leaves_the_stack_with_its_data_marked_retain() {
        let (fake, leftovers, req) = setup();
        fake.with(|s| s.fail_mutating_call = Some(2));
        assert!(
            destroy(&fake, &leftovers, &Events::discard(), &req, &timing(), "d1")
                .await
                .is_err()
        );
        let left = fake.stack(REGION, STACK).expect("the stack is still there");
        let t: serde_json::Value = serde_json::from_str(&left.template).unwrap();
        assert_eq!(t["Resources"]["Bucket"]["DeletionPolicy"], "Retain");
        assert!(t["Resources"]["Asg"].get("DeletionPolicy").is_none());
    }

    #[tokio::test]
    async fn nothing_there_is_a_no_change() {
        let (fake, leftovers, mut req) = setup();
        fake.with(|s| s.stacks.clear());
        leftovers.buckets.lock().unwrap().clear();
        leftovers.tables.lock().unwrap().clear();
        req.delete_data.clear();
        let report = destroy(&fake, &leftovers, &Events::discard(), &req, &timing(), "d1")
            .await
            .unwrap();
        assert_eq!(report.outcome, Outcome::NoChange);
        assert_eq!(report.stacks[0].result, StackResult::Absent);
        assert!(fake.mutating().is_empty());
    }
}
