//! Shared test support. Each piece has one file; a test binary includes this module
//! with `mod support;` and uses what it needs.
#![allow(dead_code)]

pub mod aws;
pub mod cfn_lint;
pub mod checkov;
pub mod cli;
pub mod data;
pub mod dr_stack;
pub mod fault_proxy;
pub mod sandbox;
pub mod sdk;
pub mod stacks;
