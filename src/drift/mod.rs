//! `drift`: what differs between a region stack's live resources and the template
//! CloudFormation last applied to it (GetTemplate of the live stack, not a fresh
//! synth: drift means "changed outside CloudFormation"), read through the service
//! APIs behind the `DriftPort` (implemented by `aws::drift_reads`), and the
//! put-back `deploy` does. Compared: Auto Scaling group MinSize / MaxSize /
//! DesiredCapacity (when the template sets it and no scaling policy acts on the
//! group), security-group rules (inline and standalone), routes (each
//! `AWS::EC2::Route`'s target) and metric alarms (threshold, comparison,
//! evaluation periods, alarm and OK actions), Route 53 records (existence and
//! health check id), S3 bucket replication (role, each rule's destination and
//! status) and SSM parameters (value, type). Not compared, on
//! purpose: Route 53 health checks (failover raises the serving check's threshold
//! through the API, `dr::failover`). docs/drift.md says what and why.

pub mod compare;
#[cfg(test)]
mod tests;

use crate::call_error::CallError;
use crate::events::{Events, Phase};
use compare::{At, DeployedStack};
use serde::Serialize;
use std::collections::BTreeMap;

/// A rule's direction; its name is the template property of the group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    Ingress,
    Egress,
}

impl Direction {
    pub fn property(self) -> &'static str {
        match self {
            Direction::Ingress => "SecurityGroupIngress",
            Direction::Egress => "SecurityGroupEgress",
        }
    }
}

/// The other end of a rule: exactly one per rule, as EC2 defines them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "value")]
pub enum Peer {
    Cidr(String),
    CidrV6(String),
    Group(String),
    PrefixList(String),
}

/// One security-group rule, compared without its description.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Rule {
    /// "tcp", "udp", "icmp", "-1" (all) …
    pub protocol: String,
    pub from_port: Option<i32>,
    pub to_port: Option<i32>,
    pub peer: Peer,
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let proto = if self.protocol == "-1" {
            "all"
        } else {
            &self.protocol
        };
        write!(f, "{proto}")?;
        match (self.from_port, self.to_port) {
            (Some(a), Some(b)) if a == b => write!(f, " {a}")?,
            (Some(a), Some(b)) => write!(f, " {a}-{b}")?,
            _ => {}
        }
        let peer = match &self.peer {
            Peer::Cidr(c) | Peer::CidrV6(c) | Peer::Group(c) | Peer::PrefixList(c) => c,
        };
        write!(f, " {peer}")
    }
}

/// An Auto Scaling group's limits, as DescribeAutoScalingGroups answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AsgLimits {
    pub min: i32,
    pub max: i32,
    pub desired: i32,
}

/// A security group's rules, as DescribeSecurityGroups answers (one per peer).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupRules {
    pub ingress: Vec<Rule>,
    pub egress: Vec<Rule>,
}

/// One route of a route table, as DescribeRouteTables answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveRoute {
    /// The IPv4 destination ("0.0.0.0/0").
    pub destination: String,
    /// What it goes through: the NAT gateway's id, else the gateway's (an
    /// internet gateway's id, "local" …); None when it names neither.
    pub target: Option<String>,
    /// "active" or "blackhole" (its target was deleted).
    pub state: String,
}

/// What a route goes through, by the template property that names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RouteVia {
    /// `NatGatewayId`.
    NatGateway,
    /// `GatewayId` (an internet gateway).
    Gateway,
}

impl RouteVia {
    pub fn property(self) -> &'static str {
        match self {
            RouteVia::NatGateway => "NatGatewayId",
            RouteVia::Gateway => "GatewayId",
        }
    }
}

/// A metric alarm's compared settings, as DescribeAlarms answers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlarmSettings {
    pub threshold: Option<f64>,
    pub comparison_operator: String,
    pub evaluation_periods: i32,
    pub alarm_actions: Vec<String>,
    pub ok_actions: Vec<String>,
}

/// The template's values of an alarm's drifted settings (None: left as it is).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlarmPatch {
    pub threshold: Option<f64>,
    pub comparison_operator: Option<String>,
    pub evaluation_periods: Option<i32>,
    pub alarm_actions: Option<Vec<String>>,
    pub ok_actions: Option<Vec<String>>,
}

