//! What every part of a region's template needs to know: the definition, the
//! region, the phase, the derived subnets, and the names derived from them.

use super::addressing::{self, AzSubnets};
use super::{naming, Phase, SynthError};
use crate::stack::{Region, StackDef};

/// The region whose template declares the global tables (with a replica in every
/// region): the first region of the rollout's first wave.
///
/// That region is deployed first, so every replica exists before any other region
/// is built; see docs/synth.md for why not the AMI build region.
pub fn home_region(def: &StackDef) -> &str {
    def.rollout
        .waves()
        .first()
        .and_then(|wave| wave.first())
        .and_then(|name| def.region(name))
        .or_else(|| def.regions.first())
        .map(|r| r.name.as_str())
        .unwrap_or_default()
}

/// One region's synthesis context.
pub struct RegionCtx<'a> {
    pub def: &'a StackDef,
    pub region: &'a Region,
    pub phase: Phase,
    /// Public and private subnet of each AZ, in the definition's AZ order.
    pub subnets: Vec<AzSubnets>,
    /// Logical-id suffix of each AZ (`naming::az_suffixes`).
    pub az_ids: Vec<String>,
}

impl<'a> RegionCtx<'a> {
    pub fn new(def: &'a StackDef, region: &'a Region, phase: Phase) -> Result<Self, SynthError> {
        let subnets = addressing::subnets(&region.cidr, region.azs.len()).map_err(|source| {
            SynthError::Addressing {
                stack: def.stack_name(),
                region: region.name.clone(),
                source,
            }
        })?;
        Ok(RegionCtx {
            def,
            region,
            phase,
            subnets,
            az_ids: naming::az_suffixes(region),
        })
    }

    pub fn wired(&self) -> bool {
        self.phase == Phase::Wired
    }

    /// Whether this region's template declares the global tables.
    pub fn is_home(&self) -> bool {
        home_region(self.def) == self.region.name
    }

    /// Every region of the stack but this one, in definition order.
    pub fn other_regions(&self) -> impl Iterator<Item = &'a Region> + '_ {
        self.def
            .regions
            .iter()
            .filter(move |r| r.name != self.region.name)
    }

    /// Whether the load balancer serves HTTPS (the default; `dns.plain_http` opts out).
    pub fn https(&self) -> bool {
        self.def.dns.https()
    }
}

/// The name the regions' latency records are made on: the origin name behind
/// CloudFront, or the public name itself when there is no CloudFront.
pub fn latency_name(def: &StackDef) -> String {
    if def.edge.cloudfront {
        def.dns.origin_name()
    } else {
        def.dns.domain.clone()
    }
}

/// A DNS name as Route 53 writes it, with the trailing dot.
pub fn fqdn(name: &str) -> String {
    if name.ends_with('.') {
        name.to_string()
    } else {
        format!("{name}.")
    }
}
