//! A CloudFormation template assembled from typed resources.
//!
//! `Template::add` takes any generated resource type and returns a typed `Handle`
//! whose methods (generated per type) are the only way to build `Ref` / `Fn::GetAtt`
//! of it, so a `GetAtt` of an attribute the type does not have does not compile.
//! Resources, parameters and outputs are kept in sorted maps: the same template
//! always serializes to the same bytes.

use super::value::{Intrinsic, Value};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::marker::PhantomData;

/// Implemented by every generated resource type.
pub trait Resource: Serialize {
    /// The CloudFormation type name, e.g. "AWS::EC2::VPC".
    const TYPE_NAME: &'static str;
    /// Property paths ("/properties/CidrBlock") whose change replaces the resource.
    const CREATE_ONLY: &'static [&'static str];
}

/// A typed reference to a resource added to a template.
#[derive(Debug)]
pub struct Handle<R> {
    logical_id: String,
    _resource: PhantomData<fn() -> R>,
}

impl<R> Clone for Handle<R> {
    fn clone(&self) -> Self {
        Handle {
            logical_id: self.logical_id.clone(),
            _resource: PhantomData,
        }
    }
}

impl<R> Handle<R> {
    /// A handle to a resource known to be in the template under `logical_id`.
    pub fn new(logical_id: impl Into<String>) -> Self {
        Handle {
            logical_id: logical_id.into(),
            _resource: PhantomData,
        }
    }

    pub fn logical_id(&self) -> &str {
        &self.logical_id
    }

    /// `{"Ref": logical_id}`.
    pub fn ref_<T>(&self) -> Value<T> {
        Value::Expr(Intrinsic::Ref(self.logical_id.clone()))
    }

    /// `Fn::GetAtt` of an attribute; generated accessors call this with checked names.
    pub fn get_att<T>(&self, attribute: &str) -> Value<T> {
        Value::Expr(Intrinsic::GetAtt(
            self.logical_id.clone(),
            attribute.to_string(),
        ))
    }
}

/// Resource attributes that are not properties.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Options {
    pub depends_on: Vec<String>,
    pub condition: Option<String>,
    pub deletion_policy: Option<String>,
    pub update_replace_policy: Option<String>,
    pub update_policy: Option<Json>,
    pub creation_policy: Option<Json>,
}

impl Options {
    pub fn depends_on<R>(mut self, h: &Handle<R>) -> Self {
        self.depends_on.push(h.logical_id().to_string());
        self
    }
}

/// One entry of the template's `Resources`.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceEntry {
    pub type_name: &'static str,
    pub create_only: &'static [&'static str],
    pub properties: Json,
    pub options: Options,
}

impl Serialize for ResourceEntry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("Type", self.type_name)?;
        if let Some(c) = &self.options.condition {
            m.serialize_entry("Condition", c)?;
        }
        if !self.options.depends_on.is_empty() {
            let mut deps = self.options.depends_on.clone();
            deps.sort();
            deps.dedup();
            m.serialize_entry("DependsOn", &deps)?;
        }
        if let Some(p) = &self.options.deletion_policy {
            m.serialize_entry("DeletionPolicy", p)?;
        }
        if let Some(p) = &self.options.update_replace_policy {
            m.serialize_entry("UpdateReplacePolicy", p)?;
        }
        if let Some(p) = &self.options.creation_policy {
            m.serialize_entry("CreationPolicy", p)?;
        }
        if let Some(p) = &self.options.update_policy {
            m.serialize_entry("UpdatePolicy", p)?;
        }
        let empty = self.properties.as_object().is_some_and(|o| o.is_empty());
        if !empty {
            m.serialize_entry("Properties", &self.properties)?;
        }
        m.end()
    }
}

/// A template parameter.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Parameter {
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_pattern: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_echo: Option<bool>,
}

impl Parameter {
    pub fn string(description: impl Into<String>) -> Self {
        Parameter {
            kind: "String".into(),
            description: Some(description.into()),
            default: None,
            allowed_pattern: None,
            no_echo: None,
        }
    }
}

/// A template output.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Output {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub value: Json,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub export: Option<Json>,
}

/// A whole CloudFormation template.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Template {
    pub description: Option<String>,
    pub parameters: BTreeMap<String, Parameter>,
    pub conditions: BTreeMap<String, Json>,
    pub resources: BTreeMap<String, ResourceEntry>,
    pub outputs: BTreeMap<String, Output>,
}

impl Template {
    pub fn new(description: impl Into<String>) -> Self {
        Template {
            description: Some(description.into()),
            ..Default::default()
        }
    }

    /// Add a resource; panics on a duplicate logical id (a synth bug, never user input).
    pub fn add<R: Resource>(&mut self, logical_id: impl Into<String>, resource: R) -> Handle<R> {
        self.add_with(logical_id, resource, Options::default())
    }

    pub fn add_with<R: Resource>(
        &mut self,
        logical_id: impl Into<String>,
        resource: R,
        options: Options,
    ) -> Handle<R> {
        let id = logical_id.into();
        assert!(
            id.chars().all(|c| c.is_ascii_alphanumeric()) && !id.is_empty(),
            "logical id {id:?} must be alphanumeric"
        );
        let properties =
            serde_json::to_value(&resource).expect("a generated resource always serializes");
        let previous = self.resources.insert(
            id.clone(),
            ResourceEntry {
                type_name: R::TYPE_NAME,
                create_only: R::CREATE_ONLY,
                properties,
                options,
            },
        );
        assert!(previous.is_none(), "duplicate logical id {id}");
        Handle::new(id)
    }

    /// Declare a parameter; returns its `Ref`.
    pub fn parameter(&mut self, name: impl Into<String>, p: Parameter) -> Value<String> {
        let name = name.into();
        self.parameters.insert(name.clone(), p);
        Value::Expr(Intrinsic::Ref(name))
    }

    pub fn output<T: Serialize>(
        &mut self,
        name: impl Into<String>,
        description: impl Into<String>,
        value: &Value<T>,
    ) {
        self.outputs.insert(
            name.into(),
            Output {
                description: Some(description.into()),
                value: value.to_json(),
                export: None,
            },
        );
    }

    /// Every resource of one CloudFormation type, with its logical id.
    pub fn resources_of_type<'a>(
        &'a self,
        type_name: &'a str,
    ) -> impl Iterator<Item = (&'a String, &'a ResourceEntry)> + 'a {
        self.resources
            .iter()
            .filter(move |(_, r)| r.type_name == type_name)
    }

    /// The template as pretty JSON; the same template always gives the same bytes.
    pub fn to_json_pretty(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("a template always serializes");
        s.push('\n');
        s
    }
}

impl Serialize for Template {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("AWSTemplateFormatVersion", "2010-09-09")?;
        if let Some(d) = &self.description {
            m.serialize_entry("Description", d)?;
        }
        if !self.parameters.is_empty() {
            m.serialize_entry("Parameters", &self.parameters)?;
        }
        if !self.conditions.is_empty() {
            m.serialize_entry("Conditions", &self.conditions)?;
        }
        m.serialize_entry("Resources", &self.resources)?;
        if !self.outputs.is_empty() {
            m.serialize_entry("Outputs", &self.outputs)?;
        }
        m.end()
    }
}
