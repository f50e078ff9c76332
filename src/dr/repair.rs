//! `repair`: after a recovery, move the messages of the stack's dead-letter
//! queues back to their queues, then report the write buffer's depth until it
//! drains (or a timeout).
//!
//! The move is AWS's own dead-letter queue redrive: one message move task per
//! dead-letter queue (`StartMessageMoveTask`, followed with `ListMessageMoveTasks`,
//! <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_StartMessageMoveTask.html>),
//! with the queue the stack pairs it with as the destination. SQS moves the
//! messages server-side (each a new message in the queue, its retention restarted).
//!
//! - **Bounded.** A move task takes no count: it moves the backlog it finds. So a
//!   dead-letter queue holding more than `max_messages` is not moved at all (it is
//!   named, with the command that moves it), and a task whose backlog turns out
//!   larger than the bound as it starts is cancelled (`CancelMessageMoveTask`).
//! - **Idempotent.** An empty dead-letter queue starts no task; a second run moves
//!   nothing. A task an earlier run started that still runs is waited for, never
//!   started twice (SQS allows one active task per queue).
//! - **Counted.** Per queue: what the task moved, what is left in the dead-letter
//!   queue afterwards.
//!
//! Everything goes through the `Queues` port (`aws::sqs_queues` against AWS, a
//! fake in the tests below). See docs/dr.md, "Repair after recovery".

use super::DrError;
use crate::call_error::CallError;
use crate::events::{EventKind, Events, Phase};
use crate::stack::StackDef;
use crate::synth::naming;
use futures::future::join_all;
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `--max-messages` by default: the most one run moves out of one dead-letter queue.
pub const DEFAULT_MAX_MESSAGES: u64 = 10_000;

/// `--drain-timeout` by default.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(600);

/// A queue's message counts (GetQueueAttributes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Depth {
    /// `ApproximateNumberOfMessages`: waiting to be received.
    pub visible: u64,
    /// `ApproximateNumberOfMessagesNotVisible`: received, not yet deleted.
    pub in_flight: u64,
}

impl Depth {
    pub fn total(self) -> u64 {
        self.visible + self.in_flight
    }
}

/// One queue as the port finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueInfo {
    pub url: String,
    pub arn: String,
    /// The `deadLetterTargetArn` of its redrive policy, if it has one.
    pub dead_letter_target: Option<String>,
    pub depth: Depth,
}

/// A message move task's status (ListMessageMoveTasks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskStatus {
    Running,
    Completed,
    Cancelling,
    Cancelled,
    Failed,
}

impl TaskStatus {
    /// The API's spelling; None for a status this version does not know.
    pub fn parse(s: &str) -> Option<TaskStatus> {
        Some(match s {
            "RUNNING" => TaskStatus::Running,
            "COMPLETED" => TaskStatus::Completed,
            "CANCELLING" => TaskStatus::Cancelling,
            "CANCELLED" => TaskStatus::Cancelled,
            "FAILED" => TaskStatus::Failed,
            _ => return None,
        })
    }

    /// The API's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Running => "RUNNING",
            TaskStatus::Completed => "COMPLETED",
            TaskStatus::Cancelling => "CANCELLING",
            TaskStatus::Cancelled => "CANCELLED",
            TaskStatus::Failed => "FAILED",
        }
    }

    /// Still moving (or stopping): SQS refuses another task on the queue.
    pub fn active(self) -> bool {
        matches!(self, TaskStatus::Running | TaskStatus::Cancelling)
    }
}

/// The most recent message move task of a dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveTask {
    /// Only while RUNNING (ListMessageMoveTasks leaves it out otherwise).
    pub handle: Option<String>,
    pub status: TaskStatus,
    /// The destination the task was started with (None: the messages' source queues).
    pub destination: Option<String>,
    pub moved: u64,
    /// The backlog the task set out to move, once SQS has started it.
    pub to_move: Option<u64>,
    pub failure: Option<String>,
}

/// The SQS calls `repair` makes. Implemented by `aws::sqs_queues::SqsQueues`.
#[allow(async_fn_in_trait)]
pub trait Queues: Sync {
    /// GetQueueUrl and GetQueueAttributes of the queue named `name`; None when
    /// there is no such queue.
    async fn queue(&self, region: &str, name: &str) -> Result<Option<QueueInfo>, CallError>;
    /// GetQueueAttributes: the queue's counts.
    async fn depth(&self, region: &str, url: &str) -> Result<Depth, CallError>;
    /// ListMessageMoveTasks (the most recent one) of the queue `source_arn`.
    async fn latest_move_task(
        &self,
        region: &str,
        source_arn: &str,
    ) -> Result<Option<MoveTask>, CallError>;
    /// StartMessageMoveTask from `source_arn` to `destination_arn`; the task handle.
    async fn start_move(
        &self,
        region: &str,
        source_arn: &str,
        destination_arn: &str,
    ) -> Result<String, CallError>;
    /// CancelMessageMoveTask; the number of messages it had moved.
    async fn cancel_move(&self, region: &str, handle: &str) -> Result<u64, CallError>;
}

