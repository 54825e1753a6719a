//! Commands and options that no other session covers, each through the binary: `init`,
//! `modules list` and `modules show`, `plan --compact`, `--destroy` and `--refresh=false`,
//! `show PLANFILE` in every format, `drift --format markdown`, `output UID`, the
//! `*_KEY_FILE` variables, coloured output on a terminal, and manifests edited or deleted
//! by hand reported as drift.

use std::io::Read;
use std::process::Stdio;

use serde_json::Value;

use crate::support::{Run, Sandbox};

fn hello() -> Sandbox {
    let sb = Sandbox::new();
    sb.copy_from_repo("examples/hello");
    sb
}

/// Runs baton and asserts its exit code.
fn ok(sb: &Sandbox, args: &[&str], code: i32) -> Run {
    let run = sb.run(args);
    assert_eq!(run.code, code, "{args:?}\n{}", run.transcript());
    run
}

fn applied_hello() -> Sandbox {
    let sb = hello();
    ok(&sb, &["apply", "--auto-approve"], 0);
    sb
}

#[test]
fn init_writes_a_starter_project_and_never_overwrites() {
    let sb = Sandbox::new();
    let run = ok(&sb, &["init"], 0);
    assert!(
        run.stdout.contains("Wrote score.yaml and baton.hcl"),
        "{}",
        run.stdout
    );
    let score = sb.read("score.yaml");
    let hcl = sb.read("baton.hcl");
    assert!(score.contains("apiVersion: score.dev/v1b1"), "{score}");
    // The environment `local`: SQLite state in .baton, manifests in deploy/local. (That
    // baton.hcl parses is issue 22's first item, tested with its fix; here the Score file
    // is validated alone.)
    for part in [
        "environment \"local\"",
        "sqlite",
        "\".baton/state.db\"",
        "\"deploy/local\"",
    ] {
        assert!(hcl.contains(part), "{part} in:\n{hcl}");
    }
    // The workload it writes is valid Score, with a resource the built-in modules provide.
    std::fs::rename(
        sb.path().join("baton.hcl"),
        sb.path().join("baton.hcl.written"),
    )
    .unwrap();
    let valid = ok(&sb, &["validate", "--format", "json"], 0);
    std::fs::rename(
        sb.path().join("baton.hcl.written"),
        sb.path().join("baton.hcl"),
    )
    .unwrap();
    let v: Value = serde_json::from_str(&valid.stdout).unwrap();
    assert_eq!(v["valid"], true, "{}", valid.stdout);
    let types: Vec<&str> = v["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["dns"], "{}", valid.stdout);
    // A second init refuses, naming the file, and changes nothing.
    sb.write("score.yaml", "# mine\n");
    let again = ok(&sb, &["init"], 1);
    assert!(
        again.stderr.contains("score.yaml already exists"),
        "{}",
        again.stderr
    );
    assert_eq!(sb.read("score.yaml"), "# mine\n");
    assert_eq!(sb.read("baton.hcl"), hcl);
}

#[test]
fn modules_list_and_show_name_every_module_and_its_interface() {
    let sb = hello();
    let list = ok(&sb, &["modules", "list"], 0);
    let lines: Vec<&str> = list.stdout.lines().collect();
    assert!(
        lines[0].starts_with("TYPE") && lines[0].contains("MODULE"),
        "{}",
        list.stdout
    );
    // The project's module with its file, and the built-in ones per environment.
    let project = sb.path().join("modules/secret.hcl").display().to_string();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("secret ") && l.ends_with(&project)),
        "{}",
        list.stdout
    );
    // Only what `local` can use: prod's AWS modules are not listed.
    assert!(
        !list.stdout.contains("modules/postgres/aws.hcl"),
        "{}",
        list.stdout
    );
    for (ty, file) in [
        ("postgres", "built-in modules/postgres/local.hcl"),
        ("volume", "built-in modules/volume/local.hcl"),
    ] {
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(&format!("{ty} ")) && l.ends_with(file)),
            "{ty} {file}:\n{}",
            list.stdout
        );
    }

    let show = ok(&sb, &["modules", "show", "postgres"], 0);
    let local = show
        .stdout
        .split("\n\n")
        .find(|b| b.starts_with("postgres/local "))
        .unwrap_or_else(|| panic!("no postgres/local block:\n{}", show.stdout));
    for line in [
        "environments: local",
        "database: string = null",
        "resources: random_password.password, postgres_role.owner, postgres_database.db",
        "outputs: host, port, name, database, username, password (sensitive)",
    ] {
        assert!(local.contains(line), "{line:?} in:\n{local}");
    }
    let bad = ok(&sb, &["modules", "show", "postgress"], 1);
    assert!(
        bad.stderr
            .contains("no module provisions `postgress`; did you mean `postgres`?"),
        "{}",
        bad.stderr
    );
}

