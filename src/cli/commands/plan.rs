//! `strata plan`.

use super::{not_built, Outcome};
use crate::cli::args::{PlanArgs, GlobalArgs};

pub async fn run(_global: &GlobalArgs, _args: PlanArgs) -> Outcome {
    not_built("plan")
}
