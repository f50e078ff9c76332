//! The cost model against figures computed by hand for stacks/example.toml.

use super::*;
use crate::synth::{synthesize, Phase};

fn example() -> StackDef {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    crate::stack::load(&root.join("stacks/example.toml")).unwrap()
}

fn report(def: &StackDef) -> CostReport {
    estimate(def, &synthesize(def, Phase::Wired)).unwrap()
}

fn near(a: f64, b: f64) -> bool {
    (a - b).abs() < 0.005
}

fn line<'a>(r: &'a RegionCost, component: &str) -> &'a Line {
    r.lines.iter().find(|l| l.component == component).unwrap()
}

/// By hand, for one us-east-1-priced region of the example (2 AZs, 2 x t3.micro,
/// max 4, 20 GiB, one on-demand global table, one queue + DLQ, 9 alarms, 3 regions) with the
/// default usage: 236,520,000 requests (300 rps x 30% x 2,628,000 s), 4,730.4 GB
/// out (20 KB each), 23,652,000 writes, 236,520,000 reads, 10 GB table, 100 GB
/// stored, 10 GB written, 10 GB through NAT per region.
///   instances   2 x 0.0104 x 730                         = 15.184   (max 30.368)
///   ebs         2 x 20 x 0.08                            =  3.2     (max 6.4)
///   nat         2 x 0.045 x 730 + 10 x 0.045             = 66.15
///   ipv4        4 x 0.005 x 730                          = 14.6
///   alb         (0.0225 + 2.16 LCU x 0.008) x 730        = 29.0394  (4730.4/3/730 = 2.16 GB/h)
///   dynamodb    23.652M x 0.625 + 78.84M x 0.125 + 10 x 0.45 = 29.1375
///   replication (15.768 + 20/3) GB x 0.02                = 0.448693
///   s3          100 x 0.023                              =  2.3
///   sqs         23.652M x 0.40                           =  9.4608
///   alarms      9 x 0.10                                 =  0.9
///   kms         1 key (the alert topic's) x 1.00         =  1.0
///   = 171.420393, times the region's multiplier, plus 2 health checks x 0.50.
/// Global: CloudFront 4730.4 x 0.085 + 23,652 x 0.01 = 638.604; zone 0.50; DNS 0.60.
#[test]
fn the_example_costs_what_the_hand_computation_says() {
    let r = report(&example());
    let base = 171.420_393_333;
    let use1 = &r.regions[0];
    assert_eq!(use1.region, "us-east-1");
    assert!(near(line(use1, "instances").monthly, 15.184));
    assert!(near(line(use1, "instances").monthly_at_max, 30.368));
    assert!(near(line(use1, "nat-gateways").monthly, 66.15));
    assert!(near(line(use1, "load-balancer").monthly, 29.0394));
    assert!(near(line(use1, "dynamodb").monthly, 29.1375));
    assert!(near(line(use1, "sqs").monthly, 9.4608));
    assert!(near(use1.monthly, base + 1.0), "{}", use1.monthly);
    let euw1 = &r.regions[2];
    assert_eq!((euw1.region.as_str(), euw1.multiplier), ("eu-west-1", 1.07));
    assert!(near(euw1.monthly, base * 1.07 + 1.0), "{}", euw1.monthly);
    let cf = r
        .global
        .iter()
        .find(|l| l.component == "cloudfront")
        .unwrap();
    assert!(near(cf.monthly, 638.604));
    assert!(near(r.monthly, 1_168.964_607_5), "{}", r.monthly);
    // At max: 2 more instances and 2 more volumes per region.
    assert!(
        near(r.monthly_at_max, 1_225.403_487_5),
        "{}",
        r.monthly_at_max
    );
    assert!(r.assumptions.iter().all(|a| !a.stated));
    assert!(r.notes.iter().all(|n| !n.contains("no multiplier")));
}

