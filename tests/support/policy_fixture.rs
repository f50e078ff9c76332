//! Test support: the example stack's templates as JSON, shaped like synth's output
//! (same logical ids and properties), for the policy tests to mutate one field at a time.

use serde_json::{json, Value};
use strata::policy::TemplateJson;
use strata::stack::StackDef;

/// The example definition, `stacks/example.toml`, loaded and validated.
pub fn example() -> StackDef {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/stacks/example.toml");
    strata::stack::load(std::path::Path::new(path)).expect("the example loads")
}

/// Every template of a definition: one per region, the global one, the zone.
pub fn templates(def: &StackDef) -> Vec<TemplateJson> {
    let mut out: Vec<TemplateJson> = def
        .regions
        .iter()
        .enumerate()
        .map(|(i, r)| TemplateJson {
            name: r.name.clone(),
            region: Some(r.name.clone()),
            json: region_template(def, i),
        })
        .collect();
    out.push(TemplateJson {
        name: "global".into(),
        region: Some("us-east-1".into()),
        json: json!({"Resources": {
            "Distribution": {"Type": "AWS::CloudFront::Distribution", "Properties": {
                "DistributionConfig": {"Enabled": true, "PriceClass": def.edge.price_class,
                    "Aliases": [def.dns.domain],
                    "DefaultCacheBehavior": {"TargetOriginId": "regions",
                        "ViewerProtocolPolicy": "redirect-to-https"},
                    "Origins": [{"Id": "regions", "DomainName": def.dns.origin_name(),
                        "CustomOriginConfig": {"OriginProtocolPolicy": "https-only"}}],
                    "ViewerCertificate": {"AcmCertificateArn": {"Ref": "EdgeCertificate"},
                        "SslSupportMethod": "sni-only",
                        "MinimumProtocolVersion": "TLSv1.2_2021"}}}},
            "PublicAliasRecord": {"Type": "AWS::Route53::RecordSet", "Properties": {
                "Name": def.dns.domain, "Type": "A",
                "AliasTarget": {"DNSName": {"Fn::GetAtt": ["Distribution", "DomainName"]},
                                "HostedZoneId": "Z2FDTNDATAQYW2"}}}
        }}),
    });
    if def.dns.manage_zone {
        out.push(TemplateJson {
            name: "zone".into(),
            region: Some("us-east-1".into()),
            json: json!({"Resources": {"HostedZone": {"Type": "AWS::Route53::HostedZone",
                "Properties": {"Name": def.dns.hosted_zone}}}}),
        });
    }
    out
}

/// The template of `templates(def)` named `name`.
pub fn template<'a>(templates: &'a mut [TemplateJson], name: &str) -> &'a mut Value {
    &mut templates
        .iter_mut()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no template {name}"))
        .json
}

/// The properties of resource `id` in a template.
pub fn props<'a>(template: &'a mut Value, id: &str) -> &'a mut Value {
    template
        .pointer_mut(&format!("/Resources/{id}/Properties"))
        .unwrap_or_else(|| panic!("no resource {id}"))
}

