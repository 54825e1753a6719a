//! Tests of the `mysql` provider against a real MariaDB server (`BATON_TEST_MYSQL_URL`,
//! default the provider's default URL). Each test uses its own random names, checks the
//! server directly (not through the provider), and cleans up even when it fails. A
//! server that cannot be reached fails the tests, with how to start one.

use std::future::Future;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder};

use super::*;
use crate::provider::retry::Backoff;

fn test_url() -> String {
    std::env::var("BATON_TEST_MYSQL_URL").unwrap_or_else(|_| DEFAULT_URL.to_string())
}

/// A direct connection for checks and for changes "made outside baton".
async fn admin() -> Conn {
    let opts = Opts::from(
        OptsBuilder::from_opts(Opts::from_url(&test_url()).expect("test URL parses"))
            .prefer_socket(false),
    );
    match Conn::new(opts).await {
        Ok(c) => c,
        Err(e) => panic!(
            "MariaDB is not reachable at {} ({e}). These tests need a real server where `root` \
             connects over TCP from 127.0.0.1 without a password: `apt-get install mariadb-server && \
             service mariadb start`, or set BATON_TEST_MYSQL_URL to an admin URL of another server.",
            redact_url(&test_url())
        ),
    }
}

fn provider() -> MysqlProvider {
    MysqlProvider::new(&attrs(&[("url", Value::string(test_url()))]))
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

/// Drops databases and accounts (user, host), ignoring what is gone.
async fn drop_all(databases: Vec<String>, users: Vec<(String, String)>) {
    let mut c = admin().await;
    for d in databases {
        let _ = c
            .query_drop(format!("DROP DATABASE IF EXISTS {}", quote_ident(&d)))
            .await;
    }
    for (u, h) in users {
        let _ = c
            .query_drop(format!("DROP USER IF EXISTS {}", account(&u, &h)))
            .await;
    }
}

/// Plugin and authentication string of an account, from `mysql.user`.
async fn auth_of(c: &mut Conn, user: &str, host: &str) -> Option<(String, String)> {
    c.exec_first(
        "SELECT plugin, authentication_string FROM mysql.user WHERE User = ? AND Host = ?",
        (user, host),
    )
    .await
    .unwrap()
}

/// The server's own hash of a password (`PASSWORD()`), to check ours against.
async fn server_hash(c: &mut Conn, password: &str) -> String {
    c.exec_first("SELECT PASSWORD(?)", (password,))
        .await
        .unwrap()
        .unwrap()
}

/// Privileges of an account on a database, from `information_schema.SCHEMA_PRIVILEGES`.
async fn schema_privileges(c: &mut Conn, user: &str, host: &str, db: &str) -> Vec<String> {
    c.exec(
        "SELECT PRIVILEGE_TYPE FROM information_schema.SCHEMA_PRIVILEGES \
         WHERE GRANTEE = CONCAT('''', ?, '''@''', ?, '''') AND TABLE_SCHEMA = ? ORDER BY PRIVILEGE_TYPE",
        (user, host, db),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn database_create_read_update_drift_delete() {
    let _ = admin().await;
    let name = uniq("db");
    let n = name.clone();
    with_cleanup(
        async move {
            let p = provider();
            let schema = p.kinds().into_iter().find(|k| k.kind == "mysql_database").unwrap();
            assert!(schema.attr("name").unwrap().force_new, "a new name means a new database");
            assert!(!schema.attr("collation").unwrap().force_new);

            let cfg = attrs(&[("name", s(&n))]);
            let out = p.create("mysql_database", &cfg, &crate::provider::Owner::for_tests()).await.unwrap();
            assert_eq!(out["charset"], s("utf8mb4"));
            let mut c = admin().await;
            let observe = "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?";
            let row: Option<(String, String)> = c.exec_first(observe, (&n,)).await.unwrap();
            assert_eq!(row, Some(("utf8mb4".into(), "utf8mb4_unicode_ci".into())));
            assert_eq!(p.read("mysql_database", &out).await.unwrap(), Some(out.clone()));
            p.create("mysql_database", &cfg, &crate::provider::Owner::for_tests()).await.expect("an identical database is adopted");

            // Update in place.
            let cfg2 = attrs(&[("name", s(&n)), ("collation", s("utf8mb4_bin"))]);
            let out2 = p.update("mysql_database", &out, &cfg2).await.unwrap();
            let row: Option<(String, String)> = c.exec_first(observe, (&n,)).await.unwrap();
            assert_eq!(row, Some(("utf8mb4".into(), "utf8mb4_bin".into())));
            assert_eq!(p.read("mysql_database", &out2).await.unwrap(), Some(out2.clone()));
            // Another state's owner cannot take it, whatever its character set.
            let stranger = crate::provider::Owner::new("11111111-2222-4333-8444-555555555555", "test");
            let e = p.create("mysql_database", &cfg2, &stranger).await.unwrap_err();
            assert!(matches!(e, ProviderError::NotOurs(_)), "{e}");
            assert!(e.to_string().contains("already exists") && e.to_string().contains(&n), "{e}");
            // Nor a database someone made by hand with exactly the configured settings.
            let theirs = format!("{n}_x");
            c.query_drop(format!("CREATE DATABASE {} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", quote_ident(&theirs)))
                .await
                .unwrap();
            c.query_drop(format!("CREATE TABLE {}.canary (v int)", quote_ident(&theirs))).await.unwrap();
            let theirs_cfg = attrs(&[("name", s(&theirs)), ("collation", s("utf8mb4_bin"))]);
            let e = p.create("mysql_database", &theirs_cfg, &crate::provider::Owner::for_tests()).await.unwrap_err();
            assert!(matches!(e, ProviderError::NotOurs(_)), "{e}");
            let tables: Option<String> = c
                .exec_first("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?", (&theirs,))
                .await
                .unwrap();
            assert_eq!(tables.as_deref(), Some("canary"), "the foreign database is untouched");
            c.query_drop(format!("DROP DATABASE {}", quote_ident(&theirs))).await.unwrap();

            // Drift: changed outside baton, then dropped.
            c.query_drop(format!("ALTER DATABASE {} CHARACTER SET latin1 COLLATE latin1_swedish_ci", quote_ident(&n)))
                .await
                .unwrap();
            let now = p.read("mysql_database", &out2).await.unwrap().unwrap();
            assert_eq!((now["charset"].clone(), now["collation"].clone()), (s("latin1"), s("latin1_swedish_ci")));
            c.query_drop(format!("DROP DATABASE {}", quote_ident(&n))).await.unwrap();
            assert_eq!(p.read("mysql_database", &out2).await.unwrap(), None);
            p.delete("mysql_database", &out2).await.unwrap();

            // Delete through the provider; invalid charset names never reach a statement.
            let out = p.create("mysql_database", &cfg, &crate::provider::Owner::for_tests()).await.unwrap();
            p.delete("mysql_database", &out).await.unwrap();
            let row: Option<(String, String)> = c.exec_first(observe, (&n,)).await.unwrap();
            assert_eq!(row, None);
            let bad = attrs(&[("name", s(&n)), ("charset", s("utf8mb4 COLLATE x; DROP DATABASE mysql"))]);
            assert!(matches!(p.create("mysql_database", &bad, &crate::provider::Owner::for_tests()).await, Err(ProviderError::Invalid(_))));
        },
        drop_all(vec![name], vec![]),
    )
    .await;
}

#[tokio::test]
async fn user_create_read_update_drift_delete() {
    let _ = admin().await;
    let user = uniq("user");
    let u = user.clone();
    with_cleanup(
        async move {
            let p = provider();
            let schema = p
                .kinds()
                .into_iter()
                .find(|k| k.kind == "mysql_user")
                .unwrap();
            assert!(
                schema.attr("user").unwrap().force_new && schema.attr("host").unwrap().force_new
            );
            assert!(
                schema.attr("password").unwrap().sensitive
                    && schema.attr("password_hash").unwrap().sensitive
            );

            let cfg = attrs(&[("user", s(&u)), ("password", s("first-pw"))]);
            let out = p
                .create("mysql_user", &cfg, &crate::provider::Owner::for_tests())
                .await
                .unwrap();
            assert_eq!(out["host"], s("%"));
            let mut c = admin().await;
            let (plugin, auth) = auth_of(&mut c, &u, "%").await.expect("the account exists");
            assert_eq!(plugin, "mysql_native_password");
            assert_eq!(
                auth,
                server_hash(&mut c, "first-pw").await,
                "the server's own hash of the password"
            );
            assert_eq!(out["password_hash"], s(&auth));
            assert_eq!(p.read("mysql_user", &out).await.unwrap(), Some(out.clone()));
            p.create("mysql_user", &cfg, &crate::provider::Owner::for_tests())
                .await
                .expect(
                    "the account with the password baton generated is adopted (a retried create)",
                );
            let other = attrs(&[("user", s(&u)), ("password", s("other-pw"))]);
            let e = p
                .create("mysql_user", &other, &crate::provider::Owner::for_tests())
                .await
                .unwrap_err();
            assert!(
                matches!(e, ProviderError::NotOurs(_))
                    && e.to_string().contains("already exists")
                    && !e.to_string().contains("other-pw"),
                "{e}"
            );
            assert_eq!(
                auth_of(&mut c, &u, "%").await.unwrap().1,
                server_hash(&mut c, "first-pw").await,
                "refused untouched"
            );
            let owner = crate::provider::Owner::for_tests();
            assert_eq!(
                p.claim("mysql_user", &cfg, &owner).await.unwrap(),
                crate::provider::Claim::Ours
            );
            assert_eq!(
                p.claim("mysql_user", &other, &owner).await.unwrap(),
                crate::provider::Claim::Unproven
            );
            // Without a password nothing could prove the account is baton's.
            let bare = attrs(&[("user", s(&u))]);
            assert!(matches!(
                p.create("mysql_user", &bare, &owner).await,
                Err(ProviderError::Invalid(_))
            ));
            assert!(matches!(
                p.update("mysql_user", &out, &bare).await,
                Err(ProviderError::Invalid(_))
            ));

            // Update in place: a new password.
            let cfg2 = attrs(&[("user", s(&u)), ("password", s("second-pw"))]);
            let out2 = p.update("mysql_user", &out, &cfg2).await.unwrap();
            let (_, auth) = auth_of(&mut c, &u, "%").await.unwrap();
            assert_eq!(auth, server_hash(&mut c, "second-pw").await);
            assert_eq!(
                p.read("mysql_user", &out2).await.unwrap(),
                Some(out2.clone())
            );

            // Drift: the password changed outside baton.
            c.query_drop(format!(
                "ALTER USER {} IDENTIFIED BY 'set-by-hand'",
                account(&u, "%")
            ))
            .await
            .unwrap();
            let now = p.read("mysql_user", &out2).await.unwrap().unwrap();
            assert_eq!(
                now["password"],
                Value::Null,
                "the configured password is no longer the account's"
            );
            assert_ne!(now["password_hash"], out2["password_hash"]);
            let fixed = p.update("mysql_user", &now, &cfg2).await.unwrap();
            assert_eq!(
                auth_of(&mut c, &u, "%").await.unwrap().1,
                server_hash(&mut c, "second-pw").await
            );
            assert_eq!(
                p.read("mysql_user", &fixed).await.unwrap(),
                Some(fixed.clone())
            );

            // Dropped outside baton; delete is still fine.
            c.query_drop(format!("DROP USER {}", account(&u, "%")))
                .await
                .unwrap();
            assert_eq!(p.read("mysql_user", &fixed).await.unwrap(), None);
            p.delete("mysql_user", &fixed).await.unwrap();

            // Delete through the provider.
            let out = p
                .create("mysql_user", &cfg, &crate::provider::Owner::for_tests())
                .await
                .unwrap();
            p.delete("mysql_user", &out).await.unwrap();
            assert_eq!(auth_of(&mut c, &u, "%").await, None);
        },
        drop_all(vec![], vec![(user, "%".into())]),
    )
    .await;
}

#[tokio::test]
async fn grant_converges_and_sees_revokes() {
    let mut c = admin().await;
    let (user, db, theirs) = (uniq("guser"), uniq("gdb"), uniq("gtheirs"));
    c.query_drop(format!("CREATE USER {}", account(&user, "%")))
        .await
        .unwrap();
    // Made by this state (its marker), and by someone else (no marker).
    let marker =
        crate::provider::Owner::new(&crate::provider::Owner::for_tests().lineage, "db").marker();
    c.query_drop(format!(
        "CREATE DATABASE {} COMMENT '{marker}'",
        quote_ident(&db)
    ))
    .await
    .unwrap();
    c.query_drop(format!("CREATE DATABASE {}", quote_ident(&theirs)))
        .await
        .unwrap();
    let (u, d, t) = (user.clone(), db.clone(), theirs.clone());
    with_cleanup(
        async move {
            let p = provider();
            // Privileges on someone else's database are never given.
            let foreign = attrs(&[
                ("user", s(&u)),
                ("database", s(&t)),
                ("privileges", list(&["SELECT"])),
            ]);
            let e = p
                .create(
                    "mysql_grant",
                    &foreign,
                    &crate::provider::Owner::for_tests(),
                )
                .await
                .unwrap_err();
            assert!(
                matches!(e, ProviderError::NotOurs(_)) && e.to_string().contains(&t),
                "{e}"
            );
            let mut c = admin().await;
            assert!(schema_privileges(&mut c, &u, "%", &t).await.is_empty());
            assert_eq!(
                p.claim(
                    "mysql_grant",
                    &foreign,
                    &crate::provider::Owner::for_tests()
                )
                .await
                .unwrap(),
                crate::provider::Claim::Unproven
            );
            // No such database (or a wildcard): never granted; a recorded grant whose
            // database was dropped outside stays baton's, so the plan can converge it.
            let missing = attrs(&[
                ("user", s(&u)),
                ("database", s(&format!("{t}%"))),
                ("privileges", list(&["SELECT"])),
            ]);
            let e = p
                .create(
                    "mysql_grant",
                    &missing,
                    &crate::provider::Owner::for_tests(),
                )
                .await
                .unwrap_err();
            assert!(matches!(e, ProviderError::NotOurs(_)), "{e}");
            assert_eq!(
                p.claim(
                    "mysql_grant",
                    &missing,
                    &crate::provider::Owner::for_tests()
                )
                .await
                .unwrap(),
                crate::provider::Claim::Ours
            );
            let schema = p
                .kinds()
                .into_iter()
                .find(|k| k.kind == "mysql_grant")
                .unwrap();
            for a in ["user", "host", "database"] {
                assert!(schema.attr(a).unwrap().force_new, "{a} replaces the grant");
            }
            assert!(!schema.attr("privileges").unwrap().force_new);

            let cfg = attrs(&[
                ("user", s(&u)),
                ("database", s(&d)),
                ("privileges", list(&["select", "INSERT"])),
            ]);
            let out = p
                .create("mysql_grant", &cfg, &crate::provider::Owner::for_tests())
                .await
                .unwrap();
            let mut c = admin().await;
            assert_eq!(
                schema_privileges(&mut c, &u, "%", &d).await,
                ["INSERT", "SELECT"]
            );
            assert_eq!(
                p.read("mysql_grant", &out).await.unwrap(),
                Some(out.clone())
            );

            // Update in place to everything.
            let cfg2 = attrs(&[
                ("user", s(&u)),
                ("database", s(&d)),
                ("privileges", list(&["ALL PRIVILEGES"])),
            ]);
            let out2 = p.update("mysql_grant", &out, &cfg2).await.unwrap();
            let grants: Vec<String> = c
                .query(format!("SHOW GRANTS FOR {}", account(&u, "%")))
                .await
                .unwrap();
            assert!(
                grants.iter().any(|g| g.contains("ALL PRIVILEGES ON")),
                "{grants:?}"
            );
            assert_eq!(
                p.read("mysql_grant", &out2).await.unwrap(),
                Some(out2.clone())
            );

            // Drift: revoked outside baton, partly then entirely.
            c.query_drop(format!(
                "REVOKE ALL PRIVILEGES ON {}.* FROM {}",
                quote_ident(&d),
                account(&u, "%")
            ))
            .await
            .unwrap();
            c.query_drop(format!(
                "GRANT SELECT, DELETE ON {}.* TO {}",
                quote_ident(&d),
                account(&u, "%")
            ))
            .await
            .unwrap();
            let now = p.read("mysql_grant", &out2).await.unwrap().unwrap();
            assert_eq!(now["privileges"], list(&["SELECT", "DELETE"]));
            let fixed = p.update("mysql_grant", &now, &cfg).await.unwrap();
            assert_eq!(
                schema_privileges(&mut c, &u, "%", &d).await,
                ["INSERT", "SELECT"],
                "DELETE revoked"
            );
            c.query_drop(format!(
                "REVOKE SELECT, INSERT ON {}.* FROM {}",
                quote_ident(&d),
                account(&u, "%")
            ))
            .await
            .unwrap();
            assert_eq!(p.read("mysql_grant", &fixed).await.unwrap(), None);
            p.delete("mysql_grant", &fixed).await.unwrap();

            // Delete through the provider revokes everything.
            let out = p
                .create("mysql_grant", &cfg2, &crate::provider::Owner::for_tests())
                .await
                .unwrap();
            p.delete("mysql_grant", &out).await.unwrap();
            assert!(schema_privileges(&mut c, &u, "%", &d).await.is_empty());

            // Only allow-listed privileges reach a statement; a missing account is the server's error.
            for bad in [&["SELECT ON *.* TO x; --"][..], &["GRANT OPTION"], &[]] {
                let cfg = attrs(&[
                    ("user", s(&u)),
                    ("database", s(&d)),
                    ("privileges", list(bad)),
                ]);
                assert!(
                    matches!(
                        p.create("mysql_grant", &cfg, &crate::provider::Owner::for_tests())
                            .await,
                        Err(ProviderError::Invalid(_))
                    ),
                    "{bad:?}"
                );
            }
            let ghost = attrs(&[
                ("user", s("baton_t_nobody")),
                ("database", s(&d)),
                ("privileges", list(&["SELECT"])),
            ]);
            let e = p
                .create("mysql_grant", &ghost, &crate::provider::Owner::for_tests())
                .await
                .unwrap_err();
            assert!(
                matches!(e, ProviderError::Failed(_)) && e.to_string().contains("baton_t_nobody"),
                "{e}"
            );
        },
        drop_all(vec![db, theirs], vec![(user, "%".into())]),
    )
    .await;
}

#[tokio::test]
async fn hostile_names_and_passwords_round_trip_without_running_anything() {
    let mut c = admin().await;
    let tag = format!("{:08x}", rand::random::<u32>());
    let canary = format!("baton_t_canary_{tag}");
    c.query_drop(format!("CREATE DATABASE {canary}"))
        .await
        .unwrap();
    let evil_user = format!("bt_{tag} x'\"`; DROP DATABASE {canary}; --");
    let evil_db = format!("bd_{tag} x'\"`; DROP DATABASE {canary}; --");
    let password = format!("pw'\"`; DROP DATABASE {canary}; -- ?");
    let (eu, ed, pw, can) = (
        evil_user.clone(),
        evil_db.clone(),
        password.clone(),
        canary.clone(),
    );
    with_cleanup(
        async move {
            let p = provider();
            let out = p
                .create(
                    "mysql_user",
                    &attrs(&[("user", s(&eu)), ("password", s(&pw))]),
                    &crate::provider::Owner::for_tests(),
                )
                .await
                .unwrap();
            let mut c = admin().await;
            let (_, auth) = auth_of(&mut c, &eu, "%")
                .await
                .expect("the account exists under its exact name");
            assert_eq!(
                auth,
                server_hash(&mut c, &pw).await,
                "the password round-trips"
            );
            assert_eq!(p.read("mysql_user", &out).await.unwrap(), Some(out.clone()));

            let dout = p
                .create(
                    "mysql_database",
                    &attrs(&[("name", s(&ed))]),
                    &crate::provider::Owner::for_tests(),
                )
                .await
                .unwrap();
            assert_eq!(
                p.read("mysql_database", &dout).await.unwrap(),
                Some(dout.clone())
            );
            let gcfg = attrs(&[
                ("user", s(&eu)),
                ("database", s(&ed)),
                ("privileges", list(&["SELECT"])),
            ]);
            let gout = p
                .create("mysql_grant", &gcfg, &crate::provider::Owner::for_tests())
                .await
                .unwrap();
            let n: Option<u64> = c
                .exec_first(
                    "SELECT COUNT(*) FROM mysql.db WHERE User = ? AND Db = ? AND Select_priv = 'Y'",
                    (&eu, &ed),
                )
                .await
                .unwrap();
            assert_eq!(n, Some(1));
            assert_eq!(
                p.read("mysql_grant", &gout).await.unwrap(),
                Some(gout.clone())
            );
            p.delete("mysql_grant", &gout).await.unwrap();
            p.delete("mysql_database", &dout).await.unwrap();
            p.delete("mysql_user", &out).await.unwrap();
            assert_eq!(auth_of(&mut c, &eu, "%").await, None);

            let still: Option<String> = c
                .exec_first(
                    "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
                    (&can,),
                )
                .await
                .unwrap();
            assert_eq!(
                still,
                Some(can.clone()),
                "the canary survived: no injected statement ran"
            );

            // Backslashes would change meaning with NO_BACKSLASH_ESCAPES: refused, not guessed.
            let e = p
                .create(
                    "mysql_user",
                    &attrs(&[("user", s("a\\' OR 1 -- "))]),
                    &crate::provider::Owner::for_tests(),
                )
                .await
                .unwrap_err();
            assert!(matches!(e, ProviderError::Invalid(_)), "{e}");
        },
        async move {
            drop_all(vec![evil_db, canary], vec![(evil_user, "%".into())]).await;
        },
    )
    .await;
}

#[tokio::test]
async fn unreachable_server_is_transient_and_secrets_stay_out_of_messages() {
    let mut p = MysqlProvider::new(&attrs(&[("url", s("mysql://baton:pw-in-url@127.0.0.1:1"))]));
    p.backoff = Backoff {
        initial: std::time::Duration::from_millis(10),
        max_delay: std::time::Duration::from_millis(20),
        budget: std::time::Duration::from_millis(100),
    };
    let e = p
        .create(
            "mysql_user",
            &attrs(&[("user", s("u")), ("password", s("hunter2"))]),
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

    let bad = MysqlProvider::new(&attrs(&[("url", s("postgres://u:pw@h/db"))]));
    let e = bad
        .read("mysql_user", &attrs(&[("user", s("u"))]))
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
    let v = MysqlProvider::new(&Attrs::new()).vars();
    assert_eq!(
        (v["host"].clone(), v["port"].clone(), v["username"].clone()),
        (s("127.0.0.1"), Value::int(3306), s("root"))
    );
    assert!(!v.contains_key("password"));
    let v = MysqlProvider::new(&attrs(&[(
        "url",
        s("mysql://app:s3cret@db.internal:3307/x"),
    )]))
    .vars();
    assert_eq!(
        (v["host"].clone(), v["port"].clone(), v["username"].clone()),
        (s("db.internal"), Value::int(3307), s("app"))
    );
    assert!(v["password"].is_sensitive());
    assert_eq!(v["password"].as_str(), Some("s3cret"));
}
