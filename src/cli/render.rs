//! Rendering events, plans and summaries: indicatif lines per region on a terminal,
//! one JSON object per line otherwise (or with `--output json`).

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use strata::deploy::{Report, StackResult};
use strata::events::{Event, EventKind, EventSink, Events};
use strata::plan::{ChangeAction, Plan, StackAction};

/// How this run shows things.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A terminal: progress lines, human text, prompts allowed.
    Terminal,
    /// JSON lines: `--output json` or stdout is not a terminal.
    Json,
}

impl Mode {
    pub fn detect(json: bool) -> Mode {
        if json || !std::io::stdout().is_terminal() {
            Mode::Json
        } else {
            Mode::Terminal
        }
    }
}

/// True when a question can be asked and answered.
pub fn can_prompt() -> bool {
    std::io::stdin().is_terminal() && std::io::stdout().is_terminal()
}

/// The event sink of the binary.
pub struct Renderer {
    mode: Mode,
    bars: Mutex<BTreeMap<String, ProgressBar>>,
    multi: MultiProgress,
    /// JSON events go to stderr (commands whose stdout is their result).
    json_to_stderr: bool,
}

impl Renderer {
    pub fn new(mode: Mode) -> Arc<Renderer> {
        let multi = match mode {
            Mode::Terminal => MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            Mode::Json => MultiProgress::with_draw_target(ProgressDrawTarget::hidden()),
        };
        Arc::new(Renderer {
            mode,
            bars: Mutex::new(BTreeMap::new()),
            multi,
            json_to_stderr: false,
        })
    }

    /// A renderer whose JSON events go to stderr, for a command that prints its
    /// result on stdout (`strata ami`).
    pub fn events_on_stderr(mode: Mode) -> Arc<Renderer> {
        let mut r = Arc::into_inner(Renderer::new(mode)).expect("a new renderer");
        r.json_to_stderr = true;
        Arc::new(r)
    }

    pub fn events(self: &Arc<Self>) -> Events {
        Events::new(self.clone())
    }

    /// Print a line of text (above the bars on a terminal).
    pub fn line(&self, text: &str) {
        match self.mode {
            Mode::Terminal => {
                let _ = self.multi.println(text);
            }
            Mode::Json => println!("{text}"),
        }
    }

    /// Stop the bars (before a prompt or the summary).
    pub fn finish(&self) {
        for bar in self.bars.lock().expect("bars").values() {
            bar.finish();
        }
    }

