//! Typed identities and addresses: the Score resource uid, the address of every node of
//! the graph, the addresses `state mv` and `moved` blocks name ([`MoveAddr`]), and the
//! scopes of state locks. Sole owner of their textual syntax: no other
//! file builds or matches it (the tidy test checks).
//!
//! A uid is `type.class#workload.name` for a private resource request and
//! `type.class#id` when the request sets `id` (a resource shared by every workload that
//! names the same type, class and id). The class is `default` when absent.
//!
//! A node's address ([`Address`]) is `workload.NAME` for a workload's manifests,
//! `UID/params` and `UID/outputs` for a resource request's inputs and outputs, and
//! `UID/KIND.NAME` for a primitive resource of its module. A lock scope ([`LockScope`])
//! is `env`, `workload:NAME` or `resource:UID`.

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

/// The address of a node of the graph (and of the object recorded for it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    /// `workload.NAME`: a workload's manifests.
    Workload(String),
    /// `UID/params`: the params of a resource request.
    Params(Uid),
    /// `UID/outputs`: the outputs of a resource request.
    Outputs(Uid),
    /// `UID/KIND.NAME`: a primitive resource of the module serving the request.
    Resource {
        /// The request it serves.
        uid: Uid,
        /// The primitive kind, e.g. `postgres_database`.
        kind: String,
        /// The resource's name in its module.
        name: String,
    },
}

const WORKLOAD_PREFIX: &str = "workload.";

impl Address {
    /// Parses an address, reading a uid's right-hand side as [`Uid::parse`] does.
    pub fn parse(s: &str) -> Option<Address> {
        Address::parse_with(s, |_| false)
    }

    /// Parses an address, asking `is_id` whether a uid's right-hand side with dots is a
    /// shared id (see [`Uid::parse_with`]).
    pub fn parse_with(s: &str, is_id: impl Fn(&str) -> bool) -> Option<Address> {
        if let Some(name) = s.strip_prefix(WORKLOAD_PREFIX) {
            return (!name.is_empty() && !name.contains(['/', '#']))
                .then(|| Address::Workload(name.to_string()));
        }
        // A uid holds no `/`; what follows the first one is the node within it.
        let (uid, rest) = s.split_once('/')?;
        let uid = Uid::parse_with(uid, is_id)?;
        match rest {
            "params" => Some(Address::Params(uid)),
            "outputs" => Some(Address::Outputs(uid)),
            _ => {
                let (kind, name) = rest.split_once('.')?;
                let ok = |p: &str| !p.is_empty() && !p.contains(['/', '.', '#']);
                (ok(kind) && ok(name)).then(|| Address::Resource {
                    uid,
                    kind: kind.to_string(),
                    name: name.to_string(),
                })
            }
        }
    }

    /// The request a node belongs to; none for a workload's manifests.
    pub fn uid(&self) -> Option<&Uid> {
        match self {
            Address::Workload(_) => None,
            Address::Params(u) | Address::Outputs(u) | Address::Resource { uid: u, .. } => Some(u),
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Workload(name) => write!(f, "{WORKLOAD_PREFIX}{name}"),
            Address::Params(uid) => write!(f, "{uid}/params"),
            Address::Outputs(uid) => write!(f, "{uid}/outputs"),
            Address::Resource { uid, kind, name } => write!(f, "{uid}/{kind}.{name}"),
        }
    }
}

/// What `state mv` and a `moved` block move: a whole workload, every object of a uid,
/// or one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoveAddr {
    /// `workload.NAME`: the workload's node and every object of its private resources.
    Workload(String),
    /// `type.class#workload.name` (or `type.class#id`): every object of the uid.
    Uid(Uid),
    /// `UID/KIND.NAME`: one object of a uid.
    Object {
        /// Its uid.
        uid: Uid,
        /// The module's resource kind, e.g. `postgres_database`.
        kind: String,
        /// The resource's name in the module.
        name: String,
    },
}

