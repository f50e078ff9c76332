//! Deploy windows: is a moment inside one of the definition's UTC windows?

use crate::stack::DeployWindow;
use time::{OffsetDateTime, Weekday};

/// The answer for one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WindowVerdict {
    /// The definition has no windows: any time is fine.
    Unrestricted,
    /// Inside window number `index` (0-based, in file order).
    Inside { index: usize },
    /// Outside every window; `windows` describes them for the refusal message.
    Outside { windows: String },
}

impl WindowVerdict {
    pub fn allows(&self) -> bool {
        !matches!(self, WindowVerdict::Outside { .. })
    }
}

/// Parse "mon".."sun" (any case); None for anything else (validation reports those).
pub fn parse_day(s: &str) -> Option<Weekday> {
    Some(match s.to_ascii_lowercase().as_str() {
        "mon" => Weekday::Monday,
        "tue" => Weekday::Tuesday,
        "wed" => Weekday::Wednesday,
        "thu" => Weekday::Thursday,
        "fri" => Weekday::Friday,
        "sat" => Weekday::Saturday,
        "sun" => Weekday::Sunday,
        _ => return None,
    })
}

/// Is `now` (any offset; compared in UTC) inside a window?
pub fn check(windows: &[DeployWindow], now: OffsetDateTime) -> WindowVerdict {
    if windows.is_empty() {
        return WindowVerdict::Unrestricted;
    }
    let now = now.to_offset(time::UtcOffset::UTC);
    let hour = now.hour();
    for (index, w) in windows.iter().enumerate() {
        let day_ok = w.days.iter().filter_map(|d| parse_day(d)).any(|d| d == now.weekday());
        if day_ok && hour >= w.start_hour && hour < w.end_hour {
            return WindowVerdict::Inside { index };
        }
    }
    WindowVerdict::Outside {
        windows: describe(windows),
    }
}

/// "mon,tue 09:00-17:00 UTC; sat 10:00-12:00 UTC".
pub fn describe(windows: &[DeployWindow]) -> String {
    windows
        .iter()
        .map(|w| {
            format!(
                "{} {:02}:00-{:02}:00 UTC",
                w.days.join(","),
                w.start_hour,
                w.end_hour
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn weekdays_9_to_17() -> Vec<DeployWindow> {
        vec![DeployWindow {
            days: ["mon", "tue", "wed", "thu"].map(String::from).to_vec(),
            start_hour: 9,
            end_hour: 17,
        }]
    }

    #[test]
    fn no_windows_means_any_time() {
        assert_eq!(
            check(&[], datetime!(2026-11-28 03:00 UTC)),
            WindowVerdict::Unrestricted
        );
    }

    #[test]
    fn inside_and_outside_a_weekday_window() {
        let w = weekdays_9_to_17();
        // 2026-11-25 is a Wednesday.
        assert!(check(&w, datetime!(2026-11-25 09:00 UTC)).allows());
        assert!(check(&w, datetime!(2026-11-25 16:59 UTC)).allows());
        assert!(!check(&w, datetime!(2026-11-25 17:00 UTC)).allows(), "end hour is exclusive");
        assert!(!check(&w, datetime!(2026-11-25 08:59 UTC)).allows());
        // Friday is not in the window.
        let v = check(&w, datetime!(2026-11-27 10:00 UTC));
        assert_eq!(
            v,
            WindowVerdict::Outside {
                windows: "mon,tue,wed,thu 09:00-17:00 UTC".into()
            }
        );
    }

    #[test]
    fn other_offsets_are_compared_in_utc() {
        let w = weekdays_9_to_17();
        // 18:30 in UTC+10 on Thursday is 08:30 UTC Thursday: outside.
        assert!(!check(&w, datetime!(2026-11-26 18:30 +10)).allows());
        // 20:00 in UTC+10 on Thursday is 10:00 UTC Thursday: inside.
        assert!(check(&w, datetime!(2026-11-26 20:00 +10)).allows());
    }
}
