//! Tables and queues. A global table (with a replica in every region) is declared
//! only in the home region's template (`context::home_region`); a table with
//! `global = false` is a plain table in every region. Every table has point-in-time
//! recovery, encryption and a NEW_AND_OLD_IMAGES stream. Every queue has a
//! dead-letter queue with a redrive policy; both use SQS-managed encryption.

use super::context::RegionCtx;
use super::lit::{int, opt, s, some, yes};
use super::{naming, tags};
use crate::cfn::gen::{dynamodb, sqs};
use crate::cfn::{Handle, Options, Template, Value};
use crate::stack::{Billing, Key, KeyType, Table};
use serde_json::json;

/// Target utilisation of provisioned write capacity on global tables.
const WRITE_TARGET_PERCENT: f64 = 70.0;

pub struct QueuePair {
    pub queue: Handle<sqs::Queue>,
    pub dead_letter: Handle<sqs::Queue>,
}

pub struct Data {
    pub queues: Vec<QueuePair>,
}

pub fn add(t: &mut Template, ctx: &RegionCtx) -> Data {
    for table in &ctx.def.tables {
        let id = format!("Table{}", naming::pascal(&table.name));
        if table.global {
            if ctx.is_home() {
                t.add_with(id, global_table(ctx, table), retain());
            }
        } else {
            t.add_with(id, regional_table(ctx, table), retain());
        }
    }
    let queues = ctx
        .def
        .queues
        .iter()
        .map(|q| {
            let id = format!("Queue{}", naming::pascal(&q.name));
            let mut dlq = sqs::Queue::default();
            dlq.queue_name = some(naming::dead_letter_queue_name(ctx.def, &q.name));
            dlq.message_retention_period = Some(int(q.dead_letter_retention_seconds));
            dlq.sqs_managed_sse_enabled = Some(yes(true));
            dlq.tags = Some(tags::standard(ctx));
            let dead_letter = t.add(format!("{id}DeadLetter"), dlq);

            let mut queue = sqs::Queue::default();
            queue.queue_name = some(naming::queue_name(ctx.def, &q.name));
            queue.visibility_timeout = Some(int(q.visibility_timeout_seconds));
            queue.sqs_managed_sse_enabled = Some(yes(true));
            queue.redrive_policy = Some(json!({
                "deadLetterTargetArn": dead_letter.arn().to_json(),
                "maxReceiveCount": q.max_receive_count,
            }));
            queue.tags = Some(tags::standard(ctx));
            let queue = t.add(id, queue);
            QueuePair { queue, dead_letter }
        })
        .collect();
    Data { queues }
}

/// The deletion attributes of every data resource (tables, global tables, the
/// bucket): kept when removed from a template, when their stack is deleted, or when
/// replaced — except when the operation that created them fails: then
/// CloudFormation deletes them with the rest, so the retry does not meet a table or
/// bucket of the same (fixed) name left behind
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html>,
/// `RetainExceptOnCreate`; `UpdateReplacePolicy` has no such value,
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-updatereplacepolicy.html>).
/// What a stack kept, the next stack that declares it takes back (`plan::adopt`).
pub(super) fn retain() -> Options {
    Options {
        deletion_policy: Some("RetainExceptOnCreate".into()),
        update_replace_policy: Some("Retain".into()),
        ..Options::default()
    }
}

/// The key attributes, each with whether it is the partition (HASH) key.
fn keys(table: &Table) -> Vec<(&Key, bool)> {
    std::iter::once((&table.partition_key, true))
        .chain(table.sort_key.iter().map(|k| (k, false)))
        .collect()
}

/// A key attribute's type (the two table modules each generate the same enums).
macro_rules! attribute_type {
    ($enum:ty, $kind:expr) => {{
        type A = $enum;
        match $kind {
            KeyType::S => A::S,
            KeyType::N => A::N,
            KeyType::B => A::B,
        }
    }};
}

/// A key's role: the partition key is HASH, the sort key RANGE.
macro_rules! key_type {
    ($enum:ty, $partition:expr) => {{
        type K = $enum;
        if $partition {
            K::Hash
        } else {
            K::Range
        }
    }};
}

