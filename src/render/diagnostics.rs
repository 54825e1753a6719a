//! Diagnostics as a compiler would show them (`--> file:line:col`, the source line,
//! carets, `help:`), and as JSON for tools.

use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label, Severity as CsSeverity};
use codespan_reporting::term::{self, Chars, Config};
use serde::Serialize;

use super::Color;
use crate::diag::{Diagnostic, Diagnostics, Position, Severity, Sources, Stage};

fn config() -> Config {
    Config {
        chars: Chars::ascii(),
        ..Config::default()
    }
}

fn to_codespan(d: &Diagnostic) -> CsDiagnostic<usize> {
    let severity = match d.severity {
        Severity::Error => CsSeverity::Error,
        Severity::Warning => CsSeverity::Warning,
    };
    let mut labels = Vec::new();
    if let Some(span) = d.span {
        labels.push(
            Label::primary(span.file.0, span.start..span.end)
                .with_message(d.label.clone().unwrap_or_default()),
        );
    }
    for n in &d.notes {
        labels.push(
            Label::secondary(n.span.file.0, n.span.start..n.span.end)
                .with_message(n.message.clone()),
        );
    }
    let mut notes: Vec<String> = d.detail.clone();
    if let Some(h) = &d.help {
        notes.push(format!("help: {h}"));
    }
    CsDiagnostic::new(severity)
        .with_message(d.summary.clone())
        .with_labels(labels)
        .with_notes(notes)
}

/// Renders diagnostics for a terminal.
pub fn text(diags: &Diagnostics, sources: &Sources, color: Color) -> String {
    let cfg = config();
    let mut out = String::new();
    for d in diags.iter() {
        let cs = to_codespan(d);
        match color {
            Color::Never => {
                if let Ok(s) = term::emit_into_string(&cfg, sources.files(), &cs) {
                    out.push_str(&s);
                }
            }
            Color::Always => {
                let mut buf = termcolor::Buffer::ansi();
                if term::emit_to_write_style(&mut buf, &cfg, sources.files(), &cs).is_ok() {
                    out.push_str(&String::from_utf8_lossy(buf.as_slice()));
                }
            }
        }
    }
    out
}

/// A diagnostic on the wire (`--format json`).
#[derive(Debug, Serialize)]
pub struct JsonDiagnostic {
    /// `error` or `warning`.
    pub severity: Severity,
    /// `load`, `schema`, `semantic`, `generate` or `options`.
    pub stage: Stage,
    /// Stable code, e.g. `schema/pattern`.
    pub code: &'static str,
    /// One-line summary.
    pub summary: String,
    /// File name, when located.
    pub file: Option<String>,
    /// Start position.
    pub start: Option<Position>,
    /// End position.
    pub end: Option<Position>,
    /// JSON pointer into the Score document.
    pub pointer: Option<String>,
    /// Label text.
    pub label: Option<String>,
    /// Detail lines.
    pub detail: Vec<String>,
    /// Hint.
    pub help: Option<String>,
    /// Related locations.
    pub notes: Vec<JsonNote>,
}

/// A related location on the wire.
#[derive(Debug, Serialize)]
pub struct JsonNote {
    /// File name.
    pub file: String,
    /// Position.
    pub start: Position,
    /// What is there.
    pub message: String,
}

/// Converts diagnostics to their wire form.
pub fn json(diags: &Diagnostics, sources: &Sources) -> Vec<JsonDiagnostic> {
    diags
        .iter()
        .map(|d| JsonDiagnostic {
            severity: d.severity,
            stage: d.stage,
            code: d.code,
            summary: d.summary.clone(),
            file: d.span.map(|s| sources.name(s.file).to_string()),
            start: d.span.map(|s| sources.position(s.file, s.start)),
            end: d.span.map(|s| sources.position(s.file, s.end)),
            pointer: d.pointer.clone(),
            label: d.label.clone(),
            detail: d.detail.clone(),
            help: d.help.clone(),
            notes: d
                .notes
                .iter()
                .map(|n| JsonNote {
                    file: sources.name(n.span.file).to_string(),
                    start: sources.position(n.span.file, n.span.start),
                    message: n.message.clone(),
                })
                .collect(),
        })
        .collect()
}
