//! Unwind at every step (Oxide omicron's `action_failure_can_unwind`): for a cold
//! deploy, an update, adding a region and removing one, fail each mutating call
//! of the rollout in turn (an API error: the call did nothing) and check that the
//! run ends with every stack put back or resumable (each at the version it ran
//! before or the one being deployed, none left failed or in progress) and that
//! running the same deploy again converges to what an undisturbed deploy leaves.

use super::tests::{desired, settings, with_records, without_last_region};
use super::*;
use crate::events::Events;
use crate::fake::Fake;
use crate::plan::{Desired, PREVIOUS_PREFIX};
use crate::stack::OnFailure;
use std::collections::{BTreeMap, BTreeSet};

struct Scenario {
    name: &'static str,
    /// Deployed first, without faults.
    before: Vec<Desired>,
    target: Desired,
}

fn scenarios() -> Vec<Scenario> {
    let three = with_records(desired(2, true));
    let mut two = three.clone();
    two.waves.pop();
    vec![
        Scenario {
            name: "cold deploy",
            before: vec![],
            target: three.clone(),
        },
        Scenario {
            name: "update",
            before: vec![three.clone()],
            target: with_records(desired(3, true)),
        },
        Scenario {
            name: "adding a region",
            before: vec![two],
            target: three,
        },
        Scenario {
            name: "removing a region",
            before: vec![with_records(desired(2, false))],
            target: without_last_region(3),
        },
    ]
}

/// Every stack: (status, template, parameters).
type Snapshot = BTreeMap<(String, String), (String, String, BTreeMap<String, String>)>;

fn snapshot(fake: &Fake) -> Snapshot {
    fake.with(|s| {
        s.stacks
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    (v.status.clone(), v.template.clone(), v.params.clone()),
                )
            })
            .collect()
    })
}

/// The change sets a finished deploy leaves: only the kept previous versions.
fn leftover_change_sets(fake: &Fake) -> BTreeSet<String> {
    fake.change_set_names()
        .into_iter()
        .filter(|(_, _, n)| !n.starts_with(PREVIOUS_PREFIX))
        .map(|(r, s, n)| format!("{r} {s} {n}"))
        .collect()
}

async fn deploy_once(fake: &Fake, d: &Desired, id: &str) -> Result<Report, DeployError> {
    let mut s = settings(OnFailure::RollbackRegion);
    s.deployment_id = id.into();
    deploy(fake, &Events::discard(), d, &s, |_| true).await
}

async fn prepared(s: &Scenario) -> Fake {
    let fake = Fake::default();
    for (i, d) in s.before.iter().enumerate() {
        let r = deploy_once(&fake, d, &format!("b{i}"))
            .await
            .expect("setup");
        assert_eq!(r.outcome, Outcome::Deployed, "{}: setup", s.name);
    }
    fake
}

/// Each stack is at the version it ran before, or at one the target deploys
/// (its build or wired template), or, for a region leaving, out of DNS or gone;
/// and nothing is left failed or in progress.
fn put_back_or_resumable(s: &Scenario, before: &Snapshot, after: &Snapshot, what: &str) {
    let target: BTreeMap<(String, String), Vec<&str>> = s
        .target
        .stacks()
        .map(|d| {
            let mut bodies = vec![d.template_body.as_str()];
            bodies.extend(d.build_template_body.as_deref());
            ((d.region.clone(), d.stack_name.clone()), bodies)
        })
        .collect();
    for (key, (status, template, _)) in after {
        let settled = status.ends_with("_COMPLETE")
            && !status.contains("FAILED")
            && status != "ROLLBACK_COMPLETE";
        // A creation whose change set never ran: nothing exists yet.
        let not_begun = status == "REVIEW_IN_PROGRESS";
        assert!(settled || not_begun, "{what}: {key:?} left {status}");
        if not_begun {
            continue;
        }
        let was = before.get(key).map(|(_, t, _)| t.as_str());
        let allowed = Some(template.as_str()) == was
            || target
                .get(key)
                .is_some_and(|bodies| bodies.contains(&template.as_str()))
            || s.target
                .absent
                .iter()
                .any(|a| (a.region.clone(), a.stack_name.clone()) == *key)
                && !template.contains("AWS::Route53::RecordSet");
        assert!(
            allowed,
            "{what}: {key:?} runs a template it never had nor was given"
        );
    }
}

