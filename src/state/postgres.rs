//! The PostgreSQL state store, for teams: `state { postgres { url = … } }`. Every row is
//! keyed by the environment name, so several environments share one database; tables
//! live in the schema `baton`, migrated on open (versioned, like SQLite's, under a
//! transaction-scoped advisory lock so concurrent first runs do not race).
//!
//! Locks are session advisory locks (`pg_try_advisory_lock`) held on the store's own
//! connection for the whole run, plus a row per scope naming the holder for error
//! messages. When the process dies (even by `kill -9`) its connection closes and the
//! server frees its locks at once; rows left behind are recognised as dead because no
//! session holds their advisory lock any more.
//!
//! The rest of baton calls the store synchronously, also from inside the apply walker's
//! tokio runtime, where a nested `block_on` would panic. So the store owns a small
//! runtime of its own (one worker thread) that drives the connection; each call sends
//! its work there and waits for the answer on a plain channel.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::try_join_all;
use sha2::{Digest, Sha256};
use tokio_postgres::{Client, NoTls, Statement, Transaction};

use super::crypto::StateKey;
use super::deployment::{Blob, Deployment};
use super::rows::{
    self, Codec, DeploymentRow, Dump, HistoryRow, IntentRow, ObjectRow, record_address,
    redacted_after, redacted_before,
};
use super::{
    ENV_SCOPE, HistoryEntry, Intent, LockInfo, LockMode, LockRequest, Record, State, StateError,
};

/// The newest schema version this build writes in PostgreSQL.
pub const LATEST: i64 = 5;

/// PostgreSQL schema migrations. Version 1 is the logical schema of SQLite version 4,
/// with the environment in every key; version 2 adds the row checksums of SQLite
/// version 5 (rows written before have none until they are next written); version 3 the
/// history checksums of SQLite version 6; version 4 its deployments and blobs (version 7;
/// blobs are shared by the environments, being stored by their hash); version 5 the runs
/// of SQLite version 8, claimed with `FOR UPDATE SKIP LOCKED`.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "states, objects, history, intents and locks by environment",
        "CREATE TABLE baton.states (
         environment TEXT PRIMARY KEY,
         lineage TEXT NOT NULL,
         serial BIGINT NOT NULL,
         created_at TEXT NOT NULL
     );
     CREATE TABLE baton.objects (
         environment TEXT NOT NULL,
         address TEXT NOT NULL,
         kind TEXT NOT NULL,
         provider TEXT NOT NULL,
         uid TEXT NOT NULL,
         module TEXT NOT NULL,
         attributes TEXT NOT NULL,
         sensitive TEXT NOT NULL,
         dependencies TEXT NOT NULL,
         status TEXT NOT NULL DEFAULT 'ok',
         updated_serial BIGINT NOT NULL,
         lifecycle TEXT NOT NULL DEFAULT '{}',
         PRIMARY KEY (environment, address)
     );
     CREATE TABLE baton.history (
         id BIGSERIAL PRIMARY KEY,
         environment TEXT NOT NULL,
         serial BIGINT NOT NULL,
         at TEXT NOT NULL,
         address TEXT NOT NULL,
         action TEXT NOT NULL,
         who TEXT NOT NULL,
         before TEXT,
         after TEXT
     );
     CREATE INDEX history_by_environment ON baton.history (environment, id);
     CREATE TABLE baton.intents (
         environment TEXT NOT NULL,
         address TEXT NOT NULL,
         action TEXT NOT NULL,
         kind TEXT NOT NULL,
         planned TEXT NOT NULL,
         started_at TEXT NOT NULL,
         PRIMARY KEY (environment, address)
     );
     CREATE TABLE baton.locks (
         environment TEXT NOT NULL,
         scope TEXT NOT NULL,
         lock_id TEXT NOT NULL,
         mode TEXT NOT NULL,
         holder TEXT NOT NULL,
         host TEXT NOT NULL,
         pid BIGINT NOT NULL,
         operation TEXT NOT NULL,
         since TEXT NOT NULL,
         backend_pid INTEGER NOT NULL,
         key_hi BIGINT NOT NULL,
         key_lo BIGINT NOT NULL,
         PRIMARY KEY (environment, scope, lock_id)
     );",
    ),
    (
        2,
        "row checksums",
        "ALTER TABLE baton.objects ADD COLUMN checksum TEXT;
         ALTER TABLE baton.intents ADD COLUMN checksum TEXT;",
    ),
    (
        3,
        "history checksums",
        "ALTER TABLE baton.history ADD COLUMN checksum TEXT;",
    ),
    (
        4,
        "deployments",
        "CREATE TABLE baton.deployments (
             environment TEXT NOT NULL,
             serial BIGINT NOT NULL,
             document TEXT NOT NULL,
             checksum TEXT NOT NULL,
             PRIMARY KEY (environment, serial)
         );
         CREATE TABLE baton.blobs (digest TEXT PRIMARY KEY, content TEXT NOT NULL);",
    ),
    (
        5,
        "runs",
        "CREATE TABLE baton.runs (
             environment TEXT NOT NULL,
             id TEXT PRIMARY KEY,
             kind TEXT NOT NULL,
             status TEXT NOT NULL,
             requested_by TEXT NOT NULL,
             request TEXT NOT NULL,
             result TEXT,
             node TEXT,
             created_at BIGINT NOT NULL,
             started_at BIGINT,
             finished_at BIGINT,
             heartbeat_at BIGINT
         );
         CREATE INDEX runs_queue ON baton.runs (environment, status, created_at);
         CREATE TABLE baton.run_events (
             run_id TEXT NOT NULL,
             seq BIGINT NOT NULL,
             text TEXT NOT NULL,
             PRIMARY KEY (run_id, seq)
         );",
    ),
];

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// True when a lock row's session still holds its advisory lock.
const LIVE: &str = "EXISTS (SELECT 1 FROM pg_locks l
     WHERE l.locktype = 'advisory' AND l.granted AND l.pid = k.backend_pid
       AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
       AND l.classid::bigint = k.key_hi AND l.objid::bigint = k.key_lo AND l.objsubid = 1)";

