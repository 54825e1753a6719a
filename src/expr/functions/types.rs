//! Type conversion functions: tostring, tonumber, tobool, tolist, tomap, toset.

use super::{Args, FnError, FnResult};
use crate::expr::convert::{equal, to_string};
use crate::expr::number;
use crate::value::Value;

/// `tostring(v)`: null stays null.
pub(super) fn tostring(a: &Args) -> FnResult {
    match a.get(0) {
        Value::Null => Ok(Value::Null),
        v => to_string(v).map(Value::String).map_err(|_| {
            FnError::arg(0, format!("cannot convert a {} to a string", v.type_name()))
        }),
    }
}

/// `tonumber(v)`: null stays null; numeric strings parse.
pub(super) fn tonumber(a: &Args) -> FnResult {
    match a.get(0) {
        Value::Null => Ok(Value::Null),
        _ => a.num(0).map(number::normalize),
    }
}

/// `tobool(v)`: null stays null; `"true"` and `"false"` convert.
pub(super) fn tobool(a: &Args) -> FnResult {
    match a.get(0) {
        Value::Null => Ok(Value::Null),
        _ => a.bool(0).map(Value::Bool),
    }
}

pub(super) fn tolist(a: &Args) -> FnResult {
    a.list(0).map(|l| Value::List(l.to_vec()))
}

pub(super) fn tomap(a: &Args) -> FnResult {
    a.map(0).map(|m| Value::Map(m.clone()))
}

/// `toset(list)`: distinct elements; strings and numbers come out sorted, as Terraform
/// orders sets.
pub(super) fn toset(a: &Args) -> FnResult {
    let mut out: Vec<Value> = Vec::new();
    for v in a.list(0)? {
        if !out.iter().any(|o| equal(o, v)) {
            out.push(v.clone());
        }
    }
    if out.iter().all(|v| matches!(v, Value::String(_))) {
        out.sort_by(|x, y| x.as_str().cmp(&y.as_str()));
    } else if out.iter().all(|v| matches!(v, Value::Number(_))) {
        out.sort_by(|x, y| match (x, y) {
            (Value::Number(p), Value::Number(q)) => number::compare(p, q),
            _ => std::cmp::Ordering::Equal,
        });
    }
    Ok(Value::List(out))
}
