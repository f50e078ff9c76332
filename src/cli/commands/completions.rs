//! `strata completions SHELL` and `strata man`: generated from the clap definition.

use super::Outcome;
use crate::cli::args::{Cli, CompletionsArgs, GlobalArgs};
use clap::CommandFactory;
use strata::exit_code;

pub async fn run(_global: &GlobalArgs, args: CompletionsArgs) -> Outcome {
    let mut cmd = Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "strata", &mut std::io::stdout());
    Ok(exit_code::SUCCESS)
}

pub async fn man(_global: &GlobalArgs) -> Outcome {
    let cmd = Cli::command();
    clap_mangen::Man::new(cmd)
        .render(&mut std::io::stdout())
        .map_err(|e| {
            super::Failure::new(
                exit_code::ENVIRONMENT,
                format!("cannot write the man page: {e}"),
            )
        })?;
    Ok(exit_code::SUCCESS)
}
