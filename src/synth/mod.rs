//! Synthesis: a validated `StackDef` in, CloudFormation templates out — one per
//! region, the global edge, and the managed hosted zone. Pure: no I/O, no clock, no
//! randomness; the same definition always gives the same bytes.
//!
//! Every resource is a generated typed resource (`crate::cfn::gen`) added with
//! `Template::add`; each concern (network, security groups, load balancer, compute,
//! data, storage, DNS, alarms, outputs) has its own file and adds its part of a
//! region's template. See docs/synth.md for what each template holds and why.

// Generated resources have dozens of optional properties; `let mut r =
// Resource::default(); r.property = …;` sets the few a template needs and reads
// better than struct literals with `..Default::default()`.
#![allow(clippy::field_reassign_with_default)]

mod addressing;
mod alarms;
mod certificates;
mod compute;
mod context;
mod contract;
mod data;
pub mod dns;
mod global;
mod lit;
mod load_balancer;
pub mod naming;
mod network;
mod notify;
pub mod origin_access;
mod outputs;
mod security;
pub mod serving_check;
mod storage;
mod tags;
pub mod zone;

pub use addressing::{subnets, AddressingError, AzSubnets};
pub use alarms::TOLD_ONLY_ALARM_SUFFIX;
pub use compute::AMI_PARAMETER;
pub use context::{fqdn, home_region, latency_name};
pub use dns::ZONE_ID_PARAMETER;
pub use outputs::names as output_names;

use crate::cfn::Template;
use crate::stack::StackDef;
use context::RegionCtx;

/// Which cross-region references a region's template carries.
///
/// Deploy uses `Build` for a region's first creation (the other regions' buckets,
/// load balancers and records may not exist yet) and `Wired` afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Each region on its own: no S3 replication rules (nor their role), no DNS
    /// records, no replication-latency alarms. The health check exists.
    Build,
    /// Everything: replication to every other region's bucket, latency and
    /// failover records, replication-latency alarms.
    Wired,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Build => "build",
            Phase::Wired => "wired",
        }
    }
}

impl std::str::FromStr for Phase {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "build" => Ok(Phase::Build),
            "wired" => Ok(Phase::Wired),
            other => Err(format!("unknown phase `{other}` (expected build or wired)")),
        }
    }
}

/// One region's CloudFormation stack.
#[derive(Debug, Clone, PartialEq)]
pub struct RegionTemplate {
    /// The AWS region the stack is deployed in.
    pub region: String,
    /// The CloudFormation stack name, `<app>-<env>-<region>`.
    pub stack_name: String,
    pub template: Template,
}

/// Everything a stack definition synthesizes to.
#[derive(Debug, Clone, PartialEq)]
pub struct Synthesized {
    /// One template per region, in the definition's region order.
    pub regions: Vec<RegionTemplate>,
    /// The global template (CloudFront + the public name), deployed in us-east-1 as
    /// `StackDef::global_stack_name()`. `None` when `edge.cloudfront` is off: then
    /// the latency records are made on the public name itself.
    pub global: Option<Template>,
    /// The hosted zone, when `dns.manage_zone`: deployed first, in us-east-1, as
    /// `zone_stack_name()`.
    pub zone: Option<Template>,
}

/// Why a definition cannot be synthesized. `stack::validate` rejects all of these
/// first; synthesis checks again so that it never panics on unvalidated input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SynthError {
    #[error("stack {stack}, region {region}: {source}")]
    Addressing {
        stack: String,
        region: String,
        #[source]
        source: AddressingError,
    },
    #[error("stack {stack}: edge.price_class `{value}` is not PriceClass_100, PriceClass_200 or PriceClass_All")]
    PriceClass { stack: String, value: String },
    #[error("stack {stack} has no region")]
    NoRegion { stack: String },
}

/// The CloudFormation stack name of the managed hosted zone, `<app>-<env>-dns`.
pub fn zone_stack_name(def: &StackDef) -> String {
    format!("{}-dns", def.stack_name())
}

/// Synthesize every template of a validated definition.
///
/// Panics if `def` was not validated (a region CIDR too small for its AZs, no
/// region); use `try_synthesize` for unvalidated input.
pub fn synthesize(def: &StackDef, phase: Phase) -> Synthesized {
    try_synthesize(def, phase)
        .unwrap_or_else(|e| panic!("synthesize needs a validated StackDef: {e}"))
}

/// Synthesize every template, or say why the definition cannot be synthesized.
pub fn try_synthesize(def: &StackDef, phase: Phase) -> Result<Synthesized, SynthError> {
    if def.regions.is_empty() {
        return Err(SynthError::NoRegion {
            stack: def.stack_name(),
        });
    }
    let regions = def
        .regions
        .iter()
        .map(|region| {
            let ctx = RegionCtx::new(def, region, phase)?;
            Ok(RegionTemplate {
                region: region.name.clone(),
                stack_name: def.region_stack_name(&region.name),
                template: region_template(&ctx),
            })
        })
        .collect::<Result<Vec<_>, SynthError>>()?;
    let global = if def.edge.cloudfront {
        let price_class =
            global::price_class(&def.edge.price_class).ok_or_else(|| SynthError::PriceClass {
                stack: def.stack_name(),
                value: def.edge.price_class.clone(),
            })?;
        Some(global::template(def, price_class))
    } else {
        None
    };
    Ok(Synthesized {
        regions,
        global,
        zone: def.dns.manage_zone.then(|| zone::template(def)),
    })
}

/// One region's template: each concern adds its resources in turn.
fn region_template(ctx: &RegionCtx) -> Template {
    let mut t = Template::new(format!(
        "strata: {} in {} ({} phase)",
        ctx.def.stack_name(),
        ctx.region.name,
        ctx.phase.as_str()
    ));
    let net = network::add(&mut t, ctx);
    let sgs = security::add(&mut t, ctx, &net);
    origin_access::add_secret(&mut t, ctx);
    let lb = load_balancer::add(&mut t, ctx, &net, &sgs);
    let data = data::add(&mut t, ctx);
    let bucket = storage::add(&mut t, ctx);
    let contract = contract::add(&mut t, ctx, &data, bucket.as_ref());
    let compute = compute::add(
        &mut t,
        ctx,
        &compute::Parts {
            net: &net,
            sgs: &sgs,
            lb: &lb,
            data: &data,
            bucket: bucket.as_ref(),
            contract: &contract,
        },
    );
    let health = dns::add(&mut t, ctx, &lb);
    let notify = notify::add(&mut t, ctx);
    let alarms = alarms::add(&mut t, ctx, &lb, &data, notify.as_ref());
    outputs::add(
        &mut t,
        &outputs::Parts {
            lb: &lb,
            compute: &compute,
            health: &health,
            bucket: bucket.as_ref(),
            alarms: &alarms,
            notify: notify.as_ref(),
        },
    );
    t
}
