//! `strata sandbox up | down | status | env`: the local moto sandbox (see docs/sandbox.md).

use super::{Failure, Outcome};
use crate::cli::args::{GlobalArgs, OutputFormat, SandboxCommand};
use serde_json::json;
use strata::exit_code;
use strata::sandbox::{self, SandboxConfig, SandboxError, Status};

pub async fn run(global: &GlobalArgs, args: SandboxCommand) -> Outcome {
    let json = global.output == OutputFormat::Json;
    let cfg = SandboxConfig::from_env();
    if matches!(args, SandboxCommand::Up) && !json && !sandbox::venv_ready(&cfg) {
        eprintln!(
            "Creating the sandbox venv at {} (pinned moto[server], installed by a pinned uv; about 30 s, once)...",
            cfg.venv.display()
        );
    }
    // Every sandbox step is blocking (child processes, std sockets) and bounded.
    let result = tokio::task::spawn_blocking(move || execute(&cfg, args, json))
        .await
        .map_err(|e| Failure::new(exit_code::ENVIRONMENT, format!("sandbox task failed: {e}")))?;
    result.map_err(|e| Failure::new(exit_code::ENVIRONMENT, e.to_string()))
}

fn execute(cfg: &SandboxConfig, args: SandboxCommand, json: bool) -> Result<i32, SandboxError> {
    match args {
        SandboxCommand::Up => {
            let up = sandbox::up(cfg)?;
            let s = &up.state;
            if json {
                print_json(json!({
                    "status": "running",
                    "reused": up.reused,
                    "replaced_pid": up.replaced.as_ref().map(|r| r.pid),
                    "pid": s.pid,
                    "port": s.port,
                    "endpoint": s.endpoint,
                    "log": s.log,
                    "started_at": s.started_at,
                }));
            } else {
                if let Some(old) = &up.replaced {
                    println!(
                        "Stopped moto pid {}: another strata build started it with other \
                         sandbox fixes (its state is gone).",
                        old.pid
                    );
                }
                let verb = if up.reused {
                    "already running"
                } else {
                    "started"
                };
                println!(
                    "Sandbox {verb}: moto pid {} on {} (log {}).",
                    s.pid,
                    s.endpoint,
                    s.log.display()
                );
                println!(
                    "Point strata and the AWS CLI at it with:  eval \"$(strata sandbox env)\""
                );
            }
        }
        SandboxCommand::Down => {
            let stopped = sandbox::down(cfg)?;
            if json {
                print_json(match &stopped {
                    Some(s) => json!({"status": "stopped", "pid": s.pid, "port": s.port}),
                    None => json!({"status": "not-running"}),
                });
            } else {
                match stopped {
                    Some(s) => println!("Sandbox stopped (moto pid {}, port {}).", s.pid, s.port),
                    None => println!("No sandbox was running."),
                }
            }
        }
        SandboxCommand::Status => {
            let status = sandbox::status(cfg)?;
            if json {
                print_json(match &status {
                    Status::Running(s) => json!({
                        "status": "running", "pid": s.pid, "port": s.port,
                        "endpoint": s.endpoint, "log": s.log, "started_at": s.started_at,
                    }),
                    Status::Stale(s) => json!({"status": "stale", "pid": s.pid, "port": s.port}),
                    Status::NotRunning => json!({"status": "not-running"}),
                });
            } else {
                match &status {
                    Status::Running(s) => println!(
                        "running: moto pid {} on {} since {} (log {})",
                        s.pid,
                        s.endpoint,
                        s.started_at,
                        s.log.display()
                    ),
                    Status::Stale(s) => println!(
                        "stale: moto pid {} (port {}) recorded in {} is gone; \
                         `strata sandbox up` starts a new one",
                        s.pid,
                        s.port,
                        cfg.state_file().display()
                    ),
                    Status::NotRunning => println!("not running"),
                }
            }
            // `status` reports; only a failure to find out is an error.
        }
        SandboxCommand::Env => {
            let s = sandbox::running(cfg)?;
            let vars = sandbox::env_vars(&s.endpoint);
            if json {
                let map: serde_json::Map<String, serde_json::Value> = vars
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.into()))
                    .collect();
                print_json(serde_json::Value::Object(map));
            } else {
                for (k, v) in vars {
                    println!("export {k}={v}");
                }
            }
        }
    }
    Ok(exit_code::SUCCESS)
}

fn print_json(value: serde_json::Value) {
    println!("{value}");
}
