//! `SandboxError`: everything that can go wrong preparing, starting or stopping moto.

use std::path::PathBuf;
use std::time::Duration;

/// A sandbox failure, with the command, file or port it concerns and, for failed
/// commands, the tail of what they printed.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error(
        "cannot run `{python}` to create the sandbox venv: {source} \
         (install python3 with its venv module, or set STRATA_PYTHON to a python3 binary)"
    )]
    PythonMissing {
        python: String,
        #[source]
        source: std::io::Error,
    },

    #[error("`{command}` failed ({status}); last lines of its output:\n{tail}")]
    CommandFailed {
        command: String,
        status: String,
        tail: String,
    },

    #[error(
        "`{command}` did not finish within {}s and was killed; last lines of its output:\n{tail}",
        .timeout.as_secs()
    )]
    CommandTimedOut {
        command: String,
        timeout: Duration,
        tail: String,
    },

    #[error("cannot start moto (`{command}`): {source}")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },

    #[error("moto (pid {pid}, port {port}) exited before it answered; last lines of {}:\n{tail}", .log.display())]
    MotoExited {
        pid: u32,
        port: u16,
        log: PathBuf,
        tail: String,
    },

    #[error(
        "moto (pid {pid}, port {port}) did not answer GET /moto-api/ within {}s; \
         last lines of {}:\n{tail}",
        .timeout.as_secs(), .log.display()
    )]
    MotoNotAnswering {
        pid: u32,
        port: u16,
        timeout: Duration,
        log: PathBuf,
        tail: String,
    },

    #[error("no free port for moto after {attempts} attempts (last tried {port})")]
    NoFreePort { attempts: u32, port: u16 },

    #[error("the sandbox is not running (no live moto recorded in {}); run `strata sandbox up`", .state_file.display())]
    NotRunning { state_file: PathBuf },

    #[error("cannot stop moto (pid {pid}): {source}")]
    Stop {
        pid: u32,
        #[source]
        source: std::io::Error,
    },

    #[error("moto (pid {pid}) still runs {}s after SIGKILL", .waited.as_secs())]
    StillRunning { pid: u32, waited: Duration },

    #[error("HTTP {method} {url} failed: {detail}")]
    Http {
        method: &'static str,
        url: String,
        detail: String,
    },

    #[error("cannot read the sandbox state file {}: {detail}", .path.display())]
    BadState { path: PathBuf, detail: String },

    #[error("{action} {}: {source}", .path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl SandboxError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        SandboxError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