#[test]
fn plan_compact_prints_one_line_per_change() {
    let sb = applied_hello();
    sb.write(
        "web.score.yaml",
        &sb.read("web.score.yaml").replace("path: /\n", "path: /x\n"),
    );
    let run = ok(&sb, &["plan", "--compact"], 0);
    assert_eq!(
        run.stdout,
        "workload web\n  ~   update   route.default#web.route/local_file.route  (changed: content)\nPlan: 0 to add, 1 to change, 0 to replace, 0 to destroy.\n"
    );
}

#[test]
fn plan_destroy_lists_every_object_dependents_first_and_changes_nothing() {
    let sb = applied_hello();
    let before = ok(&sb, &["state", "list"], 0).stdout;
    let run = ok(&sb, &["plan", "--destroy", "--compact"], 0);
    assert!(
        run.stdout
            .ends_with("Plan: 0 to add, 0 to change, 0 to replace, 6 to destroy.\n"),
        "{}",
        run.stdout
    );
    let at = |addr: &str| {
        run.stdout
            .find(&format!("delete   {addr}  "))
            .unwrap_or_else(|| panic!("{addr} is not deleted:\n{}", run.stdout))
    };
    for addr in before.lines() {
        at(addr);
    }
    // A workload goes before what it uses.
    assert!(at("workload.web") < at("secret.default#web.session/random_password.value"));
    assert!(at("workload.web") < at("volume.default#web.uploads/local_directory.data"));
    assert!(at("workload.worker") < at("volume.default#job-queue/local_directory.data"));
    assert_eq!(ok(&sb, &["state", "list"], 0).stdout, before);
    assert!(sb.path().join("deploy/local/web.yaml").exists());
    let json = ok(&sb, &["plan", "--destroy", "--format", "json"], 0);
    let v: Value = serde_json::from_str(&json.stdout).unwrap();
    assert!(
        v["changes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["action"] == "delete"),
        "{}",
        json.stdout
    );
}

#[test]
fn manifests_edited_or_deleted_by_hand_are_drift_and_refresh_false_does_not_look() {
    let sb = applied_hello();
    let web = sb.read("deploy/local/web.yaml");
    sb.write("deploy/local/web.yaml", &format!("{web}# edited by hand\n"));
    std::fs::remove_file(sb.path().join("deploy/local/worker.yaml")).unwrap();

    let text = ok(&sb, &["drift"], 2);
    assert!(
        text.stdout
            .contains("# workload.web was changed outside baton")
            && text.stdout.contains("+ # edited by hand")
            && text
                .stdout
                .contains("# workload.worker was deleted outside baton")
            && text.stdout.contains("2 objects changed outside baton."),
        "{}",
        text.stdout
    );
    let md = ok(&sb, &["drift", "--format", "markdown"], 2);
    assert!(
        md.stdout
            .starts_with("### ⚠️ baton drift: 2 objects changed outside baton in `local`\n"),
        "{}",
        md.stdout
    );
    for row in [
        "| `workload.web` | workload_manifests | changed: files |",
        "| `workload.worker` | workload_manifests | deleted |",
        "<details><summary><code>workload.web</code></summary>",
        "```diff",
    ] {
        assert!(md.stdout.contains(row), "{row:?} in:\n{}", md.stdout);
    }

    // Without refresh, the plan trusts the state: nothing to do.
    let stale = ok(&sb, &["plan", "--refresh=false", "--detailed-exitcode"], 0);
    assert!(stale.stdout.contains("No changes."), "{}", stale.stdout);
    // With it, both converge.
    let plan = ok(&sb, &["plan", "--compact", "--detailed-exitcode"], 2);
    assert!(
        plan.stdout
            .contains("~   update   workload.web  (changed outside baton)")
            && plan
                .stdout
                .contains("+   create   workload.worker  (changed outside baton)"),
        "{}",
        plan.stdout
    );
    ok(&sb, &["apply", "--auto-approve"], 0);
    assert_eq!(sb.read("deploy/local/web.yaml"), web);
    assert!(sb.path().join("deploy/local/worker.yaml").exists());
    let none = ok(&sb, &["drift", "--format", "markdown"], 0);
    assert!(
        none.stdout
            .starts_with("### ✅ baton drift: none in `local`"),
        "{}",
        none.stdout
    );
}

#[test]
fn show_renders_a_saved_plan_as_plan_printed_it_in_every_format() {
    let sb = applied_hello();
    sb.write(
        "web.score.yaml",
        &sb.read("web.score.yaml").replace("path: /\n", "path: /x\n"),
    );
    let saved = ok(&sb, &["plan", "--out", "change.plan"], 0);
    let shown = ok(&sb, &["show", "change.plan"], 0);
    assert_eq!(
        saved.stdout,
        format!(
            "{}\nSaved the plan to change.plan; apply it with: baton apply change.plan\n",
            shown.stdout
        )
    );
    assert!(
        shown
            .stdout
            .contains("route.default#web.route/local_file.route will be updated in place"),
        "{}",
        shown.stdout
    );
    for format in ["markdown", "json"] {
        let planned = ok(&sb, &["plan", "--format", format], 0);
        let shown = ok(&sb, &["show", "change.plan", "--format", format], 0);
        assert_eq!(shown.stdout, planned.stdout, "--format {format}");
    }
    let md = ok(&sb, &["show", "change.plan", "--format", "markdown"], 0);
    assert!(
        md.stdout.starts_with(
            "### 📋 baton plan `local`: 0 to add, 1 to change, 0 to replace, 0 to destroy"
        ),
        "{}",
        md.stdout
    );
    // The state has no Markdown form: a clear error, not an empty page.
    let state_md = ok(&sb, &["show", "--format", "markdown"], 1);
    assert!(
        state_md.stderr.contains("the state has no Markdown form"),
        "{}",
        state_md.stderr
    );
    let missing = ok(&sb, &["show", "missing.plan"], 1);
    assert!(
        missing.stderr.contains("missing.plan"),
        "{}",
        missing.stderr
    );
}

#[test]
fn output_of_one_uid_prints_only_that_resource() {
    let sb = applied_hello();
    let all: Value = serde_json::from_str(&ok(&sb, &["output", "--json"], 0).stdout).unwrap();
    let host = all["dns.default#web.dns"]["host"].as_str().unwrap();
    let one = ok(&sb, &["output", "dns.default#web.dns"], 0);
    assert_eq!(
        one.stdout,
        format!("dns.default#web.dns\n  host = {host}\n")
    );
    let json = ok(&sb, &["output", "--json", "dns.default#web.dns"], 0);
    let v: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"dns.default#web.dns": {"host": host}})
    );
    let unknown = ok(&sb, &["output", "dns.default#nope"], 1);
    assert!(
        unknown
            .stderr
            .contains("no resource with uid `dns.default#nope`"),
        "{}",
        unknown.stderr
    );
}

