//! State: what baton has made, per address, plus lineage, serial, history and locks.
//!
//! The model lives here. [`Store`] is the one door to a state database, whichever the
//! backend: `sqlite` (rusqlite, WAL, a file per environment) or `postgres` (a shared
//! server, every row keyed by environment, advisory locks); `rows` is the stored form
//! both share (sealing of secrets included), `migrate` evolves the SQLite schema. Only
//! this module touches a state database. Attributes are stored with secrets in them
//! (providers need them back), sealed when a key is set; history rows hold redacted
//! values only.

pub mod crypto;
pub mod deployment;
pub mod migrate;
pub mod moves;
pub mod postgres;
pub mod rows;
pub mod runs;
pub mod sqlite;
mod store;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::addr::LockScope;
use crate::value::Attrs;

use crate::value::Value;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;
pub use store::Store;

/// One object recorded in state.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    /// Its address, e.g. `postgres.default#web.db/postgres_role.owner`.
    pub address: String,
    /// The resource kind, e.g. `postgres_role`.
    pub kind: String,
    /// The provider that manages it.
    pub provider: String,
    /// The Score uid it belongs to (empty for workload nodes).
    pub uid: String,
    /// The module that declared it.
    pub module: String,
    /// Attributes as last read or written (secrets included, unmarked). Shared: a plan's
    /// view of an object without secrets is this map, not a copy.
    pub attributes: Arc<Attrs>,
    /// Names of the attributes that are sensitive.
    pub sensitive: Vec<String>,
    /// Addresses it depended on when it was last applied.
    pub dependencies: Vec<String>,
    /// Whether an earlier create or replace failed midway.
    pub tainted: bool,
    /// `prevent_destroy` was in force when it was last applied: deleting it needs the
    /// protection removed first, even when its configuration is gone.
    pub protected: bool,
    /// The `replace_triggered_by` values at the last apply.
    pub triggers: Option<serde_json::Value>,
    /// baton proved, when it last made or took the object, that the object is its own:
    /// it wrote the owner's marker with it, or set the secret that proves it (see
    /// `provider::owner`). False for objects recorded by a baton that wrote no markers
    /// (they are marked on the next apply) and for kinds whose system holds no proof.
    pub proven: bool,
}

impl Object {
    /// The attributes with sensitive ones marked, for the engine: the recorded map itself
    /// when none is sensitive.
    pub fn marked(&self) -> Arc<Attrs> {
        if self.sensitive.is_empty() {
            Arc::clone(&self.attributes)
        } else {
            Arc::new(self.marked_attributes())
        }
    }

    /// The attributes with sensitive ones marked, for the engine (a copy).
    pub fn marked_attributes(&self) -> crate::value::Map {
        self.attributes
            .iter()
            .map(|(k, v)| {
                let v = if self.sensitive.contains(k) {
                    Value::sensitive(v.clone())
                } else {
                    v.clone()
                };
                (k.clone(), v)
            })
            .collect()
    }
}

/// The whole recorded state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct State {
    /// Fixed when the state is created.
    pub lineage: String,
    /// Incremented by every apply that changes something.
    pub serial: u64,
    /// Objects by address.
    pub objects: BTreeMap<String, Object>,
    /// Interrupted provider calls: address → intent.
    pub intents: BTreeMap<String, Intent>,
    /// The version of every object: the serial of the apply that last wrote it. A saved
    /// plan records the versions of what it touches and is refused when one moved.
    pub versions: BTreeMap<String, u64>,
}

/// A provider call that was started; present only while it runs or if it was interrupted.
#[derive(Debug, Clone, PartialEq)]
pub struct Intent {
    /// Address.
    pub address: String,
    /// `create`, `update`, `delete`.
    pub action: String,
    /// Kind of the object.
    pub kind: String,
    /// The configuration the call was given (secrets included).
    pub planned: crate::value::Map,
    /// When it started (RFC 3339).
    pub started_at: String,
}

/// A change to record after a provider call succeeded.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // short-lived, one per change; boxing buys nothing
pub enum Record {
    /// The object now exists with these attributes.
    Put(Object),
    /// The object is gone.
    Remove(String),
}

