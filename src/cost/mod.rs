//! The cost stage (pure): the monthly cost of the planned topology per region and
//! per component, from the shipped price table (`prices.rs`) and the usage the
//! stack file states or the defaults (`usage.rs`); and the price of each nine:
//! alternatives with one region fewer or more, one NAT gateway per region, another
//! AZ count, each with its availability (`policy::availability`), monthly cost and,
//! given `[availability] downtime_cost_per_hour`, the expected cost of its downtime.
//!
//! No AWS call: counts of alarms, health checks and queues come from synth's
//! templates; the rest from the definition. docs/cost.md describes the model.

pub mod prices;
pub mod usage;

use crate::policy::availability::{
    format_downtime, nines, shape_availability, shape_of, yearly_downtime_seconds, Components,
    NatLayout, RegionShape, Shape,
};
use crate::stack::{Billing, StackDef};
use crate::synth::Synthesized;
use prices::PriceTable;
use serde::Serialize;
use usage::{Assumption, Usage};

/// Why a cost cannot be estimated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CostError {
    #[error(
        "compute.instance_type {instance_type:?} has no price in strata's price table (dated \
         {date}); state its us-east-1 on-demand price as `[cost] instance_hour_usd`"
    )]
    NoInstancePrice { instance_type: String, date: String },
}

/// One component's monthly cost in one region (or globally).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Line {
    /// "instances", "ebs", "nat-gateways", "public-ipv4", "load-balancer",
    /// "dynamodb", "replication", "s3", "sqs", "data-out", "health-checks",
    /// "alarms", "kms", "cloudfront", "hosted-zone", "dns-queries".
    pub component: &'static str,
    /// How the figure is made, with the quantities.
    pub detail: String,
    pub monthly: f64,
    /// The same with every Auto Scaling group at its maximum.
    pub monthly_at_max: f64,
}

/// One region's lines.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegionCost {
    pub region: String,
    pub multiplier: f64,
    /// The price table has no multiplier for the region: us-east-1 prices are used.
    pub priced_as_base: bool,
    pub lines: Vec<Line>,
    pub monthly: f64,
    pub monthly_at_max: f64,
}

/// A topology's whole monthly cost.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Priced {
    pub regions: Vec<RegionCost>,
    pub global: Vec<Line>,
    pub monthly: f64,
    pub monthly_at_max: f64,
}

/// One row of the price of each nine.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alternative {
    /// "as planned", "one region fewer", "one NAT gateway per region", ...
    pub name: String,
    /// What changes, in words.
    pub change: String,
    pub availability: f64,
    pub nines: f64,
    pub yearly_downtime: String,
    pub downtime_hours_per_year: f64,
    pub monthly_cost: f64,
    /// Monthly cost minus the planned topology's.
    pub monthly_delta: f64,
    /// Expected downtime a year times `downtime_cost_per_hour`.
    pub yearly_downtime_cost: Option<f64>,
    /// Twelve months of cost plus the expected downtime cost.
    pub yearly_total: Option<f64>,
    /// The lowest `yearly_total` of the table.
    pub cheapest_overall: bool,
}

/// Everything `strata cost` reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostReport {
    pub stack: String,
    pub currency: String,
    /// The price table's date.
    pub prices_dated: String,
    pub hours_per_month: f64,
    pub instance_type: String,
    pub instance_hour_usd: f64,
    pub regions: Vec<RegionCost>,
    pub global: Vec<Line>,
    pub monthly: f64,
    pub monthly_at_max: f64,
    pub assumptions: Vec<Assumption>,
    /// What the model leaves out or approximates.
    pub notes: Vec<String>,
    pub downtime_cost_per_hour: Option<f64>,
    /// Sorted by availability, lowest first.
    pub alternatives: Vec<Alternative>,
    pub sources: std::collections::BTreeMap<String, String>,
}

