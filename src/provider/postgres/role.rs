//! `postgres_role`: a role (a user when it may log in).
//!
//! PostgreSQL never reveals a password, so drift of the password is found through its
//! verifier: `rolpassword` in `pg_authid` (readable by superusers). The verifier observed
//! right after baton set the password is kept as `password_hash`; when the role's verifier
//! differs later and does not verify the configured password, read reports the password
//! as unknown (null), so the plan sets it again. Without access to `pg_authid` password
//! drift cannot be seen and the prior values are kept.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use tokio_postgres::Client;

use super::{
    PostgresProvider, Shared, check_identifier, comment_of, create_error, ddl, formatted, not_ours,
    sqlstate,
};
use crate::provider::sql::{keep_int, optional_str, required_str, with_defaults};
use crate::provider::{
    AttrSchema, AttrType, Attrs, Claim, KindSchema, Owner, ProviderError, bool_attr, int_attr,
};
use crate::value::Value;

const KIND: &str = "postgres_role";

fn yes() -> Value {
    Value::Bool(true)
}
fn no() -> Value {
    Value::Bool(false)
}
fn unlimited() -> Value {
    Value::int(-1)
}

/// The schema of `postgres_role`.
pub(super) fn schema() -> KindSchema {
    KindSchema {
        kind: KIND,
        provider: "postgres",
        description: "A PostgreSQL role (a user when it may log in); never a superuser.",
        attributes: vec![
            AttrSchema::required("name", AttrType::String, "Name of the role.").force_new(),
            AttrSchema::optional("login", AttrType::Bool, "The role may log in.").default(yes),
            AttrSchema::optional("password", AttrType::String, "Password (sent to the server as a SCRAM-SHA-256 verifier).")
                .sensitive(),
            AttrSchema::optional("connection_limit", AttrType::Number, "Concurrent connections allowed; -1 for no limit.")
                .default(unlimited),
            AttrSchema::optional(
                "valid_until",
                AttrType::String,
                "Time after which the password no longer works (a PostgreSQL timestamp, or \"infinity\").",
            ),
            AttrSchema::optional("inherit", AttrType::Bool, "The role uses the privileges of roles it is a member of.")
                .default(yes),
            AttrSchema::optional("createdb", AttrType::Bool, "The role may create databases.").default(no),
            AttrSchema::computed(
                "password_hash",
                AttrType::String,
                "The password verifier the server held after baton set it (to see changes made outside).",
            )
            .sensitive(),
        ],
        create_before_destroy: false,
    }
}

/// A role as configured.
struct Spec {
    name: String,
    login: bool,
    password: Option<String>,
    connection_limit: i64,
    valid_until: Option<String>,
    inherit: bool,
    createdb: bool,
}

impl Spec {
    fn parse(attrs: &Attrs) -> Result<Spec, ProviderError> {
        let name = required_str(attrs, "name", KIND)?;
        check_identifier("role", &name)?;
        let connection_limit = int_attr(attrs, "connection_limit").unwrap_or(-1);
        if connection_limit < -1 || connection_limit > i32::MAX as i64 {
            return Err(ProviderError::Invalid(format!(
                "`connection_limit` of role {name:?} must be -1 (no limit) or more, not {connection_limit}"
            )));
        }
        let password = optional_str(attrs, "password");
        if password.as_deref().is_some_and(|p| p.contains('\0')) {
            return Err(ProviderError::Invalid(format!(
                "the password of role {name:?} contains a NUL character"
            )));
        }
        Ok(Spec {
            login: bool_attr(attrs, "login").unwrap_or(true),
            password,
            connection_limit,
            valid_until: optional_str(attrs, "valid_until").filter(|s| !s.is_empty()),
            inherit: bool_attr(attrs, "inherit").unwrap_or(true),
            createdb: bool_attr(attrs, "createdb").unwrap_or(false),
            name,
        })
    }

