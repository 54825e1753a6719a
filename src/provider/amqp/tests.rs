//! Tests of the `amqp` provider against the real RabbitMQ at 127.0.0.1 (guest/guest,
//! management API on 15672; the plugin is enabled here when it is off). What the
//! provider did is checked by asking the management API directly, never through the
//! provider. Each test uses its own `baton_t_<hex>` names and deletes them even when
//! it fails.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

use super::*;
use crate::provider::server::list_value;

const MGMT: &str = "http://127.0.0.1:15672";

fn unique() -> String {
    format!("baton_t_{:016x}", rand::random::<u64>())
}

fn attrs(pairs: &[(&str, Value)]) -> Attrs {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

/// `/api/<segments…>`, each segment encoded independently of the provider's encoder.
fn path(segments: &[&str]) -> String {
    let mut p = "/api".to_string();
    for s in segments {
        p.push('/');
        p.push_str(&utf8_percent_encode(s, NON_ALPHANUMERIC).to_string());
    }
    p
}

/// One direct request as `user`: status and JSON body (null when none).
fn http_as(
    user: &str,
    pass: &str,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> Result<(u16, serde_json::Value), String> {
    use base64::Engine;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .new_agent();
    let url = format!("{MGMT}{path}");
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    );
    let r = match (method, body) {
        ("PUT", Some(b)) => agent
            .put(&url)
            .header("authorization", &auth)
            .header("content-type", "application/json")
            .send(b.to_string()),
        ("DELETE", _) => agent.delete(&url).header("authorization", &auth).call(),
        _ => agent.get(&url).header("authorization", &auth).call(),
    };
    let mut r = r.map_err(|e| e.to_string())?;
    let status = r.status().as_u16();
    let text = r.body_mut().read_to_string().map_err(|e| e.to_string())?;
    Ok((
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    ))
}

/// One direct request as guest, after making sure the API is up.
fn http(method: &str, path: &str, body: Option<serde_json::Value>) -> (u16, serde_json::Value) {
    management();
    http_as("guest", "guest", method, path, body).unwrap()
}

/// Makes sure the management API answers: enables the plugin when it does not, waits
/// for it, and fails the test with how to start RabbitMQ when it still does not.
fn management() {
    static READY: OnceLock<Result<(), String>> = OnceLock::new();
    let ready = READY.get_or_init(|| {
        let up = || matches!(http_as("guest", "guest", "GET", "/api/overview", None), Ok((200, _)));
        if up() {
            return Ok(());
        }
        let enabled = std::process::Command::new("rabbitmq-plugins")
            .args(["enable", "rabbitmq_management"])
            .output()
            .map(|o| format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
            .unwrap_or_else(|e| format!("cannot run rabbitmq-plugins: {e}"));
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(90) {
            if up() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_secs(1));
        }
        Err(format!(
            "the RabbitMQ management API is not reachable at {MGMT} (after `rabbitmq-plugins enable rabbitmq_management`: {}); \
             start RabbitMQ with `service rabbitmq-server start` (or `rabbitmq-server -detached`), \
             then `rabbitmq-plugins enable rabbitmq_management`",
            enabled.trim()
        ))
    });
    if let Err(e) = ready {
        panic!("{e}");
    }
}

fn provider() -> AmqpProvider {
    management();
    AmqpProvider::new(&attrs(&[(
        "management_url",
        Value::string("http://guest:guest@127.0.0.1:15672"),
    )]))
}

/// Deletes the listed API paths when dropped, so a failing test leaves nothing behind.
struct Cleanup(Vec<String>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = http_as("guest", "guest", "DELETE", p, None);
        }
    }
}

fn can_login(user: &str, pass: &str) -> bool {
    matches!(
        http_as(user, pass, "GET", "/api/whoami", None),
        Ok((200, _))
    )
}

