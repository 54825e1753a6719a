//! Score placeholders in every kind of string Score expands — variables, inline file
//! contents, files read from `source`, volume sources, params — as the written
//! manifests show them, with `noExpand` and `$$` kept literal (they are parsed once,
//! when the Score file is loaded, and evaluated from that form).

use crate::support::Sandbox;

/// A module whose output echoes its param, so a params placeholder reaches a variable.
const ECHO: &str = r#"
provisions "echo" {}
param "text" {
  type = string
}
output "text" {
  value = param.text
}
"#;

const SCORE: &str = r#"apiVersion: score.dev/v1b1
metadata:
  name: web
  team: blue
containers:
  main:
    image: busybox
    variables:
      GREETING: "hello ${metadata.name} of ${metadata.team}, $$HOME"
      PLAIN: plain
      ECHOED: "${resources.echo.text}"
    files:
      /etc/inline.conf:
        content: "team=${metadata.team}"
      /etc/literal.conf:
        content: "team=${metadata.team}"
        noExpand: true
      /etc/read.conf:
        source: read.conf
      /etc/read-literal.conf:
        source: read.conf
        noExpand: true
    volumes:
      /data:
        source: ${resources.data}
resources:
  data:
    type: volume
  echo:
    type: echo
    params:
      text: "from ${metadata.name} [${metadata.team}]"
"#;

#[test]
fn every_expanded_string_is_substituted_and_the_others_kept() {
    let sb = Sandbox::new();
    sb.write("modules/echo.hcl", ECHO);
    sb.write("score.yaml", SCORE);
    sb.write("read.conf", "name=${metadata.name} cost=$$5\n");
    let run = sb.run(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let mut written = String::new();
    for entry in crate::local_walls::walk(&sb.path().join("deploy")) {
        written.push_str(&std::fs::read_to_string(entry).unwrap_or_default());
    }
    for expected in [
        "hello web of blue, $HOME",
        "plain",
        "from web [blue]",
        "team=blue",
        "team=${metadata.team}",
        "name=web cost=$5",
        "name=${metadata.name} cost=$$5",
        ".baton/volumes/",
    ] {
        assert!(
            written.contains(expected),
            "`{expected}` not in the manifests:\n{written}"
        );
    }
}

#[test]
fn a_placeholder_in_a_source_file_without_a_value_is_located_in_the_score_file() {
    let sb = Sandbox::new();
    sb.write("modules/echo.hcl", ECHO);
    sb.write("score.yaml", SCORE);
    sb.write("read.conf", "name=${metadata.nope}\n");
    let run = sb.run(&["plan"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr
            .contains("workload `web`: invalid ref 'metadata.nope': key 'nope' not found"),
        "{}",
        run.transcript()
    );
}
