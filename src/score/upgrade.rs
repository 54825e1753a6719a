//! Upgrades the deprecated list forms of `files` and `volumes` to the map form, keyed by
//! their `target`, with a warning each. Runs after the schema (which accepts both forms)
//! and before typed decoding (which knows only maps), as score-go's upgrade transforms do.

use super::yaml::{Key, Kind, Node};
use crate::diag::{Diagnostic, Stage};

/// Rewrites list-form `files`/`volumes` of every container in place.
pub fn upgrade(root: &mut Node, out: &mut Vec<Diagnostic>) {
    let Kind::Map(top) = &mut root.kind else {
        return;
    };
    let Some((_, containers)) = top.iter_mut().find(|(k, _)| k.name == "containers") else {
        return;
    };
    let Kind::Map(containers) = &mut containers.kind else {
        return;
    };
    for (cname, container) in containers.iter_mut() {
        let Kind::Map(fields) = &mut container.kind else {
            continue;
        };
        for (key, value) in fields.iter_mut() {
            if key.name != "files" && key.name != "volumes" {
                continue;
            }
            let Kind::Seq(items) = &value.kind else {
                continue;
            };
            let what = key.name.clone();
            let mut entries: Vec<(Key, Node)> = Vec::new();
            let mut ok = true;
            for (i, item) in items.iter().enumerate() {
                let Kind::Map(item_fields) = &item.kind else {
                    continue;
                };
                let target = item_fields.iter().find(|(k, _)| k.name == "target");
                let Some((_, target_node)) = target else {
                    out.push(
                        Diagnostic::error(
                            Stage::Schema,
                            "schema/list-target",
                            format!(
                                "{} #{i} of container `{}` has no `target`",
                                singular(&what),
                                cname.name
                            ),
                        )
                        .at(Some(item.span))
                        .pointer(format!("/containers/{}/{what}/{i}", cname.name))
                        .label("`target` is required in the list form")
                        .help(format!(
                            "better: use the map form, `{what}: {{/path/in/container: {{...}}}}`"
                        )),
                    );
                    ok = false;
                    continue;
                };
                let target_name = target_node.as_str().unwrap_or_default().to_string();
                if let Some((first, _)) = entries.iter().find(|(k, _)| k.name == target_name) {
                    let first_span = first.span;
                    out.push(
                        Diagnostic::error(
                            Stage::Schema,
                            "schema/list-target",
                            format!(
                                "two {what} of container `{}` have the target `{target_name}`",
                                cname.name
                            ),
                        )
                        .at(Some(target_node.span))
                        .label("second one here")
                        .note(Some(first_span), "first one here"),
                    );
                    ok = false;
                    continue;
                }
                let rest: Vec<(Key, Node)> = item_fields
                    .iter()
                    .filter(|(k, _)| k.name != "target")
                    .cloned()
                    .collect();
                entries.push((
                    Key {
                        name: target_name,
                        span: target_node.span,
                    },
                    Node::new(Kind::Map(rest), item.span),
                ));
            }
            if ok {
                out.push(
                    Diagnostic::warning(
                        Stage::Schema,
                        "schema/deprecated-list",
                        format!(
                            "`{what}` of container `{}` uses the deprecated list form",
                            cname.name
                        ),
                    )
                    .at(Some(key.span))
                    .label("read as a map keyed by `target`")
                    .help(format!(
                        "write `{what}` as a map: `{what}: {{/path/in/container: {{...}}}}`"
                    )),
                );
                *value = Node::new(Kind::Map(entries), value.span);
            }
        }
    }
}

fn singular(what: &str) -> &'static str {
    if what == "files" { "file" } else { "volume" }
}
