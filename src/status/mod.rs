//! `status`: one view of every region of a stack — stack status, deployed version
//! and AMI (from the deploy's stack tags and the `AmiId` parameter), who deployed
//! when, ASG capacity, healthy targets, the Route 53 health check and bucket
//! replication. Regions are read in parallel, each bounded by a timeout; a region
//! that does not answer is `Unreachable` and the others still report. A region
//! stack left in a region the definition no longer names is listed too. What the
//! public names answer now (Route 53, as `dr::dns` models it) says which regions
//! users are served from: a failed-over region is healthy yet out of DNS.
//!
//! The regions, the stacks left behind, the buckets and the zone's delegation are
//! read through ports (the deploy's `Cloud`, and `BucketReads` in `reads.rs`),
//! so the unit tests (`tests.rs`) run them over the shared fake, and so is what
//! Route 53 answers (`dr::dns`, over `DnsReads`); drift (`crate::drift`) is read
//! through the adapter.

mod reads;
#[cfg(test)]
mod tests;

pub use reads::BucketReads;

use crate::aws::{Aws, CloudApi};
use crate::call_error::CallError;
use crate::deploy::cloud::Cloud;
use crate::stack::StackDef;
use crate::synth::output_names;
use serde::Serialize;
use std::time::Duration;

/// Stack tags written by the deploy (the deploy record); `deploy` owns the keys.
pub use crate::deploy::{TAG_DEPLOYED_AT, TAG_DEPLOYED_BY, TAG_DEPLOYMENT_ID, TAG_VERSION};

/// How the status is read.
#[derive(Debug, Clone, Copy)]
pub struct StatusOptions {
    /// The most one region may take to answer before it is shown as unreachable.
    pub region_timeout: Duration,
    /// Attempts per AWS call (few: a silent region should not stall the view).
    pub max_attempts: u32,
    /// Also count each deployed region's drifted properties (`status --drift`,
    /// the check `strata drift` makes).
    pub drift: bool,
}

impl Default for StatusOptions {
    fn default() -> Self {
        StatusOptions {
            region_timeout: Duration::from_secs(15),
            max_attempts: 3,
            drift: false,
        }
    }
}

/// Whether a region could be read and has a stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "state")]
pub enum RegionState {
    /// The region's stack exists.
    Deployed,
    /// The region answered; it has no stack.
    NotDeployed,
    /// The region did not answer in time (or at all).
    Unreachable { reason: String },
    /// The region answered with an error.
    Error { reason: String },
}

