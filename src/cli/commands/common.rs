//! What several commands share: connecting to AWS as the global flags say, and
//! the account pin every changing command checks. (Loading a stack file is
//! `validate::load_stack`.)

use super::Failure;
use crate::cli::args::GlobalArgs;
use strata::aws::{Aws, AwsTarget};
use strata::exit_code;
use strata::ops::account;
use strata::stack::StackDef;

/// Connect to AWS (or the sandbox) as the global flags say.
pub async fn connect(global: &GlobalArgs) -> Aws {
    Aws::connect(AwsTarget {
        endpoint_url: global.endpoint_url.clone(),
        profile: global.profile.clone(),
    })
    .await
}

/// The account pin (`app.account`), checked by every changing command before its
/// first change: the caller's account (STS GetCallerIdentity) must be one the
/// definition names, else exit 2 naming both; exit 7 when STS cannot say. No pin:
/// no call.
pub async fn check_account(aws: &Aws, def: &StackDef) -> Result<(), Failure> {
    if !account::pinned(def) {
        return Ok(());
    }
    let caller = aws.caller_account().await.map_err(|e| {
        Failure::new(
            exit_code::ENVIRONMENT,
            format!(
                "{} is pinned to account {}, and the caller's account could not be read, so nothing was changed: {e}",
                def.stack_name(),
                def.app.account.join(", ")
            ),
        )
    })?;
    account::check(def, &caller).map_err(|e| Failure::new(exit_code::INVALID_INPUT, e.to_string()))
}
