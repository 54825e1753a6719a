//! Traversals: `.attr`, `[index]`, the legacy `.0` index, and the splat operators `[*]`
//! and `.*`, with messages that name the path walked so far.

use std::ops::Range;

use hcl_edit::expr::{Expression, Traversal, TraversalOperator};
use hcl_edit::{Decorated, Span};

use super::EvalError;
use super::convert::{REDACTED, expected, mark, show, to_number, to_string, unmark_all};
use super::eval::{Env, hint};
use super::number;
use crate::value::Value;

type Result<T> = std::result::Result<T, EvalError>;

impl Env<'_> {
    pub(crate) fn traversal(&self, t: &Traversal) -> Result<Value> {
        if let Some(v) = self.walk(t) {
            return Ok(v);
        }
        let base = self.eval(&t.expr)?;
        let desc = match &t.expr {
            Expression::Variable(v) => v.as_str().to_string(),
            other => {
                let text = other.to_string();
                let text = text.trim();
                if text.len() <= 40 {
                    text.to_string()
                } else {
                    "the value".to_string()
                }
            }
        };
        let start = t.expr.span().map(|s| s.start);
        self.apply(base, &t.operators, desc, start)
    }

    /// The common case without copies: a variable followed by attribute names and
    /// literal indexes, every step present, walked by reference so that only the value
    /// reached is copied (a scope's roots hold whole maps of attributes). Anything else
    /// (a missing key, an unknown, a splat, a computed index) is `None`, and the general
    /// path below evaluates it, with its messages.
    fn walk(&self, t: &Traversal) -> Option<Value> {
        let Expression::Variable(var) = &t.expr else {
            return None;
        };
        walk_from(self.lookup(var.as_str())?, &t.operators)
    }

    /// Applies traversal operators in turn; a splat applies the operators after it to
    /// each element.
    fn apply(
        &self,
        mut v: Value,
        operators: &[Decorated<TraversalOperator>],
        mut desc: String,
        start: Option<usize>,
    ) -> Result<Value> {
        let mut i = 0;
        while i < operators.len() {
            let op = &operators[i];
            let span = op.span();
            match op.value() {
                TraversalOperator::GetAttr(name) => {
                    v = get_attr(&v, name.as_str(), &desc, span)?;
                    desc = format!("{desc}.{}", name.as_str());
                }
                TraversalOperator::LegacyIndex(n) => {
                    let key = Value::Number((*n.value()).into());
                    v = index(&v, &key, &desc, span)?;
                    desc = format!("{desc}.{}", n.value());
                }
                TraversalOperator::Index(e) => {
                    let key = self.eval(e)?;
                    v = index(&v, &key, &desc, e.span())?;
                    desc = format!("{desc}[{}]", show(&key, false));
                }
                TraversalOperator::FullSplat(_) | TraversalOperator::AttrSplat(_) => {
                    let rest = &operators[i + 1..];
                    let n = if matches!(op.value(), TraversalOperator::FullSplat(_)) {
                        rest.len()
                    } else {
                        rest.iter()
                            .take_while(|o| {
                                matches!(
                                    o.value(),
                                    TraversalOperator::GetAttr(_)
                                        | TraversalOperator::LegacyIndex(_)
                                )
                            })
                            .count()
                    };
                    desc.push_str("[*]");
                    v = self.splat(&v, &rest[..n], &desc, start)?;
                    i += n;
                }
            }
            i += 1;
        }
        Ok(v)
    }

    fn splat(
        &self,
        v: &Value,
        rest: &[Decorated<TraversalOperator>],
        desc: &str,
        start: Option<usize>,
    ) -> Result<Value> {
        let (inner, secret) = unmark_all(v);
        let items: Vec<Value> = match inner {
            Value::Unknown => return Ok(mark(Value::Unknown, secret)),
            Value::Null => Vec::new(),
            Value::List(items) => items.clone(),
            other => vec![other.clone()],
        };
        let out = items
            .into_iter()
            .map(|item| self.apply(mark(item, secret), rest, desc.to_string(), start))
            .collect::<Result<Vec<_>>>()?;
        Ok(mark(Value::List(out), secret))
    }
}

