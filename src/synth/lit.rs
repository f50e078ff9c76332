//! Short constructors for property values, so the concern files read like the
//! templates they build.

use crate::cfn::{Intrinsic, Value};

/// A literal string.
pub fn s(v: impl Into<String>) -> Value<String> {
    Value::Lit(v.into())
}

/// An optional literal string.
pub fn some(v: impl Into<String>) -> Option<Value<String>> {
    Some(s(v))
}

/// A literal integer.
pub fn int(v: impl Into<i64>) -> Value<i64> {
    Value::Lit(v.into())
}

/// A literal boolean.
pub fn yes(v: bool) -> Value<bool> {
    Value::Lit(v)
}

/// `Fn::Sub` of a string with `${...}` references.
pub fn sub(template: impl Into<String>) -> Value<String> {
    Value::Expr(Intrinsic::sub(template))
}

/// An optional literal of any property type (generated enums included).
pub fn opt<T>(v: T) -> Option<Value<T>> {
    Some(Value::Lit(v))
}
