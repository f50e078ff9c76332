//! The stack's deploy lock: a majority of per-region lock records, each created
//! with an atomic conditional write (see `LockStore`).
//!
//! Rule (ARCHITECTURE.md, "Deploy lock"): a lock is held when its holder created
//! the lock record in a strict majority of the considered regions. Every region
//! of the stack is considered, except the region a DR command is acting on
//! (which may be the one that is down). Any two majorities intersect, so two
//! holders can never both proceed; one region being down leaves a majority
//! reachable for stacks of three or more regions.

use serde::Serialize;
use std::future::Future;
use time::OffsetDateTime;

/// Who holds (or wants) the lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LockInfo {
    /// Random id of this holding; `strata unlock --id` names it.
    pub id: String,
    /// The responsible person.
    pub holder: String,
    /// The command that took it, e.g. "deploy".
    pub command: String,
    /// Host and pid of the process.
    pub host: String,
    pub pid: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub acquired_at: OffsetDateTime,
}

/// This machine's host name, as lock records carry it.
fn this_host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown-host".into())
}

/// Whether a process with this pid exists on this machine.
fn pid_alive(pid: u32) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    // Signal 0 checks existence only; EPERM means it exists but is not ours.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

impl LockInfo {
    /// True when the holder ran on this host and its process is gone: the lock of
    /// a run killed here (kill -9, a crash). Such a lock is taken over, so that the
    /// same command finishes an interrupted deploy. A holder on another host is
    /// never presumed dead: `strata unlock` breaks its lock on purpose.
    pub fn is_dead_here(&self) -> bool {
        self.pid != 0 && self.host == this_host() && !pid_alive(self.pid)
    }

    pub fn new(holder: &str, command: &str) -> LockInfo {
        let host = this_host();
        LockInfo {
            id: format!("{:016x}", rand::random::<u64>()),
            holder: holder.to_string(),
            command: command.to_string(),
            host,
            pid: std::process::id(),
            acquired_at: OffsetDateTime::now_utc(),
        }
    }

    /// "alice (deploy, host:1234) for 3m12s, lock id 1a2b…".
    pub fn describe(&self, now: OffsetDateTime) -> String {
        let age = (now - self.acquired_at).whole_seconds().max(0);
        format!(
            "{} ({} on {} pid {}) for {}m{:02}s, lock id {}",
            self.holder,
            self.command,
            self.host,
            self.pid,
            age / 60,
            age % 60,
            self.id
        )
    }
}

/// A store failure in one region.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{region}: {message}")]
pub struct LockStoreError {
    pub region: String,
    pub message: String,
    /// True when the region did not answer (as opposed to answering with an error).
    pub unreachable: bool,
}

/// Per-region lock records with an atomic create. Implemented by `aws::lock_stack`.
pub trait LockStore: Sync {
    /// Create the record; `Ok(None)` when created, `Ok(Some(holder))` when it exists.
    fn try_create(
        &self,
        region: &str,
        lock: &LockInfo,
    ) -> impl Future<Output = Result<Option<LockInfo>, LockStoreError>> + Send;
    /// The record in a region, if any.
    fn read(
        &self,
        region: &str,
    ) -> impl Future<Output = Result<Option<LockInfo>, LockStoreError>> + Send;
    /// Delete the record in a region (whoever holds it).
    fn delete(&self, region: &str) -> impl Future<Output = Result<(), LockStoreError>> + Send;
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("the deploy lock is held by {}", .holder.describe(OffsetDateTime::now_utc()))]
    Held {
        holder: LockInfo,
        /// The region where the holder's record was met.
        regions: Vec<String>,
    },
    #[error("could not reach a majority of regions to take the deploy lock ({reached} of {needed} needed): {}", .errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    NoQuorum {
        reached: usize,
        needed: usize,
        errors: Vec<LockStoreError>,
    },
}

/// A held lock. Release it with `release` on every exit path.
#[derive(Debug, Clone)]
pub struct LockGuard {
    pub info: LockInfo,
    /// Regions where this holder created a record.
    pub regions: Vec<String>,
    /// Regions that could not be reached while taking the lock.
    pub unreachable: Vec<String>,
    /// Locks of dead holders on this host that were taken over, by region.
    pub taken_over: Vec<(String, LockInfo)>,
}

/// The regions that vote: all of the stack's, minus the one a DR command acts on.
pub fn voters<'a>(regions: &'a [String], exclude: Option<&str>) -> Vec<&'a str> {
    let v: Vec<&str> = regions
        .iter()
        .map(String::as_str)
        .filter(|r| Some(*r) != exclude)
        .collect();
    if v.is_empty() {
        regions.iter().map(String::as_str).collect()
    } else {
        v
    }
}