#[tokio::test]
async fn every_mutating_step_of_four_rollouts_fails_in_turn_and_unwinds() {
    let mut failed_steps = 0;
    // How each failed run ended: an error, or a report's outcome.
    let mut endings: BTreeMap<String, usize> = BTreeMap::new();
    for s in scenarios() {
        // The undisturbed run: how many mutating calls, and what it leaves.
        let clean = prepared(&s).await;
        let start = clean.mutating().len();
        let report = deploy_once(&clean, &s.target, "t")
            .await
            .expect("clean run");
        assert_eq!(report.outcome, Outcome::Deployed, "{}", s.name);
        let steps = clean.mutating().len() - start;
        assert!(steps > 0, "{}: nothing to fail", s.name);
        let converged = snapshot(&clean);
        let clean_leftovers = leftover_change_sets(&clean);

        for k in 1..=steps {
            let fake = prepared(&s).await;
            let before = snapshot(&fake);
            let at = fake.mutating().len() + k;
            fake.with(|st| st.fail_mutating_call = Some(at));
            let result = deploy_once(&fake, &s.target, "t").await;
            fake.with(|st| st.fail_mutating_call = None);
            let failed = fake.mutating().get(at - 1).cloned().unwrap_or_default();
            let what = format!("{}: mutating call {k}/{steps} ({failed}) failed", s.name);
            if let Ok(r) = &result {
                assert_ne!(
                    r.outcome,
                    Outcome::NoChange,
                    "{what}: the failure went unseen"
                );
            }
            let ending = match &result {
                Ok(r) => format!("{:?}", r.outcome),
                Err(_) => "error".to_string(),
            };
            *endings.entry(ending).or_default() += 1;
            put_back_or_resumable(&s, &before, &snapshot(&fake), &what);
            failed_steps += 1;

            // The same command again finishes the job.
            let again = deploy_once(&fake, &s.target, "t2")
                .await
                .unwrap_or_else(|e| panic!("{what}: the re-run failed: {e}"));
            assert!(
                matches!(again.outcome, Outcome::Deployed | Outcome::NoChange),
                "{what}: the re-run ended {:?}: {:?}",
                again.outcome,
                again.error
            );
            let strip = |s: &Snapshot| -> BTreeMap<_, _> {
                s.iter()
                    .map(|(k, (st, t, p))| {
                        (k.clone(), (st.ends_with("_COMPLETE"), t.clone(), p.clone()))
                    })
                    .collect()
            };
            assert_eq!(
                strip(&snapshot(&fake)),
                strip(&converged),
                "{what}: the re-run did not converge"
            );
            let leftovers = leftover_change_sets(&fake);
            assert_eq!(
                leftovers.len(),
                clean_leftovers.len(),
                "{what}: change sets left behind: {leftovers:?}"
            );
            let mutating = fake.mutating().len();
            let third = deploy_once(&fake, &s.target, "t3")
                .await
                .expect("third run");
            assert_eq!(third.outcome, Outcome::NoChange, "{what}: not converged");
            assert_eq!(fake.mutating().len(), mutating, "{what}: not converged");
        }
    }
    eprintln!(
        "unwind: failed {failed_steps} mutating steps in turn across 4 rollouts, each unwound and converged; the failed runs ended {endings:?}"
    );
    assert!(failed_steps >= 4 * 3);
    // Most failures stop the rollout; a failure the run may shrug off (deleting a
    // change set it no longer needs) still converges.
    assert!(endings.get("Deployed").copied().unwrap_or(0) < failed_steps);
}
