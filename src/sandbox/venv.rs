//! The sandbox's Python venv: created once with `python3 -m venv`, filled with the
//! pinned `sandbox/requirements.txt`, guarded by an exclusive `flock` so that several
//! processes (test binaries start at once) never build it at the same time.

use super::process::run_bounded;
use super::{SandboxConfig, SandboxError};
use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The pinned requirements, compiled in so the binary works from any directory.
pub const REQUIREMENTS: &str = include_str!("../../sandbox/requirements.txt");

/// Written into the venv after a successful install: the requirements' hash.
const MARKER: &str = "strata-requirements.sha256";

fn requirements_hash() -> String {
    hex::encode(Sha256::digest(REQUIREMENTS.as_bytes()))
}

/// `<venv>/bin/python`.
pub fn python_in(venv: &Path) -> PathBuf {
    venv.join("bin").join("python")
}

/// A sibling of the venv: `<venv>.<suffix>` (`.strata/venv.lock`, `.strata/venv.build.log`).
fn sibling(venv: &Path, suffix: &str) -> PathBuf {
    let mut name = venv
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "venv".into());
    name.push(suffix);
    venv.with_file_name(name)
}

/// The lock file guarding the venv's creation.
pub fn lock_path(venv: &Path) -> PathBuf {
    sibling(venv, ".lock")
}

/// The log of the venv's creation and pip's install.
pub fn build_log(venv: &Path) -> PathBuf {
    sibling(venv, ".build.log")
}

/// Whether the venv exists, is complete and matches the current requirements.
pub fn is_ready(venv: &Path) -> bool {
    python_in(venv).exists()
        && std::fs::read_to_string(venv.join(MARKER))
            .map(|h| h.trim() == requirements_hash())
            .unwrap_or(false)
}

/// Make sure the venv is ready; return its python. Builds it (under the lock) when
/// missing, incomplete or built from other requirements.
pub fn ensure(cfg: &SandboxConfig) -> Result<PathBuf, SandboxError> {
    let venv = &cfg.venv;
    let python = python_in(venv);
    if is_ready(venv) {
        return Ok(python);
    }
    if let Some(parent) = venv.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| SandboxError::io("cannot create directory", parent, e))?;
    }
    // At worst: venv, uv's install, venv again with pip, pip's install.
    let lock_wait = 2 * (cfg.venv_timeout + cfg.pip_timeout) + Duration::from_secs(30);
    let _lock = FileLock::exclusive(&lock_path(venv), lock_wait)?;
    // Another process may have built it while we waited for the lock.
    if is_ready(venv) {
        return Ok(python);
    }
    let log = build_log(venv);
    let _ = std::fs::remove_file(&log);
    let requirements = sibling(venv, ".requirements.txt");
    std::fs::write(&requirements, REQUIREMENTS)
        .map_err(|e| SandboxError::io("cannot write", &requirements, e))?;

    // The fast path (issue 21): a venv without pip (no ensurepip, ~1 s) filled by a
    // pinned uv, which downloads the pinned wheels in parallel. The slow path, when
    // uv cannot be had (no pip for the system python, say): pip in the venv, one
    // package after another, as before.
    create_venv(cfg, &log, false)?;
    match bootstrap_uv(cfg, &log) {
        Some(uv) => {
            let mut install = Command::new(&uv);
            install
                .args(["pip", "install", "--no-deps", "--python"])
                .arg(&python)
                .arg("-r")
                .arg(&requirements)
                .env("UV_CACHE_DIR", sibling(venv, ".uv-cache"))
                .env("UV_PYTHON_DOWNLOADS", "never")
                .env("UV_NO_CONFIG", "1");
            run_bounded(&mut install, &log, cfg.pip_timeout)?;
        }
        None => {
            create_venv(cfg, &log, true)?;
            let mut install = Command::new(&python);
            install
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--disable-pip-version-check",
                    "--no-input",
                    "-r",
                ])
                .arg(&requirements);
            run_bounded(&mut install, &log, cfg.pip_timeout)?;
        }
    }

    let marker = venv.join(MARKER);
    std::fs::write(&marker, requirements_hash())
        .map_err(|e| SandboxError::io("cannot write", &marker, e))?;
    Ok(python)
}

