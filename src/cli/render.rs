//! Rendering events, plans and summaries: indicatif lines per region on a terminal,
//! one JSON object per line otherwise (or with `--output json`).

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use strata::deploy::{DestroyReport, Report, StackReport, StackResult};
use strata::events::{Event, EventKind, EventSink, Events};
use strata::plan::timing::Estimate;
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

/// When the last line went out off a terminal, and where the run was: for the
/// heartbeat (`watch_silence`).
struct LastLine {
    at: std::time::Instant,
    region: Option<String>,
    phase: strata::events::Phase,
}

/// How long a run off a terminal may stay silent before a heartbeat line: under
/// the 30 s docs/operations.md promises, whatever blocks (one AWS call retried
/// against an endpoint that does not answer takes up to a minute).
const SILENCE: Duration = Duration::from_secs(25);

/// The event sink of the binary.
pub struct Renderer {
    mode: Mode,
    last: Arc<Mutex<LastLine>>,
    bars: Mutex<BTreeMap<String, ProgressBar>>,
    /// Terminal: what each region's live line shows.
    views: Mutex<BTreeMap<String, View>>,
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
        let last = Arc::new(Mutex::new(LastLine {
            at: std::time::Instant::now(),
            region: None,
            phase: strata::events::Phase::Preflight,
        }));
        let r = Arc::new(Renderer {
            mode,
            last,
            bars: Mutex::new(BTreeMap::new()),
            views: Mutex::new(BTreeMap::new()),
            multi,
            json_to_stderr: false,
        });
        if mode == Mode::Json {
            watch_silence(Arc::downgrade(&r));
        }
        r
    }

    fn printed(&self, region: Option<&str>, phase: Option<strata::events::Phase>) {
        if let Ok(mut l) = self.last.lock() {
            l.at = std::time::Instant::now();
            if let Some(p) = phase {
                l.region = region.map(str::to_string);
                l.phase = p;
            }
        }
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
            Mode::Json => {
                println!("{text}");
                self.printed(None, None);
            }
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
                bar.set_message(format!("{phase}: starting"));
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
            self.printed(e.region.as_deref(), Some(e.phase));
            return;
        }
        let region = e.region.clone().unwrap_or_else(|| "strata".into());
        let phase = serde_json::to_value(e.phase)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let bar = self.bar(&region, &phase);
        let mut views = self.views.lock().expect("views");
        let view = views.entry(region.clone()).or_insert_with(View::new);
        view.last = std::time::Instant::now();
        // A line never turns without saying what it waits for: a region's first
        // event names its phase even when it is not a PhaseStarted.
        if view.phase.is_empty() && view.detail.is_empty() {
            view.phase = phase.clone();
            view.detail = "starting".into();
        }
        match &e.kind {
            EventKind::PhaseStarted { detail } => {
                view.phase = phase.clone();
                view.detail = detail.clone();
                view.progress = None;
                view.waiting = None;
                bar.reset_elapsed();
            }
            EventKind::Progress { done, total } => view.progress = Some((*done, *total)),
            EventKind::PhaseDone { detail } => {
                view.phase = phase.clone();
                view.detail = detail.clone();
                view.progress = None;
                view.waiting = None;
            }
            EventKind::Resource {
                logical_id,
                resource_type,
                status,
                reason,
            } => {
                // The live line shows the latest resource; only failures scroll.
                view.current = Some(format!("{logical_id} {status}"));
                if status.contains("FAILED") {
                    let why = reason
                        .as_deref()
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default();
                    let _ = self.multi.println(format!(
                        "  {region:>16}  {status:<22} {logical_id} {resource_type}{why}"
                    ));
                }
            }
            EventKind::Health { signal, ok, detail } => {
                // Printed when a signal's state changes (across gate and bake) or it
                // fails; the live line names what the region waits on.
                let now = (*ok, detail.clone());
                if view.health.get(signal) != Some(&now) {
                    let changed_ok = view.health.get(signal).map(|(o, _)| *o) != Some(*ok);
                    if changed_ok || !*ok {
                        let mark = if *ok { "ok  " } else { "WAIT" };
                        let _ = self
                            .multi
                            .println(format!("  {region:>16}  {phase} {mark} {signal}: {detail}"));
                    }
                    view.health.insert(signal.clone(), now);
                }
                view.waiting = view
                    .health
                    .iter()
                    .find(|(_, (ok, _))| !ok)
                    .map(|(signal, (_, detail))| format!("{signal}: {detail}"));
            }
            EventKind::Info { message } => {
                if view.detail == "starting" {
                    view.detail = message.clone();
                }
                // The CI heartbeat ("still waiting ...") is the live line's elapsed here.
                if !message.starts_with("still ") {
                    let _ = self.multi.println(format!("  {region:>16}  {message}"));
                }
            }
            EventKind::Warning { message } => {
                let _ = self
                    .multi
                    .println(format!("  {region:>16}  warning: {message}"));
            }
            EventKind::Failed { error } => {
                view.phase = phase.clone();
                view.detail = "FAILED".into();
                view.waiting = None;
                let _ = self
                    .multi
                    .println(format!("  {region:>16}  FAILED: {error}"));
            }
        }
        bar.set_message(view.line());
    }
}

