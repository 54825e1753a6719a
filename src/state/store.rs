//! [`Store`]: the state database of one environment, whichever backend holds it. The
//! rest of baton talks to this type only; each method forwards to the backend, and both
//! backends keep the same contract (the conformance suite in `tests/it/store.rs` runs
//! one body against each).

use super::crypto::StateKey;
use super::rows::Dump;
use super::{
    HistoryEntry, Intent, LockInfo, LockRequest, PostgresStore, Record, SqliteStore, State,
    StateError,
};

/// An open state store.
pub enum Store {
    /// A SQLite file.
    Sqlite(SqliteStore),
    /// An environment's rows in a PostgreSQL database.
    Postgres(PostgresStore),
}

macro_rules! each {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            Store::Sqlite($s) => $e,
            Store::Postgres($s) => $e,
        }
    };
}

impl Store {
    /// Seals secrets with `key` from now on (and opens sealed ones with it).
    pub fn with_key(self, key: Option<StateKey>) -> Store {
        match self {
            Store::Sqlite(s) => Store::Sqlite(s.with_key(key)),
            Store::Postgres(s) => Store::Postgres(s.with_key(key)),
        }
    }

    /// Takes locks and records changes on behalf of `actor` (a server's token name; `None`:
    /// this process's user).
    pub fn acting_for(self, actor: Option<String>) -> Store {
        match self {
            Store::Sqlite(s) => Store::Sqlite(s.acting_for(actor)),
            Store::Postgres(s) => Store::Postgres(s.acting_for(actor)),
        }
    }

    /// Who takes locks and records changes through this handle: `name@host`.
    pub fn who(&self) -> String {
        each!(self, s => s.who())
    }

    /// A second handle on the same state for writing from another thread, where the
    /// backend has a cheap one (SQLite: another connection to the file). `None` for
    /// PostgreSQL, whose handle holds the run's locks: its writes stay on this one.
    pub fn writer(&self) -> Result<Option<Store>, StateError> {
        match self {
            Store::Sqlite(s) => s.writer().map(|w| Some(Store::Sqlite(w))),
            Store::Postgres(_) => Ok(None),
        }
    }

    /// Ends the use of a state that a failed run opened: a SQLite file this run created
    /// and left empty is removed, so bad input leaves no state behind.
    pub fn discard_if_new(self) {
        if let Store::Sqlite(s) = self {
            s.discard_if_new();
        }
    }

    /// Records the configuration an apply applied and the texts it refers to.
    pub fn put_deployment(
        &mut self,
        d: &super::deployment::Deployment,
        blobs: &[super::deployment::Blob],
    ) -> Result<(), StateError> {
        each!(self, s => s.put_deployment(d, blobs))
    }

    /// Every recorded deployment, oldest first.
    pub fn deployments(&self) -> Result<Vec<super::deployment::Deployment>, StateError> {
        each!(self, s => s.deployments())
    }

    /// The serials that have a deployment, oldest first (no document read).
    pub fn deployment_serials(&self) -> Result<Vec<u64>, StateError> {
        each!(self, s => s.deployment_serials())
    }

    /// The deployment of `serial`, if one is recorded.
    pub fn deployment(
        &self,
        serial: u64,
    ) -> Result<Option<super::deployment::Deployment>, StateError> {
        each!(self, s => s.deployment(serial))
    }

    /// The text stored under `digest`.
    pub fn blob(&self, digest: &str) -> Result<Option<super::deployment::Blob>, StateError> {
        each!(self, s => s.blob(digest))
    }

    /// Whether secrets are sealed.
    pub fn has_key(&self) -> bool {
        each!(self, s => s.has_key())
    }

    /// Where the state is, for messages (a path, or a URL without its password and the
    /// environment).
    pub fn location(&self) -> String {
        each!(self, s => s.location())
    }

    /// The lineage (fixed at creation).
    pub fn lineage(&self) -> Result<String, StateError> {
        each!(self, s => s.lineage())
    }

    /// The serial.
    pub fn serial(&self) -> Result<u64, StateError> {
        each!(self, s => s.serial())
    }

    /// Loads everything, from one consistent snapshot.
    pub fn load(&self) -> Result<State, StateError> {
        each!(self, s => s.load())
    }

    /// Takes the scopes of `request`, all or none, or says who holds one. The second
    /// value is a lock of a killed run that was taken over, to warn about.
    pub fn lock(
        &mut self,
        request: &LockRequest,
    ) -> Result<(LockInfo, Option<LockInfo>), StateError> {
        each!(self, s => s.lock(request))
    }

    /// Releases the lock `id`; true when it was held.
    pub fn unlock(&mut self, id: &str) -> Result<bool, StateError> {
        each!(self, s => s.unlock(id))
    }

    /// Every lock held, one entry per scope.
    pub fn current_locks(&self) -> Result<Vec<LockInfo>, StateError> {
        each!(self, s => s.current_locks())
    }

    /// Records that a provider call is about to start.
    pub fn begin_intent(&mut self, intent: &Intent) -> Result<(), StateError> {
        each!(self, s => s.begin_intent(intent))
    }

    /// Records that several provider calls are about to start, in one transaction.
    pub fn begin_intents(&mut self, intents: &[Intent]) -> Result<(), StateError> {
        each!(self, s => s.begin_intents(intents))
    }

    /// Clears an intent without recording a change (the call failed cleanly).
    pub fn clear_intent(&mut self, address: &str) -> Result<(), StateError> {
        each!(self, s => s.clear_intent(address))
    }

    /// Records one change atomically; see [`Store::record_many`].
    pub fn record(&mut self, record: &Record, action: &str, bump: bool) -> Result<u64, StateError> {
        self.record_many(&[(record, action)], bump)
    }

    /// Records finished changes in one transaction: objects, history rows, cleared
    /// intents, and with `bump` (a run's first change) the serial incremented atomically,
    /// which becomes the serial of the run's later changes. Returns that serial.
    pub fn record_many(
        &mut self,
        records: &[(&Record, &str)],
        bump: bool,
    ) -> Result<u64, StateError> {
        each!(self, s => s.record_many(records, bump))
    }

    /// [`Store::record_many`] and [`Store::begin_intents`] in one transaction: the
    /// changes that finished and the intents of the calls they release. Apply commits
    /// once per wave this way; the calls start only after the commit.
    pub fn record_and_begin(
        &mut self,
        records: &[(&Record, &str)],
        bump: bool,
        intents: &[Intent],
    ) -> Result<u64, StateError> {
        each!(self, s => s.record_and_begin(records, bump, intents))
    }

    /// Every recorded change, oldest first.
    pub fn history(&self) -> Result<Vec<HistoryEntry>, StateError> {
        each!(self, s => s.history())
    }

    /// Re-seals every secret with `new` (or stores them in clear), in one transaction.
    pub fn rekey(&mut self, new: Option<StateKey>) -> Result<usize, StateError> {
        each!(self, s => s.rekey(new))
    }

    /// The schema version.
    pub fn schema_version(&self) -> Result<i64, StateError> {
        each!(self, s => s.schema_version())
    }

    /// Everything the state holds, as stored (secrets stay sealed).
    pub fn dump(&self) -> Result<Dump, StateError> {
        each!(self, s => s.dump())
    }

    /// Writes `dump` into this state, which must be empty, in one transaction.
    pub fn restore(&mut self, dump: &Dump) -> Result<(), StateError> {
        each!(self, s => s.restore(dump))
    }
}
