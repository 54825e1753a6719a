//! The property-based crash test: random Score projects, applied by a baton whose
//! providers fail at random (`BATON_CHAOS`) and that dies at a random point (an abort
//! right after a provider call returned, or a SIGKILL from outside), then a normal
//! apply. Whatever happened, the normal apply must succeed and leave exactly the desired
//! objects: in the state (no intent left, nothing tainted, a plan with no changes) and
//! on the real servers (PostgreSQL roles and databases, Redis ACL users, files), with
//! nothing lost, duplicated or orphaned. Each case then changes the project the same way
//! (deletes, updates, replaces), and destroys it the same way, leaving nothing behind.
//!
//! `PROPTEST_CASES=500` runs 500 cases (the default keeps CI quick).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError};

use crate::support::{Sandbox, redis, sh};

/// Cases when `PROPTEST_CASES` is not set.
const DEFAULT_CASES: u32 = 32;

// ---------------------------------------------------------------------------------
// The generated project

/// One resource request of a workload.
#[derive(Debug, Clone, PartialEq)]
enum Request {
    /// `postgres` (a password, a role, a database), the database name maybe set by a param.
    Postgres { database: Option<u8> },
    /// The project's shared `postgres` (`id`), one object set for every workload using it.
    SharedPostgres,
    /// `redis` (a password, an ACL user), maybe with a key prefix (an update when it changes).
    Redis { key_prefix: Option<u8> },
    /// `volume`: a directory.
    Volume,
    /// `dns`: outputs only.
    Dns,
    /// `service-port` of another workload: outputs only.
    Peer { workload: u8 },
    /// The project module `kv`: a `baton_data` and a file, reading an output of another
    /// resource of the workload (an edge); `version` forces replacement, `cbd` makes it
    /// create-before-destroy.
    Kv {
        upstream: Option<u8>,
        version: u8,
        cbd: bool,
    },
    /// The project module `acl`: a Redis user whose name carries `version`, so a new
    /// version replaces it by another user (create-before-destroy or not).
    Acl { version: u8, cbd: bool },
}

/// Names of the requests, in the order of [`request`]'s slots.
const SLOTS: [&str; 10] = [
    "db", "shared", "cache", "sessions", "data", "host", "peer", "kv", "kv2", "acl",
];

