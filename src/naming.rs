//! Physical names: the rule by which modules name the objects they make (a database, a
//! role, a vhost, a bucket…), so that two resources never derive one name.
//!
//! A derived name is `<readable part><separator><suffix>`:
//!
//! - the readable part is `shared<sep><id>` for a shared resource (`id:` in Score) and
//!   `<workload><sep><resource>` otherwise, lower-cased, every run of characters other
//!   than `a-z` and `0-9` turned into one separator, cut to fit the system's limit;
//! - the suffix is 8 hex digits of SHA-256 of the state's lineage and the uid
//!   ([`suffix`]): it differs between uids, and between environments and projects
//!   (each has a state of its own, with a lineage of its own), so two states on one
//!   server never derive the same name.
//!
//! A name is decided when its object is made and kept afterwards: the plan keeps the
//! name an object already has (`eval::Context::keep_recorded_names`) rather than rename or
//! replace it when the rule, the module, or the resource's address (a move) changes.

use sha2::{Digest, Sha256};

/// Hex digits in a [`suffix`].
pub const SUFFIX_LEN: usize = 8;

/// The separators a physical name may use.
pub const SEPARATORS: &[&str] = &["-", "_", "."];

/// The suffix that makes the derived names of `uid` unique to the state of `lineage`.
pub fn suffix(lineage: &str, uid: &str) -> String {
    let digest = Sha256::new()
        .chain_update(lineage.as_bytes())
        .chain_update([0u8])
        .chain_update(uid.as_bytes())
        .finalize();
    digest[..SUFFIX_LEN / 2]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Why a name cannot be derived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameError {
    /// The separator is not one of [`SEPARATORS`].
    Separator(String),
    /// The limit leaves no room for a readable part before the suffix.
    TooShort(usize),
}

impl std::fmt::Display for NameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NameError::Separator(s) => write!(
                f,
                "the separator must be one of \"-\", \"_\" or \".\", found {s:?}"
            ),
            NameError::TooShort(n) => write!(
                f,
                "a length of {n} leaves no room for a name before its {SUFFIX_LEN}-digit suffix (at least {} is needed)",
                SUFFIX_LEN + 2
            ),
        }
    }
}

/// The readable part of a name: lower case, runs of other characters than `a-z0-9` as
/// one `sep`, no `sep` at either end, at most `max` bytes.
pub fn readable(parts: &[&str], sep: &str, max: usize) -> String {
    let mut out = String::new();
    let mut pending = false;
    for c in parts.join(" ").chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            if pending && !out.is_empty() {
                out.push_str(sep);
            }
            pending = false;
            out.push(c);
        } else {
            pending = true;
        }
    }
    // ASCII only: any byte is a character boundary.
    out.truncate(max);
    out.trim_end_matches(sep).to_string()
}

/// The derived name of a resource: its readable parts and `suffix`, joined by `sep`, at
/// most `max` bytes.
pub fn derive(parts: &[&str], suffix: &str, sep: &str, max: usize) -> Result<String, NameError> {
    if !SEPARATORS.contains(&sep) {
        return Err(NameError::Separator(sep.to_string()));
    }
    let room = max.saturating_sub(suffix.len() + sep.len());
    if room == 0 {
        return Err(NameError::TooShort(max));
    }
    let head = readable(parts, sep, room);
    Ok(if head.is_empty() {
        suffix.to_string()
    } else {
        format!("{head}{sep}{suffix}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readable_part_keeps_letters_and_digits_and_one_separator_per_run() {
        assert_eq!(readable(&["Web", "ab--cd"], "_", 63), "web_ab_cd");
        assert_eq!(readable(&["shared", "u.data"], "-", 63), "shared-u-data");
        assert_eq!(readable(&["-a-", "-b-"], "-", 63), "a-b");
        assert_eq!(readable(&["abcdef", "gh"], "_", 7), "abcdef");
        assert_eq!(readable(&["ünï", "x"], "_", 63), "n_x");
    }

    #[test]
    fn names_fit_the_limit_and_end_in_the_suffix() {
        let s = suffix("lineage", "postgres.default#web.db");
        assert_eq!(s.len(), SUFFIX_LEN);
        let n = derive(&["a-very-long-workload-name", "database"], &s, "_", 20).unwrap();
        assert_eq!(n.len(), 20);
        assert_eq!(n, format!("a_very_long{}{s}", "_"));
        assert_eq!(
            derive(&["web", "db"], &s, "-", 63).unwrap(),
            format!("web-db-{s}")
        );
        assert_eq!(
            derive(&["web", "db"], &s, "+", 63),
            Err(NameError::Separator("+".into()))
        );
        assert_eq!(
            derive(&["web", "db"], &s, "-", 9),
            Err(NameError::TooShort(9))
        );
        assert_eq!(
            derive(&["web", "db"], &s, "-", 10).unwrap(),
            format!("w-{s}")
        );
    }

    #[test]
    fn the_suffix_differs_by_lineage_and_by_uid() {
        let a = suffix("l1", "postgres.default#web.db");
        assert_ne!(a, suffix("l2", "postgres.default#web.db"));
        assert_ne!(a, suffix("l1", "postgres.default#web.cache"));
        // The two parts cannot run into each other.
        assert_ne!(suffix("ab", "c"), suffix("a", "bc"));
        assert_eq!(a, suffix("l1", "postgres.default#web.db"));
    }

    #[test]
    fn uids_whose_readable_parts_collide_still_get_two_names() {
        // `web`/`ab-cd` and `web-ab`/`cd` read the same; the suffix tells them apart.
        let x = derive(
            &["web", "ab-cd"],
            &suffix("l", "volume.default#web.ab-cd"),
            "_",
            63,
        );
        let y = derive(
            &["web-ab", "cd"],
            &suffix("l", "volume.default#web-ab.cd"),
            "_",
            63,
        );
        assert_ne!(x.unwrap(), y.unwrap());
    }
}
