//! The Score JSON schema (spec HEAD, draft 2020-12), and its errors as located diagnostics.
//!
//! Validation itself is the `jsonschema` crate's; this module turns each error into a
//! message a developer can act on: the offending key or value is underlined, patterns are
//! explained in words, unknown fields get "did you mean" hints, and the `oneOf`s of
//! `files`/`volumes` are unpacked into the one branch the document was aiming at.

use std::sync::OnceLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{ValidationError, Validator};
use serde_json::Value;

use super::yaml::{Kind, Node, pointer_segments};
use crate::diag::{Diagnostic, Stage, did_you_mean};

/// The canonical Score v1b1 schema, as published by the spec repository.
pub const SCHEMA_JSON: &str = include_str!("score-v1b1.json");

fn schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        serde_json::from_str(SCHEMA_JSON).expect("embedded Score schema is valid JSON")
    })
}

fn validator() -> &'static Validator {
    static VALIDATOR: OnceLock<Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        jsonschema::validator_for(schema()).expect("embedded Score schema compiles")
    })
}

/// Validates a document against the schema; every error becomes a diagnostic.
/// `instance` is `root` as JSON (the caller decodes the workload from it afterwards).
pub fn check(root: &Node, instance: &Value) -> Vec<Diagnostic> {
    // Most documents are valid: the yes/no check stops at nothing and collects nothing.
    if validator().is_valid(instance) {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut errors = validator().iter_errors(instance);
    for err in errors.by_ref().take(MAX_ERRORS) {
        explain(&err, root, &mut out);
    }
    // Each error is located by a walk of the tree: a file of 50,000 broken entries
    // took minutes. The first thousand say what is wrong.
    let more = errors.count();
    out.dedup();
    // A pattern message already states the length limits; do not repeat them.
    let patterned: Vec<Option<String>> = out
        .iter()
        .filter(|d| d.code == "schema/pattern")
        .map(|d| d.pointer.clone())
        .collect();
    out.retain(|d| {
        !(matches!(d.code, "schema/min-length" | "schema/max-length")
            && patterned.contains(&d.pointer))
    });
    let patterned_keys: Vec<Option<crate::diag::Span>> = out
        .iter()
        .filter(|d| d.code == "schema/key")
        .map(|d| d.span)
        .collect();
    out.retain(|d| !(d.code == "schema/key-length" && patterned_keys.contains(&d.span)));
    if more > 0 {
        out.push(
            Diagnostic::error(
                Stage::Schema,
                "schema/too-many-errors",
                format!("{more} more schema errors in this file are not reported"),
            )
            .at(Some(root.span))
            .detail(format!(
                "at most {MAX_ERRORS} schema errors are reported per file"
            ))
            .help("fix these and validate again"),
        );
    }
    out
}

/// The most schema errors reported for one file.
pub const MAX_ERRORS: usize = 1_000;

fn explain(err: &ValidationError<'_>, root: &Node, out: &mut Vec<Diagnostic>) {
    let pointer = err.instance_path().as_str().to_string();
    let node = root.pointer(&pointer);
    let span = node.map(|n| n.span).or(Some(root.span));
    let what = describe_location(&pointer);
    let base = |code: &'static str, summary: String| {
        Diagnostic::error(Stage::Schema, code, summary)
            .at(span)
            .pointer(pointer.clone())
    };

    match err.kind() {
        ValidationErrorKind::Required { property } => {
            let prop = property.as_str().unwrap_or_default();
            let mut d = base(
                "schema/required",
                format!("missing required field `{prop}` in {what}"),
            )
            .label(format!("`{prop}` is required here"));
            // Point at the key of the incomplete mapping rather than its first child;
            // for the document itself, at its first key.
            if let Some(s) = root.key_span(&pointer) {
                d.span = Some(s);
            } else if pointer.is_empty()
                && let Kind::Map(entries) = &root.kind
            {
                d.span = entries.first().map(|(k, _)| k.span).or(d.span);
            }
            d = d.maybe_help(required_help(&pointer, prop));
            out.push(d);
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            let allowed = allowed_properties(err);
            for key in unexpected {
                let child = format!("{pointer}/{}", key.replace('~', "~0").replace('/', "~1"));
                let key_span = root.key_span(&child).or(span);
                let mut d = Diagnostic::error(
                    Stage::Schema,
                    "schema/unknown-field",
                    format!("unknown field `{key}` in {what}"),
                )
                .at(key_span)
                .pointer(child)
                .label("not allowed here");
                if !allowed.is_empty() {
                    d = d.detail(format!("expected one of: {}", allowed.join(", ")));
                }
                let hint = unknown_field_help(&pointer, key).or_else(|| {
                    did_you_mean(key, allowed.iter().map(String::as_str))
                        .map(|s| format!("did you mean `{s}`?"))
                });
                out.push(d.maybe_help(hint));
            }
        }
        ValidationErrorKind::Type { kind } => {
            let expected = match kind {
                TypeKind::Single(t) => article(&t.to_string()),
                TypeKind::Multiple(ts) => ts
                    .iter()
                    .map(|t| article(&t.to_string()))
                    .collect::<Vec<_>>()
                    .join(" or "),
            };
            let found = node.map(Node::type_name).unwrap_or("something else");
            let mut d = base(
                "schema/type",
                format!("{what} must be {expected}, found {found}"),
            )
            .label(format!("expected {expected}"));
            if expected == "a string"
                && matches!(
                    node.map(|n| &n.kind),
                    Some(Kind::Int(_) | Kind::Float(_) | Kind::Bool(_))
                )
            {
                d = d.help(format!(
                    "quote the value to make it a string: \"{}\"",
                    scalar_text(err.instance())
                ));
            }
            out.push(d);
        }
        ValidationErrorKind::Pattern { pattern } => {
            let value = value_text(err.instance());
            let mut d = base("schema/pattern", format!("{value} is not a valid {what}"))
                .label(format!("must be {}", describe_pattern(pattern)))
                .detail(format!(
                    "expected {} (pattern `{pattern}`)",
                    describe_pattern(pattern)
                ));
            d = d.maybe_help(pattern_help(&pointer, err.instance()));
            out.push(d);
        }
        ValidationErrorKind::Enum { options } => {
            let opts: Vec<String> = options
                .as_array()
                .map(|a| a.iter().map(value_text).collect())
                .unwrap_or_default();
            let value = value_text(err.instance());
            let mut d = base("schema/enum", format!("{value} is not a valid {what}"))
                .label(format!("expected one of {}", opts.join(", ")));
            if let Some(s) = err.instance().as_str() {
                let plain: Vec<&str> = options
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                if let Some(m) = plain
                    .iter()
                    .find(|o| o.eq_ignore_ascii_case(s))
                    .copied()
                    .or_else(|| did_you_mean(s, plain.iter().copied()))
                {
                    d = d.help(format!("did you mean `{m}`?"));
                }
            }
            out.push(d);
        }
        ValidationErrorKind::Minimum { limit } => {
            out.push(
                base(
                    "schema/minimum",
                    format!(
                        "{what} {} is below the minimum {limit}",
                        value_text(err.instance())
                    ),
                )
                .label(format!("must be at least {limit}")),
            );
        }
        ValidationErrorKind::Maximum { limit } => {
            out.push(
                base(
                    "schema/maximum",
                    format!(
                        "{what} {} is above the maximum {limit}",
                        value_text(err.instance())
                    ),
                )
                .label(format!("must be at most {limit}")),
            );
        }
        ValidationErrorKind::MinLength { limit } => {
            let s = if *limit == 1 { "" } else { "s" };
            let summary = if err.instance().as_str() == Some("") {
                format!("{what} is empty")
            } else {
                format!("{what} {} is too short", value_text(err.instance()))
            };
            out.push(
                base("schema/min-length", summary)
                    .label(format!("must be at least {limit} character{s}")),
            );
        }
        ValidationErrorKind::MaxLength { limit } => {
            let len = err
                .instance()
                .as_str()
                .map(|s| s.chars().count())
                .unwrap_or(0);
            out.push(
                base(
                    "schema/max-length",
                    format!("{what} is too long ({len} characters)"),
                )
                .label(format!("must be at most {limit} characters")),
            );
        }
        ValidationErrorKind::MinProperties { limit } => {
            let label = if pointer == "/containers" {
                "at least one container is required".to_string()
            } else {
                format!("needs at least {limit} entries")
            };
            out.push(base("schema/min-properties", format!("{what} is empty")).label(label));
        }
        ValidationErrorKind::PropertyNames { error } => {
            // The inner error is about a key: underline the key itself.
            let key = error.instance().as_str().unwrap_or_default().to_string();
            let child = format!("{pointer}/{}", key.replace('~', "~0").replace('/', "~1"));
            let key_span = root.key_span(&child).or(span);
            let key_what = describe_key(&pointer);
            let (code, why) = match error.kind() {
                ValidationErrorKind::Pattern { pattern } => (
                    "schema/key",
                    format!("must be {}", describe_pattern(pattern)),
                ),
                ValidationErrorKind::MinLength { limit } => (
                    "schema/key-length",
                    format!("must be at least {limit} characters"),
                ),
                ValidationErrorKind::MaxLength { limit } => (
                    "schema/key-length",
                    format!("must be at most {limit} characters"),
                ),
                other => ("schema/key", format!("{other:?}")),
            };
            let mut d = Diagnostic::error(
                Stage::Schema,
                code,
                format!("`{key}` is not a valid {key_what}"),
            )
            .at(key_span)
            .pointer(pointer.clone())
            .label(why);
            if key_what.ends_with("name")
                && key.chars().any(|c| c.is_ascii_uppercase() || c == '_')
                && !pointer.ends_with("/variables")
            {
                d = d.help(format!(
                    "try `{}`",
                    key.to_ascii_lowercase().replace('_', "-")
                ));
            }
            out.push(d);
        }
        ValidationErrorKind::OneOfNotValid { context } | ValidationErrorKind::AnyOf { context } => {
            explain_alternatives(err, context, &pointer, node, root, out, &what);
        }
        ValidationErrorKind::OneOfMultipleValid { .. } => {
            if is_file_entry(&pointer) {
                let given: Vec<&str> = ["content", "binaryContent", "source"]
                    .into_iter()
                    .filter(|k| node.and_then(|n| n.get(k)).is_some())
                    .collect();
                out.push(
                    base(
                        "schema/file-content",
                        format!(
                            "file {} has more than one content field",
                            file_name(&pointer)
                        ),
                    )
                    .label(format!("{} given", given.join(" and ")))
                    .help("give exactly one of `content`, `binaryContent` or `source`"),
                );
            } else {
                out.push(base(
                    "schema/one-of",
                    format!("{what} matches more than one allowed form"),
                ));
            }
        }
        ValidationErrorKind::Not { .. } => {
            // The only `not` in the schema forbids `target` in map-form files and volumes.
            let target = format!("{pointer}/target");
            let key_span = root.key_span(&target).or(span);
            out.push(
                Diagnostic::error(Stage::Schema, "schema/target-in-map", format!("`target` is not allowed in the map form of {}", collection_of(&pointer)))
                    .at(key_span)
                    .pointer(pointer.clone())
                    .label("remove this field")
                    .help("in the map form the key is the target path; `target` belongs to the deprecated list form only"),
            );
        }
        _ => {
            out.push(base("schema/invalid", format!("{what} is invalid: {err}")));
        }
    }
}

