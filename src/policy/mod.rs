//! The policy stage (placeholder while it is being built).
pub mod guard;
