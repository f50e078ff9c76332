//! The health gate and the bake: read a region's health signals until they pass,
//! then keep watching them for the bake time.
//!
//! Signals, found from the stack's resources: every Auto Scaling group has its
//! desired capacity InService, every InService instance on the stack's current
//! launch-template version (the latest version of the stack's launch template, which
//! the group must launch from too); every InService instance of a group is
//! registered and healthy in each of the group's target groups, and every other
//! registered target is healthy or draining (an instance a rolling update replaced
//! drains for the deregistration delay); every Route 53 health check is healthy by
//! Route 53's own rule (`check_health`: more than 18% of checkers for an endpoint
//! check, a calculated check from its children, and not healthy before it has been
//! observed healthy); no alarm of the stack is in
//! ALARM (OK and INSUFFICIENT_DATA pass). The stack's alarms are those named
//! `<stack>-…` (synth's naming rule), found with DescribeAlarms by name prefix, so
//! alarms made outside the template under that name are watched too; those whose
//! name ends in `synth::TOLD_ONLY_ALARM_SUFFIX` (a dead-letter queue holding
//! messages) notify people but do not gate.
//!
//! The gate also reads back what the stack operation was meant to leave (issue: a
//! CIDR change ended "runs the new version" with the VPC and subnets gone): every
//! VPC, subnet, launch template and Auto Scaling group the stack's template declares
//! is listed among the stack's resources, the listed VPCs and subnets exist
//! (DescribeVpcs / DescribeSubnets), and every DynamoDB global table the stack
//! lists is ACTIVE in the region with an ACTIVE replica in every other region its
//! template declares. A region missing any of them fails its gate and is put back.

use super::check_health;
use super::cloud::{AsgFleet, Cloud};
use super::error::DeployError;
use super::wait::{Backoff, Heartbeat, Timing};
use crate::events::{EventKind, Events, Phase};
use std::collections::BTreeMap;
use std::time::Instant;

/// The stack's resources that carry a health signal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Signals {
    pub asgs: Vec<String>,
    pub target_groups: Vec<String>,
    pub health_checks: Vec<String>,
    /// The stack's load balancers (ARNs): the canary reads their traffic.
    pub load_balancers: Vec<String>,
    /// Alarms named with this prefix belong to the stack.
    pub alarm_prefix: String,
    /// The stack's launch templates (ids).
    pub launch_templates: Vec<String>,
    pub vpcs: Vec<String>,
    pub subnets: Vec<String>,
    /// The stack's global tables: (name, every region the template declares a
    /// replica in).
    pub tables: Vec<(String, Vec<String>)>,
    /// Critical resources the template declares that the stack does not list:
    /// "LogicalId (Type)".
    pub unlisted: Vec<String>,
}

/// The resource types whose absence after a stack operation fails the gate when
/// the template declares them. (Global tables are read back when the stack lists
/// them: `tables`.)
const CRITICAL: &[&str] = &[
    "AWS::EC2::VPC",
    "AWS::EC2::Subnet",
    "AWS::EC2::LaunchTemplate",
    "AWS::AutoScaling::AutoScalingGroup",
];

