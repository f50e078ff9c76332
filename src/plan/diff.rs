//! Pure comparisons: is a stack unchanged, which resources change, which are replaced.

use super::{ChangeAction, Deployed, DesiredStack, ResourceChange, StackAction};
use serde_json::Value as Json;
use std::collections::BTreeMap;

/// What a stack needs, from what is deployed, without asking CloudFormation.
///
/// Unchanged means: the deployed template equals the desired one (as JSON, so
/// formatting does not matter) and so do the parameters. The deploy-record tags are
/// not compared: they record the last change, they are not a reason for one.
pub fn decide(desired: &DesiredStack, deployed: Option<&Deployed>) -> StackAction {
    let Some(deployed) = deployed else {
        return StackAction::Create;
    };
    if same_json(&deployed.template_body, &desired.template_body)
        && deployed.parameters == desired.parameters
    {
        StackAction::NoChange
    } else {
        StackAction::Update
    }
}

fn same_json(a: &str, b: &str) -> bool {
    match (
        serde_json::from_str::<Json>(a),
        serde_json::from_str::<Json>(b),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

fn resources(body: &str) -> BTreeMap<String, Json> {
    serde_json::from_str::<Json>(body)
        .ok()
        .and_then(|t| t.get("Resources").cloned())
        .and_then(|r| r.as_object().cloned())
        .map(|m| m.into_iter().collect())
        .unwrap_or_default()
}

/// The resource changes between two templates, computed locally (used where the
/// change set does not say, e.g. the sandbox gives no `Replacement`).
pub fn local_changes(
    old_body: &str,
    new_body: &str,
    create_only: &BTreeMap<String, Vec<String>>,
) -> Vec<ResourceChange> {
    let old = resources(old_body);
    let new = resources(new_body);
    let type_of = |r: &Json| {
        r.get("Type")
            .and_then(Json::as_str)
            .unwrap_or("")
            .to_string()
    };
    let mut out = Vec::new();
    for (id, n) in &new {
        match old.get(id) {
            None => out.push(ResourceChange {
                logical_id: id.clone(),
                resource_type: type_of(n),
                action: ChangeAction::Add,
                replaces: false,
            }),
            Some(o) if o != n => out.push(ResourceChange {
                logical_id: id.clone(),
                resource_type: type_of(n),
                action: ChangeAction::Modify,
                replaces: type_of(o) != type_of(n)
                    || replaces(
                        create_only.get(id).map(Vec::as_slice).unwrap_or(&[]),
                        o.get("Properties"),
                        n.get("Properties"),
                    ),
            }),
            Some(_) => {}
        }
    }
    for (id, o) in &old {
        if !new.contains_key(id) {
            out.push(ResourceChange {
                logical_id: id.clone(),
                resource_type: type_of(o),
                action: ChangeAction::Remove,
                replaces: false,
            });
        }
    }
    out
}

/// True when a create-only property differs between the old and new properties.
/// Paths are the registry's form, "/properties/CidrBlock".
pub fn replaces(create_only: &[String], old: Option<&Json>, new: Option<&Json>) -> bool {
    let null = Json::Null;
    create_only.iter().any(|path| {
        let pointer = path.strip_prefix("/properties").unwrap_or(path);
        let at = |v: Option<&Json>| v.and_then(|v| v.pointer(pointer)).unwrap_or(&null).clone();
        at(old) != at(new)
    })
}

/// Where a change set reports replacement, keep its word; elsewhere use the local one.
pub fn merge_replacement(
    mut from_change_set: Vec<ResourceChange>,
    local: &[ResourceChange],
    change_set_knows: bool,
) -> Vec<ResourceChange> {
    if !change_set_knows {
        for c in &mut from_change_set {
            if let Some(l) = local.iter().find(|l| l.logical_id == c.logical_id) {
                c.replaces = l.replaces;
            }
        }
    }
    from_change_set
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::StackRole;
    use serde_json::json;

    fn desired(body: &Json, params: &[(&str, &str)]) -> DesiredStack {
        DesiredStack {
            region: "eu-west-1".into(),
            stack_name: "app-prod-eu-west-1".into(),
            role: StackRole::Region,
            template_body: body.to_string(),
            build_template_body: None,
            parameters: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            create_only: BTreeMap::new(),
        }
    }

    fn deployed(body: &str, params: &[(&str, &str)]) -> Deployed {
        Deployed {
            template_body: body.into(),
            parameters: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            tags: BTreeMap::new(),
        }
    }

    #[test]
    fn same_template_differently_formatted_and_same_parameters_is_no_change() {
        let t = json!({"Resources": {"Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}}}});
        let d = desired(&t, &[("AmiId", "ami-1")]);
        let pretty = serde_json::to_string_pretty(&t).unwrap();
        assert_eq!(
            decide(&d, Some(&deployed(&pretty, &[("AmiId", "ami-1")]))),
            StackAction::NoChange
        );
        assert_eq!(
            decide(&d, Some(&deployed(&pretty, &[("AmiId", "ami-2")]))),
            StackAction::Update
        );
        assert_eq!(decide(&d, None), StackAction::Create);
    }

    #[test]
    fn a_create_only_property_change_replaces_the_resource() {
        let old = json!({"Resources": {
            "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16", "Tags": []}},
            "Asg": {"Type": "AWS::AutoScaling::AutoScalingGroup", "Properties": {"DesiredCapacity": "2"}},
            "Old": {"Type": "AWS::SQS::Queue"}}});
        let new = json!({"Resources": {
            "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.1.0.0/16", "Tags": []}},
            "Asg": {"Type": "AWS::AutoScaling::AutoScalingGroup", "Properties": {"DesiredCapacity": "3"}},
            "New": {"Type": "AWS::SQS::Queue"}}});
        let create_only =
            BTreeMap::from([("Vpc".to_string(), vec!["/properties/CidrBlock".to_string()])]);
        let changes = local_changes(&old.to_string(), &new.to_string(), &create_only);
        let find = |id: &str| changes.iter().find(|c| c.logical_id == id).unwrap().clone();
        assert!(find("Vpc").replaces);
        assert_eq!(find("Asg").action, ChangeAction::Modify);
        assert!(!find("Asg").replaces);
        assert_eq!(find("New").action, ChangeAction::Add);
        assert_eq!(find("Old").action, ChangeAction::Remove);
        assert_eq!(changes.len(), 4);
    }
}
