//! Provider calls interrupted or failed at the worst moment (injected with `BATON_CHAOS`,
//! against the real Redis): what the server made is adopted or deleted by the next run,
//! never orphaned, and no intent is left behind. Each was found by the crash test
//! (`chaos.rs`); these pin them down deterministically.

use std::process::Command;

use crate::support::{Run, Sandbox, redis};

/// The Redis users whose names start with `prefix`, sorted.
fn users(prefix: &str) -> Vec<String> {
    let mut u: Vec<String> = redis(&["ACL", "USERS"])
        .lines()
        .filter(|u| u.starts_with(prefix))
        .map(str::to_string)
        .collect();
    u.sort();
    u
}

/// Removes what a failed test left on the servers (the names start with the
/// workload's).
struct Cleanup(String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        // Unchecked: this runs while a test panics, maybe because a server is down.
        let listed = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", "6379", "ACL", "USERS"])
            .output();
        let listed = listed.map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
        for user in listed.unwrap_or_default().lines() {
            if user.starts_with(&self.0) {
                let _ = Command::new("redis-cli")
                    .args(["-h", "127.0.0.1", "-p", "6379", "ACL", "DELUSER", user])
                    .output();
            }
        }
        let db = format!("{}_db", self.0);
        let _ = Command::new("psql")
            .args(["-h", "127.0.0.1", "-U", "postgres", "-c"])
            .arg(format!("DROP DATABASE IF EXISTS \"{db}\""))
            .output();
        let _ = Command::new("psql")
            .args(["-h", "127.0.0.1", "-U", "postgres", "-c"])
            .arg(format!("DROP ROLE IF EXISTS \"{db}\""))
            .output();
    }
}

/// A workload name no other test (or earlier run) uses.
fn unique() -> String {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "ir{:x}",
        (n ^ (std::process::id() as u128) << 20) & 0xffff_ffff
    )
}