/// An environment's state in a PostgreSQL database.
pub struct PostgresStore {
    /// Drives the connection; `None` only while dropping.
    rt: Option<tokio::runtime::Runtime>,
    conn: Arc<tokio::sync::Mutex<Conn>>,
    environment: String,
    location: String,
    key: Option<StateKey>,
    /// On whose behalf locks are taken and changes recorded (`None`: this process's user).
    actor: Option<String>,
    /// The serial of this run's changes, once its first change bumped it.
    run_serial: Option<u64>,
    /// The locks this store holds: id and advisory keys of each.
    held: Vec<(String, Vec<(i64, LockMode)>)>,
}

/// The connection and its prepared statements.
pub(super) struct Conn {
    pub(super) client: Client,
    statements: HashMap<&'static str, Statement>,
}

pub(super) type Work<'c, R> = Pin<Box<dyn Future<Output = R> + Send + 'c>>;

impl Drop for PostgresStore {
    fn drop(&mut self) {
        // Closing the connection ends the session, which frees its advisory locks.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

impl PostgresStore {
    /// Connects to `url`, migrates the schema and creates the state of `environment`
    /// (lineage fixed, serial 0) when it does not exist yet.
    pub fn open(url: &str, environment: &str) -> Result<PostgresStore, StateError> {
        let mut config: tokio_postgres::Config = url.parse().map_err(|e| StateError::Config {
            location: "(the postgres state url)".into(),
            why: format!("not a PostgreSQL URL: {e}"),
        })?;
        let location = format!("{} (environment `{environment}`)", shown_url(&config));
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("baton");
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("baton-state")
            .enable_all()
            .build()
            .map_err(|e| StateError::Config {
                location: location.clone(),
                why: format!("cannot start the state connection's runtime: {e}"),
            })?;
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        rt.spawn(async move {
            let r = match config.connect(NoTls).await {
                Ok((client, connection)) => {
                    tokio::spawn(async move {
                        let _ = connection.await;
                    });
                    Ok(client)
                }
                Err(e) => Err(e),
            };
            let _ = tx.send(r);
        });
        let client = rx
            .recv()
            .expect("the state connection's runtime answers")
            .map_err(|e| pg_error(&location, &e))?;
        let store = PostgresStore {
            rt: Some(rt),
            conn: Arc::new(tokio::sync::Mutex::new(Conn {
                client,
                statements: HashMap::new(),
            })),
            environment: environment.to_string(),
            location,
            key: None,
            actor: None,
            run_serial: None,
            held: Vec::new(),
        };
        let env = store.environment.clone();
        let found = store.run(move |c| Box::pin(async move { c.migrate(&env).await }))?;
        if found > LATEST {
            return Err(StateError::TooNew {
                path: store.location.clone(),
                found,
                supported: LATEST,
            });
        }
        Ok(store)
    }

    /// Runs `work` on the store's runtime with the connection and waits for it. Safe to
    /// call from inside another tokio runtime (it blocks this thread on a channel, never
    /// on a nested runtime).
    fn block<R, F>(&self, work: F) -> R
    where
        R: Send + 'static,
        F: for<'c> FnOnce(&'c mut Conn) -> Work<'c, R> + Send + 'static,
    {
        let conn = self.conn.clone();
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.rt
            .as_ref()
            .expect("the runtime lives as long as the store")
            .spawn(async move {
                let mut guard = conn.lock().await;
                let r = work(&mut guard).await;
                let _ = tx.send(r);
            });
        rx.recv()
            .expect("the state connection's runtime answers every call")
    }

    /// Like [`block`](Self::block), for work that fails with a PostgreSQL error.
    pub(super) fn run<T, F>(&self, work: F) -> Result<T, StateError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut Conn) -> Work<'c, Result<T, tokio_postgres::Error>>
            + Send
            + 'static,
    {
        self.block(work).map_err(|e| pg_error(&self.location, &e))
    }

    /// Seals secrets with `key` from now on (and opens sealed ones with it).
    pub fn with_key(mut self, key: Option<StateKey>) -> PostgresStore {
        self.key = key;
        self
    }

    /// Takes locks and records changes on behalf of `actor` from now on.
    pub fn acting_for(mut self, actor: Option<String>) -> PostgresStore {
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

    /// The server, database and environment, for messages (no password).
    pub fn location(&self) -> String {
        self.location.clone()
    }

    /// The environment whose rows this store reads and writes.
    pub fn environment(&self) -> &str {
        &self.environment
    }

    fn codec(&self) -> Codec<'_> {
        Codec {
            key: self.key.as_ref(),
            location: &self.location,
        }
    }

    /// The lineage (fixed at creation).
    pub fn lineage(&self) -> Result<String, StateError> {
        let env = self.environment.clone();
        self.run(move |c| Box::pin(async move { Ok(c.state_row(&env).await?.0) }))
    }

    /// The serial.
    pub fn serial(&self) -> Result<u64, StateError> {
        let env = self.environment.clone();
        self.run(move |c| Box::pin(async move { Ok(c.state_row(&env).await?.1) }))
    }

    /// Loads everything, from one snapshot (a repeatable-read transaction).
    pub fn load(&self) -> Result<State, StateError> {
        let dump = self.read_dump(false)?;
        let codec = self.codec();
        let mut state = State {
            lineage: dump.lineage,
            serial: dump.serial,
            ..State::default()
        };
        rows::decode_objects(&codec, dump.objects, &mut state)?;
        for row in dump.intents {
            let i = codec.intent(row)?;
            state.intents.insert(i.address.clone(), i);
        }
        Ok(state)
    }

    fn read_dump(&self, with_history: bool) -> Result<Dump, StateError> {
        let env = self.environment.clone();
        self.run(move |c| Box::pin(async move { c.dump(&env, with_history).await }))
    }

