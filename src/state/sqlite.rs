//! The SQLite state store: one file (WAL journal), created mode 0600, migrated on open.
//! Every recorded batch is one transaction: the object rows, their history rows, the
//! cleared intents and (for the first change of an apply) the serial bump commit
//! together, so a crash or kill at any point loses nothing that was done. Writes take
//! the database's write lock up front (`BEGIN IMMEDIATE`), so concurrent runs on
//! disjoint workloads wait for each other's short commits instead of failing.
//!
//! Locks are rows of `locks`, one per scope held; a lock whose holder ran on this host
//! and no longer exists (killed) is taken over.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::checkpoint::Checkpointer;
use super::crypto::StateKey;
use super::rows::{
    self, Codec, Dump, HistoryRow, IntentRow, ObjectRow, record_address, redacted_after,
    redacted_before,
};
use super::{
    HistoryEntry, Intent, LockInfo, LockMode, LockRequest, Record, State, StateError, migrate,
};

/// A state database.
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
    key: Option<StateKey>,
    /// The serial of this run's changes, once its first change bumped it.
    run_serial: Option<u64>,
    checkpointer: Checkpointer,
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.checkpointer.stop();
    }
}

impl SqliteStore {
    /// Opens (creating it, mode 0600, when missing) and migrates the database at `path`.
    pub fn open(path: &Path) -> Result<SqliteStore, StateError> {
        let display = path.display().to_string();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StateError::Io {
                path: display.clone(),
                source,
            })?;
        }
        if !path.exists() {
            create_private(path).map_err(|source| StateError::Io {
                path: display.clone(),
                source,
            })?;
        }
        let mut conn = Connection::open(path).map_err(|source| StateError::Db {
            path: display.clone(),
            source,
        })?;
        let db = |source| StateError::Db {
            path: display.clone(),
            source,
        };
        conn.busy_timeout(Duration::from_secs(30)).map_err(db)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(db)?;
        let checkpointer = Checkpointer::install(&mut conn, path).map_err(db)?;
        let mut store = SqliteStore {
            conn,
            path: path.to_path_buf(),
            key: None,
            run_serial: None,
            checkpointer,
        };
        migrate::migrate(&mut store.conn, &display)?;
        // WAL side files hold state data too.
        for suffix in ["-wal", "-shm"] {
            let side = PathBuf::from(format!("{}{suffix}", path.display()));
            set_private(&side);
        }
        Ok(store)
    }

    /// A second connection to this database, for writing from another thread (the apply
    /// walk commits its waves on one). Same key, and the serial this run's changes go
    /// under once one was recorded; the database is already migrated.
    pub fn writer(&self) -> Result<SqliteStore, StateError> {
        let db = self.db();
        let mut conn = Connection::open(&self.path).map_err(&db)?;
        conn.busy_timeout(Duration::from_secs(30)).map_err(&db)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(&db)?;
        let checkpointer = Checkpointer::install(&mut conn, &self.path).map_err(&db)?;
        Ok(SqliteStore {
            conn,
            path: self.path.clone(),
            key: self.key.clone(),
            run_serial: self.run_serial,
            checkpointer,
        })
    }

    /// Seals secrets with `key` from now on (and opens sealed ones with it).
    pub fn with_key(mut self, key: Option<StateKey>) -> SqliteStore {
        self.key = key;
        self
    }

    /// Whether secrets are sealed.
    pub fn has_key(&self) -> bool {
        self.key.is_some()
    }

    fn codec<'a>(&'a self, location: &'a str) -> Codec<'a> {
        Codec {
            key: self.key.as_ref(),
            location,
        }
    }

    /// Re-seals every secret with `new` (or stores them in clear when `None`), in one
    /// transaction. Returns how many objects were rewritten.
    pub fn rekey(&mut self, new: Option<StateKey>) -> Result<usize, StateError> {
        let state = self.load()?;
        let location = self.location();
        let codec = Codec {
            key: new.as_ref(),
            location: &location,
        };
        let rows: Vec<(String, String)> = state
            .objects
            .values()
            .map(|o| {
                (
                    o.address.clone(),
                    codec.seal_attributes(&o.attributes, &o.sensitive),
                )
            })
            .collect();
        let intents: Vec<(String, String)> = state
            .intents
            .values()
            .map(|i| (i.address.clone(), codec.seal_planned(&i.planned)))
            .collect();
        let db = db_err(&location);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        for (address, attrs) in &rows {
            tx.execute(
                "UPDATE objects SET attributes = ?1 WHERE address = ?2",
                params![attrs, address],
            )
            .map_err(db)?;
        }
        for (address, planned) in &intents {
            tx.execute(
                "UPDATE intents SET planned = ?1 WHERE address = ?2",
                params![planned, address],
            )
            .map_err(db)?;
        }
        tx.commit().map_err(db)?;
        self.key = new;
        Ok(rows.len())
    }

    /// Where the database is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the database is, for messages.
    pub fn location(&self) -> String {
        self.path.display().to_string()
    }

    fn db(&self) -> impl Fn(rusqlite::Error) -> StateError + '_ {
        move |source| StateError::Db {
            path: self.path.display().to_string(),
            source,
        }
    }

    /// The lineage (fixed at creation).
    pub fn lineage(&self) -> Result<String, StateError> {
        meta(&self.conn, "lineage")
            .map(Option::unwrap_or_default)
            .map_err(self.db())
    }

    /// The serial.
    pub fn serial(&self) -> Result<u64, StateError> {
        Ok(meta(&self.conn, "serial")
            .map_err(self.db())?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0))
    }

    /// Opens the store only when `path` is a state file of the current schema (nothing
    /// is created or migrated): for reading the state ahead, before a run has checked
    /// its inputs.
    pub fn open_current(path: &Path) -> Option<SqliteStore> {
        if !path.is_file() {
            return None;
        }
        let conn =
            Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).ok()?;
        if migrate::current_version(&conn).ok()? != migrate::LATEST {
            return None;
        }
        drop(conn);
        SqliteStore::open(path).ok()
    }

    /// SQLite's `data_version`: it changes when another connection commits, so a state
    /// loaded earlier on this connection is still current while it stays the same.
    pub fn data_version(&self) -> Result<i64, StateError> {
        self.conn
            .pragma_query_value(None, "data_version", |r| r.get(0))
            .map_err(self.db())
    }

    /// Loads everything, from one consistent snapshot.
    pub fn load(&self) -> Result<State, StateError> {
        let location = self.location();
        let db = db_err(&location);
        let tx = self.conn.unchecked_transaction().map_err(db)?;
        let objects = object_rows(&tx).map_err(db)?;
        let intents = intent_rows(&tx).map_err(db)?;
        let lineage = meta(&tx, "lineage").map_err(db)?.unwrap_or_default();
        let serial = meta(&tx, "serial")
            .map_err(db)?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        tx.finish().map_err(db)?;
        let codec = self.codec(&location);
        let mut state = State {
            lineage,
            serial,
            ..State::default()
        };
        rows::decode_objects(&codec, objects, &mut state)?;
        for row in intents {
            let i = codec.intent(row)?;
            state.intents.insert(i.address.clone(), i);
        }
        Ok(state)
    }

    /// Takes the scopes of `request` (all or none), or says who holds one. Locks left by
    /// processes of this host that no longer run (killed) are removed first; the first
    /// one that stood in the way is returned, to warn about.
    pub fn lock(
        &mut self,
        request: &LockRequest,
    ) -> Result<(LockInfo, Option<LockInfo>), StateError> {
        let (user, host) = super::whoami();
        let me = LockInfo {
            id: uuid::Uuid::new_v4().to_string(),
            scope: super::ENV_SCOPE.to_string(),
            holder: format!("{user}@{host}"),
            host: host.clone(),
            pid: std::process::id(),
            operation: request.operation.clone(),
            since: super::now(),
        };
        let location = self.location();
        let db = db_err(&location);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let wanted = request.scopes();
        let conflicts = |held: &(LockInfo, LockMode)| {
            wanted.iter().any(|(scope, mode)| {
                held.0.scope == *scope
                    && (*mode == LockMode::Exclusive || held.1 == LockMode::Exclusive)
            })
        };
        let mut stale: Option<LockInfo> = None;
        let mut dead: Vec<String> = Vec::new();
        for held in read_locks(&tx).map_err(db)? {
            let gone = held.0.host == host && !process_alive(held.0.pid);
            if gone {
                if conflicts(&held) && stale.is_none() {
                    stale = Some(held.0.clone());
                }
                dead.push(held.0.id.clone());
            }
        }
        for id in &dead {
            tx.execute("DELETE FROM locks WHERE lock_id = ?1", [id])
                .map_err(db)?;
        }
        let mut blocking: Vec<(LockInfo, LockMode)> = read_locks(&tx)
            .map_err(db)?
            .into_iter()
            .filter(conflicts)
            .collect();
        if !blocking.is_empty() {
            // Name the holder of the first scope wanted (the environment, then workloads).
            blocking.sort_by_key(|(l, _)| wanted.iter().position(|(s, _)| *s == l.scope));
            tx.commit().map_err(db)?;
            return Err(StateError::Locked(blocking.remove(0).0));
        }
        for (scope, mode) in &wanted {
            tx.execute(
                "INSERT INTO locks (scope, lock_id, mode, holder, host, pid, operation, since) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![scope, me.id, mode.as_str(), me.holder, me.host, me.pid, me.operation, me.since],
            )
            .map_err(db)?;
        }
        tx.commit().map_err(db)?;
        Ok((me, stale))
    }

    /// Releases the lock `id` (every scope it holds); true when it was held.
    pub fn unlock(&self, id: &str) -> Result<bool, StateError> {
        let n = self
            .conn
            .execute("DELETE FROM locks WHERE lock_id = ?1", [id])
            .map_err(self.db())?;
        Ok(n > 0)
    }

    /// Every lock held, one entry per scope, ordered by scope.
    pub fn current_locks(&self) -> Result<Vec<LockInfo>, StateError> {
        Ok(read_locks(&self.conn)
            .map_err(self.db())?
            .into_iter()
            .map(|(l, _)| l)
            .collect())
    }

    /// Records that a provider call is about to start.
    pub fn begin_intent(&mut self, intent: &Intent) -> Result<(), StateError> {
        self.begin_intents(std::slice::from_ref(intent))
    }

    /// Clears an intent without recording a change (the call failed cleanly).
    pub fn clear_intent(&self, address: &str) -> Result<(), StateError> {
        self.conn
            .execute("DELETE FROM intents WHERE address = ?1", [address])
            .map_err(self.db())?;
        Ok(())
    }

    /// Records one change atomically: the object, a history row, the cleared intent, and
    /// the serial bump when `bump` is set. Returns the serial after the change.
    pub fn record(&mut self, record: &Record, action: &str, bump: bool) -> Result<u64, StateError> {
        self.record_many(&[(record, action)], bump)
    }

    /// Records several finished changes in one transaction (apply records the calls that
    /// finished together in one commit; each still commits before its dependents start).
    /// `bump` (the first change of a run) increments the serial atomically and makes the
    /// new value this run's serial: its later changes are recorded under it, whatever
    /// other runs on other workloads do meanwhile.
    pub fn record_many(
        &mut self,
        records: &[(&Record, &str)],
        bump: bool,
    ) -> Result<u64, StateError> {
        self.record_and_begin(records, bump, &[])
    }

    /// [`SqliteStore::record_many`] and the intents of the calls those changes release,
    /// in one transaction (apply commits once per wave).
    pub fn record_and_begin(
        &mut self,
        records: &[(&Record, &str)],
        bump: bool,
        intents: &[Intent],
    ) -> Result<u64, StateError> {
        let location = self.location();
        let db = db_err(&location);
        let (user, host) = super::whoami();
        let who = format!("{user}@{host}");
        let codec = Codec {
            key: self.key.as_ref(),
            location: &location,
        };
        let intent_rows: Vec<IntentRow> = intents.iter().map(|i| codec.intent_row(i)).collect();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let serial = if records.is_empty() {
            self.run_serial.unwrap_or(0)
        } else if bump {
            tx.execute(
                "UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'serial'",
                [],
            )
            .map_err(db)?;
            meta(&tx, "serial")
                .map_err(db)?
                .and_then(|s| s.parse().ok())
                .unwrap_or(0)
        } else {
            match self.run_serial {
                Some(s) => s,
                None => meta(&tx, "serial")
                    .map_err(db)?
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0),
            }
        };
        let now = super::now();
        for (record, action) in records {
            let address = record_address(record).to_string();
            let before: Option<(String, String)> = tx
                .prepare_cached("SELECT attributes, sensitive FROM objects WHERE address = ?1")
                .and_then(|mut st| {
                    st.query_row([&address], |r| Ok((r.get(0)?, r.get(1)?)))
                        .optional()
                })
                .map_err(db)?;
            let before_json = before.map(|(a, s)| redacted_before(&a, &s));
            let after_json = match record {
                Record::Put(o) => {
                    put_object(&tx, &codec.object_row(o, serial)).map_err(db)?;
                    Some(redacted_after(o))
                }
                Record::Remove(a) => {
                    tx.prepare_cached("DELETE FROM objects WHERE address = ?1")
                        .and_then(|mut st| st.execute([a]))
                        .map_err(db)?;
                    None
                }
            };
            put_history(
                &tx,
                &HistoryRow {
                    serial: serial as i64,
                    at: now.clone(),
                    address: address.clone(),
                    action: action.to_string(),
                    who: who.clone(),
                    before: before_json,
                    after: after_json,
                },
            )
            .map_err(db)?;
            tx.prepare_cached("DELETE FROM intents WHERE address = ?1")
                .and_then(|mut st| st.execute([&address]))
                .map_err(db)?;
        }
        for r in &intent_rows {
            put_intent(&tx, r).map_err(db)?;
        }
        tx.commit().map_err(db)?;
        if bump && !records.is_empty() {
            self.run_serial = Some(serial);
        }
        Ok(serial)
    }

    /// Records that several provider calls are about to start, in one transaction.
    pub fn begin_intents(&mut self, intents: &[Intent]) -> Result<(), StateError> {
        self.record_and_begin(&[], false, intents).map(drop)
    }

    /// Every recorded change, oldest first.
    pub fn history(&self) -> Result<Vec<HistoryEntry>, StateError> {
        Ok(history_rows(&self.conn)
            .map_err(self.db())?
            .into_iter()
            .map(rows::history_entry)
            .collect())
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<i64, StateError> {
        migrate::current_version(&self.conn).map_err(self.db())
    }

    /// Everything the state holds, as stored (secrets stay sealed).
    pub fn dump(&self) -> Result<Dump, StateError> {
        let location = self.location();
        let db = db_err(&location);
        let tx = self.conn.unchecked_transaction().map_err(db)?;
        let dump = Dump {
            lineage: meta(&tx, "lineage").map_err(db)?.unwrap_or_default(),
            serial: meta(&tx, "serial")
                .map_err(db)?
                .and_then(|s| s.parse().ok())
                .unwrap_or(0),
            objects: object_rows(&tx).map_err(db)?,
            intents: intent_rows(&tx).map_err(db)?,
            history: history_rows(&tx).map_err(db)?,
        };
        tx.finish().map_err(db)?;
        Ok(dump)
    }

    /// Writes `dump` into this state, which must be empty, in one transaction: lineage,
    /// serial, objects with their versions, intents, history.
    pub fn restore(&mut self, dump: &Dump) -> Result<(), StateError> {
        let location = self.location();
        let db = db_err(&location);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let serial: u64 = meta(&tx, "serial")
            .map_err(db)?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let objects: i64 = tx
            .query_row("SELECT COUNT(*) FROM objects", [], |r| r.get(0))
            .map_err(db)?;
        let history: i64 = tx
            .query_row("SELECT COUNT(*) FROM history", [], |r| r.get(0))
            .map_err(db)?;
        if serial != 0 || objects != 0 || history != 0 {
            return Err(StateError::NotEmpty {
                location,
                serial,
                objects: objects as usize,
            });
        }
        tx.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('lineage', ?1), ('serial', ?2)",
            params![dump.lineage, dump.serial.to_string()],
        )
        .map_err(db)?;
        tx.execute("DELETE FROM intents", []).map_err(db)?;
        for o in &dump.objects {
            put_object(&tx, o).map_err(db)?;
        }
        for i in &dump.intents {
            put_intent(&tx, i).map_err(db)?;
        }
        for h in &dump.history {
            put_history(&tx, h).map_err(db)?;
        }
        tx.commit().map_err(db)
    }
}