/// What a region's templates hold that the cost counts (from synth).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Counted {
    pub alarms: usize,
    pub health_checks: usize,
    pub queues: usize,
    pub kms_keys: usize,
}

/// Count a region template's alarms, health checks and queues.
pub fn counted(synth: &Synthesized) -> Vec<(String, Counted)> {
    synth
        .regions
        .iter()
        .map(|r| {
            let n = |t: &str| r.template.resources_of_type(t).count();
            (
                r.region.clone(),
                Counted {
                    alarms: n("AWS::CloudWatch::Alarm"),
                    health_checks: n("AWS::Route53::HealthCheck"),
                    queues: n("AWS::SQS::Queue"),
                    kms_keys: n("AWS::KMS::Key"),
                },
            )
        })
        .collect()
}

/// The inputs of pricing one topology.
struct Inputs<'a> {
    def: &'a StackDef,
    usage: &'a Usage,
    table: &'a PriceTable,
    instance_hour: f64,
}

/// Price one topology; `counts[i]` belongs to `shape.regions[i]`.
fn price(shape: &Shape, counts: &[Counted], i: &Inputs<'_>) -> Priced {
    let p = &i.table.prices;
    let h = i.table.hours_per_month;
    let u = i.usage;
    let def = i.def;
    let n = shape.regions.len().max(1) as f64;
    let global_table = def.tables.iter().any(|t| t.global) && n > 1.0;
    let on_demand = def.tables.iter().any(|t| t.billing == Billing::OnDemand);
    let mut regions = Vec::new();
    for (r, c) in shape.regions.iter().zip(counts) {
        let (m, known) = i.table.multiplier(&r.region);
        let mut lines = Vec::new();
        let mut line = |component, detail: String, monthly: f64, at_max: f64| {
            lines.push(Line {
                component,
                detail,
                monthly: monthly * m,
                monthly_at_max: at_max * m,
            })
        };
        let inst = |k: u32| f64::from(k) * i.instance_hour * h;
        line(
            "instances",
            format!(
                "{} x {} at ${}/h x {h} h (at max: {})",
                r.desired, def.compute.instance_type, i.instance_hour, r.max
            ),
            inst(r.desired),
            inst(r.max),
        );
        let ebs =
            |k: u32| f64::from(k) * f64::from(def.compute.root_volume_gib) * p.ebs_gp3_gb_month;
        line(
            "ebs",
            format!(
                "{} x {} GiB gp3 at ${}/GB-month",
                r.desired, def.compute.root_volume_gib, p.ebs_gp3_gb_month
            ),
            ebs(r.desired),
            ebs(r.max),
        );
        let nats = r.nat_gateways() as f64;
        let nat = nats * p.nat_gateway_hour * h + u.nat_gb * p.nat_gateway_gb;
        line(
            "nat-gateways",
            format!(
                "{nats} x ${}/h + {} GB x ${}/GB processed",
                p.nat_gateway_hour, u.nat_gb, p.nat_gateway_gb
            ),
            nat,
            nat,
        );
        let ips = nats + r.azs as f64;
        let ipv4 = ips * p.public_ipv4_hour * h;
        line(
            "public-ipv4",
            format!(
                "{ips} addresses ({nats} NAT, {} load balancer nodes) x ${}/h",
                r.azs, p.public_ipv4_hour
            ),
            ipv4,
            ipv4,
        );
        // The region's share of the traffic (latency routing spreads it; assumption).
        let rps = u.requests / n / usage::SECONDS_PER_MONTH;
        let gb_per_hour = u.gb_out / n / h;
        let lcu = (rps / p.lcu_new_connections_per_second).max(gb_per_hour / p.lcu_gb_per_hour);
        let alb = (p.alb_hour + lcu * p.alb_lcu_hour) * h;
        line(
            "load-balancer",
            format!(
                "${}/h + {lcu:.2} LCU x ${}/LCU-h ({rps:.1} new connections/s, {gb_per_hour:.2} GB/h)",
                p.alb_hour, p.alb_lcu_hour
            ),
            alb,
            alb,
        );
        if shape.dynamodb {
            let mut monthly = 0.0;
            let mut detail = Vec::new();
            if on_demand {
                let own = u.writes / n;
                let replicated = if global_table { u.writes - own } else { 0.0 };
                let w = own / 1e6 * p.dynamodb_write_million
                    + replicated / 1e6 * p.dynamodb_replicated_write_million;
                let rd = u.reads / n / 1e6 * p.dynamodb_read_million;
                monthly += w + rd;
                detail.push(format!(
                    "{:.2}M writes + {:.2}M replicated + {:.2}M reads on demand",
                    own / 1e6,
                    replicated / 1e6,
                    u.reads / n / 1e6
                ));
            }
            for t in def
                .tables
                .iter()
                .filter(|t| t.billing == Billing::Provisioned)
            {
                let wcu = f64::from(t.write_capacity.unwrap_or(0));
                let rcu = f64::from(t.read_capacity.unwrap_or(0));
                let wcu_price = if global_table && t.global {
                    p.dynamodb_replicated_wcu_hour
                } else {
                    p.dynamodb_wcu_hour
                };
                monthly += (wcu * wcu_price + rcu * p.dynamodb_rcu_hour) * h;
                detail.push(format!("{}: {wcu} WCU + {rcu} RCU provisioned", t.name));
            }
            let stored = if global_table {
                u.table_gb
            } else {
                u.table_gb / n
            };
            monthly += stored * (p.dynamodb_gb_month + p.dynamodb_pitr_gb_month);
            detail.push(format!("{stored} GB stored with point-in-time recovery"));
            line("dynamodb", detail.join("; "), monthly, monthly);
        }
        let mut repl_gb = 0.0;
        if global_table && shape.dynamodb {
            repl_gb += u.writes / n * (n - 1.0) / 1e6; // 1 KB items
        }
        if def.storage.enabled && def.storage.replication && n > 1.0 {
            repl_gb += u.gb_written / n * (n - 1.0);
        }
        if repl_gb > 0.0 {
            let cost = repl_gb * p.inter_region_gb;
            line(
                "replication",
                format!(
                    "{repl_gb:.2} GB to the other regions x ${}/GB",
                    p.inter_region_gb
                ),
                cost,
                cost,
            );
        }
        if def.storage.enabled {
            let stored = if def.storage.replication {
                u.gb_stored
            } else {
                u.gb_stored / n
            };
            let cost = stored * p.s3_gb_month;
            line(
                "s3",
                format!("{stored} GB Standard x ${}/GB-month", p.s3_gb_month),
                cost,
                cost,
            );
        }
        if c.queues > 0 {
            let requests = u.queue_messages / n * 3.0;
            let cost = requests / 1e6 * p.sqs_million;
            line(
                "sqs",
                format!(
                    "{:.2}M requests (send, receive, delete) x ${}/M",
                    requests / 1e6,
                    p.sqs_million
                ),
                cost,
                cost,
            );
        }
        if !shape.cloudfront {
            let gb = u.gb_out / n;
            let cost = gb * p.internet_gb_out;
            line(
                "data-out",
                format!("{gb:.1} GB to the internet x ${}/GB", p.internet_gb_out),
                cost,
                cost,
            );
        }
        let hc = c.health_checks as f64 * p.route53_health_check_month;
        line(
            "health-checks",
            format!(
                "{} Route 53 health checks x ${}/month",
                c.health_checks, p.route53_health_check_month
            ),
            hc / m,
            hc / m,
        );
        let alarms = c.alarms as f64 * p.cloudwatch_alarm_month;
        line(
            "alarms",
            format!(
                "{} CloudWatch alarms x ${}/month",
                c.alarms, p.cloudwatch_alarm_month
            ),
            alarms,
            alarms,
        );
        if c.kms_keys > 0 {
            let kms = c.kms_keys as f64 * p.kms_key_month;
            line(
                "kms",
                format!(
                    "{} customer managed keys x ${}/month",
                    c.kms_keys, p.kms_key_month
                ),
                kms,
                kms,
            );
        }
        let monthly = lines.iter().map(|l| l.monthly).sum();
        let monthly_at_max = lines.iter().map(|l| l.monthly_at_max).sum();
        regions.push(RegionCost {
            region: r.region.clone(),
            multiplier: m,
            priced_as_base: !known,
            lines,
            monthly,
            monthly_at_max,
        });
    }
    let mut global = Vec::new();
    let mut g = |component, detail: String, monthly: f64| {
        global.push(Line {
            component,
            detail,
            monthly,
            monthly_at_max: monthly,
        })
    };
    if shape.cloudfront {
        g(
            "cloudfront",
            format!(
                "{:.1} GB x ${}/GB + {:.2}M HTTPS requests x ${}/10k",
                u.gb_out,
                p.cloudfront_gb_out,
                u.requests / 1e6,
                p.cloudfront_https_10k
            ),
            u.gb_out * p.cloudfront_gb_out + u.requests / 1e4 * p.cloudfront_https_10k,
        );
    }
    g(
        "hosted-zone",
        format!("1 hosted zone x ${}/month", p.route53_zone_month),
        p.route53_zone_month,
    );
    g(
        "dns-queries",
        format!(
            "{:.2}M latency / failover queries x ${}/M",
            u.dns_queries / 1e6,
            p.route53_latency_million
        ),
        u.dns_queries / 1e6 * p.route53_latency_million,
    );
    let global_sum: f64 = global.iter().map(|l| l.monthly).sum();
    let monthly = regions.iter().map(|r| r.monthly).sum::<f64>() + global_sum;
    let monthly_at_max = regions.iter().map(|r| r.monthly_at_max).sum::<f64>() + global_sum;
    Priced {
        regions,
        global,
        monthly,
        monthly_at_max,
    }
}

