//! `strata deploy`.

use super::{not_built, Outcome};
use crate::cli::args::{DeployArgs, GlobalArgs};

pub async fn run(_global: &GlobalArgs, _args: DeployArgs) -> Outcome {
    not_built("deploy")
}
