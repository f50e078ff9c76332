//! Built-in high-availability checks on the typed model (and, where the model
//! cannot tell, on the synthesized templates): AZs and NATs per region, capacity
//! at N+1, ASG max sizes, region count, failover roles.

use super::view::{number, resources_of, subnet_az, target, TemplateJson};
use super::Finding;
use crate::stack::{FailoverRole, StackDef, Tolerate};
use std::collections::BTreeSet;

/// The built-in rules of this module, with why they matter.
pub const RULES: &[(&str, &str)] = &[
    (
        "multi_az",
        "a region in one Availability Zone goes down with that zone",
    ),
    (
        "nat_per_az",
        "with one NAT gateway for several zones, losing its zone cuts every zone's egress",
    ),
    (
        "capacity_n_plus_1",
        "after a failure the survivors receive all the traffic: without spare capacity they \
         overload and the outage spreads",
    ),
    (
        "asg_max_allows_scale_out",
        "the N+1 plan counts on every region scaling out to its max; a lower MaxSize in the \
         template caps the survivors below what the plan needs",
    ),
    (
        "multi_region",
        "a stack that must survive a region failure needs a second region to fail over to",
    ),
    (
        "failover_roles_complete",
        "failover routing needs exactly one primary and a secondary, or Route 53 has nowhere \
         to send traffic when the primary fails",
    ),
];

fn why(rule: &str) -> String {
    RULES
        .iter()
        .find(|(r, _)| *r == rule)
        .map_or("", |(_, w)| w)
        .to_string()
}

fn finding(
    rule: &str,
    region: Option<&str>,
    resource: Option<&str>,
    message: String,
    fix: String,
) -> Finding {
    Finding::mandatory(rule, region, resource, message, why(rule), fix)
}

/// Two or more distinct AZs in every region.
pub fn multi_az(def: &StackDef) -> Vec<Finding> {
    def.regions
        .iter()
        .filter_map(|r| {
            let distinct: BTreeSet<&String> = r.azs.iter().collect();
            (distinct.len() < 2).then(|| {
                finding(
                    "multi_az",
                    Some(&r.name),
                    None,
                    format!(
                        "region {} spans {} Availability Zone(s)",
                        r.name,
                        distinct.len()
                    ),
                    format!("list two or more AZs of {} in its `azs`", r.name),
                )
            })
        })
        .collect()
}

