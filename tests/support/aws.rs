//! Test support: the library's AWS adapter pointed at an endpoint (the sandbox or a
//! fault proxy), for tests that set up or read back state directly.

use std::sync::Once;
use strata::aws::{Aws, AwsTarget};

static ENV: Once = Once::new();

/// Fake credentials for the test process itself (set once, before any client).
fn fake_credentials() {
    ENV.call_once(|| {
        std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
        std::env::remove_var("AWS_PROFILE");
        std::env::set_var("AWS_CONFIG_FILE", "/dev/null");
        std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
    });
}

/// The adapter, with every call sent to `endpoint`.
pub async fn connect(endpoint: &str) -> Aws {
    fake_credentials();
    Aws::connect(AwsTarget {
        endpoint_url: Some(endpoint.to_string()),
        profile: None,
    })
    .await
}
