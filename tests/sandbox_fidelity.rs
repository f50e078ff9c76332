//! End-to-end tests that the sandbox models what the shipped stack files need:
//! the example stack deploys completely (CloudFront distribution in the global
//! stack, public alias record on it, its CloudWatch alarms, which the health gate
//! reads) and the stack files' source AMIs exist, so `strata ami copy` copies them
//! (both through the real binary, on a fresh moto); CloudWatch answers the current
//! SDK (RPCv2-CBOR) and creates a template's `AWS::CloudWatch::Alarm`.

mod support;

use serde_json::Value;
use std::collections::BTreeMap;
use strata::exit_code;
use support::{cli, sandbox, sdk};

const EXAMPLE: &str = "stacks/example.toml";

fn example() -> String {
    sandbox::repo_dir()
        .join(EXAMPLE)
        .to_string_lossy()
        .into_owned()
}

/// The global stack's status and outputs.
fn global_stack() -> (String, BTreeMap<String, String>) {
    let cfn = sdk::cloudformation("us-east-1");
    sdk::block_on(async {
        let out = cfn
            .describe_stacks()
            .stack_name("shop-prod-global")
            .send()
            .await
            .expect("describe shop-prod-global");
        let stack = &out.stacks()[0];
        let outputs = stack
            .outputs()
            .iter()
            .map(|o| {
                (
                    o.output_key().unwrap_or_default().to_string(),
                    o.output_value().unwrap_or_default().to_string(),
                )
            })
            .collect();
        (stack.stack_status().unwrap().as_str().to_string(), outputs)
    })
}

/// The alias target (DNS name) of the A record `name` in the zone `zone`, if any.
fn alias_record(zone: &str, name: &str) -> Option<String> {
    let r53 = sdk::route53();
    sdk::block_on(async {
        let zones = r53
            .list_hosted_zones_by_name()
            .dns_name(zone)
            .send()
            .await
            .expect("list hosted zones");
        let zone = zones.hosted_zones().iter().find(|z| z.name() == zone)?;
        let records = r53
            .list_resource_record_sets()
            .hosted_zone_id(zone.id())
            .send()
            .await
            .expect("list resource record sets");
        records
            .resource_record_sets()
            .iter()
            .find(|r| r.name() == name && r.r#type().as_str() == "A")
            .and_then(|r| r.alias_target())
            .map(|a| a.dns_name().to_string())
    })
}

/// (name, state, dimensions as `Name=Value`) of the alarms named `prefix...`, every
/// page, `page_size` per page.
fn alarms(region: &str, prefix: &str, page_size: i32) -> Vec<(String, String, Vec<String>)> {
    let cw = sdk::cloudwatch(region);
    sdk::block_on(async {
        let mut out = Vec::new();
        let mut pages = cw
            .describe_alarms()
            .alarm_name_prefix(prefix)
            .max_records(page_size)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.expect("DescribeAlarms");
            assert!(page.metric_alarms().len() <= page_size as usize);
            out.extend(page.metric_alarms().iter().map(|a| {
                (
                    a.alarm_name().unwrap_or_default().to_string(),
                    a.state_value().unwrap().as_str().to_string(),
                    a.dimensions()
                        .iter()
                        .map(|d| format!("{}={}", d.name().unwrap(), d.value().unwrap()))
                        .collect(),
                )
            }));
        }
        out
    })
}

