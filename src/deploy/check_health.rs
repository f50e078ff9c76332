//! Whether a Route 53 health check is healthy: Route 53's own rule, the one rule
//! deploy's gate and bake, `strata dr` and `strata status` use.
//!
//! From "How Amazon Route 53 determines whether a health check is healthy"
//! (<https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-failover-determining-health-of-endpoints.html>):
//! - a check that monitors an endpoint is healthy when **more than 18%** of the
//!   health checkers report it healthy, unhealthy at 18% or less. strata reads the
//!   checkers' reports with GetHealthCheckStatus; a report whose status starts with
//!   `Success` is a checker saying healthy. A check with **no observations** (a new
//!   check whose checkers have not reported yet) is *not* healthy: nothing has
//!   observed it healthy.
//! - a **calculated** check is healthy when at least `HealthThreshold` of its
//!   children are healthy (0: always healthy; above the number of children: never).
//!   GetHealthCheckStatus does not answer for calculated checks
//!   (<https://docs.aws.amazon.com/Route53/latest/APIReference/API_GetHealthCheckStatus.html>),
//!   so strata reads GetHealthCheck (its children and threshold) and evaluates the
//!   children by this same rule.
//! - `Inverted` flips the result
//!   (<https://docs.aws.amazon.com/Route53/latest/APIReference/API_HealthCheckConfig.html>,
//!   Inverted); a `Disabled` check is always healthy (same page, Disabled: "Route 53
//!   considers the status of the health check to always be healthy").

use super::cloud::Cloud;
use crate::call_error::CallError;
use std::collections::BTreeMap;

/// What GetHealthCheck says about a check.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CheckConfig {
    /// `HTTP`, `HTTPS`, `CALCULATED`, ...
    pub kind: String,
    pub children: Vec<String>,
    pub threshold: Option<i32>,
    pub inverted: bool,
    pub disabled: bool,
}

impl CheckConfig {
    pub fn is_calculated(&self) -> bool {
        self.kind == "CALCULATED"
    }
}

/// The rule's answer for one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub healthy: bool,
    /// Why, in words ("2/3 checkers report success", "1 of 1 children healthy, threshold 1").
    pub detail: String,
    /// For an endpoint check: (checkers reporting success, checkers reporting).
    pub observations: Option<(u32, u32)>,
}

/// More than 18% of the checkers report success: `success / total > 0.18`.
pub fn checkers_say_healthy(success: u32, total: u32) -> bool {
    total > 0 && u64::from(success) * 100 > u64::from(total) * 18
}

/// An endpoint check's verdict from its checkers' reports (GetHealthCheckStatus).
pub fn endpoint(reports: &[String], inverted: bool, disabled: bool) -> Verdict {
    let total = reports.len() as u32;
    let success = reports.iter().filter(|r| r.starts_with("Success")).count() as u32;
    if disabled {
        return Verdict {
            healthy: true,
            detail: "disabled (Route 53 counts it healthy)".into(),
            observations: Some((success, total)),
        };
    }
    let (healthy, detail) = if total == 0 {
        (
            false,
            "no observations yet (healthy only once observed healthy)".to_string(),
        )
    } else {
        let ok = checkers_say_healthy(success, total);
        (
            ok,
            format!(
                "{success}/{total} checkers report success ({} than 18%)",
                if ok { "more" } else { "not more" }
            ),
        )
    };
    flip(healthy, detail, inverted, Some((success, total)))
}

/// Whether a calculated check with these healthy children is healthy.
pub fn calculated_healthy(healthy_children: usize, threshold: Option<i32>, inverted: bool) -> bool {
    let healthy = healthy_children as i64 >= i64::from(threshold.unwrap_or(0).max(0));
    healthy != inverted
}

/// A calculated check's verdict from its children's verdicts.
pub fn calculated(
    children: &[Verdict],
    threshold: Option<i32>,
    inverted: bool,
    disabled: bool,
) -> Verdict {
    if disabled {
        return Verdict {
            healthy: true,
            detail: "disabled (Route 53 counts it healthy)".into(),
            observations: None,
        };
    }
    let healthy_children = children.iter().filter(|c| c.healthy).count();
    let t = threshold.unwrap_or(0);
    let healthy = calculated_healthy(healthy_children, threshold, false);
    let detail = format!(
        "{healthy_children} of {} children healthy, threshold {t}",
        children.len()
    );
    flip(healthy, detail, inverted, None)
}

