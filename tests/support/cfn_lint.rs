//! Test support: cfn_lint — the pinned `cfn-lint` from PyPI in the repository's
//! `.strata/lint-venv`, created on first use (guarded by a file lock so parallel
//! test binaries install it once), and a runner that reports its findings.

use std::fs::{self, File};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The pinned cfn-lint release (its registry schemas are the ones codegen vendors).
pub const VERSION: &str = "1.58.0";

/// Checks every lint run skips, each with the reason it does not apply to strata.
///
/// - `W3010` "Avoid hardcoding availability zones": the stack definition names its
///   AZs on purpose — the N+1 capacity check, the NAT-per-AZ rule and the logical
///   ids all reason about named zones, and `stack::validate` checks each AZ belongs
///   to its region. `Fn::GetAZs` would pick zones the definition never saw.
pub const IGNORED_CHECKS: &[&str] = &["W3010"];

/// One finding of cfn-lint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The rule id, e.g. "E3012" (E = error, W = warning, I = informational).
    pub rule: String,
    pub file: String,
    pub line: String,
    pub message: String,
}

impl Finding {
    pub fn is_error(&self) -> bool {
        self.rule.starts_with('E')
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: {} {}",
            self.file, self.line, self.rule, self.message
        )
    }
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The cfn-lint executable, installing it into `.strata/lint-venv` if needed.
pub fn cfn_lint() -> PathBuf {
    let strata_dir = repo_root().join(".strata");
    fs::create_dir_all(&strata_dir).expect("create .strata");
    let venv = strata_dir.join("lint-venv");
    let bin = venv.join("bin").join("cfn-lint");

    let lock = File::create(strata_dir.join("lint-venv.lock")).expect("create the lint lock file");
    // SAFETY: flock on a file descriptor we own; released when `lock` is dropped.
    let rc = unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) };
    assert_eq!(rc, 0, "cannot lock .strata/lint-venv.lock");

    if !installed(&bin) {
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_string());
        run(
            Command::new(&python).args(["-m", "venv"]).arg(&venv),
            "create the lint venv",
        );
        run(
            Command::new(venv.join("bin").join("pip"))
                .args(["install", "--quiet", "--disable-pip-version-check"])
                .arg(format!("cfn-lint=={VERSION}")),
            "pip install cfn-lint",
        );
        assert!(
            installed(&bin),
            "cfn-lint {VERSION} is not runnable after install"
        );
    }
    drop(lock);
    bin
}

fn installed(bin: &Path) -> bool {
    Command::new(bin)
        .arg("--version")
        .output()
        .map(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains(VERSION))
        .unwrap_or(false)
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

/// Lint templates deployed in `region`; returns every finding (of every level).
pub fn lint(region: &str, templates: &[PathBuf]) -> Vec<Finding> {
    let out = Command::new(cfn_lint())
        .args(["--format", "parseable", "--regions", region])
        .arg("--ignore-checks")
        .args(IGNORED_CHECKS)
        .arg("--")
        .args(templates)
        .output()
        .expect("run cfn-lint");
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Exit status is a bit mask (2 errors, 4 warnings, 8 informational); 1 is a crash.
    let code = out.status.code().unwrap_or(1);
    assert!(
        code & 1 == 0,
        "cfn-lint failed to run ({code}):\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let findings: Vec<Finding> = stdout.lines().filter_map(parse_line).collect();
    if code & 2 != 0 {
        assert!(
            findings.iter().any(Finding::is_error),
            "cfn-lint reported errors it did not print:\n{stdout}"
        );
    }
    findings
}

/// A parseable line: `file:line:col:endline:endcol:RULE:message`.
fn parse_line(line: &str) -> Option<Finding> {
    let parts: Vec<&str> = line.splitn(7, ':').collect();
    if parts.len() < 7 {
        return None;
    }
    Some(Finding {
        file: parts[0].to_string(),
        line: parts[1].to_string(),
        rule: parts[5].to_string(),
        message: parts[6].to_string(),
    })
}
