//! `drift::DriftPort` against CloudFormation, Auto Scaling and EC2: the template
//! CloudFormation last applied (GetTemplate, stage Original), the stack's
//! parameters (DescribeStacks) and physical ids (DescribeStackResources); the live
//! limits (DescribeAutoScalingGroups) and rules (DescribeSecurityGroups); the
//! put-back through UpdateAutoScalingGroup
//! (<https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_UpdateAutoScalingGroup.html>)
//! and Revoke/AuthorizeSecurityGroupIngress/Egress
//! (<https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_RevokeSecurityGroupIngress.html>,
//! <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_AuthorizeSecurityGroupIngress.html>);
//! the routes (DescribeRouteTables,
//! <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeRouteTables.html>),
//! put back through CreateRoute / ReplaceRoute
//! (<https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateRoute.html>,
//! <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ReplaceRoute.html>);
//! the metric alarms (DescribeAlarms by name,
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarms.html>),
//! put back through PutMetricAlarm of the whole live alarm with the template's
//! settings ("When you update an existing alarm, its state is left unchanged, but
//! the update completely overwrites the previous configuration of the alarm",
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html>);
//! the parameters (GetParameters, ten names a call, unknown names in
//! `InvalidParameters`,
//! <https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetParameters.html>),
//! the record sets of a name (ListResourceRecordSets, `route53_records`), a
//! record's health check put back through an UPSERT of the live record
//! (<https://docs.aws.amazon.com/Route53/latest/APIReference/API_ChangeResourceRecordSets.html>);
//! a bucket's replication (GetBucketReplication,
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketReplication.html>),
//! put back through PutBucketReplication of the live configuration with the
//! template's role and destinations ("Creates a replication configuration or
//! replaces an existing one",
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketReplication.html>);
//! parameters put back through PutParameter with `Overwrite`
//! (<https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_PutParameter.html>).

use super::{alarms, stack_info, Aws, CallError};
use crate::drift::compare::{rule, DeployedStack};
use crate::drift::{
    AlarmPatch, AlarmSettings, AsgLimits, Direction, DriftPort, GroupRules, LiveRecord,
    LiveReplication, LiveRoute, ParameterValue, Peer, ReplicationPatch, RouteVia, Rule,
};
use aws_sdk_ec2::types::{IpPermission, IpRange, Ipv6Range, PrefixListId, UserIdGroupPair};
use std::collections::BTreeMap;

pub struct AwsDrift<'a> {
    aws: &'a Aws,
}

impl<'a> AwsDrift<'a> {
    pub fn new(aws: &'a Aws) -> Self {
        AwsDrift { aws }
    }
}

/// An EC2 filter: `name` is any of `values`. Describing by filter rather than by
/// ids, a resource that no longer exists is just absent, where naming it fails
/// the whole call (`InvalidGroup.NotFound`, `InvalidRouteTableID.NotFound`).
pub(super) fn filter(name: &str, values: &[String]) -> aws_sdk_ec2::types::Filter {
    aws_sdk_ec2::types::Filter::builder()
        .name(name)
        .set_values(Some(values.to_vec()))
        .build()
}

/// CreateRoute (or, with `replace`, ReplaceRoute) of `destination` through
/// `target`; a route that is there already is replaced (a retried call whose
/// answer was lost, or made since the read): idempotent. Drift's put-back and the
/// AZ drill's put-back both call it.
pub(super) async fn put_route(
    aws: &Aws,
    region: &str,
    table_id: &str,
    destination: &str,
    via: RouteVia,
    target: &str,
    replace: bool,
) -> Result<(), CallError> {
    let ec2 = aws.ec2(region);
    let (nat, gateway) = match via {
        RouteVia::NatGateway => (Some(target.to_string()), None),
        RouteVia::Gateway => (None, Some(target.to_string())),
    };
    let replace_route = || async {
        ec2.replace_route()
            .route_table_id(table_id)
            .destination_cidr_block(destination)
            .set_nat_gateway_id(nat.clone())
            .set_gateway_id(gateway.clone())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| CallError::from_sdk("ec2", "ReplaceRoute", region, e))
    };
    if replace {
        return replace_route().await;
    }
    let created = ec2
        .create_route()
        .route_table_id(table_id)
        .destination_cidr_block(destination)
        .set_nat_gateway_id(nat.clone())
        .set_gateway_id(gateway.clone())
        .send()
        .await
        .map(|_| ())
        .map_err(|e| CallError::from_sdk("ec2", "CreateRoute", region, e));
    match created {
        Err(e) if e.code == "RouteAlreadyExists" => replace_route().await,
        other => other,
    }
}

