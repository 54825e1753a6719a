//! YAML with positions: a small document tree where every node and every mapping key
//! knows its span, so later stages can point at the exact line and column.
//!
//! Scalars are resolved as YAML 1.2's core schema does (the same as the Go reference
//! implementation's yaml.v3): `true`/`false`, integers, floats, `null`/`~`/empty are typed;
//! quoted and block scalars are always strings; `!!str` and friends are honoured.
//! Duplicate keys are load errors (yaml.v3 rejects them too). Anchors, aliases and `<<`
//! merge keys are supported. This module does no I/O.
//!
//! Hostile texts are refused with a located error instead of exhausting the machine:
//! nesting deeper than [`MAX_DEPTH`] levels (every later stage walks the tree
//! recursively), and aliases that expand to far more nodes than the text holds (a
//! "billion laughs" file of 700 bytes), counted as Go's yaml.v3 counts them.

use rustc_hash::FxHashMap;
use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::diag::{Diagnostic, FileId, Span, Stage};

/// A mapping key: its text and where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    /// The key as a string (non-string scalar keys are kept as written).
    pub name: String,
    /// Where the key is written.
    pub span: Span,
}

/// A YAML value.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// `null`, `~` or nothing.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An integer that fits in 64 bits.
    Int(i64),
    /// A floating point number (kept as written, for exact JSON output).
    Float(f64),
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, keys in document order.
    Map(Vec<(Key, Node)>),
}

/// A YAML value and where it is written.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The value.
    pub kind: Kind,
    /// Where it is written (for collections: from their first token).
    pub span: Span,
}

impl Node {
    /// A node with the given kind and span.
    pub fn new(kind: Kind, span: Span) -> Node {
        Node { kind, span }
    }

