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

use super::crypto::StateKey;
use super::deployment::{Blob, Deployment};
use super::rows::{
    self, Codec, DeploymentRow, Dump, HistoryRow, IntentRow, ObjectRow, record_address,
    redacted_after, redacted_before,
};
use super::{
    HistoryEntry, Intent, LockInfo, LockMode, LockRequest, Record, State, StateError, migrate,
};

/// A state database.
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
    key: Option<StateKey>,
    /// On whose behalf locks are taken and changes recorded (`None`: this process's user).
    actor: Option<String>,
    /// The serial of this run's changes, once its first change bumped it.
    run_serial: Option<u64>,
    /// This handle created the file (it did not exist before the run).
    created: bool,
    /// The folder this handle created for the file.
    created_dir: Option<PathBuf>,
}

impl SqliteStore {
    /// Opens (creating it, mode 0600, when missing) and migrates the database at `path`.
    /// A file that exists must hold a state: an empty or damaged one is refused, never
    /// taken for a new state (that would forget every object recorded in it).
    pub fn open(path: &Path) -> Result<SqliteStore, StateError> {
        let display = path.display().to_string();
        let io = |source| StateError::Io {
            path: display.clone(),
            source,
        };
        let mut created_dir = None;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.exists() {
                created_dir = Some(dir.to_path_buf());
            }
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut created = false;
        match std::fs::metadata(path) {
            Ok(m) if m.len() == 0 && !has_log(path) => {
                return Err(StateError::Unreadable {
                    path: display,
                    why: "the file is empty (0 bytes)".into(),
                });
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                create(path)?;
                created = true;
            }
            Err(e) => return Err(io(e)),
        }
        let mut conn = Connection::open(path).map_err(|source| StateError::Db {
            path: display.clone(),
            source,
        })?;
        let prepared = (|| {
            let db = db_err(&display);
            conn.busy_timeout(Duration::from_secs(30)).map_err(db)?;
            conn.pragma_update(None, "journal_mode", "WAL")
                .map_err(db)?;
            conn.pragma_update(None, "synchronous", "NORMAL")
                .map_err(db)?;
            migrate::migrate(&mut conn, &display)
        })();
        if let Err(e) = prepared {
            return Err(diagnose(&conn, e));
        }
        // WAL side files hold state data too.
        for suffix in ["-wal", "-shm"] {
            let side = PathBuf::from(format!("{}{suffix}", path.display()));
            set_private(&side);
        }
        Ok(SqliteStore {
            conn,
            path: path.to_path_buf(),
            key: None,
            actor: None,
            run_serial: None,
            created,
            created_dir,
        })
    }

    /// A second connection to this database, for writing from another thread (the apply
    /// walk commits its waves on one). Same key, and the serial this run's changes go
    /// under once one was recorded; the database is already migrated.
    pub fn writer(&self) -> Result<SqliteStore, StateError> {
        let db = self.db();
        let conn = Connection::open(&self.path).map_err(&db)?;
        conn.busy_timeout(Duration::from_secs(30)).map_err(&db)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(&db)?;
        Ok(SqliteStore {
            conn,
            path: self.path.clone(),
            key: self.key.clone(),
            actor: self.actor.clone(),
            run_serial: self.run_serial,
            created: false,
            created_dir: None,
        })
    }

    /// Removes the file again when this run created it and a failure left nothing in
    /// it (no serial, object, intent or history row): bad input leaves no state behind.
    pub fn discard_if_new(self) {
        if !self.created {
            return;
        }
        let empty = (|| -> rusqlite::Result<bool> {
            let serial: i64 = self
                .conn
                .query_row("SELECT value FROM meta WHERE key = 'serial'", [], |r| {
                    r.get::<_, String>(0)
                })
                .map(|v| v.parse().unwrap_or(1))?;
            let rows: i64 = self.conn.query_row(
                "SELECT (SELECT COUNT(*) FROM objects) + (SELECT COUNT(*) FROM intents) + (SELECT COUNT(*) FROM history)",
                [],
                |r| r.get(0),
            )?;
            Ok(serial == 0 && rows == 0)
        })()
        .unwrap_or(false);
        let path = self.path.clone();
        let dir = self.created_dir.clone();
        drop(self);
        if empty {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
            if let Some(dir) = dir {
                // Only when nothing else was put there meanwhile.
                let _ = std::fs::remove_dir(dir);
            }
        }
    }