fn flip(
    healthy: bool,
    detail: String,
    inverted: bool,
    observations: Option<(u32, u32)>,
) -> Verdict {
    if inverted {
        Verdict {
            healthy: !healthy,
            detail: format!("inverted: {detail}"),
            observations,
        }
    } else {
        Verdict {
            healthy,
            detail,
            observations,
        }
    }
}

/// Calculated checks nest at most this deep (a guard against a cycle).
const MAX_DEPTH: usize = 4;

/// Read a check (and, for a calculated check, its children) and apply the rule.
/// Calls GetHealthCheck for every check of the tree and GetHealthCheckStatus for
/// endpoint checks only.
pub async fn evaluate<C: Cloud>(cloud: &C, id: &str) -> Result<Verdict, CallError> {
    let mut configs: BTreeMap<String, CheckConfig> = BTreeMap::new();
    let mut next = vec![(id.to_string(), 0usize)];
    while let Some((check, depth)) = next.pop() {
        if configs.contains_key(&check) {
            continue;
        }
        let config = cloud.health_check_config(&check).await?;
        if config.is_calculated() && depth < MAX_DEPTH {
            next.extend(config.children.iter().map(|c| (c.clone(), depth + 1)));
        }
        configs.insert(check, config);
    }
    let mut endpoints = BTreeMap::new();
    for (check, config) in &configs {
        if !config.is_calculated() {
            let reports = cloud.health_check_reports(check).await?;
            endpoints.insert(
                check.clone(),
                endpoint(&reports, config.inverted, config.disabled),
            );
        }
    }
    Ok(resolve(id, &configs, &endpoints, 0))
}

fn resolve(
    id: &str,
    configs: &BTreeMap<String, CheckConfig>,
    endpoints: &BTreeMap<String, Verdict>,
    depth: usize,
) -> Verdict {
    if let Some(v) = endpoints.get(id) {
        return v.clone();
    }
    let Some(config) = configs.get(id).filter(|_| depth <= MAX_DEPTH) else {
        return Verdict {
            healthy: false,
            detail: format!("health check {id} could not be evaluated"),
            observations: None,
        };
    };
    let children: Vec<Verdict> = config
        .children
        .iter()
        .map(|c| resolve(c, configs, endpoints, depth + 1))
        .collect();
    calculated(
        &children,
        config.threshold,
        config.inverted,
        config.disabled,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reports(success: usize, fail: usize) -> Vec<String> {
        let mut v = vec!["Success: HTTP Status Code 200".to_string(); success];
        v.extend(vec!["Failure: Connection timed out".to_string(); fail]);
        v
    }

    #[test]
    fn an_endpoint_is_healthy_above_eighteen_percent_of_checkers() {
        // 2 of 11 is 18.2%: healthy; 2 of 12 is 16.7%: not; 18 of 100 exactly: not.
        assert!(endpoint(&reports(2, 9), false, false).healthy);
        assert!(!endpoint(&reports(2, 10), false, false).healthy);
        assert!(!checkers_say_healthy(18, 100));
        assert!(checkers_say_healthy(19, 100));
        assert!(endpoint(&reports(16, 0), false, false).healthy);
        assert!(!endpoint(&reports(0, 16), false, false).healthy);
    }

    #[test]
    fn a_check_with_no_observations_is_not_healthy() {
        let v = endpoint(&[], false, false);
        assert!(!v.healthy);
        assert!(v.detail.contains("no observations"), "{}", v.detail);
    }

    #[test]
    fn inverted_flips_and_disabled_is_healthy() {
        assert!(!endpoint(&reports(5, 0), true, false).healthy);
        assert!(endpoint(&reports(0, 5), true, false).healthy);
        assert!(endpoint(&reports(0, 5), false, true).healthy);
        assert!(endpoint(&[], false, true).healthy);
    }

    #[test]
    fn a_calculated_check_counts_its_healthy_children_against_the_threshold() {
        let up = endpoint(&reports(3, 0), false, false);
        let down = endpoint(&reports(0, 3), false, false);
        assert!(calculated(&[up.clone(), down.clone()], Some(1), false, false).healthy);
        assert!(!calculated(&[up.clone(), down.clone()], Some(2), false, false).healthy);
        // Threshold above the number of children: never healthy (strata's failover lever).
        assert!(!calculated(std::slice::from_ref(&up), Some(2), false, false).healthy);
        // Threshold 0: always healthy.
        assert!(calculated(std::slice::from_ref(&down), Some(0), false, false).healthy);
        assert!(!calculated(&[up], Some(1), true, false).healthy);
        // A child not yet observed is not a healthy child.
        let new = endpoint(&[], false, false);
        assert!(!calculated(&[new], Some(1), false, false).healthy);
    }
}
