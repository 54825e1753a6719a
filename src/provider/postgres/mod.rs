//! `postgres`: roles, databases and grants on a PostgreSQL server.
//!
//! The provider connects lazily (never in `new`), keeps one client per database (schema
//! grants must be made while connected to their database) and reconnects when a client
//! is closed. Every statement that names something is built by the server itself with
//! `format('… %I … %L', …)` from a constant template, so names and literals are quoted
//! by PostgreSQL's own rules; passwords are hashed here (SCRAM-SHA-256) and only the
//! verifier is sent, so no cleartext password reaches the server's logs.
//!
//! Connection faults and "server starting / shutting down" are `Transient` and retried
//! with backoff; other errors name the object and carry the server's message, with
//! secrets removed.

mod database;
mod grant;
mod role;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio_postgres::{Client, NoTls};

use super::retry::{Backoff, retry};
use super::sql::{redact, redact_url};
use super::{Attrs, Claim, KindSchema, Owner, Proof, Provider, ProviderError};
use crate::value::Value;

/// The server used when `provider "postgres" { url = … }` is not given.
pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// How long one connection attempt may take before it counts as a transient fault.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The `postgres` provider.
pub struct PostgresProvider {
    /// The parsed URL, or why it does not parse (reported on first use, not in `new`).
    config: Result<tokio_postgres::Config, String>,
    /// The URL without its password, for messages.
    shown_url: String,
    /// The password of the URL, removed from every message.
    url_password: Option<String>,
    /// Connected clients by database name (`None`: the URL's database).
    clients: tokio::sync::Mutex<HashMap<Option<String>, Arc<Client>>>,
    /// Serialises GRANT/REVOKE: concurrent ACL changes on one object fail with "tuple
    /// concurrently updated" in PostgreSQL.
    acl_lock: tokio::sync::Mutex<()>,
    /// How transient faults are retried.
    backoff: Backoff,
}

impl PostgresProvider {
    /// A provider for the server of `config.url` (or [`DEFAULT_URL`]); does not connect.
    pub fn new(config: &Attrs) -> PostgresProvider {
        let url = config
            .get("url")
            .and_then(Value::as_str)
            .unwrap_or(DEFAULT_URL)
            .to_string();
        let shown_url = redact_url(&url);
        let parsed = url
            .parse::<tokio_postgres::Config>()
            .map_err(|e| format!("invalid `url` {shown_url:?} for provider postgres: {e}"));
        let url_password = parsed
            .as_ref()
            .ok()
            .and_then(|c| c.get_password())
            .map(|p| String::from_utf8_lossy(p).into_owned());
        PostgresProvider {
            config: parsed,
            shown_url,
            url_password,
            clients: tokio::sync::Mutex::new(HashMap::new()),
            acl_lock: tokio::sync::Mutex::new(()),
            backoff: Backoff::from_env(),
        }
    }

    /// A connected client for `database` (`None`: the URL's), connecting if needed.
    async fn client(&self, database: Option<&str>) -> Result<Arc<Client>, ProviderError> {
        let base = self
            .config
            .as_ref()
            .map_err(|e| ProviderError::Invalid(e.clone()))?;
        let key = database.map(str::to_string);
        let mut clients = self.clients.lock().await;
        if let Some(c) = clients.get(&key)
            && !c.is_closed()
        {
            return Ok(c.clone());
        }
        let mut cfg = base.clone();
        if let Some(db) = database {
            cfg.dbname(db);
        }
        if cfg.get_connect_timeout().is_none() {
            cfg.connect_timeout(CONNECT_TIMEOUT);
        }
        // Names baton's sessions, so a run can tell when another's statement still runs.
        if cfg.get_application_name().is_none() {
            cfg.application_name("baton");
        }
        let target = match database {
            Some(db) => format!("database {db:?} at {}", self.shown_url),
            None => self.shown_url.clone(),
        };
        let (client, connection) = cfg.connect(NoTls).await.map_err(|e| {
            self.error(&format!("cannot connect to PostgreSQL ({target})"), &e, &[])
        })?;
        // The connection future drives the socket; it ends when the client is dropped or
        // the server goes away (then `is_closed` makes the next call reconnect).
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let client = Arc::new(client);
        clients.insert(key, client.clone());
        Ok(client)
    }

