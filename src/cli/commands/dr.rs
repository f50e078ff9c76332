//! `strata dr`.

use super::{not_built, Outcome};
use crate::cli::args::{DrCommand, GlobalArgs};

pub async fn run(_global: &GlobalArgs, _args: DrCommand) -> Outcome {
    not_built("dr")
}