impl AlarmPatch {
    /// Both patches' settings (self's first).
    fn or(self, other: &AlarmPatch) -> AlarmPatch {
        AlarmPatch {
            threshold: self.threshold.or(other.threshold),
            comparison_operator: self
                .comparison_operator
                .or_else(|| other.comparison_operator.clone()),
            evaluation_periods: self.evaluation_periods.or(other.evaluation_periods),
            alarm_actions: self.alarm_actions.or_else(|| other.alarm_actions.clone()),
            ok_actions: self.ok_actions.or_else(|| other.ok_actions.clone()),
        }
    }
}

/// A Parameter Store parameter, as GetParameters answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterValue {
    /// "String", "StringList" or "SecureString".
    pub param_type: String,
    /// A StringList's values comma-separated, as Parameter Store holds them.
    pub value: String,
}

/// One record set of a name, as ListResourceRecordSets answers (the fields
/// drift compares).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveRecord {
    pub record_type: String,
    pub set_identifier: Option<String>,
    pub health_check_id: Option<String>,
}

/// A bucket's replication configuration, as GetBucketReplication answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveReplication {
    /// The role's ARN.
    pub role: String,
    /// Each rule's (id, destination bucket ARN, status).
    pub rules: Vec<(String, String, String)>,
}

/// The template's role and each rule's (id, destination, status), written over
/// the live configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicationPatch {
    pub role: String,
    pub rules: Vec<(String, String, String)>,
}

/// How a drift is put back (None in `Drift::fix`: it cannot be, e.g. a deleted
/// resource, which needs the stack updated or rebuilt).
#[derive(Debug, Clone, PartialEq)]
pub enum Fix {
    /// UpdateAutoScalingGroup with the limits set here.
    Asg {
        name: String,
        min: Option<i32>,
        max: Option<i32>,
        desired: Option<i32>,
    },
    /// A rule added by hand: revoked.
    Revoke {
        group_id: String,
        direction: Direction,
        rule: Rule,
    },
    /// A rule removed by hand: authorized again, with the template's description.
    Authorize {
        group_id: String,
        direction: Direction,
        rule: Rule,
        description: Option<String>,
    },
    /// A route deleted (CreateRoute) or pointed elsewhere (ReplaceRoute) by hand.
    Route {
        table_id: String,
        destination: String,
        via: RouteVia,
        target: String,
        /// The route exists with another target: replaced, not created.
        replace: bool,
    },
    /// PutMetricAlarm of the live alarm with the template's values of these
    /// settings.
    Alarm { name: String, patch: AlarmPatch },
    /// UPSERT of the live record set with the template's health check.
    RecordHealthCheck {
        zone_id: String,
        name: String,
        record_type: String,
        set_identifier: Option<String>,
        health_check_id: Option<String>,
    },
    /// PutBucketReplication of the live configuration with the template's role,
    /// destinations and statuses.
    Replication {
        bucket: String,
        patch: ReplicationPatch,
    },
    /// PutParameter (Overwrite) of the template's value and type.
    Parameter {
        name: String,
        value: String,
        param_type: String,
    },
}

/// One property of one resource whose live value differs from the template.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Drift {
    pub region: String,
    pub stack: String,
    pub logical_id: String,
    pub resource_type: String,
    pub physical_id: String,
    /// The template property ("MaxSize", "SecurityGroupIngress" …).
    pub property: String,
    /// What the template says ("-": nothing, e.g. for a rule added by hand).
    pub expected: String,
    /// What the service answers ("-": nothing, e.g. for a rule removed by hand).
    pub actual: String,
    #[serde(skip)]
    pub fix: Option<Fix>,
}

