//! The SQLite state store: one file (WAL journal), created mode 0600, migrated on open.
//! Every recorded change is one transaction: the object row, its history row, the
//! cleared intent and (for the first change of an apply) the serial bump commit together,
//! so a crash or kill at any point loses nothing that was done.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};

use super::crypto::{self, StateKey};
use super::{
    HistoryEntry, Intent, LockInfo, Object, Record, State, StateError, migrate, redacted_json,
};
use crate::value::Value;

/// A state database.
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
    key: Option<StateKey>,
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
        let conn = Connection::open(path).map_err(|source| StateError::Db {
            path: display.clone(),
            source,
        })?;
        let db = |source| StateError::Db {
            path: display.clone(),
            source,
        };
        conn.busy_timeout(Duration::from_secs(10)).map_err(db)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(db)?;
        let mut store = SqliteStore {
            conn,
            path: path.to_path_buf(),
            key: None,
        };
        migrate::migrate(&mut store.conn, &display)?;
        // WAL side files hold state data too.
        for suffix in ["-wal", "-shm"] {
            let side = PathBuf::from(format!("{}{suffix}", path.display()));
            set_private(&side);
        }
        Ok(store)
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

    fn key_error(&self, why: String) -> StateError {
        StateError::Key {
            path: self.path.display().to_string(),
            why,
        }
    }

    /// Replaces sealed values (at the top level of an object) with their plain values.
    fn open_sealed(&self, j: serde_json::Value) -> Result<serde_json::Value, StateError> {
        let open_one = |v: serde_json::Value| -> Result<serde_json::Value, StateError> {
            if !crypto::is_sealed(&v) {
                return Ok(v);
            }
            match &self.key {
                Some(k) => k.open(&v).map_err(|e| self.key_error(e)),
                None => Err(self.key_error(format!(
                    "the state holds secrets sealed with key {}; set BATON_STATE_KEY (or BATON_STATE_KEY_FILE) to that key",
                    crypto::sealed_with(&v).unwrap_or("?")
                ))),
            }
        };
        match j {
            serde_json::Value::Object(m)
                if !crypto::is_sealed(&serde_json::Value::Object(m.clone())) =>
            {
                let mut out = serde_json::Map::new();
                for (k, v) in m {
                    out.insert(k, open_one(v)?);
                }
                Ok(serde_json::Value::Object(out))
            }
            other => open_one(other),
        }
    }

    /// JSON of attributes, the sensitive ones sealed when a key is set.
    fn seal_attributes(&self, attrs: &BTreeMap<String, Value>, sensitive: &[String]) -> String {
        let plain = Value::Map(attrs.clone())
            .to_json_revealed()
            .unwrap_or(serde_json::Value::Null);
        let (Some(key), serde_json::Value::Object(m)) = (&self.key, &plain) else {
            return plain.to_string();
        };
        let sealed: serde_json::Map<String, serde_json::Value> = m
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    if sensitive.contains(k) {
                        key.seal(v)
                    } else {
                        v.clone()
                    },
                )
            })
            .collect();
        serde_json::Value::Object(sealed).to_string()
    }

    /// Re-seals every secret with `new` (or stores them in clear when `None`), in one
    /// transaction. Returns how many objects were rewritten.
    pub fn rekey(&mut self, new: Option<StateKey>) -> Result<usize, StateError> {
        let state = self.load()?;
        let old = self.key.take();
        self.key = new;
        let path = self.path.display().to_string();
        let db = |source| StateError::Db {
            path: path.clone(),
            source,
        };
        let rows: Vec<(String, String)> = state
            .objects
            .values()
            .map(|o| {
                (
                    o.address.clone(),
                    self.seal_attributes(&o.attributes, &o.sensitive),
                )
            })
            .collect();
        let intents: Vec<(String, String)> = state
            .intents
            .values()
            .map(|i| (i.address.clone(), self.seal_planned(&i.planned)))
            .collect();
        let tx = self.conn.transaction().map_err(db)?;
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
        if let Err(e) = tx.commit() {
            self.key = old;
            return Err(db(e));
        }
        Ok(rows.len())
    }

    fn seal_planned(&self, planned: &BTreeMap<String, Value>) -> String {
        let plain = Value::Map(planned.clone())
            .to_json_revealed()
            .unwrap_or(serde_json::Value::Null);
        match &self.key {
            Some(k) => k.seal(&plain).to_string(),
            None => plain.to_string(),
        }
    }

    /// Where the database is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn db(&self) -> impl Fn(rusqlite::Error) -> StateError + '_ {
        move |source| StateError::Db {
            path: self.path.display().to_string(),
            source,
        }
    }

    /// The lineage (fixed at creation).
    pub fn lineage(&self) -> Result<String, StateError> {
        self.meta("lineage").map(Option::unwrap_or_default)
    }

    /// The serial.
    pub fn serial(&self) -> Result<u64, StateError> {
        Ok(self
            .meta("serial")?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0))
    }

    fn meta(&self, key: &str) -> Result<Option<String>, StateError> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(self.db())
    }

    /// Loads everything.
    pub fn load(&self) -> Result<State, StateError> {
        let mut stmt = self
            .conn
            .prepare("SELECT address, kind, provider, uid, module, attributes, sensitive, dependencies, status, lifecycle FROM objects ORDER BY address")
            .map_err(self.db())?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, String>(7)?,
                    r.get::<_, String>(8)?,
                    r.get::<_, String>(9)?,
                ))
            })
            .map_err(self.db())?;
        let mut objects = BTreeMap::new();
        for row in rows {
            let (address, kind, provider, uid, module, attrs, sensitive, deps, status, lifecycle) =
                row.map_err(self.db())?;
            let lifecycle: serde_json::Value = serde_json::from_str(&lifecycle).unwrap_or_default();
            let corrupt = |why: String| StateError::Corrupt {
                path: self.path.display().to_string(),
                address: address.clone(),
                why,
            };
            let attrs: serde_json::Value =
                serde_json::from_str(&attrs).map_err(|e| corrupt(e.to_string()))?;
            let attrs = self.open_sealed(attrs)?;
            let attributes = match Value::from_json(&attrs) {
                Value::Map(m) => m,
                _ => return Err(corrupt("attributes are not an object".into())),
            };
            let sensitive: Vec<String> =
                serde_json::from_str(&sensitive).map_err(|e| corrupt(e.to_string()))?;
            let dependencies: Vec<String> =
                serde_json::from_str(&deps).map_err(|e| corrupt(e.to_string()))?;
            objects.insert(
                address.clone(),
                Object {
                    address,
                    kind,
                    provider,
                    uid,
                    module,
                    attributes,
                    sensitive,
                    dependencies,
                    tainted: status == "tainted",
                    protected: lifecycle["prevent_destroy"].as_bool().unwrap_or(false),
                    triggers: lifecycle.get("triggers").cloned().filter(|t| !t.is_null()),
                },
            );
        }
        let mut intents = BTreeMap::new();
        let mut stmt = self
            .conn
            .prepare(
                "SELECT address, action, kind, planned, started_at FROM intents ORDER BY address",
            )
            .map_err(self.db())?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })
            .map_err(self.db())?;
        for row in rows {
            let (address, action, kind, planned, started_at) = row.map_err(self.db())?;
            let planned = match serde_json::from_str::<serde_json::Value>(&planned) {
                Ok(j) => match Value::from_json(&self.open_sealed(j)?) {
                    Value::Map(m) => m,
                    _ => BTreeMap::new(),
                },
                Err(_) => BTreeMap::new(),
            };
            intents.insert(
                address.clone(),
                Intent {
                    address,
                    action,
                    kind,
                    planned,
                    started_at,
                },
            );
        }
        Ok(State {
            lineage: self.lineage()?,
            serial: self.serial()?,
            objects,
            intents,
        })
    }

    /// Takes the lock for `operation`, or says who holds it. A lock left by a process of
    /// this host that no longer runs (killed) is taken over.
    pub fn lock(&mut self, operation: &str) -> Result<(LockInfo, Option<LockInfo>), StateError> {
        let (user, host) = super::whoami();
        let me = LockInfo {
            id: uuid::Uuid::new_v4().to_string(),
            holder: format!("{user}@{host}"),
            host: host.clone(),
            pid: std::process::id(),
            operation: operation.to_string(),
            since: super::now(),
        };
        let path = self.path.display().to_string();
        let db = |source| StateError::Db {
            path: path.clone(),
            source,
        };
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(db)?;
        let current = read_lock(&tx).map_err(db)?;
        let mut stale = None;
        if let Some(held) = current {
            if held.host == host && !process_alive(held.pid) {
                stale = Some(held);
            } else {
                return Err(StateError::Locked(held));
            }
        }
        tx.execute("DELETE FROM lock", []).map_err(db)?;
        tx.execute(
            "INSERT INTO lock (id, lock_id, holder, host, pid, operation, since) VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6)",
            params![me.id, me.holder, me.host, me.pid, me.operation, me.since],
        )
        .map_err(db)?;
        tx.commit().map_err(db)?;
        Ok((me, stale))
    }

    /// Releases the lock `id`; true when it was held with that id.
    pub fn unlock(&self, id: &str) -> Result<bool, StateError> {
        let n = self
            .conn
            .execute("DELETE FROM lock WHERE lock_id = ?1", [id])
            .map_err(self.db())?;
        Ok(n > 0)
    }

    /// Who holds the lock, if anyone.
    pub fn current_lock(&self) -> Result<Option<LockInfo>, StateError> {
        read_lock(&self.conn).map_err(self.db())
    }

    /// Records that a provider call is about to start.
    pub fn begin_intent(&self, intent: &Intent) -> Result<(), StateError> {
        let planned = self.seal_planned(&intent.planned);
        self.conn
            .execute(
                "INSERT OR REPLACE INTO intents (address, action, kind, planned, started_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![intent.address, intent.action, intent.kind, planned, intent.started_at],
            )
            .map_err(self.db())?;
        Ok(())
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
    pub fn record_many(
        &mut self,
        records: &[(&Record, &str)],
        bump: bool,
    ) -> Result<u64, StateError> {
        let path = self.path.display().to_string();
        let db = |source| StateError::Db {
            path: path.clone(),
            source,
        };
        let (user, host) = super::whoami();
        let who = format!("{user}@{host}");
        let sealed: Vec<Option<String>> = records
            .iter()
            .map(|(r, _)| match r {
                Record::Put(o) => Some(self.seal_attributes(&o.attributes, &o.sensitive)),
                Record::Remove(_) => None,
            })
            .collect();
        let tx = self.conn.transaction().map_err(db)?;
        let mut serial: u64 = tx
            .query_row("SELECT value FROM meta WHERE key = 'serial'", [], |r| {
                r.get::<_, String>(0)
            })
            .optional()
            .map_err(db)?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        if bump {
            serial += 1;
            tx.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('serial', ?1)",
                [serial.to_string()],
            )
            .map_err(db)?;
        }
        let now = super::now();
        for ((record, action), sealed_attrs) in records.iter().zip(sealed) {
            let address = match record {
                Record::Put(o) => o.address.clone(),
                Record::Remove(a) => a.clone(),
            };
            let before: Option<(String, String)> = tx
                .prepare_cached("SELECT attributes, sensitive FROM objects WHERE address = ?1")
                .and_then(|mut st| {
                    st.query_row([&address], |r| Ok((r.get(0)?, r.get(1)?)))
                        .optional()
                })
                .map_err(db)?;
            let before_json = before.map(|(a, s)| {
                let attrs = match serde_json::from_str::<serde_json::Value>(&a)
                    .map(|j| Value::from_json(&j))
                {
                    Ok(Value::Map(m)) => m,
                    _ => BTreeMap::new(),
                };
                let sens: Vec<String> = serde_json::from_str(&s).unwrap_or_default();
                redacted_json(&attrs, &sens)
            });
            let after_json = match record {
                Record::Put(o) => {
                    tx.prepare_cached(
                        "INSERT OR REPLACE INTO objects (address, kind, provider, uid, module, attributes, sensitive, dependencies, status, updated_serial, lifecycle)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                    )
                    .and_then(|mut st| {
                        st.execute(params![
                            o.address,
                            o.kind,
                            o.provider,
                            o.uid,
                            o.module,
                            sealed_attrs.unwrap_or_default(),
                            serde_json::to_string(&o.sensitive).unwrap_or_else(|_| "[]".into()),
                            serde_json::to_string(&o.dependencies).unwrap_or_else(|_| "[]".into()),
                            if o.tainted { "tainted" } else { "ok" },
                            serial as i64,
                            serde_json::json!({ "prevent_destroy": o.protected, "triggers": o.triggers }).to_string(),
                        ])
                    })
                    .map_err(db)?;
                    Some(redacted_json(&o.attributes, &o.sensitive))
                }
                Record::Remove(a) => {
                    tx.prepare_cached("DELETE FROM objects WHERE address = ?1")
                        .and_then(|mut st| st.execute([a]))
                        .map_err(db)?;
                    None
                }
            };
            tx.prepare_cached("INSERT INTO history (serial, at, address, action, who, before, after) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
                .and_then(|mut st| {
                    st.execute(params![
                        serial as i64,
                        now,
                        address,
                        action,
                        who,
                        before_json.map(|j| j.to_string()),
                        after_json.map(|j| j.to_string()),
                    ])
                })
                .map_err(db)?;
            tx.prepare_cached("DELETE FROM intents WHERE address = ?1")
                .and_then(|mut st| st.execute([&address]))
                .map_err(db)?;
        }
        tx.commit().map_err(db)?;
        Ok(serial)
    }

    /// Records that several provider calls are about to start, in one transaction.
    pub fn begin_intents(&mut self, intents: &[Intent]) -> Result<(), StateError> {
        let rows: Vec<(String, String, String, String, String)> = intents
            .iter()
            .map(|i| {
                (
                    i.address.clone(),
                    i.action.clone(),
                    i.kind.clone(),
                    self.seal_planned(&i.planned),
                    i.started_at.clone(),
                )
            })
            .collect();
        let path = self.path.display().to_string();
        let db = |source| StateError::Db {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(db)?;
        for r in &rows {
            tx.prepare_cached("INSERT OR REPLACE INTO intents (address, action, kind, planned, started_at) VALUES (?1, ?2, ?3, ?4, ?5)")
                .and_then(|mut st| st.execute(params![r.0, r.1, r.2, r.3, r.4]))
                .map_err(db)?;
        }
        tx.commit().map_err(db)
    }

    /// Every recorded change, oldest first.
    pub fn history(&self) -> Result<Vec<HistoryEntry>, StateError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT serial, at, address, action, who, before, after FROM history ORDER BY id",
            )
            .map_err(self.db())?;
        let rows = stmt
            .query_map([], |r| {
                let parse = |s: Option<String>| s.and_then(|s| serde_json::from_str(&s).ok());
                Ok(HistoryEntry {
                    serial: r.get::<_, i64>(0)? as u64,
                    at: r.get(1)?,
                    address: r.get(2)?,
                    action: r.get(3)?,
                    who: r.get(4)?,
                    before: parse(r.get(5)?),
                    after: parse(r.get(6)?),
                })
            })
            .map_err(self.db())?;
        rows.collect::<Result<Vec<_>, _>>().map_err(self.db())
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<i64, StateError> {
        migrate::current_version(&self.conn).map_err(self.db())
    }
}

fn read_lock(conn: &Connection) -> rusqlite::Result<Option<LockInfo>> {
    conn.query_row(
        "SELECT lock_id, holder, host, pid, operation, since FROM lock WHERE id = 1",
        [],
        |r| {
            Ok(LockInfo {
                id: r.get(0)?,
                holder: r.get(1)?,
                host: r.get(2)?,
                pid: r.get::<_, i64>(3)? as u32,
                operation: r.get(4)?,
                since: r.get(5)?,
            })
        },
    )
    .optional()
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

    fn object(addr: &str, secret: &str) -> Object {
        Object {
            address: addr.into(),
            kind: "random_password".into(),
            provider: "random".into(),
            uid: "secret.default#web.s".into(),
            module: "secret".into(),
            attributes: BTreeMap::from([
                ("length".into(), Value::int(8)),
                ("result".into(), Value::string(secret)),
            ]),
            sensitive: vec!["result".into()],
            dependencies: vec![],
            tainted: false,
            protected: false,
            triggers: None,
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
        let (held, stale) = a.lock("apply").unwrap();
        assert!(stale.is_none());
        match b.lock("apply") {
            Err(StateError::Locked(info)) => {
                assert_eq!(info.id, held.id);
                assert_eq!(info.pid, std::process::id());
                assert_eq!(info.operation, "apply");
            }
            other => panic!("expected Locked, got {other:?}"),
        }
        assert!(a.unlock(&held.id).unwrap());
        assert!(b.lock("plan").is_ok());
    }

    #[test]
    fn intents_survive_until_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = SqliteStore::open(&dir.path().join("s.db")).unwrap();
        let intent = Intent {
            address: "a".into(),
            action: "create".into(),
            kind: "local_file".into(),
            planned: BTreeMap::from([("path".into(), Value::string("x"))]),
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