/// Unpacks `oneOf`/`anyOf` failures into the branch the document evidently meant.
fn explain_alternatives(
    err: &ValidationError<'_>,
    context: &[Vec<ValidationError<'static>>],
    pointer: &str,
    node: Option<&Node>,
    root: &Node,
    out: &mut Vec<Diagnostic>,
    what: &str,
) {
    let span = node.map(|n| n.span);
    let last = pointer_segments(pointer)
        .last()
        .cloned()
        .unwrap_or_default();
    // files/volumes: branch 0 is the deprecated list, branch 1 the map.
    if (last == "files" || last == "volumes") && context.len() == 2 {
        let branch = match node.map(|n| &n.kind) {
            Some(Kind::Seq(_)) => Some(0),
            Some(Kind::Map(_)) => Some(1),
            _ => None,
        };
        if let Some(b) = branch {
            for e in &context[b] {
                explain(e, root, out);
            }
            return;
        }
        out.push(
            Diagnostic::error(
                Stage::Schema,
                "schema/type",
                format!(
                    "{what} must be a mapping of target paths, found {}",
                    node.map(Node::type_name).unwrap_or("something else")
                ),
            )
            .at(span)
            .pointer(pointer)
            .label("expected a mapping"),
        );
        return;
    }
    if is_file_entry(pointer) {
        // Only the "required" branches failed, or other errors too: report the non-required ones first.
        let others: Vec<&ValidationError<'static>> = context
            .iter()
            .flatten()
            .filter(|e| !matches!(e.kind(), ValidationErrorKind::Required { .. }))
            .collect();
        if !others.is_empty() {
            let mut seen = Vec::new();
            for e in others {
                let mut tmp = Vec::new();
                explain(e, root, &mut tmp);
                for d in tmp {
                    if !seen.contains(&d) {
                        seen.push(d.clone());
                        out.push(d);
                    }
                }
            }
            return;
        }
        out.push(
            Diagnostic::error(Stage::Schema, "schema/file-content", format!("file {} has no content", file_name(pointer)))
                .at(root.key_span(pointer).or(span))
                .pointer(pointer)
                .label("needs `content`, `binaryContent` or `source`")
                .help("add `content: ...` with the file's text, or `source: ./path` to read it from a file"),
        );
        return;
    }
    if last.ends_with("Probe") {
        let others: Vec<&ValidationError<'static>> = context
            .iter()
            .flatten()
            .filter(|e| !matches!(e.kind(), ValidationErrorKind::Required { .. }))
            .collect();
        if others.is_empty() {
            out.push(
                Diagnostic::error(Stage::Schema, "schema/probe", format!("{what} needs `httpGet` or `exec`"))
                    .at(root.key_span(pointer).or(span))
                    .pointer(pointer)
                    .label("has neither `httpGet` nor `exec`")
                    .help("e.g. `httpGet: {path: /healthz, port: 8080}` or `exec: {command: [\"/bin/check\"]}`; remove the probe if none is wanted"),
            );
            return;
        }
        for e in others {
            explain(e, root, out);
        }
        return;
    }
    out.push(
        Diagnostic::error(
            Stage::Schema,
            "schema/one-of",
            format!("{what} is invalid: {err}"),
        )
        .at(span)
        .pointer(pointer),
    );
}

fn is_file_entry(pointer: &str) -> bool {
    let segs = pointer_segments(pointer);
    segs.len() >= 2 && segs[segs.len() - 2] == "files"
}

fn file_name(pointer: &str) -> String {
    let segs = pointer_segments(pointer);
    let last = segs.last().cloned().unwrap_or_default();
    if last.parse::<usize>().is_ok() {
        format!("#{last}")
    } else {
        format!("`{last}`")
    }
}

fn collection_of(pointer: &str) -> &'static str {
    if pointer.contains("/volumes/") {
        "volumes"
    } else {
        "files"
    }
}

