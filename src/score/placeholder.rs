//! Score placeholders: `${metadata.KEY…}` and `${resources.NAME.OUTPUT…}` inside strings.
//!
//! Grammar, as score-go implements it: `$$` is a literal `$`; `${…}` up to the first `}`
//! is a placeholder; a `$` followed by anything else is literal. A placeholder holds at
//! least two dot-separated parts of `[A-Za-z0-9_-]`; the first is `metadata` or
//! `resources`. baton also accepts `\.` inside a part as an escaped dot (as the Score
//! documentation describes and score-go's `SplitRefParts` implements), so that
//! `${metadata.labels.app\.kubernetes\.io/name}`-style keys can be reached; see
//! `docs/score.md`. Substitution JSON-encodes non-string values. This module is pure.

use serde_json::Value;

/// The most placeholders one Score file may hold (in the strings Score expands). A
/// workload has a few dozen; the limit bounds the work of a file written to have
/// hundreds of thousands.
pub const MAX_PER_FILE: usize = 10_000;

/// What a well-formed placeholder refers to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Ref {
    /// `${metadata.a.b}`: a path into the workload's metadata.
    Metadata(Vec<String>),
    /// `${resources.NAME.OUTPUT…}`: an output of a resource (an empty path for `${resources.NAME}`).
    Resource {
        /// The resource's name in the workload.
        name: String,
        /// The output key and any path into it.
        output: Vec<String>,
    },
}

/// Why a placeholder is not valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaceholderError {
    /// Not `part.part…` of allowed characters.
    Malformed,
    /// The first part is neither `metadata` nor `resources`.
    UnknownRoot(String),
}

/// One piece of a string with placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Literal text (escapes already applied).
    Literal(String),
    /// A placeholder.
    Placeholder(Placeholder),
}

/// A `${…}` occurrence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder {
    /// The text between `${` and `}`.
    pub content: String,
    /// Byte offset of the `$` in the string.
    pub offset: usize,
    /// Byte length including `${` and `}`.
    pub len: usize,
    /// What it refers to, or why it is invalid.
    pub reference: Result<Ref, PlaceholderError>,
}

impl Placeholder {
    /// The placeholder as written, `${…}`.
    pub fn text(&self) -> String {
        format!("${{{}}}", self.content)
    }
}

/// A Score string where placeholders are expanded, parsed once when its file is loaded:
/// evaluation reads this, never the text's placeholders again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Template {
    /// No `$` in it: the text is the value (the workload holds it; not copied here).
    Plain,
    /// Literal text (escapes applied) and placeholders, in order.
    Parts(Vec<Segment>),
}

impl Template {
    /// Parses a Score string.
    pub fn parse(s: &str) -> Template {
        if s.contains('$') {
            Template::Parts(parse(s))
        } else {
            Template::Plain
        }
    }

    /// Its placeholders, in order.
    pub fn placeholders(&self) -> impl Iterator<Item = &Placeholder> {
        let parts: &[Segment] = match self {
            Template::Plain => &[],
            Template::Parts(parts) => parts,
        };
        parts.iter().filter_map(|seg| match seg {
            Segment::Placeholder(p) => Some(p),
            Segment::Literal(_) => None,
        })
    }
}

#[cfg(test)]
thread_local! {
    /// How many strings [`parse`] split on this thread (tests check that evaluation
    /// parses none).
    pub static PARSED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Splits a string into literal text and placeholders.
pub fn parse(s: &str) -> Vec<Segment> {
    #[cfg(test)]
    PARSED.with(|n| n.set(n.get() + 1));
    let mut out = Vec::new();
    let mut literal = String::new();
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' && i + 1 < bytes.len() {
            if bytes[i + 1] == b'$' {
                literal.push('$');
                i += 2;
                continue;
            }
            if bytes[i + 1] == b'{'
                && let Some(close) = s[i + 2..].find('}')
            {
                if !literal.is_empty() {
                    out.push(Segment::Literal(std::mem::take(&mut literal)));
                }
                let content = &s[i + 2..i + 2 + close];
                let len = close + 3;
                out.push(Segment::Placeholder(Placeholder {
                    content: content.to_string(),
                    offset: i,
                    len,
                    reference: parse_ref(content),
                }));
                i += len;
                continue;
            }
        }
        // Up to the next `$` (or past a lone one), copied as one run.
        let from = if bytes[i] == b'$' { i + 1 } else { i };
        let next = s[from..].find('$').map_or(s.len(), |j| from + j);
        literal.push_str(&s[i..next]);
        i = next;
    }
    if !literal.is_empty() {
        out.push(Segment::Literal(literal));
    }
    out
}