impl MoveAddr {
    /// Parses an address as `state mv` and `moved` take it; the error says what was
    /// expected.
    pub fn parse(s: &str) -> Result<MoveAddr, String> {
        const EXPECTED: &str = "expected `workload.NAME`, a uid (`type.class#workload.resource`) or an object address (`UID/KIND.NAME`)";
        if let Some(name) = s.strip_prefix(WORKLOAD_PREFIX) {
            if !name.is_empty() && !name.contains(['.', '/', '#']) {
                return Ok(MoveAddr::Workload(name.to_string()));
            }
            return Err(format!("`{s}` is not a workload address; {EXPECTED}"));
        }
        let (uid_text, rest) = match s.split_once('/') {
            Some((u, r)) => (u, Some(r)),
            None => (s, None),
        };
        let uid =
            Uid::parse(uid_text).ok_or_else(|| format!("`{s}` is not an address; {EXPECTED}"))?;
        match rest {
            None => Ok(MoveAddr::Uid(uid)),
            Some(r) => match r.split_once('.') {
                Some((kind, name))
                    if !kind.is_empty() && !name.is_empty() && !name.contains(['.', '/']) =>
                {
                    Ok(MoveAddr::Object {
                        uid,
                        kind: kind.to_string(),
                        name: name.to_string(),
                    })
                }
                _ => Err(format!("`{s}` is not an object address; {EXPECTED}")),
            },
        }
    }

    /// The workload whose objects it names (`None` for a shared resource's).
    pub fn workload(&self) -> Option<&str> {
        match self {
            MoveAddr::Workload(w) => Some(w),
            MoveAddr::Uid(uid) | MoveAddr::Object { uid, .. } => match &uid.scope {
                UidScope::Workload { workload, .. } => Some(workload),
                UidScope::Shared(_) => None,
            },
        }
    }

    /// What kind of address it is, for messages.
    pub fn what(&self) -> &'static str {
        match self {
            MoveAddr::Workload(_) => "a workload",
            MoveAddr::Uid(_) => "a uid",
            MoveAddr::Object { .. } => "an object address",
        }
    }

    /// Why `self` cannot move to `to`, if it cannot: both must be the same kind of
    /// address, of the same Score type, and of the same resource kind.
    pub fn mismatch(&self, to: &MoveAddr) -> Option<String> {
        match (self, to) {
            (MoveAddr::Workload(_), MoveAddr::Workload(_)) => None,
            (MoveAddr::Uid(a), MoveAddr::Uid(b)) if a.kind != b.kind => Some(format!(
                "a `{}` resource cannot become a `{}` one",
                a.kind, b.kind
            )),
            (MoveAddr::Uid(_), MoveAddr::Uid(_)) => None,
            (MoveAddr::Object { kind: a, .. }, MoveAddr::Object { kind: b, .. }) if a != b => {
                Some(format!("a `{a}` object cannot become a `{b}` one"))
            }
            (MoveAddr::Object { .. }, MoveAddr::Object { .. }) => None,
            (a, b) => Some(format!("{} cannot move to {}", a.what(), b.what())),
        }
    }

    /// Where the object recorded at `address` (of uid `uid`, empty for a workload's
    /// node) goes when `self` moves to `to`: its new address and uid, or `None` when the
    /// move does not concern it.
    pub fn relocate(&self, to: &MoveAddr, address: &str, uid: &str) -> Option<(String, String)> {
        match (self, to) {
            (MoveAddr::Workload(a), MoveAddr::Workload(b)) => {
                if address == workload_address(a) {
                    return Some((workload_address(b), String::new()));
                }
                let old = Uid::parse(uid)?;
                match &old.scope {
                    UidScope::Workload { workload, resource } if workload == a => {
                        let new = Uid::new(&old.kind, Some(&old.class), None, b, resource);
                        let rest = address.strip_prefix(uid)?;
                        Some((format!("{new}{rest}"), new.text()))
                    }
                    _ => None,
                }
            }
            (MoveAddr::Uid(a), MoveAddr::Uid(b)) => {
                let rest = address.strip_prefix(uid)?;
                (uid == a.text()).then(|| (format!("{b}{rest}"), b.text()))
            }
            (MoveAddr::Object { .. }, MoveAddr::Object { uid: b, .. }) => {
                (address == self.to_string()).then(|| (to.to_string(), b.text()))
            }
            _ => None,
        }
    }
}

