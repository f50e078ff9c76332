//! CloudWatch alarms the rollout watches: load balancer 5xx responses, unhealthy
//! targets, and (wired phase, global tables) replication latency from this region
//! to every other region. Each alarm's name is `<stack>-<region>-<what>`, so a
//! deploy can find them; the `AlarmNames` output lists them.

use super::context::RegionCtx;
use super::lit::{int, opt, s, some};
use super::load_balancer::LoadBalancer;
use super::{naming, tags};
use crate::cfn::gen::cloudwatch;
use crate::cfn::gen::cloudwatch::alarm::{
    AlarmComparisonOperator, AlarmStatistic, AlarmTreatMissingData, Dimension,
};
use crate::cfn::{Handle, Template, Value};

pub struct Alarms {
    pub all: Vec<Handle<cloudwatch::Alarm>>,
}

pub fn add(t: &mut Template, ctx: &RegionCtx, lb: &LoadBalancer) -> Alarms {
    let prefix = ctx.def.region_stack_name(&ctx.region.name);
    let limits = &ctx.def.alarms;
    let mut all = Vec::new();

    let mut http_5xx = alarm(
        ctx,
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

    let mut unhealthy = alarm(
        ctx,
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
    Alarms { all }
}

/// An alarm on one metric, per minute, raised on one breaching minute out of one
/// at or above the threshold; missing data is not breaching.
fn alarm(ctx: &RegionCtx, name: String, namespace: &str, metric: &str) -> cloudwatch::Alarm {
    let mut a = cloudwatch::Alarm::default();
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
