//! Tests of the `redis` provider against the real server at 127.0.0.1:6379 (no auth).
//! What the provider did is checked by asking Redis directly (`ACL GETUSER`, `AUTH`),
//! never through the provider. Each test uses its own `baton_t_<hex>` users and deletes
//! them even when it fails.

use std::collections::BTreeMap;
use std::time::Duration;

use super::*;
use crate::provider::server::list_value;
use crate::value::Value;

const URL: &str = "redis://127.0.0.1:6379";

fn unique() -> String {
    format!("baton_t_{:016x}", rand::random::<u64>())
}

fn attrs(pairs: &[(&str, Value)]) -> Attrs {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn provider() -> RedisProvider {
    RedisProvider::new(&attrs(&[("url", Value::string(URL))]))
}

/// A direct connection to the test server; fails the test with how to start it.
fn direct() -> ::redis::Connection {
    ::redis::Client::open(URL)
        .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(5)))
        .unwrap_or_else(|e| {
            panic!("redis is not reachable at {URL} ({e}); start it with `service redis-server start` or `redis-server --daemonize yes`")
        })
}

/// `ACL GETUSER name` as field → words (passwords, flags, rules).
fn getuser(name: &str) -> Option<BTreeMap<String, Vec<String>>> {
    let reply: ::redis::Value = ::redis::cmd("ACL")
        .arg("GETUSER")
        .arg(name)
        .query(&mut direct())
        .unwrap();
    let u = acl::AclUser::parse(&reply).unwrap()?;
    Some(BTreeMap::from([
        ("flags".to_string(), u.flags),
        ("passwords".to_string(), u.password_hashes),
        ("keys".to_string(), u.keys),
        ("channels".to_string(), u.channels),
        ("commands".to_string(), u.commands),
    ]))
}

fn setuser(name: &str, rules: &[&str]) {
    let _: () = ::redis::cmd("ACL")
        .arg("SETUSER")
        .arg(name)
        .arg(rules)
        .query(&mut direct())
        .unwrap();
}

/// Whether `name` can log in with `password` (a fresh connection, `AUTH name password`).
fn can_login(name: &str, password: &str) -> bool {
    let r: Result<(), _> = ::redis::cmd("AUTH")
        .arg(name)
        .arg(password)
        .query(&mut direct());
    r.is_ok()
}

/// Deletes the named users when dropped, so a failing test leaves nothing behind.
struct Cleanup(Vec<String>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Ok(mut c) = ::redis::Client::open(URL).and_then(|c| c.get_connection()) {
            for n in &self.0 {
                let _: Result<i64, _> = ::redis::cmd("ACL").arg("DELUSER").arg(n).query(&mut c);
            }
        }
    }
}

fn words(s: &[&str]) -> Vec<String> {
    s.iter().map(|w| w.to_string()).collect()
}

#[tokio::test]
async fn acl_users_are_created_read_updated_and_deleted() {
    let name = unique();
    let _cleanup = Cleanup(vec![name.clone()]);
    let p = provider();
    // A password with spaces and rule characters is one argument, so one password.
    let password = "s3cret with spaces >and ~rules";
    let config = attrs(&[
        ("username", Value::string(&name)),
        ("passwords", list_value(&[password])),
        ("keys", list_value(&["app:*", "%R~shared:*"])),
        ("channels", list_value(&["news.*"])),
        ("commands", list_value(&["+@read", "+set", "-keys"])),
    ]);
    let created = p
        .create(KIND, &config, &crate::provider::Owner::for_tests())
        .await
        .unwrap();

    let u = getuser(&name).expect("the user exists in redis");
    assert!(u["flags"].contains(&"on".to_string()), "{u:?}");
    assert_eq!(u["passwords"], [sha256_hex(password)]);
    assert_eq!(u["keys"], words(&["~app:*", "%R~shared:*"]));
    assert_eq!(u["channels"], words(&["&news.*"]));
    assert!(
        u["commands"].contains(&"+set".to_string()) && u["commands"].contains(&"-keys".to_string()),
        "{u:?}"
    );
    assert!(can_login(&name, password));
    assert_eq!(
        created["password_hashes"],
        list_value(&[sha256_hex(password)])
    );
    assert_eq!(created["enabled"], Value::Bool(true));

    // No drift: read reports what was recorded.
    assert_eq!(p.read(KIND, &created).await.unwrap(), Some(created.clone()));

    // Update in place: new password, disabled, fewer commands.
    let mut config2 = config.clone();
    config2.insert("passwords".into(), list_value(&["another one"]));
    config2.insert("enabled".into(), Value::Bool(false));
    config2.insert("commands".into(), list_value(&["+get"]));
    let updated = p.update(KIND, &created, &config2).await.unwrap();
    let u = getuser(&name).unwrap();
    assert!(u["flags"].contains(&"off".to_string()), "{u:?}");
    assert_eq!(u["passwords"], [sha256_hex("another one")]);
    assert_eq!(u["commands"], words(&["-@all", "+get"]));
    assert_eq!(p.read(KIND, &updated).await.unwrap(), Some(updated.clone()));

    p.delete(KIND, &updated).await.unwrap();
    assert!(getuser(&name).is_none());
    assert_eq!(p.read(KIND, &updated).await.unwrap(), None);
    // Deleting what is already gone is fine.
    p.delete(KIND, &updated).await.unwrap();
}

