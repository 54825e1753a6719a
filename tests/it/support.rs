//! A sandbox: a temporary project directory and a way to run the real `baton` in it.

use std::path::PathBuf;
use std::process::Command;

/// A temporary project directory.
pub struct Sandbox {
    dir: tempfile::TempDir,
}

/// What a run printed and how it ended.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Exit code, stdout and stderr as one snapshot-friendly text.
    pub fn transcript(&self) -> String {
        format!(
            "exit code: {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
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
        let out = self
            .command(args)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run baton");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
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
