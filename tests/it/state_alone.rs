//! Commands that work from the state alone (issue 22, item 3): `output`, `show`,
//! `state …`, `destroy` and `plan --destroy` without Score files; `-f` on `drift`; the
//! YAML files skipped when no Score file is found; `state list` before any apply (it
//! creates no state); and a reader that closes stdout early (`baton plan | head -1`).

use serde_json::Value;

use crate::support::{Run, Sandbox};

fn ok(sb: &Sandbox, args: &[&str], code: i32) -> Run {
    let run = sb.run(args);
    assert_eq!(run.code, code, "{args:?}\n{}", run.transcript());
    run
}

/// `examples/hello`, applied, with its Score files then moved out of the folder.
fn applied_hello_without_score_files() -> Sandbox {
    let sb = Sandbox::new();
    sb.copy_from_repo("examples/hello");
    ok(&sb, &["apply", "--auto-approve"], 0);
    std::fs::create_dir(sb.path().join("elsewhere")).unwrap();
    for f in ["web.score.yaml", "worker.score.yaml"] {
        std::fs::rename(sb.path().join(f), sb.path().join("elsewhere").join(f)).unwrap();
    }
    sb
}

#[test]
fn output_show_and_state_need_no_score_file() {
    let sb = Sandbox::new();
    sb.copy_from_repo("examples/hello");
    ok(&sb, &["apply", "--auto-approve"], 0);
    let with_files: Value =
        serde_json::from_str(&ok(&sb, &["output", "--json", "--show-sensitive"], 0).stdout)
            .unwrap();
    for f in ["web.score.yaml", "worker.score.yaml"] {
        std::fs::remove_file(sb.path().join(f)).unwrap();
    }
    let from_state: Value =
        serde_json::from_str(&ok(&sb, &["output", "--json", "--show-sensitive"], 0).stdout)
            .unwrap();
    // The configuration the apply recorded gives every output, the secret included,
    // and `dns`, which records no object on local (its host comes from params).
    assert_eq!(from_state, with_files);
    assert!(
        from_state["dns.default#web.dns"]["host"].is_string(),
        "{from_state}"
    );
    assert!(
        from_state["secret.default#web.session"]["value"]
            .as_str()
            .is_some_and(|s| s.len() == 32),
        "{from_state}"
    );
    let one = ok(&sb, &["output", "volume.default#web.uploads"], 0);
    assert!(
        one.stdout
            .starts_with("volume.default#web.uploads\n  source = "),
        "{}",
        one.stdout
    );
    ok(&sb, &["show"], 0);
    // A state whose applies recorded no configuration (made by an older baton): each
    // recorded object's outputs, by its recorded module; `dns` needs the files.
    let db = rusqlite::Connection::open(sb.path().join(".baton/state.db")).unwrap();
    db.execute("DELETE FROM deployments", []).unwrap();
    drop(db);
    let older: Value =
        serde_json::from_str(&ok(&sb, &["output", "--json", "--show-sensitive"], 0).stdout)
            .unwrap();
    let mut expected = with_files.as_object().unwrap().clone();
    expected.remove("dns.default#web.dns");
    assert_eq!(older, Value::Object(expected));
    ok(&sb, &["state", "list"], 0);
    ok(&sb, &["state", "show", "workload.web"], 0);
    ok(&sb, &["state", "history"], 0);
}

#[test]
fn destroy_plans_deletes_from_the_recorded_objects() {
    let sb = applied_hello_without_score_files();
    let plan = ok(&sb, &["plan", "--destroy", "--detailed-exitcode"], 2);
    assert!(
        plan.stdout
            .contains("Plan: 0 to add, 0 to change, 0 to replace, 6 to destroy."),
        "{}",
        plan.stdout
    );
    let destroy = ok(&sb, &["destroy", "--auto-approve"], 0);
    assert!(
        destroy
            .stdout
            .contains("Apply complete! 0 added, 0 changed, 0 replaced, 6 destroyed."),
        "{}",
        destroy.stdout
    );
    assert_eq!(ok(&sb, &["state", "list"], 0).stdout, "");
}

