//! `cargo xtask vendor-schemas`: copy the registry schemas strata generates from out of
//! an unpacked `cfn-lint` wheel into `schemas/registry/`, and write `schemas/MANIFEST.json`.
//!
//! The files are copied byte for byte (fixes go in `patches`), so each one's sha256 in
//! the manifest is the sha256 of the file inside the published package.

use anyhow::{bail, Context, Result};
use serde_json::{json, Value as Json};
use sha2::{Digest, Sha256};
use std::path::Path;

/// Every resource type strata emits. Add a type here, re-vendor, regenerate.
pub const VENDORED_TYPES: &[&str] = &[
    "AWS::AutoScaling::AutoScalingGroup",
    "AWS::AutoScaling::ScalingPolicy",
    "AWS::CertificateManager::Certificate",
    "AWS::CloudFront::Distribution",
    "AWS::CloudWatch::Alarm",
    "AWS::DynamoDB::GlobalTable",
    "AWS::DynamoDB::Table",
    "AWS::EC2::EIP",
    "AWS::EC2::InternetGateway",
    "AWS::EC2::LaunchTemplate",
    "AWS::EC2::NatGateway",
    "AWS::EC2::Route",
    "AWS::EC2::RouteTable",
    "AWS::EC2::SecurityGroup",
    "AWS::EC2::SecurityGroupIngress",
    "AWS::EC2::Subnet",
    "AWS::EC2::SubnetRouteTableAssociation",
    "AWS::EC2::VPC",
    "AWS::EC2::VPCGatewayAttachment",
    "AWS::ElasticLoadBalancingV2::Listener",
    "AWS::ElasticLoadBalancingV2::ListenerRule",
    "AWS::ElasticLoadBalancingV2::LoadBalancer",
    "AWS::ElasticLoadBalancingV2::TargetGroup",
    "AWS::IAM::InstanceProfile",
    "AWS::IAM::Policy",
    "AWS::IAM::Role",
    "AWS::KMS::Key",
    "AWS::Route53::HealthCheck",
    "AWS::Route53::HostedZone",
    "AWS::Route53::RecordSet",
    "AWS::Route53::RecordSetGroup",
    "AWS::S3::Bucket",
    "AWS::S3::BucketPolicy",
    "AWS::SNS::Subscription",
    "AWS::SNS::Topic",
    "AWS::SNS::TopicPolicy",
    "AWS::SQS::Queue",
    "AWS::SQS::QueuePolicy",
    "AWS::SSM::Parameter",
    "AWS::SecretsManager::Secret",
];

/// The region whose provider list picks the schema files.
const REGION: &str = "us-east-1";

/// `AWS::EC2::VPC` -> `aws-ec2-vpc.json`.
pub fn schema_file_name(type_name: &str) -> String {
    format!("{}.json", type_name.to_ascii_lowercase().replace("::", "-"))
}

/// Hex sha256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Vendor from `unpacked` (a directory holding the wheel's `cfnlint/`), writing into
/// `root/schemas`. `today` is the vendoring date (YYYY-MM-DD).
pub fn vendor(
    root: &Path,
    unpacked: &Path,
    version: &str,
    wheel_sha256: &str,
    today: &str,
) -> Result<()> {
    let data = unpacked.join("cfnlint/data/schemas");
    let read_json = |p: &Path| -> Result<Json> {
        let text =
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", p.display()))
    };
    let providers = read_json(&data.join(format!("providers/{REGION}.json")))?;
    let schema_date = read_json(&data.join("version.json"))?["schema_date"].clone();
    let out = root.join("schemas/registry");
    std::fs::create_dir_all(&out)?;
    let mut types = Vec::new();
    for t in VENDORED_TYPES {
        let hash = providers
            .get(*t)
            .and_then(Json::as_str)
            .with_context(|| format!("{t} is not in providers/{REGION}.json"))?;
        let src = data.join(format!("resources/{hash}.json"));
        let bytes = std::fs::read(&src).with_context(|| format!("reading {}", src.display()))?;
        let parsed: Json = serde_json::from_slice(&bytes)?;
        if parsed.get("typeName").and_then(Json::as_str) != Some(t) {
            bail!("{} is not the schema of {t}", src.display());
        }
        let file = schema_file_name(t);
        std::fs::write(out.join(&file), &bytes)?;
        types.push(json!({
            "type": t,
            "file": format!("registry/{file}"),
            "source": format!(
                "PyPI cfn-lint=={version}: cfnlint/data/schemas/resources/{hash}.json \
                 (region {REGION}, providers/{REGION}.json)"
            ),
            "sha256": sha256_hex(&bytes),
        }));
    }
    let manifest = json!({
        "source": {
            "package": "cfn-lint",
            "version": version,
            "registry": "PyPI",
            "wheel": format!("cfn_lint-{version}-py3-none-any.whl"),
            "wheel_sha256": wheel_sha256,
            "region": REGION,
            "schema_date": schema_date,
        },
        "vendored_on": today,
        "types": types,
    });
    let mut text = serde_json::to_string_pretty(&manifest)?;
    text.push('\n');
    std::fs::write(root.join("schemas/MANIFEST.json"), text)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_and_hashes() {
        assert_eq!(schema_file_name("AWS::EC2::VPC"), "aws-ec2-vpc.json");
        assert_eq!(
            schema_file_name("AWS::ElasticLoadBalancingV2::ListenerRule"),
            "aws-elasticloadbalancingv2-listenerrule.json"
        );
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn vendoring_copies_listed_types_and_writes_the_manifest() {
        let tmp = std::env::temp_dir().join(format!("strata-vendor-{}", std::process::id()));
        let data = tmp.join("wheel/cfnlint/data/schemas");
        std::fs::create_dir_all(data.join("providers")).unwrap();
        std::fs::create_dir_all(data.join("resources")).unwrap();
        let mut providers = serde_json::Map::new();
        for (i, t) in VENDORED_TYPES.iter().enumerate() {
            let hash = format!("{i:016x}");
            providers.insert(t.to_string(), json!(hash));
            let schema = json!({"typeName": t, "properties": {}});
            std::fs::write(
                data.join(format!("resources/{hash}.json")),
                schema.to_string(),
            )
            .unwrap();
        }
        std::fs::write(
            data.join("providers/us-east-1.json"),
            Json::Object(providers).to_string(),
        )
        .unwrap();
        std::fs::write(data.join("version.json"), r#"{"schema_date": "d"}"#).unwrap();
        let root = tmp.join("repo");
        vendor(&root, &tmp.join("wheel"), "9.9.9", "ff", "2026-01-01").unwrap();
        let manifest: Json = serde_json::from_str(
            &std::fs::read_to_string(root.join("schemas/MANIFEST.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(manifest["source"]["version"], "9.9.9");
        let types = manifest["types"].as_array().unwrap();
        assert_eq!(types.len(), VENDORED_TYPES.len());
        let vpc = types.iter().find(|t| t["type"] == "AWS::EC2::VPC").unwrap();
        let bytes =
            std::fs::read(root.join("schemas").join(vpc["file"].as_str().unwrap())).unwrap();
        assert_eq!(vpc["sha256"], sha256_hex(&bytes));
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
