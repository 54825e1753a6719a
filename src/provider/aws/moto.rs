//! The AWS emulator for the tests: one `moto_server` per test process, on a free
//! loopback port, started on first use.
//!
//! Which executable: `BATON_MOTO_SERVER` when set, else `target/moto-venv/bin/moto_server`
//! under the crate; when neither exists the venv is made (`python3 -m venv` and
//! `pip install 'moto[server]==5.2.5'`, see [`MOTO`]). When that fails the tests fail,
//! saying how to install it.
//!
//! A Python `moto_server` (any pip-installed one is) is run through its interpreter with
//! three small fixes of moto applied first (see [`PATCHED_SERVER`]).
//!
//! Stopping it: the test harness never runs static destructors, and a killed test
//! process runs nothing at all. So moto is started by a small `sh` wrapper that reads
//! its standard input until end of file and then kills moto; the pipe's write end is
//! held by this process (in a static), and the kernel closes it however the process
//! ends — normally, by a panic, or by SIGKILL. No orphaned server is left behind.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
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

static SERVER: OnceLock<Result<Moto, String>> = OnceLock::new();

/// The emulator of this test process, started on first use; fails the test (with how
/// to install moto) when it cannot be started.
pub fn moto() -> &'static Moto {
    match SERVER.get_or_init(start) {
        Ok(m) => m,
        Err(e) => panic!("{e}"),
    }
}

/// The moto release the tests install.
const MOTO: &str = "moto[server]==5.2.5";

/// Runs moto's server after fixing two answers the Rust SDK cannot read (boto3, which
/// moto is tested with, does not mind either): since 5.2, `GetBucketVersioning` comes
/// back with the root element `GetBucketVersioningResponse` where S3 says
/// `VersioningConfiguration` (the Rust SDK checks the root); before 5.2, Route 53 record
/// values come inside `<![CDATA[…]]>`, which the SDK's XML reader skips. And one
/// behaviour: moto leaves a deleted ElastiCache replication group in the state
/// `deleting` for ever, where AWS removes it after a few minutes; the fix removes it at
/// once (what AWS reaches once the provider's wait is over). Each fix does nothing on a
/// version without the fault.
const PATCHED_SERVER: &str = r#"
import sys
import moto.route53.responses as r53
for name, value in list(vars(r53).items()):
    if isinstance(value, str) and "<![CDATA[{{ resource }}]]>" in value:
        setattr(r53, name, value.replace("<![CDATA[{{ resource }}]]>", "{{ resource|e }}"))
from moto.s3.responses import S3Response
def fix(result):
    if isinstance(result, tuple):
        return result[:-1] + (fix(result[-1]),)
    if isinstance(result, bytes):
        return result.replace(b"GetBucketVersioningResponse", b"VersioningConfiguration")
    if isinstance(result, str):
        return result.replace("GetBucketVersioningResponse", "VersioningConfiguration")
    return result
original = S3Response.get_bucket_versioning
S3Response.get_bucket_versioning = lambda self: fix(original(self))
from moto.elasticache.models import ElastiCacheBackend
delete_group = ElastiCacheBackend.delete_replication_group
def delete_group_at_once(self, *args, **kwargs):
    group = delete_group(self, *args, **kwargs)
    self.replication_groups.pop(group.replication_group_id, None)
    return group
ElastiCacheBackend.delete_replication_group = delete_group_at_once
from moto.server import main
main(sys.argv[1:])
"#;

const HOW: &str = "the AWS tests need moto's server: `python3 -m venv target/moto-venv && \
    target/moto-venv/bin/pip install 'moto[server]==5.2.5'` (needs python3-venv and access to \
    PyPI), or set BATON_MOTO_SERVER to the path of a `moto_server` executable";

fn executable() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("BATON_MOTO_SERVER") {
        let p = PathBuf::from(p);
        return if p.exists() {
            Ok(p)
        } else {
            Err(format!(
                "BATON_MOTO_SERVER={} does not exist; {HOW}",
                p.display()
            ))
        };
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/moto-venv");
    let exe = venv.join("bin/moto_server");
    // The venv records what it was made with, so changing MOTO reinstalls.
    let marker = venv.join("baton-requirement.txt");
    if exe.exists() && std::fs::read_to_string(&marker).is_ok_and(|m| m.trim() == MOTO) {
        return Ok(exe);
    }
    let run = |cmd: &mut Command| -> Result<(), String> {
        let out = cmd
            .output()
            .map_err(|e| format!("cannot run {cmd:?}: {e}; {HOW}"))?;
        if out.status.success() {
            Ok(())
        } else {
            let err = String::from_utf8_lossy(&out.stderr);
            let tail: Vec<&str> = err.lines().rev().take(15).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            Err(format!(
                "{cmd:?} failed ({}):\n{}\n{HOW}",
                out.status,
                tail.join("\n")
            ))
        }
    };
    eprintln!("installing {MOTO} into {} (once)…", venv.display());
    if !venv.join("bin/pip").exists() {
        run(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
    }
    run(Command::new(venv.join("bin/pip")).args(["install", "--quiet", MOTO]))?;
    std::fs::write(&marker, MOTO).map_err(|e| format!("cannot write {}: {e}", marker.display()))?;
    if exe.exists() {
        Ok(exe)
    } else {
        Err(format!("{} was not installed; {HOW}", exe.display()))
    }
}

/// How to run the server at `exe`: through its Python interpreter (read from its `#!`
/// line) with the fixes of [`PATCHED_SERVER`]; as it is when it is not a Python script.
fn server_command(exe: &Path) -> Vec<String> {
    let first_line = std::fs::read(exe)
        .ok()
        .and_then(|b| {
            b.split(|c| *c == b'\n')
                .next()
                .map(|l| String::from_utf8_lossy(l).into_owned())
        })
        .unwrap_or_default();
    match first_line.strip_prefix("#!") {
        Some(interp) if interp.contains("python") => {
            let mut argv: Vec<String> = interp.split_whitespace().map(str::to_string).collect();
            argv.extend(["-c".into(), PATCHED_SERVER.into()]);
            argv
        }
        _ => vec![exe.display().to_string()],
    }
}

fn start() -> Result<Moto, String> {
    let exe = executable()?;
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free loopback port: {e}"))?
        .port();
    let log = std::env::temp_dir().join(format!("baton-moto-{}.log", std::process::id()));
    let log_file =
        std::fs::File::create(&log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
    let mut argv = server_command(&exe);
    argv.extend([
        "-H".into(),
        "127.0.0.1".into(),
        "-p".into(),
        port.to_string(),
    ]);
    // `cat` returns at end of input, i.e. when this process is gone; then moto is killed.
    let script = r#""$@" </dev/null & m=$!; cat >/dev/null; kill "$m" 2>/dev/null; wait "$m""#;
    let child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg("sh")
        .args(&argv)
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
                exited
                    .map(|s| format!(" (exited: {s})"))
                    .unwrap_or_default()
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(Moto {
        endpoint: format!("http://127.0.0.1:{port}"),
        _wrapper: Mutex::new(wrapper),
    })
}