/// What one region's live line says.
struct View {
    phase: String,
    detail: String,
    progress: Option<(u64, u64)>,
    /// The resource CloudFormation reported last.
    current: Option<String>,
    /// The first failing health signal: what the region waits on.
    waiting: Option<String>,
    /// Last state of each health signal, across the gate and the bake.
    health: BTreeMap<String, (bool, String)>,
    first: std::time::Instant,
    last: std::time::Instant,
}

impl View {
    fn new() -> View {
        let now = std::time::Instant::now();
        View {
            phase: String::new(),
            detail: String::new(),
            progress: None,
            current: None,
            waiting: None,
            health: BTreeMap::new(),
            first: now,
            last: now,
        }
    }

    /// `execute: 23/61 resources, NatGatewayA CREATE_IN_PROGRESS` or
    /// `gate: health gate; waiting on targets: 1/3 healthy`.
    fn line(&self) -> String {
        let mut out = if self.phase.is_empty() {
            self.detail.clone()
        } else {
            format!("{}: {}", self.phase, self.detail)
        };
        if let Some((done, total)) = self.progress {
            out = format!("{}: {done}/{total} resources", self.phase);
            if let Some(c) = &self.current {
                out.push_str(&format!(", {c}"));
            }
        }
        if let Some(w) = &self.waiting {
            out.push_str(&format!("; waiting on {w}"));
        }
        out
    }
}

/// Off a terminal: after `SILENCE` without a line, an `info` heartbeat naming
/// where the run was, whatever is blocking (the library's waits say more, but a
/// single AWS call being retried against an unreachable endpoint says nothing).
/// Stops with the renderer.
fn watch_silence(renderer: std::sync::Weak<Renderer>) {
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_secs(1));
        let Some(r) = renderer.upgrade() else { return };
        let (quiet, region, phase) = match r.last.lock() {
            Ok(l) => (l.at.elapsed(), l.region.clone(), l.phase),
            Err(_) => return,
        };
        if quiet < SILENCE {
            continue;
        }
        r.emit(Event {
            time: time::OffsetDateTime::now_utc(),
            region,
            phase,
            kind: EventKind::Info {
                message: format!(
                    "still working ({}s without news: waiting for an answer from AWS; \
                     calls are retried for up to {}s each)",
                    quiet.as_secs(),
                    strata::aws::CALL_LIMIT.as_secs()
                ),
            },
        });
    });
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
        if !s.replica_steps.is_empty() {
            // A global table takes one replica change per update.
            let n = s.replica_steps.len() + 1;
            for (k, step) in s.replica_steps.iter().enumerate() {
                out.push_str(&format!(
                    "      update {} of {n}: {}\n",
                    k + 1,
                    step.does.join(", ")
                ));
            }
            out.push_str(&format!(
                "      update {n} of {n}: the rest of the changes below\n"
            ));
        }
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
                ChangeAction::Import => "<",
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
    if !plan.awaiting_zone.is_empty() {
        out.push_str(&format!(
            "Decided from the templates, as the zone does not exist yet (they name it by \
             id): {}. A deploy creates the zone first, then has CloudFormation plan these and \
             asks again.\n",
            plan.awaiting_zone.join(", ")
        ));
    }
    if plan.is_no_change() {
        out.push_str("Nothing to change.\n");
    }
    out
}

