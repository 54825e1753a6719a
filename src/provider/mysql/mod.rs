//! `mysql`: databases, users and grants on a MariaDB (or MySQL) server.
//!
//! The provider holds a small connection pool that connects lazily (never in `new`), over
//! TCP without TLS. Lookups bind values as `?` parameters. DDL cannot take parameters for
//! names, so names are quoted here: identifiers in backticks (doubling backticks), account
//! parts as string literals (doubling quotes; backslashes and NUL are refused, so the
//! quoting holds whatever `NO_BACKSLASH_ESCAPES` says). Statements are executed as
//! prepared statements, which the server accepts only one at a time, and passwords are
//! sent as `mysql_native_password` hashes computed here, never in cleartext.
//!
//! Ownership (see `provider::owner`): a database carries the owner's marker as its
//! comment, an account is proven by the password baton generated (MariaDB accounts hold
//! no comment), and a grant is baton's when its database carries a marker of the state.
//!
//! Connection faults and "server shutting down" are `Transient` and retried with backoff;
//! other errors name the object and carry the server's message, with secrets removed.

mod database;
mod grant;
#[cfg(test)]
mod tests;
mod user;

use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder, Pool, PoolConstraints, PoolOpts};

use super::retry::{Backoff, retry};
use super::sql::{redact, redact_url};
use super::{Attrs, KindSchema, Provider, ProviderError};
use crate::value::Value;

/// The server used when `provider "mysql" { url = … }` is not given.
pub const DEFAULT_URL: &str = "mysql://root@127.0.0.1:3306";

/// How long getting a connection may take before it counts as a transient fault.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The `mysql` provider.
pub struct MysqlProvider {
    /// The pool (it connects on first use), or why the URL does not parse.
    pool: Result<Pool, String>,
    /// Connection options, for `vars`.
    opts: Option<Opts>,
    /// The URL without its password, for messages.
    shown_url: String,
    /// How transient faults are retried.
    backoff: Backoff,
}

impl MysqlProvider {
    /// A provider for the server of `config.url` (or [`DEFAULT_URL`]); does not connect.
    pub fn new(config: &Attrs) -> MysqlProvider {
        let url = config
            .get("url")
            .and_then(Value::as_str)
            .unwrap_or(DEFAULT_URL);
        let shown_url = redact_url(url);
        let opts = Opts::from_url(url).map(|o| {
            Opts::from(
                OptsBuilder::from_opts(o)
                    // TCP as configured: no switch to a local socket behind the URL's back.
                    .prefer_socket(false)
                    // DDL runs once; caching its prepared statements would only hold memory.
                    .stmt_cache_size(0)
                    .pool_opts(
                        PoolOpts::new()
                            .with_constraints(PoolConstraints::new(0, 4).expect("0 <= 4")),
                    ),
            )
        });
        let (pool, opts) = match opts {
            Ok(o) => (Ok(Pool::new(o.clone())), Some(o)),
            Err(e) => (
                Err(redact(
                    &format!("invalid `url` {shown_url:?} for provider mysql: {e}"),
                    &[],
                )),
                None,
            ),
        };
        MysqlProvider {
            pool,
            opts,
            shown_url,
            backoff: Backoff::from_env(),
        }
    }

    /// A connection from the pool.
    async fn conn(&self) -> Result<Conn, ProviderError> {
        let pool = self
            .pool
            .as_ref()
            .map_err(|e| ProviderError::Invalid(e.clone()))?;
        let what = format!("cannot connect to MariaDB ({})", self.shown_url);
        match tokio::time::timeout(CONNECT_TIMEOUT, pool.get_conn()).await {
            Ok(Ok(c)) => Ok(c),
            Ok(Err(e)) => Err(self.error(&what, &e, &[])),
            Err(_) => Err(ProviderError::Transient(format!(
                "{what}: timed out after {CONNECT_TIMEOUT:?}"
            ))),
        }
    }