/// A create that finds a user with exactly the configured passwords (made by a run that
/// died before recording it) adopts it and sets its rules; a user with other passwords,
/// or none, is someone else's and refused untouched.
#[tokio::test]
async fn create_adopts_only_a_user_with_exactly_the_configured_passwords() {
    let (ours, theirs, open) = (unique(), unique(), unique());
    let _cleanup = Cleanup(vec![ours.clone(), theirs.clone(), open.clone()]);
    let p = provider();
    setuser(&ours, &["on", ">pw-made-by-baton", "~old:*", "+@all"]);
    let config = attrs(&[
        ("username", Value::string(&ours)),
        ("passwords", list_value(&["pw-made-by-baton"])),
        ("keys", list_value(&["app:*"])),
    ]);
    let created = p
        .create(KIND, &config, &crate::provider::Owner::for_tests())
        .await
        .expect("adopted");
    assert_eq!(
        getuser(&ours).unwrap()["keys"],
        words(&["~app:*"]),
        "set to the configuration"
    );
    assert_eq!(p.read(KIND, &created).await.unwrap(), Some(created));

    setuser(&theirs, &["on", ">someone-elses", "~*", "+@all"]);
    setuser(&open, &["on", "nopass", "~*", "+@all"]);
    for (name, passwords) in [(&theirs, vec!["pw-made-by-baton"]), (&open, vec![])] {
        let config = attrs(&[
            ("username", Value::string(name)),
            ("passwords", list_value(&passwords)),
            ("keys", list_value(&["app:*"])),
        ]);
        let r = p
            .create(KIND, &config, &crate::provider::Owner::for_tests())
            .await;
        assert!(
            matches!(r, Err(ProviderError::NotOurs(ref m)) if m.contains("already exists")),
            "{r:?}"
        );
        assert_eq!(getuser(name).unwrap()["keys"], words(&["~*"]), "untouched");
    }
}

#[tokio::test]
async fn changes_made_outside_baton_are_read_as_drift() {
    let name = unique();
    let _cleanup = Cleanup(vec![name.clone()]);
    let p = provider();
    let config = attrs(&[
        ("username", Value::string(&name)),
        ("passwords", list_value(&["pw-1"])),
        ("commands", list_value(&["+@all", "-@dangerous", "+get"])),
    ]);
    let state = p
        .create(KIND, &config, &crate::provider::Owner::for_tests())
        .await
        .unwrap();
    // Redis normalizes the rules (`+get` is implied); that alone is not drift.
    assert_eq!(p.read(KIND, &state).await.unwrap().as_ref(), Some(&state));

    setuser(&name, &["-@all"]);
    let seen = p.read(KIND, &state).await.unwrap().unwrap();
    assert_eq!(seen["commands"], list_value(&["-@all"]));
    assert_ne!(seen["acl"], state["acl"]);

    setuser(&name, &[">changed-outside"]);
    let seen = p.read(KIND, &state).await.unwrap().unwrap();
    assert_eq!(seen["passwords"], list_value(&["pw-1", UNKNOWN_PASSWORD]));
    assert_eq!(seen["password_hashes"].as_list().unwrap().len(), 2);

    setuser(
        &name,
        &["resetpass", ">replaced", "off", "resetkeys", "~other:*"],
    );
    let seen = p.read(KIND, &state).await.unwrap().unwrap();
    assert_eq!(seen["passwords"], list_value(&[UNKNOWN_PASSWORD]));
    assert_eq!(seen["enabled"], Value::Bool(false));
    assert_eq!(seen["keys"], list_value(&["other:*"]));

    // Applying the configuration again puts everything back.
    let fixed = p.update(KIND, &seen, &config).await.unwrap();
    assert!(can_login(&name, "pw-1") && !can_login(&name, "replaced"));
    assert_eq!(p.read(KIND, &fixed).await.unwrap(), Some(fixed.clone()));

    let _: i64 = ::redis::cmd("ACL")
        .arg("DELUSER")
        .arg(&name)
        .query(&mut direct())
        .unwrap();
    assert_eq!(p.read(KIND, &fixed).await.unwrap(), None);
}

