//! Lifecycle rules in modules (and the Score annotation): prevent_destroy that depends on
//! the environment and outlives the configuration, ignore_changes, create_before_destroy
//! and replace_triggered_by.

use crate::support::Sandbox;

const MODULE: &str = r#"
provisions "store" {}
param "size" {
  type    = number
  default = 1
}
param "label" {
  type    = string
  default = "a"
}
resource "baton_data" "version" {
  input = param.label
}
resource "local_file" "data" {
  path    = ".baton/store/${score.resource}-${param.size}.txt"
  content = "label ${param.label}"
  lifecycle {
    prevent_destroy      = environment.name == "prod"
    ignore_changes       = [content]
    replace_triggered_by = [baton_data.version.output]
  }
}
"#;

fn project(env: &str, size: u32, label: &str, annotated: bool) -> Sandbox {
    let sb = Sandbox::new();
    sb.write("modules/store.hcl", MODULE);
    sb.write("baton.hcl", &format!("environment \"{env}\" {{}}\n"));
    write_score(&sb, size, label, annotated);
    sb
}

fn write_score(sb: &Sandbox, size: u32, label: &str, annotated: bool) {
    let annotation = if annotated {
        "    metadata:\n      annotations:\n        baton.dev/prevent-destroy: \"true\"\n"
    } else {
        ""
    };
    sb.write(
        "score.yaml",
        &format!("apiVersion: score.dev/v1b1\nmetadata:\n  name: app\ncontainers:\n  main:\n    image: busybox\nresources:\n  db:\n    type: store\n{annotation}    params: {{size: {size}, label: {label}}}\n"),
    );
}

fn json(out: &str) -> serde_json::Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[test]
fn prevent_destroy_in_prod_stops_a_replace_and_a_delete_in_every_format() {
    let sb = project("prod", 1, "a", false);
    assert_eq!(
        sb.run(&["--env", "prod", "apply", "--auto-approve"]).code,
        0
    );
    // A force-new change (the path) would replace the protected file.
    write_score(&sb, 2, "a", false);
    let text = sb.run(&["--env", "prod", "plan"]);
    assert_eq!(text.code, 1, "{}", text.transcript());
    assert!(
        text.stderr.contains(
            "`store.default#app.db/local_file.data` is protected and this plan would replace it"
        ),
        "{}",
        text.stderr
    );
    assert!(text.stderr.contains("protected by `prevent_destroy` of `local_file.data` in module `store` (environment `prod`)"), "{}", text.stderr);
    let md = sb.run(&["--env", "prod", "plan", "--format", "markdown"]);
    assert_eq!(md.code, 1);
    assert!(
        md.stdout.starts_with("### ❌ baton plan `prod` failed"),
        "{}",
        md.stdout
    );
    assert!(
        md.stdout
            .contains("is protected and this plan would replace it"),
        "{}",
        md.stdout
    );
    let js = sb.run(&["--env", "prod", "plan", "--format", "json"]);
    assert_eq!(js.code, 1);
    let v = json(&js.stdout);
    assert_eq!(v["diagnostics"][0]["code"], "plan/prevent-destroy");
    assert!(
        v["diagnostics"][0]["detail"][0]
            .as_str()
            .unwrap()
            .contains("prevent_destroy")
    );
    // Removing the resource altogether is refused too: the protection is in the state.
    sb.write("score.yaml", "apiVersion: score.dev/v1b1\nmetadata:\n  name: app\ncontainers:\n  main:\n    image: busybox\n");
    let gone = sb.run(&["--env", "prod", "plan"]);
    assert_eq!(gone.code, 1, "{}", gone.transcript());
    assert!(
        gone.stderr
            .contains("is protected and this plan would delete it"),
        "{}",
        gone.stderr
    );
    let destroy = sb.run(&["--env", "prod", "destroy", "--auto-approve"]);
    assert_eq!(destroy.code, 1, "{}", destroy.transcript());
    assert!(
        sb.path().join(".baton/store/db-1.txt").exists(),
        "nothing was deleted"
    );
}

#[test]
fn the_same_module_is_not_protected_in_another_environment() {
    let sb = project("dev", 1, "a", false);
    assert_eq!(sb.run(&["--env", "dev", "apply", "--auto-approve"]).code, 0);
    write_score(&sb, 2, "a", false);
    let run = sb.run(&["--env", "dev", "apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(sb.path().join(".baton/store/db-2.txt").exists());
}

#[test]
fn a_score_annotation_protects_a_resource_everywhere() {
    let sb = project("dev", 1, "a", true);
    assert_eq!(sb.run(&["--env", "dev", "apply", "--auto-approve"]).code, 0);
    write_score(&sb, 2, "a", true);
    let run = sb.run(&["--env", "dev", "plan"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(run.stderr.contains("the Score annotation `baton.dev/prevent-destroy: \"true\"` on resource `db` of workload `app`"), "{}", run.stderr);
}

#[test]
fn ignore_changes_and_replace_triggered_by() {
    let sb = project("dev", 1, "a", false);
    assert_eq!(sb.run(&["--env", "dev", "apply", "--auto-approve"]).code, 0);
    // Editing the file by hand: content is ignored, so no drift correction is planned.
    std::fs::write(sb.path().join(".baton/store/db-1.txt"), "edited by hand").unwrap();
    let plan = json(&sb.run(&["--env", "dev", "plan", "--format", "json"]).stdout);
    assert_eq!(plan["summary"]["update"], 0, "{plan}");
    assert_eq!(plan["summary"]["replace"], 0, "{plan}");
    // The label feeds baton_data.version: the file is replaced because its trigger moved.
    write_score(&sb, 1, "b", false);
    let plan = json(&sb.run(&["--env", "dev", "plan", "--format", "json"]).stdout);
    let file = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == "store.default#app.db/local_file.data")
        .unwrap();
    assert_eq!(file["action"], "replace", "{plan}");
    assert_eq!(file["reason"], "replace_triggered", "{plan}");
    let run = sb.run(&["--env", "dev", "apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(
        std::fs::read_to_string(sb.path().join(".baton/store/db-1.txt")).unwrap(),
        "label b"
    );
    assert_eq!(
        sb.run(&["--env", "dev", "plan", "--detailed-exitcode"])
            .code,
        0
    );
}

/// Create-before-destroy of an object that keeps its name (here a file replaced by its
/// trigger, at the same path): both cannot exist at once, so baton deletes first
/// instead of creating the new file and then deleting it. Found by the crash test.
#[test]
fn create_before_destroy_of_an_object_keeping_its_name_leaves_the_new_object() {
    let sb = Sandbox::new();
    sb.write(
        "modules/store.hcl",
        &MODULE.replace(
            "    replace_triggered_by = [baton_data.version.output]\n",
            "    replace_triggered_by  = [baton_data.version.output]\n    create_before_destroy = true\n",
        ),
    );
    assert!(
        sb.read("modules/store.hcl")
            .contains("create_before_destroy = true")
    );
    write_score(&sb, 1, "a", false);
    assert_eq!(sb.run(&["apply", "--auto-approve"]).code, 0);
    write_score(&sb, 1, "b", false);
    let run = sb.run(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(run.stdout.contains("1 replaced"), "{}", run.stdout);
    assert_eq!(
        std::fs::read_to_string(sb.path().join(".baton/store/db-1.txt")).unwrap(),
        "label b",
        "the replacement exists"
    );
    assert_eq!(sb.run(&["plan", "--detailed-exitcode"]).code, 0);
}
