//! Disaster recovery: take a failed region out of service through Route 53 alone
//! (`failover`), rebuild it from the definition (`rebuild`), and rehearse both
//! (`drill`). `dns` is strata's model of what Route 53 answers for the routed
//! names, since the sandbox does not compute DNS answers. After a recovery,
//! `repair` moves the dead-letter queues' messages back to their queues and
//! watches the write buffer drain.
//!
//! How a region leaves DNS: its records use a CALCULATED "serving" health check
//! (`synth::serving_check`) whose one child is the endpoint check. Failover raises
//! the serving check's threshold above its number of children (always unhealthy);
//! putting the region back sets it to 1 again. See docs/dr.md.

pub mod backfill;
pub mod capacity;
pub mod dns;
pub mod dns_reads;
pub mod drill;
mod error;
pub mod failover;
pub mod fault;
pub mod rebuild;
pub mod records;
pub mod repair;
pub mod restore;
pub mod stack_refs;

pub use error::DrError;