/// One row of history.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    /// Serial of the apply that made it.
    pub serial: u64,
    /// When (RFC 3339).
    pub at: String,
    /// Address.
    pub address: String,
    /// `create`, `update`, `delete`, `replace`, `import`, `rm`.
    pub action: String,
    /// Who ran it (`user@host`).
    pub who: String,
    /// Attributes before, redacted JSON.
    pub before: Option<serde_json::Value>,
    /// Attributes after, redacted JSON.
    pub after: Option<serde_json::Value>,
}

/// What a run locks: the whole environment (exclusively), or the workloads and shared
/// resources its plan touches (with the environment shared, so a whole-environment
/// operation waits for them and they for it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockRequest {
    /// `plan`, `apply`, `destroy`, `state rm`, …
    pub operation: String,
    /// Lock the whole environment exclusively.
    pub whole: bool,
    /// Workloads, by name.
    pub workloads: BTreeSet<String>,
    /// Shared resources, by Score uid.
    pub resources: BTreeSet<String>,
}

/// How a scope is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// Several holders at once (the environment, under fine-grained locks).
    Shared,
    /// One holder.
    Exclusive,
}

impl LockMode {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            LockMode::Shared => "shared",
            LockMode::Exclusive => "exclusive",
        }
    }
}

/// The scope name of the whole environment.
pub const ENV_SCOPE: &str = "env";

impl LockRequest {
    /// The whole environment, exclusively.
    pub fn environment(operation: &str) -> LockRequest {
        LockRequest {
            operation: operation.to_string(),
            whole: true,
            workloads: BTreeSet::new(),
            resources: BTreeSet::new(),
        }
    }

    /// These workloads and shared resources (and the environment, shared).
    pub fn scoped(
        operation: &str,
        workloads: impl IntoIterator<Item = String>,
        resources: impl IntoIterator<Item = String>,
    ) -> LockRequest {
        LockRequest {
            operation: operation.to_string(),
            whole: false,
            workloads: workloads.into_iter().collect(),
            resources: resources.into_iter().collect(),
        }
    }

    /// The scopes to hold, the environment first, then workloads, then resources.
    pub fn scopes(&self) -> Vec<(String, LockMode)> {
        if self.whole {
            return vec![(ENV_SCOPE.to_string(), LockMode::Exclusive)];
        }
        let mut out = vec![(ENV_SCOPE.to_string(), LockMode::Shared)];
        out.extend(self.workloads.iter().map(|w| {
            (
                LockScope::Workload(w.clone()).to_string(),
                LockMode::Exclusive,
            )
        }));
        out.extend(self.resources.iter().map(|r| {
            (
                LockScope::Resource(r.clone()).to_string(),
                LockMode::Exclusive,
            )
        }));
        out
    }
}

/// Who holds a lock.
#[derive(Debug, Clone, PartialEq)]
pub struct LockInfo {
    /// Identifier to pass to `state unlock`.
    pub id: String,
    /// What is locked: `env`, `workload:NAME` or `resource:UID`.
    pub scope: String,
    /// `user@host`.
    pub holder: String,
    /// Host name.
    pub host: String,
    /// Process id.
    pub pid: u32,
    /// `plan`, `apply`, `destroy`.
    pub operation: String,
    /// Since when (RFC 3339).
    pub since: String,
}

impl LockInfo {
    /// What is locked, for messages: `the state`, `workload `web``, `resource `uid``.
    pub fn what(&self) -> String {
        LockScope::parse(&self.scope).describe()
    }
}

