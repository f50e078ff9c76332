//! The AZ fault over an in-memory region: a group over two zones, a NAT route per
//! zone, a gate whose group signal counts InService instances.

use super::*;
use crate::deploy::Reading;
use crate::dr::fault::tests::instance;
use std::sync::Mutex;
use std::time::Duration;

/// One region: the group (subnet-a in us-east-1a, subnet-b in us-east-1b), each
/// subnet's route table's default route, and every mutating call in order.
struct FakeZones {
    group: Mutex<Group>,
    routes: Mutex<BTreeMap<String, Option<String>>>,
    calls: Mutex<Vec<String>>,
    /// Reads of the group after the break before it replaces what it lost
    /// (never when None), in the subnets it has then.
    replace_after: Option<u32>,
    reads: Mutex<u32>,
    /// This call fails (its name, as logged).
    fail: Option<&'static str>,
    /// The gate cannot be read once the zone is broken.
    gate_fails: bool,
    launched: Mutex<u32>,
}

const ZONES: [(&str, &str); 2] = [("subnet-a", "us-east-1a"), ("subnet-b", "us-east-1b")];

impl FakeZones {
    fn new(replace_after: Option<u32>) -> Self {
        FakeZones {
            group: Mutex::new(Group {
                desired: 2,
                subnets: vec!["subnet-a".into(), "subnet-b".into()],
                instances: vec![instance("i-a", "us-east-1a"), instance("i-b", "us-east-1b")],
            }),
            routes: Mutex::new(
                [
                    ("rtb-a".to_string(), Some("nat-a".to_string())),
                    ("rtb-b".to_string(), Some("nat-b".to_string())),
                ]
                .into(),
            ),
            calls: Mutex::new(Vec::new()),
            replace_after,
            reads: Mutex::new(0),
            fail: None,
            gate_fails: false,
            launched: Mutex::new(0),
        }
    }

    fn call(&self, name: &'static str, what: String) -> Result<(), CallError> {
        self.calls.lock().unwrap().push(format!("{name} {what}"));
        if self.fail == Some(name) {
            return Err(CallError {
                service: "ec2",
                operation: name,
                region: "us-east-1".into(),
                code: "InternalError".into(),
                message: "injected".into(),
            });
        }
        Ok(())
    }

    fn broken(&self) -> bool {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .any(|c| c.starts_with("terminate"))
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

fn zone_of(subnet: &str) -> &'static str {
    ZONES
        .iter()
        .find(|(s, _)| *s == subnet)
        .map(|(_, z)| *z)
        .unwrap_or("?")
}

impl Fleet for FakeZones {
    async fn group(&self, _: &str, _: &str) -> Result<Option<Group>, CallError> {
        let mut g = self.group.lock().unwrap();
        if self.broken() {
            let mut reads = self.reads.lock().unwrap();
            *reads += 1;
            if self.replace_after.is_some_and(|n| *reads > n) {
                g.instances.retain(|i| i.health != "Unhealthy");
                while (g.instances.len() as u32) < g.desired {
                    let mut n = self.launched.lock().unwrap();
                    *n += 1;
                    let subnet = g.subnets[*n as usize % g.subnets.len()].clone();
                    g.instances
                        .push(instance(&format!("i-new{n}"), zone_of(&subnet)));
                }
            }
        }
        Ok(Some(g.clone()))
    }

    async fn terminate(&self, _: &str, ids: &[String]) -> Result<(), CallError> {
        self.call("terminate", ids.join(","))?;
        for i in self.group.lock().unwrap().instances.iter_mut() {
            if ids.contains(&i.id) {
                i.health = "Unhealthy".into();
                i.lifecycle = "Terminating".into();
            }
        }
        Ok(())
    }

    async fn instance_state(&self, _: &str, _: &str) -> Result<Option<String>, CallError> {
        Ok(None)
    }