    /// Seals secrets with `key` from now on (and opens sealed ones with it).
    pub fn with_key(mut self, key: Option<StateKey>) -> SqliteStore {
        self.key = key;
        self
    }

    /// Takes locks and records changes on behalf of `actor` from now on.
    pub fn acting_for(mut self, actor: Option<String>) -> SqliteStore {
        self.actor = actor;
        self
    }

    /// Who takes locks and records changes through this handle: `name@host`.
    pub fn who(&self) -> String {
        let (user, host) = super::holder(self.actor.as_deref());
        format!("{user}@{host}")
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
        // Whole rows are rewritten: the `replace_triggered_by` values are sealed too, and
        // each row's checksum covers every column.
        let objects: Vec<ObjectRow> = state
            .objects
            .values()
            .map(|o| codec.object_row(o, state.versions.get(&o.address).copied().unwrap_or(0)))
            .collect();
        let intents: Vec<IntentRow> = state
            .intents
            .values()
            .map(|i| codec.intent_row(i))
            .collect();
        let db = db_err(&location);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        for row in &objects {
            put_object(&tx, row).map_err(db)?;
        }
        for row in &intents {
            put_intent(&tx, row).map_err(db)?;
        }
        tx.commit().map_err(db)?;
        self.key = new;
        Ok(objects.len())
    }

    /// Where the database is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the database is, for messages.
    pub fn location(&self) -> String {
        self.path.display().to_string()
    }

    /// The connection, for the runs queue (`state::runs`).
    pub(super) fn conn(&self) -> &Connection {
        &self.conn
    }