    /// The entry `key` of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.kind {
            Kind::Map(entries) => entries.iter().find(|(k, _)| k.name == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The key `key` of a mapping.
    pub fn key(&self, key: &str) -> Option<&Key> {
        match &self.kind {
            Kind::Map(entries) => entries.iter().find(|(k, _)| k.name == key).map(|(k, _)| k),
            _ => None,
        }
    }

    /// The node a JSON pointer (RFC 6901) designates.
    pub fn pointer(&self, pointer: &str) -> Option<&Node> {
        let mut node = self;
        if pointer.is_empty() {
            return Some(node);
        }
        for raw in pointer.trim_start_matches('/').split('/') {
            let segment = unescape_segment(raw);
            node = match &node.kind {
                Kind::Map(_) => node.get(&segment)?,
                Kind::Seq(items) => items.get(segment.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(node)
    }

    /// The span of the key under which the pointer's target sits, or of the node itself.
    pub fn key_span(&self, pointer: &str) -> Option<Span> {
        let segs = pointer_segments(pointer);
        let (last, parent) = segs.split_last()?;
        let parent = self.pointer(&to_pointer(parent))?;
        parent.key(last).map(|k| k.span)
    }

    /// A short name of the value's type, for messages.
    pub fn type_name(&self) -> &'static str {
        match &self.kind {
            Kind::Null => "null",
            Kind::Bool(_) => "a boolean",
            Kind::Int(_) => "an integer",
            Kind::Float(_) => "a number",
            Kind::Str(_) => "a string",
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a mapping",
        }
    }

    /// The string, when this is one.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Converts to a JSON value (for the schema and for typed decoding).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.kind {
            Kind::Null => Value::Null,
            Kind::Bool(b) => Value::Bool(*b),
            Kind::Int(i) => Value::from(*i),
            Kind::Float(f) => serde_json::Number::from_f64(*f)
                .map(Value::Number)
                .unwrap_or_else(|| Value::String(f.to_string())),
            Kind::Str(s) => Value::String(s.clone()),
            Kind::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            Kind::Map(entries) => {
                let mut map = serde_json::Map::new();
                for (k, v) in entries {
                    map.insert(k.name.clone(), v.to_json());
                }
                Value::Object(map)
            }
        }
    }

    /// Builds a node from a JSON value, every span set to `span`.
    pub fn from_json(value: &serde_json::Value, span: Span) -> Node {
        use serde_json::Value;
        let kind = match value {
            Value::Null => Kind::Null,
            Value::Bool(b) => Kind::Bool(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => Kind::Int(i),
                None => Kind::Float(n.as_f64().unwrap_or(0.0)),
            },
            Value::String(s) => Kind::Str(s.clone()),
            Value::Array(items) => {
                Kind::Seq(items.iter().map(|v| Node::from_json(v, span)).collect())
            }
            Value::Object(map) => Kind::Map(
                map.iter()
                    .map(|(k, v)| {
                        (
                            Key {
                                name: k.clone(),
                                span,
                            },
                            Node::from_json(v, span),
                        )
                    })
                    .collect(),
            ),
        };
        Node::new(kind, span)
    }
}

/// Splits a JSON pointer into unescaped segments.
pub fn pointer_segments(pointer: &str) -> Vec<String> {
    if pointer.is_empty() {
        return Vec::new();
    }
    pointer
        .trim_start_matches('/')
        .split('/')
        .map(|s| unescape_segment(s).into_owned())
        .collect()
}

/// One pointer segment with `~1` and `~0` read back (borrowed when it has neither).
fn unescape_segment(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains('~') {
        std::borrow::Cow::Owned(s.replace("~1", "/").replace("~0", "~"))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// Joins segments into a JSON pointer.
pub fn to_pointer<S: AsRef<str>>(segments: &[S]) -> String {
    let mut out =
        String::with_capacity(segments.iter().map(|s| s.as_ref().len() + 1).sum::<usize>());
    for s in segments {
        let s = s.as_ref();
        out.push('/');
        if s.contains(['~', '/']) {
            out.push_str(&s.replace('~', "~0").replace('/', "~1"));
        } else {
            out.push_str(s);
        }
    }
    out
}

/// The result of reading one YAML text.
pub struct Document {
    /// The first document's root, when the text holds one.
    pub root: Option<Node>,
    /// Problems found while reading (syntax errors, duplicate keys, extra documents).
    pub diagnostics: Vec<Diagnostic>,
}

/// Parses `text` (file `file`) into a positioned tree.
pub fn parse(file: FileId, text: &str) -> Document {
    // The common subset first (see `yaml_fast`); yaml-rust2 reads everything else.
    let mut builder = Builder::new(file, text, None);
    if super::yaml_fast::events(text, &mut |ev, at| builder.event(ev, at)).is_ok() {
        return builder.finish();
    }
    parse_full(file, text)
}

/// Parses `text` with yaml-rust2 (the whole of YAML, and its syntax errors).
fn parse_full(file: FileId, text: &str) -> Document {
    let mut builder = Builder::new(file, text, char_table(text));
    let mut parser = Parser::new_from_str(text);
    // Events are pulled one at a time (yaml-rust2's `load` recurses once per nesting
    // level, and a deep text would overflow the stack before the builder could refuse
    // it); the builder stops the loop at its first limit.
    let read = loop {
        match parser.next_token() {
            Ok((ev, mark)) => {
                let end = ev == Event::StreamEnd;
                builder.on_event(ev, mark);
                if end || builder.stopped {
                    break Ok(());
                }
            }
            Err(e) => break Err(e),
        }
    };
    if builder.stopped {
        return Document {
            root: None,
            diagnostics: builder.diagnostics,
        };
    }
    if let Err(e) = read {
        let m = e.marker();
        let at = offset_of(text, char_table(text).as_deref(), m);
        // yaml-rust2's scanner counts flow levels itself and can stop at its own limit
        // (255) before the builder sees level MAX_DEPTH: the same refusal.
        let d = if e.info() == "recursion limit exceeded" {
            Diagnostic::error(
                Stage::Load,
                "load/yaml-limit",
                format!("YAML nested deeper than {MAX_DEPTH} levels"),
            )
            .at(Some(Span::new(file, at, at + 1)))
            .label("too deep")
            .help(DEPTH_HELP)
        } else {
            Diagnostic::error(
                Stage::Load,
                "load/yaml-syntax",
                format!("invalid YAML: {}", e.info()),
            )
            .at(Some(Span::new(file, at, at + 1)))
            .label(e.info().to_string())
        };
        return Document {
            root: None,
            diagnostics: vec![d],
        };
    }
    builder.finish()
}

impl Builder<'_> {
    fn finish(self) -> Document {
        let mut diagnostics = self.diagnostics;
        let mut docs = self.docs;
        if docs.len() > 1 {
            let extra = &docs[1];
            diagnostics.push(
                Diagnostic::warning(
                    Stage::Load,
                    "load/extra-documents",
                    format!(
                        "{} YAML documents in this file; only the first is read",
                        docs.len()
                    ),
                )
                .at(Some(extra.span))
                .label("ignored"),
            );
        }
        let root = if docs.is_empty() {
            None
        } else {
            Some(docs.swap_remove(0))
        };
        Document { root, diagnostics }
    }
}

/// yaml-rust2 markers count characters; spans count bytes. For non-ASCII texts the
/// table maps a character index to its byte offset (built once per file).
fn offset_of(text: &str, chars: Option<&[usize]>, m: &Marker) -> usize {
    let idx = m.index();
    match chars {
        None => idx.min(text.len()),
        Some(table) => table.get(idx).copied().unwrap_or(text.len()),
    }
}

fn char_table(text: &str) -> Option<Vec<usize>> {
    (!text.is_ascii()).then(|| text.char_indices().map(|(i, _)| i).collect())
}

/// The deepest nesting of collections a Score file may have. Score files nest a few
/// levels (a resource's params a few more); the stages after this one walk the tree
/// recursively, and 100,000 levels of `[[[…` overflowed the stack.
pub const MAX_DEPTH: usize = 128;

/// The hint of a refusal for depth.
const DEPTH_HELP: &str = "a Score file nests a few levels; flatten this value";

/// Alias expansion is refused once it makes up more than this share of the nodes
/// decoded, as in yaml.v3 (`allowedAliasRatio`): 99% up to 400,000 nodes, falling to 10%
/// at 4,000,000. A few aliases in a small file are fine; a file whose aliases multiply
/// its size is not.
fn allowed_alias_ratio(decoded: usize) -> f64 {
    const LOW: usize = 400_000;
    const HIGH: usize = 4_000_000;
    if decoded <= LOW {
        0.99
    } else if decoded >= HIGH {
        0.10
    } else {
        0.99 - 0.89 * ((decoded - LOW) as f64 / (HIGH - LOW) as f64)
    }
}

enum Frame {
    Seq {
        items: Vec<Node>,
        span: Span,
        anchor: usize,
        /// Nodes inside so far (alias expansions included).
        nodes: usize,
    },
    Map {
        entries: Vec<(Key, Node)>,
        /// Key → position in `entries`, kept once a mapping grows past a few entries so
        /// that the duplicate-key check stays linear in the size of the mapping.
        index: FxHashMap<String, usize>,
        pending: Option<Key>,
        span: Span,
        anchor: usize,
        merges: Vec<Node>,
        /// Nodes inside so far (alias expansions included).
        nodes: usize,
    },
}

/// Mappings up to this many entries are searched directly.
const SMALL_MAP: usize = 16;

struct Builder<'t> {
    file: FileId,
    text: &'t str,
    stack: Vec<Frame>,
    /// Anchored nodes by id, with the number of nodes each holds.
    anchors: HashMap<usize, (Node, usize)>,
    docs: Vec<Node>,
    diagnostics: Vec<Diagnostic>,
    chars: Option<Vec<usize>>,
    /// Nodes decoded so far, alias expansions included (yaml.v3's `decodeCount`).
    decoded: usize,
    /// Nodes that came from alias expansions (yaml.v3's `aliasCount`).
    aliased: usize,
    /// A limit was hit: the builder takes no more events.
    stopped: bool,
}

impl<'t> Builder<'t> {
    fn new(file: FileId, text: &'t str, chars: Option<Vec<usize>>) -> Builder<'t> {
        Builder {
            file,
            text,
            stack: Vec::new(),
            anchors: HashMap::new(),
            docs: Vec::new(),
            diagnostics: Vec::new(),
            chars,
            decoded: 0,
            aliased: 0,
            stopped: false,
        }
    }

    /// Refuses the text with one error at `at` and stops reading it.
    fn refuse(&mut self, at: usize, summary: String, label: &str, help: &str) {
        self.diagnostics.push(
            Diagnostic::error(Stage::Load, "load/yaml-limit", summary)
                .at(Some(Span::new(self.file, at, at + 1)))
                .label(label)
                .help(help),
        );
        self.stopped = true;
    }

    fn scalar_span(&self, start: usize, value: &str, style: TScalarStyle) -> Span {
        let rest = &self.text[start.min(self.text.len())..];
        let line_end = || {
            rest.find('\n')
                .map(|i| start + i)
                .unwrap_or(self.text.len())
        };
        let end = match style {
            TScalarStyle::Plain if rest.starts_with(value) && !value.is_empty() => {
                start + value.len()
            }
            TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted => {
                let q = if style == TScalarStyle::SingleQuoted {
                    '\''
                } else {
                    '"'
                };
                // Find the closing quote on this line (skipping escapes) or stop at the line end.
                let mut end = line_end();
                let mut prev_backslash = false;
                for (i, c) in rest.char_indices().skip(1) {
                    if c == '\n' {
                        break;
                    }
                    if c == q && !(q == '"' && prev_backslash) {
                        end = start + i + 1;
                        break;
                    }
                    prev_backslash = c == '\\' && !prev_backslash;
                }
                end
            }
            _ => line_end(),
        };
        Span::new(
            self.file,
            start,
            end.max(start + 1).min(self.text.len().max(start + 1)),
        )
    }

    /// Adds a finished node of `size` nodes to the collection being read.
    fn insert(&mut self, node: Node, anchor: usize, size: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, (node.clone(), size));
        }
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some(Frame::Seq { items, nodes, .. }) => {
                *nodes += size;
                items.push(node);
            }
            Some(Frame::Map {
                entries,
                index,
                pending,
                merges,
                nodes,
                ..
            }) => {
                *nodes += size;
                match pending.take() {
                    None => {
                        let span = node.span;
                        let name = match node.kind {
                            Kind::Str(s) => s,
                            Kind::Null => String::new(),
                            _ => self
                                .text
                                .get(span.start..span.end)
                                .unwrap_or("")
                                .trim()
                                .to_string(),
                        };
                        *pending = Some(Key { name, span });
                    }
                    Some(key) => {
                        if key.name == "<<" {
                            merges.push(node);
                            return;
                        }
                        let first = if entries.len() <= SMALL_MAP {
                            entries.iter().position(|(k, _)| k.name == key.name)
                        } else {
                            if index.is_empty() {
                                index.extend(
                                    entries
                                        .iter()
                                        .enumerate()
                                        .map(|(i, (k, _))| (k.name.clone(), i)),
                                );
                            }
                            index.get(&key.name).copied()
                        };
                        if let Some(first) = first {
                            let first_span = entries[first].0.span;
                            self.diagnostics.push(
                            Diagnostic::error(Stage::Load, "load/duplicate-key", format!("duplicate key `{}`", key.name))
                                .at(Some(key.span))
                                .label("defined again here")
                                .note(Some(first_span), "first defined here")
                                .help("remove one of the two entries; YAML mappings cannot repeat a key"),
                        );
                            return;
                        }
                        if !index.is_empty() {
                            index.insert(key.name.clone(), entries.len());
                        }
                        entries.push((key, node));
                    }
                }
            }
        }
    }
}

