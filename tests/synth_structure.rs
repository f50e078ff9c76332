//! Structural tests of synthesized templates (not snapshots): the properties a
//! multi-region, no-single-point-of-failure build must have, checked on the
//! example stacks and on generated stacks of other shapes.

mod support;

use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};
use strata::stack::{self, StackDef};
use strata::synth::{self, naming, Phase, RegionTemplate, Synthesized};

fn load_file(name: &str) -> StackDef {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("stacks")
        .join(name);
    stack::load(&path).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn generated(regions: usize, azs: usize) -> StackDef {
    let text = support::stacks::stack_toml(regions, azs);
    stack::load_str(&text, "generated.toml").unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// The example, the other shipped stacks, and a 4-region x 3-AZ generated stack.
fn all_stacks() -> Vec<(String, StackDef)> {
    let mut v: Vec<(String, StackDef)> = ["example.toml", "staging.toml", "four-region.toml"]
        .iter()
        .map(|n| (n.to_string(), load_file(n)))
        .collect();
    v.push(("generated 4x3".into(), generated(4, 3)));
    v.push(("generated 5x2".into(), generated(5, 2)));
    v
}

/// A region's template as JSON resources: logical id -> resource.
fn resources(r: &RegionTemplate) -> BTreeMap<String, Json> {
    let v = serde_json::to_value(&r.template).unwrap();
    v["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn of_type<'a>(
    res: &'a BTreeMap<String, Json>,
    ty: &'a str,
) -> impl Iterator<Item = (&'a String, &'a Json)> {
    res.iter().filter(move |(_, r)| r["Type"] == ty)
}

/// The logical id a `{"Ref": id}` names.
fn ref_id(v: &Json) -> Option<&str> {
    v.get("Ref").and_then(Json::as_str)
}

/// The logical id and attribute of a `{"Fn::GetAtt": [id, attr]}`.
fn get_att(v: &Json) -> Option<(&str, &str)> {
    let a = v.get("Fn::GetAtt")?.as_array()?;
    Some((a[0].as_str()?, a[1].as_str()?))
}

fn prop<'a>(r: &'a Json, name: &str) -> &'a Json {
    &r["Properties"][name]
}

fn subnet_az(res: &BTreeMap<String, Json>, subnet_id: &str) -> String {
    prop(&res[subnet_id], "AvailabilityZone")
        .as_str()
        .unwrap()
        .to_string()
}

/// The ASG's subnets (the private ones).
fn asg_subnets(res: &BTreeMap<String, Json>) -> Vec<String> {
    let (_, asg) = of_type(res, "AWS::AutoScaling::AutoScalingGroup")
        .next()
        .expect("an ASG");
    prop(asg, "VPCZoneIdentifier")
        .as_array()
        .unwrap()
        .iter()
        .map(|v| ref_id(v).unwrap().to_string())
        .collect()
}

/// Route table of each subnet (from the associations).
fn route_table_of(res: &BTreeMap<String, Json>) -> BTreeMap<String, String> {
    of_type(res, "AWS::EC2::SubnetRouteTableAssociation")
        .map(|(_, a)| {
            (
                ref_id(prop(a, "SubnetId")).unwrap().to_string(),
                ref_id(prop(a, "RouteTableId")).unwrap().to_string(),
            )
        })
        .collect()
}

/// The default routes of a route table.
fn default_routes<'a>(res: &'a BTreeMap<String, Json>, table: &'a str) -> Vec<&'a Json> {
    of_type(res, "AWS::EC2::Route")
        .filter(|(_, r)| ref_id(prop(r, "RouteTableId")) == Some(table))
        .filter(|(_, r)| prop(r, "DestinationCidrBlock") == "0.0.0.0/0")
        .map(|(_, r)| r)
        .collect()
}

fn both_phases(def: &StackDef) -> [(Phase, Synthesized); 2] {
    [
        (Phase::Build, synth::synthesize(def, Phase::Build)),
        (Phase::Wired, synth::synthesize(def, Phase::Wired)),
    ]
}

#[test]
fn every_az_has_exactly_one_nat_and_every_private_route_table_uses_its_own_azs_nat() {
    for (name, def) in all_stacks() {
        for r in synth::synthesize(&def, Phase::Wired).regions {
            let res = resources(&r);
            let region = def.region(&r.region).unwrap();
            let mut nats_per_az: BTreeMap<String, usize> = BTreeMap::new();
            for (_, nat) in of_type(&res, "AWS::EC2::NatGateway") {
                let subnet = ref_id(prop(nat, "SubnetId")).unwrap();
                *nats_per_az.entry(subnet_az(&res, subnet)).or_default() += 1;
                let (eip, attr) = get_att(prop(nat, "AllocationId")).unwrap();
                assert_eq!(
                    (res[eip]["Type"].as_str().unwrap(), attr),
                    ("AWS::EC2::EIP", "AllocationId")
                );
            }
            let expected: BTreeMap<String, usize> =
                region.azs.iter().map(|az| (az.clone(), 1)).collect();
            assert_eq!(nats_per_az, expected, "{name} {}: NATs per AZ", r.region);

            let tables = route_table_of(&res);
            for subnet in asg_subnets(&res) {
                let az = subnet_az(&res, &subnet);
                let table = &tables[&subnet];
                let routes = default_routes(&res, table);
                assert_eq!(
                    routes.len(),
                    1,
                    "{name} {}: {subnet} has one default route",
                    r.region
                );
                let nat = ref_id(prop(routes[0], "NatGatewayId"))
                    .unwrap_or_else(|| panic!("{name} {}: {subnet} routes to a NAT", r.region));
                let nat_subnet = ref_id(prop(&res[nat], "SubnetId")).unwrap();
                assert_eq!(
                    subnet_az(&res, nat_subnet),
                    az,
                    "{name} {}: {subnet}'s NAT is in its own AZ",
                    r.region
                );
                let sharing = tables.values().filter(|t| *t == table).count();
                assert_eq!(
                    sharing, 1,
                    "{name} {}: {table} serves only {subnet}",
                    r.region
                );
            }
        }
    }
}

#[test]
fn the_asg_spans_every_private_subnet_one_per_az() {
    for (name, def) in all_stacks() {
        for r in synth::synthesize(&def, Phase::Wired).regions {
            let res = resources(&r);
            let region = def.region(&r.region).unwrap();
            let subnets = asg_subnets(&res);
            let azs: BTreeSet<String> = subnets.iter().map(|s| subnet_az(&res, s)).collect();
            assert_eq!(
                azs,
                region.azs.iter().cloned().collect(),
                "{name} {}",
                r.region
            );
            assert_eq!(subnets.len(), region.azs.len(), "{name} {}", r.region);
            // The private subnets are exactly the ones not routed to the internet gateway.
            let tables = route_table_of(&res);
            let private: BTreeSet<String> = of_type(&res, "AWS::EC2::Subnet")
                .map(|(id, _)| id.clone())
                .filter(|id| {
                    default_routes(&res, &tables[id])
                        .iter()
                        .all(|route| prop(route, "GatewayId").is_null())
                })
                .collect();
            assert_eq!(
                private,
                subnets.iter().cloned().collect(),
                "{name} {}",
                r.region
            );
            // Every public subnet sends its default route to the internet gateway.
            let public = of_type(&res, "AWS::EC2::Subnet").count() - private.len();
            assert_eq!(
                public,
                region.azs.len(),
                "{name} {}: one public subnet per AZ",
                r.region
            );

            let (_, asg) = of_type(&res, "AWS::AutoScaling::AutoScalingGroup")
                .next()
                .unwrap();
            let cap = def.capacity_of(region);
            assert_eq!(prop(asg, "MinSize"), &Json::from(cap.min.to_string()));
            assert_eq!(prop(asg, "MaxSize"), &Json::from(cap.max.to_string()));
            assert_eq!(
                prop(asg, "DesiredCapacity"),
                &Json::from(cap.desired.to_string())
            );
            assert_eq!(prop(asg, "HealthCheckType"), "ELB");
            let keep: u32 = asg["UpdatePolicy"]["AutoScalingRollingUpdate"]
                ["MinInstancesInService"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!(
                keep < cap.max && keep == cap.desired.min(cap.max - 1),
                "{name}: rolling update keeps capacity"
            );
        }
    }
}

#[test]
fn the_instance_security_group_admits_only_the_load_balancer_group_on_the_app_port() {
    for (name, def) in all_stacks() {
        for r in synth::synthesize(&def, Phase::Wired).regions {
            let res = resources(&r);
            let (_, lt) = of_type(&res, "AWS::EC2::LaunchTemplate").next().unwrap();
            let lt_data = prop(lt, "LaunchTemplateData");
            assert_eq!(
                lt_data["MetadataOptions"]["HttpTokens"], "required",
                "{name}: IMDSv2"
            );
            assert_eq!(lt_data["BlockDeviceMappings"][0]["Ebs"]["Encrypted"], true);
            assert_eq!(lt_data["ImageId"], serde_json::json!({"Ref": "AmiId"}));
            let instance_sgs: Vec<&str> = lt_data["SecurityGroupIds"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| get_att(v).unwrap().0)
                .collect();
            assert_eq!(instance_sgs.len(), 1);
            let instance_sg = instance_sgs[0];
            let (_, alb) = of_type(&res, "AWS::ElasticLoadBalancingV2::LoadBalancer")
                .next()
                .unwrap();
            let alb_sg = get_att(&prop(alb, "SecurityGroups")[0]).unwrap().0;
            assert_ne!(instance_sg, alb_sg);

            assert!(
                prop(&res[instance_sg], "SecurityGroupIngress").is_null(),
                "{name}: no inline ingress"
            );
            let rules: Vec<&Json> = of_type(&res, "AWS::EC2::SecurityGroupIngress")
                .map(|(_, i)| i)
                .filter(|i| get_att(prop(i, "GroupId")).map(|g| g.0) == Some(instance_sg))
                .collect();
            assert_eq!(
                rules.len(),
                1,
                "{name} {}: one ingress rule on the instances",
                r.region
            );
            let rule = rules[0];
            assert_eq!(
                get_att(prop(rule, "SourceSecurityGroupId")),
                Some((alb_sg, "GroupId"))
            );
            assert!(prop(rule, "CidrIp").is_null());
            let port = Json::from(def.compute.app_port);
            assert_eq!(
                (prop(rule, "FromPort"), prop(rule, "ToPort")),
                (&port, &port)
            );

            // The load balancer's groups: one listener port, from CloudFront's and the
            // health checkers' managed prefix lists behind CloudFront (one group
            // each), from the internet without it.
            let port = if def.dns.https() { 443 } else { 80 };
            let groups: Vec<&str> = prop(&res["Alb"], "SecurityGroups")
                .as_array()
                .unwrap()
                .iter()
                .map(|g| get_att(g).unwrap().0)
                .collect();
            let mut sources = Vec::new();
            for g in &groups {
                for i in prop(&res[*g], "SecurityGroupIngress").as_array().unwrap() {
                    assert_eq!(i["FromPort"], port, "{name} {g}");
                    assert_eq!(i["ToPort"], port, "{name} {g}");
                    sources.push(if i["CidrIp"].is_null() {
                        i["SourcePrefixListId"]["Ref"].as_str().unwrap().to_string()
                    } else {
                        i["CidrIp"].as_str().unwrap().to_string()
                    });
                }
            }
            if def.edge.cloudfront {
                assert_eq!(groups.len(), 2, "{name}: one group per prefix list");
                assert_eq!(
                    sources,
                    ["CloudFrontPrefixListId", "HealthCheckPrefixListId"],
                    "{name}"
                );
            } else {
                assert_eq!(sources, ["0.0.0.0/0"], "{name}");
            }
            let listeners: Vec<&Json> = of_type(&res, "AWS::ElasticLoadBalancingV2::Listener")
                .map(|(_, l)| l)
                .collect();
            assert_eq!(
                listeners.len(),
                1,
                "{name}: one listener, nothing on 80 to redirect"
            );
            assert_eq!(prop(listeners[0], "Port"), port);
            let default = &prop(listeners[0], "DefaultActions")[0]["Type"];
            if def.edge.cloudfront {
                assert_eq!(default, "fixed-response", "{name}: 403 unless verified");
            } else {
                assert_eq!(default, "forward", "{name}");
            }
            if def.dns.https() {
                let https = listeners[0];
                assert_eq!(prop(https, "Protocol"), "HTTPS");
                assert_eq!(
                    prop(https, "SslPolicy"),
                    "ELBSecurityPolicy-TLS13-1-2-2021-06"
                );
                // The region's own certificate: the user's, or one strata requests.
                let cert = &prop(https, "Certificates")[0]["CertificateArn"];
                match def.dns.certificate_for(&r.region) {
                    Some(arn) => assert_eq!(cert, arn, "{name}"),
                    None => {
                        assert_eq!(cert["Ref"], "RegionalCertificate", "{name}");
                        let c = prop(&res["RegionalCertificate"], "DomainName");
                        assert_eq!(c, strata::synth::latency_name(&def).as_str());
                    }
                }
            }
        }
    }
}

#[test]
fn every_routed_record_has_a_health_check_and_every_region_a_latency_record() {
    for (name, def) in all_stacks() {
        for r in synth::synthesize(&def, Phase::Wired).regions {
            let res = resources(&r);
            let region = def.region(&r.region).unwrap();
            let records: Vec<&Json> = of_type(&res, "AWS::Route53::RecordSet")
                .map(|(_, v)| v)
                .collect();
            for rec in &records {
                if prop(rec, "Failover") == "SECONDARY" {
                    continue; // the latency name's CNAME: see the failover test below
                }
                let hc = ref_id(prop(rec, "HealthCheckId")).expect("record has a health check");
                assert_eq!(res[hc]["Type"], "AWS::Route53::HealthCheck");
                if prop(rec, "Failover").is_null() {
                    assert_eq!(prop(rec, "AliasTarget")["EvaluateTargetHealth"], true);
                }
                assert_eq!(prop(rec, "SetIdentifier"), r.region.as_str());
            }
            let latency: Vec<_> = records
                .iter()
                .filter(|r| !prop(r, "Region").is_null())
                .collect();
            assert_eq!(latency.len(), 1, "{name} {}: one latency record", r.region);
            assert_eq!(prop(latency[0], "Region"), r.region.as_str());
            let expected_name = if def.edge.cloudfront {
                def.dns.origin_name()
            } else {
                def.dns.domain.clone()
            };
            assert_eq!(
                prop(latency[0], "Name"),
                format!("{expected_name}.").as_str()
            );
            let failover: Vec<_> = records
                .iter()
                .filter(|r| !prop(r, "Failover").is_null())
                .collect();
            let first_secondary = def
                .regions
                .iter()
                .find(|x| x.failover == Some(strata::stack::FailoverRole::Secondary))
                .map(|x| x.name.as_str());
            let declares = region.failover == Some(strata::stack::FailoverRole::Primary)
                || first_secondary == Some(r.region.as_str());
            assert_eq!(failover.len(), usize::from(declares), "{name} {}", r.region);
            for f in failover {
                assert_eq!(
                    prop(f, "Name"),
                    format!("{}.", def.dns.failover_name()).as_str()
                );
            }
            let (_, hc) = of_type(&res, "AWS::Route53::HealthCheck").next().unwrap();
            let cfg = prop(hc, "HealthCheckConfig");
            assert_eq!(cfg["ResourcePath"], def.compute.health_check_path.as_str());
            assert_eq!(
                get_att(&cfg["FullyQualifiedDomainName"]),
                Some(("Alb", "DNSName"))
            );
        }
    }
}

/// A string property as CloudFormation resolves it in the sandbox's account: a
/// literal, the account's `Ref`, or an `Fn::Sub` of the account and partition
/// pseudo parameters.
fn resolved(v: &Json) -> String {
    if v["Ref"] == "AWS::AccountId" {
        return "123456789012".to_string();
    }
    let text = v
        .as_str()
        .or_else(|| v["Fn::Sub"].as_str())
        .unwrap_or_else(|| panic!("a literal or an Fn::Sub: {v}"));
    text.replace("${AWS::AccountId}", "123456789012")
        .replace("${AWS::Partition}", "aws")
}

#[test]
fn every_bucket_replicates_to_every_other_regions_bucket() {
    for (name, def) in all_stacks() {
        let out = synth::synthesize(&def, Phase::Wired);
        let buckets: BTreeMap<String, String> = out
            .regions
            .iter()
            .map(|r| {
                let res = resources(r);
                (
                    r.region.clone(),
                    resolved(prop(&res["Bucket"], "BucketName")),
                )
            })
            .collect();
        let distinct: BTreeSet<&String> = buckets.values().collect();
        assert_eq!(
            distinct.len(),
            buckets.len(),
            "{name}: bucket names are distinct"
        );
        for r in &out.regions {
            let res = resources(r);
            let bucket = &res["Bucket"];
            // Only this account can create (or hold) a name in its regional namespace.
            assert_eq!(prop(bucket, "BucketNamespace"), "account-regional");
            assert!(buckets[&r.region].ends_with(&format!("-123456789012-{}-an", r.region)));
            assert_eq!(prop(bucket, "VersioningConfiguration")["Status"], "Enabled");
            let block = prop(bucket, "PublicAccessBlockConfiguration");
            for k in [
                "BlockPublicAcls",
                "BlockPublicPolicy",
                "IgnorePublicAcls",
                "RestrictPublicBuckets",
            ] {
                assert_eq!(block[k], true, "{name}: {k}");
            }
            let policy = prop(&res["BucketPolicy"], "PolicyDocument").to_string();
            assert!(
                policy.contains("aws:SecureTransport"),
                "{name}: TLS-only policy"
            );

            let rules = prop(bucket, "ReplicationConfiguration")["Rules"]
                .as_array()
                .cloned();
            if !def.storage.replication {
                assert!(rules.is_none(), "{name}: replication is off");
                continue;
            }
            let dests: BTreeSet<String> = rules
                .unwrap_or_else(|| panic!("{name} {}: replication rules", r.region))
                .iter()
                .map(|rule| {
                    assert_eq!(rule["Status"], "Enabled");
                    // Pinned to the stack's own account.
                    assert_eq!(resolved(&rule["Destination"]["Account"]), "123456789012");
                    resolved(&rule["Destination"]["Bucket"])
                        .trim_start_matches("arn:aws:s3:::")
                        .to_string()
                })
                .collect();
            let others: BTreeSet<String> = buckets
                .iter()
                .filter(|(region, _)| **region != r.region)
                .map(|(_, b)| b.clone())
                .collect();
            assert_eq!(dests, others, "{name} {}", r.region);
            let role = get_att(&prop(bucket, "ReplicationConfiguration")["Role"])
                .unwrap()
                .0;
            assert_eq!(res[role]["Type"], "AWS::IAM::Role");
            // The role reads and writes buckets of this account only.
            let statements = res[role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
                .as_array()
                .unwrap()
                .clone();
            for st in &statements {
                assert_eq!(
                    st["Condition"]["StringEquals"]["aws:ResourceAccount"],
                    serde_json::json!({ "Ref": "AWS::AccountId" }),
                    "{name} {}: {st}",
                    r.region
                );
            }
        }
    }
}

#[test]
fn the_build_phase_has_no_cross_region_reference_and_keeps_the_health_check() {
    for (name, def) in all_stacks() {
        let out = synth::synthesize(&def, Phase::Build);
        for r in &out.regions {
            let mut res = resources(r);
            assert_eq!(
                of_type(&res, "AWS::Route53::RecordSet").count(),
                0,
                "{name}: no records"
            );
            assert_eq!(
                of_type(&res, "AWS::Route53::HealthCheck").count(),
                1,
                "{name}: health check"
            );
            assert!(
                prop(&res["Bucket"], "ReplicationConfiguration").is_null(),
                "{name}: no replication"
            );
            // The home region's global table and origin secret name every region by
            // design (their replicas, which must exist before the other regions are
            // wired); apart from them, no other region appears anywhere.
            res.retain(|_, v| {
                v["Type"] != "AWS::DynamoDB::GlobalTable"
                    && v["Type"] != "AWS::SecretsManager::Secret"
            });
            let text = serde_json::to_string(&res).unwrap();
            for other in def.regions.iter().filter(|o| o.name != r.region) {
                assert!(
                    !text.contains(&format!("\"{}", other.name))
                        && !text.contains(&format!("-{}-", other.name)),
                    "{name} {}: build template mentions {}",
                    r.region,
                    other.name
                );
            }
        }
        assert_eq!(out.global, synth::synthesize(&def, Phase::Wired).global);
    }
}

#[test]
fn the_global_table_lives_in_the_home_region_only_with_a_replica_everywhere() {
    for (name, def) in all_stacks() {
        let home = synth::home_region(&def).to_string();
        assert_eq!(
            home,
            def.rollout.waves()[0][0],
            "{name}: home is the first of the rollout"
        );
        for (_, out) in both_phases(&def) {
            for r in &out.regions {
                let res = resources(r);
                let globals: Vec<&Json> = of_type(&res, "AWS::DynamoDB::GlobalTable")
                    .map(|(_, v)| v)
                    .collect();
                let expected = if r.region == home {
                    def.tables.iter().filter(|t| t.global).count()
                } else {
                    0
                };
                assert_eq!(globals.len(), expected, "{name} {}", r.region);
                for g in globals {
                    let replicas: BTreeSet<&str> = prop(g, "Replicas")
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|rep| {
                            assert_eq!(
                                rep["PointInTimeRecoverySpecification"]
                                    ["PointInTimeRecoveryEnabled"],
                                true
                            );
                            rep["Region"].as_str().unwrap()
                        })
                        .collect();
                    assert_eq!(
                        replicas,
                        def.regions.iter().map(|r| r.name.as_str()).collect()
                    );
                    assert_eq!(prop(g, "SSESpecification")["SSEEnabled"], true);
                    assert_eq!(
                        prop(g, "StreamSpecification")["StreamViewType"],
                        "NEW_AND_OLD_IMAGES"
                    );
                    assert_eq!(g["DeletionPolicy"], "RetainExceptOnCreate");
                    assert_eq!(g["UpdateReplacePolicy"], "Retain");
                }
                let regional = of_type(&res, "AWS::DynamoDB::Table").count();
                assert_eq!(
                    regional,
                    def.tables.iter().filter(|t| !t.global).count(),
                    "{name}"
                );
                for q in &def.queues {
                    let queue = &res[&format!("Queue{}", naming::pascal(&q.name))];
                    let dlq_id = format!("Queue{}DeadLetter", naming::pascal(&q.name));
                    assert_eq!(
                        get_att(&prop(queue, "RedrivePolicy")["deadLetterTargetArn"]),
                        Some((dlq_id.as_str(), "Arn"))
                    );
                    assert_eq!(prop(queue, "SqsManagedSseEnabled"), true);
                    assert_eq!(prop(&res[&dlq_id], "SqsManagedSseEnabled"), true);
                }
            }
        }
    }
}

#[test]
fn the_instance_role_reaches_only_this_stacks_data() {
    let def = load_file("example.toml");
    for r in synth::synthesize(&def, Phase::Wired).regions {
        let res = resources(&r);
        let doc = &prop(&res["InstanceRole"], "Policies")[0]["PolicyDocument"];
        for st in doc["Statement"].as_array().unwrap() {
            assert_eq!(st["Effect"], "Allow");
            let resources = st["Resource"].to_string();
            assert!(!resources.contains("\"*\""), "no wildcard resource: {st}");
            let actions = st["Action"].to_string();
            assert!(!actions.contains(":*"), "no wildcard action: {st}");
        }
        let text = doc.to_string();
        assert!(text.contains("table/shop-prod-orders"));
        assert!(text.contains("QueueWrites"));
        assert!(text.contains("\"Bucket\""));
    }
}

#[test]
fn every_taggable_resource_carries_the_standard_tags() {
    let def = load_file("example.toml");
    let out = synth::synthesize(&def, Phase::Wired);
    let mut templates: Vec<(String, Json)> = out
        .regions
        .iter()
        .map(|r| (r.region.clone(), serde_json::to_value(&r.template).unwrap()))
        .collect();
    templates.push((
        "us-east-1".into(),
        serde_json::to_value(out.global.as_ref().unwrap()).unwrap(),
    ));
    templates.push((
        "us-east-1".into(),
        serde_json::to_value(out.zone.as_ref().unwrap()).unwrap(),
    ));
    for (region, t) in templates {
        for (id, r) in t["Resources"].as_object().unwrap() {
            let tags = ["Tags", "HealthCheckTags", "HostedZoneTags"]
                .iter()
                .map(|k| prop(r, k))
                .chain([&prop(r, "TagSpecifications")[0]["Tags"]])
                .find(|v| !v.is_null());
            let ty = r["Type"].as_str().unwrap();
            let taggable = !matches!(
                ty,
                "AWS::EC2::Route"
                    | "AWS::EC2::SubnetRouteTableAssociation"
                    | "AWS::EC2::VPCGatewayAttachment"
                    | "AWS::EC2::SecurityGroupIngress"
                    | "AWS::IAM::InstanceProfile"
                    | "AWS::S3::BucketPolicy"
                    | "AWS::AutoScaling::ScalingPolicy"
                    | "AWS::Route53::RecordSet"
                    | "AWS::DynamoDB::GlobalTable"
                    | "AWS::SNS::Subscription"
                    | "AWS::SNS::TopicPolicy"
            );
            if !taggable {
                continue;
            }
            let tags = tags.unwrap_or_else(|| panic!("{id} ({ty}) has no tags"));
            // A list of {Key, Value}, or a map (AWS::SSM::Parameter's Tags).
            let tags: BTreeMap<&str, &str> = match tags.as_object() {
                Some(map) => map
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str().unwrap()))
                    .collect(),
                None => tags
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| (t["Key"].as_str().unwrap(), t["Value"].as_str().unwrap()))
                    .collect(),
            };
            assert_eq!(tags.get("app"), Some(&"shop"), "{id}");
            assert_eq!(tags.get("environment"), Some(&"prod"), "{id}");
            assert_eq!(tags.get("region"), Some(&region.as_str()), "{id}");
            assert_eq!(tags.get("managed-by"), Some(&"strata"), "{id}");
        }
    }
}