/// The template's resources as (logical id, type, properties).
fn declared(template: &str) -> Vec<(String, String, serde_json::Value)> {
    let t: serde_json::Value = serde_json::from_str(template).unwrap_or_default();
    t.get("Resources")
        .and_then(|r| r.as_object())
        .map(|r| {
            r.iter()
                .map(|(id, res)| {
                    (
                        id.clone(),
                        res["Type"].as_str().unwrap_or_default().to_string(),
                        res.get("Properties").cloned().unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// One reading of one signal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    pub signal: String,
    pub ok: bool,
    pub detail: String,
    /// False when the signal could not be read (a throttled or failed call): the
    /// gate keeps waiting, the bake does not fail on it.
    pub known: bool,
}

/// A signal whose read failed.
fn unread(signal: String, e: impl std::fmt::Display) -> Reading {
    Reading {
        signal,
        ok: false,
        detail: format!("could not be read: {e}"),
        known: false,
    }
}

pub async fn discover<C: Cloud>(
    cloud: &C,
    region: &str,
    stack: &str,
) -> Result<Signals, DeployError> {
    let mut s = Signals {
        alarm_prefix: format!("{stack}-"),
        ..Signals::default()
    };
    let template = declared(&cloud.template(region, stack).await?);
    let resources = cloud.resources(region, stack).await?;
    for (logical_id, kind, _) in &template {
        let listed = resources
            .iter()
            .any(|r| &r.logical_id == logical_id && !r.physical_id.is_empty());
        if CRITICAL.contains(&kind.as_str()) && !listed {
            s.unlisted.push(format!("{logical_id} ({kind})"));
        }
    }
    for r in resources {
        if r.physical_id.is_empty() {
            continue;
        }
        match r.resource_type.as_str() {
            "AWS::AutoScaling::AutoScalingGroup" => s.asgs.push(r.physical_id),
            "AWS::ElasticLoadBalancingV2::TargetGroup" => s.target_groups.push(r.physical_id),
            "AWS::Route53::HealthCheck" => s.health_checks.push(r.physical_id),
            "AWS::ElasticLoadBalancingV2::LoadBalancer" => s.load_balancers.push(r.physical_id),
            "AWS::EC2::LaunchTemplate" => s.launch_templates.push(r.physical_id),
            "AWS::EC2::VPC" => s.vpcs.push(r.physical_id),
            "AWS::EC2::Subnet" => s.subnets.push(r.physical_id),
            "AWS::DynamoDB::GlobalTable" => {
                let replicas = template
                    .iter()
                    .find(|(id, _, _)| *id == r.logical_id)
                    .and_then(|(_, _, props)| props["Replicas"].as_array().cloned())
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|rep| rep["Region"].as_str().map(str::to_string))
                    .collect();
                s.tables.push((r.physical_id, replicas));
            }
            _ => {}
        }
    }
    Ok(s)
}

/// Read every signal once. A signal whose read failed with an answer (throttled,
/// refused) is an unread reading; a call that got no answer at all (the endpoint
/// is unreachable, after the SDK's own retries) stops the gate or the bake with
/// that error: waiting out `gate_timeout` for an endpoint that is gone would only
/// delay the exit 7 (docs/deploy.md, "An endpoint that stops answering").
pub async fn read<C: Cloud>(
    cloud: &C,
    region: &str,
    signals: &Signals,
) -> Result<Vec<Reading>, DeployError> {
    let mut out = Vec::new();
    if !signals.unlisted.is_empty() {
        out.push(Reading {
            signal: "stack resources".into(),
            ok: false,
            detail: format!(
                "declared in the template but not in the stack: {}",
                signals.unlisted.join(", ")
            ),
            known: true,
        });
    }
    if !signals.vpcs.is_empty() || !signals.subnets.is_empty() {
        out.push(
            match cloud
                .network_found(region, &signals.vpcs, &signals.subnets)
                .await
            {
                Err(e) => unread("network".into(), e),
                Ok(found) => {
                    let gone: Vec<_> = signals
                        .vpcs
                        .iter()
                        .chain(&signals.subnets)
                        .filter(|id| !found.contains(id))
                        .cloned()
                        .collect();
                    Reading {
                        signal: "network".into(),
                        ok: gone.is_empty(),
                        detail: if gone.is_empty() {
                            format!(
                                "{} VPC and {} subnets exist",
                                signals.vpcs.len(),
                                signals.subnets.len()
                            )
                        } else {
                            format!("do not exist: {}", gone.join(", "))
                        },
                        known: true,
                    }
                }
            },
        );
    }
    for (name, replicas) in &signals.tables {
        out.push(table_reading(cloud, region, name, replicas).await);
    }
    // The InService instances of each target group's groups.
    let mut serving: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for asg in &signals.asgs {
        let signal = format!("asg {asg}");
        let fleet = match cloud.asg_fleet(region, asg).await {
            Ok(Some(f)) => f,
            Ok(None) => {
                out.push(Reading {
                    signal,
                    ok: false,
                    detail: "does not exist".into(),
                    known: true,
                });
                continue;
            }
            Err(e) if e.is_unreachable() => return Err(e.into()),
            Err(e) => {
                out.push(unread(signal, e));
                continue;
            }
        };
        let in_service: Vec<_> = fleet
            .instances
            .iter()
            .filter(|i| i.lifecycle == "InService")
            .collect();
        for tg in &fleet.target_group_arns {
            serving
                .entry(tg.clone())
                .or_default()
                .extend(in_service.iter().map(|i| i.id.clone()));
        }
        let current = match current_version(cloud, region, signals, &fleet).await {
            Ok(c) => c,
            Err(reading) => {
                out.push(Reading { signal, ..reading });
                continue;
            }
        };
        let stale: Vec<String> = in_service
            .iter()
            .filter(|i| current.is_some() && i.launch_template_version != current)
            .map(|i| {
                format!(
                    "{} (version {})",
                    i.id,
                    i.launch_template_version.as_deref().unwrap_or("unknown")
                )
            })
            .collect();
        let count = in_service.len() as u32;
        let on = current
            .as_deref()
            .map(|v| format!(", launch-template version {v}"))
            .unwrap_or_default();
        out.push(Reading {
            signal,
            ok: count >= fleet.desired && stale.is_empty(),
            detail: if stale.is_empty() {
                format!("{count}/{} InService{on}", fleet.desired)
            } else {
                format!(
                    "{count}/{} InService; not on the current launch-template version{}: {}",
                    fleet.desired,
                    current
                        .as_deref()
                        .map(|v| format!(" {v}"))
                        .unwrap_or_default(),
                    stale.join(", ")
                )
            },
            known: true,
        });
    }
    for tg in &signals.target_groups {
        let name = tg.rsplit(':').next().unwrap_or(tg);
        let targets = match cloud.target_health(region, tg).await {
            Ok(t) => t,
            Err(e) if e.is_unreachable() => return Err(e.into()),
            Err(e) => {
                out.push(unread(format!("targets {name}"), e));
                continue;
            }
        };
        let mut problems: Vec<String> = targets
            .iter()
            .filter(|(_, s)| s != "healthy" && s != "draining")
            .map(|(id, s)| format!("{id} {s}"))
            .collect();
        for id in serving.get(tg).into_iter().flatten() {
            if !targets.iter().any(|(t, _)| t == id) {
                problems.push(format!("{id} not registered"));
            } else if targets.iter().any(|(t, s)| t == id && s == "draining") {
                problems.push(format!("{id} draining"));
            }
        }
        let healthy = targets.iter().filter(|(_, s)| s == "healthy").count();
        out.push(Reading {
            known: true,
            signal: format!("targets {name}"),
            ok: problems.is_empty(),
            detail: if problems.is_empty() {
                format!("{healthy} healthy")
            } else {
                format!(
                    "{healthy} of {} healthy; {}",
                    targets.len(),
                    problems.join(", ")
                )
            },
        });
    }
    for hc in &signals.health_checks {
        let signal = format!("health-check {hc}");
        match read_check(cloud, hc).await {
            Ok((ok, detail)) => out.push(Reading {
                known: true,
                signal,
                ok,
                detail,
            }),
            Err(e) if e.is_unreachable() => return Err(e.into()),
            Err(e) => out.push(unread(signal, e)),
        }
    }
    {
        let states = match cloud.alarm_states(region, &signals.alarm_prefix).await {
            Ok(s) => s
                .into_iter()
                .filter(|(name, _)| !name.ends_with(crate::synth::TOLD_ONLY_ALARM_SUFFIX))
                .collect::<Vec<_>>(),
            Err(e) if e.is_unreachable() => return Err(e.into()),
            Err(e) => {
                out.push(unread("alarms".into(), e));
                return Ok(out);
            }
        };
        let firing: Vec<_> = states
            .iter()
            .filter(|(_, s)| s == "ALARM")
            .map(|(n, _)| n.clone())
            .collect();
        out.push(Reading {
            signal: "alarms".into(),
            known: true,
            ok: firing.is_empty(),
            detail: if firing.is_empty() {
                format!("{} alarms, none in ALARM", states.len())
            } else {
                format!("in ALARM: {}", firing.join(", "))
            },
        });
    }
    Ok(out)
}

/// One health check by Route 53's rule (`check_health`): an endpoint check from its
/// checkers' reports, a calculated check from its children. A calculated check that
/// `strata dr failover` took out of service (threshold above its children, so never
/// healthy by design) is judged by its children: the gate judges the release, and a
/// region being rebuilt is gated before `restore` puts it back into DNS.
async fn read_check<C: Cloud>(
    cloud: &C,
    id: &str,
) -> Result<(bool, String), crate::call_error::CallError> {
    let config = cloud.health_check_config(id).await?;
    if config.is_calculated() && config.threshold.unwrap_or(0) > config.children.len() as i32 {
        let mut healthy = 0;
        for child in &config.children {
            if check_health::evaluate(cloud, child).await?.healthy {
                healthy += 1;
            }
        }
        let ok = healthy == config.children.len();
        return Ok((
            ok,
            format!(
                "out of service (threshold {} above its {} children); {healthy} of {} children healthy",
                config.threshold.unwrap_or(0),
                config.children.len(),
                config.children.len()
            ),
        ));
    }
    let v = check_health::evaluate(cloud, id).await?;
    Ok((v.healthy, v.detail))
}

/// The launch-template version every InService instance of the group must run:
/// the latest version of the stack's launch template the group launches from.
/// `Ok(None)` when the group uses no launch template (nothing to compare); an
/// `Err` reading when the group launches from anything else.
async fn current_version<C: Cloud>(
    cloud: &C,
    region: &str,
    signals: &Signals,
    fleet: &AsgFleet,
) -> Result<Option<String>, Reading> {
    let fail = |detail: String, known: bool| Reading {
        signal: String::new(),
        ok: false,
        detail,
        known,
    };
    let Some((id, version)) = &fleet.launch_template else {
        return Ok(None);
    };
    if !signals.launch_templates.is_empty() && !signals.launch_templates.contains(id) {
        return Err(fail(
            format!("launches from {id}, not the stack's launch template"),
            true,
        ));
    }
    let latest = match cloud.launch_template_latest(region, id).await {
        Ok(Some(v)) => v,
        Ok(None) => return Err(fail(format!("launch template {id} does not exist"), true)),
        Err(e) => return Err(fail(format!("could not be read: {e}"), false)),
    };
    if version != &latest && version != "$Latest" {
        return Err(fail(
            format!("launches from version {version} of {id}, not its latest {latest}"),
            true,
        ));
    }
    Ok(Some(latest))
}

/// A global table: ACTIVE here, with an ACTIVE replica in every other declared region.
async fn table_reading<C: Cloud>(
    cloud: &C,
    region: &str,
    name: &str,
    replicas: &[String],
) -> Reading {
    let signal = format!("table {name}");
    let table = match cloud.table(region, name).await {
        Ok(t) => t,
        Err(e) => return unread(signal, e),
    };
    let Some(table) = table else {
        return Reading {
            signal,
            ok: false,
            detail: "does not exist".into(),
            known: true,
        };
    };
    let mut problems = Vec::new();
    if table.status != "ACTIVE" {
        problems.push(format!("status {}", table.status));
    }
    for r in replicas.iter().filter(|r| r.as_str() != region) {
        match table.replicas.iter().find(|(name, _)| name == r) {
            None => problems.push(format!("no replica in {r}")),
            Some((_, status)) if !status.is_empty() && status != "ACTIVE" => {
                problems.push(format!("replica in {r} {status}"))
            }
            Some(_) => {}
        }
    }
    Reading {
        signal,
        ok: problems.is_empty(),
        detail: if problems.is_empty() {
            format!("ACTIVE, {} replicas", replicas.len())
        } else {
            problems.join(", ")
        },
        known: true,
    }
}

/// Emits a Health event when a signal's reading changes.
#[derive(Default)]
struct Reporter {
    last: BTreeMap<String, (bool, String)>,
}

impl Reporter {
    fn report(&mut self, events: &Events, region: &str, phase: Phase, readings: &[Reading]) {
        for r in readings {
            let now = (r.ok, r.detail.clone());
            if self.last.get(&r.signal) != Some(&now) {
                events.emit(
                    Some(region),
                    phase,
                    EventKind::Health {
                        signal: r.signal.clone(),
                        ok: r.ok,
                        detail: r.detail.clone(),
                    },
                );
                self.last.insert(r.signal.clone(), now);
            }
        }
    }
}

fn failing(readings: &[Reading], only_known: bool) -> Option<String> {
    let bad: Vec<_> = readings
        .iter()
        .filter(|r| !r.ok && (r.known || !only_known))
        .map(|r| format!("{}: {}", r.signal, r.detail))
        .collect();
    (!bad.is_empty()).then(|| bad.join("; "))
}

/// Poll the signals until all pass, or fail after `gate_timeout`.
pub async fn gate<C: Cloud>(
    cloud: &C,
    events: &Events,
    region: &str,
    stack: &str,
    timing: &Timing,
) -> Result<Signals, DeployError> {
    let signals = discover(cloud, region, stack).await?;
    let started = Instant::now();
    let mut backoff = Backoff::new(timing);
    let mut beat = Heartbeat::new(timing);
    let mut reporter = Reporter::default();
    loop {
        let readings = read(cloud, region, &signals).await?;
        reporter.report(events, region, Phase::Gate, &readings);
        match failing(&readings, false) {
            None => return Ok(signals),
            Some(reason) if started.elapsed() >= timing.gate_timeout => {
                return Err(DeployError::GateFailed {
                    region: region.into(),
                    stack: stack.into(),
                    reason,
                })
            }
            Some(_) => {
                beat.tick(events, region, Phase::Gate, "waiting for the health gate");
                tokio::time::sleep(backoff.step().min(timing.gate_timeout)).await;
            }
        }
    }
}

/// Watch the signals for the bake time; any failing reading fails the bake.
pub async fn bake<C: Cloud>(
    cloud: &C,
    events: &Events,
    region: &str,
    stack: &str,
    signals: &Signals,
    timing: &Timing,
) -> Result<(), DeployError> {
    if timing.bake.is_zero() {
        return Ok(());
    }
    let started = Instant::now();
    let mut backoff = Backoff::new(timing);
    let mut beat = Heartbeat::new(timing);
    let mut reporter = Reporter::default();
    loop {
        let left = timing.bake.saturating_sub(started.elapsed());
        tokio::time::sleep(backoff.step().min(left)).await;
        let readings = read(cloud, region, signals).await?;
        reporter.report(events, region, Phase::Bake, &readings);
        if let Some(reason) = failing(&readings, true) {
            return Err(DeployError::BakeFailed {
                region: region.into(),
                stack: stack.into(),
                reason,
            });
        }
        if started.elapsed() >= timing.bake {
            return Ok(());
        }
        beat.tick(events, region, Phase::Bake, "baking");
    }
}
