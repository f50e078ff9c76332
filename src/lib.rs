//! strata: one typed stack definition, built into identical regional AWS stacks,
//! wired together with latency / failover DNS, and rolled out one region at a time.
//!
//! The library is a pipeline of stages whose types are the interface:
//! `stack` (load + validate) -> `synth` (templates) -> `policy` -> `plan` -> `deploy`.
//! Only `aws` talks to AWS; the library never prints, it emits `events`.

pub mod ami;
pub mod app;
pub mod audit;
pub mod aws;
pub mod call_error;
pub mod cfn;
pub mod cost;
pub mod deploy;
pub mod dr;
pub mod drift;
pub mod events;
pub mod exit_code;
#[cfg(test)]
pub(crate) mod fake;
pub mod ops;
pub mod plan;
pub mod policy;
pub mod sandbox;
pub mod stack;
pub mod status;
pub mod synth;