#[test]
fn every_region_exports_what_a_deploy_reads() {
    for (name, def) in all_stacks() {
        for r in synth::synthesize(&def, Phase::Build).regions {
            for output in [
                "AlbDnsName",
                "AlbHostedZoneId",
                "AsgName",
                "TargetGroupArn",
                "HealthCheckId",
                "LoadBalancerFullName",
                "AlarmNames",
            ] {
                assert!(
                    r.template.outputs.contains_key(output),
                    "{name} {}: {output}",
                    r.region
                );
            }
            assert_eq!(
                r.template.outputs.contains_key("BucketName"),
                def.storage.enabled
            );
            assert_eq!(r.template.parameters["AmiId"].kind, "AWS::EC2::Image::Id");
            assert_eq!(r.stack_name, def.region_stack_name(&r.region));
        }
    }
}

#[test]
fn the_global_template_fronts_the_origin_name_with_api_caching() {
    for (name, def) in all_stacks() {
        let out = synth::synthesize(&def, Phase::Wired);
        assert_eq!(out.zone.is_some(), def.dns.manage_zone, "{name}");
        let Some(global) = out.global else {
            assert!(!def.edge.cloudfront, "{name}");
            continue;
        };
        let t = serde_json::to_value(&global).unwrap();
        let dist = &t["Resources"]["Distribution"]["Properties"]["DistributionConfig"];
        let origin = &dist["Origins"][0];
        assert_eq!(
            origin["DomainName"],
            def.dns.origin_name().as_str(),
            "{name}"
        );
        let policy = if def.dns.https() {
            "https-only"
        } else {
            "http-only"
        };
        assert_eq!(
            origin["CustomOriginConfig"]["OriginProtocolPolicy"], policy,
            "{name}"
        );
        let behavior = &dist["DefaultCacheBehavior"];
        assert_eq!(behavior["ViewerProtocolPolicy"], "redirect-to-https");
        assert_eq!(
            behavior["CachedMethods"],
            serde_json::json!(["GET", "HEAD"])
        );
        assert_eq!(behavior["DefaultTTL"], 0.0);
        assert!(behavior["AllowedMethods"]
            .as_array()
            .unwrap()
            .contains(&Json::from("POST")));
        let headers = behavior["ForwardedValues"]["Headers"].as_array().unwrap();
        assert!(
            headers.contains(&Json::from("Authorization"))
                && !headers.contains(&Json::from("Host"))
        );
        // The public name is always an alias, with a certificate of its own:
        // the user's, or the one strata requests in the global stack.
        assert_eq!(dist["Aliases"], serde_json::json!([def.dns.domain]));
        let viewer = &dist["ViewerCertificate"];
        match &def.edge.certificate_arn {
            Some(arn) => assert_eq!(viewer["AcmCertificateArn"], arn.as_str()),
            None => {
                assert_eq!(viewer["AcmCertificateArn"]["Ref"], "EdgeCertificate");
                let cert = &t["Resources"]["EdgeCertificate"]["Properties"];
                assert_eq!(cert["DomainName"], def.dns.domain.as_str());
                assert_eq!(cert["ValidationMethod"], "DNS");
            }
        }
        assert_eq!(viewer["SslSupportMethod"], "sni-only");
        assert_eq!(viewer["MinimumProtocolVersion"], "TLSv1.2_2021");
        let record = &t["Resources"]["PublicAliasRecord"]["Properties"];
        assert_eq!(record["Name"], format!("{}.", def.dns.domain).as_str());
        assert_eq!(record["AliasTarget"]["HostedZoneId"], "Z2FDTNDATAQYW2");
        assert_eq!(
            get_att(&record["AliasTarget"]["DNSName"]),
            Some(("Distribution", "DomainName"))
        );
    }
}

