//! The usage a cost estimate assumes: the stack file's `[cost]` figures, or the
//! defaults (each printed with the rule it follows).

use crate::stack::StackDef;
use serde::Serialize;

/// Seconds in the 730-hour month the price table uses.
pub const SECONDS_PER_MONTH: f64 = 730.0 * 3600.0;

/// Average load as a share of `capacity.peak_rps`, for the default request volume.
pub const DEFAULT_AVERAGE_LOAD: f64 = 0.3;
/// Average response size in KB (1 KB = 1,000 bytes), for the default GB out.
pub const DEFAULT_RESPONSE_KB: f64 = 20.0;

/// The monthly usage of the whole service.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Usage {
    pub requests: f64,
    pub gb_out: f64,
    pub gb_stored: f64,
    pub gb_written: f64,
    pub writes: f64,
    pub reads: f64,
    pub table_gb: f64,
    /// Per region.
    pub nat_gb: f64,
    pub queue_messages: f64,
    pub dns_queries: f64,
}

/// One figure of the usage, where it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assumption {
    /// The `[cost]` field.
    pub field: &'static str,
    pub value: f64,
    pub unit: &'static str,
    /// Stated in the stack file (false: the default).
    pub stated: bool,
    /// The default's rule.
    pub default_rule: &'static str,
}

/// The usage of `def`, and where each figure came from.
pub fn usage(def: &StackDef) -> (Usage, Vec<Assumption>) {
    let c = &def.cost;
    let mut out = Vec::new();
    let mut take = |field, stated: Option<f64>, default: f64, unit, default_rule| {
        out.push(Assumption {
            field,
            value: stated.unwrap_or(default),
            unit,
            stated: stated.is_some(),
            default_rule,
        });
        stated.unwrap_or(default)
    };
    let requests = take(
        "requests_per_month",
        c.requests_per_month,
        f64::from(def.capacity.peak_rps) * DEFAULT_AVERAGE_LOAD * SECONDS_PER_MONTH,
        "requests",
        "30% of capacity.peak_rps, every second of a 730-hour month",
    );
    let gb_out = take(
        "gb_out_per_month",
        c.gb_out_per_month,
        requests * DEFAULT_RESPONSE_KB / 1e6,
        "GB",
        "20 KB per request",
    );
    let gb_stored = take("gb_stored", c.gb_stored, 100.0, "GB", "100 GB");
    let gb_written = take(
        "gb_written_per_month",
        c.gb_written_per_month,
        10.0,
        "GB",
        "10 GB",
    );
    let writes = take(
        "writes_per_month",
        c.writes_per_month,
        requests * 0.1,
        "writes",
        "one 1 KB item write per 10 requests",
    );
    let reads = take(
        "reads_per_month",
        c.reads_per_month,
        requests,
        "reads",
        "one 4 KB item read per request",
    );
    let table_gb = take("table_gb_stored", c.table_gb_stored, 10.0, "GB", "10 GB");
    let nat_gb = take(
        "nat_gb_per_month",
        c.nat_gb_per_month,
        10.0,
        "GB per region",
        "10 GB per region",
    );
    let queue_messages = take(
        "queue_messages_per_month",
        c.queue_messages_per_month,
        writes,
        "messages",
        "one per write",
    );
    let dns_queries = take(
        "dns_queries_per_month",
        c.dns_queries_per_month,
        1e6,
        "queries",
        "1,000,000 (CloudFront caches the origin name)",
    );
    (
        Usage {
            requests,
            gb_out,
            gb_stored,
            gb_written,
            writes,
            reads,
            table_gb,
            nat_gb,
            queue_messages,
            dns_queries,
        },
        out,
    )
}