/// Follows attribute names and literal indexes from `root` by reference and copies the
/// value reached (marked sensitive when anything on the way is); `None` when a step is
/// anything else or finds nothing (the general evaluation then says why).
pub(crate) fn walk_from(root: &Value, operators: &[Decorated<TraversalOperator>]) -> Option<Value> {
    let mut cur = root;
    let mut secret = false;
    for op in operators {
        let (inner, s) = unmark_all(cur);
        secret |= s;
        cur = match (op.value(), inner) {
            (TraversalOperator::GetAttr(name), Value::Map(m)) => m.get(name.as_str())?,
            (TraversalOperator::LegacyIndex(n), Value::List(items)) => {
                items.get(usize::try_from(*n.value()).ok()?)?
            }
            _ => return None,
        };
    }
    Some(mark(cur.clone(), secret))
}

/// `v.name`.
fn get_attr(v: &Value, name: &str, desc: &str, span: Option<Range<usize>>) -> Result<Value> {
    let (inner, secret) = unmark_all(v);
    match inner {
        Value::Unknown => Ok(mark(Value::Unknown, secret)),
        Value::Map(m) => match m.get(name) {
            Some(x) => Ok(mark(x.clone(), secret)),
            None => {
                let help = if secret {
                    None
                } else {
                    hint(name, m.keys().map(String::as_str))
                };
                Err(
                    EvalError::new(format!("`{desc}` has no attribute `{name}`"), span)
                        .with_help(help),
                )
            }
        },
        Value::Null => Err(EvalError::new(
            format!("`{desc}` is null, so it has no attribute `{name}`"),
            span,
        )),
        Value::List(_) => Err(EvalError::new(
            format!("`{desc}` is a list, which has no attribute `{name}`"),
            span,
        )
        .with_help(Some(format!(
            "to take `{name}` from every element, write `{desc}[*].{name}`"
        )))),
        other => Err(EvalError::new(
            format!(
                "`{desc}` is a {}, which has no attributes",
                other.type_name()
            ),
            span,
        )),
    }
}

/// `v[key]`.
fn index(v: &Value, key: &Value, desc: &str, span: Option<Range<usize>>) -> Result<Value> {
    let (inner, vs) = unmark_all(v);
    let (k, ks) = unmark_all(key);
    let secret = vs || ks;
    if inner.is_unknown() || k.is_unknown() {
        return Ok(mark(Value::Unknown, secret));
    }
    let err = |m: String| EvalError::new(m, span.clone());
    match inner {
        Value::List(items) => {
            let n = to_number(k, ks).map_err(|m| err(format!("index into `{desc}`: {m}")))?;
            let i = number::to_i64(&n)
                .ok_or_else(|| err(format!("index into `{desc}` must be a whole number")))?;
            match usize::try_from(i).ok().and_then(|i| items.get(i)) {
                Some(x) => Ok(mark(x.clone(), secret)),
                None if secret => Err(err(format!("index out of range for `{desc}` {REDACTED}"))),
                None => Err(err(format!(
                    "index {i} is out of range for `{desc}`, which has {} element{}",
                    items.len(),
                    if items.len() == 1 { "" } else { "s" }
                ))),
            }
        }
        Value::Map(m) => {
            let name = to_string(k).map_err(|e| err(format!("key into `{desc}`: {e}")))?;
            match m.get(&name) {
                Some(x) => Ok(mark(x.clone(), secret)),
                None if ks => Err(err(format!("`{desc}` has no such key {REDACTED}"))),
                None => {
                    let help = if vs {
                        None
                    } else {
                        hint(&name, m.keys().map(String::as_str))
                    };
                    Err(err(format!("`{desc}` has no key {name:?}")).with_help(help))
                }
            }
        }
        Value::Null => Err(err(format!("`{desc}` is null and cannot be indexed"))),
        other => Err(err(format!(
            "`{desc}` cannot be indexed: {}",
            expected("a list or map", other)
        ))),
    }
}
