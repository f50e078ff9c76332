//! The sandbox's Route 53 says no where Route 53 says no (docs/sandbox.md, "Route 53"),
//! through the AWS SDK against moto with strata's extensions:
//! - GetHealthCheckStatus refuses a CALCULATED health check (and answers an
//!   endpoint check);
//! - a name and type has at most one PRIMARY and one SECONDARY failover record,
//!   through ChangeResourceRecordSets and through CloudFormation;
//! - a record set naming its zone by HostedZoneName fails when two zones share that
//!   name (and works by HostedZoneId);
//! - a hosted zone's NameServers attribute is its delegation set.

mod support;

use aws_sdk_route53::types::{
    AliasTarget, Change, ChangeAction, ChangeBatch, HealthCheckConfig, HealthCheckType,
    ResourceRecordSet, ResourceRecordSetFailover, RrType,
};
use support::{sandbox, sdk};

fn endpoint_check(fqdn: &str) -> String {
    let r53 = sdk::route53();
    sdk::block_on(async {
        let config = HealthCheckConfig::builder()
            .r#type(HealthCheckType::Https)
            .fully_qualified_domain_name(fqdn)
            .port(443)
            .resource_path("/health")
            .build()
            .unwrap();
        r53.create_health_check()
            .caller_reference(sandbox::unique("hc"))
            .health_check_config(config)
            .send()
            .await
            .expect("CreateHealthCheck")
            .health_check()
            .unwrap()
            .id()
            .to_string()
    })
}

