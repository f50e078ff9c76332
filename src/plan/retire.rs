//! Taking a region out of service before its stack is deleted (a region that left
//! the definition): the template it runs, minus its DNS records and its bucket's
//! replication rules, with its data resources kept when the stack is deleted.
//!
//! The leaving region is no longer in the definition, so there is nothing to
//! synthesize it from: its out-of-service template is derived from the template it
//! runs. Pure: JSON in, JSON out.

use serde_json::{Map, Value as Json};
use std::collections::BTreeSet;

/// Resource types whose records put a region in DNS.
const DNS_TYPES: &[&str] = &["AWS::Route53::RecordSet", "AWS::Route53::RecordSetGroup"];

/// Resource types holding data: kept when the stack goes (synthesis marks them
/// `RetainExceptOnCreate`; a stack deployed before the bucket was marked gets
/// `Retain` here).
const DATA_TYPES: &[&str] = &["AWS::S3::Bucket", "AWS::DynamoDB::Table"];

/// A leaving region's template, out of service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutOfService {
    pub template_body: String,
    /// Logical ids removed (DNS records, and whatever referred to them).
    pub removed: Vec<String>,
    /// (logical id, type) of the data resources that outlive the stack.
    pub kept: Vec<(String, String)>,
}

/// Why a region cannot be taken out of service automatically.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RetireError {
    #[error("its deployed template is not JSON: {0}")]
    NotJson(String),
    #[error(
        "it is the home of the global table ({0}): make another region first in the rollout \
         order and move the table there before removing this one (runbooks/remove-region.md)"
    )]
    GlobalTableHome(String),
}

/// Derive the out-of-service template from the deployed one: drop the DNS records
/// (and anything that refers to them), drop the bucket's replication rules, mark
/// the data resources Retain. Applying it to an already out-of-service template
/// changes nothing.
pub fn out_of_service(template_body: &str) -> Result<OutOfService, RetireError> {
    let mut t: Json =
        serde_json::from_str(template_body).map_err(|e| RetireError::NotJson(e.to_string()))?;
    let empty = Map::new();
    let resources = t
        .get("Resources")
        .and_then(Json::as_object)
        .unwrap_or(&empty);
    if let Some((id, _)) = resources
        .iter()
        .find(|(_, r)| type_of(r) == "AWS::DynamoDB::GlobalTable")
    {
        return Err(RetireError::GlobalTableHome(id.clone()));
    }
    let mut gone: BTreeSet<String> = resources
        .iter()
        .filter(|(_, r)| DNS_TYPES.contains(&type_of(r)))
        .map(|(id, _)| id.clone())
        .collect();
    // Whatever refers to a removed resource goes too, until nothing more does.
    loop {
        let more: Vec<String> = resources
            .iter()
            .filter(|(id, r)| !gone.contains(*id) && refers_to_any(r, &gone))
            .map(|(id, _)| id.clone())
            .collect();
        if more.is_empty() {
            break;
        }
        gone.extend(more);
    }
    let mut kept = Vec::new();
    if let Some(resources) = t.get_mut("Resources").and_then(Json::as_object_mut) {
        resources.retain(|id, _| !gone.contains(id));
        kept = retain_data(resources, DATA_TYPES).0;
    }
    if let Some(outputs) = t.get_mut("Outputs").and_then(Json::as_object_mut) {
        outputs.retain(|_, o| !refers_to_any(o, &gone));
    }
    Ok(OutOfService {
        template_body: serde_json::to_string_pretty(&t).expect("JSON serializes"),
        removed: gone.into_iter().collect(),
        kept,
    })
}

/// A stack's template with every data resource (bucket, table, global table) kept
/// when the stack is deleted, ready for `strata destroy`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataKept {
    pub template_body: String,
    /// (logical id, type) of the data resources that outlive the stack.
    pub kept: Vec<(String, String)>,
    /// False when the template already kept them all (no update is needed).
    pub changed: bool,
}

/// Mark the data resources Retain where their policy does not keep them already
/// (and drop a bucket's replication rules, whose role goes with the stack),
/// changing nothing else: deleting the stack afterwards keeps its data
/// (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html).
/// A template synthesized now keeps them all (`RetainExceptOnCreate`): it needs an
/// update only for its replication rules (a wired bucket that replicates).
pub fn keep_data(template_body: &str) -> Result<DataKept, RetireError> {
    let mut t: Json =
        serde_json::from_str(template_body).map_err(|e| RetireError::NotJson(e.to_string()))?;
    let (kept, changed) = match t.get_mut("Resources").and_then(Json::as_object_mut) {
        Some(resources) => retain_data(resources, DESTROY_DATA_TYPES),
        None => (Vec::new(), false),
    };
    Ok(DataKept {
        template_body: serde_json::to_string_pretty(&t).expect("JSON serializes"),
        kept,
        changed,
    })
}

