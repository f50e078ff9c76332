//! Regional reads and writes DR needs besides CloudFormation: an Auto Scaling
//! group's limits (and setting them), and load balancers found by DNS name (their
//! healthy targets, and deleting one to break a region in a drill), and the
//! drill faults' `Fleet` / `Zones` (instances, the group's subnets, a zone's NAT route).

use super::{Aws, CallError};

/// An Auto Scaling group's size limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct AsgLimits {
    pub min: u32,
    pub desired: u32,
    pub max: u32,
}

/// DescribeAutoScalingGroups for one group; `None` when it does not exist.
pub async fn asg_limits(
    aws: &Aws,
    region: &str,
    name: &str,
) -> Result<Option<AsgLimits>, CallError> {
    use super::asg_group::count;
    Ok(super::asg_group::group(aws, region, name)
        .await?
        .map(|g| AsgLimits {
            min: count(g.min_size()),
            desired: count(g.desired_capacity()),
            max: count(g.max_size()),
        }))
}

/// UpdateAutoScalingGroup: set min, desired and max.
pub async fn set_asg_limits(
    aws: &Aws,
    region: &str,
    name: &str,
    limits: AsgLimits,
) -> Result<(), CallError> {
    aws.autoscaling(region)
        .update_auto_scaling_group()
        .auto_scaling_group_name(name)
        .min_size(limits.min as i32)
        .desired_capacity(limits.desired as i32)
        .max_size(limits.max as i32)
        .send()
        .await
        .map_err(|e| CallError::from_sdk("autoscaling", "UpdateAutoScalingGroup", region, e))?;
    Ok(())
}

/// A load balancer and how many of its targets are healthy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadBalancerView {
    pub arn: String,
    pub dns_name: String,
    /// The hosted zone id alias records use for it.
    pub canonical_zone_id: String,
    pub healthy_targets: u32,
}

/// The load balancer whose DNS name (case-insensitive) or ARN is `dns_name`, with
/// the healthy targets of all its target groups; `None` when no such load balancer exists.
pub async fn load_balancer_by_dns(
    aws: &Aws,
    region: &str,
    dns_name: &str,
) -> Result<Option<LoadBalancerView>, CallError> {
    let client = aws.elbv2(region);
    let want = dns_name.trim_end_matches('.').to_ascii_lowercase();
    let mut marker: Option<String> = None;
    loop {
        let out = client
            .describe_load_balancers()
            .set_marker(marker.clone())
            .send()
            .await
            .map_err(|e| CallError::from_sdk("elbv2", "DescribeLoadBalancers", region, e))?;
        for lb in out.load_balancers() {
            let by_dns =
                lb.dns_name().map(str::to_ascii_lowercase).as_deref() == Some(want.as_str());
            if !by_dns && lb.load_balancer_arn() != Some(dns_name) {
                continue;
            }
            let arn = lb.load_balancer_arn().unwrap_or_default().to_string();
            let groups = client
                .describe_target_groups()
                .load_balancer_arn(&arn)
                .send()
                .await
                .map_err(|e| CallError::from_sdk("elbv2", "DescribeTargetGroups", region, e))?;
            let mut healthy = 0;
            for tg in groups.target_groups() {
                let Some(tg_arn) = tg.target_group_arn() else {
                    continue;
                };
                let counts = super::health_reads::target_health(aws, region, tg_arn).await?;
                healthy += counts.healthy;
            }
            return Ok(Some(LoadBalancerView {
                arn,
                dns_name: lb.dns_name().unwrap_or_default().to_ascii_lowercase(),
                canonical_zone_id: lb
                    .canonical_hosted_zone_id()
                    .unwrap_or_default()
                    .to_string(),
                healthy_targets: healthy,
            }));
        }
        match out.next_marker() {
            Some(m) if !m.is_empty() => marker = Some(m.to_string()),
            _ => return Ok(None),
        }
    }
}

