//! Real provisioning through the binary, checked on the real servers (not baton's
//! state): Redis ACL users, RabbitMQ vhosts and users, PostgreSQL roles and databases,
//! MariaDB users and databases; drift made outside baton is reported by `baton drift`
//! and converged by `apply`.

use std::process::Command;

use crate::support::{Sandbox, redis, sh};

/// A workload name no other test (or earlier run) uses.
pub(crate) fn unique(prefix: &str) -> String {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{prefix}{:x}",
        (n ^ (std::process::id() as u128) << 20) & 0xffff_ffff
    )
}

pub(crate) fn rabbit(path: &str) -> (u16, String) {
    let out = Command::new("curl")
        .args([
            "-s",
            "-u",
            "guest:guest",
            "-w",
            "\n%{http_code}",
            &format!("http://127.0.0.1:15672/api/{path}"),
        ])
        .output()
        .expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

/// Deletes through the management API, which must answer 204 (deleted).
fn rabbit_delete(path: &str) {
    let out = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-X",
            "DELETE",
            "-u",
            "guest:guest",
            &format!("http://127.0.0.1:15672/api/{path}"),
        ])
        .output()
        .expect("curl");
    let code = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        code, "204",
        "DELETE {path} (is RabbitMQ up? .ci/services starts it)"
    );
}

const KV_SCORE: &str = "apiVersion: score.dev/v1b1
metadata:
  name: NAME
containers:
  main:
    image: busybox
    variables:
      REDIS: redis://${resources.cache.username}:${resources.cache.password}@${resources.cache.host}:${resources.cache.port}
      AMQP: amqp://${resources.bus.username}:${resources.bus.password}@${resources.bus.host}:${resources.bus.port}/${resources.bus.vhost}
resources:
  cache:
    type: redis
  bus:
    type: amqp
";