fn db_err(location: &str) -> impl Fn(rusqlite::Error) -> StateError + Copy + '_ {
    move |source| StateError::Db {
        path: location.to_string(),
        source,
    }
}

fn meta(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()
}

fn object_rows(conn: &Connection) -> rusqlite::Result<Vec<ObjectRow>> {
    let mut stmt = conn.prepare(
        "SELECT address, kind, provider, uid, module, attributes, sensitive, dependencies, status, updated_serial, lifecycle FROM objects ORDER BY address",
    )?;
    stmt.query_map([], |r| {
        Ok(ObjectRow {
            address: r.get(0)?,
            kind: r.get(1)?,
            provider: r.get(2)?,
            uid: r.get(3)?,
            module: r.get(4)?,
            attributes: r.get(5)?,
            sensitive: r.get(6)?,
            dependencies: r.get(7)?,
            status: r.get(8)?,
            updated_serial: r.get(9)?,
            lifecycle: r.get(10)?,
        })
    })?
    .collect()
}

fn intent_rows(conn: &Connection) -> rusqlite::Result<Vec<IntentRow>> {
    let mut stmt = conn.prepare(
        "SELECT address, action, kind, planned, started_at FROM intents ORDER BY address",
    )?;
    stmt.query_map([], |r| {
        Ok(IntentRow {
            address: r.get(0)?,
            action: r.get(1)?,
            kind: r.get(2)?,
            planned: r.get(3)?,
            started_at: r.get(4)?,
        })
    })?
    .collect()
}

