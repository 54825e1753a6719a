//! Typed identities: the Score resource uid. Sole owner of their textual syntax.
//!
//! A uid is `type.class#workload.name` for a private resource request and
//! `type.class#id` when the request sets `id` (a resource shared by every workload that
//! names the same type, class and id). The class is `default` when absent.

use std::fmt;

/// The identity of a resource across a project. Its parts are shared, not copied: a
/// uid keys many maps and names every node of its resource, and a copy is a reference
/// count. It reads as its [`UidParts`] (`uid.kind`, `uid.scope`); it compares, orders and
/// hashes by them.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Uid(std::sync::Arc<UidParts>);

/// A uid hashes as the hash of its parts, computed once when it is made: uids key the
/// hash maps every node of a plan is looked up in.
impl std::hash::Hash for Uid {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.0.hash);
    }
}

impl std::ops::Deref for Uid {
    type Target = UidParts;
    fn deref(&self) -> &UidParts {
        &self.0
    }
}

impl fmt::Debug for Uid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Uid")
            .field("kind", &self.kind)
            .field("class", &self.class)
            .field("scope", &self.scope)
            .finish()
    }
}

/// What a uid is made of. It compares and orders by kind, class and scope; `hash`
/// comes last and is a function of them, so it never decides an order.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct UidParts {
    /// The Score resource type, e.g. `postgres`.
    pub kind: String,
    /// The class, `default` when absent.
    pub class: String,
    /// Who owns it.
    pub scope: UidScope,
    /// The hash of the three above (FxHash).
    hash: u64,
}

impl UidParts {
    fn new(kind: String, class: String, scope: UidScope) -> UidParts {
        use std::hash::{Hash, Hasher};
        let mut h = rustc_hash::FxHasher::default();
        (&kind, &class, &scope).hash(&mut h);
        UidParts {
            kind,
            class,
            scope,
            hash: h.finish(),
        }
    }
}

/// Whether a resource belongs to one workload or is shared by id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum UidScope {
    /// `workload.resource`: private to one workload.
    Workload {
        /// The workload's `metadata.name`.
        workload: String,
        /// The resource's name in that workload.
        resource: String,
    },
    /// `id`: shared.
    Shared(String),
}

impl Uid {
    /// The uid of resource `resource` of workload `workload`.
    pub fn new(
        kind: &str,
        class: Option<&str>,
        id: Option<&str>,
        workload: &str,
        resource: &str,
    ) -> Uid {
        let scope = match id {
            Some(id) => UidScope::Shared(id.to_string()),
            None => UidScope::Workload {
                workload: workload.to_string(),
                resource: resource.to_string(),
            },
        };
        Uid(std::sync::Arc::new(UidParts::new(
            kind.to_string(),
            class.unwrap_or("default").to_string(),
            scope,
        )))
    }

    /// Appends the uid's text (as `Display` writes it) to `out`: addresses are built for
    /// every node of a large graph, and this is several times cheaper than `format!`.
    pub fn push_to(&self, out: &mut String) {
        out.push_str(&self.kind);
        out.push('.');
        out.push_str(&self.class);
        out.push('#');
        match &self.scope {
            UidScope::Workload { workload, resource } => {
                out.push_str(workload);
                out.push('.');
                out.push_str(resource);
            }
            UidScope::Shared(id) => out.push_str(id),
        }
    }

    /// The uid's text (as `Display` writes it, without the formatting machinery).
    pub fn text(&self) -> String {
        let mut out = String::with_capacity(self.text_len());
        self.push_to(&mut out);
        out
    }

    /// The length of the uid's text.
    pub fn text_len(&self) -> usize {
        self.kind.len()
            + self.class.len()
            + 2
            + match &self.scope {
                UidScope::Workload { workload, resource } => workload.len() + 1 + resource.len(),
                UidScope::Shared(id) => id.len(),
            }
    }

    /// True for a resource shared by id.
    pub fn is_shared(&self) -> bool {
        matches!(self.scope, UidScope::Shared(_))
    }

    /// Parses `type.class#workload.name` or `type.class#id`.
    ///
    /// An id may contain dots, so `type.class#a.b` is ambiguous on its own; this parser
    /// reads it as workload `a`, resource `b`. Callers that know the project resolve the
    /// ambiguity with [`Uid::parse_with`].
    pub fn parse(s: &str) -> Option<Uid> {
        Uid::parse_with(s, |_| false)
    }

    /// Parses a uid, asking `is_id` whether a right-hand side with dots is a shared id.
    pub fn parse_with(s: &str, is_id: impl Fn(&str) -> bool) -> Option<Uid> {
        let (left, right) = s.split_once('#')?;
        let (kind, class) = left.split_once('.')?;
        if kind.is_empty() || class.is_empty() || right.is_empty() {
            return None;
        }
        let scope = match right.split_once('.') {
            Some((w, r)) if !is_id(right) && !w.is_empty() && !r.is_empty() && !r.contains('.') => {
                UidScope::Workload {
                    workload: w.to_string(),
                    resource: r.to_string(),
                }
            }
            _ => UidScope::Shared(right.to_string()),
        };
        Some(Uid(std::sync::Arc::new(UidParts::new(
            kind.to_string(),
            class.to_string(),
            scope,
        ))))
    }
}

impl fmt::Display for Uid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}#", self.kind, self.class)?;
        match &self.scope {
            UidScope::Workload { workload, resource } => write!(f, "{workload}.{resource}"),
            UidScope::Shared(id) => f.write_str(id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_syntax() {
        for uid in [
            Uid::new("postgres", None, None, "web", "db"),
            Uid::new("dns", Some("external"), Some("main.zone"), "web", "d"),
        ] {
            let mut text = String::new();
            uid.push_to(&mut text);
            assert_eq!(text, uid.to_string());
            assert_eq!(uid.text_len(), text.len());
        }
        let cases = [
            (
                Uid::new("postgres", None, None, "web", "db"),
                "postgres.default#web.db",
            ),
            (
                Uid::new("redis", Some("large"), Some("main-cache"), "web", "cache"),
                "redis.large#main-cache",
            ),
            (
                Uid::new("s3", None, Some("shared.bucket"), "w", "b"),
                "s3.default#shared.bucket",
            ),
        ];
        for (uid, text) in cases {
            assert_eq!(uid.to_string(), text);
        }
        assert_eq!(Uid::parse("postgres.default#web.db"), Some(cases_first()));
        assert!(Uid::parse("redis.default#main-cache").unwrap().is_shared());
        assert!(
            Uid::parse_with("s3.default#shared.bucket", |r| r == "shared.bucket")
                .unwrap()
                .is_shared()
        );
        assert_eq!(Uid::parse("nohash"), None);
        assert_eq!(Uid::parse("x#y"), None);
    }

    fn cases_first() -> Uid {
        Uid::new("postgres", None, None, "web", "db")
    }
}