/// Show the plan and its time on AWS: text on a terminal, `{"plan": …,
/// "estimate": …}` otherwise.
/// The plan, its estimate and its plan id (what `strata approve` approves).
pub fn show_plan(r: &Renderer, plan: &Plan, estimate: &Estimate, plan_id: &str) {
    match r.mode {
        Mode::Terminal => {
            let mut text = plan_text(plan);
            if !plan.is_no_change() {
                text.push_str(&estimate_text(estimate));
            }
            text.push_str(&format!("Plan id: {plan_id}\n"));
            r.line(text.trim_end())
        }
        Mode::Json => println!(
            "{}",
            serde_json::json!({ "plan": plan, "estimate": estimate, "plan_id": plan_id })
        ),
    }
}

/// `1h02m05s`, `7m25s`, `40s`.
pub fn hms(seconds: f64) -> String {
    let s = seconds.round() as u64;
    match (s / 3600, (s % 3600) / 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, m, sec) => format!("{m}m{sec:02}s"),
        (h, m, sec) => format!("{h}h{m:02}m{sec:02}s"),
    }
}

/// The estimate: per phase of the rollout, its floor on AWS and what makes it.
pub fn estimate_text(e: &Estimate) -> String {
    let mut out = String::from(
        "Time on AWS at the least (sandbox/aws_durations.json; docs/deploy.md#time-model):\n",
    );
    for p in &e.phases {
        let how = match (p.phase.as_str(), p.serial) {
            ("prepare", _) => {
                "change sets in every region at once, beside the AMI copies".to_string()
            }
            (_, true) => "one region after another".to_string(),
            (_, false) if p.stacks.len() > 1 => "regions at the same time".to_string(),
            _ => String::new(),
        };
        out.push_str(&format!("  {:<10} {:>9}  {how}\n", p.phase, hms(p.seconds)));
        for s in &p.stacks {
            let mut parts = Vec::new();
            if s.change_set_s > 0.0 {
                parts.push(format!("change set {}", hms(s.change_set_s)));
            }
            parts.push(format!("execute {}", hms(s.execute_s)));
            if s.gate_s > 0.0 {
                parts.push(format!("gate {}", hms(s.gate_s)));
            }
            if s.bake_s > 0.0 {
                parts.push(format!("bake {}", hms(s.bake_s)));
            }
            let chain = if s.critical_path.is_empty() {
                String::new()
            } else {
                format!("  [{}]", s.critical_path.join(" > "))
            };
            out.push_str(&format!(
                "      {:<16} {:>9}  {}{chain}\n",
                s.region,
                hms(s.total_s),
                parts.join(", ")
            ));
        }
    }
    out.push_str(&format!(
        "  {:<10} {:>9}  (one region after another, as StackSets' sequential order: {})\n",
        "total",
        hms(e.total_s),
        hms(e.sequential_s)
    ));
    out
}

