//! HCL expression evaluation: a pure evaluator over [`Value`]s with unknown and
//! sensitive marks, the static references an expression makes, and the built-in
//! functions.
//!
//! This file owns the public API; the work is split by job:
//! `eval` (expressions, `for`, calls), `traverse` (`.attr`, `[i]`, splats), `template`
//! (strings and heredocs), `ops` (operators), `convert` and `number` (automatic
//! conversions and arithmetic), `refs` (static references), `functions` (the library).
//!
//! Every evaluation has a budget of [`MAX_VALUE_BYTES`] of values it may build
//! (`budget`): past it, the error points at the sub-expression that went over.
//!
//! Marks follow Terraform: an operation with an unknown operand is unknown; an operation
//! with a sensitive operand is sensitive, and a secret never appears in an error message.

mod budget;
mod convert;
mod eval;
mod functions;
mod number;
mod ops;
mod refs;
mod template;
mod traverse;

#[cfg(test)]
mod tests;

use std::fmt;
use std::ops::Range;

use hcl_edit::expr::Expression;

use crate::value::Value;

/// Variables visible to an expression: root name → value (e.g. `param`, `score`, `env`,
/// `provider`, and one entry per resource kind: `random_password` →
/// `Map{name → Map{attr → Value}}`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scope {
    /// Root variables by name.
    pub vars: crate::value::Map,
}

impl Scope {
    /// An empty scope.
    pub fn new() -> Scope {
        Scope::default()
    }

    /// The scope with one more root variable.
    pub fn with(mut self, name: impl Into<String>, value: Value) -> Scope {
        self.vars.insert(name.into(), value);
        self
    }
}

/// An evaluation error: a message, the byte span in the HCL source, an optional hint.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalError {
    /// Short lowercase summary; never contains a sensitive value.
    pub message: String,
    /// The smallest offending sub-expression, as byte offsets into the parsed source.
    pub span: Option<Range<usize>>,
    /// A likely fix ("did you mean `name`?").
    pub help: Option<String>,
}

impl EvalError {
    /// An error at `span`.
    pub fn new(message: impl Into<String>, span: Option<Range<usize>>) -> EvalError {
        EvalError {
            message: message.into(),
            span,
            help: None,
        }
    }

    /// The same error with a hint.
    pub fn with_help(mut self, help: Option<String>) -> EvalError {
        self.help = help;
        self
    }
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(help) = &self.help {
            write!(f, " (help: {help})")?;
        }
        Ok(())
    }
}

impl std::error::Error for EvalError {}

/// The most bytes of values one evaluation may build (64 MiB).
pub const MAX_VALUE_BYTES: usize = budget::LIMIT;

/// Evaluates an expression against the variables of `scope`, within a budget of
/// [`MAX_VALUE_BYTES`].
pub fn eval(expr: &Expression, scope: &Scope) -> Result<Value, EvalError> {
    let budget = budget::Budget::default();
    eval::Env::root(scope, &budget).eval(expr)
}

/// One static reference an expression makes: the traversal path from a root variable as
/// far as it is made of attribute names and literal indexes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// E.g. `["postgres_role", "owner", "name"]` for `postgres_role.owner.name`.
    pub path: Vec<String>,
    /// The span of the static part of the traversal (from the root variable to the last
    /// step in `path`).
    pub span: Option<Range<usize>>,
}

/// The value of `kind.name.attr…` when `expr` is such a traversal (attribute names and
/// literal indexes) and `find` gives the attributes of resource `kind.name`: read in
/// place, without a scope holding a copy of them. `None` otherwise, and when a step finds
/// nothing: evaluating the expression in a scope then gives the value or says why.
pub fn resource_attribute<'v>(
    expr: &Expression,
    find: impl FnOnce(&str, &str) -> Option<&'v crate::value::Map>,
) -> Option<Value> {
    use hcl_edit::expr::TraversalOperator;
    let Expression::Traversal(t) = expr else {
        return None;
    };
    let Expression::Variable(kind) = &t.expr else {
        return None;
    };
    let [name, attr, rest @ ..] = t.operators.as_slice() else {
        return None;
    };
    let (TraversalOperator::GetAttr(name), TraversalOperator::GetAttr(attr)) =
        (name.value(), attr.value())
    else {
        return None;
    };
    let attrs = find(kind.as_str(), name.as_str())?;
    traverse::walk_from(attrs.get(attr.as_str())?, rest)
}

/// Every static reference an expression makes, in source order (variables bound by `for`
/// expressions and template `for` directives are not references). Used to build
/// dependency edges.
pub fn references(expr: &Expression) -> Vec<Reference> {
    refs::references(expr)
}

/// Calls a built-in function by name with evaluated arguments (`try` returns its first
/// argument and `can` returns `true`, as their arguments already evaluated).
pub fn call(name: &str, args: Vec<Value>) -> Result<Value, String> {
    let Some(func) = functions::lookup(name) else {
        let mut msg = format!("unknown function `{name}`");
        if let Some(near) = crate::diag::did_you_mean(name, function_names().iter().copied()) {
            msg.push_str(&format!("; did you mean `{near}`?"));
        }
        return Err(msg);
    };
    functions::invoke(func, args, MAX_VALUE_BYTES).map_err(|e| e.msg)
}

/// Names of all built-in functions, sorted (for "did you mean" and docs).
pub fn function_names() -> &'static [&'static str] {
    functions::NAMES
}
