//! Diagnostics: one problem in a stack file, located at file:line:column, with
//! what is wrong and what is allowed.

use super::source_map::{FieldPath, Target};
use serde::Serialize;
use std::fmt;

/// A problem before it is located in the file: the field it is about, which part
/// of `key = value` to point at, what is wrong and what is allowed.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub path: FieldPath,
    pub target: Target,
    pub message: String,
    pub help: String,
}

impl Problem {
    /// A problem with a field's value.
    pub fn value(path: FieldPath, message: impl Into<String>, help: impl Into<String>) -> Self {
        Problem {
            path,
            target: Target::Value,
            message: message.into(),
            help: help.into(),
        }
    }

    /// A problem with a key (it should not be there).
    pub fn key(path: FieldPath, message: impl Into<String>, help: impl Into<String>) -> Self {
        Problem {
            path,
            target: Target::Key,
            message: message.into(),
            help: help.into(),
        }
    }
}

/// One problem found in a stack file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// The file, as the user named it.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// The field the problem is about, e.g. `regions[1].cidr` (empty for syntax errors).
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// What is allowed (may be empty).
    pub help: String,
}

impl fmt::Display for Diagnostic {
    /// `file:line:col: error: message`, then `  = help: ...` when there is help.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: error: {}",
            self.file, self.line, self.column, self.message
        )?;
        if !self.help.is_empty() {
            write!(f, "\n  = help: {}", self.help)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_location_message_and_help() {
        let d = Diagnostic {
            file: "stacks/x.toml".into(),
            line: 3,
            column: 8,
            path: "app.name".into(),
            message: "app name is empty".into(),
            help: "lowercase letters, digits and '-', 1-32 characters".into(),
        };
        assert_eq!(
            d.to_string(),
            "stacks/x.toml:3:8: error: app name is empty\n  = help: lowercase letters, digits and '-', 1-32 characters"
        );
        let bare = Diagnostic {
            help: String::new(),
            ..d
        };
        assert_eq!(
            bare.to_string(),
            "stacks/x.toml:3:8: error: app name is empty"
        );
    }
}
