//! `postgres_grant`: the privileges of a role on a database, or on a schema of it.
//!
//! A grant owns the role's privileges on that object: create and update converge on the
//! configured set (granting what is missing, revoking what is extra), delete revokes
//! them all, and read reports what the role really holds, from the object's ACL
//! (`aclexplode`), so a REVOKE made outside shows up as drift. Privileges held through
//! PUBLIC or through membership of other roles are not the grant's and are not counted.

use std::collections::BTreeSet;

use tokio_postgres::Client;

use super::{PostgresProvider, Shared, check_identifier, comment_of, ddl};
use crate::provider::sql::{
    Privilege, Wanted, optional_str, parse_privileges, privilege_list, required_str, with_defaults,
};
use crate::provider::{AttrSchema, AttrType, Attrs, Claim, KindSchema, Owner, ProviderError};

const KIND: &str = "postgres_grant";

/// Privileges on a database, in the order read reports them.
const DATABASE_PRIVILEGES: &[Privilege] = &[
    Privilege {
        keyword: "CONNECT",
        aliases: &[],
    },
    Privilege {
        keyword: "CREATE",
        aliases: &[],
    },
    Privilege {
        keyword: "TEMPORARY",
        aliases: &["TEMP"],
    },
];
/// Privileges on a schema, in the order read reports them.
const SCHEMA_PRIVILEGES: &[Privilege] = &[
    Privilege {
        keyword: "USAGE",
        aliases: &[],
    },
    Privilege {
        keyword: "CREATE",
        aliases: &[],
    },
];

/// The schema of `postgres_grant`.
pub(super) fn schema() -> KindSchema {
    KindSchema {
        kind: KIND,
        provider: "postgres",
        description: "Privileges of a role on a database (CONNECT, CREATE, TEMPORARY) or on one of its schemas (USAGE, CREATE).",
        attributes: vec![
            AttrSchema::required("role", AttrType::String, "Role receiving the privileges.")
                .force_new(),
            AttrSchema::required("database", AttrType::String, "The database.").force_new(),
            AttrSchema::optional(
                "schema",
                AttrType::String,
                "A schema of the database; absent for the database itself.",
            )
            .force_new(),
            AttrSchema::required(
                "privileges",
                AttrType::List,
                "Privileges, e.g. [\"CONNECT\", \"TEMPORARY\"] or on a schema [\"USAGE\", \"CREATE\"]; \"ALL\" for all.",
            ),
        ],
        create_before_destroy: false,
    }
}

/// The object a grant is about.
struct Target {
    role: String,
    database: String,
    schema: Option<String>,
}

impl Target {
    fn parse(attrs: &Attrs) -> Result<Target, ProviderError> {
        let role = required_str(attrs, "role", KIND)?;
        check_identifier("role", &role)?;
        let database = required_str(attrs, "database", KIND)?;
        check_identifier("database", &database)?;
        let schema = optional_str(attrs, "schema");
        if let Some(s) = &schema {
            check_identifier("schema", s)?;
        }
        Ok(Target {
            role,
            database,
            schema,
        })
    }

    fn privileges(&self) -> &'static [Privilege] {
        if self.schema.is_some() {
            SCHEMA_PRIVILEGES
        } else {
            DATABASE_PRIVILEGES
        }
    }

    fn all(&self) -> Vec<&'static str> {
        self.privileges().iter().map(|p| p.keyword).collect()
    }

    fn describe(&self) -> String {
        match &self.schema {
            Some(s) => format!(
                "grant to role {:?} on schema {s:?} of database {:?}",
                self.role, self.database
            ),
            None => format!(
                "grant to role {:?} on database {:?}",
                self.role, self.database
            ),
        }
    }

    fn wanted(&self, attrs: &Attrs) -> Result<Wanted, ProviderError> {
        parse_privileges(attrs, self.privileges(), &self.describe())
    }

    /// GRANT/REVOKE of `privs` as a `format` template; the keywords come from the
    /// allow-list constants, names go through `%I`.
    fn statement(&self, grant: bool, privs: &BTreeSet<&'static str>) -> String {
        let list: Vec<&str> = self
            .all()
            .into_iter()
            .filter(|k| privs.contains(k))
            .collect();
        let object = if self.schema.is_some() {
            "SCHEMA %I"
        } else {
            "DATABASE %I"
        };
        if grant {
            format!("GRANT {} ON {object} TO %I", list.join(", "))
        } else {
            format!("REVOKE {} ON {object} FROM %I", list.join(", "))
        }
    }

    fn object(&self) -> &str {
        self.schema.as_deref().unwrap_or(&self.database)
    }
}

