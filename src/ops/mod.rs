//! Team operations: the deploy lock, the responsible person, deploy windows,
//! telling people, the account pin, promotion, four eyes.

pub mod account;
pub mod approvals;
pub mod dri;
pub mod lock;
pub mod notify;
pub mod promotion;
pub mod rules;
pub mod window;
