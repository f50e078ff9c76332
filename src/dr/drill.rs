//! `drill`: a chaos game against the sandbox (or an account named on purpose):
//! deploy, break a region (delete its load balancer through the ELBv2 API), check
//! DNS stops answering with it, fail over, check DNS answers only healthy regions
//! and the survivors carry peak, rebuild, check everything is back. Every phase
//! is timed; the report carries the recovery times the drill achieved.

use super::capacity::per_survivor;
use super::dns::{answers, DnsAnswers};
use super::failover::{asg_name, failover, FailoverReport};
use super::rebuild::{rebuild, RebuildInput, RebuildReport};
use super::DrError;
use crate::ami::Images;
use crate::app::Pipeline;
use crate::aws::dr_compute::{asg_limits, delete_load_balancer, load_balancer_by_dns};
use crate::aws::health_reads::bucket_replication;
use crate::aws::stack_info::describe_stack;
use crate::aws::Aws;
use crate::deploy::{self, Outcome, Settings};
use crate::events::{EventKind, Phase};
use crate::stack::StackDef;
use crate::synth::{output_names, AMI_PARAMETER};
use serde::Serialize;
use std::time::Instant;

/// One timed phase of the drill.
#[derive(Debug, Clone, Serialize)]
pub struct DrillPhase {
    pub name: &'static str,
    pub seconds: f64,
    pub detail: String,
}

/// What the drill did and the recovery times it achieved.
#[derive(Debug, Clone, Serialize)]
pub struct DrillReport {
    pub stack: String,
    pub region: String,
    pub phases: Vec<DrillPhase>,
    /// From the break to the region out of DNS with the survivors scaled.
    pub time_to_failover_seconds: f64,
    /// From the break to the region rebuilt and back in DNS: the RTO achieved.
    pub rto_seconds: f64,
    pub failover: FailoverReport,
    pub rebuild: RebuildReport,
}

fn check(
    ok: bool,
    region: &str,
    what: &'static str,
    message: impl FnOnce() -> String,
) -> Result<(), DrError> {
    if ok {
        Ok(())
    } else {
        Err(DrError::Step {
            step: what,
            region: region.to_string(),
            message: message(),
        })
    }
}

