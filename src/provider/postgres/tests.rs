//! Tests of the `postgres` provider against a real server (`BATON_TEST_POSTGRES_URL`,
//! default the provider's default URL). Each test uses its own random names, checks the
//! server's catalogs directly (not through the provider), and cleans up even when it
//! fails. A server that cannot be reached fails the tests, with how to start one.

use std::future::Future;

use tokio_postgres::{Client, NoTls};

use super::*;
use crate::provider::retry::Backoff;

fn test_url() -> String {
    std::env::var("BATON_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_URL.to_string())
}

/// A direct connection for checks and for changes "made outside baton".
async fn admin() -> Client {
    admin_on(None).await
}

async fn admin_on(database: Option<&str>) -> Client {
    let mut cfg: tokio_postgres::Config = test_url().parse().expect("test URL parses");
    if let Some(db) = database {
        cfg.dbname(db);
    }
    match cfg.connect(NoTls).await {
        Ok((client, conn)) => {
            tokio::spawn(conn);
            client
        }
        Err(e) => panic!(
            "PostgreSQL is not reachable at {} ({e}{}). These tests need a real server with trust \
             authentication for user `postgres` on 127.0.0.1:5432: `apt-get install postgresql && \
             service postgresql start` (or `pg_ctlcluster 15 main start`), or set \
             BATON_TEST_POSTGRES_URL to a superuser URL of another server.",
            redact_url(&test_url()),
            std::error::Error::source(&e)
                .map(|s| format!(": {s}"))
                .unwrap_or_default()
        ),
    }
}

fn provider() -> PostgresProvider {
    PostgresProvider::new(&attrs(&[("url", Value::string(test_url()))]))
}

fn attrs(pairs: &[(&str, Value)]) -> Attrs {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn s(v: &str) -> Value {
    Value::string(v)
}

fn list(items: &[&str]) -> Value {
    Value::List(items.iter().map(|i| Value::string(*i)).collect())
}

fn uniq(what: &str) -> String {
    format!("baton_t_{what}_{:08x}", rand::random::<u32>())
}

/// An identifier quoted for the tests' own SQL (doubling `"`).
fn qi(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Runs `body`, then `cleanup` whatever happened, then fails if `body` failed.
async fn with_cleanup(
    body: impl Future<Output = ()> + Send + 'static,
    cleanup: impl Future<Output = ()>,
) {
    let result = tokio::spawn(body).await;
    cleanup.await;
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// Drops databases (forcing other sessions out) then roles, ignoring what is gone.
async fn drop_all(databases: Vec<String>, roles: Vec<String>) {
    let db = admin().await;
    for d in databases {
        let _ = db
            .batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", qi(&d)))
            .await;
    }
    for r in roles {
        let _ = db
            .batch_execute(&format!("DROP ROLE IF EXISTS {}", qi(&r)))
            .await;
    }
}

async fn rolpassword(db: &Client, role: &str) -> Option<String> {
    db.query_one(
        "SELECT rolpassword FROM pg_authid WHERE rolname = $1",
        &[&role],
    )
    .await
    .unwrap()
    .get(0)
}

/// The privileges `role` holds on database `database`, straight from its ACL.
async fn database_acl(db: &Client, role: &str, database: &str) -> Vec<String> {
    db.query_one(
        "SELECT ARRAY(SELECT a.privilege_type::text FROM pg_database d, \
             aclexplode(COALESCE(d.datacl, acldefault('d', d.datdba))) a \
         WHERE d.datname = $2 AND a.grantee = (SELECT oid FROM pg_roles WHERE rolname = $1) ORDER BY 1)",
        &[&role, &database],
    )
    .await
    .unwrap()
    .get(0)
}

/// The privileges `role` holds on schema `app`, straight from its ACL.
async fn schema_acl(inside: &Client, role: &str) -> Vec<String> {
    inside
        .query_one(
            "SELECT ARRAY(SELECT a.privilege_type::text FROM pg_namespace n, \
                 aclexplode(COALESCE(n.nspacl, acldefault('n', n.nspowner))) a \
             WHERE n.nspname = 'app' AND a.grantee = (SELECT oid FROM pg_roles WHERE rolname = $1) ORDER BY 1)",
            &[&role],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn role_create_read_update_drift_delete() {
    let db = admin().await;
    let name = uniq("role");
    let n = name.clone();
    with_cleanup(
        async move {
            let name = n;
            let p = provider();
            let schema = p.kinds().into_iter().find(|k| k.kind == "postgres_role").unwrap();
            assert!(schema.attr("name").unwrap().force_new, "a new name means a new role");
            assert!(schema.attr("password").unwrap().sensitive);
            assert!(schema.attr("password_hash").unwrap().sensitive);
            assert!(schema.attr("superuser").is_none());

            let cfg = attrs(&[
                ("name", s(&name)),
                ("password", s("first-pw")),
                ("connection_limit", Value::int(5)),
                ("createdb", Value::Bool(true)),
            ]);
            let out = p.create("postgres_role", &cfg, &crate::provider::Owner::for_tests()).await.unwrap();
            let db = admin().await;
            let row = db
                .query_one(
                    "SELECT rolcanlogin, rolcreatedb, rolinherit, rolconnlimit, rolsuper, rolvaliduntil IS NULL \
                     FROM pg_roles WHERE rolname = $1",
                    &[&name],
                )
                .await
                .unwrap();
            assert_eq!(
                (row.get::<_, bool>(0), row.get::<_, bool>(1), row.get::<_, bool>(2)),
                (true, true, true)
            );
            assert_eq!((row.get::<_, i32>(3), row.get::<_, bool>(4), row.get::<_, bool>(5)), (5, false, true));
            let verifier = rolpassword(&db, &name).await.expect("a password is set");
            assert!(verifier.starts_with("SCRAM-SHA-256$"), "hashed before it was sent");
            assert!(role::verify("first-pw", &name, &verifier));
            assert_eq!(out["password_hash"], s(&verifier));
            assert_eq!(out["login"], Value::Bool(true), "defaults are filled in");
            assert_eq!(p.read("postgres_role", &out).await.unwrap(), Some(out.clone()), "no drift right after create");

            // Update in place: limit, login, password, expiry.
            let mut cfg2 = cfg.clone();
            cfg2.insert("connection_limit".into(), Value::int(10));
            cfg2.insert("login".into(), Value::Bool(false));
            cfg2.insert("password".into(), s("second-pw"));
            cfg2.insert("valid_until".into(), s("2031-01-01 00:00:00+00"));
            let out2 = p.update("postgres_role", &out, &cfg2).await.unwrap();
            let row = db
                .query_one(
                    "SELECT rolcanlogin, rolconnlimit, rolvaliduntil = '2031-01-01 00:00:00+00'::timestamptz \
                     FROM pg_roles WHERE rolname = $1",
                    &[&name],
                )
                .await
                .unwrap();
            assert_eq!((row.get::<_, bool>(0), row.get::<_, i32>(1), row.get::<_, bool>(2)), (false, 10, true));
            let verifier2 = rolpassword(&db, &name).await.unwrap();
            assert!(role::verify("second-pw", &name, &verifier2));
            assert!(!role::verify("first-pw", &name, &verifier2));
            assert_eq!(out2["password_hash"], s(&verifier2));
            assert_eq!(p.read("postgres_role", &out2).await.unwrap(), Some(out2.clone()));

            // Drift: password and connection limit changed outside baton.
            db.batch_execute(&format!(
                "ALTER ROLE {} PASSWORD 'set-by-hand' CONNECTION LIMIT 3 VALID UNTIL 'infinity'",
                qi(&name)
            ))
            .await
            .unwrap();
            let now = p.read("postgres_role", &out2).await.unwrap().unwrap();
            assert_eq!(now["password"], Value::Null, "the configured password is no longer the role's");
            assert_ne!(now["password_hash"], out2["password_hash"]);
            assert_eq!(now["connection_limit"], Value::int(3));
            assert_eq!(now["valid_until"], s("infinity"));
            // The plan then updates from the drifted state, which sets the password again.
            let fixed = p.update("postgres_role", &now, &cfg2).await.unwrap();
            assert!(role::verify("second-pw", &name, &rolpassword(&db, &name).await.unwrap()));
            assert_eq!(p.read("postgres_role", &fixed).await.unwrap(), Some(fixed.clone()));

            // Password removed by a later configuration.
            let mut cfg3 = cfg2.clone();
            cfg3.remove("password");
            let out3 = p.update("postgres_role", &fixed, &cfg3).await.unwrap();
            assert_eq!(rolpassword(&db, &name).await, None);
            assert_eq!(out3["password_hash"], Value::Null);

            // Dropped outside baton: read says gone, delete is still fine.
            db.batch_execute(&format!("DROP ROLE {}", qi(&name))).await.unwrap();
            assert_eq!(p.read("postgres_role", &out3).await.unwrap(), None);
            p.delete("postgres_role", &out3).await.unwrap();

            // And a delete through the provider really drops it.
            let out = p.create("postgres_role", &cfg, &crate::provider::Owner::for_tests()).await.unwrap();
            p.delete("postgres_role", &out).await.unwrap();
            let left = db.query_opt("SELECT 1 FROM pg_roles WHERE rolname = $1", &[&name]).await.unwrap();
            assert!(left.is_none());
        },
        drop_all(vec![], vec![name]),
    )
    .await;
    drop(db);
}

#[tokio::test]
async fn role_create_takes_only_a_role_marked_for_its_owner() {
    let db = admin().await;
    let name = uniq("adopt");
    // Someone else's role with exactly the configured password: a match is not proof.
    db.batch_execute(&format!(
        "CREATE ROLE {} LOGIN PASSWORD 'same-pw'",
        qi(&name)
    ))
    .await
    .unwrap();
    let n = name.clone();
    with_cleanup(
        async move {
            let name = n;
            let p = provider();
            let owner = crate::provider::Owner::for_tests();
            let cfg = attrs(&[("name", s(&name)), ("password", s("same-pw"))]);
            let e = p.create("postgres_role", &cfg, &owner).await.unwrap_err();
            let msg = e.to_string();
            assert!(matches!(e, ProviderError::NotOurs(_)), "{msg}");
            assert!(
                msg.contains(&name) && msg.contains("already exists"),
                "{msg}"
            );
            assert!(!msg.contains("same-pw"), "{msg}");
            assert_eq!(
                p.claim("postgres_role", &cfg, &owner).await.unwrap(),
                crate::provider::Claim::Unproven
            );

            // Once it carries the owner's marker (as after baton's own create whose reply
            // was lost), the create takes it and sets it to the configuration.
            p.mark("postgres_role", &cfg, &owner).await.unwrap();
            let other = attrs(&[
                ("name", s(&name)),
                ("password", s("other-pw")),
                ("createdb", Value::Bool(true)),
            ]);
            let out = p
                .create("postgres_role", &other, &owner)
                .await
                .expect("marked role is taken");
            assert_eq!(out["createdb"], Value::Bool(true));
            assert_eq!(
                p.claim("postgres_role", &other, &owner).await.unwrap(),
                crate::provider::Claim::Ours
            );
            // Another state's owner sees another state's object.
            let stranger =
                crate::provider::Owner::new("11111111-2222-4333-8444-555555555555", "test");
            let e = p
                .create("postgres_role", &other, &stranger)
                .await
                .unwrap_err();
            assert!(matches!(e, ProviderError::NotOurs(_)), "{e}");
            assert!(matches!(
                p.claim("postgres_role", &other, &stranger).await.unwrap(),
                crate::provider::Claim::Foreign(_)
            ));
        },
        drop_all(vec![], vec![name]),
    )
    .await;
}

/// Several sessions create the same role and database at once (as when the next run
/// starts while the server still finishes a killed run's `CREATE`): the losers of the
/// race see the winner's object and adopt it, none fails with a duplicate-key error.
#[tokio::test]
async fn concurrent_creates_of_the_same_objects_all_adopt() {
    let (role, database) = (uniq("race"), uniq("racedb"));
    let (r, d) = (role.clone(), database.clone());
    with_cleanup(
        async move {
            let role_cfg = attrs(&[("name", s(&r)), ("password", s("race-pw"))]);
            let db_cfg = attrs(&[("name", s(&d)), ("owner", s(&r))]);
            for (kind, cfg) in [("postgres_role", role_cfg), ("postgres_database", db_cfg)] {
                let calls: Vec<_> = (0..6)
                    .map(|_| {
                        let cfg = cfg.clone();
                        tokio::spawn(async move {
                            provider()
                                .create(kind, &cfg, &crate::provider::Owner::for_tests())
                                .await
                        })
                    })
                    .collect();
                for c in calls {
                    let out = c.await.unwrap();
                    assert!(out.is_ok(), "{kind}: {:?}", out.err());
                }
            }
            let db = admin().await;
            let row = db
                .query_one(
                    "SELECT pg_get_userbyid(datdba)::text FROM pg_database WHERE datname = $1",
                    &[&d],
                )
                .await
                .unwrap();
            assert_eq!(row.get::<_, String>(0), r);
        },
        drop_all(vec![database], vec![role]),
    )
    .await;
}

/// A run killed during `CREATE ROLE` leaves the statement running on the server, which
/// commits it later. A read meanwhile waits for that session of baton, so it sees the
/// role (and the next run adopts it) instead of reporting it missing.
#[tokio::test]
async fn a_read_waits_for_a_killed_runs_statement_on_the_same_object() {
    let role = uniq("late");
    let r = role.clone();
    with_cleanup(
        async move {
            let mut cfg: tokio_postgres::Config = test_url().parse().unwrap();
            cfg.application_name("baton");
            let (other, conn) = cfg.connect(NoTls).await.unwrap();
            tokio::spawn(conn);
            // The "killed run": its statement makes the role after a while.
            let sql = format!(
                "DO $$ BEGIN PERFORM pg_sleep(1); EXECUTE 'CREATE ROLE {}'; END $$",
                qi(&r)
            );
            let slow = tokio::spawn(async move { other.batch_execute(&sql).await });
            // Let it start.
            let db = admin().await;
            while db
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND position($1 in query) > 0 AND pid <> pg_backend_pid()",
                    &[&r],
                )
                .await
                .unwrap()
                .get::<_, i64>(0)
                == 0
            {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            let found = provider()
                .read("postgres_role", &attrs(&[("name", s(&r))]))
                .await
                .unwrap();
            assert!(found.is_some(), "the read saw the role the other session made");
            slow.await.unwrap().unwrap();
        },
        drop_all(vec![], vec![role]),
    )
    .await;
}

#[tokio::test]
async fn database_create_read_update_drift_delete() {
    let db = admin().await;
    let (name, owner1, owner2) = (uniq("db"), uniq("own1"), uniq("own2"));
    for o in [&owner1, &owner2] {
        db.batch_execute(&format!("CREATE ROLE {}", qi(o)))
            .await
            .unwrap();
    }
    let (n, o1, o2) = (name.clone(), owner1.clone(), owner2.clone());
    with_cleanup(
        async move {
            let p = provider();
            let schema = p.kinds().into_iter().find(|k| k.kind == "postgres_database").unwrap();
            for a in ["name", "encoding", "template"] {
                assert!(schema.attr(a).unwrap().force_new, "{a} replaces the database");
            }
            assert!(!schema.attr("owner").unwrap().force_new);

            let cfg = attrs(&[("name", s(&n)), ("owner", s(&o1)), ("encoding", s("utf8"))]);
            let out = p.create("postgres_database", &cfg, &crate::provider::Owner::for_tests()).await.unwrap();
            let db = admin().await;
            let row = db
                .query_one(
                    "SELECT pg_get_userbyid(datdba)::text, pg_encoding_to_char(encoding)::text, datconnlimit \
                     FROM pg_database WHERE datname = $1",
                    &[&n],
                )
                .await
                .unwrap();
            assert_eq!((row.get::<_, String>(0), row.get::<_, String>(1), row.get::<_, i32>(2)), (o1.clone(), "UTF8".into(), -1));
            assert_eq!(out["template"], s("template0"));
            assert_eq!(
                p.read("postgres_database", &out).await.unwrap(),
                Some(out.clone()),
                "`utf8` is the server's UTF8: no drift"
            );
            // Creating it again for the same owner takes it (its marker proves it);
            // for another state's owner, refuses.
            p.create("postgres_database", &cfg, &crate::provider::Owner::for_tests()).await.unwrap();
            let stranger = crate::provider::Owner::new("11111111-2222-4333-8444-555555555555", "test");
            let e = p.create("postgres_database", &cfg, &stranger).await.unwrap_err();
            assert!(matches!(e, ProviderError::NotOurs(_)) && e.to_string().contains("already exists"), "{e}");

            // Update in place.
            let mut cfg2 = cfg.clone();
            cfg2.insert("owner".into(), s(&o2));
            cfg2.insert("connection_limit".into(), Value::int(7));
            let out2 = p.update("postgres_database", &out, &cfg2).await.unwrap();
            let row = db
                .query_one("SELECT pg_get_userbyid(datdba)::text, datconnlimit FROM pg_database WHERE datname = $1", &[&n])
                .await
                .unwrap();
            assert_eq!((row.get::<_, String>(0), row.get::<_, i32>(1)), (o2.clone(), 7));
            assert_eq!(p.read("postgres_database", &out2).await.unwrap(), Some(out2.clone()));

            // Drift: owner and limit changed outside baton.
            db.batch_execute(&format!("ALTER DATABASE {} OWNER TO {}", qi(&n), qi(&o1))).await.unwrap();
            db.batch_execute(&format!("ALTER DATABASE {} CONNECTION LIMIT 2", qi(&n))).await.unwrap();
            let now = p.read("postgres_database", &out2).await.unwrap().unwrap();
            assert_eq!(now["owner"], s(&o1));
            assert_eq!(now["connection_limit"], Value::int(2));

            // Dropped outside baton.
            db.batch_execute(&format!("DROP DATABASE {}", qi(&n))).await.unwrap();
            assert_eq!(p.read("postgres_database", &out2).await.unwrap(), None);
            p.delete("postgres_database", &out2).await.unwrap();

            // Delete through the provider.
            let out = p.create("postgres_database", &cfg, &crate::provider::Owner::for_tests()).await.unwrap();
            p.delete("postgres_database", &out).await.unwrap();
            assert!(db.query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&n]).await.unwrap().is_none());
        },
        drop_all(vec![name], vec![owner1, owner2]),
    )
    .await;
}

#[tokio::test]
async fn database_grant_converges_and_sees_revokes() {
    let db = admin().await;
    let (role, dbname) = (uniq("grole"), uniq("gdb"));
    db.batch_execute(&format!("CREATE ROLE {}", qi(&role)))
        .await
        .unwrap();
    // Made by baton as far as ownership goes: the grant hangs from a marked role.
    db.batch_execute(&format!(
        "COMMENT ON ROLE {} IS '{}'",
        qi(&role),
        crate::provider::Owner::for_tests().marker()
    ))
    .await
    .unwrap();
    db.batch_execute(&format!("CREATE DATABASE {}", qi(&dbname)))
        .await
        .unwrap();
    let (r, d) = (role.clone(), dbname.clone());
    with_cleanup(
        async move {
            let p = provider();
            let schema = p
                .kinds()
                .into_iter()
                .find(|k| k.kind == "postgres_grant")
                .unwrap();
            for a in ["role", "database", "schema"] {
                assert!(schema.attr(a).unwrap().force_new, "{a} replaces the grant");
            }
            assert!(!schema.attr("privileges").unwrap().force_new);

            let cfg = attrs(&[
                ("role", s(&r)),
                ("database", s(&d)),
                ("privileges", list(&["CONNECT"])),
            ]);
            let out = p
                .create("postgres_grant", &cfg, &crate::provider::Owner::for_tests())
                .await
                .unwrap();
            let db = admin().await;
            assert_eq!(database_acl(&db, &r, &d).await, ["CONNECT"]);
            assert_eq!(
                p.read("postgres_grant", &out).await.unwrap(),
                Some(out.clone())
            );

            let cfg2 = attrs(&[
                ("role", s(&r)),
                ("database", s(&d)),
                ("privileges", list(&["temp", "CONNECT"])),
            ]);
            let out2 = p.update("postgres_grant", &out, &cfg2).await.unwrap();
            assert_eq!(database_acl(&db, &r, &d).await, ["CONNECT", "TEMPORARY"]);
            assert_eq!(
                p.read("postgres_grant", &out2).await.unwrap(),
                Some(out2.clone()),
                "the module's spelling is kept when it means what is held"
            );

            // Drift: one privilege revoked outside baton, then all of them.
            db.batch_execute(&format!(
                "REVOKE TEMPORARY ON DATABASE {} FROM {}",
                qi(&d),
                qi(&r)
            ))
            .await
            .unwrap();
            let now = p.read("postgres_grant", &out2).await.unwrap().unwrap();
            assert_eq!(now["privileges"], list(&["CONNECT"]));
            let fixed = p.update("postgres_grant", &now, &cfg2).await.unwrap();
            assert_eq!(database_acl(&db, &r, &d).await, ["CONNECT", "TEMPORARY"]);
            db.batch_execute(&format!(
                "REVOKE ALL ON DATABASE {} FROM {}",
                qi(&d),
                qi(&r)
            ))
            .await
            .unwrap();
            assert_eq!(p.read("postgres_grant", &fixed).await.unwrap(), None);
            p.delete("postgres_grant", &fixed).await.unwrap();

            // Extra privileges granted outside are revoked by an update; delete revokes all.
            let out = p
                .create("postgres_grant", &cfg, &crate::provider::Owner::for_tests())
                .await
                .unwrap();
            db.batch_execute(&format!(
                "GRANT CREATE ON DATABASE {} TO {}",
                qi(&d),
                qi(&r)
            ))
            .await
            .unwrap();
            let now = p.read("postgres_grant", &out).await.unwrap().unwrap();
            assert_eq!(now["privileges"], list(&["CONNECT", "CREATE"]));
            p.update("postgres_grant", &now, &cfg).await.unwrap();
            assert_eq!(database_acl(&db, &r, &d).await, ["CONNECT"]);
            p.delete("postgres_grant", &out).await.unwrap();
            assert!(database_acl(&db, &r, &d).await.is_empty());

            // Only allow-listed privileges reach a statement.
            for bad in [&["CONNECT; DROP DATABASE postgres"][..], &["USAGE"], &[]] {
                let cfg = attrs(&[
                    ("role", s(&r)),
                    ("database", s(&d)),
                    ("privileges", list(bad)),
                ]);
                let e = p
                    .create("postgres_grant", &cfg, &crate::provider::Owner::for_tests())
                    .await
                    .unwrap_err();
                assert!(matches!(e, ProviderError::Invalid(_)), "{bad:?}: {e}");
            }
            // A grant between a role and a database neither of which baton made is
            // refused before any statement, naming both.
            let ghost = attrs(&[
                ("role", s("baton_t_no_such_role")),
                ("database", s(&d)),
                ("privileges", list(&["CONNECT"])),
            ]);
            let e = p
                .create(
                    "postgres_grant",
                    &ghost,
                    &crate::provider::Owner::for_tests(),
                )
                .await
                .unwrap_err();
            assert!(
                matches!(e, ProviderError::NotOurs(_))
                    && e.to_string().contains("baton_t_no_such_role")
                    && e.to_string().contains(&d),
                "{e}"
            );
        },
        drop_all(vec![dbname], vec![role]),
    )
    .await;
}

#[tokio::test]
async fn schema_grant_converges_and_sees_revokes() {
    let db = admin().await;
    let (role, dbname) = (uniq("srole"), uniq("sdb"));
    db.batch_execute(&format!("CREATE ROLE {}", qi(&role)))
        .await
        .unwrap();
    // Made by baton as far as ownership goes: the grant hangs from a marked role.
    db.batch_execute(&format!(
        "COMMENT ON ROLE {} IS '{}'",
        qi(&role),
        crate::provider::Owner::for_tests().marker()
    ))
    .await
    .unwrap();
    db.batch_execute(&format!("CREATE DATABASE {}", qi(&dbname)))
        .await
        .unwrap();
    admin_on(Some(&dbname))
        .await
        .batch_execute("CREATE SCHEMA app")
        .await
        .unwrap();
    let (r, d) = (role.clone(), dbname.clone());
    with_cleanup(
        async move {
            let p = provider();
            let inside = admin_on(Some(&d)).await;
            let cfg = attrs(&[
                ("role", s(&r)),
                ("database", s(&d)),
                ("schema", s("app")),
                ("privileges", list(&["USAGE"])),
            ]);
            let out = p
                .create("postgres_grant", &cfg, &crate::provider::Owner::for_tests())
                .await
                .unwrap();
            assert_eq!(schema_acl(&inside, &r).await, ["USAGE"]);
            assert_eq!(
                p.read("postgres_grant", &out).await.unwrap(),
                Some(out.clone())
            );

            let cfg2 = attrs(&[
                ("role", s(&r)),
                ("database", s(&d)),
                ("schema", s("app")),
                ("privileges", list(&["ALL"])),
            ]);
            let out2 = p.update("postgres_grant", &out, &cfg2).await.unwrap();
            assert_eq!(schema_acl(&inside, &r).await, ["CREATE", "USAGE"]);
            assert_eq!(
                p.read("postgres_grant", &out2).await.unwrap(),
                Some(out2.clone())
            );

            inside
                .batch_execute(&format!("REVOKE CREATE ON SCHEMA app FROM {}", qi(&r)))
                .await
                .unwrap();
            let now = p.read("postgres_grant", &out2).await.unwrap().unwrap();
            assert_eq!(now["privileges"], list(&["USAGE"]));

            p.delete("postgres_grant", &now).await.unwrap();
            assert!(schema_acl(&inside, &r).await.is_empty());
            p.delete("postgres_grant", &now).await.unwrap();

            // The schema dropped outside: the grant is gone.
            let out = p
                .create("postgres_grant", &cfg, &crate::provider::Owner::for_tests())
                .await
                .unwrap();
            inside.batch_execute("DROP SCHEMA app").await.unwrap();
            assert_eq!(p.read("postgres_grant", &out).await.unwrap(), None);
            p.delete("postgres_grant", &out).await.unwrap();
            // A grant on a database that is not there is gone too.
            let mut missing = out.clone();
            missing.insert("database".into(), s("baton_t_no_such_db"));
            assert_eq!(p.read("postgres_grant", &missing).await.unwrap(), None);
        },
        drop_all(vec![dbname], vec![role]),
    )
    .await;
}

#[tokio::test]
async fn hostile_names_and_passwords_round_trip_without_running_anything() {
    let db = admin().await;
    let tag = format!("{:08x}", rand::random::<u32>());
    let canary = format!("bc_{tag}");
    db.batch_execute(&format!("CREATE TABLE public.{canary} (x int)"))
        .await
        .unwrap();
    let evil = format!("bt_{tag} x'\"; DROP TABLE {canary}; --");
    let evil_db = format!("bd_{tag} x'\"; DROP TABLE {canary}; --");
    let password = format!("pw'\"; DROP TABLE {canary}; -- \\ %s %I");
    let (e1, e2, pw, c) = (
        evil.clone(),
        evil_db.clone(),
        password.clone(),
        canary.clone(),
    );
    with_cleanup(
        async move {
            let p = provider();
            let cfg = attrs(&[
                ("name", s(&e1)),
                ("password", s(&pw)),
                ("valid_until", s("2040-01-01'; DROP TABLE x; --")),
            ]);
            // A literal that is not a timestamp is the server's error, not a statement.
            let e = p
                .create("postgres_role", &cfg, &crate::provider::Owner::for_tests())
                .await
                .unwrap_err();
            assert!(matches!(e, ProviderError::Failed(_)), "{e}");
            assert!(
                e.to_string().contains("cannot create role") && !e.to_string().contains(&pw),
                "{e}"
            );

            let cfg = attrs(&[("name", s(&e1)), ("password", s(&pw))]);
            let out = p
                .create("postgres_role", &cfg, &crate::provider::Owner::for_tests())
                .await
                .unwrap();
            let db = admin().await;
            assert!(
                role::verify(&pw, &e1, &rolpassword(&db, &e1).await.unwrap()),
                "the password round-trips"
            );
            assert_eq!(
                p.read("postgres_role", &out).await.unwrap(),
                Some(out.clone())
            );

            let dcfg = attrs(&[("name", s(&e2)), ("owner", s(&e1))]);
            let dout = p
                .create(
                    "postgres_database",
                    &dcfg,
                    &crate::provider::Owner::for_tests(),
                )
                .await
                .unwrap();
            let owner: String = db
                .query_one(
                    "SELECT pg_get_userbyid(datdba)::text FROM pg_database WHERE datname = $1",
                    &[&e2],
                )
                .await
                .unwrap()
                .get(0);
            assert_eq!(owner, e1);
            let gcfg = attrs(&[
                ("role", s(&e1)),
                ("database", s(&e2)),
                ("privileges", list(&["CONNECT"])),
            ]);
            let gout = p
                .create(
                    "postgres_grant",
                    &gcfg,
                    &crate::provider::Owner::for_tests(),
                )
                .await
                .unwrap();
            assert_eq!(database_acl(&db, &e1, &e2).await, ["CONNECT"]);
            assert_eq!(
                p.read("postgres_grant", &gout).await.unwrap(),
                Some(gout.clone())
            );
            p.delete("postgres_grant", &gout).await.unwrap();
            p.delete("postgres_database", &dout).await.unwrap();
            p.delete("postgres_role", &out).await.unwrap();

            let still: bool = db
                .query_one(
                    "SELECT to_regclass($1) IS NOT NULL",
                    &[&format!("public.{c}")],
                )
                .await
                .unwrap()
                .get(0);
            assert!(
                still,
                "the canary table survived: no injected statement ran"
            );

            // Names PostgreSQL would truncate or cannot store are refused up front.
            for bad in ["x".repeat(64), "a\0b".to_string(), String::new()] {
                let e = p
                    .create(
                        "postgres_role",
                        &attrs(&[("name", s(&bad))]),
                        &crate::provider::Owner::for_tests(),
                    )
                    .await
                    .unwrap_err();
                assert!(matches!(e, ProviderError::Invalid(_)), "{bad:?}: {e}");
            }
        },
        async move {
            drop_all(vec![evil_db], vec![evil]).await;
            let _ = db
                .batch_execute(&format!("DROP TABLE IF EXISTS public.{canary}"))
                .await;
        },
    )
    .await;
}

#[tokio::test]
async fn unreachable_server_is_transient_and_secrets_stay_out_of_messages() {
    let mut p = PostgresProvider::new(&attrs(&[(
        "url",
        s("postgres://baton:pw-in-url@127.0.0.1:1/postgres"),
    )]));
    p.backoff = Backoff {
        initial: std::time::Duration::from_millis(10),
        max_delay: std::time::Duration::from_millis(20),
        budget: std::time::Duration::from_millis(100),
    };
    let e = p
        .create(
            "postgres_role",
            &attrs(&[("name", s("r")), ("password", s("hunter2"))]),
            &crate::provider::Owner::for_tests(),
        )
        .await
        .unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, ProviderError::Transient(_)), "{msg}");
    assert!(
        msg.contains("127.0.0.1:1") && msg.contains("gave up"),
        "{msg}"
    );
    assert!(
        !msg.contains("pw-in-url") && !msg.contains("hunter2"),
        "{msg}"
    );

    let bad = PostgresProvider::new(&attrs(&[("url", s("postgres://u:pw@host:notaport/db"))]));
    let e = bad
        .read("postgres_role", &attrs(&[("name", s("r"))]))
        .await
        .unwrap_err();
    assert!(
        matches!(e, ProviderError::Invalid(_)) && !e.to_string().contains(":pw@"),
        "{e}"
    );
    assert!(bad.vars().is_empty());
}

#[tokio::test]
async fn vars_come_from_the_url() {
    let v = PostgresProvider::new(&Attrs::new()).vars();
    assert_eq!(v["host"], s("127.0.0.1"));
    assert_eq!(v["port"], Value::int(5432));
    assert_eq!(v["username"], s("postgres"));
    assert!(!v.contains_key("password"));
    let v = PostgresProvider::new(&attrs(&[(
        "url",
        s("postgres://app:s3cret@db.internal:6543/x"),
    )]))
    .vars();
    assert_eq!(
        (v["host"].clone(), v["port"].clone(), v["username"].clone()),
        (s("db.internal"), Value::int(6543), s("app"))
    );
    assert!(v["password"].is_sensitive());
    assert_eq!(v["password"].as_str(), Some("s3cret"));
}
