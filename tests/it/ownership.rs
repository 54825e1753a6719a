//! Hostile neighbours: objects that someone else made, with exactly the names a
//! configuration asks for, each holding a canary. baton must refuse to take them over,
//! change or delete them, whatever it is asked to do (apply, again, drift, destroy, an
//! apply killed mid-way and the next one), and every refusal must name the object and
//! the explicit way to take it over (`baton import`). Checked on the real servers.

use std::process::Command;

use crate::servers::unique;
use crate::support::{Run, Sandbox, psql};

/// A project module asking for objects by the exact names given in its params.
const MODULE: &str = r#"
provisions "neighbour" {
  environments = ["local", "staging"]
  description  = "Objects with exact names, for the hostile-neighbours suite"
}

param "name" {
  type = string
}

resource "random_password" "password" {
  length  = 24
  special = false
}

resource "postgres_role" "role" {
  name     = "${param.name}_role"
  password = random_password.password.result
}

resource "postgres_database" "db" {
  name  = "${param.name}_db"
  owner = postgres_role.role.name
}

resource "postgres_grant" "connect" {
  role       = postgres_role.role.name
  database   = postgres_database.db.name
  privileges = ["CONNECT"]
}

resource "redis_acl_user" "user" {
  username  = "${param.name}-user"
  passwords = [random_password.password.result]
  keys      = ["${param.name}:*"]
  commands  = ["+@all", "-@dangerous"]
}

output "username" {
  value = redis_acl_user.user.username
}
"#;

const CANARY_PW: &str = "canary-password-of-the-neighbour";

