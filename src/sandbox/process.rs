//! Child processes for the sandbox: bounded commands (venv, pip), spawning moto
//! (detached, or tied to the parent's life), liveness checks and stopping by pid.

use super::{extension, SandboxError};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How a command is shown in errors: program and arguments, space separated.
pub fn display(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        s.push(' ');
        s.push_str(&arg.to_string_lossy());
    }
    s
}

fn open_log(log: &Path) -> Result<File, SandboxError> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| SandboxError::io("cannot open log file", log, e))
}

/// Run `cmd` to completion with stdout and stderr appended to `log`, killing it
/// after `timeout`. A spawn failure is returned as `SandboxError::Spawn`.
pub fn run_bounded(cmd: &mut Command, log: &Path, timeout: Duration) -> Result<(), SandboxError> {
    let command = display(cmd);
    let out = open_log(log)?;
    let err = out
        .try_clone()
        .map_err(|e| SandboxError::io("cannot open log file", log, e))?;
    let start_len = out.metadata().map(|m| m.len()).unwrap_or(0);
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|source| SandboxError::Spawn {
            command: command.clone(),
            source,
        })?;
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => {
                return Err(SandboxError::CommandFailed {
                    command,
                    status: status.to_string(),
                    tail: tail_since(log, start_len, 25),
                })
            }
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(SandboxError::CommandTimedOut {
                    command,
                    timeout,
                    tail: tail_since(log, start_len, 25),
                });
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => return Err(SandboxError::io("cannot wait for", command, e)),
        }
    }
}

/// The last `lines` lines of `path` (at most its last 16 KiB), or a note that it is unreadable.
pub fn tail(path: &Path, lines: usize) -> String {
    tail_since(path, 0, lines)
}

/// Like `tail`, but only of what was written after byte `from`.
fn tail_since(path: &Path, from: u64, lines: usize) -> String {
    let read = || -> std::io::Result<String> {
        let mut f = File::open(path)?;
        let len = f.metadata()?.len();
        let start = from.max(len.saturating_sub(16 * 1024));
        f.seek(SeekFrom::Start(start))?;
        let mut buf = Vec::new();
        f.read_to_end(&mut buf)?;
        Ok(String::from_utf8_lossy(&buf).into_owned())
    };
    match read() {
        Ok(text) => {
            let all: Vec<&str> = text.lines().collect();
            let kept = &all[all.len().saturating_sub(lines)..];
            if kept.is_empty() {
                "  (no output)".to_string()
            } else {
                kept.iter()
                    .map(|l| format!("  {l}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            }
        }
        Err(e) => format!("  (cannot read {}: {e})", path.display()),
    }
}

/// Spawn moto's server on `port` through strata's entry point (`ext.script`, which
/// runs `moto.server` after registering its additions) with `MOTO_AMIS_PATH` set to
/// `ext.amis`, output to `log`. The child gets its own session
/// (Ctrl-C in the caller's terminal does not reach it). With `die_with_parent` it
/// also gets SIGKILL when this process ends: the spawn then happens on a thread
/// that never exits, because Linux delivers the parent-death signal when the
/// spawning *thread* ends.
pub fn spawn_moto(
    python: &Path,
    ext: &extension::Files,
    port: u16,
    log: &Path,
    die_with_parent: bool,
) -> Result<Child, SandboxError> {
    let out = open_log(log)?;
    let err = out
        .try_clone()
        .map_err(|e| SandboxError::io("cannot open log file", log, e))?;
    let mut cmd = Command::new(python);
    cmd.arg(&ext.script)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .env("PYTHONUNBUFFERED", "1")
        .env("MOTO_AMIS_PATH", &ext.amis)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: the closure runs between fork and exec and only calls
    // async-signal-safe functions (setsid, prctl, getppid, _exit).
    unsafe {
        cmd.pre_exec(move || {
            libc::setsid();
            if die_with_parent {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // The parent may have died before prctl took effect.
                if libc::getppid() != parent {
                    libc::_exit(1);
                }
            }
            Ok(())
        });
    }
    let command = display(&cmd);
    let spawned = if die_with_parent {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name(format!("moto-{port}-keeper"))
            .spawn(move || {
                let _ = tx.send(cmd.spawn());
                loop {
                    std::thread::park();
                }
            })
            .map_err(|source| SandboxError::Spawn {
                command: command.clone(),
                source,
            })?;
        rx.recv().map_err(|_| SandboxError::Spawn {
            command: command.clone(),
            source: std::io::Error::other("the spawning thread died"),
        })?
    } else {
        cmd.spawn()
    };
    spawned.map_err(|source| SandboxError::Spawn { command, source })
}

/// Whether a process with this pid exists and is not a zombie.
pub fn pid_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state is the first field after the parenthesised command name.
        Ok(stat) => match stat.rsplit_once(')') {
            Some((_, rest)) => !matches!(rest.trim_start().chars().next(), Some('Z' | 'X')),
            None => true,
        },
        Err(_) => false,
    }
}

/// Whether `pid` is a live moto server listening on `port` (guards against a
/// recycled pid: strata only ever signals its own moto).
pub fn is_moto(pid: u32, port: u16) -> bool {
    if !pid_alive(pid) {
        return false;
    }
    let Ok(raw) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let args: Vec<String> = raw
        .split(|b| *b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let port = port.to_string();
    // strata's entry point (`.../moto_strata.py`); `moto.server` for a moto started
    // by a strata from before the entry point existed.
    let server = |a: &String| {
        a == "moto.server"
            || Path::new(a)
                .file_name()
                .is_some_and(|f| f == extension::SCRIPT_NAME)
    };
    args.iter().any(server) && args.windows(2).any(|w| w[0] == "-p" && w[1] == port)
}

/// Whether `pid` runs the moto extension this build writes (its entry point sits in
/// `moto-ext-<hash>/`): false for a moto started by an older or newer strata.
pub fn runs_current_extension(pid: u32) -> bool {
    let Ok(raw) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let dir = format!("moto-ext-{}", &extension::hash()[..12]);
    String::from_utf8_lossy(&raw).contains(&dir)
}

/// Stop `pid`: SIGTERM, then SIGKILL after `grace`. Returns once it is gone.
pub fn terminate(pid: u32, grace: Duration) -> Result<(), SandboxError> {
    let send = |sig| {
        // SAFETY: kill has no memory-safety preconditions.
        if unsafe { libc::kill(pid as libc::pid_t, sig) } == 0 {
            Ok(())
        } else {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::ESRCH) {
                Ok(())
            } else {
                Err(SandboxError::Stop { pid, source: e })
            }
        }
    };
    send(libc::SIGTERM)?;
    if wait_gone(pid, grace) {
        return Ok(());
    }
    send(libc::SIGKILL)?;
    let waited = Duration::from_secs(5);
    if wait_gone(pid, waited) {
        Ok(())
    } else {
        Err(SandboxError::StillRunning { pid, waited })
    }
}

fn wait_gone(pid: u32, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if !pid_alive(pid) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
