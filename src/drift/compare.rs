//! The pure comparison: what a region stack's deployed template says its Auto
//! Scaling groups and security groups should be (intrinsics resolved against the
//! stack's parameters and physical ids), compared with what the services answer.
//! No I/O; `drift::detect` feeds it.

use super::{
    AlarmPatch, AlarmSettings, AsgLimits, Direction, Drift, Fix, GroupRules, LiveRecord,
    LiveReplication, LiveRoute, ParameterValue, Peer, ReplicationPatch, RouteVia, Rule,
};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

pub const ASG: &str = "AWS::AutoScaling::AutoScalingGroup";
pub const SECURITY_GROUP: &str = "AWS::EC2::SecurityGroup";
pub const INGRESS: &str = "AWS::EC2::SecurityGroupIngress";
pub const EGRESS: &str = "AWS::EC2::SecurityGroupEgress";
pub const SCALING_POLICY: &str = "AWS::AutoScaling::ScalingPolicy";
pub const HEALTH_CHECK: &str = "AWS::Route53::HealthCheck";
pub const ROUTE: &str = "AWS::EC2::Route";
pub const ALARM: &str = "AWS::CloudWatch::Alarm";
pub const PARAMETER: &str = "AWS::SSM::Parameter";
pub const RECORD_SET: &str = "AWS::Route53::RecordSet";
pub const BUCKET: &str = "AWS::S3::Bucket";
pub const ROLE: &str = "AWS::IAM::Role";

/// What a deployed stack is, as CloudFormation has it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeployedStack {
    /// GetTemplate (Original): the template CloudFormation last applied.
    pub template_body: String,
    /// The stack's parameter values (DescribeStacks, resolved values).
    pub parameters: BTreeMap<String, String>,
    /// Logical id -> physical id (DescribeStackResources).
    pub physical_ids: BTreeMap<String, String>,
    /// The stack's ARN (`arn:<partition>:cloudformation:<region>:<account>:stack/...`):
    /// where `AWS::Partition` and `AWS::AccountId` are read from.
    pub stack_id: String,
}

/// What the template says one Auto Scaling group's limits are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedAsg {
    pub logical_id: String,
    pub name: String,
    pub min: Option<i32>,
    pub max: Option<i32>,
    /// Only when the template sets it and no scaling policy of the template acts
    /// on the group (a policy changes the desired capacity on purpose).
    pub desired: Option<i32>,
}

/// One rule the template declares, with where it is declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedRule {
    pub rule: Rule,
    pub description: Option<String>,
    /// The resource that declares it: the group itself (inline rules), or an
    /// `AWS::EC2::SecurityGroupIngress` / `Egress` resource.
    pub logical_id: String,
    pub resource_type: String,
    /// A rule EC2 may or may not add (the default IPv6 egress exists only in a VPC
    /// with an IPv6 block): its absence is no drift.
    pub optional: bool,
}

/// What the template says one security group's rules are. `None`: a direction
/// whose rules could not all be resolved, so it is not compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedGroup {
    pub logical_id: String,
    pub group_id: String,
    pub ingress: Option<Vec<ExpectedRule>>,
    pub egress: Option<Vec<ExpectedRule>>,
}

/// One IPv4 route the template declares (`AWS::EC2::Route`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedRoute {
    pub logical_id: String,
    /// The route's physical id, or the table's when CloudFormation lists none.
    pub physical_id: String,
    pub table_id: String,
    pub destination: String,
    pub via: RouteVia,
    /// The NAT gateway's or internet gateway's id.
    pub target: String,
}

/// What the template says one metric alarm's compared settings are. A list is
/// None when one of its entries could not be resolved (not compared).
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedAlarm {
    pub logical_id: String,
    /// The alarm's name (its physical id).
    pub name: String,
    /// None: the template sets none (a metric-math threshold), not compared.
    pub threshold: Option<f64>,
    pub comparison_operator: Option<String>,
    pub evaluation_periods: Option<i32>,
    pub alarm_actions: Option<Vec<String>>,
    pub ok_actions: Option<Vec<String>>,
}

/// What the template says one Parameter Store parameter holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedParameter {
    pub logical_id: String,
    /// The parameter's name (its physical id).
    pub name: String,
    pub param_type: String,
    pub value: String,
}

/// What the template says one Route 53 record set is: it exists, with this
/// health check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedRecord {
    pub logical_id: String,
    pub physical_id: String,
    pub zone_id: String,
    /// Lowercase, with the trailing dot (as ListResourceRecordSets answers).
    pub name: String,
    pub record_type: String,
    pub set_identifier: Option<String>,
    /// None: the template sets none.
    pub health_check_id: Option<String>,
}

/// One replication rule the template declares, by its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedReplicationRule {
    pub id: String,
    /// The destination bucket's ARN.
    pub destination: String,
    /// "Enabled" or "Disabled".
    pub status: String,
}

/// What the template says one bucket replicates, with which role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedReplication {
    pub logical_id: String,
    pub bucket: String,
    pub role: String,
    pub rules: Vec<ExpectedReplicationRule>,
}

