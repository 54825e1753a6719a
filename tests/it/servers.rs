//! Real provisioning through the binary, checked on the real servers (not baton's
//! state): Redis ACL users, RabbitMQ vhosts and users, PostgreSQL roles and databases,
//! MariaDB users and databases; drift made outside baton is reported by `baton drift`
//! and converged by `apply`.

use std::process::Command;

use crate::support::Sandbox;

/// A workload name no other test (or earlier run) uses.
fn unique(prefix: &str) -> String {
    let n = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{prefix}{:x}", (n ^ (std::process::id() as u128) << 20) & 0xffff_ffff)
}

fn sh(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd).args(args).output().unwrap_or_else(|e| panic!("{cmd} is needed by this test ({e}); .ci/services starts the servers"));
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

fn redis(args: &[&str]) -> String {
    let mut a = vec!["-h", "127.0.0.1", "-p", "6379"];
    a.extend_from_slice(args);
    sh("redis-cli", &a)
}

fn rabbit(path: &str) -> (u16, String) {
    let out = Command::new("curl")
        .args(["-s", "-u", "guest:guest", "-w", "\n%{http_code}", &format!("http://127.0.0.1:15672/api/{path}")])
        .output()
        .expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

fn rabbit_delete(path: &str) {
    let _ = Command::new("curl").args(["-s", "-X", "DELETE", "-u", "guest:guest", &format!("http://127.0.0.1:15672/api/{path}")]).output();
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
    let user = format!("{name}-cache");
    let vhost = format!("{name}-bus");

    // On the servers.
    let acl = redis(&["ACL", "GETUSER", &user]);
    assert!(acl.contains("+@all") && acl.contains("-@dangerous"), "{acl}");
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
    let addresses: Vec<&str> = v["drift"].as_array().unwrap().iter().map(|d| d["address"].as_str().unwrap()).collect();
    assert!(addresses.iter().any(|a| a.ends_with("/redis_acl_user.user")), "{addresses:?}");
    assert!(addresses.iter().any(|a| a.ends_with("/rabbitmq_vhost.vhost")), "{addresses:?}");

    let run = sb.run(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(sb.run(&["drift"]).code, 0, "converged");
    assert!(redis(&["ACL", "GETUSER", &user]).contains("+@all"));
    assert_eq!(rabbit(&format!("permissions/{vhost}/{vhost}")).0, 200);

    // Destroy leaves nothing behind on the servers.
    assert_eq!(sb.run(&["destroy", "--auto-approve"]).code, 0);
    assert!(redis(&["ACL", "GETUSER", &user]).trim().is_empty() || redis(&["ACL", "GETUSER", &user]).contains("(nil)"));
    assert_eq!(rabbit(&format!("vhosts/{vhost}")).0, 404);
    assert_eq!(rabbit(&format!("users/{vhost}")).0, 404);
}
