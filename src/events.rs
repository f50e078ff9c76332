//! Events: what the library reports while it works. The library never prints;
//! the binary renders events (indicatif bars on a terminal, JSON lines otherwise).

use serde::Serialize;
use std::sync::Arc;
use time::OffsetDateTime;

/// One thing that happened, in one region (or globally when `region` is None).
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    /// RFC 3339 UTC time the event was emitted.
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    /// The region, or None for stack-wide events.
    pub region: Option<String>,
    /// The phase the region is in.
    pub phase: Phase,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// Where a region is in its rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    Preflight,
    AmiCopy,
    Plan,
    Confirm,
    Execute,
    Gate,
    Bake,
    Rollback,
    Wire,
    Global,
    /// A region that left the definition: out of service, then deleted.
    Retire,
    Done,
    Failover,
    Rebuild,
    Drill,
    Destroy,
    /// `dr repair`: dead-letter messages back to their queues, the buffer drained.
    Repair,
    /// `dr backfill` (and the deploy that adds a region): the objects a region's
    /// bucket lacks copied from the others.
    Backfill,
    /// `drift` (and the deploy that puts drifted properties back).
    Drift,
}

/// What happened.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum EventKind {
    /// A phase started for the region.
    PhaseStarted { detail: String },
    /// A CloudFormation resource changed status.
    Resource {
        logical_id: String,
        resource_type: String,
        status: String,
        reason: Option<String>,
    },
    /// Progress of the region's stack: resources done out of total.
    Progress { done: u64, total: u64 },
    /// A health signal read during the gate or the bake.
    Health {
        signal: String,
        ok: bool,
        detail: String,
    },
    /// Free text worth showing (also the CI heartbeat during long waits).
    Info { message: String },
    /// A warning that does not stop the run.
    Warning { message: String },
    /// The region finished its phase successfully.
    PhaseDone { detail: String },
    /// The region failed.
    Failed { error: String },
}

/// Receives events. Implemented by the binary's renderers and by test collectors.
pub trait EventSink: Send + Sync {
    fn emit(&self, event: Event);
}

/// A cheap, clonable handle to an event sink.
#[derive(Clone)]
pub struct Events(Arc<dyn EventSink>);

impl Events {
    pub fn new(sink: Arc<dyn EventSink>) -> Self {
        Events(sink)
    }

    /// A sink that drops everything (for callers that do not care).
    pub fn discard() -> Self {
        struct Discard;
        impl EventSink for Discard {
            fn emit(&self, _: Event) {}
        }
        Events(Arc::new(Discard))
    }

    pub fn emit(&self, region: Option<&str>, phase: Phase, kind: EventKind) {
        self.0.emit(Event {
            time: OffsetDateTime::now_utc(),
            region: region.map(str::to_string),
            phase,
            kind,
        });
    }

    pub fn info(&self, region: Option<&str>, phase: Phase, message: impl Into<String>) {
        self.emit(
            region,
            phase,
            EventKind::Info {
                message: message.into(),
            },
        );
    }

    pub fn warn(&self, region: Option<&str>, phase: Phase, message: impl Into<String>) {
        self.emit(
            region,
            phase,
            EventKind::Warning {
                message: message.into(),
            },
        );
    }
}

/// A sink that keeps every event, for tests.
#[derive(Default)]
pub struct Collect(pub std::sync::Mutex<Vec<Event>>);

impl EventSink for Collect {
    fn emit(&self, event: Event) {
        self.0.lock().expect("event collector poisoned").push(event);
    }
}
