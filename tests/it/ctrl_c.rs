//! A long provider call and Ctrl-C (issue 22, item 12): a line every 10 s while a call
//! runs, a message at the first Ctrl-C naming the calls it waits for, a second Ctrl-C
//! that exits at once leaving their intents (as `kill -9` does) for the next apply to
//! settle, Ctrl-C while a run waits for the lock (nothing changed), and the lock
//! holder's name when `USER` is unset; Ctrl-C at the question of an apply.
//!
//! The long calls are the `time_sleep`s of an hour of `crash`'s project (two, beside
//! quick files): the tests wait for the lines baton prints, never for a time of their
//! own, and end the runs with signals.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use crate::crash::{project, set_sleep};
use crate::support::Sandbox;

/// A baton run in the background whose stdout and stderr lines arrive on a channel as
/// they are printed; killed and reaped when dropped, so a failing test leaves no run
/// sleeping for an hour.
struct Watched {
    child: Child,
    lines: Receiver<String>,
    seen: String,
}

impl Watched {
    fn start(sb: &Sandbox, args: &[&str], vars_removed: &[&str]) -> Watched {
        Watched::start_with(sb, args, vars_removed, Stdio::null())
    }

    fn start_with(sb: &Sandbox, args: &[&str], vars_removed: &[&str], stdin: Stdio) -> Watched {
        let mut cmd = sb.command(args);
        for v in vars_removed {
            cmd.env_remove(v);
        }
        let mut child = cmd
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start baton");
        let (tx, lines) = channel();
        let out = child.stdout.take().unwrap();
        let err = child.stderr.take().unwrap();
        for stream in [
            Box::new(out) as Box<dyn std::io::Read + Send>,
            Box::new(err),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines() {
                    let _ = tx.send(line.unwrap_or_default());
                }
            });
        }
        Watched {
            child,
            lines,
            seen: String::new(),
        }
    }

    /// The next line, waiting until `deadline` at most (a failing run, not a timing, is
    /// what the deadline catches: a run that goes on printing still runs into it).
    fn next_line(&self, deadline: Instant) -> Result<String, RecvTimeoutError> {
        let left = deadline.saturating_duration_since(Instant::now());
        self.lines.recv_timeout(left)
    }

    /// Waits for a line containing `needle` (a minute at most).
    fn wait_for_line(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match self.next_line(deadline) {
                Ok(line) => {
                    self.seen.push_str(&line);
                    self.seen.push('\n');
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(e) => panic!("no line with {needle:?} ({e}); so far:\n{}", self.seen),
            }
        }
    }

    fn interrupt(&self) {
        let pid = libc::pid_t::try_from(self.child.id()).unwrap();
        // SAFETY: kill(2) with a pid this test started and has not reaped.
        let r = unsafe { libc::kill(pid, libc::SIGINT) };
        assert_eq!(r, 0, "send SIGINT");
    }

    /// Waits for the exit (its output ending within a minute) and returns its code and
    /// every line.
    fn finish(mut self) -> (Option<i32>, String) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match self.next_line(deadline) {
                Ok(line) => {
                    self.seen.push_str(&line);
                    self.seen.push('\n');
                }
                // Both streams closed: the process is ending.
                Err(RecvTimeoutError::Disconnected) => break,
                Err(e) => panic!("the run did not end ({e}); so far:\n{}", self.seen),
            }
        }
        let status = self.child.wait().unwrap();
        (status.code(), std::mem::take(&mut self.seen))
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const SLEEP: &str = "slow.default#app.job/time_sleep.wait";
const OTHER: &str = "slow.default#app.other/time_sleep.wait";

