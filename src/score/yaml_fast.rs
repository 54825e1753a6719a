//! A fast path for the YAML that Score files are made of: block mappings and sequences,
//! one-line plain and quoted scalars, one-line flow collections and comments. It emits
//! the same events, at the same byte offsets, as yaml-rust2 does for those texts, into
//! the same tree builder ([`super::yaml`]), about five times faster than yaml-rust2's
//! character-by-character scanner (which reads a 10,000-resource project at ≈ 25 MB/s).
//!
//! Anything else (anchors, aliases, tags, block scalars `|` `>`, multi-line scalars or
//! flow collections, escapes in double quotes, directives, several documents, tabs,
//! carriage returns, complex keys, nesting deeper than [`super::yaml::MAX_DEPTH`], every
//! syntax error) makes it give up with [`Bail`], and
//! the caller parses the text again with yaml-rust2: this path never decides what a text
//! means on its own when it is unsure. A differential test checks it against yaml-rust2
//! on every Score file of the conformance suite and on texts made to hit its edges.
//!
//! Kept because it pays: at 10,000 resources a no-change plan took 1.08× and 1.16× as
//! long with yaml-rust2 alone (medians of 15 and 21, `benches/ab.sh`, 2 cores,
//! 2026-12-06); at 1,000, 1.08×.

use yaml_rust2::parser::Event;
use yaml_rust2::scanner::TScalarStyle;

/// The text is not in the subset this path reads.
#[derive(Debug)]
pub struct Bail;

type R<T> = Result<T, Bail>;

/// Emits the events of `text` (byte offsets) to `sink`, or gives up.
pub fn events(text: &str, sink: &mut dyn FnMut(Event, usize)) -> R<()> {
    let b = text.as_bytes();
    if b.iter().any(|&c| c == b'\t' || c == b'\r') || text.starts_with('\u{feff}') {
        return Err(Bail);
    }
    let mut p = Parser {
        b,
        text,
        pos: 0,
        line_start: 0,
        depth: 0,
        sink,
    };
    let mut col = p.next_content().ok_or(Bail)?;
    if p.b[p.pos..].starts_with(b"---") {
        // `---` alone on its line starts the (only) document.
        let after = p.pos + 3;
        if after < b.len() && b[after] != b'\n' {
            return Err(Bail);
        }
        p.pos = after;
        col = p.next_content().ok_or(Bail)?;
    }
    if col != 0 || p.at_seq_entry() {
        return Err(Bail);
    }
    p.block_mapping(0)?;
    // Nothing may follow the root mapping.
    if p.next_content().is_some() {
        return Err(Bail);
    }
    Ok(())
}

struct Parser<'t, 's> {
    b: &'t [u8],
    text: &'t str,
    pos: usize,
    /// Where the line of `pos` starts.
    line_start: usize,
    /// Collections open around the position: this parser recurses once per level, so
    /// past the limit it gives up and yaml-rust2's reader reports the depth.
    depth: usize,
    sink: &'s mut dyn FnMut(Event, usize),
}

fn is_space_or_end(c: Option<u8>) -> bool {
    matches!(c, None | Some(b' ') | Some(b'\n'))
}