#[tokio::test]
async fn hostile_names_passwords_and_patterns_cannot_add_rules() {
    let canary = unique();
    let name = unique();
    let _cleanup = Cleanup(vec![canary.clone(), name.clone(), format!("{name}'\";x")]);
    setuser(&canary, &["on", ">canary-pw", "~canary:*", "+get"]);
    let before = getuser(&canary).unwrap();
    let p = provider();

    let hostile = |pairs: &[(&str, Value)]| {
        let mut c = attrs(&[("username", Value::string(&name))]);
        c.extend(attrs(pairs));
        c
    };
    for bad in [
        attrs(&[(
            "username",
            Value::string(format!("{name} on nopass ~* +@all")),
        )]),
        attrs(&[(
            "username",
            Value::string(format!("{name}\r\nACL SETUSER {canary} nopass")),
        )]),
        hostile(&[("keys", list_value(&["x ~*"]))]),
        hostile(&[("keys", list_value(&["x\n+@all"]))]),
        hostile(&[("channels", list_value(&["x &*"]))]),
        hostile(&[("commands", list_value(&["+get nopass"]))]),
        hostile(&[("commands", list_value(&[">extra-password"]))]),
        hostile(&[("commands", list_value(&["nopass"]))]),
        hostile(&[("commands", list_value(&["(~* +@all)"]))]),
    ] {
        let r = p
            .create(KIND, &bad, &crate::provider::Owner::for_tests())
            .await;
        assert!(
            matches!(r, Err(ProviderError::Invalid(_))),
            "accepted: {:?}",
            bad
        );
    }
    assert!(getuser(&name).is_none());

    // An existing user is never taken over.
    let r = p
        .create(
            KIND,
            &attrs(&[
                ("username", Value::string(&canary)),
                ("commands", list_value(&["+@all"])),
            ]),
            &crate::provider::Owner::for_tests(),
        )
        .await;
    assert!(
        matches!(r, Err(ProviderError::NotOurs(ref m)) if m.contains("already exists")),
        "{r:?}"
    );

    // Passwords full of rule syntax stay passwords.
    let pw = format!("x nopass ~* &* +@all <canary-pw resetpass {canary} >y");
    let weird = format!("{name}'\";x");
    let state = p
        .create(
            KIND,
            &attrs(&[
                ("username", Value::string(&weird)),
                ("passwords", list_value(&[pw.as_str()])),
                ("keys", list_value(&["safe:*"])),
                ("channels", list_value::<&str>(&[])),
                ("commands", list_value(&["+get"])),
            ]),
            &crate::provider::Owner::for_tests(),
        )
        .await
        .unwrap();
    let u = getuser(&weird).unwrap();
    assert_eq!(u["passwords"], [sha256_hex(&pw)]);
    assert!(!u["flags"].contains(&"nopass".to_string()), "{u:?}");
    assert_eq!(u["keys"], words(&["~safe:*"]));
    assert!(u["channels"].is_empty(), "{u:?}");
    assert_eq!(u["commands"], words(&["-@all", "+get"]));
    assert!(can_login(&weird, &pw));
    assert_eq!(
        getuser(&canary).unwrap(),
        before,
        "the canary user was changed"
    );
    p.delete(KIND, &state).await.unwrap();
    assert_eq!(getuser(&canary).unwrap(), before);
}

#[tokio::test]
async fn unreachable_servers_are_transient_and_messages_hide_credentials() {
    let quick = Backoff {
        initial: Duration::from_millis(10),
        max_delay: Duration::from_millis(20),
        budget: Duration::from_millis(100),
    };
    // Port 1 on loopback: nothing listens there, so the connection is refused.
    let p = RedisProvider::new(&attrs(&[(
        "url",
        Value::string("redis://admin:hunter2@127.0.0.1:1"),
    )]))
    .with_backoff(quick);
    let e = p
        .read(KIND, &attrs(&[("username", Value::string("x"))]))
        .await
        .unwrap_err();
    assert!(matches!(e, ProviderError::Transient(_)), "{e:?}");
    let msg = e.to_string();
    assert!(
        !msg.contains("hunter2") && msg.contains("127.0.0.1:1"),
        "{msg}"
    );

    // Wrong credentials: permanent, named, and without the password.
    let p = RedisProvider::new(&attrs(&[(
        "url",
        Value::string("redis://nobody_baton:hunter2@127.0.0.1:6379"),
    )]))
    .with_backoff(quick);
    let e = p
        .read(KIND, &attrs(&[("username", Value::string("x"))]))
        .await
        .unwrap_err();
    assert!(matches!(e, ProviderError::Failed(_)), "{e:?}");
    assert!(!e.to_string().contains("hunter2"), "{e}");

    let vars = p.vars();
    assert_eq!(vars["port"], Value::int(6379));
    assert_eq!(vars["host"], Value::string("127.0.0.1"));
    assert!(vars["password"].is_sensitive());
    let dflt = RedisProvider::new(&Attrs::new()).vars();
    assert_eq!(
        (dflt["host"].as_str(), dflt["port"].as_i64()),
        (Some("127.0.0.1"), Some(6379))
    );
    assert!(!dflt.contains_key("password"));
}
