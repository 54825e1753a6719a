//! The engine end to end, driving the real binary: apply, no-change plans, updates,
//! replaces, deletes in order, destroy, determinism, saved plans, confirmation.

use serde_json::Value;

use crate::support::Sandbox;

fn hello() -> Sandbox {
    let sb = Sandbox::new();
    sb.copy_from_repo("examples/hello");
    sb
}

fn plan_json(sb: &Sandbox, extra: &[&str]) -> Value {
    let mut args = vec!["plan", "--format", "json"];
    args.extend_from_slice(extra);
    let run = sb.run(&args);
    assert!(run.code == 0 || run.code == 2, "{}", run.transcript());
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("plan JSON: {e}\n{}", run.stdout))
}

fn changed(plan: &Value) -> Vec<(String, String, String)> {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "no-op")
        .map(|c| {
            (
                c["action"].as_str().unwrap().to_string(),
                c["address"].as_str().unwrap().to_string(),
                c["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn apply(sb: &Sandbox) {
    let run = sb.run(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
}

#[test]
fn hello_applies_and_a_second_plan_has_no_changes() {
    let sb = hello();
    let run = sb.run(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stdout
            .contains("Apply complete! 6 added, 0 changed, 0 replaced, 0 destroyed."),
        "{}",
        run.stdout
    );
    // Real results: manifests with resolved values, the secret only in the Secret.
    let web = sb.read("deploy/local/web.yaml");
    assert!(web.contains("value: http://dns-"), "{web}");
    assert!(web.contains("secretKeyRef"), "{web}");
    assert!(
        sb.path()
            .join(".baton/volumes")
            .join(sb.name("volume.default#job-queue", "-", 100))
            .is_dir()
    );
    let again = sb.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}", again.transcript());
    assert!(again.stdout.contains("No changes."), "{}", again.stdout);
}

#[test]
fn editing_a_param_gives_exactly_one_update() {
    let sb = hello();
    apply(&sb);
    let score = sb
        .read("web.score.yaml")
        .replace("      path: /\n", "      path: /shop\n");
    sb.write("web.score.yaml", &score);
    let plan = plan_json(&sb, &[]);
    assert_eq!(
        changed(&plan),
        vec![(
            "update".to_string(),
            "route.default#web.route/local_file.route".to_string(),
            "changed".to_string()
        )]
    );
    let c = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["action"] == "update")
        .unwrap();
    assert_eq!(c["changed_attributes"], serde_json::json!(["content"]));
    let run = sb.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(run.code, 2, "{}", run.transcript());
}

#[test]
fn changing_a_force_new_attribute_gives_replace() {
    let sb = hello();
    apply(&sb);
    let score = sb
        .read("web.score.yaml")
        .replace("length: 32", "length: 40");
    sb.write("web.score.yaml", &score);
    let plan = plan_json(&sb, &[]);
    let c = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == "secret.default#web.session/random_password.value")
        .unwrap();
    assert_eq!(c["action"], "replace");
    assert_eq!(c["reason"], "force_new");
    assert_eq!(c["forced_by"], "length");
    apply(&sb);
    assert_eq!(sb.run(&["plan", "--detailed-exitcode"]).code, 0);
}

const SITE_MODULE: &str = r#"
provisions "site" {}
param "name" {
  type    = string
  default = "site"
}
resource "local_directory" "dir" {
  path = ".baton/sites/${score.resource}"
}
resource "local_file" "index" {
  path    = "${local_directory.dir.path}/index.html"
  content = "<h1>${param.name}</h1>"
}
output "url" {
  value = "file://${local_directory.dir.absolute_path}/index.html"
}
"#;

const SITE_SCORE: &str = "apiVersion: score.dev/v1b1
metadata:
  name: web
containers:
  main:
    image: nginx
    variables:
      URL: ${resources.site.url}
resources:
  site:
    type: site
";

#[test]
fn removing_a_resource_deletes_in_reverse_dependency_order() {
    let sb = Sandbox::new();
    sb.write("modules/site.hcl", SITE_MODULE);
    sb.write("score.yaml", SITE_SCORE);
    apply(&sb);
    assert_eq!(sb.read(".baton/sites/site/index.html"), "<h1>site</h1>");
    sb.write("score.yaml", "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n    image: nginx\n");
    let plan = plan_json(&sb, &[]);
    let deletes: Vec<String> = changed(&plan)
        .into_iter()
        .filter(|(a, _, _)| a == "delete")
        .map(|(_, addr, reason)| format!("{addr} {reason}"))
        .collect();
    assert_eq!(
        deletes,
        vec![
            "site.default#web.site/local_file.index no_longer_referenced".to_string(),
            "site.default#web.site/local_directory.dir no_longer_referenced".to_string(),
        ]
    );
    apply(&sb);
    assert!(!sb.path().join(".baton/sites/site").exists());
}

#[test]
fn destroy_empties_the_state() {
    let sb = hello();
    apply(&sb);
    let volume =
        sb.path()
            .join(".baton/volumes")
            .join(sb.name("volume.default#web.uploads", "-", 100));
    assert!(volume.is_dir(), "the volume was made");
    let run = sb.run(&["destroy", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(run.stdout.contains("6 destroyed"), "{}", run.stdout);
    let list = sb.run(&["state", "list"]);
    assert_eq!(list.code, 0);
    assert_eq!(list.stdout, "");
    assert!(!sb.path().join("deploy/local/web.yaml").exists());
    assert!(!volume.exists());
}

#[test]
fn plans_are_byte_identical_and_independent_of_file_order() {
    let sb = hello();
    apply(&sb);
    sb.write(
        "web.score.yaml",
        &sb.read("web.score.yaml")
            .replace("path: /\n", "path: /v2\n"),
    );
    let args_a = ["plan", "-f", "web.score.yaml", "-f", "worker.score.yaml"];
    let args_b = ["plan", "-f", "worker.score.yaml", "-f", "web.score.yaml"];
    for fmt in ["text", "json"] {
        let a1 = sb.run(&[&args_a[..], &["--format", fmt]].concat());
        let a2 = sb.run(&[&args_a[..], &["--format", fmt]].concat());
        let b = sb.run(&[&args_b[..], &["--format", fmt]].concat());
        assert_eq!(a1.code, 0, "{}", a1.transcript());
        assert_eq!(a1.stdout, a2.stdout, "{fmt}: same inputs, same plan");
        assert_eq!(a1.stdout, b.stdout, "{fmt}: order of -f does not matter");
    }
}

/// Wide levels of the graph are evaluated on several threads: the plan (its order, its
/// values, its errors) is the same as on one.
#[test]
fn a_wide_plan_is_the_same_on_one_thread_and_on_many() {
    let sb = Sandbox::new();
    sb.write(
        "modules/leaf.hcl",
        r#"provisions "leaf" {}
param "parent" {
  type    = string
  default = ""
}
param "index" {
  type = number
}
resource "baton_data" "node" {
  input = "${param.parent}/${param.index}"
}
output "value" {
  value = baton_data.node.output
}
"#,
    );
    // 2 workloads × 300 resources: each level of the graph holds 300+ nodes.
    for w in ["alpha", "beta"] {
        let mut text = format!(
            "apiVersion: score.dev/v1b1\nmetadata:\n  name: {w}\ncontainers:\n  main:\n    image: busybox\nresources:\n  root:\n    type: leaf\n    params: {{index: 0}}\n"
        );
        for i in 0..300 {
            text.push_str(&format!(
                "  n{i}:\n    type: leaf\n    params: {{parent: \"${{resources.root.value}}\", index: {i}}}\n"
            ));
        }
        sb.write(&format!("{w}.score.yaml"), &text);
    }
    let plan = |threads: &str| {
        let out = sb
            .command(&["plan", "--format", "json"])
            .env("BATON_THREADS", threads)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert!(
            matches!(out.status.code(), Some(0 | 2)),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let one = plan("1");
    assert_eq!(one, plan("4"), "same plan on one thread and on four");
    let json: Value = serde_json::from_str(&one).unwrap();
    assert_eq!(changed(&json).len(), 2 * 301 + 2, "every object is created");
    // An error in a wide level is reported the same way.
    sb.write(
        "beta.score.yaml",
        &sb.read("beta.score.yaml")
            .replace("index: 7}", "index: \"seven\"}"),
    );
    let (a, b) = (
        sb.command(&["plan"])
            .env("BATON_THREADS", "1")
            .output()
            .unwrap(),
        sb.command(&["plan"])
            .env("BATON_THREADS", "4")
            .output()
            .unwrap(),
    );
    assert_eq!(a.status.code(), Some(1));
    assert_eq!(a.stderr, b.stderr);
    assert!(String::from_utf8_lossy(&a.stderr).contains("param `index`"));
}

#[test]
fn apply_refuses_without_a_terminal_unless_auto_approved() {
    let sb = hello();
    let run = sb.run(&["apply"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr.contains("stdin is not a terminal"),
        "{}",
        run.stderr
    );
    assert_eq!(sb.run(&["state", "list"]).stdout, "", "nothing was applied");
}

#[test]
fn saved_plans_apply_and_are_refused_once_stale() {
    let sb = hello();
    let run = sb.run(&["plan", "--out", "first.plan"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let saved = sb.read("first.plan");
    assert!(saved.contains("\"baton_plan_file\": 4"));
    let run = sb.run(&["apply", "first.plan"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    // The state moved on: the same file is refused.
    let run = sb.run(&["apply", "first.plan"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr.contains("the plan file is stale"),
        "{}",
        run.stderr
    );
    // A plan whose inputs changed before apply is refused too.
    sb.write(
        "web.score.yaml",
        &sb.read("web.score.yaml").replace("path: /\n", "path: /a\n"),
    );
    assert_eq!(sb.run(&["plan", "--out", "second.plan"]).code, 0);
    sb.write(
        "web.score.yaml",
        &sb.read("web.score.yaml")
            .replace("path: /a\n", "path: /b\n"),
    );
    let run = sb.run(&["apply", "second.plan"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(run.stderr.contains("no longer matches"), "{}", run.stderr);
}

#[test]
fn a_saved_plan_survives_applies_to_other_workloads_but_not_to_its_own_objects() {
    let sb = hello();
    assert_eq!(sb.run(&["apply", "--auto-approve"]).code, 0);
    let worker = |image: &str| {
        sb.write(
            "worker.score.yaml",
            &sb.read("worker.score.yaml")
                .replace("busybox:1.36", image)
                .replace("busybox:1.37", image),
        );
    };
    worker("busybox:1.37");
    let run = sb.run(&["plan", "-f", "worker.score.yaml", "--out", "worker.plan"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(sb.read("worker.plan").contains("\"workload.worker\": 1"));
    // Another workload is applied meanwhile: the global serial moves, the plan stays good.
    sb.write(
        "web.score.yaml",
        &sb.read("web.score.yaml")
            .replace("path: /\n", "path: /v2\n"),
    );
    let run = sb.run(&["apply", "--auto-approve", "-f", "web.score.yaml"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let run = sb.run(&["apply", "worker.plan", "-f", "worker.score.yaml"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(run.stdout.contains("1 changed"), "{}", run.stdout);
    // One of its own objects moved: refused, naming it and both versions.
    worker("busybox:1.38");
    assert_eq!(
        sb.run(&["plan", "-f", "worker.score.yaml", "--out", "again.plan"])
            .code,
        0
    );
    assert_eq!(
        sb.run(&["apply", "--auto-approve", "-f", "worker.score.yaml"])
            .code,
        0
    );
    let run = sb.run(&["apply", "again.plan", "-f", "worker.score.yaml"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr
            .contains("the plan file is stale: what it touches changed since it was made")
            && run.stderr.contains(
                "workload.worker: written at serial 3 when planned, now written at serial 4"
            ),
        "{}",
        run.stderr
    );
}

/// The generated secret of hello's web workload (`secret.default#web.session`).
fn session_secret(sb: &Sandbox) -> String {
    let out = sb.run(&["output", "--json", "--show-sensitive"]);
    assert_eq!(out.code, 0, "{}", out.transcript());
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    v["secret.default#web.session"]["value"]
        .as_str()
        .unwrap_or_else(|| panic!("no session secret: {}", out.stdout))
        .to_string()
}

#[test]
fn secrets_appear_in_no_output() {
    let sb = hello();
    apply(&sb);
    let old = session_secret(&sb);
    assert_eq!(old.len(), 32);
    // A longer secret replaces it (and the Secret manifest changes); a route changes too.
    sb.write(
        "web.score.yaml",
        &sb.read("web.score.yaml")
            .replace("length: 32", "length: 40")
            .replace("path: /\n", "path: /x\n"),
    );
    // Every command that prints the plan, the state, outputs or history; each must
    // succeed (a failed run prints nothing to leak), and the redaction marker stands
    // where the secret would be.
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut run = |args: &[&str], code: i32, marker: Option<&str>| -> String {
        let r = sb.run(args);
        assert_eq!(r.code, code, "{args:?}\n{}", r.transcript());
        if let Some(m) = marker {
            assert!(r.stdout.contains(m), "{args:?} shows {m:?}:\n{}", r.stdout);
        }
        seen.push((format!("{args:?}"), r.transcript()));
        r.stdout
    };
    const REPLACED: &str = "result      = (sensitive) -> (sensitive, known after apply)";
    run(&["plan"], 0, Some(REPLACED));
    run(&["plan", "--compact"], 0, None);
    run(
        &["plan", "--format", "markdown"],
        0,
        Some("+ result = (sensitive, known after apply)"),
    );
    run(
        &["plan", "--format", "json"],
        0,
        Some("\"result\": \"(sensitive)\""),
    );
    run(&["plan", "--out", "saved.plan"], 0, Some(REPLACED));
    run(&["show", "saved.plan"], 0, Some(REPLACED));
    run(
        &["show", "saved.plan", "--format", "markdown"],
        0,
        Some("(sensitive"),
    );
    run(
        &["show", "saved.plan", "--format", "json"],
        0,
        Some("\"secret_files\": \"(sensitive)\""),
    );
    run(&["drift"], 0, None);
    run(&["drift", "--format", "markdown"], 0, None);
    run(&["drift", "--format", "json"], 0, None);
    // The saved plan, applied: its log, then everything that reads the new state.
    run(&["apply", "saved.plan"], 0, Some("Apply complete!"));
    let new = session_secret(&sb);
    assert_eq!(new.len(), 40, "the secret was replaced");
    let uid = "secret.default#web.session";
    let addr = "secret.default#web.session/random_password.value";
    run(&["output"], 0, Some("value = (sensitive)"));
    run(&["output", uid], 0, Some("value = (sensitive)"));
    run(&["output", "--json"], 0, Some("\"value\": \"(sensitive)\""));
    run(
        &["output", "--json", uid],
        0,
        Some("\"value\": \"(sensitive)\""),
    );
    run(&["show"], 0, Some("(sensitive)"));
    run(&["show", "--format", "json"], 0, Some("\"(sensitive)\""));
    run(&["state", "list"], 0, Some(addr));
    run(
        &["state", "show", addr],
        0,
        Some("result      = (sensitive)"),
    );
    run(&["state", "history"], 0, None);
    run(&["state", "history", "--changes"], 0, Some(addr));
    run(&["drift", "--format", "json"], 0, None);
    run(&["plan", "--detailed-exitcode"], 0, Some("No changes."));
    run(&["destroy", "--auto-approve"], 0, Some("destroyed"));
    let plan_file = sb.read("saved.plan");
    // The plan file keeps only whether a secret is the same or unknown, not its value.
    assert!(plan_file.contains("\"withheld\""), "{plan_file}");
    seen.push(("saved.plan".into(), plan_file));
    for (what, text) in seen {
        for (which, secret) in [("old", &old), ("new", &new)] {
            assert!(
                !text.contains(secret.as_str()),
                "the {which} secret leaked in {what}:\n{text}"
            );
        }
    }
}

#[test]
fn the_secret_manifest_carries_the_secret_and_the_workload_manifest_does_not() {
    let sb = hello();
    apply(&sb);
    let secret = session_secret(&sb);
    let web = sb.read("deploy/local/web.yaml");
    assert!(!web.contains(&secret), "{web}");
    assert!(web.contains("secretKeyRef"), "{web}");
    let secrets = sb.read("deploy/local/web.secrets.yaml");
    assert!(
        secrets.contains("SESSION_SECRET")
            && secrets.contains(&base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                &secret
            )),
        "the Secret carries it:\n{secrets}"
    );
}

#[test]
fn bad_module_input_is_a_located_error_and_touches_no_state() {
    let sb = Sandbox::new();
    sb.write(
        "modules/site.hcl",
        &SITE_MODULE.replace("local_directory.dir.path", "local_directory.dri.path"),
    );
    sb.write("score.yaml", SITE_SCORE);
    let run = sb.run(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr.contains("--> ") && run.stderr.contains("site.hcl:"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("did you mean `local_directory.dir`?"),
        "{}",
        run.stderr
    );
    assert!(
        !sb.path().join(".baton/state.db").exists(),
        "no state was created"
    );
}

#[test]
fn a_resource_no_module_provisions_names_its_uid_and_the_types() {
    // (and suggests the closest type)
    let sb = Sandbox::new();
    sb.write(
        "score.yaml",
        &SITE_SCORE.replace("type: site", "type: postgress"),
    );
    let run = sb.run(&["plan"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("no module provisions `postgress.default#web.site` in environment `local`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("types available in `local`: amqp, dns, environment, mysql, postgres, redis, route, service-port, volume"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_dependency_cycle_is_one_error_with_the_path() {
    let sb = Sandbox::new();
    sb.write(
        "modules/loop.hcl",
        r#"
provisions "loop" {}
resource "local_file" "a" {
  path    = "a.txt"
  content = local_file.b.content_sha256
}
resource "local_file" "b" {
  path    = "b.txt"
  content = local_file.a.content_sha256
}
"#,
    );
    sb.write(
        "score.yaml",
        &SITE_SCORE
            .replace("type: site", "type: loop")
            .replace("    variables:\n      URL: ${resources.site.url}\n", ""),
    );
    let run = sb.run(&["plan"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr.contains("error: dependency cycle"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("loop.default#web.site/local_file.a -> loop.default#web.site/local_file.b -> loop.default#web.site/local_file.a"),
        "{}",
        run.stderr
    );
}

#[test]
fn target_and_replace_narrow_and_force_the_plan() {
    let sb = hello();
    apply(&sb);
    let plan = plan_json(
        &sb,
        &[
            "--replace",
            "secret.default#web.session/random_password.value",
        ],
    );
    let c = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["action"] == "replace")
        .unwrap();
    assert_eq!(c["reason"], "replace_requested");
    sb.write(
        "web.score.yaml",
        &sb.read("web.score.yaml").replace("path: /\n", "path: /t\n"),
    );
    sb.write(
        "worker.score.yaml",
        &sb.read("worker.score.yaml")
            .replace("busybox:1.36", "busybox:1.37"),
    );
    let all = changed(&plan_json(&sb, &[]));
    assert_eq!(all.len(), 2, "{all:?}");
    let only_worker = changed(&plan_json(&sb, &["--target", "workload.worker"]));
    assert_eq!(
        only_worker,
        vec![(
            "update".to_string(),
            "workload.worker".to_string(),
            "changed".to_string()
        )]
    );
}

#[test]
fn the_compose_target_writes_a_compose_project_per_workload() {
    let sb = hello();
    sb.write(
        "baton.hcl",
        "environment \"local\" {\n  target \"compose\" { dir = \"deploy/compose\" }\n}\n",
    );
    apply(&sb);
    let compose = sb.read("deploy/compose/web/compose.yaml");
    assert!(compose.contains("web-main:"), "{compose}");
    assert!(
        compose.contains("env_file:"),
        "the secret goes into an env file: {compose}"
    );
    assert!(
        sb.path()
            .join("deploy/compose/worker/compose.yaml")
            .exists()
    );
}

#[test]
fn graph_prints_dot_and_mermaid() {
    let sb = hello();
    let dot = sb.run(&["graph"]);
    assert_eq!(dot.code, 0, "{}", dot.transcript());
    assert!(dot.stdout.starts_with("digraph baton {"), "{}", dot.stdout);
    assert!(dot.stdout.contains("\"workload.worker\""), "{}", dot.stdout);
    let mermaid = sb.run(&["graph", "--format", "mermaid", "--workload", "worker"]);
    assert!(
        mermaid.stdout.starts_with("flowchart LR"),
        "{}",
        mermaid.stdout
    );
    assert!(
        !mermaid.stdout.contains("workload.web"),
        "focused on worker: {}",
        mermaid.stdout
    );
}

#[test]
fn a_failure_stops_its_dependents_and_independent_branches_finish() {
    let sb = Sandbox::new();
    sb.write(
        "modules/chain.hcl",
        r#"
provisions "chain" {}
param "dir" {
  type = string
}
resource "local_file" "first" {
  path    = "${param.dir}/first.txt"
  content = "1"
}
resource "local_file" "second" {
  path    = "${param.dir}/second.txt"
  content = local_file.first.content_sha256
}
"#,
    );
    sb.write(
        "score.yaml",
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n    image: nginx\nresources:\n  broken:\n    type: chain\n    params: {dir: blocker/sub}\n  fine:\n    type: chain\n    params: {dir: ok}\n",
    );
    // A regular file where a directory must be: creating under it fails.
    sb.write("blocker", "not a directory");
    let run = sb.run(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr
            .contains("error: chain.default#web.broken/local_file.first: cannot create directory"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(
            "skipped because something they need failed: chain.default#web.broken/local_file.second"
        ),
        "{}",
        run.stderr
    );
    let state = sb.run(&["state", "list"]).stdout;
    assert!(
        state.contains("chain.default#web.fine/local_file.first")
            && state.contains("chain.default#web.fine/local_file.second"),
        "{state}"
    );
    assert!(!state.contains("broken"), "{state}");
    // Fix the cause: the next apply does only what is missing.
    std::fs::remove_file(sb.path().join("blocker")).unwrap();
    let run = sb.run(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stdout.contains("Apply complete! 2 added"),
        "{}",
        run.stdout
    );
}

#[test]
fn naming_score_files_narrows_the_run_to_their_workloads() {
    let sb = hello();
    apply(&sb);
    // Only the worker's file: the web workload's objects are out of scope, not deleted.
    let plan = plan_json(&sb, &["-f", "worker.score.yaml"]);
    assert_eq!(changed(&plan), vec![], "{plan}");
    sb.write(
        "worker.score.yaml",
        &sb.read("worker.score.yaml")
            .replace("busybox:1.36", "busybox:1.37"),
    );
    let plan = plan_json(&sb, &["-f", "worker.score.yaml"]);
    assert_eq!(
        changed(&plan),
        vec![(
            "update".to_string(),
            "workload.worker".to_string(),
            "changed".to_string()
        )]
    );
    let run = sb.run(&["apply", "--auto-approve", "-f", "worker.score.yaml"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    // The whole project still sees everything in place.
    assert_eq!(sb.run(&["plan", "--detailed-exitcode"]).code, 0);
}

#[test]
fn import_reads_an_existing_object_into_the_state() {
    let sb = Sandbox::new();
    sb.write("modules/site.hcl", SITE_MODULE);
    sb.write("score.yaml", SITE_SCORE);
    // Made by hand before baton managed it.
    sb.write(".baton/sites/site/index.html", "<h1>site</h1>");
    let run = sb.run(&[
        "import",
        "site.default#web.site/local_file.index",
        ".baton/sites/site/index.html",
    ]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        sb.run(&["state", "list"])
            .stdout
            .contains("site.default#web.site/local_file.index")
    );
    let plan = plan_json(&sb, &[]);
    let index = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == "site.default#web.site/local_file.index")
        .unwrap();
    assert_eq!(
        index["action"], "no-op",
        "the imported file matches the configuration: {plan}"
    );
    // Errors name what is wrong.
    let missing = sb.run(&[
        "import",
        "site.default#web.site/local_directory.dir",
        "nowhere",
    ]);
    assert_eq!(missing.code, 1);
    assert!(
        missing
            .stderr
            .contains("no local_directory with path `nowhere` exists"),
        "{}",
        missing.stderr
    );
    let typo = sb.run(&["import", "site.default#web.site/local_file.indx", "x"]);
    assert!(
        typo.stderr
            .contains("did you mean `site.default#web.site/local_file.index`?"),
        "{}",
        typo.stderr
    );
    let twice = sb.run(&[
        "import",
        "site.default#web.site/local_file.index",
        ".baton/sites/site/index.html",
    ]);
    assert!(
        twice.stderr.contains("already in the state"),
        "{}",
        twice.stderr
    );
}