    pub(super) fn db(&self) -> impl Fn(rusqlite::Error) -> StateError + '_ {
        move |source| StateError::Db {
            path: self.path.display().to_string(),
            source,
        }
    }

    /// The lineage (fixed at creation).
    pub fn lineage(&self) -> Result<String, StateError> {
        meta(&self.conn, "lineage", &self.location()).map_err(|e| diagnose(&self.conn, e))
    }

    /// The serial.
    pub fn serial(&self) -> Result<u64, StateError> {
        serial(&self.conn, &self.location()).map_err(|e| diagnose(&self.conn, e))
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

    /// Loads everything, from one consistent snapshot. Every row's checksum is checked
    /// (on the threads that decode it); a damaged file is reported as such.
    pub fn load(&self) -> Result<State, StateError> {
        let location = self.location();
        let (lineage, serial, objects, intents) = (|| {
            let db = db_err(&location);
            let tx = self.conn.unchecked_transaction().map_err(db)?;
            let objects = object_rows(&tx).map_err(db)?;
            let intents = intent_rows(&tx).map_err(db)?;
            let lineage = meta(&tx, "lineage", &location)?;
            let serial = serial(&tx, &location)?;
            check_count(&tx, &location, objects.len())?;
            tx.finish().map_err(db)?;
            Ok((lineage, serial, objects, intents))
        })()
        .map_err(|e| diagnose(&self.conn, e))?;
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
        let (user, host) = super::holder(self.actor.as_deref());
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
        let (user, host) = super::holder(self.actor.as_deref());
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
            let next = serial(&tx, &location)? + 1;
            put_meta(&tx, "serial", &next.to_string()).map_err(db)?;
            next
        } else {
            match self.run_serial {
                Some(s) => s,
                None => serial(&tx, &location)?,
            }
        };
        let now = super::now();
        let mut added: i64 = 0;
        for (record, action) in records {
            let address = record_address(record).to_string();
            let before: Option<(String, String)> = tx
                .prepare_cached("SELECT attributes, sensitive FROM objects WHERE address = ?1")
                .and_then(|mut st| {
                    st.query_row([&address], |r| Ok((r.get(0)?, r.get(1)?)))
                        .optional()
                })
                .map_err(db)?;
            added += match (record, before.is_some()) {
                (Record::Put(_), false) => 1,
                (Record::Remove(_), true) => -1,
                _ => 0,
            };
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
                &HistoryRow::new(
                    serial as i64,
                    now.clone(),
                    address.clone(),
                    action.to_string(),
                    who.clone(),
                    before_json,
                    after_json,
                ),
            )
            .map_err(db)?;
            tx.prepare_cached("DELETE FROM intents WHERE address = ?1")
                .and_then(|mut st| st.execute([&address]))
                .map_err(db)?;
        }
        if added != 0 {
            let count = count(&tx, &location)? as i64 + added;
            put_meta(&tx, "objects", &count.to_string()).map_err(db)?;
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
        let location = self.location();
        history_rows(&self.conn)
            .map_err(self.db())?
            .into_iter()
            .map(|row| {
                row.verify(&location)?;
                Ok(rows::history_entry(row))
            })
            .collect()
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<i64, StateError> {
        migrate::current_version(&self.conn).map_err(self.db())
    }

    /// Everything the state holds, as stored (secrets stay sealed), every checksum checked.
    pub fn dump(&self) -> Result<Dump, StateError> {
        self.read_dump().map_err(|e| diagnose(&self.conn, e))
    }

    fn read_dump(&self) -> Result<Dump, StateError> {
        let location = self.location();
        let db = db_err(&location);
        let tx = self.conn.unchecked_transaction().map_err(db)?;
        let dump = Dump {
            lineage: meta(&tx, "lineage", &location)?,
            serial: serial(&tx, &location)?,
            objects: object_rows(&tx).map_err(db)?,
            intents: intent_rows(&tx).map_err(db)?,
            history: history_rows(&tx).map_err(db)?,
            deployments: deployment_rows(&tx).map_err(db)?,
            blobs: blob_rows(&tx).map_err(db)?,
        };
        check_count(&tx, &location, dump.objects.len())?;
        tx.finish().map_err(db)?;
        dump.verify(&location)?;
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
        let serial: u64 = serial(&tx, &location)?;
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
        put_meta(&tx, "lineage", &dump.lineage).map_err(db)?;
        put_meta(&tx, "serial", &dump.serial.to_string()).map_err(db)?;
        put_meta(&tx, "objects", &dump.objects.len().to_string()).map_err(db)?;
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
        for d in &dump.deployments {
            put_deployment(&tx, d).map_err(db)?;
        }
        for b in &dump.blobs {
            put_blob(&tx, b).map_err(db)?;
        }
        tx.commit().map_err(db)
    }

    /// Records the configuration an apply applied and the texts it refers to, in one
    /// transaction (a deployment recorded again for its serial replaces the first).
    pub fn put_deployment(&mut self, d: &Deployment, blobs: &[Blob]) -> Result<(), StateError> {
        let location = self.location();
        let db = db_err(&location);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        put_deployment(&tx, &DeploymentRow::of(d)).map_err(db)?;
        for b in blobs {
            put_blob(&tx, b).map_err(db)?;
        }
        tx.commit().map_err(db)
    }

    /// Every recorded deployment, oldest first, checksums checked.
    pub fn deployments(&self) -> Result<Vec<Deployment>, StateError> {
        let location = self.location();
        deployment_rows(&self.conn)
            .map_err(self.db())?
            .iter()
            .map(|row| row.deployment(&location))
            .collect()
    }

    /// The serials that have a deployment, oldest first (no document read).
    pub fn deployment_serials(&self) -> Result<Vec<u64>, StateError> {
        let mut stmt = self
            .conn
            .prepare("SELECT serial FROM deployments ORDER BY serial")
            .map_err(self.db())?;
        let serials = stmt
            .query_map([], |r| r.get::<_, i64>(0).map(|s| s as u64))
            .map_err(self.db())?;
        serials.collect::<Result<_, _>>().map_err(self.db())
    }

    /// The deployment of `serial`, checksum checked.
    pub fn deployment(&self, serial: u64) -> Result<Option<Deployment>, StateError> {
        let row = self
            .conn
            .query_row(
                "SELECT serial, document, checksum FROM deployments WHERE serial = ?1",
                [serial as i64],
                |r| {
                    Ok(DeploymentRow {
                        serial: r.get(0)?,
                        document: r.get(1)?,
                        checksum: r.get(2)?,
                    })
                },
            )
            .optional()
            .map_err(self.db())?;
        row.map(|r| r.deployment(&self.location())).transpose()
    }

    /// The text stored under `digest`, checked against it.
    pub fn blob(&self, digest: &str) -> Result<Option<Blob>, StateError> {
        let location = self.location();
        let text: Option<String> = self
            .conn
            .query_row(
                "SELECT content FROM blobs WHERE digest = ?1",
                [digest],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.db())?;
        text.map(|t| rows::checked_blob(&location, digest.to_string(), t))
            .transpose()
    }
}

