//! Physical names: the built-in modules give every uid, in every state, a name of its own
//! (`physical_name`), and an object keeps the name it was made with.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::Value;

use crate::support::{Sandbox, psql};

/// The attributes that name an object on its system, per kind (the force-new names).
const NAMING: &[(&str, &str)] = &[
    ("local_directory", "path"),
    ("local_file", "path"),
    ("mysql_database", "name"),
    ("mysql_user", "user"),
    ("postgres_database", "name"),
    ("postgres_role", "name"),
    ("rabbitmq_user", "name"),
    ("rabbitmq_vhost", "name"),
    ("redis_acl_user", "username"),
];

/// A Score name: lower-case letters and digits with hyphens anywhere inside.
fn name() -> impl Strategy<Value = String> {
    "[a-z0-9][a-z0-9-]{0,6}[a-z0-9]"
}

/// A shared id: names joined by dots, hyphens and dots at every inner position.
fn shared_id() -> impl Strategy<Value = String> {
    prop::collection::vec("[a-z0-9]{1,3}(-{1,2}[a-z0-9]{1,3}){0,2}", 1..4).prop_map(|p| p.join("."))
}

/// One resource request: its name, its type, and a shared id or none.
type Request = (String, &'static str, Option<String>);

fn project() -> impl Strategy<Value = BTreeMap<String, Vec<Request>>> {
    let kind = prop::sample::select(vec!["postgres", "mysql", "redis", "amqp", "volume"]);
    let request = (name(), kind, prop::option::weighted(0.3, shared_id()));
    prop::collection::btree_map(name(), prop::collection::vec(request, 1..4), 1..5)
}

fn score(workload: &str, requests: &[Request]) -> String {
    let mut text = format!(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: \"{workload}\"\ncontainers:\n  main:\n    image: busybox\nresources:\n"
    );
    let mut seen = BTreeSet::new();
    for (r, kind, id) in requests {
        if !seen.insert(r) {
            continue;
        }
        text.push_str(&format!("  \"{r}\":\n    type: {kind}\n"));
        if let Some(id) = id {
            text.push_str(&format!("    id: \"{id}\"\n"));
        }
    }
    text
}

/// (kind, physical name) → address, and address → uid, of the objects a plan would make.
struct Made {
    names: BTreeMap<(String, String), String>,
    uids: BTreeMap<String, String>,
}

/// Plans the project in a new sandbox (a state, and so a lineage, of its own). `None`
/// when baton refuses the project as it should (a shared id given two types, or one
/// that spells a workload's resource): never because two names collided.
fn plan(project: &BTreeMap<String, Vec<Request>>) -> Result<Option<Made>, TestCaseError> {
    let sb = Sandbox::new();
    for (w, requests) in project {
        sb.write(&format!("{w}.score.yaml"), &score(w, requests));
    }
    let run = sb.run(&["plan", "--format", "json"]);
    if run.code != 0 {
        prop_assert!(
            !run.stderr.contains("plan/same-object") && !run.stderr.contains("plan/shared-record"),
            "names collided:\n{}",
            run.transcript()
        );
        prop_assert!(
            run.stderr.contains("generate/ambiguous-id")
                || run.stderr.contains("shared")
                || run.stderr.contains("id"),
            "refused for another reason:\n{}",
            run.transcript()
        );
        return Ok(None);
    }
    let plan: Value = serde_json::from_str(&run.stdout).expect("plan JSON");
    let mut made = Made {
        names: BTreeMap::new(),
        uids: BTreeMap::new(),
    };
    for c in plan["changes"].as_array().unwrap() {
        let address = c["address"].as_str().unwrap().to_string();
        let uid = c["uid"].as_str().unwrap().to_string();
        prop_assert!(
            made.uids.insert(address.clone(), uid).is_none(),
            "two changes at {address}"
        );
        let kind = c["kind"].as_str().unwrap();
        if let Some((_, attr)) = NAMING.iter().find(|(k, _)| *k == kind) {
            let n = c["after"][attr].as_str().unwrap().to_string();
            if let Some(other) = made
                .names
                .insert((kind.to_string(), n.clone()), address.clone())
            {
                // One object for two resources only when they are one uid's (a shared
                // resource's user and vhost both carry its name, of different kinds).
                prop_assert!(false, "{address} and {other} would both be {kind} {n}");
            }
        }
    }
    Ok(Some(made))
}

/// Random workloads, resource names and shared ids, planned in two states: no two uids
/// share a physical name or an address, and the two states share no name at all.
#[test]
fn no_two_uids_or_states_derive_one_name() {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(24);
    assert!(cases > 0, "PROPTEST_CASES=0 would check nothing");
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let planned = std::cell::Cell::new(0u32);
    runner
        .run(&project(), |p| {
            let (Some(a), Some(b)) = (plan(&p)?, plan(&p)?) else {
                return Ok(());
            };
            planned.set(planned.get() + 1);
            // Addresses belong to one uid each, and uids to one address prefix each.
            for (address, uid) in &a.uids {
                let prefix = format!("{uid}/");
                prop_assert!(
                    uid.is_empty() || address.starts_with(&prefix),
                    "{} is not under {}",
                    address,
                    uid
                );
            }
            prop_assert_eq!(
                a.uids.keys().collect::<Vec<_>>(),
                b.uids.keys().collect::<Vec<_>>()
            );
            for (key, address) in &a.names {
                prop_assert!(
                    !b.names.contains_key(key),
                    "{address} has the name {:?} in both states",
                    key
                );
            }
            Ok(())
        })
        .unwrap();
    assert!(
        planned.get() * 2 >= cases,
        "only {} of {cases} random projects planned: the generator makes too many projects baton refuses",
        planned.get()
    );
}

/// The postgres module of earlier versions, which named objects without a suffix.
const OLD_POSTGRES: &str = r#"
provisions "postgres" {
  environments = ["local"]
}
resource "random_password" "password" {
  length  = 24
  special = false
}
resource "postgres_role" "owner" {
  name     = replace(replace(lower(score.id != null ? "shared_${score.id}" : "${score.workload}_${score.resource}"), "-", "_"), ".", "_")
  login    = true
  password = random_password.password.result
}
resource "postgres_database" "db" {
  name  = postgres_role.owner.name
  owner = postgres_role.owner.name
}
output "name" {
  value = postgres_database.db.name
}
output "database" {
  value = postgres_database.db.name
}
output "username" {
  value = postgres_role.owner.name
}
output "password" {
  value     = random_password.password.result
  sensitive = true
}
output "host" {
  value = provider.postgres.host
}
output "port" {
  value = provider.postgres.port
}
"#;

/// The volume module of earlier versions.
const OLD_VOLUME: &str = r##"
provisions "volume" {
  environments = ["local"]
}
resource "local_directory" "data" {
  path = ".baton/volumes/${replace(replace(score.uid, "#", "--"), ".", "-")}"
}
output "source" {
  value = local_directory.data.absolute_path
}
"##;

/// Objects made under the earlier naming keep their names (and their data) when the
/// modules change to `physical_name`: the plan changes nothing; a resource added later
/// gets a name with the suffix.
#[test]
fn objects_named_by_earlier_modules_keep_their_names_and_data() {
    let w = crate::servers::unique("nm");
    let sb = Sandbox::new();
    let score = |extra: &str| {
        format!(
            "apiVersion: score.dev/v1b1\nmetadata:\n  name: {w}\ncontainers:\n  main:\n    image: busybox\n    variables:\n      DB: ${{resources.db.name}}\nresources:\n  db:\n    type: postgres\n  data:\n    type: volume\n{extra}"
        )
    };
    sb.write("score.yaml", &score(""));
    sb.write("modules/postgres.hcl", OLD_POSTGRES);
    sb.write("modules/volume.hcl", OLD_VOLUME);
    let run = sb.run(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let db = format!("{w}_db");
    let volume = sb
        .path()
        .join(format!(".baton/volumes/volume-default--{w}-data"));
    assert!(volume.is_dir());
    std::fs::write(volume.join("canary"), "kept").unwrap();
    psql(
        &db,
        "CREATE TABLE canary (v text); INSERT INTO canary VALUES ('kept')",
    );

    // The built-in modules from now on.
    std::fs::remove_dir_all(sb.path().join("modules")).unwrap();
    let plan = sb.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(
        plan.code,
        0,
        "nothing renamed or replaced:\n{}",
        plan.transcript()
    );
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);

    // A resource added now is named with the suffix; the others stay as they are.
    sb.write("score.yaml", &score("  cache:\n    type: postgres\n"));
    let run = sb.run(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stdout
            .contains("3 added, 0 changed, 0 replaced, 0 destroyed"),
        "{}",
        run.stdout
    );
    let cache = sb.name(&format!("postgres.default#{w}.cache"), "_", 63);
    assert!(cache.starts_with(&format!("{w}_cache_")), "{cache}");
    assert_eq!(psql(&cache, "SELECT current_database()").trim(), cache);
    assert_eq!(psql(&db, "SELECT v FROM canary").trim(), "kept");
    assert_eq!(
        std::fs::read_to_string(volume.join("canary")).unwrap(),
        "kept"
    );
    let out = sb.run(&["output", "--json"]);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v[format!("postgres.default#{w}.db")]["name"], db.as_str());

    // A volume holding files needs `force_destroy`; this one is emptied first.
    std::fs::remove_file(volume.join("canary")).unwrap();
    let run = sb.run(&["destroy", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(!volume.exists());
    assert_eq!(
        psql(
            "postgres",
            &format!("SELECT count(*) FROM pg_database WHERE datname LIKE '{w}%'")
        )
        .trim(),
        "0"
    );
}

/// Runs a command, returning its stdout, and whether it succeeded.
fn sh(program: &str, args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let out = std::process::Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
    )
}

/// Whether each of the project's credentials works on its server, by resource.
fn credentials_work(outputs: &Value, w: &str) -> BTreeMap<&'static str, bool> {
    let o = |r: &str, k: &str| {
        outputs[format!("{}.default#{w}.{r}", r)][k]
            .as_str()
            .map(str::to_string)
            .or_else(|| {
                outputs[format!("{}.default#{w}.{r}", r)][k]
                    .as_i64()
                    .map(|n| n.to_string())
            })
            .unwrap_or_else(|| panic!("no {k} of {r} in {outputs}"))
    };
    let mut out = BTreeMap::new();
    let (ok, who) = sh(
        "psql",
        &[
            "-h",
            "127.0.0.1",
            "-U",
            &o("postgres", "username"),
            "-d",
            &o("postgres", "database"),
            "-At",
            "-c",
            "SELECT current_user",
        ],
        &[("PGPASSWORD", &o("postgres", "password"))],
    );
    out.insert("postgres", ok && who == o("postgres", "username"));
    let (ok, one) = sh(
        "mariadb",
        &[
            "-h",
            "127.0.0.1",
            "-u",
            &o("mysql", "username"),
            &format!("-p{}", o("mysql", "password")),
            &o("mysql", "database"),
            "-N",
            "-e",
            "SELECT 1",
        ],
        &[],
    );
    out.insert("mysql", ok && one == "1");
    let (ok, pong) = sh(
        "redis-cli",
        &[
            "-h",
            "127.0.0.1",
            "--user",
            &o("redis", "username"),
            "--pass",
            &o("redis", "password"),
            "--no-auth-warning",
            "ACL",
            "WHOAMI",
        ],
        &[],
    );
    // A failed AUTH leaves the connection as the default user.
    out.insert("redis", ok && pong == o("redis", "username"));
    // The user has no management tag: the broker's own check of the password.
    let (ok, _) = sh(
        "rabbitmqctl",
        &[
            "authenticate_user",
            &o("amqp", "username"),
            &o("amqp", "password"),
        ],
        &[],
    );
    out.insert("amqp", ok);
    out
}