/// What `keep_data` keeps: the data types, and the global table (its home stack
/// is deleted by destroy like any other).
const DESTROY_DATA_TYPES: &[&str] = &[
    "AWS::S3::Bucket",
    "AWS::DynamoDB::Table",
    "AWS::DynamoDB::GlobalTable",
];

/// Whether a resource's `policy` attribute already keeps it when its stack is
/// deleted. `RetainExceptOnCreate` does ("retains the resource ... when a stack is
/// deleted", deleting it only when the operation that created it rolls back:
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html),
/// so a table marked so needs no update before the delete. `UpdateReplacePolicy`
/// has no such value: only `Retain` keeps.
fn keeps(policy: &str, value: Option<&str>) -> bool {
    match value {
        Some("Retain") => true,
        Some("RetainExceptOnCreate") => policy == "DeletionPolicy",
        _ => false,
    }
}

/// Mark every resource of `types` Retain and drop a bucket's replication rules;
/// returns the (logical id, type) kept and whether anything changed.
fn retain_data(resources: &mut Map<String, Json>, types: &[&str]) -> (Vec<(String, String)>, bool) {
    let mut kept = Vec::new();
    let mut changed = false;
    for (id, r) in resources.iter_mut() {
        let ty = type_of(r).to_string();
        if !types.contains(&ty.as_str()) {
            continue;
        }
        if let Some(obj) = r.as_object_mut() {
            for policy in ["DeletionPolicy", "UpdateReplacePolicy"] {
                if !keeps(policy, obj.get(policy).and_then(Json::as_str)) {
                    obj.insert(policy.into(), Json::from("Retain"));
                    changed = true;
                }
            }
            if ty == "AWS::S3::Bucket" {
                if let Some(props) = obj.get_mut("Properties").and_then(Json::as_object_mut) {
                    changed |= props.remove("ReplicationConfiguration").is_some();
                }
            }
        }
        kept.push((id.clone(), ty));
    }
    (kept, changed)
}

fn type_of(resource: &Json) -> &str {
    resource.get("Type").and_then(Json::as_str).unwrap_or("")
}

/// True when `v` refers to one of `ids` (Ref, Fn::GetAtt, Fn::Sub, DependsOn).
fn refers_to_any(v: &Json, ids: &BTreeSet<String>) -> bool {
    match v {
        Json::Object(m) => m.iter().any(|(k, inner)| {
            let direct = match (k.as_str(), inner) {
                ("Ref", Json::String(id)) => ids.contains(id),
                ("Fn::GetAtt", Json::Array(a)) => a
                    .first()
                    .and_then(Json::as_str)
                    .is_some_and(|id| ids.contains(id)),
                ("Fn::GetAtt", Json::String(s)) => {
                    s.split('.').next().is_some_and(|id| ids.contains(id))
                }
                ("DependsOn", Json::String(id)) => ids.contains(id),
                ("DependsOn", Json::Array(a)) => {
                    a.iter().filter_map(Json::as_str).any(|id| ids.contains(id))
                }
                ("Fn::Sub", s) => sub_refers(s, ids),
                _ => false,
            };
            direct || refers_to_any(inner, ids)
        }),
        Json::Array(a) => a.iter().any(|x| refers_to_any(x, ids)),
        _ => false,
    }
}