/// All placeholders of a string.
pub fn placeholders(s: &str) -> impl Iterator<Item = Placeholder> {
    parse(s).into_iter().filter_map(|seg| match seg {
        Segment::Placeholder(p) => Some(p),
        Segment::Literal(_) => None,
    })
}

/// Splits placeholder content on unescaped dots; `\.` stays a dot inside a part.
pub fn split_parts(content: &str) -> Vec<String> {
    if !content.contains('\\') {
        return content.split('.').map(str::to_string).collect();
    }
    let mut parts = vec![String::new()];
    let mut chars = content.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' && chars.peek() == Some(&'.') {
            chars.next();
            parts.last_mut().unwrap().push('.');
        } else if c == '.' {
            parts.push(String::new());
        } else {
            parts.last_mut().unwrap().push(c);
        }
    }
    parts
}

fn parse_ref(content: &str) -> Result<Ref, PlaceholderError> {
    if !content.contains('\\') {
        // Without escapes the parts are the dot-separated pieces: checked in one pass
        // over the bytes, and only the parts the reference keeps are copied.
        let allowed = content
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c == b'.');
        if !allowed || !content.contains('.') || content.split('.').any(str::is_empty) {
            return Err(PlaceholderError::Malformed);
        }
        let mut parts = content.split('.');
        return match parts.next().unwrap_or_default() {
            "metadata" => Ok(Ref::Metadata(parts.map(str::to_string).collect())),
            "resources" => Ok(Ref::Resource {
                name: parts.next().unwrap_or_default().to_string(),
                output: parts.map(str::to_string).collect(),
            }),
            other => Err(PlaceholderError::UnknownRoot(other.to_string())),
        };
    }
    let parts = split_parts(content);
    let part_ok = |p: &String| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
    };
    // Escaped dots are allowed inside a part, raw characters beyond the Score set are not.
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.';
    let raw_ok = if content.contains('\\') {
        content.replace("\\.", "").chars().all(allowed)
    } else {
        content.chars().all(allowed)
    };
    if parts.len() < 2 || !parts.iter().all(part_ok) || !raw_ok {
        return Err(PlaceholderError::Malformed);
    }
    // The parts are moved into the reference, not copied.
    let mut parts = parts;
    match parts[0].as_str() {
        "metadata" => Ok(Ref::Metadata(parts.split_off(1))),
        "resources" => {
            let output = parts.split_off(2);
            Ok(Ref::Resource {
                name: parts.swap_remove(1),
                output,
            })
        }
        _ => Err(PlaceholderError::UnknownRoot(parts.swap_remove(0))),
    }
}

/// Why a path of keys leads nowhere, in score-go's wording.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    /// The map has no such key.
    #[error("key '{0}' not found")]
    NotFound(String),
    /// The key is looked up in something that is not a map.
    #[error("cannot lookup key '{0}', context is not a map")]
    NotAMap(String),
}

/// Looks up `keys` in a JSON value, with score-go's error wording.
pub fn lookup<'v>(root: &'v Value, keys: &[String]) -> Result<&'v Value, LookupError> {
    let mut v = root;
    for k in keys {
        let Value::Object(map) = v else {
            return Err(LookupError::NotAMap(k.clone()));
        };
        v = map.get(k).ok_or_else(|| LookupError::NotFound(k.clone()))?;
    }
    Ok(v)
}