    /// `CREATE ROLE`/`ALTER ROLE` as a `format` template and its arguments. Keywords come
    /// from constants; the name, timestamp and verifier go through `%I`/`%L`.
    fn statement(&self, create: bool, password: &PasswordChange) -> (String, Vec<String>) {
        let flag = |on: bool, word: &str| {
            if on {
                word.to_string()
            } else {
                format!("NO{word}")
            }
        };
        let mut template = format!(
            "{} ROLE %I WITH {} {} {} CONNECTION LIMIT %s",
            if create { "CREATE" } else { "ALTER" },
            flag(self.login, "LOGIN"),
            flag(self.inherit, "INHERIT"),
            flag(self.createdb, "CREATEDB"),
        );
        let mut args = vec![self.name.clone(), self.connection_limit.to_string()];
        match (&self.valid_until, create) {
            (Some(v), _) => {
                template.push_str(" VALID UNTIL %L");
                args.push(v.clone());
            }
            // Taking `valid_until` away means the password never expires again.
            (None, false) => template.push_str(" VALID UNTIL 'infinity'"),
            (None, true) => {}
        }
        match password {
            PasswordChange::Set(verifier) => {
                template.push_str(" PASSWORD %L");
                args.push(verifier.clone());
            }
            PasswordChange::Clear => template.push_str(" PASSWORD NULL"),
            PasswordChange::Keep => {}
        }
        (template, args)
    }
}

/// What an ALTER does to the password.
enum PasswordChange {
    /// Set this verifier.
    Set(String),
    /// Remove the password.
    Clear,
    /// Leave it.
    Keep,
}

/// A role as the server has it.
struct Observed {
    login: bool,
    inherit: bool,
    createdb: bool,
    connection_limit: i64,
    valid_until: Option<String>,
    /// `None`: `pg_authid` is not readable (not a superuser); else the verifier, if any.
    verifier: Option<Option<String>>,
}

async fn observe(client: &Client, name: &str) -> Result<Option<Observed>, tokio_postgres::Error> {
    let Some(row) = client
        .query_opt(
            "SELECT rolcanlogin, rolinherit, rolcreatedb, rolconnlimit, rolvaliduntil::text \
             FROM pg_roles WHERE rolname = $1",
            &[&name],
        )
        .await?
    else {
        return Ok(None);
    };
    let verifier = match client
        .query_opt(
            "SELECT rolpassword FROM pg_authid WHERE rolname = $1",
            &[&name],
        )
        .await
    {
        Ok(r) => Some(r.and_then(|r| r.get::<_, Option<String>>(0))),
        Err(e) if sqlstate(&e) == Some("42501") => None,
        Err(e) => return Err(e),
    };
    Ok(Some(Observed {
        login: row.get(0),
        inherit: row.get(1),
        createdb: row.get(2),
        connection_limit: row.get::<_, i32>(3).into(),
        valid_until: row.get(4),
        verifier,
    }))
}

/// Whether two `valid_until` values mean the same time (compared by the server, which
/// parses timestamps; null and `infinity` both mean "never expires").
async fn same_validity(
    client: &Client,
    want: Option<&str>,
    have: Option<&str>,
) -> Result<bool, tokio_postgres::Error> {
    let never = |s: &str| s.trim().eq_ignore_ascii_case("infinity");
    match (want, have) {
        (None, None) => Ok(true),
        (None, Some(t)) | (Some(t), None) => Ok(never(t)),
        (Some(w), Some(h)) if w == h => Ok(true),
        (Some(w), Some(h)) => {
            match client
                .query_one(
                    "SELECT $1::text::timestamptz = $2::text::timestamptz",
                    &[&w, &h],
                )
                .await
            {
                Ok(row) => Ok(row.get::<_, Option<bool>>(0) == Some(true)),
                // A value that is not a timestamp is simply not the same.
                Err(e) if sqlstate(&e).is_some_and(|c| c.starts_with("22")) => Ok(false),
                Err(e) => Err(e),
            }
        }
    }
}

/// Whether `verifier` (from `pg_authid.rolpassword`) is a verifier of `password`.
pub(super) fn verify(password: &str, role: &str, verifier: &str) -> bool {
    if verifier.starts_with("md5") {
        return postgres_protocol::password::md5(password.as_bytes(), role) == verifier;
    }
    verify_scram(password, verifier).unwrap_or(false)
}

