//! The availability estimate: per-component figures combined over the planned
//! topology (serial dependencies multiply, redundant replicas combine as
//! 1 - product of unavailabilities), per region and for the whole service.
//!
//! The model (docs/policy.md):
//!   zone path   = az * nat * (1 - (1 - instance)^k)     k = instances in that AZ
//!   region      = region * alb * [dynamodb] * (1 - prod over AZs (1 - zone path))
//!   service     = route53 * [cloudfront] * (1 - prod over regions (1 - region))

use crate::stack::StackDef;
use serde::Serialize;
use std::collections::BTreeMap;

/// The default availability of each component, in percent, with what it stands for.
pub const DEFAULTS: &[(&str, f64, &str)] = &[
    (
        "instance",
        99.5,
        "one EC2 instance (EC2 instance-level SLA)",
    ),
    ("az", 99.9, "one Availability Zone as a whole"),
    ("nat", 99.9, "one NAT gateway (the zone's egress)"),
    (
        "alb",
        99.99,
        "the regional Application Load Balancer (ELB SLA)",
    ),
    ("region", 99.95, "region-wide failure of shared services"),
    (
        "dynamodb",
        99.99,
        "DynamoDB in one region (regional table SLA)",
    ),
    ("route53", 100.0, "Route 53 DNS (SLA 100%)"),
    (
        "cloudfront",
        99.999,
        "the CloudFront edge network (a failure is partial: one edge, not all)",
    ),
];

/// Seconds in the 365-day year the downtime figures use.
pub const SECONDS_PER_YEAR: f64 = 365.0 * 24.0 * 3600.0;

/// A problem with the `[availability.components]` overrides.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ComponentError {
    #[error("unknown availability component {name:?} (known: {known})")]
    Unknown { name: String, known: String },
    #[error("availability of {name} must be a percentage above 0 and at most 100, not {value}")]
    OutOfRange { name: String, value: f64 },
}

/// The figures in use: defaults with the definition's overrides applied (as fractions).
#[derive(Debug, Clone, PartialEq)]
pub struct Components(BTreeMap<String, f64>);

impl Components {
    /// Defaults overridden by `overrides` (percent by component name).
    pub fn with_overrides(overrides: &BTreeMap<String, f64>) -> (Components, Vec<ComponentError>) {
        let mut map: BTreeMap<String, f64> = DEFAULTS
            .iter()
            .map(|(n, p, _)| (n.to_string(), p / 100.0))
            .collect();
        let mut errors = Vec::new();
        for (name, &value) in overrides {
            if !map.contains_key(name) {
                errors.push(ComponentError::Unknown {
                    name: name.clone(),
                    known: DEFAULTS.iter().map(|d| d.0).collect::<Vec<_>>().join(", "),
                });
            } else if !(value > 0.0 && value <= 100.0) {
                errors.push(ComponentError::OutOfRange {
                    name: name.clone(),
                    value,
                });
            } else {
                map.insert(name.clone(), value / 100.0);
            }
        }
        (Components(map), errors)
    }

    /// The figure of a component, as a fraction (0..=1).
    pub fn get(&self, name: &str) -> f64 {
        self.0.get(name).copied().unwrap_or(1.0)
    }
}

/// Serial composition: every part is needed.
pub fn series(parts: &[f64]) -> f64 {
    parts.iter().product()
}

/// Parallel composition: any one replica is enough.
pub fn parallel(replicas: &[f64]) -> f64 {
    1.0 - replicas.iter().map(|a| 1.0 - a).product::<f64>()
}

/// Nines of an availability: -log10(1 - a) (99.9% is 3.0); infinite at 100%.
pub fn nines(a: f64) -> f64 {
    -(1.0 - a).log10()
}

/// Expected downtime per year, in seconds.
pub fn yearly_downtime_seconds(a: f64) -> f64 {
    (1.0 - a) * SECONDS_PER_YEAR
}

/// A downtime as "3d 15h 36m", "8h 45m 36s", "52m 34s" or "0s".
pub fn format_downtime(seconds: f64) -> String {
    let total = seconds.round() as u64;
    let (d, h, m, s) = (
        total / 86_400,
        total % 86_400 / 3600,
        total % 3600 / 60,
        total % 60,
    );
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m {s}s"),
        (0, _, _) => format!("{h}h {m}m {s}s"),
        _ => format!("{d}d {h}h {m}m"),
    }
}

/// The estimate for one region.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegionEstimate {
    pub region: String,
    /// Instances per AZ at desired capacity, spread evenly.
    pub instances_per_az: Vec<u32>,
    pub availability: f64,
    pub nines: f64,
    pub yearly_downtime: String,
}

/// The estimate for the whole service.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    pub regions: Vec<RegionEstimate>,
    pub availability: f64,
    pub nines: f64,
    pub yearly_downtime: String,
    /// The definition's `[availability] minimum`, as a fraction.
    pub minimum: Option<f64>,
    /// The component figures used, in percent.
    pub components: BTreeMap<String, f64>,
}