    /// Everything the state holds, as stored (secrets stay sealed), every checksum checked.
    pub fn dump(&self) -> Result<Dump, StateError> {
        let dump = self.read_dump(true)?;
        dump.verify(&self.location)?;
        Ok(dump)
    }

    /// Writes `dump` into this environment's state, which must be empty, in one
    /// transaction.
    pub fn restore(&mut self, dump: &Dump) -> Result<(), StateError> {
        let env = self.environment.clone();
        let dump = dump.clone();
        let outcome = self.run(move |c| Box::pin(async move { c.restore(&env, &dump).await }))?;
        match outcome {
            None => Ok(()),
            Some((serial, objects)) => Err(StateError::NotEmpty {
                location: self.location.clone(),
                serial,
                objects,
            }),
        }
    }

    /// Takes the scopes of `request` (all or none), or names who holds one.
    pub fn lock(
        &mut self,
        request: &LockRequest,
    ) -> Result<(LockInfo, Option<LockInfo>), StateError> {
        let (user, host) = super::holder(self.actor.as_deref());
        let me = LockInfo {
            id: uuid::Uuid::new_v4().to_string(),
            scope: ENV_SCOPE.to_string(),
            holder: format!("{user}@{host}"),
            host,
            pid: std::process::id(),
            operation: request.operation.clone(),
            since: super::now(),
        };
        let env = self.environment.clone();
        let wanted: Vec<(String, i64, LockMode)> = request
            .scopes()
            .into_iter()
            .map(|(scope, mode)| {
                let key = advisory_key(&env, &scope);
                (scope, key, mode)
            })
            .collect();
        let who = me.clone();
        let outcome =
            self.run(move |c| Box::pin(async move { c.try_lock(&env, &who, &wanted).await }))?;
        match outcome {
            Ok(keys) => {
                self.held.push((me.id.clone(), keys));
                Ok((me, None))
            }
            Err(holder) => Err(StateError::Locked(holder)),
        }
    }

    /// Releases the lock `id`: this store's own (its advisory locks and rows), or the
    /// rows of a run that is gone. A live run's lock cannot be taken from it.
    pub fn unlock(&mut self, id: &str) -> Result<bool, StateError> {
        let env = self.environment.clone();
        let id_owned = id.to_string();
        if let Some(i) = self.held.iter().position(|(h, _)| h == id) {
            let (held_id, keys) = self.held.remove(i);
            self.run(move |c| Box::pin(async move { c.release(&env, &held_id, &keys).await }))?;
            return Ok(true);
        }
        let outcome =
            self.run(move |c| Box::pin(async move { c.clear_dead_lock(&env, &id_owned).await }))?;
        match outcome {
            Ok(n) => Ok(n > 0),
            Err(live) => Err(StateError::LiveLock(live)),
        }
    }

    /// Every live lock, one entry per scope, ordered by scope.
    pub fn current_locks(&self) -> Result<Vec<LockInfo>, StateError> {
        let env = self.environment.clone();
        self.run(move |c| Box::pin(async move { c.live_locks(&env).await }))
    }

    /// Records that a provider call is about to start.
    pub fn begin_intent(&mut self, intent: &Intent) -> Result<(), StateError> {
        self.begin_intents(std::slice::from_ref(intent))
    }

    /// Records that several provider calls are about to start, in one transaction.
    pub fn begin_intents(&mut self, intents: &[Intent]) -> Result<(), StateError> {
        self.record_and_begin(&[], false, intents).map(drop)
    }

    /// Clears an intent without recording a change (the call failed cleanly).
    pub fn clear_intent(&mut self, address: &str) -> Result<(), StateError> {
        let env = self.environment.clone();
        let address = address.to_string();
        self.run(move |c| {
            Box::pin(async move {
                let st = c.statement(SQL_DELETE_INTENT).await?;
                c.client.execute(&st, &[&env, &address]).await.map(drop)
            })
        })
    }

    /// Records finished changes in one transaction; see `Store::record_many`.
    pub fn record_many(
        &mut self,
        records: &[(&Record, &str)],
        bump: bool,
    ) -> Result<u64, StateError> {
        self.record_and_begin(records, bump, &[])
    }

    /// Finished changes and the intents of the calls they release, in one transaction;
    /// see `Store::record_and_begin`.
    pub fn record_and_begin(
        &mut self,
        records: &[(&Record, &str)],
        bump: bool,
        intents: &[Intent],
    ) -> Result<u64, StateError> {
        let codec = self.codec();
        let intent_rows: Vec<IntentRow> = intents.iter().map(|i| codec.intent_row(i)).collect();
        let items: Vec<Item> = records
            .iter()
            .map(|(r, action)| Item {
                address: record_address(r).to_string(),
                action: action.to_string(),
                put: match r {
                    Record::Put(o) => Some((codec.object_row(o, 0), redacted_after(o))),
                    Record::Remove(_) => None,
                },
            })
            .collect();
        let (user, host) = super::holder(self.actor.as_deref());
        let who = format!("{user}@{host}");
        let env = self.environment.clone();
        let mode = match (bump, self.run_serial) {
            _ if items.is_empty() => SerialMode::Run(self.run_serial.unwrap_or(0)),
            (true, _) => SerialMode::Bump,
            (false, Some(s)) => SerialMode::Run(s),
            (false, None) => SerialMode::Current,
        };
        let bumps = bump && !items.is_empty();
        let serial = self.run(move |c| {
            Box::pin(async move { c.record(&env, mode, &who, items, &intent_rows).await })
        })?;
        if bumps {
            self.run_serial = Some(serial);
        }
        Ok(serial)
    }

    /// Records the configuration an apply applied and the texts it refers to, in one
    /// transaction (a deployment recorded again for its serial replaces the first).
    pub fn put_deployment(&mut self, d: &Deployment, blobs: &[Blob]) -> Result<(), StateError> {
        let env = self.environment.clone();
        let row = DeploymentRow::of(d);
        let blobs = blobs.to_vec();
        self.run(move |c| Box::pin(async move { c.put_deployment(&env, &row, &blobs).await }))
    }