fn deployment_rows(conn: &Connection) -> rusqlite::Result<Vec<DeploymentRow>> {
    let mut stmt =
        conn.prepare("SELECT serial, document, checksum FROM deployments ORDER BY serial")?;
    stmt.query_map([], |r| {
        Ok(DeploymentRow {
            serial: r.get(0)?,
            document: r.get(1)?,
            checksum: r.get(2)?,
        })
    })?
    .collect()
}

fn blob_rows(conn: &Connection) -> rusqlite::Result<Vec<Blob>> {
    let mut stmt = conn.prepare("SELECT digest, content FROM blobs ORDER BY digest")?;
    stmt.query_map([], |r| {
        Ok(Blob {
            digest: r.get(0)?,
            text: r.get(1)?,
        })
    })?
    .collect()
}

fn put_deployment(conn: &Connection, d: &DeploymentRow) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO deployments (serial, document, checksum) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![d.serial, d.document, d.checksum])
    .map(drop)
}

fn put_blob(conn: &Connection, b: &Blob) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT OR IGNORE INTO blobs (digest, content) VALUES (?1, ?2)")?
        .execute(params![b.digest, b.text])
        .map(drop)
}

fn db_err(location: &str) -> impl Fn(rusqlite::Error) -> StateError + Copy + '_ {
    move |source| StateError::Db {
        path: location.to_string(),
        source,
    }
}

/// A `meta` value (`lineage`, `serial`), its checksum checked.
fn meta(conn: &Connection, key: &str, location: &str) -> Result<String, StateError> {
    let corrupt = |why: String| StateError::Corrupt {
        path: location.to_string(),
        address: format!("the state's {key}"),
        why,
    };
    let row: Option<(String, Option<String>)> = conn
        .query_row(
            "SELECT value, checksum FROM meta WHERE key = ?1",
            [key],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(db_err(location))?;
    match row {
        None => Err(corrupt("it is missing from the table `meta`".into())),
        Some((value, Some(sum))) if sum != meta_digest(key, &value) => Err(corrupt(
            "its checksum does not match its value (the stored bytes changed since baton wrote them)"
                .into(),
        )),
        Some((value, _)) => Ok(value),
    }
}

/// The serial, checked.
fn serial(conn: &Connection, location: &str) -> Result<u64, StateError> {
    number(conn, "serial", location)
}

/// How many objects the state records, checked.
fn count(conn: &Connection, location: &str) -> Result<u64, StateError> {
    number(conn, "objects", location)
}

fn number(conn: &Connection, key: &str, location: &str) -> Result<u64, StateError> {
    let value = meta(conn, key, location)?;
    value.parse().map_err(|_| StateError::Corrupt {
        path: location.to_string(),
        address: format!("the state's {key}"),
        why: format!("`{value}` is not a number"),
    })
}

/// Fails when fewer or more object rows were read than the state records: a row lost to
/// damage has no checksum left to fail, but it is missing from this count.
fn check_count(conn: &Connection, location: &str, read: usize) -> Result<(), StateError> {
    let recorded = count(conn, location)?;
    if recorded == read as u64 {
        return Ok(());
    }
    Err(StateError::Unreadable {
        path: location.to_string(),
        why: format!("it records {recorded} objects but {read} rows were read"),
    })
}

fn meta_digest(key: &str, value: &str) -> String {
    rows::digest("baton meta v1", &[key, value])
}

/// Writes a `meta` value with its checksum.
pub(super) fn put_meta(conn: &Connection, key: &str, value: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT OR REPLACE INTO meta (key, value, checksum) VALUES (?1, ?2, ?3)")?
        .execute(params![key, value, meta_digest(key, value)])
        .map(drop)
}

fn object_rows(conn: &Connection) -> rusqlite::Result<Vec<ObjectRow>> {
    let mut stmt = conn.prepare(
        "SELECT address, kind, provider, uid, module, attributes, sensitive, dependencies, status, updated_serial, lifecycle, checksum FROM objects ORDER BY address",
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
            checksum: r.get(11)?,
        })
    })?
    .collect()
}

