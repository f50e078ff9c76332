//! Read-only helpers over a template's JSON: resources by type, `Ref` targets,
//! Availability Zone names. Used by the Rust checks that join resources.

use serde_json::Value as Json;

/// One template to check, as CloudFormation JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateJson {
    /// "us-east-1" for a region's template, "global" or "zone" for the others.
    pub name: String,
    /// The region the template is deployed to (None when it is not a region's own).
    pub region: Option<String>,
    pub json: Json,
}

/// The resources of one CloudFormation type: (logical id, properties).
pub fn resources_of<'a>(
    template: &'a Json,
    type_name: &'a str,
) -> impl Iterator<Item = (&'a str, &'a Json)> + 'a {
    template
        .get("Resources")
        .and_then(Json::as_object)
        .into_iter()
        .flatten()
        .filter(move |(_, r)| r.get("Type").and_then(Json::as_str) == Some(type_name))
        .map(|(id, r)| (id.as_str(), r.get("Properties").unwrap_or(&Json::Null)))
}

/// The properties of the resource `id`, if it exists with type `type_name`.
pub fn resource<'a>(template: &'a Json, id: &str, type_name: &str) -> Option<&'a Json> {
    let r = template.get("Resources")?.get(id)?;
    (r.get("Type")?.as_str()? == type_name).then(|| r.get("Properties").unwrap_or(&Json::Null))
}

/// The logical id a value points at: `{"Ref": id}` or `{"Fn::GetAtt": [id, ...]}`.
pub fn target(value: &Json) -> Option<&str> {
    if let Some(id) = value.get("Ref").and_then(Json::as_str) {
        return Some(id);
    }
    value
        .get("Fn::GetAtt")
        .and_then(Json::as_array)
        .and_then(|a| a.first())
        .and_then(Json::as_str)
}

/// A subnet's Availability Zone as a comparable token: the literal name, or
/// "GetAZs[i]" for `{"Fn::Select": [i, {"Fn::GetAZs": ...}]}`.
pub fn subnet_az(template: &Json, subnet_id: &str) -> Option<String> {
    let az = resource(template, subnet_id, "AWS::EC2::Subnet")?.get("AvailabilityZone")?;
    if let Some(name) = az.as_str() {
        return Some(name.to_string());
    }
    let select = az.get("Fn::Select")?.as_array()?;
    let index = select.first()?;
    let index = index
        .as_u64()
        .map(|i| i.to_string())
        .or_else(|| index.as_str().map(str::to_string))?;
    select.get(1)?.get("Fn::GetAZs")?;
    Some(format!("GetAZs[{index}]"))
}

/// A number CloudFormation accepts as a number or a numeric string.
pub fn number(value: &Json) -> Option<u64> {
    value
        .as_u64()
        .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
}