/// The intents left in the state, as `action address`.
fn intents(sb: &Sandbox) -> Vec<String> {
    let conn = rusqlite::Connection::open(sb.path().join(".baton/state.db")).unwrap();
    let mut st = conn
        .prepare("SELECT action || ' ' || address FROM intents ORDER BY address")
        .unwrap();
    st.query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Runs `apply --auto-approve` with `BATON_CHAOS` set to `chaos`.
fn apply_with(sb: &Sandbox, chaos: &str) -> Run {
    let out = sb
        .command(&["apply", "--auto-approve", "--parallelism", "1"])
        .env("BATON_CHAOS", chaos)
        .output()
        .unwrap();
    Run::of(out)
}

/// Asserts that `run` died of the SIGABRT `BATON_CHAOS=abort_after=…` raises (not of
/// another signal, not an ordinary failure).
fn assert_aborted(run: &Run) {
    assert_eq!(
        run.signal,
        Some(libc::SIGABRT),
        "killed by SIGABRT: {}",
        run.transcript()
    );
}

/// Runs a normal apply, which must succeed.
fn apply(sb: &Sandbox) -> Run {
    let run = sb.run(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    run
}

/// Destroys, leaving nothing with `name` on Redis.
fn destroy(sb: &Sandbox, name: &str) {
    let run = sb.run(&["destroy", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(users(name), Vec::<String>::new());
}

fn score(name: &str, resources: &str) -> String {
    let mut text = format!(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: {name}\ncontainers:\n  main:\n    image: busybox\n"
    );
    if !resources.is_empty() {
        text.push_str("resources:\n");
        text.push_str(resources);
    }
    text
}

/// A Redis user renamed by `version`, create-before-destroy when `cbd`.
const ACL_MODULE: &str = r##"
provisions "acl" {}
param "version" {
  type = number
}
param "cbd" {
  type = bool
}
resource "random_password" "p" {
  length  = 20
  special = false
}
resource "redis_acl_user" "u" {
  username  = "${score.workload}-v${param.version}"
  passwords = [random_password.p.result]
  lifecycle {
    create_before_destroy = param.cbd
  }
}
"##;

fn acl_project(name: &str, version: u8, cbd: bool) -> Sandbox {
    let sb = Sandbox::new();
    sb.write("modules/acl.hcl", ACL_MODULE);
    set_version(&sb, name, version, cbd);
    sb
}

fn set_version(sb: &Sandbox, name: &str, version: u8, cbd: bool) {
    sb.write(
        "score.yaml",
        &score(
            name,
            &format!("  login:\n    type: acl\n    params: {{version: {version}, cbd: {cbd}}}\n"),
        ),
    );
}

#[test]
fn a_create_that_failed_after_the_server_acted_is_adopted_by_the_next_apply() {
    let name = unique();
    let _cleanup = Cleanup(name.clone());
    let sb = Sandbox::new();
    sb.write("score.yaml", &score(&name, "  cache:\n    type: redis\n"));
    let run = apply_with(&sb, "fail=1,when=after,kinds=redis_acl_user");
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr
            .contains("injected failure after create redis_acl_user succeeded"),
        "{}",
        run.stderr
    );
    assert_eq!(
        users(&name),
        vec![sb.name(&format!("redis.default#{name}.cache"), "-", 100)],
        "the user was made"
    );
    assert_eq!(
        intents(&sb),
        vec![format!(
            "create redis.default#{name}.cache/redis_acl_user.user"
        )],
        "the failed create keeps its intent"
    );

    // Before, the intent was cleared and the next create refused the unknown user.
    let run = apply(&sb);
    assert!(
        run.stdout
            .contains("must be replaced (an earlier create did not finish)"),
        "{}",
        run.stdout
    );
    assert_eq!(intents(&sb), Vec::<String>::new());
    assert_eq!(sb.run(&["plan", "--detailed-exitcode"]).code, 0);
    // The user takes the password the workload is given.
    let out = sb.run(&["output", "--json", "--show-sensitive"]);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let password = v[format!("redis.default#{name}.cache")]["password"]
        .as_str()
        .unwrap()
        .to_string();
    let user = sb.name(&format!("redis.default#{name}.cache"), "-", 100);
    let pong = redis(&[
        "--user",
        &user,
        "--pass",
        &password,
        "--no-auth-warning",
        "PING",
    ]);
    assert_eq!(pong.trim(), "PONG");
    destroy(&sb, &name);
}

#[test]
fn an_interrupted_create_no_longer_desired_is_deleted_not_orphaned() {
    let name = unique();
    let _cleanup = Cleanup(name.clone());
    let sb = Sandbox::new();
    sb.write("score.yaml", &score(&name, "  cache:\n    type: redis\n"));
    // The process dies right after Redis made the user, before it is recorded.
    let run = apply_with(&sb, "abort_after=1,kinds=redis_acl_user");
    assert_aborted(&run);
    assert_eq!(
        users(&name),
        vec![sb.name(&format!("redis.default#{name}.cache"), "-", 100)]
    );

    // The resource is gone from the Score file: the user must go too.
    sb.write("score.yaml", &score(&name, ""));
    apply(&sb);
    assert_eq!(users(&name), Vec::<String>::new(), "no orphaned user");
    assert_eq!(intents(&sb), Vec::<String>::new());
    let list = sb.run(&["state", "list"]).stdout;
    assert_eq!(list.trim(), format!("workload.{name}"));
}

#[test]
fn intents_of_calls_that_turned_out_done_or_not_done_are_cleared() {
    let name = unique();
    let _cleanup = Cleanup(name.clone());
    let sb = Sandbox::new();
    sb.write("score.yaml", &score(&name, "  cache:\n    type: redis\n"));
    apply(&sb);
    // An update that Redis applied, with the process dying before recording it.
    sb.write(
        "score.yaml",
        &score(
            &name,
            "  cache:\n    type: redis\n    params: {key_prefix: \"app:\"}\n",
        ),
    );
    let run = apply_with(&sb, "abort_after=1,kinds=redis_acl_user");
    assert_aborted(&run);
    assert_eq!(intents(&sb).len(), 1, "{:?}", intents(&sb));
    // The next run finds the user as configured: nothing to do, and the intent is
    // settled all the same.
    let run = apply(&sb);
    assert!(run.stdout.contains("No changes."), "{}", run.stdout);
    assert_eq!(intents(&sb), Vec::<String>::new());

    // A create that never reached Redis, for a resource then removed.
    sb.write(
        "score.yaml",
        &score(
            &name,
            "  cache:\n    type: redis\n    params: {key_prefix: \"app:\"}\n  other:\n    type: redis\n",
        ),
    );
    let run = apply_with(&sb, "fail=1,when=before,kinds=redis_acl_user");
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert_eq!(
        users(&name),
        vec![sb.name(&format!("redis.default#{name}.cache"), "-", 100)]
    );
    sb.write(
        "score.yaml",
        &score(
            &name,
            "  cache:\n    type: redis\n    params: {key_prefix: \"app:\"}\n",
        ),
    );
    apply(&sb);
    assert_eq!(intents(&sb), Vec::<String>::new());
    destroy(&sb, &name);
}

#[test]
fn a_rename_interrupted_between_delete_and_record_adopts_the_new_object() {
    let name = unique();
    let _cleanup = Cleanup(name.clone());
    let sb = acl_project(&name, 0, false);
    apply(&sb);
    set_version(&sb, &name, 1, false);
    // Replace: delete v0 (call 1), create v1 (call 2), die before recording.
    let run = apply_with(&sb, "abort_after=2,kinds=redis_acl_user");
    assert_aborted(&run);
    assert_eq!(users(&name), vec![format!("{name}-v1")]);
    // The recorded v0 is gone; the v1 the intent made is adopted, not created again
    // (which Redis would refuse as someone else's user).
    apply(&sb);
    assert_eq!(users(&name), vec![format!("{name}-v1")]);
    assert_eq!(intents(&sb), Vec::<String>::new());
    assert_eq!(sb.run(&["plan", "--detailed-exitcode"]).code, 0);
    destroy(&sb, &name);
}

#[test]
fn a_create_before_destroy_rename_interrupted_before_the_delete_converges() {
    let name = unique();
    let _cleanup = Cleanup(name.clone());
    let sb = acl_project(&name, 0, true);
    apply(&sb);
    set_version(&sb, &name, 1, true);
    // Create v1 (call 1), die before deleting v0.
    let run = apply_with(&sb, "abort_after=1,kinds=redis_acl_user");
    assert_aborted(&run);
    assert_eq!(
        users(&name),
        vec![format!("{name}-v0"), format!("{name}-v1")]
    );
    apply(&sb);
    assert_eq!(
        users(&name),
        vec![format!("{name}-v1")],
        "v0 deleted, v1 kept"
    );
    assert_eq!(intents(&sb), Vec::<String>::new());
    assert_eq!(sb.run(&["plan", "--detailed-exitcode"]).code, 0);
    destroy(&sb, &name);
}

fn psql(sql: &str) -> String {
    crate::support::psql("postgres", sql).trim().to_string()
}

#[test]
fn an_adopted_database_no_longer_desired_is_dropped_before_its_owner_role() {
    let name = unique();
    let _cleanup = Cleanup(name.clone());
    let sb = Sandbox::new();
    sb.write("score.yaml", &score(&name, "  db:\n    type: postgres\n"));
    // The role is made and recorded; the process dies right after the database is made.
    let run = apply_with(&sb, "abort_after=1,kinds=postgres_database");
    assert_aborted(&run);
    let db = sb.name(&format!("postgres.default#{name}.db"), "_", 63);
    let owned = format!("SELECT count(*) FROM pg_database WHERE datname = '{db}'");
    assert_eq!(psql(&owned), "1");
    // Dropping the resource: the database (adopted, its dependencies unknown) must go
    // before the role that owns it, which PostgreSQL refuses to drop while it owns one.
    sb.write("score.yaml", &score(&name, ""));
    apply(&sb);
    assert_eq!(psql(&owned), "0");
    assert_eq!(
        psql(&format!(
            "SELECT count(*) FROM pg_roles WHERE rolname = '{db}'"
        )),
        "0"
    );
    assert_eq!(intents(&sb), Vec::<String>::new());
}

/// An update that acted before it failed (the reply lost) is recorded by the next apply
/// as the object now is: afterwards neither `plan` nor `drift` sees a difference.
#[test]
fn an_update_that_acted_before_failing_is_recorded_by_the_next_apply() {
    let sb = Sandbox::new();
    sb.write(
        "modules/note.hcl",
        r#"
provisions "note" {}
param "text" {
  type = string
}
resource "local_file" "f" {
  path    = ".baton/out/${score.workload}.txt"
  content = param.text
}
"#,
    );
    let write = |text: &str| {
        sb.write(
            "score.yaml",
            &score(
                "app",
                &format!("  note:\n    type: note\n    params: {{text: {text}}}\n"),
            ),
        )
    };
    write("one");
    apply(&sb);
    write("two");
    let run = apply_with(&sb, "fail=1,when=after,kinds=local_file");
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr
            .contains("injected failure after update local_file succeeded"),
        "{}",
        run.transcript()
    );
    assert_eq!(sb.read(".baton/out/app.txt"), "two", "the update acted");
    apply(&sb);
    let drift = sb.run(&["drift"]);
    assert_eq!(
        drift.code,
        0,
        "drift is quiet once the update is recorded\n{}",
        drift.transcript()
    );
    let plan = sb.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{}", plan.transcript());
    assert!(intents(&sb).is_empty(), "no intent is left");
}