/// The alternatives to the planned shape: (name, what changes, shape, counts).
fn alternatives(planned: &Shape, counts: &[Counted]) -> Vec<(String, String, Shape, Vec<Counted>)> {
    let mut out = vec![(
        "as planned".to_string(),
        "the stack file's topology".to_string(),
        planned.clone(),
        counts.to_vec(),
    )];
    if planned.regions.len() > 1 {
        let mut s = planned.clone();
        let gone = s.regions.pop().map(|r| r.region).unwrap_or_default();
        out.push((
            "one region fewer".into(),
            format!("without {gone}; capacity per region unchanged"),
            s,
            counts[..counts.len() - 1].to_vec(),
        ));
    }
    if planned
        .regions
        .iter()
        .any(|r| r.nat == NatLayout::PerAz && r.azs > 1)
    {
        let mut s = planned.clone();
        for r in &mut s.regions {
            r.nat = NatLayout::Single;
        }
        out.push((
            "one NAT gateway per region".into(),
            "one NAT gateway instead of one per AZ, every zone routed through it".into(),
            s,
            counts.to_vec(),
        ));
    }
    let all_three = planned.regions.iter().all(|r| r.azs >= 3);
    let (target, name) = if all_three {
        (2usize, "two AZs per region")
    } else {
        (3usize, "three AZs per region")
    };
    let mut s = planned.clone();
    for r in &mut s.regions {
        let scale = |k: u32| (f64::from(k) * target as f64 / r.azs as f64).ceil() as u32;
        *r = RegionShape {
            desired: scale(r.desired),
            max: scale(r.max),
            azs: target,
            ..r.clone()
        };
    }
    out.push((
        name.into(),
        format!("{target} AZs in every region, the same instances per AZ"),
        s,
        counts.to_vec(),
    ));
    if let Some(first) = planned.regions.first() {
        let mut s = planned.clone();
        s.regions.push(first.clone());
        let mut c = counts.to_vec();
        c.push(counts[0]);
        out.push((
            "one more region".into(),
            format!("a region like {} (priced as it)", first.region),
            s,
            c,
        ));
    }
    out
}

