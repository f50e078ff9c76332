//! Telling people what a changing command did: its start, its result and any
//! rollback, published to the stack's alert topic (`alarms.notify`), the same
//! topic its alarms act on. One message per event, to the first region (in the
//! definition's order, never the region a DR command acts on: it may be dead, and
//! failover never calls it) whose topic answers. A failed publish is a warning,
//! never the command's failure.

use crate::events::{Events, Phase};
use std::future::Future;

/// Publishing to a topic. Implemented by `aws::notify::SnsNotifier`.
pub trait Notifier: Sync {
    fn publish(
        &self,
        region: &str,
        topic_arn: &str,
        subject: &str,
        message: &str,
    ) -> impl Future<Output = Result<(), String>> + Send;
}

/// One message: subject (SNS takes at most 100 characters) and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    pub subject: String,
    pub body: String,
}

impl Announcement {
    /// `strata <command> of <stack> started by <dri>`.
    pub fn started(command: &str, stack: &str, dri: &str, regions: &[String]) -> Self {
        Announcement {
            subject: clip(format!("strata {command} of {stack} started by {dri}")),
            body: format!(
                "strata {command} of {stack} started by {dri}, regions: {}.",
                regions.join(", ")
            ),
        }
    }

    /// The result, by exit code (README's table), with what the command said.
    pub fn finished(command: &str, stack: &str, dri: &str, code: i32, detail: &str) -> Self {
        let what = match code {
            0 => "succeeded",
            1 => "FAILED and was rolled back",
            4 => "FAILED: ROLLBACK FAILED, a region needs a human (runbooks/stuck-stack.md)",
            5 => "was refused: the deploy lock is held",
            130 => "was interrupted at a safe point (run it again to finish)",
            _ => "FAILED",
        };
        let mut body = format!("strata {command} of {stack} by {dri} {what} (exit {code}).");
        if !detail.is_empty() {
            body.push('\n');
            body.push_str(detail);
        }
        Announcement {
            subject: clip(format!("strata {command} of {stack} {what} (exit {code})")),
            body,
        }
    }
}

impl Announcement {
    /// A failure the command reports as an error (its exit code is the binary's).
    pub fn failed(command: &str, stack: &str, dri: &str, error: &str) -> Self {
        Announcement {
            subject: clip(format!("strata {command} of {stack} FAILED")),
            body: format!("strata {command} of {stack} by {dri} FAILED.\n{error}"),
        }
    }
}

fn clip(mut s: String) -> String {
    if s.chars().count() > 100 {
        s = s.chars().take(99).collect::<String>() + "…";
    }
    s
}

/// Publish `what` to the first topic of `topics` (region, ARN) that takes it.
/// Returns the region it went to; warns when none did.
pub async fn announce<N: Notifier>(
    notifier: &N,
    topics: &[(String, String)],
    what: &Announcement,
    events: &Events,
) -> Option<String> {
    let mut errors = Vec::new();
    for (region, arn) in topics {
        match notifier
            .publish(region, arn, &what.subject, &what.body)
            .await
        {
            // No event on success: a result is announced after the run's summary,
            // which must stay the last JSON line CI reads.
            Ok(()) => return Some(region.clone()),
            Err(e) => errors.push(format!("{region}: {e}")),
        }
    }
    if !topics.is_empty() {
        events.warn(
            None,
            Phase::Done,
            format!(
                "could not tell anyone ({}); the alert topics did not take the message: {}",
                what.subject,
                errors.join("; ")
            ),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    struct Fake {
        down: Vec<&'static str>,
        sent: Mutex<Vec<(String, String)>>,
    }

    impl Notifier for Fake {
        async fn publish(
            &self,
            region: &str,
            arn: &str,
            subject: &str,
            _: &str,
        ) -> Result<(), String> {
            if self.down.contains(&region) {
                return Err("endpoint unreachable".into());
            }
            self.sent
                .lock()
                .unwrap()
                .push((arn.to_string(), subject.to_string()));
            Ok(())
        }
    }

    fn topics() -> Vec<(String, String)> {
        ["us-east-1", "us-west-2"]
            .iter()
            .map(|r| {
                (
                    r.to_string(),
                    format!("arn:aws:sns:{r}:123456789012:alerts"),
                )
            })
            .collect()
    }

    #[tokio::test]
    async fn one_message_goes_to_the_first_region_that_takes_it() {
        let fake = Fake {
            down: vec!["us-east-1"],
            sent: Mutex::new(vec![]),
        };
        let what = Announcement::finished("deploy", "shop-prod", "ana", 1, "");
        let to = announce(&fake, &topics(), &what, &Events::discard()).await;
        assert_eq!(to.as_deref(), Some("us-west-2"));
        let sent = fake.sent.lock().unwrap();
        assert_eq!(sent.len(), 1);
        assert!(sent[0].1.contains("rolled back"), "{sent:?}");
    }

    #[tokio::test]
    async fn nobody_reachable_is_a_warning_not_a_failure() {
        let fake = Fake {
            down: vec!["us-east-1", "us-west-2"],
            sent: Mutex::new(vec![]),
        };
        let what = Announcement::started("deploy", "shop-prod", "ana", &[]);
        assert_eq!(
            announce(&fake, &topics(), &what, &Events::discard()).await,
            None
        );
    }

    #[test]
    fn subjects_fit_sns_limit() {
        let long = "x".repeat(200);
        assert!(
            Announcement::started("deploy", &long, "ana", &[])
                .subject
                .chars()
                .count()
                <= 100
        );
    }
}