#[test]
fn a_long_call_reports_progress_and_two_ctrl_c_abandon_it_as_kill_9_would() {
    let sb = project("1h");
    let mut run = Watched::start(&sb, &["apply", "--auto-approve"], &[]);
    run.wait_for_line(&format!("{SLEEP}: Creating..."));
    let still = run.wait_for_line(&format!("{SLEEP}: Still creating"));
    assert_eq!(still, format!("{SLEEP}: Still creating... [10s elapsed]"));
    run.interrupt();
    run.wait_for_line(
        "Interrupt received: no new change starts. Waiting for the 2 calls in flight to finish:",
    );
    run.wait_for_line(&format!("  {SLEEP}"));
    run.wait_for_line(&format!("  {OTHER}"));
    run.wait_for_line("Press Ctrl-C again to abandon them: baton exits at once and their intents stay recorded, as after kill -9");
    run.interrupt();
    let (code, all) = run.finish();
    assert_eq!(code, Some(1), "{all}");
    assert!(
        all.contains("Abandoned the calls in flight; their intents stay recorded:"),
        "{all}"
    );
    assert!(all.contains("Apply interrupted: "), "{all}");
    // The intents are left, as after kill -9; the lock is free.
    let list = sb.run(&["state", "list"]);
    for sleep in [SLEEP, OTHER] {
        let intent = format!("leftover intent: create {sleep}");
        assert!(list.stderr.contains(&intent), "{}", list.transcript());
    }
    // The next apply settles them (short sleeps now) and converges.
    set_sleep(&sb, "1s");
    let next = sb.run(&["apply", "--auto-approve"]);
    assert_eq!(next.code, 0, "{}", next.transcript());
    assert!(!next.stderr.contains("took over a lock"), "{}", next.stderr);
    let after = sb.run(&["state", "list"]);
    assert!(after.stdout.contains(SLEEP), "{}", after.transcript());
    assert!(
        !after.stderr.contains("leftover intent"),
        "{}",
        after.stderr
    );
    assert_eq!(sb.run(&["plan", "--detailed-exitcode"]).code, 0);
}

#[test]
fn ctrl_c_while_waiting_for_the_lock_stops_with_nothing_changed_and_names_the_user() {
    let sb = project("1h");
    // The holder runs without USER: the lock names the user of the process anyway.
    let mut holder = Watched::start(&sb, &["apply", "--auto-approve"], &["USER", "USERNAME"]);
    holder.wait_for_line(&format!("{SLEEP}: Creating..."));
    let refused = sb.run(&["plan"]);
    assert_eq!(refused.code, 1, "{}", refused.transcript());
    assert!(
        refused.stderr.contains("the state is locked: "),
        "{}",
        refused.stderr
    );
    assert!(!refused.stderr.contains("unknown@"), "{}", refused.stderr);
    for args in [
        &["plan", "--lock-timeout", "1h"][..],
        &["apply", "--auto-approve", "--lock-timeout", "1h"],
    ] {
        let mut waiting = Watched::start(&sb, args, &[]);
        waiting.wait_for_line("waiting for the state lock held by");
        waiting.interrupt();
        let (code, all) = waiting.finish();
        assert_eq!(code, Some(1), "{args:?}: {all}");
        assert!(
            all.contains("error: interrupted while planning: nothing was changed"),
            "{args:?}: {all}"
        );
    }
    // The holder still runs, its lock untouched.
    assert!(holder.child.try_wait().unwrap().is_none());
}

#[test]
fn ctrl_c_at_the_question_cancels_the_apply_and_frees_the_lock() {
    let sb = project("1s");
    // stdin a terminal: apply asks its question.
    let (_near, far) = crate::support::pty();
    let mut run = Watched::start_with(&sb, &["apply"], &[], Stdio::from(far));
    run.wait_for_line("Do you want to apply in `local`?");
    run.interrupt();
    let (code, all) = run.finish();
    assert_eq!(code, Some(1), "{all}");
    assert!(
        all.contains("Apply cancelled; nothing was changed."),
        "{all}"
    );
    // Nothing was made, and the next run finds the lock free (none taken over).
    let next = sb.run(&["apply", "--auto-approve"]);
    assert_eq!(next.code, 0, "{}", next.transcript());
    assert!(!next.stderr.contains("took over a lock"), "{}", next.stderr);
    assert!(
        next.stdout.contains("Apply complete! 7 added, 0 changed"),
        "{}",
        next.stdout
    );
}