    /// Waits while another session of baton still runs a statement naming `name`: the
    /// statement of a run that was killed, which the server finishes (or rolls back) on
    /// its own after the client died. Reading or dropping the object before that would
    /// miss one the server is about to commit, and the next run would neither adopt nor
    /// delete it. Bounded by the retry budget; then the read goes ahead.
    async fn await_other_sessions(&self, client: &Client, name: &str) -> Result<(), ProviderError> {
        let started = std::time::Instant::now();
        loop {
            let busy: i64 = client
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity \
                     WHERE pid <> pg_backend_pid() AND state = 'active' \
                     AND application_name = current_setting('application_name') \
                     AND position(quote_ident($1) in query) > 0",
                    &[&name],
                )
                .await
                .map_err(|e| {
                    self.error(
                        &format!("cannot look at the sessions working on {name:?}"),
                        &e,
                        &[],
                    )
                })?
                .get(0);
            if busy == 0 || started.elapsed() >= self.backoff.budget {
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Drops the cached client of `database` (before dropping that database: PostgreSQL
    /// refuses to drop a database someone is connected to, including us).
    async fn forget(&self, database: &str) {
        self.clients
            .lock()
            .await
            .remove(&Some(database.to_string()));
    }

    /// A provider error for a failed call about `what`, classified as transient or not,
    /// with `secrets` (and the URL's password) removed from the message.
    fn error(&self, what: &str, e: &tokio_postgres::Error, secrets: &[&str]) -> ProviderError {
        let mut all: Vec<&str> = secrets.to_vec();
        if let Some(p) = &self.url_password {
            all.push(p);
        }
        let msg = redact(&format!("{what}: {}", describe(e)), &all);
        if is_transient(e) {
            ProviderError::Transient(msg)
        } else {
            ProviderError::Failed(msg)
        }
    }
}

/// The server's message (with detail and hint) or the client's description of a fault.
fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut s = format!("{} (SQLSTATE {})", db.message(), db.code().code());
            if let Some(d) = db.detail() {
                s.push_str(&format!("; {d}"));
            }
            if let Some(h) = db.hint() {
                s.push_str(&format!("; hint: {h}"));
            }
            s
        }
        None => {
            // The client's own text is generic ("error connecting to server"); the cause
            // (e.g. "Connection refused") is in the source chain.
            let mut s = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(cause) = source {
                let c = cause.to_string();
                if !s.contains(&c) {
                    s.push_str(&format!(": {c}"));
                }
                source = cause.source();
            }
            s
        }
    }
}

/// Whether a fault may go away by itself: lost or refused connections, a server that is
/// starting or shutting down, too many connections, lock conflicts between concurrent
/// changes, a database still in use while its sessions end.
fn is_transient(e: &tokio_postgres::Error) -> bool {
    if let Some(code) = e.code() {
        let c = code.code();
        return c.starts_with("08")
            || matches!(
                c,
                "57P01" | "57P02" | "57P03" | "53300" | "40001" | "40P01" | "55006" | "55P03"
            )
            || (c == "XX000"
                && e.as_db_error()
                    .is_some_and(|d| d.message().contains("concurrently updated")));
    }
    if e.is_closed() {
        return true;
    }
    // Connection refused, reset, timed out: an I/O error somewhere in the chain.
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if s.is::<std::io::Error>() {
            return true;
        }
        source = s.source();
    }
    e.to_string().contains("timeout")
}

/// The SQLSTATE of an error, if the server sent one.
fn sqlstate(e: &tokio_postgres::Error) -> Option<&str> {
    e.code().map(|c| c.code())
}

/// The error of a `CREATE` that lost a race: another session created the same role or
/// database at the same moment (typically the statement of a killed baton, which the
/// server finishes after its client died). Transient, so the retry observes the object
/// and adopts it when it is as configured, or reports how it differs.
fn create_error(
    p: &PostgresProvider,
    what: &str,
    e: &tokio_postgres::Error,
    secrets: &[&str],
) -> ProviderError {
    match p.error(what, e, secrets) {
        ProviderError::Failed(msg) if matches!(sqlstate(e), Some("23505" | "42P04" | "42710")) => {
            ProviderError::Transient(msg)
        }
        other => other,
    }
}

/// Runs a DDL statement that the server builds from `template` (constant text with
/// `%I` identifiers, `%L` literals and `%s` numbers) and `args`. Executed with the
/// extended protocol, which accepts exactly one statement.
async fn ddl(client: &Client, template: &str, args: &[&str]) -> Result<(), tokio_postgres::Error> {
    let statement = formatted(client, template, args).await?;
    client.execute(statement.as_str(), &[]).await?;
    Ok(())
}