/// A NAT gateway in every AZ of every region's template.
pub fn nat_per_az(def: &StackDef, templates: &[TemplateJson]) -> Vec<Finding> {
    let mut out = Vec::new();
    for t in templates {
        let Some(region) = t.region.as_deref().and_then(|r| def.region(r)) else {
            continue;
        };
        if t.name != region.name {
            continue; // only the region's own template holds its network
        }
        let nat_azs: BTreeSet<String> = resources_of(&t.json, "AWS::EC2::NatGateway")
            .filter_map(|(_, nat)| nat.get("SubnetId").and_then(target))
            .filter_map(|subnet| subnet_az(&t.json, subnet))
            .collect();
        let literal = nat_azs.iter().all(|az| !az.starts_with("GetAZs["));
        let missing: Vec<&String> = if literal {
            region
                .azs
                .iter()
                .filter(|az| !nat_azs.contains(*az))
                .collect()
        } else {
            Vec::new()
        };
        if nat_azs.len() < region.azs.len() || !missing.is_empty() {
            let missing_text = if missing.is_empty() {
                String::new()
            } else {
                format!(
                    "; none in {}",
                    missing
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            out.push(finding(
                "nat_per_az",
                Some(&region.name),
                None,
                format!(
                    "{} NAT gateway zone(s) for {} Availability Zones{missing_text}",
                    nat_azs.len(),
                    region.azs.len()
                ),
                "put one NAT gateway in a public subnet of every AZ and route each AZ's \
                 private subnets to it"
                    .to_string(),
            ));
        }
    }
    out
}

/// Instances left in a region of max `max` over `azs` zones after its largest
/// zone (holding ceil(max / azs) of an even spread) is lost.
pub fn after_az_loss(max: u32, azs: usize) -> u32 {
    if azs == 0 {
        return 0;
    }
    max - max.div_ceil(azs as u32)
}

/// The N+1 computation, with the numbers a user needs to see.
#[derive(Debug, Clone, PartialEq)]
pub struct NPlusOne {
    /// The region assumed lost (tolerate = "region" with two or more regions).
    pub lost_region: Option<String>,
    /// (region, max, instances left after its largest AZ is lost), surviving regions.
    pub survivors: Vec<(String, u32, u32)>,
    pub surviving_instances: u64,
    pub surviving_rps: u64,
    pub peak_rps: u32,
    /// Instances needed to carry the peak: ceil(peak / rps_per_instance).
    pub needed_instances: u64,
    /// The smallest max that, set in every region, passes (None: no max can, e.g.
    /// every surviving region has a single AZ).
    pub needed_max_per_region: Option<u32>,
}

impl NPlusOne {
    pub fn passes(&self) -> bool {
        self.surviving_rps >= u64::from(self.peak_rps)
    }
}

/// With the largest region lost (tolerate = "region", two or more regions) and, in
/// every remaining region, its largest AZ lost: what max capacity survives.
pub fn n_plus_one(def: &StackDef) -> NPlusOne {
    let model = &def.capacity;
    let per_region: Vec<(String, u32, usize)> = def
        .regions
        .iter()
        .map(|r| (r.name.clone(), def.capacity_of(r).max, r.azs.len()))
        .collect();
    let lose_region = model.tolerate == Tolerate::Region && per_region.len() >= 2;
    // The largest region: the one whose loss removes the most surviving capacity.
    let lost = lose_region.then(|| {
        per_region
            .iter()
            .enumerate()
            .max_by_key(|(i, (_, max, azs))| (after_az_loss(*max, *azs), std::cmp::Reverse(*i)))
            .map(|(i, _)| i)
            .unwrap_or(0)
    });
    let survivors: Vec<(String, u32, u32)> = per_region
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != lost)
        .map(|(_, (name, max, azs))| (name.clone(), *max, after_az_loss(*max, *azs)))
        .collect();
    let surviving_instances: u64 = survivors.iter().map(|s| u64::from(s.2)).sum();
    let rps = u64::from(model.rps_per_instance);
    let needed_instances = u64::from(model.peak_rps).div_ceil(rps.max(1));
    // The smallest uniform max: survivors are non-decreasing in max, so search upward.
    let surviving_azs: Vec<usize> = per_region
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != lost)
        .map(|(_, r)| r.2)
        .collect();
    let needed_max_per_region = (0..=needed_instances.saturating_mul(2) as u32 + 2).find(|&m| {
        let left: u64 = surviving_azs
            .iter()
            .map(|&azs| u64::from(after_az_loss(m, azs)))
            .sum();
        left * rps >= u64::from(model.peak_rps)
    });
    NPlusOne {
        lost_region: lost.map(|i| per_region[i].0.clone()),
        survivors,
        surviving_instances,
        surviving_rps: surviving_instances * rps,
        peak_rps: model.peak_rps,
        needed_instances,
        needed_max_per_region,
    }
}

/// Capacity N+1: the surviving max capacity carries the peak.
pub fn capacity_n_plus_1(def: &StackDef) -> Vec<Finding> {
    let n = n_plus_one(def);
    if n.passes() {
        return Vec::new();
    }
    let scenario = match &n.lost_region {
        Some(r) => format!("with {r} lost and the largest AZ lost in each remaining region"),
        None => "with the largest AZ lost in each region".to_string(),
    };
    let detail = n
        .survivors
        .iter()
        .map(|(r, max, left)| format!("{r} {left} of max {max}"))
        .collect::<Vec<_>>()
        .join(", ");
    let message = format!(
        "{scenario}, {} instances remain ({detail}) x {} rps = {} rps < peak {} rps \
         (needs {} instances)",
        n.surviving_instances,
        def.capacity.rps_per_instance,
        n.surviving_rps,
        n.peak_rps,
        n.needed_instances
    );
    let fix = match n.needed_max_per_region {
        Some(m) => format!(
            "needs max >= {m} in each region (compute.capacity.max or the regions' \
             capacity.max), or more AZs / regions, or a higher rps_per_instance"
        ),
        None => "no max size suffices: the surviving regions need two or more AZs".to_string(),
    };
    vec![finding("capacity_n_plus_1", None, None, message, fix)]
}

