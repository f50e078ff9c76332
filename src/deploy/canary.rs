//! The canary: at the end of a region's bake, its load balancer's traffic over the
//! bake is compared with the regions still on the old version, and the region
//! fails its bake when the new version answers worse beyond the stack file's
//! margins (`[rollout.canary]`).
//!
//! The traffic is CloudWatch's `AWS/ApplicationELB` metric data of each region's
//! load balancer over the same window, in one period: `RequestCount` (Sum), the
//! 5xx answers (`HTTPCode_Target_5XX_Count` plus the load balancer's own
//! `HTTPCode_ELB_5XX_Count`, Sum) and `TargetResponseTime` (p99)
//! (<https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html>).
//! The old version is every other region stack of the deploy whose
//! `strata:version` tag is still not the new one and which is not in the middle of
//! a stack operation. The 5xx rates are compared over the old regions' requests
//! together; the p99 against the slowest old region (p99s of several load
//! balancers cannot be added up, and comparing with the slowest fails a region
//! only when it is worse than every old one).
//!
//! Too little traffic (fewer than `min_requests` on either side), no region on
//! the old version (the last wave, a first deploy) or metric data that could not
//! be read skip the comparison with a warning: a canary that cannot see does not
//! roll back, as a bake reading that could not be read does not fail the bake.

use super::cloud::{Cloud, Traffic};
use super::error::DeployError;
use super::rollout::TAG_VERSION;
use crate::events::{EventKind, Events, Phase};
use crate::stack::model::Canary;

/// What the canary needs beyond the region: the margins and every region stack of
/// the deploy, (region, stack name), among which the old version is looked for.
#[derive(Debug, Clone, PartialEq)]
pub struct CanaryCheck {
    pub rule: Canary,
    pub peers: Vec<(String, String)>,
}

/// The comparison's outcome.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Pass(String),
    Fail(String),
    Skipped(String),
}

/// Compare the baking region's traffic with the old version's (pure).
/// `baseline`: (region, traffic) of every region on the old version.
pub fn judge(rule: &Canary, new: &Traffic, baseline: &[(String, Traffic)]) -> Verdict {
    if baseline.is_empty() {
        return Verdict::Skipped("no other region runs the old version to compare with".into());
    }
    let min = rule.min_requests as f64;
    if new.requests < min {
        return Verdict::Skipped(format!(
            "{} requests in the bake, fewer than min_requests {}",
            new.requests, rule.min_requests
        ));
    }
    let old_requests: f64 = baseline.iter().map(|(_, t)| t.requests).sum();
    if old_requests < min {
        return Verdict::Skipped(format!(
            "{old_requests} requests on the old version ({}), fewer than min_requests {}",
            names(baseline),
            rule.min_requests
        ));
    }
    let old_errors: f64 = baseline.iter().map(|(_, t)| t.errors_5xx).sum();
    let new_rate = 100.0 * new.errors_5xx / new.requests;
    let old_rate = 100.0 * old_errors / old_requests;
    let mut failed = false;
    let mut rate = format!(
        "5xx rate {new_rate:.2}% against {old_rate:.2}% on the old version ({})",
        names(baseline)
    );
    if new_rate - old_rate > rule.max_5xx_increase {
        failed = true;
        rate.push_str(&format!(
            ", more than {} points above",
            rule.max_5xx_increase
        ));
    }
    let slowest = baseline
        .iter()
        .filter_map(|(r, t)| t.p99_ms.map(|p| (r, p)))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    let latency = match (new.p99_ms, slowest) {
        (Some(p), Some((r, old))) => {
            let mut line = format!("p99 {p:.0} ms against {old:.0} ms in {r}");
            if p - old > rule.max_p99_increase_ms {
                failed = true;
                line.push_str(&format!(
                    " (the slowest on the old version), more than {} ms above",
                    rule.max_p99_increase_ms
                ));
            }
            line
        }
        _ => "p99 not reported".to_string(),
    };
    let detail = format!("{rate}; {latency}");
    if failed {
        Verdict::Fail(detail)
    } else {
        Verdict::Pass(detail)
    }
}

