//! CloudWatch alarms the rollout watches: load balancer 5xx responses, the
//! targets' own 5xx responses and p99 response time (a release whose instances
//! answer 500, or answer slowly, trips them), unhealthy targets, and, in the wired
//! phase, global-table replication latency and S3 replication failures from this
//! region to every other region (every region watches its own outgoing
//! replication, so a lag is seen from wherever it starts). Each alarm's name is
//! `<stack>-<region>-<what>`, so a deploy can find them; the `AlarmNames` output
//! lists them, and the gate and the bake read every one.
//!
//! Metrics: ELB's `HTTPCode_Target_5XX_Count` and `TargetResponseTime`
//! (<https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html>),
//! DynamoDB's `ReplicationLatency`, and S3's `OperationsFailedReplication` with
//! the `SourceBucket`, `DestinationBucket` and `RuleId` dimensions, published once
//! a rule enables replication metrics
//! (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/metrics-dimensions.html>,
//! <https://docs.aws.amazon.com/AmazonS3/latest/userguide/repl-metrics.html>).

use super::context::RegionCtx;
use super::data::Data;
use super::lit::{int, opt, s, some};
use super::load_balancer::LoadBalancer;
use super::notify::Notify;
use super::{naming, storage, tags};
use crate::cfn::gen::cloudwatch;
use crate::cfn::gen::cloudwatch::alarm::{
    AlarmComparisonOperator, AlarmStatistic, AlarmTreatMissingData, Dimension,
};
use crate::cfn::{Handle, Template, Value};

/// The end of the name of an alarm that tells people but does not gate a rollout
/// (a dead-letter queue holding messages: one left from last week must not block
/// every deploy until `strata dr repair` moved it back).
pub const TOLD_ONLY_ALARM_SUFFIX: &str = "-dead-letters";

pub struct Alarms {
    /// The alarms the gate and the bake read.
    pub all: Vec<Handle<cloudwatch::Alarm>>,
}

