//! Static analysis of an expression without evaluating it: the references it makes to
//! root variables, and the functions it calls (for `try`/`can`, which do not catch
//! those static errors).

use std::ops::Range;

use hcl_edit::Span;
use hcl_edit::expr::{Expression, ObjectKey, TraversalOperator};
use hcl_edit::template::{Directive, Element, Template};

use super::eval::{Env, hint};
use super::{EvalError, Reference, functions};

/// What a walk collects.
#[derive(Default)]
struct Walk {
    refs: Vec<Reference>,
    funcs: Vec<(String, Option<Range<usize>>)>,
}

/// Every static reference `expr` makes.
pub(crate) fn references(expr: &Expression) -> Vec<Reference> {
    let mut walk = Walk::default();
    walk.expr(expr, &mut Vec::new());
    walk.refs
}

/// Fails on the errors `try` and `can` must not hide: an undeclared variable, an
/// unknown function.
pub(crate) fn static_check(expr: &Expression, env: &Env<'_>) -> Result<(), EvalError> {
    let mut walk = Walk::default();
    walk.expr(expr, &mut Vec::new());
    for r in &walk.refs {
        if let Some(root) = r.path.first().filter(|root| !env.has(root)) {
            let span = r.span.as_ref().map(|s| s.start..s.start + root.len());
            return Err(EvalError::new(format!("unknown variable `{root}`"), span));
        }
    }
    for (name, span) in walk.funcs {
        if name != "try" && name != "can" && functions::lookup(&name).is_none() {
            return Err(EvalError::new(format!("unknown function `{name}`"), span)
                .with_help(hint(&name, functions::NAMES.iter().copied())));
        }
    }
    Ok(())
}

/// The literal text of an index expression, when it is a literal.
fn literal_key(e: &Expression) -> Option<String> {
    match e {
        Expression::String(s) => Some(s.value().clone()),
        Expression::Number(n) => Some(n.value().to_string()),
        _ => None,
    }
}

impl Walk {
    fn expr(&mut self, expr: &Expression, bound: &mut Vec<String>) {
        match expr {
            Expression::Null(_)
            | Expression::Bool(_)
            | Expression::Number(_)
            | Expression::String(_) => {}
            Expression::Array(items) => items.iter().for_each(|e| self.expr(e, bound)),
            Expression::Object(obj) => {
                for (k, v) in obj.iter() {
                    if let ObjectKey::Expression(e) = k {
                        self.expr(e, bound);
                    }
                    self.expr(v.expr(), bound);
                }
            }
            Expression::StringTemplate(t) => self.template(t, bound),
            Expression::HeredocTemplate(h) => self.template(&h.template, bound),
            Expression::Parenthesis(p) => self.expr(p.inner(), bound),
            Expression::Variable(v) => {
                if !bound.iter().any(|b| b == v.as_str()) {
                    self.refs.push(Reference {
                        path: vec![v.as_str().to_string()],
                        span: v.span(),
                    });
                }
            }
            Expression::Conditional(c) => {
                self.expr(&c.cond_expr, bound);
                self.expr(&c.true_expr, bound);
                self.expr(&c.false_expr, bound);
            }
            Expression::FuncCall(f) => {
                let mut name: Vec<&str> = f.name.namespace.iter().map(|n| n.as_str()).collect();
                name.push(f.name.name.as_str());
                self.funcs.push((name.join("::"), f.name.name.span()));
                f.args.iter().for_each(|e| self.expr(e, bound));
            }
            Expression::Traversal(t) => {
                match &t.expr {
                    Expression::Variable(root) if !bound.iter().any(|b| b == root.as_str()) => {
                        let mut path = vec![root.as_str().to_string()];
                        let mut end = root.span().map(|s| s.end);
                        for op in &t.operators {
                            let step = match op.value() {
                                TraversalOperator::GetAttr(name) => Some(name.as_str().to_string()),
                                TraversalOperator::LegacyIndex(n) => Some(n.value().to_string()),
                                TraversalOperator::Index(e) => literal_key(e),
                                _ => None,
                            };
                            let Some(step) = step else { break };
                            path.push(step);
                            end = op.span().map(|s| s.end).or(end);
                        }
                        let span = root.span().zip(end).map(|(s, e)| s.start..e.max(s.end));
                        self.refs.push(Reference { path, span });
                    }
                    other => self.expr(other, bound),
                }
                for op in &t.operators {
                    if let TraversalOperator::Index(e) = op.value() {
                        self.expr(e, bound);
                    }
                }
            }
            Expression::UnaryOp(u) => self.expr(&u.expr, bound),
            Expression::BinaryOp(b) => {
                self.expr(&b.lhs_expr, bound);
                self.expr(&b.rhs_expr, bound);
            }
            Expression::ForExpr(f) => {
                self.expr(&f.intro.collection_expr, bound);
                let n = bound.len();
                bound.extend(f.intro.key_var.iter().map(|k| k.as_str().to_string()));
                bound.push(f.intro.value_var.as_str().to_string());
                if let Some(k) = &f.key_expr {
                    self.expr(k, bound);
                }
                self.expr(&f.value_expr, bound);
                if let Some(c) = &f.cond {
                    self.expr(&c.expr, bound);
                }
                bound.truncate(n);
            }
        }
    }

    fn template(&mut self, t: &Template, bound: &mut Vec<String>) {
        for element in t.iter() {
            match element {
                Element::Literal(_) => {}
                Element::Interpolation(i) => self.expr(&i.expr, bound),
                Element::Directive(d) => match d.as_ref() {
                    Directive::If(d) => {
                        self.expr(&d.if_expr.cond_expr, bound);
                        self.template(&d.if_expr.template, bound);
                        if let Some(e) = &d.else_expr {
                            self.template(&e.template, bound);
                        }
                    }
                    Directive::For(d) => {
                        let f = &d.for_expr;
                        self.expr(&f.collection_expr, bound);
                        let n = bound.len();
                        bound.extend(f.key_var.iter().map(|k| k.as_str().to_string()));
                        bound.push(f.value_var.as_str().to_string());
                        self.template(&f.template, bound);
                        bound.truncate(n);
                    }
                },
            }
        }
    }
}