/// DeleteLoadBalancer.
pub async fn delete_load_balancer(aws: &Aws, region: &str, arn: &str) -> Result<(), CallError> {
    aws.elbv2(region)
        .delete_load_balancer()
        .load_balancer_arn(arn)
        .send()
        .await
        .map_err(|e| CallError::from_sdk("elbv2", "DeleteLoadBalancer", region, e))?;
    Ok(())
}

/// GetCallerIdentity: the account the credentials belong to.
pub async fn caller_account(aws: &Aws) -> Result<String, CallError> {
    let out = aws
        .sts("us-east-1")
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| CallError::from_sdk("sts", "GetCallerIdentity", "us-east-1", e))?;
    Ok(out.account().unwrap_or_default().to_string())
}

/// `dr::fault::Fleet` against Auto Scaling and EC2, with the region's health gate
/// read as the deploy reads it (`deploy::gate_signals`, `deploy::gate_readings`).
pub struct AwsFleet<'a> {
    aws: &'a Aws,
    cloud: &'a super::cloud::CloudApi,
    /// The region stack of each region.
    stacks: std::collections::BTreeMap<String, String>,
}

impl<'a> AwsFleet<'a> {
    pub fn new(
        aws: &'a Aws,
        cloud: &'a super::cloud::CloudApi,
        stacks: std::collections::BTreeMap<String, String>,
    ) -> Self {
        AwsFleet { aws, cloud, stacks }
    }
}

impl crate::dr::fault::Fleet for AwsFleet<'_> {
    async fn group(
        &self,
        region: &str,
        asg: &str,
    ) -> Result<Option<crate::dr::fault::Group>, CallError> {
        Ok(super::asg_group::group(self.aws, region, asg)
            .await?
            .map(|g| crate::dr::fault::Group {
                desired: super::asg_group::count(g.desired_capacity()),
                subnets: g
                    .vpc_zone_identifier()
                    .unwrap_or_default()
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
                instances: g
                    .instances()
                    .iter()
                    .map(|i| crate::dr::fault::GroupInstance {
                        id: i.instance_id().unwrap_or_default().to_string(),
                        availability_zone: i.availability_zone().unwrap_or_default().to_string(),
                        lifecycle: i
                            .lifecycle_state()
                            .map(|s| s.as_str().to_string())
                            .unwrap_or_default(),
                        health: i.health_status().unwrap_or_default().to_string(),
                    })
                    .collect(),
            }))
    }

    /// TerminateInstances
    /// (<https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_TerminateInstances.html>):
    /// EC2 shuts the instance down; Auto Scaling learns it from EC2's health
    /// status and replaces it
    /// (<https://docs.aws.amazon.com/autoscaling/ec2/userguide/healthcheck.html>).
    async fn terminate(&self, region: &str, instance_ids: &[String]) -> Result<(), CallError> {
        self.aws
            .ec2(region)
            .terminate_instances()
            .set_instance_ids(Some(instance_ids.to_vec()))
            .send()
            .await
            .map_err(|e| CallError::from_sdk("ec2", "TerminateInstances", region, e))?;
        Ok(())
    }

    /// DescribeInstances; a terminated instance stays listed for about an hour.
    async fn instance_state(
        &self,
        region: &str,
        instance_id: &str,
    ) -> Result<Option<String>, CallError> {
        let out = self
            .aws
            .ec2(region)
            .describe_instances()
            .instance_ids(instance_id)
            .send()
            .await
            .map_err(|e| CallError::from_sdk("ec2", "DescribeInstances", region, e))?;
        Ok(out
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .find(|i| i.instance_id() == Some(instance_id))
            .and_then(|i| i.state())
            .and_then(|s| s.name())
            .map(|n| n.as_str().to_string()))
    }

    async fn gate(&self, region: &str) -> Result<Vec<crate::deploy::Reading>, crate::dr::DrError> {
        let stack = self.stacks.get(region).cloned().unwrap_or_default();
        let step = |e: crate::deploy::DeployError| crate::dr::DrError::Step {
            step: "reading the health gate",
            region: region.to_string(),
            message: e.to_string(),
        };
        let signals = crate::deploy::gate_signals(self.cloud, region, &stack)
            .await
            .map_err(step)?;
        crate::deploy::gate_readings(self.cloud, region, &signals)
            .await
            .map_err(step)
    }
}

