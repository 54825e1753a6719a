//! The evaluator: walks an expression in an environment of variables (the scope's roots
//! plus the locals that `for` binds) and produces a value or a located error.

use std::collections::BTreeMap;
use std::ops::Range;

use hcl_edit::Span;
use hcl_edit::expr::{BinaryOp, Conditional, Expression, ForExpr, FuncCall, ObjectKey};
use hcl_edit::{Decorated, Number};

use super::budget::Budget;
use super::convert::{REDACTED, mark, to_bool, to_string, unmark_all};
use super::functions;
use super::number;
use super::ops::{self, Side};
use super::{EvalError, Scope, refs, template};
use crate::diag::did_you_mean;
use crate::value::Value;

/// Variables visible at one point: the scope's roots and the locals bound around it.
pub(crate) struct Env<'a> {
    scope: &'a Scope,
    parent: Option<&'a Env<'a>>,
    locals: Vec<(String, Value)>,
    /// The evaluation's budget, shared by every nested environment.
    pub(crate) budget: &'a Budget,
}

type Result<T> = std::result::Result<T, EvalError>;

/// Evaluated call arguments and the span of the expression each came from.
type Evaluated = (Vec<Value>, Vec<Option<Range<usize>>>);

/// `Some(hint)` naming the closest of `candidates`.
pub(crate) fn hint<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    did_you_mean(word, candidates).map(|c| format!("did you mean `{c}`?"))
}