#[test]
fn one_nat_per_region_saves_a_nat_and_its_address_per_region_and_loses_nines() {
    let r = report(&example());
    let planned = r
        .alternatives
        .iter()
        .find(|a| a.name == "as planned")
        .unwrap();
    let one_nat = r
        .alternatives
        .iter()
        .find(|a| a.name == "one NAT gateway per region")
        .unwrap();
    // Per region: 0.045 x 730 (the NAT) + 0.005 x 730 (its address) = 36.5, times 1 + 1 + 1.07.
    assert!(
        near(one_nat.monthly_delta, -36.5 * 3.07),
        "{}",
        one_nat.monthly_delta
    );
    assert!(one_nat.availability < planned.availability);
    // The same figure the availability model gives for that shape.
    let mut shape = shape_of(&example());
    for r in &mut shape.regions {
        r.nat = NatLayout::Single;
    }
    let (c, _) = Components::with_overrides(&Default::default());
    assert!((one_nat.availability - shape_availability(&shape, &c)).abs() < 1e-15);
    // Rows are sorted from least to most available.
    assert!(r
        .alternatives
        .windows(2)
        .all(|w| w[0].availability <= w[1].availability));
}

#[test]
fn more_regions_and_azs_cost_more_and_add_nines_fewer_cost_less() {
    let r = report(&example());
    let get = |n: &str| r.alternatives.iter().find(|a| a.name == n).unwrap();
    let planned = get("as planned");
    assert!(near(planned.monthly_cost, r.monthly));
    assert!(get("one region fewer").monthly_delta < 0.0);
    assert!(get("one region fewer").availability < planned.availability);
    assert!(get("one more region").monthly_delta > 0.0);
    assert!(get("one more region").availability > planned.availability);
    // Two AZs -> three: 3 instances per region instead of 2, a third NAT and AZ.
    let three = get("three AZs per region");
    assert!(three.monthly_delta > 0.0 && three.availability > planned.availability);
}

#[test]
fn downtime_cost_shows_where_more_availability_stops_paying() {
    let mut def = example();
    def.availability.downtime_cost_per_hour = Some(10_000.0);
    let r = report(&def);
    for a in &r.alternatives {
        let expected = 12.0 * a.monthly_cost + a.downtime_hours_per_year * 10_000.0;
        assert!(near(a.yearly_total.unwrap(), expected));
    }
    assert_eq!(
        r.alternatives.iter().filter(|a| a.cheapest_overall).count(),
        1
    );
    let best = r.alternatives.iter().find(|a| a.cheapest_overall).unwrap();
    let min = r
        .alternatives
        .iter()
        .map(|a| a.yearly_total.unwrap())
        .fold(f64::INFINITY, f64::min);
    assert_eq!(best.yearly_total.unwrap(), min);
    // Without a downtime price nothing is priced or marked.
    let plain = report(&example());
    assert!(plain
        .alternatives
        .iter()
        .all(|a| a.yearly_total.is_none() && !a.cheapest_overall));
}

#[test]
fn stated_usage_replaces_the_default_and_is_marked_stated() {
    let mut def = example();
    def.cost.nat_gb_per_month = Some(1010.0);
    let r = report(&def);
    // 1,000 GB more through NAT in each region: 1000 x 0.045 = 45 per region.
    assert!(
        near(r.monthly, 1_168.964_607_5 + 45.0 * 3.07),
        "{}",
        r.monthly
    );
    let a = r
        .assumptions
        .iter()
        .find(|a| a.field == "nat_gb_per_month")
        .unwrap();
    assert!(a.stated && a.value == 1010.0);
}

#[test]
fn an_instance_type_without_a_price_needs_one_stated() {
    let mut def = example();
    def.compute.instance_type = "x9.mega".into();
    let synth = synthesize(&def, Phase::Wired);
    let e = estimate(&def, &synth).unwrap_err();
    assert!(e.to_string().contains("\"x9.mega\"") && e.to_string().contains("instance_hour_usd"));
    def.cost.instance_hour_usd = Some(0.0208);
    let r = estimate(&def, &synth).unwrap();
    assert!(near(
        line(&r.regions[0], "instances").monthly,
        2.0 * 0.0208 * 730.0
    ));
}

#[test]
fn counts_come_from_the_templates() {
    let def = example();
    let c = counted(&synthesize(&def, Phase::Wired));
    assert_eq!(c.len(), 3);
    assert_eq!(
        c[0].1,
        Counted {
            alarms: 9,
            health_checks: 2,
            queues: 2,
            kms_keys: 1
        }
    );
}
