//! `repair` over an in-memory SQS: bounded by `max_messages`, counted, idempotent,
//! resuming a task an earlier run left, and the buffer's wait.

use super::*;
use crate::events::{Collect, Event};
use std::collections::BTreeMap;
use std::sync::Mutex;

const ACCOUNT: &str = "123456789012";

#[derive(Debug, Clone)]
struct FakeQueue {
    arn: String,
    url: String,
    dead_letter_target: Option<String>,
    visible: u64,
    in_flight: u64,
    /// Messages a consumer takes off on each read of the depth (the app draining it).
    consumed_per_read: u64,
}

#[derive(Debug, Clone)]
struct FakeTask {
    region: String,
    source: String,
    destination: String,
    handle: String,
    status: TaskStatus,
    moved: u64,
    to_move: u64,
}

/// SQS in memory. A running task moves `per_poll` messages each time its list is
/// read (SQS moves them in the background); `arrive_on_start` messages reach the
/// dead-letter queue just as a task starts.
#[derive(Default)]
struct Fake {
    queues: Mutex<BTreeMap<(String, String), FakeQueue>>,
    tasks: Mutex<Vec<FakeTask>>,
    per_poll: u64,
    arrive_on_start: u64,
    /// StartMessageMoveTask creates the task but its answer is lost.
    lose_start_answer: bool,
    /// A task fails after its first poll.
    fail_tasks: bool,
    /// The mutating calls, in order.
    calls: Mutex<Vec<String>>,
}

fn err(operation: &'static str, region: &str, code: &str) -> CallError {
    CallError {
        service: "sqs",
        operation,
        region: region.to_string(),
        code: code.into(),
        message: "fake".into(),
    }
}

impl Fake {
    /// The example's queue pair (`shop-prod-writes`, `-dlq`) in every region of it.
    fn example() -> Fake {
        let fake = Fake {
            per_poll: 2,
            ..Fake::default()
        };
        for region in ["us-east-1", "us-west-2", "eu-west-1"] {
            fake.add(region, "shop-prod-writes-dlq", None);
            let dlq = fake.arn(region, "shop-prod-writes-dlq");
            fake.add(region, "shop-prod-writes", Some(dlq));
        }
        fake
    }

    fn arn(&self, region: &str, name: &str) -> String {
        format!("arn:aws:sqs:{region}:{ACCOUNT}:{name}")
    }

    fn add(&self, region: &str, name: &str, dead_letter_target: Option<String>) {
        self.queues.lock().unwrap().insert(
            (region.into(), name.into()),
            FakeQueue {
                arn: self.arn(region, name),
                url: format!("https://sqs.{region}.amazonaws.com/{ACCOUNT}/{name}"),
                dead_letter_target,
                visible: 0,
                in_flight: 0,
                consumed_per_read: 0,
            },
        );
    }

    fn with(&self, region: &str, name: &str, f: impl FnOnce(&mut FakeQueue)) {
        f(self
            .queues
            .lock()
            .unwrap()
            .get_mut(&(region.into(), name.into()))
            .expect("a queue of the fake"));
    }

    fn put(&self, region: &str, name: &str, visible: u64) {
        self.with(region, name, |q| q.visible += visible);
    }

    fn visible(&self, region: &str, name: &str) -> u64 {
        self.queues.lock().unwrap()[&(region.to_string(), name.to_string())].visible
    }

    fn by_arn(&self, arn: &str) -> Option<(String, String)> {
        self.queues
            .lock()
            .unwrap()
            .iter()
            .find(|(_, q)| q.arn == arn)
            .map(|(k, _)| k.clone())
    }

    fn starts(&self) -> usize {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.starts_with("start"))
            .count()
    }

    /// Move a running task on by `per_poll` messages (SQS working in the background).
    fn advance(&self, task: &mut FakeTask) {
        match task.status {
            TaskStatus::Cancelling => task.status = TaskStatus::Cancelled,
            TaskStatus::Running if self.fail_tasks && task.moved > 0 => {
                task.status = TaskStatus::Failed
            }
            TaskStatus::Running => {
                let (sr, sn) = self.by_arn(&task.source).expect("source");
                let (dr, dn) = self.by_arn(&task.destination).expect("destination");
                let available = self.visible(&sr, &sn);
                let n = self.per_poll.min(task.to_move - task.moved).min(available);
                self.with(&sr, &sn, |q| q.visible -= n);
                self.with(&dr, &dn, |q| q.visible += n);
                task.moved += n;
                if task.moved == task.to_move || self.visible(&sr, &sn) == 0 {
                    task.status = TaskStatus::Completed;
                }
            }
            _ => {}
        }
    }
}