/// Where a failed N+1 is written in the stack file: the peak it must carry
/// (`capacity.peak_rps`) and every surviving region's max (the region's own
/// `capacity`, else `compute.capacity`), each with the numbers. Empty when N+1
/// passes. `strata validate` locates these (file:line:col), as deploy's refusal does.
pub fn n_plus_one_problems(def: &StackDef) -> Vec<crate::stack::diag::Problem> {
    use crate::stack::diag::Problem;
    use crate::stack::source_map::FieldPath;
    let n = n_plus_one(def);
    if n.passes() {
        return Vec::new();
    }
    let fix = match n.needed_max_per_region {
        Some(m) => format!(
            "max >= {m} in each region, or more AZs / regions, or a higher rps_per_instance"
        ),
        None => "no max size suffices: the surviving regions need two or more AZs".to_string(),
    };
    let scenario = match &n.lost_region {
        Some(r) => format!("with {r} lost and the largest AZ lost in each remaining region"),
        None => "with the largest AZ lost in each region".to_string(),
    };
    let mut out = vec![Problem::value(
        FieldPath::parse("capacity.peak_rps"),
        format!(
            "N+1 fails: {scenario}, {} instances remain x {} rps = {} rps < peak {} rps (needs {} instances)",
            n.surviving_instances,
            def.capacity.rps_per_instance,
            n.surviving_rps,
            n.peak_rps,
            n.needed_instances
        ),
        fix.clone(),
    )];
    let mut compute_named = false;
    for (name, max, left) in &n.survivors {
        let Some(i) = def.regions.iter().position(|r| r.name == *name) else {
            continue;
        };
        let path = if def.regions[i].capacity.is_some() {
            FieldPath::root().key("regions").index(i).key("capacity")
        } else if !compute_named {
            compute_named = true;
            FieldPath::parse("compute.capacity")
        } else {
            continue;
        };
        let whose = if def.regions[i].capacity.is_some() {
            format!("{name}'s")
        } else {
            "every region's".to_string()
        };
        out.push(Problem::value(
            path,
            format!(
                "N+1 counts {left} instance(s) of {whose} max {max} after its largest AZ is lost"
            ),
            fix.clone(),
        ));
    }
    out
}

/// The synthesized ASGs' MaxSize reaches the max the N+1 plan counts on.
pub fn asg_max_allows_scale_out(def: &StackDef, templates: &[TemplateJson]) -> Vec<Finding> {
    let mut out = Vec::new();
    for t in templates {
        let Some(region) = t.region.as_deref().and_then(|r| def.region(r)) else {
            continue;
        };
        let planned = def.capacity_of(region);
        for (id, asg) in resources_of(&t.json, "AWS::AutoScaling::AutoScalingGroup") {
            let max = asg.get("MaxSize").and_then(number);
            let desired = asg.get("DesiredCapacity").and_then(number);
            let problem = match max {
                None => Some(
                    "MaxSize is not a literal number, so the scale-out cannot be checked"
                        .to_string(),
                ),
                Some(m) if m < u64::from(planned.max) => Some(format!(
                    "MaxSize {m} is below the max {} the N+1 plan counts on",
                    planned.max
                )),
                Some(m) if desired.is_some_and(|d| d > m) => Some(format!(
                    "DesiredCapacity {} is above MaxSize {m}",
                    desired.unwrap_or_default()
                )),
                Some(_) => None,
            };
            if let Some(message) = problem {
                out.push(finding(
                    "asg_max_allows_scale_out",
                    Some(&region.name),
                    Some(id),
                    message,
                    format!(
                        "set the Auto Scaling group's MaxSize to {} (the region's capacity.max)",
                        planned.max
                    ),
                ));
            }
        }
    }
    out
}