/// Everything of one stack that is compared, and what was skipped (with why).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Expected {
    pub asgs: Vec<ExpectedAsg>,
    pub groups: Vec<ExpectedGroup>,
    pub routes: Vec<ExpectedRoute>,
    pub alarms: Vec<ExpectedAlarm>,
    pub parameters: Vec<ExpectedParameter>,
    pub records: Vec<ExpectedRecord>,
    pub replication: Vec<ExpectedReplication>,
    /// The ids of the stack's calculated ("serving") health checks: failover's
    /// lever, read to know whether the region is failed over, never compared.
    pub serving_checks: Vec<String>,
    /// "LogicalId Property: why", for properties whose expected value could not be
    /// resolved (a condition, an intrinsic strata does not evaluate).
    pub skipped: Vec<String>,
}

/// Resolves a template value to the string CloudFormation would have passed:
/// literals, `Ref` to a parameter (its value) or a resource (its physical id),
/// `AWS::Region`, and `Fn::GetAtt [SecurityGroup, GroupId]` (the group's physical
/// id is its id). Anything else is unresolved.
struct Resolver<'a> {
    region: &'a str,
    deployed: &'a DeployedStack,
    types: BTreeMap<&'a str, &'a str>,
}

/// Resolution of an optional property.
enum Resolved {
    Absent,
    Value(String),
    Unresolved,
}

impl Resolver<'_> {
    fn value(&self, v: &Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Object(m) if m.len() == 1 => {
                if let Some(Value::String(name)) = m.get("Ref") {
                    return self.reference(name);
                }
                if let Some(Value::String(text)) = m.get("Fn::Sub") {
                    return self.sub(text);
                }
                if let Some(Value::Array(a)) = m.get("Fn::GetAtt") {
                    if let [Value::String(id), Value::String(attr)] = a.as_slice() {
                        if attr == "Arn" && self.types.get(id.as_str()) == Some(&ROLE) {
                            // A role's ARN: arn:<partition>:iam::<account>:role/<name>
                            // for the default path "/", which strata's roles keep.
                            let name = self.deployed.physical_ids.get(id)?;
                            return Some(format!(
                                "arn:{}:iam::{}:role/{name}",
                                self.reference("AWS::Partition")?,
                                self.reference("AWS::AccountId")?
                            ));
                        }
                        if attr == "GroupId" && self.types.get(id.as_str()) == Some(&SECURITY_GROUP)
                        {
                            return self
                                .deployed
                                .physical_ids
                                .get(id)
                                .filter(|p| p.starts_with("sg-"))
                                .cloned();
                        }
                    }
                }
                None
            }
            _ => None,
        }
    }

    /// `Ref` of a pseudo parameter, a parameter or a resource.
    fn reference(&self, name: &str) -> Option<String> {
        let arn_part = |i: usize| {
            self.deployed
                .stack_id
                .split(':')
                .nth(i)
                .filter(|p| !p.is_empty())
                .map(str::to_string)
        };
        match name {
            "AWS::Region" => Some(self.region.to_string()),
            "AWS::Partition" => arn_part(1),
            "AWS::AccountId" => arn_part(4),
            _ => self
                .deployed
                .parameters
                .get(name)
                .or_else(|| self.deployed.physical_ids.get(name))
                .cloned(),
        }
    }

    /// `Fn::Sub` of a string whose `${Name}`s are references (no `${A.B}`
    /// attributes, no variable map): None when one cannot be resolved.
    fn sub(&self, text: &str) -> Option<String> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find('}')?;
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                // `${!Literal}` is the text `${Literal}`.
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if name.contains('.') {
                return None;
            } else {
                out.push_str(&self.reference(name)?);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Some(out)
    }

    fn optional(&self, props: &Value, key: &str) -> Resolved {
        match props.get(key) {
            None | Some(Value::Null) => Resolved::Absent,
            Some(Value::Object(m)) if m.get("Ref") == Some(&Value::from("AWS::NoValue")) => {
                Resolved::Absent
            }
            Some(v) => match self.value(v) {
                Some(s) => Resolved::Value(s),
                None => Resolved::Unresolved,
            },
        }
    }
}

/// The protocol as EC2 reports it: names for tcp/udp/icmp, "-1" for all.
pub fn protocol(p: &str) -> String {
    match p.to_ascii_lowercase().as_str() {
        "6" | "tcp" => "tcp".into(),
        "17" | "udp" => "udp".into(),
        "1" | "icmp" => "icmp".into(),
        "58" | "icmpv6" => "icmpv6".into(),
        "-1" | "all" => "-1".into(),
        other => other.to_string(),
    }
}

/// A rule with its protocol normalised and, for all protocols, no ports (EC2
/// reports none, or -1, for them).
pub fn rule(protocol_name: &str, from: Option<i32>, to: Option<i32>, peer: Peer) -> Rule {
    let protocol = protocol(protocol_name);
    let all = protocol == "-1";
    Rule {
        protocol,
        from_port: if all { None } else { from },
        to_port: if all { None } else { to },
        peer,
    }
}

