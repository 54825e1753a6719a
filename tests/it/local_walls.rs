//! The `local` provider stays inside its walls: module paths that leave the project,
//! name baton's own files, or run through a planted symbolic link are refused (at plan
//! time where the path is known), and files and directories someone else made at the
//! configured paths are never taken over, changed or deleted (hostile neighbours, as in
//! `ownership.rs`).

use std::os::unix::fs::{MetadataExt, PermissionsExt};

use crate::support::{Run, Sandbox};

/// A project module making a file and a directory at exact paths from its params.
const MODULE: &str = r#"
provisions "walls" {
  environments = ["local"]
}

param "file" {
  type = string
}

param "dir" {
  type = string
}

resource "random_password" "password" {
  length  = 12
  special = false
}

resource "local_file" "file" {
  path    = param.file
  content = "written by baton"
}

resource "local_directory" "dir" {
  path = param.dir
}
"#;

fn project(file: &str, dir: &str) -> Sandbox {
    let sb = Sandbox::new();
    sb.write("modules/walls.hcl", MODULE);
    sb.write(
        "score.yaml",
        &format!(
            "apiVersion: score.dev/v1b1\nmetadata:\n  name: app\ncontainers:\n  main:\n    image: busybox\nresources:\n  store:\n    type: walls\n    params:\n      file: {file:?}\n      dir: {dir:?}\n"
        ),
    );
    sb
}

#[test]
fn paths_outside_the_walls_are_refused_when_the_plan_is_made() {
    let outside = tempfile::tempdir().unwrap();
    let abs = outside.path().join("abs.txt");
    for (file, dir, why) in [
        ("../escaped.txt", "data/ok", "leaves its root"),
        (
            abs.to_str().unwrap(),
            "data/ok",
            "beneath none of the roots",
        ),
        ("notes.txt", ".baton", "state"),
        (".baton/state.db-wal", "data/ok", "state database"),
        ("baton.hcl", "data/ok", "baton.hcl"),
        ("score.yaml", "data/ok", "Score file"),
        ("modules/walls.hcl", "data/ok", "module folder"),
    ] {
        let sb = project(file, dir);
        // A state that exists already (a refused first run leaves none behind).
        baton::state::SqliteStore::open(&sb.path().join(".baton/state.db")).unwrap();
        assert_eq!(sb.run(&["state", "list"]).code, 0);
        let plan = sb.run(&["plan"]);
        assert_eq!(plan.code, 1, "{file} {dir}: {}", plan.transcript());
        assert!(
            plan.stderr.contains(why),
            "{file} {dir}: {}",
            plan.transcript()
        );
        assert!(
            plan.stderr.contains("modules/walls.hcl:"),
            "{file} {dir}: located at the module\n{}",
            plan.transcript()
        );
        let apply = sb.run(&["apply", "--auto-approve"]);
        assert_eq!(apply.code, 1, "{file} {dir}: {}", apply.transcript());
        assert!(!sb.path().join("../escaped.txt").exists() && !abs.exists());
        assert!(sb.path().join(".baton/state.db").exists());
        assert!(sb.read("modules/walls.hcl").contains("provisions"));
        assert!(sb.read("score.yaml").contains("walls"));
    }
}

#[test]
fn a_root_listed_in_baton_hcl_may_hold_objects() {
    let volumes = tempfile::tempdir().unwrap();
    let dir = volumes.path().join("app-data");
    let sb = project("out/f.txt", dir.to_str().unwrap());
    sb.write(
        "baton.hcl",
        &format!(
            "environment \"local\" {{\n  provider \"local\" {{\n    roots = [{:?}]\n  }}\n}}\n",
            volumes.path().to_str().unwrap()
        ),
    );
    let apply = sb.run(&["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}", apply.transcript());
    assert!(dir.join(".baton-owner").exists());
    let destroy = sb.run(&["destroy", "--auto-approve"]);
    assert_eq!(destroy.code, 0, "{}", destroy.transcript());
    assert!(!dir.exists());
}

#[test]
fn a_planted_link_at_the_temporary_name_redirects_nothing() {
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim");
    std::fs::write(&victim, "the neighbour's").unwrap();
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o600)).unwrap();
    let sb = project("out/f.txt", "data/ok");
    std::fs::create_dir_all(sb.path().join("out")).unwrap();
    // The name an older baton used for its temporary file, pointing outside.
    std::os::unix::fs::symlink(&victim, sb.path().join("out/.f.txt.baton-tmp")).unwrap();
    let apply = sb.run(&["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}", apply.transcript());
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "the neighbour's");
    assert_eq!(
        std::fs::metadata(&victim).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(sb.read("out/f.txt"), "written by baton");
}

