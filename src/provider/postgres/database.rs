//! `postgres_database`: a database with its owner, encoding and connection limit.
//! The template is only used at creation (PostgreSQL does not record it), so read keeps
//! the configured one; encoding and template changes replace the database.

use tokio_postgres::Client;

use super::{
    PostgresProvider, Shared, check_identifier, create_error, ddl, judge, mark_shared, not_ours,
};
use crate::provider::sql::{keep_if_same, keep_int, required_str, with_defaults};
use crate::provider::{
    AttrSchema, AttrType, Attrs, Claim, KindSchema, Owner, ProviderError, int_attr, str_attr,
};
use crate::value::Value;

const KIND: &str = "postgres_database";

fn utf8() -> Value {
    Value::string("UTF8")
}
fn template0() -> Value {
    Value::string("template0")
}
fn unlimited() -> Value {
    Value::int(-1)
}

/// The schema of `postgres_database`.
pub(super) fn schema() -> KindSchema {
    KindSchema {
        kind: KIND,
        provider: "postgres",
        description: "A PostgreSQL database.",
        attributes: vec![
            AttrSchema::required("name", AttrType::String, "Name of the database.").force_new(),
            AttrSchema::required("owner", AttrType::String, "Role that owns the database."),
            AttrSchema::optional(
                "encoding",
                AttrType::String,
                "Character encoding, e.g. UTF8.",
            )
            .force_new()
            .default(utf8),
            AttrSchema::optional(
                "template",
                AttrType::String,
                "Database copied to create this one.",
            )
            .force_new()
            .default(template0),
            AttrSchema::optional(
                "connection_limit",
                AttrType::Number,
                "Concurrent connections allowed; -1 for no limit.",
            )
            .default(unlimited),
        ],
        create_before_destroy: false,
    }
}

/// A database as configured.
struct Spec {
    name: String,
    owner: String,
    encoding: String,
    template: String,
    connection_limit: i64,
}

impl Spec {
    fn parse(attrs: &Attrs) -> Result<Spec, ProviderError> {
        let name = required_str(attrs, "name", KIND)?;
        check_identifier("database", &name)?;
        let owner = required_str(attrs, "owner", KIND)?;
        check_identifier("owner role", &owner)?;
        let template = str_attr(attrs, "template")
            .unwrap_or("template0")
            .to_string();
        check_identifier("template database", &template)?;
        let connection_limit = int_attr(attrs, "connection_limit").unwrap_or(-1);
        if connection_limit < -1 || connection_limit > i32::MAX as i64 {
            return Err(ProviderError::Invalid(format!(
                "`connection_limit` of database {name:?} must be -1 (no limit) or more, not {connection_limit}"
            )));
        }
        Ok(Spec {
            encoding: str_attr(attrs, "encoding").unwrap_or("UTF8").to_string(),
            name,
            owner,
            template,
            connection_limit,
        })
    }
}

/// A database as the server has it.
struct Observed {
    owner: String,
    encoding: String,
    /// The server's encoding is the one `encoding` names (compared by the server, which
    /// knows the aliases: `utf8`, `UTF-8` and `UNICODE` are all UTF8).
    encoding_matches: bool,
    connection_limit: i64,
}

async fn observe(
    client: &Client,
    name: &str,
    encoding: &str,
) -> Result<Option<Observed>, tokio_postgres::Error> {
    let row = client
        .query_opt(
            "SELECT pg_get_userbyid(datdba)::text, pg_encoding_to_char(encoding)::text, \
                    encoding = pg_char_to_encoding($2::text), datconnlimit \
             FROM pg_database WHERE datname = $1",
            &[&name, &encoding],
        )
        .await?;
    Ok(row.and_then(|r| {
        let limit: i32 = r.get(3);
        // -2 marks a database whose DROP was interrupted: it is unusable, i.e. gone.
        (limit != -2).then(|| Observed {
            owner: r.get(0),
            encoding: r.get(1),
            encoding_matches: r.get(2),
            connection_limit: limit.into(),
        })
    }))
}