#[derive(Debug, Clone, PartialEq)]
struct Workload {
    /// Its number: the workload is `{prefix}-w{n}`.
    n: u8,
    /// Requests by slot name; each referenced from a container variable or not.
    requests: Vec<(&'static str, Request, bool)>,
}

#[derive(Debug, Clone, PartialEq)]
struct Project {
    workloads: Vec<Workload>,
}

/// One run of baton under faults.
#[derive(Debug, Clone)]
struct Storm {
    seed: u64,
    /// Percent of changing provider calls that fail.
    fail: u8,
    /// Abort right after this provider call returns.
    abort_after: Option<u8>,
    /// SIGKILL after this many milliseconds.
    kill_after_ms: Option<u16>,
    parallelism: u8,
}

#[derive(Debug, Clone)]
struct Case {
    first: Project,
    /// Whether `first` is applied normally (and checked) before `second` is written;
    /// if not, `second` meets whatever the faults left of `first` (interrupted creates
    /// of resources it no longer has, among others).
    converge_first: bool,
    second: Project,
    /// Runs under faults before the normal apply of `first`, of `second`, and before the
    /// normal destroy.
    storms: [Vec<Storm>; 3],
}

fn request(slot: usize) -> BoxedStrategy<Request> {
    match SLOTS[slot] {
        "db" => prop::option::of(0u8..2)
            .prop_map(|database| Request::Postgres { database })
            .boxed(),
        "shared" => Just(Request::SharedPostgres).boxed(),
        "cache" | "sessions" => prop::option::of(0u8..2)
            .prop_map(|key_prefix| Request::Redis { key_prefix })
            .boxed(),
        "data" => Just(Request::Volume).boxed(),
        "host" => Just(Request::Dns).boxed(),
        "acl" => (0u8..2, any::<bool>())
            .prop_map(|(version, cbd)| Request::Acl { version, cbd })
            .boxed(),
        "peer" => (0u8..4)
            .prop_map(|workload| Request::Peer { workload })
            .boxed(),
        // `kv` may read db, cache, data or host; `kv2` may also read `kv`.
        name => {
            let reads: u8 = if name == "kv" { 4 } else { 5 };
            (prop::option::of(0..reads), 0u8..2, any::<bool>())
                .prop_map(|(upstream, version, cbd)| Request::Kv {
                    upstream,
                    version,
                    cbd,
                })
                .boxed()
        }
    }
}

fn workload(n: u8) -> impl Strategy<Value = Workload> {
    let slots: Vec<BoxedStrategy<Option<(Request, bool)>>> = (0..SLOTS.len())
        .map(|s| prop::option::weighted(0.45, (request(s), any::<bool>())).boxed())
        .collect();
    slots.prop_map(move |chosen| Workload {
        n,
        requests: chosen
            .into_iter()
            .enumerate()
            .filter_map(|(s, r)| r.map(|(r, referenced)| (SLOTS[s], r, referenced)))
            .collect(),
    })
}

/// One to four workloads out of `w0`..`w3`.
fn project() -> impl Strategy<Value = Project> {
    (
        prop::sample::subsequence(vec![0u8, 1, 2, 3], 1..=4),
        prop::collection::vec(workload(0), 4),
    )
        .prop_map(|(which, mut all)| Project {
            workloads: which
                .into_iter()
                .map(|n| {
                    let mut w = std::mem::replace(
                        &mut all[n as usize],
                        Workload {
                            n,
                            requests: Vec::new(),
                        },
                    );
                    w.n = n;
                    w
                })
                .collect(),
        })
}

fn storm() -> impl Strategy<Value = Storm> {
    (
        any::<u64>(),
        prop_oneof![Just(0u8), 5u8..60],
        prop::option::weighted(0.5, 1u8..25),
        prop::option::weighted(0.3, 0u16..400),
        1u8..7,
    )
        .prop_map(
            |(seed, fail, abort_after, kill_after_ms, parallelism)| Storm {
                seed,
                fail,
                abort_after,
                kill_after_ms,
                parallelism,
            },
        )
}

fn storms() -> impl Strategy<Value = Vec<Storm>> {
    prop::collection::vec(storm(), 0..=2)
}

fn case() -> impl Strategy<Value = Case> {
    (
        project(),
        prop::bool::weighted(0.7),
        project(),
        storms(),
        storms(),
        storms(),
    )
        .prop_map(|(first, converge_first, second, a, b, c)| Case {
            first,
            converge_first,
            second,
            storms: [a, b, c],
        })
}

// ---------------------------------------------------------------------------------
// Writing the project, and what it should make

/// A module of the project: data and a file reading another resource's output.
const KV_MODULE: &str = r##"
provisions "kv" {}
param "upstream" {
  type    = string
  default = ""
}
param "version" {
  type    = number
  default = 0
}
param "cbd" {
  type    = bool
  default = false
}
resource "baton_data" "v" {
  input            = "${score.uid} ${param.upstream}"
  triggers_replace = param.version
  lifecycle {
    create_before_destroy = param.cbd
  }
}
resource "local_file" "f" {
  path    = ".baton/kv/${replace(score.uid, "#", "--")}-v${param.version}.txt"
  content = baton_data.v.output
  lifecycle {
    create_before_destroy = param.cbd
  }
}
output "value" {
  value = local_file.f.path
}
"##;

/// A module of the project: a Redis user renamed by `version`.
const ACL_MODULE: &str = r##"
provisions "acl" {}
param "version" {
  type    = number
  default = 0
}
param "cbd" {
  type    = bool
  default = false
}
resource "random_password" "p" {
  length  = 20
  special = false
}
resource "redis_acl_user" "u" {
  username  = "${score.workload}-${score.resource}-v${param.version}"
  passwords = [random_password.p.result]
  keys      = ["acl:*"]
  lifecycle {
    create_before_destroy = param.cbd
  }
}
output "username" {
  value = redis_acl_user.u.username
}
output "password" {
  value     = random_password.p.result
  sensitive = true
}
"##;

/// The outputs a request publishes, one used when it is referenced.
fn output_of(r: &Request) -> &'static str {
    match r {
        Request::Postgres { .. } | Request::SharedPostgres => "database",
        Request::Redis { .. } => "username",
        Request::Volume => "source",
        Request::Dns => "host",
        Request::Peer { .. } => "hostname",
        Request::Kv { .. } => "value",
        Request::Acl { .. } => "username",
    }
}

