//! Diagnostics: what the user wrote wrong, where, and what to do about it.
//!
//! A [`Diagnostic`] carries a severity, the stage that found it, a short lowercase
//! summary, an optional span into a file of the [`Sources`] map, detail lines and a
//! `help:` hint. Diagnostics are accumulated in a [`Diagnostics`] list for a whole run;
//! no stage stops at the first one. Rendering lives in `render::diagnostics`.

use std::fmt;
use std::path::{Path, PathBuf};

use codespan_reporting::files::{Files, SimpleFiles};

/// Identifies one source file (or pseudo-file, such as a command-line value) in [`Sources`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId(pub usize);

/// A byte range in one source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    /// The file the range is in.
    pub file: FileId,
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset one past the last byte.
    pub end: usize,
}

impl Span {
    /// A span of `len` bytes from `start`.
    pub fn new(file: FileId, start: usize, end: usize) -> Span {
        Span {
            file,
            start,
            end: end.max(start),
        }
    }
}

/// All source texts a run has read, so diagnostics can quote them.
#[derive(Default)]
pub struct Sources {
    files: SimpleFiles<String, String>,
    paths: Vec<Option<PathBuf>>,
    /// Per file, whether it is all ASCII: then a column is a byte difference, not a
    /// count of characters along the line (a count per diagnostic was quadratic on a
    /// file of one long line with many errors).
    ascii: Vec<bool>,
}

/// A resolved position: 1-based line and column (columns count characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Position {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column number, in characters.
    pub column: usize,
}

impl Sources {
    /// An empty source map.
    pub fn new() -> Sources {
        Sources::default()
    }

    /// Adds a file read from `path`, shown as `name`.
    pub fn add_file(
        &mut self,
        name: impl Into<String>,
        path: Option<&Path>,
        text: String,
    ) -> FileId {
        self.ascii.push(text.is_ascii());
        let id = self.files.add(name.into(), text);
        self.paths.push(path.map(Path::to_path_buf));
        FileId(id)
    }

    /// The text of a file.
    pub fn text(&self, file: FileId) -> &str {
        self.files
            .get(file.0)
            .map(|f| f.source().as_str())
            .unwrap_or("")
    }

    /// The display name of a file.
    pub fn name(&self, file: FileId) -> &str {
        self.files
            .get(file.0)
            .map(|f| f.name().as_str())
            .unwrap_or("<unknown>")
    }

    /// The path a file was read from, when it came from disk.
    pub fn path(&self, file: FileId) -> Option<&Path> {
        self.paths.get(file.0).and_then(|p| p.as_deref())
    }

    /// Line and column of a byte offset.
    pub fn position(&self, file: FileId, offset: usize) -> Position {
        let line_index = self.files.line_index(file.0, offset).unwrap_or(0);
        let column = match self.files.line_range(file.0, line_index) {
            Ok(line) if self.ascii.get(file.0) == Some(&true) => {
                offset.clamp(line.start, line.end) - line.start + 1
            }
            _ => self
                .files
                .column_number(file.0, line_index, offset)
                .unwrap_or(1),
        };
        Position {
            line: line_index + 1,
            column,
        }
    }

    /// The underlying codespan file database, for rendering.
    pub(crate) fn files(&self) -> &SimpleFiles<String, String> {
        &self.files
    }
}

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Stops the run (exit code 1).
    Error,
    /// Reported, but the run goes on.
    Warning,
}

/// The stage of the Score front end that found a problem, as the conformance suite names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Reading the file: I/O, YAML syntax, duplicate keys, duplicate workload names.
    Load,
    /// The Score JSON schema.
    Schema,
    /// Score's semantic rules: placeholders, `before`, shared resources, param cycles.
    Semantic,
    /// Rules Score implementations check while generating (metadata keys, shared resource
    /// conflicts, params cycles); baton checks those it can already at validate.
    Generate,
    /// Command-line options (overrides, `--image`).
    Options,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Stage::Load => "load",
            Stage::Schema => "schema",
            Stage::Semantic => "semantic",
            Stage::Generate => "generate",
            Stage::Options => "options",
        };
        f.write_str(s)
    }
}

/// A secondary location that explains the primary one ("first defined here").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// Where.
    pub span: Span,
    /// What is there.
    pub message: String,
}

/// One problem found in the user's input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The stage that found it.
    pub stage: Stage,
    /// A stable machine-readable code, e.g. `schema/pattern`.
    pub code: &'static str,
    /// Short lowercase summary.
    pub summary: String,
    /// Where, when known.
    pub span: Option<Span>,
    /// Label shown under the carets.
    pub label: Option<String>,
    /// JSON pointer into the Score document, when the problem is about one value.
    pub pointer: Option<String>,
    /// Further explanation lines.
    pub detail: Vec<String>,
    /// A likely fix.
    pub help: Option<String>,
    /// Related locations.
    pub notes: Vec<Note>,
}