/// Renders a resolved value the way Score substitutes it: strings as-is, others as JSON.
pub fn to_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Substitutes every placeholder of `s` with what `resolve` returns; `$$` becomes `$`.
/// All failures are returned, each with the placeholder text.
pub fn substitute(
    s: &str,
    mut resolve: impl FnMut(&Ref) -> Result<String, String>,
) -> Result<String, Vec<(Placeholder, String)>> {
    let mut out = String::with_capacity(s.len());
    let mut errors = Vec::new();
    for seg in parse(s) {
        match seg {
            Segment::Literal(l) => out.push_str(&l),
            Segment::Placeholder(p) => match &p.reference {
                Ok(r) => match resolve(r) {
                    Ok(v) => out.push_str(&v),
                    Err(e) => errors.push((p, e)),
                },
                Err(_) => {
                    let msg = format!("invalid ref '{}'", p.content);
                    errors.push((p, msg));
                }
            },
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(s: &str) -> Vec<Result<Ref, PlaceholderError>> {
        placeholders(s).map(|p| p.reference).collect()
    }

    #[test]
    fn grammar() {
        assert_eq!(
            refs("${metadata.name}"),
            vec![Ok(Ref::Metadata(vec!["name".into()]))]
        );
        assert_eq!(
            refs("x${resources.db.host}:${resources.db.port}"),
            vec![
                Ok(Ref::Resource {
                    name: "db".into(),
                    output: vec!["host".into()]
                }),
                Ok(Ref::Resource {
                    name: "db".into(),
                    output: vec!["port".into()]
                }),
            ]
        );
        assert_eq!(
            refs("${resources.data}"),
            vec![Ok(Ref::Resource {
                name: "data".into(),
                output: vec![]
            })]
        );
        assert_eq!(refs("${resources}"), vec![Err(PlaceholderError::Malformed)]);
        assert_eq!(refs("${a b.c}"), vec![Err(PlaceholderError::Malformed)]);
        assert_eq!(
            refs("${resources..x}"),
            vec![Err(PlaceholderError::Malformed)]
        );
        assert_eq!(
            refs("${env.HOME}"),
            vec![Err(PlaceholderError::UnknownRoot("env".into()))]
        );
        assert_eq!(refs("$${resources.x.y} $$ $5 ${unclosed"), vec![]);
        assert_eq!(
            refs("${metadata.labels.app\\.kubernetes\\.io}"),
            vec![Ok(Ref::Metadata(vec![
                "labels".into(),
                "app.kubernetes.io".into()
            ]))]
        );
    }

    #[test]
    fn substitution_unescapes_and_json_encodes() {
        let meta = serde_json::json!({"name": "web", "n": {"deep": 42}});
        let out = substitute(
            "$${x} $$ ${metadata.name} ${metadata.n} ${metadata.n.deep} $",
            |r| match r {
                Ref::Metadata(keys) => lookup(&meta, keys).map(to_text).map_err(|e| e.to_string()),
                Ref::Resource { .. } => Err("no".into()),
            },
        );
        assert_eq!(out.unwrap(), r#"${x} $ web {"deep":42} 42 $"#);
    }

    #[test]
    fn substitution_reports_every_failure() {
        let meta = serde_json::json!({"name": "web"});
        let err = substitute("${metadata.nope} ${metadata.name.x}", |r| match r {
            Ref::Metadata(keys) => lookup(&meta, keys).map(to_text).map_err(|e| e.to_string()),
            Ref::Resource { .. } => Err("no".into()),
        })
        .unwrap_err();
        assert_eq!(err.len(), 2);
        assert_eq!(err[0].1, "key 'nope' not found");
        assert_eq!(err[1].1, "cannot lookup key 'x', context is not a map");
    }

    #[test]
    fn offsets_cover_the_placeholder() {
        let s = "a-${metadata.name}-b";
        let p = placeholders(s).next().unwrap();
        assert_eq!(&s[p.offset..p.offset + p.len], "${metadata.name}");
    }
}
