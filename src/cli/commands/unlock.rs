//! `strata unlock`.

use super::{not_built, Outcome};
use crate::cli::args::{UnlockArgs, GlobalArgs};

pub async fn run(_global: &GlobalArgs, _args: UnlockArgs) -> Outcome {
    not_built("unlock")
}