fn history_rows(conn: &Connection) -> rusqlite::Result<Vec<HistoryRow>> {
    let mut stmt = conn.prepare(
        "SELECT serial, at, address, action, who, before, after FROM history ORDER BY id",
    )?;
    stmt.query_map([], |r| {
        Ok(HistoryRow {
            serial: r.get(0)?,
            at: r.get(1)?,
            address: r.get(2)?,
            action: r.get(3)?,
            who: r.get(4)?,
            before: r.get(5)?,
            after: r.get(6)?,
        })
    })?
    .collect()
}

fn put_object(conn: &Connection, o: &ObjectRow) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO objects (address, kind, provider, uid, module, attributes, sensitive, dependencies, status, updated_serial, lifecycle)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        o.address,
        o.kind,
        o.provider,
        o.uid,
        o.module,
        o.attributes,
        o.sensitive,
        o.dependencies,
        o.status,
        o.updated_serial,
        o.lifecycle,
    ])
    .map(drop)
}

fn put_intent(conn: &Connection, r: &IntentRow) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT OR REPLACE INTO intents (address, action, kind, planned, started_at) VALUES (?1, ?2, ?3, ?4, ?5)")?
        .execute(params![r.address, r.action, r.kind, r.planned, r.started_at])
        .map(drop)
}