fn sh(cmd: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(cmd).args(args).output().unwrap_or_else(|e| {
        panic!("{cmd} is needed by this test ({e}); .ci/services starts the servers")
    });
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn redis(args: &[&str]) -> String {
    let mut a = vec!["-h", "127.0.0.1", "-p", "6379"];
    a.extend_from_slice(args);
    let (ok, out) = sh("redis-cli", &a);
    assert!(ok, "redis-cli {args:?} failed (is Redis up?): {out}");
    out
}

/// The neighbour's objects, made by hand, each with a canary.
struct Neighbour {
    name: String,
    /// The role's password verifier as the neighbour set it.
    verifier: String,
    /// The database's privileges as the neighbour set them.
    acl: String,
}

impl Neighbour {
    fn make(name: &str) -> Neighbour {
        let (role, db, user) = (
            format!("{name}_role"),
            format!("{name}_db"),
            format!("{name}-user"),
        );
        psql(
            "postgres",
            &format!("CREATE ROLE \"{role}\" LOGIN PASSWORD '{CANARY_PW}' CONNECTION LIMIT 7"),
        );
        psql(
            "postgres",
            &format!("CREATE DATABASE \"{db}\" OWNER \"{role}\""),
        );
        psql(
            &db,
            "CREATE TABLE canary (v text); INSERT INTO canary VALUES ('still here')",
        );
        psql(
            "postgres",
            &format!("GRANT CONNECT, TEMPORARY ON DATABASE \"{db}\" TO \"{role}\""),
        );
        redis(&[
            "ACL",
            "SETUSER",
            &user,
            "on",
            &format!(">{CANARY_PW}"),
            &format!("~{name}:*"),
            "+@all",
        ]);
        redis(&["SET", &format!("{name}:canary"), "still here"]);
        let verifier = psql(
            "postgres",
            &format!("SELECT rolpassword FROM pg_authid WHERE rolname = '{role}'"),
        );
        let acl = psql(
            "postgres",
            &format!("SELECT datacl::text FROM pg_database WHERE datname = '{db}'"),
        );
        assert!(
            acl.contains(&format!("{role}=")),
            "the neighbour's grant is in place: {acl}"
        );
        Neighbour {
            name: name.to_string(),
            verifier,
            acl,
        }
    }

    /// Every canary is alive and every object is as the neighbour left it.
    fn check(&self, when: &str) {
        let (role, db, user) = (
            format!("{}_role", self.name),
            format!("{}_db", self.name),
            format!("{}-user", self.name),
        );
        assert_eq!(
            psql(
                "postgres",
                &format!("SELECT rolpassword FROM pg_authid WHERE rolname = '{role}'")
            ),
            self.verifier,
            "{when}: the neighbour's role password changed"
        );
        assert_eq!(
            psql("postgres", &format!("SELECT rolconnlimit, shobj_description(oid, 'pg_authid') IS NULL FROM pg_roles WHERE rolname = '{role}'")).trim(),
            "7|t",
            "{when}: the neighbour's role changed or was marked"
        );
        assert_eq!(
            psql(&db, "SELECT v FROM canary").trim(),
            "still here",
            "{when}: the canary row"
        );
        assert_eq!(
            psql("postgres", &format!("SELECT shobj_description(oid, 'pg_database') IS NULL FROM pg_database WHERE datname = '{db}'")).trim(),
            "t",
            "{when}: the neighbour's database was marked"
        );
        let acl = psql(
            "postgres",
            &format!("SELECT datacl::text FROM pg_database WHERE datname = '{db}'"),
        );
        assert_eq!(acl, self.acl, "{when}: the database's privileges changed");
        assert_eq!(
            redis(&[
                "--user",
                &user,
                "--pass",
                CANARY_PW,
                "--no-auth-warning",
                "PING"
            ])
            .trim(),
            "PONG",
            "{when}: the neighbour's Redis password no longer works"
        );
        assert_eq!(
            redis(&["GET", &format!("{}:canary", self.name)]).trim(),
            "still here",
            "{when}: the canary key"
        );
    }

    fn remove(&self) {
        let (role, db, user) = (
            format!("{}_role", self.name),
            format!("{}_db", self.name),
            format!("{}-user", self.name),
        );
        psql(
            "postgres",
            &format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"),
        );
        psql("postgres", &format!("DROP ROLE IF EXISTS \"{role}\""));
        redis(&["ACL", "DELUSER", &user]);
        redis(&["DEL", &format!("{}:canary", self.name)]);
    }
}

fn project(name: &str) -> Sandbox {
    let sb = Sandbox::new();
    sb.write("modules/neighbour.hcl", MODULE);
    sb.write(
        "score.yaml",
        &format!(
            "apiVersion: score.dev/v1b1\nmetadata:\n  name: app\ncontainers:\n  main:\n    image: busybox\nresources:\n  store:\n    type: neighbour\n    params:\n      name: {name}\n"
        ),
    );
    sb
}

/// A refusal names the object and says how to take it over, exits 1, and leaves no
/// object of the module recorded.
fn assert_refused(sb: &Sandbox, env: &str, run: &Run, what: &str, name: &str) {
    assert_eq!(run.code, 1, "{what}: {}", run.transcript());
    let err = &run.stderr;
    assert!(
        err.contains(&format!("{name}_role")),
        "{what}: names the role\n{}",
        run.transcript()
    );
    assert!(
        err.contains(&format!("{name}-user")),
        "{what}: names the Redis user\n{}",
        run.transcript()
    );
    assert!(
        err.contains("baton import"),
        "{what}: says how to take it over\n{}",
        run.transcript()
    );
    let listed = sb.run(&["--env", env, "state", "list"]);
    assert!(
        !listed.stdout.contains("postgres_role") && !listed.stdout.contains("redis_acl_user"),
        "{what}: a foreign object was recorded\n{}",
        listed.transcript()
    );
}

#[test]
fn foreign_objects_with_the_configured_names_are_never_taken_changed_or_deleted() {
    let name = unique("nb");
    let neighbour = Neighbour::make(&name);
    let sb = project(&name);
    let guard = scopeguard(|| neighbour.remove());

    crate::support::hostile_session(
        &|args| sb.command(args),
        &["postgres_", "redis_"],
        &|run, what| assert_refused(&sb, "local", run, what, &name),
        &|when| neighbour.check(when),
    );
    drop(guard);
}

/// Two environments on the same servers: each has its own state, so its own markers and
/// its own generated passwords. `staging` never takes over what `local` made.
#[test]
fn another_environment_on_the_same_servers_cannot_take_over_objects() {
    let name = unique("nbenv");
    let sb = project(&name);
    sb.write(
        "baton.hcl",
        "environment \"local\" {\n}\n\nenvironment \"staging\" {\n  state {\n    sqlite {\n      path = \".baton/staging.db\"\n    }\n  }\n}\n",
    );
    let cleanup = Neighbour {
        name: name.clone(),
        verifier: String::new(),
        acl: String::new(),
    };
    let guard = scopeguard(|| cleanup.remove());
    let local = sb.run(&["apply", "--auto-approve"]);
    assert_eq!(local.code, 0, "{}", local.transcript());
    let password = sb.run(&["output", "--json", "--show-sensitive"]);
    let marker = psql(
        "postgres",
        &format!(
            "SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = '{name}_role'"
        ),
    );
    assert!(
        marker.starts_with("baton:"),
        "local's role carries its marker: {marker:?}"
    );
    let verifier = psql(
        "postgres",
        &format!("SELECT rolpassword FROM pg_authid WHERE rolname = '{name}_role'"),
    );
    let acl_before = redis(&["ACL", "GETUSER", &format!("{name}-user")]);

    let staging = sb.run(&["--env", "staging", "apply", "--auto-approve"]);
    assert_refused(&sb, "staging", &staging, "staging apply", &name);
    assert_eq!(
        psql(
            "postgres",
            &format!("SELECT rolpassword FROM pg_authid WHERE rolname = '{name}_role'")
        ),
        verifier,
        "staging changed local's role"
    );
    assert_eq!(
        redis(&["ACL", "GETUSER", &format!("{name}-user")]),
        acl_before,
        "staging changed local's Redis user"
    );
    // local still works and still owns its objects.
    let again = sb.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}", again.transcript());
    assert_eq!(
        sb.run(&["output", "--json", "--show-sensitive"]).stdout,
        password.stdout
    );
    let destroy = sb.run(&["destroy", "--auto-approve"]);
    assert_eq!(destroy.code, 0, "{}", destroy.transcript());
    assert_eq!(
        psql(
            "postgres",
            &format!("SELECT count(*) FROM pg_roles WHERE rolname = '{name}_role'")
        )
        .trim(),
        "0"
    );
    drop(guard);
}