fn intent_rows(conn: &Connection) -> rusqlite::Result<Vec<IntentRow>> {
    let mut stmt = conn.prepare(
        "SELECT address, action, kind, planned, started_at, checksum FROM intents ORDER BY address",
    )?;
    stmt.query_map([], |r| {
        Ok(IntentRow {
            address: r.get(0)?,
            action: r.get(1)?,
            kind: r.get(2)?,
            planned: r.get(3)?,
            started_at: r.get(4)?,
            checksum: r.get(5)?,
        })
    })?
    .collect()
}

fn history_rows(conn: &Connection) -> rusqlite::Result<Vec<HistoryRow>> {
    let mut stmt = conn.prepare(
        "SELECT serial, at, address, action, who, before, after, checksum FROM history ORDER BY id",
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
            checksum: r.get(7)?,
        })
    })?
    .collect()
}

fn put_object(conn: &Connection, o: &ObjectRow) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO objects (address, kind, provider, uid, module, attributes, sensitive, dependencies, status, updated_serial, lifecycle, checksum)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
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
        o.checksum,
    ])
    .map(drop)
}

fn put_intent(conn: &Connection, r: &IntentRow) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT OR REPLACE INTO intents (address, action, kind, planned, started_at, checksum) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?
        .execute(params![r.address, r.action, r.kind, r.planned, r.started_at, r.checksum])
        .map(drop)
}

fn put_history(conn: &Connection, h: &HistoryRow) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT INTO history (serial, at, address, action, who, before, after, checksum) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")?
        .execute(params![h.serial, h.at, h.address, h.action, h.who, h.before, h.after, h.checksum])
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

/// True when the database's write-ahead log holds something: a main file still empty
/// with a log beside it is a state whose first commits were never checkpointed.
fn has_log(path: &Path) -> bool {
    std::fs::metadata(format!("{}-wal", path.display())).is_ok_and(|m| m.len() > 0)
}

/// Makes a new state at `path`: built and migrated under a temporary name, then linked
/// into place whole, so a state file is never seen half made (a crash while creating
/// leaves no empty file behind to be refused later). When another run made it first,
/// theirs is kept.
fn create(path: &Path) -> Result<(), StateError> {
    let display = path.display().to_string();
    let io = |source| StateError::Io {
        path: display.clone(),
        source,
    };
    let temp = PathBuf::from(format!(
        "{}.new-{}-{}",
        path.display(),
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    let temp_display = temp.display().to_string();
    let built = (|| {
        create_private(&temp).map_err(|source| StateError::Io {
            path: temp_display.clone(),
            source,
        })?;
        let mut conn = Connection::open(&temp).map_err(db_err(&temp_display))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db_err(&temp_display))?;
        migrate::migrate(&mut conn, &display)?;
        // Closing the only connection checkpoints the log into the file and removes it.
        conn.close().map_err(|(_, e)| db_err(&temp_display)(e))
    })();
    let placed = built.and_then(|()| match std::fs::hard_link(&temp, path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        // A filesystem without hard links: rename (a run racing this one may then
        // replace a state just made, which holds nothing yet).
        Err(_) => std::fs::rename(&temp, path).map_err(io),
    });
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", temp.display()));
    }
    placed
}

/// A failure reading the file, told as damage when it is: SQLite's own corruption
/// errors, a column of the wrong type, or any failure while `PRAGMA quick_check` finds
/// the pages damaged are [`StateError::Unreadable`] with what SQLite found.
fn diagnose(conn: &Connection, e: StateError) -> StateError {
    let StateError::Db { path, source } = &e else {
        return e;
    };
    let damaged = matches!(
        source.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
    ) || matches!(
        source,
        rusqlite::Error::InvalidColumnType(..)
            | rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::Utf8Error(..)
            | rusqlite::Error::IntegralValueOutOfRange(..)
    );
    let found = quick_check(conn);
    if !damaged && found.is_empty() {
        return e;
    }
    let mut why = match source.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) => "it is not a SQLite database".to_string(),
        _ => format!("SQLite reports: {source}"),
    };
    if !found.is_empty() {
        why.push_str(&format!("; PRAGMA quick_check found: {}", found.join("; ")));
    }
    StateError::Unreadable {
        path: path.clone(),
        why,
    }
}

