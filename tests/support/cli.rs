//! Test support: run the real `strata` binary in an isolated environment.
//!
//! The child sees no variable of the developer's shell except `PATH`, `HOME`,
//! `TMPDIR` and the Rust diagnostics ones: fake credentials, region `us-east-1`,
//! empty AWS config and credentials files, no `AWS_PROFILE`, IMDS disabled,
//! `STRATA_DRI=test`, the repository's shared venv (`STRATA_VENV`), a private
//! `STRATA_SANDBOX_DIR` (a test can never stop the developer's own sandbox), stdin
//! empty (a prompt reads EOF), and the repository as its working directory.
//!
//! ```ignore
//! let run = support::cli::strata(&["validate", "stacks/example.toml"]);
//! assert_eq!(run.code, 0, "{}", run.stderr);
//! let run = support::cli::strata_sandbox(&["plan", "stacks/example.toml"]); // against moto
//! let (code, stdout, stderr) = support::cli::strata_at(&proxy.url(), &["deploy", "..."]).into_parts();
//! ```

use super::sandbox;
use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// An endpoint where nothing listens (connections are refused at once): proves
/// that a command made no AWS call, or fails cleanly when AWS is unreachable.
pub const UNREACHABLE_ENDPOINT: &str = "http://127.0.0.1:9";

/// How long one `strata` run may take before the test kills it and fails
/// (`STRATA_TEST_RUN_TIMEOUT_SECS`, default 900): a guard against hangs, not a
/// timing assertion.
pub fn run_limit() -> Duration {
    std::env::var("STRATA_TEST_RUN_TIMEOUT_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(900))
}

/// The per-test-binary scratch directory: empty AWS files, the private sandbox dir.
fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("strata-test-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sandbox")).expect("create test scratch dir");
        for name in ["aws-config", "aws-credentials"] {
            std::fs::write(dir.join(name), "").expect("write empty AWS file");
        }
        dir
    })
}

/// `strata` with the isolated environment and no endpoint set (the SDK's default
/// endpoints: only for commands that must not reach AWS at all).
pub fn command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_strata"));
    cmd.env_clear();
    for name in [
        "PATH",
        "HOME",
        "TMPDIR",
        "RUST_BACKTRACE",
        "RUST_LOG",
        "LLVM_PROFILE_FILE",
    ] {
        if let Some(v) = std::env::var_os(name) {
            cmd.env(name, v);
        }
    }
    let dir = scratch();
    cmd.env("AWS_ACCESS_KEY_ID", strata::sandbox::FAKE_ACCESS_KEY_ID)
        .env(
            "AWS_SECRET_ACCESS_KEY",
            strata::sandbox::FAKE_SECRET_ACCESS_KEY,
        )
        .env("AWS_REGION", strata::sandbox::DEFAULT_REGION)
        .env("AWS_CONFIG_FILE", dir.join("aws-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("aws-credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("STRATA_DRI", "test")
        .env("STRATA_VENV", sandbox::venv_dir())
        .env("STRATA_SANDBOX_DIR", dir.join("sandbox"))
        .env("NO_COLOR", "1")
        .current_dir(sandbox::repo_dir())
        .stdin(Stdio::null());
    cmd
}

/// `strata` with every AWS call sent to `endpoint` (the sandbox, a fault proxy,
/// or [`UNREACHABLE_ENDPOINT`]).
pub fn command_at(endpoint: &str) -> Command {
    let mut cmd = command();
    cmd.env("AWS_ENDPOINT_URL", endpoint);
    cmd
}

/// `strata` pointed at this test binary's moto (started on first use).
pub fn sandbox_command() -> Command {
    command_at(&sandbox::endpoint())
}

/// What a finished run left: exit code (128 + signal if killed), stdout, stderr.
#[derive(Debug, Clone)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// `(code, stdout, stderr)`.
    pub fn into_parts(self) -> (i32, String, String) {
        (self.code, self.stdout, self.stderr)
    }

    /// stdout parsed as one JSON value per non-empty line (`--output json`).
    /// Panics, showing the line, on one that is not JSON.
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {l}\n{self}"))
            })
            .collect()
    }

    /// The command's summary: the object of the first JSON line `{"summary": ...}`.
    /// Panics, showing both outputs, when there is none.
    pub fn summary(&self) -> serde_json::Value {
        self.json_lines()
            .into_iter()
            .find_map(|l| l.get("summary").cloned())
            .unwrap_or_else(|| panic!("no summary\n{self}"))
    }

    /// Panic with both outputs unless the exit code is `code`.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(self.code, code, "unexpected exit code\n{self}");
        self
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit code {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Run a prepared command to the end (bounded by [`run_limit`]) and collect it.
pub fn run(cmd: &mut Command) -> Run {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {:?}: {e}", cmd.get_program()));
    wait(child, run_limit())
}

/// Wait for a spawned child (stdout and stderr piped) and collect its output;
/// kill it and panic if it runs longer than `limit`.
pub fn wait(mut child: Child, limit: Duration) -> Run {
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait().expect("wait for strata") {
            Some(status) => break status,
            None if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                let run = Run {
                    code: -1,
                    stdout: out.join().unwrap_or_default(),
                    stderr: err.join().unwrap_or_default(),
                };
                panic!(
                    "strata ran longer than {}s and was killed\n{run}",
                    limit.as_secs()
                );
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    Run {
        code: status
            .code()
            .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)),
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}

/// `strata ARGS` with no endpoint (see [`command`]).
pub fn strata(args: &[&str]) -> Run {
    run(command().args(args))
}

/// `strata ARGS` with every AWS call sent to `endpoint`.
pub fn strata_at(endpoint: &str, args: &[&str]) -> Run {
    run(command_at(endpoint).args(args))
}

/// `strata ARGS` against this test binary's moto.
pub fn strata_sandbox(args: &[&str]) -> Run {
    run(sandbox_command().args(args))
}

/// `strata --output json deploy FILE --yes --bake 0s` against this test binary's moto.
pub fn deploy_json(file: &std::path::Path) -> Run {
    deploy_json_baking(file, "0s")
}

/// `strata --output json deploy FILE --yes --bake BAKE` against this test binary's moto.
pub fn deploy_json_baking(file: &std::path::Path, bake: &str) -> Run {
    let file = file.to_str().expect("a UTF-8 path");
    strata_sandbox(&["--output", "json", "deploy", file, "--yes", "--bake", bake])
}