impl Queues for Fake {
    async fn queue(&self, region: &str, name: &str) -> Result<Option<QueueInfo>, CallError> {
        Ok(self
            .queues
            .lock()
            .unwrap()
            .get(&(region.into(), name.into()))
            .map(|q| QueueInfo {
                url: q.url.clone(),
                arn: q.arn.clone(),
                dead_letter_target: q.dead_letter_target.clone(),
                depth: Depth {
                    visible: q.visible,
                    in_flight: q.in_flight,
                },
            }))
    }

    async fn depth(&self, region: &str, url: &str) -> Result<Depth, CallError> {
        let mut queues = self.queues.lock().unwrap();
        let q = queues
            .values_mut()
            .find(|q| q.url == url)
            .ok_or_else(|| err("GetQueueAttributes", region, "QueueDoesNotExist"))?;
        let depth = Depth {
            visible: q.visible,
            in_flight: q.in_flight,
        };
        q.visible -= q.consumed_per_read.min(q.visible);
        Ok(depth)
    }

    async fn latest_move_task(
        &self,
        _region: &str,
        source_arn: &str,
    ) -> Result<Option<MoveTask>, CallError> {
        let mut tasks = self.tasks.lock().unwrap();
        let Some(task) = tasks.iter_mut().rev().find(|t| t.source == source_arn) else {
            return Ok(None);
        };
        self.advance(task);
        let shown = task.clone();
        Ok(Some(MoveTask {
            handle: (shown.status == TaskStatus::Running).then(|| shown.handle.clone()),
            status: shown.status,
            destination: Some(shown.destination.clone()),
            moved: shown.moved,
            to_move: Some(shown.to_move),
            failure: (shown.status == TaskStatus::Failed).then(|| "fake failure".into()),
        }))
    }

    async fn start_move(
        &self,
        region: &str,
        source_arn: &str,
        destination_arn: &str,
    ) -> Result<String, CallError> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("start {region} {source_arn} -> {destination_arn}"));
        let mut tasks = self.tasks.lock().unwrap();
        if tasks
            .iter()
            .any(|t| t.source == source_arn && t.status.active())
        {
            return Err(err("StartMessageMoveTask", region, "UnsupportedOperation"));
        }
        let (sr, sn) = self.by_arn(source_arn).expect("source");
        self.put(&sr, &sn, self.arrive_on_start);
        let handle = format!("task-{}", tasks.len() + 1);
        tasks.push(FakeTask {
            region: region.to_string(),
            source: source_arn.to_string(),
            destination: destination_arn.to_string(),
            handle: handle.clone(),
            status: TaskStatus::Running,
            moved: 0,
            to_move: self.visible(&sr, &sn),
        });
        if self.lose_start_answer {
            return Err(err("StartMessageMoveTask", region, "TimeoutError"));
        }
        Ok(handle)
    }

    async fn cancel_move(&self, region: &str, handle: &str) -> Result<u64, CallError> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("cancel {region} {handle}"));
        let mut tasks = self.tasks.lock().unwrap();
        let task = tasks
            .iter_mut()
            .find(|t| t.handle == handle && t.status == TaskStatus::Running)
            .ok_or_else(|| err("CancelMessageMoveTask", region, "ResourceNotFoundException"))?;
        task.status = TaskStatus::Cancelling;
        Ok(task.moved)
    }
}

fn example() -> StackDef {
    crate::stack::load_str(include_str!("../../../stacks/example.toml"), "example.toml")
        .expect("the example loads")
}

fn input(regions: &[&str], max: u64) -> RepairInput {
    RepairInput {
        file: "stacks/example.toml".into(),
        regions: regions.iter().map(|r| r.to_string()).collect(),
        max_messages: max,
        drain_timeout: Duration::ZERO,
        pace: Pace {
            first: Duration::from_millis(1),
            max: Duration::from_millis(2),
            move_wait: Duration::from_secs(10),
        },
        stop: Arc::new(AtomicBool::new(false)),
    }
}