/// Runs baton with `vars` set (and `BATON_STATE_KEY` unset).
fn with_vars(sb: &Sandbox, vars: &[(&str, &str)], args: &[&str]) -> Run {
    let mut cmd = sb.command(args);
    cmd.env_remove("BATON_STATE_KEY")
        .env_remove("BATON_NEW_STATE_KEY")
        .stdin(Stdio::null());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    Run::of(cmd.output().expect("run baton"))
}

/// Everything the SQLite state holds on disk (database and write-ahead log).
fn state_bytes(sb: &Sandbox) -> Vec<u8> {
    let mut all = Vec::new();
    for f in [".baton/state.db", ".baton/state.db-wal"] {
        if let Ok(b) = std::fs::read(sb.path().join(f)) {
            all.extend(b);
        }
    }
    all
}

/// Asserts a run's exit code and that it printed `needle` (on stdout or stderr).
fn says(run: &Run, code: i32, needle: &str) {
    assert_eq!(run.code, code, "{}", run.transcript());
    assert!(
        run.stdout.contains(needle) || run.stderr.contains(needle),
        "{needle:?} in:\n{}",
        run.transcript()
    );
}

#[test]
fn state_keys_are_read_from_key_files() {
    let sb = hello();
    let k1 = ok(&sb, &["state", "keygen"], 0).stdout;
    let k2 = ok(&sb, &["state", "keygen"], 0).stdout;
    assert_ne!(k1, k2);
    sb.write("k1", &k1);
    sb.write("k2", &k2);
    sb.write("bad", "not a key\n");
    let file = |name: &str| sb.path().join(name).display().to_string();
    let (f1, f2) = (file("k1"), file("k2"));
    let show = |key: &str| {
        with_vars(
            &sb,
            &[("BATON_STATE_KEY_FILE", key)],
            &["output", "--json", "--show-sensitive"],
        )
    };

    let run = with_vars(
        &sb,
        &[("BATON_STATE_KEY_FILE", &f1)],
        &["apply", "--auto-approve"],
    );
    says(&run, 0, "Apply complete!");
    assert!(!run.stderr.contains("stored in clear"), "{}", run.stderr);
    let out = show(&f1);
    says(&out, 0, "secret.default#web.session");
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    let secret = v["secret.default#web.session"]["value"]
        .as_str()
        .unwrap()
        .to_string();
    // Sealed on disk.
    let bytes = state_bytes(&sb);
    assert!(!bytes.is_empty());
    assert!(
        !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
        "the secret is in the state file in clear"
    );
    // Without a key: refused, naming both variables.
    says(
        &with_vars(&sb, &[], &["output", "--show-sensitive"]),
        1,
        "set BATON_STATE_KEY (or BATON_STATE_KEY_FILE) to that key",
    );
    // Re-sealed with the key of BATON_NEW_STATE_KEY_FILE: the old key no longer opens it.
    let rekey = with_vars(
        &sb,
        &[
            ("BATON_STATE_KEY_FILE", &f1),
            ("BATON_NEW_STATE_KEY_FILE", &f2),
        ],
        &["state", "rekey"],
    );
    says(&rekey, 0, "Re-sealed the secrets of");
    says(&show(&f1), 1, "were sealed with key");
    says(&show(&f2), 0, &secret);
    // A missing or malformed key file: a clear error naming the variable and the file.
    says(
        &show(&file("nope")),
        1,
        &format!("BATON_STATE_KEY_FILE: cannot read {}", file("nope")),
    );
    says(
        &show(&file("bad")),
        1,
        "the state key must be 32 random bytes in base64",
    );
}