/// One read of a deployed region; `None` fields were not available (see `problems`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegionStatus {
    pub region: String,
    pub stack_name: String,
    #[serde(flatten)]
    pub state: RegionState,
    pub stack_status: Option<String>,
    pub version: Option<String>,
    pub ami: Option<String>,
    pub deployment_id: Option<String>,
    pub deployed_at: Option<String>,
    pub deployed_by: Option<String>,
    pub asg: Option<AsgView>,
    pub targets: Option<TargetView>,
    pub health_check: Option<HealthCheckView>,
    pub replication: Option<ReplicationView>,
    /// Properties that differ from the stack's template (`status --drift` only;
    /// None when not asked, or not read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift: Option<usize>,
    /// Reads that failed for a region that otherwise answered.
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AsgView {
    pub in_service: u32,
    pub desired: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TargetView {
    pub healthy: u32,
    pub total: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthCheckView {
    pub id: String,
    /// Route 53's rule (`deploy::check_health`): more than 18% of its checkers say
    /// healthy; no observations yet is not healthy.
    pub healthy: bool,
    pub healthy_observations: u32,
    pub observations: u32,
    /// The rule's reason, in words.
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReplicationView {
    pub bucket: String,
    pub configured: bool,
    /// Destination bucket ARNs of the replication rules.
    pub destinations: Vec<String>,
    /// The bucket's current objects (None: not listed, or more than
    /// `OBJECTS_COMPARED_AT_MOST`).
    pub objects: Option<u64>,
    /// Keys another region's bucket holds and this one lacks (None: not compared).
    pub missing: Option<u64>,
    /// True only when every other region's bucket was listed and this one lacks
    /// none of their keys (`dr::backfill::missing_keys`); None when not compared.
    pub complete: Option<bool>,
}

/// `status` compares buckets of at most this many objects each (listing is one
/// request per 1,000); above it, `strata dr backfill --dry-run` compares them.
pub const OBJECTS_COMPARED_AT_MOST: usize = 100_000;

/// The status of every region of the stack, in the definition's region order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StackStatus {
    pub stack: String,
    pub regions: Vec<RegionStatus>,
    /// Region stacks in regions the definition does not name (left from an earlier
    /// definition; the next deploy removes them).
    pub left_behind: Vec<LeftBehind>,
    /// The managed zone's name servers and whether the zone is delegated to them
    /// (`dns.manage_zone` only, once the zone stack exists).
    pub delegation: Option<Delegation>,
    /// What users are served: the regions each routed name answers with now.
    pub serving: Serving,
}

/// The regions the public names answer with, read through Route 53.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Serving {
    /// Each routed name, its records' health and the regions it answers with.
    pub names: Vec<crate::dr::dns::NameAnswers>,
    /// Deployed regions no routed name answers with (failed over, or unhealthy).
    pub out_of_dns: Vec<String>,
    /// Why the answers could not be read (no zone yet, Route 53 unreachable).
    pub error: Option<String>,
}

impl Serving {
    /// True when some routed name answers with `region`.
    pub fn serves(&self, region: &str) -> bool {
        self.names
            .iter()
            .any(|n| n.answers.iter().any(|a| a == region))
    }
}

/// Read the routed names' answers, bounded in time; `deployed` are the regions
/// whose stacks exist (the ones that can be out of DNS).
async fn serving(
    reads: &(impl Cloud + crate::dr::dns_reads::DnsReads),
    def: &StackDef,
    deployed: &[String],
    limit: Duration,
) -> Serving {
    if deployed.is_empty() {
        // Nothing deployed: nothing served, and no zone or records to read.
        return Serving::default();
    }
    match tokio::time::timeout(limit, crate::dr::dns::answers_with(reads, def)).await {
        Ok(Ok(answers)) => {
            let mut s = Serving {
                names: answers.names,
                ..Serving::default()
            };
            s.out_of_dns = deployed.iter().filter(|r| !s.serves(r)).cloned().collect();
            s
        }
        Ok(Err(e)) => Serving {
            error: Some(e.to_string()),
            ..Serving::default()
        },
        Err(_) => Serving {
            error: Some(format!(
                "Route 53 gave no answer within {}s",
                limit.as_secs_f64()
            )),
            ..Serving::default()
        },
    }
}

/// Where a managed zone must be delegated, and whether it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delegation {
    pub zone: String,
    /// The zone stack's `NameServers` output.
    pub name_servers: Vec<String>,
    /// True once `probe` resolves through this machine's resolver: the name exists
    /// only in the managed zone, so an answer means the parent zone (or registrar)
    /// delegates to it. Route 53's API cannot tell: delegation lives in the parent.
    pub delegated: bool,
    /// The name looked up (the latency name) and what happened.
    pub probe: String,
}

/// How long the delegation probe waits for the resolver.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// The managed zone's delegation (None without `dns.manage_zone`, or before the
/// zone stack exists). Reads the zone stack's outputs, then resolves the latency
/// name (see `Delegation::delegated`).
pub async fn delegation(aws: &Aws, def: &StackDef) -> Option<Delegation> {
    delegation_of(&CloudApi::new(aws.clone()), def).await
}

