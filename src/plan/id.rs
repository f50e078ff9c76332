//! Identifiers generated once per deploy: the deployment id, change-set names, versions.

use sha2::{Digest, Sha256};

/// Every change set strata creates is named with this prefix.
pub const CHANGE_SET_PREFIX: &str = "strata-";

/// Prefix of the change set kept after a successful update, holding the template
/// and parameters the stack ran before; `strata rollback` executes it.
pub const PREVIOUS_PREFIX: &str = "strata-previous-";

/// The kept previous version of a stack: `strata-previous-<stack>`. Named after the
/// stack because the sandbox looks change sets up by name across a whole region.
pub fn previous_change_set(stack: &str) -> String {
    format!("{PREVIOUS_PREFIX}{stack}")
}

/// The change set of one deploy for one stack: `strata-<deployment id>-<stack><pass>`.
pub fn change_set_name(deployment_id: &str, stack: &str, pass: &str) -> String {
    format!("{CHANGE_SET_PREFIX}{deployment_id}-{stack}{pass}")
}

/// A new deployment id, e.g. "d20261125t010203-3fa9" (also the change-set suffix).
pub fn deployment_id(now: time::OffsetDateTime) -> String {
    let fmt = time::macros::format_description!("[year][month][day]t[hour][minute][second]");
    let stamp = now.format(&fmt).unwrap_or_else(|_| "0".into());
    format!("d{stamp}-{:04x}", rand::random::<u16>())
}

/// The first 8 hex digits of SHA-256 of the definition's text.
pub fn definition_hash(definition: &str) -> String {
    let digest = Sha256::digest(definition.as_bytes());
    hex::encode(&digest[..4])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_ids_are_valid_change_set_names() {
        let id = deployment_id(time::macros::datetime!(2026-11-25 01:02:03 UTC));
        let name = change_set_name(&id, "shop-prod-us-east-1", "-wire");
        assert!(name.starts_with("strata-d20261125t010203-"));
        assert!(name.ends_with("-shop-prod-us-east-1-wire"));
        assert!(name.len() <= 128);
        assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    }

    #[test]
    fn hash_changes_with_the_definition() {
        assert_ne!(definition_hash("a = 1"), definition_hash("a = 2"));
        assert_eq!(definition_hash("a = 1").len(), 8);
    }
}
