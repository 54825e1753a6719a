//! Helpers shared by the SQL providers (`postgres`, `mysql`): privilege lists checked
//! against an allow-list (a privilege is never interpolated as the module wrote it),
//! secrets kept out of messages, defaults filled in, and prior values kept when the
//! server's spelling of the same value differs (so that a refresh shows no false drift).

use std::collections::BTreeSet;

use super::{Attrs, KindSchema, ProviderError};
use crate::value::{SENSITIVE_TEXT, Value};

/// `s` with every secret replaced by `(sensitive)`, and any password inside a URL too.
/// Servers may quote a statement back in an error; this is the last line of defence.
pub(crate) fn redact(msg: &str, secrets: &[&str]) -> String {
    let mut out = redact_urls(msg);
    for s in secrets.iter().filter(|s| !s.is_empty()) {
        out = out.replace(s, SENSITIVE_TEXT);
    }
    out
}

/// A connection URL without its password (`scheme://user:***@host/…`).
pub(crate) fn redact_url(url: &str) -> String {
    let Some(start) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let authority_end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| start + i);
    let authority = &url[start..authority_end];
    match (authority.rfind('@'), authority.find(':')) {
        (Some(at), Some(colon)) if colon < at => format!(
            "{}{}:***{}",
            &url[..start],
            &authority[..colon],
            &url[start + at..]
        ),
        _ => url.to_string(),
    }
}

