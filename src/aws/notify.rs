//! `ops::notify::Notifier` over SNS `Publish` (the alert topics are made by the
//! region templates; publishing is a runtime act CloudFormation cannot do).

use super::{Aws, CallError};
use crate::ops::notify::Notifier;

pub struct SnsNotifier<'a> {
    aws: &'a Aws,
}

impl<'a> SnsNotifier<'a> {
    pub fn new(aws: &'a Aws) -> Self {
        SnsNotifier { aws }
    }
}

impl Notifier for SnsNotifier<'_> {
    async fn publish(
        &self,
        region: &str,
        topic_arn: &str,
        subject: &str,
        message: &str,
    ) -> Result<(), String> {
        self.aws
            .sns(region)
            .publish()
            .topic_arn(topic_arn)
            .subject(subject)
            .message(message)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| CallError::from_sdk("sns", "Publish", region, e).to_string())
    }
}
