//! A small block-style YAML emitter for rendered manifests.
//!
//! Input is a `serde_json::Value`, whose maps are sorted by key, so output is stable by
//! construction (and matches `kubectl get -o yaml`, which sorts keys too). Sequences sit at
//! their parent key's indentation, as kubectl writes them. Multi-line strings become
//! literal blocks, with the indentation indicator and chomping that keep them exact;
//! anything a YAML 1.1 or 1.2 reader could take for another type is double-quoted.
//!
//! Why not `yaml_rust2::YamlEmitter`: its literal blocks lose text that starts with a space
//! or ends with several newlines, which file contents do.

use serde_json::Value as Json;

/// Renders documents as one YAML stream, separated by `---` lines.
pub(crate) fn documents(docs: &[Json]) -> String {
    let mut out = String::new();
    for (i, doc) in docs.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(&document(doc));
    }
    out
}

/// Renders one document (no `---` marker), ending with a newline.
pub(crate) fn document(doc: &Json) -> String {
    let mut out = String::new();
    match doc {
        Json::Object(m) if !m.is_empty() => entries(&mut out, m, 0, false),
        Json::Array(items) if !items.is_empty() => items_at(&mut out, items, 0),
        scalar_or_empty => {
            inline(&mut out, scalar_or_empty, 0);
            out.push('\n');
        }
    }
    out
}

/// Map entries at `indent`; with `first_inline`, the first key continues the current line
/// (after a `- `).
fn entries(out: &mut String, m: &serde_json::Map<String, Json>, indent: usize, first_inline: bool) {
    for (i, (k, v)) in m.iter().enumerate() {
        if i > 0 || !first_inline {
            pad(out, indent);
        }
        out.push_str(&scalar_text(k));
        out.push(':');
        match v {
            Json::Object(child) if !child.is_empty() => {
                out.push('\n');
                entries(out, child, indent + 2, false);
            }
            Json::Array(items) if !items.is_empty() => {
                out.push('\n');
                items_at(out, items, indent);
            }
            _ => {
                out.push(' ');
                inline(out, v, indent);
                out.push('\n');
            }
        }
    }
}

/// Sequence items, each `- ` at `indent`.
fn items_at(out: &mut String, items: &[Json], indent: usize) {
    for item in items {
        pad(out, indent);
        out.push('-');
        match item {
            Json::Object(m) if !m.is_empty() => {
                out.push(' ');
                entries(out, m, indent + 2, true);
            }
            Json::Array(inner) if !inner.is_empty() => {
                // A nested sequence starts on its own line: simple and always valid.
                out.push('\n');
                items_at(out, inner, indent + 2);
            }
            _ => {
                out.push(' ');
                inline(out, item, indent);
                out.push('\n');
            }
        }
    }
}

/// A scalar or an empty collection on the current line; a literal block's lines are
/// indented under `indent`.
fn inline(out: &mut String, v: &Json, indent: usize) {
    match v {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(n) => out.push_str(&n.to_string()),
        Json::String(s) if is_block_candidate(s) => literal_block(out, s, indent + 2),
        Json::String(s) => out.push_str(&scalar_text(s)),
        Json::Array(_) => out.push_str("[]"),
        Json::Object(_) => out.push_str("{}"),
    }
}

/// Writes `s` as a literal block scalar whose lines are indented by `indent`.
fn literal_block(out: &mut String, s: &str, indent: usize) {
    let body = s.trim_end_matches('\n');
    let trailing = s.len() - body.len();
    // Chomping: strip (`-`) no final newline, clip (none) one, keep (`+`) several.
    out.push_str(match trailing {
        0 => "|-",
        1 => "|",
        _ => "|+",
    });
    for line in body.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            pad(out, indent);
            out.push_str(line);
        }
    }
    // Kept newlines beyond the one the caller writes are empty lines.
    for _ in 1..trailing {
        out.push('\n');
    }
}

/// A multi-line string that a literal block represents exactly: printable characters,
/// tabs and newlines only (a literal block cannot escape anything), and a first line that
/// does not start with a space (the reader would take it for indentation).
fn is_block_candidate(s: &str) -> bool {
    let body = s.trim_start_matches('\n');
    s.contains('\n')
        && !body.starts_with(' ')
        && s.trim_end_matches('\n')
            .contains(|c: char| !c.is_whitespace())
        && s.chars().all(|c| {
            c == '\n'
                || c == '\t'
                || !(c.is_control() || matches!(c, '\u{feff}' | '\u{2028}' | '\u{2029}'))
        })
}

/// A plain scalar when that reads back as the same string, else a double-quoted one.
fn scalar_text(s: &str) -> String {
    if is_plain_safe(s) {
        s.to_string()
    } else {
        // A JSON string literal is a valid YAML double-quoted scalar with the same value.
        serde_json::to_string(s).unwrap_or_default()
    }
}

/// True when `s` can be written unquoted and still read back as this string, in YAML 1.1
/// and 1.2 alike. Deliberately conservative.
fn is_plain_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    // `-` and `.` may start a plain scalar (`--port`, `./mounts`), but not `- x`, a `---`
    // document marker, or `.inf`-like specials (rejected below).
    let first_ok = first.is_ascii_alphanumeric()
        || matches!(first, '/' | '_')
        || (first == '-' && s.len() > 1 && !s.starts_with("- ") && !s.starts_with("---"))
        || (first == '.' && !s.starts_with("..."));
    if !first_ok || s.ends_with(' ') {
        return false;
    }
    let chars_ok = s.char_indices().all(|(i, c)| {
        c.is_ascii_alphanumeric()
            || matches!(c, '_' | '-' | '.' | '/' | '+' | '@' | '=' | '(' | ')' | '$' | '%' | '^' | '~' | ';' | ',' | '\'')
            // `: ` starts a value and a trailing `:` reads as a key; `a:b` is fine.
            || (c == ':' && s[i + 1..].starts_with(|n: char| n != ' '))
            || (c == ' ' && !s[i + 1..].starts_with(['#', ' ']))
    });
    if !chars_ok {
        return false;
    }
    let unsigned = s.trim_start_matches(['-', '+']);
    // Numbers, dates, times, YAML 1.1 sexagesimals and `1_000` start with a digit and use
    // only these characters.
    let numberish = unsigned.starts_with(|c: char| c.is_ascii_digit())
        && unsigned
            .chars()
            .all(|c| c.is_ascii_digit() || "-_.:+eE".contains(c));
    // Hexadecimal, octal and binary integers (`0x1F`, `0o17`, `0b101`).
    let radix = ["0x", "0o", "0b", "0X", "0O", "0B"]
        .iter()
        .any(|p| unsigned.starts_with(p));
    let special = matches!(
        unsigned.to_ascii_lowercase().as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "null" | "~" | ".inf" | ".nan"
    );
    !numberish && !radix && !special && s.parse::<f64>().is_err()
}

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}
