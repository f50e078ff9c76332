//! Typed CloudFormation: values and intrinsics, templates, and the resource types
//! generated from AWS's registry schemas (`src/cfn/generated/`, by `cargo xtask codegen`).

#[path = "generated/mod.rs"]
pub mod gen;
pub mod template;
pub mod value;

pub use template::{Handle, Options, Output, Parameter, Resource, ResourceEntry, Template};
pub use value::{Intrinsic, Value};
