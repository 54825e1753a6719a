//! Runs (`baton serve`'s queue): a row per queued, running or finished run of an
//! environment, and each run's log. A run is claimed by exactly one node: on SQLite in
//! one `UPDATE … RETURNING` (SQLite serialises writers), on PostgreSQL with
//! `FOR UPDATE SKIP LOCKED`. A running run's node writes a heartbeat; a run whose
//! heartbeat lapsed is marked abandoned by whichever node looks next.

use rusqlite::{Connection, OptionalExtension};

/// One run as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Run {
    /// Its id (a UUID).
    pub id: String,
    /// `plan`, `apply`, `destroy`, `drift`.
    pub kind: String,
    /// `queued`, `running`, `succeeded`, `failed`, `abandoned`.
    pub status: String,
    /// The token name that asked for it (or `schedule`).
    pub requested_by: String,
    /// What was asked (JSON, the caller's format).
    pub request: String,
    /// What came of it (JSON, the caller's format), once finished.
    pub result: Option<String>,
    /// The node that claimed it.
    pub node: Option<String>,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds, once claimed.
    pub started_at: Option<i64>,
    /// Unix milliseconds, once finished.
    pub finished_at: Option<i64>,
    /// Unix milliseconds of the last heartbeat of its node.
    pub heartbeat_at: Option<i64>,
}