#[test]
fn synthesis_is_deterministic() {
    for (name, def) in all_stacks() {
        for phase in [Phase::Build, Phase::Wired] {
            let a = synth::synthesize(&def, phase);
            let b = synth::synthesize(&def.clone(), phase);
            for (x, y) in a.regions.iter().zip(&b.regions) {
                assert_eq!(
                    x.template.to_json_pretty().as_bytes(),
                    y.template.to_json_pretty().as_bytes(),
                    "{name}"
                );
            }
            assert_eq!(
                a.global.map(|g| g.to_json_pretty()),
                b.global.map(|g| g.to_json_pretty())
            );
            assert_eq!(
                a.zone.map(|g| g.to_json_pretty()),
                b.zone.map(|g| g.to_json_pretty())
            );
        }
    }
}

#[test]
fn four_regions_of_three_azs_get_derived_non_overlapping_subnets() {
    let def = generated(4, 3);
    let out = synth::synthesize(&def, Phase::Wired);
    assert_eq!(out.regions.len(), 4);
    for r in &out.regions {
        let res = resources(r);
        let region = def.region(&r.region).unwrap();
        let vpc: ipnet::Ipv4Net = region.cidr.parse().unwrap();
        let nets: Vec<ipnet::Ipv4Net> = of_type(&res, "AWS::EC2::Subnet")
            .map(|(_, s)| prop(s, "CidrBlock").as_str().unwrap().parse().unwrap())
            .collect();
        assert_eq!(nets.len(), 6);
        for (i, a) in nets.iter().enumerate() {
            assert!(vpc.contains(a), "{a} inside {vpc}");
            assert_eq!(a.prefix_len(), 19);
            for b in &nets[i + 1..] {
                assert!(!a.contains(b) && !b.contains(a), "{a} overlaps {b}");
            }
        }
        assert_eq!(of_type(&res, "AWS::EC2::NatGateway").count(), 3);
        let metrics: Vec<&str> = of_type(&res, "AWS::CloudWatch::Alarm")
            .map(|(_, a)| prop(a, "MetricName").as_str().unwrap())
            .collect();
        assert_eq!(
            metrics.len(),
            4 + 3 + 3 + 1,
            "ELB 5xx, target 5xx, target response time, unhealthy hosts, table and \
             bucket replication to 3 regions, and the queue's dead letters: {metrics:?}"
        );
        for metric in [
            "ApproximateNumberOfMessagesVisible",
            "HTTPCode_ELB_5XX_Count",
            "HTTPCode_Target_5XX_Count",
            "TargetResponseTime",
            "UnHealthyHostCount",
        ] {
            assert_eq!(
                metrics.iter().filter(|m| **m == metric).count(),
                1,
                "{metric}"
            );
        }
        // Every region watches its own outgoing replication, to every other region.
        for metric in ["ReplicationLatency", "OperationsFailedReplication"] {
            assert_eq!(
                metrics.iter().filter(|m| **m == metric).count(),
                3,
                "{metric}"
            );
        }
    }
}