pub fn add(
    t: &mut Template,
    ctx: &RegionCtx,
    lb: &LoadBalancer,
    data: &Data,
    notify: Option<&Notify>,
) -> Alarms {
    let prefix = ctx.def.region_stack_name(&ctx.region.name);
    let limits = &ctx.def.alarms;
    let actions: &[Value<String>] = notify.map(|n| n.actions.as_slice()).unwrap_or(&[]);
    let mut all = Vec::new();

    // Messages in a dead-letter queue: people are told, but the rollout is not
    // gated on them (a message left from last week would otherwise block every
    // deploy until `strata dr repair` moved it back).
    for (q, pair) in ctx.def.queues.iter().zip(&data.queues) {
        let mut dlq = alarm(
            ctx,
            actions,
            format!("{prefix}-{}{TOLD_ONLY_ALARM_SUFFIX}", q.name),
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
        );
        dlq.alarm_description = some(format!(
            "Messages in the dead-letter queue of {}",
            naming::queue_name(ctx.def, &q.name)
        ));
        dlq.statistic = opt(AlarmStatistic::Maximum);
        dlq.threshold = Some(Value::Lit(1.0));
        dlq.dimensions = Some(vec![Dimension::new(
            pair.dead_letter.queue_name(),
            s("QueueName"),
        )]);
        t.add(
            format!("Queue{}DeadLettersAlarm", naming::pascal(&q.name)),
            dlq,
        );
    }

    let mut http_5xx = alarm(
        ctx,
        actions,
        format!("{prefix}-alb-5xx"),
        "AWS/ApplicationELB",
        "HTTPCode_ELB_5XX_Count",
    );
    http_5xx.alarm_description = some("Load balancer 5xx responses per minute");
    http_5xx.statistic = opt(AlarmStatistic::Sum);
    http_5xx.threshold = Some(Value::Lit(f64::from(limits.http_5xx_per_minute)));
    http_5xx.dimensions = Some(vec![Dimension::new(
        lb.alb.load_balancer_full_name(),
        s("LoadBalancer"),
    )]);
    all.push(t.add("Alb5xxAlarm", http_5xx));

    let mut target_5xx = alarm(
        ctx,
        actions,
        format!("{prefix}-target-5xx"),
        "AWS/ApplicationELB",
        "HTTPCode_Target_5XX_Count",
    );
    target_5xx.alarm_description = some("5xx responses of the instances per minute");
    target_5xx.statistic = opt(AlarmStatistic::Sum);
    target_5xx.threshold = Some(Value::Lit(f64::from(limits.target_5xx_per_minute)));
    target_5xx.dimensions = Some(vec![Dimension::new(
        lb.alb.load_balancer_full_name(),
        s("LoadBalancer"),
    )]);
    all.push(t.add("Target5xxAlarm", target_5xx));

    let mut latency = alarm(
        ctx,
        actions,
        format!("{prefix}-target-response-time"),
        "AWS/ApplicationELB",
        "TargetResponseTime",
    );
    latency.alarm_description = some("p99 response time of the instances (seconds)");
    latency.extended_statistic = some("p99");
    // TargetResponseTime is in seconds.
    latency.threshold = Some(Value::Lit(
        f64::from(limits.target_response_time_ms) / 1000.0,
    ));
    latency.dimensions = Some(vec![Dimension::new(
        lb.alb.load_balancer_full_name(),
        s("LoadBalancer"),
    )]);
    all.push(t.add("TargetResponseTimeAlarm", latency));

    let mut unhealthy = alarm(
        ctx,
        actions,
        format!("{prefix}-unhealthy-hosts"),
        "AWS/ApplicationELB",
        "UnHealthyHostCount",
    );
    unhealthy.alarm_description = some("Unhealthy targets behind the load balancer");
    unhealthy.statistic = opt(AlarmStatistic::Maximum);
    unhealthy.threshold = Some(Value::Lit(f64::from(limits.unhealthy_hosts)));
    unhealthy.dimensions = Some(vec![
        Dimension::new(lb.alb.load_balancer_full_name(), s("LoadBalancer")),
        Dimension::new(lb.target_group.target_group_full_name(), s("TargetGroup")),
    ]);
    all.push(t.add("UnhealthyHostsAlarm", unhealthy));

    if ctx.wired() {
        for table in ctx.def.tables.iter().filter(|t| t.global) {
            let table_name = naming::table_name(ctx.def, &table.name);
            for other in ctx.other_regions() {
                let mut lag = alarm(
                    ctx,
                    actions,
                    format!("{prefix}-{}-replication-to-{}", table.name, other.name),
                    "AWS/DynamoDB",
                    "ReplicationLatency",
                );
                lag.alarm_description = some(format!(
                    "Replication latency of {table_name} from {} to {} (ms)",
                    ctx.region.name, other.name
                ));
                lag.statistic = opt(AlarmStatistic::Average);
                lag.threshold = Some(Value::Lit(f64::from(limits.replication_latency_ms)));
                lag.dimensions = Some(vec![
                    Dimension::new(s(table_name.as_str()), s("TableName")),
                    Dimension::new(s(other.name.as_str()), s("ReceivingRegion")),
                ]);
                all.push(t.add(
                    format!(
                        "Table{}ReplicationLatency{}Alarm",
                        naming::pascal(&table.name),
                        naming::pascal(&other.name)
                    ),
                    lag,
                ));
            }
        }
    }
    if ctx.wired() && ctx.def.storage.enabled && ctx.def.storage.replication {
        let source = naming::bucket_name(ctx.def, &ctx.region.name);
        for other in ctx.other_regions() {
            let dest = naming::bucket_name(ctx.def, &other.name);
            let mut failed = alarm(
                ctx,
                actions,
                format!("{prefix}-bucket-replication-failures-to-{}", other.name),
                "AWS/S3",
                "OperationsFailedReplication",
            );
            failed.alarm_description = some(format!(
                "Objects of the {} bucket that failed to replicate to the {} bucket",
                ctx.region.name, other.name
            ));
            failed.statistic = opt(AlarmStatistic::Sum);
            failed.threshold = Some(Value::Lit(f64::from(
                limits.replication_failures_per_minute,
            )));
            failed.dimensions = Some(vec![
                Dimension::new(source.clone(), s("SourceBucket")),
                Dimension::new(dest, s("DestinationBucket")),
                Dimension::new(s(storage::replication_rule_id(&other.name)), s("RuleId")),
            ]);
            all.push(t.add(
                format!(
                    "BucketReplicationFailures{}Alarm",
                    naming::pascal(&other.name)
                ),
                failed,
            ));
        }
    }
    Alarms { all }
}

/// An alarm on one metric, per minute, raised on one breaching minute out of one
/// at or above the threshold; missing data is not breaching.
fn alarm(
    ctx: &RegionCtx,
    actions: &[Value<String>],
    name: String,
    namespace: &str,
    metric: &str,
) -> cloudwatch::Alarm {
    let mut a = cloudwatch::Alarm::default();
    if !actions.is_empty() {
        a.alarm_actions = Some(actions.to_vec());
        a.ok_actions = Some(actions.to_vec());
    }
    a.alarm_name = some(name);
    a.namespace = some(namespace);
    a.metric_name = some(metric);
    a.period = Some(int(60));
    a.evaluation_periods = Some(int(1));
    a.comparison_operator = opt(AlarmComparisonOperator::GreaterThanOrEqualToThreshold);
    a.treat_missing_data = opt(AlarmTreatMissingData::NotBreaching);
    a.tags = Some(tags::standard(ctx));
    a
}