impl fmt::Display for MoveAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MoveAddr::Workload(w) => write!(f, "{WORKLOAD_PREFIX}{w}"),
            MoveAddr::Uid(u) => write!(f, "{u}"),
            MoveAddr::Object { uid, kind, name } => write!(f, "{uid}/{kind}.{name}"),
        }
    }
}

/// The address of a primitive resource: `UID/KIND.NAME`.
pub fn resource_address(uid: &Uid, kind: &str, name: &str) -> String {
    uid_address(uid, &[kind, ".", name])
}

/// [`resource_address`] written into `out` (cleared first), for loops that look many up.
pub fn write_resource_address(out: &mut String, uid: &Uid, kind: &str, name: &str) {
    out.clear();
    uid.push_to(out);
    for p in ["/", kind, ".", name] {
        out.push_str(p);
    }
}

/// The address of a uid's params node: `UID/params`.
pub fn params_address(uid: &Uid) -> String {
    uid_address(uid, &["params"])
}

/// The address of a uid's outputs node: `UID/outputs`.
pub fn outputs_address(uid: &Uid) -> String {
    uid_address(uid, &["outputs"])
}

/// `{uid}/` followed by `parts`, in one allocation.
fn uid_address(uid: &Uid, parts: &[&str]) -> String {
    let mut out =
        String::with_capacity(uid.text_len() + 1 + parts.iter().map(|p| p.len()).sum::<usize>());
    uid.push_to(&mut out);
    out.push('/');
    for p in parts {
        out.push_str(p);
    }
    out
}

/// The address of a workload's node: `workload.NAME`.
pub fn workload_address(name: &str) -> String {
    format!("{WORKLOAD_PREFIX}{name}")
}

/// The workload whose manifests `address` names, if it names a workload's node.
pub fn workload_of(address: &str) -> Option<&str> {
    address.strip_prefix(WORKLOAD_PREFIX)
}

/// Whether `address` is a request's params or outputs node, which records no object.
pub fn is_request_io(address: &str) -> bool {
    address.ends_with("/params") || address.ends_with("/outputs")
}

/// Whether `address` is `target` itself or a node under it (`UID` covers `UID/…`).
pub fn under(address: &str, target: &str) -> bool {
    address == target
        || address
            .strip_prefix(target)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Whether `address` is within target `target` as `-target` takes it: [`under`] it, or
/// the manifests of the workload it names.
pub fn within_target(address: &str, target: &str) -> bool {
    under(address, target) || workload_of(address) == Some(target)
}

/// What a state lock covers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum LockScope {
    /// `env`: the whole environment's state.
    Env,
    /// `workload:NAME`: one workload's objects.
    Workload(String),
    /// `resource:UID`: a shared resource's objects.
    Resource(String),
}

impl LockScope {
    /// Parses a scope as stored; anything unknown is read as the whole environment,
    /// the widest scope.
    pub fn parse(s: &str) -> LockScope {
        if let Some(w) = s.strip_prefix("workload:") {
            LockScope::Workload(w.to_string())
        } else if let Some(r) = s.strip_prefix("resource:") {
            LockScope::Resource(r.to_string())
        } else {
            LockScope::Env
        }
    }

    /// What is locked, for messages: `the state`, ``workload `web` ``, ``shared resource `uid` ``.
    pub fn describe(&self) -> String {
        match self {
            LockScope::Env => "the state".to_string(),
            LockScope::Workload(w) => format!("workload `{w}`"),
            LockScope::Resource(r) => format!("shared resource `{r}`"),
        }
    }
}