/// The AZ drill's network calls (`dr::fault::az::Zones`).
impl crate::dr::fault::az::Zones for AwsFleet<'_> {
    /// DescribeSubnets
    /// (<https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeSubnets.html>).
    async fn subnet_zones(
        &self,
        region: &str,
        subnets: &[String],
    ) -> Result<std::collections::BTreeMap<String, String>, CallError> {
        if subnets.is_empty() {
            return Ok(Default::default());
        }
        let out = self
            .aws
            .ec2(region)
            .describe_subnets()
            .filters(super::drift_reads::filter("subnet-id", subnets))
            .send()
            .await
            .map_err(|e| CallError::from_sdk("ec2", "DescribeSubnets", region, e))?;
        Ok(out
            .subnets()
            .iter()
            .filter_map(|s| {
                Some((
                    s.subnet_id()?.to_string(),
                    s.availability_zone()?.to_string(),
                ))
            })
            .collect())
    }

    /// UpdateAutoScalingGroup of `VPCZoneIdentifier` only: "The new settings take
    /// effect on any scaling activities after this call returns"
    /// (<https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_UpdateAutoScalingGroup.html>),
    /// so the replacements launch in the remaining subnets.
    async fn set_subnets(
        &self,
        region: &str,
        asg: &str,
        subnets: &[String],
    ) -> Result<(), CallError> {
        self.aws
            .autoscaling(region)
            .update_auto_scaling_group()
            .auto_scaling_group_name(asg)
            .vpc_zone_identifier(subnets.join(","))
            .send()
            .await
            .map_err(|e| CallError::from_sdk("autoscaling", "UpdateAutoScalingGroup", region, e))?;
        Ok(())
    }

    /// DescribeRouteTables with the `association.subnet-id` filter
    /// (<https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeRouteTables.html>).
    async fn zone_route(
        &self,
        region: &str,
        subnet: &str,
    ) -> Result<Option<crate::dr::fault::az::ZoneRoute>, CallError> {
        let out = self
            .aws
            .ec2(region)
            .describe_route_tables()
            .filters(super::drift_reads::filter(
                "association.subnet-id",
                &[subnet.to_string()],
            ))
            .send()
            .await
            .map_err(|e| CallError::from_sdk("ec2", "DescribeRouteTables", region, e))?;
        Ok(out
            .route_tables()
            .first()
            .map(|t| crate::dr::fault::az::ZoneRoute {
                route_table_id: t.route_table_id().unwrap_or_default().to_string(),
                nat_gateway_id: t
                    .routes()
                    .iter()
                    .find(|r| {
                        r.destination_cidr_block() == Some(crate::dr::fault::az::DEFAULT_ROUTE)
                    })
                    .and_then(|r| r.nat_gateway_id())
                    .map(str::to_string),
            }))
    }

    /// DeleteRoute
    /// (<https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteRoute.html>);
    /// `InvalidRoute.NotFound` (gone already, a retried call) is done.
    async fn delete_default_route(
        &self,
        region: &str,
        route_table_id: &str,
    ) -> Result<(), CallError> {
        let res = self
            .aws
            .ec2(region)
            .delete_route()
            .route_table_id(route_table_id)
            .destination_cidr_block(crate::dr::fault::az::DEFAULT_ROUTE)
            .send()
            .await
            .map_err(|e| CallError::from_sdk("ec2", "DeleteRoute", region, e));
        match res {
            Err(e) if e.code == "InvalidRoute.NotFound" => Ok(()),
            other => other.map(|_| ()),
        }
    }

    /// CreateRoute through the NAT gateway, ReplaceRoute when there is one.
    async fn put_default_route(
        &self,
        region: &str,
        route_table_id: &str,
        nat_gateway_id: &str,
    ) -> Result<(), CallError> {
        super::drift_reads::put_route(
            self.aws,
            region,
            route_table_id,
            crate::dr::fault::az::DEFAULT_ROUTE,
            crate::drift::RouteVia::NatGateway,
            nat_gateway_id,
            false,
        )
        .await
    }
}
