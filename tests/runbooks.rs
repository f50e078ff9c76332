//! The runbooks cannot rot: every `strata ...` line of the ```sh blocks of
//! `runbooks/*.md` runs, in order, against the sandbox, and must succeed.
//!
//! Placeholders (runbooks/README.md): `stacks/example.toml` is replaced by the
//! sandbox copy of the example stack (`support::dr_stack`); the endpoint comes from
//! the environment the harness sets. Before each runbook the stack is deployed;
//! the rebuild runbook starts from a broken region (its load balancer deleted)
//! and three messages in a survivor's dead-letter queue, which its repair moves back.

mod support;

use std::path::Path;
use strata::aws::dr_compute::{delete_load_balancer, load_balancer_by_dns};
use support::cli::strata_sandbox;
use support::{aws, dr_stack, sandbox, sdk, stacks};

/// Every `strata` command of the runbook's ```sh blocks, in order, without the
/// leading `strata` and without trailing comments.
fn commands(markdown: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut in_sh = false;
    for line in markdown.lines() {
        let t = line.trim();
        if t.starts_with("```") {
            in_sh = !in_sh && t == "```sh";
            continue;
        }
        if !in_sh {
            continue;
        }
        let t = t.split(" #").next().unwrap_or_default().trim();
        if let Some(rest) = t.strip_prefix("strata ") {
            out.push(rest.split_whitespace().map(str::to_string).collect());
        }
    }
    out
}

/// Deploy, run `before`, run the runbook's commands, run `after` (all under one
/// exclusive sandbox).
fn run_runbook(
    name: &str,
    before: impl FnOnce(&str),
    after: impl FnOnce(&str),
) -> Vec<Vec<String>> {
    let _moto = sandbox::exclusive();
    let dir = tempfile::tempdir().expect("tempdir");
    let stack = dr_stack::write(dir.path());
    let file = stack.to_str().expect("utf-8 path").to_string();
    let path = sandbox::repo_dir().join("runbooks").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let cmds = commands(&text);
    assert!(
        !cmds.is_empty(),
        "{name} has no strata command in a sh block"
    );
    strata_sandbox(&["deploy", &file, "--yes", "--bake", "0s", "--output", "json"]).expect_code(0);
    before(&file);
    for cmd in &cmds {
        let args: Vec<String> = cmd
            .iter()
            .map(|a| {
                if a == "stacks/example.toml" {
                    file.clone()
                } else {
                    a.clone()
                }
            })
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = strata_sandbox(&args);
        assert_eq!(
            run.code,
            0,
            "{name}: `strata {}` failed\n{run}",
            cmd.join(" ")
        );
    }
    after(&file);
    cmds
}

fn break_region(file: &str, region: &str) {
    let def = strata::stack::load(Path::new(file)).expect("valid test stack");
    let client = sdk::block_on(aws::connect(&sandbox::endpoint()));
    sdk::block_on(async {
        let key = strata::dr::stack_refs::load_balancer(&client, &def, region)
            .await
            .expect("lb of the stack");
        let lb = load_balancer_by_dns(&client, region, &key)
            .await
            .expect("lb")
            .expect("lb exists");
        delete_load_balancer(&client, region, &lb.arn)
            .await
            .expect("delete lb");
    });
}

fn dns_answers(file: &str) -> serde_json::Value {
    let run = strata_sandbox(&["dr", "dns", file, "--output", "json"]);
    run.expect_code(0);
    run.json_lines().pop().expect("json")
}

/// The latency name answers with `n` regions.
fn assert_latency_answers(file: &str, n: usize) {
    let dns = dns_answers(file);
    let answers = dns["names"][0]["answers"].as_array().expect("answers");
    assert_eq!(answers.len(), n, "{dns}");
}

#[test]
fn region_failover_runbook_runs() {
    // The runbook fails over, verifies, then undoes (its Undo block runs the
    // rebuild): at the end every region answers again.
    let cmds = run_runbook(
        "region-failover.md",
        |_| {},
        |file| {
            assert_latency_answers(file, 3);
        },
    );
    assert!(cmds.iter().any(|c| c[..2] == ["dr", "failover"]));
}

/// SQS helpers for the rebuild runbook's repair step: the example's write-buffer
/// queue and its dead-letter queue in one region.
mod buffer {
    use super::sdk;
    use std::time::{Duration, Instant};

    pub const QUEUE: &str = "shop-prod-writes";
    pub const DLQ: &str = "shop-prod-writes-dlq";

    fn url(sqs: &aws_sdk_sqs::Client, name: &str) -> String {
        sdk::block_on(async {
            sqs.get_queue_url()
                .queue_name(name)
                .send()
                .await
                .expect("GetQueueUrl")
                .queue_url()
                .expect("a url")
                .to_string()
        })
    }

    pub fn send(region: &str, name: &str, n: usize) {
        let sqs = sdk::sqs(region);
        let url = url(&sqs, name);
        sdk::block_on(async {
            for i in 0..n {
                sqs.send_message()
                    .queue_url(&url)
                    .message_body(format!("write-{i}"))
                    .send()
                    .await
                    .expect("SendMessage");
            }
        });
    }