/// The cost of `def` as planned, and the price of each nine.
pub fn estimate(def: &StackDef, synth: &Synthesized) -> Result<CostReport, CostError> {
    estimate_with(def, synth, PriceTable::shipped())
}

/// [`estimate`] with a given price table.
pub fn estimate_with(
    def: &StackDef,
    synth: &Synthesized,
    table: &PriceTable,
) -> Result<CostReport, CostError> {
    let instance_hour = match def.cost.instance_hour_usd {
        Some(v) => v,
        None => *table
            .instance_hour
            .get(&def.compute.instance_type)
            .ok_or_else(|| CostError::NoInstancePrice {
                instance_type: def.compute.instance_type.clone(),
                date: table.date.clone(),
            })?,
    };
    let (usage, assumptions) = usage::usage(def);
    let by_region = counted(synth);
    let shape = shape_of(def);
    let counts: Vec<Counted> = shape
        .regions
        .iter()
        .map(|r| {
            by_region
                .iter()
                .find(|(name, _)| *name == r.region)
                .map(|(_, c)| *c)
                .unwrap_or_default()
        })
        .collect();
    let inputs = Inputs {
        def,
        usage: &usage,
        table,
        instance_hour,
    };
    let planned = price(&shape, &counts, &inputs);
    let (components, _) = Components::with_overrides(&def.availability.components);
    let per_hour = def.availability.downtime_cost_per_hour;
    let mut rows: Vec<Alternative> = alternatives(&shape, &counts)
        .into_iter()
        .map(|(name, change, s, c)| {
            let a = shape_availability(&s, &components);
            let cost = price(&s, &c, &inputs).monthly;
            let hours = yearly_downtime_seconds(a) / 3600.0;
            let downtime_cost = per_hour.map(|v| v * hours);
            Alternative {
                name,
                change,
                availability: a,
                nines: nines(a),
                yearly_downtime: format_downtime(yearly_downtime_seconds(a)),
                downtime_hours_per_year: hours,
                monthly_cost: cost,
                monthly_delta: cost - planned.monthly,
                yearly_downtime_cost: downtime_cost,
                yearly_total: downtime_cost.map(|d| d + 12.0 * cost),
                cheapest_overall: false,
            }
        })
        .collect();
    rows.sort_by(|a, b| a.availability.total_cmp(&b.availability));
    if let Some(best) = rows
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.yearly_total.map(|t| (i, t)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(i, _)| i)
    {
        rows[best].cheapest_overall = true;
    }
    let mut notes = vec![
        "first-tier list prices; free tiers, savings plans and reserved capacity not applied"
            .to_string(),
        "traffic split evenly over the regions (latency routing); one new load-balancer \
         connection per request"
            .to_string(),
        "not counted: S3 requests, CloudWatch metrics and logs, KMS requests, SNS alert notifications, \
         the ALB's active-connection and rule-evaluation LCU dimensions"
            .to_string(),
    ];
    for r in &planned.regions {
        if r.priced_as_base {
            notes.push(format!(
                "{}: the price table has no multiplier for this region; priced as {}",
                r.region, table.base_region
            ));
        }
    }
    Ok(CostReport {
        stack: def.stack_name(),
        currency: table.currency.clone(),
        prices_dated: table.date.clone(),
        hours_per_month: table.hours_per_month,
        instance_type: def.compute.instance_type.clone(),
        instance_hour_usd: instance_hour,
        regions: planned.regions,
        global: planned.global,
        monthly: planned.monthly,
        monthly_at_max: planned.monthly_at_max,
        assumptions,
        notes,
        downtime_cost_per_hour: per_hour,
        alternatives: rows,
        sources: table.sources.clone(),
    })
}

#[cfg(test)]
mod tests;
