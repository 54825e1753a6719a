//! The state-store conformance suite: every property is one test body run against both
//! backends — a SQLite file and a database of its own on the real PostgreSQL server —
//! through the library's `Store`: lineage fixed, serial bumped only by a real change and
//! atomically under concurrent runs, history complete and redacted, versions per
//! object, secrets sealed, two clients contending for locks, a lock dying with its
//! process (a real `baton apply` killed with SIGKILL), dump/restore, and the runs queue
//! (each run claimed by one of four clients at once, lapsed runs abandoned).

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

use baton::state::crypto::StateKey;
use baton::state::{
    Intent, LockRequest, Object, PostgresStore, Record, SqliteStore, StateError, Store,
};
use baton::value::Value;

use crate::support::{PgDb, Sandbox, wait_for};

/// Where a store under test lives.
enum Backend {
    Sqlite(tempfile::TempDir),
    Postgres(PgDb),
}

impl Backend {
    /// One of each.
    fn all() -> Vec<Backend> {
        vec![
            Backend::Sqlite(tempfile::tempdir().unwrap()),
            Backend::Postgres(PgDb::new()),
        ]
    }

    fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// A new client of environment `local`.
    fn open(&self) -> Store {
        self.open_env("local")
    }

    fn open_env(&self, env: &str) -> Store {
        match self {
            Backend::Sqlite(dir) => {
                Store::Sqlite(SqliteStore::open(&dir.path().join("state.db")).unwrap())
            }
            Backend::Postgres(db) => Store::Postgres(PostgresStore::open(&db.url(), env).unwrap()),
        }
    }

    /// The `state` block of a baton.hcl using this store.
    fn state_block(&self) -> String {
        match self {
            Backend::Sqlite(dir) => format!(
                "state {{\n    sqlite {{ path = \"{}\" }}\n  }}",
                dir.path().join("state.db").display()
            ),
            Backend::Postgres(db) => {
                format!("state {{\n    postgres {{ url = \"{}\" }}\n  }}", db.url())
            }
        }
    }
}

fn object(address: &str, secret: &str) -> Object {
    Object {
        address: address.into(),
        kind: "random_password".into(),
        provider: "random".into(),
        uid: "secret.default#web.s".into(),
        module: "secret".into(),
        attributes: std::sync::Arc::new(baton::value::Map::from([
            ("length".into(), Value::int(8)),
            ("result".into(), Value::string(secret)),
        ])),
        sensitive: vec!["result".into()],
        dependencies: vec![],
        tainted: false,
        protected: false,
        triggers: None,
        proven: false,
    }
}

fn put(store: &mut Store, address: &str, secret: &str, bump: bool) -> u64 {
    store
        .record(&Record::Put(object(address, secret)), "create", bump)
        .unwrap()
}

#[test]
fn lineage_is_fixed_and_the_serial_moves_only_with_a_real_change() {
    for b in Backend::all() {
        let n = b.name();
        let mut s = b.open();
        let lineage = s.lineage().unwrap();
        assert_eq!(lineage.len(), 36, "{n}");
        assert_eq!(s.serial().unwrap(), 0, "{n}: a new state");
        // Reading, locking and unlocking change nothing.
        s.load().unwrap();
        let (lock, _) = s.lock(&LockRequest::environment("plan")).unwrap();
        assert!(s.unlock(&lock.id).unwrap(), "{n}");
        assert_eq!(s.serial().unwrap(), 0, "{n}: no change, no bump");
        assert_eq!(put(&mut s, "a", "pw1", true), 1, "{n}");
        assert_eq!(
            put(&mut s, "b", "pw2", false),
            1,
            "{n}: same run, same serial"
        );
        drop(s);
        let mut s = b.open();
        assert_eq!(
            s.lineage().unwrap(),
            lineage,
            "{n}: lineage survives reopening"
        );
        let st = s.load().unwrap();
        assert_eq!(st.serial, 1, "{n}");
        assert_eq!(
            st.objects["a"].attributes["result"],
            Value::string("pw1"),
            "{n}"
        );
        assert!(
            st.objects["a"].marked_attributes()["result"].is_sensitive(),
            "{n}"
        );
        assert_eq!(
            st.versions,
            BTreeMap::from([("a".into(), 1), ("b".into(), 1)]),
            "{n}"
        );
        // The next run bumps once, and its objects carry the new version.
        assert_eq!(put(&mut s, "b", "pw3", true), 2, "{n}");
        let st = s.load().unwrap();
        assert_eq!(
            st.versions,
            BTreeMap::from([("a".into(), 1), ("b".into(), 2)]),
            "{n}"
        );
        assert_eq!(st.lineage, lineage, "{n}");
    }
}

