//! The local AWS sandbox: moto in server mode on 127.0.0.1, from a project-local venv.
//!
//! Two layers. [`start`] prepares the venv and starts one moto on a free port and
//! hands back a [`Moto`] (the tests use this, one moto per test binary). [`up`],
//! [`down`], [`status`] add the state file `<dir>/sandbox.json` so that separate
//! `strata sandbox` invocations share one moto. Everything is blocking and bounded
//! in time; nothing here prints. See `docs/sandbox.md`.

mod error;
pub mod extension;
pub mod http;
mod process;
mod state;
mod venv;

pub use error::SandboxError;
pub use state::SandboxState;
pub use venv::{FileLock, REQUIREMENTS};

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The fake credentials and region the sandbox is used with.
pub const FAKE_ACCESS_KEY_ID: &str = "testing";
pub const FAKE_SECRET_ACCESS_KEY: &str = "testing";
pub const DEFAULT_REGION: &str = "us-east-1";

/// Where the sandbox lives and how long each step may take.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// State file, logs and (by default) the venv: `$STRATA_SANDBOX_DIR`, default `./.strata`.
    pub dir: PathBuf,
    /// The venv: `$STRATA_VENV`, default `<dir>/venv`.
    pub venv: PathBuf,
    /// The interpreter that creates the venv: `$STRATA_PYTHON`, default `python3`.
    pub python: String,
    /// Kill moto with SIGKILL when this process exits (tests); otherwise moto outlives it.
    pub die_with_parent: bool,
    /// Bound on `python3 -m venv`.
    pub venv_timeout: Duration,
    /// Bound on `pip install -r requirements.txt`.
    pub pip_timeout: Duration,
    /// Bound on moto answering `GET /moto-api/` after it was started.
    pub start_timeout: Duration,
    /// Time moto gets between SIGTERM and SIGKILL.
    pub stop_grace: Duration,
}

impl SandboxConfig {
    /// A configuration rooted at `dir`, with the venv at `<dir>/venv`.
    pub fn new(dir: impl Into<PathBuf>) -> SandboxConfig {
        let dir = dir.into();
        SandboxConfig {
            venv: dir.join("venv"),
            dir,
            python: "python3".to_string(),
            die_with_parent: false,
            venv_timeout: Duration::from_secs(120),
            pip_timeout: Duration::from_secs(600),
            start_timeout: Duration::from_secs(60),
            stop_grace: Duration::from_secs(5),
        }
    }

    /// From the environment: `STRATA_SANDBOX_DIR`, `STRATA_VENV`, `STRATA_PYTHON`.
    pub fn from_env() -> SandboxConfig {
        let var = |name| std::env::var_os(name).filter(|v| !v.is_empty());
        let mut cfg = SandboxConfig::new(
            var("STRATA_SANDBOX_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(".strata")),
        );
        if let Some(venv) = var("STRATA_VENV") {
            cfg.venv = PathBuf::from(venv);
        }
        if let Some(python) = var("STRATA_PYTHON") {
            cfg.python = python.to_string_lossy().into_owned();
        }
        // Absolute paths, so the state file and messages mean the same from any directory.
        if let Ok(cwd) = std::env::current_dir() {
            cfg.dir = cwd.join(&cfg.dir);
            cfg.venv = cwd.join(&cfg.venv);
        }
        cfg
    }

    /// `<dir>/sandbox.json`.
    pub fn state_file(&self) -> PathBuf {
        self.dir.join("sandbox.json")
    }

    /// `<dir>/moto-PORT.log`.
    pub fn log_file(&self, port: u16) -> PathBuf {
        self.dir.join(format!("moto-{port}.log"))
    }
}

/// Whether the venv is built and current (so `start` will not spend time on pip).
pub fn venv_ready(cfg: &SandboxConfig) -> bool {
    venv::is_ready(&cfg.venv)
}

/// Build the venv if needed (under its lock); returns the venv's python.
pub fn ensure_venv(cfg: &SandboxConfig) -> Result<PathBuf, SandboxError> {
    venv::ensure(cfg)
}

/// A moto server this process started.
#[derive(Debug)]
pub struct Moto {
    pub pid: u32,
    pub port: u16,
    pub log: PathBuf,
    child: Mutex<Child>,
}

impl Moto {
    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        endpoint(self.port)
    }

