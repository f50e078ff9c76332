//! `strata ami`.

use super::{not_built, Outcome};
use crate::cli::args::{AmiCommand, GlobalArgs};

pub async fn run(_global: &GlobalArgs, _args: AmiCommand) -> Outcome {
    not_built("ami")
}