/// The reads and writes drift needs. Implemented by `aws::drift_reads::AwsDrift`.
#[allow(async_fn_in_trait)]
pub trait DriftPort: Sync {
    /// The stack's template as CloudFormation last applied it, its parameter
    /// values and its physical ids; None when the stack does not exist.
    async fn deployed(&self, region: &str, stack: &str)
        -> Result<Option<DeployedStack>, CallError>;
    /// A calculated health check's threshold and number of children; None when
    /// it does not exist.
    async fn calculated_check(&self, id: &str) -> Result<Option<(i32, usize)>, CallError>;
    /// None when the group does not exist.
    async fn asg_limits(&self, region: &str, name: &str) -> Result<Option<AsgLimits>, CallError>;
    /// Rules of each group asked for; a group that does not exist is absent.
    async fn group_rules(
        &self,
        region: &str,
        group_ids: &[String],
    ) -> Result<BTreeMap<String, GroupRules>, CallError>;
    async fn update_asg(
        &self,
        region: &str,
        name: &str,
        min: Option<i32>,
        max: Option<i32>,
        desired: Option<i32>,
    ) -> Result<(), CallError>;
    async fn revoke(
        &self,
        region: &str,
        group_id: &str,
        direction: Direction,
        rule: &Rule,
    ) -> Result<(), CallError>;
    async fn authorize(
        &self,
        region: &str,
        group_id: &str,
        direction: Direction,
        rule: &Rule,
        description: Option<&str>,
    ) -> Result<(), CallError>;
    /// The routes of each route table asked for; a table that does not exist is
    /// absent.
    async fn route_tables(
        &self,
        region: &str,
        table_ids: &[String],
    ) -> Result<BTreeMap<String, Vec<LiveRoute>>, CallError>;
    /// The settings of each metric alarm asked for (by name); an alarm that does
    /// not exist is absent.
    async fn alarms(
        &self,
        region: &str,
        names: &[String],
    ) -> Result<BTreeMap<String, AlarmSettings>, CallError>;
    /// CreateRoute (`replace` false) or ReplaceRoute (true) of one IPv4 route.
    async fn put_route(
        &self,
        region: &str,
        table_id: &str,
        destination: &str,
        via: RouteVia,
        target: &str,
        replace: bool,
    ) -> Result<(), CallError>;
    /// Each parameter asked for (by name); one that does not exist is absent.
    async fn parameters(
        &self,
        region: &str,
        names: &[String],
    ) -> Result<BTreeMap<String, ParameterValue>, CallError>;
    /// PutParameter with Overwrite: the value and type given.
    async fn put_parameter(
        &self,
        region: &str,
        name: &str,
        value: &str,
        param_type: &str,
    ) -> Result<(), CallError>;
    /// Every record set named `name` in the zone (Route 53 is global).
    async fn records(&self, zone_id: &str, name: &str) -> Result<Vec<LiveRecord>, CallError>;
    /// UPSERT of the record set as it is, with this health check (None: none).
    async fn set_record_health_check(
        &self,
        zone_id: &str,
        name: &str,
        record_type: &str,
        set_identifier: Option<&str>,
        health_check_id: Option<&str>,
    ) -> Result<(), CallError>;
    /// None when the bucket has no replication configuration.
    async fn replication(
        &self,
        region: &str,
        bucket: &str,
    ) -> Result<Option<LiveReplication>, CallError>;
    /// The bucket's replication as it is, with the patch's role and rules.
    async fn patch_replication(
        &self,
        region: &str,
        bucket: &str,
        patch: &ReplicationPatch,
    ) -> Result<(), CallError>;
    /// The alarm as it is, with the patch's settings.
    async fn patch_alarm(
        &self,
        region: &str,
        name: &str,
        patch: &AlarmPatch,
    ) -> Result<(), CallError>;
}

/// A region stack to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackRef {
    pub region: String,
    pub stack: String,
}

/// How reading one region went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "state")]
pub enum Checked {
    Compared,
    NotDeployed,
    Error { reason: String },
}

/// One region's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegionDrift {
    pub region: String,
    pub stack: String,
    #[serde(flatten)]
    pub checked: Checked,
    /// The properties not compared, with why (docs/drift.md, "Limits").
    pub skipped: Vec<String>,
    pub drift: Vec<Drift>,
}

/// Which API answers: strata's own reads, the same against AWS and the sandbox.
pub const METHOD: &str = "service reads (DescribeAutoScalingGroups, DescribeSecurityGroups, \
DescribeRouteTables, DescribeAlarms, ListResourceRecordSets, GetBucketReplication, \
GetParameters) against the template CloudFormation last applied (GetTemplate); not CloudFormation's \
DetectStackDrift (docs/drift.md)";

/// The whole check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DriftReport {
    pub stack: String,
    pub method: &'static str,
    pub regions: Vec<RegionDrift>,
    /// Every region's drift, in region order.
    pub drift: Vec<Drift>,
}