impl MarkedEventReceiver for Builder<'_> {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let at = offset_of(self.text, self.chars.as_deref(), &mark);
        self.event(ev, at);
    }
}

impl Builder<'_> {
    /// One event, `at` a byte offset.
    fn event(&mut self, ev: Event, at: usize) {
        if self.stopped {
            return;
        }
        if matches!(ev, Event::SequenceStart(..) | Event::MappingStart(..))
            && self.stack.len() >= MAX_DEPTH
        {
            self.refuse(
                at,
                format!("YAML nested deeper than {MAX_DEPTH} levels"),
                "too deep",
                DEPTH_HELP,
            );
            return;
        }
        match ev {
            Event::SequenceStart(anchor, _) => {
                self.stack.push(Frame::Seq {
                    items: Vec::new(),
                    span: Span::new(self.file, at, at + 1),
                    anchor,
                    nodes: 0,
                });
            }
            Event::MappingStart(anchor, _) => self.stack.push(Frame::Map {
                entries: Vec::new(),
                index: FxHashMap::default(),
                pending: None,
                span: Span::new(self.file, at, at + 1),
                anchor,
                merges: Vec::new(),
                nodes: 0,
            }),
            Event::SequenceEnd => {
                if let Some(Frame::Seq {
                    items,
                    span,
                    anchor,
                    nodes,
                }) = self.stack.pop()
                {
                    self.decoded += 1;
                    self.insert(Node::new(Kind::Seq(exact(items)), span), anchor, nodes + 1);
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map {
                    mut entries,
                    span,
                    anchor,
                    merges,
                    nodes,
                    ..
                }) = self.stack.pop()
                {
                    // `<<` merge keys: entries of the merged mappings that the mapping
                    // does not set itself (looked up in a set: a merge of thousands of
                    // keys into thousands was quadratic).
                    let mut names: Option<rustc_hash::FxHashSet<String>> = None;
                    for merged in merges {
                        let sources = match merged.kind {
                            Kind::Seq(items) => items,
                            other => vec![Node::new(other, merged.span)],
                        };
                        for src in sources {
                            if let Kind::Map(src_entries) = src.kind {
                                let names = names.get_or_insert_with(|| {
                                    entries.iter().map(|(k, _)| k.name.clone()).collect()
                                });
                                for (k, v) in src_entries {
                                    if names.insert(k.name.clone()) {
                                        entries.push((k, v));
                                    }
                                }
                            }
                        }
                    }
                    self.decoded += 1;
                    self.insert(
                        Node::new(Kind::Map(exact(entries)), span),
                        anchor,
                        nodes + 1,
                    );
                }
            }
            Event::Scalar(value, style, anchor, tag) => {
                let span = self.scalar_span(at, &value, style);
                let kind = resolve_scalar(value, style, tag.as_ref());
                self.decoded += 1;
                self.insert(Node::new(kind, span), anchor, 1);
            }
            Event::Alias(id) => {
                // Counted before the copy is made: the copy is what a bomb multiplies.
                let size = self.anchors.get(&id).map_or(1, |(_, n)| *n);
                self.decoded += size;
                self.aliased += size;
                if self.aliased > 100
                    && self.decoded > 1000
                    && self.aliased as f64 / self.decoded as f64 > allowed_alias_ratio(self.decoded)
                {
                    let (aliased, decoded) = (self.aliased, self.decoded);
                    self.refuse(
                        at,
                        format!("YAML aliases expand to {aliased} of {decoded} nodes: excessive aliasing"),
                        "expands too far",
                        "aliases may repeat a part of the file, not multiply it; write the values out or use fewer levels of aliases",
                    );
                    return;
                }
                let node = self
                    .anchors
                    .get(&id)
                    .map(|(n, _)| n.clone())
                    .unwrap_or(Node::new(Kind::Null, Span::new(self.file, at, at + 1)));
                self.insert(node, 0, size);
            }
            Event::DocumentEnd
            | Event::DocumentStart
            | Event::StreamStart
            | Event::StreamEnd
            | Event::Nothing => {}
        }
    }
}

