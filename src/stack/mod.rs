//! Stack definitions: TOML in, typed and validated `StackDef` out.
//!
//! `load` reads a file, `validate` checks its meaning, `source_map` ties every
//! field path back to file:line:column, `diag` is what a problem looks like.

pub mod diag;
pub mod duration;
pub mod fields;
pub mod load;
pub mod model;
pub mod regions;
pub mod source_map;
pub mod validate;

pub use diag::Diagnostic;
pub use load::{load, load_str, locate_problems, read_text, LoadError};
pub use model::*;
