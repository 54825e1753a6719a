//! The library API (`baton::ops`) used as a server would use it: from one process, on
//! threads. Two environments (of two project directories) apply at the same time; the lock timeout is an option of
//! each call, not process state. Each proof waits on events (a provider call started, a
//! lock wait said), with generous timeouts that only ever fail a broken build.

use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::Duration;

use baton::ops::{self, ApplyOptions, Error, Event, RunOptions, ScoreInputs, Workspace};

use crate::support::Sandbox;

/// Long enough for any apply of `examples/hello` on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(300);

/// `examples/hello`, whose built-in modules serve the `local` environment: each
/// project directory is an environment of its own (its state in `.baton/state.db`).
fn project() -> Sandbox {
    let sb = Sandbox::new();
    sb.copy_from_repo("examples/hello");
    sb
}

fn run_options(sb: &Sandbox, env: &str, lock_timeout: Duration) -> RunOptions {
    let workspace = Workspace {
        root: sb.path().to_path_buf(),
        env: env.into(),
        lock_timeout,
        who: None,
    };
    RunOptions::new(workspace, ScoreInputs::discover(sb.path()))
}

fn apply_options(sb: &Sandbox, env: &str) -> ApplyOptions {
    ApplyOptions {
        run: run_options(sb, env, Duration::ZERO),
        plan_file: None,
    }
}

/// Applies `env`; at its first provider call, tells `tell` and waits for `hear` before
/// going on. Returns the events it saw.
fn apply_meeting(sb: &Sandbox, env: &str, tell: Sender<()>, hear: Receiver<()>) -> Vec<String> {
    let mut seen = Vec::new();
    let mut met = false;
    let applied = ops::apply(&apply_options(sb, env), &mut |e: Event<'_>| {
        if let Event::Progress(p) = e {
            if !met {
                met = true;
                tell.send(()).expect("the other side is there");
                hear.recv_timeout(PATIENCE).unwrap_or_else(|_| {
                    panic!("{env}: no word from the other side while this apply ran")
                });
            }
            seen.push(format!("{p:?}"));
        }
    })
    .unwrap_or_else(|e| panic!("{env}: {e:?}"));
    let report = applied.report.as_ref().expect("hello has changes");
    assert!(applied.succeeded(), "{env}: {:?}", report.failed);
    assert_eq!(report.done.get("create"), Some(&6), "{env}: {seen:?}");
    seen
}

#[test]
fn two_threads_apply_two_environments_at_once() {
    let (blue_sb, green_sb) = (project(), project());
    let (blue_tx, blue_rx) = channel();
    let (green_tx, green_rx) = channel();
    // Each apply, at its first provider call, waits until the other one has made its
    // own first call: both finish only if the two run at the same time.
    let (blue, green) = std::thread::scope(|s| {
        let blue = s.spawn(|| apply_meeting(&blue_sb, "local", blue_tx, green_rx));
        let green = s.spawn(|| apply_meeting(&green_sb, "local", green_tx, blue_rx));
        (blue.join().unwrap(), green.join().unwrap())
    });
    assert!(!blue.is_empty() && !green.is_empty());
    // Each environment has its own state and manifests.
    assert_ne!(
        blue_sb.lineage(".baton/state.db"),
        green_sb.lineage(".baton/state.db")
    );
    for sb in [&blue_sb, &green_sb] {
        let web = sb.read("deploy/local/web.yaml");
        assert!(web.contains("value: http://dns-"), "{web}");
        // And a plan through the library now finds nothing to do.
        let again = ops::plan(
            &run_options(sb, "local", Duration::ZERO),
            &mut |_: Event<'_>| {},
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(!again.planned.plan.has_changes());
    }
}

/// Runs `body` while an apply of `sb` on another thread of this process holds the
/// environment's lock, paused at its first provider call; `body` gets the function that
/// lets the apply go on (called again, and the apply joined, after `body` returns).
fn while_locked<T>(sb: &Sandbox, body: impl FnOnce(&dyn Fn()) -> T) -> T {
    let (holding_tx, holding_rx) = channel();
    let (release_tx, release_rx) = channel();
    std::thread::scope(|s| {
        let holder = s.spawn(|| apply_meeting(sb, "local", holding_tx, release_rx));
        holding_rx
            .recv_timeout(PATIENCE)
            .expect("the apply reached its first provider call");
        let release = || {
            let _ = release_tx.send(());
        };
        let out = body(&release);
        release();
        holder.join().unwrap();
        out
    })
}

#[test]
fn the_lock_timeout_is_an_option_of_each_call() {
    let sb = &project();
    while_locked(sb, |release| {
        // Without a timeout, a plan fails at once, naming the lock.
        let quick = ops::plan(
            &run_options(sb, "local", Duration::ZERO),
            &mut |_: Event<'_>| {},
        );
        match quick {
            Err(Error::Other(e)) => {
                let msg = format!("{e:#}");
                assert!(msg.contains("the state is locked"), "{msg}");
                assert!(msg.contains("is running `apply`"), "{msg}");
            }
            Err(e) => panic!("expected a lock error, got {e:?}"),
            Ok(_) => panic!("a plan ran while the apply held the lock"),
        }

        // With one, in the same process at the same time, a plan waits for it.
        let (waiting_tx, waiting_rx) = channel();
        std::thread::scope(|s| {
            let patient = s.spawn(move || {
                let opts = run_options(sb, "local", PATIENCE);
                ops::plan(&opts, &mut |e: Event<'_>| {
                    if let Event::LockWait { held, .. } = e {
                        waiting_tx.send(held.operation.clone()).unwrap();
                    }
                })
            });
            let held_by = waiting_rx.recv_timeout(PATIENCE);
            release();
            assert_eq!(
                held_by.expect("the patient plan said it waits for the lock"),
                "apply"
            );
            let planned = patient
                .join()
                .unwrap()
                .unwrap_or_else(|e| panic!("the patient plan: {e:?}"));
            // It planned after the apply: against the applied state, nothing to do.
            assert!(!planned.planned.plan.has_changes());
        });
    });
}