impl Run {
    /// Whether it ended (succeeded, failed, abandoned).
    pub fn finished(&self) -> bool {
        !matches!(self.status.as_str(), "queued" | "running")
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

const COLUMNS: &str = "id, kind, status, requested_by, request, result, node, created_at, started_at, finished_at, heartbeat_at";

fn sqlite_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Run> {
    Ok(Run {
        id: r.get(0)?,
        kind: r.get(1)?,
        status: r.get(2)?,
        requested_by: r.get(3)?,
        request: r.get(4)?,
        result: r.get(5)?,
        node: r.get(6)?,
        created_at: r.get(7)?,
        started_at: r.get(8)?,
        finished_at: r.get(9)?,
        heartbeat_at: r.get(10)?,
    })
}

/// SQLite: queues `run`.
pub fn sqlite_enqueue(c: &Connection, run: &Run) -> rusqlite::Result<()> {
    c.execute(
        &format!(
            "INSERT INTO runs ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
        ),
        rusqlite::params![
            run.id,
            run.kind,
            run.status,
            run.requested_by,
            run.request,
            run.result,
            run.node,
            run.created_at,
            run.started_at,
            run.finished_at,
            run.heartbeat_at
        ],
    )?;
    Ok(())
}

/// SQLite: queues `run` unless a run of its kind is queued or running, or was queued at
/// or after `since` (the check and the insert in one write transaction: SQLite runs one
/// at a time). Whether it did.
pub fn sqlite_enqueue_unless(c: &Connection, run: &Run, since: i64) -> rusqlite::Result<bool> {
    let tx = rusqlite::Transaction::new_unchecked(c, rusqlite::TransactionBehavior::Immediate)?;
    let due: bool = tx.query_row(
        "SELECT NOT EXISTS (SELECT 1 FROM runs WHERE kind = ?1 AND (status IN ('queued', 'running') OR created_at >= ?2))",
        rusqlite::params![run.kind, since],
        |r| r.get(0),
    )?;
    if due {
        sqlite_enqueue(&tx, run)?;
    }
    tx.commit()?;
    Ok(due)
}

/// SQLite: claims the oldest queued run for `node` (one statement: one writer at a time).
pub fn sqlite_claim(c: &Connection, node: &str) -> rusqlite::Result<Option<Run>> {
    let now = now_ms();
    c.query_row(
        &format!(
            "UPDATE runs SET status = 'running', node = ?1, started_at = ?2, heartbeat_at = ?2
             WHERE id = (SELECT id FROM runs WHERE status = 'queued' ORDER BY created_at, id LIMIT 1)
               AND status = 'queued'
             RETURNING {COLUMNS}"
        ),
        rusqlite::params![node, now],
        sqlite_row,
    )
    .optional()
}

/// SQLite: the heartbeat of `node` on its running runs.
pub fn sqlite_heartbeat(c: &Connection, node: &str) -> rusqlite::Result<()> {
    c.execute(
        "UPDATE runs SET heartbeat_at = ?2 WHERE node = ?1 AND status = 'running'",
        rusqlite::params![node, now_ms()],
    )?;
    Ok(())
}

/// SQLite: ends run `id` with `status` and `result` (only while it is running: an
/// abandoned run stays abandoned).
pub fn sqlite_finish(
    c: &Connection,
    id: &str,
    status: &str,
    result: &str,
) -> rusqlite::Result<bool> {
    Ok(c.execute(
        "UPDATE runs SET status = ?2, result = ?3, finished_at = ?4 WHERE id = ?1 AND status = 'running'",
        rusqlite::params![id, status, result, now_ms()],
    )? == 1)
}

/// SQLite: marks abandoned every running run whose heartbeat is older than `before`.
pub fn sqlite_abandon(c: &Connection, before: i64) -> rusqlite::Result<usize> {
    c.execute(
        "UPDATE runs SET status = 'abandoned', finished_at = ?2,
             result = '{\"error\":\"the node running it stopped (its heartbeat lapsed)\"}'
         WHERE status = 'running' AND heartbeat_at < ?1",
        rusqlite::params![before, now_ms()],
    )
}

/// SQLite: appends line `seq` to the log of run `id`.
pub fn sqlite_event(c: &Connection, id: &str, seq: i64, text: &str) -> rusqlite::Result<()> {
    c.execute(
        "INSERT OR REPLACE INTO run_events (run_id, seq, text) VALUES (?1, ?2, ?3)",
        rusqlite::params![id, seq, text],
    )?;
    Ok(())
}

/// SQLite: run `id`.
pub fn sqlite_get(c: &Connection, id: &str) -> rusqlite::Result<Option<Run>> {
    c.query_row(
        &format!("SELECT {COLUMNS} FROM runs WHERE id = ?1"),
        [id],
        sqlite_row,
    )
    .optional()
}

/// SQLite: every run, oldest first.
pub fn sqlite_list(c: &Connection) -> rusqlite::Result<Vec<Run>> {
    let mut s = c.prepare(&format!(
        "SELECT {COLUMNS} FROM runs ORDER BY created_at, id"
    ))?;
    s.query_map([], sqlite_row)?.collect()
}

/// SQLite: the log lines of run `id` after `after`, in order.
pub fn sqlite_events(c: &Connection, id: &str, after: i64) -> rusqlite::Result<Vec<(i64, String)>> {
    let mut s =
        c.prepare("SELECT seq, text FROM run_events WHERE run_id = ?1 AND seq > ?2 ORDER BY seq")?;
    s.query_map(rusqlite::params![id, after], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect()
}

fn pg_row(r: &tokio_postgres::Row) -> Run {
    Run {
        id: r.get(0),
        kind: r.get(1),
        status: r.get(2),
        requested_by: r.get(3),
        request: r.get(4),
        result: r.get(5),
        node: r.get(6),
        created_at: r.get(7),
        started_at: r.get(8),
        finished_at: r.get(9),
        heartbeat_at: r.get(10),
    }
}

type PgResult<T> = Result<T, tokio_postgres::Error>;

/// PostgreSQL: queues `run` in environment `env`.
pub async fn pg_enqueue(
    c: &impl tokio_postgres::GenericClient,
    env: &str,
    run: &Run,
) -> PgResult<()> {
    c.execute(
        &format!("INSERT INTO baton.runs (environment, {COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"),
        &[&env, &run.id, &run.kind, &run.status, &run.requested_by, &run.request, &run.result, &run.node,
          &run.created_at, &run.started_at, &run.finished_at, &run.heartbeat_at],
    )
    .await?;
    Ok(())
}

/// PostgreSQL: [`sqlite_enqueue_unless`] for `env`, the check and the insert under a
/// transaction lock of the environment's queue of that kind: two nodes that look at
/// once queue one run.
pub async fn pg_enqueue_unless(
    c: &mut tokio_postgres::Client,
    env: &str,
    run: &Run,
    since: i64,
) -> PgResult<bool> {
    let tx = c.transaction().await?;
    let key = super::postgres::advisory_key(env, &format!("runs of kind {}", run.kind));
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&key])
        .await?;
    let due: bool = tx
        .query_one(
            "SELECT NOT EXISTS (SELECT 1 FROM baton.runs WHERE environment = $1 AND kind = $2
                                AND (status IN ('queued', 'running') OR created_at >= $3))",
            &[&env, &run.kind, &since],
        )
        .await?
        .get(0);
    if due {
        pg_enqueue(&tx, env, run).await?;
    }
    tx.commit().await?;
    Ok(due)
}

