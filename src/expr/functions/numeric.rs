//! Numeric functions: min, max, abs, ceil, floor, sum, range.

use super::{Args, FnError, FnResult};
use crate::expr::number::{self, Arith};
use crate::value::Value;

fn extreme(a: &Args, want: std::cmp::Ordering) -> FnResult {
    let mut best = a.num(0)?;
    for i in 1..a.len() {
        let n = a.num(i)?;
        if number::compare(&n, &best) == want {
            best = n;
        }
    }
    Ok(number::normalize(best))
}

pub(super) fn min(a: &Args) -> FnResult {
    extreme(a, std::cmp::Ordering::Less)
}

pub(super) fn max(a: &Args) -> FnResult {
    extreme(a, std::cmp::Ordering::Greater)
}

pub(super) fn abs(a: &Args) -> FnResult {
    let n = a.num(0)?;
    if number::compare(&n, &0.into()).is_lt() {
        return number::negate(&n).map_err(FnError::call);
    }
    Ok(number::normalize(n))
}

pub(super) fn ceil(a: &Args) -> FnResult {
    number::from_f64(a.float(0)?.ceil()).map_err(FnError::call)
}

pub(super) fn floor(a: &Args) -> FnResult {
    number::from_f64(a.float(0)?.floor()).map_err(FnError::call)
}

/// `sum(list)`.
pub(super) fn sum(a: &Args) -> FnResult {
    let items = a.list(0)?;
    if items.is_empty() {
        return Err(FnError::arg(0, "cannot sum an empty list"));
    }
    let mut total = Value::int(0);
    for v in items {
        let n = crate::expr::convert::to_number(v, a.secret()).map_err(|m| FnError::arg(0, m))?;
        let Value::Number(t) = &total else { break };
        total = number::arith(Arith::Add, t, &n).map_err(FnError::call)?;
    }
    Ok(total)
}

/// At most this many elements from `range`, to keep evaluation bounded.
const RANGE_LIMIT: usize = 1024;

/// `range(limit)`, `range(start, limit)`, `range(start, limit, step)`.
pub(super) fn range(a: &Args) -> FnResult {
    let (start, limit) = match a.len() {
        1 => (0.0, a.float(0)?),
        _ => (a.float(0)?, a.float(1)?),
    };
    let step = if a.len() == 3 {
        a.float(2)?
    } else if limit < start {
        -1.0
    } else {
        1.0
    };
    if step == 0.0 {
        return Err(FnError::arg(2, "the step must not be zero"));
    }
    if (step > 0.0 && limit < start) || (step < 0.0 && limit > start) {
        return Err(FnError::call("the step moves away from the limit"));
    }
    let mut out = Vec::new();
    let mut i = 0.0;
    loop {
        let x = start + step * i;
        if (step > 0.0 && x >= limit) || (step < 0.0 && x <= limit) {
            break;
        }
        if out.len() == RANGE_LIMIT {
            return Err(FnError::call(format!("more than {RANGE_LIMIT} elements")));
        }
        out.push(number::from_f64(x).map_err(FnError::call)?);
        i += 1.0;
    }
    Ok(Value::List(out))
}
