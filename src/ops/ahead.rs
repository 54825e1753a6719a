//! The state read ahead of a whole-project plan: an existing SQLite state of the
//! current schema is read on a thread of its own while the Score files are parsed and
//! checked, and kept only if SQLite's `data_version` shows that no other connection
//! committed by the time the plan holds its lock (else it is read again).
//!
//! Kept because it pays: at 10,000 resources a no-change plan took 1.08× and 1.18× as
//! long without it (medians of 15 and 21, `benches/ab.sh`, 2 cores, 2026-12-06); at
//! 1,000 resources the difference is within the noise.

use std::path::{Path, PathBuf};

use crate::config::{self, Environment, StateBackend};
use crate::diag::Sources;
use crate::state::{SqliteStore, State, StateError, Store};

/// A SQLite state read ahead, while the Score files are still being parsed and checked:
/// at 10,000 resources reading the state is a tenth of a plan, on a core that parsing
/// leaves idle most of the time.
pub struct Preloaded {
    /// The state file.
    pub path: PathBuf,
    /// The store, open.
    pub store: Store,
    /// The state as read.
    pub state: State,
    /// The store's `data_version` before the read.
    pub version: i64,
}

impl Preloaded {
    /// Reads the state of `env_name` ahead. `None` (the caller opens and reads the state
    /// as usual) unless it is a SQLite file that exists with the current schema: nothing
    /// is created or migrated here, before the inputs are known to be good.
    pub fn read(root: &Path, env_name: &str) -> Option<Preloaded> {
        let env = config::load(root, env_name, &mut Sources::new(), &mut Vec::new())?;
        let StateBackend::Sqlite(file) = &env.state else {
            return None;
        };
        let path = root.join(file);
        let key = crate::state::crypto::StateKey::from_env().ok()?;
        let store = SqliteStore::open_current(&path)?;
        let version = store.data_version().ok()?;
        let store = Store::Sqlite(store).with_key(key);
        let state = store.load().ok()?;
        Some(Preloaded {
            path: file.clone(),
            store,
            state,
            version,
        })
    }

    /// The store, when it is the one `env` uses.
    pub fn matches(&self, env: &Environment) -> bool {
        env.state == StateBackend::Sqlite(self.path.clone())
    }

    /// The state read ahead if no other connection has committed since; else read now
    /// (under the caller's lock, when it holds one).
    pub fn current(state: Option<(State, i64)>, store: &Store) -> Result<State, StateError> {
        if let (Some((state, version)), Store::Sqlite(s)) = (state, store)
            && s.data_version()? == version
        {
            return Ok(state);
        }
        store.load()
    }
}