struct Names {
    prefix: String,
}

impl Names {
    fn workload(&self, n: u8) -> String {
        format!("{}-w{n}", self.prefix)
    }
    fn shared_id(&self) -> String {
        format!("{}-s", self.prefix)
    }
    fn database_param(&self, n: u8, v: u8) -> String {
        format!("{}_w{n}_d{v}", self.prefix)
    }
}

fn score_file(names: &Names, w: &Workload, present: &[u8]) -> String {
    let mut vars = String::new();
    let mut res = String::new();
    for (slot, r, referenced) in &w.requests {
        if *referenced {
            let _ = writeln!(
                vars,
                "      {}: ${{resources.{slot}.{}}}",
                slot.to_uppercase(),
                output_of(r)
            );
        }
        let _ = writeln!(res, "  {slot}:");
        match r {
            Request::Postgres { database } => {
                res.push_str("    type: postgres\n");
                if let Some(v) = database {
                    let _ = writeln!(
                        res,
                        "    params:\n      database: {}",
                        names.database_param(w.n, *v)
                    );
                }
            }
            Request::SharedPostgres => {
                let _ = writeln!(res, "    type: postgres\n    id: {}", names.shared_id());
            }
            Request::Redis { key_prefix } => {
                res.push_str("    type: redis\n");
                if let Some(k) = key_prefix {
                    let _ = writeln!(res, "    params:\n      key_prefix: \"k{k}:\"");
                }
            }
            Request::Volume => res.push_str("    type: volume\n"),
            Request::Dns => res.push_str("    type: dns\n"),
            Request::Peer { workload } => {
                let _ = writeln!(
                    res,
                    "    type: service-port\n    params:\n      workload: {}\n      port: web",
                    // A workload of the project: the module checks that it publishes the port.
                    names.workload(present[*workload as usize % present.len()])
                );
            }
            Request::Acl { version, cbd } => {
                let _ = writeln!(
                    res,
                    "    type: acl\n    params:\n      version: {version}\n      cbd: {cbd}"
                );
            }
            Request::Kv {
                upstream,
                version,
                cbd,
            } => {
                let _ = writeln!(
                    res,
                    "    type: kv\n    params:\n      version: {version}\n      cbd: {cbd}"
                );
                // Read an output of another request of this workload, if it has it.
                let reads = ["db", "cache", "data", "host", "kv"];
                if let Some(u) = upstream
                    && let Some((s, ur, _)) =
                        w.requests.iter().find(|(s, _, _)| *s == reads[*u as usize])
                {
                    let _ = writeln!(res, "      upstream: ${{resources.{s}.{}}}", output_of(ur));
                }
            }
        }
    }
    let mut text = format!(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: {}\nservice:\n  ports:\n    web: {{port: 8080}}\ncontainers:\n  main:\n    image: busybox\n",
        names.workload(w.n)
    );
    if !vars.is_empty() {
        text.push_str("    variables:\n");
        text.push_str(&vars);
    }
    if !res.is_empty() {
        text.push_str("resources:\n");
        text.push_str(&res);
    }
    text
}

/// Writes the project's Score files (removing those of workloads it no longer has).
fn write_project(sb: &Sandbox, names: &Names, p: &Project) {
    for n in 0..4u8 {
        let _ = std::fs::remove_file(sb.path().join(format!("w{n}.score.yaml")));
    }
    let present: Vec<u8> = p.workloads.iter().map(|w| w.n).collect();
    for w in &p.workloads {
        sb.write(
            &format!("w{}.score.yaml", w.n),
            &score_file(names, w, &present),
        );
    }
}

/// What the project should make, worked out independently of baton.
#[derive(Debug, Default, PartialEq)]
struct Expected {
    addresses: BTreeSet<String>,
    roles: BTreeSet<String>,
    databases: BTreeSet<String>,
    redis_users: BTreeSet<String>,
    kv_files: BTreeSet<String>,
    volumes: BTreeSet<String>,
    manifests: BTreeSet<String>,
}

