//! What several commands share: connecting to AWS as the global flags say, and
//! the account pin every changing command checks. (Loading a stack file is
//! `validate::load_stack`.)

use super::Failure;
use crate::cli::args::GlobalArgs;
use strata::aws::{Aws, AwsTarget};
use strata::stack::StackDef;

/// Connect to AWS (or the sandbox) as the global flags say.
pub async fn connect(global: &GlobalArgs) -> Aws {
    Aws::connect(AwsTarget {
        endpoint_url: global.endpoint_url.clone(),
        profile: global.profile.clone(),
    })
    .await
}

/// The account pin (`app.account`) for a changing command outside the pipeline
/// (`unlock`, the AMI commands): `app::check_account`, exit 2 for another account,
/// exit 7 when STS cannot say.
pub async fn check_account(aws: &Aws, def: &StackDef) -> Result<(), Failure> {
    strata::app::check_account(aws, def)
        .await
        .map_err(super::rollout_ctx::failure)
}
