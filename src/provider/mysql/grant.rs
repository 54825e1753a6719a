//! `mysql_grant`: the privileges of an account on one database (`db`.*).
//!
//! A grant owns the account's privileges on that database: create and update converge
//! on the configured set, delete revokes them all, and read reports what `mysql.db`
//! holds, so a REVOKE made outside shows up as drift. `ALL PRIVILEGES` means every
//! database-level privilege the server has (its `mysql.db` columns), without GRANT OPTION.
//! As in MariaDB itself, `_` and `%` in the database name act as wildcards in the grant.
//!
//! Ownership: a grant is a relation, baton's when its database carries an ownership
//! marker of this state (see `database.rs`); privileges on anyone else's database are
//! neither given, changed nor revoked.

use std::collections::BTreeSet;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row};

use super::database::comment_of;
use super::{MysqlProvider, account, check_name, execute, quote_ident};
use crate::provider::sql::{
    Privilege, Wanted, parse_privileges, privilege_list, required_str, with_defaults,
};
use crate::provider::{
    AttrSchema, AttrType, Attrs, Claim, KindSchema, Owner, ProviderError, str_attr,
};
use crate::value::Value;

const KIND: &str = "mysql_grant";

/// Database-level privileges and their `mysql.db` columns, in the order read reports them.
const PRIVILEGES: &[(&str, &str)] = &[
    ("SELECT", "Select_priv"),
    ("INSERT", "Insert_priv"),
    ("UPDATE", "Update_priv"),
    ("DELETE", "Delete_priv"),
    ("CREATE", "Create_priv"),
    ("DROP", "Drop_priv"),
    ("REFERENCES", "References_priv"),
    ("INDEX", "Index_priv"),
    ("ALTER", "Alter_priv"),
    ("CREATE TEMPORARY TABLES", "Create_tmp_table_priv"),
    ("LOCK TABLES", "Lock_tables_priv"),
    ("CREATE VIEW", "Create_view_priv"),
    ("SHOW VIEW", "Show_view_priv"),
    ("CREATE ROUTINE", "Create_routine_priv"),
    ("ALTER ROUTINE", "Alter_routine_priv"),
    ("EXECUTE", "Execute_priv"),
    ("EVENT", "Event_priv"),
    ("TRIGGER", "Trigger_priv"),
    ("DELETE HISTORY", "Delete_history_priv"),
];

/// The allow-list for `privileges` (the keywords above).
const ALLOWED: &[Privilege] = &[
    Privilege {
        keyword: "SELECT",
        aliases: &[],
    },
    Privilege {
        keyword: "INSERT",
        aliases: &[],
    },
    Privilege {
        keyword: "UPDATE",
        aliases: &[],
    },
    Privilege {
        keyword: "DELETE",
        aliases: &[],
    },
    Privilege {
        keyword: "CREATE",
        aliases: &[],
    },
    Privilege {
        keyword: "DROP",
        aliases: &[],
    },
    Privilege {
        keyword: "REFERENCES",
        aliases: &[],
    },
    Privilege {
        keyword: "INDEX",
        aliases: &[],
    },
    Privilege {
        keyword: "ALTER",
        aliases: &[],
    },
    Privilege {
        keyword: "CREATE TEMPORARY TABLES",
        aliases: &[],
    },
    Privilege {
        keyword: "LOCK TABLES",
        aliases: &[],
    },
    Privilege {
        keyword: "CREATE VIEW",
        aliases: &[],
    },
    Privilege {
        keyword: "SHOW VIEW",
        aliases: &[],
    },
    Privilege {
        keyword: "CREATE ROUTINE",
        aliases: &[],
    },
    Privilege {
        keyword: "ALTER ROUTINE",
        aliases: &[],
    },
    Privilege {
        keyword: "EXECUTE",
        aliases: &[],
    },
    Privilege {
        keyword: "EVENT",
        aliases: &[],
    },
    Privilege {
        keyword: "TRIGGER",
        aliases: &[],
    },
    Privilege {
        keyword: "DELETE HISTORY",
        aliases: &[],
    },
];

fn any_host() -> Value {
    Value::string("%")
}

