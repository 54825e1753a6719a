//! `mysql_database`: a database (schema) with its default character set and collation,
//! read from `information_schema.SCHEMATA`.

use mysql_async::Conn;
use mysql_async::prelude::Queryable;

use super::{MysqlProvider, check_name, execute, quote_ident, quote_literal};
use crate::provider::sql::{keep_if_same, required_str, with_defaults};
use crate::provider::{
    AttrSchema, AttrType, Attrs, Claim, KindSchema, Owner, ProviderError, str_attr,
};
use crate::value::Value;

const KIND: &str = "mysql_database";

fn utf8mb4() -> Value {
    Value::string("utf8mb4")
}
fn unicode_ci() -> Value {
    Value::string("utf8mb4_unicode_ci")
}

/// The schema of `mysql_database`.
pub(super) fn schema() -> KindSchema {
    KindSchema {
        kind: KIND,
        provider: "mysql",
        description: "A MariaDB/MySQL database.",
        attributes: vec![
            AttrSchema::required("name", AttrType::String, "Name of the database.").force_new(),
            AttrSchema::optional("charset", AttrType::String, "Default character set.")
                .default(utf8mb4),
            AttrSchema::optional(
                "collation",
                AttrType::String,
                "Default collation (must suit the character set).",
            )
            .default(unicode_ci),
        ],
        create_before_destroy: false,
    }
}

/// A database as configured.
struct Spec {
    name: String,
    charset: String,
    collation: String,
}

/// Character set and collation names are keywords in DDL, so they are checked to be
/// plain words rather than quoted.
fn check_word(what: &str, value: &str, db: &str) -> Result<(), ProviderError> {
    if value.is_empty() || !value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(ProviderError::Invalid(format!(
            "the {what} of database {db:?} must be a name like utf8mb4, not {value:?}"
        )));
    }
    Ok(())
}

impl Spec {
    fn parse(attrs: &Attrs) -> Result<Spec, ProviderError> {
        let name = required_str(attrs, "name", KIND)?;
        check_name("database", &name)?;
        let charset = str_attr(attrs, "charset").unwrap_or("utf8mb4").to_string();
        check_word("character set", &charset, &name)?;
        let collation = str_attr(attrs, "collation")
            .unwrap_or("utf8mb4_unicode_ci")
            .to_string();
        check_word("collation", &collation, &name)?;
        Ok(Spec {
            name,
            charset,
            collation,
        })
    }
}

/// Whether two charset or collation names mean the same (case aside, and `utf8` being
/// `utf8mb3` in recent servers).
fn same_name(a: &str, b: &str) -> bool {
    let norm = |s: &str| s.to_ascii_lowercase().replace("utf8mb3", "utf8");
    norm(a) == norm(b)
}

async fn observe(
    conn: &mut Conn,
    name: &str,
) -> Result<Option<(String, String)>, mysql_async::Error> {
    conn.exec_first(
        "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA \
         WHERE SCHEMA_NAME = ?",
        (name,),
    )
    .await
}

/// The comment of the database `name` (where baton keeps its ownership marker); `None`
/// when there is no such database.
pub(super) async fn comment_of(
    conn: &mut Conn,
    name: &str,
) -> Result<Option<String>, mysql_async::Error> {
    conn.exec_first(
        "SELECT SCHEMA_COMMENT FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
        (name,),
    )
    .await
}

/// What baton can prove about the database `name` for `owner`.
pub(super) async fn claim(
    p: &MysqlProvider,
    attrs: &Attrs,
    owner: &Owner,
) -> Result<Claim, ProviderError> {
    let name = required_str(attrs, "name", KIND)?;
    let mut conn = p.conn().await?;
    let comment = comment_of(&mut conn, &name)
        .await
        .map_err(|e| p.error(&format!("cannot read database {name:?}"), &e, &[]))?;
    Ok(owner.judge(comment.as_deref()))
}

