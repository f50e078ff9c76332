//! `strata synth`.

use super::{not_built, Outcome};
use crate::cli::args::{SynthArgs, GlobalArgs};

pub async fn run(_global: &GlobalArgs, _args: SynthArgs) -> Outcome {
    not_built("synth")
}
