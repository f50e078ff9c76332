//! `strata status`.

use super::{not_built, Outcome};
use crate::cli::args::{FileArg, GlobalArgs};

pub async fn run(_global: &GlobalArgs, _args: FileArg) -> Outcome {
    not_built("status")
}
