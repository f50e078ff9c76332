//! People are told: with `alarms.notify`, every region has an encrypted alert topic
//! with the listed subscriptions, every gated alarm acts on it, dead-letter queues
//! are alarmed, and an alarm that fires delivers CloudWatch's notification to a
//! subscriber (here an SQS queue, read back through SQS).

mod support;

use std::time::{Duration, Instant};
use strata::exit_code;
use support::{cli, sandbox, sdk};

const REGIONS: [&str; 3] = ["us-east-1", "us-west-2", "eu-west-1"];

fn example() -> String {
    sandbox::repo_dir()
        .join("stacks/example.toml")
        .to_string_lossy()
        .into_owned()
}

fn output(region: &str, key: &str) -> String {
    let cfn = sdk::cloudformation(region);
    let stack = format!("shop-prod-{region}");
    sdk::block_on(async move {
        let out = cfn
            .describe_stacks()
            .stack_name(&stack)
            .send()
            .await
            .expect("DescribeStacks");
        out.stacks()[0]
            .outputs()
            .iter()
            .find(|o| o.output_key() == Some(key))
            .and_then(|o| o.output_value())
            .unwrap_or_else(|| panic!("{stack} has no output {key}"))
            .to_string()
    })
}

#[test]
fn an_alarm_that_fires_reaches_the_people_subscribed_to_its_regions_topic() {
    let _moto = sandbox::exclusive();
    cli::strata_sandbox(&["deploy", &example(), "--yes", "--bake", "0s"])
        .expect_code(exit_code::SUCCESS);

    for region in REGIONS {
        let topic = output(region, "AlertsTopicArn");
        assert!(
            topic.ends_with(&format!(":shop-prod-{region}-alerts")),
            "{region}: {topic}"
        );
        let sns = sdk::sns(region);
        let cw = sdk::cloudwatch(region);
        let (attributes, subscriptions, alarms) = sdk::block_on(async {
            let attributes = sns
                .get_topic_attributes()
                .topic_arn(&topic)
                .send()
                .await
                .expect("GetTopicAttributes")
                .attributes()
                .cloned()
                .unwrap_or_default();
            let subscriptions: Vec<(String, String)> = sns
                .list_subscriptions_by_topic()
                .topic_arn(&topic)
                .send()
                .await
                .expect("ListSubscriptionsByTopic")
                .subscriptions()
                .iter()
                .map(|s| {
                    (
                        s.protocol().unwrap_or_default().to_string(),
                        s.endpoint().unwrap_or_default().to_string(),
                    )
                })
                .collect();
            let alarms = cw
                .describe_alarms()
                .alarm_name_prefix(format!("shop-prod-{region}-"))
                .send()
                .await
                .expect("DescribeAlarms")
                .metric_alarms()
                .to_vec();
            (attributes, subscriptions, alarms)
        });
        // Encrypted with a key of its own, published to by CloudWatch of this
        // account only, and the stack file's address subscribed.
        assert!(
            attributes
                .get("KmsMasterKeyId")
                .is_some_and(|k| !k.is_empty()),
            "{region}: {attributes:?}"
        );
        let policy = attributes.get("Policy").expect("a topic policy");
        assert!(
            policy.contains("cloudwatch.amazonaws.com") && policy.contains("aws:SecureTransport"),
            "{region}: {policy}"
        );
        assert_eq!(
            subscriptions,
            vec![("email".to_string(), "oncall@example.com".to_string())],
            "{region}"
        );
        // Every alarm acts on the topic when it fires and when it clears.
        assert!(alarms.len() >= 6, "{region}: {} alarms", alarms.len());
        for a in &alarms {
            let name = a.alarm_name().unwrap_or_default();
            assert_eq!(
                a.alarm_actions(),
                std::slice::from_ref(&topic),
                "{region}: {name}"
            );
            assert_eq!(
                a.ok_actions(),
                std::slice::from_ref(&topic),
                "{region}: {name}"
            );
        }
        // Dead letters are alarmed (told, not gated).
        assert!(
            alarms.iter().any(|a| a.alarm_name()
                == Some(&format!("shop-prod-{region}-writes-dead-letters"))
                && a.metric_name() == Some("ApproximateNumberOfMessagesVisible")),
            "{region}: no dead-letter alarm"
        );
    }

    // A subscriber receives the alarm's notification when it fires.
    let region = "us-west-2";
    let topic = output(region, "AlertsTopicArn");
    let inbox = subscribed_queue(region, "strata-test-oncall-inbox");
    let alarm = format!("shop-prod-{region}-target-5xx");
    let cw = sdk::cloudwatch(region);
    sdk::block_on(async {
        cw.set_alarm_state()
            .alarm_name(&alarm)
            .state_value(aws_sdk_cloudwatch::types::StateValue::Alarm)
            .state_reason("test: the instances answer 500")
            .send()
            .await
            .expect("SetAlarmState")
    });
    let envelope = received(region, &inbox, 1).remove(0);
    assert_eq!(envelope["TopicArn"], topic.as_str());
    let notification: serde_json::Value =
        serde_json::from_str(envelope["Message"].as_str().unwrap()).expect("alarm JSON");
    assert_eq!(notification["AlarmName"], alarm.as_str());
    assert_eq!(notification["NewStateValue"], "ALARM");
    assert_eq!(notification["OldStateValue"], "OK");
    assert_eq!(notification["Region"], region);

    // The DR and deploy commands tell the same people: a failover of us-west-2
    // announces its start and its result through the first other region's topic.
    let home = "us-east-1";
    let inbox = subscribed_queue(home, "strata-test-oncall-home");
    cli::strata_sandbox(&[
        "dr",
        "failover",
        &example(),
        "--region",
        region,
        "--dri",
        "ana",
    ])
    .expect_code(exit_code::SUCCESS);
    let subjects = received_subjects(home, &inbox, 2);
    assert_eq!(
        subjects,
        [
            "strata dr failover of shop-prod started by ana",
            "strata dr failover of shop-prod succeeded (exit 0)"
        ],
    );
}

/// A new SQS queue subscribed to `region`'s alert topic; its URL.
fn subscribed_queue(region: &str, name: &str) -> String {
    let topic = output(region, "AlertsTopicArn");
    let sqs = sdk::sqs(region);
    let sns = sdk::sns(region);
    sdk::block_on(async {
        let url = sqs
            .create_queue()
            .queue_name(name)
            .send()
            .await
            .expect("CreateQueue")
            .queue_url()
            .unwrap()
            .to_string();
        let arn = sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("GetQueueAttributes")
            .attributes()
            .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
            .cloned()
            .unwrap();
        sns.subscribe()
            .topic_arn(&topic)
            .protocol("sqs")
            .endpoint(&arn)
            .send()
            .await
            .expect("Subscribe");
        url
    })
}

/// The SNS subjects of the first `n` messages in the queue, in order of arrival.
fn received_subjects(region: &str, url: &str, n: usize) -> Vec<String> {
    received(region, url, n)
        .iter()
        .map(|e| e["Subject"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// The SNS envelopes of the first `n` messages in the queue, in order of arrival.
fn received(region: &str, url: &str, n: usize) -> Vec<serde_json::Value> {
    let sqs = sdk::sqs(region);
    sdk::block_on(async {
        let mut out = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while out.len() < n {
            let got = sqs
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .expect("ReceiveMessage");
            for m in got.messages() {
                out.push(serde_json::from_str(m.body().unwrap_or_default()).expect("SNS envelope"));
            }
            assert!(Instant::now() < deadline, "only {out:?} arrived");
        }
        out
    })
}