impl DriftReport {
    pub fn has_drift(&self) -> bool {
        !self.drift.is_empty()
    }

    /// Something `restore` can put back (a deleted resource, say, it cannot): a
    /// deploy with nothing to change takes the lock only then.
    pub fn restorable(&self) -> bool {
        self.drift.iter().any(|d| d.fix.is_some())
    }

    pub fn errors(&self) -> Vec<(&str, &str)> {
        self.regions
            .iter()
            .filter_map(|r| match &r.checked {
                Checked::Error { reason } => Some((r.region.as_str(), reason.as_str())),
                _ => None,
            })
            .collect()
    }

    /// Drifted properties of one region.
    pub fn count(&self, region: &str) -> usize {
        self.drift.iter().filter(|d| d.region == region).count()
    }
}

/// Check every stack at once; a region that fails to answer is an `Error` and
/// the others still report. Give every region stack of the definition (a
/// failed-over region changes what counts as drift in the others), then keep
/// the regions asked for (`DriftReport::only`).
pub async fn detect<P: DriftPort>(port: &P, app_stack: &str, stacks: &[StackRef]) -> DriftReport {
    let reads = futures::future::join_all(stacks.iter().map(|s| read_stack(port, s))).await;
    // Failover raises the serving check's threshold above its children (never
    // healthy, `dr::failover`): that region is out of service on purpose.
    let failed_over: Vec<&str> = stacks
        .iter()
        .zip(&reads)
        .filter(|(_, r)| matches!(r, Ok(Some(r)) if r.failed_over))
        .map(|(s, _)| s.region.as_str())
        .collect();
    let regions: Vec<RegionDrift> = stacks
        .iter()
        .zip(reads)
        .map(|(s, read)| {
            let mut out = RegionDrift {
                region: s.region.clone(),
                stack: s.stack.clone(),
                checked: Checked::Compared,
                skipped: Vec::new(),
                drift: Vec::new(),
            };
            match read {
                Ok(Some(read)) => {
                    let other = failed_over.iter().find(|r| **r != s.region).copied();
                    let (skipped, drift) = compare_read(s, read, other);
                    out.skipped = skipped;
                    out.drift = drift;
                }
                Ok(None) => out.checked = Checked::NotDeployed,
                Err(reason) => out.checked = Checked::Error { reason },
            }
            out
        })
        .collect();
    let drift = regions.iter().flat_map(|r| r.drift.clone()).collect();
    DriftReport {
        stack: app_stack.to_string(),
        method: METHOD,
        regions,
        drift,
    }
}

impl DriftReport {
    /// Only these regions (all when empty).
    pub fn only(mut self, regions: &[String]) -> Self {
        if !regions.is_empty() {
            self.regions.retain(|r| regions.contains(&r.region));
            self.drift.retain(|d| regions.contains(&d.region));
        }
        self
    }
}

/// What one stack's reads gave.
struct Read {
    want: compare::Expected,
    asgs: Vec<Option<AsgLimits>>,
    groups: BTreeMap<String, GroupRules>,
    tables: BTreeMap<String, Vec<LiveRoute>>,
    alarms: BTreeMap<String, AlarmSettings>,
    parameters: BTreeMap<String, ParameterValue>,
    /// (zone id, name) -> the record sets of that name.
    records: BTreeMap<(String, String), Vec<LiveRecord>>,
    /// Bucket -> its replication (None: none).
    replication: BTreeMap<String, Option<LiveReplication>>,
    failed_over: bool,
}

