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
const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:shop-alerts";

fn template() -> String {
    json!({
        "Parameters": {
            "HealthCheckPrefixListId": { "Type": "String" },
            "HostedZoneId": { "Type": "String" }
        },
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
            "NatGatewayA": { "Type": "AWS::EC2::NatGateway", "Properties": {} },
            "InternetGateway": { "Type": "AWS::EC2::InternetGateway", "Properties": {} },
            "PrivateRouteTableA": { "Type": "AWS::EC2::RouteTable", "Properties": {} },
            "PublicRouteTable": { "Type": "AWS::EC2::RouteTable", "Properties": {} },
            "PrivateDefaultRouteA": {
                "Type": "AWS::EC2::Route",
                "Properties": {
                    "DestinationCidrBlock": "0.0.0.0/0",
                    "NatGatewayId": { "Ref": "NatGatewayA" },
                    "RouteTableId": { "Ref": "PrivateRouteTableA" }
                }
            },
            "PublicDefaultRoute": {
                "Type": "AWS::EC2::Route",
                "Properties": {
                    "DestinationCidrBlock": "0.0.0.0/0",
                    "GatewayId": { "Ref": "InternetGateway" },
                    "RouteTableId": { "Ref": "PublicRouteTable" }
                }
            },
            "AlertsTopic": { "Type": "AWS::SNS::Topic", "Properties": {} },
            "ReplicationRole": { "Type": "AWS::IAM::Role", "Properties": {} },
            "Bucket": {
                "Type": "AWS::S3::Bucket",
                "Properties": {
                    "ReplicationConfiguration": {
                        "Role": { "Fn::GetAtt": ["ReplicationRole", "Arn"] },
                        "Rules": [{
                            "Id": "to-us-west-2",
                            "Status": "Enabled",
                            "Priority": 1,
                            "Destination": {
                                "Account": { "Ref": "AWS::AccountId" },
                                "Bucket": { "Fn::Sub": "arn:${AWS::Partition}:s3:::shop-${AWS::AccountId}-us-west-2" }
                            }
                        }]
                    }
                }
            },
            "LatencyRecord": {
                "Type": "AWS::Route53::RecordSet",
                "Properties": {
                    "AliasTarget": { "DNSName": { "Fn::GetAtt": ["Alb", "DNSName"] } },
                    "HealthCheckId": { "Ref": "ServingCheck" },
                    "HostedZoneId": { "Ref": "HostedZoneId" },
                    "Name": "Shop.Example.com",
                    "Region": { "Ref": "AWS::Region" },
                    "SetIdentifier": { "Ref": "AWS::Region" },
                    "Type": "A"
                }
            },
            "ContractBucket": {
                "Type": "AWS::SSM::Parameter",
                "Properties": { "Name": "/shop/prod/bucket", "Type": "String", "Value": { "Ref": "Bucket" } }
            },
            "ContractPeers": {
                "Type": "AWS::SSM::Parameter",
                "Properties": { "Name": "/shop/prod/peers", "Type": "StringList", "Value": "eu-west-1,us-west-2" }
            },
            "Alb5xxAlarm": {
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {
                    "AlarmActions": [{ "Ref": "AlertsTopic" }],
                    "OKActions": [{ "Ref": "AlertsTopic" }],
                    "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                    "Dimensions": [{ "Name": "LoadBalancer",
                                     "Value": { "Fn::GetAtt": ["Alb", "LoadBalancerFullName"] } }],
                    "EvaluationPeriods": 1,
                    "Threshold": 50.0
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
        parameters: [
            ("HealthCheckPrefixListId".to_string(), "pl-0abc".to_string()),
            ("HostedZoneId".to_string(), "Z123".to_string()),
        ]
        .into(),
        physical_ids: [
            ("AutoScalingGroup", "shop-asg"),
            ("ScaleOnCpu", "policy-arn"),
            ("AlbSecurityGroup", "sg-alb"),
            ("InstanceSecurityGroup", "sg-inst"),
            ("InstanceIngressFromAlb", "sgr-1"),
            ("HealthCheck", "hc-1"),
            ("NatGatewayA", "nat-a"),
            ("InternetGateway", "igw-1"),
            ("PrivateRouteTableA", "rtb-priv-a"),
            ("PublicRouteTable", "rtb-pub"),
            ("PrivateDefaultRouteA", "rtb-priv-a|0.0.0.0/0"),
            ("PublicDefaultRoute", "rtb-pub|0.0.0.0/0"),
            ("AlertsTopic", TOPIC),
            ("Alb5xxAlarm", "shop-alb-5xx"),
            ("Bucket", "shop-bucket-east"),
            ("ReplicationRole", "shop-replication"),
            ("LatencyRecord", "shop.example.com"),
            ("ContractBucket", "/shop/prod/bucket"),
            ("ContractPeers", "/shop/prod/peers"),
            ("ServingCheck", "hc-serving"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect(),
        stack_id: "arn:aws:cloudformation:us-east-1:123456789012:stack/shop-prod-us-east-1/1"
            .into(),
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

fn route(destination: &str, target: &str) -> LiveRoute {
    LiveRoute {
        destination: destination.into(),
        target: Some(target.into()),
        state: "active".into(),
    }
}

/// The route tables and the alarm as the services answer right after the deploy.
fn tables_and_alarms() -> (
    BTreeMap<String, Vec<LiveRoute>>,
    BTreeMap<String, AlarmSettings>,
) {
    let tables = [
        (
            "rtb-priv-a".to_string(),
            vec![route("10.0.0.0/20", "local"), route("0.0.0.0/0", "nat-a")],
        ),
        (
            "rtb-pub".to_string(),
            vec![route("10.0.0.0/20", "local"), route("0.0.0.0/0", "igw-1")],
        ),
    ]
    .into();
    let alarms = [(
        "shop-alb-5xx".to_string(),
        AlarmSettings {
            threshold: Some(50.0),
            comparison_operator: "GreaterThanOrEqualToThreshold".into(),
            evaluation_periods: 1,
            alarm_actions: vec![TOPIC.into()],
            ok_actions: vec![TOPIC.into()],
        },
    )]
    .into();
    (tables, alarms)
}

#[derive(Default)]
struct Live {
    asg: Option<AsgLimits>,
    groups: BTreeMap<String, GroupRules>,
    tables: BTreeMap<String, Vec<LiveRoute>>,
    alarms: BTreeMap<String, AlarmSettings>,
    parameters: BTreeMap<String, ParameterValue>,
    /// The zone's record sets of shop.example.com. (one zone, one name).
    records: Vec<LiveRecord>,
    /// The bucket's replication.
    replication: Option<LiveReplication>,
    calls: Vec<String>,
}

const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/shop-replication";
const WEST_BUCKET: &str = "arn:aws:s3:::shop-123456789012-us-west-2";

/// The bucket's replication as deployed.
fn replicating() -> LiveReplication {
    LiveReplication {
        role: ROLE_ARN.into(),
        rules: vec![("to-us-west-2".into(), WEST_BUCKET.into(), "Enabled".into())],
    }
}

/// The latency record of `region` with its serving check, as deployed.
fn latency_record(region: &str) -> LiveRecord {
    LiveRecord {
        record_type: "A".into(),
        set_identifier: Some(region.into()),
        health_check_id: Some(format!("hc-serving-{region}")),
    }
}

fn parameter(param_type: &str, value: &str) -> ParameterValue {
    ParameterValue {
        param_type: param_type.into(),
        value: value.into(),
    }
}

/// The parameters as Parameter Store answers right after the deploy.
fn contract() -> BTreeMap<String, ParameterValue> {
    [
        (
            "/shop/prod/bucket".to_string(),
            parameter("String", "shop-bucket-east"),
        ),
        (
            "/shop/prod/peers".to_string(),
            parameter("StringList", "eu-west-1,us-west-2"),
        ),
    ]
    .into()
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
        let (tables, alarms) = tables_and_alarms();
        Fake {
            stack: Some(deployed()),
            live: Arc::new(Mutex::new(Live {
                asg: Some(asg),
                groups,
                tables,
                alarms,
                parameters: contract(),
                records: vec![latency_record(EAST), latency_record("us-west-2")],
                replication: Some(replicating()),
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

/// The entries of `live` asked for, as a service answers a read by ids.
fn pick<V: Clone>(live: &BTreeMap<String, V>, keys: &[String]) -> BTreeMap<String, V> {
    live.iter()
        .filter(|(k, _)| keys.contains(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn rules<'a>(l: &'a mut Live, id: &str, d: Direction) -> &'a mut Vec<Rule> {
    let g = l.groups.get_mut(id).unwrap();
    match d {
        Direction::Ingress => &mut g.ingress,
        Direction::Egress => &mut g.egress,
    }
}

impl DriftPort for Fake {
    async fn deployed(&self, region: &str, _: &str) -> Result<Option<DeployedStack>, CallError> {
        if self.down {
            return Err(CallError {
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
    async fn calculated_check(&self, id: &str) -> Result<Option<(i32, usize)>, CallError> {
        let failed = self.failed.is_some_and(|r| id.ends_with(r));
        Ok(Some((if failed { 3 } else { 1 }, 1)))
    }
    async fn asg_limits(&self, _: &str, _: &str) -> Result<Option<AsgLimits>, CallError> {
        Ok(self.live.lock().unwrap().asg)
    }
    async fn group_rules(
        &self,
        _: &str,
        ids: &[String],
    ) -> Result<BTreeMap<String, GroupRules>, CallError> {
        Ok(pick(&self.live.lock().unwrap().groups, ids))
    }
    async fn update_asg(
        &self,
        _: &str,
        name: &str,
        min: Option<i32>,
        max: Option<i32>,
        desired: Option<i32>,
    ) -> Result<(), CallError> {
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
    async fn revoke(&self, _: &str, id: &str, d: Direction, rule: &Rule) -> Result<(), CallError> {
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
    ) -> Result<(), CallError> {
        self.edit(|l| {
            l.calls
                .push(format!("authorize {id} {rule} {description:?}"));
            rules(l, id, d).push(rule.clone());
        });
        Ok(())
    }
    async fn route_tables(
        &self,
        _: &str,
        ids: &[String],
    ) -> Result<BTreeMap<String, Vec<LiveRoute>>, CallError> {
        Ok(pick(&self.live.lock().unwrap().tables, ids))
    }
    async fn alarms(
        &self,
        _: &str,
        names: &[String],
    ) -> Result<BTreeMap<String, AlarmSettings>, CallError> {
        Ok(pick(&self.live.lock().unwrap().alarms, names))
    }
    async fn put_route(
        &self,
        _: &str,
        table: &str,
        destination: &str,
        via: RouteVia,
        target: &str,
        replace: bool,
    ) -> Result<(), CallError> {
        self.edit(|l| {
            let verb = if replace { "replace" } else { "create" };
            l.calls.push(format!(
                "{verb}-route {table} {destination} {} {target}",
                via.property()
            ));
            let routes = l.tables.get_mut(table).unwrap();
            routes.retain(|r| r.destination != destination);
            routes.push(route(destination, target));
        });
        Ok(())
    }
    async fn parameters(
        &self,
        _: &str,
        names: &[String],
    ) -> Result<BTreeMap<String, ParameterValue>, CallError> {
        Ok(pick(&self.live.lock().unwrap().parameters, names))
    }
    async fn put_parameter(
        &self,
        _: &str,
        name: &str,
        value: &str,
        param_type: &str,
    ) -> Result<(), CallError> {
        self.edit(|l| {
            l.calls
                .push(format!("put-parameter {name} {param_type} {value}"));
            l.parameters
                .insert(name.to_string(), parameter(param_type, value));
        });
        Ok(())
    }
    async fn records(&self, zone: &str, name: &str) -> Result<Vec<LiveRecord>, CallError> {
        assert_eq!((zone, name), ("Z123", "shop.example.com."));
        Ok(self.live.lock().unwrap().records.clone())
    }
    async fn set_record_health_check(
        &self,
        zone: &str,
        name: &str,
        record_type: &str,
        set_identifier: Option<&str>,
        health_check_id: Option<&str>,
    ) -> Result<(), CallError> {
        self.edit(|l| {
            l.calls.push(format!(
                "upsert {zone} {name} {record_type} {set_identifier:?} {health_check_id:?}"
            ));
            for r in l.records.iter_mut() {
                if r.record_type == record_type && r.set_identifier.as_deref() == set_identifier {
                    r.health_check_id = health_check_id.map(str::to_string);
                }
            }
        });
        Ok(())
    }
    async fn replication(
        &self,
        _: &str,
        bucket: &str,
    ) -> Result<Option<LiveReplication>, CallError> {
        assert_eq!(bucket, "shop-bucket-east");
        Ok(self.live.lock().unwrap().replication.clone())
    }
    async fn patch_replication(
        &self,
        _: &str,
        bucket: &str,
        patch: &ReplicationPatch,
    ) -> Result<(), CallError> {
        self.edit(|l| {
            l.calls.push(format!("put-replication {bucket} {patch:?}"));
            let live = l.replication.as_mut().unwrap();
            live.role = patch.role.clone();
            for rule in live.rules.iter_mut() {
                if let Some(p) = patch.rules.iter().find(|p| p.0 == rule.0) {
                    *rule = p.clone();
                }
            }
        });
        Ok(())
    }
    async fn patch_alarm(&self, _: &str, name: &str, patch: &AlarmPatch) -> Result<(), CallError> {
        self.edit(|l| {
            l.calls.push(format!("put-alarm {name} {patch:?}"));
            let a = l.alarms.get_mut(name).unwrap();
            a.threshold = patch.threshold.or(a.threshold);
            if let Some(op) = &patch.comparison_operator {
                a.comparison_operator = op.clone();
            }
            a.evaluation_periods = patch.evaluation_periods.unwrap_or(a.evaluation_periods);
            if let Some(v) = &patch.alarm_actions {
                a.alarm_actions = v.clone();
            }
            if let Some(v) = &patch.ok_actions {
                a.ok_actions = v.clone();
            }
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
    assert_skipped(&report, "AutoScalingGroup DesiredCapacity");
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

/// The first region noted a skipped property starting with `prefix`.
fn assert_skipped(report: &DriftReport, prefix: &str) {
    let skipped = &report.regions[0].skipped;
    assert!(
        skipped.iter().any(|s| s.starts_with(prefix)),
        "{prefix}: {skipped:?}"
    );
}

fn found(report: &DriftReport) -> Vec<(&str, &str, &str, &str, &str)> {
    report
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
        .collect()
}

#[tokio::test]
async fn a_deleted_nat_route_and_a_repointed_public_route_are_reported_and_put_back() {
    let fake = Fake::new();
    fake.edit(|l| {
        l.tables
            .get_mut("rtb-priv-a")
            .unwrap()
            .retain(|r| r.destination != "0.0.0.0/0");
        l.tables.get_mut("rtb-pub").unwrap()[1].target = Some("nat-a".into());
    });
    let report = check(&fake).await;
    assert_eq!(
        found(&report),
        vec![
            (EAST, "PrivateDefaultRouteA", "NatGatewayId", "nat-a", "-"),
            (EAST, "PublicDefaultRoute", "GatewayId", "igw-1", "nat-a"),
        ]
    );
    assert_eq!(report.drift[0].resource_type, compare::ROUTE);
    assert!(report.restorable());
    assert_eq!(report.drift[0].physical_id, "rtb-priv-a|0.0.0.0/0");
    let sink = Arc::new(Collect::default());
    let restored = restore(&fake, &report.drift, &Events::new(sink.clone()))
        .await
        .unwrap();
    assert_eq!(restored.len(), 2);
    assert_eq!(
        fake.calls(),
        vec![
            "create-route rtb-priv-a 0.0.0.0/0 NatGatewayId nat-a".to_string(),
            "replace-route rtb-pub 0.0.0.0/0 GatewayId igw-1".into(),
        ]
    );
    assert_eq!(
        restored[0].line(),
        "drift restored: us-east-1 PrivateDefaultRouteA NatGatewayId - -> nat-a"
    );
    let again = check(&fake).await;
    assert!(!again.has_drift(), "{:#?}", again.drift);
}

#[tokio::test]
async fn a_blackhole_route_and_a_deleted_route_table_are_reported_but_not_put_back() {
    let fake = Fake::new();
    fake.edit(|l| {
        l.tables.get_mut("rtb-priv-a").unwrap()[1].state = "blackhole".into();
        l.tables.remove("rtb-pub");
    });
    let report = check(&fake).await;
    assert_eq!(
        found(&report),
        vec![
            (EAST, "PrivateDefaultRouteA", "State", "active", "blackhole"),
            (
                EAST,
                "PublicDefaultRoute",
                "RouteTableId",
                "rtb-pub",
                "deleted"
            ),
        ]
    );
    assert!(report.drift.iter().all(|d| d.fix.is_none()));
    assert!(
        report.has_drift() && !report.restorable(),
        "a deploy with nothing to change takes no lock for it"
    );
    let sink = Arc::new(Collect::default());
    let restored = restore(&fake, &report.drift, &Events::new(sink.clone()))
        .await
        .unwrap();
    assert!(restored.is_empty());
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn a_hand_changed_alarm_is_reported_per_setting_and_put_back_in_one_call() {
    let fake = Fake::new();
    fake.edit(|l| {
        let a = l.alarms.get_mut("shop-alb-5xx").unwrap();
        a.threshold = Some(500.0);
        a.evaluation_periods = 3;
        a.comparison_operator = "GreaterThanThreshold".into();
        a.alarm_actions.clear();
    });
    let report = check(&fake).await;
    assert_eq!(
        found(&report),
        vec![
            (EAST, "Alb5xxAlarm", "Threshold", "50", "500"),
            (
                EAST,
                "Alb5xxAlarm",
                "ComparisonOperator",
                "GreaterThanOrEqualToThreshold",
                "GreaterThanThreshold"
            ),
            (EAST, "Alb5xxAlarm", "EvaluationPeriods", "1", "3"),
            (EAST, "Alb5xxAlarm", "AlarmActions", TOPIC, "-"),
        ]
    );
    assert_eq!(report.drift[0].resource_type, compare::ALARM);
    let restored = restore(&fake, &report.drift, &Events::discard())
        .await
        .unwrap();
    assert_eq!(restored.len(), 4);
    let calls = fake.calls();
    assert_eq!(
        calls.len(),
        1,
        "one PutMetricAlarm for the alarm: {calls:?}"
    );
    assert!(calls[0].starts_with("put-alarm shop-alb-5xx"), "{calls:?}");
    let again = check(&fake).await;
    assert!(!again.has_drift(), "{:#?}", again.drift);
}

#[tokio::test]
async fn alarm_actions_are_compared_as_a_set_and_a_deleted_alarm_is_not_put_back() {
    let fake = Fake::new();
    fake.edit(|l| {
        let a = l.alarms.get_mut("shop-alb-5xx").unwrap();
        a.ok_actions = vec![TOPIC.into(), TOPIC.into()];
    });
    assert!(!check(&fake).await.has_drift());
    fake.edit(|l| {
        l.alarms.clear();
    });
    let report = check(&fake).await;
    assert_eq!(
        found(&report),
        vec![(EAST, "Alb5xxAlarm", "(resource)", "exists", "deleted")]
    );
    assert!(report.drift[0].fix.is_none());
}

#[tokio::test]
async fn an_alarm_action_that_cannot_be_resolved_is_skipped_not_reported() {
    let mut fake = Fake::new();
    let mut t: serde_json::Value = serde_json::from_str(&template()).unwrap();
    t["Resources"]["Alb5xxAlarm"]["Properties"]["AlarmActions"] =
        json!([{ "Fn::ImportValue": "shared-topic" }]);
    fake.stack.as_mut().unwrap().template_body = t.to_string();
    let report = check(&fake).await;
    assert!(!report.has_drift(), "{:#?}", report.drift);
    assert_skipped(&report, "Alb5xxAlarm AlarmActions");
}

#[tokio::test]
async fn a_hand_changed_parameter_is_reported_and_put_back_in_one_put_parameter() {
    let fake = Fake::new();
    fake.edit(|l| {
        l.parameters
            .insert("/shop/prod/bucket".into(), parameter("StringList", "other"));
        l.parameters.remove("/shop/prod/peers");
    });
    let report = check(&fake).await;
    assert_eq!(
        found(&report),
        vec![
            (EAST, "ContractBucket", "Value", "shop-bucket-east", "other"),
            (EAST, "ContractBucket", "Type", "String", "StringList"),
            (EAST, "ContractPeers", "(resource)", "exists", "deleted"),
        ]
    );
    assert_eq!(report.drift[0].resource_type, compare::PARAMETER);
    assert_eq!(report.drift[0].physical_id, "/shop/prod/bucket");
    let restored = restore(&fake, &report.drift, &Events::discard())
        .await
        .unwrap();
    assert_eq!(restored.len(), 2);
    assert_eq!(
        fake.calls(),
        vec!["put-parameter /shop/prod/bucket String shop-bucket-east".to_string()]
    );
    let again = check(&fake).await;
    assert_eq!(
        found(&again),
        vec![(EAST, "ContractPeers", "(resource)", "exists", "deleted")]
    );
}

#[tokio::test]
async fn a_record_pointed_at_another_health_check_is_put_back_and_a_deleted_one_reported() {
    let fake = Fake::new();
    fake.edit(|l| l.records[0].health_check_id = Some("hc-1".into()));
    let report = check(&fake).await;
    assert_eq!(
        found(&report),
        vec![(
            EAST,
            "LatencyRecord",
            "HealthCheckId",
            "hc-serving-us-east-1",
            "hc-1"
        )]
    );
    assert_eq!(report.drift[0].resource_type, compare::RECORD_SET);
    let restored = restore(&fake, &report.drift, &Events::discard())
        .await
        .unwrap();
    assert_eq!(restored.len(), 1);
    assert_eq!(
        fake.calls(),
        vec![
            "upsert Z123 shop.example.com. A Some(\"us-east-1\") Some(\"hc-serving-us-east-1\")"
                .to_string()
        ]
    );
    assert!(!check(&fake).await.has_drift());
    // Another region's record is not this region's: its loss is drift here only
    // when this region's own record is gone.
    fake.edit(|l| {
        l.records
            .retain(|r| r.set_identifier.as_deref() != Some(EAST))
    });
    let report = check(&fake).await;
    assert_eq!(
        found(&report),
        vec![(EAST, "LatencyRecord", "(resource)", "exists", "deleted")]
    );
    assert!(report.drift[0].fix.is_none());
}

#[tokio::test]
async fn failover_raising_the_serving_checks_threshold_is_no_record_drift() {
    let mut fake = Fake::new();
    // strata dr failover took us-east-1 out: its serving check's threshold is
    // above its children; the record still names the same check.
    fake.failed = Some(EAST);
    let report = check(&fake).await;
    assert!(!report.has_drift(), "{:#?}", report.drift);
}

#[tokio::test]
async fn a_changed_replication_role_and_destination_are_put_back_in_one_call() {
    let fake = Fake::new();
    fake.edit(|l| {
        let r = l.replication.as_mut().unwrap();
        r.role = "arn:aws:iam::123456789012:role/other".into();
        r.rules[0].1 = "arn:aws:s3:::elsewhere".into();
    });
    let report = check(&fake).await;
    assert_eq!(
        found(&report),
        vec![
            (
                EAST,
                "Bucket",
                "ReplicationConfiguration.Role",
                ROLE_ARN,
                "arn:aws:iam::123456789012:role/other"
            ),
            (
                EAST,
                "Bucket",
                "ReplicationConfiguration.Rules[to-us-west-2].Destination.Bucket",
                WEST_BUCKET,
                "arn:aws:s3:::elsewhere"
            ),
        ]
    );
    assert_eq!(report.drift[0].resource_type, compare::BUCKET);
    let restored = restore(&fake, &report.drift, &Events::discard())
        .await
        .unwrap();
    assert_eq!(restored.len(), 2);
    let calls = fake.calls();
    assert_eq!(calls.len(), 1, "one PutBucketReplication: {calls:?}");
    assert!(calls[0].starts_with("put-replication shop-bucket-east"));
    assert!(!check(&fake).await.has_drift());
}

#[tokio::test]
async fn replication_removed_or_a_rule_added_by_hand_is_reported_not_put_back() {
    let fake = Fake::new();
    fake.edit(|l| {
        l.replication.as_mut().unwrap().rules.push((
            "mine".into(),
            "arn:aws:s3:::mine".into(),
            "Enabled".into(),
        ))
    });
    let report = check(&fake).await;
    assert_eq!(
        found(&report),
        vec![(
            EAST,
            "Bucket",
            "ReplicationConfiguration.Rules[mine]",
            "-",
            "arn:aws:s3:::mine"
        )]
    );
    assert!(report.drift[0].fix.is_none());
    fake.edit(|l| l.replication = None);
    let report = check(&fake).await;
    assert_eq!(
        found(&report),
        vec![(
            EAST,
            "Bucket",
            "ReplicationConfiguration",
            "to-us-west-2",
            "-"
        )]
    );
    assert!(report.drift[0].fix.is_none());
}

#[tokio::test]
async fn a_replication_value_that_cannot_be_resolved_is_skipped_not_reported() {
    let mut fake = Fake::new();
    let mut t: serde_json::Value = serde_json::from_str(&template()).unwrap();
    t["Resources"]["Bucket"]["Properties"]["ReplicationConfiguration"]["Rules"][0]["Destination"]
        ["Bucket"] = json!({ "Fn::Sub": "arn:aws:s3:::${Other.Arn}" });
    fake.stack.as_mut().unwrap().template_body = t.to_string();
    fake.edit(|l| l.replication = None);
    let report = check(&fake).await;
    assert!(!report.has_drift(), "{:#?}", report.drift);
    assert_skipped(&report, "Bucket ReplicationConfiguration");
}