/// A failover alias record `name` (an alias to `target` in the same zone).
fn failover_record(
    zone: &str,
    name: &str,
    id: &str,
    role: ResourceRecordSetFailover,
) -> ResourceRecordSet {
    ResourceRecordSet::builder()
        .name(name)
        .r#type(RrType::A)
        .set_identifier(id)
        .failover(role)
        .alias_target(
            AliasTarget::builder()
                .hosted_zone_id(zone)
                .dns_name(format!("{id}.{name}"))
                .evaluate_target_health(true)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

fn change(zone: &str, action: ChangeAction, record: ResourceRecordSet) -> Result<(), String> {
    let r53 = sdk::route53();
    sdk::block_on(async {
        r53.change_resource_record_sets()
            .hosted_zone_id(zone)
            .change_batch(
                ChangeBatch::builder()
                    .changes(
                        Change::builder()
                            .action(action)
                            .resource_record_set(record)
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                use aws_sdk_route53::error::ProvideErrorMetadata;
                e.into_service_error()
                    .code()
                    .unwrap_or_default()
                    .to_string()
            })
    })
}

/// (set identifier, failover role) of the A records named `name`.
fn failover_records(zone: &str, name: &str) -> Vec<(String, String)> {
    let r53 = sdk::route53();
    sdk::block_on(async {
        let out = r53
            .list_resource_record_sets()
            .hosted_zone_id(zone)
            .send()
            .await
            .expect("ListResourceRecordSets");
        let mut v: Vec<(String, String)> = out
            .resource_record_sets()
            .iter()
            .filter(|r| r.name().trim_end_matches('.') == name.trim_end_matches('.'))
            .filter(|r| r.r#type() == &RrType::A)
            .map(|r| {
                (
                    r.set_identifier().unwrap_or_default().to_string(),
                    r.failover()
                        .map(|f| f.as_str().to_string())
                        .unwrap_or_default(),
                )
            })
            .collect();
        v.sort();
        v
    })
}

/// Create a stack from `template`; Ok(status) when it was accepted, Err when
/// CreateStack itself refused it. Waits for a final status.
fn create_stack(region: &str, name: &str, template: serde_json::Value) -> Result<String, String> {
    let cfn = sdk::cloudformation(region);
    sdk::block_on(async {
        cfn.create_stack()
            .stack_name(name)
            .template_body(template.to_string())
            .send()
            .await
            .map_err(|e| format!("{:?}", e.into_service_error()))?;
        for _ in 0..600 {
            let out = cfn
                .describe_stacks()
                .stack_name(name)
                .send()
                .await
                .expect("DescribeStacks");
            let status = out.stacks()[0].stack_status().unwrap().as_str().to_string();
            if !status.ends_with("IN_PROGRESS") {
                return Ok(status);
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("stack {name} never settled");
    })
}

#[test]
fn get_health_check_status_refuses_a_calculated_check_and_answers_an_endpoint_check() {
    let _moto = sandbox::shared();
    let r53 = sdk::route53();
    let child = endpoint_check("lb.example.net");
    let calculated = sdk::block_on(async {
        let config = HealthCheckConfig::builder()
            .r#type(HealthCheckType::Calculated)
            .child_health_checks(&child)
            .health_threshold(1)
            .build()
            .unwrap();
        r53.create_health_check()
            .caller_reference(sandbox::unique("calc"))
            .health_check_config(config)
            .send()
            .await
            .expect("CreateHealthCheck CALCULATED")
            .health_check()
            .unwrap()
            .id()
            .to_string()
    });

    let endpoint = sdk::block_on(r53.get_health_check_status().health_check_id(&child).send())
        .expect("GetHealthCheckStatus answers an endpoint check");
    assert!(!endpoint.health_check_observations().is_empty());

    let err = sdk::block_on(
        r53.get_health_check_status()
            .health_check_id(&calculated)
            .send(),
    )
    .expect_err("GetHealthCheckStatus must refuse a CALCULATED check");
    let err = err.into_service_error();
    assert_eq!(err.meta().code(), Some("InvalidInput"), "{err:?}");

    // What AWS supports instead: GetHealthCheck names the children, whose status is readable.
    let got = sdk::block_on(r53.get_health_check().health_check_id(&calculated).send())
        .expect("GetHealthCheck");
    let config = got.health_check().unwrap().health_check_config().unwrap();
    assert_eq!(config.child_health_checks(), [child]);
    assert_eq!(config.health_threshold(), Some(1));
}

#[test]
fn a_failover_name_takes_one_primary_and_one_secondary_through_the_api() {
    let _moto = sandbox::shared();
    let zone_name = format!("{}.example", sandbox::unique("fo"));
    let zone = sdk::create_zone(&zone_name);
    let name = format!("failover.{zone_name}.");
    use ResourceRecordSetFailover::{Primary, Secondary};

    change(
        &zone,
        ChangeAction::Create,
        failover_record(&zone, &name, "a", Primary),
    )
    .expect("the primary");
    change(
        &zone,
        ChangeAction::Create,
        failover_record(&zone, &name, "b", Secondary),
    )
    .expect("the secondary");
    for (id, role, action) in [
        ("c", Secondary, ChangeAction::Create),
        ("c", Secondary, ChangeAction::Upsert),
        ("d", Primary, ChangeAction::Upsert),
    ] {
        let code = change(
            &zone,
            action.clone(),
            failover_record(&zone, &name, id, role.clone()),
        )
        .expect_err("a second record of the same role must be refused");
        assert_eq!(code, "InvalidChangeBatch", "{action:?} {role:?}");
    }
    // Replacing a record with its own set identifier is not a second record.
    change(
        &zone,
        ChangeAction::Upsert,
        failover_record(&zone, &name, "b", Secondary),
    )
    .expect("UPSERT of the same secondary");
    assert_eq!(
        failover_records(&zone, &name),
        [
            ("a".to_string(), "PRIMARY".to_string()),
            ("b".to_string(), "SECONDARY".to_string())
        ]
    );
    // Another type under the same name is another failover pair.
    let mut aaaa = failover_record(&zone, &name, "c", Secondary);
    aaaa.r#type = RrType::Aaaa;
    change(&zone, ChangeAction::Create, aaaa).expect("an AAAA secondary is its own pair");
}

fn record_json(zone: serde_json::Value, name: &str, id: &str, role: &str) -> serde_json::Value {
    let mut r = serde_json::json!({
        "Type": "AWS::Route53::RecordSet",
        "Properties": {
            "Name": name,
            "Type": "A",
            "SetIdentifier": id,
            "Failover": role,
            "TTL": "60",
            "ResourceRecords": ["192.0.2.1"]
        }
    });
    let props = r["Properties"].as_object_mut().unwrap();
    for (k, v) in zone.as_object().unwrap() {
        props.insert(k.clone(), v.clone());
    }
    r
}

#[test]
fn a_stack_with_two_failover_secondaries_for_one_name_does_not_create_them() {
    let _moto = sandbox::shared();
    let zone_name = format!("{}.example", sandbox::unique("focfn"));
    let zone = sdk::create_zone(&zone_name);
    let name = format!("failover.{zone_name}.");
    let z = serde_json::json!({ "HostedZoneId": zone });
    let stack = sandbox::unique("two-secondaries");
    let result = create_stack(
        "us-west-2",
        &stack,
        serde_json::json!({ "Resources": {
            "Primary": record_json(z.clone(), &name, "us-east-1", "PRIMARY"),
            "SecondaryA": record_json(z.clone(), &name, "us-west-2", "SECONDARY"),
            "SecondaryB": record_json(z.clone(), &name, "eu-west-1", "SECONDARY"),
        }}),
    );
    assert!(
        !matches!(result.as_deref(), Ok("CREATE_COMPLETE")),
        "the stack must not complete: {result:?}"
    );
    let secondaries = failover_records(&zone, &name)
        .into_iter()
        .filter(|(_, role)| role == "SECONDARY")
        .count();
    assert!(secondaries <= 1, "{:?}", failover_records(&zone, &name));

    let ok = sandbox::unique("one-secondary");
    let result = create_stack(
        "us-west-2",
        &ok,
        serde_json::json!({ "Resources": {
            "Primary": record_json(z.clone(), &format!("ok.{zone_name}."), "us-east-1", "PRIMARY"),
            "Secondary": record_json(z, &format!("ok.{zone_name}."), "us-west-2", "SECONDARY"),
        }}),
    );
    assert_eq!(result.as_deref(), Ok("CREATE_COMPLETE"));
}

#[test]
fn a_record_by_hosted_zone_name_fails_when_two_zones_share_the_name_and_works_by_id() {
    let _moto = sandbox::shared();
    let zone_name = format!("{}.example", sandbox::unique("twin"));
    let first = sdk::create_zone(&zone_name);
    let stack_json = |zone: serde_json::Value| {
        serde_json::json!({ "Resources": {
            "Record": {
                "Type": "AWS::Route53::RecordSet",
                "Properties": {
                    "Name": format!("www.{zone_name}."),
                    "Type": "A",
                    "TTL": "60",
                    "ResourceRecords": ["192.0.2.1"],
                },
            }
        }})
        .as_object()
        .cloned()
        .map(|mut t| {
            let props = t["Resources"]["Record"]["Properties"]
                .as_object_mut()
                .unwrap();
            for (k, v) in zone.as_object().unwrap() {
                props.insert(k.clone(), v.clone());
            }
            serde_json::Value::Object(t)
        })
        .unwrap()
    };
    let www = |zone: &str| {
        let r53 = sdk::route53();
        sdk::block_on(async {
            r53.list_resource_record_sets()
                .hosted_zone_id(zone)
                .send()
                .await
                .unwrap()
                .resource_record_sets()
                .iter()
                .filter(|r| r.name().starts_with("www."))
                .count()
        })
    };

    // One zone of that name: by name works.
    let by_name = serde_json::json!({ "HostedZoneName": format!("{zone_name}.") });
    assert_eq!(
        create_stack(
            "us-east-1",
            &sandbox::unique("by-name"),
            stack_json(by_name.clone())
        )
        .as_deref(),
        Ok("CREATE_COMPLETE")
    );
    assert_eq!(www(&first), 1);

    // Two zones of that name: by name is ambiguous, CloudFormation does not create it.
    let second = sdk::create_zone(&zone_name);
    let result = create_stack(
        "us-east-1",
        &sandbox::unique("ambiguous"),
        stack_json(by_name),
    );
    assert!(
        !matches!(result.as_deref(), Ok("CREATE_COMPLETE")),
        "an ambiguous HostedZoneName must fail: {result:?}"
    );
    assert_eq!(www(&second), 0);

    // By id: no ambiguity.
    let by_id = serde_json::json!({ "HostedZoneId": second });
    assert_eq!(
        create_stack("us-east-1", &sandbox::unique("by-id"), stack_json(by_id)).as_deref(),
        Ok("CREATE_COMPLETE")
    );
    assert_eq!(www(&second), 1);
}

#[test]
fn a_hosted_zone_made_by_a_stack_gives_its_name_servers() {
    let _moto = sandbox::shared();
    let zone_name = format!("{}.example.", sandbox::unique("ns"));
    let stack = sandbox::unique("zone-ns");
    let result = create_stack(
        "us-east-1",
        &stack,
        serde_json::json!({
            "Resources": { "Zone": { "Type": "AWS::Route53::HostedZone", "Properties": { "Name": zone_name } } },
            "Outputs": {
                "Id": { "Value": { "Fn::GetAtt": ["Zone", "Id"] } },
                "NameServers": { "Value": { "Fn::Join": [",", { "Fn::GetAtt": ["Zone", "NameServers"] }] } }
            }
        }),
    );
    assert_eq!(result.as_deref(), Ok("CREATE_COMPLETE"));
    let cfn = sdk::cloudformation("us-east-1");
    let outputs: std::collections::BTreeMap<String, String> = sdk::block_on(async {
        cfn.describe_stacks()
            .stack_name(&stack)
            .send()
            .await
            .unwrap()
            .stacks()[0]
            .outputs()
            .iter()
            .map(|o| {
                (
                    o.output_key().unwrap().to_string(),
                    o.output_value().unwrap().to_string(),
                )
            })
            .collect()
    });
    let r53 = sdk::route53();
    let zone = sdk::block_on(r53.get_hosted_zone().id(&outputs["Id"]).send())
        .expect("the Id attribute is the zone's id");
    let servers = zone.delegation_set().unwrap().name_servers().join(",");
    assert!(!servers.is_empty());
    assert_eq!(outputs["NameServers"], servers);
}