#[tokio::test]
async fn vhosts_are_created_read_updated_deleted_and_drift_is_seen() {
    // A name with a slash, spaces and quotes is one path segment, one vhost.
    let name = format!("{}/with space;'\"", unique());
    let vpath = path(&["vhosts", &name]);
    let _cleanup = Cleanup(vec![vpath.clone()]);
    let p = provider();
    let config = attrs(&[
        ("name", Value::string(&name)),
        ("description", Value::string("first")),
        ("tags", list_value(&["a", "b"])),
    ]);
    let created = p
        .create(kinds::VHOST, &config, &crate::provider::Owner::for_tests())
        .await
        .unwrap();
    let (s, j) = http("GET", &vpath, None);
    assert_eq!(s, 200);
    assert_eq!(
        (j["name"].as_str(), j["description"].as_str()),
        (Some(name.as_str()), Some("first"))
    );
    let marker = crate::provider::Owner::for_tests().marker();
    assert_eq!(j["tags"], serde_json::json!(["a", "b", marker]));
    assert_eq!(
        p.read(kinds::VHOST, &created).await.unwrap(),
        Some(created.clone())
    );

    let mut config2 = config.clone();
    config2.insert("description".into(), Value::string("second"));
    config2.insert("tags".into(), list_value(&["c"]));
    let updated = p.update(kinds::VHOST, &created, &config2).await.unwrap();
    let (_, j) = http("GET", &vpath, None);
    assert_eq!(
        (j["description"].as_str(), &j["tags"]),
        (Some("second"), &serde_json::json!(["c", marker]))
    );
    assert_eq!(
        p.read(kinds::VHOST, &updated).await.unwrap(),
        Some(updated.clone())
    );

    // Drift: edited, then deleted outside baton.
    http(
        "PUT",
        &vpath,
        Some(serde_json::json!({"description": "edited", "tags": ""})),
    );
    let seen = p.read(kinds::VHOST, &updated).await.unwrap().unwrap();
    assert_eq!(seen["description"], Value::string("edited"));
    assert_eq!(seen["tags"], list_value::<&str>(&[]));
    assert_eq!(http("DELETE", &vpath, None).0, 204);
    assert_eq!(p.read(kinds::VHOST, &updated).await.unwrap(), None);
    p.delete(kinds::VHOST, &updated).await.unwrap();

    // Delete through the provider.
    let again = p
        .create(kinds::VHOST, &config, &crate::provider::Owner::for_tests())
        .await
        .unwrap();
    p.delete(kinds::VHOST, &again).await.unwrap();
    assert_eq!(http("GET", &vpath, None).0, 404);
    // An existing vhost is never taken over.
    let r = p
        .create(
            kinds::VHOST,
            &attrs(&[("name", Value::string("/"))]),
            &crate::provider::Owner::for_tests(),
        )
        .await;
    assert!(
        matches!(r, Err(ProviderError::NotOurs(ref m)) if m.contains("already exists")),
        "{r:?}"
    );
}

#[tokio::test]
async fn users_are_created_read_updated_deleted_and_password_drift_is_seen() {
    let name = unique();
    let upath = path(&["users", &name]);
    let _cleanup = Cleanup(vec![upath.clone()]);
    let p = provider();
    let config = attrs(&[
        ("name", Value::string(&name)),
        ("password", Value::string("first pw \"with\" quotes")),
        ("tags", list_value(&["management"])),
    ]);
    let created = p
        .create(kinds::USER, &config, &crate::provider::Owner::for_tests())
        .await
        .unwrap();
    let (s, j) = http("GET", &upath, None);
    assert_eq!(s, 200);
    let marker = crate::provider::Owner::for_tests().marker();
    assert_eq!(j["tags"], serde_json::json!(["management", marker]));
    assert!(can_login(&name, "first pw \"with\" quotes"));
    assert_eq!(
        created["password_hash"].as_str(),
        j["password_hash"].as_str()
    );
    assert_eq!(
        p.read(kinds::USER, &created).await.unwrap(),
        Some(created.clone())
    );

    let mut config2 = config.clone();
    config2.insert("password".into(), Value::string("second pw"));
    config2.insert("tags".into(), list_value(&["management", "monitoring"]));
    let updated = p.update(kinds::USER, &created, &config2).await.unwrap();
    let (_, j) = http("GET", &upath, None);
    assert_eq!(
        j["tags"],
        serde_json::json!(["management", "monitoring", marker])
    );
    assert!(can_login(&name, "second pw") && !can_login(&name, "first pw \"with\" quotes"));
    assert_eq!(
        p.read(kinds::USER, &updated).await.unwrap(),
        Some(updated.clone())
    );

    // Drift: the password changed through the API.
    http(
        "PUT",
        &upath,
        Some(serde_json::json!({"password": "outside", "tags": "management,monitoring"})),
    );
    let seen = p.read(kinds::USER, &updated).await.unwrap().unwrap();
    assert_eq!(seen["password"], Value::string(UNKNOWN_PASSWORD));
    assert_ne!(seen["password_hash"], updated["password_hash"]);
    assert_eq!(seen["tags"], updated["tags"]);
    let fixed = p.update(kinds::USER, &seen, &config2).await.unwrap();
    assert!(can_login(&name, "second pw") && !can_login(&name, "outside"));

    assert_eq!(http("DELETE", &upath, None).0, 204);
    assert_eq!(p.read(kinds::USER, &fixed).await.unwrap(), None);
    p.delete(kinds::USER, &fixed).await.unwrap();
    let again = p
        .create(kinds::USER, &config, &crate::provider::Owner::for_tests())
        .await
        .unwrap();
    p.delete(kinds::USER, &again).await.unwrap();
    assert_eq!(http("GET", &upath, None).0, 404);
}

