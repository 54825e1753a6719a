//! The score-compose overrides: --image, --overrides-file, --override-property.

use crate::support::{Sandbox, WEB};

fn json(run: &crate::support::Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout).expect("json output")
}

#[test]
fn image_replaces_dot_and_silences_the_warning() {
    let sb = Sandbox::new();
    sb.write("score.yaml", &WEB.replace("image: nginx:1.27", "image: ."));
    let without = sb.run(&["validate"]);
    assert_eq!(without.code, 0);
    assert!(
        without
            .stderr
            .contains("has image `.`, which needs --image"),
        "{}",
        without.stderr
    );
    let with = sb.run(&["validate", "--image", "web:1.2"]);
    assert_eq!(with.code, 0);
    assert_eq!(with.stderr, "");
}

#[test]
fn overrides_file_is_deep_merged_and_validated_after() {
    let sb = Sandbox::new();
    sb.write("score.yaml", WEB);
    // Deleting `db` leaves `${resources.db.host}` dangling: validation runs after the merge.
    sb.write(
        "over.yaml",
        "resources:\n  db: null\n  cache:\n    class: large\n",
    );
    let run = sb.run(&[
        "validate",
        "--format",
        "json",
        "--overrides-file",
        "over.yaml",
    ]);
    assert_eq!(run.code, 1);
    let v = json(&run);
    assert_eq!(v["diagnostics"][0]["code"], "semantic/unknown-resource");
    sb.write("over.yaml", "resources:\n  cache:\n    class: large\n");
    let run = sb.run(&[
        "validate",
        "--format",
        "json",
        "--overrides-file",
        "over.yaml",
    ]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(json(&run)["resources"][1]["uid"], "redis.large#main-cache");
}

#[test]
fn a_bad_value_in_the_overrides_file_is_reported_there() {
    let sb = Sandbox::new();
    sb.write("score.yaml", WEB);
    sb.write(
        "over.yaml",
        "service:\n  ports:\n    http:\n      port: 70000\n",
    );
    let run = sb.run(&["validate", "--overrides-file", "over.yaml"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("--> over.yaml:4:13"), "{}", run.stderr);
}

#[test]
fn override_property_sets_deletes_and_escapes_dots() {
    let sb = Sandbox::new();
    sb.write("score.yaml", WEB);
    let run = sb.run(&[
        "validate",
        "--format",
        "json",
        "--override-property",
        "metadata.annotations.example\\.com/team=platform",
        "--override-property",
        "resources.cache.id=",
        "--override-property",
        "containers.main.args=[\"--port\", \"8080\"]",
    ]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let v = json(&run);
    assert_eq!(v["resources"][1]["uid"], "redis.default#web.cache");
}

#[test]
fn override_property_values_are_yaml_and_validated() {
    let sb = Sandbox::new();
    sb.write("score.yaml", WEB);
    let run = sb.run(&[
        "validate",
        "--override-property",
        "service.ports.http.port=0",
    ]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("--override-property service.ports.http.port"),
        "{}",
        run.stderr
    );
    let run = sb.run(&["validate", "--override-property", "nonsense"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("expected PATH=VALUE"), "{}", run.stderr);
}

#[test]
fn overrides_need_exactly_one_score_file() {
    let sb = Sandbox::new();
    sb.write("a.yaml", WEB);
    sb.write("b.yaml", &WEB.replace("name: web", "name: api"));
    let run = sb.run(&[
        "validate",
        "-f",
        "a.yaml",
        "-f",
        "b.yaml",
        "--override-property",
        "metadata.x=1",
    ]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("need exactly one Score file"),
        "{}",
        run.stderr
    );
}