#[test]
fn bucket_replication_failures_are_alarmed_on_the_rules_metrics() {
    let def = load_file("example.toml");
    let out = synth::synthesize(&def, Phase::Wired);
    for r in &out.regions {
        let res = resources(r);
        let (_, bucket) = of_type(&res, "AWS::S3::Bucket").next().unwrap();
        let rules = prop(bucket, "ReplicationConfiguration")["Rules"]
            .as_array()
            .unwrap()
            .clone();
        let source = resolved(prop(bucket, "BucketName"));
        let failures: Vec<&serde_json::Value> = of_type(&res, "AWS::CloudWatch::Alarm")
            .filter(|(_, a)| prop(a, "MetricName") == "OperationsFailedReplication")
            .map(|(_, a)| a)
            .collect();
        assert_eq!(failures.len(), rules.len(), "{}", r.region);
        for rule in &rules {
            // Without replication metrics the alarm's metric is never published.
            assert_eq!(rule["Destination"]["Metrics"]["Status"], "Enabled");
            let dest = resolved(&rule["Destination"]["Bucket"])
                .trim_start_matches("arn:aws:s3:::")
                .to_string();
            let dims = |a: &serde_json::Value| -> Vec<(String, String)> {
                prop(a, "Dimensions")
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| {
                        (
                            d["Name"].as_str().unwrap().to_string(),
                            resolved(&d["Value"]),
                        )
                    })
                    .collect()
            };
            let want = vec![
                ("SourceBucket".to_string(), source.clone()),
                ("DestinationBucket".to_string(), dest.clone()),
                (
                    "RuleId".to_string(),
                    rule["Id"].as_str().unwrap().to_string(),
                ),
            ];
            assert!(
                failures.iter().any(|a| dims(a) == want),
                "{}: no failure alarm on the rule to {dest}",
                r.region
            );
        }
        // Versioned buckets expire what they keep.
        let lifecycle = &prop(bucket, "LifecycleConfiguration")["Rules"][0];
        assert_eq!(
            lifecycle["NoncurrentVersionExpiration"]["NoncurrentDays"],
            90
        );
        // The load balancer waits for the internet gateway's attachment.
        let (_, alb) = of_type(&res, "AWS::ElasticLoadBalancingV2::LoadBalancer")
            .next()
            .unwrap();
        assert_eq!(
            alb["DependsOn"],
            serde_json::json!(["InternetGatewayAttachment"])
        );
    }
}