/// The installer strata uses for the venv: uv from PyPI, pinned.
pub const UV_VERSION: &str = "0.13.8";

/// `python3 -m venv --clear [--without-pip] VENV`.
fn create_venv(cfg: &SandboxConfig, log: &Path, with_pip: bool) -> Result<(), SandboxError> {
    let mut create = Command::new(&cfg.python);
    create.args(["-m", "venv", "--clear"]);
    if !with_pip {
        create.arg("--without-pip");
    }
    create.arg(&cfg.venv);
    run_bounded(&mut create, log, cfg.venv_timeout).map_err(|e| match e {
        SandboxError::Spawn { source, .. } => SandboxError::PythonMissing {
            python: cfg.python.clone(),
            source,
        },
        other => other,
    })
}

/// The pinned uv in `<venv>.uv/` (installed there by the system python's pip,
/// one wheel), or `None` when it cannot be had; the reason is in the build log.
fn bootstrap_uv(cfg: &SandboxConfig, log: &Path) -> Option<PathBuf> {
    let dir = sibling(&cfg.venv, ".uv");
    let uv = dir.join("bin").join("uv");
    let current = |uv: &Path| {
        Command::new(uv)
            .arg("--version")
            .output()
            .map(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains(UV_VERSION))
            .unwrap_or(false)
    };
    if current(&uv) {
        return Some(uv);
    }
    let _ = std::fs::remove_dir_all(&dir);
    let mut get = Command::new(&cfg.python);
    get.args([
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-input",
        "--quiet",
        "--no-deps",
        "--only-binary=:all:",
        "--target",
    ])
    .arg(&dir)
    .arg(format!("uv=={UV_VERSION}"));
    match run_bounded(&mut get, log, cfg.pip_timeout) {
        Ok(()) if current(&uv) => Some(uv),
        _ => None,
    }
}

/// An exclusive `flock` on a file, released when dropped (or when the process dies).
pub struct FileLock {
    _file: File,
}

impl FileLock {
    /// Take the lock, waiting at most `wait` for another holder to release it.
    pub fn exclusive(path: &Path, wait: Duration) -> Result<FileLock, SandboxError> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| SandboxError::io("cannot open lock file", path, e))?;
        let deadline = Instant::now() + wait;
        loop {
            // SAFETY: flock on a file descriptor we own.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
                return Ok(FileLock { _file: file });
            }
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EWOULDBLOCK) {
                return Err(SandboxError::io("cannot lock", path, e));
            }
            if Instant::now() >= deadline {
                return Err(SandboxError::io(
                    "gave up waiting for the lock held by another process on",
                    path,
                    std::io::Error::from(std::io::ErrorKind::TimedOut),
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_and_log_sit_beside_the_venv() {
        let venv = Path::new("/x/.strata/venv");
        assert_eq!(lock_path(venv), Path::new("/x/.strata/venv.lock"));
        assert_eq!(build_log(venv), Path::new("/x/.strata/venv.build.log"));
    }

    #[test]
    fn requirements_pin_moto_server() {
        assert!(REQUIREMENTS
            .lines()
            .any(|l| l.trim() == "moto[server]==5.2.5"));
    }

    #[test]
    fn second_lock_waits_and_gives_up() {
        let dir = tempdir();
        let path = dir.join("venv.lock");
        let held = FileLock::exclusive(&path, Duration::from_secs(1)).unwrap();
        // flock locks belong to the open file description, so a second open conflicts.
        let second = FileLock::exclusive(&path, Duration::from_millis(300));
        assert!(second.is_err());
        drop(held);
        assert!(FileLock::exclusive(&path, Duration::from_secs(1)).is_ok());
        let _ = std::fs::remove_dir_all(dir);
    }

    fn tempdir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "strata-venv-lock-test-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
