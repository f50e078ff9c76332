//! The parts of two guard rules that join resources, which the guard language cannot
//! express: `nat_route_same_az` (route table -> NAT gateway -> its subnet's AZ versus
//! the AZs of the subnets associated with the route table) and `sg_no_world_ingress`
//! (a group open to the internet must be a load balancer's).

use super::view::{resource, resources_of, subnet_az, target};
use serde_json::Value as Json;
use std::collections::BTreeSet;

/// A violation found by a join: (logical id, message).
pub type JoinFinding = (String, String);

/// Every private route table's default route goes to a NAT gateway in the same AZ
/// as each subnet associated with that route table.
pub fn nat_routes_stay_in_az(template: &Json) -> Vec<JoinFinding> {
    let mut out = Vec::new();
    for (route_id, route) in resources_of(template, "AWS::EC2::Route") {
        let Some(nat_ref) = route.get("NatGatewayId") else {
            continue;
        };
        // Routes that do not name their NAT or table by Ref are the guard part's to report.
        let (Some(nat_id), Some(table_id)) =
            (target(nat_ref), route.get("RouteTableId").and_then(target))
        else {
            continue;
        };
        let Some(nat) = resource(template, nat_id, "AWS::EC2::NatGateway") else {
            out.push((
                route_id.to_string(),
                format!(
                    "NAT route points at {nat_id}, which is not a NAT gateway of this template"
                ),
            ));
            continue;
        };
        let Some(nat_az) = nat
            .get("SubnetId")
            .and_then(target)
            .and_then(|s| subnet_az(template, s))
        else {
            continue; // reported by the guard part
        };
        let mut wrong: BTreeSet<String> = BTreeSet::new();
        for (_, assoc) in resources_of(template, "AWS::EC2::SubnetRouteTableAssociation") {
            if assoc.get("RouteTableId").and_then(target) != Some(table_id) {
                continue;
            }
            let Some(subnet_id) = assoc.get("SubnetId").and_then(target) else {
                continue;
            };
            match subnet_az(template, subnet_id) {
                Some(az) if az == nat_az => {}
                Some(az) => {
                    wrong.insert(format!("{subnet_id} ({az})"));
                }
                None => {
                    wrong.insert(format!("{subnet_id} (no AvailabilityZone)"));
                }
            }
        }
        if !wrong.is_empty() {
            out.push((
                route_id.to_string(),
                format!(
                    "route table {table_id} sends 0.0.0.0/0 to NAT gateway {nat_id} in {nat_az}, \
                     but serves subnets in another AZ: {}",
                    wrong.into_iter().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
    }
    out
}

/// Every security group with an ingress open to 0.0.0.0/0 or ::/0 is listed in a
/// load balancer's SecurityGroups.
pub fn world_ingress_only_on_load_balancers(template: &Json) -> Vec<JoinFinding> {
    let lb_groups: BTreeSet<&str> =
        resources_of(template, "AWS::ElasticLoadBalancingV2::LoadBalancer")
            .flat_map(|(_, lb)| {
                lb.get("SecurityGroups")
                    .and_then(Json::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(target)
            })
            .collect();
    let mut out = Vec::new();
    for (sg_id, sg) in resources_of(template, "AWS::EC2::SecurityGroup") {
        let open = sg
            .get("SecurityGroupIngress")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .any(is_world);
        if open && !lb_groups.contains(sg_id) {
            out.push((
                sg_id.to_string(),
                "security group is open to the internet (0.0.0.0/0 or ::/0) but is not a load \
                 balancer's"
                    .to_string(),
            ));
        }
    }
    out
}

fn is_world(ingress: &Json) -> bool {
    ingress.get("CidrIp").and_then(Json::as_str) == Some("0.0.0.0/0")
        || ingress.get("CidrIpv6").and_then(Json::as_str) == Some("::/0")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn two_az_network(private_b_table: &str) -> Json {
        json!({"Resources": {
            "PublicA": {"Type": "AWS::EC2::Subnet", "Properties": {"AvailabilityZone": "eu-west-1a"}},
            "PublicB": {"Type": "AWS::EC2::Subnet", "Properties": {"AvailabilityZone": "eu-west-1b"}},
            "PrivateA": {"Type": "AWS::EC2::Subnet", "Properties": {"AvailabilityZone": "eu-west-1a"}},
            "PrivateB": {"Type": "AWS::EC2::Subnet", "Properties": {"AvailabilityZone": "eu-west-1b"}},
            "NatA": {"Type": "AWS::EC2::NatGateway", "Properties": {"SubnetId": {"Ref": "PublicA"}}},
            "NatB": {"Type": "AWS::EC2::NatGateway", "Properties": {"SubnetId": {"Ref": "PublicB"}}},
            "TableA": {"Type": "AWS::EC2::RouteTable"},
            "TableB": {"Type": "AWS::EC2::RouteTable"},
            "RouteA": {"Type": "AWS::EC2::Route", "Properties": {"RouteTableId": {"Ref": "TableA"}, "DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": {"Ref": "NatA"}}},
            "RouteB": {"Type": "AWS::EC2::Route", "Properties": {"RouteTableId": {"Ref": "TableB"}, "DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": {"Ref": "NatB"}}},
            "AssocA": {"Type": "AWS::EC2::SubnetRouteTableAssociation", "Properties": {"SubnetId": {"Ref": "PrivateA"}, "RouteTableId": {"Ref": "TableA"}}},
            "AssocB": {"Type": "AWS::EC2::SubnetRouteTableAssociation", "Properties": {"SubnetId": {"Ref": "PrivateB"}, "RouteTableId": {"Ref": private_b_table}}}
        }})
    }

    #[test]
    fn nat_per_az_routing_passes() {
        assert_eq!(nat_routes_stay_in_az(&two_az_network("TableB")), vec![]);
    }

    #[test]
    fn subnet_of_zone_b_routed_through_zone_a_nat_is_reported() {
        let found = nat_routes_stay_in_az(&two_az_network("TableA"));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, "RouteA");
        assert!(
            found[0].1.contains("PrivateB (eu-west-1b)"),
            "{}",
            found[0].1
        );
    }

    #[test]
    fn world_open_group_not_on_a_load_balancer_is_reported() {
        let t = json!({"Resources": {
            "Lb": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer", "Properties": {"SecurityGroups": [{"Fn::GetAtt": ["LbSg", "GroupId"]}]}},
            "LbSg": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"SecurityGroupIngress": [{"CidrIp": "0.0.0.0/0", "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443}]}},
            "AppSg": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"SecurityGroupIngress": [{"CidrIpv6": "::/0", "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443}]}}
        }});
        let found = world_ingress_only_on_load_balancers(&t);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, "AppSg");
    }
}
