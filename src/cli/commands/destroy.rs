//! `strata destroy`.

use super::{not_built, Outcome};
use crate::cli::args::{DestroyArgs, GlobalArgs};

pub async fn run(_global: &GlobalArgs, _args: DestroyArgs) -> Outcome {
    not_built("destroy")
}