fn sub_refers(v: &Json, ids: &BTreeSet<String>) -> bool {
    let text = match v {
        Json::String(s) => s.as_str(),
        Json::Array(a) => a.first().and_then(Json::as_str).unwrap_or(""),
        _ => return false,
    };
    text.split("${").skip(1).any(|rest| {
        let name = rest.split('}').next().unwrap_or("");
        let id = name.split('.').next().unwrap_or("");
        ids.contains(id)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::load_str;
    use crate::synth::{synthesize, Phase};

    fn example_region(index: usize) -> String {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/stacks/example.toml"))
                .unwrap();
        let def = load_str(&text, "example.toml").unwrap();
        synthesize(&def, Phase::Wired).regions[index]
            .template
            .to_json_pretty()
    }

    fn parse(body: &str) -> Json {
        serde_json::from_str(body).unwrap()
    }

    fn types(body: &str) -> Vec<String> {
        parse(body)["Resources"]
            .as_object()
            .unwrap()
            .values()
            .map(|r| type_of(r).to_string())
            .collect()
    }

    #[test]
    fn a_wired_region_loses_its_records_and_replication_and_keeps_its_data() {
        let wired = example_region(1);
        assert!(types(&wired).iter().any(|t| t == "AWS::Route53::RecordSet"));
        let out = out_of_service(&wired).unwrap();
        assert!(!types(&out.template_body)
            .iter()
            .any(|t| DNS_TYPES.contains(&t.as_str())));
        assert!(out.removed.contains(&"LatencyRecord".to_string()));
        let t = parse(&out.template_body);
        let buckets: Vec<&Json> = t["Resources"]
            .as_object()
            .unwrap()
            .values()
            .filter(|r| type_of(r) == "AWS::S3::Bucket")
            .collect();
        assert_eq!(buckets.len(), 1);
        assert!(buckets[0]["Properties"]
            .get("ReplicationConfiguration")
            .is_none());
        // Synthesis already keeps the bucket (RetainExceptOnCreate, as the tables).
        assert_eq!(buckets[0]["DeletionPolicy"], "RetainExceptOnCreate");
        assert_eq!(buckets[0]["UpdateReplacePolicy"], "Retain");
        assert!(out.kept.iter().any(|(_, ty)| ty == "AWS::S3::Bucket"));
        // Everything else of the region is still there: its load balancer, its
        // health check, its Auto Scaling group.
        for ty in [
            "AWS::ElasticLoadBalancingV2::LoadBalancer",
            "AWS::Route53::HealthCheck",
            "AWS::AutoScaling::AutoScalingGroup",
        ] {
            assert!(types(&out.template_body).iter().any(|t| t == ty), "{ty}");
        }
    }

    #[test]
    fn taking_a_region_out_twice_changes_nothing_the_second_time() {
        let once = out_of_service(&example_region(2)).unwrap();
        let twice = out_of_service(&once.template_body).unwrap();
        assert_eq!(parse(&once.template_body), parse(&twice.template_body));
        assert!(twice.removed.is_empty());
    }

    #[test]
    fn whatever_refers_to_a_removed_record_is_removed_too() {
        let body = r#"{
          "Resources": {
            "Record": {"Type": "AWS::Route53::RecordSet", "Properties": {}},
            "Waits": {"Type": "AWS::CloudFormation::WaitConditionHandle", "DependsOn": ["Record"]},
            "Other": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Fn::Sub": "${Waits}-q"}}},
            "Free": {"Type": "AWS::SQS::Queue", "Properties": {}}
          },
          "Outputs": {
            "Name": {"Value": {"Ref": "Record"}},
            "Queue": {"Value": {"Fn::GetAtt": ["Free", "Arn"]}}
          }
        }"#;
        let out = out_of_service(body).unwrap();
        assert_eq!(out.removed, ["Other", "Record", "Waits"]);
        let t = parse(&out.template_body);
        assert_eq!(
            t["Resources"]
                .as_object()
                .unwrap()
                .keys()
                .collect::<Vec<_>>(),
            ["Free"]
        );
        assert_eq!(
            t["Outputs"].as_object().unwrap().keys().collect::<Vec<_>>(),
            ["Queue"]
        );
    }

    #[test]
    fn the_home_of_the_global_table_is_refused_by_name() {
        let home = example_region(0);
        match out_of_service(&home) {
            Err(RetireError::GlobalTableHome(id)) => assert!(!id.is_empty()),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn keeping_data_marks_buckets_and_tables_retain_once_and_changes_nothing_else() {
        let home = example_region(0);
        let once = keep_data(&home).unwrap();
        assert!(once.changed);
        let kinds: Vec<&str> = once.kept.iter().map(|(_, ty)| ty.as_str()).collect();
        assert!(kinds.contains(&"AWS::S3::Bucket"), "{kinds:?}");
        assert!(kinds.contains(&"AWS::DynamoDB::GlobalTable"), "{kinds:?}");
        let (before, after) = (parse(&home), parse(&once.template_body));
        for (id, r) in after["Resources"].as_object().unwrap() {
            if once.kept.iter().any(|(k, _)| k == id) {
                // A table synth already marks RetainExceptOnCreate keeps it: unchanged.
                let policy = r["DeletionPolicy"].as_str().unwrap_or_default();
                assert!(
                    policy == "Retain"
                        || (policy == "RetainExceptOnCreate"
                            && before["Resources"][id]["DeletionPolicy"] == policy),
                    "{id}: {policy}"
                );
                assert_eq!(r["UpdateReplacePolicy"], "Retain", "{id}");
            } else {
                assert_eq!(r, &before["Resources"][id], "{id} changed");
            }
        }
        let twice = keep_data(&once.template_body).unwrap();
        assert!(!twice.changed);
        assert_eq!(parse(&twice.template_body), after);
    }

    #[test]
    fn a_synthesized_build_template_already_keeps_its_data_and_needs_no_update() {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/stacks/example.toml"))
                .unwrap();
        let def = load_str(&text, "example.toml").unwrap();
        for region in synthesize(&def, Phase::Build).regions {
            let body = region.template.to_json_pretty();
            let kept = keep_data(&body).unwrap();
            assert!(!kept.changed, "{}: {:?}", region.region, kept.kept);
            assert!(kept.kept.iter().any(|(_, ty)| ty == "AWS::S3::Bucket"));
        }
    }

    #[test]
    fn a_template_that_is_not_json_is_an_error() {
        assert!(matches!(
            out_of_service("Resources: {}"),
            Err(RetireError::NotJson(_))
        ));
    }
}
