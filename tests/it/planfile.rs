//! Saved plan files through the binary: `show FILE` prints what `plan` printed, `apply
//! FILE` does what `show FILE` shows or nothing, an edited file is refused by both, and
//! no secret is ever written to one.

use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::support::{Run, Sandbox};

fn hello() -> Sandbox {
    let sb = Sandbox::new();
    sb.copy_from_repo("examples/hello");
    sb
}

fn ok(run: Run) -> Run {
    assert_eq!(run.code, 0, "{}", run.transcript());
    run
}

fn refused(run: Run) -> Run {
    assert_eq!(run.code, 1, "{}", run.transcript());
    run
}

/// The state as `show --format json` prints it: lineage, serial and every object.
fn state(sb: &Sandbox) -> String {
    ok(sb.run(&["show", "--format", "json"])).stdout
}

/// Rewrites the plan file `name` through `edit` on its JSON.
fn edit(sb: &Sandbox, name: &str, edit: impl FnOnce(&mut Value)) {
    let mut doc: Value = serde_json::from_str(&sb.read(name)).expect("plan file JSON");
    edit(&mut doc);
    sb.write(name, &serde_json::to_string_pretty(&doc).unwrap());
}

/// Marks every change of a saved plan as a no-op, as someone hiding a destroy would.
fn hide_changes(doc: &mut Value) {
    for c in doc["plan"]["changes"].as_array_mut().expect("changes") {
        c["action"] = "no-op".into();
        c["reason"] = "unchanged".into();
    }
}

/// An applied `examples/hello` with a destroy plan saved as `destroy.plan`, and the
/// state as it was then.
fn destroy_plan() -> (Sandbox, String) {
    let sb = hello();
    ok(sb.run(&["apply", "--auto-approve"]));
    ok(sb.run(&["plan", "--destroy", "--out", "destroy.plan"]));
    let state = state(&sb);
    (sb, state)
}

const NO_CHANGES: &str = "No changes. The environment `local` matches the configuration.\n";

#[test]
fn a_plan_file_whose_renderings_were_edited_is_refused() {
    let (sb, before) = destroy_plan();
    // The text a reviewer reads says nothing happens; the changes still destroy.
    edit(&sb, "destroy.plan", |doc| {
        doc["text"] = NO_CHANGES.into();
        doc["markdown"] = "### ✅ baton plan `local`: no changes\n".into();
    });
    for format in ["text", "markdown"] {
        let run = refused(sb.run(&["show", "destroy.plan", "--format", format]));
        assert!(!run.stdout.contains("no changes") && !run.stdout.contains("No changes"));
        assert!(
            run.stderr
                .contains("the plan file destroy.plan was modified after it was written")
                && run
                    .stderr
                    .contains("make a new plan with `baton plan --out destroy.plan`"),
            "{}",
            run.stderr
        );
    }
    let run = refused(sb.run(&["apply", "destroy.plan"]));
    assert!(
        run.stderr.contains("was modified after it was written"),
        "{}",
        run.stderr
    );
    assert_eq!(state(&sb), before, "nothing was destroyed");
}

#[test]
fn a_plan_file_whose_changes_were_edited_is_refused() {
    let (sb, before) = destroy_plan();
    edit(&sb, "destroy.plan", hide_changes);
    for format in ["text", "markdown", "json"] {
        let run = refused(sb.run(&["show", "destroy.plan", "--format", format]));
        assert_eq!(run.stdout, "");
        assert_eq!(
            run.stderr,
            "error: the plan file destroy.plan was modified after it was written (digest mismatch); make a new plan with `baton plan --out destroy.plan`\n"
        );
    }
    let run = refused(sb.run(&["apply", "destroy.plan"]));
    assert!(run.stderr.contains("(digest mismatch)"), "{}", run.stderr);
    assert_eq!(state(&sb), before, "nothing was destroyed");
}