/// The statement the server builds from `template` and `args` (see [`ddl`]).
async fn formatted(
    client: &Client,
    template: &str,
    args: &[&str],
) -> Result<String, tokio_postgres::Error> {
    let args: Vec<&str> = args.to_vec();
    let row = client
        .query_one(
            "SELECT format($1::text, VARIADIC $2::text[])",
            &[&template, &args],
        )
        .await?;
    Ok(row.get(0))
}

/// A shared object that can carry baton's ownership marker as its comment.
#[derive(Clone, Copy)]
enum Shared {
    Role,
    Database,
}

impl Shared {
    fn word(self) -> &'static str {
        match self {
            Shared::Role => "role",
            Shared::Database => "database",
        }
    }
}

/// The comment on a role or database: `None` when there is no such object.
async fn comment_of(
    client: &Client,
    what: Shared,
    name: &str,
) -> Result<Option<Option<String>>, tokio_postgres::Error> {
    let sql = match what {
        Shared::Role => {
            "SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = $1"
        }
        Shared::Database => {
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1"
        }
    };
    Ok(client
        .query_opt(sql, &[&name])
        .await?
        .map(|r| r.get::<_, Option<String>>(0)))
}

/// What baton can prove about the role or database `name` for `owner`.
async fn claim_of(
    p: &PostgresProvider,
    what: Shared,
    name: &str,
    owner: &Owner,
) -> Result<Claim, ProviderError> {
    let client = p.client(None).await?;
    judge(&client, what, name, owner)
        .await
        .map(|c| c.unwrap_or(Claim::Unproven))
        .map_err(|e| {
            p.error(
                &format!("cannot read the comment of {} {name:?}", what.word()),
                &e,
                &[],
            )
        })
}

/// The claim of the role or database `name` (`None`: it does not exist). A database
/// without a comment whose owner is a role of this owner's state is baton's too: it is
/// what a run killed between `CREATE DATABASE … OWNER` and its `COMMENT` leaves (the
/// server finishes the statement of a dead client), and only that role or a superuser
/// could have made it.
async fn judge(
    client: &Client,
    what: Shared,
    name: &str,
    owner: &Owner,
) -> Result<Option<Claim>, tokio_postgres::Error> {
    let Some(comment) = comment_of(client, what, name).await? else {
        return Ok(None);
    };
    if comment.is_none()
        && let Shared::Database = what
    {
        let role_comment: Option<String> = client
            .query_opt(
                "SELECT shobj_description(r.oid, 'pg_authid') FROM pg_database d \
                 JOIN pg_roles r ON r.oid = d.datdba WHERE d.datname = $1",
                &[&name],
            )
            .await?
            .and_then(|r| r.get(0));
        if role_comment.is_some_and(|m| owner.same_state(&m)) {
            return Ok(Some(Claim::Ours));
        }
    }
    Ok(Some(owner.judge(comment.as_deref())))
}

/// `COMMENT ON ROLE|DATABASE name IS 'marker'`, built by the server.
async fn mark_shared(
    client: &Client,
    what: Shared,
    name: &str,
    owner: &Owner,
) -> Result<(), tokio_postgres::Error> {
    let template = match what {
        Shared::Role => "COMMENT ON ROLE %I IS %L",
        Shared::Database => "COMMENT ON DATABASE %I IS %L",
    };
    ddl(client, template, &[name, &owner.marker()]).await
}

/// The refusal of a create that found `name` made by someone else.
fn not_ours(what: Shared, name: &str, claim: &Claim) -> ProviderError {
    ProviderError::NotOurs(format!(
        "{} {name:?} already exists and baton cannot prove it made it ({})",
        what.word(),
        claim.describe()
    ))
}

/// Checks a name PostgreSQL stores as an identifier (`name` type): not empty, no NUL,
/// at most 63 bytes (longer names would be silently truncated by the server).
fn check_identifier(what: &str, name: &str) -> Result<(), ProviderError> {
    if name.is_empty() {
        return Err(ProviderError::Invalid(format!("{what} name is empty")));
    }
    if name.contains('\0') {
        return Err(ProviderError::Invalid(format!(
            "{what} name {name:?} contains a NUL character"
        )));
    }
    if name.len() > 63 {
        return Err(ProviderError::Invalid(format!(
            "{what} name {name:?} is longer than 63 bytes (PostgreSQL would truncate it)"
        )));
    }
    Ok(())
}

#[async_trait::async_trait]
impl Provider for PostgresProvider {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn kinds(&self) -> Vec<KindSchema> {
        vec![role::schema(), database::schema(), grant::schema()]
    }

