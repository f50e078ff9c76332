//! The stack file, read once: the validated `StackDef`, the text it came from,
//! and what later stages would otherwise parse again (the source hash that goes
//! into the version, the rollout durations).

use crate::plan::definition_hash;
use crate::stack::diag::Diagnostic;
use crate::stack::{self, LoadError, StackDef};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A loaded stack definition: every later stage reads this, never the file.
#[derive(Debug, Clone)]
pub struct Definition {
    pub def: StackDef,
    /// The file as the user named it (for messages: `strata unlock FILE`).
    pub path: PathBuf,
    /// The file's text, as it was read.
    pub text: String,
    /// `plan::definition_hash` of the text: the second half of the version.
    pub source_hash: String,
    /// `rollout.bake`, parsed.
    pub bake: Duration,
    /// `rollout.gate_timeout`, parsed.
    pub gate_timeout: Duration,
}

/// Read the stack file once, validate it, and parse what later stages need.
pub fn load(path: &Path) -> Result<Definition, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    from_text(path, text)
}

/// A definition from text already read (`path` names it in diagnostics).
pub fn from_text(path: &Path, text: String) -> Result<Definition, LoadError> {
    let file = path.display().to_string();
    let def = stack::load_str(&text, &file)?;
    // `stack::load` validated both; a failure here is a bug in that validation,
    // reported like any other problem of the file rather than a panic.
    let duration = |field: &str, value: &str| {
        stack::duration::parse_duration(value).map_err(|e| LoadError::Invalid {
            file: file.clone(),
            diagnostics: vec![Diagnostic {
                file: file.clone(),
                line: 1,
                column: 1,
                path: format!("rollout.{field}"),
                message: e.to_string(),
                help: String::new(),
            }],
        })
    };
    let bake = duration("bake", &def.rollout.bake)?;
    let gate_timeout = duration("gate_timeout", &def.rollout.gate_timeout)?;
    Ok(Definition {
        source_hash: definition_hash(&text),
        def,
        path: path.to_path_buf(),
        text,
        bake,
        gate_timeout,
    })
}
