//! One module per subcommand; each `run` returns the process exit code.

use super::args::{Cli, Command, GlobalArgs};

mod ami;
mod approve;
mod common;

pub use common::{check_account, connect};
pub use validate::load_stack;
mod audit;
mod check;
mod completions;
mod cost;
mod deploy;
mod destroy;
mod dr;
mod drift;
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
    /// The command already printed its failure as JSON on stdout (validate's
    /// diagnostics object), so `--output json` adds no `{"error": …}` line.
    pub json_reported: bool,
}

impl Failure {
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
            json_reported: false,
        }
    }

    /// Mark the failure as already printed in JSON (see `json_reported`).
    pub fn json_reported(mut self) -> Self {
        self.json_reported = true;
        self
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
        Command::Rollback(a) => with_error_summary(g, rollback::run(g, a).await),
        Command::Status(a) => status::run(g, a).await,
        Command::Drift(a) => drift::run(g, a).await,
        Command::Ami(a) => ami::run(g, a).await,
        Command::Dr(a) => dr::run(g, a).await,
        Command::Destroy(a) => with_error_summary(g, destroy::run(g, a).await),
        Command::Unlock(a) => unlock::run(g, a).await,
        Command::Approve(a) => approve::run(g, a).await,
        Command::Sandbox(a) => sandbox::run(g, a).await,
        Command::Completions(a) => completions::run(g, a).await,
        Command::Man => completions::man(g).await,
    }
}

/// Off a terminal, a changing command that ends with exit 7 still ends with a
/// `{"summary": …}` line (deploy does the same with its deployment id).
fn with_error_summary(g: &GlobalArgs, outcome: Outcome) -> Outcome {
    if let Err(f) = &outcome {
        if f.code == strata::exit_code::ENVIRONMENT {
            crate::cli::render::show_error_summary(g, "", &f.message);
        }
    }
    outcome
}