fn put_history(conn: &Connection, h: &HistoryRow) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT INTO history (serial, at, address, action, who, before, after) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?
        .execute(params![h.serial, h.at, h.address, h.action, h.who, h.before, h.after])
        .map(drop)
}

fn read_locks(conn: &Connection) -> rusqlite::Result<Vec<(LockInfo, LockMode)>> {
    let mut stmt = conn.prepare(
        "SELECT lock_id, scope, holder, host, pid, operation, since, mode FROM locks ORDER BY scope, since, lock_id",
    )?;
    stmt.query_map([], |r| {
        Ok((
            LockInfo {
                id: r.get(0)?,
                scope: r.get(1)?,
                holder: r.get(2)?,
                host: r.get(3)?,
                pid: r.get::<_, i64>(4)? as u32,
                operation: r.get(5)?,
                since: r.get(6)?,
            },
            if r.get::<_, String>(7)? == "shared" {
                LockMode::Shared
            } else {
                LockMode::Exclusive
            },
        ))
    })?
    .collect()
}

/// True when a process with this pid runs on this host (Linux: /proc).
fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let proc_root = Path::new("/proc");
    if !proc_root.exists() {
        // Without /proc we cannot tell; assume it runs (never steal a live lock).
        return true;
    }
    let stat = proc_root.join(pid.to_string()).join("stat");
    match std::fs::read_to_string(stat) {
        // A zombie (state Z) has exited.
        Ok(s) => !s
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

#[cfg(unix)]
fn create_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map(drop)
}

