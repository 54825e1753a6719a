//! Renames without data loss (issue 22): a workload renamed with a `moved` block keeps
//! its PostgreSQL database and the rows in it (the plan moves, never deletes), `baton
//! state mv` on SQLite and PostgreSQL state, the rename hint of a plan that would delete
//! and create, and located errors for bad `moved` blocks.

use crate::servers::unique;
use crate::support::{PgDb, Sandbox, psql};

/// A workload with a PostgreSQL database of its own.
fn workload(name: &str) -> String {
    format!(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: {name}\ncontainers:\n  main:\n    image: busybox\n    variables:\n      DB: ${{resources.db.name}}\nresources:\n  db:\n    type: postgres\n"
    )
}

fn moved(from: &str, to: &str) -> String {
    format!("moved {{\n  from = \"{from}\"\n  to   = \"{to}\"\n}}\n")
}

fn plan_json(sb: &Sandbox) -> serde_json::Value {
    let run = sb.run(&["plan", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    serde_json::from_str(&run.stdout).unwrap()
}

/// The actions of a JSON plan, with the address each moved from.
fn actions(plan: &serde_json::Value) -> Vec<(String, String, Option<String>)> {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["action"].as_str().unwrap().to_string(),
                c["address"].as_str().unwrap().to_string(),
                c["moved_from"].as_str().map(str::to_string),
            )
        })
        .collect()
}