async fn read_stack<P: DriftPort>(port: &P, s: &StackRef) -> Result<Option<Read>, String> {
    let Some(deployed) = port
        .deployed(&s.region, &s.stack)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(None);
    };
    let want = compare::expected(&s.region, &deployed)?;
    let ids: Vec<String> = want.groups.iter().map(|g| g.group_id.clone()).collect();
    let mut table_ids: Vec<String> = want.routes.iter().map(|r| r.table_id.clone()).collect();
    table_ids.dedup();
    let alarm_names: Vec<String> = want.alarms.iter().map(|a| a.name.clone()).collect();
    let parameter_names: Vec<String> = want.parameters.iter().map(|p| p.name.clone()).collect();
    let region = s.region.as_str();
    let (asgs, groups, checks, (tables, alarms, parameters)) = futures::future::join4(
        futures::future::join_all(want.asgs.iter().map(|a| port.asg_limits(region, &a.name))),
        async {
            if ids.is_empty() {
                Ok(BTreeMap::new())
            } else {
                port.group_rules(region, &ids).await
            }
        },
        futures::future::join_all(
            want.serving_checks
                .iter()
                .map(|id| port.calculated_check(id)),
        ),
        futures::future::join3(
            async {
                if table_ids.is_empty() {
                    Ok(BTreeMap::new())
                } else {
                    port.route_tables(region, &table_ids).await
                }
            },
            async {
                if alarm_names.is_empty() {
                    Ok(BTreeMap::new())
                } else {
                    port.alarms(region, &alarm_names).await
                }
            },
            async {
                if parameter_names.is_empty() {
                    Ok(BTreeMap::new())
                } else {
                    port.parameters(region, &parameter_names).await
                }
            },
        ),
    )
    .await;
    let groups = groups.map_err(|e| e.to_string())?;
    let tables = tables.map_err(|e| e.to_string())?;
    let alarms = alarms.map_err(|e| e.to_string())?;
    let parameters = parameters.map_err(|e| e.to_string())?;
    let mut names: Vec<(String, String)> = want
        .records
        .iter()
        .map(|r| (r.zone_id.clone(), r.name.clone()))
        .collect();
    names.sort();
    names.dedup();
    let listed =
        futures::future::join_all(names.iter().map(|(zone, name)| port.records(zone, name))).await;
    let mut records = BTreeMap::new();
    for (key, sets) in names.into_iter().zip(listed) {
        records.insert(key, sets.map_err(|e| e.to_string())?);
    }
    let replicated = futures::future::join_all(
        want.replication
            .iter()
            .map(|r| port.replication(region, &r.bucket)),
    )
    .await;
    let mut replication = BTreeMap::new();
    for (want, live) in want.replication.iter().zip(replicated) {
        replication.insert(want.bucket.clone(), live.map_err(|e| e.to_string())?);
    }
    let asgs = asgs
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let mut failed_over = false;
    for c in checks {
        if let Some((threshold, children)) = c.map_err(|e| e.to_string())? {
            failed_over |= threshold > children as i32;
        }
    }
    Ok(Some(Read {
        want,
        asgs,
        groups,
        tables,
        alarms,
        parameters,
        records,
        replication,
        failed_over,
    }))
}

fn compare_read(s: &StackRef, read: Read, failed_over: Option<&str>) -> (Vec<String>, Vec<Drift>) {
    let at = At {
        region: &s.region,
        stack: &s.stack,
    };
    let mut skipped = read.want.skipped.clone();
    let mut drift = Vec::new();
    for (a, live) in read.want.asgs.iter().zip(&read.asgs) {
        drift.extend(compare::compare_asg(
            &at,
            a,
            live.as_ref(),
            failed_over,
            &mut skipped,
        ));
    }
    for g in &read.want.groups {
        drift.extend(compare::compare_group(&at, g, read.groups.get(&g.group_id)));
    }
    for r in &read.want.routes {
        drift.extend(compare::compare_route(&at, r, read.tables.get(&r.table_id)));
    }
    for a in &read.want.alarms {
        drift.extend(compare::compare_alarm(&at, a, read.alarms.get(&a.name)));
    }
    for r in &read.want.records {
        let key = (r.zone_id.clone(), r.name.clone());
        drift.extend(compare::compare_record(&at, r, read.records.get(&key)));
    }
    for b in &read.want.replication {
        let live = read.replication.get(&b.bucket).and_then(Option::as_ref);
        drift.extend(compare::compare_replication(&at, b, live));
    }
    for p in &read.want.parameters {
        drift.extend(compare::compare_parameter(
            &at,
            p,
            read.parameters.get(&p.name),
        ));
    }
    (skipped, drift)
}

/// One drifted property put back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Restored {
    pub region: String,
    pub logical_id: String,
    pub property: String,
    /// The value it had ("-": none).
    pub from: String,
    /// The template's value ("-": none).
    pub to: String,
}

