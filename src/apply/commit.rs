//! The walk's writes. Each wave (the calls that finished together, and the calls they
//! release) is one transaction: the finished calls' records and the new calls' intents.
//! Waves commit in the order they were made, and a call starts only once the wave
//! holding its intent has committed; so a crash loses nothing done, and leaves an intent
//! for every call that may have started.
//!
//! With SQLite, waves commit on a thread of their own, on a second connection to the
//! file: while one wave commits, the walk already evaluates what the next finished calls
//! release, and the waves that queue up meanwhile commit together. On the scheduler
//! bench (100 chains of 50 ms sleeps, parallelism 100) a wave's commit was about half of
//! the walk's own time between one call and the next. PostgreSQL's store holds the run's
//! locks on its one connection, so its waves commit inline, in the walk.
//!
//! Kept because it pays: at 10,000 resources a first apply took 1.12× as long with
//! every wave committed inline (median of 15, `benches/ab.sh`, 2 cores, 2026-12-06); at
//! 1,000 the two are within the noise.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::task::AbortHandle;

use super::{CallFuture, CallResult};
use crate::plan::Action;
use crate::provider::ProviderError;
use crate::state::{Intent, Record, StateError, Store};

/// One wave's writes, and the calls to start once they are committed.
#[derive(Default)]
pub(super) struct Wave {
    /// Changes that finished, with their action (for history).
    pub records: Vec<(Action, Record)>,
    /// Intents to clear: calls that failed without changing anything (updates and
    /// deletes; a failed create keeps its intent for the next refresh).
    pub cleared: Vec<String>,
    /// The intents of the calls this wave releases.
    pub intents: Vec<Intent>,
    /// Those calls, in the same order: step, action, and the call.
    pub calls: Vec<(usize, Action, CallFuture)>,
}

impl Wave {
    pub fn is_empty(&self) -> bool {
        self.records.is_empty() && self.cleared.is_empty() && self.calls.is_empty()
    }
}

/// Commits waves in order and starts their calls on the runtime; the calls report to
/// `results`.
pub(super) struct Committer<'s> {
    how: How<'s>,
    starter: Starter,
    location: String,
    /// Waves handed over and not yet committed (or failed).
    pub waiting: usize,
    /// Outcomes of the waves committed on the thread, in order.
    pub acks: UnboundedReceiver<Result<(), StateError>>,
}

enum How<'s> {
    Inline {
        store: &'s mut Store,
        bumped: bool,
    },
    Thread {
        waves: Option<std::sync::mpsc::Sender<Wave>>,
        thread: Option<std::thread::JoinHandle<()>>,
        stop: Arc<AtomicBool>,
    },
}

/// Starts calls on the runtime and keeps a handle to each, to stop them if the walk ends
/// early (a state error).
#[derive(Clone)]
struct Starter {
    runtime: tokio::runtime::Handle,
    results: UnboundedSender<CallResult>,
    running: Arc<Mutex<Vec<AbortHandle>>>,
}

impl Starter {
    fn start(&self, calls: Vec<(usize, Action, CallFuture)>) {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        running.retain(|t| !t.is_finished());
        for (step, action, call) in calls {
            let mut report = Reporter {
                results: self.results.clone(),
                step,
                action,
                sent: false,
            };
            let task = self.runtime.spawn(async move {
                let result = call.await;
                report.sent = true;
                let _ = report.results.send(result);
            });
            running.push(task.abort_handle());
        }
    }

    fn stop_all(&self) {
        for task in self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            task.abort();
        }
    }
}

/// Reports a call that ended without a result (it panicked) as failed, so the walk
/// does not wait for it.
struct Reporter {
    results: UnboundedSender<CallResult>,
    step: usize,
    action: Action,
    sent: bool,
}

impl Drop for Reporter {
    fn drop(&mut self) {
        if !self.sent {
            let error = ProviderError::Failed("internal error: the provider call panicked".into());
            let _ = self
                .results
                .send((self.step, self.action, Err(error), Duration::ZERO, None));
        }
    }
}

