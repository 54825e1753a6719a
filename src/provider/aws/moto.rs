//! The AWS emulator for the tests: one `moto_server` per test process, on a free
//! loopback port, started on first use.
//!
//! Which executable: `BATON_MOTO_SERVER` when set, else `target/moto-venv/bin/moto_server`
//! under the crate; when neither exists the venv is made (`python3 -m venv` and
//! `pip install 'moto[server]'`). When that fails the tests fail, saying how to install it.
//!
//! Stopping it: the test harness never runs static destructors, and a killed test
//! process runs nothing at all. So moto is started by a small `sh` wrapper that reads
//! its standard input until end of file and then kills moto; the pipe's write end is
//! held by this process (in a static), and the kernel closes it however the process
//! ends — normally, by a panic, or by SIGKILL. No orphaned server is left behind.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A running emulator.
pub struct Moto {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The wrapper; its stdin pipe is the emulator's lifeline. Never dropped.
    _wrapper: Mutex<Child>,
}

static MOTO: OnceLock<Result<Moto, String>> = OnceLock::new();

/// The emulator of this test process, started on first use; fails the test (with how
/// to install moto) when it cannot be started.
pub fn moto() -> &'static Moto {
    match MOTO.get_or_init(start) {
        Ok(m) => m,
        Err(e) => panic!("{e}"),
    }
}

const HOW: &str = "the AWS tests need moto's server: `python3 -m venv target/moto-venv && \
    target/moto-venv/bin/pip install 'moto[server]'` (needs python3-venv and access to PyPI), \
    or set BATON_MOTO_SERVER to the path of a `moto_server` executable";

fn executable() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("BATON_MOTO_SERVER") {
        let p = PathBuf::from(p);
        return if p.exists() {
            Ok(p)
        } else {
            Err(format!("BATON_MOTO_SERVER={} does not exist; {HOW}", p.display()))
        };
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/moto-venv");
    let exe = venv.join("bin/moto_server");
    if exe.exists() {
        return Ok(exe);
    }
    let run = |cmd: &mut Command| -> Result<(), String> {
        let out = cmd.output().map_err(|e| format!("cannot run {cmd:?}: {e}; {HOW}"))?;
        if out.status.success() {
            Ok(())
        } else {
            let err = String::from_utf8_lossy(&out.stderr);
            let tail: String = err.lines().rev().take(15).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n");
            Err(format!("{cmd:?} failed ({}):\n{tail}\n{HOW}", out.status))
        }
    };
    eprintln!("creating {} and installing moto[server] (once)…", venv.display());
    run(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
    run(Command::new(venv.join("bin/pip")).args(["install", "--quiet", "moto[server]"]))?;
    if exe.exists() { Ok(exe) } else { Err(format!("{} was not installed; {HOW}", exe.display())) }
}

fn start() -> Result<Moto, String> {
    let exe = executable()?;
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free loopback port: {e}"))?
        .port();
    let log = std::env::temp_dir().join(format!("baton-moto-{}.log", std::process::id()));
    let log_file = std::fs::File::create(&log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
    // `cat` returns at end of input, i.e. when this process is gone; then moto is killed.
    let script = r#""$0" -H 127.0.0.1 -p "$1" </dev/null & m=$!; cat >/dev/null; kill "$m" 2>/dev/null; wait "$m""#;
    let child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(&exe)
        .arg(port.to_string())
        .stdin(Stdio::piped())
        .stdout(log_file.try_clone().map_err(|e| e.to_string())?)
        .stderr(log_file)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}; {HOW}", exe.display()))?;
    let mut wrapper = child;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        let exited = wrapper.try_wait().ok().flatten();
        if exited.is_some() || Instant::now() > deadline {
            let _ = wrapper.kill();
            let mut text = String::new();
            let _ = std::fs::File::open(&log).and_then(|mut f| f.read_to_string(&mut text));
            return Err(format!(
                "moto_server ({}) did not answer on 127.0.0.1:{port}{}; its output:\n{text}\n{HOW}",
                exe.display(),
                exited.map(|s| format!(" (exited: {s})")).unwrap_or_default()
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(Moto { endpoint: format!("http://127.0.0.1:{port}"), _wrapper: Mutex::new(wrapper) })
}