/// Two projects (two states) from the same Score file on the same servers: both apply,
/// each with objects of its own names, and destroying one leaves the other's objects
/// and credentials working.
#[test]
fn two_projects_on_one_set_of_servers_never_share_an_object() {
    let w = crate::servers::unique("tp");
    let score = format!(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: {w}\ncontainers:\n  main:\n    image: busybox\nresources:\n  postgres:\n    type: postgres\n  mysql:\n    type: mysql\n  redis:\n    type: redis\n  amqp:\n    type: amqp\n"
    );
    let (a, b) = (Sandbox::new(), Sandbox::new());
    let mut outputs = Vec::new();
    for sb in [&a, &b] {
        sb.write("score.yaml", &score);
        let run = sb.run(&["apply", "--auto-approve"]);
        assert_eq!(run.code, 0, "{}", run.transcript());
        let out = sb.run(&["output", "--json", "--show-sensitive"]);
        assert_eq!(out.code, 0, "{}", out.transcript());
        outputs.push(serde_json::from_str::<Value>(&out.stdout).unwrap());
    }
    let all = BTreeMap::from([
        ("amqp", true),
        ("mysql", true),
        ("postgres", true),
        ("redis", true),
    ]);
    for o in &outputs {
        assert_eq!(credentials_work(o, &w), all);
    }
    for r in ["postgres", "mysql", "redis", "amqp"] {
        let name = |o: &Value| o[format!("{r}.default#{w}.{r}")]["username"].clone();
        assert_ne!(name(&outputs[0]), name(&outputs[1]), "{r}");
    }

    let run = a.run(&["destroy", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(
        credentials_work(&outputs[0], &w),
        BTreeMap::from([
            ("amqp", false),
            ("mysql", false),
            ("postgres", false),
            ("redis", false)
        ]),
        "the first project's objects are gone"
    );
    assert_eq!(
        credentials_work(&outputs[1], &w),
        all,
        "the second project's still work"
    );
    let run = b.run(&["destroy", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
}
