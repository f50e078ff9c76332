//! End-to-end tests of `strata dr repair` against the sandbox: the example stack
//! deployed, messages put into a dead-letter queue through the SQS API, the repair
//! run through the real binary, and the queues read back through SQS.

mod support;

use serde_json::Value;
use std::time::{Duration, Instant};
use support::cli::strata_sandbox;
use support::{aws, dr_stack, sandbox, sdk};

const QUEUE: &str = "shop-prod-writes";
const DLQ: &str = "shop-prod-writes-dlq";

fn deploy(file: &str) {
    strata_sandbox(&["deploy", file, "--yes", "--bake", "0s", "--output", "json"]).expect_code(0);
}

fn url(region: &str, name: &str) -> String {
    let sqs = sdk::sqs(region);
    let name = name.to_string();
    sdk::block_on(async move {
        sqs.get_queue_url()
            .queue_name(&name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GetQueueUrl {name} in {region}: {e:?}"))
            .queue_url()
            .expect("a url")
            .to_string()
    })
}

fn send(region: &str, name: &str, bodies: &[String]) {
    let sqs = sdk::sqs(region);
    let url = url(region, name);
    sdk::block_on(async {
        for body in bodies {
            sqs.send_message()
                .queue_url(&url)
                .message_body(body)
                .send()
                .await
                .expect("SendMessage");
        }
    });
}

/// ApproximateNumberOfMessages + ApproximateNumberOfMessagesNotVisible.
fn depth(region: &str, name: &str) -> u64 {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let sqs = sdk::sqs(region);
    let url = url(region, name);
    sdk::block_on(async {
        let out = sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(A::ApproximateNumberOfMessages)
            .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .expect("GetQueueAttributes");
        let attrs = out.attributes().expect("attributes");
        [
            A::ApproximateNumberOfMessages,
            A::ApproximateNumberOfMessagesNotVisible,
        ]
        .iter()
        .map(|a| attrs[a].parse::<u64>().expect("a count"))
        .sum()
    })
}

/// Receive (and delete) every message of the queue; their bodies, sorted.
fn drain_bodies(region: &str, name: &str) -> Vec<String> {
    let sqs = sdk::sqs(region);
    let url = url(region, name);
    sdk::block_on(async {
        let mut bodies = Vec::new();
        loop {
            let out = sqs
                .receive_message()
                .queue_url(&url)
                .max_number_of_messages(10)
                .send()
                .await
                .expect("ReceiveMessage");
            if out.messages().is_empty() {
                break;
            }
            for m in out.messages() {
                bodies.push(m.body().unwrap_or_default().to_string());
                sqs.delete_message()
                    .queue_url(&url)
                    .receipt_handle(m.receipt_handle().expect("a handle"))
                    .send()
                    .await
                    .expect("DeleteMessage");
            }
        }
        bodies.sort();
        bodies
    })
}

fn bodies(prefix: &str, n: usize) -> Vec<String> {
    let mut out: Vec<String> = (0..n).map(|i| format!("{prefix}-{i}")).collect();
    out.sort();
    out
}

fn repair(file: &str, extra: &[&str]) -> (Value, support::cli::Run) {
    let mut args = vec!["dr", "repair", file, "--output", "json"];
    args.extend_from_slice(extra);
    let run = strata_sandbox(&args);
    run.expect_code(0);
    let report = run
        .json_lines()
        .pop()
        .unwrap_or_else(|| panic!("no report\n{run}"));
    (report, run)
}

fn row<'a>(report: &'a Value, region: &str) -> &'a Value {
    report["dead_letters"]
        .as_array()
        .expect("dead_letters")
        .iter()
        .find(|d| d["region"] == region)
        .unwrap_or_else(|| panic!("no row for {region}: {report}"))
}