fn expected(names: &Names, p: &Project, sb: &Sandbox) -> Expected {
    let lineage = sb.lineage(".baton/state.db");
    let name =
        |uid: &str, sep: &str, max: usize| crate::support::physical_name(&lineage, uid, sep, max);
    let mut e = Expected::default();
    for w in &p.workloads {
        let wn = names.workload(w.n);
        e.addresses.insert(format!("workload.{wn}"));
        e.manifests.insert(format!("{wn}.yaml"));
        for (slot, r, _) in &w.requests {
            let uid = match r {
                Request::SharedPostgres => format!("postgres.default#{}", names.shared_id()),
                Request::Postgres { .. } => format!("postgres.default#{wn}.{slot}"),
                Request::Redis { .. } => format!("redis.default#{wn}.{slot}"),
                Request::Volume => format!("volume.default#{wn}.{slot}"),
                Request::Kv { .. } => format!("kv.default#{wn}.{slot}"),
                Request::Acl { .. } => format!("acl.default#{wn}.{slot}"),
                Request::Dns | Request::Peer { .. } => continue,
            };
            let kinds: &[&str] = match r {
                Request::Postgres { .. } | Request::SharedPostgres => &[
                    "random_password.password",
                    "postgres_role.owner",
                    "postgres_database.db",
                ],
                Request::Redis { .. } => &["random_password.password", "redis_acl_user.user"],
                Request::Volume => &["local_directory.data"],
                Request::Kv { .. } => &["baton_data.v", "local_file.f"],
                Request::Acl { .. } => &["random_password.p", "redis_acl_user.u"],
                Request::Dns | Request::Peer { .. } => &[],
            };
            for k in kinds {
                e.addresses.insert(format!("{uid}/{k}"));
            }
            match r {
                Request::Postgres { database } => {
                    let role = name(&uid, "_", 63);
                    // A database keeps the name it has when its `database` param is
                    // removed (a name is decided when the object is made): one that a
                    // param named before may stay, if the state records it so.
                    let kept =
                        recorded_attribute(sb, &format!("{uid}/postgres_database.db"), "name")
                            .filter(|n| (0..=u8::MAX).any(|v| *n == names.database_param(w.n, v)));
                    e.databases.insert(match database {
                        Some(v) => names.database_param(w.n, *v),
                        None => kept.unwrap_or_else(|| role.clone()),
                    });
                    e.roles.insert(role);
                }
                Request::SharedPostgres => {
                    let role = name(&uid, "_", 63);
                    e.databases.insert(role.clone());
                    e.roles.insert(role);
                }
                Request::Redis { .. } => {
                    e.redis_users.insert(name(&uid, "-", 100));
                }
                Request::Volume => {
                    e.volumes.insert(name(&uid, "-", 100));
                }
                Request::Acl { version, .. } => {
                    e.redis_users.insert(format!("{wn}-{slot}-v{version}"));
                }
                Request::Kv { version, .. } => {
                    e.kv_files
                        .insert(format!("kv.default--{wn}.{slot}-v{version}.txt"));
                }
                Request::Dns | Request::Peer { .. } => {}
            }
        }
    }
    e
}

// ---------------------------------------------------------------------------------
// Looking at the real world

fn psql_set(sql: &str) -> BTreeSet<String> {
    sh(
        "psql",
        &["-h", "127.0.0.1", "-U", "postgres", "-At", "-c", sql],
    )
    .lines()
    .map(str::to_string)
    .filter(|l| !l.is_empty())
    .collect()
}

fn files(sb: &Sandbox, dir: &str) -> BTreeSet<String> {
    match std::fs::read_dir(sb.path().join(dir)) {
        Ok(rd) => rd
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => BTreeSet::new(),
    }
}

/// What exists now, on the servers and on disk, with the case's prefix.
fn observed(sb: &Sandbox, prefix: &str) -> Expected {
    Expected {
        addresses: BTreeSet::new(),
        roles: psql_set(&format!(
            "SELECT rolname FROM pg_roles WHERE rolname LIKE '%{prefix}%'"
        )),
        databases: psql_set(&format!(
            "SELECT datname FROM pg_database WHERE datname LIKE '%{prefix}%'"
        )),
        redis_users: redis(&["ACL", "USERS"])
            .lines()
            .filter(|u| u.contains(prefix))
            .map(str::to_string)
            .collect(),
        kv_files: files(sb, ".baton/kv"),
        volumes: files(sb, ".baton/volumes"),
        manifests: files(sb, "deploy/local")
            .into_iter()
            .filter(|f| !f.ends_with(".secrets.yaml"))
            .collect(),
    }
}

/// The state, read straight from its database.
struct Recorded {
    addresses: BTreeSet<String>,
    intents: Vec<String>,
    tainted: Vec<String>,
}