fn article(t: &str) -> String {
    match t {
        "object" => "a mapping".into(),
        "array" => "a list".into(),
        "integer" => "an integer".into(),
        "null" => "null".into(),
        other => format!("a {other}"),
    }
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => format!("`{s}`"),
        other => format!("`{other}`"),
    }
}

/// The names of the properties the schema allows where an `additionalProperties` error arose.
fn allowed_properties(err: &ValidationError<'_>) -> Vec<String> {
    let path = err.schema_path().as_str().to_string();
    let mut segs = pointer_segments(&path);
    segs.pop(); // the keyword itself
    let mut v = schema();
    for s in &segs {
        v = match v {
            Value::Object(m) => match m.get(s) {
                Some(x) => x,
                None => return Vec::new(),
            },
            Value::Array(a) => match s.parse::<usize>().ok().and_then(|i| a.get(i)) {
                Some(x) => x,
                None => return Vec::new(),
            },
            _ => return Vec::new(),
        };
    }
    // Follow a `$ref` at this level.
    if let Some(r) = v.get("$ref").and_then(Value::as_str)
        && let Some(p) = r.strip_prefix('#')
        && let Some(t) = schema().pointer(p)
    {
        v = t;
    }
    let mut names: Vec<String> = v
        .get("properties")
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    names.sort();
    names
}