    /// Whether the process still runs (it is reaped here if it exited).
    pub fn is_running(&self) -> bool {
        let mut child = self.child.lock().unwrap_or_else(|p| p.into_inner());
        matches!(child.try_wait(), Ok(None))
    }

    /// Clear every resource in every region (`POST /moto-api/reset`).
    pub fn reset(&self) -> Result<(), SandboxError> {
        reset(self.port)
    }

    /// Stop it (SIGTERM, SIGKILL after the grace) and reap it.
    pub fn stop(self, grace: Duration) -> Result<(), SandboxError> {
        let result = process::terminate(self.pid, grace);
        let mut child = self.child.into_inner().unwrap_or_else(|p| p.into_inner());
        let _ = child.try_wait();
        result
    }
}

/// `http://127.0.0.1:PORT`.
pub fn endpoint(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

/// Whether a moto answers `GET /moto-api/` on `port` within a second.
pub fn ping(port: u16) -> bool {
    http::request("GET", port, "/moto-api/", Duration::from_secs(1))
        .map(|r| r.status == 200)
        .unwrap_or(false)
}

/// Clear every resource in every region of the moto on `port`.
pub fn reset(port: u16) -> Result<(), SandboxError> {
    let url = format!("{}/moto-api/reset", endpoint(port));
    let r = http::request("POST", port, "/moto-api/reset", Duration::from_secs(30))?;
    if r.status == 200 {
        Ok(())
    } else {
        Err(SandboxError::Http {
            method: "POST",
            url,
            detail: format!("status {}: {}", r.status, r.body.trim()),
        })
    }
}

/// The environment lines that point the AWS SDKs and CLI at a sandbox.
pub fn env_vars(endpoint: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", endpoint.to_string()),
        ("AWS_ACCESS_KEY_ID", FAKE_ACCESS_KEY_ID.to_string()),
        ("AWS_SECRET_ACCESS_KEY", FAKE_SECRET_ACCESS_KEY.to_string()),
        ("AWS_REGION", DEFAULT_REGION.to_string()),
    ]
}

/// How many fresh ports `start` tries when another process takes the one it picked.
const PORT_ATTEMPTS: u32 = 5;

/// Prepare the venv, then start moto on a free port and wait until it answers.
/// Writes no state file (see [`up`]).
pub fn start(cfg: &SandboxConfig) -> Result<Moto, SandboxError> {
    let python = ensure_venv(cfg)?;
    std::fs::create_dir_all(&cfg.dir)
        .map_err(|e| SandboxError::io("cannot create directory", &cfg.dir, e))?;
    let ext = extension::write(&cfg.dir)?;
    let mut port = 0;
    for _ in 0..PORT_ATTEMPTS {
        port = free_port()?;
        match start_on(cfg, &python, &ext, port)? {
            Some(moto) => return Ok(moto),
            None => continue, // the port was taken between picking and binding
        }
    }
    Err(SandboxError::NoFreePort {
        attempts: PORT_ATTEMPTS,
        port,
    })
}

fn free_port() -> Result<u16, SandboxError> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .map_err(|e| SandboxError::io("cannot bind", "127.0.0.1:0", e))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| SandboxError::io("cannot bind", "127.0.0.1:0", e))
}

