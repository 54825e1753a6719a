//! WAL checkpoints off the writer's path. SQLite's automatic checkpoint runs inside the
//! commit that takes the WAL past 1,000 pages: that commit copies the log back into the
//! database and syncs it, 7–8 ms on this project's machines, and during an apply no
//! provider call could start meanwhile (the commit of a wave is what releases them).
//! [`Checkpointer::install`] replaces it with a hook: the commit that crosses the mark
//! only signals a thread of its own, started the first time it is needed (a plan never
//! writes that much), which runs a PASSIVE checkpoint on its own connection. A passive
//! checkpoint neither waits for nor blocks the writer. One that fails or is cut short
//! only leaves the log longer; the last connection to close checkpoints the rest, as
//! before.

use std::ffi::c_int;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use rusqlite::{Connection, OpenFlags};

/// Pages in the WAL after which a commit asks for a checkpoint (SQLite's default).
const PAGES: c_int = 1000;

type Worker = (SyncSender<()>, JoinHandle<()>);

/// The checkpoint thread of one connection (none until the WAL first grows past
/// [`PAGES`]).
#[derive(Default)]
pub(super) struct Checkpointer {
    worker: Arc<Mutex<Option<Worker>>>,
}

impl Checkpointer {
    /// Takes over `conn`'s checkpoints (the database at `path`).
    pub(super) fn install(conn: &mut Connection, path: &Path) -> rusqlite::Result<Checkpointer> {
        let this = Checkpointer::default();
        let worker = this.worker.clone();
        let path = path.to_path_buf();
        conn.wal_hook(Some(move |wal: &mut rusqlite::hooks::Wal, pages: c_int| {
            if pages < PAGES {
                return Ok(());
            }
            let mut worker = worker.lock().unwrap_or_else(|e| e.into_inner());
            if worker.is_none() {
                *worker = spawn(path.clone());
            }
            match worker.as_ref() {
                // A checkpoint already asked for covers this commit's pages too.
                Some((signal, _)) => match signal.try_send(()) {
                    Ok(()) | Err(TrySendError::Full(())) => Ok(()),
                    // The thread could not open the database: checkpoint here.
                    Err(TrySendError::Disconnected(())) => wal.checkpoint(),
                },
                // No thread: checkpoint here, as SQLite would have.
                None => wal.checkpoint(),
            }
        }))?;
        Ok(this)
    }

    /// Waits for a running checkpoint and ends the thread, so that the store's own
    /// connection closes last (and checkpoints what is left, then removes the log).
    pub(super) fn stop(&self) {
        let worker = self.worker.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some((signal, thread)) = worker {
            drop(signal);
            let _ = thread.join();
        }
    }
}

fn spawn(path: PathBuf) -> Option<Worker> {
    let (signal, requests) = std::sync::mpsc::sync_channel::<()>(1);
    let thread = std::thread::Builder::new()
        .name("baton-checkpoint".into())
        .spawn(move || {
            let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            let Ok(conn) = Connection::open_with_flags(&path, flags) else {
                return;
            };
            while requests.recv().is_ok() {
                // A failure leaves the frames in the log for the next checkpoint.
                let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
            }
        })
        .ok()?;
    Some((signal, thread))
}