fn recorded(sb: &Sandbox) -> Recorded {
    let path = sb.path().join(".baton/state.db");
    let conn =
        rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let list = |sql: &str| -> Vec<String> {
        let mut st = conn.prepare(sql).unwrap();
        st.query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    Recorded {
        addresses: list("SELECT address FROM objects").into_iter().collect(),
        intents: list("SELECT action || ' ' || address FROM intents"),
        tainted: list("SELECT address FROM objects WHERE status <> 'ok'"),
    }
}

/// The attribute `key` of the object recorded at `address` (a string), if any.
fn recorded_attribute(sb: &Sandbox, address: &str, key: &str) -> Option<String> {
    let path = sb.path().join(".baton/state.db");
    let conn =
        rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let attrs: Option<String> = conn
        .query_row(
            "SELECT attributes FROM objects WHERE address = ?1",
            [address],
            |r| r.get(0),
        )
        .ok();
    let attrs: serde_json::Value = serde_json::from_str(&attrs?).ok()?;
    attrs[key].as_str().map(str::to_string)
}

/// Removes whatever a failed case left on the servers.
struct Cleanup(String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        let p = &self.0;
        for db in psql_set(&format!(
            "SELECT datname FROM pg_database WHERE datname LIKE '%{p}%'"
        )) {
            let _ = Command::new("psql")
                .args(["-h", "127.0.0.1", "-U", "postgres", "-c"])
                .arg(format!("DROP DATABASE IF EXISTS \"{db}\""))
                .output();
        }
        for role in psql_set(&format!(
            "SELECT rolname FROM pg_roles WHERE rolname LIKE '%{p}%'"
        )) {
            let _ = Command::new("psql")
                .args(["-h", "127.0.0.1", "-U", "postgres", "-c"])
                .arg(format!("DROP ROLE IF EXISTS \"{role}\""))
                .output();
        }
        for user in redis(&["ACL", "USERS"]).lines().filter(|u| u.contains(p)) {
            let _ = redis(&["ACL", "DELUSER", user]);
        }
    }
}

// ---------------------------------------------------------------------------------
// Running

/// Runs baton under `storm`; it may fail or die, but never panic.
fn run_storm(sb: &Sandbox, args: &[&str], storm: &Storm, log: &mut String) {
    let chaos = format!(
        "seed={},fail={},{}",
        storm.seed,
        f64::from(storm.fail) / 100.0,
        storm
            .abort_after
            .map(|k| format!("abort_after={k}"))
            .unwrap_or_default()
    );
    let parallelism = storm.parallelism.to_string();
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--auto-approve", "--parallelism", &parallelism]);
    let mut cmd = sb.command(&all);
    cmd.env("BATON_CHAOS", &chaos);
    let out = finish(
        cmd,
        storm
            .kill_after_ms
            .map(|ms| Duration::from_millis(ms.into())),
    );
    let (stdout, stderr) = (&out.stdout, &out.stderr);
    let _ = writeln!(
        log,
        "--- {args:?} BATON_CHAOS={chaos} kill={:?}: {:?}\n{stdout}{stderr}",
        storm.kill_after_ms, out.status
    );
    assert!(!out.hung, "baton hung under faults:\n{log}");
    use std::os::unix::process::ExitStatusExt;
    let killed = matches!(out.status.signal(), Some(6 | 9));
    STATS.count(&out.status, stdout, stderr);
    assert!(
        killed || matches!(out.status.code(), Some(0 | 1)),
        "baton ended with {:?} under faults:\n{log}",
        out.status
    );
    for bad in ["panicked", "internal error"] {
        assert!(!stderr.contains(bad), "`{bad}` under faults:\n{log}");
    }
}

/// A normal run that must succeed.
fn run_clean(sb: &Sandbox, args: &[&str], log: &mut String) {
    let out = finish(sb.command(args), None);
    let _ = writeln!(
        log,
        "--- {args:?} (no faults): {:?}\n{}{}",
        out.status, out.stdout, out.stderr
    );
    assert!(!out.hung, "a normal run hung:\n{log}");
    assert_eq!(
        out.status.code(),
        Some(0),
        "a normal run after faults failed:\n{log}"
    );
}

/// How a run ended.
struct Finished {
    status: std::process::ExitStatus,
    stdout: String,
    stderr: String,
    /// Killed because it ran past [`DEADLINE`].
    hung: bool,
}