/// One template rule (inline or a standalone resource's properties); None when a
/// field it needs cannot be resolved.
fn template_rule(
    r: &Resolver,
    props: &Value,
    direction: Direction,
) -> Option<(Rule, Option<String>)> {
    let protocol = r.value(props.get("IpProtocol")?)?;
    let port = |k: &str| match r.optional(props, k) {
        Resolved::Absent => Some(None),
        Resolved::Value(v) => v.parse::<i32>().ok().map(Some),
        Resolved::Unresolved => None,
    };
    let from = port("FromPort")?;
    let to = port("ToPort")?;
    let (group_key, list_key) = match direction {
        Direction::Ingress => ("SourceSecurityGroupId", "SourcePrefixListId"),
        Direction::Egress => ("DestinationSecurityGroupId", "DestinationPrefixListId"),
    };
    let mut peer = None;
    for (key, make) in [
        ("CidrIp", Peer::Cidr as fn(String) -> Peer),
        ("CidrIpv6", Peer::CidrV6),
        (group_key, Peer::Group),
        (list_key, Peer::PrefixList),
    ] {
        match r.optional(props, key) {
            Resolved::Absent => {}
            Resolved::Value(v) => peer = Some(make(v)),
            Resolved::Unresolved => return None,
        }
    }
    let description = match r.optional(props, "Description") {
        Resolved::Value(d) => Some(d),
        _ => None,
    };
    Some((rule(&protocol, from, to, peer?), description))
}