    /// Every recorded deployment, oldest first, checksums checked.
    pub fn deployments(&self) -> Result<Vec<Deployment>, StateError> {
        let env = self.environment.clone();
        let rows = self.run(move |c| Box::pin(async move { c.deployments(&env).await }))?;
        let location = self.location();
        rows.iter().map(|row| row.deployment(&location)).collect()
    }

    /// The serials that have a deployment, oldest first (no document read).
    pub fn deployment_serials(&self) -> Result<Vec<u64>, StateError> {
        let env = self.environment.clone();
        let serials: Vec<i64> =
            self.run(move |c| Box::pin(async move { c.deployment_serials(&env).await }))?;
        Ok(serials.into_iter().map(|s| s as u64).collect())
    }

    /// The deployment of `serial`, checksum checked.
    pub fn deployment(&self, serial: u64) -> Result<Option<Deployment>, StateError> {
        let env = self.environment.clone();
        let row =
            self.run(move |c| Box::pin(async move { c.deployment(&env, serial as i64).await }))?;
        row.map(|row| row.deployment(&self.location())).transpose()
    }

    /// The text stored under `digest`, checked against it.
    pub fn blob(&self, digest: &str) -> Result<Option<Blob>, StateError> {
        let d = digest.to_string();
        let text = self.run(move |c| Box::pin(async move { c.blob(&d).await }))?;
        let location = self.location();
        text.map(|t| rows::checked_blob(&location, digest.to_string(), t))
            .transpose()
    }

    /// Every recorded change, oldest first.
    pub fn history(&self) -> Result<Vec<HistoryEntry>, StateError> {
        let env = self.environment.clone();
        let rows = self.run(move |c| Box::pin(async move { c.history(&env).await }))?;
        let location = self.location();
        rows.into_iter()
            .map(|row| {
                row.verify(&location)?;
                Ok(rows::history_entry(row))
            })
            .collect()
    }

    /// Re-seals every secret with `new` (or stores them in clear), in one transaction.
    pub fn rekey(&mut self, new: Option<StateKey>) -> Result<usize, StateError> {
        let state = self.load()?;
        let codec = Codec {
            key: new.as_ref(),
            location: &self.location,
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
        let n = objects.len();
        let env = self.environment.clone();
        self.run(move |c| Box::pin(async move { c.rekey(&env, &objects, &intents).await }))?;
        self.key = new;
        Ok(n)
    }

    /// The schema version.
    pub fn schema_version(&self) -> Result<i64, StateError> {
        self.run(|c| {
            Box::pin(async move {
                let row = c
                    .client
                    .query_one(
                        "SELECT COALESCE(MAX(version), 0)::bigint FROM baton.migrations",
                        &[],
                    )
                    .await?;
                Ok(row.get(0))
            })
        })
    }
}

/// Under which serial a batch is recorded.
#[derive(Clone, Copy)]
enum SerialMode {
    /// Increment the environment's serial (a run's first change) and use the new value.
    Bump,
    /// The run's serial.
    Run(u64),
    /// The environment's serial as it is.
    Current,
}

/// One change of a recorded batch.
/// A statement parameter.
type Param<'a> = &'a (dyn tokio_postgres::types::ToSql + Sync);

/// The parameters of `SQL_PUT_INTENT`.
fn intent_params<'a>(env: &'a &'a str, i: &'a IntentRow) -> [Param<'a>; 7] {
    [
        env,
        &i.address,
        &i.action,
        &i.kind,
        &i.planned,
        &i.started_at,
        &i.checksum,
    ]
}

/// The parameters of `SQL_PUT_OBJECT`.
fn object_params<'a>(env: &'a &'a str, o: &'a ObjectRow) -> [Param<'a>; 13] {
    [
        env,
        &o.address,
        &o.kind,
        &o.provider,
        &o.uid,
        &o.module,
        &o.attributes,
        &o.sensitive,
        &o.dependencies,
        &o.status,
        &o.updated_serial,
        &o.lifecycle,
        &o.checksum,
    ]
}

struct Item {
    address: String,
    action: String,
    /// The row to write (its serial set in the transaction) and the redacted after.
    put: Option<(ObjectRow, String)>,
}

const SQL_DELETE_INTENT: &str = "DELETE FROM baton.intents WHERE environment = $1 AND address = $2";
const SQL_PUT_INTENT: &str = "INSERT INTO baton.intents (environment, address, action, kind, planned, started_at, checksum)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (environment, address) DO UPDATE SET action = EXCLUDED.action, kind = EXCLUDED.kind,
         planned = EXCLUDED.planned, started_at = EXCLUDED.started_at, checksum = EXCLUDED.checksum";
const SQL_PUT_OBJECT: &str = "INSERT INTO baton.objects (environment, address, kind, provider, uid, module, attributes, sensitive, dependencies, status, updated_serial, lifecycle, checksum)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
     ON CONFLICT (environment, address) DO UPDATE SET kind = EXCLUDED.kind, provider = EXCLUDED.provider,
         uid = EXCLUDED.uid, module = EXCLUDED.module, attributes = EXCLUDED.attributes,
         sensitive = EXCLUDED.sensitive, dependencies = EXCLUDED.dependencies, status = EXCLUDED.status,
         updated_serial = EXCLUDED.updated_serial, lifecycle = EXCLUDED.lifecycle,
         checksum = EXCLUDED.checksum";
const SQL_DELETE_OBJECT: &str = "DELETE FROM baton.objects WHERE environment = $1 AND address = $2";
const SQL_BEFORE: &str =
    "SELECT attributes, sensitive FROM baton.objects WHERE environment = $1 AND address = $2";
const SQL_PUT_HISTORY: &str =
    "INSERT INTO baton.history (environment, serial, at, address, action, who, before, after, checksum)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
const SQL_BUMP: &str =
    "UPDATE baton.states SET serial = serial + 1 WHERE environment = $1 RETURNING serial";
const SQL_SERIAL: &str = "SELECT serial FROM baton.states WHERE environment = $1";