#[test]
fn a_workload_renamed_with_a_moved_block_keeps_its_database_and_its_rows() {
    let (old, new) = (unique("ren"), unique("renb"));
    let sb = Sandbox::new();
    sb.write("score.yaml", &workload(&old));
    let run = sb.run(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let db = sb.name(&format!("postgres.default#{old}.db"), "_", 63);
    psql(
        &db,
        "CREATE TABLE kept (note text); INSERT INTO kept VALUES ('still here')",
    );
    let recorded_before: Vec<String> = sb
        .run(&["state", "list"])
        .stdout
        .lines()
        .map(str::to_string)
        .collect();
    let resources: Vec<&String> = recorded_before
        .iter()
        .filter(|a| a.starts_with("postgres."))
        .collect();
    assert!(resources.len() >= 2, "{recorded_before:?}");

    // Renamed, with the block that keeps what it had.
    sb.write("score.yaml", &workload(&new));
    sb.write(
        "baton.hcl",
        &moved(&format!("workload.{old}"), &format!("workload.{new}")),
    );
    let plan = plan_json(&sb);
    let acts = actions(&plan);
    assert!(
        acts.iter()
            .all(|(a, _, _)| a != "delete" && a != "create" && a != "replace"),
        "{acts:?}"
    );
    // One move per moved resource; the workload's manifests move and change (its name
    // is in them).
    for r in &resources {
        let to = r.replace(&format!("#{old}."), &format!("#{new}."));
        assert!(
            acts.contains(&("move".into(), to.clone(), Some(r.to_string()))),
            "{to} moved from {r}: {acts:?}"
        );
    }
    assert!(
        acts.contains(&(
            "update".into(),
            format!("workload.{new}"),
            Some(format!("workload.{old}"))
        )),
        "{acts:?}"
    );
    assert_eq!(plan["summary"]["move"], resources.len() + 1, "{plan}");
    assert_eq!(plan["summary"]["delete"], 0);
    assert_eq!(plan["summary"]["create"], 0);
    let text = sb.run(&["plan"]);
    assert!(
        text.stdout.contains(&format!(
            "# postgres.default#{new}.db/postgres_database.db has moved from postgres.default#{old}.db/postgres_database.db (it keeps its name and data)"
        )),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains(&format!(
            "Plan: 0 to add, 1 to change, 0 to replace, 0 to destroy, {} to move.",
            resources.len() + 1
        )),
        "{}",
        text.stdout
    );
    assert!(!text.stdout.contains("destroyed"), "{}", text.stdout);
    let md = sb.run(&["plan", "--format", "markdown"]);
    assert!(
        md.stdout.contains(&format!(
            "| 🔵 move | `postgres.default#{new}.db/postgres_database.db` | moved from `postgres.default#{old}.db/postgres_database.db`: it keeps its name and data |"
        )),
        "{}",
        md.stdout
    );

    // Through a saved plan file: it carries the moves.
    let run = sb.run(&["plan", "--out", "rename.plan"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(sb.read("rename.plan").contains("\"moved_from\""));
    let run = sb.run(&["apply", "rename.plan"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stdout.contains(&format!(
            "Apply complete! 0 added, 1 changed, 0 replaced, 0 destroyed, {} moved.",
            resources.len() + 1
        )),
        "{}",
        run.stdout
    );

    // The row is still there, in the database of the same name.
    assert_eq!(psql(&db, "SELECT note FROM kept").trim(), "still here");
    let recorded: Vec<String> = sb
        .run(&["state", "list"])
        .stdout
        .lines()
        .map(str::to_string)
        .collect();
    assert!(recorded.iter().all(|a| !a.contains(&old)), "{recorded:?}");
    assert!(
        recorded.contains(&format!("workload.{new}")),
        "{recorded:?}"
    );
    assert_eq!(recorded.len(), recorded_before.len(), "{recorded:?}");
    let history = sb.run(&["state", "history", "--changes"]).stdout;
    assert!(history.contains("move"), "{history}");

    // Nothing left to do; the block stays harmless.
    let again = sb.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}", again.transcript());
    assert!(again.stdout.starts_with("No changes."), "{}", again.stdout);

    assert_eq!(sb.run(&["destroy", "--auto-approve"]).code, 0);
    assert_eq!(
        psql(
            "postgres",
            &format!("SELECT count(*) FROM pg_database WHERE datname = '{db}'")
        )
        .trim(),
        "0"
    );
}

/// `state mv` of a whole workload, then the Score file renamed: the next plan changes
/// the manifests and writes the objects' ownership markers, and deletes and creates
/// nothing; the database keeps its row. On the state backend `pg` names (SQLite when
/// `None`).
fn state_mv_session(pg: Option<&PgDb>) {
    let (old, new) = (unique("mva"), unique("mvb"));
    let sb = Sandbox::new();
    if pg.is_some() {
        sb.write(
            "baton.hcl",
            "environment \"local\" {\n  state {\n    postgres { url = env(\"BATON_STATE_URL\") }\n  }\n}\n",
        );
    }
    let run = |args: &[&str]| {
        let mut c = sb.command(args);
        if let Some(pg) = pg {
            c.env("BATON_STATE_URL", pg.url());
        }
        crate::support::Run::of(c.stdin(std::process::Stdio::null()).output().unwrap())
    };
    sb.write("score.yaml", &workload(&old));
    let r = run(&["apply", "--auto-approve"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    let listed = |r: crate::support::Run| -> Vec<String> {
        assert_eq!(r.code, 0, "{}", r.transcript());
        r.stdout.lines().map(str::to_string).collect()
    };
    let before = listed(run(&["state", "list"]));
    let db_address = before
        .iter()
        .find(|a| a.ends_with("/postgres_database.db"))
        .unwrap()
        .clone();
    let db_name = run(&["state", "show", &db_address])
        .stdout
        .lines()
        .find_map(|l| {
            l.trim().strip_prefix("name").map(|v| {
                v.trim()
                    .trim_start_matches('=')
                    .trim()
                    .trim_matches('"')
                    .to_string()
            })
        })
        .expect("a name attribute");
    psql(
        &db_name,
        "CREATE TABLE kept (n int); INSERT INTO kept VALUES (7)",
    );

    // Refused: nothing at FROM, a TO that is recorded, two kinds of address.
    for (args, says) in [
        (
            vec!["state", "mv", "workload.nothing-here", "workload.x"],
            "nothing is recorded there".to_string(),
        ),
        (
            vec![
                "state",
                "mv",
                &format!("postgres.default#{old}.db"),
                "redis.default#x.y",
            ],
            "a `postgres` resource cannot become a `redis` one".to_string(),
        ),
        (
            vec![
                "state",
                "mv",
                &format!("workload.{old}"),
                "postgres.default#a.b",
            ],
            "a workload cannot move to a uid".to_string(),
        ),
    ] {
        let args: Vec<&str> = args.iter().map(|s| s.as_ref()).collect();
        let r = run(&args);
        assert_eq!(r.code, 1, "{}", r.transcript());
        assert!(r.stderr.contains(&says), "{says}: {}", r.transcript());
    }
    let r = run(&[
        "state",
        "mv",
        &db_address,
        &db_address
            .replace("/postgres_database.", "/postgres_role.")
            .replace(".db/", ".db2/"),
    ]);
    assert_eq!(r.code, 1, "{}", r.transcript());
    assert!(
        r.stderr
            .contains("a `postgres_database` object cannot become a `postgres_role` one"),
        "{}",
        r.transcript()
    );
    assert_eq!(listed(run(&["state", "list"])), before);

    let r = run(&[
        "state",
        "mv",
        &format!("workload.{old}"),
        &format!("workload.{new}"),
    ]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    assert!(
        r.stdout
            .contains(&format!("Moved workload.{old} to workload.{new}.")),
        "{}",
        r.stdout
    );
    let after = listed(run(&["state", "list"]));
    let expected: Vec<String> = {
        let mut v: Vec<String> = before
            .iter()
            .map(|a| {
                a.replace(&format!("#{old}."), &format!("#{new}."))
                    .replace(&format!("workload.{old}"), &format!("workload.{new}"))
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(after, expected);
    // A move to itself is refused, and so is moving again what moved.
    let r = run(&[
        "state",
        "mv",
        &format!("workload.{new}"),
        &format!("workload.{new}"),
    ]);
    assert_eq!(r.code, 1, "{}", r.transcript());
    assert!(
        r.stderr.contains("it is the same address"),
        "{}",
        r.transcript()
    );
    let r = run(&[
        "state",
        "mv",
        &format!("workload.{old}"),
        &format!("workload.{new}"),
    ]);
    assert_eq!(r.code, 1, "{}", r.transcript());
    assert!(
        r.stderr.contains("nothing is recorded there"),
        "{}",
        r.transcript()
    );
    let history = run(&["state", "history", "--changes"]).stdout;
    assert!(
        history.contains(&format!("move     workload.{new}")),
        "{history}"
    );

    sb.write("score.yaml", &workload(&new));
    let r = run(&["plan", "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    let plan: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(plan["summary"]["delete"], 0, "{plan}");
    assert_eq!(plan["summary"]["create"], 0, "{plan}");
    assert_eq!(plan["summary"]["replace"], 0, "{plan}");
    let r = run(&["apply", "--auto-approve"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    assert_eq!(psql(&db_name, "SELECT n FROM kept").trim(), "7");
    let r = run(&["plan"]);
    assert!(r.stdout.starts_with("No changes."), "{}", r.transcript());
    let r = run(&["destroy", "--auto-approve"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
}

#[test]
fn state_mv_moves_a_workload_in_a_sqlite_state_and_refuses_what_it_cannot_move() {
    state_mv_session(None);
}

#[test]
fn state_mv_moves_a_workload_in_a_postgres_state() {
    let pg = PgDb::new();
    state_mv_session(Some(&pg));
}

/// Local kinds only: a volume of the workload's own.
fn volume_workload(name: &str, resource: &str) -> String {
    format!(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: {name}\ncontainers:\n  main:\n    image: busybox\n    variables:\n      DIR: ${{resources.{resource}.source}}\nresources:\n  {resource}:\n    type: volume\n"
    )
}

#[test]
fn a_plan_that_deletes_and_creates_what_looks_like_a_rename_shows_the_moved_block() {
    let sb = Sandbox::new();
    sb.write("score.yaml", &volume_workload("api", "data"));
    assert_eq!(sb.run(&["apply", "--auto-approve"]).code, 0);

    // The workload renamed.
    sb.write("score.yaml", &volume_workload("backend", "data"));
    let block = "moved {\n  from = \"workload.api\"\n  to   = \"workload.backend\"\n}\n";
    let text = sb.run(&["plan"]);
    assert_eq!(text.code, 0, "{}", text.transcript());
    assert!(
        text.stdout.contains("This looks like a rename") && text.stdout.ends_with(block),
        "{}",
        text.stdout
    );
    let md = sb.run(&["plan", "--format", "markdown"]);
    assert!(
        md.stdout.contains("this looks like a rename")
            && md.stdout.contains(&format!("```hcl\n{block}```")),
        "{}",
        md.stdout
    );
    // Following the hint: the volume moves, nothing is deleted.
    sb.write("baton.hcl", block);
    let plan = plan_json(&sb);
    assert_eq!(plan["summary"]["delete"], 0, "{plan}");
    assert_eq!(plan["summary"]["move"], 2, "{plan}");
    let text = sb.run(&["plan"]);
    assert!(
        !text.stdout.contains("looks like a rename"),
        "{}",
        text.stdout
    );
    assert_eq!(sb.run(&["apply", "--auto-approve"]).code, 0);

    // A resource renamed inside the workload: the hint names the two uids.
    sb.write("score.yaml", &volume_workload("backend", "files"));
    let text = sb.run(&["plan"]);
    assert!(
        text.stdout.ends_with(
            "moved {\n  from = \"volume.default#backend.data\"\n  to   = \"volume.default#backend.files\"\n}\n"
        ),
        "{}",
        text.stdout
    );
    // Something new that renames nothing: no hint.
    sb.write("score.yaml", &volume_workload("backend", "data"));
    sb.write("other.score.yaml", &volume_workload("other", "data"));
    let text = sb.run(&["plan"]);
    assert!(
        !text.stdout.contains("looks like a rename"),
        "{}",
        text.stdout
    );
}

#[test]
fn bad_moved_blocks_are_located_errors() {
    let sb = Sandbox::new();
    sb.write("score.yaml", &volume_workload("api", "data"));
    assert_eq!(sb.run(&["apply", "--auto-approve"]).code, 0);
    let cases: &[(&str, &[&str])] = &[
        (
            "moved {\n  from = \"workload.api\"\n  into = \"workload.b\"\n}\n",
            &[
                "error: unknown attribute `into` in a `moved` block\n  --> baton.hcl:3:3",
                "error: `moved` needs `to`\n  --> baton.hcl:1:1",
            ],
        ),
        (
            "moved {\n  from = workload.api\n  to = \"workload.b\"\n}\n",
            &["error: `from` takes an address in quotes\n  --> baton.hcl:2:10"],
        ),
        (
            "moved {\n  from = \"api\"\n  to = \"workload.b\"\n}\n",
            &[
                "error: `from` is not an address\n  --> baton.hcl:2:10",
                "`api` is not an address; expected `workload.NAME`",
            ],
        ),
        (
            "moved {\n  from = \"workload.api\"\n  to = \"volume.default#b.data\"\n}\n",
            &[
                "error: cannot move `workload.api` to `volume.default#b.data`\n  --> baton.hcl:1:1",
                "a workload cannot move to a uid",
            ],
        ),
        (
            &format!(
                "{}{}",
                moved("workload.a", "workload.b"),
                moved("workload.b", "workload.c")
            ),
            &[
                "error: `moved` blocks chain through `workload.b`\n  --> baton.hcl:1:1",
                "help: move straight from `workload.a` to `workload.c` in one block",
            ],
        ),
        (
            &format!(
                "{}{}",
                moved("workload.a", "workload.b"),
                moved("workload.b", "workload.a")
            ),
            &["(a cycle): remove both"],
        ),
        (
            &format!(
                "{}{}",
                moved("workload.a", "workload.c"),
                moved("workload.b", "workload.c")
            ),
            &["error: two `moved` blocks move to `workload.c`\n  --> baton.hcl:5:1"],
        ),
        (
            "moved \"x\" {\n  from = \"workload.a\"\n  to = \"workload.b\"\n}\n",
            &["error: `moved` takes no label\n  --> baton.hcl:1:1"],
        ),
        (
            "moves {\n  from = \"workload.a\"\n  to = \"workload.b\"\n}\n",
            &["error: unknown block `moves` in baton.hcl\n  --> baton.hcl:1:1"],
        ),
    ];
    for (hcl, says) in cases {
        sb.write("baton.hcl", hcl);
        for cmd in [&["plan"][..], &["validate"]] {
            let run = sb.run(cmd);
            assert_eq!(run.code, 1, "{hcl}\n{}", run.transcript());
            for s in *says {
                assert!(
                    run.stderr.contains(s),
                    "{hcl}\nwanted {s:?}\n{}",
                    run.stderr
                );
            }
        }
    }
    // Both addresses recorded: the plan refuses, at the block, and changes nothing.
    sb.write("other.score.yaml", &volume_workload("other", "data"));
    sb.write("baton.hcl", "");
    assert_eq!(sb.run(&["apply", "--auto-approve"]).code, 0);
    // `state mv` refuses a TO that is recorded, and changes nothing.
    let listed = sb.run(&["state", "list"]).stdout;
    let run = sb.run(&["state", "mv", "workload.api", "workload.other"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(run.stderr.contains("is recorded already"), "{}", run.stderr);
    assert_eq!(sb.run(&["state", "list"]).stdout, listed);
    sb.write("baton.hcl", &moved("workload.api", "workload.other"));
    let run = sb.run(&["plan"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr.contains(
            "error: cannot move `workload.api` to `workload.other`: both are recorded\n  --> baton.hcl:1:1"
        ),
        "{}",
        run.stderr
    );
    // A block whose FROM is gone is done: harmless.
    sb.write("baton.hcl", &moved("workload.gone", "workload.api"));
    let run = sb.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
}