const ALL: [&str; 3] = ["us-east-1", "us-west-2", "eu-west-1"];
const Q: &str = "shop-prod-writes";
const DLQ: &str = "shop-prod-writes-dlq";

fn run(fake: &Fake, input: &RepairInput) -> (Result<RepairReport, DrError>, Vec<Event>) {
    let sink = Arc::new(Collect::default());
    let events = Events::new(sink.clone());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime");
    let result = runtime.block_on(repair(fake, &example(), input, &events));
    let events = sink.0.lock().unwrap().clone();
    (result, events)
}

fn messages(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Info { message } | EventKind::Warning { message } => Some(message.clone()),
            _ => None,
        })
        .collect()
}

fn of<'a>(report: &'a RepairReport, region: &str) -> &'a DeadLetterRepair {
    report
        .dead_letters
        .iter()
        .find(|d| d.region == region)
        .expect("a row per region")
}

#[test]
fn every_regions_dead_letters_go_back_to_their_queue_counted_with_progress() {
    let fake = Fake::example();
    fake.put("us-east-1", DLQ, 5);
    fake.put("eu-west-1", DLQ, 1);
    let (result, events) = run(&fake, &input(&ALL, DEFAULT_MAX_MESSAGES));
    let report = result.expect("repair");
    assert_eq!((report.moved, report.left), (6, 0));
    let east = of(&report, "us-east-1");
    assert_eq!(
        (east.outcome, east.moved, east.left, east.resumed),
        (Outcome::Moved, 5, 0, false)
    );
    assert_eq!(east.queue, Q);
    assert_eq!(east.dead_letter_queue, DLQ);
    assert_eq!(of(&report, "us-west-2").outcome, Outcome::Empty);
    assert_eq!(of(&report, "eu-west-1").moved, 1);
    assert_eq!(fake.visible("us-east-1", Q), 5);
    assert_eq!(fake.visible("us-east-1", DLQ), 0);
    assert_eq!(fake.visible("eu-west-1", Q), 1);
    // One task per dead-letter queue that held messages, each to its own queue.
    let calls = fake.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(calls.iter().any(|c| c
        == &format!(
            "start us-east-1 arn:aws:sqs:us-east-1:{ACCOUNT}:{DLQ} -> arn:aws:sqs:us-east-1:{ACCOUNT}:{Q}"
        )));
    // Progress: the task's count as it grows (2 a poll here).
    let said = messages(&events);
    for step in ["2 of 5 moved", "4 of 5 moved", "5 of 5 moved"] {
        assert!(said.iter().any(|m| m.contains(step)), "{step}: {said:#?}");
    }
    assert!(
        events.iter().all(|e| e.phase == Phase::Repair),
        "every event is the repair's"
    );
    // The buffer, read once (timeout 0), names the queues that now hold messages.
    assert!(!report.buffer.drained);
    assert_eq!(
        report.buffer.holding,
        vec![format!("us-east-1 {Q}"), format!("eu-west-1 {Q}")]
    );
    assert_eq!(report.buffer.queues.len(), 3);
}

#[test]
fn a_second_run_moves_nothing_and_starts_no_task() {
    let fake = Fake::example();
    fake.put("us-west-2", DLQ, 3);
    let (first, _) = run(&fake, &input(&ALL, DEFAULT_MAX_MESSAGES));
    assert_eq!(first.expect("first").moved, 3);
    let (second, events) = run(&fake, &input(&ALL, DEFAULT_MAX_MESSAGES));
    let second = second.expect("second");
    assert_eq!((second.moved, second.left), (0, 0));
    assert!(second
        .dead_letters
        .iter()
        .all(|d| d.outcome == Outcome::Empty));
    assert_eq!(fake.starts(), 1, "the second run started no task");
    assert_eq!(fake.visible("us-west-2", Q), 3, "moved once, not twice");
    assert!(messages(&events)
        .iter()
        .any(|m| m == &format!("{DLQ}: nothing to move")));
}