impl Diagnostic {
    /// A new error.
    pub fn error(stage: Stage, code: &'static str, summary: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            stage,
            code,
            summary: summary.into(),
            span: None,
            label: None,
            pointer: None,
            detail: Vec::new(),
            help: None,
            notes: Vec::new(),
        }
    }

    /// A new warning.
    pub fn warning(stage: Stage, code: &'static str, summary: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(stage, code, summary)
        }
    }

    /// Sets the primary location.
    pub fn at(mut self, span: Option<Span>) -> Diagnostic {
        self.span = span;
        self
    }

    /// Sets the label under the carets.
    pub fn label(mut self, label: impl Into<String>) -> Diagnostic {
        self.label = Some(label.into());
        self
    }

    /// Sets the JSON pointer of the offending value.
    pub fn pointer(mut self, pointer: impl Into<String>) -> Diagnostic {
        self.pointer = Some(pointer.into());
        self
    }

    /// Adds a detail line.
    pub fn detail(mut self, line: impl Into<String>) -> Diagnostic {
        self.detail.push(line.into());
        self
    }

    /// Sets the hint.
    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Sets the hint when there is one.
    pub fn maybe_help(mut self, help: Option<String>) -> Diagnostic {
        if help.is_some() {
            self.help = help;
        }
        self
    }

    /// Adds a related location.
    pub fn note(mut self, span: Option<Span>, message: impl Into<String>) -> Diagnostic {
        if let Some(span) = span {
            self.notes.push(Note {
                span,
                message: message.into(),
            });
        } else {
            self.detail.push(message.into());
        }
        self
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// The diagnostics of a run, in the order they were found.
#[derive(Debug, Default, Clone)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// An empty list.
    pub fn new() -> Diagnostics {
        Diagnostics::default()
    }

    /// Records one.
    pub fn push(&mut self, d: Diagnostic) {
        self.items.push(d);
    }

    /// Records many.
    pub fn extend(&mut self, ds: impl IntoIterator<Item = Diagnostic>) {
        self.items.extend(ds);
    }

    /// True when at least one error was recorded.
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    /// Number of errors.
    pub fn error_count(&self) -> usize {
        self.items.iter().filter(|d| d.is_error()).count()
    }

    /// Number of warnings.
    pub fn warning_count(&self) -> usize {
        self.items.len() - self.error_count()
    }

    /// All, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter()
    }

    /// Sorts by file name and position (errors and warnings interleaved), so output does
    /// not depend on the order files were given in.
    pub fn sort(&mut self, sources: &Sources) {
        self.items.sort_by(|a, b| {
            let ka = a.span.map(|s| (sources.name(s.file), s.start));
            let kb = b.span.map(|s| (sources.name(s.file), s.start));
            ka.cmp(&kb).then_with(|| a.summary.cmp(&b.summary))
        });
        self.items.dedup();
    }

    /// Turns the warnings with `code` into errors (a warning at validate time can be an
    /// error for a command that needs the thing it warns about).
    pub fn escalate(&mut self, code: &str, help: &str) {
        for d in &mut self.items {
            if d.code == code && d.severity == Severity::Warning {
                d.severity = Severity::Error;
                d.help = Some(help.to_string());
            }
        }
    }

    /// Number recorded.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when none were recorded.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// The closest candidate to `word`, for "did you mean" hints: a typo, not another word.
///
/// The distance is Damerau-Levenshtein (optimal string alignment) with a substitution
/// counting two (a deletion and an insertion) while an insertion, a deletion or a swap of
/// neighbours counts one, and it must be at most a third of the longer word (at least
/// one). So `databse`, `pasword`, `imgae` and `dbb` find `database`, `password`, `image`
/// and `db`, while a different letter in a short word is another word, not a typo:
/// `mssql` is not `mysql`, nor `gpu` `cpu` (rustc and clap likewise scale the allowed
/// distance with the length).
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower: Vec<char> = word.to_lowercase().chars().collect();
    candidates
        .into_iter()
        .filter(|c| *c != word)
        .filter_map(|c| {
            let other: Vec<char> = c.to_lowercase().chars().collect();
            let limit = (lower.len().max(other.len()) / 3).max(1);
            let d = typo_distance(&lower, &other);
            (d <= limit).then_some((d, c))
        })
        .min_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)))
        .map(|(_, c)| c)
}

/// Optimal-string-alignment distance where a substitution costs 2 and an insertion, a
/// deletion or a transposition of neighbours 1.
fn typo_distance(a: &[char], b: &[char]) -> usize {
    let (n, m) = (a.len(), b.len());
    let mut d = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for j in 0..=m {
        d[0][j] = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            let sub = if a[i - 1] == b[j - 1] { 0 } else { 2 };
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + sub);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[n][m]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn did_you_mean_finds_close_words() {
        let cands = ["variables", "volumes", "files", "image"];
        assert_eq!(did_you_mean("varables", cands), Some("variables"));
        assert_eq!(did_you_mean("imgae", cands), Some("image"));
        assert_eq!(did_you_mean("ports", cands), None);
        assert_eq!(did_you_mean("Image", cands), Some("image"));
    }

    #[test]
    fn did_you_mean_suggests_typos_not_other_words() {
        let cases: &[(&str, &[&str], Option<&str>)] = &[
            ("databse", &["database", "user"], Some("database")),
            ("pasword", &["host", "password", "port"], Some("password")),
            ("dbb", &["db", "cache"], Some("db")),
            ("posgres", &["postgres", "mysql"], Some("postgres")),
            ("key_prefx", &["key_prefix"], Some("key_prefix")),
            ("databaze", &["database"], Some("database")),
            // One letter changed in a short word is another word.
            ("mssql", &["mysql", "postgres"], None),
            ("gpu", &["cpu", "memory"], None),
            ("port", &["part"], None),
        ];
        for (word, cands, want) in cases {
            assert_eq!(did_you_mean(word, cands.iter().copied()), *want, "{word}");
        }
    }
}