async fn delegation_of(cloud: &impl Cloud, def: &StackDef) -> Option<Delegation> {
    if !def.dns.manage_zone {
        return None;
    }
    let stack = cloud
        .stack(
            crate::stack::GLOBAL_REGION,
            &crate::synth::zone_stack_name(def),
        )
        .await
        .ok()??;
    let name_servers: Vec<String> = stack
        .outputs
        .get(crate::synth::zone::NAME_SERVERS_OUTPUT)?
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let name = crate::synth::latency_name(def);
    let lookup = tokio::time::timeout(
        PROBE_TIMEOUT,
        tokio::net::lookup_host((name.trim_end_matches('.').to_string(), 443)),
    )
    .await;
    let (delegated, probe) = match lookup {
        Ok(Ok(mut addrs)) => match addrs.next() {
            Some(a) => (true, format!("{name} resolves ({})", a.ip())),
            None => (false, format!("{name} does not resolve")),
        },
        Ok(Err(e)) => (false, format!("{name} does not resolve ({e})")),
        Err(_) => (
            false,
            format!("{name}: no answer within {}s", PROBE_TIMEOUT.as_secs()),
        ),
    };
    Some(Delegation {
        zone: def.dns.hosted_zone.clone(),
        name_servers,
        delegated,
        probe,
    })
}

/// The line to show while a managed zone is not delegated.
pub fn delegation_note(d: &Delegation) -> Option<String> {
    (!d.delegated).then(|| {
        format!(
            "the hosted zone {} is not delegated yet ({}): set its NS records at the registrar or parent zone to {}",
            d.zone,
            d.probe,
            d.name_servers.join(", ")
        )
    })
}

/// A region stack found in a region the definition does not name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeftBehind {
    pub region: String,
    pub stack_name: String,
    pub stack_status: String,
}

/// Read every region at once, with the stacks left behind and the zone's
/// delegation read alongside; then what the public names answer.
pub async fn read(aws: &Aws, def: &StackDef, opts: &StatusOptions) -> StackStatus {
    let aws = aws.with_max_attempts(opts.max_attempts);
    let cloud = CloudApi::new(aws.clone());
    let (regions, left_behind, delegation) = tokio::join!(
        regions_of(&cloud, def, opts),
        left_behind(&cloud, def, opts),
        delegation_of(&cloud, def),
    );
    let mut regions = regions;
    compare_buckets(&cloud, &mut regions, opts).await;
    if opts.drift {
        count_drift(&aws, def, &mut regions, opts).await;
    }
    let deployed: Vec<String> = regions
        .iter()
        .filter(|r| r.state == RegionState::Deployed)
        .map(|r| r.region.clone())
        .collect();
    StackStatus {
        stack: def.stack_name(),
        regions,
        left_behind,
        delegation,
        serving: serving(&cloud, def, &deployed, opts.region_timeout).await,
    }
}

/// Whether each region's bucket holds every object the others hold: each bucket
/// listed once (at once, each bounded in time), then compared in memory. A region
/// is `complete` only when every other region's bucket was listed too.
async fn compare_buckets(
    reads: &impl BucketReads,
    regions: &mut [RegionStatus],
    opts: &StatusOptions,
) {
    use crate::dr::backfill::{missing_keys, Object};
    let listed: Vec<Option<Vec<Object>>> =
        futures::future::join_all(regions.iter().map(|r| async move {
            let bucket = r.replication.as_ref()?.bucket.clone();
            let list = reads.objects_at_most(&r.region, &bucket, OBJECTS_COMPARED_AT_MOST);
            match tokio::time::timeout(opts.region_timeout, list).await {
                Ok(Ok(objects)) => objects,
                _ => None,
            }
        }))
        .await;
    if regions.len() < 2 {
        return;
    }
    for (i, region) in regions.iter_mut().enumerate() {
        let Some(view) = region.replication.as_mut() else {
            continue;
        };
        let Some(own) = &listed[i] else {
            continue;
        };
        view.objects = Some(own.len() as u64);
        let others: Vec<(&str, &[Object])> = listed
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .filter_map(|(_, l)| l.as_deref().map(|l| ("", l)))
            .collect();
        let own_keys = own.iter().map(|o| o.key.as_str()).collect();
        let missing = missing_keys(&own_keys, &others).len() as u64;
        view.missing = Some(missing);
        let all_listed = listed.iter().all(Option::is_some);
        view.complete = Some(all_listed && missing == 0);
    }
}

