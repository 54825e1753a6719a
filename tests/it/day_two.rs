//! Day-two rough edges (issue 22, items 4–9, 11, 13), each as the session that hit it:
//! lifting `prevent_destroy`, misspelt params and outputs, service ports by name,
//! `ready: healthy` without a probe, `$$` in commands, the stale-plan message, spans and
//! "did you mean", and the Markdown a reviewer reads.

use crate::support::Sandbox;

/// A module writing one file, whose data a delete loses.
const NOTE: &str = r#"
provisions "note" {
  stateful = true
}
param "text" {
  type    = string
  default = "hello"
}
resource "local_file" "note" {
  path    = ".baton/notes/${score.workload}-${score.resource}.txt"
  content = param.text
}
output "path" {
  value = local_file.note.path
}
"#;

fn notes(annotated: bool, text: &str) -> String {
    let annotation = if annotated {
        "    metadata:\n      annotations:\n        baton.dev/prevent-destroy: \"true\"\n"
    } else {
        ""
    };
    format!(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: app\ncontainers:\n  main:\n    image: busybox\n    variables:\n      NOTE: ${{resources.note.path}}\nresources:\n  note:\n    type: note\n{annotation}    params:\n      text: {text}\n"
    )
}

fn note_project(annotated: bool) -> Sandbox {
    let sb = Sandbox::new();
    sb.write("modules/note.hcl", NOTE);
    sb.write("score.yaml", &notes(annotated, "hello"));
    sb
}