#[test]
fn the_example_stack_deploys_with_its_cloudfront_distribution_and_public_alias() {
    let _moto = sandbox::exclusive();
    let run = cli::strata_sandbox(&[
        "--output",
        "json",
        "deploy",
        &example(),
        "--yes",
        "--bake",
        "0s",
    ]);
    run.expect_code(exit_code::SUCCESS);

    // Every region's gate read the stack's alarms, none in ALARM.
    for region in ["us-east-1", "us-west-2", "eu-west-1"] {
        let details: Vec<String> = run
            .json_lines()
            .iter()
            .filter(|e| e["region"] == region && e["event"] == "health" && e["signal"] == "alarms")
            .map(|e| {
                assert_eq!(e["ok"], true, "{region}: {e}");
                e["detail"].as_str().unwrap().to_string()
            })
            .collect();
        assert!(
            !details.is_empty(),
            "{region}: the gate read no alarms\n{run}"
        );
        for detail in &details {
            let n: usize = detail
                .strip_suffix(" alarms, none in ALARM")
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("{region}: {detail}"));
            assert!(n >= 2, "{region}: {detail}");
        }
        // The alarms exist in CloudWatch, on the load balancer's real dimensions.
        let stack = format!("shop-prod-{region}-");
        let found = alarms(region, &stack, 100);
        let alb = found
            .iter()
            .find(|(name, _, _)| name == &format!("{stack}alb-5xx"))
            .unwrap_or_else(|| panic!("{region}: no 5xx alarm in {found:?}"));
        assert_eq!(alb.1, "OK");
        assert!(
            alb.2.len() == 1 && alb.2[0].starts_with("LoadBalancer=app/"),
            "{region}: {alb:?}"
        );
        // A release whose instances answer 500 or slowly, and replication that
        // fails from this region to any other, each trip an alarm the gate reads.
        let names: Vec<&str> = found.iter().map(|(n, _, _)| n.as_str()).collect();
        let mut want = vec![
            format!("{stack}target-5xx"),
            format!("{stack}target-response-time"),
        ];
        for other in ["us-east-1", "us-west-2", "eu-west-1"] {
            if other != region {
                want.push(format!("{stack}bucket-replication-failures-to-{other}"));
            }
        }
        for name in &want {
            assert!(
                names.contains(&name.as_str()),
                "{region}: no {name} in {names:?}"
            );
        }
        let gated: usize = details
            .last()
            .and_then(|d| d.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap();
        // Every alarm but the dead-letter queue's (people are told of it; a
        // message left over must not block every deploy).
        let told_only = format!("{stack}writes-dead-letters");
        assert!(names.contains(&told_only.as_str()), "{region}: {names:?}");
        assert_eq!(
            gated,
            found.len() - 1,
            "{region}: the gate read every gated alarm: {names:?}"
        );
    }

    let (status, outputs) = global_stack();
    assert_eq!(status, "CREATE_COMPLETE", "{outputs:?}");
    let domain = &outputs["DistributionDomainName"];
    assert!(domain.ends_with(".cloudfront.net"), "{outputs:?}");
    assert!(!outputs["DistributionId"].is_empty(), "{outputs:?}");

    let alias = alias_record("example.com.", "shop.example.com.")
        .expect("the public name's alias record exists");
    assert_eq!(
        alias.trim_end_matches('.'),
        domain.trim_end_matches('.'),
        "the public name points at the distribution"
    );
}

#[test]
fn the_example_stacks_source_ami_is_copied_into_its_other_regions() {
    let _moto = sandbox::exclusive();
    let run = cli::strata_sandbox(&["--output", "json", "ami", "copy", &example()]);
    run.expect_code(exit_code::SUCCESS);
    let out: &Value = &run.json_lines()[0];
    let regions: BTreeMap<String, String> =
        serde_json::from_value(out["regions"].clone()).expect("regions map");
    let source = "ami-0123456789abcdef0";
    assert_eq!(
        regions["us-east-1"], source,
        "the build region uses the source: {run}"
    );

    for region in ["us-west-2", "eu-west-1"] {
        let copy = &regions[region];
        assert_ne!(copy, source, "{region} gets its own copy: {run}");
        let ec2 = sdk::ec2(region);
        let image = sdk::block_on(async {
            ec2.describe_images()
                .image_ids(copy)
                .send()
                .await
                .expect("describe the copy")
                .images()
                .first()
                .cloned()
        })
        .unwrap_or_else(|| panic!("{region}: copy {copy} exists"));
        assert_eq!(image.state().unwrap().as_str(), "available", "{region}");
        let tags: BTreeMap<&str, &str> = image
            .tags()
            .iter()
            .map(|t| (t.key().unwrap(), t.value().unwrap()))
            .collect();
        assert_eq!(tags["strata:source-ami"], source, "{region}: {tags:?}");
        assert_eq!(tags["strata:stack"], "shop-prod", "{region}: {tags:?}");
        assert_eq!(
            tags["strata:version"], "shop-app-1.4.2",
            "{region}: {tags:?}"
        );
    }
}

/// A metric alarm named `name` (threshold 1, any metric).
async fn put_alarm(cw: &aws_sdk_cloudwatch::Client, name: &str) {
    use aws_sdk_cloudwatch::types::{ComparisonOperator, Statistic};
    cw.put_metric_alarm()
        .alarm_name(name)
        .namespace("strata/test")
        .metric_name("Errors")
        .statistic(Statistic::Sum)
        .period(60)
        .evaluation_periods(1)
        .threshold(1.0)
        .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold)
        .send()
        .await
        .expect("PutMetricAlarm");
}

