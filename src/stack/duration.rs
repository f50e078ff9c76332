//! Durations as written in a stack file: "90s", "5m", "1h", "1h30m", "0s".

use std::time::Duration;

/// A duration string that is not `<number><unit>` groups with units s, m, h.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a duration: {reason}")]
pub struct DurationError {
    pub text: String,
    pub reason: String,
}

/// What a duration may look like, for help texts.
pub const DURATION_HELP: &str =
    "a whole number followed by s, m or h, optionally combined: \"30s\", \"5m\", \"1h30m\", \"0s\"";

/// Parse "90s", "5m", "1h", "1h30m". Units may not repeat and must go h, m, s.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let fail = |reason: &str| DurationError {
        text: text.to_string(),
        reason: reason.to_string(),
    };
    if text.trim().is_empty() {
        return Err(fail("it is empty"));
    }
    if text.chars().any(char::is_whitespace) {
        return Err(fail("it contains a space"));
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    let mut last_rank = 0u8;
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let (rank, secs) = match c {
            'h' => (1, 3600),
            'm' => (2, 60),
            's' => (3, 1),
            _ => return Err(fail(&format!("`{c}` is not a unit (s, m or h)"))),
        };
        if digits.is_empty() {
            return Err(fail(&format!("`{c}` has no number before it")));
        }
        if rank <= last_rank {
            return Err(fail("units must appear once each, in the order h, m, s"));
        }
        last_rank = rank;
        let n: u64 = digits
            .parse()
            .map_err(|_| fail("the number is too large"))?;
        total = n
            .checked_mul(secs)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| fail("the number is too large"))?;
        digits.clear();
    }
    if !digits.is_empty() {
        return Err(fail("the last number has no unit (s, m or h)"));
    }
    Ok(Duration::from_secs(total))
}

/// Format a duration the way a stack file writes it ("1h30m", "90s" -> "1m30s").
pub fn format_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs == 0 {
        return "0s".to_string();
    }
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 {
        out.push_str(&format!("{s}s"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_single_units() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn parses_combinations() {
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("2m5s"), Ok(Duration::from_secs(125)));
    }

    #[test]
    fn rejects_what_is_not_a_duration() {
        for bad in [
            "", "5", "m", "5 m", "5x", "1.5m", "-5s", "5s1m", "1m1m", "5min",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be rejected");
        }
        let e = parse_duration("10q").unwrap_err();
        assert_eq!(
            e.to_string(),
            "`10q` is not a duration: `q` is not a unit (s, m or h)"
        );
        assert!(parse_duration("99999999999999999999s").is_err());
    }

    #[test]
    fn formats_back() {
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_duration(Duration::ZERO), "0s");
    }
}
