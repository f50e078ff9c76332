//! `policy::check_templates` on the example stack: it passes every rule, and for each
//! rule one mutation of the example (its definition or one template's JSON) makes
//! exactly that rule fail, with its message.

#[path = "support/policy_fixture.rs"]
mod policy_fixture;

use policy_fixture::{example, props, template, templates};
use serde_json::json;
use strata::policy::{self, Finding, PolicyReport, RuleStatus, Severity, TemplateJson};
use strata::stack::{AdvisoryRule, Capacity, FailoverRole, StackDef};

fn run(def: &StackDef, templates: &[TemplateJson]) -> PolicyReport {
    policy::check_templates(def, templates)
}

/// Asserts that `rule` and no other rule failed, and returns its findings.
fn only(report: &PolicyReport, rule: &str) -> Vec<Finding> {
    let failing: Vec<&str> = report
        .rules
        .iter()
        .filter(|r| r.status == RuleStatus::Fail)
        .map(|r| r.rule.as_str())
        .collect();
    assert_eq!(failing, vec![rule], "findings: {:#?}", report.findings);
    assert!(!report.passed());
    assert_eq!(report.exit_code(), strata::exit_code::POLICY_VIOLATION);
    let findings: Vec<Finding> = report.findings.clone();
    assert!(findings
        .iter()
        .all(|f| f.rule == rule && f.severity == Severity::Mandatory));
    assert!(findings
        .iter()
        .all(|f| !f.why.is_empty() && !f.fix.is_empty() && !f.message.is_empty()));
    findings
}

fn has(findings: &[Finding], region: Option<&str>, resource: Option<&str>, text: &str) {
    assert!(
        findings.iter().any(|f| f.region.as_deref() == region
            && f.resource.as_deref() == resource
            && f.message.contains(text)),
        "no finding at {region:?}/{resource:?} saying {text:?} in {findings:#?}"
    );
}

/// A template mutation: only `rule` fails, with a finding at region/resource saying `text`.
fn template_mutation(
    rule: &str,
    region: &str,
    resource: &str,
    text: &str,
    mutate: impl FnOnce(&mut serde_json::Value),
) {
    let def = example();
    let mut ts = templates(&def);
    mutate(template(&mut ts, region));
    let findings = only(&run(&def, &ts), rule);
    has(&findings, Some(region), Some(resource), text);
}

#[test]
fn the_example_passes_every_rule() {
    let def = example();
    let report = run(&def, &templates(&def));
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    assert!(report.passed());
    assert_eq!(report.exit_code(), 0);
    for r in &report.rules {
        assert_eq!(
            r.status,
            RuleStatus::Pass,
            "{} should apply to the example and pass",
            r.rule
        );
    }
    // 3 regions x 2 AZs, desired 2: every region and the service estimated above 99.99%.
    assert!(report.availability.meets_minimum());
    assert_eq!(report.availability.regions.len(), 3);
}

#[test]
fn bucket_encrypted_fails_on_a_bucket_without_encryption() {
    template_mutation(
        "bucket_encrypted",
        "us-west-2",
        "Bucket",
        "not encrypted at rest",
        |t| {
            props(t, "Bucket")
                .as_object_mut()
                .unwrap()
                .remove("BucketEncryption");
        },
    );
}

#[test]
fn table_encrypted_fails_when_sse_is_off() {
    template_mutation(
        "table_encrypted",
        "us-east-1",
        "OrdersTable",
        "SSEEnabled must be true",
        |t| {
            props(t, "OrdersTable")["SSESpecification"]["SSEEnabled"] = json!(false);
        },
    );
}

#[test]
fn queue_encrypted_fails_on_a_queue_without_sse() {
    template_mutation(
        "queue_encrypted",
        "eu-west-1",
        "WritesQueue",
        "queue is not encrypted",
        |t| {
            props(t, "WritesQueue")
                .as_object_mut()
                .unwrap()
                .remove("SqsManagedSseEnabled");
        },
    );
}

#[test]
fn volume_encrypted_fails_on_an_unencrypted_root_volume() {
    template_mutation(
        "volume_encrypted",
        "us-east-1",
        "LaunchTemplate",
        "volume is not encrypted",
        |t| {
            props(t, "LaunchTemplate")["LaunchTemplateData"]["BlockDeviceMappings"][0]["Ebs"]
                ["Encrypted"] = json!(false);
        },
    );
}

