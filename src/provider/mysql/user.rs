//! `mysql_user`: an account `'user'@'host'` with a `mysql_native_password` password.
//!
//! The password is hashed here (`*` + SHA1(SHA1(password)), the plugin's format) and sent
//! as that hash. The `authentication_string` the server holds after baton set it is kept
//! as `password_hash`; when it differs later (ALTER USER, SET PASSWORD, another plugin)
//! and is not the hash of the configured password, read reports the password as unknown
//! (null), so the plan sets it again.
//!
//! Ownership: MariaDB accounts hold no comment, so the proof is the password baton
//! generated (recorded, sealed, before the create): an account whose authentication
//! string is that password's hash was made by baton, as nobody else knows it. An account
//! is therefore always made with a password, and one changed outside baton is no longer
//! provably baton's: baton leaves it alone.

use mysql_async::Conn;
use mysql_async::prelude::Queryable;
use sha1::{Digest, Sha1};

use super::{MysqlProvider, account, check_name, execute, quote_literal};
use crate::provider::sql::{optional_str, required_str, with_defaults};
use crate::provider::{AttrSchema, AttrType, Attrs, Claim, KindSchema, ProviderError, str_attr};
use crate::value::Value;

const KIND: &str = "mysql_user";
const PLUGIN: &str = "mysql_native_password";

fn any_host() -> Value {
    Value::string("%")
}

/// The schema of `mysql_user`.
pub(super) fn schema() -> KindSchema {
    KindSchema {
        kind: KIND,
        provider: "mysql",
        description: "A MariaDB/MySQL account 'user'@'host' (mysql_native_password).",
        attributes: vec![
            AttrSchema::required("user", AttrType::String, "User name.").force_new(),
            AttrSchema::optional("host", AttrType::String, "Host the user connects from (`%`: any).")
                .force_new()
                .default(any_host),
            AttrSchema::optional("password", AttrType::String, "Password (sent as its mysql_native_password hash).")
                .sensitive(),
            AttrSchema::computed(
                "password_hash",
                AttrType::String,
                "The authentication string the server held after baton set the password (to see changes made outside).",
            )
            .sensitive(),
        ],
        create_before_destroy: false,
    }
}

/// The `mysql_native_password` hash of a password (empty for no password).
pub(super) fn native_hash(password: &str) -> String {
    if password.is_empty() {
        return String::new();
    }
    format!(
        "*{}",
        hex::encode_upper(Sha1::digest(Sha1::digest(password.as_bytes())))
    )
}

/// An account as configured.
struct Spec {
    user: String,
    host: String,
    password: Option<String>,
}

impl Spec {
    fn parse(attrs: &Attrs) -> Result<Spec, ProviderError> {
        let user = required_str(attrs, "user", KIND)?;
        check_name("user", &user)?;
        let host = str_attr(attrs, "host").unwrap_or("%").to_string();
        check_name("host", &host)?;
        Ok(Spec {
            user,
            host,
            password: optional_str(attrs, "password"),
        })
    }

    /// The password, which the proof of ownership needs.
    fn require_password(&self) -> Result<&str, ProviderError> {
        self.password.as_deref().filter(|p| !p.is_empty()).ok_or_else(|| {
            ProviderError::Invalid(format!(
                "{} needs a password: MariaDB accounts hold no comment, so the password baton generated is what proves baton made the account",
                self.describe()
            ))
        })
    }

    fn hash(&self) -> String {
        native_hash(self.password.as_deref().unwrap_or(""))
    }

    /// Whether an account with this plugin and authentication string was made with the
    /// configured password (none configured: nothing proves it).
    fn proves(&self, plugin: &str, auth: &str) -> bool {
        self.require_password().is_ok() && is_native_with(plugin, auth, &self.hash())
    }

    fn describe(&self) -> String {
        format!("user {:?}@{:?}", self.user, self.host)
    }

    /// `IDENTIFIED WITH … AS '<hash>'`; the hash is `*` and hex digits only.
    fn identified(&self) -> String {
        format!(
            "IDENTIFIED WITH {PLUGIN} AS {}",
            quote_literal(&self.hash())
        )
    }
}

/// The plugin and authentication string of an account; `None` when it does not exist.
/// Hosts compare case-insensitively, as the server matches them.
async fn observe(
    conn: &mut Conn,
    user: &str,
    host: &str,
) -> Result<Option<(String, String)>, mysql_async::Error> {
    let row: Option<(Option<String>, Option<String>)> = conn
        .exec_first(
            "SELECT plugin, authentication_string FROM mysql.user WHERE User = ? AND LOWER(Host) = LOWER(?)",
            (user, host),
        )
        .await?;
    Ok(row.map(|(plugin, auth)| (plugin.unwrap_or_default(), auth.unwrap_or_default())))
}

/// Whether the account authenticates with the configured password's hash.
fn is_native_with(plugin: &str, auth: &str, hash: &str) -> bool {
    (plugin == PLUGIN || plugin.is_empty()) && auth == hash
}

/// What `password_hash` records: the authentication string, prefixed with the plugin
/// when it is not `mysql_native_password` (so a plugin change shows as a change).
fn recorded(plugin: &str, auth: &str) -> Value {
    match (plugin, auth) {
        (PLUGIN | "", "") => Value::Null,
        (PLUGIN | "", a) => Value::string(a),
        (p, a) => Value::string(format!("{p}:{a}")),
    }
}

