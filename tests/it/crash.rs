//! Crash safety and locking: SIGKILL in the middle of an apply loses nothing, neither
//! does a state write that fails mid-apply, and a second apply while one runs fails fast
//! naming the holder.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{Run, Sandbox, wait_for};

/// A module with fast files, and a slow sleep (`SLEEP`) that a second file waits for.
const SLOW_MODULE: &str = r#"
provisions "slow" {}
resource "local_file" "early" {
  path    = ".baton/out/${score.resource}-early.txt"
  content = "early"
}
resource "time_sleep" "wait" {
  create_duration = "SLEEP"
}
resource "local_file" "late" {
  path       = ".baton/out/${score.resource}-late.txt"
  content    = "late after ${time_sleep.wait.id}"
}
output "path" {
  value = local_file.late.path
}
"#;

const SCORE: &str = "apiVersion: score.dev/v1b1
metadata:
  name: app
containers:
  main:
    image: busybox
    variables:
      LATE: ${resources.job.path}
resources:
  job:
    type: slow
  other:
    type: slow
";

/// The project, its sleeps lasting `sleep`.
pub(crate) fn project(sleep: &str) -> Sandbox {
    let sb = Sandbox::new();
    set_sleep(&sb, sleep);
    sb.write("score.yaml", SCORE);
    sb
}

/// Rewrites the module with sleeps of `sleep` (a run already going keeps its own).
pub(crate) fn set_sleep(sb: &Sandbox, sleep: &str) {
    sb.write("modules/slow.hcl", &SLOW_MODULE.replace("SLEEP", sleep));
}

/// A sleep no test waits for: a run that starts it holds its lock until killed.
const FOREVER: &str = "1h";

/// A run in the background, SIGKILLed and reaped when dropped, so that a failing test
/// leaves no apply sleeping for an hour.
struct Background(std::process::Child);

impl Background {
    fn start(mut cmd: Command) -> Background {
        Background(
            cmd.stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start apply"),
        )
    }
}