#[tokio::test]
async fn permissions_are_set_read_updated_deleted_and_drift_is_seen() {
    let (vhost, user) = (unique(), unique());
    let ppath = path(&["permissions", &vhost, &user]);
    let _cleanup = Cleanup(vec![path(&["vhosts", &vhost]), path(&["users", &user])]);
    let p = provider();
    let v = p
        .create(
            kinds::VHOST,
            &attrs(&[("name", Value::string(&vhost))]),
            &crate::provider::Owner::for_tests(),
        )
        .await
        .unwrap();
    let u = p
        .create(
            kinds::USER,
            &attrs(&[
                ("name", Value::string(&user)),
                ("password", Value::string("pw")),
            ]),
            &crate::provider::Owner::for_tests(),
        )
        .await
        .unwrap();

    let config = attrs(&[
        ("vhost", Value::string(&vhost)),
        ("user", Value::string(&user)),
        ("configure", Value::string(r"^app\.")),
    ]);
    let created = p
        .create(
            kinds::PERMISSIONS,
            &config,
            &crate::provider::Owner::for_tests(),
        )
        .await
        .unwrap();
    let (s, j) = http("GET", &ppath, None);
    assert_eq!(s, 200);
    assert_eq!(
        (
            j["configure"].as_str(),
            j["write"].as_str(),
            j["read"].as_str()
        ),
        (Some(r"^app\."), Some(".*"), Some(".*"))
    );
    assert_eq!(
        p.read(kinds::PERMISSIONS, &created).await.unwrap(),
        Some(created.clone())
    );

    let mut config2 = config.clone();
    config2.insert("write".into(), Value::string("^logs$"));
    let updated = p
        .update(kinds::PERMISSIONS, &created, &config2)
        .await
        .unwrap();
    assert_eq!(http("GET", &ppath, None).1["write"], "^logs$");
    assert_eq!(
        p.read(kinds::PERMISSIONS, &updated).await.unwrap(),
        Some(updated.clone())
    );

    http(
        "PUT",
        &ppath,
        Some(serde_json::json!({"configure": "", "write": "^logs$", "read": ".*"})),
    );
    let seen = p.read(kinds::PERMISSIONS, &updated).await.unwrap().unwrap();
    assert_eq!(seen["configure"], Value::string(""));
    assert_eq!(http("DELETE", &ppath, None).0, 204);
    assert_eq!(p.read(kinds::PERMISSIONS, &updated).await.unwrap(), None);
    p.delete(kinds::PERMISSIONS, &updated).await.unwrap();

    // A regex the server refuses: permanent, naming the object, with the server's reason.
    let mut bad = config.clone();
    bad.insert("read".into(), Value::string("("));
    let e = p
        .create(
            kinds::PERMISSIONS,
            &bad,
            &crate::provider::Owner::for_tests(),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, ProviderError::Failed(_)), "{e:?}");
    assert!(
        e.to_string().contains(&user) && e.to_string().contains("invalid_regexp"),
        "{e}"
    );

    p.delete(kinds::USER, &u).await.unwrap();
    p.delete(kinds::VHOST, &v).await.unwrap();
}

