//! Stack definitions: TOML in, typed and validated `StackDef` out.

pub mod model;

pub use model::*;