/// Checks a `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` verifier (RFC 5802/7677).
fn verify_scram(password: &str, verifier: &str) -> Option<bool> {
    let rest = verifier.strip_prefix("SCRAM-SHA-256$")?;
    let (params, keys) = rest.split_once('$')?;
    let (iterations, salt) = params.split_once(':')?;
    let (stored_key, server_key) = keys.split_once(':')?;
    let iterations: u32 = iterations.parse().ok().filter(|n| *n > 0)?;
    let salt = STANDARD.decode(salt).ok()?;
    // Same preparation as the server and libpq: SASLprep when it applies, else raw bytes.
    let prepared = stringprep::saslprep(password)
        .map(|p| p.into_owned().into_bytes())
        .unwrap_or_else(|_| password.as_bytes().to_vec());
    let hmac = |key: &[u8], parts: &[&[u8]]| {
        let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any size");
        for p in parts {
            m.update(p);
        }
        m.finalize().into_bytes()
    };
    // PBKDF2-HMAC-SHA-256 with one output block ("Hi" in RFC 5802).
    let mut u = hmac(&prepared, &[&salt, &[0, 0, 0, 1]]);
    let mut salted = u;
    for _ in 1..iterations {
        u = hmac(&prepared, &[&u]);
        salted.iter_mut().zip(u.iter()).for_each(|(s, b)| *s ^= b);
    }
    let client_key = hmac(&salted, &[b"Client Key"]);
    let stored = Sha256::digest(client_key);
    let server = hmac(&salted, &[b"Server Key"]);
    Some(STANDARD.encode(stored) == stored_key && STANDARD.encode(server) == server_key)
}

/// The attributes after create/update: the configuration, defaults, and the verifier.
fn output(config: &Attrs, found: &Observed) -> Attrs {
    let mut out = with_defaults(&schema(), config);
    let hash = match &found.verifier {
        Some(Some(v)) => Value::string(v.clone()),
        _ => Value::Null,
    };
    out.insert("password_hash".into(), hash);
    out
}

/// Creates the role with the owner's marker as its comment, both in one transaction, so
/// no role of baton's ever exists unmarked. An existing role is taken only when it
/// carries this owner's marker (a retried create whose first attempt succeeded, or the
/// statement of a killed run that the server finished): it is altered to the
/// configuration. Any other role is refused untouched.
pub(super) async fn create(
    p: &PostgresProvider,
    config: &Attrs,
    owner: &Owner,
) -> Result<Attrs, ProviderError> {
    let spec = Spec::parse(config)?;
    let what = format!("cannot create role {:?}", spec.name);
    let secrets: Vec<&str> = spec.password.iter().map(String::as_str).collect();
    let err = |e: tokio_postgres::Error| p.error(&what, &e, &secrets);
    let client = p.client(None).await?;
    let password = match &spec.password {
        Some(pw) => PasswordChange::Set(postgres_protocol::password::scram_sha_256(pw.as_bytes())),
        None => PasswordChange::Keep,
    };
    match comment_of(&client, Shared::Role, &spec.name)
        .await
        .map_err(err)?
    {
        Some(comment) => {
            let claim = owner.judge(comment.as_deref());
            if claim != Claim::Ours {
                return Err(not_ours(Shared::Role, &spec.name, &claim));
            }
            let (template, args) = spec.statement(false, &password);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            ddl(&client, &template, &args).await.map_err(err)?;
        }
        None => {
            let (template, args) = spec.statement(true, &password);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let create = formatted(&client, &template, &args).await.map_err(err)?;
            let marker = owner.marker();
            let mark = formatted(&client, "COMMENT ON ROLE %I IS %L", &[&spec.name, &marker])
                .await
                .map_err(err)?;
            // One simple query: the server runs both statements in one transaction.
            client
                .batch_execute(&format!("{create}; {mark}"))
                .await
                .map_err(|e| create_error(p, &what, &e, &secrets))?;
        }
    }
    let found = observe(&client, &spec.name)
        .await
        .map_err(err)?
        .ok_or_else(|| {
            ProviderError::Failed(format!("{what}: it vanished right after it was created"))
        })?;
    Ok(output(config, &found))
}

