//! `strata ami bake | copy | prune`. Progress as every command shows it (a line
//! per region on a terminal, JSON lines otherwise), but on stderr: the result is
//! what goes to stdout.

use super::validate::load_stack;
use super::{Failure, Outcome};
use crate::cli::args::{AmiCommand, GlobalArgs, OutputFormat};
use crate::cli::render::{Mode, Renderer};
use strata::ami::{self, AmiError, AmiSource, BakeRequest, WaitPolicy};
use strata::aws::{Aws, AwsTarget};
use strata::events::Events;
use strata::exit_code;

pub async fn run(global: &GlobalArgs, args: AmiCommand) -> Outcome {
    let aws = Aws::connect(AwsTarget {
        endpoint_url: global.endpoint_url.clone(),
        profile: global.profile.clone(),
    })
    .await;
    let render = Renderer::events_on_stderr(Mode::detect(global.output == OutputFormat::Json));
    let events = render.events();
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
            super::check_account(&aws, &def).await?;
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
            super::check_account(&aws, &def).await?;
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