    async fn gate(&self, region: &str) -> Result<Vec<Reading>, DrError> {
        if self.gate_fails && self.broken() {
            return Err(DrError::Step {
                step: "reading the health gate",
                region: region.into(),
                message: "unreachable".into(),
            });
        }
        let g = self.group.lock().unwrap();
        Ok(vec![
            Reading {
                signal: "asg web".into(),
                ok: g.in_service().count() as u32 >= g.desired,
                detail: String::new(),
                known: true,
            },
            Reading {
                signal: "targets web".into(),
                ok: true,
                detail: "1 healthy".into(),
                known: true,
            },
        ])
    }
}

impl Zones for FakeZones {
    async fn subnet_zones(
        &self,
        _: &str,
        subnets: &[String],
    ) -> Result<BTreeMap<String, String>, CallError> {
        Ok(subnets
            .iter()
            .map(|s| (s.clone(), zone_of(s).to_string()))
            .collect())
    }

    async fn set_subnets(&self, _: &str, _: &str, subnets: &[String]) -> Result<(), CallError> {
        self.call("set_subnets", subnets.join(","))?;
        self.group.lock().unwrap().subnets = subnets.to_vec();
        Ok(())
    }

    async fn zone_route(&self, _: &str, subnet: &str) -> Result<Option<ZoneRoute>, CallError> {
        let table = format!("rtb-{}", subnet.trim_start_matches("subnet-"));
        Ok(self
            .routes
            .lock()
            .unwrap()
            .get(&table)
            .map(|nat| ZoneRoute {
                route_table_id: table.clone(),
                nat_gateway_id: nat.clone(),
            }))
    }

    async fn delete_default_route(&self, _: &str, table: &str) -> Result<(), CallError> {
        self.call("delete_route", table.into())?;
        self.routes.lock().unwrap().insert(table.into(), None);
        Ok(())
    }