/// The client to use for a target: schema ACLs live in their database.
async fn client_for(
    p: &PostgresProvider,
    t: &Target,
) -> Result<Option<std::sync::Arc<Client>>, ProviderError> {
    let admin = p.client(None).await?;
    if t.schema.is_none() {
        return Ok(Some(admin));
    }
    let exists = admin
        .query_opt(
            "SELECT 1 FROM pg_database WHERE datname = $1",
            &[&t.database],
        )
        .await
        .map_err(|e| p.error(&format!("cannot read {}", t.describe()), &e, &[]))?
        .is_some();
    if !exists {
        return Ok(None);
    }
    p.client(Some(&t.database)).await.map(Some)
}

/// The privileges the role holds on the object itself; `None` when the role, the
/// database or the schema does not exist.
async fn held(
    p: &PostgresProvider,
    t: &Target,
) -> Result<Option<BTreeSet<&'static str>>, ProviderError> {
    let Some(client) = client_for(p, t).await? else {
        return Ok(None);
    };
    let query = if t.schema.is_some() {
        "SELECT r.oid IS NOT NULL, o.oid IS NOT NULL, ARRAY(SELECT a.privilege_type::text \
            FROM aclexplode(COALESCE(o.nspacl, acldefault('n', o.nspowner))) a WHERE a.grantee = r.oid) \
         FROM (SELECT 1) x LEFT JOIN pg_roles r ON r.rolname = $1 LEFT JOIN pg_namespace o ON o.nspname = $2"
    } else {
        "SELECT r.oid IS NOT NULL, o.oid IS NOT NULL, ARRAY(SELECT a.privilege_type::text \
            FROM aclexplode(COALESCE(o.datacl, acldefault('d', o.datdba))) a WHERE a.grantee = r.oid) \
         FROM (SELECT 1) x LEFT JOIN pg_roles r ON r.rolname = $1 LEFT JOIN pg_database o ON o.datname = $2"
    };
    let row = client
        .query_one(query, &[&t.role, &t.object()])
        .await
        .map_err(|e| p.error(&format!("cannot read {}", t.describe()), &e, &[]))?;
    let (role_exists, object_exists): (bool, bool) = (row.get(0), row.get(1));
    if !role_exists || !object_exists {
        return Ok(None);
    }
    let types: Vec<String> = row.get(2);
    Ok(Some(
        t.privileges()
            .iter()
            .map(|p| p.keyword)
            .filter(|k| types.iter().any(|t| t == k))
            .collect(),
    ))
}

/// What baton can prove about a grant: it is baton's when its role or its database carries
/// a marker of this owner's state (privileges given to a role baton made, or on a
/// database baton made); otherwise it is someone else's to change.
pub(super) async fn claim(
    p: &PostgresProvider,
    attrs: &Attrs,
    owner: &Owner,
) -> Result<Claim, ProviderError> {
    let t = Target::parse(attrs)?;
    let client = p.client(None).await?;
    for (what, name) in [(Shared::Role, &t.role), (Shared::Database, &t.database)] {
        let comment = comment_of(&client, what, name)
            .await
            .map_err(|e| p.error(&format!("cannot read {}", t.describe()), &e, &[]))?;
        if comment.flatten().is_some_and(|m| owner.same_state(&m)) {
            return Ok(Claim::Ours);
        }
    }
    Ok(Claim::Unproven)
}

