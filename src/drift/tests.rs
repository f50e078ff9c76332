//! `drift` over an in-memory stack: the template's limits and rules (intrinsics
//! resolved) against hand-changed live values, what is not compared, and the
//! put-back (one call per group, idempotent).

use super::compare::{self, DeployedStack, ASG};
use super::*;
use crate::events::Collect;
use serde_json::json;
use std::sync::{Arc, Mutex};

const EAST: &str = "us-east-1";
const STACK: &str = "shop-prod-us-east-1";

fn template() -> String {
    json!({
        "Parameters": { "HealthCheckPrefixListId": { "Type": "String" } },
        "Resources": {
            "AutoScalingGroup": {
                "Type": "AWS::AutoScaling::AutoScalingGroup",
                "Properties": { "MinSize": "2", "MaxSize": "4", "DesiredCapacity": "2" }
            },
            "ScaleOnCpu": {
                "Type": "AWS::AutoScaling::ScalingPolicy",
                "Properties": { "AutoScalingGroupName": { "Ref": "AutoScalingGroup" } }
            },
            "AlbSecurityGroup": {
                "Type": "AWS::EC2::SecurityGroup",
                "Properties": {
                    "SecurityGroupIngress": [{
                        "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                        "SourcePrefixListId": { "Ref": "HealthCheckPrefixListId" },
                        "Description": "from the health checkers"
                    }],
                    "SecurityGroupEgress": [{
                        "IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080,
                        "DestinationSecurityGroupId": { "Fn::GetAtt": ["InstanceSecurityGroup", "GroupId"] }
                    }]
                }
            },
            "InstanceSecurityGroup": {
                "Type": "AWS::EC2::SecurityGroup",
                "Properties": { "GroupDescription": "instances" }
            },
            "InstanceIngressFromAlb": {
                "Type": "AWS::EC2::SecurityGroupIngress",
                "Properties": {
                    "GroupId": { "Fn::GetAtt": ["InstanceSecurityGroup", "GroupId"] },
                    "IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080,
                    "SourceSecurityGroupId": { "Fn::GetAtt": ["AlbSecurityGroup", "GroupId"] }
                }
            },
            "HealthCheck": {
                "Type": "AWS::Route53::HealthCheck",
                "Properties": { "HealthCheckConfig": { "Type": "HTTPS" } }
            },
            "ServingCheck": {
                "Type": "AWS::Route53::HealthCheck",
                "Properties": { "HealthCheckConfig": {
                    "Type": "CALCULATED", "HealthThreshold": 1,
                    "ChildHealthChecks": [{ "Ref": "HealthCheck" }]
                } }
            }
        }
    })
    .to_string()
}

fn deployed() -> DeployedStack {
    DeployedStack {
        template_body: template(),
        parameters: [("HealthCheckPrefixListId".to_string(), "pl-0abc".to_string())].into(),
        physical_ids: [
            ("AutoScalingGroup", "shop-asg"),
            ("ScaleOnCpu", "policy-arn"),
            ("AlbSecurityGroup", "sg-alb"),
            ("InstanceSecurityGroup", "sg-inst"),
            ("InstanceIngressFromAlb", "sgr-1"),
            ("HealthCheck", "hc-1"),
            ("ServingCheck", "hc-serving"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect(),
    }
}

fn tcp(port: i32, peer: Peer) -> Rule {
    compare::rule("tcp", Some(port), Some(port), peer)
}

/// What the template says, as the services would answer right after the deploy.
fn as_deployed() -> (AsgLimits, BTreeMap<String, GroupRules>) {
    let asg = AsgLimits {
        min: 2,
        max: 4,
        desired: 2,
    };
    let groups = [
        (
            "sg-alb".to_string(),
            GroupRules {
                ingress: vec![tcp(443, Peer::PrefixList("pl-0abc".into()))],
                egress: vec![tcp(8080, Peer::Group("sg-inst".into()))],
            },
        ),
        (
            "sg-inst".to_string(),
            GroupRules {
                ingress: vec![tcp(8080, Peer::Group("sg-alb".into()))],
                egress: vec![compare::rule(
                    "-1",
                    Some(-1),
                    Some(-1),
                    Peer::Cidr("0.0.0.0/0".into()),
                )],
            },
        ),
    ]
    .into();
    (asg, groups)
}

#[derive(Default)]
struct Live {
    asg: Option<AsgLimits>,
    groups: BTreeMap<String, GroupRules>,
    calls: Vec<String>,
}

#[derive(Clone)]
struct Fake {
    stack: Option<DeployedStack>,
    live: Arc<Mutex<Live>>,
    /// A region that does not answer.
    down: bool,
    /// The region `strata dr failover` took out of service (its serving check's
    /// threshold above its one child).
    failed: Option<&'static str>,
}

impl Fake {
    fn new() -> Self {
        let (asg, groups) = as_deployed();
        Fake {
            stack: Some(deployed()),
            live: Arc::new(Mutex::new(Live {
                asg: Some(asg),
                groups,
                calls: Vec::new(),
            })),
            down: false,
            failed: None,
        }
    }

    fn edit(&self, f: impl FnOnce(&mut Live)) {
        f(&mut self.live.lock().unwrap())
    }

    fn calls(&self) -> Vec<String> {
        self.live.lock().unwrap().calls.clone()
    }
}

fn rules<'a>(l: &'a mut Live, id: &str, d: Direction) -> &'a mut Vec<Rule> {
    let g = l.groups.get_mut(id).unwrap();
    match d {
        Direction::Ingress => &mut g.ingress,
        Direction::Egress => &mut g.egress,
    }
}

