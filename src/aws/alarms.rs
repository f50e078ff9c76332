//! CloudWatch metric alarms, read and written in one place: DescribeAlarms (by
//! name prefix for the deploy's gate, by names for drift), every page
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarms.html>),
//! and PutMetricAlarm of a live alarm with some settings changed (drift's
//! put-back): PutMetricAlarm "completely overwrites the previous configuration of
//! the alarm" and leaves its state unchanged, and ignores `Tags` on an update
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html>),
//! so every setting the alarm has is sent again, and its tags are left alone.

use super::{Aws, CallError};
use crate::drift::AlarmPatch;
use aws_sdk_cloudwatch::types::{ComparisonOperator, MetricAlarm};

/// Which alarms to read.
pub enum Select<'a> {
    /// Every alarm whose name starts with this.
    Prefix(&'a str),
    /// These alarms (at most 100, DescribeAlarms' limit); one that does not
    /// exist is absent.
    Names(&'a [String]),
}

/// DescribeAlarms, every page: the metric alarms (composite alarms left out).
pub async fn metric_alarms(
    aws: &Aws,
    region: &str,
    select: Select<'_>,
) -> Result<Vec<MetricAlarm>, CallError> {
    let client = aws.cloudwatch(region);
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut call = client.describe_alarms().set_next_token(token.clone());
        call = match &select {
            Select::Prefix(p) => call.alarm_name_prefix(*p),
            Select::Names(names) => call.set_alarm_names(Some(names.to_vec())),
        };
        let page = call
            .send()
            .await
            .map_err(|e| CallError::from_sdk("cloudwatch", "DescribeAlarms", region, e))?;
        out.extend(page.metric_alarms().iter().cloned());
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(out);
        }
    }
}

fn non_empty<T: Clone>(v: &[T]) -> Option<Vec<T>> {
    (!v.is_empty()).then(|| v.to_vec())
}

/// PutMetricAlarm of `live` as DescribeAlarms answered it, with the patch's
/// settings in place of its own.
pub async fn put_metric_alarm(
    aws: &Aws,
    region: &str,
    live: &MetricAlarm,
    patch: &AlarmPatch,
) -> Result<(), CallError> {
    let comparison = patch
        .comparison_operator
        .as_deref()
        .map(ComparisonOperator::from)
        .or_else(|| live.comparison_operator().cloned());
    aws.cloudwatch(region)
        .put_metric_alarm()
        .set_alarm_name(live.alarm_name().map(str::to_string))
        .set_alarm_description(live.alarm_description().map(str::to_string))
        .set_actions_enabled(live.actions_enabled())
        .set_ok_actions(Some(
            patch
                .ok_actions
                .clone()
                .unwrap_or_else(|| live.ok_actions().to_vec()),
        ))
        .set_alarm_actions(Some(
            patch
                .alarm_actions
                .clone()
                .unwrap_or_else(|| live.alarm_actions().to_vec()),
        ))
        .set_insufficient_data_actions(Some(live.insufficient_data_actions().to_vec()))
        .set_metric_name(live.metric_name().map(str::to_string))
        .set_namespace(live.namespace().map(str::to_string))
        .set_statistic(live.statistic().cloned())
        .set_extended_statistic(live.extended_statistic().map(str::to_string))
        .set_dimensions(non_empty(live.dimensions()))
        .set_period(live.period())
        .set_unit(live.unit().cloned())
        .set_evaluation_periods(patch.evaluation_periods.or(live.evaluation_periods()))
        .set_datapoints_to_alarm(live.datapoints_to_alarm())
        .set_threshold(patch.threshold.or(live.threshold()))
        .set_comparison_operator(comparison)
        .set_treat_missing_data(live.treat_missing_data().map(str::to_string))
        .set_evaluate_low_sample_count_percentile(
            live.evaluate_low_sample_count_percentile()
                .map(str::to_string),
        )
        .set_metrics(non_empty(live.metrics()))
        .set_threshold_metric_id(live.threshold_metric_id().map(str::to_string))
        .send()
        .await
        .map_err(|e| CallError::from_sdk("cloudwatch", "PutMetricAlarm", region, e))?;
    Ok(())
}
