//! The overrides score-compose users rely on, applied to the document before validation:
//! `--overrides-file` (deep merge), `--override-property path=value` and `--image`.
//!
//! Overridden values keep the span of where they were written (the overrides file, or a
//! pseudo-file holding the command-line value), so a mistake in an override is reported
//! there and not in the Score file.

use super::yaml::{Key, Kind, Node};
use crate::diag::{Diagnostic, Span, Stage};

/// Deep-merges `patch` into `base`: mappings merge key by key, a `null` deletes the key,
/// anything else replaces the value.
pub fn merge(base: &mut Node, patch: Node) {
    match (&mut base.kind, patch.kind) {
        (Kind::Map(entries), Kind::Map(patch_entries)) => {
            for (k, v) in patch_entries {
                let pos = entries.iter().position(|(e, _)| e.name == k.name);
                match (pos, &v.kind) {
                    (Some(i), Kind::Null) => {
                        entries.remove(i);
                    }
                    (None, Kind::Null) => {}
                    (Some(i), _) => merge(&mut entries[i].1, v),
                    (None, _) => entries.push((k, v)),
                }
            }
        }
        (_, kind) => {
            *base = Node::new(kind, patch.span);
        }
    }
}

/// Splits `a.b\.c.d` into `["a", "b.c", "d"]`.
pub fn split_path(path: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'.') => {
                chars.next();
                parts.last_mut().unwrap().push('.');
            }
            '.' => parts.push(String::new()),
            c => parts.last_mut().unwrap().push(c),
        }
    }
    parts
}

/// Sets (or, when `value` is `None`, deletes) the value at `path`, creating mappings on the way.
/// List elements are addressed by index; `-1` appends. Errors name the path segment that failed.
pub fn set_path(
    root: &mut Node,
    path: &[String],
    value: Option<Node>,
    span: Span,
) -> Result<(), String> {
    let Some((first, rest)) = path.split_first() else {
        return Err("the path is empty".into());
    };
    match &mut root.kind {
        Kind::Map(entries) => {
            let pos = entries.iter().position(|(k, _)| &k.name == first);
            if rest.is_empty() {
                match (pos, value) {
                    (Some(i), None) => {
                        entries.remove(i);
                    }
                    (None, None) => {}
                    (Some(i), Some(v)) => entries[i].1 = v,
                    (None, Some(v)) => entries.push((
                        Key {
                            name: first.clone(),
                            span,
                        },
                        v,
                    )),
                }
                return Ok(());
            }
            let i = match pos {
                Some(i) => i,
                None => {
                    if value.is_none() {
                        return Ok(());
                    }
                    entries.push((
                        Key {
                            name: first.clone(),
                            span,
                        },
                        Node::new(Kind::Map(Vec::new()), span),
                    ));
                    entries.len() - 1
                }
            };
            set_path(&mut entries[i].1, rest, value, span)
        }
        Kind::Seq(items) => {
            let idx: i64 = first
                .parse()
                .map_err(|_| format!("`{first}` is not a list index"))?;
            if rest.is_empty() {
                match (idx, value) {
                    (-1, Some(v)) => items.push(v),
                    (i, v) if i >= 0 && (i as usize) < items.len() => match v {
                        Some(v) => items[i as usize] = v,
                        None => {
                            items.remove(i as usize);
                        }
                    },
                    (i, _) => {
                        return Err(format!(
                            "index {i} is out of range (the list has {} items)",
                            items.len()
                        ));
                    }
                }
                return Ok(());
            }
            let len = items.len();
            let item = usize::try_from(idx)
                .ok()
                .and_then(|i| items.get_mut(i))
                .ok_or_else(|| format!("index {idx} is out of range (the list has {len} items)"))?;
            set_path(item, rest, value, span)
        }
        Kind::Null if value.is_some() => {
            root.kind = Kind::Map(Vec::new());
            set_path(root, path, value, span)
        }
        _ => Err(format!("cannot set `{first}` inside {}", root.type_name())),
    }
}

/// Replaces the image of every container whose image is `.` with `image`.
pub fn apply_image(root: &mut Node, image: &str, span: Span) {
    if let Some(Kind::Map(containers)) = root_containers(root) {
        for (_, c) in containers.iter_mut() {
            if let Kind::Map(fields) = &mut c.kind {
                for (k, v) in fields.iter_mut() {
                    if k.name == "image" && v.as_str() == Some(".") {
                        *v = Node::new(Kind::Str(image.to_string()), span);
                    }
                }
            }
        }
    }
}

fn root_containers(root: &mut Node) -> Option<&mut Kind> {
    match &mut root.kind {
        Kind::Map(entries) => entries
            .iter_mut()
            .find(|(k, _)| k.name == "containers")
            .map(|(_, v)| &mut v.kind),
        _ => None,
    }
}

/// An `--override-property` that is not `path=value`.
pub fn bad_property(arg: &str) -> Diagnostic {
    Diagnostic::error(
        Stage::Options,
        "options/override-property",
        format!("invalid --override-property `{arg}`"),
    )
    .detail("expected PATH=VALUE, e.g. containers.main.variables.DEBUG=true")
    .help("an empty value deletes the property; write `\\.` for a dot inside a key")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::FileId;
    use crate::score::yaml::parse;

    fn node(text: &str) -> Node {
        parse(FileId(0), text).root.unwrap()
    }

    #[test]
    fn merge_is_deep_and_null_deletes() {
        let mut base = node("a: {b: 1, c: 2}\nd: [1, 2]\ne: x\n");
        merge(&mut base, node("a: {c: 3, f: 4}\nd: [9]\ne: null\n"));
        assert_eq!(
            base.to_json(),
            serde_json::json!({"a": {"b": 1, "c": 3, "f": 4}, "d": [9]})
        );
    }

    #[test]
    fn set_path_creates_replaces_and_deletes() {
        let sp = Span::new(FileId(0), 0, 1);
        let mut root = node("containers:\n  main:\n    image: x\n    args: [a, b]\n");
        set_path(
            &mut root,
            &split_path("containers.main.variables.A\\.B"),
            Some(node("'1'")),
            sp,
        )
        .unwrap();
        set_path(
            &mut root,
            &split_path("containers.main.args.1"),
            Some(node("c")),
            sp,
        )
        .unwrap();
        set_path(&mut root, &split_path("containers.main.image"), None, sp).unwrap();
        assert_eq!(
            root.to_json(),
            serde_json::json!({"containers": {"main": {"args": ["a", "c"], "variables": {"A.B": "1"}}}})
        );
        assert!(
            set_path(
                &mut root,
                &split_path("containers.main.args.x"),
                Some(node("1")),
                sp
            )
            .is_err()
        );
    }

    #[test]
    fn image_replaces_dots_only() {
        let sp = Span::new(FileId(1), 0, 1);
        let mut root = node("containers:\n  a: {image: .}\n  b: {image: nginx}\n");
        apply_image(&mut root, "web:1", sp);
        assert_eq!(
            root.to_json(),
            serde_json::json!({"containers": {"a": {"image": "web:1"}, "b": {"image": "nginx"}}})
        );
    }
}
