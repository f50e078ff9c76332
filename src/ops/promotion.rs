//! Promotion (`operations.promote_from`): a deploy goes ahead only when the stack it
//! is promoted from (staging) already runs the same AMI, healthy, in every one of
//! its regions, so production runs exactly the image staging ran ("promote to
//! production using the identical AMIs", the seeds). Pure: the pipeline reads the
//! other stack's regions (`status::read_regions`) and hands them here.

use crate::plan::version_ami;
use crate::status::{RegionState, RegionStatus};

/// Why the stack promoted from (`stack`, its `regions` as status reads them) does
/// not vouch for `ami`, one line per region; empty when every region of it runs
/// `ami` healthy.
pub fn problems(ami: &str, stack: &str, regions: &[RegionStatus]) -> Vec<String> {
    let mut out = Vec::new();
    if regions.is_empty() {
        out.push(format!("{stack} has no region"));
    }
    for r in regions {
        let region = &r.region;
        match &r.state {
            RegionState::Deployed => {}
            RegionState::NotDeployed => {
                out.push(format!("{region}: {} is not deployed", r.stack_name));
                continue;
            }
            RegionState::Unreachable { reason } | RegionState::Error { reason } => {
                out.push(format!(
                    "{region}: {} could not be read ({reason})",
                    r.stack_name
                ));
                continue;
            }
        }
        let status = r.stack_status.as_deref().unwrap_or("unknown");
        if !matches!(status, "CREATE_COMPLETE" | "UPDATE_COMPLETE") {
            out.push(format!("{region}: {} is {status}", r.stack_name));
        }
        match r.version.as_deref().and_then(version_ami) {
            Some(running) if running == ami => {}
            Some(running) => out.push(format!("{region}: runs {running}, not {ami}")),
            None => out.push(format!("{region}: has no recorded version")),
        }
        match r.targets {
            Some(t) if t.total > 0 && t.healthy == t.total => {}
            Some(t) => out.push(format!(
                "{region}: {} of {} targets healthy",
                t.healthy, t.total
            )),
            None => out.push(format!("{region}: its targets could not be read")),
        }
        if let Some(check) = &r.health_check {
            if !check.healthy {
                out.push(format!("{region}: health check {}", check.detail));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::TargetView;

    fn region(name: &str, version: Option<&str>, healthy: u32) -> RegionStatus {
        RegionStatus {
            region: name.into(),
            stack_name: format!("shop-staging-{name}"),
            state: RegionState::Deployed,
            stack_status: Some("UPDATE_COMPLETE".into()),
            version: version.map(str::to_string),
            ami: None,
            deployment_id: None,
            deployed_at: None,
            deployed_by: None,
            asg: None,
            targets: Some(TargetView { healthy, total: 2 }),
            health_check: None,
            replication: None,
            drift: None,
            problems: Vec::new(),
        }
    }

    fn problems_of(ami: &str, regions: Vec<RegionStatus>) -> Vec<String> {
        problems(ami, "shop-staging", &regions)
    }

    #[test]
    fn every_region_on_the_ami_and_healthy_vouches_for_it() {
        let p = problems_of(
            "ami-0a1b2c3d",
            vec![
                region("us-east-1", Some("ami-0a1b2c3d-1234abcd"), 2),
                region("eu-west-1", Some("ami-0a1b2c3d-1234abcd"), 2),
            ],
        );
        assert!(p.is_empty());
    }

    #[test]
    fn another_ami_an_unhealthy_region_or_a_missing_one_is_named() {
        let mut missing = region("ap-south-1", None, 0);
        missing.state = RegionState::NotDeployed;
        let p = problems_of(
            "ami-0a1b2c3d",
            vec![
                region("us-east-1", Some("ami-0ffff-1234abcd"), 2),
                region("eu-west-1", Some("ami-0a1b2c3d-1234abcd"), 1),
                missing,
            ],
        );
        assert_eq!(
            p,
            vec![
                "us-east-1: runs ami-0ffff, not ami-0a1b2c3d".to_string(),
                "eu-west-1: 1 of 2 targets healthy".to_string(),
                "ap-south-1: shop-staging-ap-south-1 is not deployed".to_string(),
            ]
        );
        assert!(!problems_of("ami-0a1b2c3d", Vec::new()).is_empty());
    }
}