impl std::ops::Deref for Background {
    type Target = std::process::Child;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Background {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The first column of `sql` over the state database, read as another process sees
/// it while apply runs (nothing before the first run made the schema).
fn rows(sb: &Sandbox, sql: &str) -> Vec<String> {
    let path = sb.path().join(".baton/state.db");
    let Ok(conn) =
        rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
    else {
        return Vec::new();
    };
    let Ok(mut st) = conn.prepare(sql) else {
        return Vec::new();
    };
    st.query_map([], |r| {
        r.get_ref(0).map(|v| match v {
            rusqlite::types::ValueRef::Integer(i) => i.to_string(),
            v => String::from_utf8_lossy(v.as_bytes().unwrap_or_default()).into_owned(),
        })
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// Waits until both sleeps of the project are running: their intents are committed
/// (an intent is written before its call starts), so the run holds its lock.
fn wait_for_the_sleeps(sb: &Sandbox) {
    wait_for("both sleeps to start", Duration::from_secs(60), || {
        let i = rows(sb, "SELECT address FROM intents");
        i.contains(&"slow.default#app.job/time_sleep.wait".to_string())
            && i.contains(&"slow.default#app.other/time_sleep.wait".to_string())
    });
}

#[test]
fn sigkill_mid_apply_loses_nothing_and_the_next_apply_converges() {
    let sb = project(FOREVER);
    let mut child = Background::start(sb.command(&["apply", "--auto-approve"]));
    // The early files are recorded (state list reads the WAL database while apply holds
    // its lock) and the sleeps, which never end, are running.
    wait_for("the early files in state", Duration::from_secs(60), || {
        let list = sb.run(&["state", "list"]).stdout;
        list.contains("slow.default#app.job/local_file.early")
            && list.contains("slow.default#app.other/local_file.early")
    });
    wait_for_the_sleeps(&sb);
    child.kill().expect("SIGKILL the apply");
    child.wait().expect("reap");

    let state = sb.run(&["state", "list"]).stdout;
    assert!(
        !state.contains("time_sleep.wait"),
        "the sleeps never finished:\n{state}"
    );
    // Short sleeps from now on, so that the next apply ends.
    set_sleep(&sb, "1s");

    // The next plan shows only what was not done (the killed run's lock is taken over).
    let plan = sb.run(&["plan", "--format", "json"]);
    assert_eq!(plan.code, 0, "{}", plan.transcript());
    assert!(plan.stderr.contains("took over a lock"), "{}", plan.stderr);
    let v: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    let mut todo: Vec<String> = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "no-op")
        .map(|c| {
            format!(
                "{} {}",
                c["action"].as_str().unwrap(),
                c["address"].as_str().unwrap()
            )
        })
        .collect();
    todo.sort();
    assert_eq!(
        todo,
        vec![
            "create slow.default#app.job/local_file.late",
            "create slow.default#app.job/time_sleep.wait",
            "create slow.default#app.other/local_file.late",
            "create slow.default#app.other/time_sleep.wait",
            "create workload.app",
        ]
    );
    let run = sb.run(&["apply", "--auto-approve", "--parallelism", "4"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stdout
            .contains("5 added, 0 changed, 0 replaced, 0 destroyed"),
        "{}",
        run.stdout
    );
    assert_eq!(sb.run(&["plan", "--detailed-exitcode"]).code, 0);
}

#[test]
fn a_second_apply_fails_fast_naming_the_lock_holder() {
    let sb = project(FOREVER);
    let mut child = Background::start(sb.command(&["apply", "--auto-approve"]));
    wait_for_the_sleeps(&sb);
    // It ends (within a generous bound; the first run never ends by itself).
    let mut second = sb
        .command(&["apply", "--auto-approve"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the second apply");
    wait_for(
        "the second apply to end (it must not wait for the lock)",
        Duration::from_secs(120),
        || second.try_wait().unwrap().is_some(),
    );
    let second = Run::of(second.wait_with_output().unwrap());
    // "Fast": it ended while the first run still holds the lock (its sleeps never end),
    // so it did not wait for it.
    assert!(
        child.try_wait().expect("first apply").is_none(),
        "the first apply ended before the second: {}",
        second.transcript()
    );
    assert_eq!(second.code, 1, "{}", second.transcript());
    assert!(
        second.stderr.contains("the state is locked"),
        "{}",
        second.stderr
    );
    assert!(
        second.stderr.contains(&format!("(pid {})", child.id())),
        "{}",
        second.stderr
    );
    assert!(
        second.stderr.contains("is running `apply`"),
        "{}",
        second.stderr
    );
    // The refused run took nothing from the holder: its lock rows are still there.
    assert!(
        rows(&sb, "SELECT pid FROM locks").contains(&child.id().to_string()),
        "the first apply's lock is intact"
    );
    child.kill().expect("SIGKILL the first apply");
    child.wait().expect("reap");
}

#[test]
fn parallelism_bounds_the_provider_calls_in_flight() {
    let sb = Sandbox::new();
    sb.write("modules/nap.hcl", "provisions \"nap\" {}\nresource \"time_sleep\" \"nap\" {\n  create_duration = \"150ms\"\n}\n");
    sb.write(
        "score.yaml",
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: app\ncontainers:\n  main:\n    image: busybox\nresources:\n  aa: {type: nap}\n  bb: {type: nap}\n  cc: {type: nap}\n  dd: {type: nap}\n",
    );
    let run = sb.run(&["apply", "--auto-approve", "--parallelism", "2"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    // Replay the progress lines: never more than 2 calls between "…ing" and "…ed".
    let (mut now, mut most) = (0i32, 0i32);
    for line in run.stdout.lines() {
        if line.ends_with(": Creating...") {
            now += 1;
            most = most.max(now);
        } else if line.contains(": Created after") {
            now -= 1;
        }
    }
    assert_eq!(now, 0, "{}", run.stdout);
    assert_eq!(
        most, 2,
        "at most 2 in flight, and the limit is used: {}",
        run.stdout
    );
}

#[test]
fn with_a_lock_timeout_a_second_apply_waits_and_then_runs() {
    let sb = project(FOREVER);
    let mut first = Background::start(sb.command(&["apply", "--auto-approve"]));
    wait_for_the_sleeps(&sb);
    // The second run (with sleeps that end) waits for the lock: it says so on stderr.
    set_sleep(&sb, "1s");
    let mut second = sb
        .command(&["--lock-timeout", "5m", "apply", "--auto-approve"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the second apply");
    let stderr = second.stderr.take().unwrap();
    let (said, lines) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut all = String::new();
        for line in std::io::BufReader::new(stderr).lines() {
            let line = line.unwrap_or_default();
            if line.contains("waiting for the state lock held by") {
                let _ = said.send(());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    lines
        .recv_timeout(Duration::from_secs(60))
        .expect("the second apply says it waits for the lock");
    assert!(
        second.try_wait().unwrap().is_none(),
        "the second apply waits"
    );
    // The holder dies; the waiting run takes its lock over and finishes the job.
    first.kill().expect("SIGKILL the first apply");
    first.wait().expect("reap");
    let out = second.wait_with_output().expect("the second apply ends");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = reader.join().unwrap();
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stderr.contains("took over a lock"), "{stderr}");
    assert!(
        stdout.contains("5 added, 0 changed, 0 replaced, 0 destroyed"),
        "the sleeps, the late files and the workload: {stdout}"
    );
    assert_eq!(sb.run(&["plan", "--detailed-exitcode"]).code, 0);
}

#[test]
fn ctrl_c_finishes_what_runs_records_it_and_releases_the_lock() {
    // Sleeps that end (Ctrl-C waits for them), long beside the moment between seeing
    // them start and sending the signal.
    let sb = project("5s");
    let child = sb
        .command(&["apply", "--auto-approve"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start apply");
    wait_for_the_sleeps(&sb);
    assert!(
        Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("Interrupted: finished what was running"),
        "{stdout}"
    );
    // The sleeps that were running finished and were recorded; the lock is free.
    let state = sb.run(&["state", "list"]).stdout;
    assert!(state.contains("time_sleep.wait"), "{state}");
    let next = sb.run(&["apply", "--auto-approve"]);
    assert_eq!(next.code, 0, "{}", next.transcript());
    assert!(
        !next.stderr.contains("took over a lock"),
        "the interrupted run released its lock: {}",
        next.stderr
    );
}

/// Two files, the second written after the first (it names the first's hash).
const PAIR_MODULE: &str = r#"
provisions "pair" {}
resource "local_file" "first" {
  path    = ".baton/out/${score.resource}-1.txt"
  content = "one"
}
resource "local_file" "second" {
  path    = ".baton/out/${score.resource}-2.txt"
  content = "after ${local_file.first.content_sha256}"
}
"#;

fn pair_score(resources: &[&str]) -> String {
    let mut s = String::from(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: app\ncontainers:\n  main:\n    image: busybox\nresources:\n",
    );
    for r in resources {
        s.push_str(&format!("  {r}: {{type: pair}}\n"));
    }
    s
}

#[test]
fn a_state_write_that_fails_mid_apply_stops_the_walk_and_loses_nothing() {
    let sb = Sandbox::new();
    sb.write("modules/pair.hcl", PAIR_MODULE);
    sb.write("score.yaml", &pair_score(&["aa"]));
    let first = sb.run(&["apply", "--auto-approve"]);
    assert_eq!(first.code, 0, "{}", first.transcript());
    // From now on the database refuses to record anything of `bb` (as a full disk
    // would refuse everything): its first file's intent commits, its record does not.
    let conn = rusqlite::Connection::open(sb.path().join(".baton/state.db")).unwrap();
    conn.execute_batch(
        "CREATE TRIGGER refuse BEFORE INSERT ON history WHEN NEW.address LIKE '%#app.bb/%'
         BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;",
    )
    .unwrap();
    sb.write("score.yaml", &pair_score(&["aa", "bb"]));
    let failed = sb.run(&["apply", "--auto-approve"]);
    assert_eq!(failed.code, 1, "{}", failed.transcript());
    assert!(
        failed.stderr.contains("state database") && failed.stderr.contains("refused by the test"),
        "{}",
        failed.transcript()
    );
    // The first file was written; the second, whose intent was in the transaction that
    // failed, never started.
    assert!(sb.path().join(".baton/out/bb-1.txt").exists());
    assert!(
        !sb.path().join(".baton/out/bb-2.txt").exists(),
        "a call started before its intent was committed:\n{}",
        failed.transcript()
    );
    let list = sb.run(&["state", "list"]).stdout;
    assert!(!list.contains("#app.bb/"), "{list}");
    let intents: Vec<String> = conn
        .prepare("SELECT address FROM intents ORDER BY address")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(intents, vec!["pair.default#app.bb/local_file.first"]);

    // Once the database records again, the next apply finishes the job: the first file
    // is adopted from its intent, not written twice.
    conn.execute_batch("DROP TRIGGER refuse").unwrap();
    let again = sb.run(&["apply", "--auto-approve"]);
    assert_eq!(again.code, 0, "{}", again.transcript());
    assert!(
        !again.stdout.contains("app.bb/local_file.first: Creating"),
        "{}",
        again.stdout
    );
    assert!(sb.read(".baton/out/bb-2.txt").starts_with("after "));
    assert_eq!(sb.run(&["plan", "--detailed-exitcode"]).code, 0);
    let intents: i64 = conn
        .query_row("SELECT COUNT(*) FROM intents", [], |r| r.get(0))
        .unwrap();
    assert_eq!(intents, 0);
}
