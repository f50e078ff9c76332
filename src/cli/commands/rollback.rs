//! `strata rollback`.

use super::{not_built, Outcome};
use crate::cli::args::{RollbackArgs, GlobalArgs};

pub async fn run(_global: &GlobalArgs, _args: RollbackArgs) -> Outcome {
    not_built("rollback")
}