impl Restored {
    pub fn line(&self) -> String {
        format!(
            "drift restored: {} {} {} {} -> {}",
            self.region, self.logical_id, self.property, self.from, self.to
        )
    }
}

/// Why a put-back stopped.
#[derive(Debug, thiserror::Error)]
#[error("putting back {region} {logical_id} {property} failed: {source}")]
pub struct RestoreError {
    pub region: String,
    pub logical_id: String,
    pub property: String,
    /// What was put back before it.
    pub done: Vec<Restored>,
    #[source]
    pub source: CallError,
}

/// One group's limits to set (min, max, desired) and the drifts they put back.
type AsgPutBack<'a> = (Option<i32>, Option<i32>, Option<i32>, Vec<&'a Drift>);

/// Put back every drift that has a fix, in order: each group's limits in one
/// UpdateAutoScalingGroup (so min and max move together and never cross), then
/// the rules (revokes before authorizes), then the routes (CreateRoute or
/// ReplaceRoute), then each alarm's settings in one PutMetricAlarm, then each
/// record's health check (UPSERT), then each bucket's replication in one
/// PutBucketReplication, then each parameter in one PutParameter. Idempotent: a second run finds nothing.
/// An event per property restored.
pub async fn restore<P: DriftPort>(
    port: &P,
    drift: &[Drift],
    events: &Events,
) -> Result<Vec<Restored>, RestoreError> {
    let mut done = Vec::new();
    let restored = |d: &Drift| Restored {
        region: d.region.clone(),
        logical_id: d.logical_id.clone(),
        property: d.property.clone(),
        from: d.actual.clone(),
        to: d.expected.clone(),
    };
    let fail = |d: &Drift, done: &Vec<Restored>, source| RestoreError {
        region: d.region.clone(),
        logical_id: d.logical_id.clone(),
        property: d.property.clone(),
        done: done.clone(),
        source,
    };
    // The limits, one call per group.
    let mut groups: BTreeMap<(String, String), AsgPutBack> = BTreeMap::new();
    for d in drift {
        if let Some(Fix::Asg {
            name,
            min,
            max,
            desired,
        }) = &d.fix
        {
            let e = groups.entry((d.region.clone(), name.clone())).or_insert((
                None,
                None,
                None,
                Vec::new(),
            ));
            e.0 = e.0.or(*min);
            e.1 = e.1.or(*max);
            e.2 = e.2.or(*desired);
            e.3.push(d);
        }
    }
    for ((region, name), (min, max, desired, ds)) in &groups {
        if let Err(e) = port.update_asg(region, name, *min, *max, *desired).await {
            return Err(fail(ds[0], &done, e));
        }
        for d in ds {
            let r = restored(d);
            events.info(Some(region), Phase::Drift, r.line());
            done.push(r);
        }
    }
    let revokes = drift
        .iter()
        .filter(|d| matches!(d.fix, Some(Fix::Revoke { .. })));
    let authorizes = drift
        .iter()
        .filter(|d| matches!(d.fix, Some(Fix::Authorize { .. })));
    for d in revokes.chain(authorizes) {
        let result = match &d.fix {
            Some(Fix::Revoke {
                group_id,
                direction,
                rule,
            }) => port.revoke(&d.region, group_id, *direction, rule).await,
            Some(Fix::Authorize {
                group_id,
                direction,
                rule,
                description,
            }) => {
                port.authorize(
                    &d.region,
                    group_id,
                    *direction,
                    rule,
                    description.as_deref(),
                )
                .await
            }
            _ => Ok(()),
        };
        if let Err(e) = result {
            return Err(fail(d, &done, e));
        }
        let r = restored(d);
        events.info(Some(&d.region), Phase::Drift, r.line());
        done.push(r);
    }
    for d in drift {
        let Some(Fix::Route {
            table_id,
            destination,
            via,
            target,
            replace,
        }) = &d.fix
        else {
            continue;
        };
        if let Err(e) = port
            .put_route(&d.region, table_id, destination, *via, target, *replace)
            .await
        {
            return Err(fail(d, &done, e));
        }
        let r = restored(d);
        events.info(Some(&d.region), Phase::Drift, r.line());
        done.push(r);
    }
    // Each alarm in one PutMetricAlarm, whatever number of its settings drifted.
    let mut alarms: BTreeMap<(String, String), (AlarmPatch, Vec<&Drift>)> = BTreeMap::new();
    for d in drift {
        if let Some(Fix::Alarm { name, patch }) = &d.fix {
            let e = alarms
                .entry((d.region.clone(), name.clone()))
                .or_insert((AlarmPatch::default(), Vec::new()));
            e.0 = std::mem::take(&mut e.0).or(patch);
            e.1.push(d);
        }
    }
    for ((region, name), (patch, ds)) in &alarms {
        if let Err(e) = port.patch_alarm(region, name, patch).await {
            return Err(fail(ds[0], &done, e));
        }
        for d in ds {
            let r = restored(d);
            events.info(Some(region), Phase::Drift, r.line());
            done.push(r);
        }
    }
    for d in drift {
        let Some(Fix::RecordHealthCheck {
            zone_id,
            name,
            record_type,
            set_identifier,
            health_check_id,
        }) = &d.fix
        else {
            continue;
        };
        if let Err(e) = port
            .set_record_health_check(
                zone_id,
                name,
                record_type,
                set_identifier.as_deref(),
                health_check_id.as_deref(),
            )
            .await
        {
            return Err(fail(d, &done, e));
        }
        let r = restored(d);
        events.info(Some(&d.region), Phase::Drift, r.line());
        done.push(r);
    }
    // Each bucket's replication in one PutBucketReplication.
    let mut buckets: BTreeMap<(String, String), (&ReplicationPatch, Vec<&Drift>)> = BTreeMap::new();
    for d in drift {
        if let Some(Fix::Replication { bucket, patch }) = &d.fix {
            buckets
                .entry((d.region.clone(), bucket.clone()))
                .or_insert((patch, Vec::new()))
                .1
                .push(d);
        }
    }
    for ((region, bucket), (patch, ds)) in &buckets {
        if let Err(e) = port.patch_replication(region, bucket, patch).await {
            return Err(fail(ds[0], &done, e));
        }
        for d in ds {
            let r = restored(d);
            events.info(Some(region), Phase::Drift, r.line());
            done.push(r);
        }
    }
    // Each parameter in one PutParameter, its value and type both drifted or not.
    let mut parameters: BTreeMap<(String, String), (String, String, Vec<&Drift>)> = BTreeMap::new();
    for d in drift {
        if let Some(Fix::Parameter {
            name,
            value,
            param_type,
        }) = &d.fix
        {
            parameters
                .entry((d.region.clone(), name.clone()))
                .or_insert((value.clone(), param_type.clone(), Vec::new()))
                .2
                .push(d);
        }
    }
    for ((region, name), (value, param_type, ds)) in &parameters {
        if let Err(e) = port.put_parameter(region, name, value, param_type).await {
            return Err(fail(ds[0], &done, e));
        }
        for d in ds {
            let r = restored(d);
            events.info(Some(region), Phase::Drift, r.line());
            done.push(r);
        }
    }
    warn_unrestorable(drift, events);
    Ok(done)
}

