//! Who is told: with `alarms.notify`, each region gets an SNS topic
//! (`<stack>-<region>-alerts`, encrypted with its own KMS key), one subscription per
//! e-mail address or HTTPS endpoint, and a topic policy that lets CloudWatch of this
//! account publish over TLS only. Every alarm's `AlarmActions` and `OKActions` point
//! at the topic (and at any listed existing topic of the same region), so people are
//! told when an alarm fires and when it clears; the deploy and DR commands publish
//! their own start, result and rollback to the same topic (its ARN is the
//! `AlertsTopicArn` output).
//!
//! Why a key of its own: CloudWatch cannot publish to a topic encrypted with the
//! AWS-managed `aws/sns` key; the key policy must let `cloudwatch.amazonaws.com` use
//! it (<https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html>,
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html>).
//! Alarm actions must be in the alarm's own region
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html>).

use super::context::RegionCtx;
use super::lit::{some, yes};
use super::tags;
use crate::cfn::gen::{kms, sns};
use crate::cfn::{Handle, Intrinsic, Template, Value};
use crate::stack::NotifyTarget;
use serde_json::json;

/// The region's alert topic and what every alarm acts on.
pub struct Notify {
    pub topic: Handle<sns::Topic>,
    /// `AlarmActions` / `OKActions` of every alarm: the topic, then the listed
    /// existing topics of this region.
    pub actions: Vec<Value<String>>,
}

/// The topic's physical name.
pub fn topic_name(ctx: &RegionCtx) -> String {
    format!("{}-alerts", ctx.def.region_stack_name(&ctx.region.name))
}

pub fn add(t: &mut Template, ctx: &RegionCtx) -> Option<Notify> {
    let targets = &ctx.def.alarms.notify;
    if targets.is_empty() {
        return None;
    }
    let account_root =
        Intrinsic::sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root").to_json();
    let mut key = kms::Key::default();
    key.description = some(format!("Alert topic of {}", topic_name(ctx)));
    key.enable_key_rotation = Some(yes(true));
    key.key_policy = Some(json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AccountAdministersTheKey",
                "Effect": "Allow",
                "Principal": { "AWS": account_root },
                "Action": "kms:*",
                "Resource": "*"
            },
            {
                "Sid": "CloudWatchPublishesEncrypted",
                "Effect": "Allow",
                "Principal": { "Service": "cloudwatch.amazonaws.com" },
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                "Resource": "*",
                "Condition": { "StringEquals": { "aws:SourceAccount": { "Ref": "AWS::AccountId" } } }
            }
        ]
    }));
    key.tags = Some(tags::standard(ctx));
    let key = t.add("AlertsKey", key);

    let mut topic = sns::Topic::default();
    topic.topic_name = some(topic_name(ctx));
    topic.display_name = some(format!("strata {}", ctx.def.stack_name()));
    topic.kms_master_key_id = Some(key.ref_());
    topic.tags = Some(tags::standard(ctx));
    let topic = t.add("AlertsTopic", topic);

    t.add(
        "AlertsTopicPolicy",
        sns::TopicPolicy::new(
            json!({
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "CloudWatchAlarmsOfThisAccount",
                        "Effect": "Allow",
                        "Principal": { "Service": "cloudwatch.amazonaws.com" },
                        "Action": "sns:Publish",
                        "Resource": topic.ref_::<String>().to_json(),
                        "Condition": { "StringEquals": { "aws:SourceAccount": { "Ref": "AWS::AccountId" } } }
                    },
                    {
                        "Sid": "TlsOnly",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "sns:Publish",
                        "Resource": topic.ref_::<String>().to_json(),
                        "Condition": { "Bool": { "aws:SecureTransport": "false" } }
                    }
                ]
            }),
            vec![topic.ref_()],
        ),
    );

    let mut actions = vec![topic.ref_()];
    let mut n = 0;
    for target in targets {
        let (protocol, endpoint) = match target {
            NotifyTarget::Email(address) => ("email", address.as_str()),
            NotifyTarget::Https(url) => ("https", url.as_str()),
            NotifyTarget::Topic { arn, region } => {
                if *region == ctx.region.name {
                    actions.push(Value::Lit(arn.clone()));
                }
                continue;
            }
        };
        n += 1;
        let mut sub = sns::Subscription::new(topic.ref_(), protocol);
        sub.endpoint = some(endpoint);
        t.add(format!("AlertsSubscription{n}"), sub);
    }
    Some(Notify { topic, actions })
}