fn names(baseline: &[(String, Traffic)]) -> String {
    baseline
        .iter()
        .map(|(r, _)| r.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The stack's Application Load Balancer (ARN), if it has one.
async fn load_balancer<C: Cloud>(
    cloud: &C,
    region: &str,
    stack: &str,
) -> Result<Option<String>, crate::call_error::CallError> {
    Ok(cloud
        .resources(region, stack)
        .await?
        .into_iter()
        .find(|r| {
            r.resource_type == "AWS::ElasticLoadBalancingV2::LoadBalancer"
                && !r.physical_id.is_empty()
        })
        .map(|r| r.physical_id))
}

/// One old-version peer's traffic: None when it is not on the old version (or
/// not there, or in a stack operation) or has no load balancer.
async fn old_traffic<C: Cloud>(
    cloud: &C,
    peer: &str,
    stack: &str,
    version: &str,
    window: (i64, i64),
) -> Result<Option<(String, Traffic)>, crate::call_error::CallError> {
    let Some(state) = cloud.stack(peer, stack).await? else {
        return Ok(None);
    };
    let old = state
        .tags
        .get(TAG_VERSION)
        .is_some_and(|v| v.as_str() != version);
    if !old || state.status.ends_with("_IN_PROGRESS") {
        return Ok(None);
    }
    let Some(lb) = load_balancer(cloud, peer, stack).await? else {
        return Ok(None);
    };
    let traffic = cloud.lb_traffic(peer, &lb, window.0, window.1).await?;
    Ok(Some((peer.to_string(), traffic)))
}

/// A region whose bake just ended.
pub struct Baked<'a> {
    pub region: &'a str,
    pub stack: &'a str,
    /// Its load balancer (from the gate's signals), if it has one.
    pub load_balancer: Option<&'a str>,
    /// The version it now runs.
    pub version: &'a str,
    /// The bake, in seconds since the Unix epoch.
    pub window: (i64, i64),
}

/// Run the canary for a region whose bake ended: a `canary` health event with the
/// comparison, and a failed bake when the new version is worse beyond the margins.
/// The old-version peers are read at once.
pub async fn check<C: Cloud>(
    cloud: &C,
    events: &Events,
    baked: &Baked<'_>,
    canary: &CanaryCheck,
) -> Result<(), DeployError> {
    let (region, window) = (baked.region, baked.window);
    let read = async {
        let Some(lb) = baked.load_balancer else {
            return Ok(Verdict::Skipped("the stack has no load balancer".into()));
        };
        let peers = canary.peers.iter().filter(|(r, _)| r != region);
        let (new, old) = futures::future::join(
            cloud.lb_traffic(region, lb, window.0, window.1),
            futures::future::join_all(
                peers.map(|(peer, stack)| old_traffic(cloud, peer, stack, baked.version, window)),
            ),
        )
        .await;
        let old = old
            .into_iter()
            .filter_map(Result::transpose)
            .collect::<Result<Vec<_>, _>>()?;
        Ok::<_, crate::call_error::CallError>(judge(&canary.rule, &new?, &old))
    };
    let verdict = match read.await {
        Ok(v) => v,
        Err(e) if e.is_unreachable() => return Err(e.into()),
        Err(e) => Verdict::Skipped(format!("the metric data could not be read: {e}")),
    };
    let (ok, detail) = match verdict {
        Verdict::Pass(d) => (true, d),
        Verdict::Fail(d) => (false, d),
        Verdict::Skipped(d) => {
            events.warn(Some(region), Phase::Bake, format!("canary skipped: {d}"));
            return Ok(());
        }
    };
    events.emit(
        Some(region),
        Phase::Bake,
        EventKind::Health {
            signal: "canary".into(),
            ok,
            detail: detail.clone(),
        },
    );
    if ok {
        Ok(())
    } else {
        Err(DeployError::BakeFailed {
            region: region.into(),
            stack: baked.stack.into(),
            reason: format!("canary: {detail}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> Canary {
        Canary {
            max_5xx_increase: 1.0,
            max_p99_increase_ms: 100.0,
            min_requests: 100,
        }
    }

    fn traffic(requests: f64, errors_5xx: f64, p99_ms: Option<f64>) -> Traffic {
        Traffic {
            requests,
            errors_5xx,
            p99_ms,
        }
    }

    fn old(region: &str, t: Traffic) -> (String, Traffic) {
        (region.to_string(), t)
    }

    #[test]
    fn a_new_version_as_good_as_the_old_passes() {
        let v = judge(
            &rule(),
            &traffic(1000.0, 5.0, Some(120.0)),
            &[
                old("us-west-2", traffic(800.0, 4.0, Some(110.0))),
                old("eu-west-1", traffic(200.0, 1.0, Some(150.0))),
            ],
        );
        let Verdict::Pass(detail) = v else {
            panic!("{v:?}")
        };
        assert!(detail.contains("0.50% against 0.50%"), "{detail}");
        assert!(detail.contains("against 150 ms in eu-west-1"), "{detail}");
    }

    #[test]
    fn a_5xx_rate_beyond_the_margin_fails() {
        let v = judge(
            &rule(),
            &traffic(1000.0, 30.0, Some(100.0)),
            &[old("us-west-2", traffic(1000.0, 5.0, Some(100.0)))],
        );
        let Verdict::Fail(detail) = v else {
            panic!("{v:?}")
        };
        assert!(detail.contains("5xx rate 3.00% against 0.50%"), "{detail}");
    }

    #[test]
    fn the_margin_itself_passes() {
        // 1.5 % against 0.5 %: exactly one point above.
        let v = judge(
            &rule(),
            &traffic(1000.0, 15.0, None),
            &[old("us-west-2", traffic(1000.0, 5.0, None))],
        );
        assert!(matches!(v, Verdict::Pass(_)), "{v:?}");
    }

    #[test]
    fn a_p99_beyond_the_slowest_old_region_fails() {
        let v = judge(
            &rule(),
            &traffic(1000.0, 0.0, Some(400.0)),
            &[
                old("us-west-2", traffic(500.0, 0.0, Some(120.0))),
                old("eu-west-1", traffic(500.0, 0.0, Some(250.0))),
            ],
        );
        let Verdict::Fail(detail) = v else {
            panic!("{v:?}")
        };
        assert!(
            detail.contains("p99 400 ms against 250 ms in eu-west-1"),
            "{detail}"
        );
    }

    #[test]
    fn too_little_traffic_or_no_old_region_skips() {
        let r = rule();
        assert!(matches!(
            judge(
                &r,
                &traffic(50.0, 50.0, None),
                &[old("us-west-2", traffic(1000.0, 0.0, None))]
            ),
            Verdict::Skipped(_)
        ));
        assert!(matches!(
            judge(
                &r,
                &traffic(1000.0, 900.0, None),
                &[old("us-west-2", traffic(99.0, 0.0, None))]
            ),
            Verdict::Skipped(_)
        ));
        assert!(matches!(
            judge(&r, &traffic(1000.0, 900.0, None), &[]),
            Verdict::Skipped(_)
        ));
    }
}
