//! State: the fixtures of `state-fixtures/` loaded into a project and used by the real
//! binary — an empty state, a finished apply, a held lock, an older schema version.

use crate::support::Sandbox;

/// A copy of examples/hello whose state database is loaded from a fixture.
fn hello_with(fixture: &str) -> Sandbox {
    let sb = Sandbox::new();
    sb.copy_from_repo("examples/hello");
    let sql = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("state-fixtures")
            .join(fixture),
    )
    .expect("read fixture");
    std::fs::create_dir_all(sb.path().join(".baton")).unwrap();
    let conn = rusqlite::Connection::open(sb.path().join(".baton/state.db")).expect("create db");
    conn.execute_batch(&sql).expect("load fixture");
    sb
}

fn lineage(sb: &Sandbox) -> String {
    let run = sb.run(&["show", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    v["lineage"].as_str().unwrap().to_string()
}

#[test]
fn an_empty_state_keeps_its_lineage_and_plans_every_create() {
    let sb = hello_with("empty.sql");
    assert_eq!(lineage(&sb), "00000000-0000-4000-8000-00000000e0e0");
    let run = sb.run(&["plan", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["lineage"], "00000000-0000-4000-8000-00000000e0e0");
    assert_eq!(v["serial"], 0);
    assert_eq!(v["summary"]["create"], 6);
    let run = sb.run(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(
        lineage(&sb),
        "00000000-0000-4000-8000-00000000e0e0",
        "apply never changes the lineage"
    );
}

#[test]
fn a_finished_apply_is_listed_with_its_history() {
    let sb = hello_with("applied.sql");
    let list = sb.run(&["state", "list"]);
    assert_eq!(list.code, 0, "{}", list.transcript());
    assert_eq!(list.stdout.lines().count(), 6, "{}", list.stdout);
    assert!(
        list.stdout
            .contains("secret.default#web.session/random_password.value")
    );
    let history = sb.run(&["state", "history", "--changes"]);
    assert_eq!(history.stdout.lines().count(), 6, "{}", history.stdout);
    assert!(
        history
            .stdout
            .contains("create   workload.web  (dev@laptop)"),
        "{}",
        history.stdout
    );
    let show = sb.run(&[
        "state",
        "show",
        "secret.default#web.session/random_password.value",
    ]);
    assert!(
        show.stdout.contains("result") && show.stdout.contains("(sensitive)"),
        "{}",
        show.stdout
    );
    assert!(
        !show.stdout.contains("fixture-not-a-secret"),
        "{}",
        show.stdout
    );
    let typo = sb.run(&[
        "state",
        "show",
        "secret.default#web.session/random_password.valeu",
    ]);
    assert_eq!(typo.code, 1);
    assert!(
        typo.stderr
            .contains("did you mean `secret.default#web.session/random_password.value`?"),
        "{}",
        typo.stderr
    );
}

#[test]
fn a_held_lock_stops_plan_and_apply_until_unlocked() {
    let sb = hello_with("locked.sql");
    for cmd in [&["plan"][..], &["apply", "--auto-approve"][..]] {
        let run = sb.run(cmd);
        assert_eq!(run.code, 1, "{}", run.transcript());
        assert!(run.stderr.contains("the state is locked: ci@runner-7 is running `apply` (pid 4242) since 2026-11-25T00:00:00Z"), "{}", run.stderr);
        assert!(
            run.stderr
                .contains("baton state unlock 7c1e2a9e-0000-4000-8000-000000000001"),
            "{}",
            run.stderr
        );
    }
    let wrong = sb.run(&["state", "unlock", "nope"]);
    assert_eq!(wrong.code, 1);
    assert!(
        wrong
            .stderr
            .contains("locked by ci@runner-7 with id 7c1e2a9e"),
        "{}",
        wrong.stderr
    );
    let unlock = sb.run(&["state", "unlock", "7c1e2a9e-0000-4000-8000-000000000001"]);
    assert_eq!(unlock.code, 0, "{}", unlock.transcript());
    let run = sb.run(&["plan"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
}

#[test]
fn an_older_schema_is_migrated_and_its_objects_kept() {
    let sb = hello_with("v1.sql");
    let list = sb.run(&["state", "list"]);
    assert_eq!(list.code, 0, "{}", list.transcript());
    assert_eq!(list.stdout.lines().count(), 6);
    let conn = rusqlite::Connection::open(sb.path().join(".baton/state.db")).unwrap();
    let version: i64 = conn
        .query_row("SELECT MAX(version) FROM migrations", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 8, "migrated to the newest schema");
    let status: String = conn
        .query_row("SELECT status FROM objects LIMIT 1", [], |r| r.get(0))
        .unwrap();
    assert_eq!(status, "ok");
    // The migrated state is usable: the fixture's paths are not this sandbox's, so the
    // plan sees drift and converges it, rather than failing.
    let run = sb.run(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(sb.run(&["plan", "--detailed-exitcode"]).code, 0);
}

#[test]
fn a_newer_schema_is_refused_untouched() {
    let sb = hello_with("empty.sql");
    let conn = rusqlite::Connection::open(sb.path().join(".baton/state.db")).unwrap();
    conn.execute(
        "INSERT INTO migrations VALUES (99, 'from the future', '2030-01-01T00:00:00Z')",
        [],
    )
    .unwrap();
    drop(conn);
    let run = sb.run(&["plan"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr
            .contains("has schema version 99, newer than this baton understands (8)"),
        "{}",
        run.stderr
    );
}

#[test]
fn state_rm_forgets_without_touching() {
    let sb = hello_with("empty.sql");
    assert_eq!(sb.run(&["apply", "--auto-approve"]).code, 0);
    let run = sb.run(&[
        "state",
        "rm",
        "volume.default#web.uploads/local_directory.data",
    ]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        sb.path()
            .join(".baton/volumes")
            .join(sb.name("volume.default#web.uploads", "-", 100))
            .is_dir(),
        "the directory stays"
    );
    let plan = sb.run(&["plan", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    assert_eq!(
        v["summary"]["create"], 1,
        "forgotten, so planned again: {}",
        plan.stdout
    );
    assert!(
        sb.run(&["state", "history", "--changes"])
            .stdout
            .contains("rm       volume.default#web.uploads/local_directory.data")
    );
}

fn raw_db(sb: &Sandbox) -> String {
    // Every byte of the database and its WAL, as text: what someone reading the file sees.
    let mut all = Vec::new();
    for f in ["state.db", "state.db-wal"] {
        if let Ok(b) = std::fs::read(sb.path().join(".baton").join(f)) {
            all.extend(b);
        }
    }
    String::from_utf8_lossy(&all).into_owned()
}

#[test]
fn secrets_are_sealed_at_rest_with_a_key_and_a_wrong_key_changes_nothing() {
    let sb = Sandbox::new();
    sb.copy_from_repo("examples/hello");
    let key = sb.run(&["state", "keygen"]).stdout.trim().to_string();
    assert_eq!(key.len(), 44, "{key}");
    let with_key = |args: &[&str]| {
        let out = sb
            .command(args)
            .env("BATON_STATE_KEY", &key)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, _, stderr) = with_key(&["apply", "--auto-approve"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("stored in clear"), "{stderr}");
    let (_, out, _) = with_key(&["output", "--json", "--show-sensitive"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let secret = v["secret.default#web.session"]["value"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        !raw_db(&sb).contains(&secret),
        "the secret is in the database file in clear"
    );

    // Without the key, or with a wrong one: a clear error, and nothing changes.
    let rows = || -> Vec<(String, String)> {
        let conn = rusqlite::Connection::open(sb.path().join(".baton/state.db")).unwrap();
        let mut st = conn
            .prepare("SELECT address, attributes FROM objects ORDER BY address")
            .unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let before = rows();
    assert!(before.iter().all(|(_, a)| !a.contains(&secret)));
    let run = sb.run(&["plan"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr.contains("sealed with key") && run.stderr.contains("set BATON_STATE_KEY"),
        "{}",
        run.stderr
    );
    let wrong = sb.run(&["state", "keygen"]).stdout.trim().to_string();
    let out = sb
        .command(&["apply", "--auto-approve"])
        .env("BATON_STATE_KEY", &wrong)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("but the configured key is"), "{stderr}");
    assert!(rows() == before, "nothing changed");

    // Rekey to a new key; the old one no longer opens the state, the new one does.
    let out = sb
        .command(&["state", "rekey"])
        .env("BATON_STATE_KEY", &key)
        .env("BATON_NEW_STATE_KEY", &wrong)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(with_key(&["plan"]).0 == 1);
    let out = sb
        .command(&["plan", "--detailed-exitcode"])
        .env("BATON_STATE_KEY", &wrong)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn without_a_key_apply_warns_that_secrets_are_in_clear() {
    let sb = Sandbox::new();
    sb.copy_from_repo("examples/hello");
    let run = sb.run(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0);
    assert!(
        run.stderr.contains("warning: secrets are stored in clear"),
        "{}",
        run.stderr
    );
}

#[test]
fn history_lists_applies_with_who_when_and_what() {
    let sb = hello_with("applied.sql");
    let run = sb.run(&["state", "history"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(
        run.stdout.trim(),
        "serial    1  2026-11-25T00:00:00Z  dev@laptop  6 create"
    );
}