fn describe(a: &DnsAnswers) -> String {
    a.names
        .iter()
        .map(|n| format!("{} -> [{}]", n.name, n.answers.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The region a drill breaks when none is named: the second of the rollout
/// (the first holds the global table's home).
pub fn default_region(def: &StackDef) -> Result<String, DrError> {
    def.rollout
        .waves()
        .into_iter()
        .flatten()
        .nth(1)
        .ok_or_else(|| DrError::NoSurvivor {
            stack: def.stack_name(),
            region: String::new(),
        })
}

/// Run the drill on `region` of the prepared command `p` (its desired state,
/// AMIs resolved, is what the first phase deploys). The caller has checked the
/// target is allowed and holds the deploy lock.
pub async fn drill(
    p: &Pipeline,
    region: &str,
    settings: &Settings,
) -> Result<DrillReport, DrError> {
    let (aws, cloud, def, events) = (&p.aws, &p.cloud, p.def(), &p.events);
    let mut phases = Vec::new();
    let mut timed = |name: &'static str, started: Instant, detail: String| {
        events.emit(
            Some(region),
            Phase::Drill,
            EventKind::PhaseDone {
                detail: format!("{name}: {detail} ({:.1}s)", started.elapsed().as_secs_f64()),
            },
        );
        phases.push(DrillPhase {
            name,
            seconds: started.elapsed().as_secs_f64(),
            detail,
        });
    };

    // 1. Deploy every stack.
    let t = Instant::now();
    let report = deploy::deploy(cloud, events, &p.desired, settings, |_| true)
        .await
        .map_err(|e| DrError::Step {
            step: "deploying",
            region: region.into(),
            message: e.to_string(),
        })?;
    check(
        matches!(report.outcome, Outcome::Deployed | Outcome::NoChange),
        region,
        "deploying",
        || {
            format!(
                "the deploy ended {:?}: {}",
                report.outcome,
                report.error.clone().unwrap_or_default()
            )
        },
    )?;
    let before = answers(aws, def).await?;
    check(
        !before.excludes(region),
        region,
        "checking DNS before the break",
        || describe(&before),
    )?;
    timed(
        "deploy",
        t,
        format!("{:?}; DNS {}", report.outcome, describe(&before)),
    );

    // 2. Break the region: delete its load balancer.
    let broken_at = Instant::now();
    let dns_name = super::stack_refs::load_balancer(aws, def, region).await?;
    if let Some(lb) = load_balancer_by_dns(aws, region, &dns_name)
        .await
        .map_err(DrError::aws("finding the load balancer", region))?
    {
        delete_load_balancer(aws, region, &lb.arn)
            .await
            .map_err(DrError::aws("deleting the load balancer", region))?;
    }
    let broken = answers(aws, def).await?;
    let unhealthy = broken
        .names
        .iter()
        .flat_map(|n| n.records.iter())
        .filter(|r| r.region == region)
        .all(|r| !r.healthy);
    check(unhealthy, region, "checking the break is seen", || {
        describe(&broken)
    })?;
    timed(
        "break",
        broken_at,
        format!("deleted load balancer {dns_name}; its records are unhealthy"),
    );

    // 3. Fail over, then check DNS and capacity.
    let t = Instant::now();
    let fo = failover(aws, def, region, events).await?;
    let after = answers(aws, def).await?;
    check(
        after.excludes(region),
        region,
        "checking DNS after failover",
        || describe(&after),
    )?;
    check(
        after
            .names
            .iter()
            .all(|n| !n.answers.is_empty() && !n.all_unhealthy),
        region,
        "checking DNS after failover",
        || describe(&after),
    )?;
    let survivors: Vec<&str> = def
        .regions
        .iter()
        .map(|r| r.name.as_str())
        .filter(|r| *r != region)
        .collect();
    let need = per_survivor(def, survivors.len());
    for s in &survivors {
        let asg = asg_name(aws, def, s).await?;
        let limits = asg_limits(aws, s, &asg)
            .await
            .map_err(DrError::aws("reading the Auto Scaling group", s))?
            .ok_or_else(|| DrError::NoAsg {
                region: s.to_string(),
                asg: asg.clone(),
            })?;
        check(
            limits.max >= need && limits.desired >= need,
            s,
            "checking survivor capacity",
            || {
                format!(
                    "{asg} runs {} (max {}), needs {need}",
                    limits.desired, limits.max
                )
            },
        )?;
    }
    let time_to_failover = broken_at.elapsed().as_secs_f64();
    timed(
        "failover",
        t,
        format!("DNS {}; survivors run >= {need} each", describe(&after)),
    );

    // 4. Rebuild, then check everything is back.
    let t = Instant::now();
    let rb = rebuild(
        aws,
        cloud,
        &RebuildInput {
            pipeline: p,
            region,
            from: None,
            settings,
        },
        events,
    )
    .await?;
    let rto = broken_at.elapsed().as_secs_f64();
    timed(
        "rebuild",
        t,
        format!("from {}; AMI {}", rb.source_region, rb.ami),
    );

    let t = Instant::now();
    verify_back(aws, def, region).await?;
    timed(
        "verify",
        t,
        "stack, AMI, records and replication match the other regions".into(),
    );

    Ok(DrillReport {
        stack: def.stack_name(),
        region: region.to_string(),
        phases,
        time_to_failover_seconds: time_to_failover,
        rto_seconds: rto,
        failover: fo,
        rebuild: rb,
    })
}

/// The rebuilt region matches the others: its stack completed, its AMI exists,
/// its records answer, and its bucket replicates to as many regions as theirs.
pub async fn verify_back(aws: &Aws, def: &StackDef, region: &str) -> Result<(), DrError> {
    let dns = answers(aws, def).await?;
    check(
        dns.all_healthy(),
        region,
        "checking DNS after rebuild",
        || describe(&dns),
    )?;
    for n in &dns.names {
        // The record the region's template declares on this name: its own latency
        // record; on the failover name the PRIMARY (the primary region), the
        // SECONDARY (set identifier "latency", the first secondary region) or none.
        let expected = if n.name == def.dns.failover_name() {
            match crate::synth::dns::failover_record_of(def, region) {
                Some(crate::stack::FailoverRole::Primary) => region.to_string(),
                Some(crate::stack::FailoverRole::Secondary) => {
                    crate::synth::dns::SECONDARY_SET_IDENTIFIER.to_string()
                }
                None => continue,
            }
        } else {
            region.to_string()
        };
        check(
            n.records.iter().any(|r| r.region == expected),
            region,
            "checking records",
            || format!("{} has no record {expected} of {region}", n.name),
        )?;
    }
    let mut replication = Vec::new();
    for r in &def.regions {
        let name = def.region_stack_name(&r.name);
        let s = describe_stack(aws, &r.name, &name)
            .await
            .map_err(DrError::aws("reading the stack", &r.name))?
            .ok_or_else(|| DrError::NoStack {
                stack: name.clone(),
                region: r.name.clone(),
            })?;
        check(
            s.status == "CREATE_COMPLETE" || s.status == "UPDATE_COMPLETE",
            &r.name,
            "checking the stack",
            || format!("{name} is {}", s.status),
        )?;
        if let Some(ami) = s.parameters.get(AMI_PARAMETER) {
            let image = aws
                .describe_image(&r.name, ami)
                .await
                .map_err(DrError::aws("reading the AMI", &r.name))?;
            // The sandbox runs the definition's id, which need not exist there.
            check(
                image.is_some() || aws.target().endpoint_url.is_some(),
                &r.name,
                "checking the AMI",
                || format!("AMI {ami} does not exist"),
            )?;
        }
        if let Some(bucket) = s.outputs.get(output_names::BUCKET_NAME) {
            let dest = bucket_replication(aws, &r.name, bucket)
                .await
                .map_err(DrError::aws("reading bucket replication", &r.name))?
                .map(|d| d.len())
                .unwrap_or(0);
            replication.push((r.name.clone(), dest));
        }
    }
    if let Some((_, first)) = replication.first() {
        check(
            replication.iter().all(|(_, d)| d == first),
            region,
            "checking replication",
            || format!("replication destinations per region differ: {replication:?}"),
        )?;
    }
    Ok(())
}