/// Creates the database, then sets the owner's marker as its comment (`CREATE DATABASE`
/// cannot run in a transaction: a run killed between the two leaves a database without
/// the marker, which the next run refuses to take over rather than guess; `baton import`
/// takes it). An existing database is taken only when it carries this owner's marker; any
/// other is refused untouched, whatever its settings.
pub(super) async fn create(
    p: &PostgresProvider,
    config: &Attrs,
    owner: &Owner,
) -> Result<Attrs, ProviderError> {
    let spec = Spec::parse(config)?;
    let what = format!("cannot create database {:?}", spec.name);
    let err = |e: tokio_postgres::Error| p.error(&what, &e, &[]);
    let client = p.client(None).await?;
    match judge(&client, Shared::Database, &spec.name, owner)
        .await
        .map_err(err)?
    {
        Some(claim) => {
            if claim != Claim::Ours {
                return Err(not_ours(Shared::Database, &spec.name, &claim));
            }
            mark_shared(&client, Shared::Database, &spec.name, owner)
                .await
                .map_err(err)?;
            return update(p, config).await;
        }
        None => {
            let limit = spec.connection_limit.to_string();
            ddl(
                &client,
                "CREATE DATABASE %I OWNER %I ENCODING %L TEMPLATE %I CONNECTION LIMIT %s",
                &[
                    &spec.name,
                    &spec.owner,
                    &spec.encoding,
                    &spec.template,
                    &limit,
                ],
            )
            .await
            .map_err(|e| create_error(p, &what, &e, &[]))?;
            mark_shared(&client, Shared::Database, &spec.name, owner)
                .await
                .map_err(err)?;
        }
    }
    Ok(with_defaults(&schema(), config))
}

/// Reads the database (owner, encoding, connection limit).
pub(super) async fn read(
    p: &PostgresProvider,
    prior: &Attrs,
) -> Result<Option<Attrs>, ProviderError> {
    let name = required_str(prior, "name", KIND)?;
    let what = format!("cannot read database {name:?}");
    let client = p.client(None).await?;
    p.await_other_sessions(&client, &name).await?;
    let encoding = str_attr(prior, "encoding").unwrap_or("UTF8");
    let Some(found) = observe(&client, &name, encoding)
        .await
        .map_err(|e| p.error(&what, &e, &[]))?
    else {
        return Ok(None);
    };
    let mut out = with_defaults(&schema(), prior);
    out.insert("owner".into(), Value::string(found.owner));
    out.insert(
        "encoding".into(),
        keep_if_same(
            prior,
            "encoding",
            Value::string(found.encoding),
            found.encoding_matches,
        ),
    );
    out.insert(
        "connection_limit".into(),
        keep_int(prior, "connection_limit", found.connection_limit),
    );
    Ok(Some(out))
}

/// Changes the owner and the connection limit in place (both statements are idempotent).
pub(super) async fn update(p: &PostgresProvider, config: &Attrs) -> Result<Attrs, ProviderError> {
    let spec = Spec::parse(config)?;
    let what = format!("cannot update database {:?}", spec.name);
    let err = |e: tokio_postgres::Error| p.error(&what, &e, &[]);
    let client = p.client(None).await?;
    ddl(
        &client,
        "ALTER DATABASE %I OWNER TO %I",
        &[&spec.name, &spec.owner],
    )
    .await
    .map_err(err)?;
    let limit = spec.connection_limit.to_string();
    ddl(
        &client,
        "ALTER DATABASE %I WITH CONNECTION LIMIT %s",
        &[&spec.name, &limit],
    )
    .await
    .map_err(err)?;
    Ok(with_defaults(&schema(), config))
}

/// Drops the database (gone already is fine). Other sessions still connected make the
/// server refuse; that is retried for a while as they may be ending.
pub(super) async fn delete(p: &PostgresProvider, prior: &Attrs) -> Result<(), ProviderError> {
    let name = required_str(prior, "name", KIND)?;
    let what = format!("cannot drop database {name:?}");
    p.forget(&name).await;
    let client = p.client(None).await?;
    p.await_other_sessions(&client, &name).await?;
    ddl(&client, "DROP DATABASE IF EXISTS %I", &[&name])
        .await
        .map_err(|e| p.error(&what, &e, &[]))
}
