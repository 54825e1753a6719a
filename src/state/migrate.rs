//! Versioned schema migrations of the state database. Each migration runs once, in a
//! transaction, and is recorded in `migrations`; a database newer than this build is
//! refused rather than touched.
//!
//! - 1: meta (lineage, serial), objects, history, lock.
//! - 2: intents (interrupted provider calls) and `objects.status` (tainted objects).
//! - 3: `objects.lifecycle` (JSON: `prevent_destroy`, and the `replace_triggered_by`
//!   values of the last apply), so protection outlives the configuration that set it.
//! - 4: `locks` (a row per locked scope: the environment, a workload, a shared
//!   resource) replaces the single-row `lock`; a lock held then is kept, on `env`.
//! - 5: a `checksum` column in `objects`, `intents` and `meta` (SHA-256 of the row's
//!   other columns, checked on every load). Rows of older versions have none until
//!   they are next written; the two `meta` rows get theirs here, and `meta.objects`
//!   (how many objects the state records, kept by every write) is added.
//! - 6: a `checksum` column in `history`, checked whenever the history is read. Rows of
//!   older versions have none.
//! - 7: `deployments` (the configuration each apply applied, a JSON document under a
//!   checksum, by serial) and `blobs` (the texts they refer to, by SHA-256).
//! - 8: `runs` (the queued and finished runs of `baton serve`: kind, status, who asked,
//!   the node running it and its heartbeat) and `run_events` (each run's log, in order).

use rusqlite::{Connection, OptionalExtension};

use super::StateError;

/// The newest schema version this build writes.
pub const LATEST: i64 = 8;

const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "objects, history, lock",
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
         CREATE TABLE objects (
             address TEXT PRIMARY KEY,
             kind TEXT NOT NULL,
             provider TEXT NOT NULL,
             uid TEXT NOT NULL,
             module TEXT NOT NULL,
             attributes TEXT NOT NULL,
             sensitive TEXT NOT NULL,
             dependencies TEXT NOT NULL,
             updated_serial INTEGER NOT NULL
         );
         CREATE TABLE history (
             id INTEGER PRIMARY KEY AUTOINCREMENT,
             serial INTEGER NOT NULL,
             at TEXT NOT NULL,
             address TEXT NOT NULL,
             action TEXT NOT NULL,
             who TEXT NOT NULL,
             before TEXT,
             after TEXT
         );
         CREATE TABLE lock (
             id INTEGER PRIMARY KEY CHECK (id = 1),
             lock_id TEXT NOT NULL,
             holder TEXT NOT NULL,
             host TEXT NOT NULL,
             pid INTEGER NOT NULL,
             operation TEXT NOT NULL,
             since TEXT NOT NULL
         );",
    ),
    (
        2,
        "intents and tainted objects",
        "CREATE TABLE intents (
             address TEXT PRIMARY KEY,
             action TEXT NOT NULL,
             kind TEXT NOT NULL,
             planned TEXT NOT NULL,
             started_at TEXT NOT NULL
         );
         ALTER TABLE objects ADD COLUMN status TEXT NOT NULL DEFAULT 'ok';",
    ),
    (
        3,
        "lifecycle rules recorded per object",
        "ALTER TABLE objects ADD COLUMN lifecycle TEXT NOT NULL DEFAULT '{}';",
    ),
    (
        4,
        "fine-grained locks",
        "CREATE TABLE locks (
             scope TEXT NOT NULL,
             lock_id TEXT NOT NULL,
             mode TEXT NOT NULL,
             holder TEXT NOT NULL,
             host TEXT NOT NULL,
             pid INTEGER NOT NULL,
             operation TEXT NOT NULL,
             since TEXT NOT NULL,
             PRIMARY KEY (scope, lock_id)
         );
         INSERT INTO locks SELECT 'env', lock_id, 'exclusive', holder, host, pid, operation, since FROM lock;
         DROP TABLE lock;",
    ),
    (
        5,
        "row checksums",
        "ALTER TABLE objects ADD COLUMN checksum TEXT;
         ALTER TABLE intents ADD COLUMN checksum TEXT;
         ALTER TABLE meta ADD COLUMN checksum TEXT;",
    ),
    (
        6,
        "history checksums",
        "ALTER TABLE history ADD COLUMN checksum TEXT;",
    ),
    (
        7,
        "deployments",
        "CREATE TABLE deployments (
             serial INTEGER PRIMARY KEY,
             document TEXT NOT NULL,
             checksum TEXT NOT NULL
         );
         CREATE TABLE blobs (digest TEXT PRIMARY KEY, content TEXT NOT NULL);",
    ),
    (
        8,
        "runs",
        "CREATE TABLE runs (
             id TEXT PRIMARY KEY,
             kind TEXT NOT NULL,
             status TEXT NOT NULL,
             requested_by TEXT NOT NULL,
             request TEXT NOT NULL,
             result TEXT,
             node TEXT,
             created_at INTEGER NOT NULL,
             started_at INTEGER,
             finished_at INTEGER,
             heartbeat_at INTEGER
         );
         CREATE INDEX runs_queue ON runs (status, created_at);
         CREATE TABLE run_events (
             run_id TEXT NOT NULL,
             seq INTEGER NOT NULL,
             text TEXT NOT NULL,
             PRIMARY KEY (run_id, seq)
         );",
    ),
];