/// Set once a summary was shown, so that a failure after it adds no second one.
static SUMMARY_SHOWN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The summary of a run that failed before it had a report of its own (exit 7:
/// the endpoint unreachable while reading or planning, a failed lock write…):
/// off a terminal `{"summary": {…, "outcome": "error", "error": …}}`, so that CI
/// always gets its last line. Nothing when a summary was already shown.
pub fn show_error_summary(global: &crate::cli::args::GlobalArgs, deployment_id: &str, error: &str) {
    let json = global.output == crate::cli::args::OutputFormat::Json;
    if Mode::detect(json) != Mode::Json
        || SUMMARY_SHOWN.swap(true, std::sync::atomic::Ordering::SeqCst)
    {
        return;
    }
    println!(
        "{}",
        serde_json::json!({ "summary": {
            "deployment_id": deployment_id,
            "version": null,
            "outcome": strata::deploy::Outcome::Error,
            "stacks": [],
            "error": error,
        }})
    );
}

/// Show the final summary: which region runs which version.
pub fn show_summary(r: &Renderer, report: &Report) {
    SUMMARY_SHOWN.store(true, std::sync::atomic::Ordering::SeqCst);
    r.finish();
    match r.mode {
        Mode::Json => println!("{}", serde_json::json!({ "summary": report })),
        Mode::Terminal => {
            let mut out = format!("\nResult: {:?}\n", report.outcome);
            out.push_str(&stack_table(r, &report.stacks));
            if let Some(e) = &report.error {
                out.push_str(&format!("  cause: {e}\n"));
            }
            for r in &report.drift_restored {
                out.push_str(&format!("  {}\n", r.line()));
            }
            for b in &report.backfill {
                out.push_str(&format!(
                    "  back-fill {}: {} of {} missing objects copied ({} already there){}\n",
                    b.region,
                    b.copied,
                    b.missing,
                    b.already_there,
                    match &b.finish_with {
                        None => ", complete".to_string(),
                        Some(cmd) => format!(", NOT complete: finish with `{cmd}`"),
                    }
                ));
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

/// destroy's summary: the stacks, the data it deleted, and what it kept, why, and
/// the command that removes it.
pub fn show_destroy_summary(r: &Renderer, report: &DestroyReport) {
    SUMMARY_SHOWN.store(true, std::sync::atomic::Ordering::SeqCst);
    r.finish();
    match r.mode {
        Mode::Json => println!("{}", serde_json::json!({ "summary": report })),
        Mode::Terminal => {
            let mut out = format!(
                "\nResult: {:?} ({})\n",
                report.outcome, report.deployment_id
            );
            out.push_str(&stack_table(r, &report.stacks));
            if !report.data_deleted.is_empty() {
                out.push_str("Deleted (named with --delete-data):\n");
                for d in &report.data_deleted {
                    out.push_str(&format!(
                        "  {:<16} {} ({} versions and delete markers)\n",
                        d.region, d.name, d.versions_deleted
                    ));
                }
            }
            if !report.kept.is_empty() {
                out.push_str("Kept:\n");
                for k in &report.kept {
                    out.push_str(&format!(
                        "  {:<16} {} {}: {}\n      remove: {}\n",
                        k.region, k.kind, k.name, k.why, k.remove
                    ));
                }
            }
            eprint!("{out}");
        }
    }
}

/// One line per stack: region, stack, result, time, version.
fn stack_table(r: &Renderer, stacks: &[StackReport]) -> String {
    let views = r.views.lock().expect("views");
    let mut out = format!(
        "  {:<16} {:<28} {:<20} {:>8}  {}\n",
        "REGION", "STACK", "RESULT", "TIME", "VERSION"
    );
    for s in stacks {
        let result = serde_json::to_value(s.result)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        // From the region's first event to its last, as seen here.
        let time = views
            .get(&s.region)
            .map(|v| hms(v.last.duration_since(v.first).as_secs_f64()))
            .unwrap_or_else(|| "-".into());
        out.push_str(&format!(
            "  {:<16} {:<28} {:<20} {:>8}  {}\n",
            s.region,
            s.stack,
            result,
            time,
            s.version.as_deref().unwrap_or("-")
        ));
    }
    out
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
            replica_steps: vec![],
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
        assert_eq!(bars["eu-west-1"].message(), "preflight: starting");
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
            awaiting_zone: vec![],
        };
        let mut plan = plan;
        plan.waves[0][0].parameters = vec![strata::plan::ParameterChange {
            name: "AmiId".into(),
            old: Some("ami-1".into()),
            new: "ami-2".into(),
        }];
        plan.waves[0][0].replica_steps = vec![strata::plan::ReplicaStep {
            does: vec!["TableOrders: add ap-south-1".into()],
            template_body: String::new(),
        }];
        let text = plan_text(&plan);
        assert!(
            text.contains("update 1 of 2: TableOrders: add ap-south-1\n"),
            "{text}"
        );
        assert!(
            text.contains("update 2 of 2: the rest of the changes below"),
            "{text}"
        );
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