fn intent(address: &str) -> Intent {
    Intent {
        address: address.into(),
        action: "create".into(),
        kind: "random_password".into(),
        planned: baton::value::Map::from([("length".into(), Value::int(8))]),
        started_at: "2026-11-25T00:00:00Z".into(),
    }
}

/// Apply's one commit per wave: the changes that finished (their intents cleared) and the
/// intents of the calls they release land together; intents alone move no serial.
#[test]
fn a_wave_commits_its_records_and_the_next_intents_together() {
    for b in Backend::all() {
        let n = b.name();
        let mut s = b.open();
        s.begin_intents(&[intent("a"), intent("b")]).unwrap();
        let done = [
            (Record::Put(object("a", "pw1")), "create"),
            (Record::Put(object("b", "pw2")), "create"),
        ];
        let batch: Vec<(&Record, &str)> = done.iter().map(|(r, a)| (r, *a)).collect();
        let serial = s
            .record_and_begin(&batch, true, &[intent("c"), intent("d")])
            .unwrap();
        assert_eq!(serial, 1, "{n}");
        let st = b.open().load().unwrap();
        assert_eq!(
            st.objects.keys().collect::<Vec<_>>(),
            ["a", "b"],
            "{n}: the finished changes are recorded"
        );
        assert_eq!(
            st.intents.keys().collect::<Vec<_>>(),
            ["c", "d"],
            "{n}: finished intents cleared, the next ones recorded"
        );
        assert_eq!(st.intents["c"].planned["length"], Value::int(8), "{n}");
        assert_eq!(st.serial, 1, "{n}");
        // Intents alone (the first wave of a run) record no change and move no serial.
        s.record_and_begin(&[], false, &[intent("e")]).unwrap();
        let st = b.open().load().unwrap();
        assert_eq!(st.serial, 1, "{n}");
        assert_eq!(st.intents.len(), 3, "{n}");
        assert_eq!(
            s.history().unwrap().len(),
            2,
            "{n}: one history row per change"
        );
    }
}

#[test]
fn history_is_complete_and_redacted() {
    for b in Backend::all() {
        let n = b.name();
        let mut s = b.open();
        put(&mut s, "a", "hunter2", true);
        s.record(&Record::Put(object("a", "hunter3")), "update", false)
            .unwrap();
        let mut s2 = b.open();
        s2.record(&Record::Remove("a".into()), "delete", true)
            .unwrap();
        let h = s.history().unwrap();
        let rows: Vec<(u64, &str, &str)> = h
            .iter()
            .map(|e| (e.serial, e.address.as_str(), e.action.as_str()))
            .collect();
        assert_eq!(
            rows,
            vec![(1, "a", "create"), (1, "a", "update"), (2, "a", "delete")],
            "{n}"
        );
        assert!(h[0].before.is_none(), "{n}");
        assert_eq!(h[0].after.as_ref().unwrap()["result"], "(sensitive)", "{n}");
        assert_eq!(h[1].before.as_ref().unwrap()["length"], 8, "{n}");
        assert!(h[2].after.is_none(), "{n}");
        assert!(
            !h.iter().any(|e| e.who.is_empty() || e.at.is_empty()),
            "{n}"
        );
        assert!(!format!("{h:?}").contains("hunter"), "{n}: {h:?}");
    }
}

