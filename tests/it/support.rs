//! A sandbox: a temporary project directory and a way to run the real `baton` in it.

use std::path::PathBuf;
use std::process::Command;

/// A temporary project directory.
pub struct Sandbox {
    dir: tempfile::TempDir,
}

/// What a run printed and how it ended.
pub struct Run {
    /// The exit code, or -1 when a signal ended the process.
    pub code: i32,
    /// The signal that ended the process, if one did.
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The run of a finished command.
    pub fn of(out: std::process::Output) -> Run {
        use std::os::unix::process::ExitStatusExt;
        Run {
            code: out.status.code().unwrap_or(-1),
            signal: out.status.signal(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Exit code, stdout and stderr as one snapshot-friendly text.
    pub fn transcript(&self) -> String {
        format!(
            "exit code: {}{}\n--- stdout\n{}--- stderr\n{}",
            self.code,
            self.signal
                .map(|s| format!(" (signal {s})"))
                .unwrap_or_default(),
            self.stdout,
            self.stderr
        )
    }
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox {
            dir: tempfile::tempdir().expect("create temp dir"),
        }
    }

    /// Writes a file (creating folders) and returns its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("create dirs");
        }
        std::fs::write(&p, text).expect("write file");
        p
    }

    /// The sandbox directory.
    pub fn path(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// The lineage of the SQLite state `file` (relative to the sandbox).
    pub fn lineage(&self, file: &str) -> String {
        let path = self.dir.path().join(file);
        let conn = rusqlite::Connection::open_with_flags(
            &path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
        conn.query_row("SELECT value FROM meta WHERE key = 'lineage'", [], |r| {
            r.get(0)
        })
        .unwrap_or_else(|e| panic!("lineage of {}: {e}", path.display()))
    }

    /// The name the built-in modules give the objects of `uid` (`physical_name(score, sep,
    /// max)`) in the environment whose SQLite state is `.baton/state.db`.
    pub fn name(&self, uid: &str, sep: &str, max: usize) -> String {
        self.name_in(".baton/state.db", uid, sep, max)
    }

    /// [`Sandbox::name`] for the environment whose SQLite state is `state`.
    pub fn name_in(&self, state: &str, uid: &str, sep: &str, max: usize) -> String {
        physical_name(&self.lineage(state), uid, sep, max)
    }
}

/// The name `physical_name(score, sep, max)` gives the objects of `uid` in the state of
/// `lineage`: `TYPE.CLASS#WORKLOAD.RESOURCE`, or `TYPE.CLASS#ID` for a shared id without
/// a dot (call `baton::naming` directly for ids with dots).
pub fn physical_name(lineage: &str, uid: &str, sep: &str, max: usize) -> String {
    let (_, scope) = uid.split_once('#').expect("a uid");
    let parts: Vec<&str> = match scope.split_once('.') {
        Some((w, r)) => vec![w, r],
        None => vec!["shared", scope],
    };
    baton::naming::derive(&parts, &baton::naming::suffix(lineage, uid), sep, max)
        .expect("a valid name")
}

impl Sandbox {
    /// Copies a folder of the repository (e.g. `examples/hello`) into the sandbox root.
    pub fn copy_from_repo(&self, rel: &str) {
        copy_dir(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(rel),
            self.dir.path(),
        );
    }

    /// Reads a file of the sandbox.
    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name))
            .unwrap_or_else(|e| panic!("read {name}: {e}"))
    }

    /// A command for baton in the sandbox (for background runs).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_baton"));
        c.current_dir(self.dir.path())
            .env("NO_COLOR", "1")
            .args(args);
        c
    }

    /// Runs baton with `args` in the sandbox, without colour.
    pub fn run(&self, args: &[&str]) -> Run {
        Run::of(
            self.command(args)
                .stdin(std::process::Stdio::null())
                .output()
                .expect("run baton"),
        )
    }
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for e in std::fs::read_dir(from).expect("read dir").flatten() {
        let name = e.file_name();
        if name == ".baton" || name == "deploy" {
            continue;
        }
        let (src, dst) = (e.path(), to.join(&name));
        if src.is_dir() {
            copy_dir(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).expect("copy file");
        }
    }
}

/// A small valid workload, used as a base by tests.
pub const WEB: &str = "\
apiVersion: score.dev/v1b1
metadata:
  name: web
containers:
  main:
    image: nginx:1.27
    variables:
      DB_HOST: ${resources.db.host}
      CACHE: ${resources.cache.host}
service:
  ports:
    http:
      port: 80
      targetPort: 8080
resources:
  db:
    type: postgres
  cache:
    type: redis
    id: main-cache
";

/// A PostgreSQL database of its own on the local server (127.0.0.1:5432), for a test's
/// state; dropped (with its connections) when the test ends.
pub struct PgDb {
    name: String,
}

