//! What a run locks and how it waits: a run locks what its plan can touch (with named
//! Score files, their workloads and the shared resources they use, so runs on other
//! workloads proceed at the same time; over the whole project, or for a destroy of
//! everything, the whole environment). Locks are released on every path out of
//! [`locked`], including errors and an interrupted plan; a run that is killed leaves
//! SQLite lock rows that the next run on the same host takes over once it sees the
//! holder's process is gone (PostgreSQL frees them with the session).

use std::time::Duration;

use super::{Event, Observer, Prepared, ScoreInputs};
use crate::state::{LockRequest, StateError, Store};

/// The error of a run that Ctrl-C stopped before it changed anything.
pub const INTERRUPTED: &str = "interrupted while planning: nothing was changed";

/// What a run over `prepared` locks.
pub fn request(operation: &str, prepared: &Prepared, inputs: &ScoreInputs) -> LockRequest {
    if !inputs.narrowed {
        return LockRequest::environment(operation);
    }
    // A `moved` block's FROM is touched too: its records leave their address.
    let moved_from = prepared
        .env
        .moves
        .iter()
        .filter_map(|m| m.from.workload().map(str::to_string));
    LockRequest::scoped(
        operation,
        prepared
            .project
            .workloads
            .iter()
            .map(|w| w.workload.name().to_string())
            .chain(moved_from),
        prepared
            .project
            .resources
            .keys()
            .filter(|u| matches!(u.scope, crate::addr::UidScope::Shared(_)))
            .map(|u| u.to_string()),
    )
}

/// What Ctrl-C stops in [`locked`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CtrlC {
    /// Nothing: Ctrl-C is left to whoever handles it.
    Nothing,
    /// The wait for a lock another run holds.
    Wait,
    /// The wait, and `f` (the lock is released).
    All,
}

/// Runs `f` with the scopes of `request` locked, waiting up to `timeout` for a lock
/// another run holds, and always unlocking afterwards. Ctrl-C stops what `ctrl_c` says,
/// with [`INTERRUPTED`].
pub async fn locked<T>(
    store: &mut Store,
    request: &LockRequest,
    timeout: Duration,
    ctrl_c: CtrlC,
    observer: &mut dyn Observer,
    f: impl AsyncFnOnce(&mut Store, &mut dyn Observer) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let started = std::time::Instant::now();
    let mut sigint = crate::apply::Interrupts::new(ctrl_c != CtrlC::Nothing);
    let mut waiting_said = false;
    let attempt = loop {
        match store.lock(request) {
            Err(StateError::Locked(info)) if started.elapsed() < timeout => {
                if !waiting_said {
                    observer.event(Event::LockWait {
                        held: &info,
                        timeout,
                    });
                    waiting_said = true;
                }
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                    _ = sigint.next() => anyhow::bail!(INTERRUPTED),
                }
            }
            other => break other,
        }
    };
    let (lock, stale) = match attempt {
        Ok(l) => l,
        Err(StateError::Locked(info)) => {
            let what = match info.what().as_str() {
                "the state" => String::new(),
                w => format!(" ({w})"),
            };
            anyhow::bail!(
                "the state is locked{what}: {} is running `{}` (pid {}) since {}{}\n  lock id: {}\n  if that run is gone, release it with: baton state unlock {}",
                info.holder,
                info.operation,
                info.pid,
                info.since,
                if started.elapsed() >= timeout && !timeout.is_zero() {
                    format!(" (waited {})", humantime::format_duration(timeout))
                } else {
                    String::new()
                },
                info.id,
                info.id
            )
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(s) = &stale {
        observer.event(Event::LockTakenOver { stale: s });
    }
    let result = tokio::select! {
        r = f(store, observer) => r,
        _ = sigint.next(), if ctrl_c == CtrlC::All => Err(anyhow::anyhow!(INTERRUPTED)),
    };
    store.unlock(&lock.id)?;
    result
}