#[tokio::test]
async fn objects_made_by_others_are_refused_untouched_and_proofs_hold() {
    use crate::provider::{Claim, Owner, Provider};
    let (vhost, user) = (unique(), unique());
    let (vpath, upath) = (path(&["vhosts", &vhost]), path(&["users", &user]));
    let _cleanup = Cleanup(vec![vpath.clone(), upath.clone()]);
    let p = provider();
    let owner = Owner::for_tests();
    // The neighbour's vhost and user, made by hand.
    http(
        "PUT",
        &vpath,
        Some(serde_json::json!({"description": "theirs", "tags": "x"})),
    );
    http(
        "PUT",
        &upath,
        Some(serde_json::json!({"password": "their pw", "tags": "management"})),
    );
    let vcfg = attrs(&[
        ("name", Value::string(&vhost)),
        ("description", Value::string("mine")),
    ]);
    let e = p.create(kinds::VHOST, &vcfg, &owner).await.unwrap_err();
    assert!(
        matches!(e, ProviderError::NotOurs(_)) && e.to_string().contains(&vhost),
        "{e}"
    );
    assert_eq!(http("GET", &vpath, None).1["description"], "theirs");
    assert_eq!(
        p.claim(kinds::VHOST, &vcfg, &owner).await.unwrap(),
        Claim::Unproven
    );
    let pcfg = attrs(&[
        ("vhost", Value::string(&vhost)),
        ("user", Value::string(&user)),
    ]);
    let e = p
        .create(kinds::PERMISSIONS, &pcfg, &owner)
        .await
        .unwrap_err();
    assert!(matches!(e, ProviderError::NotOurs(_)), "{e}");
    assert_eq!(
        http("GET", &path(&["permissions", &vhost, &user]), None).0,
        404
    );
    let ucfg = attrs(&[
        ("name", Value::string(&user)),
        ("password", Value::string("my pw")),
    ]);
    let e = p.create(kinds::USER, &ucfg, &owner).await.unwrap_err();
    assert!(
        matches!(e, ProviderError::NotOurs(_)) && e.to_string().contains(&user),
        "{e}"
    );
    assert!(can_login(&user, "their pw") && !can_login(&user, "my pw"));
    // The password is the secret proof: whoever knows it made the user.
    let theirs = attrs(&[
        ("name", Value::string(&user)),
        ("password", Value::string("their pw")),
    ]);
    assert_eq!(
        p.claim(kinds::USER, &theirs, &owner).await.unwrap(),
        Claim::Ours
    );
    assert_eq!(
        p.claim(kinds::USER, &ucfg, &owner).await.unwrap(),
        Claim::Unproven
    );

    // Taken over on purpose (import): the marker is added, the rest kept.
    p.mark(kinds::VHOST, &vcfg, &owner).await.unwrap();
    let (_, j) = http("GET", &vpath, None);
    assert_eq!(
        (j["description"].as_str(), &j["tags"]),
        (Some("theirs"), &serde_json::json!(["x", owner.marker()]))
    );
    assert_eq!(
        p.claim(kinds::VHOST, &vcfg, &owner).await.unwrap(),
        Claim::Ours
    );
    assert_eq!(
        p.claim(
            kinds::PERMISSIONS,
            &pcfg,
            &Owner::new(&owner.lineage, "other")
        )
        .await
        .unwrap(),
        Claim::Ours
    );
    let stranger = Owner::new("11111111-1111-4111-8111-111111111111", "test");
    assert!(matches!(
        p.claim(kinds::VHOST, &vcfg, &stranger).await.unwrap(),
        Claim::Foreign(_)
    ));
    assert!(matches!(
        p.create(kinds::VHOST, &vcfg, &stranger).await,
        Err(ProviderError::NotOurs(_))
    ));
    // A retried create of baton's own vhost converges on the configuration.
    let again = p.create(kinds::VHOST, &vcfg, &owner).await.unwrap();
    assert_eq!(again["description"], Value::string("mine"));
    assert_eq!(
        http("GET", &vpath, None).1["tags"],
        serde_json::json!([owner.marker()])
    );

    // A user without a password is proven by its marker alone.
    http("DELETE", &upath, None);
    let nopw = attrs(&[("name", Value::string(&user))]);
    p.create(kinds::USER, &nopw, &owner).await.unwrap();
    assert_eq!(
        p.claim(kinds::USER, &nopw, &owner).await.unwrap(),
        Claim::Ours
    );
    assert_eq!(
        p.claim(kinds::USER, &nopw, &stranger).await.unwrap(),
        Claim::Foreign(owner.marker())
    );
    p.create(kinds::USER, &nopw, &owner)
        .await
        .expect("a retried create adopts baton's own user");
}