#[test]
fn the_cli_passes_baton_lock_timeout_to_ops_as_the_option() {
    use std::io::BufRead;
    let sb = &project();
    while_locked(sb, |release| {
        // Without the variable, the binary fails at once on the lock this process holds.
        let quick = sb.run(&["plan"]);
        assert_eq!(quick.code, 1, "{}", quick.transcript());
        assert!(
            quick.stderr.contains("the state is locked"),
            "{}",
            quick.stderr
        );
        // With it, the binary says it waits, and plans once the apply is done.
        let mut child = sb
            .command(&["plan"])
            .env("BATON_LOCK_TIMEOUT", "10m")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start baton plan");
        let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        stderr.read_line(&mut line).expect("read stderr");
        release();
        assert!(
            line.starts_with("waiting for the state lock held by"),
            "{line:?}"
        );
        let out = child.wait_with_output().expect("wait for baton plan");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{stdout}");
        assert!(stdout.contains("No changes."), "{stdout}");
    });
}

#[test]
fn a_run_made_for_someone_is_recorded_under_their_name() {
    let sb = &project();
    // An apply for `alice` (a server's token name), then a queued destroy asked by `bob`
    // and carried out as a server's node does.
    let mut alice = apply_options(sb, "local");
    alice.run.workspace.who = Some("alice".into());
    let applied = ops::apply(&alice, &mut |_: Event<'_>| {}).expect("apply");
    let serial = applied.serial.expect("the apply changed the state");
    let ws = &alice.run.workspace;
    let destroy = ops::enqueue(ws, "destroy", "bob", &Default::default()).expect("queue");
    let (status, result) = ops::execute(ws, &destroy, &mut |_, _| {});
    assert_eq!(status, "succeeded", "{result}");
    let history = ops::history(ws).expect("history");
    let (host_user, _) = baton::state::whoami();
    let by = |who: &str| {
        history
            .iter()
            .filter(|h| h.who.split('@').next() == Some(who))
            .map(|h| h.action.as_str())
            .collect::<std::collections::BTreeSet<_>>()
    };
    assert_eq!(by("alice"), ["create"].into(), "{history:?}");
    assert_eq!(by("bob"), ["delete"].into(), "{history:?}");
    assert!(by(&host_user).is_empty(), "{history:?}");
    let recorded = ops::deployment(ws, serial).expect("the apply's configuration");
    assert!(
        recorded.deployment.who.starts_with("alice@"),
        "{}",
        recorded.deployment.who
    );
}
