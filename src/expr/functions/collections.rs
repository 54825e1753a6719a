//! Collection functions: lists and maps (merge, lookup, concat, flatten, ...) and
//! `coalesce`. Functions registered as `Shallow` keep the marks of the elements they
//! move.

use super::{Args, FnError, FnResult};
use crate::expr::convert::{equal, mark, to_string, unmark_all};
use crate::value::Value;

/// `coalesce(a, ...)`: the first argument that is neither null nor an empty string;
/// unknown if an unknown argument comes first.
pub(super) fn coalesce(a: &Args) -> FnResult {
    for v in a.all() {
        if v.is_unknown() {
            return Ok(mark(Value::Unknown, a.secret()));
        }
        if v.is_null() || v.as_str() == Some("") {
            continue;
        }
        return Ok(mark(v.clone(), a.secret()));
    }
    Err(FnError::call("no argument is non-null and non-empty"))
}

/// `coalescelist(list, ...)`: the first non-empty list.
pub(super) fn coalescelist(a: &Args) -> FnResult {
    for i in 0..a.len() {
        let items = a.list(i)?;
        if !items.is_empty() {
            return Ok(Value::List(items.to_vec()));
        }
    }
    Err(FnError::call("all the lists are empty"))
}

/// `compact(list)`: drops null and empty-string elements.
pub(super) fn compact(a: &Args) -> FnResult {
    let mut out = Vec::new();
    for v in a.list(0)? {
        if v.is_unknown() {
            return Ok(Value::Unknown);
        }
        if !(v.is_null() || v.as_str() == Some("")) {
            out.push(v.clone());
        }
    }
    Ok(Value::List(out))
}

pub(super) fn concat(a: &Args) -> FnResult {
    let mut out = Vec::new();
    for i in 0..a.len() {
        out.extend_from_slice(a.list(i)?);
    }
    Ok(Value::List(out))
}

pub(super) fn contains(a: &Args) -> FnResult {
    let needle = a.get(1);
    Ok(Value::Bool(a.list(0)?.iter().any(|v| equal(v, needle))))
}

/// `distinct(list)`: the first of each group of equal elements, in order. Elements are
/// grouped by a hash that equal values share, and compared only within a group (a
/// comparison with every element kept was quadratic: hours for a million elements).
pub(super) fn distinct(a: &Args) -> FnResult {
    let mut out: Vec<Value> = Vec::new();
    let mut groups: rustc_hash::FxHashMap<u64, Vec<usize>> = rustc_hash::FxHashMap::default();
    for v in a.list(0)? {
        let group = groups.entry(equality_hash(v)).or_default();
        if !group.iter().any(|&i| equal(&out[i], v)) {
            group.push(out.len());
            out.push(v.clone());
        }
    }
    Ok(Value::List(out))
}

/// A hash under which values that [`equal`] calls equal collide (marks ignored, numbers
/// by their value as a float, so `1` and `1.0` meet).
fn equality_hash(v: &Value) -> u64 {
    use std::hash::{Hash, Hasher};
    fn feed(v: &Value, h: &mut rustc_hash::FxHasher) {
        match unmark_all(v).0 {
            Value::Null => 0u8.hash(h),
            Value::Bool(b) => (1u8, *b).hash(h),
            Value::Number(n) => {
                let f = crate::expr::number::to_f64(n);
                (2u8, if f == 0.0 { 0 } else { f.to_bits() }).hash(h);
            }
            Value::String(s) => (3u8, s).hash(h),
            Value::List(items) => {
                (4u8, items.len()).hash(h);
                items.iter().for_each(|x| feed(x, h));
            }
            Value::Map(m) => {
                (5u8, m.len()).hash(h);
                for (k, x) in m.iter() {
                    k.hash(h);
                    feed(x, h);
                }
            }
            _ => 6u8.hash(h),
        }
    }
    let mut h = rustc_hash::FxHasher::default();
    feed(v, &mut h);
    h.finish()
}

/// `element(list, index)`: wraps around past the end.
pub(super) fn element(a: &Args) -> FnResult {
    let items = a.list(0)?;
    let i = a.int(1)?;
    if items.is_empty() {
        return Err(FnError::arg(0, "cannot take an element of an empty list"));
    }
    let i = usize::try_from(i).map_err(|_| FnError::arg(1, "the index must not be negative"))?;
    Ok(items[i % items.len()].clone())
}

fn flatten_into(items: &[Value], secret: bool, out: &mut Vec<Value>) -> bool {
    for v in items {
        let (inner, s) = unmark_all(v);
        match inner {
            Value::Unknown => return false,
            Value::List(nested) => {
                if !flatten_into(nested, secret || s, out) {
                    return false;
                }
            }
            _ => out.push(mark(v.clone(), secret)),
        }
    }
    true
}