#[test]
fn deployments_are_kept_per_serial_with_their_texts() {
    use baton::state::deployment::{Blob, Deployment};
    for b in Backend::all() {
        let n = b.name();
        let mut s = b.open();
        assert_eq!(s.deployment_serials().unwrap(), Vec::<u64>::new(), "{n}");
        let text = Blob::of("apiVersion: score.dev/v1b1\n");
        let d = |serial| Deployment {
            serial,
            at: "2026-12-06T00:00:00Z".into(),
            who: "dev@host".into(),
            environment: "local".into(),
            score: [("score.yaml".to_string(), text.digest.clone())].into(),
            modules: Default::default(),
            settings: Default::default(),
        };
        s.put_deployment(&d(3), &[text.clone()]).unwrap();
        s.put_deployment(&d(1), &[text.clone()]).unwrap();
        assert_eq!(s.deployment_serials().unwrap(), [1, 3], "{n}");
        assert_eq!(s.deployment(3).unwrap(), Some(d(3)), "{n}");
        assert_eq!(s.deployment(2).unwrap(), None, "{n}");
        assert_eq!(s.blob(&text.digest).unwrap(), Some(text.clone()), "{n}");
        // Another environment of the same database sees none of them.
        if n == "postgres" {
            assert!(b.open_env("other").deployment_serials().unwrap().is_empty());
        }
    }
}

