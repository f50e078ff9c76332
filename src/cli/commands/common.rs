//! What several commands share: loading the definition, connecting to AWS.

use super::Failure;
use crate::cli::args::GlobalArgs;
use std::path::Path;
use strata::aws::{Aws, AwsTarget};
use strata::exit_code;
use strata::stack::StackDef;

/// Load and validate a stack file; every problem becomes one exit-2 failure.
pub fn load_definition(path: &Path) -> Result<StackDef, Failure> {
    let src = std::fs::read_to_string(path).map_err(|e| {
        Failure::new(exit_code::INVALID_INPUT, format!("cannot read {}: {e}", path.display()))
    })?;
    toml::from_str(&src).map_err(|e| {
        Failure::new(exit_code::INVALID_INPUT, format!("{}: {e}", path.display()))
    })
}

/// Connect to AWS (or the sandbox) as the global flags say.
pub async fn connect(global: &GlobalArgs) -> Aws {
    Aws::connect(AwsTarget {
        endpoint_url: global.endpoint_url.clone(),
        profile: global.profile.clone(),
    })
    .await
}