/// A phrase naming the value at `pointer`, e.g. "container `web`" or "`metadata.name`".
fn describe_location(pointer: &str) -> String {
    let segs = pointer_segments(pointer);
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    match s.as_slice() {
        [] => "the workload".into(),
        ["metadata", "name"] => "workload name".into(),
        ["containers", c] => format!("container `{c}`"),
        ["containers", c, "image"] => format!("image of container `{c}`"),
        ["containers", c, "variables", v] => format!("variable `{v}` of container `{c}`"),
        ["containers", c, "files", f] => format!("file `{f}` of container `{c}`"),
        ["containers", c, "volumes", v] => format!("volume `{v}` of container `{c}`"),
        ["containers", c, "before", b] => format!("`before` entry `{b}` of container `{c}`"),
        ["containers", c, "resources", kind, "memory"] => {
            format!("memory {} of container `{c}`", kind.trim_end_matches('s'))
        }
        ["containers", c, "resources", kind, "cpu"] => {
            format!("cpu {} of container `{c}`", kind.trim_end_matches('s'))
        }
        ["containers", c, probe] if probe.ends_with("Probe") => {
            format!("{probe} of container `{c}`")
        }
        ["resources", r] => format!("resource `{r}`"),
        ["resources", r, "type"] => format!("type of resource `{r}`"),
        ["resources", r, "class"] => format!("class of resource `{r}`"),
        ["resources", r, "id"] => format!("id of resource `{r}`"),
        ["service", "ports", p] => format!("service port `{p}`"),
        ["service", "ports", p, "port"] => format!("port number of service port `{p}`"),
        ["service", "ports", p, "targetPort"] => format!("target port of service port `{p}`"),
        ["service", "ports", p, "protocol"] => format!("protocol of service port `{p}`"),
        [parent @ .., last] => {
            let parent_ptr = super::yaml::to_pointer(parent);
            let of = describe_location(&parent_ptr);
            match last.parse::<usize>() {
                Ok(i) => format!("item #{i} of {of}"),
                Err(_) => format!("`{last}` of {of}"),
            }
        }
    }
}