impl<'a> Env<'a> {
    /// The environment of a whole expression.
    pub(crate) fn root(scope: &'a Scope, budget: &'a Budget) -> Env<'a> {
        Env {
            scope,
            parent: None,
            locals: Vec::new(),
            budget,
        }
    }

    /// A nested environment with more locals.
    pub(crate) fn child(&'a self, locals: Vec<(String, Value)>) -> Env<'a> {
        Env {
            scope: self.scope,
            parent: Some(self),
            locals,
            budget: self.budget,
        }
    }

    pub(crate) fn lookup(&self, name: &str) -> Option<&Value> {
        match self.locals.iter().rev().find(|(n, _)| n == name) {
            Some((_, v)) => Some(v),
            None => match self.parent {
                Some(p) => p.lookup(name),
                None => self.scope.vars.get(name),
            },
        }
    }

    fn names(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self.locals.iter().map(|(n, _)| n.as_str()).collect();
        match self.parent {
            Some(p) => out.extend(p.names()),
            None => out.extend(self.scope.vars.keys().map(String::as_str)),
        }
        out
    }

    /// True when `name` is a variable here.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.lookup(name).is_some()
    }

    /// Evaluates an expression.
    pub(crate) fn eval(&self, expr: &Expression) -> Result<Value> {
        match expr {
            Expression::Null(_) => Ok(Value::Null),
            Expression::Bool(b) => Ok(Value::Bool(*b.value())),
            Expression::Number(n) => number_literal(n.value(), expr.span()),
            Expression::String(s) => Ok(Value::String(s.value().clone())),
            Expression::Array(items) => Ok(Value::List(
                items.iter().map(|e| self.eval(e)).collect::<Result<_>>()?,
            )),
            Expression::Object(obj) => {
                self.object(obj.iter().map(|(k, v)| (k, v.expr())), expr.span())
            }
            Expression::StringTemplate(t) => template::eval(self, t, expr.span()),
            Expression::HeredocTemplate(h) => template::eval(self, &h.template, expr.span()),
            Expression::Parenthesis(p) => self.eval(p.inner()),
            // A variable or traversal copies what it reads.
            Expression::Variable(v) => self.charged(self.variable(v)?, expr),
            Expression::Conditional(c) => self.conditional(c),
            Expression::FuncCall(f) => self.func_call(f),
            Expression::Traversal(t) => self.charged(self.traversal(t)?, expr),
            Expression::UnaryOp(u) => {
                let v = self.eval(&u.expr)?;
                ops::unary(*u.operator.value(), &v).map_err(|m| EvalError::new(m, u.expr.span()))
            }
            Expression::BinaryOp(b) => self.binary(b, expr.span()),
            Expression::ForExpr(f) => self.for_expr(f),
        }
    }

    /// `v`, after spending its weight on the budget (an error at `expr` when over).
    fn charged(&self, v: Value, expr: &Expression) -> Result<Value> {
        self.budget.charge_value(&v, expr.span())?;
        Ok(v)
    }

    fn variable(&self, v: &Decorated<hcl_edit::Ident>) -> Result<Value> {
        let name = v.as_str();
        self.lookup(name).cloned().ok_or_else(|| {
            EvalError::new(format!("unknown variable `{name}`"), v.span())
                .with_help(hint(name, self.names()))
        })
    }

    fn object<'e>(
        &self,
        items: impl Iterator<Item = (&'e ObjectKey, &'e Expression)>,
        span: Option<Range<usize>>,
    ) -> Result<Value> {
        let mut out = crate::value::Map::new();
        let (mut unknown, mut secret) = (false, false);
        for (key, value) in items {
            let name = match key {
                ObjectKey::Ident(id) => id.as_str().to_string(),
                ObjectKey::Expression(e) => {
                    let k = self.eval(e)?;
                    let (inner, s) = unmark_all(&k);
                    secret |= s;
                    if inner.is_unknown() {
                        unknown = true;
                        self.eval(value)?;
                        continue;
                    }
                    to_string(inner)
                        .map_err(|m| EvalError::new(format!("object key: {m}"), e.span()))?
                }
            };
            let v = self.eval(value)?;
            if out.insert(name.clone(), v).is_some() {
                let shown = if secret {
                    REDACTED.to_string()
                } else {
                    format!("`{name}`")
                };
                return Err(EvalError::new(
                    format!("duplicate object key {shown}"),
                    key.span().or(span),
                ));
            }
        }
        Ok(mark(
            if unknown {
                Value::Unknown
            } else {
                Value::Map(out)
            },
            secret,
        ))
    }

    fn conditional(&self, c: &Conditional) -> Result<Value> {
        let cond = self.eval(&c.cond_expr)?;
        let (inner, secret) = unmark_all(&cond);
        if inner.is_unknown() {
            return Ok(mark(Value::Unknown, secret));
        }
        let b = to_bool(inner, secret)
            .map_err(|m| EvalError::new(format!("condition: {m}"), c.cond_expr.span()))?;
        let v = self.eval(if b { &c.true_expr } else { &c.false_expr })?;
        Ok(mark(v, secret))
    }

    fn binary(&self, b: &BinaryOp, span: Option<Range<usize>>) -> Result<Value> {
        let op = *b.operator.value();
        let lhs = self.eval(&b.lhs_expr)?;
        if let Some(v) = ops::short_circuit(op, &lhs) {
            return Ok(v);
        }
        let rhs = self.eval(&b.rhs_expr)?;
        ops::binary(op, &lhs, &rhs).map_err(|(side, m)| {
            let at = match side {
                Side::Lhs => b.lhs_expr.span(),
                Side::Rhs => b.rhs_expr.span(),
                Side::Both => span,
            };
            EvalError::new(format!("`{}`: {m}", op.as_str()), at)
        })
    }

    fn func_call(&self, f: &FuncCall) -> Result<Value> {
        let mut name: Vec<&str> = f.name.namespace.iter().map(|n| n.as_str()).collect();
        name.push(f.name.name.as_str());
        let name = name.join("::");
        let name_span = f.name.name.span();
        match name.as_str() {
            "try" => return self.try_form(f),
            "can" => return self.can_form(f),
            _ => {}
        }
        let Some(func) = functions::lookup(&name) else {
            return Err(
                EvalError::new(format!("unknown function `{name}`"), name_span)
                    .with_help(hint(&name, functions::NAMES.iter().copied())),
            );
        };
        let (args, spans) = match self.args(f)? {
            Ok(a) => a,
            Err(unknown) => return Ok(unknown),
        };
        let v = functions::invoke(func, args, self.budget.room()).map_err(|e| {
            let at = e
                .arg
                .and_then(|i| spans.get(i).cloned().flatten())
                .or_else(|| f.span());
            EvalError::new(e.msg, at)
        })?;
        self.budget.charge_value(&v, f.span())?;
        Ok(v)
    }

    /// Evaluates call arguments and their spans, expanding a final `...` argument; the
    /// inner `Err` is the call's result when the expanded list is unknown.
    fn args(&self, f: &FuncCall) -> Result<std::result::Result<Evaluated, Value>> {
        let n = f.args.len();
        let (mut args, mut spans) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for (i, e) in f.args.iter().enumerate() {
            let v = self.eval(e)?;
            if i + 1 == n && f.args.expand_final() {
                let (inner, secret) = unmark_all(&v);
                match inner {
                    Value::Unknown => return Ok(Err(mark(Value::Unknown, secret))),
                    Value::List(items) => {
                        for item in items {
                            args.push(mark(item.clone(), secret));
                            spans.push(e.span());
                        }
                    }
                    other => {
                        return Err(EvalError::new(
                            format!("`...` expands a list, found {}", other.type_name()),
                            e.span(),
                        ));
                    }
                }
            } else {
                args.push(v);
                spans.push(e.span());
            }
        }
        Ok(Ok((args, spans)))
    }

    /// `try(a, b, ...)`: the first argument that evaluates without error. Static errors
    /// (an undeclared variable, an unknown function) are not caught.
    fn try_form(&self, f: &FuncCall) -> Result<Value> {
        let mut last = None;
        for arg in f.args.iter() {
            refs::static_check(arg, self)?;
            match self.eval(arg) {
                Ok(v) if v.contains_unknown() => {
                    return Ok(mark(Value::Unknown, v.contains_sensitive()));
                }
                Ok(v) => return Ok(v),
                // Over the budget is not a failure `try` may step past.
                Err(e) if self.budget.exhausted() => return Err(e),
                Err(e) => last = Some(e),
            }
        }
        Err(match last {
            None => EvalError::new("`try` needs at least one argument", f.span()),
            Some(e) => EvalError::new(
                format!(
                    "`try`: no argument succeeded; the last failed with: {}",
                    e.message
                ),
                f.span(),
            )
            .with_help(e.help),
        })
    }

    /// `can(expr)`: whether `expr` evaluates without error.
    fn can_form(&self, f: &FuncCall) -> Result<Value> {
        let mut args = f.args.iter();
        let (Some(arg), None) = (args.next(), args.next()) else {
            return Err(EvalError::new(
                format!(
                    "`can` takes exactly 1 argument, but {} were given",
                    f.args.len()
                ),
                f.span(),
            ));
        };
        refs::static_check(arg, self)?;
        Ok(match self.eval(arg) {
            Ok(v) if v.contains_unknown() => mark(Value::Unknown, v.contains_sensitive()),
            Ok(v) => mark(Value::Bool(true), v.contains_sensitive()),
            Err(e) if self.budget.exhausted() => return Err(e),
            Err(_) => Value::Bool(false),
        })
    }

    fn for_expr(&self, f: &ForExpr) -> Result<Value> {
        let coll_expr = &f.intro.collection_expr;
        let coll = self.eval(coll_expr)?;
        let Some((items, mut secret)) = iterate(&coll, coll_expr.span())? else {
            return Ok(mark(Value::Unknown, coll.is_sensitive()));
        };
        let key_var = f.intro.key_var.as_ref().map(|k| k.as_str().to_string());
        let value_var = f.intro.value_var.as_str().to_string();
        let mut list = Vec::new();
        let mut map: crate::value::Map = crate::value::Map::new();
        let mut groups: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        let mut unknown = false;
        for (k, v) in items {
            let mut locals = vec![(value_var.clone(), v)];
            if let Some(kv) = &key_var {
                locals.insert(0, (kv.clone(), k));
            }
            let env = self.child(locals);
            if let Some(cond) = &f.cond {
                let c = env.eval(&cond.expr)?;
                let (inner, s) = unmark_all(&c);
                secret |= s;
                if inner.is_unknown() {
                    unknown = true;
                    continue;
                }
                let keep = to_bool(inner, s).map_err(|m| {
                    EvalError::new(format!("`for` condition: {m}"), cond.expr.span())
                })?;
                if !keep {
                    continue;
                }
            }
            let Some(key_expr) = &f.key_expr else {
                let value = env.eval(&f.value_expr)?;
                self.budget.charge_value(&value, f.value_expr.span())?;
                list.push(value);
                continue;
            };
            let key = env.eval(key_expr)?;
            let value = env.eval(&f.value_expr)?;
            self.budget.charge_value(&value, f.value_expr.span())?;
            let (inner, s) = unmark_all(&key);
            secret |= s;
            if inner.is_unknown() {
                unknown = true;
                continue;
            }
            let key = to_string(inner)
                .map_err(|m| EvalError::new(format!("`for` key: {m}"), key_expr.span()))?;
            if f.grouping {
                groups.entry(key).or_default().push(value);
                continue;
            }
            match map.entry(key) {
                litemap::Entry::Vacant(slot) => {
                    slot.insert(value);
                }
                litemap::Entry::Occupied(taken) => {
                    let shown = if s {
                        REDACTED.to_string()
                    } else {
                        format!("`{}`", taken.key())
                    };
                    return Err(EvalError::new(
                        format!("duplicate key {shown} in `for` expression"),
                        key_expr.span(),
                    )
                    .with_help(Some(
                        "add `...` after the value to group values by key".into(),
                    )));
                }
            }
        }
        let result = if unknown {
            Value::Unknown
        } else if f.key_expr.is_none() {
            Value::List(list)
        } else if f.grouping {
            Value::Map(
                groups
                    .into_iter()
                    .map(|(k, v)| (k, Value::List(v)))
                    .collect(),
            )
        } else {
            Value::Map(map)
        };
        Ok(mark(result, secret))
    }
}