/// The schema of `mysql_grant`.
pub(super) fn schema() -> KindSchema {
    KindSchema {
        kind: KIND,
        provider: "mysql",
        description: "Privileges of a MariaDB/MySQL account on one database.",
        attributes: vec![
            AttrSchema::required("user", AttrType::String, "User name of the account.").force_new(),
            AttrSchema::optional("host", AttrType::String, "Host of the account.")
                .force_new()
                .default(any_host),
            AttrSchema::required("database", AttrType::String, "The database.").force_new(),
            AttrSchema::required(
                "privileges",
                AttrType::List,
                "Privileges, e.g. [\"SELECT\", \"INSERT\"], or [\"ALL PRIVILEGES\"].",
            ),
        ],
        create_before_destroy: false,
    }
}

/// The account and database a grant is about.
struct Target {
    user: String,
    host: String,
    database: String,
}

impl Target {
    fn parse(attrs: &Attrs) -> Result<Target, ProviderError> {
        let user = required_str(attrs, "user", KIND)?;
        check_name("user", &user)?;
        let host = str_attr(attrs, "host").unwrap_or("%").to_string();
        check_name("host", &host)?;
        let database = required_str(attrs, "database", KIND)?;
        check_name("database", &database)?;
        Ok(Target {
            user,
            host,
            database,
        })
    }

    fn describe(&self) -> String {
        format!(
            "grant to {:?}@{:?} on database {:?}",
            self.user, self.host, self.database
        )
    }

    fn wanted(&self, attrs: &Attrs) -> Result<Wanted, ProviderError> {
        parse_privileges(attrs, ALLOWED, &self.describe())
    }

    /// GRANT/REVOKE of `privs`; the keywords come from the allow-list constants.
    fn statement(&self, grant: bool, privs: &BTreeSet<&'static str>) -> String {
        let list: Vec<&str> = PRIVILEGES
            .iter()
            .map(|(k, _)| *k)
            .filter(|k| privs.contains(k))
            .collect();
        let (verb, to) = if grant {
            ("GRANT", "TO")
        } else {
            ("REVOKE", "FROM")
        };
        format!(
            "{verb} {} ON {}.* {to} {}",
            list.join(", "),
            quote_ident(&self.database),
            account(&self.user, &self.host)
        )
    }
}

/// Every database-level privilege this server has (its `mysql.db` privilege columns).
async fn server_privileges(conn: &mut Conn) -> Result<Vec<&'static str>, mysql_async::Error> {
    let columns: Vec<String> = conn
        .exec(
            "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'mysql' AND TABLE_NAME = 'db'",
            (),
        )
        .await?;
    Ok(PRIVILEGES
        .iter()
        .filter(|(_, col)| columns.iter().any(|c| c.eq_ignore_ascii_case(col)))
        .map(|(k, _)| *k)
        .collect())
}

/// The privileges the account holds on the database (empty when none).
async fn held(conn: &mut Conn, t: &Target) -> Result<BTreeSet<&'static str>, mysql_async::Error> {
    let row: Option<Row> = conn
        .exec_first(
            "SELECT * FROM mysql.db WHERE User = ? AND LOWER(Host) = LOWER(?) AND Db = ?",
            (&t.user, &t.host, &t.database),
        )
        .await?;
    let Some(row) = row else {
        return Ok(BTreeSet::new());
    };
    let mut out = BTreeSet::new();
    for (i, col) in row.columns_ref().iter().enumerate() {
        let name = col.name_str();
        let yes =
            matches!(row.as_ref(i), Some(mysql_async::Value::Bytes(b)) if b.as_slice() == b"Y");
        if let Some((k, _)) = PRIVILEGES
            .iter()
            .find(|(_, c)| c.eq_ignore_ascii_case(&name))
            && yes
        {
            out.insert(*k);
        }
    }
    Ok(out)
}

/// What baton can prove about a grant: it is baton's when its database carries a marker
/// of this owner's state (privileges on a database baton made); otherwise someone
/// else's to change. `None` when the database does not exist (dropped outside baton: a
/// grant outlives its database in MariaDB).
pub(super) async fn relation(
    p: &MysqlProvider,
    attrs: &Attrs,
    owner: &Owner,
) -> Result<Option<Claim>, ProviderError> {
    let t = Target::parse(attrs)?;
    let mut conn = p.conn().await?;
    let comment = comment_of(&mut conn, &t.database)
        .await
        .map_err(|e| p.error(&format!("cannot read {}", t.describe()), &e, &[]))?;
    Ok(comment.map(|m| {
        if owner.same_state(&m) {
            Claim::Ours
        } else {
            Claim::Unproven
        }
    }))
}