    /// The region's progress line, made on its first event: it starts with the
    /// phase as its text (a spinner never turns without saying what it waits for).
    fn bar(&self, region: &str, phase: &str) -> ProgressBar {
        let mut bars = self.bars.lock().expect("bars");
        bars.entry(region.to_string())
            .or_insert_with(|| {
                let bar = self.multi.add(ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template("{prefix:>16.bold} {spinner} {msg} [{elapsed}]")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.set_prefix(region.to_string());
                bar.set_message(format!("{phase}..."));
                bar.enable_steady_tick(Duration::from_millis(200));
                bar
            })
            .clone()
    }
}

impl EventSink for Renderer {
    fn emit(&self, e: Event) {
        if self.mode == Mode::Json {
            if let Ok(line) = serde_json::to_string(&e) {
                if self.json_to_stderr {
                    eprintln!("{line}");
                } else {
                    println!("{line}");
                }
            }
            return;
        }
        let region = e.region.clone().unwrap_or_else(|| "strata".into());
        let phase = serde_json::to_value(e.phase)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let bar = self.bar(&region, &phase);
        match &e.kind {
            EventKind::PhaseStarted { detail } => bar.set_message(format!("{phase}: {detail}")),
            EventKind::Progress { done, total } => {
                bar.set_message(format!("{phase}: {done}/{total} resources"))
            }
            EventKind::PhaseDone { detail } => bar.set_message(format!("{phase}: {detail}")),
            EventKind::Resource {
                logical_id,
                resource_type,
                status,
                reason,
            } => {
                let why = reason
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default();
                let _ = self.multi.println(format!(
                    "  {region:>16}  {status:<22} {logical_id} {resource_type}{why}"
                ));
            }
            EventKind::Health { signal, ok, detail } => {
                let mark = if *ok { "ok  " } else { "WAIT" };
                let _ = self
                    .multi
                    .println(format!("  {region:>16}  {phase} {mark} {signal}: {detail}"));
            }
            EventKind::Info { message } => {
                let _ = self.multi.println(format!("  {region:>16}  {message}"));
                if !bar.message().contains(':') {
                    bar.set_message(format!("{phase}: {message}"));
                }
            }
            EventKind::Warning { message } => {
                let _ = self
                    .multi
                    .println(format!("  {region:>16}  warning: {message}"));
            }
            EventKind::Failed { error } => {
                bar.set_message(format!("{phase}: FAILED"));
                let _ = self
                    .multi
                    .println(format!("  {region:>16}  FAILED: {error}"));
            }
        }
    }
}

/// The plan as text: one block per stack, resources with +, ~, - and REPLACES.
pub fn plan_text(plan: &Plan) -> String {
    let mut out = format!("Plan {} (version {}):\n", plan.deployment_id, plan.version);
    for s in plan.stacks() {
        let what = match s.action {
            StackAction::Create => "create",
            StackAction::Update => "update",
            StackAction::NoChange => "no change",
            StackAction::Remove => {
                "remove (left the definition): out of DNS and replication first, \
                 deleted after the other regions; its bucket and tables are kept"
            }
        };
        out.push_str(&format!("  {} ({}): {what}\n", s.stack_name, s.region));
        for p in &s.parameters {
            out.push_str(&format!(
                "      parameter {}: {} -> {}\n",
                p.name,
                p.old.as_deref().unwrap_or("(none)"),
                p.new
            ));
        }
        for c in &s.changes {
            let sign = match c.action {
                ChangeAction::Add => "+",
                ChangeAction::Modify => "~",
                ChangeAction::Remove => "-",
            };
            let replaces = if c.replaces { "  REPLACES" } else { "" };
            let props = if c.properties.is_empty() {
                String::new()
            } else {
                format!(" ({})", c.properties.join(", "))
            };
            out.push_str(&format!(
                "      {sign} {} {}{props}{replaces}\n",
                c.logical_id, c.resource_type
            ));
        }
    }
    if !plan.at_risk.is_empty() {
        out.push_str(
            "At risk (a deploy refuses these unless each is named with --allow-replace):\n",
        );
        for r in &plan.at_risk {
            out.push_str(&format!(
                "  {} {} ({}): {}\n",
                r.region, r.logical_id, r.resource_type, r.risk
            ));
        }
    }
    if plan.is_no_change() {
        out.push_str("Nothing to change.\n");
    }
    out
}

/// Show the plan: text on a terminal, `{"plan": …}` otherwise.
pub fn show_plan(r: &Renderer, plan: &Plan) {
    match r.mode {
        Mode::Terminal => r.line(plan_text(plan).trim_end()),
        Mode::Json => println!("{}", serde_json::json!({ "plan": plan })),
    }
}

/// Show the final summary: which region runs which version.
pub fn show_summary(r: &Renderer, report: &Report) {
    r.finish();
    match r.mode {
        Mode::Json => println!("{}", serde_json::json!({ "summary": report })),
        Mode::Terminal => {
            let mut out = format!("\nResult: {:?}\n", report.outcome);
            for s in &report.stacks {
                let result = serde_json::to_value(s.result)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                out.push_str(&format!(
                    "  {:<16} {:<28} {:<20} {}\n",
                    s.region,
                    s.stack,
                    result,
                    s.version.as_deref().unwrap_or("-")
                ));
            }
            if let Some(e) = &report.error {
                out.push_str(&format!("  cause: {e}\n"));
            }
            if report.stacks.iter().any(|s| {
                matches!(
                    s.result,
                    StackResult::RollbackFailed | StackResult::RemovalFailed
                )
            }) {
                out.push_str("  a stack needs a human: see runbooks/stuck-stack.md\n");
            }
            eprint!("{out}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata::plan::{RegionPlan, ResourceChange, StackRole};

    fn stack(region: &str, action: StackAction, changes: Vec<ResourceChange>) -> RegionPlan {
        RegionPlan {
            region: region.into(),
            stack_name: format!("shop-prod-{region}"),
            role: StackRole::Region,
            action,
            changes,
            parameters: vec![],
            previous: None,
            change_set: None,
        }
    }

    #[test]
    fn a_progress_line_always_says_what_it_waits_for() {
        let r = Renderer::new(Mode::Terminal);
        let events = r.events();
        events.info(
            Some("us-west-2"),
            strata::events::Phase::Plan,
            "change set created",
        );
        events.warn(Some("eu-west-1"), strata::events::Phase::Preflight, "slow");
        let bars = r.bars.lock().unwrap();
        assert_eq!(bars["us-west-2"].message(), "plan: change set created");
        assert_eq!(bars["eu-west-1"].message(), "preflight...");
        drop(bars);
        r.finish();
    }

    #[test]
    fn the_plan_text_shows_changes_replacements_and_a_leaving_region() {
        let change = |id: &str, action, replaces| ResourceChange {
            logical_id: id.into(),
            resource_type: "AWS::EC2::Subnet".into(),
            action,
            replaces,
            properties: vec!["CidrBlock".into()],
        };
        let plan = Plan {
            deployment_id: "d1".into(),
            version: "ami-1-abc".into(),
            zone: None,
            waves: vec![vec![stack(
                "us-east-1",
                StackAction::Update,
                vec![change("PublicSubnetA", ChangeAction::Modify, true)],
            )]],
            global: None,
            removals: vec![stack(
                "ap-southeast-2",
                StackAction::Remove,
                vec![change("LatencyRecord", ChangeAction::Remove, false)],
            )],
            at_risk: vec![strata::plan::AtRisk {
                region: "us-east-1".into(),
                stack_name: "shop-prod-us-east-1".into(),
                logical_id: "PublicSubnetA".into(),
                resource_type: "AWS::EC2::Subnet".into(),
                risk: "traffic: ...".into(),
            }],
        };
        let mut plan = plan;
        plan.waves[0][0].parameters = vec![strata::plan::ParameterChange {
            name: "AmiId".into(),
            old: Some("ami-1".into()),
            new: "ami-2".into(),
        }];
        let text = plan_text(&plan);
        assert!(
            text.contains("shop-prod-us-east-1 (us-east-1): update"),
            "{text}"
        );
        assert!(
            text.contains("~ PublicSubnetA AWS::EC2::Subnet (CidrBlock)  REPLACES"),
            "{text}"
        );
        assert!(text.contains("parameter AmiId: ami-1 -> ami-2"), "{text}");
        assert!(
            text.contains("us-east-1 PublicSubnetA (AWS::EC2::Subnet): traffic"),
            "{text}"
        );
        assert!(
            text.contains(
                "shop-prod-ap-southeast-2 (ap-southeast-2): remove (left the definition)"
            ),
            "{text}"
        );
        assert!(text.contains("- LatencyRecord"), "{text}");
        assert!(!text.contains("Nothing to change"), "{text}");
    }
}
