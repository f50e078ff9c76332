//! Team operations: the deploy lock, the responsible person, deploy windows,
//! telling people.

pub mod dri;
pub mod lock;
pub mod notify;
pub mod rules;
pub mod window;
