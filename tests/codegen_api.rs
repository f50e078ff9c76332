//! How synth uses the generated types: constructors with required properties,
//! struct update for optional ones, typed `Ref` / `Fn::GetAtt` through handles, and the
//! create-only registry the plan uses to flag replacements.

use serde_json::json;
use strata::cfn::gen::{self, ec2, elasticloadbalancingv2 as elbv2, route53};
use strata::cfn::{Intrinsic, Template, Value};

#[test]
fn a_small_network_serializes_to_the_template_cloudformation_expects() {
    let mut t = Template::new("network");
    let vpc = t.add(
        "Vpc",
        ec2::Vpc {
            cidr_block: Some("10.0.0.0/16".into()),
            enable_dns_hostnames: Some(true.into()),
            tags: Some(vec![ec2::vpc::Tag::new("web", "Name")]),
            ..Default::default()
        },
    );
    let az: Value<String> =
        Intrinsic::Select(0, Box::new(Intrinsic::GetAZs(String::new()).to_json())).into();
    let subnet = t.add(
        "SubnetA",
        ec2::Subnet {
            availability_zone: Some(az),
            cidr_block: Some("10.0.0.0/24".into()),
            ..ec2::Subnet::new(vpc.ref_())
        },
    );
    let sg = t.add(
        "AlbSg",
        ec2::SecurityGroup {
            vpc_id: Some(vpc.vpc_id()),
            ..ec2::SecurityGroup::new("load balancer")
        },
    );
    let alb = t.add(
        "Alb",
        elbv2::LoadBalancer {
            subnets: Some(vec![subnet.subnet_id()]),
            security_groups: Some(vec![sg.group_id()]),
            type_: Some(elbv2::load_balancer::LoadBalancerType::Application.into()),
            ..Default::default()
        },
    );
    t.add(
        "Alias",
        route53::RecordSet {
            hosted_zone_id: Some("Z0123456789".into()),
            // Constructor arguments follow the schema's `required` order.
            alias_target: Some(route53::record_set::AliasTarget::new(
                alb.canonical_hosted_zone_id(),
                alb.dns_name(),
            )),
            ..route53::RecordSet::new("A", "app.example.com.")
        },
    );

    let json: serde_json::Value = serde_json::from_str(&t.to_json_pretty()).unwrap();
    let r = &json["Resources"];
    assert_eq!(r["Vpc"]["Type"], "AWS::EC2::VPC");
    assert_eq!(
        r["Vpc"]["Properties"],
        json!({"CidrBlock": "10.0.0.0/16", "EnableDnsHostnames": true,
               "Tags": [{"Key": "Name", "Value": "web"}]})
    );
    assert_eq!(
        r["SubnetA"]["Properties"],
        json!({"AvailabilityZone": {"Fn::Select": ["0", {"Fn::GetAZs": ""}]},
               "CidrBlock": "10.0.0.0/24", "VpcId": {"Ref": "Vpc"}})
    );
    assert_eq!(
        r["AlbSg"]["Properties"]["VpcId"],
        json!({"Fn::GetAtt": ["Vpc", "VpcId"]})
    );
    assert_eq!(
        r["Alb"]["Properties"],
        json!({"SecurityGroups": [{"Fn::GetAtt": ["AlbSg", "GroupId"]}],
               "Subnets": [{"Fn::GetAtt": ["SubnetA", "SubnetId"]}],
               "Type": "application"})
    );
    assert_eq!(
        r["Alias"]["Properties"]["AliasTarget"],
        json!({"DNSName": {"Fn::GetAtt": ["Alb", "DNSName"]},
               "HostedZoneId": {"Fn::GetAtt": ["Alb", "CanonicalHostedZoneID"]}})
    );
}

#[test]
fn create_only_properties_are_carried_for_the_plan() {
    assert!(gen::create_only("AWS::EC2::VPC").contains(&"/properties/CidrBlock"));
    assert!(gen::create_only("AWS::EC2::Subnet").contains(&"/properties/AvailabilityZone"));
    assert!(gen::create_only("AWS::DynamoDB::Table").contains(&"/properties/TableName"));
    assert!(gen::create_only("AWS::CloudFront::Distribution").is_empty());
    assert!(gen::create_only("AWS::Lambda::Function").is_empty());
    let mut t = Template::new("x");
    t.add("Vpc", ec2::Vpc::default());
    assert_eq!(
        t.resources["Vpc"].create_only,
        gen::create_only("AWS::EC2::VPC")
    );
}

#[test]
fn every_listed_type_is_generated() {
    // Every type of the vendored schemas' manifest, and no other.
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/MANIFEST.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let mut vendored: Vec<&str> = manifest["types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["type"].as_str().unwrap())
        .collect();
    vendored.sort();
    assert_eq!(gen::TYPES, vendored);
    assert!(gen::TYPES.len() >= 38);
    let mut sorted = gen::TYPES.to_vec();
    sorted.sort();
    assert_eq!(sorted, gen::TYPES);
    assert!(gen::TYPES.contains(&"AWS::Route53::HealthCheck"));
}