/// The refusal of a grant between objects neither of which baton made.
pub(super) fn not_ours(attrs: &Attrs, claim: &Claim) -> ProviderError {
    let what = Target::parse(attrs).map_or_else(|e| e.to_string(), |t| t.describe());
    ProviderError::NotOurs(format!(
        "{what}: neither the role nor the database was made by this baton state ({})",
        claim.describe()
    ))
}

/// Create and update: grants what is missing and revokes what is extra.
pub(super) async fn apply(p: &PostgresProvider, config: &Attrs) -> Result<Attrs, ProviderError> {
    let t = Target::parse(config)?;
    let wanted = t.wanted(config)?.expand(&t.all());
    let what = format!("cannot apply {}", t.describe());
    let _serial = p.acl_lock.lock().await;
    let Some(client) = client_for(p, &t).await? else {
        return Err(ProviderError::Failed(format!(
            "{what}: database {:?} does not exist",
            t.database
        )));
    };
    // Missing role or object: GRANT below fails with the server's precise message.
    let have = held(p, &t).await?.unwrap_or_default();
    let err = |e: tokio_postgres::Error| p.error(&what, &e, &[]);
    let extra: BTreeSet<_> = have.difference(&wanted).copied().collect();
    if !extra.is_empty() {
        ddl(&client, &t.statement(false, &extra), &[t.object(), &t.role])
            .await
            .map_err(err)?;
    }
    let missing: BTreeSet<_> = wanted.difference(&have).copied().collect();
    if !missing.is_empty() {
        ddl(
            &client,
            &t.statement(true, &missing),
            &[t.object(), &t.role],
        )
        .await
        .map_err(err)?;
    }
    Ok(with_defaults(&schema(), config))
}

/// Reads the privileges held; `None` when none are (or the role or object is gone).
pub(super) async fn read(
    p: &PostgresProvider,
    prior: &Attrs,
) -> Result<Option<Attrs>, ProviderError> {
    let t = Target::parse(prior)?;
    let Some(have) = held(p, &t).await? else {
        return Ok(None);
    };
    if have.is_empty() {
        return Ok(None);
    }
    let mut out = prior.clone();
    let same = t
        .wanted(prior)
        .ok()
        .is_some_and(|w| w.expand(&t.all()) == have);
    if !same {
        out.insert("privileges".into(), privilege_list(&have, &t.all()));
    }
    Ok(Some(out))
}

/// Revokes every privilege the role holds on the object (gone already is fine).
pub(super) async fn delete(p: &PostgresProvider, prior: &Attrs) -> Result<(), ProviderError> {
    let t = Target::parse(prior)?;
    let _serial = p.acl_lock.lock().await;
    let Some(have) = held(p, &t).await? else {
        return Ok(());
    };
    if have.is_empty() {
        return Ok(());
    }
    let Some(client) = client_for(p, &t).await? else {
        return Ok(());
    };
    ddl(&client, &t.statement(false, &have), &[t.object(), &t.role])
        .await
        .map_err(|e| p.error(&format!("cannot revoke {}", t.describe()), &e, &[]))
}

#[cfg(test)]
mod unit {
    use super::*;
    use crate::value::Value;

    #[test]
    fn statements_use_allow_listed_keywords_only() {
        let t = Target {
            role: "r".into(),
            database: "d".into(),
            schema: None,
        };
        let s = t.statement(true, &BTreeSet::from(["TEMPORARY", "CONNECT"]));
        assert_eq!(s, "GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I");
        let t = Target {
            schema: Some("s".into()),
            ..t
        };
        assert_eq!(
            t.statement(false, &BTreeSet::from(["USAGE"])),
            "REVOKE USAGE ON SCHEMA %I FROM %I"
        );
        let bad = Attrs::from([(
            "privileges".to_string(),
            Value::List(vec![Value::string("CONNECT")]),
        )]);
        assert!(matches!(t.wanted(&bad), Err(ProviderError::Invalid(_))));
    }
}