#[test]
fn a_backlog_over_max_messages_is_left_whole_and_named_with_the_command_that_moves_it() {
    let fake = Fake::example();
    fake.put("us-east-1", DLQ, 12);
    fake.put("us-west-2", DLQ, 10);
    let (result, events) = run(&fake, &input(&ALL, 10));
    let report = result.expect("repair");
    let east = of(&report, "us-east-1");
    assert_eq!(
        (east.outcome, east.moved, east.left),
        (Outcome::OverLimit, 0, 12)
    );
    // At the bound is within it.
    let west = of(&report, "us-west-2");
    assert_eq!((west.outcome, west.moved), (Outcome::Moved, 10));
    assert_eq!(fake.visible("us-east-1", DLQ), 12);
    assert_eq!(fake.starts(), 1);
    assert!(messages(&events)
        .iter()
        .any(|m| m.contains("more than --max-messages 10")
            && m.contains(
                "strata dr repair stacks/example.toml --region us-east-1 --max-messages 12"
            )));
    assert_eq!((report.moved, report.left), (10, 12));
}

#[test]
fn a_task_whose_backlog_outgrows_the_bound_as_it_starts_is_cancelled() {
    let fake = Fake {
        arrive_on_start: 20,
        per_poll: 1,
        ..Fake::example()
    };
    fake.put("us-east-1", DLQ, 5);
    let (result, events) = run(&fake, &input(&["us-east-1"], 10));
    let report = result.expect("repair");
    let east = of(&report, "us-east-1");
    assert_eq!(east.outcome, Outcome::Cancelled);
    assert!(east.moved <= 2, "stopped at once: {east:?}");
    assert_eq!(east.left, 25 - east.moved);
    let calls = fake.calls.lock().unwrap().clone();
    assert!(calls.iter().any(|c| c.starts_with("cancel")), "{calls:?}");
    assert!(messages(&events)
        .iter()
        .any(|m| m.contains("25 messages to move, more than --max-messages 10")));
}

#[test]
fn a_task_an_earlier_run_left_running_is_waited_for_not_started_again() {
    let fake = Fake::example();
    fake.put("us-east-1", DLQ, 4);
    fake.tasks.lock().unwrap().push(FakeTask {
        region: "us-east-1".into(),
        source: fake.arn("us-east-1", DLQ),
        destination: fake.arn("us-east-1", Q),
        handle: "earlier".into(),
        status: TaskStatus::Running,
        moved: 0,
        to_move: 4,
    });
    let (result, _) = run(&fake, &input(&["us-east-1"], DEFAULT_MAX_MESSAGES));
    let report = result.expect("repair");
    let east = of(&report, "us-east-1");
    assert_eq!(
        (east.outcome, east.moved, east.left, east.resumed),
        (Outcome::Moved, 4, 0, true)
    );
    assert_eq!(fake.starts(), 0);
    assert_eq!(fake.tasks.lock().unwrap()[0].region, "us-east-1");
}

#[test]
fn a_start_whose_answer_was_lost_is_recognised_by_its_running_task() {
    let fake = Fake {
        lose_start_answer: true,
        ..Fake::example()
    };
    fake.put("us-east-1", DLQ, 3);
    let (result, _) = run(&fake, &input(&["us-east-1"], DEFAULT_MAX_MESSAGES));
    let report = result.expect("the task it started is followed");
    assert_eq!(of(&report, "us-east-1").moved, 3);
    assert_eq!(fake.starts(), 1);
}

#[test]
fn a_failed_task_fails_the_run_with_its_reason_and_count() {
    let fake = Fake {
        fail_tasks: true,
        ..Fake::example()
    };
    fake.put("us-east-1", DLQ, 5);
    let (result, _) = run(&fake, &input(&["us-east-1"], DEFAULT_MAX_MESSAGES));
    let e = result.expect_err("the task failed").to_string();
    assert!(
        e.contains("failed after moving 2") && e.contains("fake failure"),
        "{e}"
    );
}

