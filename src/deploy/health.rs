//! The health gate and the bake: read a region's health signals until they pass,
//! then keep watching them for the bake time.
//!
//! Signals, found from the stack's resources: every Auto Scaling group has its
//! desired capacity InService; every target of every target group is healthy; every
//! Route 53 health check's checkers report success (no observations at all counts
//! as healthy and is said so: new checks may have none); no alarm of the stack is in
//! ALARM (OK and INSUFFICIENT_DATA pass). The stack's alarms are those named
//! `<stack>-…` (synth's naming rule), found with DescribeAlarms by name prefix, so
//! alarms made outside the template under that name are watched too; those whose
//! name ends in `synth::TOLD_ONLY_ALARM_SUFFIX` (a dead-letter queue holding
//! messages) notify people but do not gate.

use super::cloud::Cloud;
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
    /// Alarms named with this prefix belong to the stack.
    pub alarm_prefix: String,
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
    for r in cloud.resources(region, stack).await? {
        if r.physical_id.is_empty() {
            continue;
        }
        match r.resource_type.as_str() {
            "AWS::AutoScaling::AutoScalingGroup" => s.asgs.push(r.physical_id),
            "AWS::ElasticLoadBalancingV2::TargetGroup" => s.target_groups.push(r.physical_id),
            "AWS::Route53::HealthCheck" => s.health_checks.push(r.physical_id),
            _ => {}
        }
    }
    Ok(s)
}

/// Read every signal once.
pub async fn read<C: Cloud>(
    cloud: &C,
    region: &str,
    signals: &Signals,
) -> Result<Vec<Reading>, DeployError> {
    let mut out = Vec::new();
    for asg in &signals.asgs {
        let signal = format!("asg {asg}");
        let (in_service, desired) = match cloud.asg_capacity(region, asg).await {
            Ok(c) => c,
            Err(e) => {
                out.push(unread(signal, e));
                continue;
            }
        };
        out.push(Reading {
            signal,
            ok: in_service >= desired,
            detail: format!("{in_service}/{desired} InService"),
            known: true,
        });
    }
    for tg in &signals.target_groups {
        let name = tg.rsplit(':').next().unwrap_or(tg);
        let targets = match cloud.target_health(region, tg).await {
            Ok(t) => t,
            Err(e) => {
                out.push(unread(format!("targets {name}"), e));
                continue;
            }
        };
        let unhealthy: Vec<_> = targets.iter().filter(|(_, s)| s != "healthy").collect();
        out.push(Reading {
            known: true,
            signal: format!("targets {name}"),
            ok: unhealthy.is_empty(),
            detail: if unhealthy.is_empty() {
                format!("{} healthy", targets.len())
            } else {
                let list: Vec<_> = unhealthy
                    .iter()
                    .map(|(id, s)| format!("{id} {s}"))
                    .collect();
                format!(
                    "{} of {} not healthy: {}",
                    unhealthy.len(),
                    targets.len(),
                    list.join(", ")
                )
            },
        });
    }
    for hc in &signals.health_checks {
        let reports = match cloud.health_check_reports(hc).await {
            Ok(r) => r,
            Err(e) => {
                out.push(unread(format!("health-check {hc}"), e));
                continue;
            }
        };
        let failing = reports.iter().filter(|r| !r.starts_with("Success")).count();
        out.push(Reading {
            known: true,
            signal: format!("health-check {hc}"),
            ok: failing == 0,
            detail: if reports.is_empty() {
                "no observations (counted as healthy)".into()
            } else {
                format!(
                    "{}/{} checkers report success",
                    reports.len() - failing,
                    reports.len()
                )
            },
        });
    }
    {
        let states = match cloud.alarm_states(region, &signals.alarm_prefix).await {
            Ok(s) => s
                .into_iter()
                .filter(|(name, _)| !name.ends_with(crate::synth::TOLD_ONLY_ALARM_SUFFIX))
                .collect::<Vec<_>>(),
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
