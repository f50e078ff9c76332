//! What several commands share: connecting to AWS as the global flags say.
//! (Loading a stack file is `validate::load_stack`.)

use crate::cli::args::GlobalArgs;
use strata::aws::{Aws, AwsTarget};

/// Connect to AWS (or the sandbox) as the global flags say.
pub async fn connect(global: &GlobalArgs) -> Aws {
    Aws::connect(AwsTarget {
        endpoint_url: global.endpoint_url.clone(),
        profile: global.profile.clone(),
    })
    .await
}
