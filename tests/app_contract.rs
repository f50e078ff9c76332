//! End-to-end: the application's contract (docs/app-contract.md), read back through
//! the services' own APIs after the real `strata` binary deployed the example stack
//! (CloudFront off) to its three regions.
//!
//! In every region, Parameter Store (GetParametersByPath on `/shop/prod/`) holds
//! exactly the contract's parameters, and each one names something that exists:
//! the region itself, its peers, the public domain, the region's bucket (S3
//! HeadBucket), each table (DynamoDB DescribeTable, ACTIVE) and each queue (SQS
//! GetQueueAttributes on the URL). And IAM (ListRoles, ListRolePolicies,
//! GetRolePolicy, ListAttachedRolePolicies) shows that the instance role is allowed
//! exactly those parameters' reads, and that no other role the deploy made is
//! allowed any read in Parameter Store. The sandbox does not evaluate IAM (moto
//! does not check who reads a parameter: docs/sandbox.md), so what is proven here is
//! the policy IAM holds, not its enforcement.

mod support;

use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};
use support::{cli, sandbox, sdk};

const REGIONS: [&str; 3] = ["us-east-1", "us-west-2", "eu-west-1"];
const PATH: &str = "/shop/prod/";

/// The example stack, CloudFront off (the contract does not depend on the edge, and
/// the distribution's scaled minutes are the slowest part of a cold deploy).
fn example(dir: &std::path::Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(sandbox::repo_dir().join("stacks/example.toml")).unwrap();
    let text = text
        .replace("cloudfront = true", "cloudfront = false")
        .replace("gate_timeout = \"10m\"", "gate_timeout = \"3s\"");
    let path = dir.join("example.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Every parameter under `PATH` in `region`: name -> (type, value).
async fn parameters(ssm: &aws_sdk_ssm::Client, region: &str) -> BTreeMap<String, (String, String)> {
    let mut found = BTreeMap::new();
    let mut next: Option<String> = None;
    loop {
        let page = ssm
            .get_parameters_by_path()
            .path(PATH)
            .recursive(true)
            .set_next_token(next.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("GetParametersByPath {PATH} in {region}: {e:?}"));
        for p in page.parameters() {
            found.insert(
                p.name().unwrap().to_string(),
                (
                    p.r#type()
                        .map(|t| t.as_str().to_string())
                        .unwrap_or_default(),
                    p.value().unwrap_or_default().to_string(),
                ),
            );
        }
        next = page.next_token().map(str::to_string);
        if next.is_none() {
            return found;
        }
    }
}

/// A policy document as IAM returns it: URL-encoded JSON on AWS (GetRolePolicy's
/// `PolicyDocument` is "URL-encoded compliant with RFC 3986"), plain JSON from moto.
fn policy_json(text: &str) -> Json {
    let decoded = if text.trim_start().starts_with('{') {
        text.to_string()
    } else {
        let bytes = text.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' && i + 2 < bytes.len() {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            } else {
                out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    };
    serde_json::from_str(&decoded).unwrap_or_else(|e| panic!("policy {decoded}: {e}"))
}

fn as_list(v: &Json) -> Vec<String> {
    match v {
        Json::String(s) => vec![s.clone()],
        Json::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// Every (action, resource) an Allow statement of `role`'s policies names, with
/// every policy attached to the role (inline and managed) read through IAM.
async fn allowed(iam: &aws_sdk_iam::Client, role: &str) -> BTreeSet<(String, String)> {
    let mut docs = Vec::new();
    let inline = iam
        .list_role_policies()
        .role_name(role)
        .send()
        .await
        .unwrap();
    for name in inline.policy_names() {
        let got = iam
            .get_role_policy()
            .role_name(role)
            .policy_name(name)
            .send()
            .await
            .unwrap();
        docs.push(policy_json(got.policy_document()));
    }
    let attached = iam
        .list_attached_role_policies()
        .role_name(role)
        .send()
        .await
        .unwrap();
    for p in attached.attached_policies() {
        let arn = p.policy_arn().unwrap();
        let policy = iam.get_policy().policy_arn(arn).send().await.unwrap();
        let version = policy
            .policy()
            .unwrap()
            .default_version_id()
            .unwrap()
            .to_string();
        let got = iam
            .get_policy_version()
            .policy_arn(arn)
            .version_id(version)
            .send()
            .await
            .unwrap();
        docs.push(policy_json(
            got.policy_version().unwrap().document().unwrap(),
        ));
    }
    let mut pairs = BTreeSet::new();
    for doc in docs {
        let statements = match &doc["Statement"] {
            Json::Array(a) => a.clone(),
            other => vec![other.clone()],
        };
        for st in statements.iter().filter(|s| s["Effect"] == "Allow") {
            for action in as_list(&st["Action"]) {
                for resource in as_list(&st["Resource"]) {
                    pairs.insert((action.clone(), resource));
                }
            }
        }
    }
    pairs
}

#[test]
fn every_region_publishes_its_contract_and_only_the_instance_role_may_read_it() {
    let _moto = sandbox::exclusive();
    let dir = tempfile::tempdir().unwrap();
    let file = example(dir.path());
    cli::deploy_json(&file).expect_code(0);

    let account = "123456789012";
    // SDK clients are made outside the runtime (their configuration blocks on it).
    let clients: Vec<_> = REGIONS
        .iter()
        .map(|r| {
            (
                *r,
                sdk::cloudformation(r),
                sdk::ssm(r),
                sdk::s3(r),
                sdk::dynamodb(r),
                sdk::sqs(r),
            )
        })
        .collect();
    let iam = sdk::iam();
    sdk::block_on(async {
        let mut instance_roles = BTreeMap::new();
        for (region, cfn, ssm, s3, ddb, sqs) in &clients {
            let region = *region;
            let stack = format!("shop-prod-{region}");
            let role = sdk::stack_resources(cfn, &stack)
                .await
                .into_iter()
                .find(|(logical, _, _)| logical == "InstanceRole")
                .map(|(_, _, physical)| physical)
                .unwrap_or_else(|| panic!("{stack} has no InstanceRole"));
            instance_roles.insert(region, role);

            // Parameter Store: exactly the contract, each value pointing at what exists.
            let found = parameters(ssm, region).await;
            let names: BTreeSet<&str> = found.keys().map(String::as_str).collect();
            let expected: BTreeSet<String> = [
                "region",
                "peers",
                "domain",
                "bucket",
                "tables/orders",
                "queues/writes",
            ]
            .iter()
            .map(|n| format!("{PATH}{n}"))
            .collect();
            assert_eq!(
                names,
                expected.iter().map(String::as_str).collect(),
                "{region}: the parameters under {PATH}"
            );
            let value = |n: &str| found[&format!("{PATH}{n}")].clone();
            assert_eq!(value("region"), ("String".into(), region.to_string()));
            assert_eq!(
                value("domain"),
                ("String".into(), "shop.example.com".into())
            );
            let (kind, peers) = value("peers");
            assert_eq!(kind, "StringList", "{region}: peers");
            let peers: BTreeSet<&str> = peers.split(',').collect();
            let others: BTreeSet<&str> = REGIONS.iter().copied().filter(|r| *r != region).collect();
            assert_eq!(peers, others, "{region}: peers are the other regions");

            let (_, bucket) = value("bucket");
            s3.head_bucket()
                .bucket(&bucket)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{region}: the contract's bucket {bucket}: {e:?}"));
            let (_, table) = value("tables/orders");
            let described = ddb
                .describe_table()
                .table_name(&table)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{region}: the contract's table {table}: {e:?}"));
            assert_eq!(
                described
                    .table()
                    .unwrap()
                    .table_status()
                    .map(|s| s.as_str()),
                Some("ACTIVE"),
                "{region}: {table}"
            );
            let (_, queue) = value("queues/writes");
            sqs.get_queue_attributes()
                .queue_url(&queue)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{region}: the contract's queue {queue}: {e:?}"));
        }

        // IAM: the instance role reads exactly its region's contract; no other role
        // the deploy made reads anything in Parameter Store.
        let roles = iam.list_roles().send().await.unwrap();
        let all_roles: Vec<String> = roles
            .roles()
            .iter()
            .map(|r| r.role_name().to_string())
            .collect();
        assert!(!all_roles.is_empty());
        for role in &all_roles {
            let region = instance_roles
                .iter()
                .find(|(_, name)| *name == role)
                .map(|(r, _)| *r);
            let ssm_reads: BTreeSet<(String, String)> = allowed(&iam, role)
                .await
                .into_iter()
                .filter(|(action, _)| action.starts_with("ssm:") || action == "*")
                .collect();
            match region {
                Some(region) => {
                    let path = format!("arn:aws:ssm:{region}:{account}:parameter/shop/prod");
                    let expected: BTreeSet<(String, String)> = [
                        "ssm:GetParameter",
                        "ssm:GetParameters",
                        "ssm:GetParametersByPath",
                    ]
                    .iter()
                    .flat_map(|a| {
                        [
                            (a.to_string(), path.clone()),
                            (a.to_string(), format!("{path}/*")),
                        ]
                    })
                    .collect();
                    assert_eq!(
                        ssm_reads, expected,
                        "{region}: the instance role {role} reads exactly /shop/prod/ of its region"
                    );
                }
                None => assert!(
                    ssm_reads.is_empty(),
                    "role {role} is not an instance role but may use Parameter Store: {ssm_reads:?}"
                ),
            }
        }
        assert_eq!(instance_roles.len(), REGIONS.len());
    });
}
