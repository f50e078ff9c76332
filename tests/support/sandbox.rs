//! Test support: one moto sandbox per test process, shared by its tests.
//!
//! Under the suite's runner, cargo-nextest (`.config/nextest.toml`), every test is
//! its own process and so has a moto of its own; under plain `cargo test` the tests
//! of one binary share one, and the guards below keep them apart.
//!
//! The first call to [`moto`] (or anything using it) builds the repository's venv
//! if needed (`<repo>/.strata/venv`, under its file lock, so parallel test binaries
//! build it once) and starts moto on a free port through `strata::sandbox::start`,
//! tied to this process: moto gets SIGKILL when the test binary exits, however it
//! exits. Its log is `<repo>/.strata/test/moto-PORT.log`.
//!
//! Tests in one process run in parallel against that one moto. Every test that
//! talks to moto holds a guard for its whole body:
//!
//! - [`shared`]: run alongside other shared tests. Use unique names (see [`unique`])
//!   and never assume the account is empty.
//! - [`exclusive`]: wait until no other test uses moto, reset it, and run alone
//!   (for tests that count resources or need an empty account).
//!
//! ```ignore
//! let _moto = support::sandbox::exclusive(); // moto is empty and yours
//! let run = support::cli::strata_sandbox(&["deploy", "stacks/example.toml", "--yes"]);
//! ```

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, SystemTime};
use strata::sandbox::{Moto, SandboxConfig};

/// The repository root (where `Cargo.toml` is).
pub fn repo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The repository's shared venv: `<repo>/.strata/venv` (or `$STRATA_VENV`).
pub fn venv_dir() -> PathBuf {
    std::env::var_os("STRATA_VENV")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_dir().join(".strata").join("venv"))
}

/// The configuration the test sandbox starts with: logs in `<repo>/.strata/test`,
/// the shared venv, and moto tied to this process.
pub fn config() -> SandboxConfig {
    let mut cfg = SandboxConfig::new(repo_dir().join(".strata").join("test"));
    cfg.venv = venv_dir();
    if let Some(python) = std::env::var_os("STRATA_PYTHON").filter(|v| !v.is_empty()) {
        cfg.python = python.to_string_lossy().into_owned();
    }
    cfg.die_with_parent = true;
    cfg
}

/// Build the shared venv if it is missing (a no-op when it is ready). Panics with
/// the command and its output on failure.
pub fn ensure_venv() -> PathBuf {
    strata::sandbox::ensure_venv(&config())
        .unwrap_or_else(|e| panic!("cannot prepare the sandbox venv: {e}"))
}

static MOTO: OnceLock<Result<Moto, String>> = OnceLock::new();

/// This test binary's moto, started on first use. Panics (in every test that
/// needs it, with the same message) if it cannot start.
pub fn moto() -> &'static Moto {
    let started = MOTO.get_or_init(|| {
        let cfg = config();
        prune_old_logs(&cfg.dir);
        strata::sandbox::start(&cfg).map_err(|e| e.to_string())
    });
    match started {
        Ok(moto) => moto,
        Err(e) => panic!("cannot start the moto sandbox: {e}"),
    }
}

/// `http://127.0.0.1:PORT` of this binary's moto.
pub fn endpoint() -> String {
    moto().endpoint()
}

/// The port of this binary's moto.
pub fn port() -> u16 {
    moto().port
}

/// Clear every resource in every region. Prefer [`exclusive`], which also keeps
/// other tests from running during and after the reset.
pub fn reset() {
    moto()
        .reset()
        .unwrap_or_else(|e| panic!("cannot reset the moto sandbox: {e}"));
}

static USERS: RwLock<()> = RwLock::new(());

/// Held by a test that shares moto with other tests (see the module docs).
pub struct SharedGuard {
    _guard: RwLockReadGuard<'static, ()>,
}

/// Held by a test that has moto to itself, reset when it was acquired.
pub struct ExclusiveGuard {
    _guard: RwLockWriteGuard<'static, ()>,
}

impl ExclusiveGuard {
    /// Reset moto again in the middle of an exclusive test.
    pub fn reset(&self) {
        reset();
    }
}

/// Use moto alongside other `shared` tests; waits while an `exclusive` test runs.
pub fn shared() -> SharedGuard {
    moto();
    SharedGuard {
        _guard: USERS.read().unwrap_or_else(|p| p.into_inner()),
    }
}

/// Wait until no other test uses moto, reset it, and keep it until the guard drops.
/// A panicking test releases the guard as it unwinds; the next one resets anyway.
pub fn exclusive() -> ExclusiveGuard {
    moto();
    let guard = ExclusiveGuard {
        _guard: USERS.write().unwrap_or_else(|p| p.into_inner()),
    };
    reset();
    guard
}

/// A name no other test in any test binary uses: `PREFIX-PID-N` (lowercase, digits
/// and dashes: valid for stacks, buckets, tables).
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Remove moto logs of earlier test runs (older than a day) so `.strata/test` stays small.
fn prune_old_logs(dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let day = Duration::from_secs(24 * 3600);
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with("moto-") && name.ends_with(".log")) {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .is_some_and(|age| age > day);
        if old {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
