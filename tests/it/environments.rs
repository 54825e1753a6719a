//! Environments in baton.hcl, through the binary: `extends`, each environment's own
//! state and manifests, modules for a parent serving its children, `environment.*` in
//! module expressions, located errors for every mistake in baton.hcl, and the first
//! session of a new user (`baton init`, `plan`, `apply`).

use std::process::Command;

use crate::servers::{rabbit, shop, unique};
use crate::support::redis;
use crate::support::{Run, Sandbox};

fn ok(run: &Run) {
    assert_eq!(run.code, 0, "{}", run.transcript());
}

/// Refused with exit 1 and nothing written: no state, no manifests.
fn refused(sb: &Sandbox, run: &Run) {
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(!sb.path().join(".baton").exists(), "{}", run.transcript());
    assert!(!sb.path().join("deploy").exists(), "{}", run.transcript());
}

#[test]
fn init_plan_and_apply_work_in_an_empty_folder() {
    let sb = Sandbox::new();
    ok(&sb.run(&["init"]));
    ok(&sb.run(&["plan"]));
    ok(&sb.run(&["apply", "--auto-approve"]));
    let plan = sb.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "nothing left to do\n{}", plan.transcript());
    assert!(sb.path().join("deploy/local/hello.yaml").is_file());
    // The commented staging of the starter file works once uncommented.
    let text = sb.read("baton.hcl");
    let uncommented: String = text
        .lines()
        .map(|l| match l.strip_prefix("# ") {
            Some(rest) if text.contains("# environment \"staging\"") && is_config(rest) => rest,
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    sb.write("baton.hcl", &uncommented);
    ok(&sb.run(&["--env", "staging", "apply", "--auto-approve"]));
    assert!(sb.path().join(".baton/staging.db").is_file());
    assert!(sb.path().join("deploy/staging/hello.yaml").is_file());
}

/// A line of the starter file's commented example (HCL, not prose).
fn is_config(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with("environment")
        || t.starts_with("extends")
        || t.starts_with("state")
        || t.starts_with("sqlite")
        || t.starts_with("target")
        || t == "}"
}

#[test]
fn usage_errors_exit_1_never_the_2_of_changes_present() {
    let sb = Sandbox::new();
    sb.write("score.yaml", crate::support::WEB);
    for args in [
        &["plan", "--detailed-exitcode", "--typo"][..],
        &["plan", "--parallelism", "many"],
        &["drift", "--format", "yaml"],
        &["frobnicate"],
        &[],
    ] {
        let run = sb.run(args);
        assert_eq!(run.code, 1, "{args:?}\n{}", run.transcript());
        assert!(
            run.stderr.contains("error") || run.stderr.contains("Usage"),
            "{}",
            run.transcript()
        );
    }
    ok(&sb.run(&["--help"]));
    ok(&sb.run(&["plan", "--help"]));
    // The 2 of a real plan with changes, for contrast.
    let plan = sb.run(&["plan", "--detailed-exitcode", "--refresh=false"]);
    assert_eq!(plan.code, 2, "{}", plan.transcript());
}

#[test]
fn a_nested_block_on_one_line_is_a_located_error_with_the_fix() {
    let sb = Sandbox::new();
    sb.write("score.yaml", crate::support::WEB);
    sb.write(
        "baton.hcl",
        "environment \"local\" {\n  state { sqlite { path = \".baton/state.db\" } }\n}\n",
    );
    let run = sb.run(&["plan"]);
    refused(&sb, &run);
    assert!(run.stderr.contains("baton.hcl:2:18"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("put the nested block on a line of its own")
            && run.stderr.contains("sqlite { … }"),
        "{}",
        run.stderr
    );
}

/// Every mistake of a baton.hcl, located, with its hint; exit 1 and nothing written.
#[test]
fn mistakes_in_baton_hcl_are_located_errors_with_hints() {
    let cases: &[(&str, &str, &str, &[&str])] = &[
        (
            "local",
            "environment \"local\" {\n  provider \"postgres\" {\n    ulr = \"postgres://x@127.0.0.1/db\"\n  }\n}\n",
            "baton.hcl:3:5",
            &[
                "unknown attribute `ulr` in `provider \"postgres\"`",
                "did you mean `url`?",
            ],
        ),
        (
            "local",
            "environment \"local\" {\n  provider \"postgres\" {\n    prefix = \"stg\"\n  }\n}\n",
            "baton.hcl:3:5",
            &["unknown attribute `prefix`", "environment.settings.NAME"],
        ),
        (
            "local",
            "environment \"local\" {\n  provider \"postgress\" {}\n}\n",
            "baton.hcl:2:3",
            &["unknown provider `postgress`", "did you mean `postgres`?"],
        ),
        (
            "local",
            "environment \"local\" {\n  modles = [\"m\"]\n}\n",
            "baton.hcl:2:3",
            &["unknown attribute `modles`", "did you mean `modules`?"],
        ),
        (
            "local",
            "environment \"local\" {\n  target \"kubernets\" {}\n}\n",
            "baton.hcl:2:3",
            &[
                "unknown target `kubernets`",
                "did you mean `target \"kubernetes\"`?",
            ],
        ),
        (
            "local",
            "environment \"local\" {\n  target \"compose\" { namespace = \"x\" }\n}\n",
            "baton.hcl:2:22",
            &["unknown attribute `namespace` in `target \"compose\"`"],
        ),
        (
            "staging",
            "environment \"staging\" {\n  extends = \"locla\"\n}\n",
            "baton.hcl:2:13",
            &[
                "extends `locla`, which is not defined",
                "did you mean `local`?",
            ],
        ),
        (
            "local",
            "environment \"local\" {\n  extends = \"staging\"\n}\nenvironment \"staging\" {\n  extends = \"local\"\n}\n",
            "baton.hcl:2:13",
            &["`extends` makes a cycle: local → staging → local"],
        ),
        (
            "local",
            "environment \"local\" {}\nenvironment \"local\" {}\n",
            "baton.hcl:2:1",
            &["environment `local` is declared twice"],
        ),
        (
            "local",
            "environment \"local\" {\n  settings { a = 1 }\n  settings { b = 2 }\n}\n",
            "baton.hcl:3:3",
            &["`settings` appears twice in one environment"],
        ),
        (
            // staging inherits local's state file and manifest folder.
            "staging",
            "environment \"local\" {\n  state {\n    sqlite { path = \".baton/state.db\" }\n  }\n  target \"kubernetes\" { dir = \"deploy/local\" }\n}\nenvironment \"staging\" {\n  extends = \"local\"\n}\n",
            "baton.hcl:8:13",
            &[
                "environments `staging` and `local` keep their state in the same file .baton/state.db",
                "state of `staging` (inherited from `local`)",
                "`local` keeps its state here",
                "environments `staging` and `local` write their manifests to the same folder deploy/local",
            ],
        ),
        (
            // Spelt differently, the same file.
            "prod",
            "environment \"prod\" {\n  state {\n    sqlite { path = \"./.baton/x/../state.db\" }\n  }\n}\n",
            "baton.hcl:2:3",
            &["environments `prod` and `local` keep their state in the same file"],
        ),
    ];
    for (env, hcl, at, expected) in cases {
        let sb = Sandbox::new();
        sb.write("score.yaml", crate::support::WEB);
        sb.write("baton.hcl", hcl);
        let run = sb.run(&["--env", env, "plan"]);
        refused(&sb, &run);
        assert!(
            run.stderr.contains(at),
            "{hcl}\nexpected at {at}\n{}",
            run.stderr
        );
        for e in *expected {
            assert!(
                run.stderr.contains(e),
                "{hcl}\nexpected {e:?}\n{}",
                run.stderr
            );
        }
    }
}

/// A project module that writes a file named from the environment's name and settings.
const NOTE_MODULE: &str = r#"
provisions "note" {
  environments = ["local"]
}

resource "local_file" "note" {
  path    = "notes/${environment.settings.name_prefix}-${score.workload}.txt"
  content = "${environment.name} ${lookup(environment.settings, "colour", "plain")}"
}

output "path" {
  value = local_file.note.path
}
"#;

const NOTE_SCORE: &str = "apiVersion: score.dev/v1b1
metadata:
  name: app
containers:
  main:
    image: busybox
    variables:
      NOTE: ${resources.note.path}
resources:
  note:
    type: note
";

#[test]
fn a_child_environment_inherits_settings_modules_state_and_target_patterns_and_overrides_them() {
    let sb = Sandbox::new();
    sb.write("modules/note.hcl", NOTE_MODULE);
    sb.write("score.yaml", NOTE_SCORE);
    sb.write(
        "baton.hcl",
        r#"
environment "local" {
  state {
    sqlite { path = ".baton/${environment.name}.db" }
  }
  target "kubernetes" { dir = "deploy/${environment.name}" }
  settings {
    name_prefix = "loc"
    colour      = "green"
  }
}

environment "staging" {
  extends = "local"
  settings {
    name_prefix = "stg"
  }
}

environment "preview" {
  extends = "staging"
  target "compose" {}
  settings {
    name_prefix = "pre"
  }
}
"#,
    );
    for env in ["local", "staging", "preview"] {
        ok(&sb.run(&["--env", env, "apply", "--auto-approve"]));
    }
    // Settings: the child's own over the parent's, key by key; `environment.name` is
    // the environment used, also in a path the parent wrote.
    assert_eq!(sb.read("notes/loc-app.txt"), "local green");
    assert_eq!(sb.read("notes/stg-app.txt"), "staging green");
    // preview extends staging, which extends local: local's colour two levels down.
    assert_eq!(sb.read("notes/pre-app.txt"), "preview green");
    for f in [".baton/local.db", ".baton/staging.db", ".baton/preview.db"] {
        assert!(sb.path().join(f).is_file(), "{f}");
    }
    assert!(sb.path().join("deploy/local/app.yaml").is_file());
    assert!(sb.path().join("deploy/staging/app.yaml").is_file());
    assert!(sb.path().join("deploy/preview/app/compose.yaml").is_file());
    // Each state holds its own objects only.
    for env in ["local", "staging", "preview"] {
        let list = sb.run(&["--env", env, "state", "list"]);
        ok(&list);
        assert!(
            list.stdout
                .contains("note.default#app.note/local_file.note"),
            "{}",
            list.stdout
        );
    }
}

#[test]
fn an_environment_without_a_module_for_it_is_told_to_extend_one() {
    let sb = Sandbox::new();
    sb.write("score.yaml", crate::support::WEB);
    sb.write("baton.hcl", "environment \"staging\" {}\n");
    let run = sb.run(&["--env", "staging", "plan"]);
    refused(&sb, &run);
    assert!(
        run.stderr
            .contains("no module provisions `postgres.default#web.db` in environment `staging`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(
            "let `staging` extend one (`environment \"staging\" { extends = \"local\" }`"
        ),
        "{}",
        run.stderr
    );
    let list = sb.run(&["--env", "staging", "modules", "list"]);
    ok(&list);
    assert!(!list.stdout.contains("modules/postgres"), "{}", list.stdout);
}

#[test]
fn modules_list_shows_exactly_what_the_environment_can_use() {
    let sb = Sandbox::new();
    sb.write("modules/note.hcl", NOTE_MODULE);
    sb.write(
        "modules/note-prod.hcl",
        &NOTE_MODULE.replace("[\"local\"]", "[\"prod\"]"),
    );
    sb.write(
        "baton.hcl",
        r#"
environment "staging" {
  extends = "local"
}
environment "prod" {
  provider "aws" {
    region = "eu-west-1"
  }
}
environment "prod-eu" {
  extends = "prod"
}
"#,
    );
    let list = |env: &str| {
        let run = sb.run(&["--env", env, "modules", "list"]);
        ok(&run);
        run.stdout
    };
    let staging = list("staging");
    assert!(
        staging.contains("built-in modules/postgres/local.hcl"),
        "{staging}"
    );
    assert!(staging.contains("modules/note.hcl"), "{staging}");
    assert!(!staging.contains("aws.hcl"), "{staging}");
    assert!(!staging.contains("note-prod.hcl"), "{staging}");
    assert_eq!(staging, list("local"), "staging can use what local can");
    let prod = list("prod-eu");
    assert!(prod.contains("built-in modules/postgres/aws.hcl"), "{prod}");
    assert!(prod.contains("note-prod.hcl"), "{prod}");
    assert!(!prod.contains("local.hcl"), "{prod}");
    let show = sb.run(&["--env", "prod-eu", "modules", "show", "postgres"]);
    ok(&show);
    assert!(!show.stdout.contains("local.hcl"), "{}", show.stdout);
}

fn pg_login(user: &str, database: &str, password: &str) -> Result<String, String> {
    let out = Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            user,
            "-d",
            database,
            "-Atc",
            "SELECT current_user",
        ])
        .env("PGPASSWORD", password)
        .output()
        .expect("psql");
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// examples/shop in `local` and in `staging` (extends `local`, its own state, manifests
/// and name prefix) on the same servers.
#[test]
fn local_and_staging_from_the_same_score_files_live_side_by_side() {
    let suffix = unique("e");
    let sb = shop(&suffix);
    // examples/shop/baton.hcl declares staging: extends local, with its own state,
    // manifest folder and name prefix.
    let hcl = sb.read("baton.hcl");
    assert!(
        hcl.contains("environment \"staging\" {\n  extends = \"local\""),
        "{hcl}"
    );
    let staging = |args: &[&str]| {
        let mut a = vec!["--env", "staging"];
        a.extend_from_slice(args);
        sb.run(&a)
    };
    ok(&sb.run(&["apply", "--auto-approve"]));
    ok(&staging(&["apply", "--auto-approve"]));

    // staging uses the built-in modules, as local does.
    let modules = staging(&["modules", "show", "postgres"]);
    ok(&modules);
    assert!(
        modules
            .stdout
            .contains("built-in modules/postgres/local.hcl"),
        "{}",
        modules.stdout
    );

    let outputs = |run: Run| -> serde_json::Value {
        ok(&run);
        serde_json::from_str(&run.stdout).unwrap()
    };
    let local_out = outputs(sb.run(&["output", "--json", "--show-sensitive"]));
    let staging_out = outputs(staging(&["output", "--json", "--show-sensitive"]));
    let db = format!("postgres.default#orders-db-{suffix}");
    let cache = format!("redis.default#fulfilment-{suffix}.cache");
    let queue = format!("amqp.default#fulfilment-{suffix}.queue");
    // No collision: every physical name of staging differs from local's.
    for (uid, key) in [
        (&db, "username"),
        (&db, "database"),
        (&cache, "username"),
        (&queue, "vhost"),
    ] {
        assert_ne!(local_out[uid][key], staging_out[uid][key], "{uid} {key}");
        // staging's names start with its `name_prefix`; local has none.
        let name = |out: &serde_json::Value| out[uid][key].as_str().unwrap().to_string();
        assert!(
            name(&staging_out).starts_with("stg"),
            "{}",
            name(&staging_out)
        );
        assert!(!name(&local_out).starts_with("stg"), "{}", name(&local_out));
    }
    let login = |out: &serde_json::Value| {
        let o = &out[&db];
        pg_login(
            o["username"].as_str().unwrap(),
            o["database"].as_str().unwrap(),
            o["password"].as_str().unwrap(),
        )
    };
    let local_user = local_out[&db]["username"].as_str().unwrap().to_string();
    assert_eq!(login(&local_out).as_deref(), Ok(local_user.as_str()));
    assert!(login(&staging_out).is_ok());

    // Destroying staging leaves local's objects working and its plan empty.
    ok(&staging(&["destroy", "--auto-approve"]));
    assert!(login(&staging_out).is_err(), "staging's role is gone");
    assert_eq!(login(&local_out).as_deref(), Ok(local_user.as_str()));
    let local_cache = local_out[&cache]["username"].as_str().unwrap();
    assert!(redis(&["ACL", "GETUSER", local_cache]).contains("+@all"));
    let local_vhost = local_out[&queue]["vhost"].as_str().unwrap();
    assert_eq!(rabbit(&format!("vhosts/{local_vhost}")).0, 200);
    let staging_vhost = staging_out[&queue]["vhost"].as_str().unwrap();
    assert_eq!(rabbit(&format!("vhosts/{staging_vhost}")).0, 404);
    assert!(
        sb.path()
            .join(format!("deploy/local/orders-{suffix}.yaml"))
            .is_file()
    );
    assert!(
        !sb.path()
            .join(format!("deploy/staging/orders-{suffix}.yaml"))
            .exists()
    );
    let plan = sb.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "local is untouched\n{}", plan.transcript());
    ok(&sb.run(&["destroy", "--auto-approve"]));
    assert!(login(&local_out).is_err());
}
