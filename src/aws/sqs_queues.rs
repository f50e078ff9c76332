//! `dr::repair::Queues` against SQS: queue URLs and counts (GetQueueUrl,
//! GetQueueAttributes) and AWS's dead-letter queue redrive (StartMessageMoveTask,
//! ListMessageMoveTasks, CancelMessageMoveTask,
//! <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_StartMessageMoveTask.html>).

use super::{Aws, CallError};
use crate::dr::repair::{Depth, MoveTask, QueueInfo, Queues, TaskStatus};
use aws_sdk_sqs::types::QueueAttributeName;
use std::collections::HashMap;

/// The error codes SQS answers for a queue that does not exist (the JSON
/// protocol's shape name, and the query-compatible code it carries).
const NO_SUCH_QUEUE: [&str; 2] = [
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
];

pub struct SqsQueues<'a> {
    aws: &'a Aws,
}

impl<'a> SqsQueues<'a> {
    pub fn new(aws: &'a Aws) -> Self {
        SqsQueues { aws }
    }

    async fn attributes(
        &self,
        region: &str,
        url: &str,
        names: &[QueueAttributeName],
    ) -> Result<HashMap<QueueAttributeName, String>, CallError> {
        let out = self
            .aws
            .sqs(region)
            .get_queue_attributes()
            .queue_url(url)
            .set_attribute_names(Some(names.to_vec()))
            .send()
            .await
            .map_err(|e| CallError::from_sdk("sqs", "GetQueueAttributes", region, e))?;
        Ok(out.attributes().cloned().unwrap_or_default())
    }
}

fn count(attrs: &HashMap<QueueAttributeName, String>, name: QueueAttributeName) -> u64 {
    attrs
        .get(&name)
        .and_then(|v| v.parse().ok())
        .unwrap_or_default()
}

fn depth(attrs: &HashMap<QueueAttributeName, String>) -> Depth {
    Depth {
        visible: count(attrs, QueueAttributeName::ApproximateNumberOfMessages),
        in_flight: count(
            attrs,
            QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
        ),
    }
}

const COUNTS: [QueueAttributeName; 2] = [
    QueueAttributeName::ApproximateNumberOfMessages,
    QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
];

impl Queues for SqsQueues<'_> {
    async fn queue(&self, region: &str, name: &str) -> Result<Option<QueueInfo>, CallError> {
        let url = match self
            .aws
            .sqs(region)
            .get_queue_url()
            .queue_name(name)
            .send()
            .await
        {
            Ok(out) => out.queue_url().unwrap_or_default().to_string(),
            Err(e) => {
                let e = CallError::from_sdk("sqs", "GetQueueUrl", region, e);
                if NO_SUCH_QUEUE.contains(&e.code.as_str()) {
                    return Ok(None);
                }
                return Err(e);
            }
        };
        let mut names = COUNTS.to_vec();
        names.extend([
            QueueAttributeName::QueueArn,
            QueueAttributeName::RedrivePolicy,
        ]);
        let attrs = self.attributes(region, &url, &names).await?;
        // RedrivePolicy is a JSON string: {"deadLetterTargetArn": ..., "maxReceiveCount": ...}.
        let dead_letter_target = attrs
            .get(&QueueAttributeName::RedrivePolicy)
            .and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok())
            .and_then(|p| p["deadLetterTargetArn"].as_str().map(str::to_string));
        Ok(Some(QueueInfo {
            arn: attrs
                .get(&QueueAttributeName::QueueArn)
                .cloned()
                .unwrap_or_default(),
            dead_letter_target,
            depth: depth(&attrs),
            url,
        }))
    }

    async fn depth(&self, region: &str, url: &str) -> Result<Depth, CallError> {
        Ok(depth(&self.attributes(region, url, &COUNTS).await?))
    }

    async fn latest_move_task(
        &self,
        region: &str,
        source_arn: &str,
    ) -> Result<Option<MoveTask>, CallError> {
        let out = self
            .aws
            .sqs(region)
            .list_message_move_tasks()
            .source_arn(source_arn)
            .max_results(1)
            .send()
            .await
            .map_err(|e| CallError::from_sdk("sqs", "ListMessageMoveTasks", region, e))?;
        let Some(t) = out.results().first() else {
            return Ok(None);
        };
        let status = t.status().unwrap_or_default();
        let Some(status) = TaskStatus::parse(status) else {
            return Err(CallError {
                service: "sqs",
                operation: "ListMessageMoveTasks",
                region: region.to_string(),
                code: "UnknownStatus".into(),
                message: format!("a message move task of {source_arn} is {status:?}"),
            });
        };
        Ok(Some(MoveTask {
            handle: t.task_handle().map(str::to_string),
            status,
            destination: t.destination_arn().map(str::to_string),
            moved: t.approximate_number_of_messages_moved().max(0) as u64,
            to_move: t
                .approximate_number_of_messages_to_move()
                .map(|n| n.max(0) as u64),
            failure: t.failure_reason().map(str::to_string),
        }))
    }

    async fn start_move(
        &self,
        region: &str,
        source_arn: &str,
        destination_arn: &str,
    ) -> Result<String, CallError> {
        let out = self
            .aws
            .sqs(region)
            .start_message_move_task()
            .source_arn(source_arn)
            .destination_arn(destination_arn)
            .send()
            .await
            .map_err(|e| CallError::from_sdk("sqs", "StartMessageMoveTask", region, e))?;
        Ok(out.task_handle().unwrap_or_default().to_string())
    }

    async fn cancel_move(&self, region: &str, handle: &str) -> Result<u64, CallError> {
        let out = self
            .aws
            .sqs(region)
            .cancel_message_move_task()
            .task_handle(handle)
            .send()
            .await
            .map_err(|e| CallError::from_sdk("sqs", "CancelMessageMoveTask", region, e))?;
        Ok(out.approximate_number_of_messages_moved().max(0) as u64)
    }
}