/// How the waits poll: the first read after `first`, then twice as long each time
/// up to `max` (at most 30 s apart, so a CI runner sees a line at least that often).
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    pub first: Duration,
    pub max: Duration,
    /// How long a move task is waited for before the run goes on without it (SQS
    /// keeps moving; the next run waits for the same task).
    pub move_wait: Duration,
}

impl Default for Pace {
    fn default() -> Pace {
        Pace {
            first: Duration::from_secs(1),
            max: Duration::from_secs(10),
            move_wait: Duration::from_secs(900),
        }
    }
}

/// What to repair.
#[derive(Debug, Clone)]
pub struct RepairInput {
    /// The stack file as the operator named it, for the commands messages suggest.
    pub file: String,
    /// The regions whose queues are repaired (the stack's, or the one named).
    pub regions: Vec<String>,
    /// At most this many messages are moved out of one dead-letter queue.
    pub max_messages: u64,
    /// How long to wait for the write buffer to drain (zero: read it once).
    pub drain_timeout: Duration,
    pub pace: Pace,
    /// Set by the first Ctrl-C: the waits stop at their next poll.
    pub stop: Arc<AtomicBool>,
}

/// What happened to one dead-letter queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Nothing waiting in it: no task started.
    Empty,
    /// Its move task completed.
    Moved,
    /// More messages waiting than `--max-messages`: nothing moved.
    OverLimit,
    /// Its task was cancelled (a backlog over the bound as it started, or by someone
    /// else); what it had moved stays moved.
    Cancelled,
    /// Its task still runs after `Pace::move_wait`: SQS goes on moving, and the
    /// next run waits for the same task.
    StillMoving,
}

/// One dead-letter queue, counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeadLetterRepair {
    pub region: String,
    /// The queue the messages go back to.
    pub queue: String,
    pub dead_letter_queue: String,
    pub outcome: Outcome,
    /// Messages its move task moved back to the queue.
    pub moved: u64,
    /// Messages in the dead-letter queue afterwards (waiting and in flight).
    pub left: u64,
    /// The task was started by an earlier run, which this one waited for.
    pub resumed: bool,
}

/// One queue of the write buffer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueDepth {
    pub region: String,
    pub queue: String,
    #[serde(flatten)]
    pub depth: Depth,
}

/// The write buffer (the stack's queues) at the end of the wait.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BufferReport {
    /// Every queue was empty (nothing waiting, nothing in flight).
    pub drained: bool,
    pub waited_seconds: f64,
    pub timeout_seconds: u64,
    /// The last reading of every queue.
    pub queues: Vec<QueueDepth>,
    /// The queues still holding messages, as `region queue`.
    pub holding: Vec<String>,
}

/// What `repair` did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RepairReport {
    pub stack: String,
    pub regions: Vec<String>,
    pub max_messages: u64,
    pub dead_letters: Vec<DeadLetterRepair>,
    /// Messages moved back, every queue together.
    pub moved: u64,
    /// Messages left in dead-letter queues, every queue together.
    pub left: u64,
    pub buffer: BufferReport,
}

/// A queue pair of one region, as found.
struct Pair {
    region: String,
    queue: String,
    dead_letter_queue: String,
    source: QueueInfo,
    dead_letter: QueueInfo,
}

/// Move every dead-letter queue's messages back to its queue (each region at once),
/// then watch the write buffer drain. See the module doc.
pub async fn repair<Q: Queues>(
    queues: &Q,
    def: &StackDef,
    input: &RepairInput,
    events: &Events,
) -> Result<RepairReport, DrError> {
    let stack = def.stack_name();
    for region in &input.regions {
        if def.region(region).is_none() {
            return Err(DrError::UnknownRegion {
                stack,
                region: region.clone(),
            });
        }
    }
    if def.queues.is_empty() {
        events.info(
            None,
            Phase::Repair,
            "the definition has no [[queues]]: nothing to repair",
        );
    }
    let per_region = join_all(
        input
            .regions
            .iter()
            .map(|r| repair_region(queues, def, r, input, events)),
    )
    .await
    .into_iter()
    .collect::<Result<Vec<_>, _>>()?;
    let mut pairs = Vec::new();
    let mut dead_letters = Vec::new();
    for (p, d) in per_region {
        pairs.extend(p);
        dead_letters.extend(d);
    }
    let buffer = drain(queues, &pairs, input, events).await?;
    came_back(queues, &pairs, &dead_letters, events).await;
    Ok(RepairReport {
        stack,
        regions: input.regions.clone(),
        max_messages: input.max_messages,
        moved: dead_letters.iter().map(|d| d.moved).sum(),
        left: dead_letters.iter().map(|d| d.left).sum(),
        dead_letters,
        buffer,
    })
}