/// Longer than any run of a case takes: past it, baton is stuck.
const DEADLINE: Duration = Duration::from_secs(120);

/// Runs `cmd` to its end, SIGKILLing it after `kill_after` if given (or at the
/// deadline), reading its output meanwhile so a full pipe never blocks it.
fn finish(mut cmd: Command, kill_after: Option<Duration>) -> Finished {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start baton");
    let read = |mut pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let stdout = read(Box::new(child.stdout.take().unwrap()));
    let stderr = read(Box::new(child.stderr.take().unwrap()));
    let started = Instant::now();
    let mut hung = false;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for baton") {
            break status;
        }
        let elapsed = started.elapsed();
        if kill_after.is_some_and(|k| elapsed >= k) || elapsed >= DEADLINE {
            hung = elapsed >= DEADLINE;
            let _ = child.kill();
            break child.wait().expect("reap baton");
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    Finished {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
        hung,
    }
}

/// The state, the servers and the disk hold exactly what `want` says.
fn check(sb: &Sandbox, names: &Names, want: &Expected, log: &str) {
    let state = recorded(sb);
    assert!(
        state.intents.is_empty(),
        "intents left: {:?}\n{log}",
        state.intents
    );
    assert!(
        state.tainted.is_empty(),
        "tainted: {:?}\n{log}",
        state.tainted
    );
    assert_eq!(state.addresses, want.addresses, "state\n{log}");
    let got = observed(sb, &names.prefix);
    assert_eq!(got.roles, want.roles, "PostgreSQL roles\n{log}");
    assert_eq!(got.databases, want.databases, "PostgreSQL databases\n{log}");
    assert_eq!(got.redis_users, want.redis_users, "Redis ACL users\n{log}");
    assert_eq!(got.kv_files, want.kv_files, "kv files\n{log}");
    assert_eq!(got.volumes, want.volumes, "volumes\n{log}");
    assert_eq!(got.manifests, want.manifests, "manifests\n{log}");
    if !want.addresses.is_empty() {
        let plan = sb.run(&["plan", "--detailed-exitcode"]);
        assert_eq!(
            plan.code,
            0,
            "a plan after convergence:\n{}\n{log}",
            plan.transcript()
        );
        check_redis_credentials(sb, log);
    }
}

/// Every Redis user accepts the password baton hands to its workload.
fn check_redis_credentials(sb: &Sandbox, log: &str) {
    let out = sb.run(&["output", "--json", "--show-sensitive"]);
    assert_eq!(out.code, 0, "{}", out.transcript());
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    for (uid, outputs) in v.as_object().unwrap() {
        if !uid.starts_with("redis.") && !uid.starts_with("acl.") {
            continue;
        }
        let user = outputs["username"].as_str().unwrap();
        let password = outputs["password"].as_str().unwrap();
        let reply = redis(&[
            "--user",
            user,
            "--pass",
            password,
            "--no-auth-warning",
            "PING",
        ]);
        assert_eq!(reply.trim(), "PONG", "{uid}: {reply}\n{log}");
    }
}

static CASE: AtomicU32 = AtomicU32::new(0);

/// What the runs under faults went through, for the summary line.
struct Stats {
    runs: AtomicU32,
    aborted: AtomicU32,
    killed: AtomicU32,
    failed_before: AtomicU32,
    failed_after: AtomicU32,
    adopted: AtomicU32,
}

static STATS: Stats = Stats {
    runs: AtomicU32::new(0),
    aborted: AtomicU32::new(0),
    killed: AtomicU32::new(0),
    failed_before: AtomicU32::new(0),
    failed_after: AtomicU32::new(0),
    adopted: AtomicU32::new(0),
};

impl Stats {
    fn count(&self, status: &std::process::ExitStatus, stdout: &str, stderr: &str) {
        use std::os::unix::process::ExitStatusExt;
        let add = |c: &AtomicU32, n: usize| {
            c.fetch_add(n as u32, Ordering::Relaxed);
        };
        add(&self.runs, 1);
        add(&self.aborted, usize::from(status.signal() == Some(6)));
        add(&self.killed, usize::from(status.signal() == Some(9)));
        // Each failure is reported on stdout (progress) and stderr (summary).
        add(
            &self.failed_before,
            stderr.matches("injected failure before").count(),
        );
        add(
            &self.failed_after,
            stderr.matches("injected failure after").count(),
        );
        add(
            &self.adopted,
            stdout.matches("(an earlier create did not finish)").count(),
        );
    }

