//! The account pin: a stack file may name the AWS account(s) it belongs to
//! (`app.account`); every changing command compares the caller's account (STS
//! GetCallerIdentity) with it before any change, as CDK's `env.account` and
//! Terraform's `allowed_account_ids` do, so credentials for the wrong account
//! (staging's definition with production's profile) change nothing.

use crate::stack::StackDef;

/// The caller's account is not one the definition names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the credentials are for AWS account {caller}, but {stack} belongs to {}: nothing was changed (use the profile or credentials of that account, or add {caller} to `app.account`)",
    allowed.join(", ")
)]
pub struct WrongAccount {
    pub stack: String,
    pub caller: String,
    pub allowed: Vec<String>,
}

/// True when the definition pins its account(s): only then is STS asked.
pub fn pinned(def: &StackDef) -> bool {
    !def.app.account.is_empty()
}

/// Check the caller's account against the pin (no pin: any account).
pub fn check(def: &StackDef, caller: &str) -> Result<(), WrongAccount> {
    if !pinned(def) || def.app.account.iter().any(|a| a == caller) {
        return Ok(());
    }
    Err(WrongAccount {
        stack: def.stack_name(),
        caller: caller.to_string(),
        allowed: def.app.account.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(accounts: &[&str]) -> StackDef {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/stacks/example.toml"))
                .unwrap();
        let mut d = crate::stack::load_str(&text, "example.toml").unwrap();
        d.app.account = accounts.iter().map(|a| a.to_string()).collect();
        d
    }

    #[test]
    fn only_a_named_account_passes_and_the_refusal_names_both() {
        assert!(check(&def(&[]), "999999999999").is_ok());
        assert!(!pinned(&def(&[])));
        let d = def(&["123456789012", "210987654321"]);
        assert!(check(&d, "210987654321").is_ok());
        let e = check(&d, "999999999999").unwrap_err();
        let text = e.to_string();
        assert!(text.contains("999999999999") && text.contains("123456789012, 210987654321"));
        assert!(text.contains("shop-prod"), "{text}");
    }
}
