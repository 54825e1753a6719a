//! Hostile neighbours on RabbitMQ and MariaDB: a vhost holding a queue with a message, a
//! RabbitMQ user and its permissions, a MariaDB account, a database with a canary row and
//! the account's grant on it, all made by someone else with exactly the names a
//! configuration asks for. baton must never take them over, change or delete them
//! (apply three times, drift, an apply killed mid-way and the next one, destroy), and
//! every refusal must name the object and say how to take it over (`baton import`).

use std::process::Command;

use crate::servers::unique;
use crate::support::{Run, Sandbox};

/// A project module asking for objects by the exact names given in its params. In the
/// hostile suite the permissions and the grant name their vhost, database and users
/// directly (`VHOST`, `DATABASE`, `RUSER`, `MUSER` become `param.name`…), not through
/// the other resources, so their own creates run and must refuse on their own.
const MODULE: &str = r#"
provisions "server-neighbour" {
  environments = ["local"]
  description  = "RabbitMQ and MariaDB objects with exact names, for the hostile-neighbours suite"
}

param "name" {
  type = string
}

resource "random_password" "password" {
  length  = 24
  special = false
}

resource "rabbitmq_vhost" "vhost" {
  name        = param.name
  description = "baton's"
}

resource "rabbitmq_user" "user" {
  name     = param.name
  password = random_password.password.result
}

resource "rabbitmq_permissions" "perm" {
  user  = RUSER
  vhost = VHOST
}

resource "mysql_database" "db" {
  name = "${param.name}_db"
}

resource "mysql_user" "user" {
  user     = param.name
  host     = "%"
  password = random_password.password.result
}

resource "mysql_grant" "all" {
  user       = MUSER
  host       = "%"
  database   = DATABASE
  privileges = ["ALL PRIVILEGES"]
}

output "username" {
  value = param.name
}
"#;

const CANARY_PW: &str = "canary-password-of-the-neighbour";