#[test]
fn a_forged_digest_makes_show_tell_the_truth_and_apply_refuse() {
    // The digest is no signature: someone who edits the changes can compute it again.
    // Then `show` prints the edited changes, and `apply` compares a new plan with those
    // same changes, so it refuses rather than do something `show` did not show.
    let (sb, before) = destroy_plan();
    edit(&sb, "destroy.plan", |doc| {
        hide_changes(doc);
        let canonical = serde_json::to_vec(&doc["plan"]).unwrap();
        doc["digest"] = format!("sha256:{}", hex::encode(Sha256::digest(&canonical))).into();
    });
    assert_eq!(ok(sb.run(&["show", "destroy.plan"])).stdout, NO_CHANGES);
    let run = refused(sb.run(&["apply", "destroy.plan"]));
    assert!(
        run.stderr.contains(
            "the plan file no longer matches what would be done: `route.default#web.route/local_file.route` would now be deleted (no longer referenced); the plan leaves it as it is; make a new plan"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(state(&sb), before, "nothing was destroyed");
}

/// Saves the plan as `name` and checks that `show` prints what `plan` prints, in every
/// format; returns the text.
fn show_matches_plan(sb: &Sandbox, name: &str) -> String {
    let saved = ok(sb.run(&["plan", "--out", name])).stdout;
    let text = ok(sb.run(&["plan"])).stdout;
    assert_eq!(
        saved,
        format!("{text}\nSaved the plan to {name}; apply it with: baton apply {name}\n")
    );
    assert_eq!(ok(sb.run(&["show", name])).stdout, text);
    for format in ["markdown", "json"] {
        assert_eq!(
            ok(sb.run(&["show", name, "--format", format])).stdout,
            ok(sb.run(&["plan", "--format", format])).stdout,
            "--format {format}"
        );
    }
    text
}

#[test]
fn show_prints_what_plan_prints() {
    let sb = hello();
    ok(sb.run(&["apply", "--auto-approve"]));
    // A manifest changes while the secrets beside it stay as they are: the secrets
    // must not show as changed.
    sb.write(
        "web.score.yaml",
        &sb.read("web.score.yaml")
            .replace("nginx:1.27", "nginx:1.28"),
    );
    let text = show_matches_plan(&sb, "image.plan");
    assert!(text.contains("Plan: 0 to add, 1 to change"), "{text}");
    assert!(!text.contains("(sensitive)"), "{text}");
    // A secret replaced (sensitive before, unknown after), a manifest map holding a
    // secret, a plain attribute, and drift of a manifest file.
    sb.write(
        "web.score.yaml",
        &sb.read("web.score.yaml")
            .replace("length: 32", "length: 40")
            .replace("path: /\n", "path: /x\n"),
    );
    sb.write(
        "deploy/local/worker.yaml",
        &format!("{}extra: 1\n", sb.read("deploy/local/worker.yaml")),
    );
    let text = show_matches_plan(&sb, "secret.plan");
    for needle in [
        "Objects changed outside baton",
        "~ result      = (sensitive) -> (sensitive, known after apply)",
        "~ secret_files = (sensitive) -> (sensitive)",
        "- extra: 1",
    ] {
        assert!(text.contains(needle), "{needle}:\n{text}");
    }
}

#[test]
fn a_valid_plan_file_applies_what_show_shows() {
    let sb = hello();
    ok(sb.run(&["plan", "--out", "p.plan"]));
    let shown = ok(sb.run(&["show", "p.plan"])).stdout;
    assert!(shown.contains("Plan: 6 to add, 0 to change, 0 to replace, 0 to destroy."));
    let run = ok(sb.run(&["apply", "p.plan"]));
    assert!(run.stdout.starts_with(&shown), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("Apply complete! 6 added, 0 changed, 0 replaced, 0 destroyed."),
        "{}",
        run.stdout
    );
    assert!(ok(sb.run(&["plan"])).stdout.starts_with("No changes."));
}

#[test]
fn a_destroy_plan_file_shows_the_destroy() {
    let sb = hello();
    ok(sb.run(&["apply", "--auto-approve"]));
    ok(sb.run(&["plan", "--destroy", "--out", "destroy.plan"]));
    let text = ok(sb.run(&["show", "destroy.plan"])).stdout;
    assert_eq!(text.matches(" will be destroyed").count(), 6, "{text}");
    assert!(text.contains("Plan: 0 to add, 0 to change, 0 to replace, 6 to destroy."));
    let md = ok(sb.run(&["show", "destroy.plan", "--format", "markdown"])).stdout;
    assert!(
        md.starts_with("### ⚠️ baton plan `local`: 🔴 **6 to destroy**"),
        "{md}"
    );
    let json: Value =
        serde_json::from_str(&ok(sb.run(&["show", "destroy.plan", "--format", "json"])).stdout)
            .unwrap();
    assert_eq!(json["destroy"], true);
    assert_eq!(json["summary"]["delete"], 6);
    let run = ok(sb.run(&["apply", "destroy.plan"]));
    assert!(run.stdout.contains("6 destroyed."), "{}", run.stdout);
    assert_eq!(ok(sb.run(&["state", "list"])).stdout, "");
}

#[test]
fn a_plan_file_holds_no_secret() {
    let sb = hello();
    ok(sb.run(&["apply", "--auto-approve"]));
    let out: Value =
        serde_json::from_str(&ok(sb.run(&["output", "--json", "--show-sensitive"])).stdout)
            .unwrap();
    let secret = out["secret.default#web.session"]["value"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(secret.len(), 32);
    // The state holds it (in clear: no BATON_STATE_KEY), so the plans below see it.
    let db = std::fs::read(sb.path().join(".baton/state.db")).unwrap();
    assert!(String::from_utf8_lossy(&db).contains(&secret));
    sb.write(
        "web.score.yaml",
        &sb.read("web.score.yaml")
            .replace("length: 32", "length: 40")
            .replace("path: /\n", "path: /x\n"),
    );
    ok(sb.run(&["plan", "--out", "change.plan"]));
    ok(sb.run(&["plan", "--destroy", "--out", "destroy.plan"]));
    for name in ["change.plan", "destroy.plan"] {
        let file = sb.read(name);
        assert!(!file.contains(&secret), "{name} holds the secret:\n{file}");
        assert!(file.contains("\"withheld\""), "{name} has a secret's place");
        for format in ["text", "markdown", "json"] {
            let run = ok(sb.run(&["show", name, "--format", format]));
            assert!(
                !run.stdout.contains(&secret),
                "show {name} --format {format}"
            );
        }
    }
    ok(sb.run(&["apply", "change.plan"]));
}

#[test]
fn a_plan_file_of_an_older_baton_is_refused() {
    let sb = hello();
    ok(sb.run(&["plan", "--out", "old.plan"]));
    // Version 3 is the last format without moves (`moved_from`, the `move` action).
    for version in [2u64, 3] {
        edit(&sb, "old.plan", |doc| {
            doc["baton_plan_file"] = version.into()
        });
        for args in [&["show", "old.plan"][..], &["apply", "old.plan"]] {
            let run = refused(sb.run(args));
            assert_eq!(
                run.stderr,
                format!(
                    "error: the plan file old.plan was made by an older baton (plan file version {version}, this baton reads version 4); make a new plan with `baton plan --out old.plan`\n"
                )
            );
        }
    }
    assert_eq!(ok(sb.run(&["state", "list"])).stdout, "");
}
