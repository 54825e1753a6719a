//! State at team scale, through the real binary on the real PostgreSQL state backend
//! (each test has a database of its own on 127.0.0.1:5432, dropped afterwards): many
//! `baton apply` processes on disjoint workloads of one environment run at the same
//! time; those sharing a resource serialise; `kill -9` of a lock holder frees its locks
//! at once; nothing is lost or made twice (checked on the PostgreSQL server the
//! `postgres` provider provisions, not only in state); secrets are sealed in the state
//! rows; `state migrate` round-trips SQLite → PostgreSQL → SQLite identically.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use baton::state::PostgresStore;

use crate::support::{PgDb, Sandbox, psql, wait_for};

/// A module whose objects take a while: a sleep of `param.seconds`.
const NAP_MODULE: &str = r#"
provisions "nap" {}
param "seconds" {
  type    = string
  default = "3s"
}
resource "time_sleep" "wait" {
  create_duration = param.seconds
}
output "id" {
  value = time_sleep.wait.id
}
"#;

/// A name no other test (or earlier run) uses: lowercase letters and digits.
fn unique(prefix: &str) -> String {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{prefix}{:x}",
        (n ^ ((std::process::id() as u128) << 20)) & 0xff_ffff
    )
}

/// A project whose state is the test's own PostgreSQL database.
struct Team {
    sb: Sandbox,
    db: PgDb,
}

impl Team {
    fn new() -> Team {
        let sb = Sandbox::new();
        sb.write("modules/nap.hcl", NAP_MODULE);
        sb.write(
            "baton.hcl",
            "environment \"local\" {\n  state {\n    postgres { url = env(\"BATON_STATE_URL\") }\n  }\n  modules = [\"./modules\"]\n}\n",
        );
        Team {
            sb,
            db: PgDb::new(),
        }
    }

    /// A workload with a PostgreSQL database of its own, a nap, and optionally a shared
    /// PostgreSQL database (`id`).
    fn workload(&self, name: &str, nap: &str, shared: Option<&str>) -> String {
        let mut text = format!(
            "apiVersion: score.dev/v1b1\nmetadata:\n  name: {name}\ncontainers:\n  main:\n    image: busybox\nresources:\n  db:\n    type: postgres\n  nap:\n    type: nap\n    params:\n      seconds: {nap}\n"
        );
        if let Some(id) = shared {
            text.push_str(&format!("  common:\n    type: postgres\n    id: {id}\n"));
        }
        let file = format!("{name}.score.yaml");
        self.sb.write(&file, &text);
        file
    }

    fn command(&self, args: &[&str]) -> std::process::Command {
        let mut c = self.sb.command(args);
        c.env("BATON_STATE_URL", self.db.url())
            .env_remove("BATON_STATE_KEY")
            .stdin(Stdio::null());
        c
    }

    fn run(&self, args: &[&str]) -> crate::support::Run {
        self.run_with(args, &[])
    }

    fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> crate::support::Run {
        let mut c = self.command(args);
        for (k, v) in env {
            c.env(k, v);
        }
        let out = c.output().expect("run baton");
        crate::support::Run::of(out)
    }

    fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start baton")
    }

    /// A client of the state, to watch the locks.
    fn store(&self) -> PostgresStore {
        PostgresStore::open(&self.db.url(), "local").unwrap()
    }

    /// The name of the PostgreSQL role and database of `uid` (the built-in module's).
    fn pg_name(&self, uid: &str) -> String {
        let lineage = self.store().lineage().unwrap();
        crate::support::physical_name(&lineage, uid, "_", 63)
    }

    /// The state's rows as text: what someone with read access to the database sees.
    fn raw_rows(&self) -> String {
        self.db.sql(
            "SELECT s::text FROM baton.states s
             UNION ALL SELECT o::text FROM baton.objects o
             UNION ALL SELECT i::text FROM baton.intents i
             UNION ALL SELECT h::text FROM baton.history h",
        )
    }
}

/// Roles (and databases) on the server whose name starts with `prefix`.
fn roles(prefix: &str) -> Vec<String> {
    psql(
        "postgres",
        &format!("SELECT rolname FROM pg_roles WHERE rolname LIKE '{prefix}%' ORDER BY 1"),
    )
    .lines()
    .map(str::to_string)
    .collect()
}