#[test]
fn only_the_named_region_is_touched() {
    let fake = Fake::example();
    fake.put("us-east-1", DLQ, 2);
    fake.put("us-west-2", DLQ, 2);
    let (result, _) = run(&fake, &input(&["us-west-2"], DEFAULT_MAX_MESSAGES));
    let report = result.expect("repair");
    assert_eq!(report.dead_letters.len(), 1);
    assert_eq!(report.moved, 2);
    assert_eq!(
        fake.visible("us-east-1", DLQ),
        2,
        "another region's queue is left"
    );
    assert_eq!(report.buffer.queues.len(), 1);
}

#[test]
fn the_buffer_is_watched_until_it_drains() {
    let fake = Fake::example();
    fake.put("us-east-1", Q, 6);
    fake.with("us-east-1", Q, |q| q.consumed_per_read = 2);
    let mut input = input(&ALL, DEFAULT_MAX_MESSAGES);
    input.drain_timeout = Duration::from_secs(30);
    let (result, events) = run(&fake, &input);
    let report = result.expect("repair");
    assert!(report.buffer.drained, "{:?}", report.buffer);
    assert!(report.buffer.holding.is_empty());
    let said = messages(&events);
    assert!(
        said.iter()
            .any(|m| m.contains(&format!("us-east-1 {Q}: 6 waiting, 0 in flight"))),
        "{said:#?}"
    );
    assert!(events.iter().any(|e| matches!(&e.kind,
        EventKind::PhaseDone { detail } if detail.contains("drained"))));
}

#[test]
fn a_buffer_that_does_not_drain_in_time_names_the_queues_that_hold_messages() {
    let fake = Fake::example();
    fake.put("eu-west-1", Q, 3);
    fake.with("eu-west-1", Q, |q| q.in_flight = 1);
    let mut input = input(&ALL, DEFAULT_MAX_MESSAGES);
    input.drain_timeout = Duration::from_millis(20);
    let (result, events) = run(&fake, &input);
    let buffer = result.expect("repair").buffer;
    assert!(!buffer.drained);
    assert_eq!(buffer.holding, vec![format!("eu-west-1 {Q}")]);
    let east = buffer
        .queues
        .iter()
        .find(|q| q.region == "eu-west-1")
        .expect("eu-west-1");
    assert_eq!(
        east.depth,
        Depth {
            visible: 3,
            in_flight: 1
        }
    );
    assert!(messages(&events)
        .iter()
        .any(|m| m.contains("still holds 4 messages") && m.contains("eu-west-1 shop-prod-writes")));
}

#[test]
fn a_queue_that_is_not_there_or_not_paired_with_its_dead_letter_queue_stops_the_run() {
    let fake = Fake::example();
    fake.queues
        .lock()
        .unwrap()
        .remove(&("us-west-2".into(), DLQ.into()));
    let (result, _) = run(&fake, &input(&["us-west-2"], DEFAULT_MAX_MESSAGES));
    assert!(matches!(result, Err(DrError::NoQueue { ref queue, .. }) if queue == DLQ));

    let fake = Fake::example();
    fake.with("eu-west-1", Q, |q| q.dead_letter_target = None);
    let (result, _) = run(&fake, &input(&["eu-west-1"], DEFAULT_MAX_MESSAGES));
    let e = result.expect_err("unpaired").to_string();
    assert!(e.contains("redrive policy"), "{e}");
    assert_eq!(fake.starts(), 0);
}

#[test]
fn ctrl_c_stops_a_wait_at_its_next_poll() {
    let fake = Fake {
        per_poll: 0,
        ..Fake::example()
    };
    fake.put("us-east-1", DLQ, 3);
    let input = input(&["us-east-1"], DEFAULT_MAX_MESSAGES);
    input.stop.store(true, Ordering::SeqCst);
    let (result, _) = run(&fake, &input);
    assert!(matches!(result, Err(DrError::Interrupted)), "{result:?}");
}

#[test]
fn task_statuses_read_as_the_api_spells_them() {
    assert_eq!(TaskStatus::parse("RUNNING"), Some(TaskStatus::Running));
    assert_eq!(
        TaskStatus::parse("CANCELLING"),
        Some(TaskStatus::Cancelling)
    );
    assert_eq!(TaskStatus::parse("done"), None);
    assert!(TaskStatus::Cancelling.active() && !TaskStatus::Completed.active());
    assert_eq!(
        serde_json::to_value(Outcome::OverLimit).unwrap(),
        serde_json::json!("over-limit")
    );
}
