//! Property values: a literal of the property's type, or a CloudFormation intrinsic.
//!
//! Every generated property is a `Value<T>` (or a nested struct / list of them), so a
//! literal of the wrong type does not compile, while `Ref`, `Fn::GetAtt`, `Fn::Sub`
//! and the other intrinsics are accepted wherever CloudFormation accepts them.

use serde::{Serialize, Serializer};
use serde_json::{json, Value as Json};
use std::collections::BTreeMap;

/// A property value: a literal `T` or an intrinsic function that yields one.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<T> {
    Lit(T),
    Expr(Intrinsic),
}

impl<T> Value<T> {
    pub fn lit(v: T) -> Self {
        Value::Lit(v)
    }
}

/// A CloudFormation intrinsic function. Arguments that may themselves be intrinsics
/// are kept as JSON (use `Intrinsic::to_json` or `Value::to_json` to nest them).
#[derive(Debug, Clone, PartialEq)]
pub enum Intrinsic {
    Ref(String),
    GetAtt(String, String),
    Sub(String),
    SubWith(String, BTreeMap<String, Json>),
    Join(String, Vec<Json>),
    /// `Fn::Join` of a list-valued expression (`{"Fn::Join": [sep, list]}`).
    JoinList(String, Box<Json>),
    Select(u32, Box<Json>),
    Split(String, Box<Json>),
    GetAZs(String),
    If(String, Box<Json>, Box<Json>),
    Equals(Box<Json>, Box<Json>),
    Not(Box<Json>),
    ImportValue(Box<Json>),
    Base64(Box<Json>),
    Cidr(Box<Json>, u32, u32),
}

impl Intrinsic {
    pub fn to_json(&self) -> Json {
        match self {
            Intrinsic::Ref(id) => json!({ "Ref": id }),
            Intrinsic::GetAtt(id, attr) => json!({ "Fn::GetAtt": [id, attr] }),
            Intrinsic::Sub(s) => json!({ "Fn::Sub": s }),
            Intrinsic::SubWith(s, vars) => json!({ "Fn::Sub": [s, vars] }),
            Intrinsic::Join(sep, parts) => json!({ "Fn::Join": [sep, parts] }),
            Intrinsic::JoinList(sep, list) => json!({ "Fn::Join": [sep, list] }),
            Intrinsic::Select(i, list) => json!({ "Fn::Select": [i.to_string(), list] }),
            Intrinsic::Split(sep, s) => json!({ "Fn::Split": [sep, s] }),
            Intrinsic::GetAZs(region) => json!({ "Fn::GetAZs": region }),
            Intrinsic::If(cond, a, b) => json!({ "Fn::If": [cond, a, b] }),
            Intrinsic::Equals(a, b) => json!({ "Fn::Equals": [a, b] }),
            Intrinsic::Not(c) => json!({ "Fn::Not": [c] }),
            Intrinsic::ImportValue(v) => json!({ "Fn::ImportValue": v }),
            Intrinsic::Base64(v) => json!({ "Fn::Base64": v }),
            Intrinsic::Cidr(block, count, bits) => {
                json!({ "Fn::Cidr": [block, count.to_string(), bits.to_string()] })
            }
        }
    }

    /// `Fn::Sub` of a string with `${Name}` references.
    pub fn sub(s: impl Into<String>) -> Self {
        Intrinsic::Sub(s.into())
    }

    /// `Fn::Join` of parts (literals or intrinsics).
    pub fn join(sep: impl Into<String>, parts: Vec<Json>) -> Self {
        Intrinsic::Join(sep.into(), parts)
    }
}

impl Serialize for Intrinsic {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

impl<T: Serialize> Serialize for Value<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Lit(v) => v.serialize(s),
            Value::Expr(e) => e.serialize(s),
        }
    }
}

impl<T: Serialize> Value<T> {
    /// The value as template JSON (for nesting inside `Fn::Join`, `Fn::Sub` variables …).
    pub fn to_json(&self) -> Json {
        serde_json::to_value(self).expect("a property value always serializes")
    }
}

impl<T> From<Intrinsic> for Value<T> {
    fn from(e: Intrinsic) -> Self {
        Value::Expr(e)
    }
}

impl From<&str> for Value<String> {
    fn from(s: &str) -> Self {
        Value::Lit(s.to_string())
    }
}

impl From<String> for Value<String> {
    fn from(s: String) -> Self {
        Value::Lit(s)
    }
}

impl From<&String> for Value<String> {
    fn from(s: &String) -> Self {
        Value::Lit(s.clone())
    }
}

impl From<i64> for Value<i64> {
    fn from(v: i64) -> Self {
        Value::Lit(v)
    }
}

impl From<u32> for Value<i64> {
    fn from(v: u32) -> Self {
        Value::Lit(i64::from(v))
    }
}

impl From<i32> for Value<i64> {
    fn from(v: i32) -> Self {
        Value::Lit(i64::from(v))
    }
}

impl From<u16> for Value<i64> {
    fn from(v: u16) -> Self {
        Value::Lit(i64::from(v))
    }
}

impl From<f64> for Value<f64> {
    fn from(v: f64) -> Self {
        Value::Lit(v)
    }
}

impl From<bool> for Value<bool> {
    fn from(v: bool) -> Self {
        Value::Lit(v)
    }
}

impl From<Json> for Value<Json> {
    fn from(v: Json) -> Self {
        Value::Lit(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_and_intrinsics_serialize_as_cloudformation_expects() {
        let lit: Value<String> = "10.0.0.0/16".into();
        assert_eq!(serde_json::to_value(&lit).unwrap(), json!("10.0.0.0/16"));
        let r: Value<String> = Intrinsic::Ref("Vpc".into()).into();
        assert_eq!(serde_json::to_value(&r).unwrap(), json!({"Ref": "Vpc"}));
        let att: Value<String> = Intrinsic::GetAtt("Alb".into(), "DNSName".into()).into();
        assert_eq!(
            serde_json::to_value(&att).unwrap(),
            json!({"Fn::GetAtt": ["Alb", "DNSName"]})
        );
        let sel = Intrinsic::Select(1, Box::new(Intrinsic::GetAZs(String::new()).to_json()));
        assert_eq!(
            sel.to_json(),
            json!({"Fn::Select": ["1", {"Fn::GetAZs": ""}]})
        );
    }
}
