//! The application layer: one entry for every command that reads a stack file
//! and plans or changes anything.
//!
//! ```text
//! app::definition::load  -> Definition   the file read once: StackDef, text, source hash, durations
//! app::prepare(Request)  -> Pipeline     region filters, operations rules, synth (both phases),
//!                                        policy gate, connect, AMIs, desired state
//! Pipeline::lock / locked / settings     the deploy lock and the deploy record
//! Pipeline::drift / restore_drift        what differs from the deployed templates, put back
//! ```
//!
//! Which rules apply to which command is one table (`Command`). The binary parses
//! arguments into a `Request`, renders the events, and maps `AppError` to exit
//! codes; no command builds its own pipeline.

mod command;
pub mod definition;
mod drift;
mod error;
mod pipeline;
pub mod zone;

pub use command::Command;
pub use definition::Definition;
pub use error::AppError;
pub use pipeline::{
    check_account, n_plus_one_diagnostics, prepare, LockRelease, Operator, Pipeline, Request,
};