#[cfg(not(unix))]
fn create_private(path: &Path) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map(drop)
}

#[cfg(unix)]
fn set_private(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if path.exists() {
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
}

#[cfg(not(unix))]
fn set_private(_path: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Object;
    use crate::value::Value;

    fn object(addr: &str, secret: &str) -> Object {
        Object {
            address: addr.into(),
            kind: "random_password".into(),
            provider: "random".into(),
            uid: "secret.default#web.s".into(),
            module: "secret".into(),
            attributes: std::sync::Arc::new(crate::value::Map::from([
                ("length".into(), Value::int(8)),
                ("result".into(), Value::string(secret)),
            ])),
            sensitive: vec!["result".into()],
            dependencies: vec![],
            tainted: false,
            protected: false,
            triggers: None,
            proven: false,
        }
    }

    #[test]
    fn lineage_is_fixed_and_serial_moves_only_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let mut s = SqliteStore::open(&path).unwrap();
        let lineage = s.lineage().unwrap();
        assert_eq!(lineage.len(), 36);
        assert_eq!(s.serial().unwrap(), 0);
        assert_eq!(
            s.record(&Record::Put(object("a", "pw1")), "create", true)
                .unwrap(),
            1
        );
        assert_eq!(
            s.record(&Record::Put(object("b", "pw2")), "create", false)
                .unwrap(),
            1
        );
        drop(s);
        let s = SqliteStore::open(&path).unwrap();
        assert_eq!(s.lineage().unwrap(), lineage);
        let st = s.load().unwrap();
        assert_eq!(st.serial, 1);
        assert_eq!(st.objects["a"].attributes["result"], Value::string("pw1"));
        assert!(st.objects["a"].marked_attributes()["result"].is_sensitive());
    }

    /// A large state is decoded on several threads: every object comes back with its
    /// version and its secrets opened, and a bad row is still reported by its address.
    #[test]
    fn a_large_state_loads_whole_and_a_bad_row_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = SqliteStore::open(&dir.path().join("big.db"))
            .unwrap()
            .with_key(Some(
                crate::state::crypto::StateKey::parse(&crate::state::crypto::StateKey::generate())
                    .unwrap(),
            ));
        let objects: Vec<Record> = (0..5000)
            .map(|i| Record::Put(object(&format!("o{i:05}"), &format!("pw{i}"))))
            .collect();
        let batch: Vec<(&Record, &str)> = objects.iter().map(|r| (r, "create")).collect();
        s.record_many(&batch[..2500], true).unwrap();
        s.record_many(&batch[2500..], true).unwrap();
        let st = s.load().unwrap();
        assert_eq!(st.objects.len(), 5000);
        assert_eq!(
            st.objects["o04321"].attributes["result"],
            Value::string("pw4321")
        );
        assert_eq!((st.versions["o00000"], st.versions["o04999"]), (1, 2));
        s.conn
            .execute(
                "UPDATE objects SET attributes = 'not json' WHERE address IN ('o03000', 'o04000')",
                [],
            )
            .unwrap();
        let err = s.load().unwrap_err().to_string();
        assert!(err.contains("o03000"), "{err}");
    }

    #[test]
    fn history_is_redacted() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = SqliteStore::open(&dir.path().join("s.db")).unwrap();
        s.record(&Record::Put(object("a", "hunter2")), "create", true)
            .unwrap();
        s.record(&Record::Remove("a".into()), "delete", true)
            .unwrap();
        let h = s.history().unwrap();
        assert_eq!(h.len(), 2);
        assert_eq!(h[0].after.as_ref().unwrap()["result"], "(sensitive)");
        assert_eq!(h[1].before.as_ref().unwrap()["length"], 8);
        assert!(h[1].after.is_none());
        assert!(!format!("{h:?}").contains("hunter2"));
    }

    #[test]
    fn the_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/state.db");
        SqliteStore::open(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn a_second_locker_is_told_who_holds_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let mut a = SqliteStore::open(&path).unwrap();
        let mut b = SqliteStore::open(&path).unwrap();
        let (held, stale) = a.lock(&LockRequest::environment("apply")).unwrap();
        assert!(stale.is_none());
        match b.lock(&LockRequest::environment("apply")) {
            Err(StateError::Locked(info)) => {
                assert_eq!(info.id, held.id);
                assert_eq!(info.pid, std::process::id());
                assert_eq!(info.operation, "apply");
            }
            other => panic!("expected Locked, got {other:?}"),
        }
        assert!(a.unlock(&held.id).unwrap());
        assert!(b.lock(&LockRequest::environment("plan")).is_ok());
    }

    #[test]
    fn intents_survive_until_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = SqliteStore::open(&dir.path().join("s.db")).unwrap();
        let intent = Intent {
            address: "a".into(),
            action: "create".into(),
            kind: "local_file".into(),
            planned: crate::value::Map::from([("path".into(), Value::string("x"))]),
            started_at: super::super::now(),
        };
        s.begin_intent(&intent).unwrap();
        assert_eq!(
            s.load().unwrap().intents["a"].planned["path"],
            Value::string("x")
        );
        s.record(&Record::Put(object("a", "p")), "create", true)
            .unwrap();
        assert!(s.load().unwrap().intents.is_empty());
    }
}
