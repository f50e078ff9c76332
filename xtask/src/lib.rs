//! strata's development tasks: `cargo xtask codegen` turns the vendored CloudFormation
//! registry schemas (`schemas/registry/`) into `src/cfn/generated/`.
//!
//! `cargo xtask vendor-schemas` refreshes those pinned inputs from a cfn-lint wheel.
//! The generator is a library so the up-to-date test can regenerate in memory.

pub mod codegen;
pub mod naming;
pub mod patches;
pub mod vendor;
