//! The binary's side: argument types, command dispatch, event rendering.

pub mod args;
pub mod commands;
pub mod render;