/// `v` in a buffer of its length: a collection grows by doubling while it is read, and
/// the trees of a project's Score files are kept for the whole run (for positions), so
/// the slack (a third of their memory) is given back.
fn exact<T>(v: Vec<T>) -> Vec<T> {
    if v.capacity() == v.len() {
        return v;
    }
    let mut out = Vec::with_capacity(v.len());
    out.extend(v);
    out
}

fn resolve_scalar(value: String, style: TScalarStyle, tag: Option<&Tag>) -> Kind {
    if let Some(tag) = tag
        && (tag.handle == "tag:yaml.org,2002:" || tag.handle == "!!")
    {
        return match tag.suffix.as_str() {
            "str" => Kind::Str(value),
            "null" => Kind::Null,
            "bool" | "int" | "float" => resolve_plain(value),
            _ => Kind::Str(value),
        };
    }
    if style != TScalarStyle::Plain {
        return Kind::Str(value);
    }
    resolve_plain(value)
}

/// YAML 1.2 core schema resolution of a plain scalar.
fn resolve_plain(value: String) -> Kind {
    match value.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => return Kind::Null,
        "true" | "True" | "TRUE" => return Kind::Bool(true),
        "false" | "False" | "FALSE" => return Kind::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Kind::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Kind::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Kind::Float(f64::NAN),
        _ => {}
    }
    let v = value.as_str();
    if is_int(v) {
        if let Ok(i) = v.parse::<i64>() {
            return Kind::Int(i);
        }
        if let Ok(f) = v.parse::<f64>() {
            return Kind::Float(f);
        }
    }
    if let Some(hex) = v.strip_prefix("0x")
        && let Ok(i) = i64::from_str_radix(hex, 16)
    {
        return Kind::Int(i);
    }
    if let Some(oct) = v.strip_prefix("0o")
        && let Ok(i) = i64::from_str_radix(oct, 8)
    {
        return Kind::Int(i);
    }
    if is_float(v)
        && let Ok(f) = v.parse::<f64>()
    {
        return Kind::Float(f);
    }
    Kind::Str(value)
}

