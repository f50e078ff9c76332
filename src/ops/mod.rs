//! Team operations: the deploy lock, the responsible person, deploy windows.

pub mod dri;
pub mod lock;
pub mod window;