impl DriftPort for Fake {
    async fn deployed(&self, region: &str, _: &str) -> Result<Option<DeployedStack>, AwsError> {
        if self.down {
            return Err(AwsError {
                service: "cloudformation",
                operation: "DescribeStacks",
                region: region.into(),
                code: "DispatchFailure".into(),
                message: "fake".into(),
            });
        }
        // Each region's serving check has an id of its own.
        Ok(self.stack.clone().map(|mut s| {
            s.physical_ids
                .insert("ServingCheck".into(), format!("hc-serving-{region}"));
            s
        }))
    }
    async fn calculated_check(&self, id: &str) -> Result<Option<(i32, usize)>, AwsError> {
        let failed = self.failed.is_some_and(|r| id.ends_with(r));
        Ok(Some((if failed { 3 } else { 1 }, 1)))
    }
    async fn asg_limits(&self, _: &str, _: &str) -> Result<Option<AsgLimits>, AwsError> {
        Ok(self.live.lock().unwrap().asg)
    }
    async fn group_rules(
        &self,
        _: &str,
        ids: &[String],
    ) -> Result<BTreeMap<String, GroupRules>, AwsError> {
        let l = self.live.lock().unwrap();
        Ok(l.groups
            .iter()
            .filter(|(k, _)| ids.contains(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
    async fn update_asg(
        &self,
        _: &str,
        name: &str,
        min: Option<i32>,
        max: Option<i32>,
        desired: Option<i32>,
    ) -> Result<(), AwsError> {
        self.edit(|l| {
            l.calls
                .push(format!("update {name} {min:?} {max:?} {desired:?}"));
            let a = l.asg.as_mut().unwrap();
            a.min = min.unwrap_or(a.min);
            a.max = max.unwrap_or(a.max);
            a.desired = desired.unwrap_or(a.desired);
        });
        Ok(())
    }
    async fn revoke(&self, _: &str, id: &str, d: Direction, rule: &Rule) -> Result<(), AwsError> {
        self.edit(|l| {
            l.calls.push(format!("revoke {id} {rule}"));
            rules(l, id, d).retain(|r| r != rule);
        });
        Ok(())
    }
    async fn authorize(
        &self,
        _: &str,
        id: &str,
        d: Direction,
        rule: &Rule,
        description: Option<&str>,
    ) -> Result<(), AwsError> {
        self.edit(|l| {
            l.calls
                .push(format!("authorize {id} {rule} {description:?}"));
            rules(l, id, d).push(rule.clone());
        });
        Ok(())
    }
}

fn stacks() -> Vec<StackRef> {
    vec![StackRef {
        region: EAST.into(),
        stack: STACK.into(),
    }]
}

async fn check(fake: &Fake) -> DriftReport {
    detect(fake, "shop-prod", &stacks()).await
}

#[tokio::test]
async fn a_stack_as_deployed_has_no_drift() {
    let fake = Fake::new();
    let report = check(&fake).await;
    assert_eq!(report.regions[0].checked, Checked::Compared);
    assert!(!report.has_drift(), "{:#?}", report.drift);
}

#[tokio::test]
async fn a_standalone_rule_listed_without_a_physical_id_is_still_expected_and_never_revoked() {
    let mut fake = Fake::new();
    if let Some(s) = fake.stack.as_mut() {
        s.physical_ids.remove("InstanceIngressFromAlb");
    }
    let report = check(&fake).await;
    assert!(!report.has_drift(), "{:#?}", report.drift);
}

#[tokio::test]
async fn a_hand_changed_maximum_and_an_added_rule_are_reported_with_region_resource_and_property() {
    let fake = Fake::new();
    fake.edit(|l| {
        l.asg.as_mut().unwrap().max = 9;
        rules(l, "sg-alb", Direction::Ingress).push(tcp(22, Peer::Cidr("0.0.0.0/0".into())));
    });
    let report = check(&fake).await;
    let found: Vec<(&str, &str, &str, &str, &str)> = report
        .drift
        .iter()
        .map(|d| {
            (
                d.region.as_str(),
                d.logical_id.as_str(),
                d.property.as_str(),
                d.expected.as_str(),
                d.actual.as_str(),
            )
        })
        .collect();
    assert_eq!(
        found,
        vec![
            (EAST, "AutoScalingGroup", "MaxSize", "4", "9"),
            (
                EAST,
                "AlbSecurityGroup",
                "SecurityGroupIngress",
                "-",
                "tcp 22 0.0.0.0/0"
            ),
        ]
    );
    assert_eq!(report.drift[0].resource_type, ASG);
    assert_eq!(report.count(EAST), 2);
}

#[tokio::test]
async fn a_removed_rule_is_reported_on_the_resource_that_declares_it() {
    let fake = Fake::new();
    fake.edit(|l| {
        rules(l, "sg-inst", Direction::Ingress).clear();
        rules(l, "sg-alb", Direction::Egress).clear();
    });
    let report = check(&fake).await;
    let found: Vec<(&str, &str, &str)> = report
        .drift
        .iter()
        .map(|d| {
            (
                d.logical_id.as_str(),
                d.property.as_str(),
                d.expected.as_str(),
            )
        })
        .collect();
    assert!(
        found.contains(&(
            "AlbSecurityGroup",
            "SecurityGroupEgress",
            "tcp 8080 sg-inst"
        )),
        "{found:?}"
    );
    assert!(
        found.contains(&("InstanceIngressFromAlb", "(rule)", "tcp 8080 sg-alb")),
        "{found:?}"
    );
}

#[tokio::test]
async fn the_desired_capacity_a_scaling_policy_changes_and_health_checks_are_not_compared() {
    let fake = Fake::new();
    fake.edit(|l| l.asg.as_mut().unwrap().desired = 3);
    let report = check(&fake).await;
    assert!(!report.has_drift(), "{:#?}", report.drift);
    assert!(
        report.regions[0]
            .skipped
            .iter()
            .any(|s| s.starts_with("AutoScalingGroup DesiredCapacity")),
        "{:?}",
        report.regions[0].skipped
    );
}

#[tokio::test]
async fn the_desired_capacity_is_compared_without_a_scaling_policy() {
    let mut fake = Fake::new();
    let mut t: serde_json::Value = serde_json::from_str(&template()).unwrap();
    t["Resources"].as_object_mut().unwrap().remove("ScaleOnCpu");
    fake.stack.as_mut().unwrap().template_body = t.to_string();
    fake.edit(|l| l.asg.as_mut().unwrap().desired = 3);
    let report = check(&fake).await;
    assert_eq!(report.drift.len(), 1);
    assert_eq!(report.drift[0].property, "DesiredCapacity");
}

#[tokio::test]
async fn a_property_that_cannot_be_resolved_is_skipped_not_reported() {
    let mut fake = Fake::new();
    let mut t: serde_json::Value = serde_json::from_str(&template()).unwrap();
    t["Resources"]["AutoScalingGroup"]["Properties"]["MaxSize"] =
        json!({ "Fn::If": ["Big", "8", "4"] });
    fake.stack.as_mut().unwrap().template_body = t.to_string();
    fake.edit(|l| l.asg.as_mut().unwrap().max = 9);
    let report = check(&fake).await;
    assert!(!report.has_drift(), "{:#?}", report.drift);
    assert!(report.regions[0]
        .skipped
        .iter()
        .any(|s| s.starts_with("AutoScalingGroup MaxSize")));
}

#[tokio::test]
async fn a_group_without_egress_in_the_template_expects_the_default_allow_all() {
    let fake = Fake::new();
    fake.edit(|l| rules(l, "sg-inst", Direction::Egress).clear());
    let report = check(&fake).await;
    assert_eq!(report.drift.len(), 1, "{:#?}", report.drift);
    assert_eq!(report.drift[0].expected, "all 0.0.0.0/0");
}

#[tokio::test]
async fn a_region_that_does_not_answer_is_an_error_and_a_missing_stack_not_deployed() {
    let mut fake = Fake::new();
    fake.down = true;
    let report = check(&fake).await;
    assert!(matches!(report.regions[0].checked, Checked::Error { .. }));
    assert_eq!(report.errors().len(), 1);
    let mut fake = Fake::new();
    fake.stack = None;
    assert_eq!(check(&fake).await.regions[0].checked, Checked::NotDeployed);
}

#[tokio::test]
async fn restore_puts_every_drift_back_once_with_an_event_each_and_is_idempotent() {
    let fake = Fake::new();
    fake.edit(|l| {
        let a = l.asg.as_mut().unwrap();
        a.max = 9;
        a.min = 1;
        rules(l, "sg-alb", Direction::Ingress).push(tcp(22, Peer::Cidr("0.0.0.0/0".into())));
        rules(l, "sg-alb", Direction::Ingress).retain(|r| r.from_port != Some(443));
    });
    let report = check(&fake).await;
    assert_eq!(report.drift.len(), 4, "{:#?}", report.drift);
    let sink = Arc::new(Collect::default());
    let restored = restore(&fake, &report.drift, &Events::new(sink.clone()))
        .await
        .unwrap();
    assert_eq!(restored.len(), 4);
    assert_eq!(
        fake.calls(),
        vec![
            "update shop-asg Some(2) Some(4) None".to_string(),
            "revoke sg-alb tcp 22 0.0.0.0/0".into(),
            "authorize sg-alb tcp 443 pl-0abc Some(\"from the health checkers\")".into(),
        ],
        "one UpdateAutoScalingGroup for both limits, revokes first"
    );
    let lines: Vec<String> = sink
        .0
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match &e.kind {
            crate::events::EventKind::Info { message } => Some(message.clone()),
            _ => None,
        })
        .collect();
    assert!(
        lines.contains(&"drift restored: us-east-1 AutoScalingGroup MaxSize 9 -> 4".to_string()),
        "{lines:?}"
    );
    let again = check(&fake).await;
    assert!(!again.has_drift(), "{:#?}", again.drift);
    assert!(restore(&fake, &again.drift, &Events::discard())
        .await
        .unwrap()
        .is_empty());
}

#[test]
fn protocols_are_compared_as_ec2_reports_them() {
    assert_eq!(compare::protocol("6"), "tcp");
    assert_eq!(compare::protocol("TCP"), "tcp");
    assert_eq!(compare::protocol("all"), "-1");
    assert_eq!(
        compare::rule("-1", Some(0), Some(65535), Peer::Cidr("0.0.0.0/0".into())),
        compare::rule("-1", None, None, Peer::Cidr("0.0.0.0/0".into()))
    );
}

#[tokio::test]
async fn a_failed_over_region_makes_the_survivors_raised_limits_no_drift() {
    const WEST: &str = "us-west-2";
    let mut fake = Fake::new();
    fake.failed = Some(WEST);
    // Failover raised the limits (the fake's one group stands for both regions').
    fake.edit(|l| {
        let a = l.asg.as_mut().unwrap();
        a.max = 9;
        a.min = 3;
    });
    let stacks = vec![
        StackRef {
            region: EAST.into(),
            stack: STACK.into(),
        },
        StackRef {
            region: WEST.into(),
            stack: "shop-prod-us-west-2".into(),
        },
    ];
    let report = detect(&fake, "shop-prod", &stacks).await;
    assert_eq!(report.count(EAST), 0, "{:#?}", report.drift);
    assert!(
        report.regions[0]
            .skipped
            .iter()
            .any(|s| s.contains("failover's scaling while us-west-2 is out of service")),
        "{:?}",
        report.regions[0].skipped
    );
    // The failed region itself is not scaled by failover: still drift there.
    assert_eq!(report.count(WEST), 2, "{:#?}", report.drift);
    // A limit lowered below the template is drift even while a region is out.
    fake.edit(|l| l.asg.as_mut().unwrap().min = 1);
    let report = detect(&fake, "shop-prod", &stacks).await;
    assert_eq!(
        report
            .drift
            .iter()
            .filter(|d| d.region == EAST)
            .map(|d| d.property.as_str())
            .collect::<Vec<_>>(),
        vec!["MinSize"]
    );
    // --region: only the regions asked for.
    let only = detect(&fake, "shop-prod", &stacks)
        .await
        .only(&[EAST.to_string()]);
    assert_eq!(only.regions.len(), 1);
    assert!(only.drift.iter().all(|d| d.region == EAST));
}