/// PostgreSQL: claims the oldest queued run of `env` for `node`; rows another node is
/// claiming are skipped, never waited for or taken twice.
pub async fn pg_claim(c: &tokio_postgres::Client, env: &str, node: &str) -> PgResult<Option<Run>> {
    let row = c
        .query_opt(
            &format!(
                "UPDATE baton.runs SET status = 'running', node = $2, started_at = $3, heartbeat_at = $3
                 WHERE id = (SELECT id FROM baton.runs WHERE environment = $1 AND status = 'queued'
                             ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
                 RETURNING {COLUMNS}"
            ),
            &[&env, &node, &now_ms()],
        )
        .await?;
    Ok(row.as_ref().map(pg_row))
}

/// PostgreSQL: the heartbeat of `node` on its running runs of `env`.
pub async fn pg_heartbeat(c: &tokio_postgres::Client, env: &str, node: &str) -> PgResult<()> {
    c.execute(
        "UPDATE baton.runs SET heartbeat_at = $3 WHERE environment = $1 AND node = $2 AND status = 'running'",
        &[&env, &node, &now_ms()],
    )
    .await?;
    Ok(())
}

/// PostgreSQL: ends run `id` (only while running).
pub async fn pg_finish(
    c: &tokio_postgres::Client,
    id: &str,
    status: &str,
    result: &str,
) -> PgResult<bool> {
    Ok(c.execute(
        "UPDATE baton.runs SET status = $2, result = $3, finished_at = $4 WHERE id = $1 AND status = 'running'",
        &[&id, &status, &result, &now_ms()],
    )
    .await?
        == 1)
}

/// PostgreSQL: marks abandoned every running run of `env` whose heartbeat is older than
/// `before`.
pub async fn pg_abandon(c: &tokio_postgres::Client, env: &str, before: i64) -> PgResult<usize> {
    Ok(c.execute(
        "UPDATE baton.runs SET status = 'abandoned', finished_at = $3,
             result = '{\"error\":\"the node running it stopped (its heartbeat lapsed)\"}'
         WHERE environment = $1 AND status = 'running' AND heartbeat_at < $2",
        &[&env, &before, &now_ms()],
    )
    .await? as usize)
}

/// PostgreSQL: appends line `seq` to the log of run `id`.
pub async fn pg_event(c: &tokio_postgres::Client, id: &str, seq: i64, text: &str) -> PgResult<()> {
    c.execute(
        "INSERT INTO baton.run_events (run_id, seq, text) VALUES ($1, $2, $3)
         ON CONFLICT (run_id, seq) DO UPDATE SET text = EXCLUDED.text",
        &[&id, &seq, &text],
    )
    .await?;
    Ok(())
}

/// PostgreSQL: run `id` of `env`.
pub async fn pg_get(c: &tokio_postgres::Client, env: &str, id: &str) -> PgResult<Option<Run>> {
    let row = c
        .query_opt(
            &format!("SELECT {COLUMNS} FROM baton.runs WHERE environment = $1 AND id = $2"),
            &[&env, &id],
        )
        .await?;
    Ok(row.as_ref().map(pg_row))
}

/// PostgreSQL: every run of `env`, oldest first.
pub async fn pg_list(c: &tokio_postgres::Client, env: &str) -> PgResult<Vec<Run>> {
    let rows = c
        .query(
            &format!(
                "SELECT {COLUMNS} FROM baton.runs WHERE environment = $1 ORDER BY created_at, id"
            ),
            &[&env],
        )
        .await?;
    Ok(rows.iter().map(pg_row).collect())
}

/// PostgreSQL: the log lines of run `id` after `after`.
pub async fn pg_events(
    c: &tokio_postgres::Client,
    id: &str,
    after: i64,
) -> PgResult<Vec<(i64, String)>> {
    let rows = c
        .query(
            "SELECT seq, text FROM baton.run_events WHERE run_id = $1 AND seq > $2 ORDER BY seq",
            &[&id, &after],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

use super::{StateError, Store};

impl Store {
    /// Queues `run`.
    pub fn enqueue_run(&self, run: &Run) -> Result<(), StateError> {
        match self {
            Store::Sqlite(s) => sqlite_enqueue(s.conn(), run).map_err(s.db()),
            Store::Postgres(s) => {
                let (env, run) = (s.environment().to_string(), run.clone());
                s.run(move |c| Box::pin(async move { pg_enqueue(&c.client, &env, &run).await }))
            }
        }
    }

    /// Queues `run` unless a run of its kind is queued or running, or was queued at or
    /// after `since` (Unix ms), atomically among the nodes sharing the state. Whether it
    /// was queued.
    pub fn enqueue_run_unless(&self, run: &Run, since: i64) -> Result<bool, StateError> {
        match self {
            Store::Sqlite(s) => sqlite_enqueue_unless(s.conn(), run, since).map_err(s.db()),
            Store::Postgres(s) => {
                let (env, run) = (s.environment().to_string(), run.clone());
                s.run(move |c| {
                    Box::pin(
                        async move { pg_enqueue_unless(&mut c.client, &env, &run, since).await },
                    )
                })
            }
        }
    }

    /// Claims the oldest queued run for `node`, if any.
    pub fn claim_run(&self, node: &str) -> Result<Option<Run>, StateError> {
        match self {
            Store::Sqlite(s) => sqlite_claim(s.conn(), node).map_err(s.db()),
            Store::Postgres(s) => {
                let (env, node) = (s.environment().to_string(), node.to_string());
                s.run(move |c| Box::pin(async move { pg_claim(&c.client, &env, &node).await }))
            }
        }
    }

    /// Writes `node`'s heartbeat on its running runs.
    pub fn heartbeat_runs(&self, node: &str) -> Result<(), StateError> {
        match self {
            Store::Sqlite(s) => sqlite_heartbeat(s.conn(), node).map_err(s.db()),
            Store::Postgres(s) => {
                let (env, node) = (s.environment().to_string(), node.to_string());
                s.run(move |c| Box::pin(async move { pg_heartbeat(&c.client, &env, &node).await }))
            }
        }
    }

    /// Ends run `id`; false when it was no longer running (abandoned meanwhile).
    pub fn finish_run(&self, id: &str, status: &str, result: &str) -> Result<bool, StateError> {
        match self {
            Store::Sqlite(s) => sqlite_finish(s.conn(), id, status, result).map_err(s.db()),
            Store::Postgres(s) => {
                let (id, status, result) = (id.to_string(), status.to_string(), result.to_string());
                s.run(move |c| {
                    Box::pin(async move { pg_finish(&c.client, &id, &status, &result).await })
                })
            }
        }
    }

    /// Marks abandoned the running runs whose heartbeat is older than `before` (Unix ms).
    pub fn abandon_runs(&self, before: i64) -> Result<usize, StateError> {
        match self {
            Store::Sqlite(s) => sqlite_abandon(s.conn(), before).map_err(s.db()),
            Store::Postgres(s) => {
                let env = s.environment().to_string();
                s.run(move |c| Box::pin(async move { pg_abandon(&c.client, &env, before).await }))
            }
        }
    }

    /// Appends line `seq` to run `id`'s log.
    pub fn run_event(&self, id: &str, seq: i64, text: &str) -> Result<(), StateError> {
        match self {
            Store::Sqlite(s) => sqlite_event(s.conn(), id, seq, text).map_err(s.db()),
            Store::Postgres(s) => {
                let (id, text) = (id.to_string(), text.to_string());
                s.run(move |c| Box::pin(async move { pg_event(&c.client, &id, seq, &text).await }))
            }
        }
    }

    /// Run `id`.
    pub fn get_run(&self, id: &str) -> Result<Option<Run>, StateError> {
        match self {
            Store::Sqlite(s) => sqlite_get(s.conn(), id).map_err(s.db()),
            Store::Postgres(s) => {
                let (env, id) = (s.environment().to_string(), id.to_string());
                s.run(move |c| Box::pin(async move { pg_get(&c.client, &env, &id).await }))
            }
        }
    }

    /// Every run, oldest first.
    pub fn runs(&self) -> Result<Vec<Run>, StateError> {
        match self {
            Store::Sqlite(s) => sqlite_list(s.conn()).map_err(s.db()),
            Store::Postgres(s) => {
                let env = s.environment().to_string();
                s.run(move |c| Box::pin(async move { pg_list(&c.client, &env).await }))
            }
        }
    }

    /// The log lines of run `id` after line `after` (0: all).
    pub fn run_events(&self, id: &str, after: i64) -> Result<Vec<(i64, String)>, StateError> {
        match self {
            Store::Sqlite(s) => sqlite_events(s.conn(), id, after).map_err(s.db()),
            Store::Postgres(s) => {
                let id = id.to_string();
                s.run(move |c| Box::pin(async move { pg_events(&c.client, &id, after).await }))
            }
        }
    }
}