#[test]
fn repair_moves_dead_letters_back_once_bounded_counted_and_under_the_lock() {
    let _moto = sandbox::exclusive();
    let dir = tempfile::tempdir().expect("tempdir");
    let stack = dr_stack::write(dir.path());
    let file = stack.to_str().expect("utf-8 path");
    deploy(file);

    // Five writes failed in us-east-1, two in eu-west-1: they wait in the DLQs.
    send("us-east-1", DLQ, &bodies("east", 5));
    send("eu-west-1", DLQ, &bodies("eu", 2));
    assert_eq!(depth("us-east-1", DLQ), 5);

    // A deploy lock held by another run refuses the repair before it moves anything.
    let endpoint = sandbox::endpoint();
    let regions = ["us-east-1", "us-west-2", "eu-west-1"];
    let held = sdk::block_on(async {
        let aws = aws::connect(&endpoint).await;
        let store = strata::aws::lock_stack::CfnLockStore::new(&aws, "shop-prod");
        strata::ops::lock::acquire(
            &store,
            &regions,
            strata::ops::lock::LockInfo::new("alice", "deploy"),
        )
        .await
        .expect("alice takes the lock")
    });
    let run = strata_sandbox(&["dr", "repair", file, "--drain-timeout", "0"]);
    run.expect_code(strata::exit_code::LOCKED);
    assert!(run.stderr.contains("alice"), "{run}");
    assert_eq!(
        depth("us-east-1", DLQ),
        5,
        "a refused repair moved messages"
    );
    sdk::block_on(async {
        let aws = aws::connect(&endpoint).await;
        let store = strata::aws::lock_stack::CfnLockStore::new(&aws, "shop-prod");
        assert!(strata::ops::lock::release(&store, &held).await.is_empty());
    });

    // Bounded: with --max-messages 3 the 5 in us-east-1 stay, the 2 in eu-west-1 move.
    let (report, run) = repair(file, &["--max-messages", "3", "--drain-timeout", "0"]);
    assert_eq!(
        row(&report, "us-east-1")["outcome"],
        "over-limit",
        "{report}"
    );
    assert_eq!(row(&report, "us-east-1")["moved"], 0);
    assert_eq!(row(&report, "us-east-1")["left"], 5);
    assert_eq!(row(&report, "eu-west-1")["outcome"], "moved");
    assert_eq!(row(&report, "eu-west-1")["moved"], 2);
    assert!(
        run.stdout.contains("--max-messages 5"),
        "the warning names the command that moves them all\n{run}"
    );
    assert_eq!(depth("us-east-1", DLQ), 5);
    assert_eq!(depth("eu-west-1", DLQ), 0);
    assert_eq!(drain_bodies("eu-west-1", QUEUE), bodies("eu", 2));

    // Every region's dead-letter queue, the default bound: us-east-1's five move back.
    let (report, run) = repair(file, &["--drain-timeout", "0"]);
    let east = row(&report, "us-east-1");
    assert_eq!(east["outcome"], "moved", "{report}");
    assert_eq!(
        (east["moved"].as_u64(), east["left"].as_u64()),
        (Some(5), Some(0))
    );
    assert_eq!(east["queue"], QUEUE);
    assert_eq!(east["dead_letter_queue"], DLQ);
    assert_eq!(row(&report, "us-west-2")["outcome"], "empty");
    assert_eq!(report["moved"], 5);
    // Progress: the move task's count is an event of the repair phase.
    let events = run.json_lines();
    assert!(
        events.iter().any(|e| e["phase"] == "repair"
            && e["region"] == "us-east-1"
            && e["message"]
                .as_str()
                .is_some_and(|m| m.contains("of 5 moved"))),
        "{run}"
    );
    // The write buffer, read once: us-east-1's queue holds the five, named.
    assert_eq!(report["buffer"]["drained"], false);
    assert_eq!(
        report["buffer"]["holding"],
        serde_json::json!([format!("us-east-1 {QUEUE}")])
    );
    // Read back through SQS: the DLQ is empty, the queue holds the messages.
    assert_eq!(depth("us-east-1", DLQ), 0);
    assert_eq!(depth("us-east-1", QUEUE), 5);

    // A second run moves nothing: no message is moved twice.
    let (again, _) = repair(file, &["--drain-timeout", "0"]);
    assert_eq!(again["moved"], 0, "{again}");
    assert!(again["dead_letters"]
        .as_array()
        .expect("rows")
        .iter()
        .all(|d| d["outcome"] == "empty" && d["moved"] == 0));
    assert_eq!(depth("us-east-1", QUEUE), 5);
    assert_eq!(drain_bodies("us-east-1", QUEUE), bodies("east", 5));

    // No lock is left behind by the runs.
    for region in regions {
        let cfn = sdk::cloudformation(region);
        let found = sdk::block_on(async { sdk::settled_stack(&cfn, "shop-prod-lock").await });
        assert_eq!(found, None, "a lock stack remains in {region}");
    }
}

#[test]
fn repair_reports_the_write_buffer_until_it_drains() {
    let _moto = sandbox::exclusive();
    let dir = tempfile::tempdir().expect("tempdir");
    let stack = dr_stack::write(dir.path());
    let file = stack.to_str().expect("utf-8 path");
    deploy(file);

    // Writes buffered in us-west-2 while it was away; the app consumes them a
    // few seconds after the repair holds its lock (then it is watching the buffer:
    // the dead-letter queue is empty, there is nothing to move first).
    send("us-west-2", QUEUE, &bodies("buffered", 4));
    let consumer = std::thread::spawn(|| {
        let cfn = sdk::cloudformation("us-east-1");
        let deadline = Instant::now() + Duration::from_secs(300);
        while Instant::now() < deadline {
            let held = sdk::block_on(cfn.describe_stacks().stack_name("shop-prod-lock").send())
                .ok()
                .and_then(|o| {
                    o.stacks()
                        .first()
                        .and_then(|s| s.stack_status().map(|s| s.as_str().to_string()))
                })
                .is_some_and(|s| !s.starts_with("DELETE"));
            if held {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        std::thread::sleep(Duration::from_secs(3));
        drain_bodies("us-west-2", QUEUE)
    });
    let started = Instant::now();
    let (report, run) = repair(file, &["--region", "us-west-2", "--drain-timeout", "2m"]);
    assert_eq!(consumer.join().expect("consumer"), bodies("buffered", 4));
    assert!(
        started.elapsed() < Duration::from_secs(100),
        "it waited for the drain only"
    );
    assert_eq!(
        report["regions"],
        serde_json::json!(["us-west-2"]),
        "{report}"
    );
    assert_eq!(report["dead_letters"].as_array().map(Vec::len), Some(1));
    let buffer = &report["buffer"];
    assert_eq!(buffer["drained"], true, "{report}");
    assert!(buffer["holding"].as_array().expect("holding").is_empty());
    assert_eq!(buffer["timeout_seconds"], 120);
    // While it waited it said which queue held how many.
    assert!(
        run.json_lines().iter().any(|e| e["message"]
            .as_str()
            .is_some_and(|m| m.contains(&format!("us-west-2 {QUEUE}: 4 waiting")))),
        "{run}"
    );
    assert_eq!(depth("us-west-2", QUEUE), 0);
}