#[test]
fn redis_and_rabbitmq_are_provisioned_drift_is_seen_and_converged() {
    let name = unique("kv");
    let sb = Sandbox::new();
    sb.write("score.yaml", &KV_SCORE.replace("NAME", &name));
    let run = sb.run(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let user = sb.name(&format!("redis.default#{name}.cache"), "-", 100);
    let vhost = sb.name(&format!("amqp.default#{name}.bus"), "-", 100);

    // On the servers.
    let acl = redis(&["ACL", "GETUSER", &user]);
    assert!(
        acl.contains("+@all") && acl.contains("-@dangerous"),
        "{acl}"
    );
    let (code, _) = rabbit(&format!("vhosts/{vhost}"));
    assert_eq!(code, 200);
    let (code, perms) = rabbit(&format!("permissions/{vhost}/{vhost}"));
    assert_eq!(code, 200, "{perms}");
    // The manifest carries the real connection values; the passwords only in the Secret.
    let manifest = sb.read(&format!("deploy/local/{name}.yaml"));
    assert!(manifest.contains("secretKeyRef"), "{manifest}");
    assert!(!manifest.contains("password"), "{manifest}");
    let secrets = sb.read(&format!("deploy/local/{name}.secrets.yaml"));
    assert!(secrets.contains("kind: Secret"), "{secrets}");

    assert_eq!(sb.run(&["drift"]).code, 0, "no drift right after apply");

    // Drift: an ACL rule edited and a vhost deleted outside baton.
    assert!(redis(&["ACL", "SETUSER", &user, "-@all"]).contains("OK"));
    rabbit_delete(&format!("vhosts/{vhost}"));
    let drift = sb.run(&["drift", "--format", "json"]);
    assert_eq!(drift.code, 2, "{}", drift.transcript());
    let v: serde_json::Value = serde_json::from_str(&drift.stdout).unwrap();
    let addresses: Vec<&str> = v["drift"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["address"].as_str().unwrap())
        .collect();
    assert!(
        addresses
            .iter()
            .any(|a| a.ends_with("/redis_acl_user.user")),
        "{addresses:?}"
    );
    assert!(
        addresses
            .iter()
            .any(|a| a.ends_with("/rabbitmq_vhost.vhost")),
        "{addresses:?}"
    );

    let run = sb.run(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(sb.run(&["drift"]).code, 0, "converged");
    assert!(redis(&["ACL", "GETUSER", &user]).contains("+@all"));
    assert_eq!(rabbit(&format!("permissions/{vhost}/{vhost}")).0, 200);

    // Destroy leaves nothing behind on the servers.
    assert_eq!(sb.run(&["destroy", "--auto-approve"]).code, 0);
    assert!(
        redis(&["ACL", "GETUSER", &user]).trim().is_empty()
            || redis(&["ACL", "GETUSER", &user]).contains("(nil)")
    );
    assert_eq!(rabbit(&format!("vhosts/{vhost}")).0, 404);
    assert_eq!(rabbit(&format!("users/{vhost}")).0, 404);
}

fn psql(sql: &str) -> String {
    sh(
        "psql",
        &["-h", "127.0.0.1", "-U", "postgres", "-At", "-c", sql],
    )
    .trim()
    .to_string()
}

/// examples/shop with names made unique for this run (workloads and the shared id).
pub(crate) fn shop(suffix: &str) -> Sandbox {
    let sb = Sandbox::new();
    sb.copy_from_repo("examples/shop");
    for f in [
        "storefront.score.yaml",
        "orders.score.yaml",
        "fulfilment.score.yaml",
    ] {
        let text = sb
            .read(f)
            .replace("name: storefront", &format!("name: storefront-{suffix}"))
            .replace("name: orders", &format!("name: orders-{suffix}"))
            .replace("name: fulfilment", &format!("name: fulfilment-{suffix}"))
            .replace("workload: orders", &format!("workload: orders-{suffix}"))
            .replace("id: orders-db", &format!("id: orders-db-{suffix}"));
        sb.write(f, &text);
    }
    sb
}

#[test]
fn the_shop_example_provisions_exactly_what_its_workloads_need() {
    let suffix = unique("s");
    let sb = shop(&suffix);
    let run = sb.run(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let db = sb.name(&format!("postgres.default#orders-db-{suffix}"), "_", 63);

    // PostgreSQL: one role and one database for the shared orders-db, owned by the role.
    assert_eq!(
        psql(&format!(
            "SELECT rolname FROM pg_roles WHERE rolname LIKE '%{suffix}%' ORDER BY 1"
        )),
        db
    );
    assert_eq!(
        psql(&format!(
            "SELECT datname || ':' || pg_get_userbyid(datdba) FROM pg_database WHERE datname LIKE '%{suffix}%'"
        )),
        format!("{db}:{db}")
    );
    // Redis: one user per redis resource.
    let users = redis(&["ACL", "USERS"]);
    let mut mine: Vec<&str> = users.lines().filter(|u| u.contains(&suffix)).collect();
    mine.sort();
    assert_eq!(
        mine,
        vec![
            sb.name(
                &format!("redis.default#fulfilment-{suffix}.cache"),
                "-",
                100
            ),
            sb.name(
                &format!("redis.default#storefront-{suffix}.sessions"),
                "-",
                100
            ),
        ]
    );
    // RabbitMQ: one vhost and one user per amqp resource, with permissions.
    for v in [
        sb.name(&format!("amqp.default#fulfilment-{suffix}.queue"), "-", 100),
        sb.name(&format!("amqp.default#orders-{suffix}.events"), "-", 100),
    ] {
        assert_eq!(rabbit(&format!("vhosts/{v}")).0, 200, "{v}");
        assert_eq!(rabbit(&format!("users/{v}")).0, 200, "{v}");
        assert_eq!(rabbit(&format!("permissions/{v}/{v}")).0, 200, "{v}");
    }
    // Manifests: real connection values; passwords only in Secrets.
    let orders = sb.read(&format!("deploy/local/orders-{suffix}.yaml"));
    assert!(orders.contains("secretKeyRef"), "{orders}");
    let out = sb.run(&["output", "--json", "--show-sensitive"]);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let password = v[format!("postgres.default#orders-db-{suffix}")]["password"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(password.len(), 24);
    for f in std::fs::read_dir(sb.path().join("deploy/local"))
        .unwrap()
        .flatten()
    {
        let text = std::fs::read_to_string(f.path()).unwrap();
        let is_secret = f.file_name().to_string_lossy().ends_with(".secrets.yaml");
        // Plain text nowhere; the Secret carries it base64-encoded, as Kubernetes wants.
        assert!(!text.contains(&password), "{}", f.path().display());
        if is_secret {
            assert!(text.contains("kind: Secret"));
        } else {
            assert!(
                !text.contains(&base64(&password)[..16]),
                "{}",
                f.path().display()
            );
        }
    }
    // The database really accepts the generated credentials.
    let login = Command::new("psql")
        .env("PGPASSWORD", &password)
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            &db,
            "-d",
            &db,
            "-At",
            "-c",
            "SELECT current_user",
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&login.stdout).trim(),
        db,
        "{}",
        String::from_utf8_lossy(&login.stderr)
    );

    assert_eq!(sb.run(&["plan", "--detailed-exitcode"]).code, 0);

    // A changed param (the service port another workload's, by name): the Markdown's
    // first screen says what changes and why, before any <details>.
    sb.write(
        "storefront.score.yaml",
        &sb.read("storefront.score.yaml").replace(
            &format!("workload: orders-{suffix}\n      port: 8080\n"),
            &format!("workload: storefront-{suffix}\n      port: http\n"),
        ),
    );
    let md = sb.run(&["plan", "--format", "markdown"]);
    assert_eq!(md.code, 0, "{}", md.transcript());
    let first_screen: String = md.stdout.split("<details>").next().unwrap().to_string();
    assert!(
        first_screen.starts_with(
            "### 📋 baton plan `local`: 0 to add, 1 to change, 0 to replace, 0 to destroy"
        ),
        "{first_screen}"
    );
    assert!(first_screen.contains(&format!("| 🟡 update | `workload.storefront-{suffix}` | changed: `files` (storefront-{suffix}.yaml) | storefront-{suffix} |")), "{first_screen}");
    assert!(first_screen.lines().count() < 40, "{first_screen}");

    assert_eq!(sb.run(&["destroy", "--auto-approve"]).code, 0);
    assert_eq!(
        psql(&format!(
            "SELECT count(*) FROM pg_roles WHERE rolname LIKE '%{suffix}%'"
        )),
        "0"
    );
    assert!(!redis(&["ACL", "USERS"]).contains(&suffix));
}

fn base64(s: &str) -> String {
    use std::io::Write;
    let mut child = Command::new("base64")
        .arg("-w0")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap()
}

fn mariadb(sql: &str) -> String {
    sh(
        "mariadb",
        &["-h", "127.0.0.1", "-u", "root", "-N", "-B", "-e", sql],
    )
    .trim()
    .to_string()
}

const SQL_SCORE: &str = "apiVersion: score.dev/v1b1
metadata:
  name: NAME
containers:
  main:
    image: busybox
    variables:
      PG: postgres://${resources.pg.username}:${resources.pg.password}@${resources.pg.host}:${resources.pg.port}/${resources.pg.database}
      MY: mysql://${resources.my.username}:${resources.my.password}@${resources.my.host}:${resources.my.port}/${resources.my.database}
resources:
  pg:
    type: postgres
  my:
    type: mysql
";

#[test]
fn postgres_and_mariadb_drift_is_seen_and_converged() {
    let name = unique("sq");
    let sb = Sandbox::new();
    sb.write("score.yaml", &SQL_SCORE.replace("NAME", &name));
    let run = sb.run(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let pg = sb.name(&format!("postgres.default#{name}.pg"), "_", 63);
    let my = sb.name(&format!("mysql.default#{name}.my"), "_", 64);
    assert_eq!(
        psql(&format!(
            "SELECT rolconnlimit FROM pg_roles WHERE rolname = '{pg}'"
        )),
        "-1"
    );
    assert_eq!(
        mariadb(&format!(
            "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{my}'"
        )),
        my
    );
    assert_eq!(sb.run(&["drift"]).code, 0);

    // Outside baton: a connection limit, a password, a dropped database, a dropped user.
    psql(&format!("ALTER ROLE \"{pg}\" CONNECTION LIMIT 5"));
    psql(&format!("ALTER ROLE \"{pg}\" PASSWORD 'changed-by-hand'"));
    psql(&format!("DROP DATABASE \"{pg}\""));
    mariadb(&format!("DROP DATABASE `{my}`"));
    let drift = sb.run(&["drift", "--format", "json"]);
    assert_eq!(drift.code, 2, "{}", drift.transcript());
    let v: serde_json::Value = serde_json::from_str(&drift.stdout).unwrap();
    let by_addr: std::collections::BTreeMap<String, String> = v["drift"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["address"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_string(),
                d["what"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        by_addr["postgres_role.owner"].contains("connection_limit"),
        "{by_addr:?}"
    );
    assert!(
        by_addr["postgres_role.owner"].contains("password"),
        "{by_addr:?}"
    );
    assert_eq!(by_addr["postgres_database.db"], "deleted");
    assert_eq!(by_addr["mysql_database.db"], "deleted");
    assert!(
        !drift.stdout.contains("changed-by-hand"),
        "no password in drift output"
    );

    let plan = sb.run(&["plan"]);
    assert!(
        plan.stdout.contains("(changed outside baton)"),
        "{}",
        plan.stdout
    );
    let run = sb.run(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(sb.run(&["drift"]).code, 0, "converged");
    assert_eq!(
        psql(&format!(
            "SELECT rolconnlimit FROM pg_roles WHERE rolname = '{pg}'"
        )),
        "-1"
    );
    assert_eq!(
        psql(&format!(
            "SELECT count(*) FROM pg_database WHERE datname = '{pg}'"
        )),
        "1"
    );
    assert_eq!(
        mariadb(&format!(
            "SELECT count(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{my}'"
        )),
        "1"
    );
    // The password baton knows works again.
    let out = sb.run(&["output", "--json", "--show-sensitive"]);
    let o: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let password = o[format!("postgres.default#{name}.pg")]["password"]
        .as_str()
        .unwrap()
        .to_string();
    let login = Command::new("psql")
        .env("PGPASSWORD", &password)
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            &pg,
            "-d",
            &pg,
            "-At",
            "-c",
            "SELECT 1",
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&login.stdout).trim(),
        "1",
        "{}",
        String::from_utf8_lossy(&login.stderr)
    );

    assert_eq!(sb.run(&["destroy", "--auto-approve"]).code, 0);
    assert_eq!(
        psql(&format!(
            "SELECT count(*) FROM pg_roles WHERE rolname = '{pg}'"
        )),
        "0"
    );
    assert_eq!(
        mariadb(&format!(
            "SELECT count(*) FROM mysql.user WHERE User = '{my}'"
        )),
        "0"
    );
}

#[test]
fn hostile_names_in_params_are_safe() {
    let name = unique("inj");
    let canary = format!("{name}_canary");
    psql(&format!("CREATE TABLE \"{canary}\" (x int)"));
    let hostile = format!("{name} a\"b'c; DROP TABLE \"{canary}\"; --");
    let sb = Sandbox::new();
    sb.write(
        "score.yaml",
        &format!(
            "apiVersion: score.dev/v1b1\nmetadata:\n  name: {name}\ncontainers:\n  main:\n    image: busybox\nresources:\n  pg:\n    type: postgres\n    params:\n      database: '{}'\n",
            hostile.replace('\'', "''")
        ),
    );
    // PostgreSQL takes any name of up to 63 bytes as a quoted identifier, and so does
    // baton: the database is made under exactly that name (quoted, never injected),
    // the next plan has no changes, and destroy drops it.
    let run = sb.run(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let named = || {
        psql(&format!(
            "SELECT count(*) FROM pg_database WHERE datname = '{}'",
            hostile.replace('\'', "''")
        ))
    };
    assert_eq!(named(), "1", "the database has exactly the hostile name");
    assert_eq!(
        psql(&format!(
            "SELECT count(*) FROM pg_tables WHERE tablename = '{canary}'"
        )),
        "1",
        "the canary table survived"
    );
    let plan = sb.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{}", plan.transcript());
    let destroy = sb.run(&["destroy", "--auto-approve"]);
    assert_eq!(destroy.code, 0, "{}", destroy.transcript());
    assert_eq!(named(), "0", "destroy dropped it");
    psql(&format!("DROP TABLE \"{canary}\""));
}