impl PgDb {
    pub fn new() -> PgDb {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!(
            "baton_t_{}_{nanos:x}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        psql("postgres", &format!("CREATE DATABASE {name}"));
        PgDb { name }
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:5432/{}", self.name)
    }

    /// Runs SQL in it, returning the rows as `psql -At` prints them.
    pub fn sql(&self, sql: &str) -> String {
        psql(&self.name, sql)
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args([
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-Atc",
            ])
            .arg(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .output();
    }
}

/// Runs a client of the test servers (`redis-cli`, `psql`, `mariadb`) and returns its
/// stdout; panics when it cannot start or exits with an error, so that a dead server
/// never reads as an empty answer ("no such user", "no rows") to a negative check.
pub fn sh(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd).args(args).output().unwrap_or_else(|e| {
        panic!("{cmd} is needed by this test ({e}); .ci/services starts the servers")
    });
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed (is its server up? .ci/services starts it): {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `redis-cli` on the local Redis (127.0.0.1:6379), checked as [`sh`] is
/// (redis-cli exits 1 when it cannot reach the server).
pub fn redis(args: &[&str]) -> String {
    let mut a = vec!["-h", "127.0.0.1", "-p", "6379"];
    a.extend_from_slice(args);
    sh("redis-cli", &a)
}

/// Runs SQL on the local PostgreSQL server as `postgres` in database `db`.
pub fn psql(db: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            db,
            "-v",
            "ON_ERROR_STOP=1",
            "-Atc",
            sql,
        ])
        .output()
        .unwrap_or_else(|e| {
            panic!("psql is needed by this test ({e}); .ci/services starts PostgreSQL")
        });
    assert!(
        out.status.success(),
        "psql {sql:?} failed (is PostgreSQL up? .ci/services starts it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Waits (polling, never sleeping blindly for the whole time) until `cond` holds.
pub fn wait_for(what: &str, timeout: std::time::Duration, mut cond: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !cond() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The hostile-neighbours session, for a project whose configuration asks for objects
/// that someone else made: three applies, a drift, an apply aborted right after its first
/// provider call returned and before it was recorded (SIGABRT, as hard as kill -9 for the
/// state), the next apply, and a destroy. Every apply must be refused (`refused` checks
/// how, given the run and the step's name), nothing replaced, adopted or recorded of the
/// `kinds` (prefixes of kind names), and `check` that the neighbour is untouched after
/// every step. `command` makes a baton command in the project (with whatever environment
/// its servers need).
pub fn hostile_session(
    command: &dyn Fn(&[&str]) -> Command,
    kinds: &[&str],
    refused: &dyn Fn(&Run, &str),
    check: &dyn Fn(&str),
) {
    let run = |args: &[&str]| Run::of(command(args).output().expect("run baton"));
    for i in 1..=3 {
        refused(&run(&["apply", "--auto-approve"]), &format!("apply {i}"));
        check(&format!("after apply {i}"));
    }
    let drift = run(&["drift"]);
    assert_eq!(drift.code, 0, "{}", drift.transcript());
    check("after drift");

    let mut killed = command(&["apply", "--auto-approve"]);
    killed.env("BATON_CHAOS", "seed=1,abort_after=1");
    let killed = Run::of(killed.output().expect("run baton"));
    assert_eq!(
        killed.signal,
        Some(libc::SIGABRT),
        "the chaos run was aborted (SIGABRT) after its first call\n{}",
        killed.transcript()
    );
    check("after an apply killed mid-way");
    let next = run(&["apply", "--auto-approve"]);
    refused(&next, "the apply after the kill");
    assert!(
        !next.stdout.contains("must be replaced"),
        "nothing is replaced\n{}",
        next.transcript()
    );
    let history = run(&["state", "history"]);
    assert!(
        !history.stdout.contains("adopt") && !kinds.iter().any(|k| history.stdout.contains(k)),
        "nothing was adopted or recorded\n{}",
        history.transcript()
    );
    check("after the apply that followed the kill");

    let destroy = run(&["destroy", "--auto-approve"]);
    assert_eq!(destroy.code, 0, "{}", destroy.transcript());
    check("after destroy");
}

/// A pseudo-terminal: its near side (for the test) and its far side (for baton's stdin
/// or stdout, which then is a terminal).
pub fn pty() -> (std::os::fd::OwnedFd, std::os::fd::OwnedFd) {
    use std::os::fd::{FromRawFd, OwnedFd};
    let (mut near, mut far) = (0, 0);
    // SAFETY: openpty writes two new descriptors into the integers it is given; the
    // null name, termios and window size pointers are allowed.
    let rc = unsafe {
        libc::openpty(
            &mut near,
            &mut far,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened by openpty and are owned here only.
    unsafe { (OwnedFd::from_raw_fd(near), OwnedFd::from_raw_fd(far)) }
}
