//! `baton validate`: what it reports for good and bad Score files.

use crate::support::{Sandbox, WEB};

fn snapshot_of(name: &str, files: &[(&str, &str)], args: &[&str]) -> String {
    let sb = Sandbox::new();
    for (f, text) in files {
        sb.write(f, text);
    }
    let run = sb.run(args);
    let _ = name;
    run.transcript()
}

#[test]
fn a_valid_project_lists_workloads_and_resources() {
    let worker = WEB.replace("name: web", "name: worker").replace(
        "    type: postgres\n",
        "    type: postgres\n    class: small\n",
    );
    let out = snapshot_of(
        "valid",
        &[("web.yaml", WEB), ("worker.yaml", &worker)],
        &["validate", "-f", "worker.yaml", "-f", "web.yaml"],
    );
    insta::assert_snapshot!(out);
}

#[test]
fn unknown_field_points_at_the_key_with_a_hint() {
    let bad = WEB.replace("    variables:", "    varables:");
    insta::assert_snapshot!(snapshot_of(
        "unknown",
        &[("score.yaml", &bad)],
        &["validate"]
    ));
}

#[test]
fn unquoted_number_variable_suggests_quotes() {
    let bad = WEB.replace("      CACHE: ${resources.cache.host}", "      PORT: 8080");
    insta::assert_snapshot!(snapshot_of(
        "number",
        &[("score.yaml", &bad)],
        &["validate"]
    ));
}

#[test]
fn all_errors_of_all_files_are_reported_together() {
    let a = WEB
        .replace("name: web", "name: Web_1")
        .replace("port: 80\n", "port: 0\n");
    let b = WEB
        .replace("${resources.db.host}", "${resources.dbb.host}")
        .replace(
            "image: nginx:1.27",
            "image: nginx:1.27\n    before:\n      main: {ready: started}",
        );
    let out = snapshot_of(
        "many",
        &[("a.yaml", &a), ("b.yaml", &b)],
        &["validate", "-f", "a.yaml", "-f", "b.yaml"],
    );
    insta::assert_snapshot!(out);
}

#[test]
fn duplicate_workload_names_and_shared_resource_conflicts() {
    let a = WEB.replace(
        "    id: main-cache\n",
        "    id: main-cache\n    params:\n      size: 2\n",
    );
    let c = WEB
        .replace(
            "    id: main-cache\n",
            "    id: main-cache\n    params:\n      size: 3\n",
        )
        .replace("name: web", "name: api");
    let out = snapshot_of(
        "dups",
        &[("a.yaml", &a), ("b.yaml", WEB), ("c.yaml", &c)],
        &["validate", "-f", "a.yaml", "-f", "b.yaml", "-f", "c.yaml"],
    );
    insta::assert_snapshot!(out);
}

#[test]
fn yaml_syntax_errors_and_duplicate_keys() {
    let dup = "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\n  name: again\ncontainers:\n  main: {image: x}\n";
    let syntax = "apiVersion: score.dev/v1b1\nmetadata: [\n";
    let out = snapshot_of(
        "yaml",
        &[("dup.yaml", dup), ("syntax.yaml", syntax)],
        &["validate", "-f", "dup.yaml", "-f", "syntax.yaml"],
    );
    insta::assert_snapshot!(out);
}

#[test]
fn missing_file_says_how_to_start() {
    insta::assert_snapshot!(snapshot_of("missing", &[], &["validate"]));
}

#[test]
fn deprecated_list_forms_are_upgraded_with_a_warning() {
    let text = "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n    image: x\n    files:\n      - target: /etc/app.conf\n        content: port=${metadata.name}\n    volumes:\n      - source: ${resources.data}\n        target: /data\nresources:\n  data:\n    type: volume\n";
    let out = snapshot_of("list", &[("score.yaml", text)], &["validate"]);
    assert!(out.starts_with("exit code: 0"), "{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn json_format_carries_positions_and_pointers() {
    let bad = WEB.replace("type: redis", "type: redis_cache");
    let sb = Sandbox::new();
    sb.write("score.yaml", &bad);
    let run = sb.run(&["validate", "--format", "json"]);
    assert_eq!(run.code, 1);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(v["valid"], false);
    assert_eq!(v["format_version"], "1");
    let d = &v["diagnostics"][0];
    assert_eq!(d["stage"], "schema");
    assert_eq!(d["code"], "schema/pattern");
    assert_eq!(d["file"], "score.yaml");
    assert_eq!(d["pointer"], "/resources/cache/type");
    assert_eq!(d["start"]["line"], 19);
    assert_eq!(d["start"]["column"], 11);
    assert_eq!(run.stderr, "", "json mode prints nothing on stderr");
}

#[test]
fn json_format_of_a_valid_project_lists_uids() {
    let sb = Sandbox::new();
    sb.write("score.yaml", WEB);
    let run = sb.run(&["validate", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    let uids: Vec<&str> = v["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["uid"].as_str().unwrap())
        .collect();
    assert_eq!(
        uids,
        ["postgres.default#web.db", "redis.default#main-cache"]
    );
    assert_eq!(v["resources"][1]["shared"], true);
}

#[test]
fn params_cycles_across_resources_are_errors() {
    let text = "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main: {image: x}\nresources:\n  aa:\n    type: thing\n    params: {x: '${resources.bb.out}'}\n  bb:\n    type: thing\n    params: {y: '${resources.aa.out}'}\n";
    let out = snapshot_of("cycle", &[("score.yaml", text)], &["validate"]);
    insta::assert_snapshot!(out);
}

#[test]
fn without_f_reads_score_yaml_and_every_score_yaml_file() {
    let sb = Sandbox::new();
    sb.write("proj/score.yaml", WEB);
    sb.write(
        "proj/worker.score.yaml",
        &WEB.replace("name: web", "name: worker"),
    );
    sb.write("proj/notes.yaml", "not: a score file\n");
    let run = sb.run(&["-C", "proj", "validate", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    let files: Vec<&str> = v["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["file"].as_str().unwrap())
        .collect();
    assert_eq!(files, ["score.yaml", "worker.score.yaml"]);
}

#[test]
fn output_does_not_depend_on_the_order_of_files() {
    let sb = Sandbox::new();
    sb.write("a.yaml", WEB);
    sb.write(
        "b.yaml",
        &WEB.replace("name: web", "name: api")
            .replace("${resources.db.host}", "${resources.nope.host}"),
    );
    let one = sb.run(&["validate", "-f", "a.yaml", "-f", "b.yaml"]);
    let two = sb.run(&["validate", "-f", "b.yaml", "-f", "a.yaml"]);
    assert_eq!(one.code, 1);
    assert_eq!(one.transcript(), two.transcript());
}

#[test]
fn params_a_module_does_not_declare_are_a_warning_not_an_error() {
    let sb = Sandbox::new();
    sb.write(
        "score.yaml",
        &WEB.replace(
            "    id: main-cache\n",
            "    id: main-cache\n    params:\n      key_prefx: web\n",
        ),
    );
    let run = sb.run(&["validate"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(run.stderr.contains("warning: param `key_prefx` of `redis.default#main-cache` is ignored in environment `local`"), "{}", run.stderr);
    assert!(
        run.stderr.contains("did you mean `key_prefix`?"),
        "{}",
        run.stderr
    );
}
