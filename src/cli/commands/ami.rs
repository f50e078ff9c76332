//! `strata ami bake | copy | prune`, and the progress renderer for their events
//! (one line per region: an updating bar on a terminal, plain lines otherwise,
//! JSON lines with `--output json`; always on stderr, results on stdout).

use super::validate::load_stack;
use super::{Failure, Outcome};
use crate::cli::args::{AmiCommand, GlobalArgs, OutputFormat};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use is_terminal::IsTerminal;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use strata::ami::{self, AmiError, AmiSource, BakeRequest, WaitPolicy};
use strata::aws::{Aws, AwsTarget};
use strata::events::{Event, EventKind, EventSink, Events};
use strata::exit_code;

pub async fn run(global: &GlobalArgs, args: AmiCommand) -> Outcome {
    let aws = Aws::connect(AwsTarget {
        endpoint_url: global.endpoint_url.clone(),
        profile: global.profile.clone(),
    })
    .await;
    let render = Arc::new(Renderer::new(global.output));
    let events = Events::new(render.clone());
    let outcome = match args {
        AmiCommand::Bake {
            instance,
            region,
            name,
            timeout,
        } => {
            let policy = wait_policy(WaitPolicy::bake_default(), &timeout)?;
            bake(global, &aws, &events, &policy, instance, region, name).await
        }
        AmiCommand::Copy {
            file,
            source,
            source_region,
            timeout,
        } => {
            let policy = wait_policy(WaitPolicy::copy_default(), &timeout)?;
            let def = load_stack(global, &file)?;
            let mut src = AmiSource::from_def(&def);
            if let Some(id) = source {
                src.image_id = id;
            }
            if let Some(r) = source_region {
                src.region = r;
            }
            copy(global, &aws, &events, &policy, &def, &src).await
        }
        AmiCommand::Prune { file, keep } => {
            let def = load_stack(global, &file)?;
            prune(global, &aws, &events, &def, keep).await
        }
    };
    render.finish();
    outcome
}

async fn bake(
    global: &GlobalArgs,
    aws: &Aws,
    events: &Events,
    policy: &WaitPolicy,
    instance_id: String,
    region: String,
    name: String,
) -> Outcome {
    let req = BakeRequest {
        region,
        instance_id,
        name,
    };
    let baked = ami::bake(aws, &req, policy, events)
        .await
        .map_err(failure)?;
    match global.output {
        OutputFormat::Json => println!("{}", json(&baked)),
        OutputFormat::Human => println!("{}", baked.image_id),
    }
    Ok(exit_code::SUCCESS)
}

