//! Number arithmetic for expressions: integers stay integers when the result is exact,
//! everything else is a finite `f64`.

use std::cmp::Ordering;

use serde_json::Number;

use crate::value::Value;

/// A number as a float.
pub(crate) fn to_f64(n: &Number) -> f64 {
    n.as_f64().unwrap_or(0.0)
}

/// A number as an exact `i64`, if it is one (an integral float counts).
pub(crate) fn to_i64(n: &Number) -> Option<i64> {
    n.as_i64().or_else(|| {
        n.as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15)
            .map(|f| f as i64)
    })
}

/// A number value from a float: integral floats become integers; infinities and NaN are
/// errors.
pub(crate) fn from_f64(f: f64) -> Result<Value, String> {
    if !f.is_finite() {
        return Err("the result is not a finite number".into());
    }
    if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 {
        return Ok(Value::int(f as i64));
    }
    Number::from_f64(f)
        .map(Value::Number)
        .ok_or_else(|| "the result is not a finite number".into())
}

/// A number normalized so that integral values are stored as integers.
pub(crate) fn normalize(n: Number) -> Value {
    if n.is_f64() {
        from_f64(to_f64(&n)).unwrap_or(Value::Number(n))
    } else {
        Value::Number(n)
    }
}

/// Parses a number from its decimal text (as `tonumber` and automatic conversion do).
pub(crate) fn parse(s: &str) -> Option<Value> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    if let Ok(i) = t.parse::<i64>() {
        return Some(Value::int(i));
    }
    let valid = t
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'));
    if !valid {
        return None;
    }
    t.parse::<f64>().ok().and_then(|f| from_f64(f).ok())
}

/// An arithmetic operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arith {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

/// Applies an arithmetic operator.
pub(crate) fn arith(op: Arith, a: &Number, b: &Number) -> Result<Value, String> {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        let exact = match op {
            Arith::Add => x.checked_add(y),
            Arith::Sub => x.checked_sub(y),
            Arith::Mul => x.checked_mul(y),
            Arith::Div if y == 0 => return Err("division by zero".into()),
            Arith::Div => x
                .checked_rem(y)
                .filter(|r| *r == 0)
                .and_then(|_| x.checked_div(y)),
            Arith::Rem if y == 0 => return Err("modulo by zero".into()),
            Arith::Rem => x.checked_rem(y),
        };
        if let Some(r) = exact {
            return Ok(Value::int(r));
        }
    }
    let (x, y) = (to_f64(a), to_f64(b));
    let r = match op {
        Arith::Add => x + y,
        Arith::Sub => x - y,
        Arith::Mul => x * y,
        Arith::Div if y == 0.0 => return Err("division by zero".into()),
        Arith::Div => x / y,
        Arith::Rem if y == 0.0 => return Err("modulo by zero".into()),
        Arith::Rem => x % y,
    };
    from_f64(r)
}

/// Compares two numbers.
pub(crate) fn compare(a: &Number, b: &Number) -> Ordering {
    match (a.as_i64(), b.as_i64()) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => to_f64(a).partial_cmp(&to_f64(b)).unwrap_or(Ordering::Equal),
    }
}

/// Negates a number.
pub(crate) fn negate(n: &Number) -> Result<Value, String> {
    match n.as_i64().and_then(i64::checked_neg) {
        Some(i) => Ok(Value::int(i)),
        None => from_f64(-to_f64(n)),
    }
}
