//! Crash safety and locking: SIGKILL in the middle of an apply loses nothing, neither
//! does a state write that fails mid-apply, and a second apply while one runs fails fast
//! naming the holder.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::Sandbox;

/// A module with fast files, and a slow sleep that a second file waits for.
const SLOW_MODULE: &str = r#"
provisions "slow" {}
resource "local_file" "early" {
  path    = ".baton/out/${score.resource}-early.txt"
  content = "early"
}
resource "time_sleep" "wait" {
  create_duration = "4s"
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

fn project() -> Sandbox {
    let sb = Sandbox::new();
    sb.write("modules/slow.hcl", SLOW_MODULE);
    sb.write("score.yaml", SCORE);
    sb
}

/// Waits (without sleeping blindly for the whole time) until `cond` holds.
fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigkill_mid_apply_loses_nothing_and_the_next_apply_converges() {
    let sb = project();
    let mut child = sb
        .command(&["apply", "--auto-approve"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start apply");
    // Both early files are written well before the 4 s sleeps end.
    wait_for("the early files", Duration::from_secs(20), || {
        sb.path().join(".baton/out/job-early.txt").exists()
            && sb.path().join(".baton/out/other-early.txt").exists()
    });
    // And recorded: state list reads the WAL database while apply holds its lock.
    wait_for("the early files in state", Duration::from_secs(20), || {
        let list = sb.run(&["state", "list"]).stdout;
        list.contains("slow.default#app.job/local_file.early")
            && list.contains("slow.default#app.other/local_file.early")
    });
    child.kill().expect("SIGKILL the apply");
    child.wait().expect("reap");

    let state = sb.run(&["state", "list"]).stdout;
    assert!(
        !state.contains("time_sleep.wait"),
        "the sleeps never finished:\n{state}"
    );

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
    let sb = project();
    let mut child = sb
        .command(&["apply", "--auto-approve"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start apply");
    wait_for("the first apply to start", Duration::from_secs(20), || {
        sb.path().join(".baton/out/job-early.txt").exists()
    });
    let started = Instant::now();
    let second = sb.run(&["apply", "--auto-approve"]);
    let took = started.elapsed();
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
    // "Fast": it did not wait for the first run's 4 s sleeps.
    assert!(
        took < Duration::from_secs(3),
        "the second apply waited {took:?}"
    );
    assert!(child.wait().expect("first apply").success());
    assert_eq!(sb.run(&["plan", "--detailed-exitcode"]).code, 0);
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
    let sb = project();
    let mut child = sb
        .command(&["apply", "--auto-approve"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start apply");
    wait_for("the first apply to start", Duration::from_secs(20), || {
        sb.path().join(".baton/out/job-early.txt").exists()
    });
    let second = sb.run(&["--lock-timeout", "60s", "apply", "--auto-approve"]);
    assert_eq!(second.code, 0, "{}", second.transcript());
    assert!(
        second.stderr.contains("waiting for the state lock held by"),
        "{}",
        second.stderr
    );
    assert!(
        second.stdout.contains("No changes."),
        "the first apply did everything: {}",
        second.stdout
    );
    assert!(child.wait().unwrap().success());
}

#[test]
fn ctrl_c_finishes_what_runs_records_it_and_releases_the_lock() {
    let sb = project();
    let child = sb
        .command(&["apply", "--auto-approve"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start apply");
    wait_for("the early files in state", Duration::from_secs(20), || {
        sb.run(&["state", "list"])
            .stdout
            .contains("local_file.early")
    });
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