#[tokio::test]
async fn hostile_names_cannot_reach_other_objects() {
    let base = unique();
    let canary = format!("{base}_canary");
    let hostile = [
        format!("{base}/../{canary}"),
        format!("../{canary}"),
        format!("{base}%2F..%2F{canary}"),
        format!("{base}?x=1#{canary}"),
        format!("{base}'; \"DROP"),
    ];
    let mut paths: Vec<String> = hostile.iter().map(|n| path(&["users", n])).collect();
    paths.push(path(&["users", &canary]));
    let _cleanup = Cleanup(paths);
    http(
        "PUT",
        &path(&["users", &canary]),
        Some(serde_json::json!({"password": "canary-pw", "tags": "management"})),
    );
    let before = http("GET", &path(&["users", &canary]), None).1;
    let p = provider();

    for name in &hostile {
        let config = attrs(&[
            ("name", Value::string(name)),
            ("password", Value::string("hostile-pw")),
            ("tags", list_value(&["management"])),
        ]);
        let state = p
            .create(kinds::USER, &config, &crate::provider::Owner::for_tests())
            .await
            .unwrap();
        let (s, j) = http("GET", &path(&["users", name]), None);
        assert_eq!(
            (s, j["name"].as_str()),
            (200, Some(name.as_str())),
            "{name}"
        );
        assert_eq!(
            http("GET", &path(&["users", &canary]), None).1,
            before,
            "{name} changed the canary"
        );
        p.delete(kinds::USER, &state).await.unwrap();
        assert_eq!(http("GET", &path(&["users", name]), None).0, 404);
        assert_eq!(
            http("GET", &path(&["users", &canary]), None).1,
            before,
            "{name} changed the canary"
        );
    }
    assert!(can_login(&canary, "canary-pw"));

    // Tags cannot become several tags; control characters are refused.
    let escalate = attrs(&[
        ("name", Value::string(&base)),
        ("tags", list_value(&["management,administrator"])),
    ]);
    assert!(matches!(
        p.create(kinds::USER, &escalate, &crate::provider::Owner::for_tests())
            .await,
        Err(ProviderError::Invalid(_))
    ));
    let nl = attrs(&[("name", Value::string(format!("{base}\nadmin")))]);
    assert!(matches!(
        p.create(kinds::VHOST, &nl, &crate::provider::Owner::for_tests())
            .await,
        Err(ProviderError::Invalid(_))
    ));
    assert_eq!(http("GET", &path(&["users", &base]), None).0, 404);
}

#[tokio::test]
async fn unreachable_servers_are_transient_and_messages_hide_credentials() {
    let quick = Backoff {
        initial: Duration::from_millis(10),
        max_delay: Duration::from_millis(20),
        budget: Duration::from_millis(100),
    };
    let name = attrs(&[("name", Value::string("x"))]);
    // Port 1 on loopback: nothing listens there, so the connection is refused.
    let p = AmqpProvider::new(&attrs(&[(
        "management_url",
        Value::string("http://admin:hunter2@127.0.0.1:1"),
    )]))
    .with_backoff(quick);
    let e = p.read(kinds::VHOST, &name).await.unwrap_err();
    assert!(matches!(e, ProviderError::Transient(_)), "{e:?}");
    assert!(
        !e.to_string().contains("hunter2") && e.to_string().contains("127.0.0.1:1"),
        "{e}"
    );

    management();
    let p = AmqpProvider::new(&attrs(&[(
        "management_url",
        Value::string("http://guest:hunter2@127.0.0.1:15672"),
    )]))
    .with_backoff(quick);
    let e = p.read(kinds::VHOST, &name).await.unwrap_err();
    assert!(matches!(e, ProviderError::Failed(_)), "{e:?}");
    assert!(
        !e.to_string().contains("hunter2") && e.to_string().contains("401"),
        "{e}"
    );

    let p = AmqpProvider::new(&attrs(&[(
        "management_url",
        Value::string("ftp://127.0.0.1"),
    )]));
    assert!(matches!(
        p.read(kinds::VHOST, &name).await,
        Err(ProviderError::Invalid(_))
    ));

    let vars = AmqpProvider::new(&Attrs::new()).vars();
    assert_eq!(vars["host"], Value::string("127.0.0.1"));
    assert_eq!(
        (vars["port"].as_i64(), vars["management_port"].as_i64()),
        (Some(5672), Some(15672))
    );
    assert!(vars["username"].is_sensitive() && vars["password"].is_sensitive());
}