/// A phrase naming the keys of the mapping at `pointer`.
fn describe_key(pointer: &str) -> &'static str {
    let segs = pointer_segments(pointer);
    match segs.last().map(String::as_str) {
        Some("containers") | Some("before") => "container name",
        Some("resources") if segs.len() == 1 => "resource name",
        Some("ports") => "port name",
        Some("annotations") => "annotation key",
        Some("variables") => "variable name",
        _ => "key",
    }
}

fn describe_pattern(pattern: &str) -> String {
    match pattern {
        "^[a-z0-9][a-z0-9-]{0,61}[a-z0-9]$" => {
            "2 to 63 lowercase letters, digits or `-`, starting and ending with a letter or digit".into()
        }
        "^[A-Za-z0-9][A-Za-z0-9-]{0,61}[A-Za-z0-9]$" => {
            "2 to 63 letters, digits or `-`, starting and ending with a letter or digit".into()
        }
        "^score\\.dev/v1b1$" => "`score.dev/v1b1`".into(),
        "^[a-z0-9]+(?:-+[a-z0-9]+)*(?:\\.[a-z0-9]+(?:-+[a-z0-9]+)*)*$" => {
            "lowercase labels of letters, digits and `-`, separated by single dots".into()
        }
        "^(0\\.\\d+|[1-9]\\d*(\\.\\d+)?)(K|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$" => {
            "a positive amount of bytes with an optional unit, like `128Mi` or `1.5G`".into()
        }
        "^\\d+(?:m|\\.\\d+)?$" => "whole or decimal CPUs, or millicores, like `2`, `0.5` or `250m`".into(),
        "^0?[0-7]{3}$" => "an octal mode like `0644`".into(),
        "^[A-Za-z0-9_-]+$" => "letters, digits, `_` or `-`".into(),
        "^[^=]+$" => "a name without `=`".into(),
        p if p.starts_with("^(([a-z0-9]") => {
            "an optional DNS-subdomain prefix and `/`, then letters, digits, `.`, `_` or `-`, starting and ending with a letter or digit".into()
        }
        p => format!("a value matching `{p}`"),
    }
}