/// Applies [`redact_url`] to every URL-looking word of a message.
fn redact_urls(msg: &str) -> String {
    if !msg.contains("://") {
        return msg.to_string();
    }
    msg.split(' ')
        .map(|w| {
            if w.contains("://") {
                redact_url(w)
            } else {
                w.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The attributes with the schema's defaults filled in where they are absent or null
/// (the engine does this too; providers do it again so direct callers get the same).
pub(crate) fn with_defaults(schema: &KindSchema, attrs: &Attrs) -> Attrs {
    let mut out = attrs.clone();
    for a in &schema.attributes {
        if let Some(d) = a.default
            && out.get(a.name).is_none_or(Value::is_null)
        {
            out.insert(a.name.to_string(), d());
        }
    }
    out
}

/// A required, non-empty string attribute.
pub(crate) fn required_str(attrs: &Attrs, name: &str, kind: &str) -> Result<String, ProviderError> {
    match attrs.get(name).and_then(Value::as_str) {
        Some(s) if !s.is_empty() => Ok(s.to_string()),
        Some(_) => Err(ProviderError::Invalid(format!(
            "`{name}` of {kind} is empty"
        ))),
        None => Err(ProviderError::Invalid(format!(
            "`{name}` of {kind} is required"
        ))),
    }
}

/// An optional string attribute (null counts as absent).
pub(crate) fn optional_str(attrs: &Attrs, name: &str) -> Option<String> {
    attrs.get(name).and_then(Value::as_str).map(str::to_string)
}

/// A privilege keyword that may appear in a statement, with the spellings that mean it.
pub(crate) struct Privilege {
    /// The keyword as written in GRANT/REVOKE (and reported by read).
    pub keyword: &'static str,
    /// Other accepted spellings (upper case).
    pub aliases: &'static [&'static str],
}

/// What a module asked for: specific privileges, or all that apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Wanted {
    /// `ALL` / `ALL PRIVILEGES` was listed.
    pub all: bool,
    /// The specific privileges listed (keywords from the allow-list).
    pub specific: BTreeSet<&'static str>,
}

impl Wanted {
    /// The privileges meant, given every privilege that applies.
    pub fn expand(&self, all: &[&'static str]) -> BTreeSet<&'static str> {
        if self.all {
            all.iter().copied().collect()
        } else {
            self.specific.clone()
        }
    }
}

/// Parses the `privileges` list against the allow-list `allowed`. Anything else is refused
/// with the list of accepted keywords, so a privilege is never interpolated raw.
pub(crate) fn parse_privileges(
    attrs: &Attrs,
    allowed: &[Privilege],
    what: &str,
) -> Result<Wanted, ProviderError> {
    let list = attrs
        .get("privileges")
        .and_then(Value::as_list)
        .ok_or_else(|| {
            ProviderError::Invalid(format!("`privileges` of {what} must be a list of strings"))
        })?;
    if list.is_empty() {
        return Err(ProviderError::Invalid(format!(
            "`privileges` of {what} is empty; delete the grant to revoke everything"
        )));
    }
    let mut wanted = Wanted {
        all: false,
        specific: BTreeSet::new(),
    };
    for item in list {
        let raw = item.as_str().ok_or_else(|| {
            ProviderError::Invalid(format!("`privileges` of {what} must be strings"))
        })?;
        // Collapse runs of whitespace so that "ALL  PRIVILEGES" is understood too.
        let norm = raw
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_ascii_uppercase();
        if norm == "ALL" || norm == "ALL PRIVILEGES" {
            wanted.all = true;
            continue;
        }
        let p = allowed
            .iter()
            .find(|p| p.keyword == norm || p.aliases.contains(&norm.as_str()))
            .ok_or_else(|| {
                let names: Vec<&str> = allowed.iter().map(|p| p.keyword).collect();
                ProviderError::Invalid(format!(
                    "{what}: unknown privilege {raw:?}; use ALL or some of {}",
                    names.join(", ")
                ))
            })?;
        wanted.specific.insert(p.keyword);
    }
    Ok(wanted)
}

/// `held` as a list in the allow-list's order.
pub(crate) fn privilege_list(held: &BTreeSet<&'static str>, order: &[&'static str]) -> Value {
    Value::List(
        order
            .iter()
            .filter(|k| held.contains(*k))
            .map(|k| Value::string(*k))
            .collect(),
    )
}

/// The prior value of `key` when it means the same as the server's `now` (`same`),
/// else `now`: keeps the module's spelling (e.g. `utf8` for `UTF8`) out of the drift.
pub(crate) fn keep_if_same(prior: &Attrs, key: &str, now: Value, same: bool) -> Value {
    match prior.get(key) {
        Some(v) if same && !v.is_null() => v.clone(),
        _ => now,
    }
}

/// The prior integer value when equal (keeps the number's representation), else `now`.
pub(crate) fn keep_int(prior: &Attrs, key: &str, now: i64) -> Value {
    let same = prior.get(key).and_then(Value::as_i64) == Some(now);
    keep_if_same(prior, key, Value::int(now), same)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRIVS: &[Privilege] = &[
        Privilege {
            keyword: "CONNECT",
            aliases: &[],
        },
        Privilege {
            keyword: "TEMPORARY",
            aliases: &["TEMP"],
        },
    ];

    fn privs(list: &[&str]) -> Attrs {
        Attrs::from([(
            "privileges".to_string(),
            Value::List(list.iter().map(|s| Value::string(*s)).collect()),
        )])
    }

    #[test]
    fn urls_and_secrets_are_redacted() {
        assert_eq!(
            redact_url("postgres://u:pw@h:5/db"),
            "postgres://u:***@h:5/db"
        );
        assert_eq!(redact_url("mysql://root@h"), "mysql://root@h");
        assert_eq!(redact_url("mysql://a:b:c@h/x@y"), "mysql://a:***@h/x@y");
        let m = redact(
            "failed at postgres://u:pw@h/db with 'hunter2'",
            &["hunter2", ""],
        );
        assert_eq!(m, "failed at postgres://u:***@h/db with '(sensitive)'");
    }

    #[test]
    fn privileges_come_from_the_allow_list_only() {
        let w = parse_privileges(&privs(&["connect", "temp"]), PRIVS, "grant").unwrap();
        assert_eq!(w.specific, BTreeSet::from(["CONNECT", "TEMPORARY"]));
        let w = parse_privileges(&privs(&["all  privileges"]), PRIVS, "grant").unwrap();
        assert!(w.all);
        let e = parse_privileges(&privs(&["CONNECT; DROP TABLE x"]), PRIVS, "grant").unwrap_err();
        assert!(matches!(e, ProviderError::Invalid(_)), "{e}");
        assert!(parse_privileges(&privs(&[]), PRIVS, "grant").is_err());
        assert_eq!(
            privilege_list(
                &BTreeSet::from(["TEMPORARY", "CONNECT"]),
                &["CONNECT", "TEMPORARY"]
            ),
            Value::List(vec![Value::string("CONNECT"), Value::string("TEMPORARY")])
        );
    }
}