    pub fn depth(region: &str, name: &str) -> u64 {
        use aws_sdk_sqs::types::QueueAttributeName as A;
        let sqs = sdk::sqs(region);
        let url = url(&sqs, name);
        sdk::block_on(async {
            let out = sqs
                .get_queue_attributes()
                .queue_url(&url)
                .attribute_names(A::All)
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

    /// The application consuming the queue: receive and delete until `n` messages
    /// came (or ten minutes passed); their bodies.
    pub fn consume(region: &'static str, n: usize) -> std::thread::JoinHandle<Vec<String>> {
        std::thread::spawn(move || {
            let sqs = sdk::sqs(region);
            let url = url(&sqs, QUEUE);
            let started = Instant::now();
            let mut got = Vec::new();
            while got.len() < n && started.elapsed() < Duration::from_secs(600) {
                let out = sdk::block_on(sqs.receive_message().queue_url(&url).send())
                    .expect("ReceiveMessage");
                if out.messages().is_empty() {
                    std::thread::sleep(Duration::from_millis(500));
                }
                for m in out.messages() {
                    got.push(m.body().unwrap_or_default().to_string());
                    sdk::block_on(
                        sqs.delete_message()
                            .queue_url(&url)
                            .receipt_handle(m.receipt_handle().expect("a handle"))
                            .send(),
                    )
                    .expect("DeleteMessage");
                }
            }
            got.sort();
            got
        })
    }
}

#[test]
fn region_rebuild_runbook_runs_end_to_end() {
    // Writes that failed while the region was away wait in a survivor's dead-letter
    // queue; the runbook's repair moves them back, and the application (a consumer
    // here) drains the queue while the repair watches it.
    let consumer = std::sync::Mutex::new(None);
    let cmds = run_runbook(
        "region-rebuild.md",
        |file| {
            break_region(file, "us-west-2");
            buffer::send("us-east-1", buffer::DLQ, 3);
            *consumer.lock().unwrap() = Some(buffer::consume("us-east-1", 3));
        },
        |file| {
            let consumed = consumer
                .lock()
                .unwrap()
                .take()
                .expect("the consumer")
                .join()
                .expect("the consumer thread");
            assert_eq!(consumed, ["write-0", "write-1", "write-2"]);
            assert_eq!(buffer::depth("us-east-1", buffer::DLQ), 0);
            assert_eq!(buffer::depth("us-east-1", buffer::QUEUE), 0);
            // The region is back: every latency answer includes it again, all healthy.
            let dns = dns_answers(file);
            for n in dns["names"].as_array().expect("names") {
                if !n["name"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with("failover.")
                {
                    assert_eq!(n["answers"].as_array().expect("answers").len(), 3, "{dns}");
                }
                for r in n["records"].as_array().expect("records") {
                    assert_eq!(r["healthy"], true, "{dns}");
                }
            }
        },
    );
    assert!(cmds.iter().any(|c| c[..2] == ["dr", "rebuild"]));
    assert!(cmds.iter().any(|c| c[..2] == ["dr", "repair"]));
}

#[test]
fn failed_deploy_rollback_runbook_runs() {
    run_runbook("failed-deploy-rollback.md", |_| {}, |_| {});
}

#[test]
fn az_loss_runbook_runs() {
    run_runbook("az-loss.md", |_| {}, |_| {});
}

#[test]
fn stuck_stack_runbook_runs() {
    run_runbook("stuck-stack.md", |_| {}, |_| {});
}

#[test]
fn remove_region_runbook_runs() {
    // The deployed stack has a fourth region that the runbook's file no longer
    // names: the runbook's deploy removes it.
    let cmds = run_runbook(
        "remove-region.md",
        |file| {
            let text = std::fs::read_to_string(file).expect("the stack file");
            let four = Path::new(file).with_file_name("example4.toml");
            std::fs::write(&four, stacks::with_fourth_region(&text)).expect("write");
            let four = four.to_str().expect("utf-8 path");
            strata_sandbox(&["deploy", four, "--yes", "--bake", "0s"]).expect_code(0);
        },
        |file| {
            assert_latency_answers(file, 3);
            let def = strata::stack::load(Path::new(file)).expect("the stack file loads");
            let leaving = def.region_stack_name(stacks::FOURTH_REGION);
            let cfn = sdk::cloudformation(stacks::FOURTH_REGION);
            let found =
                sdk::block_on(async { cfn.describe_stacks().stack_name(&leaving).send().await });
            assert!(found.is_err(), "{leaving} is still there: {found:?}");
        },
    );
    assert!(cmds.iter().any(|c| c[0] == "deploy"));
}

#[test]
fn every_runbook_is_tested() {
    let dir = sandbox::repo_dir().join("runbooks");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("runbooks/")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".md") && n != "README.md")
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "az-loss.md",
            "failed-deploy-rollback.md",
            "region-failover.md",
            "region-rebuild.md",
            "remove-region.md",
            "stuck-stack.md"
        ]
    );
}
