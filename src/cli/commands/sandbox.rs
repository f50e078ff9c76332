//! `strata sandbox`.

use super::{not_built, Outcome};
use crate::cli::args::{SandboxCommand, GlobalArgs};

pub async fn run(_global: &GlobalArgs, _args: SandboxCommand) -> Outcome {
    not_built("sandbox")
}
