//! Reading HCL files (`baton.hcl`, modules) with positions: parse errors and every
//! later problem become located diagnostics. Parsing is hcl-rs's `hcl-edit`, which keeps
//! byte spans; evaluation is `expr`'s.

use std::ops::Range;

use hcl_edit::Span as _;
use hcl_edit::expr::Expression;
use hcl_edit::structure::{Attribute, Block, Body};

use crate::diag::{Diagnostic, FileId, Span, Stage, did_you_mean};
use crate::expr::{self, EvalError, Scope};
use crate::value::Value;

/// Parses a file; a syntax error becomes a diagnostic at its position.
pub fn parse(file: FileId, text: &str, stage: Stage) -> Result<Body, Diagnostic> {
    hcl_edit::parser::parse_body(text).map_err(|e| {
        let loc = e.location();
        let at = loc.offset().min(text.len());
        Diagnostic::error(stage, "hcl/syntax", format!("invalid HCL: {}", e.message()))
            .at(Some(Span::new(
                file,
                at,
                (at + 1).min(text.len().max(at + 1)),
            )))
            .label(e.message().to_string())
            .maybe_help(syntax_hint(text, at))
    })
}

/// A hint for the syntax error at byte `at` of `text`: a block opened inside a block
/// written on one line (`state { sqlite { path = "x" } }`), which HCL refuses.
fn syntax_hint(text: &str, at: usize) -> Option<String> {
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let before = &text[line_start..at];
    if !text[at..].starts_with('{') || !before.contains('{') {
        return None;
    }
    let indent: String = before.chars().take_while(|c| c.is_whitespace()).collect();
    let outer = before.trim_start().split('{').next().unwrap_or("").trim();
    let inner = before.rsplit('{').next().unwrap_or("").trim();
    Some(format!(
        "a block written on one line holds attributes only; put the nested block on a line of its own:\n{indent}{outer} {{\n{indent}  {inner} {{ … }}\n{indent}}}"
    ))
}

/// Converts an hcl-edit byte range into a span of `file`.
pub fn span(file: FileId, range: Option<Range<usize>>) -> Option<Span> {
    range.map(|r| Span::new(file, r.start, r.end))
}

/// The span of a block's header (identifier and labels).
pub fn block_span(file: FileId, block: &Block) -> Option<Span> {
    let start = block.ident.span()?.start;
    let end = block
        .labels
        .last()
        .and_then(|l| l.span())
        .map(|r| r.end)
        .or_else(|| block.ident.span().map(|r| r.end))?;
    Some(Span::new(file, start, end))
}

/// The span of an attribute's key.
pub fn key_span(file: FileId, attr: &Attribute) -> Option<Span> {
    span(file, attr.key.span())
}

/// The span of an expression.
pub fn expr_span(file: FileId, e: &Expression) -> Option<Span> {
    span(file, e.span())
}

/// The labels of a block, as strings.
pub fn labels(block: &Block) -> Vec<String> {
    block
        .labels
        .iter()
        .map(|l| l.as_str().to_string())
        .collect()
}

/// Turns an evaluation error into a diagnostic in `file`.
pub fn eval_diagnostic(
    file: FileId,
    stage: Stage,
    code: &'static str,
    err: EvalError,
    fallback: Option<Span>,
) -> Diagnostic {
    Diagnostic::error(stage, code, err.message.clone())
        .at(span(file, err.span.clone()).or(fallback))
        .maybe_help(err.help)
}

/// Evaluates an expression that may only use `scope` (e.g. constants in `provisions`).
pub fn eval_in(
    file: FileId,
    e: &Expression,
    scope: &Scope,
    stage: Stage,
) -> Result<Value, Diagnostic> {
    expr::eval(e, scope)
        .map_err(|err| eval_diagnostic(file, stage, "hcl/eval", err, expr_span(file, e)))
}

/// Checks that a body holds only the given attributes and block types; reports the rest
/// with "did you mean" hints.
pub fn check_keys(
    file: FileId,
    body: &Body,
    attrs: &[&str],
    blocks: &[&str],
    context: &str,
    stage: Stage,
    out: &mut Vec<Diagnostic>,
) {
    for a in body.attributes() {
        let k = a.key.as_str();
        if !attrs.contains(&k) {
            let mut d = Diagnostic::error(
                stage,
                "hcl/unknown-attribute",
                format!("unknown attribute `{k}` in {context}"),
            )
            .at(key_span(file, a))
            .label("not expected here");
            if !attrs.is_empty() {
                d = d.detail(format!("expected one of: {}", attrs.join(", ")));
            }
            out.push(d.maybe_help(
                did_you_mean(k, attrs.iter().copied()).map(|s| format!("did you mean `{s}`?")),
            ));
        }
    }
    for b in body.blocks() {
        let k = b.ident.as_str();
        if !blocks.contains(&k) {
            let mut d = Diagnostic::error(
                stage,
                "hcl/unknown-block",
                format!("unknown block `{k}` in {context}"),
            )
            .at(block_span(file, b))
            .label("not expected here");
            if !blocks.is_empty() {
                d = d.detail(format!("expected one of: {}", blocks.join(", ")));
            }
            out.push(d.maybe_help(
                did_you_mean(k, blocks.iter().copied()).map(|s| format!("did you mean `{s}`?")),
            ));
        }
    }
}

/// A scope with only the given variables.
pub fn scope(vars: crate::value::Map) -> Scope {
    Scope { vars }
}