#[test]
fn destroy_with_f_deletes_only_that_workload() {
    let sb = applied_hello_without_score_files();
    let destroy = ok(
        &sb,
        &[
            "destroy",
            "--auto-approve",
            "-f",
            "elsewhere/worker.score.yaml",
        ],
        0,
    );
    assert!(
        destroy.stdout.contains("1 destroyed."),
        "{}",
        destroy.stdout
    );
    let left = ok(&sb, &["state", "list"], 0).stdout;
    assert!(!left.contains("workload.worker"), "{left}");
    assert!(left.contains("workload.web"), "{left}");
}

#[test]
fn drift_takes_f_and_reads_only_those_workloads() {
    let sb = applied_hello_without_score_files();
    // The web workload's manifest changed outside baton; the worker's did not.
    let manifest = sb.path().join("deploy/local/web.yaml");
    std::fs::write(&manifest, "edited by hand\n").unwrap();
    let all = ok(&sb, &["drift"], 2);
    assert!(all.stdout.contains("workload.web"), "{}", all.stdout);
    ok(&sb, &["drift", "-f", "elsewhere/worker.score.yaml"], 0);
    let web = ok(&sb, &["drift", "-f", "elsewhere/web.score.yaml"], 2);
    assert!(web.stdout.contains("workload.web"), "{}", web.stdout);
}

#[test]
fn without_a_score_file_the_error_names_the_yaml_files_it_skipped() {
    let sb = Sandbox::new();
    sb.write("app.yaml", crate::support::WEB);
    sb.write("values.yml", "replicas: 2\n");
    sb.write("notes.txt", "not yaml\n");
    for cmd in [
        &["plan"][..],
        &["validate"],
        &["apply", "--auto-approve"],
        &["graph"],
    ] {
        let run = ok(&sb, cmd, 1);
        for needle in [
            "no Score file here: baton reads `score.yaml` and `*.score.yaml`",
            "skipped: app.yaml, values.yml",
            "pass Score files with -f FILE (repeatable), e.g. `-f app.yaml`",
        ] {
            assert!(
                run.stderr.contains(needle),
                "{cmd:?}: {needle:?} in\n{}",
                run.stderr
            );
        }
        assert!(!run.stderr.contains("notes.txt"), "{}", run.stderr);
    }
    // Named with -f, the same file plans.
    ok(&sb, &["plan", "-f", "app.yaml"], 0);
}

#[test]
fn state_commands_before_any_apply_say_so_and_create_nothing() {
    let sb = Sandbox::new();
    sb.write("score.yaml", crate::support::WEB);
    for cmd in [
        &["state", "list"][..],
        &["state", "history"],
        &["state", "show", "workload.web"],
        &["show"],
        &["output"],
        &["drift"],
    ] {
        let run = ok(&sb, cmd, 1);
        assert!(
            run.stderr
                .contains("no state yet: environment `local` has recorded nothing"),
            "{cmd:?}: {}",
            run.stderr
        );
    }
    assert!(
        !sb.path().join(".baton").exists(),
        "a command that reads the state created it"
    );
}

#[test]
fn a_reader_closing_stdout_early_ends_the_run_quietly() {
    let sb = Sandbox::new();
    sb.copy_from_repo("examples/hello");
    // A pipe whose read end is closed before baton starts: its first write fails with
    // EPIPE (Rust ignores SIGPIPE), as when `head -1` has read its line.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    for args in [&["plan"][..], &["validate"], &["modules", "list"]] {
        let out = sb
            .command(args)
            .stdout(writer.try_clone().unwrap())
            .output()
            .unwrap();
        let run = Run::of(out);
        assert_eq!(run.code, 0, "{args:?}\n{}", run.transcript());
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        assert!(!run.stderr.contains("Broken pipe"), "{}", run.stderr);
    }
}
