//! Pure comparisons: is a stack unchanged, which resources change, which are replaced.

use super::{ChangeAction, Deployed, DesiredStack, ParameterChange, ResourceChange, StackAction};
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

/// The parameters whose value changes, by name.
pub fn parameter_changes(
    old: Option<&BTreeMap<String, String>>,
    new: &BTreeMap<String, String>,
) -> Vec<ParameterChange> {
    new.iter()
        .filter_map(|(name, value)| {
            let before = old.and_then(|o| o.get(name));
            (before != Some(value)).then(|| ParameterChange {
                name: name.clone(),
                old: before.cloned(),
                new: value.clone(),
            })
        })
        .collect()
}

/// True when `v` contains `{"Ref": <one of params>}`.
fn refers_to(v: &Json, params: &[String]) -> bool {
    match v {
        Json::Object(m) => {
            if let Some(Json::String(r)) = m.get("Ref") {
                if m.len() == 1 && params.iter().any(|p| p == r) {
                    return true;
                }
            }
            m.values().any(|x| refers_to(x, params))
        }
        Json::Array(a) => a.iter().any(|x| refers_to(x, params)),
        _ => false,
    }
}

/// The top-level properties (and resource attributes such as `DependsOn`) that
/// differ between two resources, then those that refer to a changed parameter.
fn changed_properties(old: Option<&Json>, new: &Json, params: &[String]) -> Vec<String> {
    let null = Json::Null;
    let props = |r: Option<&Json>| {
        r.and_then(|r| r.get("Properties"))
            .and_then(Json::as_object)
            .cloned()
            .unwrap_or_default()
    };
    let (o, n) = (props(old), props(Some(new)));
    let mut out: Vec<String> = o
        .keys()
        .chain(n.keys())
        .filter(|k| o.get(*k).unwrap_or(&null) != n.get(*k).unwrap_or(&null))
        .cloned()
        .collect();
    if let (Some(old), Some(newo)) = (old.and_then(Json::as_object), new.as_object()) {
        for k in old.keys().chain(newo.keys()) {
            if k != "Properties" && old.get(k) != newo.get(k) {
                out.push(k.clone());
            }
        }
    }
    for (k, v) in &n {
        if refers_to(v, params) {
            out.push(k.clone());
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The resource changes between two templates, computed locally (used where the
/// change set does not say, e.g. the sandbox gives no `Replacement`).
/// `changed_params` are the stack parameters whose value changes: a resource that
/// refers to one changes even where its template text does not.
pub fn local_changes(
    old_body: &str,
    new_body: &str,
    create_only: &BTreeMap<String, Vec<String>>,
    changed_params: &[String],
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
                properties: vec![],
            }),
            Some(o) if o != n || refers_to(n, changed_params) => {
                let properties = changed_properties(Some(o), n, changed_params);
                let create_only = create_only.get(id).map(Vec::as_slice).unwrap_or(&[]);
                // A changed parameter under a create-only property replaces too.
                let via_param = create_only.iter().any(|path| {
                    let pointer = path.strip_prefix("/properties").unwrap_or(path);
                    n.get("Properties")
                        .and_then(|p| p.pointer(pointer))
                        .is_some_and(|v| refers_to(v, changed_params))
                });
                out.push(ResourceChange {
                    logical_id: id.clone(),
                    resource_type: type_of(n),
                    action: ChangeAction::Modify,
                    replaces: type_of(o) != type_of(n)
                        || via_param
                        || replaces(create_only, o.get("Properties"), n.get("Properties")),
                    properties,
                })
            }
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
                properties: vec![],
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

/// A change replaces its resource when the change set says so or when a
/// create-only property changes (the local comparison): the refusal of
/// replacements (`at_risk`) errs on the side of asking. Where the change set says
/// nothing about replacement (the sandbox), the local word alone decides. The
/// changed properties come from the local comparison; the change set's resource
/// list is kept as CloudFormation gave it.
pub fn merge_replacement(
    mut from_change_set: Vec<ResourceChange>,
    local: &[ResourceChange],
    change_set_knows: bool,
) -> Vec<ResourceChange> {
    for c in &mut from_change_set {
        if let Some(l) = local.iter().find(|l| l.logical_id == c.logical_id) {
            c.replaces = if change_set_knows {
                c.replaces || l.replaces
            } else {
                l.replaces
            };
            if c.properties.is_empty() {
                c.properties = l.properties.clone();
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
        let changes = local_changes(&old.to_string(), &new.to_string(), &create_only, &[]);
        let find = |id: &str| changes.iter().find(|c| c.logical_id == id).unwrap().clone();
        assert!(find("Vpc").replaces);
        assert_eq!(find("Asg").action, ChangeAction::Modify);
        assert!(!find("Asg").replaces);
        assert_eq!(find("New").action, ChangeAction::Add);
        assert_eq!(find("Old").action, ChangeAction::Remove);
        assert_eq!(changes.len(), 4);
        assert_eq!(find("Vpc").properties, ["CidrBlock"]);
    }

    #[test]
    fn a_changed_parameter_modifies_the_resources_that_refer_to_it() {
        let t = json!({"Parameters": {"AmiId": {"Type": "String"}}, "Resources": {
            "LaunchTemplate": {"Type": "AWS::EC2::LaunchTemplate", "Properties": {
                "LaunchTemplateData": {"ImageId": {"Ref": "AmiId"}}, "LaunchTemplateName": "lt"}},
            "Queue": {"Type": "AWS::SQS::Queue"}}});
        let body = t.to_string();
        assert!(local_changes(&body, &body, &BTreeMap::new(), &[]).is_empty());
        let changes = local_changes(&body, &body, &BTreeMap::new(), &["AmiId".to_string()]);
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!(changes[0].logical_id, "LaunchTemplate");
        assert_eq!(changes[0].properties, ["LaunchTemplateData"]);
        assert!(!changes[0].replaces);
        let old = BTreeMap::from([("AmiId".to_string(), "ami-1".to_string())]);
        let new = BTreeMap::from([("AmiId".to_string(), "ami-2".to_string())]);
        let p = parameter_changes(Some(&old), &new);
        assert_eq!(p.len(), 1);
        assert_eq!(
            (p[0].old.as_deref(), p[0].new.as_str()),
            (Some("ami-1"), "ami-2")
        );
        assert!(parameter_changes(Some(&new), &new).is_empty());
    }
}