/// The version recorded in the database (0 for a new file).
pub fn current_version(conn: &Connection) -> rusqlite::Result<i64> {
    let has_table: Option<String> = conn
        .query_row(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'migrations'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if has_table.is_none() {
        return Ok(0);
    }
    conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM migrations",
        [],
        |r| r.get(0),
    )
}

/// Brings the database to [`LATEST`], creating lineage and serial on a new database.
pub fn migrate(conn: &mut Connection, path: &str) -> Result<(), StateError> {
    let db = |source| StateError::Db {
        path: path.to_string(),
        source,
    };
    // A database of the current schema needs no write transaction: many readers (a
    // server's requests) open it at once without queueing for SQLite's write lock.
    // `present` is given the version read, so it checks and writes nothing back: a
    // write here, outside a transaction, would put back a serial another run had
    // bumped meanwhile.
    if current_version(conn).map_err(db)? == LATEST {
        return present(conn, path, LATEST);
    }
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(db)?;
    tx.execute_batch("CREATE TABLE IF NOT EXISTS migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL);")
        .map_err(db)?;
    let current = current_version(&tx).map_err(db)?;
    if current > LATEST {
        return Err(StateError::TooNew {
            path: path.to_string(),
            found: current,
            supported: LATEST,
        });
    }
    for (version, description, sql) in MIGRATIONS {
        if *version <= current {
            continue;
        }
        tx.execute_batch(sql).map_err(db)?;
        tx.execute(
            "INSERT INTO migrations (version, description, applied_at) VALUES (?1, ?2, ?3)",
            rusqlite::params![version, description, super::now()],
        )
        .map_err(db)?;
    }
    if current == 0 {
        super::sqlite::put_meta(&tx, "lineage", &uuid::Uuid::new_v4().to_string()).map_err(db)?;
        super::sqlite::put_meta(&tx, "serial", "0").map_err(db)?;
        super::sqlite::put_meta(&tx, "objects", "0").map_err(db)?;
    } else {
        present(&tx, path, current)?;
        if current < 5 {
            let objects: i64 = tx
                .query_row("SELECT COUNT(*) FROM objects", [], |r| r.get(0))
                .map_err(db)?;
            super::sqlite::put_meta(&tx, "objects", &objects.to_string()).map_err(db)?;
        }
    }
    tx.commit().map_err(db)
}

/// Checks that lineage and serial are there (a state baton made always has both; one
/// without them was damaged, and making a new lineage would disown every object
/// recorded in it); below version 5 their rows are written again to get a checksum.
fn present(conn: &Connection, path: &str, current: i64) -> Result<(), StateError> {
    let db = |source| StateError::Db {
        path: path.to_string(),
        source,
    };
    for key in ["lineage", "serial"] {
        let value: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(db)?;
        match value {
            None => {
                return Err(StateError::Unreadable {
                    path: path.to_string(),
                    why: format!("its `{key}` is missing from the table `meta`"),
                });
            }
            Some(v) if current < 5 => super::sqlite::put_meta(conn, key, &v).map_err(db)?,
            Some(_) => {}
        }
    }
    Ok(())
}
