//! The outputs a deploy reads from a region's stack.

use super::alarms::Alarms;
use super::compute::Compute;
use super::load_balancer::LoadBalancer;
use super::notify::Notify;
use crate::cfn::gen::{route53, s3};
use crate::cfn::{Handle, Intrinsic, Template, Value};

/// Output names, shared with the deploy and status code that reads them.
pub mod names {
    pub const ALB_DNS_NAME: &str = "AlbDnsName";
    pub const ALB_HOSTED_ZONE_ID: &str = "AlbHostedZoneId";
    pub const LOAD_BALANCER_FULL_NAME: &str = "LoadBalancerFullName";
    pub const ASG_NAME: &str = "AsgName";
    pub const TARGET_GROUP_ARN: &str = "TargetGroupArn";
    pub const HEALTH_CHECK_ID: &str = "HealthCheckId";
    pub const BUCKET_NAME: &str = "BucketName";
    pub const ALARM_NAMES: &str = "AlarmNames";
    pub const ALERTS_TOPIC_ARN: &str = "AlertsTopicArn";
}

pub struct Parts<'a> {
    pub lb: &'a LoadBalancer,
    pub compute: &'a Compute,
    pub health: &'a Handle<route53::HealthCheck>,
    pub bucket: Option<&'a Handle<s3::Bucket>>,
    pub alarms: &'a Alarms,
    pub notify: Option<&'a Notify>,
}

pub fn add(t: &mut Template, p: &Parts) {
    t.output(
        names::ALB_DNS_NAME,
        "The load balancer's DNS name",
        &p.lb.alb.dns_name(),
    );
    t.output(
        names::ALB_HOSTED_ZONE_ID,
        "The load balancer's canonical hosted zone id (for alias records)",
        &p.lb.alb.canonical_hosted_zone_id(),
    );
    t.output(
        names::LOAD_BALANCER_FULL_NAME,
        "The load balancer's full name (CloudWatch dimension)",
        &p.lb.alb.load_balancer_full_name(),
    );
    t.output(
        names::ASG_NAME,
        "The Auto Scaling group's name",
        &p.compute.asg.ref_::<String>(),
    );
    t.output(
        names::TARGET_GROUP_ARN,
        "The target group's ARN",
        &p.lb.target_group.ref_::<String>(),
    );
    t.output(
        names::HEALTH_CHECK_ID,
        "The Route 53 health check of this region's endpoint",
        &p.health.ref_::<String>(),
    );
    if let Some(bucket) = p.bucket {
        t.output(
            names::BUCKET_NAME,
            "This region's bucket",
            &bucket.ref_::<String>(),
        );
    }
    let alarm_names: Value<String> = Intrinsic::join(
        ",",
        p.alarms
            .all
            .iter()
            .map(|a| a.ref_::<String>().to_json())
            .collect(),
    )
    .into();
    t.output(
        names::ALARM_NAMES,
        "Comma-separated names of the alarms a rollout watches",
        &alarm_names,
    );
    if let Some(notify) = p.notify {
        t.output(
            names::ALERTS_TOPIC_ARN,
            "The SNS topic people are told through (alarms, deploys, DR)",
            &notify.topic.ref_::<String>(),
        );
    }
}