/// Take the lock in a majority of `voters`, or take nothing.
///
/// Records are created one region at a time in a fixed (sorted) order, so two
/// contenders always meet at the first reachable region and cannot split the
/// regions between them: the one that loses there is refused at once.
pub async fn acquire<S: LockStore>(
    store: &S,
    voters: &[&str],
    info: LockInfo,
) -> Result<LockGuard, LockError> {
    let needed = voters.len() / 2 + 1;
    let mut order: Vec<&str> = voters.to_vec();
    order.sort_unstable();
    let mut held: Vec<String> = Vec::new();
    let mut errors = Vec::new();
    let mut refused: Option<(LockInfo, String)> = None;
    let mut taken_over = Vec::new();
    for region in order {
        let mut attempt = store.try_create(region, &info).await;
        if let Ok(Some(holder)) = &attempt {
            if holder.is_dead_here() {
                taken_over.push((region.to_string(), holder.clone()));
                attempt = match store.delete(region).await {
                    Ok(()) => store.try_create(region, &info).await,
                    Err(e) => Err(e),
                };
            }
        }
        match attempt {
            Ok(None) => held.push(region.to_string()),
            // Our own record: the create went through but its answer was lost, and
            // the retry met the record it had made. Recognised by the lock id.
            Ok(Some(holder)) if holder.id == info.id => held.push(region.to_string()),
            Ok(Some(holder)) => {
                refused = Some((holder, region.to_string()));
                break;
            }
            Err(e) => errors.push(e),
        }
    }
    if refused.is_none() && held.len() >= needed {
        let unreachable = errors.into_iter().map(|e| e.region).collect();
        return Ok(LockGuard {
            info,
            regions: held,
            unreachable,
            taken_over,
        });
    }
    // No majority: undo what was taken, so that the competing holder can win.
    for region in &held {
        let _ = store.delete(region).await;
    }
    match refused {
        Some((holder, region)) => Err(LockError::Held {
            holder,
            regions: vec![region],
        }),
        None => Err(LockError::NoQuorum {
            reached: held.len(),
            needed,
            errors,
        }),
    }
}

/// How many times each region's release is tried, and the first pause between
/// tries (doubled each time). A region that gave no answer is not tried again:
/// its calls were already retried by the SDK.
const RELEASE_TRIES: u32 = 3;
const RELEASE_PAUSE: std::time::Duration = std::time::Duration::from_secs(1);

/// Release a held lock: delete this holder's records in every region (at the same
/// time), each retried. Returns the regions whose record may remain: the caller
/// says so, with the `strata unlock … --id` that removes them.
pub async fn release<S: LockStore>(store: &S, guard: &LockGuard) -> Vec<LockStoreError> {
    let results = futures::future::join_all(guard.regions.iter().map(|r| async move {
        let mut pause = RELEASE_PAUSE;
        let mut tries = 0;
        loop {
            tries += 1;
            let done = match store.read(r).await {
                Ok(Some(h)) if h.id == guard.info.id => store.delete(r).await,
                Ok(_) => Ok(()),
                Err(e) => Err(e),
            };
            match done {
                Ok(()) => return Ok(()),
                Err(e) if e.unreachable || tries >= RELEASE_TRIES => return Err(e),
                Err(_) => {
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                }
            }
        }
    }))
    .await;
    results.into_iter().filter_map(Result::err).collect()
}

/// Remove the records a dead run on this host left (its release failed, or it was
/// killed), in every region given: a run that takes no lock (a deploy with
/// nothing to change) does not leave them behind either. Records of live or
/// remote holders are kept. Returns what was removed, by region.
pub async fn clear_dead<S: LockStore>(store: &S, regions: &[&str]) -> Vec<(String, LockInfo)> {
    let found = futures::future::join_all(regions.iter().map(|r| async move {
        match store.read(r).await {
            Ok(Some(h)) if h.is_dead_here() && store.delete(r).await.is_ok() => {
                Some((r.to_string(), h))
            }
            _ => None,
        }
    }))
    .await;
    found.into_iter().flatten().collect()
}

/// What `strata unlock` found and removed.
#[derive(Debug, Default, Serialize)]
pub struct Unlocked {
    pub removed: Vec<(String, LockInfo)>,
    pub kept: Vec<(String, LockInfo)>,
    pub errors: Vec<String>,
}