/// Runs `f` when dropped: cleanup that also happens when an assertion fails.
fn scopeguard<F: FnOnce()>(f: F) -> impl Drop {
    struct Guard<F: FnOnce()>(Option<F>);
    impl<F: FnOnce()> Drop for Guard<F> {
        fn drop(&mut self) {
            if let Some(f) = self.0.take() {
                f();
            }
        }
    }
    Guard(Some(f))
}

/// A shared id with a dot may spell a workload's resource (`id: uu.data` and resource
/// `data` of workload `uu`): one address for two resources, so one's objects would be
/// taken for the other's. The project is refused, at the id, before anything is read.
#[test]
fn a_shared_id_that_spells_a_workload_resource_is_refused() {
    let sb = Sandbox::new();
    sb.write(
        "uu.score.yaml",
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: uu\ncontainers:\n  main:\n    image: busybox\nresources:\n  data:\n    type: volume\n",
    );
    sb.write(
        "web.score.yaml",
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n    image: busybox\nresources:\n  shared:\n    type: volume\n    id: uu.data\n",
    );
    let run = sb.run(&["plan"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr.contains(
            "shared id `uu.data` names the same resource as workload `uu`'s resource `data`"
        ) && run.stderr.contains("web.score.yaml:10:9"),
        "{}",
        run.transcript()
    );
    assert!(!sb.path().join(".baton").exists(), "nothing was created");
    // With another id both plan.
    sb.write(
        "web.score.yaml",
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n    image: busybox\nresources:\n  shared:\n    type: volume\n    id: shared-vol\n",
    );
    let run = sb.run(&["plan"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
}

/// Workload `web`'s `ab-cd` and workload `web-ab`'s `cd` read the same when joined with
/// `-`: the built-in modules tell them apart by the suffix, and a module whose own rule
/// would give them one name is refused at plan time, before any object is made.
#[test]
fn two_resources_deriving_one_physical_name_are_refused() {
    let sb = Sandbox::new();
    for (w, r) in [("web", "ab-cd"), ("web-ab", "cd")] {
        sb.write(
            &format!("{w}.score.yaml"),
            &format!("apiVersion: score.dev/v1b1\nmetadata:\n  name: {w}\ncontainers:\n  main:\n    image: busybox\nresources:\n  {r}:\n    type: volume\n"),
        );
    }
    // The built-in volume module: two directories.
    let run = sb.run(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let a = sb.name("volume.default#web.ab-cd", "-", 100);
    let b = sb.name("volume.default#web-ab.cd", "-", 100);
    assert_ne!(a, b);
    for d in [&a, &b] {
        assert!(sb.path().join(".baton/volumes").join(d).is_dir(), "{d}");
    }
    assert_eq!(sb.run(&["destroy", "--auto-approve"]).code, 0);

    // A module of the project's own that joins the names as earlier modules did.
    sb.write(
        "modules/volume.hcl",
        "provisions \"volume\" {\n  environments = [\"local\"]\n}\nresource \"local_directory\" \"data\" {\n  path = \"vols/${score.workload}-${score.resource}\"\n}\noutput \"source\" {\n  value = local_directory.data.absolute_path\n}\n",
    );
    let run = sb.run(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr.contains("`volume.default#web-ab.cd/local_directory.data` and `volume.default#web.ab-cd/local_directory.data` would be one local_directory object"),
        "{}",
        run.transcript()
    );
    assert!(!sb.path().join("vols").exists(), "nothing was made");
}

/// Two records naming one object (as names an earlier baton derived could collide) are
/// reported; deleting one of them is refused, so the object the other uses survives.
#[test]
fn a_delete_of_an_object_another_record_names_is_refused() {
    let sb = Sandbox::new();
    for w in ["aa", "bb"] {
        sb.write(
            &format!("{w}.score.yaml"),
            &format!("apiVersion: score.dev/v1b1\nmetadata:\n  name: {w}\ncontainers:\n  main:\n    image: busybox\nresources:\n  data:\n    type: volume\n"),
        );
    }
    let run = sb.run(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let listed = sb.run(&["state", "list"]).stdout;
    let addr = |w: &str| {
        listed
            .lines()
            .find(|l| l.contains(&format!("#{w}.data/local_directory")))
            .unwrap_or_else(|| panic!("no volume of {w} in\n{listed}"))
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    };
    let (a, b) = (addr("aa"), addr("bb"));
    let a_path = sb.run(&["state", "show", &a]).stdout;
    let a_path = a_path
        .lines()
        .find_map(|l| {
            l.trim().strip_prefix("path").map(|r| {
                r.trim_start_matches([' ', '='])
                    .trim()
                    .trim_matches('"')
                    .to_string()
            })
        })
        .unwrap_or_else(|| panic!("no path in\n{a_path}"));
    std::fs::write(sb.path().join(&a_path).join("canary"), "still here").unwrap();
    // bb's record now names aa's directory too.
    assert_eq!(sb.run(&["state", "rm", &b]).code, 0);
    let imported = sb.run(&["import", &b, &a_path]);
    assert_eq!(imported.code, 0, "{}", imported.transcript());
    // As an earlier baton that wrote no markers would have left them (two records of
    // one directory from colliding names): no marker file, nothing proven.
    std::fs::remove_file(sb.path().join(&a_path).join(".baton-owner")).unwrap();
    let conn = rusqlite::Connection::open(sb.path().join(".baton/state.db")).unwrap();
    conn.execute(
        "UPDATE objects SET lifecycle = json_remove(lifecycle, '$.proven'), checksum = NULL",
        [],
    )
    .unwrap();
    drop(conn);
    std::fs::remove_file(sb.path().join("bb.score.yaml")).unwrap();
    let run = sb.run(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr.contains(&format!(
            "`{b}` and `{a}` record the same local_directory object"
        )),
        "{}",
        run.transcript()
    );
    assert_eq!(
        std::fs::read_to_string(sb.path().join(&a_path).join("canary")).unwrap(),
        "still here"
    );
}

/// A state written by a baton that wrote no markers: its objects are trusted (they are in
/// the record), the plan shows each kind that carries a marker as an `update` that
/// writes it, nothing is recreated, and the next plan has no changes.
#[test]
fn objects_recorded_without_markers_get_them_on_the_next_apply() {
    let name = unique("nbup");
    let sb = project(&name);
    let cleanup = Neighbour {
        name: name.clone(),
        verifier: String::new(),
        acl: String::new(),
    };
    let guard = scopeguard(|| cleanup.remove());
    let first = sb.run(&["apply", "--auto-approve"]);
    assert_eq!(first.code, 0, "{}", first.transcript());
    let oid = |what: &str| {
        let (table, column) = if what == "role" {
            ("pg_roles", "rolname")
        } else {
            ("pg_database", "datname")
        };
        psql(
            "postgres",
            &format!("SELECT oid FROM {table} WHERE {column} = '{name}_{what}'"),
        )
        .trim()
        .to_string()
    };
    let (role_oid, db_oid) = (oid("role"), oid("db"));
    // As an earlier baton left them: no comments, no `proven` in the record.
    psql(
        "postgres",
        &format!(
            "COMMENT ON ROLE \"{name}_role\" IS NULL; COMMENT ON DATABASE \"{name}_db\" IS NULL"
        ),
    );
    let conn = rusqlite::Connection::open(sb.path().join(".baton/state.db")).unwrap();
    let n = conn
        .execute(
            "UPDATE objects SET lifecycle = json_remove(lifecycle, '$.proven'), checksum = NULL",
            [],
        )
        .unwrap();
    assert!(n >= 4, "{n} rows");
    drop(conn);

    let plan = sb.run(&["plan"]);
    assert_eq!(plan.code, 0, "{}", plan.transcript());
    for kind in ["postgres_role.role", "postgres_database.db"] {
        assert!(
            plan.stdout
                .contains(&format!("{kind} will be updated in-place"))
                || plan.stdout.contains(&format!("{kind} will be updated")),
            "{kind} is marked\n{}",
            plan.transcript()
        );
    }
    assert!(
        plan.stdout.contains("ownership marker"),
        "{}",
        plan.transcript()
    );
    assert!(
        plan.stdout.contains("0 to add") && plan.stdout.contains("0 to destroy"),
        "{}",
        plan.transcript()
    );
    let apply = sb.run(&["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}", apply.transcript());
    assert_eq!(
        (oid("role"), oid("db")),
        (role_oid, db_oid),
        "nothing was recreated"
    );
    let comment = psql(
        "postgres",
        &format!(
            "SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = '{name}_role'"
        ),
    );
    assert!(comment.starts_with("baton:"), "{comment:?}");
    let again = sb.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}", again.transcript());
    let destroy = sb.run(&["destroy", "--auto-approve"]);
    assert_eq!(destroy.code, 0, "{}", destroy.transcript());
    drop(guard);
}
