//! One module per subcommand; each `run` returns the process exit code.

use super::args::{Cli, Command, GlobalArgs};

mod ami;
mod common;

pub use common::connect;
pub use validate::load_stack;
mod audit;
mod check;
mod cost;
mod completions;
mod deploy;
mod destroy;
mod dr;
mod plan;
mod rollback;
mod rollout_ctx;
mod sandbox;
mod status;
mod synth;
mod unlock;
mod validate;

/// The outcome of a command that could not finish: the exit code and what to say.
#[derive(Debug)]
pub struct Failure {
    pub code: i32,
    pub message: String,
}

impl Failure {
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
        }
    }
}

pub type Outcome = Result<i32, Failure>;

pub async fn run(cli: Cli) -> Outcome {
    let g: &GlobalArgs = &cli.global;
    match cli.command {
        Command::Validate(a) => validate::run(g, a).await,
        Command::Synth(a) => synth::run(g, a).await,
        Command::Check(a) => check::run(g, a).await,
        Command::Plan(a) => plan::run(g, a).await,
        Command::Cost(a) => cost::run(g, a).await,
        Command::Audit(a) => audit::run(g, a).await,
        Command::Deploy(a) => deploy::run(g, a).await,
        Command::Rollback(a) => rollback::run(g, a).await,
        Command::Status(a) => status::run(g, a).await,
        Command::Ami(a) => ami::run(g, a).await,
        Command::Dr(a) => dr::run(g, a).await,
        Command::Destroy(a) => destroy::run(g, a).await,
        Command::Unlock(a) => unlock::run(g, a).await,
        Command::Sandbox(a) => sandbox::run(g, a).await,
        Command::Completions(a) => completions::run(g, a).await,
        Command::Man => completions::man(g).await,
    }
}
