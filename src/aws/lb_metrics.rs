//! An Application Load Balancer's traffic over a window, from CloudWatch:
//! one GetMetricData call with four queries in the `AWS/ApplicationELB` namespace,
//! dimension `LoadBalancer` = the ARN's part after `loadbalancer/`
//! (`app/<name>/<id>`), over one period covering the window
//! (<https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html>).
//! The period of a standard-resolution metric is a multiple of 60 seconds
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricStat.html>):
//! the window is widened to whole minutes. A metric Elastic Load Balancing did not
//! report (no requests, no 5xx) has no values: zero, or no p99.

use super::{Aws, CallError};
use crate::deploy::cloud::Traffic;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};

const NAMESPACE: &str = "AWS/ApplicationELB";

/// (query id, metric, statistic).
const QUERIES: [(&str, &str, &str); 4] = [
    ("requests", "RequestCount", "Sum"),
    ("target5xx", "HTTPCode_Target_5XX_Count", "Sum"),
    ("elb5xx", "HTTPCode_ELB_5XX_Count", "Sum"),
    ("p99", "TargetResponseTime", "p99"),
];

/// The metrics' `LoadBalancer` dimension of a load balancer ARN.
pub fn dimension(load_balancer_arn: &str) -> &str {
    load_balancer_arn
        .split_once(":loadbalancer/")
        .map(|(_, d)| d)
        .unwrap_or(load_balancer_arn)
}

/// The window widened to whole minutes, and its length as one period.
fn minutes(start: i64, end: i64) -> (i64, i64, i32) {
    let from = start.div_euclid(60) * 60;
    let to = (end.max(start + 1) + 59).div_euclid(60) * 60;
    (from, to, (to - from) as i32)
}

pub async fn traffic(
    aws: &Aws,
    region: &str,
    load_balancer_arn: &str,
    start: i64,
    end: i64,
) -> Result<Traffic, CallError> {
    let (from, to, period) = minutes(start, end);
    let dim = Dimension::builder()
        .name("LoadBalancer")
        .value(dimension(load_balancer_arn))
        .build();
    let mut call = aws
        .cloudwatch(region)
        .get_metric_data()
        .start_time(DateTime::from_secs(from))
        .end_time(DateTime::from_secs(to));
    for (id, metric, stat) in QUERIES {
        call = call.metric_data_queries(
            MetricDataQuery::builder()
                .id(id)
                .metric_stat(
                    MetricStat::builder()
                        .metric(
                            Metric::builder()
                                .namespace(NAMESPACE)
                                .metric_name(metric)
                                .dimensions(dim.clone())
                                .build(),
                        )
                        .period(period)
                        .stat(stat)
                        .build(),
                )
                .return_data(true)
                .build(),
        );
    }
    let out = call
        .send()
        .await
        .map_err(|e| CallError::from_sdk("cloudwatch", "GetMetricData", region, e))?;
    let values = |id: &str| -> Vec<f64> {
        out.metric_data_results()
            .iter()
            .filter(|r| r.id() == Some(id))
            .flat_map(|r| r.values().iter().copied())
            .collect()
    };
    let sum = |id: &str| values(id).iter().sum::<f64>();
    Ok(Traffic {
        requests: sum("requests"),
        errors_5xx: sum("target5xx") + sum("elb5xx"),
        // Seconds; more than one value only if CloudWatch split the window: the
        // worst is kept.
        p99_ms: values("p99")
            .into_iter()
            .reduce(f64::max)
            .map(|s| s * 1000.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dimension_is_the_arns_tail() {
        assert_eq!(
            dimension("arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/shop/50dc6c495c0c9188"),
            "app/shop/50dc6c495c0c9188"
        );
    }

    #[test]
    fn the_window_is_whole_minutes_in_one_period() {
        assert_eq!(minutes(125, 250), (120, 300, 180));
        assert_eq!(minutes(120, 120), (120, 180, 60));
    }
}
