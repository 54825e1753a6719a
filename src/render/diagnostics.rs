//! Diagnostics as a compiler would show them (`--> file:line:col`, the source line,
//! carets, `help:`), and as JSON for tools.
//!
//! The text stays proportional to what a person can read whatever the input: at most
//! [`MAX_SHOWN`] diagnostics, then a count of the rest, and a source line longer than
//! [`MAX_LINE`] bytes is quoted as a window around the place it points at (a Score file
//! of one 4 MB line with 10,000 errors printed 40 GB).

use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label, Severity as CsSeverity};
use codespan_reporting::files::{Error as FilesError, Files};
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

/// The most diagnostics [`text`] shows; the others are counted on one line.
pub const MAX_SHOWN: usize = 100;

/// The longest source line quoted whole; a longer one is cut to a window of about this
/// many bytes around the place a label points at.
pub const MAX_LINE: usize = 240;

/// How much of a long line is shown before the place a label points at.
const LEAD: usize = 60;

/// The files of a run as codespan reads them, with long lines cut to windows for one
/// diagnostic (codespan quotes `source[line_range]`, so a shorter range is a shorter
/// quote; columns are still counted from the real start of the line).
struct Clipped<'a> {
    sources: &'a Sources,
    /// (file, line index) → the part of that line to quote.
    windows: Vec<((usize, usize), std::ops::Range<usize>)>,
}

impl<'a> Clipped<'a> {
    fn new(sources: &'a Sources) -> Clipped<'a> {
        Clipped {
            sources,
            windows: Vec::new(),
        }
    }

    fn real_line(&self, file: usize, line: usize) -> std::ops::Range<usize> {
        self.sources.files().line_range(file, line).unwrap_or(0..0)
    }

    /// Fits a label at `range` of `file` into what is quoted: on a long line, a window
    /// around its start (shared with the labels before it on that line); the label is
    /// cut to one line. `None` when an earlier label's window on the same line is too
    /// far away to hold it.
    fn fit(
        &mut self,
        file: usize,
        range: std::ops::Range<usize>,
    ) -> Option<std::ops::Range<usize>> {
        let files = self.sources.files();
        let line = files.line_index(file, range.start).unwrap_or(0);
        let real = self.real_line(file, line);
        let end_line = files.line_index(file, range.end).unwrap_or(line);
        let long_end = end_line != line && self.real_line(file, end_line).len() > MAX_LINE;
        if real.len() <= MAX_LINE {
            let end = if long_end {
                range.end.min(real.end)
            } else {
                range.end
            };
            return Some(range.start..end.max(range.start));
        }
        let text = self.sources.text(crate::diag::FileId(file));
        let window = match self.windows.iter().find(|(k, _)| *k == (file, line)) {
            Some((_, w)) if w.contains(&range.start) => w.clone(),
            Some(_) => return None,
            None => {
                let from = floor_boundary(text, range.start.saturating_sub(LEAD).max(real.start));
                let to = floor_boundary(text, (from + MAX_LINE).min(real.end));
                self.windows.push(((file, line), from..to));
                from..to
            }
        };
        Some(range.start..range.end.min(window.end).max(range.start))
    }
}

/// The largest char boundary of `text` at or before `i`.
fn floor_boundary(text: &str, mut i: usize) -> usize {
    i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl<'a> Files<'a> for Clipped<'a> {
    type FileId = usize;
    type Name = &'a str;
    type Source = &'a str;

    fn name(&'a self, id: usize) -> Result<&'a str, FilesError> {
        Ok(self.sources.name(crate::diag::FileId(id)))
    }

    fn source(&'a self, id: usize) -> Result<&'a str, FilesError> {
        Ok(self.sources.text(crate::diag::FileId(id)))
    }

    fn line_index(&'a self, id: usize, byte: usize) -> Result<usize, FilesError> {
        self.sources.files().line_index(id, byte)
    }

    fn column_number(&'a self, id: usize, _line: usize, byte: usize) -> Result<usize, FilesError> {
        Ok(self.sources.position(crate::diag::FileId(id), byte).column)
    }

    fn line_range(&'a self, id: usize, line: usize) -> Result<std::ops::Range<usize>, FilesError> {
        if let Some((_, w)) = self.windows.iter().find(|(k, _)| *k == (id, line)) {
            return Ok(w.clone());
        }
        let real = self.sources.files().line_range(id, line)?;
        if real.len() <= MAX_LINE {
            return Ok(real);
        }
        // A long line quoted without a label on it (around a multi-line label): its start.
        let text = self.sources.text(crate::diag::FileId(id));
        Ok(real.start..floor_boundary(text, real.start + MAX_LINE))
    }
}

fn to_codespan(d: &Diagnostic, files: &mut Clipped<'_>) -> CsDiagnostic<usize> {
    let severity = match d.severity {
        Severity::Error => CsSeverity::Error,
        Severity::Warning => CsSeverity::Warning,
    };
    let mut labels = Vec::new();
    let mut moved = Vec::new();
    if let Some(span) = d.span
        && let Some(range) = files.fit(span.file.0, span.start..span.end)
    {
        labels.push(
            Label::primary(span.file.0, range).with_message(d.label.clone().unwrap_or_default()),
        );
    }
    for n in &d.notes {
        match files.fit(n.span.file.0, n.span.start..n.span.end) {
            Some(range) => {
                labels.push(Label::secondary(n.span.file.0, range).with_message(n.message.clone()))
            }
            None => {
                let at = files.sources.position(n.span.file, n.span.start);
                let name = files.sources.name(n.span.file);
                moved.push(format!("{}: {name}:{}:{}", n.message, at.line, at.column));
            }
        }
    }
    let mut notes: Vec<String> = d.detail.clone();
    notes.extend(moved);
    if let Some(h) = &d.help {
        notes.push(format!("help: {h}"));
    }
    CsDiagnostic::new(severity)
        .with_message(d.summary.clone())
        .with_labels(labels)
        .with_notes(notes)
}

/// Renders diagnostics for a terminal: the first [`MAX_SHOWN`], then how many more.
pub fn text(diags: &Diagnostics, sources: &Sources, color: Color) -> String {
    let cfg = config();
    let mut out = String::new();
    for d in diags.iter().take(MAX_SHOWN) {
        let mut files = Clipped::new(sources);
        let cs = to_codespan(d, &mut files);
        match color {
            Color::Never => {
                if let Ok(s) = term::emit_into_string(&cfg, &files, &cs) {
                    out.push_str(&s);
                }
            }
            Color::Always => {
                let mut buf = termcolor::Buffer::ansi();
                if term::emit_to_write_style(&mut buf, &cfg, &files, &cs).is_ok() {
                    out.push_str(&String::from_utf8_lossy(buf.as_slice()));
                }
            }
        }
    }
    let rest: Vec<&Diagnostic> = diags.iter().skip(MAX_SHOWN).collect();
    if !rest.is_empty() {
        let errors = rest.iter().filter(|d| d.is_error()).count();
        let warnings = rest.len() - errors;
        let counted = |n: usize, what: &str| {
            format!(
                "{} more {what}{}",
                thousands(n),
                if n == 1 { "" } else { "s" }
            )
        };
        let parts: Vec<String> = [(errors, "error"), (warnings, "warning")]
            .into_iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, w)| counted(n, w))
            .collect();
        out.push_str(&format!(
            "... and {} not shown (the first {MAX_SHOWN} are; `validate --format json` lists all)\n\n",
            parts.join(" and ")
        ));
    }
    out
}

/// `9990` as `9,990`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
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