    async fn put_default_route(&self, _: &str, table: &str, nat: &str) -> Result<(), CallError> {
        self.call("put_route", format!("{table} {nat}"))?;
        self.routes
            .lock()
            .unwrap()
            .insert(table.into(), Some(nat.into()));
        Ok(())
    }
}

const FAST: Wait = Wait {
    timeout: Duration::from_millis(200),
    poll: Duration::ZERO,
};

fn zones() -> BTreeMap<String, String> {
    ZONES
        .iter()
        .map(|(s, z)| (s.to_string(), z.to_string()))
        .collect()
}

fn group(instances: Vec<GroupInstance>) -> Group {
    Group {
        desired: 2,
        subnets: vec!["subnet-a".into(), "subnet-b".into()],
        instances,
    }
}

#[test]
fn the_zone_lost_is_the_one_holding_the_most_in_service_instances() {
    let g = group(vec![
        instance("i-1", "us-east-1a"),
        instance("i-2", "us-east-1b"),
        instance("i-3", "us-east-1b"),
    ]);
    assert_eq!(
        zone_to_lose(&g, &zones(), None).as_deref(),
        Ok("us-east-1b")
    );
    // A tie: the first zone by name.
    let tie = group(vec![
        instance("i-1", "us-east-1b"),
        instance("i-2", "us-east-1a"),
    ]);
    assert_eq!(
        zone_to_lose(&tie, &zones(), None).as_deref(),
        Ok("us-east-1a")
    );
    // Unhealthy instances do not count.
    let mut sick = g.clone();
    sick.instances[1].health = "Unhealthy".into();
    sick.instances[2].health = "Unhealthy".into();
    assert_eq!(
        zone_to_lose(&sick, &zones(), None).as_deref(),
        Ok("us-east-1a")
    );
}

#[test]
fn a_named_zone_must_be_the_groups_and_one_zone_must_survive() {
    let g = group(vec![instance("i-1", "us-east-1a")]);
    assert_eq!(
        zone_to_lose(&g, &zones(), Some("us-east-1b")).as_deref(),
        Ok("us-east-1b")
    );
    let e = zone_to_lose(&g, &zones(), Some("us-east-1c")).expect_err("not the group's");
    assert!(
        e.contains("us-east-1c is not one of the group's zones (us-east-1a, us-east-1b)"),
        "{e}"
    );
    let mut single = g.clone();
    single.subnets = vec!["subnet-a".into()];
    let e = zone_to_lose(&single, &zones(), None).expect_err("nothing survives");
    assert!(e.contains("1 zone(s) (us-east-1a)"), "{e}");
}

#[test]
fn the_loss_takes_the_zones_subnets_and_its_live_instances() {
    let mut leaving = instance("i-0", "us-east-1a");
    leaving.lifecycle = "Terminating".into();
    let g = group(vec![
        instance("i-2", "us-east-1a"),
        instance("i-1", "us-east-1a"),
        instance("i-3", "us-east-1b"),
        leaving,
    ]);
    assert_eq!(
        loss(&g, &zones(), "us-east-1a"),
        Loss {
            zone: "us-east-1a".into(),
            lost_subnets: vec!["subnet-a".into()],
            kept_subnets: vec!["subnet-b".into()],
            victims: vec!["i-1".into(), "i-2".into()],
        }
    );
}

#[test]
fn recovery_needs_the_zone_empty_and_desired_in_service_elsewhere() {
    let before: BTreeSet<String> = ["i-a".to_string(), "i-b".to_string()].into();
    let mut dying = instance("i-a", "us-east-1a");
    dying.lifecycle = "Terminating".into();
    let e = az_recovery(
        &group(vec![
            dying,
            instance("i-b", "us-east-1b"),
            instance("i-c", "us-east-1b"),
        ]),
        "us-east-1a",
        &before,
    )
    .expect_err("i-a still there");
    assert_eq!(e, "2 of 2 InService, still in us-east-1a: i-a");
    let e = az_recovery(
        &group(vec![instance("i-b", "us-east-1b")]),
        "us-east-1a",
        &before,
    )
    .expect_err("short");
    assert_eq!(e, "1 of 2 InService");
    let back = az_recovery(
        &group(vec![
            instance("i-b", "us-east-1b"),
            instance("i-c", "us-east-1b"),
        ]),
        "us-east-1a",
        &before,
    )
    .expect("recovered");
    assert_eq!(back, vec![instance("i-c", "us-east-1b")]);
}

#[test]
fn put_back_is_done_when_every_subnet_and_route_is_back() {
    let lost = vec![LostRoute {
        subnet_id: "subnet-a".into(),
        route_table_id: "rtb-a".into(),
        destination: DEFAULT_ROUTE,
        nat_gateway_id: "nat-a".into(),
    }];
    let had = vec!["subnet-a".to_string(), "subnet-b".to_string()];
    let mut g = group(Vec::new());
    g.subnets.reverse(); // the order does not matter
    let routes: BTreeMap<String, Option<String>> =
        [("rtb-a".to_string(), Some("nat-a".to_string()))].into();
    assert!(put_back_done(&had, &g, &lost, &routes).is_empty());
    g.subnets = vec!["subnet-b".into()];
    let no_route: BTreeMap<String, Option<String>> = [("rtb-a".to_string(), None)].into();
    assert_eq!(
        put_back_done(&had, &g, &lost, &no_route),
        vec![
            "the group launches in [subnet-b], not [subnet-a, subnet-b]".to_string(),
            "rtb-a 0.0.0.0/0 goes through nothing, not nat-a".to_string(),
        ]
    );
}

#[tokio::test]
async fn a_lost_zone_is_carried_by_the_other_and_put_back() {
    let fake = FakeZones::new(Some(2));
    let r = az_fault(&fake, "us-east-1", "web", None, FAST, &Events::discard())
        .await
        .expect("runs");
    assert!(r.recovered, "{r:?}");
    assert_eq!(r.broken.zone, "us-east-1a");
    assert_eq!(r.broken.subnets, vec!["subnet-a".to_string()]);
    assert_eq!(r.broken.instances, vec!["i-a".to_string()]);
    assert_eq!(r.broken.routes.len(), 1);
    assert_eq!(r.broken.routes[0].route_table_id, "rtb-a");
    assert_eq!(r.broken.routes[0].nat_gateway_id, "nat-a");
    assert_eq!(r.surviving_zones, vec!["us-east-1b".to_string()]);
    // The replacement launched in the zone the group kept.
    assert_eq!(
        r.replacements,
        vec![Replacement {
            instance_id: "i-new1".into(),
            availability_zone: "us-east-1b".into(),
        }]
    );
    assert!(r.seconds_to_recover.is_some());
    assert_eq!(r.gate_red_during, vec!["asg web".to_string()]);
    assert!(r.put_back.done, "{:?}", r.put_back);
    // Subnets out before anything dies, the instances last; put back in reverse.
    assert_eq!(
        fake.calls(),
        vec![
            "set_subnets subnet-b",
            "delete_route rtb-a",
            "terminate i-a",
            "put_route rtb-a nat-a",
            "set_subnets subnet-a,subnet-b",
        ]
    );
    assert_eq!(
        fake.routes.lock().unwrap()["rtb-a"].as_deref(),
        Some("nat-a")
    );
}

#[tokio::test]
async fn a_zone_that_is_not_carried_is_put_back_all_the_same() {
    let fake = FakeZones::new(None);
    let r = az_fault(
        &fake,
        "us-east-1",
        "web",
        Some("us-east-1b"),
        FAST,
        &Events::discard(),
    )
    .await
    .expect("runs");
    assert!(!r.recovered);
    assert_eq!(r.seconds_to_recover, None);
    assert_eq!(r.broken.zone, "us-east-1b");
    assert!(
        r.detail.contains("still in us-east-1b: i-b"),
        "{}",
        r.detail
    );
    assert!(r.put_back.done, "{:?}", r.put_back);
    assert_eq!(
        fake.calls().last().map(String::as_str),
        Some("set_subnets subnet-a,subnet-b")
    );
}

#[tokio::test]
async fn a_failed_break_puts_back_what_it_changed() {
    let mut fake = FakeZones::new(Some(0));
    fake.fail = Some("terminate");
    let e = az_fault(&fake, "us-east-1", "web", None, FAST, &Events::discard())
        .await
        .expect_err("the termination failed");
    let e = e.to_string();
    assert!(e.contains("terminating the zone's instances"), "{e}");
    assert!(e.contains("put back: done"), "{e}");
    assert_eq!(
        fake.calls(),
        vec![
            "set_subnets subnet-b",
            "delete_route rtb-a",
            "terminate i-a",
            "put_route rtb-a nat-a",
            "set_subnets subnet-a,subnet-b",
        ]
    );
}

#[tokio::test]
async fn a_failed_first_call_changes_nothing_and_puts_back_nothing() {
    let mut fake = FakeZones::new(Some(0));
    fake.fail = Some("set_subnets");
    az_fault(&fake, "us-east-1", "web", None, FAST, &Events::discard())
        .await
        .expect_err("the update failed");
    assert_eq!(fake.calls(), vec!["set_subnets subnet-b"]);
}

#[tokio::test]
async fn a_gate_that_cannot_be_read_still_gets_the_zone_put_back() {
    let mut fake = FakeZones::new(Some(0));
    fake.gate_fails = true;
    let e = az_fault(&fake, "us-east-1", "web", None, FAST, &Events::discard())
        .await
        .expect_err("no gate");
    assert!(e.to_string().contains("unreachable"), "{e}");
    assert_eq!(
        fake.calls().last().map(String::as_str),
        Some("set_subnets subnet-a,subnet-b")
    );
}

#[tokio::test]
async fn a_failed_put_back_fails_the_region() {
    let mut fake = FakeZones::new(Some(0));
    fake.fail = Some("put_route");
    let r = az_fault(&fake, "us-east-1", "web", None, FAST, &Events::discard())
        .await
        .expect("runs");
    assert!(r.recovered);
    assert!(!r.put_back.done);
    assert!(
        r.put_back
            .problems
            .iter()
            .any(|p| p.contains("rtb-a 0.0.0.0/0 goes through nothing, not nat-a")),
        "{:?}",
        r.put_back
    );
}