fn output(config: &Attrs, plugin: &str, auth: &str) -> Attrs {
    let mut out = with_defaults(&schema(), config);
    out.insert("password_hash".into(), recorded(plugin, auth));
    out
}

/// What baton can prove about the account described by `attrs` (configured or
/// recorded): it is baton's when it authenticates with the hash of the password recorded
/// for it, one baton generated.
pub(super) async fn claim(p: &MysqlProvider, attrs: &Attrs) -> Result<Claim, ProviderError> {
    let spec = Spec::parse(attrs)?;
    let mut conn = p.conn().await?;
    let found = observe(&mut conn, &spec.user, &spec.host)
        .await
        .map_err(|e| p.error(&format!("cannot read {}", spec.describe()), &e, &[]))?;
    Ok(match found {
        Some((plugin, auth)) if spec.proves(&plugin, &auth) => Claim::Ours,
        _ => Claim::Unproven,
    })
}

/// Creates the account with its password. One that exists is taken only when it
/// authenticates with that password's hash (a retried create: nobody else knows the
/// password); any other is refused untouched.
pub(super) async fn create(p: &MysqlProvider, config: &Attrs) -> Result<Attrs, ProviderError> {
    let spec = Spec::parse(config)?;
    spec.require_password()?;
    let what = format!("cannot create {}", spec.describe());
    let secrets: Vec<&str> = spec.password.iter().map(String::as_str).collect();
    let err = |e: mysql_async::Error| p.error(&what, &e, &secrets);
    let mut conn = p.conn().await?;
    if let Some((plugin, auth)) = observe(&mut conn, &spec.user, &spec.host)
        .await
        .map_err(err)?
    {
        // Also the path of a retried create whose first attempt did succeed.
        if !spec.proves(&plugin, &auth) {
            return Err(ProviderError::NotOurs(format!(
                "{} already exists and baton cannot prove it made it (its password is not the one baton generated)",
                spec.describe()
            )));
        }
    } else {
        let statement = format!(
            "CREATE USER {} {}",
            account(&spec.user, &spec.host),
            spec.identified()
        );
        execute(&mut conn, &statement).await.map_err(err)?;
    }
    let (plugin, auth) = observe(&mut conn, &spec.user, &spec.host)
        .await
        .map_err(err)?
        .ok_or_else(|| {
            ProviderError::Failed(format!("{what}: it vanished right after it was created"))
        })?;
    Ok(output(config, &plugin, &auth))
}

/// Reads the account; the password becomes null when it was changed outside baton.
pub(super) async fn read(p: &MysqlProvider, prior: &Attrs) -> Result<Option<Attrs>, ProviderError> {
    let spec = Spec::parse(prior)?;
    let what = format!("cannot read {}", spec.describe());
    let mut conn = p.conn().await?;
    let Some((plugin, auth)) = observe(&mut conn, &spec.user, &spec.host)
        .await
        .map_err(|e| p.error(&what, &e, &[]))?
    else {
        return Ok(None);
    };
    let mut out = with_defaults(&schema(), prior);
    let now = recorded(&plugin, &auth);
    let stored = prior.get("password_hash").cloned().unwrap_or(Value::Null);
    let unchanged = stored.reveal() == now || is_native_with(&plugin, &auth, &spec.hash());
    if !unchanged {
        out.insert("password".into(), Value::Null);
    }
    out.insert("password_hash".into(), now);
    Ok(Some(out))
}

/// Sets the password when it is not the account's already.
pub(super) async fn update(
    p: &MysqlProvider,
    prior: &Attrs,
    config: &Attrs,
) -> Result<Attrs, ProviderError> {
    let spec = Spec::parse(config)?;
    spec.require_password()?;
    let what = format!("cannot update {}", spec.describe());
    let mut secrets: Vec<&str> = spec.password.iter().map(String::as_str).collect();
    let prior_password = optional_str(prior, "password");
    secrets.extend(prior_password.as_deref());
    let err = |e: mysql_async::Error| p.error(&what, &e, &secrets);
    let mut conn = p.conn().await?;
    if spec.password != prior_password {
        let statement = format!(
            "ALTER USER {} {}",
            account(&spec.user, &spec.host),
            spec.identified()
        );
        execute(&mut conn, &statement).await.map_err(err)?;
    }
    let (plugin, auth) = observe(&mut conn, &spec.user, &spec.host)
        .await
        .map_err(err)?
        .ok_or_else(|| ProviderError::Failed(format!("{what}: it no longer exists")))?;
    Ok(output(config, &plugin, &auth))
}

/// Drops the account (gone already is fine).
pub(super) async fn delete(p: &MysqlProvider, prior: &Attrs) -> Result<(), ProviderError> {
    let spec = Spec::parse(prior)?;
    let what = format!("cannot drop {}", spec.describe());
    let mut conn = p.conn().await?;
    execute(
        &mut conn,
        &format!("DROP USER IF EXISTS {}", account(&spec.user, &spec.host)),
    )
    .await
    .map_err(|e| p.error(&what, &e, &[]))
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn native_hashes_match_the_server_format() {
        // SELECT PASSWORD('password') on MariaDB.
        assert_eq!(
            native_hash("password"),
            "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19"
        );
        assert_eq!(native_hash(""), "");
    }
}
