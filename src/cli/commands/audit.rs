//! `strata audit`: placeholder while the audit lands.
use super::{Failure, Outcome};
use crate::cli::args::{AuditArgs, GlobalArgs};
pub async fn run(_global: &GlobalArgs, _args: AuditArgs) -> Outcome {
    Err(Failure::new(strata::exit_code::ENVIRONMENT, "audit is not built yet"))
}