#[test]
fn an_unsynthesizable_definition_is_an_error_not_a_panic() {
    let mut def = load_file("example.toml");
    def.regions[1].cidr = "10.20.0.0/24".into();
    def.regions[1].azs = (0..9)
        .map(|i| format!("us-west-2{}", (b'a' + i) as char))
        .collect();
    let err = synth::try_synthesize(&def, Phase::Wired).unwrap_err();
    assert!(
        err.to_string().contains("us-west-2") && err.to_string().contains("too small"),
        "{err}"
    );
    let mut def = load_file("example.toml");
    def.edge.price_class = "PriceClass_42".into();
    assert!(synth::try_synthesize(&def, Phase::Wired)
        .unwrap_err()
        .to_string()
        .contains("PriceClass_42"));
}

#[test]
fn bucket_names_are_deterministic_valid_and_distinct_even_for_long_names() {
    let def = load_file("example.toml");
    let hash = naming::short_hash("shop-prod");
    let account = "123456789012";
    assert_eq!(
        naming::bucket_name_in(&def, account, "us-east-1"),
        format!("shop-prod-{hash}-123456789012-us-east-1-an")
    );
    // In a template, the account is CloudFormation's AWS::AccountId.
    assert_eq!(
        naming::bucket_name(&def, "us-east-1").to_json(),
        serde_json::json!({ "Fn::Sub": format!("shop-prod-{hash}-${{AWS::AccountId}}-us-east-1-an") })
    );
    let mut long = def.clone();
    long.app.name = "a".repeat(32);
    long.app.environment = "e".repeat(32);
    let names: BTreeSet<String> = ["ap-southeast-2", "ap-southeast-3"]
        .iter()
        .map(|r| naming::bucket_name_in(&long, account, r))
        .collect();
    assert_eq!(names.len(), 2);
    for n in &names {
        assert!(n.len() <= 63, "{n} is {} characters", n.len());
        assert!(n
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
        assert!(!n.contains("--") && !n.starts_with('-'), "{n}");
        // The account regional namespace's suffix (S3 bucket naming rules).
        assert!(
            n.ends_with("-123456789012-ap-southeast-2-an")
                || n.ends_with("-123456789012-ap-southeast-3-an"),
            "{n}"
        );
        assert!(n.contains(&naming::short_hash(&long.stack_name())), "{n}");
    }
    assert_eq!(naming::table_name(&def, "orders"), "shop-prod-orders");
    assert_eq!(naming::queue_name(&def, "writes"), "shop-prod-writes");
}

/// Route 53 failover is one PRIMARY and one SECONDARY record per name and type
/// (API_ResourceRecordSet, Failover): across a stack's regions, exactly one of each;
/// the PRIMARY is the primary region's load balancer behind its serving check, the
/// SECONDARY the latency name (every healthy region), without a health check.
#[test]
fn a_failover_name_has_exactly_one_primary_and_one_secondary() {
    for (name, def) in all_stacks() {
        if def.regions.iter().all(|r| r.failover.is_none()) {
            continue;
        }
        let mut roles: Vec<(String, Json)> = Vec::new();
        for r in synth::synthesize(&def, Phase::Wired).regions {
            let res = resources(&r);
            for (_, rec) in of_type(&res, "AWS::Route53::RecordSet") {
                if !prop(rec, "Failover").is_null() {
                    assert_eq!(prop(rec, "Type"), "CNAME", "{name}");
                    assert_eq!(prop(rec, "TTL"), "60", "{name}");
                    roles.push((r.region.clone(), rec.clone()));
                }
            }
        }
        let of = |role: &str| -> Vec<&(String, Json)> {
            roles
                .iter()
                .filter(|(_, rec)| prop(rec, "Failover") == role)
                .collect()
        };
        let (primary, secondary) = (of("PRIMARY"), of("SECONDARY"));
        assert_eq!(
            (primary.len(), secondary.len()),
            (1, 1),
            "{name}: {roles:?}"
        );
        let primary_region = def
            .regions
            .iter()
            .find(|r| r.failover == Some(strata::stack::FailoverRole::Primary))
            .unwrap();
        assert_eq!(primary[0].0, primary_region.name, "{name}");
        assert_eq!(
            get_att(&prop(&primary[0].1, "ResourceRecords")[0]),
            Some(("Alb", "DNSName"))
        );
        assert!(!prop(&primary[0].1, "HealthCheckId").is_null());
        let latency = if def.edge.cloudfront {
            def.dns.origin_name()
        } else {
            def.dns.domain.clone()
        };
        assert_eq!(
            prop(&secondary[0].1, "ResourceRecords")[0],
            format!("{latency}.").as_str(),
            "{name}: the SECONDARY answers with the latency name"
        );
        assert!(prop(&secondary[0].1, "HealthCheckId").is_null());
        assert_eq!(prop(&secondary[0].1, "SetIdentifier"), "latency");
    }
}