    fn vars(&self) -> crate::value::Map {
        let mut vars = crate::value::Map::new();
        let Ok(cfg) = &self.config else {
            return vars;
        };
        if let Some(host) = cfg.get_hosts().first() {
            let host = match host {
                tokio_postgres::config::Host::Tcp(h) => h.clone(),
                tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
            };
            vars.insert("host".into(), Value::string(host));
        }
        let port = cfg.get_ports().first().copied().unwrap_or(5432);
        vars.insert("port".into(), Value::int(port.into()));
        if let Some(user) = cfg.get_user() {
            vars.insert("username".into(), Value::string(user));
        }
        if let Some(p) = &self.url_password {
            vars.insert(
                "password".into(),
                Value::sensitive(Value::string(p.clone())),
            );
        }
        vars
    }

    async fn read(&self, kind: &str, prior: &Attrs) -> Result<Option<Attrs>, ProviderError> {
        match kind {
            "postgres_role" => retry(self.backoff, || role::read(self, prior)).await,
            "postgres_database" => retry(self.backoff, || database::read(self, prior)).await,
            "postgres_grant" => retry(self.backoff, || grant::read(self, prior)).await,
            other => Err(unknown(other)),
        }
    }

    async fn create(
        &self,
        kind: &str,
        config: &Attrs,
        owner: &crate::provider::Owner,
    ) -> Result<Attrs, ProviderError> {
        match kind {
            "postgres_role" => retry(self.backoff, || role::create(self, config, owner)).await,
            "postgres_database" => {
                retry(self.backoff, || database::create(self, config, owner)).await
            }
            "postgres_grant" => {
                let claim = grant::claim(self, config, owner).await?;
                if !claim.is_ours() {
                    return Err(grant::not_ours(config, &claim));
                }
                retry(self.backoff, || grant::apply(self, config)).await
            }
            other => Err(unknown(other)),
        }
    }

    fn proof(&self, kind: &str) -> Proof {
        match kind {
            // A grant is baton's when the role or the database it joins is.
            "postgres_grant" => Proof::Relation,
            _ => Proof::Marker,
        }
    }

    async fn claim(
        &self,
        kind: &str,
        found: &Attrs,
        owner: &Owner,
    ) -> Result<Claim, ProviderError> {
        let what = match kind {
            "postgres_role" => Shared::Role,
            "postgres_database" => Shared::Database,
            "postgres_grant" => {
                return retry(self.backoff, || grant::claim(self, found, owner)).await;
            }
            other => return Err(unknown(other)),
        };
        let name = super::sql::required_str(found, "name", kind)?;
        retry(self.backoff, || claim_of(self, what, &name, owner)).await
    }

    async fn mark(&self, kind: &str, found: &Attrs, owner: &Owner) -> Result<(), ProviderError> {
        let what = match kind {
            "postgres_role" => Shared::Role,
            "postgres_database" => Shared::Database,
            other => {
                return Err(ProviderError::Invalid(format!(
                    "`{other}` objects cannot carry an ownership marker"
                )));
            }
        };
        let name = super::sql::required_str(found, "name", kind)?;
        retry(self.backoff, || async {
            let client = self.client(None).await?;
            mark_shared(&client, what, &name, owner).await.map_err(|e| {
                self.error(
                    &format!("cannot mark {} {name:?} as baton's", what.word()),
                    &e,
                    &[],
                )
            })
        })
        .await
    }

    async fn update(
        &self,
        kind: &str,
        prior: &Attrs,
        config: &Attrs,
    ) -> Result<Attrs, ProviderError> {
        match kind {
            "postgres_role" => retry(self.backoff, || role::update(self, prior, config)).await,
            "postgres_database" => retry(self.backoff, || database::update(self, config)).await,
            "postgres_grant" => retry(self.backoff, || grant::apply(self, config)).await,
            other => Err(unknown(other)),
        }
    }

    async fn delete(&self, kind: &str, prior: &Attrs) -> Result<(), ProviderError> {
        match kind {
            "postgres_role" => retry(self.backoff, || role::delete(self, prior)).await,
            "postgres_database" => retry(self.backoff, || database::delete(self, prior)).await,
            "postgres_grant" => retry(self.backoff, || grant::delete(self, prior)).await,
            other => Err(unknown(other)),
        }
    }
}

fn unknown(kind: &str) -> ProviderError {
    ProviderError::Invalid(format!("provider postgres has no kind {kind}"))
}