#[test]
fn bucket_no_public_access_fails_when_one_flag_is_off() {
    template_mutation(
        "bucket_no_public_access",
        "us-east-1",
        "Bucket",
        "RestrictPublicBuckets must be true",
        |t| {
            props(t, "Bucket")["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] =
                json!(false);
        },
    );
}

#[test]
fn bucket_tls_only_fails_without_the_secure_transport_deny() {
    let def = example();
    let mut ts = templates(&def);
    let t = template(&mut ts, "us-west-2");
    t["Resources"]
        .as_object_mut()
        .unwrap()
        .remove("BucketPolicy");
    let findings = only(&run(&def, &ts), "bucket_tls_only");
    has(&findings, Some("us-west-2"), None, "aws:SecureTransport");
}

#[test]
fn bucket_tls_only_fails_when_the_statement_allows_instead_of_denying() {
    template_mutation(
        "bucket_tls_only",
        "us-west-2",
        "BucketPolicy",
        "bucket_tls_only",
        |t| {
            props(t, "BucketPolicy")["PolicyDocument"]["Statement"][0]["Effect"] = json!("Allow");
        },
    );
}

#[test]
fn imdsv2_required_fails_when_tokens_are_optional() {
    template_mutation(
        "imdsv2_required",
        "eu-west-1",
        "LaunchTemplate",
        "HttpTokens must be required",
        |t| {
            props(t, "LaunchTemplate")["LaunchTemplateData"]["MetadataOptions"]["HttpTokens"] =
                json!("optional");
        },
    );
}

#[test]
fn https_only_fails_when_the_http_listener_forwards_instead_of_redirecting() {
    template_mutation(
        "https_only",
        "us-west-2",
        "HttpListener",
        "serves instead of redirecting",
        |t| {
            // strata makes no port-80 listener behind CloudFront: add one that serves.
            t["Resources"]["HttpListener"] = json!({
                "Type": "AWS::ElasticLoadBalancingV2::Listener",
                "Properties": {
                    "LoadBalancerArn": {"Ref": "Alb"}, "Port": 80, "Protocol": "HTTP",
                    "DefaultActions": [{"Type": "forward", "TargetGroupArn": {"Ref": "TargetGroup"}}]
                }
            });
        },
    );
}

#[test]
fn https_only_fails_when_cloudfront_reaches_its_origin_over_http() {
    let def = example();
    let mut ts = templates(&def);
    props(template(&mut ts, "global"), "Distribution")["DistributionConfig"]["Origins"][0]
        ["CustomOriginConfig"]["OriginProtocolPolicy"] = json!("http-only");
    let findings = only(&run(&def, &ts), "https_only");
    has(
        &findings,
        Some("global"),
        Some("Distribution"),
        "reaches its origin over plain HTTP",
    );
}

#[test]
fn https_only_does_not_apply_to_a_non_production_stack_that_opts_out() {
    let mut def = example();
    def.app.production = false;
    def.dns.plain_http = true;
    let mut ts = templates(&def);
    props(template(&mut ts, "us-east-1"), "HttpListener")["DefaultActions"] =
        json!([{"Type": "forward", "TargetGroupArn": {"Ref": "TargetGroup"}}]);
    let report = run(&def, &ts);
    assert!(report.passed(), "{:#?}", report.findings);
    assert!(
        report
            .rules
            .iter()
            .any(|r| r.rule == "https_only" && r.status != RuleStatus::Fail),
        "{:#?}",
        report.rules
    );
}

#[test]
fn sg_no_world_ingress_fails_on_ssh_open_to_the_world_on_the_instances() {
    template_mutation(
        "sg_no_world_ingress",
        "us-east-1",
        "InstanceSecurityGroup",
        "is not a load balancer's",
        |t| {
            props(t, "InstanceSecurityGroup")["SecurityGroupIngress"] =
                json!([{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "0.0.0.0/0"}]);
        },
    );
}

#[test]
fn sg_no_world_ingress_fails_on_the_load_balancer_open_on_another_port() {
    template_mutation(
        "sg_no_world_ingress",
        "us-east-1",
        "AlbSecurityGroup",
        "other than 80 or 443",
        |t| {
            props(t, "AlbSecurityGroup")["SecurityGroupIngress"]
            .as_array_mut()
            .unwrap()
            .push(json!({"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080, "CidrIpv6": "::/0"}));
        },
    );
}

#[test]
fn asg_elb_health_check_fails_with_ec2_health_checks() {
    template_mutation(
        "asg_elb_health_check",
        "us-west-2",
        "AutoScalingGroup",
        "HealthCheckType must be ELB",
        |t| {
            props(t, "AutoScalingGroup")["HealthCheckType"] = json!("EC2");
        },
    );
}

#[test]
fn asg_multi_az_fails_with_one_subnet() {
    template_mutation(
        "asg_multi_az",
        "us-west-2",
        "AutoScalingGroup",
        "fewer than two subnets",
        |t| {
            props(t, "AutoScalingGroup")["VPCZoneIdentifier"] = json!([{"Ref": "PrivateSubnetA"}]);
        },
    );
}

#[test]
fn nat_route_same_az_fails_when_zone_b_routes_through_zone_a_nat() {
    template_mutation(
        "nat_route_same_az",
        "eu-west-1",
        "PrivateDefaultRouteA",
        "PrivateSubnetB (eu-west-1b)",
        |t| {
            props(t, "PrivateSubnetRouteTableAssociationB")["RouteTableId"] =
                json!({"Ref": "PrivateRouteTableA"});
        },
    );
}

#[test]
fn nat_route_same_az_fails_on_a_hard_coded_nat_id() {
    template_mutation(
        "nat_route_same_az",
        "eu-west-1",
        "PrivateDefaultRouteB",
        "by Ref",
        |t| {
            props(t, "PrivateDefaultRouteB")["NatGatewayId"] = json!("nat-0123456789abcdef0");
        },
    );
}

#[test]
fn routed_record_health_check_fails_on_a_failover_record_without_one() {
    template_mutation(
        "routed_record_health_check",
        "us-east-1",
        "FailoverRecord",
        "needs a HealthCheckId",
        |t| {
            props(t, "FailoverRecord")
                .as_object_mut()
                .unwrap()
                .remove("HealthCheckId");
        },
    );
}

#[test]
fn bucket_versioned_fails_on_suspended_versioning() {
    template_mutation(
        "bucket_versioned",
        "eu-west-1",
        "Bucket",
        "not versioned",
        |t| {
            props(t, "Bucket")["VersioningConfiguration"]["Status"] = json!("Suspended");
        },
    );
}

#[test]
fn bucket_replicated_fails_without_replication_in_a_multi_region_stack() {
    template_mutation(
        "bucket_replicated",
        "us-east-1",
        "Bucket",
        "not replicated",
        |t| {
            props(t, "Bucket")
                .as_object_mut()
                .unwrap()
                .remove("ReplicationConfiguration");
        },
    );
}

#[test]
fn nat_per_az_fails_when_one_zone_has_no_nat() {
    let def = example();
    let mut ts = templates(&def);
    let resources = template(&mut ts, "us-west-2")["Resources"]
        .as_object_mut()
        .unwrap();
    resources.remove("NatGatewayB");
    resources.remove("PrivateDefaultRouteB");
    let findings = only(&run(&def, &ts), "nat_per_az");
    has(
        &findings,
        Some("us-west-2"),
        None,
        "1 NAT gateway zone(s) for 2 Availability Zones; none in us-west-2b",
    );
}

#[test]
fn multi_az_fails_on_a_one_zone_region() {
    let mut def = example();
    // us-east-1 will lose everything with its one AZ; max 6 keeps N+1 (the two
    // other regions hold 3 + 3 after their AZ loss; losing one leaves 3 x 100 = 300
    // rps = peak) so that only multi_az fails.
    def.compute.capacity = Capacity {
        min: 2,
        desired: 2,
        max: 6,
    };
    let ts = templates(&def);
    def.regions[0].azs.truncate(1);
    let findings = only(&run(&def, &ts), "multi_az");
    has(
        &findings,
        Some("us-east-1"),
        None,
        "spans 1 Availability Zone",
    );
}

#[test]
fn capacity_n_plus_1_fails_when_max_3_leaves_200_of_300_rps() {
    let mut def = example();
    let ts = templates(&def);
    // Max 3 over 2 AZs: 1 instance left per region after its largest AZ (2) is lost;
    // with a region lost: 2 regions x 1 x 100 rps = 200 < 300.
    def.compute.capacity.max = 3;
    let findings = only(&run(&def, &ts), "capacity_n_plus_1");
    has(&findings, None, None, "200 rps < peak 300 rps");
    assert!(
        findings[0].fix.starts_with("needs max >= 4 in each region"),
        "{}",
        findings[0].fix
    );
}

#[test]
fn asg_max_allows_scale_out_fails_when_the_template_caps_below_the_plan() {
    template_mutation(
        "asg_max_allows_scale_out",
        "eu-west-1",
        "AutoScalingGroup",
        "MaxSize 2 is below the max 4",
        |t| {
            props(t, "AutoScalingGroup")["MaxSize"] = json!("2");
            props(t, "AutoScalingGroup")["DesiredCapacity"] = json!("2");
        },
    );
}

#[test]
fn multi_region_fails_on_one_region_that_tolerates_region_failure() {
    let mut def = example();
    // One region, still `tolerate = "region"`. So that nothing else fails: no
    // failover roles, max 6 (3 survive an AZ loss = 300 rps) and no minimum (one
    // region cannot reach 99.99%).
    def.regions.truncate(1);
    def.regions[0].failover = None;
    def.compute.capacity = Capacity {
        min: 2,
        desired: 2,
        max: 6,
    };
    def.availability.minimum = None;
    let ts = templates(&def);
    let findings = only(&run(&def, &ts), "multi_region");
    has(&findings, None, None, "has 1 region(s)");
}

#[test]
fn failover_roles_complete_fails_with_two_primaries() {
    let mut def = example();
    let ts = templates(&def);
    def.regions[2].failover = Some(FailoverRole::Primary);
    let findings = only(&run(&def, &ts), "failover_roles_complete");
    has(
        &findings,
        None,
        None,
        "2 primary region(s) (us-east-1, eu-west-1)",
    );
}

#[test]
fn availability_minimum_fails_when_six_nines_are_required() {
    let mut def = example();
    let ts = templates(&def);
    def.availability.minimum = Some(99.9999);
    let findings = only(&run(&def, &ts), "availability_minimum");
    has(&findings, None, None, "below the required minimum 99.9999%");
}

#[test]
fn availability_components_fails_on_a_misspelt_component() {
    let mut def = example();
    let ts = templates(&def);
    def.availability.components.insert("albb".into(), 99.9);
    let findings = only(&run(&def, &ts), "availability_components");
    has(
        &findings,
        None,
        None,
        "unknown availability component \"albb\"",
    );
}

#[test]
fn advisory_rule_known_fails_on_an_advisory_entry_for_no_rule() {
    let mut def = example();
    let ts = templates(&def);
    def.policy.advisory.push(AdvisoryRule {
        rule: "bucket_encrypt".into(),
        reason: "x".into(),
    });
    let findings = only(&run(&def, &ts), "advisory_rule_known");
    has(
        &findings,
        None,
        None,
        "\"bucket_encrypt\", which is not a rule",
    );
}

#[test]
fn an_advisory_rule_is_reported_with_its_reason_and_does_not_fail_the_check() {
    let mut def = example();
    let mut ts = templates(&def);
    props(template(&mut ts, "us-east-1"), "Bucket")["VersioningConfiguration"]["Status"] =
        json!("Suspended");
    def.policy.advisory.push(AdvisoryRule {
        rule: "bucket_versioned".into(),
        reason: "the bucket only holds build caches".into(),
    });
    let report = run(&def, &ts);
    assert!(report.passed());
    assert_eq!(report.exit_code(), 0);
    let f = &report.findings[0];
    assert_eq!(
        (f.rule.as_str(), f.severity),
        ("bucket_versioned", Severity::Advisory)
    );
    assert_eq!(
        f.advisory_reason.as_deref(),
        Some("the bucket only holds build caches")
    );
    let status = report
        .rules
        .iter()
        .find(|r| r.rule == "bucket_versioned")
        .unwrap()
        .status;
    assert_eq!(status, RuleStatus::Advisory);
}

#[test]
fn bucket_replicated_does_not_apply_to_a_one_region_stack() {
    let mut def = example();
    def.regions.truncate(1);
    def.regions[0].failover = None;
    def.capacity.tolerate = strata::stack::Tolerate::Az;
    def.compute.capacity = Capacity {
        min: 2,
        desired: 2,
        max: 6,
    };
    def.availability.minimum = None;
    let mut ts = templates(&def);
    props(template(&mut ts, "us-east-1"), "Bucket")
        .as_object_mut()
        .unwrap()
        .remove("ReplicationConfiguration");
    let report = run(&def, &ts);
    assert!(report.passed(), "{:#?}", report.findings);
    let status = report
        .rules
        .iter()
        .find(|r| r.rule == "bucket_replicated")
        .unwrap()
        .status;
    assert_eq!(status, RuleStatus::Skip);
}

#[test]
fn every_rule_has_a_mutation_test_in_this_file() {
    let source = include_str!("policy_check.rs");
    for (rule, _) in policy::rule_names() {
        assert!(
            source.contains(&format!("fn {rule}_fails")),
            "rule {rule} has no `fn {rule}_fails...` mutation test"
        );
    }
}