/// `flatten(list)`: nested lists become one flat list (unknown when a nested element is).
pub(super) fn flatten(a: &Args) -> FnResult {
    let mut out = Vec::new();
    if !flatten_into(a.list(0)?, false, &mut out) {
        return Ok(Value::Unknown);
    }
    Ok(Value::List(out))
}

/// `index(list, value)`: the position of the first equal element.
pub(super) fn index(a: &Args) -> FnResult {
    let needle = a.get(1);
    match a.list(0)?.iter().position(|v| equal(v, needle)) {
        Some(i) => Ok(Value::int(i as i64)),
        None => Err(FnError::arg(
            1,
            format!("{} is not in the list", a.show(needle)),
        )),
    }
}

pub(super) fn keys(a: &Args) -> FnResult {
    Ok(Value::List(
        a.map(0)?.keys().map(|k| Value::string(k.clone())).collect(),
    ))
}

pub(super) fn values(a: &Args) -> FnResult {
    Ok(Value::List(a.map(0)?.values().cloned().collect()))
}

/// `length(x)`: characters of a string, elements of a list or map.
pub(super) fn length(a: &Args) -> FnResult {
    let n = match a.get(0) {
        Value::String(s) => s.chars().count(),
        Value::List(l) => l.len(),
        Value::Map(m) => m.len(),
        other => {
            let found = other.type_name();
            return Err(FnError::arg(
                0,
                format!("expected a string, list or map, found {found}"),
            ));
        }
    };
    Ok(Value::int(n as i64))
}

/// `lookup(map, key, default?)`.
pub(super) fn lookup(a: &Args) -> FnResult {
    let m = a.map(0)?;
    let key = a.str(1)?;
    match m.get(&key) {
        Some(v) => Ok(v.clone()),
        None if a.len() > 2 => Ok(a.get(2).clone()),
        None => Err(FnError::arg(
            1,
            format!("the map has no key {}", a.show(&Value::String(key))),
        )),
    }
}

/// `merge(map, ...)`: later keys win; null arguments are skipped.
pub(super) fn merge(a: &Args) -> FnResult {
    let mut out = crate::value::Map::new();
    for i in 0..a.len() {
        if a.get(i).is_null() {
            continue;
        }
        out.extend(a.map(i)?.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    Ok(Value::Map(out))
}

/// `one(list)`: null for an empty list, the element of a one-element list.
pub(super) fn one(a: &Args) -> FnResult {
    match a.list(0)? {
        [] => Ok(Value::Null),
        [v] => Ok(v.clone()),
        more => Err(FnError::arg(
            0,
            format!("expected at most one element, found {}", more.len()),
        )),
    }
}

pub(super) fn reverse(a: &Args) -> FnResult {
    Ok(Value::List(a.list(0)?.iter().rev().cloned().collect()))
}

/// `slice(list, start, end)`: `end` is exclusive.
pub(super) fn slice(a: &Args) -> FnResult {
    let items = a.list(0)?;
    let bound = |i: usize| -> Result<usize, FnError> {
        usize::try_from(a.int(i)?)
            .ok()
            .filter(|n| *n <= items.len())
            .ok_or_else(|| {
                FnError::arg(
                    i,
                    format!("out of range for a list of {} elements", items.len()),
                )
            })
    };
    let (start, end) = (bound(1)?, bound(2)?);
    if start > end {
        return Err(FnError::arg(1, "the start index is after the end index"));
    }
    Ok(Value::List(items[start..end].to_vec()))
}

/// `sort(list)`: strings in lexicographic order.
pub(super) fn sort(a: &Args) -> FnResult {
    let mut items = a.strings(0)?;
    items.sort();
    Ok(Value::List(items.into_iter().map(Value::String).collect()))
}

/// `zipmap(keys, values)`.
pub(super) fn zipmap(a: &Args) -> FnResult {
    let keys = a.list(0)?;
    let values = a.list(1)?;
    if keys.len() != values.len() {
        return Err(FnError::call(format!(
            "{} keys but {} values; the lists must have the same length",
            keys.len(),
            values.len()
        )));
    }
    let mut secret = false;
    let mut out = crate::value::Map::new();
    for (k, v) in keys.iter().zip(values) {
        if k.is_unknown() {
            return Ok(Value::Unknown);
        }
        secret |= k.is_sensitive();
        let k = to_string(k).map_err(|m| FnError::arg(0, format!("key: {m}")))?;
        out.insert(k, v.clone());
    }
    Ok(mark(Value::Map(out), secret))
}

fn bools(a: &Args) -> Result<Vec<bool>, FnError> {
    a.list(0)?
        .iter()
        .map(|v| crate::expr::convert::to_bool(v, a.secret()).map_err(|m| FnError::arg(0, m)))
        .collect()
}

pub(super) fn alltrue(a: &Args) -> FnResult {
    Ok(Value::Bool(bools(a)?.into_iter().all(|b| b)))
}

pub(super) fn anytrue(a: &Args) -> FnResult {
    Ok(Value::Bool(bools(a)?.into_iter().any(|b| b)))
}