/// The claim of an existing grant. One whose database is gone reaches no one's data:
/// it stays baton's, so the plan can make the database again and converge the grant.
pub(super) async fn claim(
    p: &MysqlProvider,
    attrs: &Attrs,
    owner: &Owner,
) -> Result<Claim, ProviderError> {
    Ok(relation(p, attrs, owner).await?.unwrap_or(Claim::Ours))
}

/// The refusal of a grant on a database this state did not make.
pub(super) fn not_ours(attrs: &Attrs) -> ProviderError {
    let what = Target::parse(attrs).map_or_else(|e| e.to_string(), |t| t.describe());
    ProviderError::NotOurs(format!(
        "{what}: the database was not made by this baton state, so baton cannot prove the grant is its own (it carries no ownership marker of this state)"
    ))
}

/// Create and update: grants what is missing and revokes what is extra.
pub(super) async fn apply(p: &MysqlProvider, config: &Attrs) -> Result<Attrs, ProviderError> {
    let t = Target::parse(config)?;
    let wanted = t.wanted(config)?;
    let what = format!("cannot apply {}", t.describe());
    let err = |e: mysql_async::Error| p.error(&what, &e, &[]);
    let mut conn = p.conn().await?;
    let all = server_privileges(&mut conn).await.map_err(err)?;
    let wanted = wanted.expand(&all);
    let have = held(&mut conn, &t).await.map_err(err)?;
    let extra: BTreeSet<_> = have.difference(&wanted).copied().collect();
    if !extra.is_empty() {
        execute(&mut conn, &t.statement(false, &extra))
            .await
            .map_err(err)?;
    }
    let missing: BTreeSet<_> = wanted.difference(&have).copied().collect();
    if !missing.is_empty() {
        execute(&mut conn, &t.statement(true, &missing))
            .await
            .map_err(err)?;
    }
    Ok(with_defaults(&schema(), config))
}

/// Reads the privileges held; `None` when none are (or the account is gone).
pub(super) async fn read(p: &MysqlProvider, prior: &Attrs) -> Result<Option<Attrs>, ProviderError> {
    let t = Target::parse(prior)?;
    let what = format!("cannot read {}", t.describe());
    let err = |e: mysql_async::Error| p.error(&what, &e, &[]);
    let mut conn = p.conn().await?;
    let have = held(&mut conn, &t).await.map_err(err)?;
    if have.is_empty() {
        return Ok(None);
    }
    let all = server_privileges(&mut conn).await.map_err(err)?;
    let mut out = with_defaults(&schema(), prior);
    let same = t.wanted(prior).ok().is_some_and(|w| w.expand(&all) == have);
    if !same {
        let everything: BTreeSet<&str> = all.iter().copied().collect();
        let now = if have == everything {
            Value::List(vec![Value::string("ALL PRIVILEGES")])
        } else {
            let order: Vec<&'static str> = PRIVILEGES.iter().map(|(k, _)| *k).collect();
            privilege_list(&have, &order)
        };
        out.insert("privileges".into(), now);
    }
    Ok(Some(out))
}

/// Revokes every privilege the account holds on the database (gone already is fine).
pub(super) async fn delete(p: &MysqlProvider, prior: &Attrs) -> Result<(), ProviderError> {
    let t = Target::parse(prior)?;
    let what = format!("cannot revoke {}", t.describe());
    let err = |e: mysql_async::Error| p.error(&what, &e, &[]);
    let mut conn = p.conn().await?;
    let have = held(&mut conn, &t).await.map_err(err)?;
    if !have.is_empty() {
        execute(&mut conn, &t.statement(false, &have))
            .await
            .map_err(err)?;
    }
    Ok(())
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn statements_quote_names_and_use_allow_listed_keywords() {
        let t = Target {
            user: "o'neil".into(),
            host: "%".into(),
            database: "a`b".into(),
        };
        let s = t.statement(true, &BTreeSet::from(["INSERT", "SELECT"]));
        assert_eq!(s, "GRANT SELECT, INSERT ON `a``b`.* TO 'o''neil'@'%'");
        assert_eq!(ALLOWED.len(), PRIVILEGES.len());
        assert!(
            ALLOWED
                .iter()
                .zip(PRIVILEGES)
                .all(|(a, (k, _))| a.keyword == *k)
        );
    }
}