fn region_template(def: &StackDef, index: usize) -> Value {
    let region = &def.regions[index];
    let capacity = def.capacity_of(region);
    let mut r = serde_json::Map::new();
    let mut add = |id: &str, kind: &str, properties: Value| {
        r.insert(id.into(), json!({"Type": kind, "Properties": properties}));
    };
    add("Vpc", "AWS::EC2::VPC", json!({"CidrBlock": region.cidr}));
    add("InternetGateway", "AWS::EC2::InternetGateway", json!({}));
    add(
        "PublicRouteTable",
        "AWS::EC2::RouteTable",
        json!({"VpcId": {"Ref": "Vpc"}}),
    );
    add(
        "PublicDefaultRoute",
        "AWS::EC2::Route",
        json!({
        "RouteTableId": {"Ref": "PublicRouteTable"}, "DestinationCidrBlock": "0.0.0.0/0",
        "GatewayId": {"Ref": "InternetGateway"}}),
    );
    let ids: Vec<String> = region
        .azs
        .iter()
        .map(|az| az[region.name.len()..].to_uppercase())
        .collect();
    for (az, id) in region.azs.iter().zip(&ids) {
        add(
            &format!("PublicSubnet{id}"),
            "AWS::EC2::Subnet",
            json!({
            "VpcId": {"Ref": "Vpc"}, "AvailabilityZone": az, "MapPublicIpOnLaunch": true}),
        );
        add(
            &format!("PrivateSubnet{id}"),
            "AWS::EC2::Subnet",
            json!({
            "VpcId": {"Ref": "Vpc"}, "AvailabilityZone": az}),
        );
        add(
            &format!("NatEip{id}"),
            "AWS::EC2::EIP",
            json!({"Domain": "vpc"}),
        );
        add(
            &format!("NatGateway{id}"),
            "AWS::EC2::NatGateway",
            json!({
            "SubnetId": {"Ref": format!("PublicSubnet{id}")},
            "AllocationId": {"Fn::GetAtt": [format!("NatEip{id}"), "AllocationId"]}}),
        );
        add(
            &format!("PrivateRouteTable{id}"),
            "AWS::EC2::RouteTable",
            json!({"VpcId": {"Ref": "Vpc"}}),
        );
        add(
            &format!("PrivateDefaultRoute{id}"),
            "AWS::EC2::Route",
            json!({
            "RouteTableId": {"Ref": format!("PrivateRouteTable{id}")},
            "DestinationCidrBlock": "0.0.0.0/0",
            "NatGatewayId": {"Ref": format!("NatGateway{id}")}}),
        );
        add(
            &format!("PrivateSubnetRouteTableAssociation{id}"),
            "AWS::EC2::SubnetRouteTableAssociation",
            json!({
            "SubnetId": {"Ref": format!("PrivateSubnet{id}")},
            "RouteTableId": {"Ref": format!("PrivateRouteTable{id}")}}),
        );
    }
    add(
        "InstanceSecurityGroup",
        "AWS::EC2::SecurityGroup",
        json!({
        "GroupDescription": "instances", "VpcId": {"Ref": "Vpc"},
        "SecurityGroupEgress": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0"}]}),
    );
    add(
        "AlbSecurityGroup",
        "AWS::EC2::SecurityGroup",
        json!({
        "GroupDescription": "load balancer", "VpcId": {"Ref": "Vpc"},
        "SecurityGroupIngress": [
            {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "CidrIp": "0.0.0.0/0"},
            {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "CidrIpv6": "::/0"},
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0"},
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIpv6": "::/0"}]}),
    );
    add(
        "InstanceIngressFromAlb",
        "AWS::EC2::SecurityGroupIngress",
        json!({
        "GroupId": {"Fn::GetAtt": ["InstanceSecurityGroup", "GroupId"]},
        "IpProtocol": "tcp", "FromPort": def.compute.app_port, "ToPort": def.compute.app_port,
        "SourceSecurityGroupId": {"Fn::GetAtt": ["AlbSecurityGroup", "GroupId"]}}),
    );
    let public: Vec<Value> = ids
        .iter()
        .map(|id| json!({"Ref": format!("PublicSubnet{id}")}))
        .collect();
    let private: Vec<Value> = ids
        .iter()
        .map(|id| json!({"Ref": format!("PrivateSubnet{id}")}))
        .collect();
    add(
        "Alb",
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        json!({
        "Scheme": "internet-facing", "Subnets": public,
        "SecurityGroups": [{"Fn::GetAtt": ["AlbSecurityGroup", "GroupId"]}]}),
    );
    add(
        "TargetGroup",
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        json!({
        "Port": def.compute.app_port, "Protocol": "HTTP", "HealthCheckPath": def.compute.health_check_path}),
    );
    add(
        "HttpsListener",
        "AWS::ElasticLoadBalancingV2::Listener",
        json!({
        "LoadBalancerArn": {"Ref": "Alb"}, "Port": 443, "Protocol": "HTTPS",
        "SslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
        "Certificates": [{"CertificateArn": {"Ref": "RegionalCertificate"}}],
        "DefaultActions": [{"Type": "forward", "TargetGroupArn": {"Ref": "TargetGroup"}}]}),
    );
    add(
        "HttpListener",
        "AWS::ElasticLoadBalancingV2::Listener",
        json!({
        "LoadBalancerArn": {"Ref": "Alb"}, "Port": 80, "Protocol": "HTTP",
        "DefaultActions": [{"Type": "redirect",
            "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}]}),
    );
    if index == 0 {
        for t in &def.tables {
            add(
                &format!("{}Table", capitalize(&t.name)),
                "AWS::DynamoDB::GlobalTable",
                json!({
                "BillingMode": "PAY_PER_REQUEST",
                "SSESpecification": {"SSEEnabled": true},
                "Replicas": def.regions.iter().map(|r| json!({"Region": r.name})).collect::<Vec<_>>()}),
            );
        }
    }
    for q in &def.queues {
        let id = format!("{}Queue", capitalize(&q.name));
        add(
            &format!("{id}DeadLetter"),
            "AWS::SQS::Queue",
            json!({"SqsManagedSseEnabled": true}),
        );
        add(
            &id,
            "AWS::SQS::Queue",
            json!({"SqsManagedSseEnabled": true,
            "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": [format!("{id}DeadLetter"), "Arn"]},
                              "maxReceiveCount": q.max_receive_count}}),
        );
    }
    let others: Vec<Value> = def
        .regions
        .iter()
        .filter(|o| o.name != region.name)
        .enumerate()
        .map(|(p, o)| {
            json!({"Id": o.name, "Priority": p + 1, "Status": "Enabled",
            "Destination": {"Bucket": format!("arn:aws:s3:::{}-{}", def.stack_name(), o.name)}})
        })
        .collect();
    add(
        "Bucket",
        "AWS::S3::Bucket",
        json!({
        "BucketEncryption": {"ServerSideEncryptionConfiguration": [
            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
        "PublicAccessBlockConfiguration": {"BlockPublicAcls": true, "BlockPublicPolicy": true,
            "IgnorePublicAcls": true, "RestrictPublicBuckets": true},
        "VersioningConfiguration": {"Status": "Enabled"},
        "ReplicationConfiguration": {"Role": {"Fn::GetAtt": ["ReplicationRole", "Arn"]}, "Rules": others}}),
    );
    add(
        "ReplicationRole",
        "AWS::IAM::Role",
        json!({"AssumeRolePolicyDocument": {}}),
    );
    add(
        "BucketPolicy",
        "AWS::S3::BucketPolicy",
        json!({
        "Bucket": {"Ref": "Bucket"},
        "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
            "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": [{"Fn::GetAtt": ["Bucket", "Arn"]}],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}}),
    );
    add(
        "LaunchTemplate",
        "AWS::EC2::LaunchTemplate",
        json!({"LaunchTemplateData": {
        "ImageId": def.ami.id, "InstanceType": def.compute.instance_type,
        "MetadataOptions": {"HttpTokens": "required", "HttpEndpoint": "enabled"},
        "BlockDeviceMappings": [{"DeviceName": "/dev/xvda",
            "Ebs": {"VolumeSize": def.compute.root_volume_gib, "VolumeType": "gp3", "Encrypted": true}}],
        "SecurityGroupIds": [{"Fn::GetAtt": ["InstanceSecurityGroup", "GroupId"]}]}}),
    );
    add(
        "AutoScalingGroup",
        "AWS::AutoScaling::AutoScalingGroup",
        json!({
        "MinSize": capacity.min.to_string(), "MaxSize": capacity.max.to_string(),
        "DesiredCapacity": capacity.desired.to_string(),
        "HealthCheckType": "ELB", "HealthCheckGracePeriod": def.compute.health_check_grace_seconds,
        "VPCZoneIdentifier": private,
        "TargetGroupARNs": [{"Ref": "TargetGroup"}],
        "LaunchTemplate": {"LaunchTemplateId": {"Ref": "LaunchTemplate"},
                           "Version": {"Fn::GetAtt": ["LaunchTemplate", "LatestVersionNumber"]}}}),
    );
    add(
        "HealthCheck",
        "AWS::Route53::HealthCheck",
        json!({"HealthCheckConfig": {
        "Type": "HTTP", "ResourcePath": def.compute.health_check_path,
        "FullyQualifiedDomainName": {"Fn::GetAtt": ["Alb", "DNSName"]}}}),
    );
    let alias = json!({"DNSName": {"Fn::GetAtt": ["Alb", "DNSName"]},
        "HostedZoneId": {"Fn::GetAtt": ["Alb", "CanonicalHostedZoneID"]}, "EvaluateTargetHealth": true});
    add(
        "LatencyRecord",
        "AWS::Route53::RecordSet",
        json!({
        "HostedZoneName": format!("{}.", def.dns.hosted_zone), "Name": def.dns.origin_name(), "Type": "A",
        "SetIdentifier": region.name, "Region": region.name,
        "HealthCheckId": {"Ref": "HealthCheck"}, "AliasTarget": alias}),
    );
    if let Some(role) = region.failover {
        let failover = match role {
            strata::stack::FailoverRole::Primary => "PRIMARY",
            strata::stack::FailoverRole::Secondary => "SECONDARY",
        };
        add(
            "FailoverRecord",
            "AWS::Route53::RecordSet",
            json!({
            "HostedZoneName": format!("{}.", def.dns.hosted_zone), "Name": def.dns.failover_name(),
            "Type": "A", "SetIdentifier": region.name, "Failover": failover,
            "HealthCheckId": {"Ref": "HealthCheck"}, "AliasTarget": alias}),
        );
    }
    json!({"AWSTemplateFormatVersion": "2010-09-09", "Resources": r})
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}
