//! Every generated resource type, built with its required properties, serializes to
//! JSON that its own vendored registry schema accepts.
//!
//! One line per type, written by hand against the generated constructors (so a
//! renamed field or a changed required set breaks this file). Where the schema needs
//! one of several properties (`oneOf` / cfn-lint's `requiredXor`), the instance sets
//! the one strata uses.

use serde_json::{json, Value as Json};
use std::collections::BTreeMap;
use std::path::Path;
use strata::cfn::gen::{self, *};
use strata::cfn::{Resource, Value};

/// The serialized properties of one instance of each type, keyed by type name.
fn instances() -> Vec<(&'static str, Json)> {
    fn p<R: Resource>(r: R) -> (&'static str, Json) {
        (R::TYPE_NAME, serde_json::to_value(&r).expect("serializes"))
    }
    use dynamodb::global_table::ReplicaSpecification;
    use elasticloadbalancingv2::listener::{Action, ActionType};
    use elasticloadbalancingv2::listener_rule as rule;
    use route53::health_check::{HealthCheckHealthCheckConfig, HealthCheckHealthCheckConfigType};
    let doc = || {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    };
    vec![
        p(autoscaling::AutoScalingGroup {
            launch_template: Some(autoscaling::auto_scaling_group::LaunchTemplateSpecification::new(
                "1",
            )),
            ..autoscaling::AutoScalingGroup::new("1", "3")
        }),
        p(autoscaling::ScalingPolicy::new("web-asg")),
        p(certificatemanager::Certificate::new("shop.example.com")),
        p(cloudfront::Distribution::new(cloudfront::distribution::DistributionConfig::new(
            true,
            cloudfront::distribution::DefaultCacheBehavior::new(
                "alb",
                Value::from(
                    cloudfront::distribution::DefaultCacheBehaviorViewerProtocolPolicy::RedirectToHttps,
                ),
            ),
        ))),
        p(cloudwatch::Alarm {
            metric_name: Some("HealthyHostCount".into()),
            ..Default::default()
        }),
        p(dynamodb::GlobalTable::new(vec![ReplicaSpecification::new("us-east-1")])),
        p(dynamodb::Table::new(vec![dynamodb::table::KeySchema::new("HASH", "pk")])),
        p(ec2::Eip::default()),
        p(ec2::InternetGateway::default()),
        p(ec2::LaunchTemplate::new(ec2::launch_template::LaunchTemplateData::default())),
        p(ec2::NatGateway::default()),
        p(ec2::Route::new("rtb-0123456789abcdef0")),
        p(ec2::RouteTable::new("vpc-0123456789abcdef0")),
        p(ec2::SecurityGroup::new("web tier")),
        p(ec2::SecurityGroupIngress {
            cidr_ip: Some("0.0.0.0/0".into()),
            ..ec2::SecurityGroupIngress::new("tcp")
        }),
        p(ec2::Subnet::new("vpc-0123456789abcdef0")),
        p(ec2::SubnetRouteTableAssociation::new(
            "rtb-0123456789abcdef0",
            "subnet-0123456789abcdef0",
        )),
        p(ec2::Vpc {
            cidr_block: Some("10.0.0.0/16".into()),
            ..Default::default()
        }),
        p(ec2::VpcGatewayAttachment::new("vpc-0123456789abcdef0")),
        p(elasticloadbalancingv2::Listener::new(
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188",
            vec![Action::new(ActionType::Forward)],
        )),
        p(elasticloadbalancingv2::ListenerRule::new(
            vec![rule::Action::new(rule::ActionType::Forward)],
            10,
            vec![rule::RuleCondition {
                field: Some("path-pattern".into()),
                values: Some(vec!["/api/*".into()]),
                ..Default::default()
            }],
        )),
        p(elasticloadbalancingv2::LoadBalancer::default()),
        p(elasticloadbalancingv2::TargetGroup::default()),
        p(iam::InstanceProfile::new(vec![Value::from("web-role")])),
        p(iam::Policy {
            roles: Some(vec!["web-role".into()]),
            ..iam::Policy::new(doc(), "web-policy")
        }),
        p(iam::Role::new(doc())),
        p(route53::HealthCheck::new(HealthCheckHealthCheckConfig::new(
            HealthCheckHealthCheckConfigType::Https,
        ))),
        p(kms::Key::default()),
        p(route53::HostedZone::default()),
        p(route53::RecordSet {
            hosted_zone_id: Some("Z0123456789ABCDEFGHIJ".into()),
            ..route53::RecordSet::new("A", "app.example.com.")
        }),
        p(route53::RecordSetGroup {
            hosted_zone_id: Some("Z0123456789ABCDEFGHIJ".into()),
            ..Default::default()
        }),
        p(s3::Bucket::default()),
        p(s3::BucketPolicy::new("logs-bucket", doc())),
        p(sns::Subscription {
            endpoint: Some("ops@example.com".into()),
            ..sns::Subscription::new("arn:aws:sns:us-east-1:123456789012:alerts", "email")
        }),
        p(sns::Topic::default()),
        p(sns::TopicPolicy::new(
            doc(),
            vec![Value::from("arn:aws:sns:us-east-1:123456789012:alerts")],
        )),
        p(sqs::Queue::default()),
        p(sqs::QueuePolicy::new(
            doc(),
            vec![Value::from("https://sqs.us-east-1.amazonaws.com/123456789012/q")],
        )),
        p(ssm::Parameter::new(
            "shop-prod-orders",
            ssm::parameter::ParameterType::String,
        )),
        p(secretsmanager::Secret {
            name: Some(Value::from("strata/shop-prod/origin-verify")),
            replica_regions: Some(vec![secretsmanager::secret::ReplicaRegion::new(
                "us-west-2",
            )]),
            ..Default::default()
        }),
    ]
}