fn is_int(v: &str) -> bool {
    let digits = v.strip_prefix(['-', '+']).unwrap_or(v);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

fn is_float(v: &str) -> bool {
    // [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
    let s = v.strip_prefix(['-', '+']).unwrap_or(v);
    let (mantissa, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((a, b)) => {
            (!a.is_empty() || !b.is_empty())
                && a.bytes().all(|c| c.is_ascii_digit())
                && b.bytes().all(|c| c.is_ascii_digit())
        }
        None => !mantissa.is_empty() && mantissa.bytes().all(|c| c.is_ascii_digit()),
    };
    let exp_ok = exp.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && e.bytes().all(|c| c.is_ascii_digit())
    });
    mantissa_ok && exp_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Document {
        parse(FileId(0), text)
    }

    #[test]
    fn scalars_resolve_like_yaml_1_2() {
        let d =
            doc("a: 1\nb: '1'\nc: true\nd: yes\ne: ~\nf: 1.5\ng: 0x1f\nh: 0644\ni: 1e3\nj: .inf\n");
        let root = d.root.unwrap();
        assert_eq!(root.get("a").unwrap().kind, Kind::Int(1));
        assert_eq!(root.get("b").unwrap().kind, Kind::Str("1".into()));
        assert_eq!(root.get("c").unwrap().kind, Kind::Bool(true));
        assert_eq!(root.get("d").unwrap().kind, Kind::Str("yes".into()));
        assert_eq!(root.get("e").unwrap().kind, Kind::Null);
        assert_eq!(root.get("f").unwrap().kind, Kind::Float(1.5));
        assert_eq!(root.get("g").unwrap().kind, Kind::Int(31));
        assert_eq!(root.get("h").unwrap().kind, Kind::Int(644));
        assert_eq!(root.get("i").unwrap().kind, Kind::Float(1000.0));
        assert_eq!(root.get("j").unwrap().kind, Kind::Float(f64::INFINITY));
    }

    #[test]
    fn spans_point_at_keys_and_values() {
        let text = "metadata:\n  name: héllo\n  other: \"quoted value\"\n";
        let root = doc(text).root.unwrap();
        let name = root.pointer("/metadata/name").unwrap();
        assert_eq!(&text[name.span.start..name.span.end], "héllo");
        let other = root.pointer("/metadata/other").unwrap();
        assert_eq!(&text[other.span.start..other.span.end], "\"quoted value\"");
        let key = root.key_span("/metadata/other").unwrap();
        assert_eq!(&text[key.start..key.end], "other");
    }

    #[test]
    fn duplicate_keys_are_errors_pointing_at_both() {
        let d = doc("a: 1\nb: 2\na: 3\n");
        assert_eq!(d.diagnostics.len(), 1);
        let diag = &d.diagnostics[0];
        assert_eq!(diag.summary, "duplicate key `a`");
        assert_eq!(diag.span.unwrap().start, 10);
        assert_eq!(diag.notes[0].span.start, 0);
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        let root = doc("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\ncopy: *b\n")
            .root
            .unwrap();
        assert_eq!(root.pointer("/other/x").unwrap().kind, Kind::Int(1));
        assert_eq!(root.pointer("/other/y").unwrap().kind, Kind::Int(3));
        assert_eq!(root.pointer("/copy/y").unwrap().kind, Kind::Int(2));
    }

    /// The code of the only diagnostic of a refused text (which has no tree).
    fn refused(text: &str) -> &'static str {
        let d = doc(text);
        assert!(d.root.is_none());
        assert_eq!(d.diagnostics.len(), 1, "{:?}", d.diagnostics);
        d.diagnostics[0].code
    }

    #[test]
    fn nesting_is_refused_past_the_limit_in_flow_and_block_style() {
        let n = MAX_DEPTH - 1; // the root mapping is the first level
        let seq = |n: usize| format!("x: {}1{}\n", "[".repeat(n), "]".repeat(n));
        let map = |n: usize| format!("x: {}1{}\n", "{a: ".repeat(n), "}".repeat(n));
        let block = |n: usize| format!("x:\n  {}1\n", "- ".repeat(n));
        for make in [seq, map, block] {
            let d = doc(&make(n));
            assert!(d.root.is_some() && d.diagnostics.is_empty(), "{}", make(n));
            assert_eq!(refused(&make(n + 1)), "load/yaml-limit");
            // Far past it: refused without overflowing the stack.
            assert_eq!(refused(&make(100_000)), "load/yaml-limit");
        }
        let d = doc(&seq(100_000));
        assert_eq!(
            d.diagnostics[0].summary,
            "YAML nested deeper than 128 levels"
        );
    }

    #[test]
    fn aliases_that_multiply_the_text_are_refused() {
        // A billion laughs: nine levels of nine aliases each, 700 bytes.
        let mut text = String::from("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        let levels = ["b", "c", "d", "e", "f", "g", "h", "i"];
        let mut prev = "a";
        for l in levels {
            text.push_str(&format!(
                "{l}: &{l} [{}]\n",
                vec![format!("*{prev}"); 9].join(", ")
            ));
            prev = l;
        }
        let d = doc(&text);
        assert!(d.root.is_none());
        assert_eq!(d.diagnostics[0].code, "load/yaml-limit");
        assert!(d.diagnostics[0].summary.contains("excessive aliasing"));
        // The first three levels (about 900 nodes, most of them aliased) are still fine,
        // as in yaml.v3: the rule only applies past 1,000 decoded nodes.
        let small: String = text.lines().take(3).map(|l| format!("{l}\n")).collect();
        assert!(doc(&small).diagnostics.is_empty());
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let d = doc("a: [1, 2\nb: 3\n");
        assert!(d.root.is_none());
        assert_eq!(d.diagnostics[0].code, "load/yaml-syntax");
    }

    /// The fast path's tree and diagnostics, or `None` where it gives up.
    fn fast(text: &str) -> Option<Document> {
        let mut b = Builder::new(FileId(0), text, None);
        super::super::yaml_fast::events(text, &mut |ev, at| b.event(ev, at)).ok()?;
        Some(b.finish())
    }

    /// Checks the fast path against yaml-rust2 on `text` and on every prefix of its
    /// lines; returns whether it read the whole text.
    fn agrees(text: &str) -> bool {
        let key = |d: &Document| {
            d.diagnostics
                .iter()
                .map(|x| (x.code, x.span, x.summary.clone()))
                .collect::<Vec<_>>()
        };
        let mut ends: Vec<usize> = text.match_indices('\n').map(|(i, _)| i + 1).collect();
        ends.push(text.len());
        for end in ends {
            let t = &text[..end];
            if let Some(f) = fast(t) {
                let full = parse_full(FileId(0), t);
                assert_eq!(f.root, full.root, "trees differ for:\n{t}");
                assert_eq!(key(&f), key(&full), "diagnostics differ for:\n{t}");
            }
        }
        fast(text).is_some()
    }

    const SCORE: &str = "apiVersion: score.dev/v1b1\nmetadata:\n  name: hello   # the name\n  annotations:\n    a.b/c: \"x\"\n    'q''s': 'it''s'\ncontainers:\n  main:\n    image: busybox:1.36\n    command: [\"/bin/sh\"]\n    args:\n      - -c\n      - 'echo hi'\n    variables:\n      A: ${resources.db.host}\n      B: \"${resources.db.port}\"\n      C: postgres://${resources.db.user}@x:5432/db\n      EMPTY:\n      N: 5\n      F: 1.5e3\n      T: true\n      Z: ~\n\n# between\nresources:\n  db:\n    type: postgres\n    params: {size: 1, name: \"x y\", list: [1, -2, {a: b}], e: {}, l: []}\n  dns:\n    type: dns\n    class: default\n  shared:\n    type: redis\n    id: cache\n";

    const EDGES: &str = "---\n# leading comment\n\na:\n- x\n- y: 1\n  z: 2\n-\n  - nested\n-\n- last\n  \nb: \nc: ~\nd: -5\ne: :x\nf: 0x1f\ng: 1.5e3\nh: a#b\ni: a:b\nj: 'q'\n\"k\": v\n'l m': 'n'\nm:\n  n:\n    o: p\n  q: [a, 'b', \"c\", [d], {e: f}]\nr: x y  z   \ns:\n  - a\n  -   b\n  - c: d\n    e:\n      f: g\nu: '#x'\nv: \"a'b\"\nw: 'a\"b'\n1: int key\ntrue: bool key\nx: a: b\n";

    #[test]
    fn fast_path_reads_score_files_as_yaml_rust2_does() {
        assert!(agrees(SCORE), "the fast path reads a typical Score file");
        assert!(!agrees(EDGES), "`x: a: b` at the end gives up");
        assert!(agrees(&EDGES[..EDGES.find("x: a: b").unwrap()]));
        // A generated 100-resource workload, as the benchmark writes them.
        let mut bench = String::from(
            "apiVersion: score.dev/v1b1\nmetadata:\n  name: w1\ncontainers:\n  main:\n    image: busybox:1.36\nresources:\n",
        );
        for i in 0..100 {
            bench.push_str(&format!("  n{i}:\n    type: bench-node\n    params: {{parent: \"${{resources.root{}.value}}\", index: {i}}}\n", i % 3));
        }
        assert!(agrees(&bench));
        // Every Score file of the conformance suite, when it is next to the repository.
        let dir = std::env::var_os("BATON_SCORE_FIXTURES")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/score-spec")
            });
        let (mut files, mut read) = (0, 0);
        let mut stack = vec![
            dir,
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples"),
        ];
        while let Some(d) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&d) else {
                continue;
            };
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml")
                    && let Ok(text) = std::fs::read_to_string(&p)
                {
                    files += 1;
                    read += usize::from(agrees(&text));
                }
            }
        }
        eprintln!("fast path: read {read} of {files} YAML files whole");
        assert!(
            files == 0 || read > 0,
            "the fast path read none of {files} files"
        );
    }

    #[test]
    fn fast_path_gives_up_on_what_it_does_not_read() {
        for text in [
            "a: &x 1\nb: *x\n",
            "a: !!str 1\n",
            "a: |\n  text\n",
            "a: >\n  text\n",
            "a: [1,\n  2]\n",
            "a: \"x\\ty\"\n",
            "a: 1\n---\nb: 2\n",
            "a:\tb\n",
            "a: 1\r\n",
            "? a\n: b\n",
            "a: b: c\n",
            "a: hello\n  world\n",
            "- a\n",
            "%YAML 1.2\n---\na: 1\n",
            "a: 'unclosed\n",
            "",
        ] {
            assert!(fast(text).is_none(), "the fast path read {text:?}");
        }
    }

    #[test]
    fn pointers_escape_slashes() {
        assert_eq!(to_pointer(&["files", "/etc/x~y"]), "/files/~1etc~1x~0y");
        assert_eq!(
            pointer_segments("/files/~1etc~1x~0y"),
            vec!["files", "/etc/x~y"]
        );
    }
}
