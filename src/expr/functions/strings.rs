//! String functions: case, trimming, splitting and joining, substrings, replacement and
//! regular expressions.

use regex::Regex;

use super::{Args, FnError, FnResult};
use crate::expr::budget::ELEMENT;
use crate::value::Value;

fn string(s: impl Into<String>) -> FnResult {
    Ok(Value::String(s.into()))
}

pub(super) fn lower(a: &Args) -> FnResult {
    string(a.str(0)?.to_lowercase())
}

pub(super) fn upper(a: &Args) -> FnResult {
    string(a.str(0)?.to_uppercase())
}

/// Upper-cases the first letter of each word (as Go's `strings.Title`).
pub(super) fn title(a: &Args) -> FnResult {
    let mut out = String::new();
    let mut prev_sep = true;
    for c in a.str(0)?.chars() {
        if prev_sep {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev_sep = !(c.is_alphanumeric() || c == '_' || c == '\'');
    }
    string(out)
}

pub(super) fn trimspace(a: &Args) -> FnResult {
    string(a.str(0)?.trim())
}

/// Removes the characters of the cut set from both ends.
pub(super) fn trim(a: &Args) -> FnResult {
    let cut: Vec<char> = a.str(1)?.chars().collect();
    string(a.str(0)?.trim_matches(|c| cut.contains(&c)))
}

pub(super) fn trimprefix(a: &Args) -> FnResult {
    let s = a.str(0)?;
    let p = a.str(1)?;
    string(s.strip_prefix(p.as_str()).unwrap_or(&s))
}

pub(super) fn trimsuffix(a: &Args) -> FnResult {
    let s = a.str(0)?;
    let p = a.str(1)?;
    string(s.strip_suffix(p.as_str()).unwrap_or(&s))
}

/// Removes newline characters at the end.
pub(super) fn chomp(a: &Args) -> FnResult {
    string(a.str(0)?.trim_end_matches(['\n', '\r']))
}

pub(super) fn startswith(a: &Args) -> FnResult {
    Ok(Value::Bool(a.str(0)?.starts_with(&a.str(1)?)))
}

pub(super) fn endswith(a: &Args) -> FnResult {
    Ok(Value::Bool(a.str(0)?.ends_with(&a.str(1)?)))
}

pub(super) fn strrev(a: &Args) -> FnResult {
    string(a.str(0)?.chars().rev().collect::<String>())
}

/// The most spaces `indent` adds per line, to keep evaluation bounded.
const MAX_PAD: usize = 1024;

/// `indent(n, s)`: indents every line but the first by `n` spaces.
pub(super) fn indent(a: &Args) -> FnResult {
    let n = usize::try_from(a.int(0)?)
        .ok()
        .filter(|n| *n <= MAX_PAD)
        .ok_or_else(|| FnError::arg(0, format!("must be between 0 and {MAX_PAD}")))?;
    let s = a.str(1)?;
    a.fits(
        s.len()
            .saturating_add(s.matches('\n').count().saturating_mul(n)),
    )?;
    let pad = " ".repeat(n);
    string(s.replace('\n', &format!("\n{pad}")))
}

/// `split(separator, string)`.
pub(super) fn split(a: &Args) -> FnResult {
    let sep = a.str(0)?;
    let s = a.str(1)?;
    let parts = if sep.is_empty() {
        s.chars().count()
    } else {
        s.matches(sep.as_str()).count() + 1
    };
    a.fits(parts.saturating_mul(ELEMENT).saturating_add(s.len()))?;
    let parts: Vec<Value> = if sep.is_empty() {
        s.chars().map(|c| Value::String(c.to_string())).collect()
    } else {
        s.split(sep.as_str()).map(Value::string).collect()
    };
    Ok(Value::List(parts))
}

/// `join(separator, list, ...)`.
pub(super) fn join(a: &Args) -> FnResult {
    let sep = a.str(0)?;
    let mut parts = Vec::new();
    for i in 1..a.len() {
        parts.extend(a.strings(i)?);
    }
    // The separator is repeated once per part: a long one over a long list multiplies.
    let len = parts.iter().map(String::len).sum::<usize>();
    a.fits(len.saturating_add(parts.len().saturating_mul(sep.len())))?;
    string(parts.join(&sep))
}

/// `substr(string, offset, length)`: by characters; a negative offset counts from the
/// end; length -1 takes the rest.
pub(super) fn substr(a: &Args) -> FnResult {
    let chars: Vec<char> = a.str(0)?.chars().collect();
    let len = chars.len() as i64;
    let mut offset = a.int(1)?;
    let length = a.int(2)?;
    if offset < 0 {
        offset += len;
    }
    if offset < 0 || offset > len {
        return Err(FnError::arg(1, "offset is outside the string"));
    }
    let end = match length {
        -1 => len,
        l if l < 0 => return Err(FnError::arg(2, "length must be -1 or at least 0")),
        l => offset.saturating_add(l).min(len),
    };
    string(
        chars[offset as usize..end as usize]
            .iter()
            .collect::<String>(),
    )
}

/// A regular expression, or an error that names the argument (and not the pattern when
/// it is secret).
fn compile(a: &Args, i: usize, pattern: &str) -> Result<Regex, FnError> {
    Regex::new(pattern).map_err(|e| {
        if a.secret() {
            FnError::arg(i, "invalid regular expression")
        } else {
            FnError::arg(i, format!("invalid regular expression: {e}"))
        }
    })
}

/// `replace(string, search, replacement)`: plain substrings, or a regular expression
/// when `search` is written `/re/` (`$1` in the replacement refers to a group).
pub(super) fn replace(a: &Args) -> FnResult {
    let s = a.str(0)?;
    let search = a.str(1)?;
    let with = a.str(2)?;
    if search.len() >= 2 && search.starts_with('/') && search.ends_with('/') {
        let re = compile(a, 1, &search[1..search.len() - 1])?;
        // A `$` group in the replacement can repeat what it matched: bounded by every
        // byte of the string expanding to the whole replacement.
        let matches = re.find_iter(&s).count();
        let each = if with.contains('$') {
            with.len().saturating_mul(s.len().max(1))
        } else {
            with.len()
        };
        a.fits(s.len().saturating_add(matches.saturating_mul(each)))?;
        return string(re.replace_all(&s, with.as_str()));
    }
    if search.is_empty() {
        return string(s);
    }
    a.fits(
        s.len()
            .saturating_add(s.matches(&search).count().saturating_mul(with.len())),
    )?;
    string(s.replace(&search, &with))
}

/// The value of one match: the whole match without groups, a map with named groups, a
/// list with unnamed groups.
fn captures(re: &Regex, caps: &regex::Captures<'_>) -> Value {
    let text = |m: Option<regex::Match<'_>>| m.map_or(Value::Null, |m| Value::string(m.as_str()));
    if re.captures_len() == 1 {
        return text(caps.get(0));
    }
    let names: Vec<Option<&str>> = re.capture_names().skip(1).collect();
    if names.iter().any(Option::is_some) {
        let map: crate::value::Map = names
            .iter()
            .filter_map(|n| *n)
            .map(|n| (n.to_string(), text(caps.name(n))))
            .collect();
        return Value::Map(map);
    }
    Value::List((1..re.captures_len()).map(|i| text(caps.get(i))).collect())
}

/// `regex(pattern, string)`: the first match.
pub(super) fn regex(a: &Args) -> FnResult {
    let re = compile(a, 0, &a.str(0)?)?;
    let s = a.str(1)?;
    match re.captures(&s) {
        Some(caps) => Ok(captures(&re, &caps)),
        None => Err(FnError::call("the pattern did not match the string")),
    }
}

/// `regexall(pattern, string)`: every match.
pub(super) fn regexall(a: &Args) -> FnResult {
    let re = compile(a, 0, &a.str(0)?)?;
    let s = a.str(1)?;
    let matches = re.find_iter(&s).count();
    a.fits(
        matches
            .saturating_mul(ELEMENT * re.captures_len())
            .saturating_add(s.len()),
    )?;
    Ok(Value::List(
        re.captures_iter(&s).map(|c| captures(&re, &c)).collect(),
    ))
}

/// `physical_name(score, separator, max_length[, prefix])`: the name the objects of a
/// module's resource get (see `crate::naming`): the prefix (e.g. the environment's
/// `name_prefix` setting), `score.id` or `score.workload` and `score.resource`,
/// readable, then `score.suffix`, at most `max_length` bytes.
pub(super) fn physical_name(a: &Args) -> FnResult {
    let score = a.map(0)?;
    let text = |k: &str| -> Result<Option<String>, FnError> {
        match score.get(k) {
            None => Err(FnError::arg(
                0,
                format!("expected `score` (the module's `score` object), which has `{k}`"),
            )),
            Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(FnError::arg(
                0,
                format!("`score.{k}` must be a string, found {}", other.type_name()),
            )),
        }
    };
    let suffix = text("suffix")?.ok_or_else(|| FnError::arg(0, "`score.suffix` is null"))?;
    let (first, second) = match text("id")? {
        Some(id) => ("shared".to_string(), id),
        None => (
            text("workload")?.unwrap_or_default(),
            text("resource")?.unwrap_or_default(),
        ),
    };
    let sep = a.str(1)?;
    let max = a.int(2)?;
    let max = usize::try_from(max)
        .map_err(|_| FnError::arg(2, format!("a length must be positive, found {max}")))?;
    let prefix = if a.len() > 3 {
        a.str(3)?
    } else {
        String::new()
    };
    crate::naming::derive(&[&prefix, &first, &second], &suffix, &sep, max)
        .map(Value::String)
        .map_err(|e| match e {
            crate::naming::NameError::Separator(_) => FnError::arg(1, e.to_string()),
            crate::naming::NameError::TooShort(_) => FnError::arg(2, e.to_string()),
        })
}