impl Conn {
    /// A prepared statement for `sql` (prepared once per connection).
    async fn statement(&mut self, sql: &'static str) -> Result<Statement, tokio_postgres::Error> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql).await?;
        self.statements.insert(sql, s.clone());
        Ok(s)
    }

    /// Brings the schema to [`LATEST`] and makes sure `env` has a state. Returns the
    /// version found when it is newer than this build (nothing is then changed).
    async fn migrate(&mut self, env: &str) -> Result<i64, tokio_postgres::Error> {
        let tx = self.client.transaction().await?;
        tx.execute(
            "SELECT pg_advisory_xact_lock($1)",
            &[&advisory_key("", "schema migrations")],
        )
        .await?;
        tx.batch_execute(
            "CREATE SCHEMA IF NOT EXISTS baton;
             CREATE TABLE IF NOT EXISTS baton.migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL);",
        )
        .await?;
        let current: i32 = tx
            .query_one(
                "SELECT COALESCE(MAX(version), 0) FROM baton.migrations",
                &[],
            )
            .await?
            .get(0);
        let current = i64::from(current);
        if current > LATEST {
            return Ok(current);
        }
        for (version, description, sql) in MIGRATIONS {
            if *version <= current {
                continue;
            }
            tx.batch_execute(sql).await?;
            tx.execute(
                "INSERT INTO baton.migrations (version, description, applied_at) VALUES ($1, $2, $3)",
                &[&(*version as i32), description, &super::now()],
            )
            .await?;
        }
        tx.execute(
            "INSERT INTO baton.states (environment, lineage, serial, created_at) VALUES ($1, $2, 0, $3)
             ON CONFLICT (environment) DO NOTHING",
            &[&env, &uuid::Uuid::new_v4().to_string(), &super::now()],
        )
        .await?;
        tx.commit().await?;
        Ok(current.max(LATEST))
    }

    async fn state_row(&mut self, env: &str) -> Result<(String, u64), tokio_postgres::Error> {
        let row = self
            .client
            .query_one(
                "SELECT lineage, serial FROM baton.states WHERE environment = $1",
                &[&env],
            )
            .await?;
        Ok((row.get(0), row.get::<_, i64>(1) as u64))
    }

    /// The stored rows of `env`, from one snapshot; history only when asked.
    async fn dump(&mut self, env: &str, with_history: bool) -> Result<Dump, tokio_postgres::Error> {
        let tx = self
            .client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let state = tx
            .query_one(
                "SELECT lineage, serial FROM baton.states WHERE environment = $1",
                &[&env],
            )
            .await?;
        // Byte order (COLLATE "C"), as SQLite sorts: dumps of both compare equal.
        let objects = tx
            .query(
                "SELECT address, kind, provider, uid, module, attributes, sensitive, dependencies, status, updated_serial, lifecycle, checksum
                 FROM baton.objects WHERE environment = $1 ORDER BY address COLLATE \"C\"",
                &[&env],
            )
            .await?
            .into_iter()
            .map(|r| ObjectRow {
                address: r.get(0),
                kind: r.get(1),
                provider: r.get(2),
                uid: r.get(3),
                module: r.get(4),
                attributes: r.get(5),
                sensitive: r.get(6),
                dependencies: r.get(7),
                status: r.get(8),
                updated_serial: r.get(9),
                lifecycle: r.get(10),
                checksum: r.get(11),
            })
            .collect();
        let intents = tx
            .query(
                "SELECT address, action, kind, planned, started_at, checksum FROM baton.intents
                 WHERE environment = $1 ORDER BY address COLLATE \"C\"",
                &[&env],
            )
            .await?
            .into_iter()
            .map(|r| IntentRow {
                address: r.get(0),
                action: r.get(1),
                kind: r.get(2),
                planned: r.get(3),
                started_at: r.get(4),
                checksum: r.get(5),
            })
            .collect();
        let (history, deployments, blobs) = if with_history {
            (
                history_rows(&tx, env).await?,
                deployment_rows(&tx, env).await?,
                blob_rows(&tx, env).await?,
            )
        } else {
            Default::default()
        };
        tx.commit().await?;
        Ok(Dump {
            lineage: state.get(0),
            serial: state.get::<_, i64>(1) as u64,
            objects,
            intents,
            history,
            deployments,
            blobs,
        })
    }

    async fn put_deployment(
        &mut self,
        env: &str,
        row: &DeploymentRow,
        blobs: &[Blob],
    ) -> Result<(), tokio_postgres::Error> {
        let tx = self.client.transaction().await?;
        put_deployment(&tx, env, row).await?;
        for b in blobs {
            put_blob(&tx, b).await?;
        }
        tx.commit().await
    }

    async fn deployments(
        &mut self,
        env: &str,
    ) -> Result<Vec<DeploymentRow>, tokio_postgres::Error> {
        let tx = self.client.transaction().await?;
        let rows = deployment_rows(&tx, env).await?;
        tx.commit().await?;
        Ok(rows)
    }

    async fn deployment(
        &mut self,
        env: &str,
        serial: i64,
    ) -> Result<Option<DeploymentRow>, tokio_postgres::Error> {
        Ok(self
            .client
            .query_opt(
                "SELECT serial, document, checksum FROM baton.deployments
                 WHERE environment = $1 AND serial = $2",
                &[&env, &serial],
            )
            .await?
            .map(|r| DeploymentRow {
                serial: r.get(0),
                document: r.get(1),
                checksum: r.get(2),
            }))
    }

    async fn deployment_serials(&mut self, env: &str) -> Result<Vec<i64>, tokio_postgres::Error> {
        let rows = self
            .client
            .query(
                "SELECT serial FROM baton.deployments WHERE environment = $1 ORDER BY serial",
                &[&env],
            )
            .await?;
        Ok(rows.into_iter().map(|r| r.get(0)).collect())
    }

    async fn blob(&mut self, digest: &str) -> Result<Option<String>, tokio_postgres::Error> {
        Ok(self
            .client
            .query_opt(
                "SELECT content FROM baton.blobs WHERE digest = $1",
                &[&digest],
            )
            .await?
            .map(|r| r.get(0)))
    }

    async fn history(&mut self, env: &str) -> Result<Vec<HistoryRow>, tokio_postgres::Error> {
        let tx = self.client.transaction().await?;
        let rows = history_rows(&tx, env).await?;
        tx.commit().await?;
        Ok(rows)
    }

    /// Restores `dump` into an empty state; `Some((serial, objects))` when not empty.
    async fn restore(
        &mut self,
        env: &str,
        dump: &Dump,
    ) -> Result<Option<(u64, usize)>, tokio_postgres::Error> {
        let tx = self.client.transaction().await?;
        let row = tx
            .query_one(
                "SELECT s.serial,
                        (SELECT COUNT(*) FROM baton.objects WHERE environment = $1),
                        (SELECT COUNT(*) FROM baton.history WHERE environment = $1)
                 FROM baton.states s WHERE s.environment = $1 FOR UPDATE",
                &[&env],
            )
            .await?;
        let (serial, objects, history): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
        if serial != 0 || objects != 0 || history != 0 {
            return Ok(Some((serial as u64, objects as usize)));
        }
        tx.execute(
            "UPDATE baton.states SET lineage = $2, serial = $3 WHERE environment = $1",
            &[&env, &dump.lineage, &(dump.serial as i64)],
        )
        .await?;
        tx.execute("DELETE FROM baton.intents WHERE environment = $1", &[&env])
            .await?;
        for o in &dump.objects {
            put_object(&tx, env, o).await?;
        }
        for i in &dump.intents {
            tx.execute(SQL_PUT_INTENT, &intent_params(&env, i)).await?;
        }
        for h in &dump.history {
            put_history(&tx, env, h).await?;
        }
        for d in &dump.deployments {
            put_deployment(&tx, env, d).await?;
        }
        for b in &dump.blobs {
            put_blob(&tx, b).await?;
        }
        tx.commit().await?;
        Ok(None)
    }

    /// Records a batch in one transaction; a bump increments the environment's serial
    /// atomically (its row lock serialises concurrent bumps until commit).
    async fn record(
        &mut self,
        env: &str,
        mode: SerialMode,
        who: &str,
        mut items: Vec<Item>,
        intents: &[IntentRow],
    ) -> Result<u64, tokio_postgres::Error> {
        let before_st = self.statement(SQL_BEFORE).await?;
        let put_st = self.statement(SQL_PUT_OBJECT).await?;
        let delete_st = self.statement(SQL_DELETE_OBJECT).await?;
        let history_st = self.statement(SQL_PUT_HISTORY).await?;
        let intent_st = self.statement(SQL_DELETE_INTENT).await?;
        let bump_st = self.statement(SQL_BUMP).await?;
        let serial_st = self.statement(SQL_SERIAL).await?;
        let put_intent_st = match intents.is_empty() {
            true => None,
            false => Some(self.statement(SQL_PUT_INTENT).await?),
        };
        let tx = self.client.transaction().await?;
        let serial: i64 = match mode {
            SerialMode::Bump => tx.query_one(&bump_st, &[&env]).await?.get(0),
            SerialMode::Run(s) => s as i64,
            SerialMode::Current => tx.query_one(&serial_st, &[&env]).await?.get(0),
        };
        let now = super::now();
        // Statements are pipelined: sent together, answered in order, so a wave of 100
        // changes costs two round trips to the server, not 500. The history rows need the
        // objects as they were, so those are read first.
        let before_params: Vec<[Param<'_>; 2]> =
            items.iter().map(|i| [&env as Param, &i.address]).collect();
        let befores: Vec<Option<String>> =
            try_join_all(before_params.iter().map(|p| tx.query_opt(&before_st, p)))
                .await?
                .into_iter()
                .map(|r| r.map(|r| redacted_before(r.get(0), r.get(1))))
                .collect();
        let puts: Vec<Option<(ObjectRow, String)>> = items
            .iter_mut()
            .map(|item| {
                item.put.take().map(|(mut row, after)| {
                    row.updated_serial = serial;
                    row.seal();
                    (row, after)
                })
            })
            .collect();
        let afters: Vec<Option<&String>> = puts
            .iter()
            .map(|p| p.as_ref().map(|(_, after)| after))
            .collect();
        let sums: Vec<Option<String>> = items
            .iter()
            .enumerate()
            .map(|(k, item)| {
                HistoryRow::new(
                    serial,
                    now.clone(),
                    item.address.clone(),
                    item.action.to_string(),
                    who.to_string(),
                    befores[k].clone(),
                    afters[k].cloned(),
                )
                .checksum
            })
            .collect();
        let mut writes: Vec<(&Statement, Vec<Param<'_>>)> =
            Vec::with_capacity(items.len() * 3 + intents.len());
        for (k, item) in items.iter().enumerate() {
            match &puts[k] {
                Some((row, _)) => writes.push((&put_st, object_params(&env, row).to_vec())),
                None => writes.push((&delete_st, vec![&env, &item.address])),
            }
            writes.push((
                &history_st,
                vec![
                    &env,
                    &serial,
                    &now,
                    &item.address,
                    &item.action,
                    &who,
                    &befores[k],
                    &afters[k],
                    &sums[k],
                ],
            ));
            writes.push((&intent_st, vec![&env, &item.address]));
        }
        if let Some(put_intent_st) = &put_intent_st {
            for i in intents {
                writes.push((put_intent_st, intent_params(&env, i).to_vec()));
            }
        }
        try_join_all(writes.iter().map(|(st, p)| tx.execute(*st, p))).await?;
        tx.commit().await?;
        Ok(serial as u64)
    }

    async fn rekey(
        &mut self,
        env: &str,
        objects: &[ObjectRow],
        intents: &[IntentRow],
    ) -> Result<(), tokio_postgres::Error> {
        let tx = self.client.transaction().await?;
        for o in objects {
            put_object(&tx, env, o).await?;
        }
        for i in intents {
            tx.execute(SQL_PUT_INTENT, &intent_params(&env, i)).await?;
        }
        tx.commit().await
    }

    /// Takes every wanted advisory lock, or none: on the first one held elsewhere, the
    /// ones taken are released and the holder is returned.
    async fn try_lock(
        &mut self,
        env: &str,
        me: &LockInfo,
        wanted: &[(String, i64, LockMode)],
    ) -> Result<Result<Vec<(i64, LockMode)>, LockInfo>, tokio_postgres::Error> {
        let mut taken: Vec<(i64, LockMode)> = Vec::new();
        for (scope, key, mode) in wanted {
            let sql = match mode {
                LockMode::Shared => "SELECT pg_try_advisory_lock_shared($1)",
                LockMode::Exclusive => "SELECT pg_try_advisory_lock($1)",
            };
            let got: bool = self.client.query_one(sql, &[key]).await?.get(0);
            if !got {
                self.unlock_keys(&taken).await?;
                return Ok(Err(self.holder(env, scope, *mode).await?));
            }
            taken.push((*key, *mode));
        }
        let tx = self.client.transaction().await?;
        let scopes: Vec<&str> = wanted.iter().map(|(s, _, _)| s.as_str()).collect();
        // Rows of runs that are gone (their session ended, so no lock backs them).
        tx.execute(
            &format!(
                "DELETE FROM baton.locks k WHERE k.environment = $1 AND k.scope = ANY($2) AND NOT {LIVE}"
            ),
            &[&env, &scopes],
        )
        .await?;
        for (scope, key, mode) in wanted {
            let (hi, lo) = key_halves(*key);
            tx.execute(
                "INSERT INTO baton.locks (environment, scope, lock_id, mode, holder, host, pid, operation, since, backend_pid, key_hi, key_lo)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, pg_backend_pid(), $10, $11)",
                &[
                    &env,
                    scope,
                    &me.id,
                    &mode.as_str(),
                    &me.holder,
                    &me.host,
                    &i64::from(me.pid),
                    &me.operation,
                    &me.since,
                    &hi,
                    &lo,
                ],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(Ok(taken))
    }

    async fn unlock_keys(&mut self, keys: &[(i64, LockMode)]) -> Result<(), tokio_postgres::Error> {
        for (key, mode) in keys {
            let sql = match mode {
                LockMode::Shared => "SELECT pg_advisory_unlock_shared($1)",
                LockMode::Exclusive => "SELECT pg_advisory_unlock($1)",
            };
            self.client.query_one(sql, &[key]).await?;
        }
        Ok(())
    }

    /// Who holds `scope` in a way that conflicts with `mode`. The holder writes its row
    /// just after taking the advisory lock, so a missing row is looked for again briefly.
    async fn holder(
        &mut self,
        env: &str,
        scope: &str,
        mode: LockMode,
    ) -> Result<LockInfo, tokio_postgres::Error> {
        let sql = format!(
            "SELECT lock_id, scope, holder, host, pid, operation, since FROM baton.locks k
             WHERE k.environment = $1 AND k.scope = $2 AND (k.mode = 'exclusive' OR $3 = 'exclusive') AND {LIVE}
             ORDER BY since, lock_id LIMIT 1"
        );
        for _ in 0..20 {
            if let Some(r) = self
                .client
                .query_opt(&sql, &[&env, &scope, &mode.as_str()])
                .await?
            {
                return Ok(lock_info(&r));
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        Ok(LockInfo {
            id: "(unknown)".into(),
            scope: scope.to_string(),
            holder: "another session".into(),
            host: String::new(),
            pid: 0,
            operation: "(unknown)".into(),
            since: "(unknown)".into(),
        })
    }

    async fn release(
        &mut self,
        env: &str,
        id: &str,
        keys: &[(i64, LockMode)],
    ) -> Result<(), tokio_postgres::Error> {
        self.client
            .execute(
                "DELETE FROM baton.locks WHERE environment = $1 AND lock_id = $2",
                &[&env, &id],
            )
            .await?;
        self.unlock_keys(keys).await
    }

    /// Removes the rows of lock `id` when no live session backs them; the count removed,
    /// or the live holder.
    async fn clear_dead_lock(
        &mut self,
        env: &str,
        id: &str,
    ) -> Result<Result<u64, LockInfo>, tokio_postgres::Error> {
        let live = self
            .client
            .query_opt(
                &format!(
                    "SELECT lock_id, scope, holder, host, pid, operation, since FROM baton.locks k
                     WHERE k.environment = $1 AND k.lock_id = $2 AND {LIVE} LIMIT 1"
                ),
                &[&env, &id],
            )
            .await?;
        if let Some(r) = live {
            return Ok(Err(lock_info(&r)));
        }
        let n = self
            .client
            .execute(
                "DELETE FROM baton.locks WHERE environment = $1 AND lock_id = $2",
                &[&env, &id],
            )
            .await?;
        Ok(Ok(n))
    }

    async fn live_locks(&mut self, env: &str) -> Result<Vec<LockInfo>, tokio_postgres::Error> {
        let rows = self
            .client
            .query(
                &format!(
                    "SELECT lock_id, scope, holder, host, pid, operation, since FROM baton.locks k
                     WHERE k.environment = $1 AND {LIVE}
                     ORDER BY scope COLLATE \"C\", since, lock_id"
                ),
                &[&env],
            )
            .await?;
        Ok(rows.iter().map(lock_info).collect())
    }
}

async fn deployment_rows(
    tx: &Transaction<'_>,
    env: &str,
) -> Result<Vec<DeploymentRow>, tokio_postgres::Error> {
    Ok(tx
        .query(
            "SELECT serial, document, checksum FROM baton.deployments
             WHERE environment = $1 ORDER BY serial",
            &[&env],
        )
        .await?
        .into_iter()
        .map(|r| DeploymentRow {
            serial: r.get(0),
            document: r.get(1),
            checksum: r.get(2),
        })
        .collect())
}

/// The blobs the deployments of `env` refer to.
async fn blob_rows(tx: &Transaction<'_>, env: &str) -> Result<Vec<Blob>, tokio_postgres::Error> {
    let mut digests = std::collections::BTreeSet::new();
    for row in deployment_rows(tx, env).await? {
        if let Ok(d) = serde_json::from_str::<Deployment>(&row.document) {
            digests.extend(d.score.into_values());
            digests.extend(d.modules.into_values().map(|m| m.sha256));
        }
    }
    let digests: Vec<String> = digests.into_iter().collect();
    Ok(tx
        .query(
            "SELECT digest, content FROM baton.blobs WHERE digest = ANY($1) ORDER BY digest",
            &[&digests],
        )
        .await?
        .into_iter()
        .map(|r| Blob {
            digest: r.get(0),
            text: r.get(1),
        })
        .collect())
}

async fn put_deployment(
    tx: &Transaction<'_>,
    env: &str,
    d: &DeploymentRow,
) -> Result<(), tokio_postgres::Error> {
    tx.execute(
        "INSERT INTO baton.deployments (environment, serial, document, checksum)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (environment, serial) DO UPDATE
         SET document = EXCLUDED.document, checksum = EXCLUDED.checksum",
        &[&env, &d.serial, &d.document, &d.checksum],
    )
    .await
    .map(drop)
}

async fn put_blob(tx: &Transaction<'_>, b: &Blob) -> Result<(), tokio_postgres::Error> {
    tx.execute(
        "INSERT INTO baton.blobs (digest, content) VALUES ($1, $2) ON CONFLICT (digest) DO NOTHING",
        &[&b.digest, &b.text],
    )
    .await
    .map(drop)
}

async fn history_rows(
    tx: &Transaction<'_>,
    env: &str,
) -> Result<Vec<HistoryRow>, tokio_postgres::Error> {
    Ok(tx
        .query(
            "SELECT serial, at, address, action, who, before, after, checksum FROM baton.history
             WHERE environment = $1 ORDER BY id",
            &[&env],
        )
        .await?
        .into_iter()
        .map(|r| HistoryRow {
            serial: r.get(0),
            at: r.get(1),
            address: r.get(2),
            action: r.get(3),
            who: r.get(4),
            before: r.get(5),
            after: r.get(6),
            checksum: r.get(7),
        })
        .collect())
}

async fn put_object(
    tx: &Transaction<'_>,
    env: &str,
    o: &ObjectRow,
) -> Result<(), tokio_postgres::Error> {
    tx.execute(SQL_PUT_OBJECT, &object_params(&env, o))
        .await
        .map(drop)
}

async fn put_history(
    tx: &Transaction<'_>,
    env: &str,
    h: &HistoryRow,
) -> Result<(), tokio_postgres::Error> {
    tx.execute(
        SQL_PUT_HISTORY,
        &[
            &env,
            &h.serial,
            &h.at,
            &h.address,
            &h.action,
            &h.who,
            &h.before,
            &h.after,
            &h.checksum,
        ],
    )
    .await
    .map(drop)
}

/// A PostgreSQL failure as one line: what failed, and the server's own message (its
/// detail and hint too) or the underlying I/O error.
fn pg_error(location: &str, e: &tokio_postgres::Error) -> StateError {
    let why = match e.as_db_error() {
        Some(db) => {
            let mut s = format!("{}: {}", db.severity(), db.message());
            if let Some(d) = db.detail() {
                s.push_str(&format!(" ({d})"));
            }
            if let Some(h) = db.hint() {
                s.push_str(&format!("; hint: {h}"));
            }
            s
        }
        None => {
            let mut s = e.to_string();
            let mut cause = std::error::Error::source(e);
            while let Some(c) = cause {
                s.push_str(&format!(": {c}"));
                cause = c.source();
            }
            s
        }
    };
    StateError::Postgres {
        location: location.to_string(),
        why,
    }
}

fn lock_info(r: &tokio_postgres::Row) -> LockInfo {
    LockInfo {
        id: r.get(0),
        scope: r.get(1),
        holder: r.get(2),
        host: r.get(3),
        pid: r.get::<_, i64>(4) as u32,
        operation: r.get(5),
        since: r.get(6),
    }
}

/// The advisory lock key of a scope of an environment: 8 bytes of SHA-256, so every
/// baton agrees on it without coordination.
pub(super) fn advisory_key(env: &str, scope: &str) -> i64 {
    let digest = Sha256::digest(format!("baton state lock\0{env}\0{scope}").as_bytes());
    i64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
}

/// How `pg_locks` shows a bigint advisory key: high half in `classid`, low in `objid`.
fn key_halves(key: i64) -> (i64, i64) {
    let k = key as u64;
    ((k >> 32) as i64, (k & 0xffff_ffff) as i64)
}

/// `postgres://user@host:port/db`, never the password.
fn shown_url(c: &tokio_postgres::Config) -> String {
    let host = match c.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = c.get_ports().first().copied().unwrap_or(5432);
    let user = c.get_user().unwrap_or("");
    let db = c.get_dbname().unwrap_or(user);
    let at = if user.is_empty() {
        String::new()
    } else {
        format!("{user}@")
    };
    format!("postgres://{at}{host}:{port}/{db}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_and_split_as_pg_locks_shows_them() {
        let k = advisory_key("prod", "workload:web");
        assert_eq!(k, advisory_key("prod", "workload:web"));
        assert_ne!(k, advisory_key("dev", "workload:web"));
        let (hi, lo) = key_halves(-1);
        assert_eq!((hi, lo), (0xffff_ffff, 0xffff_ffff));
        let (hi, lo) = key_halves(0x0000_0001_0000_0002);
        assert_eq!((hi, lo), (1, 2));
    }

    #[test]
    fn the_shown_url_has_no_password() {
        let c: tokio_postgres::Config = "postgres://ci:hunter2@db.example:6543/state"
            .parse()
            .unwrap();
        assert_eq!(shown_url(&c), "postgres://ci@db.example:6543/state");
    }
}