impl fmt::Display for LockScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LockScope::Env => f.write_str("env"),
            LockScope::Workload(w) => write!(f, "workload:{w}"),
            LockScope::Resource(r) => write!(f, "resource:{r}"),
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

    use proptest::prelude::*;

    fn part() -> impl Strategy<Value = String> {
        "[a-z][a-z0-9-]{0,8}"
    }

    fn uid() -> impl Strategy<Value = Uid> {
        (
            part(),
            proptest::option::of(part()),
            proptest::option::of("[a-z][a-z0-9.-]{0,10}"),
            part(),
            part(),
        )
            .prop_map(|(k, c, id, w, r)| Uid::new(&k, c.as_deref(), id.as_deref(), &w, &r))
    }

    fn address() -> impl Strategy<Value = Address> {
        prop_oneof![
            part().prop_map(Address::Workload),
            uid().prop_map(Address::Params),
            uid().prop_map(Address::Outputs),
            (uid(), "[a-z][a-z0-9_]{0,12}", part())
                .prop_map(|(uid, kind, name)| Address::Resource { uid, kind, name }),
        ]
    }

    proptest! {
        /// Every address reads back as itself, and the builders write what Display does.
        #[test]
        fn addresses_round_trip(a in address()) {
            let text = a.to_string();
            let shared_id = a.uid().and_then(|u| match &u.scope {
                UidScope::Shared(id) => Some(id.clone()),
                UidScope::Workload { .. } => None,
            });
            let back = Address::parse_with(&text, |r| shared_id.as_deref() == Some(r));
            prop_assert_eq!(back.as_ref(), Some(&a));
            let built = match &a {
                Address::Workload(n) => workload_address(n),
                Address::Params(u) => params_address(u),
                Address::Outputs(u) => outputs_address(u),
                Address::Resource { uid, kind, name } => {
                    let mut out = String::from("stale");
                    write_resource_address(&mut out, uid, kind, name);
                    prop_assert_eq!(&out, &resource_address(uid, kind, name));
                    out
                }
            };
            prop_assert_eq!(built, text);
        }

        /// Lock scopes read back as themselves.
        #[test]
        fn lock_scopes_round_trip(w in part(), u in uid(), which in 0..3u8) {
            let scope = match which {
                0 => LockScope::Env,
                1 => LockScope::Workload(w),
                _ => LockScope::Resource(u.to_string()),
            };
            prop_assert_eq!(LockScope::parse(&scope.to_string()), scope);
        }
    }

    #[test]
    fn targets_cover_what_is_under_them() {
        let db = "postgres.default#web.db/postgres_database.main";
        assert!(within_target(db, "postgres.default#web.db"));
        assert!(within_target(db, db));
        assert!(!within_target(db, "postgres.default#web.d"));
        assert!(!within_target(
            "postgres.default#web.dbx/params",
            "postgres.default#web.db"
        ));
        assert!(within_target("workload.web", "web"));
        assert!(!within_target("workload.web2", "web"));
        assert_eq!(workload_of("workload.web"), Some("web"));
        assert!(is_request_io("redis.default#c/outputs") && !is_request_io(db));
        assert_eq!(Address::parse("workload."), None);
        assert_eq!(Address::parse("postgres.default#web.db/"), None);
        assert_eq!(Address::parse("postgres.default#web.db/a.b.c"), None);
    }

    #[test]
    fn move_addresses() {
        let w = |s: &str| MoveAddr::parse(s).unwrap();
        assert_eq!(w("workload.api"), MoveAddr::Workload("api".into()));
        assert!(matches!(w("postgres.default#api.db"), MoveAddr::Uid(_)));
        assert!(matches!(
            w("postgres.default#api.db/postgres_database.db"),
            MoveAddr::Object { .. }
        ));
        for bad in [
            "workload.",
            "workload.a.b",
            "api",
            "x#y",
            "postgres.default#api.db/nodot",
        ] {
            assert!(MoveAddr::parse(bad).is_err(), "{bad}");
        }
        let (a, b) = (w("workload.api"), w("workload.backend"));
        let relocated = |addr: &str, uid: &str| a.relocate(&b, addr, uid);
        assert_eq!(
            relocated("workload.api", ""),
            Some(("workload.backend".into(), String::new()))
        );
        assert_eq!(
            relocated(
                "postgres.default#api.db/postgres_database.db",
                "postgres.default#api.db"
            ),
            Some((
                "postgres.default#backend.db/postgres_database.db".into(),
                "postgres.default#backend.db".into()
            ))
        );
        assert_eq!(
            relocated(
                "volume.default#shared/local_directory.data",
                "volume.default#shared"
            ),
            None
        );
        assert_eq!(relocated("workload.apix", ""), None);
        assert!(w("workload.a").mismatch(&w("redis.default#a.b")).is_some());
        assert!(
            w("redis.default#a.b")
                .mismatch(&w("postgres.default#a.b"))
                .is_some()
        );
        assert_eq!(w("redis.default#a.b").to_string(), "redis.default#a.b");
    }
}