impl<'s> Committer<'s> {
    /// Commits on a thread of its own where the store has a second handle (see
    /// [`Store::writer`]), else in the walk. `bumped`: the run's serial was already
    /// incremented (by settling leftover intents).
    pub fn start(
        store: &'s mut Store,
        bumped: bool,
        results: UnboundedSender<CallResult>,
    ) -> Result<Committer<'s>, StateError> {
        let starter = Starter {
            runtime: tokio::runtime::Handle::current(),
            results,
            running: Arc::default(),
        };
        let (ack, acks) = unbounded_channel();
        let location = store.location();
        let how = match store.writer()? {
            None => How::Inline { store, bumped },
            Some(writer) => {
                let (waves, queue) = std::sync::mpsc::channel::<Wave>();
                let stop = Arc::new(AtomicBool::new(false));
                let (starter, stop2) = (starter.clone(), stop.clone());
                let thread = std::thread::Builder::new()
                    .name("baton-commit".into())
                    .spawn(move || run(writer, bumped, queue, ack, starter, stop2))
                    .map_err(|source| StateError::Io {
                        path: location.clone(),
                        source,
                    })?;
                How::Thread {
                    waves: Some(waves),
                    thread: Some(thread),
                    stop,
                }
            }
        };
        Ok(Committer {
            how,
            starter,
            location,
            waiting: 0,
            acks,
        })
    }

    /// Takes in the outcomes of the waves committed since the last look.
    pub fn poll(&mut self) -> Result<(), StateError> {
        while self.waiting > 0 {
            match self.acks.try_recv() {
                Ok(done) => {
                    self.waiting -= 1;
                    done?;
                }
                Err(_) => break,
            }
        }
        Ok(())
    }

    /// Whether a wave handed over now would start committing at once (the thread is
    /// free). Inline, a wave commits in the walk: the walk makes it as large as the
    /// calls that finished together, one commit for them all.
    pub fn idle(&self) -> bool {
        matches!(self.how, How::Thread { .. }) && self.waiting == 0
    }

    /// Hands `wave` over: commits it (inline) or queues it (thread; its outcome comes on
    /// `acks`). Its calls start once it is committed.
    pub fn send(&mut self, wave: Wave) -> Result<(), StateError> {
        match &mut self.how {
            How::Inline { store, bumped } => {
                let mut waves = [wave];
                commit(store, bumped, &mut waves)?;
                let [wave] = waves;
                self.starter.start(wave.calls);
                Ok(())
            }
            How::Thread { waves, .. } => {
                let sent = waves.as_ref().is_some_and(|w| w.send(wave).is_ok());
                if sent {
                    self.waiting += 1;
                    Ok(())
                } else {
                    // The thread is gone: it reported why on `acks` (or panicked).
                    Err(StateError::Io {
                        path: self.location.clone(),
                        source: std::io::Error::other("the thread committing the apply stopped"),
                    })
                }
            }
        }
    }
}

impl Drop for Committer<'_> {
    /// Ends the thread (after the wave it is committing, if any) and stops the calls
    /// still running: only a state error ends the walk with calls running.
    fn drop(&mut self) {
        if let How::Thread {
            waves,
            thread,
            stop,
        } = &mut self.how
        {
            stop.store(true, Ordering::SeqCst);
            drop(waves.take());
            if let Some(t) = thread.take() {
                let _ = t.join();
            }
        }
        self.starter.stop_all();
    }
}

/// The commit thread: takes every wave queued so far, commits them in one transaction,
/// starts their calls, and reports each wave's outcome. Stops at the first error.
fn run(
    mut store: Store,
    mut bumped: bool,
    queue: std::sync::mpsc::Receiver<Wave>,
    acks: UnboundedSender<Result<(), StateError>>,
    starter: Starter,
    stop: Arc<AtomicBool>,
) {
    while let Ok(first) = queue.recv() {
        let mut group = vec![first];
        group.extend(queue.try_iter());
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let result = commit(&mut store, &mut bumped, &mut group);
        let failed = result.is_err();
        if !failed && !stop.load(Ordering::SeqCst) {
            for wave in &mut group {
                starter.start(std::mem::take(&mut wave.calls));
            }
        }
        let _ = acks.send(result);
        if failed {
            return;
        }
        for _ in 1..group.len() {
            let _ = acks.send(Ok(()));
        }
    }
}

/// Writes `waves` in one transaction (and their cleared intents before it). Their
/// intents are taken; their calls are left to start.
fn commit(store: &mut Store, bumped: &mut bool, waves: &mut [Wave]) -> Result<(), StateError> {
    for address in waves.iter().flat_map(|w| &w.cleared) {
        store.clear_intent(address)?;
    }
    let intents: Vec<Intent> = match &mut *waves {
        [one] => std::mem::take(&mut one.intents),
        many => many
            .iter_mut()
            .flat_map(|w| std::mem::take(&mut w.intents))
            .collect(),
    };
    let records: Vec<(&Record, &str)> = waves
        .iter()
        .flat_map(|w| &w.records)
        .map(|(a, r)| (r, a.as_str()))
        .collect();
    if records.is_empty() && intents.is_empty() {
        return Ok(());
    }
    store.record_and_begin(&records, !*bumped && !records.is_empty(), &intents)?;
    *bumped |= !records.is_empty();
    Ok(())
}