/// Each deployed region's drifted properties (`crate::drift`, each region bounded
/// in time); a region whose check fails gets a problem line instead.
async fn count_drift(
    aws: &Aws,
    def: &StackDef,
    regions: &mut [RegionStatus],
    opts: &StatusOptions,
) {
    let deployed: Vec<String> = regions
        .iter()
        .filter(|r| r.state == RegionState::Deployed)
        .map(|r| r.region.clone())
        .collect();
    if deployed.is_empty() {
        return;
    }
    let report = match tokio::time::timeout(
        opts.region_timeout,
        crate::drift::check(aws, def, &deployed),
    )
    .await
    {
        Ok(report) => report,
        Err(_) => {
            for r in regions.iter_mut().filter(|r| deployed.contains(&r.region)) {
                r.problems.push(format!(
                    "drift: no answer within {}s",
                    opts.region_timeout.as_secs_f64()
                ));
            }
            return;
        }
    };
    for checked in &report.regions {
        let Some(r) = regions.iter_mut().find(|r| r.region == checked.region) else {
            continue;
        };
        match &checked.checked {
            crate::drift::Checked::Compared => r.drift = Some(checked.drift.len()),
            crate::drift::Checked::NotDeployed => {}
            crate::drift::Checked::Error { reason } => r.problems.push(format!("drift: {reason}")),
        }
    }
}

/// Only the definition's regions, read at once (what `ops::promotion` needs; no
/// scan for stacks left behind, no Route 53 reads).
pub async fn read_regions(aws: &Aws, def: &StackDef, opts: &StatusOptions) -> Vec<RegionStatus> {
    let cloud = CloudApi::new(aws.with_max_attempts(opts.max_attempts));
    regions_of(&cloud, def, opts).await
}

async fn regions_of(
    reads: &(impl Cloud + BucketReads),
    def: &StackDef,
    opts: &StatusOptions,
) -> Vec<RegionStatus> {
    futures::future::join_all(def.regions.iter().map(|r| async move {
        let stack_name = def.region_stack_name(&r.name);
        match tokio::time::timeout(
            opts.region_timeout,
            read_region(reads, &r.name, &stack_name),
        )
        .await
        {
            Ok(status) => status,
            Err(_) => RegionStatus::empty(
                &r.name,
                &stack_name,
                RegionState::Unreachable {
                    reason: format!("no answer within {}s", opts.region_timeout.as_secs_f64()),
                },
            ),
        }
    }))
    .await
}

/// Look for the region stack in every known region the definition does not name
/// (at once, each bounded in time; a region that does not answer is skipped).
async fn left_behind(cloud: &impl Cloud, def: &StackDef, opts: &StatusOptions) -> Vec<LeftBehind> {
    let absent = crate::plan::absent_stacks(def);
    let found = futures::future::join_all(absent.into_iter().map(|a| async move {
        let read = cloud.stack(&a.region, &a.stack_name);
        match tokio::time::timeout(opts.region_timeout, read).await {
            Ok(Ok(Some(s))) => Some(LeftBehind {
                region: a.region,
                stack_name: a.stack_name,
                stack_status: s.status,
            }),
            _ => None,
        }
    }))
    .await;
    found.into_iter().flatten().collect()
}

impl RegionStatus {
    fn empty(region: &str, stack_name: &str, state: RegionState) -> Self {
        RegionStatus {
            region: region.to_string(),
            stack_name: stack_name.to_string(),
            state,
            stack_status: None,
            version: None,
            ami: None,
            deployment_id: None,
            deployed_at: None,
            deployed_by: None,
            asg: None,
            targets: None,
            health_check: None,
            replication: None,
            drift: None,
            problems: Vec::new(),
        }
    }
}