fn vendored_schemas() -> BTreeMap<String, Json> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas");
    let manifest: Json =
        serde_json::from_str(&std::fs::read_to_string(root.join("MANIFEST.json")).unwrap())
            .unwrap();
    manifest["types"]
        .as_array()
        .expect("manifest lists types")
        .iter()
        .map(|t| {
            let file = root.join(t["file"].as_str().unwrap());
            let schema = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
            (t["type"].as_str().unwrap().to_string(), schema)
        })
        .collect()
}

/// Validation errors of `instance` against a registry schema. Registry schemas name
/// CloudFormation's provider meta-schema in `$schema`, an extension of draft-07 that a
/// validator cannot fetch offline: we drop that key and validate as draft-07 (the
/// extra keywords, such as `relationshipRef` or `insertionOrder`, are annotations).
/// Patterns are ECMA-262 regexes; `rust_regex` translates the one construct the Rust
/// engine reads differently.
fn errors(schema: &Json, instance: &Json) -> Vec<String> {
    let mut schema = schema.clone();
    schema.as_object_mut().unwrap().remove("$schema");
    translate_patterns(&mut schema);
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .build(&schema)
        .expect("registry schema compiles");
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect()
}

/// Rewrite every `pattern` (and `patternProperties` key) for the Rust regex engine.
fn translate_patterns(schema: &mut Json) {
    match schema {
        Json::Object(map) => {
            if let Some(Json::String(p)) = map.get_mut("pattern") {
                *p = rust_regex(p);
            }
            if let Some(Json::Object(pp)) = map.get_mut("patternProperties") {
                let entries = std::mem::take(pp);
                *pp = entries
                    .into_iter()
                    .map(|(k, v)| (rust_regex(&k), v))
                    .collect();
            }
            map.values_mut().for_each(translate_patterns);
        }
        Json::Array(items) => items.iter_mut().for_each(translate_patterns),
        _ => {}
    }
}

/// ECMA-262 reads `[` inside a character class as a literal; the Rust engine reads it
/// as a nested class. Escape it there.
fn rust_regex(pattern: &str) -> String {
    let mut out = String::new();
    let mut in_class = false;
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                out.push(c);
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            '[' if in_class => out.push_str("\\["),
            '[' => {
                in_class = true;
                out.push(c);
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

#[test]
fn ecma_class_brackets_are_escaped_for_rust() {
    assert_eq!(rust_regex(r"^[a-z@[\]+]*$"), r"^[a-z@\[\]+]*$");
    assert_eq!(rust_regex(r"^\[x\]$"), r"^\[x\]$");
    assert_eq!(rust_regex(r"^[a-z]+[0-9]$"), r"^[a-z]+[0-9]$");
}

#[test]
fn every_generated_type_validates_against_its_registry_schema() {
    let schemas = vendored_schemas();
    let instances = instances();
    let mut failures = Vec::new();
    for (type_name, instance) in &instances {
        let schema = schemas
            .get(*type_name)
            .unwrap_or_else(|| panic!("{type_name} is not in schemas/MANIFEST.json"));
        for e in errors(schema, instance) {
            failures.push(format!("{type_name}: {e}\n  instance: {instance}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // All generated types are covered, each once, and they are the manifest's types.
    let covered: Vec<&str> = instances.iter().map(|(t, _)| *t).collect();
    let mut sorted = covered.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), covered.len(), "a type is listed twice");
    assert_eq!(sorted, gen::TYPES, "every generated type has one instance");
    let manifest: Vec<&str> = schemas.keys().map(String::as_str).collect();
    assert_eq!(
        manifest,
        gen::TYPES,
        "generated types are the manifest's types"
    );
}

#[test]
fn the_schemas_reject_an_instance_missing_a_required_property() {
    // Guards the test above against a validator that accepts anything.
    let schemas = vendored_schemas();
    let mut checked = 0;
    for (type_name, instance) in instances() {
        let schema = &schemas[type_name];
        let Some(first) = schema["required"].as_array().and_then(|r| r.first()) else {
            continue;
        };
        let mut broken = instance.clone();
        broken
            .as_object_mut()
            .unwrap()
            .remove(first.as_str().unwrap());
        assert!(
            !errors(schema, &broken).is_empty(),
            "{type_name} accepted an instance without {first}"
        );
        checked += 1;
    }
    assert!(
        checked >= 20,
        "only {checked} types have required properties"
    );
}

#[test]
fn a_wrong_enum_value_is_rejected_by_the_schema_the_enum_came_from() {
    // The enum for Listener action types is generated from the schema's `enum`; a value
    // outside it is what the Rust type rules out at compile time.
    let schemas = vendored_schemas();
    let schema = &schemas["AWS::ElasticLoadBalancingV2::Listener"];
    let bad = json!({
        "LoadBalancerArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/1",
        "DefaultActions": [{"Type": "forwardd"}]
    });
    assert!(!errors(schema, &bad).is_empty());
}