#[test]
fn concurrent_runs_get_their_own_serials_and_lose_nothing() {
    const RUNS: usize = 8;
    const EACH: usize = 5;
    for b in Backend::all() {
        let n = b.name();
        b.open(); // created and migrated before the race
        let serials: Vec<u64> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..RUNS)
                .map(|r| {
                    let b = &b;
                    scope.spawn(move || {
                        let mut s = b.open();
                        let mut mine = Vec::new();
                        for i in 0..EACH {
                            mine.push(put(&mut s, &format!("w{r}/o{i}"), "x", i == 0));
                        }
                        // Every change of a run is recorded under the serial its first
                        // change took, whatever the other runs did meanwhile.
                        assert!(mine.iter().all(|x| *x == mine[0]), "{n}: {mine:?}");
                        mine[0]
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut sorted = serials.clone();
        sorted.sort();
        assert_eq!(
            sorted,
            (1..=RUNS as u64).collect::<Vec<_>>(),
            "{n}: one serial per run"
        );
        let s = b.open();
        let st = s.load().unwrap();
        assert_eq!(st.serial, RUNS as u64, "{n}");
        assert_eq!(st.objects.len(), RUNS * EACH, "{n}: nothing lost");
        let history = s.history().unwrap();
        assert_eq!(
            history.len(),
            RUNS * EACH,
            "{n}: one history row per change"
        );
        for (r, serial) in serials.iter().enumerate() {
            for i in 0..EACH {
                assert_eq!(st.versions[&format!("w{r}/o{i}")], *serial, "{n}");
            }
        }
    }
}

#[test]
fn two_clients_contend_for_locks_by_scope() {
    let scoped = |op: &str, workloads: &[&str], resources: &[&str]| {
        LockRequest::scoped(
            op,
            workloads.iter().map(|w| w.to_string()),
            resources.iter().map(|r| r.to_string()),
        )
    };
    for b in Backend::all() {
        let n = b.name();
        let mut a = b.open();
        let mut c = b.open();
        let (held, stale) = a
            .lock(&scoped("apply", &["web"], &["postgres.default#shared"]))
            .unwrap();
        assert!(stale.is_none(), "{n}");
        // Another workload: at the same time.
        let (other, _) = c.lock(&scoped("apply", &["api"], &[])).unwrap();
        // The same workload, the same shared resource, or the whole environment: refused,
        // naming the holder and what it holds.
        for (request, scope) in [
            (scoped("apply", &["web"], &[]), "workload:web"),
            (
                scoped("apply", &["worker"], &["postgres.default#shared"]),
                "resource:postgres.default#shared",
            ),
        ] {
            match c.lock(&request) {
                Err(StateError::Locked(info)) => {
                    assert_eq!(info.id, held.id, "{n}");
                    assert_eq!(info.scope, scope, "{n}");
                    assert_eq!(info.pid, std::process::id(), "{n}");
                    assert_eq!(info.operation, "apply", "{n}");
                    assert_eq!(info.holder, held.holder, "{n}");
                }
                other => panic!("{n}: expected Locked, got {other:?}"),
            }
        }
        let mut d = b.open();
        match d.lock(&LockRequest::environment("destroy")) {
            Err(StateError::Locked(info)) => assert_eq!(info.scope, "env", "{n}"),
            other => panic!("{n}: expected Locked, got {other:?}"),
        }
        // A refused request holds nothing: `worker` is still free.
        let (w, _) = d.lock(&scoped("apply", &["worker"], &[])).unwrap();
        let locks = a.current_locks().unwrap();
        let mut ids: Vec<&str> = locks.iter().map(|l| l.id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 3, "{n}: {locks:?}");
        assert!(a.unlock(&held.id).unwrap(), "{n}");
        let (web, _) = c
            .lock(&scoped("apply", &["web"], &[]))
            .unwrap_or_else(|e| panic!("{n}: free once released: {e}"));
        assert!(c.unlock(&web.id).unwrap(), "{n}");
        assert!(c.unlock(&other.id).unwrap(), "{n}");
        assert!(d.unlock(&w.id).unwrap(), "{n}");
        // `state unlock` of another client's lock: SQLite releases it (its rows are all
        // there is); PostgreSQL refuses while the holder's session lives.
        let (x, _) = c.lock(&scoped("apply", &["zeta"], &[])).unwrap();
        let forced = d.unlock(&x.id);
        match &b {
            Backend::Sqlite(_) => assert!(forced.unwrap(), "{n}"),
            Backend::Postgres(_) => {
                assert!(
                    matches!(&forced, Err(StateError::LiveLock(l)) if l.id == x.id),
                    "{n}: {forced:?}"
                );
                assert!(c.unlock(&x.id).unwrap(), "{n}");
            }
        }
        assert!(d.current_locks().unwrap().is_empty(), "{n}");
    }
}

const SLOW_MODULE: &str = r#"
provisions "nap" {}
resource "time_sleep" "wait" {
  create_duration = "60s"
}
output "id" {
  value = time_sleep.wait.id
}
"#;

const APP: &str = "apiVersion: score.dev/v1b1
metadata:
  name: app
containers:
  main:
    image: busybox
resources:
  nap:
    type: nap
";

#[test]
fn a_lock_dies_with_its_process() {
    for b in Backend::all() {
        let n = b.name();
        let sb = Sandbox::new();
        sb.write("modules/nap.hcl", SLOW_MODULE);
        sb.write("app.score.yaml", APP);
        sb.write(
            "baton.hcl",
            &format!("environment \"local\" {{\n  {}\n}}\n", b.state_block()),
        );
        let mut child = sb
            .command(&["apply", "--auto-approve", "-f", "app.score.yaml"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start apply");
        let store = b.open();
        wait_for(
            &format!("{n}: the apply's lock"),
            Duration::from_secs(30),
            || {
                store
                    .current_locks()
                    .unwrap()
                    .iter()
                    .any(|l| l.pid == child.id() && l.scope == "workload:app")
            },
        );
        child.kill().expect("SIGKILL");
        child.wait().unwrap();
        // PostgreSQL ends the session (and its advisory locks) when it sees the socket
        // close, which can take a moment on a loaded machine: wait for that event.
        if let Backend::Postgres(_) = &b {
            wait_for(
                &format!("{n}: the killed session's locks to end"),
                Duration::from_secs(60),
                || store.current_locks().unwrap().is_empty(),
            );
        }
        // No waiting, no unlock command: the next run's one attempt (`lock` never
        // waits: a held scope is an error at once) takes the scope.
        let mut next = b.open();
        let (lock, stale) = next
            .lock(&LockRequest::scoped("apply", ["app".to_string()], []))
            .unwrap_or_else(|e| panic!("{n}: {e}"));
        match &b {
            // PostgreSQL freed the advisory lock with the session: nothing to take over.
            Backend::Postgres(_) => assert!(stale.is_none(), "{n}: {stale:?}"),
            // SQLite rows outlive the process; this host sees it is gone and takes over.
            Backend::Sqlite(_) => assert_eq!(stale.map(|s| s.pid), Some(child.id()), "{n}"),
        }
        let locks = next.current_locks().unwrap();
        assert!(locks.iter().all(|l| l.id == lock.id), "{n}: {locks:?}");
        next.unlock(&lock.id).unwrap();
    }
}

#[test]
fn sealed_secrets_stay_sealed_and_a_wrong_key_changes_nothing() {
    let key = StateKey::parse(&StateKey::generate()).unwrap();
    let wrong = StateKey::parse(&StateKey::generate()).unwrap();
    for b in Backend::all() {
        let n = b.name();
        let mut s = b.open().with_key(Some(key.clone()));
        put(&mut s, "a", "canary-7f3e", true);
        let dump = s.dump().unwrap();
        let text = dump.to_json().to_string();
        assert!(!text.contains("canary-7f3e"), "{n}: in clear: {text}");
        assert!(text.contains(key.fingerprint()), "{n}");
        // The right key opens it.
        assert_eq!(
            s.load().unwrap().objects["a"].attributes["result"],
            Value::string("canary-7f3e"),
            "{n}"
        );
        for other in [Some(wrong.clone()), None] {
            let mut w = b.open().with_key(other);
            let err = w.load().unwrap_err().to_string();
            assert!(err.contains(key.fingerprint()), "{n}: {err}");
            assert!(w.rekey(None).is_err(), "{n}");
        }
        assert_eq!(s.dump().unwrap(), dump, "{n}: nothing changed");
        // Rekey to no key: in clear, and readable without one.
        assert_eq!(s.rekey(None).unwrap(), 1, "{n}");
        assert!(
            s.dump()
                .unwrap()
                .to_json()
                .to_string()
                .contains("canary-7f3e"),
            "{n}"
        );
        assert!(b.open().load().is_ok(), "{n}");
    }
}

#[test]
fn a_dump_restores_into_the_other_backend_identically() {
    let backends = Backend::all();
    let mut from = backends[0].open();
    put(&mut from, "a", "one", true);
    put(&mut from, "b", "two", false);
    from.record(&Record::Remove("a".into()), "delete", true)
        .unwrap();
    from.begin_intent(&baton::state::Intent {
        address: "c".into(),
        action: "create".into(),
        kind: "random_password".into(),
        planned: baton::value::Map::from([("length".into(), Value::int(3))]),
        started_at: "2026-11-25T00:00:00Z".into(),
    })
    .unwrap();
    let dump = from.dump().unwrap();
    assert_eq!(
        (
            dump.serial,
            dump.objects.len(),
            dump.history.len(),
            dump.intents.len()
        ),
        (2, 1, 3, 1)
    );
    for (i, b) in backends.iter().enumerate() {
        let n = b.name();
        if i == 0 {
            // Not into a state that holds something.
            assert!(
                matches!(b.open().restore(&dump), Err(StateError::NotEmpty { .. })),
                "{n}"
            );
            continue;
        }
        let mut to = b.open();
        to.restore(&dump).unwrap();
        assert_eq!(to.dump().unwrap(), dump, "{n}");
        assert_eq!(to.load().unwrap(), from.load().unwrap(), "{n}");
        assert!(
            matches!(to.restore(&dump), Err(StateError::NotEmpty { .. })),
            "{n}"
        );
    }
}

#[test]
fn environments_share_a_postgres_database_without_seeing_each_other() {
    let db = Backend::Postgres(PgDb::new());
    let mut prod = db.open_env("prod");
    let mut dev = db.open_env("dev");
    assert_ne!(prod.lineage().unwrap(), dev.lineage().unwrap());
    put(&mut prod, "a", "p", true);
    put(&mut dev, "b", "d", true);
    put(&mut dev, "c", "d", true);
    assert_eq!(
        prod.load().unwrap().objects.keys().collect::<Vec<_>>(),
        ["a"]
    );
    assert_eq!(dev.load().unwrap().serial, 2);
    assert_eq!(prod.serial().unwrap(), 1);
    // Locks are per environment too.
    let (l, _) = prod.lock(&LockRequest::environment("destroy")).unwrap();
    let (m, _) = dev.lock(&LockRequest::environment("destroy")).unwrap();
    prod.unlock(&l.id).unwrap();
    dev.unlock(&m.id).unwrap();
}

fn queued(id: &str, at: i64) -> baton::state::runs::Run {
    baton::state::runs::Run {
        id: id.into(),
        kind: "drift".into(),
        status: "queued".into(),
        requested_by: "t".into(),
        request: "{}".into(),
        result: None,
        node: None,
        created_at: at,
        started_at: None,
        finished_at: None,
        heartbeat_at: None,
    }
}

#[test]
fn each_queued_run_is_claimed_by_one_client_and_a_lapsed_one_is_abandoned() {
    for backend in Backend::all() {
        let name = backend.name();
        let store = backend.open();
        for i in 0..40 {
            store
                .enqueue_run(&queued(&format!("run-{i:02}"), i))
                .unwrap();
        }
        // Four clients claim at once until the queue is empty.
        let claimed: Vec<Vec<String>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|n| {
                    let store = backend.open();
                    s.spawn(move || {
                        let mut mine = Vec::new();
                        while let Some(r) = store.claim_run(&format!("node-{n}")).unwrap() {
                            assert_eq!(r.status, "running");
                            mine.push(r.id);
                        }
                        mine
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut all: Vec<String> = claimed.concat();
        all.sort();
        let want: Vec<String> = (0..40).map(|i| format!("run-{i:02}")).collect();
        assert_eq!(all, want, "{name}: every run claimed exactly once");
        // A run whose node beats stays; one whose node stopped is abandoned, and its
        // node can no longer finish it.
        let runs = store.runs().unwrap();
        let (first, second) = (&runs[0], &runs[1]);
        store.finish_run(&first.id, "succeeded", "{}").unwrap();
        store
            .heartbeat_runs(second.node.as_deref().unwrap())
            .unwrap();
        let abandoned = store
            .abandon_runs(baton::state::runs::now_ms() + 1)
            .unwrap();
        assert_eq!(abandoned, 39, "{name}");
        assert!(
            !store.finish_run(&second.id, "succeeded", "{}").unwrap(),
            "{name}"
        );
        assert_eq!(
            store.get_run(&second.id).unwrap().unwrap().status,
            "abandoned"
        );
        assert_eq!(
            store.get_run(&first.id).unwrap().unwrap().status,
            "succeeded"
        );
        store.run_event(&first.id, 1, "one").unwrap();
        store.run_event(&first.id, 2, "two").unwrap();
        assert_eq!(
            store.run_events(&first.id, 1).unwrap(),
            [(2, "two".to_string())],
            "{name}"
        );
    }
}

#[test]
fn a_due_run_is_queued_once_by_clients_that_look_at_once() {
    for backend in Backend::all() {
        let name = backend.name();
        backend.open();
        let now = baton::state::runs::now_ms();
        let hour = 3_600_000;
        // Eight clients find no drift check queued, running or recent, at once.
        let start = std::sync::Barrier::new(8);
        let queued_by: Vec<bool> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|n| {
                    let (store, start) = (backend.open(), &start);
                    s.spawn(move || {
                        let run = queued(&format!("check-{n}"), now);
                        start.wait();
                        store.enqueue_run_unless(&run, now - hour).unwrap()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(
            queued_by.iter().filter(|q| **q).count(),
            1,
            "{name}: {queued_by:?}"
        );
        let store = backend.open();
        assert_eq!(store.runs().unwrap().len(), 1, "{name}");
        // Finished, it still counts within the interval; past it, the next is due.
        let first = store.claim_run("node").unwrap().unwrap();
        store.finish_run(&first.id, "succeeded", "{}").unwrap();
        let later = queued("later", now + 1);
        assert!(
            !store.enqueue_run_unless(&later, now - hour).unwrap(),
            "{name}"
        );
        assert!(store.enqueue_run_unless(&later, now + 1).unwrap(), "{name}");
        // Another kind is its own queue.
        let mut plan = queued("plan", now + 2);
        plan.kind = "plan".into();
        assert!(
            store.enqueue_run_unless(&plan, now - hour).unwrap(),
            "{name}"
        );
    }
}
