//! String templates and heredocs: interpolation, `%{if}` and `%{for}` directives, and
//! the `~` strip markers that remove whitespace next to them.

use std::ops::Range;

use hcl_edit::Span;
use hcl_edit::template::{Directive, Element, Template};

use super::EvalError;
use super::convert::{mark, to_bool, unmark_all};
use super::eval::{Env, iterate};
use crate::value::Value;

type Result<T> = std::result::Result<T, EvalError>;

/// What rendering found besides text: an unknown part, a sensitive part.
#[derive(Default)]
struct Marks {
    unknown: bool,
    secret: bool,
    /// The whole template, where an error for going over the budget points.
    span: Option<Range<usize>>,
}

/// Evaluates a template. A template that is a single interpolation yields the value
/// itself, unconverted (as `"${var.list}"` does in Terraform).
pub(crate) fn eval(env: &Env<'_>, t: &Template, span: Option<Range<usize>>) -> Result<Value> {
    let mut elements = t.iter();
    if let (Some(Element::Interpolation(i)), None) = (elements.next(), elements.next()) {
        return env.eval(&i.expr);
    }
    let mut out = String::new();
    let mut marks = Marks {
        span,
        ..Marks::default()
    };
    render(env, t, false, false, &mut out, &mut marks)?;
    let v = if marks.unknown {
        Value::Unknown
    } else {
        Value::String(out)
    };
    Ok(mark(v, marks.secret))
}

/// Whether an element strips the whitespace before it (`~` after its opening).
fn strips_before(e: &Element) -> bool {
    match e {
        Element::Literal(_) => false,
        Element::Interpolation(i) => i.strip.strip_start(),
        Element::Directive(d) => match d.as_ref() {
            Directive::If(d) => d.if_expr.strip.strip_start(),
            Directive::For(d) => d.for_expr.strip.strip_start(),
        },
    }
}

/// Whether an element strips the whitespace after it (`~` before its closing).
fn strips_after(e: &Element) -> bool {
    match e {
        Element::Literal(_) => false,
        Element::Interpolation(i) => i.strip.strip_end(),
        Element::Directive(d) => match d.as_ref() {
            Directive::If(d) => d.endif_expr.strip.strip_end(),
            Directive::For(d) => d.endfor_expr.strip.strip_end(),
        },
    }
}

/// Renders the elements of `t`; `trim_start` / `trim_end` strip the first / last literal
/// (set by the markers of an enclosing directive).
fn render(
    env: &Env<'_>,
    t: &Template,
    trim_start: bool,
    trim_end: bool,
    out: &mut String,
    marks: &mut Marks,
) -> Result<()> {
    let elements: Vec<&Element> = t.iter().collect();
    for (i, element) in elements.iter().enumerate() {
        match element {
            Element::Literal(text) => {
                let before = if i == 0 {
                    trim_start
                } else {
                    strips_after(elements[i - 1])
                };
                let after = match elements.get(i + 1) {
                    Some(next) => strips_before(next),
                    None => trim_end,
                };
                let mut s = text.as_str();
                if before {
                    s = s.trim_start();
                }
                if after {
                    s = s.trim_end();
                }
                env.budget.charge(s.len(), marks.span.clone())?;
                out.push_str(s);
            }
            Element::Interpolation(interp) => {
                let v = env.eval(&interp.expr)?;
                let before = out.len();
                push_value(&v, interp.expr.span(), out, marks)?;
                env.budget.charge(out.len() - before, interp.expr.span())?;
            }
            Element::Directive(d) => match d.as_ref() {
                Directive::If(d) => {
                    let c = env.eval(&d.if_expr.cond_expr)?;
                    let (inner, secret) = unmark_all(&c);
                    marks.secret |= secret;
                    if inner.is_unknown() {
                        marks.unknown = true;
                        continue;
                    }
                    let cond = to_bool(inner, secret).map_err(|m| {
                        EvalError::new(format!("`if` condition: {m}"), d.if_expr.cond_expr.span())
                    })?;
                    let if_end = d.if_expr.strip.strip_end();
                    let endif_start = d.endif_expr.strip.strip_start();
                    match (&d.else_expr, cond) {
                        (Some(e), true) => render(
                            env,
                            &d.if_expr.template,
                            if_end,
                            e.strip.strip_start(),
                            out,
                            marks,
                        )?,
                        (Some(e), false) => render(
                            env,
                            &e.template,
                            e.strip.strip_end(),
                            endif_start,
                            out,
                            marks,
                        )?,
                        (None, true) => {
                            render(env, &d.if_expr.template, if_end, endif_start, out, marks)?
                        }
                        (None, false) => {}
                    }
                }
                Directive::For(d) => {
                    let f = &d.for_expr;
                    let coll = env.eval(&f.collection_expr)?;
                    let Some((items, secret)) = iterate(&coll, f.collection_expr.span())? else {
                        marks.unknown = true;
                        marks.secret |= coll.is_sensitive();
                        continue;
                    };
                    marks.secret |= secret;
                    let (first, last) = (f.strip.strip_end(), d.endfor_expr.strip.strip_start());
                    for (k, v) in items {
                        let mut locals = vec![(f.value_var.as_str().to_string(), v)];
                        if let Some(kv) = &f.key_var {
                            locals.insert(0, (kv.as_str().to_string(), k));
                        }
                        render(&env.child(locals), &f.template, first, last, out, marks)?;
                    }
                }
            },
        }
    }
    Ok(())
}

/// Appends an interpolated value: strings as-is, numbers and booleans as literals.
fn push_value(
    v: &Value,
    span: Option<Range<usize>>,
    out: &mut String,
    marks: &mut Marks,
) -> Result<()> {
    let (inner, secret) = unmark_all(v);
    marks.secret |= secret;
    if inner.is_unknown() {
        marks.unknown = true;
        return Ok(());
    }
    match inner.to_template_string() {
        Some(s) => {
            out.push_str(&s);
            Ok(())
        }
        None if inner.is_null() => Err(EvalError::new(
            "cannot interpolate null into a string",
            span,
        )),
        None => Err(EvalError::new(
            format!("cannot interpolate a {} into a string", inner.type_name()),
            span,
        )
        .with_help(Some(
            "convert it first, e.g. with `jsonencode` or `join`".into(),
        ))),
    }
}
