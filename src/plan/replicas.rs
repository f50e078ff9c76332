//! The replicas a template declares: each `AWS::DynamoDB::GlobalTable`'s
//! `Replicas` and each `AWS::SecretsManager::Secret`'s `ReplicaRegions`. A stack
//! that changes them (the home region's, when regions are added or removed) is
//! wired before the other stacks of its wave, which read those replicas (the
//! origin secret's `{{resolve:secretsmanager:…}}` resolves the replica in the
//! stack's own region).
//!
//! A global table takes one replica added or removed per stack update
//! (<https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-dynamodb-globaltable.html>,
//! Replicas), so a change of several is split into steps (`replica_steps`), each an
//! update of its own, waited for. Pure.

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

/// One replica step: the template that adds or removes one replica of each global
/// table still changing, and what it does.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReplicaStep {
    /// "TableOrders: add eu-central-1", one per table this step changes.
    pub does: Vec<String>,
    #[serde(skip)]
    pub template_body: String,
}

/// The updates that take a stack from `before` to `after` when some global table
/// of `after` gains or loses more than one replica: every step but the last (the
/// last is `after` itself, the stack's own change set). Each step is `after` with
/// every global table's `Replicas` one change further from `before`'s (removals
/// first, then additions, in region order). Empty when no table changes by more
/// than one replica, or when `before` is not a template (a stack being created
/// takes its replicas at once).
pub fn replica_steps(before: &str, after: &str) -> Vec<ReplicaStep> {
    let (Ok(b), Ok(a)) = (
        serde_json::from_str::<Json>(before),
        serde_json::from_str::<Json>(after),
    ) else {
        return Vec::new();
    };
    // Per global table of `after`: the before and after replica specs by region.
    let mut tables = Vec::new();
    let resources = a.get("Resources").and_then(Json::as_object);
    for (id, r) in resources.into_iter().flatten() {
        if r.get("Type").and_then(Json::as_str) != Some("AWS::DynamoDB::GlobalTable") {
            continue;
        }
        let specs = |t: &Json| -> Vec<(String, Json)> {
            t.pointer(&format!("/Resources/{id}/Properties/Replicas"))
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
                .filter_map(|s| Some((s.get("Region")?.as_str()?.to_string(), s.clone())))
                .collect()
        };
        let (was, will) = (specs(&b), specs(&a));
        if was.is_empty() {
            continue;
        }
        let has = |l: &[(String, Json)], r: &str| l.iter().any(|(x, _)| x == r);
        let mut changes: Vec<(String, bool)> = was
            .iter()
            .filter(|(r, _)| !has(&will, r))
            .map(|(r, _)| (r.clone(), false))
            .collect();
        changes.extend(
            will.iter()
                .filter(|(r, _)| !has(&was, r))
                .map(|(r, _)| (r.clone(), true)),
        );
        tables.push((id.clone(), was, will, changes));
    }
    let steps = tables.iter().map(|t| t.3.len()).max().unwrap_or(0);
    if steps <= 1 {
        return Vec::new();
    }
    (1..steps)
        .map(|k| {
            let mut body = a.clone();
            let mut does = Vec::new();
            for (id, was, will, changes) in &tables {
                let applied = &changes[..k.min(changes.len())];
                if k <= changes.len() {
                    let (region, add) = &changes[k - 1];
                    does.push(format!(
                        "{id}: {} {region}",
                        if *add { "add" } else { "remove" }
                    ));
                }
                let removed = |r: &str| applied.iter().any(|(x, add)| x == r && !add);
                let added = |r: &str| applied.iter().any(|(x, add)| x == r && *add);
                let mut list: Vec<Json> = was
                    .iter()
                    .filter(|(r, _)| !removed(r))
                    .map(|(r, spec)| {
                        // A kept replica takes its new spec at once.
                        will.iter()
                            .find(|(x, _)| x == r)
                            .map(|(_, s)| s.clone())
                            .unwrap_or_else(|| spec.clone())
                    })
                    .collect();
                list.extend(
                    will.iter()
                        .filter(|(r, _)| added(r))
                        .map(|(_, spec)| spec.clone()),
                );
                if let Some(v) = body.pointer_mut(&format!("/Resources/{id}/Properties/Replicas")) {
                    *v = Json::Array(list);
                }
            }
            ReplicaStep {
                does,
                template_body: serde_json::to_string_pretty(&body).unwrap_or_default(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(regions: &[&str]) -> String {
        let replicas: Vec<Json> = regions
            .iter()
            .map(|r| serde_json::json!({"Region": r, "Tags": [{"Key": "k", "Value": r}]}))
            .collect();
        serde_json::json!({"Resources": {"TableOrders": {"Type": "AWS::DynamoDB::GlobalTable",
            "Properties": {"TableName": "t", "Replicas": replicas}}}})
        .to_string()
    }

    fn regions_of(body: &str) -> Vec<String> {
        replica_regions(body).into_iter().map(|(_, r)| r).collect()
    }

    #[test]
    fn two_regions_added_are_two_updates_one_replica_each() {
        let before = table(&["us-east-1", "eu-west-1"]);
        let after = table(&["us-east-1", "eu-west-1", "ap-south-1", "sa-east-1"]);
        let steps = replica_steps(&before, &after);
        assert_eq!(
            steps.len(),
            1,
            "one intermediate step, then the stack's own update"
        );
        assert_eq!(steps[0].does, ["TableOrders: add ap-south-1"]);
        assert_eq!(
            regions_of(&steps[0].template_body),
            ["ap-south-1", "eu-west-1", "us-east-1"]
        );
        // Each step is one replica from the one before it, the last one from `after`.
        assert_eq!(
            regions_of(&after).len(),
            regions_of(&steps[0].template_body).len() + 1
        );
    }

    #[test]
    fn removals_come_first_and_one_change_needs_no_step() {
        let before = table(&["us-east-1", "eu-west-1", "ap-south-1"]);
        let after = table(&["us-east-1", "sa-east-1"]);
        let steps = replica_steps(&before, &after);
        let does: Vec<_> = steps.iter().map(|s| s.does.clone()).collect();
        assert_eq!(
            does,
            [
                ["TableOrders: remove eu-west-1"],
                ["TableOrders: remove ap-south-1"]
            ]
        );
        assert_eq!(regions_of(&steps[1].template_body), ["us-east-1"]);
        assert!(
            replica_steps(&table(&["us-east-1"]), &table(&["us-east-1", "eu-west-1"])).is_empty()
        );
        assert!(
            replica_steps("", &after).is_empty(),
            "a stack being created"
        );
    }

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