/// What the deployed template says, for the resources that have a physical id.
pub fn expected(region: &str, deployed: &DeployedStack) -> Result<Expected, String> {
    let template: Value = serde_json::from_str(&deployed.template_body)
        .map_err(|e| format!("the deployed template is not JSON ({e})"))?;
    let resources = template
        .get("Resources")
        .and_then(Value::as_object)
        .ok_or("the deployed template has no Resources")?;
    let types: BTreeMap<&str, &str> = resources
        .iter()
        .filter_map(|(id, r)| Some((id.as_str(), r.get("Type")?.as_str()?)))
        .collect();
    let r = Resolver {
        region,
        deployed,
        types: types.clone(),
    };
    let mut out = Expected::default();
    let no_props = Value::Object(Default::default());
    let props_of =
        |res: &'_ Value| -> Value { res.get("Properties").cloned().unwrap_or(no_props.clone()) };
    // Groups a scaling policy of the template acts on: their desired capacity
    // changes on purpose.
    let scaled: BTreeSet<String> = resources
        .values()
        .filter(|res| res.get("Type").and_then(Value::as_str) == Some(SCALING_POLICY))
        .filter_map(|res| r.value(props_of(res).get("AutoScalingGroupName")?))
        .collect();
    for (id, res) in resources {
        let Some(physical) = deployed.physical_ids.get(id) else {
            continue;
        };
        let props = props_of(res);
        match types.get(id.as_str()).copied() {
            Some(HEALTH_CHECK) => {
                let kind = props
                    .get("HealthCheckConfig")
                    .and_then(|c| c.get("Type"))
                    .and_then(Value::as_str);
                if kind == Some("CALCULATED") {
                    out.serving_checks.push(physical.clone());
                }
            }
            Some(ASG) => {
                let mut limit = |key: &str| match r.optional(&props, key) {
                    Resolved::Absent => None,
                    Resolved::Value(v) => match v.parse::<i32>() {
                        Ok(n) => Some(n),
                        Err(_) => {
                            out.skipped
                                .push(format!("{id} {key}: {v:?} is not a number"));
                            None
                        }
                    },
                    Resolved::Unresolved => {
                        out.skipped
                            .push(format!("{id} {key}: an intrinsic strata does not resolve"));
                        None
                    }
                };
                let min = limit("MinSize");
                let max = limit("MaxSize");
                let desired = limit("DesiredCapacity");
                let desired = if scaled.contains(physical) {
                    if desired.is_some() {
                        out.skipped.push(format!(
                            "{id} DesiredCapacity: a scaling policy of the stack changes it on purpose"
                        ));
                    }
                    None
                } else {
                    desired
                };
                out.asgs.push(ExpectedAsg {
                    logical_id: id.clone(),
                    name: physical.clone(),
                    min,
                    max,
                    desired,
                });
            }
            Some(SECURITY_GROUP) => {
                if !physical.starts_with("sg-") {
                    out.skipped
                        .push(format!("{id}: not a VPC security group ({physical})"));
                    continue;
                }
                let mut group = ExpectedGroup {
                    logical_id: id.clone(),
                    group_id: physical.clone(),
                    ingress: Some(Vec::new()),
                    egress: Some(Vec::new()),
                };
                for direction in [Direction::Ingress, Direction::Egress] {
                    let key = direction.property();
                    let rules = match props.get(key) {
                        None => Some(Vec::new()),
                        Some(Value::Array(list)) => list
                            .iter()
                            .map(|p| {
                                template_rule(&r, p, direction).map(|(rule, description)| {
                                    ExpectedRule {
                                        rule,
                                        description,
                                        logical_id: id.clone(),
                                        resource_type: SECURITY_GROUP.into(),
                                        optional: false,
                                    }
                                })
                            })
                            .collect(),
                        Some(_) => None,
                    };
                    if rules.is_none() {
                        out.skipped
                            .push(format!("{id} {key}: a rule strata does not resolve"));
                    }
                    *group.direction_mut(direction) = rules;
                }
                if props.get(Direction::Egress.property()).is_none() {
                    // EC2 adds allow-all egress to a group created without egress
                    // rules (AWS::EC2::SecurityGroup, "When you create a security
                    // group, if you do not add egress rules, we add egress rules that
                    // allow all outbound IPv4 and IPv6 traffic",
                    // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ec2-securitygroup.html).
                    if let Some(e) = group.egress.as_mut() {
                        // The IPv6 one only in a VPC with an IPv6 block: optional.
                        for (peer, optional) in [
                            (Peer::Cidr("0.0.0.0/0".into()), false),
                            (Peer::CidrV6("::/0".into()), true),
                        ] {
                            e.push(ExpectedRule {
                                rule: rule("-1", None, None, peer),
                                description: None,
                                logical_id: id.clone(),
                                resource_type: SECURITY_GROUP.into(),
                                optional,
                            });
                        }
                    }
                }
                out.groups.push(group);
            }
            _ => {}
        }
    }
    // Standalone rules: added to the group they name.
    for (id, res) in resources {
        let direction = match types.get(id.as_str()).copied() {
            Some(INGRESS) => Direction::Ingress,
            Some(EGRESS) => Direction::Egress,
            _ => continue,
        };
        // A standalone rule is known by its properties, not its physical id
        // (CloudFormation may list it without one, as the sandbox does after an
        // IMPORT): it is expected whether or not DescribeStackResources names it,
        // so a rule the template declares is never taken for a hand-added one, and
        // never revoked by a restore.
        let props = props_of(res);
        let Some(group_id) = props.get("GroupId").and_then(|g| r.value(g)) else {
            out.skipped.push(format!(
                "{id} GroupId: an intrinsic strata does not resolve"
            ));
            continue;
        };
        let Some(group) = out.groups.iter_mut().find(|g| g.group_id == group_id) else {
            // A group of another stack: not compared here.
            continue;
        };
        match template_rule(&r, &props, direction) {
            Some((rule, description)) => {
                if let Some(list) = group.direction_mut(direction).as_mut() {
                    list.push(ExpectedRule {
                        rule,
                        description,
                        logical_id: id.clone(),
                        resource_type: types[id.as_str()].to_string(),
                        optional: false,
                    });
                }
            }
            None => {
                out.skipped
                    .push(format!("{id}: a rule strata does not resolve"));
                *group.direction_mut(direction) = None;
            }
        }
    }
    // Routes: known by their table and destination (a route's physical id is
    // not needed to find it, as for standalone rules).
    for (id, res) in resources {
        if types.get(id.as_str()).copied() != Some(ROUTE) {
            continue;
        }
        let props = props_of(res);
        if let Some(route) = template_route(&r, id, &props, &mut out.skipped) {
            out.routes.push(route);
        }
    }
    for (id, res) in resources {
        if types.get(id.as_str()).copied() != Some(ALARM) {
            continue;
        }
        let Some(name) = deployed.physical_ids.get(id) else {
            continue;
        };
        let props = props_of(res);
        out.alarms
            .push(template_alarm(&r, id, name, &props, &mut out.skipped));
    }
    for (id, res) in resources {
        if types.get(id.as_str()).copied() != Some(RECORD_SET) {
            continue;
        }
        let Some(physical) = deployed.physical_ids.get(id) else {
            continue;
        };
        let props = props_of(res);
        let mut field = |key: &str| match r.optional(&props, key) {
            Resolved::Value(v) => Ok(Some(v)),
            Resolved::Absent => Ok(None),
            Resolved::Unresolved => {
                out.skipped
                    .push(format!("{id} {key}: an intrinsic strata does not resolve"));
                Err(())
            }
        };
        let (
            Ok(Some(zone_id)),
            Ok(Some(name)),
            Ok(Some(record_type)),
            Ok(set_identifier),
            Ok(health_check_id),
        ) = (
            field("HostedZoneId"),
            field("Name"),
            field("Type"),
            field("SetIdentifier"),
            field("HealthCheckId"),
        )
        else {
            out.skipped.push(format!(
                "{id}: a record strata does not resolve (HostedZoneId, Name, Type)"
            ));
            continue;
        };
        out.records.push(ExpectedRecord {
            logical_id: id.clone(),
            physical_id: physical.clone(),
            zone_id: zone_id.trim_start_matches("/hostedzone/").to_string(),
            name: format!("{}.", name.trim_end_matches('.').to_ascii_lowercase()),
            record_type,
            set_identifier,
            health_check_id,
        });
    }
    for (id, res) in resources {
        if types.get(id.as_str()).copied() != Some(BUCKET) {
            continue;
        }
        let (Some(bucket), Some(config)) = (
            deployed.physical_ids.get(id),
            res.get("Properties")
                .and_then(|p| p.get("ReplicationConfiguration")),
        ) else {
            continue;
        };
        match template_replication(&r, id, bucket, config) {
            Some(rep) => out.replication.push(rep),
            None => out.skipped.push(format!(
                "{id} ReplicationConfiguration: a value strata does not resolve"
            )),
        }
    }
    for (id, res) in resources {
        if types.get(id.as_str()).copied() != Some(PARAMETER) {
            continue;
        }
        let Some(name) = deployed.physical_ids.get(id) else {
            continue;
        };
        let props = props_of(res);
        let mut need = |key: &str| match r.optional(&props, key) {
            Resolved::Value(v) => Some(v),
            Resolved::Absent => {
                out.skipped.push(format!("{id} {key}: not in the template"));
                None
            }
            Resolved::Unresolved => {
                out.skipped
                    .push(format!("{id} {key}: an intrinsic strata does not resolve"));
                None
            }
        };
        let (Some(param_type), Some(value)) = (need("Type"), need("Value")) else {
            continue;
        };
        out.parameters.push(ExpectedParameter {
            logical_id: id.clone(),
            name: name.clone(),
            param_type,
            value,
        });
    }
    Ok(out)
}