#[test]
fn cloudwatch_answers_the_sdk_over_rpc_v2_cbor_with_pages_states_and_errors() {
    let _moto = sandbox::shared();
    let prefix = sandbox::unique("cbor");
    let cw = sdk::cloudwatch("us-west-2");
    sdk::block_on(async {
        for i in 0..5 {
            put_alarm(&cw, &format!("{prefix}-{i}")).await;
        }
        put_alarm(&cw, &format!("other-{prefix}")).await;
    });

    // Three pages of two; only the prefix's alarms; new alarms are OK.
    let found = alarms("us-west-2", &format!("{prefix}-"), 2);
    let names: Vec<&str> = found.iter().map(|a| a.0.as_str()).collect();
    let expected: Vec<String> = (0..5).map(|i| format!("{prefix}-{i}")).collect();
    assert_eq!(names, expected);
    assert!(found.iter().all(|a| a.1 == "OK"), "{found:?}");
    // Alarms are per region.
    assert!(alarms("eu-west-1", &format!("{prefix}-"), 50).is_empty());

    sdk::block_on(async {
        cw.set_alarm_state()
            .alarm_name(format!("{prefix}-3"))
            .state_value(aws_sdk_cloudwatch::types::StateValue::Alarm)
            .state_reason("test")
            .send()
            .await
            .expect("SetAlarmState");
    });
    let states: Vec<(String, String)> = alarms("us-west-2", &format!("{prefix}-"), 50)
        .into_iter()
        .map(|a| (a.0, a.1))
        .collect();
    for (name, state) in &states {
        let want = if name.ends_with("-3") { "ALARM" } else { "OK" };
        assert_eq!(state, want, "{states:?}");
    }

    // An error is the service's, with its code.
    let err = sdk::block_on(async {
        cw.set_alarm_state()
            .alarm_name(format!("{prefix}-missing"))
            .state_value(aws_sdk_cloudwatch::types::StateValue::Alarm)
            .state_reason("test")
            .send()
            .await
            .expect_err("no such alarm")
    });
    let err = err.into_service_error();
    assert!(err.is_resource_not_found(), "{err:?}");
}

#[test]
fn a_stack_with_an_alarm_creates_updates_and_deletes_it_in_cloudwatch() {
    let _moto = sandbox::shared();
    let stack = sandbox::unique("alarm-stack");
    let name = format!("{stack}-errors");
    let template = |threshold: u32| {
        serde_json::json!({
            "Resources": {
                "Errors": {
                    "Type": "AWS::CloudWatch::Alarm",
                    "Properties": {
                        "AlarmName": name,
                        "Namespace": "strata/test",
                        "MetricName": "Errors",
                        "Statistic": "Sum",
                        "Period": 60,
                        "EvaluationPeriods": 1,
                        "Threshold": threshold,
                        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                        "TreatMissingData": "notBreaching",
                        "Tags": [{ "Key": "team", "Value": "shop" }]
                    }
                }
            },
            "Outputs": { "Name": { "Value": { "Ref": "Errors" } } }
        })
        .to_string()
    };
    let region = "eu-west-1";
    let cfn = sdk::cloudformation(region);
    let cw = sdk::cloudwatch(region);
    let threshold = || {
        sdk::block_on(async {
            let out = cw
                .describe_alarms()
                .alarm_names(&name)
                .send()
                .await
                .expect("DescribeAlarms");
            out.metric_alarms()
                .first()
                .map(|a| (a.threshold().unwrap(), a.state_value().unwrap().clone()))
        })
    };
    let outputs = || {
        sdk::block_on(async {
            cfn.describe_stacks()
                .stack_name(&stack)
                .send()
                .await
                .expect("DescribeStacks")
                .stacks()[0]
                .outputs()
                .iter()
                .map(|o| o.output_value().unwrap().to_string())
                .collect::<Vec<_>>()
        })
    };

    sdk::block_on(async {
        cfn.create_stack()
            .stack_name(&stack)
            .template_body(template(5))
            .send()
            .await
            .expect("CreateStack");
        assert_eq!(
            sdk::settled_stack(&cfn, &stack).await.as_deref(),
            Some("CREATE_COMPLETE")
        );
    });
    assert_eq!(
        threshold(),
        Some((5.0, aws_sdk_cloudwatch::types::StateValue::Ok))
    );
    assert_eq!(outputs(), vec![name.clone()], "Ref is the alarm name");
    let tags = sdk::block_on(async {
        let arn = cw
            .describe_alarms()
            .alarm_names(&name)
            .send()
            .await
            .unwrap()
            .metric_alarms()[0]
            .alarm_arn()
            .unwrap()
            .to_string();
        cw.list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .expect("ListTagsForResource")
            .tags()
            .iter()
            .map(|t| (t.key().unwrap().to_string(), t.value().unwrap().to_string()))
            .collect::<Vec<_>>()
    });
    assert_eq!(tags, [("team".to_string(), "shop".to_string())]);

    // An update changes the alarm and leaves its state alone.
    sdk::block_on(async {
        cw.set_alarm_state()
            .alarm_name(&name)
            .state_value(aws_sdk_cloudwatch::types::StateValue::Alarm)
            .state_reason("test")
            .send()
            .await
            .expect("SetAlarmState");
        cfn.update_stack()
            .stack_name(&stack)
            .template_body(template(7))
            .send()
            .await
            .expect("UpdateStack");
        assert_eq!(
            sdk::settled_stack(&cfn, &stack).await.as_deref(),
            Some("UPDATE_COMPLETE")
        );
    });
    assert_eq!(
        threshold(),
        Some((7.0, aws_sdk_cloudwatch::types::StateValue::Alarm))
    );

    sdk::block_on(async {
        cfn.delete_stack()
            .stack_name(&stack)
            .send()
            .await
            .expect("DeleteStack");
    });
    assert_eq!(threshold(), None, "the stack's deletion deletes the alarm");
}
