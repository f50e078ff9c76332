//! `strata sandbox up | status | env | down` through the real binary, the failure
//! paths of venv creation (missing python, pip failure, a hung pip), and the test
//! harness's own moto.

mod support;

use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use strata::exit_code;
use strata::sandbox::{SandboxConfig, SandboxError};
use support::cli;

/// `strata --output json sandbox ARGS` with its own sandbox dir and the shared venv.
fn sandbox_cmd(dir: &Path, args: &[&str]) -> cli::Run {
    let mut cmd = cli::command();
    cmd.env("STRATA_SANDBOX_DIR", dir)
        .args(["--output", "json", "sandbox"])
        .args(args);
    cli::run(&mut cmd)
}

fn one_json(run: &cli::Run) -> Value {
    let lines = run.json_lines();
    assert_eq!(lines.len(), 1, "expected one JSON object\n{run}");
    lines.into_iter().next().unwrap()
}

/// Stops a moto that a test started through `strata sandbox up`, even if the test panics.
struct StopOnDrop(Option<u32>, u16);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            if strata::sandbox::is_moto(pid, self.1) {
                // SAFETY: kill has no memory-safety preconditions; the pid is our moto.
                unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            }
        }
    }
}

#[test]
fn up_status_env_down_round_trip() {
    support::sandbox::ensure_venv();
    let dir = tempfile::tempdir().unwrap();

    let up = sandbox_cmd(dir.path(), &["up"]);
    up.expect_code(0);
    let up = one_json(&up);
    assert_eq!(up["status"], "running");
    assert_eq!(up["reused"], false);
    let pid = up["pid"].as_u64().unwrap() as u32;
    let port = up["port"].as_u64().unwrap() as u16;
    let _stop = StopOnDrop(Some(pid), port);
    let endpoint = format!("http://127.0.0.1:{port}");
    assert_eq!(up["endpoint"], endpoint.as_str());
    assert!(strata::sandbox::is_moto(pid, port));
    assert!(strata::sandbox::ping(port), "moto answers on {endpoint}");
    strata::sandbox::reset(port).expect("reset answers 200");

    // The state file records exactly that process.
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("sandbox.json")).unwrap())
            .unwrap();
    assert_eq!(state["pid"].as_u64(), Some(pid as u64));
    assert!(dir.path().join(format!("moto-{port}.log")).exists());

    let status = sandbox_cmd(dir.path(), &["status"]);
    status.expect_code(0);
    let status = one_json(&status);
    assert_eq!(status["status"], "running");
    assert_eq!(status["pid"].as_u64(), Some(pid as u64));

    // A second `up` reuses the running moto.
    let again = one_json(sandbox_cmd(dir.path(), &["up"]).expect_code(0));
    assert_eq!(again["reused"], true);
    assert_eq!(again["pid"].as_u64(), Some(pid as u64));

    let env = one_json(sandbox_cmd(dir.path(), &["env"]).expect_code(0));
    assert_eq!(env["AWS_ENDPOINT_URL"], endpoint.as_str());
    assert_eq!(env["AWS_ACCESS_KEY_ID"], "testing");
    assert_eq!(env["AWS_SECRET_ACCESS_KEY"], "testing");
    assert_eq!(env["AWS_REGION"], "us-east-1");

    // Human output of `env` is shell lines.
    let mut human = cli::command();
    human
        .env("STRATA_SANDBOX_DIR", dir.path())
        .args(["sandbox", "env"]);
    let human = cli::run(&mut human);
    human.expect_code(0);
    assert!(
        human
            .stdout
            .lines()
            .any(|l| l == format!("export AWS_ENDPOINT_URL={endpoint}")),
        "{human}"
    );

    let down = one_json(sandbox_cmd(dir.path(), &["down"]).expect_code(0));
    assert_eq!(down["status"], "stopped");
    assert_eq!(down["pid"].as_u64(), Some(pid as u64));
    assert!(!strata::sandbox::is_moto(pid, port), "moto {pid} is gone");
    assert!(!dir.path().join("sandbox.json").exists());

    let status = one_json(sandbox_cmd(dir.path(), &["status"]).expect_code(0));
    assert_eq!(status["status"], "not-running");
    let env = sandbox_cmd(dir.path(), &["env"]);
    env.expect_code(exit_code::ENVIRONMENT);
    assert!(env.stderr.contains("strata sandbox up"), "{env}");
    let down = one_json(sandbox_cmd(dir.path(), &["down"]).expect_code(0));
    assert_eq!(down["status"], "not-running");
}