impl Parser<'_, '_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn at(&self, i: usize) -> Option<u8> {
        self.b.get(i).copied()
    }

    /// Enters one more level of nesting, or gives up past the limit.
    fn deeper(&mut self) -> R<()> {
        self.depth += 1;
        if self.depth > super::yaml::MAX_DEPTH {
            return Err(Bail);
        }
        Ok(())
    }

    fn emit(&mut self, ev: Event, at: usize) {
        (self.sink)(ev, at);
    }

    fn scalar(&mut self, value: String, style: TScalarStyle, at: usize) {
        self.emit(Event::Scalar(value, style, 0, None), at);
    }

    /// Skips blank and comment lines from the start of a line (or the rest of the
    /// current one when only spaces and a comment are left on it); stops at the first
    /// content character and returns its column, or `None` at the end of the text.
    /// A `...` or `---` line (another document) or a `%` directive gives up later: they
    /// are content at column 0 that no caller accepts.
    fn next_content(&mut self) -> Option<usize> {
        loop {
            while self.peek() == Some(b' ') {
                self.pos += 1;
            }
            match self.peek() {
                None => return None,
                Some(b'\n') => {
                    self.pos += 1;
                    self.line_start = self.pos;
                }
                Some(b'#') => match self.text[self.pos..].find('\n') {
                    Some(i) => {
                        self.pos += i + 1;
                        self.line_start = self.pos;
                    }
                    None => {
                        self.pos = self.b.len();
                        return None;
                    }
                },
                Some(_) => return Some(self.pos - self.line_start),
            }
        }
    }

    /// After a node on a line: only spaces and a comment may follow, up to the line end.
    fn end_of_line(&mut self) -> R<()> {
        let start = self.pos;
        while self.peek() == Some(b' ') {
            self.pos += 1;
        }
        match self.peek() {
            None => Ok(()),
            Some(b'\n') => {
                self.pos += 1;
                self.line_start = self.pos;
                Ok(())
            }
            Some(b'#')
                if self.pos > start || self.b.get(self.pos.wrapping_sub(1)) == Some(&b' ') =>
            {
                self.pos = self.text[self.pos..]
                    .find('\n')
                    .map_or(self.b.len(), |i| self.pos + i + 1);
                self.line_start = self.pos;
                Ok(())
            }
            _ => Err(Bail),
        }
    }

    /// `- ` (or `-` at the line end) at the position.
    fn at_seq_entry(&self) -> bool {
        self.peek() == Some(b'-') && is_space_or_end(self.at(self.pos + 1))
    }

    /// A block mapping whose keys are at column `col`; the position is at its first key.
    fn block_mapping(&mut self, col: usize) -> R<()> {
        self.deeper()?;
        let mut first = true;
        loop {
            let (value, style, start) = self.key()?;
            if first {
                // yaml-rust2 marks a block mapping's start at its first key's `:`.
                self.emit(Event::MappingStart(0, None), self.pos - 1);
                first = false;
            }
            self.scalar(value, style, start);
            // The value: on this line, or on the lines below.
            while self.peek() == Some(b' ') {
                self.pos += 1;
            }
            match self.peek() {
                None | Some(b'\n') | Some(b'#') => {
                    self.end_of_line()?;
                    let next = self.next_content();
                    match next {
                        Some(c) if c > col => self.block_node(c)?,
                        // A sequence may sit at the keys' column (an indentless sequence).
                        Some(c) if c == col && self.at_seq_entry() => {
                            self.block_sequence(c, true)?
                        }
                        _ => self.empty(next),
                    }
                }
                Some(_) => {
                    self.inline_node(false)?;
                    self.end_of_line()?;
                }
            }
            match self.next_content() {
                Some(c) if c == col && !self.at_seq_entry() => continue,
                Some(c) if c < col => break,
                None => break,
                Some(_) => return Err(Bail),
            }
        }
        self.emit(Event::MappingEnd, self.pos);
        self.depth -= 1;
        Ok(())
    }

    /// A mapping key and its `:` (the position is left after it): the key's text, style
    /// and start.
    fn key(&mut self) -> R<(String, TScalarStyle, usize)> {
        let start = self.pos;
        let (value, style) = match self.peek() {
            Some(b'\'') | Some(b'"') => self.quoted()?,
            _ => (self.plain(false)?, TScalarStyle::Plain),
        };
        if self.peek() != Some(b':') || !is_space_or_end(self.at(self.pos + 1)) {
            return Err(Bail);
        }
        self.pos += 1;
        Ok((value, style, start))
    }

    /// An empty value (`key:` or `-` with nothing after): yaml-rust2 gives it the
    /// position of the next token (the current one), the end of the text after the last.
    fn empty(&mut self, next: Option<usize>) {
        let at = if next.is_some() {
            self.pos
        } else {
            self.b.len()
        };
        self.scalar(String::new(), TScalarStyle::Plain, at);
    }

    /// The position of a sequence entry's content (after `- `), or `None` for an entry
    /// with nothing on its line.
    fn entry_content(&self) -> Option<usize> {
        let mut i = self.pos + 1;
        while self.at(i) == Some(b' ') {
            i += 1;
        }
        match self.at(i) {
            None | Some(b'\n') | Some(b'#') => None,
            Some(_) => Some(i),
        }
    }

    /// A node that starts on a line of its own at column `col`.
    fn block_node(&mut self, col: usize) -> R<()> {
        if self.at_seq_entry() {
            return self.block_sequence(col, false);
        }
        if self.looks_like_key() {
            return self.block_mapping(col);
        }
        self.inline_node(false)?;
        self.end_of_line()?;
        // A scalar continued on the next lines is a multi-line scalar.
        match self.next_content() {
            Some(c) if c > col => Err(Bail),
            _ => Ok(()),
        }
    }

    /// A block sequence whose `-` are at column `col`; the position is at the first `-`.
    /// yaml-rust2 marks its start at that `-`, or for an indentless one (at the column of
    /// the keys of the mapping it is a value of) at the first entry's content.
    fn block_sequence(&mut self, col: usize, indentless: bool) -> R<()> {
        self.deeper()?;
        let start = if indentless {
            self.entry_content().ok_or(Bail)?
        } else {
            self.pos
        };
        self.emit(Event::SequenceStart(0, None), start);
        loop {
            self.pos += 1; // the `-`
            while self.peek() == Some(b' ') {
                self.pos += 1;
            }
            match self.peek() {
                None | Some(b'\n') | Some(b'#') => {
                    self.end_of_line()?;
                    let next = self.next_content();
                    match next {
                        Some(c) if c > col => self.block_node(c)?,
                        // yaml-rust2 places an empty entry at the next entry's content.
                        Some(c) if c == col && self.at_seq_entry() => {
                            let at = self.entry_content().ok_or(Bail)?;
                            self.scalar(String::new(), TScalarStyle::Plain, at);
                        }
                        _ => self.empty(next),
                    }
                }
                Some(_) => {
                    if self.at_seq_entry() {
                        return Err(Bail);
                    }
                    let item_col = self.pos - self.line_start;
                    if self.looks_like_key() {
                        self.block_mapping(item_col)?;
                    } else {
                        self.inline_node(false)?;
                        self.end_of_line()?;
                        if matches!(self.next_content(), Some(c) if c > col) {
                            return Err(Bail);
                        }
                    }
                }
            }
            match self.next_content() {
                Some(c) if c == col && self.at_seq_entry() => continue,
                Some(c) if c < col => break,
                // Under a mapping key at the same column, the sequence ends at the next key.
                Some(c) if c == col && indentless => break,
                None => break,
                Some(_) => return Err(Bail),
            }
        }
        self.emit(Event::SequenceEnd, self.pos);
        self.depth -= 1;
        Ok(())
    }

    /// Whether a mapping key (`key:` followed by a space or the line end) starts here.
    fn looks_like_key(&mut self) -> bool {
        let save = self.pos;
        let found = match self.peek() {
            Some(b'\'') | Some(b'"') => self.quoted().is_ok(),
            Some(b'{') | Some(b'[') => false,
            _ => self.plain(false).is_ok(),
        } && self.peek() == Some(b':')
            && is_space_or_end(self.at(self.pos + 1));
        self.pos = save;
        found
    }

    /// A node on the current line: a flow collection or a scalar (`flow`: inside a flow
    /// collection, where a plain scalar also ends at `,[]{}`).
    fn inline_node(&mut self, flow: bool) -> R<()> {
        let start = self.pos;
        match self.peek() {
            Some(b'{') => self.flow_collection(true),
            Some(b'[') => self.flow_collection(false),
            Some(b'\'') | Some(b'"') => {
                let (value, style) = self.quoted()?;
                self.scalar(value, style, start);
                Ok(())
            }
            _ => {
                let value = self.plain(flow)?;
                // `key: a: b` is not a scalar.
                if !flow && self.peek() == Some(b':') && is_space_or_end(self.at(self.pos + 1)) {
                    return Err(Bail);
                }
                self.scalar(value, TScalarStyle::Plain, start);
                Ok(())
            }
        }
    }

    /// A plain scalar on this line; in flow context it also ends at `,[]{}`.
    fn plain(&mut self, flow: bool) -> R<String> {
        let start = self.pos;
        let first = self.peek().ok_or(Bail)?;
        let next = self.at(self.pos + 1);
        match first {
            b'-' | b'?' | b':'
                if is_space_or_end(next)
                    || (flow && matches!(next, Some(b',' | b'[' | b']' | b'{' | b'}'))) =>
            {
                return Err(Bail);
            }
            b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!' | b'|' | b'>' | b'\''
            | b'"' | b'%' | b'@' | b'`' | b'\n' | b' ' => return Err(Bail),
            _ => {}
        }
        let mut end = start;
        let mut i = start;
        while i < self.b.len() {
            let c = self.b[i];
            match c {
                b'\n' => break,
                b' ' => {
                    if self.at(i + 1) == Some(b'#') {
                        break;
                    }
                }
                b':' => {
                    let n = self.at(i + 1);
                    if is_space_or_end(n)
                        || (flow && matches!(n, Some(b',' | b'[' | b']' | b'{' | b'}')))
                    {
                        break;
                    }
                    end = i + 1;
                }
                b',' | b'[' | b']' | b'{' | b'}' if flow => break,
                _ => end = i + 1,
            }
            i += 1;
        }
        if end == start {
            return Err(Bail);
        }
        self.pos = end;
        Ok(self.text[start..end].to_string())
    }

    /// A quoted scalar closed on this line: `'…'` (`''` is a quote) or `"…"` without
    /// escapes.
    fn quoted(&mut self) -> R<(String, TScalarStyle)> {
        let q = self.peek().ok_or(Bail)?;
        let body = self.pos + 1;
        let rest = &self.text[body..];
        let line = &rest[..rest.find('\n').unwrap_or(rest.len())];
        if q == b'"' {
            let close = line.find(['"', '\\']).ok_or(Bail)?;
            if line.as_bytes()[close] == b'\\' {
                return Err(Bail);
            }
            self.pos = body + close + 1;
            return Ok((line[..close].to_string(), TScalarStyle::DoubleQuoted));
        }
        let mut out = String::new();
        let mut i = 0;
        loop {
            let close = line[i..].find('\'').ok_or(Bail)? + i;
            out.push_str(&line[i..close]);
            if line.as_bytes().get(close + 1) == Some(&b'\'') {
                out.push('\'');
                i = close + 2;
            } else {
                self.pos = body + close + 1;
                return Ok((out, TScalarStyle::SingleQuoted));
            }
        }
    }

    fn skip_flow_spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.pos += 1;
        }
    }

    /// `{k: v, …}` (`mapping`) or `[a, …]` on one line.
    fn flow_collection(&mut self, mapping: bool) -> R<()> {
        let (start, end, close) = if mapping {
            (Event::MappingStart(0, None), Event::MappingEnd, b'}')
        } else {
            (Event::SequenceStart(0, None), Event::SequenceEnd, b']')
        };
        self.deeper()?;
        self.emit(start, self.pos);
        self.pos += 1;
        self.skip_flow_spaces();
        if self.peek() != Some(close) {
            loop {
                self.skip_flow_spaces();
                if mapping {
                    // A key, `: `, then its value (no complex keys, no empty values).
                    if matches!(self.peek(), Some(b'{' | b'[')) {
                        return Err(Bail);
                    }
                    self.inline_node(true)?;
                    if self.peek() != Some(b':') || self.at(self.pos + 1) != Some(b' ') {
                        return Err(Bail);
                    }
                    self.pos += 1;
                    self.skip_flow_spaces();
                    if matches!(self.peek(), Some(b',' | b'}')) {
                        return Err(Bail);
                    }
                }
                self.inline_node(true)?;
                self.skip_flow_spaces();
                match self.peek() {
                    Some(b',') => {
                        self.pos += 1;
                        self.skip_flow_spaces();
                        if self.peek() == Some(close) {
                            return Err(Bail);
                        }
                    }
                    Some(c) if c == close => break,
                    _ => return Err(Bail),
                }
            }
        }
        self.pos += 1;
        self.emit(end, self.pos);
        self.depth -= 1;
        Ok(())
    }
}
