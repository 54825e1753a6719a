//! Conversions between value types as Terraform applies them automatically (numbers and
//! booleans to strings and back), deep equality, and the helpers that keep sensitive
//! values out of messages.

use serde_json::Number;

use super::number;
use crate::value::Value;

/// What a sensitive value shows as in an error message.
pub(crate) const REDACTED: &str = "(sensitive value)";

/// The value under all its sensitive marks, and whether it had any.
pub(crate) fn unmark_all(v: &Value) -> (&Value, bool) {
    let mut cur = v;
    let mut secret = false;
    while let Value::Sensitive(inner) = cur {
        cur = inner;
        secret = true;
    }
    (cur, secret)
}

/// Marks `v` sensitive when `secret` is set.
pub(crate) fn mark(v: Value, secret: bool) -> Value {
    if secret { Value::sensitive(v) } else { v }
}

/// A value for an error message: its display form, or `(sensitive value)` when the
/// computation involves a secret.
pub(crate) fn show(v: &Value, secret: bool) -> String {
    if secret || v.contains_sensitive() {
        REDACTED.to_string()
    } else {
        v.to_string()
    }
}

/// "expected a string, found list".
pub(crate) fn expected(what: &str, v: &Value) -> String {
    format!("expected {what}, found {}", v.type_name())
}

/// Converts a primitive to a string (strings as-is, numbers and booleans as literals).
pub(crate) fn to_string(v: &Value) -> Result<String, String> {
    match unmark_all(v).0 {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(expected("a string", other)),
    }
}

/// Converts a primitive to a number (numeric strings are parsed).
pub(crate) fn to_number(v: &Value, secret: bool) -> Result<Number, String> {
    match unmark_all(v).0 {
        Value::Number(n) => Ok(n.clone()),
        Value::String(s) => match number::parse(s) {
            Some(Value::Number(n)) => Ok(n),
            _ => Err(format!("cannot convert {} to a number", show(v, secret))),
        },
        other => Err(expected("a number", other)),
    }
}

/// Converts a primitive to a boolean (`"true"` and `"false"` are accepted).
pub(crate) fn to_bool(v: &Value, secret: bool) -> Result<bool, String> {
    match unmark_all(v).0 {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s == "true" => Ok(true),
        Value::String(s) if s == "false" => Ok(false),
        Value::String(_) => Err(format!("cannot convert {} to a bool", show(v, secret))),
        other => Err(expected("a bool", other)),
    }
}

/// Deep equality looking through sensitive marks; numbers compare by value. Callers
/// handle unknowns first.
pub(crate) fn equal(a: &Value, b: &Value) -> bool {
    match (unmark_all(a).0, unmark_all(b).0) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Number(x), Value::Number(y)) => number::compare(x, y).is_eq(),
        (Value::String(x), Value::String(y)) => x == y,
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| equal(p, q))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((k1, v1), (k2, v2))| k1 == k2 && equal(v1, v2))
        }
        _ => false,
    }
}