/// What `PRAGMA quick_check` finds wrong (at most five findings; none when the pages are
/// sound, or when the check itself cannot run, as on a file that is no database).
fn quick_check(conn: &Connection) -> Vec<String> {
    let found: rusqlite::Result<Vec<String>> = conn
        .prepare("PRAGMA quick_check(5)")
        .and_then(|mut st| st.query_map([], |r| r.get(0))?.collect());
    match found {
        Ok(lines) if lines != ["ok"] => lines,
        _ => Vec::new(),
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
    fn opening_a_current_state_writes_nothing() {
        // A write at open would race the runs recording on other connections: one
        // that put back the serial it read undid another run's bump.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let mut first = SqliteStore::open(&path).unwrap();
        first
            .record(&Record::Put(object("a", "pw1")), "create", true)
            .unwrap();
        let again = SqliteStore::open(&path).unwrap();
        assert_eq!(again.conn.total_changes(), 0, "open wrote to the state");
        assert_eq!(again.serial().unwrap(), 1);
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
    fn deployments_and_their_texts_are_kept_checked_and_copied_by_migrate() {
        use crate::state::deployment::{Blob, Deployment, ModuleUse};
        let dir = tempfile::tempdir().unwrap();
        let mut s = SqliteStore::open(&dir.path().join("s.db")).unwrap();
        let score = Blob::of("apiVersion: score.dev/v1b1\n");
        let module = Blob::of("provisions \"x\" {}\n");
        let d = Deployment {
            serial: 1,
            at: "2026-12-05T00:00:00Z".into(),
            who: "dev@host".into(),
            environment: "local".into(),
            score: [("score.yaml".to_string(), score.digest.clone())].into(),
            modules: [(
                "x".to_string(),
                ModuleUse {
                    origin: "builtin".into(),
                    sha256: module.digest.clone(),
                },
            )]
            .into(),
            settings: Default::default(),
        };
        s.put_deployment(&d, &[score.clone(), module.clone()])
            .unwrap();
        // The same text again is stored once.
        s.put_deployment(
            &Deployment {
                serial: 2,
                ..d.clone()
            },
            std::slice::from_ref(&score),
        )
        .unwrap();
        assert_eq!(s.deployments().unwrap().len(), 2);
        assert_eq!(s.deployments().unwrap()[0], d);
        assert_eq!(s.blob(&score.digest).unwrap(), Some(score.clone()));
        assert_eq!(s.blob(&"0".repeat(64)).unwrap(), None);
        let blobs: i64 = s
            .conn
            .query_row("SELECT COUNT(*) FROM blobs", [], |r| r.get(0))
            .unwrap();
        assert_eq!(blobs, 2);

        // state migrate copies them.
        let mut copy = SqliteStore::open(&dir.path().join("copy.db")).unwrap();
        copy.restore(&s.dump().unwrap()).unwrap();
        assert_eq!(copy.deployments().unwrap(), s.deployments().unwrap());
        assert_eq!(copy.blob(&module.digest).unwrap(), Some(module.clone()));

        // Edited behind baton's back: named, never read as something else.
        s.conn
            .execute("UPDATE deployments SET document = replace(document, 'dev@host', 'x@y') WHERE serial = 2", [])
            .unwrap();
        let err = s.deployments().unwrap_err().to_string();
        assert!(
            err.contains("deployment 2") && err.contains("checksum"),
            "{err}"
        );
        s.conn
            .execute(
                "UPDATE blobs SET content = 'changed' WHERE digest = ?1",
                [&module.digest],
            )
            .unwrap();
        let err = s.blob(&module.digest).unwrap_err().to_string();
        assert!(err.contains("no longer has the hash"), "{err}");
        assert!(s.dump().is_err());
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