fn state_of(err: &CallError) -> RegionState {
    if err.is_unreachable() {
        RegionState::Unreachable {
            reason: err.to_string(),
        }
    } else {
        RegionState::Error {
            reason: err.to_string(),
        }
    }
}

async fn read_region(
    reads: &(impl Cloud + BucketReads),
    region: &str,
    stack_name: &str,
) -> RegionStatus {
    let stack = match reads.stack(region, stack_name).await {
        Ok(Some(s)) => s,
        Ok(None) => return RegionStatus::empty(region, stack_name, RegionState::NotDeployed),
        Err(e) => return RegionStatus::empty(region, stack_name, state_of(&e)),
    };
    let mut st = RegionStatus::empty(region, stack_name, RegionState::Deployed);
    st.stack_status = Some(stack.status.clone());
    st.version = stack.tags.get(TAG_VERSION).cloned();
    st.deployment_id = stack.tags.get(TAG_DEPLOYMENT_ID).cloned();
    st.deployed_at = stack.tags.get(TAG_DEPLOYED_AT).cloned();
    st.deployed_by = stack.tags.get(TAG_DEPLOYED_BY).cloned();
    st.ami = stack.parameters.get(crate::synth::AMI_PARAMETER).cloned();

    let out = |k: &str| stack.outputs.get(k).cloned();
    let asg = async {
        match out(output_names::ASG_NAME) {
            Some(name) => Some(reads.asg_fleet(region, &name).await),
            None => None,
        }
    };
    let targets = async {
        match out(output_names::TARGET_GROUP_ARN) {
            Some(arn) => Some(reads.target_health(region, &arn).await),
            None => None,
        }
    };
    let check = async {
        match out(output_names::HEALTH_CHECK_ID) {
            Some(id) => Some((
                id.clone(),
                crate::deploy::check_health::evaluate(reads, &id).await,
            )),
            None => None,
        }
    };
    let repl = async {
        match out(output_names::BUCKET_NAME) {
            Some(b) => Some((b.clone(), reads.replication_destinations(region, &b).await)),
            None => None,
        }
    };
    let (asg, targets, check, repl) = tokio::join!(asg, targets, check, repl);

    match asg {
        Some(Ok(Some(fleet))) => {
            st.asg = Some(AsgView {
                in_service: fleet
                    .instances
                    .iter()
                    .filter(|i| i.lifecycle == "InService")
                    .count() as u32,
                desired: fleet.desired,
            })
        }
        Some(Ok(None)) => st.problems.push("the stack's ASG does not exist".into()),
        Some(Err(e)) => st.problems.push(e.to_string()),
        None => {}
    }
    match targets {
        Some(Ok(states)) => {
            st.targets = Some(TargetView {
                healthy: states.iter().filter(|(_, s)| s == "healthy").count() as u32,
                total: states.len() as u32,
            })
        }
        Some(Err(e)) => st.problems.push(e.to_string()),
        None => {}
    }
    match check {
        Some((id, Ok(verdict))) => {
            // Route 53's rule, the one deploy's gate and dr use (deploy::check_health).
            let (healthy_observations, observations) = verdict.observations.unwrap_or((0, 0));
            st.health_check = Some(HealthCheckView {
                id,
                healthy: verdict.healthy,
                healthy_observations,
                observations,
                detail: verdict.detail,
            })
        }
        Some((_, Err(e))) => st.problems.push(e.to_string()),
        None => {}
    }
    match repl {
        Some((bucket, Ok(dest))) => {
            st.replication = Some(ReplicationView {
                bucket,
                configured: dest.is_some(),
                destinations: dest.unwrap_or_default(),
                objects: None,
                missing: None,
                complete: None,
            })
        }
        Some((_, Err(e))) => st.problems.push(e.to_string()),
        None => {}
    }
    st
}
