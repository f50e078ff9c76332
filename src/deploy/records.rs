//! The `strata-previous-<stack>` records (docs/deploy.md "Rollback on demand"):
//! written after a region passed its gate and bake, while the next group of the
//! rollout goes on.
//!
//! A record is one change set made and waited for, about a second on the sandbox
//! and several on AWS; made before the next region starts it put that second
//! between every two regions. Written at the same time as the next group, unless
//! that group changes the same stack: a change set cannot be made on a stack
//! being updated, and executing a change set deletes the stack's other change
//! sets ([ExecuteChangeSet](https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ExecuteChangeSet.html)),
//! the record with them. Every record due is written before anything is put back
//! and before the run ends, however it ends.

use super::cloud::Cloud;
use super::ops;
use super::rollout::TAG_VERSION;
use super::wait::Timing;
use crate::events::{Events, Phase};
use crate::plan::Deployed;
use futures::future::join_all;

/// The records due: for each stack the version it ran before this deploy.
#[derive(Default)]
pub(super) struct Pending {
    due: Vec<Due>,
}

pub(super) struct Due {
    pub region: String,
    pub stack: String,
    pub previous: Deployed,
}

impl Pending {
    pub fn push(&mut self, due: Due) {
        // A stack updated twice in a run (first pass, then wiring) keeps one record.
        self.due
            .retain(|d| !(d.region == due.region && d.stack == due.stack));
        self.due.push(due);
    }

    /// Whether a record is due on one of these stacks (region, stack name).
    pub fn touches<'a>(&self, mut stacks: impl Iterator<Item = (&'a str, &'a str)>) -> bool {
        stacks.any(|(r, s)| self.due.iter().any(|d| d.region == r && d.stack == s))
    }

    /// The records due, taken out to be written.
    pub fn take(&mut self) -> Vec<Due> {
        std::mem::take(&mut self.due)
    }
}

/// Write every record, at the same time; each is retried and never fails the run.
pub(super) async fn write<C: Cloud>(cloud: &C, events: &Events, due: Vec<Due>, timing: &Timing) {
    join_all(
        due.iter()
            .map(|d| keep_previous(cloud, events, &d.region, &d.stack, &d.previous, timing)),
    )
    .await;
}

/// How many times the previous-version record is tried before the run goes on
/// without it, and the first pause between tries (doubled each time).
const RECORD_TRIES: u32 = 4;
const RECORD_PAUSE: std::time::Duration = std::time::Duration::from_secs(1);

/// Write the `strata-previous-<stack>` record after the region passed its gate and
/// bake, retried. The region is healthy: a record that still cannot be written
/// does not put it back (that would undo a verified deploy for bookkeeping) nor
/// stop the rollout; a warning says what the stack ran before (its version and
/// deployment id: the definition to deploy again to go back) and that `strata
/// rollback` cannot bring it back until the next successful update records one.
async fn keep_previous<C: Cloud>(
    cloud: &C,
    events: &Events,
    region: &str,
    stack: &str,
    previous: &Deployed,
    timing: &super::wait::Timing,
) {
    let mut pause = RECORD_PAUSE;
    let mut tries = 0;
    loop {
        tries += 1;
        let err = match ops::keep_previous(cloud, events, region, stack, previous, timing).await {
            Ok(()) => return,
            Err(e) => e,
        };
        if tries >= RECORD_TRIES || err.is_unreachable() {
            let tag = |k: &str| previous.tags.get(k).cloned().unwrap_or_else(|| "?".into());
            events.warn(
                Some(region),
                Phase::Done,
                format!(
                    "{stack} passed its gate and bake and keeps the new version, but the record \
                     of what it ran before ({}) could not be written after {tries} tries ({err}): \
                     it ran version {} of deployment {}; `strata rollback` cannot bring that \
                     back, deploy that definition again to go back",
                    crate::plan::previous_change_set(stack),
                    tag(TAG_VERSION),
                    tag(super::rollout::TAG_DEPLOYMENT_ID),
                ),
            );
            return;
        }
        events.warn(
            Some(region),
            Phase::Done,
            format!("recording the previous version of {stack} failed ({err}); trying again"),
        );
        tokio::time::sleep(pause).await;
        pause *= 2;
    }
}
