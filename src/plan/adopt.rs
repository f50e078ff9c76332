//! Adoption: a bucket or table that an earlier stack kept (a region removed, a
//! rebuild, a destroy: every data resource is retained) is taken back by the next
//! stack that declares it, through a CloudFormation IMPORT change set, instead of
//! a create that fails on the name
//! (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/resource-import.html>).
//!
//! The import creates the stack holding only the kept resources, as they are; the
//! stack's own change set then brings the rest of the template (and the resources'
//! full configuration) as an update. The import template is what AWS requires of
//! one: only the resources imported, each with a `DeletionPolicy`, its identifier
//! property equal to the identifier, and no reference to a resource outside the
//! import (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/resource-import-new-stack.html>).
//! Pure.

use serde::Serialize;
use serde_json::{json, Map, Value};

/// One data resource a template declares by a fixed physical name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Adoption {
    pub logical_id: String,
    pub resource_type: String,
    /// The identifier property: `BucketName` or `TableName`.
    pub id_key: String,
    /// The physical name.
    pub name: String,
}

/// The importable data types and their identifier property
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/resource-import-supported-resources.html>).
const IMPORTABLE: &[(&str, &str)] = &[
    ("AWS::S3::Bucket", "BucketName"),
    ("AWS::DynamoDB::Table", "TableName"),
    ("AWS::DynamoDB::GlobalTable", "TableName"),
];

/// The data resources of `body` with a fixed name, resolved for `account` and
/// `region` (the name may be a `Fn::Sub` of `${AWS::AccountId}` / `${AWS::Region}`).
pub fn candidates(body: &str, account: &str, region: &str) -> Vec<Adoption> {
    let Ok(t) = serde_json::from_str::<Value>(body) else {
        return Vec::new();
    };
    let Some(resources) = t.get("Resources").and_then(Value::as_object) else {
        return Vec::new();
    };
    resources
        .iter()
        .filter_map(|(id, r)| {
            let kind = r.get("Type")?.as_str()?;
            let (_, key) = IMPORTABLE.iter().find(|(t, _)| *t == kind)?;
            let name = resolve_name(r.get("Properties")?.get(*key)?, account, region)?;
            Some(Adoption {
                logical_id: id.clone(),
                resource_type: kind.to_string(),
                id_key: key.to_string(),
                name,
            })
        })
        .collect()
}

fn resolve_name(v: &Value, account: &str, region: &str) -> Option<String> {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Object(o) if o.len() == 1 => o.get("Fn::Sub")?.as_str()?.to_string(),
        _ => return None,
    };
    let out = text
        .replace("${AWS::AccountId}", account)
        .replace("${AWS::Region}", region);
    (!out.contains("${")).then_some(out)
}

/// The IMPORT change set's template: each adopted resource with its fixed name,
/// `DeletionPolicy`/`UpdateReplacePolicy` `Retain`, and those of its properties
/// that refer to nothing (a property with an intrinsic, such as a replication
/// role's `Fn::GetAtt`, comes with the stack's update that follows).
pub fn import_template(body: &str, adopt: &[Adoption]) -> String {
    let t: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let mut resources = Map::new();
    for a in adopt {
        let declared = &t["Resources"][&a.logical_id]["Properties"];
        let mut props: Map<String, Value> = declared
            .as_object()
            .map(|p| {
                p.iter()
                    .filter(|(_, v)| !has_intrinsic(v))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        props.insert(a.id_key.clone(), Value::String(a.name.clone()));
        resources.insert(
            a.logical_id.clone(),
            json!({
                "Type": a.resource_type,
                "DeletionPolicy": "Retain",
                "UpdateReplacePolicy": "Retain",
                "Properties": props,
            }),
        );
    }
    let t = json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "strata: the kept data this stack takes back (an import)",
        "Resources": resources,
    });
    serde_json::to_string_pretty(&t).unwrap_or_default()
}

fn has_intrinsic(v: &Value) -> bool {
    match v {
        Value::Object(o) => o
            .iter()
            .any(|(k, v)| k == "Ref" || k.starts_with("Fn::") || has_intrinsic(v)),
        Value::Array(a) => a.iter().any(has_intrinsic),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = r#"{"Resources": {
        "Bucket": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain", "Properties": {
            "BucketName": {"Fn::Sub": "shop-prod-ab12-${AWS::AccountId}-us-east-1-an"},
            "VersioningConfiguration": {"Status": "Enabled"},
            "ReplicationConfiguration": {"Role": {"Fn::GetAtt": ["Role", "Arn"]}, "Rules": []}}},
        "Orders": {"Type": "AWS::DynamoDB::Table", "Properties": {"TableName": "shop-prod-orders",
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}]}},
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "shop-prod-jobs"}},
        "Unnamed": {"Type": "AWS::S3::Bucket"}}}"#;

    #[test]
    fn named_buckets_and_tables_are_candidates_with_their_names_resolved() {
        let c = candidates(BODY, "123456789012", "us-east-1");
        let names: Vec<_> = c
            .iter()
            .map(|a| (a.logical_id.as_str(), a.name.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("Bucket", "shop-prod-ab12-123456789012-us-east-1-an"),
                ("Orders", "shop-prod-orders")
            ]
        );
    }

    #[test]
    fn the_import_template_holds_only_the_adopted_resources_retained_and_unreferencing() {
        let c = candidates(BODY, "123456789012", "us-east-1");
        let t: Value = serde_json::from_str(&import_template(BODY, &c)).unwrap();
        let r = t["Resources"].as_object().unwrap();
        assert_eq!(r.len(), 2);
        let b = &r["Bucket"];
        assert_eq!(b["DeletionPolicy"], "Retain");
        assert_eq!(
            b["Properties"]["BucketName"],
            "shop-prod-ab12-123456789012-us-east-1-an"
        );
        assert_eq!(
            b["Properties"]["VersioningConfiguration"]["Status"],
            "Enabled"
        );
        assert!(b["Properties"].get("ReplicationConfiguration").is_none());
        assert_eq!(r["Orders"]["Properties"]["KeySchema"][0]["KeyType"], "HASH");
        assert!(t.get("Outputs").is_none() && t.get("Parameters").is_none());
    }
}