/// One rule per peer of an EC2 permission.
fn rules_of(p: &IpPermission) -> Vec<Rule> {
    let proto = p.ip_protocol().unwrap_or("-1");
    let (from, to) = (p.from_port(), p.to_port());
    let mut out = Vec::new();
    let mut add = |peer| out.push(rule(proto, from, to, peer));
    for r in p.ip_ranges() {
        if let Some(c) = r.cidr_ip() {
            add(Peer::Cidr(c.to_string()));
        }
    }
    for r in p.ipv6_ranges() {
        if let Some(c) = r.cidr_ipv6() {
            add(Peer::CidrV6(c.to_string()));
        }
    }
    for r in p.prefix_list_ids() {
        if let Some(c) = r.prefix_list_id() {
            add(Peer::PrefixList(c.to_string()));
        }
    }
    for r in p.user_id_group_pairs() {
        if let Some(c) = r.group_id() {
            add(Peer::Group(c.to_string()));
        }
    }
    out
}

/// The permission that names exactly one rule.
fn permission(r: &Rule, description: Option<&str>) -> IpPermission {
    let mut p = IpPermission::builder().ip_protocol(&r.protocol);
    if r.protocol != "-1" {
        p = p.set_from_port(r.from_port).set_to_port(r.to_port);
    }
    let d = description.map(str::to_string);
    match &r.peer {
        Peer::Cidr(c) => p.ip_ranges(IpRange::builder().cidr_ip(c).set_description(d).build()),
        Peer::CidrV6(c) => {
            p.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(c).set_description(d).build())
        }
        Peer::PrefixList(c) => p.prefix_list_ids(
            PrefixListId::builder()
                .prefix_list_id(c)
                .set_description(d)
                .build(),
        ),
        Peer::Group(c) => p.user_id_group_pairs(
            UserIdGroupPair::builder()
                .group_id(c)
                .set_description(d)
                .build(),
        ),
    }
    .build()
}

