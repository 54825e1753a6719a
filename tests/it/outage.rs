//! A PostgreSQL server that stops in the middle of an apply: the apply fails cleanly
//! naming the resource, the state holds what was done, and once the server is back the
//! next apply converges. The test runs its own PostgreSQL cluster (initdb on a free
//! port) so that stopping it disturbs no other test.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::Sandbox;

struct PrivatePostgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
}

fn pg_bin() -> PathBuf {
    let root = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap_or_else(|e| panic!("PostgreSQL server binaries are needed in /usr/lib/postgresql ({e}); install postgresql"))
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("initdb").exists())
        .collect();
    versions.sort();
    versions
        .pop()
        .expect("an initdb under /usr/lib/postgresql/*/bin")
}

fn as_postgres(cmd: &Path, args: &[&str]) -> std::process::Output {
    // initdb and pg_ctl refuse to run as root.
    let mut c = if nix_is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(cmd);
        c
    } else {
        Command::new(cmd)
    };
    c.args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run a PostgreSQL tool")
}

fn nix_is_root() -> bool {
    std::env::var("USER").map(|u| u == "root").unwrap_or(false)
        || Command::new("id")
            .arg("-u")
            .output()
            .map(|o| o.stdout.starts_with(b"0"))
            .unwrap_or(false)
}

impl PrivatePostgres {
    fn start() -> PrivatePostgres {
        let bin = pg_bin();
        let dir = tempfile::tempdir().expect("temp dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if nix_is_root() {
            assert!(
                Command::new("chown")
                    .args(["-R", "postgres:postgres"])
                    .arg(dir.path())
                    .status()
                    .unwrap()
                    .success()
            );
        }
        let data = dir.path().join("data");
        let out = as_postgres(
            &bin.join("initdb"),
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
            ],
        );
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let pg = PrivatePostgres { dir, bin, port };
        pg.up();
        pg
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn up(&self) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("log").display().to_string();
        let out = as_postgres(
            &self.bin.join("pg_ctl"),
            &["-D", &self.data(), "-o", &opts, "-l", &log, "-w", "start"],
        );
        assert!(
            out.status.success(),
            "pg_ctl start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn down(&self) {
        let out = as_postgres(
            &self.bin.join("pg_ctl"),
            &["-D", &self.data(), "-m", "fast", "-w", "stop"],
        );
        assert!(
            out.status.success(),
            "pg_ctl stop: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn query(&self, sql: &str) -> String {
        let out = Command::new("psql")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-At",
                "-c",
                sql,
            ])
            .output()
            .expect("psql");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = as_postgres(
            &self.bin.join("pg_ctl"),
            &["-D", &self.data(), "-m", "immediate", "stop"],
        );
    }
}

const MODULE: &str = r#"
provisions "slowpg" {}
resource "postgres_role" "first" {
  name  = "${score.workload}_first"
  login = true
}
resource "time_sleep" "wait" {
  create_duration = "3s"
  depends_on      = [postgres_role.first]
}
resource "postgres_database" "second" {
  name       = "${score.workload}_second"
  owner      = postgres_role.first.name
  depends_on = [time_sleep.wait]
}
"#;

#[test]
fn a_server_stopping_mid_apply_fails_cleanly_and_the_next_apply_converges() {
    let pg = PrivatePostgres::start();
    let sb = Sandbox::new();
    sb.write("baton.hcl", &format!("environment \"local\" {{\n  provider \"postgres\" {{ url = \"postgres://postgres@127.0.0.1:{}/postgres\" }}\n}}\n", pg.port));
    sb.write("modules/slowpg.hcl", MODULE);
    sb.write("score.yaml", "apiVersion: score.dev/v1b1\nmetadata:\n  name: shop\ncontainers:\n  main:\n    image: busybox\nresources:\n  db:\n    type: slowpg\n");
    let child = sb
        .command(&["apply", "--auto-approve"])
        .env("BATON_RETRY_BUDGET", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start apply");
    // The event: the role is recorded and the sleep has started (its intent is
    // committed), so the database is not made yet. The apply is stopped there (SIGSTOP)
    // while the server goes down, however long that takes, and then resumed: its next
    // call meets the stopped server.
    let state = sb.path().join(".baton/state.db");
    let rows = |sql: &str| -> Vec<String> {
        let Ok(conn) = rusqlite::Connection::open_with_flags(
            &state,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        ) else {
            return Vec::new();
        };
        let Ok(mut st) = conn.prepare(sql) else {
            return Vec::new();
        };
        st.query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    crate::support::wait_for(
        "the role recorded and the sleep started",
        Duration::from_secs(60),
        || {
            rows("SELECT address FROM objects")
                .iter()
                .any(|a| a.ends_with("/postgres_role.first"))
                && rows("SELECT address FROM intents")
                    .iter()
                    .any(|a| a.ends_with("/time_sleep.wait"))
        },
    );
    let signal = |sig: &str| {
        assert!(
            Command::new("kill")
                .args([sig, &child.id().to_string()])
                .status()
                .unwrap()
                .success(),
            "kill {sig}"
        );
    };
    signal("-STOP");
    let started_after: Vec<String> = rows("SELECT address FROM objects")
        .into_iter()
        .chain(rows("SELECT address FROM intents"))
        .filter(|a| a.ends_with("/postgres_database.second"))
        .collect();
    assert!(
        started_after.is_empty(),
        "the database call started before the apply was stopped (a 3 s sleep passed between two polls)"
    );
    pg.down();
    signal("-CONT");
    let out = child.wait_with_output().expect("apply ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("error: slowpg.default#shop.db/postgres_database.second:"),
        "{stderr}"
    );
    let state = sb.run(&["state", "list"]).stdout;
    assert!(
        state.contains("postgres_role.first") && state.contains("time_sleep.wait"),
        "{state}"
    );
    assert!(!state.contains("postgres_database.second"), "{state}");

    pg.up();
    let run = sb.run(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stdout.contains("1 added, 0 changed"),
        "only the database was left: {}",
        run.stdout
    );
    assert_eq!(
        pg.query("SELECT rolname FROM pg_roles WHERE rolname = 'shop_first'"),
        "shop_first"
    );
    assert_eq!(
        pg.query("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'shop_second'"),
        "shop_first"
    );
    assert_eq!(sb.run(&["plan", "--detailed-exitcode"]).code, 0);
}
