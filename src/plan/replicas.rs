//! The replicas a template declares: each `AWS::DynamoDB::GlobalTable`'s
//! `Replicas` and each `AWS::SecretsManager::Secret`'s `ReplicaRegions`. A stack
//! that changes them (the home region's, when regions are added or removed) is
//! wired before the other stacks of its wave, which read those replicas (the
//! origin secret's `{{resolve:secretsmanager:…}}` resolves the replica in the
//! stack's own region). Pure.

use serde_json::Value as Json;
use std::collections::BTreeSet;

/// (logical id, region) of every replica `body` declares.
pub fn replica_regions(body: &str) -> BTreeSet<(String, String)> {
    let Ok(t) = serde_json::from_str::<Json>(body) else {
        return BTreeSet::new();
    };
    let Some(resources) = t.get("Resources").and_then(Json::as_object) else {
        return BTreeSet::new();
    };
    let mut out = BTreeSet::new();
    for (id, r) in resources {
        let key = match r.get("Type").and_then(Json::as_str) {
            Some("AWS::DynamoDB::GlobalTable") => "Replicas",
            Some("AWS::SecretsManager::Secret") => "ReplicaRegions",
            _ => continue,
        };
        let list = r
            .get("Properties")
            .and_then(|p| p.get(key))
            .and_then(Json::as_array);
        for replica in list.into_iter().flatten() {
            if let Some(region) = replica.get("Region").and_then(Json::as_str) {
                out.insert((id.clone(), region.to_string()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_table_and_secret_replicas_are_listed_other_resources_are_not() {
        let body = serde_json::json!({"Resources": {
            "Orders": {"Type": "AWS::DynamoDB::GlobalTable", "Properties": {
                "Replicas": [{"Region": "us-east-1"}, {"Region": "eu-west-1"}]}},
            "OriginVerifySecret": {"Type": "AWS::SecretsManager::Secret", "Properties": {
                "ReplicaRegions": [{"Region": "eu-west-1"}]}},
            "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"Region": "x"}}
        }})
        .to_string();
        let got: Vec<(String, String)> = replica_regions(&body).into_iter().collect();
        let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(
            got,
            [
                pair("Orders", "eu-west-1"),
                pair("Orders", "us-east-1"),
                pair("OriginVerifySecret", "eu-west-1")
            ]
        );
        assert!(replica_regions("not json").is_empty());
    }
}