fn pattern_help(pointer: &str, value: &Value) -> Option<String> {
    let s = value.as_str()?;
    if pointer == "/apiVersion" {
        return Some("Score workloads start with `apiVersion: score.dev/v1b1`".into());
    }
    if pointer.ends_with("/memory") {
        if let Some(stripped) = s.strip_suffix('B') {
            return Some(format!(
                "memory units have no `B`: write `{stripped}` or `{stripped}i`"
            ));
        }
        if s == "0" {
            return Some("omit the limit instead of setting it to 0".into());
        }
    }
    if pointer.ends_with("/cpu") && s.contains('.') && s.ends_with('m') {
        return Some("millicores are whole numbers: write `250m`, or `0.25` CPUs".into());
    }
    if pointer.ends_with("/mode") {
        return Some("write the mode as a quoted octal string, e.g. \"0644\"".into());
    }
    let lower = s.to_ascii_lowercase().replace('_', "-");
    if lower != s && (pointer == "/metadata/name" || pointer.ends_with("/id")) {
        return Some(format!("try `{lower}`"));
    }
    None
}

fn required_help(pointer: &str, prop: &str) -> Option<String> {
    match (pointer, prop) {
        ("", "apiVersion") => Some("add `apiVersion: score.dev/v1b1` at the top".into()),
        ("", "metadata") => Some("add `metadata:` with a `name:` for the workload".into()),
        ("", "containers") => Some(
            "add `containers:` with at least one container, e.g. `main: {image: nginx}`".into(),
        ),
        (_, "image") => Some("add `image:` (use `.` to take it from `--image`)".into()),
        (_, "ready") => Some("add `ready: started`, `healthy` or `complete`".into()),
        _ => None,
    }
}

fn unknown_field_help(pointer: &str, key: &str) -> Option<String> {
    let segs = pointer_segments(pointer);
    match (segs.first().map(String::as_str), segs.len(), key) {
        (Some("containers"), 2, "ports") => {
            Some("ports are published under `service.ports` at the top level".into())
        }
        (Some("containers"), 2, "env" | "environment") => Some("did you mean `variables`?".into()),
        (Some("resources"), 2, "properties") => {
            Some("`properties` is from a pre-v1b1 Score format; use `params`".into())
        }
        (Some("containers"), _, "tcpSocket" | "grpc") => {
            Some("Score probes support `httpGet` and `exec` only".into())
        }
        (None, 0, "name") => Some("the workload's name goes under `metadata.name`".into()),
        (None, 0, "version") => Some("did you mean `apiVersion`?".into()),
        _ => None,
    }
}
