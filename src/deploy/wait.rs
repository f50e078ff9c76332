//! Waiting for CloudFormation with adaptive polling, streaming stack events.
//!
//! The first poll comes after `first_poll` (under a second), then the interval
//! grows by half up to `max_poll`; never the SDK waiters' fixed 30 s. Long waits
//! emit an Info heartbeat at least every `heartbeat`.

use super::cloud::{ChangeSetState, Cloud, StackState};
use super::error::DeployError;
use crate::events::{EventKind, Events, Phase};
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// How the deploy waits and how long it watches.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub first_poll: Duration,
    pub max_poll: Duration,
    pub heartbeat: Duration,
    /// Longest wait for one stack operation.
    pub stack_timeout: Duration,
    /// `rollout.gate_timeout`.
    pub gate_timeout: Duration,
    /// `rollout.bake` (or `--bake`).
    pub bake: Duration,
    /// Longest wait for a stack update that adds or removes a global-table
    /// replica: DynamoDB copies the table's items to the new replica, which for a
    /// large table takes hours
    /// (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/V2globaltables_reqs_bestpractices.html>).
    pub replica_timeout: Duration,
}

impl Timing {
    /// This timing with the stack timeout of a replica change.
    pub fn for_replicas(&self) -> Timing {
        Timing {
            stack_timeout: self.stack_timeout.max(self.replica_timeout),
            ..*self
        }
    }
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            first_poll: Duration::from_millis(300),
            max_poll: Duration::from_secs(5),
            // Checked once per poll (at most `max_poll` apart): 25 s keeps the
            // gap between two lines of a quiet wait under 30 s.
            heartbeat: Duration::from_secs(25),
            stack_timeout: Duration::from_secs(3600),
            gate_timeout: Duration::from_secs(600),
            bake: Duration::from_secs(60),
            replica_timeout: Duration::from_secs(12 * 3600),
        }
    }
}

/// A growing poll interval.
pub struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    pub fn new(t: &Timing) -> Self {
        Backoff {
            next: t.first_poll,
            max: t.max_poll,
        }
    }

    /// The interval to sleep now; the next one is half again as long, up to the max.
    pub fn step(&mut self) -> Duration {
        let now = self.next;
        self.next = (self.next * 3 / 2).min(self.max);
        now
    }
}

/// Emits a heartbeat when nothing else was said for a while.
pub struct Heartbeat {
    last: Instant,
    every: Duration,
    started: Instant,
}

impl Heartbeat {
    pub fn new(t: &Timing) -> Self {
        Heartbeat {
            last: Instant::now(),
            every: t.heartbeat,
            started: Instant::now(),
        }
    }

    pub fn tick(&mut self, events: &Events, region: &str, phase: Phase, what: &str) {
        if self.last.elapsed() >= self.every {
            self.last = Instant::now();
            events.info(
                Some(region),
                phase,
                format!("still {what} ({}s)", self.started.elapsed().as_secs()),
            );
        }
    }
}

/// True for a status CloudFormation is still working on.
pub fn in_progress(status: &str) -> bool {
    status.ends_with("_IN_PROGRESS") && status != "REVIEW_IN_PROGRESS"
}

/// The ids of the stack's current events, to report only newer ones.
pub async fn seen_events<C: Cloud>(
    cloud: &C,
    region: &str,
    stack: &str,
) -> Result<HashSet<String>, DeployError> {
    Ok(cloud
        .events(region, stack)
        .await?
        .into_iter()
        .map(|e| e.event_id)
        .collect())
}

/// Wait until the stack is not in progress, streaming its new events.
/// Returns the final state (None when the stack is gone).
#[allow(clippy::too_many_arguments)]
pub async fn stack<C: Cloud>(
    cloud: &C,
    events: &Events,
    phase: Phase,
    region: &str,
    stack: &str,
    timing: &Timing,
    mut seen: HashSet<String>,
    total: u64,
) -> Result<Option<StackState>, DeployError> {
    let started = Instant::now();
    let mut backoff = Backoff::new(timing);
    let mut beat = Heartbeat::new(timing);
    let mut done: HashSet<String> = HashSet::new();
    loop {
        tokio::time::sleep(backoff.step()).await;
        let state = cloud.stack(region, stack).await?;
        if state.is_some() {
            let mut new: Vec<_> = cloud
                .events(region, stack)
                .await?
                .into_iter()
                .filter(|e| !seen.contains(&e.event_id))
                .collect();
            new.reverse();
            for e in new {
                seen.insert(e.event_id.clone());
                if e.logical_id == stack {
                    continue;
                }
                if e.status.ends_with("_COMPLETE") {
                    done.insert(e.logical_id.clone());
                }
                events.emit(
                    Some(region),
                    phase,
                    EventKind::Resource {
                        logical_id: e.logical_id,
                        resource_type: e.resource_type,
                        status: e.status,
                        reason: e.reason,
                    },
                );
                events.emit(
                    Some(region),
                    phase,
                    EventKind::Progress {
                        done: (done.len() as u64).min(total.max(done.len() as u64)),
                        total: total.max(done.len() as u64),
                    },
                );
            }
        }
        match &state {
            None => return Ok(None),
            Some(s) if !in_progress(&s.status) => return Ok(state),
            Some(s) => {
                if started.elapsed() > timing.stack_timeout {
                    return Err(DeployError::Timeout {
                        region: region.into(),
                        stack: stack.into(),
                        status: s.status.clone(),
                        waited: started.elapsed(),
                    });
                }
                beat.tick(
                    events,
                    region,
                    phase,
                    &format!("waiting for {stack}: {}", s.status),
                );
            }
        }
    }
}

/// Wait until a change set is created (or failed). None when it does not exist.
pub async fn change_set<C: Cloud>(
    cloud: &C,
    events: &Events,
    region: &str,
    stack: &str,
    name: &str,
    timing: &Timing,
) -> Result<Option<ChangeSetState>, DeployError> {
    let started = Instant::now();
    let mut backoff = Backoff::new(timing);
    let mut beat = Heartbeat::new(timing);
    loop {
        let cs = cloud.change_set(region, stack, name).await?;
        match &cs {
            Some(c) if matches!(c.status.as_str(), "CREATE_PENDING" | "CREATE_IN_PROGRESS") => {
                if started.elapsed() > timing.stack_timeout {
                    return Err(DeployError::Timeout {
                        region: region.into(),
                        stack: stack.into(),
                        status: c.status.clone(),
                        waited: started.elapsed(),
                    });
                }
                beat.tick(
                    events,
                    region,
                    Phase::Plan,
                    &format!("creating change set {name}"),
                );
                tokio::time::sleep(backoff.step()).await;
            }
            _ => return Ok(cs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_starts_under_a_second_and_grows_to_the_cap() {
        let t = Timing::default();
        let mut b = Backoff::new(&t);
        let first = b.step();
        assert!(first < Duration::from_secs(1));
        let steps: Vec<_> = (0..20).map(|_| b.step()).collect();
        assert!(steps.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(*steps.last().unwrap(), t.max_poll);
    }

    #[test]
    fn review_in_progress_is_not_waited_for() {
        assert!(in_progress("UPDATE_IN_PROGRESS"));
        assert!(in_progress("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"));
        assert!(!in_progress("REVIEW_IN_PROGRESS"));
        assert!(!in_progress("UPDATE_ROLLBACK_FAILED"));
    }
}