#[test]
fn prevent_destroy_can_be_lifted_and_destroy_then_works() {
    let sb = note_project(true);
    let run = sb.run(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(sb.run(&["destroy", "--auto-approve"]).code, 1);
    // Dropping the annotation is a change the state records, not "No changes".
    sb.write("score.yaml", &notes(false, "hello"));
    let plan = sb.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}", plan.transcript());
    assert!(
        plan.stdout.contains("`prevent_destroy` lifted"),
        "{}",
        plan.stdout
    );
    let run = sb.run(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(run.stdout.contains("0 added, 1 changed"), "{}", run.stdout);
    assert_eq!(sb.run(&["plan", "--detailed-exitcode"]).code, 0);
    let destroy = sb.run(&["destroy", "--auto-approve"]);
    assert_eq!(destroy.code, 0, "{}", destroy.transcript());
    assert!(!sb.path().join(".baton/notes/app-note.txt").exists());
}

#[test]
fn plan_warns_about_a_misspelt_param_at_the_param_and_validate_checks_outputs() {
    let sb = Sandbox::new();
    sb.write(
        "score.yaml",
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: app\ncontainers:\n  main:\n    image: busybox\n    variables:\n      PW: ${resources.db.password}\nresources:\n  db:\n    type: postgres\n    params:\n      databse: orders\n",
    );
    for cmd in ["validate", "plan"] {
        let run = sb.run(&[cmd]);
        assert_eq!(run.code, 0, "{cmd}: {}", run.transcript());
        assert!(
            run.stderr
                .contains("warning: param `databse` of `postgres.default#app.db` is ignored"),
            "{cmd}: {}",
            run.stderr
        );
        // At the param's key (line 13), not at `type: postgres` (line 11).
        assert!(
            run.stderr.contains("score.yaml:13:7"),
            "{cmd}: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains("did you mean `database`?"),
            "{cmd}: {}",
            run.stderr
        );
    }
    sb.write(
        "score.yaml",
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: app\ncontainers:\n  main:\n    image: busybox\n    variables:\n      URL: postgres://${resources.db.username}:${resources.db.pasword}@db\nresources:\n  db:\n    type: postgres\n",
    );
    // validate warns (the Score file is valid; another platform may have the output),
    // and plan fails, both at the placeholder.
    let run = sb.run(&["validate"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stderr.contains(
            "warning: ${resources.db.pasword}: resource `db` of type `postgres` has no output `pasword` in environment `local`, so a plan there fails"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("did you mean `password`?"),
        "{}",
        run.stderr
    );
    // Both validate and plan underline the placeholder, not the whole string.
    let col = "      URL: postgres://${resources.db.username}:".len() + 1;
    let underline = format!(
        "|{}{}",
        " ".repeat(col),
        "^".repeat("${resources.db.pasword}".len())
    );
    for (cmd, code) in [("validate", 0), ("plan", 1)] {
        let run = sb.run(&[cmd]);
        assert_eq!(run.code, code, "{cmd}: {}", run.transcript());
        assert!(
            run.stderr.contains(&format!("score.yaml:8:{col}")),
            "{cmd}: {}",
            run.stderr
        );
        assert!(
            run.stderr
                .lines()
                .any(|l| l.contains(&underline) && !l.contains(&format!("{underline}^"))),
            "{cmd}: {}",
            run.stderr
        );
    }
}

#[test]
fn score_compose_08_service_port_plans_to_the_port_score_compose_produces() {
    let sb = Sandbox::new();
    sb.copy_from_repo("tests/fixtures/score-compose-08");
    sb.write(
        "baton.hcl",
        "environment \"local\" {\n  target \"compose\" {}\n}\n",
    );
    let files = ["plan", "-f", "scoreA.yaml", "-f", "scoreB.yaml"];
    let run = sb.run(&files);
    assert_eq!(run.code, 0, "{}", run.transcript());
    // score-compose: `DEPENDENCY_URL: http://workload-a-example:80` (its host is the
    // compose service; baton's is the workload, which is also its Kubernetes Service).
    assert!(
        run.stdout.contains("DEPENDENCY_URL: http://workload-a:80"),
        "{}",
        run.stdout
    );
    // And the `$$` of args reaches Compose as score-compose writes it.
    assert!(
        run.stdout.contains("wget $${DEPENDENCY_URL} || true"),
        "{}",
        run.stdout
    );
    // An unknown workload or port is an error at the param.
    let b = sb.read("scoreB.yaml");
    sb.write("scoreB.yaml", &b.replace("port: web", "port: http"));
    let run = sb.run(&files);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr
            .contains("publishes no port of this name or number"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("scoreB.yaml:16:13"), "{}", run.stderr);
    sb.write(
        "scoreB.yaml",
        &b.replace("workload: workload-a", "workload: workload-c"),
    );
    let run = sb.run(&files);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr.contains("no workload of this name"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("scoreB.yaml:15:17"), "{}", run.stderr);
}

#[test]
fn a_route_resolves_a_port_name() {
    let sb = Sandbox::new();
    sb.write(
        "score.yaml",
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n    image: nginx\nservice:\n  ports:\n    www:\n      port: 8080\n      targetPort: 3000\nresources:\n  route:\n    type: route\n    params:\n      host: example.localhost\n      port: www\n",
    );
    let run = sb.run(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let dir = sb.path().join(".baton/routes");
    let file = std::fs::read_dir(&dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let route: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    assert_eq!(route["port"], 8080);
    assert_eq!(route["target_port"], 3000);
}

#[test]
fn ready_healthy_needs_a_probe() {
    let sb = Sandbox::new();
    let score = "apiVersion: score.dev/v1b1\nmetadata:\n  name: app\ncontainers:\n  db:\n    image: postgres\n    before:\n      app:\n        ready: healthy\n  app:\n    image: busybox\n";
    sb.write("score.yaml", score);
    let run = sb.run(&["validate"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr
            .contains("container \"db\" must be healthy before \"app\" starts, but has no probe"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("score.yaml:9:16"), "{}", run.stderr);
    sb.write(
        "score.yaml",
        &score.replace(
            "    image: postgres\n",
            "    image: postgres\n    readinessProbe:\n      exec:\n        command: [pg_isready]\n",
        ),
    );
    let run = sb.run(&["validate"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
}

#[test]
fn a_stale_plan_names_the_action_in_words_and_the_drift() {
    let sb = note_project(false);
    assert_eq!(sb.run(&["apply", "--auto-approve"]).code, 0);
    sb.write("score.yaml", &notes(false, "changed"));
    let run = sb.run(&["plan", "--out", "change.plan"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    std::fs::remove_file(sb.path().join(".baton/notes/app-note.txt")).unwrap();
    let run = sb.run(&["apply", "change.plan"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr.contains("`note.default#app.note/local_file.note` would now be created (changed outside baton); the plan has it changed in place (changed: content); changed outside baton since the plan was made: `note.default#app.note/local_file.note` was deleted; make a new plan"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("no_longer_referenced"),
        "{}",
        run.stderr
    );
}

#[test]
fn did_you_mean_suggests_typos_not_other_words() {
    let sb = Sandbox::new();
    sb.write(
        "score.yaml",
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: app\ncontainers:\n  main:\n    image: busybox\n    resources:\n      limits:\n        gpu: \"1\"\n",
    );
    let run = sb.run(&["validate"]);
    assert!(run.stderr.contains("`gpu`"), "{}", run.transcript());
    assert!(!run.stderr.contains("did you mean `cpu`"), "{}", run.stderr);
    sb.write(
        "score.yaml",
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: app\ncontainers:\n  main:\n    image: busybox\nresources:\n  db:\n    type: mssql\n",
    );
    let run = sb.run(&["plan"]);
    assert!(run.stderr.contains("mssql"), "{}", run.transcript());
    assert!(
        !run.stderr.contains("did you mean type `mysql`"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("did you mean `mysql`"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_param_of_the_wrong_type_points_at_the_param() {
    let sb = Sandbox::new();
    sb.write("modules/note.hcl", NOTE);
    sb.write(
        "score.yaml",
        &notes(false, "hello").replace("text: hello", "text: [1, 2]"),
    );
    let run = sb.run(&["plan"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr
            .contains("param `text` of `note.default#app.note`"),
        "{}",
        run.stderr
    );
    // `text: [1, 2]` is on line 13; `type: note` on line 11.
    assert!(run.stderr.contains("score.yaml:13:13"), "{}", run.stderr);
}

#[test]
fn markdown_for_a_pull_request_reads_at_a_glance() {
    let sb = note_project(false);
    assert_eq!(sb.run(&["apply", "--auto-approve"]).code, 0);
    sb.write(
        "score.yaml",
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: app\ncontainers:\n  main:\n    image: busybox\n",
    );
    let run = sb.run(&["plan", "--format", "markdown"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let md = run.stdout;
    assert!(
        md.starts_with("### ⚠️ baton plan `local`: 🔴 **1 to destroy**"),
        "{md}"
    );
    // A data-loss line for the stateful module's file.
    assert!(
        md.contains("> ⚠️ **data loss**: this plan deletes `note.default#app.note/local_file.note` (local_file)"),
        "{md}"
    );
    // Four columns; the deleted row keeps its workload.
    assert!(
        md.contains("| action | address | why | workloads |\n|---|---|---|---|\n"),
        "{md}"
    );
    assert!(
        md.contains("| 🔴 delete ⚠️ | `note.default#app.note/local_file.note` | no longer referenced | app |"),
        "{md}"
    );
    // Summaries are HTML: code spans as <code>, never literal backticks.
    for line in md.lines().filter(|l| l.contains("<summary>")) {
        assert!(!line.contains('`'), "{line}");
    }
    // The uid is in the details; a changed secret is one line, not a -/+ pair.
    assert!(
        md.contains("uid `note.default#app.note` · module `note`"),
        "{md}"
    );
    assert!(!md.contains("+ secret_files = (sensitive)"), "{md}");
}

#[test]
fn the_markdown_graph_of_a_big_plan_stays_readable() {
    let sb = Sandbox::new();
    sb.write("modules/note.hcl", NOTE);
    for i in 0..30 {
        sb.write(
            &format!("w{i:02}.score.yaml"),
            &notes(false, "hello").replace("name: app", &format!("name: w{i:02}")),
        );
    }
    let run = sb.run(&["plan", "--format", "markdown"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let md = run.stdout;
    let graph = &md[md.find("```mermaid").unwrap()..];
    let graph = &graph[..graph[3..].find("```").unwrap() + 6];
    let boxes = graph
        .lines()
        .filter(|l| l.contains("[\"") && !l.contains("subgraph"))
        .count();
    assert!(boxes <= 40, "{boxes} boxes:\n{graph}");
    assert!(graph.contains("subgraph"), "{graph}");
    // Labels inside a workload's box drop the workload part of the address.
    assert!(graph.contains("[\"note/local_file.note\"]"), "{graph}");
    assert!(
        md.contains("_Graph: 20 more changes are not drawn (see the table)._"),
        "{md}"
    );
}