impl DriftPort for AwsDrift<'_> {
    async fn deployed(
        &self,
        region: &str,
        stack: &str,
    ) -> Result<Option<DeployedStack>, CallError> {
        let Some(info) = stack_info::describe_stack(self.aws, region, stack).await? else {
            return Ok(None);
        };
        let (template, resources) = futures::future::join(
            stack_info::original_template(self.aws, region, stack),
            stack_info::resources(self.aws, region, stack),
        )
        .await;
        let resources = resources?;
        Ok(Some(DeployedStack {
            template_body: template?,
            stack_id: resources
                .iter()
                .find_map(|r| r.stack_id())
                .unwrap_or_default()
                .to_string(),
            parameters: info.parameters,
            physical_ids: resources
                .iter()
                .filter_map(|r| {
                    Some((
                        r.logical_resource_id()?.to_string(),
                        r.physical_resource_id()?.to_string(),
                    ))
                })
                .collect(),
        }))
    }

    async fn calculated_check(&self, id: &str) -> Result<Option<(i32, usize)>, CallError> {
        Ok(super::route53_records::health_check(self.aws, id)
            .await?
            .filter(|h| h.check_type == "CALCULATED")
            .map(|h| (h.health_threshold.unwrap_or(0), h.children.len())))
    }

    async fn asg_limits(&self, region: &str, name: &str) -> Result<Option<AsgLimits>, CallError> {
        Ok(super::asg_group::group(self.aws, region, name)
            .await?
            .map(|g| AsgLimits {
                min: g.min_size().unwrap_or_default(),
                max: g.max_size().unwrap_or_default(),
                desired: g.desired_capacity().unwrap_or_default(),
            }))
    }

    async fn group_rules(
        &self,
        region: &str,
        group_ids: &[String],
    ) -> Result<BTreeMap<String, GroupRules>, CallError> {
        // By filter, not GroupIds: one missing group does not fail the others
        // (InvalidGroup.NotFound), it is just absent.
        let out = self
            .aws
            .ec2(region)
            .describe_security_groups()
            .filters(filter("group-id", group_ids))
            .send()
            .await
            .map_err(|e| CallError::from_sdk("ec2", "DescribeSecurityGroups", region, e))?;
        Ok(out
            .security_groups()
            .iter()
            .filter_map(|g| {
                Some((
                    g.group_id()?.to_string(),
                    GroupRules {
                        ingress: g.ip_permissions().iter().flat_map(rules_of).collect(),
                        egress: g
                            .ip_permissions_egress()
                            .iter()
                            .flat_map(rules_of)
                            .collect(),
                    },
                ))
            })
            .collect())
    }

    async fn update_asg(
        &self,
        region: &str,
        name: &str,
        min: Option<i32>,
        max: Option<i32>,
        desired: Option<i32>,
    ) -> Result<(), CallError> {
        self.aws
            .autoscaling(region)
            .update_auto_scaling_group()
            .auto_scaling_group_name(name)
            .set_min_size(min)
            .set_max_size(max)
            .set_desired_capacity(desired)
            .send()
            .await
            .map_err(|e| CallError::from_sdk("autoscaling", "UpdateAutoScalingGroup", region, e))?;
        Ok(())
    }

    async fn revoke(
        &self,
        region: &str,
        group_id: &str,
        direction: Direction,
        rule: &Rule,
    ) -> Result<(), CallError> {
        let ec2 = self.aws.ec2(region);
        let p = permission(rule, None);
        let res = match direction {
            Direction::Ingress => ec2
                .revoke_security_group_ingress()
                .group_id(group_id)
                .ip_permissions(p)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| CallError::from_sdk("ec2", "RevokeSecurityGroupIngress", region, e)),
            Direction::Egress => ec2
                .revoke_security_group_egress()
                .group_id(group_id)
                .ip_permissions(p)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| CallError::from_sdk("ec2", "RevokeSecurityGroupEgress", region, e)),
        };
        match res {
            // Already gone (a retried call whose answer was lost): done.
            Err(e) if e.code == "InvalidPermission.NotFound" => Ok(()),
            other => other,
        }
    }

    async fn authorize(
        &self,
        region: &str,
        group_id: &str,
        direction: Direction,
        rule: &Rule,
        description: Option<&str>,
    ) -> Result<(), CallError> {
        let ec2 = self.aws.ec2(region);
        let p = permission(rule, description);
        let res = match direction {
            Direction::Ingress => ec2
                .authorize_security_group_ingress()
                .group_id(group_id)
                .ip_permissions(p)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| {
                    CallError::from_sdk("ec2", "AuthorizeSecurityGroupIngress", region, e)
                }),
            Direction::Egress => ec2
                .authorize_security_group_egress()
                .group_id(group_id)
                .ip_permissions(p)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| CallError::from_sdk("ec2", "AuthorizeSecurityGroupEgress", region, e)),
        };
        match res {
            // Already there (a retried call whose answer was lost): done.
            Err(e) if e.code == "InvalidPermission.Duplicate" => Ok(()),
            other => other,
        }
    }

    async fn route_tables(
        &self,
        region: &str,
        table_ids: &[String],
    ) -> Result<BTreeMap<String, Vec<LiveRoute>>, CallError> {
        // By filter, not RouteTableIds: a deleted table is absent, not an error
        // (InvalidRouteTableID.NotFound) that hides the others.
        let mut out = BTreeMap::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .aws
                .ec2(region)
                .describe_route_tables()
                .filters(filter("route-table-id", table_ids))
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| CallError::from_sdk("ec2", "DescribeRouteTables", region, e))?;
            for t in page.route_tables() {
                let Some(id) = t.route_table_id() else {
                    continue;
                };
                let routes = t
                    .routes()
                    .iter()
                    .filter_map(|r| {
                        Some(LiveRoute {
                            destination: r.destination_cidr_block()?.to_string(),
                            target: r.nat_gateway_id().or(r.gateway_id()).map(str::to_string),
                            state: r
                                .state()
                                .map(|s| s.as_str().to_string())
                                .unwrap_or_else(|| "active".into()),
                        })
                    })
                    .collect();
                out.insert(id.to_string(), routes);
            }
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    async fn alarms(
        &self,
        region: &str,
        names: &[String],
    ) -> Result<BTreeMap<String, AlarmSettings>, CallError> {
        Ok(
            alarms::metric_alarms(self.aws, region, alarms::Select::Names(names))
                .await?
                .iter()
                .filter_map(|a| {
                    Some((
                        a.alarm_name()?.to_string(),
                        AlarmSettings {
                            threshold: a.threshold(),
                            comparison_operator: a
                                .comparison_operator()
                                .map(|c| c.as_str().to_string())
                                .unwrap_or_default(),
                            evaluation_periods: a.evaluation_periods().unwrap_or_default(),
                            alarm_actions: a.alarm_actions().to_vec(),
                            ok_actions: a.ok_actions().to_vec(),
                        },
                    ))
                })
                .collect(),
        )
    }

    async fn put_route(
        &self,
        region: &str,
        table_id: &str,
        destination: &str,
        via: RouteVia,
        target: &str,
        replace: bool,
    ) -> Result<(), CallError> {
        put_route(
            self.aws,
            region,
            table_id,
            destination,
            via,
            target,
            replace,
        )
        .await
    }

    async fn patch_alarm(
        &self,
        region: &str,
        name: &str,
        patch: &AlarmPatch,
    ) -> Result<(), CallError> {
        let names = [name.to_string()];
        let live = alarms::metric_alarms(self.aws, region, alarms::Select::Names(&names)).await?;
        let Some(a) = live.first() else {
            return Err(CallError {
                service: "cloudwatch",
                operation: "DescribeAlarms",
                region: region.to_string(),
                code: "ResourceNotFound".into(),
                message: format!("alarm {name} does not exist"),
            });
        };
        alarms::put_metric_alarm(self.aws, region, a, patch).await
    }

    async fn parameters(
        &self,
        region: &str,
        names: &[String],
    ) -> Result<BTreeMap<String, ParameterValue>, CallError> {
        let ssm = self.aws.ssm(region);
        let mut out = BTreeMap::new();
        // GetParameters takes at most ten names.
        for chunk in names.chunks(10) {
            let page = ssm
                .get_parameters()
                .set_names(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| CallError::from_sdk("ssm", "GetParameters", region, e))?;
            for p in page.parameters() {
                let Some(name) = p.name() else { continue };
                out.insert(
                    name.to_string(),
                    ParameterValue {
                        param_type: p
                            .r#type()
                            .map(|t| t.as_str().to_string())
                            .unwrap_or_default(),
                        value: p.value().unwrap_or_default().to_string(),
                    },
                );
            }
        }
        Ok(out)
    }

    async fn put_parameter(
        &self,
        region: &str,
        name: &str,
        value: &str,
        param_type: &str,
    ) -> Result<(), CallError> {
        self.aws
            .ssm(region)
            .put_parameter()
            .name(name)
            .value(value)
            .r#type(aws_sdk_ssm::types::ParameterType::from(param_type))
            .overwrite(true)
            .send()
            .await
            .map_err(|e| CallError::from_sdk("ssm", "PutParameter", region, e))?;
        Ok(())
    }

    async fn records(&self, zone_id: &str, name: &str) -> Result<Vec<LiveRecord>, CallError> {
        Ok(super::route53_records::record_sets(self.aws, zone_id, name)
            .await?
            .into_iter()
            .map(|r| LiveRecord {
                record_type: r.record_type,
                set_identifier: r.set_identifier,
                health_check_id: r.health_check_id,
            })
            .collect())
    }

    async fn set_record_health_check(
        &self,
        zone_id: &str,
        name: &str,
        record_type: &str,
        set_identifier: Option<&str>,
        health_check_id: Option<&str>,
    ) -> Result<(), CallError> {
        super::route53_records::set_health_check(
            self.aws,
            zone_id,
            name,
            record_type,
            set_identifier,
            health_check_id,
        )
        .await
    }

    async fn replication(
        &self,
        region: &str,
        bucket: &str,
    ) -> Result<Option<LiveReplication>, CallError> {
        Ok(
            super::health_reads::replication_configuration(self.aws, region, bucket)
                .await?
                .map(|c| LiveReplication {
                    role: c.role().to_string(),
                    rules: c
                        .rules()
                        .iter()
                        .map(|r| {
                            (
                                r.id().unwrap_or_default().to_string(),
                                r.destination()
                                    .map(|d| d.bucket().to_string())
                                    .unwrap_or_default(),
                                r.status().as_str().to_string(),
                            )
                        })
                        .collect(),
                }),
        )
    }

    async fn patch_replication(
        &self,
        region: &str,
        bucket: &str,
        patch: &ReplicationPatch,
    ) -> Result<(), CallError> {
        let Some(mut config) =
            super::health_reads::replication_configuration(self.aws, region, bucket).await?
        else {
            return Err(CallError {
                service: "s3",
                operation: "GetBucketReplication",
                region: region.to_string(),
                code: "ReplicationConfigurationNotFoundError".into(),
                message: format!("{bucket} has no replication configuration"),
            });
        };
        config.role = patch.role.clone();
        for rule in config.rules.iter_mut() {
            let Some((_, destination, status)) = patch
                .rules
                .iter()
                .find(|(id, _, _)| rule.id.as_deref() == Some(id.as_str()))
            else {
                continue;
            };
            rule.status = aws_sdk_s3::types::ReplicationRuleStatus::from(status.as_str());
            if let Some(d) = rule.destination.as_mut() {
                d.bucket = destination.clone();
            }
        }
        self.aws
            .s3(region)
            .put_bucket_replication()
            .bucket(bucket)
            .replication_configuration(config)
            .send()
            .await
            .map_err(|e| CallError::from_sdk("s3", "PutBucketReplication", region, e))?;
        Ok(())
    }
}