/// Writes the owner's marker as the database's comment.
pub(super) async fn mark(
    p: &MysqlProvider,
    attrs: &Attrs,
    owner: &Owner,
) -> Result<(), ProviderError> {
    let name = required_str(attrs, "name", KIND)?;
    check_name("database", &name)?;
    let mut conn = p.conn().await?;
    let statement = format!(
        "ALTER DATABASE {} COMMENT {}",
        quote_ident(&name),
        quote_literal(&owner.marker())
    );
    execute(&mut conn, &statement).await.map_err(|e| {
        p.error(
            &format!("cannot mark database {name:?} as baton's"),
            &e,
            &[],
        )
    })
}

/// Creates the database with the owner's marker as its comment, in the one statement.
/// An existing database is taken only when it carries this owner's marker (a retried
/// create); any other is refused untouched, whatever its character set: a workload must
/// never be handed someone else's data.
pub(super) async fn create(
    p: &MysqlProvider,
    config: &Attrs,
    owner: &Owner,
) -> Result<Attrs, ProviderError> {
    let spec = Spec::parse(config)?;
    let what = format!("cannot create database {:?}", spec.name);
    let err = |e: mysql_async::Error| p.error(&what, &e, &[]);
    let mut conn = p.conn().await?;
    if observe(&mut conn, &spec.name).await.map_err(err)?.is_some() {
        let comment = comment_of(&mut conn, &spec.name).await.map_err(err)?;
        let claim = owner.judge(comment.as_deref());
        if claim != Claim::Ours {
            return Err(ProviderError::NotOurs(format!(
                "database {:?} already exists and baton cannot prove it made it ({})",
                spec.name,
                claim.describe()
            )));
        }
        return update(p, config).await;
    }
    let statement = format!(
        "CREATE DATABASE {} CHARACTER SET {} COLLATE {} COMMENT {}",
        quote_ident(&spec.name),
        spec.charset,
        spec.collation,
        quote_literal(&owner.marker())
    );
    execute(&mut conn, &statement).await.map_err(err)?;
    Ok(with_defaults(&schema(), config))
}

/// Reads the database's character set and collation.
pub(super) async fn read(p: &MysqlProvider, prior: &Attrs) -> Result<Option<Attrs>, ProviderError> {
    let name = required_str(prior, "name", KIND)?;
    let what = format!("cannot read database {name:?}");
    let mut conn = p.conn().await?;
    let Some((charset, collation)) = observe(&mut conn, &name)
        .await
        .map_err(|e| p.error(&what, &e, &[]))?
    else {
        return Ok(None);
    };
    let mut out = with_defaults(&schema(), prior);
    let same = |key: &str, now: &str| {
        out.get(key)
            .and_then(Value::as_str)
            .is_some_and(|v| same_name(v, now))
    };
    let (same_cs, same_coll) = (same("charset", &charset), same("collation", &collation));
    let charset = keep_if_same(&out, "charset", Value::string(charset), same_cs);
    let collation = keep_if_same(&out, "collation", Value::string(collation), same_coll);
    out.insert("charset".into(), charset);
    out.insert("collation".into(), collation);
    Ok(Some(out))
}

/// Changes the character set and collation in place.
pub(super) async fn update(p: &MysqlProvider, config: &Attrs) -> Result<Attrs, ProviderError> {
    let spec = Spec::parse(config)?;
    let what = format!("cannot update database {:?}", spec.name);
    let mut conn = p.conn().await?;
    let statement = format!(
        "ALTER DATABASE {} CHARACTER SET {} COLLATE {}",
        quote_ident(&spec.name),
        spec.charset,
        spec.collation
    );
    execute(&mut conn, &statement)
        .await
        .map_err(|e| p.error(&what, &e, &[]))?;
    Ok(with_defaults(&schema(), config))
}

/// Drops the database (gone already is fine).
pub(super) async fn delete(p: &MysqlProvider, prior: &Attrs) -> Result<(), ProviderError> {
    let name = required_str(prior, "name", KIND)?;
    check_name("database", &name)?;
    let what = format!("cannot drop database {name:?}");
    let mut conn = p.conn().await?;
    execute(
        &mut conn,
        &format!("DROP DATABASE IF EXISTS {}", quote_ident(&name)),
    )
    .await
    .map_err(|e| p.error(&what, &e, &[]))
}