/// Reads the role; the password becomes null when it was changed outside baton.
pub(super) async fn read(
    p: &PostgresProvider,
    prior: &Attrs,
) -> Result<Option<Attrs>, ProviderError> {
    let name = required_str(prior, "name", KIND)?;
    let what = format!("cannot read role {name:?}");
    let client = p.client(None).await?;
    p.await_other_sessions(&client, &name).await?;
    let err = |e: tokio_postgres::Error| p.error(&what, &e, &[]);
    let Some(found) = observe(&client, &name).await.map_err(err)? else {
        return Ok(None);
    };
    let mut out = with_defaults(&schema(), prior);
    out.insert("login".into(), Value::Bool(found.login));
    out.insert("inherit".into(), Value::Bool(found.inherit));
    out.insert("createdb".into(), Value::Bool(found.createdb));
    out.insert(
        "connection_limit".into(),
        keep_int(prior, "connection_limit", found.connection_limit),
    );
    let prior_until = optional_str(prior, "valid_until");
    if !same_validity(
        &client,
        prior_until.as_deref(),
        found.valid_until.as_deref(),
    )
    .await
    .map_err(err)?
    {
        match found.valid_until.clone() {
            Some(v) => out.insert("valid_until".into(), Value::string(v)),
            None => out.remove("valid_until"),
        };
    }
    if let Some(current) = found.verifier {
        let stored = optional_str(prior, "password_hash");
        let unchanged = stored == current
            || match (optional_str(prior, "password"), &current) {
                // Set again outside baton to the same password (new salt): still ours.
                (Some(pw), Some(v)) => verify(&pw, &name, v),
                (None, None) => true,
                _ => false,
            };
        if !unchanged {
            out.insert("password".into(), Value::Null);
        }
        out.insert(
            "password_hash".into(),
            current.map_or(Value::Null, Value::string),
        );
    }
    Ok(Some(out))
}

/// Alters the role in place; the password is set only when it is not the role's already.
pub(super) async fn update(
    p: &PostgresProvider,
    prior: &Attrs,
    config: &Attrs,
) -> Result<Attrs, ProviderError> {
    let spec = Spec::parse(config)?;
    let what = format!("cannot update role {:?}", spec.name);
    let mut secrets: Vec<&str> = spec.password.iter().map(String::as_str).collect();
    let prior_password = optional_str(prior, "password");
    secrets.extend(prior_password.as_deref());
    let err = |e: tokio_postgres::Error| p.error(&what, &e, &secrets);
    let password = match (&spec.password, &prior_password) {
        (Some(new), Some(old)) if new == old => PasswordChange::Keep,
        (Some(new), _) => {
            PasswordChange::Set(postgres_protocol::password::scram_sha_256(new.as_bytes()))
        }
        (None, Some(_)) => PasswordChange::Clear,
        (None, None) => PasswordChange::Keep,
    };
    let client = p.client(None).await?;
    let (template, args) = spec.statement(false, &password);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ddl(&client, &template, &args).await.map_err(err)?;
    let found = observe(&client, &spec.name)
        .await
        .map_err(err)?
        .ok_or_else(|| ProviderError::Failed(format!("{what}: it no longer exists")))?;
    Ok(output(config, &found))
}

/// Drops the role (gone already is fine). A role that still owns objects or holds
/// privileges is not dropped; the server's message says which.
pub(super) async fn delete(p: &PostgresProvider, prior: &Attrs) -> Result<(), ProviderError> {
    let name = required_str(prior, "name", KIND)?;
    let what = format!("cannot drop role {name:?}");
    let client = p.client(None).await?;
    p.await_other_sessions(&client, &name).await?;
    ddl(&client, "DROP ROLE IF EXISTS %I", &[&name])
        .await
        .map_err(|e| p.error(&what, &e, &[]))
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn verifiers_verify_their_password_only() {
        let v = postgres_protocol::password::scram_sha_256(b"s3cret'\"; --");
        assert!(verify("s3cret'\"; --", "r", &v));
        assert!(!verify("s3cret", "r", &v));
        let m = postgres_protocol::password::md5(b"pw", "alice");
        assert!(verify("pw", "alice", &m));
        assert!(!verify("pw", "bob", &m));
        assert!(!verify("pw", "r", "SCRAM-SHA-256$garbage"));
    }

    #[test]
    fn statements_keep_values_out_of_the_template() {
        let spec = Spec::parse(&Attrs::from([
            ("name".to_string(), Value::string("a'; DROP ROLE x; --")),
            ("valid_until".to_string(), Value::string("2030-01-01")),
        ]))
        .unwrap();
        let (t, args) = spec.statement(true, &PasswordChange::Set("SCRAM…".into()));
        assert_eq!(
            t,
            "CREATE ROLE %I WITH LOGIN INHERIT NOCREATEDB CONNECTION LIMIT %s VALID UNTIL %L PASSWORD %L"
        );
        assert_eq!(args, ["a'; DROP ROLE x; --", "-1", "2030-01-01", "SCRAM…"]);
        let (t, _) = spec.statement(false, &PasswordChange::Clear);
        assert!(
            t.starts_with("ALTER ROLE %I") && t.ends_with("PASSWORD NULL"),
            "{t}"
        );
    }
}
