//! The instance fault over an in-memory fleet.

use super::*;
use std::sync::Mutex;

pub(super) fn instance(id: &str, az: &str) -> GroupInstance {
    GroupInstance {
        id: id.into(),
        availability_zone: az.into(),
        lifecycle: "InService".into(),
        health: "Healthy".into(),
    }
}

/// A group of two that replaces a terminated instance after `replace_after`
/// reads (never when `None`), and a gate whose group signal is red meanwhile.
struct FakeFleet {
    group: Mutex<Group>,
    terminated: Mutex<Vec<String>>,
    reads: Mutex<u32>,
    replace_after: Option<u32>,
}

impl FakeFleet {
    fn new(replace_after: Option<u32>) -> Self {
        FakeFleet {
            group: Mutex::new(Group {
                desired: 2,
                subnets: vec!["subnet-a".into(), "subnet-b".into()],
                instances: vec![instance("i-b", "us-east-1b"), instance("i-a", "us-east-1a")],
            }),
            terminated: Mutex::new(Vec::new()),
            reads: Mutex::new(0),
            replace_after,
        }
    }
}

impl Fleet for FakeFleet {
    async fn group(&self, _: &str, _: &str) -> Result<Option<Group>, CallError> {
        let mut reads = self.reads.lock().unwrap();
        let mut g = self.group.lock().unwrap();
        if !self.terminated.lock().unwrap().is_empty() {
            *reads += 1;
            if self.replace_after.is_some_and(|n| *reads > n) {
                let dead = self.terminated.lock().unwrap().clone();
                g.instances.retain(|i| !dead.contains(&i.id));
                if g.instances.len() < 2 {
                    g.instances.push(instance("i-new", "us-east-1a"));
                }
            } else {
                for i in g.instances.iter_mut() {
                    if self.terminated.lock().unwrap().contains(&i.id) {
                        i.health = "Unhealthy".into();
                    }
                }
            }
        }
        Ok(Some(g.clone()))
    }

    async fn terminate(&self, _: &str, ids: &[String]) -> Result<(), CallError> {
        self.terminated.lock().unwrap().extend(ids.iter().cloned());
        Ok(())
    }

    async fn instance_state(&self, _: &str, id: &str) -> Result<Option<String>, CallError> {
        Ok(Some(
            if self.terminated.lock().unwrap().iter().any(|t| t == id) {
                "terminated"
            } else {
                "running"
            }
            .into(),
        ))
    }

    async fn gate(&self, _: &str) -> Result<Vec<Reading>, DrError> {
        let g = self.group.lock().unwrap();
        let dead = self.terminated.lock().unwrap();
        let full = g.instances.iter().filter(|i| !dead.contains(&i.id)).count() >= 2;
        Ok(vec![
            Reading {
                signal: "asg web".into(),
                ok: full,
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

const FAST: Wait = Wait {
    timeout: Duration::from_millis(200),
    poll: Duration::ZERO,
};

#[test]
fn the_victim_is_the_first_in_service_healthy_instance() {
    let mut g = Group {
        desired: 3,
        subnets: Vec::new(),
        instances: vec![
            instance("i-c", "b"),
            instance("i-a", "a"),
            instance("i-b", "a"),
        ],
    };
    g.instances[1].health = "Unhealthy".into();
    assert_eq!(victim(&g).map(|i| i.id.as_str()), Some("i-b"));
    g.instances
        .iter_mut()
        .for_each(|i| i.lifecycle = "Pending".into());
    assert_eq!(victim(&g), None);
}

#[test]
fn recovery_needs_the_broken_instance_gone_and_desired_in_service() {
    let before: BTreeSet<String> = ["i-a".to_string(), "i-b".to_string()].into();
    let with_dead = Group {
        desired: 2,
        subnets: Vec::new(),
        instances: vec![instance("i-a", "a"), instance("i-b", "b")],
    };
    assert_eq!(recovery(&with_dead, "i-a", &before), None);
    let short = Group {
        desired: 2,
        subnets: Vec::new(),
        instances: vec![instance("i-b", "b")],
    };
    assert_eq!(recovery(&short, "i-a", &before), None);
    let mut pending = instance("i-c", "a");
    pending.lifecycle = "Pending".into();
    let booting = Group {
        desired: 2,
        subnets: Vec::new(),
        instances: vec![instance("i-b", "b"), pending],
    };
    assert_eq!(recovery(&booting, "i-a", &before), None);
    let back = Group {
        desired: 2,
        subnets: Vec::new(),
        instances: vec![instance("i-b", "b"), instance("i-c", "a")],
    };
    assert_eq!(
        recovery(&back, "i-a", &before),
        Some(vec!["i-c".to_string()])
    );
}

#[tokio::test]
async fn a_replaced_instance_is_a_recovery_with_its_time_and_the_red_signals() {
    let fleet = FakeFleet::new(Some(2));
    let r = instance_fault(&fleet, "us-east-1", "web", FAST, &Events::discard())
        .await
        .expect("runs");
    assert!(r.recovered, "{r:?}");
    assert_eq!(r.broken.instance_id, "i-a");
    assert_eq!(r.broken.availability_zone, "us-east-1a");
    assert_eq!(r.broken_state.as_deref(), Some("terminated"));
    assert_eq!(r.replacements, vec!["i-new".to_string()]);
    assert!(r.seconds_to_recover.is_some());
    assert_eq!(r.gate_red_during, vec!["asg web".to_string()]);
    assert_eq!(*fleet.terminated.lock().unwrap(), vec!["i-a".to_string()]);
}

#[tokio::test]
async fn a_group_that_never_replaces_is_not_recovered_after_the_timeout() {
    let fleet = FakeFleet::new(None);
    let r = instance_fault(&fleet, "us-east-1", "web", FAST, &Events::discard())
        .await
        .expect("runs");
    assert!(!r.recovered);
    assert_eq!(r.seconds_to_recover, None);
    assert!(r.replacements.is_empty());
    assert!(r.detail.contains("i-a still in the group"), "{}", r.detail);
}

#[tokio::test]
async fn a_group_without_an_in_service_instance_is_refused_before_any_termination() {
    let fleet = FakeFleet::new(Some(0));
    fleet.group.lock().unwrap().instances.clear();
    let e = instance_fault(&fleet, "us-east-1", "web", FAST, &Events::discard())
        .await
        .expect_err("nothing to break");
    assert!(e.to_string().contains("no InService instance"), "{e}");
    assert!(fleet.terminated.lock().unwrap().is_empty());
}