async fn copy(
    global: &GlobalArgs,
    aws: &Aws,
    events: &Events,
    policy: &WaitPolicy,
    def: &strata::stack::StackDef,
    source: &AmiSource,
) -> Outcome {
    let (done, failed) = match ami::ensure_copies_with(aws, def, source, events, policy).await {
        Ok(done) => (done, Default::default()),
        Err(AmiError::CopiesFailed { failed, done }) => (done, failed),
        Err(e) => return Err(failure(e)),
    };
    match global.output {
        OutputFormat::Json => println!(
            "{}",
            json(&serde_json::json!({
                "stack": def.stack_name(),
                "source": { "image_id": source.image_id, "region": source.region },
                "regions": done,
                "failed": failed,
            }))
        ),
        OutputFormat::Human => {
            for (region, id) in &done {
                println!("{region:<16} {id}");
            }
            for (region, why) in &failed {
                println!("{region:<16} FAILED: {why}");
            }
        }
    }
    if failed.is_empty() {
        Ok(exit_code::SUCCESS)
    } else {
        Err(Failure::new(
            exit_code::ENVIRONMENT,
            format!(
                "AMI copy failed in {}",
                failed.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        ))
    }
}

async fn prune(
    global: &GlobalArgs,
    aws: &Aws,
    events: &Events,
    def: &strata::stack::StackDef,
    keep: usize,
) -> Outcome {
    let report = ami::prune(aws, def, keep, events).await;
    match global.output {
        OutputFormat::Json => println!("{}", json(&report)),
        OutputFormat::Human => {
            for (region, r) in &report.regions {
                let kept: Vec<String> = r
                    .kept
                    .iter()
                    .map(|k| format!("{} ({})", k.image_id, json(&k.reason).trim_matches('"')))
                    .collect();
                println!(
                    "{region:<16} kept: {}; deregistered: {}",
                    if kept.is_empty() {
                        "-".into()
                    } else {
                        kept.join(", ")
                    },
                    if r.deregistered.is_empty() {
                        "-".into()
                    } else {
                        r.deregistered.join(", ")
                    }
                );
                if let Some(e) = &r.error {
                    println!("{region:<16} FAILED: {e}");
                }
            }
        }
    }
    let failed = report.failed_regions();
    if failed.is_empty() {
        Ok(exit_code::SUCCESS)
    } else {
        Err(Failure::new(
            exit_code::ENVIRONMENT,
            format!("prune failed in {}", failed.join(", ")),
        ))
    }
}

/// `base` with its bound replaced by the `--timeout` value.
fn wait_policy(base: WaitPolicy, timeout: &str) -> Result<WaitPolicy, Failure> {
    let max_wait = strata::stack::duration::parse_duration(timeout).map_err(|e| {
        Failure::new(
            exit_code::INVALID_INPUT,
            format!("--timeout {timeout:?}: {e}"),
        )
    })?;
    Ok(WaitPolicy { max_wait, ..base })
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

fn failure(e: AmiError) -> Failure {
    let code = match &e {
        AmiError::SourceNotFound { .. }
        | AmiError::SourceNotAvailable { .. }
        | AmiError::NameTaken { .. } => exit_code::INVALID_INPUT,
        _ => exit_code::ENVIRONMENT,
    };
    Failure::new(code, e.to_string())
}

/// Renders AMI events on stderr.
struct Renderer {
    mode: Mode,
}

enum Mode {
    Json,
    Lines,
    Bars {
        multi: MultiProgress,
        bars: Mutex<HashMap<String, ProgressBar>>,
    },
}

impl Renderer {
    fn new(output: OutputFormat) -> Self {
        let mode = match output {
            OutputFormat::Json => Mode::Json,
            OutputFormat::Human if std::io::stderr().is_terminal() => Mode::Bars {
                multi: MultiProgress::new(),
                bars: Mutex::new(HashMap::new()),
            },
            OutputFormat::Human => Mode::Lines,
        };
        Renderer { mode }
    }

    fn finish(&self) {
        if let Mode::Bars { bars, .. } = &self.mode {
            for bar in bars.lock().expect("renderer poisoned").values() {
                if !bar.is_finished() {
                    bar.abandon();
                }
            }
        }
    }
}

fn describe(kind: &EventKind) -> String {
    match kind {
        EventKind::PhaseStarted { detail } => detail.clone(),
        EventKind::PhaseDone { detail } => format!("done: {detail}"),
        EventKind::Failed { error } => format!("FAILED: {error}"),
        EventKind::Info { message } => message.clone(),
        EventKind::Warning { message } => format!("warning: {message}"),
        EventKind::Progress { done, total } => format!("{done}/{total}"),
        EventKind::Health { signal, ok, detail } => format!("{signal} ok={ok} {detail}"),
        EventKind::Resource {
            logical_id, status, ..
        } => format!("{logical_id} {status}"),
    }
}

impl EventSink for Renderer {
    fn emit(&self, event: Event) {
        let region = event.region.clone().unwrap_or_else(|| "-".into());
        match &self.mode {
            Mode::Json => eprintln!("{}", json(&event)),
            Mode::Lines => eprintln!("{region:<16} {}", describe(&event.kind)),
            Mode::Bars { multi, bars } => {
                let mut bars = bars.lock().expect("renderer poisoned");
                let bar = bars.entry(region.clone()).or_insert_with(|| {
                    let bar = multi.add(ProgressBar::new_spinner());
                    bar.set_style(
                        ProgressStyle::with_template("{spinner} {prefix:<16} {wide_msg}")
                            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                    );
                    bar.set_prefix(region.clone());
                    bar.enable_steady_tick(Duration::from_millis(120));
                    bar
                });
                let msg = describe(&event.kind);
                match &event.kind {
                    EventKind::PhaseDone { .. } => bar.finish_with_message(msg),
                    EventKind::Failed { .. } => bar.abandon_with_message(msg),
                    _ => bar.set_message(msg),
                }
            }
        }
    }
}
