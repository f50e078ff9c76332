//! The sandbox models what no bypass relies on as AWS does (sandbox/moto_origin_access.py,
//! docs/sandbox.md), read back through EC2, SSM and CloudFormation:
//! - a security group rule from a managed prefix list is applied, from an unknown
//!   list fails its stack, and one group holding CloudFront's list (weight 55) and
//!   Route 53's (25) passes the 60 inbound rules and fails;
//! - a replicated `AWS::SecretsManager::Secret` resolves through
//!   `{{resolve:secretsmanager:…}}` in its region and in a replica region alike,
//!   a reference to a missing secret fails its resource, and a deleted secret's
//!   name can be used again at once (no recovery window).

mod support;

use serde_json::json;
use support::{sandbox, sdk};

fn vpc(region: &str) -> String {
    let ec2 = sdk::ec2(region);
    sdk::block_on(async {
        let out = ec2
            .create_vpc()
            .cidr_block("10.9.0.0/16")
            .send()
            .await
            .unwrap();
        out.vpc().unwrap().vpc_id().unwrap().to_string()
    })
}

fn group_template(vpc: &str, lists: &[&str]) -> serde_json::Value {
    let rules: Vec<serde_json::Value> = lists
        .iter()
        .map(|l| json!({"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "SourcePrefixListId": l}))
        .collect();
    json!({"Resources": {"Group": {"Type": "AWS::EC2::SecurityGroup", "Properties": {
        "GroupDescription": "origin access", "VpcId": vpc, "SecurityGroupIngress": rules}}}})
}

#[test]
fn prefix_list_rules_are_applied_checked_and_weighed() {
    let _moto = sandbox::shared();
    let region = "us-west-2";
    let cloudfront =
        sdk::managed_prefix_list(region, "com.amazonaws.global.cloudfront.origin-facing");
    let checkers = sdk::managed_prefix_list(region, "com.amazonaws.us-west-2.route53-healthchecks");
    let vpc = vpc(region);

    let ok = sandbox::unique("pl-ok");
    let (status, reason) = sdk::create_and_settle(region, &ok, group_template(&vpc, &[&checkers]));
    assert_eq!(status, "CREATE_COMPLETE", "{reason}");
    let ec2 = sdk::ec2(region);
    let id = sdk::physical_id(region, &ok, "Group");
    let lists = sdk::block_on(async {
        let g = ec2
            .describe_security_groups()
            .group_ids(id)
            .send()
            .await
            .unwrap();
        let p = &g.security_groups()[0].ip_permissions()[0];
        assert!(p.ip_ranges().is_empty(), "{p:?}");
        p.prefix_list_ids()
            .iter()
            .filter_map(|l| l.prefix_list_id().map(str::to_string))
            .collect::<Vec<_>>()
    });
    assert_eq!(lists, std::slice::from_ref(&checkers));

    let unknown = sandbox::unique("pl-unknown");
    let (status, reason) = sdk::create_and_settle(
        region,
        &unknown,
        group_template(&vpc, &["pl-00000000000000000"]),
    );
    assert_ne!(status, "CREATE_COMPLETE");
    assert!(reason.contains("InvalidPrefixListID.NotFound"), "{reason}");

    let both = sandbox::unique("pl-both");
    let (status, reason) = sdk::create_and_settle(
        region,
        &both,
        group_template(&vpc, &[&cloudfront, &checkers]),
    );
    assert_ne!(status, "CREATE_COMPLETE");
    assert!(
        reason.contains("RulesPerSecurityGroupLimitExceeded"),
        "{reason}"
    );
}

fn parameter_template(name: &str, secret: &str) -> serde_json::Value {
    json!({"Resources": {"Copy": {"Type": "AWS::SSM::Parameter", "Properties": {
        "Name": name, "Type": "String",
        "Value": format!("{{{{resolve:secretsmanager:{secret}:SecretString}}}}")}}}})
}

fn parameter(region: &str, name: &str) -> String {
    let ssm = sdk::ssm(region);
    sdk::block_on(async {
        let out = ssm.get_parameter().name(name).send().await.unwrap();
        out.parameter().unwrap().value().unwrap().to_string()
    })
}

fn delete_stack(region: &str, name: &str) {
    let cfn = sdk::cloudformation(region);
    sdk::block_on(async {
        cfn.delete_stack().stack_name(name).send().await.unwrap();
        sdk::settled_stack(&cfn, name).await;
    });
}

#[test]
fn a_replicated_secret_resolves_in_every_region_and_its_name_is_free_after_delete() {
    let _moto = sandbox::shared();
    let secret = sandbox::unique("strata/test/origin-verify");
    let template = json!({"Resources": {"Secret": {"Type": "AWS::SecretsManager::Secret", "Properties": {
        "Name": secret, "GenerateSecretString": {"PasswordLength": 48, "ExcludePunctuation": true},
        "ReplicaRegions": [{"Region": "eu-west-1"}]}}}});
    let owner = sandbox::unique("secret");
    let (status, reason) = sdk::create_and_settle("us-east-1", &owner, template.clone());
    assert_eq!(status, "CREATE_COMPLETE", "{reason}");

    let mut values = Vec::new();
    for region in ["us-east-1", "eu-west-1"] {
        let name = sandbox::unique("/strata-test/copy");
        let stack = sandbox::unique("secret-user");
        let (status, reason) =
            sdk::create_and_settle(region, &stack, parameter_template(&name, &secret));
        assert_eq!(status, "CREATE_COMPLETE", "{region}: {reason}");
        values.push(parameter(region, &name));
        delete_stack(region, &stack);
    }
    assert_eq!(values[0], values[1], "the replica holds the same value");
    assert_eq!(values[0].len(), 48);
    assert!(
        values[0].chars().all(|c| c.is_ascii_alphanumeric()),
        "{}",
        values[0]
    );

    // Not replicated to us-west-2: the reference fails there.
    let stack = sandbox::unique("secret-missing");
    let (status, reason) = sdk::create_and_settle(
        "us-west-2",
        &stack,
        parameter_template(&sandbox::unique("/strata-test/copy"), &secret),
    );
    assert_ne!(status, "CREATE_COMPLETE");
    assert!(
        reason.contains("can't find the specified secret"),
        "{reason}"
    );

    // CloudFormation deletes a secret without a recovery window: the name is free.
    delete_stack("us-east-1", &owner);
    let again = sandbox::unique("secret-again");
    let (status, reason) = sdk::create_and_settle("us-east-1", &again, template);
    assert_eq!(status, "CREATE_COMPLETE", "{reason}");
    delete_stack("us-east-1", &again);
}
