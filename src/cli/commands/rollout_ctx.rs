//! What plan, deploy, rollback and destroy share: load the definition, synthesize
//! both phases, connect, resolve AMIs, build the desired state, set up rendering.

use super::{validate::load_stack, Failure};
use crate::cli::args::GlobalArgs;
use crate::cli::render::{Mode, Renderer};
use std::path::Path;
use std::sync::Arc;
use strata::aws::{Aws, AwsTarget, CloudApi};
use strata::deploy::{preflight, DeployError, Timing};
use strata::events::Events;
use strata::exit_code;
use strata::plan::{self, Desired};
use strata::stack::{duration::parse_duration, StackDef};
use strata::synth::{self, Phase};

pub struct Ctx {
    pub def: StackDef,
    pub desired: Desired,
    pub cloud: CloudApi,
    pub renderer: Arc<Renderer>,
    pub events: Events,
    pub timing: Timing,
}

/// Everything before the first AWS call that changes anything.
pub async fn prepare(
    global: &GlobalArgs,
    file: &Path,
    bake: Option<&str>,
    regions: &[String],
    check_policy: bool,
) -> Result<Ctx, Failure> {
    let def = load_stack(global, file)?;
    let text = std::fs::read_to_string(file)
        .map_err(|e| Failure::new(exit_code::INVALID_INPUT, format!("{}: {e}", file.display())))?;
    for r in regions {
        if def.region(r).is_none() {
            return Err(Failure::new(
                exit_code::INVALID_INPUT,
                format!("{}: no region {r} in the definition", file.display()),
            ));
        }
    }
    let mut timing = Timing::default();
    let invalid = |e: String| Failure::new(exit_code::INVALID_INPUT, e);
    timing.gate_timeout = def
        .rollout
        .gate_timeout_duration()
        .map_err(|e| invalid(e.to_string()))?;
    timing.bake = match bake {
        Some(b) => parse_duration(b).map_err(|e| invalid(format!("--bake: {e}")))?,
        None => def
            .rollout
            .bake_duration()
            .map_err(|e| invalid(e.to_string()))?,
    };
    let build = synth::synthesize(&def, Phase::Build);
    let wired = synth::synthesize(&def, Phase::Wired);
    if check_policy {
        // A mandatory policy violation stops a deploy before any AWS call.
        let report = strata::policy::check(&def, &wired);
        if !report.passed() {
            let list: Vec<String> = report
                .mandatory_violations()
                .map(|f| {
                    let at = [f.region.as_deref(), f.resource.as_deref()]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(" ");
                    format!("  {}: {} ({at}); fix: {}", f.rule, f.message, f.fix)
                })
                .collect();
            return Err(Failure::new(
                report.exit_code(),
                format!(
                    "{}: mandatory policy violations, nothing was changed (see `strata check`):\n{}",
                    file.display(),
                    list.join("\n")
                ),
            ));
        }
    }
    let aws = Aws::connect(AwsTarget {
        endpoint_url: global.endpoint_url.clone(),
        profile: global.profile.clone(),
    })
    .await;
    let cloud = CloudApi::new(aws);
    let renderer = Renderer::new(Mode::detect(
        global.output == crate::cli::args::OutputFormat::Json,
    ));
    let events = renderer.events();
    let amis = preflight::resolve_amis(&cloud, &events, &def)
        .await
        .map_err(environment)?;
    let mut desired = plan::desired(&def, &build, &wired, &amis, &text);
    if !regions.is_empty() {
        for wave in &mut desired.waves {
            wave.retain(|s| regions.contains(&s.region));
        }
        desired.waves.retain(|w| !w.is_empty());
        desired.zone = None;
        desired.global = None;
    }
    Ok(Ctx {
        def,
        desired,
        cloud,
        renderer,
        events,
        timing,
    })
}

/// A deploy error before or outside the rollout, as the command's failure.
pub fn environment(e: DeployError) -> Failure {
    let code = match e {
        DeployError::Stuck { .. } => exit_code::ROLLBACK_FAILED,
        DeployError::Interrupted => exit_code::INTERRUPTED,
        _ => exit_code::ENVIRONMENT,
    };
    Failure::new(code, e.to_string())
}

/// The directly responsible individual: --dri / STRATA_DRI, git user, $USER.
pub fn dri(flag: Option<&str>) -> String {
    if let Some(d) = flag.filter(|d| !d.is_empty()) {
        return d.to_string();
    }
    let git = std::process::Command::new("git")
        .args(["config", "user.name"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|s| !s.is_empty());
    git.or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "unknown".into())
}

/// Refuse before any AWS call when a confirmation is needed and nobody can give it.
pub fn require_yes(yes: bool, what: &str) -> Result<(), Failure> {
    if yes || crate::cli::render::can_prompt() {
        return Ok(());
    }
    Err(Failure::new(
        exit_code::INVALID_INPUT,
        format!("`strata {what}` needs confirmation and this is not a terminal: pass --yes to go ahead without a prompt"),
    ))
}

/// Ask a yes/no question on the terminal.
pub fn ask(renderer: &Renderer, question: &str) -> bool {
    renderer.finish();
    eprint!("{question} [y/N] ");
    let mut answer = String::new();
    if std::io::stdin().read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim(), "y" | "Y" | "yes")
}
