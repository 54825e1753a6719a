//! The budget of one evaluation: how many bytes of values an expression may build
//! before it is stopped with an error at the sub-expression that went over. Without it
//! three nested `for` expressions over `range(1024)`, or a `join` with a separator of a
//! megabyte, built gigabytes until the process was killed.
//!
//! What is counted is what evaluation copies or makes: the value of every variable and
//! traversal read, every element a `for` produces, every piece of text a template
//! writes, every function result. Functions whose result can be many times larger than
//! their arguments (`join`, `replace`, `split`, `format`, …) check the room left before
//! they build it. A value weighs its size in memory, roughly: [`ELEMENT`] bytes per
//! element (and per map key), plus the bytes of its strings.

use std::cell::Cell;
use std::ops::Range;

use super::EvalError;
use crate::value::Value;

/// The most bytes of values one evaluation may build (64 MiB).
pub const LIMIT: usize = 64 << 20;

/// What one element of a list or map costs besides its strings.
pub(crate) const ELEMENT: usize = std::mem::size_of::<Value>();

/// Bytes spent by one evaluation, shared by every part of it.
#[derive(Debug, Default)]
pub(crate) struct Budget {
    spent: Cell<usize>,
}

impl Budget {
    /// Bytes that may still be built.
    pub(crate) fn room(&self) -> usize {
        LIMIT.saturating_sub(self.spent.get())
    }

    /// Whether the evaluation has gone over: `try` and `can` must not swallow that.
    pub(crate) fn exhausted(&self) -> bool {
        self.spent.get() > LIMIT
    }

    /// Spends `bytes`; over the limit, the error is at `span`.
    pub(crate) fn charge(&self, bytes: usize, span: Option<Range<usize>>) -> Result<(), EvalError> {
        let spent = self.spent.get().saturating_add(bytes);
        self.spent.set(spent);
        if spent > LIMIT {
            return Err(over(span));
        }
        Ok(())
    }

    /// Spends the weight of `v`.
    pub(crate) fn charge_value(
        &self,
        v: &Value,
        span: Option<Range<usize>>,
    ) -> Result<(), EvalError> {
        self.charge(weight(v), span)
    }
}

/// The error of an evaluation over its budget.
pub(crate) fn over(span: Option<Range<usize>>) -> EvalError {
    EvalError::new(
        format!("this expression builds more than {} MiB of values, the limit of one evaluation", LIMIT >> 20),
        span,
    )
    .with_help(Some(
        "a module's values are configuration, not data: look for a `for`, `join`, `format` or template that repeats a large value".into(),
    ))
}

/// Roughly the bytes `v` holds in memory.
pub(crate) fn weight(v: &Value) -> usize {
    ELEMENT
        + match v {
            Value::String(s) => s.len(),
            Value::List(items) => items.iter().map(weight).sum(),
            Value::Map(m) => m.iter().map(|(k, v)| ELEMENT + k.len() + weight(v)).sum(),
            Value::Sensitive(inner) => weight(inner),
            _ => 0,
        }
}