/// One region: find each queue and its dead-letter queue, move the messages back.
async fn repair_region<Q: Queues>(
    queues: &Q,
    def: &StackDef,
    region: &str,
    input: &RepairInput,
    events: &Events,
) -> Result<(Vec<Pair>, Vec<DeadLetterRepair>), DrError> {
    if def.queues.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    events.emit(
        Some(region),
        Phase::Repair,
        EventKind::PhaseStarted {
            detail: format!(
                "moving dead-letter messages back to their queues (at most {} per queue)",
                input.max_messages
            ),
        },
    );
    let mut pairs = Vec::new();
    let mut done = Vec::new();
    for q in &def.queues {
        let pair = find_pair(queues, def, region, &q.name).await?;
        done.push(move_back(queues, &pair, input, events).await?);
        pairs.push(pair);
    }
    let moved: u64 = done.iter().map(|d| d.moved).sum();
    let left: u64 = done.iter().map(|d| d.left).sum();
    events.emit(
        Some(region),
        Phase::Repair,
        EventKind::PhaseDone {
            detail: format!("{moved} moved back, {left} left in dead-letter queues"),
        },
    );
    Ok((pairs, done))
}

async fn find_pair<Q: Queues>(
    queues: &Q,
    def: &StackDef,
    region: &str,
    name: &str,
) -> Result<Pair, DrError> {
    let queue = naming::queue_name(def, name);
    let dead_letter_queue = naming::dead_letter_queue_name(def, name);
    let find = |name: String| async move {
        queues
            .queue(region, &name)
            .await
            .map_err(DrError::aws("reading the queue", region))?
            .ok_or_else(|| DrError::NoQueue {
                region: region.to_string(),
                queue: name,
            })
    };
    let source = find(queue.clone()).await?;
    let dead_letter = find(dead_letter_queue.clone()).await?;
    if source.dead_letter_target.as_deref() != Some(dead_letter.arn.as_str()) {
        return Err(DrError::Step {
            step: "checking the redrive policy",
            region: region.to_string(),
            message: format!(
                "{queue}'s redrive policy names {} instead of its dead-letter queue {}: \
                 deploy the stack first (strata deploy)",
                source.dead_letter_target.as_deref().unwrap_or("no queue"),
                dead_letter.arn
            ),
        });
    }
    Ok(Pair {
        region: region.to_string(),
        queue,
        dead_letter_queue,
        source,
        dead_letter,
    })
}

/// The next wait: twice the last, at most `pace.max`.
fn next(delay: Duration, pace: &Pace) -> Duration {
    (delay * 2).min(pace.max)
}

fn stopped(input: &RepairInput) -> bool {
    input.stop.load(Ordering::SeqCst)
}