    fn summary(&self) -> String {
        let n = |c: &AtomicU32| c.load(Ordering::Relaxed);
        format!(
            "{} runs under faults: {} aborted after a provider call, {} killed, {} calls failed before and {} after reaching the provider; {} objects of interrupted creates planned for replacement",
            n(&self.runs),
            n(&self.aborted),
            n(&self.killed),
            n(&self.failed_before),
            n(&self.failed_after),
            n(&self.adopted)
        )
    }
}

fn run_case(case: &Case) -> Result<(), TestCaseError> {
    let n = CASE.fetch_add(1, Ordering::SeqCst);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let names = Names {
        prefix: format!(
            "cx{:06x}",
            (t ^ (u64::from(std::process::id()) << 24) ^ u64::from(n).wrapping_mul(0x9e37_79b9))
                & 0xff_ffff
        ),
    };
    let _cleanup = Cleanup(names.prefix.clone());
    let sb = Sandbox::new();
    sb.write("modules/kv.hcl", KV_MODULE);
    sb.write("modules/acl.hcl", ACL_MODULE);
    let mut log = format!("case: {case:#?}\nprefix: {}\n", names.prefix);

    let phases = [
        (&case.first, &case.storms[0], case.converge_first),
        (&case.second, &case.storms[1], true),
    ];
    for (project, storms, converge) in phases {
        write_project(&sb, &names, project);
        for s in storms {
            run_storm(&sb, &["apply"], s, &mut log);
        }
        if converge {
            run_clean(&sb, &["apply", "--auto-approve"], &mut log);
            check(&sb, &names, &expected(&names, project, &sb), &log);
        }
    }
    for s in &case.storms[2] {
        run_storm(&sb, &["destroy"], s, &mut log);
    }
    run_clean(&sb, &["destroy", "--auto-approve"], &mut log);
    check(&sb, &names, &Expected::default(), &log);
    Ok(())
}

/// The fewest cases the test runs: enough that aborts, kills and injected failures all
/// happen (it asserts they did), however the cases are drawn.
const MIN_CASES: u32 = 24;

fn config() -> Config {
    let cases = match std::env::var("PROPTEST_CASES") {
        Err(_) => DEFAULT_CASES,
        Ok(s) => match s.trim().parse::<u32>() {
            Ok(n) if n >= MIN_CASES => n,
            _ => panic!(
                "PROPTEST_CASES={s:?}: the crash test needs a number of at least {MIN_CASES} cases (it asserts that aborts, kills and injected failures happened)"
            ),
        },
    };
    Config {
        cases,
        // Cases are slow (real processes and servers): shrink a little, not for hours.
        max_shrink_iters: 32,
        ..Config::default()
    }
}

#[test]
fn faults_and_kills_never_lose_duplicate_or_orphan_an_object() {
    let started = Instant::now();
    let mut runner = proptest::test_runner::TestRunner::new(config());
    let result = runner.run(&case(), |c| run_case(&c));
    eprintln!(
        "chaos: {} cases in {:.1?}; {}",
        CASE.load(Ordering::SeqCst),
        started.elapsed(),
        STATS.summary()
    );
    // The reason ends with the output of the run that failed: printed last, it stays
    // in view where a CI log keeps only the head and the tail of a long failure.
    match result {
        Ok(()) => {}
        Err(TestError::Fail(reason, minimal)) => {
            panic!("minimal failing input: {minimal:#?}\n{reason}")
        }
        Err(e) => panic!("{e}"),
    }
    // The faults really happened: a run of cases in which baton was never aborted, never
    // killed or never failed a call proves nothing about crashes.
    let n = |c: &AtomicU32| c.load(Ordering::Relaxed);
    for (what, count) in [
        ("runs under faults", n(&STATS.runs)),
        ("aborts right after a provider call", n(&STATS.aborted)),
        ("SIGKILLs from outside", n(&STATS.killed)),
        (
            "calls failed before reaching the provider",
            n(&STATS.failed_before),
        ),
        (
            "calls failed after the provider acted",
            n(&STATS.failed_after),
        ),
    ] {
        assert!(
            count > 0,
            "no {what} in {} cases: {}",
            CASE.load(Ordering::SeqCst),
            STATS.summary()
        );
    }
}
