//! Test support: checkov — pinned (every package, `tests/checkov-requirements.txt`)
//! from PyPI in the repository's `.strata/checkov-venv`, created on first use
//! (guarded by a file lock so parallel test binaries install it once), and a
//! runner that returns each check's result. It runs offline: `--skip-download`
//! and `BC_SKIP_MAPPING` keep it from calling Prisma Cloud.

use std::fs::{self, File};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One result of one check on one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Result {
    pub check: String,
    pub resource: String,
    pub file: String,
    pub passed: bool,
}

impl std::fmt::Display for Result {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let verdict = if self.passed { "passed" } else { "FAILED" };
        write!(
            f,
            "{} {verdict}: {} in {}",
            self.check, self.resource, self.file
        )
    }
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The checkov executable, installing the pinned set into `.strata/checkov-venv`
/// when it is missing or the requirements changed.
pub fn checkov() -> PathBuf {
    let strata_dir = repo_root().join(".strata");
    fs::create_dir_all(&strata_dir).expect("create .strata");
    let venv = strata_dir.join("checkov-venv");
    let bin = venv.join("bin").join("checkov");
    let requirements = repo_root().join("tests/checkov-requirements.txt");
    let wanted = fs::read_to_string(&requirements).expect("read tests/checkov-requirements.txt");
    let stamp = venv.join("strata-requirements.txt");

    let lock = File::create(strata_dir.join("checkov-venv.lock")).expect("create the lock file");
    // SAFETY: flock on a file descriptor we own; released when `lock` is dropped.
    let rc = unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) };
    assert_eq!(rc, 0, "cannot lock .strata/checkov-venv.lock");

    let current = fs::read_to_string(&stamp).unwrap_or_default();
    if current != wanted || !bin.exists() {
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_string());
        run(
            Command::new(&python)
                .args(["-m", "venv", "--clear"])
                .arg(&venv),
            "create the checkov venv",
        );
        run(
            Command::new(venv.join("bin").join("pip"))
                .args([
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "--no-deps",
                    "-r",
                ])
                .arg(&requirements),
            "pip install checkov",
        );
        fs::write(&stamp, &wanted).expect("record the installed requirements");
    }
    drop(lock);
    bin
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot {what}: {e} (is python3 installed?)"));
    assert!(
        out.status.success(),
        "cannot {what}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Run `checks` on every CloudFormation template under `dir`; every result,
/// passed and failed.
pub fn scan(dir: &Path, checks: &[&str]) -> Vec<Result> {
    let out = Command::new(checkov())
        .env("BC_SKIP_MAPPING", "TRUE")
        .args([
            "--framework",
            "cloudformation",
            "--skip-download",
            "-o",
            "json",
        ])
        .arg("--check")
        .arg(checks.join(","))
        .arg("-d")
        .arg(dir)
        .output()
        .expect("run checkov");
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Exit 0: all passed; 1: some failed; anything else is a crash.
    let code = out.status.code().unwrap_or(2);
    assert!(
        code <= 1,
        "checkov failed to run ({code}):\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("checkov's output is not JSON ({e}):\n{stdout}"));
    let reports = match json {
        serde_json::Value::Array(list) => list,
        one => vec![one],
    };
    let mut results = Vec::new();
    for report in &reports {
        for (key, passed) in [("passed_checks", true), ("failed_checks", false)] {
            for r in report["results"][key].as_array().into_iter().flatten() {
                results.push(Result {
                    check: r["check_id"].as_str().unwrap_or_default().to_string(),
                    resource: r["resource"].as_str().unwrap_or_default().to_string(),
                    file: r["file_path"].as_str().unwrap_or_default().to_string(),
                    passed,
                });
            }
        }
    }
    results
}