/// Two or more regions when the stack tolerates a region failure.
pub fn multi_region(def: &StackDef) -> Vec<Finding> {
    if def.capacity.tolerate != Tolerate::Region || def.regions.len() >= 2 {
        return Vec::new();
    }
    vec![finding(
        "multi_region",
        None,
        None,
        format!(
            "capacity.tolerate = \"region\" but the stack has {} region(s)",
            def.regions.len()
        ),
        "add a second [[regions]] entry, or set capacity.tolerate = \"az\"".to_string(),
    )]
}

/// With failover roles: exactly one primary and at least one secondary.
pub fn failover_roles_complete(def: &StackDef) -> Vec<Finding> {
    let with_role: Vec<(&str, FailoverRole)> = def
        .regions
        .iter()
        .filter_map(|r| r.failover.map(|f| (r.name.as_str(), f)))
        .collect();
    if with_role.is_empty() {
        return Vec::new();
    }
    let primaries: Vec<&str> = with_role
        .iter()
        .filter(|(_, f)| *f == FailoverRole::Primary)
        .map(|(r, _)| *r)
        .collect();
    let secondaries = with_role
        .iter()
        .filter(|(_, f)| *f == FailoverRole::Secondary)
        .count();
    let mut problems = Vec::new();
    if primaries.len() != 1 {
        problems.push(format!(
            "{} primary region(s){}",
            primaries.len(),
            if primaries.is_empty() {
                String::new()
            } else {
                format!(" ({})", primaries.join(", "))
            }
        ));
    }
    if secondaries == 0 {
        problems.push("no secondary region".to_string());
    }
    if problems.is_empty() {
        return Vec::new();
    }
    vec![finding(
        "failover_roles_complete",
        None,
        None,
        format!("failover roles are incomplete: {}", problems.join(", ")),
        "give exactly one region failover = \"primary\" and one or more failover = \"secondary\""
            .to_string(),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::Capacity;

    /// The N+1 worked example: 3 regions x 2 AZs, peak 6000 rps, 500 rps per
    /// instance, so 12 instances must survive.
    fn three_regions_two_azs(max: u32, tolerate: Tolerate) -> StackDef {
        let mut def = crate::stack::load_str(
            include_str!("../../stacks/example.toml"),
            "stacks/example.toml",
        )
        .expect("the example loads");
        def.capacity.peak_rps = 6000;
        def.capacity.rps_per_instance = 500;
        def.capacity.tolerate = tolerate;
        def.compute.capacity = Capacity {
            min: 2,
            desired: 2,
            max,
        };
        assert_eq!(def.regions.len(), 3);
        assert!(def
            .regions
            .iter()
            .all(|r| r.azs.len() == 2 && r.capacity.is_none()));
        def
    }

    #[test]
    fn largest_az_holds_ceil_of_max_over_azs() {
        assert_eq!(after_az_loss(12, 2), 6);
        assert_eq!(after_az_loss(11, 2), 5); // 6 + 5: the 6 are lost
        assert_eq!(after_az_loss(9, 3), 6);
        assert_eq!(after_az_loss(8, 3), 5); // 3 + 3 + 2: a 3 is lost
        assert_eq!(after_az_loss(5, 1), 0);
    }

    #[test]
    fn region_loss_max_12_passes_one_region_and_one_az_each_lost_leaves_2x6x500_6000_rps() {
        let n = n_plus_one(&three_regions_two_azs(12, Tolerate::Region));
        assert_eq!(n.lost_region.as_deref(), Some("us-east-1"));
        assert_eq!(n.surviving_instances, 12);
        assert_eq!(n.surviving_rps, 6000);
        assert!(n.passes());
        assert!(capacity_n_plus_1(&three_regions_two_azs(12, Tolerate::Region)).is_empty());
    }

    #[test]
    fn region_loss_max_11_fails_2x5x500_is_5000_rps_and_the_fix_says_max_12() {
        let def = three_regions_two_azs(11, Tolerate::Region);
        let n = n_plus_one(&def);
        assert_eq!(n.surviving_instances, 10);
        assert_eq!(n.surviving_rps, 5000);
        assert_eq!(n.needed_instances, 12);
        assert_eq!(n.needed_max_per_region, Some(12));
        let found = capacity_n_plus_1(&def);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].rule, "capacity_n_plus_1");
        assert!(
            found[0].message.contains("5000 rps < peak 6000 rps"),
            "{}",
            found[0].message
        );
        assert!(
            found[0].message.contains("us-east-1 lost"),
            "{}",
            found[0].message
        );
        assert!(
            found[0].fix.starts_with("needs max >= 12 in each region"),
            "{}",
            found[0].fix
        );
    }

    #[test]
    fn region_loss_max_13_passes_13_minus_ceil_13_over_2_is_6_per_region() {
        let n = n_plus_one(&three_regions_two_azs(13, Tolerate::Region));
        assert_eq!(n.surviving_instances, 12);
        assert!(n.passes());
    }

    #[test]
    fn region_loss_max_6_fails_badly_2x3x500_is_3000_rps() {
        let n = n_plus_one(&three_regions_two_azs(6, Tolerate::Region));
        assert_eq!(n.surviving_rps, 3000);
        assert!(!n.passes());
    }

    #[test]
    fn az_loss_only_max_8_passes_3x4x500_is_6000_rps_and_max_7_fails_3x3x500_is_4500() {
        let pass = n_plus_one(&three_regions_two_azs(8, Tolerate::Az));
        assert_eq!(pass.lost_region, None);
        assert_eq!(pass.surviving_rps, 6000);
        assert!(pass.passes());
        let def = three_regions_two_azs(7, Tolerate::Az);
        let fail = n_plus_one(&def);
        assert_eq!(fail.surviving_rps, 4500);
        assert!(!fail.passes());
        assert!(capacity_n_plus_1(&def)[0]
            .fix
            .starts_with("needs max >= 8 in each region"));
    }

    #[test]
    fn the_largest_region_is_the_one_whose_loss_hurts_most() {
        // us-west-2 runs max 20 (10 after its AZ loss): losing it leaves
        // us-east-1 and eu-west-1 with 6 + 6 = 12 instances = 6000 rps: passes.
        let mut def = three_regions_two_azs(12, Tolerate::Region);
        def.regions[1].capacity = Some(Capacity {
            min: 2,
            desired: 2,
            max: 20,
        });
        let n = n_plus_one(&def);
        assert_eq!(n.lost_region.as_deref(), Some("us-west-2"));
        assert_eq!(n.surviving_instances, 12);
        assert!(n.passes());
        // With us-east-1 at max 10 instead, losing us-west-2 leaves 5 + 6 = 11: fails.
        def.regions[0].capacity = Some(Capacity {
            min: 2,
            desired: 2,
            max: 10,
        });
        assert!(!n_plus_one(&def).passes());
    }

    #[test]
    fn single_az_survivors_cannot_be_fixed_by_max_alone() {
        let mut def = three_regions_two_azs(12, Tolerate::Region);
        for r in &mut def.regions {
            r.azs.truncate(1);
        }
        let found = capacity_n_plus_1(&def);
        assert!(found[0].fix.contains("two or more AZs"), "{}", found[0].fix);
    }

    #[test]
    fn one_region_tolerating_region_failure_is_reported() {
        let mut def = three_regions_two_azs(12, Tolerate::Region);
        def.regions.truncate(1);
        let found = multi_region(&def);
        assert_eq!(found.len(), 1);
        assert!(found[0].message.contains("1 region(s)"));
        def.capacity.tolerate = Tolerate::Az;
        assert!(multi_region(&def).is_empty());
    }

    #[test]
    fn failover_roles_need_one_primary_and_a_secondary() {
        let mut def = three_regions_two_azs(12, Tolerate::Region);
        assert!(failover_roles_complete(&def).is_empty());
        def.regions[2].failover = Some(FailoverRole::Primary);
        assert!(failover_roles_complete(&def)[0]
            .message
            .contains("2 primary region(s) (us-east-1, eu-west-1)"));
        for r in &mut def.regions {
            r.failover = Some(FailoverRole::Secondary);
        }
        assert!(failover_roles_complete(&def)[0]
            .message
            .contains("0 primary"));
        for r in &mut def.regions {
            r.failover = None;
        }
        assert!(
            failover_roles_complete(&def).is_empty(),
            "latency-only stacks need no roles"
        );
    }
}
