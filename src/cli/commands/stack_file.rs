//! Reading the stack file for `ami` and `status`: parse failures are invalid input
//! (exit 2). Uses `toml` into `StackDef` until `strata::stack::load` is merged.

use super::Failure;
use std::path::Path;
use strata::exit_code;
use strata::stack::StackDef;

pub fn load(path: &Path) -> Result<StackDef, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Failure::new(
            exit_code::INVALID_INPUT,
            format!("cannot read {}: {e}", path.display()),
        )
    })?;
    toml::from_str(&text)
        .map_err(|e| Failure::new(exit_code::INVALID_INPUT, format!("{}: {e}", path.display())))
}