/// Start moto on `port`; `Ok(None)` when the port turned out to be in use.
fn start_on(
    cfg: &SandboxConfig,
    python: &Path,
    ext: &extension::Files,
    port: u16,
) -> Result<Option<Moto>, SandboxError> {
    let log = cfg.log_file(port);
    let _ = std::fs::remove_file(&log);
    let mut child = process::spawn_moto(python, ext, port, &log, cfg.die_with_parent)?;
    let pid = child.id();
    let deadline = Instant::now() + cfg.start_timeout;
    let listening = format!("Running on http://127.0.0.1:{port}");
    // Fallback should werkzeug ever word its banner differently: alive and answering this long.
    let banner_fallback = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(Some(_status)) = child.try_wait() {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if text.contains("Address already in use") {
                return Ok(None);
            }
            return Err(SandboxError::MotoExited {
                pid,
                port,
                tail: process::tail(&log, 25),
                log,
            });
        }
        if ping(port) {
            // The answer must come from *our* moto, not another one that took the port.
            let ours = std::fs::read_to_string(&log)
                .map(|t| t.contains(&listening))
                .unwrap_or(false);
            if (ours || Instant::now() >= banner_fallback) && matches!(child.try_wait(), Ok(None)) {
                return Ok(Some(Moto {
                    pid,
                    port,
                    log,
                    child: Mutex::new(child),
                }));
            }
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(SandboxError::MotoNotAnswering {
                pid,
                port,
                timeout: cfg.start_timeout,
                tail: process::tail(&log, 25),
                log,
            });
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// What `status` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// The recorded moto runs and answers.
    Running(SandboxState),
    /// A state file names a moto that is gone (or no longer answers).
    Stale(SandboxState),
    /// No state file.
    NotRunning,
}

/// Read the state file and check the recorded moto.
pub fn status(cfg: &SandboxConfig) -> Result<Status, SandboxError> {
    Ok(match state::read(&cfg.state_file())? {
        None => Status::NotRunning,
        Some(s) if process::is_moto(s.pid, s.port) && ping(s.port) => Status::Running(s),
        Some(s) => Status::Stale(s),
    })
}

/// The running sandbox, or `NotRunning`.
pub fn running(cfg: &SandboxConfig) -> Result<SandboxState, SandboxError> {
    match status(cfg)? {
        Status::Running(s) => Ok(s),
        _ => Err(SandboxError::NotRunning {
            state_file: cfg.state_file(),
        }),
    }
}

/// What `up` did.
#[derive(Debug, Clone)]
pub struct Up {
    pub state: SandboxState,
    /// True when a recorded moto was already running and is reused.
    pub reused: bool,
    /// The recorded moto that was stopped because an older (or newer) strata
    /// started it with other sandbox fixes; its state is gone.
    pub replaced: Option<SandboxState>,
}

/// Start the project's sandbox, or reuse the one recorded and running.
pub fn up(cfg: &SandboxConfig) -> Result<Up, SandboxError> {
    std::fs::create_dir_all(&cfg.dir)
        .map_err(|e| SandboxError::io("cannot create directory", &cfg.dir, e))?;
    let wait = 2 * (cfg.venv_timeout + cfg.pip_timeout) + cfg.start_timeout;
    let _lock = FileLock::exclusive(&cfg.dir.join("sandbox.lock"), wait)?;
    let mut replaced = None;
    if let Status::Running(state) = status(cfg)? {
        if process::runs_current_extension(state.pid) {
            return Ok(Up {
                state,
                reused: true,
                replaced: None,
            });
        }
        // Started by another build: its sandbox fixes differ from this binary's,
        // and this binary's deploys depend on them.
        process::terminate(state.pid, cfg.stop_grace)?;
        state::remove(&cfg.state_file())?;
        replaced = Some(state);
    }
    let moto = start(cfg)?;
    let state = SandboxState {
        pid: moto.pid,
        port: moto.port,
        endpoint: moto.endpoint(),
        log: moto.log.clone(),
        started_at: time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
    };
    state::write(&cfg.state_file(), &state)?;
    Ok(Up {
        state,
        reused: false,
        replaced,
    })
}

/// Stop the recorded moto (only if that pid still is a moto on that port) and
/// remove the state file. Returns the state that was recorded, if any.
pub fn down(cfg: &SandboxConfig) -> Result<Option<SandboxState>, SandboxError> {
    let lock_path = cfg.dir.join("sandbox.lock");
    let _lock = if cfg.dir.exists() {
        Some(FileLock::exclusive(&lock_path, cfg.start_timeout)?)
    } else {
        None
    };
    let Some(s) = state::read(&cfg.state_file())? else {
        return Ok(None);
    };
    if process::is_moto(s.pid, s.port) {
        process::terminate(s.pid, cfg.stop_grace)?;
    }
    state::remove(&cfg.state_file())?;
    Ok(Some(s))
}

/// Whether `pid` is a live moto listening on `port`.
pub fn is_moto(pid: u32, port: u16) -> bool {
    process::is_moto(pid, port)
}
