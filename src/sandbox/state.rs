//! `.strata/sandbox.json`: the pid and port of the moto that `strata sandbox up` started.

use super::SandboxError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What `up` records and `status` / `env` / `down` read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxState {
    pub pid: u32,
    pub port: u16,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// moto's log file.
    pub log: PathBuf,
    /// RFC 3339 UTC.
    pub started_at: String,
}

/// Read the state file; `None` when there is none.
pub fn read(path: &Path) -> Result<Option<SandboxState>, SandboxError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(SandboxError::io("cannot read", path, e)),
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| SandboxError::BadState {
            path: path.to_path_buf(),
            detail: format!("{e} (delete the file if no sandbox runs)"),
        })
}

/// Write the state file atomically (temp file + rename).
pub fn write(path: &Path, state: &SandboxState) -> Result<(), SandboxError> {
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_string_pretty(state).expect("state serializes");
    std::fs::write(&tmp, text + "\n").map_err(|e| SandboxError::io("cannot write", &tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| SandboxError::io("cannot write", path, e))
}

/// Remove the state file (absent is fine).
pub fn remove(path: &Path) -> Result<(), SandboxError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(SandboxError::io("cannot remove", path, e)),
    }
}