    /// A provider error for a failed call about `what`, classified as transient or not,
    /// with `secrets` (and the URL's password) removed from the message.
    fn error(&self, what: &str, e: &mysql_async::Error, secrets: &[&str]) -> ProviderError {
        let mut all: Vec<&str> = secrets.to_vec();
        if let Some(p) = self.opts.as_ref().and_then(Opts::pass) {
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

/// The server's message and code, or the client's description of a fault.
fn describe(e: &mysql_async::Error) -> String {
    match e {
        mysql_async::Error::Server(s) => format!("{} (error {})", s.message, s.code),
        other => other.to_string(),
    }
}

/// Whether a fault may go away by itself: lost or refused connections, a server that is
/// shutting down, too many connections, lock waits and deadlocks.
fn is_transient(e: &mysql_async::Error) -> bool {
    use mysql_async::{DriverError, Error};
    match e {
        Error::Io(_) => true,
        Error::Driver(DriverError::ConnectionClosed | DriverError::PoolDisconnected) => true,
        // 1040 too many connections, 1053 shutdown in progress, 1158-1161 network
        // errors, 1205 lock wait timeout, 1213 deadlock, 1927 connection killed,
        // 2002/2003/2006/2013 connection lost or refused, 4031 idle disconnect.
        Error::Server(s) => matches!(
            s.code,
            1040 | 1053 | 1158..=1161 | 1205 | 1213 | 1927 | 2002 | 2003 | 2006 | 2013 | 4031
        ),
        _ => false,
    }
}

/// Checks a name that will be quoted into a statement: not empty, no backslash (which
/// would be an escape character in a string literal unless `NO_BACKSLASH_ESCAPES`), no NUL.
fn check_name(what: &str, name: &str) -> Result<(), ProviderError> {
    if name.is_empty() {
        return Err(ProviderError::Invalid(format!("{what} name is empty")));
    }
    if name.contains(['\\', '\0']) {
        return Err(ProviderError::Invalid(format!(
            "{what} name {name:?} contains a backslash or NUL character, which baton does not quote"
        )));
    }
    Ok(())
}

/// An identifier in backticks, backticks doubled.
fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// A string literal, quotes doubled; the value was checked by [`check_name`] (no
/// backslash), so this holds in every SQL mode.
fn quote_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// An account name `'user'@'host'`.
fn account(user: &str, host: &str) -> String {
    format!("{}@{}", quote_literal(user), quote_literal(host))
}

/// Executes one statement as a prepared statement (the server refuses a second one).
async fn execute(conn: &mut Conn, statement: &str) -> Result<(), mysql_async::Error> {
    conn.exec_drop(statement, ()).await
}

#[async_trait::async_trait]
impl Provider for MysqlProvider {
    fn name(&self) -> &'static str {
        "mysql"
    }

    fn kinds(&self) -> Vec<KindSchema> {
        vec![database::schema(), user::schema(), grant::schema()]
    }

    fn vars(&self) -> crate::value::Map {
        let mut vars = crate::value::Map::new();
        let Some(o) = &self.opts else {
            return vars;
        };
        vars.insert("host".into(), Value::string(o.ip_or_hostname()));
        vars.insert("port".into(), Value::int(o.tcp_port().into()));
        if let Some(u) = o.user() {
            vars.insert("username".into(), Value::string(u));
        }
        if let Some(p) = o.pass() {
            vars.insert("password".into(), Value::sensitive(Value::string(p)));
        }
        vars
    }

    async fn read(&self, kind: &str, prior: &Attrs) -> Result<Option<Attrs>, ProviderError> {
        match kind {
            "mysql_database" => retry(self.backoff, || database::read(self, prior)).await,
            "mysql_user" => retry(self.backoff, || user::read(self, prior)).await,
            "mysql_grant" => retry(self.backoff, || grant::read(self, prior)).await,
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
            "mysql_database" => retry(self.backoff, || database::create(self, config, owner)).await,
            "mysql_user" => retry(self.backoff, || user::create(self, config)).await,
            "mysql_grant" => {
                // Checked whether the grant exists or not: granting is a change to the
                // database, which must exist and be baton's (a name that matches none
                // may be a wildcard reaching other databases).
                let claim = retry(self.backoff, || grant::relation(self, config, owner)).await?;
                if claim != Some(crate::provider::Claim::Ours) {
                    return Err(grant::not_ours(config));
                }
                retry(self.backoff, || grant::apply(self, config)).await
            }
            other => Err(unknown(other)),
        }
    }

    fn proof(&self, kind: &str) -> crate::provider::Proof {
        match kind {
            "mysql_database" => crate::provider::Proof::Marker,
            // The password baton generated: MariaDB accounts hold no comment.
            "mysql_user" => crate::provider::Proof::Secret,
            _ => crate::provider::Proof::Relation,
        }
    }

    async fn claim(
        &self,
        kind: &str,
        found: &Attrs,
        owner: &crate::provider::Owner,
    ) -> Result<crate::provider::Claim, ProviderError> {
        match kind {
            "mysql_database" => retry(self.backoff, || database::claim(self, found, owner)).await,
            "mysql_user" => retry(self.backoff, || user::claim(self, found)).await,
            "mysql_grant" => retry(self.backoff, || grant::claim(self, found, owner)).await,
            other => Err(unknown(other)),
        }
    }

    async fn mark(
        &self,
        kind: &str,
        found: &Attrs,
        owner: &crate::provider::Owner,
    ) -> Result<(), ProviderError> {
        match kind {
            "mysql_database" => retry(self.backoff, || database::mark(self, found, owner)).await,
            other => Err(ProviderError::Invalid(format!(
                "`{other}` objects cannot carry an ownership marker"
            ))),
        }
    }

    async fn update(
        &self,
        kind: &str,
        prior: &Attrs,
        config: &Attrs,
    ) -> Result<Attrs, ProviderError> {
        match kind {
            "mysql_database" => retry(self.backoff, || database::update(self, config)).await,
            "mysql_user" => retry(self.backoff, || user::update(self, prior, config)).await,
            "mysql_grant" => retry(self.backoff, || grant::apply(self, config)).await,
            other => Err(unknown(other)),
        }
    }

    async fn delete(&self, kind: &str, prior: &Attrs) -> Result<(), ProviderError> {
        match kind {
            "mysql_database" => retry(self.backoff, || database::delete(self, prior)).await,
            "mysql_user" => retry(self.backoff, || user::delete(self, prior)).await,
            "mysql_grant" => retry(self.backoff, || grant::delete(self, prior)).await,
            other => Err(unknown(other)),
        }
    }
}

fn unknown(kind: &str) -> ProviderError {
    ProviderError::Invalid(format!("provider mysql has no kind {kind}"))
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn quoting_doubles_the_quote_and_refuses_backslashes() {
        assert_eq!(quote_ident("a`b; DROP"), "`a``b; DROP`");
        assert_eq!(account("o'neil", "%"), "'o''neil'@'%'");
        assert!(matches!(
            check_name("user", "a\\'b"),
            Err(ProviderError::Invalid(_))
        ));
        assert!(check_name("user", "").is_err());
        assert!(check_name("user", "x'\"; --").is_ok());
    }
}