impl Estimate {
    /// Whether the estimate meets the definition's minimum (true without one).
    pub fn meets_minimum(&self) -> bool {
        self.minimum.is_none_or(|m| self.availability >= m)
    }
}

/// `n` instances spread evenly over `azs` zones (the first zones get one more).
pub fn spread(n: u32, azs: usize) -> Vec<u32> {
    let azs = azs.max(1) as u32;
    (0..azs).map(|i| n / azs + u32::from(i < n % azs)).collect()
}

/// Estimate the planned topology's availability.
pub fn estimate(def: &StackDef, c: &Components) -> Estimate {
    let regions: Vec<RegionEstimate> = def
        .regions
        .iter()
        .map(|r| {
            let per_az = spread(def.capacity_of(r).desired, r.azs.len());
            let zones: Vec<f64> = per_az
                .iter()
                .map(|&k| {
                    let instances = vec![c.get("instance"); k as usize];
                    series(&[c.get("az"), c.get("nat"), parallel(&instances)])
                })
                .collect();
            let mut serial = vec![c.get("region"), c.get("alb")];
            if !def.tables.is_empty() {
                serial.push(c.get("dynamodb"));
            }
            serial.push(parallel(&zones));
            let a = series(&serial);
            RegionEstimate {
                region: r.name.clone(),
                instances_per_az: per_az,
                availability: a,
                nines: nines(a),
                yearly_downtime: format_downtime(yearly_downtime_seconds(a)),
            }
        })
        .collect();
    let replicas: Vec<f64> = regions.iter().map(|r| r.availability).collect();
    let mut serial = vec![c.get("route53")];
    if def.edge.cloudfront {
        serial.push(c.get("cloudfront"));
    }
    serial.push(parallel(&replicas));
    let a = series(&serial);
    Estimate {
        regions,
        availability: a,
        nines: nines(a),
        yearly_downtime: format_downtime(yearly_downtime_seconds(a)),
        minimum: def.availability.minimum.map(|m| m / 100.0),
        components: c.0.iter().map(|(k, v)| (k.clone(), v * 100.0)).collect(),
    }
}

/// How a region's private subnets reach the internet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NatLayout {
    /// One NAT gateway in each AZ, each zone routed to its own (what synth builds).
    PerAz,
    /// One NAT gateway in the first AZ, every zone routed through it.
    Single,
}

/// One region of a topology, as far as the estimate is concerned.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegionShape {
    pub region: String,
    pub azs: usize,
    /// Instances at desired capacity.
    pub desired: u32,
    /// Instances at the Auto Scaling group's maximum.
    pub max: u32,
    pub nat: NatLayout,
}

impl RegionShape {
    /// The NAT gateways the region runs.
    pub fn nat_gateways(&self) -> usize {
        match self.nat {
            NatLayout::PerAz => self.azs,
            NatLayout::Single => 1,
        }
    }
}

/// A topology: the planned one (`shape_of`) or an alternative to price against it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Shape {
    pub regions: Vec<RegionShape>,
    pub dynamodb: bool,
    pub cloudfront: bool,
}

/// The topology a definition plans (synth builds one NAT gateway per AZ).
pub fn shape_of(def: &StackDef) -> Shape {
    Shape {
        regions: def
            .regions
            .iter()
            .map(|r| {
                let cap = def.capacity_of(r);
                RegionShape {
                    region: r.name.clone(),
                    azs: r.azs.len(),
                    desired: cap.desired,
                    max: cap.max,
                    nat: NatLayout::PerAz,
                }
            })
            .collect(),
        dynamodb: !def.tables.is_empty(),
        cloudfront: def.edge.cloudfront,
    }
}

/// One region's availability in a topology: with a NAT per AZ each zone path is
/// az * nat * instances; with one NAT every zone also needs the NAT and its AZ:
/// az0 * nat * (1 - (1 - inst0) * prod over the other AZs (1 - az * inst)).
pub fn region_availability(r: &RegionShape, dynamodb: bool, c: &Components) -> f64 {
    let per_az = spread(r.desired, r.azs);
    let instances = |k: u32| parallel(&vec![c.get("instance"); k as usize]);
    let zones = match r.nat {
        NatLayout::PerAz => parallel(
            &per_az
                .iter()
                .map(|&k| series(&[c.get("az"), c.get("nat"), instances(k)]))
                .collect::<Vec<_>>(),
        ),
        NatLayout::Single => {
            let first = instances(per_az[0]);
            let others: f64 = per_az[1..]
                .iter()
                .map(|&k| 1.0 - c.get("az") * instances(k))
                .product();
            c.get("az") * c.get("nat") * (1.0 - (1.0 - first) * others)
        }
    };
    let mut serial = vec![c.get("region"), c.get("alb")];
    if dynamodb {
        serial.push(c.get("dynamodb"));
    }
    serial.push(zones);
    series(&serial)
}