/// A warning for each drift `restore` cannot put back.
pub fn warn_unrestorable(drift: &[Drift], events: &Events) {
    for d in drift.iter().filter(|d| d.fix.is_none()) {
        events.warn(
            Some(&d.region),
            Phase::Drift,
            format!(
                "drift not restored: {} {} {} is {} (the template says {}); it needs the stack \
                 updated or the region rebuilt",
                d.region, d.logical_id, d.property, d.actual, d.expected
            ),
        );
    }
}

/// The region stacks of a definition, only `regions` when any are named.
pub fn region_stacks(def: &crate::stack::StackDef, regions: &[String]) -> Vec<StackRef> {
    def.regions
        .iter()
        .filter(|r| regions.is_empty() || regions.contains(&r.name))
        .map(|r| StackRef {
            region: r.name.clone(),
            stack: def.region_stack_name(&r.name),
        })
        .collect()
}

/// Check a definition's region stacks through AWS (or the sandbox).
pub async fn check(
    aws: &crate::aws::Aws,
    def: &crate::stack::StackDef,
    regions: &[String],
) -> DriftReport {
    let port = crate::aws::drift_reads::AwsDrift::new(aws);
    detect(&port, &def.stack_name(), &region_stacks(def, &[]))
        .await
        .only(regions)
}