/// One dead-letter queue: wait for a running task, or start one when the backlog
/// is within the bound, and follow it to its end.
async fn move_back<Q: Queues>(
    queues: &Q,
    pair: &Pair,
    input: &RepairInput,
    events: &Events,
) -> Result<DeadLetterRepair, DrError> {
    let region = pair.region.as_str();
    let dlq = pair.dead_letter_queue.as_str();
    let report = |outcome, moved, left, resumed| DeadLetterRepair {
        region: region.to_string(),
        queue: pair.queue.clone(),
        dead_letter_queue: dlq.to_string(),
        outcome,
        moved,
        left,
        resumed,
    };
    let latest = queues
        .latest_move_task(region, &pair.dead_letter.arn)
        .await
        .map_err(DrError::aws(
            "reading the dead-letter queue's move tasks",
            region,
        ))?;
    let resumed = latest.as_ref().is_some_and(|t| t.status.active());
    if resumed {
        events.info(
            Some(region),
            Phase::Repair,
            format!("{dlq}: a move task an earlier run started is still running: waiting for it"),
        );
    } else {
        let waiting = pair.dead_letter.depth;
        if waiting.visible == 0 {
            let in_flight = if waiting.in_flight > 0 {
                format!(
                    " ({} in flight: received by someone, not moved)",
                    waiting.in_flight
                )
            } else {
                String::new()
            };
            events.info(
                Some(region),
                Phase::Repair,
                format!("{dlq}: nothing to move{in_flight}"),
            );
            return Ok(report(Outcome::Empty, 0, waiting.total(), false));
        }
        if waiting.visible > input.max_messages {
            events.warn(
                Some(region),
                Phase::Repair,
                format!(
                    "{dlq} holds {} messages, more than --max-messages {}: nothing moved; \
                     `strata dr repair {} --region {region} --max-messages {}` moves them all",
                    waiting.visible, input.max_messages, input.file, waiting.visible
                ),
            );
            return Ok(report(Outcome::OverLimit, 0, waiting.total(), false));
        }
        events.info(
            Some(region),
            Phase::Repair,
            format!(
                "{dlq}: moving {} messages back to {} (SQS message move task)",
                waiting.visible, pair.queue
            ),
        );
        if let Err(e) = queues
            .start_move(region, &pair.dead_letter.arn, &pair.source.arn)
            .await
        {
            // A start whose answer was lost (and was retried), or a task started
            // in between: a running task to this queue is the one to wait for.
            let ours = queues
                .latest_move_task(region, &pair.dead_letter.arn)
                .await
                .ok()
                .flatten()
                .is_some_and(|t| {
                    t.status.active() && t.destination.as_deref() == Some(&pair.source.arn)
                });
            if !ours {
                return Err(DrError::aws("starting the message move task", region)(e));
            }
        }
    }
    let task = follow(queues, pair, input, events).await?;
    let after = queues
        .depth(region, &pair.dead_letter.url)
        .await
        .map_err(DrError::aws("reading the dead-letter queue", region))?;
    let outcome = match task.status {
        TaskStatus::Completed => Outcome::Moved,
        TaskStatus::Cancelled => Outcome::Cancelled,
        _ => Outcome::StillMoving,
    };
    let what = match outcome {
        Outcome::Moved => "moved back",
        Outcome::Cancelled => "moved back before the task was cancelled",
        _ => "moved back so far; SQS goes on moving (the next run waits for the task)",
    };
    events.info(
        Some(region),
        Phase::Repair,
        format!(
            "{dlq}: {} {what} to {}, {} left",
            task.moved,
            pair.queue,
            after.total()
        ),
    );
    Ok(report(outcome, task.moved, after.total(), resumed))
}

/// Poll the dead-letter queue's move task until it ends or `pace.move_wait` has
/// passed; cancel it when its backlog exceeds the bound.
async fn follow<Q: Queues>(
    queues: &Q,
    pair: &Pair,
    input: &RepairInput,
    events: &Events,
) -> Result<MoveTask, DrError> {
    let region = pair.region.as_str();
    let dlq = pair.dead_letter_queue.as_str();
    let started = Instant::now();
    let mut delay = input.pace.first;
    let mut last_moved = None;
    let mut cancelled = false;
    loop {
        let task = queues
            .latest_move_task(region, &pair.dead_letter.arn)
            .await
            .map_err(DrError::aws("reading the message move task", region))?
            .ok_or_else(|| DrError::Step {
                step: "reading the message move task",
                region: region.to_string(),
                message: format!("{dlq} lists no message move task after one was started"),
            })?;
        // SQS counts the backlog once it has selected the task to start.
        let of = task
            .to_move
            .map(|n| format!(" of {n}"))
            .unwrap_or_else(|| " (backlog not counted yet)".into());
        let progress = format!("{}{of} moved, task {}", task.moved, task.status.as_str());
        if last_moved != Some(task.moved) {
            events.info(Some(region), Phase::Repair, format!("{dlq}: {progress}"));
            last_moved = Some(task.moved);
        } else {
            events.info(
                Some(region),
                Phase::Repair,
                format!(
                    "still moving {dlq}: {progress} ({:.0}s)",
                    started.elapsed().as_secs_f64()
                ),
            );
        }
        match task.status {
            TaskStatus::Completed | TaskStatus::Cancelled => return Ok(task),
            TaskStatus::Failed => {
                return Err(DrError::Step {
                    step: "moving dead-letter messages back",
                    region: region.to_string(),
                    message: format!(
                        "the message move task from {dlq} to {} failed after moving {}: {}",
                        pair.queue,
                        task.moved,
                        task.failure.as_deref().unwrap_or("no reason given")
                    ),
                })
            }
            TaskStatus::Running => {
                if let (Some(n), Some(handle), false) = (task.to_move, &task.handle, cancelled) {
                    if n > input.max_messages {
                        let moved = queues
                            .cancel_move(region, handle)
                            .await
                            .map_err(DrError::aws("cancelling the message move task", region))?;
                        cancelled = true;
                        events.warn(
                            Some(region),
                            Phase::Repair,
                            format!(
                                "{dlq}: {n} messages to move, more than --max-messages {} \
                                 (they arrived as the task started): cancelled after {moved}",
                                input.max_messages
                            ),
                        );
                    }
                }
            }
            TaskStatus::Cancelling => {}
        }
        if started.elapsed() >= input.pace.move_wait {
            events.warn(
                Some(region),
                Phase::Repair,
                format!(
                    "{dlq}: the message move task still runs after {}s; SQS goes on moving, \
                     and the next `strata dr repair` waits for it",
                    input.pace.move_wait.as_secs()
                ),
            );
            return Ok(task);
        }
        if stopped(input) {
            return Err(DrError::Interrupted);
        }
        tokio::time::sleep(delay).await;
        delay = next(delay, &input.pace);
    }
}