/// The whole service's availability in a topology.
pub fn shape_availability(shape: &Shape, c: &Components) -> f64 {
    let replicas: Vec<f64> = shape
        .regions
        .iter()
        .map(|r| region_availability(r, shape.dynamodb, c))
        .collect();
    let mut serial = vec![c.get("route53")];
    if shape.cloudfront {
        serial.push(c.get("cloudfront"));
    }
    serial.push(parallel(&replicas));
    series(&serial)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> StackDef {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        crate::stack::load(&root.join("stacks/example.toml")).unwrap()
    }

    #[test]
    fn the_planned_shape_gives_the_estimate_of_check() {
        let def = example();
        let (c, _) = Components::with_overrides(&def.availability.components);
        let shape = shape_of(&def);
        assert!(close(
            shape_availability(&shape, &c),
            estimate(&def, &c).availability
        ));
    }

    #[test]
    fn one_nat_per_region_is_less_available_than_one_per_az() {
        let def = example();
        let (c, _) = Components::with_overrides(&BTreeMap::new());
        let mut r = shape_of(&def).regions[0].clone();
        let per_az = region_availability(&r, true, &c);
        r.nat = NatLayout::Single;
        let single = region_availability(&r, true, &c);
        // Hand-computed: instances per AZ [1, 1]; inst = 0.995.
        // per AZ: 0.9995 * 0.9999 * 0.9999 * (1 - (1 - 0.999*0.999*0.995)^2)
        let zone = 0.999 * 0.999 * 0.995;
        let per_az_hand = 0.9995 * 0.9999 * 0.9999 * (1.0 - (1.0 - zone) * (1.0 - zone));
        // single: 0.9995 * 0.9999 * 0.9999 * 0.999 * 0.999 * (1 - (1 - 0.995)(1 - 0.999*0.995))
        let single_hand = 0.9995
            * 0.9999
            * 0.9999
            * 0.999
            * 0.999
            * (1.0 - (1.0 - 0.995) * (1.0 - 0.999 * 0.995));
        assert!(close(per_az, per_az_hand), "{per_az} vs {per_az_hand}");
        assert!(close(single, single_hand), "{single} vs {single_hand}");
        assert!(single < per_az);
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn serial_dependencies_multiply() {
        // Two hard dependencies at 99.9% each: 0.999 * 0.999 = 0.998001 (99.8%).
        assert!(close(series(&[0.999, 0.999]), 0.998001));
        // A chain is as weak as its weakest link, and weaker still: 99.99% * 99% < 99%.
        assert!(close(series(&[0.9999, 0.99]), 0.989901));
    }

    #[test]
    fn redundant_replicas_combine_as_one_minus_product_of_unavailability() {
        // The re:Invent ARC319 seed: two redundant 90% components give ~99%.
        assert!(close(parallel(&[0.9, 0.9]), 0.99));
        // Three 99% replicas: 1 - 0.01^3 = 0.999999.
        assert!(close(parallel(&[0.99, 0.99, 0.99]), 0.999999));
    }

    #[test]
    fn nines_and_yearly_downtime_match_the_seed_table() {
        assert!((nines(0.999) - 3.0).abs() < 1e-9);
        // 99% = 3.65 days, 99.9% = 8.76 hours, 99.99% = 52.6 minutes, 99.999% = 5 minutes.
        assert_eq!(format_downtime(yearly_downtime_seconds(0.99)), "3d 15h 36m");
        assert_eq!(
            format_downtime(yearly_downtime_seconds(0.999)),
            "8h 45m 36s"
        );
        assert_eq!(format_downtime(yearly_downtime_seconds(0.9999)), "52m 34s");
        assert_eq!(format_downtime(yearly_downtime_seconds(0.99999)), "5m 15s");
    }

    #[test]
    fn instances_spread_evenly_with_the_remainder_on_the_first_zones() {
        assert_eq!(spread(6, 2), vec![3, 3]);
        assert_eq!(spread(7, 3), vec![3, 2, 2]);
        assert_eq!(spread(1, 2), vec![1, 0]);
    }

    #[test]
    fn overrides_replace_defaults_and_unknown_names_are_errors() {
        let mut o = BTreeMap::new();
        o.insert("alb".to_string(), 99.0);
        o.insert("albb".to_string(), 99.0);
        o.insert("nat".to_string(), 120.0);
        let (c, errors) = Components::with_overrides(&o);
        assert!(close(c.get("alb"), 0.99));
        assert!(
            close(c.get("nat"), 0.999),
            "the out-of-range override is not applied"
        );
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].to_string().contains("\"albb\""));
        assert!(errors[1].to_string().contains("nat"));
    }
}
