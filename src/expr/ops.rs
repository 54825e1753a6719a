//! Unary and binary operators on values, with unknown and sensitive propagation.

use hcl_edit::expr::{BinaryOperator, UnaryOperator};

use super::convert::{equal, mark, to_bool, to_number, unmark_all};
use super::number::{self, Arith};
use crate::value::Value;

/// Which operand of a binary operator an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Lhs,
    Rhs,
    Both,
}

/// Applies `-` or `!`.
pub(crate) fn unary(op: UnaryOperator, v: &Value) -> Result<Value, String> {
    let (inner, secret) = unmark_all(v);
    if inner.is_unknown() {
        return Ok(mark(Value::Unknown, secret));
    }
    let r = match op {
        UnaryOperator::Neg => number::negate(&to_number(inner, secret)?)?,
        UnaryOperator::Not => Value::Bool(!to_bool(inner, secret)?),
    };
    Ok(mark(r, secret))
}

/// The result of `&&` or `||` when the left operand alone decides it (short circuit).
pub(crate) fn short_circuit(op: BinaryOperator, lhs: &Value) -> Option<Value> {
    let (inner, secret) = unmark_all(lhs);
    match (op, inner) {
        (BinaryOperator::And, Value::Bool(false)) => Some(mark(Value::Bool(false), secret)),
        (BinaryOperator::Or, Value::Bool(true)) => Some(mark(Value::Bool(true), secret)),
        _ => None,
    }
}

/// Applies a binary operator to two evaluated operands.
pub(crate) fn binary(op: BinaryOperator, a: &Value, b: &Value) -> Result<Value, (Side, String)> {
    use BinaryOperator as B;
    match op {
        B::Eq | B::NotEq => {
            let secret = a.contains_sensitive() || b.contains_sensitive();
            if a.contains_unknown() || b.contains_unknown() {
                return Ok(mark(Value::Unknown, secret));
            }
            let eq = equal(a, b);
            Ok(mark(
                Value::Bool(if op == B::Eq { eq } else { !eq }),
                secret,
            ))
        }
        B::And | B::Or => logic(op, a, b),
        _ => numeric(op, a, b),
    }
}

fn logic(op: BinaryOperator, a: &Value, b: &Value) -> Result<Value, (Side, String)> {
    let secret = a.is_sensitive() || b.is_sensitive();
    let known = |v: &Value, side: Side| -> Result<Option<bool>, (Side, String)> {
        if v.is_unknown() {
            return Ok(None);
        }
        to_bool(v, secret).map(Some).map_err(|e| (side, e))
    };
    let (x, y) = (known(a, Side::Lhs)?, known(b, Side::Rhs)?);
    let decisive = op == BinaryOperator::Or;
    let r = if x == Some(decisive) || y == Some(decisive) {
        Value::Bool(decisive)
    } else if x.is_none() || y.is_none() {
        Value::Unknown
    } else {
        Value::Bool(!decisive)
    };
    Ok(mark(r, secret))
}

fn numeric(op: BinaryOperator, a: &Value, b: &Value) -> Result<Value, (Side, String)> {
    use BinaryOperator as B;
    let secret = a.is_sensitive() || b.is_sensitive();
    if a.is_unknown() || b.is_unknown() {
        return Ok(mark(Value::Unknown, secret));
    }
    let x = to_number(a, secret).map_err(|e| (Side::Lhs, e))?;
    let y = to_number(b, secret).map_err(|e| (Side::Rhs, e))?;
    let arith = |o: Arith| number::arith(o, &x, &y).map_err(|e| (Side::Both, e));
    let ord = number::compare(&x, &y);
    let r = match op {
        B::Plus => arith(Arith::Add)?,
        B::Minus => arith(Arith::Sub)?,
        B::Mul => arith(Arith::Mul)?,
        B::Div => arith(Arith::Div)?,
        B::Mod => arith(Arith::Rem)?,
        B::Less => Value::Bool(ord.is_lt()),
        B::LessEq => Value::Bool(ord.is_le()),
        B::Greater => Value::Bool(ord.is_gt()),
        B::GreaterEq => Value::Bool(ord.is_ge()),
        B::Eq | B::NotEq | B::And | B::Or => Value::Null,
    };
    Ok(mark(r, secret))
}
