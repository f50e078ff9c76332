//! strata's development tasks: `cargo xtask codegen` turns the vendored CloudFormation
//! registry schemas (`schemas/registry/`) into `src/cfn/generated/`.
//!
//! The generator is a library so the up-to-date test can regenerate in memory.

pub mod codegen;
pub mod naming;
pub mod patches;