/// One `AWS::EC2::Route` of the template; None (noted in `skipped`) when it is
/// not an IPv4 route through a NAT gateway or an internet gateway, or a value
/// cannot be resolved.
fn template_route(
    r: &Resolver,
    id: &str,
    props: &Value,
    skipped: &mut Vec<String>,
) -> Option<ExpectedRoute> {
    let mut need = |key: &str| match r.optional(props, key) {
        Resolved::Value(v) => Some(v),
        Resolved::Absent => None,
        Resolved::Unresolved => {
            skipped.push(format!("{id} {key}: an intrinsic strata does not resolve"));
            None
        }
    };
    let table_id = need("RouteTableId")?;
    let Some(destination) = need("DestinationCidrBlock") else {
        skipped.push(format!("{id}: not an IPv4 route (no DestinationCidrBlock)"));
        return None;
    };
    let (via, target) = if let Some(t) = need("NatGatewayId") {
        (RouteVia::NatGateway, t)
    } else if let Some(t) = need("GatewayId") {
        (RouteVia::Gateway, t)
    } else {
        skipped.push(format!(
            "{id}: a route through neither a NAT gateway nor a gateway"
        ));
        return None;
    };
    Some(ExpectedRoute {
        logical_id: id.to_string(),
        physical_id: r
            .deployed
            .physical_ids
            .get(id)
            .cloned()
            .unwrap_or_else(|| table_id.clone()),
        table_id,
        destination,
        via,
        target,
    })
}