/// Runs baton with its stdout on a pseudo-terminal, returning what it printed there.
fn on_a_terminal(sb: &Sandbox, args: &[&str], no_color: bool) -> String {
    let (master, slave) = crate::support::pty();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_baton"));
    cmd.current_dir(sb.path())
        .args(args)
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .stdout(Stdio::from(slave))
        .stderr(Stdio::null());
    if no_color {
        cmd.env("NO_COLOR", "1");
    }
    let mut child = cmd.spawn().expect("start baton");
    // The Command still holds the slave side: drop it so that reading ends with baton.
    drop(cmd);
    let mut reader = std::fs::File::from(master);
    let read = std::thread::spawn(move || {
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        // On Linux reading the master fails with EIO once every slave is closed.
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        out
    });
    let status = child.wait().expect("wait for baton");
    let out = String::from_utf8_lossy(&read.join().unwrap()).into_owned();
    assert!(status.success(), "{args:?}: {status:?}\n{out}");
    out
}

#[test]
fn output_on_a_terminal_is_coloured_unless_no_color_is_set() {
    let sb = applied_hello();
    sb.write(
        "web.score.yaml",
        &sb.read("web.score.yaml").replace("path: /\n", "path: /x\n"),
    );
    let coloured = on_a_terminal(&sb, &["plan"], false);
    assert!(coloured.contains("\x1b["), "no escape codes:\n{coloured:?}");
    assert!(coloured.contains("local_file.route"), "{coloured:?}");
    // NO_COLOR, or --no-color, or a pipe: plain text.
    let plain = on_a_terminal(&sb, &["plan"], true);
    assert!(!plain.contains('\x1b'), "{plain:?}");
    assert!(plain.contains("local_file.route"), "{plain:?}");
    let flag = on_a_terminal(&sb, &["--no-color", "plan"], false);
    assert!(!flag.contains('\x1b'), "{flag:?}");
    let piped = Run::of(
        sb.command(&["plan"])
            .env_remove("NO_COLOR")
            .stdin(Stdio::null())
            .output()
            .expect("run baton"),
    );
    assert_eq!(piped.code, 0, "{}", piped.transcript());
    assert!(!piped.stdout.contains('\x1b'), "{}", piped.stdout);
}