fn global_table(ctx: &RegionCtx, table: &Table) -> dynamodb::GlobalTable {
    use dynamodb::global_table as gt;
    let provisioned = table.billing == Billing::Provisioned;
    let replicas: Vec<gt::ReplicaSpecification> = ctx
        .def
        .regions
        .iter()
        .map(|region| {
            let mut r = gt::ReplicaSpecification::new(s(region.name.as_str()));
            let mut pitr = gt::PointInTimeRecoverySpecification::default();
            pitr.point_in_time_recovery_enabled = Some(yes(true));
            r.point_in_time_recovery_specification = Some(pitr);
            if provisioned {
                let mut read = gt::ReadProvisionedThroughputSettings::default();
                read.read_capacity_units = Some(int(table.read_capacity.unwrap_or(1)));
                r.read_provisioned_throughput_settings = Some(read);
            }
            r.tags = Some(tags::of(ctx.def, &region.name, &[]));
            r
        })
        .collect();
    let mut g = dynamodb::GlobalTable::new(replicas);
    g.table_name = some(naming::table_name(ctx.def, &table.name));
    g.attribute_definitions = Some(
        keys(table)
            .into_iter()
            .map(|(k, _)| {
                gt::AttributeDefinition::new(
                    s(k.name.as_str()),
                    attribute_type!(gt::AttributeDefinitionAttributeType, k.kind),
                )
            })
            .collect(),
    );
    g.key_schema = Some(
        keys(table)
            .into_iter()
            .map(|(k, partition)| {
                gt::KeySchema::new(
                    key_type!(gt::KeySchemaKeyType, partition),
                    s(k.name.as_str()),
                )
            })
            .collect(),
    );
    if provisioned {
        let write = i64::from(table.write_capacity.unwrap_or(1));
        g.billing_mode = opt(gt::GlobalTableBillingMode::Provisioned);
        let mut settings = gt::WriteProvisionedThroughputSettings::default();
        settings.write_capacity_auto_scaling_settings = Some(gt::CapacityAutoScalingSettings::new(
            int(write),
            int(write),
            gt::TargetTrackingScalingPolicyConfiguration::new(Value::Lit(WRITE_TARGET_PERCENT)),
        ));
        g.write_provisioned_throughput_settings = Some(settings);
    } else {
        g.billing_mode = opt(gt::GlobalTableBillingMode::PayPerRequest);
    }
    g.sse_specification = Some(gt::SseSpecification::new(yes(true)));
    g.stream_specification = Some(gt::StreamSpecification::new(
        gt::StreamSpecificationStreamViewType::NewAndOldImages,
    ));
    g
}

fn regional_table(ctx: &RegionCtx, table: &Table) -> dynamodb::Table {
    use dynamodb::table as tb;
    let mut d = dynamodb::Table::new(
        keys(table)
            .into_iter()
            .map(|(k, partition)| {
                tb::KeySchema::new(
                    s(if partition { "HASH" } else { "RANGE" }),
                    s(k.name.as_str()),
                )
            })
            .collect::<Vec<_>>(),
    );
    d.table_name = some(naming::table_name(ctx.def, &table.name));
    d.attribute_definitions = Some(
        keys(table)
            .into_iter()
            .map(|(k, _)| {
                tb::AttributeDefinition::new(
                    s(k.name.as_str()),
                    attribute_type!(tb::AttributeDefinitionAttributeType, k.kind),
                )
            })
            .collect(),
    );
    match table.billing {
        Billing::Provisioned => {
            d.billing_mode = opt(tb::TableBillingMode::Provisioned);
            d.provisioned_throughput = Some(tb::ProvisionedThroughput::new(
                int(table.write_capacity.unwrap_or(1)),
                int(table.read_capacity.unwrap_or(1)),
            ));
        }
        Billing::OnDemand => d.billing_mode = opt(tb::TableBillingMode::PayPerRequest),
    }
    let mut pitr = tb::PointInTimeRecoverySpecification::default();
    pitr.point_in_time_recovery_enabled = Some(yes(true));
    d.point_in_time_recovery_specification = Some(pitr);
    d.sse_specification = Some(tb::SseSpecification::new(yes(true)));
    d.stream_specification = Some(tb::StreamSpecification::new(
        tb::StreamSpecificationStreamViewType::NewAndOldImages,
    ));
    d.tags = Some(tags::standard(ctx));
    d
}