fn databases(prefix: &str) -> Vec<String> {
    psql(
        "postgres",
        &format!("SELECT datname FROM pg_database WHERE datname LIKE '{prefix}%' ORDER BY 1"),
    )
    .lines()
    .map(str::to_string)
    .collect()
}

/// Runs `children` to the end while watching the live locks; returns each exit (code,
/// stdout, stderr, seconds it ran) and, for each moment observed, the lock ids holding
/// a scope that `scope` selects.
fn watch(
    team: &Team,
    mut children: Vec<(Child, Instant)>,
    scope: impl Fn(&str) -> bool,
) -> (Vec<(i32, String, String, f64)>, usize) {
    let store = team.store();
    let mut most = 0;
    let mut done: BTreeMap<usize, (i32, f64)> = BTreeMap::new();
    while done.len() < children.len() {
        let holders: BTreeSet<String> = store
            .current_locks()
            .unwrap()
            .into_iter()
            .filter(|l| scope(&l.scope))
            .map(|l| l.id)
            .collect();
        most = most.max(holders.len());
        for (i, (c, started)) in children.iter_mut().enumerate() {
            if done.contains_key(&i) {
                continue;
            }
            if let Some(status) = c.try_wait().unwrap() {
                done.insert(
                    i,
                    (status.code().unwrap_or(-1), started.elapsed().as_secs_f64()),
                );
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let outcomes = children
        .into_iter()
        .enumerate()
        .map(|(i, (c, _))| {
            let out = c.wait_with_output().unwrap();
            (
                done[&i].0,
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
                done[&i].1,
            )
        })
        .collect();
    (outcomes, most)
}

#[test]
fn eight_applies_on_disjoint_workloads_run_at_once_and_lose_nothing() {
    const N: usize = 8;
    let team = Team::new();
    let prefix = unique("t");
    let files: Vec<String> = (0..N)
        .map(|i| team.workload(&format!("{prefix}w{i}"), "4s", None))
        .collect();
    // The state exists before the race (as in a team, where it was made once).
    assert_eq!(team.run(&["state", "list"]).code, 0);

    let started = Instant::now();
    let children: Vec<(Child, Instant)> = files
        .iter()
        .map(|f| {
            (
                team.spawn(&["apply", "--auto-approve", "-f", f]),
                Instant::now(),
            )
        })
        .collect();
    let (outcomes, most) = watch(&team, children, |s| s.starts_with("workload:"));
    let wall = started.elapsed().as_secs_f64();
    for (code, stdout, stderr, _) in &outcomes {
        assert_eq!(*code, 0, "{stdout}\n{stderr}");
        assert!(stdout.contains("Apply complete! 5 added"), "{stdout}");
    }
    let each: Vec<f64> = outcomes.iter().map(|o| o.3).collect();
    let sum: f64 = each.iter().sum();
    eprintln!(
        "{N} concurrent applies: {wall:.1}s wall; each {:?}s, {sum:.1}s summed; at most {most} held their workload locks at once",
        each.iter()
            .map(|x| (x * 10.0).round() / 10.0)
            .collect::<Vec<_>>()
    );
    // They held their locks at the same time (so they ran at once, not one after
    // another: seen on the lock rows, not on the clock), and none of them waited for
    // another: no lock timeout was given.
    assert!(
        most >= N / 2,
        "at most {most} applies held their locks at once"
    );

    // Nothing lost, nothing made twice: on the server, and in state.
    let mut made: Vec<String> = (0..N)
        .map(|i| team.pg_name(&format!("postgres.default#{prefix}w{i}.db")))
        .collect();
    made.sort();
    assert_eq!(roles(&prefix), made);
    assert_eq!(databases(&prefix), made);
    let store = team.store();
    let state = store.load().unwrap();
    assert_eq!(state.serial, N as u64, "one serial per apply");
    assert_eq!(state.objects.len(), N * 5, "{:?}", state.objects.keys());
    let history = store.history().unwrap();
    assert_eq!(history.len(), N * 5);
    let serials: BTreeSet<u64> = history.iter().map(|h| h.serial).collect();
    assert_eq!(serials, (1..=N as u64).collect());
    for s in &serials {
        let workloads: BTreeSet<&str> = history
            .iter()
            .filter(|h| h.serial == *s)
            .map(|h| match h.address.strip_prefix("workload.") {
                Some(w) => w,
                None => h.address.split(['#', '.']).nth(2).unwrap_or(&h.address),
            })
            .collect();
        assert_eq!(workloads.len(), 1, "serial {s} is one apply: {workloads:?}");
    }
    assert!(
        store.current_locks().unwrap().is_empty(),
        "every lock released"
    );
    drop(store);

    // The whole project agrees, and destroy leaves nothing on the server.
    let plan = team.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{}", plan.transcript());
    let destroy = team.run(&["destroy", "--auto-approve"]);
    assert_eq!(destroy.code, 0, "{}", destroy.transcript());
    assert!(roles(&prefix).is_empty() && databases(&prefix).is_empty());
}

#[test]
fn applies_sharing_a_resource_serialise_and_make_it_once() {
    let team = Team::new();
    let prefix = unique("s");
    let shared = format!("{prefix}common");
    let files: Vec<String> = (0..3)
        .map(|i| team.workload(&format!("{prefix}w{i}"), "2s", Some(&shared)))
        .collect();
    let late = team.workload(&format!("{prefix}late"), "1s", Some(&shared));
    assert_eq!(team.run(&["state", "list"]).code, 0);
    let resource = format!("resource:postgres.default#{shared}");

    let children: Vec<(Child, Instant)> = files
        .iter()
        .map(|f| {
            (
                team.spawn(&["--lock-timeout", "120s", "apply", "--auto-approve", "-f", f]),
                Instant::now(),
            )
        })
        .collect();
    // While one of them holds the shared resource, a run without --lock-timeout fails
    // at once, naming the holder.
    let store = team.store();
    wait_for(
        "a holder of the shared resource",
        Duration::from_secs(60),
        || {
            store
                .current_locks()
                .unwrap()
                .iter()
                .any(|l| l.scope == resource)
        },
    );
    let refused = team.run(&["apply", "--auto-approve", "-f", &late]);
    assert_eq!(refused.code, 1, "{}", refused.transcript());
    assert!(
        refused.stderr.contains(&format!(
            "the state is locked (shared resource `postgres.default#{shared}`): "
        )) && refused.stderr.contains("is running `apply` (pid "),
        "{}",
        refused.stderr
    );
    drop(store);

    let (outcomes, most) = watch(&team, children, |s| s.starts_with("workload:"));
    for (code, stdout, stderr, _) in &outcomes {
        assert_eq!(*code, 0, "{stdout}\n{stderr}");
    }
    assert_eq!(
        most, 1,
        "the applies never held their locks at the same time"
    );
    let waited = outcomes
        .iter()
        .filter(|o| {
            o.2.contains(&format!(
                "waiting for the state lock on shared resource `postgres.default#{shared}` held by"
            ))
        })
        .count();
    assert!(waited >= 1, "{outcomes:?}");
    eprintln!(
        "3 applies sharing a resource: {:?}s each, {waited} waited for the lock",
        outcomes
            .iter()
            .map(|o| (o.3 * 10.0).round() / 10.0)
            .collect::<Vec<_>>()
    );

    // The shared database was made once, and each workload's own once.
    let shared_role = team.pg_name(&format!("postgres.default#{shared}"));
    assert_eq!(roles(&shared_role), vec![shared_role.clone()]);
    assert_eq!(databases(&shared_role), vec![shared_role.clone()]);
    assert_eq!(roles(&prefix).len(), 3);
    let history = team.store().history().unwrap();
    let creates = history
        .iter()
        .filter(|h| h.address.contains(&format!("#{shared}/")) && h.action == "create")
        .count();
    assert_eq!(
        creates, 3,
        "random_password, role and database of the shared resource, once each"
    );

    let destroy = team.run(&["destroy", "--auto-approve"]);
    assert_eq!(destroy.code, 0, "{}", destroy.transcript());
    assert!(roles(&shared_role).is_empty() && roles(&prefix).is_empty());
}

#[test]
fn kill_9_of_a_lock_holder_frees_its_locks_at_once() {
    let team = Team::new();
    let name = unique("k");
    let file = team.workload(&name, "120s", None);
    let mut child = team.spawn(&["apply", "--auto-approve", "-f", &file]);
    let store = team.store();
    // Wait until it holds its lock and has made its role on the server.
    wait_for("the apply's lock and role", Duration::from_secs(60), || {
        store
            .current_locks()
            .unwrap()
            .iter()
            .any(|l| l.pid == child.id() && l.scope == format!("workload:{name}"))
            && store
                .load()
                .unwrap()
                .objects
                .keys()
                .any(|a| a.ends_with("/postgres_database.db"))
    });
    // A contender waits up to --lock-timeout, then fails naming the holder.
    let waited = team.run(&[
        "--lock-timeout",
        "1s",
        "apply",
        "--auto-approve",
        "-f",
        &file,
    ]);
    assert_eq!(waited.code, 1, "{}", waited.transcript());
    assert!(
        waited.stderr.contains(&format!(
            "waiting for the state lock on workload `{name}` held by"
        )) && waited
            .stderr
            .contains(&format!("the state is locked (workload `{name}`): "))
            && waited
                .stderr
                .contains(&format!("is running `apply` (pid {})", child.id()))
            && waited.stderr.contains("(waited 1s)"),
        "{}",
        waited.stderr
    );
    child.kill().expect("kill -9");
    child.wait().unwrap();
    // The server ends the session as soon as it sees the socket close, which can take
    // a moment on a loaded machine; no stale-lock takeover or unlock is involved.
    let killed = std::time::Instant::now();
    wait_for(
        "the locks to die with the session",
        Duration::from_secs(60),
        || store.current_locks().unwrap().is_empty(),
    );
    eprintln!("locks freed {:?} after kill -9", killed.elapsed());

    // The next apply runs at once (no --lock-timeout: it would fail on a held lock),
    // with nothing to take over or unlock, and converges.
    team.workload(&name, "1s", None);
    let next = team.run(&["apply", "--auto-approve", "-f", &file]);
    assert_eq!(next.code, 0, "{}", next.transcript());
    assert!(!next.stderr.contains("locked"), "{}", next.stderr);
    assert!(!next.stderr.contains("took over"), "{}", next.stderr);
    let db = team.pg_name(&format!("postgres.default#{name}.db"));
    assert_eq!(roles(&name), vec![db.clone()]);
    assert_eq!(databases(&name), vec![db]);
    let plan = team.run(&["plan", "--detailed-exitcode", "-f", &file]);
    assert_eq!(plan.code, 0, "{}", plan.transcript());
    let state = store.load().unwrap();
    assert_eq!(state.objects.len(), 5, "{:?}", state.objects.keys());
    assert!(state.intents.is_empty(), "{:?}", state.intents.keys());
    assert_eq!(team.run(&["destroy", "--auto-approve"]).code, 0);
    assert!(roles(&name).is_empty());
}

#[test]
fn secrets_are_sealed_in_the_postgres_rows_and_a_wrong_key_changes_nothing() {
    let team = Team::new();
    let name = unique("x");
    let file = team.workload(&name, "1ms", None);
    let key = team.run(&["state", "keygen"]).stdout.trim().to_string();
    let with_key = [("BATON_STATE_KEY", key.as_str())];
    let run = team.run_with(&["apply", "--auto-approve", "-f", &file], &with_key);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(!run.stderr.contains("stored in clear"), "{}", run.stderr);
    let out = team.run_with(
        &["output", "--json", "--show-sensitive", "-f", &file],
        &with_key,
    );
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let password = v[format!("postgres.default#{name}.db")]["password"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(password.len(), 24);
    let rows = team.raw_rows();
    assert!(rows.contains("$baton_sealed"), "{rows}");
    assert!(
        !rows.contains(&password),
        "a secret is in the state rows in clear"
    );

    // Without the key, or with another: a clear error, and not a row changes.
    let wrong = team.run(&["state", "keygen"]).stdout.trim().to_string();
    for env in [vec![], vec![("BATON_STATE_KEY", wrong.as_str())]] {
        let run = team.run_with(&["apply", "--auto-approve", "-f", &file], &env);
        assert_eq!(run.code, 1, "{}", run.transcript());
        assert!(
            run.stderr.contains("sealed with key") && run.stderr.contains("(environment `local`)"),
            "{}",
            run.stderr
        );
        assert_eq!(team.raw_rows(), rows, "nothing changed");
    }
    let run = team.run_with(&["destroy", "--auto-approve"], &with_key);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(roles(&name).is_empty());
}

/// Every row of a SQLite state that `state migrate` carries, as text.
fn sqlite_dump(path: &std::path::Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut out = Vec::new();
    for sql in [
        "SELECT key || '=' || value FROM meta ORDER BY key",
        "SELECT json_array(address, kind, provider, uid, module, attributes, sensitive, dependencies, status, updated_serial, lifecycle) FROM objects ORDER BY address",
        "SELECT json_array(serial, at, address, action, who, before, after) FROM history ORDER BY id",
        "SELECT json_array(address, action, kind, planned, started_at) FROM intents ORDER BY address",
    ] {
        let mut st = conn.prepare(sql).unwrap();
        out.extend(
            st.query_map([], |r| r.get::<_, String>(0))
                .unwrap()
                .map(Result::unwrap),
        );
    }
    out
}

#[test]
fn state_migrate_round_trips_sqlite_postgres_sqlite_identically() {
    let sb = Sandbox::new();
    sb.copy_from_repo("examples/hello");
    let db = PgDb::new();
    let key = sb.run(&["state", "keygen"]).stdout.trim().to_string();
    let run = |args: &[&str]| {
        let out = sb
            .command(args)
            .env("BATON_STATE_KEY", &key)
            .env("BATON_STATE_URL", db.url())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        crate::support::Run::of(out)
    };
    assert_eq!(run(&["apply", "--auto-approve"]).code, 0);
    // A second apply, so there is history beyond serial 1.
    sb.write(
        "web.score.yaml",
        &sb.read("web.score.yaml")
            .replace("path: /\n", "path: /v2\n"),
    );
    assert_eq!(run(&["apply", "--auto-approve"]).code, 0);
    let original = sqlite_dump(&sb.path().join(".baton/state.db"));
    assert!(
        original.iter().any(|r| r.contains("$baton_sealed")),
        "secrets are sealed"
    );
    let history = run(&["state", "history", "--changes"]).stdout;

    let to_pg = run(&["state", "migrate", "--to", &db.url()]);
    assert_eq!(to_pg.code, 0, "{}", to_pg.transcript());
    assert!(
        to_pg
            .stdout
            .contains("Verified: the two states are identical"),
        "{}",
        to_pg.stdout
    );
    assert!(
        to_pg.stdout.contains("both open to the same objects"),
        "{}",
        to_pg.stdout
    );

    // Use it: the same state, history and plan, now from PostgreSQL.
    sb.write(
        "baton.hcl",
        "environment \"local\" {\n  state {\n    postgres { url = env(\"BATON_STATE_URL\") }\n  }\n  modules = [\"./modules\"]\n}\n",
    );
    let plan = run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{}", plan.transcript());
    assert_eq!(run(&["state", "history", "--changes"]).stdout, history);

    // And back, into a new SQLite file: identical, row for row.
    let back = run(&["state", "migrate", "--to", "back.db"]);
    assert_eq!(back.code, 0, "{}", back.transcript());
    assert_eq!(sqlite_dump(&sb.path().join("back.db")), original);
    // A target that holds a state already is refused, and left alone.
    let again = run(&["state", "migrate", "--to", "back.db"]);
    assert_eq!(again.code, 1, "{}", again.transcript());
    assert!(
        again.stderr.contains("already holds a state"),
        "{}",
        again.stderr
    );
    assert_eq!(sqlite_dump(&sb.path().join("back.db")), original);
}

#[test]
fn a_bad_postgres_state_configuration_is_a_clear_error() {
    let team = Team::new();
    let name = unique("c");
    let file = team.workload(&name, "1ms", None);
    // No server there: named without the password, nothing else attempted.
    let run = team.run_with(
        &["apply", "--auto-approve", "-f", &file],
        &[(
            "BATON_STATE_URL",
            "postgres://ci:s3cret-pw@127.0.0.1:1/state",
        )],
    );
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr.contains(
            "state database postgres://ci@127.0.0.1:1/state (environment `local`): error connecting to server"
        ),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("s3cret-pw"), "{}", run.stderr);
    assert!(roles(&name).is_empty());
    // The variable unset: located in baton.hcl.
    let mut c = team.command(&["plan"]);
    c.env_remove("BATON_STATE_URL");
    let out = c.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the environment variable BATON_STATE_URL is not set")
            && stderr.contains("baton.hcl:3:"),
        "{stderr}"
    );
    // No url at all.
    team.sb.write(
        "baton.hcl",
        "environment \"local\" {\n  state {\n    postgres {}\n  }\n}\n",
    );
    let run = team.run(&["plan"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr.contains("`postgres` state needs a `url`")
            && run.stderr.contains("baton.hcl:3:5"),
        "{}",
        run.stderr
    );
}
