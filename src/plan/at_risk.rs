//! Replacements that lose data or traffic: a plan that replaces a running
//! region's table, bucket or queue, or its network (VPC, subnets, NAT gateways),
//! is refused unless each such resource is named (`--allow-replace`).
//!
//! CloudFormation replaces a resource when a create-only property changes (the
//! registry schemas' `createOnlyProperties`, patched where AWS enforces more:
//! `xtask/src/patches.rs`). A new table, bucket or queue starts empty; a new VPC,
//! subnet or NAT gateway means new instances, a new load balancer and new egress
//! addresses, so the region serves nothing while it is rebuilt.

use super::{ChangeAction, Plan, StackRole};
use serde::Serialize;

/// One replacement that loses data or traffic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AtRisk {
    pub region: String,
    pub stack_name: String,
    pub logical_id: String,
    pub resource_type: String,
    /// What is lost, in a sentence.
    pub risk: String,
}

impl AtRisk {
    /// How `--allow-replace` names it: the logical id (every region) or
    /// `REGION:LOGICAL_ID` (that region only).
    pub fn allowed_by(&self, allow: &[String]) -> bool {
        allow.iter().any(|a| match a.split_once(':') {
            Some((region, id)) => region == self.region && id == self.logical_id,
            None => *a == self.logical_id,
        })
    }
}

/// What replacing a resource of this type loses, for the types that hold data or
/// carry the region's traffic; None for the others (a launch template, an alarm).
pub fn risk_of(resource_type: &str) -> Option<&'static str> {
    Some(match resource_type {
        "AWS::DynamoDB::GlobalTable" | "AWS::DynamoDB::Table" => {
            "data: the replacement is a new, empty table (every item of this region's replica)"
        }
        "AWS::S3::Bucket" => "data: the replacement is a new, empty bucket",
        "AWS::SQS::Queue" => "data: the messages waiting in the queue are lost",
        "AWS::EC2::VPC" | "AWS::EC2::Subnet" => {
            "traffic: the region's instances and load balancer are recreated in the new network; the region serves no traffic until they are healthy again"
        }
        "AWS::EC2::NatGateway" => {
            "traffic: the instances lose outbound access until the new NAT gateway is up, and egress comes from a new address"
        }
        _ => return None,
    })
}

/// Every replacement of the plan that loses data or traffic in a running stack.
pub fn at_risk(plan: &Plan) -> Vec<AtRisk> {
    plan.stacks()
        .filter(|s| s.role == StackRole::Region && s.previous.is_some())
        .flat_map(|s| {
            s.changes
                .iter()
                .filter(|c| c.replaces && c.action == ChangeAction::Modify)
                .filter_map(move |c| {
                    Some(AtRisk {
                        region: s.region.clone(),
                        stack_name: s.stack_name.clone(),
                        logical_id: c.logical_id.clone(),
                        resource_type: c.resource_type.clone(),
                        risk: risk_of(&c.resource_type)?.to_string(),
                    })
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Deployed, RegionPlan, ResourceChange, StackAction};
    use std::collections::BTreeMap;

    fn stack(region: &str, running: bool, changes: Vec<ResourceChange>) -> RegionPlan {
        RegionPlan {
            region: region.into(),
            stack_name: format!("app-prod-{region}"),
            role: StackRole::Region,
            action: if running {
                StackAction::Update
            } else {
                StackAction::Create
            },
            changes,
            parameters: vec![],
            previous: running.then(|| Deployed {
                template_body: "{}".into(),
                parameters: BTreeMap::new(),
                tags: BTreeMap::new(),
            }),
            change_set: None,
            replica_steps: vec![],
        }
    }

    fn change(id: &str, ty: &str, replaces: bool) -> ResourceChange {
        ResourceChange {
            logical_id: id.into(),
            resource_type: ty.into(),
            action: ChangeAction::Modify,
            replaces,
            properties: vec![],
        }
    }

    #[test]
    fn only_replaced_data_and_network_of_running_regions_are_at_risk() {
        let plan = Plan {
            deployment_id: "d".into(),
            version: "v".into(),
            zone: None,
            waves: vec![
                vec![stack(
                    "us-east-1",
                    true,
                    vec![
                        change("Vpc", "AWS::EC2::VPC", true),
                        change("TableOrders", "AWS::DynamoDB::GlobalTable", true),
                        change("LaunchTemplate", "AWS::EC2::LaunchTemplate", true),
                        change("Bucket", "AWS::S3::Bucket", false),
                    ],
                )],
                vec![stack(
                    "eu-west-1",
                    false,
                    vec![change("Vpc", "AWS::EC2::VPC", true)],
                )],
            ],
            global: None,
            removals: vec![],
            at_risk: vec![],
            awaiting_zone: vec![],
        };
        let risks = at_risk(&plan);
        let ids: Vec<_> = risks.iter().map(|r| r.logical_id.as_str()).collect();
        assert_eq!(ids, ["Vpc", "TableOrders"]);
        assert!(risks[0].risk.starts_with("traffic"));
        assert!(risks[1].risk.starts_with("data"));
        assert!(risks[0].allowed_by(&["Vpc".into()]));
        assert!(risks[0].allowed_by(&["us-east-1:Vpc".into()]));
        assert!(!risks[0].allowed_by(&["eu-west-1:Vpc".into(), "Bucket".into()]));
    }
}