#[test]
fn concurrent_ups_share_one_moto() {
    support::sandbox::ensure_venv();
    let dir = tempfile::tempdir().unwrap();
    let spawn = || {
        let mut cmd = cli::command();
        cmd.env("STRATA_SANDBOX_DIR", dir.path())
            .args(["--output", "json", "sandbox", "up"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        cmd.spawn().unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let a = cli::wait(a, cli::run_limit());
    let b = cli::wait(b, cli::run_limit());
    let (a, b) = (one_json(a.expect_code(0)), one_json(b.expect_code(0)));
    let pid = a["pid"].as_u64().unwrap() as u32;
    let port = a["port"].as_u64().unwrap() as u16;
    let _stop = StopOnDrop(Some(pid), port);
    assert_eq!(a["pid"], b["pid"], "both invocations report the same moto");
    assert_eq!(
        [a["reused"].as_bool(), b["reused"].as_bool()]
            .iter()
            .filter(|r| **r == Some(true))
            .count(),
        1,
        "exactly one of them started it: {a} {b}"
    );
    sandbox_cmd(dir.path(), &["down"]).expect_code(0);
    assert!(!strata::sandbox::is_moto(pid, port));
}

#[test]
fn stale_state_is_reported_and_replaced_and_down_never_kills_a_stranger() {
    support::sandbox::ensure_venv();
    let dir = tempfile::tempdir().unwrap();
    // A live process that is not moto, recorded as if it were.
    let mut stranger = Command::new("sleep").arg("600").spawn().unwrap();
    let state = serde_json::json!({
        "pid": stranger.id(), "port": 1, "endpoint": "http://127.0.0.1:1",
        "log": dir.path().join("moto-1.log"), "started_at": "2026-01-01T00:00:00Z",
    });
    std::fs::write(dir.path().join("sandbox.json"), state.to_string()).unwrap();

    let status = one_json(sandbox_cmd(dir.path(), &["status"]).expect_code(0));
    assert_eq!(status["status"], "stale");
    let env = sandbox_cmd(dir.path(), &["env"]);
    env.expect_code(exit_code::ENVIRONMENT);

    let down = one_json(sandbox_cmd(dir.path(), &["down"]).expect_code(0));
    assert_eq!(down["status"], "stopped");
    assert!(
        stranger.try_wait().unwrap().is_none(),
        "down must not signal a pid that is not its moto"
    );
    assert!(!dir.path().join("sandbox.json").exists());

    // Stale again: `up` starts a fresh moto instead of trusting the record.
    std::fs::write(dir.path().join("sandbox.json"), state.to_string()).unwrap();
    let up = one_json(sandbox_cmd(dir.path(), &["up"]).expect_code(0));
    let pid = up["pid"].as_u64().unwrap() as u32;
    let port = up["port"].as_u64().unwrap() as u16;
    let _stop = StopOnDrop(Some(pid), port);
    assert_eq!(up["reused"], false);
    assert_ne!(pid, stranger.id());
    sandbox_cmd(dir.path(), &["down"]).expect_code(0);
    assert!(stranger.try_wait().unwrap().is_none());
    stranger.kill().unwrap();
    stranger.wait().unwrap();
}

#[test]
fn missing_python_is_a_clear_environment_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = cli::command();
    cmd.env("STRATA_SANDBOX_DIR", dir.path())
        .env("STRATA_VENV", dir.path().join("venv"))
        .env("STRATA_PYTHON", "/nonexistent/python3")
        .args(["sandbox", "up"]);
    let run = cli::run(&mut cmd);
    run.expect_code(exit_code::ENVIRONMENT);
    assert!(run.stderr.contains("/nonexistent/python3"), "{run}");
    assert!(run.stderr.contains("STRATA_PYTHON"), "{run}");
    assert!(!dir.path().join("sandbox.json").exists());
}

/// A stand-in for python3 whose `-m venv DIR` makes a venv whose python runs `body`.
fn fake_python(dir: &Path, body: &str) -> PathBuf {
    let inner = format!("#!/bin/sh\n{body}\n");
    let script = format!(
        "#!/bin/sh\n\
         if [ \"$1\" = -m ] && [ \"$2\" = venv ]; then\n\
           for last; do :; done\n\
           mkdir -p \"$last/bin\"\n\
           cat > \"$last/bin/python\" <<'EOF'\n{inner}EOF\n\
           chmod +x \"$last/bin/python\"\n\
           exit 0\n\
         fi\n\
         exit 2\n"
    );
    let path = dir.join("fake-python3");
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn pip_failure_names_the_command_and_shows_its_output() {
    let dir = tempfile::tempdir().unwrap();
    let python = fake_python(
        dir.path(),
        "echo 'ERROR: No matching distribution found for moto[server]==5.2.5' >&2\nexit 1",
    );
    let mut cmd = cli::command();
    cmd.env("STRATA_SANDBOX_DIR", dir.path())
        .env("STRATA_VENV", dir.path().join("venv"))
        .env("STRATA_PYTHON", &python)
        .args(["sandbox", "up"]);
    let run = cli::run(&mut cmd);
    run.expect_code(exit_code::ENVIRONMENT);
    assert!(run.stderr.contains("-m pip install"), "{run}");
    assert!(
        run.stderr
            .contains("No matching distribution found for moto[server]==5.2.5"),
        "{run}"
    );
    // A failed install leaves no "ready" venv behind: the next `up` rebuilds it.
    let mut cfg = SandboxConfig::new(dir.path());
    cfg.python = python.to_string_lossy().into_owned();
    assert!(!strata::sandbox::venv_ready(&cfg));
}

#[test]
fn a_hung_pip_is_killed_at_its_bound() {
    let dir = tempfile::tempdir().unwrap();
    let python = fake_python(dir.path(), "echo 'Collecting moto' \nexec sleep 600");
    let mut cfg = SandboxConfig::new(dir.path());
    cfg.python = python.to_string_lossy().into_owned();
    cfg.pip_timeout = std::time::Duration::from_secs(1);
    match strata::sandbox::ensure_venv(&cfg) {
        Err(SandboxError::CommandTimedOut { command, tail, .. }) => {
            assert!(command.contains("pip install"), "{command}");
            assert!(tail.contains("Collecting moto"), "{tail}");
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
}

#[test]
fn the_harness_moto_resets_under_an_exclusive_guard() {
    let guard = support::sandbox::exclusive();
    let moto = support::sandbox::moto();
    assert!(moto.is_running());
    assert!(strata::sandbox::ping(moto.port));
    assert!(moto
        .log
        .starts_with(support::sandbox::repo_dir().join(".strata")));
    guard.reset();
    drop(guard);
    let _shared = support::sandbox::shared();
    assert!(strata::sandbox::ping(support::sandbox::port()));
    assert_ne!(support::sandbox::unique("s"), support::sandbox::unique("s"));
}

#[test]
fn the_harness_moto_dies_with_its_test_process() {
    const CHILD: &str = "STRATA_TEST_CHILD_STARTS_MOTO";
    if std::env::var_os(CHILD).is_some() {
        // In the child test process: start moto, say where, wait to be killed.
        let moto = support::sandbox::moto();
        println!("MOTO {} {}", moto.pid, moto.port);
        std::io::Write::flush(&mut std::io::stdout()).unwrap();
        std::thread::sleep(std::time::Duration::from_secs(600));
        return;
    }
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "the_harness_moto_dies_with_its_test_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let line = std::io::BufRead::lines(stdout)
        .map(|l| l.unwrap())
        .find_map(|l| l.split_once("MOTO ").map(|(_, rest)| rest.to_string()))
        .expect("the child reports its moto");
    let fields: Vec<&str> = line.split_whitespace().collect();
    let (pid, port): (u32, u16) = (fields[0].parse().unwrap(), fields[1].parse().unwrap());
    assert!(strata::sandbox::is_moto(pid, port));
    assert!(strata::sandbox::ping(port));

    child.kill().unwrap(); // SIGKILL: no destructor, no atexit runs in the child
    child.wait().unwrap();
    // The kernel delivers the parent-death signal at once; allow for reaping.
    let gone = (0..300).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(100));
        !strata::sandbox::is_moto(pid, port)
    });
    assert!(gone, "moto {pid} outlived its test process");
}

#[test]
fn up_replaces_a_moto_that_another_strata_build_started() {
    let python = support::sandbox::ensure_venv();
    let dir = tempfile::tempdir().unwrap();
    // A moto started by "another build": the entry point in a moto-ext dir whose
    // hash is not this binary's, recorded in the state file as `up` records it.
    let files = strata::sandbox::extension::write(dir.path()).expect("write the extension");
    let current = files.script.parent().unwrap().to_path_buf();
    let older = dir.path().join("moto-ext-000000000000");
    std::fs::rename(&current, &older).unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let log = dir.path().join("older.log");
    let mut child = Command::new(&python)
        .arg(older.join("moto_strata.py"))
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .env("MOTO_AMIS_PATH", older.join("amis.json"))
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the older moto");
    let old_pid = child.id();
    let _stop_old = StopOnDrop(Some(old_pid), port);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !strata::sandbox::ping(port) {
        assert!(
            std::time::Instant::now() < deadline,
            "the older moto did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let state = serde_json::json!({
        "pid": old_pid, "port": port, "endpoint": format!("http://127.0.0.1:{port}"),
        "log": log, "started_at": "2026-11-24T00:00:00Z"
    });
    std::fs::write(dir.path().join("sandbox.json"), state.to_string()).unwrap();

    let up = one_json(sandbox_cmd(dir.path(), &["up"]).expect_code(0));
    let new_pid = up["pid"].as_u64().unwrap() as u32;
    let _stop_new = StopOnDrop(Some(new_pid), up["port"].as_u64().unwrap() as u16);
    assert_eq!(up["reused"], false, "{up}");
    assert_eq!(up["replaced_pid"].as_u64(), Some(old_pid as u64), "{up}");
    assert_ne!(new_pid, old_pid);
    assert!(
        !strata::sandbox::is_moto(old_pid, port),
        "the older moto still runs"
    );
    child.wait().expect("reap the older moto");

    // The moto it started is this build's: the next `up` reuses it.
    let again = one_json(sandbox_cmd(dir.path(), &["up"]).expect_code(0));
    assert_eq!(again["reused"], true);
    assert_eq!(again["pid"].as_u64(), Some(new_pid as u64));
    sandbox_cmd(dir.path(), &["down"]).expect_code(0);
}