#[test]
fn a_manifest_replaced_by_a_link_is_not_read_through_it() {
    let outside = tempfile::tempdir().unwrap();
    let foreign = outside.path().join("secret");
    std::fs::write(&foreign, "canary-of-a-foreign-file").unwrap();
    let sb = project("out/f.txt", "data/ok");
    let apply = sb.run(&["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}", apply.transcript());
    let manifest = walk(&sb.path().join("deploy/local"))
        .into_iter()
        .find(|p| p.is_file())
        .expect("a manifest was written");
    std::fs::remove_file(&manifest).unwrap();
    std::os::unix::fs::symlink(&foreign, &manifest).unwrap();
    let plan = sb.run(&["plan"]);
    assert!(
        !plan.stdout.contains("canary-of-a-foreign-file")
            && !plan.stderr.contains("canary-of-a-foreign-file"),
        "plan printed a foreign file\n{}",
        plan.transcript()
    );
    assert_eq!(
        std::fs::read_to_string(&foreign).unwrap(),
        "canary-of-a-foreign-file"
    );
}

pub(crate) fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// The neighbour's file and directory at the configured paths, each with a canary.
struct Neighbour {
    file: std::path::PathBuf,
    dir: std::path::PathBuf,
    inode: u64,
}

impl Neighbour {
    fn make(sb: &Sandbox, file: &str, dir: &str) -> Neighbour {
        let file = sb.write(file, "canary of the neighbour's file");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
        let dir = sb.path().join(dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("canary"), "canary of the neighbour's directory").unwrap();
        let inode = std::fs::metadata(&file).unwrap().ino();
        Neighbour { file, dir, inode }
    }

    fn check(&self, when: &str) {
        let meta = std::fs::symlink_metadata(&self.file)
            .unwrap_or_else(|e| panic!("{when}: the file is gone: {e}"));
        assert_eq!(meta.ino(), self.inode, "{when}: the file was replaced");
        assert_eq!(
            meta.permissions().mode() & 0o777,
            0o640,
            "{when}: the file's mode changed"
        );
        assert_eq!(
            std::fs::read_to_string(&self.file).unwrap(),
            "canary of the neighbour's file",
            "{when}: the file changed"
        );
        assert_eq!(
            std::fs::read_to_string(self.dir.join("canary"))
                .unwrap_or_else(|e| panic!("{when}: the directory's canary is gone: {e}")),
            "canary of the neighbour's directory",
            "{when}"
        );
        let entries: Vec<_> = std::fs::read_dir(&self.dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            entries,
            vec![std::ffi::OsString::from("canary")],
            "{when}: the directory was marked or filled"
        );
    }
}

fn assert_refused(sb: &Sandbox, run: &Run, what: &str) {
    assert_eq!(run.code, 1, "{what}: {}", run.transcript());
    let err = &run.stderr;
    assert!(
        err.contains("src/notes.txt"),
        "{what}: names the file\n{}",
        run.transcript()
    );
    assert!(
        err.contains("src/volume"),
        "{what}: names the directory\n{}",
        run.transcript()
    );
    assert!(
        err.contains("baton import"),
        "{what}: says how to take it over\n{}",
        run.transcript()
    );
    let listed = sb.run(&["state", "list"]);
    assert!(
        !listed.stdout.contains("local_file") && !listed.stdout.contains("local_directory"),
        "{what}: a foreign object was recorded\n{}",
        listed.transcript()
    );
}

#[test]
fn foreign_files_and_directories_at_the_configured_paths_are_never_taken_changed_or_deleted() {
    let sb = project("src/notes.txt", "src/volume");
    let neighbour = Neighbour::make(&sb, "src/notes.txt", "src/volume");
    crate::support::hostile_session(
        &|args| sb.command(args),
        &["local_"],
        &|run, what| assert_refused(&sb, run, what),
        &|when| neighbour.check(when),
    );
}

#[test]
fn the_state_folder_is_never_made_or_deleted_as_a_directory() {
    let sb = project("out/f.txt", ".baton");
    let apply = sb.run(&["apply", "--auto-approve"]);
    assert_eq!(apply.code, 1, "{}", apply.transcript());
    let destroy = sb.run(&["destroy", "--auto-approve"]);
    assert!(
        sb.path().join(".baton/state.db").exists(),
        "{}",
        destroy.transcript()
    );
}