fn run(cmd: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(cmd).args(args).output().unwrap_or_else(|e| {
        panic!("{cmd} is needed by this test ({e}); .ci/services starts the servers")
    });
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// One management API request as `user`: the HTTP status and the body.
fn rabbit_as(
    user: &str,
    pass: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> (u16, String) {
    let auth = format!("{user}:{pass}");
    let url = format!("http://127.0.0.1:15672/api/{path}");
    let mut args = vec![
        "-s",
        "-u",
        &auth,
        "-X",
        method,
        "-w",
        "\n%{http_code}",
        &url,
    ];
    if let Some(b) = body {
        args.extend(["-H", "content-type: application/json", "-d", b]);
    }
    let (_, text) = run("curl", &args);
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

/// A management API request as guest that must succeed; its JSON answer.
fn rabbit(method: &str, path: &str, body: Option<&str>) -> serde_json::Value {
    let (code, text) = rabbit_as("guest", "guest", method, path, body);
    assert!(
        (200..300).contains(&code),
        "{method} /api/{path}: HTTP {code} {text} (is RabbitMQ up?)"
    );
    serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
}

fn mariadb(sql: &str) -> String {
    let (ok, out) = run(
        "mariadb",
        &["-h", "127.0.0.1", "-u", "root", "-N", "-B", "-e", sql],
    );
    assert!(ok, "mariadb -e {sql:?} failed (is MariaDB up?): {out}");
    out.trim().to_string()
}

/// The neighbour's objects, made by hand, each with a canary.
struct Neighbour {
    name: String,
    /// The RabbitMQ user, its permissions and the MariaDB grants as the neighbour left them.
    user: serde_json::Value,
    permissions: serde_json::Value,
    grants: String,
}

impl Neighbour {
    fn make(name: &str) -> Neighbour {
        let db = format!("{name}_db");
        rabbit(
            "PUT",
            &format!("vhosts/{name}"),
            Some(r#"{"description": "theirs", "tags": "prod"}"#),
        );
        rabbit(
            "PUT",
            &format!("permissions/{name}/guest"),
            Some(r#"{"configure": ".*", "write": ".*", "read": ".*"}"#),
        );
        rabbit(
            "PUT",
            &format!("queues/{name}/canary"),
            Some(r#"{"durable": true}"#),
        );
        let sent = rabbit(
            "POST",
            &format!("exchanges/{name}/amq.default/publish"),
            Some(
                r#"{"properties": {}, "routing_key": "canary", "payload": "still here", "payload_encoding": "string"}"#,
            ),
        );
        assert_eq!(sent["routed"], true, "the canary message was queued");
        rabbit(
            "PUT",
            &format!("users/{name}"),
            Some(&format!(
                r#"{{"password": "{CANARY_PW}", "tags": "management"}}"#
            )),
        );
        rabbit(
            "PUT",
            &format!("permissions/{name}/{name}"),
            Some(r#"{"configure": "^canary$", "write": "^$", "read": "^canary$"}"#),
        );
        mariadb(&format!(
            "CREATE USER '{name}'@'%' IDENTIFIED BY '{CANARY_PW}'"
        ));
        mariadb(&format!("CREATE DATABASE `{db}`"));
        mariadb(&format!(
            "CREATE TABLE `{db}`.canary (v text); INSERT INTO `{db}`.canary VALUES ('still here')"
        ));
        mariadb(&format!("GRANT SELECT ON `{db}`.* TO '{name}'@'%'"));
        Neighbour {
            name: name.to_string(),
            user: rabbit("GET", &format!("users/{name}"), None),
            permissions: rabbit("GET", &format!("permissions/{name}/{name}"), None),
            grants: mariadb(&format!("SHOW GRANTS FOR '{name}'@'%'")),
        }
    }

    /// Every canary is alive and every object is as the neighbour left it.
    fn check(&self, when: &str) {
        let name = &self.name;
        let vhost = rabbit("GET", &format!("vhosts/{name}"), None);
        assert_eq!(
            (&vhost["description"], &vhost["tags"]),
            (&serde_json::json!("theirs"), &serde_json::json!(["prod"])),
            "{when}: the neighbour's vhost changed or was marked"
        );
        let got = rabbit(
            "POST",
            &format!("queues/{name}/canary/get"),
            Some(r#"{"count": 1, "ackmode": "ack_requeue_true", "encoding": "auto"}"#),
        );
        assert_eq!(
            got[0]["payload"], "still here",
            "{when}: the canary message: {got}"
        );
        assert_eq!(
            rabbit_as(name, CANARY_PW, "GET", "whoami", None).0,
            200,
            "{when}: the neighbour's RabbitMQ password no longer works"
        );
        assert_eq!(
            rabbit("GET", &format!("users/{name}"), None),
            self.user,
            "{when}: the RabbitMQ user changed"
        );
        assert_eq!(
            rabbit("GET", &format!("permissions/{name}/{name}"), None),
            self.permissions,
            "{when}: the RabbitMQ permissions changed"
        );
        let (ok, out) = run(
            "mariadb",
            &[
                "-h",
                "127.0.0.1",
                "-u",
                name,
                &format!("-p{CANARY_PW}"),
                "-N",
                "-B",
                "-e",
                &format!("SELECT v FROM `{name}_db`.canary"),
            ],
        );
        assert!(
            ok && out.trim() == "still here",
            "{when}: the neighbour's MariaDB login or canary row: {out}"
        );
        assert_eq!(
            mariadb(&format!("SHOW GRANTS FOR '{name}'@'%'")),
            self.grants,
            "{when}: the grants changed"
        );
        assert_eq!(
            mariadb(&format!(
                "SELECT SCHEMA_COMMENT FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{name}_db'"
            )),
            "",
            "{when}: the neighbour's database was marked"
        );
    }

    fn remove(&self) {
        let name = &self.name;
        let _ = rabbit_as("guest", "guest", "DELETE", &format!("vhosts/{name}"), None);
        let _ = rabbit_as("guest", "guest", "DELETE", &format!("users/{name}"), None);
        mariadb(&format!("DROP DATABASE IF EXISTS `{name}_db`"));
        mariadb(&format!("DROP USER IF EXISTS '{name}'@'%'"));
    }
}

/// The project; `related`: the permissions and the grant refer to the vhost and the
/// database resources (so they are made after them) rather than to their names.
fn project(name: &str, related: bool) -> Sandbox {
    let sb = Sandbox::new();
    let refs = if related {
        [
            ("VHOST", "rabbitmq_vhost.vhost.name"),
            ("RUSER", "rabbitmq_user.user.name"),
            ("DATABASE", "mysql_database.db.name"),
            ("MUSER", "mysql_user.user.user"),
        ]
    } else {
        [
            ("VHOST", "param.name"),
            ("RUSER", "param.name"),
            ("DATABASE", "\"${param.name}_db\""),
            ("MUSER", "param.name"),
        ]
    };
    let module = refs
        .iter()
        .fold(MODULE.to_string(), |m, (k, v)| m.replace(k, v));
    sb.write("modules/server-neighbour.hcl", &module);
    sb.write(
        "score.yaml",
        &format!(
            "apiVersion: score.dev/v1b1\nmetadata:\n  name: app\ncontainers:\n  main:\n    image: busybox\nresources:\n  store:\n    type: server-neighbour\n    params:\n      name: {name}\n"
        ),
    );
    sb
}

/// A refusal names each object and says how to take it over, exits 1, and leaves no
/// object of the servers recorded.
fn assert_refused(sb: &Sandbox, run: &Run, what: &str, name: &str) {
    assert_eq!(run.code, 1, "{what}: {}", run.transcript());
    let err = &run.stderr;
    for object in [
        format!("RabbitMQ vhost \"{name}\""),
        format!("RabbitMQ user \"{name}\""),
        format!("RabbitMQ permissions of user \"{name}\" in vhost \"{name}\""),
        format!("database \"{name}_db\""),
        format!("user \"{name}\"@\"%\""),
        format!("grant to \"{name}\"@\"%\" on database \"{name}_db\""),
    ] {
        assert!(
            err.contains(&object),
            "{what}: names {object}\n{}",
            run.transcript()
        );
    }
    assert!(
        err.contains("baton import"),
        "{what}: says how to take it over\n{}",
        run.transcript()
    );
    let listed = sb.run(&["state", "list"]);
    assert!(
        !listed.stdout.contains("rabbitmq_") && !listed.stdout.contains("mysql_"),
        "{what}: a foreign object was recorded\n{}",
        listed.transcript()
    );
}

#[test]
fn foreign_rabbitmq_and_mariadb_objects_are_never_taken_changed_or_deleted() {
    let name = unique("nbs");
    let neighbour = Neighbour::make(&name);
    let _cleanup = Cleanup(|| neighbour.remove());
    neighbour.check("as made");
    let sb = project(&name, false);

    crate::support::hostile_session(
        &|args| sb.command(args),
        &["rabbitmq_", "mysql_"],
        &|run, what| assert_refused(&sb, run, what, &name),
        &|when| neighbour.check(when),
    );
}

/// baton's own objects on the same servers carry its proofs: made, planned with no
/// changes, and destroyed, while the marker is on the vhost and off the tags read.
#[test]
fn rabbitmq_and_mariadb_objects_baton_makes_are_proven_and_removed() {
    let name = unique("own");
    let sb = project(&name, true);
    let gone = Neighbour {
        name: name.clone(),
        user: serde_json::Value::Null,
        permissions: serde_json::Value::Null,
        grants: String::new(),
    };
    let _cleanup = Cleanup(|| gone.remove());
    let apply = sb.run(&["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}", apply.transcript());
    let tags = rabbit("GET", &format!("vhosts/{name}"), None)["tags"].clone();
    assert!(
        tags.as_array().is_some_and(|t| t.len() == 1 && t[0].as_str().is_some_and(|m| m.starts_with("baton:"))),
        "the vhost carries baton's marker: {tags}"
    );
    assert!(
        mariadb(&format!(
            "SELECT SCHEMA_COMMENT FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{name}_db'"
        ))
        .starts_with("baton:"),
        "the database carries baton's marker"
    );
    let plan = sb.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(
        plan.code,
        0,
        "proven objects plan no changes\n{}",
        plan.transcript()
    );
    let destroy = sb.run(&["destroy", "--auto-approve"]);
    assert_eq!(destroy.code, 0, "{}", destroy.transcript());
    assert_eq!(
        rabbit_as("guest", "guest", "GET", &format!("vhosts/{name}"), None).0,
        404
    );
    assert_eq!(
        rabbit_as("guest", "guest", "GET", &format!("users/{name}"), None).0,
        404
    );
    assert_eq!(
        mariadb(&format!(
            "SELECT COUNT(*) FROM mysql.user WHERE User = '{name}'"
        )),
        "0"
    );
}

/// Runs its function when dropped: cleanup that also happens when an assertion fails.
struct Cleanup<F: FnMut()>(F);

impl<F: FnMut()> Drop for Cleanup<F> {
    fn drop(&mut self) {
        (self.0)();
    }
}