/// Failures of the state store.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Another run holds the lock.
    #[error("{} is locked by {} (pid {}, {}) since {}; lock id {}", .0.what(), .0.holder, .0.pid, .0.operation, .0.since, .0.id)]
    Locked(LockInfo),
    /// `state unlock` of a lock whose holder is alive on a server that releases it itself.
    #[error("lock {} is held by a live run: {} is running `{}` (pid {}) since {}; PostgreSQL releases it when that run ends or its connection closes", .0.id, .0.holder, .0.operation, .0.pid, .0.since)]
    LiveLock(LockInfo),
    /// The database could not be opened or written.
    #[error("state database {path}: {source}")]
    Db {
        /// Its path.
        path: String,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
    /// The PostgreSQL state server failed or refused a statement.
    #[error("state database {location}: {why}")]
    Postgres {
        /// The server and database (no password).
        location: String,
        /// What went wrong, with what the server said.
        why: String,
    },
    /// The PostgreSQL state URL is not usable.
    #[error("state database {location}: {why}")]
    Config {
        /// The URL (no password).
        location: String,
        /// What is wrong.
        why: String,
    },
    /// Restoring a dump into a state that is not empty.
    #[error(
        "state database {location} already holds a state for this environment (serial {serial}, {objects} objects); `state migrate` only copies into an empty one"
    )]
    NotEmpty {
        /// Where.
        location: String,
        /// Its serial.
        serial: u64,
        /// How many objects.
        objects: usize,
    },
    /// The database is newer than this baton.
    #[error(
        "state database {path} has schema version {found}, newer than this baton understands ({supported}); upgrade baton"
    )]
    TooNew {
        /// Its path.
        path: String,
        /// Version in the file.
        found: i64,
        /// Newest this build knows.
        supported: i64,
    },
    /// A stored row could not be decoded or its checksum does not match: baton cannot
    /// trust what it says about the object, so it acts on none of the state.
    #[error(
        "state database {path}: corrupt data for {address}: {why}; baton will not act on a state it cannot trust: restore the state from a backup"
    )]
    Corrupt {
        /// Its path.
        path: String,
        /// The object.
        address: String,
        /// What was wrong.
        why: String,
    },
    /// The state file exists but holds no state baton can read: it is empty, not a SQLite
    /// database, or SQLite finds its pages damaged. Treating it as a new state would
    /// forget every object recorded in it.
    #[error(
        "state database {path} is unreadable: {why}; restore it from a backup, or remove it to start over with an empty state on purpose (baton then forgets every object it recorded there)"
    )]
    Unreadable {
        /// Its path.
        path: String,
        /// What is wrong with it.
        why: String,
    },
    /// Sealed secrets cannot be opened (no key, wrong key, tampering).
    #[error("state database {path}: {why}")]
    Key {
        /// Its path.
        path: String,
        /// What is wrong, naming the keys involved.
        why: String,
    },
    /// Filesystem trouble around the database.
    #[error("state database {path}: {source}")]
    Io {
        /// Its path.
        path: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// What `state migrate` copied.
pub struct Migrated {
    /// The source store.
    pub from: String,
    /// The destination store.
    pub to: String,
    /// The state's lineage.
    pub lineage: String,
    /// Its serial.
    pub serial: u64,
    /// Objects copied.
    pub objects: usize,
    /// History rows copied.
    pub history: usize,
    /// Intents copied.
    pub intents: usize,
    /// Both states could be opened (the state key at hand) and read the same.
    pub opened: bool,
}

/// What `state rm` removed.
pub enum Removed {
    /// A recorded object (and, when one was left, the action of its leftover intent).
    Object {
        /// The action of a leftover intent removed with it.
        intent: Option<String>,
    },
    /// A leftover intent alone: a call that never finished recording.
    Intent {
        /// Its action.
        action: String,
        /// When the call started.
        started_at: String,
    },
}

/// Who makes a change and where: `actor` (a run made on someone's behalf, as a
/// server's token name) or this process's user, and this host.
pub fn holder(actor: Option<&str>) -> (String, String) {
    let (user, host) = whoami();
    (actor.map_or(user, str::to_string), host)
}

/// `user@host` of this process.
pub fn whoami() -> (String, String) {
    static WHO: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
    WHO.get_or_init(whoami_now).clone()
}

fn whoami_now() -> (String, String) {
    // `USER` when set, else the name of the process's user in the password database
    // (a container or a cron job often has no `USER`).
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .ok()
        .filter(|u| !u.is_empty())
        .or_else(|| whoami::username().ok())
        .unwrap_or_else(|| "unknown".into());
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into());
    (user, host)
}

/// Now, RFC 3339 in UTC, seconds precision.
pub fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// Redacted JSON of attributes, for history.
pub fn redacted_json(attrs: &crate::value::Map, sensitive: &[String]) -> serde_json::Value {
    serde_json::Value::Object(
        attrs
            .iter()
            .map(|(k, v)| {
                let j = if sensitive.contains(k) || v.contains_sensitive() {
                    serde_json::Value::String(crate::value::SENSITIVE_TEXT.into())
                } else {
                    v.to_json_redacted()
                };
                (k.clone(), j)
            })
            .collect(),
    )
}
