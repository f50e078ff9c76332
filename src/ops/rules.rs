//! The operations rules a mutating command must pass before it touches anything:
//! a responsible person where the definition requires one, and the deploy windows.

use super::dri::{Dri, DriSource};
use super::window::{self, WindowVerdict};
use crate::stack::StackDef;
use time::OffsetDateTime;

/// Who answers for a run, and why it may run now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accountability {
    pub dri: Dri,
    /// Set when the run is outside the deploy windows: the recorded reason.
    pub outside_window: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{stack} requires a responsible person (operations.require_dri): pass --dri NAME or set STRATA_DRI")]
    DriRequired { stack: String },
    #[error("{stack} may only be deployed inside its deploy windows ({windows}); it is now {now} UTC. Wait for a window, or pass --outside-window \"reason\" (the reason is recorded on every stack)")]
    OutsideWindow {
        stack: String,
        windows: String,
        now: String,
    },
    #[error("--outside-window needs a reason")]
    EmptyReason,
}

/// Check the rules. `dri` is the resolved person (None: nobody could be found);
/// `enforce_window` is false for repair commands (rollback, DR), which must be
/// possible at any hour.
pub fn check(
    def: &StackDef,
    dri: Option<Dri>,
    outside_window: Option<&str>,
    enforce_window: bool,
    now: OffsetDateTime,
) -> Result<Accountability, Refusal> {
    let stack = def.stack_name();
    let explicit = dri
        .as_ref()
        .is_some_and(|d| d.source == DriSource::Explicit);
    if def.operations.require_dri && !explicit {
        return Err(Refusal::DriRequired { stack });
    }
    let dri = dri.unwrap_or(Dri {
        name: "unknown".into(),
        source: DriSource::AwsIdentity,
    });
    let reason = match outside_window.map(str::trim) {
        Some("") => return Err(Refusal::EmptyReason),
        other => other.map(str::to_string),
    };
    let verdict = window::check(&def.operations.windows, now);
    let outside_window = match (enforce_window, verdict, reason) {
        (true, WindowVerdict::Outside { windows }, None) => {
            let now = now.to_offset(time::UtcOffset::UTC);
            return Err(Refusal::OutsideWindow {
                stack,
                windows,
                now: format!("{} {:02}:{:02}", now.weekday(), now.hour(), now.minute()),
            });
        }
        (true, WindowVerdict::Outside { .. }, Some(r)) => Some(r),
        // Inside a window (or none, or a repair command): a reason is not needed.
        _ => None,
    };
    Ok(Accountability {
        dri,
        outside_window,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::DeployWindow;
    use time::macros::datetime;

    fn def(require_dri: bool, windows: Vec<DeployWindow>) -> StackDef {
        let src =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/stacks/staging.toml"))
                .unwrap();
        let mut d = crate::stack::load_str(&src, "staging.toml").unwrap();
        d.operations.require_dri = require_dri;
        d.operations.windows = windows;
        d
    }

    fn person(source: DriSource) -> Option<Dri> {
        Some(Dri {
            name: "alice".into(),
            source,
        })
    }

    fn weekdays() -> Vec<DeployWindow> {
        vec![DeployWindow {
            days: ["mon", "tue", "wed", "thu", "fri"]
                .map(String::from)
                .to_vec(),
            start_hour: 9,
            end_hour: 17,
        }]
    }

    const WED_NOON: OffsetDateTime = datetime!(2026-11-25 12:00 UTC);
    const SAT_NOON: OffsetDateTime = datetime!(2026-11-28 12:00 UTC);

    #[test]
    fn production_requires_an_explicit_dri() {
        let d = def(true, vec![]);
        assert!(matches!(
            check(&d, person(DriSource::Git), None, true, WED_NOON),
            Err(Refusal::DriRequired { .. })
        ));
        assert!(matches!(
            check(&d, None, None, true, WED_NOON),
            Err(Refusal::DriRequired { .. })
        ));
        let ok = check(&d, person(DriSource::Explicit), None, true, WED_NOON).unwrap();
        assert_eq!(ok.dri.name, "alice");
    }

    #[test]
    fn outside_a_window_needs_a_reason_which_is_recorded() {
        let d = def(false, weekdays());
        let err = check(&d, person(DriSource::Ci), None, true, SAT_NOON).unwrap_err();
        assert!(
            err.to_string()
                .contains("mon,tue,wed,thu,fri 09:00-17:00 UTC"),
            "{err}"
        );
        assert!(err.to_string().contains("Saturday 12:00"), "{err}");
        let ok = check(
            &d,
            person(DriSource::Ci),
            Some("hotfix INC-42"),
            true,
            SAT_NOON,
        )
        .unwrap();
        assert_eq!(ok.outside_window.as_deref(), Some("hotfix INC-42"));
        assert_eq!(
            check(&d, person(DriSource::Ci), Some("  "), true, SAT_NOON),
            Err(Refusal::EmptyReason)
        );
    }

    #[test]
    fn inside_a_window_or_a_repair_command_runs_without_a_reason() {
        let d = def(false, weekdays());
        let ok = check(
            &d,
            person(DriSource::Ci),
            Some("not needed"),
            true,
            WED_NOON,
        )
        .unwrap();
        assert_eq!(
            ok.outside_window, None,
            "inside a window nothing is recorded"
        );
        let ok = check(&d, person(DriSource::Ci), None, false, SAT_NOON).unwrap();
        assert_eq!(ok.outside_window, None);
    }
}