/// A bucket's `ReplicationConfiguration`: its role and each rule's id,
/// destination bucket and status; None when one of them cannot be resolved.
fn template_replication(
    r: &Resolver,
    id: &str,
    bucket: &str,
    config: &Value,
) -> Option<ExpectedReplication> {
    let role = r.value(config.get("Role")?)?;
    let rules = config
        .get("Rules")?
        .as_array()?
        .iter()
        .map(|rule| {
            Some(ExpectedReplicationRule {
                id: r.value(rule.get("Id")?)?,
                destination: r.value(rule.get("Destination")?.get("Bucket")?)?,
                status: r.value(rule.get("Status")?)?,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    Some(ExpectedReplication {
        logical_id: id.to_string(),
        bucket: bucket.to_string(),
        role,
        rules,
    })
}

/// One `AWS::CloudWatch::Alarm` of the template (a setting that cannot be
/// resolved is None, noted in `skipped`).
fn template_alarm(
    r: &Resolver,
    id: &str,
    name: &str,
    props: &Value,
    skipped: &mut Vec<String>,
) -> ExpectedAlarm {
    let mut scalar = |key: &str| match r.optional(props, key) {
        Resolved::Value(v) => Some(v),
        Resolved::Absent => None,
        Resolved::Unresolved => {
            skipped.push(format!("{id} {key}: an intrinsic strata does not resolve"));
            None
        }
    };
    let threshold = scalar("Threshold").and_then(|v| v.parse::<f64>().ok());
    let comparison_operator = scalar("ComparisonOperator");
    let evaluation_periods = scalar("EvaluationPeriods").and_then(|v| v.parse::<i32>().ok());
    let mut list = |key: &str| -> Option<Vec<String>> {
        let resolved = match props.get(key) {
            None | Some(Value::Null) => Some(Vec::new()),
            Some(Value::Array(items)) => items.iter().map(|v| r.value(v)).collect(),
            Some(_) => None,
        };
        if resolved.is_none() {
            skipped.push(format!("{id} {key}: an action strata does not resolve"));
        }
        resolved.map(sorted)
    };
    ExpectedAlarm {
        logical_id: id.to_string(),
        name: name.to_string(),
        threshold,
        comparison_operator,
        evaluation_periods,
        alarm_actions: list("AlarmActions"),
        ok_actions: list("OKActions"),
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

impl ExpectedGroup {
    fn direction_mut(&mut self, d: Direction) -> &mut Option<Vec<ExpectedRule>> {
        match d {
            Direction::Ingress => &mut self.ingress,
            Direction::Egress => &mut self.egress,
        }
    }
}

/// Where a drift is.
pub struct At<'a> {
    pub region: &'a str,
    pub stack: &'a str,
}

fn number(n: Option<i32>) -> String {
    n.map(|n| n.to_string()).unwrap_or_else(|| "-".into())
}

/// The limits of one group that differ from the template. While `failed_over`
/// names another region (out of service through `strata dr failover`), a limit
/// raised above the template is failover's scaling of the survivors, on purpose:
/// noted in `skipped`, not drift (`strata dr rebuild` / the failback lowers it).
pub fn compare_asg(
    at: &At,
    want: &ExpectedAsg,
    live: Option<&AsgLimits>,
    failed_over: Option<&str>,
    skipped: &mut Vec<String>,
) -> Vec<Drift> {
    let Some(live) = live else {
        return vec![Drift {
            region: at.region.into(),
            stack: at.stack.into(),
            logical_id: want.logical_id.clone(),
            resource_type: ASG.into(),
            physical_id: want.name.clone(),
            property: "(resource)".into(),
            expected: "exists".into(),
            actual: "deleted".into(),
            fix: None,
        }];
    };
    let mut out = Vec::new();
    for (property, expected, actual) in [
        ("MinSize", want.min, live.min),
        ("MaxSize", want.max, live.max),
        ("DesiredCapacity", want.desired, live.desired),
    ] {
        let Some(expected) = expected else { continue };
        if expected == actual {
            continue;
        }
        if let Some(region) = failed_over.filter(|_| actual > expected) {
            skipped.push(format!(
                "{} {property}: {actual} (the template says {expected}) is failover's scaling \
                 while {region} is out of service",
                want.logical_id
            ));
            continue;
        }
        let fix = match property {
            "MinSize" => AsgFix {
                min: Some(expected),
                ..AsgFix::default()
            },
            "MaxSize" => AsgFix {
                max: Some(expected),
                ..AsgFix::default()
            },
            _ => AsgFix {
                desired: Some(expected),
                ..AsgFix::default()
            },
        };
        out.push(Drift {
            region: at.region.into(),
            stack: at.stack.into(),
            logical_id: want.logical_id.clone(),
            resource_type: ASG.into(),
            physical_id: want.name.clone(),
            property: property.into(),
            expected: number(Some(expected)),
            actual: number(Some(actual)),
            fix: Some(Fix::Asg {
                name: want.name.clone(),
                min: fix.min,
                max: fix.max,
                desired: fix.desired,
            }),
        });
    }
    out
}

#[derive(Default)]
struct AsgFix {
    min: Option<i32>,
    max: Option<i32>,
    desired: Option<i32>,
}

/// The rules of one group that the template lacks (added by hand) or that the
/// group lacks (removed by hand). Descriptions are not compared.
pub fn compare_group(at: &At, want: &ExpectedGroup, live: Option<&GroupRules>) -> Vec<Drift> {
    let Some(live) = live else {
        return vec![Drift {
            region: at.region.into(),
            stack: at.stack.into(),
            logical_id: want.logical_id.clone(),
            resource_type: SECURITY_GROUP.into(),
            physical_id: want.group_id.clone(),
            property: "(resource)".into(),
            expected: "exists".into(),
            actual: "deleted".into(),
            fix: None,
        }];
    };
    let mut out = Vec::new();
    for direction in [Direction::Ingress, Direction::Egress] {
        let (expected, actual) = match direction {
            Direction::Ingress => (&want.ingress, &live.ingress),
            Direction::Egress => (&want.egress, &live.egress),
        };
        let Some(expected) = expected else { continue };
        let wanted: BTreeSet<&Rule> = expected.iter().map(|e| &e.rule).collect();
        let have: BTreeSet<&Rule> = actual.iter().collect();
        for rule in actual {
            if wanted.contains(rule) {
                continue;
            }
            out.push(Drift {
                region: at.region.into(),
                stack: at.stack.into(),
                logical_id: want.logical_id.clone(),
                resource_type: SECURITY_GROUP.into(),
                physical_id: want.group_id.clone(),
                property: direction.property().into(),
                expected: "-".into(),
                actual: rule.to_string(),
                fix: Some(Fix::Revoke {
                    group_id: want.group_id.clone(),
                    direction,
                    rule: rule.clone(),
                }),
            });
        }
        for e in expected {
            if have.contains(&e.rule) || e.optional {
                continue;
            }
            let property = if e.resource_type == SECURITY_GROUP {
                direction.property().to_string()
            } else {
                "(rule)".to_string()
            };
            out.push(Drift {
                region: at.region.into(),
                stack: at.stack.into(),
                logical_id: e.logical_id.clone(),
                resource_type: e.resource_type.clone(),
                physical_id: want.group_id.clone(),
                property,
                expected: e.rule.to_string(),
                actual: "-".into(),
                fix: Some(Fix::Authorize {
                    group_id: want.group_id.clone(),
                    direction,
                    rule: e.rule.clone(),
                    description: e.description.clone(),
                }),
            });
        }
    }
    out
}

/// A route of the template whose table lacks it (deleted by hand: created
/// again), or whose target differs (replaced). A route whose target was deleted
/// (EC2 reports it `blackhole`) is reported but not put back by a route: its NAT
/// gateway or internet gateway needs the stack updated or the region rebuilt.
pub fn compare_route(at: &At, want: &ExpectedRoute, live: Option<&Vec<LiveRoute>>) -> Vec<Drift> {
    let drift = |property: &str, expected: String, actual: String, fix: Option<Fix>| Drift {
        region: at.region.into(),
        stack: at.stack.into(),
        logical_id: want.logical_id.clone(),
        resource_type: ROUTE.into(),
        physical_id: want.physical_id.clone(),
        property: property.into(),
        expected,
        actual,
        fix,
    };
    let Some(routes) = live else {
        return vec![drift(
            "RouteTableId",
            want.table_id.clone(),
            "deleted".into(),
            None,
        )];
    };
    let fix = |replace| Fix::Route {
        table_id: want.table_id.clone(),
        destination: want.destination.clone(),
        via: want.via,
        target: want.target.clone(),
        replace,
    };
    let property = want.via.property();
    match routes.iter().find(|r| r.destination == want.destination) {
        None => vec![drift(
            property,
            want.target.clone(),
            "-".into(),
            Some(fix(false)),
        )],
        Some(r) if r.target.as_deref() != Some(want.target.as_str()) => vec![drift(
            property,
            want.target.clone(),
            r.target.clone().unwrap_or_else(|| "-".into()),
            Some(fix(true)),
        )],
        Some(r) if r.state != "active" => {
            vec![drift("State", "active".into(), r.state.clone(), None)]
        }
        Some(_) => Vec::new(),
    }
}

fn list(v: &[String]) -> String {
    if v.is_empty() {
        "-".into()
    } else {
        v.join(",")
    }
}

fn float(f: f64) -> String {
    // 50.0 -> "50", 0.5 -> "0.5": as a person writes it.
    format!("{f}")
}

/// The settings of one alarm that differ from the template; a deleted alarm is
/// reported with property `(resource)` (a deploy cannot put it back: the stack
/// needs an update that recreates it).
pub fn compare_alarm(at: &At, want: &ExpectedAlarm, live: Option<&AlarmSettings>) -> Vec<Drift> {
    let drift =
        |property: &str, expected: String, actual: String, patch: Option<AlarmPatch>| Drift {
            region: at.region.into(),
            stack: at.stack.into(),
            logical_id: want.logical_id.clone(),
            resource_type: ALARM.into(),
            physical_id: want.name.clone(),
            property: property.into(),
            expected,
            actual,
            fix: patch.map(|patch| Fix::Alarm {
                name: want.name.clone(),
                patch,
            }),
        };
    let Some(live) = live else {
        return vec![drift("(resource)", "exists".into(), "deleted".into(), None)];
    };
    let mut out = Vec::new();
    if let Some(t) = want.threshold {
        if live.threshold != Some(t) {
            out.push(drift(
                "Threshold",
                float(t),
                live.threshold.map(float).unwrap_or_else(|| "-".into()),
                Some(AlarmPatch {
                    threshold: Some(t),
                    ..AlarmPatch::default()
                }),
            ));
        }
    }
    if let Some(op) = &want.comparison_operator {
        if *op != live.comparison_operator {
            out.push(drift(
                "ComparisonOperator",
                op.clone(),
                live.comparison_operator.clone(),
                Some(AlarmPatch {
                    comparison_operator: Some(op.clone()),
                    ..AlarmPatch::default()
                }),
            ));
        }
    }
    if let Some(n) = want.evaluation_periods {
        if n != live.evaluation_periods {
            out.push(drift(
                "EvaluationPeriods",
                n.to_string(),
                live.evaluation_periods.to_string(),
                Some(AlarmPatch {
                    evaluation_periods: Some(n),
                    ..AlarmPatch::default()
                }),
            ));
        }
    }
    for (property, expected, actual) in [
        ("AlarmActions", &want.alarm_actions, &live.alarm_actions),
        ("OKActions", &want.ok_actions, &live.ok_actions),
    ] {
        let Some(expected) = expected else { continue };
        let actual = sorted(actual.clone());
        if *expected == actual {
            continue;
        }
        let patch = if property == "AlarmActions" {
            AlarmPatch {
                alarm_actions: Some(expected.clone()),
                ..AlarmPatch::default()
            }
        } else {
            AlarmPatch {
                ok_actions: Some(expected.clone()),
                ..AlarmPatch::default()
            }
        };
        out.push(drift(property, list(expected), list(&actual), Some(patch)));
    }
    out
}

/// A parameter whose value or type differs from the template; a deleted one is
/// reported with property `(resource)`, not put back.
pub fn compare_parameter(
    at: &At,
    want: &ExpectedParameter,
    live: Option<&ParameterValue>,
) -> Vec<Drift> {
    let drift = |property: &str, expected: &str, actual: &str, fix: bool| Drift {
        region: at.region.into(),
        stack: at.stack.into(),
        logical_id: want.logical_id.clone(),
        resource_type: PARAMETER.into(),
        physical_id: want.name.clone(),
        property: property.into(),
        expected: expected.into(),
        actual: actual.into(),
        fix: fix.then(|| Fix::Parameter {
            name: want.name.clone(),
            value: want.value.clone(),
            param_type: want.param_type.clone(),
        }),
    };
    let Some(live) = live else {
        return vec![drift("(resource)", "exists", "deleted", false)];
    };
    let mut out = Vec::new();
    if live.value != want.value {
        out.push(drift("Value", &want.value, &live.value, true));
    }
    if live.param_type != want.param_type {
        out.push(drift("Type", &want.param_type, &live.param_type, true));
    }
    out
}

/// A record set of the template that the zone lacks (deleted outside
/// CloudFormation: reported, not put back here: `strata dr rebuild` re-creates
/// the routed records, `dr::records::repair`), or whose health check differs
/// (put back: the record as it is, with the template's health check). The health
/// checks' own settings are never compared: failover changes the serving check's
/// threshold on purpose, never which check a record names.
pub fn compare_record(
    at: &At,
    want: &ExpectedRecord,
    live: Option<&Vec<LiveRecord>>,
) -> Vec<Drift> {
    let drift = |property: &str, expected: String, actual: String, fix: Option<Fix>| Drift {
        region: at.region.into(),
        stack: at.stack.into(),
        logical_id: want.logical_id.clone(),
        resource_type: RECORD_SET.into(),
        physical_id: want.physical_id.clone(),
        property: property.into(),
        expected,
        actual,
        fix,
    };
    let found = live
        .into_iter()
        .flatten()
        .find(|r| r.record_type == want.record_type && r.set_identifier == want.set_identifier);
    let Some(found) = found else {
        return vec![drift("(resource)", "exists".into(), "deleted".into(), None)];
    };
    if found.health_check_id == want.health_check_id {
        return Vec::new();
    }
    let show = |h: &Option<String>| h.clone().unwrap_or_else(|| "-".into());
    vec![drift(
        "HealthCheckId",
        show(&want.health_check_id),
        show(&found.health_check_id),
        Some(Fix::RecordHealthCheck {
            zone_id: want.zone_id.clone(),
            name: want.name.clone(),
            record_type: want.record_type.clone(),
            set_identifier: want.set_identifier.clone(),
            health_check_id: want.health_check_id.clone(),
        }),
    )]
}

/// A bucket's replication that differs from the template: its role, and each
/// rule (by id) whose destination or status differs, put back by one
/// PutBucketReplication of the live configuration with the template's role,
/// destinations and statuses. Replication removed, a rule removed or a rule added
/// by hand is reported, not put back here (the rule's other settings are the
/// template's alone: the next stack update that touches the bucket re-applies
/// them).
pub fn compare_replication(
    at: &At,
    want: &ExpectedReplication,
    live: Option<&LiveReplication>,
) -> Vec<Drift> {
    let drift = |property: String, expected: String, actual: String, fix: bool| Drift {
        region: at.region.into(),
        stack: at.stack.into(),
        logical_id: want.logical_id.clone(),
        resource_type: BUCKET.into(),
        physical_id: want.bucket.clone(),
        property,
        expected,
        actual,
        fix: fix.then(|| Fix::Replication {
            bucket: want.bucket.clone(),
            patch: ReplicationPatch {
                role: want.role.clone(),
                rules: want
                    .rules
                    .iter()
                    .map(|r| (r.id.clone(), r.destination.clone(), r.status.clone()))
                    .collect(),
            },
        }),
    };
    let Some(live) = live else {
        let rules: Vec<&str> = want.rules.iter().map(|r| r.id.as_str()).collect();
        return vec![drift(
            "ReplicationConfiguration".into(),
            rules.join(","),
            "-".into(),
            false,
        )];
    };
    let mut out = Vec::new();
    if live.role != want.role {
        out.push(drift(
            "ReplicationConfiguration.Role".into(),
            want.role.clone(),
            live.role.clone(),
            true,
        ));
    }
    for rule in &want.rules {
        let at_rule = |what: &str| format!("ReplicationConfiguration.Rules[{}].{what}", rule.id);
        match live.rules.iter().find(|l| l.0 == rule.id) {
            None => out.push(drift(
                format!("ReplicationConfiguration.Rules[{}]", rule.id),
                rule.destination.clone(),
                "-".into(),
                false,
            )),
            Some((_, destination, status)) => {
                if *destination != rule.destination {
                    out.push(drift(
                        at_rule("Destination.Bucket"),
                        rule.destination.clone(),
                        destination.clone(),
                        true,
                    ));
                }
                if *status != rule.status {
                    out.push(drift(
                        at_rule("Status"),
                        rule.status.clone(),
                        status.clone(),
                        true,
                    ));
                }
            }
        }
    }
    for (id, destination, _) in &live.rules {
        if !want.rules.iter().any(|r| r.id == *id) {
            out.push(drift(
                format!("ReplicationConfiguration.Rules[{id}]"),
                "-".into(),
                destination.clone(),
                false,
            ));
        }
    }
    out
}
