//! Waiting for an image to become available: adaptive polling (the interval grows
//! from `first_poll` to `max_poll`), bounded by `max_wait`; the final state is
//! re-read and judged here, not by an SDK waiter.

use super::images::Images;
use super::AmiError;
use std::time::{Duration, Instant};

/// How long to wait for an image, and how often to look.
#[derive(Debug, Clone, Copy)]
pub struct WaitPolicy {
    pub max_wait: Duration,
    pub first_poll: Duration,
    pub max_poll: Duration,
}

impl WaitPolicy {
    /// A cross-region copy of a typical AMI takes minutes; an hour is the bound.
    /// The first look comes after half a second and the interval grows to 30 s:
    /// a copy found already there (or done in seconds, as on the sandbox) holds
    /// a deploy up by under a second, a slow one costs about 40 DescribeImages
    /// calls per region over 15 minutes.
    pub fn copy_default() -> Self {
        WaitPolicy {
            max_wait: Duration::from_secs(60 * 60),
            first_poll: Duration::from_millis(500),
            max_poll: Duration::from_secs(30),
        }
    }

    /// Creating an image from a stopped-or-running instance: 30 minutes.
    pub fn bake_default() -> Self {
        WaitPolicy {
            max_wait: Duration::from_secs(30 * 60),
            ..Self::copy_default()
        }
    }

    /// The next poll interval after `current`: half again as long, capped.
    fn next(&self, current: Duration) -> Duration {
        (current + current / 2).min(self.max_poll)
    }
}

/// Poll until the image is `available`; `on_poll` sees every non-final state.
pub(crate) async fn until_available(
    images: &impl Images,
    region: &str,
    image_id: &str,
    policy: &WaitPolicy,
    mut on_poll: impl FnMut(&str, Duration),
) -> Result<(), AmiError> {
    let started = Instant::now();
    let mut interval = policy.first_poll;
    loop {
        let state = match images.describe_image(region, image_id).await? {
            None => "missing".to_string(),
            Some(img) => match img.state.as_str() {
                "available" => return Ok(()),
                "failed" | "error" | "invalid" | "deregistered" | "disabled" => {
                    return Err(AmiError::ImageFailed {
                        image_id: image_id.to_string(),
                        region: region.to_string(),
                        reason: img.state_reason.unwrap_or_else(|| img.state.clone()),
                    })
                }
                other => other.to_string(),
            },
        };
        let waited = started.elapsed();
        if waited + interval > policy.max_wait {
            return Err(AmiError::WaitTimedOut {
                image_id: image_id.to_string(),
                region: region.to_string(),
                state,
                waited_secs: waited.as_secs(),
            });
        }
        on_poll(&state, waited);
        tokio::time::sleep(interval).await;
        interval = policy.next(interval);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_interval_grows_to_the_cap() {
        let p = WaitPolicy::copy_default();
        let mut i = p.first_poll;
        let mut seen = vec![i];
        for _ in 0..12 {
            i = p.next(i);
            seen.push(i);
        }
        assert_eq!(seen[1], Duration::from_millis(750));
        assert!(seen.windows(2).all(|w| w[1] >= w[0]));
        assert_eq!(*seen.last().unwrap(), p.max_poll);
    }
}