/// Break the lock on purpose: delete records in every region, only those with
/// `id` when given.
pub async fn unlock<S: LockStore>(store: &S, regions: &[&str], id: Option<&str>) -> Unlocked {
    let mut out = Unlocked::default();
    for region in regions {
        match store.read(region).await {
            Ok(None) => {}
            Ok(Some(h)) if id.is_none_or(|id| id == h.id) => match store.delete(region).await {
                Ok(()) => out.removed.push((region.to_string(), h)),
                Err(e) => out.errors.push(e.to_string()),
            },
            Ok(Some(h)) => out.kept.push((region.to_string(), h)),
            Err(e) => out.errors.push(e.to_string()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};
    use std::sync::Mutex;

    /// An in-memory store; `down` regions fail as unreachable.
    #[derive(Default)]
    struct Fake {
        records: Mutex<BTreeMap<String, LockInfo>>,
        down: BTreeSet<String>,
    }

    impl Fake {
        fn check(&self, region: &str) -> Result<(), LockStoreError> {
            if self.down.contains(region) {
                return Err(LockStoreError {
                    region: region.into(),
                    message: "unreachable".into(),
                    unreachable: true,
                });
            }
            Ok(())
        }
    }

    impl LockStore for Fake {
        async fn try_create(
            &self,
            region: &str,
            lock: &LockInfo,
        ) -> Result<Option<LockInfo>, LockStoreError> {
            self.check(region)?;
            let mut m = self.records.lock().unwrap();
            if let Some(h) = m.get(region) {
                return Ok(Some(h.clone()));
            }
            m.insert(region.into(), lock.clone());
            Ok(None)
        }
        async fn read(&self, region: &str) -> Result<Option<LockInfo>, LockStoreError> {
            self.check(region)?;
            Ok(self.records.lock().unwrap().get(region).cloned())
        }
        async fn delete(&self, region: &str) -> Result<(), LockStoreError> {
            self.check(region)?;
            self.records.lock().unwrap().remove(region);
            Ok(())
        }
    }

    const R: [&str; 3] = ["us-east-1", "us-west-2", "eu-west-1"];

    /// A store whose creates in `lost` go through but answer "exists" (a lost
    /// answer, retried), as the SDK's retry of a CreateStack does.
    struct LostAnswers {
        inner: Fake,
        lost: BTreeSet<String>,
    }

    impl LockStore for LostAnswers {
        async fn try_create(
            &self,
            region: &str,
            lock: &LockInfo,
        ) -> Result<Option<LockInfo>, LockStoreError> {
            let first = self.inner.try_create(region, lock).await?;
            if first.is_none() && self.lost.contains(region) {
                return self.inner.try_create(region, lock).await;
            }
            Ok(first)
        }
        async fn read(&self, region: &str) -> Result<Option<LockInfo>, LockStoreError> {
            self.inner.read(region).await
        }
        async fn delete(&self, region: &str) -> Result<(), LockStoreError> {
            self.inner.delete(region).await
        }
    }

    #[test]
    fn a_record_whose_answer_was_lost_is_recognised_as_ours_by_its_lock_id() {
        rt().block_on(async {
            let store = LostAnswers {
                inner: Fake::default(),
                lost: ["eu-west-1".to_string()].into(),
            };
            let g = acquire(&store, &R, LockInfo::new("alice", "deploy"))
                .await
                .expect("our own record is not someone else's lock");
            assert_eq!(g.regions.len(), 3);
            assert!(release(&store, &g).await.is_empty());
            assert!(store.inner.records.lock().unwrap().is_empty());
        });
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
    }

    #[test]
    fn second_holder_is_refused_and_told_who_holds_it() {
        rt().block_on(async {
            let store = Fake::default();
            let a = acquire(&store, &R, LockInfo::new("alice", "deploy"))
                .await
                .unwrap();
            let err = acquire(&store, &R, LockInfo::new("bob", "deploy"))
                .await
                .unwrap_err();
            match err {
                LockError::Held { holder, regions } => {
                    assert_eq!(holder.holder, "alice");
                    assert_eq!(
                        regions,
                        vec!["eu-west-1"],
                        "met at the first region in order"
                    );
                }
                other => panic!("unexpected {other:?}"),
            }
            // Bob's refusal took nothing away from Alice.
            assert_eq!(store.records.lock().unwrap().len(), 3);
            assert!(release(&store, &a).await.is_empty());
            assert!(store.records.lock().unwrap().is_empty());
            acquire(&store, &R, LockInfo::new("bob", "deploy"))
                .await
                .unwrap();
        });
    }

    #[test]
    fn one_region_down_still_gives_a_majority() {
        rt().block_on(async {
            let store = Fake {
                down: ["us-east-1".to_string()].into(),
                ..Default::default()
            };
            let g = acquire(&store, &R, LockInfo::new("oncall", "dr failover"))
                .await
                .unwrap();
            assert_eq!(g.regions, vec!["eu-west-1", "us-west-2"]);
            assert_eq!(g.unreachable, vec!["us-east-1"]);
        });
    }

    #[test]
    fn a_split_gives_nobody_the_lock_and_leaves_nothing_behind() {
        rt().block_on(async {
            let store = Fake {
                down: ["eu-west-1".to_string()].into(),
                ..Default::default()
            };
            // Someone else holds us-west-2 only (a crashed partial attempt).
            store
                .records
                .lock()
                .unwrap()
                .insert("us-west-2".into(), LockInfo::new("ghost", "deploy"));
            let err = acquire(&store, &R, LockInfo::new("alice", "deploy"))
                .await
                .unwrap_err();
            assert!(matches!(err, LockError::Held { ref holder, .. } if holder.holder == "ghost"));
            let m = store.records.lock().unwrap();
            assert_eq!(m.len(), 1, "alice's us-east-1 record was undone");
        });
    }

    #[test]
    fn dr_commands_exclude_the_failed_region_from_the_vote() {
        let regions: Vec<String> = R.iter().map(|s| s.to_string()).collect();
        assert_eq!(
            voters(&regions, Some("us-east-1")),
            vec!["us-west-2", "eu-west-1"]
        );
        assert_eq!(voters(&regions, None).len(), 3);
    }

    #[test]
    fn a_dead_holder_on_this_host_is_taken_over_a_live_or_remote_one_is_not() {
        rt().block_on(async {
            let store = Fake::default();
            let mut child = std::process::Command::new("true").spawn().unwrap();
            let dead_pid = child.id();
            child.wait().unwrap();
            let mut dead = LockInfo::new("killed", "deploy");
            dead.pid = dead_pid;
            let mut remote = dead.clone();
            remote.host = "another-runner".into();
            store.records.lock().unwrap().insert(R[1].into(), remote);
            let err = acquire(&store, &R, LockInfo::new("alice", "deploy"))
                .await
                .unwrap_err();
            assert!(
                matches!(err, LockError::Held { ref holder, .. } if holder.host == "another-runner")
            );
            store.records.lock().unwrap().insert(R[1].into(), dead);
            let g = acquire(&store, &R, LockInfo::new("alice", "deploy"))
                .await
                .unwrap();
            assert_eq!(g.regions.len(), 3);
            assert_eq!(g.taken_over.len(), 1);
            assert_eq!(g.taken_over[0].1.holder, "killed");
            // A live holder on this host (this very process) is not taken over.
            let err = acquire(&store, &R, LockInfo::new("bob", "deploy"))
                .await
                .unwrap_err();
            assert!(matches!(err, LockError::Held { .. }));
        });
    }

    /// A store whose first `fail` deletes are refused (with an answer).
    struct FlakyDelete {
        inner: Fake,
        fail: Mutex<u32>,
    }

    impl LockStore for FlakyDelete {
        async fn try_create(
            &self,
            region: &str,
            lock: &LockInfo,
        ) -> Result<Option<LockInfo>, LockStoreError> {
            self.inner.try_create(region, lock).await
        }
        async fn read(&self, region: &str) -> Result<Option<LockInfo>, LockStoreError> {
            self.inner.read(region).await
        }
        async fn delete(&self, region: &str) -> Result<(), LockStoreError> {
            let refused = {
                let mut left = self.fail.lock().unwrap();
                let refused = *left > 0;
                *left = left.saturating_sub(1);
                refused
            };
            if refused {
                return Err(LockStoreError {
                    region: region.into(),
                    message: "refused".into(),
                    unreachable: false,
                });
            }
            self.inner.delete(region).await
        }
    }

    #[test]
    fn a_refused_release_is_tried_again_and_what_remains_is_returned() {
        rt().block_on(async {
            let store = FlakyDelete {
                inner: Fake::default(),
                fail: Mutex::new(1),
            };
            let g = acquire(&store, &R, LockInfo::new("alice", "deploy"))
                .await
                .unwrap();
            assert!(release(&store, &g).await.is_empty(), "retried");
            assert!(store.inner.records.lock().unwrap().is_empty());
            let g = acquire(&store, &R, LockInfo::new("alice", "deploy"))
                .await
                .unwrap();
            *store.fail.lock().unwrap() = 100;
            let left = release(&store, &g).await;
            assert_eq!(left.len(), 3, "every region's record remains");
        });
    }

    #[test]
    fn unlock_by_id_keeps_other_holders() {
        rt().block_on(async {
            let store = Fake::default();
            let a = LockInfo::new("alice", "deploy");
            let b = LockInfo::new("bob", "deploy");
            store.records.lock().unwrap().insert(R[0].into(), a.clone());
            store.records.lock().unwrap().insert(R[1].into(), b.clone());
            let out = unlock(&store, &R, Some(&a.id)).await;
            assert_eq!(out.removed.len(), 1);
            assert_eq!(out.kept.len(), 1);
            let out = unlock(&store, &R, None).await;
            assert_eq!(out.removed.len(), 1);
            assert!(store.records.lock().unwrap().is_empty());
        });
    }
}