/// The (key, value) pairs a `for` iterates over, each marked sensitive when the
/// collection is, and whether it is; `None` when the collection is unknown.
#[allow(clippy::type_complexity)]
pub(crate) fn iterate(
    coll: &Value,
    span: Option<Range<usize>>,
) -> Result<Option<(Vec<(Value, Value)>, bool)>> {
    let (inner, secret) = unmark_all(coll);
    let items = match inner {
        Value::Unknown => return Ok(None),
        Value::List(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (Value::int(i as i64), mark(v.clone(), secret)))
            .collect(),
        Value::Map(m) => m
            .iter()
            .map(|(k, v)| (Value::string(k.clone()), mark(v.clone(), secret)))
            .collect(),
        other => {
            return Err(EvalError::new(
                format!(
                    "`for` iterates over a list or map, found {}",
                    other.type_name()
                ),
                span,
            ));
        }
    };
    Ok(Some((items, secret)))
}

fn number_literal(n: &Number, span: Option<Range<usize>>) -> Result<Value> {
    if let Some(i) = n.as_i64() {
        return Ok(Value::int(i));
    }
    if let Some(u) = n.as_u64() {
        return Ok(Value::Number(u.into()));
    }
    number::from_f64(n.as_f64().unwrap_or(f64::NAN)).map_err(|m| EvalError::new(m, span))
}