/// Read the write buffer (every queue) until it is empty or the timeout passes.
async fn drain<Q: Queues>(
    queues: &Q,
    pairs: &[Pair],
    input: &RepairInput,
    events: &Events,
) -> Result<BufferReport, DrError> {
    let timeout = input.drain_timeout;
    events.emit(
        None,
        Phase::Repair,
        EventKind::PhaseStarted {
            detail: if timeout.is_zero() {
                "the write buffer's depth".into()
            } else {
                format!(
                    "waiting for the write buffer to drain (at most {}s)",
                    timeout.as_secs()
                )
            },
        },
    );
    let started = Instant::now();
    let mut delay = input.pace.first;
    loop {
        let read = join_all(pairs.iter().map(|p| async move {
            queues
                .depth(&p.region, &p.source.url)
                .await
                .map_err(DrError::aws("reading the queue's depth", &p.region))
                .map(|depth| QueueDepth {
                    region: p.region.clone(),
                    queue: p.queue.clone(),
                    depth,
                })
        }))
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
        let holding: Vec<&QueueDepth> = read.iter().filter(|q| q.depth.total() > 0).collect();
        let waited = started.elapsed();
        if holding.is_empty() {
            events.emit(
                None,
                Phase::Repair,
                EventKind::PhaseDone {
                    detail: "the write buffer is drained: every queue is empty".into(),
                },
            );
            return Ok(buffer(read, true, waited, timeout));
        }
        let total: u64 = holding.iter().map(|q| q.depth.total()).sum();
        let list = holding
            .iter()
            .map(|q| {
                format!(
                    "{} {}: {} waiting, {} in flight",
                    q.region, q.queue, q.depth.visible, q.depth.in_flight
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        if waited >= timeout {
            let message = if timeout.is_zero() {
                format!("the write buffer holds {total} messages: {list}")
            } else {
                format!(
                    "the write buffer still holds {total} messages after {}s: {list}",
                    timeout.as_secs()
                )
            };
            events.warn(None, Phase::Repair, message);
            return Ok(buffer(read, false, waited, timeout));
        }
        events.info(
            None,
            Phase::Repair,
            format!("write buffer: {total} messages ({list})"),
        );
        if stopped(input) {
            return Err(DrError::Interrupted);
        }
        tokio::time::sleep(delay.min(timeout.saturating_sub(waited))).await;
        delay = next(delay, &input.pace);
    }
}

fn buffer(
    read: Vec<QueueDepth>,
    drained: bool,
    waited: Duration,
    timeout: Duration,
) -> BufferReport {
    BufferReport {
        drained,
        waited_seconds: (waited.as_secs_f64() * 10.0).round() / 10.0,
        timeout_seconds: timeout.as_secs(),
        holding: read
            .iter()
            .filter(|q| q.depth.total() > 0)
            .map(|q| format!("{} {}", q.region, q.queue))
            .collect(),
        queues: read,
    }
}

/// Messages back in a dead-letter queue after the drain failed again: say so (a
/// consumer still fails on them), without failing the run.
async fn came_back<Q: Queues>(
    queues: &Q,
    pairs: &[Pair],
    done: &[DeadLetterRepair],
    events: &Events,
) {
    for (p, d) in pairs.iter().zip(done) {
        if d.moved == 0 {
            continue;
        }
        if let Ok(now) = queues.depth(&p.region, &p.dead_letter.url).await {
            if now.total() > d.left {
                events.warn(
                    Some(&p.region),
                    Phase::Repair,
                    format!(
                        "{} holds {} messages again: they failed on the queue once more \
                         (fix what fails them, then run `strata dr repair` again)",
                        p.dead_letter_queue,
                        now.total()
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests;
